/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The netlink reply reader (helper/nlreply.c) on the answers a kernel, or
 * something pretending to be one, can give: each datagram is copied into a
 * buffer of exactly its size, so that a read past it is caught by ASan in
 * the fuzz build and by the checks here (docs/THREATS.md 73). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "../../helper/nlreply.h"
#include "tap.h"

static unsigned char msg[512];

/* A message at msg+off: type, seq, payload of plen bytes; returns its
 * aligned end. */
static size_t put_msg(size_t off, unsigned short type, uint32_t seq, const void *payload, size_t plen)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(plen), .nlmsg_type = type, .nlmsg_seq = seq };
	memcpy(msg + off, &h, sizeof(h));
	memcpy(msg + off + NLMSG_HDRLEN, payload, plen);
	return off + NLMSG_ALIGN(h.nlmsg_len);
}

static int scan(size_t n, uint32_t seq, struct nl_reply *r)
{
	unsigned char *exact = malloc(n ? n : 1);
	memcpy(exact, msg, n);
	int e = nl_reply_scan(exact, n, seq, r);
	free(exact);
	return e;
}

static size_t put_ack(size_t off, uint32_t seq, int error)
{
	struct nlmsgerr e = { .error = error };
	return put_msg(off, NLMSG_ERROR, seq, &e, sizeof(e));
}

static size_t put_gen(size_t off, uint32_t seq, uint32_t gen)
{
	unsigned char p[NLMSG_ALIGN(sizeof(struct nfgenmsg)) + NLA_HDRLEN + 4] = { 0 };
	struct nlattr a = { .nla_len = NLA_HDRLEN + 4, .nla_type = NFTA_GEN_ID };
	uint32_t be = htonl(gen);
	memcpy(p + NLMSG_ALIGN(sizeof(struct nfgenmsg)), &a, sizeof(a));
	memcpy(p + NLMSG_ALIGN(sizeof(struct nfgenmsg)) + NLA_HDRLEN, &be, 4);
	return put_msg(off, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN, seq, p, sizeof(p));
}

int main(void)
{
	struct nl_reply r;
	size_t n;

	memset(&r, 0, sizeof(r));
	n = put_ack(0, 7, 0);
	TAP_EQ_INT(scan(n, 7, &r), 0, "an acknowledgement is read");
	TAP_OK(r.done && r.error == 0, "it ends the request with 0");

	memset(&r, 0, sizeof(r));
	n = put_ack(0, 7, -EEXIST);
	TAP_OK(scan(n, 7, &r) == 0 && r.done && r.error == -EEXIST, "an error acknowledgement carries -EEXIST");

	memset(&r, 0, sizeof(r));
	n = put_ack(0, 6, -EPERM);
	n = put_ack(n, 7, 0);
	TAP_OK(scan(n, 7, &r) == 0 && r.done && r.error == 0, "another request's answer is skipped");

	memset(&r, 0, sizeof(r));
	n = put_gen(0, 1, 4242);
	n = put_ack(n, 1, 0);
	TAP_OK(scan(n, 1, &r) == 0 && r.done && r.have_gen && r.gen == 4242, "nftables' generation 4242 is read");

	/* A NLMSG_ERROR whose length covers the header alone: the over-read
	 * of pam_authnft's bug class. */
	memset(&r, 0, sizeof(r));
	struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_ERROR, .nlmsg_seq = 7 };
	memcpy(msg, &h, sizeof(h));
	TAP_EQ_INT(scan(NLMSG_HDRLEN, 7, &r), -EBADMSG, "a NLMSG_ERROR too short for struct nlmsgerr: EBADMSG");
	TAP_OK(!r.done, "and nothing is taken from it");

	memset(&r, 0, sizeof(r));
	n = put_ack(0, 7, 0);
	h.nlmsg_len = (uint32_t)n + 64; /* oversized */
	memcpy(msg, &h, sizeof(h));
	TAP_EQ_INT(scan(n, 7, &r), -EBADMSG, "nlmsg_len past the datagram: EBADMSG");

	memset(&r, 0, sizeof(r));
	h.nlmsg_len = 8; /* shorter than its own header */
	memcpy(msg, &h, sizeof(h));
	TAP_EQ_INT(scan(NLMSG_HDRLEN, 7, &r), -EBADMSG, "nlmsg_len shorter than the header: EBADMSG");

	memset(&r, 0, sizeof(r));
	TAP_EQ_INT(scan(10, 7, &r), -EBADMSG, "a datagram shorter than a header: EBADMSG");

	memset(&r, 0, sizeof(r));
	n = put_ack(0, 7, 5);
	TAP_OK(scan(n, 7, &r) == 0 && r.done && r.error == -EBADMSG, "a positive \"errno\" is not taken as success");

	/* Multipart without NLMSG_DONE: each datagram leaves the request
	 * open, and the caller stops after NL_REPLY_MAX_DATAGRAMS. */
	memset(&r, 0, sizeof(r));
	n = put_msg(0, RTM_NEWLINK, 7, "abcd", 4);
	int opened = 0;
	for (int i = 0; i < NL_REPLY_MAX_DATAGRAMS; i++)
		opened += scan(n, 7, &r) == 0 && !r.done;
	TAP_EQ_INT(opened, NL_REPLY_MAX_DATAGRAMS, "multipart without DONE: never done (the caller's bound ends it)");

	memset(&r, 0, sizeof(r));
	int done = 0;
	n = put_msg(0, NLMSG_DONE, 7, &done, sizeof(done));
	TAP_OK(scan(n, 7, &r) == 0 && r.done && r.error == 0, "NLMSG_DONE ends a multipart answer");

	/* A NEWGEN whose attribute claims more than the message holds. */
	memset(&r, 0, sizeof(r));
	n = put_gen(0, 1, 9);
	struct nlattr bad = { .nla_len = 200, .nla_type = NFTA_GEN_ID };
	memcpy(msg + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg)), &bad, sizeof(bad));
	TAP_OK(scan(n, 1, &r) == 0 && !r.have_gen, "an attribute longer than its message is not read");

	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
