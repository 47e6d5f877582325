/*
 * fuzz_ntfs.c - an NTFS volume given as input, through gptmirror's
 * libntfs-3g layer (src/engine/ntfsvol.c) on a memory device: mount it,
 * list the root and every directory under it (six deep), stat and read
 * every file. Damaged boot sectors, MFT records and indexes must give
 * errors, never a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/ntfsvol.h"

#define MAX_IMG (4u << 20)

struct walk {
	struct ntfsvol *v;
	char path[2048];
	int depth;
};

static int sink(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

static int visit(void *ctx, const struct ntfs_item *it)
{
	struct walk *w = ctx, sub;
	struct ntfs_item st;
	size_t n = 0;

	sub = *w;
	if (snprintf(sub.path, sizeof(sub.path), "%s\\%s", w->path, it->name) >= (int)sizeof(sub.path))
		return 0;
	ntfsvol_stat(w->v, sub.path, &st, NULL);
	if (it->dir) {
		if (w->depth < 6) {
			sub.depth++;
			ntfsvol_list(w->v, sub.path, visit, &sub, NULL);
		}
	} else {
		ntfsvol_read(w->v, sub.path, sink, &n, NULL);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blkdev *dev;
	struct ntfsvol *v;
	struct gm_err err;

	size -= size % 512;
	if (size < 512 || size > MAX_IMG)
		return 0;
	uint8_t *img = malloc(size);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (blk_open_mem(img, size, 512, &dev) == 0) {
		if (ntfsvol_open(dev, &v, &err) == 0) {
			struct walk w = {v, "", 0};
			ntfsvol_label(v);
			ntfsvol_free_bytes(v);
			ntfsvol_list(v, "", visit, &w, NULL);
			ntfsvol_close(v);
		}
		blk_close(dev);
	}
	free(img);
	return 0;
}
