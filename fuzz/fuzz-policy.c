/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: parse one policy file and resolve it for a few users
 * (THREATS 29). Built with -Dfuzz=true and clang; run by tools/fuzz.sh. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_group(const char *group, void *ctx)
{
	(void)ctx;
	return strcmp(group, "students") == 0 || strcmp(group, "wheel") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy pol;
	struct nsiso_error err = { 0 };
	struct policy_settings s;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	policy_init_empty(&pol, "fuzz.conf");
	int r = policy_load_fd(&pol, fd, "fuzz.conf", &err);
	close(fd);
	if (r == 0)
		r = policy_check_networks(&pol, &err);
	if (r < 0)
		return 0;
	const struct policy_who who[] = {
		{ .user = "alice", .uid = 1001, .group = "students", .host = "h", .in_group = in_group },
		{ .user = "root", .uid = 0, .group = "root", .host = "h", .in_group = in_group },
		{ .user = "bob", .uid = 1002, .group = "bob", .host = "h", .in_group = NULL },
	};
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		(void)policy_resolve(&pol, &who[i], &s, &err);
	return 0;
}
