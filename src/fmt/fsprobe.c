/*
 * fsprobe.c - FAT / NTFS recognition from the boot sector (Microsoft FAT
 * specification, "BPB"), only as deep as a volume listing needs.
 */
#include "fsprobe.h"

#include <string.h>

#include "bytes.h"

const char *fs_kind_str(enum fs_kind k)
{
	switch (k) {
	case FS_FAT12:
	case FS_FAT16:
		return "FAT";
	case FS_FAT32:
		return "FAT32";
	case FS_NTFS:
		return "NTFS";
	case FS_RAW:
		break;
	}
	return "";
}

static void copy_label(const uint8_t *p, char *out)
{
	int n = 11;

	memcpy(out, p, 11);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = '_';
	if (strcmp(out, "NO NAME") == 0)
		out[0] = '\0';
}

void fs_probe(const uint8_t *s, size_t len, struct fs_probe *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 512 || s[510] != 0x55 || s[511] != 0xaa)
		return;
	if (memcmp(s + 3, "NTFS    ", 8) == 0) {
		out->kind = FS_NTFS;
		out->serial = get_le32(s + 0x48);
		return;
	}
	uint16_t bps = get_le16(s + 11);
	uint8_t spc = s[13];
	uint16_t rsvd = get_le16(s + 14);
	uint8_t nfats = s[16];
	uint16_t rootents = get_le16(s + 17);
	uint32_t total = get_le16(s + 19);
	uint32_t fatsz = get_le16(s + 22);

	if ((bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) ||
	    spc == 0 || (spc & (spc - 1)) != 0 || rsvd == 0 || nfats == 0)
		return;
	if (total == 0)
		total = get_le32(s + 32);
	/* FAT32 is told by its layout, a zero 16-bit FAT size, as Windows'
	 * fastfat and Linux' vfat do; the cluster count (Microsoft FAT spec,
	 * "FAT type determination") only parts FAT12 from FAT16. mkfs.fat
	 * makes FAT32 volumes with fewer than 65525 clusters on small ESPs. */
	int fat32 = fatsz == 0;
	if (fat32)
		fatsz = get_le32(s + 36);
	if (fatsz == 0 || total == 0)
		return;
	uint64_t rootsec = ((uint64_t)rootents * 32 + bps - 1) / bps;
	uint64_t meta = rsvd + (uint64_t)nfats * fatsz + rootsec;
	if (meta >= total)
		return;
	uint64_t clusters = (total - meta) / spc;
	const uint8_t *ext; /* extended BPB */
	if (fat32) {
		out->kind = FS_FAT32;
		ext = s + 64;
	} else if (clusters < 4085) {
		out->kind = FS_FAT12;
		ext = s + 36;
	} else {
		out->kind = FS_FAT16;
		ext = s + 36;
	}
	if (ext[2] == 0x29) {
		out->serial = get_le32(ext + 3);
		copy_label(ext + 7, out->label);
	}
}
