/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smallfile.h"
#include "util.h"

ssize_t read_small_at(int dir, const char *name, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	_cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	/* Until EOF or full: a /proc file comes in pieces of its own size. */
	size_t n = 0;
	while (n < size - 1) {
		ssize_t k = RETRY_EINTR(read(fd, buf + n, size - 1 - n));
		if (k < 0)
			return neg_errno();
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

int open_state_dir(const char *path, bool create)
{
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
		return neg_errno();
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (st.st_uid != 0 || (st.st_mode & 077))
		return -EPERM;
	return TAKE_FD(fd);
}
