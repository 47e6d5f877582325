/* crc32.c - CRC-32 over a buffer, delegated to zlib. */
#include "crc32.h"

#include <limits.h>
#include <zlib.h>

uint32_t gm_crc32(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uLong crc = crc32(0L, Z_NULL, 0);

	while (len > 0) {
		uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;
		crc = crc32(crc, p, chunk);
		p += chunk;
		len -= chunk;
	}
	return (uint32_t)crc;
}
