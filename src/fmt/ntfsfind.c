/*
 * ntfsfind.c - a path looked up on NTFS by reads alone (see ntfsfind.h).
 */
#include "ntfsfind.h"

#include "bytes.h"

#define AT_DATA 0x80u
#define AT_INDEX_ROOT 0x90u
#define AT_INDEX_ALLOCATION 0xa0u
#define AT_END 0xffffffffu
#define MFT_ROOT 5u
#define REC_IN_USE 0x01u
#define REC_IS_DIR 0x02u
#define IE_SUBNODE 0x01u
#define IE_LAST 0x02u

static int bad(struct ntfs_find *f, const char *why)
{
	f->why = why;
	return -1;
}

static int same4(const uint8_t *p, const char *s)
{
	return p[0] == (uint8_t)s[0] && p[1] == (uint8_t)s[1] && p[2] == (uint8_t)s[2] &&
	       p[3] == (uint8_t)s[3];
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Checks a multi-sector record's magic and undoes its update sequence:
 * the last two bytes of each 512-byte stride hold the sequence number,
 * the real bytes are in the update array. */
static int fixup(uint8_t *b, uint32_t size, const char *magic)
{
	if (!same4(b, magic))
		return -1;
	uint32_t uo = get_le16(b + 4), un = get_le16(b + 6);
	if (un != size / 512 + 1 || uo < 8 || uo + 2 * un > size || uo + 2 * un > 512)
		return -1;
	uint16_t usn = get_le16(b + uo);
	for (uint32_t i = 1; i < un; i++) {
		uint8_t *end = b + i * 512 - 2;
		if (get_le16(end) != usn)
			return -1;
		end[0] = b[uo + 2 * i];
		end[1] = b[uo + 2 * i + 1];
	}
	return 0;
}

/* The run list of the non-resident attribute a (alen bytes). */
static int runs_decode(const uint8_t *a, uint32_t alen, struct ntfs_find_run *out, size_t *n)
{
	if (alen < 0x40 || a[8] != 1)
		return -1;
	uint32_t ro = get_le16(a + 0x20);
	uint64_t vcn = get_le64(a + 0x10), lcn = 0;
	if (ro >= alen || vcn >> 48)
		return -1;
	const uint8_t *p = a + ro, *end = a + alen;
	*n = 0;
	while (p < end && *p) {
		unsigned ls = *p & 15u, os = *p >> 4;
		if (ls == 0 || ls > 8 || os > 8 || (size_t)(end - p) < 1 + ls + os)
			return -1;
		uint64_t len = 0, off = 0;
		for (unsigned i = 0; i < ls; i++)
			len |= (uint64_t)p[1 + i] << (8 * i);
		for (unsigned i = 0; i < os; i++)
			off |= (uint64_t)p[1 + ls + i] << (8 * i);
		if (os && os < 8 && (p[ls + os] & 0x80))
			off |= ~(uint64_t)0 << (8 * os);
		if (*n == NTFS_FIND_RUNS || len == 0 || len >> 48 || (vcn + len) >> 48)
			return -1;
		out[*n].vcn = vcn;
		out[*n].len = len;
		if (os) {
			lcn += off;
			if (lcn >> 48)
				return -1;
			out[*n].lcn = lcn;
		} else {
			out[*n].lcn = NTFS_FIND_SPARSE;
		}
		(*n)++;
		vcn += len;
		p += 1 + ls + os;
	}
	return 0;
}

/* Reads len bytes at byte offset pos of an attribute's stream, through
 * its runs. */
static int read_runs(struct ntfs_find *f, const struct ntfs_find_run *r, size_t n, uint64_t pos,
		     uint8_t *buf, uint32_t len)
{
	while (len) {
		uint64_t vcn = pos / f->cluster;
		size_t i = 0;
		while (i < n && !(vcn >= r[i].vcn && vcn - r[i].vcn < r[i].len))
			i++;
		if (i == n || r[i].lcn == NTFS_FIND_SPARSE)
			return bad(f, "an index or MFT block lies outside its runs");
		uint64_t left = r[i].vcn + r[i].len - vcn, here = r[i].lcn + (vcn - r[i].vcn);
		uint64_t avail = left > 4096 ? UINT64_MAX : left * f->cluster - pos % f->cluster;
		uint32_t piece = avail < len ? (uint32_t)avail : len;
		if (here >= f->vol_bytes / f->cluster)
			return bad(f, "a run lies outside the volume");
		uint64_t disk = here * f->cluster + pos % f->cluster;
		if (f->vol_bytes - disk < piece)
			return bad(f, "a run lies outside the volume");
		if (f->read(f->ctx, disk, buf, piece) != 0)
			return bad(f, "a read failed");
		pos += piece;
		buf += piece;
		len -= piece;
	}
	return 0;
}

/* MFT record num into f->rec; it must be in use. */
static int read_record(struct ntfs_find *f, uint64_t num)
{
	int rc;

	if (num >> 32)
		return bad(f, "an MFT reference is out of range");
	if (f->nmft == 0) {
		uint64_t disk = f->mft_lcn * f->cluster;
		rc = f->read(f->ctx, disk, f->rec, f->rec_size) != 0 ? bad(f, "a read failed") : 0;
	} else {
		rc = read_runs(f, f->mft, f->nmft, num * f->rec_size, f->rec, f->rec_size);
	}
	if (rc < 0)
		return rc;
	if (fixup(f->rec, f->rec_size, "FILE") < 0)
		return bad(f, "an MFT record is damaged");
	uint32_t first = get_le16(f->rec + 0x14), used = get_le32(f->rec + 0x18);
	if (used > f->rec_size || first < 0x2a || first + 8 > used)
		return bad(f, "an MFT record is damaged");
	return (get_le16(f->rec + 0x16) & REC_IN_USE) ? 0 : 1;
}

/* The attribute of type t in f->rec with no name (i30 0) or named $I30;
 * NULL when there is none; *damaged when the list is broken. */
static const uint8_t *find_attr(struct ntfs_find *f, uint32_t t, int i30, uint32_t *alen,
				int *damaged)
{
	static const uint8_t name[8] = {'$', 0, 'I', 0, '3', 0, '0', 0};
	uint32_t used = get_le32(f->rec + 0x18), o = get_le16(f->rec + 0x14);

	*damaged = 0;
	while (o + 8 <= used) {
		const uint8_t *a = f->rec + o;
		uint32_t type = get_le32(a), l = get_le32(a + 4);
		if (type == AT_END)
			return NULL;
		if (l < 0x18 || l > used - o || (l & 7)) {
			*damaged = 1;
			return NULL;
		}
		uint32_t nl = a[9], no = get_le16(a + 10);
		if (type == t && no + 2 * nl <= l) {
			int ok = i30 ? nl == 4 : nl == 0;
			for (uint32_t i = 0; ok && i30 && i < 8; i++)
				ok = a[no + i] == name[i];
			if (ok) {
				*alen = l;
				return a;
			}
		}
		o += l;
	}
	*damaged = 1;
	return NULL;
}

static uint16_t up(uint16_t c)
{
	return c >= 'a' && c <= 'z' ? (uint16_t)(c - 32) : c;
}

/* NTFS's file-name order (upper-cased, then shorter first) of the ASCII
 * name s[0..sl) against the UTF-16 key name k[0..kl). */
static int name_cmp(const char *s, size_t sl, const uint8_t *k, size_t kl)
{
	for (size_t i = 0; i < sl && i < kl; i++) {
		uint16_t a = up((uint8_t)s[i]), b = up(get_le16(k + 2 * i));
		if (a != b)
			return a < b ? -1 : 1;
	}
	return sl < kl ? -1 : sl > kl ? 1 : 0;
}

/* One index node: its header h (hlen bytes to the node's end). 1: found
 * (*ref); 0: not there; 2: go down to *vcn; -1 damaged. */
static int node_search(const uint8_t *h, uint32_t hlen, const char *s, size_t sl, uint64_t *ref,
		       uint64_t *vcn)
{
	if (hlen < 16)
		return -1;
	uint32_t eo = get_le32(h), es = get_le32(h + 4);
	if (eo < 16 || es > hlen || eo >= es)
		return -1;
	for (uint32_t o = eo; o + 16 <= es;) {
		const uint8_t *e = h + o;
		uint32_t el = get_le16(e + 8), kl = get_le16(e + 10), fl = get_le16(e + 12);
		if (el < 16 || el > es - o || (el & 7))
			return -1;
		if (!(fl & IE_LAST)) {
			if (kl < 0x42 || 16 + kl > el)
				return -1;
			const uint8_t *k = e + 16;
			uint32_t nl = k[0x40];
			if (0x42 + 2 * nl > kl)
				return -1;
			int c = name_cmp(s, sl, k + 0x42, nl);
			if (c == 0) {
				*ref = get_le64(e) & 0xffffffffffffULL;
				return 1;
			}
			if (c > 0) {
				o += el;
				continue;
			}
		}
		if (!(fl & IE_SUBNODE))
			return 0;
		if (el < 24)
			return -1;
		*vcn = get_le64(e + el - 8);
		return 2;
	}
	return -1;
}

/* Name s[0..sl) in the directory whose record is in f->rec. 1: *ref;
 * 0: not there; -1 damaged. */
static int dir_lookup(struct ntfs_find *f, const char *s, size_t sl, uint64_t *ref)
{
	uint32_t rl, al;
	int damaged;
	const uint8_t *ra = find_attr(f, AT_INDEX_ROOT, 1, &rl, &damaged);

	if (!ra || ra[8] != 0)
		return bad(f, "a directory has no index root");
	uint32_t vo = get_le16(ra + 0x14), vl = get_le32(ra + 0x10);
	if (vo > rl || vl > rl - vo || vl < 32)
		return bad(f, "a directory's index root is damaged");
	const uint8_t *root = ra + vo;
	uint32_t bsize = get_le32(root + 8);
	const uint8_t *aa = find_attr(f, AT_INDEX_ALLOCATION, 1, &al, &damaged);
	f->nidx = 0;
	if (aa && runs_decode(aa, al, f->idx, &f->nidx) < 0)
		return bad(f, "a directory's index allocation is damaged");
	uint64_t vcn_bytes = f->cluster <= bsize ? f->cluster : 512;
	const uint8_t *h = root + 16;
	uint32_t hlen = vl - 16;
	for (int depth = 0; depth < 32; depth++) {
		uint64_t vcn = 0;
		int rc = node_search(h, hlen, s, sl, ref, &vcn);
		if (rc < 0)
			return bad(f, "a directory index entry is damaged");
		if (rc < 2)
			return rc;
		if (!aa || bsize < 512 || bsize > NTFS_FIND_IDX_MAX || !is_pow2(bsize) || vcn >> 40)
			return bad(f, "a directory index points at a block it does not have");
		if (read_runs(f, f->idx, f->nidx, vcn * vcn_bytes, f->blk, bsize) < 0)
			return -1;
		if (fixup(f->blk, bsize, "INDX") < 0 || get_le64(f->blk + 0x10) != vcn)
			return bad(f, "a directory index block is damaged");
		h = f->blk + 0x18;
		hlen = bsize - 0x18;
	}
	return bad(f, "a directory index is too deep");
}

int ntfs_find_open(struct ntfs_find *f, ntfs_read_fn read, void *ctx, uint64_t vol_bytes)
{
	uint8_t *b = f->blk;

	f->read = read;
	f->ctx = ctx;
	f->vol_bytes = vol_bytes;
	f->nmft = f->nidx = 0;
	f->why = "";
	if (vol_bytes < 512 || read(ctx, 0, b, 512) != 0)
		return bad(f, "the boot sector cannot be read");
	if (!same4(b + 3, "NTFS") || !same4(b + 7, "    ") || get_le16(b + 510) != 0xaa55)
		return bad(f, "not an NTFS volume");
	uint32_t sector = get_le16(b + 0x0b), spc = b[0x0d];
	if (sector < 256 || sector > 4096 || !is_pow2(sector))
		return bad(f, "the boot sector's sector size is damaged");
	if (spc > 0x80) {
		if (256 - spc > 12)
			return bad(f, "the boot sector's cluster size is damaged");
		spc = 1u << (256 - spc);
	}
	if (!is_pow2(spc) || (uint64_t)sector * spc > (1u << 21))
		return bad(f, "the boot sector's cluster size is damaged");
	f->cluster = sector * spc;
	int8_t c = (int8_t)b[0x40];
	uint64_t rs = c > 0 ? (uint64_t)c * f->cluster : c < 0 && c > -32 ? 1ull << -c : 0;
	if (rs < 512 || rs > NTFS_FIND_REC_MAX || !is_pow2(rs))
		return bad(f, "the boot sector's MFT record size is damaged");
	f->rec_size = (uint32_t)rs;
	f->mft_lcn = get_le64(b + 0x30);
	if (f->mft_lcn >= vol_bytes / f->cluster ||
	    vol_bytes - f->mft_lcn * f->cluster < f->rec_size)
		return bad(f, "the boot sector's MFT position is outside the volume");
	if (read_record(f, 0) != 0)
		return bad(f, "the MFT's own record is damaged");
	uint32_t al;
	int damaged;
	const uint8_t *a = find_attr(f, AT_DATA, 0, &al, &damaged);
	size_t n = 0;
	if (!a || runs_decode(a, al, f->mft, &n) < 0 || n == 0 || f->mft[0].vcn != 0)
		return bad(f, "the MFT's run list is damaged");
	f->nmft = n;
	return 0;
}

int ntfs_find_path(struct ntfs_find *f, const char *path)
{
	uint64_t cur = MFT_ROOT;
	int rc;

	if ((rc = read_record(f, cur)) != 0)
		return rc < 0 ? rc : bad(f, "the root directory's record is not in use");
	if (!(get_le16(f->rec + 0x16) & REC_IS_DIR))
		return bad(f, "the root directory's record is not a directory");
	while (*path == '\\')
		path++;
	while (*path) {
		size_t l = 0;
		while (path[l] && path[l] != '\\')
			l++;
		if (!(get_le16(f->rec + 0x16) & REC_IS_DIR))
			return NTFS_FIND_NONE;
		uint64_t ref = 0;
		if ((rc = dir_lookup(f, path, l, &ref)) <= 0)
			return rc;
		if ((rc = read_record(f, ref)) != 0)
			return rc < 0 ? rc : NTFS_FIND_NONE;
		path += l;
		while (*path == '\\')
			path++;
	}
	return (get_le16(f->rec + 0x16) & REC_IS_DIR) ? NTFS_FIND_DIR : NTFS_FIND_FILE;
}
