/*
 * rebuild.h - the copy onto a new mirror plex, in a background process of
 * gptmirror, as Windows resynchronises a mirror while the system runs.
 *
 * add disk=N records the plex (its GPT entry and the database, the plex
 * flagged as being rebuilt), then starts a worker ("gptmirror volume resync
 * --worker") and returns. The worker holds no machine lock between its
 * writes: it copies chunk by chunk, each under the machine's I/O lock
 * (.rebuild.lock), which every write to a mirror (all its plexes at once)
 * and every change of a partition table or of the database also takes. A
 * change of layout bumps a generation number there; the worker sees it
 * before its next chunk and reads the disks again. Its checkpoint is its own
 * file (.rebuild); when the copy is whole, whoever holds the machine lock
 * next (the worker itself, or a command that polls, as diskpart's list
 * volume does) marks the plex healthy. A worker that was killed is started
 * again from its checkpoint by the next command.
 */
#ifndef GM_REBUILD_H
#define GM_REBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "env.h"
#include "err.h"

struct machine;

/* What the .rebuild file says. */
struct rebuild_state {
	bool present;   /* a background rebuild was started and not finished */
	bool running;   /* a worker holds it now */
	long pid;       /* running: the worker's process (-1: unknown) */
	char state[16]; /* "copying", "done" or "stopped" */
	char why[200];  /* stopped: why */
};

/* Opens the machine's rebuild lock if a rebuild was ever started (called
 * by machine_open; closed by machine_close). */
void rebuild_attach(struct machine *m);
/* The state of the background rebuild. */
void rebuild_get(struct machine *m, struct rebuild_state *st);
/* The checkpoint of extent name in the worker's file: true and *done when
 * it has one. */
bool rebuild_checkpoint_get(const struct machine *m, const char *extent, uint64_t *done);
/* The worker records its checkpoint (sectors done of extent). */
int rebuild_checkpoint_set(struct machine *m, const char *extent, uint64_t done,
			   struct gm_err *err);
/* Forgets the background rebuild (its copy is finished or taken over). */
void rebuild_forget(struct machine *m);

/* Starts the worker (detached: it outlives the caller). */
int rebuild_spawn(struct machine *m, struct gm_err *err);
/* Stops a running worker and waits until it has; its checkpoint stays, for
 * the caller to go on from (volume resync, machine reboot, machine boot).
 * Returns true when one was running. */
bool rebuild_stop(struct machine *m);
/* Called by commands that hold the machine lock: a finished copy is marked
 * healthy (ldm_resync), a killed worker is started again. Returns 1 when a
 * plex became healthy, 0 when nothing changed, < 0 on error. */
int rebuild_poll(struct machine *m, struct gm_err *err);

/* The I/O lock: every write to a mirror and every layout change, and the
 * worker's chunks. Nested calls count. No-ops when no rebuild was ever
 * started on the machine. */
void rebuild_io_lock(struct machine *m);
void rebuild_io_unlock(struct machine *m);
/* Under the I/O lock: the layout (tables, database, slots) changed. */
void rebuild_layout_changed(struct machine *m);
/* The worker, before a chunk (under the I/O lock): false when the layout
 * changed since it read the disks. */
bool rebuild_layout_same(struct machine *m);

/* The worker's main: copies every plex being rebuilt, then marks them
 * healthy under the machine lock. 0 (also when another worker is at it),
 * or < 0 (why in err, and in .rebuild as the state "stopped"). */
int rebuild_worker(const char *dir, const struct gm_env *env, struct gm_err *err);

#endif
