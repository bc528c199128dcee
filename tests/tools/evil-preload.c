/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A library a hostile caller puts in LD_PRELOAD (THREATS 21). If it is ever
 * loaded into a process of nsiso's privileged side, it leaves a marker file
 * named after that process in $EVIL_MARKER_DIR (or /run/nsiso-evil). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void evil(void)
{
	char comm[32] = "", path[128];
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	if (strncmp(comm, "nsiso", 5) != 0)
		return;
	snprintf(path, sizeof(path), "/run/nsiso-evil.%s", comm);
	int m = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (m >= 0)
		close(m);
}
