/*
 * disk.c - reading, editing and writing a disk's partition table.
 *
 * Reading: each GPT copy (primary at LBA 1, backup in the last sector) is
 * decoded into a state (missing, corrupt, ok) before anything decides which
 * one to use. Writing: the whole table is rebuilt from the model and written
 * backup first, then primary, then the protective MBR, with a flush between,
 * so an interruption leaves at least one sound copy.
 */
#include "disk.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../fmt/bytes.h"
#include "../fmt/crc32.h"

#define MIB (1024ull * 1024ull)
#define GPT_MIN_DISK (128ull * MIB) /* diskpart will not convert less */

uint64_t disk_bytes(const struct disk *d)
{
	return d->lbas * d->ss;
}

uint64_t part_bytes(const struct disk *d, const struct part *p)
{
	return (p->last_lba - p->first_lba + 1) * d->ss;
}

uint64_t part_offset(const struct disk *d, const struct part *p)
{
	return p->first_lba * d->ss;
}

enum part_kind part_kind_of_type(const struct guid *t)
{
	if (guid_eq(t, &GPT_TYPE_ESP))
		return PK_ESP;
	if (guid_eq(t, &GPT_TYPE_MSR))
		return PK_MSR;
	if (guid_eq(t, &GPT_TYPE_BASIC_DATA))
		return PK_BASIC;
	if (guid_eq(t, &GPT_TYPE_LDM_METADATA))
		return PK_LDM_META;
	if (guid_eq(t, &GPT_TYPE_LDM_DATA))
		return PK_LDM_DATA;
	if (guid_eq(t, &GPT_TYPE_RECOVERY))
		return PK_RECOVERY;
	return PK_OTHER;
}

void part_key(const struct disk *d, const struct part *p, char *buf, size_t cap)
{
	if (d->style == DS_GPT) {
		char g[GUID_STR_LEN + 1];
		guid_to_str(&p->ent.uniq, g);
		snprintf(buf, cap, "%s", g);
	} else {
		snprintf(buf, cap, "mbr-%08" PRIx32 "-%" PRIu64, d->mbr.disk_sig,
			 p->first_lba);
	}
}

/* --- reading ------------------------------------------------------------ */

static void reset_model(struct disk *d)
{
	free(d->parts);
	d->parts = NULL;
	d->nparts = 0;
	d->max_parts = 0;
	d->style = DS_RAW;
	d->why[0] = '\0';
	d->raw_has_data = false;
	d->prim_state = d->back_state = GPT_MISSING;
	d->prim_why[0] = d->back_why[0] = '\0';
	d->recovery = GPT_REC_NONE;
	d->copies_differ = false;
	d->pmbr_bad = false;
	memset(&d->hdr, 0, sizeof(d->hdr));
	memset(&d->mbr, 0, sizeof(d->mbr));
}

static int cmp_first(const void *a, const void *b)
{
	const struct part *x = *(const struct part *const *)a;
	const struct part *y = *(const struct part *const *)b;

	return x->first_lba < y->first_lba ? -1 : x->first_lba > y->first_lba;
}

/* Checks that used entries lie in [lo, hi] and do not overlap. */
static int check_layout(struct part *parts, size_t n, uint64_t lo, uint64_t hi,
			char *why, size_t cap)
{
	struct part **v;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (parts[i].first_lba > parts[i].last_lba ||
		    parts[i].first_lba < lo || parts[i].last_lba > hi) {
			snprintf(why, cap, "partition %" PRIu32
				 " lies outside the usable area",
				 parts[i].index + 1);
			return -1;
		}
	}
	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &parts[i];
	qsort(v, n, sizeof(*v), cmp_first);
	for (size_t i = 1; i < n; i++) {
		if (v[i]->first_lba <= v[i - 1]->last_lba) {
			snprintf(why, cap, "partitions %" PRIu32 " and %" PRIu32
				 " overlap", v[i - 1]->index + 1, v[i]->index + 1);
			rc = -1;
			break;
		}
	}
	free(v);
	return rc;
}

struct gpt_copy {
	enum gpt_state state;
	char why[96];
	struct gpt_hdr hdr;
	uint8_t *ents; /* raw entry array */
	uint64_t ents_len;
};

static void set_why(struct gpt_copy *c, enum gpt_state st, const char *why)
{
	c->state = st;
	snprintf(c->why, sizeof(c->why), "%s", why ? why : "");
}

/* Reads and validates one copy. I/O errors are reported as corrupt. */
static void read_copy(struct disk *d, uint64_t lba, int primary,
		      struct gpt_copy *c)
{
	uint8_t *sec = malloc(d->ss);
	const char *why = NULL;
	uint64_t esec, off;

	memset(c, 0, sizeof(*c));
	if (!sec) {
		set_why(c, GPT_CORRUPT, "out of memory");
		return;
	}
	if (blk_read(d->dev, lba * d->ss, sec, d->ss) < 0) {
		set_why(c, GPT_CORRUPT, "cannot read the header sector");
		goto out;
	}
	c->state = gpt_hdr_decode(sec, d->ss, &c->hdr, &why);
	if (c->state != GPT_OK) {
		set_why(c, c->state, why);
		goto out;
	}
	if (gpt_hdr_check_geometry(&c->hdr, d->lbas, d->ss, primary, &why) < 0) {
		set_why(c, GPT_CORRUPT, why);
		goto out;
	}
	esec = gpt_entries_sectors(&c->hdr, d->ss);
	c->ents_len = esec * d->ss;
	c->ents = calloc(1, c->ents_len);
	off = c->hdr.entries_lba * d->ss;
	if (!c->ents || blk_read(d->dev, off, c->ents, c->ents_len) < 0) {
		set_why(c, GPT_CORRUPT, "cannot read the entry array");
		goto out;
	}
	if (gm_crc32(c->ents, gpt_entries_bytes(&c->hdr)) != c->hdr.entries_crc) {
		set_why(c, GPT_CORRUPT, "entry array CRC mismatch");
		goto out;
	}
out:
	free(sec);
}

/* Builds the partition list from a sound copy; -1 if the entries are bad. */
static int load_gpt_parts(struct disk *d, struct gpt_copy *c)
{
	struct part *parts = calloc(c->hdr.num_entries, sizeof(*parts));
	size_t n = 0;

	if (!parts) {
		set_why(c, GPT_CORRUPT, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < c->hdr.num_entries; i++) {
		struct gpt_ent e;
		gpt_ent_decode(c->ents + (uint64_t)i * c->hdr.entry_size, &e);
		if (!gpt_ent_is_used(&e))
			continue;
		parts[n].index = i;
		parts[n].first_lba = e.first_lba;
		parts[n].last_lba = e.last_lba;
		parts[n].kind = part_kind_of_type(&e.type);
		parts[n].ent = e;
		n++;
	}
	char why[96];
	if (check_layout(parts, n, c->hdr.first_usable, c->hdr.last_usable, why,
			 sizeof(why)) < 0) {
		free(parts);
		set_why(c, GPT_CORRUPT, why);
		return -1;
	}
	free(d->parts);
	d->parts = parts;
	d->nparts = n;
	d->max_parts = c->hdr.num_entries;
	return 0;
}

static void load_mbr_parts(struct disk *d)
{
	d->parts = calloc(4, sizeof(*d->parts));
	d->max_parts = 4;
	d->nparts = 0;
	if (!d->parts)
		return;
	for (uint32_t i = 0; i < 4; i++) {
		const struct mbr_part *m = &d->mbr.part[i];
		if (m->type == 0)
			continue;
		struct part *p = &d->parts[d->nparts++];
		p->index = i;
		p->first_lba = m->lba_first;
		p->last_lba = (uint64_t)m->lba_first + m->lba_count - 1;
		p->mbr_type = m->type;
		p->mbr_status = m->status;
		p->kind = (m->type == 0x05 || m->type == 0x0f || m->type == 0x85)
				  ? PK_MBR_EXTENDED
			  : m->type == 0x42 ? PK_LDM_DATA /* a dynamic MBR disk */
					    : PK_MBR_PRIMARY;
	}
}

static bool same_table(const struct gpt_copy *a, const struct gpt_copy *b)
{
	return a->hdr.entries_crc == b->hdr.entries_crc &&
	       a->hdr.num_entries == b->hdr.num_entries &&
	       a->hdr.first_usable == b->hdr.first_usable &&
	       a->hdr.last_usable == b->hdr.last_usable &&
	       guid_eq(&a->hdr.disk_guid, &b->hdr.disk_guid);
}

/* Both GPT copies read and checked, each entry array validated; the
 * model's partitions are the primary's when it is sound. */
static void read_both_copies(struct disk *d, struct gpt_copy *prim, struct gpt_copy *back)
{
	read_copy(d, 1, 1, prim);
	read_copy(d, d->lbas - 1, 0, back);
	if (prim->state == GPT_OK && load_gpt_parts(d, prim) < 0)
		prim->state = GPT_CORRUPT;
	if (back->state == GPT_OK) {
		if (prim->state == GPT_OK) {
			/* Validate the backup's entries too, but keep primary's. */
			struct part *keep = d->parts;
			size_t kn = d->nparts;
			uint32_t km = d->max_parts;
			d->parts = NULL;
			if (load_gpt_parts(d, back) < 0)
				back->state = GPT_CORRUPT;
			free(d->parts);
			d->parts = keep;
			d->nparts = kn;
			d->max_parts = km;
		} else if (load_gpt_parts(d, back) < 0) {
			back->state = GPT_CORRUPT;
		}
	}
	d->prim_state = prim->state;
	d->back_state = back->state;
	snprintf(d->prim_why, sizeof(d->prim_why), "%s", prim->why);
	snprintf(d->back_why, sizeof(d->back_why), "%s", back->why);
}

int disk_reload(struct disk *d, struct gm_err *err)
{
	uint8_t sec0[MBR_SIZE];
	struct gpt_copy prim, back;
	enum mbr_kind mk;

	(void)err;
	reset_model(d);
	if (d->dev->size % d->ss != 0) {
		d->style = DS_INVALID;
		snprintf(d->why, sizeof(d->why),
			 "its size (%" PRIu64 " bytes) is not a whole number of "
			 "%" PRIu32 "-byte sectors", d->dev->size, d->ss);
		return 0;
	}
	d->lbas = d->dev->size / d->ss;
	if (d->lbas < 2 * (2 + GPT_NUM_ENTRIES * GPT_ENT_SIZE / d->ss) + 1) {
		d->style = DS_INVALID;
		snprintf(d->why, sizeof(d->why),
			 "it is too small to be a disk (%" PRIu64 " bytes)",
			 d->dev->size);
		return 0;
	}
	if (blk_read(d->dev, 0, sec0, sizeof(sec0)) < 0) {
		d->style = DS_INVALID;
		snprintf(d->why, sizeof(d->why), "its first sector cannot be read");
		return 0;
	}
	mk = mbr_classify(sec0, d->lbas);
	mbr_decode(sec0, &d->mbr);

	read_both_copies(d, &prim, &back);

	if (mk == MBR_CLASSIC && !(prim.state == GPT_OK || back.state == GPT_OK)) {
		d->style = DS_MBR;
		load_mbr_parts(d);
	} else if (mk == MBR_CLASSIC && d->mbr.part[0].type != 0) {
		/* A real MBR table wins over a stale GPT, as Windows does. */
		d->style = DS_MBR;
		free(d->parts);
		d->parts = NULL;
		load_mbr_parts(d);
	} else if (prim.state == GPT_OK || back.state == GPT_OK) {
		d->style = DS_GPT;
		d->pmbr_bad = mk != MBR_PROTECTIVE;
		if (prim.state == GPT_OK) {
			d->hdr = prim.hdr;
			if (back.state != GPT_OK)
				d->recovery = GPT_REC_FROM_PRIMARY;
			else if (!same_table(&prim, &back))
				d->copies_differ = true;
		} else {
			/* Rebuild the primary form from the backup. */
			d->hdr = back.hdr;
			d->hdr.my_lba = 1;
			d->hdr.alt_lba = d->lbas - 1;
			d->hdr.entries_lba = 2;
			d->recovery = GPT_REC_FROM_BACKUP;
		}
	} else if (mk == MBR_PROTECTIVE || prim.state == GPT_CORRUPT ||
		   back.state == GPT_CORRUPT) {
		d->style = DS_UNREADABLE;
		snprintf(d->why, sizeof(d->why),
			 "both copies of its GPT are damaged (primary: %s; "
			 "backup: %s)",
			 prim.state == GPT_MISSING ? "missing" : prim.why,
			 back.state == GPT_MISSING ? "missing" : back.why);
	} else if (mk == MBR_CLASSIC) {
		d->style = DS_MBR;
		load_mbr_parts(d);
	} else {
		d->style = DS_RAW;
		d->raw_has_data = mk == MBR_UNKNOWN;
		if (d->raw_has_data)
			snprintf(d->why, sizeof(d->why),
				 "its first sector holds data that is not a "
				 "partition table");
	}
	free(prim.ents);
	free(back.ents);
	return 0;
}

int disk_open_dev(struct blkdev *dev, int slot, struct disk **out,
		  struct gm_err *err)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d) {
		blk_close(dev);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	d->slot = slot;
	d->dev = dev;
	d->ss = dev->sector_size;
	disk_reload(d, err);
	*out = d;
	return 0;
}

static int open_image(const char *path, uint32_t ss, struct blkdev **dev, char *ro_why,
		      size_t cap, struct gm_err *err)
{
	struct stat st;

	/* A block device a user named: its own size and sector size, written
	 * only when nothing holds it. */
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		int rc = blk_open_device(path, 1, dev, ro_why, cap);
		if (rc < 0)
			return gm_fail(err, GM_E_IO, "cannot open %s: %s", path, strerror(-rc));
		return 0;
	}
	int rc = blk_open_file(path, 1, ss, dev);

	if (rc == -EACCES || rc == -EROFS)
		rc = blk_open_file(path, 0, ss, dev);
	if (rc == -ENOTBLK)
		return gm_fail(err, GM_E_UNREADABLE,
			       "%s is not a disk image (not a regular file)", path);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "cannot open %s: %s", path, strerror(-rc));
	return 0;
}

int disk_open(const char *path, int slot, uint32_t ss, struct disk **out,
	      struct gm_err *err)
{
	struct blkdev *dev;
	char ro[320] = "";
	int rc = open_image(path, ss, &dev, ro, sizeof(ro), err);

	if (rc < 0)
		return rc;
	if ((rc = disk_open_dev(dev, slot, out, err)) == 0)
		snprintf((*out)->ro_why, sizeof((*out)->ro_why), "%s", ro);
	return rc;
}

int disk_open_faulty(const char *path, int slot, uint32_t ss, uint64_t bad_start,
		     uint64_t bad_end, struct blk_crash *crash, struct disk **out,
		     struct gm_err *err)
{
	struct blkdev *dev, *fdev;
	char ro[320] = "";
	int rc = open_image(path, ss, &dev, ro, sizeof(ro), err);

	if (rc < 0)
		return rc;
	if (blk_open_fault(dev, 0, bad_start, bad_end, crash, &fdev) < 0) {
		blk_close(dev);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if ((rc = disk_open_dev(fdev, slot, out, err)) == 0)
		snprintf((*out)->ro_why, sizeof((*out)->ro_why), "%s", ro);
	return rc;
}

void disk_close(struct disk *d)
{
	if (!d)
		return;
	blk_close(d->dev);
	free(d->parts);
	free(d);
}

/* --- free space --------------------------------------------------------- */

static void usable_range(const struct disk *d, uint64_t *lo, uint64_t *hi)
{
	if (d->style == DS_GPT) {
		*lo = d->hdr.first_usable;
		*hi = d->hdr.last_usable;
	} else {
		/* MBR: sector 0 is the table; the 32-bit limit caps the end. */
		*lo = 1;
		*hi = d->lbas - 1;
		if (*hi > 0xffffffffull)
			*hi = 0xffffffffull;
	}
}

size_t disk_free_extents(const struct disk *d, struct extent *out, size_t max)
{
	struct part **v;
	uint64_t lo, hi, cur;
	size_t n = 0;

	if (d->style != DS_GPT && d->style != DS_MBR)
		return 0;
	usable_range(d, &lo, &hi);
	v = malloc((d->nparts + 1) * sizeof(*v));
	if (!v)
		return 0;
	for (size_t i = 0; i < d->nparts; i++)
		v[i] = &d->parts[i];
	qsort(v, d->nparts, sizeof(*v), cmp_first);
	cur = lo;
	for (size_t i = 0; i <= d->nparts; i++) {
		uint64_t end = i < d->nparts ? v[i]->first_lba : hi + 1;
		if (end > cur && n < max) {
			out[n].first = cur;
			out[n].last = end - 1;
			n++;
		}
		if (i < d->nparts && v[i]->last_lba + 1 > cur)
			cur = v[i]->last_lba + 1;
	}
	free(v);
	return n;
}

uint64_t disk_free_bytes(const struct disk *d)
{
	struct extent ex[GPT_MAX_ENTRIES + 1];
	size_t n;
	uint64_t total = 0;

	if (d->style == DS_RAW)
		return disk_bytes(d);
	n = disk_free_extents(d, ex, GPT_MAX_ENTRIES + 1);
	for (size_t i = 0; i < n; i++)
		total += (ex[i].last - ex[i].first + 1) * d->ss;
	return total;
}

/* --- writing ------------------------------------------------------------ */

int disk_check_writable(const struct disk *d, struct gm_err *err)
{
	if (d->style == DS_INVALID)
		return gm_fail(err, GM_E_UNREADABLE,
			       "Disk %d is not usable: %s.", d->slot, d->why);
	if (d->style == DS_UNREADABLE)
		return gm_fail(err, GM_E_UNREADABLE,
			       "Disk %d is unreadable: %s. Nothing was written.",
			       d->slot, d->why);
	if (!d->dev->writable && d->ro_why[0])
		return gm_fail(err, GM_E_IO, "Disk %d is not written: %s. Nothing was written.",
			       d->slot, d->ro_why);
	if (!d->dev->writable)
		return gm_fail(err, GM_E_IO, "Disk %d is read-only.", d->slot);
	return 0;
}

/* The kernel is told the new table of a block device, partition by
 * partition (nothing to do for an image). */
static int tell_kernel(struct disk *d, struct gm_err *err)
{
	struct blk_part p[GPT_MAX_ENTRIES];
	size_t n = 0;
	char why[256];

	if (!d->dev->kname[0]) /* an image: the kernel has no view of it */
		return 0;
	for (size_t i = 0; i < d->nparts && n < GPT_MAX_ENTRIES; i++) {
		if (d->parts[i].kind == PK_MBR_EXTENDED)
			continue;
		p[n].pno = d->parts[i].index + 1;
		p[n].start = d->parts[i].first_lba * d->ss;
		p[n].len = (d->parts[i].last_lba - d->parts[i].first_lba + 1) * d->ss;
		n++;
	}
	if (blk_set_partitions(d->dev, p, n, why, sizeof(why)) < 0)
		return gm_fail(err, GM_E_IO, "the new partition table is on disk %d, but the "
			       "kernel could not be told (%s); run partprobe, or restart", d->slot,
			       why);
	return 0;
}

static int wr(struct disk *d, uint64_t lba, const void *buf, size_t len,
	      struct gm_err *err)
{
	int rc = blk_write(d->dev, lba * d->ss, buf, len);

	if (rc < 0)
		return gm_fail(err, GM_E_IO, "write to disk %d at LBA %" PRIu64
			       " failed: %s", d->slot, lba, strerror(-rc));
	return 0;
}

static int flush(struct disk *d, struct gm_err *err)
{
	int rc = blk_flush(d->dev);

	if (rc < 0)
		return gm_fail(err, GM_E_IO, "flush of disk %d failed: %s",
			       d->slot, strerror(-rc));
	return 0;
}

static int commit_gpt(struct disk *d, struct gm_err *err)
{
	struct gpt_hdr h = d->hdr;
	uint64_t esec = gpt_entries_sectors(&h, d->ss);
	uint64_t elen = esec * d->ss;
	uint8_t *ents = calloc(1, elen);
	uint8_t *sec = calloc(1, d->ss);
	int rc = -1;

	if (!ents || !sec) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	/* Each partition keeps its entry slot, as Windows keeps them: a
	 * deleted partition leaves an empty entry, and HD(N,GPT,...) device
	 * paths of the others still name them. */
	for (size_t i = 0; i < d->nparts; i++) {
		if (d->parts[i].index >= h.num_entries) {
			rc = gm_fail(err, GM_E_TABLE_FULL, "partition entry %" PRIu32 " is past the "
				     "table's %" PRIu32 " entries", d->parts[i].index + 1,
				     h.num_entries);
			goto out;
		}
		d->parts[i].ent.first_lba = d->parts[i].first_lba;
		d->parts[i].ent.last_lba = d->parts[i].last_lba;
		gpt_ent_encode(&d->parts[i].ent, ents + (size_t)d->parts[i].index * h.entry_size);
	}
	h.entries_crc = gm_crc32(ents, gpt_entries_bytes(&h));
	h.revision = GPT_REVISION;

	/* 1. Backup copy: the entries just below the last sector and the
	 * header after them, in one write, so that no interruption can leave
	 * a header that does not match its entries. */
	struct gpt_hdr b = h;
	b.my_lba = d->lbas - 1;
	b.alt_lba = 1;
	b.entries_lba = d->lbas - 1 - esec;
	uint8_t *copy = calloc(1, elen + d->ss);
	if (!copy) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, ents, elen);
	gpt_hdr_encode(&b, copy + elen, d->ss);
	rc = wr(d, b.entries_lba, copy, elen + d->ss, err);
	if (rc == 0)
		rc = flush(d, err);
	/* 2. Primary copy: header at LBA 1 and, when they follow it, the
	 * entries too, again in one write. */
	h.my_lba = 1;
	h.alt_lba = d->lbas - 1;
	if (rc == 0 && h.entries_lba == 2) {
		gpt_hdr_encode(&h, copy, d->ss);
		memcpy(copy + d->ss, ents, elen);
		rc = wr(d, 1, copy, elen + d->ss, err);
	} else if (rc == 0) {
		if ((rc = wr(d, h.entries_lba, ents, elen, err)) == 0) {
			gpt_hdr_encode(&h, sec, d->ss);
			rc = wr(d, 1, sec, d->ss, err);
		}
	}
	free(copy);
	if (rc < 0)
		goto out;

	/* 3. Protective MBR, keeping any boot code. */
	if (d->pmbr_bad || d->mbr.part[0].type != MBR_TYPE_GPT) {
		struct mbr m;
		uint8_t mb[MBR_SIZE];
		mbr_protective(&m, d->lbas);
		memset(sec, 0, d->ss);
		mbr_encode(&m, mb);
		memcpy(sec, mb, MBR_SIZE);
		if ((rc = wr(d, 0, sec, d->ss, err)) < 0)
			goto out;
		d->mbr = m;
		d->pmbr_bad = false;
	}
	if ((rc = flush(d, err)) < 0)
		goto out;
	d->hdr = h;
	d->prim_state = d->back_state = GPT_OK;
	d->prim_why[0] = d->back_why[0] = '\0';
	d->recovery = GPT_REC_NONE;
	d->copies_differ = false;
	rc = 0;
out:
	free(ents);
	free(sec);
	return rc;
}

static int commit_mbr(struct disk *d, struct gm_err *err)
{
	uint8_t *sec = calloc(1, d->ss);
	int rc;

	if (!sec)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	memset(d->mbr.part, 0, sizeof(d->mbr.part));
	for (size_t i = 0; i < d->nparts; i++) {
		struct part *p = &d->parts[i];
		struct mbr_part *m = &d->mbr.part[i];
		p->index = (uint32_t)i;
		m->status = p->mbr_status;
		m->type = p->mbr_type;
		m->lba_first = (uint32_t)p->first_lba;
		m->lba_count = (uint32_t)(p->last_lba - p->first_lba + 1);
		mbr_lba_to_chs(p->first_lba, m->chs_first);
		mbr_lba_to_chs(p->last_lba, m->chs_last);
	}
	if ((rc = blk_read(d->dev, 0, sec, d->ss)) < 0) {
		free(sec);
		return gm_fail(err, GM_E_IO, "cannot read disk %d", d->slot);
	}
	mbr_encode(&d->mbr, sec);
	rc = wr(d, 0, sec, d->ss, err);
	if (rc == 0)
		rc = flush(d, err);
	free(sec);
	return rc;
}

static int hook(struct disk *d, bool begin, struct gm_err *err)
{
	return d->table_hook ? d->table_hook(d->hook_ctx, d->slot, begin, err) : 0;
}

int disk_commit(struct disk *d, struct gm_err *err)
{
	int rc = disk_check_writable(d, err);

	if (rc < 0)
		return rc;
	if (d->style == DS_GPT) {
		if ((rc = hook(d, true, err)) < 0 || (rc = commit_gpt(d, err)) < 0 ||
		    (rc = hook(d, false, err)) < 0)
			return rc;
		return tell_kernel(d, err);
	}
	if (d->style == DS_MBR)
		return (rc = commit_mbr(d, err)) < 0 ? rc : tell_kernel(d, err);
	return 0;
}

/* --- operations --------------------------------------------------------- */

static const char *gpt_name_for(enum part_kind k)
{
	switch (k) {
	case PK_ESP:
		return "EFI system partition";
	case PK_MSR:
		return "Microsoft reserved partition";
	case PK_LDM_META:
		return "LDM metadata partition";
	case PK_LDM_DATA:
		return "LDM data partition";
	default:
		return "Basic data partition";
	}
}

static const struct guid *gpt_type_for(enum part_kind k)
{
	switch (k) {
	case PK_ESP:
		return &GPT_TYPE_ESP;
	case PK_MSR:
		return &GPT_TYPE_MSR;
	case PK_LDM_META:
		return &GPT_TYPE_LDM_METADATA;
	case PK_LDM_DATA:
		return &GPT_TYPE_LDM_DATA;
	default:
		return &GPT_TYPE_BASIC_DATA;
	}
}

uint32_t disk_free_slot(const struct disk *d)
{
	for (uint32_t idx = 0; idx < d->max_parts; idx++) {
		bool used = false;
		for (size_t i = 0; i < d->nparts && !used; i++)
			used = d->parts[i].index == idx;
		if (!used)
			return idx;
	}
	return d->max_parts;
}

void disk_renumber(struct disk *d)
{
	for (size_t i = 0; i < d->nparts; i++)
		d->parts[i].index = (uint32_t)i;
}

/* Adds p to the model at the end, in the first free entry slot (as
 * Windows fills the table); -1 if full. */
static int add_part(struct disk *d, const struct part *p, size_t *pos)
{
	uint32_t idx = disk_free_slot(d);

	if (d->nparts >= d->max_parts || idx >= d->max_parts)
		return -1;
	d->parts[d->nparts] = *p;
	d->parts[d->nparts].index = idx;
	*pos = d->nparts++;
	return 0;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Where create partition puts a partition of want sectors (0: fill the
 * region): *first and *last, and 1; 0 when there is no room. */
static int find_room(const struct disk *d, const struct create_req *req, uint64_t want,
		     uint64_t align, uint64_t *firstp, uint64_t *lastp, struct gm_err *err)
{
	struct extent ex[GPT_MAX_ENTRIES + 1];
	size_t nex = disk_free_extents(d, ex, GPT_MAX_ENTRIES + 1);
	uint64_t first = 0, last = 0;
	bool found = false;

	if (req->has_offset) {
		uint64_t bytes;
		if (mul_u64(req->offset_kb, 1024, &bytes) < 0)
			return gm_fail(err, GM_E_NO_SPACE, "offset too large");
		uint64_t start = req->at_lba ? req->at_lba : (bytes + d->ss - 1) / d->ss;
		for (size_t i = 0; i < nex; i++) {
			if (start < ex[i].first || start > ex[i].last)
				continue;
			uint64_t room = ex[i].last - start + 1;
			if (want && want > room)
				break;
			first = start;
			last = want ? start + want - 1 : ex[i].last;
			found = true;
			break;
		}
	} else {
		/* With a size: the first extent it fits in. Without: EFI and MSR
		 * take the first free region, primary the largest one. */
		uint64_t best = 0;
		for (size_t i = 0; i < nex; i++) {
			uint64_t s = round_up(ex[i].first, align);
			if (s > ex[i].last)
				continue;
			uint64_t room = ex[i].last - s + 1;
			if (want) {
				if (room >= want) {
					first = s;
					last = s + want - 1;
					found = true;
					break;
				}
			} else if (req->kind != PK_BASIC) {
				first = s;
				last = ex[i].last;
				found = true;
				break;
			} else if (room > best) {
				best = room;
				first = s;
				last = ex[i].last;
				found = true;
			}
		}
	}
	*firstp = first;
	*lastp = last;
	return found ? 1 : 0;
}

int disk_create_part(struct disk *d, struct rng *rng, enum profile prof,
		     const struct create_req *req, size_t *pos,
		     struct gm_err *err)
{
	uint64_t want = 0, first = 0, last = 0, align;
	bool found = false;
	struct part p;
	int rc;

	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	if (d->style == DS_RAW)
		return gm_fail(err, GM_E_NOT_INIT, "Disk %d has no partition "
			       "table; use convert gpt or convert mbr first.",
			       d->slot);
	if (d->style == DS_MBR && req->kind != PK_BASIC)
		return gm_fail(err, GM_E_NOT_GPT, "EFI and MSR partitions can "
			       "only be created on GPT disks.");
	if (d->nparts >= d->max_parts)
		return gm_fail(err, GM_E_TABLE_FULL, "The partition table of "
			       "disk %d is full.", d->slot);
	if (req->sectors) {
		want = req->sectors;
	} else if (req->size_mb) {
		if (mul_u64(req->size_mb, MIB, &want) < 0 ||
		    want / d->ss < 1)
			return gm_fail(err, GM_E_NO_SPACE, "size too large");
		want = (want + d->ss - 1) / d->ss;
	}
	/* 1 MiB alignment for the modern profile; the 2003 profile (and an
	 * explicit offset) takes the first free sector, as Server 2003 did. */
	align = (prof == PROFILE_MODERN && !req->has_offset) ? MIB / d->ss : 1;
	if (d->style == DS_MBR && prof == PROFILE_2003 && !req->has_offset)
		align = 63; /* cylinder alignment on 2003 MBR disks */
	if ((rc = find_room(d, req, want, align, &first, &last, err)) < 0)
		return rc;
	found = rc == 1;
	if (!found)
		return gm_fail(err, GM_E_NO_SPACE, NULL);
	if (!want) {
		/* A partition that fills a region gets a whole number of MiB,
		 * as Windows leaves the odd tail of a disk unallocated. */
		uint64_t unit = MIB / d->ss, n = (last - first + 1) / unit;
		if (n == 0)
			return gm_fail(err, GM_E_NO_SPACE, NULL);
		last = first + n * unit - 1;
	}

	memset(&p, 0, sizeof(p));
	p.first_lba = first;
	p.last_lba = last;
	p.kind = req->kind;
	if (d->style == DS_GPT) {
		p.ent.type = req->has_type ? req->type : *gpt_type_for(req->kind);
		p.kind = part_kind_of_type(&p.ent.type);
		rng_guid(rng, &p.ent.uniq);
		gpt_ent_set_name(&p.ent, gpt_name_for(p.kind));
	} else {
		p.kind = PK_MBR_PRIMARY;
		p.mbr_type = req->has_type ? req->mbr_type : MBR_TYPE_NTFS;
	}
	if (add_part(d, &p, pos) < 0)
		return gm_fail(err, GM_E_TABLE_FULL, NULL);
	rc = disk_commit(d, err);
	if (rc < 0) {
		d->nparts--;
		return rc;
	}
	return 0;
}

int disk_delete_part(struct disk *d, size_t pos, bool override,
		     struct gm_err *err)
{
	int rc;

	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	if (pos >= d->nparts)
		return gm_fail(err, GM_E_NO_PART, NULL);
	enum part_kind k = d->parts[pos].kind;
	bool prot = !(k == PK_BASIC || k == PK_MBR_PRIMARY);
	if (prot && !override)
		return gm_fail(err, GM_E_PROTECTED, NULL);
	struct part saved = d->parts[pos];
	memmove(&d->parts[pos], &d->parts[pos + 1],
		(d->nparts - pos - 1) * sizeof(*d->parts));
	d->nparts--;
	rc = disk_commit(d, err);
	if (rc < 0) {
		memmove(&d->parts[pos + 1], &d->parts[pos],
			(d->nparts - pos) * sizeof(*d->parts));
		d->parts[pos] = saved;
		d->nparts++;
	}
	return rc;
}

static bool only_msr(const struct disk *d)
{
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i].kind != PK_MSR)
			return false;
	return true;
}

int disk_convert_gpt(struct disk *d, struct rng *rng, enum profile prof,
		     struct gm_err *err)
{
	struct part msr;
	uint64_t esec = GPT_NUM_ENTRIES * GPT_ENT_SIZE / d->ss;
	size_t pos;
	int rc;

	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	if (d->style == DS_GPT)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d is already a GPT disk.", d->slot);
	if (d->style == DS_MBR && d->nparts > 0)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d has partitions; delete them or run clean "
			       "first.", d->slot);
	if (d->style == DS_RAW && d->raw_has_data)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d is not empty: %s. Run clean first if its "
			       "contents can go.", d->slot, d->why);
	if (disk_bytes(d) < GPT_MIN_DISK)
		return gm_fail(err, GM_E_TOO_SMALL, "Disk %d is smaller than "
			       "128 MB.", d->slot);

	free(d->parts);
	d->parts = calloc(GPT_NUM_ENTRIES, sizeof(*d->parts));
	if (!d->parts)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	d->nparts = 0;
	d->max_parts = GPT_NUM_ENTRIES;
	memset(&d->hdr, 0, sizeof(d->hdr));
	d->hdr.revision = GPT_REVISION;
	d->hdr.hdr_size = GPT_HDR_SIZE;
	d->hdr.my_lba = 1;
	d->hdr.alt_lba = d->lbas - 1;
	d->hdr.first_usable = 2 + esec;
	d->hdr.last_usable = d->lbas - 2 - esec;
	d->hdr.entries_lba = 2;
	d->hdr.num_entries = GPT_NUM_ENTRIES;
	d->hdr.entry_size = GPT_ENT_SIZE;
	rng_guid(rng, &d->hdr.disk_guid);
	d->style = DS_GPT;
	d->pmbr_bad = true;

	/* Windows creates the MSR at once: 32 MB (< 16 GB) or 128 MB on
	 * Server 2003; current Windows ends it at the 16 MiB boundary. */
	memset(&msr, 0, sizeof(msr));
	msr.kind = PK_MSR;
	msr.first_lba = d->hdr.first_usable;
	if (prof == PROFILE_2003) {
		uint64_t mb = disk_bytes(d) < 16ull * 1024 * MIB ? 32 : 128;
		msr.last_lba = msr.first_lba + mb * MIB / d->ss - 1;
	} else {
		msr.last_lba = 16 * MIB / d->ss - 1;
	}
	msr.ent.type = GPT_TYPE_MSR;
	rng_guid(rng, &msr.ent.uniq);
	gpt_ent_set_name(&msr.ent, gpt_name_for(PK_MSR));
	add_part(d, &msr, &pos);
	rc = disk_commit(d, err);
	if (rc < 0)
		disk_reload(d, NULL);
	return rc;
}

int disk_convert_mbr(struct disk *d, struct rng *rng, struct gm_err *err)
{
	uint8_t *zero = NULL;
	uint64_t esec;
	int rc;

	if ((rc = disk_check_writable(d, err)) < 0)
		return rc;
	if (d->style == DS_MBR)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d is already an MBR disk.", d->slot);
	if (d->style == DS_RAW && d->raw_has_data)
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d is not empty: %s.", d->slot, d->why);
	if (d->style == DS_GPT && !only_msr(d))
		return gm_fail(err, GM_E_NOT_CONVERTIBLE,
			       "Disk %d has partitions; delete them or run clean "
			       "first.", d->slot);

	/* New MBR first: from then on the disk reads as MBR even if the GPT
	 * copies below are not yet wiped. */
	memset(&d->mbr, 0, sizeof(d->mbr));
	d->mbr.disk_sig = rng_u32(rng);
	if (d->mbr.disk_sig == 0)
		d->mbr.disk_sig = 1;
	bool was_gpt = d->style == DS_GPT;
	esec = d->hdr.num_entries ? gpt_entries_sectors(&d->hdr, d->ss) : 0;
	d->style = DS_MBR;
	d->nparts = 0;
	free(d->parts);
	d->parts = calloc(4, sizeof(*d->parts));
	d->max_parts = 4;
	if (!d->parts)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if ((rc = commit_mbr(d, err)) < 0)
		goto fail;
	if (was_gpt) {
		zero = calloc(esec + 1, d->ss);
		if (!zero) {
			rc = gm_fail(err, GM_E_NOMEM, "out of memory");
			goto fail;
		}
		if ((rc = wr(d, d->lbas - 1 - esec, zero, (esec + 1) * d->ss,
			     err)) < 0 ||
		    (rc = wr(d, 1, zero, (esec + 1) * d->ss, err)) < 0 ||
		    (rc = flush(d, err)) < 0)
			goto fail;
	}
	free(zero);
	return 0;
fail:
	free(zero);
	disk_reload(d, NULL);
	return rc;
}

int disk_clean(struct disk *d, struct gm_err *err)
{
	uint64_t span = MIB, bytes = disk_bytes(d);
	uint8_t *zero;
	int rc;

	/* clean is how an admin recovers a disk whose tables are both
	 * damaged, so it is allowed on an unreadable disk, not on an invalid
	 * image. */
	if (d->style == DS_INVALID)
		return gm_fail(err, GM_E_UNREADABLE,
			       "Disk %d is not usable: %s.", d->slot, d->why);
	if (!d->dev->writable && d->ro_why[0])
		return gm_fail(err, GM_E_IO, "Disk %d is not written: %s. Nothing was written.",
			       d->slot, d->ro_why);
	if (!d->dev->writable)
		return gm_fail(err, GM_E_IO, "Disk %d is read-only.", d->slot);
	if (span > bytes / 2)
		span = bytes / 2 / d->ss * d->ss;
	zero = calloc(1, span);
	if (!zero)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if ((rc = hook(d, true, err)) < 0) {
		free(zero);
		return rc;
	}
	/* Backup area first, then the primary one. */
	rc = blk_write(d->dev, bytes - span, zero, span);
	if (rc == 0)
		rc = blk_flush(d->dev);
	if (rc == 0)
		rc = blk_write(d->dev, 0, zero, span);
	if (rc == 0)
		rc = blk_flush(d->dev);
	free(zero);
	disk_reload(d, NULL);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "clean of disk %d failed: %s",
			       d->slot, strerror(-rc));
	if ((rc = hook(d, false, err)) < 0)
		return rc;
	return tell_kernel(d, err);
}
