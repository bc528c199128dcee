/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#include "nstable.h"

/* Check that fds[i] (for each bit i of mask) are namespaces nsiso built for
 * the user with uid user_uid: of the right type; the user namespace a direct
 * child of the caller's and not created by that user (nsiso creates it as
 * host root, or as the container root's subordinate host uid, which runs no
 * process on the host); every other namespace owned by that user namespace
 * (or, with no user namespace, by the caller's) and none of them the
 * caller's own. This is what keeps a tenant's home-made namespaces from ever
 * being joined (docs/THREATS.md 26). ino[] receives each inode. 0 or -errno,
 * with the reason in why. */
int ns_verify_set(const int fds[NS_COUNT], unsigned mask, uint32_t user_uid, uint64_t ino[NS_COUNT],
		  struct nsiso_error *e);

/* The one check of an answer before joining it (the module, the helper and
 * nsiso enter): it names at least one namespace (an answer without any
 * would leave the caller on the host), ns_verify_set() holds, and every
 * inode is the one the answer announced. ino[] receives the inodes. */
int ns_verify_answer(const int fds[NS_COUNT], unsigned mask, uint32_t user_uid, const uint64_t announced[NS_COUNT],
		     uint64_t ino[NS_COUNT], struct nsiso_error *e);
