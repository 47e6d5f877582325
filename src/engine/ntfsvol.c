/* ntfsvol.c - NTFS through libntfs-3g on gptmirror's block devices (see
 * ntfsvol.h). libntfs-3g does all the NTFS; this file gives it a device
 * (its ntfs_device_operations over a struct blkdev) and turns its answers
 * into gptmirror's. */
#include "ntfsvol.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/ntfstime.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

struct ntfsvol {
	ntfs_volume *vol;
	struct blkdev *dev;
	uint64_t serial;
};

/* --- the device: libntfs-3g's operations over a struct blkdev -------------- */

struct devpriv {
	struct blkdev *bd;
	s64 pos;
};

static struct devpriv *priv_of(struct ntfs_device *dev)
{
	return dev->d_private;
}

static int d_open(struct ntfs_device *dev, int flags)
{
	if (NDevOpen(dev)) {
		errno = EBUSY;
		return -1;
	}
	if ((flags & O_ACCMODE) == O_RDONLY || !priv_of(dev)->bd->writable)
		NDevSetReadOnly(dev);
	priv_of(dev)->pos = 0;
	NDevSetOpen(dev);
	return 0;
}

static int d_close(struct ntfs_device *dev)
{
	dev->d_state &= ~(1UL << ND_Open); /* NDevClearOpen, without its sign warning */
	return 0;
}

static s64 d_seek(struct ntfs_device *dev, s64 off, int whence)
{
	struct devpriv *p = priv_of(dev);
	s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? p->pos : (s64)p->bd->size;

	if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) || base + off < 0) {
		errno = EINVAL;
		return -1;
	}
	p->pos = base + off;
	return p->pos;
}

static s64 d_pread(struct ntfs_device *dev, void *buf, s64 count, s64 off)
{
	struct devpriv *p = priv_of(dev);
	uint64_t size = p->bd->size;

	if (off < 0 || count < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)off >= size)
		return 0;
	if ((uint64_t)(off + count) > size)
		count = (s64)(size - (uint64_t)off);
	int rc = blk_read(p->bd, (uint64_t)off, buf, (size_t)count);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return count;
}

static s64 d_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 off)
{
	struct devpriv *p = priv_of(dev);

	if (NDevReadOnly(dev)) {
		errno = EROFS;
		return -1;
	}
	if (off < 0 || count < 0 || (uint64_t)(off + count) > p->bd->size) {
		errno = ENOSPC;
		return -1;
	}
	int rc = blk_write(p->bd, (uint64_t)off, buf, (size_t)count);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	NDevSetDirty(dev);
	return count;
}

static s64 d_read(struct ntfs_device *dev, void *buf, s64 count)
{
	s64 n = d_pread(dev, buf, count, priv_of(dev)->pos);

	if (n > 0)
		priv_of(dev)->pos += n;
	return n;
}

static s64 d_write(struct ntfs_device *dev, const void *buf, s64 count)
{
	s64 n = d_pwrite(dev, buf, count, priv_of(dev)->pos);

	if (n > 0)
		priv_of(dev)->pos += n;
	return n;
}

static int d_sync(struct ntfs_device *dev)
{
	int rc = NDevReadOnly(dev) ? 0 : blk_flush(priv_of(dev)->bd);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	dev->d_state &= ~(1UL << ND_Dirty); /* NDevClearDirty */
	return 0;
}

static int d_stat(struct ntfs_device *dev, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0600;
	st->st_size = (off_t)priv_of(dev)->bd->size;
	return 0;
}

static int d_ioctl(struct ntfs_device *dev, unsigned long req, void *arg)
{
	struct devpriv *p = priv_of(dev);

	if (req == BLKGETSIZE64) {
		*(uint64_t *)arg = p->bd->size;
		return 0;
	}
	if (req == BLKSSZGET) {
		*(int *)arg = (int)p->bd->sector_size;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static struct ntfs_device_operations ops = {
	.open = d_open,
	.close = d_close,
	.seek = d_seek,
	.read = d_read,
	.write = d_write,
	.pread = d_pread,
	.pwrite = d_pwrite,
	.sync = d_sync,
	.stat = d_stat,
	.ioctl = d_ioctl,
};

/* --- the volume ------------------------------------------------------------ */

int ntfsvol_open(struct blkdev *dev, struct ntfsvol **out, struct gm_err *err)
{
	struct ntfsvol *v = calloc(1, sizeof(*v));
	struct devpriv *p = calloc(1, sizeof(*p));
	uint8_t boot[512];

	*out = NULL;
	if (!v || !p) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	if (dev->size < 512 || blk_read(dev, 0, boot, sizeof(boot)) < 0 ||
	    memcmp(boot + 3, "NTFS    ", 8) != 0) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_CORRUPT, "the volume does not hold an NTFS file system");
	}
	for (int i = 7; i >= 0; i--)
		v->serial = v->serial << 8 | boot[0x48 + i];
	/* libntfs-3g's own messages would go to stderr; its errno says why. */
	ntfs_log_clear_levels(UINT32_MAX);
	p->bd = dev;
	struct ntfs_device *nd = ntfs_device_alloc("gptmirror-volume", 0, &ops, p);
	if (!nd) {
		free(v);
		free(p);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	errno = 0;
	v->vol = ntfs_device_mount(nd, NTFS_MNT_RDONLY);
	if (!v->vol) {
		int e = errno;
		ntfs_device_free(nd);
		free(p);
		free(v);
		return gm_fail(err, GM_E_CORRUPT, "the NTFS cannot be read (libntfs-3g: %s)",
			       e ? strerror(e) : "damaged metadata");
	}
	v->dev = dev;
	*out = v;
	return 0;
}

void ntfsvol_close(struct ntfsvol *v)
{
	if (!v)
		return;
	struct devpriv *p = v->vol->dev->d_private;
	ntfs_umount(v->vol, FALSE); /* frees the ntfs_device as well */
	free(p);
	free(v);
}

const char *ntfsvol_label(const struct ntfsvol *v)
{
	return v->vol->vol_name ? v->vol->vol_name : "";
}

uint64_t ntfsvol_serial(const struct ntfsvol *v)
{
	return v->serial;
}

uint64_t ntfsvol_free_bytes(struct ntfsvol *v)
{
	if (ntfs_volume_get_free_space(v->vol) < 0 || v->vol->free_clusters < 0)
		return 0;
	return (uint64_t)v->vol->free_clusters * v->vol->cluster_size;
}

/* "\a\b" -> "/a/b" for libntfs-3g. */
static int unix_path(const char *path, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap < 2)
		return -1;
	buf[k++] = '/';
	for (const char *c = path; *c; c++) {
		char ch = *c == '\\' ? '/' : *c;
		if (ch == '/' && buf[k - 1] == '/')
			continue;
		if (k + 1 >= cap)
			return -1;
		buf[k++] = ch;
	}
	if (k > 1 && buf[k - 1] == '/')
		k--;
	buf[k] = '\0';
	return 0;
}

static void item_of(ntfs_inode *ni, const char *name, struct ntfs_item *it)
{
	struct timespec t = ntfs2timespec(ni->last_data_change_time);

	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	it->dir = (ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) != 0;
	it->size = it->dir || ni->data_size < 0 ? 0 : (uint64_t)ni->data_size;
	it->mtime = (int64_t)t.tv_sec;
	it->attrs = (uint32_t)le32_to_cpu(ni->flags);
}

static int open_path(struct ntfsvol *v, const char *path, ntfs_inode **ni, struct gm_err *err)
{
	char p[4096];

	if (unix_path(path, p, sizeof(p)) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long");
	if (!(*ni = ntfs_pathname_to_inode(v->vol, NULL, p)))
		return gm_fail(err, GM_E_NO_PART, "%s: not found", path[0] ? path : "\\");
	return 0;
}

int ntfsvol_stat(struct ntfsvol *v, const char *path, struct ntfs_item *it, struct gm_err *err)
{
	ntfs_inode *ni;
	const char *base = strrchr(path, '\\');
	int rc = open_path(v, path, &ni, err);

	if (rc < 0)
		return rc;
	item_of(ni, base ? base + 1 : path, it);
	ntfs_inode_close(ni);
	return 0;
}

struct entry {
	char *name;
	MFT_REF mref;
};

struct entries {
	struct entry *v;
	size_t n, cap;
	bool oom;
};

static int collect(void *ctx, const ntfschar *name, const int len, const int type,
		   const s64 pos, const MFT_REF mref, const unsigned dt)
{
	struct entries *es = ctx;
	char *u = NULL;

	(void)pos;
	(void)dt;
	/* The DOS 8.3 alias of a long name is the same file again. */
	if (type == FILE_NAME_DOS || MREF(mref) < FILE_first_user)
		return 0;
	if (ntfs_ucstombs(name, len, &u, 0) < 0 || !u)
		return 0;
	if (strcmp(u, ".") == 0 || strcmp(u, "..") == 0) {
		free(u);
		return 0;
	}
	if (es->n == es->cap) {
		size_t nc = es->cap ? es->cap * 2 : 64;
		struct entry *nv = realloc(es->v, nc * sizeof(*nv));
		if (!nv) {
			free(u);
			es->oom = true;
			return -1;
		}
		es->v = nv;
		es->cap = nc;
	}
	es->v[es->n].name = u;
	es->v[es->n++].mref = mref;
	return 0;
}

int ntfsvol_list(struct ntfsvol *v, const char *path, ntfs_item_fn fn, void *ctx,
		 struct gm_err *err)
{
	ntfs_inode *dir;
	struct entries es = {0};
	s64 pos = 0;
	int rc = open_path(v, path, &dir, err);

	if (rc < 0)
		return rc;
	if (!(dir->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
		ntfs_inode_close(dir);
		return gm_fail(err, GM_E_ARGS, "%s is not a directory", path);
	}
	if (ntfs_readdir(dir, &pos, &es, collect) < 0 && !es.oom)
		rc = gm_fail(err, GM_E_CORRUPT, "the directory's index cannot be read (%s)",
			     strerror(errno));
	if (es.oom)
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
	ntfs_inode_close(dir);
	for (size_t i = 0; i < es.n && rc == 0; i++) {
		ntfs_inode *ni = ntfs_inode_open(v->vol, MREF(es.v[i].mref));
		struct ntfs_item it;
		if (!ni) {
			rc = gm_fail(err, GM_E_CORRUPT, "%s: its MFT record cannot be read",
				     es.v[i].name);
			break;
		}
		item_of(ni, es.v[i].name, &it);
		ntfs_inode_close(ni);
		if (fn(ctx, &it) < 0)
			rc = gm_fail(err, GM_E_IO, "listing %s stopped", path);
	}
	for (size_t i = 0; i < es.n; i++)
		free(es.v[i].name);
	free(es.v);
	return rc;
}

int ntfsvol_read(struct ntfsvol *v, const char *path,
		 int (*sink)(void *ctx, const void *buf, size_t len), void *ctx,
		 struct gm_err *err)
{
	ntfs_inode *ni;
	static uint8_t buf[1 << 20];
	int rc = open_path(v, path, &ni, err);

	if (rc < 0)
		return rc;
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	if (!na) {
		ntfs_inode_close(ni);
		return gm_fail(err, GM_E_CORRUPT, "%s has no data stream", path);
	}
	for (s64 off = 0; off < na->data_size && rc == 0;) {
		s64 want = na->data_size - off < (s64)sizeof(buf) ? na->data_size - off : (s64)sizeof(buf);
		s64 got = ntfs_attr_pread(na, off, want, buf);
		if (got <= 0) {
			rc = gm_fail(err, GM_E_IO, "reading %s failed at byte %lld", path, (long long)off);
			break;
		}
		if (sink(ctx, buf, (size_t)got) < 0)
			rc = gm_fail(err, GM_E_IO, "writing the copy of %s failed", path);
		off += got;
	}
	ntfs_attr_close(na);
	ntfs_inode_close(ni);
	return rc;
}

/* --- format ---------------------------------------------------------------- */

uint64_t ntfsvol_total_bytes(const struct ntfsvol *v)
{
	return (uint64_t)v->vol->nr_clusters * v->vol->cluster_size;
}

uint32_t ntfs_default_unit(uint64_t bytes)
{
	uint32_t u = 4096;

	/* 4 KB clusters address 16 TB; each doubling doubles that. */
	while (u < 65536 && bytes > (uint64_t)u * (UINT32_C(1) << 30) * 4)
		u *= 2;
	return u;
}

/* mkntfs from PATH, or where Debian puts it (sbin is often not on PATH). */
static const char *mkntfs_path(void)
{
	static const char *const where[] = {"/usr/sbin/mkntfs", "/sbin/mkntfs",
					    "/usr/local/sbin/mkntfs", NULL};
	for (int i = 0; where[i]; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return "mkntfs";
}

static int run_mkntfs(const char *file, uint32_t ss, const struct ntfs_format_req *r,
		      uint32_t unit, struct gm_err *err)
{
	char s_ss[16], s_unit[16], s_hid[32];
	const char *argv[24];
	int n = 0, st;

	snprintf(s_ss, sizeof(s_ss), "%" PRIu32, ss);
	snprintf(s_unit, sizeof(s_unit), "%" PRIu32, unit);
	snprintf(s_hid, sizeof(s_hid), "%" PRIu64, r->hidden);
	argv[n++] = "mkntfs";
	argv[n++] = "-Q"; /* the zeroing, if any, is done on the volume itself */
	argv[n++] = "-F";
	argv[n++] = "-q";
	argv[n++] = "-s";
	argv[n++] = s_ss;
	argv[n++] = "-c";
	argv[n++] = s_unit;
	argv[n++] = "-p";
	argv[n++] = s_hid;
	argv[n++] = "-H";
	argv[n++] = "255";
	argv[n++] = "-S";
	argv[n++] = "63";
	if (r->label && r->label[0]) {
		argv[n++] = "-L";
		argv[n++] = r->label;
	}
	if (r->fixed_time)
		argv[n++] = "-T";
	argv[n++] = file;
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return gm_fail(err, GM_E_IO, "cannot run mkntfs: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execv(mkntfs_path(), (char *const *)argv);
		execvp("mkntfs", (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return gm_fail(err, GM_E_IO, "mkntfs: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return gm_fail(err, GM_E_IO, "mkntfs failed (%s %d): is ntfs-3g installed?",
			       WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}

/* Writes the scratch file's bytes [from, to) onto dev: data as it is,
 * holes as zeros (punched where the backend can). */
static int copy_range(int fd, struct blkdev *dev, uint64_t from, uint64_t to, struct gm_err *err)
{
	static uint8_t buf[1 << 20];
	uint64_t at = from;

	while (at < to) {
		off_t d = lseek(fd, (off_t)at, SEEK_DATA);
		uint64_t data = d < 0 || (uint64_t)d > to ? to : (uint64_t)d;
		if (data > at && blk_zero(dev, at, data - at) < 0)
			return gm_fail(err, GM_E_IO, "zeroing the volume failed");
		at = data;
		if (at >= to)
			break;
		off_t h = lseek(fd, (off_t)at, SEEK_HOLE);
		uint64_t hole = h < 0 || (uint64_t)h > to ? to : (uint64_t)h;
		while (at < hole) {
			size_t k = hole - at < sizeof(buf) ? (size_t)(hole - at) : sizeof(buf);
			if (pread(fd, buf, k, (off_t)at) != (ssize_t)k)
				return gm_fail(err, GM_E_IO, "reading mkntfs's file failed");
			if (blk_write(dev, at, buf, k) < 0)
				return gm_fail(err, GM_E_IO, "writing the volume failed");
			at += k;
		}
	}
	return 0;
}

int ntfs_format(struct blkdev *dev, const char *scratch_dir, const struct ntfs_format_req *r,
		uint32_t *unit_out, struct gm_err *err)
{
	uint32_t ss = dev->sector_size, unit = r->unit ? r->unit : ntfs_default_unit(dev->size);
	char file[4096];
	uint8_t boot[4096];
	int rc;

	if (unit < ss || unit > 65536 || (unit & (unit - 1)))
		return gm_fail(err, GM_E_ARGS, "the allocation unit must be a power of two "
			       "from the sector size to 64 KB");
	if (dev->size < (2u << 20))
		return gm_fail(err, GM_E_ARGS, "the volume is too small for NTFS (2 MB at least)");
	if (!dev->writable)
		return gm_fail(err, GM_E_UNREADABLE, "the volume is read-only");
	if (snprintf(file, sizeof(file), "%s/.format-ntfs.tmp", scratch_dir) >= (int)sizeof(file))
		return gm_fail(err, GM_E_ARGS, "path too long");
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return gm_fail(err, GM_E_IO, "cannot make mkntfs's scratch file %s: %s", file,
			       strerror(errno));
	uint64_t size = dev->size - dev->size % ss;
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = gm_fail(err, GM_E_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	rc = run_mkntfs(file, ss, r, unit, err);
	/* The scratch file goes now: a crash below leaves nothing of it. */
	unlink(file);
	if (rc < 0)
		goto out;
	/* The serial number: ours (the seeded one in deterministic mode), in
	 * the boot sector and its copy in the last sector. */
	if (pread(fd, boot, ss, 0) != (ssize_t)ss || memcmp(boot + 3, "NTFS    ", 8) != 0) {
		rc = gm_fail(err, GM_E_IO, "mkntfs wrote no NTFS boot sector");
		goto out;
	}
	for (int i = 0; i < 8; i++)
		boot[0x48 + i] = (uint8_t)(r->serial >> (8 * i));
	if (pwrite(fd, boot, ss, 0) != (ssize_t)ss ||
	    pwrite(fd, boot, ss, (off_t)(size - ss)) != (ssize_t)ss) {
		rc = gm_fail(err, GM_E_IO, "%s: %s", file, strerror(errno));
		goto out;
	}
	/* RAW first, then the body, then the boot sector. */
	uint8_t zero[4096] = {0};
	if (blk_write(dev, 0, zero, ss) < 0 || blk_flush(dev) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed");
		goto out;
	}
	if (!r->quick && blk_zero(dev, ss, size - ss) < 0) {
		rc = gm_fail(err, GM_E_IO, "zeroing the volume failed");
		goto out;
	}
	if ((rc = copy_range(fd, dev, ss, size, err)) < 0)
		goto out;
	if (blk_flush(dev) < 0 || blk_write(dev, 0, boot, ss) < 0 || blk_flush(dev) < 0) {
		rc = gm_fail(err, GM_E_IO, "writing the volume failed");
		goto out;
	}
	*unit_out = unit;
out:
	close(fd);
	unlink(file); /* if not gone yet */
	return rc;
}
