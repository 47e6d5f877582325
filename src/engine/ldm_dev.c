/*
 * ldm_dev.c - a dynamic volume as a block device, for the file-system code.
 *
 * Simple, spanned and mirrored volumes (plexes of concatenated extents).
 * A write goes to every plex that is present and not failed, a plex still
 * being rebuilt included (its resync copies from a healthy plex, which has
 * the same bytes). A read is served by the first healthy plex; when that
 * plex fails, the next one serves it and the failing plex is remembered, so
 * that the caller can mark it failed (vol_close does). No data is lost
 * while one healthy plex remains.
 */
#include "ldm_dev.h"

#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fmt/fsprobe.h"
#include "ldm_write.h"
#include "machine.h"
#include "ntfsvol.h"
#include "rebuild.h"

#define SEC 512u

struct vdev {
	struct blkdev dev;
	struct machine *m;
	const struct ldm_volume *v;
	uint32_t failed; /* plexes that failed a read or a write, by bit */
	uint32_t absent; /* plexes whose disk is missing: the first write
			  * marks them failed, before it leaves them behind */
	struct ldm_view *view; /* the view of v, for that mark */
	int writers;     /* plexes that take writes when it is opened */
	struct ldm_dirty dirty; /* regions written since the last flush, as
				 * recorded in machine.conf */
};

/* Applies fn to the byte range [off, off + len) of plex p, extent by extent. */
static int plex_io(struct vdev *vd, const struct ldm_plex *p, uint64_t off, uint8_t *buf,
		   const uint8_t *wbuf, uint64_t len, int op)
{
	while (len > 0) {
		const struct ldm_extent *x = NULL;
		for (size_t i = 0; i < p->n; i++) {
			uint64_t o = p->ext[i].rec->u.part.vol_offset * SEC;
			if (off >= o && off < o + p->ext[i].rec->u.part.size * SEC)
				x = &p->ext[i];
		}
		struct disk *d = x && x->slot >= 0 ? machine_disk(vd->m, x->slot) : NULL;
		if (!d)
			return -EIO;
		uint64_t in = off - x->rec->u.part.vol_offset * SEC;
		uint64_t k = x->rec->u.part.size * SEC - in, take = k < len ? k : len;
		uint64_t at = x->abs_start * SEC + in;
		int rc = op == 0   ? blk_read(d->dev, at, buf, (size_t)take)
			 : op == 1 ? blk_write(d->dev, at, wbuf, (size_t)take)
				   : blk_zero(d->dev, at, take);
		if (rc < 0)
			return rc;
		off += take;
		len -= take;
		if (buf)
			buf += take;
		if (wbuf)
			wbuf += take;
	}
	return 0;
}

static bool usable(const struct vdev *vd, size_t p)
{
	return vd->v->plex[p].complete && !(vd->failed & (1u << p));
}

static int vdev_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct vdev *vd = d->priv;
	int rc = -EIO;

	/* Healthy plexes first; a rebuilding one holds no data to trust. */
	for (size_t p = 0; p < vd->v->nplex && p < 32; p++) {
		if (!usable(vd, p) || (vd->v->nplex > 1 && ldm_plex_rebuilding(&vd->v->plex[p])))
			continue;
		if ((rc = plex_io(vd, &vd->v->plex[p], off, buf, NULL, len, 0)) == 0)
			return 0;
		vd->failed |= 1u << p;
	}
	return rc;
}

/* Before a write that more than one plex takes: its regions are recorded
 * dirty, durably, unless they already are. */
static int mark_dirty(struct vdev *vd, uint64_t off, uint64_t len)
{
	struct ldm_dirty was = vd->dirty;
	struct gm_err e;

	if (vd->writers < 2 || !ldm_dirty_add(&vd->dirty, off / SEC, (len + SEC - 1) / SEC))
		return 0;
	if (ldm_dirty_set(vd->m, vd->v, &vd->dirty, &e) < 0) {
		vd->dirty = was;
		return -EIO;
	}
	return 0;
}

static int write_plexes(struct vdev *vd, uint64_t off, const void *buf, size_t len, int op);

static int vdev_write_op(struct blkdev *d, uint64_t off, const void *buf, size_t len,
			 int op)
{
	struct vdev *vd = d->priv;

	/* Every plex under one hold of the I/O lock: a background copy
	 * (rebuild.c) never copies a region between two plexes' writes. */
	rebuild_io_lock(vd->m);
	int rc = write_plexes(vd, off, buf, len, op);
	rebuild_io_unlock(vd->m);
	return rc;
}

static int write_plexes(struct vdev *vd, uint64_t off, const void *buf, size_t len, int op)
{
	int ok = 0, rc = -EIO;

	if ((rc = mark_dirty(vd, off, len)) < 0)
		return rc;
	if (vd->absent) {
		/* A plex whose disk is out misses this write: it is recorded
		 * failed first, durably, so that when its disk is back it is
		 * copied again, not taken as Healthy. */
		struct gm_err e;
		if (!vd->view || ldm_mark_failed(vd->m, vd->view, vd->v, vd->absent, &e) < 0)
			return -EIO;
		vd->failed |= vd->absent;
		vd->absent = 0;
	}
	rc = -EIO;
	for (size_t p = 0; p < vd->v->nplex && p < 32; p++) {
		if (!usable(vd, p))
			continue;
		int r = plex_io(vd, &vd->v->plex[p], off, NULL, buf, len, op);
		if (r == 0) {
			if (!ldm_plex_rebuilding(&vd->v->plex[p]) || vd->v->nplex == 1)
				ok++;
		} else {
			vd->failed |= 1u << p;
			rc = r;
		}
	}
	return ok ? 0 : rc;
}

static int vdev_write(struct blkdev *d, uint64_t off, const void *buf, size_t len)
{
	return vdev_write_op(d, off, buf, len, 1);
}

static int vdev_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	return vdev_write_op(d, off, NULL, (size_t)len, 2);
}

static int vdev_flush(struct blkdev *d)
{
	struct vdev *vd = d->priv;
	bool done[GM_MAX_SLOTS] = {false};
	int rc = 0;

	/* Each disk the volume has an extent on, once. */
	for (size_t p = 0; p < vd->v->nplex; p++)
		for (size_t e = 0; e < vd->v->plex[p].n; e++) {
			int s = vd->v->plex[p].ext[e].slot;
			struct disk *k = s >= 0 && s < GM_MAX_SLOTS ? machine_disk(vd->m, s) : NULL;
			if (!k || done[s] || !k->dev->writable)
				continue;
			done[s] = true;
			if (blk_flush(k->dev) < 0)
				rc = -EIO;
		}
	/* Every plex has the data: the regions are clean again. */
	if (rc == 0 && ldm_dirty_any(&vd->dirty)) {
		struct gm_err e;
		if (ldm_dirty_set(vd->m, vd->v, NULL, &e) < 0)
			return -EIO;
		ldm_dirty_init(vd->v, &vd->dirty);
	}
	return rc;
}

static void vdev_close(struct blkdev *d)
{
	struct vdev *vd = d->priv;

	/* Closed without a flush: flushed now (a failure leaves the record,
	 * and the next command copies the regions). */
	if (ldm_dirty_any(&vd->dirty))
		vdev_flush(d);
	free(d->priv);
}

static const struct blkdev_ops vdev_ops = {
	.read = vdev_read,
	.write = vdev_write,
	.flush = vdev_flush,
	.close = vdev_close,
	.zero = vdev_zero,
};

/* Striped and RAID-5 volumes, read only: through ldm_vol_read (which
 * rebuilds a RAID-5 column from parity), for dir and copies off them. */
static int rodev_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct vdev *vd = d->priv;
	uint8_t *out = buf, sec[SEC];
	struct gm_err e;

	while (len) {
		uint64_t lba = off / SEC;
		size_t in = (size_t)(off % SEC);
		if (in == 0 && len >= SEC) {
			size_t n = len / SEC > 2048 ? 2048 : len / SEC;
			if (ldm_vol_read(vd->m, vd->v, lba, (uint32_t)n, out, &e) < 0)
				return -EIO;
			out += n * SEC;
			off += n * SEC;
			len -= n * SEC;
			continue;
		}
		if (ldm_vol_read(vd->m, vd->v, lba, 1, sec, &e) < 0)
			return -EIO;
		size_t k = SEC - in < len ? SEC - in : len;
		memcpy(out, sec + in, k);
		out += k;
		off += k;
		len -= k;
	}
	return 0;
}

static int rodev_write(struct blkdev *d, uint64_t off, const void *buf, size_t len)
{
	(void)d, (void)off, (void)buf, (void)len;
	return -EROFS;
}

static int rodev_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	(void)d, (void)off, (void)len;
	return -EROFS;
}

static int rodev_flush(struct blkdev *d)
{
	(void)d;
	return 0;
}

static void rodev_close(struct blkdev *d)
{
	free(d->priv);
}

static const struct blkdev_ops rodev_ops = {
	.read = rodev_read,
	.write = rodev_write,
	.flush = rodev_flush,
	.close = rodev_close,
	.zero = rodev_zero,
};

int ldm_vol_open_read(struct machine *m, const struct ldm_volume *v, struct blkdev **out,
		      struct gm_err *err)
{
	if (v->kind != LK_STRIPE && v->kind != LK_RAID5)
		return ldm_vol_open_dev(m, NULL, v, out, err);
	if (v->bad[0])
		return gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name, v->bad);
	struct vdev *vd = calloc(1, sizeof(*vd));
	if (!vd)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	vd->m = m;
	vd->v = v;
	vd->dev.ops = &rodev_ops;
	vd->dev.priv = vd;
	vd->dev.size = v->sectors * SEC;
	vd->dev.sector_size = SEC;
	vd->dev.stacked = 1;
	vd->dev.writable = 0;
	*out = &vd->dev;
	return 0;
}

int ldm_vol_open_dev(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		     struct blkdev **out, struct gm_err *err)
{
	if (v->kind != LK_SIMPLE && v->kind != LK_SPANNED && v->kind != LK_MIRROR)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "%s is a %s volume: gptmirror reads "
			       "it (volume export) but does not write it", v->rec->name,
			       v->kind == LK_STRIPE ? "striped" : "RAID-5");
	if (v->nplex > 32)
		return gm_fail(err, GM_E_NOT_SUPPORTED, "too many plexes");
	if (v->bad[0])
		return gm_fail(err, GM_E_CORRUPT, "%s is refused: its %s", v->rec->name, v->bad);
	bool any = false, writable = true;
	for (size_t p = 0; p < v->nplex; p++) {
		if (v->plex[p].complete && !(v->nplex > 1 && ldm_plex_rebuilding(&v->plex[p])))
			any = true;
		for (size_t e = 0; e < v->plex[p].n; e++) {
			struct disk *d = v->plex[p].ext[e].slot >= 0
						 ? machine_disk(m, v->plex[p].ext[e].slot) : NULL;
			if (d && !d->dev->writable)
				writable = false;
		}
	}
	if (!any)
		return gm_fail(err, GM_E_UNREADABLE, "%s has no healthy plex", v->rec->name);
	struct vdev *vd = calloc(1, sizeof(*vd));
	if (!vd)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	vd->m = m;
	vd->v = v;
	vd->view = view;
	/* Plexes whose disk is gone, or marked failed, take no I/O. */
	for (size_t p = 0; p < v->nplex; p++) {
		bool present = v->plex[p].complete;
		for (size_t e = 0; e < v->plex[p].n; e++)
			present &= v->plex[p].ext[e].slot >= 0 &&
				    machine_disk(m, v->plex[p].ext[e].slot) != NULL;
		if (v->plex[p].failed)
			vd->failed |= 1u << p;
		else if (present)
			vd->writers++;
		else if (p < 32)
			vd->absent |= 1u << p;
	}
	ldm_dirty_init(v, &vd->dirty);
	vd->dev.ops = &vdev_ops;
	vd->dev.priv = vd;
	vd->dev.size = v->sectors * SEC;
	vd->dev.sector_size = SEC;
	vd->dev.stacked = 1;
	/* A volume still marked dirty takes no write until its plexes agree
	 * again (ldm_heal_dirty); reads come from the plex it copies from. */
	vd->dev.writable = writable && !v->dirty;
	*out = &vd->dev;
	return 0;
}

uint32_t ldm_vol_dev_failed(struct blkdev *dev)
{
	struct vdev *vd = dev->priv;
	uint32_t newly = 0;

	for (size_t p = 0; p < vd->v->nplex && p < 32; p++)
		if ((vd->failed & (1u << p)) && !vd->v->plex[p].failed && vd->v->plex[p].complete)
			newly |= 1u << p;
	return newly;
}

/* --- volumes by drive letter ---------------------------------------------- */

/* Opens dynamic volume v (of view) into h. */
static int open_ldm(struct machine *m, struct ldm_view *view, bool own, const struct ldm_volume *v,
		    bool ro, struct vol_handle *h, struct gm_err *err)
{
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = ro ? ldm_vol_open_read(m, v, &h->dev, err) : ldm_vol_open_dev(m, view, v, &h->dev, err)) < 0) {
		if (own)
			ldm_view_free(view);
		return rc;
	}
	h->view = view;
	h->own_view = own;
	h->lv = v;
	h->ss = SEC;
	/* FAT's hidden sectors: where the volume starts on its first disk. */
	for (size_t p = 0; p < v->nplex; p++)
		if (v->plex[p].n && v->plex[p].ext[0].slot >= 0) {
			h->hidden = v->plex[p].ext[0].abs_start;
			break;
		}
	return 0;
}

int vol_open_ldm(struct machine *m, const struct ldm_volume *v, struct vol_handle *h,
		 struct gm_err *err)
{
	return open_ldm(m, machine_ldm(m), false, v, false, h, err);
}

static int open_letter(struct machine *m, char l, bool ro, struct vol_handle *h,
		       struct gm_err *err)
{
	struct ldm_view *view;
	int slot, rc;
	size_t pos;

	memset(h, 0, sizeof(*h));
	/* A dynamic volume whose drive-letter hint is l. */
	if (ldm_scan(m, &view, err) == 0) {
		for (size_t g = 0; g < view->ngroups; g++)
			for (size_t i = 0; i < view->groups[g].nvols; i++) {
				const struct ldm_volume *v = &view->groups[g].vols[i];
				const char *hint = v->rec->u.vol.hint;
				if (hint[0] && hint[1] == ':' && (hint[0] & ~0x20) == (l & ~0x20))
					return open_ldm(m, view, true, v, ro, h, err);
			}
		ldm_view_free(view);
	}
	if ((rc = machine_find_letter(m, l, &slot, &pos, err)) < 0)
		return rc;
	struct disk *d = machine_disk(m, slot);
	if (d->parts[pos].kind == PK_LDM_DATA)
		return gm_fail(err, GM_E_NO_LETTER, "%c: is on a dynamic disk but no dynamic "
			       "volume has that letter", l);
	if ((rc = machine_open_part(m, slot, pos, &h->dev, err)) < 0)
		return rc;
	h->ss = d->ss;
	h->hidden = d->parts[pos].first_lba;
	return 0;
}

int vol_open_letter(struct machine *m, char l, struct vol_handle *h, struct gm_err *err)
{
	return open_letter(m, l, false, h, err);
}

int vol_open_letter_read(struct machine *m, char l, struct vol_handle *h, struct gm_err *err)
{
	return open_letter(m, l, true, h, err);
}

void vol_ntfs_journal(const struct machine *m, char l, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/ntfs-journal.%c", m->dir, toupper((unsigned char)l));
}

void vol_ntfs_label(struct machine *m, int slot, size_t pos, const struct ldm_volume *v,
		    struct fs_probe *fs)
{
	struct blkdev *dev;
	struct ntfsvol *nv;
	struct gm_err e;

	if (fs->kind != FS_NTFS)
		return;
	if ((v ? ldm_vol_open_read(m, v, &dev, &e) : machine_open_part(m, slot, pos, &dev, &e)) < 0)
		return;
	if (ntfsvol_open(dev, &nv, &e) == 0) {
		snprintf(fs->label, sizeof(fs->label), "%s", ntfsvol_label(nv));
		ntfsvol_close(nv);
	}
	blk_close(dev);
}

int vol_close(struct machine *m, struct vol_handle *h, char *failed, size_t cap,
	      struct gm_err *err)
{
	int rc = 0;

	if (failed && cap)
		failed[0] = '\0';
	if (h->dev && h->lv) {
		uint32_t f = ldm_vol_dev_failed(h->dev);
		if (f) {
			if (failed)
				snprintf(failed, cap, "%s", h->lv->rec->name);
			rc = ldm_mark_failed(m, h->view, h->lv, f, err);
		}
	}
	blk_close(h->dev);
	if (h->own_view)
		ldm_view_free(h->view);
	memset(h, 0, sizeof(*h));
	return rc;
}
