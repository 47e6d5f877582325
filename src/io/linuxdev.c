/*
 * linuxdev.c - sysfs, /proc and BLKPG for whole-disk block devices.
 */
#include "linuxdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The first line of a small sysfs file, trimmed; "" when absent. */
static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)cap, f)) {
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = '\0';
	}
	fclose(f);
}

int linuxdev_name(dev_t dev, char *name, size_t cap)
{
	char link[64], target[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
		return -1;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	snprintf(name, cap, "%s", base ? base + 1 : target);
	return 0;
}

void linuxdev_identity(const char *name, char *out, size_t cap)
{
	static const char *const files[][2] = {
		{"serial", "serial"}, {"device/serial", "serial"}, {"device/wwid", "wwid"},
		{"wwid", "wwid"}, {"loop/backing_file", "loop"},
	};
	char path[256], v[256];

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/sys/block/%s/%s", name, files[i][0]);
		read_line(path, v, sizeof(v));
		if (v[0]) {
			snprintf(out, cap, "%s:%s", files[i][1], v);
			return;
		}
	}
}

/* The disk itself and each of its partitions: sysfs name and dev_t. */
struct member {
	char name[64];
	dev_t dev;
};

static size_t members(const char *name, dev_t dev, struct member *v, size_t cap)
{
	char path[256];
	size_t n = 0;

	snprintf(v[n].name, sizeof(v[n].name), "%s", name);
	v[n++].dev = dev;
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	DIR *d = opendir(path);
	if (!d)
		return n;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap) {
		char f[600], mm[32];
		unsigned ma, mi;
		if (strncmp(e->d_name, name, strlen(name)) != 0)
			continue;
		snprintf(f, sizeof(f), "%s/%s/dev", path, e->d_name);
		read_line(f, mm, sizeof(mm));
		if (sscanf(mm, "%u:%u", &ma, &mi) != 2)
			continue;
		snprintf(v[n].name, sizeof(v[n].name), "%.63s", e->d_name);
		v[n++].dev = makedev(ma, mi);
	}
	closedir(d);
	return n;
}

static void add_reason(char *out, size_t cap, const char *fmt, const char *a, const char *b)
{
	size_t o = strlen(out);

	if (o + 4 >= cap)
		return;
	if (o)
		o += (size_t)snprintf(out + o, cap - o, "; ");
	snprintf(out + o, cap - o, fmt, a, b);
}

void linuxdev_holders(const char *name, dev_t dev, char *out, size_t cap)
{
	struct member m[130];
	size_t n = members(name, dev, m, 130);
	char line[4096];

	out[0] = '\0';
	/* Mounted: mountinfo's third field is major:minor. */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned ma, mi;
		char mnt[2048];
		if (sscanf(line, "%*s %*s %u:%u %*s %2047s", &ma, &mi, mnt) != 3)
			continue;
		for (size_t i = 0; i < n; i++)
			if (major(m[i].dev) == ma && minor(m[i].dev) == mi)
				add_reason(out, cap, "%s is mounted on %s", m[i].name, mnt);
	}
	if (f)
		fclose(f);
	/* Swapped on. */
	f = fopen("/proc/swaps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char dev_path[1024];
		struct stat st;
		if (sscanf(line, "%1023s", dev_path) != 1 || stat(dev_path, &st) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (S_ISBLK(st.st_mode) && st.st_rdev == m[i].dev)
				add_reason(out, cap, "%s is in use as swap%s", m[i].name, "");
	}
	if (f)
		fclose(f);
	/* Held by md or device-mapper. */
	for (size_t i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof(path), "/sys/class/block/%.63s/holders", m[i].name);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				add_reason(out, cap, "%s is held by %s", m[i].name, e->d_name);
		if (d)
			closedir(d);
	}
	/* Backing a loop device. */
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[512], back[1024];
		struct stat st;
		if (strncmp(e->d_name, "loop", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		read_line(path, back, sizeof(back));
		if (!back[0] || stat(back, &st) < 0 || !S_ISBLK(st.st_mode))
			continue;
		for (size_t i = 0; i < n; i++)
			if (st.st_rdev == m[i].dev)
				add_reason(out, cap, "%s backs %s", m[i].name, e->d_name);
	}
	if (d)
		closedir(d);
}

static int blkpg(int fd, int op, uint32_t pno, uint64_t start, uint64_t len)
{
	struct blkpg_partition p;
	struct blkpg_ioctl_arg a;

	memset(&p, 0, sizeof(p));
	memset(&a, 0, sizeof(a));
	p.start = (long long)start;
	p.length = (long long)len;
	p.pno = (int)pno;
	a.op = op;
	a.datalen = sizeof(p);
	a.data = &p;
	return ioctl(fd, BLKPG, &a) < 0 ? -errno : 0;
}

int linuxdev_set_partitions(int fd, const char *name, const struct blk_part *p, size_t n,
			    char *why, size_t cap)
{
	struct member m[130];
	size_t nm = members(name, 0, m, 130);
	bool have[130] = {false};
	int rc;

	why[0] = '\0';
	/* The kernel's view now: partition number, start and size in
	 * 512-byte units, whatever the sector size. */
	for (size_t i = 1; i < nm; i++) {
		char f[512], v[64];
		snprintf(f, sizeof(f), "/sys/block/%s/%s/partition", name, m[i].name);
		read_line(f, v, sizeof(v));
		uint32_t pno = (uint32_t)strtoul(v, NULL, 10);
		snprintf(f, sizeof(f), "/sys/block/%s/%s/start", name, m[i].name);
		read_line(f, v, sizeof(v));
		uint64_t start = strtoull(v, NULL, 10) * 512;
		snprintf(f, sizeof(f), "/sys/block/%s/%s/size", name, m[i].name);
		read_line(f, v, sizeof(v));
		uint64_t len = strtoull(v, NULL, 10) * 512;
		const struct blk_part *want = NULL;
		for (size_t k = 0; k < n; k++)
			if (p[k].pno == pno)
				want = &p[k];
		if (want && want->start == start) {
			if (want->len != len && (rc = blkpg(fd, BLKPG_RESIZE_PARTITION, pno, start,
							    want->len)) < 0) {
				snprintf(why, cap, "resizing %s: %s", m[i].name, strerror(-rc));
				return rc;
			}
			have[want - p] = true;
			continue;
		}
		if ((rc = blkpg(fd, BLKPG_DEL_PARTITION, pno, 0, 0)) < 0) {
			snprintf(why, cap, "removing %s: %s", m[i].name, strerror(-rc));
			return rc;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!have[k] && (rc = blkpg(fd, BLKPG_ADD_PARTITION, p[k].pno, p[k].start,
					    p[k].len)) < 0) {
			snprintf(why, cap, "adding partition %u: %s", p[k].pno, strerror(-rc));
			return rc;
		}
	return 0;
}

int linuxdev_part_mounted(const char *name, uint32_t pno, char *where, size_t cap)
{
	struct member m[130];
	size_t n = members(name, 0, m, 130);
	char line[4096];

	where[0] = '\0';
	for (size_t i = 1; i < n; i++) {
		char f[600], v[32];
		snprintf(f, sizeof(f), "/sys/block/%s/%s/partition", name, m[i].name);
		read_line(f, v, sizeof(v));
		if ((uint32_t)strtoul(v, NULL, 10) != pno)
			continue;
		FILE *mi = fopen("/proc/self/mountinfo", "re");
		while (mi && fgets(line, sizeof(line), mi)) {
			unsigned ma, mn;
			char mnt[2048];
			if (sscanf(line, "%*s %*s %u:%u %*s %2047s", &ma, &mn, mnt) == 3 &&
			    ma == major(m[i].dev) && mn == minor(m[i].dev)) {
				snprintf(where, cap, "%s is mounted on %s", m[i].name, mnt);
				fclose(mi);
				return 1;
			}
		}
		if (mi)
			fclose(mi);
	}
	return 0;
}

void linuxdev_settle(void)
{
	static char *const argv[] = {"udevadm", "settle", "--timeout=10", NULL};
	pid_t pid;
	int st;

	if (access("/run/udev/control", F_OK) != 0)
		return;
	if (posix_spawnp(&pid, "udevadm", NULL, NULL, argv, environ) == 0)
		waitpid(pid, &st, 0);
}
