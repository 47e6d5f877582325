/*
 * faultio.c - a fault-injecting wrapper for tests: fail the nth write and
 * every one after it (a "crash" that loses everything from there on), and
 * fail reads in a bad byte range (a failing sector run).
 */
#include <errno.h>
#include <stdlib.h>

#include "blkio.h"

struct fault_priv {
	struct blkdev *inner;
	uint64_t fail_at;
	uint64_t nwrites;
	uint64_t bad_start, bad_end;
};

static int fault_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct fault_priv *p = d->priv;

	if (off < p->bad_end && off + len > p->bad_start)
		return -EIO;
	return p->inner->ops->read(p->inner, off, buf, len);
}

static int fault_write(struct blkdev *d, uint64_t off, const void *buf,
		       size_t len)
{
	struct fault_priv *p = d->priv;

	p->nwrites++;
	if (p->fail_at && p->nwrites >= p->fail_at)
		return -EIO;
	return p->inner->ops->write(p->inner, off, buf, len);
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
};

int blk_open_fault(struct blkdev *dev, uint64_t fail_write_at,
		   uint64_t bad_start, uint64_t bad_end, struct blkdev **out)
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
	d->ops = &fault_ops;
	d->priv = p;
	d->size = dev->size;
	d->sector_size = dev->sector_size;
	d->writable = dev->writable;
	*out = d;
	return 0;
}
