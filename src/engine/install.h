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

#include "env.h"
#include "err.h"

struct machine;

struct install_spec {
	const char *loader; /* host path of the EFI application to install */
	uint64_t esp_mb;    /* 0: the profile's (2003: 204, Setup 102; modern 100) */
	uint64_t os_mb;     /* 0: the profile's (2003: 4996, Setup 2996; modern: the rest) */
	bool setup;         /* Setup on a replacement disk: its entry goes first */
};

struct install_result {
	uint16_t entry;   /* Boot#### of the installed system */
	size_t esp_pos, os_pos;
	bool letter_c;    /* the new C: got the letter (it was free) */
};

/* Installs on disk slot, which must be empty (no partitions, no data). */
int install_windows(struct machine *m, int slot, const struct install_spec *s,
		    struct install_result *r, struct gm_err *err);
/* GPTMIRROR_LOADER, else gptmirror-loader.efi beside the program (or in
 * ../share/gptmirror). */
const char *install_default_loader(const struct gm_env *env);

#endif
