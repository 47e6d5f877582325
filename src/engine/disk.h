/*
 * disk.h - one disk of a machine: its partition table as a native model,
 * read with a state per redundant copy, edited in memory and committed in a
 * fixed order (backup GPT before primary).
 */
#ifndef GM_DISK_H
#define GM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fmt/gpt.h"
#include "../fmt/mbr.h"
#include "../io/blkio.h"
#include "err.h"
#include "rng.h"

enum disk_style {
	DS_RAW,        /* no partition table */
	DS_MBR,
	DS_GPT,
	DS_UNREADABLE, /* a GPT disk whose two copies are both damaged */
	DS_INVALID,    /* the image is not a disk at all */
};

enum part_kind {
	PK_ESP,
	PK_MSR,
	PK_BASIC,
	PK_LDM_META,
	PK_LDM_DATA,
	PK_RECOVERY,
	PK_OTHER,
	PK_MBR_PRIMARY,
	PK_MBR_EXTENDED,
};

enum profile {
	PROFILE_MODERN = 0,
	PROFILE_2003 = 1,
};

struct part {
	uint32_t index;     /* slot in the GPT entry array or MBR table */
	uint64_t first_lba;
	uint64_t last_lba;  /* inclusive */
	enum part_kind kind;
	struct gpt_ent ent; /* GPT only */
	uint8_t mbr_type;   /* MBR only */
	uint8_t mbr_status;
};

/* Which redundant copy was used, when one was damaged. */
enum gpt_recovery {
	GPT_REC_NONE,
	GPT_REC_FROM_PRIMARY, /* backup damaged or missing: using primary */
	GPT_REC_FROM_BACKUP,  /* primary damaged or missing: using backup */
};

struct disk {
	int slot;
	struct blkdev *dev;
	uint64_t lbas;
	uint32_t ss;
	enum disk_style style;
	char why[256];        /* UNREADABLE / INVALID, or RAW holding data */
	char ro_why[320];     /* why a block device is not written ("" otherwise) */
	bool raw_has_data;    /* RAW, but sector 0 is not empty */

	enum gpt_state prim_state, back_state;
	char prim_why[96], back_why[96];
	enum gpt_recovery recovery;
	bool copies_differ;   /* both ok but not the same table */
	bool pmbr_bad;        /* GPT without a valid protective MBR */
	struct gpt_hdr hdr;   /* the table in use, in primary form */

	struct mbr mbr;

	struct part *parts;   /* in table order */
	size_t nparts;
	uint32_t max_parts;

	/* Called before a write of the tables that touches two places (the
	 * GPT's two copies; clean) with begin true, and after it with begin
	 * false: the machine records the write as under way, so that a crash
	 * between the two is healed by the next command (NULL: none). */
	int (*table_hook)(void *ctx, int slot, bool begin, struct gm_err *err);
	void *hook_ctx;
};

struct extent {
	uint64_t first, last; /* inclusive LBAs */
};

/*
 * Opens and reads a disk image. Never fails for bad contents: the state is
 * recorded in the disk (UNREADABLE, INVALID ...). Fails only for I/O errors
 * on open.
 */
int disk_open(const char *path, int slot, uint32_t ss, struct disk **out,
	      struct gm_err *err);
/* The same with the fault-injecting backend between the disk and its
 * image (crash may be NULL; see blk_open_fault). */
int disk_open_faulty(const char *path, int slot, uint32_t ss, uint64_t bad_start,
		     uint64_t bad_end, struct blk_crash *crash, struct disk **out,
		     struct gm_err *err);
/* Reads the tables again from the image. */
int disk_reload(struct disk *d, struct gm_err *err);
void disk_close(struct disk *d);
/* Opens a disk over an existing device (tests: fault injection). Owns dev. */
int disk_open_dev(struct blkdev *dev, int slot, struct disk **out,
		  struct gm_err *err);

uint64_t disk_bytes(const struct disk *d);
uint64_t part_bytes(const struct disk *d, const struct part *p);
uint64_t part_offset(const struct disk *d, const struct part *p);
enum part_kind part_kind_of_type(const struct guid *type);
/* Unused space inside the usable area, in offset order. Returns the count. */
size_t disk_free_extents(const struct disk *d, struct extent *out, size_t max);
uint64_t disk_free_bytes(const struct disk *d);
/* A stable key for a partition (for letters): its GUID, or MBR sig+start. */
void part_key(const struct disk *d, const struct part *p, char *buf, size_t cap);

/* Refuses (GM_E_UNREADABLE) when the disk must not be written. */
int disk_check_writable(const struct disk *d, struct gm_err *err);

struct create_req {
	enum part_kind kind;   /* PK_ESP, PK_MSR, PK_BASIC */
	uint64_t size_mb;      /* 0: default for the kind */
	bool has_offset;
	uint64_t offset_kb;
	uint64_t at_lba;       /* has_offset: the first sector instead (Setup's
			        * layouts, not on a KB boundary) */
	uint64_t sectors;      /* instead of size_mb: so many sectors */
	bool has_type;         /* id=: a type GUID (GPT) or byte (MBR) */
	struct guid type;
	uint8_t mbr_type;
};

/* The operations edit the model and commit it; on error nothing is written.
 * create returns the new partition's position in parts[] via *pos. */
int disk_create_part(struct disk *d, struct rng *rng, enum profile prof,
		     const struct create_req *req, size_t *pos,
		     struct gm_err *err);
/* The lowest GPT entry slot no partition uses (max_parts: none). A
 * partition keeps its slot until it is deleted. */
uint32_t disk_free_slot(const struct disk *d);
/* Entry slots packed in the model's order, for the conversions that write
 * a whole new layout, as Windows does. */
void disk_renumber(struct disk *d);
int disk_delete_part(struct disk *d, size_t pos, bool override,
		     struct gm_err *err);
int disk_convert_gpt(struct disk *d, struct rng *rng, enum profile prof,
		     struct gm_err *err);
int disk_convert_mbr(struct disk *d, struct rng *rng, struct gm_err *err);
int disk_clean(struct disk *d, struct gm_err *err);
/* Writes the model (repairing any damaged copy). */
int disk_commit(struct disk *d, struct gm_err *err);

#endif
