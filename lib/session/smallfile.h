/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Small files, the one way (cgroup files, /proc files, state files): read
 * dir/name (no symlink followed; AT_FDCWD and an absolute name for a path)
 * into buf, NUL-terminated, until EOF or size - 1 bytes: a /proc file comes
 * in pieces of its own size. The count or -errno. The module and the host
 * side share it. */
ssize_t read_small_at(int dir, const char *name, char *buf, size_t size);

/* The one opener of nsiso's state directories (/run/nsiso, its net/ and
 * good/ and lease directories, /var/lib/nsiso): made root's 0700 when
 * create and missing, opened without following a symlink, refused (-EPERM)
 * unless a directory of root's with no group or other bits. An
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC fd or -errno. */
int open_state_dir(const char *path, bool create);
