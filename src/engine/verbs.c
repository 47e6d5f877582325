/* verbs.c - the changes front ends ask of a machine (see verbs.h). */
#include "verbs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "ldm_dev.h"
#include "machine.h"
#include "rebuild.h"
#include "ntfsvol.h"

/* Every verb ends here: the view re-read, machine.conf saved. */
static int settle(struct machine *m, int rc, struct gm_err *err)
{
	struct gm_err e2;

	machine_rescan(m, &e2);
	if (rc < 0)
		return rc;
	return machine_save(m, err);
}

size_t ldm_volume_count(const struct ldm_view *v)
{
	size_t n = 0;

	for (size_t g = 0; v && g < v->ngroups; g++)
		n += v->groups[g].nvols;
	return n;
}

const struct ldm_volume *ldm_volume_at(const struct ldm_view *v, size_t i)
{
	for (size_t g = 0; v && g < v->ngroups; g++) {
		if (i < v->groups[g].nvols)
			return &v->groups[g].vols[i];
		i -= v->groups[g].nvols;
	}
	return NULL;
}

char ldm_volume_letter(const struct ldm_volume *v)
{
	const char *h = v->rec->u.vol.hint;

	return h[0] && h[1] == ':' ? (char)toupper((unsigned char)h[0]) : 0;
}

static bool is_dynamic(struct machine *m, int slot)
{
	const struct ldm_view *v = machine_ldm(m);

	return v && slot >= 0 && slot < 16 && v->slot_group[slot] >= 0;
}

/* --- disks ---------------------------------------------------------------- */

/* The letter keys of a disk's partitions, taken before a change that
 * removes them all, and dropped once it succeeded. */
struct keylist {
	char (*k)[64];
	size_t n;
};

static int keys_of_disk(const struct disk *d, struct keylist *kl, struct gm_err *err)
{
	kl->n = 0;
	kl->k = d->nparts ? calloc(d->nparts, sizeof(*kl->k)) : NULL;
	if (d->nparts && !kl->k)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	for (size_t i = 0; i < d->nparts; i++)
		part_key(d, &d->parts[i], kl->k[kl->n++], sizeof(kl->k[0]));
	return 0;
}

static void drop_keys(struct machine *m, struct keylist *kl, bool drop)
{
	for (size_t i = 0; drop && i < kl->n; i++)
		machine_drop_letter_key(m, kl->k[i]);
	free(kl->k);
	kl->k = NULL;
}

static struct disk *disk_of(struct machine *m, int slot, struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);

	if (!d)
		gm_fail(err, GM_E_NO_DISK, "There is no disk in slot %d.", slot);
	return d;
}

/* The disk in slot, which has a partition pos. */
static int part_of(struct machine *m, int slot, size_t pos, struct disk **d,
		   struct gm_err *err)
{
	if (!(*d = disk_of(m, slot, err)))
		return -GM_E_NO_DISK;
	if (pos >= (*d)->nparts)
		return gm_fail(err, GM_E_NO_PART, "There is no partition %zu.", pos + 1);
	return 0;
}

/* Server 2003 converts the disk of the running boot volume (C:) at the
 * next boot. */
static bool holds_boot_volume(struct machine *m, const struct disk *d)
{
	for (size_t i = 0; i < d->nparts; i++) {
		char key[64];
		part_key(d, &d->parts[i], key, sizeof(key));
		if (machine_letter_of(m, key) == 'C')
			return true;
	}
	return false;
}

/* --- the running system's volumes ------------------------------------------
 * Windows will not delete, format or clean the current boot volume (the OS
 * partition BootCurrent's OsFilePath names, or the dynamic volume whose
 * plex lies there) nor the system partition it was loaded from, nor clean
 * or convert a disk that holds one of them; override does not lift this. */

static bool extent_in_part(const struct disk *d, size_t pos, const struct ldm_extent *x)
{
	uint64_t lba = x->abs_start * 512 / d->ss;

	return lba >= d->parts[pos].first_lba && lba <= d->parts[pos].last_lba;
}

/* The dynamic volume that holds the boot partition, or NULL. */
static const struct ldm_volume *running_dynamic(struct machine *m, const struct boot_running *r)
{
	struct ldm_view *v = machine_ldm(m);
	struct disk *d = r->os_slot >= 0 ? machine_disk(m, r->os_slot) : NULL;

	for (size_t i = 0; d && v && i < ldm_volume_count(v); i++) {
		const struct ldm_volume *lv = ldm_volume_at(v, i);
		for (size_t p = 0; p < lv->nplex; p++)
			for (size_t e = 0; e < lv->plex[p].n; e++)
				if (lv->plex[p].ext[e].slot == r->os_slot &&
				    extent_in_part(d, r->os_pos, &lv->plex[p].ext[e]))
					return lv;
	}
	return NULL;
}

static bool vol_on_part(const struct ldm_volume *lv, const struct disk *d, size_t pos)
{
	for (size_t p = 0; lv && p < lv->nplex; p++)
		for (size_t e = 0; e < lv->plex[p].n; e++)
			if (lv->plex[p].ext[e].slot == d->slot && extent_in_part(d, pos, &lv->plex[p].ext[e]))
				return true;
	return false;
}

/* Partition pos of disk slot is the system partition or the boot
 * partition, or holds a plex of the boot volume lv. */
static bool part_running_in(struct machine *m, const struct boot_running *r,
			    const struct ldm_volume *lv, int slot, size_t pos)
{
	struct disk *d = machine_disk(m, slot);

	if ((r->sys_slot == slot && r->sys_pos == pos) || (r->os_slot == slot && r->os_pos == pos))
		return true;
	return d && pos < d->nparts && vol_on_part(lv, d, pos);
}

static bool part_running(struct machine *m, int slot, size_t pos)
{
	struct boot_running r;

	boot_running(m, &r);
	return part_running_in(m, &r, running_dynamic(m, &r), slot, pos);
}

static bool disk_running(struct machine *m, int slot)
{
	struct disk *d = machine_disk(m, slot);
	struct boot_running r;

	boot_running(m, &r);
	const struct ldm_volume *lv = running_dynamic(m, &r);
	for (size_t i = 0; d && i < d->nparts; i++)
		if (part_running_in(m, &r, lv, slot, i))
			return true;
	return false;
}

static bool target_running(struct machine *m, const struct vol_target *t)
{
	struct boot_running r;
	struct gm_err e;
	int slot;
	size_t pos;

	switch (t->kind) {
	case VOLT_PART:
		return part_running(m, t->slot, t->pos);
	case VOLT_DYNAMIC: {
		boot_running(m, &r);
		const struct ldm_volume *lv = running_dynamic(m, &r);
		return lv && lv == ldm_volume_at(machine_ldm(m), t->index);
	}
	case VOLT_LETTER:
		if (machine_find_letter(m, t->letter, &slot, &pos, &e) == 0)
			return part_running(m, slot, pos);
		boot_running(m, &r);
		const struct ldm_volume *lv = running_dynamic(m, &r);
		return lv && toupper((unsigned char)ldm_volume_letter(lv)) ==
				     toupper((unsigned char)t->letter);
	}
	return false;
}

static int critical(struct gm_err *err, const char *verb, bool disk)
{
	return gm_fail(err, GM_E_CRITICAL, "%s is not allowed on the %scurrent boot, system, "
		       "pagefile, crashdump or hibernation volume.", verb,
		       disk ? "disk containing the " : "");
}

int machine_convert(struct machine *m, int slot, enum convert_to to,
		    struct convert_result *r, struct gm_err *err)
{
	struct disk *d = disk_of(m, slot, err);
	struct keylist kl;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!d)
		return -GM_E_NO_DISK;
	switch (to) {
	case CONVERT_BASIC:
		if (!is_dynamic(m, slot))
			return gm_fail(err, GM_E_ALREADY_BASIC, "The disk is already basic.");
		if (disk_running(m, slot))
			return critical(err, "Convert", true);
		return settle(m, ldm_convert_basic(m, machine_ldm(m), slot, err), err);
	case CONVERT_DYNAMIC:
		if (m->profile == PROFILE_2003 && d->style == DS_GPT && !is_dynamic(m, slot) &&
		    holds_boot_volume(m, d)) {
			r->deferred = true;
			return settle(m, machine_add_pending(m, "convert-dynamic", slot, err), err);
		}
		return settle(m, ldm_convert_dynamic(m, machine_ldm(m), slot, err), err);
	case CONVERT_GPT:
	case CONVERT_MBR:
		break;
	}
	if ((rc = keys_of_disk(d, &kl, err)) < 0)
		return rc;
	if (to == CONVERT_GPT)
		rc = disk_convert_gpt(d, &m->rng, m->profile, err);
	else
		rc = disk_convert_mbr(d, &m->rng, err);
	drop_keys(m, &kl, rc == 0);
	return settle(m, rc, err);
}

int machine_clean(struct machine *m, int slot, struct gm_err *err)
{
	struct disk *d = disk_of(m, slot, err);
	struct keylist kl;
	int rc;

	if (!d)
		return -GM_E_NO_DISK;
	if (disk_running(m, slot))
		return critical(err, "Clean", true);
	if ((rc = keys_of_disk(d, &kl, err)) < 0)
		return rc;
	rc = disk_clean(d, err);
	drop_keys(m, &kl, rc == 0);
	return settle(m, rc, err);
}

/* What create partition clears at the start of a new partition, as
 * Windows does, so that an old file system's boot sectors (FAT's backup at
 * sector 6 included) do not make it look formatted. */
#define NEW_PART_CLEAR (64u << 10)

int machine_create_part(struct machine *m, int slot, const struct create_req *req,
			size_t *pos, struct gm_err *err)
{
	struct disk *d = disk_of(m, slot, err);
	int rc;

	if (!d)
		return -GM_E_NO_DISK;
	if ((rc = disk_create_part(d, &m->rng, m->profile, req, pos, err)) < 0)
		return settle(m, rc, err);
	/* The table is written first: a crash before the clear leaves a
	 * partition that still shows the old bytes, as before the change. */
	const struct part *p = &d->parts[*pos];
	uint64_t len = part_bytes(d, p) < NEW_PART_CLEAR ? part_bytes(d, p) : NEW_PART_CLEAR;
	if (blk_zero(d->dev, part_offset(d, p), len) < 0 || blk_flush(d->dev) < 0)
		rc = gm_fail(err, GM_E_IO, "cannot clear the start of the new partition");
	return settle(m, rc, err);
}

int machine_delete_part(struct machine *m, int slot, size_t pos, bool override,
			struct gm_err *err)
{
	struct disk *d;
	char key[64];
	int rc = part_of(m, slot, pos, &d, err);

	if (rc < 0)
		return rc;
	if (part_running(m, slot, pos))
		return critical(err, "Delete", false);
	part_key(d, &d->parts[pos], key, sizeof(key));
	if ((rc = disk_delete_part(d, pos, override, err)) == 0)
		machine_drop_letter_key(m, key);
	return settle(m, rc, err);
}

int machine_assign(struct machine *m, int slot, size_t pos, char letter, char *given,
		   struct gm_err *err)
{
	struct disk *d;
	char key[64];
	int prc = part_of(m, slot, pos, &d, err);

	if (prc < 0)
		return prc;
	const struct part *p = &d->parts[pos];
	if (!(p->kind == PK_BASIC || p->kind == PK_ESP || p->kind == PK_MBR_PRIMARY ||
	      p->kind == PK_RECOVERY))
		return gm_fail(err, GM_E_NOT_SUPPORTED, "The operation is not supported on %s "
			       "partitions.", p->kind == PK_MSR ? "MSR" : "these");
	for (char c = 'C'; c <= 'Z' && !letter; c++)
		if (!machine_letter_key(m, c))
			letter = c;
	if (!letter)
		return gm_fail(err, GM_E_NO_LETTER, "There are no drive letters left to assign.");
	part_key(d, p, key, sizeof(key));
	int rc = machine_set_letter(m, letter, key, err);
	if (rc == 0 && given)
		*given = letter;
	return settle(m, rc, err);
}

int machine_unassign(struct machine *m, int slot, size_t pos, char letter,
		     struct gm_err *err)
{
	struct disk *d;
	char key[64];
	int prc = part_of(m, slot, pos, &d, err);

	if (prc < 0)
		return prc;
	part_key(d, &d->parts[pos], key, sizeof(key));
	char have = machine_letter_of(m, key);
	if (!have || (letter && letter != have))
		return gm_fail(err, GM_E_NO_LETTER, "The drive letter or mount point is not "
			       "assigned to the selected volume.");
	machine_drop_letter_key(m, key);
	return settle(m, 0, err);
}

/* --- volumes -------------------------------------------------------------- */

static int open_target(struct machine *m, const struct vol_target *t, struct vol_handle *h,
		       struct gm_err *err)
{
	struct disk *d;
	int rc;

	switch (t->kind) {
	case VOLT_LETTER:
		return vol_open_letter(m, t->letter, h, err);
	case VOLT_DYNAMIC: {
		const struct ldm_volume *lv = ldm_volume_at(machine_ldm(m), t->index);
		if (!lv)
			return gm_fail(err, GM_E_NO_VOLUME, "There is no dynamic volume %zu.",
				       t->index);
		return vol_open_ldm(m, lv, h, err);
	}
	case VOLT_PART:
		break;
	}
	memset(h, 0, sizeof(*h));
	if (!(d = disk_of(m, t->slot, err)))
		return -GM_E_NO_DISK;
	if (t->pos >= d->nparts)
		return gm_fail(err, GM_E_NO_PART, "There is no partition %zu.", t->pos + 1);
	if ((rc = machine_open_part(m, t->slot, t->pos, &h->dev, err)) < 0)
		return rc;
	h->ss = d->ss;
	h->hidden = d->parts[t->pos].first_lba;
	return 0;
}

int volume_check(struct machine *m, const struct vol_target *t, struct gm_err *err)
{
	struct vol_handle h;
	int rc = open_target(m, t, &h, err);

	if (rc == 0)
		rc = vol_close(m, &h, NULL, 0, err);
	return rc;
}

int volume_format(struct machine *m, const struct vol_target *t, const struct format_req *req,
		  struct format_result *res, struct gm_err *err)
{
	struct vol_handle h;
	uint8_t sec[4096];
	struct fs_probe old;
	struct gm_err e2;
	int rc;

	memset(res, 0, sizeof(*res));
	if (target_running(m, t))
		return critical(err, "Format", false);
	if ((rc = open_target(m, t, &h, err)) < 0)
		return rc;
	if (req->ntfs) {
		res->vol_bytes = h.dev->size;
		if (h.ss <= sizeof(sec) && blk_read(h.dev, 0, sec, h.ss) == 0)
			fs_probe(sec, h.ss, &old);
		else
			memset(&old, 0, sizeof(old));
		res->old_kind = old.kind;
		res->planned = true;
		uint64_t hi = rng_u32(&m->rng);
		res->serial = rng_u32(&m->rng);
		struct ntfs_format_req nr = {.hidden = h.hidden, .unit = req->unit,
					     .label = req->label, .quick = req->quick,
					     .serial = hi << 32 | res->serial,
					     .fixed_time = m->rng.seeded};
		rc = ntfs_format(h.dev, m->dir, &nr, &res->ntfs_unit, err);
		struct ntfsvol *nv;
		if (rc == 0 && ntfsvol_open(h.dev, &nv, err) == 0) {
			res->ntfs_total = ntfsvol_total_bytes(nv);
			res->ntfs_free = ntfsvol_free_bytes(nv);
			ntfsvol_close(nv);
		}
		goto out;
	}
	if ((rc = fat_format_plan(h.dev->size, h.ss, req->kind, req->unit, (uint32_t)h.hidden,
				  &res->plan, err)) < 0)
		goto out;
	res->planned = true;
	res->vol_bytes = h.dev->size;
	if (h.ss <= sizeof(sec) && blk_read(h.dev, 0, sec, h.ss) == 0)
		fs_probe(sec, h.ss, &old);
	else
		memset(&old, 0, sizeof(old));
	res->old_kind = old.kind;
	res->serial = rng_u32(&m->rng);
	rc = fat_format(h.dev, &res->plan, req->label ? req->label : "", res->serial,
			(int64_t)rng_time(&m->rng), req->quick, req->progress, req->pctx, err);
out:
	if (vol_close(m, &h, res->failed_vol, sizeof(res->failed_vol), rc < 0 ? &e2 : err) < 0 &&
	    rc == 0)
		rc = -(int)err->code;
	return settle(m, rc, err);
}

int volume_delete(struct machine *m, const struct vol_target *t, struct gm_err *err)
{
	struct vol_target p = *t;
	const struct ldm_volume *lv = NULL;

	if (target_running(m, t))
		return critical(err, "Delete", false);
	if (t->kind == VOLT_LETTER && machine_find_letter(m, t->letter, &p.slot, &p.pos, err) == 0)
		p.kind = VOLT_PART;
	else if (t->kind == VOLT_LETTER)
		for (size_t i = 0; i < ldm_volume_count(machine_ldm(m)) && !lv; i++)
			if (toupper((unsigned char)ldm_volume_letter(ldm_volume_at(machine_ldm(m), i))) ==
			    toupper((unsigned char)t->letter))
				lv = ldm_volume_at(machine_ldm(m), i);
	if (p.kind == VOLT_PART)
		return machine_delete_part(m, p.slot, p.pos, false, err);
	if (t->kind == VOLT_DYNAMIC)
		lv = ldm_volume_at(machine_ldm(m), t->index);
	if (!lv)
		return gm_fail(err, GM_E_NO_VOLUME, "There is no such volume.");
	return settle(m, ldm_delete_volume(m, machine_ldm(m), lv, err), err);
}

int volume_add_mirror(struct machine *m, size_t index, int target, bool wait,
		      ldm_progress_fn progress, void *pctx, struct mirror_result *r,
		      struct gm_err *err)
{
	struct ldm_view *view = machine_ldm(m);
	struct ldm_volume *v = (struct ldm_volume *)ldm_volume_at(view, index);
	int rc;

	memset(r, 0, sizeof(*r));
	if (!v)
		return gm_fail(err, GM_E_NO_VOLUME, "There is no dynamic volume %zu.", index);
	r->boot_volume = ldm_volume_letter(v) == 'C';
	r->background = !wait && !machine_is_real(m);
	rc = ldm_add_mirror(m, view, v, target, &r->plex, r->background, progress, pctx, err);
	machine_rescan(m, NULL);
	/* The boot volume's new plex gets its boot entry, as Windows adds
	 * "Boot Mirror C: - secondary plex". */
	if (rc == 0 && r->boot_volume) {
		struct gm_err e2;
		r->boot_entry_failed = boot_add_plex_entry(m, target, &r->plex, &e2) < 0;
	}
	/* Then the copy, in a process of its own: machine.conf is saved
	 * first, so that it reads the machine as it is now. */
	if (rc == 0 && r->background && (rc = machine_save(m, err)) == 0)
		rc = rebuild_spawn(m, err);
	return settle(m, rc, err);
}

uint32_t ldm_disk_id_of_slot(const struct ldm_view *v, int slot)
{
	if (!v || slot < 0 || slot >= 16 || v->slot_group[slot] < 0)
		return 0;
	const struct ldm_group *g = &v->groups[v->slot_group[slot]];
	for (size_t i = 0; i < g->ndisks; i++)
		if (g->disks[i].slot == slot)
			return g->disks[i].rec->id;
	return 0;
}

const struct ldm_gdisk *ldm_missing_disk(const struct ldm_view *v, int k)
{
	for (size_t g = 0; v && g < v->ngroups; g++)
		for (size_t i = 0; i < v->groups[g].ndisks; i++)
			if (v->groups[g].disks[i].slot < 0 && k-- == 0)
				return &v->groups[g].disks[i];
	return NULL;
}

int volume_break(struct machine *m, size_t index, uint32_t disk_id, bool keep,
		 struct break_result *r, struct gm_err *err)
{
	struct ldm_view *view = machine_ldm(m);
	const struct ldm_volume *v = ldm_volume_at(view, index);
	char newv[64] = "";
	int rc;

	r->new_index = -1;
	r->boot_volume = false;
	if (!v)
		return gm_fail(err, GM_E_NO_VOLUME, "There is no dynamic volume %zu.", index);
	r->boot_volume = ldm_volume_letter(v) == 'C';
	rc = settle(m, ldm_break_mirror(m, view, v, disk_id, keep, newv, sizeof(newv), err), err);
	if (rc == 0 && keep) {
		view = machine_ldm(m);
		for (size_t i = 0; i < ldm_volume_count(view); i++)
			if (strcmp(ldm_volume_at(view, i)->rec->name, newv) == 0)
				r->new_index = (long)i;
	}
	return rc;
}

int machine_delete_missing(struct machine *m, uint32_t disk_id, bool override,
			   struct gm_err *err)
{
	return settle(m, ldm_delete_missing_disk(m, machine_ldm(m), disk_id, override, err), err);
}

/* --- the machine as a whole ---------------------------------------------- */

/* Disks whose table write a crash cut off (between the GPT's two copies,
 * or inside a clean): the table the disk reads as now is written whole to
 * both places again, so that sgdisk and Windows find one table. */
static int heal_tables(struct machine *m, struct recover_result *r, struct gm_err *err)
{
	for (int slot = 0; slot < m->nslots && slot < GM_MAX_SLOTS; slot++) {
		char k[32];
		snprintf(k, sizeof(k), "writing.disk%d", slot);
		if (!machine_extra_get(m, k))
			continue;
		struct disk *d = machine_disk(m, slot);
		int rc = 0;
		if (d && d->style == DS_GPT)
			rc = disk_commit(d, err); /* ends by dropping the mark */
		else if (d && d->style == DS_UNREADABLE)
			rc = gm_fail(err, GM_E_UNREADABLE, "disk %d was cut off in a table write "
				     "and neither GPT copy can be read: %s", slot, d->why);
		else
			rc = machine_extra_set(m, k, NULL, err); /* gone, or cleaned */
		if (rc < 0)
			return rc;
		r->tables[r->ntables++] = slot;
	}
	return 0;
}

/* NTFS changes a crash cut off after their journal was whole: written
 * onto the volume again (the journal of one cut off sooner is dropped:
 * that change never began). */
static int heal_ntfs(struct machine *m, struct recover_result *r, struct gm_err *err)
{
	int rc = 0;

	for (char l = 'A'; l <= 'Z'; l++) {
		char path[4096], tag[2] = {l, '\0'};
		vol_ntfs_journal(m, l, path, sizeof(path));
		if (access(path, F_OK) < 0)
			continue;
		struct vol_handle h;
		struct gm_err e2;
		if (vol_open_letter(m, l, &h, err) < 0) {
			/* A cut-off journal still goes; a whole one waits. */
			if (ntfs_journal_replay(path, tag, NULL, &e2) != 0)
				rc = -1;
			continue;
		}
		int n = ntfs_journal_replay(path, tag, h.dev, err);
		if (vol_close(m, &h, NULL, 0, n < 0 ? &e2 : err) < 0 && n >= 0)
			n = -1;
		if (n < 0)
			rc = -1;
		else if (n > 0 && strlen(r->ntfs) + 1 < sizeof(r->ntfs))
			r->ntfs[strlen(r->ntfs)] = l;
	}
	return rc;
}

int machine_recover(struct machine *m, struct recover_result *r, struct gm_err *err)
{
	bool dirty = false, tables = false;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	/* Cheap when nothing was cut off: machine.conf says so. */
	for (int i = 0; i < m->nextra; i++) {
		dirty |= strncmp(m->extra[i], "dirty.", 6) == 0;
		tables |= strncmp(m->extra[i], "writing.disk", 12) == 0;
	}
	if (tables && (rc = heal_tables(m, r, err)) < 0)
		return rc;
	if (dirty) {
		rc = ldm_heal_dirty(m, NULL, NULL, r->mirrors, sizeof(r->mirrors), err);
		machine_rescan(m, NULL);
	}
	if (rc == 0)
		rc = heal_ntfs(m, r, err);
	return rc < 0 ? rc : 0;
}

int machine_resync(struct machine *m, ldm_progress_fn progress, void *pctx,
		   struct reboot_result *r, struct gm_err *err)
{
	int healed[GM_MAX_SLOTS];
	int n = ldm_heal(m, healed, err);

	if (n < 0)
		return settle(m, n, err);
	for (int i = 0; i < n && r->nhealed < 16; i++)
		r->healed[r->nhealed++] = healed[i];
	machine_rescan(m, NULL);
	n = ldm_resync(m, progress, pctx, err);
	if (n > 0)
		r->resynced = n;
	return settle(m, n < 0 ? n : 0, err);
}

int machine_reboot(struct machine *m, ldm_progress_fn progress, void *pctx,
		   struct reboot_result *r, struct gm_err *err)
{
	int slot, rc = 0;

	memset(r, 0, sizeof(*r));
	while (machine_take_pending(m, "convert-dynamic", &slot) == 1) {
		machine_rescan(m, NULL);
		if ((rc = ldm_convert_dynamic(m, machine_ldm(m), slot, err)) < 0 ||
		    (rc = machine_save(m, err)) < 0)
			return settle(m, rc, err);
		if (r->nconverted < 16)
			r->converted[r->nconverted++] = slot;
		machine_rescan(m, NULL);
	}
	if ((rc = machine_resync(m, progress, pctx, r, err)) < 0)
		return rc;
	/* A real computer restarts by itself (the user's doing); only an
	 * image machine's boot is emulated here. */
	if (machine_is_real(m)) {
		r->real = true;
		return 0;
	}
	return boot_emulate(m, -1, &r->boot, err);
}
