/* test_disk.c - the disk model on memory images: layouts, refusals,
 * recovery from either GPT copy, and crashes in the middle of a commit. */
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/disk.h"
#include "unit.h"

#define MIB (1024ull * 1024)

struct img {
	uint8_t *buf;
	uint64_t size;
	uint32_t ss;
};

static struct img img_new(uint64_t size, uint32_t ss)
{
	struct img i = {calloc(1, size), size, ss};
	return i;
}

static struct disk *img_open(struct img *i)
{
	struct blkdev *dev;
	struct disk *d = NULL;

	if (blk_open_mem(i->buf, i->size, i->ss, &dev) < 0)
		return NULL;
	disk_open_dev(dev, 1, &d, NULL);
	return d;
}

static struct rng seeded(void)
{
	struct rng r = {.seeded = true, .seed = 7};
	return r;
}

/* The seed's shadow disk: convert gpt, delete the MSR, ESP 204 + MSR 32. */
static struct disk *seed_shadow(struct img *i, struct rng *r)
{
	struct disk *d = img_open(i);
	struct create_req esp = {.kind = PK_ESP, .size_mb = 204};
	struct create_req msr = {.kind = PK_MSR, .size_mb = 32};
	size_t pos;

	CHECK(disk_convert_gpt(d, r, PROFILE_2003, NULL) == 0);
	CHECK(disk_delete_part(d, 0, true, NULL) == 0);
	CHECK(disk_create_part(d, r, PROFILE_2003, &esp, &pos, NULL) == 0);
	CHECK(disk_create_part(d, r, PROFILE_2003, &msr, &pos, NULL) == 0);
	return d;
}

static int same_parts(const struct disk *a, const struct disk *b)
{
	if (a->nparts != b->nparts)
		return 0;
	for (size_t i = 0; i < a->nparts; i++) {
		const struct part *x = &a->parts[i], *y = &b->parts[i];
		if (x->first_lba != y->first_lba || x->last_lba != y->last_lba ||
		    !guid_eq(&x->ent.type, &y->ent.type) ||
		    !guid_eq(&x->ent.uniq, &y->ent.uniq))
			return 0;
	}
	return 1;
}

static void layout_2003(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = img_open(&i);

	CHECK(d->style == DS_RAW && !d->raw_has_data);
	CHECK(disk_convert_gpt(d, &r, PROFILE_2003, NULL) == 0);
	CHECK(d->nparts == 1 && d->parts[0].kind == PK_MSR);
	CHECK(d->parts[0].first_lba == 34);
	CHECK(part_bytes(d, &d->parts[0]) == 32 * MIB);
	disk_close(d);
	memset(i.buf, 0, i.size);
	d = seed_shadow(&i, &r);
	CHECK(d->nparts == 2);
	CHECK(d->parts[0].kind == PK_ESP && d->parts[0].first_lba == 34);
	CHECK(part_bytes(d, &d->parts[0]) == 213909504ull);
	CHECK(d->parts[1].kind == PK_MSR);
	CHECK(part_offset(d, &d->parts[1]) == 17408 + 213909504ull);
	disk_close(d);
	/* What was written reads back the same. */
	d = img_open(&i);
	CHECK(d->style == DS_GPT && d->recovery == GPT_REC_NONE && !d->pmbr_bad);
	CHECK(d->nparts == 2 && d->parts[0].kind == PK_ESP);
	disk_close(d);
	free(i.buf);
}

static void layout_modern(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = img_open(&i);
	struct create_req esp = {.kind = PK_ESP, .size_mb = 100};
	struct create_req data = {.kind = PK_BASIC};
	size_t pos;

	CHECK(disk_convert_gpt(d, &r, PROFILE_MODERN, NULL) == 0);
	CHECK(d->parts[0].first_lba == 34 && d->parts[0].last_lba == 32767);
	CHECK(disk_create_part(d, &r, PROFILE_MODERN, &esp, &pos, NULL) == 0);
	CHECK(pos == 1 && d->parts[1].first_lba == 32768);
	CHECK(disk_create_part(d, &r, PROFILE_MODERN, &data, &pos, NULL) == 0);
	CHECK(d->parts[2].first_lba % 2048 == 0);
	CHECK((d->parts[2].last_lba + 1 - d->parts[2].first_lba) % 2048 == 0);
	CHECK(d->hdr.last_usable - d->parts[2].last_lba < 2048);
	CHECK(disk_free_bytes(d) < 2 * MIB);
	disk_close(d);
	free(i.buf);
}

static void sectors_4k(void)
{
	struct img i = img_new(256 * MIB, 4096);
	struct rng r = seeded();
	struct disk *d = img_open(&i);
	struct create_req esp = {.kind = PK_ESP, .size_mb = 100};
	size_t pos;

	CHECK(disk_convert_gpt(d, &r, PROFILE_2003, NULL) == 0);
	CHECK(d->hdr.first_usable == 6);
	CHECK(d->hdr.last_usable == 65536 - 6);
	CHECK(disk_delete_part(d, 0, true, NULL) == 0);
	CHECK(disk_create_part(d, &r, PROFILE_2003, &esp, &pos, NULL) == 0);
	CHECK(part_offset(d, &d->parts[0]) == 24576);
	disk_close(d);
	d = img_open(&i);
	CHECK(d->style == DS_GPT && d->nparts == 1);
	disk_close(d);
	free(i.buf);
}

static void refusals_change_nothing(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = seed_shadow(&i, &r);
	uint8_t *snap = malloc(i.size);
	struct create_req big = {.kind = PK_BASIC, .size_mb = 100000};
	struct create_req off = {.kind = PK_BASIC, .size_mb = 1,
				 .has_offset = true, .offset_kb = 20};
	struct gm_err err;
	size_t pos;

	memcpy(snap, i.buf, i.size);
	CHECK(disk_create_part(d, &r, PROFILE_2003, &big, &pos, &err) < 0);
	CHECK(err.code == GM_E_NO_SPACE);
	CHECK(disk_create_part(d, &r, PROFILE_2003, &off, &pos, &err) < 0);
	CHECK(err.code == GM_E_NO_SPACE); /* inside the ESP */
	CHECK(disk_delete_part(d, 0, false, &err) < 0);
	CHECK(err.code == GM_E_PROTECTED);
	CHECK(disk_delete_part(d, 1, false, &err) < 0);
	CHECK(err.code == GM_E_PROTECTED);
	CHECK(disk_convert_gpt(d, &r, PROFILE_2003, &err) < 0);
	CHECK(err.code == GM_E_NOT_CONVERTIBLE);
	CHECK(disk_convert_mbr(d, &r, &err) < 0);
	CHECK(err.code == GM_E_NOT_CONVERTIBLE);
	CHECK(d->nparts == 2);
	CHECK(memcmp(snap, i.buf, i.size) == 0);
	disk_close(d);
	free(snap);
	free(i.buf);
}

/* Damages part of the image, checks the copy that is used, repairs it with
 * a commit and expects the very bytes from before the damage. */
static void damage_and_repair(uint64_t off, size_t len, enum gpt_recovery want)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = seed_shadow(&i, &r), *e;
	uint8_t *snap = malloc(i.size), *damaged = malloc(i.size);

	memcpy(snap, i.buf, i.size);
	for (size_t k = 0; k < len; k++)
		i.buf[off + k] ^= 0x5a;
	memcpy(damaged, i.buf, i.size);
	e = img_open(&i);
	CHECK(e->style == DS_GPT);
	CHECK(e->recovery == want);
	CHECK(same_parts(d, e));
	/* Reading changed nothing. */
	CHECK(memcmp(damaged, i.buf, i.size) == 0);
	CHECK(disk_commit(e, NULL) == 0);
	CHECK(memcmp(snap, i.buf, i.size) == 0);
	disk_close(e);
	disk_close(d);
	free(snap);
	free(damaged);
	free(i.buf);
}

static void primary_header_damaged(void)
{
	damage_and_repair(512, 92, GPT_REC_FROM_BACKUP);
}

static void primary_entries_damaged(void)
{
	damage_and_repair(1024 + 128, 16, GPT_REC_FROM_BACKUP);
}

static void backup_header_damaged(void)
{
	damage_and_repair(256 * MIB - 512, 92, GPT_REC_FROM_PRIMARY);
}

static void backup_entries_damaged(void)
{
	damage_and_repair(256 * MIB - 33 * 512, 64, GPT_REC_FROM_PRIMARY);
}

static void both_damaged_is_unreadable(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = seed_shadow(&i, &r);
	struct create_req c = {.kind = PK_BASIC, .size_mb = 1};
	struct gm_err err;
	size_t pos;

	disk_close(d);
	i.buf[512 + 20] ^= 1;
	i.buf[256 * MIB - 512 + 20] ^= 1;
	uint8_t *snap = malloc(i.size);
	memcpy(snap, i.buf, i.size);
	d = img_open(&i);
	CHECK(d->style == DS_UNREADABLE);
	CHECK(d->prim_state == GPT_CORRUPT && d->back_state == GPT_CORRUPT);
	CHECK(disk_create_part(d, &r, PROFILE_2003, &c, &pos, &err) < 0);
	CHECK(err.code == GM_E_UNREADABLE);
	CHECK(disk_convert_gpt(d, &r, PROFILE_2003, &err) < 0);
	CHECK(disk_convert_mbr(d, &r, &err) < 0);
	CHECK(disk_commit(d, &err) < 0);
	CHECK(memcmp(snap, i.buf, i.size) == 0);
	/* clean is the way out. */
	CHECK(disk_clean(d, NULL) == 0);
	CHECK(d->style == DS_RAW);
	disk_close(d);
	free(snap);
	free(i.buf);
}

static void overlapping_entries_rejected(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = seed_shadow(&i, &r);

	/* Make partition 2 start inside partition 1, in both copies, with
	 * the CRCs made right: the layout check must still catch it. */
	d->parts[1].first_lba = 100;
	CHECK(disk_commit(d, NULL) == 0);
	disk_close(d);
	d = img_open(&i);
	CHECK(d->style == DS_UNREADABLE);
	CHECK(strstr(d->why, "overlap") != NULL);
	disk_close(d);
	free(i.buf);
}

/* Every write of a commit fails in turn (and all after it, as in a crash):
 * the disk must read as the old table or the new one, never as neither. */
static void crash_at_every_write(void)
{
	struct img base = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *old = seed_shadow(&base, &r), *newd;
	struct create_req c = {.kind = PK_BASIC, .size_mb = 8};
	size_t pos;
	int crashes = 0;

	/* The new state, for comparison. */
	struct img want = img_new(base.size, 512);
	memcpy(want.buf, base.buf, base.size);
	struct rng r2 = r;
	newd = img_open(&want);
	CHECK(disk_create_part(newd, &r2, PROFILE_2003, &c, &pos, NULL) == 0);

	for (uint64_t k = 1; k < 10; k++) {
		struct img t = img_new(base.size, 512);
		struct blkdev *mem, *fault;
		struct disk *d, *after;
		struct rng r3 = r;
		memcpy(t.buf, base.buf, base.size);
		blk_open_mem(t.buf, t.size, 512, &mem);
		blk_open_fault(mem, k, 0, 0, NULL, &fault);
		disk_open_dev(fault, 1, &d, NULL);
		int rc = disk_create_part(d, &r3, PROFILE_2003, &c, &pos, NULL);
		disk_close(d);
		after = img_open(&t);
		CHECK(after->style == DS_GPT);
		CHECK(same_parts(after, old) || same_parts(after, newd));
		if (rc < 0)
			crashes++;
		else
			CHECK(same_parts(after, newd));
		disk_close(after);
		free(t.buf);
	}
	CHECK(crashes >= 2); /* the backup copy, then the primary copy */
	disk_close(old);
	disk_close(newd);
	free(base.buf);
	free(want.buf);
}

static void mbr_disks(void)
{
	struct img i = img_new(256 * MIB, 512);
	struct rng r = seeded();
	struct disk *d = img_open(&i);
	struct create_req p = {.kind = PK_BASIC, .size_mb = 50};
	struct create_req esp = {.kind = PK_ESP, .size_mb = 50};
	struct gm_err err;
	size_t pos;

	CHECK(disk_convert_mbr(d, &r, NULL) == 0);
	CHECK(d->style == DS_MBR);
	CHECK(disk_create_part(d, &r, PROFILE_MODERN, &p, &pos, NULL) == 0);
	CHECK(d->parts[0].first_lba == 2048 && d->parts[0].mbr_type == 0x07);
	CHECK(disk_create_part(d, &r, PROFILE_MODERN, &esp, &pos, &err) < 0);
	CHECK(err.code == GM_E_NOT_GPT);
	disk_close(d);
	d = img_open(&i);
	CHECK(d->style == DS_MBR && d->nparts == 1);
	CHECK(disk_convert_gpt(d, &r, PROFILE_MODERN, &err) < 0);
	CHECK(disk_delete_part(d, 0, false, NULL) == 0);
	CHECK(disk_convert_gpt(d, &r, PROFILE_MODERN, NULL) == 0);
	disk_close(d);
	d = img_open(&i);
	CHECK(d->style == DS_GPT && d->nparts == 1);
	/* And back: an MSR alone does not stop convert mbr. */
	CHECK(disk_convert_mbr(d, &r, NULL) == 0);
	disk_close(d);
	d = img_open(&i);
	CHECK(d->style == DS_MBR && d->nparts == 0);
	disk_close(d);
	free(i.buf);
}

static void not_a_disk(void)
{
	struct img i = img_new(1000, 512);
	struct disk *d;
	struct blkdev *dev;

	blk_open_mem(i.buf, 1000, 512, &dev);
	disk_open_dev(dev, 0, &d, NULL);
	CHECK(d->style == DS_INVALID);
	CHECK(disk_check_writable(d, NULL) < 0);
	disk_close(d);
	blk_open_mem(i.buf, 512 * 10, 512, &dev);
	disk_open_dev(dev, 0, &d, NULL);
	CHECK(d->style == DS_INVALID);
	disk_close(d);
	free(i.buf);
	/* Text where the MBR should be: a disk holding unknown data. */
	i = img_new(256 * MIB, 512);
	memcpy(i.buf, "hello, this is not a partition table", 36);
	d = img_open(&i);
	CHECK(d->style == DS_RAW && d->raw_has_data);
	struct rng r = seeded();
	CHECK(disk_convert_gpt(d, &r, PROFILE_MODERN, NULL) < 0);
	disk_close(d);
	free(i.buf);
}

UNIT_TESTS(disk_tests) = {
	{"disk_layout_2003", layout_2003},
	{"disk_layout_modern", layout_modern},
	{"disk_sectors_4k", sectors_4k},
	{"disk_refusals_change_nothing", refusals_change_nothing},
	{"disk_primary_header_damaged", primary_header_damaged},
	{"disk_primary_entries_damaged", primary_entries_damaged},
	{"disk_backup_header_damaged", backup_header_damaged},
	{"disk_backup_entries_damaged", backup_entries_damaged},
	{"disk_both_damaged_is_unreadable", both_damaged_is_unreadable},
	{"disk_overlapping_entries_rejected", overlapping_entries_rejected},
	{"disk_crash_at_every_write", crash_at_every_write},
	{"disk_mbr", mbr_disks},
	{"disk_not_a_disk", not_a_disk},
	UNIT_END,
};
