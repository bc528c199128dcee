/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smallfile.h"
#include "stats.h"
#include "util.h"

const unsigned stats_create_bucket_ms[STATS_CREATE_BUCKETS] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 };

#define STATS_BYTES (STATS_MAX * (STATS_NAME_MAX + 24))

int stats_file_open(void)
{
	_cleanup_close_ int dir = open_state_dir(NSISO_RUNDIR, true);
	if (dir < 0)
		return dir;
	_cleanup_close_ int fd = openat(dir, "stats", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0)
		return neg_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink != 1 || (st.st_mode & 077))
		return -EPERM;
	return TAKE_FD(fd);
}

/* The file's lock, waited for at most STATS_LOCK_MS. */
static int stats_lock(int fd)
{
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return neg_errno();
		if (waited >= STATS_LOCK_MS)
			return -ETIMEDOUT;
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
}

/* Parse "NAME VALUE\n" lines; a malformed one is skipped. */
static int stats_parse(char *text, struct stats_entry *out, size_t max)
{
	size_t n = 0;
	for (char *line = text, *next; line && *line && n < max; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *space = strchr(line, ' ');
		if (!space || space == line || (size_t)(space - line) >= STATS_NAME_MAX)
			continue;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(space + 1, &end, 10);
		if (errno || *end || end == space + 1)
			continue;
		memcpy(out[n].name, line, (size_t)(space - line));
		out[n].name[space - line] = '\0';
		out[n++].value = v;
	}
	return (int)n;
}

static int stats_load(int fd, struct stats_entry *out, size_t max)
{
	_cleanup_free_ char *text = malloc(STATS_BYTES + 1);
	if (!text)
		return -ENOMEM;
	ssize_t len = pread(fd, text, STATS_BYTES, 0);
	if (len < 0)
		return neg_errno();
	text[len] = '\0';
	return stats_parse(text, out, max);
}

/* Under the lock: read, add, write back. */
static int stats_update(int fd, struct stats_entry *e, char *text, const char *const *name, const uint64_t *delta,
			size_t n)
{
	int count = stats_load(fd, e, STATS_MAX);
	if (count < 0)
		return count;
	for (size_t i = 0; i < n; i++) {
		int k = 0;
		while (k < count && strcmp(e[k].name, name[i]) != 0)
			k++;
		if (k == count) {
			if (count == STATS_MAX || strlen(name[i]) >= STATS_NAME_MAX || strchr(name[i], ' ') ||
			    strchr(name[i], '\n'))
				continue;
			snprintf(e[count].name, sizeof(e[count].name), "%s", name[i]);
			e[count++].value = 0;
		}
		e[k].value += delta[i];
	}
	size_t len = 0;
	for (int k = 0; k < count; k++)
		len += (size_t)snprintf(text + len, STATS_BYTES - len, "%s %" PRIu64 "\n", e[k].name, e[k].value);
	/* (one write of the whole: a reader under the lock sees all or the old) */
	if (pwrite(fd, text, len, 0) != (ssize_t)len)
		return errno ? neg_errno() : -EIO;
	return ftruncate(fd, (off_t)len) < 0 ? neg_errno() : 0;
}

int stats_add(int file, const char *const *name, const uint64_t *delta, size_t n)
{
	/* (on the heap: the module runs in its caller's process and threads) */
	_cleanup_free_ struct stats_entry *e = calloc(STATS_MAX, sizeof(*e));
	_cleanup_free_ char *text = malloc(STATS_BYTES);
	if (!e || !text)
		return -ENOMEM;
	_cleanup_close_ int own = file >= 0 ? -EBADF : stats_file_open();
	int fd = file >= 0 ? file : own, r;
	if (fd < 0)
		return fd;
	if ((r = stats_lock(fd)) < 0)
		return r;
	r = stats_update(fd, e, text, name, delta, n);
	(void)flock(fd, LOCK_UN); /* (a given fd stays open: not locked past this call) */
	return r;
}

int stats_read(struct stats_entry *out, size_t max)
{
	_cleanup_close_ int fd = stats_file_open();
	int r = fd < 0 ? fd : stats_lock(fd);
	return r < 0 ? r : stats_load(fd, out, max);
}

void stats_label(char *dst, size_t size, const char *s)
{
	size_t n = 0;
	for (; s && *s && n + 1 < size && n < 32; s++) {
		unsigned char c = (unsigned char)*s;
		dst[n++] = (c > ' ' && c < 127 && c != '|' && c != '"' && c != '\'' && c != '\\') ? (char)c : '_';
	}
	if (n == 0 && size > 1)
		dst[n++] = '-';
	if (size)
		dst[n] = '\0';
}

void stats_decision(int file, const char *what, const char *service, const char *detail, int created,
		    uint64_t create_us)
{
	char svc[40], det[40];
	stats_label(svc, sizeof(svc), service);
	stats_label(det, sizeof(det), detail);
	char key[4][STATS_NAME_MAX];
	const char *names[4] = { key[0], key[1], key[2], key[3] };
	uint64_t delta[4] = { 1, 0, 1, 1 };
	size_t n = 1;
	snprintf(key[0], sizeof(key[0]), "%s|%s|%s", what, svc, det);
	if (created) {
		/* the histogram: the first bucket that holds it (nsiso metrics
		 * sums them up), the sum in us, the count */
		unsigned b = 0;
		while (b < STATS_CREATE_BUCKETS && create_us > (uint64_t)stats_create_bucket_ms[b] * 1000)
			b++;
		snprintf(key[1], sizeof(key[1]), "create_us_sum");
		delta[1] = create_us;
		if (b < STATS_CREATE_BUCKETS)
			snprintf(key[2], sizeof(key[2]), "create_le|%u", stats_create_bucket_ms[b]);
		else
			snprintf(key[2], sizeof(key[2]), "create_le|inf");
		snprintf(key[3], sizeof(key[3]), "create_count");
		n = 4;
	}
	(void)stats_add(file, names, delta, n);
}
