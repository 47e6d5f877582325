/* env.c - the process environment, read once (see env.h). */
#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct gm_env gm_env_none;

static const char *var(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void gm_env_read(struct gm_env *e)
{
	const char *s;
	char *end;

	*e = gm_env_none;
	e->machine_dir = var("GPTMIRROR_MACHINE");
	e->loader = var("GPTMIRROR_LOADER");
	e->ovmf_vars = var("GPTMIRROR_OVMF_VARS");
	e->efivarfs = var("GPTMIRROR_EFIVARFS");
	e->iostats = var("GPTMIRROR_IOSTATS") != NULL;
	e->no_color = var("NO_COLOR") != NULL;
	e->rebuild_wait = (s = var("GPTMIRROR_REBUILD")) && strcmp(s, "wait") == 0;
	if ((s = var("GPTMIRROR_SEED"))) {
		errno = 0;
		unsigned long long v = strtoull(s, &end, 0);
		if (errno || *end)
			e->seed_bad = true;
		else
			e->seeded = true, e->seed = v;
	}
	if ((s = var("GPTMIRROR_CRASH_AFTER_WRITES")))
		e->crash_after_writes = strtoull(s, NULL, 10);
	unsigned long long slot, a, b;
	if ((s = var("GPTMIRROR_FAULT_READ")) && sscanf(s, "%llu:%llu:%llu", &slot, &a, &b) == 3 &&
	    slot < 64) {
		e->fault_read = true;
		e->fault_slot = (int)slot;
		e->fault_start = a;
		e->fault_end = b;
	}
}
