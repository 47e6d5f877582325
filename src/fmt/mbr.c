/* mbr.c - MBR partition table and protective MBR codec. */
#include "mbr.h"

#include <string.h>

#include "bytes.h"

void mbr_decode(const uint8_t *buf, struct mbr *out)
{
	memcpy(out->boot, buf, sizeof(out->boot));
	out->disk_sig = get_le32(buf + MBR_DISKSIG);
	out->reserved = get_le16(buf + MBR_DISKSIG + 4);
	for (int i = 0; i < 4; i++) {
		const uint8_t *p = buf + MBR_PART_OFF + 16 * i;
		struct mbr_part *q = &out->part[i];
		q->status = p[0];
		memcpy(q->chs_first, p + 1, 3);
		q->type = p[4];
		memcpy(q->chs_last, p + 5, 3);
		q->lba_first = get_le32(p + 8);
		q->lba_count = get_le32(p + 12);
	}
	out->has_sig = buf[MBR_SIG_OFF] == 0x55 && buf[MBR_SIG_OFF + 1] == 0xaa;
}

void mbr_encode(const struct mbr *m, uint8_t *buf)
{
	memcpy(buf, m->boot, sizeof(m->boot));
	put_le32(buf + MBR_DISKSIG, m->disk_sig);
	put_le16(buf + MBR_DISKSIG + 4, m->reserved);
	for (int i = 0; i < 4; i++) {
		uint8_t *p = buf + MBR_PART_OFF + 16 * i;
		const struct mbr_part *q = &m->part[i];
		p[0] = q->status;
		memcpy(p + 1, q->chs_first, 3);
		p[4] = q->type;
		memcpy(p + 5, q->chs_last, 3);
		put_le32(p + 8, q->lba_first);
		put_le32(p + 12, q->lba_count);
	}
	buf[MBR_SIG_OFF] = 0x55;
	buf[MBR_SIG_OFF + 1] = 0xaa;
}

enum mbr_kind mbr_classify(const uint8_t *buf, uint64_t disk_lbas)
{
	struct mbr m;
	int i, used = 0;

	for (i = 0; i < MBR_SIZE; i++)
		if (buf[i])
			break;
	if (i == MBR_SIZE)
		return MBR_EMPTY;
	mbr_decode(buf, &m);
	if (!m.has_sig)
		return MBR_UNKNOWN;
	for (i = 0; i < 4; i++)
		if (m.part[i].type == MBR_TYPE_GPT)
			return MBR_PROTECTIVE;
	for (i = 0; i < 4; i++) {
		const struct mbr_part *p = &m.part[i];
		if (p->type == 0)
			continue;
		if ((p->status & 0x7f) != 0 || p->lba_first == 0 ||
		    p->lba_count == 0 ||
		    (uint64_t)p->lba_first + p->lba_count > disk_lbas)
			return MBR_UNKNOWN;
		used++;
	}
	/* A boot sector with no partitions (a "superfloppy" FAT volume, say)
	 * still has 0x55aa; only an all-empty table with a zero boot area is an
	 * empty MBR disk. */
	if (used == 0) {
		for (i = 0; i < 440; i++)
			if (buf[i])
				return MBR_UNKNOWN;
	}
	return MBR_CLASSIC;
}

void mbr_lba_to_chs(uint64_t lba, uint8_t chs[3])
{
	if (lba >= 1024ull * 255 * 63) {
		chs[0] = 0xfe;
		chs[1] = 0xff;
		chs[2] = 0xff;
		return;
	}
	uint64_t c = lba / (255 * 63);
	uint64_t h = (lba / 63) % 255;
	uint64_t s = lba % 63 + 1;
	chs[0] = (uint8_t)h;
	chs[1] = (uint8_t)(s | ((c >> 2) & 0xc0));
	chs[2] = (uint8_t)c;
}

void mbr_protective(struct mbr *m, uint64_t disk_lbas)
{
	uint64_t count = disk_lbas - 1;

	memset(m, 0, sizeof(*m));
	m->part[0].type = MBR_TYPE_GPT;
	m->part[0].chs_first[0] = 0x00;
	m->part[0].chs_first[1] = 0x02;
	m->part[0].chs_first[2] = 0x00;
	mbr_lba_to_chs(count, m->part[0].chs_last);
	m->part[0].lba_first = 1;
	m->part[0].lba_count = count > 0xffffffffu ? 0xffffffffu : (uint32_t)count;
	m->has_sig = 1;
}
