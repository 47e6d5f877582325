/*
 * scratch.h - a fuzz target's scratch directory: made on the first input,
 * emptied of the files the target leaves there and removed when the
 * process exits.
 */
#ifndef GPTMIRROR_FUZZ_SCRATCH_H
#define GPTMIRROR_FUZZ_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_path[64];
static const char *const *scratch_files;

static void scratch_cleanup(void)
{
	char p[128];

	for (size_t i = 0; scratch_files[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", scratch_path, scratch_files[i]);
		unlink(p);
	}
	rmdir(scratch_path);
}

/* /tmp/gptmirror-fuzz-TAG.XXXXXX, made once; files is the NULL-ended list
 * of the names the target writes there. NULL when it cannot be made. */
static char *scratch_dir(const char *tag, const char *const *files)
{
	if (!scratch_path[0]) {
		snprintf(scratch_path, sizeof(scratch_path), "/tmp/gptmirror-fuzz-%s.XXXXXX", tag);
		if (!mkdtemp(scratch_path)) {
			scratch_path[0] = '\0';
			return NULL;
		}
		scratch_files = files;
		atexit(scratch_cleanup);
	}
	return scratch_path;
}

#endif
