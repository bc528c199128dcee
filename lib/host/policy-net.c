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

int net_parse_bridge(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	if (!ifname_ok(value))
		return error_set(e, -EINVAL, "'%.32s' is not an interface name (1..15 of a-z A-Z 0-9 - _ .)", value);
	strcpy(n->bridge, value);
	n->set |= NK_BRIDGE;
	return 0;
}

int net_parse_subnet(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	char buf[32];
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
	return 0;
}

static int parse_yes_no(const char *value, bool *out, struct nsiso_error *e)
{
	bool yes = strcmp(value, "yes") == 0;
	if (!yes && strcmp(value, "no") != 0)
		return error_set(e, -EINVAL, "'%.32s' is not yes or no", value);
	*out = yes;
	return 0;
}

int net_parse_nat(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	n->set |= NK_NAT;
	return parse_yes_no(value, &n->nat, e);
}

int net_parse_isolate(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	n->set |= NK_ISOLATE;
	return parse_yes_no(value, &n->isolate, e);
}

int net_parse_private_ranges(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	n->set |= NK_PRIVATE;
	return parse_yes_no(value, &n->private_ranges, e);
}

int net_parse_host_access(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	char buf[512], *save = NULL;
	uint8_t count = 0;
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	FOR_EACH_WORD (w, buf, save) {
		uint64_t port;
		if (strcmp(w, "none") == 0)
			continue;
		if (parse_uint(w, 1, 65535, &port) < 0)
			return error_set(e, -EINVAL, "'%.16s' is not none or a port (1..65535)", w);
		if (count >= POLICY_NET_PORTS_MAX)
			return error_set(e, -E2BIG, "more than %d ports", POLICY_NET_PORTS_MAX);
		n->ports[count++] = (uint16_t)port;
	}
	n->n_ports = count;
	n->set |= NK_HOST_ACCESS;
	return 0;
}

int net_parse_dns(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	char buf[512], *save = NULL;
	uint8_t count = 0;
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	FOR_EACH_WORD (w, buf, save) {
		uint32_t addr;
		if (parse_ipv4(w, &addr) < 0)
			return error_set(e, -EINVAL, "'%.16s' is not an IPv4 address", w);
		if (count >= POLICY_NET_DNS_MAX)
			return error_set(e, -E2BIG, "more than %d addresses", POLICY_NET_DNS_MAX);
		n->dns[count++] = addr;
	}
	n->n_dns = count;
	n->set |= NK_DNS;
	return 0;
}

/* allow = none | CIDR[:PORT] ...: A.B.C.D/P (P 8..32) or A.B.C.D (/32), a
 * port 1..65535 or none for every port; not within 169.254.0.0/16. */
int net_parse_allow(void *owner, const char *value, struct nsiso_error *e)
{
	struct policy_network *n = owner;
	char buf[512], *save = NULL;
	uint8_t count = 0;
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	FOR_EACH_WORD (w, buf, save) {
		if (strcmp(w, "none") == 0)
			continue;
		char addr[32];
		uint64_t prefix = 32, port = 0;
		uint32_t a = 0;
		const char *colon = strchr(w, ':'), *slash = strchr(w, '/');
		size_t alen = slash ? (size_t)(slash - w) : colon ? (size_t)(colon - w) : strlen(w);
		bool ok = alen < sizeof(addr) && (!colon || !slash || slash < colon);
		if (ok) {
			memcpy(addr, w, alen);
			addr[alen] = '\0';
			ok = parse_ipv4(addr, &a) == 0;
		}
		if (ok && slash) {
			char pre[8];
			size_t plen = colon ? (size_t)(colon - slash - 1) : strlen(slash + 1);
			ok = plen > 0 && plen < sizeof(pre);
			if (ok) {
				memcpy(pre, slash + 1, plen);
				pre[plen] = '\0';
				ok = parse_uint(pre, 8, 32, &prefix) == 0;
			}
		}
		if (ok && colon)
			ok = parse_uint(colon + 1, 1, 65535, &port) == 0;
		if (!ok)
			return error_set(e, -EINVAL, "'%.40s' is not none or A.B.C.D[/8..32][:PORT]", w);
		uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
		if (a & ~mask)
			return error_set(e, -EINVAL, "'%.40s' has host bits set", w);
		/* (link-local, the cloud's metadata service, is never reachable) */
		uint32_t ll = 0xa9fe0000u, llmask = 0xffff0000u, both = mask & llmask;
		if ((a & both) == (ll & both))
			return error_set(e, -EINVAL, "'%.40s' is within 169.254.0.0/16, which containers never reach",
					 w);
		if (count >= POLICY_NET_ALLOW_MAX)
			return error_set(e, -E2BIG, "more than %d destinations", POLICY_NET_ALLOW_MAX);
		n->allow[count].addr = a;
		n->allow[count].prefix = (uint8_t)prefix;
		n->allow[count].port = (uint16_t)port;
		count++;
	}
	n->n_allow = count;
	n->set |= NK_ALLOW;
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
		if (n->n_allow && !n->nat)
			add_error(&e, -EINVAL, "%s:%d: [network %s] has allow = but not nat = yes: nothing leaves it",
				  f, n->line, n->name);
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
