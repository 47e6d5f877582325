/* dp_show.c - diskpart list, select and detail: they read, never write. */
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

/* --- listings ----------------------------------------------------------- */

static void disk_header(void)
{
	row("  Disk ###  Status         Size     Free     Dyn  Gpt");
	row("  --------  -------------  -------  -------  ---  ---");
}

static void disk_row(struct dp *dp, const struct disk *d)
{
	char name[32], sz[16], fr[16];

	snprintf(name, sizeof(name), "Disk %d", d->slot);
	dsize(dp, d->dev->size, sz, sizeof(sz));
	dsize(dp, d->style == DS_GPT || d->style == DS_MBR || d->style == DS_RAW
			  ? disk_free_bytes(d)
			  : 0,
	      fr, sizeof(fr));
	bool dyn = dpv(dp) && d->slot < 16 && dpv(dp)->slot_group[d->slot] >= 0;
	if (dyn) {
		/* Free space of a dynamic disk: its public region less extents. */
		const struct ldm_group *g = &dpv(dp)->groups[dpv(dp)->slot_group[d->slot]];
		for (size_t i = 0; i < g->ndisks; i++)
			if (g->disks[i].slot == d->slot) {
				uint64_t pub = g->disks[i].ph.public_size, used = g->disks[i].used;
				dsize(dp, (pub > used ? pub - used : 0) * 512, fr, sizeof(fr));
			}
	}
	row("%c %-8s  %-13s  %7s  %7s  %3s  %3s", dp->disk == d->slot ? '*' : ' ',
	    name, disk_status(d), sz, fr, dyn ? " * " : "", d->style == DS_GPT ? " * " : "");
}

/* Dynamic disks the databases know but that are not here: M0, M1, ... */
static void missing_rows(struct dp *dp)
{
	int k = 0;

	for (size_t g = 0; dpv(dp) && g < dpv(dp)->ngroups; g++)
		for (size_t i = 0; i < dpv(dp)->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dpv(dp)->groups[g].disks[i];
			char name[32], sz[16], fr[16];
			if (x->slot >= 0)
				continue;
			bool star = dp->missing == k;
			snprintf(name, sizeof(name), "Disk M%d", k++);
			dsize(dp, x->used * 512, sz, sizeof(sz));
			dsize(dp, 0, fr, sizeof(fr));
			row("%c %-8s  %-13s  %7s  %7s  %3s", star ? '*' : ' ', name, "Missing", sz,
			    fr, " * ");
		}
}

static void vol_header(void)
{
	row("  Volume ###  Ltr  Label        Fs     Type        Size     Status     Info");
	row("  ----------  ---  -----------  -----  ----------  -------  ---------  --------");
}

/* Volumes are numbered as Windows lists them: dynamic volumes first, then
 * the basic partitions that are volumes. */
static void vol_row(struct dp *dp, const struct volume *v, int num, bool star)
{
	struct disk *d = machine_disk(dp->m, v->slot);
	const struct part *p = &d->parts[v->part];
	uint8_t sec[4096];
	struct fs_probe fs = {0};
	char name[16], ltr[4], sz[16];

	if (blk_read(d->dev, part_offset(d, p), sec, d->ss) == 0)
		fs_probe(sec, d->ss, &fs);
	snprintf(name, sizeof(name), "Volume %d", num);
	snprintf(ltr, sizeof(ltr), " %c ", v->letter ? v->letter : ' ');
	dsize(dp, v->size, sz, sizeof(sz));
	row("%c %-10s  %-3s  %-11.11s  %-5s  %-10s  %7s  %-9s  %-8s",
	    star ? '*' : ' ', name, ltr, fs.label, fs_kind_str(fs.kind),
	    "Partition", sz, "Healthy", v->system ? "System" : v->letter == 'C' ? "Boot" : "");
}

static int list_disk(struct dp *dp)
{
	putchar('\n');
	disk_header();
	for (int i = 0; i < dp->m->nslots; i++) {
		struct disk *d = machine_disk(dp->m, i);
		if (d)
			disk_row(dp, d);
	}
	missing_rows(dp);
	return DP_OK;
}

static int list_partition(struct dp *dp)
{
	struct disk *d = sel_disk(dp);

	if (!d)
		return no_focus("disk");
	if (d->style == DS_UNREADABLE || d->style == DS_INVALID) {
		struct gm_err err;
		disk_check_writable(d, &err);
		return engine_error(&err);
	}
	if ((d->style != DS_GPT && d->style != DS_MBR) || d->nparts == 0) {
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

static void ldm_row(struct dp *dp, const struct ldm_volume *v, int num, bool star)
{
	uint8_t sec[512];
	struct fs_probe fs = {0};
	struct gm_err err;
	char name[16], ltr[4], sz[16];
	char l = ldm_volume_letter(v);

	if (v->health != LH_FAILED && ldm_vol_read(dp->m, v, 0, 1, sec, &err) == 0)
		fs_probe(sec, sizeof(sec), &fs);
	snprintf(name, sizeof(name), "Volume %d", num);
	snprintf(ltr, sizeof(ltr), " %c ", l ? l : ' ');
	dsize(dp, v->sectors * 512, sz, sizeof(sz));
	const char *status = ldm_status_str(v);
	row("%c %-10s  %-3s  %-11.11s  %-5s  %-10s  %7s  %-9s  %-8s", star ? '*' : ' ', name,
	    ltr, fs.label, fs_kind_str(fs.kind), ldm_kind_str(v->kind), sz, status,
	    l == 'C' ? "Boot" : "");
}

static int list_volume(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = dp->ldm_sel >= 0 ? -1 : sel_vol(dp, v, n);
	size_t nl = ldm_count(dp);

	if (n == 0 && nl == 0) {
		say("There are no volumes.");
		return DP_OK;
	}
	putchar('\n');
	vol_header();
	for (size_t i = 0; i < nl; i++)
		ldm_row(dp, ldm_at(dp, i), (int)i, dp->ldm_sel == (int)i);
	for (int i = 0; i < n; i++)
		vol_row(dp, &v[i], (int)nl + i, i == cur);
	return DP_OK;
}

static const char *const objects[] = {"disk", "partition", "volume", NULL};

int cmd_list(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("LIST");
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
		if (dp->ldm_sel >= 0)
			say("Volume %d is the selected volume.", dp->ldm_sel);
		else if (cur < 0)
			say("There is no volume selected.");
		else
			say("Volume %d is the selected volume.", (int)ldm_count(dp) + cur);
		return DP_OK;
	}
	size_t nl = ldm_count(dp);
	int found = -1;
	bool is_letter = isalpha((unsigned char)arg[0]) &&
			 (arg[1] == '\0' || (arg[1] == ':' && arg[2] == '\0'));
	if (parse_num(arg, &num)) {
		if (num < (uint64_t)nl)
			found = (int)num;
		else if (num - nl < (uint64_t)n)
			hit = (int)(num - nl);
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
			say("Volume %d is the selected volume.", found);
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
	say("Volume %d is the selected volume.", (int)nl + hit);
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

static void volumes_on(struct dp *dp, int slot, long part)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), shown = 0, cur = sel_vol(dp, v, n);

	for (int i = 0; i < n; i++) {
		if (v[i].slot != slot || (part >= 0 && (long)v[i].part != part))
			continue;
		if (!shown++) {
			putchar('\n');
			vol_header();
		}
		vol_row(dp, &v[i], (int)ldm_count(dp) + i, i == cur);
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
		if (!shown++) {
			putchar('\n');
			vol_header();
		}
		ldm_row(dp, lv, (int)i, dp->ldm_sel == (int)i);
	}
	if (!shown)
		printf("\nThere %s.\n", part >= 0
			   ? "is no volume associated with this partition"
			   : "are no volumes");
}

static int detail_disk(struct dp *dp)
{
	struct disk *d = sel_disk(dp);
	char id[40];

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
	printf("\ngptmirror Virtual Disk (%s)\n", dp->m->slots[d->slot].image);
	printf("Disk ID: %s\n", id);
	printf("Type   : File Backed Virtual\n");
	printf("Status : %s\n", disk_status(d));
	printf("Path   : 0\nTarget : %d\nLUN ID : 0\n", d->slot);
	printf("Location Path : SLOT(%d)#IMAGE(%s)\n", d->slot,
	       dp->m->slots[d->slot].image);
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

static int detail_ldm_volume(struct dp *dp, const struct ldm_volume *v)
{
	char cap[16];
	int shown[16] = {0}, k = 0;

	putchar('\n');
	disk_header();
	for (size_t p = 0; p < v->nplex; p++)
		for (size_t e = 0; e < v->plex[p].n; e++) {
			int s = v->plex[p].ext[e].slot;
			if (s >= 0 && s < 16 && !shown[s] && machine_disk(dp->m, s)) {
				shown[s] = 1;
				disk_row(dp, machine_disk(dp->m, s));
			}
		}
	/* The missing disks this volume has extents on. */
	for (size_t g = 0; dpv(dp) && g < dpv(dp)->ngroups; g++)
		for (size_t i = 0; i < dpv(dp)->groups[g].ndisks; i++) {
			const struct ldm_gdisk *x = &dpv(dp)->groups[g].disks[i];
			if (x->slot >= 0)
				continue;
			bool mine = false;
			for (size_t p = 0; p < v->nplex; p++)
				for (size_t e = 0; e < v->plex[p].n; e++)
					mine |= v->plex[p].ext[e].rec->u.part.disk == x->rec->id;
			char name[32], sz[16];
			snprintf(name, sizeof(name), "Disk M%d", k);
			k++;
			if (!mine)
				continue;
			dsize(dp, x->used * 512, sz, sizeof(sz));
			row("  %-8s  %-13s  %7s  %7s  %3s", name, "Missing", sz, "0 B", " * ");
		}
	dsize(dp, v->sectors * 512, cap, sizeof(cap));
	printf("\nRead-only              : No\n"
	       "Hidden                 : No\n"
	       "No Default Drive Letter: No\n"
	       "Shadow Copies          : No\n"
	       "Offline                : No\n"
	       "BitLocker Encrypted    : No\n"
	       "Installable            : No\n\n"
	       "Volume Capacity        : %7s\n", cap);
	return DP_OK;
}

static int detail_volume(struct dp *dp)
{
	struct volume v[MAX_VOLS];
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	char cap[16];

	if (dp->ldm_sel >= 0 && ldm_at(dp, (size_t)dp->ldm_sel))
		return detail_ldm_volume(dp, ldm_at(dp, (size_t)dp->ldm_sel));

	if (cur < 0)
		return no_focus("volume");
	struct disk *d = machine_disk(dp->m, v[cur].slot);
	putchar('\n');
	disk_header();
	disk_row(dp, d);
	dsize(dp, v[cur].size, cap, sizeof(cap));
	printf("\nRead-only              : No\n"
	       "Hidden                 : No\n"
	       "No Default Drive Letter: %s\n"
	       "Shadow Copies          : No\n"
	       "Offline                : No\n"
	       "BitLocker Encrypted    : No\n"
	       "Installable            : No\n\n"
	       "Volume Capacity        : %7s\n",
	       v[cur].system ? "Yes" : "No", cap);
	return DP_OK;
}

int cmd_detail(struct dp *dp, int n, struct tok *t)
{
	int k = n == 1 ? match_kw(t[0].key, objects) : -1;

	if (k < 0 || t[0].val)
		return bad_args("DETAIL");
	switch (k) {
	case 0:
		return detail_disk(dp);
	case 1:
		return detail_partition(dp);
	default:
		return detail_volume(dp);
	}
}
