/*
 * fuzz_fatdir.c - the directory parser and the rest of the engine, on a
 * whole small FAT volume given as input: walk every directory (long names,
 * chains), read every file, check it as chkdsk does, repair it as
 * chkdsk /f does, then write a file and a directory into it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/fatfs.h"

#define MAX_IMG (1u << 20)

static int sink(void *ctx, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return 0;
}

struct walk {
	struct fatfs *fs;
	int depth;
};

static int visit(void *ctx, const struct fat_entry *e)
{
	struct walk *w = ctx;
	struct fat_entry found;

	if (fatfs_find(w->fs, e->dir, e->name, &found, NULL) < 0)
		return 0;
	if (fat_entry_is_dir(e)) {
		if (w->depth < 6 && e->d.first_clus) {
			struct walk sub = {w->fs, w->depth + 1};
			fatfs_list(w->fs, e->d.first_clus, visit, &sub, NULL);
		}
	} else {
		size_t n = 0;
		fatfs_read_file(w->fs, e, sink, &n, NULL);
	}
	return 0;
}

static ssize_t zeros(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	memset(buf, 'z', len);
	return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = (size + 511) / 512 * 512;
	struct blkdev *dev;
	struct fatfs *fs;
	uint8_t *img;

	if (size < 512 || len > MAX_IMG)
		return 0;
	img = calloc(1, len);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (blk_open_mem(img, len, 512, &dev) < 0) {
		free(img);
		return 0;
	}
	if (fatfs_open(dev, &fs, NULL) == 0) {
		struct walk w = {fs, 0};
		char label[16];
		struct fat_entry e;
		fatfs_label(fs, label, sizeof(label));
		fatfs_list(fs, fatfs_root(fs), visit, &w, NULL);
		fatfs_lookup(fs, "EFI\\Microsoft\\WINNT50\\ia64ldr.efi", &e, NULL);
		struct fat_check k;
		fatfs_check(fs, false, &k, NULL);
		fatfs_names_unique(fs, fatfs_root(fs), NULL);
		fatfs_check(fs, true, &k, NULL);
		fatfs_write_file(fs, fatfs_root(fs), "A new file with a long name.txt",
				 FAT_ATTR_ARCHIVE, 0, 3000, zeros, NULL, NULL, NULL);
		fatfs_mkdir(fs, fatfs_root(fs), "New Directory", 0, NULL, NULL);
		fatfs_sync(fs, NULL);
		fatfs_close(fs);
	}
	blk_close(dev);
	free(img);
	return 0;
}
