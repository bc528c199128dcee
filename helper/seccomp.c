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
 * quotas, open_by_handle_at and name_to_handle_at (file handles bypass the
 * mount view), io_uring (a large kernel surface behind many recent
 * escapes: docs/THREATS.md 45), personality() other than the values
 * Docker's default profile allows (ADDR_NO_RANDOMIZE and friends weaken
 * ASLR for the session's exploits), and the TIOCSTI/TIOCLINUX ioctls (input
 * injection into another session on the same tty: THREATS 9). ptrace stays,
 * so strace and gdb keep working on the user's own processes. */

static const char *const denied[] = {
	"keyctl",
	"add_key",
	"request_key",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"iopl",
	"ioperm",
	"swapon",
	"swapoff",
	"reboot",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"stime",
	"acct",
	"quotactl",
	"quotactl_fd",
	"open_by_handle_at",
	"name_to_handle_at",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"lookup_dcookie",
	"nfsservctl",
	"uselib",
	"vm86",
	"vm86old",
};

static void ctx_release(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

/* EPERM for personality(lo..hi), one rule per aligned block: libseccomp
 * allows one comparison per argument and no ALLOW rule under an ALLOW
 * default, so the complement of the allowed values is written as blocks
 * (a mask and a value each). */
static int deny_persona_range(scmp_filter_ctx ctx, uint64_t lo, uint64_t hi)
{
	while (lo <= hi) {
		uint64_t size = 1;
		while (size < (1ULL << 32) && lo % (size * 2) == 0 && lo + size * 2 - 1 <= hi)
			size *= 2;
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
					 SCMP_A0(SCMP_CMP_MASKED_EQ, ~(size - 1), lo));
		if (r < 0)
			return r;
		lo += size;
	}
	return 0;
}

/* personality(): only PER_LINUX, PER_LINUX32, UNAME26, both, and the query
 * 0xffffffff, as Docker's default profile allows. */
static int deny_personalities(scmp_filter_ctx ctx)
{
	static const uint64_t allowed[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
	for (size_t i = 0; i + 1 < ARRAY_SIZE(allowed); i++) {
		int r = deny_persona_range(ctx, allowed[i] + 1, allowed[i + 1] - 1);
		if (r < 0)
			return r;
	}
	/* The kernel reads a 32-bit value; anything wider is refused outright. */
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
				SCMP_A0(SCMP_CMP_GT, 0xffffffffULL));
}

int seccomp_build(int *out, struct nsiso_error *f)
{
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	*out = -EBADF;
	if (!ctx)
		return error_at(f, STEP_CREDS, -ENOMEM, "seccomp_init");
	/* The same rules for the 32-bit ABIs, which would otherwise be a way
	 * around them. */
	static const uint32_t arches[] = { SCMP_ARCH_X86, SCMP_ARCH_X32 };
	if (seccomp_arch_native() == SCMP_ARCH_X86_64)
		for (size_t i = 0; i < ARRAY_SIZE(arches); i++) {
			r = seccomp_arch_add(ctx, arches[i]);
			if (r < 0 && r != -EEXIST)
				return error_at(f, STEP_CREDS, r, "seccomp_arch_add");
		}
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not a syscall on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM)
			return error_at(f, STEP_CREDS, r, "seccomp rule for %s", denied[i]);
	}
	r = deny_personalities(ctx);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "seccomp rules for personality");
	static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));
		if (r < 0)
			return error_at(f, STEP_CREDS, r, "seccomp rule for ioctl %#lx", ioctls[i]);
	}
	_cleanup_close_ int fd = memfd_create("nsiso-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "seccomp_export_bpf");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "sealing the seccomp filter");
	*out = TAKE_FD(fd);
	return 0;
}
