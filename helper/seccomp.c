/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helper.h"
#include "util.h"

/* The default seccomp filter of a session (seccomp = default), built once
 * per container with libseccomp (which gets the per-architecture numbers
 * and the 32-bit ABIs right, better than hand-written BPF) and handed to
 * the module as a sealed memfd of raw BPF: the module only installs it.
 *
 * EPERM for what no login session needs and what the usual escapes use:
 * kernel keyrings (not namespaced: THREATS 17), kexec, module loading, bpf,
 * perf, userfaultfd, port I/O, swap, reboot, the clocks, accounting,
 * quotas, open_by_handle_at, and the TIOCSTI/TIOCLINUX ioctls (input
 * injection into another session on the same tty: THREATS 9). ptrace stays,
 * so strace and gdb keep working on the user's own processes. */

static const char *const denied[] = {
	"keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "bpf", "perf_event_open", "userfaultfd", "iopl", "ioperm", "swapon", "swapoff",
	"reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime", "acct", "quotactl",
	"quotactl_fd", "open_by_handle_at", "lookup_dcookie", "nfsservctl", "uselib", "vm86", "vm86old",
};

static void ctx_release(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

int seccomp_build(int *out, struct failure *f)
{
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	*out = -EBADF;
	if (!ctx)
		return fail(f, STEP_CREDS, -ENOMEM, "seccomp_init");
	/* The same rules for the 32-bit ABIs, which would otherwise be a way
	 * around them. */
	static const uint32_t arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
	if (seccomp_arch_native() == SCMP_ARCH_X86_64)
		for (size_t i = 0; i < ARRAY_SIZE(arches); i++) {
			r = seccomp_arch_add(ctx, arches[i]);
			if (r < 0 && r != -EEXIST)
				return fail(f, STEP_CREDS, r, "seccomp_arch_add");
		}
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM)
			return fail(f, STEP_CREDS, r, "seccomp rule for %s", denied[i]);
	}
	static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));
		if (r < 0)
			return fail(f, STEP_CREDS, r, "seccomp rule for ioctl %#lx", ioctls[i]);
	}
	_cleanup_close_ int fd = memfd_create("nsiso-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail(f, STEP_CREDS, neg_errno(), "memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return fail(f, STEP_CREDS, r, "seccomp_export_bpf");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return fail(f, STEP_CREDS, neg_errno(), "sealing the seccomp filter");
	*out = TAKE_FD(fd);
	return 0;
}
