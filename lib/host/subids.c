/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <shadow.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "idmap.h"
#include "subids.h"
#include "util.h"

#define REGISTRY "subids"
#define REGISTRY_LOCK "subids.lock"
#define SUBID_FILE_BYTES (64u << 20)

static struct subid_entry entries[SUBIDS_MAX];
bool (*subids_taken_elsewhere)(uint32_t base);

/* The state directory, made root's 0700 if absent, refused if anything else. */
static int open_statedir(bool create)
{
	return open_state_dir(NSISO_STATEDIR, create);
}

/* Parse the registry text: the count, or -EBADMSG. */
static int parse_registry(const char *text, struct subid_entry *out, size_t max)
{
	size_t n = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[320], name[256];
		unsigned long uid, start;
		if (len >= sizeof(line) || n >= max)
			return -EBADMSG;
		memcpy(line, p, len);
		line[len] = '\0';
		if (sscanf(line, "%255s %lu %lu", name, &uid, &start) != 3 || uid > UINT32_MAX ||
		    start > UINT32_MAX - SUBID_BLOCK || start % SUBID_BLOCK)
			return -EBADMSG;
		snprintf(out[n].name, sizeof(out[n].name), "%s", name);
		out[n].uid = (uint32_t)uid;
		out[n].start = (uint32_t)start;
		n++;
		p += len + (nl ? 1 : 0);
	}
	return (int)n;
}

static int load(int dir, struct subid_entry *out, size_t max)
{
	_cleanup_close_ int fd = openat(dir, REGISTRY, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : neg_errno();
	_cleanup_free_ char *text = NULL;
	int r = read_whole_fd(fd, SUBIDS_MAX * 320, &text, NULL);
	return r < 0 ? r : parse_registry(text, out, max);
}

static int save(int dir, const struct subid_entry *e, size_t n)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), REGISTRY ".new.%d", (int)getpid());
	_cleanup_close_ int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return neg_errno();
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int r = neg_errno();
		(void)unlinkat(dir, tmp, 0);
		return r;
	}
	fd = -EBADF; /* the FILE owns it now */
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %" PRIu32 " %" PRIu32 "\n", e[i].name, e[i].uid, e[i].start);
	int r = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : neg_errno();
	if (fclose(f) != 0 && r == 0)
		r = neg_errno();
	if (r == 0 && renameat(dir, tmp, dir, REGISTRY) < 0)
		r = neg_errno();
	if (r < 0)
		(void)unlinkat(dir, tmp, 0);
	return r;
}

int subids_lookup(const char *name, uint32_t uid, uint32_t *start)
{
	_cleanup_close_ int dir = open_statedir(false);
	if (dir == -ENOENT)
		return 0;
	if (dir < 0)
		return dir;
	int n = load(dir, entries, SUBIDS_MAX);
	for (int i = 0; i < n; i++)
		if (entries[i].uid == uid && strcmp(entries[i].name, name) == 0) {
			*start = entries[i].start;
			return 1;
		}
	return n < 0 ? n : 0;
}

int subid_file_read(const char *path, char **text, struct nsiso_error *e)
{
	struct nsiso_error why = { 0 };
	*text = NULL;
	_cleanup_close_ int fd = open_trusted_file(path, &why);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return error_set(e, fd, "%s: %s", path, why.detail[0] ? why.detail : strerror(-fd));
	size_t len = 0;
	int r = read_whole_fd(fd, SUBID_FILE_BYTES, text, &len);
	if (r == -EFBIG)
		return error_set(e, r, "%s is larger than %u bytes", path, SUBID_FILE_BYTES);
	if (r < 0)
		return error_set(e, r, "reading %s", path);
	if (memchr(*text, '\0', len)) {
		free(*text);
		*text = NULL;
		return error_set(e, -EINVAL, "%s contains a NUL byte", path);
	}
	return 0;
}

bool subids_name_ok(const char *name)
{
	if (!name[0] || strlen(name) >= sizeof(entries[0].name))
		return false;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/* Both files, read whole: an unreadable or oversized one is an error
 * (never "no overlap"). */
static int read_both(char **subuid, char **subgid, struct nsiso_error *e)
{
	int r = subid_file_read("/etc/subuid", subuid, e);
	return r < 0 ? r : subid_file_read("/etc/subgid", subgid, e);
}

static bool block_in_files(const char *subuid, const char *subgid, uint64_t b)
{
	return subid_overlaps(subuid, b, SUBID_BLOCK) || subid_overlaps(subgid, b, SUBID_BLOCK);
}

/* The first id of the block is nobody NSS knows (as systemd checks a range). */
static bool base_free(uint32_t base)
{
	struct passwd pw, *pr = NULL;
	struct group gr, *gres = NULL;
	char buf[4096];
	int a = getpwuid_r(base, &pw, buf, sizeof(buf), &pr);
	int b = getgrgid_r(base, &gr, buf, sizeof(buf), &gres);
	return a == 0 && !pr && b == 0 && !gres;
}

int subids_allocate(const char *name, uint32_t uid, uint32_t pool_start, uint32_t pool_end, uint32_t *start,
		    struct nsiso_error *e)
{
	/* A space, \v or \r would split or fold the registry's line: the
	 * entry would never be found again and each login allocate anew. */
	if (!subids_name_ok(name))
		return error_set(e, -EINVAL, "the user name has a blank or control character and cannot be recorded");
	_cleanup_close_ int dir = open_statedir(true);
	if (dir < 0)
		return error_set(e, dir, "%s must be a root-owned directory of mode 0700", NSISO_STATEDIR);
	_cleanup_close_ int lock = openat(dir, REGISTRY_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0 || RETRY_EINTR(flock(lock, LOCK_EX)) < 0)
		return error_set(e, neg_errno(), "locking %s/%s", NSISO_STATEDIR, REGISTRY_LOCK);
	int n = load(dir, entries, SUBIDS_MAX);
	if (n < 0)
		return error_set(e, n, "%s/%s is not a registry of nsiso's (or unreadable)", NSISO_STATEDIR, REGISTRY);
	for (int i = 0; i < n; i++) {
		if (entries[i].uid != uid || strcmp(entries[i].name, name) != 0)
			continue;
		/* Registered: still the user's alone? An admin may have given
		 * those ids to someone in the files since. */
		_cleanup_free_ char *subuid = NULL, *subgid = NULL;
		int r = read_both(&subuid, &subgid, e);
		if (r < 0)
			return r;
		if (block_in_files(subuid, subgid, entries[i].start))
			return error_set(e, -EEXIST,
					 "the registered range %u-%u of %s now overlaps a line of /etc/subuid or "
					 "/etc/subgid",
					 entries[i].start, entries[i].start + SUBID_BLOCK - 1, name);
		*start = entries[i].start;
		return 0;
	}
	if (n >= SUBIDS_MAX)
		return error_set(e, -ENOSPC, "the registry is full");
	/* shadow's tools (useradd, usermod) edit /etc/subuid under this lock. */
	if (lckpwdf() < 0)
		return error_set(e, -EBUSY, "lckpwdf");
	_cleanup_free_ char *subuid = NULL, *subgid = NULL;
	int r = read_both(&subuid, &subgid, e);
	if (r < 0) {
		(void)ulckpwdf();
		return r;
	}
	r = -ENOSPC;
	uint64_t b = ((uint64_t)pool_start + SUBID_BLOCK - 1) / SUBID_BLOCK * SUBID_BLOCK;
	for (; b + SUBID_BLOCK - 1 <= pool_end; b += SUBID_BLOCK) {
		bool taken = block_in_files(subuid, subgid, b);
		for (int i = 0; i < n && !taken; i++)
			taken = entries[i].start == b;
		if (taken || !base_free((uint32_t)b) || (subids_taken_elsewhere && subids_taken_elsewhere((uint32_t)b)))
			continue;
		snprintf(entries[n].name, sizeof(entries[n].name), "%s", name);
		entries[n].uid = uid;
		entries[n].start = (uint32_t)b;
		r = save(dir, entries, (size_t)n + 1);
		if (r < 0)
			(void)error_set(e, r, "writing %s/%s", NSISO_STATEDIR, REGISTRY);
		else
			*start = (uint32_t)b;
		break;
	}
	if (r == -ENOSPC)
		(void)error_set(e, r, "no free range of %u ids left in the pool %u-%u", SUBID_BLOCK, pool_start,
				pool_end);
	(void)ulckpwdf();
	return r;
}

int subids_list(struct subid_entry *out, size_t max)
{
	_cleanup_close_ int dir = open_statedir(false);
	if (dir == -ENOENT)
		return 0;
	if (dir < 0)
		return dir;
	return load(dir, out, max);
}

int subids_release_stale(struct nsiso_error *e)
{
	_cleanup_close_ int dir = open_statedir(false);
	if (dir == -ENOENT)
		return 0;
	if (dir < 0)
		return dir;
	_cleanup_close_ int lock = openat(dir, REGISTRY_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0 || RETRY_EINTR(flock(lock, LOCK_EX)) < 0)
		return neg_errno();
	int n = load(dir, entries, SUBIDS_MAX);
	if (n < 0)
		return error_set(e, n, "%s/%s is unreadable or malformed", NSISO_STATEDIR, REGISTRY);
	int kept = 0;
	for (int i = 0; i < n; i++) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		int en = getpwuid_r(entries[i].uid, &pw, buf, sizeof(buf), &res);
		if (en != 0) /* never drop a range on a lookup failure */
			return error_set(e, -en, "NSS could not answer for uid %u", entries[i].uid);
		if (res && strcmp(res->pw_name, entries[i].name) == 0)
			entries[kept++] = entries[i];
	}
	int r = kept == n ? 0 : save(dir, entries, (size_t)kept);
	return r < 0 ? r : n - kept;
}

bool subids_nss_provider(char *src, size_t size)
{
	FILE *f = fopen("/etc/nsswitch.conf", "re");
	char line[256];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char word[64];
		if (strncasecmp(line, "subid:", 6) == 0 && sscanf(line + 6, "%63s", word) == 1 &&
		    strcmp(word, "files") != 0) {
			snprintf(src, size, "%s", word);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}
