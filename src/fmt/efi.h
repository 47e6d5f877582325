/*
 * efi.h - UEFI boot-variable codecs (UEFI 2.10 sections 3.1.3 and 10.3):
 * EFI_LOAD_OPTION, device paths (Hard Drive, File Path, End; other nodes
 * kept as opaque bytes), the Windows OS-options structure carried in a load
 * option's optional data, and the OVMF (edk2) authenticated variable store.
 */
#ifndef GM_EFI_H
#define GM_EFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guid.h"

#define EFI_LOAD_OPTION_ACTIVE 0x1u
#define EFI_VAR_NV 0x1u
#define EFI_VAR_BS 0x2u
#define EFI_VAR_RT 0x4u

extern const struct guid EFI_GLOBAL_GUID; /* 8be4df61-93ca-11d2-aa0d-00e098032b8c */

/* --- device paths ------------------------------------------------------- */

struct efi_hd {
	uint32_t part_num;   /* GPT entry index + 1 */
	uint64_t start, size; /* in logical blocks */
	struct guid sig;
	uint8_t mbr_type;    /* 2: GPT */
	uint8_t sig_type;    /* 2: GUID */
};

/* Appends nodes to buf (cap bytes); each returns the new length or -1. */
int efi_dp_add_hd(uint8_t *buf, size_t len, size_t cap, const struct efi_hd *hd);
int efi_dp_add_file(uint8_t *buf, size_t len, size_t cap, const char *path);
int efi_dp_add_end(uint8_t *buf, size_t len, size_t cap);
/* Checks node lengths and the End node: the list is exactly len bytes. */
bool efi_dp_valid(const uint8_t *dp, size_t len);
/* The first Hard Drive node; false if none. */
bool efi_dp_get_hd(const uint8_t *dp, size_t len, struct efi_hd *out);
/* The first File Path node as UTF-8; false if none. */
bool efi_dp_get_file(const uint8_t *dp, size_t len, char *out, size_t cap);
/* Replaces the first Hard Drive node (same size); false if none. */
bool efi_dp_set_hd(uint8_t *dp, size_t len, const struct efi_hd *hd);
/* Text as efibootmgr -v prints it: HD(1,GPT,<guid>,0x800,0x32000)/File(\x).
 * Other nodes print as Path(type,subtype,hex). */
void efi_dp_to_text(const uint8_t *dp, size_t len, char *out, size_t cap);

/* --- load options ------------------------------------------------------- */

struct efi_loadopt {
	uint32_t attrs;
	char desc[512];            /* UTF-8 */
	const uint8_t *dp;         /* points into the decoded buffer */
	size_t dp_len;
	const uint8_t *opt;        /* optional data */
	size_t opt_len;
};

int efi_loadopt_decode(const uint8_t *buf, size_t len, struct efi_loadopt *out);
/* Encodes into buf; returns the length or -1 if cap is too small. */
int efi_loadopt_encode(const struct efi_loadopt *lo, uint8_t *buf, size_t cap);

/* --- Windows OS options ------------------------------------------------- */

/* WINDOWS_OS_OPTIONS: "WINDOWS\0", Version 1, Length, OsLoadPathOffset,
 * OsLoadOptions (UTF-16, NUL), then a FILE_PATH {Version 1, Length,
 * Type 4 = EFI, device path}. */
struct efi_winopts {
	char load_options[256];   /* UTF-8 */
	const uint8_t *os_dp;     /* into the decoded buffer */
	size_t os_dp_len;
};
bool efi_winopts_is(const uint8_t *opt, size_t len);
int efi_winopts_decode(const uint8_t *opt, size_t len, struct efi_winopts *out);
int efi_winopts_encode(const char *load_options, const uint8_t *os_dp,
		       size_t os_dp_len, uint8_t *buf, size_t cap);

/* --- the OVMF variable store --------------------------------------------- */

struct efi_var {
	size_t off;          /* record offset in the file */
	uint8_t state;
	uint32_t attrs;
	char name[128];      /* UTF-8 */
	struct guid vendor;
	const uint8_t *data; /* into the store buffer */
	size_t data_len;
	size_t rec_len;      /* header + name + data, unaligned */
};

struct efi_vs {
	uint8_t *buf;        /* the whole file, owned by the caller */
	size_t len;
	size_t vars_start, vars_end; /* the variable area */
};

/* Validates the firmware volume, the store header and an idle FTW area.
 * 0, or -1 with *why. Nothing is changed. */
int efi_vs_open(uint8_t *buf, size_t len, struct efi_vs *vs, const char **why);
typedef int (*efi_var_fn)(void *ctx, const struct efi_var *v);
/* Where the records stop parsing while the area after them is not erased
 * (a damaged variable header, or what follows it): its offset; 0 when the
 * store parses to its end. */
size_t efi_vs_damaged_at(const struct efi_vs *vs);
/* Every record (any state), in store order; stops at the first non-record. */
int efi_vs_walk(const struct efi_vs *vs, efi_var_fn fn, void *ctx);
/* The live copy: state 0x3F, else one in deleted transition (0x3E). */
bool efi_vs_get(const struct efi_vs *vs, const char *name,
		const struct guid *vendor, struct efi_var *out);
/* Appends a new copy and retires older ones; reclaims when full.
 * -1 with *why when it cannot fit. */
int efi_vs_set(struct efi_vs *vs, const char *name, const struct guid *vendor,
	       uint32_t attrs, const uint8_t *data, size_t len, const char **why);
/* Marks every live copy deleted; false if there was none. */
bool efi_vs_delete(struct efi_vs *vs, const char *name, const struct guid *vendor);
/* Rewrites the variable area with only the live records. */
int efi_vs_reclaim(struct efi_vs *vs, const char **why);
/* Formats an empty store of len bytes (0x84000 or 0x20000), laid out as
 * Debian's OVMF_VARS files are: for tests and fuzzing. */
int efi_vs_format(uint8_t *buf, size_t len);

#endif
