/*
 * rng.h - the one source of GUIDs, serial numbers and timestamps.
 *
 * With GPTMIRROR_SEED=N every value comes from N and a draw counter that
 * the machine persists in machine.conf, so the same commands on a fresh
 * machine give the same bytes, and two runs never reuse a GUID.
 * Without it, GUIDs come from libuuid and time from the clock.
 */
#ifndef GM_RNG_H
#define GM_RNG_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../fmt/guid.h"
#include "env.h"

struct rng {
	bool seeded;
	uint64_t seed;
	uint64_t counter; /* draws so far (persisted) */
};

/* Seeded when env says so (GPTMIRROR_SEED); -1 if that is not a number. */
int rng_init(struct rng *r, const struct gm_env *env, uint64_t counter);
uint64_t rng_u64(struct rng *r);
void rng_guid(struct rng *r, struct guid *g);
uint32_t rng_u32(struct rng *r);
/* Seconds since the epoch: fixed and advancing per draw when seeded. */
time_t rng_time(struct rng *r);

#endif
