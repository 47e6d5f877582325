/*
 * boot.h - the firmware's boot manager, emulated (machine boot).
 */
#ifndef GM_BOOT_H
#define GM_BOOT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "../fmt/guid.h"
#include "err.h"

struct machine;

/* One load the boot manager tried, in order. */
struct boot_attempt {
	char desc[512];     /* the entry's description, or "" for removable media */
	int removable_disk; /* >= 0: the removable-media path of that disk */
	bool loaded;
};

struct boot_result {
	struct boot_attempt tries[64];
	int ntries;
	bool paused;         /* a menu choice that failed stops there */
	bool booted;
	bool removable;      /* the removable-media path, not an entry */
	uint16_t entry;      /* Boot#### that loaded */
	char desc[512];
	int slot;            /* disk it loaded from */
	size_t part;         /* GPT partition number */
	struct guid part_guid;
	char file[512];
};

/* Boots the machine: BootNext, then BootOrder, then removable media
 * (entry < 0), or only Boot<entry> (a menu choice; its failure pauses, as
 * the seed shows). Says what it tried in r and records BootCurrent.
 * Returns < 0 on an error of the machine or its NVRAM; not booting is
 * r->booted false. */
int boot_emulate(struct machine *m, int entry, struct boot_result *r, struct gm_err *err);

/* The disk that holds the system the machine last booted: the partition
 * that the current boot entry's OsFilePath names; -1 when unknown. */
int boot_running_disk(struct machine *m);
/* What Windows does when the boot volume gets a new plex (the GPT entry
 * plex on disk slot): the entry "Boot Mirror C: - secondary plex", with the
 * loader of the first Windows entry. < 0: the boot file was not updated. */
int boot_add_plex_entry(struct machine *m, int slot, const struct guid *plex,
			struct gm_err *err);

#endif
