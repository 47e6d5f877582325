/*
 * linuxdev.h - what Linux knows about a whole-disk block device: its sysfs
 * name, its identity (serial, WWN, or a loop device's backing file), what
 * holds it (a mounted, swapped-on, md/dm-held or loop-backing partition),
 * and telling the kernel about a new partition table (BLKPG, per
 * partition, which works while other partitions are busy).
 */
#ifndef GM_LINUXDEV_H
#define GM_LINUXDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "blkio.h"

/* The sysfs name of block device dev ("loop3", "vda"); -1 if none. */
int linuxdev_name(dev_t dev, char *name, size_t cap);
/* A stable identity: "serial:...", "wwid:...", "loop:<backing file>", or
 * "" when the kernel gives none. */
void linuxdev_identity(const char *name, char *out, size_t cap);
/* What holds the disk or one of its partitions, said in words ("" when
 * nothing does): "loop3p1 is mounted on /mnt", "vdb2 is held by dm-0". */
void linuxdev_holders(const char *name, dev_t dev, char *out, size_t cap);

/* Makes the kernel's partitions of the disk open as fd (sysfs name) the
 * given ones: DEL of those that went or moved, RESIZE of those that
 * changed size, then ADD of the new ones. 0, or -errno of the first
 * refusal (what it says in why). */
int linuxdev_set_partitions(int fd, const char *name, const struct blk_part *p, size_t n,
			    char *why, size_t cap);
/* Where partition pno of disk name is mounted ("" when it is not): 1 if
 * it is, 0 if not. */
int linuxdev_part_mounted(const char *name, uint32_t pno, char *where, size_t cap);
/* Lets udev settle, where it runs. */
void linuxdev_settle(void);

#endif
