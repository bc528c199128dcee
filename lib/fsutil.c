/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
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

int open_trusted_file(const char *path, char *why, size_t why_size)
{
	char buf[PATH_MAX];
	size_t len = strnlen(path, sizeof(buf));
	if (why_size)
		why[0] = '\0';
	if (path[0] != '/' || len == 0 || len >= sizeof(buf)) {
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
	while (part) {
		char *next = strtok_r(NULL, "/", &save);
		if (strcmp(part, "..") == 0 || strcmp(part, ".") == 0) {
			snprintf(why, why_size, "path contains '%s'", part);
			return -EINVAL;
		}
		int flags = next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NOCTTY | O_NONBLOCK;
		_cleanup_close_ int fd = openat(dir, part, flags | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == ELOOP || (e == ENOTDIR && next))
				snprintf(why, why_size, "%s is a symlink or not a directory", part);
			return -e;
		}
		r = check_owner_mode(fd, part, why, why_size);
		if (r < 0)
			return r;
		if (!next) {
			struct stat st;
			if (fstat(fd, &st) < 0)
				return neg_errno();
			if (!S_ISREG(st.st_mode)) {
				snprintf(why, why_size, "%s is not a regular file", part);
				return -EINVAL;
			}
			/* O_NONBLOCK only kept a FIFO from blocking the open. */
			int fl = fcntl(fd, F_GETFL);
			if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
				return neg_errno();
			return TAKE_FD(fd);
		}
		close_fd(&dir);
		dir = TAKE_FD(fd);
		part = next;
	}
	snprintf(why, why_size, "path names a directory");
	return -EISDIR;
}
