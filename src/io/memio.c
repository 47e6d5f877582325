/* memio.c - a block device over a memory buffer, for fuzzing and tests. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blkio.h"

static int mem_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	memcpy(buf, (uint8_t *)d->priv + off, len);
	return 0;
}

static int mem_write(struct blkdev *d, uint64_t off, const void *buf,
		     size_t len)
{
	memcpy((uint8_t *)d->priv + off, buf, len);
	return 0;
}

static void mem_close(struct blkdev *d)
{
	free(d);
}

static const struct blkdev_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.close = mem_close,
};

int blk_open_mem(uint8_t *buf, uint64_t size, uint32_t sector_size,
		 struct blkdev **out)
{
	struct blkdev *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ops = &mem_ops;
	d->priv = buf;
	d->size = size;
	d->sector_size = sector_size;
	d->writable = 1;
	*out = d;
	return 0;
}
