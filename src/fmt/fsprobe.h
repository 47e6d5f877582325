/* fsprobe.h - recognise the file system in a volume's first sector. */
#ifndef GM_FSPROBE_H
#define GM_FSPROBE_H

#include <stddef.h>
#include <stdint.h>

enum fs_kind { FS_RAW, FS_FAT12, FS_FAT16, FS_FAT32, FS_NTFS };

struct fs_probe {
	enum fs_kind kind;
	char label[12]; /* boot-sector label, trailing blanks cut; "" if none */
	uint32_t serial;
};

/* Looks at the first 512 bytes of a volume. Never fails: unknown is FS_RAW. */
void fs_probe(const uint8_t *sec, size_t len, struct fs_probe *out);
/* "FAT", "FAT32", "NTFS" or "" as diskpart's Fs column shows them. */
const char *fs_kind_str(enum fs_kind k);

#endif
