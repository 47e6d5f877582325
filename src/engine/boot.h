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

/* What a Windows loader found where its entry's OsFilePath leads. */
enum boot_os {
	BOOT_OS_UNCHECKED, /* not loaded, or not an entry with an OsFilePath */
	BOOT_OS_FOUND,     /* the OS volume, with <OS dir>\system32\ntoskrnl.exe */
	BOOT_OS_NO_DISK,   /* the partition is not on a present disk, or unreadable */
	BOOT_OS_MISSING,   /* the volume is there, the kernel is not */
};

/* One load the boot manager tried, in order. */
struct boot_attempt {
	char desc[512];     /* the entry's description, or "" for removable media */
	int removable_disk; /* >= 0: the removable-media path of that disk */
	bool loaded;        /* the loader ran and found its OS */
	enum boot_os os;    /* the loader ran: what it found (a failure goes on
			     * to the next entry, as the firmware does when a
			     * loader returns) */
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

/* What the machine's current boot (BootCurrent) runs from: the system
 * partition its loader was read from (the entry's HD() node) and the boot
 * partition its OsFilePath names; a slot is -1 when that is not known or
 * not present. */
struct boot_running {
	int sys_slot;
	size_t sys_pos;
	int os_slot;
	size_t os_pos;
};
void boot_running(struct machine *m, struct boot_running *r);
/* The disk that holds the system the machine last booted (os_slot). */
int boot_running_disk(struct machine *m);
/* What Windows does when the boot volume gets a new plex (the GPT entry
 * plex on disk slot): the entry "Boot Mirror C: - secondary plex", with the
 * loader of the first Windows entry. < 0: the boot file was not updated. */
int boot_add_plex_entry(struct machine *m, int slot, const struct guid *plex,
			struct gm_err *err);

/* The GPT partition whose unique GUID is g, on a present disk. */
bool boot_find_gpt_part(struct machine *m, const struct guid *g, int *slot, size_t *pos);
/* bootcfg /clone: every entry of e[0..n) (the boot menu, in order; only
 * position `only` when it is >= 0) whose HD() names partition sg gets a
 * copy in nv whose HD() names the EFI system partition tg instead, its
 * description replaced by dset or, if NULL, extended by " dplus". The
 * listing positions cloned are in r, also when a later one failed.
 * GM_E_NO_PART: no partition tg; GM_E_NOT_ESP: tg is not an ESP;
 * GM_E_TOO_LONG: the description or the entry does not fit; GM_E_NO_ENTRY:
 * no entry uses sg. The caller commits nv. */
struct boot_entry;
struct nvram;
struct clone_result {
	size_t pos[64];        /* entries cloned (positions in BootOrder) */
	size_t n;
	size_t same_pos[64];   /* entries whose clone is there already: not
				* added again (bootcfg /clone is idempotent) */
	uint16_t same_num[64]; /* ... the Boot#### that is that clone */
	size_t nsame;
};
int boot_clone_entries(struct machine *m, struct nvram *nv, const struct boot_entry *e,
		       size_t n, const struct guid *sg, const struct guid *tg, const char *dplus,
		       const char *dset, long only, struct clone_result *r, struct gm_err *err);

#endif
