/* machine_cmd.c - gptmirror machine create|status|pull-disk|insert-disk. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../engine/install.h"
#include "../engine/ldm.h"
#include "../engine/ldm_write.h"
#include "../engine/machine.h"
#include "../engine/rebuild.h"
#include "../engine/verbs.h"
#include <unistd.h>
#include "cli.h"
#include "out.h"

static int parse_slot(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v >= GM_MAX_SLOTS)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_ss(const char *s, uint32_t *out)
{
	if (strcmp(s, "512") == 0)
		*out = 512;
	else if (strcmp(s, "4096") == 0)
		*out = 4096;
	else
		return -1;
	return 0;
}

static int cmd_create(int argc, char **argv)
{
	struct machine_spec spec = {.profile = PROFILE_MODERN, .ss = 512};
	const char *dir = NULL, *loader = NULL;
	bool install = false, fat32 = false;
	struct gm_err err;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--disk") == 0 && v) {
			if (spec.ndisks >= GM_MAX_SLOTS) {
				fprintf(stderr, "gptmirror: at most %d disks\n",
					GM_MAX_SLOTS);
				return 2;
			}
			if (parse_size(v, &spec.sizes[spec.ndisks]) < 0) {
				fprintf(stderr, "gptmirror: bad disk size '%s' "
					"(use a number with K, M, G or T)\n", v);
				return 2;
			}
			spec.ndisks++;
			i++;
		} else if (strcmp(a, "--profile") == 0 && v) {
			if (profile_parse(v, &spec.profile) < 0) {
				fprintf(stderr, "gptmirror: profile must be 2003 "
					"or modern\n");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--sector-size") == 0 && v) {
			if (parse_ss(v, &spec.ss) < 0) {
				fprintf(stderr, "gptmirror: sector size must be "
					"512 or 4096\n");
				return 2;
			}
			i++;
		} else if (strcmp(a, "--device") == 0 && v) {
			if (spec.ndisks >= GM_MAX_SLOTS) {
				fprintf(stderr, "gptmirror: at most %d disks\n", GM_MAX_SLOTS);
				return 2;
			}
			spec.devices[spec.ndisks++] = v;
			i++;
		} else if (strcmp(a, "--nvram") == 0 && v) {
			spec.nvram = v;
			i++;
		} else if (strcmp(a, "--install") == 0) {
			install = true;
		} else if (strcmp(a, "--fs") == 0 && v) {
			if (strcasecmp(v, "ntfs") != 0 && strcasecmp(v, "fat32") != 0) {
				fprintf(stderr, "gptmirror: --fs must be ntfs or fat32\n");
				return 2;
			}
			fat32 = strcasecmp(v, "fat32") == 0;
			i++;
		} else if (strcmp(a, "--loader") == 0 && v) {
			loader = v;
			i++;
		} else if (a[0] != '-' && !dir) {
			dir = a;
		} else {
			fprintf(stderr, "gptmirror: machine create: unexpected "
				"'%s'\n", a);
			return 2;
		}
	}
	if (!dir || spec.ndisks == 0) {
		fprintf(stderr, "usage: gptmirror machine create DIR --disk SIZE "
			"[--disk SIZE]... [--profile 2003|modern] "
			"[--sector-size 512|4096] | --device PATH [--device PATH]... "
			"[--nvram efivarfs|FILE] [--install [--fs ntfs|fat32]]\n");
		return 2;
	}
	struct install_spec is = {.loader = loader ? loader : install_default_loader(cli_env),
				  .fat32 = fat32};
	char pending[32];
	install_pending_key(0, pending, sizeof(pending));
	if (install) {
		/* Refused before anything is made. */
		uint64_t need = install_min_mb(spec.profile, &is);
		if (!spec.devices[0] && (spec.sizes[0] >> 20) < need) {
			fprintf(stderr, "gptmirror: --install: disk 0 is too small for Windows "
				"(%llu MB; Setup needs %llu MB); nothing was created\n",
				(unsigned long long)(spec.sizes[0] >> 20), (unsigned long long)need);
			return 1;
		}
		if (access(loader ? loader : is.loader, R_OK) < 0) {
			fprintf(stderr, "gptmirror: --install: cannot read the EFI loader %s: %s; "
				"nothing was created\n", is.loader, strerror(errno));
			return 1;
		}
		spec.pending = pending;
	}
	bool resume = false;
	if (machine_create(dir, &spec, cli_env, &err) < 0) {
		/* A machine whose install a crash cut off: the same command
		 * takes it up again. */
		struct machine *m;
		struct gm_err e2;
		if (install && machine_open(dir, cli_env, &m, &e2) == 0) {
			resume = machine_extra_get(m, pending) != NULL;
			machine_close(m);
		}
		if (!resume) {
			cli_print_err("gptmirror", &err);
			return 1;
		}
		printf("Resuming the install an interrupted run left on disk 0 of %s.\n", dir);
	}
	if (!resume)
		printf("Created machine %s (profile %s) with %d disk%s:\n", dir,
		       profile_str(spec.profile), spec.ndisks, spec.ndisks == 1 ? "" : "s");
	for (int i = 0; i < spec.ndisks && !resume; i++) {
		char sz[32], by[32];
		if (spec.devices[i]) {
			printf("  Disk %d: %s\n", i, spec.devices[i]);
			continue;
		}
		fmt_size(spec.sizes[i], sz, sizeof(sz));
		fmt_commas(spec.sizes[i], by, sizeof(by));
		printf("  Disk %d: disk%d.img, %s (%s bytes), %" PRIu32
		       "-byte sectors, empty\n", i, i, sz, by, spec.ss);
	}
	if (install) {
		struct machine *m;
		struct install_result r;
		if (cli_machine_open(dir, &m, &err) < 0) {
			cli_print_err("gptmirror", &err);
			return 1;
		}
		if (install_windows(m, 0, &is, &r, &err) < 0 || machine_save(m, &err) < 0) {
			cli_print_err("gptmirror: --install", &err);
			machine_close(m);
			return 1;
		}
		struct disk *d = machine_disk(m, 0);
		char esz[16], osz[16];
		/* In the profile's rounding, as diskpart lists them. */
		enum size_rule rule = spec.profile == PROFILE_2003 ? SIZE_2003 : SIZE_MODERN;
		fmt_size_rule(part_bytes(d, &d->parts[r.esp_pos]), rule, esz, sizeof(esz));
		fmt_size_rule(part_bytes(d, &d->parts[r.os_pos]), rule, osz, sizeof(osz));
		printf("Installed %s on disk 0: EFI system partition (%s), MSR, C: (%s, %s, "
		       "\\WINDOWS);\nboot entry Boot%04X in nvram.fd.\n",
		       spec.profile == PROFILE_2003 ? "Windows Server 2003" : "Windows",
		       esz, osz, fat32 ? "FAT32" : "NTFS", r.entry);
		machine_close(m);
	}
	return 0;
}

static const char *style_str(const struct disk *d)
{
	switch (d->style) {
	case DS_RAW:
		return d->raw_has_data ? "not initialized (holds unknown data)"
				       : "empty (no partition table)";
	case DS_MBR:
		return "MBR";
	case DS_GPT:
		return "GPT";
	case DS_UNREADABLE:
		return "unreadable";
	case DS_INVALID:
		return "not a disk";
	}
	return "?";
}

static const char *style_word(const struct disk *d)
{
	static const char *const w[] = {[DS_RAW] = "raw", [DS_MBR] = "mbr", [DS_GPT] = "gpt",
					[DS_UNREADABLE] = "unreadable", [DS_INVALID] = "invalid"};
	return w[d->style];
}

static const char *kind_word(enum part_kind k)
{
	switch (k) {
	case PK_ESP:
		return "esp";
	case PK_MSR:
		return "msr";
	case PK_BASIC:
		return "basic";
	case PK_LDM_META:
		return "ldm-metadata";
	case PK_LDM_DATA:
		return "ldm-data";
	case PK_RECOVERY:
		return "recovery";
	case PK_MBR_PRIMARY:
		return "mbr-primary";
	case PK_MBR_EXTENDED:
		return "mbr-extended";
	default:
		return "other";
	}
}

/* machine status --json: the machine, each slot's disk and partitions
 * (LBAs in the disk's own sectors, sizes in bytes, GUIDs in lower case),
 * the last boot and the drive letters. */
static int cmd_status_json(struct machine *m)
{
	char path[4096], g[40];

	if (!realpath(m->dir, path))
		snprintf(path, sizeof(path), "%s", m->dir);
	printf("{\"machine\": ");
	json_str(path);
	printf(", \"profile\": \"%s\", \"nvram\": ", profile_str(m->profile));
	json_str(m->nvram ? m->nvram : "nvram.fd");
	printf(", \"disks\": [");
	for (int i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		struct disk *d = s->disk;
		printf("%s{\"slot\": %d, \"image\": ", i ? ", " : "", i);
		if (s->image)
			json_str(s->image);
		else
			printf("null");
		printf(", \"device\": %s, \"present\": %s", s->device ? "true" : "false",
		       d ? "true" : "false");
		if (!d) {
			printf(", \"error\": ");
			json_str(s->image ? s->open_err.detail : "");
			printf("}");
			continue;
		}
		printf(", \"identity\": ");
		json_str(s->device ? s->identity : "");
		printf(", \"size_bytes\": %" PRIu64 ", \"sector_size\": %" PRIu32
		       ", \"sectors\": %" PRIu64 ", \"style\": \"%s\", \"writable\": %s, "
		       "\"not_written_because\": ",
		       d->dev->size, d->ss, d->lbas, style_word(d), d->dev->writable ? "true" : "false");
		json_str(d->ro_why);
		if (d->style == DS_GPT) {
			guid_to_str(&d->hdr.disk_guid, g);
			printf(", \"disk_guid\": \"%s\", \"gpt_primary\": \"%s\", \"gpt_backup\": \"%s\"",
			       g, gpt_state_str(d->prim_state), gpt_state_str(d->back_state));
		}
		printf(", \"partitions\": [");
		for (size_t k = 0; k < d->nparts; k++) {
			const struct part *p = &d->parts[k];
			uint64_t n = p->last_lba - p->first_lba + 1;
			printf("%s{\"number\": %" PRIu32 ", \"first_lba\": %" PRIu64 ", \"last_lba\": %" PRIu64
			       ", \"sectors\": %" PRIu64 ", \"size_bytes\": %" PRIu64 ", \"kind\": \"%s\"",
			       k ? ", " : "", p->index + 1, p->first_lba, p->last_lba, n, n * d->ss,
			       kind_word(p->kind));
			if (d->style == DS_GPT) {
				char name[3 * 36 + 1];
				guid_to_str(&p->ent.type, g);
				printf(", \"type_guid\": \"%s\"", g);
				guid_to_str(&p->ent.uniq, g);
				printf(", \"guid\": \"%s\", \"name\": ", g);
				gpt_ent_name(&p->ent, name, sizeof(name));
				json_str(name);
			} else {
				printf(", \"mbr_type\": %u", p->mbr_type);
			}
			char key[64], l;
			part_key(d, p, key, sizeof(key));
			l = machine_letter_of(m, key);
			if (l)
				printf(", \"letter\": \"%c\"}", l);
			else
				printf(", \"letter\": null}");
		}
		printf("]}");
	}
	const char *bc = machine_extra_get(m, "bootcurrent");
	printf("], \"last_boot\": ");
	if (bc)
		printf("\"%s\"", bc);
	else
		printf("null");
	printf(", \"letters\": [");
	for (int i = 0; i < m->nletters; i++) {
		printf("%s{\"letter\": \"%c\", \"key\": ", i ? ", " : "", m->letters[i].letter);
		json_str(m->letters[i].key);
		printf("}");
	}
	printf("]}\n");
	return 0;
}

/* One line per GPT copy problem; shared with diskpart's start-up warnings. */
void cli_disk_warnings(FILE *f, const struct disk *d, const char *prefix);
void cli_disk_warnings(FILE *f, const struct disk *d, const char *prefix)
{
	if (d->style == DS_UNREADABLE || d->style == DS_INVALID) {
		fprintf(f, "%sDisk %d is %s: %s. Nothing will be written to "
			"it%s.\n", prefix, d->slot,
			d->style == DS_INVALID ? "not usable" : "unreadable",
			d->why, d->style == DS_UNREADABLE ? " except by clean" : "");
		return;
	}
	if (d->style != DS_GPT)
		return;
	if (d->recovery == GPT_REC_FROM_BACKUP)
		fprintf(f, "%sDisk %d: the primary GPT is %s (%s); using the "
			"backup copy. It is rewritten at the next change to "
			"the disk.\n", prefix, d->slot,
			gpt_state_str(d->prim_state), d->prim_why);
	else if (d->recovery == GPT_REC_FROM_PRIMARY)
		fprintf(f, "%sDisk %d: the backup GPT is %s (%s); using the "
			"primary copy. It is rewritten at the next change to "
			"the disk.\n", prefix, d->slot,
			gpt_state_str(d->back_state), d->back_why);
	else if (d->copies_differ)
		fprintf(f, "%sDisk %d: the primary and backup GPT differ; using "
			"the primary copy.\n", prefix, d->slot);
	if (d->pmbr_bad)
		fprintf(f, "%sDisk %d: the protective MBR is missing or wrong; "
			"it is rewritten at the next change to the disk.\n",
			prefix, d->slot);
}

/* The table in sgdisk's terms: entry number, LBAs, type, GUID, name. */
static void print_table(const struct disk *d)
{
	if ((d->style != DS_GPT && d->style != DS_MBR) || d->nparts == 0)
		return;
	if (d->style == DS_GPT)
		printf("        %-3s  %12s  %12s  %-36s  %-36s  %s\n", "#",
		       "Start (LBA)", "End (LBA)", "Type", "Partition GUID",
		       "Name");
	else
		printf("        %-3s  %12s  %12s  %s\n", "#", "Start (LBA)",
		       "End (LBA)", "Type");
	for (size_t i = 0; i < d->nparts; i++) {
		const struct part *p = &d->parts[i];
		if (d->style == DS_GPT) {
			char t[GUID_STR_LEN + 1], u[GUID_STR_LEN + 1], n[128];
			guid_to_str(&p->ent.type, t);
			guid_to_str(&p->ent.uniq, u);
			gpt_ent_name(&p->ent, n, sizeof(n));
			printf("        %-3" PRIu32 "  %12" PRIu64 "  %12" PRIu64
			       "  %s  %s  %s\n", p->index + 1, p->first_lba,
			       p->last_lba, t, u, n);
		} else {
			printf("        %-3" PRIu32 "  %12" PRIu64 "  %12" PRIu64
			       "  0x%02x\n", p->index + 1, p->first_lba,
			       p->last_lba, p->mbr_type);
		}
	}
}

static int cmd_status(struct machine *m)
{
	char path[4096];
	if (!realpath(m->dir, path))
		snprintf(path, sizeof(path), "%s", m->dir);
	printf("Machine: %s\nProfile: %s\nSlots:   %d\n", path,
	       profile_str(m->profile), m->nslots);
	if (m->nvram)
		printf("NVRAM:   %s\n", strcmp(m->nvram, "efivarfs") == 0
						? "the firmware's, through efivarfs" : m->nvram);
	printf("\n");
	for (int i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		struct disk *d = s->disk;
		if (!s->image) {
			printf("Disk %d: empty slot\n", i);
			continue;
		}
		if (!d) {
			printf("Disk %d: %s: cannot be opened: %s\n", i, s->image,
			       s->open_err.detail);
			continue;
		}
		char sz[32], by[32];
		fmt_size(d->dev->size, sz, sizeof(sz));
		fmt_commas(d->dev->size, by, sizeof(by));
		printf("Disk %d: %s, %s (%s bytes), %" PRIu32 "-byte sectors, %s",
		       i, s->image, sz, by, d->ss, style_str(d));
		if (d->style == DS_GPT || d->style == DS_MBR)
			printf(", %zu partition%s", d->nparts,
			       d->nparts == 1 ? "" : "s");
		printf("\n");
		if (s->device)
			printf("        Block device: %s\n", s->identity);
		if (d->ro_why[0])
			printf("        Warning: it is not written: %s.\n", d->ro_why);
		if (d->style == DS_GPT || d->style == DS_UNREADABLE)
			printf("        GPT copies: primary %s, backup %s\n",
			       gpt_state_str(d->prim_state),
			       gpt_state_str(d->back_state));
		cli_disk_warnings(stdout, d, "        Warning: ");
		print_table(d);
	}
	/* Dynamic disks: the group, each member's copy of the database. */
	const struct ldm_view *v = machine_ldm(m);
	if (!v) {
		printf("\nDynamic disks: %s\n", m->ldm_err.detail);
	} else {
		for (size_t g = 0; g < v->ngroups; g++) {
			const struct ldm_group *G = &v->groups[g];
			printf("\nDisk group %s (%s), transaction %llu:\n", G->name, G->guid,
			       (unsigned long long)G->vmdb.committed_tx);
			for (size_t k = 0; k < G->ndisks; k++) {
				const struct ldm_gdisk *x = &G->disks[k];
				if (x->slot < 0)
					printf("  %-8s missing\n", x->rec->name);
				else
					printf("  %-8s disk %d, database copy %s\n", x->rec->name, x->slot,
					       !x->stale ? "current"
					       : x->tx ? "out of date" : "damaged");
			}
		}
		/* Mirrors being rebuilt, and by whom. */
		struct rebuild_state st;
		rebuild_get(m, &st);
		for (size_t i = 0; i < ldm_volume_count(v); i++) {
			const struct ldm_volume *V = ldm_volume_at(v, i);
			int pct = ldm_rebuild_percent(m, V);
			if (pct < 0)
				continue;
			printf("Rebuild: %s, %d %% copied, ", V->rec->name, pct);
			if (st.running)
				printf("in the background (process %ld)\n", st.pid);
			else if (st.present && strcmp(st.state, "stopped") == 0)
				printf("stopped (%s): gptmirror volume resync goes on\n", st.why);
			else
				printf("not running: gptmirror volume resync goes on\n");
		}
	}
	const char *bc = machine_extra_get(m, "bootcurrent");
	printf("\nLast boot: %s%s\n", bc ? "Boot" : "", bc ? bc : "none recorded");
	cli_esp_warnings(stdout, m, "Warning: ");
	printf("\nDrive letters:");
	if (m->nletters == 0)
		printf(" none");
	printf("\n");
	for (int i = 0; i < m->nletters; i++) {
		const char *where = "on a disk that is not present";
		char buf[64];
		for (int s = 0; s < m->nslots; s++) {
			struct disk *d = m->slots[s].disk;
			if (!d)
				continue;
			for (size_t p = 0; p < d->nparts; p++) {
				char k[64];
				part_key(d, &d->parts[p], k, sizeof(k));
				if (strcmp(k, m->letters[i].key) == 0) {
					snprintf(buf, sizeof(buf),
						 "disk %d partition %zu", s, p + 1);
					where = buf;
				}
			}
		}
		printf("  %c: %s\n", m->letters[i].letter, where);
	}
	return 0;
}

/* The work Windows does at boot (the engine's machine_reboot), said as it
 * went, then the firmware's messages. */
static int machine_reboot_cmd(const char *mdir)
{
	struct machine *m;
	struct gm_err err;
	struct reboot_result r;

	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("gptmirror", &err);
		return 1;
	}
	printf("Shutting down and restarting the machine.\n");
	int rc = machine_reboot(m, isatty(STDERR_FILENO) ? cli_progress : NULL, NULL, &r, &err);
	for (int i = 0; i < r.nconverted; i++)
		printf("Disk %d was converted to dynamic.\n", r.converted[i]);
	cli_say_resync(&r);
	if (rc < 0) {
		cli_print_err("gptmirror", &err);
		rc = 1;
	} else if (r.real) {
		printf("The work Windows does at boot is done. Restart the computer now to "
		       "boot it (gptmirror does not restart a real computer).\n");
	} else {
		rc = cli_boot_result(&r.boot);
	}
	machine_close(m);
	return rc;
}

int machine_main(const char *mdir, int argc, char **argv)
{
	struct machine *m;
	struct gm_err err;
	int rc = 0, slot;
	char kept[64] = "";

	if (argc < 1) {
		fprintf(stderr, "usage: gptmirror machine create|status|pull-disk|"
			"insert-disk ...\n");
		return 2;
	}
	if (strcmp(argv[0], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[0], "boot") == 0)
		return machine_boot_main(mdir, argc - 1, argv + 1);
	if (strcmp(argv[0], "reboot") == 0)
		return machine_reboot_cmd(mdir);
	if (strcmp(argv[0], "status") != 0 && strcmp(argv[0], "pull-disk") != 0 &&
	    strcmp(argv[0], "insert-disk") != 0 && strcmp(argv[0], "map") != 0) {
		fprintf(stderr, "gptmirror: unknown machine command '%s'\n",
			argv[0]);
		return 2;
	}
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("gptmirror", &err);
		return 1;
	}
	if (strcmp(argv[0], "map") == 0) {
		rc = map_main(m, argc - 1, argv + 1);
	} else if (strcmp(argv[0], "status") == 0 && argc == 2 && strcmp(argv[1], "--json") == 0) {
		rc = cmd_status_json(m);
	} else if (strcmp(argv[0], "status") == 0) {
		rc = cmd_status(m);
	} else if (strcmp(argv[0], "pull-disk") == 0 && machine_is_real(m)) {
		fprintf(stderr, "gptmirror: machine pull-disk needs an image machine; on a real "
			"computer, take the disk out (its slot then shows it missing)\n");
		rc = 1;
	} else if (strcmp(argv[0], "pull-disk") == 0) {
		if (argc != 2 || parse_slot(argv[1], &slot) < 0) {
			fprintf(stderr, "usage: gptmirror machine pull-disk N\n");
			rc = 2;
		} else if (machine_pull_disk(m, slot, kept, sizeof(kept), &err) < 0) {
			cli_print_err("gptmirror", &err);
			rc = 1;
		} else {
			printf("Disk %d was pulled; slot %d is empty (the image is kept as %s).\n",
			       slot, slot, kept);
		}
	} else {
		uint64_t size = 0;
		const char *image = NULL, *device = NULL;
		uint32_t ss = 512;
		int bad = argc < 2 || parse_slot(argv[1], &slot) < 0;
		for (int i = 2; i < argc && !bad; i++) {
			const char *v = i + 1 < argc ? argv[i + 1] : NULL;
			if (strcmp(argv[i], "--size") == 0 && v)
				bad = parse_size(v, &size) < 0, i++;
			else if (strcmp(argv[i], "--image") == 0 && v)
				image = v, i++;
			else if (strcmp(argv[i], "--device") == 0 && v)
				device = v, i++;
			else if (strcmp(argv[i], "--sector-size") == 0 && v)
				bad = parse_ss(v, &ss) < 0, i++;
			else
				bad = 1;
		}
		if (bad || (!!size + !!image + !!device) != 1) {
			fprintf(stderr, "usage: gptmirror machine insert-disk N "
				"--size SIZE | --image FILE [--sector-size 512|4096] | --device PATH\n");
			rc = 2;
		} else if (device ? machine_insert_device(m, slot, device, &err) < 0
				  : machine_insert_disk(m, slot, size, image, ss, &err) < 0) {
			cli_print_err("gptmirror", &err);
			rc = 1;
		} else {
			struct disk *d = machine_disk(m, slot);
			printf("A disk was inserted in slot %d.\n", slot);
			if (d)
				cli_disk_warnings(stdout, d, "Warning: ");
		}
	}
	machine_close(m);
	return rc;
}
