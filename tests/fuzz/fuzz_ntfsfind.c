/*
 * fuzz_ntfsfind.c - an NTFS volume given as input to the loader's own
 * reader (src/fmt/ntfsfind.c, the one the boot check and the test loader
 * share): open it and look up the paths a boot looks for. Damaged boot
 * sectors, MFT records, run lists and indexes must give -1 or "not
 * there", never a read outside the volume or a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/ntfsfind.h"

struct mem {
	const uint8_t *data;
	size_t size;
};

static int mem_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	const struct mem *m = ctx;

	if (off > m->size || m->size - off < len)
		abort(); /* the reader promised never to ask for this */
	memcpy(buf, m->data + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *paths[] = {"\\WINDOWS", "\\WINDOWS\\system32\\ntoskrnl.exe",
				      "WINDOWS\\win.ini", "", "\\$MFT", "\\a\\b\\c\\d"};
	static struct ntfs_find f;
	struct mem m = {data, size};

	if (ntfs_find_open(&f, mem_read, &m, size) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ntfs_find_path(&f, paths[i]);
	return 0;
}
