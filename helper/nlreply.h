/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the kernel's replies to one netlink request said so far. */
struct nl_reply {
	bool done;     /* its acknowledgement (NLMSG_ERROR) or NLMSG_DONE came */
	int error;     /* then: 0 or the kernel's -errno */
	bool have_gen; /* an NFT_MSG_NEWGEN with a generation id came */
	uint32_t gen;
};

/* Reads one datagram of n bytes of replies to request seq (messages of
 * other requests are skipped) into r. 0, or -EBADMSG when a message's
 * length is shorter than its header or runs past the datagram, or an
 * NLMSG_ERROR is too short for its struct nlmsgerr: nothing past n bytes
 * is ever read (docs/THREATS.md 73). */
int nl_reply_scan(const void *buf, size_t n, uint32_t seq, struct nl_reply *r);

/* How many datagrams a request may be answered in before its caller gives
 * up (a multipart answer without NLMSG_DONE ends there, not in a hang). */
#define NL_REPLY_MAX_DATAGRAMS 16
