/* fuzz_ldmconfig.c - a disk's LDM config region as the engine parses it:
 * the VMDB, VBLK slots, fragments joined by group, records counted. */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/engine/ldm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ldm_vmdb vmdb;
	struct ldm_rec *recs;
	size_t n;
	char why[160];

	if (ldm_config_parse(data, size, &vmdb, &recs, &n, why, sizeof(why)) == 0)
		free(recs);
	return 0;
}
