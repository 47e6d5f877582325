/*
 * rebuild.c - the background copy onto a new mirror plex (see rebuild.h).
 *
 * Two files in the machine directory:
 *   .rebuild.lock  byte 0: held (a POSIX record lock, so that F_GETLK names
 *                  its process) by the worker while it copies; byte 1: the
 *                  I/O lock (an open-file-description lock); byte 2: a
 *                  command's turn, taken before byte 1, which the worker
 *                  waits on before each chunk, so that a command waits for
 *                  one chunk at most; bytes 8-15: the layout generation,
 *                  bumped under the I/O lock.
 *   .rebuild       the worker's state and checkpoints, "key = value" lines,
 *                  replaced whole (file_replace): state, why, and one
 *                  "ext.<extent> = <sectors done>" per plex extent. (The
 *                  worker's process is the one F_GETLK names on byte 0.)
 */
#include "rebuild.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../io/blkio.h"
#include "ldm_write.h"
#include "machine.h"

#define MAX_EXT 32

struct state_file {
	char state[16];
	char why[200];
	size_t n;
	char ext[MAX_EXT][80];
	uint64_t done[MAX_EXT];
};

static char *path_of(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static bool state_read(const char *dir, struct state_file *s)
{
	char *p = path_of(dir, ".rebuild");
	FILE *f = p ? fopen(p, "r") : NULL;
	char line[400];

	memset(s, 0, sizeof(*s));
	free(p);
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char k[100], v[260];
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%99s = %259[^\n]", k, v) != 2)
			continue;
		if (strcmp(k, "state") == 0)
			snprintf(s->state, sizeof(s->state), "%.15s", v);
		else if (strcmp(k, "why") == 0)
			snprintf(s->why, sizeof(s->why), "%.199s", v);
		else if (strncmp(k, "ext.", 4) == 0 && s->n < MAX_EXT) {
			snprintf(s->ext[s->n], sizeof(s->ext[0]), "%.79s", k + 4);
			s->done[s->n++] = strtoull(v, NULL, 10);
		}
	}
	fclose(f);
	return true;
}

static int state_write(const char *dir, const struct state_file *s)
{
	char *p = path_of(dir, ".rebuild");
	char buf[MAX_EXT * 120 + 600];
	int len, rc;

	if (!p)
		return -ENOMEM;
	/* Each line fits: the fields are bounded (see struct state_file). */
	len = snprintf(buf, sizeof(buf), "state = %.15s\n", s->state);
	if (s->why[0])
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "why = %.199s\n", s->why);
	for (size_t i = 0; i < s->n && i < MAX_EXT; i++)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len, "ext.%.79s = %" PRIu64 "\n",
				s->ext[i], s->done[i]);
	rc = len > 0 && (size_t)len < sizeof(buf) ? file_replace(p, buf, (size_t)len) : -ENOSPC;
	free(p);
	return rc;
}

/* --- the lock file -------------------------------------------------------- */

static int open_lock(const char *dir, bool create)
{
	char *p = path_of(dir, ".rebuild.lock");
	int fd = p ? open(p, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644) : -1;

	free(p);
	return fd;
}

void rebuild_attach(struct machine *m)
{
	if (m->rbfd < 0)
		m->rbfd = open_lock(m->dir, false);
}

/* The process that holds byte 0 (a worker copying), or 0. */
static long worker_pid(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid > 0 ? (long)fl.l_pid : -1;
}

void rebuild_get(struct machine *m, struct rebuild_state *st)
{
	struct state_file s;

	memset(st, 0, sizeof(*st));
	rebuild_attach(m);
	if (!state_read(m->dir, &s))
		return;
	st->present = true;
	st->pid = worker_pid(m->rbfd);
	st->running = st->pid != 0;
	snprintf(st->state, sizeof(st->state), "%s", s.state);
	snprintf(st->why, sizeof(st->why), "%s", s.why);
}

bool rebuild_checkpoint_get(const struct machine *m, const char *extent, uint64_t *done)
{
	struct state_file s;

	if (!state_read(m->dir, &s))
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.ext[i], extent) == 0) {
			*done = s.done[i];
			return true;
		}
	return false;
}

int rebuild_checkpoint_set(struct machine *m, const char *extent, uint64_t done,
			   struct gm_err *err)
{
	struct state_file s;
	size_t i;

	state_read(m->dir, &s);
	for (i = 0; i < s.n && strcmp(s.ext[i], extent) != 0; i++)
		;
	if (i == s.n) {
		if (s.n == MAX_EXT)
			return gm_fail(err, GM_E_NOMEM, "too many plexes being rebuilt");
		snprintf(s.ext[s.n++], sizeof(s.ext[0]), "%s", extent);
	}
	s.done[i] = done;
	if (!s.state[0])
		snprintf(s.state, sizeof(s.state), "copying");
	if (state_write(m->dir, &s) < 0)
		return gm_fail(err, GM_E_IO, "cannot record the rebuild's checkpoint in %s/.rebuild",
			       m->dir);
	return 0;
}

void rebuild_forget(struct machine *m)
{
	char *p = path_of(m->dir, ".rebuild");

	if (p && unlink(p) == 0) {
		/* Flushed, as file_replace flushes what it writes. */
		int fd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	free(p);
}

/* --- the I/O lock and the generation ---------------------------------------- */

static void byte_lock(int fd, off_t at, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1};

	while (fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl) < 0 && errno == EINTR)
		;
}

static void io_lock(int fd, short type)
{
	byte_lock(fd, 1, type);
}

void rebuild_io_lock(struct machine *m)
{
	if (m->rbfd < 0 || m->rb_depth++ > 0)
		return;
	if (m->rb_worker) {
		/* A command waiting for its turn goes first. */
		byte_lock(m->rbfd, 2, F_WRLCK);
		byte_lock(m->rbfd, 2, F_UNLCK);
	} else {
		byte_lock(m->rbfd, 2, F_WRLCK);
	}
	io_lock(m->rbfd, F_WRLCK);
}

void rebuild_io_unlock(struct machine *m)
{
	if (m->rbfd < 0 || m->rb_depth == 0 || --m->rb_depth > 0)
		return;
	io_lock(m->rbfd, F_UNLCK);
	if (!m->rb_worker)
		byte_lock(m->rbfd, 2, F_UNLCK);
}

static uint64_t gen_read(int fd)
{
	uint64_t g = 0;

	if (fd < 0 || pread(fd, &g, sizeof(g), 8) != (ssize_t)sizeof(g))
		return 0;
	return g;
}

void rebuild_layout_changed(struct machine *m)
{
	if (m->rbfd < 0)
		return;
	uint64_t g = gen_read(m->rbfd) + 1;
	if (pwrite(m->rbfd, &g, sizeof(g), 8) != (ssize_t)sizeof(g))
		return;
}

bool rebuild_layout_same(struct machine *m)
{
	return !m->rb_worker || gen_read(m->rbfd) == m->rb_gen;
}

/* --- starting, stopping, polling ---------------------------------------------- */

int rebuild_spawn(struct machine *m, struct gm_err *err)
{
	char self[PATH_MAX], dir[PATH_MAX];
	struct state_file s;
	ssize_t n;

	if (m->rbfd < 0 && (m->rbfd = open_lock(m->dir, true)) < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot create %s/.rebuild.lock: %s", m->dir,
			       strerror(errno));
	if (worker_pid(m->rbfd) != 0)
		return 0; /* one is at it already */
	state_read(m->dir, &s);
	snprintf(s.state, sizeof(s.state), "copying");
	s.why[0] = '\0';
	if (state_write(m->dir, &s) < 0)
		return gm_fail(err, GM_E_IO, "cannot write %s/.rebuild", m->dir);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot find gptmirror's own binary: %s",
			       strerror(errno));
	self[n] = '\0';
	if (!realpath(m->dir, dir))
		return gm_fail(err, GM_E_MACHINE, "%s: %s", m->dir, strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return gm_fail(err, GM_E_MACHINE, "cannot start the background copy: %s",
			       strerror(errno));
	if (pid == 0) {
		/* Detached: its own session, no terminal, no parent to wait. */
		setsid();
		if (fork() != 0)
			_exit(0);
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execl(self, "gptmirror", "-m", dir, "volume", "resync", "--worker", (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Returns once the worker holds its lock (or has finished already). */
	for (int i = 0; i < 1000; i++) {
		struct state_file now;
		if (worker_pid(m->rbfd) != 0 || !state_read(m->dir, &now) ||
		    strcmp(now.state, "copying") != 0)
			return 0;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return gm_fail(err, GM_E_MACHINE, "the background copy did not start");
}

bool rebuild_stop(struct machine *m)
{
	rebuild_attach(m);
	long pid = worker_pid(m->rbfd);
	if (pid == 0 || m->rb_worker)
		return false;
	if (pid > 0)
		kill((pid_t)pid, SIGTERM);
	/* Its lock goes with it. */
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	while (fcntl(m->rbfd, F_OFD_SETLKW, &fl) < 0 && errno == EINTR)
		;
	fl.l_type = F_UNLCK;
	fcntl(m->rbfd, F_OFD_SETLK, &fl);
	return true;
}

int rebuild_poll(struct machine *m, struct gm_err *err)
{
	struct rebuild_state st;

	if (m->rb_worker)
		return 0;
	rebuild_get(m, &st);
	if (!st.present || st.running || strcmp(st.state, "stopped") == 0)
		return 0;
	if (strcmp(st.state, "done") == 0) {
		int rc = ldm_resync(m, NULL, NULL, err);
		machine_rescan(m, NULL);
		return rc < 0 ? rc : rc > 0;
	}
	/* Copying, and no worker: it was killed. Its successor goes on from
	 * the checkpoint. */
	int rc = rebuild_spawn(m, err);
	return rc < 0 ? rc : 0;
}

/* --- the worker -------------------------------------------------------------- */

static void set_state(const char *dir, const char *state, const char *why)
{
	struct state_file s;

	if (!state_read(dir, &s))
		return; /* finished and forgotten by a command meanwhile */
	if (strcmp(s.state, state) == 0 && strcmp(s.why, why ? why : "") == 0)
		return; /* nothing to write */
	snprintf(s.state, sizeof(s.state), "%s", state);
	snprintf(s.why, sizeof(s.why), "%s", why ? why : "");
	state_write(dir, &s);
}

int rebuild_worker(const char *dir, const struct gm_env *env, struct gm_err *err)
{
	char *conf = path_of(dir, GM_CONF);
	bool machine = conf && access(conf, F_OK) == 0;

	free(conf);
	/* Its lock file only in a machine directory. */
	if (!machine)
		return gm_fail(err, GM_E_MACHINE, "%s is not a machine (no %s)", dir, GM_CONF);
	int fd = open_lock(dir, true);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	struct machine *m;
	int rc;

	if (fd < 0)
		return gm_fail(err, GM_E_MACHINE, "%s/.rebuild.lock: %s", dir, strerror(errno));
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		close(fd); /* another worker is at it */
		return 0;
	}
	machine_crash_hook(env);
	set_state(dir, "copying", NULL);
	for (;;) {
		/* The generation first, then the disks: a change after this
		 * read is seen before the first chunk. */
		io_lock(fd, F_WRLCK);
		uint64_t gen = gen_read(fd);
		io_lock(fd, F_UNLCK);
		if ((rc = machine_open_unlocked(dir, env, &m, err)) < 0)
			break;
		m->rb_worker = true;
		m->rbfd = fd; /* the one descriptor: closing another would drop
			       * this process's lock on byte 0 */
		m->rb_gen = gen;
		rc = ldm_resync(m, NULL, NULL, err);
		m->rbfd = -1;
		machine_close(m);
		if (rc != -(int)GM_E_AGAIN)
			break;
	}
	if (rc < 0) {
		set_state(dir, "stopped", err ? err->detail : "the copy failed");
		close(fd);
		return rc;
	}
	/* The copy is whole: whoever holds the machine lock first marks the
	 * plex healthy, this process or a command (rebuild_poll). */
	set_state(dir, "done", NULL);
	fl.l_type = F_UNLCK;
	fcntl(fd, F_SETLK, &fl);
	close(fd);
	if ((rc = machine_open(dir, env, &m, err)) < 0)
		return rc;
	rc = rebuild_poll(m, err);
	if (rc >= 0)
		rc = machine_save(m, err);
	machine_close(m);
	return rc < 0 ? rc : 0;
}
