/*
 * ldm_write.h - changing Windows dynamic disks: convert a GPT disk to
 * dynamic, add a mirror plex to a simple volume and resync it.
 */
#ifndef GM_LDM_WRITE_H
#define GM_LDM_WRITE_H

#include "ldm.h"
#include "rng.h"
#include "../fmt/guid.h"

/* Progress of a resync: sectors done of all. */
typedef void (*ldm_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Converts basic GPT disk slot to dynamic, joining the machine's group (or
 * making one). The view is stale afterwards: scan again. */
int ldm_convert_dynamic(struct machine *m, struct ldm_view *view, int slot,
			struct gm_err *err);
/* Puts a second plex of simple volume v on disk target and copies the
 * volume onto it (resumable: see ldm_resync); background: the plex is only
 * recorded, the copy is the caller's to start (rebuild_spawn). */
int ldm_add_mirror(struct machine *m, struct ldm_view *view, struct ldm_volume *v,
		   int target, struct guid *plex_guid, bool background, ldm_progress_fn progress,
		   void *pctx, struct gm_err *err);
/* Finishes every interrupted resync of the machine, from its checkpoint.
 * Returns how many plexes it completed, or < 0. */
int ldm_resync(struct machine *m, ldm_progress_fn progress, void *pctx,
	       struct gm_err *err);

/* Copies the dirty regions of every mirror marked dirty (a write was cut
 * off) from its first healthy plex onto the others, flushes them and drops
 * the mark; a plex whose disk is missing is marked failed instead. Returns
 * how many volumes it made whole (their names, comma-separated, in names),
 * or < 0 (the marks that could not be cleared stay). */
/* How far the rebuild of v's rebuilding plex is, 0-100, from the resync
 * checkpoints; -1 when no plex of v is rebuilding. */
int ldm_rebuild_percent(const struct machine *m, const struct ldm_volume *v);
int ldm_heal_dirty(struct machine *m, ldm_progress_fn progress, void *pctx, char *names,
		   size_t cap, struct gm_err *err);
/* Rewrites every member's copy of the database from the group's newest
 * sound copy when some copy is damaged or out of date. Returns how many
 * copies it rewrote (their slots in healed_slots, GM_MAX_SLOTS long), or < 0. */
int ldm_heal(struct machine *m, int *healed_slots, struct gm_err *err);
/* Marks the plexes of v in the bit mask failed (an I/O error was seen):
 * they take no I/O, the volume shows Failed Rd, and volume resync (or
 * machine reboot) copies them again. */
int ldm_mark_failed(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		    uint32_t plexes, struct gm_err *err);
/* Breaks mirror v: the plex on dynamic disk disk_id (a disk record id; the
 * disk may be missing) is deleted (keep false; its own GPT entry goes too),
 * or becomes a simple volume of its own with no letter, whose name is put
 * in new_vol. */
int ldm_break_mirror(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		     uint32_t disk_id, bool keep, char *new_vol, size_t cap,
		     struct gm_err *err);
/* Removes a missing disk from the group; refused while extents use it,
 * unless override (which deletes those extents, and plexes and volumes
 * left empty). */
/* delete volume: the volume, its plexes and their extents leave the
 * database of every disk, and the GPT entries of its plexes go. */
int ldm_delete_volume(struct machine *m, struct ldm_view *view, const struct ldm_volume *v,
		      struct gm_err *err);
int ldm_delete_missing_disk(struct machine *m, struct ldm_view *view, uint32_t disk_id,
			    bool override, struct gm_err *err);
/* Makes an empty dynamic disk basic again: the group forgets it, the LDM
 * metadata partition goes back to the MSR, the database is wiped. */
int ldm_convert_basic(struct machine *m, struct ldm_view *view, int slot,
		      struct gm_err *err);

#endif
