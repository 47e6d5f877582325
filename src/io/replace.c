/*
 * replace.c - a small file replaced whole (machine.conf, nvram.fd): the new
 * bytes go to NAME.tmp, are flushed, and the temporary is renamed over NAME
 * and the directory flushed, so that a crash leaves the old file or the new
 * one, never a mix. One replacement is one write to the byte counters and
 * to the crash hook of the process, like a write to a disk.
 */
#include "blkio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct blk_crash *file_crash;

void file_replace_crash_hook(struct blk_crash *crash)
{
	file_crash = crash;
}

/* The directory of path, flushed so that the rename itself is durable. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int file_replace(const char *path, const void *buf, size_t len)
{
	char tmp[4200];
	const unsigned char *p = buf;
	size_t done = 0;
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	sync_dir(path);
	blkio_stats_count_write(len);
	if (file_crash)
		blk_crash_tick(file_crash);
	return 0;
}
