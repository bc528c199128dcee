/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Print s as a JSON string. */
void json_string(const char *s);

/* containers.c: each returns the exit status (see nsiso(8)). */
int cmd_list(bool json);
int cmd_show(const char *user, bool json);
int cmd_stop(const char *user, unsigned timeout_s);
int cmd_enter(const char *user, const char *config, bool as_root, char **cmd);

/* pty.c: nsiso enter's terminal. */
#include <stddef.h>
#include <sys/types.h>
int pty_open(int *master, char *slave, size_t size);
int pty_attach_child(const char *slave);
int pty_relay(int master, pid_t child);
