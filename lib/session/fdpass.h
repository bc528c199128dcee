/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 16

/* One datagram of len bytes with nfds fds attached (SCM_RIGHTS). 0 or -errno. */
int fdpass_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/* Receive one message of exactly len bytes and up to max_fds fds, which
 * arrive O_CLOEXEC. A short, truncated or oversized message is -EBADMSG and
 * every fd that came with it is closed. Returns 0 or -errno. */
int fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max_fds, size_t *nfds);
