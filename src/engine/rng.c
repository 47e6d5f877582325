/* rng.c - seeded (splitmix64) or system randomness. */
#include "rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

/* 2003-03-28 12:00:00 UTC: Windows Server 2003's release, as a fixed clock. */
#define SEEDED_EPOCH 1048852800

int rng_init(struct rng *r, const struct gm_env *env, uint64_t counter)
{
	memset(r, 0, sizeof(*r));
	r->counter = counter;
	if (env->seed_bad)
		return -1;
	r->seeded = env->seeded;
	r->seed = env->seed;
	return 0;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t rng_u64(struct rng *r)
{
	uint64_t v;

	if (r->seeded)
		return splitmix64(r->seed * 0x100000001b3ull + r->counter++);
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		uuid_t u;
		uuid_generate(u);
		memcpy(&v, u, sizeof(v));
	}
	return v;
}

uint32_t rng_u32(struct rng *r)
{
	return (uint32_t)(rng_u64(r) >> 16);
}

void rng_guid(struct rng *r, struct guid *g)
{
	uint8_t raw[16];

	if (r->seeded) {
		uint64_t a = rng_u64(r), b = rng_u64(r);
		for (int i = 0; i < 8; i++) {
			raw[i] = (uint8_t)(a >> (8 * i));
			raw[8 + i] = (uint8_t)(b >> (8 * i));
		}
	} else {
		uuid_t u;
		uuid_generate_random(u);
		memcpy(raw, u, 16);
	}
	guid_from_random(raw, g);
}

time_t rng_time(struct rng *r)
{
	if (r->seeded)
		return (time_t)(SEEDED_EPOCH + 2 * r->counter++);
	return time(NULL);
}
