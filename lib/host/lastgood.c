/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "lastgood.h"
#include "util.h"

/* The last policy that validated, kept under KEEP/<key>/ as a copy of its
 * files in the same layout (NAME and NAME.d/NN.conf), so that loading it is
 * policy_load() of a path like any other, with every trust check (KEEP is
 * root's, 0700, on the tmpfs /run: forgotten at boot by design). KEEP/<key>/
 * stamp names the files it was copied from (path, size, mtime, inode) so
 * that an unchanged policy is not copied again; KEEP/<key>/failing holds
 * the time and first error while the policy is invalid, for nsiso list.
 * Every change is made under KEEP/lock; a new copy is loaded once before it
 * replaces the old one (the files may have changed since they validated). */

#define STAMP_MAX 16384
#define LG_PATH 2048 /* KEEP (short) + the key (3x a policy path at most) + a file name */

/* snprintf for paths: -ENAMETOOLONG instead of a cut path. */
static int pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void key_of(const char *path, char *key, size_t size)
{
	size_t n = 0;
	for (const char *c = path; *c && n + 4 < size; c++) {
		if (*c == '/' || *c == '%')
			n += (size_t)snprintf(key + n, size - n, "%%%02X", (unsigned char)*c);
		else
			key[n++] = *c;
	}
	key[n] = '\0';
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

int lastgood_paths(const char *keep, const char *path, char *dir, size_t dir_size, char *main, size_t main_size)
{
	char key[3 * POLICY_PATH_MAX + 1];
	key_of(path, key, sizeof(key));
	int r = pathf(dir, dir_size, "%s/%s", keep, key);
	return r < 0 ? r : pathf(main, main_size, "%s/%s/%s", keep, key, base_of(path));
}

static int stamp_of(const struct policy *p, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->n_files; i++) {
		struct stat st;
		if (stat(p->files[i], &st) < 0)
			return neg_errno();
		int w = snprintf(out + n, size - n, "%s %lld %lld.%09ld %llu\n", p->files[i], (long long)st.st_size,
				 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
		if (w < 0 || (size_t)w >= size - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	return 0;
}

static ssize_t read_all(const char *path, char *buf, size_t size)
{
	return read_small_at(AT_FDCWD, path, buf, size);
}

static int write_all(const char *path, const char *buf, size_t len)
{
	return write_file_at(AT_FDCWD, path, buf, len, O_CREAT | O_TRUNC, 0600);
}

/* The whole file or an error, never a cut copy: a policy file is at most
 * 1 MiB (the loader's limit), and one byte more means it grew meanwhile. */
static int copy_file(const char *from, const char *to)
{
	static char buf[(1 << 20) + 1];
	_cleanup_close_ int fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	size_t len = 0;
	for (;;) {
		ssize_t n = RETRY_EINTR(read(fd, buf + len, sizeof(buf) - len));
		if (n < 0)
			return neg_errno();
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf))
			return -EFBIG;
	}
	return write_all(to, buf, len);
}

static void remove_tree(const char *dir)
{
	char sub[LG_PATH];
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		/* two levels: NAME, stamp, failing, NAME.d/NN.conf */
		DIR *d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(fd, de->d_name, 0) < 0 && errno == EISDIR) {
				_cleanup_close_ int sfd =
				    pathf(sub, sizeof(sub), "%s/%s", dir, de->d_name) < 0
					? -1
					: open(sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				DIR *sd = sfd >= 0 ? fdopendir(fcntl(sfd, F_DUPFD_CLOEXEC, 3)) : NULL;
				struct dirent *se;
				while (sd && (se = readdir(sd)))
					if (strcmp(se->d_name, ".") != 0 && strcmp(se->d_name, "..") != 0)
						(void)unlinkat(sfd, se->d_name, 0);
				if (sd)
					closedir(sd);
				(void)unlinkat(fd, de->d_name, AT_REMOVEDIR);
			}
		}
		if (d)
			closedir(d);
	}
	(void)rmdir(dir);
}

/* A root-owned 0700 directory, made if missing. */
static int own_dir(const char *path)
{
	int fd = open_state_dir(path, true);
	if (fd < 0)
		return fd;
	(void)close(fd);
	return 0;
}

/* Copy the files of p (which just validated) unless the copy is already of
 * them; load the copy before it replaces the old one. */
static char now[STAMP_MAX], was[STAMP_MAX];
static struct policy check;

static int keep(const struct policy *p, const char *keepdir, const char *path)
{
	char dir[LG_PATH], main[LG_PATH], f[LG_PATH];
	int r = lastgood_paths(keepdir, path, dir, sizeof(dir), main, sizeof(main));
	if (r == 0)
		r = stamp_of(p, now, sizeof(now));
	if (r == 0)
		r = pathf(f, sizeof(f), "%s/stamp", dir);
	if (r < 0)
		return r;
	if (read_all(f, was, sizeof(was)) >= 0 && strcmp(was, now) == 0) {
		if (pathf(f, sizeof(f), "%s/failing", dir) == 0)
			(void)unlink(f);
		return 0;
	}
	if ((r = own_dir(keepdir)) < 0 || (r = pathf(f, sizeof(f), "%s/lock", keepdir)) < 0)
		return r;
	_cleanup_close_ int lock = open(f, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return neg_errno();
	char tmp[LG_PATH], tmain[LG_PATH];
	if ((r = pathf(tmp, sizeof(tmp), "%s/.new.%d", keepdir, (int)getpid())) < 0 ||
	    (r = pathf(tmain, sizeof(tmain), "%s/%s", tmp, base_of(path))) < 0)
		return r;
	remove_tree(tmp);
	if ((r = own_dir(tmp)) < 0)
		return r;
	for (size_t i = 0; i < p->n_files && r == 0; i++) {
		if (strcmp(p->files[i], path) == 0) {
			r = copy_file(path, tmain);
			continue;
		}
		/* a drop-in: PATH.d/NAME */
		if ((r = pathf(f, sizeof(f), "%s.d", tmain)) == 0 && (r = own_dir(f)) == 0 &&
		    (r = pathf(f, sizeof(f), "%s.d/%s", tmain, base_of(p->files[i]))) == 0)
			r = copy_file(p->files[i], f);
	}
	if (r == 0 && (r = pathf(f, sizeof(f), "%s/stamp", tmp)) == 0)
		r = write_all(f, now, strlen(now));
	/* What was copied must validate too: the files may have changed since. */
	struct nsiso_error err = { 0 };
	if (r == 0 && (r = policy_load(&check, tmain, &err)) == 0 && check.n_files != p->n_files)
		r = -ESTALE;
	if (r == 0) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) < 0 &&
		    (errno != ENOENT || rename(tmp, dir) < 0))
			r = neg_errno();
	}
	remove_tree(tmp);
	return r;
}

int policy_load_kept(struct policy *p, const char *path, const char *keepdir, struct policy_kept *k,
		     struct nsiso_error *e)
{
	memset(k, 0, sizeof(*k));
	int r = policy_load(p, path, e);
	if (r == 0) {
		if (!p->builtin) {
			k->keep_error = keep(p, keepdir, path);
			/* scratch of a supervisor's every attach: not kept dirty */
			forget_pages(now, sizeof(now));
			forget_pages(was, sizeof(was));
			policy_forget(&check);
		}
		return 0;
	}
	char dir[LG_PATH], main[LG_PATH], f[LG_PATH];
	k->first = *e;
	struct stat st;
	if (lastgood_paths(keepdir, path, dir, sizeof(dir), main, sizeof(main)) < 0 ||
	    pathf(f, sizeof(f), "%s/stamp", dir) < 0 || stat(f, &st) < 0)
		return r; /* no valid policy seen since boot: refuse */
	struct nsiso_error kerr = { 0 };
	if (policy_load(p, main, &kerr) < 0)
		return r;
	k->used = true;
	k->saved = (int64_t)st.st_mtim.tv_sec;
	/* A success leaves no error behind: PATH's is in k->first (a caller
	 * that answers with e, as the helper does, would refuse otherwise). */
	memset(e, 0, sizeof(*e));
	/* For nsiso list: since when, and why (written once per error). */
	static char line[NSISO_DETAIL_MAX + 2], old[NSISO_DETAIL_MAX + 2];
	int n = snprintf(line, sizeof(line), "%s\n", k->first.detail);
	if (pathf(f, sizeof(f), "%s/failing", dir) == 0 && n > 0 &&
	    (read_all(f, old, sizeof(old)) < 0 || strcmp(old, line) != 0))
		(void)write_all(f, line, (size_t)n);
	return 0;
}

int lastgood_status(const char *keepdir, const char *path, int64_t *saved, int64_t *failing_since,
		    struct nsiso_error *failing)
{
	char dir[LG_PATH], main[LG_PATH], f[LG_PATH];
	struct stat st;
	if (lastgood_paths(keepdir, path, dir, sizeof(dir), main, sizeof(main)) < 0 ||
	    pathf(f, sizeof(f), "%s/stamp", dir) < 0 || stat(f, &st) < 0)
		return -ENOENT;
	*saved = (int64_t)st.st_mtim.tv_sec;
	*failing_since = 0;
	memset(failing, 0, sizeof(*failing));
	if (pathf(f, sizeof(f), "%s/failing", dir) == 0 && stat(f, &st) == 0 &&
	    read_all(f, failing->detail, sizeof(failing->detail)) >= 0) {
		*failing_since = (int64_t)st.st_mtim.tv_sec;
		failing->detail[strcspn(failing->detail, "\n")] = '\0';
		failing->error = -EINVAL;
		failing->step = STEP_POLICY;
	}
	return 0;
}
