/* test_codec.c - CRC32, GUID, UTF-16, MBR and file-system probe codecs. */
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/bytes.h"
#include "../../src/fmt/crc32.h"
#include "../../src/fmt/fsprobe.h"
#include "../../src/fmt/gpt.h"
#include "../../src/fmt/guid.h"
#include "../../src/fmt/mbr.h"
#include "../../src/fmt/utf16.h"
#include "unit.h"

static void crc32_known_answers(void)
{
	/* The CRC-32 check value, and two more from the IEEE polynomial. */
	CHECK(gm_crc32("123456789", 9) == 0xcbf43926u);
	CHECK(gm_crc32("", 0) == 0);
	CHECK(gm_crc32("The quick brown fox jumps over the lazy dog", 43) ==
	      0x414fa339u);
	uint8_t zeros[32] = {0};
	CHECK(gm_crc32(zeros, 32) == 0x190a55adu);
}

static void guid_text_round_trip(void)
{
	static const uint8_t esp_disk[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8,
					     0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0,
					     0xc9, 0x3e, 0xc9, 0x3b};
	struct guid g;
	char buf[40];

	CHECK(guid_from_str("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", &g) == 0);
	CHECK(memcmp(g.b, esp_disk, 16) == 0);
	CHECK(guid_eq(&g, &GPT_TYPE_ESP));
	guid_to_str(&g, buf);
	CHECK(strcmp(buf, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b") == 0);
	guid_to_str_upper(&g, buf);
	CHECK(strcmp(buf, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B") == 0);
	CHECK(guid_from_str("{C12A7328-F81F-11D2-BA4B-00A0C93EC93B}", &g) == 0);
	CHECK(guid_eq(&g, &GPT_TYPE_ESP));
	/* Malformed forms are refused. */
	CHECK(guid_from_str("c12a7328-f81f-11d2-ba4b-00a0c93ec93", &g) < 0);
	CHECK(guid_from_str("c12a7328xf81f-11d2-ba4b-00a0c93ec93b", &g) < 0);
	CHECK(guid_from_str("g12a7328-f81f-11d2-ba4b-00a0c93ec93b", &g) < 0);
	CHECK(guid_from_str("{c12a7328-f81f-11d2-ba4b-00a0c93ec93b", &g) < 0);
	/* Type GUIDs decode to the text Windows prints. */
	guid_to_str(&GPT_TYPE_MSR, buf);
	CHECK(strcmp(buf, "e3c9e316-0b5c-4db8-817d-f92df00215ae") == 0);
	guid_to_str(&GPT_TYPE_LDM_DATA, buf);
	CHECK(strcmp(buf, "af9b60a0-1431-4f62-bc68-3311714a69ad") == 0);
	guid_to_str(&GPT_TYPE_LDM_METADATA, buf);
	CHECK(strcmp(buf, "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3") == 0);
	guid_to_str(&GPT_TYPE_BASIC_DATA, buf);
	CHECK(strcmp(buf, "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7") == 0);
}

static void guid_random_is_v4(void)
{
	uint8_t r[16];
	struct guid g;
	char buf[40];

	memset(r, 0xff, sizeof(r));
	guid_from_random(r, &g);
	guid_to_str(&g, buf);
	CHECK(buf[14] == '4');
	CHECK(buf[19] == 'b' || buf[19] == '8' || buf[19] == '9' ||
	      buf[19] == 'a');
}

static void utf16_round_trip(void)
{
	const char *s = "EFI system partition \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	uint8_t u[72];
	char back[128];

	CHECK(utf8_to_utf16le(s, u, 36) == 21 + 1 + 1 + 2);
	CHECK(get_le16(u) == 'E');
	CHECK(get_le16(u + 2 * 21) == 0xe9);
	CHECK(get_le16(u + 2 * 22) == 0x20ac);
	CHECK(get_le16(u + 2 * 23) == 0xd83d); /* surrogate pair */
	CHECK(get_le16(u + 2 * 24) == 0xde00);
	CHECK(get_le16(u + 2 * 25) == 0);
	CHECK(utf16le_to_utf8(u, 36, back, sizeof(back)) == (int)strlen(s));
	CHECK(strcmp(back, s) == 0);
	/* Too long, invalid UTF-8, a lone surrogate, a small buffer. */
	CHECK(utf8_to_utf16le("0123456789012345678901234567890123456", u, 36) < 0);
	CHECK(utf8_to_utf16le("\xc3", u, 36) < 0);
	CHECK(utf8_to_utf16le("\xed\xa0\x80", u, 36) < 0);
	put_le16(u, 0xd800);
	put_le16(u + 2, 'x');
	put_le16(u + 4, 0);
	CHECK(utf16le_to_utf8(u, 36, back, sizeof(back)) == 4);
	CHECK(strcmp(back, "\xef\xbf\xbdx") == 0);
	CHECK(utf16le_to_utf8(u, 36, back, 2) < 0);
}

static void mbr_round_trip(void)
{
	uint8_t buf[512], again[512];
	struct mbr m;

	for (int i = 0; i < 512; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	buf[510] = 0x55;
	buf[511] = 0xaa;
	mbr_decode(buf, &m);
	CHECK(m.has_sig);
	mbr_encode(&m, again);
	CHECK(memcmp(buf, again, 512) == 0);
}

static void protective_mbr(void)
{
	uint8_t buf[512];
	struct mbr m;

	mbr_protective(&m, 20971520);
	memset(buf, 0, sizeof(buf));
	mbr_encode(&m, buf);
	CHECK(buf[446 + 4] == 0xee);
	CHECK(get_le32(buf + 446 + 8) == 1);
	CHECK(get_le32(buf + 446 + 12) == 20971519);
	CHECK(buf[446 + 1] == 0 && buf[446 + 2] == 2 && buf[446 + 3] == 0);
	CHECK(mbr_classify(buf, 20971520) == MBR_PROTECTIVE);
	/* More than 2^32 sectors: the size saturates. */
	mbr_protective(&m, 1ull << 33);
	CHECK(m.part[0].lba_count == 0xffffffffu);
	memset(buf, 0, sizeof(buf));
	CHECK(mbr_classify(buf, 100) == MBR_EMPTY);
	buf[0] = 0xeb;
	CHECK(mbr_classify(buf, 100) == MBR_UNKNOWN);
	/* A classic table entry that runs past the disk is not a table. */
	memset(buf, 0, sizeof(buf));
	buf[510] = 0x55;
	buf[511] = 0xaa;
	buf[446 + 4] = 0x07;
	put_le32(buf + 446 + 8, 2048);
	put_le32(buf + 446 + 12, 4096);
	CHECK(mbr_classify(buf, 8192) == MBR_CLASSIC);
	CHECK(mbr_classify(buf, 4096) == MBR_UNKNOWN);
}

static void fsprobe_fat16(void)
{
	/* The boot sector of the seed's 204 MB FAT16 ESP: 4 KiB clusters. */
	uint8_t s[512] = {0};
	struct fs_probe p;

	s[0] = 0xeb;
	s[1] = 0x3c;
	s[2] = 0x90;
	memcpy(s + 3, "MSDOS5.0", 8);
	put_le16(s + 11, 512);
	s[13] = 8;
	put_le16(s + 14, 8);
	s[16] = 2;
	put_le16(s + 17, 512);
	put_le16(s + 19, 0);
	s[21] = 0xf8;
	put_le16(s + 22, 204);
	put_le32(s + 32, 417792);
	s[38] = 0x29;
	put_le32(s + 39, 0xea3403c7);
	memcpy(s + 43, "ESP        ", 11);
	memcpy(s + 54, "FAT16   ", 8);
	s[510] = 0x55;
	s[511] = 0xaa;
	fs_probe(s, sizeof(s), &p);
	CHECK(p.kind == FS_FAT16);
	CHECK(strcmp(p.label, "ESP") == 0);
	CHECK(p.serial == 0xea3403c7);
	CHECK(strcmp(fs_kind_str(p.kind), "FAT") == 0);
	/* A FAT32 layout (16-bit FAT size zero) with few clusters, as
	 * mkfs.fat makes on a 100 MB ESP, is FAT32 with its label at 71. */
	uint8_t f[512] = {0};
	memcpy(f, s, 36);
	put_le16(f + 14, 32);
	put_le16(f + 17, 0);
	put_le16(f + 22, 0);
	put_le32(f + 32, 204750);
	put_le32(f + 36, 200);
	f[66] = 0x29;
	memcpy(f + 71, "SYSTEM     ", 11);
	f[510] = 0x55;
	f[511] = 0xaa;
	fs_probe(f, sizeof(f), &p);
	CHECK(p.kind == FS_FAT32);
	CHECK(strcmp(p.label, "SYSTEM") == 0);
	/* Impossible values are not a file system. */
	s[13] = 3;
	fs_probe(s, sizeof(s), &p);
	CHECK(p.kind == FS_RAW);
	s[13] = 8;
	put_le16(s + 22, 0);
	fs_probe(s, sizeof(s), &p);
	CHECK(p.kind == FS_RAW);
	memset(s, 0, sizeof(s));
	s[510] = 0x55;
	s[511] = 0xaa;
	memcpy(s + 3, "NTFS    ", 8);
	fs_probe(s, sizeof(s), &p);
	CHECK(p.kind == FS_NTFS);
}

UNIT_TESTS(codec_tests) = {
	{"crc32_known_answers", crc32_known_answers},
	{"guid_text_round_trip", guid_text_round_trip},
	{"guid_random_is_v4", guid_random_is_v4},
	{"utf16_round_trip", utf16_round_trip},
	{"mbr_round_trip", mbr_round_trip},
	{"protective_mbr", protective_mbr},
	{"fsprobe_fat16", fsprobe_fat16},
	UNIT_END,
};
