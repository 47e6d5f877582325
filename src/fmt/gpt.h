/*
 * gpt.h - GUID Partition Table codec (UEFI specification 2.10, chapter 5).
 *
 * Pure: buffers in, native structs out, and back. The caller does the I/O
 * and the policy (which copy to trust, when to repair).
 */
#ifndef GM_GPT_H
#define GM_GPT_H

#include <stddef.h>
#include <stdint.h>

#include "guid.h"

#define GPT_SIGNATURE     "EFI PART"
#define GPT_REVISION      0x00010000u
#define GPT_HDR_SIZE      92u
#define GPT_ENT_SIZE      128u
#define GPT_NUM_ENTRIES   128u
#define GPT_NAME_UNITS    36u /* UTF-16 code units in an entry's name */
#define GPT_MAX_ENTRIES   4096u /* we refuse to read more than this */

/* Header field offsets. */
enum {
	GPT_HDR_SIG = 0,
	GPT_HDR_REV = 8,
	GPT_HDR_HSIZE = 12,
	GPT_HDR_HCRC = 16,
	GPT_HDR_RSVD = 20,
	GPT_HDR_MYLBA = 24,
	GPT_HDR_ALTLBA = 32,
	GPT_HDR_FIRST = 40,
	GPT_HDR_LAST = 48,
	GPT_HDR_GUID = 56,
	GPT_HDR_ENTLBA = 72,
	GPT_HDR_NENT = 80,
	GPT_HDR_ENTSZ = 84,
	GPT_HDR_ECRC = 88,
};
_Static_assert(GPT_HDR_ECRC + 4 == GPT_HDR_SIZE, "GPT header is 92 bytes");

/* Entry field offsets. */
enum {
	GPT_ENT_TYPE = 0,
	GPT_ENT_UNIQ = 16,
	GPT_ENT_FIRST = 32,
	GPT_ENT_LAST = 40,
	GPT_ENT_ATTR = 48,
	GPT_ENT_NAME = 56,
};
_Static_assert(GPT_ENT_NAME + 2 * GPT_NAME_UNITS == GPT_ENT_SIZE,
	       "GPT entry is 128 bytes");

struct gpt_hdr {
	uint32_t revision;
	uint32_t hdr_size;
	uint32_t hdr_crc;     /* as read; recomputed by encode */
	uint64_t my_lba;
	uint64_t alt_lba;
	uint64_t first_usable;
	uint64_t last_usable;
	struct guid disk_guid;
	uint64_t entries_lba;
	uint32_t num_entries;
	uint32_t entry_size;
	uint32_t entries_crc;
};

struct gpt_ent {
	struct guid type;
	struct guid uniq;
	uint64_t first_lba;
	uint64_t last_lba; /* inclusive */
	uint64_t attrs;
	uint16_t name[GPT_NAME_UNITS];
};

/* What a copy (header + its entry array) was found to be. */
enum gpt_state {
	GPT_MISSING, /* no signature there */
	GPT_CORRUPT, /* signature, but CRC or fields wrong */
	GPT_OK,
};
const char *gpt_state_str(enum gpt_state s);

/*
 * Decodes a header from one sector. Returns GPT_OK, GPT_MISSING (no
 * signature) or GPT_CORRUPT with *why set to the reason. Checks signature,
 * revision major, header size, header CRC and the entry-array geometry
 * that does not depend on the disk.
 */
enum gpt_state gpt_hdr_decode(const uint8_t *buf, size_t len,
			      struct gpt_hdr *out, const char **why);
/*
 * Checks a decoded header against the disk it was read from: my_lba, the
 * usable range, and that the entry array lies outside it and on the disk.
 * 0 if sound, -1 with *why set.
 */
int gpt_hdr_check_geometry(const struct gpt_hdr *h, uint64_t disk_lbas,
			   uint32_t sector_size, int primary, const char **why);
/* Encodes into a sector (len >= 512), computing the header CRC. */
void gpt_hdr_encode(const struct gpt_hdr *h, uint8_t *buf, size_t len);

void gpt_ent_decode(const uint8_t *buf, struct gpt_ent *out);
void gpt_ent_encode(const struct gpt_ent *e, uint8_t *buf);
int gpt_ent_is_used(const struct gpt_ent *e);
/* Name as UTF-8 into buf (at least 3 * 36 + 1 bytes). */
void gpt_ent_name(const struct gpt_ent *e, char *buf, size_t cap);
/* Sets the name from UTF-8; -1 if invalid or longer than 36 units. */
int gpt_ent_set_name(struct gpt_ent *e, const char *utf8);

/* Bytes of the entry array for a header (num_entries * entry_size), or 0. */
uint64_t gpt_entries_bytes(const struct gpt_hdr *h);
/* Sectors the entry array occupies. */
uint64_t gpt_entries_sectors(const struct gpt_hdr *h, uint32_t sector_size);

/* Well-known partition types. */
extern const struct guid GPT_TYPE_ESP;
extern const struct guid GPT_TYPE_MSR;
extern const struct guid GPT_TYPE_BASIC_DATA;
extern const struct guid GPT_TYPE_LDM_METADATA;
extern const struct guid GPT_TYPE_LDM_DATA;
extern const struct guid GPT_TYPE_RECOVERY;

#endif
