/*
 * boot_cmd.c - gptmirror machine boot [--entry N] [--qemu] and gptmirror
 * setup --disk N.
 *
 * machine boot emulates the firmware's boot manager (src/engine/boot.c);
 * with --qemu it boots the machine in QEMU with OVMF instead: TCG,
 * -nodefaults -net none, the disks in their slots (snapshot: nothing is
 * written to them), a copy of nvram.fd (OVMF's own changes, such as the
 * options it makes for each disk, are dropped), BootNext set to the menu
 * choice, never bootindex. The run stops when the loader powers the
 * machine off, when the UEFI shell appears (nothing loaded), or at the
 * time limit, and reports what the loader printed on the serial console.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../engine/boot.h"
#include "../engine/install.h"
#include "../engine/machine.h"
#include "../engine/rebuild.h"
#include "../engine/verbs.h"
#include "../engine/nvram.h"
#include "../fmt/bytes.h"
#include "cli.h"
#include "out.h"

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n;
	int rc = 0;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	close(in);
	if (close(out) < 0)
		rc = -1;
	return rc;
}

/* Sets BootNext in a store file (the QEMU run's copy). */
static int set_bootnext(const char *path, uint16_t num, struct gm_err *err)
{
	struct nvram *nv;
	uint8_t d[2];
	int rc;

	if ((rc = nvram_open_ovmf(path, &nv, err)) < 0)
		return rc;
	put_le16(d, num);
	rc = nv->ops->set(nv, "BootNext", &EFI_GLOBAL_GUID, 7, d, 2, err);
	if (rc == 0)
		rc = nvram_commit(nv, err);
	nvram_close(nv);
	return rc;
}

static bool file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	char line[4096];
	bool hit = false;

	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f))
		hit = strstr(line, needle) != NULL;
	fclose(f);
	return hit;
}

struct qemu_result {
	bool booted;
	char part_guid[64];
	char file[512];
	int bootcurrent; /* -1: none */
};

/* Strips terminal escapes and carriage returns from a line. */
static void clean_line(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == 0x1b) {
			r++;
			if (*r == '[')
				while (r[1] && !((r[1] >= 'A' && r[1] <= 'Z') || (r[1] >= 'a' && r[1] <= 'z')))
					r++;
			if (*r && r[1])
				r++;
			continue;
		}
		if (*r == '\r' || *r == '\n')
			continue;
		*w++ = *r;
	}
	*w = '\0';
}

/* What the loader and OVMF printed on the serial console: OVMF's boot
 * messages are shown, the loader's GPTMIRROR- lines fill in q. The loader
 * may run more than once: a run that did not find its OS prints Windows'
 * message and returns (GPTMIRROR-RETURN), and the firmware goes on to the
 * next entry; q is the run that powered the machine off. */
static void read_serial(const char *log, struct qemu_result *q)
{
	FILE *f = fopen(log, "rb");
	char line[4096];
	struct qemu_result run;

	memset(&run, 0, sizeof(run));
	run.bootcurrent = -1;
	while (f && fgets(line, sizeof(line), f)) {
		clean_line(line);
		char *p;
		if ((p = strstr(line, "BdsDxe: ")) && (strstr(p, "failed") || strstr(p, "loading") ||
							 strstr(p, "starting") || strstr(p, "No bootable")))
			printf("  OVMF: %s\n", p);
		if (strstr(line, "GPTMIRROR-LOADER BOOTED")) {
			memset(&run, 0, sizeof(run));
			run.bootcurrent = -1;
			run.booted = true;
		}
		if ((p = strstr(line, "GPTMIRROR-PARTITION "))) {
			char g[64] = "";
			int num;
			if (sscanf(p, "GPTMIRROR-PARTITION %d %63s", &num, g) == 2)
				snprintf(run.part_guid, sizeof(run.part_guid), "%s", g);
		}
		if ((p = strstr(line, "GPTMIRROR-FILE ")))
			snprintf(run.file, sizeof(run.file), "%s", p + 15);
		if ((p = strstr(line, "GPTMIRROR-BOOTCURRENT "))) {
			unsigned v;
			if (sscanf(p, "GPTMIRROR-BOOTCURRENT %x", &v) == 1)
				run.bootcurrent = (int)v;
		}
		if ((p = strstr(line, "GPTMIRROR-OS ")) && strncmp(p + 13, "none", 4) != 0)
			printf("  loader: OS %s\n", p + 13);
		if ((p = strstr(line, "GPTMIRROR-MSG ")))
			printf("  loader: %s\n", p + 14);
		if ((p = strstr(line, "GPTMIRROR-NTFS ")))
			printf("  loader: NTFS: %s\n", p + 15);
		if (strstr(line, "GPTMIRROR-RETURN")) {
			printf("  loader: returned to the firmware (Not Found)\n");
			run.booted = false;
		}
		if (strstr(line, "GPTMIRROR-POWEROFF") && run.booted)
			*q = run;
	}
	if (f)
		fclose(f);
}

/* Waits for the QEMU run pid to finish: the loader powers off, the UEFI
 * shell appears (nothing loaded), QEMU exits, or the time is up (it is then
 * killed). True when QEMU exited by itself, its status in *status. */
static bool wait_qemu(pid_t pid, const char *log, int timeout_s, int *statusp)
{
	int status = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool done = false;
	for (;;) {
		if (file_has(log, "GPTMIRROR-POWEROFF") || file_has(log, "Shell> ")) {
			usleep(300000);
			break;
		}
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			done = true;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > timeout_s) {
			fprintf(stderr, "gptmirror: QEMU did not finish within %d s\n", timeout_s);
			break;
		}
		usleep(100000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	*statusp = status;
	return done;
}

static int run_qemu(struct machine *m, int entry, int timeout_s, struct qemu_result *q)
{
	char dir[] = "/tmp/gptmirror-qemu.XXXXXX", vars[4200], log[4200], code_arg[4400],
	     vars_arg[4400], drives[16][4400];
	char *argv[80];
	int argc = 0;
	struct gm_err err;

	memset(q, 0, sizeof(*q));
	q->bootcurrent = -1;
	if (access(OVMF_CODE, R_OK) != 0) {
		fprintf(stderr, "gptmirror: %s is missing: install the ovmf package "
			"(scripts/install-deps)\n", OVMF_CODE);
		return -1;
	}
	if (!mkdtemp(dir)) {
		perror("gptmirror: mkdtemp");
		return -1;
	}
	snprintf(vars, sizeof(vars), "%s/vars.fd", dir);
	snprintf(log, sizeof(log), "%s/serial.log", dir);
	char nvpath[4200];
	snprintf(nvpath, sizeof(nvpath), "%s/nvram.fd", m->dir);
	if (copy_file(nvpath, vars) < 0) {
		fprintf(stderr, "gptmirror: cannot copy %s\n", nvpath);
		rmdir(dir);
		return -1;
	}
	if (entry >= 0 && set_bootnext(vars, (uint16_t)entry, &err) < 0) {
		cli_print_err("gptmirror", &err);
		unlink(vars);
		rmdir(dir);
		return -1;
	}
	argv[argc++] = "qemu-system-x86_64";
	argv[argc++] = "-machine";
	argv[argc++] = "q35,accel=tcg";
	argv[argc++] = "-m";
	argv[argc++] = "256";
	argv[argc++] = "-smp";
	argv[argc++] = "1";
	snprintf(code_arg, sizeof(code_arg), "if=pflash,format=raw,unit=0,readonly=on,file=%s",
		 OVMF_CODE);
	snprintf(vars_arg, sizeof(vars_arg), "if=pflash,format=raw,unit=1,file=%s", vars);
	argv[argc++] = "-drive";
	argv[argc++] = code_arg;
	argv[argc++] = "-drive";
	argv[argc++] = vars_arg;
	int nd = 0;
	for (int s = 0; s < m->nslots && nd < 16; s++) {
		if (!machine_disk(m, s))
			continue;
		snprintf(drives[nd], sizeof(drives[nd]),
			 "file=%s/%s,format=raw,if=virtio,snapshot=on", m->dir, m->slots[s].image);
		argv[argc++] = "-drive";
		argv[argc++] = drives[nd++];
	}
	char serial[4300];
	snprintf(serial, sizeof(serial), "file:%s", log);
	argv[argc++] = "-display";
	argv[argc++] = "none";
	argv[argc++] = "-serial";
	argv[argc++] = serial;
	argv[argc++] = "-monitor";
	argv[argc++] = "none";
	argv[argc++] = "-no-reboot";
	argv[argc++] = "-nodefaults";
	argv[argc++] = "-net";
	argv[argc++] = "none";
	argv[argc] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		perror("gptmirror: fork");
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	bool done = wait_qemu(pid, log, timeout_s, &status);
	if (done && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		fprintf(stderr, "gptmirror: qemu-system-x86_64 is missing: install qemu-system-x86 "
			"(scripts/install-deps)\n");
	read_serial(log, q);
	unlink(log);
	unlink(vars);
	rmdir(dir);
	return 0;
}

static int boot_usage(void)
{
	fprintf(stderr, "usage: gptmirror machine boot [--entry ID] [--qemu] [--timeout SECONDS]\n"
		"  ID: the boot menu position (bootcfg's Boot entry ID), or Boot#### (hex)\n");
	return 2;
}

int machine_boot_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct gm_err err;
	int entry = -1, timeout = 120, rc = 0;
	bool qemu = false;

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (strcmp(argv[i], "--qemu") == 0) {
			qemu = true;
		} else if (strcmp(argv[i], "--entry") == 0 && v) {
			/* Boot#### (hex), or the menu position bootcfg shows as
			 * its Boot entry ID. */
			bool hex = strncasecmp(v, "Boot", 4) == 0;
			unsigned long e = strtoul(hex ? v + 4 : v, &end, hex ? 16 : 10);
			if (*end || !*v || e > 0xffff || (!hex && e == 0))
				return boot_usage();
			entry = hex ? (int)e : -(int)e - 1;
			i++;
		} else if (strcmp(argv[i], "--timeout") == 0 && v) {
			long t = strtol(v, &end, 10);
			if (*end || t < 5 || t > 3600)
				return boot_usage();
			timeout = (int)t;
			i++;
		} else {
			return boot_usage();
		}
	}
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("gptmirror", &err);
		return 1;
	}
	if (machine_is_real(m)) {
		fprintf(stderr, "gptmirror: machine boot%s needs an image machine; a real computer "
			"boots by itself (machine reboot does the pending work first)\n",
			qemu ? " --qemu" : "");
		machine_close(m);
		return 1;
	}
	/* A mirror being copied in the background: the restart takes the
	 * copy over and finishes it first, as a reboot does. */
	struct rebuild_state st;
	rebuild_get(m, &st);
	if (st.running) {
		struct reboot_result rr = {0};
		fprintf(stderr, "gptmirror: finishing the mirror's background copy before the "
			"boot\n");
		if (machine_resync(m, isatty(STDERR_FILENO) ? cli_progress : NULL, NULL, &rr,
				   &err) < 0 || machine_save(m, &err) < 0) {
			cli_print_err("gptmirror", &err);
			machine_close(m);
			return 1;
		}
	}
	if (entry < -1) {
		/* Menu position to Boot####. */
		struct nvram *nv;
		struct boot_entry *e;
		size_t n;
		size_t pos = (size_t)(-entry - 1);
		entry = -1;
		if (machine_nvram_open(m, &nv, &err) == 0) {
			if (nvram_boot_entries(nv, &e, &n) == 0) {
				if (pos >= 1 && pos <= n)
					entry = e[pos - 1].num;
				nvram_boot_entries_free(e, n);
			}
			nvram_close(nv);
		}
		if (entry < 0) {
			fprintf(stderr, "gptmirror: there is no boot entry %zu in the boot menu\n", pos);
			machine_close(m);
			return 1;
		}
	}
	if (qemu) {
		struct qemu_result q;
		printf("Booting the machine in QEMU with OVMF (TCG)%s...\n",
		       entry >= 0 ? ", BootNext set to the chosen entry" : "");
		fflush(stdout);
		if (run_qemu(m, entry, timeout, &q) < 0) {
			rc = 1;
		} else if (q.booted) {
			for (char *c = q.part_guid; *c; c++)
				*c = (char)tolower((unsigned char)*c);
			if (q.bootcurrent >= 0)
				printf("QEMU: the loader booted: Boot%04X from partition {%s}: %s\n",
				       q.bootcurrent, q.part_guid, q.file);
			else
				printf("QEMU: the loader booted from partition {%s}: %s\n", q.part_guid,
				       q.file);
			/* What the firmware booted is what is running now. */
			if (machine_set_bootcurrent(m, q.bootcurrent, &err) < 0) {
				cli_print_err("gptmirror", &err);
				rc = 1;
			}
		} else {
			printf("QEMU: nothing booted.\n");
			rc = 1;
		}
	} else {
		rc = cli_boot(m, entry);
	}
	machine_close(m);
	return rc;
}

int cli_boot(struct machine *m, int entry)
{
	struct boot_result r;
	struct gm_err err;

	/* An ESP that drifted from its twin is what a failover would meet. */
	cli_esp_warnings(stderr, m, "gptmirror: warning: ");
	if (boot_emulate(m, entry, &r, &err) < 0) {
		cli_print_err("gptmirror", &err);
		return 1;
	}
	return cli_boot_result(&r);
}

/* Windows' loader, when it cannot find its OS (NT 5.2's words), each line
 * after prefix. */
static void cli_loader_message(bool missing, const char *prefix)
{
	static const char *const disk[] = {
		"Windows could not start because of a computer disk hardware configuration problem.",
		"Could not read from the selected boot disk.  Check boot path and disk hardware.",
		NULL};
	static const char *const file[] = {
		"Windows could not start because the following file is missing or corrupt:",
		"<Windows root>\\system32\\ntoskrnl.exe.", "Please re-install a copy of the above file.",
		NULL};
	for (const char *const *l = missing ? file : disk; *l; l++)
		printf("%s%s\n", prefix, *l);
}

int cli_boot_result(const struct boot_result *r)
{
	/* The firmware's messages, as the KB shows them. */
	for (int i = 0; i < r->ntries; i++) {
		const struct boot_attempt *a = &r->tries[i];
		if (a->removable_disk >= 0) {
			printf("LOADING.: the removable-media path of disk %d\n", a->removable_disk);
			continue;
		}
		printf("LOADING.: %s\n", a->desc);
		if (a->os == BOOT_OS_NO_DISK || a->os == BOOT_OS_MISSING)
			cli_loader_message(a->os == BOOT_OS_MISSING, "");
		else if (!a->loaded)
			printf("Load of %s failed: Not Found\n", a->desc);
	}
	if (r->paused)
		printf("Paused - press any key to continue.\n");
	if (r->booted) {
		char g[GUID_STR_LEN + 1];
		guid_to_str(&r->part_guid, g);
		if (r->removable)
			printf("Booted %s from disk %d partition %zu {%s}: %s\n", r->desc, r->slot,
			       r->part, g, r->file);
		else
			printf("Booted Boot%04X \"%s\" from disk %d partition %zu {%s}: %s\n", r->entry,
			       r->desc, r->slot, r->part, g, r->file);
		return 0;
	}
	if (!r->paused)
		printf("No bootable option or device was found.\n");
	return 1;
}

int setup_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct gm_err err;
	struct install_spec s = {0};
	struct install_result r;
	int slot = -1;

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		if (strcmp(argv[i], "--disk") == 0 && v) {
			slot = atoi(v);
			i++;
		} else if (strcmp(argv[i], "--size") == 0 && v && parse_size(v, &n) == 0) {
			/* a bare number is MB, as diskpart sizes are */
			s.os_mb = strspn(v, "0123456789") == strlen(v) ? n : n >> 20;
			i++;
		} else if (strcmp(argv[i], "--loader") == 0 && v) {
			s.loader = v;
			i++;
		} else if (strcmp(argv[i], "--fs") == 0 && v &&
			   (strcasecmp(v, "ntfs") == 0 || strcasecmp(v, "fat32") == 0)) {
			s.fat32 = strcasecmp(v, "fat32") == 0;
			i++;
		} else {
			slot = -2;
			break;
		}
	}
	if (slot < 0 || slot >= GM_MAX_SLOTS) {
		fprintf(stderr, "usage: gptmirror setup --disk N [--size MB] [--fs ntfs|fat32] "
			"[--loader FILE.efi]\n");
		return 2;
	}
	if (!s.loader)
		s.loader = install_default_loader(cli_env);
	s.setup = true;
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("gptmirror", &err);
		return 1;
	}
	if (install_windows(m, slot, &s, &r, &err) < 0 || machine_save(m, &err) < 0) {
		fprintf(stderr, "Setup cannot continue: %s\n", err.detail);
		machine_close(m);
		return 1;
	}
	struct disk *d = machine_disk(m, slot);
	printf("Setup created the EFI system partition, the MSR and a %" PRIu64 " MB partition "
	       "on disk %d,\nformatted it (%s) and installed Windows on it%s.\n",
	       (d->parts[r.os_pos].last_lba - d->parts[r.os_pos].first_lba + 1) * d->ss >> 20,
	       slot, s.fat32 ? "FAT32" : "NTFS", r.letter_c ? " as C:" : "");
	printf("New boot entry Boot%04X is first in the boot order; the installed system is "
	       "running.\n", r.entry);
	machine_close(m);
	return 0;
}
