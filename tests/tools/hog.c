/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hog MIB: allocate and touch MIB mebibytes, one at a time, printing how
 * far it got; prints "done" at the end. For the memory_max test: inside a
 * limited container it is OOM-killed before "done". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	long mib = atol(argv[1]);
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("malloc failed at %ld\n", i);
			return 1;
		}
		memset(p, 0x5a, 1 << 20);
	}
	printf("done\n");
	return 0;
}
