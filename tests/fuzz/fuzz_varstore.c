/*
 * fuzz_varstore.c - the OVMF variable store. The input is the variable
 * area of a store (the firmware-volume and store headers are ours); every
 * record is walked, then a variable is set, replaced and deleted, and the
 * store must still open and give back what was set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/efi.h"

static int count(void *ctx, const struct efi_var *v)
{
	(void)v;
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t s[0x20000];
	struct efi_vs vs;
	struct efi_var v;
	const char *why;
	int n = 0;

	efi_vs_format(s, sizeof(s));
	size_t room = 0xe000 - 0x64;
	memcpy(s + 0x64, data, size < room ? size : room);
	if (efi_vs_open(s, sizeof(s), &vs, &why) != 0)
		__builtin_trap(); /* the headers are ours: it must open */
	efi_vs_walk(&vs, count, &n);
	(void)efi_vs_damaged_at(&vs);
	efi_vs_get(&vs, "BootOrder", &EFI_GLOBAL_GUID, &v);
	uint8_t val[8] = {1, 0, 2, 0, 3, 0, 4, 0};
	if (efi_vs_set(&vs, "FuzzVar", &EFI_GLOBAL_GUID, 7, val, 8, &why) == 0) {
		if (!efi_vs_get(&vs, "FuzzVar", &EFI_GLOBAL_GUID, &v) ||
		    v.data_len != 8 || memcmp(v.data, val, 8) != 0)
			__builtin_trap();
		efi_vs_set(&vs, "FuzzVar", &EFI_GLOBAL_GUID, 7, val, 4, &why);
		efi_vs_delete(&vs, "FuzzVar", &EFI_GLOBAL_GUID);
		if (efi_vs_get(&vs, "FuzzVar", &EFI_GLOBAL_GUID, &v))
			__builtin_trap();
	}
	efi_vs_reclaim(&vs, &why);
	return 0;
}
