/* fuzz_privhead.c - the LDM PRIVHEAD decoder. */
#include <stdint.h>

#include "../../src/fmt/ldm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldm_privhead out;
	const char *why;

	if (size >= 512)
		ldm_checksum(data);
	ldm_privhead_decode(data, size, &out, &why);
	return 0;
}
