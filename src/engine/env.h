/*
 * env.h - everything gptmirror takes from its process environment.
 *
 * gm_env_read() is the one place that calls getenv(): main() calls it once
 * at start-up and hands the result down (machine_open, machine_create, the
 * install and NVRAM defaults). Nothing in the engine reads the environment
 * on its own, so a front end or a test can run the engine with any
 * settings it likes (gm_env_none: nothing set).
 */
#ifndef GM_ENV_H
#define GM_ENV_H

#include <stdbool.h>
#include <stdint.h>

struct gm_env {
	const char *machine_dir; /* GPTMIRROR_MACHINE: the default machine */
	bool seeded;             /* GPTMIRROR_SEED=N: deterministic mode */
	uint64_t seed;
	bool seed_bad;           /* set, but not a number */
	const char *loader;      /* GPTMIRROR_LOADER: the EFI loader installed */
	const char *ovmf_vars;   /* GPTMIRROR_OVMF_VARS: the NVRAM template */
	const char *efivarfs;    /* GPTMIRROR_EFIVARFS: where efivarfs is (tests;
				  * else /sys/firmware/efi/efivars) */
	/* Test hooks, in the fault-injecting block backend (src/io/faultio.c): */
	uint64_t crash_after_writes; /* GPTMIRROR_CRASH_AFTER_WRITES=N: the process
				      * ends (_exit(137)) right after its Nth write */
	bool fault_read;         /* GPTMIRROR_FAULT_READ=SLOT:START:END: reads of */
	int fault_slot;          /* bytes [START, END) of that slot's disk fail */
	uint64_t fault_start, fault_end;
	bool iostats;            /* GPTMIRROR_IOSTATS: byte counts at exit */
	bool no_color;           /* NO_COLOR set and not empty: no colour on a
				  * terminal (no-color.org) */
	bool rebuild_wait;       /* GPTMIRROR_REBUILD=wait: add disk copies in
				  * the foreground, as add disk=N wait does (the
				  * tests whose transcripts must not depend on
				  * timing) */
};

extern const struct gm_env gm_env_none;

/* Fills e from the process environment. */
void gm_env_read(struct gm_env *e);

#endif
