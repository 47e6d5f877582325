/*
 * faultio.c - the fault-injecting backend, for tests: fail the nth write
 * and every one after it (a "crash" that loses everything from there on),
 * fail reads in a bad byte range (a failing sector run), and the crash
 * hook (struct blk_crash, shared by all the devices of a process): the
 * process ends right after its Nth write, as kill -9 would end it. The
 * real backends know nothing of any of this.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkio.h"

struct fault_priv {
	struct blkdev *inner;
	uint64_t fail_at;
	uint64_t nwrites;
	uint64_t bad_start, bad_end;
	struct blk_crash *crash;
};

static const struct blkdev_ops fault_ops;

static bool is_bad(const struct fault_priv *p, uint64_t off, uint64_t len)
{
	return off < p->bad_end && off + len > p->bad_start;
}

/* Before a write: the injected failure. */
static int before_write(struct fault_priv *p)
{
	p->nwrites++;
	return p->fail_at && p->nwrites >= p->fail_at ? -EIO : 0;
}

void blk_crash_tick(struct blk_crash *crash)
{
	if (crash->after && ++crash->writes >= crash->after)
		_exit(BLK_CRASH_STATUS);
}

/* After a write that succeeded: the crash hook. */
static int after_write(struct fault_priv *p, int rc)
{
	if (rc == 0 && p->crash)
		blk_crash_tick(p->crash);
	return rc;
}

static int fault_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct fault_priv *p = d->priv;

	if (is_bad(p, off, len))
		return -EIO;
	return p->inner->ops->read(p->inner, off, buf, len);
}

static int fault_write(struct blkdev *d, uint64_t off, const void *buf, size_t len)
{
	struct fault_priv *p = d->priv;
	int rc = before_write(p);

	if (rc < 0)
		return rc;
	return after_write(p, p->inner->ops->write(p->inner, off, buf, len));
}

static int fault_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	struct fault_priv *p = d->priv;

	if (!p->inner->ops->zero)
		return -EOPNOTSUPP; /* blk_zero writes zeros instead */
	int rc = before_write(p);
	if (rc < 0)
		return rc;
	return after_write(p, p->inner->ops->zero(p->inner, off, len));
}

static int fault_import(struct blkdev *d, uint64_t off, int fd, uint64_t len)
{
	struct fault_priv *p = d->priv;

	if (!p->inner->ops->import)
		return -EOPNOTSUPP;
	int rc = before_write(p);
	if (rc < 0)
		return rc;
	return after_write(p, p->inner->ops->import(p->inner, off, fd, len));
}

static int fault_run(struct blkdev *d, uint64_t off, uint64_t *len)
{
	struct fault_priv *p = d->priv;

	if (!p->inner->ops->run)
		return -EOPNOTSUPP;
	return p->inner->ops->run(p->inner, off, len);
}

/* A copy between two devices of this backend is a copy between the ones
 * they wrap, unless it reads a bad range. */
static int fault_copy(struct blkdev *d, uint64_t off, struct blkdev *src, uint64_t soff,
		      uint64_t len)
{
	struct fault_priv *p = d->priv;

	if (src->ops == &fault_ops) {
		struct fault_priv *sp = src->priv;
		if (is_bad(sp, soff, len))
			return -EOPNOTSUPP; /* the chunked copy meets the error */
		src = sp->inner;
	}
	if (!p->inner->ops->copy)
		return -EOPNOTSUPP;
	if (p->fail_at && p->nwrites + 1 >= p->fail_at)
		return -EOPNOTSUPP; /* the chunked copy fails at the write */
	int rc = p->inner->ops->copy(p->inner, off, src, soff, len);
	if (rc == -EOPNOTSUPP)
		return rc;
	p->nwrites++;
	return after_write(p, rc);
}

static int fault_set_partitions(struct blkdev *d, const struct blk_part *parts, size_t n,
				char *why, size_t cap)
{
	struct fault_priv *p = d->priv;

	return blk_set_partitions(p->inner, parts, n, why, cap);
}

static int fault_flush(struct blkdev *d)
{
	struct fault_priv *p = d->priv;

	return blk_flush(p->inner);
}

static void fault_close(struct blkdev *d)
{
	struct fault_priv *p = d->priv;

	blk_close(p->inner);
	free(p);
	free(d);
}

static const struct blkdev_ops fault_ops = {
	.read = fault_read,
	.write = fault_write,
	.flush = fault_flush,
	.close = fault_close,
	.zero = fault_zero,
	.import = fault_import,
	.run = fault_run,
	.copy = fault_copy,
	.set_partitions = fault_set_partitions,
};

int blk_open_fault(struct blkdev *dev, uint64_t fail_write_at, uint64_t bad_start,
		   uint64_t bad_end, struct blk_crash *crash, struct blkdev **out)
{
	struct blkdev *d = calloc(1, sizeof(*d));
	struct fault_priv *p = calloc(1, sizeof(*p));

	if (!d || !p) {
		free(d);
		free(p);
		return -ENOMEM;
	}
	p->inner = dev;
	p->fail_at = fail_write_at;
	p->bad_start = bad_start;
	p->bad_end = bad_end;
	p->crash = crash;
	d->ops = &fault_ops;
	d->priv = p;
	d->size = dev->size;
	d->sector_size = dev->sector_size;
	d->writable = dev->writable;
	memcpy(d->kname, dev->kname, sizeof(d->kname));
	*out = d;
	return 0;
}
