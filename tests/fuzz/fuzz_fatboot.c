/* fuzz_fatboot.c - the FAT boot sector (BPB) and FSInfo decoders. */
#include <stdint.h>
#include <string.h>

#include "../../src/fmt/fat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fat_bpb b;
	struct fat_fsinfo fi;
	const char *why;
	uint8_t again[4096];

	if (fat_bpb_decode(data, size, 1ull << 40, &b, &why) == 0) {
		/* What decodes must encode and decode to the same geometry. */
		if (b.bytes_per_sec > sizeof(again))
			__builtin_trap();
		memset(again, 0, sizeof(again));
		fat_bpb_encode(&b, again, b.bytes_per_sec);
		struct fat_bpb c;
		if (fat_bpb_decode(again, b.bytes_per_sec, 1ull << 40, &c, &why) != 0 ||
		    c.clusters != b.clusters || c.first_data != b.first_data ||
		    c.type != b.type)
			__builtin_trap();
	}
	if (size >= 512)
		fat_fsinfo_decode(data, size, &fi);
	return 0;
}
