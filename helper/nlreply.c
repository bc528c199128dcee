/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel's answers to nsiso's netlink requests, read by hand and
 * bounds-checked at each step rather than through NLMSG_OK/NLMSG_NEXT
 * alone: those stop quietly at a bad length (the caller then waits for an
 * answer that never comes) and say nothing of the payload's own size.
 * Pure (no I/O): fuzzed by fuzz/fuzz-netlink.c, tested by
 * tests/unit/test-netlink.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <string.h>

#include "nlreply.h"

#define NEWGEN ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)

/* The generation id among a NEWGEN message's attributes (len bytes). */
static void scan_gen(const unsigned char *p, size_t len, struct nl_reply *r)
{
	while (len >= sizeof(struct nlattr)) {
		struct nlattr a;
		memcpy(&a, p, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > len)
			return; /* a bad attribute ends the list */
		if ((a.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a.nla_len == NLA_HDRLEN + 4) {
			uint32_t be;
			memcpy(&be, p + NLA_HDRLEN, 4);
			r->gen = ntohl(be);
			r->have_gen = true;
		}
		size_t step = NLA_ALIGN(a.nla_len);
		if (step >= len)
			return;
		p += step;
		len -= step;
	}
}

int nl_reply_scan(const void *buf, size_t n, uint32_t seq, struct nl_reply *r)
{
	const unsigned char *p = buf;
	while (n > 0 && !r->done) {
		struct nlmsghdr h;
		if (n < sizeof(h))
			return -EBADMSG;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > n)
			return -EBADMSG;
		const unsigned char *data = p + NLMSG_HDRLEN;
		size_t len = h.nlmsg_len - NLMSG_HDRLEN;
		if (h.nlmsg_seq == seq) {
			if (h.nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;
				if (len < sizeof(e))
					return -EBADMSG;
				memcpy(&e, data, sizeof(e));
				/* An error is negative; anything else is not an errno. */
				r->error = e.error <= 0 && e.error > -4096 ? e.error : -EBADMSG;
				r->done = true;
			} else if (h.nlmsg_type == NLMSG_DONE) {
				int e = 0;
				if (len >= sizeof(e))
					memcpy(&e, data, sizeof(e));
				r->error = e <= 0 && e > -4096 ? e : -EBADMSG;
				r->done = true;
			} else if (h.nlmsg_type == NEWGEN && len >= NLMSG_ALIGN(sizeof(struct nfgenmsg))) {
				size_t hdr = NLMSG_ALIGN(sizeof(struct nfgenmsg));
				scan_gen(data + hdr, len - hdr, r);
			}
		}
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= n)
			break;
		p += step;
		n -= step;
	}
	return 0;
}
