/* unit.h - a small test harness: each test prints "PASS: name" or "FAIL: name". */
#ifndef GM_UNIT_H
#define GM_UNIT_H

#include <stdio.h>

extern int unit_failed_now;

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "  %s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                   \
			unit_failed_now = 1;                                  \
		}                                                             \
	} while (0)

typedef void (*unit_fn)(void);
struct unit_test {
	const char *name;
	unit_fn fn;
};

#define UNIT_TESTS(group) const struct unit_test group[]
#define UNIT_END {NULL, NULL}

#endif
