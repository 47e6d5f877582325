/*
 * fat.c - FAT12/16/32 boot sector, FSInfo, FAT entries, directory entries
 * and VFAT long names (Microsoft FAT specification 1.03; long names as
 * Windows writes them).
 */
#include "fat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bytes.h"
#include "utf16.h"

/* --- boot sector -------------------------------------------------------- */

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int fat_bpb_derive(struct fat_bpb *b, const char **why)
{
	uint64_t meta, fatbytes;

	if (b->bytes_per_sec != 512 && b->bytes_per_sec != 1024 &&
	    b->bytes_per_sec != 2048 && b->bytes_per_sec != 4096) {
		*why = "bytes per sector";
		return -1;
	}
	if (b->sec_per_clus == 0 || (b->sec_per_clus & (b->sec_per_clus - 1))) {
		*why = "sectors per cluster";
		return -1;
	}
	b->clus_bytes = (uint32_t)b->sec_per_clus * b->bytes_per_sec;
	if (b->clus_bytes > 65536) {
		*why = "cluster size";
		return -1;
	}
	if (b->rsvd_secs == 0) {
		*why = "reserved sectors";
		return -1;
	}
	if (b->nfats == 0 || b->nfats > 4) {
		*why = "number of FATs";
		return -1;
	}
	if (b->fat_secs == 0) {
		*why = "FAT size";
		return -1;
	}
	b->root_secs = (uint32_t)(((uint64_t)b->root_ents * FAT_DIRENT +
				   b->bytes_per_sec - 1) / b->bytes_per_sec);
	meta = b->rsvd_secs + (uint64_t)b->nfats * b->fat_secs + b->root_secs;
	if (meta >= b->total_secs) {
		*why = "total sectors (no room for data)";
		return -1;
	}
	b->first_fat = b->rsvd_secs;
	b->first_root = (uint32_t)(b->rsvd_secs + (uint64_t)b->nfats * b->fat_secs);
	b->first_data = (uint32_t)meta;
	b->clusters = (uint32_t)((b->total_secs - meta) / b->sec_per_clus);
	if (b->type != FAT32) {
		if (b->clusters < 4085)
			b->type = FAT12;
		else if (b->clusters <= FAT_MAX_CLUSTERS16)
			b->type = FAT16;
		else {
			*why = "cluster count (too many for FAT16)";
			return -1;
		}
		if (b->root_ents == 0) {
			*why = "root directory entries";
			return -1;
		}
	} else {
		if (b->root_ents != 0) {
			*why = "root directory entries (FAT32)";
			return -1;
		}
		if (b->clusters > FAT_MAX_CLUSTERS32 || b->clusters < 1) {
			*why = "cluster count";
			return -1;
		}
		if (b->root_clus < 2 || b->root_clus > b->clusters + 1) {
			*why = "root cluster";
			return -1;
		}
		if (b->fsinfo_sec >= b->rsvd_secs && b->fsinfo_sec != 0xffff &&
		    b->fsinfo_sec != 0) {
			*why = "FSInfo sector";
			return -1;
		}
	}
	fatbytes = (uint64_t)b->fat_secs * b->bytes_per_sec;
	if (fatbytes < fat_bytes_for(b->type, b->clusters)) {
		/* A FAT shorter than the data area: only what it maps counts,
		 * as Windows and Linux do. */
		uint64_t maps = b->type == FAT12 ? fatbytes * 2 / 3
			      : b->type == FAT16 ? fatbytes / 2 : fatbytes / 4;
		if (maps < 3) {
			*why = "FAT size";
			return -1;
		}
		b->clusters = (uint32_t)(maps - 2);
	}
	return 0;
}

int fat_bpb_decode(const uint8_t *s, size_t len, uint64_t vol_bytes,
		   struct fat_bpb *b, const char **why)
{
	memset(b, 0, sizeof(*b));
	if (len < 512) {
		*why = "boot sector too short";
		return -1;
	}
	if (s[510] != 0x55 || s[511] != 0xaa) {
		*why = "boot sector signature";
		return -1;
	}
	if (s[0] != 0xeb && s[0] != 0xe9) {
		*why = "jump instruction";
		return -1;
	}
	copy_str(b->oem, s + 3, 8);
	b->bytes_per_sec = get_le16(s + 11);
	b->sec_per_clus = s[13];
	b->rsvd_secs = get_le16(s + 14);
	b->nfats = s[16];
	b->root_ents = get_le16(s + 17);
	b->total_secs = get_le16(s + 19);
	b->media = s[21];
	b->fat_secs = get_le16(s + 22);
	b->secs_per_track = get_le16(s + 24);
	b->heads = get_le16(s + 26);
	b->hidden_secs = get_le32(s + 28);
	if (b->total_secs == 0)
		b->total_secs = get_le32(s + 32);
	const uint8_t *ext = s + 36;
	if (b->fat_secs == 0) {
		b->type = FAT32;
		b->fat_secs = get_le32(s + 36);
		b->ext_flags = get_le16(s + 40);
		if (get_le16(s + 42) != 0) {
			*why = "FAT32 version";
			return -1;
		}
		b->root_clus = get_le32(s + 44);
		b->fsinfo_sec = get_le16(s + 48);
		b->backup_boot_sec = get_le16(s + 50);
		ext = s + 64;
	}
	b->drive_num = ext[0];
	if (ext[2] == 0x29) {
		b->has_ext = true;
		b->serial = get_le32(ext + 3);
		copy_str(b->label, ext + 7, 11);
	}
	if (b->bytes_per_sec > len && len < 4096) {
		/* The caller read less than a sector: fine, we only need 512. */
	}
	if (b->total_secs == 0) {
		*why = "total sectors (zero)";
		return -1;
	}
	if ((uint64_t)b->total_secs * b->bytes_per_sec > vol_bytes) {
		*why = "total sectors (larger than the volume)";
		return -1;
	}
	return fat_bpb_derive(b, why);
}

void fat_bpb_encode(const struct fat_bpb *b, uint8_t *s, size_t len)
{
	uint8_t *ext;

	(void)len;
	s[0] = 0xeb;
	s[1] = b->type == FAT32 ? 0x58 : 0x3c;
	s[2] = 0x90;
	memcpy(s + 3, b->oem, 8);
	put_le16(s + 11, b->bytes_per_sec);
	s[13] = b->sec_per_clus;
	put_le16(s + 14, b->rsvd_secs);
	s[16] = b->nfats;
	put_le16(s + 17, b->root_ents);
	if (b->total_secs < 0x10000 && b->type != FAT32) {
		put_le16(s + 19, (uint16_t)b->total_secs);
		put_le32(s + 32, 0);
	} else {
		put_le16(s + 19, 0);
		put_le32(s + 32, b->total_secs);
	}
	s[21] = b->media;
	put_le16(s + 24, b->secs_per_track);
	put_le16(s + 26, b->heads);
	put_le32(s + 28, b->hidden_secs);
	if (b->type == FAT32) {
		put_le16(s + 22, 0);
		put_le32(s + 36, b->fat_secs);
		put_le16(s + 40, b->ext_flags);
		put_le16(s + 42, 0);
		put_le32(s + 44, b->root_clus);
		put_le16(s + 48, b->fsinfo_sec);
		put_le16(s + 50, b->backup_boot_sec);
		ext = s + 64;
	} else {
		put_le16(s + 22, (uint16_t)b->fat_secs);
		ext = s + 36;
	}
	ext[0] = b->drive_num;
	ext[2] = 0x29;
	put_le32(ext + 3, b->serial);
	memcpy(ext + 7, b->label, 11);
	memcpy(ext + 18, b->type == FAT32 ? "FAT32   "
			 : b->type == FAT16 ? "FAT16   " : "FAT12   ", 8);
	/* No boot code: a jump to a halt loop, as a data volume has. */
	uint8_t *code = ext + 26;
	code[0] = 0xf4; /* hlt */
	code[1] = 0xeb; /* jmp $-1 */
	code[2] = 0xfd;
	s[510] = 0x55;
	s[511] = 0xaa;
}

int fat_fsinfo_decode(const uint8_t *s, size_t len, struct fat_fsinfo *out)
{
	if (len < 512 || get_le32(s) != 0x41615252 ||
	    get_le32(s + 484) != 0x61417272 || get_le32(s + 508) != 0xaa550000)
		return -1;
	out->free_count = get_le32(s + 488);
	out->next_free = get_le32(s + 492);
	return 0;
}

void fat_fsinfo_encode(const struct fat_fsinfo *fi, uint8_t *s, size_t len)
{
	memset(s, 0, len);
	put_le32(s, 0x41615252);
	put_le32(s + 484, 0x61417272);
	put_le32(s + 488, fi->free_count);
	put_le32(s + 492, fi->next_free);
	put_le32(s + 508, 0xaa550000);
}

/* --- FAT entries -------------------------------------------------------- */

uint32_t fat_get(const uint8_t *fat, enum fat_type t, uint32_t c)
{
	switch (t) {
	case FAT12: {
		uint32_t off = c + c / 2;
		uint16_t v = get_le16(fat + off);
		return (c & 1) ? (uint32_t)(v >> 4) : (uint32_t)(v & 0xfff);
	}
	case FAT16:
		return get_le16(fat + 2 * (size_t)c);
	default:
		return get_le32(fat + 4 * (size_t)c) & 0x0fffffff;
	}
}

void fat_set(uint8_t *fat, enum fat_type t, uint32_t c, uint32_t v)
{
	switch (t) {
	case FAT12: {
		uint32_t off = c + c / 2;
		uint16_t old = get_le16(fat + off);
		if (c & 1)
			old = (uint16_t)((old & 0x000f) | ((v & 0xfff) << 4));
		else
			old = (uint16_t)((old & 0xf000) | (v & 0xfff));
		put_le16(fat + off, old);
		break;
	}
	case FAT16:
		put_le16(fat + 2 * (size_t)c, (uint16_t)v);
		break;
	default: {
		/* The top four bits are reserved and kept. */
		uint32_t old = get_le32(fat + 4 * (size_t)c);
		put_le32(fat + 4 * (size_t)c, (old & 0xf0000000u) | (v & 0x0fffffff));
	}
	}
}

uint32_t fat_eoc(enum fat_type t)
{
	return t == FAT12 ? 0xfff : t == FAT16 ? 0xffff : 0x0fffffff;
}

bool fat_is_eoc(enum fat_type t, uint32_t v)
{
	return v >= (t == FAT12 ? 0xff8u : t == FAT16 ? 0xfff8u : 0x0ffffff8u);
}

bool fat_is_bad(enum fat_type t, uint32_t v)
{
	return v == (t == FAT12 ? 0xff7u : t == FAT16 ? 0xfff7u : 0x0ffffff7u);
}

uint64_t fat_bytes_for(enum fat_type t, uint32_t clusters)
{
	uint64_t n = (uint64_t)clusters + 2;

	return t == FAT12 ? (n * 3 + 1) / 2 : t == FAT16 ? n * 2 : n * 4;
}

/* --- directory entries -------------------------------------------------- */

void fat_dirent_decode(const uint8_t *p, struct fat_dirent *d)
{
	memcpy(d->name, p, 11);
	d->attr = p[11];
	d->ntres = p[12];
	d->crt_tenth = p[13];
	d->crt_time = get_le16(p + 14);
	d->crt_date = get_le16(p + 16);
	d->acc_date = get_le16(p + 18);
	d->first_clus = ((uint32_t)get_le16(p + 20) << 16) | get_le16(p + 26);
	d->wrt_time = get_le16(p + 22);
	d->wrt_date = get_le16(p + 24);
	d->size = get_le32(p + 28);
}

void fat_dirent_encode(const struct fat_dirent *d, uint8_t *p)
{
	memcpy(p, d->name, 11);
	p[11] = d->attr;
	p[12] = d->ntres;
	p[13] = d->crt_tenth;
	put_le16(p + 14, d->crt_time);
	put_le16(p + 16, d->crt_date);
	put_le16(p + 18, d->acc_date);
	put_le16(p + 20, (uint16_t)(d->first_clus >> 16));
	put_le16(p + 22, d->wrt_time);
	put_le16(p + 24, d->wrt_date);
	put_le16(p + 26, (uint16_t)d->first_clus);
	put_le32(p + 28, d->size);
}

static const uint8_t lfn_pos[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};

void fat_lfn_decode(const uint8_t *p, struct fat_lfn *l)
{
	l->ord = p[0];
	l->chksum = p[13];
	for (int i = 0; i < 13; i++)
		l->units[i] = get_le16(p + lfn_pos[i]);
}

void fat_lfn_encode(const struct fat_lfn *l, uint8_t *p)
{
	memset(p, 0, FAT_DIRENT);
	p[0] = l->ord;
	p[11] = FAT_ATTR_LFN;
	p[13] = l->chksum;
	for (int i = 0; i < 13; i++)
		put_le16(p + lfn_pos[i], l->units[i]);
}

uint8_t fat_lfn_checksum(const uint8_t name[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

void fat_short_to_str(const uint8_t name[11], uint8_t ntres, char *out)
{
	int o = 0, n;

	for (n = 8; n > 0 && name[n - 1] == ' '; n--)
		;
	for (int i = 0; i < n; i++) {
		uint8_t c = (i == 0 && name[0] == 0x05) ? 0xe5 : name[i];
		if (ntres & FAT_NTRES_LOWER_BASE)
			c = (uint8_t)tolower(c);
		out[o++] = (char)(c < 0x20 || c > 0x7e ? '_' : c);
	}
	for (n = 3; n > 0 && name[8 + n - 1] == ' '; n--)
		;
	if (n)
		out[o++] = '.';
	for (int i = 0; i < n; i++) {
		uint8_t c = name[8 + i];
		if (ntres & FAT_NTRES_LOWER_EXT)
			c = (uint8_t)tolower(c);
		out[o++] = (char)(c < 0x20 || c > 0x7e ? '_' : c);
	}
	out[o] = '\0';
}

/* Characters a short name may hold besides A-Z and 0-9. */
static bool short_ok(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("$%'-_@~`!(){}^#&", c));
}

/* Windows' reserved device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9),
 * in any case and with any extension: "aux.c" and "LPT1.txt" too. */
static bool reserved_device(const char *s)
{
	static const char *const dev[] = {"CON", "PRN", "AUX", "NUL"};
	size_t b = strcspn(s, ".");

	while (b > 0 && s[b - 1] == ' ')
		b--;
	for (size_t i = 0; b == 3 && i < 4; i++)
		if (strncasecmp(s, dev[i], 3) == 0)
			return true;
	return b == 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0) &&
	       s[3] >= '1' && s[3] <= '9';
}

bool fat_long_name_valid(const char *s)
{
	uint8_t u[2 * 260];
	size_t n = strlen(s);

	if (n == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || strchr("\"*/:<>?\\|", c))
			return false;
	}
	if (s[n - 1] == ' ' || s[n - 1] == '.' || reserved_device(s))
		return false;
	return utf8_to_utf16le(s, u, 255) >= 0;
}

/* Basis-name generation: upper case, invalid characters to '_', spaces
 * and leading periods dropped, 8 + 3 from the last period. */
static void basis_name(const char *s, uint8_t basis[11])
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p == '.')
		p++;
	const char *last = strrchr((const char *)p, '.');
	int b = 0, e = 0;
	for (const unsigned char *q = p; *q && (!last || q < (const unsigned char *)last);) {
		unsigned char c = *q;
		if (c >= 0x80) { /* one '_' per non-ASCII character */
			q++;
			while ((*q & 0xc0) == 0x80)
				q++;
			if (b < 8)
				basis[b++] = '_';
			continue;
		}
		q++;
		if (c == ' ' || c == '.')
			continue;
		c = (unsigned char)toupper(c);
		if (!short_ok(c))
			c = '_';
		if (b < 8)
			basis[b++] = c;
	}
	if (last) {
		for (const unsigned char *q = (const unsigned char *)last + 1; *q && e < 3;) {
			unsigned char c = *q;
			if (c >= 0x80) {
				q++;
				while ((*q & 0xc0) == 0x80)
					q++;
				basis[8 + e++] = '_';
				continue;
			}
			q++;
			if (c == ' ')
				continue;
			c = (unsigned char)toupper(c);
			basis[8 + e++] = short_ok(c) ? c : '_';
		}
	}
	if (b == 0)
		basis[0] = '_';
	if (basis[0] == 0xe5)
		basis[0] = 0x05;
}

int fat_name_plan(const char *s, uint8_t basis[11], uint8_t *ntres,
		  bool *need_lfn, bool *lossy)
{
	const char *dot = strrchr(s, '.');
	size_t n = strlen(s), blen, elen;
	bool fits = true, lower_b = false, upper_b = false, lower_e = false,
	     upper_e = false;

	if (!fat_long_name_valid(s))
		return -1;
	*ntres = 0;
	*lossy = false;
	memset(basis, ' ', 11);

	/* Is it already an 8.3 name? */
	if (dot == s)
		fits = false;
	blen = dot ? (size_t)(dot - s) : n;
	elen = dot ? n - blen - 1 : 0;
	if (blen == 0 || blen > 8 || elen > 3 || (dot && elen == 0))
		fits = false;
	for (size_t i = 0; i < n && fits; i++) {
		unsigned char c = (unsigned char)s[i];
		bool in_ext = dot && s + i > dot;
		if (s + i == dot)
			continue;
		if (islower(c)) {
			if (in_ext)
				lower_e = true;
			else
				lower_b = true;
			c = (unsigned char)toupper(c);
		} else if (isupper(c)) {
			if (in_ext)
				upper_e = true;
			else
				upper_b = true;
		}
		if (!short_ok(c))
			fits = false;
	}
	if (fits) {
		for (size_t i = 0; i < blen; i++)
			basis[i] = (uint8_t)toupper((unsigned char)s[i]);
		for (size_t i = 0; i < elen; i++)
			basis[8 + i] = (uint8_t)toupper((unsigned char)dot[1 + i]);
		if (basis[0] == 0xe5)
			basis[0] = 0x05;
		if ((lower_b && upper_b) || (lower_e && upper_e)) {
			*need_lfn = true; /* mixed case: short name plus long name */
		} else {
			*need_lfn = false;
			if (lower_b)
				*ntres |= FAT_NTRES_LOWER_BASE;
			if (lower_e)
				*ntres |= FAT_NTRES_LOWER_EXT;
		}
		return 0;
	}

	/* Not 8.3: a basis name, and a long name with a numeric tail. */
	*need_lfn = true;
	*lossy = true;
	basis_name(s, basis);
	return 0;
}

void fat_short_tail(const uint8_t basis[11], unsigned n, uint8_t out[11])
{
	char tail[12];
	int tl = snprintf(tail, sizeof(tail), "~%u", n), bl = 8;

	memcpy(out, basis, 11);
	while (bl > 0 && basis[bl - 1] == ' ')
		bl--;
	if (bl > 8 - tl)
		bl = 8 - tl;
	memset(out, ' ', 8);
	memcpy(out, basis, (size_t)bl);
	memcpy(out + bl, tail, (size_t)tl);
}

/* --- time --------------------------------------------------------------- */

void fat_time_encode(int64_t t, uint16_t *date, uint16_t *time_out)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t < 315532800) /* 1980-01-01 */
		tt = 315532800;
	gmtime_r(&tt, &tm);
	if (tm.tm_year > 207)
		tm.tm_year = 207;
	*date = (uint16_t)(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) |
			   tm.tm_mday);
	*time_out = (uint16_t)((tm.tm_hour << 11) | (tm.tm_min << 5) |
			       (tm.tm_sec / 2));
}

int64_t fat_time_decode(uint16_t date, uint16_t t)
{
	struct tm tm = {0};

	tm.tm_year = ((date >> 9) & 0x7f) + 80;
	tm.tm_mon = ((date >> 5) & 0x0f) - 1;
	tm.tm_mday = date & 0x1f;
	tm.tm_hour = (t >> 11) & 0x1f;
	tm.tm_min = (t >> 5) & 0x3f;
	tm.tm_sec = (t & 0x1f) * 2;
	if (tm.tm_mon < 0)
		tm.tm_mon = 0;
	if (tm.tm_mday == 0)
		tm.tm_mday = 1;
	return (int64_t)timegm(&tm);
}
