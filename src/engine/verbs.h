/*
 * verbs.h - the changes a front end asks of a machine, each one whole:
 * the policy around the disk, LDM, FAT and NVRAM primitives lives here, so
 * diskpart, format, bootcfg, the machine commands and any later front end
 * (a real-host one, a JSON one) call the same code.
 *
 * Every verb leaves the machine's view current (disks re-read, the LDM
 * view of machine_ldm() rebuilt when it changed) and machine.conf saved.
 * Pointers into the old LDM view are gone after a verb: keep indices.
 * Return convention: see err.h.
 */
#ifndef GM_VERBS_H
#define GM_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fmt/fsprobe.h"
#include "boot.h"
#include "disk.h"
#include "err.h"
#include "fatfs.h"
#include "ldm.h"
#include "ldm_write.h"

struct machine;

/* The dynamic volumes of machine_ldm(), flattened over its disk groups
 * in the order diskpart lists them. */
size_t ldm_volume_count(const struct ldm_view *v);
const struct ldm_volume *ldm_volume_at(const struct ldm_view *v, size_t i);
/* The drive letter a dynamic volume's hint names, 0 if none. */
char ldm_volume_letter(const struct ldm_volume *v);

/* --- disks ---------------------------------------------------------------- */

enum convert_to { CONVERT_GPT, CONVERT_MBR, CONVERT_DYNAMIC, CONVERT_BASIC };

struct convert_result {
	bool deferred; /* completes at the next machine reboot (Server 2003
			* converts the disk of the running boot volume then) */
};

/* convert gpt|mbr|dynamic|basic of the disk in slot. GM_E_ALREADY_DYNAMIC,
 * GM_E_ALREADY_BASIC when it is so already. A conversion that removes the
 * disk's partitions drops their drive letters. */
int machine_convert(struct machine *m, int slot, enum convert_to to,
		    struct convert_result *r, struct gm_err *err);
/* clean: the first and last MiB zeroed, the disk's letters dropped. */
int machine_clean(struct machine *m, int slot, struct gm_err *err);
/* create partition; its position in parts[] in *pos. */
int machine_create_part(struct machine *m, int slot, const struct create_req *req,
			size_t *pos, struct gm_err *err);
/* delete partition, and its drive letter. */
int machine_delete_part(struct machine *m, int slot, size_t pos, bool override,
			struct gm_err *err);
/* assign [letter=L] (L 0: the first free from C), the letter given in
 * *given. GM_E_NOT_SUPPORTED on partitions that take no letter (MSR, LDM),
 * GM_E_NO_LETTER when none is free. */
int machine_assign(struct machine *m, int slot, size_t pos, char letter, char *given,
		   struct gm_err *err);
/* remove [letter=L]: GM_E_NO_LETTER when the partition has not that one. */
int machine_unassign(struct machine *m, int slot, size_t pos, char letter,
		     struct gm_err *err);

/* --- volumes -------------------------------------------------------------- */

/* A volume as a front end names it. */
struct vol_target {
	enum { VOLT_LETTER, VOLT_PART, VOLT_DYNAMIC } kind;
	char letter;   /* VOLT_LETTER */
	int slot;      /* VOLT_PART */
	size_t pos;
	size_t index;  /* VOLT_DYNAMIC: ldm_volume_at(machine_ldm(m), index) */
};

struct format_req {
	enum fat_type kind;
	bool ntfs;            /* NTFS (mkntfs, see ntfsvol.h) instead of kind */
	uint32_t unit;        /* cluster bytes, 0: Windows' default */
	const char *label;    /* checked by the front end */
	bool quick;
	fat_progress_fn progress;
	void *pctx;
};

struct format_result {
	bool planned;          /* the plan below is filled in */
	uint64_t vol_bytes;    /* the size of the volume */
	struct fat_bpb plan;
	enum fs_kind old_kind; /* what the volume held before */
	uint32_t serial;
	char failed_vol[64];   /* a plex failed an I/O and was marked: the
				* volume's name; "" otherwise */
	/* NTFS: */
	uint32_t ntfs_unit;
	uint64_t ntfs_total, ntfs_free; /* bytes, as libntfs-3g reads them back */
};

/* Checks that the volume exists and can be opened (nothing written). */
int volume_check(struct machine *m, const struct vol_target *t, struct gm_err *err);
/* format: through the mirror on a dynamic volume (every plex written), the
 * hidden sectors set to the volume's first sector on its disk; a plex that
 * fails an I/O is marked failed. GM_E_ARGS: the size does not fit the
 * file system. */
int volume_format(struct machine *m, const struct vol_target *t, const struct format_req *req,
		  struct format_result *res, struct gm_err *err);

/* delete volume: a dynamic volume with every plex, or a basic volume's
 * partition (and its letter). GM_E_CRITICAL for the running system's. */
int volume_delete(struct machine *m, const struct vol_target *t, struct gm_err *err);

struct mirror_result {
	struct guid plex;       /* the new plex's partition */
	bool boot_volume;       /* the volume is C:, the boot volume */
	bool boot_entry_failed; /* ... and its boot entry was not written */
	bool background;        /* the copy goes on in a background process */
};
/* add disk=target to dynamic volume index (see ldm_add_mirror); the boot
 * volume's new plex gets "Boot Mirror C: - secondary plex" in NVRAM. With
 * wait false the copy goes on in a background process (rebuild.h) and this
 * returns once the plex is recorded; a machine of block devices (opened
 * exclusively, so a second process cannot) always waits. */
int volume_add_mirror(struct machine *m, size_t index, int target, bool wait,
		      ldm_progress_fn progress, void *pctx, struct mirror_result *r,
		      struct gm_err *err);

struct break_result {
	long new_index;   /* keep: the new simple volume's index, else -1 */
	bool boot_volume; /* the volume was C: (Windows says it did not
			   * update the boot file) */
};
/* break disk=...: disk_id is the LDM disk record (present or missing). */
int volume_break(struct machine *m, size_t index, uint32_t disk_id, bool keep,
		 struct break_result *r, struct gm_err *err);
/* The LDM disk record id of the dynamic disk in slot (0: none), and of the
 * k-th missing disk of the machine (M<k>; 0: none). */
uint32_t ldm_disk_id_of_slot(const struct ldm_view *v, int slot);
const struct ldm_gdisk *ldm_missing_disk(const struct ldm_view *v, int k);
/* delete disk [override] of a missing disk. */
int machine_delete_missing(struct machine *m, uint32_t disk_id, bool override,
			   struct gm_err *err);

/* --- the machine as a whole ---------------------------------------------- */

/* What every command does first, before it reads or writes a volume: the
 * table writes a crash cut off are finished (both GPT copies written from
 * the one the disk reads as), then the mirrors it cut off in a write are
 * made whole (ldm_heal_dirty), then the NTFS changes it cut off after their
 * journal was written are finished (ntfs_journal_replay). < 0 when one cannot be (a mirror still
 * marked shows Resynching and takes no write). */
struct recover_result {
	int tables[16];      /* disks whose table was written again */
	int ntables;
	char mirrors[256];   /* mirrors resynchronised, comma-separated */
	char ntfs[27];       /* letters of NTFS volumes whose change a crash
			      * cut off, finished from their journal */
};
int machine_recover(struct machine *m, struct recover_result *r, struct gm_err *err);

struct reboot_result {
	int converted[16];    /* disks converted to dynamic, in order */
	int nconverted;
	int healed[16];       /* disks whose database copy was rewritten */
	int nhealed;
	int resynced;         /* mirror plexes completed */
	bool real;            /* a real machine: no boot was emulated */
	struct boot_result boot;
};
/* machine reboot: the work Windows does at boot (pending conversions,
 * damaged or stale database copies rewritten, unfinished resyncs), then
 * the firmware's boot. On an error r says what was done before it. */
int machine_reboot(struct machine *m, ldm_progress_fn progress, void *pctx,
		   struct reboot_result *r, struct gm_err *err);
/* volume resync: database copies healed, then every unfinished resync. */
int machine_resync(struct machine *m, ldm_progress_fn progress, void *pctx,
		   struct reboot_result *r, struct gm_err *err);

#endif
