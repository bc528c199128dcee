/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A PAM module for the tests (THREATS 62): in the auth stack as
 * "sufficient" before pam_nsiso, its setcred succeeds only in sshd's
 * session child (which calls it after setgid() to the user's group) and
 * is ignored in the monitor (gid 0). So the monitor splits the join, and
 * the child's setcred ends before pam_nsiso's inner half: the child would
 * run as the user outside the container's user namespace. */
#include <unistd.h>

#define PAM_SM_AUTH
#include <security/pam_modules.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return getgid() != 0 ? PAM_SUCCESS : PAM_IGNORE;
}
