/*
 * fat.h - FAT12/16/32 on-disk codec (Microsoft FAT specification, "FAT:
 * General Overview of On-Disk Format", and the VFAT long-name extension).
 * Pure: buffers in, native structs out.
 */
#ifndef GM_FAT_H
#define GM_FAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fat_type { FAT12 = 12, FAT16 = 16, FAT32 = 32 };

#define FAT_DIRENT 32
#define FAT_MAX_CLUSTERS12 4084u
#define FAT_MAX_CLUSTERS16 65524u
#define FAT_MAX_CLUSTERS32 0x0ffffff4u
#define FAT_ATTR_RO 0x01
#define FAT_ATTR_HIDDEN 0x02
#define FAT_ATTR_SYSTEM 0x04
#define FAT_ATTR_VOLUME 0x08
#define FAT_ATTR_DIR 0x10
#define FAT_ATTR_ARCHIVE 0x20
#define FAT_ATTR_LFN 0x0f
#define FAT_NTRES_LOWER_BASE 0x08
#define FAT_NTRES_LOWER_EXT 0x10

/* The BIOS parameter block and the fields derived from it. */
struct fat_bpb {
	char oem[9];
	uint16_t bytes_per_sec;
	uint8_t sec_per_clus;
	uint16_t rsvd_secs;
	uint8_t nfats;
	uint16_t root_ents;
	uint32_t total_secs;
	uint8_t media;
	uint32_t fat_secs;
	uint16_t secs_per_track;
	uint16_t heads;
	uint32_t hidden_secs;
	/* FAT32 only */
	uint16_t ext_flags;
	uint32_t root_clus;
	uint16_t fsinfo_sec;
	uint16_t backup_boot_sec;
	/* extended boot record */
	uint8_t drive_num;
	bool has_ext;      /* boot signature 0x29 */
	uint32_t serial;
	char label[12];    /* as stored, blanks kept, NUL-terminated */
	/* derived */
	enum fat_type type;
	uint32_t root_secs;    /* FAT12/16 fixed root directory */
	uint32_t first_fat;    /* sector numbers relative to the volume */
	uint32_t first_root;
	uint32_t first_data;
	uint32_t clusters;     /* data clusters: numbered 2 .. clusters + 1 */
	uint32_t clus_bytes;
};

/*
 * Decodes and validates a boot sector against the volume size in bytes.
 * 0, or -1 with *why naming the bad field.
 */
int fat_bpb_decode(const uint8_t *sec, size_t len, uint64_t vol_bytes,
		   struct fat_bpb *out, const char **why);
/* Encodes the boot sector (len >= 512, zero-filled by the caller). */
void fat_bpb_encode(const struct fat_bpb *b, uint8_t *sec, size_t len);
/* Fills the derived fields from the stored ones; -1 if inconsistent. */
int fat_bpb_derive(struct fat_bpb *b, const char **why);

struct fat_fsinfo {
	uint32_t free_count; /* 0xffffffff: unknown */
	uint32_t next_free;
};
int fat_fsinfo_decode(const uint8_t *sec, size_t len, struct fat_fsinfo *out);
void fat_fsinfo_encode(const struct fat_fsinfo *fi, uint8_t *sec, size_t len);

/* FAT entries. */
uint32_t fat_get(const uint8_t *fat, enum fat_type t, uint32_t clus);
void fat_set(uint8_t *fat, enum fat_type t, uint32_t clus, uint32_t val);
uint32_t fat_eoc(enum fat_type t);        /* end-of-chain value we write */
bool fat_is_eoc(enum fat_type t, uint32_t v);
bool fat_is_bad(enum fat_type t, uint32_t v);
/* Bytes of FAT needed for n clusters (plus the two reserved entries). */
uint64_t fat_bytes_for(enum fat_type t, uint32_t clusters);

/* A short (8.3) directory entry. */
struct fat_dirent {
	uint8_t name[11];
	uint8_t attr;
	uint8_t ntres;
	uint8_t crt_tenth;
	uint16_t crt_time, crt_date, acc_date, wrt_time, wrt_date;
	uint32_t first_clus;
	uint32_t size;
};
void fat_dirent_decode(const uint8_t *p, struct fat_dirent *out);
void fat_dirent_encode(const struct fat_dirent *d, uint8_t *p);

/* A long-name entry: up to 13 UTF-16 units. */
struct fat_lfn {
	uint8_t ord;       /* sequence number, 0x40 on the last (first stored) */
	uint8_t chksum;
	uint16_t units[13];
};
void fat_lfn_decode(const uint8_t *p, struct fat_lfn *out);
void fat_lfn_encode(const struct fat_lfn *l, uint8_t *p);
uint8_t fat_lfn_checksum(const uint8_t name[11]);

/* "README  TXT" -> "README.TXT", applying the NT lower-case flags. */
void fat_short_to_str(const uint8_t name[11], uint8_t ntres, char *out);

/*
 * How a long name is stored. If it is a valid 8.3 name whose base and
 * extension are each all upper or all lower case, it needs no long entries
 * (*ntres carries the case). Otherwise *need_lfn is set and basis[] is the
 * short-name basis (upper case, invalid characters made '_', trimmed to 8.3)
 * without a numeric tail; fat_short_tail() adds "~N".
 * Returns -1 for a name FAT cannot hold at all.
 */
int fat_name_plan(const char *utf8, uint8_t basis[11], uint8_t *ntres,
		  bool *need_lfn, bool *lossy);
void fat_short_tail(const uint8_t basis[11], unsigned n, uint8_t out[11]);
/* A long name is valid: non-empty, at most 255 UTF-16 units, none of
 * the characters FAT forbids, not "." or "..". */
bool fat_long_name_valid(const char *utf8);

/* DOS date and time (local time as 2-second units, from 1980). */
void fat_time_encode(int64_t unix_secs, uint16_t *date, uint16_t *time);
int64_t fat_time_decode(uint16_t date, uint16_t time);

#endif
