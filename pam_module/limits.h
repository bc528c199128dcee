/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <security/pam_modules.h>

#include <pwd.h>
#include <stdbool.h>

/* Raise the caller's hard limits to what limits.conf and limits.d give pw,
 * before the join (see limits.c). Best effort: failures are left for a
 * later pam_limits to report. */
void limits_preraise(pam_handle_t *pamh, const struct passwd *pw);
