/*
 * fatcmd.c - format, xcopy and dir, as Windows prints them, on the
 * machine's lettered volumes (X:\path) and, for xcopy, host paths.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../engine/fatfs.h"
#include "../engine/ntfsvol.h"
#include "../engine/ldm_dev.h"
#include "../engine/machine.h"
#include "../engine/verbs.h"
#include "../fmt/fsprobe.h"
#include "cli.h"
#include "out.h"

/* --- format ------------------------------------------------------------- */

static void show_percent(void *ctx, unsigned pct)
{
	(void)ctx;
	fprintf(stderr, "\r%u percent completed.", pct);
	if (pct >= 100)
		fputc('\n', stderr);
}

/* Windows' format.exe text around a format the engine did. */
static void format_text(const struct format_req *req, const struct format_result *r,
			uint64_t vol_bytes, bool done)
{
	printf("The type of the file system is %s.\n",
	       r->old_kind == FS_RAW ? "RAW" : fs_kind_str(r->old_kind));
	printf("The new file system is %s.\n", req->ntfs ? "NTFS" : req->kind == FAT32 ? "FAT32" : "FAT");
	printf("%s %" PRIu64 "M\n", req->quick ? "QuickFormatting" : "Verifying", vol_bytes >> 20);
	if (!done)
		return;
	if (req->ntfs) {
		/* Server 2003's format.exe on NTFS. */
		printf("Creating file system structures.\nFormat complete.\n");
		printf("%10" PRIu64 " KB total disk space.\n%10" PRIu64 " KB are available.\n\n",
		       r->ntfs_total >> 10, r->ntfs_free >> 10);
		char c[32];
		fmt_commas(r->ntfs_unit, c, sizeof(c));
		printf("%s bytes in each allocation unit.\n\nVolume Serial Number is %04X-%04X\n", c,
		       r->serial >> 16, r->serial & 0xffff);
		return;
	}
	char a[32], b[32], c[32], e[32];
	const struct fat_bpb *plan = &r->plan;
	uint64_t total = (uint64_t)plan->clusters * plan->clus_bytes;
	uint32_t freec = plan->type == FAT32 ? plan->clusters - 1 : plan->clusters;
	printf("Initializing the File Allocation Table (FAT)...\n");
	printf("Format complete.\n\n");
	fmt_commas(total, a, sizeof(a));
	fmt_commas((uint64_t)freec * plan->clus_bytes, b, sizeof(b));
	fmt_commas(plan->clus_bytes, c, sizeof(c));
	fmt_commas(freec, e, sizeof(e));
	printf("%s bytes total disk space.\n%s bytes available on disk.\n\n"
	       "%s bytes in each allocation unit.\n"
	       "%s allocation units available on disk.\n\n"
	       "%d bits in each FAT entry.\n\n"
	       "Volume Serial Number is %04X-%04X\n",
	       a, b, c, e, (int)plan->type, r->serial >> 16, r->serial & 0xffff);
}

static bool label_ok(const char *s, char *out)
{
	size_t n = strlen(s);

	if (n > 11)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)toupper((unsigned char)s[i]);
		if (c < 0x20 || c > 0x7e || strchr("\"*+,./:;<=>?[\\]|", c))
			return false;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return true;
}

static int parse_drive(const char *s, char *l)
{
	if (!isalpha((unsigned char)s[0]) || s[1] != ':')
		return -1;
	*l = (char)toupper((unsigned char)s[0]);
	return 0;
}

static int read_answer(const char *prompt, char *buf, size_t cap)
{
	fputs(prompt, stdout);
	fflush(stdout);
	if (!fgets(buf, (int)cap, stdin))
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!isatty(STDIN_FILENO))
		printf("%s\n", buf);
	return 0;
}

static void say_plex_failed(const char *vol)
{
	fprintf(stderr, "gptmirror: an I/O error on a plex of %s; it was served by the "
		"other plex and the volume is now Failed Rd (gptmirror volume resync "
		"copies the plex again)\n", vol);
}

/* Closes a volume, saying when one of its plexes failed and was marked. */
static int close_vol(struct machine *m, struct vol_handle *h, struct gm_err *err)
{
	char failed[64];
	int rc = vol_close(m, h, failed, sizeof(failed), err);

	if (failed[0])
		say_plex_failed(failed);
	return rc;
}

int format_main(const char *mdir, int argc, char **argv)
{
	const char *drive = NULL, *label = NULL;
	enum fat_type kind = FAT16;
	bool quick = false, yes = false, have_fs = false, ntfs = false;
	uint32_t unit = 0;
	char l, lab[12] = "";
	struct machine *m;
	struct gm_err err;
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncasecmp(a, "/fs:", 4) == 0) {
			if (strcasecmp(a + 4, "fat") == 0)
				kind = FAT16;
			else if (strcasecmp(a + 4, "fat32") == 0)
				kind = FAT32;
			else if (strcasecmp(a + 4, "ntfs") == 0)
				ntfs = true;
			else {
				fprintf(stderr, "The %s file system is not supported "
					"by gptmirror (use FAT, FAT32 or NTFS).\n", a + 4);
				return 1;
			}
			have_fs = true;
		} else if (strcasecmp(a, "/q") == 0) {
			quick = true;
		} else if (strcasecmp(a, "/y") == 0) {
			yes = true;
		} else if (strncasecmp(a, "/v:", 3) == 0) {
			label = a + 3;
		} else if (strncasecmp(a, "/a:", 3) == 0) {
			uint64_t u;
			if (parse_size(a + 3, &u) < 0 || u > 65536) {
				fprintf(stderr, "Invalid parameter - %s\n", a);
				return 1;
			}
			unit = (uint32_t)u;
		} else if (!drive && parse_drive(a, &l) == 0 && a[2] == '\0') {
			drive = a;
		} else {
			fprintf(stderr, "Invalid parameter - %s\n", a);
			return 1;
		}
	}
	if (!drive) {
		fprintf(stderr, "Required parameter missing -\n"
			"usage: format X: /fs:fat|fat32|ntfs [/q] [/y] [/v:LABEL] [/a:SIZE]\n");
		return 1;
	}
	(void)have_fs;
	if (label && !label_ok(label, lab)) {
		fprintf(stderr, "The volume label is not valid: at most 11 "
			"characters, none of \"*+,./:;<=>?[\\]|.\n");
		return 1;
	}
	if (cli_machine_open(mdir, &m, &err) < 0) {
		cli_print_err("format", &err);
		return 1;
	}
	struct vol_target tg = {.kind = VOLT_LETTER, .letter = l};
	if (volume_check(m, &tg, &err) < 0) {
		if (err.code == GM_E_NO_LETTER)
			printf("The system cannot find the drive specified.\n");
		else
			printf("%s\n", err.detail);
		machine_close(m);
		return 1;
	}
	if (!yes) {
		char ans[64];
		printf("WARNING, ALL DATA ON NON-REMOVABLE DISK\nDRIVE %c: WILL BE LOST!\n", l);
		if (read_answer("Proceed with Format (Y/N)? ", ans, sizeof(ans)) < 0 ||
		    toupper((unsigned char)ans[0]) != 'Y') {
			machine_close(m);
			return 1;
		}
		if (!label) {
			if (read_answer("Volume label (11 characters, ENTER for none)? ",
					ans, sizeof(ans)) == 0 && !label_ok(ans, lab)) {
				fprintf(stderr, "The volume label is not valid.\n");
				machine_close(m);
				return 1;
			}
		}
	}
	struct format_req req = {.kind = kind, .ntfs = ntfs, .unit = unit, .label = lab, .quick = quick,
				 .progress = !quick && isatty(STDERR_FILENO) ? show_percent : NULL};
	struct format_result res;
	int frc = volume_format(m, &tg, &req, &res, &err);
	if (res.planned)
		format_text(&req, &res, res.vol_bytes, frc == 0);
	if (frc < 0) {
		printf("%s\n", err.detail);
		rc = 1;
	}
	if (res.failed_vol[0])
		say_plex_failed(res.failed_vol);
	machine_close(m);
	return rc;
}

/* --- paths on volumes ----------------------------------------------------- */

struct vol {
	char letter;
	struct vol_handle h;
	struct fatfs *fs;
	struct ntfsvol *nt; /* an NTFS volume (through libntfs-3g) */
	bool ntw;           /* ... mounted for writing */
	bool changed;       /* ... and written: committed at the end */
};

struct ctx {
	struct machine *m;
	struct vol vols[4];
	int nvols;
	bool sub, empty, hidden, yes, all;
	int copied;
	int failed;
};

#define PROGRESS_MIN (32ull << 20)

/* Percent of a big file, on stderr when it is a terminal. */
static void copy_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (total < PROGRESS_MIN)
		return;
	fprintf(stderr, "\r%3u%% copied", (unsigned)(done * 100 / total));
	if (done == total)
		fputs("\r             \r", stderr);
}

static bool is_ntfs(struct blkdev *dev, uint32_t ss)
{
	uint8_t sec[4096];
	struct fs_probe fp = {0};

	if (ss <= sizeof(sec) && blk_read(dev, 0, sec, ss) == 0)
		fs_probe(sec, ss, &fp);
	return fp.kind == FS_NTFS;
}

/* The volume of letter l, opened once: FAT (fs) or NTFS (nt). The
 * destination of a copy is opened first, for writing; a source volume
 * that is NTFS is read through a mount of its own, any other is opened
 * as a destination would be. */
static struct vol *open_any(struct ctx *c, char l, bool write, struct gm_err *err)
{
	for (int i = 0; i < c->nvols; i++)
		if (c->vols[i].letter == l)
			return &c->vols[i];
	if (c->nvols == 4) {
		gm_fail(err, GM_E_ARGS, "too many volumes in one copy");
		return NULL;
	}
	struct vol *v = &c->vols[c->nvols];
	memset(v, 0, sizeof(*v));
	struct gm_err e2;
	if (!write) {
		struct vol_handle h;
		if (vol_open_letter_read(c->m, l, &h, err) < 0)
			return NULL;
		bool nt = is_ntfs(h.dev, h.ss);
		if (!nt) {
			if (close_vol(c->m, &h, err) < 0)
				return NULL;
			return open_any(c, l, true, err);
		}
		v->h = h;
		if (ntfsvol_open(v->h.dev, &v->nt, err) < 0) {
			vol_close(c->m, &v->h, NULL, 0, &e2);
			return NULL;
		}
	} else {
		if (vol_open_letter(c->m, l, &v->h, err) < 0)
			return NULL;
		int rc = is_ntfs(v->h.dev, v->h.ss) ? ntfsvol_open_rw(v->h.dev, &v->nt, err)
						     : fatfs_open(v->h.dev, &v->fs, err);
		if (rc < 0) {
			vol_close(c->m, &v->h, NULL, 0, &e2);
			return NULL;
		}
		v->ntw = v->nt != NULL;
		if (v->fs && isatty(STDERR_FILENO))
			fatfs_set_progress(v->fs, copy_progress, NULL);
	}
	v->letter = l;
	c->nvols++;
	return v;
}

/* A FAT volume of letter l (dir's FAT side, chkdsk). */
static struct fatfs *open_vol(struct ctx *c, char l, struct gm_err *err)
{
	struct vol *v = open_any(c, l, true, err);

	if (v && !v->fs)
		gm_fail(err, GM_E_NOT_SUPPORTED, "%c: is NTFS: gptmirror checks FAT volumes "
			"(ntfsfix -n checks NTFS)", l);
	return v ? v->fs : NULL;
}

/* What the check before the first write of a volume found dirty did. */
static void say_autochk(char l, const struct fat_check *k)
{
	char b[32];

	fmt_commas((uint64_t)k->lost_clusters, b, sizeof(b));
	fprintf(stderr, "gptmirror: %c: was not closed cleanly; checked before writing "
		"(as autochk does): %s lost allocation units freed%s%s", l, b,
		k->fats_differ ? ", the FAT copies made the same" : "",
		k->free_wrong ? ", the free space count corrected" : "");
	if (k->bad)
		fprintf(stderr, "; %" PRIu32 " entries left as they are (run chkdsk %c:): %s", k->bad,
			l, k->bad_first);
	fputc('\n', stderr);
}

static int close_vols(struct ctx *c, struct gm_err *err)
{
	int rc = 0;

	for (int i = 0; i < c->nvols; i++) {
		struct vol *v = &c->vols[i];
		if (v->nt) {
			/* A change is committed (through its journal); a volume
			 * mounted for writing and not written is left as it was. */
			if (v->ntw && v->changed) {
				char j[4096], tag[2] = {v->letter, '\0'};
				vol_ntfs_journal(c->m, v->letter, j, sizeof(j));
				if (ntfsvol_commit(v->nt, j, tag, err) < 0)
					rc = -1;
			} else {
				ntfsvol_close(v->nt);
			}
			if (close_vol(c->m, &v->h, rc < 0 ? NULL : err) < 0)
				rc = -1;
			continue;
		}
		const struct fat_check *k = fatfs_autochecked(c->vols[i].fs);
		if (k)
			say_autochk(c->vols[i].letter, k);
		if (fatfs_sync(c->vols[i].fs, err) < 0)
			rc = -1;
		fatfs_close(c->vols[i].fs);
		if (close_vol(c->m, &c->vols[i].h, err) < 0)
			rc = -1;
	}
	c->nvols = 0;
	return rc;
}

/* Windows wildcard match, any case; "*.*" matches names without a dot. */
static bool wild(const char *mask, const char *name)
{
	if (strcmp(mask, "*.*") == 0 || strcmp(mask, "*") == 0)
		return true;
	return fnmatch(mask, name, FNM_CASEFOLD) == 0;
}

/* --- the copy ------------------------------------------------------------- */

/* Where files go: a FAT directory, an NTFS directory or a host directory fd. */
struct dest {
	struct fatfs *fs; /* NULL: NTFS or host */
	uint32_t dir;
	struct vol *nv;   /* NTFS: its volume, and the directory's path */
	char ntpath[4096];
	int fd;
	char shown[4096]; /* for prompts */
	/* Not made yet: made (with its parents) when a file first goes in,
	 * which is how /s leaves out directories with nothing to copy. */
	bool pending;
	struct dest *parent;
	char name[1024];
};

/* Source: a FAT directory, an NTFS directory or a host directory. */
struct src {
	struct ntfsvol *nt;
	char ntpath[4096]; /* nt: the directory, '\'-separated */
	struct fatfs *fs;
	uint32_t dir;
	uint32_t anc[FATFS_MAX_DEPTH]; /* the directories above dir */
	size_t depth;
	char host[4096];
	char shown[4096]; /* prefix printed before a file name */
};

struct hostfile {
	int fd;
};

static int write_host(void *ctx, const void *buf, size_t len)
{
	struct hostfile *h = ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(h->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A volume's file read into memory, on its way onto a FAT volume. */
struct fat2fat {
	uint8_t *buf;
	size_t len;
	size_t cap; /* bytes buf holds */
};

static int collect_fat(void *ctx, const void *buf, size_t len)
{
	struct fat2fat *f = ctx;
	if (len > f->cap - f->len)
		return -1; /* more than the entry's size said */
	memcpy(f->buf + f->len, buf, len);
	f->len += len;
	return 0;
}

/* Reads file name of a volume source directory to sink: FAT by its entry,
 * NTFS by its path. */
static int read_vol_file(struct src *s, const char *name, const struct fat_entry *fe,
			 int (*sink)(void *, const void *, size_t), void *ctx, struct gm_err *err)
{
	char p[8192];

	if (s->fs)
		return fatfs_read_file(s->fs, fe, sink, ctx, err);
	if (pathf(p, sizeof(p), "%s\\%s", s->ntpath, name) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long: %s\\%s", s->ntpath, name);
	return ntfsvol_read(s->nt, p, sink, ctx, err);
}

static bool safe_host_name(const char *n)
{
	if (!*n || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)n; *p; p++)
		if (*p < 0x20 || *p == '/' || *p == '\\' || *p == 0x7f)
			return false;
	return true;
}

/* Asks before overwriting unless /y or All. */
static bool may_overwrite(struct ctx *c, const char *shown, const char *name)
{
	char ans[32];

	if (c->yes || c->all)
		return true;
	printf("Overwrite %s\\%s (Yes/No/All)? ", shown, name);
	fflush(stdout);
	if (!fgets(ans, sizeof(ans), stdin))
		return false;
	ans[strcspn(ans, "\r\n")] = '\0';
	if (!isatty(STDIN_FILENO))
		printf("%s\n", ans);
	switch (toupper((unsigned char)ans[0])) {
	case 'A':
		c->all = true;
		return true;
	case 'Y':
		return true;
	default:
		return false;
	}
}

static int make_dest(struct ctx *c, struct dest *d, struct gm_err *err);

/* A file of an NTFS destination, opened for its data. */
static int ntfs_dest_open(struct ctx *c, struct dest *d, const char *name,
			  struct ntfs_out **o, struct gm_err *err)
{
	d->nv->changed = true;
	return ntfsvol_create_file(d->nv->nt, d->ntpath, name, (int64_t)rng_time(&c->m->rng),
				   o, err);
}

/* A host file onto NTFS: its bytes, the archive attribute, its time. */
static int host_to_ntfs(struct ctx *c, struct dest *d, const char *name, int fd,
			const struct stat *st, struct gm_err *err)
{
	static uint8_t buf[1 << 20];
	struct ntfs_out *o;
	uint64_t done = 0, total = (uint64_t)st->st_size;
	int rc = ntfs_dest_open(c, d, name, &o, err);
	bool tty = isatty(STDERR_FILENO);

	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = gm_fail(err, GM_E_IO, "cannot read %s: %s", name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (ntfsvol_out_write(o, buf, (size_t)n) < 0) {
			rc = -1;
			break;
		}
		done += (uint64_t)n;
		if (tty && done <= total)
			copy_progress(NULL, done, total);
	}
	if (ntfsvol_out_close(o, FAT_ATTR_ARCHIVE, (int64_t)st->st_mtime, err) < 0 && rc == 0)
		rc = -1;
	return rc;
}

static int copy_one(struct ctx *c, struct src *s, struct dest *d,
		    const char *name, const struct fat_entry *fe,
		    const struct stat *st, const struct ntfs_item *it_ntfs, struct gm_err *err)
{
	int rc = make_dest(c, d, err);

	if (rc < 0)
		return rc;

	/* Overwrite check. */
	if (d->fs) {
		struct fat_entry ex;
		rc = fatfs_find(d->fs, d->dir, name, &ex, err);
		if (rc < 0)
			return rc;
		if (rc == 1 && !may_overwrite(c, d->shown, name))
			return 0;
	} else if (d->nv) {
		struct ntfs_item ex;
		char p[8192];
		struct gm_err e2;
		if (pathf(p, sizeof(p), "%s\\%s", d->ntpath, name) < 0)
			return gm_fail(err, GM_E_ARGS, "path too long: %s\\%s", d->shown, name);
		if (ntfsvol_stat(d->nv->nt, p, &ex, &e2) == 0 && !may_overwrite(c, d->shown, name))
			return 0;
	} else {
		if (!safe_host_name(name))
			return gm_fail(err, GM_E_ARGS, "refusing to copy \"%s\" to "
				       "the host: not a safe file name", name);
		struct stat ds;
		if (fstatat(d->fd, name, &ds, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !may_overwrite(c, d->shown, name))
			return 0;
	}
	printf("%s%s\n", s->shown, name);

	if (s->fs || s->nt) {
		/* From a volume (FAT or NTFS): its size, attributes and time. */
		uint64_t size = s->fs ? fe->d.size : it_ntfs->size;
		uint8_t attr = (uint8_t)((s->fs ? fe->d.attr : it_ntfs->attrs) & 0x27);
		int64_t mtime = s->fs ? fat_time_decode(fe->d.wrt_date, fe->d.wrt_time)
				      : it_ntfs->mtime;
		if (d->nv) {
			struct ntfs_out *o;
			if ((rc = ntfs_dest_open(c, d, name, &o, err)) < 0)
				return rc;
			rc = read_vol_file(s, name, fe, ntfsvol_out_write, o, err);
			if (ntfsvol_out_close(o, attr, mtime, rc < 0 ? NULL : err) < 0)
				rc = -1;
		} else if (d->fs) {
			struct fat2fat f = {malloc(size ? size : 1), 0, size};
			if (!f.buf)
				return gm_fail(err, GM_E_NOMEM, "out of memory");
			rc = read_vol_file(s, name, fe, collect_fat, &f, err);
			struct fat_mem_src src = {f.buf, f.len, 0};
			if (rc == 0)
				rc = fatfs_write_file(d->fs, d->dir, name, attr, mtime, f.len,
						      fat_mem_read, &src, NULL, err);
			free(f.buf);
		} else {
			struct hostfile h;
			h.fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
							   O_CLOEXEC, 0644);
			if (h.fd < 0)
				return gm_fail(err, GM_E_IO, "cannot create %s: %s", name,
					       strerror(errno));
			rc = read_vol_file(s, name, fe, write_host, &h, err);
			struct timespec ts[2];
			ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			futimens(h.fd, ts);
			if (close(h.fd) < 0 && rc == 0)
				rc = gm_fail(err, GM_E_IO, "writing %s failed", name);
		}
	} else {
		struct hostfile h;
		char p[8192];
		if (pathf(p, sizeof(p), "%s/%s", s->host, name) < 0)
			return gm_fail(err, GM_E_ARGS, "path too long: %s/%s", s->host, name);
		h.fd = open(p, O_RDONLY | O_CLOEXEC);
		if (h.fd < 0)
			return gm_fail(err, GM_E_IO, "cannot read %s: %s", p, strerror(errno));
		if (d->nv)
			rc = host_to_ntfs(c, d, name, h.fd, st, err);
		else
			rc = fatfs_write_file_fd(d->fs, d->dir, name, FAT_ATTR_ARCHIVE,
						 (int64_t)st->st_mtime, (uint64_t)st->st_size,
						 h.fd, NULL, err);
		close(h.fd);
	}
	if (rc == 0)
		c->copied++;
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of a source directory: names with a FAT entry or host stat. */
struct item {
	char *name;
	bool is_dir;
	struct fat_entry fe;
	struct stat st;
	struct ntfs_item ni;
};

struct items {
	struct item *v;
	size_t n, cap;
	bool hidden;
};

static int add_item(struct items *it, const char *name, bool is_dir,
		    const struct fat_entry *fe, const struct stat *st)
{
	if (it->n == it->cap) {
		size_t nc = it->cap ? it->cap * 2 : 64;
		struct item *nv = realloc(it->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		it->v = nv;
		it->cap = nc;
	}
	struct item *x = &it->v[it->n++];
	memset(x, 0, sizeof(*x));
	x->name = strdup(name);
	x->is_dir = is_dir;
	if (fe)
		x->fe = *fe;
	if (st)
		x->st = *st;
	return x->name ? 0 : -1;
}

static int ntfs_item_add(void *ctx, const struct ntfs_item *e)
{
	struct items *it = ctx;

	if (!it->hidden && (e->attrs & (FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM)))
		return 0;
	if (add_item(it, e->name, e->dir, NULL, NULL) < 0)
		return -1;
	it->v[it->n - 1].ni = *e;
	return 0;
}

static int fat_item(void *ctx, const struct fat_entry *e)
{
	struct items *it = ctx;

	if (!it->hidden && (e->d.attr & (FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM)))
		return 0;
	return add_item(it, e->name, fat_entry_is_dir(e), e, NULL) < 0 ? -1 : 0;
}

static int list_src(struct ctx *c, struct src *s, struct items *it,
		    struct gm_err *err)
{
	memset(it, 0, sizeof(*it));
	it->hidden = c->hidden;
	/* Two entries of one name would land on one host file, counted twice. */
	if (s->fs && fatfs_names_unique(s->fs, s->dir, err) < 0)
		return -1;
	if (s->fs)
		return fatfs_list(s->fs, s->dir, fat_item, it, err);
	if (s->nt)
		return ntfsvol_list(s->nt, s->ntpath, ntfs_item_add, it, err);
	DIR *d = opendir(s->host);
	if (!d)
		return gm_fail(err, GM_E_IO, "cannot read %s: %s", s->host, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char p[8192];
		struct stat st;
		if (pathf(p, sizeof(p), "%s/%s", s->host, names[i]) == 0 &&
		    stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
			add_item(it, names[i], S_ISDIR(st.st_mode), NULL, &st);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void free_items(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].name);
	free(it->v);
}

/* A subdirectory name of d, to be made when first needed. */
static int sub_dest(struct dest *d, const char *name, struct dest *out,
		    struct gm_err *err)
{
	memset(out, 0, sizeof(*out));
	out->fs = d->fs;
	out->nv = d->nv;
	out->fd = -1;
	out->pending = true;
	out->parent = d;
	if (pathf(out->name, sizeof(out->name), "%s", name) < 0 ||
	    pathf(out->shown, sizeof(out->shown), "%s\\%s", d->shown, name) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long: %s", d->shown);
	if (!d->fs && !d->nv && !safe_host_name(name))
		return gm_fail(err, GM_E_ARGS, "refusing to copy \"%s\" to the "
			       "host: not a safe directory name", name);
	return 0;
}

static int make_dest(struct ctx *c, struct dest *d, struct gm_err *err)
{
	int rc;

	if (!d->pending)
		return 0;
	if ((rc = make_dest(c, d->parent, err)) < 0)
		return rc;
	if (d->fs) {
		struct fat_entry e;
		if ((rc = fatfs_mkdir(d->fs, d->parent->dir, d->name,
				      (int64_t)rng_time(&c->m->rng), &e, err)) < 0)
			return rc;
		d->dir = e.d.first_clus;
	} else if (d->nv) {
		d->nv->changed = true;
		if ((rc = ntfsvol_mkdir(d->nv->nt, d->parent->ntpath, d->name,
					(int64_t)rng_time(&c->m->rng), err)) < 0)
			return rc;
		if (pathf(d->ntpath, sizeof(d->ntpath), "%s\\%s", d->parent->ntpath, d->name) < 0)
			return gm_fail(err, GM_E_ARGS, "path too long: %s", d->shown);
	} else {
		if (mkdirat(d->parent->fd, d->name, 0755) < 0 && errno != EEXIST)
			return gm_fail(err, GM_E_IO, "cannot create %s: %s", d->name,
				       strerror(errno));
		d->fd = openat(d->parent->fd, d->name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d->fd < 0)
			return gm_fail(err, GM_E_IO, "cannot open %s: %s", d->name,
				       strerror(errno));
	}
	d->pending = false;
	return 0;
}



/* Copies the matching files of s into d, then (with /s) the subdirectories. */
static int copy_tree(struct ctx *c, struct src *s, struct dest *d,
		     const char *mask, struct gm_err *err)
{
	struct items it;
	int rc = list_src(c, s, &it, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < it.n && rc == 0; i++) {
		struct item *x = &it.v[i];
		if (x->is_dir || !wild(mask, x->name))
			continue;
		rc = copy_one(c, s, d, x->name, &x->fe, &x->st, &x->ni, err);
	}
	for (size_t i = 0; i < it.n && rc == 0 && c->sub; i++) {
		struct item *x = &it.v[i];
		if (!x->is_dir)
			continue;
		struct src ss = *s;
		if (s->nt) {
			if (s->depth + 1 >= FATFS_MAX_DEPTH) {
				rc = gm_fail(err, GM_E_ARGS, "%s%s is more than %d directories deep",
					     s->shown, x->name, FATFS_MAX_DEPTH);
				break;
			}
			ss.depth++;
			if (pathf(ss.ntpath, sizeof(ss.ntpath), "%s\\%s", s->ntpath, x->name) < 0) {
				rc = gm_fail(err, GM_E_ARGS, "path too long: %s%s", s->shown, x->name);
				break;
			}
		} else if (s->fs) {
			if ((rc = fatfs_descend_ok(s->fs, s->anc, s->depth, s->dir,
						   x->fe.d.first_clus, x->name, err)) < 0)
				break;
			ss.anc[ss.depth++] = s->dir;
			ss.dir = x->fe.d.first_clus;
		} else if (s->depth + 1 >= FATFS_MAX_DEPTH) {
			rc = gm_fail(err, GM_E_ARGS, "%s%s is more than %d directories deep",
				     s->shown, x->name, FATFS_MAX_DEPTH);
			break;
		} else {
			ss.depth++;
		}
		if ((!s->fs && !s->nt && pathf(ss.host, sizeof(ss.host), "%s/%s", s->host, x->name) < 0) ||
		    pathf(ss.shown, sizeof(ss.shown), "%s%s%c", s->shown, x->name,
			  s->fs || s->nt ? '\\' : '/') < 0) {
			rc = gm_fail(err, GM_E_ARGS, "path too long: %s%s", s->shown, x->name);
			break;
		}
		/* /s skips directories with nothing to copy (they are made on
		 * first use); /e makes them all. */
		struct dest sd;
		if ((rc = sub_dest(d, x->name, &sd, err)) < 0)
			break;
		if (c->empty && (rc = make_dest(c, &sd, err)) < 0)
			break;
		rc = copy_tree(c, &ss, &sd, mask, err);
		if (sd.fd >= 0)
			close(sd.fd);
	}
	free_items(&it);
	return rc;
}

/* The same for an NTFS volume: its directory path and the mask. */
static int resolve_ntfs(struct ntfsvol *nt, const char *arg, struct src *s, char *mask,
			size_t mcap, bool *is_single, struct gm_err *err)
{
	char path[4096];
	struct ntfs_item it;

	s->nt = nt;
	snprintf(path, sizeof(path), "%s", arg + 2);
	for (char *p = path; *p; p++)
		if (*p == '/')
			*p = '\\';
	size_t pl = strlen(path);
	while (pl && path[pl - 1] == '\\')
		path[--pl] = '\0';
	char *last = strrchr(path, '\\');
	const char *base = last ? last + 1 : path;
	bool split = false;
	if (strpbrk(base, "*?")) {
		split = true;
	} else if (ntfsvol_stat(nt, path, &it, err) < 0) {
		return gm_fail(err, GM_E_NO_PART, "File not found - %s", arg);
	} else if (!it.dir) {
		split = true;
		*is_single = true;
	}
	if (split) {
		if (pathf(mask, mcap, "%s", base) < 0)
			return gm_fail(err, GM_E_ARGS, "name too long");
		if (last)
			*last = '\0';
		else
			path[0] = '\0';
		if (ntfsvol_stat(nt, path, &it, err) < 0 || !it.dir)
			return gm_fail(err, GM_E_NO_PART, "File not found - %s", arg);
	}
	snprintf(s->ntpath, sizeof(s->ntpath), "%s", path);
	const char *rel = path[0] == '\\' ? path + 1 : path;
	pathf(s->shown, sizeof(s->shown), "%c:\\%s%s", arg[0], rel, rel[0] ? "\\" : "");
	return 0;
}

/* Splits "X:\a\b\*.txt" into the volume, the directory and the mask. */
static int resolve_src(struct ctx *c, const char *arg, struct src *s, char *mask,
		       size_t mcap, struct fat_entry *single, bool *is_single,
		       struct gm_err *err)
{
	char path[4096], l;

	memset(s, 0, sizeof(*s));
	*is_single = false;
	snprintf(mask, mcap, "*");
	if (parse_drive(arg, &l) == 0) {
		struct vol *nv = open_any(c, l, false, err);
		if (!nv)
			return -1;
		if (nv->nt)
			return resolve_ntfs(nv->nt, arg, s, mask, mcap, is_single, err);
		s->fs = nv->fs;
		snprintf(path, sizeof(path), "%s", arg + 2);
		for (char *p = path; *p; p++)
			if (*p == '/')
				*p = '\\';
		char *last = strrchr(path, '\\');
		const char *base = last ? last + 1 : path;
		struct fat_entry e;
		if (strpbrk(base, "*?")) {
			if (pathf(mask, mcap, "%s", base) < 0)
			return gm_fail(err, GM_E_ARGS, "name too long");
			if (last)
				*last = '\0';
			else
				path[0] = '\0';
			if (fatfs_lookup(s->fs, path, &e, err) < 0)
				return -1;
		} else if (fatfs_lookup(s->fs, path, &e, err) < 0) {
			return -1;
		} else if (!fat_entry_is_dir(&e)) {
			*single = e;
			*is_single = true;
			if (pathf(mask, mcap, "%s", e.name) < 0)
				return gm_fail(err, GM_E_ARGS, "name too long");
			if (last)
				*last = '\0';
			else
				path[0] = '\0';
			if (fatfs_lookup(s->fs, path, &e, err) < 0)
				return -1;
		}
		s->dir = e.d.first_clus;
		/* Shown as typed: the drive, then on-disk names. */
		if (path[0] == '\\')
			memmove(path, path + 1, strlen(path));
		size_t pl = strlen(path);
		if (pl && path[pl - 1] == '\\')
			path[--pl] = '\0';
		pathf(s->shown, sizeof(s->shown), "%c:\\%s%s", arg[0], path, pl ? "\\" : "");
		return 0;
	}
	/* A host path: a directory, a file, or a pattern in the last part. */
	struct stat st;
	snprintf(path, sizeof(path), "%s", arg);
	char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (strpbrk(base, "*?")) {
		if (pathf(mask, mcap, "%s", base) < 0)
			return gm_fail(err, GM_E_ARGS, "name too long");
		if (slash)
			*slash = '\0';
		else
			snprintf(path, sizeof(path), ".");
	} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (pathf(mask, mcap, "%s", base) < 0)
			return gm_fail(err, GM_E_ARGS, "name too long");
		*is_single = true;
		if (slash)
			*slash = '\0';
		else
			snprintf(path, sizeof(path), ".");
	} else if (stat(path, &st) < 0) {
		return gm_fail(err, GM_E_NO_PART, "File not found - %s", arg);
	}
	pathf(s->host, sizeof(s->host), "%s", path[0] ? path : "/");
	if (pathf(s->shown, sizeof(s->shown), "%s/", s->host) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long: %s", arg);
	return 0;
}

static int resolve_dest(struct ctx *c, const char *arg, struct dest *d,
			struct gm_err *err)
{
	char l, path[4096];

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (parse_drive(arg, &l) == 0) {
		struct vol *v = open_any(c, l, true, err);
		if (!v)
			return -1;
		if (v->nt && !v->ntw)
			return gm_fail(err, GM_E_NOT_SUPPORTED, "%c: is both read and written", l);
		snprintf(path, sizeof(path), "%s", arg + 2);
		for (char *p = path; *p; p++)
			if (*p == '/')
				*p = '\\';
		pathf(d->shown, sizeof(d->shown), "%c:%s", toupper((unsigned char)arg[0]),
		      arg[2] ? arg + 2 : "");
		size_t sn = strlen(d->shown);
		if (sn && d->shown[sn - 1] == '\\')
			d->shown[sn - 1] = '\0';
		if (v->nt) {
			/* Make the directories on the way, as xcopy does. */
			d->nv = v;
			char *save = NULL;
			for (char *t = strtok_r(path, "\\", &save); t; t = strtok_r(NULL, "\\", &save)) {
				char up[sizeof(d->ntpath)];
				v->changed = true;
				memcpy(up, d->ntpath, sizeof(up));
				if (ntfsvol_mkdir(v->nt, up, t, (int64_t)rng_time(&c->m->rng), err) < 0)
					return -1;
				if (pathf(d->ntpath, sizeof(d->ntpath), "%s\\%s", up, t) < 0)
					return gm_fail(err, GM_E_ARGS, "path too long: %s", arg);
			}
			return 0;
		}
		d->fs = v->fs;
		/* Make the directories on the way, as xcopy does. */
		struct fat_entry e;
		memset(&e, 0, sizeof(e));
		e.d.attr = FAT_ATTR_DIR;
		e.d.first_clus = fatfs_root(d->fs);
		char *save = NULL;
		for (char *t = strtok_r(path, "\\", &save); t; t = strtok_r(NULL, "\\", &save))
			if (fatfs_mkdir(d->fs, e.d.first_clus, t,
					(int64_t)rng_time(&c->m->rng), &e, err) < 0)
				return -1;
		d->dir = e.d.first_clus;
		return 0;
	}
	if (mkdir(arg, 0755) < 0 && errno != EEXIST)
		return gm_fail(err, GM_E_IO, "cannot create %s: %s", arg, strerror(errno));
	d->fd = open(arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		return gm_fail(err, GM_E_IO, "cannot open %s: %s", arg, strerror(errno));
	if (pathf(d->shown, sizeof(d->shown), "%s", arg) < 0)
		return gm_fail(err, GM_E_ARGS, "path too long: %s", arg);
	return 0;
}

int xcopy_main(const char *mdir, int argc, char **argv)
{
	struct ctx c = {0};
	const char *srcarg = NULL, *dstarg = NULL;
	struct gm_err err = {0};
	struct src s;
	struct dest d;
	struct fat_entry single;
	bool is_single;
	char mask[1024];
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcasecmp(a, "/s") == 0)
			c.sub = true;
		else if (strcasecmp(a, "/e") == 0)
			c.sub = c.empty = true;
		else if (strcasecmp(a, "/h") == 0)
			c.hidden = true;
		else if (strcasecmp(a, "/y") == 0)
			c.yes = true;
		else if (strcasecmp(a, "/i") == 0 || strcasecmp(a, "/q") == 0)
			;
		else if (a[0] == '/' && a[1] && (a[2] == '\0' || a[2] == ':') &&
			 !strchr(a + 1, '/')) {
			fprintf(stderr, "Invalid switch - %s\n", a);
			return 4;
		} else if (!srcarg)
			srcarg = a;
		else if (!dstarg)
			dstarg = a;
		else {
			printf("Invalid number of parameters\n");
			return 4;
		}
	}
	if (!srcarg) {
		printf("Invalid number of parameters\n");
		return 4;
	}
	if (!dstarg)
		dstarg = ".";
	if (cli_machine_open(mdir, &c.m, &err) < 0) {
		cli_print_err("xcopy", &err);
		return 4;
	}
	char sl, dl;
	if (parse_drive(srcarg, &sl) == 0 && parse_drive(dstarg, &dl) == 0 &&
	    sl == dl)
		/* One volume both read and written: mount it once, for writing. */
		(void)open_any(&c, dl, true, &err);
	if (resolve_src(&c, srcarg, &s, mask, sizeof(mask), &single, &is_single, &err) < 0 ||
	    resolve_dest(&c, dstarg, &d, &err) < 0) {
		printf("%s\n", err.code == GM_E_NO_LETTER ? "Invalid drive specification"
							: err.detail);
		rc = 4;
	} else {
		rc = copy_tree(&c, &s, &d, mask, &err);
		if (rc < 0)
			printf("%s\n", err.detail);
		if (d.fd >= 0)
			close(d.fd);
		if (rc == 0 && c.copied == 0) {
			printf("File not found - %s\n", mask);
			rc = 1;
		} else {
			rc = rc < 0 ? 4 : 0;
		}
		printf("%d File(s) copied\n", c.copied);
	}
	if (close_vols(&c, &err) < 0 && rc == 0) {
		printf("%s\n", err.detail);
		rc = 4;
	}
	if (machine_save(c.m, &err) < 0 && rc == 0)
		rc = 4;
	machine_close(c.m);
	return rc;
}

/* --- dir ------------------------------------------------------------------ */

struct dirctx {
	int files, dirs;
	uint64_t bytes;
};

/* One line of dir, as Windows prints it; hidden and system entries are
 * not shown (dir without /a). */
static void dir_print(struct dirctx *dc, int64_t mtime, bool is_dir, uint64_t bytes,
		      const char *name)
{
	time_t t = (time_t)mtime;
	struct tm tm;
	char when[32], size[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%m/%d/%Y  %I:%M %p", &tm);
	if (is_dir) {
		printf("%s    <DIR>          %s\n", when, name);
		dc->dirs++;
	} else {
		fmt_commas(bytes, size, sizeof(size));
		printf("%s %17s %s\n", when, size, name);
		dc->files++;
		dc->bytes += bytes;
	}
}

static int dir_line(void *ctx, const struct fat_entry *e)
{
	if (e->d.attr & (FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM))
		return 0;
	dir_print(ctx, fat_time_decode(e->d.wrt_date, e->d.wrt_time), fat_entry_is_dir(e),
		  e->d.size, e->name);
	return 0;
}

static int ntfs_line(void *ctx, const struct ntfs_item *it)
{
	if (it->attrs & (FAT_ATTR_HIDDEN | FAT_ATTR_SYSTEM)) /* the same bits in NTFS */
		return 0;
	dir_print(ctx, it->mtime, it->dir, it->size, it->name);
	return 0;
}

static void dir_totals(const struct dirctx *dc, uint64_t free_bytes)
{
	char a[32], b[32];

	fmt_commas(dc->bytes, a, sizeof(a));
	fmt_commas(free_bytes, b, sizeof(b));
	printf("%16d File(s) %14s bytes\n%16d Dir(s) %15s bytes free\n", dc->files, a, dc->dirs,
	       b);
}

/* dir of an NTFS volume (basic or dynamic), through libntfs-3g. Windows
 * lists "." and ".." in every directory but the root. */
static int dir_ntfs(char l, struct blkdev *dev, const char *path)
{
	struct ntfsvol *nv;
	struct ntfs_item it;
	struct gm_err err = {0};
	int rc = 0;

	if (ntfsvol_open(dev, &nv, &err) < 0) {
		printf("%s\n", err.detail);
		return 1;
	}
	if (ntfsvol_label(nv)[0])
		printf(" Volume in drive %c is %s\n", l, ntfsvol_label(nv));
	else
		printf(" Volume in drive %c has no label.\n", l);
	uint32_t sn = (uint32_t)ntfsvol_serial(nv);
	printf(" Volume Serial Number is %04X-%04X\n\n", sn >> 16, sn & 0xffff);
	if (ntfsvol_stat(nv, path, &it, &err) < 0 || !it.dir) {
		printf("File Not Found\n");
		rc = 1;
	} else {
		struct dirctx dc = {0};
		bool root = !path[0] || strcmp(path, "\\") == 0;
		const char *shown = path[0] == '\\' ? path : path[0] ? path : "\\";
		printf(" Directory of %c:%s%s\n\n", l, shown[0] == '\\' ? "" : "\\", shown);
		if (!root) {
			dir_print(&dc, it.mtime, true, 0, ".");
			dir_print(&dc, it.mtime, true, 0, "..");
		}
		if (ntfsvol_list(nv, path, ntfs_line, &dc, &err) < 0) {
			printf("%s\n", err.detail);
			rc = 1;
		}
		dir_totals(&dc, ntfsvol_free_bytes(nv));
	}
	ntfsvol_close(nv);
	return rc;
}

int dir_main(const char *mdir, int argc, char **argv)
{
	struct ctx c = {0};
	struct gm_err err = {0};
	char l, label[16], path[4096];
	int rc = 0;

	if (argc != 1 || parse_drive(argv[0], &l) < 0) {
		fprintf(stderr, "usage: gptmirror dir X:\\PATH\n");
		return 1;
	}
	if (cli_machine_open(mdir, &c.m, &err) < 0) {
		cli_print_err("dir", &err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s", argv[0] + 2);
	for (char *p = path; *p; p++)
		if (*p == '/')
			*p = '\\';
	/* NTFS goes to libntfs-3g; FAT below. */
	struct vol_handle h;
	uint8_t sec[4096];
	struct fs_probe fp = {0};
	if (vol_open_letter_read(c.m, l, &h, &err) == 0) {
		if (h.ss <= sizeof(sec) && blk_read(h.dev, 0, sec, h.ss) == 0)
			fs_probe(sec, h.ss, &fp);
		if (fp.kind == FS_NTFS) {
			rc = dir_ntfs(l, h.dev, path);
			close_vol(c.m, &h, &err);
			machine_close(c.m);
			return rc;
		}
		close_vol(c.m, &h, &err);
	}
	struct fatfs *fs = open_vol(&c, l, &err);
	if (!fs) {
		printf("%s\n", err.code == GM_E_NO_LETTER
				       ? "The system cannot find the path specified."
				       : err.detail);
		machine_close(c.m);
		return 1;
	}
	struct fat_entry e;
	fatfs_label(fs, label, sizeof(label));
	if (label[0])
		printf(" Volume in drive %c is %s\n", l, label);
	else
		printf(" Volume in drive %c has no label.\n", l);
	printf(" Volume Serial Number is %04X-%04X\n\n", fatfs_bpb(fs)->serial >> 16,
	       fatfs_bpb(fs)->serial & 0xffff);
	if (fatfs_lookup(fs, path, &e, &err) < 0 || !fat_entry_is_dir(&e)) {
		printf("File Not Found\n");
		rc = 1;
	} else {
		struct dirctx dc = {0};
		const char *shown = path[0] == '\\' ? path : path[0] ? path : "\\";
		printf(" Directory of %c:%s%s\n\n", l, shown[0] == '\\' ? "" : "\\", shown);
		if (fatfs_list(fs, e.d.first_clus, dir_line, &dc, &err) < 0) {
			printf("%s\n", err.detail);
			rc = 1;
		}
		dir_totals(&dc, (uint64_t)fatfs_free_clusters(fs) * fatfs_bpb(fs)->clus_bytes);
	}
	close_vols(&c, &err);
	machine_close(c.m);
	return rc;
}

/* --- chkdsk ---------------------------------------------------------------- */

static void chk_line(uint64_t n, const char *what)
{
	char b[32];

	fmt_commas(n, b, sizeof(b));
	printf("%15s %s\n", b, what);
}

int chkdsk_main(const char *mdir, int argc, char **argv)
{
	struct ctx c = {0};
	struct gm_err err = {0};
	struct fat_check k;
	bool fix = false;
	char l = 0, b[64];

	for (int i = 0; i < argc; i++) {
		if (strcasecmp(argv[i], "/f") == 0)
			fix = true;
		else if (!l && parse_drive(argv[i], &l) == 0 && !argv[i][2])
			continue;
		else
			l = 0, i = argc;
	}
	if (!l) {
		fprintf(stderr, "usage: gptmirror chkdsk X: [/f]\n");
		return 2;
	}
	if (cli_machine_open(mdir, &c.m, &err) < 0) {
		cli_print_err("chkdsk", &err);
		return 3;
	}
	struct fatfs *fs = open_vol(&c, l, &err);
	if (!fs) {
		printf("%s\n", err.code == GM_E_NO_LETTER
				       ? "The system cannot find the drive specified."
				       : err.detail);
		machine_close(c.m);
		return 3;
	}
	const struct fat_bpb *bpb = fatfs_bpb(fs);
	printf("The type of the file system is %s.\n",
	       bpb->type == FAT32 ? "FAT32" : bpb->type == FAT16 ? "FAT" : "FAT");
	printf("Volume Serial Number is %04X-%04X\n", bpb->serial >> 16, bpb->serial & 0xffff);
	printf("Windows is verifying files and folders...\n");
	int rc = fatfs_check(fs, fix, &k, &err);
	if (rc < 0) {
		printf("%s\n", err.detail);
		close_vols(&c, &err);
		machine_close(c.m);
		return 3;
	}
	bool problems = k.was_dirty || k.fats_differ || k.free_wrong || k.lost_clusters || k.bad;
	if (k.was_dirty)
		printf("The volume was not closed cleanly (its dirty flag is set).\n");
	if (k.fats_differ)
		printf("The copies of the file allocation table (FAT) differ.%s\n",
		       fix ? " The first one was copied over the others." : "");
	if (k.lost_clusters) {
		fmt_commas((uint64_t)k.lost_clusters * bpb->clus_bytes, b, sizeof(b));
		printf("%" PRIu32 " lost allocation units found in %" PRIu32 " chains.\n",
		       k.lost_clusters, k.lost_chains);
		printf("%s bytes of disk space %s.\n", b, fix ? "freed" : "would be freed");
	}
	if (k.free_wrong)
		printf("The free space count is wrong (it says %" PRIu32 " allocation units)."
		       "%s\n", k.free_recorded, fix ? " Corrected." : "");
	if (k.bad)
		printf("%" PRIu32 " directory entries have errors chkdsk does not fix (the "
		       "first: %s).\n", k.bad, k.bad_first);
	printf("File and folder verification is complete.\n");
	if (!problems)
		printf("Windows has checked the file system and found no problems.\n");
	else if (!fix)
		printf("Windows found errors on the disk, but will not fix them\n"
		       "because disk checking was run without the /F (fix) parameter.\n");
	else if (k.bad && !(k.was_dirty || k.fats_differ || k.free_wrong || k.lost_clusters))
		printf("Windows found errors on the disk that it does not fix.\n");
	else if (k.bad)
		printf("Windows made corrections to the file system, but some errors remain.\n");
	else
		printf("Windows has made corrections to the file system.\n");
	uint64_t cb = bpb->clus_bytes;
	putchar('\n');
	chk_line((uint64_t)bpb->clusters * cb, "bytes total disk space.");
	if (k.hidden) {
		snprintf(b, sizeof(b), "bytes in %" PRIu64 " hidden files.", k.hidden);
		chk_line(k.hidden_clus * cb, b);
	}
	if (k.dirs) {
		snprintf(b, sizeof(b), "bytes in %" PRIu64 " folders.", k.dirs);
		chk_line(k.dir_clus * cb, b);
	}
	if (k.files) {
		snprintf(b, sizeof(b), "bytes in %" PRIu64 " files.", k.files);
		chk_line(k.file_clus * cb, b);
	}
	chk_line((uint64_t)k.free_clusters * cb, "bytes available on disk.");
	putchar('\n');
	chk_line(cb, "bytes in each allocation unit.");
	chk_line(bpb->clusters, "total allocation units on disk.");
	chk_line(k.free_clusters, "allocation units available on disk.");
	struct gm_err e2;
	int crc = close_vols(&c, &e2);
	machine_close(c.m);
	if (crc < 0) {
		fprintf(stderr, "chkdsk: %s\n", e2.detail);
		return 3;
	}
	/* As Windows' chkdsk: 0 clean, 1 errors fixed, 3 errors left. */
	return !problems ? 0 : fix && !k.bad ? 1 : 3;
}
