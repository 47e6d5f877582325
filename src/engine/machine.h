/*
 * machine.h - a directory that stands for one computer: disk slots mapped to
 * image files, the drive letters of basic volumes, and the seeded-draw
 * counter, all in machine.conf (DESIGN.md section 1).
 */
#ifndef GM_MACHINE_H
#define GM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#include "disk.h"
#include "env.h"
#include "err.h"
#include "rng.h"

#define GM_MAX_SLOTS 16
#define GM_CONF "machine.conf"
#define GM_NVRAM "nvram.fd"

struct slot {
	char *image;      /* file name relative to the machine dir; NULL: empty;
			   * a device slot: the path the user named */
	uint32_t ss;      /* sector size */
	struct disk *disk;
	struct gm_err open_err; /* why the image could not be opened */
	bool device;      /* a block device (or an image file) the user named */
	char identity[512]; /* a device slot: the disk it must be (machine_identity) */
	bool moved;       /* the path now leads to another disk: never written */
};

struct letter_map {
	char letter;
	char key[64];     /* partition key (see part_key) */
};

struct machine {
	char *dir;
	enum profile profile;
	int nslots;
	struct slot slots[GM_MAX_SLOTS];
	struct letter_map letters[26];
	int nletters;
	struct rng rng;
	uint64_t saved_counter;
	bool conf_dirty;
	char **extra;     /* machine.conf lines we do not know: kept as is */
	int nextra;
	int lockfd;
	struct gm_env env;        /* the settings it was opened with */
	struct ldm_view *ldm;     /* the dynamic disks (machine_ldm) */
	bool ldm_read;
	struct gm_err ldm_err;
	char *nvram;      /* "efivarfs", a store file the user named, or NULL:
			   * nvram.fd in the machine directory */
	int rbfd;         /* .rebuild.lock (rebuild.h), or -1: no background
			   * rebuild was ever started */
	int rb_depth;     /* nested holds of the I/O lock */
	bool rb_worker;   /* this process is the background copy */
	uint64_t rb_gen;  /* the worker: the layout generation it read */
};

struct machine_spec {
	uint64_t sizes[GM_MAX_SLOTS];
	int ndisks;
	enum profile profile;
	uint32_t ss;
	const char *pending; /* a machine.conf key the new machine gets, set to
			      * 1 (the work it stands for is under way) */
	const char *devices[GM_MAX_SLOTS]; /* real machines: the slots are these
					    * block devices (or existing images);
					    * sizes and ss come from them */
	const char *nvram;   /* "efivarfs", a store file, or NULL (nvram.fd) */
};

int parse_size(const char *s, uint64_t *out);   /* "10G", "512M", "4096" */
const char *profile_str(enum profile p);
int profile_parse(const char *s, enum profile *out);

/* Resolves -m / GPTMIRROR_MACHINE / "." into a directory path. */
const char *machine_dir_default(const char *opt, const struct gm_env *env);
int machine_create(const char *dir, const struct machine_spec *spec,
		   const struct gm_env *env, struct gm_err *err);
/* Takes the machine's lock (held until machine_close), then reads
 * machine.conf and opens its disks. */
int machine_open(const char *dir, const struct gm_env *env, struct machine **out,
		 struct gm_err *err);
/* Sets the tests' crash hook (GPTMIRROR_CRASH_AFTER_WRITES) for the
 * process; machine_open does, and whatever writes before it. */
void machine_crash_hook(const struct gm_env *env);
/* The same without the lock, for the background copy (rebuild.c), which
 * never writes machine.conf and writes only a new plex, under the I/O
 * lock. */
int machine_open_unlocked(const char *dir, const struct gm_env *env, struct machine **out,
			  struct gm_err *err);
/* Rewrites machine.conf atomically if anything in it changed. */
int machine_save(struct machine *m, struct gm_err *err);
void machine_close(struct machine *m);

/* A machine of real devices (or the firmware's NVRAM): what only an image
 * machine can do (boot emulation, QEMU, pull-disk) is refused. */
bool machine_is_real(const struct machine *m);
/* Adds block device (or existing image) path in slot n. */
int machine_insert_device(struct machine *m, int n, const char *path, struct gm_err *err);

/* Present disk in slot n, or NULL. */
struct disk *machine_disk(struct machine *m, int n);
/* Takes disk n out; its image moves to pulled/ under a free name, given
 * in kept (may be NULL). */
int machine_pull_disk(struct machine *m, int n, char *kept, size_t cap, struct gm_err *err);
int machine_insert_disk(struct machine *m, int n, uint64_t size,
			const char *image, uint32_t ss, struct gm_err *err);
/* Re-reads every disk (and, when next asked for, the LDM view). */
int machine_rescan(struct machine *m, struct gm_err *err);
/* The machine's dynamic disks, read when first asked for and again after
 * every change: NULL (why in m->ldm_err) when they cannot be read. */
struct ldm_view;
struct ldm_view *machine_ldm(struct machine *m);

/* The 2003 profile's image machines have the KB's empty CD-ROM drive: a
 * volume with no media (list volume's "CD-ROM 0 B"), holding letter D, and
 * the CDROM boot entry. */
#define GM_CDROM_LETTER 'D'
#define GM_CDROM_KEY "cdrom"
bool machine_has_cdrom(const struct machine *m);

/* Letters: 0 if none. */
char machine_letter_of(const struct machine *m, const char *key);
const char *machine_letter_key(const struct machine *m, char letter);
int machine_set_letter(struct machine *m, char letter, const char *key,
		       struct gm_err *err);
void machine_drop_letter_key(struct machine *m, const char *key);

/* --- volumes (basic partitions so far) ---------------------------------- */

enum vol_type { VT_PARTITION };

struct volume {
	int num;          /* Volume ### */
	int slot;         /* disk */
	size_t part;      /* position in disk->parts */
	enum vol_type type;
	char letter;      /* 0: none */
	uint64_t size;
	bool system;      /* an EFI system partition */
};

/* Every volume of the present disks, numbered in enumeration order. */
int machine_volumes(struct machine *m, struct volume *out, int max);
/* The partition that has drive letter l, on a present disk. */
int machine_find_letter(struct machine *m, char l, int *slot, size_t *pos,
			struct gm_err *err);
/* machine.conf lines "key = value" that belong to other parts (resync
 * checkpoints, failed plexes, BootCurrent). value NULL removes the key. */
const char *machine_extra_get(const struct machine *m, const char *key);
int machine_extra_set(struct machine *m, const char *key, const char *value,
		      struct gm_err *err);
/* The Boot#### the machine last booted (bootcfg's CurrentBootEntryID); -1
 * clears it (nothing booted). */
int machine_set_bootcurrent(struct machine *m, int entry, struct gm_err *err);
/* Work for the next boot ("pending.WHAT = SLOT" in machine.conf). */
int machine_add_pending(struct machine *m, const char *what, int slot, struct gm_err *err);
/* Takes one pending item of that kind: 1 and its slot, or 0. */
int machine_take_pending(struct machine *m, const char *what, int *slot);

struct nvram;
/* The machine's NVRAM (nvram.fd, an OVMF variable store). */
int machine_nvram_open(struct machine *m, struct nvram **out, struct gm_err *err);
/* Makes nvram.fd from the firmware's template when it is missing (a
 * machine create cut off before it). */
int machine_nvram_ensure(struct machine *m, struct gm_err *err);
/* Partition pos of disk slot as a device of its own (a slice). */
int machine_open_part(struct machine *m, int slot, size_t pos,
		      struct blkdev **out, struct gm_err *err);

#endif
