/* utf16.h - UTF-16LE <-> UTF-8 for GPT partition names and EFI strings. */
#ifndef GM_UTF16_H
#define GM_UTF16_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes at most n UTF-16LE code units from src, stopping at a NUL unit,
 * into NUL-terminated UTF-8 in dst (cap bytes). Unpaired surrogates become
 * U+FFFD. Returns the UTF-8 length, or -1 if dst is too small.
 */
int utf16le_to_utf8(const uint8_t *src, size_t n, char *dst, size_t cap);
/*
 * Encodes NUL-terminated UTF-8 into at most n UTF-16LE units at dst, padding
 * with zero units. Returns the units used, or -1 on invalid UTF-8 or overflow.
 */
int utf8_to_utf16le(const char *src, uint8_t *dst, size_t n);

#endif
