/* utf16.c - UTF-16LE <-> UTF-8 conversion with surrogate pairs. */
#include "utf16.h"

#include <string.h>

#include "bytes.h"

static int put_utf8(uint32_t cp, char *dst, size_t cap, size_t *pos)
{
	uint8_t tmp[4];
	size_t len;

	if (cp < 0x80) {
		tmp[0] = (uint8_t)cp;
		len = 1;
	} else if (cp < 0x800) {
		tmp[0] = (uint8_t)(0xc0 | (cp >> 6));
		tmp[1] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (uint8_t)(0xe0 | (cp >> 12));
		tmp[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		tmp[0] = (uint8_t)(0xf0 | (cp >> 18));
		tmp[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (uint8_t)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (*pos + len + 1 > cap)
		return -1;
	memcpy(dst + *pos, tmp, len);
	*pos += len;
	return 0;
}

int utf16le_to_utf8(const uint8_t *src, size_t n, char *dst, size_t cap)
{
	size_t pos = 0;

	if (cap == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = get_le16(src + 2 * i);
		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
			uint32_t lo = get_le16(src + 2 * (i + 1));
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		if (put_utf8(cp, dst, cap, &pos) < 0)
			return -1;
	}
	dst[pos] = '\0';
	return (int)pos;
}

/* Next code point from UTF-8, or -1 on malformed input. */
static long next_cp(const unsigned char **sp)
{
	const unsigned char *s = *sp;
	uint32_t cp;
	int extra;

	if (s[0] < 0x80) {
		cp = s[0];
		extra = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		extra = 1;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		extra = 2;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		extra = 3;
	} else {
		return -1;
	}
	for (int i = 1; i <= extra; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
	    (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*sp = s + extra + 1;
	return (long)cp;
}

int utf8_to_utf16le(const char *src, uint8_t *dst, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t used = 0;

	while (*s) {
		long cp = next_cp(&s);
		if (cp < 0)
			return -1;
		if (cp >= 0x10000) {
			if (used + 2 > n)
				return -1;
			uint32_t v = (uint32_t)cp - 0x10000;
			put_le16(dst + 2 * used++, (uint16_t)(0xd800 | (v >> 10)));
			put_le16(dst + 2 * used++, (uint16_t)(0xdc00 | (v & 0x3ff)));
		} else {
			if (used + 1 > n)
				return -1;
			put_le16(dst + 2 * used++, (uint16_t)cp);
		}
	}
	for (size_t i = used; i < n; i++)
		put_le16(dst + 2 * i, 0);
	return (int)used;
}
