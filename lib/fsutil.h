/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Open a file that root trusts: an absolute path whose every directory and
 * the file itself are owned by root, not group- or world-writable, and not
 * symlinks (CVE-2025-6020 class: no component a tenant could swap).
 * Returns an O_RDONLY|O_CLOEXEC fd or -errno; for a refusal the offending
 * component is named in why. */
int open_trusted_file(const char *path, char *why, size_t why_size);

/* The same for a directory: an O_RDONLY|O_DIRECTORY|O_CLOEXEC fd. */
int open_trusted_dir(const char *path, char *why, size_t why_size);

/* A regular file name in a trusted directory, under the same rules. */
int open_trusted_at(int dir, const char *name, char *why, size_t why_size);
