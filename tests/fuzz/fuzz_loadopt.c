/* fuzz_loadopt.c - EFI_LOAD_OPTION and the Windows OS options inside it.
 * What decodes must encode back to the same bytes. */
#include <stdint.h>
#include <string.h>

#include "../../src/fmt/efi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct efi_loadopt lo;
	struct efi_winopts w;
	char text[4096];
	static uint8_t again[70000];

	if (efi_loadopt_decode(data, size, &lo) != 0)
		return 0;
	efi_dp_to_text(lo.dp, lo.dp_len, text, sizeof(text));
	if (efi_winopts_is(lo.opt, lo.opt_len) &&
	    efi_winopts_decode(lo.opt, lo.opt_len, &w) == 0 && w.os_dp)
		efi_dp_to_text(w.os_dp, w.os_dp_len, text, sizeof(text));
	int n = efi_loadopt_encode(&lo, again, sizeof(again));
	/* A description that is not valid UTF-16 decodes lossily, so only a
	 * clean one must round-trip exactly. */
	if (n > 0 && (size_t)n == size && memcmp(again, data, size) != 0 &&
	    !strstr(lo.desc, "\xef\xbf\xbd"))
		__builtin_trap();
	return 0;
}
