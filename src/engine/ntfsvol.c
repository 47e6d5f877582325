/* ntfsvol.c - NTFS through libntfs-3g on gptmirror's block devices (see
 * ntfsvol.h). libntfs-3g does all the NTFS; this file gives it a device
 * (its ntfs_device_operations over a struct blkdev) and turns its answers
 * into gptmirror's. */
#include "ntfsvol.h"

#include "../fmt/bytes.h"
#include "../fmt/crc32.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/ntfstime.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

struct ntfsvol {
	ntfs_volume *vol;
	struct blkdev *dev;
	uint64_t serial;
	bool rw;
};

/* --- the device: libntfs-3g's operations over a struct blkdev -------------- */

/*
 * A volume mounted for writing keeps its writes away from the device
 * until ntfsvol_commit, so that a crash leaves the old NTFS or the new one:
 * bytes of clusters that were free when it was mounted go to the device at
 * once (nothing of the old file system uses them); every other byte (the
 * MFT, indexes, bitmaps, the log file, files overwritten in place) waits in
 * an overlay of pages. The commit flushes the direct writes, writes the
 * overlay as a journal file (atomically: file_replace), then onto the
 * device, then drops the journal; a journal found later is written onto the
 * volume again (ntfs_journal_replay), which finishes the change.
 */
struct opage {
	uint64_t idx;   /* page number on the volume */
	uint8_t *data;  /* page bytes (less in the volume's last page) */
};

struct devpriv {
	struct blkdev *bd;
	s64 pos;
	bool overlay;          /* mounted for writing */
	uint32_t page;         /* overlay page: min(cluster, 4 KiB) */
	uint32_t cluster;
	uint8_t *inuse;        /* $Bitmap at mount; NULL: every cluster in use */
	uint64_t nclusters;
	struct opage *pages;
	size_t npages, cap;
	size_t *hash;          /* open addressing: index into pages + 1 */
	size_t hcap;
};

static size_t hslot(uint64_t idx, size_t hcap)
{
	return (size_t)((idx * 0x9E3779B97F4A7C15ull) >> 17) & (hcap - 1);
}

static struct opage *page_find(struct devpriv *p, uint64_t idx)
{
	if (!p->hcap)
		return NULL;
	for (size_t h = hslot(idx, p->hcap);; h = (h + 1) & (p->hcap - 1)) {
		if (!p->hash[h])
			return NULL;
		if (p->pages[p->hash[h] - 1].idx == idx)
			return &p->pages[p->hash[h] - 1];
	}
}

static int hash_grow(struct devpriv *p)
{
	size_t nc = p->hcap ? p->hcap * 2 : 1024;
	size_t *nh = calloc(nc, sizeof(*nh));

	if (!nh)
		return -1;
	for (size_t i = 0; i < p->npages; i++) {
		size_t h = hslot(p->pages[i].idx, nc);
		while (nh[h])
			h = (h + 1) & (nc - 1);
		nh[h] = i + 1;
	}
	free(p->hash);
	p->hash = nh;
	p->hcap = nc;
	return 0;
}

/* The bytes of page idx on the volume (the last one may be short). */
static size_t page_len(const struct devpriv *p, uint64_t idx)
{
	uint64_t at = idx * p->page;
	return p->bd->size - at < p->page ? (size_t)(p->bd->size - at) : p->page;
}

/* Where the page holding byte at ends, or end if sooner. */
static uint64_t page_stop(const struct devpriv *p, uint64_t at, uint64_t end)
{
	uint64_t next = (at / p->page + 1) * p->page;
	return next < end ? next : end;
}

/* A new overlay page, filled from the device. */
static struct opage *page_add(struct devpriv *p, uint64_t idx)
{
	if ((p->npages + 1) * 2 > p->hcap && hash_grow(p) < 0)
		return NULL;
	if (p->npages == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 256;
		struct opage *nv = realloc(p->pages, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		p->pages = nv;
		p->cap = nc;
	}
	uint8_t *d = malloc(p->page);
	if (!d)
		return NULL;
	int rc = blk_read(p->bd, idx * p->page, d, page_len(p, idx));
	if (rc < 0) {
		free(d);
		errno = -rc;
		return NULL;
	}
	struct opage *pg = &p->pages[p->npages++];
	pg->idx = idx;
	pg->data = d;
	size_t h = hslot(idx, p->hcap);
	while (p->hash[h])
		h = (h + 1) & (p->hcap - 1);
	p->hash[h] = p->npages;
	return pg;
}

/* Page idx lies in a cluster the mounted file system did not use. */
static bool page_was_free(const struct devpriv *p, uint64_t idx)
{
	uint64_t cl = idx * p->page / p->cluster;
	return p->inuse && cl < p->nclusters && !(p->inuse[cl >> 3] & (1u << (cl & 7)));
}

static void overlay_free(struct devpriv *p)
{
	for (size_t i = 0; i < p->npages; i++)
		free(p->pages[i].data);
	free(p->pages);
	free(p->hash);
	free(p->inuse);
	p->pages = NULL;
	p->hash = NULL;
	p->inuse = NULL;
	p->npages = p->cap = p->hcap = 0;
}

static struct devpriv *priv_of(struct ntfs_device *dev)
{
	return dev->d_private;
}

static int d_open(struct ntfs_device *dev, int flags)
{
	if (NDevOpen(dev)) {
		errno = EBUSY;
		return -1;
	}
	if ((flags & O_ACCMODE) == O_RDONLY || !priv_of(dev)->bd->writable)
		NDevSetReadOnly(dev);
	priv_of(dev)->pos = 0;
	NDevSetOpen(dev);
	return 0;
}

static int d_close(struct ntfs_device *dev)
{
	dev->d_state &= ~(1UL << ND_Open); /* NDevClearOpen, without its sign warning */
	return 0;
}

static s64 d_seek(struct ntfs_device *dev, s64 off, int whence)
{
	struct devpriv *p = priv_of(dev);
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? p->pos : (s64)p->bd->size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + off < 0) {
		errno = EINVAL;
		return -1;
	}
	p->pos = base + off;
	return p->pos;
}

static s64 d_pread(struct ntfs_device *dev, void *buf, s64 count, s64 off)
{
	struct devpriv *p = priv_of(dev);
	uint64_t size = p->bd->size;

	if (off < 0 || count < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)off >= size)
		return 0;
	if ((uint64_t)(off + count) > size)
		count = (s64)(size - (uint64_t)off);
	if (!p->overlay || !p->npages) {
		int rc = blk_read(p->bd, (uint64_t)off, buf, (size_t)count);
		if (rc < 0) {
			errno = -rc;
			return -1;
		}
		return count;
	}
	/* Overlay pages from memory, the runs between them from the device. */
	uint64_t at = (uint64_t)off, end = at + (uint64_t)count;
	uint8_t *out = buf;
	while (at < end) {
		uint64_t idx = at / p->page, stop = page_stop(p, at, end);
		struct opage *pg = page_find(p, idx);
		if (pg) {
			memcpy(out + (at - (uint64_t)off), pg->data + (at - idx * p->page), stop - at);
			at = stop;
			continue;
		}
		while (stop < end && !page_find(p, stop / p->page))
			stop = page_stop(p, stop, end);
		int rc = blk_read(p->bd, at, out + (at - (uint64_t)off), (size_t)(stop - at));
		if (rc < 0) {
			errno = -rc;
			return -1;
		}
		at = stop;
	}
	return count;
}

static s64 d_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 off)
{
	struct devpriv *p = priv_of(dev);

	if (NDevReadOnly(dev)) {
		errno = EROFS;
		return -1;
	}
	if (off < 0 || count < 0 || (uint64_t)(off + count) > p->bd->size) {
		errno = ENOSPC;
		return -1;
	}
	if (!p->overlay) {
		int rc = blk_write(p->bd, (uint64_t)off, buf, (size_t)count);
		if (rc < 0) {
			errno = -rc;
			return -1;
		}
		NDevSetDirty(dev);
		return count;
	}
	/* Pages of clusters free at mount go through (in runs); the rest into
	 * the overlay. */
	uint64_t at = (uint64_t)off, end = at + (uint64_t)count;
	const uint8_t *in = buf;
	while (at < end) {
		uint64_t idx = at / p->page, stop = page_stop(p, at, end);
		struct opage *pg = page_find(p, idx);
		if (!pg && page_was_free(p, idx)) {
			while (stop < end && page_was_free(p, stop / p->page) &&
			       !page_find(p, stop / p->page))
				stop = page_stop(p, stop, end);
			int rc = blk_write(p->bd, at, in + (at - (uint64_t)off), (size_t)(stop - at));
			if (rc < 0) {
				errno = -rc;
				return -1;
			}
			at = stop;
			continue;
		}
		if (!pg && !(pg = page_add(p, idx))) {
			if (!errno)
				errno = ENOMEM;
			return -1;
		}
		memcpy(pg->data + (at - idx * p->page), in + (at - (uint64_t)off), stop - at);
		at = stop;
	}
	NDevSetDirty(dev);
	return count;
}

static s64 d_read(struct ntfs_device *dev, void *buf, s64 count)
{
	s64 n = d_pread(dev, buf, count, priv_of(dev)->pos);

	if (n > 0)
		priv_of(dev)->pos += n;
	return n;
}

static s64 d_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	s64 n = d_pwrite(dev, buf, count, priv_of(dev)->pos);

	if (n > 0)
		priv_of(dev)->pos += n;
	return n;
}

static int d_sync(struct ntfs_device *dev)
{
	int rc = NDevReadOnly(dev) ? 0 : blk_flush(priv_of(dev)->bd);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	dev->d_state &= ~(1UL << ND_Dirty); /* NDevClearDirty */
	return 0;
}

static int d_stat(struct ntfs_device *dev, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0600;
	st->st_size = (off_t)priv_of(dev)->bd->size;
	return 0;
}

static int d_ioctl(struct ntfs_device *dev, unsigned long req, void *arg)
{
	struct devpriv *p = priv_of(dev);

	if (req == BLKGETSIZE64) {
		*(uint64_t *)arg = p->bd->size;
		return 0;
	}
	if (req == BLKSSZGET) {
		*(int *)arg = (int)p->bd->sector_size;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static struct ntfs_device_operations ops = {
	.open = d_open,
	.close = d_close,
	.seek = d_seek,
	.read = d_read,
	.write = d_write,
	.pread = d_pread,
	.pwrite = d_pwrite,
	.sync = d_sync,
	.stat = d_stat,
	.ioctl = d_ioctl,
};

/* --- the volume ------------------------------------------------------------ */

static int mount_on(struct blkdev *dev, bool rw, struct ntfsvol **out, struct gm_err *err)
{
	struct ntfsvol *v = calloc(1, sizeof(*v));
	struct devpriv *p = calloc(1, sizeof(*p));
	uint8_t boot[512];

	*out = NULL;
	if (!v || !p) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if (dev->size < 512 || blk_read(dev, 0, boot, sizeof(boot)) < 0 ||
	    memcmp(boot + 3, "NTFS    ", 8) != 0) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_CORRUPT, "the volume does not hold an NTFS file system");
	}
	v->serial = get_le64(boot + 0x48);
	p->bd = dev;
	if (rw) {
		uint32_t bps = (uint32_t)boot[0x0b] | (uint32_t)boot[0x0c] << 8;
		uint32_t spc = boot[0x0d] <= 0x80 ? boot[0x0d] : 1u << (256 - boot[0x0d]);
		p->cluster = bps * spc;
		if (bps < 256 || (bps & (bps - 1)) || !spc || (spc & (spc - 1)) ||
		    p->cluster > (1u << 21) || !dev->writable) {
			free(v);
			free(p);
			return gm_fail(err, dev->writable ? GM_E_CORRUPT : GM_E_UNREADABLE,
				       dev->writable ? "the NTFS boot sector gives no usable "
				       "cluster size" : "the volume is read-only");
		}
		p->page = p->cluster < 4096 ? p->cluster : 4096;
		p->overlay = true;
	}
	/* libntfs-3g's own messages would go to stderr; its errno says why. */
	ntfs_log_clear_levels(UINT32_MAX);
	struct ntfs_device *nd = ntfs_device_alloc("gptmirror-volume", 0, &ops, p);
	if (!nd) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	errno = 0;
	v->vol = ntfs_device_mount(nd, rw ? NTFS_MNT_NONE : NTFS_MNT_RDONLY);
	if (!v->vol) {
		int e = errno;
		ntfs_device_free(nd);
		overlay_free(p);
		free(p);
		free(v);
		return gm_fail(err, GM_E_CORRUPT, "the NTFS cannot be %s (libntfs-3g: %s)",
			       rw ? "written" : "read", e ? strerror(e) : "damaged metadata");
	}
	/* Names are found in any case, as on Windows. Only the flag:
	 * ntfs_set_ignore_case would also build a lower-case table, and with
	 * it ntfs_readdir lists new names in lower case. */
	v->vol->state &= ~(1UL << NV_CaseSensitive);
	if (rw && v->vol->lcnbmp_na && v->vol->nr_clusters > 0) {
		/* Which clusters the file system uses now: writes to the others
		 * need no journal. */
		p->nclusters = (uint64_t)v->vol->nr_clusters;
		size_t n = (size_t)((p->nclusters + 7) / 8);
		p->inuse = malloc(n);
		if (p->inuse && ntfs_attr_pread(v->vol->lcnbmp_na, 0, (s64)n, p->inuse) != (s64)n) {
			free(p->inuse);
			p->inuse = NULL;
		}
	}
	v->dev = dev;
	v->rw = rw;
	*out = v;
	return 0;
}

int ntfsvol_open(struct blkdev *dev, struct ntfsvol **out, struct gm_err *err)
{
	return mount_on(dev, false, out, err);
}

int ntfsvol_open_rw(struct blkdev *dev, struct ntfsvol **out, struct gm_err *err)
{
	return mount_on(dev, true, out, err);
}

void ntfsvol_close(struct ntfsvol *v)
{
	if (!v)
		return;
	struct devpriv *p = v->vol->dev->d_private;
	/* A volume mounted for writing and not committed: its overlay goes,
	 * so the volume keeps its old state. */
	ntfs_umount(v->vol, FALSE); /* frees the ntfs_device as well */
	overlay_free(p);
	free(p);
	free(v);
}

/* --- the journal ----------------------------------------------------------- */

#define JMAGIC "GMNTFSJ1"
#define JHEAD 48 /* magic, volume size, serial, page, count, tag[16] */

static int cmp_page(const void *a, const void *b)
{
	const struct opage *x = a, *y = b;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int fsync_dir_of(const char *path)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s", path);
	char *sl = strrchr(d, '/');
	if (sl)
		*sl = '\0';
	else
		snprintf(d, sizeof(d), ".");
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes the journal's pages onto dev, in runs of adjacent pages. */
static int apply_pages(struct blkdev *dev, const uint8_t *j, uint32_t page, uint32_t count)
{
	const uint8_t *e = j + JHEAD;
	for (uint32_t i = 0; i < count;) {
		uint64_t at = get_le64(e);
		uint32_t len = get_le32(e + 8);
		/* A run: pages of consecutive offsets, each whole. */
		uint32_t k = 1;
		static uint8_t run[1 << 20];
		memcpy(run, e + 12, len);
		size_t rl = len;
		const uint8_t *f = e + 12 + len;
		while (i + k < count && len == page && rl + page <= sizeof(run) &&
		       get_le64(f) == at + rl) {
			uint32_t l2 = get_le32(f + 8);
			memcpy(run + rl, f + 12, l2);
			rl += l2;
			f += 12 + l2;
			k++;
			if (l2 != page)
				break;
		}
		if (blk_write(dev, at, run, rl) < 0)
			return -1;
		e = f;
		i += k;
	}
	return blk_flush(dev);
}

int ntfsvol_commit(struct ntfsvol *v, const char *journal, const char *tag, struct gm_err *err)
{
	struct devpriv *p = v->vol->dev->d_private;
	struct blkdev *dev = p->bd;
	int rc = 0;

	if (!v->rw) {
		ntfsvol_close(v);
		return 0;
	}
	/* libntfs-3g writes what it holds (into the overlay and the free
	 * clusters); nothing of it is on the old file system's bytes yet. */
	errno = 0;
	if (ntfs_umount(v->vol, FALSE) < 0) {
		rc = gm_fail(err, GM_E_IO, "the NTFS could not be written (libntfs-3g: %s); "
			     "the volume keeps its old state", strerror(errno ? errno : EIO));
		goto out;
	}
	if (blk_flush(dev) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed; it keeps its old state");
		goto out;
	}
	if (!p->npages)
		goto out;
	qsort(p->pages, p->npages, sizeof(*p->pages), cmp_page);
	size_t len = JHEAD + 4;
	for (size_t i = 0; i < p->npages; i++)
		len += 12 + page_len(p, p->pages[i].idx);
	uint8_t *j = calloc(1, len);
	if (!j) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(j, JMAGIC, 8);
	put_le64(j + 8, dev->size);
	put_le64(j + 16, v->serial);
	put_le32(j + 24, p->page);
	put_le32(j + 28, (uint32_t)p->npages);
	snprintf((char *)j + 32, 16, "%s", tag);
	uint8_t *e = j + JHEAD;
	for (size_t i = 0; i < p->npages; i++) {
		size_t pl = page_len(p, p->pages[i].idx);
		put_le64(e, p->pages[i].idx * p->page);
		put_le32(e + 8, (uint32_t)pl);
		memcpy(e + 12, p->pages[i].data, pl);
		e += 12 + pl;
	}
	put_le32(e, gm_crc32(j, len - 4));
	int fr = file_replace(journal, j, len);
	if (fr < 0) {
		rc = gm_fail(err, GM_E_IO, "cannot write the journal %s: %s; the volume keeps "
			     "its old state", journal, strerror(-fr));
	} else if (apply_pages(dev, j, p->page, (uint32_t)p->npages) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed; the next command "
			     "finishes it from %s", journal);
	} else {
		unlink(journal);
		fsync_dir_of(journal);
	}
	free(j);
out:
	overlay_free(p);
	free(p);
	free(v);
	return rc;
}

/* The journal read whole and checked; NULL (and errno) when it is not one. */
static uint8_t *journal_load(const char *journal, size_t *lenp)
{
	int fd = open(journal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint8_t *j = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size < JHEAD + 4 || st.st_size > (off_t)1 << 34)
		goto bad;
	size_t len = (size_t)st.st_size;
	if (!(j = malloc(len)) || pread(fd, j, len, 0) != (ssize_t)len ||
	    memcmp(j, JMAGIC, 8) != 0 || get_le32(j + len - 4) != gm_crc32(j, len - 4))
		goto bad;
	/* Every entry inside the file, and as many as it says. */
	uint32_t page = get_le32(j + 24), count = get_le32(j + 28);
	size_t at = JHEAD;
	for (uint32_t i = 0; i < count; i++) {
		if (at + 12 > len - 4 || get_le32(j + at + 8) > page ||
		    get_le32(j + at + 8) > len - 4 - at - 12)
			goto bad;
		at += 12 + get_le32(j + at + 8);
	}
	if (at != len - 4 || page == 0 || page > 4096)
		goto bad;
	close(fd);
	*lenp = len;
	return j;
bad:
	free(j);
	close(fd);
	errno = EINVAL;
	return NULL;
}

int ntfs_journal_replay(const char *journal, const char *tag, struct blkdev *dev,
			struct gm_err *err)
{
	size_t len;
	uint8_t *j = journal_load(journal, &len);
	uint8_t boot[512];

	/* Cut off before it was whole (the change never began), or of
	 * another volume's name: dropped. */
	if (!j || strncmp((const char *)j + 32, tag, 15) != 0) {
		int e = j ? 0 : errno;
		free(j);
		if (e == ENOENT)
			return 0;
		unlink(journal);
		fsync_dir_of(journal);
		return 0;
	}
	if (!dev) {
		free(j);
		return gm_fail(err, GM_E_NO_LETTER, "the volume of the NTFS journal %s cannot "
			       "be opened; left as it is", journal);
	}
	uint64_t serial = blk_read(dev, 0, boot, sizeof(boot)) == 0 ? get_le64(boot + 0x48) : 0;
	if (get_le64(j + 8) != dev->size || get_le64(j + 16) != serial) {
		free(j);
		return gm_fail(err, GM_E_CORRUPT, "the NTFS journal %s is not of this volume "
			       "(its size or serial number differs); left as it is", journal);
	}
	for (size_t at = JHEAD; at < len - 4; at += 12 + get_le32(j + at + 8))
		if (get_le64(j + at) > dev->size ||
		    get_le32(j + at + 8) > dev->size - get_le64(j + at)) {
			free(j);
			return gm_fail(err, GM_E_CORRUPT, "the NTFS journal %s writes past the "
				       "volume's end; left as it is", journal);
		}
	int rc = apply_pages(dev, j, get_le32(j + 24), get_le32(j + 28));
	free(j);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "writing the volume from %s failed", journal);
	unlink(journal);
	fsync_dir_of(journal);
	return 1;
}

const char *ntfsvol_label(const struct ntfsvol *v)
{
	return v->vol->vol_name ? v->vol->vol_name : "";
}

uint64_t ntfsvol_serial(const struct ntfsvol *v)
{
	return v->serial;
}

uint64_t ntfsvol_free_bytes(struct ntfsvol *v)
{
	if (ntfs_volume_get_free_space(v->vol) < 0 || v->vol->free_clusters < 0)
		return 0;
	return (uint64_t)v->vol->free_clusters * v->vol->cluster_size;
}

/* "\a\b" -> "/a/b" for libntfs-3g. */
static int unix_path(const char *path, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap < 2)
		return -1;
	buf[k++] = '/';
	for (const char *c = path; *c; c++) {
		char ch = *c == '\\' ? '/' : *c;
		if (ch == '/' && buf[k - 1] == '/')
			continue;
		if (k + 1 >= cap)
			return -1;
		buf[k++] = ch;
	}
	if (k > 1 && buf[k - 1] == '/')
		k--;
	buf[k] = '\0';
	return 0;
}

static void item_of(ntfs_inode *ni, const char *name, struct ntfs_item *it)
{
	struct timespec t = ntfs2timespec(ni->last_data_change_time);

	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->dir = (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
	it->size = it->dir || ni->data_size < 0 ? 0 : (uint64_t)ni->data_size;
	it->mtime = (int64_t)t.tv_sec;
	it->attrs = (uint32_t)le32_to_cpu(ni->flags);
}

static int open_path(struct ntfsvol *v, const char *path, ntfs_inode **ni, struct gm_err *err)
{
	char p[4096];

	if (unix_path(path, p, sizeof(p)) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long");
	if (!(*ni = ntfs_pathname_to_inode(v->vol, NULL, p)))
		return gm_fail(err, GM_E_NO_PART, "%s: not found", path[0] ? path : "\\");
	return 0;
}

int ntfsvol_stat(struct ntfsvol *v, const char *path, struct ntfs_item *it, struct gm_err *err)
{
	ntfs_inode *ni;
	const char *base = strrchr(path, '\\');
	int rc = open_path(v, path, &ni, err);

	if (rc < 0)
		return rc;
	item_of(ni, base ? base + 1 : path, it);
	ntfs_inode_close(ni);
	return 0;
}

struct entry {
	char *name;
	MFT_REF mref;
};

struct entries {
	struct entry *v;
	size_t n, cap;
	bool oom;
};

static int collect(void *ctx, const ntfschar *name, const int len, const int type,
		   const s64 pos, const MFT_REF mref, const unsigned dt)
{
	struct entries *es = ctx;
	char *u = NULL;

	(void)pos;
	(void)dt;
	/* The DOS 8.3 alias of a long name is the same file again. */
	if (type == FILE_NAME_DOS || MREF(mref) < FILE_first_user)
		return 0;
	if (ntfs_ucstombs(name, len, &u, 0) < 0 || !u)
		return 0;
	if (strcmp(u, ".") == 0 || strcmp(u, "..") == 0) {
		free(u);
		return 0;
	}
	if (es->n == es->cap) {
		size_t nc = es->cap ? es->cap * 2 : 64;
		struct entry *nv = realloc(es->v, nc * sizeof(*nv));
		if (!nv) {
			free(u);
			es->oom = true;
			return -1;
		}
		es->v = nv;
		es->cap = nc;
	}
	es->v[es->n].name = u;
	es->v[es->n++].mref = mref;
	return 0;
}

int ntfsvol_list(struct ntfsvol *v, const char *path, ntfs_item_fn fn, void *ctx,
		 struct gm_err *err)
{
	ntfs_inode *dir;
	struct entries es = {0};
	s64 pos = 0;
	int rc = open_path(v, path, &dir, err);

	if (rc < 0)
		return rc;
	if (!(dir->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		ntfs_inode_close(dir);
		return gm_fail(err, GM_E_ARGS, "%s is not a directory", path);
	}
	if (ntfs_readdir(dir, &pos, &es, collect) < 0 && !es.oom)
		rc = gm_fail(err, GM_E_CORRUPT, "the directory's index cannot be read (%s)",
			     strerror(errno));
	if (es.oom)
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
	ntfs_inode_close(dir);
	for (size_t i = 0; i < es.n && rc == 0; i++) {
		ntfs_inode *ni = ntfs_inode_open(v->vol, MREF(es.v[i].mref));
		struct ntfs_item it;
		if (!ni) {
			rc = gm_fail(err, GM_E_CORRUPT, "%s: its MFT record cannot be read",
				     es.v[i].name);
			break;
		}
		item_of(ni, es.v[i].name, &it);
		ntfs_inode_close(ni);
		if (fn(ctx, &it) < 0)
			rc = gm_fail(err, GM_E_IO, "listing %s stopped", path);
	}
	for (size_t i = 0; i < es.n; i++)
		free(es.v[i].name);
	free(es.v);
	return rc;
}

int ntfsvol_read(struct ntfsvol *v, const char *path,
		 int (*sink)(void *ctx, const void *buf, size_t len), void *ctx,
		 struct gm_err *err)
{
	ntfs_inode *ni;
	static uint8_t buf[1 << 20];
	int rc = open_path(v, path, &ni, err);

	if (rc < 0)
		return rc;
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		ntfs_inode_close(ni);
		return gm_fail(err, GM_E_CORRUPT, "%s has no data stream", path);
	}
	for (s64 off = 0; off < na->data_size && rc == 0;) {
		s64 want = na->data_size - off < (s64)sizeof(buf) ? na->data_size - off : (s64)sizeof(buf);
		s64 got = ntfs_attr_pread(na, off, want, buf);
		if (got <= 0) {
			rc = gm_fail(err, GM_E_IO, "reading %s failed at byte %lld", path, (long long)off);
			break;
		}
		if (sink(ctx, buf, (size_t)got) < 0)
			rc = gm_fail(err, GM_E_IO, "writing the copy of %s failed", path);
		off += got;
	}
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return rc;
}

/* --- writing files --------------------------------------------------------- */

static ntfs_time ntime(int64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = 0};
	return timespec2ntfs(ts);
}

/* The times of ni: all now, the data's change at mtime. */
static void set_times(ntfs_inode *ni, int64_t mtime, int64_t now)
{
	ni->creation_time = ni->last_mft_change_time = ni->last_access_time = ntime(now);
	ni->last_data_change_time = ntime(mtime);
	NInoFileNameSetDirty(ni);
	ntfs_inode_mark_dirty(ni);
}

/* A name Windows can make: no control characters or \ / : * ? " < > |,
 * no trailing dot or space, at most 255 UTF-16 units. */
static int win_name(const char *name, ntfschar **u, struct gm_err *err)
{
	size_t n = strlen(name);

	if (!n || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || name[n - 1] == '.' ||
	    name[n - 1] == ' ')
		return gm_fail(err, GM_E_ARGS, "\"%s\" is not a name Windows can give a file", name);
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 0x20 || strchr("\\/:*?\"<>|", *c))
			return gm_fail(err, GM_E_ARGS, "\"%s\" is not a name Windows can give a "
				       "file", name);
	*u = NULL;
	int len = ntfs_mbstoucs(name, u);
	if (len <= 0 || len > 255) {
		free(*u);
		*u = NULL;
		return gm_fail(err, GM_E_ARGS, "\"%s\" is not a name NTFS can hold (UTF-8, at "
			       "most 255 characters)", name);
	}
	return len;
}

static int open_dir(struct ntfsvol *v, const char *dir, ntfs_inode **ni, struct gm_err *err)
{
	int rc = open_path(v, dir, ni, err);

	if (rc == 0 && !((*ni)->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		ntfs_inode_close(*ni);
		return gm_fail(err, GM_E_ARGS, "%s is not a directory", dir);
	}
	return rc;
}

/* What dir holds under name (any case): the inode, or NULL. */
static ntfs_inode *lookup(ntfs_inode *dir, const char *name)
{
	ntfschar *u = NULL;
	int len = ntfs_mbstoucs(name, &u);
	/* (ntfs_inode_lookup_by_mbsname would leak its name when not found.) */
	u64 mref = len > 0 ? ntfs_inode_lookup_by_name(dir, u, len) : (u64)-1;

	free(u);
	return mref == (u64)-1 ? NULL : ntfs_inode_open(dir->vol, MREF(mref));
}

static ntfs_inode *create_in(ntfs_inode *dir, const char *name, mode_t type, int64_t now,
			     struct gm_err *err)
{
	ntfschar *u;
	int len = win_name(name, &u, err);

	if (len < 0)
		return NULL;
	errno = 0;
	ntfs_inode *ni = ntfs_create(dir, const_cpu_to_le32(0), u, (u8)len, type);
	free(u);
	if (!ni) {
		gm_fail(err, errno == ENOSPC ? GM_E_NO_SPACE : GM_E_IO, "cannot create %s "
			"(libntfs-3g: %s)", name, strerror(errno ? errno : EIO));
		return NULL;
	}
	/* The new name's own times are the creation's, not the host clock's
	 * that libntfs-3g put there. */
	ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
	if (ctx && ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0,
				    ctx) == 0 && !ctx->attr->non_resident) {
		FILE_NAME_ATTR *fn = (FILE_NAME_ATTR *)((u8 *)ctx->attr +
							le16_to_cpu(ctx->attr->value_offset));
		fn->creation_time = fn->last_data_change_time = fn->last_mft_change_time =
			fn->last_access_time = ntime(now);
		ntfs_inode_mark_dirty(ni);
	}
	if (ctx)
		ntfs_attr_put_search_ctx(ctx);
	/* The directory changed now, as Windows records it; it was made
	 * when it was. */
	dir->last_data_change_time = dir->last_mft_change_time = dir->last_access_time =
		ntime(now);
	NInoFileNameSetDirty(dir);
	ntfs_inode_mark_dirty(dir);
	return ni;
}

int ntfsvol_mkdir(struct ntfsvol *v, const char *dir, const char *name, int64_t now,
		  struct gm_err *err)
{
	ntfs_inode *d, *ni;
	int rc = open_dir(v, dir, &d, err);

	if (rc < 0)
		return rc;
	if ((ni = lookup(d, name))) {
		bool isdir = (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
		ntfs_inode_close(ni);
		ntfs_inode_close(d);
		return isdir ? 0 : gm_fail(err, GM_E_ARGS, "%s\\%s is a file", dir, name);
	}
	if (!(ni = create_in(d, name, S_IFDIR, now, err))) {
		ntfs_inode_close(d);
		return -1;
	}
	/* The directory first: the new entry's index entry is then on the
	 * volume for the new directory's own times to be written into. */
	set_times(ni, now, now);
	if (ntfs_inode_close(d) < 0)
		rc = gm_fail(err, GM_E_IO, "cannot write %s (libntfs-3g: %s)", dir, strerror(errno));
	if (ntfs_inode_close(ni) < 0 && rc == 0)
		rc = gm_fail(err, GM_E_IO, "cannot write %s (libntfs-3g: %s)", name, strerror(errno));
	return rc;
}

struct ntfs_out {
	struct ntfsvol *v;
	char dir[4096], name[1024]; /* where it is, to delete it should it fail */
	ntfs_inode *ni;
	ntfs_attr *na;
	s64 off;
	int64_t now;
	bool failed;
	int err_no;
};

int ntfsvol_create_file(struct ntfsvol *v, const char *dir, const char *name, int64_t now,
			struct ntfs_out **out, struct gm_err *err)
{
	ntfs_inode *d, *ni;
	int rc = open_dir(v, dir, &d, err);

	*out = NULL;
	if (rc < 0)
		return rc;
	if ((ni = lookup(d, name))) {
		/* xcopy over a file: the same file, its data replaced. */
		if (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) {
			ntfs_inode_close(ni);
			ntfs_inode_close(d);
			return gm_fail(err, GM_E_ARGS, "%s\\%s is a directory", dir, name);
		}
	} else if (!(ni = create_in(d, name, S_IFREG, now, err))) {
		ntfs_inode_close(d);
		return -1;
	}
	if (ntfs_inode_close(d) < 0) {
		ntfs_inode_close(ni);
		return gm_fail(err, GM_E_IO, "cannot write %s (libntfs-3g: %s)", dir, strerror(errno));
	}
	struct ntfs_out *o = calloc(1, sizeof(*o));
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!o || !na || ntfs_attr_truncate(na, 0) < 0) {
		int e = errno;
		if (na)
			ntfs_attr_close(na);
		ntfs_inode_close(ni);
		free(o);
		return gm_fail(err, GM_E_IO, "cannot write %s (libntfs-3g: %s)", name,
			       strerror(e ? e : ENOMEM));
	}
	o->v = v;
	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->ni = ni;
	o->na = na;
	o->now = now;
	*out = o;
	return 0;
}

int ntfsvol_out_write(void *ctx, const void *buf, size_t len)
{
	struct ntfs_out *o = ctx;
	const uint8_t *b = buf;

	while (len > 0 && !o->failed) {
		errno = 0;
		s64 n = ntfs_attr_pwrite(o->na, o->off, (s64)len, b);
		if (n <= 0) {
			o->failed = true;
			o->err_no = errno ? errno : EIO;
			break;
		}
		o->off += n;
		b += n;
		len -= (size_t)n;
	}
	return o->failed ? -1 : 0;
}

int ntfsvol_out_close(struct ntfs_out *o, uint32_t attrs, int64_t mtime, struct gm_err *err)
{
	int rc = 0;

	if (!o)
		return 0;
	if (o->failed) {
		/* As Windows' copy does, the file that could not be written whole
		 * goes. */
		if (o->err_no == ENOSPC)
			rc = gm_fail(err, GM_E_NO_SPACE, "There is not enough space on the disk.");
		else
			rc = gm_fail(err, GM_E_IO, "writing the file failed (libntfs-3g: %s)",
				     strerror(o->err_no));
		ntfs_attr_close(o->na);
		ntfs_inode_close(o->ni);
		ntfs_inode *d, *ni;
		ntfschar *u = NULL;
		struct gm_err e2;
		int len = ntfs_mbstoucs(o->name, &u);
		if (len > 0 && open_dir(o->v, o->dir, &d, &e2) == 0) {
			if ((ni = lookup(d, o->name)))
				ntfs_delete(d->vol, NULL, ni, d, u, (u8)len); /* closes both */
			else
				ntfs_inode_close(d);
		}
		free(u);
		free(o);
		return rc;
	}
	ntfs_attr_close(o->na);
	o->ni->flags = (o->ni->flags & ~const_cpu_to_le32(0x27)) |
		       (cpu_to_le32(attrs) & const_cpu_to_le32(0x27));
	set_times(o->ni, mtime, o->now);
	if (ntfs_inode_close(o->ni) < 0 && rc == 0)
		rc = gm_fail(err, GM_E_IO, "writing the file failed (libntfs-3g: %s)",
			     strerror(errno));
	free(o);
	return rc;
}

/* --- format ---------------------------------------------------------------- */

uint64_t ntfsvol_total_bytes(const struct ntfsvol *v)
{
	return (uint64_t)v->vol->nr_clusters * v->vol->cluster_size;
}

uint32_t ntfs_default_unit(uint64_t bytes)
{
	uint32_t u = 4096;

	/* 4 KB clusters address 16 TB; each doubling doubles that. */
	while (u < 65536 && bytes > (uint64_t)u * (UINT32_C(1) << 30) * 4)
		u *= 2;
	return u;
}

/* mkntfs from PATH, or where Debian puts it (sbin is often not on PATH). */
static const char *mkntfs_path(void)
{
	static const char *const where[] = {"/usr/sbin/mkntfs", "/sbin/mkntfs",
					    "/usr/local/sbin/mkntfs", NULL};
	for (int i = 0; where[i]; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return "mkntfs";
}

static int run_mkntfs(const char *file, uint32_t ss, const struct ntfs_format_req *r,
		      uint32_t unit, struct gm_err *err)
{
	char s_ss[16], s_unit[16], s_hid[32];
	const char *argv[24];
	int n = 0, st;

	snprintf(s_ss, sizeof(s_ss), "%" PRIu32, ss);
	snprintf(s_unit, sizeof(s_unit), "%" PRIu32, unit);
	snprintf(s_hid, sizeof(s_hid), "%" PRIu64, r->hidden);
	argv[n++] = "mkntfs";
	argv[n++] = "-Q"; /* the zeroing, if any, is done on the volume itself */
	argv[n++] = "-F";
	argv[n++] = "-q";
	argv[n++] = "-s";
	argv[n++] = s_ss;
	argv[n++] = "-c";
	argv[n++] = s_unit;
	argv[n++] = "-p";
	argv[n++] = s_hid;
	argv[n++] = "-H";
	argv[n++] = "255";
	argv[n++] = "-S";
	argv[n++] = "63";
	if (r->label && r->label[0]) {
		argv[n++] = "-L";
		argv[n++] = r->label;
	}
	if (r->fixed_time)
		argv[n++] = "-T";
	argv[n++] = file;
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return gm_fail(err, GM_E_IO, "cannot run mkntfs: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execv(mkntfs_path(), (char *const *)argv);
		execvp("mkntfs", (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return gm_fail(err, GM_E_IO, "mkntfs: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return gm_fail(err, GM_E_IO, "mkntfs failed (%s %d): is ntfs-3g installed?",
			       WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

/* Writes the scratch file's bytes [from, to) onto dev: data as it is,
 * holes as zeros (punched where the backend can). */
static int copy_range(int fd, struct blkdev *dev, uint64_t from, uint64_t to, struct gm_err *err)
{
	static uint8_t buf[1 << 20];
	uint64_t at = from;

	while (at < to) {
		off_t d = lseek(fd, (off_t)at, SEEK_DATA);
		uint64_t data = d < 0 || (uint64_t)d > to ? to : (uint64_t)d;
		if (data > at && blk_zero(dev, at, data - at) < 0)
			return gm_fail(err, GM_E_IO, "zeroing the volume failed");
		at = data;
		if (at >= to)
			break;
		off_t h = lseek(fd, (off_t)at, SEEK_HOLE);
		uint64_t hole = h < 0 || (uint64_t)h > to ? to : (uint64_t)h;
		while (at < hole) {
			size_t k = hole - at < sizeof(buf) ? (size_t)(hole - at) : sizeof(buf);
			if (pread(fd, buf, k, (off_t)at) != (ssize_t)k)
				return gm_fail(err, GM_E_IO, "reading mkntfs's file failed");
			if (blk_write(dev, at, buf, k) < 0)
				return gm_fail(err, GM_E_IO, "writing the volume failed");
			at += k;
		}
	}
	return 0;
}

int ntfs_format(struct blkdev *dev, const char *scratch_dir, const struct ntfs_format_req *r,
		uint32_t *unit_out, struct gm_err *err)
{
	uint32_t ss = dev->sector_size, unit = r->unit ? r->unit : ntfs_default_unit(dev->size);
	char file[4096];
	uint8_t boot[4096];
	int rc;

	if (unit < ss || unit > 65536 || (unit & (unit - 1)))
		return gm_fail(err, GM_E_ARGS, "the allocation unit must be a power of two "
			       "from the sector size to 64 KB");
	if (dev->size < (2u << 20))
		return gm_fail(err, GM_E_ARGS, "the volume is too small for NTFS (2 MB at least)");
	if (!dev->writable)
		return gm_fail(err, GM_E_UNREADABLE, "the volume is read-only");
	if (snprintf(file, sizeof(file), "%s/.format-ntfs.tmp", scratch_dir) >= (int)sizeof(file))
		return gm_fail(err, GM_E_ARGS, "path too long");
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return gm_fail(err, GM_E_IO, "cannot make mkntfs's scratch file %s: %s", file,
			       strerror(errno));
	uint64_t size = dev->size - dev->size % ss;
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = gm_fail(err, GM_E_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	rc = run_mkntfs(file, ss, r, unit, err);
	/* The scratch file goes now: a crash below leaves nothing of it. */
	unlink(file);
	if (rc < 0)
		goto out;
	/* The serial number: ours (the seeded one in deterministic mode), in
	 * the boot sector and its copy in the last sector. */
	if (pread(fd, boot, ss, 0) != (ssize_t)ss || memcmp(boot + 3, "NTFS    ", 8) != 0) {
		rc = gm_fail(err, GM_E_IO, "mkntfs wrote no NTFS boot sector");
		goto out;
	}
	put_le64(boot + 0x48, r->serial);
	if (pwrite(fd, boot, ss, 0) != (ssize_t)ss ||
	    pwrite(fd, boot, ss, (off_t)(size - ss)) != (ssize_t)ss) {
		rc = gm_fail(err, GM_E_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	/* RAW first, then the body, then the boot sector. */
	uint8_t zero[4096] = {0};
	if (blk_write(dev, 0, zero, ss) < 0 || blk_flush(dev) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed");
		goto out;
	}
	if (!r->quick && blk_zero(dev, ss, size - ss) < 0) {
		rc = gm_fail(err, GM_E_IO, "zeroing the volume failed");
		goto out;
	}
	if ((rc = copy_range(fd, dev, ss, size, err)) < 0)
		goto out;
	if (blk_flush(dev) < 0 || blk_write(dev, 0, boot, ss) < 0 || blk_flush(dev) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed");
		goto out;
	}
	*unit_out = unit;
out:
	close(fd);
	unlink(file); /* if not gone yet */
	return rc;
}
