/*
 * guid.h - GUIDs as stored on disk (mixed endian, UEFI spec appendix A):
 * the first three fields little-endian, the last eight bytes as written.
 * A struct guid always holds the on-disk byte order.
 */
#ifndef GM_GUID_H
#define GM_GUID_H

#include <stdbool.h>
#include <stdint.h>

struct guid {
	uint8_t b[16];
};

#define GUID_STR_LEN 36 /* without braces and NUL */

/* Text form, lowercase, no braces. buf holds at least 37 bytes. */
void guid_to_str(const struct guid *g, char *buf);
/* Uppercase variant. */
void guid_to_str_upper(const struct guid *g, char *buf);
/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces. 0 or -1. */
int guid_from_str(const char *s, struct guid *g);
bool guid_is_zero(const struct guid *g);
bool guid_eq(const struct guid *a, const struct guid *b);
/* 16 random bytes (any order) -> a version 4 variant 1 GUID in disk order. */
void guid_from_random(const uint8_t r[16], struct guid *g);

#endif
