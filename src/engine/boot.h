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

struct boot_result {
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
 * the seed shows). Prints the firmware's messages to out and records
 * BootCurrent. Returns < 0 on an error of the machine or its NVRAM; not
 * booting is r->booted false. */
int boot_emulate(struct machine *m, int entry, FILE *out, struct boot_result *r,
		 struct gm_err *err);

#endif
