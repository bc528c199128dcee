/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <iniparser/iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "nstable.h"
#include "policy-internal.h"
#include "policy.h"
#include "subids.h"
#include "util.h"

/* [network NAME] sections: parsing and the checks across networks. */

/* ---- [network NAME] ---------------------------------------------------- */

const char *policy_ipv4_text(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	unsigned b[4];
	char extra;
	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &b[0], &b[1], &b[2], &b[3], &extra) != 4 || b[0] > 255 || b[1] > 255 ||
	    b[2] > 255 || b[3] > 255 || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	*out = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	return 0;
}

static bool ifname_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 15 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)n[i]) || n[i] == '-' || n[i] == '_' || n[i] == '.'))
			return false;
	return true;
}

enum { NK_BRIDGE = 1, NK_SUBNET = 2, NK_NAT = 4, NK_HOST_ACCESS = 8, NK_ISOLATE = 16, NK_DNS = 32, NK_PRIVATE = 64 };

int parse_network_key(struct policy_network *n, const char *key, const char *value, struct nsiso_error *e)
{
	char buf[512];
	if (strcmp(key, "bridge") == 0) {
		if (!ifname_ok(value))
			return error_set(e, -EINVAL, "'%.32s' is not an interface name (1..15 of a-z A-Z 0-9 - _ .)",
					 value);
		strcpy(n->bridge, value);
		n->set |= NK_BRIDGE;
	} else if (strcmp(key, "subnet") == 0) {
		const char *slash = strchr(value, '/');
		uint64_t prefix = 0;
		uint32_t a = 0;
		if (!slash || (size_t)(slash - value) >= 16)
			return error_set(e, -EINVAL, "'%.40s' is not an IPv4 network (like 10.20.0.0/24)", value);
		memcpy(buf, value, (size_t)(slash - value));
		buf[slash - value] = '\0';
		if (parse_ipv4(buf, &a) < 0 || parse_uint(slash + 1, 8, 29, &prefix) < 0)
			return error_set(e, -EINVAL, "'%.40s' is not an IPv4 network with a prefix of /8../29", value);
		uint32_t mask = ~0u << (32 - prefix);
		if (a & ~mask)
			return error_set(e, -EINVAL, "'%.40s' has host bits set (the network is %s/%u)", value,
					 policy_ipv4_text(a & mask, buf, sizeof(buf)), (unsigned)prefix);
		n->subnet = a;
		n->prefix = (uint8_t)prefix;
		n->set |= NK_SUBNET;
	} else if (strcmp(key, "nat") == 0 || strcmp(key, "isolate") == 0 || strcmp(key, "private_ranges") == 0) {
		bool yes = strcmp(value, "yes") == 0;
		if (!yes && strcmp(value, "no") != 0)
			return error_set(e, -EINVAL, "'%.32s' is not yes or no", value);
		if (key[0] == 'n') {
			n->nat = yes;
			n->set |= NK_NAT;
		} else if (key[0] == 'p') {
			n->private_ranges = yes;
			n->set |= NK_PRIVATE;
		} else {
			n->isolate = yes;
			n->set |= NK_ISOLATE;
		}
	} else if (strcmp(key, "host_access") == 0 || strcmp(key, "dns") == 0) {
		bool ports = key[0] == 'h';
		if (copy_list(value, buf, sizeof(buf), e) < 0)
			return -EINVAL;
		char *save = NULL;
		uint8_t count = 0;
		FOR_EACH_WORD (w, buf, save) {
			uint64_t port;
			uint32_t addr;
			if (ports && strcmp(w, "none") == 0)
				continue;
			if (ports ? parse_uint(w, 1, 65535, &port) < 0 : parse_ipv4(w, &addr) < 0)
				return error_set(e, -EINVAL,
						 ports ? "'%.16s' is not none or a port (1..65535)"
						       : "'%.16s' is not an IPv4 address",
						 w);
			if (count >= (ports ? POLICY_NET_PORTS_MAX : POLICY_NET_DNS_MAX))
				return error_set(e, -E2BIG, "more than %d %s",
						 ports ? POLICY_NET_PORTS_MAX : POLICY_NET_DNS_MAX,
						 ports ? "ports" : "addresses");
			if (ports)
				n->ports[count++] = (uint16_t)port;
			else
				n->dns[count++] = addr;
		}
		if (ports) {
			n->n_ports = count;
			n->set |= NK_HOST_ACCESS;
		} else {
			n->n_dns = count;
			n->set |= NK_DNS;
		}
	} else {
		return error_set(e, -EINVAL,
				 "unknown key (known: bridge subnet nat host_access isolate dns private_ranges)");
	}
	return 0;
}

const struct policy_network *policy_find_network(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_networks; i++)
		if (strcmp(p->networks[i].name, name) == 0)
			return &p->networks[i];
	return NULL;
}

int policy_check_networks(struct policy *p, struct nsiso_error *out)
{
	struct errbuf e = { .p = p, .out = out };
	char a[16], b[16];
	for (size_t i = 0; i < p->n_networks; i++) {
		const struct policy_network *n = &p->networks[i];
		const char *f = p->files[n->file];
		if (!(n->set & NK_BRIDGE))
			add_error(&e, -EINVAL, "%s:%d: [network %s] has no bridge", f, n->line, n->name);
		if (!(n->set & NK_SUBNET))
			add_error(&e, -EINVAL, "%s:%d: [network %s] has no subnet", f, n->line, n->name);
		for (size_t j = 0; j < i; j++) {
			const struct policy_network *o = &p->networks[j];
			uint8_t pre = n->prefix < o->prefix ? n->prefix : o->prefix;
			uint32_t mask = ~0u << (32 - pre);
			if ((n->set & NK_BRIDGE) && strcmp(n->bridge, o->bridge) == 0)
				add_error(&e, -EINVAL, "%s:%d: [network %s] uses bridge %s, as [network %s] does", f,
					  n->line, n->name, n->bridge, o->name);
			if ((n->set & o->set & NK_SUBNET) && (n->subnet & mask) == (o->subnet & mask))
				add_error(&e, -EINVAL, "%s:%d: [network %s] %s/%u overlaps [network %s] %s/%u", f,
					  n->line, n->name, policy_ipv4_text(n->subnet, a, sizeof(a)), n->prefix,
					  o->name, policy_ipv4_text(o->subnet, b, sizeof(b)), o->prefix);
		}
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (!(r->values.set & (1u << KEY_NETWORK)) || strcmp(r->values.network, "none") == 0 ||
		    strcmp(r->values.network, "host") == 0 || policy_find_network(p, r->values.network))
			continue;
		add_error(&e, -EINVAL, "%s:%d: network = %s: there is no [network %s]", p->files[r->file], r->line,
			  r->values.network, r->values.network);
	}
	return e.first;
}

/* A user or group name as it may stand in a section or in exempt. */
