/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proto.h"

static const char *const step_names[STEP_COUNT] = {
	[STEP_NONE] = "none",       [STEP_HELPER] = "helper", [STEP_CALLER] = "caller",
	[STEP_USER] = "user",       [STEP_POLICY] = "policy", [STEP_STATE] = "state",
	[STEP_IDMAP] = "idmap",     [STEP_CLONE] = "clone",   [STEP_MOUNT] = "mount",
	[STEP_UTS] = "hostname",    [STEP_NET] = "net",       [STEP_CREDS] = "creds",
	[STEP_INIT] = "init",       [STEP_ATTACH] = "attach", [STEP_VERIFY] = "verify",
	[STEP_JOIN] = "join",
};

const char *nsiso_step_name(enum nsiso_step step)
{
	return (unsigned)step < STEP_COUNT && step_names[step] ? step_names[step] : "unknown";
}
