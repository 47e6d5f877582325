/*
 * fatfs.c - FAT file systems: format as Windows lays them out, and a small
 * read/write implementation (long names, directories, files of any size).
 */
#include "fatfs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fmt/bytes.h"
#include "../fmt/utf16.h"

#define MIB (1024ull * 1024)
#define IOBUF (1u << 20)
#define FAT_MEM_MAX (256u << 20)

struct entries {
	struct fat_entry *v;
	size_t n, cap;
};

/* The directory last used, with its decoded entries and a hash set of its
 * short names, kept up to date as names are added: creating n files in one
 * directory then costs O(n) each, not a fresh decode of everything. */
struct dirbuf {
	bool valid;
	uint32_t dir;
	uint8_t *buf;
	size_t len;
	uint32_t *chain; /* clusters of a cluster directory */
	size_t nchain;
	bool decoded;
	struct entries ents;
	uint64_t *set;   /* open addressing; 0 = empty slot */
	size_t setcap, setn;
	size_t dirty_lo, dirty_hi; /* new entries not yet written (slots) */
};

struct fatfs {
	struct blkdev *dev;
	struct fat_bpb b;
	uint8_t *fat;
	size_t fat_len;
	size_t dirty_lo, dirty_hi; /* dirty byte range of the FAT, lo >= hi: clean */
	uint32_t free_count;
	uint32_t next_free;
	struct dirbuf dc;
	uint8_t *io;
	bool fsinfo_unknown; /* FSInfo on disk says "unknown" until sync */
	bool changing;       /* the dirty flag is set on disk (a change is open) */
	bool found_dirty;    /* it was set when the volume was opened */
	bool autochecked;
	struct fat_check autochk;
	fat_copy_progress_fn progress;
	void *pctx;
};

static int begin_change(struct fatfs *fs, struct gm_err *err);

void fatfs_set_progress(struct fatfs *fs, fat_copy_progress_fn fn, void *ctx)
{
	fs->progress = fn;
	fs->pctx = ctx;
}

const struct fat_bpb *fatfs_bpb(const struct fatfs *fs)
{
	return &fs->b;
}

uint32_t fatfs_free_clusters(const struct fatfs *fs)
{
	return fs->free_count;
}

uint32_t fatfs_root(const struct fatfs *fs)
{
	return fs->b.type == FAT32 ? fs->b.root_clus : 0;
}

bool fat_entry_is_dir(const struct fat_entry *e)
{
	return (e->d.attr & FAT_ATTR_DIR) != 0;
}

static uint64_t clus_off(const struct fatfs *fs, uint32_t c)
{
	return ((uint64_t)fs->b.first_data + (uint64_t)(c - 2) * fs->b.sec_per_clus) *
	       fs->b.bytes_per_sec;
}

static int io_fail(struct gm_err *err, int rc, const char *what)
{
	return gm_fail(err, GM_E_IO, "%s failed: %s", what, strerror(-rc));
}

/* --- format ------------------------------------------------------------- */

/* Windows' default allocation unit (Windows XP / Server 2003 format). */
static uint32_t default_cluster(enum fat_type kind, uint64_t bytes)
{
	uint64_t mib = bytes / MIB;

	if (kind == FAT32) {
		if (mib <= 64)
			return 512;
		if (mib <= 128)
			return 1024;
		if (mib <= 256)
			return 2048;
		if (mib <= 8192)
			return 4096;
		if (mib <= 16384)
			return 8192;
		return 16384;
	}
	if (mib < 7)
		return 512; /* FAT12 territory: grown below if need be */
	if (mib <= 16)
		return 2048;
	if (mib <= 32)
		return 512;
	if (mib <= 64)
		return 1024;
	if (mib <= 128)
		return 2048;
	if (mib <= 256)
		return 4096;
	if (mib <= 512)
		return 8192;
	if (mib <= 1024)
		return 16384;
	if (mib <= 2048)
		return 32768;
	return 65536;
}

/* The smallest FAT that maps every cluster of what is left (FAT spec
 * "FAT size" computation, solved exactly), then reserved sectors padded so
 * the data area starts on a cluster boundary, as Windows lays it out. */
static void solve(struct fat_bpb *b, enum fat_type t)
{
	uint32_t fs = 1;

	b->type = t;
	b->root_secs = (uint32_t)(((uint64_t)b->root_ents * FAT_DIRENT +
				   b->bytes_per_sec - 1) / b->bytes_per_sec);
	for (int i = 0; i < 64; i++) {
		uint64_t meta = b->rsvd_secs + (uint64_t)b->nfats * fs + b->root_secs;
		uint64_t cl = meta < b->total_secs ? (b->total_secs - meta) / b->sec_per_clus : 0;
		uint64_t need = (fat_bytes_for(t, (uint32_t)cl) + b->bytes_per_sec - 1) /
				b->bytes_per_sec;
		if (need <= fs)
			break;
		fs = (uint32_t)need;
	}
	b->fat_secs = fs;
	uint64_t meta = b->rsvd_secs + (uint64_t)b->nfats * fs + b->root_secs;
	b->rsvd_secs = (uint16_t)(b->rsvd_secs + (b->sec_per_clus - meta % b->sec_per_clus) %
						      b->sec_per_clus);
	meta = b->rsvd_secs + (uint64_t)b->nfats * fs + b->root_secs;
	b->clusters = meta < b->total_secs ? (uint32_t)((b->total_secs - meta) / b->sec_per_clus) : 0;
}

int fat_format_plan(uint64_t vol_bytes, uint32_t ss, enum fat_type kind,
		    uint32_t clus_bytes, uint32_t hidden_secs, struct fat_bpb *b,
		    struct gm_err *err)
{
	uint64_t total = vol_bytes / ss;

	memset(b, 0, sizeof(*b));
	if (total > 0xffffffffull)
		return gm_fail(err, GM_E_ARGS, "The volume is too big for %s.",
			       kind == FAT32 ? "FAT32" : "FAT");
	if (kind == FAT32 && vol_bytes > 32ull * 1024 * MIB)
		return gm_fail(err, GM_E_ARGS, "The volume is too big for FAT32: "
			       "Windows formats FAT32 volumes of up to 32 GB.");
	if (kind != FAT32 && vol_bytes > 4096 * MIB)
		return gm_fail(err, GM_E_ARGS, "The volume is too big for FAT: "
			       "FAT16 holds at most 4 GB (65,524 clusters of 64 KB).");
	uint32_t cb = clus_bytes ? clus_bytes : default_cluster(kind, vol_bytes);
	if (cb < ss)
		cb = ss;
	if ((cb & (cb - 1)) || cb > 65536 || cb / ss > 128)
		return gm_fail(err, GM_E_ARGS, "The allocation unit size %" PRIu32
			       " is not valid for this volume.", cb);
	memcpy(b->oem, "MSDOS5.0", 9);
	b->bytes_per_sec = (uint16_t)ss;
	b->sec_per_clus = (uint8_t)(cb / ss);
	b->nfats = 2;
	b->total_secs = (uint32_t)total;
	b->media = 0xf8;
	b->secs_per_track = 63;
	b->heads = 255;
	b->hidden_secs = hidden_secs;
	b->drive_num = 0x80;
	b->clus_bytes = cb;

	if (kind == FAT32) {
		b->rsvd_secs = 32;
		b->root_ents = 0;
		b->root_clus = 2;
		b->fsinfo_sec = 1;
		b->backup_boot_sec = 6;
		solve(b, FAT32);
		if (b->clusters < 65525)
			return gm_fail(err, GM_E_ARGS, "The volume is too small for "
				       "FAT32 (%" PRIu32 " clusters; it needs 65,525).",
				       b->clusters);
		return 0;
	}
	b->root_ents = 512;
	b->rsvd_secs = 1;
	if (vol_bytes / MIB < 7 && !clus_bytes) {
		/* FAT12: the smallest cluster that keeps to 4084 clusters. */
		for (;;) {
			b->rsvd_secs = 1;
			solve(b, FAT12);
			if (b->clusters <= FAT_MAX_CLUSTERS12 || b->sec_per_clus >= 128)
				break;
			b->sec_per_clus = (uint8_t)(b->sec_per_clus * 2);
			b->clus_bytes *= 2;
		}
	} else {
		solve(b, FAT16);
		if (b->clusters < 4085) {
			b->rsvd_secs = 1;
			solve(b, FAT12);
			if (b->clusters > FAT_MAX_CLUSTERS12) {
				/* FAT12's smaller FAT left a few clusters too
				 * many: give them to the reserved area. */
				b->rsvd_secs = (uint16_t)(b->rsvd_secs +
					(b->clusters - FAT_MAX_CLUSTERS12) * b->sec_per_clus);
				b->clusters = FAT_MAX_CLUSTERS12;
			}
		}
	}
	if (b->clusters == 0 || (b->type == FAT12 && b->clusters > FAT_MAX_CLUSTERS12))
		return gm_fail(err, GM_E_ARGS, "The volume is too small for FAT.");
	if (b->type == FAT16 && b->clusters > FAT_MAX_CLUSTERS16)
		return gm_fail(err, GM_E_ARGS, "The volume is too big for FAT with "
			       "this allocation unit size.");
	return 0;
}

int fat_format(struct blkdev *dev, struct fat_bpb *b, const char *label,
	       uint32_t serial, int64_t now, bool quick, fat_progress_fn progress,
	       void *pctx, struct gm_err *err)
{
	uint32_t bps = b->bytes_per_sec;
	uint64_t vol = (uint64_t)b->total_secs * bps;
	const char *why;
	uint8_t *sec;
	int rc = 0;

	if (fat_bpb_derive(b, &why) < 0)
		return gm_fail(err, GM_E_ARGS, "bad format plan (%s)", why);
	sec = calloc(1, bps);
	if (!sec)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	memset(b->label, ' ', 11);
	if (label && *label)
		memcpy(b->label, label, strlen(label) > 11 ? 11 : strlen(label));
	else
		memcpy(b->label, "NO NAME", 7);
	b->label[11] = '\0';
	b->serial = serial;
	b->has_ext = true;

	/* 1. Make the old boot sector unrecognisable first, so an
	 * interrupted format never leaves a half-made file system that reads
	 * as valid. The new boot sector is written last. */
	if ((rc = blk_zero(dev, 0, bps)) < 0)
		goto io;
	/* 2. A full format zeroes everything (holes, on an image file). */
	if (!quick) {
		uint64_t step = (vol / 100 + bps - 1) / bps * bps;
		if (step == 0)
			step = vol;
		for (uint64_t off = 0; off < vol; off += step) {
			uint64_t n = vol - off < step ? vol - off : step;
			if ((rc = blk_zero(dev, off, n)) < 0)
				goto io;
			if (progress)
				progress(pctx, (unsigned)((off + n) * 100 / vol));
		}
	}
	/* 3. Reserved area, both FATs and the root directory, zeroed. */
	uint64_t meta_end = (uint64_t)b->first_data * bps;
	if (b->type == FAT32)
		meta_end = clus_off(&(struct fatfs){.b = *b}, b->root_clus) + b->clus_bytes;
	if ((rc = blk_zero(dev, bps, meta_end - bps)) < 0)
		goto io;
	/* 4. The first FAT sector of each copy: media byte, end of chain,
	 * and the root directory's cluster on FAT32. */
	memset(sec, 0, bps);
	fat_set(sec, b->type, 0, (fat_eoc(b->type) & ~0xffu) | b->media);
	fat_set(sec, b->type, 1, fat_eoc(b->type));
	if (b->type == FAT32)
		fat_set(sec, b->type, b->root_clus, fat_eoc(b->type));
	for (uint32_t i = 0; i < b->nfats; i++)
		if ((rc = blk_write(dev, ((uint64_t)b->first_fat + (uint64_t)i * b->fat_secs) * bps,
				    sec, bps)) < 0)
			goto io;
	/* 5. The volume label as the root's first entry. */
	if (label && *label) {
		struct fat_dirent d = {0};
		memcpy(d.name, b->label, 11);
		d.attr = FAT_ATTR_VOLUME;
		fat_time_encode(now, &d.wrt_date, &d.wrt_time);
		memset(sec, 0, bps);
		fat_dirent_encode(&d, sec);
		uint64_t root = b->type == FAT32
			? clus_off(&(struct fatfs){.b = *b}, b->root_clus)
			: (uint64_t)b->first_root * bps;
		if ((rc = blk_write(dev, root, sec, bps)) < 0)
			goto io;
	}
	/* 6. FAT32: FSInfo and its backup, the backup boot sector. */
	if (b->type == FAT32) {
		struct fat_fsinfo fi = {b->clusters - 1, 3};
		fat_fsinfo_encode(&fi, sec, bps);
		if ((rc = blk_write(dev, (uint64_t)b->fsinfo_sec * bps, sec, bps)) < 0 ||
		    (rc = blk_write(dev, (uint64_t)(b->backup_boot_sec + 1) * bps, sec, bps)) < 0)
			goto io;
		memset(sec, 0, bps);
		fat_bpb_encode(b, sec, bps);
		if ((rc = blk_write(dev, (uint64_t)b->backup_boot_sec * bps, sec, bps)) < 0)
			goto io;
	}
	if ((rc = blk_flush(dev)) < 0)
		goto io;
	/* 7. The boot sector, last. */
	memset(sec, 0, bps);
	fat_bpb_encode(b, sec, bps);
	if ((rc = blk_write(dev, 0, sec, bps)) < 0 || (rc = blk_flush(dev)) < 0)
		goto io;
	free(sec);
	return 0;
io:
	free(sec);
	return io_fail(err, rc, "format");
}

/* --- open / sync -------------------------------------------------------- */

/* FAT[1]'s clean-shutdown bit (FAT16, FAT32). */
static uint32_t clean_bit(const struct fatfs *fs)
{
	return fs->b.type == FAT16 ? 0x8000u : fs->b.type == FAT32 ? 0x08000000u : 0;
}

int fatfs_open(struct blkdev *dev, struct fatfs **out, struct gm_err *err)
{
	uint8_t sec[4096];
	struct fatfs *fs;
	const char *why;
	size_t n = dev->size < sizeof(sec) ? (size_t)dev->size : sizeof(sec);
	int rc;

	if (n < 512)
		return gm_fail(err, GM_E_UNREADABLE, "the volume is too small to "
			       "hold a FAT file system");
	if ((rc = blk_read(dev, 0, sec, n)) < 0)
		return io_fail(err, rc, "reading the boot sector");
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	fs->dev = dev;
	if (fat_bpb_decode(sec, n, dev->size, &fs->b, &why) < 0) {
		free(fs);
		return gm_fail(err, GM_E_UNREADABLE, "the volume does not hold a "
			       "FAT file system (boot sector: bad %s)", why);
	}
	fs->fat_len = (size_t)fs->b.fat_secs * fs->b.bytes_per_sec;
	if (fs->fat_len > FAT_MEM_MAX) {
		free(fs);
		return gm_fail(err, GM_E_UNREADABLE, "the FAT is too large");
	}
	fs->fat = malloc(fs->fat_len);
	fs->io = malloc(IOBUF);
	if (!fs->fat || !fs->io) {
		fatfs_close(fs);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if ((rc = blk_read(dev, (uint64_t)fs->b.first_fat * fs->b.bytes_per_sec,
			   fs->fat, fs->fat_len)) < 0) {
		fatfs_close(fs);
		return io_fail(err, rc, "reading the FAT");
	}
	fs->dirty_lo = fs->dirty_hi = 0;
	for (uint32_t c = 2; c < fs->b.clusters + 2; c++)
		if (fat_get(fs->fat, fs->b.type, c) == 0) {
			if (!fs->free_count)
				fs->next_free = c;
			fs->free_count++;
		}
	if (!fs->next_free)
		fs->next_free = 2;
	fs->found_dirty = fs->b.type == FAT12 ? (sec[0x25] & 1) != 0
					      : !(fat_get(fs->fat, fs->b.type, 1) & clean_bit(fs));
	*out = fs;
	return 0;
}

static void mark(struct fatfs *fs, uint32_t c)
{
	size_t lo, hi;

	switch (fs->b.type) {
	case FAT12:
		lo = c + c / 2;
		hi = lo + 2;
		break;
	case FAT16:
		lo = 2 * (size_t)c;
		hi = lo + 2;
		break;
	default:
		lo = 4 * (size_t)c;
		hi = lo + 4;
	}
	if (fs->dirty_lo >= fs->dirty_hi) {
		fs->dirty_lo = lo;
		fs->dirty_hi = hi;
	} else {
		if (lo < fs->dirty_lo)
			fs->dirty_lo = lo;
		if (hi > fs->dirty_hi)
			fs->dirty_hi = hi;
	}
}

static int write_fsinfo(struct fatfs *fs, uint32_t free_count,
			struct gm_err *err);

static int fat_flush(struct fatfs *fs, struct gm_err *err)
{
	uint32_t bps = fs->b.bytes_per_sec;
	int rc;

	if (fs->dirty_lo >= fs->dirty_hi)
		return 0;
	/* Before the first change reaches the FAT, FSInfo's free count is
	 * declared unknown, so an interrupted run never leaves a wrong one;
	 * fatfs_sync writes the true count. */
	if (!fs->fsinfo_unknown) {
		if ((rc = write_fsinfo(fs, 0xffffffffu, err)) < 0)
			return rc;
		fs->fsinfo_unknown = true;
	}
	size_t lo = fs->dirty_lo / bps * bps;
	size_t hi = (fs->dirty_hi + bps - 1) / bps * bps;
	if (hi > fs->fat_len)
		hi = fs->fat_len;
	for (uint32_t i = 0; i < fs->b.nfats; i++) {
		uint64_t base = ((uint64_t)fs->b.first_fat + (uint64_t)i * fs->b.fat_secs) * bps;
		if ((rc = blk_write(fs->dev, base + lo, fs->fat + lo, hi - lo)) < 0)
			return io_fail(err, rc, "writing the FAT");
	}
	fs->dirty_lo = fs->dirty_hi = 0;
	return 0;
}

static int write_fsinfo(struct fatfs *fs, uint32_t free_count,
			struct gm_err *err)
{
	uint32_t bps = fs->b.bytes_per_sec;
	int rc;

	if (fs->b.type != FAT32 || !fs->b.fsinfo_sec || fs->b.fsinfo_sec == 0xffff)
		return 0;
	uint8_t *sec = calloc(1, bps);
	struct fat_fsinfo fi = {free_count, fs->next_free};
	if (!sec)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	fat_fsinfo_encode(&fi, sec, bps);
	rc = blk_write(fs->dev, (uint64_t)fs->b.fsinfo_sec * bps, sec, bps);
	if (rc == 0 && fs->b.backup_boot_sec && fs->b.backup_boot_sec != 0xffff &&
	    fs->b.backup_boot_sec + 1u < fs->b.rsvd_secs)
		rc = blk_write(fs->dev, (uint64_t)(fs->b.backup_boot_sec + 1) * bps,
			       sec, bps);
	free(sec);
	return rc < 0 ? io_fail(err, rc, "writing FSInfo") : 0;
}

static int dir_flush(struct fatfs *fs, struct gm_err *err);

/* Sets or clears the dirty flag on disk, and flushes. */
static int set_dirty(struct fatfs *fs, bool on, struct gm_err *err)
{
	uint32_t bps = fs->b.bytes_per_sec;
	uint8_t *sec = malloc(bps);
	int rc = 0;

	if (!sec)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (fs->b.type == FAT12) {
		if ((rc = blk_read(fs->dev, 0, sec, bps)) == 0) {
			sec[0x25] = (uint8_t)(on ? sec[0x25] | 1 : sec[0x25] & ~1);
			rc = blk_write(fs->dev, 0, sec, bps);
		}
	} else {
		uint32_t v = fat_get(fs->fat, fs->b.type, 1);
		v = on ? v & ~clean_bit(fs) : v | clean_bit(fs);
		if (fs->b.type == FAT32) /* the top four bits are kept as they are */
			put_le32(fs->fat + 4, (get_le32(fs->fat + 4) & 0xf0000000u) | v);
		else
			fat_set(fs->fat, fs->b.type, 1, v);
		/* The first FAT is what a reader takes: it says dirty first
		 * and clean last, so that no crash between the copies leaves
		 * it clean while another copy differs. */
		for (uint32_t k = 0; k < fs->b.nfats && rc == 0; k++) {
			uint32_t i = on ? k : fs->b.nfats - 1 - k;
			rc = blk_write(fs->dev, ((uint64_t)fs->b.first_fat + (uint64_t)i * fs->b.fat_secs) * bps,
				       fs->fat, bps);
		}
	}
	free(sec);
	if (rc == 0)
		rc = blk_flush(fs->dev);
	return rc < 0 ? io_fail(err, rc, on ? "marking the volume dirty" : "marking the volume clean") : 0;
}

int fatfs_sync(struct fatfs *fs, struct gm_err *err)
{
	int rc = dir_flush(fs, err);

	if (rc == 0)
		rc = fat_flush(fs, err);

	if (rc < 0)
		return rc;
	if (fs->fsinfo_unknown) {
		if ((rc = write_fsinfo(fs, fs->free_count, err)) < 0)
			return rc;
		fs->fsinfo_unknown = false;
	}
	if ((rc = blk_flush(fs->dev)) < 0)
		return io_fail(err, rc, "flush");
	/* Everything is on disk: the volume is clean again. */
	if (fs->changing) {
		if ((rc = set_dirty(fs, false, err)) < 0)
			return rc;
		fs->changing = false;
	}
	return 0;
}

static void dir_drop(struct fatfs *fs);
static int dir_flush(struct fatfs *fs, struct gm_err *err);

void fatfs_close(struct fatfs *fs)
{
	if (!fs)
		return;
	dir_flush(fs, NULL); /* callers sync first; this is a last resort */
	dir_drop(fs);
	free(fs->fat);
	free(fs->io);
	free(fs);
}

/* --- chains ------------------------------------------------------------- */

/* Next cluster of a chain: 0 at the end, -1 if the link is broken. */
static int next_clus(struct fatfs *fs, uint32_t c, uint32_t *next)
{
	uint32_t v = fat_get(fs->fat, fs->b.type, c);

	if (fat_is_eoc(fs->b.type, v)) {
		*next = 0;
		return 0;
	}
	if (v < 2 || v >= fs->b.clusters + 2)
		return -1;
	*next = v;
	return 0;
}

static bool valid_clus(const struct fatfs *fs, uint32_t c)
{
	return c >= 2 && c < fs->b.clusters + 2;
}

/* The whole chain from first, checked for loops and bad links. */
static int load_chain(struct fatfs *fs, uint32_t first, uint32_t **out,
		      size_t *n, struct gm_err *err)
{
	size_t cap = 16, k = 0;
	uint32_t *v = malloc(cap * sizeof(*v)), c = first;

	if (!v)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (!valid_clus(fs, first)) {
		free(v);
		return gm_fail(err, GM_E_UNREADABLE, "a directory entry points "
			       "to cluster %" PRIu32 ", outside the volume", first);
	}
	while (c) {
		if (k >= fs->b.clusters) {
			free(v);
			return gm_fail(err, GM_E_UNREADABLE, "the cluster chain "
				       "from %" PRIu32 " loops", first);
		}
		if (k == cap) {
			uint32_t *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				free(v);
				return gm_fail(err, GM_E_NOMEM, "out of memory");
			}
			v = nv;
			cap *= 2;
		}
		v[k++] = c;
		if (next_clus(fs, c, &c) < 0) {
			free(v);
			return gm_fail(err, GM_E_UNREADABLE, "the cluster chain "
				       "from %" PRIu32 " is broken", first);
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static int alloc_chain(struct fatfs *fs, uint32_t count, uint32_t *first,
		       struct gm_err *err)
{
	uint32_t prev = 0, c = fs->next_free, seen = 0, got = 0;

	*first = 0;
	if (count == 0)
		return 0;
	if (count > fs->free_count)
		return gm_fail(err, GM_E_NO_SPACE, "There is not enough space on "
			       "the disk.");
	while (got < count && seen < fs->b.clusters) {
		if (!valid_clus(fs, c))
			c = 2;
		if (fat_get(fs->fat, fs->b.type, c) == 0) {
			if (prev) {
				fat_set(fs->fat, fs->b.type, prev, c);
				mark(fs, prev);
			} else {
				*first = c;
			}
			prev = c;
			got++;
		}
		c++;
		seen++;
	}
	fat_set(fs->fat, fs->b.type, prev, fat_eoc(fs->b.type));
	mark(fs, prev);
	fs->free_count -= count;
	fs->next_free = valid_clus(fs, prev + 1) ? prev + 1 : 2;
	return 0;
}

static void free_chain(struct fatfs *fs, uint32_t first)
{
	uint32_t c = first, n;

	for (uint32_t k = 0; valid_clus(fs, c) && k < fs->b.clusters; k++) {
		if (next_clus(fs, c, &n) < 0)
			n = 0;
		if (fat_get(fs->fat, fs->b.type, c) != 0) {
			fat_set(fs->fat, fs->b.type, c, 0);
			mark(fs, c);
			fs->free_count++;
		}
		c = n;
	}
}

/* --- directories -------------------------------------------------------- */

static void dir_drop(struct fatfs *fs)
{
	free(fs->dc.buf);
	free(fs->dc.chain);
	free(fs->dc.ents.v);
	free(fs->dc.set);
	memset(&fs->dc, 0, sizeof(fs->dc));
}

static uint64_t name_hash(const uint8_t name[11])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 11; i++) {
		h ^= name[i];
		h *= 0x100000001b3ull;
	}
	return h | 1; /* never 0, the empty mark */
}

static int set_add(struct dirbuf *dc, const uint8_t name[11])
{
	if (2 * (dc->setn + 1) > dc->setcap) {
		size_t nc = dc->setcap ? dc->setcap * 2 : 256;
		uint64_t *ns = calloc(nc, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t i = 0; i < dc->setcap; i++) {
			if (!dc->set[i])
				continue;
			size_t j = dc->set[i] & (nc - 1);
			while (ns[j])
				j = (j + 1) & (nc - 1);
			ns[j] = dc->set[i];
		}
		free(dc->set);
		dc->set = ns;
		dc->setcap = nc;
	}
	uint64_t h = name_hash(name);
	size_t j = h & (dc->setcap - 1);
	while (dc->set[j]) {
		if (dc->set[j] == h)
			return 0;
		j = (j + 1) & (dc->setcap - 1);
	}
	dc->set[j] = h;
	dc->setn++;
	return 0;
}

/* May report a name as taken that is not (a hash collision): harmless,
 * the caller then picks another short name. */
static bool set_has(const struct dirbuf *dc, const uint8_t name[11])
{
	if (!dc->setcap)
		return false;
	uint64_t h = name_hash(name);
	size_t j = h & (dc->setcap - 1);
	while (dc->set[j]) {
		if (dc->set[j] == h)
			return true;
		j = (j + 1) & (dc->setcap - 1);
	}
	return false;
}

static int dir_write(struct fatfs *fs, size_t first, size_t n, struct gm_err *err);

/* Writes the entries added to the cached directory: the FAT they point
 * into first, then the entries, so no entry ever reaches the disk before
 * its clusters are marked used. */
static int dir_flush(struct fatfs *fs, struct gm_err *err)
{
	int rc;

	if (!fs->dc.valid || fs->dc.dirty_lo >= fs->dc.dirty_hi)
		return 0;
	if ((rc = fat_flush(fs, err)) < 0 ||
	    (rc = dir_write(fs, fs->dc.dirty_lo, fs->dc.dirty_hi - fs->dc.dirty_lo, err)) < 0)
		return rc;
	fs->dc.dirty_lo = fs->dc.dirty_hi = 0;
	return 0;
}

static int dir_load(struct fatfs *fs, uint32_t dir, struct gm_err *err)
{
	uint32_t bps = fs->b.bytes_per_sec, cb = fs->b.clus_bytes;
	int rc;

	if (fs->dc.valid && fs->dc.dir == dir)
		return 0;
	if ((rc = dir_flush(fs, err)) < 0)
		return rc;
	dir_drop(fs);
	if (dir == 0) {
		if (fs->b.type == FAT32)
			return gm_fail(err, GM_E_UNREADABLE, "bad directory");
		fs->dc.len = (size_t)fs->b.root_secs * bps;
		fs->dc.buf = malloc(fs->dc.len ? fs->dc.len : 1);
		if (!fs->dc.buf)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		if ((rc = blk_read(fs->dev, (uint64_t)fs->b.first_root * bps,
				   fs->dc.buf, fs->dc.len)) < 0)
			return io_fail(err, rc, "reading the root directory");
	} else {
		if ((rc = load_chain(fs, dir, &fs->dc.chain, &fs->dc.nchain, err)) < 0)
			return rc;
		if (fs->dc.nchain > (64u << 20) / cb) {
			dir_drop(fs);
			return gm_fail(err, GM_E_UNREADABLE, "a directory is too large");
		}
		fs->dc.len = fs->dc.nchain * cb;
		fs->dc.buf = malloc(fs->dc.len);
		if (!fs->dc.buf) {
			dir_drop(fs);
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		}
		for (size_t i = 0; i < fs->dc.nchain; i++)
			if ((rc = blk_read(fs->dev, clus_off(fs, fs->dc.chain[i]),
					   fs->dc.buf + i * cb, cb)) < 0) {
				dir_drop(fs);
				return io_fail(err, rc, "reading a directory");
			}
	}
	fs->dc.valid = true;
	fs->dc.dir = dir;
	return 0;
}

static uint64_t slot_off(const struct fatfs *fs, size_t slot)
{
	uint64_t byte = (uint64_t)slot * FAT_DIRENT;

	if (fs->dc.dir == 0)
		return (uint64_t)fs->b.first_root * fs->b.bytes_per_sec + byte;
	return clus_off(fs, fs->dc.chain[byte / fs->b.clus_bytes]) +
	       byte % fs->b.clus_bytes;
}

/* Writes slots [first, first + n) of the cached directory to disk. */
static int dir_write(struct fatfs *fs, size_t first, size_t n, struct gm_err *err)
{
	size_t per = fs->b.clus_bytes / FAT_DIRENT;

	while (n > 0) {
		size_t run = n;
		if (fs->dc.dir != 0) {
			size_t left = per - first % per;
			if (run > left)
				run = left;
		}
		int rc = blk_write(fs->dev, slot_off(fs, first),
				   fs->dc.buf + first * FAT_DIRENT, run * FAT_DIRENT);
		if (rc < 0)
			return io_fail(err, rc, "writing a directory");
		first += run;
		n -= run;
	}
	return 0;
}

/* Adds a zeroed cluster to the cached directory. */
static int dir_extend(struct fatfs *fs, struct gm_err *err)
{
	uint32_t c, cb = fs->b.clus_bytes;
	int rc;

	if (fs->dc.dir == 0)
		return gm_fail(err, GM_E_NO_SPACE, "The root directory is full "
			       "(%" PRIu16 " entries).", fs->b.root_ents);
	if ((rc = alloc_chain(fs, 1, &c, err)) < 0)
		return rc;
	if ((rc = blk_zero(fs->dev, clus_off(fs, c), cb)) < 0)
		return io_fail(err, rc, "writing a directory");
	uint32_t last = fs->dc.chain[fs->dc.nchain - 1];
	fat_set(fs->fat, fs->b.type, last, c);
	mark(fs, last);
	uint32_t *nc = realloc(fs->dc.chain, (fs->dc.nchain + 1) * sizeof(*nc));
	uint8_t *nb = realloc(fs->dc.buf, fs->dc.len + cb);
	if (nc)
		fs->dc.chain = nc;
	if (nb)
		fs->dc.buf = nb;
	if (!nc || !nb)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	fs->dc.chain[fs->dc.nchain++] = c;
	memset(fs->dc.buf + fs->dc.len, 0, cb);
	fs->dc.len += cb;
	return fat_flush(fs, err);
}

static int push_entry(struct entries *out, const struct fat_entry *e,
		      struct gm_err *err)
{
	if (out->n == out->cap) {
		size_t nc = out->cap ? out->cap * 2 : 32;
		struct fat_entry *nv = realloc(out->v, nc * sizeof(*nv));
		if (!nv)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		out->v = nv;
		out->cap = nc;
	}
	out->v[out->n++] = *e;
	return 0;
}

/* Decodes the cached directory into entries (long names assembled). */
static int dir_decode(struct fatfs *fs, struct entries *out, struct gm_err *err)
{
	uint16_t units[20 * 13 + 1];
	int expect = 0, nlfn = 0;
	uint8_t chk = 0;
	size_t start = 0, slots = fs->dc.len / FAT_DIRENT;

	for (size_t s = 0; s < slots; s++) {
		const uint8_t *p = fs->dc.buf + s * FAT_DIRENT;
		if (p[0] == 0x00)
			break;
		if (p[0] == 0xe5) {
			expect = 0;
			continue;
		}
		if ((p[11] & 0x3f) == FAT_ATTR_LFN) {
			struct fat_lfn l;
			fat_lfn_decode(p, &l);
			int ord = l.ord & 0x1f;
			if (l.ord & 0x40) {
				if (ord == 0 || ord > 20) {
					expect = 0;
					continue;
				}
				nlfn = ord;
				expect = ord;
				chk = l.chksum;
				start = s;
				for (int i = 0; i < 20 * 13 + 1; i++)
					units[i] = 0;
			} else if (!(expect > 1 && ord == expect - 1 && l.chksum == chk)) {
				expect = 0;
				continue;
			} else {
				expect = ord;
			}
			memcpy(units + (ord - 1) * 13, l.units, sizeof(l.units));
			continue;
		}
		struct fat_entry e;
		memset(&e, 0, sizeof(e));
		fat_dirent_decode(p, &e.d);
		if ((e.d.attr & FAT_ATTR_VOLUME) && !(e.d.attr & FAT_ATTR_DIR)) {
			expect = 0;
			continue;
		}
		if (e.d.name[0] == '.' && (e.d.name[1] == ' ' || e.d.name[1] == '.')) {
			expect = 0;
			continue;
		}
		fat_short_to_str(e.d.name, e.d.ntres, e.short_name);
		e.dir = fs->dc.dir;
		e.slot = (uint32_t)s;
		e.nslots = 1;
		if (expect == 1 && chk == fat_lfn_checksum(e.d.name)) {
			uint8_t raw[2 * (20 * 13 + 1)];
			int n = 0;
			while (n < nlfn * 13 && units[n] != 0 && units[n] != 0xffff)
				n++;
			for (int i = 0; i < n; i++)
				put_le16(raw + 2 * i, units[i]);
			if (n > 0 && utf16le_to_utf8(raw, (size_t)n, e.name, sizeof(e.name)) > 0)
				e.nslots = (uint32_t)(s - start + 1);
			else
				snprintf(e.name, sizeof(e.name), "%s", e.short_name);
		} else {
			snprintf(e.name, sizeof(e.name), "%s", e.short_name);
		}
		expect = 0;
		if (push_entry(out, &e, err) < 0)
			return -1;
	}
	return 0;
}

/* The decoded entries of dir, from the cache (owned by fs). */
static int cached(struct fatfs *fs, uint32_t dir, const struct entries **out,
		  struct gm_err *err)
{
	int rc = dir_load(fs, dir, err);

	if (rc < 0)
		return rc;
	if (!fs->dc.decoded) {
		fs->dc.ents.n = 0;
		if ((rc = dir_decode(fs, &fs->dc.ents, err)) < 0)
			return rc;
		for (size_t i = 0; i < fs->dc.ents.n; i++)
			if (set_add(&fs->dc, fs->dc.ents.v[i].d.name) < 0)
				return gm_fail(err, GM_E_NOMEM, "out of memory");
		fs->dc.decoded = true;
	}
	*out = &fs->dc.ents;
	return 0;
}

int fatfs_list(struct fatfs *fs, uint32_t dir, fat_dir_fn fn, void *ctx,
	       struct gm_err *err)
{
	const struct entries *c;
	int rc = cached(fs, dir, &c, err);

	if (rc < 0)
		return rc;
	/* The callback may use fs (and so the cache): walk a copy. */
	size_t n = c->n;
	struct fat_entry *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (n)
		memcpy(v, c->v, n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		if ((rc = fn(ctx, &v[i])) != 0)
			break;
	free(v);
	return rc < 0 ? rc : 0;
}

static bool name_eq(const struct fat_entry *e, const char *name)
{
	return strcasecmp(e->name, name) == 0 || strcasecmp(e->short_name, name) == 0;
}

int fatfs_find(struct fatfs *fs, uint32_t dir, const char *name,
	       struct fat_entry *out, struct gm_err *err)
{
	const struct entries *c;
	int rc = cached(fs, dir, &c, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < c->n; i++) {
		if (name_eq(&c->v[i], name)) {
			*out = c->v[i];
			return 1;
		}
	}
	return 0;
}

static void root_entry(const struct fatfs *fs, struct fat_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->d.attr = FAT_ATTR_DIR;
	e->d.first_clus = fatfs_root(fs);
}

int fatfs_lookup(struct fatfs *fs, const char *path, struct fat_entry *out,
		 struct gm_err *err)
{
	char buf[4096], *save = NULL;

	root_entry(fs, out);
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok_r(buf, "\\/", &save); tok; tok = strtok_r(NULL, "\\/", &save)) {
		if (!fat_entry_is_dir(out))
			return gm_fail(err, GM_E_ARGS, "The directory name is invalid.");
		if (strcmp(tok, ".") == 0)
			continue;
		int rc = fatfs_find(fs, out->d.first_clus, tok, out, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return gm_fail(err, GM_E_NO_PART, "File not found - %s", tok);
	}
	return 0;
}

/* A short name for long name `name` that no entry of the directory has:
 * "~1" to "~4" on the basis, then as Windows does: two characters of the
 * basis, four hex digits of a hash of the long name, and a tail. */
static int pick_short_name(const struct dirbuf *dc, const uint8_t basis[11],
			   const char *name, uint8_t out[11])
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (unsigned k = 1; k < 100000; k++) {
		uint8_t cand[11];
		if (k <= 4) {
			fat_short_tail(basis, k, cand);
		} else {
			uint8_t hb[11];
			char hex[5];
			memcpy(hb, basis, 11);
			int keep = basis[1] == ' ' ? 1 : 2;
			snprintf(hex, sizeof(hex), "%04X", (unsigned)((h + (k - 5) / 9) & 0xffff));
			memcpy(hb + keep, hex, 4);
			memset(hb + keep + 4, ' ', (size_t)(8 - keep - 4));
			fat_short_tail(hb, (k - 5) % 9 + 1, cand);
		}
		if (!set_has(dc, cand)) {
			memcpy(out, cand, 11);
			return 0;
		}
	}
	return -1;
}

/* The first run of want free slots (deleted, or past the end mark) of the
 * cached directory: true and its first slot, or false. */
static bool free_run(const struct dirbuf *dc, size_t want, size_t *start)
{
	size_t slots = dc->len / FAT_DIRENT, run = 0;
	bool end = false;

	for (size_t s = 0; s < slots; s++) {
		uint8_t c0 = dc->buf[s * FAT_DIRENT];
		if (c0 == 0x00)
			end = true;
		if (end || c0 == 0xe5) {
			if (run++ == 0)
				*start = s;
			if (run == want)
				return true;
		} else {
			run = 0;
		}
	}
	return false;
}

/* Chooses the short name and writes the entries for a new name. */
static int dir_add(struct fatfs *fs, uint32_t dir, const char *name,
		   struct fat_dirent *d, struct fat_entry *out, struct gm_err *err)
{
	uint8_t basis[11], ntres;
	bool need_lfn, lossy;
	int rc;

	if (fat_name_plan(name, basis, &ntres, &need_lfn, &lossy) < 0)
		return gm_fail(err, GM_E_ARGS, "\"%s\" is not a valid file name "
			       "on a FAT volume.", name);
	const struct entries *c;
	if ((rc = cached(fs, dir, &c, err)) < 0)
		return rc;
	bool taken = set_has(&fs->dc, basis);
	if (!need_lfn && taken) {
		need_lfn = true;
		lossy = true;
	}
	if (!need_lfn || (!lossy && !taken)) {
		memcpy(d->name, basis, 11);
	} else {
		if (pick_short_name(&fs->dc, basis, name, d->name) < 0)
			return gm_fail(err, GM_E_NO_SPACE, "no short name is left");
	}
	d->ntres = need_lfn ? 0 : ntres;

	uint8_t u[2 * 256];
	int units = need_lfn ? utf8_to_utf16le(name, u, 255) : 0;
	if (units < 0)
		return gm_fail(err, GM_E_ARGS, "bad name");
	size_t nlfn = need_lfn ? ((size_t)units + 12) / 13 : 0, want = nlfn + 1;

	/* A run of free slots; the directory grows when there is none. */
	size_t start;
	while (!free_run(&fs->dc, want, &start))
		if ((rc = dir_extend(fs, err)) < 0)
			return rc;

	uint8_t chk = fat_lfn_checksum(d->name);
	for (size_t k = 0; k < nlfn; k++) {
		struct fat_lfn l;
		size_t ord = nlfn - k; /* stored last-part first */
		l.ord = (uint8_t)(ord | (k == 0 ? 0x40 : 0));
		l.chksum = chk;
		for (int i = 0; i < 13; i++) {
			size_t idx = (ord - 1) * 13 + (size_t)i;
			if (idx < (size_t)units)
				l.units[i] = get_le16(u + 2 * idx);
			else if (idx == (size_t)units)
				l.units[i] = 0;
			else
				l.units[i] = 0xffff;
		}
		fat_lfn_encode(&l, fs->dc.buf + (start + k) * FAT_DIRENT);
	}
	fat_dirent_encode(d, fs->dc.buf + (start + nlfn) * FAT_DIRENT);
	/* Written by dir_flush, after the FAT the entry points into. */
	if (fs->dc.dirty_lo >= fs->dc.dirty_hi) {
		fs->dc.dirty_lo = start;
		fs->dc.dirty_hi = start + want;
	} else {
		if (start < fs->dc.dirty_lo)
			fs->dc.dirty_lo = start;
		if (start + want > fs->dc.dirty_hi)
			fs->dc.dirty_hi = start + want;
	}
	struct fat_entry ne;
	memset(&ne, 0, sizeof(ne));
	snprintf(ne.name, sizeof(ne.name), "%s", name);
	fat_short_to_str(d->name, d->ntres, ne.short_name);
	ne.d = *d;
	ne.dir = dir;
	ne.slot = (uint32_t)(start + nlfn);
	ne.nslots = (uint32_t)want;
	/* Keep the cache in step (the entries are in slot order). */
	if (fs->dc.decoded && (push_entry(&fs->dc.ents, &ne, err) < 0 ||
			       set_add(&fs->dc, d->name) < 0))
		fs->dc.decoded = false;
	if (fs->dc.decoded && fs->dc.ents.n > 1 &&
	    fs->dc.ents.v[fs->dc.ents.n - 2].slot > ne.slot)
		fs->dc.decoded = false; /* reused a hole: decode afresh next time */
	if (out)
		*out = ne;
	return 0;
}

static void stamp(struct fat_dirent *d, int64_t t)
{
	fat_time_encode(t, &d->wrt_date, &d->wrt_time);
	d->crt_date = d->wrt_date;
	d->crt_time = d->wrt_time;
	d->acc_date = d->wrt_date;
}

int fatfs_mkdir(struct fatfs *fs, uint32_t dir, const char *name, int64_t t,
		struct fat_entry *out, struct gm_err *err)
{
	struct fat_entry ex;
	struct fat_dirent d = {0};
	uint32_t c;
	int rc = fatfs_find(fs, dir, name, &ex, err);

	if (rc < 0)
		return rc;
	if (rc == 0 && (rc = begin_change(fs, err)) < 0)
		return rc;
	if (rc == 1) {
		if (fat_entry_is_dir(&ex)) {
			if (out)
				*out = ex;
			return 0;
		}
		return gm_fail(err, GM_E_ARGS, "A file named %s already exists.", name);
	}
	if (!fat_long_name_valid(name))
		return gm_fail(err, GM_E_ARGS, "\"%s\" is not a valid file name "
			       "on a FAT volume.", name);
	if ((rc = alloc_chain(fs, 1, &c, err)) < 0)
		return rc;
	/* The new directory's cluster: "." and "..", the rest zero. */
	uint8_t *buf = calloc(1, fs->b.clus_bytes);
	if (!buf)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	struct fat_dirent dot = {0};
	memset(dot.name, ' ', 11);
	dot.name[0] = '.';
	dot.attr = FAT_ATTR_DIR;
	stamp(&dot, t);
	dot.first_clus = c;
	fat_dirent_encode(&dot, buf);
	dot.name[1] = '.';
	dot.first_clus = dir == fatfs_root(fs) ? 0 : dir;
	fat_dirent_encode(&dot, buf + FAT_DIRENT);
	rc = blk_write(fs->dev, clus_off(fs, c), buf, fs->b.clus_bytes);
	free(buf);
	if (rc < 0)
		return io_fail(err, rc, "writing a directory");
	d.attr = FAT_ATTR_DIR;
	stamp(&d, t);
	d.first_clus = c;
	return dir_add(fs, dir, name, &d, out, err);
}

/* Marks e's entries deleted, then frees its chain. */
static int remove_entry(struct fatfs *fs, const struct fat_entry *e, struct gm_err *err)
{
	int rc;

	if ((rc = begin_change(fs, err)) < 0)
		return rc;
	if ((rc = dir_load(fs, e->dir, err)) < 0)
		return rc;
	if ((size_t)e->slot * FAT_DIRENT >= fs->dc.len || e->nslots == 0 || e->nslots > e->slot + 1)
		return gm_fail(err, GM_E_ARGS, "stale directory entry");
	size_t first = e->slot + 1 - e->nslots;
	if (e->d.first_clus)
		free_chain(fs, e->d.first_clus);
	for (size_t s = first; s <= e->slot; s++)
		fs->dc.buf[s * FAT_DIRENT] = 0xe5;
	fs->dc.decoded = false;
	free(fs->dc.set);
	fs->dc.set = NULL;
	fs->dc.setcap = fs->dc.setn = 0;
	/* Entries go first, then the freed clusters. */
	if ((rc = dir_write(fs, first, e->nslots, err)) < 0)
		return rc;
	return fat_flush(fs, err);
}

int fatfs_unlink(struct fatfs *fs, const struct fat_entry *e, struct gm_err *err)
{
	if (fat_entry_is_dir(e))
		return gm_fail(err, GM_E_ARGS, "%s is a directory", e->name);
	return remove_entry(fs, e, err);
}

static int count_entry(void *ctx, const struct fat_entry *e)
{
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

int fatfs_rmdir(struct fatfs *fs, const struct fat_entry *e, struct gm_err *err)
{
	size_t n = 0;
	int rc;

	if (!fat_entry_is_dir(e) || !e->d.first_clus || e->d.first_clus == fatfs_root(fs))
		return gm_fail(err, GM_E_ARGS, "%s is not a subdirectory", e->name);
	if ((rc = fatfs_list(fs, e->d.first_clus, count_entry, &n, err)) < 0)
		return rc;
	if (n)
		return gm_fail(err, GM_E_NOT_EMPTY, "The directory %s is not empty.", e->name);
	return remove_entry(fs, e, err);
}

int fatfs_set_attr(struct fatfs *fs, const struct fat_entry *e, uint8_t attr,
		   struct gm_err *err)
{
	int rc;

	if ((rc = begin_change(fs, err)) < 0 || (rc = dir_load(fs, e->dir, err)) < 0)
		return rc;
	if ((size_t)e->slot * FAT_DIRENT >= fs->dc.len)
		return gm_fail(err, GM_E_ARGS, "stale directory entry");
	uint8_t *a = &fs->dc.buf[(size_t)e->slot * FAT_DIRENT + 11];
	/* The directory and volume bits are the entry's kind, not attributes. */
	*a = (uint8_t)((*a & (FAT_ATTR_DIR | FAT_ATTR_VOLUME)) |
		       (attr & ~(FAT_ATTR_DIR | FAT_ATTR_VOLUME)));
	fs->dc.decoded = false;
	return dir_write(fs, e->slot, 1, err);
}

static int write_file(struct fatfs *fs, uint32_t dir, const char *name,
		      uint8_t attr, int64_t t, uint64_t size, fat_read_fn read_fn,
		      void *ctx, int fd, struct fat_entry *out, struct gm_err *err);

int fatfs_write_file(struct fatfs *fs, uint32_t dir, const char *name,
		     uint8_t attr, int64_t t, uint64_t size, fat_read_fn read_fn,
		     void *ctx, struct fat_entry *out, struct gm_err *err)
{
	return write_file(fs, dir, name, attr, t, size, read_fn, ctx, -1, out, err);
}

int fatfs_write_file_fd(struct fatfs *fs, uint32_t dir, const char *name,
			uint8_t attr, int64_t t, uint64_t size, int fd,
			struct fat_entry *out, struct gm_err *err)
{
	return write_file(fs, dir, name, attr, t, size, NULL, NULL, fd, out, err);
}

static int write_file(struct fatfs *fs, uint32_t dir, const char *name,
		      uint8_t attr, int64_t t, uint64_t size, fat_read_fn read_fn,
		      void *ctx, int fd, struct fat_entry *out, struct gm_err *err)
{
	uint32_t cb = fs->b.clus_bytes, first;
	struct fat_entry ex;
	struct fat_dirent d = {0};
	int rc;

	if (size > 0xffffffffull)
		return gm_fail(err, GM_E_ARGS, "%s is larger than 4 GB, the "
			       "largest file FAT can hold.", name);
	if (!fat_long_name_valid(name))
		return gm_fail(err, GM_E_ARGS, "\"%s\" is not a valid file name "
			       "on a FAT volume.", name);
	if ((rc = begin_change(fs, err)) < 0)
		return rc;
	rc = fatfs_find(fs, dir, name, &ex, err);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		if (fat_entry_is_dir(&ex))
			return gm_fail(err, GM_E_ARGS, "A directory named %s "
				       "already exists.", name);
		if ((rc = fatfs_unlink(fs, &ex, err)) < 0)
			return rc;
	}
	uint32_t nclus = (uint32_t)((size + cb - 1) / cb);
	if ((rc = alloc_chain(fs, nclus, &first, err)) < 0)
		return rc;
	/* Data, in runs of contiguous clusters. */
	uint64_t left = size;
	uint32_t c = first;
	while (left > 0 && c) {
		uint32_t run = 1, n;
		uint64_t cap = IOBUF / cb;
		while (run < cap && (uint64_t)run * cb < left && next_clus(fs, c + run - 1, &n) == 0 &&
		       n == c + run)
			run++;
		uint64_t bytes = (uint64_t)run * cb;
		uint64_t data = left < bytes ? left : bytes;
		if (fd >= 0) {
			rc = blk_import(fs->dev, clus_off(fs, c), fd, data);
			if (rc == 0 && bytes > data)
				rc = blk_zero(fs->dev, clus_off(fs, c) + data, bytes - data);
			if (rc < 0) {
				free_chain(fs, first);
				fat_flush(fs, NULL);
				return io_fail(err, rc, "copying file data");
			}
		} else {
			size_t got = 0;
			while (got < data) {
				ssize_t r = read_fn(ctx, fs->io + got, (size_t)(data - got));
				if (r <= 0) {
					free_chain(fs, first);
					fat_flush(fs, NULL);
					return gm_fail(err, GM_E_IO, "reading the source "
						       "of %s failed", name);
				}
				got += (size_t)r;
			}
			memset(fs->io + data, 0, (size_t)(bytes - data)); /* slack */
			if ((rc = blk_write(fs->dev, clus_off(fs, c), fs->io,
					    (size_t)bytes)) < 0) {
				free_chain(fs, first);
				fat_flush(fs, NULL);
				return io_fail(err, rc, "writing file data");
			}
		}
		left -= data;
		if (fs->progress)
			fs->progress(fs->pctx, size - left, size);
		uint32_t last = c + run - 1;
		if (next_clus(fs, last, &c) < 0)
			c = 0;
	}
	d.attr = attr;
	stamp(&d, t);
	d.first_clus = first;
	d.size = (uint32_t)size;
	rc = dir_add(fs, dir, name, &d, out, err);
	if (rc < 0) {
		free_chain(fs, first);
		fat_flush(fs, NULL);
	}
	return rc;
}

int fatfs_read_file(struct fatfs *fs, const struct fat_entry *e,
		    fat_write_fn write_fn, void *ctx, struct gm_err *err)
{
	uint32_t cb = fs->b.clus_bytes, c = e->d.first_clus;
	uint64_t left = e->d.size, steps = 0;
	int rc;

	if (left && !valid_clus(fs, c))
		return gm_fail(err, GM_E_UNREADABLE, "%s points to cluster "
			       "%" PRIu32 ", outside the volume", e->name, c);
	while (left > 0) {
		if (!c)
			return gm_fail(err, GM_E_UNREADABLE, "the cluster chain of %s "
				       "ends before its size", e->name);
		uint32_t run = 1, n;
		uint64_t cap = IOBUF / cb;
		while (run < cap && (uint64_t)run * cb < left &&
		       next_clus(fs, c + run - 1, &n) == 0 && n == c + run)
			run++;
		steps += run;
		if (steps > fs->b.clusters)
			return gm_fail(err, GM_E_UNREADABLE, "the cluster chain of %s "
				       "loops", e->name);
		uint64_t bytes = (uint64_t)run * cb;
		uint64_t data = left < bytes ? left : bytes;
		if ((rc = blk_read(fs->dev, clus_off(fs, c), fs->io, (size_t)data)) < 0)
			return io_fail(err, rc, "reading file data");
		if ((rc = write_fn(ctx, fs->io, (size_t)data)) < 0)
			return gm_fail(err, GM_E_IO, "writing a copy of %s failed",
				       e->name);
		left -= data;
		if (next_clus(fs, c + run - 1, &c) < 0)
			return gm_fail(err, GM_E_UNREADABLE, "the cluster chain of %s "
				       "is broken", e->name);
	}
	/* The chain must end with the file: one that goes on loops (it can
	 * never reach its end) or is cross-linked, and its data is not what
	 * its size says. */
	if (c != 0)
		return gm_fail(err, GM_E_UNREADABLE, "the cluster chain of %s "
			       "loops or runs past the file's size", e->name);
	return 0;
}

void fatfs_label(struct fatfs *fs, char *out, size_t cap)
{
	struct gm_err err;

	out[0] = '\0';
	if (dir_load(fs, fatfs_root(fs), &err) == 0) {
		for (size_t s = 0; s < fs->dc.len / FAT_DIRENT; s++) {
			const uint8_t *p = fs->dc.buf + s * FAT_DIRENT;
			if (p[0] == 0)
				break;
			if (p[0] != 0xe5 && (p[11] & 0x3f) != FAT_ATTR_LFN &&
			    (p[11] & (FAT_ATTR_VOLUME | FAT_ATTR_DIR)) == FAT_ATTR_VOLUME) {
				int n = 11;
				while (n > 0 && p[n - 1] == ' ')
					n--;
				snprintf(out, cap, "%.*s", n, (const char *)p);
				return;
			}
		}
	}
	if (fs->b.has_ext && strncmp(fs->b.label, "NO NAME    ", 11) != 0) {
		int n = 11;
		while (n > 0 && fs->b.label[n - 1] == ' ')
			n--;
		snprintf(out, cap, "%.*s", n, fs->b.label);
	}
}

ssize_t fat_mem_read(void *ctx, void *buf, size_t len)
{
	struct fat_mem_src *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

int fatfs_descend_ok(const struct fatfs *fs, const uint32_t *anc, size_t n, uint32_t dir,
		     uint32_t clus, const char *name, struct gm_err *err)
{
	if (n + 1 >= FATFS_MAX_DEPTH)
		return gm_fail(err, GM_E_CORRUPT, "The directory structure is corrupt: %s is "
			       "more than %d directories deep. Run chkdsk.", name, FATFS_MAX_DEPTH);
	bool cycle = clus == dir || clus == fatfs_root(fs) || clus == 0;
	for (size_t i = 0; i < n && !cycle; i++)
		cycle = anc[i] == clus;
	if (cycle)
		return gm_fail(err, GM_E_CORRUPT, "The directory structure is corrupt: %s "
			       "points back at a directory that contains it. Run chkdsk.", name);
	return 0;
}

/* --- check and repair (chkdsk, autochk) ---------------------------------- */

static int cmp_case(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name two of the n entries share (any case), or NULL. */
static const char *duplicate_name(const struct fat_entry *v, size_t n)
{
	const char **names = malloc((n ? n : 1) * sizeof(*names));
	const char *dup = NULL;

	if (!names)
		return NULL;
	for (size_t i = 0; i < n; i++)
		names[i] = v[i].name;
	qsort(names, n, sizeof(*names), cmp_case);
	for (size_t i = 1; i < n && !dup; i++)
		if (strcasecmp(names[i - 1], names[i]) == 0)
			dup = names[i];
	free(names);
	return dup;
}

struct walk {
	struct fatfs *fs;
	uint8_t *used; /* per cluster: reached from an entry */
	struct fat_check *c;
	uint32_t anc[FATFS_MAX_DEPTH + 1];
	size_t nanc;
};

static void bad_entry(struct walk *w, const char *name, const char *what)
{
	size_t cap = sizeof(w->c->bad_first);

	/* The name is cut to what fits; the reason is kept whole. */
	if (!w->c->bad++) {
		int keep = (int)(cap - 3 - strnlen(what, cap - 4)) - 1;
		snprintf(w->c->bad_first, cap, "%.*s: %s", keep > 0 ? keep : 0, name, what);
	}
}

/* Marks the chain from first as used: how many clusters it has. */
static uint64_t mark_chain(struct walk *w, const char *name, uint32_t first)
{
	struct fatfs *fs = w->fs;
	uint64_t n = 0;

	for (uint32_t c = first; c;) {
		if (!valid_clus(fs, c)) {
			bad_entry(w, name, "its chain points outside the volume");
			break;
		}
		if (w->used[c]) {
			bad_entry(w, name, "its chain crosses another one");
			break;
		}
		w->used[c] = 1;
		n++;
		uint32_t v = fat_get(fs->fat, fs->b.type, c);
		if (fat_is_eoc(fs->b.type, v))
			break;
		if (!valid_clus(fs, v)) {
			bad_entry(w, name, "its chain is broken");
			break;
		}
		c = v;
	}
	return n;
}

struct collected {
	struct fat_entry *v;
	size_t n, cap;
};

static int collect(void *ctx, const struct fat_entry *e)
{
	struct collected *k = ctx;

	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct fat_entry *nv = realloc(k->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		k->v = nv;
		k->cap = cap;
	}
	k->v[k->n++] = *e;
	return 0;
}

static int walk_dir(struct walk *w, uint32_t dir, struct gm_err *err)
{
	struct fatfs *fs = w->fs;
	struct collected k = {0};
	uint32_t cb = fs->b.clus_bytes;
	int rc = fatfs_list(fs, dir, collect, &k, err);

	if (rc < 0 || (k.n && !k.v)) {
		free(k.v);
		return rc < 0 ? rc : gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	const char *dup = duplicate_name(k.v, k.n);
	if (dup)
		bad_entry(w, dup, "two entries of its directory have this name");
	for (size_t i = 0; i < k.n && rc == 0; i++) {
		const struct fat_entry *e = &k.v[i];
		uint32_t first = e->d.first_clus;
		if (fat_entry_is_dir(e)) {
			struct gm_err e2;
			if (!first) {
				bad_entry(w, e->name, "a directory with no cluster");
				continue;
			}
			if (fatfs_descend_ok(fs, w->anc, w->nanc, dir, first, e->name, &e2) < 0) {
				bad_entry(w, e->name, e2.detail);
				continue;
			}
			if (w->used[first < fs->b.clusters + 2 ? first : 0]) {
				bad_entry(w, e->name, "its chain crosses another one");
				continue;
			}
			w->c->dirs++;
			w->c->dir_clus += mark_chain(w, e->name, first);
			w->anc[w->nanc++] = dir;
			rc = walk_dir(w, first, err);
			w->nanc--;
			continue;
		}
		uint64_t n = first ? mark_chain(w, e->name, first) : 0;
		if (n != (e->d.size + (uint64_t)cb - 1) / cb)
			bad_entry(w, e->name, "its size and its chain disagree");
		if (e->d.attr & FAT_ATTR_HIDDEN) {
			w->c->hidden++;
			w->c->hidden_clus += n;
		} else {
			w->c->files++;
			w->c->file_clus += n;
		}
	}
	free(k.v);
	return rc;
}

int fatfs_check(struct fatfs *fs, bool fix, struct fat_check *c, struct gm_err *err)
{
	uint32_t bps = fs->b.bytes_per_sec, top = fs->b.clusters + 2;
	struct walk w = {fs, calloc(top, 1), c, {0}, 0};
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->was_dirty = fs->found_dirty;
	if (!w.used)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (fs->b.type == FAT32)
		c->dir_clus += mark_chain(&w, "the root directory", fs->b.root_clus);
	if ((rc = walk_dir(&w, fatfs_root(fs), err)) < 0)
		goto out;
	/* Lost chains: clusters in use that no entry reaches. */
	uint8_t *pointed = calloc(top, 1);
	if (!pointed) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	uint32_t bad_mark = fat_eoc(fs->b.type) - 8; /* 0xff7, 0xfff7, 0x0ffffff7 */
	for (uint32_t k = 2; k < top; k++) {
		uint32_t v = fat_get(fs->fat, fs->b.type, k);
		if (v && v != bad_mark && !w.used[k]) {
			c->lost_clusters++;
			if (valid_clus(fs, v))
				pointed[v] = 1;
		}
	}
	for (uint32_t k = 2; k < top; k++) {
		uint32_t v = fat_get(fs->fat, fs->b.type, k);
		if (v && v != bad_mark && !w.used[k] && !pointed[k])
			c->lost_chains++;
	}
	free(pointed);
	/* The other copies of the FAT. */
	uint8_t *copy = malloc(fs->fat_len);
	if (!copy) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 1; i < fs->b.nfats && !c->fats_differ; i++) {
		uint64_t base = ((uint64_t)fs->b.first_fat + (uint64_t)i * fs->b.fat_secs) * bps;
		if ((rc = blk_read(fs->dev, base, copy, fs->fat_len)) < 0) {
			free(copy);
			rc = io_fail(err, rc, "reading the FAT");
			goto out;
		}
		c->fats_differ = memcmp(copy, fs->fat, fs->fat_len) != 0;
	}
	free(copy);
	/* FSInfo's free count, where there is one. */
	c->free_clusters = fs->free_count + c->lost_clusters;
	if (fs->b.type == FAT32 && fs->b.fsinfo_sec && fs->b.fsinfo_sec != 0xffff) {
		uint8_t *sec = malloc(bps);
		struct fat_fsinfo fi;
		if (!sec) {
			rc = gm_fail(err, GM_E_NOMEM, "out of memory");
			goto out;
		}
		if (blk_read(fs->dev, (uint64_t)fs->b.fsinfo_sec * bps, sec, bps) == 0 &&
		    fat_fsinfo_decode(sec, bps, &fi) == 0 && fi.free_count != 0xffffffffu &&
		    fi.free_count != c->free_clusters) {
			c->free_wrong = true;
			c->free_recorded = fi.free_count;
		}
		free(sec);
	}
	if (!fix)
		goto out;
	/* The repair: lost clusters freed, every copy of the FAT made the
	 * first, the free count and then the clean flag written. */
	for (uint32_t k = 2; k < top; k++) {
		uint32_t v = fat_get(fs->fat, fs->b.type, k);
		if (v && v != bad_mark && !w.used[k]) {
			fat_set(fs->fat, fs->b.type, k, 0);
			mark(fs, k);
			fs->free_count++;
		}
	}
	if (c->fats_differ) {
		fs->dirty_lo = 0;
		fs->dirty_hi = fs->fat_len;
	}
	fs->fsinfo_unknown = true; /* the true count is written below */
	if ((rc = fat_flush(fs, err)) < 0 || (rc = write_fsinfo(fs, fs->free_count, err)) < 0)
		goto out;
	fs->fsinfo_unknown = false;
	if ((rc = blk_flush(fs->dev)) < 0) {
		rc = io_fail(err, rc, "flush");
		goto out;
	}
	if ((rc = set_dirty(fs, false, err)) < 0)
		goto out;
	fs->found_dirty = false;
	c->fixed = true;
out:
	free(w.used);
	return rc;
}

int fatfs_autocheck(struct fatfs *fs, struct gm_err *err)
{
	if (!fs->found_dirty || fs->autochecked)
		return 0;
	fs->autochecked = true;
	return fatfs_check(fs, true, &fs->autochk, err);
}

const struct fat_check *fatfs_autochecked(const struct fatfs *fs)
{
	return fs->autochecked ? &fs->autochk : NULL;
}

/* Before the first write of a change: a volume found dirty is repaired
 * first, then the dirty flag is set on disk. */
static int begin_change(struct fatfs *fs, struct gm_err *err)
{
	int rc;

	if (fs->changing)
		return 0;
	if (!fs->dev->writable)
		return gm_fail(err, GM_E_IO, "the volume is read-only");
	if (fs->found_dirty && !fs->autochecked) {
		fs->autochecked = true;
		if ((rc = fatfs_check(fs, true, &fs->autochk, err)) < 0)
			return rc;
	}
	if ((rc = set_dirty(fs, true, err)) < 0)
		return rc;
	fs->changing = true;
	return 0;
}

int fatfs_names_unique(struct fatfs *fs, uint32_t dir, struct gm_err *err)
{
	struct collected k = {0};
	int rc = fatfs_list(fs, dir, collect, &k, err);

	if (rc < 0) {
		free(k.v);
		return rc;
	}
	const char *dup = duplicate_name(k.v, k.n);
	if (dup)
		rc = gm_fail(err, GM_E_CORRUPT, "two entries of the directory have the name "
			     "%.200s: the volume is damaged (chkdsk reports it)", dup);
	free(k.v);
	return rc;
}
