/* dp_show.c - diskpart list, select and detail: they read, never write.
 * Each row is gathered into a line struct first, then printed as Windows'
 * text or, under `diskpart --json`, as one JSON object (dp->json). */
#include "diskpart.h"

static const char *part_type_word(const struct part *p)
{
	switch (p->kind) {
	case PK_ESP:
		return "System";
	case PK_MSR:
		return "Reserved";
	case PK_BASIC:
	case PK_MBR_PRIMARY:
		return "Primary";
	case PK_LDM_META:
		return "Dynamic Reserved";
	case PK_LDM_DATA:
		return "Dynamic Data";
	case PK_RECOVERY:
		return "Recovery";
	case PK_MBR_EXTENDED:
		return "Extended";
	case PK_OTHER:
		break;
	}
	return "Unknown";
}

static const char *disk_status(const struct disk *d)
{
	switch (d->style) {
	case DS_UNREADABLE:
		return "Unreadable";
	case DS_INVALID:
		return "Invalid";
	default:
		return d->raw_has_data ? "Not Initialized" : "Online";
	}
}

static const char *tf(bool b)
{
	return b ? "true" : "false";
}

/* --- rows --------------------------------------------------------------- */

/* One row of a disk listing: a present disk, or a missing one (M0, ...). */
struct dline {
	char name[32];
	int slot;            /* -1: missing */
	const char *status;
	uint64_t size, free; /* bytes */
	uint32_t ss;         /* sector size */
	bool dyn, gpt, star;
	const struct disk *d;
};

static void dline_of(struct dp *dp, const struct disk *d, struct dline *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "Disk %d", d->slot);
	l->slot = d->slot;
	l->d = d;
	l->status = disk_status(d);
	l->size = d->dev->size;
	l->ss = d->ss;
	l->free = d->style == DS_GPT || d->style == DS_MBR || d->style == DS_RAW
			  ? disk_free_bytes(d)
			  : 0;
	l->dyn = dpv(dp) && d->slot < 16 && dpv(dp)->slot_group[d->slot] >= 0;
	if (l->dyn) {
		/* Free space of a dynamic disk: its public region less extents. */
		const struct ldm_group *g = &dpv(dp)->groups[dpv(dp)->slot_group[d->slot]];
		for (size_t i = 0; i < g->ndisks; i++)
			if (g->disks[i].slot == d->slot) {
				uint64_t pub = g->disks[i].ph.public_size, used = g->disks[i].used;
				l->free = (pub > used ? pub - used : 0) * 512;
			}
	}
	l->gpt = d->style == DS_GPT;
	l->star = dp->disk == d->slot;
}

static void dline_missing(int k, const struct ldm_gdisk *x, bool star, struct dline *l)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "Disk M%d", k);
	l->slot = -1;
	l->status = "Missing";
	l->size = x->used * 512;
	l->ss = 512;
	l->dyn = true;
	l->star = star;
}

static void disk_header(void)
{
	row("  Disk ###  Status         Size     Free     Dyn  Gpt");
	row("  --------  -------------  -------  -------  ---  ---");
}

static void dline_text(struct dp *dp, const struct dline *l)
{
	char sz[16], fr[16];

	dsize(dp, l->size, sz, sizeof(sz));
	dsize(dp, l->free, fr, sizeof(fr));
	if (l->slot < 0)
		row("%c %-8s  %-13s  %7s  %7s  %3s", l->star ? '*' : ' ', l->name, l->status, sz,
		    fr, " * ");
	else
		row("%c %-8s  %-13s  %7s  %7s  %3s  %3s", l->star ? '*' : ' ', l->name, l->status,
		    sz, fr, l->dyn ? " * " : "", l->gpt ? " * " : "");
}

static void dline_json(FILE *f, const struct dline *l)
{
	char st[32], g[GUID_STR_LEN + 1];

	state_word(l->status, st, sizeof(st));
	fprintf(f, "{\"name\": \"%s\", \"number\": ", l->name);
	if (l->slot >= 0)
		fprintf(f, "%d", l->slot);
	else
		fprintf(f, "null");
	fprintf(f, ", \"status\": \"%s\", \"state\": \"%s\", \"size_bytes\": %" PRIu64
		   ", \"size_sectors\": %" PRIu64 ", \"sector_size\": %" PRIu32
		   ", \"free_bytes\": %" PRIu64 ", \"dynamic\": %s, \"gpt\": %s, \"missing\": %s"
		   ", \"selected\": %s, \"guid\": ",
		l->status, st, l->size, l->size / l->ss, l->ss, l->free, tf(l->dyn), tf(l->gpt),
		tf(l->slot < 0), tf(l->star));
	if (l->d && l->gpt) {
		guid_to_str(&l->d->hdr.disk_guid, g);
		fprintf(f, "\"%s\"}", g);
	} else {
		fprintf(f, "null}");
	}
}

/* One row of a volume listing: a dynamic volume or a basic partition. */
struct vline {
	int num;
	char letter;
	struct fs_probe fs;
	const char *type, *status, *info;
	uint64_t size;    /* bytes */
	uint64_t sectors; /* the disk's sectors (LDM's 512-byte ones if dynamic) */
	bool star;
	const struct ldm_volume *lv; /* dynamic */
	int slot;                    /* basic: disk and partition number */
	size_t partno;
	int rebuild_pct;             /* Rebuild: how far, 0-100; else -1 */
};

static void vline_basic(struct dp *dp, const struct volume *v, int num, bool star,
			struct vline *l)
{
	struct disk *d = machine_disk(dp->m, v->slot);
	const struct part *p = &d->parts[v->part];
	uint8_t sec[4096];

	memset(l, 0, sizeof(*l));
	if (blk_read(d->dev, part_offset(d, p), sec, d->ss) == 0)
		fs_probe(sec, d->ss, &l->fs);
	vol_ntfs_label(dp->m, v->slot, v->part, NULL, &l->fs);
	l->num = num;
	l->letter = v->letter;
	l->type = "Partition";
	l->status = "Healthy";
	l->info = v->system ? "System" : v->letter == 'C' ? "Boot" : "";
	l->size = v->size;
	l->sectors = v->size / d->ss;
	l->star = star;
	l->slot = v->slot;
	l->partno = v->part + 1;
	l->rebuild_pct = -1;
}

static void vline_ldm(struct dp *dp, const struct ldm_volume *v, int num, bool star,
		      struct vline *l)
{
	uint8_t sec[512];
	struct gm_err err;

	memset(l, 0, sizeof(*l));
	if (v->health != LH_FAILED && ldm_vol_read(dp->m, v, 0, 1, sec, &err) == 0)
		fs_probe(sec, sizeof(sec), &l->fs);
	vol_ntfs_label(dp->m, -1, 0, v, &l->fs);
	l->num = num;
	l->letter = ldm_volume_letter(v);
	l->type = ldm_kind_str(v->kind);
	l->status = ldm_status_str(v);
	l->info = l->letter == 'C' ? "Boot" : "";
	l->size = v->sectors * 512;
	l->sectors = v->sectors;
	l->star = star;
	l->lv = v;
	l->slot = -1;
	l->rebuild_pct = ldm_rebuild_percent(dp->m, v);
}

/* The empty CD-ROM drive (machine_has_cdrom), as the KB lists it. */
static void vline_cdrom(struct dp *dp, struct vline *l)
{
	memset(l, 0, sizeof(*l));
	l->num = vol_num_cdrom(dp);
	l->letter = GM_CDROM_LETTER;
	l->type = "CD-ROM";
	l->status = "Healthy";
	l->info = "";
	l->star = dp->cdrom_sel;
	l->slot = -1;
	l->rebuild_pct = -1;
}

static void vol_header(void)
{
	row("  Volume ###  Ltr  Label        Fs     Type        Size     Status     Info");
	row("  ----------  ---  -----------  -----  ----------  -------  ---------  --------");
}

static void vline_text(struct dp *dp, const struct vline *l)
{
	char name[16], ltr[4], sz[16];

	snprintf(name, sizeof(name), "Volume %d", l->num);
	snprintf(ltr, sizeof(ltr), " %c ", l->letter ? l->letter : ' ');
	dsize(dp, l->size, sz, sizeof(sz));
	/* Server 2003's diskpart shows no file system nor label for a
	 * partition without a drive letter (the KB's recovery lists Setup's
	 * NTFS partition and the ESP so); --json still says what is there. */
	bool bare = dp->m->profile == PROFILE_2003 && l->slot >= 0 && !l->letter;
	row("%c %-10s  %-3s  %-11.11s  %-5s  %-10s  %7s  %-9s  %-8s", l->star ? '*' : ' ', name,
	    ltr, bare ? "" : l->fs.label, bare ? "" : fs_kind_str(l->fs.kind), l->type, sz,
	    l->status, l->info);
}

static void vline_json(FILE *f, const struct vline *l)
{
	char st[32];

	state_word(l->status, st, sizeof(st));
	fprintf(f, "{\"number\": %d, \"name\": \"Volume %d\", \"letter\": ", l->num, l->num);
	if (l->letter)
		fprintf(f, "\"%c\"", l->letter);
	else
		fprintf(f, "null");
	fprintf(f, ", \"label\": ");
	json_fstr(f, l->fs.label);
	fprintf(f, ", \"fs\": ");
	json_fstr(f, fs_kind_str(l->fs.kind));
	fprintf(f, ", \"type\": \"%s\", \"size_bytes\": %" PRIu64 ", \"size_sectors\": %" PRIu64
		   ", \"status\": \"%s\", \"state\": \"%s\", \"info\": \"%s\", \"selected\": %s"
		   ", \"dynamic\": %s, \"ldm_name\": ",
		l->type, l->size, l->sectors, l->status, st, l->info, tf(l->star),
		tf(l->lv != NULL));
	if (l->lv) {
		json_fstr(f, l->lv->rec->name);
		fprintf(f, ", \"disk\": null, \"partition\": null}");
	} else if (l->slot < 0) {
		fprintf(f, "null, \"disk\": null, \"partition\": null}");
	} else {
		fprintf(f, "null, \"disk\": %d, \"partition\": %zu}", l->slot, l->partno);
	}
}

/* A list of rows under one header: text prints the header before the first
 * row; JSON separates the objects of an array. */
struct rows {
	struct dp *dp;
	void (*header)(void);
	int n;
};

static void rows_disk(struct rows *r, const struct dline *l)
{
	if (r->dp->json) {
		fputs(r->n ? ", " : "", r->dp->json);
		dline_json(r->dp->json, l);
	} else {
		if (!r->n && r->header) {
			putchar('\n');
			r->header();
		}
		dline_text(r->dp, l);
	}
	r->n++;
}

static void rows_vol(struct rows *r, const struct vline *l)
{
	if (r->dp->json) {
		fputs(r->n ? ", " : "", r->dp->json);
		vline_json(r->dp->json, l);
	} else {
		if (!r->n && r->header) {
			putchar('\n');
			r->header();
		}
		vline_text(r->dp, l);
	}
	r->n++;
}

/* --- listings ----------------------------------------------------------- */

/* Dynamic disks the databases know but that are not here: M0, M1, ... */
static void missing_rows(struct dp *dp, struct rows *r)
{
	int k = 0;

	for (size_t g = 0; dpv(dp) && g < dpv(dp)->ngroups; g++)
		for (size_t i = 0; i < dpv(dp)->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dpv(dp)->groups[g].disks[i];
			struct dline l;
			if (x->slot >= 0)
				continue;
			dline_missing(k, x, dp->missing == k, &l);
			k++;
			rows_disk(r, &l);
		}
}

static int list_disk(struct dp *dp)
{
	struct rows r = {dp, disk_header, 0};

	if (dp->json)
		fprintf(dp->json, "{\"listing\": \"disk\", \"disks\": [");
	else {
		putchar('\n');
		disk_header();
		r.header = NULL;
	}
	for (int i = 0; i < dp->m->nslots; i++) {
		struct disk *d = machine_disk(dp->m, i);
		struct dline l;
		if (!d)
			continue;
		dline_of(dp, d, &l);
		rows_disk(&r, &l);
	}
	missing_rows(dp, &r);
	if (dp->json)
		fprintf(dp->json, "]}\n");
	return DP_OK;
}

static void part_json(FILE *f, const struct disk *d, size_t i, bool star)
{
	const struct part *p = &d->parts[i];
	static const char *const kinds[] = {
		[PK_ESP] = "esp", [PK_MSR] = "msr", [PK_BASIC] = "basic",
		[PK_MBR_PRIMARY] = "basic", [PK_LDM_META] = "ldm_metadata",
		[PK_LDM_DATA] = "ldm_data", [PK_RECOVERY] = "recovery",
		[PK_MBR_EXTENDED] = "extended", [PK_OTHER] = "other",
	};
	uint64_t n = p->last_lba - p->first_lba + 1;

	fprintf(f, "%s{\"number\": %zu, \"type\": \"%s\", \"kind\": \"%s\", \"first_lba\": %" PRIu64
		   ", \"last_lba\": %" PRIu64 ", \"size_sectors\": %" PRIu64
		   ", \"size_bytes\": %" PRIu64 ", \"offset_bytes\": %" PRIu64 ", \"selected\": %s",
		i ? ", " : "", i + 1, part_type_word(p), kinds[p->kind], p->first_lba, p->last_lba, n,
		part_bytes(d, p), part_offset(d, p), tf(star));
	if (d->style == DS_GPT) {
		char t[GUID_STR_LEN + 1], g[GUID_STR_LEN + 1];
		guid_to_str(&p->ent.type, t);
		guid_to_str(&p->ent.uniq, g);
		fprintf(f, ", \"type_guid\": \"%s\", \"guid\": \"%s\", \"attributes\": %" PRIu64
			   ", \"mbr_type\": null}",
			t, g, p->ent.attrs);
	} else {
		fprintf(f, ", \"type_guid\": null, \"guid\": null, \"attributes\": null"
			   ", \"mbr_type\": %u}",
			p->mbr_type);
	}
}

static int list_partition(struct dp *dp)
{
	struct disk *d = sel_disk(dp);

	if (!d && dp->missing >= 0 && missing_at(dp, dp->missing)) {
		/* A missing disk: nothing of it can be read. */
		if (dp->json)
			fprintf(dp->json, "{\"listing\": \"partition\", \"disk\": null, "
					  "\"sector_size\": null, \"partitions\": []}\n");
		else
			say("There are no partitions on this disk to show.");
		return DP_OK;
	}
	if (!d)
		return no_focus("disk");
	if (d->style == DS_UNREADABLE || d->style == DS_INVALID) {
		struct gm_err err;
		disk_check_writable(d, &err);
		return engine_error(&err);
	}
	bool none = (d->style != DS_GPT && d->style != DS_MBR) || d->nparts == 0;
	if (dp->json) {
		fprintf(dp->json, "{\"listing\": \"partition\", \"disk\": %d, \"sector_size\": %" PRIu32
				  ", \"partitions\": [",
			d->slot, d->ss);
		for (size_t i = 0; !none && i < d->nparts; i++)
			part_json(dp->json, d, i, dp->part == (long)i);
		fprintf(dp->json, "]}\n");
		return DP_OK;
	}
	if (none) {
		say("There are no partitions on this disk to show.");
		return DP_OK;
	}
	putchar('\n');
	row("  Partition ###  Type              Size     Offset");
	row("  -------------  ----------------  -------  -------");
	for (size_t i = 0; i < d->nparts; i++) {
		char name[32], sz[16], off[16];
		snprintf(name, sizeof(name), "Partition %zu", i + 1);
		dsize(dp, part_bytes(d, &d->parts[i]), sz, sizeof(sz));
		dsize(dp, part_offset(d, &d->parts[i]), off, sizeof(off));
		row("%c %-13s  %-16s  %7s  %7s", dp->part == (long)i ? '*' : ' ',
		    name, part_type_word(&d->parts[i]), sz, off);
	}
	return DP_OK;
}

static int cmp_vline(const void *a, const void *b)
{
	const struct vline *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

static int list_volume(struct dp *dp)
{
	static struct vline lines[2 * MAX_VOLS];
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = dp->ldm_sel >= 0 ? -1 : sel_vol(dp, v, n);
	size_t nl = ldm_count(dp), k = 0;
	struct rows r = {dp, NULL, 0};

	if (dp->json) {
		fprintf(dp->json, "{\"listing\": \"volume\", \"volumes\": [");
	} else if (n == 0 && nl == 0 && !machine_has_cdrom(dp->m)) {
		say("There are no volumes.");
		return DP_OK;
	} else {
		putchar('\n');
		vol_header();
	}
	/* In the order of their numbers, which stay what they were when the
	 * session first saw each volume. */
	for (size_t i = 0; i < nl && k < 2 * MAX_VOLS; i++)
		vline_ldm(dp, ldm_at(dp, i), vol_num_ldm(dp, i), dp->ldm_sel == (int)i, &lines[k++]);
	if (machine_has_cdrom(dp->m) && k < 2 * MAX_VOLS)
		vline_cdrom(dp, &lines[k++]);
	for (int i = 0; i < n && k < 2 * MAX_VOLS; i++)
		vline_basic(dp, &v[i], vol_num_basic(dp, &v[i]), i == cur && !dp->cdrom_sel, &lines[k++]);
	qsort(lines, k, sizeof(lines[0]), cmp_vline);
	for (size_t i = 0; i < k; i++)
		rows_vol(&r, &lines[i]);
	if (dp->json)
		fprintf(dp->json, "]}\n");
	return DP_OK;
}

static const char *const objects[] = {"disk", "partition", "volume", NULL};

/* A background copy that has finished is marked healthy before volumes
 * are shown (and one that was killed goes on), so that list volume, asked
 * again and again, turns from Rebuild to Healthy as Windows' does. */
static void poll_rebuild(struct dp *dp)
{
	struct gm_err err;
	int keep = dp->ldm_sel, rc = rebuild_poll(dp->m, &err);

	if (rc > 0) {
		ldm_rescan(dp);
		dp->ldm_sel = keep;
		if (machine_save(dp->m, &err) < 0)
			printf("\nWARNING: %s\n", err.detail);
	} else if (rc < 0) {
		printf("\nWARNING: the mirror's background copy: %s\n", err.detail);
	}
}

int cmd_list(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("LIST");
	poll_rebuild(dp);
	switch (k) {
	case 0:
		return list_disk(dp);
	case 1:
		return list_partition(dp);
	default:
		return list_volume(dp);
	}
}

/* --- select ------------------------------------------------------------- */

static int select_disk(struct dp *dp, const char *arg)
{
	uint64_t n;

	if (arg && (arg[0] == 'm' || arg[0] == 'M') && parse_num(arg + 1, &n)) {
		if (n > 64 || !missing_at(dp, (int)n)) {
			say("The disk you specified is not valid.\n\n"
			    "There is no disk selected.");
			return DP_ARGS;
		}
		dp->missing = (int)n;
		dp->disk = -1;
		dp->part = -1;
		dp->has_vol = false;
		say("Disk M%d is now the selected disk.", dp->missing);
		return DP_OK;
	}
	if (!arg) {
		if (dp->missing >= 0)
			say("Disk M%d is now the selected disk.", dp->missing);
		else if (dp->disk < 0)
			say("There is no disk selected.");
		else
			say("Disk %d is now the selected disk.", dp->disk);
		return DP_OK;
	}
	if (!parse_num(arg, &n) || n >= (uint64_t)dp->m->nslots ||
	    !machine_disk(dp->m, (int)n)) {
		say("The disk you specified is not valid.\n\n"
		    "There is no disk selected.");
		return DP_ARGS;
	}
	dp->disk = (int)n;
	dp->missing = -1;
	dp->part = -1;
	if (dp->has_vol && dp->vol_slot != dp->disk)
		dp->has_vol = false;
	say("Disk %d is now the selected disk.", dp->disk);
	return DP_OK;
}

static int select_partition(struct dp *dp, const char *arg)
{
	struct disk *d = sel_disk(dp);
	uint64_t n;

	if (!d)
		return no_focus("disk");
	if (!arg) {
		if (dp->part < 0)
			say("There is no partition selected.");
		else
			say("Partition %ld is now the selected partition.",
			    dp->part + 1);
		return DP_OK;
	}
	if (!parse_num(arg, &n) || n < 1 || n > d->nparts) {
		say("The partition you specified is not valid.\n"
		    "Please select a valid partition.\n\n"
		    "There is no partition selected.");
		dp->part = -1;
		return DP_ARGS;
	}
	dp->part = (long)n - 1;
	focus_volume_of_part(dp);
	say("Partition %" PRIu64 " is now the selected partition.", n);
	return DP_OK;
}

static int select_volume(struct dp *dp, const char *arg)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), hit = -1;
	uint64_t num;

	if (!arg) {
		int cur = sel_vol(dp, v, n);
		if (dp->cdrom_sel)
			say("Volume %d is the selected volume.", vol_num_cdrom(dp));
		else if (dp->ldm_sel >= 0)
			say("Volume %d is the selected volume.", vol_num_ldm(dp, (size_t)dp->ldm_sel));
		else if (cur < 0)
			say("There is no volume selected.");
		else
			say("Volume %d is the selected volume.", vol_num_basic(dp, &v[cur]));
		return DP_OK;
	}
	size_t nl = ldm_count(dp);
	int found = -1;
	bool is_letter = isalpha((unsigned char)arg[0]) &&
			 (arg[1] == '\0' || (arg[1] == ':' && arg[2] == '\0'));
	dp->cdrom_sel = false;
	/* The CD-ROM drive, by its number or its letter. */
	if (machine_has_cdrom(dp->m) &&
	    ((parse_num(arg, &num) && num == (uint64_t)vol_num_cdrom(dp)) ||
	     (is_letter && toupper((unsigned char)arg[0]) == GM_CDROM_LETTER &&
	      strcmp(machine_letter_key(dp->m, GM_CDROM_LETTER), GM_CDROM_KEY) == 0))) {
		dp->cdrom_sel = true;
		dp->has_vol = false;
		dp->ldm_sel = -1;
		dp->part = -1;
		say("Volume %d is the selected volume.", vol_num_cdrom(dp));
		return DP_OK;
	}
	if (parse_num(arg, &num)) {
		for (size_t i = 0; i < nl; i++)
			if ((uint64_t)vol_num_ldm(dp, i) == num)
				found = (int)i;
		for (int i = 0; i < n && found < 0; i++)
			if ((uint64_t)vol_num_basic(dp, &v[i]) == num)
				hit = i;
	} else if (is_letter) {
		char l = (char)toupper((unsigned char)arg[0]);
		for (size_t i = 0; i < nl; i++)
			if (ldm_volume_letter(ldm_at(dp, i)) == l)
				found = (int)i;
		for (int i = 0; i < n && found < 0; i++)
			if (v[i].letter == l)
				hit = i;
	}
	if (hit < 0) {
		if (found >= 0) {
			const struct ldm_volume *lv = ldm_at(dp, (size_t)found);
			dp->has_vol = false;
			dp->ldm_sel = found;
			dp->part = -1;
			/* The disk of its first extent takes the disk focus. */
			for (size_t p = 0; lv && p < lv->nplex; p++)
				if (lv->plex[p].n && lv->plex[p].ext[0].slot >= 0) {
					dp->disk = lv->plex[p].ext[0].slot;
					dp->missing = -1;
					break;
				}
			say("Volume %d is the selected volume.", vol_num_ldm(dp, (size_t)found));
			return DP_OK;
		}
		say("The volume you specified is not valid.\n\n"
		    "There is no volume selected.");
		dp->has_vol = false;
		dp->ldm_sel = -1;
		return DP_ARGS;
	}
	dp->ldm_sel = -1;
	dp->has_vol = true;
	dp->vol_slot = v[hit].slot;
	vol_key_of(dp, &v[hit], dp->vol_key, sizeof(dp->vol_key));
	/* A volume on one partition of one disk focuses those too. */
	dp->disk = v[hit].slot;
	dp->part = (long)v[hit].part;
	say("Volume %d is the selected volume.", vol_num_basic(dp, &v[hit]));
	return DP_OK;
}

int cmd_select(struct dp *dp, int n, struct tok *t)
{
	int k = n >= 1 ? match_kw(t[0].key, objects) : -1;
	const char *arg = NULL;

	if (k < 0 || n > 2 || (n == 2 && t[0].val))
		return bad_args("SELECT");
	if (t[0].val)
		arg = t[0].val;
	else if (n == 2)
		arg = t[1].raw;
	switch (k) {
	case 0:
		return select_disk(dp, arg);
	case 1:
		return select_partition(dp, arg);
	default:
		return select_volume(dp, arg);
	}
}


/* --- detail ------------------------------------------------------------- */

/* The volumes on a disk (part < 0) or on one partition: text prints them
 * under a header, or says there are none; JSON adds "volumes": [...]. */
static void volumes_on(struct dp *dp, int slot, long part)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	struct rows r = {dp, vol_header, 0};

	if (dp->json)
		fprintf(dp->json, ", \"volumes\": [");
	for (int i = 0; i < n; i++) {
		struct vline l;
		if (v[i].slot != slot || (part >= 0 && (long)v[i].part != part))
			continue;
		vline_basic(dp, &v[i], vol_num_basic(dp, &v[i]), i == cur, &l);
		rows_vol(&r, &l);
	}
	/* Dynamic volumes with an extent on this disk (or this partition). */
	struct disk *d = machine_disk(dp->m, slot);
	for (size_t i = 0; d && i < ldm_count(dp); i++) {
		const struct ldm_volume *lv = ldm_at(dp, i);
		bool on = false;
		for (size_t p = 0; p < lv->nplex; p++)
			for (size_t e = 0; e < lv->plex[p].n; e++) {
				const struct ldm_extent *x = &lv->plex[p].ext[e];
				if (x->slot != slot)
					continue;
				if (part < 0)
					on = true;
				else if (x->abs_start >= d->parts[part].first_lba &&
					 x->abs_start <= d->parts[part].last_lba)
					on = true;
			}
		if (!on)
			continue;
		struct vline l;
		vline_ldm(dp, lv, vol_num_ldm(dp, i), dp->ldm_sel == (int)i, &l);
		rows_vol(&r, &l);
	}
	if (dp->json)
		fprintf(dp->json, "]");
	else if (!r.n)
		printf("\nThere %s.\n", part >= 0
			   ? "is no volume associated with this partition"
			   : "are no volumes");
}

/* A missing dynamic disk: what its group's database says of it, and the
 * volumes with a plex on it. */
static int detail_missing(struct dp *dp, const struct ldm_gdisk *x)
{
	struct dline l;
	struct rows r = {dp, vol_header, 0};

	dline_missing(dp->missing, x, true, &l);
	if (dp->json) {
		fprintf(dp->json, "{\"detail\": \"disk\", \"disk\": ");
		dline_json(dp->json, &l);
		fprintf(dp->json, ", \"disk_id\": ");
		json_fstr(dp->json, x->rec->u.disk.guid);
		fprintf(dp->json, ", \"image\": null, \"read_only\": false, \"boot_disk\": false"
				  ", \"volumes\": [");
	} else {
		printf("\nMissing dynamic disk (%s)\n", x->rec->name);
		printf("Disk ID: {%s}\n", x->rec->u.disk.guid);
		printf("Type   : Unknown\nStatus : Missing\n");
	}
	for (size_t i = 0; i < ldm_count(dp); i++) {
		const struct ldm_volume *lv = ldm_at(dp, i);
		bool on = false;
		for (size_t p = 0; p < lv->nplex; p++)
			for (size_t e = 0; e < lv->plex[p].n; e++)
				on |= lv->plex[p].ext[e].rec->u.part.disk == x->rec->id;
		if (!on)
			continue;
		struct vline v;
		vline_ldm(dp, lv, vol_num_ldm(dp, i), dp->ldm_sel == (int)i, &v);
		rows_vol(&r, &v);
	}
	if (dp->json)
		fprintf(dp->json, "]}\n");
	else if (!r.n)
		printf("\nThere are no volumes.\n");
	return DP_OK;
}

static int detail_disk(struct dp *dp)
{
	struct disk *d = sel_disk(dp);
	char id[40];

	if (!d && dp->missing >= 0 && missing_at(dp, dp->missing))
		return detail_missing(dp, missing_at(dp, dp->missing));
	if (!d)
		return no_focus("disk");
	if (d->style == DS_GPT) {
		char g[GUID_STR_LEN + 1];
		guid_to_str_upper(&d->hdr.disk_guid, g);
		snprintf(id, sizeof(id), "{%s}", g);
	} else if (d->style == DS_MBR) {
		snprintf(id, sizeof(id), "%08" PRIX32, d->mbr.disk_sig);
	} else {
		snprintf(id, sizeof(id), "00000000");
	}
	const char *image = dp->m->slots[d->slot].image;
	if (dp->json) {
		struct dline l;
		char lower[40];
		size_t k = 0;
		for (const char *c = id; *c && k + 1 < sizeof(lower); c++)
			if (*c != '{' && *c != '}')
				lower[k++] = (char)tolower((unsigned char)*c);
		lower[k] = '\0';
		dline_of(dp, d, &l);
		fprintf(dp->json, "{\"detail\": \"disk\", \"disk\": ");
		dline_json(dp->json, &l);
		fprintf(dp->json, ", \"disk_id\": \"%s\", \"image\": ", lower);
		json_fstr(dp->json, image);
		fprintf(dp->json, ", \"read_only\": %s, \"boot_disk\": false",
			tf(!d->dev->writable));
		volumes_on(dp, d->slot, -1);
		fprintf(dp->json, "}\n");
		return DP_OK;
	}
	printf("\ngptmirror Virtual Disk (%s)\n", image);
	printf("Disk ID: %s\n", id);
	printf("Type   : File Backed Virtual\n");
	printf("Status : %s\n", disk_status(d));
	printf("Path   : 0\nTarget : %d\nLUN ID : 0\n", d->slot);
	printf("Location Path : SLOT(%d)#IMAGE(%s)\n", d->slot, image);
	printf("Current Read-only State : %s\n", d->dev->writable ? "No" : "Yes");
	printf("Read-only  : %s\n", d->dev->writable ? "No" : "Yes");
	printf("Boot Disk  : No\nPagefile Disk  : No\n"
	       "Hibernation File Disk  : No\nCrashdump Disk  : No\n"
	       "Clustered Disk  : No\n");
	volumes_on(dp, d->slot, -1);
	return DP_OK;
}

static int detail_partition(struct dp *dp)
{
	struct disk *d = sel_disk(dp);
	struct part *p = sel_part(dp);

	if (!d)
		return no_focus("disk");
	if (!p)
		return no_focus("partition");
	if (dp->json) {
		fprintf(dp->json, "{\"detail\": \"partition\", \"disk\": %d, \"partition\": ", d->slot);
		part_json(dp->json, d, (size_t)dp->part, true);
		fprintf(dp->json, ", \"hidden\": %s, \"required\": %s, \"active\": %s",
			tf(d->style == DS_GPT ? p->kind != PK_BASIC : false),
			tf(d->style == DS_GPT && (p->ent.attrs & 1)),
			tf(d->style == DS_MBR && (p->mbr_status & 0x80)));
		volumes_on(dp, d->slot, dp->part);
		fprintf(dp->json, "}\n");
		return DP_OK;
	}
	printf("\nPartition %ld\n", dp->part + 1);
	if (d->style == DS_GPT) {
		char g[GUID_STR_LEN + 1];
		guid_to_str(&p->ent.type, g);
		printf("Type    : %s\n", g);
		printf("Hidden  : %s\n", p->kind == PK_BASIC ? "No" : "Yes");
		printf("Required: %s\n", (p->ent.attrs & 1) ? "Yes" : "No");
		printf("Attrib  : 0X%016" PRIX64 "\n", p->ent.attrs);
	} else {
		printf("Type  : %02X\n", p->mbr_type);
		printf("Hidden: No\n");
		printf("Active: %s\n", (p->mbr_status & 0x80) ? "Yes" : "No");
	}
	printf("Offset in Bytes: %" PRIu64 "\n", part_offset(d, p));
	volumes_on(dp, d->slot, dp->part);
	return DP_OK;
}

/* The disks a volume lies on, then its properties, as Windows prints them. */
static void volume_props(struct dp *dp, const struct vline *l, bool no_default_letter)
{
	char cap[16];

	if (dp->json) {
		fprintf(dp->json, "], \"volume\": ");
		vline_json(dp->json, l);
		fprintf(dp->json, ", \"read_only\": false, \"hidden\": false, "
				  "\"no_default_drive_letter\": %s, \"capacity_bytes\": %" PRIu64,
			tf(no_default_letter), l->size);
		if (l->rebuild_pct >= 0)
			fprintf(dp->json, ", \"rebuild_percent\": %d", l->rebuild_pct);
		fprintf(dp->json, "}\n");
		return;
	}
	/* Server 2003's diskpart lists only the disks (the KB's detail
	 * volume); the properties came with later Windows. */
	if (dp->m->profile == PROFILE_2003) {
		if (l->rebuild_pct >= 0)
			printf("\nRebuild                : %5d %%\n", l->rebuild_pct);
		return;
	}
	dsize(dp, l->size, cap, sizeof(cap));
	printf("\nRead-only              : No\n"
	       "Hidden                 : No\n"
	       "No Default Drive Letter: %s\n"
	       "Shadow Copies          : No\n"
	       "Offline                : No\n"
	       "BitLocker Encrypted    : No\n"
	       "Installable            : No\n\n"
	       "Volume Capacity        : %7s\n",
	       no_default_letter ? "Yes" : "No", cap);
	/* How far a rebuild is (Disk Management shows it as "Resynching (N%)"). */
	if (l->rebuild_pct >= 0)
		printf("Rebuild                : %5d %%\n", l->rebuild_pct);
}

static void detail_start(struct dp *dp)
{
	if (dp->json)
		fprintf(dp->json, "{\"detail\": \"volume\", \"disks\": [");
	else {
		putchar('\n');
		disk_header();
	}
}

static int detail_ldm_volume(struct dp *dp, const struct ldm_volume *v, int num)
{
	int shown[16] = {0}, k = 0;
	struct rows r = {dp, NULL, 0};
	struct vline vl;

	detail_start(dp);
	for (size_t p = 0; p < v->nplex; p++)
		for (size_t e = 0; e < v->plex[p].n; e++) {
			int s = v->plex[p].ext[e].slot;
			if (s >= 0 && s < 16 && !shown[s] && machine_disk(dp->m, s)) {
				struct dline l;
				shown[s] = 1;
				dline_of(dp, machine_disk(dp->m, s), &l);
				rows_disk(&r, &l);
			}
		}
	/* The missing disks this volume has extents on (no selection mark). */
	for (size_t g = 0; dpv(dp) && g < dpv(dp)->ngroups; g++)
		for (size_t i = 0; i < dpv(dp)->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dpv(dp)->groups[g].disks[i];
			if (x->slot >= 0)
				continue;
			bool mine = false;
			for (size_t p = 0; p < v->nplex; p++)
				for (size_t e = 0; e < v->plex[p].n; e++)
					mine |= v->plex[p].ext[e].rec->u.part.disk == x->rec->id;
			struct dline l;
			dline_missing(k, x, false, &l);
			k++;
			if (mine)
				rows_disk(&r, &l);
		}
	vline_ldm(dp, v, num, true, &vl);
	volume_props(dp, &vl, false);
	return DP_OK;
}

static int detail_volume(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	struct rows r = {dp, NULL, 0};
	struct dline dl;
	struct vline vl;

	if (dp->ldm_sel >= 0 && ldm_at(dp, (size_t)dp->ldm_sel))
		return detail_ldm_volume(dp, ldm_at(dp, (size_t)dp->ldm_sel),
					 vol_num_ldm(dp, (size_t)dp->ldm_sel));
	if (dp->cdrom_sel) {
		/* No media: no disk under it, nothing to size. */
		if (dp->json)
			detail_start(dp);
		else
			say("There are no disks attached to this volume.");
		vline_cdrom(dp, &vl);
		volume_props(dp, &vl, false);
		return DP_OK;
	}
	if (cur < 0)
		return no_focus("volume");
	detail_start(dp);
	dline_of(dp, machine_disk(dp->m, v[cur].slot), &dl);
	rows_disk(&r, &dl);
	vline_basic(dp, &v[cur], vol_num_basic(dp, &v[cur]), true, &vl);
	volume_props(dp, &vl, v[cur].system);
	return DP_OK;
}

int cmd_detail(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("DETAIL");
	poll_rebuild(dp);
	switch (k) {
	case 0:
		return detail_disk(dp);
	case 1:
		return detail_partition(dp);
	default:
		return detail_volume(dp);
	}
}
