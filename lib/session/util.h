/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Give the whole pages inside a scratch object back to the kernel (they
 * read as zeros when touched again). For the large statics a supervisor
 * uses only now and then (a policy load, a seccomp cache copy) or inherits
 * from the helper it was forked from: kept dirty, they cost every
 * container its share for its whole life (docs/PERFORMANCE.md). */
static inline void forget_pages(void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + len) & ~(page - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* Cleanup helpers in the bubblewrap/systemd manner: a variable declared with
 * one of these is released when it leaves scope; TAKE_* hands ownership on. */
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

#define TAKE_FD(fd)                                                                                                    \
	({                                                                                                             \
		int _fd_ = (fd);                                                                                       \
		(fd) = -EBADF;                                                                                         \
		_fd_;                                                                                                  \
	})
#define TAKE_PTR(p)                                                                                                    \
	({                                                                                                             \
		__typeof__(p) _p_ = (p);                                                                               \
		(p) = NULL;                                                                                            \
		_p_;                                                                                                   \
	})

/* Close an fd and mark it closed. */
static inline void close_fd(int *fd)
{
	closep(fd);
	*fd = -EBADF;
}

/* Retry a syscall-like expression on EINTR. */
#define RETRY_EINTR(expr)                                                                                              \
	({                                                                                                             \
		long _r_;                                                                                              \
		do                                                                                                     \
			_r_ = (long)(expr);                                                                            \
		while (_r_ < 0 && errno == EINTR);                                                                     \
		_r_;                                                                                                   \
	})

/* A text into a fixed buffer for a log or a message; when it does not fit
 * it ends in "..." (never a silently cut value that reads as whole). */
static inline void text_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (size == 0)
		return;
	if (n < size) {
		memcpy(dst, src, n + 1);
		return;
	}
	n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (size_t i = n >= 3 ? n - 3 : 0; i < n; i++)
		dst[i] = '.';
}

/* -errno of the last failure, never 0, for "return neg_errno();". */
static inline int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
