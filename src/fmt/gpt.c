/*
 * gpt.c - GUID Partition Table codec.
 *
 * Based on the UEFI specification 2.10, section 5.3 (GPT disk layout).
 */
#include "gpt.h"

#include <string.h>

#include "bytes.h"
#include "crc32.h"
#include "utf16.h"

/* Type GUIDs in disk byte order, written out once from their text form. */
#define G(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                            \
	{{(uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16),            \
	  (uint8_t)((uint32_t)(a) >> 24), (uint8_t)(b), (uint8_t)((b) >> 8),  \
	  (uint8_t)(c), (uint8_t)((c) >> 8), d0, d1, d2, d3, d4, d5, d6, d7}}

const struct guid GPT_TYPE_ESP =
	G(0xc12a7328, 0xf81f, 0x11d2, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b);
const struct guid GPT_TYPE_MSR =
	G(0xe3c9e316, 0x0b5c, 0x4db8, 0x81, 0x7d, 0xf9, 0x2d, 0xf0, 0x02, 0x15, 0xae);
const struct guid GPT_TYPE_BASIC_DATA =
	G(0xebd0a0a2, 0xb9e5, 0x4433, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7);
const struct guid GPT_TYPE_LDM_METADATA =
	G(0x5808c8aa, 0x7e8f, 0x42e0, 0x85, 0xd2, 0xe1, 0xe9, 0x04, 0x34, 0xcf, 0xb3);
const struct guid GPT_TYPE_LDM_DATA =
	G(0xaf9b60a0, 0x1431, 0x4f62, 0xbc, 0x68, 0x33, 0x11, 0x71, 0x4a, 0x69, 0xad);
const struct guid GPT_TYPE_RECOVERY =
	G(0xde94bba4, 0x06d1, 0x4d40, 0xa1, 0x6a, 0xbf, 0xd5, 0x01, 0x79, 0xd6, 0xac);

const char *gpt_state_str(enum gpt_state s)
{
	switch (s) {
	case GPT_MISSING:
		return "missing";
	case GPT_CORRUPT:
		return "corrupt";
	case GPT_OK:
		return "ok";
	}
	return "?";
}

uint64_t gpt_entries_bytes(const struct gpt_hdr *h)
{
	uint64_t n;

	if (mul_u64(h->num_entries, h->entry_size, &n) < 0)
		return 0;
	return n;
}

uint64_t gpt_entries_sectors(const struct gpt_hdr *h, uint32_t sector_size)
{
	uint64_t bytes = gpt_entries_bytes(h);

	return (bytes + sector_size - 1) / sector_size;
}

enum gpt_state gpt_hdr_decode(const uint8_t *buf, size_t len,
			      struct gpt_hdr *out, const char **why)
{
	struct gpt_hdr h;
	uint8_t tmp[GPT_HDR_SIZE + 420];

	*why = NULL;
	if (len < 512) {
		*why = "sector too small";
		return GPT_CORRUPT;
	}
	if (memcmp(buf + GPT_HDR_SIG, GPT_SIGNATURE, 8) != 0) {
		*why = "no GPT signature";
		return GPT_MISSING;
	}
	memset(&h, 0, sizeof(h));
	h.revision = get_le32(buf + GPT_HDR_REV);
	h.hdr_size = get_le32(buf + GPT_HDR_HSIZE);
	h.hdr_crc = get_le32(buf + GPT_HDR_HCRC);
	h.my_lba = get_le64(buf + GPT_HDR_MYLBA);
	h.alt_lba = get_le64(buf + GPT_HDR_ALTLBA);
	h.first_usable = get_le64(buf + GPT_HDR_FIRST);
	h.last_usable = get_le64(buf + GPT_HDR_LAST);
	memcpy(h.disk_guid.b, buf + GPT_HDR_GUID, 16);
	h.entries_lba = get_le64(buf + GPT_HDR_ENTLBA);
	h.num_entries = get_le32(buf + GPT_HDR_NENT);
	h.entry_size = get_le32(buf + GPT_HDR_ENTSZ);
	h.entries_crc = get_le32(buf + GPT_HDR_ECRC);

	if ((h.revision >> 16) != 1) {
		*why = "unsupported GPT revision";
		return GPT_CORRUPT;
	}
	if (h.hdr_size < GPT_HDR_SIZE || h.hdr_size > len ||
	    h.hdr_size > sizeof(tmp)) {
		*why = "header size out of range";
		return GPT_CORRUPT;
	}
	memcpy(tmp, buf, h.hdr_size);
	put_le32(tmp + GPT_HDR_HCRC, 0);
	if (gm_crc32(tmp, h.hdr_size) != h.hdr_crc) {
		*why = "header CRC mismatch";
		return GPT_CORRUPT;
	}
	if (h.entry_size < GPT_ENT_SIZE || h.entry_size % 8 != 0 ||
	    h.entry_size > 4096) {
		*why = "entry size out of range";
		return GPT_CORRUPT;
	}
	if (h.num_entries == 0 || h.num_entries > GPT_MAX_ENTRIES) {
		*why = "entry count out of range";
		return GPT_CORRUPT;
	}
	if (h.first_usable > h.last_usable) {
		*why = "usable range is empty";
		return GPT_CORRUPT;
	}
	*out = h;
	return GPT_OK;
}

int gpt_hdr_check_geometry(const struct gpt_hdr *h, uint64_t disk_lbas,
			   uint32_t sector_size, int primary, const char **why)
{
	uint64_t last = disk_lbas - 1;
	uint64_t esec = gpt_entries_sectors(h, sector_size);
	uint64_t eend;

	if (disk_lbas < 4) {
		*why = "disk too small";
		return -1;
	}
	if (h->my_lba != (primary ? 1 : last)) {
		*why = primary ? "primary header is not at LBA 1"
			       : "backup header is not in the last sector";
		return -1;
	}
	if (h->last_usable >= last || h->first_usable < 2) {
		*why = "usable range runs past the disk";
		return -1;
	}
	/* The backup array must fit between the usable range and the last
	 * sector; a table that leaves no room for it describes a larger
	 * disk than this one (a truncated image), and repairing it would
	 * write the backup over partitions. */
	if (h->last_usable + esec >= last) {
		*why = "usable range runs into the backup area (truncated image?)";
		return -1;
	}
	if (add_u64(h->entries_lba, esec, &eend) < 0 || eend > disk_lbas) {
		*why = "entry array runs past the disk";
		return -1;
	}
	if (h->entries_lba < 2 && primary) {
		*why = "entry array overlaps the header";
		return -1;
	}
	/* The array must lie wholly outside the usable range. */
	if (!(eend <= h->first_usable || h->entries_lba > h->last_usable)) {
		*why = "entry array overlaps the usable range";
		return -1;
	}
	if (!primary && eend > last) {
		*why = "backup entry array overlaps the backup header";
		return -1;
	}
	*why = NULL;
	return 0;
}

void gpt_hdr_encode(const struct gpt_hdr *h, uint8_t *buf, size_t len)
{
	memset(buf, 0, len);
	memcpy(buf + GPT_HDR_SIG, GPT_SIGNATURE, 8);
	put_le32(buf + GPT_HDR_REV, h->revision);
	put_le32(buf + GPT_HDR_HSIZE, GPT_HDR_SIZE);
	put_le64(buf + GPT_HDR_MYLBA, h->my_lba);
	put_le64(buf + GPT_HDR_ALTLBA, h->alt_lba);
	put_le64(buf + GPT_HDR_FIRST, h->first_usable);
	put_le64(buf + GPT_HDR_LAST, h->last_usable);
	memcpy(buf + GPT_HDR_GUID, h->disk_guid.b, 16);
	put_le64(buf + GPT_HDR_ENTLBA, h->entries_lba);
	put_le32(buf + GPT_HDR_NENT, h->num_entries);
	put_le32(buf + GPT_HDR_ENTSZ, h->entry_size);
	put_le32(buf + GPT_HDR_ECRC, h->entries_crc);
	put_le32(buf + GPT_HDR_HCRC, gm_crc32(buf, GPT_HDR_SIZE));
}

void gpt_ent_decode(const uint8_t *buf, struct gpt_ent *out)
{
	memcpy(out->type.b, buf + GPT_ENT_TYPE, 16);
	memcpy(out->uniq.b, buf + GPT_ENT_UNIQ, 16);
	out->first_lba = get_le64(buf + GPT_ENT_FIRST);
	out->last_lba = get_le64(buf + GPT_ENT_LAST);
	out->attrs = get_le64(buf + GPT_ENT_ATTR);
	for (unsigned i = 0; i < GPT_NAME_UNITS; i++)
		out->name[i] = get_le16(buf + GPT_ENT_NAME + 2 * i);
}

void gpt_ent_encode(const struct gpt_ent *e, uint8_t *buf)
{
	memcpy(buf + GPT_ENT_TYPE, e->type.b, 16);
	memcpy(buf + GPT_ENT_UNIQ, e->uniq.b, 16);
	put_le64(buf + GPT_ENT_FIRST, e->first_lba);
	put_le64(buf + GPT_ENT_LAST, e->last_lba);
	put_le64(buf + GPT_ENT_ATTR, e->attrs);
	for (unsigned i = 0; i < GPT_NAME_UNITS; i++)
		put_le16(buf + GPT_ENT_NAME + 2 * i, e->name[i]);
}

int gpt_ent_is_used(const struct gpt_ent *e)
{
	return !guid_is_zero(&e->type);
}

void gpt_ent_name(const struct gpt_ent *e, char *buf, size_t cap)
{
	uint8_t raw[2 * GPT_NAME_UNITS];

	for (unsigned i = 0; i < GPT_NAME_UNITS; i++)
		put_le16(raw + 2 * i, e->name[i]);
	if (utf16le_to_utf8(raw, GPT_NAME_UNITS, buf, cap) < 0 && cap > 0)
		buf[0] = '\0';
}

int gpt_ent_set_name(struct gpt_ent *e, const char *utf8)
{
	uint8_t raw[2 * GPT_NAME_UNITS];

	if (utf8_to_utf16le(utf8, raw, GPT_NAME_UNITS) < 0)
		return -1;
	for (unsigned i = 0; i < GPT_NAME_UNITS; i++)
		e->name[i] = get_le16(raw + 2 * i);
	return 0;
}
