/* crc32.h - the IEEE 802.3 CRC-32 used by GPT (zlib's implementation). */
#ifndef GM_CRC32_H
#define GM_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t gm_crc32(const void *buf, size_t len);

#endif
