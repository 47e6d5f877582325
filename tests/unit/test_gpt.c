/* test_gpt.c - GPT header and entry codec. */
#include <string.h>

#include "../../src/fmt/bytes.h"
#include "../../src/fmt/crc32.h"
#include "../../src/fmt/gpt.h"
#include "unit.h"

static struct gpt_hdr sample_hdr(void)
{
	struct gpt_hdr h = {0};

	h.revision = GPT_REVISION;
	h.hdr_size = GPT_HDR_SIZE;
	h.my_lba = 1;
	h.alt_lba = 20971519;
	h.first_usable = 34;
	h.last_usable = 20971486;
	guid_from_str("da200889-4fc3-4ebd-8688-3e986b0cc009", &h.disk_guid);
	h.entries_lba = 2;
	h.num_entries = 128;
	h.entry_size = 128;
	h.entries_crc = 0x12345678;
	return h;
}

static void hdr_round_trip(void)
{
	struct gpt_hdr h = sample_hdr(), d;
	uint8_t sec[512], again[512];
	const char *why;

	gpt_hdr_encode(&h, sec, sizeof(sec));
	CHECK(memcmp(sec, "EFI PART", 8) == 0);
	CHECK(get_le32(sec + 8) == 0x00010000);
	CHECK(get_le32(sec + 12) == 92);
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_OK);
	CHECK(d.my_lba == h.my_lba && d.alt_lba == h.alt_lba);
	CHECK(d.first_usable == 34 && d.last_usable == 20971486);
	CHECK(guid_eq(&d.disk_guid, &h.disk_guid));
	CHECK(d.entries_crc == 0x12345678 && d.num_entries == 128);
	/* encode(decode(x)) == x */
	gpt_hdr_encode(&d, again, sizeof(again));
	CHECK(memcmp(sec, again, sizeof(sec)) == 0);
	CHECK(gpt_hdr_check_geometry(&d, 20971520, 512, 1, &why) == 0);
}

static void hdr_damage_detected(void)
{
	struct gpt_hdr h = sample_hdr(), d;
	uint8_t sec[512];
	const char *why;

	gpt_hdr_encode(&h, sec, sizeof(sec));
	sec[40] ^= 1; /* first usable LBA, without fixing the CRC */
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_CORRUPT);
	CHECK(strstr(why, "CRC") != NULL);
	memset(sec, 0, sizeof(sec));
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_MISSING);
	/* Sound CRC but impossible fields. */
	h.num_entries = 0;
	gpt_hdr_encode(&h, sec, sizeof(sec));
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_CORRUPT);
	h = sample_hdr();
	h.entry_size = 100;
	gpt_hdr_encode(&h, sec, sizeof(sec));
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_CORRUPT);
	h = sample_hdr();
	h.first_usable = 100;
	h.last_usable = 50;
	gpt_hdr_encode(&h, sec, sizeof(sec));
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_CORRUPT);
	/* Header size field larger than the sector. */
	h = sample_hdr();
	gpt_hdr_encode(&h, sec, sizeof(sec));
	put_le32(sec + 12, 600);
	put_le32(sec + 16, 0);
	CHECK(gpt_hdr_decode(sec, sizeof(sec), &d, &why) == GPT_CORRUPT);
}

static void hdr_geometry(void)
{
	struct gpt_hdr h = sample_hdr();
	const char *why;

	/* A truncated image: the table describes a larger disk. */
	CHECK(gpt_hdr_check_geometry(&h, 1000000, 512, 1, &why) < 0);
	/* Backup must be in the last sector. */
	h.my_lba = 20971519;
	h.alt_lba = 1;
	h.entries_lba = 20971487;
	CHECK(gpt_hdr_check_geometry(&h, 20971520, 512, 0, &why) == 0);
	CHECK(gpt_hdr_check_geometry(&h, 20971521, 512, 0, &why) < 0);
	/* Entry array overlapping the usable area. */
	h = sample_hdr();
	h.first_usable = 20;
	CHECK(gpt_hdr_check_geometry(&h, 20971520, 512, 1, &why) < 0);
	/* 4096-byte sectors: 128 entries fill 4 sectors. */
	h = sample_hdr();
	h.alt_lba = 65535;
	h.first_usable = 6;
	h.last_usable = 65530;
	CHECK(gpt_entries_sectors(&h, 4096) == 4);
	CHECK(gpt_hdr_check_geometry(&h, 65536, 4096, 1, &why) == 0);
}

static void ent_round_trip(void)
{
	struct gpt_ent e = {0}, d;
	uint8_t buf[128], again[128];
	char name[128];

	e.type = GPT_TYPE_ESP;
	guid_from_str("476688c5-8ebf-47d2-80e7-cf9d065edb81", &e.uniq);
	e.first_lba = 34;
	e.last_lba = 417825;
	e.attrs = 0x8000000000000001ull;
	CHECK(gpt_ent_set_name(&e, "EFI system partition") == 0);
	gpt_ent_encode(&e, buf);
	CHECK(get_le64(buf + 32) == 34 && get_le64(buf + 40) == 417825);
	CHECK(get_le16(buf + 56) == 'E');
	gpt_ent_decode(buf, &d);
	CHECK(memcmp(&d, &e, sizeof(d)) == 0);
	gpt_ent_encode(&d, again);
	CHECK(memcmp(buf, again, sizeof(buf)) == 0);
	gpt_ent_name(&d, name, sizeof(name));
	CHECK(strcmp(name, "EFI system partition") == 0);
	CHECK(gpt_ent_is_used(&d));
	memset(buf, 0, sizeof(buf));
	gpt_ent_decode(buf, &d);
	CHECK(!gpt_ent_is_used(&d));
	/* A name of exactly 36 units fits; 37 does not. */
	CHECK(gpt_ent_set_name(&e, "123456789012345678901234567890123456") == 0);
	CHECK(gpt_ent_set_name(&e, "1234567890123456789012345678901234567") < 0);
}

UNIT_TESTS(gpt_tests) = {
	{"gpt_hdr_round_trip", hdr_round_trip},
	{"gpt_hdr_damage_detected", hdr_damage_detected},
	{"gpt_hdr_geometry", hdr_geometry},
	{"gpt_ent_round_trip", ent_round_trip},
	UNIT_END,
};
