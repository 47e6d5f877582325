/*
 * fuzz_rebuildstate.c - the background copy's state file (.rebuild: its
 * state, why it stopped, and one checkpoint per plex extent) as input: read
 * as rebuild_get and the checkpoint lookup read it, then rewritten by a
 * checkpoint update, and read again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/engine/machine.h"
#include "../../src/engine/rebuild.h"
#include "scratch.h"

static const char *const files[] = {".rebuild", ".rebuild.tmp", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *dir = scratch_dir("rebuild", files);
	char path[128];
	struct machine m;
	struct rebuild_state st;
	uint64_t done;
	FILE *f;

	if (!dir)
		return 0;
	snprintf(path, sizeof(path), "%s/.rebuild", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	memset(&m, 0, sizeof(m));
	m.dir = dir;
	m.rbfd = -1;
	rebuild_get(&m, &st);
	rebuild_checkpoint_get(&m, "Disk1-01", &done);
	rebuild_checkpoint_set(&m, "Disk1-01", 12345, NULL);
	rebuild_checkpoint_get(&m, "Disk1-01", &done);
	rebuild_get(&m, &st);
	rebuild_forget(&m);
	return 0;
}
