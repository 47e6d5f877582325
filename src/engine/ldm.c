/*
 * ldm.c - reading Windows dynamic disks. Where the database is: on GPT, the
 * PRIVHEAD is the last sector of the LDM metadata partition; on MBR (type
 * 0x42), it is LBA 6. The TOCBLOCK with the highest update sequence among
 * the four slots names the config region, whose VMDB is followed by the
 * VBLK slots. The disk with the highest committed transaction supplies the
 * group's records; the others must agree on the group GUID.
 */
#include "ldm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "machine.h"

#define SEC 512u

const char *ldm_kind_str(enum ldm_kind k)
{
	static const char *const s[] = {"Simple", "Spanned", "Stripe", "Mirror", "RAID-5"};
	return s[k];
}

const char *ldm_health_str(enum ldm_health h)
{
	return h == LH_HEALTHY ? "Healthy" : h == LH_FAILED_RD ? "Failed Rd" : "Failed";
}

struct disk_db {
	bool ph_copy;  /* the first PRIVHEAD was damaged: read from its copy */
	struct ldm_privhead ph;
	struct ldm_vmdb vmdb;
	struct ldm_rec *recs;
	size_t nrecs;
};

static int rd(struct disk *d, uint64_t lba, void *buf, size_t len)
{
	return blk_read(d->dev, lba * SEC, buf, len);
}

/* The PRIVHEAD's LBA, or 0 if the disk is not dynamic. */
static uint64_t privhead_lba(const struct disk *d)
{
	if (d->style == DS_GPT) {
		for (size_t i = 0; i < d->nparts; i++)
			if (d->parts[i].kind == PK_LDM_META)
				return d->parts[i].last_lba * (d->ss / SEC);
	} else if (d->style == DS_MBR) {
		for (size_t i = 0; i < d->nparts; i++)
			if (d->parts[i].mbr_type == 0x42)
				return 6;
	}
	return 0;
}

static int read_db(struct disk *d, struct disk_db *db, char *why, size_t cap)
{
	uint8_t sec[SEC];
	const char *w = NULL;
	uint64_t ph_lba = privhead_lba(d);

	memset(db, 0, sizeof(*db));
	if (!ph_lba)
		return 1;
	if (rd(d, ph_lba, sec, SEC) < 0 || ldm_privhead_decode(sec, SEC, &db->ph, &w) < 0) {
		/* The copy at private + 1856 (GPT: the metadata partition's
		 * last sector is private + 2047). */
		const char *w1 = w;
		if (d->style != DS_GPT || ph_lba < LDM_PH1 - LDM_PH2 ||
		    rd(d, ph_lba - (LDM_PH1 - LDM_PH2), sec, SEC) < 0 ||
		    ldm_privhead_decode(sec, SEC, &db->ph, &w) < 0) {
			snprintf(why, cap, "both PRIVHEAD copies are damaged (%s)",
				 w1 ? w1 : "unreadable");
			return -1;
		}
		db->ph_copy = true;
	}
	uint64_t dsec = disk_bytes(d) / SEC;
	if (db->ph.private_start >= dsec || db->ph.private_size > dsec - db->ph.private_start) {
		snprintf(why, cap, "the private region lies outside the disk");
		return -1;
	}
	/* The newest valid TOCBLOCK of the four slots. */
	struct ldm_tocblock best = {0}, t;
	bool have = false;
	static const uint64_t slots[] = {1, 2, 2045, 2046};
	for (size_t i = 0; i < 4; i++) {
		if (slots[i] >= db->ph.private_size)
			continue;
		if (rd(d, db->ph.private_start + slots[i], sec, SEC) == 0 &&
		    ldm_tocblock_decode(sec, SEC, &t, &w) == 0 && (!have || t.usn > best.usn)) {
			best = t;
			have = true;
		}
	}
	if (!have) {
		snprintf(why, cap, "no valid TOCBLOCK");
		return 2;
	}
	if (best.config.start >= db->ph.private_size ||
	    best.config.size > db->ph.private_size - best.config.start || best.config.size < 2) {
		snprintf(why, cap, "the config region lies outside the private region");
		return 2;
	}
	size_t clen = (size_t)best.config.size * SEC;
	uint8_t *cfg = malloc(clen);
	if (!cfg || rd(d, db->ph.private_start + best.config.start, cfg, clen) < 0) {
		free(cfg);
		snprintf(why, cap, "cannot read the config region");
		return -1;
	}
	int prc = ldm_config_parse(cfg, clen, &db->vmdb, &db->recs, &db->nrecs, why, cap);
	free(cfg);
	return prc < 0 ? 2 : 0;
}

/* A record of sl.frag_count fragments, joined from the slots of its
 * group in fragment order into joined (4 * LDM_SLOT_PAYLOAD bytes). */
static int join_record(const uint8_t *cfg, size_t nslots, const struct ldm_slot *sl,
		       uint8_t *joined, size_t *jl, char *why, size_t cap)
{
	memcpy(joined, sl->payload, LDM_SLOT_PAYLOAD);
	*jl = LDM_SLOT_PAYLOAD;
	for (uint16_t f = 1; f < sl->frag_count; f++) {
		bool found = false;
		for (size_t o = 4; o < nslots && !found; o++) {
			struct ldm_slot s2;
			if (ldm_slot_decode(cfg + o * LDM_SLOT_SIZE, LDM_SLOT_SIZE, &s2) == 0 &&
			    s2.group == sl->group && s2.frag_index == f) {
				memcpy(joined + *jl, s2.payload, LDM_SLOT_PAYLOAD);
				*jl += LDM_SLOT_PAYLOAD;
				found = true;
			}
		}
		if (!found) {
			snprintf(why, cap, "a record's fragment %u is missing", f);
			return -1;
		}
	}
	return 0;
}

/* The committed counts of the VMDB must match the records found. */
static int check_counts(const struct ldm_vmdb *vmdb, const struct ldm_rec *recs, size_t nrecs,
			char *why, size_t cap)
{
	uint32_t nv = 0, nc = 0, np = 0, nd = 0;

	for (size_t i = 0; i < nrecs; i++) {
		switch (recs[i].type) {
		case LDM_REC_VOLUME: nv++; break;
		case LDM_REC_COMPONENT: nc++; break;
		case LDM_REC_PARTITION: np++; break;
		case LDM_REC_DISK: nd++; break;
		default: break;
		}
	}
	if (nv != vmdb->n_vol || nc != vmdb->n_comp || np != vmdb->n_part || nd != vmdb->n_disk) {
		snprintf(why, cap, "VMDB counts (%u volumes, %u plexes, %u extents, %u disks) "
			 "do not match the records found (%u, %u, %u, %u)", vmdb->n_vol,
			 vmdb->n_comp, vmdb->n_part, vmdb->n_disk, nv, nc, np, nd);
		return -1;
	}
	return 0;
}

int ldm_config_parse(const uint8_t *cfg, size_t clen, struct ldm_vmdb *vmdb,
		     struct ldm_rec **recs_out, size_t *nrecs_out, char *why, size_t cap)
{
	const char *w = NULL;
	struct ldm_rec *recs = NULL;
	size_t nrecs = 0;

	*recs_out = NULL;
	*nrecs_out = 0;
	if (ldm_vmdb_decode(cfg, clen, vmdb, &w) < 0) {
		snprintf(why, cap, "%s", w);
		return -1;
	}
	/* Slots from 4, joined by group number. */
	size_t nslots = clen / LDM_SLOT_SIZE, cap_r = 16;
	if (vmdb->last_seq < nslots)
		nslots = vmdb->last_seq;
	recs = calloc(cap_r, sizeof(*recs));
	uint8_t *joined = malloc(4 * LDM_SLOT_PAYLOAD);
	int rc = 0;
	for (size_t s = 4; s < nslots && recs && joined; s++) {
		struct ldm_slot sl;
		int k = ldm_slot_decode(cfg + s * LDM_SLOT_SIZE, LDM_SLOT_SIZE, &sl);
		if (k != 0)
			break; /* the end of the VBLK area (KLOG or garbage) */
		if (sl.frag_count == 0 || sl.frag_index != 0)
			continue;
		if (sl.frag_count > 4) {
			snprintf(why, cap, "a record has more than 4 fragments");
			rc = -1;
			break;
		}
		size_t jl;
		if ((rc = join_record(cfg, nslots, &sl, joined, &jl, why, cap)) < 0)
			break;
		struct ldm_rec r;
		int dr = ldm_rec_decode(joined, jl, &r, &w);
		if (dr < 0) {
			snprintf(why, cap, "bad VBLK record: %s", w);
			rc = -1;
			break;
		}
		if (dr == 1)
			continue;
		if (nrecs == cap_r) {
			cap_r *= 2;
			struct ldm_rec *nr = realloc(recs, cap_r * sizeof(*nr));
			if (!nr) {
				rc = -1;
				break;
			}
			recs = nr;
		}
		recs[nrecs++] = r;
	}
	free(joined);
	if (rc < 0 || !recs) {
		free(recs);
		if (!recs && rc == 0)
			snprintf(why, cap, "out of memory");
		return -1;
	}
	if (check_counts(vmdb, recs, nrecs, why, cap) < 0) {
		free(recs);
		return -1;
	}
	*recs_out = recs;
	*nrecs_out = nrecs;
	return 0;
}

static const struct ldm_rec *find_rec(const struct ldm_group *g, enum ldm_rec_type t,
				      uint32_t id)
{
	for (size_t i = 0; i < g->nrecs; i++)
		if (g->recs[i].type == t && g->recs[i].id == id)
			return &g->recs[i];
	return NULL;
}

static int cmp_ext(const void *a, const void *b)
{
	const struct ldm_extent *x = a, *y = b;
	uint64_t kx = x->rec->u.part.column * (1ull << 48) + x->rec->u.part.vol_offset;
	uint64_t ky = y->rec->u.part.column * (1ull << 48) + y->rec->u.part.vol_offset;
	return kx < ky ? -1 : kx > ky;
}

static int build(struct ldm_group *g, char *why, size_t cap)
{
	size_t nd = 0, nv = 0;

	for (size_t i = 0; i < g->nrecs; i++) {
		nd += g->recs[i].type == LDM_REC_DISK;
		nv += g->recs[i].type == LDM_REC_VOLUME;
	}
	g->disks = calloc(nd ? nd : 1, sizeof(*g->disks));
	g->vols = calloc(nv ? nv : 1, sizeof(*g->vols));
	if (!g->disks || !g->vols)
		return -1;
	for (size_t i = 0; i < g->nrecs; i++)
		if (g->recs[i].type == LDM_REC_DISK) {
			g->disks[g->ndisks].rec = &g->recs[i];
			g->disks[g->ndisks].slot = -1;
			g->ndisks++;
		}
	for (size_t i = 0; i < g->nrecs; i++) {
		const struct ldm_rec *vr = &g->recs[i];
		if (vr->type != LDM_REC_VOLUME)
			continue;
		struct ldm_volume *v = &g->vols[g->nvols++];
		v->rec = vr;
		v->sectors = vr->u.vol.size;
		v->plex = calloc(vr->u.vol.nchildren ? vr->u.vol.nchildren : 1, sizeof(*v->plex));
		if (!v->plex)
			return -1;
		for (size_t j = 0; j < g->nrecs; j++) {
			const struct ldm_rec *cr = &g->recs[j];
			if (cr->type != LDM_REC_COMPONENT || cr->u.comp.parent != vr->id)
				continue;
			if (v->nplex >= vr->u.vol.nchildren) {
				snprintf(why, cap, "volume %s has more plexes than it says", vr->name);
				return -1;
			}
			struct ldm_plex *p = &v->plex[v->nplex++];
			p->rec = cr;
			p->ext = calloc(cr->u.comp.nparts ? cr->u.comp.nparts : 1, sizeof(*p->ext));
			if (!p->ext)
				return -1;
			for (size_t k = 0; k < g->nrecs; k++) {
				const struct ldm_rec *pr = &g->recs[k];
				if (pr->type != LDM_REC_PARTITION || pr->u.part.parent != cr->id)
					continue;
				if (p->n >= cr->u.comp.nparts) {
					snprintf(why, cap, "plex %s has more extents than it says", cr->name);
					return -1;
				}
				struct ldm_extent *e = &p->ext[p->n++];
				e->rec = pr;
				e->slot = -1;
				if (!find_rec(g, LDM_REC_DISK, pr->u.part.disk)) {
					snprintf(why, cap, "extent %s is on an unknown disk", pr->name);
					return -1;
				}
			}
			if (p->n != cr->u.comp.nparts) {
				snprintf(why, cap, "plex %s has %zu of its %u extents", cr->name, p->n,
					 cr->u.comp.nparts);
				return -1;
			}
			qsort(p->ext, p->n, sizeof(*p->ext), cmp_ext);
		}
		if (v->nplex != vr->u.vol.nchildren || v->nplex == 0) {
			snprintf(why, cap, "volume %s has %zu of its %u plexes", vr->name, v->nplex,
				 vr->u.vol.nchildren);
			return -1;
		}
		const struct ldm_rec *c0 = v->plex[0].rec;
		if (v->nplex > 1)
			v->kind = LK_MIRROR;
		else if (c0->u.comp.layout == LDM_RAID5)
			v->kind = LK_RAID5;
		else if (c0->u.comp.layout == LDM_STRIPE)
			v->kind = LK_STRIPE;
		else
			v->kind = v->plex[0].n > 1 ? LK_SPANNED : LK_SIMPLE;
		if ((v->kind == LK_STRIPE || v->kind == LK_RAID5) &&
		    (c0->u.comp.stripe == 0 || c0->u.comp.columns != v->plex[0].n ||
		     (v->kind == LK_RAID5 && v->plex[0].n < 3))) {
			snprintf(why, cap, "volume %s has a bad stripe layout", vr->name);
			return -1;
		}
	}
	return 0;
}

/* Placement and health, once the present disks are known. */
static void place(struct ldm_group *g)
{
	for (size_t i = 0; i < g->nvols; i++) {
		struct ldm_volume *v = &g->vols[i];
		size_t complete = 0, missing_cols = 0;
		for (size_t p = 0; p < v->nplex; p++) {
			struct ldm_plex *pl = &v->plex[p];
			pl->complete = true;
			for (size_t e = 0; e < pl->n; e++) {
				struct ldm_extent *x = &pl->ext[e];
				x->slot = -1;
				for (size_t d = 0; d < g->ndisks; d++)
					if (g->disks[d].rec->id == x->rec->u.part.disk &&
					    g->disks[d].slot >= 0) {
						x->slot = g->disks[d].slot;
						x->abs_start = g->disks[d].ph.public_start + x->rec->u.part.start;
					}
				if (x->slot < 0) {
					pl->complete = false;
					missing_cols++;
				}
			}
			complete += pl->complete;
		}
		if (v->kind == LK_MIRROR)
			v->health = complete == v->nplex ? LH_HEALTHY : complete ? LH_FAILED_RD : LH_FAILED;
		else if (v->kind == LK_RAID5)
			v->health = missing_cols == 0 ? LH_HEALTHY : missing_cols == 1 ? LH_FAILED_RD : LH_FAILED;
		else
			v->health = complete ? LH_HEALTHY : LH_FAILED;
	}
	for (size_t d = 0; d < g->ndisks; d++) {
		g->disks[d].used = 0;
		for (size_t i = 0; i < g->nrecs; i++)
			if (g->recs[i].type == LDM_REC_PARTITION &&
			    g->recs[i].u.part.disk == g->disks[d].rec->id)
				g->disks[d].used += g->recs[i].u.part.size;
	}
}

void ldm_failed_key(const struct ldm_rec *part, char *buf, size_t cap)
{
	snprintf(buf, cap, "failed.%s", part->name);
}

/* --- dirty regions -------------------------------------------------------- */

static void dirty_key(const struct ldm_volume *v, char *buf, size_t cap)
{
	snprintf(buf, cap, "dirty.%s", v->rec->name);
}

void ldm_dirty_init(const struct ldm_volume *v, struct ldm_dirty *d)
{
	uint64_t r = (v->sectors + LDM_DIRTY_REGIONS - 1) / LDM_DIRTY_REGIONS;

	memset(d, 0, sizeof(*d));
	d->region = (r + 2047) / 2048 * 2048; /* whole MiB */
	if (d->region == 0)
		d->region = 2048;
}

bool ldm_dirty_add(struct ldm_dirty *d, uint64_t lba, uint64_t n)
{
	bool added = false;

	if (n == 0)
		return false;
	for (uint64_t r = lba / d->region; r <= (lba + n - 1) / d->region; r++) {
		uint64_t k = r < LDM_DIRTY_REGIONS ? r : LDM_DIRTY_REGIONS - 1;
		uint8_t bit = (uint8_t)(1u << (k & 7));
		if (!(d->map[k / 8] & bit)) {
			d->map[k / 8] |= bit;
			added = true;
		}
	}
	return added;
}

bool ldm_dirty_any(const struct ldm_dirty *d)
{
	for (size_t i = 0; i < sizeof(d->map); i++)
		if (d->map[i])
			return true;
	return false;
}

int ldm_dirty_get(struct machine *m, const struct ldm_volume *v, struct ldm_dirty *d)
{
	char k[96];
	const char *val;

	ldm_dirty_init(v, d);
	dirty_key(v, k, sizeof(k));
	if (!(val = machine_extra_get(m, k)))
		return 0;
	/* "<sectors per region>:<hex>"; anything unreadable means all of it. */
	char *end;
	unsigned long long r = strtoull(val, &end, 10);
	size_t n = 0;
	if (r >= 2048 && *end == ':') {
		d->region = r;
		for (const char *h = end + 1; h[0] && h[1] && n < sizeof(d->map); h += 2) {
			unsigned x;
			if (sscanf(h, "%2x", &x) != 1)
				goto all;
			d->map[n++] = (uint8_t)x;
		}
		if (ldm_dirty_any(d))
			return 1;
	}
all:
	ldm_dirty_init(v, d);
	memset(d->map, 0xff, sizeof(d->map));
	return 1;
}

int ldm_dirty_set(struct machine *m, const struct ldm_volume *v, const struct ldm_dirty *d,
		  struct gm_err *err)
{
	char k[96], val[32 + 2 * LDM_DIRTY_REGIONS / 8];
	size_t n = sizeof(d->map), o;

	dirty_key(v, k, sizeof(k));
	if (!d || !ldm_dirty_any(d))
		return machine_extra_set(m, k, NULL, err);
	while (n > 0 && !d->map[n - 1])
		n--;
	o = (size_t)snprintf(val, sizeof(val), "%" PRIu64 ":", d->region);
	for (size_t i = 0; i < n && o + 3 <= sizeof(val); i++)
		o += (size_t)snprintf(val + o, sizeof(val) - o, "%02x", d->map[i]);
	return machine_extra_set(m, k, val, err);
}

const char *ldm_status_str(const struct ldm_volume *v)
{
	if (v->health != LH_HEALTHY)
		return ldm_health_str(v->health);
	if (v->dirty)
		return "Resynching";
	for (size_t p = 0; p < v->nplex; p++)
		if (v->nplex > 1 && ldm_plex_rebuilding(&v->plex[p]))
			return "Rebuild";
	return "Healthy";
}

/* Every extent of a present disk lies inside that disk's LDM data area
 * (an LDM data partition of its table, off the private region, inside the
 * public region the PRIVHEAD gives) and inside its volume; a volume with
 * one that does not is Failed and takes no I/O, so that no record can aim
 * a write at metadata, an ESP or another volume. Byte offsets: LDM counts
 * 512-byte sectors, the table the disk's own. */
static void check_extents(struct machine *m, struct ldm_group *g)
{
	for (size_t i = 0; i < g->nvols; i++) {
		struct ldm_volume *v = &g->vols[i];
		bool striped = v->kind == LK_STRIPE || v->kind == LK_RAID5;
		for (size_t p = 0; p < v->nplex && !v->bad[0]; p++)
			for (size_t e = 0; e < v->plex[p].n && !v->bad[0]; e++) {
				const struct ldm_extent *x = &v->plex[p].ext[e];
				struct disk *d = x->slot >= 0 ? machine_disk(m, x->slot) : NULL;
				const struct ldm_privhead *ph = NULL;
				for (size_t k = 0; k < g->ndisks; k++)
					if (g->disks[k].slot == x->slot && x->slot >= 0)
						ph = &g->disks[k].ph;
				if (!d || !ph)
					continue;
				uint64_t start = x->abs_start, n = x->rec->u.part.size;
				uint64_t a = start * SEC, b = (start + n) * SEC;
				const char *what = NULL;
				bool inside = false;
				for (size_t k = 0; k < d->nparts; k++)
					if (d->parts[k].kind == PK_LDM_DATA &&
					    a >= d->parts[k].first_lba * d->ss &&
					    b <= (d->parts[k].last_lba + 1) * d->ss)
						inside = true;
				if (n == 0)
					what = "is empty";
				else if (start + n < start || b > d->lbas * d->ss)
					what = "reaches past the end of its disk";
				else if (start < ph->public_start ||
					 start + n > ph->public_start + ph->public_size)
					what = "lies outside its disk's public region";
				else if (start < ph->private_start + ph->private_size &&
					 start + n > ph->private_start)
					what = "overlaps its disk's LDM database";
				else if (!inside)
					what = "lies outside its disk's LDM data partition";
				else if (!striped && (x->rec->u.part.vol_offset + n < n ||
						      x->rec->u.part.vol_offset + n > v->sectors))
					what = "reaches past the end of its volume";
				if (what)
					snprintf(v->bad, sizeof(v->bad), "extent %.40s (sectors %" PRIu64
						 "-%" PRIu64 " of disk %d) %s", x->rec->name, start,
						 start + n - 1, x->slot, what);
			}
		if (v->bad[0])
			v->health = LH_FAILED;
	}
}

/* Plexes that failed an I/O, as machine.conf remembers them. */
static void mark_failed_plexes(struct machine *m, struct ldm_group *g)
{
	for (size_t i = 0; i < g->nvols; i++) {
		struct ldm_volume *v = &g->vols[i];
		size_t ok = 0;
		for (size_t p = 0; p < v->nplex; p++) {
			struct ldm_plex *pl = &v->plex[p];
			for (size_t e = 0; e < pl->n; e++) {
				char k[96];
				ldm_failed_key(pl->ext[e].rec, k, sizeof(k));
				if (machine_extra_get(m, k))
					pl->failed = true;
			}
			ok += pl->complete && !pl->failed;
		}
		if (v->kind == LK_MIRROR && v->health == LH_HEALTHY && ok < v->nplex)
			v->health = ok ? LH_FAILED_RD : LH_FAILED;
		char k[96];
		dirty_key(v, k, sizeof(k));
		v->dirty = machine_extra_get(m, k) != NULL;
	}
}

void ldm_view_free(struct ldm_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->ngroups; i++) {
		struct ldm_group *g = &v->groups[i];
		for (size_t j = 0; j < g->nvols; j++) {
			for (size_t p = 0; p < g->vols[j].nplex; p++)
				free(g->vols[j].plex[p].ext);
			free(g->vols[j].plex);
		}
		free(g->vols);
		free(g->disks);
		free(g->recs);
	}
	free(v->groups);
	free(v);
}

int ldm_scan(struct machine *m, struct ldm_view **out, struct gm_err *err)
{
	struct ldm_view *v = calloc(1, sizeof(*v));
	struct disk_db dbs[GM_MAX_SLOTS];
	int have[GM_MAX_SLOTS] = {0};

	if (!v)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	memset(dbs, 0, sizeof(dbs));
	for (int s = 0; s < GM_MAX_SLOTS; s++)
		v->slot_group[s] = -1;
	for (int s = 0; s < m->nslots && s < GM_MAX_SLOTS; s++) {
		struct disk *d = machine_disk(m, s);
		if (!d)
			continue;
		int rc = read_db(d, &dbs[s], v->slot_why[s], sizeof(v->slot_why[s]));
		if (rc == 0)
			have[s] = 1;
		else if (rc == 2)
			have[s] = 2; /* a member by its PRIVHEAD; its database is damaged */
	}
	v->groups = calloc(GM_MAX_SLOTS, sizeof(*v->groups));
	if (!v->groups) {
		ldm_view_free(v);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	for (int s = 0; s < m->nslots && s < GM_MAX_SLOTS; s++) {
		if (!have[s])
			continue;
		size_t gi;
		for (gi = 0; gi < v->ngroups; gi++)
			if (strcmp(v->groups[gi].guid, dbs[s].ph.dg_guid) == 0)
				break;
		if (gi == v->ngroups) {
			struct ldm_group *g = &v->groups[v->ngroups++];
			snprintf(g->guid, sizeof(g->guid), "%s", dbs[s].ph.dg_guid);
			snprintf(g->name, sizeof(g->name), "%s", dbs[s].vmdb.dg_name);
		}
		v->slot_group[s] = (int)gi;
		struct ldm_group *g = &v->groups[gi];
		if (have[s] == 2) {
			v->slot_damaged[s] = true;
			continue;
		}
		/* The newest database wins. */
		if (!g->recs || dbs[s].vmdb.committed_tx > g->vmdb.committed_tx) {
			snprintf(g->name, sizeof(g->name), "%s", dbs[s].vmdb.dg_name);
			free(g->recs);
			g->recs = dbs[s].recs;
			g->nrecs = dbs[s].nrecs;
			g->vmdb = dbs[s].vmdb;
			dbs[s].recs = NULL;
		}
	}
	for (int s = 0; s < GM_MAX_SLOTS; s++)
		free(dbs[s].recs);
	for (size_t gi = 0; gi < v->ngroups; gi++) {
		struct ldm_group *g = &v->groups[gi];
		char why[160] = "";
		if (!g->recs) {
			/* Every member's copy is damaged. */
			for (int s = 0; s < m->nslots && s < GM_MAX_SLOTS; s++)
				if (v->slot_group[s] == (int)gi && !why[0])
					snprintf(why, sizeof(why), "%s", v->slot_why[s]);
			int rc = gm_fail(err, GM_E_UNREADABLE, "the dynamic disk group %s cannot "
					 "be read: every copy of its database is damaged (%s)",
					 g->name[0] ? g->name : g->guid, why);
			ldm_view_free(v);
			return rc;
		}
		if (build(g, why, sizeof(why)) < 0) {
			ldm_view_free(v);
			return gm_fail(err, GM_E_UNREADABLE, "the dynamic disk group %s cannot be "
				       "read: %s", g->name, why);
		}
		for (int s = 0; s < m->nslots && s < GM_MAX_SLOTS; s++) {
			if (v->slot_group[s] != (int)gi)
				continue;
			struct disk_db tmp;
			char w2[160];
			int r2 = read_db(machine_disk(m, s), &tmp, w2, sizeof(w2));
			for (size_t d = 0; d < g->ndisks; d++)
				if (strcasecmp(g->disks[d].rec->u.disk.guid, tmp.ph.disk_guid) == 0) {
					g->disks[d].slot = s;
					g->disks[d].ph = tmp.ph;
					g->disks[d].tx = r2 == 0 ? tmp.vmdb.committed_tx : 0;
					g->disks[d].stale = r2 != 0 || tmp.ph_copy ||
							    tmp.vmdb.committed_tx != g->vmdb.committed_tx;
					if (r2 == 0 && tmp.ph_copy)
						snprintf(v->slot_why[s], sizeof(v->slot_why[s]),
							 "its first PRIVHEAD is damaged");
				}
			free(tmp.recs);
		}
		place(g);
		check_extents(m, g);
		mark_failed_plexes(m, g);
	}
	*out = v;
	return 0;
}

bool ldm_needs_heal(const struct ldm_view *v)
{
	for (size_t g = 0; v && g < v->ngroups; g++)
		for (size_t d = 0; d < v->groups[g].ndisks; d++)
			if (v->groups[g].disks[d].slot >= 0 && v->groups[g].disks[d].stale)
				return true;
	return false;
}

int ldm_plex_on_slot(const struct ldm_volume *v, int slot)
{
	for (size_t p = 0; p < v->nplex; p++) {
		bool all = v->plex[p].n > 0 && !v->plex[p].failed;
		for (size_t e = 0; e < v->plex[p].n; e++)
			all &= v->plex[p].ext[e].slot == slot;
		if (all)
			return (int)p;
	}
	return -1;
}

bool ldm_plex_rebuilding(const struct ldm_plex *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ext[i].rec->u.part.pflags & 0x08)
			return true;
	return false;
}

/* --- reading a volume ---------------------------------------------------- */

static int ext_read(struct machine *m, const struct ldm_extent *x, uint64_t off,
		    uint32_t n, uint8_t *buf, struct gm_err *err)
{
	struct disk *d = x->slot >= 0 ? machine_disk(m, x->slot) : NULL;

	if (!d || off + n > x->rec->u.part.size)
		return gm_fail(err, GM_E_UNREADABLE, "extent %s is not readable", x->rec->name);
	int rc = blk_read(d->dev, (x->abs_start + off) * SEC, buf, (size_t)n * SEC);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "reading %s failed", x->rec->name);
	return 0;
}

/* A concatenated plex: extents in volume-offset order. */
static int concat_read(struct machine *m, const struct ldm_plex *p, uint64_t lba,
		       uint32_t n, uint8_t *buf, struct gm_err *err)
{
	while (n > 0) {
		const struct ldm_extent *x = NULL;
		for (size_t i = 0; i < p->n; i++) {
			uint64_t o = p->ext[i].rec->u.part.vol_offset;
			if (lba >= o && lba < o + p->ext[i].rec->u.part.size)
				x = &p->ext[i];
		}
		if (!x)
			return gm_fail(err, GM_E_UNREADABLE, "sector %" PRIu64 " is in no extent", lba);
		uint64_t in = lba - x->rec->u.part.vol_offset;
		uint64_t k = x->rec->u.part.size - in;
		uint32_t take = k < n ? (uint32_t)k : n;
		int rc = ext_read(m, x, in, take, buf, err);
		if (rc < 0)
			return rc;
		lba += take;
		n -= take;
		buf += (size_t)take * SEC;
	}
	return 0;
}

int ldm_vol_read(struct machine *m, const struct ldm_volume *v, uint64_t lba,
		 uint32_t n, uint8_t *buf, struct gm_err *err)
{
	if (v->bad[0])
		return gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name, v->bad);
	if (lba > v->sectors || n > v->sectors - lba)
		return gm_fail(err, GM_E_ARGS, "read past the end of %s", v->rec->name);
	if (v->kind == LK_SIMPLE || v->kind == LK_SPANNED || v->kind == LK_MIRROR) {
		/* Any complete plex serves; a failing one hands over to the next. */
		int rc = gm_fail(err, GM_E_UNREADABLE, "%s has no complete plex", v->rec->name);
		for (size_t p = 0; p < v->nplex; p++) {
			/* A plex still being rebuilt holds no data to trust. */
			if (!v->plex[p].complete || v->plex[p].failed ||
			    (v->nplex > 1 && ldm_plex_rebuilding(&v->plex[p])))
				continue;
			if ((rc = concat_read(m, &v->plex[p], lba, n, buf, err)) == 0)
				return 0;
		}
		return rc;
	}
	const struct ldm_plex *p = &v->plex[0];
	uint64_t S = p->rec->u.comp.stripe, N = p->n;
	uint8_t *tmp = NULL;
	while (n > 0) {
		uint64_t chunk = lba / S, within = lba % S;
		uint32_t take = (uint32_t)(S - within < n ? S - within : n);
		uint64_t col, row;
		if (v->kind == LK_STRIPE) {
			col = chunk % N;
			row = chunk / N;
		} else {
			/* RAID-5, left symmetric (device-mapper's raid5_ls): the
			 * parity walks from the last column down, and a row's data
			 * starts in the column after its parity, wrapping round.
			 * Checked on the Windows 2003 R2 and 2008 R2 fixtures. */
			row = chunk / (N - 1);
			uint64_t d = chunk % (N - 1), parity = (N - 1) - row % N;
			col = (parity + 1 + d) % N;
		}
		const struct ldm_extent *x = &p->ext[col];
		uint64_t off = row * S + within;
		int rc;
		if (x->slot >= 0) {
			rc = ext_read(m, x, off, take, buf, err);
		} else if (v->kind == LK_RAID5) {
			/* Rebuild the missing column from the others of the row. */
			if (!tmp && !(tmp = malloc((size_t)S * SEC))) {
				return gm_fail(err, GM_E_NOMEM, "out of memory");
			}
			memset(buf, 0, (size_t)take * SEC);
			rc = 0;
			for (size_t c = 0; c < N && rc == 0; c++) {
				if (c == col)
					continue;
				rc = ext_read(m, &p->ext[c], off, take, tmp, err);
				for (size_t i = 0; rc == 0 && i < (size_t)take * SEC; i++)
					buf[i] ^= tmp[i];
			}
		} else {
			rc = gm_fail(err, GM_E_UNREADABLE, "%s: disk of %s is missing",
				     v->rec->name, x->rec->name);
		}
		if (rc < 0) {
			free(tmp);
			return rc;
		}
		lba += take;
		n -= take;
		buf += (size_t)take * SEC;
	}
	free(tmp);
	return 0;
}
