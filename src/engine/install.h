/*
 * install.h - a disk as Windows Setup leaves it (machine create --install,
 * gptmirror setup): ESP with the loader, MSR, C: with \WINDOWS, and the
 * installed system's boot entry in NVRAM.
 */
#ifndef GM_INSTALL_H
#define GM_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"
#include "env.h"
#include "err.h"

struct machine;

struct install_spec {
	const char *loader; /* host path of the EFI application to install */
	uint64_t esp_mb;    /* 0: the profile's (2003: 204, Setup 102; modern 100) */
	uint64_t os_mb;     /* 0: the profile's (2003: 4996, Setup 2996; modern: the rest) */
	bool setup;         /* Setup on a replacement disk: its entry goes first */
	bool fat32;         /* C: FAT32 instead of Setup's NTFS */
};

struct install_result {
	uint16_t entry;   /* Boot#### of the installed system */
	size_t esp_pos, os_pos;
	bool letter_c;    /* the new C: got the letter (it was free) */
};

/* The smallest disk (MB) an install with s fits on. */
uint64_t install_min_mb(enum profile prof, const struct install_spec *s);
/* The machine.conf key that says an install on slot is under way
 * ("install.disk<N>"): a rerun takes the disk over again. */
void install_pending_key(int slot, char *buf, size_t cap);
/* Installs on disk slot, which must be empty (no partitions, no data), or
 * hold what an install a crash cut off left there (it is redone). Refuses
 * before any write when the disk is too small or the loader unreadable. */
int install_windows(struct machine *m, int slot, const struct install_spec *s,
		    struct install_result *r, struct gm_err *err);
/* GPTMIRROR_LOADER, else gptmirror-loader.efi beside the program (or in
 * ../share/gptmirror). */
const char *install_default_loader(const struct gm_env *env);

#endif
