/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* swapper A B [A B ...]: exchange each pair of paths (renameat2
 * RENAME_EXCHANGE, atomic) in a tight loop until killed, so that each A is
 * by turns what it was and what B was: a directory, then a symlink to /etc
 * (docs/THREATS.md 65). Run as the tenant. Prints "swapping" once started. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: swapper A B [A B ...]\n");
		return 2;
	}
	unsigned long n = 0;
	for (;;) {
		for (int i = 1; i + 1 < argc; i += 2)
			if (renameat2(AT_FDCWD, argv[i], AT_FDCWD, argv[i + 1], RENAME_EXCHANGE) < 0) {
				perror("renameat2");
				return 1;
			}
		if (++n == 1) {
			printf("swapping\n");
			fflush(stdout);
		}
	}
}
