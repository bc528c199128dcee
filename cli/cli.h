/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* ttysafe.c: stdout and stderr escape what a terminal would act on (C0
 * but newline and tab, DEL, C1, malformed UTF-8) as \xHH; called first. */
void tty_safe_install(void);
/* The length of the printable UTF-8 sequence (2-4 bytes, not C1) at s, or
 * 0 when there is none in avail bytes. */
size_t utf8_printable(const unsigned char *s, size_t avail);

/* report.c: what both nsiso.c and containers.c print. */
/* Print s as a JSON string. */
void json_string(const char *s);

/* containers.c: each returns the exit status (see nsiso(8)). */
int cmd_list(bool json);
int cmd_show(const char *user, bool json);
int cmd_stop(const char *user, unsigned timeout_s);
int cmd_set(const char *user, char **assignments, int n);
int cmd_enter(const char *user, const char *config, bool as_root, char **cmd);
/* metrics.c */
int cmd_metrics(const char *config, const char *textfile_dir, bool per_user);
int cmd_status(void);

/* containers.c: the uids of live containers (their sockets), and one's
 * status from its supervisor (0 or -errno). */
#include <sys/types.h>
struct container_status;
size_t live_uids(uid_t *uids, size_t max);
int status_of(uid_t uid, struct container_status *st);

/* report.c: where user's subordinate ids come from (files, libsubid,
 * nsiso's registry), as one line in out; true when a session with a user
 * namespace would be refused for want of them. */
#include <stdint.h>
struct policy_settings;
bool subids_where(const char *user, uint32_t uid, const struct policy_settings *s, char *out, size_t size);

/* pty.c: nsiso enter's terminal. */
#include <stddef.h>
#include <sys/types.h>
int pty_open(int *master, char *slave, size_t size);
int pty_attach_child(const char *slave);
int pty_relay(int master, pid_t child);

/* pamlint.c: nsiso check's look at DIR/SERVICE's auth stack: 1 (and a
 * warning printed) when setcred can end before pam_nsiso, else 0. */
int pam_auth_lint(const char *dir, const char *service);
