/* machine.c - machine directory, machine.conf, slots and letters. */
#include "machine.h"
#include "boot.h"
#include "rebuild.h"
#include "ldm.h"
#include "nvram.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	case 'T':
		mult = 1ull << 40;
		break;
	default:
		return -1;
	}
	if (*end) {
		/* "10G", "10GB" and "10GiB" all mean 10 GiB. */
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

const char *profile_str(enum profile p)
{
	return p == PROFILE_2003 ? "2003" : "modern";
}

int profile_parse(const char *s, enum profile *out)
{
	if (strcmp(s, "2003") == 0)
		*out = PROFILE_2003;
	else if (strcmp(s, "modern") == 0)
		*out = PROFILE_MODERN;
	else
		return -1;
	return 0;
}

const char *machine_dir_default(const char *opt, const struct gm_env *env)
{
	if (opt && *opt)
		return opt;
	if (env->machine_dir)
		return env->machine_dir;
	return ".";
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* Creates a sparse file of the given size; refuses to overwrite. */
static int make_sparse(const char *path, uint64_t size, struct gm_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot create %s: %s", path,
			       strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return gm_fail(err, GM_E_MACHINE, "cannot size %s: %s", path,
			       strerror(e));
	}
	close(fd);
	return 0;
}

/* --- machine.conf ------------------------------------------------------- */

static int write_conf(struct machine *m, struct gm_err *err)
{
	char *path = path_in(m->dir, GM_CONF);
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc = 0;

	if (!path || !(f = open_memstream(&text, &len))) {
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	fprintf(f, "# gptmirror machine: disk slots, drive letters of basic "
		   "volumes, pending work.\n"
		   "# The disks themselves hold the data; losing this file "
		   "loses letters only.\n");
	fprintf(f, "version = 1\n");
	fprintf(f, "profile = %s\n", profile_str(m->profile));
	fprintf(f, "slots = %d\n", m->nslots);
	if (m->nvram)
		fprintf(f, "nvram = %s\n", m->nvram);
	for (int i = 0; i < m->nslots; i++) {
		fprintf(f, "disk%d = %s\n", i,
			m->slots[i].image ? m->slots[i].image : "");
		if (m->slots[i].image)
			fprintf(f, "disk%d.sector_size = %" PRIu32 "\n", i,
				m->slots[i].ss);
		if (m->slots[i].image && m->slots[i].device)
			fprintf(f, "disk%d.device = %s\n", i, m->slots[i].identity);
	}
	for (int i = 0; i < m->nletters; i++)
		fprintf(f, "letter.%c = %s\n", m->letters[i].letter,
			m->letters[i].key);
	if (m->rng.seeded || m->rng.counter)
		fprintf(f, "seed.counter = %" PRIu64 "\n", m->rng.counter);
	for (int i = 0; i < m->nextra; i++)
		fprintf(f, "%s\n", m->extra[i]);
	if (fclose(f) != 0) {
		f = NULL;
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		goto out;
	}
	f = NULL;
	/* Replaced whole: a crash leaves the old file or the new one. */
	if ((rc = file_replace(path, text, len)) < 0) {
		rc = gm_fail(err, GM_E_MACHINE, "cannot replace %s: %s", path, strerror(-rc));
		goto out;
	}
	m->conf_dirty = false;
	m->saved_counter = m->rng.counter;
out:
	if (f)
		fclose(f);
	free(text);
	free(path);
	return rc;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int add_extra(struct machine *m, const char *line)
{
	char **n = realloc(m->extra, (size_t)(m->nextra + 1) * sizeof(*n));

	if (!n)
		return -1;
	m->extra = n;
	m->extra[m->nextra] = strdup(line);
	if (!m->extra[m->nextra])
		return -1;
	m->nextra++;
	return 0;
}

static int read_conf(struct machine *m, uint64_t *counter, struct gm_err *err)
{
	char *path = path_in(m->dir, GM_CONF);
	FILE *f;
	char line[1024];
	int lineno = 0, rc = 0;

	if (!path)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	f = fopen(path, "r");
	if (!f) {
		rc = gm_fail(err, GM_E_MACHINE,
			     "%s is not a machine (no %s: %s). Create one with "
			     "'gptmirror machine create DIR --disk SIZE'.",
			     m->dir, GM_CONF, strerror(errno));
		free(path);
		return rc;
	}
	*counter = 0;
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *k, *v;
		int n;
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = gm_fail(err, GM_E_MACHINE, "%s line %d is longer than %zu characters",
				     path, lineno, sizeof(line) - 2);
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			rc = gm_fail(err, GM_E_MACHINE, "%s line %d: expected "
				     "'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (strcmp(k, "version") == 0) {
			if (strcmp(v, "1") != 0) {
				rc = gm_fail(err, GM_E_MACHINE, "%s: version %s "
					     "is not supported", path, v);
				break;
			}
		} else if (strcmp(k, "profile") == 0) {
			if (profile_parse(v, &m->profile) < 0) {
				rc = gm_fail(err, GM_E_MACHINE, "%s line %d: "
					     "unknown profile '%s'", path,
					     lineno, v);
				break;
			}
		} else if (strcmp(k, "slots") == 0) {
			n = atoi(v);
			if (n < 1 || n > GM_MAX_SLOTS) {
				rc = gm_fail(err, GM_E_MACHINE, "%s line %d: bad "
					     "slot count", path, lineno);
				break;
			}
			m->nslots = n;
		} else if (sscanf(k, "disk%d", &n) == 1 && n >= 0 &&
			   n < GM_MAX_SLOTS) {
			const char *dot = strchr(k, '.');
			if (!dot) {
				free(m->slots[n].image);
				m->slots[n].image = *v ? strdup(v) : NULL;
				if (m->slots[n].ss == 0)
					m->slots[n].ss = 512;
			} else if (strcmp(dot, ".device") == 0) {
				m->slots[n].device = true;
				snprintf(m->slots[n].identity, sizeof(m->slots[n].identity), "%s", v);
			} else if (strcmp(dot, ".sector_size") == 0) {
				m->slots[n].ss = (uint32_t)atoi(v);
				if (m->slots[n].ss != 512 && m->slots[n].ss != 4096) {
					rc = gm_fail(err, GM_E_MACHINE, "%s line "
						     "%d: sector size must be "
						     "512 or 4096", path, lineno);
					break;
				}
			} else if (add_extra(m, line) < 0) {
				rc = gm_fail(err, GM_E_NOMEM, "out of memory");
				break;
			}
		} else if (strncmp(k, "letter.", 7) == 0 && strlen(k) == 8 &&
			   isupper((unsigned char)k[7]) && m->nletters < 26) {
			m->letters[m->nletters].letter = k[7];
			snprintf(m->letters[m->nletters].key,
				 sizeof(m->letters[0].key), "%s", v);
			m->nletters++;
		} else if (strcmp(k, "seed.counter") == 0) {
			*counter = strtoull(v, NULL, 10);
		} else if (strcmp(k, "nvram") == 0) {
			free(m->nvram);
			m->nvram = *v ? strdup(v) : NULL;
		} else {
			/* A key from a newer gptmirror: keep it. */
			char keep[1100];
			snprintf(keep, sizeof(keep), "%s = %s", k, v);
			if (add_extra(m, keep) < 0) {
				rc = gm_fail(err, GM_E_NOMEM, "out of memory");
				break;
			}
		}
	}
	fclose(f);
	free(path);
	return rc;
}

/* --- open / close ------------------------------------------------------- */

static int take_lock(struct machine *m, struct gm_err *err)
{
	char *p = path_in(m->dir, ".lock");

	if (!p)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	if (m->lockfd < 0 || flock(m->lockfd, LOCK_EX) < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot lock machine %s: %s",
			       m->dir, strerror(errno));
	return 0;
}

/* The tests' crash hook (GPTMIRROR_CRASH_AFTER_WRITES): one count for the
 * whole process, over every disk and every file replaced, whichever
 * machine handle made the write, as GPTMIRROR_IOSTATS counts them. */
static struct blk_crash crash_hook;

void machine_crash_hook(const struct gm_env *env)
{
	crash_hook.after = env->crash_after_writes;
	file_replace_crash_hook(&crash_hook);
}

/* What makes a device slot's disk that disk: the kernel's identity
 * (serial, WWN, a loop device's backing file), size, sector size and, once
 * it has one, its GPT disk GUID: "id=...;size=...;ss=...;guid=...". */
static void machine_identity(struct disk *d, char *out, size_t cap)
{
	char id[320], g[40] = "-";

	blk_identity(d->dev, id, sizeof(id));
	if (d->style == DS_GPT)
		guid_to_str(&d->hdr.disk_guid, g);
	snprintf(out, cap, "id=%s;size=%" PRIu64 ";ss=%" PRIu32 ";guid=%s", id, d->dev->size,
		 d->ss, g);
}

static void field(const char *idn, const char *key, char *out, size_t cap)
{
	const char *p = strstr(idn, key);
	size_t n = 0;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(key);
	while (p[n] && p[n] != ';')
		n++;
	snprintf(out, cap, "%.*s", (int)n, p);
}

/* The recorded identity and the disk's now: another disk when the kernel's
 * identity, size or sector size differ, or (with no kernel identity) the
 * GPT disk GUID. */
static bool identity_differs(const char *was, const char *now)
{
	char a[320], b[320];
	static const char *const keys[] = {"id=", ";size=", ";ss="};

	for (size_t i = 0; i < 3; i++) {
		field(was, keys[i], a, sizeof(a));
		field(now, keys[i], b, sizeof(b));
		if (strcmp(a, b) != 0 && (i > 0 || a[0]))
			return true;
	}
	field(was, "id=", a, sizeof(a));
	if (a[0])
		return false;
	field(was, ";guid=", a, sizeof(a));
	field(now, ";guid=", b, sizeof(b));
	return strcmp(a, "-") != 0 && strcmp(a, b) != 0;
}

bool machine_is_real(const struct machine *m)
{
	for (int i = 0; i < m->nslots; i++)
		if (m->slots[i].device)
			return true;
	return m->nvram && strcmp(m->nvram, "efivarfs") == 0;
}

/* A table write that touches two places is recorded as under way
 * ("writing.disk<N> = 1") before it starts and dropped after it ends. */
static int table_mark(void *ctx, int slot, bool begin, struct gm_err *err)
{
	char k[32];

	snprintf(k, sizeof(k), "writing.disk%d", slot);
	/* A background copy waits while a table changes, and reads the disks
	 * again after it. */
	if (begin) {
		rebuild_io_lock(ctx);
		rebuild_layout_changed(ctx);
	}
	int rc = machine_extra_set(ctx, k, begin ? "1" : NULL, err);
	if (!begin)
		rebuild_io_unlock(ctx);
	return rc;
}

static void open_slot(struct machine *m, int i)
{
	struct slot *s = &m->slots[i];
	char *p;

	gm_err_clear(&s->open_err);
	s->moved = false;
	if (!s->image)
		return;
	p = s->device ? strdup(s->image) : path_in(m->dir, s->image);
	if (!p) {
		gm_fail(&s->open_err, GM_E_NOMEM, "out of memory");
		return;
	}
	const struct gm_env *e = &m->env;
	if (e->crash_after_writes || (e->fault_read && e->fault_slot == i))
		disk_open_faulty(p, i, s->ss ? s->ss : 512,
				 e->fault_read && e->fault_slot == i ? e->fault_start : 0,
				 e->fault_read && e->fault_slot == i ? e->fault_end : 0, &crash_hook,
				 &s->disk, &s->open_err);
	else
		disk_open(p, i, s->ss ? s->ss : 512, &s->disk, &s->open_err);
	free(p);
	if (s->disk) {
		s->disk->table_hook = table_mark;
		s->disk->hook_ctx = m;
	}
	/* A device slot must still lead to the disk it was made with: names
	 * move when a disk is pulled. */
	if (s->disk && s->device && s->identity[0]) {
		char now[512];
		machine_identity(s->disk, now, sizeof(now));
		if (identity_differs(s->identity, now)) {
			s->moved = true;
			s->disk->dev->writable = 0;
			snprintf(s->disk->ro_why, sizeof(s->disk->ro_why),
				 "disk%d = %.60s now leads to another disk (%.80s; the slot was "
				 "made with %.80s)", i, s->image, now, s->identity);
		}
	}
}

/* Every slot names a regular file inside the machine directory: no
 * absolute path, no "..", no symbolic link, and no two slots the same file
 * (by device and inode), so that no command can be aimed at a file
 * outside the machine or at another slot's disk. */
static int check_slots(struct machine *m, struct gm_err *err)
{
	struct stat seen[GM_MAX_SLOTS];
	int nseen[GM_MAX_SLOTS], n = 0;

	for (int i = 0; i < m->nslots; i++) {
		const char *img = m->slots[i].image;
		struct stat st;
		if (!img)
			continue;
		/* A device slot: the block device (or image file) a user named,
		 * by any path; never one of another slot. */
		if (m->slots[i].device) {
			if (stat(img, &st) < 0)
				continue; /* gone: the slot cannot be opened, and says so */
			if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
				return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d = %s is neither a "
					       "block device nor an image file; gptmirror refuses it",
					       m->dir, GM_CONF, i, img);
			for (int k = 0; k < n; k++)
				if ((S_ISBLK(st.st_mode) && S_ISBLK(seen[k].st_mode) &&
				     seen[k].st_rdev == st.st_rdev) ||
				    (!S_ISBLK(st.st_mode) && seen[k].st_dev == st.st_dev &&
				     seen[k].st_ino == st.st_ino))
					return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d and disk%d name "
						       "the same disk (%s); gptmirror refuses them",
						       m->dir, GM_CONF, nseen[k], i, img);
			seen[n] = st;
			nseen[n++] = i;
			continue;
		}
		bool dotdot = strcmp(img, "..") == 0 || strncmp(img, "../", 3) == 0 ||
			      strstr(img, "/../") || (strlen(img) >= 3 &&
						      strcmp(img + strlen(img) - 3, "/..") == 0);
		if (img[0] == '/' || dotdot)
			return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d = %s: a slot names a file "
				       "inside the machine directory (no absolute path, no ..)",
				       m->dir, GM_CONF, i, img);
		/* Nor one of the machine's own files. */
		const char *base = strrchr(img, '/') ? strrchr(img, '/') + 1 : img;
		size_t bl = strlen(base);
		if (strcmp(base, GM_CONF) == 0 || strcmp(base, GM_NVRAM) == 0 ||
		    strcmp(base, ".lock") == 0 || strcmp(base, ".rebuild") == 0 ||
		    strcmp(base, ".rebuild.lock") == 0 || (bl > 4 && strcmp(base + bl - 4, ".tmp") == 0))
			return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d = %s names one of the "
				       "machine's own files, not a disk image; gptmirror refuses it",
				       m->dir, GM_CONF, i, img);
		char *p = path_in(m->dir, img);
		if (!p)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		int rc = lstat(p, &st);
		free(p);
		if (rc < 0)
			continue; /* not there: the slot cannot be opened, and says so */
		if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode))
			return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d = %s is %s, not a disk "
				       "image file; gptmirror refuses it", m->dir, GM_CONF, i, img,
				       S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
		for (int k = 0; k < n; k++)
			if (seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino)
				return gm_fail(err, GM_E_MACHINE, "%s/%s: disk%d and disk%d name the "
					       "same image file (%s); gptmirror refuses them",
					       m->dir, GM_CONF, nseen[k], i, img);
		seen[n] = st;
		nseen[n++] = i;
	}
	return 0;
}

static int open_machine(const char *dir, const struct gm_env *env, bool lock,
			struct machine **out, struct gm_err *err)
{
	struct machine *m = calloc(1, sizeof(*m));
	uint64_t counter = 0;
	int rc;

	if (!m)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->lockfd = -1;
	m->rbfd = -1;
	m->env = *env;
	machine_crash_hook(env);
	m->dir = strdup(dir);
	if (!m->dir) {
		free(m);
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	}
	/* The lock comes first: machine.conf is read, and every change of it
	 * made, by one command at a time. (A directory with no machine.conf
	 * gets no lock file: read_conf says it is not a machine.) */
	char *conf = path_in(dir, GM_CONF);
	bool have = conf && access(conf, F_OK) == 0;
	free(conf);
	if (have && lock && (rc = take_lock(m, err)) < 0)
		goto fail;
	if ((rc = read_conf(m, &counter, err)) < 0)
		goto fail;
	if (m->nslots == 0) {
		rc = gm_fail(err, GM_E_MACHINE, "%s/%s names no disk slots",
			     dir, GM_CONF);
		goto fail;
	}
	if ((rc = check_slots(m, err)) < 0)
		goto fail;
	if (rng_init(&m->rng, env, counter) < 0) {
		rc = gm_fail(err, GM_E_ARGS, "GPTMIRROR_SEED must be a number");
		goto fail;
	}
	m->saved_counter = counter;
	for (int i = 0; i < m->nslots; i++)
		open_slot(m, i);
	rebuild_attach(m);
	*out = m;
	return 0;
fail:
	machine_close(m);
	return rc;
}

int machine_open(const char *dir, const struct gm_env *env, struct machine **out,
		 struct gm_err *err)
{
	return open_machine(dir, env, true, out, err);
}

int machine_open_unlocked(const char *dir, const struct gm_env *env, struct machine **out,
			  struct gm_err *err)
{
	return open_machine(dir, env, false, out, err);
}

int machine_save(struct machine *m, struct gm_err *err)
{
	/* A device slot's disk GUID follows the tables this machine wrote. */
	for (int i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];
		char now[512];
		if (!s->device || !s->disk || s->moved || !s->disk->dev->writable)
			continue;
		machine_identity(s->disk, now, sizeof(now));
		if (strcmp(now, s->identity) != 0) {
			snprintf(s->identity, sizeof(s->identity), "%s", now);
			m->conf_dirty = true;
		}
	}
	if (!m->conf_dirty && m->rng.counter == m->saved_counter)
		return 0;
	return write_conf(m, err);
}

void machine_close(struct machine *m)
{
	if (!m)
		return;
	for (int i = 0; i < GM_MAX_SLOTS; i++) {
		disk_close(m->slots[i].disk);
		free(m->slots[i].image);
	}
	free(m->nvram);
	for (int i = 0; i < m->nextra; i++)
		free(m->extra[i]);
	free(m->extra);
	ldm_view_free(m->ldm);
	if (m->lockfd >= 0)
		close(m->lockfd);
	if (m->rbfd >= 0)
		close(m->rbfd);
	free(m->dir);
	free(m);
}

int machine_create(const char *dir, const struct machine_spec *spec,
		   const struct gm_env *env, struct gm_err *err)
{
	struct machine *m;
	struct stat st;
	char *conf;
	int rc = 0;

	if (spec->ndisks < 1 || spec->ndisks > GM_MAX_SLOTS)
		return gm_fail(err, GM_E_ARGS, "a machine has 1 to %d disks",
			       GM_MAX_SLOTS);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return gm_fail(err, GM_E_MACHINE, "cannot create %s: %s", dir,
			       strerror(errno));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return gm_fail(err, GM_E_MACHINE, "%s is not a directory", dir);
	conf = path_in(dir, GM_CONF);
	if (!conf)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (access(conf, F_OK) == 0) {
		rc = gm_fail(err, GM_E_MACHINE, "%s already holds a machine",
			     dir);
		free(conf);
		return rc;
	}
	free(conf);
	/* Real devices: named, never created; what they are is recorded. */
	char ident[GM_MAX_SLOTS][512];
	uint32_t dss[GM_MAX_SLOTS];
	for (int i = 0; i < spec->ndisks; i++) {
		if (!spec->devices[i])
			continue;
		struct disk *d;
		if (stat(spec->devices[i], &st) < 0)
			return gm_fail(err, GM_E_NO_DISK, "%s: %s (--device names an existing block "
				       "device or image file; nothing is created)", spec->devices[i],
				       strerror(errno));
		if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
			return gm_fail(err, GM_E_ARGS, "%s is neither a block device nor an image "
				       "file", spec->devices[i]);
		if (disk_open(spec->devices[i], i, spec->ss, &d, err) < 0)
			return -1;
		machine_identity(d, ident[i], sizeof(ident[i]));
		dss[i] = d->ss;
		disk_close(d);
	}
	for (int i = 0; i < spec->ndisks; i++) {
		if (spec->devices[i])
			continue;
		if (spec->sizes[i] == 0 || spec->sizes[i] % spec->ss != 0)
			return gm_fail(err, GM_E_ARGS, "disk %d: the size must be "
				       "a non-zero multiple of %" PRIu32 " bytes",
				       i, spec->ss);
		char name[32];
		snprintf(name, sizeof(name), "disk%d.img", i);
		char *p = path_in(dir, name);
		if (!p)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		rc = make_sparse(p, spec->sizes[i], err);
		free(p);
		if (rc < 0)
			return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	machine_crash_hook(env);
	m->lockfd = -1;
	m->rbfd = -1;
	m->env = *env;
	m->dir = strdup(dir);
	m->profile = spec->profile;
	m->nslots = spec->ndisks;
	for (int i = 0; i < spec->ndisks; i++) {
		char name[32];
		snprintf(name, sizeof(name), "disk%d.img", i);
		if (spec->devices[i]) {
			/* Kept as named (a /dev/disk/by-id name stays stable); a
			 * relative name is made absolute. */
			char *abs = spec->devices[i][0] == '/' ? strdup(spec->devices[i])
							       : realpath(spec->devices[i], NULL);
			m->slots[i].image = abs;
			m->slots[i].device = true;
			m->slots[i].ss = dss[i];
			snprintf(m->slots[i].identity, sizeof(m->slots[i].identity), "%s", ident[i]);
			continue;
		}
		m->slots[i].image = strdup(name);
		m->slots[i].ss = spec->ss;
	}
	if (spec->nvram && strcmp(spec->nvram, "efivarfs") == 0)
		m->nvram = strdup("efivarfs");
	else if (spec->nvram && spec->nvram[0] == '/')
		m->nvram = strdup(spec->nvram);
	else if (spec->nvram) {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)))
			m->nvram = path_in(cwd, spec->nvram);
	}
	char line[128];
	if (spec->pending)
		snprintf(line, sizeof(line), "%s = 1", spec->pending);
	if (rng_init(&m->rng, env, 0) < 0)
		rc = gm_fail(err, GM_E_ARGS, "GPTMIRROR_SEED must be a number");
	else if (spec->pending && add_extra(m, line) < 0)
		rc = gm_fail(err, GM_E_NOMEM, "out of memory");
	else
		rc = write_conf(m, err);
	/* The NVRAM: a copy of the firmware's empty variable store (a store
	 * file the user named is made only when it is not there). */
	bool efivarfs = m->nvram && strcmp(m->nvram, "efivarfs") == 0;
	bool named = m->nvram && !efivarfs;
	if (rc == 0 && !efivarfs && access(nvram_default_template(env), R_OK) == 0 &&
	    !(named && access(m->nvram, F_OK) == 0)) {
		char *nv = named ? strdup(m->nvram) : path_in(dir, GM_NVRAM);
		if (!nv)
			rc = gm_fail(err, GM_E_NOMEM, "out of memory");
		else
			rc = nvram_create_ovmf(nv, nvram_default_template(env), err);
		free(nv);
	}
	machine_close(m);
	return rc;
}

struct disk *machine_disk(struct machine *m, int n)
{
	if (n < 0 || n >= m->nslots)
		return NULL;
	return m->slots[n].disk;
}

/* The LDM view is read again when next asked for. */
static void machine_forget_ldm(struct machine *m)
{
	ldm_view_free(m->ldm);
	m->ldm = NULL;
	m->ldm_read = false;
}

struct ldm_view *machine_ldm(struct machine *m)
{
	if (!m->ldm_read) {
		gm_err_clear(&m->ldm_err);
		if (ldm_scan(m, &m->ldm, &m->ldm_err) < 0)
			m->ldm = NULL;
		m->ldm_read = true;
	}
	return m->ldm;
}

int machine_rescan(struct machine *m, struct gm_err *err)
{
	(void)err;
	machine_forget_ldm(m);
	for (int i = 0; i < m->nslots; i++) {
		disk_close(m->slots[i].disk);
		m->slots[i].disk = NULL;
		open_slot(m, i);
	}
	return 0;
}

int machine_pull_disk(struct machine *m, int n, char *kept, size_t cap, struct gm_err *err)
{
	struct slot *s;
	char *from, *to, *dir, name[64];

	if (n < 0 || n >= m->nslots || !m->slots[n].image)
		return gm_fail(err, GM_E_NO_DISK, "slot %d holds no disk", n);
	s = &m->slots[n];
	/* A background copy waits until this command ends (the lock goes with
	 * machine_close, after machine.conf is saved), then reads the slots
	 * again. */
	rebuild_io_lock(m);
	rebuild_layout_changed(m);
	/* The pulled disk is kept aside, so it can be inserted again with
	 * --image, as a real disk can be put back. */
	dir = path_in(m->dir, "pulled");
	if (!dir)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int rc = gm_fail(err, GM_E_MACHINE, "cannot create %s: %s", dir,
				 strerror(errno));
		free(dir);
		return rc;
	}
	free(dir);
	for (int k = 0;; k++) {
		snprintf(name, sizeof(name), "pulled/disk%d%s%.0d.img", n,
			 k ? "-" : "", k);
		char *p = path_in(m->dir, name);
		if (!p)
			return gm_fail(err, GM_E_NOMEM, "out of memory");
		bool exists = access(p, F_OK) == 0;
		free(p);
		if (!exists)
			break;
	}
	from = path_in(m->dir, s->image);
	to = path_in(m->dir, name);
	if (!from || !to || rename(from, to) < 0) {
		int rc = gm_fail(err, GM_E_MACHINE, "cannot move %s aside: %s",
				 s->image, strerror(errno));
		free(from);
		free(to);
		return rc;
	}
	free(from);
	free(to);
	if (kept)
		snprintf(kept, cap, "%s", name);
	disk_close(s->disk);
	machine_forget_ldm(m);
	s->disk = NULL;
	free(s->image);
	s->image = NULL;
	m->conf_dirty = true;
	return machine_save(m, err);
}

/* Copies src to dst keeping holes (SEEK_DATA / SEEK_HOLE). */
static int copy_sparse(const char *src, const char *dst, struct gm_err *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	struct stat st;
	int rc = 0;
	char *buf = NULL;

	if (in < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot open %s: %s", src,
			       strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return gm_fail(err, GM_E_UNREADABLE, "%s is not a disk image "
			       "(not a regular file)", src);
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	buf = malloc(1 << 20);
	if (out < 0 || !buf) {
		rc = gm_fail(err, GM_E_MACHINE, "cannot create %s: %s", dst,
			     strerror(errno));
		goto out;
	}
	if (ftruncate(out, st.st_size) < 0) {
		rc = gm_fail(err, GM_E_MACHINE, "cannot size %s", dst);
		goto out;
	}
	off_t pos = 0;
	while (pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			break; /* the rest is a hole */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data; o < hole;) {
			size_t want = (size_t)(hole - o < (1 << 20) ? hole - o : (1 << 20));
			ssize_t n = pread(in, buf, want, o);
			if (n <= 0 || pwrite(out, buf, (size_t)n, o) != n) {
				rc = gm_fail(err, GM_E_IO, "copy to %s failed",
					     dst);
				goto out;
			}
			o += n;
		}
		pos = hole;
	}
	if (fsync(out) < 0)
		rc = gm_fail(err, GM_E_IO, "copy to %s failed", dst);
out:
	if (rc < 0 && out >= 0)
		unlink(dst);
	free(buf);
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

int machine_insert_disk(struct machine *m, int n, uint64_t size,
			const char *image, uint32_t ss, struct gm_err *err)
{
	char name[32], *p;
	int rc;

	if (n < 0 || n >= GM_MAX_SLOTS)
		return gm_fail(err, GM_E_ARGS, "slot %d does not exist (0 to %d)",
			       n, GM_MAX_SLOTS - 1);
	if (n < m->nslots && m->slots[n].image)
		return gm_fail(err, GM_E_ARGS, "slot %d already holds a disk; "
			       "pull it first", n);
	rebuild_io_lock(m); /* held until machine_close, as for pull-disk */
	rebuild_layout_changed(m);
	if (ss != 512 && ss != 4096)
		return gm_fail(err, GM_E_ARGS, "sector size must be 512 or 4096");
	snprintf(name, sizeof(name), "disk%d.img", n);
	p = path_in(m->dir, name);
	if (!p)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (access(p, F_OK) == 0) {
		rc = gm_fail(err, GM_E_MACHINE, "%s exists but is in no slot; "
			     "move it away first", name);
		free(p);
		return rc;
	}
	if (image) {
		rc = copy_sparse(image, p, err);
	} else {
		if (size == 0 || size % ss != 0)
			rc = gm_fail(err, GM_E_ARGS, "the size must be a non-zero "
				     "multiple of %" PRIu32 " bytes", ss);
		else
			rc = make_sparse(p, size, err);
	}
	free(p);
	if (rc < 0)
		return rc;
	if (n >= m->nslots)
		m->nslots = n + 1;
	m->slots[n].image = strdup(name);
	m->slots[n].ss = ss;
	open_slot(m, n);
	machine_forget_ldm(m);
	m->conf_dirty = true;
	return machine_save(m, err);
}

int machine_insert_device(struct machine *m, int n, const char *path, struct gm_err *err)
{
	struct stat st;
	struct disk *d;

	if (n < 0 || n >= GM_MAX_SLOTS)
		return gm_fail(err, GM_E_ARGS, "slot %d does not exist (0 to %d)",
			       n, GM_MAX_SLOTS - 1);
	if (n < m->nslots && m->slots[n].image)
		return gm_fail(err, GM_E_ARGS, "slot %d already holds a disk", n);
	rebuild_io_lock(m); /* held until machine_close, as for pull-disk */
	rebuild_layout_changed(m);
	if (stat(path, &st) < 0 || (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)))
		return gm_fail(err, GM_E_NO_DISK, "%s is neither a block device nor an image "
			       "file (--device names an existing one; nothing is created)", path);
	char *abs = path[0] == '/' ? strdup(path) : realpath(path, NULL);
	if (!abs)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (disk_open(abs, n, 512, &d, err) < 0) {
		free(abs);
		return -1;
	}
	struct slot *s = &m->slots[n];
	memset(s, 0, sizeof(*s));
	s->image = abs;
	s->device = true;
	s->ss = d->ss;
	machine_identity(d, s->identity, sizeof(s->identity));
	disk_close(d);
	if (n >= m->nslots)
		m->nslots = n + 1;
	if (check_slots(m, err) < 0) {
		free(s->image);
		memset(s, 0, sizeof(*s));
		return -1;
	}
	open_slot(m, n);
	machine_forget_ldm(m);
	m->conf_dirty = true;
	return machine_save(m, err);
}

/* --- letters ------------------------------------------------------------ */

char machine_letter_of(const struct machine *m, const char *key)
{
	for (int i = 0; i < m->nletters; i++)
		if (strcmp(m->letters[i].key, key) == 0)
			return m->letters[i].letter;
	return 0;
}

bool machine_has_cdrom(const struct machine *m)
{
	return m->profile == PROFILE_2003 && !machine_is_real(m);
}

const char *machine_letter_key(const struct machine *m, char letter)
{
	for (int i = 0; i < m->nletters; i++)
		if (m->letters[i].letter == letter)
			return m->letters[i].key;
	/* The empty CD-ROM drive holds its letter. */
	if (letter == GM_CDROM_LETTER && machine_has_cdrom(m))
		return GM_CDROM_KEY;
	return NULL;
}

static int cmp_letter(const void *a, const void *b)
{
	return ((const struct letter_map *)a)->letter -
	       ((const struct letter_map *)b)->letter;
}

void machine_drop_letter_key(struct machine *m, const char *key)
{
	for (int i = 0; i < m->nletters; i++) {
		if (strcmp(m->letters[i].key, key) == 0) {
			m->letters[i] = m->letters[--m->nletters];
			qsort(m->letters, (size_t)m->nletters,
			      sizeof(m->letters[0]), cmp_letter);
			m->conf_dirty = true;
			return;
		}
	}
}

int machine_set_letter(struct machine *m, char letter, const char *key,
		       struct gm_err *err)
{
	const char *owner = machine_letter_key(m, letter);

	if (owner && strcmp(owner, key) != 0)
		return gm_fail(err, GM_E_LETTER_IN_USE, NULL);
	machine_drop_letter_key(m, key);
	m->letters[m->nletters].letter = letter;
	snprintf(m->letters[m->nletters].key, sizeof(m->letters[0].key), "%s",
		 key);
	m->nletters++;
	qsort(m->letters, (size_t)m->nletters, sizeof(m->letters[0]),
	      cmp_letter);
	m->conf_dirty = true;
	return 0;
}

/* --- volumes ------------------------------------------------------------ */

int machine_volumes(struct machine *m, struct volume *out, int max)
{
	int n = 0;
	struct boot_running run;
	bool have_run = false;

	for (int s = 0; s < m->nslots; s++) {
		struct disk *d = m->slots[s].disk;
		if (!d || (d->style != DS_GPT && d->style != DS_MBR))
			continue;
		for (size_t i = 0; i < d->nparts; i++) {
			const struct part *p = &d->parts[i];
			char key[64];
			char l;
			part_key(d, p, key, sizeof(key));
			l = machine_letter_of(m, key);
			bool vol;
			switch (p->kind) {
			case PK_BASIC:
			case PK_MBR_PRIMARY:
				vol = true;
				break;
			case PK_ESP:
				/* Current Windows lists every ESP. Server 2003
				 * lists an ESP with a letter, and the system
				 * partition the running system booted from (the
				 * KB's recovery: "Partition 102 MB Healthy
				 * System"), but no other one. */
				vol = m->profile == PROFILE_MODERN || l;
				if (!vol) {
					if (!have_run) {
						boot_running(m, &run);
						have_run = true;
					}
					vol = run.sys_slot == s && run.sys_pos == i;
				}
				break;
			case PK_RECOVERY:
			case PK_OTHER:
				vol = m->profile == PROFILE_MODERN;
				break;
			default:
				vol = false;
			}
			if (!vol)
				continue;
			if (n < max) {
				out[n].num = n;
				out[n].slot = s;
				out[n].part = i;
				out[n].type = VT_PARTITION;
				out[n].letter = l;
				out[n].size = part_bytes(d, p);
				out[n].system = p->kind == PK_ESP;
			}
			n++;
		}
	}
	return n < max ? n : max;
}

int machine_find_letter(struct machine *m, char l, int *slot, size_t *pos,
			struct gm_err *err)
{
	const char *key = machine_letter_key(m, l);

	/* Windows' words for a drive with no media. */
	if (key && strcmp(key, GM_CDROM_KEY) == 0)
		return gm_fail(err, GM_E_NOT_READY, "The device is not ready.");
	if (key) {
		for (int s = 0; s < m->nslots; s++) {
			struct disk *d = m->slots[s].disk;
			if (!d || (d->style != DS_GPT && d->style != DS_MBR))
				continue;
			for (size_t p = 0; p < d->nparts; p++) {
				char k[64];
				part_key(d, &d->parts[p], k, sizeof(k));
				if (strcmp(k, key) == 0) {
					*slot = s;
					*pos = p;
					return 0;
				}
			}
		}
	}
	return gm_fail(err, GM_E_NO_LETTER, "There is no volume with drive "
		       "letter %c: on this machine.", l);
}

int machine_open_part(struct machine *m, int slot, size_t pos,
		      struct blkdev **out, struct gm_err *err)
{
	struct disk *d = machine_disk(m, slot);
	int rc;

	if (!d || pos >= d->nparts)
		return gm_fail(err, GM_E_NO_PART, "no such partition");
	rc = blk_open_slice(d->dev, part_offset(d, &d->parts[pos]),
			    part_bytes(d, &d->parts[pos]), out);
	if (rc < 0)
		return gm_fail(err, GM_E_IO, "cannot open the partition");
	return 0;
}

/* The store file: one the user named, else nvram.fd. */
static char *nvram_file(const struct machine *m)
{
	return m->nvram ? strdup(m->nvram) : path_in(m->dir, GM_NVRAM);
}

int machine_nvram_ensure(struct machine *m, struct gm_err *err)
{
	if (m->nvram && strcmp(m->nvram, "efivarfs") == 0)
		return 0;
	char *p = nvram_file(m);
	int rc = 0;

	if (!p)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (access(p, F_OK) != 0 && access(nvram_default_template(&m->env), R_OK) == 0)
		rc = nvram_create_ovmf(p, nvram_default_template(&m->env), err);
	free(p);
	return rc;
}

int machine_nvram_open(struct machine *m, struct nvram **out, struct gm_err *err)
{
	if (m->nvram && strcmp(m->nvram, "efivarfs") == 0)
		return nvram_open_efivarfs(m->env.efivarfs ? m->env.efivarfs
							   : "/sys/firmware/efi/efivars",
					   out, err);
	char *p = nvram_file(m);
	int rc;

	if (!p)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	if (access(p, F_OK) != 0) {
		rc = gm_fail(err, GM_E_MACHINE, "this machine has no NVRAM (%s); "
			     "it was made without the OVMF template (Debian "
			     "package ovmf)", GM_NVRAM);
		free(p);
		return rc;
	}
	rc = nvram_open_ovmf(p, out, err);
	free(p);
	return rc;
}

int machine_add_pending(struct machine *m, const char *what, int slot, struct gm_err *err)
{
	char line[128];
	char **n;

	snprintf(line, sizeof(line), "pending.%s = %d", what, slot);
	for (int i = 0; i < m->nextra; i++)
		if (strcmp(m->extra[i], line) == 0)
			return 0;
	n = realloc(m->extra, (size_t)(m->nextra + 1) * sizeof(*n));
	if (!n)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->extra = n;
	m->extra[m->nextra] = strdup(line);
	if (!m->extra[m->nextra])
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->nextra++;
	m->conf_dirty = true;
	return machine_save(m, err);
}

int machine_take_pending(struct machine *m, const char *what, int *slot)
{
	char pre[64];
	size_t pl;

	snprintf(pre, sizeof(pre), "pending.%s = ", what);
	pl = strlen(pre);
	for (int i = 0; i < m->nextra; i++)
		if (strncmp(m->extra[i], pre, pl) == 0) {
			*slot = atoi(m->extra[i] + pl);
			free(m->extra[i]);
			m->extra[i] = m->extra[--m->nextra];
			m->conf_dirty = true;
			return 1;
		}
	return 0;
}

const char *machine_extra_get(const struct machine *m, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < m->nextra; i++)
		if (strncmp(m->extra[i], key, kl) == 0 && strncmp(m->extra[i] + kl, " = ", 3) == 0)
			return m->extra[i] + kl + 3;
	return NULL;
}

int machine_extra_set(struct machine *m, const char *key, const char *value,
		      struct gm_err *err)
{
	size_t kl = strlen(key);
	char line[256];

	if (value)
		snprintf(line, sizeof(line), "%s = %s", key, value);
	for (int i = 0; i < m->nextra; i++)
		if (strncmp(m->extra[i], key, kl) == 0 && strncmp(m->extra[i] + kl, " = ", 3) == 0) {
			free(m->extra[i]);
			if (value) {
				if (!(m->extra[i] = strdup(line)))
					return gm_fail(err, GM_E_NOMEM, "out of memory");
			} else {
				m->extra[i] = m->extra[--m->nextra];
			}
			m->conf_dirty = true;
			return machine_save(m, err);
		}
	if (!value)
		return 0;
	char **n = realloc(m->extra, (size_t)(m->nextra + 1) * sizeof(*n));
	if (!n)
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->extra = n;
	if (!(m->extra[m->nextra] = strdup(line)))
		return gm_fail(err, GM_E_NOMEM, "out of memory");
	m->nextra++;
	m->conf_dirty = true;
	return machine_save(m, err);
}

int machine_set_bootcurrent(struct machine *m, int entry, struct gm_err *err)
{
	char v[16];

	if (entry < 0)
		return machine_extra_set(m, "bootcurrent", NULL, err);
	snprintf(v, sizeof(v), "%04X", (unsigned)entry);
	return machine_extra_set(m, "bootcurrent", v, err);
}
