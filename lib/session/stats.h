/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Counters since boot in NSISO_RUNDIR/stats (root's, 0600, on the tmpfs):
 * one "NAME VALUE" line per counter, NAME made of printable ASCII without
 * spaces. The module counts each decision (logins, refusals), the
 * supervisor the kernel's OOM kills; `nsiso metrics` turns them into
 * node_exporter's text format. Best effort: a writer waits at most
 * STATS_LOCK_MS for the lock and a login never fails because of them. */

#define STATS_NAME_MAX 96
#define STATS_MAX 256 /* distinct counters; past it, new ones are not kept (stats_dropped) */
#define STATS_LOCK_MS 500

struct stats_entry {
	char name[STATS_NAME_MAX];
	uint64_t value;
};

/* The buckets of the container creation latency histogram, in ms (upper
 * bounds, as Prometheus' le; +Inf is implied). */
#define STATS_CREATE_BUCKETS 10
extern const unsigned stats_create_bucket_ms[STATS_CREATE_BUCKETS];

/* NSISO_RUNDIR/stats, made if missing, opened and checked (root's, a
 * regular file, one link, 0600): an fd or -errno. The module opens it
 * before it joins a container: after a whole join it is the container's
 * root and could not open the file any more, and the container's /run is
 * not the host's. */
int stats_file_open(void);

/* Add delta[i] to the counter name[i], for i < n, under one lock, in the
 * file (an fd of stats_file_open(), or -1 to open it here). 0 or -errno
 * (nothing is changed then). */
int stats_add(int file, const char *const *name, const uint64_t *delta, size_t n);

/* The counters, at most max of them, in the file's order. The count or
 * -errno (-ENOENT: nothing counted since boot). */
int stats_read(struct stats_entry *out, size_t max);

/* A label value for a counter's name: the printable ASCII of s without
 * spaces, '|' and quotes ('_' for others), at most 32 bytes, "-" if empty. */
void stats_label(char *dst, size_t size, const char *s);

/* The counters of one session's decision. what: "login" (and created with
 * the creation's duration in microseconds, when this login made the
 * container), "refused", "unisolated" (on_error = allow) or "exempt". */
void stats_decision(int file, const char *what, const char *service, const char *detail, int created,
		    uint64_t create_us);
