/*
 * imgtool.c - sparse-aware image helpers for the shell tests, so that a
 * 10 GiB or 2 TiB sparse image is compared or hashed by its data only.
 *
 *   imgtool hash FILE...   a 64-bit hash of the size and every non-zero
 *                          4 KiB block with its offset (holes read as zeros)
 *   imgtool cmp A B        exit 0 if A and B hold the same bytes
 *   imgtool extract IMG OFFSET LENGTH OUT
 *                          copies a byte range (a partition) into a new
 *                          sparse file, reading only the data extents
 *   imgtool cmprange A AOFF B BOFF LENGTH
 *                          exit 0 if the two byte ranges hold the same
 *                          bytes (where both are holes nothing is read);
 *                          else 1, and the first offset that differs
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK 4096

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Hash of (size, [offset, block] for every non-zero block). */
static int hash_file(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t buf[BLK];
	uint64_t h = 0xcbf29ce484222325ull;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	h = fnv(h, &st.st_size, sizeof(st.st_size));
	off_t pos = 0;
	while (pos < st.st_size) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0)
			break;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data / BLK * BLK; o < hole; o += BLK) {
			ssize_t n = pread(fd, buf, BLK, o);
			if (n <= 0)
				break;
			if (zero(buf, (size_t)n))
				continue;
			uint64_t off = (uint64_t)o;
			h = fnv(h, &off, sizeof(off));
			h = fnv(h, buf, (size_t)n);
		}
		pos = hole;
	}
	close(fd);
	*out = h;
	return 0;
}

static int extract(const char *img, off_t off, off_t len, const char *out)
{
	int in = open(img, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static uint8_t buf[1 << 20];

	if (in < 0 || o < 0 || ftruncate(o, len) < 0)
		return 2;
	off_t pos = off, end = off + len;
	while (pos < end) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0 || data >= end)
			break;
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		for (off_t p = data; p < hole;) {
			size_t n = (size_t)(hole - p < (off_t)sizeof(buf) ? hole - p : (off_t)sizeof(buf));
			ssize_t r = pread(in, buf, n, p);
			if (r <= 0 || pwrite(o, buf, (size_t)r, p - off) != r)
				return 2;
			p += r;
		}
		pos = hole;
	}
	close(in);
	return close(o) < 0 ? 2 : 0;
}

/* The next offset (relative to the range) from rel on where the range of
 * fd starting at base may hold data: its next data extent. */
static off_t next_data(int fd, off_t base, off_t rel, off_t len)
{
	off_t d = lseek(fd, base + rel, SEEK_DATA);

	return d < 0 || d - base > len ? len : d - base;
}

static int cmprange(const char *a, off_t ao, const char *b, off_t bo, off_t len)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	static uint8_t x[1 << 20], y[1 << 20];

	if (fa < 0 || fb < 0)
		return 2;
	for (off_t rel = 0; rel < len;) {
		off_t da = next_data(fa, ao, rel, len), db = next_data(fb, bo, rel, len);
		/* Holes in both up to the first data of either. */
		rel = da < db ? da : db;
		if (rel >= len)
			break;
		size_t n = (size_t)(len - rel < (off_t)sizeof(x) ? len - rel : (off_t)sizeof(x));
		if (pread(fa, x, n, ao + rel) != (ssize_t)n || pread(fb, y, n, bo + rel) != (ssize_t)n)
			return 2;
		if (memcmp(x, y, n) != 0) {
			size_t i = 0;
			while (x[i] == y[i])
				i++;
			printf("the ranges differ at byte %lld\n", (long long)(rel + (off_t)i));
			return 1;
		}
		rel += (off_t)n;
	}
	close(fa);
	close(fb);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "cmprange") == 0)
		return cmprange(argv[2], (off_t)strtoll(argv[3], NULL, 0), argv[4],
				(off_t)strtoll(argv[5], NULL, 0), (off_t)strtoll(argv[6], NULL, 0));
	if (argc == 6 && strcmp(argv[1], "extract") == 0)
		return extract(argv[2], (off_t)strtoll(argv[3], NULL, 0),
			       (off_t)strtoll(argv[4], NULL, 0), argv[5]);
	if (argc >= 3 && strcmp(argv[1], "hash") == 0) {
		for (int i = 2; i < argc; i++) {
			uint64_t h;
			if (hash_file(argv[i], &h) < 0) {
				perror(argv[i]);
				return 2;
			}
			printf("%016" PRIx64 "  %s\n", h, argv[i]);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "cmp") == 0) {
		uint64_t a, b;
		if (hash_file(argv[2], &a) < 0 || hash_file(argv[3], &b) < 0)
			return 2;
		return a == b ? 0 : 1;
	}
	fprintf(stderr, "usage: imgtool hash FILE... | imgtool cmp A B\n");
	return 2;
}
