/* dp_change.c - the diskpart commands that change disks, each through one
 * engine verb (src/engine/verbs.h). */
#include "diskpart.h"

/* --- changes ------------------------------------------------------------ */

static int save_conf(struct dp *dp)
{
	struct gm_err err;

	if (machine_save(dp->m, &err) < 0)
		return engine_error(&err);
	return DP_OK;
}

int cmd_convert(struct dp *dp, int n, struct tok *t)
{
	static const char *const kinds[] = {"gpt", "mbr", "dynamic", "basic", NULL};
	static const enum convert_to to[] = {CONVERT_GPT, CONVERT_MBR, CONVERT_DYNAMIC,
					     CONVERT_BASIC};
	static const char *const word[] = {"GPT", "MBR", "dynamic", "basic"};
	int k = n == 1 ? match_kw(t[0].key, kinds) : -1;
	struct disk *d = sel_disk(dp);
	struct convert_result r;
	struct gm_err err;

	if (k < 0 || t[0].val)
		return bad_args("CONVERT");
	if (!d)
		return no_focus("disk");
	if (machine_convert(dp->m, d->slot, to[k], &r, &err) < 0) {
		if (err.code == GM_E_ALREADY_DYNAMIC || err.code == GM_E_ALREADY_BASIC) {
			say("Virtual Disk Service error:\n%s", err.detail);
			return DP_SERVICE;
		}
		return engine_error(&err);
	}
	if (r.deferred) {
		say("You must reboot your computer to complete this operation.");
		return DP_OK;
	}
	if (k >= 2)
		ldm_rescan(dp);
	dp->part = -1;
	if (k < 2)
		dp->has_vol = false;
	say("DiskPart successfully converted the selected disk to %s format.", word[k]);
	return save_conf(dp);
}

int cmd_clean(struct dp *dp, int n, struct tok *t)
{
	struct disk *d = sel_disk(dp);
	struct gm_err err;

	(void)t;
	if (n != 0)
		return bad_args("CLEAN");
	if (!d)
		return no_focus("disk");
	int slot = d->slot;
	if (machine_clean(dp->m, slot, &err) < 0)
		return engine_error(&err);
	dp->part = -1;
	if (dp->has_vol && dp->vol_slot == slot)
		dp->has_vol = false;
	say("DiskPart succeeded in cleaning the disk.");
	return save_conf(dp);
}

int cmd_create(struct dp *dp, int n, struct tok *t)
{
	static const char *const what[] = {"partition", "volume", NULL};
	static const char *const kinds[] = {"efi", "msr", "primary", "extended",
					    "logical", NULL};
	struct param ps[] = {{"size", true, false, NULL},
			     {"offset", true, false, NULL},
			     {"id", true, false, NULL},
			     {"align", true, false, NULL},
			     {NULL, false, false, NULL}};
	struct create_req req = {0};
	struct disk *d = sel_disk(dp);
	struct gm_err err;
	size_t pos;
	int k;

	if (n < 1 || match_kw(t[0].key, what) != 0) {
		say("\nPARTITION   - Create a partition.");
		return bad_args("CREATE");
	}
	k = n >= 2 ? match_kw(t[1].key, kinds) : -1;
	const char *topic = k == 0   ? "CREATE PARTITION EFI"
			    : k == 1 ? "CREATE PARTITION MSR"
			    : k == 2 ? "CREATE PARTITION PRIMARY"
				     : "CREATE PARTITION";
	if (k < 0 || t[1].val || parse_params(n - 2, t + 2, ps) < 0)
		return bad_args(topic);
	if (k >= 3) {
		say("DiskPart has encountered an error: extended and logical "
		    "partitions are not supported by gptmirror.");
		return DP_SERVICE;
	}
	req.kind = k == 0 ? PK_ESP : k == 1 ? PK_MSR : PK_BASIC;
	if (ps[0].present && (!parse_num(ps[0].value, &req.size_mb) ||
			      req.size_mb == 0))
		return bad_args(topic);
	if (ps[1].present) {
		if (!parse_num(ps[1].value, &req.offset_kb))
			return bad_args(topic);
		req.has_offset = true;
	}
	if (ps[2].present) {
		if (k != 2)
			return bad_args(topic);
		req.has_type = true;
		if (guid_from_str(ps[2].value, &req.type) < 0) {
			char *end;
			unsigned long b = strtoul(ps[2].value, &end, 16);
			if (*end || b == 0 || b > 0xff || (d && d->style == DS_GPT))
				return bad_args(topic);
			req.mbr_type = (uint8_t)b;
		} else if (d && d->style == DS_MBR) {
			return bad_args(topic);
		}
	}
	if (ps[3].present) {
		uint64_t a;
		if (!parse_num(ps[3].value, &a))
			return bad_args(topic);
	}
	if (!d)
		return no_focus("disk");
	if (machine_create_part(dp->m, d->slot, &req, &pos, &err) < 0)
		return engine_error(&err);
	dp->part = (long)pos;
	focus_volume_of_part(dp);
	say("DiskPart succeeded in creating the specified partition.");
	return save_conf(dp);
}

/* The volume in focus as the engine names it: a dynamic volume, or a basic
 * volume's partition; -1 when none is in focus. */
static int focus_target(struct dp *dp, struct vol_target *tg)
{
	struct volume v[MAX_VOLS];

	memset(tg, 0, sizeof(*tg));
	if (dp->ldm_sel >= 0 && ldm_at(dp, (size_t)dp->ldm_sel)) {
		tg->kind = VOLT_DYNAMIC;
		tg->index = (size_t)dp->ldm_sel;
		return 0;
	}
	int nv = volumes(dp, v), cur = sel_vol(dp, v, nv);
	if (cur < 0)
		return -1;
	tg->kind = VOLT_PART;
	tg->slot = v[cur].slot;
	tg->pos = v[cur].part;
	return 0;
}

int cmd_delete(struct dp *dp, int n, struct tok *t)
{
	static const char *const what[] = {"partition", "disk", "volume", NULL};
	struct param ps[] = {{"override", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct disk *d = sel_disk(dp);
	struct part *p = sel_part(dp);
	struct gm_err err;
	char key[64];
	int k = n >= 1 ? match_kw(t[0].key, what) : -1;

	if (k < 0 || t[0].val || parse_params(n - 1, t + 1, ps) < 0)
		return bad_args("DELETE");
	if (k == 1) {
		/* delete disk: only a missing dynamic disk. */
		if (dp->missing < 0) {
			if (!d)
				return no_focus("disk");
			say("Virtual Disk Service error:\nThe disk is not missing.");
			return DP_SERVICE;
		}
		const struct ldm_gdisk *x = missing_at(dp, dp->missing);
		if (!x)
			return no_focus("disk");
		if (machine_delete_missing(dp->m, x->rec->id, ps[0].present, &err) < 0)
			return engine_error(&err);
		ldm_rescan(dp);
		dp->missing = -1;
		say("DiskPart successfully deleted the missing disk.");
		return save_conf(dp);
	}
	if (k == 2) {
		struct vol_target tg;
		if (focus_target(dp, &tg) < 0)
			return no_focus_vol(dp);
		int rc = volume_delete(dp->m, &tg, &err);
		if (tg.kind == VOLT_DYNAMIC)
			ldm_rescan(dp);
		if (rc < 0)
			return engine_error(&err);
		dp->ldm_sel = -1;
		dp->has_vol = false;
		dp->part = -1;
		say("DiskPart successfully deleted the volume.");
		return save_conf(dp);
	}
	if (!d)
		return no_focus("disk");
	if (!p)
		return no_focus("partition");
	part_key(d, p, key, sizeof(key));
	if (machine_delete_part(dp->m, d->slot, (size_t)dp->part, ps[0].present, &err) < 0)
		return engine_error(&err);
	dp->part = -1;
	if (dp->has_vol && strcmp(dp->vol_key, key) == 0)
		dp->has_vol = false;
	say("DiskPart successfully deleted the selected partition.");
	return save_conf(dp);
}

/* The partition assign/remove act on: the focused partition, or else the
 * focused volume's. */
static int target_part(struct dp *dp, int *slot, size_t *pos)
{
	struct volume v[MAX_VOLS];

	if (sel_part(dp)) {
		*slot = dp->disk;
		*pos = (size_t)dp->part;
		return 0;
	}
	int n = volumes(dp, v), cur = sel_vol(dp, v, n);
	if (cur < 0)
		return -1;
	*slot = v[cur].slot;
	*pos = v[cur].part;
	return 0;
}

static bool letter_arg(const char *s, char *out)
{
	if (!s || !isalpha((unsigned char)s[0]) ||
	    !(s[1] == '\0' || (s[1] == ':' && s[2] == '\0')))
		return false;
	*out = (char)toupper((unsigned char)s[0]);
	return *out >= 'C';
}

int cmd_assign(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"letter", true, false, NULL},
			     {"mount", true, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	char l = 0;
	int slot;
	size_t pos;

	if (parse_params(n, t, ps) < 0 ||
	    (ps[0].present && !letter_arg(ps[0].value, &l)))
		return bad_args("ASSIGN");
	if (ps[1].present) {
		say("DiskPart has encountered an error: mount points are not "
		    "supported on machine images.");
		return DP_SERVICE;
	}
	if (target_part(dp, &slot, &pos) < 0)
		return no_focus_vol(dp);
	if (machine_assign(dp->m, slot, pos, l, NULL, &err) < 0) {
		if (err.code == GM_E_NOT_SUPPORTED || err.code == GM_E_NO_LETTER) {
			say("Virtual Disk Service error:\n%s", err.detail);
			return DP_SERVICE;
		}
		return engine_error(&err);
	}
	if (dp->part >= 0 && dp->disk == slot)
		focus_volume_of_part(dp);
	say("DiskPart successfully assigned the drive letter or mount point.");
	return save_conf(dp);
}

int cmd_remove(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"letter", true, false, NULL},
			     {"mount", true, false, NULL},
			     {"all", false, false, NULL},
			     {"dismount", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	char l = 0;
	int slot;
	size_t pos;

	if (parse_params(n, t, ps) < 0 ||
	    (ps[0].present && !letter_arg(ps[0].value, &l)) || ps[1].present)
		return bad_args("REMOVE");
	if (target_part(dp, &slot, &pos) < 0)
		return no_focus_vol(dp);
	if (machine_unassign(dp->m, slot, pos, l, &err) < 0) {
		if (err.code == GM_E_NO_LETTER) {
			say("Virtual Disk Service error:\n%s", err.detail);
			return DP_SERVICE;
		}
		return engine_error(&err);
	}
	/* A 2003 ESP stops being a volume when its letter goes. */
	if (dp->part >= 0)
		focus_volume_of_part(dp);
	say("DiskPart successfully removed the drive letter or mount point.");
	return save_conf(dp);
}

int cmd_format(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"fs", true, false, NULL},
			     {"label", true, false, NULL},
			     {"unit", true, false, NULL},
			     {"quick", false, false, NULL},
			     {"override", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	enum fat_type kind = FAT32;
	bool ntfs = false;
	uint64_t unit = 0;
	char label[12] = "";

	if (parse_params(n, t, ps) < 0)
		return bad_args("FORMAT");
	if (ps[0].present) {
		if (strcasecmp(ps[0].value, "fat") == 0)
			kind = FAT16;
		else if (strcasecmp(ps[0].value, "fat32") == 0)
			kind = FAT32;
		else if (strcasecmp(ps[0].value, "ntfs") == 0)
			ntfs = true;
		else {
			say("Virtual Disk Service error:\nThe file system is not "
			    "supported: gptmirror formats FAT, FAT32 and NTFS.");
			return DP_SERVICE;
		}
	}
	if (ps[1].present) {
		size_t len = strlen(ps[1].value);
		if (len > 11)
			return bad_args("FORMAT");
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)toupper((unsigned char)ps[1].value[i]);
			if (c < 0x20 || c > 0x7e || strchr("\"*+,./:;<=>?[\\]|", c))
				return bad_args("FORMAT");
			label[i] = (char)c;
		}
	}
	if (ps[2].present && (parse_size(ps[2].value, &unit) < 0 || unit > 65536))
		return bad_args("FORMAT");
	struct format_req req = {.kind = kind, .ntfs = ntfs, .unit = (uint32_t)unit, .label = label,
				 .quick = ps[3].present};
	struct format_result res;
	struct vol_target tg;
	int keep = dp->ldm_sel;
	/* A dynamic volume goes through the mirror, every plex written. */
	if (focus_target(dp, &tg) < 0)
		return no_focus_vol(dp);
	int rc = volume_format(dp->m, &tg, &req, &res, &err);
	if (tg.kind == VOLT_DYNAMIC) {
		ldm_rescan(dp);
		dp->ldm_sel = keep;
	}
	if (rc < 0) {
		if (err.code == GM_E_ARGS)
			return service_error("The volume size is not valid for the "
					     "file system.", &err);
		return engine_error(&err);
	}
	say("  100 percent completed\n\nDiskPart successfully formatted the volume.");
	return save_conf(dp);
}

int cmd_add(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"disk", true, false, NULL},
			     {"align", true, false, NULL},
			     {"wait", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	uint64_t target;

	if (parse_params(n, t, ps) < 0 || !ps[0].present || !parse_num(ps[0].value, &target) ||
	    target >= GM_MAX_SLOTS)
		return bad_args("ADD");
	if (dp->ldm_sel < 0) {
		if (dp->has_vol) {
			say("Virtual Disk Service error:\nThe volume is not a simple dynamic "
			    "volume: convert its disk to dynamic first.");
			return DP_SERVICE;
		}
		return no_focus_vol(dp);
	}
	const struct ldm_volume *v = ldm_at(dp, (size_t)dp->ldm_sel);
	if (!v)
		return no_focus_vol(dp);
	/* Asked for a state: a mirror with a plex on that disk already is one. */
	if (v->kind == LK_MIRROR && v->nplex > 1 && ldm_plex_on_slot(v, (int)target) >= 0) {
		bool rb = ldm_plex_rebuilding(&v->plex[ldm_plex_on_slot(v, (int)target)]);
		say("INFO: The volume is already mirrored on disk %" PRIu64 "%s; nothing was changed.",
		    target, rb ? " (Rebuild: volume resync or machine reboot completes it)" : "");
		return DP_OK;
	}
	struct mirror_result r;
	int keep = dp->ldm_sel;
	/* As on Windows, the copy goes on in the background (list volume shows
	 * Rebuild); wait, or GPTMIRROR_REBUILD=wait, copies here. */
	bool wait = ps[2].present || cli_env->rebuild_wait;
	int rc = volume_add_mirror(dp->m, (size_t)dp->ldm_sel, (int)target, wait,
				   isatty(STDERR_FILENO) ? cli_progress : NULL, NULL, &r, &err);
	ldm_rescan(dp);
	dp->ldm_sel = keep;
	if (rc < 0) {
		if (err.code == GM_E_NOT_SUPPORTED)
			return service_error("The volume is not a simple volume.", &err);
		return engine_error(&err);
	}
	if (r.boot_entry_failed)
		say("The service did not update the boot file.");
	say("DiskPart succeeded in adding a mirror to the volume.");
	return save_conf(dp);
}

int cmd_break(struct dp *dp, int n, struct tok *t)
{
	struct param ps[] = {{"disk", true, false, NULL},
			     {"nokeep", false, false, NULL},
			     {"noerr", false, false, NULL},
			     {NULL, false, false, NULL}};
	struct gm_err err;
	uint64_t num;
	uint32_t disk_id = 0;

	if (parse_params(n, t, ps) < 0 || !ps[0].present)
		return bad_args("BREAK");
	if (dp->ldm_sel < 0)
		return no_focus_vol(dp);
	const struct ldm_volume *v = ldm_at(dp, (size_t)dp->ldm_sel);
	const char *a = ps[0].value;
	if ((a[0] == 'm' || a[0] == 'M') && parse_num(a + 1, &num)) {
		const struct ldm_gdisk *x = num <= 64 ? missing_at(dp, (int)num) : NULL;
		if (!x)
			return bad_args("BREAK");
		disk_id = x->rec->id;
	} else if (parse_num(a, &num) && num < 16) {
		disk_id = ldm_disk_id_of_slot(dpv(dp), (int)num);
	}
	if (!v || !disk_id) {
		say("The disk you specified is not valid.");
		return DP_ARGS;
	}
	struct break_result r;
	int was = dp->ldm_sel;
	int rc = volume_break(dp->m, (size_t)dp->ldm_sel, disk_id, !ps[1].present, &r, &err);
	ldm_rescan(dp);
	dp->ldm_sel = was;
	if (rc < 0)
		return engine_error(&err);
	if (r.new_index >= 0)
		dp->ldm_sel = (int)r.new_index; /* the new simple volume has focus */
	/* Windows tries to retarget the boot entries of the boot volume's
	 * plexes and says when it did not. */
	if (r.boot_volume)
		say("The service did not update the boot file.");
	say("DiskPart successfully broke the mirror volume.");
	return save_conf(dp);
}

int cmd_rescan(struct dp *dp, int n, struct tok *t)
{
	struct gm_err err;

	(void)t;
	if (n != 0)
		return bad_args("RESCAN");
	say("Please wait while DiskPart scans your configuration...");
	machine_rescan(dp->m, &err);
	ldm_rescan(dp);
	if (dp->disk >= 0 && !machine_disk(dp->m, dp->disk))
		dp->disk = -1;
	dp->part = -1;
	say("DiskPart has finished scanning your configuration.");
	return DP_OK;
}

int cmd_rem(struct dp *dp, int n, struct tok *t)
{
	(void)dp;
	(void)n;
	(void)t;
	return DP_OK;
}

int cmd_exit(struct dp *dp, int n, struct tok *t)
{
	(void)n;
	(void)t;
	say("Leaving DiskPart...");
	dp->quit = true;
	return DP_OK;
}
