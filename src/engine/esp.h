/*
 * esp.h - EFI system partitions that must stay alike. Every ESP of the
 * machine's disks, the boot entries that load from it, which ESPs serve one
 * OS (their entries load the same loader path for the same system volume,
 * a mirror's plexes counting as one volume: the KB's primary and cloned
 * entries), how the files of two such ESPs differ, and making one the copy
 * of another.
 */
#ifndef GM_ESP_H
#define GM_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../fmt/guid.h"
#include "err.h"

struct machine;

#define ESP_MAX 16
#define ESP_MAX_ENTRIES 32

/* A boot entry that loads from an ESP. */
struct esp_entry {
	uint16_t num;          /* Boot#### */
	char desc[128];
	char loader[256];      /* the File node, as stored (\EFI\...) */
	bool loader_missing;   /* the firmware would print "Load of ... failed" */
};

struct esp {
	int slot;
	size_t pos;            /* in the disk's partition list */
	uint32_t part;         /* GPT entry number */
	struct guid guid;      /* partition GUID */
	char fs[8];            /* FAT12, FAT16, FAT32; "" when unreadable */
	char why[160];         /* why it could not be read */
	struct esp_entry ent[ESP_MAX_ENTRIES];
	size_t nent;
	int group;             /* ESPs of one OS share it; -1: no entry uses it */
};

enum esp_diff_kind {
	ED_ONLY_FIRST,   /* on the first ESP only */
	ED_ONLY_SECOND,  /* on the second only */
	ED_KIND,         /* a file on one, a directory on the other */
	ED_SIZE,
	ED_CONTENT,      /* same size, other bytes */
	ED_ATTR,         /* same bytes, other attributes */
};

struct esp_diff {
	char path[512];        /* \EFI\..., as on the first ESP (else the second) */
	enum esp_diff_kind kind;
	bool dir;
	uint32_t size[2];
	uint32_t crc[2];       /* CRC-32 of the contents */
	uint8_t attr[2];
};

/* Two ESPs of one OS, and what differs between them. */
struct esp_pair {
	size_t a, b;           /* indices in esp_report.esp */
	struct esp_diff *d;
	size_t nd;
};

struct esp_report {
	struct esp esp[ESP_MAX];
	size_t n;
	struct esp_pair pair[ESP_MAX * (ESP_MAX - 1) / 2];
	size_t npairs;
	size_t missing_loaders;  /* entries whose loader file is not on their ESP */
	size_t unreadable;       /* ESPs whose file system could not be read */
};

/* Looks at every ESP of the present disks. */
int esp_scan(struct machine *m, struct esp_report *r, struct gm_err *err);
void esp_report_free(struct esp_report *r);
/* True when the ESPs of each OS hold the same files and every entry's
 * loader is there. */
bool esp_report_clean(const struct esp_report *r);
const char *esp_diff_kind_str(enum esp_diff_kind k);

/* The ESP of disk slot (its first), or -1. */
int esp_of_slot(const struct esp_report *r, int slot);
/* The ESP the current boot (BootCurrent) loaded from, or -1. */
int esp_current(struct machine *m, const struct esp_report *r);

struct esp_sync_result {
	size_t added, replaced, deleted, attrs, dirs_made, dirs_removed;
	uint64_t bytes;        /* file bytes written */
};
/*
 * esp sync: makes ESP `to` (an index of r) hold the files of ESP `from`:
 * what is missing or differs is written, what the source does not have is
 * deleted, attributes follow; the target keeps its own volume serial and
 * label. Only what differs is written. Refused when the source lacks a
 * loader that one of its own entries needs. A crash leaves a volume marked
 * dirty (repaired before its next change) that a second sync completes.
 */
int esp_sync(struct machine *m, const struct esp_report *r, size_t from, size_t to,
	     struct esp_sync_result *res, struct gm_err *err);

#endif
