/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsiso: the admin's command.
 *
 *   nsiso check [--config PATH] [--sshd-service NAME]
 *   nsiso explain USER [--config PATH] [--json]
 *   nsiso list [--json]
 *   nsiso show USER [--json]
 *   nsiso enter USER [--root] [--config PATH] [-- CMD...]
 *   nsiso stop USER [--timeout SECONDS]
 *   nsiso set USER KEY=VALUE...
 *
 * Exit codes: 0 fine; 1 the policy is invalid or unsafe (every error is
 * printed, like sshd -t), or the operation failed; 2 usage; 3 no such
 * user; 4 no live container. enter: the command's status, 125 when nsiso
 * failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "util.h"
#include "idmap.h"
#include "lastgood.h"
#include "proto.h"
#include "subids.h"
#include <shadow/subid.h>
#include "nstable.h"
#include "policy.h"
#include "who.h"

static struct policy pol;

static int usage(FILE *out, int code)
{
	fprintf(out, "usage: nsiso check [--config PATH] [--sshd-service NAME]\n"
		     "       nsiso explain USER [--config PATH] [--json]\n"
		     "       nsiso list [--json]\n"
		     "       nsiso show USER [--json]\n"
		     "       nsiso enter USER [--root] [--config PATH] [-- CMD [ARG...]]\n"
		     "       nsiso stop USER [--timeout SECONDS]\n"
		     "       nsiso set USER KEY=VALUE...\n"
		     "       nsiso subids [--release]\n"
		     "       nsiso metrics [--textfile DIR] [--per-user] [--config PATH]\n"
		     "       nsiso status    (or nsiso-status; inside a container, any user)\n"
		     "\n"
		     "check    validate the policy and its drop-ins (PATH.d/*.conf); print every error;\n"
		     "         lint the auth stack of /etc/pam.d/NAME (default sshd)\n"
		     "explain  show what USER gets and which file:line:[section] set each value\n"
		     "list     the live containers: user, init pid, sessions, network, memory, pids, age\n"
		     "show     one container: namespaces, id maps, mounts, network, limits, usage, sessions\n"
		     "enter    run CMD (default: the user's login shell) in USER's live container, as USER,\n"
		     "         or as container root with --root\n"
		     "stop     end every session of USER's container (SIGTERM), then the container;\n"
		     "         by force after --timeout (default 10 s)\n"
		     "set      change memory_max, memory_high, pids_max, cpu_max, cpu_weight, io_weight of\n"
		     "         USER's live container at once (until it ends)\n"
		     "subids   the subordinate ids nsiso allocated (subids = auto); --release drops\n"
		     "         those of users who no longer exist\n"
		     "metrics  node_exporter's text format: containers, sessions, logins and refusals by\n"
		     "         service and step, creation latency, OOM kills, the policy's hash; with\n"
		     "         --textfile DIR written to DIR/nsiso.prom atomically\n"
		     "status   (any user, inside a container) the container's limits and usage, and when\n"
		     "         idle_timeout or max_session would end the session\n"
		     "\n"
		     "A USER that begins with '-' comes after \"--\": nsiso show -- -rf,\n"
		     "nsiso enter -- -rf -- CMD.\n"
		     "Default policy: " NSISO_DEFAULT_CONFIG "\n"
		     "Exit: 0 fine, 1 invalid policy or failed, 2 usage, 3 no such user, 4 no live container;\n"
		     "enter: the command's status, or 125 when nsiso failed.\n");
	return code;
}

static const char *rlimit_text(const struct policy_settings *s, int i, char *buf, size_t size)
{
	char soft[24], hard[24];
	if (s->rlimit[i].soft == POLICY_RLIM_INFINITY)
		snprintf(soft, sizeof(soft), "unlimited");
	else
		snprintf(soft, sizeof(soft), "%llu", (unsigned long long)s->rlimit[i].soft);
	if (s->rlimit[i].hard == POLICY_RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		snprintf(hard, sizeof(hard), "%llu", (unsigned long long)s->rlimit[i].hard);
	snprintf(buf, size, "%s:%s", soft, hard);
	return buf;
}

static int load(const char *config)
{
	struct nsiso_error err = { 0 };
	if (config[0] != '/') {
		fprintf(stderr, "nsiso: --config needs an absolute path\n");
		return 2;
	}
	int r = policy_load(&pol, config, &err);
	if (r < 0) {
		fprintf(stderr, "%s\n", pol.errors);
		int64_t saved, since;
		char when[32] = "?";
		if (lastgood_status(LASTGOOD_DIR, config, &saved, &since, &err) == 0) {
			time_t t = (time_t)saved;
			struct tm tm;
			if (localtime_r(&t, &tm))
				(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			fprintf(stderr,
				"nsiso: the policy is invalid: logins run under the last valid policy, kept %s "
				"(%s); fix it and it applies at once\n",
				when, LASTGOOD_DIR);
		} else {
			fprintf(stderr, "nsiso: the policy is invalid and no valid policy was seen since boot: every "
					"session it covers is refused\n");
		}
		return 1;
	}
	return 0;
}

static int check(const char *config, const char *sshd_service)
{
	int r = load(config);
	if (r)
		return r;
	if (pol.builtin) {
		printf("%s: absent; the built-in defaults apply\n", config);
		return pam_auth_lint("/etc/pam.d", sshd_service);
	}
	/* A bind source or a view target that this host does not have: known
	 * now, refused at every login it covers otherwise. */
	struct nsiso_error err = { 0 };
	if (policy_check_mount_paths(&pol, &err) < 0) {
		fprintf(stderr, "%s\n", pol.errors);
		fprintf(stderr, "nsiso: the sessions these entries cover would be refused\n");
		return 1;
	}
	/* The hooks as the supervisor will open them: a program it would not
	 * run refuses every first login. */
	const char *hooks[][2] = { { "on_create", pol.on_create }, { "on_destroy", pol.on_destroy } };
	for (size_t i = 0; i < 2; i++) {
		if (!hooks[i][1][0])
			continue;
		struct nsiso_error why = { 0 };
		int fd = open_trusted_file(hooks[i][1], &why);
		struct stat st;
		if (fd >= 0 && (fstat(fd, &st) < 0 || !(st.st_mode & S_IXUSR)))
			fd = (close(fd), error_set(&why, -EACCES, "not executable"));
		if (fd < 0) {
			fprintf(stderr, "%s %s would not be run: %s\n", hooks[i][0], hooks[i][1],
				why.detail[0] ? why.detail : strerror(-fd));
			fprintf(stderr, "nsiso: %s\n",
				i == 0 ? "every first login would be refused (step hook)"
				       : "it would not run when a container ends");
			return 1;
		}
		(void)close(fd);
	}
	size_t groups = 0, users = 0;
	for (size_t i = 0; i < pol.n_rules; i++) {
		groups += pol.rules[i].kind == RULE_GROUP;
		users += pol.rules[i].kind == RULE_USER;
	}
	printf("%s: valid (%zu file%s, %zu section%s: %zu group, %zu user; on_error = %s; %zu exempt)\n", config,
	       pol.n_files, pol.n_files == 1 ? "" : "s", pol.n_rules, pol.n_rules == 1 ? "" : "s", groups, users,
	       pol.on_error_allow ? "allow" : "deny", pol.n_exempt);
	for (size_t i = 0; i < pol.n_files; i++)
		printf("  read %s\n", pol.files[i]);
	for (size_t i = 0; i < pol.n_rules; i++) {
		const struct policy_rule *rule = &pol.rules[i];
		if ((rule->values.set & (1u << KEY_NETWORK)) && strcmp(rule->values.network, "host") == 0)
			printf("warning: %s:%d: network = host: these sessions share the host's network (no network "
			       "namespace)\n",
			       pol.files[rule->file], rule->line);
	}
	/* on_error = allow never lets in a failure the tenant could cause
	 * (THREATS 59), and view paths in homes are where a tenant causes one. */
	for (size_t i = 0; pol.on_error_allow && i < pol.n_rules; i++) {
		const struct policy_rule *rule = &pol.rules[i];
		const char *what = NULL;
		if ((rule->values.set & (1u << KEY_HOME)) && rule->values.home == HOME_PRIVATE)
			what = "home = private";
		for (int kind = 0; kind < MOUNT_KINDS && !what; kind++)
			if ((rule->values.set & (1u << (KEY_BIND + kind))) &&
			    (strstr(rule->values.mounts[kind], "/home/") || strstr(rule->values.mounts[kind], "%u") ||
			     strstr(rule->values.mounts[kind], "%U")))
				what = policy_key_name((enum policy_key)(KEY_BIND + kind));
		if (what)
			printf("warning: %s:%d: on_error = allow with view paths in homes (%s): a tenant can make "
			       "their own container fail there, and such failures are refused, never let in\n",
			       pol.files[rule->file], rule->line, what);
	}
	/* A key a later [user] or [group] section of the same name sets again:
	 * a note, so that an admin sees which drop-in won. */
	for (size_t i = 0; i < pol.n_rules; i++)
		for (size_t j = i + 1; j < pol.n_rules; j++) {
			const struct policy_rule *a = &pol.rules[i], *b = &pol.rules[j];
			if (a->kind != b->kind || a->kind == RULE_DEFAULT || strcmp(a->name, b->name) != 0)
				continue;
			for (int k = 0; k < KEY_COUNT; k++)
				if ((a->values.set & b->values.set) & (1u << k))
					printf("note: %s:%d: [%s %s] %s overrides %s:%d\n", pol.files[b->file], b->line,
					       a->kind == RULE_USER ? "user" : "group", a->name,
					       policy_key_name((enum policy_key)k), pol.files[a->file], a->line);
		}
	for (size_t i = 0; i < pol.n_networks; i++) {
		char a[16];
		const struct policy_network *n = &pol.networks[i];
		printf("  network %s: bridge %s, subnet %s/%u, nat %s, isolate %s, %u host port%s open, %u allowed "
		       "destination%s\n",
		       n->name, n->bridge, policy_ipv4_text(n->subnet, a, sizeof(a)), n->prefix, n->nat ? "yes" : "no",
		       n->isolate ? "yes" : "no", n->n_ports, n->n_ports == 1 ? "" : "s", n->n_allow,
		       n->n_allow == 1 ? "" : "s");
	}
	/* sshd's auth stack: a setcred that ends before pam_nsiso fails every
	 * split login. */
	return pam_auth_lint("/etc/pam.d", sshd_service);
}

static int cmd_subids(bool release)
{
	static struct subid_entry e[SUBIDS_MAX];
	struct nsiso_error why = { 0 };
	if (geteuid() != 0) {
		fprintf(stderr, "nsiso: subids needs root\n");
		return 1;
	}
	if (release) {
		int r = subids_release_stale(&why);
		if (r < 0) {
			fprintf(stderr, "nsiso: releasing subordinate ids: %s (%s)\n",
				why.detail[0] ? why.detail : "failed", strerror(-r));
			return 1;
		}
		printf("released %d range%s\n", r, r == 1 ? "" : "s");
		return 0;
	}
	int n = subids_list(e, SUBIDS_MAX);
	if (n < 0) {
		fprintf(stderr, "nsiso: reading %s/subids: %s\n", NSISO_STATEDIR, strerror(-n));
		return 1;
	}
	printf("%-24s %10s %12s %12s  %s\n", "USER", "UID", "FIRST", "LAST", "STATE");
	for (int i = 0; i < n; i++) {
		struct passwd *pw = getpwuid(e[i].uid);
		char uv[LOG_VALUE_MAX];
		printf("%-24s %10u %12u %12u  %s\n", log_value(uv, sizeof(uv), e[i].name), e[i].uid, e[i].start,
		       e[i].start + SUBID_BLOCK - 1,
		       pw && strcmp(pw->pw_name, e[i].name) == 0 ? "user exists" : "user gone");
	}
	return 0;
}

/* What the container's mount namespace will be, in the order it is built
 * (helper/mounts.c), where it differs from the host's. */
static void print_mount_plan(const struct policy_settings *s, const char *home)
{
	bool mnt = s->ns_mask & NS_BIT(NS_MNT);
	printf("mounts, in order%s:\n", mnt ? "" : " (none: no mount namespace)");
	if (!mnt)
		return;
	if (s->ns_mask & NS_BIT(NS_PID))
		printf("  %-16s proc of the container's PID namespace\n", "/proc");
	if (s->ns_mask & NS_BIT(NS_NET))
		printf("  %-16s sysfs of the container's network namespace, read-only\n", "/sys");
	printf("  %-16s tmpfs, read-only: null zero full random urandom tty, devpts of its own, shm (%s), mqueue\n",
	       "/dev", s->shm_size);
	if (s->tmp == TMP_PRIVATE)
		printf("  %-16s tmpfs of %s\n  %-16s tmpfs of %s\n", "/tmp", s->tmp_size, "/var/tmp", s->tmp_size);
	printf("  %-16s tmpfs each, where the host has them world-writable\n", "/var/crash ...");
	printf("  %-16s tmpfs: utmp, the journal's sockets, %s, lock, user%s\n", "/run",
	       s->system_bus == SYSTEM_BUS_HOST ? "the system bus" : "the system bus for host root only",
	       (s->ns_mask & NS_BIT(NS_NET)) ? "" : ", systemd/resolve");
	printf("  %-16s tmpfs with only the user's runtime directory\n", "/run/user");
	if (s->home == HOME_READ_ONLY)
		printf("  %-16s the home, read-only\n", home);
	if (s->home == HOME_PRIVATE) {
		char parent[POLICY_PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", home);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		printf("  %-16s tmpfs, read-only, holding only %s (home = private)\n", parent, home);
	}
	static const enum mount_kind order[] = { MOUNT_TMPFS, MOUNT_BIND, MOUNT_BIND_RO, MOUNT_HIDE };
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (uint32_t i = 0; i < s->n_mounts; i++) {
			const struct policy_mount *m = &s->mounts[i];
			if (m->kind != order[k])
				continue;
			switch (m->kind) {
			case MOUNT_TMPFS: printf("  %-16s tmpfs of %s, mode 1777\n", m->dst, m->size); break;
			case MOUNT_BIND: printf("  %-16s %s, read-write\n", m->dst, m->src); break;
			case MOUNT_BIND_RO: printf("  %-16s %s, read-only\n", m->dst, m->src); break;
			case MOUNT_HIDE: printf("  %-16s hidden: empty and read-only\n", m->dst); break;
			case MOUNT_KINDS: break;
			}
		}
	printf("  %-16s hidden (nsiso's state)\n", NSISO_RUNDIR);
}

static int explain(const char *user, const char *config, int json)
{
	static struct nss_who w;
	struct policy_settings s;
	struct nsiso_error err = { 0 };
	char buf[256];
	int r = load(config);
	if (r)
		return r;
	r = nss_who_fill(&w, user, true);
	if (r == -ENOENT) {
		fprintf(stderr, "nsiso: no such user: %s\n", user);
		return 3;
	}
	if (r < 0) {
		fprintf(stderr, "nsiso: cannot resolve %s: %s\n", user, strerror(-r));
		return 1;
	}
	r = policy_resolve(&pol, &w.who, &s, &err);
	if (r == 0 && w.error < 0)
		r = error_set(&err, w.error, "the groups of %s cannot be resolved through NSS (%s)", user,
			      strerror(-w.error));
	if (r < 0) {
		fprintf(stderr, "%s\n", err.detail);
		fprintf(stderr, "nsiso: %s's sessions are refused\n", user);
		return 1;
	}
	if (json) {
		printf("{\"user\":");
		json_string(user);
		printf(",\"uid\":%u,\"policy\":", (unsigned)w.who.uid);
		json_string(config);
		printf(",\"builtin\":%s,\"exempt\":%s", pol.builtin ? "true" : "false", s.exempt ? "true" : "false");
		if (s.exempt) {
			printf(",\"exempt_source\":");
			json_string(s.exempt_source);
		}
		printf(",\"on_error\":{\"value\":\"%s\",\"source\":", s.on_error_allow ? "allow" : "deny");
		json_string(s.on_error_source);
		printf("},\"on_create\":{\"value\":");
		json_string(s.on_create[0] ? s.on_create : "none");
		printf(",\"source\":");
		json_string(s.on_create_source);
		printf("},\"on_destroy\":{\"value\":");
		json_string(s.on_destroy[0] ? s.on_destroy : "none");
		printf(",\"source\":");
		json_string(s.on_destroy_source);
		printf("},\"settings\":{");
		for (int k = 0; k < KEY_COUNT; k++) {
			printf("%s\"%s\":{\"value\":", k ? "," : "", policy_key_name((enum policy_key)k));
			json_string(policy_value_text(&s, (enum policy_key)k, buf, sizeof(buf)));
			printf(",\"source\":");
			json_string(s.source[k]);
			printf("}");
		}
		for (int i = 0; i < POLICY_RLIMITS; i++)
			if (s.rlimit_set & (1u << i)) {
				printf(",\"rlimit_%s\":{\"value\":", policy_rlimit_names[i].name);
				json_string(rlimit_text(&s, i, buf, sizeof(buf)));
				printf(",\"source\":");
				json_string(s.rlimit_source[i]);
				printf("}");
			}
		printf("}}\n");
		return 0;
	}
	printf("user %s (uid %u), policy %s%s\n", user, (unsigned)w.who.uid, config,
	       pol.builtin ? " (absent: built-in defaults)" : "");
	if (s.exempt) {
		printf("exempt: yes (%s): sessions run on the host, with no container\n", s.exempt_source);
		return 0;
	}
	printf("%-12s = %-40s  # %s\n", "on_error", s.on_error_allow ? "allow" : "deny", s.on_error_source);
	printf("%-12s = %-40s  # %s\n", "subids", s.subids_auto ? "auto" : "files", s.subids_source);
	printf("%-12s = %-40s  # %s\n", "on_create", s.on_create[0] ? s.on_create : "none", s.on_create_source);
	printf("%-12s = %-40s  # %s\n", "on_destroy", s.on_destroy[0] ? s.on_destroy : "none", s.on_destroy_source);
	char range[160];
	int refused = subids_where(user, w.who.uid, &s, range, sizeof(range));
	printf("%-12s = %-40s\n", "subordinate", range);
	/* A home that is not there refuses nothing (sshd starts the session in
	 * /, and home = read-only has nothing to mount), but an admin wants to
	 * know before the user calls. */
	struct passwd *hp = getpwnam(user);
	struct stat hs;
	if (hp && (stat(hp->pw_dir, &hs) < 0 || !S_ISDIR(hs.st_mode)))
		printf("note: the home %s does not exist: sessions start in /\n", hp->pw_dir);
	for (int k = 0; k < KEY_COUNT; k++)
		printf("%-12s = %-40s  # %s\n", policy_key_name((enum policy_key)k),
		       policy_value_text(&s, (enum policy_key)k, buf, sizeof(buf)), s.source[k]);
	for (int i = 0; i < POLICY_RLIMITS; i++)
		if (s.rlimit_set & (1u << i)) {
			char key[32];
			snprintf(key, sizeof(key), "rlimit_%s", policy_rlimit_names[i].name);
			printf("%-12s = %-40s  # %s\n", key, rlimit_text(&s, i, buf, sizeof(buf)), s.rlimit_source[i]);
		}
	print_mount_plan(&s, hp ? hp->pw_dir : "");
	if (refused) {
		fprintf(stderr, "nsiso: %s's sessions would be refused: %s\n", user, range);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = NSISO_DEFAULT_CONFIG, *user = NULL, *sshd_service = "sshd";
	int json = 0, root = 0;
	bool config_given = false, release = false, per_user = false;
	const char *textfile = NULL;
	unsigned timeout = 10;
	char **cmd = NULL;
	char *assign[64];
	int n_assign = 0;
	tty_safe_install();
	/* nsiso-status (in users' PATH, /usr/bin): nsiso status */
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(self, "nsiso-status") == 0)
		return argc == 1 ? cmd_status() : usage(stderr, 2);
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	const char *verb = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout, 0);
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i], config_given = true;
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config = argv[i] + 9, config_given = true;
		else if (strcmp(argv[i], "--sshd-service") == 0 && i + 1 < argc && !strchr(argv[i + 1], '/'))
			sshd_service = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--root") == 0)
			root = 1;
		else if (strcmp(argv[i], "--release") == 0)
			release = true;
		else if (strcmp(argv[i], "--per-user") == 0)
			per_user = true;
		else if (strcmp(argv[i], "--textfile") == 0 && i + 1 < argc)
			textfile = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			unsigned long t = strtoul(argv[++i], &end, 10);
			if (*end || end == argv[i] || t > 600) {
				fprintf(stderr, "nsiso: --timeout takes 0..600 seconds\n");
				return 2;
			}
			timeout = (unsigned)t;
		} else if (strcmp(argv[i], "--") == 0) {
			/* Options end here. A user not named yet comes next (a name
			 * may begin with '-': `nsiso show -- -rf`); then enter's
			 * command, after a second "--" when the user came here. */
			i++;
			if (!user && i < argc) {
				user = argv[i++];
				if (i < argc && strcmp(argv[i], "--") == 0)
					i++;
			}
			cmd = argv + i;
			/* set's assignments may follow the user there too */
			while (strcmp(verb, "set") == 0 && *cmd && strchr(*cmd, '=') &&
			       n_assign < (int)ARRAY_SIZE(assign))
				assign[n_assign++] = *cmd++;
			break;
		} else if (argv[i][0] != '-' && !user)
			user = argv[i];
		else if (user && strchr(argv[i], '=') && argv[i][0] != '-' && n_assign < (int)ARRAY_SIZE(assign))
			assign[n_assign++] = argv[i];
		else
			return usage(stderr, 2);
	}
	bool is_enter = strcmp(verb, "enter") == 0;
	if (n_assign && strcmp(verb, "set") != 0)
		return usage(stderr, 2);
	if ((cmd && *cmd && !is_enter) || (root && !is_enter))
		return usage(stderr, 2);
	if (strcmp(verb, "check") == 0 && !user && !json)
		return check(config, sshd_service);
	if (strcmp(verb, "explain") == 0 && user)
		return explain(user, config, json);
	if (strcmp(verb, "list") == 0 && !user)
		return cmd_list(json);
	if (strcmp(verb, "status") == 0 && !user && !json)
		return cmd_status();
	if (strcmp(verb, "metrics") == 0 && !user && !json)
		return cmd_metrics(config, textfile, per_user);
	if (strcmp(verb, "subids") == 0 && !user && !json)
		return cmd_subids(release);
	if (strcmp(verb, "show") == 0 && user)
		return cmd_show(user, json);
	if (strcmp(verb, "stop") == 0 && user && !json && !n_assign)
		return cmd_stop(user, timeout);
	if (strcmp(verb, "set") == 0 && user && !json && n_assign)
		return cmd_set(user, assign, n_assign);
	if (is_enter && user && !json)
		/* Without --config: the policy the container was made with. */
		return cmd_enter(user, config_given ? config : "", root, cmd);
	return usage(stderr, 2);
}
