/* guid.c - GUID text conversion in the UEFI mixed-endian byte order. */
#include "guid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Position of each text digit pair in the on-disk byte array. */
static const int text_order[16] = {3, 2, 1, 0, 5, 4, 7, 6,
				   8, 9, 10, 11, 12, 13, 14, 15};

static void to_str(const struct guid *g, char *buf, const char *hex)
{
	char *o = buf;

	for (int i = 0; i < 16; i++) {
		uint8_t v = g->b[text_order[i]];
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[v >> 4];
		*o++ = hex[v & 15];
	}
	*o = '\0';
}

void guid_to_str(const struct guid *g, char *buf)
{
	to_str(g, buf, "0123456789abcdef");
}

void guid_to_str_upper(const struct guid *g, char *buf)
{
	to_str(g, buf, "0123456789ABCDEF");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int guid_from_str(const char *s, struct guid *g)
{
	size_t len = strlen(s);
	struct guid out;
	int byte = 0;

	if (len == 38 && s[0] == '{' && s[37] == '}')
		s++;
	else if (len != 36)
		return -1;
	for (int pos = 0; pos < 36;) {
		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (s[pos] != '-')
				return -1;
			pos++;
			continue;
		}
		int hi = hexval((unsigned char)s[pos]);
		int lo = hexval((unsigned char)s[pos + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out.b[text_order[byte++]] = (uint8_t)(hi << 4 | lo);
		pos += 2;
	}
	*g = out;
	return 0;
}

bool guid_is_zero(const struct guid *g)
{
	static const struct guid zero;
	return memcmp(g, &zero, sizeof(zero)) == 0;
}

bool guid_eq(const struct guid *a, const struct guid *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

void guid_from_random(const uint8_t r[16], struct guid *g)
{
	memcpy(g->b, r, 16);
	/* time_hi_and_version is field 3, stored little-endian at bytes 6-7. */
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40);
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}
