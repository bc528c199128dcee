/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Building the uid_map/gid_map of a container: pure code, no syscalls.
 *
 * keep-id: each id the user holds maps to itself; the rest of 0..65535,
 * container root first, maps in order onto the user's subordinate range
 * when there is one, and stays unmapped when there is none. Host id 0 is
 * never mapped. */

#define IDMAP_LINES_MAX 340 /* the kernel's limit since 4.15 */
#define IDMAP_SPAN 65536u   /* container ids 0..65535 get the subordinate range */

struct id_range {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

struct idmap {
	size_t n;
	struct id_range r[IDMAP_LINES_MAX];
};

/* Returns 0, -EPERM if any id to keep is 0 or the subordinate range would
 * include host 0, -EINVAL for a subordinate range that overlaps a kept id or
 * wraps, -E2BIG when the map needs more lines than the kernel takes. */
int idmap_build(struct idmap *m, const uint32_t *keep, size_t n_keep, uint32_t sub_start, uint32_t sub_count);

/* Text for /proc/<pid>/uid_map: "inside outside count\n" a line. Returns the
 * length, or -ENOSPC. */
int idmap_format(const struct idmap *m, char *buf, size_t size);

/* The inside id that outside maps to, or -1. */
int64_t idmap_to_inside(const struct idmap *m, uint32_t outside);

/* Nested id maps (nested_userns = yes): the container ids a tenant may map
 * into a user namespace of its own, those that map onto the tenant's
 * subordinate range [sub_start, sub_start + sub_count) on the host, never
 * container root (id 0, the owner of nothing the tenant may become). The
 * ranges (inside = container id, count) in out, at most max; the number. */
size_t idmap_nested(const struct idmap *m, uint32_t sub_start, uint32_t sub_count, struct id_range *out, size_t max);

/* May a nested map give [lower, lower + count) of the container's ids? Yes
 * when it is the tenant's own id alone (own, count 1) or lies within the
 * ranges idmap_nested() gave. */
bool idmap_nested_permits(const struct id_range *r, size_t n, uint32_t own, uint32_t lower, uint32_t count);

/* Find the subordinate range of a user in the text of /etc/subuid or
 * /etc/subgid ("name-or-uid:start:count" lines; the first match wins).
 * Returns 1 found, 0 none, -EINVAL for a malformed matching line, -EEXIST
 * when the user's range overlaps another line's range. */
int subid_find(const char *text, const char *name, uint32_t id, uint32_t *start, uint32_t *count);

/* Does [start, start + count) meet a range of any line of that text? */
bool subid_overlaps(const char *text, uint64_t start, uint64_t count);
