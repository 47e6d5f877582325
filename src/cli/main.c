/*
 * main.c - the gptmirror binary. Applets are chosen by argv[0] (diskpart,
 * bootcfg) or by the first argument.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/env.h"
#include "../engine/err.h"
#include "../engine/machine.h"
#include "../engine/rebuild.h"
#include "../engine/verbs.h"
#include "../io/blkio.h"
#include "cli.h"

/* The synopsis of every command, one form per line (continuations
 * indented), as gptmirror(8) and the README give them: tests/scenarios/docs.sh
 * compares the three. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: gptmirror [-m DIR] COMMAND [ARGS]\n"
		"\n"
		"  machine create DIR --disk SIZE [--disk SIZE]... [--profile 2003|modern]\n"
		"      [--sector-size 512|4096] [--install [--fs ntfs|fat32] [--loader FILE]]\n"
		"  machine create DIR --device PATH [--device PATH]... [--nvram efivarfs|FILE]\n"
		"      [--profile 2003|modern]\n"
		"  machine status [--json]\n"
		"  machine map [--width COLUMNS] [--svg FILE]\n"
		"  machine pull-disk N\n"
		"  machine insert-disk N --size SIZE | --image FILE [--sector-size 512|4096]\n"
		"      | --device PATH\n"
		"  machine boot [--entry ID] [--qemu] [--timeout SECONDS]\n"
		"  machine reboot\n"
		"  setup --disk N [--size MB] [--fs ntfs|fat32] [--loader FILE]\n"
		"  diskpart [--json] [/s SCRIPT]\n"
		"  format X: /fs:fat|fat32|ntfs [/q] [/y] [/v:LABEL] [/a:SIZE]\n"
		"  xcopy SRC DST [/s] [/e] [/h] [/y]\n"
		"  dir X:\\PATH\n"
		"  chkdsk X: [/f]\n"
		"  esp status [--json]\n"
		"  esp sync --from X:|DISK --to Y:|DISK | --all\n"
		"  bootcfg [/query] [/v] [--json]\n"
		"  bootcfg /list [N]\n"
		"  bootcfg /clone /sg {GUID} /tg {GUID} [/d+ TEXT | /d TEXT] [/id N]\n"
		"  bootcfg /mirror /add {GUID} /d TEXT\n"
		"  bootcfg /delete /id N | /default /id N | /timeout N\n"
		"  nvram list [-v | --json]\n"
		"  nvram export DIR\n"
		"  nvram create -L LABEL -d DISK -p PART -l LOADER\n"
		"      [--os-disk DISK --os-part PART [--os-dir DIR]] [--options TEXT]\n"
		"  nvram create -L LABEL --vendor GUID\n"
		"  nvram delete NUM\n"
		"  nvram repair\n"
		"  volume list [--json]\n"
		"  volume export VOLUME FILE\n"
		"  volume resync [--background]\n"
		"\n"
		"X: is a drive letter, SRC and DST X:\\path or host paths. The machine is\n"
		"-m DIR, --machine DIR, $GPTMIRROR_MACHINE, or the current directory.\n"
		"GPTMIRROR_SEED=N makes GUIDs and times deterministic. Exit codes: 0 done,\n"
		"1 failed or nothing to do, 2 bad usage (diskpart and chkdsk use Windows'\n"
		"codes). See gptmirror(8), diskpart(8) and bootcfg(8).\n");
}

void cli_print_err(const char *prog, const struct gm_err *err)
{
	fprintf(stderr, "%s: %s\n", prog,
		err->detail[0] ? err->detail : "the operation failed");
}

static struct gm_env env;
const struct gm_env *cli_env = &env;

int cli_machine_open(const char *mdir, struct machine **m, struct gm_err *err)
{
	struct recover_result r;
	struct gm_err e;
	int rc = machine_open(machine_dir_default(mdir, cli_env), cli_env, m, err);

	if (rc < 0)
		return rc;
	/* What a crash cut off is finished before anything reads or writes
	 * it, as Windows resynchronises a mirror after an unclean shutdown;
	 * what cannot be is said, and the command goes on. */
	rc = machine_recover(*m, &r, &e);
	for (int i = 0; i < r.ntables; i++)
		fprintf(stderr, "gptmirror: disk %d: its partition table write was cut off; "
			"written whole again\n", r.tables[i]);
	if (r.mirrors[0])
		fprintf(stderr, "gptmirror: %s: cut off in a write; resynchronised from "
			"the first healthy plex\n", r.mirrors);
	for (const char *l = r.ntfs; *l; l++)
		fprintf(stderr, "gptmirror: %c: an NTFS change was cut off; finished from its "
			"journal\n", *l);
	if (rc < 0)
		fprintf(stderr, "gptmirror: warning: %s\n", e.detail);
	/* A background copy that finished is marked healthy; one that was
	 * killed goes on from its checkpoint. */
	if ((rc = rebuild_poll(*m, &e)) > 0)
		rc = machine_save(*m, &e);
	if (rc < 0)
		fprintf(stderr, "gptmirror: warning: the mirror's background copy: %s\n", e.detail);
	return 0;
}

static void print_iostats(void)
{
	struct blkio_stats st;

	blkio_stats_get(&st);
	fprintf(stderr,
		"gptmirror: io: read %" PRIu64 " bytes in %" PRIu64
		" reads, wrote %" PRIu64 " bytes in %" PRIu64 " writes\n",
		st.bytes_read, st.reads, st.bytes_written, st.writes);
}

/* Takes -m DIR / --machine DIR / --machine=DIR out of argv. */
static const char *take_machine_opt(int *argc, char **argv)
{
	const char *dir = NULL;
	int o = 1;

	for (int i = 1; i < *argc; i++) {
		if ((strcmp(argv[i], "-m") == 0 ||
		     strcmp(argv[i], "--machine") == 0) && i + 1 < *argc) {
			dir = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--machine=", 10) == 0) {
			dir = argv[i] + 10;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	argv[o] = NULL;
	return dir;
}

int main(int argc, char **argv)
{
	char *name = basename(argv[0]);
	const char *mdir;

	gm_env_read(&env);
	if (env.iostats)
		atexit(print_iostats);
	mdir = take_machine_opt(&argc, argv);
	if (strcmp(name, "diskpart") == 0)
		return diskpart_main(mdir, argc - 1, argv + 1);
	if (strcmp(name, "bootcfg") == 0)
		return bootcfg_main(mdir, argc - 1, argv + 1);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "diskpart") == 0)
		return diskpart_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "bootcfg") == 0)
		return bootcfg_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "machine") == 0)
		return machine_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "format") == 0)
		return format_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "xcopy") == 0)
		return xcopy_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "dir") == 0)
		return dir_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "chkdsk") == 0)
		return chkdsk_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "esp") == 0)
		return esp_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "nvram") == 0)
		return nvram_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "setup") == 0)
		return setup_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "volume") == 0)
		return volume_main(mdir, argc - 2, argv + 2);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("gptmirror %s\n", GM_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "gptmirror: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
