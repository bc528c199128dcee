/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kprobe: try the kernel interfaces a tenant would reach for, and print one
 * "name=result" line each (result "ok" or the errno's name):
 *   userns     unshare(CLONE_NEWUSER)
 *   userns_net unshare(CLONE_NEWUSER | CLONE_NEWNET)
 *   io_uring   io_uring_setup(1, ...)
 *   norandom   personality(ADDR_NO_RANDOMIZE)
 *   query      personality(0xffffffff)
 *   linux32    personality(PER_LINUX32), then back to PER_LINUX
 *   norandom_i386, query_i386, linux32_i386   the same through int $0x80
 *              (the i386 ABI, AUDIT_ARCH_I386 to seccomp)
 *   norandom_x32, query_x32   the same as x32 system calls (nr | 0x40000000;
 *              ENOSYS where the kernel has no x32, as Debian's by default)
 *   handle     name_to_handle_at(".")
 * Each runs in a child of its own, so one success changes nothing for the
 * next.
 * kprobe personas: for each ABI (x86_64, i386, x32), which of a fixed list
 *   of personality() values the kernel lets through, each tried in a child:
 *   "personas_ABI=V,V,..." (hex): every value whose call did not end in
 *   EPERM (x32: ENOSYS on a kernel without x32 is listed; a child that died
 *   is listed too, as "V!", so only a clean EPERM counts as refused and a
 *   kernel without the i386 entry, where int $0x80 faults, says so).
 * kprobe inotify SECONDS: open inotify instances until the kernel refuses,
 * print "inotify=COUNT error=NAME", hold them for SECONDS.
 * kprobe owner NSFILE: "owner=UID" of a user namespace (NS_GET_OWNER_UID).
 * kprobe hold SOCKET N SECONDS: open up to N connections to a SOCK_SEQPACKET
 *   unix socket (non-blocking: stops when the backlog is full), print
 *   "held=K", keep them for SECONDS.
 * kprobe flap FILE SECONDS: create FILE (a one-line policy drop-in) and
 *   remove it again, as fast as possible, for SECONDS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int t_userns(void)
{
	return unshare(CLONE_NEWUSER);
}
static int t_userns_net(void)
{
	return unshare(CLONE_NEWUSER | CLONE_NEWNET);
}
static int t_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	return (int)syscall(SYS_io_uring_setup, 1, &p) < 0 ? -1 : 0;
}
static int t_norandom(void)
{
	return personality(ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
}
static int t_query(void)
{
	return personality(0xffffffff) < 0 ? -1 : 0;
}
static int t_linux32(void)
{
	return personality(PER_LINUX32) < 0 || personality(PER_LINUX) < 0 ? -1 : 0;
}
#if defined(__x86_64__)
/* (int $0x80 from 64-bit code takes the kernel's i386 entry: the upper
 * halves of the registers are not seen, r8-r11 are cleared) */
static long int80_1(long nr, long a)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}
static long x32_1(long nr, long a)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr | 0x40000000L), "D"(a) : "memory", "rcx", "r11");
	return ret;
}
#define NR_PERSONALITY_I386 136
static int raw_result(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}
static int t_norandom_i386(void)
{
	return raw_result(int80_1(NR_PERSONALITY_I386, ADDR_NO_RANDOMIZE));
}
static int t_query_i386(void)
{
	return raw_result(int80_1(NR_PERSONALITY_I386, 0xffffffff));
}
static int t_linux32_i386(void)
{
	return raw_result(int80_1(NR_PERSONALITY_I386, PER_LINUX32)) < 0
		   ? -1
		   : raw_result(int80_1(NR_PERSONALITY_I386, PER_LINUX));
}
static int t_norandom_x32(void)
{
	return raw_result(x32_1(SYS_personality, ADDR_NO_RANDOMIZE));
}
static int t_query_x32(void)
{
	return raw_result(x32_1(SYS_personality, 0xffffffff));
}
#endif
static int t_handle(void)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id;
	if (!h)
		return -1;
	h->handle_bytes = MAX_HANDLE_SZ;
	return name_to_handle_at(AT_FDCWD, ".", h, &mount_id, 0);
}

static const struct {
	const char *name;
	int (*fn)(void);
} probes[] = {
	{ "userns", t_userns },
	{ "userns_net", t_userns_net },
	{ "io_uring", t_io_uring },
	{ "norandom", t_norandom },
	{ "query", t_query },
	{ "linux32", t_linux32 },
	{ "handle", t_handle },
#if defined(__x86_64__)
	{ "norandom_i386", t_norandom_i386 },
	{ "query_i386", t_query_i386 },
	{ "linux32_i386", t_linux32_i386 },
	{ "norandom_x32", t_norandom_x32 },
	{ "query_x32", t_query_x32 },
#endif
};

#if defined(__x86_64__)
static int personas(void)
{
	static const unsigned long vals[] = { 0x0,	  0x8,	      0x20000,	   0x20008,    0xffffffff, 0x1,
					      0x7,	  0x9,	      0x1ffff,	   0x20001,    0x20009,	   0x40000,
					      0x80000000, 0xfffffffe, 0x100000000, 0x100000008 };
	static const char *const abi[] = { "x86_64", "i386", "x32" };
	for (int a = 0; a < 3; a++) {
		printf("personas_%s=", abi[a]);
		const char *sep = "";
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			int p[2];
			if (pipe(p) < 0)
				return 1;
			pid_t pid = fork();
			if (pid == 0) {
				long r;
				if (a == 0)
					r = syscall(SYS_personality, vals[i]) < 0 ? -errno : 0;
				else if (a == 1)
					r = int80_1(NR_PERSONALITY_I386, (long)vals[i]);
				else
					r = x32_1(SYS_personality, (long)vals[i]);
				(void)!write(p[1], &r, sizeof(r));
				_exit(0);
			}
			/* (a child that died says nothing: not counted as refused) */
			long r = LONG_MIN;
			(void)close(p[1]);
			(void)!read(p[0], &r, sizeof(r));
			(void)close(p[0]);
			(void)waitpid(pid, NULL, 0);
			if (r != -EPERM) {
				printf("%s%lx%s", sep, vals[i], r == LONG_MIN ? "!" : "");
				sep = ",";
			}
		}
		printf("\n");
	}
	return 0;
}
#endif

static int hold_inotify(int seconds)
{
	int n = 0;
	while (n < 100000 && inotify_init1(IN_CLOEXEC) >= 0)
		n++;
	printf("inotify=%d error=%s\n", n, strerrorname_np(errno));
	fflush(stdout);
	sleep((unsigned)seconds);
	return 0;
}

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	if (argc == 2 && strcmp(argv[1], "personas") == 0)
		return personas();
#endif
	if (argc == 3 && strcmp(argv[1], "inotify") == 0)
		return hold_inotify(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "hold") == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
		int n = atoi(argv[3]), k = 0;
		for (; k < n; k++) {
			int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				break;
		}
		printf("held=%d\n", k);
		fflush(stdout);
		sleep((unsigned)atoi(argv[4]));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "flap") == 0) {
		time_t end = time(NULL) + atoi(argv[3]);
		while (time(NULL) < end) {
			int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd >= 0) {
				(void)!write(fd, "[default]\n", 10);
				(void)close(fd);
			}
			(void)unlink(argv[2]);
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "owner") == 0) {
		uid_t uid;
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, NS_GET_OWNER_UID, &uid) < 0) {
			printf("owner=%s\n", strerrorname_np(errno));
			return 1;
		}
		printf("owner=%u\n", (unsigned)uid);
		return 0;
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			int e = probes[i].fn() < 0 ? errno : 0;
			(void)!write(p[1], &e, sizeof(e));
			_exit(0);
		}
		int e = -1;
		(void)close(p[1]);
		(void)!read(p[0], &e, sizeof(e));
		(void)close(p[0]);
		(void)waitpid(pid, NULL, 0);
		printf("%s=%s\n", probes[i].name, e == 0 ? "ok" : e < 0 ? "died" : strerrorname_np(e));
	}
	return 0;
}
