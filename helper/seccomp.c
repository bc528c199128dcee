/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
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

#if defined(__x86_64__)
/* personality(): only PER_LINUX, PER_LINUX32, UNAME26, both, and the query
 * 0xffffffff, as Docker's default profile allows. libseccomp takes one
 * comparison per argument and no ALLOW rule under an ALLOW default, so as
 * its rules the complement had to be written as aligned blocks: 429 of the
 * filter's 539 instructions. The kernel compiles the whole filter at every
 * session's prctl() (0.25 ms for 539, the largest part of a warm login:
 * docs/PERFORMANCE.md), so this one check is a short hand-written prefix
 * instead, run before libseccomp's program: personality() of x86_64, of
 * x32 (the same audit arch, nr with the x32 bit) and of i386 goes on to
 * that program (which allows it) only with an allowed value, else EPERM;
 * every other call goes on unchanged. The kernel reads the argument as an
 * unsigned int: on the 64-bit ABIs a nonzero upper half is refused outright
 * (as libseccomp's rules did); on i386 only the lower half is compared, as
 * libseccomp does for 32-bit ABIs (a 64-bit caller's int $0x80 may set the
 * upper half of the register, which that entry never reads). Each path is
 * checked by sshd-kernel (kprobe personas: int $0x80 and x32 calls). */
#define X32_SYSCALL_BIT 0x40000000u
#define NR_PERSONALITY_X86_64 135u
#define NR_PERSONALITY_I386 136u
#define ARG0_LO offsetof(struct seccomp_data, args[0])
#define ARG0_HI (offsetof(struct seccomp_data, args[0]) + 4) /* little-endian */
enum {
	P_ARCH,
	P_IS64,
	P_NR64,
	P_PERS64,
	P_PERSX32,
	P_IS32,
	P_NR32,
	P_PERS32,
	P_HI,
	P_HI0,
	P_LO,
	P_V0,
	P_V8,
	P_V26,
	P_V26_8,
	P_VQUERY,
	P_DENY,
	P_LEN /* = where libseccomp's program starts */
};
#define TO(from, to) ((to) - (from)-1)
static const struct sock_filter personality_prefix[P_LEN] = {
	[P_ARCH] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	[P_IS64] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, TO(P_IS64, P_IS32)),
	[P_NR64] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	[P_PERS64] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_PERSONALITY_X86_64, TO(P_PERS64, P_HI), 0),
	[P_PERSX32] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, X32_SYSCALL_BIT | NR_PERSONALITY_X86_64, TO(P_PERSX32, P_HI),
			       TO(P_PERSX32, P_LEN)),
	[P_IS32] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, TO(P_IS32, P_LEN)),
	[P_NR32] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	[P_PERS32] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_PERSONALITY_I386, TO(P_PERS32, P_LO), TO(P_PERS32, P_LEN)),
	[P_HI] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_HI),
	[P_HI0] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, TO(P_HI0, P_DENY)),
	[P_LO] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
	[P_V0] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0, TO(P_V0, P_LEN), 0),
	[P_V8] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8, TO(P_V8, P_LEN), 0),
	[P_V26] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20000, TO(P_V26, P_LEN), 0),
	[P_V26_8] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x20008, TO(P_V26_8, P_LEN), 0),
	[P_VQUERY] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, TO(P_VQUERY, P_LEN), 0),
	[P_DENY] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
};
#else
/* Elsewhere the allowlist is libseccomp rules, as the complement in
 * aligned blocks (the prefix above knows x86's ABIs only). */
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
#endif

static int seccomp_compile(int *out, struct nsiso_error *f)
{
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	*out = -EBADF;
	if (!ctx)
		return error_at(f, STEP_CREDS, -ENOMEM, "seccomp_init");
	/* A binary tree of the syscall numbers instead of a list: the kernel
	 * runs the filter for every syscall number of each ABI when it loads
	 * it (the action cache, 5.11+), so every session's load walked the
	 * whole list hundreds of times; 0.13-0.19 ms to 0.09 ms a session
	 * (docs/PERFORMANCE.md, tenth session). The same rules either way: a
	 * libseccomp that cannot build the tree (-EINVAL) builds the list. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
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
#if !defined(__x86_64__)
	r = deny_personalities(ctx);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "seccomp rules for personality");
#endif
	static const unsigned long ioctls[] = { TIOCSTI, TIOCLINUX };
	for (size_t i = 0; i < ARRAY_SIZE(ioctls); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i]));
		if (r < 0)
			return error_at(f, STEP_CREDS, r, "seccomp rule for ioctl %#lx", ioctls[i]);
	}
	/* (x86_64: the prefix first, then libseccomp's program) */
	_cleanup_close_ int fd = memfd_create("nsiso-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "memfd_create");
#if defined(__x86_64__)
	r = write_all_fd(fd, personality_prefix, sizeof(personality_prefix));
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "writing the seccomp filter");
#endif
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "seccomp_export_bpf");
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "sealing the seccomp filter");
	*out = TAKE_FD(fd);
	return 0;
}

/* The filter is the same for every container of one helper build, and
 * compiling it costs libseccomp about 2 ms, a fifth of a cold login
 * (docs/PERFORMANCE.md). So the first supervisor keeps the compiled BPF in
 * NSISO_RUNDIR/seccomp.bpf (root-only directory, 0600, written whole and
 * renamed), keyed by the helper binary (device, inode, size, mtime: a new
 * build or package is a new key) and libseccomp's version; later ones copy
 * it into their sealed memfd. The rundir is tmpfs: forgotten at boot. */
#define CACHE_NAME "seccomp.bpf"
#define CACHE_MAX_INSNS 4096 /* BPF_MAXINSNS */

static char bpf[CACHE_MAX_INSNS * 8]; /* scratch of cache_load/cache_save */

struct cache_key {
	char magic[8];
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns;
	uint32_t scmp[3];
	uint32_t bytes; /* of BPF that follow */
};

static int cache_key_of(struct cache_key *k)
{
	struct stat st;
	if (stat("/proc/self/exe", &st) < 0)
		return neg_errno();
	memset(k, 0, sizeof(*k));
	memcpy(k->magic, "NSISOBPF", 8);
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->size = (uint64_t)st.st_size;
	k->mtime_s = st.st_mtim.tv_sec;
	k->mtime_ns = st.st_mtim.tv_nsec;
	const struct scmp_version *v = seccomp_version();
	if (v) {
		k->scmp[0] = v->major;
		k->scmp[1] = v->minor;
		k->scmp[2] = v->micro;
	}
	return 0;
}

/* A sealed memfd of the cached filter, or -errno (a miss). */
static int cache_load(int rundir, const struct cache_key *want)
{
	_cleanup_close_ int fd = openat(rundir, CACHE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	struct cache_key k;
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, &st) < 0)
		return neg_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) || st.st_size < (off_t)sizeof(k) ||
	    st.st_size > (off_t)(sizeof(k) + sizeof(bpf)))
		return -EBADMSG;
	if (pread(fd, &k, sizeof(k), 0) != (ssize_t)sizeof(k))
		return -EBADMSG;
	if (memcmp(&k, want, offsetof(struct cache_key, bytes)) != 0)
		return -ESTALE;
	if (k.bytes == 0 || k.bytes % 8 || k.bytes > sizeof(bpf) || (off_t)(sizeof(k) + k.bytes) != st.st_size ||
	    pread(fd, bpf, k.bytes, sizeof(k)) != (ssize_t)k.bytes)
		return -EBADMSG;
	_cleanup_close_ int mfd = memfd_create("nsiso-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return neg_errno();
	int r = write_all_fd(mfd, bpf, k.bytes);
	if (r < 0)
		return r;
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return neg_errno();
	return TAKE_FD(mfd);
}

/* Best effort: a failure only means the next container compiles again. */
static void cache_save(int rundir, struct cache_key *k, int bpf_fd)
{
	ssize_t n = pread(bpf_fd, bpf, sizeof(bpf), 0);
	if (n <= 0 || n % 8 || n == (ssize_t)sizeof(bpf))
		return;
	k->bytes = (uint32_t)n;
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%s.%d", CACHE_NAME, (int)getpid());
	_cleanup_close_ int fd = openat(rundir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write_all_fd(fd, k, sizeof(*k)) < 0 || write_all_fd(fd, bpf, (size_t)n) < 0 ||
	    renameat(rundir, tmp, rundir, CACHE_NAME) < 0)
		(void)unlinkat(rundir, tmp, 0);
}

int seccomp_build(int rundir, int *out, struct nsiso_error *f)
{
	struct cache_key k;
	bool keyed = cache_key_of(&k) == 0;
	*out = -EBADF;
	int r = keyed ? cache_load(rundir, &k) : -ENOENT;
	if (r >= 0) {
		*out = r;
		r = 0;
	} else {
		r = seccomp_compile(out, f);
		if (r == 0 && keyed)
			cache_save(rundir, &k, *out);
	}
	forget_pages(bpf, sizeof(bpf));
	return r;
}
