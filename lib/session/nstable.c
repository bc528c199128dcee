/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "nstable.h"

const struct ns_type ns_types[NS_COUNT] = {
	[NS_USER] = { "user", "user", CLONE_NEWUSER },
	[NS_MNT] = { "mount", "mnt", CLONE_NEWNS },
	[NS_PID] = { "pid", "pid", CLONE_NEWPID },
	[NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
	[NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
	[NS_NET] = { "net", "net", CLONE_NEWNET },
	[NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
};

int ns_index_from_word(const char *word)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (strcmp(word, ns_types[i].word) == 0)
			return i;
	return -1;
}

int ns_clone_flags(unsigned mask)
{
	int flags = 0;
	for (int i = 0; i < NS_COUNT; i++)
		if (mask & NS_BIT(i))
			flags |= ns_types[i].clone_flag;
	return flags;
}

const char *ns_mask_to_words(unsigned mask, char *buf, size_t size)
{
	size_t used = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < NS_COUNT; i++) {
		if (!(mask & NS_BIT(i)))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", ns_types[i].word);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}
