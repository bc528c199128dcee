/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Index of each namespace type in every table, mask and fd array of nsiso.
 * The order is also the order in which fds travel over the wire. */
enum ns_index { NS_USER = 0, NS_MNT, NS_PID, NS_IPC, NS_UTS, NS_NET, NS_CGROUP, NS_COUNT };

#define NS_BIT(i) (1u << (i))
#define NS_ALL ((1u << NS_COUNT) - 1)

struct ns_type {
	const char *word;      /* word in the policy: "mount" */
	const char *proc_name; /* name under /proc/<pid>/ns: "mnt" */
	int clone_flag;	       /* CLONE_NEWNS */
};

extern const struct ns_type ns_types[NS_COUNT];

/* The index for a policy word, or -1. */
int ns_index_from_word(const char *word);

/* CLONE_NEW* flags for a mask of NS_BIT()s. */
int ns_clone_flags(unsigned mask);

/* Write the policy words of mask into buf ("pid mount ..."); returns buf. */
const char *ns_mask_to_words(unsigned mask, char *buf, size_t size);
