/*
 * efi.c - EFI_LOAD_OPTION and device paths (UEFI 2.10 sections 3.1.3,
 * 10.3.5.1 Hard Drive, 10.3.5.4 File Path), Windows' WINDOWS_OS_OPTIONS,
 * and the edk2 authenticated variable store as OVMF keeps it (firmware
 * volume header, VARIABLE_STORE_HEADER, AUTHENTICATED_VARIABLE_HEADER,
 * the fault-tolerant-write working block).
 */
#include "efi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "crc32.h"
#include "utf16.h"

#define G(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                            \
	{{(uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16),            \
	  (uint8_t)((uint32_t)(a) >> 24), (uint8_t)(b), (uint8_t)((b) >> 8),  \
	  (uint8_t)(c), (uint8_t)((c) >> 8), d0, d1, d2, d3, d4, d5, d6, d7}}

const struct guid EFI_GLOBAL_GUID =
	G(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c);
static const struct guid NV_DATA_FV =
	G(0xfff12b8d, 0x7696, 0x4c8b, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50);
static const struct guid AUTH_VAR_STORE =
	G(0xaaf32c78, 0x947b, 0x439a, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92);
static const struct guid PLAIN_VAR_STORE =
	G(0xddcf3616, 0x3275, 0x4164, 0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d);
static const struct guid FTW_WORKING =
	G(0x9e58292b, 0x7c68, 0x497d, 0xa0, 0xce, 0x65, 0x00, 0xfd, 0x9f, 0x1b, 0x95);

/* --- device paths ------------------------------------------------------- */

#define DP_MEDIA 0x04
#define DP_HD 0x01
#define DP_FILE 0x04
#define DP_END 0x7f
#define DP_END_ALL 0xff
#define HD_LEN 42

int efi_dp_add_hd(uint8_t *b, size_t len, size_t cap, const struct efi_hd *hd)
{
	if (len + HD_LEN > cap)
		return -1;
	uint8_t *p = b + len;
	p[0] = DP_MEDIA;
	p[1] = DP_HD;
	put_le16(p + 2, HD_LEN);
	put_le32(p + 4, hd->part_num);
	put_le64(p + 8, hd->start);
	put_le64(p + 16, hd->size);
	memcpy(p + 24, hd->sig.b, 16);
	p[40] = hd->mbr_type;
	p[41] = hd->sig_type;
	return (int)(len + HD_LEN);
}

int efi_dp_add_file(uint8_t *b, size_t len, size_t cap, const char *path)
{
	uint8_t u[2 * 512];
	int n = utf8_to_utf16le(path, u, 511);

	if (n < 0)
		return -1;
	size_t node = 4 + 2 * ((size_t)n + 1);
	if (len + node > cap || node > 0xffff)
		return -1;
	uint8_t *p = b + len;
	p[0] = DP_MEDIA;
	p[1] = DP_FILE;
	put_le16(p + 2, (uint16_t)node);
	memcpy(p + 4, u, 2 * (size_t)n);
	put_le16(p + 4 + 2 * n, 0);
	return (int)(len + node);
}

int efi_dp_add_end(uint8_t *b, size_t len, size_t cap)
{
	if (len + 4 > cap)
		return -1;
	b[len] = DP_END;
	b[len + 1] = DP_END_ALL;
	put_le16(b + len + 2, 4);
	return (int)(len + 4);
}

bool efi_dp_valid(const uint8_t *dp, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint16_t nl = get_le16(dp + off + 2);
		if (nl < 4 || nl > len - off)
			return false;
		if (dp[off] == DP_END && dp[off + 1] == DP_END_ALL)
			return nl == 4 && off + 4 == len;
		off += nl;
	}
	return false;
}

/* Calls back for each node until End; false if the list is malformed. */
static const uint8_t *next_node(const uint8_t *dp, size_t len, size_t *off)
{
	if (*off + 4 > len)
		return NULL;
	const uint8_t *p = dp + *off;
	uint16_t nl = get_le16(p + 2);
	if (nl < 4 || nl > len - *off || (p[0] == DP_END && p[1] == DP_END_ALL))
		return NULL;
	*off += nl;
	return p;
}

bool efi_dp_get_hd(const uint8_t *dp, size_t len, struct efi_hd *hd)
{
	size_t off = 0;
	const uint8_t *p;

	while ((p = next_node(dp, len, &off))) {
		if (p[0] == DP_MEDIA && p[1] == DP_HD && get_le16(p + 2) == HD_LEN) {
			hd->part_num = get_le32(p + 4);
			hd->start = get_le64(p + 8);
			hd->size = get_le64(p + 16);
			memcpy(hd->sig.b, p + 24, 16);
			hd->mbr_type = p[40];
			hd->sig_type = p[41];
			return true;
		}
	}
	return false;
}

bool efi_dp_set_hd(uint8_t *dp, size_t len, const struct efi_hd *hd)
{
	size_t off = 0;
	const uint8_t *p;

	while ((p = next_node(dp, len, &off))) {
		if (p[0] == DP_MEDIA && p[1] == DP_HD && get_le16(p + 2) == HD_LEN) {
			uint8_t tmp[HD_LEN];
			efi_dp_add_hd(tmp, 0, sizeof(tmp), hd);
			memcpy(dp + (p - dp), tmp, HD_LEN);
			return true;
		}
	}
	return false;
}

bool efi_dp_get_file(const uint8_t *dp, size_t len, char *out, size_t cap)
{
	size_t off = 0;
	const uint8_t *p;

	while ((p = next_node(dp, len, &off))) {
		if (p[0] == DP_MEDIA && p[1] == DP_FILE) {
			size_t units = (get_le16(p + 2) - 4u) / 2;
			return utf16le_to_utf8(p + 4, units, out, cap) >= 0;
		}
	}
	return false;
}

void efi_dp_to_text(const uint8_t *dp, size_t len, char *out, size_t cap)
{
	size_t off = 0, o = 0;
	const uint8_t *p;

	out[0] = '\0';
	while ((p = next_node(dp, len, &off)) && o + 1 < cap) {
		char node[1200];
		uint16_t nl = get_le16(p + 2);
		if (p[0] == DP_MEDIA && p[1] == DP_HD && nl == HD_LEN) {
			struct efi_hd hd;
			char g[GUID_STR_LEN + 1];
			efi_dp_get_hd(p, nl, &hd);
			if (hd.sig_type == 2) {
				guid_to_str(&hd.sig, g);
				snprintf(node, sizeof(node), "HD(%u,GPT,%s,0x%llx,0x%llx)",
					 (unsigned)hd.part_num, g, (unsigned long long)hd.start,
					 (unsigned long long)hd.size);
			} else {
				snprintf(node, sizeof(node), "HD(%u,MBR,0x%08x,0x%llx,0x%llx)",
					 (unsigned)hd.part_num, (unsigned)get_le32(p + 24),
					 (unsigned long long)hd.start, (unsigned long long)hd.size);
			}
		} else if (p[0] == DP_MEDIA && p[1] == 3 && nl >= 20) {
			/* A media vendor node, as efibootmgr prints it. */
			struct guid v;
			char g[GUID_STR_LEN + 1];
			memcpy(v.b, p + 4, 16);
			guid_to_str(&v, g);
			snprintf(node, sizeof(node), "VenMedia(%s)", g);
		} else if (p[0] == DP_MEDIA && p[1] == DP_FILE) {
			char f[1024];
			if (utf16le_to_utf8(p + 4, (nl - 4u) / 2, f, sizeof(f)) < 0)
				f[0] = '\0';
			snprintf(node, sizeof(node), "File(%s)", f);
		} else {
			int k = snprintf(node, sizeof(node), "Path(%u,%u,", p[0], p[1]);
			for (size_t i = 4; i < nl && k + 3 < (int)sizeof(node) - 1; i++)
				k += snprintf(node + k, sizeof(node) - (size_t)k, "%02x", p[i]);
			snprintf(node + k, sizeof(node) - (size_t)k, ")");
		}
		int w = snprintf(out + o, cap - o, "%s%s", o ? "/" : "", node);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}

/* --- load options ------------------------------------------------------- */

int efi_loadopt_decode(const uint8_t *b, size_t len, struct efi_loadopt *lo)
{
	size_t i;

	memset(lo, 0, sizeof(*lo));
	if (len < 6 + 2)
		return -1;
	lo->attrs = get_le32(b);
	size_t fpll = get_le16(b + 4);
	for (i = 6; i + 1 < len; i += 2)
		if (get_le16(b + i) == 0)
			break;
	if (i + 1 >= len)
		return -1; /* no NUL */
	if (utf16le_to_utf8(b + 6, (i - 6) / 2, lo->desc, sizeof(lo->desc)) < 0)
		return -1;
	size_t dp = i + 2;
	if (fpll > len - dp || !efi_dp_valid(b + dp, fpll))
		return -1;
	lo->dp = b + dp;
	lo->dp_len = fpll;
	lo->opt = b + dp + fpll;
	lo->opt_len = len - dp - fpll;
	return 0;
}

int efi_loadopt_encode(const struct efi_loadopt *lo, uint8_t *b, size_t cap)
{
	uint8_t u[2 * 512];
	int n = utf8_to_utf16le(lo->desc, u, 511);

	if (n < 0 || lo->dp_len > 0xffff)
		return -1;
	size_t need = 6 + 2 * ((size_t)n + 1) + lo->dp_len + lo->opt_len;
	if (need > cap)
		return -1;
	put_le32(b, lo->attrs);
	put_le16(b + 4, (uint16_t)lo->dp_len);
	memcpy(b + 6, u, 2 * (size_t)n);
	put_le16(b + 6 + 2 * n, 0);
	size_t o = 6 + 2 * ((size_t)n + 1);
	memcpy(b + o, lo->dp, lo->dp_len);
	if (lo->opt_len)
		memcpy(b + o + lo->dp_len, lo->opt, lo->opt_len);
	return (int)need;
}

/* --- Windows OS options ------------------------------------------------- */

#define WIN_SIG "WINDOWS"

bool efi_winopts_is(const uint8_t *opt, size_t len)
{
	return len >= 20 && memcmp(opt, WIN_SIG, 8) == 0;
}

int efi_winopts_decode(const uint8_t *o, size_t len, struct efi_winopts *w)
{
	memset(w, 0, sizeof(*w));
	if (!efi_winopts_is(o, len))
		return -1;
	uint32_t total = get_le32(o + 12), pathoff = get_le32(o + 16);
	if (total > len || total < 20 || pathoff > total || pathoff < 20)
		return -1;
	size_t units = (pathoff - 20) / 2, i;
	for (i = 0; i < units; i++)
		if (get_le16(o + 20 + 2 * i) == 0)
			break;
	if (utf16le_to_utf8(o + 20, i, w->load_options, sizeof(w->load_options)) < 0)
		return -1;
	if (total - pathoff >= 12) {
		const uint8_t *fp = o + pathoff;
		uint32_t flen = get_le32(fp + 4), type = get_le32(fp + 8);
		if (flen < 12 || flen > total - pathoff)
			return -1;
		if (type == 4 && efi_dp_valid(fp + 12, flen - 12)) {
			w->os_dp = fp + 12;
			w->os_dp_len = flen - 12;
		}
	}
	return 0;
}

int efi_winopts_encode(const char *opts, const uint8_t *dp, size_t dplen,
		       uint8_t *b, size_t cap)
{
	uint8_t u[2 * 256];
	int n = utf8_to_utf16le(opts ? opts : "", u, 255);

	if (n < 0)
		return -1;
	size_t pathoff = (20 + 2 * ((size_t)n + 1) + 3) / 4 * 4;
	size_t total = pathoff + 12 + dplen;
	if (total > cap)
		return -1;
	memset(b, 0, total);
	memcpy(b, WIN_SIG, 8);
	put_le32(b + 8, 1);
	put_le32(b + 12, (uint32_t)total);
	put_le32(b + 16, (uint32_t)pathoff);
	memcpy(b + 20, u, 2 * (size_t)n);
	put_le32(b + pathoff, 1);
	put_le32(b + pathoff + 4, (uint32_t)(12 + dplen));
	put_le32(b + pathoff + 8, 4);
	memcpy(b + pathoff + 12, dp, dplen);
	return (int)total;
}

/* --- the variable store -------------------------------------------------- */

#define FV_HDR 0x48
#define VS_HDR 0x1c
#define VAR_HDR 0x3c
#define START_ID 0x55aa
#define ST_ADDED 0x3f
#define ST_IN_DELETE 0x3e
#define ST_DELETED_MASK 0xfd
#define ST_TRANSITION_MASK 0xfe

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

static int fv_checksum_ok(const uint8_t *b)
{
	uint16_t sum = 0;

	for (int i = 0; i < FV_HDR; i += 2)
		sum = (uint16_t)(sum + get_le16(b + i));
	return sum == 0;
}

int efi_vs_open(uint8_t *b, size_t len, struct efi_vs *vs, const char **why)
{
	struct guid g;

	memset(vs, 0, sizeof(*vs));
	if (len < 0x2000 || len % 0x1000) {
		*why = "its size is not that of an OVMF variable store";
		return -1;
	}
	memcpy(g.b, b + 0x10, 16);
	if (memcmp(b + 0x28, "_FVH", 4) != 0 || !guid_eq(&g, &NV_DATA_FV)) {
		*why = "it is not a firmware volume of non-volatile data";
		return -1;
	}
	if (get_le64(b + 0x20) != len || get_le16(b + 0x30) != FV_HDR ||
	    !fv_checksum_ok(b)) {
		*why = "its firmware-volume header is damaged";
		return -1;
	}
	memcpy(g.b, b + FV_HDR, 16);
	if (guid_eq(&g, &PLAIN_VAR_STORE)) {
		*why = "it uses the non-authenticated variable format, which "
		       "gptmirror does not write";
		return -1;
	}
	if (!guid_eq(&g, &AUTH_VAR_STORE)) {
		*why = "its variable store header is not one gptmirror knows";
		return -1;
	}
	uint32_t size = get_le32(b + FV_HDR + 16);
	if (b[FV_HDR + 20] != 0x5a || b[FV_HDR + 21] != 0xfe || size < VS_HDR ||
	    FV_HDR + (size_t)size > len) {
		*why = "its variable store header is damaged or not healthy";
		return -1;
	}
	vs->buf = b;
	vs->len = len;
	vs->vars_start = FV_HDR + VS_HDR;
	vs->vars_end = FV_HDR + size;
	/* The fault-tolerant-write working block follows the event log. Its
	 * write queue must be empty: a pending reclaim is the firmware's to
	 * finish. */
	size_t ftw = (vs->vars_end + 0xfff) / 0x1000 * 0x1000 + 0x1000;
	if (ftw + 0x40 <= len) {
		memcpy(g.b, b + ftw, 16);
		if (guid_eq(&g, &FTW_WORKING)) {
			for (size_t i = ftw + 32; i < ftw + 0x1000 && i < len; i++)
				if (b[i] != 0xff) {
					*why = "a fault-tolerant write is pending in it; "
					       "boot the machine once so the firmware "
					       "completes it";
					return -1;
				}
		}
	}
	return 0;
}

/* Decodes the record at off; 0 if there is one, -1 at the end. */
static int rec_at(const struct efi_vs *vs, size_t off, struct efi_var *v)
{
	const uint8_t *p = vs->buf + off;

	if (off + VAR_HDR > vs->vars_end || get_le16(p) != START_ID)
		return -1;
	uint32_t ns = get_le32(p + 0x24), ds = get_le32(p + 0x28);
	if (ns > vs->vars_end - off - VAR_HDR ||
	    ds > vs->vars_end - off - VAR_HDR - ns)
		return -1;
	memset(v, 0, sizeof(*v));
	v->off = off;
	v->state = p[2];
	v->attrs = get_le32(p + 4);
	memcpy(v->vendor.b, p + 0x2c, 16);
	if (ns >= 2 && utf16le_to_utf8(p + VAR_HDR, ns / 2, v->name, sizeof(v->name)) < 0)
		v->name[0] = '\0';
	v->data = p + VAR_HDR + ns;
	v->data_len = ds;
	v->rec_len = VAR_HDR + ns + ds;
	return 0;
}

int efi_vs_walk(const struct efi_vs *vs, efi_var_fn fn, void *ctx)
{
	struct efi_var v;
	size_t off = vs->vars_start;
	int rc;

	while (rec_at(vs, off, &v) == 0) {
		if ((rc = fn(ctx, &v)) != 0)
			return rc;
		off = align4(off + v.rec_len);
	}
	return 0;
}

static size_t end_of_records(const struct efi_vs *vs)
{
	struct efi_var v;
	size_t off = vs->vars_start;

	while (rec_at(vs, off, &v) == 0)
		off = align4(off + v.rec_len);
	return off;
}

size_t efi_vs_damaged_at(const struct efi_vs *vs)
{
	size_t end = end_of_records(vs);

	for (size_t o = end; o < vs->vars_end; o++)
		if (vs->buf[o] != 0xff)
			return end;
	return 0;
}

static bool same_var(const struct efi_var *v, const char *name, const struct guid *g)
{
	return strcmp(v->name, name) == 0 && guid_eq(&v->vendor, g);
}

bool efi_vs_get(const struct efi_vs *vs, const char *name,
		const struct guid *vendor, struct efi_var *out)
{
	struct efi_var v;
	size_t off = vs->vars_start;
	bool found = false;

	while (rec_at(vs, off, &v) == 0) {
		if (same_var(&v, name, vendor)) {
			if (v.state == ST_ADDED) {
				*out = v;
				return true;
			}
			if (v.state == ST_IN_DELETE && !found) {
				*out = v;
				found = true;
			}
		}
		off = align4(off + v.rec_len);
	}
	return found;
}

static bool live(uint8_t st)
{
	return st == ST_ADDED || st == ST_IN_DELETE;
}

bool efi_vs_delete(struct efi_vs *vs, const char *name, const struct guid *vendor)
{
	struct efi_var v;
	size_t off = vs->vars_start;
	bool any = false;

	while (rec_at(vs, off, &v) == 0) {
		if (same_var(&v, name, vendor) && live(v.state)) {
			/* Flash clears bits only: 0x3F/0x3E -> 0x3D/0x3C. */
			vs->buf[off + 2] = (uint8_t)(v.state & ST_DELETED_MASK);
			any = true;
		}
		off = align4(off + v.rec_len);
	}
	return any;
}

int efi_vs_reclaim(struct efi_vs *vs, const char **why)
{
	size_t area = vs->vars_end - vs->vars_start, o = 0;
	uint8_t *tmp = malloc(area);
	struct efi_var v, best;
	size_t off = vs->vars_start;

	if (!tmp) {
		*why = "out of memory";
		return -1;
	}
	memset(tmp, 0xff, area);
	while (rec_at(vs, off, &v) == 0) {
		/* Keep a record if it is the copy efi_vs_get would return. */
		if (live(v.state) && efi_vs_get(vs, v.name, &v.vendor, &best) &&
		    best.off == v.off) {
			memcpy(tmp + o, vs->buf + v.off, v.rec_len);
			tmp[o + 2] = ST_ADDED;
			o = align4(o + v.rec_len);
		}
		off = align4(off + v.rec_len);
	}
	memcpy(vs->buf + vs->vars_start, tmp, area);
	free(tmp);
	return 0;
}

int efi_vs_set(struct efi_vs *vs, const char *name, const struct guid *vendor,
	       uint32_t attrs, const uint8_t *data, size_t len, const char **why)
{
	uint8_t u[2 * 128];
	int n = utf8_to_utf16le(name, u, 127);

	if (n <= 0) {
		*why = "bad variable name";
		return -1;
	}
	size_t ns = 2 * ((size_t)n + 1), need = VAR_HDR + ns + len;
	size_t end = end_of_records(vs);
	if (end + need > vs->vars_end) {
		if (efi_vs_reclaim(vs, why) < 0)
			return -1;
		end = end_of_records(vs);
		if (end + need > vs->vars_end) {
			*why = "the variable store is full";
			return -1;
		}
	}
	/* Older copies, to retire once the new one is in. */
	struct efi_var v;
	size_t old[64], nold = 0, off = vs->vars_start;
	while (rec_at(vs, off, &v) == 0) {
		if (same_var(&v, name, vendor) && live(v.state) && nold < 64)
			old[nold++] = v.off;
		off = align4(off + v.rec_len);
	}
	uint8_t *p = vs->buf + end;
	memset(p, 0, VAR_HDR);
	put_le16(p, START_ID);
	p[2] = ST_ADDED;
	put_le32(p + 4, attrs);
	put_le32(p + 0x24, (uint32_t)ns);
	put_le32(p + 0x28, (uint32_t)len);
	memcpy(p + 0x2c, vendor->b, 16);
	memcpy(p + VAR_HDR, u, 2 * (size_t)n);
	put_le16(p + VAR_HDR + 2 * n, 0);
	if (len)
		memcpy(p + VAR_HDR + ns, data, len);
	for (size_t i = 0; i < nold; i++)
		vs->buf[old[i] + 2] &= ST_TRANSITION_MASK & ST_DELETED_MASK;
	return 0;
}

int efi_vs_format(uint8_t *b, size_t len)
{
	if (len != 0x84000 && len != 0x20000)
		return -1;
	memset(b, 0xff, len);
	memset(b, 0, FV_HDR);
	memcpy(b + 0x10, NV_DATA_FV.b, 16);
	put_le64(b + 0x20, len);
	memcpy(b + 0x28, "_FVH", 4);
	put_le32(b + 0x2c, 0x0004feff);
	put_le16(b + 0x30, FV_HDR);
	b[0x37] = 2;
	put_le32(b + 0x38, (uint32_t)(len / 0x1000));
	put_le32(b + 0x3c, 0x1000);
	uint16_t sum = 0;
	for (int i = 0; i < FV_HDR; i += 2)
		sum = (uint16_t)(sum + get_le16(b + i));
	put_le16(b + 0x32, (uint16_t)(0x10000 - sum));
	uint32_t size = len == 0x84000 ? 0x3ffb8 : 0xdfb8;
	memset(b + FV_HDR, 0, VS_HDR);
	memcpy(b + FV_HDR, AUTH_VAR_STORE.b, 16);
	put_le32(b + FV_HDR + 16, size);
	b[FV_HDR + 20] = 0x5a;
	b[FV_HDR + 21] = 0xfe;
	size_t ftw = (FV_HDR + size + 0xfff) / 0x1000 * 0x1000 + 0x1000;
	uint8_t *w = b + ftw;
	memcpy(w, FTW_WORKING.b, 16);
	memset(w + 16, 0xff, 16);
	put_le64(w + 24, 0xfe0);
	w[20] = 0xff;
	uint32_t crc = gm_crc32(w, 32);
	put_le32(w + 16, crc);
	w[20] = 0xfe;
	return 0;
}
