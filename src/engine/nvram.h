/*
 * nvram.h - UEFI variables behind a backend interface (the machine's OVMF
 * varstore file first; efivarfs later, for real hosts), and the boot
 * manager's variables on top: Boot####, BootOrder, Timeout.
 */
#ifndef GM_NVRAM_H
#define GM_NVRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fmt/efi.h"
#include "env.h"
#include "err.h"

struct nvram;

typedef int (*nvram_var_fn)(void *ctx, const char *name, const struct guid *vendor,
			    uint32_t attrs, const uint8_t *data, size_t len);

struct nvram_ops {
	/* Returns 1 and a malloc'd copy, 0 if absent. */
	int (*get)(struct nvram *nv, const char *name, const struct guid *vendor,
		   uint32_t *attrs, uint8_t **data, size_t *len);
	int (*set)(struct nvram *nv, const char *name, const struct guid *vendor,
		   uint32_t attrs, const uint8_t *data, size_t len, struct gm_err *err);
	/* 1 deleted, 0 absent, < 0 refused (err says why). */
	int (*del)(struct nvram *nv, const char *name, const struct guid *vendor,
		   struct gm_err *err);
	/* Every live variable. */
	int (*list)(struct nvram *nv, nvram_var_fn fn, void *ctx);
	/* Makes the changes durable (atomically for a store file). */
	int (*commit)(struct nvram *nv, struct gm_err *err);
	/* A damaged store rewritten with every variable that parsed (NULL:
	 * the store cannot be repaired this way). */
	int (*repair)(struct nvram *nv, struct gm_err *err);
	void (*close)(struct nvram *nv);
};

struct nvram {
	const struct nvram_ops *ops;
	void *priv;
	bool dirty;
	char damaged[192]; /* "" or why the store is damaged: it is read as far
			    * as it parses, and never written */
};

/* The firmware's own NVRAM through efivarfs mounted at dir
 * (/sys/firmware/efi/efivars): every set and delete goes to the firmware
 * at once (commit has nothing left to do), one write per variable. */
int nvram_open_efivarfs(const char *dir, struct nvram **out, struct gm_err *err);
/* Opens an OVMF varstore file; refuses one it does not understand. */
int nvram_open_ovmf(const char *path, struct nvram **out, struct gm_err *err);
/* A new store file from a template (Debian's OVMF_VARS_4M.fd). */
int nvram_create_ovmf(const char *path, const char *template_path, struct gm_err *err);
const char *nvram_default_template(const struct gm_env *env);
int nvram_commit(struct nvram *nv, struct gm_err *err);
/* nvram repair: a damaged store keeps every variable that parses (the
 * records before the damage); what follows the damage is erased. kept
 * gets how many live variables are kept. 0 on a store that is not
 * damaged, which is left as it is. */
int nvram_repair(struct nvram *nv, size_t *kept, struct gm_err *err);
void nvram_close(struct nvram *nv);

/* --- boot entries ------------------------------------------------------- */

struct boot_entry {
	uint16_t num;          /* Boot#### */
	uint8_t *raw;          /* the variable's data */
	size_t raw_len;
	bool valid;            /* decodes as a load option */
	struct efi_loadopt lo; /* points into raw */
	bool windows;          /* carries WINDOWS_OS_OPTIONS */
	struct efi_winopts win;
};

int nvram_boot_order(struct nvram *nv, uint16_t **order, size_t *n);
int nvram_set_boot_order(struct nvram *nv, const uint16_t *order, size_t n,
			 struct gm_err *err);
/* The entries of BootOrder, in its order (missing ones left out). */
int nvram_boot_entries(struct nvram *nv, struct boot_entry **out, size_t *n);
void nvram_boot_entries_free(struct boot_entry *v, size_t n);
/* The number of every Boot#### variable, BootOrder or not, in number order
 * (one walk of the store; *nums malloc'd). */
int nvram_boot_nums(struct nvram *nv, uint16_t **nums, size_t *n);
/* Writes a new Boot#### under the lowest free number and appends it to
 * BootOrder. */
int nvram_add_boot(struct nvram *nv, const uint8_t *opt, size_t len,
		   uint16_t *num, struct gm_err *err);
/* Deletes Boot#### and its place in BootOrder. */
int nvram_delete_boot(struct nvram *nv, uint16_t num, struct gm_err *err);
/*
 * Adds a Windows entry named desc whose OsFilePath is \WINDOWS on partition
 * pos of disk d, with the loader of the first Windows entry in BootOrder
 * (what bootcfg /mirror /add does, and what add disk does for a boot
 * volume). GM_E_NO_PART if there is no Windows entry to take it from.
 */
struct disk;
/* replace >= 0: the entry is written over Boot<replace>, which keeps its
 * place in BootOrder; else it is a new entry, last. */
int nvram_add_mirror_entry(struct nvram *nv, const struct disk *d, size_t pos,
			   const char *desc, int replace, struct gm_err *err);
/* An entry that loads `loader` from partition esp_pos of esp_d, with
 * WINDOWS_OS_OPTIONS naming os_dir (default \WINDOWS) on os_pos of os_d
 * and the OsLoadOptions text `options` (os_d NULL: no OS options); first
 * puts it at the head of BootOrder. */
struct loader_entry {
	const char *desc;
	const struct disk *esp_d;
	size_t esp_pos;
	const char *loader;
	const struct disk *os_d;
	size_t os_pos;
	const char *os_dir;
	const char *options;
	bool first;
};
int nvram_add_loader_entry(struct nvram *nv, const struct loader_entry *e, uint16_t *num,
			   struct gm_err *err);
/* Adds an entry whose device path is one vendor-defined media node (the
 * firmware's LS120, CDROM and EFI Shell entries in the seed). */
int nvram_add_vendor_entry(struct nvram *nv, const char *desc, const struct guid *vendor,
			   uint16_t *num, struct gm_err *err);
/* Timeout in seconds; 0xffff if unset. */
uint16_t nvram_timeout(struct nvram *nv);
int nvram_set_timeout(struct nvram *nv, uint16_t t, struct gm_err *err);

#endif
