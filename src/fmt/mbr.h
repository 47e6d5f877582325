/* mbr.h - classic MBR and the GPT protective MBR (UEFI 2.10 section 5.2). */
#ifndef GM_MBR_H
#define GM_MBR_H

#include <stdint.h>

#define MBR_SIZE       512
#define MBR_PART_OFF   446
#define MBR_SIG_OFF    510
#define MBR_DISKSIG    440
#define MBR_TYPE_GPT   0xee
#define MBR_TYPE_NTFS  0x07 /* IFS: what diskpart gives a primary partition */

struct mbr_part {
	uint8_t status;
	uint8_t type;
	uint8_t chs_first[3];
	uint8_t chs_last[3];
	uint32_t lba_first;
	uint32_t lba_count;
};

struct mbr {
	uint8_t boot[440];
	uint32_t disk_sig;
	uint16_t reserved;
	struct mbr_part part[4];
	int has_sig; /* 0x55aa present */
};

/* What sector 0 says the disk is. */
enum mbr_kind {
	MBR_EMPTY,      /* all zeros */
	MBR_PROTECTIVE, /* has an 0xEE partition: a GPT disk */
	MBR_CLASSIC,    /* a valid DOS partition table */
	MBR_UNKNOWN,    /* something else: data, not a partition table */
};

void mbr_decode(const uint8_t *buf, struct mbr *out);
void mbr_encode(const struct mbr *m, uint8_t *buf);
/* Classifies a decoded MBR against the disk size in sectors. */
enum mbr_kind mbr_classify(const uint8_t *buf, uint64_t disk_lbas);
/* Fills m with the protective MBR for a GPT disk of disk_lbas sectors. */
void mbr_protective(struct mbr *m, uint64_t disk_lbas);
/* LBA -> CHS with the 255 heads x 63 sectors geometry, saturating. */
void mbr_lba_to_chs(uint64_t lba, uint8_t chs[3]);

#endif
