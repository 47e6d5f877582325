/*
 * fuzz_ntfsjournal.c - the journal an NTFS change waits in (ntfsvol_commit)
 * given as input: ntfs_journal_replay reads it and applies it to a 1 MiB
 * memory volume. The input's checksum is set right
 * and, when the input asks (its first byte odd), its size and serial are
 * those of the volume, so that the entries themselves are what is fuzzed:
 * any of them may claim any offset and length, and none may write outside
 * the volume or read outside the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/engine/ntfsvol.h"
#include "../../src/fmt/bytes.h"
#include "../../src/fmt/crc32.h"

#define VOL (1u << 20)
#define HEAD 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct blkdev *dev;
	struct gm_err err;

	if (size < HEAD || size > (1u << 22))
		return 0;
	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fuzz-ntfsjournal.%ld", (long)getpid());
	}
	uint8_t *j = malloc(size + 4), *img = calloc(1, VOL);
	if (!j || !img) {
		free(j);
		free(img);
		return 0;
	}
	memcpy(j, data, size);
	memcpy(j, "GMNTFSJ1", 8);
	if (data[0] & 1) {
		put_le64(j + 8, VOL);
		put_le64(j + 16, 0x1122334455667788ull);
	}
	put_le64(img + 0x48, 0x1122334455667788ull);
	put_le32(j + size, gm_crc32(j, size));
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(j, 1, size + 4, f);
		fclose(f);
		if (blk_open_mem(img, VOL, 512, &dev) == 0) {
			ntfs_journal_replay(path, "E", dev, &err);
			blk_close(dev);
		}
		unlink(path);
	}
	free(j);
	free(img);
	return 0;
}
