/* test_ntfsfind.c - the loader's NTFS reader on a volume gptmirror wrote
 * (tests/fuzz/corpus-ntfsfind: mkntfs, then xcopy of \WINDOWS with 150
 * files in system32, so that directory's index has INDX blocks; ntfsls
 * lists the same files), and on copies of it damaged one field at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/fmt/bytes.h"
#include "../../src/fmt/ntfsfind.h"
#include "unit.h"

#define IMG "tests/fuzz/corpus-ntfsfind/mkntfs-3m-windows-150-files"

struct mem {
	uint8_t *data;
	size_t size;
	int reads_outside;
};

static int mem_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct mem *m = ctx;

	if (off > m->size || m->size - off < len) {
		m->reads_outside++;
		return -1;
	}
	memcpy(buf, m->data + off, len);
	return 0;
}

static struct mem load_img(void)
{
	struct mem m = {NULL, 0, 0};
	FILE *f = fopen(IMG, "rb");

	if (!f)
		return m;
	m.data = malloc(3u << 20);
	if (m.data)
		m.size = fread(m.data, 1, 3u << 20, f);
	fclose(f);
	return m;
}

static void ntfsfind_paths(void)
{
	struct mem m = load_img();
	struct ntfs_find *f = malloc(sizeof(*f));
	char p[128];

	CHECK(m.size == 3u << 20);
	CHECK(f && ntfs_find_open(f, mem_read, &m, m.size) == 0);
	if (!f || !m.data || m.size != 3u << 20) {
		free(f);
		free(m.data);
		return;
	}
	CHECK(ntfs_find_path(f, "") == NTFS_FIND_DIR);
	CHECK(ntfs_find_path(f, "\\WINDOWS") == NTFS_FIND_DIR);
	CHECK(ntfs_find_path(f, "\\WINDOWS\\win.ini") == NTFS_FIND_FILE);
	CHECK(ntfs_find_path(f, "\\WINDOWS\\system32\\ntoskrnl.exe") == NTFS_FIND_FILE);
	CHECK(ntfs_find_path(f, "\\windows\\SYSTEM32\\NtOsKrnl.EXE") == NTFS_FIND_FILE);
	CHECK(ntfs_find_path(f, "WINDOWS\\\\system32\\") == NTFS_FIND_DIR);
	CHECK(ntfs_find_path(f, "\\WINNT") == NTFS_FIND_NONE);
	CHECK(ntfs_find_path(f, "\\WINDOWS\\system32\\ntoskrnl.ex") == NTFS_FIND_NONE);
	CHECK(ntfs_find_path(f, "\\WINDOWS\\system32\\file0.dll") == NTFS_FIND_NONE);
	CHECK(ntfs_find_path(f, "\\WINDOWS\\win.ini\\x") == NTFS_FIND_NONE);
	CHECK(ntfs_find_path(f, "\\$MFT") == NTFS_FIND_FILE);
	int all = 1;
	for (int i = 1; i <= 150; i++) {
		snprintf(p, sizeof(p), "\\WINDOWS\\system32\\file%d.dll", i);
		all &= ntfs_find_path(f, p) == NTFS_FIND_FILE;
	}
	CHECK(all);
	CHECK(m.reads_outside == 0);
	free(f);
	free(m.data);
}

/* Offset of the first "INDX" block of the volume. */
static size_t first_indx(const struct mem *m)
{
	for (size_t o = 0; o + 4 <= m->size; o += 4096)
		if (memcmp(m->data + o, "INDX", 4) == 0)
			return o;
	return 0;
}

static void ntfsfind_damage(void)
{
	struct ntfs_find *f = malloc(sizeof(*f));
	struct mem m = load_img();

	CHECK(f && m.size == 3u << 20);
	if (!f || m.size != 3u << 20) {
		free(f);
		free(m.data);
		return;
	}
	uint32_t cluster = get_le16(m.data + 0x0b) * m.data[0x0d];
	uint64_t mft = get_le64(m.data + 0x30) * cluster;
	size_t indx = first_indx(&m);
	CHECK(indx != 0);
	struct {
		const char *what;
		size_t off;
		uint8_t val;
		int open_fails;
	} cases[] = {
		{"oem id", 3, 'X', 1},
		{"sector size", 0x0c, 0x11, 1},
		{"cluster size", 0x0d, 0x03, 1},
		{"mft record size", 0x40, 0x7f, 1},
		{"mft position", 0x37, 0x40, 1},
		{"mft magic", (size_t)mft, 'X', 1},
		{"mft fixup", (size_t)mft + 510, 0xee, 1},
		{"root record fixup", (size_t)mft + 5 * 1024 + 1022, 0xee, 0},
		{"root attribute length", (size_t)mft + 5 * 1024 + 0x3c, 0xff, 0},
		{"index block magic", indx, 'X', 0},
		{"index block fixup", indx + 1022, 0xee, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mem d = load_img();
		if (!d.data)
			continue;
		d.data[cases[i].off] ^= cases[i].val;
		int o = ntfs_find_open(f, mem_read, &d, d.size);
		int r = o < 0 ? -1 : ntfs_find_path(f, "\\WINDOWS\\system32\\ntoskrnl.exe");
		int r2 = o < 0 ? -1 : ntfs_find_path(f, "\\WINDOWS\\system32\\file150.dll");
		if (cases[i].open_fails ? o != -1 : (o != 0 || (r != -1 && r2 != -1)) ||
		    d.reads_outside) {
			fprintf(stderr, "  damage %s: open %d, find %d %d, reads outside %d\n",
				cases[i].what, o, r, r2, d.reads_outside);
			unit_failed_now = 1;
		}
		free(d.data);
	}
	/* A volume shorter than the MFT says: never a read past its end. */
	m.size = 64 * 1024;
	CHECK(ntfs_find_open(f, mem_read, &m, m.size) == -1 ||
	      ntfs_find_path(f, "\\WINDOWS\\system32\\file150.dll") == -1);
	CHECK(m.reads_outside == 0);
	free(f);
	free(m.data);
}

UNIT_TESTS(ntfsfind_tests) = {
	{"ntfsfind_paths", ntfsfind_paths},
	{"ntfsfind_damage", ntfsfind_damage},
	UNIT_END,
};
