/*
 * fuzz_vblk.c - VBLK slot framing and the record decoder (disk group, disk,
 * volume, component, partition), on up to four joined 112-byte fragments.
 */
#include <stdint.h>
#include <string.h>

#include "../../src/fmt/ldm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldm_slot slot;
	struct ldm_rec rec;
	const char *why;

	if (size >= 128)
		ldm_slot_decode(data, size, &slot);
	if (size > 4 * 112)
		size = 4 * 112;
	if (ldm_rec_decode(data, size, &rec, &why) == 0) {
		/* Strings are always terminated and within their fields. */
		if (strlen(rec.name) >= sizeof(rec.name))
			__builtin_trap();
	}
	return 0;
}
