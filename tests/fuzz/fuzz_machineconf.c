/*
 * fuzz_machineconf.c - machine.conf as input: the reader (slots, letters,
 * sector sizes, the seed counter, the lines kept for other parts and the
 * checks on slot paths), then the records other parts read out of it (the
 * dirty regions of a mirror, an install under way) and a save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/engine/env.h"
#include "../../src/engine/install.h"
#include "../../src/engine/ldm.h"
#include "../../src/engine/machine.h"
#include "../../src/engine/verbs.h"
#include "scratch.h"

/* The scratch machine goes with the process. */
static const char *const files[] = {"machine.conf", "machine.conf.tmp", ".lock", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *dir = scratch_dir("conf", files);
	char path[128], key[32];
	struct gm_env env;
	struct machine *m;
	FILE *f;

	if (!dir)
		return 0;
	memset(&env, 0, sizeof(env));
	snprintf(path, sizeof(path), "%s/machine.conf", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (machine_open(dir, &env, &m, NULL) == 0) {
		struct ldm_rec rec;
		struct ldm_volume v;
		struct ldm_dirty d;
		struct recover_result r;
		memset(&rec, 0, sizeof(rec));
		memset(&v, 0, sizeof(v));
		snprintf(rec.name, sizeof(rec.name), "Volume1");
		v.rec = &rec;
		v.sectors = 1u << 20;
		ldm_dirty_get(m, &v, &d);
		install_pending_key(0, key, sizeof(key));
		machine_extra_get(m, key);
		machine_recover(m, &r, NULL);
		machine_close(m);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/.lock", dir);
	unlink(path);
	return 0;
}
