/* test_fat.c - FAT codec, Windows' format layout, and the file-system
 * engine on memory volumes, damaged ones included. */
#include <stdlib.h>
#include <string.h>

#include "../../src/engine/fatfs.h"
#include "../../src/fmt/bytes.h"
#include "unit.h"

#define MIB (1024ull * 1024)

static void name_plans(void)
{
	uint8_t b[11], nt;
	bool lfn, lossy;

	CHECK(fat_name_plan("README.TXT", b, &nt, &lfn, &lossy) == 0);
	CHECK(!lfn && nt == 0 && memcmp(b, "README  TXT", 11) == 0);
	CHECK(fat_name_plan("readme.txt", b, &nt, &lfn, &lossy) == 0);
	CHECK(!lfn && nt == (FAT_NTRES_LOWER_BASE | FAT_NTRES_LOWER_EXT));
	CHECK(fat_name_plan("ia64ldr.efi", b, &nt, &lfn, &lossy) == 0);
	CHECK(!lfn && memcmp(b, "IA64LDR EFI", 11) == 0);
	CHECK(fat_name_plan("Boot0003", b, &nt, &lfn, &lossy) == 0);
	CHECK(lfn && !lossy && memcmp(b, "BOOT0003   ", 11) == 0);
	CHECK(fat_name_plan("Program Files", b, &nt, &lfn, &lossy) == 0);
	CHECK(lfn && lossy && memcmp(b, "PROGRAMF   ", 11) == 0);
	CHECK(fat_name_plan("a+b,c.tar.gz", b, &nt, &lfn, &lossy) == 0);
	CHECK(lfn && memcmp(b, "A_B_CTARGZ ", 11) == 0);
	CHECK(fat_name_plan(".bashrc", b, &nt, &lfn, &lossy) == 0);
	CHECK(lfn && memcmp(b, "BASHRC     ", 11) == 0);
	CHECK(fat_name_plan("Donn\xc3\xa9" "es.txt", b, &nt, &lfn, &lossy) == 0);
	CHECK(lfn && lossy && memcmp(b, "DONN_ES TXT", 11) == 0);
	/* Names FAT cannot hold. */
	CHECK(fat_name_plan("a/b", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("what?", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("..", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("trailing.", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("", b, &nt, &lfn, &lossy) < 0);
	/* Windows' reserved device names, with any case or extension. */
	CHECK(fat_name_plan("CON", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("nul", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("COM1", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("AUX.c", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("LPT1.txt", b, &nt, &lfn, &lossy) < 0);
	CHECK(fat_name_plan("CONFIG.SYS", b, &nt, &lfn, &lossy) == 0);
	CHECK(fat_name_plan("COM10", b, &nt, &lfn, &lossy) == 0);
	CHECK(fat_name_plan("console", b, &nt, &lfn, &lossy) == 0);
	char longname[300];
	memset(longname, 'x', 256);
	longname[256] = '\0';
	CHECK(fat_name_plan(longname, b, &nt, &lfn, &lossy) < 0);
	longname[255] = '\0';
	CHECK(fat_name_plan(longname, b, &nt, &lfn, &lossy) == 0);
}

static void short_tails(void)
{
	uint8_t out[11];
	char s[13];

	fat_short_tail((const uint8_t *)"PROGRAMF   ", 1, out);
	CHECK(memcmp(out, "PROGRA~1   ", 11) == 0);
	fat_short_tail((const uint8_t *)"PROGRAMFTXT", 12, out);
	CHECK(memcmp(out, "PROGR~12TXT", 11) == 0);
	fat_short_tail((const uint8_t *)"AB      TXT", 3, out);
	CHECK(memcmp(out, "AB~3    TXT", 11) == 0);
	fat_short_to_str((const uint8_t *)"README  TXT", FAT_NTRES_LOWER_BASE, s);
	CHECK(strcmp(s, "readme.TXT") == 0);
	fat_short_to_str((const uint8_t *)"BOOT0003   ", 0, s);
	CHECK(strcmp(s, "BOOT0003") == 0);
}

static void lfn_codec(void)
{
	struct fat_lfn l = {0x41, 0, {0}}, d;
	uint8_t buf[32];

	/* The checksum of "README  TXT", by the spec's rotate-and-add. */
	uint8_t sum = 0;
	const char *n = "README  TXT";
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) ? 0x80 : 0) + (sum >> 1) + (uint8_t)n[i]);
	CHECK(fat_lfn_checksum((const uint8_t *)n) == sum);
	CHECK(fat_lfn_checksum((const uint8_t *)"           ") == 0xf7);
	l.chksum = 0x9c;
	for (int i = 0; i < 13; i++)
		l.units[i] = (uint16_t)(0x41 + i);
	fat_lfn_encode(&l, buf);
	CHECK(buf[11] == 0x0f && buf[12] == 0 && buf[26] == 0 && buf[27] == 0);
	CHECK(get_le16(buf + 1) == 0x41 && get_le16(buf + 14) == 0x46 &&
	      get_le16(buf + 30) == 0x4d);
	fat_lfn_decode(buf, &d);
	CHECK(memcmp(&d, &l, sizeof(d)) == 0);
}

static void fat_entries(void)
{
	uint8_t fat[64] = {0};

	fat_set(fat, FAT12, 2, 0x123);
	fat_set(fat, FAT12, 3, 0xabc);
	CHECK(fat_get(fat, FAT12, 2) == 0x123 && fat_get(fat, FAT12, 3) == 0xabc);
	CHECK(fat[3] == 0x23 && fat[4] == 0xc1 && fat[5] == 0xab);
	fat_set(fat, FAT16, 5, 0xfff8);
	CHECK(fat_is_eoc(FAT16, fat_get(fat, FAT16, 5)));
	memset(fat, 0xff, sizeof(fat));
	fat_set(fat, FAT32, 3, 7);
	CHECK(fat_get(fat, FAT32, 3) == 7 && fat[15] == 0xf0); /* top bits kept */
	CHECK(fat_bytes_for(FAT12, 4084) == 6129 && fat_bytes_for(FAT32, 10) == 48);
}

static void format_plans(void)
{
	struct fat_bpb b;

	/* The seed's 204 MB ESP: FAT16, 4 KB clusters, 52,168 of them,
	 * 8 reserved sectors, 204-sector FATs. */
	CHECK(fat_format_plan(204 * MIB, 512, FAT16, 0, 34, &b, NULL) == 0);
	CHECK(b.type == FAT16 && b.clus_bytes == 4096 && b.clusters == 52168);
	CHECK(b.rsvd_secs == 8 && b.fat_secs == 204 && b.root_ents == 512);
	CHECK((b.rsvd_secs + 2 * b.fat_secs + 32) % 8 == 0);
	CHECK(fat_format_plan(1 * MIB, 512, FAT16, 0, 0, &b, NULL) == 0);
	CHECK(b.type == FAT12 && b.clusters <= 4084);
	CHECK(fat_format_plan(8 * 1024 * MIB, 512, FAT32, 0, 0, &b, NULL) == 0);
	CHECK(b.type == FAT32 && b.clus_bytes == 4096 && b.rsvd_secs >= 32);
	CHECK(fat_format_plan(32 * 1024 * MIB, 512, FAT32, 0, 0, &b, NULL) == 0);
	CHECK(b.clus_bytes == 16384);
	/* 4096-byte sectors: clusters are at least a sector. */
	CHECK(fat_format_plan(300 * MIB, 4096, FAT32, 0, 0, &b, NULL) == 0);
	CHECK(b.bytes_per_sec == 4096 && b.clus_bytes == 4096);
	struct gm_err err;
	CHECK(fat_format_plan(33 * 1024 * MIB, 512, FAT32, 0, 0, &b, &err) < 0);
	CHECK(fat_format_plan(5 * 1024 * MIB, 512, FAT16, 0, 0, &b, &err) < 0);
	CHECK(fat_format_plan(20 * MIB, 512, FAT32, 0, 0, &b, &err) < 0);
	CHECK(fat_format_plan(100 * MIB, 512, FAT16, 3000, 0, &b, &err) < 0);
}

/* A memory volume formatted by us. */
struct mvol {
	uint8_t *buf;
	uint64_t size;
	struct blkdev *dev;
};

static void mvol_format(struct mvol *v, uint64_t size, enum fat_type kind)
{
	struct fat_bpb b;

	v->buf = calloc(1, size);
	v->size = size;
	blk_open_mem(v->buf, size, 512, &v->dev);
	CHECK(fat_format_plan(size, 512, kind, 0, 0, &b, NULL) == 0);
	CHECK(fat_format(v->dev, &b, "TEST", 0x12345678, 1048852800, true, NULL,
			 NULL, NULL) == 0);
}

static void mvol_free(struct mvol *v)
{
	blk_close(v->dev);
	free(v->buf);
}

struct membuf {
	uint8_t *p;
	size_t len, pos;
};

static ssize_t mem_src(void *ctx, void *buf, size_t len)
{
	struct membuf *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int mem_dst(void *ctx, const void *buf, size_t len)
{
	struct membuf *m = ctx;
	if (m->pos + len > m->len)
		return -1;
	memcpy(m->p + m->pos, buf, len);
	m->pos += len;
	return 0;
}

static int count_fn(void *ctx, const struct fat_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return 0;
}

static void engine_round_trip(enum fat_type kind, uint64_t size)
{
	struct mvol v;
	struct fatfs *fs;
	struct fat_entry e, dir;
	uint8_t *data = malloc(300000), *back = malloc(300000);
	char name[64], label[16];
	int n = 0;

	mvol_format(&v, size, kind);
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	uint32_t free0 = fatfs_free_clusters(fs);
	for (int i = 0; i < 300000; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	CHECK(fatfs_mkdir(fs, fatfs_root(fs), "A Directory", 1048852800, &dir, NULL) == 0);
	for (int i = 0; i < 40; i++) {
		struct membuf src = {data, (size_t)i * 997, 0};
		snprintf(name, sizeof(name), "File number %d.bin", i);
		CHECK(fatfs_write_file(fs, dir.d.first_clus, name, FAT_ATTR_ARCHIVE,
				       1048852800, src.len, mem_src, &src, NULL, NULL) == 0);
	}
	struct membuf big = {data, 300000, 0};
	CHECK(fatfs_write_file(fs, fatfs_root(fs), "big.bin", FAT_ATTR_ARCHIVE,
			       1048852800, 300000, mem_src, &big, NULL, NULL) == 0);
	CHECK(fatfs_sync(fs, NULL) == 0);
	fatfs_close(fs);

	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	CHECK(fatfs_lookup(fs, "A DIRECTORY\\file NUMBER 39.BIN", &e, NULL) == 0);
	CHECK(e.d.size == 39 * 997);
	struct membuf dst = {back, 300000, 0};
	CHECK(fatfs_read_file(fs, &e, mem_dst, &dst, NULL) == 0);
	CHECK(dst.pos == 39 * 997 && memcmp(back, data, dst.pos) == 0);
	CHECK(fatfs_lookup(fs, "big.bin", &e, NULL) == 0);
	dst.pos = 0;
	CHECK(fatfs_read_file(fs, &e, mem_dst, &dst, NULL) == 0);
	CHECK(dst.pos == 300000 && memcmp(back, data, 300000) == 0);
	CHECK(fatfs_list(fs, dir.d.first_clus, count_fn, &n, NULL) == 0 && n == 40);
	fatfs_label(fs, label, sizeof(label));
	CHECK(strcmp(label, "TEST") == 0);
	/* Replacing and deleting give every cluster back. */
	CHECK(fatfs_unlink(fs, &e, NULL) == 0);
	CHECK(fatfs_lookup(fs, "big.bin", &e, NULL) < 0);
	struct membuf again = {data, 5000, 0};
	CHECK(fatfs_write_file(fs, dir.d.first_clus, "File number 0.bin", FAT_ATTR_ARCHIVE,
			       1048852800, 5000, mem_src, &again, NULL, NULL) == 0);
	CHECK(fatfs_lookup(fs, "A Directory/File number 0.bin", &e, NULL) == 0 &&
	      e.d.size == 5000);
	CHECK(fatfs_free_clusters(fs) < free0);
	CHECK(fatfs_sync(fs, NULL) == 0);
	fatfs_close(fs);
	mvol_free(&v);
	free(data);
	free(back);
}

static void engine_fat12(void) { engine_round_trip(FAT16, 2 * MIB); }
static void engine_fat16(void) { engine_round_trip(FAT16, 64 * MIB); }
static void engine_fat32(void) { engine_round_trip(FAT32, 64 * MIB); }

static void root_full_and_disk_full(void)
{
	struct mvol v;
	struct fatfs *fs;
	struct gm_err err;
	char name[32];
	int i, rc = 0;

	mvol_format(&v, 2 * MIB, FAT16);
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	/* 512 root entries minus the label: 511 short names fit. */
	for (i = 0; i < 600 && rc == 0; i++) {
		snprintf(name, sizeof(name), "F%d.TXT", i);
		struct membuf src = {(uint8_t *)"x", 0, 0};
		rc = fatfs_write_file(fs, 0, name, FAT_ATTR_ARCHIVE, 0, 0, mem_src,
				      &src, NULL, &err);
	}
	CHECK(rc < 0 && err.code == GM_E_NO_SPACE && i == 512);
	uint8_t *big = calloc(1, 3 * MIB);
	struct membuf src = {big, 3 * MIB, 0};
	CHECK(fatfs_mkdir(fs, 0, "D", 0, NULL, &err) < 0); /* root full */
	CHECK(fatfs_write_file(fs, 0, "F0.TXT", FAT_ATTR_ARCHIVE, 0, 3 * MIB,
			       mem_src, &src, NULL, &err) < 0);
	CHECK(err.code == GM_E_NO_SPACE);
	fatfs_close(fs);
	free(big);
	mvol_free(&v);
}

/* Damaged volumes: a clear error, no crash, nothing written. */
static void damaged(void)
{
	struct mvol v;
	struct fatfs *fs;
	struct fat_entry e;
	struct gm_err err;
	uint8_t data[20000], back[20000];

	memset(data, 'd', sizeof(data));
	mvol_format(&v, 8 * MIB, FAT16);
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	struct membuf src = {data, sizeof(data), 0};
	CHECK(fatfs_write_file(fs, 0, "file.bin", FAT_ATTR_ARCHIVE, 0, sizeof(data),
			       mem_src, &src, &e, NULL) == 0);
	CHECK(fatfs_sync(fs, NULL) == 0);
	fatfs_close(fs);
	const struct fat_bpb *unused = NULL;
	(void)unused;
	struct fat_bpb b;
	const char *why;
	CHECK(fat_bpb_decode(v.buf, 512, v.size, &b, &why) == 0);
	uint8_t *snap = malloc(v.size);

	/* 1. A cluster loop: the file's second cluster points to its first. */
	uint8_t *fat1 = v.buf + (uint64_t)b.first_fat * 512;
	uint32_t c1 = e.d.first_clus, c2 = fat_get(fat1, b.type, c1);
	fat_set(fat1, b.type, c2, c1);
	memcpy(snap, v.buf, v.size);
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	CHECK(fatfs_lookup(fs, "file.bin", &e, NULL) == 0);
	struct membuf dst = {back, sizeof(back), 0};
	e.d.size = 0xfffffff0u; /* claim more than the chain can give */
	CHECK(fatfs_read_file(fs, &e, mem_dst, &dst, &err) < 0);
	CHECK(err.code == GM_E_UNREADABLE || err.code == GM_E_IO);
	fatfs_close(fs);
	CHECK(memcmp(snap, v.buf, v.size) == 0);
	fat_set(fat1, b.type, c2, fat_eoc(b.type));

	/* 2. A directory entry pointing past the end of the volume. */
	uint8_t *root = v.buf + (uint64_t)b.first_root * 512;
	for (int s = 0; s < 16; s++)
		if (memcmp(root + 32 * s, "FILE    BIN", 11) == 0) {
			put_le16(root + 32 * s + 26, 0xfff0);
		}
	memcpy(snap, v.buf, v.size);
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	CHECK(fatfs_lookup(fs, "file.bin", &e, NULL) == 0);
	dst.pos = 0;
	CHECK(fatfs_read_file(fs, &e, mem_dst, &dst, &err) < 0);
	CHECK(strstr(err.detail, "outside the volume") != NULL);
	fatfs_close(fs);
	CHECK(memcmp(snap, v.buf, v.size) == 0);

	/* 3. A truncated volume: the boot sector describes more sectors. */
	struct blkdev *small;
	blk_open_mem(v.buf, 4 * MIB, 512, &small);
	CHECK(fatfs_open(small, &fs, &err) < 0);
	CHECK(strstr(err.detail, "larger than the volume") != NULL);
	blk_close(small);

	/* 4. Impossible boot-sector values. */
	static const struct {
		int off;
		uint8_t val;
	} bad[] = {{13, 3}, {13, 0}, {16, 0}, {14, 0}, {12, 0}, {12, 3}, {510, 0}, {0, 0}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t save = v.buf[bad[i].off], save15 = v.buf[15];
		v.buf[bad[i].off] = bad[i].val;
		if (bad[i].off == 14)
			v.buf[15] = 0;
		int rc = fatfs_open(v.dev, &fs, &err);
		if (rc == 0) {
			fprintf(stderr, "  accepted: byte %d = %u\n", bad[i].off, bad[i].val);
			fatfs_close(fs);
		}
		CHECK(rc < 0 && err.code == GM_E_UNREADABLE);
		v.buf[bad[i].off] = save;
		v.buf[15] = save15;
	}
	CHECK(fatfs_open(v.dev, &fs, NULL) == 0);
	fatfs_close(fs);
	free(snap);
	mvol_free(&v);
}

UNIT_TESTS(fat_tests) = {
	{"fat_name_plans", name_plans},
	{"fat_short_tails", short_tails},
	{"fat_lfn_codec", lfn_codec},
	{"fat_entries", fat_entries},
	{"fat_format_plans", format_plans},
	{"fat_engine_fat12", engine_fat12},
	{"fat_engine_fat16", engine_fat16},
	{"fat_engine_fat32", engine_fat32},
	{"fat_root_full_and_disk_full", root_full_and_disk_full},
	{"fat_damaged", damaged},
	UNIT_END,
};
