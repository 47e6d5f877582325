/*
 * fatfs.h - a FAT12/16/32 file system on a block device: format, walk,
 * read and write files, make directories. The FAT is kept in memory and
 * written back (both copies, dirty range only) before the directory entry
 * that needs it, so a crash leaves lost clusters at worst, never a file
 * pointing at free space.
 */
#ifndef GM_FATFS_H
#define GM_FATFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../fmt/fat.h"
#include "../io/blkio.h"
#include "err.h"

struct fatfs;

/* One name in a directory. dir is the cluster of the directory holding it
 * (0: the fixed root of FAT12/16). */
struct fat_entry {
	char name[1024];     /* long name (UTF-8), or the short one */
	char short_name[13];
	struct fat_dirent d;
	uint32_t dir;
	uint32_t slot;       /* index of the short entry */
	uint32_t nslots;     /* long entries + 1 */
};

/* The root as an entry (a directory with no name). */
bool fat_entry_is_dir(const struct fat_entry *e);

/* Layout Windows' format would choose. kind: FAT16 means /fs:fat (FAT12
 * on small volumes), FAT32 means /fs:fat32. clus_bytes 0: the default. */
int fat_format_plan(uint64_t vol_bytes, uint32_t sector_size, enum fat_type kind,
		    uint32_t clus_bytes, uint32_t hidden_secs,
		    struct fat_bpb *out, struct gm_err *err);
typedef void (*fat_progress_fn)(void *ctx, unsigned percent);
/* Writes the file system: zeroes the data area too when !quick. */
int fat_format(struct blkdev *dev, struct fat_bpb *plan, const char *label,
	       uint32_t serial, int64_t now, bool quick, fat_progress_fn progress,
	       void *pctx, struct gm_err *err);

int fatfs_open(struct blkdev *dev, struct fatfs **out, struct gm_err *err);
int fatfs_sync(struct fatfs *fs, struct gm_err *err);
void fatfs_close(struct fatfs *fs);
const struct fat_bpb *fatfs_bpb(const struct fatfs *fs);
uint32_t fatfs_free_clusters(const struct fatfs *fs);
/* The volume label: the root's volume-ID entry, else the boot sector's. */
void fatfs_label(struct fatfs *fs, char *out, size_t cap);
uint32_t fatfs_root(const struct fatfs *fs);

typedef int (*fat_dir_fn)(void *ctx, const struct fat_entry *e);
/* Every entry of a directory but ".", ".." and the volume label, in
 * on-disk order. The callback returning non-zero stops the walk. */
int fatfs_list(struct fatfs *fs, uint32_t dir, fat_dir_fn fn, void *ctx,
	       struct gm_err *err);
/* Looks a name up (long or short, any case) in a directory. 1 found,
 * 0 not found, < 0 error. */
int fatfs_find(struct fatfs *fs, uint32_t dir, const char *name,
	       struct fat_entry *out, struct gm_err *err);
/* A path of names separated by '\' or '/'; "" is the root. */
int fatfs_lookup(struct fatfs *fs, const char *path, struct fat_entry *out,
		 struct gm_err *err);

int fatfs_mkdir(struct fatfs *fs, uint32_t dir, const char *name,
		int64_t mtime, struct fat_entry *out, struct gm_err *err);
/*
 * Creates a file of size bytes whose contents come from read_fn (called
 * with consecutive chunks until size is reached). An existing file of the
 * same name is replaced.
 */
typedef ssize_t (*fat_read_fn)(void *ctx, void *buf, size_t len);
/* A fat_read_fn over a buffer: ctx is a struct fat_mem_src. */
struct fat_mem_src {
	const uint8_t *p;
	size_t len, pos;
};
ssize_t fat_mem_read(void *ctx, void *buf, size_t len);
int fatfs_write_file(struct fatfs *fs, uint32_t dir, const char *name,
		     uint8_t attr, int64_t mtime, uint64_t size,
		     fat_read_fn read_fn, void *ctx, struct fat_entry *out,
		     struct gm_err *err);
/* The same, with the contents read from fd (at its position): copied in
 * the kernel where the device allows. */
int fatfs_write_file_fd(struct fatfs *fs, uint32_t dir, const char *name,
			uint8_t attr, int64_t mtime, uint64_t size, int fd,
			struct fat_entry *out, struct gm_err *err);
/* Called as a file's data goes in: bytes written so far and in all.
 * NULL (the default): no reports. */
typedef void (*fat_copy_progress_fn)(void *ctx, uint64_t done, uint64_t total);
void fatfs_set_progress(struct fatfs *fs, fat_copy_progress_fn fn, void *ctx);
/* Streams a file's bytes to write_fn in order. */
typedef int (*fat_write_fn)(void *ctx, const void *buf, size_t len);
int fatfs_read_file(struct fatfs *fs, const struct fat_entry *e,
		    fat_write_fn write_fn, void *ctx, struct gm_err *err);
/* Deletes a file (not a directory). */
int fatfs_unlink(struct fatfs *fs, const struct fat_entry *e, struct gm_err *err);
/* Deletes an empty subdirectory. */
int fatfs_rmdir(struct fatfs *fs, const struct fat_entry *e, struct gm_err *err);
/* Sets an entry's attributes (read-only, hidden, system, archive). */
int fatfs_set_attr(struct fatfs *fs, const struct fat_entry *e, uint8_t attr,
		   struct gm_err *err);

/*
 * Consistency. Every change runs under the volume's dirty flag (FAT[1]'s
 * clean-shutdown bit on FAT16 and FAT32, the boot sector's dirty bit at
 * 0x25 on FAT12): set and flushed before the first write of a change,
 * cleared by fatfs_sync once everything is on disk. Writes go in an order
 * in which a crash leaves at worst clusters no entry uses, FAT copies that
 * differ (the first is the newer) or a stale free count; a volume found
 * dirty is checked and repaired (fatfs_check with fix) before its first
 * change, as Windows' autochk does at boot.
 */
struct fat_check {
	bool was_dirty;          /* the dirty flag was set */
	bool fats_differ;        /* a copy of the FAT differs from the first */
	bool free_wrong;         /* FSInfo's free count is wrong */
	uint32_t free_recorded;  /* ... what it says */
	uint32_t lost_clusters;  /* in use in the FAT, used by no entry */
	uint32_t lost_chains;
	uint32_t bad;            /* entries it cannot repair (a chain that is
				  * broken, crosses another or disagrees with
				  * the size), left as they are */
	char bad_first[160];     /* the first of them */
	uint64_t files, dirs, hidden;            /* counts */
	uint64_t file_clus, dir_clus, hidden_clus; /* their allocation units */
	uint32_t free_clusters;  /* once repaired (or as it would be) */
	bool fixed;              /* fix was asked and done */
};
/* Checks the whole volume; with fix, repairs what it can: lost clusters
 * freed, every FAT copy made the first, the free count rewritten, the
 * dirty flag cleared. */
int fatfs_check(struct fatfs *fs, bool fix, struct fat_check *out, struct gm_err *err);
/* Runs the check a change would run first (a volume found dirty is
 * repaired) without making a change: for a caller that may find nothing
 * to write. */
int fatfs_autocheck(struct fatfs *fs, struct gm_err *err);
/* The check done before the first change of a volume found dirty, or NULL. */
const struct fat_check *fatfs_autochecked(const struct fatfs *fs);

/* GM_E_CORRUPT when two entries of directory dir have the same name (any
 * case): a damaged or crafted directory, which a copy out would merge. */
int fatfs_names_unique(struct fatfs *fs, uint32_t dir, struct gm_err *err);

/* Directory walks (xcopy /s, dir) go at most this deep. */
#define FATFS_MAX_DEPTH 64
/* May a walk go down from directory dir (below its ancestors anc[0..n),
 * the root first) into the subdirectory name at cluster clus? GM_E_CORRUPT
 * for a cycle (clus is the root, dir or an ancestor: a damaged or crafted
 * volume) and for a walk deeper than FATFS_MAX_DEPTH. */
int fatfs_descend_ok(const struct fatfs *fs, const uint32_t *anc, size_t n, uint32_t dir,
		     uint32_t clus, const char *name, struct gm_err *err);

#endif
