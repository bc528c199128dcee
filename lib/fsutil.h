/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Open a file that root trusts: an absolute path whose every directory and
 * the file itself are owned by root, not group- or world-writable, and not
 * symlinks (CVE-2025-6020 class: no component a tenant could swap).
 * Returns an O_RDONLY|O_CLOEXEC fd or -errno; on -EPERM/-ELOOP/-ENOTDIR
 * the offending component is written to why. */
int open_trusted_file(const char *path, char *why, size_t why_size);
