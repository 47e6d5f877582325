/* test_efi.c - load options, device paths, Windows OS options, and the
 * OVMF variable store (states, replace, delete, reclaim, refusals). */
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/bytes.h"
#include "../../src/fmt/efi.h"
#include "unit.h"

/* The reference's worked example: Boot0002 "Boot Mirror - secondary plex",
 * HD(1,GPT,bbbbbbbb-0000-4000-8000-000000000000,0x800,0x32000)/File(...). */
static int worked_example(uint8_t *out, size_t cap)
{
	uint8_t dp[256];
	struct efi_hd hd = {1, 0x800, 0x32000, {{0}}, 2, 2};
	guid_from_str("bbbbbbbb-0000-4000-8000-000000000000", &hd.sig);
	int n = efi_dp_add_hd(dp, 0, sizeof(dp), &hd);
	n = efi_dp_add_file(dp, (size_t)n, sizeof(dp), "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
	n = efi_dp_add_end(dp, (size_t)n, sizeof(dp));
	struct efi_loadopt lo = {.attrs = 1, .dp = dp, .dp_len = (size_t)n};
	strcpy(lo.desc, "Boot Mirror - secondary plex");
	return efi_loadopt_encode(&lo, out, cap);
}

static void loadopt_known_answer(void)
{
	uint8_t b[512];
	int n = worked_example(b, sizeof(b));
	struct efi_loadopt lo;
	char text[512];

	CHECK(n == 180); /* 184-byte efivarfs file less the 4-byte attributes */
	CHECK(get_le32(b) == 1 && get_le16(b + 4) == 0x74);
	CHECK(b[0x40] == 4 && b[0x41] == 1 && get_le16(b + 0x42) == 0x2a);
	CHECK(get_le64(b + 0x48) == 0x800 && get_le64(b + 0x50) == 0x32000);
	CHECK(b[0x58] == 0xbb && b[0x5f] == 0x40 && b[0x60] == 0x80);
	CHECK(b[0x68] == 2 && b[0x69] == 2 && b[0x6a] == 4 && b[0x6b] == 4);
	CHECK(b[0xb0] == 0x7f && b[0xb1] == 0xff);
	CHECK(efi_loadopt_decode(b, (size_t)n, &lo) == 0);
	CHECK(strcmp(lo.desc, "Boot Mirror - secondary plex") == 0 && lo.opt_len == 0);
	efi_dp_to_text(lo.dp, lo.dp_len, text, sizeof(text));
	CHECK(strcmp(text, "HD(1,GPT,bbbbbbbb-0000-4000-8000-000000000000,0x800,0x32000)"
			   "/File(\\EFI\\Microsoft\\Boot\\bootmgfw.efi)") == 0);
	uint8_t again[512];
	CHECK(efi_loadopt_encode(&lo, again, sizeof(again)) == n && memcmp(again, b, (size_t)n) == 0);
}

static void loadopt_rejects(void)
{
	uint8_t b[512];
	struct efi_loadopt lo;
	int n = worked_example(b, sizeof(b));

	CHECK(efi_loadopt_decode(b, 7, &lo) < 0);
	put_le16(b + 4, 0x75); /* path list longer than what is there */
	CHECK(efi_loadopt_decode(b, (size_t)n, &lo) < 0);
	put_le16(b + 4, 0x74);
	b[0xb0] = 0x7e; /* no End node */
	CHECK(efi_loadopt_decode(b, (size_t)n, &lo) < 0);
	b[0xb0] = 0x7f;
	put_le16(b + 0x42, 2); /* node shorter than its header */
	CHECK(efi_loadopt_decode(b, (size_t)n, &lo) < 0);
}

static void winopts_round_trip(void)
{
	uint8_t dp[256], w[512];
	struct efi_hd hd = {2, 417826, 10231808, {{0}}, 2, 2};
	struct efi_winopts d;
	guid_from_str("68d298c0-1b6a-01c1-f1b3-12714f758821", &hd.sig);
	int n = efi_dp_add_hd(dp, 0, sizeof(dp), &hd);
	n = efi_dp_add_file(dp, (size_t)n, sizeof(dp), "\\WINDOWS");
	n = efi_dp_add_end(dp, (size_t)n, sizeof(dp));
	int k = efi_winopts_encode("/DEBUG /BAUDRATE=115200", dp, (size_t)n, w, sizeof(w));
	CHECK(k > 0 && memcmp(w, "WINDOWS\0", 8) == 0 && get_le32(w + 8) == 1);
	CHECK(get_le32(w + 12) == (uint32_t)k && get_le32(w + 16) % 4 == 0);
	CHECK(get_le32(w + get_le32(w + 16) + 8) == 4); /* FILE_PATH_TYPE_EFI */
	CHECK(efi_winopts_decode(w, (size_t)k, &d) == 0);
	CHECK(strcmp(d.load_options, "/DEBUG /BAUDRATE=115200") == 0);
	CHECK(d.os_dp_len == (size_t)n && memcmp(d.os_dp, dp, (size_t)n) == 0);
	struct efi_hd got;
	char f[64];
	CHECK(efi_dp_get_hd(d.os_dp, d.os_dp_len, &got) && got.start == 417826 &&
	      guid_eq(&got.sig, &hd.sig));
	CHECK(efi_dp_get_file(d.os_dp, d.os_dp_len, f, sizeof(f)) && strcmp(f, "\\WINDOWS") == 0);
	put_le32(w + 12, 5000); /* length beyond the data */
	CHECK(efi_winopts_decode(w, (size_t)k, &d) < 0);
}

static void vs_states(void)
{
	static uint8_t s[0x84000];
	struct efi_vs vs;
	struct efi_var v;
	const char *why;
	uint8_t a[3] = {1, 2, 3}, b[5] = {9, 9, 9, 9, 9};

	CHECK(efi_vs_format(s, sizeof(s)) == 0);
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) == 0);
	CHECK(vs.vars_start == 0x64 && vs.vars_end == 0x40000);
	CHECK(!efi_vs_get(&vs, "Timeout", &EFI_GLOBAL_GUID, &v));
	CHECK(efi_vs_set(&vs, "Timeout", &EFI_GLOBAL_GUID, 7, a, 3, &why) == 0);
	CHECK(s[0x64] == 0xaa && s[0x65] == 0x55 && s[0x66] == 0x3f);
	CHECK(get_le32(s + 0x64 + 0x24) == 16 && get_le32(s + 0x64 + 0x28) == 3);
	/* Replace: the new copy is live, the old one retired to 0x3C. */
	CHECK(efi_vs_set(&vs, "Timeout", &EFI_GLOBAL_GUID, 7, b, 5, &why) == 0);
	CHECK(s[0x66] == 0x3c);
	size_t second = (0x64 + 0x3c + 16 + 3 + 3) & ~(size_t)3;
	CHECK(s[second + 2] == 0x3f);
	CHECK(efi_vs_get(&vs, "Timeout", &EFI_GLOBAL_GUID, &v) && v.data_len == 5 && v.off == second);
	/* Everything past the last record stays erased (0xFF). */
	size_t end = second + 0x3c + 16 + 5;
	for (size_t i = end; i < 0x40000; i++)
		if (s[i] != 0xff) {
			CHECK(s[i] == 0xff); /* the free area was written */
			break;
		}
	/* An update caught in transition (0x3E) with no 0x3F copy still counts. */
	s[second + 2] = 0x3e;
	CHECK(efi_vs_get(&vs, "Timeout", &EFI_GLOBAL_GUID, &v) && v.off == second);
	/* A header written without its data (0x7F) is not a variable. */
	s[second + 2] = 0x7f;
	CHECK(!efi_vs_get(&vs, "Timeout", &EFI_GLOBAL_GUID, &v));
	s[second + 2] = 0x3f;
	CHECK(efi_vs_delete(&vs, "Timeout", &EFI_GLOBAL_GUID));
	CHECK(s[second + 2] == 0x3d && !efi_vs_get(&vs, "Timeout", &EFI_GLOBAL_GUID, &v));
	CHECK(!efi_vs_delete(&vs, "Timeout", &EFI_GLOBAL_GUID));
}

static void vs_full_reclaims(void)
{
	static uint8_t s[0x20000];
	struct efi_vs vs;
	struct efi_var v;
	const char *why;
	uint8_t data[4000];

	memset(data, 0x5a, sizeof(data));
	CHECK(efi_vs_format(s, sizeof(s)) == 0);
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) == 0);
	/* 0xDF54 bytes of room: rewriting one 4 KB variable 40 times needs
	 * reclaims, and the latest value must survive each. */
	for (int i = 0; i < 40; i++) {
		data[0] = (uint8_t)i;
		CHECK(efi_vs_set(&vs, "Big", &EFI_GLOBAL_GUID, 7, data, sizeof(data), &why) == 0);
		CHECK(efi_vs_set(&vs, "Small", &EFI_GLOBAL_GUID, 7, data, 1, &why) == 0);
	}
	CHECK(efi_vs_get(&vs, "Big", &EFI_GLOBAL_GUID, &v) && v.data[0] == 39 && v.data_len == 4000);
	CHECK(efi_vs_get(&vs, "Small", &EFI_GLOBAL_GUID, &v) && v.data[0] == 39);
	/* Too big to ever fit: refused, store unchanged. */
	uint8_t *snap = malloc(sizeof(s));
	memcpy(snap, s, sizeof(s));
	uint8_t *huge = calloc(1, 0x10000);
	CHECK(efi_vs_set(&vs, "Huge", &EFI_GLOBAL_GUID, 7, huge, 0x10000, &why) < 0);
	CHECK(strstr(why, "full") != NULL);
	CHECK(efi_vs_get(&vs, "Big", &EFI_GLOBAL_GUID, &v) && v.data[0] == 39);
	free(huge);
	free(snap);
	/* FTW area and the rest of the file are untouched by all of it. */
	CHECK(s[0xf000] == 0x2b && s[0xf000 + 20] == 0xfe);
}

static void vs_refusals(void)
{
	static uint8_t s[0x84000];
	struct efi_vs vs;
	const char *why;

	efi_vs_format(s, sizeof(s));
	s[0x32] ^= 1; /* FV checksum */
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) < 0 && strstr(why, "damaged"));
	efi_vs_format(s, sizeof(s));
	s[0x48] ^= 1; /* store signature */
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) < 0);
	efi_vs_format(s, sizeof(s));
	s[0x41000 + 32] = 0xfe; /* a fault-tolerant write in the queue */
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) < 0 && strstr(why, "fault-tolerant"));
	efi_vs_format(s, sizeof(s));
	CHECK(efi_vs_open(s, 0x80000, &vs, &why) < 0);
	/* A record whose sizes run past the store ends the walk, no more. */
	efi_vs_format(s, sizeof(s));
	CHECK(efi_vs_open(s, sizeof(s), &vs, &why) == 0);
	put_le16(s + 0x64, 0x55aa);
	put_le32(s + 0x64 + 0x24, 0x7fffffff);
	struct efi_var v;
	CHECK(!efi_vs_get(&vs, "X", &EFI_GLOBAL_GUID, &v));
}

UNIT_TESTS(efi_tests) = {
	{"efi_loadopt_known_answer", loadopt_known_answer},
	{"efi_loadopt_rejects", loadopt_rejects},
	{"efi_winopts_round_trip", winopts_round_trip},
	{"efi_vs_states", vs_states},
	{"efi_vs_full_reclaims", vs_full_reclaims},
	{"efi_vs_refusals", vs_refusals},
	UNIT_END,
};
