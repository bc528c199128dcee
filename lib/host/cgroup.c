/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "proto.h"
#include "fsutil.h"
#include "util.h"

_Static_assert(SESSION_CGROUPS_MAX >= CG_HIER_MAX, "every cgroup hierarchy must fit in a reply");

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

void cg_limits_none(struct cg_limits *l)
{
	*l = (struct cg_limits){ .memory_max = CG_UNLIMITED,
				 .memory_high = CG_UNLIMITED,
				 .pids_max = CG_UNLIMITED,
				 .cpu_quota = CG_UNLIMITED,
				 .cpu_period = 100000,
				 .cpu_weight = 100 };
}

unsigned cg_limits_controllers(const struct cg_limits *l)
{
	unsigned c = 0;
	if (l->memory_max != CG_UNLIMITED || l->memory_high != CG_UNLIMITED)
		c |= CG_MEMORY;
	if (l->pids_max != CG_UNLIMITED)
		c |= CG_PIDS;
	if (l->cpu_quota != CG_UNLIMITED || l->cpu_weight != 100)
		c |= CG_CPU;
	if (l->io_weight)
		c |= CG_IO;
	if (l->cpus)
		c |= CG_CPUSET;
	return c;
}

bool cg_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= sizeof(((struct cg_group *)0)->name) || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* ---- discovery ----------------------------------------------------------- */

/* The CG_* bits of a list of controller names: v1 mount options
 * ("rw,cpu,cpuacct", block I/O is "blkio") or v2's cgroup.controllers
 * ("cpu io memory pids", block I/O is "io"). */
static unsigned controllers_in(const char *list, bool v2)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {
		{ "memory", CG_MEMORY },
		{ "pids", CG_PIDS },
		{ "cpu", CG_CPU },
		{ "cpuset", CG_CPUSET },
	};
	unsigned c = 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	const char *seps = v2 ? " \n" : ",";
	char *save = NULL;
	for (char *w = strtok_r(buf, seps, &save); w; w = strtok_r(NULL, seps, &save)) {
		for (size_t i = 0; i < ARRAY_SIZE(words); i++)
			if (strcmp(w, words[i].word) == 0)
				c |= words[i].bit;
		if (strcmp(w, v2 ? "io" : "blkio") == 0)
			c |= CG_IO;
	}
	return c;
}

bool cg_at_root(const struct cg_hier *h, const char *self)
{
	for (const char *p = self; p && *p;) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		const char *c1 = memchr(p, ':', (size_t)(end - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2) {
			char list[256];
			size_t len = (size_t)(c2 - c1 - 1);
			bool root = end - c2 == 2 && c2[1] == '/';
			if (len < sizeof(list)) {
				memcpy(list, c1 + 1, len);
				list[len] = '\0';
				if (h->v2 ? len == 0 && c1 - p == 1 && p[0] == '0'
					  : (controllers_in(list, false) & h->ctrls) != 0)
					return root;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

/* One line of mountinfo into l; *seen: v1 controllers already taken (a
 * hierarchy mounted twice counts once). */
static void parse_mount_line(const char *line, size_t len, struct cg_layout *l, unsigned *seen)
{
	char buf[1024];
	if (len >= sizeof(buf))
		return; /* not a cgroup mount we could use anyway */
	memcpy(buf, line, len);
	buf[len] = '\0';
	/* id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
	char *f[5] = { 0 }, *save = NULL, *w;
	int i = 0;
	for (w = strtok_r(buf, " \n", &save); w && i < 5; w = strtok_r(NULL, " \n", &save))
		f[i++] = w;
	while (w && strcmp(w, "-") != 0)
		w = strtok_r(NULL, " \n", &save);
	char *fstype = w ? strtok_r(NULL, " \n", &save) : NULL;
	char *source = fstype ? strtok_r(NULL, " \n", &save) : NULL;
	char *superopts = source ? strtok_r(NULL, " \n", &save) : NULL;
	/* Only whole hierarchies, at a plain path (no escaped characters). */
	if (i != 5 || !superopts || strcmp(f[3], "/") != 0 || strchr(f[4], '\\') ||
	    strlen(f[4]) >= sizeof(l->h[0].path) || l->n >= CG_HIER_MAX)
		return;
	bool have_v2 = false;
	for (size_t k = 0; k < l->n; k++)
		have_v2 |= l->h[k].v2;
	if (strcmp(fstype, "cgroup2") == 0 && !have_v2) {
		l->h[l->n].v2 = true;
		snprintf(l->h[l->n++].path, sizeof(l->h[0].path), "%s", f[4]);
	} else if (strcmp(fstype, "cgroup") == 0) {
		unsigned c = controllers_in(superopts, false);
		if (c && !(c & *seen)) {
			*seen |= c;
			l->h[l->n].ctrls = c;
			snprintf(l->h[l->n++].path, sizeof(l->h[0].path), "%s", f[4]);
		}
	}
}

int cg_parse_mountinfo(const char *text, struct cg_layout *l)
{
	unsigned seen = 0;
	memset(l, 0, sizeof(*l));
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		parse_mount_line(line, nl ? (size_t)(nl - line) : strlen(line), l, &seen);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The mount point, opened without following symlinks and checked to be a
 * cgroup file system of the expected version. */
static int open_hier(const struct cg_hier *h)
{
	int fd = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	struct statfs sfs;
	if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != (h->v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC)) {
		(void)close(fd);
		return -EMEDIUMTYPE;
	}
	return fd;
}

int cg_discover(struct cg_layout *l)
{
	/* Line by line: a host with many mounts (containers, snaps) has a
	 * mountinfo far larger than any fixed buffer. */
	unsigned seen = 0;
	memset(l, 0, sizeof(*l));
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return neg_errno();
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0)
		parse_mount_line(line, (size_t)len, l, &seen);
	int r = ferror(f) ? -EIO : 0;
	free(line);
	(void)fclose(f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		if (!l->h[i].v2)
			continue;
		_cleanup_close_ int root = open_hier(&l->h[i]);
		char buf[512];
		if (root >= 0 && read_small_at(root, "cgroup.controllers", buf, sizeof(buf)) >= 0)
			l->h[i].ctrls = controllers_in(buf, true);
	}
	return 0;
}

int cg_layout_at(const char *path, struct cg_layout *l)
{
	memset(l, 0, sizeof(*l));
	int n = snprintf(l->h[0].path, sizeof(l->h[0].path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(l->h[0].path))
		return -ENAMETOOLONG;
	l->h[0].v2 = true;
	_cleanup_close_ int root = open_hier(&l->h[0]);
	if (root < 0)
		return root;
	char buf[512];
	int r = read_small_at(root, "cgroup.controllers", buf, sizeof(buf));
	if (r < 0)
		return r;
	l->h[0].ctrls = controllers_in(buf, true);
	l->n = 1;
	return 0;
}

/* ---- writing --------------------------------------------------------------- */

static int write_at(int dir, const char *name, const char *value, struct nsiso_error *e)
{
	int r = write_file_at(dir, name, value, strlen(value), 0, 0);
	if (r == 0)
		return 0;
	return error_set(e, r, "writing '%s' to %s: %s", value, name, strerror(-r));
}

static void number_or(char *buf, size_t size, uint64_t v, const char *unlimited)
{
	if (v == CG_UNLIMITED)
		snprintf(buf, size, "%s", unlimited);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

static bool file_exists(int dir, const char *name)
{
	return faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int cg_write_limits(int dir, bool v2, unsigned ctrls, const struct cg_limits *lim, struct nsiso_error *e)
{
	char v[64];
	int r = 0;
	if (ctrls & CG_MEMORY) {
		number_or(v, sizeof(v), lim->memory_max, v2 ? "max" : "-1");
		r = write_at(dir, v2 ? "memory.max" : "memory.limit_in_bytes", v, e);
		number_or(v, sizeof(v), lim->memory_high, v2 ? "max" : "-1");
		if (r == 0)
			r = write_at(dir, v2 ? "memory.high" : "memory.soft_limit_in_bytes", v, e);
	}
	if (r == 0 && (ctrls & CG_PIDS)) {
		number_or(v, sizeof(v), lim->pids_max, "max");
		r = write_at(dir, "pids.max", v, e);
	}
	if (r == 0 && (ctrls & CG_CPU)) {
		if (v2) {
			snprintf(v, sizeof(v), "%" PRIu32, lim->cpu_weight);
			r = write_at(dir, "cpu.weight", v, e);
			number_or(v, sizeof(v), lim->cpu_quota, "max");
			snprintf(v + strlen(v), sizeof(v) - strlen(v), " %" PRIu64, lim->cpu_period);
			if (r == 0)
				r = write_at(dir, "cpu.max", v, e);
		} else {
			/* cpu.shares 1024 is weight 100 (the kernel's own mapping). */
			uint64_t shares = (uint64_t)lim->cpu_weight * 1024 / 100;
			snprintf(v, sizeof(v), "%" PRIu64, shares < 2 ? 2 : shares);
			r = write_at(dir, "cpu.shares", v, e);
			snprintf(v, sizeof(v), "%" PRIu64, lim->cpu_period);
			if (r == 0)
				r = write_at(dir, "cpu.cfs_period_us", v, e);
			number_or(v, sizeof(v), lim->cpu_quota, "-1");
			if (r == 0)
				r = write_at(dir, "cpu.cfs_quota_us", v, e);
		}
	}
	if (r == 0 && (ctrls & CG_IO) && lim->io_weight) {
		/* The weight file depends on the block layer: iocost or BFQ (v2),
		 * CFQ or BFQ (v1). Without one there is no weight to set. */
		uint32_t w = lim->io_weight;
		if (v2 && file_exists(dir, "io.weight")) {
			snprintf(v, sizeof(v), "default %" PRIu32, w);
			r = write_at(dir, "io.weight", v, e);
		} else if (file_exists(dir, v2 ? "io.bfq.weight" : "blkio.bfq.weight")) {
			snprintf(v, sizeof(v), "%" PRIu32, w > 1000 ? 1000 : w);
			r = write_at(dir, v2 ? "io.bfq.weight" : "blkio.bfq.weight", v, e);
		} else if (!v2 && file_exists(dir, "blkio.weight")) {
			uint32_t b = w / 10 < 10 ? 10 : w / 10 > 1000 ? 1000 : w / 10;
			snprintf(v, sizeof(v), "%" PRIu32, b);
			r = write_at(dir, "blkio.weight", v, e);
		} else {
			r = error_set(
			    e, -EOPNOTSUPP,
			    "io_weight: this host's block layer offers no weight (no %s); use the bfq scheduler "
			    "or drop io_weight",
			    v2 ? "io.weight or io.bfq.weight" : "blkio.weight or blkio.bfq.weight");
		}
	}
	return r;
}

/* v2: make the controllers available to the groups below dir. */
static int v2_enable(int dir, unsigned ctrls, struct nsiso_error *e)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ CG_MEMORY, "memory" }, { CG_PIDS, "pids" },	  { CG_CPU, "cpu" },
		{ CG_IO, "io" },	 { CG_CPUSET, "cpuset" },
	};
	char have[512];
	if (read_small_at(dir, "cgroup.subtree_control", have, sizeof(have)) < 0)
		have[0] = '\0';
	unsigned on = controllers_in(have, true);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(ctrls & names[i].bit) || (on & names[i].bit))
			continue;
		char w[16];
		snprintf(w, sizeof(w), "+%s", names[i].name);
		int r = write_at(dir, "cgroup.subtree_control", w, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *ctrl_names(unsigned c, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", c & CG_MEMORY ? " memory" : "", c & CG_PIDS ? " pids" : "",
		 c & CG_CPU ? " cpu" : "", c & CG_IO ? " io" : "", c & CG_CPUSET ? " cpuset" : "");
	return buf[0] ? buf + 1 : buf;
}

void cg_close(struct cg_group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		close_fd(&g->g[i].procs);
		close_fd(&g->g[i].dir);
		close_fd(&g->g[i].parent);
	}
	g->n = 0;
}

/* Modes, whatever the umask: the parent nsiso/ can be walked through but
 * not listed; a container's own group is readable, as systemd's are. The
 * kernel walks down to a cgroup namespace's root with the mounter's
 * credentials when the container mounts its cgroup2 (nested_userns,
 * helper/mounts.c): container root must pass both (before 6.16). */
#define CG_PARENT_MODE 0711
#define CG_GROUP_MODE 0755

static int open_with_mode(int at, const char *name, mode_t mode)
{
	_cleanup_close_ int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, mode) < 0)
		return neg_errno();
	return TAKE_FD(fd);
}

/* mkdir that accepts an existing directory, then open it without following
 * symlinks. */
static int make_dir(int at, const char *name)
{
	if (mkdirat(at, name, CG_PARENT_MODE) < 0 && errno != EEXIST)
		return neg_errno();
	return open_with_mode(at, name, CG_PARENT_MODE);
}

/* The group of a new container: made here, never an existing directory
 * (an earlier container of the same user may still be removing its own). */
static int make_new_dir(int at, const char *name)
{
	if (mkdirat(at, name, CG_GROUP_MODE) < 0)
		return neg_errno();
	return open_with_mode(at, name, CG_GROUP_MODE);
}

/* ---- cpuset ---------------------------------------------------------------- */

#define CPUS_MAX 4096

/* A kernel CPU list ("0-3,8,10-11") into a bitmap; the count, or -EINVAL. */
static int cpulist_parse(const char *text, unsigned char *set)
{
	int n = 0;
	memset(set, 0, CPUS_MAX / 8);
	for (const char *p = text; *p && *p != '\n';) {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;
		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				return -EINVAL;
		}
		if (a > b || b >= CPUS_MAX)
			return -EINVAL;
		for (unsigned long c = a; c <= b; c++)
			if (!(set[c / 8] & (1u << (c % 8)))) {
				set[c / 8] |= (unsigned char)(1u << (c % 8));
				n++;
			}
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* want of the CPUs in set, starting at the one numbered first (mod their
 * count), as a kernel CPU list. */
static void cpulist_pick(const unsigned char *set, int have, unsigned want, unsigned first, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	unsigned skip = first % (unsigned)have, taken = 0;
	for (unsigned round = 0; round < 2 && taken < want; round++)
		for (unsigned c = 0, idx = 0; c < CPUS_MAX && taken < want; c++) {
			if (!(set[c / 8] & (1u << (c % 8))))
				continue;
			bool in_round = round == 0 ? idx >= skip : idx < skip;
			idx++;
			if (!in_round)
				continue;
			int k = snprintf(out + len, size - len, "%s%u", len ? "," : "", c);
			if (k < 0 || (size_t)k >= size - len)
				return;
			len += (size_t)k;
			taken++;
		}
}

/* v1 cpuset: a new directory has no CPUs and no memory nodes, and takes
 * no process until it has both: the parent's, when dir has none yet. */
static int cpuset_v1_inherit(int parent, int dir, struct nsiso_error *e)
{
	static const char *const files[][2] = { { "cpuset.cpus", "cpuset.effective_cpus" },
						{ "cpuset.mems", "cpuset.effective_mems" } };
	for (size_t i = 0; i < 2; i++) {
		char have[512], from[512];
		if (read_small_at(dir, files[i][0], have, sizeof(have)) > 0 && have[0] != '\n')
			continue;
		if (read_small_at(parent, files[i][1], from, sizeof(from)) <= 0)
			return error_set(e, -EIO, "reading %s of the parent cpuset", files[i][1]);
		from[strcspn(from, "\n")] = '\0';
		int r = write_at(dir, files[i][0], from, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* cpus = N in the group dir under parent: N of the parent's CPUs, from a
 * place that depends on name. */
static int cpuset_write(int parent, int dir, bool v2, uint32_t cpus, const char *name, struct nsiso_error *e)
{
	static unsigned char set[CPUS_MAX / 8];
	char text[1024], pick[1024];
	if (!v2) {
		int r = cpuset_v1_inherit(parent, dir, e); /* the memory nodes, and CPUs for now */
		if (r < 0)
			return r;
	}
	if (read_small_at(parent, v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", text, sizeof(text)) <= 0)
		return error_set(e, -EIO, "reading the CPUs of the parent cpuset");
	int have = cpulist_parse(text, set);
	if (have <= 0)
		return error_set(e, -EIO, "the parent cpuset's CPU list '%.64s'", text);
	uint32_t h = 2166136261u; /* FNV-1a of the name: where this user's CPUs start */
	for (const char *c = name; *c && *c != '@'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	cpulist_pick(set, have, cpus < (unsigned)have ? cpus : (unsigned)have, h, pick, sizeof(pick));
	return write_at(dir, "cpuset.cpus", pick, e);
}

/* cg_create() under one name: -EEXIST, with nothing made, when a
 * hierarchy has that group already. */
static int create_named(const struct cg_layout *l, const char *name, unsigned need, const struct cg_limits *lim,
			struct cg_group *g, struct nsiso_error *e)
{
	int r = 0;
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "%s", name);
	for (size_t i = 0; i < l->n && r == 0; i++) {
		const struct cg_hier *h = &l->h[i];
		/* v1: memory and pids always (usage), the others when limited. */
		unsigned use = h->ctrls & (need | CG_MEMORY | CG_PIDS);
		if (!h->v2 && !use)
			continue;
		_cleanup_close_ int root = open_hier(h);
		if (root < 0) {
			r = error_set(e, root, "opening the cgroup hierarchy %s", h->path);
			break;
		}
		int k = (int)g->n;
		g->g[k].v2 = h->v2;
		g->g[k].parent = g->g[k].dir = g->g[k].procs = -EBADF;
		g->n++;
		/* Another supervisor may remove an empty nsiso/ between our two
		 * mkdirs: try again then. */
		for (int attempt = 0; attempt < 3; attempt++) {
			close_fd(&g->g[k].parent);
			r = h->v2 ? v2_enable(root, use, e) : 0;
			if (r < 0)
				break;
			g->g[k].parent = make_dir(root, CG_DIR);
			if (g->g[k].parent < 0) {
				r = error_set(e, g->g[k].parent, "creating %s/%s: %s", h->path, CG_DIR,
					      strerror(-g->g[k].parent));
				break;
			}
			r = h->v2 ? v2_enable(g->g[k].parent, use, e) : 0;
			if (r == 0 && !h->v2 && (use & CG_CPUSET))
				r = cpuset_v1_inherit(root, g->g[k].parent, e);
			if (r < 0)
				break;
			g->g[k].dir = make_new_dir(g->g[k].parent, name);
			r = g->g[k].dir < 0 ? g->g[k].dir : 0;
			if (r != -ENOENT)
				break;
		}
		if (r == -EEXIST) {
			/* not ours: cg_remove() below must not touch it */
			close_fd(&g->g[k].parent);
			g->n--;
			break;
		}
		if (r < 0) {
			if (g->g[k].dir < 0 && !e->detail[0])
				(void)error_set(e, r, "creating %s/%s/%s: %s", h->path, CG_DIR, name, strerror(-r));
			break;
		}
		r = cg_write_limits(g->g[k].dir, h->v2, use, lim, e);
		if (r == 0 && (use & CG_CPUSET))
			r = cpuset_write(g->g[k].parent, g->g[k].dir, h->v2, lim->cpus, name, e);
		if (r < 0)
			break;
		g->g[k].ctrls = use;
		g->g[k].procs = openat(g->g[k].dir, cg_enter_file(h->v2), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (g->g[k].procs < 0) {
			r = neg_errno();
			(void)error_set(e, r, "opening %s/%s/%s/%s", h->path, CG_DIR, name, cg_enter_file(h->v2));
		}
	}
	if (r < 0)
		(void)cg_remove(g, 0);
	return r;
}

int cg_create(const struct cg_layout *l, const char *name, const struct cg_limits *lim, struct cg_group *g,
	      struct nsiso_error *e)
{
	unsigned need = cg_limits_controllers(lim), avail = 0;
	char names[64], try[sizeof(g->name)];

	memset(g, 0, sizeof(*g));
	e->detail[0] = '\0';
	if (!cg_name_ok(name) || strlen(name) + 3 > sizeof(g->name) - 1)
		return error_set(e, -EINVAL, "'%.64s' cannot name a cgroup", name);
	for (size_t i = 0; i < l->n; i++)
		avail |= l->h[i].ctrls;
	if (need & ~avail)
		return error_set(e, -EOPNOTSUPP, "the policy sets limits of controllers this host does not offer: %s",
				 ctrl_names(need & ~avail, names, sizeof(names)));
	/* NAME, or NAME@2... while earlier containers of the user are still
	 * removing theirs: a login never waits for a teardown. */
	for (int gen = 1; gen <= CG_GENERATIONS; gen++) {
		if (gen == 1)
			snprintf(try, sizeof(try), "%s", name);
		else
			snprintf(try, sizeof(try), "%s@%d", name, gen);
		int r = create_named(l, try, need, lim, g, e);
		if (r != -EEXIST)
			return r;
	}
	return error_set(e, -EBUSY, "%s/%s and %s@2..@%d exist: earlier containers of the user are still being removed",
			 CG_DIR, name, name, CG_GENERATIONS);
}

bool cg_name_user(const char *group, char *user, size_t size)
{
	const char *at = strrchr(group, '@');
	size_t len = at && at[1] >= '2' && at[1] <= '9' && !at[2] ? (size_t)(at - group) : strlen(group);
	if (len >= size)
		return false;
	memcpy(user, group, len);
	user[len] = '\0';
	return true;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	(void)nanosleep(&ts, NULL);
}

int cg_remove(struct cg_group *g, int timeout_ms)
{
	int result = 0;
	for (size_t i = 0; i < g->n; i++) {
		close_fd(&g->g[i].procs);
		close_fd(&g->g[i].dir);
		if (g->g[i].parent < 0)
			continue;
		/* The last processes of a killed PID namespace take a moment to
		 * leave the group. */
		int waited = 0, r;
		while ((r = unlinkat(g->g[i].parent, g->name, AT_REMOVEDIR)) < 0 && errno == EBUSY &&
		       waited < timeout_ms) {
			sleep_ms(5);
			waited += 5;
		}
		if (r < 0 && errno != ENOENT)
			result = neg_errno();
		/* nsiso/ itself when no other container uses it; a creator that
		 * loses this race makes it again. */
		_cleanup_close_ int root = openat(g->g[i].parent, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0)
			(void)unlinkat(root, CG_DIR, AT_REMOVEDIR);
		close_fd(&g->g[i].parent);
	}
	g->n = 0;
	return result;
}

static bool group_empty(int parent, const char *name)
{
	_cleanup_close_ int dir = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char buf[16];
	return dir >= 0 && read_small_at(dir, "cgroup.procs", buf, sizeof(buf)) == 0;
}

int cg_sweep(const struct cg_layout *l, bool (*may_remove)(const char *name, void *ctx), void *ctx)
{
	int removed = 0;
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_close_ int root = open_hier(&l->h[i]);
		if (root < 0)
			continue;
		int parent = openat(root, CG_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (parent < 0)
			continue;
		DIR *d = fdopendir(parent);
		if (!d) {
			(void)close(parent);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || !cg_name_ok(e->d_name) || !group_empty(parent, e->d_name))
				continue;
			/* Under the owner's lock: not a group being created. */
			if (may_remove(e->d_name, ctx) && group_empty(parent, e->d_name) &&
			    unlinkat(parent, e->d_name, AT_REMOVEDIR) == 0)
				removed++;
		}
		(void)closedir(d);
		(void)unlinkat(root, CG_DIR, AT_REMOVEDIR);
	}
	return removed;
}

static uint64_t read_number(int dir, const char *name)
{
	char buf[64];
	if (read_small_at(dir, name, buf, sizeof(buf)) <= 0)
		return CG_UNLIMITED;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	return errno || end == buf ? CG_UNLIMITED : (uint64_t)v;
}

void cg_usage(const struct cg_layout *l, const char *path, uint64_t *memory, uint64_t *pids)
{
	*memory = *pids = CG_UNLIMITED;
	/* A path below the roots, as the supervisor recorded it: never up. */
	if (path[0] == '/' || strstr(path, "..") || strstr(path, "//"))
		return;
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_close_ int root = open_hier(&l->h[i]);
		_cleanup_close_ int dir =
		    root < 0 ? -EBADF : openat(root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir < 0)
			continue;
		if ((l->h[i].ctrls & CG_MEMORY) && *memory == CG_UNLIMITED)
			*memory = read_number(dir, l->h[i].v2 ? "memory.current" : "memory.usage_in_bytes");
		if ((l->h[i].ctrls & CG_PIDS) && *pids == CG_UNLIMITED)
			*pids = read_number(dir, "pids.current");
	}
}

/* "KEY N" in a flat-keyed file such as cpu.stat; CG_UNLIMITED if absent. */
static uint64_t read_key(int dir, const char *name, const char *key)
{
	char buf[1024];
	if (read_small_at(dir, name, buf, sizeof(buf)) <= 0)
		return CG_UNLIMITED;
	size_t k = strlen(key);
	for (const char *line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ' ')
			return strtoull(line + k + 1, NULL, 10);
	return CG_UNLIMITED;
}

/* v into *to, when it is known. */
static void known(uint64_t *to, uint64_t v)
{
	if (v != CG_UNLIMITED)
		*to = v;
}

void cg_group_usage(const struct cg_group *g, struct cg_usage *u)
{
	u->memory = u->pids = u->throttled = u->throttled_us = CG_UNLIMITED;
	/* Each hierarchy has the files of its own controllers (a hybrid host's
	 * v2 one may have none); what one does not have leaves the value. */
	for (size_t i = 0; i < g->n; i++) {
		int dir = g->g[i].dir;
		bool v2 = g->g[i].v2;
		known(&u->memory, read_number(dir, v2 ? "memory.current" : "memory.usage_in_bytes"));
		known(&u->pids, read_number(dir, "pids.current"));
		uint64_t n = read_key(dir, "cpu.stat", "nr_throttled");
		if (n == CG_UNLIMITED)
			continue;
		u->throttled = n;
		uint64_t t = read_key(dir, "cpu.stat", v2 ? "throttled_usec" : "throttled_time");
		u->throttled_us = t == CG_UNLIMITED || v2 ? t : t / 1000; /* v1: ns */
	}
}

/* ---- OOM kills ----------------------------------------------------------- */

/* "oom_kill N" in a memory.events or memory.oom_control. */
static uint64_t oom_kill_count(int fd)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *k = strstr(buf, "oom_kill ");
	return k ? strtoull(k + 9, NULL, 10) : 0;
}

int cg_oom_watch(const struct cg_group *g, struct cg_oom *w)
{
	w->poll_fd = w->count_fd = -EBADF;
	w->kills = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (!(g->g[i].ctrls & CG_MEMORY))
			continue;
		w->v2 = g->g[i].v2;
		w->count_fd = openat(g->g[i].dir, w->v2 ? "memory.events" : "memory.oom_control",
				     O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (w->count_fd < 0)
			return neg_errno();
		if (w->v2) {
			/* kernfs: a change of the file wakes poll() with POLLPRI */
			w->poll_fd = w->count_fd;
			w->events = POLLPRI;
		} else {
			_cleanup_close_ int ec = openat(g->g[i].dir, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
			w->poll_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			char line[32];
			int len = snprintf(line, sizeof(line), "%d %d", w->poll_fd, w->count_fd);
			if (ec < 0 || w->poll_fd < 0 || write(ec, line, (size_t)len) != len) {
				int r = neg_errno();
				cg_oom_close(w);
				return r;
			}
			w->events = POLLIN;
		}
		w->kills = oom_kill_count(w->count_fd);
		return 0;
	}
	return -ENOENT;
}

uint64_t cg_oom_kills(struct cg_oom *w)
{
	if (!w->v2 && w->poll_fd >= 0) {
		uint64_t drained;
		(void)!read(w->poll_fd, &drained, sizeof(drained));
	}
	return w->count_fd >= 0 ? oom_kill_count(w->count_fd) : w->kills;
}

uint64_t cg_oom_peek(const struct cg_oom *w)
{
	return w->count_fd >= 0 ? oom_kill_count(w->count_fd) : w->kills;
}

void cg_oom_close(struct cg_oom *w)
{
	if (w->poll_fd >= 0 && w->poll_fd != w->count_fd)
		(void)close(w->poll_fd);
	if (w->count_fd >= 0)
		(void)close(w->count_fd);
	w->poll_fd = w->count_fd = -EBADF;
}
