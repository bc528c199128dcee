/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "util.h"

static int check_owner_mode(int fd, const char *what, char *why, size_t why_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (st.st_uid != 0) {
		snprintf(why, why_size, "%s is owned by uid %u, not root", what, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, why_size, "%s is group- or world-writable (mode %04o)", what,
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Open the last component of a trusted directory fd as a file or directory. */
static int open_last(int dir, const char *name, bool want_dir, char *why, size_t why_size)
{
	int flags = want_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOCTTY | O_NONBLOCK;
	_cleanup_close_ int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			snprintf(why, why_size, "%s is a symlink", name);
		return -e;
	}
	int r = check_owner_mode(fd, name, why, why_size);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (!want_dir && !S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "%s is not a regular file", name);
		return -EINVAL;
	}
	if (!want_dir) {
		/* O_NONBLOCK only kept a FIFO from blocking the open. */
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			return neg_errno();
	}
	return TAKE_FD(fd);
}

static int open_trusted(const char *path, bool want_dir, char *why, size_t why_size)
{
	char buf[PATH_MAX];
	size_t len = strnlen(path, sizeof(buf));
	if (why_size)
		why[0] = '\0';
	if (path[0] != '/' || len >= sizeof(buf)) {
		snprintf(why, why_size, "path must be absolute and shorter than %d", PATH_MAX);
		return -EINVAL;
	}
	memcpy(buf, path, len + 1);

	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return neg_errno();
	int r = check_owner_mode(dir, "/", why, why_size);
	if (r < 0)
		return r;

	char *save = NULL;
	char *part = strtok_r(buf, "/", &save);
	if (!part) {
		snprintf(why, why_size, "path names /");
		return -EISDIR;
	}
	while (part) {
		char *next = strtok_r(NULL, "/", &save);
		if (strcmp(part, "..") == 0 || strcmp(part, ".") == 0) {
			snprintf(why, why_size, "path contains '%s'", part);
			return -EINVAL;
		}
		if (!next)
			return open_last(dir, part, want_dir, why, why_size);
		_cleanup_close_ int fd = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == ELOOP || e == ENOTDIR)
				snprintf(why, why_size, "%s is a symlink or not a directory", part);
			return -e;
		}
		r = check_owner_mode(fd, part, why, why_size);
		if (r < 0)
			return r;
		close_fd(&dir);
		dir = TAKE_FD(fd);
		part = next;
	}
	return -EINVAL;
}

int open_trusted_file(const char *path, char *why, size_t why_size)
{
	return open_trusted(path, false, why, why_size);
}

int open_trusted_dir(const char *path, char *why, size_t why_size)
{
	return open_trusted(path, true, why, why_size);
}

int open_trusted_at(int dir, const char *name, char *why, size_t why_size)
{
	if (why_size)
		why[0] = '\0';
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return open_last(dir, name, false, why, why_size);
}
