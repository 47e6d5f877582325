/*
 * ldm_write.c - writing the LDM database: the whole database is rebuilt
 * from the group's records with a new transaction number and written to
 * every member disk's private region (identical config and log areas; each
 * disk's own PRIVHEAD). A new member's region is written before the GPT
 * that points at it.
 */
#include "ldm_write.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../fmt/bytes.h"
#include "boot.h"
#include "machine.h"
#include "rebuild.h"

#define SEC 512u

/* Names we make are short; vsnprintf keeps the compiler from guessing. */
static void namef(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void namef(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}
#define RECOVER 0x08u /* partition flag: the plex is being rebuilt */

struct member {
	int slot;
	struct ldm_privhead ph;
};

struct gdb {
	char name[32], guid[LDM_GUID_STR + 1];
	uint64_t tx;
	struct ldm_rec *recs;
	size_t n, cap;
	struct member mem[GM_MAX_SLOTS];
	size_t nmem;
	uint32_t signature; /* PRIVHEAD 0x163, one per group */
};

static void guid_text(struct rng *r, char *out)
{
	struct guid g;
	uint8_t b[16];

	rng_guid(r, &g);
	/* LDM keeps GUIDs as RFC-order text. */
	memcpy(b, g.b, 16);
	snprintf(out, LDM_GUID_STR + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
}

static struct ldm_rec *add_rec(struct gdb *g)
{
	if (g->n == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 16;
		struct ldm_rec *nr = realloc(g->recs, nc * sizeof(*nr));
		if (!nr)
			return NULL;
		g->recs = nr;
		g->cap = nc;
	}
	memset(&g->recs[g->n], 0, sizeof(g->recs[0]));
	return &g->recs[g->n++];
}

static struct ldm_rec *find_rec(struct gdb *g, enum ldm_rec_type type, uint32_t id);

static uint32_t next_id(const struct gdb *g)
{
	uint32_t id = 0;

	for (size_t i = 0; i < g->n; i++)
		if (g->recs[i].id > id)
			id = g->recs[i].id;
	return id + 1;
}

/* The group from the view (or an empty one). */
static int load_group(struct machine *m, struct ldm_view *view, struct gdb *g,
		      struct gm_err *err)
{
	memset(g, 0, sizeof(*g));
	if (!view || view->ngroups == 0)
		return 0;
	const struct ldm_group *G = &view->groups[0];
	snprintf(g->name, sizeof(g->name), "%s", G->name);
	snprintf(g->guid, sizeof(g->guid), "%s", G->guid);
	g->tx = G->vmdb.committed_tx;
	for (size_t i = 0; i < G->nrecs; i++) {
		struct ldm_rec *r = add_rec(g);
		if (!r)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		*r = G->recs[i];
	}
	for (size_t d = 0; d < G->ndisks; d++)
		if (G->disks[d].slot >= 0) {
			g->mem[g->nmem].slot = G->disks[d].slot;
			g->mem[g->nmem].ph = G->disks[d].ph;
			g->signature = G->disks[d].ph.checksum;
			g->nmem++;
		}
	(void)m;
	return 0;
}

static uint64_t filetime(struct machine *m)
{
	return ((uint64_t)rng_time(&m->rng) + 11644473600ull) * 10000000ull;
}

/* The private region image of one member. */
static int build_private(struct machine *m, const struct gdb *g, const struct member *mb,
			 uint8_t *priv, struct gm_err *err)
{
	uint8_t *cfg = priv + (size_t)LDM_CONFIG_START * SEC;
	struct ldm_vmdb v = {0};
	uint32_t slots = LDM_CONFIG_SECTORS * SEC / 128, seq = 4;

	memset(priv, 0, (size_t)LDM_PRIVATE_SECTORS * SEC);
	snprintf(v.dg_name, sizeof(v.dg_name), "%s", g->name);
	snprintf(v.dg_guid, sizeof(v.dg_guid), "%s", g->guid);
	v.committed_tx = g->tx;
	for (size_t i = 0; i < g->n; i++) {
		switch (g->recs[i].type) {
		case LDM_REC_VOLUME: v.n_vol++; break;
		case LDM_REC_COMPONENT: v.n_comp++; break;
		case LDM_REC_PARTITION: v.n_part++; break;
		case LDM_REC_DISK: v.n_disk++; break;
		default: break;
		}
	}
	ldm_vmdb_encode(&v, filetime(m), cfg);
	/* Records from slot 4, fragments of 112 bytes, group numbers from 1. */
	for (size_t i = 0; i < g->n; i++) {
		uint8_t rec[4 * 112] = {0};
		int len = ldm_rec_encode(&g->recs[i], g->tx, rec, sizeof(rec));
		if (len < 0)
			return gm_fail(err, GM_E_ARGS, "the record of %s is too large", g->recs[i].name);
		uint16_t frags = (uint16_t)((len + 111) / 112);
		for (uint16_t f = 0; f < frags; f++) {
			if (seq >= slots)
				return gm_fail(err, GM_E_NO_SPACE, "the dynamic disk database is full");
			struct ldm_slot sl = {.seq = seq, .group = (uint32_t)(i + 1),
					      .frag_index = f, .frag_count = frags,
					      .payload = rec + (size_t)f * LDM_SLOT_PAYLOAD};
			ldm_slot_encode(&sl, cfg + (size_t)seq * LDM_SLOT_SIZE);
			seq++;
		}
	}
	for (; seq < slots; seq++) {
		struct ldm_slot sl = {.seq = seq};
		ldm_slot_encode(&sl, cfg + (size_t)seq * LDM_SLOT_SIZE);
	}
	ldm_klog_encode(g->tx, priv + (size_t)LDM_LOG_START * SEC);
	ldm_tocblock_encode(1, priv + (size_t)LDM_TOC1 * SEC);
	ldm_tocblock_encode(1, priv + (size_t)LDM_TOC2 * SEC);
	struct ldm_privhead ph = mb->ph;
	ph.ver_major = 2;
	ph.ver_minor = m->profile == PROFILE_2003 ? 11 : 12;
	ph.usn = 1;
	ph.checksum = g->signature;
	snprintf(ph.dg_guid, sizeof(ph.dg_guid), "%s", g->guid);
	snprintf(ph.dg_name, sizeof(ph.dg_name), "%s", g->name);
	ph.private_size = LDM_PRIVATE_SECTORS;
	ldm_privhead_encode(&ph, priv + (size_t)LDM_PH2 * SEC);
	ldm_privhead_encode(&ph, priv + (size_t)LDM_PH1 * SEC);
	return 0;
}

static int write_member(struct machine *m, const struct gdb *g, const struct member *mb,
			struct gm_err *err)
{
	struct disk *d = machine_disk(m, mb->slot);
	size_t len = (size_t)LDM_PRIVATE_SECTORS * SEC;
	uint8_t *priv = malloc(len);
	int rc;

	if (!priv)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (!d) {
		free(priv);
		return gm_fail(err, GM_E_NO_DISK, "disk %d is not present", mb->slot);
	}
	if ((rc = build_private(m, g, mb, priv, err)) == 0) {
		/* A background copy waits, and reads the database again. */
		rebuild_io_lock(m);
		rebuild_layout_changed(m);
		rc = blk_write(d->dev, mb->ph.private_start * SEC, priv, len);
		if (rc == 0)
			rc = blk_flush(d->dev);
		rebuild_io_unlock(m);
		if (rc < 0)
			rc = gm_fail(err, GM_E_IO, "writing the dynamic disk database on disk %d "
				     "failed", mb->slot);
	}
	free(priv);
	return rc;
}

static int write_all(struct machine *m, const struct gdb *g, int except, struct gm_err *err)
{
	for (size_t i = 0; i < g->nmem; i++) {
		if (g->mem[i].slot == except)
			continue;
		int rc = write_member(m, g, &g->mem[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int cmp_first(const void *a, const void *b)
{
	const struct part *x = a, *y = b;
	return x->first_lba < y->first_lba ? -1 : x->first_lba > y->first_lba;
}

static uint8_t part_type_of(struct disk *d, const struct part *p)
{
	uint8_t sec[512];

	if (blk_read(d->dev, part_offset(d, p), sec, sizeof(sec)) == 0) {
		if (memcmp(sec + 3, "NTFS", 4) == 0)
			return 0x07;
		if (memcmp(sec + 82, "FAT32", 5) == 0)
			return 0x0b;
		if (memcmp(sec + 54, "FAT", 3) == 0)
			return 0x06;
	}
	return 0x07;
}

/* Step 1 of convert dynamic: may this disk become dynamic? */
static int check_convertible(const struct disk *d, const struct ldm_view *view, int slot,
			     struct gm_err *err)
{
	int rc;

	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	if (view && slot < 16 && view->slot_group[slot] >= 0)
		return gm_fail(err, GM_E_ALREADY_DYNAMIC, "The disk is already dynamic.");
	if (d->style != DS_GPT)
		return gm_fail(err, GM_E_NOT_GPT, "gptmirror converts GPT disks to dynamic; "
			       "disk %d is not a GPT disk.", slot);
	if (d->ss != SEC)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "dynamic disks with %" PRIu32
			       "-byte sectors are not supported", d->ss);
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].kind == PK_LDM_META || d->parts[i].kind == PK_LDM_DATA)
			return gm_fail(err, GM_E_NOT_CONVERTIBLE, "disk %d already holds LDM "
				       "partitions but no readable database", slot);
	return 0;
}

/* Step 2: the machine's first dynamic disk founds the group, named after
 * the machine as Windows names it after the computer ("SERVERDg0"). */
static int found_group(struct machine *m, struct gdb *g, struct gm_err *err)
{
	char path[PATH_MAX], host[16] = "", *base;
	size_t k = 0;

	if (!realpath(m->dir, path))
		snprintf(path, sizeof(path), "%s", m->dir);
	base = basename(path);
	for (; base[k] && k < 15; k++)
		host[k] = (char)toupper((unsigned char)base[k]);
	host[k] = '\0';
	snprintf(g->name, sizeof(g->name), "%sDg0", host[0] ? host : "GPTMIRROR");
	guid_text(&m->rng, g->guid);
	g->signature = rng_u32(&m->rng) | 1;
	struct ldm_rec *r = add_rec(g);
	if (!r)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	r->type = LDM_REC_GROUP;
	r->id = 1;
	snprintf(r->name, sizeof(r->name), "%s", g->name);
	snprintf(r->u.disk.guid, sizeof(r->u.disk.guid), "%s", g->guid);
	return 0;
}

/* Step 3: where the database goes: the first MiB of the MSR, as Windows
 * does, else the end of the largest free region. */
static int place_database(struct disk *d, uint64_t *meta, struct part **msr,
			  struct gm_err *err)
{
	*msr = NULL;
	for (size_t i = 0; i < d->nparts && !*msr; i++)
		if (d->parts[i].kind == PK_MSR &&
		    d->parts[i].last_lba - d->parts[i].first_lba + 1 > LDM_PRIVATE_SECTORS)
			*msr = &d->parts[i];
	if (*msr) {
		*meta = (*msr)->first_lba;
	} else {
		struct extent ex[GPT_MAX_ENTRIES + 1];
		size_t n = disk_free_extents(d, ex, GPT_MAX_ENTRIES + 1), best = n;
		for (size_t i = 0; i < n; i++)
			if (ex[i].last - ex[i].first + 1 >= LDM_PRIVATE_SECTORS &&
			    (best == n || ex[i].last - ex[i].first > ex[best].last - ex[best].first))
				best = i;
		if (best == n)
			return gm_fail(err, GM_E_NO_SPACE, "There is no room for the 1 MB dynamic "
				       "disk database: no MSR and no free space.");
		*meta = ex[best].last - LDM_PRIVATE_SECTORS + 1;
	}
	if (d->nparts + 1 > d->max_parts)
		return gm_fail(err, GM_E_TABLE_FULL, NULL);
	return 0;
}

/* Record numbering while the records of a new member are added. */
struct numbering {
	uint32_t id;    /* next record id */
	uint32_t ndisk; /* disks in the group before this one */
	uint32_t nvol;  /* volume names used */
	uint32_t vnum;  /* highest volume number */
	uint32_t ext_no;
	uint32_t disk_id;
};

static void start_numbering(const struct gdb *g, struct numbering *nb)
{
	memset(nb, 0, sizeof(*nb));
	nb->id = next_id(g);
	nb->ext_no = 1;
	for (size_t i = 0; i < g->n; i++) {
		if (g->recs[i].type == LDM_REC_DISK)
			nb->ndisk++;
		if (g->recs[i].type == LDM_REC_VOLUME) {
			nb->nvol++;
			if (g->recs[i].u.vol.number > nb->vnum)
				nb->vnum = g->recs[i].u.vol.number;
		}
	}
}

/* Step 4: the disk record of the new member, whose PRIVHEAD is mb. */
static int add_disk_rec(struct machine *m, struct gdb *g, const struct disk *d, uint64_t meta,
			struct member *mb, struct numbering *nb, struct gm_err *err)
{
	guid_text(&m->rng, mb->ph.disk_guid);
	mb->ph.public_start = d->hdr.first_usable;
	mb->ph.public_size = d->hdr.last_usable - d->hdr.first_usable + 1;
	mb->ph.private_start = meta;
	mb->ph.private_size = LDM_PRIVATE_SECTORS;
	struct ldm_rec *dr = add_rec(g);
	if (!dr)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	dr->type = LDM_REC_DISK;
	nb->disk_id = nb->id++;
	dr->id = nb->disk_id;
	snprintf(dr->name, sizeof(dr->name), "Disk%u", nb->ndisk + 1);
	snprintf(dr->u.disk.guid, sizeof(dr->u.disk.guid), "%s", mb->ph.disk_guid);
	return 0;
}

/* Step 5: basic data partition p becomes a simple volume in place: its
 * volume, component and partition records, p retyped, its data and its
 * drive letter (as the volume's hint) kept. */
static int add_simple_volume(struct machine *m, struct gdb *g, struct disk *d,
			     struct part *p, const struct member *mb, struct numbering *nb,
			     struct gm_err *err)
{
	char key[64], vname[64];
	struct ldm_rec *vr, *cr, *pr;
	struct guid vg;

	part_key(d, p, key, sizeof(key));
	char l = machine_letter_of(m, key);
	if (!(vr = add_rec(g)))
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	vr->type = LDM_REC_VOLUME;
	vr->id = nb->id++;
	snprintf(vr->name, sizeof(vr->name), "Volume%u", ++nb->nvol);
	snprintf(vr->u.vol.vtype, sizeof(vr->u.vol.vtype), "gen");
	snprintf(vr->u.vol.state, sizeof(vr->u.vol.state), "ACTIVE");
	vr->u.vol.read_policy = 3;
	vr->u.vol.number = (uint8_t)(++nb->vnum);
	vr->u.vol.vflags = 0x11;
	vr->u.vol.nchildren = 1;
	vr->u.vol.size = p->last_lba - p->first_lba + 1;
	vr->u.vol.part_type = part_type_of(d, p);
	rng_guid(&m->rng, &vg);
	memcpy(vr->u.vol.guid, vg.b, 16);
	if (l)
		snprintf(vr->u.vol.hint, sizeof(vr->u.vol.hint), "%c:", l);
	uint32_t vid = vr->id;
	snprintf(vname, sizeof(vname), "%s", vr->name);
	if (!(cr = add_rec(g)))
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	cr->type = LDM_REC_COMPONENT;
	cr->id = nb->id++;
	namef(cr->name, sizeof(cr->name), "%s-01", vname);
	snprintf(cr->u.comp.state, sizeof(cr->u.comp.state), "ACTIVE");
	cr->u.comp.layout = LDM_CONCAT;
	cr->u.comp.nparts = 1;
	cr->u.comp.parent = vid;
	uint32_t cid = cr->id;
	if (!(pr = add_rec(g)))
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	pr->type = LDM_REC_PARTITION;
	pr->id = nb->id++;
	snprintf(pr->name, sizeof(pr->name), "Disk%u-%02u", nb->ndisk + 1, nb->ext_no++);
	pr->u.part.start = p->first_lba - mb->ph.public_start;
	pr->u.part.size = p->last_lba - p->first_lba + 1;
	pr->u.part.parent = cid;
	pr->u.part.disk = nb->disk_id;
	/* The partition stays where it is: retyped, its data untouched. */
	p->ent.type = GPT_TYPE_LDM_DATA;
	p->kind = PK_LDM_DATA;
	gpt_ent_set_name(&p->ent, "LDM data partition");
	return 0;
}

/* Step 6, the writes, in an order a crash cannot hurt: the new member's
 * private region first (inside the MSR or free space: nothing points at
 * it yet), then the GPT that makes the disk dynamic, then the other
 * members' copies. */
static int commit_member(struct machine *m, struct gdb *g, struct disk *d, int slot,
			 struct member *mb, struct part *msr, uint64_t meta, struct gm_err *err)
{
	int rc;

	if ((rc = write_member(m, g, mb, err)) < 0)
		return rc;
	if (msr)
		msr->first_lba += LDM_PRIVATE_SECTORS;
	struct part meta_p = {0};
	meta_p.first_lba = meta;
	meta_p.last_lba = meta + LDM_PRIVATE_SECTORS - 1;
	meta_p.kind = PK_LDM_META;
	meta_p.ent.type = GPT_TYPE_LDM_METADATA;
	rng_guid(&m->rng, &meta_p.ent.uniq);
	gpt_ent_set_name(&meta_p.ent, "LDM metadata partition");
	d->parts[d->nparts++] = meta_p;
	qsort(d->parts, d->nparts, sizeof(*d->parts), cmp_first);
	disk_renumber(d); /* a whole new layout, in disk order */
	if ((rc = disk_commit(d, err)) < 0)
		return rc;
	return write_all(m, g, slot, err);
}

int ldm_convert_dynamic(struct machine *m, struct ldm_view *view, int slot,
			struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);
	struct member mb = {.slot = slot};
	struct numbering nb;
	struct part *msr;
	struct gdb g;
	uint64_t meta;
	int rc;

	if (!d)
		return gm_fail(err, GM_E_NO_DISK, "no disk %d", slot);
	if ((rc = check_convertible(d, view, slot, err)) < 0)
		return rc;
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	if (!g.guid[0] && (rc = found_group(m, &g, err)) < 0)
		goto out;
	if ((rc = place_database(d, &meta, &msr, err)) < 0)
		goto out;
	start_numbering(&g, &nb);
	if ((rc = add_disk_rec(m, &g, d, meta, &mb, &nb, err)) < 0)
		goto out;
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].kind == PK_BASIC &&
		    (rc = add_simple_volume(m, &g, d, &d->parts[i], &mb, &nb, err)) < 0)
			goto out;
	g.tx = (g.tx > nb.id ? g.tx : nb.id) + 1;
	g.mem[g.nmem++] = mb;
	rc = commit_member(m, &g, d, slot, &mb, msr, meta, err);
out:
	free(g.recs);
	return rc;
}

/* --- mirrors -------------------------------------------------------------- */

/* The resync checkpoint of an extent: "resync.<extent> = <sectors done>"
 * in machine.conf. */
static const char *checkpoint_key(const struct ldm_rec *part, char *buf, size_t cap)
{
	namef(buf, cap, "resync.%s", part->name);
	return buf;
}

/* machine.conf's checkpoint, or the background copy's (rebuild.c) when it
 * is further on. */
static uint64_t checkpoint_get(const struct machine *m, const struct ldm_rec *part)
{
	char k[96];
	const char *v = machine_extra_get(m, checkpoint_key(part, k, sizeof(k)));
	uint64_t c = v ? strtoull(v, NULL, 10) : 0, bg;

	if (rebuild_checkpoint_get(m, part->name, &bg) && bg > c)
		c = bg;
	return c;
}

int ldm_rebuild_percent(const struct machine *m, const struct ldm_volume *v)
{
	for (size_t p = 0; v->nplex > 1 && p < v->nplex; p++) {
		uint64_t done = 0, total = 0;
		if (!ldm_plex_rebuilding(&v->plex[p]))
			continue;
		for (size_t e = 0; e < v->plex[p].n; e++) {
			const struct ldm_rec *r = v->plex[p].ext[e].rec;
			uint64_t c = (r->u.part.pflags & 0x08) ? checkpoint_get(m, r) : r->u.part.size;
			done += c < r->u.part.size ? c : r->u.part.size;
			total += r->u.part.size;
		}
		return total ? (int)(done * 100 / total) : 0;
	}
	return -1;
}

static int checkpoint_set(struct machine *m, const struct ldm_rec *part, uint64_t done,
			  bool remove, struct gm_err *err)
{
	char k[96], v[32];

	/* The background copy keeps its own: machine.conf is the lock
	 * holder's. */
	if (m->rb_worker)
		return rebuild_checkpoint_set(m, part->name, done, err);
	namef(v, sizeof(v), "%" PRIu64, done);
	return machine_extra_set(m, checkpoint_key(part, k, sizeof(k)), remove ? NULL : v, err);
}

static bool zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;

	/* n is a multiple of the sector size. */
	for (size_t i = 0; i < n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
		if ((i & 4095) == 4088 && acc)
			return false;
	}
	return acc == 0;
}

/* Where sector s of concatenated plex p lies: the disk, the absolute
 * sector and how many sectors follow in that extent. */
static int plex_map(struct machine *m, const struct ldm_plex *p, uint64_t s,
		    struct blkdev **dev, uint64_t *abs, uint64_t *avail)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct ldm_extent *x = &p->ext[i];
		uint64_t o = x->rec->u.part.vol_offset, n = x->rec->u.part.size;
		struct disk *d = x->slot >= 0 ? machine_disk(m, x->slot) : NULL;
		if (s >= o && s < o + n && d) {
			*dev = d->dev;
			*abs = x->abs_start + (s - o);
			*avail = o + n - s;
			return 0;
		}
	}
	return -1;
}

/* What one step of a plex copy works with (copy_plex). */
struct copy_job {
	const struct ldm_volume *v;     /* the volume */
	const struct ldm_extent *x;     /* the extent being built */
	struct ldm_volume src;          /* the volume through its healthy plexes */
	struct disk *dst;
	uint8_t *buf;                   /* step sectors */
	uint32_t step;                  /* sectors read and written at most */
	uint64_t max_hole;              /* sectors of a hole at most */
	uint64_t max_copy;              /* sectors of a kernel copy at most */
};

/* Copies from sector *s on, one step: a hole of the source as a hole, data
 * disk to disk in the kernel where it can be, else read through the
 * healthy plexes (which fall over to another) and written; *s advances. */
static int copy_step(struct machine *m, struct copy_job *j, uint64_t *s, struct gm_err *err)
{
	const struct ldm_volume *v = j->v;
	uint32_t n = v->sectors - *s < j->step ? (uint32_t)(v->sectors - *s) : j->step;
	uint64_t off = (j->x->abs_start + *s) * SEC;
	struct blkdev *sd;
	uint64_t sabs, savail, run;

	if (plex_map(m, &j->src.plex[0], *s, &sd, &sabs, &savail) == 0) {
		int data = blk_run(sd, sabs * SEC, &run);
		uint64_t rs = run / SEC;
		if (rs > savail)
			rs = savail;
		if (rs > v->sectors - *s)
			rs = v->sectors - *s;
		if (data == 0 && rs > j->max_hole)
			rs = j->max_hole;
		if (data == 0 && rs > 0) {
			if (blk_zero(j->dst->dev, off, rs * SEC) < 0)
				return gm_fail(err, GM_E_IO, "writing the new plex failed");
			*s += rs;
			return 0;
		}
		if (data == 1 && rs > 0 && rs < n)
			n = (uint32_t)rs;
		if (savail < n)
			n = (uint32_t)savail;
		uint64_t nc = rs < j->max_copy ? rs : j->max_copy;
		if (data == 1 && nc > 0 && blk_copy(j->dst->dev, off, sd, sabs * SEC, nc * SEC) == 0) {
			*s += nc;
			return 0;
		}
	}
	int rc = ldm_vol_read(m, &j->src, *s, n, j->buf, err);
	if (rc < 0)
		return rc;
	rc = zero(j->buf, (size_t)n * SEC) ? blk_zero(j->dst->dev, off, (size_t)n * SEC)
					   : blk_write(j->dst->dev, off, j->buf, (size_t)n * SEC);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "writing the new plex failed");
	*s += n;
	return 0;
}

/* Copies the volume from a healthy plex onto extent x, from the
 * checkpoint on; the checkpoint is saved every GiB (every eighth of
 * smaller volumes). Zero runs become holes on the target. */
static int copy_plex(struct machine *m, const struct ldm_volume *v, const struct ldm_extent *x,
		     ldm_progress_fn progress, void *pctx, struct gm_err *err)
{
	const uint32_t chunk = 16384; /* 8 MiB */
	uint64_t s = checkpoint_get(m, x->rec), last_ck = s;
	/* A checkpoint every GiB, or every eighth of a smaller volume; the
	 * background copy's, which list volume shows, every 64 MiB or
	 * thirty-second. */
	uint64_t ck_max = m->rb_worker ? 131072 : 2097152, ck_part = m->rb_worker ? 32 : 8;
	uint64_t ck_every = v->sectors / ck_part < ck_max ? v->sectors / ck_part : ck_max;
	if (ck_every < 2048)
		ck_every = 2048;
	/* The background copy goes in 4 MiB steps, so that a command's write
	 * waits for one step at most; here, 8 MiB reads and 64 MiB kernel
	 * copies. */
	struct copy_job j = {.v = v, .x = x, .dst = machine_disk(m, x->slot),
			     .step = m->rb_worker ? chunk / 2 : chunk};
	j.max_hole = ck_every;
	j.max_copy = m->rb_worker ? j.step : 131072;
	if (j.max_copy > ck_every)
		j.max_copy = ck_every;
	int rc = 0;

	j.buf = malloc((size_t)chunk * SEC);
	if (!j.buf || !j.dst) {
		free(j.buf);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	/* The source: any complete plex other than the one being built. */
	struct ldm_plex ok[8];
	size_t nok = 0;
	for (size_t p = 0; p < v->nplex && nok < 8; p++)
		if (v->plex[p].complete && !ldm_plex_rebuilding(&v->plex[p]))
			ok[nok++] = v->plex[p];
	j.src = *v;
	j.src.plex = ok;
	j.src.nplex = nok;
	if (nok == 0) {
		free(j.buf);
		return gm_fail(err, GM_E_UNREADABLE, "%s has no healthy plex to copy from",
			       v->rec->name);
	}
	while (s < v->sectors && rc == 0) {
		/* Each step under the I/O lock, so that a write to the volume
		 * (both plexes) never falls between its read and its write;
		 * the background copy stops when the layout changed. */
		rebuild_io_lock(m);
		rc = rebuild_layout_same(m) ? copy_step(m, &j, &s, err)
					    : gm_fail(err, GM_E_AGAIN, "the disks changed");
		if (rc == 0 && progress)
			progress(pctx, s, v->sectors);
		if (rc == 0 && s - last_ck >= ck_every && s < v->sectors) {
			if ((rc = blk_flush(j.dst->dev)) == 0)
				rc = checkpoint_set(m, x->rec, s, false, err);
			last_ck = s;
		}
		rebuild_io_unlock(m);
	}
	free(j.buf);
	if (rc == 0 && (rc = blk_flush(j.dst->dev)) < 0)
		rc = gm_fail(err, GM_E_IO, "flush failed");
	return rc;
}

/* The machine.conf line that says an extent's plex failed an I/O. */
static int failed_set(struct machine *m, const struct ldm_rec *part, bool on,
		      struct gm_err *err)
{
	char k[96];

	ldm_failed_key(part, k, sizeof(k));
	return machine_extra_set(m, k, on ? "1" : NULL, err);
}

int ldm_mark_failed(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		    uint32_t plexes, struct gm_err *err)
{
	struct gdb g;
	int rc, written = 0;

	if (!plexes)
		return 0;
	/* machine.conf first: the plex takes no more I/O from now on. */
	for (size_t p = 0; p < v->nplex && p < 32; p++)
		for (size_t e = 0; (plexes & (1u << p)) && e < v->plex[p].n; e++)
			if ((rc = failed_set(m, v->plex[p].ext[e].rec, true, err)) < 0)
				return rc;
	/* Then the database on every disk that takes the write: the plex
	 * needs a resync (recover) before it counts again. */
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	for (size_t p = 0; p < v->nplex && p < 32; p++)
		for (size_t e = 0; (plexes & (1u << p)) && e < v->plex[p].n; e++) {
			struct ldm_rec *r = find_rec(&g, LDM_REC_PARTITION, v->plex[p].ext[e].rec->id);
			if (r)
				r->u.part.pflags |= RECOVER;
		}
	g.tx++;
	for (size_t i = 0; i < g.nmem; i++) {
		struct gm_err e2;
		if (write_member(m, &g, &g.mem[i], &e2) == 0)
			written++;
	}
	free(g.recs);
	return written ? 0 : gm_fail(err, GM_E_IO, "the failed plex could not be recorded "
				     "in any disk's database");
}

/* Marks extent id healthy in the database (the copy is complete). */
static int mark_healthy(struct machine *m, struct ldm_view *view, uint32_t part_id,
			struct gm_err *err)
{
	struct gdb g;
	int rc = load_group(m, view, &g, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < g.n; i++)
		if (g.recs[i].type == LDM_REC_PARTITION && g.recs[i].id == part_id)
			g.recs[i].u.part.pflags &= ~RECOVER;
	g.tx++;
	rc = write_all(m, &g, -1, err);
	free(g.recs);
	return rc;
}

int ldm_add_mirror(struct machine *m, struct ldm_view *view, struct ldm_volume *v,
		   int target, struct guid *plex_guid, bool background, ldm_progress_fn progress,
		   void *pctx, struct gm_err *err)
{
	struct disk *d = machine_disk(m, target);
	struct gdb g;
	int rc;

	if (v->kind != LK_SIMPLE)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "Only a simple volume can be mirrored.");
	if (v->bad[0])
		return gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name, v->bad);
	if (!d || target >= 16 || view->slot_group[target] != 0)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE, "The disk must be a dynamic disk of "
			       "this machine's disk group.");
	if (v->plex[0].ext[0].slot == target)
		return gm_fail(err, GM_E_ARGS, "The mirror must be on another disk.");
	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	const struct ldm_group *G = &view->groups[0];
	const struct ldm_gdisk *gd = NULL;
	for (size_t i = 0; i < G->ndisks; i++)
		if (G->disks[i].slot == target)
			gd = &G->disks[i];
	if (!gd)
		return gm_fail(err, GM_E_NO_DISK, "disk %d is not in the group", target);

	/* Room on the target: free GPT space inside its public region. */
	uint64_t want = v->sectors, align = m->profile == PROFILE_MODERN ? 2048 : 1;
	uint64_t pub0 = gd->ph.public_start, pub1 = pub0 + gd->ph.public_size - 1, at = 0;
	struct extent ex[GPT_MAX_ENTRIES + 1];
	size_t n = disk_free_extents(d, ex, GPT_MAX_ENTRIES + 1);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		uint64_t a = ex[i].first < pub0 ? pub0 : ex[i].first, b = ex[i].last > pub1 ? pub1 : ex[i].last;
		a = (a + align - 1) / align * align;
		if (a <= b && b - a + 1 >= want) {
			at = a;
			found = true;
		}
	}
	if (!found)
		return gm_fail(err, GM_E_NO_SPACE, NULL);
	if (d->nparts + 1 > d->max_parts)
		return gm_fail(err, GM_E_TABLE_FULL, NULL);
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	uint32_t id = next_id(&g), ext_no = 1;
	const char *dname = gd->rec->name;
	for (size_t i = 0; i < g.n; i++)
		if (g.recs[i].type == LDM_REC_PARTITION && g.recs[i].u.part.disk == gd->rec->id)
			ext_no++;
	for (size_t i = 0; i < g.n; i++)
		if (g.recs[i].type == LDM_REC_VOLUME && g.recs[i].id == v->rec->id)
			g.recs[i].u.vol.nchildren = 2;
	struct ldm_rec *cr = add_rec(&g), *pr;
	if (!cr) {
		free(g.recs);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	cr->type = LDM_REC_COMPONENT;
	cr->id = id++;
	namef(cr->name, sizeof(cr->name), "%s-02", v->rec->name);
	snprintf(cr->u.comp.state, sizeof(cr->u.comp.state), "ACTIVE");
	cr->u.comp.layout = LDM_CONCAT;
	cr->u.comp.nparts = 1;
	cr->u.comp.parent = v->rec->id;
	uint32_t cid = cr->id;
	if (!(pr = add_rec(&g))) {
		free(g.recs);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	pr->type = LDM_REC_PARTITION;
	pr->id = id++;
	namef(pr->name, sizeof(pr->name), "%s-%02u", dname, ext_no);
	pr->u.part.pflags = RECOVER; /* not healthy before its copy is done */
	pr->u.part.start = at - pub0;
	pr->u.part.size = want;
	pr->u.part.parent = cid;
	pr->u.part.disk = gd->rec->id;
	g.tx = (g.tx > id ? g.tx : id) + 1;

	/* GPT first: the plex gets an LDM data entry of its own, as Windows
	 * gives the plexes of boot volumes; then the database everywhere. */
	struct part np = {0};
	np.first_lba = at;
	np.last_lba = at + want - 1;
	np.kind = PK_LDM_DATA;
	np.ent.type = GPT_TYPE_LDM_DATA;
	rng_guid(&m->rng, &np.ent.uniq);
	gpt_ent_set_name(&np.ent, "LDM data partition");
	if (plex_guid)
		*plex_guid = np.ent.uniq;
	/* The first free entry slot: the others keep theirs, so boot entries
	 * naming them (HD(N,GPT,...)) stay true. */
	np.index = disk_free_slot(d);
	if (np.index >= d->max_parts) {
		free(g.recs);
		return gm_fail(err, GM_E_TABLE_FULL, "disk %d has no free partition table entry",
			       target);
	}
	d->parts[d->nparts++] = np;
	qsort(d->parts, d->nparts, sizeof(*d->parts), cmp_first);
	if ((rc = disk_commit(d, err)) < 0 || (rc = write_all(m, &g, -1, err)) < 0) {
		free(g.recs);
		return rc;
	}
	free(g.recs);
	/* The copy, resumable from its checkpoint: here, or in the
	 * background (the caller starts it: rebuild_spawn). */
	if (background)
		return 0;
	return ldm_resync(m, progress, pctx, err) < 0 ? -1 : 0;
}

int ldm_resync(struct machine *m, ldm_progress_fn progress, void *pctx,
	       struct gm_err *err)
{
	struct ldm_view *view;
	int done = 0, rc;
	bool left = false;

	/* A background copy is taken over: it stops, and this one goes on
	 * from its checkpoint. */
	if (!m->rb_worker)
		rebuild_stop(m);
	if ((rc = ldm_scan(m, &view, err)) < 0)
		return rc;
	for (size_t gi = 0; gi < view->ngroups; gi++) {
		struct ldm_group *G = &view->groups[gi];
		for (size_t i = 0; i < G->nvols; i++) {
			struct ldm_volume *v = &G->vols[i];
			if (v->bad[0]) {
				rc = gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name,
					     v->bad);
				goto out;
			}
			for (size_t p = 0; p < v->nplex; p++) {
				if (!v->plex[p].complete || !ldm_plex_rebuilding(&v->plex[p]))
					continue;
				for (size_t e = 0; e < v->plex[p].n; e++) {
					const struct ldm_extent *x = &v->plex[p].ext[e];
					uint32_t pid = x->rec->id;
					if ((rc = copy_plex(m, v, x, progress, pctx, err)) < 0)
						goto out;
					/* The background copy records the extent whole;
					 * the plex is marked healthy under the machine
					 * lock (rebuild_poll). */
					if (m->rb_worker) {
						if ((rc = checkpoint_set(m, x->rec, x->rec->u.part.size,
									 false, err)) < 0)
							goto out;
						left = true;
						continue;
					}
					if ((rc = mark_healthy(m, view, pid, err)) < 0 ||
					    (rc = checkpoint_set(m, x->rec, 0, true, err)) < 0 ||
					    (rc = failed_set(m, x->rec, false, err)) < 0)
						goto out;
					done++;
				}
			}
		}
	}
	rc = done;
	/* Every plex is whole: the background copy's file goes. */
	if (!left && !m->rb_worker)
		rebuild_forget(m);
out:
	ldm_view_free(view);
	return rc;
}

/* --- mirrors cut off in a write -------------------------------------------- */

static bool plex_present(struct machine *m, const struct ldm_plex *p)
{
	for (size_t e = 0; e < p->n; e++)
		if (p->ext[e].slot < 0 || !machine_disk(m, p->ext[e].slot))
			return false;
	return p->complete;
}

/* Writes sectors [s, s + n) of the volume, from buf, to plex p. */
static int plex_write(struct machine *m, const struct ldm_plex *p, uint64_t s, uint64_t n,
		      const uint8_t *buf)
{
	while (n > 0) {
		struct blkdev *dev;
		uint64_t abs, avail;
		if (plex_map(m, p, s, &dev, &abs, &avail) < 0)
			return -EIO;
		uint64_t k = avail < n ? avail : n;
		int rc = zero(buf, (size_t)k * SEC) ? blk_zero(dev, abs * SEC, k * SEC)
						    : blk_write(dev, abs * SEC, buf, (size_t)k * SEC);
		if (rc < 0)
			return rc;
		s += k;
		n -= k;
		buf += k * SEC;
	}
	return 0;
}

/* Makes the plexes of dirty volume v agree again: the regions of its map
 * copied from the first healthy plex to every other one. */
static int heal_volume(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		       ldm_progress_fn progress, void *pctx, struct gm_err *err)
{
	const uint32_t chunk = 16384; /* 8 MiB */
	struct ldm_dirty d;
	size_t src = v->nplex;
	uint32_t targets = 0, gone = 0;
	int rc = 0;

	if (v->bad[0])
		return gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name, v->bad);
	ldm_dirty_get(m, v, &d);
	for (size_t p = 0; p < v->nplex && p < 32; p++) {
		const struct ldm_plex *pl = &v->plex[p];
		if (!pl->complete || pl->failed)
			continue;
		if (!plex_present(m, pl))
			gone |= 1u << p;
		else if (src == v->nplex && !ldm_plex_rebuilding(pl))
			src = p;
		else
			targets |= 1u << p;
	}
	if (src == v->nplex)
		return gm_fail(err, GM_E_UNREADABLE, "%s was cut off in a write and has no "
			       "healthy plex to copy from", v->rec->name);
	for (size_t p = 0; p < v->nplex && p < 32; p++)
		for (size_t e = 0; (targets & (1u << p)) && e < v->plex[p].n; e++)
			if (!machine_disk(m, v->plex[p].ext[e].slot)->dev->writable)
				return gm_fail(err, GM_E_IO, "%s was cut off in a write, and disk %d, "
					       "which holds one of its plexes, is read-only: its "
					       "plexes still differ", v->rec->name,
					       v->plex[p].ext[e].slot);
	uint8_t *buf = malloc((size_t)chunk * SEC);
	if (!buf)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	struct ldm_volume one = *v;
	one.nplex = 1;
	uint64_t total = 0, done = 0;
	for (size_t r = 0; r < LDM_DIRTY_REGIONS; r++)
		if (d.map[r / 8] & (1u << (r & 7)))
			total++;
	for (size_t r = 0; r < LDM_DIRTY_REGIONS && rc == 0 && targets; r++) {
		if (!(d.map[r / 8] & (1u << (r & 7))))
			continue;
		uint64_t s = r * d.region;
		uint64_t end = r == LDM_DIRTY_REGIONS - 1 ? v->sectors : s + d.region;
		if (end > v->sectors)
			end = v->sectors;
		while (s < end && rc == 0) {
			uint32_t n = end - s < chunk ? (uint32_t)(end - s) : chunk;
			/* A source that fails the read is failed (it is copied
			 * whole later), and the next plex is the source from
			 * here on: the plexes left agree. */
			one.plex = &v->plex[src];
			while (ldm_vol_read(m, &one, s, n, buf, err) < 0) {
				gone |= 1u << src;
				size_t next = v->nplex;
				for (size_t p = 0; p < v->nplex && p < 32 && next == v->nplex; p++)
					if ((targets & (1u << p)) && !ldm_plex_rebuilding(&v->plex[p]))
						next = p;
				if (next == v->nplex) {
					rc = gm_fail(err, GM_E_IO, "%s was cut off in a write, and no "
						     "plex can be read to make the others agree",
						     v->rec->name);
					break;
				}
				src = next;
				targets &= ~(1u << src);
				one.plex = &v->plex[src];
			}
			for (size_t p = 0; p < v->nplex && p < 32 && rc == 0; p++)
				if ((targets & (1u << p)) && plex_write(m, &v->plex[p], s, n, buf) < 0)
					rc = gm_fail(err, GM_E_IO, "resynchronising %s: writing its "
						     "plex on disk %d failed", v->rec->name,
						     v->plex[p].ext[0].slot);
			s += n;
		}
		if (progress)
			progress(pctx, ++done, total);
	}
	free(buf);
	if (rc < 0)
		return rc;
	for (size_t p = 0; p < v->nplex && p < 32; p++)
		for (size_t e = 0; (targets & (1u << p)) && e < v->plex[p].n; e++)
			if (blk_flush(machine_disk(m, v->plex[p].ext[e].slot)->dev) < 0)
				return gm_fail(err, GM_E_IO, "flush failed");
	/* A plex whose disk is gone missed the write (and one that failed
	 * a read cannot be trusted): it is copied whole when the disk is
	 * back, as after any write it missed. */
	if (gone && (rc = ldm_mark_failed(m, view, v, gone, err)) < 0)
		return rc;
	return ldm_dirty_set(m, v, NULL, err);
}

int ldm_heal_dirty(struct machine *m, ldm_progress_fn progress, void *pctx, char *names,
		   size_t cap, struct gm_err *err)
{
	struct ldm_view *view;
	int healed = 0, rc = 0;
	size_t o = 0;

	if (names && cap)
		names[0] = '\0';
	if (ldm_scan(m, &view, err) < 0)
		return -1;
	for (size_t gi = 0; gi < view->ngroups && rc == 0; gi++)
		for (size_t i = 0; i < view->groups[gi].nvols && rc == 0; i++) {
			const struct ldm_volume *v = &view->groups[gi].vols[i];
			if (!v->dirty)
				continue;
			/* Under the I/O lock: a background copy waits. */
			rebuild_io_lock(m);
			rc = heal_volume(m, view, v, progress, pctx, err);
			rebuild_io_unlock(m);
			if (rc < 0)
				break;
			healed++;
			if (names && o < cap)
				o += (size_t)snprintf(names + o, cap - o, "%s%s", o ? ", " : "",
						      v->rec->name);
		}
	ldm_view_free(view);
	return rc < 0 ? rc : healed;
}

/* --- break, delete disk, convert basic ------------------------------------ */

static void drop_rec(struct gdb *g, size_t i)
{
	memmove(&g->recs[i], &g->recs[i + 1], (g->n - i - 1) * sizeof(g->recs[0]));
	g->n--;
}

static struct ldm_rec *find_rec(struct gdb *g, enum ldm_rec_type type, uint32_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->recs[i].type == type && g->recs[i].id == id)
			return &g->recs[i];
	return NULL;
}

/* The GPT entry that is exactly extent x (a plex's own LDM data entry). */
static long gpt_entry_of(struct disk *d, uint64_t abs_start, uint64_t size)
{
	for (size_t i = 0; d && i < d->nparts; i++)
		if (d->parts[i].kind == PK_LDM_DATA && d->parts[i].first_lba == abs_start &&
		    d->parts[i].last_lba - d->parts[i].first_lba + 1 == size)
			return (long)i;
	return -1;
}

/* The own GPT entries of extents that leave the database (break nokeep,
 * delete volume): collected before, dropped after the database is written,
 * so a crash in between leaves LDM data entries no record uses, which
 * every reader ignores. */
#define MAX_DROPS 32
struct drops {
	struct {
		int slot;
		uint64_t start, size;
	} v[MAX_DROPS];
	size_t n;
};

static void drops_add_plex(struct drops *dr, const struct ldm_plex *pl)
{
	for (size_t e = 0; e < pl->n && dr->n < MAX_DROPS; e++)
		if (pl->ext[e].slot >= 0) {
			dr->v[dr->n].slot = pl->ext[e].slot;
			dr->v[dr->n].start = pl->ext[e].abs_start;
			dr->v[dr->n].size = pl->ext[e].rec->u.part.size;
			dr->n++;
		}
}

static int drops_commit(struct machine *m, const struct drops *dr, struct gm_err *err)
{
	for (size_t i = 0; i < dr->n; i++) {
		struct disk *d = machine_disk(m, dr->v[i].slot);
		long k = gpt_entry_of(d, dr->v[i].start, dr->v[i].size);
		if (k < 0)
			continue;
		memmove(&d->parts[k], &d->parts[k + 1], (d->nparts - (size_t)k - 1) * sizeof(d->parts[0]));
		d->nparts--;
		int rc = disk_commit(d, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* break with keep: plex component cid of volume vid becomes a simple
 * volume of its own, with no letter and a name no other volume has. */
static int keep_as_simple(struct machine *m, struct gdb *g, uint32_t vid, uint32_t cid,
			  char *new_vol, size_t cap, struct gm_err *err)
{
	uint32_t id = next_id(g), vnum = 0, nvol = 0;
	struct guid vg;

	for (size_t i = 0; i < g->n; i++)
		if (g->recs[i].type == LDM_REC_VOLUME) {
			nvol++;
			if (g->recs[i].u.vol.number > vnum)
				vnum = g->recs[i].u.vol.number;
		}
	struct ldm_rec *nv = add_rec(g);
	if (!nv)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	*nv = *find_rec(g, LDM_REC_VOLUME, vid);
	nv->id = id++;
	nv->u.vol.nchildren = 1;
	nv->u.vol.number = (uint8_t)(vnum + 1);
	nv->u.vol.hint[0] = '\0';
	rng_guid(&m->rng, &vg);
	memcpy(nv->u.vol.guid, vg.b, 16);
	for (uint32_t k = nvol + 1;; k++) {
		namef(nv->name, sizeof(nv->name), "Volume%u", k);
		bool used = false;
		for (size_t i = 0; i + 1 < g->n; i++)
			used |= g->recs[i].type == LDM_REC_VOLUME &&
				strcmp(g->recs[i].name, nv->name) == 0;
		if (!used)
			break;
	}
	struct ldm_rec *cr = find_rec(g, LDM_REC_COMPONENT, cid);
	if (!cr)
		return gm_fail(err, GM_E_CORRUPT, "the plex record is gone");
	cr->u.comp.parent = nv->id;
	namef(cr->name, sizeof(cr->name), "%s-01", nv->name);
	if (new_vol)
		snprintf(new_vol, cap, "%s", nv->name);
	g->tx = (g->tx > id ? g->tx : id) + 1;
	return 0;
}

int ldm_break_mirror(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		     uint32_t disk_id, bool keep, char *new_vol, size_t cap,
		     struct gm_err *err)
{
	struct gdb g;
	int rc;

	if (v->kind != LK_MIRROR || v->nplex < 2)
		return gm_fail(err, GM_E_NOT_MIRROR, NULL);
	/* The plex on that disk, and an up-to-date one that stays. */
	const struct ldm_plex *gone = NULL;
	bool other_ok = false;
	for (size_t p = 0; p < v->nplex; p++) {
		bool on = false;
		for (size_t e = 0; e < v->plex[p].n; e++)
			on |= v->plex[p].ext[e].rec->u.part.disk == disk_id;
		if (on && !gone)
			gone = &v->plex[p];
		else if (v->plex[p].complete && !ldm_plex_rebuilding(&v->plex[p]))
			other_ok = true;
	}
	if (!gone)
		return gm_fail(err, GM_E_ARGS, "The volume has no plex on that disk.");
	/* The plex the running system was booted from stays. */
	const char *hint = v->rec->u.vol.hint;
	int running = (hint[0] == 'C' || hint[0] == 'c') && hint[1] == ':' ? boot_running_disk(m) : -1;
	for (size_t e = 0; running >= 0 && e < gone->n; e++)
		if (gone->ext[e].slot == running)
			return gm_fail(err, GM_E_RUNNING_PLEX, "The plex cannot be broken off: the "
				       "running system was booted from it (disk %d).", running);
	if (!other_ok)
		return gm_fail(err, GM_E_PLEX_LAST, NULL);
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	uint32_t cid = gone->rec->id, vid = v->rec->id;
	struct ldm_rec *vr = find_rec(&g, LDM_REC_VOLUME, vid);
	if (!vr) {
		free(g.recs);
		return gm_fail(err, GM_E_CORRUPT, "the volume record is gone");
	}
	vr->u.vol.nchildren--;
	/* Extents of that plex that have their own GPT entry (on a present disk). */
	struct drops dr = {.n = 0};
	drops_add_plex(&dr, gone);
	if (keep) {
		if ((rc = keep_as_simple(m, &g, vid, cid, new_vol, cap, err)) < 0) {
			free(g.recs);
			return rc;
		}
		dr.n = 0; /* its partitions stay */
	} else {
		for (size_t i = g.n; i-- > 0;)
			if ((g.recs[i].type == LDM_REC_COMPONENT && g.recs[i].id == cid) ||
			    (g.recs[i].type == LDM_REC_PARTITION && g.recs[i].u.part.parent == cid))
				drop_rec(&g, i);
		g.tx++;
	}
	/* The database first, then the GPT entries (see struct drops). */
	if ((rc = write_all(m, &g, -1, err)) == 0)
		rc = drops_commit(m, &dr, err);
	free(g.recs);
	return rc;
}

int ldm_delete_volume(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		      struct gm_err *err)
{
	struct gdb g;
	struct drops dr = {.n = 0};
	int rc;
	char key[96];

	/* Extents on present disks that have their own GPT entry go too. */
	for (size_t p = 0; p < v->nplex; p++)
		drops_add_plex(&dr, &v->plex[p]);
	for (size_t p = 0; p < v->nplex; p++)
		for (size_t e = 0; e < v->plex[p].n; e++) {
			const struct ldm_extent *x = &v->plex[p].ext[e];
			if (x->slot >= 0 && (rc = disk_check_writable(machine_disk(m, x->slot), err)) < 0)
				return rc;
		}
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	uint32_t vid = v->rec->id;
	for (size_t i = g.n; i-- > 0;) {
		if (g.recs[i].type != LDM_REC_PARTITION)
			continue;
		const struct ldm_rec *c = find_rec(&g, LDM_REC_COMPONENT, g.recs[i].u.part.parent);
		if (c && c->u.comp.parent == vid)
			drop_rec(&g, i);
	}
	for (size_t i = g.n; i-- > 0;)
		if ((g.recs[i].type == LDM_REC_COMPONENT && g.recs[i].u.comp.parent == vid) ||
		    (g.recs[i].type == LDM_REC_VOLUME && g.recs[i].id == vid))
			drop_rec(&g, i);
	g.tx++;
	/* The database first, then the GPT entries (see struct drops). */
	if ((rc = write_all(m, &g, -1, err)) == 0)
		rc = drops_commit(m, &dr, err);
	/* machine.conf's records of the volume: checkpoints, failed plexes,
	 * dirty regions (a later volume may take the same names). */
	for (size_t p = 0; rc == 0 && p < v->nplex; p++)
		for (size_t e = 0; e < v->plex[p].n; e++) {
			const struct ldm_rec *r = v->plex[p].ext[e].rec;
			namef(key, sizeof(key), "resync.%s", r->name);
			machine_extra_set(m, key, NULL, NULL);
			ldm_failed_key(r, key, sizeof(key));
			machine_extra_set(m, key, NULL, NULL);
		}
	if (rc == 0) {
		namef(key, sizeof(key), "dirty.%s", v->rec->name);
		machine_extra_set(m, key, NULL, NULL);
	}
	free(g.recs);
	return rc;
}

int ldm_delete_missing_disk(struct machine *m, struct ldm_view *view, uint32_t disk_id,
			    bool override, struct gm_err *err)
{
	struct gdb g;
	int rc;

	if (!view || view->ngroups == 0)
		return gm_fail(err, GM_E_ARGS, "there are no dynamic disks");
	const struct ldm_group *G = &view->groups[0];
	const struct ldm_gdisk *gd = NULL;
	for (size_t i = 0; i < G->ndisks; i++)
		if (G->disks[i].rec->id == disk_id)
			gd = &G->disks[i];
	if (!gd)
		return gm_fail(err, GM_E_ARGS, "no such dynamic disk");
	if (gd->slot >= 0)
		return gm_fail(err, GM_E_NOT_MISSING, NULL);
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	bool used = false;
	for (size_t i = 0; i < g.n; i++)
		used |= g.recs[i].type == LDM_REC_PARTITION && g.recs[i].u.part.disk == disk_id;
	if (used && !override) {
		free(g.recs);
		return gm_fail(err, GM_E_DISK_HAS_VOLUMES, NULL);
	}
	if (used) {
		/* override: its extents go, then empty plexes and volumes. */
		for (size_t i = g.n; i-- > 0;)
			if (g.recs[i].type == LDM_REC_PARTITION && g.recs[i].u.part.disk == disk_id) {
				uint32_t cid = g.recs[i].u.part.parent;
				drop_rec(&g, i);
				struct ldm_rec *c = find_rec(&g, LDM_REC_COMPONENT, cid);
				if (c && c->u.comp.nparts)
					c->u.comp.nparts--;
			}
		for (size_t i = g.n; i-- > 0;)
			if (g.recs[i].type == LDM_REC_COMPONENT && g.recs[i].u.comp.nparts == 0) {
				struct ldm_rec *vr = find_rec(&g, LDM_REC_VOLUME, g.recs[i].u.comp.parent);
				if (vr && vr->u.vol.nchildren)
					vr->u.vol.nchildren--;
				drop_rec(&g, i);
			}
		for (size_t i = g.n; i-- > 0;)
			if (g.recs[i].type == LDM_REC_VOLUME && g.recs[i].u.vol.nchildren == 0)
				drop_rec(&g, i);
	}
	for (size_t i = 0; i < g.n; i++)
		if (g.recs[i].type == LDM_REC_DISK && g.recs[i].id == disk_id) {
			drop_rec(&g, i);
			break;
		}
	g.tx++;
	rc = write_all(m, &g, -1, err);
	free(g.recs);
	return rc;
}

int ldm_convert_basic(struct machine *m, struct ldm_view *view, int slot,
		      struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);
	struct gdb g;
	int rc;

	if (!d)
		return gm_fail(err, GM_E_NO_DISK, "no disk %d", slot);
	if (!view || slot >= 16 || view->slot_group[slot] < 0)
		return gm_fail(err, GM_E_NOT_DYNAMIC, NULL);
	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	const struct ldm_group *G = &view->groups[view->slot_group[slot]];
	const struct ldm_gdisk *gd = NULL;
	for (size_t i = 0; i < G->ndisks; i++)
		if (G->disks[i].slot == slot)
			gd = &G->disks[i];
	if (!gd)
		return gm_fail(err, GM_E_NOT_DYNAMIC, NULL);
	if (gd->used)
		return gm_fail(err, GM_E_NOT_EMPTY, NULL);
	if (view->slot_group[slot] != 0)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "the disk belongs to a foreign disk group");
	if ((rc = load_group(m, view, &g, err)) < 0)
		return rc;
	uint32_t disk_id = gd->rec->id;
	uint64_t priv = gd->ph.private_start;
	for (size_t i = 0; i < g.n; i++)
		if (g.recs[i].type == LDM_REC_DISK && g.recs[i].id == disk_id) {
			drop_rec(&g, i);
			break;
		}
	/* The other members forget the disk, then its GPT turns basic: the
	 * metadata partition goes back to the MSR behind it (or is freed), LDM
	 * data entries no volume uses go, and its database is wiped last. */
	struct member keep[GM_MAX_SLOTS];
	size_t nk = 0;
	for (size_t i = 0; i < g.nmem; i++)
		if (g.mem[i].slot != slot)
			keep[nk++] = g.mem[i];
	memcpy(g.mem, keep, nk * sizeof(keep[0]));
	g.nmem = nk;
	g.tx++;
	if ((rc = write_all(m, &g, -1, err)) < 0)
		goto out;
	size_t w = 0;
	uint64_t meta_first = 0, meta_last = 0;
	bool had_meta = false;
	for (size_t i = 0; i < d->nparts; i++) {
		struct part *p = &d->parts[i];
		if (p->kind == PK_LDM_META) {
			meta_first = p->first_lba;
			meta_last = p->last_lba;
			had_meta = true;
			continue;
		}
		if (p->kind == PK_LDM_DATA)
			continue;
		d->parts[w++] = *p;
	}
	d->nparts = w;
	disk_renumber(d); /* a whole new layout, in disk order */
	for (size_t i = 0; had_meta && i < d->nparts; i++)
		if (d->parts[i].kind == PK_MSR && d->parts[i].first_lba == meta_last + 1)
			d->parts[i].first_lba = meta_first;
	if ((rc = disk_commit(d, err)) < 0)
		goto out;
	if (blk_zero(d->dev, priv * SEC, (size_t)LDM_PRIVATE_SECTORS * SEC) < 0 ||
	    blk_flush(d->dev) < 0)
		rc = gm_fail(err, GM_E_IO, "wiping the old database on disk %d failed", slot);
out:
	free(g.recs);
	return rc;
}

int ldm_heal(struct machine *m, int *healed_slots, struct gm_err *err)
{
	struct ldm_view *view;
	struct gdb g;
	int rc, n = 0;

	if ((rc = ldm_scan(m, &view, err)) < 0)
		return rc;
	if (!ldm_needs_heal(view) || view->ngroups == 0) {
		ldm_view_free(view);
		return 0;
	}
	const struct ldm_group *G = &view->groups[0];
	for (size_t d = 0; d < G->ndisks; d++)
		if (G->disks[d].slot >= 0 && G->disks[d].stale) {
			if (healed_slots)
				healed_slots[n] = G->disks[d].slot;
			n++;
		}
	if ((rc = load_group(m, view, &g, err)) == 0) {
		g.tx++;
		rc = write_all(m, &g, -1, err);
		free(g.recs);
	}
	ldm_view_free(view);
	return rc < 0 ? rc : n;
}
