/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the netlink reply reader (helper/nlreply.c) on what a
 * kernel could answer (docs/THREATS.md 73). The input is a 4-byte request
 * sequence number, then datagrams, each a 2-byte length and its bytes,
 * fed in order as the helper's await_reply() does, at most
 * NL_REPLY_MAX_DATAGRAMS of them. Each datagram is copied into a heap
 * buffer of exactly its size, so that ASan sees any read past it. Built
 * with -Dfuzz=true and clang; run by tools/fuzz.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../helper/nlreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seq;
	if (size < sizeof(seq))
		return 0;
	memcpy(&seq, data, sizeof(seq));
	data += sizeof(seq);
	size -= sizeof(seq);
	struct nl_reply r = { 0 };
	for (int i = 0; i < NL_REPLY_MAX_DATAGRAMS && size >= 2 && !r.done; i++) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		uint8_t *dgram = malloc(len ? len : 1);
		if (!dgram)
			return 0;
		memcpy(dgram, data, len);
		int e = nl_reply_scan(dgram, len, seq, &r);
		free(dgram);
		data += len;
		size -= len;
		if (e < 0) {
			if (e != -EBADMSG)
				abort(); /* the one error it may give */
			break;
		}
	}
	/* What a caller acts on is a real errno or 0, never a positive value. */
	if (r.done && (r.error > 0 || r.error <= -4096))
		abort();
	return 0;
}
