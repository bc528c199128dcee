/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink, the few requests nsiso needs: a bridge, a veth pair with its
 * peer in another network namespace, a port's master and isolation, link
 * up, an IPv4 address, a default route, deleting a link. Each request is
 * one message and waits for its acknowledgement: 0 or the kernel's
 * -errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"
#include "nlreply.h"
#include "util.h"

struct nlreq {
	struct nlmsghdr h;
	char buf[1024];
};

static void *tail(struct nlreq *r)
{
	return (char *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len);
}

static int put(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	size_t need = RTA_SPACE(len);
	if (NLMSG_ALIGN(r->h.nlmsg_len) + need > sizeof(*r))
		return -ENOBUFS;
	struct rtattr *a = tail(r);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = (unsigned)(NLMSG_ALIGN(r->h.nlmsg_len) + need);
	return 0;
}

static int put_str(struct nlreq *r, unsigned short type, const char *s)
{
	return put(r, type, s, strlen(s) + 1);
}

static struct rtattr *nest_begin(struct nlreq *r, unsigned short type)
{
	struct rtattr *a = tail(r);
	return put(r, type, NULL, 0) == 0 ? a : NULL;
}

static void nest_end(struct nlreq *r, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)tail(r) - (char *)a);
}

static void start(struct nlreq *r, unsigned short type, unsigned short flags, const void *hdr, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	r->h.nlmsg_len = (unsigned)NLMSG_LENGTH(hdr_len);
	memcpy(NLMSG_DATA(&r->h), hdr, hdr_len);
}

/* A reply that never comes (a kernel or a fake peer that stops talking)
 * ends the request rather than the supervisor's progress. */
static int set_timeout(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ? neg_errno() : 0;
}

int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return neg_errno();
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int e = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? neg_errno() : set_timeout(fd);
	if (e < 0) {
		(void)close(fd);
		return e;
	}
	return fd;
}

/* The answer to request r on fd: at most NL_REPLY_MAX_DATAGRAMS datagrams,
 * each read within the socket's timeout (nl_open), each checked whole
 * (nlreply.c). 0 or -errno; out (when not NULL) gets what was said. */
static int await_reply(int fd, uint32_t seq, struct nl_reply *out)
{
	struct nl_reply r = { 0 };
	char buf[8192];
	for (int i = 0; i < NL_REPLY_MAX_DATAGRAMS && !r.done; i++) {
		ssize_t n = RETRY_EINTR(recv(fd, buf, sizeof(buf), 0));
		if (n < 0)
			return neg_errno();
		int e = nl_reply_scan(buf, (size_t)n, seq, &r);
		if (e < 0)
			return e;
	}
	if (!r.done)
		return -EBADMSG;
	if (out)
		*out = r;
	return r.error;
}

static int transact(int fd, struct nlreq *r)
{
	static unsigned seq;
	r->h.nlmsg_seq = ++seq;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	if (RETRY_EINTR(sendto(fd, &r->h, r->h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to))) < 0)
		return neg_errno();
	return await_reply(fd, r->h.nlmsg_seq, NULL);
}

int nl_link_index(const char *name)
{
	unsigned i = if_nametoindex(name);
	return i ? (int)i : -ENODEV;
}

int nl_create_bridge(int fd, const char *name, const unsigned char mac[6])
{
	struct nlreq r;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	if (put_str(&r, IFLA_IFNAME, name) < 0 || put(&r, IFLA_ADDRESS, mac, 6) < 0)
		return -ENOBUFS;
	struct rtattr *li = nest_begin(&r, IFLA_LINKINFO);
	if (!li || put_str(&r, IFLA_INFO_KIND, "bridge") < 0)
		return -ENOBUFS;
	nest_end(&r, li);
	return transact(fd, &r);
}

int nl_create_veth(int fd, const char *host_name, const char *peer_name, const unsigned char peer_mac[6],
		   int peer_netns_fd)
{
	struct nlreq r;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	if (put_str(&r, IFLA_IFNAME, host_name) < 0)
		return -ENOBUFS;
	struct rtattr *li = nest_begin(&r, IFLA_LINKINFO);
	if (!li || put_str(&r, IFLA_INFO_KIND, "veth") < 0)
		return -ENOBUFS;
	struct rtattr *data = nest_begin(&r, IFLA_INFO_DATA);
	struct rtattr *peer = data ? nest_begin(&r, VETH_INFO_PEER) : NULL;
	if (!peer)
		return -ENOBUFS;
	/* The peer's own ifinfomsg, then its attributes. */
	if (NLMSG_ALIGN(r.h.nlmsg_len) + sizeof(struct ifinfomsg) > sizeof(r))
		return -ENOBUFS;
	memset(tail(&r), 0, sizeof(struct ifinfomsg));
	r.h.nlmsg_len = (unsigned)(NLMSG_ALIGN(r.h.nlmsg_len) + NLMSG_ALIGN(sizeof(struct ifinfomsg)));
	uint32_t nsfd = (uint32_t)peer_netns_fd;
	if (put_str(&r, IFLA_IFNAME, peer_name) < 0 || put(&r, IFLA_ADDRESS, peer_mac, 6) < 0 ||
	    put(&r, IFLA_NET_NS_FD, &nsfd, sizeof(nsfd)) < 0)
		return -ENOBUFS;
	nest_end(&r, peer);
	nest_end(&r, data);
	nest_end(&r, li);
	return transact(fd, &r);
}

int nl_set_link(int fd, int index, int master, bool up)
{
	struct nlreq r;
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_change = up ? IFF_UP : 0, .ifi_flags = up ? IFF_UP : 0
	};
	start(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	if (master > 0) {
		uint32_t m = (uint32_t)master;
		if (put(&r, IFLA_MASTER, &m, sizeof(m)) < 0)
			return -ENOBUFS;
	}
	return transact(fd, &r);
}

int nl_set_port_isolated(int fd, int index)
{
	struct nlreq r;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
	start(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	struct rtattr *li = nest_begin(&r, IFLA_LINKINFO);
	if (!li || put_str(&r, IFLA_INFO_SLAVE_KIND, "bridge") < 0)
		return -ENOBUFS;
	struct rtattr *data = nest_begin(&r, IFLA_INFO_SLAVE_DATA);
	uint8_t on = 1;
	if (!data || put(&r, IFLA_BRPORT_ISOLATED, &on, sizeof(on)) < 0)
		return -ENOBUFS;
	nest_end(&r, data);
	nest_end(&r, li);
	return transact(fd, &r);
}

int nl_add_address(int fd, int index, uint32_t addr, unsigned prefix)
{
	struct nlreq r;
	struct ifaddrmsg ifa = { .ifa_family = AF_INET,
				 .ifa_prefixlen = (unsigned char)prefix,
				 .ifa_index = (unsigned)index,
				 .ifa_scope = RT_SCOPE_UNIVERSE };
	start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof(ifa));
	uint32_t a = htonl(addr);
	uint32_t brd = htonl(addr | (prefix < 32 ? ~0u >> prefix : 0));
	if (put(&r, IFA_LOCAL, &a, 4) < 0 || put(&r, IFA_ADDRESS, &a, 4) < 0 || put(&r, IFA_BROADCAST, &brd, 4) < 0)
		return -ENOBUFS;
	return transact(fd, &r);
}

int nl_add_default_route(int fd, int index, uint32_t gateway)
{
	struct nlreq r;
	struct rtmsg rt = { .rtm_family = AF_INET,
			    .rtm_table = RT_TABLE_MAIN,
			    .rtm_protocol = RTPROT_BOOT,
			    .rtm_scope = RT_SCOPE_UNIVERSE,
			    .rtm_type = RTN_UNICAST };
	start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
	uint32_t gw = htonl(gateway), oif = (uint32_t)index;
	if (put(&r, RTA_GATEWAY, &gw, 4) < 0 || put(&r, RTA_OIF, &oif, 4) < 0)
		return -ENOBUFS;
	return transact(fd, &r);
}

int nl_delete_link(int fd, int index)
{
	struct nlreq r;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
	start(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	return transact(fd, &r);
}

/* nftables' ruleset generation: every change to any table, by anyone,
 * makes a new one. One NFT_MSG_GETGEN on a NETLINK_NETFILTER socket. */
int nl_nft_generation(uint32_t *gen)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return neg_errno();
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || set_timeout(fd) < 0)
		return neg_errno();
	struct nlreq r;
	struct nfgenmsg g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 };
	start(&r, (unsigned short)((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN), 0, &g, sizeof(g));
	r.h.nlmsg_seq = 1;
	if (RETRY_EINTR(sendto(fd, &r.h, r.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa))) < 0)
		return neg_errno();
	struct nl_reply got;
	int e = await_reply(fd, r.h.nlmsg_seq, &got);
	if (e < 0)
		return e;
	if (!got.have_gen)
		return -ENODATA;
	*gen = got.gen;
	return 0;
}
