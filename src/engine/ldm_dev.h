/*
 * ldm_dev.h - a simple, spanned or mirrored dynamic volume as a block
 * device: writes go to every plex, reads to a healthy one, falling over.
 */
#ifndef GM_LDM_DEV_H
#define GM_LDM_DEV_H

#include <stdbool.h>

#include "../io/blkio.h"
#include "ldm.h"

/* v (and the view that holds it) must outlive the device. */
/* A read-only device of any dynamic volume (striped and RAID-5 through
 * ldm_vol_read; the others as ldm_vol_open_dev). */
int ldm_vol_open_read(struct machine *m, const struct ldm_volume *v, struct blkdev **out,
		      struct gm_err *err);
/* view (of v) lets a write record the plexes whose disk is missing as
 * failed; without it such a write fails. */
int ldm_vol_open_dev(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		     struct blkdev **out, struct gm_err *err);
/* Plexes (by bit) that failed an I/O since the device was opened and were
 * not failed before: the caller marks them (ldm_mark_failed). */
uint32_t ldm_vol_dev_failed(struct blkdev *dev);

/* The volume with drive letter l: a dynamic volume by its letter hint,
 * else a basic partition by machine.conf. */
struct vol_handle {
	struct blkdev *dev;
	struct ldm_view *view;         /* dynamic: the view that holds lv */
	bool own_view;                 /* ... freed by vol_close */
	const struct ldm_volume *lv;   /* dynamic: the volume, else NULL */
	uint64_t hidden;               /* first sector on its disk (FAT hidden) */
	uint32_t ss;                   /* sector size */
};
int vol_open_letter(struct machine *m, char l, struct vol_handle *h, struct gm_err *err);
/* The same for reading only: striped and RAID-5 volumes too. */
int vol_open_letter_read(struct machine *m, char l, struct vol_handle *h, struct gm_err *err);
/* Dynamic volume v of machine_ldm(m). */
int vol_open_ldm(struct machine *m, const struct ldm_volume *v, struct vol_handle *h,
		 struct gm_err *err);
/* Closes it. Plexes that failed an I/O are marked failed, and failed (if
 * not NULL) gets the volume's name; else "". */
int vol_close(struct machine *m, struct vol_handle *h, char *failed, size_t cap,
	      struct gm_err *err);

/* Where a change of the NTFS on letter l waits to be finished should a
 * crash cut it off (ntfsvol_commit): DIR/ntfs-journal.L. */
void vol_ntfs_journal(const struct machine *m, char l, char *buf, size_t cap);

/* An NTFS volume keeps its label in its $Volume file, not in the boot
 * sector fs_probe reads: when fs says NTFS, its label is read through
 * libntfs-3g from dynamic volume v, or else from partition pos of slot
 * (left empty when it cannot be read). */
struct fs_probe;
void vol_ntfs_label(struct machine *m, int slot, size_t pos, const struct ldm_volume *v,
		    struct fs_probe *fs);

#endif
