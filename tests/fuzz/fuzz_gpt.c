/*
 * fuzz_gpt.c - the disk reader: protective/classic MBR, both GPT headers and
 * entry arrays, with the layout checks. The input is a whole (small) disk
 * image. Whatever it reads as GPT must survive a commit and read back as
 * the same table: a repaired disk is a sound disk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/disk.h"

#define MIN_SECTORS 68

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = (size + 511) / 512 * 512;
	struct blkdev *dev;
	struct disk *d;
	uint8_t *img;

	if (len < MIN_SECTORS * 512)
		len = MIN_SECTORS * 512;
	if (len > (1 << 20))
		return 0;
	img = calloc(1, len);
	if (!img)
		return 0;
	memcpy(img, data, size);
	if (blk_open_mem(img, len, 512, &dev) < 0 ||
	    disk_open_dev(dev, 0, &d, NULL) < 0) {
		free(img);
		return 0;
	}
	struct extent ex[64];
	disk_free_extents(d, ex, 64);
	disk_free_bytes(d);
	for (size_t i = 0; i < d->nparts; i++) {
		char key[64], name[128];
		part_key(d, &d->parts[i], key, sizeof(key));
		gpt_ent_name(&d->parts[i].ent, name, sizeof(name));
	}
	if (d->style == DS_GPT) {
		size_t n = d->nparts;
		if (disk_commit(d, NULL) == 0) {
			disk_reload(d, NULL);
			if (d->style != DS_GPT || d->nparts != n ||
			    d->recovery != GPT_REC_NONE)
				abort();
		}
	}
	disk_close(d);
	free(img);
	return 0;
}
