/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "helper.h"
#include "util.h"

/* The container's mount namespace, built in the new namespaces before the
 * init starts and before any tenant process exists in them. Everything goes
 * through file descriptors (fsopen/fsmount/move_mount/open_tree, openat with
 * O_NOFOLLOW): no path is resolved twice. */

#define TTY_GID "5"

/* ---- what was placed, checked again at the end --------------------------
 * Each mask, private filesystem and bind is recorded with the identity of
 * the mount's root (device and inode) as it is attached. When every mount
 * is made, each recorded path is walked again (without symlinks) in the
 * finished tree, and must lead to that same root: a mask that a later
 * mount covered (a bind of /mnt/a over a tmpfs on /mnt/a/scratch), that
 * landed elsewhere, or that vanished refuses the login instead of leaving
 * the host's directory in its place (nspawn's /proc mask bug class;
 * docs/THREATS.md 74). A later hide over the same path or a parent, and a
 * later mount on the very same path, are the policy's own choice: they
 * replace the earlier record. */
struct placed {
	char path[PATH_MAX];
	const char *what;
	dev_t dev;
	ino_t ino;
};
static struct placed placed[64 + POLICY_MOUNTS_MAX];
static size_t n_placed;

static bool path_within(const char *path, const char *top)
{
	size_t n = strlen(top);
	return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/' || (n == 1 && top[0] == '/'));
}

static int place(const char *path, const char *what, int mnt, bool covers_below, struct nsiso_error *f)
{
	struct stat st;
	if (fstat(mnt, &st) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "stat of the %s on %s", what, path);
	size_t kept = 0;
	for (size_t i = 0; i < n_placed; i++)
		if (!(strcmp(placed[i].path, path) == 0 || (covers_below && path_within(placed[i].path, path))))
			placed[kept++] = placed[i];
	n_placed = kept;
	if (n_placed >= ARRAY_SIZE(placed))
		return error_at(f, STEP_MOUNT, -E2BIG, "more than %zu mounts to check (%s)", ARRAY_SIZE(placed), path);
	struct placed *p = &placed[n_placed++];
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->what = what;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	return 0;
}

/* One filesystem: type, "key=value" or "flag" options, mount attributes. */
static int fs_make(const char *type, const char *const *opts, unsigned attrs, int *out)
{
	_cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return neg_errno();
	for (; opts && *opts; opts++) {
		char key[64];
		const char *eq = strchr(*opts, '=');
		size_t klen = eq ? (size_t)(eq - *opts) : strlen(*opts);
		if (klen >= sizeof(key))
			return -EINVAL;
		memcpy(key, *opts, klen);
		key[klen] = '\0';
		int r = eq ? fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0)
			   : fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0);
		if (r < 0)
			return neg_errno();
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return neg_errno();
	int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0)
		return neg_errno();
	*out = m;
	return 0;
}

/* Attach a detached mount on dir/name (name "" means dir itself). */
static int attach(int mnt, int dir, const char *name)
{
	unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (name[0] ? 0 : MOVE_MOUNT_T_EMPTY_PATH);
	return move_mount(mnt, "", dir, name, flags) < 0 ? neg_errno() : 0;
}

/* fs_make(), then attach() on dir/name; the mount's fd in *out. */
static int fs_mount_at(const char *type, const char *const *opts, unsigned attrs, int dir, const char *name, int *out)
{
	_cleanup_close_ int m = -EBADF;
	int r = fs_make(type, opts, attrs, &m);
	if (r < 0)
		return r;

	r = attach(m, dir, name);
	if (r < 0)
		return r;
	*out = TAKE_FD(m);
	return 0;
}

/* The one path walker of the container's mounts: an absolute path opened
 * one component at a time from /, never following a symlink (a symlink
 * anywhere, the last component included, is -ELOOP: a tenant who plants one
 * along a bind source or target gets a refusal, never a mount of something
 * else), and refusing ".", ".." and empty components. An O_PATH fd of a
 * directory or a file; *st is its stat. */
static int open_view_path(const char *path, struct stat *st)
{
	char buf[PATH_MAX];
	const char *last;
	struct nsiso_error why = { 0 }; /* the caller names path and errno */
	_cleanup_close_ int dir = walk_parent(path, 0, buf, sizeof(buf), &last, &why);
	if (dir < 0)
		return dir;
	int fd = openat(dir, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, st) < 0 || S_ISLNK(st->st_mode)) {
		int e = S_ISLNK(st->st_mode) ? -ELOOP : neg_errno();
		(void)close(fd);
		return e;
	}
	return fd;
}

static int open_dir_path(const char *path)
{
	struct stat st;
	int fd = open_view_path(path, &st);
	if (fd >= 0 && !S_ISDIR(st.st_mode)) {
		(void)close(fd);
		return -ENOTDIR;
	}
	return fd;
}

/* size: the policy's tmp_size or shm_size ("max": no size=, the kernel's
 * half of memory), or NULL. */
static int mount_tmpfs_at(const char *path, const char *mode, const char *size, unsigned attrs, bool optional,
			  struct nsiso_error *f)
{
	char size_opt[8 + POLICY_SIZE_MAX];
	const char *opts[] = { mode, NULL, NULL };
	if (size && strcmp(size, "max") != 0) {
		snprintf(size_opt, sizeof(size_opt), "size=%s", size);
		opts[1] = size_opt;
	}
	_cleanup_close_ int dir = open_dir_path(path);
	if (dir == -ENOENT && optional)
		return 0;
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening %s", path);
	_cleanup_close_ int m = -EBADF;
	int r = fs_make("tmpfs", opts, attrs, &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "creating a tmpfs for %s", path);
	r = attach(m, dir, "");
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a tmpfs on %s", path);
	return place(path, "tmpfs", m, false, f);
}

/* Device nodes a session needs, bound from the host's /dev. */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "ptmx", "pts/ptmx" },		 { "fd", "/proc/self/fd" },	  { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
};

static int bind_node(int host_node, int devroot, const char *name)
{
	_cleanup_close_ int mp = openat(devroot, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mp < 0)
		return neg_errno();
	_cleanup_close_ int tree = open_tree(host_node, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return neg_errno();
	return attach(tree, devroot, name);
}

/* The policy's devices (devices.c resolved them on the host): each opened
 * again without following a symlink anywhere on its path, checked to be
 * the same device, and bound at the same path below the new /dev (its
 * directories made there). fds: the opened nodes, -EBADF where none. */
static int devices_open(const struct dev_list *devs, int *fds, struct nsiso_error *f)
{
	for (size_t i = 0; i < devs->n; i++)
		fds[i] = -EBADF;
	for (size_t i = 0; i < devs->n; i++) {
		struct stat st;
		fds[i] = open_view_path(devs->d[i].path, &st);
		if (fds[i] < 0)
			return error_at(f, STEP_MOUNT, fds[i], "opening the device %s", devs->d[i].path);
		if ((st.st_mode & S_IFMT) != devs->d[i].type || st.st_rdev != devs->d[i].rdev)
			return error_at(f, STEP_MOUNT, -ESTALE, "%s is no longer the device it was", devs->d[i].path);
	}
	return 0;
}

static int devices_bind(const struct dev_list *devs, const int *fds, int dev)
{
	for (size_t i = 0; i < devs->n; i++) {
		char rel[sizeof(devs->d[0].path)];
		snprintf(rel, sizeof(rel), "%s", devs->d[i].path + 5); /* below "/dev/" */
		for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (mkdirat(dev, rel, 0755) < 0 && errno != EEXIST)
				return neg_errno();
			*slash = '/';
		}
		int r = bind_node(fds[i], dev, rel);
		if (r < 0 && r != -EEXIST) /* (one of the standard nodes: already there) */
			return r;
	}
	return 0;
}

static void devices_close(const struct dev_list *devs, int *fds)
{
	for (size_t i = 0; i < devs->n; i++)
		closep(&fds[i]);
}

/* A fresh, read-only /dev: the few host nodes above and the policy's
 * devices, a devpts instance of its own (a tenant never sees another
 * tenant's ptys, THREATS 10), /dev/shm and /dev/mqueue private to the
 * container, and the host's /dev/log so that syslog keeps working for the
 * session and for sshd's monitor. */
static int mount_dev(const struct policy_settings *s, const struct dev_list *devs, struct nsiso_error *f)
{
	unsigned ns_mask = s->ns_mask;
	bool userns = ns_mask & NS_BIT(NS_USER);
	int host_nodes[ARRAY_SIZE(dev_nodes)];
	int r;

	_cleanup_close_ int hostdev = open_dir_path("/dev");
	if (hostdev < 0)
		return error_at(f, STEP_MOUNT, hostdev, "opening /dev");
	int dev_fds[DEVICES_MAX];
	r = devices_open(devs, dev_fds, f);
	if (r < 0) {
		devices_close(devs, dev_fds);
		return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		host_nodes[i] = openat(hostdev, dev_nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (host_nodes[i] < 0) {
			r = neg_errno();
			for (size_t j = 0; j < i; j++)
				(void)close(host_nodes[j]);
			devices_close(devs, dev_fds);
			return error_at(f, STEP_MOUNT, r, "opening /dev/%s", dev_nodes[i]);
		}
	}
	_cleanup_close_ int host_log = openat(hostdev, "log", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char log_link[PATH_MAX] = "";
	struct stat lst;
	if (host_log >= 0 && fstat(host_log, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		ssize_t n = readlinkat(hostdev, "log", log_link, sizeof(log_link) - 1);
		log_link[n > 0 ? n : 0] = '\0';
		close_fd(&host_log);
	} else if (host_log >= 0 && !(fstat(host_log, &lst) == 0 && S_ISSOCK(lst.st_mode))) {
		close_fd(&host_log);
	}

	const char *dev_opts[] = { "mode=0755", "size=64k", "nr_inodes=256", NULL };
	_cleanup_close_ int dev = -EBADF;
	r = fs_mount_at("tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, hostdev, "", &dev);
	if (r < 0)
		goto out_nodes;

	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes) && r >= 0; i++)
		r = bind_node(host_nodes[i], dev, dev_nodes[i]);
	if (r < 0)
		goto out_nodes;
	r = devices_bind(devs, dev_fds, dev);
	if (r < 0)
		goto out_nodes;
	if (host_log >= 0)
		r = bind_node(host_log, dev, "log");
	else if (log_link[0])
		r = symlinkat(log_link, dev, "log") < 0 ? neg_errno() : 0;
	if (r < 0)
		goto out_nodes;

	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0) {
			r = neg_errno();
			goto out_nodes;
		}

	static const char *const subdirs[] = { "pts", "shm", "mqueue" };
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++)
		if (mkdirat(dev, subdirs[i], 0755) < 0) {
			r = neg_errno();
			goto out_nodes;
		}

	/* gid=5 is tty inside as outside: the gid map always keeps it. */
	const char *pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=0620", "gid=" TTY_GID, NULL };
	_cleanup_close_ int pts = -EBADF;
	r = fs_mount_at("devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, dev, "pts", &pts);
	if (r < 0) {
		(void)error_at(f, STEP_MOUNT, r, "mounting a devpts instance on /dev/pts");
		goto out_nodes_logged;
	}

	char shm_size[8 + POLICY_SIZE_MAX];
	snprintf(shm_size, sizeof(shm_size), "size=%s", s->shm_size);
	const char *shm_opts[] = { "mode=1777", strcmp(s->shm_size, "max") != 0 ? shm_size : NULL, NULL };
	_cleanup_close_ int shm = -EBADF;
	r = fs_mount_at("tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, dev, "shm", &shm);
	if (r < 0)
		goto out_nodes;

	/* mqueue belongs to an IPC namespace: mount it only for our own. */
	if ((ns_mask & NS_BIT(NS_IPC)) || !userns) {
		_cleanup_close_ int mq = -EBADF;
		r = fs_mount_at("mqueue", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, dev, "mqueue",
				&mq);
		if (r < 0) {
			(void)error_at(f, STEP_MOUNT, r, "mounting mqueue on /dev/mqueue");
			goto out_nodes_logged;
		}
	}

	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(dev, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		r = neg_errno();
	if (r == 0 &&
	    ((r = place("/dev", "tmpfs", dev, false, f)) < 0 || (r = place("/dev/pts", "devpts", pts, false, f)) < 0 ||
	     (r = place("/dev/shm", "tmpfs", shm, false, f)) < 0))
		goto out_nodes_logged;

out_nodes:
	if (r < 0)
		(void)error_at(f, STEP_MOUNT, r, "building /dev");
out_nodes_logged:
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
		(void)close(host_nodes[i]);
	devices_close(devs, dev_fds);
	return r;
}

static int mount_proc(struct nsiso_error *f)
{
	_cleanup_close_ int dir = open_dir_path("/proc");
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening /proc");
	_cleanup_close_ int m = -EBADF;
	int r = fs_mount_at("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, dir, "", &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a fresh /proc");
	return place("/proc", "procfs", m, false, f);
}

/* A sysfs of the container's own network namespace: /sys/class/net lists
 * only its interfaces, and the host's cgroup v1 hierarchies mounted under
 * /sys/fs/cgroup are out of sight (THREATS 7). Read-only. */
static int mount_sys(struct nsiso_error *f)
{
	_cleanup_close_ int dir = open_dir_path("/sys");
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening /sys");
	_cleanup_close_ int m = -EBADF;
	int r = fs_mount_at("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
			    dir, "", &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a read-only /sys");
	return place("/sys", "sysfs", m, false, f);
}

/* The user's home, read-only: a clone of the mount tree at the home
 * directory, opened without following any symlink, made read-only and put
 * back on the same directory. */
static int mount_home_read_only(const char *home, struct nsiso_error *f)
{
	_cleanup_close_ int dir = open_dir_path(home);
	if (dir == -ENOENT)
		return 0; /* sshd starts such a user in / anyway */
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening the home %s", home);
	_cleanup_close_ int tree =
	    open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "cloning the home %s", home);
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making the home %s read-only", home);
	int r = attach(tree, dir, "");
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting the read-only home on %s", home);
	return place(home, "read-only home", tree, false, f);
}

/* The network's resolv.conf: a detached mount the supervisor made on the
 * host (the state directory is out of container root's reach), put over
 * /etc/resolv.conf. /etc is root's: its resolv.conf may be a symlink the
 * admin made (systemd-resolved's stub); bind over what it names. */
static int mount_resolv(int resolv_mnt, struct nsiso_error *f)
{
	_cleanup_close_ int dst = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
	if (dst == -1 && errno == ENOENT)
		return 0;
	if (dst < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "opening /etc/resolv.conf");
	if (move_mount(resolv_mnt, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "binding the network's resolv.conf over /etc/resolv.conf");
	return 0;
}

/* World-writable directories of the host other than /tmp and /var/tmp
 * (lock files, crash dumps, screen sockets): shared, they are a channel
 * between tenants and the host, a place to squat another's lock, and, where
 * they live on /run, a way to fill the filesystem that holds nsiso's state
 * (docs/THREATS.md 48). Each one the host has gets a small private tmpfs of
 * the same mode. */
static const char *const world_writable[] = { "/var/crash", "/var/metrics" };

static int mount_world_writable(struct nsiso_error *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(world_writable); i++) {
		const char *path = world_writable[i];
		_cleanup_close_ int dir = open_dir_path(path);
		if (dir == -ENOENT || dir == -ENOTDIR || dir == -ELOOP)
			continue; /* absent here, or a symlink (/var/lock -> /run/lock) */
		if (dir < 0)
			return error_at(f, STEP_MOUNT, dir, "opening %s", path);
		struct stat st;
		if (fstat(dir, &st) < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "stat %s", path);
		if (!(st.st_mode & S_IWOTH))
			continue;
		char mode[16];
		snprintf(mode, sizeof(mode), "mode=%04o", (unsigned)(st.st_mode & 07777));
		_cleanup_close_ int m = -EBADF;
		const char *opts[] = { mode, "size=8M", "nr_inodes=4096", NULL };
		int r =
		    fs_mount_at("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, dir, "", &m);
		if (r < 0)
			return error_at(f, STEP_MOUNT, r, "mounting a private tmpfs on %s", path);
		r = place(path, "private tmpfs", m, false, f);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The container's /run: a fresh tmpfs holding only what sessions need
 * (THREATS 63). The host's /run has every daemon's socket: the D-Bus system
 * bus (through which logind's KillUser signals the user's slice and
 * SetUserLinger keeps a manager), systemd-resolved and nscd (names
 * resolved through the host's network whatever the container's network),
 * and whatever else a host runs. Kept, each bound from the host's /run
 * when it is there, never through a symlink:
 *  - utmp: sshd's monitor, host root in the container's mount namespace,
 *    writes the host's login records (`who` on the host);
 *  - the journal's sockets, so that syslog() and /dev/log keep working;
 *  - dbus/system_bus_socket: with system_bus = host, as on the host; with
 *    none, in a directory of mode 0700 of container root's, which no
 *    process of the tenant can enter and host root can (sshd's monitor:
 *    pam_systemd's close_session tells logind the session ended);
 *  - systemd/resolve, only where the container shares the host's network;
 *  - lock and screen, empty, with the host's mode (world-writable
 *    directories: private, THREATS 48); user, filled by mount_run_user. */
static const struct run_keep {
	const char *path; /* under /run */
	mode_t type;
	enum { KEEP_ALWAYS, KEEP_BUS, KEEP_HOST_NET } when;
} run_keep[] = {
	{ "utmp", S_IFREG, KEEP_ALWAYS },
	{ "systemd/journal/socket", S_IFSOCK, KEEP_ALWAYS },
	{ "systemd/journal/stdout", S_IFSOCK, KEEP_ALWAYS },
	{ "systemd/journal/dev-log", S_IFSOCK, KEEP_ALWAYS },
	{ "dbus/system_bus_socket", S_IFSOCK, KEEP_BUS },
	{ "systemd/resolve", S_IFDIR, KEEP_HOST_NET },
};
static const char *const run_empty_dirs[] = { "lock", "screen", "user" };

/* dir/a/b/c: make a and a/b (mode, or 0700 for a "dbus" with no bus for
 * the tenant), then the mount point c of the given type. */
static int run_mount_point(int run, const char *path, mode_t type, mode_t dbus_mode)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mode_t mode = strcmp(buf, "dbus") == 0 ? dbus_mode : 0755;
		if (mkdirat(run, buf, mode) < 0 && errno != EEXIST)
			return neg_errno();
		if (fchmodat(run, buf, mode, 0) < 0) /* (the umask) */
			return neg_errno();
		*slash = '/';
	}
	if (type == S_IFDIR)
		return mkdirat(run, path, 0755) < 0 ? neg_errno() : 0;
	_cleanup_close_ int fd = openat(run, path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd < 0 ? neg_errno() : 0;
}

/* What is kept of the host's /run: clones taken before it is covered. */
struct run_trees {
	int fd[ARRAY_SIZE(run_keep)];
};

static void run_trees_close(struct run_trees *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(run_keep); i++)
		closep(&t->fd[i]);
}

static int run_take_trees(const struct policy_settings *s, struct run_trees *t, struct nsiso_error *f)
{
	bool host_net = !(s->ns_mask & NS_BIT(NS_NET));
	for (size_t i = 0; i < ARRAY_SIZE(run_keep); i++)
		t->fd[i] = -EBADF;
	for (size_t i = 0; i < ARRAY_SIZE(run_keep); i++) {
		if (run_keep[i].when == KEEP_HOST_NET && !host_net)
			continue;
		char path[160];
		struct stat st;
		snprintf(path, sizeof(path), "/run/%s", run_keep[i].path);
		_cleanup_close_ int fd = open_view_path(path, &st);
		if (fd < 0 || (st.st_mode & S_IFMT) != run_keep[i].type)
			continue; /* absent here, a symlink, or not what it should be: not kept */

		t->fd[i] = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		if (t->fd[i] < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "cloning %s", path);
	}
	return 0;
}

static int mount_run(const struct policy_settings *s, struct nsiso_error *f)
{
	__attribute__((cleanup(run_trees_close))) struct run_trees trees;
	mode_t empty_mode[ARRAY_SIZE(run_empty_dirs)] = { 0 };

	_cleanup_close_ int hostrun = open_dir_path("/run");
	if (hostrun < 0)
		return error_at(f, STEP_MOUNT, hostrun, "opening /run");

	/* From the host's /run, before it is covered. */
	int r = run_take_trees(s, &trees, f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(run_empty_dirs); i++) {
		struct stat st;
		if (fstatat(hostrun, run_empty_dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
			empty_mode[i] = st.st_mode & 07777;
	}

	const char *opts[] = { "mode=0755", "size=4M", "nr_inodes=1024", NULL };
	_cleanup_close_ int run = -EBADF;
	r = fs_mount_at("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, hostrun, "", &run);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a tmpfs on /run");
	r = place("/run", "tmpfs", run, false, f);
	if (r < 0)
		return r;

	mode_t dbus_mode = s->system_bus == SYSTEM_BUS_HOST ? 0755 : 0700;
	for (size_t i = 0; i < ARRAY_SIZE(run_keep); i++) {
		if (trees.fd[i] < 0)
			continue;
		r = run_mount_point(run, run_keep[i].path, run_keep[i].type, dbus_mode);
		if (r < 0)
			return error_at(f, STEP_MOUNT, r, "making the mount point /run/%s", run_keep[i].path);

		r = attach(trees.fd[i], run, run_keep[i].path);
		if (r < 0)
			return error_at(f, STEP_MOUNT, r, "keeping /run/%s", run_keep[i].path);
	}
	for (size_t i = 0; i < ARRAY_SIZE(run_empty_dirs); i++) {
		if (!empty_mode[i])
			continue;
		if (mkdirat(run, run_empty_dirs[i], 0700) < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "making /run/%s", run_empty_dirs[i]);

		if (fchmodat(run, run_empty_dirs[i], empty_mode[i], 0) < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "giving /run/%s the host's mode",
					run_empty_dirs[i]);
	}
	return 0;
}

/* /run/user: the container's own, holding only this user's runtime
 * directory (XDG_RUNTIME_DIR), empty at start. The host's /run/user/UID is
 * where a systemd user manager, D-Bus and other host-side services of the
 * user listen; none of them is reachable from inside (docs/THREATS.md 43). */
static int mount_run_user(const struct user_info *u, const struct policy_settings *s, struct nsiso_error *f)
{
	_cleanup_close_ int dir = open_dir_path("/run/user");
	if (dir == -ENOENT)
		return 0; /* no logind here: nothing to hide */
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening /run/user");
	char size[8 + POLICY_SIZE_MAX];
	snprintf(size, sizeof(size), "size=%s", s->tmp_size);
	const char *opts[] = { "mode=0755", strcmp(s->tmp_size, "max") != 0 ? size : NULL, NULL };
	_cleanup_close_ int m = -EBADF;
	int r = fs_make("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "creating a tmpfs for /run/user");
	char name[16];
	snprintf(name, sizeof(name), "%u", (unsigned)u->uid);
	if (mkdirat(m, name, 0700) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making /run/user/%s", name);
	if (fchownat(m, name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "handing /run/user/%s to %s", name, u->name);
	r = attach(m, dir, "");
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a tmpfs on /run/user");
	return place("/run/user", "tmpfs", m, false, f);
}

/* ---- nested id maps (nested_userns = yes; nested.c) ----
 * The container's /etc/subuid and /etc/subgid name the container ids of the
 * tenant's subordinate range, and newuidmap/newgidmap are nsiso's client,
 * which asks the supervisor. The two files are written in a directory of
 * container root's on the container's /run, bound read-only over the
 * host's, and unlinked: only the binds hold them. */
static int nested_bind(int from, const char *name, const char *target, bool noexec, struct nsiso_error *f)
{
	struct stat st;
	_cleanup_close_ int dst = open_view_path(target, &st);
	if (dst == -ENOENT)
		return 0; /* no such tool or file on this host: nothing to stand in for */
	if (dst < 0 || !S_ISREG(st.st_mode))
		return error_at(f, STEP_MOUNT, dst < 0 ? dst : -EINVAL, "opening %s", target);
	_cleanup_close_ int tree =
	    open_tree(from, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (name[0] ? 0 : AT_EMPTY_PATH));
	if (tree < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "cloning what goes over %s", target);
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					     (noexec ? MOUNT_ATTR_NOEXEC : 0) };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making the bind over %s read-only", target);
	if (move_mount(tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "binding over %s", target);
	return place(target, "nested id map file", tree, false, f);
}

/* Container tools look for the cgroup hierarchy on /sys/fs/cgroup (runc
 * and crun refuse to start on an empty directory of sysfs): the cgroup2
 * hierarchy as the container's cgroup namespace shows it, its own subtree,
 * read-only (nothing in it is the tenant's to write). */
static int mount_nested_cgroup(const struct policy_settings *s, struct nsiso_error *f)
{
	if (!(s->ns_mask & NS_BIT(NS_CGROUP)))
		return 0; /* it would show the host's whole hierarchy */
	_cleanup_close_ int dir = open_dir_path("/sys/fs/cgroup");
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening /sys/fs/cgroup");
	_cleanup_close_ int m = -EBADF;
	int r = fs_mount_at("cgroup2", NULL,
			    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, dir, "", &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting the container's cgroup2 on /sys/fs/cgroup");
	return place("/sys/fs/cgroup", "cgroup2", m, false, f);
}

static int mount_nested_idmaps(const struct user_info *u, const struct policy_settings *s, int client,
			       struct nsiso_error *f)
{
	static char text[IDMAP_LINES_MAX * (NSISO_USER_MAX + 24)];
	static const char dir_name[] = ".nsiso-subid";
	_cleanup_close_ int run = open_dir_path("/run");
	if (run < 0)
		return error_at(f, STEP_MOUNT, run, "opening the container's /run");
	if (mkdirat(run, dir_name, 0700) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making /run/%s", dir_name);
	_cleanup_close_ int dir = openat(run, dir_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = dir < 0 ? neg_errno() : 0;
	for (int gid = 0; r == 0 && gid <= 1; gid++) {
		const char *name = gid ? "subgid" : "subuid";
		int len = nested_subid_text(u, gid, text, sizeof(text));
		r = len < 0 ? len : write_file_at(dir, name, text, (size_t)len, O_CREAT | O_EXCL, 0644);
		if (r == 0 && fchmodat(dir, name, 0644, 0) < 0) /* (the umask) */
			r = neg_errno();
		if (r < 0) {
			(void)error_at(f, STEP_MOUNT, r, "writing the container's %s", name);
			break;
		}
		char target[16];
		snprintf(target, sizeof(target), "/etc/%s", name);
		r = nested_bind(dir, name, target, true, f);
	}
	for (int gid = 0; dir >= 0 && gid <= 1; gid++)
		(void)unlinkat(dir, gid ? "subgid" : "subuid", 0);
	(void)unlinkat(run, dir_name, AT_REMOVEDIR);
	if (r < 0)
		return r;
	r = nested_bind(client, "", "/usr/bin/newuidmap", false, f);
	if (r < 0)
		return r;
	r = nested_bind(client, "", "/usr/bin/newgidmap", false, f);
	if (r < 0)
		return r;
	return mount_nested_cgroup(s, f);
}

/* ---- the per-user filesystem view (home = private, bind, bind_ro, hide,
 * tmpfs) ---- */

/* What is taken from the host's view before anything is mounted: a clone
 * of each bind source and of the home, made read-only or nosuid+nodev. */
struct view_sources {
	int tree[POLICY_MOUNTS_MAX];
	bool dir[POLICY_MOUNTS_MAX];
	int home; /* home = private: the home's tree; -ENOENT: no home */
};

static void view_sources_close(struct view_sources *v)
{
	for (size_t i = 0; i < POLICY_MOUNTS_MAX; i++)
		closep(&v->tree[i]);
	closep(&v->home);
}

static int clone_tree(const char *path, unsigned attrs, bool *is_dir, const char *what, struct nsiso_error *f)
{
	struct stat st;
	_cleanup_close_ int fd = open_view_path(path, &st);
	if (fd == -ELOOP)
		return error_at(f, STEP_MOUNT, fd, "%s %s: a symlink along the path (refused: never followed)", what,
				path);
	if (fd < 0)
		return error_at(f, STEP_MOUNT, fd, "%s %s", what, path);
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "cloning %s %s", what, path);
	struct mount_attr a = { .attr_set = attrs };
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
		int r = neg_errno();
		(void)close(tree);
		return error_at(f, STEP_MOUNT, r, "setting the attributes of %s %s", what, path);
	}
	*is_dir = S_ISDIR(st.st_mode);
	return tree;
}

static int view_take_sources(const struct user_info *u, const struct policy_settings *s, struct view_sources *v,
			     struct nsiso_error *f)
{
	for (size_t i = 0; i < POLICY_MOUNTS_MAX; i++)
		v->tree[i] = -EBADF;
	v->home = -EBADF;
	for (uint32_t i = 0; i < s->n_mounts; i++) {
		const struct policy_mount *m = &s->mounts[i];
		if (m->kind != MOUNT_BIND && m->kind != MOUNT_BIND_RO)
			continue;
		unsigned attrs =
		    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->kind == MOUNT_BIND_RO ? MOUNT_ATTR_RDONLY : 0);
		int t = clone_tree(m->src, attrs, &v->dir[i],
				   m->kind == MOUNT_BIND_RO ? "bind_ro source" : "bind source", f);
		if (t < 0)
			return t;
		v->tree[i] = t;
	}
	if (s->home == HOME_PRIVATE) {
		bool dir = false;
		struct stat st;
		_cleanup_close_ int probe = open_view_path(u->home, &st);
		if (probe == -ENOENT) {
			v->home = -ENOENT; /* sshd starts such a user in / anyway */
			return 0;
		}
		int t = clone_tree(u->home, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &dir, "the home", f);
		if (t < 0)
			return t;
		if (!dir) {
			(void)close(t);
			return error_at(f, STEP_MOUNT, -ENOTDIR, "the home %s is not a directory", u->home);
		}
		v->home = t;
	}
	return 0;
}

/* home = private: a read-only tmpfs over the directory that holds the
 * homes, with only the user's own home in it. */
static int view_home_private(const struct user_info *u, struct view_sources *v, struct nsiso_error *f)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", u->home);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent || !slash[1])
		return error_at(f, STEP_MOUNT, -EINVAL,
				"home = private needs the home %s in a directory of its own, not /", u->home);
	*slash = '\0';
	const char *base = slash + 1;
	/* The tmpfs over the homes' directory is a view target like any other
	 * (THREATS 57): never where host root writes (/root, /var/lib...). */
	const char *why = view_target_refused(parent);
	if (why)
		return error_at(f, STEP_MOUNT, -EPERM, "home = private: the directory of the home %s is refused: %s",
				u->home, why);
	_cleanup_close_ int dir = open_dir_path(parent);
	if (dir < 0)
		return error_at(f, STEP_MOUNT, dir, "opening %s, the directory of the homes", parent);
	const char *opts[] = { "mode=0755", "size=64k", "nr_inodes=16", NULL };
	_cleanup_close_ int m = -EBADF;
	int r = fs_make("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &m);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "creating a tmpfs for %s", parent);
	if (v->home >= 0) {
		if (mkdirat(m, base, 0755) < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "making the mount point of %s", u->home);
		if (move_mount(v->home, "", m, base, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "mounting the home %s alone", u->home);
	}
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(m, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making the tmpfs on %s read-only", parent);
	r = attach(m, dir, "");
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting the private %s", parent);
	return place(parent, "private homes' directory", m, false, f);
}

/* A target of the view: an existing directory or file, reached without a
 * symlink. */
static int view_target(const char *path, const char *what, struct stat *st, struct nsiso_error *f)
{
	int fd = open_view_path(path, st);
	if (fd == -ELOOP)
		return error_at(f, STEP_MOUNT, fd, "%s target %s: a symlink along the path (refused: never followed)",
				what, path);
	if (fd < 0)
		return error_at(f, STEP_MOUNT, fd, "%s target %s", what, path);
	return fd;
}

static int view_tmpfs(const struct policy_mount *m, struct nsiso_error *f)
{
	struct stat st;
	_cleanup_close_ int dir = view_target(m->dst, "tmpfs", &st, f);
	if (dir < 0)
		return dir;
	if (!S_ISDIR(st.st_mode))
		return error_at(f, STEP_MOUNT, -ENOTDIR, "tmpfs target %s is not a directory", m->dst);
	char size[8 + POLICY_SIZE_MAX];
	snprintf(size, sizeof(size), "size=%s", m->size);
	const char *opts[] = { "mode=1777", strcmp(m->size, "max") != 0 ? size : NULL, NULL };
	_cleanup_close_ int t = -EBADF;
	int r = fs_mount_at("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, dir, "", &t);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "mounting a tmpfs of %s on %s", m->size, m->dst);
	return place(m->dst, "tmpfs", t, false, f);
}

static int view_bind(const struct policy_mount *m, int tree, bool is_dir, struct nsiso_error *f)
{
	const char *what = m->kind == MOUNT_BIND_RO ? "bind_ro" : "bind";
	struct stat st;
	_cleanup_close_ int dst = view_target(m->dst, what, &st, f);
	if (dst < 0)
		return dst;
	if (S_ISDIR(st.st_mode) != is_dir)
		return error_at(f, STEP_MOUNT, is_dir ? -ENOTDIR : -EISDIR,
				"%s %s on %s: one is a directory, the other not", what, m->src, m->dst);
	if (move_mount(tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "%s %s on %s", what, m->src, m->dst);
	return place(m->dst, what, tree, false, f);
}

/* hide: an empty read-only directory over a directory, an empty read-only
 * file over anything else; a path the host does not have needs nothing. */
static int view_hide(const struct policy_mount *m, struct nsiso_error *f)
{
	struct stat st;
	_cleanup_close_ int dst = open_view_path(m->dst, &st);
	if (dst == -ENOENT)
		return 0;
	if (dst < 0)
		return view_target(m->dst, "hide", &st, f);
	bool dir = S_ISDIR(st.st_mode);
	const char *opts[] = { dir ? "mode=0555" : "mode=0755", "size=4k", "nr_inodes=2", NULL };
	_cleanup_close_ int t = -EBADF;
	int r = fs_make("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &t);
	if (r < 0)
		return error_at(f, STEP_MOUNT, r, "creating an empty tmpfs to hide %s", m->dst);
	_cleanup_close_ int file = -EBADF;
	if (!dir) {
		_cleanup_close_ int fd = openat(t, "empty", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
		file = fd < 0 ? -EBADF : open_tree(t, "empty", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (file < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "making an empty file to hide %s", m->dst);
	}
	int src = dir ? t : file;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(src, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making the cover of %s read-only", m->dst);
	if (move_mount(src, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "hiding %s", m->dst);
	return place(m->dst, "hide", src, true, f);
}

/* In this order: the private home, the tmpfs mounts, the binds, the hidden
 * paths (so a hide can cover part of a bound tree). */
static int view_mount(const struct user_info *u, const struct policy_settings *s, struct view_sources *v,
		      struct nsiso_error *f)
{
	static const enum mount_kind order[] = { MOUNT_TMPFS, MOUNT_BIND, MOUNT_BIND_RO, MOUNT_HIDE };
	int r = 0;
	if (s->home == HOME_PRIVATE && (r = view_home_private(u, v, f)) < 0)
		return r;
	for (size_t k = 0; k < ARRAY_SIZE(order); k++)
		for (uint32_t i = 0; i < s->n_mounts && r == 0; i++) {
			const struct policy_mount *m = &s->mounts[i];
			if (m->kind != order[k])
				continue;
			if (m->kind == MOUNT_TMPFS)
				r = view_tmpfs(m, f);
			else if (m->kind == MOUNT_HIDE)
				r = view_hide(m, f);
			else
				r = view_bind(m, v->tree[i], v->dir[i], f);
		}
	return r;
}

static int verify_placed(struct nsiso_error *f)
{
	for (size_t i = 0; i < n_placed; i++) {
		struct stat st;
		_cleanup_close_ int fd = open_view_path(placed[i].path, &st);
		if (fd < 0)
			return error_at(f, STEP_MOUNT, fd, "the %s on %s is gone after setup", placed[i].what,
					placed[i].path);
		if (st.st_dev != placed[i].dev || st.st_ino != placed[i].ino)
			return error_at(f, STEP_MOUNT, -EBUSY,
					"the %s on %s is not in place after setup (a later mount of the policy "
					"covers it)",
					placed[i].what, placed[i].path);
	}
	return 0;
}

int mounts_setup(const struct user_info *u, const struct policy_settings *s, const struct dev_list *devs,
		 int resolv_mnt, int checked_client, struct nsiso_error *f)
{
	n_placed = 0;
	unsigned ns_mask = s->ns_mask;
	bool userns = ns_mask & NS_BIT(NS_USER);
	int r;

	/* Nothing mounted inside reaches the host or another container, and
	 * nothing the host mounts later shows up inside (THREATS 6). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return error_at(f, STEP_MOUNT, neg_errno(), "making / private");

	/* Bind sources and the private home, from the host's view, before
	 * anything here covers a part of it. */
	__attribute__((cleanup(view_sources_close))) struct view_sources view;
	r = view_take_sources(u, s, &view, f);
	if (r < 0)
		return r;

	/* nsiso's newuidmap for nested id maps, opened again here (a mount
	 * is cloned only from this namespace) before /tmp, where a build tree
	 * may be, is covered; the file the supervisor checked (checked_client). */
	_cleanup_close_ int nested_client = -EBADF;
	if (checked_client >= 0) {
		struct stat here, checked;
		nested_client = open(NSISO_NEWIDMAP_PATH, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nested_client < 0 || fstat(nested_client, &here) < 0 || fstat(checked_client, &checked) < 0 ||
		    here.st_dev != checked.st_dev || here.st_ino != checked.st_ino)
			return error_at(f, STEP_MOUNT, nested_client < 0 ? neg_errno() : -ESTALE,
					"%s is not the file checked before", NSISO_NEWIDMAP_PATH);
	}

	/* A procfs belongs to a PID namespace: only ours can be mounted. */
	if ((ns_mask & NS_BIT(NS_PID)) || !userns) {
		r = mount_proc(f);
		if (r < 0)
			return r;
	}
	/* A sysfs belongs to a network namespace: only ours can be mounted. */
	if ((ns_mask & NS_BIT(NS_NET)) || !userns) {
		r = mount_sys(f);
		if (r < 0)
			return r;
	}
	r = mount_dev(s, devs, f);
	if (r < 0)
		return r;
	if (s->tmp == TMP_PRIVATE) {
		r = mount_tmpfs_at("/tmp", "mode=1777", s->tmp_size, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false, f);
		if (r < 0)
			return r;
		r = mount_tmpfs_at("/var/tmp", "mode=1777", s->tmp_size, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, f);
		if (r < 0)
			return r;
	}
	r = mount_world_writable(f);
	if (r < 0)
		return r;
	r = mount_run(s, f);
	if (r < 0)
		return r;
	r = mount_run_user(u, s, f);
	if (r < 0)
		return r;
	if (nested_client >= 0) {
		r = mount_nested_idmaps(u, s, nested_client, f);
		if (r < 0)
			return r;
	}
	if (s->home == HOME_READ_ONLY) {
		r = mount_home_read_only(u->home, f);
		if (r < 0)
			return r;
	}
	/* A named network's own resolv.conf (see network.c), read-only. */
	if (resolv_mnt >= 0) {
		r = mount_resolv(resolv_mnt, f);
		if (r < 0)
			return r;
	}
	r = view_mount(u, s, &view, f);
	if (r < 0)
		return r;
	/* The helper's state stays out of sight and out of reach (THREATS 30;
	 * under /run it is not there at all). */
	r = mount_tmpfs_at(NSISO_RUNDIR, "mode=0000", "1M",
			   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, true, f);
	if (r < 0)
		return r;
	return verify_placed(f);
}
