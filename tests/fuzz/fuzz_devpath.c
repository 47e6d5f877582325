/* fuzz_devpath.c - device-path walking, text and node edits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/efi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[8192], file[1024];
	struct efi_hd hd;
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	efi_dp_valid(copy, size);
	efi_dp_to_text(copy, size, text, sizeof(text));
	efi_dp_get_file(copy, size, file, sizeof(file));
	if (efi_dp_get_hd(copy, size, &hd)) {
		hd.part_num++;
		if (!efi_dp_set_hd(copy, size, &hd))
			__builtin_trap();
	}
	free(copy);
	return 0;
}
