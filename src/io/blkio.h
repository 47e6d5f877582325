/*
 * blkio.h - block access to disk images (and, later, block devices).
 *
 * A struct blkdev is an ops table plus geometry. Every byte moved is
 * counted, so tests can show that metadata work does not depend on disk size.
 */
#ifndef GM_BLKIO_H
#define GM_BLKIO_H

#include <stddef.h>
#include <stdint.h>

struct blkdev;

/* A partition as the kernel is told of it. */
struct blk_part {
	uint32_t pno;          /* 1-based: GPT entry + 1 */
	uint64_t start, len;   /* bytes */
};

struct blkdev_ops {
	/* Full transfers only: return 0 or a negative errno. */
	int (*read)(struct blkdev *d, uint64_t off, void *buf, size_t len);
	int (*write)(struct blkdev *d, uint64_t off, const void *buf, size_t len);
	int (*flush)(struct blkdev *d);
	void (*close)(struct blkdev *d);
	/* Optional: make a range read as zeros (a hole in an image file). */
	int (*zero)(struct blkdev *d, uint64_t off, uint64_t len);
	/* Optional: copy len bytes from the current position of fd to off,
	 * in the kernel where it can (copy_file_range). */
	int (*import)(struct blkdev *d, uint64_t off, int fd, uint64_t len);
	/* Optional: the run that starts at off, data (1) or hole (0), and
	 * its length (SEEK_DATA/SEEK_HOLE on an image file). */
	int (*run)(struct blkdev *d, uint64_t off, uint64_t *len);
	/* Optional: copy len bytes of src at soff to off, in the kernel where
	 * it can (copy_file_range); -EOPNOTSUPP when it cannot for this src,
	 * and then nothing was written. */
	int (*copy)(struct blkdev *d, uint64_t off, struct blkdev *src, uint64_t soff,
		    uint64_t len);
	/* Optional (block devices): make the kernel's partitions the given
	 * ones; why says what it refused. */
	int (*set_partitions)(struct blkdev *d, const struct blk_part *p, size_t n, char *why,
			      size_t cap);
};

struct blkdev {
	const struct blkdev_ops *ops;
	void *priv;
	uint64_t size;        /* bytes */
	uint32_t sector_size; /* 512 or 4096 */
	int writable;
	int stacked; /* a view of other devices through blk_* (a volume's
		      * plexes): its I/O
		      * is counted in blkio_stats where it lands, not here */
	char kname[64]; /* a block device: its kernel name ("loop3"); else "" */
};

struct blkio_stats {
	uint64_t bytes_read;
	uint64_t bytes_written;
	uint64_t reads;
	uint64_t writes;
};

/*
 * Opens an image file. Refuses anything that is not a regular file.
 * writable: open read-write (no write happens until asked).
 */
int blk_open_file(const char *path, int writable, uint32_t sector_size,
		  struct blkdev **out);
/*
 * Opens a whole-disk block device. With want_write it is opened for
 * writing only when nothing holds it (no partition mounted, swapped on,
 * held by md/dm or backing a loop device), the kernel grants an exclusive
 * open (O_EXCL), the device is not read-only, and flock(LOCK_EX) on it is
 * had (udev's lock, held until close); else it is opened read-only and why
 * says what stopped the write. Size and logical sector size come from the
 * device. -ENOTBLK when path is not a block device.
 */
int blk_open_device(const char *path, int want_write, struct blkdev **out, char *why,
		    size_t cap);
/* A block device's stable identity (serial, WWN, a loop device's backing
 * file; "" when none, or not a device). */
void blk_identity(const struct blkdev *d, char *out, size_t cap);
/* 1 when partition pno of a block device is mounted (where says so). */
int blk_part_mounted(const struct blkdev *d, uint32_t pno, char *where, size_t cap);
/* Tells the kernel the partitions of a block device (0 for an image). */
int blk_set_partitions(struct blkdev *d, const struct blk_part *p, size_t n, char *why,
		       size_t cap);

/*
 * The crash hook of the tests, shared by every device of a process that
 * was opened with it: the process ends abruptly (_exit(137), as kill -9
 * would end it) right after the writes counted here reach after (0: never).
 * A write is one call of the backend's write, zero, import or copy.
 */
struct blk_crash {
	uint64_t after;
	uint64_t writes;
};
#define BLK_CRASH_STATUS 137

/*
 * Wraps dev in the fault-injecting backend: the nth write from now
 * (1-based) and every later one fail with -EIO (fail_write_at 0: never),
 * reads of bytes in [bad_start, bad_end) fail with -EIO, and every write
 * that succeeds counts towards crash (NULL: no crash hook). Takes
 * ownership of dev.
 */
int blk_open_fault(struct blkdev *dev, uint64_t fail_write_at, uint64_t bad_start,
		   uint64_t bad_end, struct blk_crash *crash, struct blkdev **out);

/*
 * A byte range [off, off + size) of parent, as a device of its own: a
 * volume on a partition. The parent is not owned and must outlive it.
 */
int blk_open_slice(struct blkdev *parent, uint64_t off, uint64_t size,
		   struct blkdev **out);
/* A device over a caller-owned buffer (fuzzing, unit tests). */
int blk_open_mem(uint8_t *buf, uint64_t size, uint32_t sector_size,
		 struct blkdev **out);

int blk_read(struct blkdev *d, uint64_t off, void *buf, size_t len);
int blk_write(struct blkdev *d, uint64_t off, const void *buf, size_t len);
int blk_flush(struct blkdev *d);
/* Copies len bytes read from fd (at its position) to off. */
int blk_import(struct blkdev *d, uint64_t off, int fd, uint64_t len);
/* Zeroes a range: punches a hole where the backend can, writes zeros else. */
int blk_zero(struct blkdev *d, uint64_t off, uint64_t len);
void blk_close(struct blkdev *d);
/* Copies len bytes from src at soff to dst at doff: in the kernel
 * (copy_file_range) between two image files, by reading and writing
 * otherwise. */
int blk_copy(struct blkdev *dst, uint64_t doff, struct blkdev *src, uint64_t soff,
	     uint64_t len);
/* The run of data (returns 1) or hole (returns 0) that starts at off, its
 * length in *len, capped at the end of the device. A device that cannot
 * tell says data, to the end. */
int blk_run(struct blkdev *d, uint64_t off, uint64_t *len);

/* Totals over every device since start (or the last reset). */
void blkio_stats_get(struct blkio_stats *out);
void blkio_stats_reset(void);
/* Counts one write of len bytes that did not go through a device (a file
 * replaced whole). */
void blkio_stats_count_write(uint64_t len);

/*
 * Replaces the small file path whole and atomically (replace.c): NAME.tmp
 * written and flushed, renamed over NAME, the directory flushed. A crash
 * leaves the old file or the new one. 0, or -errno with path unchanged.
 * Counts as one write (blkio_stats, the crash hook below).
 */
int file_replace(const char *path, const void *buf, size_t len);
/* The crash hook file_replace counts towards (NULL: none). */
void file_replace_crash_hook(struct blk_crash *crash);
/* Counts one write towards crash and ends the process when it is the
 * last one allowed (faultio.c). */
void blk_crash_tick(struct blk_crash *crash);

#endif
