/*
 * efivarfs.c - the firmware's NVRAM through efivarfs: a file NAME-GUID per
 * variable, holding 4 bytes of attributes (little-endian) and the data.
 * A variable is written with one write() of attributes and data; files the
 * kernel marks immutable have the flag cleared only for the variable being
 * changed, and set again after a change that failed; a variable created by
 * a write that failed is removed (the kernel can leave a 0-byte file).
 * Every change reaches the firmware at once: commit has nothing to do.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../fmt/bytes.h"
#include "nvram.h"

#define VAR_MAX (64u << 10)

struct efivarfs {
	char *dir;
	bool real; /* the kernel's efivarfs (else a directory standing for it) */
};

#define EFIVARFS_MAGIC 0xde5e81e4

static void var_path(const struct efivarfs *e, const char *name, const struct guid *g,
		     char *out, size_t cap)
{
	char gs[40];

	guid_to_str(g, gs); /* lower case, as the kernel names the files */
	snprintf(out, cap, "%s/%s-%s", e->dir, name, gs);
}

/* Clears the immutable flag of path; *was says whether it was set. */
static void mutable_on(const char *path, int *was)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), fl = 0;

	*was = 0;
	if (fd < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && (fl & FS_IMMUTABLE_FL)) {
		*was = 1;
		fl &= ~FS_IMMUTABLE_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &fl);
	}
	close(fd);
}

static void immutable_again(const char *path, int was)
{
	int fd, fl = 0;

	if (!was || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0) {
		fl |= FS_IMMUTABLE_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &fl);
	}
	close(fd);
}

static int read_var(const char *path, uint32_t *attrs, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *b;
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (!(b = malloc(VAR_MAX + 4))) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, b + got, VAR_MAX + 4 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < 4) { /* a 0-byte leftover reads as no variable */
		free(b);
		return 0;
	}
	if (attrs)
		*attrs = get_le32(b);
	memmove(b, b + 4, got - 4);
	*data = b;
	*len = got - 4;
	return 1;
}

static int efi_get(struct nvram *nv, const char *name, const struct guid *g, uint32_t *attrs,
		   uint8_t **data, size_t *len)
{
	char path[4200];

	var_path(nv->priv, name, g, path, sizeof(path));
	return read_var(path, attrs, data, len);
}

static int why_errno(struct gm_err *err, int e, const char *name)
{
	switch (e) {
	case ENOSPC:
		return gm_fail(err, GM_E_NO_SPACE, "the firmware's NVRAM has no room for %s "
			       "(deleted variables are reclaimed at the next boot); nothing "
			       "was changed", name);
	case EINVAL:
		return gm_fail(err, GM_E_ARGS, "the firmware (or the kernel) refused %s as "
			       "invalid; nothing was changed", name);
	case EROFS:
		return gm_fail(err, GM_E_IO, "efivarfs is mounted read-only; nothing was changed");
	case EACCES:
	case EPERM:
		return gm_fail(err, GM_E_IO, "writing %s is not permitted (%s); nothing was "
			       "changed", name, strerror(e));
	default:
		return gm_fail(err, GM_E_IO, "writing %s failed: %s", name, strerror(e));
	}
}

static int efi_set(struct nvram *nv, const char *name, const struct guid *g, uint32_t attrs,
		   const uint8_t *data, size_t len, struct gm_err *err)
{
	char path[4200];
	uint8_t *b = malloc(len + 4);
	struct stat st;
	int was = 0, fd, e = 0;

	if (!b)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	put_le32(b, attrs);
	memcpy(b + 4, data, len);
	var_path(nv->priv, name, g, path, sizeof(path));
	bool exists = stat(path, &st) == 0;
	if (exists)
		mutable_on(path, &was);
	/* The kernel replaces a variable with each write; a directory that
	 * stands for efivarfs needs the file cut to size. */
	const struct efivarfs *ev = nv->priv;
	int trunc = ev->real ? 0 : O_TRUNC;
	fd = open(path, O_WRONLY | O_CLOEXEC | (exists ? trunc : O_CREAT | O_EXCL), 0644);
	if (fd < 0) {
		e = errno;
	} else {
		/* One write: the kernel takes a variable whole or not at all. */
		ssize_t n = write(fd, b, len + 4);
		if (n < 0)
			e = errno;
		else if ((size_t)n != len + 4)
			e = EIO;
		if (close(fd) < 0 && !e)
			e = errno;
	}
	free(b);
	if (e && !exists)
		unlink(path); /* no 0-byte leftover */
	immutable_again(path, was);
	return e ? why_errno(err, e, name) : 0;
}

static int efi_del(struct nvram *nv, const char *name, const struct guid *g, struct gm_err *err)
{
	char path[4200];
	struct stat st;
	int was;

	var_path(nv->priv, name, g, path, sizeof(path));
	if (stat(path, &st) < 0)
		return 0;
	mutable_on(path, &was);
	if (unlink(path) < 0) {
		int e = errno;
		immutable_again(path, was);
		if (e == ENOENT)
			return 0;
		return why_errno(err, e, name);
	}
	return 1;
}

static int efi_list(struct nvram *nv, nvram_var_fn fn, void *ctx)
{
	struct efivarfs *ev = nv->priv;
	DIR *d = opendir(ev->dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return -1;
	while (rc == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[128], path[4200];
		struct guid g;
		if (n < 38 || de->d_name[n - 37] != '-' || n - 37 >= sizeof(name))
			continue;
		if (guid_from_str(de->d_name + n - 36, &g) < 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 37), de->d_name);
		snprintf(path, sizeof(path), "%s/%s", ev->dir, de->d_name);
		uint32_t attrs;
		uint8_t *data;
		size_t len;
		if (read_var(path, &attrs, &data, &len) != 1)
			continue;
		rc = fn(ctx, name, &g, attrs, data, len);
		free(data);
	}
	closedir(d);
	return rc;
}

static int efi_commit(struct nvram *nv, struct gm_err *err)
{
	(void)err;
	nv->dirty = false;
	return 0;
}

static void efi_close(struct nvram *nv)
{
	struct efivarfs *ev = nv->priv;

	free(ev->dir);
	free(ev);
	free(nv);
}

static const struct nvram_ops efivarfs_ops = {
	.get = efi_get,
	.set = efi_set,
	.del = efi_del,
	.list = efi_list,
	.commit = efi_commit,
	.close = efi_close,
};

int nvram_open_efivarfs(const char *dir, struct nvram **out, struct gm_err *err)
{
	struct stat st;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return gm_fail(err, GM_E_MACHINE, "%s is not there: the firmware's NVRAM is "
			       "reached through efivarfs, on a computer booted with UEFI (mount "
			       "-t efivarfs none %s)", dir, dir);
	struct nvram *nv = calloc(1, sizeof(*nv));
	struct efivarfs *ev = calloc(1, sizeof(*ev));
	if (!nv || !ev || !(ev->dir = strdup(dir))) {
		free(nv);
		if (ev)
			free(ev->dir);
		free(ev);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	struct statfs sf;
	ev->real = statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == EFIVARFS_MAGIC;
	nv->ops = &efivarfs_ops;
	nv->priv = ev;
	*out = nv;
	return 0;
}
