/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "journal.h"
#include "util.h"

/* journald's native protocol (systemd's docs, "Native Journal Protocol"):
 * one datagram of "NAME=value\n" lines to /run/systemd/journal/socket.
 * Written here rather than through sd_journal_send(): the module runs in
 * sshd, su and login, and libsystemd is not loaded into them for one
 * datagram (the helper loads it only in a short-lived child, systemd.c). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_ENTRY_MAX 4096

/* Append "NAME=value\n" (name and value given apart or as one "NAME=value"). */
static size_t put_field(char *buf, size_t len, const char *name, const char *value)
{
	int n = snprintf(buf + len, JOURNAL_ENTRY_MAX - len, "%s%s", name, value);
	if (n < 0 || (size_t)n >= JOURNAL_ENTRY_MAX - len - 1)
		return len; /* does not fit: left out */
	for (int i = 0; i < n; i++)
		if (buf[len + (size_t)i] == '\n')
			buf[len + (size_t)i] = ' ';
	len += (size_t)n;
	buf[len++] = '\n';
	return len;
}

int journal_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return neg_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return neg_errno();
	return TAKE_FD(fd);
}

int journal_send(int priority, const char *message_id, const char *message, const char *const *fields, size_t n)
{
	_cleanup_close_ int fd = journal_open();
	return fd < 0 ? fd : journal_send_fd(fd, priority, message_id, message, fields, n);
}

int journal_send_fd(int fd, int priority, const char *message_id, const char *message, const char *const *fields,
		    size_t n)
{
	char buf[JOURNAL_ENTRY_MAX];
	char prio[16];
	size_t len = 0;
	snprintf(prio, sizeof(prio), "%d", priority & LOG_PRIMASK);
	len = put_field(buf, len, "PRIORITY=", prio);
	len = put_field(buf, len, "SYSLOG_FACILITY=", "10"); /* authpriv, as the syslog line */
	bool ident = false;
	for (size_t i = 0; i < n; i++)
		ident |= fields[i] && strncmp(fields[i], "SYSLOG_IDENTIFIER=", 18) == 0;
	if (!ident)
		len = put_field(buf, len, "SYSLOG_IDENTIFIER=", program_invocation_short_name);
	len = put_field(buf, len, "MESSAGE_ID=", message_id);
	for (size_t i = 0; i < n; i++)
		if (fields[i] && strchr(fields[i], '='))
			len = put_field(buf, len, "", fields[i]);
	len = put_field(buf, len, "MESSAGE=", message);

	return send(fd, buf, len, MSG_NOSIGNAL) < 0 ? neg_errno() : 0;
}
