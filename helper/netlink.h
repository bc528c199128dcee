/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* rtnetlink requests on a NETLINK_ROUTE socket, which acts in the network
 * namespace it was created in. Addresses in host byte order. Each returns
 * 0 or -errno. */
int nl_open(void);
int nl_link_index(const char *name); /* in the caller's namespace; -ENODEV */
/* mac: the bridge's own, fixed (else the kernel gives it the lowest of its
 * ports' and changes it as they come and go) */
int nl_create_bridge(int fd, const char *name, const unsigned char mac[6]);
/* peer_mac: the container side's address (the bridge filters each port
 * by it, network.c) */
int nl_create_veth(int fd, const char *host_name, const char *peer_name, const unsigned char peer_mac[6],
		   int peer_netns_fd);
int nl_set_link(int fd, int index, int master, bool up); /* master 0: unchanged */
int nl_set_port_isolated(int fd, int index);
int nl_add_address(int fd, int index, uint32_t addr, unsigned prefix);
int nl_add_default_route(int fd, int index, uint32_t gateway);
int nl_delete_link(int fd, int index);
int nl_nft_generation(uint32_t *gen); /* nftables' ruleset generation id */
