/* test_ldm.c - LDM codecs on records laid out as the format reference
 * documents them (tests/fuzz/corpus-*: our own values, no Windows bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/bytes.h"
#include "../../src/fmt/ldm.h"
#include "unit.h"

static size_t load(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, cap, f);
		fclose(f);
	}
	return n;
}

static void headers(void)
{
	uint8_t s[512];
	struct ldm_privhead ph;
	struct ldm_tocblock t;
	struct ldm_vmdb v;
	const char *why;

	CHECK(load("tests/fuzz/corpus-privhead/gpt-fresh.bin", s, sizeof(s)) == 512);
	CHECK(ldm_privhead_decode(s, 512, &ph, &why) == 0);
	CHECK(ph.checksum_ok && ph.ver_major == 2 && ph.ver_minor == 12);
	CHECK(strcmp(ph.disk_guid, "11111111-2222-4333-8444-555555555555") == 0);
	CHECK(strcmp(ph.dg_name, "GPTMIRRDg0") == 0);
	CHECK(ph.public_start == 65570 && ph.private_start == 34 && ph.private_size == 2048);
	s[100] ^= 1;
	CHECK(ldm_privhead_decode(s, 512, &ph, &why) == 0 && !ph.checksum_ok);
	memcpy(s + 0x30, "not-a-guid", 10);
	CHECK(ldm_privhead_decode(s, 512, &ph, &why) < 0);

	CHECK(load("tests/fuzz/corpus-tocblock/fresh.bin", s, sizeof(s)) == 512);
	CHECK(ldm_tocblock_decode(s, 512, &t, &why) == 0 && t.checksum_ok);
	CHECK(t.config.start == 17 && t.config.size == 1481 && t.log.start == 1498);
	memcpy(s + 0x24, "nonsense", 8);
	CHECK(ldm_tocblock_decode(s, 512, &t, &why) < 0);

	CHECK(load("tests/fuzz/corpus-vmdb/fresh.bin", s, sizeof(s)) == 512);
	CHECK(ldm_vmdb_decode(s, 512, &v, &why) == 0);
	CHECK(v.last_seq == 5924 && v.status == 1 && v.committed_tx == 9);
	CHECK(v.n_vol == 1 && v.n_comp == 2 && v.n_part == 2 && v.n_disk == 2);
	put_be32(s + 8, 256);
	CHECK(ldm_vmdb_decode(s, 512, &v, &why) < 0);
}

static void records(void)
{
	uint8_t b[512];
	struct ldm_rec r;
	const char *why;

	CHECK(load("tests/fuzz/corpus-vblk/volume.bin", b, sizeof(b)) == 112);
	CHECK(ldm_rec_decode(b, 112, &r, &why) == 0);
	CHECK(r.type == LDM_REC_VOLUME && r.id == 4 && strcmp(r.name, "Volume1") == 0);
	CHECK(r.u.vol.read_policy == 3 && r.u.vol.number == 1 && r.u.vol.nchildren == 2);
	CHECK(r.u.vol.size == 32768 && r.u.vol.part_type == 7 && strcmp(r.u.vol.hint, "E:") == 0);
	CHECK(strcmp(r.u.vol.state, "ACTIVE") == 0 && r.u.vol.guid[15] == 15);

	CHECK(load("tests/fuzz/corpus-vblk/partition.bin", b, sizeof(b)) == 112);
	CHECK(ldm_rec_decode(b, 112, &r, &why) == 0);
	CHECK(r.type == LDM_REC_PARTITION && r.u.part.start == 2048 && r.u.part.size == 32768);
	CHECK(r.u.part.parent == 5 && r.u.part.disk == 2);

	CHECK(load("tests/fuzz/corpus-vblk/stripe.bin", b, sizeof(b)) == 112);
	CHECK(ldm_rec_decode(b, 112, &r, &why) == 0);
	CHECK(r.type == LDM_REC_COMPONENT && r.u.comp.layout == LDM_STRIPE);
	CHECK(r.u.comp.stripe == 128 && r.u.comp.columns == 2 && r.u.comp.parent == 4);

	CHECK(load("tests/fuzz/corpus-vblk/disk.bin", b, sizeof(b)) == 112);
	CHECK(ldm_rec_decode(b, 112, &r, &why) == 0);
	CHECK(r.type == LDM_REC_DISK && strcmp(r.u.disk.guid, "11111111-2222-4333-8444-555555555555") == 0);

	/* A length that runs past the fragments, a wrong revision, and a
	 * field cut short are refused. */
	put_be32(b + 4, 500);
	CHECK(ldm_rec_decode(b, 112, &r, &why) < 0);
	CHECK(load("tests/fuzz/corpus-vblk/volume.bin", b, sizeof(b)) == 112);
	b[3] = 0x41;
	CHECK(ldm_rec_decode(b, 112, &r, &why) < 0);
	CHECK(load("tests/fuzz/corpus-vblk/volume.bin", b, sizeof(b)) == 112);
	put_be32(b + 4, 12);
	CHECK(ldm_rec_decode(b, 112, &r, &why) < 0);
	/* A blank slot is skipped, not an error. */
	memset(b, 0, 112);
	CHECK(ldm_rec_decode(b, 112, &r, &why) == 1);
}

static void slots(void)
{
	uint8_t s[128] = {0};
	struct ldm_slot sl;

	CHECK(ldm_slot_decode(s, 128, &sl) == 1);
	memcpy(s, "VBLK", 4);
	put_be32(s + 4, 7);
	put_be32(s + 8, 3);
	put_be16(s + 12, 1);
	put_be16(s + 14, 2);
	CHECK(ldm_slot_decode(s, 128, &sl) == 0 && sl.seq == 7 && sl.group == 3 &&
	      sl.frag_index == 1 && sl.frag_count == 2 && sl.payload == s + 16);
	CHECK(ldm_slot_decode(s, 64, &sl) < 0);
}

UNIT_TESTS(ldm_tests) = {
	{"ldm_headers", headers},
	{"ldm_records", records},
	{"ldm_slots", slots},
	UNIT_END,
};
