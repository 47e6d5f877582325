/* test_misc.c - size display, size parsing, the seeded source. */
#include <string.h>

#include "../../src/cli/out.h"
#include "../../src/engine/machine.h"
#include "../../src/engine/rng.h"
#include "unit.h"

static int shows(uint64_t b, enum size_rule r, const char *want)
{
	char buf[32];

	fmt_size_rule(b, r, buf, sizeof(buf));
	if (strcmp(buf, want) != 0) {
		fprintf(stderr, "  %llu -> '%s', want '%s'\n",
			(unsigned long long)b, buf, want);
		return 0;
	}
	return 1;
}

static void size_rule_modern(void)
{
	CHECK(shows(0, SIZE_MODERN, "0 B"));
	CHECK(shows(10239, SIZE_MODERN, "10239 B"));
	CHECK(shows(17408, SIZE_MODERN, "17 KB"));
	CHECK(shows(1048576, SIZE_MODERN, "1024 KB"));
	CHECK(shows(16 * 1048576 - 17408, SIZE_MODERN, "15 MB"));
	CHECK(shows(213909504, SIZE_MODERN, "204 MB"));
	CHECK(shows(500107862016ull, SIZE_MODERN, "465 GB"));
	CHECK(shows(2000398934016ull, SIZE_MODERN, "1863 GB"));
	CHECK(shows(1999844147200ull, SIZE_MODERN, "1862 GB"));
	CHECK(shows(9663676416ull, SIZE_MODERN, "9216 MB"));
}

static void size_rule_2003(void)
{
	/* The figures of KB 814070's listings. */
	CHECK(shows(32256, SIZE_2003, "32 KB"));
	CHECK(shows(17408, SIZE_2003, "17 KB"));
	CHECK(shows(213825024, SIZE_2003, "204 MB"));
	CHECK(shows(213857280, SIZE_2003, "204 MB"));
	CHECK(shows(9153031680ull, SIZE_2003, "9 GB"));
	CHECK(shows(4996ull * 1048576, SIZE_2003, "4996 MB"));
	CHECK(shows(33554432, SIZE_2003, "32 MB"));
	CHECK(shows(0, SIZE_2003, "0 B"));
}

static void commas(void)
{
	char b[32];

	fmt_commas(213680128, b, sizeof(b));
	CHECK(strcmp(b, "213,680,128") == 0);
	fmt_commas(0, b, sizeof(b));
	CHECK(strcmp(b, "0") == 0);
	fmt_commas(999, b, sizeof(b));
	CHECK(strcmp(b, "999") == 0);
	fmt_commas(1000, b, sizeof(b));
	CHECK(strcmp(b, "1,000") == 0);
}

static void sizes_parse(void)
{
	uint64_t v;

	CHECK(parse_size("10G", &v) == 0 && v == 10737418240ull);
	CHECK(parse_size("512M", &v) == 0 && v == 536870912ull);
	CHECK(parse_size("4k", &v) == 0 && v == 4096);
	CHECK(parse_size("2T", &v) == 0 && v == 2199023255552ull);
	CHECK(parse_size("2TiB", &v) == 0 && v == 2199023255552ull);
	CHECK(parse_size("1GB", &v) == 0 && v == 1073741824ull);
	CHECK(parse_size("4096", &v) == 0 && v == 4096);
	CHECK(parse_size("", &v) < 0);
	CHECK(parse_size("G", &v) < 0);
	CHECK(parse_size("10X", &v) < 0);
	CHECK(parse_size("-1G", &v) < 0);
	CHECK(parse_size("10GG", &v) < 0);
	CHECK(parse_size("99999999999999999999", &v) < 0);
	CHECK(parse_size("20000000T", &v) < 0);
}

static void rng_seeded(void)
{
	struct rng a = {.seeded = true, .seed = 42}, b = a, c = a;
	struct guid g1, g2, g3;

	rng_guid(&a, &g1);
	rng_guid(&b, &g2);
	CHECK(guid_eq(&g1, &g2));
	rng_guid(&a, &g3);
	CHECK(!guid_eq(&g1, &g3));
	c.seed = 43;
	rng_guid(&c, &g3);
	CHECK(!guid_eq(&g1, &g3));
	CHECK(a.counter == 4);
	struct rng t = {.seeded = true, .seed = 1};
	CHECK(rng_time(&t) == 1048852800);
	struct rng u1 = {0}, u2 = {0};
	rng_guid(&u1, &g1);
	rng_guid(&u2, &g2);
	CHECK(!guid_eq(&g1, &g2));
}

UNIT_TESTS(misc_tests) = {
	{"size_rule_modern", size_rule_modern},
	{"size_rule_2003", size_rule_2003},
	{"commas", commas},
	{"parse_size", sizes_parse},
	{"rng_seeded", rng_seeded},
	UNIT_END,
};
