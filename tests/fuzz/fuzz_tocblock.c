/* fuzz_tocblock.c - the LDM TOCBLOCK decoder. */
#include <stdint.h>

#include "../../src/fmt/ldm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldm_tocblock out;
	const char *why;

	if (size >= 512)
		ldm_checksum(data);
	ldm_tocblock_decode(data, size, &out, &why);
	return 0;
}
