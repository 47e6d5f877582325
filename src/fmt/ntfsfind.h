/*
 * ntfsfind.h - finding a path on an NTFS volume with nothing but reads: the
 * boot sector, the MFT's own run list, then each directory's $I30 index
 * (the $INDEX_ROOT and the INDX blocks of $INDEX_ALLOCATION) from the root
 * (MFT record 5) down. It is what a boot loader does to find \WINDOWS, and
 * it is one piece of code for both sides of the boot check: the emulated
 * boot (src/engine/boot.c) and the test loader under OVMF (efi/loader.c),
 * which has no NTFS driver and no C library. So it allocates nothing, calls
 * nothing but its read function, and trusts no field it reads.
 *
 * Names compare case-insensitively with ASCII upper-casing only (the
 * volume's $UpCase table is not read): right for the ASCII paths a loader
 * looks for; a directory whose names use other letters may be searched in
 * the wrong branch of its index, and the name then is not found.
 */
#ifndef GM_NTFSFIND_H
#define GM_NTFSFIND_H

#include <stddef.h>
#include <stdint.h>

/* Reads len bytes at byte offset off of the volume; 0 on success. */
typedef int (*ntfs_read_fn)(void *ctx, uint64_t off, void *buf, uint32_t len);

#define NTFS_FIND_REC_MAX 4096
#define NTFS_FIND_IDX_MAX 65536
#define NTFS_FIND_RUNS 128

struct ntfs_find_run {
	uint64_t vcn, lcn, len; /* lcn NTFS_FIND_SPARSE: a hole */
};
#define NTFS_FIND_SPARSE UINT64_MAX

struct ntfs_find {
	ntfs_read_fn read;
	void *ctx;
	uint64_t vol_bytes;
	uint32_t cluster, rec_size;
	uint64_t mft_lcn;
	struct ntfs_find_run mft[NTFS_FIND_RUNS];
	size_t nmft;
	struct ntfs_find_run idx[NTFS_FIND_RUNS];
	size_t nidx;
	uint8_t rec[NTFS_FIND_REC_MAX];
	uint8_t blk[NTFS_FIND_IDX_MAX];
	const char *why; /* what was wrong, when a call returns -1 */
};

/* Reads the boot sector and the MFT's run list of a volume of vol_bytes.
 * 0: NTFS; -1: not NTFS, damaged or unreadable (f->why says which). */
int ntfs_find_open(struct ntfs_find *f, ntfs_read_fn read, void *ctx, uint64_t vol_bytes);

enum { NTFS_FIND_NONE = 0, NTFS_FIND_FILE = 1, NTFS_FIND_DIR = 2 };
/* Looks up path ('\\'-separated, a leading '\\' optional; "" is the root).
 * NTFS_FIND_FILE or NTFS_FIND_DIR: found; NTFS_FIND_NONE: not there; -1:
 * the volume is damaged or unreadable on the way (f->why). */
int ntfs_find_path(struct ntfs_find *f, const char *path);

#endif
