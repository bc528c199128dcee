/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "nsverify.h"
#include "util.h"

static int fd_ino(int fd, uint64_t *ino)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return neg_errno();
	*ino = st.st_ino;
	return 0;
}

static int own_ns_ino(const char *name, uint64_t *ino)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	if (stat(path, &st) < 0)
		return neg_errno();
	*ino = st.st_ino;
	return 0;
}

int ns_verify_set(const int fds[NS_COUNT], unsigned mask, uint32_t user_uid, uint64_t ino[NS_COUNT],
		  struct nsiso_error *e)
{
	uint64_t owner_ino, parent_ino;
	int r;

	r = own_ns_ino("user", &owner_ino);
	if (r < 0)
		return error_set(e, r, "cannot stat /proc/self/ns/user");
	parent_ino = owner_ino;

	if (mask & NS_BIT(NS_USER)) {
		int fd = fds[NS_USER];
		if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWUSER)
			return error_set(e, -EBADF, "user namespace fd is not a user namespace");
		uid_t owner = (uid_t)-1;
		if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
			return neg_errno();
		if (owner == user_uid)
			return error_set(e, -EPERM, "user namespace was created by the user (uid %u)", (unsigned)owner);
		_cleanup_close_ int parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0)
			return error_set(e, neg_errno(), "user namespace has no parent visible to the caller");
		uint64_t pino;
		r = fd_ino(parent, &pino);
		if (r < 0)
			return r;
		if (pino != parent_ino)
			return error_set(e, -EPERM, "user namespace is not a direct child of the caller's");
		r = fd_ino(fd, &ino[NS_USER]);
		if (r < 0)
			return r;
		owner_ino = ino[NS_USER];
	}

	for (int i = 0; i < NS_COUNT; i++) {
		if (i == NS_USER || !(mask & NS_BIT(i)))
			continue;
		int fd = fds[i];
		if (ioctl(fd, NS_GET_NSTYPE) != ns_types[i].clone_flag)
			return error_set(e, -EBADF, "%s namespace fd has the wrong type", ns_types[i].proc_name);
		_cleanup_close_ int userns = ioctl(fd, NS_GET_USERNS);
		if (userns < 0)
			return error_set(e, neg_errno(), "owner of the %s namespace is not visible",
					 ns_types[i].proc_name);
		uint64_t uino, own;
		r = fd_ino(userns, &uino);
		if (r < 0)
			return r;
		if (uino != owner_ino)
			return error_set(e, -EPERM, "%s namespace is not owned by the container's user namespace",
					 ns_types[i].proc_name);
		r = fd_ino(fd, &ino[i]);
		if (r < 0)
			return r;
		r = own_ns_ino(ns_types[i].proc_name, &own);
		if (r < 0)
			return r;
		if (own == ino[i])
			return error_set(e, -EPERM, "%s namespace is the caller's own", ns_types[i].proc_name);
	}
	return 0;
}

int ns_verify_answer(const int fds[NS_COUNT], unsigned mask, uint32_t user_uid, const uint64_t announced[NS_COUNT],
		     uint64_t ino[NS_COUNT], struct nsiso_error *e)
{
	if (!(mask & NS_ALL))
		return error_set(e, -EBADMSG, "the answer names no namespace to join");
	int r = ns_verify_set(fds, mask, user_uid, ino, e);
	if (r < 0)
		return r;
	for (int i = 0; i < NS_COUNT; i++)
		if ((mask & NS_BIT(i)) && ino[i] != announced[i])
			return error_set(e, -ESTALE, "the %s namespace is not the one the answer announced",
					 ns_types[i].proc_name);
	return 0;
}
