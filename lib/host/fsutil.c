/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "util.h"

static int check_owner_mode(int fd, const char *what, struct nsiso_error *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (st.st_uid != 0)
		return error_set(e, -EPERM, "%s is owned by uid %u, not root", what, (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return error_set(e, -EPERM, "%s is group- or world-writable (mode %04o)", what,
				 (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Open the last component of a trusted directory fd as a file or directory. */
static int open_last(int dir, const char *name, bool want_dir, struct nsiso_error *e)
{
	int flags = want_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOCTTY | O_NONBLOCK;
	_cleanup_close_ int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int r = neg_errno();
		return r == -ELOOP ? error_set(e, r, "%s is a symlink", name) : r;
	}
	int r = check_owner_mode(fd, name, e);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (!want_dir && !S_ISREG(st.st_mode))
		return error_set(e, -EINVAL, "%s is not a regular file", name);
	if (!want_dir) {
		/* O_NONBLOCK only kept a FIFO from blocking the open. */
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
			return neg_errno();
	}
	return TAKE_FD(fd);
}

int walk_parent(const char *path, unsigned flags, char *buf, size_t buf_size, const char **last, struct nsiso_error *e)
{
	size_t len = strnlen(path, buf_size);
	e->detail[0] = '\0';
	if (path[0] != '/' || len >= buf_size)
		return error_set(e, -EINVAL, "path must be absolute and shorter than %zu", buf_size);
	memcpy(buf, path, len + 1);
	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return neg_errno();
	int r = (flags & WALK_ROOT_ONLY) ? check_owner_mode(dir, "/", e) : 0;
	if (r < 0)
		return r;
	char *part = buf + 1;
	for (;;) {
		char *slash = strchr(part, '/');
		if (slash)
			*slash = '\0';
		if (!*part || strcmp(part, ".") == 0 || strcmp(part, "..") == 0)
			return error_set(e, -EINVAL, "%s: an empty, '.' or '..' component", path);
		if (!slash) {
			*last = part;
			return TAKE_FD(dir);
		}
		_cleanup_close_ int fd = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int en = errno;
			struct stat lst;
			/* a symlink in the middle fails O_DIRECTORY|O_NOFOLLOW as ENOTDIR */
			if (en == ENOTDIR && fstatat(dir, part, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
				en = ELOOP;
			return error_set(e, -en, "%s %s", part,
					 en == ELOOP	 ? "is a symlink"
					 : en == ENOTDIR ? "is not a directory"
							 : strerror(en));
		}
		if ((flags & WALK_ROOT_ONLY) && (r = check_owner_mode(fd, part, e)) < 0)
			return r;
		close_fd(&dir);
		dir = TAKE_FD(fd);
		part = slash + 1;
	}
}

static int open_trusted(const char *path, bool want_dir, struct nsiso_error *e)
{
	char buf[PATH_MAX];
	const char *last;
	if (strcmp(path, "/") == 0)
		return error_set(e, -EISDIR, "path names /");
	_cleanup_close_ int dir = walk_parent(path, WALK_ROOT_ONLY, buf, sizeof(buf), &last, e);
	if (dir < 0)
		return dir;
	return open_last(dir, last, want_dir, e);
}

int open_trusted_file(const char *path, struct nsiso_error *e)
{
	return open_trusted(path, false, e);
}

int open_trusted_dir(const char *path, struct nsiso_error *e)
{
	return open_trusted(path, true, e);
}

int open_trusted_at(int dir, const char *name, struct nsiso_error *e)
{
	e->detail[0] = '\0';
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return open_last(dir, name, false, e);
}

int read_whole_fd(int fd, size_t max, char **out, size_t *len)
{
	*out = NULL;
	size_t cap = 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 == cap) {
			if (cap > max)
				return -EFBIG;
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				return -ENOMEM;
			buf = bigger;
			cap *= 2;
		}
		ssize_t k = RETRY_EINTR(pread(fd, buf + n, cap - 1 - n, (off_t)n));
		if (k < 0)
			return neg_errno();
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max)
			return -EFBIG;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}

int write_all_fd(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = RETRY_EINTR(write(fd, p, len));
		if (n <= 0)
			return n < 0 ? neg_errno() : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_at(int dir, const char *name, const void *buf, size_t len, int flags, mode_t mode)
{
	_cleanup_close_ int fd = openat(dir, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | flags, mode);
	return fd < 0 ? neg_errno() : write_all_fd(fd, buf, len);
}
