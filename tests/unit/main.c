/* main.c - runs every unit test group. */
#include <string.h>

#include "unit.h"

int unit_failed_now;

extern const struct unit_test codec_tests[];
extern const struct unit_test gpt_tests[];
extern const struct unit_test disk_tests[];
extern const struct unit_test misc_tests[];
extern const struct unit_test fat_tests[];
extern const struct unit_test efi_tests[];
extern const struct unit_test ldm_tests[];
extern const struct unit_test ntfsfind_tests[];

static const struct unit_test *const groups[] = {codec_tests, gpt_tests,
						 disk_tests, misc_tests, fat_tests, efi_tests, ldm_tests,
						 ntfsfind_tests};

int main(int argc, char **argv)
{
	int failed = 0, passed = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (const struct unit_test *t = groups[g]; t->name; t++) {
			if (argc > 1 && !strstr(t->name, argv[1]))
				continue;
			unit_failed_now = 0;
			t->fn();
			printf("%s: unit/%s\n", unit_failed_now ? "FAIL" : "PASS",
			       t->name);
			if (unit_failed_now)
				failed++;
			else
				passed++;
		}
	}
	fprintf(stderr, "unit: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
