/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* nsiso's decisions, as journal entries with fields, where journald runs:
 * the entry is the syslog line (same message, facility, identifier, pid)
 * with NSISO_* fields and a MESSAGE_ID, sent instead of it (journald passes
 * it on to a syslog daemon as it does the others); where the send fails,
 * the caller writes the syslog line. The catalog (config/nsiso.catalog)
 * explains each MESSAGE_ID. */
#define NSISO_MID_SESSION "64729e48e8364eff9608cbc8335b46a9"	/* a session in its container */
#define NSISO_MID_REFUSED "3f8c3a9ed67a4308b5e1f57eef4b7fa7"	/* a session refused */
#define NSISO_MID_UNISOLATED "8e127f3e56a547c0b24e678732da6745" /* let in on the host (on_error = allow) */
#define NSISO_MID_EXEMPT "c93c22b4e1d842d6bc341cdda7fc53b7"	/* the policy exempts the user */
#define NSISO_MID_ENDED "8ea34813164d4180ad361da62b6e0176"	/* a container ended */
#define NSISO_MID_OOM "7ec8140bc62e465d8adb408410e27fca"	/* the kernel OOM-killed in a container */

/* Send one entry to journald's native socket: PRIORITY, SYSLOG_FACILITY
 * (authpriv), SYSLOG_IDENTIFIER (this program's name, unless a field gives it), MESSAGE_ID and
 * MESSAGE, then the given "NAME=value" fields. A newline in a value
 * becomes a space. Without journald (no socket) nothing is sent. 0 or
 * -errno (then the caller logs to syslog). */
int journal_send(int priority, const char *message_id, const char *message, const char *const *fields, size_t n);
/* The same through fd, a socket of journal_open() (connected to journald:
 * it stays so after the caller joins a container's mount namespace). */
int journal_open(void);
int journal_send_fd(int fd, int priority, const char *message_id, const char *message, const char *const *fields,
		    size_t n);
