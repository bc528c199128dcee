/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's network.
 *
 * network = none: a new namespace with lo only (network_setup_loopback, run
 * by the container child). network = NAME: in addition, done by the
 * supervisor on the host under NSISO_RUNDIR/net/lock:
 *
 *   - the bridge of [network NAME] (created if absent, with the subnet's
 *     first address as the gateway, and removed when its last port goes,
 *     if nsiso created it);
 *   - an address lease: NSISO_RUNDIR/net/NAME.leases/<address>, flock()ed
 *     by the supervisor for its whole life (a lease whose lock is free is
 *     stale: its supervisor died), the first free address from a hash of
 *     the user and the network, so it stays the same while both do;
 *   - a veth pair, "nsv<uid>" on the bridge (an isolated port with
 *     isolate = yes) and "eth0" in the container, with the lease's address
 *     and a default route through the gateway;
 *   - table inet nsiso, one nftables table for every network in use,
 *     replaced as a whole (nft -f from a pipe, one transaction) whenever a
 *     container comes or goes: containers reach the host only on the ports
 *     of host_access, never another network, and the outside only with
 *     nat = yes (masquerade; net.ipv4.ip_forward is turned on while such a
 *     network is in use and restored after);
 *   - table bridge nsiso, in the same transaction: a frame that enters a
 *     bridge from a container's port (nsv*) passes only with that port's
 *     own MAC (set by nsiso, derived from the address) and its own IPv4
 *     address, as ether and IP source and as ARP sender; nothing but IPv4
 *     and ARP. No container can answer for another's address or the
 *     gateway's, or poison the host's neighbour table (Incus
 *     CVE-2025-52889/-52890 class, docs/THREATS.md 72). A failed update
 *     leaves the previous ruleset whole (nft's transaction) and refuses the
 *     login that needed it.
 *
 * NSISO_RUNDIR/net/NAME.state keeps each network's definition as it was
 * set up, so the ruleset and the cleanup never depend on a policy that
 * changed since. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "netlink.h"
#include "util.h"

#define NET_DIR NSISO_RUNDIR "/net"
#define NFT_PATH "/usr/sbin/nft"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

/* A new network namespace has only lo, and it is down: bring it up. */
int network_setup_loopback(struct nsiso_error *f)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return error_at(f, STEP_NET, neg_errno(), "socket(AF_INET)");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return error_at(f, STEP_NET, neg_errno(), "SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return error_at(f, STEP_NET, neg_errno(), "bringing lo up");
	return 0;
}

bool network_is_named(const struct policy_settings *s)
{
	return (s->ns_mask & NS_BIT(NS_NET)) && strcmp(s->network, "none") != 0 && strcmp(s->network, "host") != 0;
}

struct net_state {
	struct policy_network net;
	bool created_bridge;
};

/* Whole or not at all: written to a temporary name, then renamed over
 * path, so that a reader never sees a short file (an RLIMIT_FSIZE, a full
 * filesystem or a crash mid-write leaves the old file). The mode exactly:
 * the helper runs with umask 077. */
static int write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[300];
	int n = snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	int r = fd < 0 || fchmod(fd, mode) < 0 ? neg_errno() : write_all_fd(fd, buf, len);
	if (r == 0 && rename(tmp, path) < 0)
		r = neg_errno();
	if (r < 0 && fd >= 0)
		(void)unlink(tmp);
	return r;
}

static int lock_net(void)
{
	_cleanup_close_ int dir = open_state_dir(NET_DIR, true);
	if (dir < 0)
		return dir;
	int fd = openat(dir, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return neg_errno();
	if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
		int e = neg_errno();
		(void)close(fd);
		return e;
	}
	return fd;
}

static uint32_t gateway_of(const struct policy_network *n)
{
	return n->subnet + 1;
}

/* A container's MAC: locally administered, unicast, from its address (unique
 * on its bridge, since a subnet is at most a /8... and its low 24 bits
 * tell its hosts apart). */
static void mac_of(uint32_t addr, unsigned char mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x6e; /* 'n' */
	mac[2] = 0x73; /* 's' */
	mac[3] = (unsigned char)(addr >> 16);
	mac[4] = (unsigned char)(addr >> 8);
	mac[5] = (unsigned char)addr;
}

/* ---- resolv.conf ------------------------------------------------------- */

/* What the container's /etc/resolv.conf says: the network's dns servers;
 * else, with nat, the host's servers that a container can reach (not
 * loopback); else none (a lookup then fails at once instead of waiting on
 * an unreachable 127.0.0.53). */
static int write_resolv(const struct policy_network *n, const char *path)
{
	char text[2048];
	size_t used = (size_t)snprintf(text, sizeof(text), "# written by nsiso for network %s\n", n->name);
	for (int i = 0; i < n->n_dns; i++) {
		char a[16];
		used += (size_t)snprintf(text + used, sizeof(text) - used, "nameserver %s\n",
					 policy_ipv4_text(n->dns[i], a, sizeof(a)));
	}
	if (n->n_dns == 0 && n->nat) {
		FILE *f = fopen("/etc/resolv.conf", "re");
		char line[256];
		while (f && fgets(line, sizeof(line), f) && used < sizeof(text) - 300) {
			char addr[64];
			if (sscanf(line, "nameserver %63s", addr) != 1 || strncmp(addr, "127.", 4) == 0 ||
			    strcmp(addr, "::1") == 0 || strchr(addr, ':'))
				continue;
			used += (size_t)snprintf(text + used, sizeof(text) - used, "nameserver %s\n", addr);
		}
		if (f)
			fclose(f);
	}
	return write_file(path, text, strlen(text), 0644);
}

int network_prepare(const struct policy_settings *s, int *resolv_mnt, struct nsiso_error *f)
{
	char path[256];
	*resolv_mnt = -EBADF;
	if (!network_is_named(s))
		return 0;
	_cleanup_close_ int lock = lock_net();
	if (lock < 0)
		return error_at(f, STEP_NET, lock, "locking %s/lock", NET_DIR);
	/* A file of this supervisor's own (another may be preparing the same
	 * network), removed by network_prepared() once the child bound it: a
	 * mount of an unlinked file cannot be attached. */
	snprintf(path, sizeof(path), NET_DIR "/resolv.%d", (int)getpid());
	int r = write_resolv(&s->net, path);
	if (r < 0)
		return error_at(f, STEP_NET, r, "writing the resolv.conf of network %s", s->net.name);
	/* A detached, read-only bind of it, for the container child to put in
	 * place: container root could not open it under the state directory. */
	_cleanup_close_ int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	struct mount_attr ro = { .attr_set =
				     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
		r = error_at(f, STEP_NET, neg_errno(), "making a read-only bind of %s", path);
		network_prepared();
		return r;
	}
	*resolv_mnt = TAKE_FD(tree);
	return 0;
}

void network_prepared(void)
{
	char path[64];
	snprintf(path, sizeof(path), NET_DIR "/resolv.%d", (int)getpid());
	(void)unlink(path);
}

/* ---- nftables ---------------------------------------------------------- */

/* Every network's state file. A state file that cannot be read whole is
 * an error, never "no such network": a ruleset built without it would drop
 * that network's filtering (docs/THREATS.md 47). Returns the count or
 * -errno with the file named in e. */
static int load_states(struct net_state *out, size_t max, struct nsiso_error *e)
{
	size_t n = 0;
	DIR *d = opendir(NET_DIR);
	if (!d)
		return errno == ENOENT ? 0 : neg_errno();
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 7 || strcmp(de->d_name + len - 6, ".state") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), NET_DIR "/%s", de->d_name);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		/* One byte more than a state holds, into a buffer of that size: a
		 * longer file is "not whole" too, and never overruns out[]. */
		char buf[sizeof(out[0]) + 1];
		ssize_t got = fd < 0 || n >= max ? -1 : RETRY_EINTR(read(fd, buf, sizeof(buf)));
		if (got != (ssize_t)sizeof(out[n])) {
			r = fd < 0 ? neg_errno() : n >= max ? -E2BIG : -EBADMSG;
			(void)error_set(e, r, "state file %.128s is %s", path,
					fd < 0	   ? "unreadable"
					: n >= max ? "one too many"
						   : "not whole");
			break;
		}
		memcpy(&out[n], buf, sizeof(out[n]));
		out[n].net.name[sizeof(out[n].net.name) - 1] = '\0';
		out[n].net.bridge[sizeof(out[n].net.bridge) - 1] = '\0';
		n++;
	}
	closedir(d);
	return r < 0 ? r : (int)n;
}

/* A live container's port: its veth and address, from its lease. */
struct net_port {
	char veth[16];
	uint32_t addr;
	size_t net; /* index in the states */
};
#define NET_PORTS_MAX 4096

static bool veth_name_ok(const char *v)
{
	if (strncmp(v, "nsv", 3) != 0 || !v[3] || strlen(v) >= 16)
		return false;
	for (const char *c = v + 3; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* The leases of the networks in st whose lock is held (their container
 * lives; ours too: another open file description conflicts), each naming
 * its veth ("nsv<uid> <user>"). Returns the count or -errno. */
static int load_ports(const struct net_state *st, size_t n, struct net_port *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof(path), NET_DIR "/%.*s.leases", POLICY_NET_NAME_MAX, st[i].net.name);
		DIR *d = opendir(path);
		if (!d) {
			if (errno == ENOENT)
				continue;
			return neg_errno();
		}
		struct dirent *e;
		int r = 0;
		while (r == 0 && (e = readdir(d))) {
			uint32_t a0, a1, a2, a3;
			char extra;
			if (e->d_name[0] == '.' ||
			    sscanf(e->d_name, "%u.%u.%u.%u%c", &a0, &a1, &a2, &a3, &extra) != 4 || a0 > 255 ||
			    a1 > 255 || a2 > 255 || a3 > 255)
				continue;
			_cleanup_close_ int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 || flock(fd, LOCK_SH | LOCK_NB) == 0)
				continue; /* gone, or stale: no container holds it */
			char text[64] = "";
			ssize_t got = pread(fd, text, sizeof(text) - 1, 0);
			text[got > 0 ? got : 0] = '\0';
			text[strcspn(text, " \n")] = '\0';
			if (!veth_name_ok(text))
				continue; /* being written: its container is not up yet */
			if (k >= max) {
				r = -E2BIG;
				break;
			}
			snprintf(out[k].veth, sizeof(out[k].veth), "%s", text);
			out[k].addr = a0 << 24 | a1 << 16 | a2 << 8 | a3;
			out[k].net = i;
			k++;
		}
		closedir(d);
		if (r < 0)
			return r;
	}
	return (int)k;
}

static int append(char *buf, size_t size, size_t *used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *used)
		return -ENOBUFS;
	*used += (size_t)n;
	return 0;
}

/* The bridge table: each port's own MAC and address (docs/THREATS.md 72). */
static int ports_text(const struct net_port *ports, size_t n_ports, char *buf, size_t size, size_t *used)
{
	int r = append(buf, size, used, "table bridge nsiso {\n set ports {\n  type ifname . ether_addr . ipv4_addr\n");
	for (size_t i = 0; i < n_ports && r == 0; i++) {
		unsigned char m[6];
		char a[16];
		mac_of(ports[i].addr, m);
		r = append(buf, size, used, "%s\"%s\" . %02x:%02x:%02x:%02x:%02x:%02x . %s",
			   i ? ", " : "  elements = { ", ports[i].veth, m[0], m[1], m[2], m[3], m[4], m[5],
			   policy_ipv4_text(ports[i].addr, a, sizeof(a)));
	}
	if (r == 0 && n_ports)
		r = append(buf, size, used, " }\n");
	if (r == 0)
		r = append(buf, size, used,
			   " }\n chain prerouting {\n  type filter hook prerouting priority -200; policy accept;\n"
			   "  iifname \"nsv*\" jump port_in\n }\n chain port_in {\n"
			   "  ether type ip iifname . ether saddr . ip saddr @ports return\n"
			   "  ether type arp iifname . ether saddr . arp saddr ip @ports"
			   " iifname . arp saddr ether . arp saddr ip @ports return\n  drop\n }\n}\n");
	return r;
}

/* The whole tables for the networks in states[] and the live ports; no
 * network: no table at all. own_forward: nsiso turned ip_forward on, so
 * nothing but its own bridges' flows may be forwarded (docs/THREATS.md 49). */
static int ruleset_text(const struct net_state *st, size_t n, const struct net_port *ports, size_t n_ports,
			bool own_forward, char *buf, size_t size)
{
	size_t used = 0;
	char a[16], all[POLICY_NETWORKS_MAX * 20] = "";
	int r = append(buf, size, &used,
		       "table inet nsiso\ndelete table inet nsiso\ntable bridge nsiso\ndelete table bridge nsiso\n");
	if (r < 0 || n == 0)
		return r;
	r = ports_text(ports, n_ports, buf, size, &used);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\"%s\"", i ? ", " : "", st[i].net.bridge);
	r = append(buf, size, &used,
		   "table inet nsiso {\n chain input {\n  type filter hook input priority 0; policy accept;\n");
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct policy_network *net = &st[i].net;
		/* Only the network's own IPv4 sources (THREATS 18: a container
		 * that got a capability somehow still cannot spoof). */
		r = append(buf, size, &used,
			   "  iifname \"%s\" ip saddr != %s/%u drop\n"
			   "  iifname \"%s\" meta nfproto ipv6 drop\n"
			   "  iifname \"%s\" ct state established,related accept\n"
			   "  iifname \"%s\" icmp type echo-request accept\n",
			   net->bridge, policy_ipv4_text(net->subnet, a, sizeof(a)), net->prefix, net->bridge,
			   net->bridge, net->bridge);
		if (r == 0 && net->n_ports) {
			r = append(buf, size, &used, "  iifname \"%s\" meta l4proto { tcp, udp } th dport { ",
				   net->bridge);
			for (int p = 0; p < net->n_ports && r == 0; p++)
				r = append(buf, size, &used, "%s%u", p ? ", " : "", net->ports[p]);
			if (r == 0)
				r = append(buf, size, &used, " } accept\n");
		}
		if (r == 0)
			r = append(buf, size, &used, "  iifname \"%s\" drop\n", net->bridge);
	}
	if (r == 0)
		r = append(buf, size, &used,
			   " }\n chain forward {\n  type filter hook forward priority 0; policy accept;\n");
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *b = st[i].net.bridge;
		/* Same bridge (seen here only with br_netfilter): the bridge's
		 * own business (port isolation). Another nsiso network: never. */
		r = append(buf, size, &used,
			   "  iifname \"%s\" ip saddr != %s/%u drop\n"
			   "  iifname \"%s\" meta nfproto ipv6 drop\n"
			   "  iifname \"%s\" ip daddr 169.254.0.0/16 drop\n",
			   b, policy_ipv4_text(st[i].net.subnet, a, sizeof(a)), st[i].net.prefix, b, b);
		/* Link-local (cloud metadata at 169.254.169.254) never; the
		 * policy's allow = destinations (a cluster's services), then the
		 * private ranges of the host's other networks only by policy. */
		for (int k = 0; r == 0 && st[i].net.nat && k < st[i].net.n_allow; k++) {
			char port[48] = "";
			if (st[i].net.allow[k].port)
				snprintf(port, sizeof(port), " meta l4proto { tcp, udp } th dport %u",
					 (unsigned)st[i].net.allow[k].port);
			r = append(buf, size, &used, "  iifname \"%s\" oifname != \"%s\" ip daddr %s/%u%s accept\n", b,
				   b, policy_ipv4_text(st[i].net.allow[k].addr, a, sizeof(a)),
				   (unsigned)st[i].net.allow[k].prefix, port);
		}
		if (r == 0 && st[i].net.nat && !st[i].net.private_ranges)
			r = append(buf, size, &used,
				   "  iifname \"%s\" oifname != \"%s\" ip daddr { 10.0.0.0/8, 172.16.0.0/12, "
				   "192.168.0.0/16, 100.64.0.0/10 } drop\n",
				   b, b);
		if (r == 0)
			r = append(buf, size, &used,
				   "  iifname \"%s\" oifname \"%s\" accept\n"
				   "  iifname \"%s\" oifname { %s } drop\n"
				   "  oifname \"%s\" ct state established,related accept\n"
				   "  oifname \"%s\" drop\n",
				   b, b, b, all, b, b);
		if (r == 0 && !st[i].net.nat)
			r = append(buf, size, &used, "  iifname \"%s\" drop\n", b);
	}
	if (r == 0 && own_forward)
		r = append(buf, size, &used, "  iifname != { %s } oifname != { %s } drop\n", all, all);
	if (r == 0)
		r = append(buf, size, &used,
			   " }\n chain postrouting {\n  type nat hook postrouting priority 100; policy accept;\n");
	for (size_t i = 0; i < n && r == 0; i++)
		if (st[i].net.nat)
			r = append(buf, size, &used, "  ip saddr %s/%u oifname != \"%s\" masquerade\n",
				   policy_ipv4_text(st[i].net.subnet, a, sizeof(a)), st[i].net.prefix,
				   st[i].net.bridge);
	if (r == 0)
		r = append(buf, size, &used, " }\n}\n");
	return r;
}

/* nft -f - with the text on a pipe: no shell, an empty environment. */
static int run_nft(const char *text, struct nsiso_error *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return neg_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int r = neg_errno();
		(void)close(p[0]);
		(void)close(p[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(p[0], 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		char *const argv[] = { (char *)"nft", (char *)"-f", (char *)"-", NULL };
		char *const envp[] = { NULL };
		execve(NFT_PATH, argv, envp);
		_exit(127);
	}
	(void)close(p[0]);
	/* An nft that exits early (missing) must not SIGPIPE the supervisor:
	 * block the signal for the write and drop what it left pending. */
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	(void)sigprocmask(SIG_BLOCK, &pipe_set, &old);
	int r = write_all_fd(p[1], text, strlen(text));
	(void)close(p[1]);
	struct timespec zero = { 0 };
	(void)sigtimedwait(&pipe_set, NULL, &zero);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	int status = 0;
	(void)RETRY_EINTR(waitpid(pid, &status, 0));
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		r = code == 127 ? error_set(e, -ENOENT, "%s is missing (install nftables)", NFT_PATH)
				: error_set(e, -EINVAL, "%s -f refused the ruleset (exit %d)", NFT_PATH, code);
	}
	return r;
}

/* ip_forward is nsiso's to turn off again: it saved the value it found
 * (0), or it is 0 now and a NAT network is about to turn it on. */
static bool forward_is_ours(void)
{
	if (access(NET_DIR "/ip_forward.saved", F_OK) == 0)
		return true;
	char now = '1';
	_cleanup_close_ int fd = open(IP_FORWARD, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &now, 1) == 1 && now == '0';
}

static int set_ip_forward(bool any_nat)
{
	char saved[4] = "", now[4] = "";
	_cleanup_close_ int sf = open(NET_DIR "/ip_forward.saved", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sf >= 0 && read(sf, saved, 1) != 1)
		saved[0] = '\0';
	if (any_nat) {
		if (sf >= 0)
			return 0; /* already on, by us */
		_cleanup_close_ int fd = open(IP_FORWARD, O_RDWR | O_CLOEXEC);
		if (fd < 0 || read(fd, now, 1) != 1)
			return -EIO;
		if (now[0] == '1')
			return 0; /* on already: nothing of ours to restore later */
		int r = write_file(NET_DIR "/ip_forward.saved", now, 1, 0600);
		if (r == 0 && pwrite(fd, "1", 1, 0) != 1)
			r = neg_errno();
		return r;
	}
	if (sf < 0)
		return 0;
	/* Restored only while it is still the 1 nsiso wrote: whoever turned
	 * it off meanwhile keeps it off. (Another tool that wrote 1 too cannot
	 * be told from us: see nsiso.conf(5).) */
	_cleanup_close_ int fd = open(IP_FORWARD, O_RDWR | O_CLOEXEC);
	int r = fd < 0 || read(fd, now, 1) != 1 ? neg_errno() : 0;
	if (r == 0 && now[0] == '1' && pwrite(fd, saved[0] == '1' ? "1" : "0", 1, 0) != 1)
		r = neg_errno();
	if (r == 0)
		(void)unlink(NET_DIR "/ip_forward.saved");
	return r;
}

/* The ruleset and ip_forward for the networks with a state file. */
static int apply_rules(struct nsiso_error *e)
{
	static struct net_state st[POLICY_NETWORKS_MAX];
	static struct net_port ports[NET_PORTS_MAX];
	static char text[NET_PORTS_MAX * 64 + 65536];
	int loaded = load_states(st, POLICY_NETWORKS_MAX, e);
	if (loaded < 0)
		return loaded; /* the rules in force stay */
	size_t n = (size_t)loaded;
	int n_ports = load_ports(st, n, ports, NET_PORTS_MAX);
	if (n_ports < 0)
		return error_set(e, n_ports, "reading the leases of the networks");
	bool nat = false;
	for (size_t i = 0; i < n; i++)
		nat |= st[i].net.nat;
	int r = ruleset_text(st, n, ports, (size_t)n_ports, nat && forward_is_ours(), text, sizeof(text));
	if (r < 0)
		return error_set(e, r, "the nftables ruleset is too long");
	/* nft is not run again when nothing changed since the last load: the
	 * same text, and the same nftables generation (any change by anyone to
	 * any table makes a new one, so a flushed or edited ruleset is loaded
	 * again). net/rules: "generation N" and the text last loaded. */
	static char last[sizeof(text) + 32], want[sizeof(text) + 32];
	uint32_t gen;
	bool same = false;
	if (n > 0 && nl_nft_generation(&gen) == 0) {
		snprintf(want, sizeof(want), "generation %u\n%s", gen, text);
		_cleanup_close_ int lf = open(NET_DIR "/rules", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t ln = lf < 0 ? -1 : read(lf, last, sizeof(last) - 1);
		same = ln >= 0 && (size_t)ln == strlen(want) && memcmp(last, want, (size_t)ln) == 0;
	}
	if (!same) {
		(void)unlink(NET_DIR "/rules");
		r = run_nft(text, e);
		if (r < 0)
			return r;
		if (n > 0 && nl_nft_generation(&gen) == 0) {
			snprintf(want, sizeof(want), "generation %u\n%s", gen, text);
			(void)write_file(NET_DIR "/rules", want, strlen(want), 0600);
		}
	}
	r = set_ip_forward(nat);
	if (r < 0)
		return error_set(e, r, "setting net.ipv4.ip_forward");
	return r;
}

/* ---- bridges and leases ------------------------------------------------ */

static int bridge_ports(const char *bridge)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", bridge);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ENODEV : neg_errno();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A network without ports: its bridge (if ours), state and leases. */
static void retire_network(int nl, const struct net_state *st)
{
	char path[256];
	int idx = nl_link_index(st->net.bridge);
	if (st->created_bridge && idx > 0)
		(void)nl_delete_link(nl, idx);
	snprintf(path, sizeof(path), NET_DIR "/%s.state", st->net.name);
	(void)unlink(path);
	snprintf(path, sizeof(path), NET_DIR "/%s.leases", st->net.name);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		/* Only stale leases remain here (no port, no container). */
		int fd = openat(dirfd(d), e->d_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
		if (fd >= 0)
			(void)close(fd);
	}
	if (d)
		closedir(d);
	(void)rmdir(path);
}

static uint32_t fnv1a(const char *a, const char *b, uint32_t x)
{
	uint32_t h = 2166136261u;
	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((x >> (8 * i)) & 255)) * 16777619u;
	return h;
}

static int take_lease(const struct policy_network *n, const char *user, struct net_attachment *na)
{
	char dir[256], name[16];
	snprintf(dir, sizeof(dir), NET_DIR "/%s.leases", n->name);
	_cleanup_close_ int dfd = open_state_dir(dir, true);
	if (dfd < 0)
		return dfd;
	uint32_t count = (1u << (32 - n->prefix)) - 3; /* not the network, gateway or broadcast */
	uint32_t start = fnv1a(user, n->name, n->subnet ^ n->prefix) % count;
	int retries = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t addr = n->subnet + 2 + (start + i) % count;
		policy_ipv4_text(addr, name, sizeof(name));
		int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return neg_errno();
		struct stat held, named;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			(void)close(fd);
			continue; /* a live container's */
		}
		/* Released and unlinked between our open and flock: that file is
		 * no lease any more (another container may hold a new one of that
		 * address); try the name again. */
		if (fstat(fd, &held) < 0 || fstatat(dfd, name, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
		    held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
			(void)close(fd);
			if (retries++ < 3)
				i--;
			continue;
		}
		/* The port's veth (the bridge's filter: ruleset_text), then who
		 * holds it, for an admin looking. */
		char text[16 + NSISO_USER_MAX + 2];
		int len = snprintf(text, sizeof(text), "%s %s\n", na->veth, user);
		if (len < 0 || (size_t)len >= sizeof(text) || ftruncate(fd, 0) < 0 ||
		    pwrite(fd, text, (size_t)len, 0) != len) {
			int e = neg_errno();
			(void)close(fd);
			return e;
		}
		na->lease_fd = fd;
		na->addr = addr;
		snprintf(na->lease, sizeof(na->lease), "%s/%s", dir, name);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

static void release_lease(struct net_attachment *na)
{
	if (na->lease_fd < 0)
		return;
	(void)unlink(na->lease); /* under our flock: nobody holds it */
	close_fd(&na->lease_fd);
}

/* In the container: eth0 gets its address and a default route. */
static int configure_inside(int netns, const struct policy_network *n, uint32_t addr, struct nsiso_error *e)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(netns, CLONE_NEWNET) < 0)
		return error_set(e, neg_errno(), "entering the container's network namespace");
	/* A netlink socket acts in the namespace it was made in. */
	_cleanup_close_ int nl = nl_open();
	int idx = nl_link_index("eth0");
	/* Unprivileged ICMP echo sockets for every group, as Docker does:
	 * ping works without CAP_NET_RAW (which sessions never have). The
	 * sysctl is this namespace's own. */
	_cleanup_close_ int pgr = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	bool ping_ok = pgr >= 0 && write(pgr, "0 2147483647", 12) == 12;
	if (setns(self, CLONE_NEWNET) < 0)
		_exit(1); /* never go on in the wrong namespace */
	if (nl < 0 || idx < 0)
		return error_set(e, nl < 0 ? nl : idx, "finding eth0 in the container");
	if (!ping_ok)
		return error_set(e, -EIO, "setting the container's net.ipv4.ping_group_range");
	int r = nl_add_address(nl, idx, addr, n->prefix);
	if (r < 0)
		return error_set(e, r, "adding the address to eth0");
	r = nl_set_link(nl, idx, 0, true);
	if (r < 0)
		return error_set(e, r, "bringing eth0 up");
	r = nl_add_default_route(nl, idx, gateway_of(n));
	if (r < 0)
		return error_set(e, r, "adding the default route");
	return 0;
}

int network_attach(const struct user_info *u, const struct policy_settings *s, int netns, struct net_attachment *na,
		   struct nsiso_error *f)
{
	const struct policy_network *n = &s->net;
	char path[256];
	memset(na, 0, sizeof(*na));
	na->lease_fd = -EBADF;
	if (!network_is_named(s))
		return 0;
	snprintf(na->name, sizeof(na->name), "%s", n->name);
	snprintf(na->veth, sizeof(na->veth), "nsv%u", (unsigned)u->uid);

	_cleanup_close_ int lock = lock_net();
	if (lock < 0)
		return error_at(f, STEP_NET, lock, "locking %s/lock", NET_DIR);
	_cleanup_close_ int nl = nl_open();
	if (nl < 0)
		return error_at(f, STEP_NET, nl, "opening rtnetlink");
	/* Other networks a crashed supervisor left without a port go first. */
	static struct net_state others[POLICY_NETWORKS_MAX];
	int k = load_states(others, POLICY_NETWORKS_MAX, f);
	if (k < 0)
		return error_in(f, STEP_NET, k);
	for (int i = 0; i < k; i++)
		if (strcmp(others[i].net.name, n->name) != 0 && bridge_ports(others[i].net.bridge) <= 0)
			retire_network(nl, &others[i]);

	/* The bridge, and the network's state as set up now. */
	struct net_state st = { .net = *n };
	snprintf(path, sizeof(path), NET_DIR "/%s.state", n->name);
	struct net_state old;
	_cleanup_close_ int sfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd >= 0 && read(sfd, &old, sizeof(old)) == (ssize_t)sizeof(old))
		st.created_bridge = old.created_bridge && strcmp(old.net.bridge, n->bridge) == 0;
	int r, br = nl_link_index(n->bridge);
	if (br > 0 && bridge_ports(n->bridge) == -ENODEV)
		return error_at(f, STEP_NET, -EEXIST, "%s exists and is not a bridge", n->bridge);
	if (br == -ENODEV) {
		/* The gateway's MAC, fixed: a bridge without one takes its lowest
		 * port's, and changes it when that port goes (every container's
		 * neighbour entry for the gateway then goes stale). */
		unsigned char gw_mac[6];
		mac_of(gateway_of(n), gw_mac);
		r = nl_create_bridge(nl, n->bridge, gw_mac);
		if (r < 0)
			return error_at(f, STEP_NET, r, "creating bridge %s", n->bridge);
		st.created_bridge = true;
	}
	/* The state first: from here on a failure's undo knows the bridge. */
	r = write_file(path, &st, sizeof(st), 0600);
	if (r < 0) {
		(void)error_at(f, STEP_NET, r, "writing %s", path);
		if (st.created_bridge && (br = nl_link_index(n->bridge)) > 0)
			(void)nl_delete_link(nl, br);
		return r;
	}
	br = nl_link_index(n->bridge);
	r = br < 0 ? br : nl_add_address(nl, br, gateway_of(n), n->prefix);
	if (r == 0)
		r = nl_set_link(nl, br, 0, true);
	if (r < 0) {
		(void)error_at(f, STEP_NET, r, "setting up bridge %s", n->bridge);
		goto undo;
	}

	r = take_lease(n, u->name, na);
	if (r < 0) {
		(void)error_at(f, STEP_NET, r, "no free address in network %s", n->name);
		goto undo;
	}
	/* A veth of this user's previous container goes first: one still
	 * being torn down (its sessions are gone: nothing uses it) or one a
	 * crashed supervisor left (its namespace held by a session process).
	 * That container's own cleanup deletes its veth by index, so never
	 * this one. */
	int old_veth = nl_link_index(na->veth);
	if (old_veth > 0)
		(void)nl_delete_link(nl, old_veth);
	unsigned char mac[6];
	mac_of(na->addr, mac);
	r = nl_create_veth(nl, na->veth, "eth0", mac, netns);
	if (r < 0) {
		(void)error_at(f, STEP_NET, r, "creating the veth pair %s/eth0", na->veth);
		goto undo;
	}
	int host = nl_link_index(na->veth);
	na->veth_index = host;
	r = host < 0 ? host : nl_set_link(nl, host, br, true);
	if (r == 0 && n->isolate)
		r = nl_set_port_isolated(nl, host);
	if (r < 0) {
		(void)error_at(f, STEP_NET, r, "putting %s on bridge %s", na->veth, n->bridge);
		goto undo;
	}
	r = configure_inside(netns, n, na->addr, f);
	if (r < 0) {
		(void)error_in(f, STEP_NET, r);
		goto undo;
	}
	r = apply_rules(f);
	if (r < 0) {
		(void)error_in(f, STEP_NET, r);
		goto undo;
	}
	na->active = true;
	return 0;
undo:
	(void)close(TAKE_FD(lock));
	network_detach(na);
	return r;
}

void network_detach(struct net_attachment *na)
{
	static struct net_state st[POLICY_NETWORKS_MAX];
	struct nsiso_error why = { 0 };
	if (!na->name[0])
		return;
	_cleanup_close_ int lock = lock_net();
	_cleanup_close_ int nl = nl_open();
	if (lock < 0 || nl < 0) {
		syslog(LOG_WARNING,
		       "network cleanup failed network=%s veth=%s error=%s: the next login on a network "
		       "retires what is left",
		       na->name, na->veth, strerrorname_np(-(lock < 0 ? lock : nl)));
		return;
	}
	/* Deleted now rather than left to the kernel's background teardown of
	 * the namespace: that runs concurrently with the next logins and, in
	 * the benchmark, made them slower (docs/PERFORMANCE.md). */
	int idx = nl_link_index(na->veth);
	if (idx > 0 && idx == na->veth_index)
		(void)nl_delete_link(nl, idx);
	release_lease(na);
	/* Every network left without a port: this one when it was the last,
	 * and any a crashed supervisor left behind. */
	int n = load_states(st, POLICY_NETWORKS_MAX, &why);
	if (n < 0)
		syslog(LOG_WARNING, "network rules not updated network=%s detail=\"%s\"", na->name, error_text(&why));
	for (int i = 0; i < n; i++)
		if (bridge_ports(st[i].net.bridge) <= 0)
			retire_network(nl, &st[i]);
	/* The port's filter goes with it (and a network's rules with the
	 * network). A failure leaves the old ruleset whole: it names a veth
	 * that is gone, which nothing can use but this user's next one. */
	if (apply_rules(&why) < 0)
		syslog(LOG_WARNING, "network rules not updated network=%s detail=\"%s\"", na->name, error_text(&why));
	na->name[0] = '\0';
	na->active = false;
}
