/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tiocsti: push one byte into the input of the controlling tty with
 * TIOCSTI (THREATS 9) and print "ok" or the errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("no-tty %s\n", strerrorname_np(errno));
		return 2;
	}
	char c = '\n';
	if (ioctl(fd, TIOCSTI, &c) < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
