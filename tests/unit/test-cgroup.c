/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup writer: what it finds in mountinfo, what it writes for v1 and
 * v2 (into a plain directory standing in for a group: the files a kernel
 * would offer are created empty first), and, as root, a real group made,
 * entered and removed in every hierarchy this machine has. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "join.h"
#include "tap.h"

static const char hybrid[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /mnt/memory-again rw,relatime - cgroup cgroup rw,memory\n"
    "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "38 30 0:35 /sub /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char pure_v2[] = "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
			      "rw,nsdelegate,memory_recursiveprot\n";

static char dir_template[] = "/tmp/nsiso-cgtest-XXXXXX";

static int make_files(int dir, const char *const *names)
{
	for (int i = 0; names[i]; i++) {
		int fd = openat(dir, names[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

static char *slurp(int dir, const char *name)
{
	static char buf[256];
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void test_parse(void)
{
	struct cg_layout l;
	cg_parse_mountinfo(hybrid, &l);
	TAP_EQ_INT(l.n, 5,
		   "hybrid: cpu,cpuacct, cpuset, memory, blkio and unified (pids mounted below its root is skipped)");
	TAP_EQ_STR(l.h[0].path, "/sys/fs/cgroup/cpu,cpuacct", "first: cpu,cpuacct");
	TAP_EQ_INT(l.h[0].ctrls, CG_CPU, "cpu,cpuacct gives cpu");
	TAP_EQ_INT(l.h[1].ctrls, CG_CPUSET, "cpuset (cpus = N)");
	TAP_EQ_STR(l.h[2].path, "/sys/fs/cgroup/memory", "memory once, at its first mount");
	TAP_EQ_INT(l.h[2].ctrls, CG_MEMORY, "memory");
	TAP_EQ_INT(l.h[3].ctrls, CG_IO, "blkio gives io");
	TAP_OK(l.h[4].v2 && strcmp(l.h[4].path, "/sys/fs/cgroup/unified") == 0, "the unified v2 hierarchy");
	cg_parse_mountinfo(pure_v2, &l);
	TAP_OK(l.n == 1 && l.h[0].v2 && strcmp(l.h[0].path, "/sys/fs/cgroup") == 0, "pure v2: one hierarchy");
	cg_parse_mountinfo("garbage\n\n1 2 3\n", &l);
	TAP_EQ_INT(l.n, 0, "garbage gives nothing");
	/* A host with thousands of mounts: the cgroup ones still count. */
	static char big[400000];
	size_t used = 0;
	for (int i = 0; i < 3000; i++)
		used += (size_t)snprintf(big + used, sizeof(big) - used,
					 "%d 22 0:%d / /var/lib/x/%d rw,relatime - overlay overlay rw,lowerdir=/a:/b\n",
					 100 + i, 100 + i, i);
	snprintf(big + used, sizeof(big) - used, "%s", hybrid);
	cg_parse_mountinfo(big, &l);
	TAP_OK(used > 65536 && l.n == 5 && l.h[4].v2, "3000 other mounts first (%zu bytes): the 5 hierarchies found",
	       used);
}

static void test_writer(void)
{
	static const char *const v2_files[] = { "memory.max", "memory.high", "pids.max", "cpu.weight",
						"cpu.max",    "io.weight",   NULL };
	static const char *const v1_files[] = {
		"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "pids.max", "cpu.shares",
		"cpu.cfs_period_us",	 "cpu.cfs_quota_us",	       NULL
	};
	struct nsiso_error why = { 0 };
	char *base = mkdtemp(dir_template);
	TAP_OK(base != NULL, "temporary directory");
	if (!base)
		return;
	int dir = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct cg_limits lim;
	cg_limits_none(&lim);
	lim.memory_max = 512ull << 20;
	lim.pids_max = 64;
	lim.cpu_weight = 50;
	lim.cpu_quota = 50000;
	lim.io_weight = 300;

	TAP_EQ_INT(make_files(dir, v2_files), 0, "v2 files");
	TAP_EQ_INT(cg_write_limits(dir, true, CG_MEMORY | CG_PIDS | CG_CPU | CG_IO, &lim, &why), 0,
		   "v2 limits written: %s", why.detail);
	TAP_EQ_STR(slurp(dir, "memory.max"), "536870912", "v2 memory.max");
	TAP_EQ_STR(slurp(dir, "memory.high"), "max", "v2 memory.high max");
	TAP_EQ_STR(slurp(dir, "pids.max"), "64", "v2 pids.max");
	TAP_EQ_STR(slurp(dir, "cpu.weight"), "50", "v2 cpu.weight");
	TAP_EQ_STR(slurp(dir, "cpu.max"), "50000 100000", "v2 cpu.max");
	TAP_EQ_STR(slurp(dir, "io.weight"), "default 300", "v2 io.weight");

	/* Only the controllers asked for are touched. */
	TAP_EQ_INT(make_files(dir, v2_files), 0, "v2 files emptied");
	TAP_EQ_INT(cg_write_limits(dir, true, CG_PIDS, &lim, &why), 0, "v2 pids only");
	TAP_EQ_STR(slurp(dir, "memory.max"), "", "memory.max untouched");

	/* No weight file: io_weight cannot be honoured, and says so. */
	unlinkat(dir, "io.weight", 0);
	TAP_EQ_INT(cg_write_limits(dir, true, CG_IO, &lim, &why), -EOPNOTSUPP, "v2 io_weight without io.weight");
	TAP_OK(strstr(why.detail, "io_weight: this host's block layer offers no weight") != NULL, "says why: %s",
	       why.detail);

	TAP_EQ_INT(make_files(dir, v1_files), 0, "v1 files");
	lim.memory_high = 256ull << 20;
	lim.cpu_quota = CG_UNLIMITED;
	TAP_EQ_INT(cg_write_limits(dir, false, CG_MEMORY | CG_PIDS | CG_CPU, &lim, &why), 0, "v1 limits written: %s",
		   why.detail);
	TAP_EQ_STR(slurp(dir, "memory.limit_in_bytes"), "536870912", "v1 memory.limit_in_bytes");
	TAP_EQ_STR(slurp(dir, "memory.soft_limit_in_bytes"), "268435456", "v1 soft limit from memory_high");
	TAP_EQ_STR(slurp(dir, "pids.max"), "64", "v1 pids.max");
	TAP_EQ_STR(slurp(dir, "cpu.shares"), "512", "v1 cpu.shares: weight 50 is 512");
	TAP_EQ_STR(slurp(dir, "cpu.cfs_period_us"), "100000", "v1 period");
	TAP_EQ_STR(slurp(dir, "cpu.cfs_quota_us"), "-1", "v1 quota unlimited is -1");
	TAP_EQ_INT(make_files(dir, (const char *const[]){ "blkio.weight", NULL }), 0, "v1 blkio.weight");
	lim.io_weight = 5000;
	TAP_EQ_INT(cg_write_limits(dir, false, CG_IO, &lim, &why), 0, "v1 io weight");
	TAP_EQ_STR(slurp(dir, "blkio.weight"), "500", "v1 blkio.weight is io_weight / 10");

	/* A symlink in place of a file is not followed. */
	unlinkat(dir, "pids.max", 0);
	TAP_EQ_INT(symlinkat("/tmp/elsewhere", dir, "pids.max"), 0, "a symlink in place of pids.max");
	TAP_EQ_INT(cg_write_limits(dir, false, CG_PIDS, &lim, &why), -ELOOP, "a symlinked pids.max refused");

	for (const char *const *f = v2_files; *f; f++)
		unlinkat(dir, *f, 0);
	for (const char *const *f = v1_files; *f; f++)
		unlinkat(dir, *f, 0);
	unlinkat(dir, "blkio.weight", 0);
	unlinkat(dir, "pids.max", 0);
	close(dir);
	TAP_EQ_INT(rmdir(base), 0, "temporary directory removed");
}

/* The real thing: a group in every hierarchy of this machine, a process
 * entering it through the fds, removal. */
static void test_kernel(void)
{
	if (geteuid() != 0) {
		if (getenv("NSISO_MUST_WORK") && strcmp(getenv("NSISO_MUST_WORK"), "1") == 0)
			TAP_OK(0, "kernel test needs root (NSISO_MUST_WORK=1)");
		else
			printf("# not root: kernel cgroup test skipped\n");
		return;
	}
	struct cg_layout l;
	TAP_EQ_INT(cg_discover(&l), 0, "discover");
	TAP_OK(l.n >= 1, "at least one hierarchy (%zu)", l.n);
	/* The same with a mountinfo of well over 64 KiB: 1500 more mounts, in a
	 * child's own mount namespace (they go with it). */
	int big[2];
	if (pipe(big) == 0) {
		pid_t c = fork();
		if (c == 0) {
			struct cg_layout l2;
			size_t n = 0;
			if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
			    mount("nsiso-cgtest", "/mnt", "tmpfs", 0, NULL) == 0) {
				for (int i = 0; i < 1500; i++) {
					char d[64];
					snprintf(d, sizeof(d), "/mnt/m%d", i);
					if (mkdir(d, 0700) < 0 || mount("nsiso-cgtest", d, "tmpfs", 0, NULL) < 0)
						break;
				}
				/* (procfs reports no size: count the bytes) */
				char chunk[8192];
				size_t bytes = 0;
				ssize_t k;
				int mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
				while (mi >= 0 && (k = read(mi, chunk, sizeof(chunk))) > 0)
					bytes += (size_t)k;
				if (mi >= 0)
					close(mi);
				n = bytes > 65536 && cg_discover(&l2) == 0 ? l2.n : 0;
			}
			(void)!write(big[1], &n, sizeof(n));
			_exit(0);
		}
		size_t n2 = 0;
		(void)!read(big[0], &n2, sizeof(n2));
		waitpid(c, NULL, 0);
		close(big[0]);
		close(big[1]);
		TAP_EQ_INT(n2, l.n, "with 1500 more mounts (mountinfo > 64 KiB) the same hierarchies are found");
	}
	char name[32];
	struct nsiso_error why = { 0 };
	snprintf(name, sizeof(name), "cgtest-%d", (int)getpid());
	struct cg_limits lim;
	cg_limits_none(&lim);
	lim.pids_max = 7;
	struct cg_group g;
	int r = cg_create(&l, name, &lim, &g, &why);
	TAP_EQ_INT(r, 0, "created: %s", why.detail);
	if (r < 0)
		return;
	/* v1: the tasks file ("0" moves the one thread without the kernel's
	 * global lock); v2: cgroup.procs */
	for (size_t i = 0; i < g.n; i++) {
		char link[64], at[PATH_MAX] = "";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", g.g[i].procs);
		ssize_t len = readlink(link, at, sizeof(at) - 1);
		at[len < 0 ? 0 : len] = '\0';
		const char *base = strrchr(at, '/');
		TAP_EQ_STR(base ? base + 1 : at, g.g[i].v2 ? "cgroup.procs" : "tasks", "the enter fd of %s", at);
	}
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int procs[CG_HIER_MAX];
		for (size_t i = 0; i < g.n; i++)
			procs[i] = g.g[i].procs;
		char c;
		int e = cg_enter(procs, g.n);
		(void)!write(pipefd[1], &e, sizeof(e));
		(void)!read(pipefd[0], &c, 0);
		pause();
		_exit(0);
	}
	int e = -1;
	(void)!read(pipefd[0], &e, sizeof(e));
	TAP_EQ_INT(e, 0, "a child entered every group through the fds");
	char path[64], text[1024] = "";
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (fd >= 0)
		close(fd);
	text[n < 0 ? 0 : n] = '\0';
	char want[64];
	snprintf(want, sizeof(want), "::/nsiso/%s\n", name);
	bool have_v2 = false, have_pids = false;
	const char *pids_path = "";
	for (size_t i = 0; i < l.n; i++) {
		have_v2 |= l.h[i].v2;
		if (!l.h[i].v2 && (l.h[i].ctrls & CG_PIDS)) {
			have_pids = true;
			pids_path = l.h[i].path;
		}
	}
	if (have_v2)
		TAP_OK(strstr(text, want) != NULL, "v2 membership %s in %s", want, text);
	if (have_pids) {
		snprintf(want, sizeof(want), ":pids:/nsiso/%s\n", name);
		TAP_OK(strstr(text, want) != NULL, "v1 pids membership %s", want);
		snprintf(path, sizeof(path), "%.20s/nsiso/%s/pids.max", pids_path, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
		if (fd >= 0)
			close(fd);
		text[n < 0 ? 0 : n] = '\0';
		TAP_EQ_STR(text, "7\n", "pids.max written to the kernel");
	}
	uint64_t mem, pids;
	char rel[128];
	snprintf(rel, sizeof(rel), "%s/%s", CG_DIR, name);
	cg_usage(&l, rel, &mem, &pids);
	if (have_pids)
		TAP_EQ_INT(pids, 1, "usage: one process");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	TAP_EQ_INT(cg_remove(&g, 2000), 0, "removed after the process ended");
	for (size_t i = 0; i < l.n; i++) {
		char p[320];
		struct stat st;
		snprintf(p, sizeof(p), "%s/nsiso/%s", l.h[i].path, name);
		TAP_OK(stat(p, &st) < 0 && errno == ENOENT, "%s is gone", p);
	}
	TAP_OK(!cg_name_ok("..") && !cg_name_ok("a/b") && !cg_name_ok("") && cg_name_ok("alice"),
	       "group names checked");
}

/* Is the process at the root of a hierarchy (no move needed)? */
static void test_at_root(void)
{
	struct cg_hier v2 = { .v2 = true }, mem = { .ctrls = CG_MEMORY }, cpu = { .ctrls = CG_CPU };
	const char *self = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/6f1a\n1:cpu,cpuacct:/\n0::/\n";
	TAP_OK(cg_at_root(&v2, self), "v2: 0::/ is the root");
	TAP_OK(!cg_at_root(&mem, self), "v1 memory: a group below the root is not");
	TAP_OK(cg_at_root(&cpu, self), "v1 cpu,cpuacct: / is the root");
	TAP_OK(!cg_at_root(&v2, "0::/user.slice/user-1000.slice/session-3.scope\n"), "v2: a session scope is not");
	TAP_OK(!cg_at_root(&v2, "0::/x/\n"), "v2: a path ending in / is not the root");
	TAP_OK(!cg_at_root(&mem, "0::/\n"), "v1 memory absent from the text: not known to be at the root");
	TAP_OK(!cg_at_root(&v2, ""), "no text: not at the root (the move is made)");
}

int main(void)
{
	test_parse();
	test_writer();
	test_kernel();
	test_at_root();
	return tap_done();
}
