/*
 * bootcfg.c - bootcfg as Windows Server 2003 runs it on EFI machines: the
 * boot entries of NVRAM (Boot####, BootOrder, Timeout) shown with NT device
 * names, /list of a disk's partitions, /clone onto another EFI system
 * partition, /mirror /add, /delete, /default, /timeout.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../engine/ldm.h"
#include "../engine/boot.h"
#include "../engine/machine.h"
#include "../engine/nvram.h"
#include "../fmt/bytes.h"
#include "cli.h"
#include "out.h"

#define LABEL "%-23s"

static int syntax(void)
{
	printf("ERROR: Invalid syntax.\nType \"BOOTCFG /?\" for usage.\n");
	return 1;
}

static int usage(void)
{
	printf("BOOTCFG [/query] [/v] [--json]\n"
	       "BOOTCFG /list [N]\n"
	       "BOOTCFG /clone /sg {GUID} /tg {GUID} [/d+ TEXT | /d TEXT] [/id N]\n"
	       "BOOTCFG /mirror /add {GUID} /d TEXT\n"
	       "BOOTCFG /delete /id N\n"
	       "BOOTCFG /default /id N\n"
	       "BOOTCFG /timeout N\n"
	       "\n"
	       "Boot entry IDs are positions in BootOrder, 1 first. GUIDs are\n"
	       "partition GUIDs as /list shows them.\n");
	return 0;
}

/* The partition with this unique GUID on a present GPT disk. */

/* An LDM data partition holding an extent of a dynamic volume is named by
 * that volume: \Device\HarddiskDmVolumes\PhysicalDmVolumes\BlockVolumeN. */
static bool dm_volume(struct machine *m, int slot, uint64_t lba, char *out, size_t cap)
{
	const struct ldm_view *v = machine_ldm(m);
	bool found = false;

	if (!v)
		return false;
	for (size_t g = 0; g < v->ngroups && !found; g++)
		for (size_t i = 0; i < v->groups[g].nvols && !found; i++) {
			const struct ldm_volume *vol = &v->groups[g].vols[i];
			for (size_t p = 0; p < vol->nplex; p++)
				for (size_t e = 0; e < vol->plex[p].n; e++)
					if (vol->plex[p].ext[e].slot == slot &&
					    vol->plex[p].ext[e].abs_start == lba && !found) {
						snprintf(out, cap, "\\Device\\HarddiskDmVolumes\\"
							 "PhysicalDmVolumes\\BlockVolume%u",
							 vol->rec->u.vol.number);
						found = true;
					}
		}
	return found;
}

/* A Windows that runs from a basic partition (Setup's new system on a
 * replacement disk) has not imported the machine's dynamic disk group: it
 * cannot name a dynamic volume, and bootcfg shows (null) for it, as in the
 * KB's listing after Setup. A real computer's running system is Linux,
 * which sees them all. */
static bool dm_visible(struct machine *m)
{
	static int known = -1;

	if (known < 0) {
		struct boot_running r;
		boot_running(m, &r);
		struct disk *d = r.os_slot >= 0 ? machine_disk(m, r.os_slot) : NULL;
		known = machine_is_real(m) || !d || r.os_pos >= d->nparts ||
			d->parts[r.os_pos].kind == PK_LDM_DATA;
	}
	return known;
}

/* \Device\HarddiskVolumeN: Windows numbers the partitions of basic
 * meaning on all disks in order: ESP, MSR, data and other partitions; not
 * the LDM database nor the LDM data partitions, which belong to dynamic
 * volumes (named by volume, not partition). The KB shows both: disk 1's
 * ESP is HarddiskVolume3 after disk 0's ESP and MSR once C: is dynamic,
 * and Setup's C: is HarddiskVolume3 after its ESP and MSR. */
static bool nt_volume(struct machine *m, int slot, size_t pos, char *out, size_t cap)
{
	int n = 0;

	for (int s = 0; s < m->nslots; s++) {
		struct disk *d = machine_disk(m, s);
		if (!d || (d->style != DS_GPT && d->style != DS_MBR))
			continue;
		for (size_t p = 0; p < d->nparts; p++) {
			enum part_kind k = d->parts[p].kind;
			if (s == slot && p == pos && k == PK_LDM_DATA)
				return dm_visible(m) &&
				       dm_volume(m, slot, d->parts[p].first_lba, out, cap);
			if (k == PK_LDM_DATA || k == PK_LDM_META || k == PK_MBR_EXTENDED)
				continue;
			n++;
			if (s == slot && p == pos) {
				snprintf(out, cap, "\\Device\\HarddiskVolume%d", n);
				return true;
			}
		}
	}
	return false;
}

/* A device path (HD + File) as an NT path, or "(null)". */
static void nt_path(struct machine *m, const uint8_t *dp, size_t len, char *out,
		    size_t cap)
{
	struct efi_hd hd;
	char file[1024] = "", vol[64];
	int slot;
	size_t pos;

	if (!dp || !efi_dp_get_hd(dp, len, &hd) || hd.sig_type != 2 ||
	    !boot_find_gpt_part(m, &hd.sig, &slot, &pos) || !nt_volume(m, slot, pos, vol, sizeof(vol))) {
		snprintf(out, cap, "(null)");
		return;
	}
	efi_dp_get_file(dp, len, file, sizeof(file));
	snprintf(out, cap, "%s%s", vol, file);
}

struct listing {
	struct machine *m;
	struct nvram *nv;
	struct boot_entry *e;
	size_t n;
};

static void entry_paths(struct listing *L, const struct boot_entry *e, char *boot,
			char *os, size_t cap)
{
	nt_path(L->m, e->lo.dp, e->lo.dp_len, boot, cap);
	nt_path(L->m, e->win.os_dp, e->win.os_dp_len, os, cap);
}

static int show(struct listing *L, bool verbose, bool json)
{
	uint16_t t = nvram_timeout(L->nv);
	char def[2048] = "(null)", boot[2048], os[2048], dpt[4096];
	const char *cur = "N/A";
	char curbuf[24];
	const char *bc = NULL;

	for (int i = 0; i < L->m->nextra; i++)
		if (strncmp(L->m->extra[i], "bootcurrent = ", 14) == 0)
			bc = L->m->extra[i] + 14;
	for (size_t i = 0; bc && i < L->n; i++)
		if (L->e[i].num == (uint16_t)strtoul(bc, NULL, 16)) {
			snprintf(curbuf, sizeof(curbuf), "%zu", i + 1);
			cur = curbuf;
		}
	if (L->n && L->e[0].windows)
		nt_path(L->m, L->e[0].win.os_dp, L->e[0].win.os_dp_len, def, sizeof(def));

	if (json) {
		printf("{\n  \"timeout\": ");
		if (t == 0xffff)
			printf("null");
		else
			printf("%u", t);
		printf(",\n  \"default\": ");
		json_str(def);
		printf(",\n  \"current_boot_entry_id\": %s,\n  \"entries\": [", cur[0] == 'N' ? "null" : cur);
		for (size_t i = 0; i < L->n; i++) {
			const struct boot_entry *e = &L->e[i];
			printf("%s\n    {\"id\": %zu, \"boot_number\": \"Boot%04X\", \"name\": ",
			       i ? "," : "", i + 1, e->num);
			json_str(e->valid ? e->lo.desc : "");
			printf(", \"windows\": %s", e->windows ? "true" : "false");
			if (e->valid) {
				efi_dp_to_text(e->lo.dp, e->lo.dp_len, dpt, sizeof(dpt));
				printf(", \"device_path\": ");
				json_str(dpt);
			}
			if (e->windows) {
				entry_paths(L, e, boot, os, sizeof(boot));
				printf(", \"os_load_options\": ");
				json_str(e->win.load_options);
				printf(", \"boot_file_path\": ");
				json_str(boot);
				printf(", \"os_file_path\": ");
				json_str(os);
			}
			printf("}");
		}
		printf("\n  ]\n}\n");
		return 0;
	}
	printf("\nBoot Options\n------------\n");
	if (t == 0xffff)
		printf(LABEL "N/A\n", "Timeout:");
	else
		printf(LABEL "%u\n", "Timeout:", t);
	printf(LABEL "%s\n", "Default:", def);
	/* Windows' bootcfg names the entry by its paths, not by BootCurrent:
	 * the last entry whose BootFilePath and OsFilePath are those of the
	 * entry that booted. The KB shows it three times: 5 after add disk=1
	 * (entries 1 and 5 have the same paths, 1 booted), 1 after Setup, 7 at
	 * the end. --json gives the entry that booted. */
	if (cur == curbuf) {
		size_t c = strtoul(curbuf, NULL, 10) - 1;
		if (L->e[c].windows) {
			char cb[2048], co[2048];
			entry_paths(L, &L->e[c], boot, os, sizeof(boot));
			for (size_t i = c + 1; strcmp(boot, "(null)") && strcmp(os, "(null)") && i < L->n; i++) {
				if (!L->e[i].windows)
					continue;
				entry_paths(L, &L->e[i], cb, co, sizeof(cb));
				if (strcmp(cb, boot) == 0 && strcmp(co, os) == 0)
					snprintf(curbuf, sizeof(curbuf), "%zu", i + 1);
			}
		}
	}
	printf(LABEL "%s\n", "CurrentBootEntryID:", cur);
	printf("\nBoot Entries\n------------\n");
	for (size_t i = 0; i < L->n; i++) {
		const struct boot_entry *e = &L->e[i];
		printf(LABEL "%zu\n", "Boot entry ID:", i + 1);
		printf(LABEL "%s\n", "OS Friendly Name:", e->valid ? e->lo.desc : "(unreadable)");
		if (e->windows) {
			entry_paths(L, e, boot, os, sizeof(boot));
			printf(LABEL "%s\n", "OsLoadOptions:",
			       e->win.load_options[0] ? e->win.load_options : "N/A");
			printf(LABEL "%s\n", "BootFilePath:", boot);
			printf(LABEL "%s\n", "OsFilePath:", os);
		}
		if (verbose) {
			printf(LABEL "Boot%04X\n", "Boot variable:", e->num);
			if (e->valid) {
				efi_dp_to_text(e->lo.dp, e->lo.dp_len, dpt, sizeof(dpt));
				printf(LABEL "%s\n", "Device path:", dpt);
			}
		}
		printf("\n");
	}
	return 0;
}

static int list_disk(struct machine *m, int slot)
{
	struct disk *d = machine_disk(m, slot);

	if (!d) {
		printf("ERROR: Disk %d does not exist.\n", slot);
		return 1;
	}
	if (d->style == DS_UNREADABLE || d->style == DS_INVALID) {
		/* Both GPT copies damaged (or no disk at all): not "not GPT". */
		printf("ERROR: The partition table of disk %d cannot be read: %s.\n", slot, d->why);
		return 1;
	}
	if (d->style != DS_GPT) {
		printf("ERROR: Disk %d is not a GPT disk.\n", slot);
		return 1;
	}
	printf("\nPartition table info for Disk: %d\n\n", slot);
	for (size_t p = 0; p < d->nparts; p++) {
		const struct part *pt = &d->parts[p];
		char off[32], len[32], g[40], t[40], name[128];
		fmt_commas(part_offset(d, pt), off, sizeof(off));
		fmt_commas(part_bytes(d, pt), len, sizeof(len));
		guid_to_str(&pt->ent.uniq, g);
		guid_to_str(&pt->ent.type, t);
		gpt_ent_name(&pt->ent, name, sizeof(name));
		printf(LABEL "%zu\n", "Partition No:", p + 1);
		printf(LABEL "GPT\n", "Partition Style:");
		printf(LABEL "%s\n", "Starting offset:", off);
		printf(LABEL "%s\n", "Partition length:", len);
		printf(LABEL "{%s}\n", "Partition GUID:", g);
		printf(LABEL "{%s}\n", "GUID type:", t);
		printf(LABEL "%s\n\n", "Partition name:", name);
	}
	return 0;
}

static bool parse_id(const char *s, size_t n, size_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < 1 || v > n)
		return false;
	*out = v - 1;
	return true;
}

static int do_clone(struct listing *L, const struct guid *sg, const struct guid *tg,
		    const char *dplus, const char *dset, long only)
{
	struct clone_result r;
	struct gm_err err;
	int rc = boot_clone_entries(L->m, L->nv, L->e, L->n, sg, tg, dplus, dset, only, &r, &err);

	for (size_t i = 0; i < r.n; i++)
		printf("INFO: Boot entry whose id is '%zu' successfully cloned.\n", r.pos[i] + 1);
	for (size_t i = 0; i < r.nsame; i++)
		printf("INFO: Boot entry whose id is '%zu' is already cloned there (Boot%04X); "
		       "nothing was added.\n", r.same_pos[i] + 1, r.same_num[i]);
	if (rc < 0) {
		printf("ERROR: %s\n", err.detail);
		return 1;
	}
	printf("SUCCESS: The operation completed successfully.\n");
	return 0;
}

static int do_mirror_add(struct listing *L, const struct guid *g, const char *desc)
{
	int slot;
	size_t pos;
	struct gm_err err;

	if (!boot_find_gpt_part(L->m, g, &slot, &pos)) {
		printf("ERROR: No partition with that GUID was found.\n");
		return 1;
	}
	struct disk *d = machine_disk(L->m, slot);
	enum part_kind k = d->parts[pos].kind;
	if (k != PK_LDM_DATA && k != PK_BASIC) {
		printf("ERROR: The partition is not a data partition that can hold "
		       "Windows.\n");
		return 1;
	}
	if (nvram_add_mirror_entry(L->nv, d, pos, desc, -1, &err) < 0) {
		printf("ERROR: %s\n", err.detail);
		return 1;
	}
	printf("SUCCESS: The mirrored boot entry has been added.\n");
	return 0;
}

static int reorder(struct listing *L, size_t id)
{
	uint16_t *order = malloc((L->n + 1) * sizeof(*order));
	struct gm_err err;
	size_t k = 0;

	if (!order)
		return 1;
	order[k++] = L->e[id].num;
	for (size_t i = 0; i < L->n; i++)
		if (i != id)
			order[k++] = L->e[i].num;
	int rc = nvram_set_boot_order(L->nv, order, k, &err);
	free(order);
	if (rc < 0) {
		printf("ERROR: %s\n", err.detail);
		return 1;
	}
	printf("SUCCESS: The default boot entry was changed.\n");
	return 0;
}

/* /list [N]: disk N, or every GPT disk. */
static int list_disks(struct machine *m, const char *num)
{
	int rc = 0;

	if (num) {
		char *end;
		long d = strtol(num, &end, 10);
		if (*end || d < 0 || d >= GM_MAX_SLOTS)
			return syntax();
		return list_disk(m, (int)d);
	}
	for (int s = 0; s < m->nslots; s++)
		if (machine_disk(m, s) && machine_disk(m, s)->style == DS_GPT)
			rc |= list_disk(m, s);
	return rc;
}

/* bootcfg's command line. */
enum bc_op { Q, LIST, CLONE, MIRROR, DELETE, DEFAULT, TIMEOUT };
struct bc_args {
	enum bc_op op;
	const char *sg, *tg, *dplus, *dset, *id, *add, *num;
	bool verbose, json, have_list_arg;
};

/* Parses argv into a; returns -1 when it is good, else the exit status. */
static int parse_args(int argc, char **argv, struct bc_args *a)
{
	memset(a, 0, sizeof(*a));
	a->op = Q;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(dst) do { if (!v) return syntax(); a->dst = v; i++; } while (0)
		if (strcmp(w, "/?") == 0 || strcmp(w, "--help") == 0)
			return usage();
		else if (strcasecmp(w, "/query") == 0)
			a->op = Q;
		else if (strcasecmp(w, "/v") == 0)
			a->verbose = true;
		else if (strcmp(w, "--json") == 0)
			a->json = true;
		else if (strcasecmp(w, "/list") == 0) {
			a->op = LIST;
			if (v && v[0] != '/') {
				a->num = v;
				a->have_list_arg = true;
				i++;
			}
		} else if (strcasecmp(w, "/clone") == 0)
			a->op = CLONE;
		else if (strcasecmp(w, "/mirror") == 0)
			a->op = MIRROR;
		else if (strcasecmp(w, "/delete") == 0)
			a->op = DELETE;
		else if (strcasecmp(w, "/default") == 0)
			a->op = DEFAULT;
		else if (strcasecmp(w, "/timeout") == 0) {
			a->op = TIMEOUT;
			TAKE(num);
		} else if (strcasecmp(w, "/sg") == 0)
			TAKE(sg);
		else if (strcasecmp(w, "/tg") == 0)
			TAKE(tg);
		else if (strcasecmp(w, "/d+") == 0)
			TAKE(dplus);
		else if (strcasecmp(w, "/d") == 0)
			TAKE(dset);
		else if (strcasecmp(w, "/id") == 0)
			TAKE(id);
		else if (strcasecmp(w, "/add") == 0)
			TAKE(add);
		else
			return syntax();
#undef TAKE
	}
	return -1;
}

int bootcfg_main(const char *mdir, int argc, char **argv)
{
	struct bc_args A;
	int prc = parse_args(argc, argv, &A);
	if (prc >= 0)
		return prc;
	enum bc_op op = A.op;
	const char *sg = A.sg, *tg = A.tg, *dplus = A.dplus, *dset = A.dset, *id = A.id,
		   *add = A.add, *num = A.num;
	bool verbose = A.verbose, json = A.json, have_list_arg = A.have_list_arg;
	struct guid gs, gt;
	struct machine *m;
	struct nvram *nv;
	struct gm_err err;
	int rc;

	if ((op == CLONE && (!sg || !tg || (dplus && dset) ||
			     guid_from_str(sg, &gs) < 0 || guid_from_str(tg, &gt) < 0)) ||
	    (op == MIRROR && (!add || !dset || guid_from_str(add, &gs) < 0)) ||
	    ((op == DELETE || op == DEFAULT) && !id))
		return syntax();
	if (cli_machine_open(mdir, &m, &err) < 0) {
		printf("ERROR: %s\n", err.detail);
		return 1;
	}
	if (op == LIST) {
		rc = list_disks(m, have_list_arg ? num : NULL);
		machine_close(m);
		return rc;
	}
	if (machine_nvram_open(m, &nv, &err) < 0) {
		printf("ERROR: %s\n", err.detail);
		machine_close(m);
		return 1;
	}
	struct listing L = {m, nv, NULL, 0};
	if (nvram_boot_entries(nv, &L.e, &L.n) < 0) {
		printf("ERROR: cannot read the boot entries.\n");
		rc = 1;
		goto out;
	}
	size_t which = 0;
	if (id && !parse_id(id, L.n, &which)) {
		printf("ERROR: Boot entry ID '%s' does not exist.\n", id);
		rc = 1;
		goto out;
	}
	switch (op) {
	case Q:
		rc = show(&L, verbose, json);
		if (nv->damaged[0]) {
			/* What parsed is shown; the rest is not there to see. */
			fprintf(stderr, "WARNING: %s.\n", nv->damaged);
			rc = 1;
		}
		break;
	case CLONE:
		rc = do_clone(&L, &gs, &gt, dplus, dset, id ? (long)which : -1);
		break;
	case MIRROR:
		rc = do_mirror_add(&L, &gs, dset);
		break;
	case DELETE:
		if (nvram_delete_boot(nv, L.e[which].num, &err) < 0) {
			printf("ERROR: %s\n", err.detail);
			rc = 1;
		} else {
			printf("SUCCESS: Specified boot entry has been deleted.\n");
			rc = 0;
		}
		break;
	case DEFAULT:
		rc = reorder(&L, which);
		break;
	case TIMEOUT: {
		char *end;
		long t = strtol(num, &end, 10);
		if (*end || t < 0 || t > 999) {
			printf("ERROR: The timeout value must be between 0 and 999.\n");
			rc = 1;
		} else if (nvram_set_timeout(nv, (uint16_t)t, &err) < 0) {
			printf("ERROR: %s\n", err.detail);
			rc = 1;
		} else {
			printf("SUCCESS: Changed the timeout value to %ld.\n", t);
			rc = 0;
		}
		break;
	}
	default:
		rc = syntax();
	}
	if (rc == 0 && nvram_commit(nv, &err) < 0) {
		printf("ERROR: %s\n", err.detail);
		rc = 1;
	}
out:
	nvram_boot_entries_free(L.e, L.n);
	nvram_close(nv);
	machine_close(m);
	return rc;
}
