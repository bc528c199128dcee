/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Small files, the one way (cgroup files, /proc files, state files): read
 * dir/name (no symlink followed; AT_FDCWD and an absolute name for a path)
 * into buf, NUL-terminated, until EOF or size - 1 bytes: a /proc file comes
 * in pieces of its own size. The count or -errno. The module and the host
 * side share it. */
ssize_t read_small_at(int dir, const char *name, char *buf, size_t size);
