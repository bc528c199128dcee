/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Everything nsiso prints to a person goes through here: stdout and stderr
 * are replaced at start by streams that pass printable UTF-8, newlines and
 * tabs, and write every other byte as the text \xHH: C0 controls (ESC, so no
 * terminal escape sequence), DEL, C1 controls (U+0080-U+009F, and the raw
 * 8-bit CSI 0x9b), and bytes that are not well-formed UTF-8. A user name, a
 * group, a home, a policy path or a session's origin with an escape
 * sequence in it is shown, never acted on by the terminal (util-linux
 * wall's CVE-2024-28085 class; docs/THREATS.md 70). One filter for every
 * printf of the CLI and of the policy code it calls, rather than a call at
 * each of them that a new printf could forget. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct sink {
	int fd;
	unsigned char pending[4]; /* the start of a UTF-8 sequence cut by a write */
	size_t n_pending;
};

static struct sink out_sink = { .fd = 1 }, err_sink = { .fd = 2 };

static bool put_raw(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

static bool put_escaped(int fd, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x[5];
		snprintf(x, sizeof(x), "\\x%02x", b[i]);
		if (!put_raw(fd, x, 4))
			return false;
	}
	return true;
}

/* The length of the UTF-8 sequence a lead byte starts; 0: not a lead. */
static size_t seq_len(unsigned char c)
{
	return c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

/* A whole sequence of n bytes: printable (not C1, not overlong, not a
 * surrogate, not past U+10FFFF)? */
static bool seq_ok(const unsigned char *s, size_t n)
{
	if (n < 2 || n > 4)
		return false;
	unsigned cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	return cp >= min[n] && cp > 0x9f && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff;
}

size_t utf8_printable(const unsigned char *s, size_t avail)
{
	size_t n = seq_len(s[0]);
	return n && n <= avail && seq_ok(s, n) ? n : 0;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t size)
{
	struct sink *s = cookie;
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0, run = 0; /* run: printable bytes from i - run not yet written */
	while (i < size) {
		if (s->n_pending) {
			/* Complete the sequence a previous write began. */
			s->pending[s->n_pending++] = b[i++];
			size_t want = seq_len(s->pending[0]);
			if ((b[i - 1] & 0xc0) != 0x80) {
				if (!put_escaped(s->fd, s->pending, s->n_pending - 1))
					return -1;
				s->n_pending = 0;
				i--; /* this byte starts over */
			} else if (s->n_pending == want) {
				bool ok = seq_ok(s->pending, want);
				if (!(ok ? put_raw(s->fd, s->pending, want) : put_escaped(s->fd, s->pending, want)))
					return -1;
				s->n_pending = 0;
			}
			continue;
		}
		unsigned char c = b[i];
		size_t len = c < 0x80 ? 1 : seq_len(c);
		bool plain = (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t';
		if (plain) {
			run++, i++;
			continue;
		}
		if (run && !put_raw(s->fd, b + i - run, run))
			return -1;
		run = 0;
		if (len > 1 && i + len > size) { /* cut: keep for the next write */
			memcpy(s->pending, b + i, size - i);
			s->n_pending = size - i;
			return (ssize_t)size;
		}
		bool ok = len > 1 && seq_ok(b + i, len);
		if (!ok)
			len = 1;
		if (!(ok ? put_raw(s->fd, b + i, len) : put_escaped(s->fd, b + i, len)))
			return -1;
		i += len;
	}
	if (run && !put_raw(s->fd, b + i - run, run))
		return -1;
	return (ssize_t)size;
}

static int sink_close(void *cookie)
{
	struct sink *s = cookie;
	bool ok = !s->n_pending || put_escaped(s->fd, s->pending, s->n_pending);
	s->n_pending = 0;
	return ok ? 0 : EOF;
}

static FILE *sink_open(struct sink *s, int mode)
{
	cookie_io_functions_t io = { .write = sink_write, .close = sink_close };
	FILE *f = fopencookie(s, "w", io);
	if (f)
		(void)setvbuf(f, NULL, mode, 0);
	return f;
}

void tty_safe_install(void)
{
	(void)fflush(stdout);
	(void)fflush(stderr);
	FILE *o = sink_open(&out_sink, isatty(1) ? _IOLBF : _IOFBF);
	FILE *e = sink_open(&err_sink, _IONBF);
	if (o)
		stdout = o;
	if (e)
		stderr = e;
}
