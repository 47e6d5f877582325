/* blkio.c - image-file backend and the byte counters. */
#include "blkio.h"
#include "linuxdev.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct blkio_stats stats;

void blkio_stats_get(struct blkio_stats *out)
{
	*out = stats;
}

void blkio_stats_reset(void)
{
	stats = (struct blkio_stats){0};
}

void blkio_stats_count_write(uint64_t len)
{
	stats.bytes_written += len;
	stats.writes++;
}

static int check_range(struct blkdev *d, uint64_t off, size_t len)
{
	if (off > d->size || len > d->size - off)
		return -ERANGE;
	return 0;
}

int blk_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	int rc = check_range(d, off, len);

	if (rc < 0)
		return rc;
	rc = d->ops->read(d, off, buf, len);
	if (rc == 0 && !d->stacked) {
		stats.bytes_read += len;
		stats.reads++;
	}
	return rc;
}

int blk_write(struct blkdev *d, uint64_t off, const void *buf, size_t len)
{
	int rc = check_range(d, off, len);

	if (rc < 0)
		return rc;
	if (!d->writable)
		return -EROFS;
	rc = d->ops->write(d, off, buf, len);
	if (rc == 0 && !d->stacked) {
		stats.bytes_written += len;
		stats.writes++;
	}
	return rc;
}

int blk_flush(struct blkdev *d)
{
	return d->ops->flush ? d->ops->flush(d) : 0;
}

int blk_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];
	int rc = check_range(d, off, len);

	if (rc < 0)
		return rc;
	if (!d->writable)
		return -EROFS;
	if (d->ops->zero && d->ops->zero(d, off, len) == 0) {
		if (!d->stacked)
			blkio_stats_count_write(len);
		return 0;
	}
	while (len > 0) {
		size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;
		if ((rc = blk_write(d, off, zeros, n)) < 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_import(struct blkdev *d, uint64_t off, int fd, uint64_t len)
{
	static uint8_t buf[1 << 16];
	int rc = check_range(d, off, len);

	if (rc < 0)
		return rc;
	if (!d->writable)
		return -EROFS;
	if (d->ops->import && d->ops->import(d, off, fd, len) == 0) {
		if (!d->stacked)
			blkio_stats_count_write(len);
		return 0;
	}
	while (len > 0) {
		size_t want = len > sizeof(buf) ? sizeof(buf) : (size_t)len;
		ssize_t n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if ((rc = blk_write(d, off, buf, (size_t)n)) < 0)
			return rc;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int blk_copy(struct blkdev *dst, uint64_t doff, struct blkdev *src, uint64_t soff,
	     uint64_t len)
{
	static uint8_t buf[1 << 20];
	int rc;

	if ((rc = check_range(dst, doff, len)) < 0 || (rc = check_range(src, soff, len)) < 0)
		return rc;
	if (!dst->writable)
		return -EROFS;
	if (dst->ops->copy && dst->ops->copy(dst, doff, src, soff, len) == 0) {
		if (!dst->stacked) {
			stats.bytes_read += len;
			stats.bytes_written += len;
			stats.reads++;
			stats.writes++;
		}
		return 0;
	}
	while (len > 0) {
		size_t n = len > sizeof(buf) ? sizeof(buf) : (size_t)len;
		if ((rc = blk_read(src, soff, buf, n)) < 0 || (rc = blk_write(dst, doff, buf, n)) < 0)
			return rc;
		soff += n;
		doff += n;
		len -= n;
	}
	return 0;
}

int blk_run(struct blkdev *d, uint64_t off, uint64_t *len)
{
	int rc;

	if (off >= d->size) {
		*len = 0;
		return 1;
	}
	if (d->ops->run && (rc = d->ops->run(d, off, len)) >= 0) {
		if (*len > d->size - off || *len == 0)
			*len = d->size - off;
		return rc;
	}
	*len = d->size - off;
	return 1;
}

int blk_set_partitions(struct blkdev *d, const struct blk_part *p, size_t n, char *why,
		       size_t cap)
{
	if (why && cap)
		why[0] = '\0';
	return d->ops->set_partitions ? d->ops->set_partitions(d, p, n, why, cap) : 0;
}

void blk_close(struct blkdev *d)
{
	if (d)
		d->ops->close(d);
}

/* --- image files -------------------------------------------------------- */

struct file_priv {
	int fd;
};

static const struct blkdev_ops file_ops;


static int file_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct file_priv *p = d->priv;
	uint8_t *b = buf;

	while (len > 0) {
		ssize_t n = pread(p->fd, b, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* the file shrank under us */
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_write(struct blkdev *d, uint64_t off, const void *buf,
		      size_t len)
{
	struct file_priv *p = d->priv;
	const uint8_t *b = buf;
	uint64_t start = off, total = len;

	while (len > 0) {
		ssize_t n = pwrite(p->fd, b, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	/* Big writes (a resync, a large file) start their writeback now, so
	 * the flush that ends the command overlaps the copy. */
	if (total >= (1u << 20))
		sync_file_range(p->fd, (off_t)start, (off_t)total, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int file_flush(struct blkdev *d)
{
	struct file_priv *p = d->priv;

	return fdatasync(p->fd) < 0 ? -errno : 0;
}

static int file_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	struct file_priv *p = d->priv;

	if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

/* copy_file_range from fd's position; on the first failure it reports
 * -EOPNOTSUPP untouched, so the caller can fall back to read and write. */
static int file_import(struct blkdev *d, uint64_t off, int fd, uint64_t len)
{
	struct file_priv *p = d->priv;
	loff_t out = (loff_t)off;
	bool moved = false;

	while (len > 0) {
		ssize_t n = copy_file_range(fd, NULL, p->fd, &out, (size_t)len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!moved)
				return -EOPNOTSUPP;
			return n < 0 ? -errno : -EIO;
		}
		moved = true;
		len -= (uint64_t)n;
	}
	/* Start writing big copies back now, so that the flush at the end
	 * of the command overlaps the copy instead of following it. */
	if (out - (loff_t)off >= (1 << 20))
		sync_file_range(p->fd, (off_t)off, out - (loff_t)off,
				SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int file_run(struct blkdev *d, uint64_t off, uint64_t *len)
{
	struct file_priv *p = d->priv;
	off_t data = lseek(p->fd, (off_t)off, SEEK_DATA);

	if (data < 0) {
		if (errno != ENXIO)
			return -errno;
		*len = d->size - off; /* a hole to the end */
		return 0;
	}
	if ((uint64_t)data > off) {
		*len = (uint64_t)data - off;
		return 0;
	}
	off_t hole = lseek(p->fd, (off_t)off, SEEK_HOLE);
	if (hole < 0)
		return -errno;
	*len = (uint64_t)hole - off;
	return 1;
}

/* copy_file_range between two image files; -EOPNOTSUPP, nothing written,
 * when src is not one or the kernel cannot, else the rest by pread and
 * pwrite when the kernel stops short. */
static int file_copy(struct blkdev *d, uint64_t off, struct blkdev *src, uint64_t soff,
		     uint64_t len)
{
	static uint8_t buf[1 << 20];

	if (src->ops != &file_ops)
		return -EOPNOTSUPP;
	int in = ((struct file_priv *)src->priv)->fd;
	int out = ((struct file_priv *)d->priv)->fd;
	loff_t si = (loff_t)soff, so = (loff_t)off;
	uint64_t left = len;
	while (left > 0) {
		ssize_t n = copy_file_range(in, &si, out, &so, (size_t)left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= (uint64_t)n;
	}
	if (left == len)
		return -EOPNOTSUPP;
	while (left > 0) {
		size_t n = left > sizeof(buf) ? sizeof(buf) : (size_t)left;
		int rc = file_read(src, (uint64_t)si, buf, n);
		if (rc < 0 || (rc = file_write(d, (uint64_t)so, buf, n)) < 0)
			return rc;
		si += (loff_t)n;
		so += (loff_t)n;
		left -= n;
	}
	sync_file_range(out, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static void file_close(struct blkdev *d)
{
	struct file_priv *p = d->priv;

	close(p->fd);
	free(p);
	free(d);
}

static const struct blkdev_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.close = file_close,
	.zero = file_zero,
	.import = file_import,
	.run = file_run,
	.copy = file_copy,
};

/* A device over open fd (which it then owns); the fd is closed on failure. */
static int fd_dev(int fd, const struct blkdev_ops *ops, uint64_t size, uint32_t ss, int writable,
		  struct blkdev **out)
{
	struct blkdev *d = calloc(1, sizeof(*d));
	struct file_priv *p = calloc(1, sizeof(*p));

	if (!d || !p) {
		free(d);
		free(p);
		close(fd);
		return -ENOMEM;
	}
	p->fd = fd;
	d->ops = ops;
	d->priv = p;
	d->size = size;
	d->sector_size = ss;
	d->writable = writable;
	*out = d;
	return 0;
}

/* --- block devices -------------------------------------------------------- */

static int dev_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	struct file_priv *p = d->priv;
	uint64_t r[2] = {off, len};

	return ioctl(p->fd, BLKZEROOUT, r) < 0 ? -EOPNOTSUPP : 0;
}

static int dev_set_partitions(struct blkdev *d, const struct blk_part *parts, size_t n,
			      char *why, size_t cap)
{
	struct file_priv *p = d->priv;
	int rc = linuxdev_set_partitions(p->fd, d->kname, parts, n, why, cap);

	linuxdev_settle();
	return rc;
}

static const struct blkdev_ops dev_ops;

/* Between two block devices (a resync): large aligned buffers, with
 * O_DIRECT on both, as dd iflag=direct oflag=direct copies; -EOPNOTSUPP
 * (the caller copies through the page cache) when a range is not aligned
 * or direct I/O cannot be had. */
static int dev_copy(struct blkdev *d, uint64_t off, struct blkdev *src, uint64_t soff,
		    uint64_t len)
{
	const size_t chunk = 16u << 20;
	struct file_priv *dp = d->priv, *sp = src->priv;
	char path[64];
	int in = -1, out = -1, rc = 0;
	void *buf = NULL;
	uint64_t align = d->sector_size > src->sector_size ? d->sector_size : src->sector_size;

	if (src->ops != &dev_ops || off % 4096 || soff % 4096 || len % align)
		return -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sp->fd);
	in = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dp->fd);
	out = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (in < 0 || out < 0 || posix_memalign(&buf, 4096, chunk) != 0) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	while (len > 0) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t r = pread(in, buf, n, (off_t)soff);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)n) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		size_t w = 0;
		while (w < n) {
			ssize_t k = pwrite(out, (char *)buf + w, n - w, (off_t)(off + w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				rc = k < 0 ? -errno : -EIO;
				break;
			}
			w += (size_t)k;
		}
		if (rc < 0)
			break;
		off += n;
		soff += n;
		len -= n;
	}
out:
	free(buf);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* Reads and writes are an image file's; no holes; a kernel-side copy is
 * direct I/O between devices. */
static const struct blkdev_ops dev_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.close = file_close,
	.zero = dev_zero,
	.copy = dev_copy,
	.set_partitions = dev_set_partitions,
};

int blk_open_device(const char *path, int want_write, struct blkdev **out, char *why,
		    size_t cap)
{
	struct stat st;
	char name[64] = "", held[512] = "";
	int fd = -1, ro = 0;

	why[0] = '\0';
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	if (linuxdev_name(st.st_rdev, name, sizeof(name)) == 0)
		linuxdev_holders(name, st.st_rdev, held, sizeof(held));
	if (want_write && held[0])
		snprintf(why, cap, "%s is in use: %s", path, held);
	if (want_write && !held[0]) {
		fd = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
		if (fd < 0 && errno == EBUSY)
			snprintf(why, cap, "%s is in use (the kernel refuses an exclusive open)", path);
		else if (fd < 0 && (errno == EROFS || errno == EACCES))
			snprintf(why, cap, "%s is read-only", path);
		else if (fd < 0)
			return -errno;
	}
	if (fd >= 0 && ioctl(fd, BLKROGET, &ro) == 0 && ro) {
		snprintf(why, cap, "%s is read-only", path);
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		/* udev's lock on the whole disk, held for the whole command. */
		int tries = 50;
		while (flock(fd, LOCK_EX | LOCK_NB) < 0 && --tries > 0)
			usleep(100000);
		if (!tries) {
			snprintf(why, cap, "%s is locked by another program", path);
			close(fd);
			fd = -1;
		}
	}
	int writable = fd >= 0;
	if (fd < 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	uint64_t size = 0;
	int ss = 512;
	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &ss) < 0 ||
	    (ss != 512 && ss != 4096)) {
		close(fd);
		return -EINVAL;
	}
	int rc = fd_dev(fd, &dev_ops, size, (uint32_t)ss, writable, out);
	if (rc == 0)
		snprintf((*out)->kname, sizeof((*out)->kname), "%s", name);
	return rc;
}

int blk_part_mounted(const struct blkdev *d, uint32_t pno, char *where, size_t cap)
{
	where[0] = '\0';
	return d->kname[0] ? linuxdev_part_mounted(d->kname, pno, where, cap) : 0;
}

void blk_identity(const struct blkdev *d, char *out, size_t cap)
{
	out[0] = '\0';
	if (d->kname[0])
		linuxdev_identity(d->kname, out, cap);
}

int blk_open_file(const char *path, int writable, uint32_t sector_size,
		  struct blkdev **out)
{
	struct stat st;
	int fd;

	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOTBLK;
	}
	return fd_dev(fd, &file_ops, (uint64_t)st.st_size, sector_size, writable, out);
}
