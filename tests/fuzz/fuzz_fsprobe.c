/* fuzz_fsprobe.c - the boot-sector probe behind diskpart's Fs and Label. */
#include <stdint.h>
#include <string.h>

#include "../../src/fmt/fsprobe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_probe p;

	fs_probe(data, size, &p);
	if (strlen(p.label) > 11)
		__builtin_trap();
	return 0;
}
