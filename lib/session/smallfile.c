/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
