/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "smallfile.h"

/* The one path walker. PATH is absolute and is walked from / one component
 * at a time with O_NOFOLLOW: a symlink anywhere along it is -ELOOP, and
 * ".", ".." and empty components are refused (-EINVAL). With WALK_ROOT_ONLY
 * every directory on the way must be root's and not group- or
 * world-writable. Returns an O_PATH fd of the last component's directory,
 * *last pointing at that component's name inside buf. why says what failed. */
#define WALK_ROOT_ONLY 1u
int walk_parent(const char *path, unsigned flags, char *buf, size_t buf_size, const char **last, struct nsiso_error *e);

/* Small files: read_small_at() (lib/session/smallfile.h); write all of buf
 * to fd, or to dir/name opened with O_WRONLY|O_NOFOLLOW|flags (O_CREAT: with
 * mode), 0 or -errno. */
/* A whole file, the one way (policy files, /etc/subuid, the registry):
 * read fd from its start (pread: whatever its offset) until EOF into a
 * malloc()ed, NUL-terminated buffer; -EFBIG past
 * max bytes (never a cut file), 0 or -errno. len may be NULL. */
int read_whole_fd(int fd, size_t max, char **out, size_t *len);
int write_all_fd(int fd, const void *buf, size_t len);
int write_file_at(int dir, const char *name, const void *buf, size_t len, int flags, mode_t mode);

/* Open a file that root trusts: an absolute path whose every directory and
 * the file itself are owned by root, not group- or world-writable, and not
 * symlinks (CVE-2025-6020 class: no component a tenant could swap).
 * Returns an O_RDONLY|O_CLOEXEC fd or -errno; for a refusal the offending
 * component is named in why. */
int open_trusted_file(const char *path, struct nsiso_error *e);

/* The same for a directory: an O_RDONLY|O_DIRECTORY|O_CLOEXEC fd. */
int open_trusted_dir(const char *path, struct nsiso_error *e);

/* A regular file name in a trusted directory, under the same rules. */
int open_trusted_at(int dir, const char *name, struct nsiso_error *e);
