/*
 * ldm.h - Windows Logical Disk Manager ("dynamic disk") database codec:
 * PRIVHEAD, TOCBLOCK, VMDB and the VBLK records (disk group, disk, volume,
 * component, partition). Every integer inside LDM is big-endian.
 * Layout as in ../shared/reference/ldm-format.md.
 */
#ifndef GM_LDM_H
#define GM_LDM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LDM_GUID_STR 36

struct ldm_privhead {
	uint16_t ver_major, ver_minor;
	uint64_t usn;
	char disk_guid[LDM_GUID_STR + 1];
	char dg_guid[LDM_GUID_STR + 1];
	char dg_name[32];
	uint64_t public_start, public_size;   /* absolute LBAs */
	uint64_t private_start, private_size; /* absolute LBAs */
	uint64_t toc1, toc2;                  /* relative to private start */
	uint64_t config_size, log_size;
	uint32_t checksum;
	bool checksum_ok;
};

struct ldm_toc_region {
	char name[9];
	uint64_t start, size; /* relative to private start */
};

struct ldm_tocblock {
	uint64_t usn;
	struct ldm_toc_region config, log;
	bool checksum_ok;
};

struct ldm_vmdb {
	uint32_t last_seq;      /* slots in the config region (incl. header) */
	uint32_t vblk_size;
	uint32_t first_offset;
	uint16_t status;
	uint16_t ver_major, ver_minor;
	char dg_name[32];
	char dg_guid[LDM_GUID_STR + 1];
	uint64_t committed_tx, pending_tx;
	uint32_t n_vol, n_comp, n_part, n_disk;
};

/* 32-bit sum of the 512 bytes with the checksum field (offset 8) as 0. */
uint32_t ldm_checksum(const uint8_t *sec);
int ldm_privhead_decode(const uint8_t *sec, size_t len, struct ldm_privhead *out,
			const char **why);
int ldm_tocblock_decode(const uint8_t *sec, size_t len, struct ldm_tocblock *out,
			const char **why);
int ldm_vmdb_decode(const uint8_t *sec, size_t len, struct ldm_vmdb *out,
		    const char **why);

/* --- records ------------------------------------------------------------ */

enum ldm_rec_type {
	LDM_REC_VOLUME = 1,
	LDM_REC_COMPONENT = 2,
	LDM_REC_PARTITION = 3,
	LDM_REC_DISK = 4,
	LDM_REC_GROUP = 5,
};

enum ldm_layout { LDM_STRIPE = 1, LDM_CONCAT = 2, LDM_RAID5 = 3 };

struct ldm_rec {
	enum ldm_rec_type type;
	uint8_t rev;
	uint8_t flags;
	uint32_t id;
	char name[64];
	union {
		struct {
			char guid[LDM_GUID_STR + 1];
		} disk;
		struct {
			char vtype[16];     /* "gen", "raid5" */
			char state[15];
			uint8_t read_policy; /* 3 gen, 4 raid5 */
			uint8_t number;
			uint32_t vflags;
			uint32_t nchildren;
			uint64_t size;       /* sectors */
			uint8_t part_type;
			uint8_t guid[16];    /* RFC order */
			char hint[16];
		} vol;
		struct {
			char state[16];
			uint8_t layout;
			uint32_t cflags;
			uint32_t nparts;
			uint32_t parent;     /* volume id */
			uint64_t stripe;     /* sectors, stripe / RAID-5 */
			uint32_t columns;
		} comp;
		struct {
			uint32_t pflags;
			uint64_t start;      /* relative to the public region */
			uint64_t vol_offset;
			uint64_t size;
			uint32_t parent;     /* component id */
			uint32_t disk;       /* disk id */
			uint32_t column;
		} part;
	} u;
};

/* PRIVHEAD fields: byte offsets, shared by decoder and encoder. */
enum {
	PH_CHECKSUM = 0x008,
	PH_VER_MAJOR = 0x00c,
	PH_VER_MINOR = 0x00e,
	PH_USN = 0x018,
	PH_PH1_LBA = 0x020,
	PH_PH2_LBA = 0x028,
	PH_DISK_GUID = 0x030,
	PH_HOST_GUID = 0x070,
	PH_DG_GUID = 0x0b0,
	PH_DG_NAME = 0x0f0,
	PH_SECTOR_SIZE = 0x10f,
	PH_PUBLIC_START = 0x11b,
	PH_PUBLIC_SIZE = 0x123,
	PH_PRIVATE_START = 0x12b,
	PH_PRIVATE_SIZE = 0x133,
	PH_TOC1 = 0x13b,
	PH_TOC2 = 0x143,
	PH_NUM_CONFIGS = 0x14b,
	PH_NUM_LOGS = 0x14f,
	PH_CONFIG_SIZE = 0x153,
	PH_LOG_SIZE = 0x15b,
	PH_DISK_SIGNATURE = 0x163,
};
/* TOCBLOCK fields: byte offsets, shared by decoder and encoder. */
enum {
	TOC_CHECKSUM = 0x008,
	TOC_USN = 0x00c,
	TOC_REGION1 = 0x024,
	TOC_REGION2 = 0x046,
};
/* A TOCBLOCK region entry fields: byte offsets, shared by decoder and encoder. */
enum {
	TOCR_START = 0x00a,
	TOCR_SIZE = 0x012,
	TOCR_FLAGS1 = 0x01a,
	TOCR_FLAGS2 = 0x01c,
};
/* VMDB fields: byte offsets, shared by decoder and encoder. */
enum {
	VMDB_LAST_SEQ = 0x004,
	VMDB_VBLK_SIZE = 0x008,
	VMDB_FIRST_OFFSET = 0x00c,
	VMDB_STATUS = 0x010,
	VMDB_VER_MAJOR = 0x012,
	VMDB_VER_MINOR = 0x014,
	VMDB_DG_NAME = 0x016,
	VMDB_DG_GUID = 0x035,
	VMDB_COMMITTED_TX = 0x075,
	VMDB_PENDING_TX = 0x07d,
	VMDB_N_VOL = 0x085,
	VMDB_N_COMP = 0x089,
	VMDB_N_PART = 0x08d,
	VMDB_N_DISK = 0x091,
	VMDB_N_VOL2 = 0x0a1,
	VMDB_TIME = 0x0bd,
};
/* A VBLK slot: its framing, then a fragment of a record. */
#define LDM_SLOT_SIZE 128
#define LDM_SLOT_PAYLOAD 112
enum {
	VBLK_SEQ = 0x04,
	VBLK_GROUP = 0x08,
	VBLK_FRAG_INDEX = 0x0c,
	VBLK_FRAG_COUNT = 0x0e,
	VBLK_PAYLOAD = 0x10,
};

/* One VBLK slot's framing. */
struct ldm_slot {
	uint32_t seq;
	uint32_t group;
	uint16_t frag_index, frag_count;
	const uint8_t *payload; /* 112 bytes */
};
/* 0 ok, 1 not a VBLK (end of the area), -1 malformed. */
int ldm_slot_decode(const uint8_t *p, size_t len, struct ldm_slot *out);
/* Writes slot s (payload NULL: an empty one) into p's LDM_SLOT_SIZE bytes. */
void ldm_slot_encode(const struct ldm_slot *s, uint8_t *p);
/* Decodes a whole (joined) record. 0 ok, 1 a type we skip (blank), -1 bad. */
int ldm_rec_decode(const uint8_t *rec, size_t len, struct ldm_rec *out,
		   const char **why);

/* --- encoders (a fresh database, as Windows 2008 R2 lays one out) ------- */

#define LDM_PRIVATE_SECTORS 2048
#define LDM_TOC1 2
#define LDM_TOC2 2045
#define LDM_CONFIG_START 17
#define LDM_CONFIG_SECTORS 1481
#define LDM_LOG_START 1498
#define LDM_LOG_SECTORS 224
#define LDM_PH2 1856
#define LDM_PH1 2047

void ldm_privhead_encode(const struct ldm_privhead *h, uint8_t *sec);
void ldm_tocblock_encode(uint64_t usn, uint8_t *sec);
void ldm_vmdb_encode(const struct ldm_vmdb *v, uint64_t filetime, uint8_t *sec);
void ldm_klog_encode(uint64_t tx, uint8_t *two_sectors);
/* Encodes a record (8-byte header + body) with commit transaction tx;
 * returns its length or -1 if it does not fit cap (at most 4 x 112). */
int ldm_rec_encode(const struct ldm_rec *r, uint64_t tx, uint8_t *out, size_t cap);

#endif
