/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

void session_fds_init(struct session_fds *s)
{
	for (int i = 0; i < NS_COUNT; i++)
		s->ns[i] = -EBADF;
	s->seccomp = -EBADF;
	s->n_cgroups = 0;
	for (int i = 0; i < SESSION_CGROUPS_MAX; i++)
		s->cgroup[i] = -EBADF;
}

void session_fds_close(struct session_fds *s)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (s->ns[i] >= 0)
			(void)close(s->ns[i]);
	if (s->seccomp >= 0)
		(void)close(s->seccomp);
	for (uint32_t i = 0; i < s->n_cgroups && i < SESSION_CGROUPS_MAX; i++)
		if (s->cgroup[i] >= 0)
			(void)close(s->cgroup[i]);
	session_fds_init(s);
}

size_t session_fds_pack(const struct session_fds *s, uint32_t ns_mask, const struct session_hardening *h,
			int out[SESSION_FDS_MAX])
{
	size_t n = 0;
	for (int i = 0; i < NS_COUNT; i++)
		if (ns_mask & NS_BIT(i))
			out[n++] = s->ns[i];
	if (h->flags & HARDEN_SECCOMP)
		out[n++] = s->seccomp;
	for (uint32_t i = 0; i < h->n_cgroups && i < SESSION_CGROUPS_MAX; i++)
		out[n++] = s->cgroup[i];
	return n;
}

int session_fds_unpack(struct session_fds *s, uint32_t ns_mask, const struct session_hardening *h, int *got, size_t n)
{
	size_t want = (size_t)__builtin_popcount(ns_mask & NS_ALL) + !!(h->flags & HARDEN_SECCOMP) + h->n_cgroups;
	session_fds_init(s);
	if ((ns_mask & ~NS_ALL) || h->n_cgroups > SESSION_CGROUPS_MAX || n != want) {
		for (size_t i = 0; i < n; i++)
			(void)close(got[i]);
		return -EBADMSG;
	}
	size_t k = 0;
	for (int i = 0; i < NS_COUNT; i++)
		if (ns_mask & NS_BIT(i))
			s->ns[i] = got[k++];
	if (h->flags & HARDEN_SECCOMP)
		s->seccomp = got[k++];
	s->n_cgroups = h->n_cgroups;
	for (uint32_t i = 0; i < h->n_cgroups; i++)
		s->cgroup[i] = got[k++];
	return 0;
}

void origin_copy(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	if (size == 0)
		return;
	for (; src && src[n] && n + 1 < size; n++) {
		unsigned char c = (unsigned char)src[n];
		dst[n] = c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '\'' ? (char)c : '?';
	}
	dst[n] = '\0';
}

static bool log_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._@:/+-", c);
}

/* Append the escaped form of s to buf[*used..], leaving room for what the
 * caller still writes (reserve bytes). */
static void log_append_escaped(char *buf, size_t size, size_t *used, size_t reserve, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[5];
		if (c == '"' || c == '\\')
			snprintf(e, sizeof(e), "\\%c", c);
		else if (c == '\t')
			snprintf(e, sizeof(e), "\\t");
		else if (c == '\n')
			snprintf(e, sizeof(e), "\\n");
		else if (c == '\r')
			snprintf(e, sizeof(e), "\\r");
		else if (c < 0x20 || c >= 0x7f)
			snprintf(e, sizeof(e), "\\x%02x", c);
		else
			snprintf(e, sizeof(e), "%c", c);
		size_t n = strlen(e);
		if (*used + n + reserve >= size)
			break;
		memcpy(buf + *used, e, n);
		*used += n;
	}
	buf[*used] = '\0';
}

const char *log_escape(char *buf, size_t size, const char *s)
{
	size_t used = 0;
	if (size == 0)
		return "";
	buf[0] = '\0';
	log_append_escaped(buf, size, &used, 0, s);
	return buf;
}

const char *log_value(char *buf, size_t size, const char *s)
{
	size_t used = 0;
	bool plain = s && *s;
	for (const char *p = s; plain && *p; p++)
		plain = log_plain((unsigned char)*p);
	if (size < 3)
		return "";
	if (plain && strlen(s) < size) {
		strcpy(buf, s);
		return buf;
	}
	buf[used++] = '"';
	log_append_escaped(buf, size, &used, 1, s);
	buf[used++] = '"';
	buf[used] = '\0';
	return buf;
}
