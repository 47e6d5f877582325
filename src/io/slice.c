/* slice.c - a byte range of another device: a volume on a partition. */
#include <errno.h>
#include <stdlib.h>

#include "blkio.h"

struct slice_priv {
	struct blkdev *parent;
	uint64_t off;
};

static int slice_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct slice_priv *p = d->priv;

	return p->parent->ops->read(p->parent, p->off + off, buf, len);
}

static int slice_write(struct blkdev *d, uint64_t off, const void *buf,
		       size_t len)
{
	struct slice_priv *p = d->priv;

	return p->parent->ops->write(p->parent, p->off + off, buf, len);
}

static int slice_flush(struct blkdev *d)
{
	struct slice_priv *p = d->priv;

	return blk_flush(p->parent);
}

static int slice_zero(struct blkdev *d, uint64_t off, uint64_t len)
{
	struct slice_priv *p = d->priv;

	if (!p->parent->ops->zero)
		return -EOPNOTSUPP;
	return p->parent->ops->zero(p->parent, p->off + off, len);
}

static int slice_import(struct blkdev *d, uint64_t off, int fd, uint64_t len)
{
	struct slice_priv *p = d->priv;

	if (!p->parent->ops->import)
		return -EOPNOTSUPP;
	return p->parent->ops->import(p->parent, p->off + off, fd, len);
}

static int slice_run(struct blkdev *d, uint64_t off, uint64_t *len)
{
	struct slice_priv *p = d->priv;

	if (!p->parent->ops->run)
		return -EOPNOTSUPP;
	return p->parent->ops->run(p->parent, p->off + off, len);
}

static void slice_close(struct blkdev *d)
{
	free(d->priv);
	free(d);
}

static const struct blkdev_ops slice_ops = {
	.read = slice_read,
	.write = slice_write,
	.flush = slice_flush,
	.close = slice_close,
	.zero = slice_zero,
	.import = slice_import,
	.run = slice_run,
};

int blk_open_slice(struct blkdev *parent, uint64_t off, uint64_t size,
		   struct blkdev **out)
{
	struct blkdev *d;
	struct slice_priv *p;

	if (off > parent->size || size > parent->size - off)
		return -ERANGE;
	d = calloc(1, sizeof(*d));
	p = calloc(1, sizeof(*p));
	if (!d || !p) {
		free(d);
		free(p);
		return -ENOMEM;
	}
	p->parent = parent;
	p->off = off;
	d->ops = &slice_ops;
	d->priv = p;
	d->size = size;
	d->sector_size = parent->sector_size;
	d->writable = parent->writable;
	*out = d;
	return 0;
}
