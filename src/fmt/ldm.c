/*
 * ldm.c - LDM database codec. Variable-length fields are a length byte then
 * that many big-endian bytes (length 0 = value 0); strings are a length
 * byte then ASCII. Each parse step is bounds-checked against the record.
 */
#include "ldm.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"

uint32_t ldm_checksum(const uint8_t *s)
{
	uint32_t sum = 0;

	for (int i = 0; i < 512; i++)
		if (i < 8 || i >= 12)
			sum += s[i];
	return sum;
}

static void copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t k = 0;

	while (k < n && k + 1 < cap && src[k])
		k++;
	memcpy(dst, src, k);
	dst[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e)
			dst[i] = '?';
}

static bool guid_text_ok(const char *g)
{
	if (strlen(g) != LDM_GUID_STR)
		return false;
	for (int i = 0; i < LDM_GUID_STR; i++) {
		char c = g[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return true;
}

int ldm_privhead_decode(const uint8_t *s, size_t len, struct ldm_privhead *h,
			const char **why)
{
	memset(h, 0, sizeof(*h));
	if (len < 512 || memcmp(s, "PRIVHEAD", 8) != 0) {
		*why = "no PRIVHEAD";
		return -1;
	}
	h->checksum = get_be32(s + PH_CHECKSUM);
	h->checksum_ok = h->checksum == ldm_checksum(s);
	h->ver_major = get_be16(s + PH_VER_MAJOR);
	h->ver_minor = get_be16(s + PH_VER_MINOR);
	h->usn = get_be64(s + PH_USN);
	copy_str(h->disk_guid, sizeof(h->disk_guid), s + PH_DISK_GUID, 64);
	copy_str(h->dg_guid, sizeof(h->dg_guid), s + PH_DG_GUID, 64);
	copy_str(h->dg_name, sizeof(h->dg_name), s + PH_DG_NAME, 31);
	h->public_start = get_be64(s + PH_PUBLIC_START);
	h->public_size = get_be64(s + PH_PUBLIC_SIZE);
	h->private_start = get_be64(s + PH_PRIVATE_START);
	h->private_size = get_be64(s + PH_PRIVATE_SIZE);
	h->toc1 = get_be64(s + PH_TOC1);
	h->toc2 = get_be64(s + PH_TOC2);
	h->config_size = get_be64(s + PH_CONFIG_SIZE);
	h->log_size = get_be64(s + PH_LOG_SIZE);
	if (!guid_text_ok(h->disk_guid) || !guid_text_ok(h->dg_guid)) {
		*why = "PRIVHEAD GUIDs are not GUIDs";
		return -1;
	}
	if (h->private_size < 2048 / 8 || h->private_size > (1u << 20)) {
		*why = "PRIVHEAD private region size";
		return -1;
	}
	return 0;
}

static void toc_region(const uint8_t *p, struct ldm_toc_region *r)
{
	copy_str(r->name, sizeof(r->name), p, 8);
	r->start = get_be64(p + TOCR_START);
	r->size = get_be64(p + TOCR_SIZE);
}

int ldm_tocblock_decode(const uint8_t *s, size_t len, struct ldm_tocblock *t,
			const char **why)
{
	struct ldm_toc_region a, b;

	memset(t, 0, sizeof(*t));
	if (len < 512 || memcmp(s, "TOCBLOCK", 8) != 0) {
		*why = "no TOCBLOCK";
		return -1;
	}
	t->checksum_ok = get_be32(s + 8) == ldm_checksum(s);
	t->usn = get_be64(s + TOC_USN);
	toc_region(s + TOC_REGION1, &a);
	toc_region(s + TOC_REGION2, &b);
	if (strcmp(a.name, "config") == 0) {
		t->config = a;
		t->log = b;
	} else if (strcmp(b.name, "config") == 0) {
		t->config = b;
		t->log = a;
	} else {
		*why = "TOCBLOCK has no config region";
		return -1;
	}
	return 0;
}

int ldm_vmdb_decode(const uint8_t *s, size_t len, struct ldm_vmdb *v,
		    const char **why)
{
	memset(v, 0, sizeof(*v));
	if (len < 512 || memcmp(s, "VMDB", 4) != 0) {
		*why = "no VMDB";
		return -1;
	}
	v->last_seq = get_be32(s + VMDB_LAST_SEQ);
	v->vblk_size = get_be32(s + VMDB_VBLK_SIZE);
	v->first_offset = get_be32(s + VMDB_FIRST_OFFSET);
	v->status = get_be16(s + VMDB_STATUS);
	v->ver_major = get_be16(s + VMDB_VER_MAJOR);
	v->ver_minor = get_be16(s + VMDB_VER_MINOR);
	copy_str(v->dg_name, sizeof(v->dg_name), s + VMDB_DG_NAME, 31);
	copy_str(v->dg_guid, sizeof(v->dg_guid), s + VMDB_DG_GUID, 64);
	v->committed_tx = get_be64(s + VMDB_COMMITTED_TX);
	v->pending_tx = get_be64(s + VMDB_PENDING_TX);
	v->n_vol = get_be32(s + VMDB_N_VOL);
	v->n_comp = get_be32(s + VMDB_N_COMP);
	v->n_part = get_be32(s + VMDB_N_PART);
	v->n_disk = get_be32(s + VMDB_N_DISK);
	if (v->vblk_size != 128 || v->first_offset != 512) {
		*why = "VMDB VBLK geometry is not 128/512";
		return -1;
	}
	return 0;
}

int ldm_slot_decode(const uint8_t *p, size_t len, struct ldm_slot *s)
{
	if (len < LDM_SLOT_SIZE)
		return -1;
	if (memcmp(p, "VBLK", 4) != 0)
		return 1;
	s->seq = get_be32(p + VBLK_SEQ);
	s->group = get_be32(p + VBLK_GROUP);
	s->frag_index = get_be16(p + VBLK_FRAG_INDEX);
	s->frag_count = get_be16(p + VBLK_FRAG_COUNT);
	s->payload = p + VBLK_PAYLOAD;
	return 0;
}

void ldm_slot_encode(const struct ldm_slot *s, uint8_t *p)
{
	memset(p, 0, LDM_SLOT_SIZE);
	memcpy(p, "VBLK", 4);
	put_be32(p + VBLK_SEQ, s->seq);
	put_be32(p + VBLK_GROUP, s->group);
	put_be16(p + VBLK_FRAG_INDEX, s->frag_index);
	put_be16(p + VBLK_FRAG_COUNT, s->frag_count);
	if (s->payload)
		memcpy(p + VBLK_PAYLOAD, s->payload, LDM_SLOT_PAYLOAD);
}

/* --- record fields ------------------------------------------------------ */

struct cur {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint64_t var_uint(struct cur *c, unsigned max_len)
{
	if (c->off >= c->len) {
		c->bad = true;
		return 0;
	}
	unsigned n = c->p[c->off++];
	uint64_t v = 0;
	if (n > max_len || n > c->len - c->off) {
		c->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | c->p[c->off++];
	return v;
}

static void var_str(struct cur *c, char *out, size_t cap)
{
	if (c->off >= c->len) {
		c->bad = true;
		out[0] = '\0';
		return;
	}
	size_t n = c->p[c->off++];
	if (n > c->len - c->off) {
		c->bad = true;
		out[0] = '\0';
		return;
	}
	copy_str(out, cap, c->p + c->off, n);
	if (n >= cap)
		out[cap - 1] = '\0';
	c->off += n;
}

static uint64_t fixed(struct cur *c, unsigned n)
{
	uint64_t v = 0;

	if (n > c->len - c->off || c->off > c->len) {
		c->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | c->p[c->off++];
	return v;
}

static void skip(struct cur *c, size_t n)
{
	if (n > c->len - c->off)
		c->bad = true;
	else
		c->off += n;
}

/* The fields of a volume record (revision 5) after its ID and name. */
static void decode_volume(struct cur *c, struct ldm_rec *r)
{
	var_str(c, r->u.vol.vtype, sizeof(r->u.vol.vtype));
	char tmp[64];
	var_str(c, tmp, sizeof(tmp)); /* drive-letter assignment flag */
	if (c->off + 14 <= c->len)
		copy_str(r->u.vol.state, sizeof(r->u.vol.state), c->p + c->off, 14);
	skip(c, 14);
	r->u.vol.read_policy = (uint8_t)fixed(c, 1);
	r->u.vol.number = (uint8_t)var_uint(c, 4);
	r->u.vol.vflags = (uint32_t)fixed(c, 4);
	r->u.vol.nchildren = (uint32_t)var_uint(c, 4);
	skip(c, 16); /* commit + unknown transaction IDs */
	r->u.vol.size = var_uint(c, 8);
	skip(c, 4);
	r->u.vol.part_type = (uint8_t)fixed(c, 1);
	if (c->off + 16 <= c->len)
		memcpy(r->u.vol.guid, c->p + c->off, 16);
	skip(c, 16);
	if (r->flags & 0x08)
		var_str(c, tmp, sizeof(tmp));
	if (r->flags & 0x20)
		var_str(c, tmp, sizeof(tmp));
	if (r->flags & 0x80)
		var_uint(c, 8);
	if (r->flags & 0x02)
		var_str(c, r->u.vol.hint, sizeof(r->u.vol.hint));
}

int ldm_rec_decode(const uint8_t *rec, size_t len, struct ldm_rec *r,
		   const char **why)
{
	struct cur c = {rec, len, 8, false};

	memset(r, 0, sizeof(*r));
	if (len < 8) {
		*why = "record too short";
		return -1;
	}
	r->flags = rec[2];
	r->type = (enum ldm_rec_type)(rec[3] & 0x0f);
	r->rev = (uint8_t)(rec[3] >> 4);
	uint32_t body = get_be32(rec + 4);
	if (r->type == 0)
		return 1; /* blank */
	if (body > len - 8) {
		*why = "record length runs past its fragments";
		return -1;
	}
	c.len = 8 + (size_t)body;
	r->id = (uint32_t)var_uint(&c, 4);
	var_str(&c, r->name, sizeof(r->name));
	switch (r->type) {
	case LDM_REC_GROUP:
		break; /* ID and name are all we use */
	case LDM_REC_DISK:
		if (r->rev == 3) {
			var_str(&c, r->u.disk.guid, sizeof(r->u.disk.guid));
		} else if (r->rev == 4) {
			/* binary GUID, RFC order */
			const uint8_t *g = c.p + c.off;
			skip(&c, 16);
			if (!c.bad)
				snprintf(r->u.disk.guid, sizeof(r->u.disk.guid),
					 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
					 "%02x%02x%02x%02x%02x%02x", g[0], g[1], g[2], g[3],
					 g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11],
					 g[12], g[13], g[14], g[15]);
		} else {
			*why = "disk record revision";
			return -1;
		}
		break;
	case LDM_REC_VOLUME:
		if (r->rev != 5) {
			*why = "volume record revision";
			return -1;
		}
		decode_volume(&c, r);
		break;
	case LDM_REC_COMPONENT:
		if (r->rev != 3) {
			*why = "component record revision";
			return -1;
		}
		var_str(&c, r->u.comp.state, sizeof(r->u.comp.state));
		r->u.comp.layout = (uint8_t)fixed(&c, 1);
		r->u.comp.cflags = (uint32_t)fixed(&c, 4);
		r->u.comp.nparts = (uint32_t)var_uint(&c, 4);
		skip(&c, 16);
		r->u.comp.parent = (uint32_t)var_uint(&c, 4);
		var_uint(&c, 4); /* log SD */
		if (r->flags & 0x10) {
			r->u.comp.stripe = var_uint(&c, 8);
			r->u.comp.columns = (uint32_t)var_uint(&c, 4);
		}
		break;
	case LDM_REC_PARTITION:
		if (r->rev != 3) {
			*why = "partition record revision";
			return -1;
		}
		r->u.part.pflags = (uint32_t)fixed(&c, 4);
		skip(&c, 8);
		r->u.part.start = fixed(&c, 8);
		r->u.part.vol_offset = fixed(&c, 8);
		r->u.part.size = var_uint(&c, 8);
		r->u.part.parent = (uint32_t)var_uint(&c, 4);
		r->u.part.disk = (uint32_t)var_uint(&c, 4);
		if (r->flags & 0x08)
			r->u.part.column = (uint32_t)var_uint(&c, 4);
		break;
	default:
		*why = "unknown record type";
		return -1;
	}
	if (c.bad) {
		*why = "record fields run past its length";
		return -1;
	}
	return 0;
}

/* --- encoders ------------------------------------------------------------ */

static void put_str(uint8_t *p, size_t n, const char *s)
{
	size_t l = strlen(s);
	memcpy(p, s, l < n ? l : n);
}

void ldm_privhead_encode(const struct ldm_privhead *h, uint8_t *s)
{
	memset(s, 0, 512);
	memcpy(s, "PRIVHEAD", 8);
	put_be16(s + PH_VER_MAJOR, h->ver_major);
	put_be16(s + PH_VER_MINOR, h->ver_minor);
	put_be64(s + PH_USN, h->usn);
	put_be64(s + PH_PH1_LBA, LDM_PH1);
	put_be64(s + PH_PH2_LBA, LDM_PH2);
	put_str(s + PH_DISK_GUID, 64, h->disk_guid);
	/* The host GUID every Windows install writes (a constant). */
	put_str(s + PH_HOST_GUID, 64, "1b77da20-c717-11d0-a5be-00a0c91db73c");
	put_str(s + PH_DG_GUID, 64, h->dg_guid);
	put_str(s + PH_DG_NAME, 31, h->dg_name);
	put_be32(s + PH_SECTOR_SIZE, 512);
	put_be64(s + PH_PUBLIC_START, h->public_start);
	put_be64(s + PH_PUBLIC_SIZE, h->public_size);
	put_be64(s + PH_PRIVATE_START, h->private_start);
	put_be64(s + PH_PRIVATE_SIZE, h->private_size);
	put_be64(s + PH_TOC1, LDM_TOC1);
	put_be64(s + PH_TOC2, LDM_TOC2);
	put_be32(s + PH_NUM_CONFIGS, 1);
	put_be32(s + PH_NUM_LOGS, 1);
	put_be64(s + PH_CONFIG_SIZE, LDM_CONFIG_SECTORS);
	put_be64(s + PH_LOG_SIZE, LDM_LOG_SECTORS);
	put_be32(s + PH_DISK_SIGNATURE, h->checksum); /* group-wide "disk signature" */
	put_be32(s + PH_CHECKSUM, ldm_checksum(s));
}

static void toc_region_put(uint8_t *p, const char *name, uint64_t start, uint64_t size)
{
	put_str(p, 8, name);
	put_be64(p + TOCR_START, start);
	put_be64(p + TOCR_SIZE, size);
	put_be16(p + TOCR_FLAGS1, 6);
	put_be16(p + TOCR_FLAGS2, 1);
}

void ldm_tocblock_encode(uint64_t usn, uint8_t *s)
{
	memset(s, 0, 512);
	memcpy(s, "TOCBLOCK", 8);
	put_be64(s + TOC_USN, usn);
	toc_region_put(s + TOC_REGION1, "config", LDM_CONFIG_START, LDM_CONFIG_SECTORS);
	toc_region_put(s + TOC_REGION2, "log", LDM_LOG_START, LDM_LOG_SECTORS);
	put_be32(s + TOC_CHECKSUM, ldm_checksum(s));
}

void ldm_vmdb_encode(const struct ldm_vmdb *v, uint64_t ft, uint8_t *s)
{
	memset(s, 0, 512);
	memcpy(s, "VMDB", 4);
	put_be32(s + VMDB_LAST_SEQ, LDM_CONFIG_SECTORS * 512 / 128);
	put_be32(s + VMDB_VBLK_SIZE, 128);
	put_be32(s + VMDB_FIRST_OFFSET, 512);
	put_be16(s + VMDB_STATUS, 1);
	put_be16(s + VMDB_VER_MAJOR, 4);
	put_be16(s + VMDB_VER_MINOR, 10);
	put_str(s + VMDB_DG_NAME, 31, v->dg_name);
	put_str(s + VMDB_DG_GUID, 64, v->dg_guid);
	put_be64(s + VMDB_COMMITTED_TX, v->committed_tx);
	put_be64(s + VMDB_PENDING_TX, v->committed_tx);
	uint32_t c[4] = {v->n_vol, v->n_comp, v->n_part, v->n_disk};
	for (int i = 0; i < 4; i++) {
		put_be32(s + VMDB_N_VOL + 4 * i, c[i]);
		put_be32(s + VMDB_N_VOL2 + 4 * i, c[i]);
	}
	put_be64(s + VMDB_TIME, ft);
}

void ldm_klog_encode(uint64_t tx, uint8_t *p)
{
	memset(p, 0, 1024);
	for (int page = 0; page < 2; page++) {
		uint8_t *s = p + 512 * page;
		memcpy(s, "KLOG", 4);
		put_be32(s + 0x0c, page == 0 ? 4 : 0);
		put_be32(s + 0x10, 2);
		put_be32(s + 0x14, (uint32_t)page);
	}
	/* Two entries, status 0, committed 0, pending = the transaction. */
	put_be64(p + 0x18 + 9, tx);
	put_be64(p + 0x18 + 24 + 9, tx);
}

struct wcur {
	uint8_t *p;
	size_t cap, off;
	bool over;
};

static void w_bytes(struct wcur *w, const void *b, size_t n)
{
	if (n > w->cap - w->off) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->off, b, n);
	w->off += n;
}

static void w_fixed(struct wcur *w, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w_bytes(w, b, n);
}

/* Fewest bytes; a lone 0 for zero. */
static void w_var(struct wcur *w, uint64_t v)
{
	unsigned n = 0;
	for (uint64_t t = v; t; t >>= 8)
		n++;
	uint8_t len = (uint8_t)n;
	w_bytes(w, &len, 1);
	w_fixed(w, v, n);
}

/* Sizes: over 32 bits they take 8 bytes. */
static void w_var64(struct wcur *w, uint64_t v)
{
	if (v > 0xffffffffull) {
		uint8_t len = 8;
		w_bytes(w, &len, 1);
		w_fixed(w, v, 8);
	} else {
		w_var(w, v);
	}
}

static void w_str(struct wcur *w, const char *s)
{
	uint8_t len = (uint8_t)strlen(s);
	w_bytes(w, &len, 1);
	w_bytes(w, s, len);
}

int ldm_rec_encode(const struct ldm_rec *r, uint64_t tx, uint8_t *out, size_t cap)
{
	struct wcur w = {out, cap, 8, false};
	uint8_t flags = 0;

	if (cap < 8)
		return -1;
	w_var(&w, r->id);
	w_str(&w, r->name);
	switch (r->type) {
	case LDM_REC_GROUP:
		w_str(&w, r->u.disk.guid); /* the group GUID, stored as text */
		w_fixed(&w, 0, 4);
		w_fixed(&w, 0, 8);
		break;
	case LDM_REC_DISK:
		w_str(&w, r->u.disk.guid);
		w_str(&w, "");
		w_fixed(&w, 0, 4);
		w_fixed(&w, tx, 8);
		break;
	case LDM_REC_VOLUME: {
		uint8_t st[14] = {0};
		put_str(st, 14, r->u.vol.state);
		w_str(&w, r->u.vol.vtype);
		w_str(&w, "");
		w_bytes(&w, st, 14);
		w_fixed(&w, r->u.vol.read_policy, 1);
		uint8_t num[2] = {1, r->u.vol.number}; /* always 1 byte long */
		w_bytes(&w, num, 2);
		w_fixed(&w, r->u.vol.vflags, 4);
		w_var(&w, r->u.vol.nchildren);
		w_fixed(&w, tx, 8);
		w_fixed(&w, 0, 8);
		w_var64(&w, r->u.vol.size);
		w_fixed(&w, 0, 4);
		w_fixed(&w, r->u.vol.part_type, 1);
		w_bytes(&w, r->u.vol.guid, 16);
		if (r->u.vol.hint[0]) {
			flags |= 0x02;
			w_str(&w, r->u.vol.hint);
		}
		break;
	}
	case LDM_REC_COMPONENT:
		w_str(&w, r->u.comp.state);
		w_fixed(&w, r->u.comp.layout, 1);
		w_fixed(&w, r->u.comp.cflags, 4);
		w_var(&w, r->u.comp.nparts);
		w_fixed(&w, tx, 8);
		w_fixed(&w, 0, 8);
		w_var(&w, r->u.comp.parent);
		w_fixed(&w, 0, 1); /* log SD: exactly one zero byte */
		break;
	case LDM_REC_PARTITION:
		flags = 0x40;
		w_fixed(&w, r->u.part.pflags, 4);
		w_fixed(&w, tx, 8);
		w_fixed(&w, r->u.part.start, 8);
		w_fixed(&w, r->u.part.vol_offset, 8);
		w_var64(&w, r->u.part.size);
		w_var(&w, r->u.part.parent);
		w_var(&w, r->u.part.disk);
		w_fixed(&w, 0, 1); /* flag 0x40: one zero byte */
		break;
	default:
		return -1;
	}
	if (w.over)
		return -1;
	put_be16(out, 0);
	out[2] = flags;
	out[3] = (uint8_t)((r->type == LDM_REC_VOLUME ? 0x50u : 0x30u) | (unsigned)r->type);
	put_be32(out + 4, (uint32_t)(w.off - 8));
	return (int)w.off;
}
