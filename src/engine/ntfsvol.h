/*
 * ntfsvol.h - NTFS volumes through libntfs-3g, run on gptmirror's own block
 * devices (its device operations over a struct blkdev): a basic partition,
 * or a dynamic volume read through a healthy plex. No loop device, FUSE or
 * root. Read side: the label and serial, free space, directory listings
 * and file contents.
 */
#ifndef GM_NTFSVOL_H
#define GM_NTFSVOL_H

#include <stdbool.h>
#include <stdint.h>

#include "../io/blkio.h"
#include "err.h"

struct ntfsvol;

struct ntfs_item {
	char name[1024]; /* UTF-8 */
	bool dir;
	uint64_t size;   /* bytes of the unnamed data stream */
	int64_t mtime;   /* Unix seconds */
	uint32_t attrs;  /* FILE_ATTRIBUTE_*: 0x01 read-only, 0x02 hidden, 0x04 system */
};

/* Mounts the NTFS on dev read-only (dev must outlive it). GM_E_CORRUPT
 * with libntfs-3g's reason when it is not a readable NTFS. */
int ntfsvol_open(struct blkdev *dev, struct ntfsvol **out, struct gm_err *err);
void ntfsvol_close(struct ntfsvol *v);
const char *ntfsvol_label(const struct ntfsvol *v);
uint64_t ntfsvol_serial(const struct ntfsvol *v);
uint64_t ntfsvol_free_bytes(struct ntfsvol *v);

/* path: '\'-separated from the root ("" or "\" is the root). */
int ntfsvol_stat(struct ntfsvol *v, const char *path, struct ntfs_item *it, struct gm_err *err);
/* The entries of a directory, in the index's order, "." and ".." and the
 * metafiles ($MFT ...) left out. fn returns < 0 to stop. */
typedef int (*ntfs_item_fn)(void *ctx, const struct ntfs_item *it);
int ntfsvol_list(struct ntfsvol *v, const char *path, ntfs_item_fn fn, void *ctx,
		 struct gm_err *err);
/* A file's data, in pieces, to sink (< 0 stops). */
int ntfsvol_read(struct ntfsvol *v, const char *path,
		 int (*sink)(void *ctx, const void *buf, size_t len), void *ctx,
		 struct gm_err *err);

/*
 * Writing. ntfsvol_open_rw mounts it for writing: every change waits (in
 * memory, or in clusters the old file system does not use) until
 * ntfsvol_commit, which makes it durable through a journal file so that a
 * crash leaves the old NTFS or one ntfs_journal_replay finishes into the
 * new. ntfsvol_close without a commit drops the changes.
 */
int ntfsvol_open_rw(struct blkdev *dev, struct ntfsvol **out, struct gm_err *err);
/* journal: the file (in the machine's directory); tag names the volume
 * for the replay (its drive letter). Frees v, whatever the outcome. */
int ntfsvol_commit(struct ntfsvol *v, const char *journal, const char *tag,
		   struct gm_err *err);
/* Writes a whole journal of tag onto dev (the volume it names: its size
 * and serial must match) and deletes it: 1 done, 0 nothing to do (none, or
 * a cut-off one or one of another tag, which is deleted), < 0 error (dev
 * NULL, the volume cannot be opened: a whole journal is an error). */
int ntfs_journal_replay(const char *journal, const char *tag, struct blkdev *dev,
			struct gm_err *err);

/* Makes directory dir\name (times: now) unless it exists. */
int ntfsvol_mkdir(struct ntfsvol *v, const char *dir, const char *name, int64_t now,
		  struct gm_err *err);
/* Opens dir\name for writing its data from the start, creating it (any
 * case matches an existing file, as on Windows). Then ntfsvol_out_write
 * (a sink) and ntfsvol_out_close, which sets the attributes (read-only,
 * hidden, system, archive) and the times (mtime the data's, now the rest). */
struct ntfs_out;
int ntfsvol_create_file(struct ntfsvol *v, const char *dir, const char *name, int64_t now,
			struct ntfs_out **out, struct gm_err *err);
int ntfsvol_out_write(void *ctx, const void *buf, size_t len);
int ntfsvol_out_close(struct ntfs_out *o, uint32_t attrs, int64_t mtime, struct gm_err *err);

#endif

/* format /fs:ntfs: mkntfs makes the file system on a sparse scratch file
 * in scratch_dir (the machine's directory), which is then written onto dev
 * holes and all. The order keeps a crash harmless: the old boot sector is
 * zeroed first (the volume is RAW until the end), every other byte goes
 * next, the new boot sector last, each step flushed. unit 0: Windows'
 * default (4 KB up to 16 TB). serial is the volume serial number written;
 * fixed_time (deterministic mode) gives every time stamp mkntfs writes as
 * 1970-01-01. Returns the cluster size in *unit_out. */
struct ntfs_format_req {
	uint64_t hidden;    /* the volume's first sector on its disk */
	uint32_t unit;
	const char *label;
	bool quick;
	uint64_t serial;
	bool fixed_time;
};
int ntfs_format(struct blkdev *dev, const char *scratch_dir, const struct ntfs_format_req *r,
		uint32_t *unit_out, struct gm_err *err);
/* Windows' default NTFS cluster size for a volume of that size. */
uint32_t ntfs_default_unit(uint64_t bytes);
uint64_t ntfsvol_total_bytes(const struct ntfsvol *v);
