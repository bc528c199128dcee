/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of the policy language: given these files and these
 * group memberships, the resolved policy is exactly this. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "nstable.h"
#include "policy.h"
#include "tap.h"

static struct policy pol;
static char err[POLICY_ERRORS_MAX]; /* every error of the last load, or the error of a resolve */
static struct nsiso_error first_error;

/* Load texts as file 0, 1, ... ("main.conf", "main.conf.d/NN.conf"). */
static int load(const char *const *texts)
{
	policy_init_empty(&pol, "main.conf");
	int first = 0;
	err[0] = '\0';
	memset(&first_error, 0, sizeof(first_error));
	for (int i = 0; texts[i]; i++) {
		int fd = memfd_create("policy", MFD_CLOEXEC);
		if (fd < 0 || write(fd, texts[i], strlen(texts[i])) != (ssize_t)strlen(texts[i]))
			return -EIO;
		char name[64];
		if (i == 0)
			snprintf(name, sizeof(name), "main.conf");
		else
			snprintf(name, sizeof(name), "main.conf.d/%02d.conf", i);
		int r = policy_load_fd(&pol, fd, name, first ? &(struct nsiso_error){ 0 } : &first_error);
		close(fd);
		if (r < 0 && !first)
			first = r;
	}
	if (!first)
		first = policy_check_networks(&pol, &first_error);
	snprintf(err, sizeof(err), "%s", pol.errors);
	return first;
}
static int load1(const char *text)
{
	const char *t[] = { text, NULL };
	return load(t);
}

/* Memberships: "user:group,group;user:group". */
static const char *memberships;
static const char *current_user;
static bool in_group(const char *group, void *ctx)
{
	(void)ctx;
	char want[128];
	const char *p = memberships;
	size_t ul = strlen(current_user);
	while (p && *p) {
		if (strncmp(p, current_user, ul) == 0 && p[ul] == ':') {
			const char *g = p + ul + 1;
			const char *end = strchr(g, ';');
			size_t len = end ? (size_t)(end - g) : strlen(g);
			snprintf(want, sizeof(want), ",%.*s,", (int)len, g);
			char needle[80];
			snprintf(needle, sizeof(needle), ",%s,", group);
			return strstr(want, needle) != NULL;
		}
		p = strchr(p, ';');
		if (p)
			p++;
	}
	return false;
}

static struct policy_settings st;
static int resolve(const char *user, uint32_t uid, const char *members)
{
	struct policy_who who = { .user = user, .uid = uid, .group = "staff", .host = "labhost", .in_group = in_group };
	memberships = members;
	current_user = user;
	struct nsiso_error e = { 0 };
	int r = policy_resolve(&pol, &who, &st, &e);
	snprintf(err, sizeof(err), "%s", e.detail);
	return r;
}

static const char *val(enum policy_key k)
{
	static char buf[128];
	return policy_value_text(&st, k, buf, sizeof(buf));
}

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void test_builtin(void)
{
	/* Built-in defaults. */
	policy_init_builtin(&pol);
	TAP_EQ_INT(resolve("alice", 1001, ""), 0, "builtin resolves");
	TAP_EQ_STR(val(KEY_NAMESPACES), "user mount pid ipc uts net cgroup", "builtin: every namespace");
	TAP_EQ_STR(val(KEY_HOSTNAME), "alice", "builtin: hostname is the user name");
	TAP_EQ_STR(val(KEY_USERNS), "keep-id+subuid", "builtin: userns keep-id+subuid");
	TAP_EQ_STR(val(KEY_TMP), "private", "builtin: private /tmp");
	TAP_EQ_STR(val(KEY_HOME), "shared", "builtin: shared home");
	TAP_EQ_STR(val(KEY_LINGER), "2", "builtin: a 2 s grace after the last session");
	TAP_OK(!st.on_error_allow && !st.exempt, "builtin: on_error deny, not exempt");
	TAP_EQ_STR(st.source[KEY_HOSTNAME], "built-in", "builtin: source says built-in");
	TAP_EQ_INT(policy_load(&pol, "/nonexistent/nsiso.conf", &first_error), 0, "absent file loads");
	TAP_OK(pol.builtin, "absent file and drop-ins: flagged builtin");
}

static void test_language(void)
{
	/* The language. */
	const char *lab = "[global]\n"
			  "on_error = deny\n"
			  "exempt = root, admin, @wheel\n"
			  "[default]\n"
			  "namespaces = pid mount ipc uts net user cgroup\n"
			  "hostname = %u\n"
			  "[group students]\n"
			  "hostname = stu-%u\n"
			  "tmp = private\n"
			  "home = read-only\n"
			  "[group staff]\n"
			  "namespaces = pid mount user\n"
			  "hostname = staff-%u\n"
			  "linger = 3600\n"
			  "[user carol]\n"
			  "hostname = carol-box\n"
			  "userns = keep-id\n";
	TAP_EQ_INT(load1(lab), 0, "the lab policy parses: %s", err);

	TAP_EQ_INT(resolve("sam", 2001, "sam:students"), 0, "student resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "stu-sam", "student: group hostname");
	TAP_EQ_STR(val(KEY_HOME), "read-only", "student: read-only home");
	TAP_EQ_STR(val(KEY_NAMESPACES), "user mount pid ipc uts net cgroup", "student: namespaces from [default]");
	TAP_EQ_STR(st.source[KEY_HOSTNAME], "main.conf:7:[group students]", "student: hostname's source");
	TAP_EQ_STR(st.source[KEY_NAMESPACES], "main.conf:4:[default]", "student: namespaces' source");

	TAP_EQ_INT(resolve("tom", 2002, "tom:staff"), 0, "staff resolves");
	TAP_EQ_STR(val(KEY_NAMESPACES), "user mount pid", "staff: fewer namespaces");
	TAP_EQ_STR(val(KEY_LINGER), "3600", "staff: linger");
	TAP_EQ_STR(val(KEY_HOME), "shared", "staff: home stays shared");

	TAP_EQ_INT(resolve("nobody-in-particular", 2003, ""), 0, "a user in no group resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "nobody-in-particular", "no group: [default]");
}

static void test_two_groups(void)
{
	/* Two groups set the same key: the later section in reading order wins. */
	TAP_EQ_INT(resolve("ann", 2004, "ann:staff,students"), 0, "member of both resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "staff-ann", "two groups: the later section wins");
	TAP_EQ_STR(st.source[KEY_HOSTNAME], "main.conf:11:[group staff]", "two groups: source is the later section");
	TAP_EQ_STR(val(KEY_HOME), "read-only", "two groups: keys only one sets still apply");
}

static void test_precedence(void)
{
	/* user beats group beats default. */
	TAP_EQ_INT(resolve("carol", 2005, "carol:staff,students"), 0, "carol resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "carol-box", "user section beats groups");
	TAP_EQ_STR(val(KEY_USERNS), "keep-id", "user section: userns");
	TAP_EQ_STR(st.source[KEY_HOSTNAME], "main.conf:15:[user carol]", "user section: source");
}

static void test_exempt(void)
{
	/* exempt */
	TAP_EQ_INT(resolve("admin", 2006, ""), 0, "exempt user resolves");
	TAP_OK(st.exempt, "exempt user is exempt");
	TAP_OK(contains(st.exempt_source, "exempt admin"), "exempt source names the entry: %s", st.exempt_source);
	TAP_EQ_INT(resolve("will", 2007, "will:wheel"), 0, "exempt group member resolves");
	TAP_OK(st.exempt, "@wheel member is exempt");
	TAP_OK(contains(st.exempt_source, "@wheel"), "exempt source names @wheel: %s", st.exempt_source);
	TAP_EQ_INT(resolve("sam", 2001, "sam:students"), 0, "student again");
	TAP_OK(!st.exempt, "a student is not exempt");
	TAP_EQ_INT(resolve("toor", 0, ""), 0, "uid 0 resolves");
	TAP_OK(st.exempt, "uid 0 is always exempt");
}

static void test_on_error(void)
{
	/* on_error */
	TAP_EQ_INT(load1("[global]\non_error = allow\n"), 0, "on_error allow parses");
	TAP_EQ_INT(resolve("x", 3000, ""), 0, "resolves");
	TAP_OK(st.on_error_allow, "on_error allow");
	TAP_EQ_STR(st.on_error_source, "main.conf:[global]", "on_error source");
}

static void test_dropins(void)
{
	/* Drop-ins: later files override earlier ones. */
	const char *two[] = { "[default]\nhostname = main-%u\ntmp = shared\n", "[default]\nhostname = dropin-%u\n",
			      "[group students]\nlinger = yes\n", NULL };
	TAP_EQ_INT(load(two), 0, "main file and two drop-ins parse");
	TAP_EQ_INT(resolve("sam", 2001, "sam:students"), 0, "resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "dropin-sam", "a drop-in overrides the main file");
	TAP_EQ_STR(st.source[KEY_HOSTNAME], "main.conf.d/01.conf:1:[default]", "source names the drop-in");
	TAP_EQ_STR(val(KEY_TMP), "shared", "what the drop-in does not set stays");
	TAP_EQ_STR(val(KEY_LINGER), "yes", "group section in a drop-in applies");
}

static void test_hostname_escapes(void)
{
	/* hostname escapes */
	TAP_EQ_INT(load1("[default]\nhostname = %u-%U-%g-%h\n"), 0, "all escapes parse");
	TAP_EQ_INT(resolve("sam", 2001, ""), 0, "resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "sam-2001-staff-labhost", "%%u %%U %%g %%h expand");
}

static void test_hardening(void)
{
	/* Hardening keys. */
	policy_init_builtin(&pol);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "builtin resolves");
	TAP_EQ_STR(val(KEY_SECCOMP), "default", "builtin: default seccomp filter");
	TAP_EQ_STR(val(KEY_NO_NEW_PRIVS), "yes", "builtin: no_new_privs");
	TAP_EQ_STR(val(KEY_CAPABILITIES), "none", "builtin: empty bounding set");
	TAP_EQ_INT(st.rlimit_set, 0, "builtin: no rlimit");
	TAP_EQ_INT(load1("[default]\nseccomp = off\nno_new_privs = no\ncapabilities = cap_net_raw, NET_BIND_SERVICE\n"
			 "rlimit_nofile = 1024:4096\nrlimit_core = 0\nrlimit_as = unlimited\n"),
		   0, "hardening keys parse: %s", err);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_STR(val(KEY_SECCOMP), "off", "seccomp off");
	TAP_EQ_STR(val(KEY_NO_NEW_PRIVS), "no", "no_new_privs no");
	TAP_EQ_STR(val(KEY_CAPABILITIES), "cap_net_bind_service cap_net_raw", "capabilities by either spelling");
	TAP_EQ_INT(st.capabilities, (1 << 10) | (1 << 13), "capability bits 10 and 13");
	TAP_EQ_INT(st.rlimit_set, (1 << 6) | (1 << 4) | (1 << 8), "nofile, core and as are set");
	TAP_EQ_INT(st.rlimit[6].soft, 1024, "nofile soft");
	TAP_EQ_INT(st.rlimit[6].hard, 4096, "nofile hard");
	TAP_EQ_INT(st.rlimit[4].hard, 0, "core 0 sets both");
	TAP_OK(st.rlimit[8].soft == POLICY_RLIM_INFINITY && st.rlimit[8].hard == POLICY_RLIM_INFINITY, "as unlimited");
	TAP_EQ_STR(st.rlimit_source[6], "main.conf:1:[default]", "rlimit source");
	TAP_EQ_INT(load1("[default]\nseccomp = strict\n"), -EINVAL, "seccomp = strict rejected");
	TAP_EQ_INT(load1("[default]\ncapabilities = cap_fly\n"), -EINVAL, "unknown capability rejected");
	TAP_EQ_INT(load1("[default]\nrlimit_bogus = 1\n"), -EINVAL, "unknown rlimit rejected");
	TAP_EQ_INT(load1("[default]\nrlimit_nofile = 10:5\n"), -EINVAL, "soft above hard rejected");
	TAP_EQ_INT(load1("[default]\nrlimit_nofile = -1\n"), -EINVAL, "negative rlimit rejected");
	TAP_EQ_INT(load1("[default]\nrlimit_nofile = 99999999999999999999999\n"), -ERANGE,
		   "overflowing rlimit rejected");
}

static void test_subids(void)
{
	/* [global] subids and subids_pool. */
	TAP_EQ_INT(load1("[default]\n"), 0, "no subids key loads");
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_INT(st.subids_auto, 0, "subids = files by default");
	TAP_EQ_INT(st.subids_pool_start, 2000224256u,
		   "the pool starts above SSSD's id-mapping range (200000-2000200000), 65536-aligned");
	TAP_EQ_INT(st.subids_pool_start % 65536, 0, "aligned");
	TAP_EQ_INT(st.subids_pool_end, 0x7FFDFFFFu,
		   "and ends below systemd's foreign range and FreeIPA's subids (2^31)");
	TAP_EQ_INT(load1("[global]\nsubids = auto\nsubids_pool = 200000-400000\n"), 0, "subids = auto loads: %s", err);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_INT(st.subids_auto, 1, "subids = auto");
	TAP_EQ_INT(st.subids_pool_start, 200000, "pool start");
	TAP_EQ_INT(st.subids_pool_end, 400000, "pool end");
	TAP_OK(contains(st.subids_source, "main.conf:[global]"), "source: %s", st.subids_source);
	TAP_EQ_INT(load1("[global]\nsubids = ldap\n"), -EINVAL, "subids = ldap rejected");
	TAP_EQ_INT(load1("[global]\nsubids_pool = 1000-2000\n"), -EINVAL, "a pool below 65536 or too small rejected");
	TAP_EQ_INT(load1("[global]\nsubids_pool = 200000-3000000000\n"), -EINVAL, "a pool reaching 2^31 rejected");
	TAP_EQ_INT(load1("[global]\nsubids_pool = 200000\n"), -EINVAL, "a pool without an end rejected");
}

static void test_name_case(void)
{
	/* Names with capitals (directory users and groups): exact, never
	 * another user's. */
	/* idle_timeout, max_session, timeout_warning: durations */
	TAP_EQ_INT(load1("[default]\nidle_timeout = 30m\nmax_session = 2d\ntimeout_warning = no\n"), 0,
		   "durations load: %s", err);
	TAP_EQ_INT(resolve("sam", 2001, "sam:students"), 0, "and resolve");
	TAP_EQ_STR(val(KEY_IDLE_TIMEOUT), "1800s", "idle_timeout 30m is 1800 s");
	TAP_EQ_STR(val(KEY_MAX_SESSION), "172800s", "max_session 2d is 172800 s");
	TAP_EQ_STR(val(KEY_TIMEOUT_WARNING), "no", "timeout_warning no");
	TAP_EQ_INT(load1("[default]\nidle_timeout = 5x\n"), -EINVAL, "a unit that is not s, m, h or d: rejected");
	TAP_EQ_INT(load1("[default]\nmax_session = 367d\n"), -EINVAL, "past 366d: rejected");
	TAP_EQ_INT(load1("[default]\nidle_timeout = m\n"), -EINVAL, "a unit alone: rejected");
	TAP_EQ_INT(load1("[user Bob]\nlinger = 5\n[group Staff]\nhome = read-only\n"), 0, "[user Bob] loads: %s", err);
	TAP_EQ_INT(resolve("Bob", 7, ""), 0, "resolves for Bob");
	TAP_EQ_STR(val(KEY_LINGER), "5", "[user Bob] applies to Bob");
	TAP_EQ_INT(resolve("bob", 8, "bob:Staff"), 0, "resolves for bob");
	TAP_EQ_STR(val(KEY_LINGER), "2", "[user Bob] does not apply to bob");
	TAP_EQ_STR(val(KEY_HOME), "read-only", "[group Staff] applies to a member of Staff");
	TAP_EQ_INT(resolve("carol", 9, "carol:staff"), 0, "resolves for carol");
	TAP_EQ_STR(val(KEY_HOME), "shared", "[group Staff] does not apply to a member of staff");
	TAP_EQ_INT(load1("[user Bob]\nlinger = 5\n[user bob]\nlinger = 6\n"), -EINVAL,
		   "[user Bob] and [user bob] in one file: an error, never a silent merge");
	TAP_OK(contains(err, "appears twice"), "the error says the section appears twice: %s", err);
	{
		const char *cased[] = { "[user Bob]\nlinger = 5\n", "[user bob]\nlinger = 6\n", NULL };
		TAP_EQ_INT(load(cased), 0, "[user Bob] and [user bob] in two files load");
		TAP_EQ_INT(resolve("bob", 8, ""), 0, "resolves for bob");
		TAP_EQ_STR(val(KEY_LINGER), "6", "bob gets [user bob]");
		TAP_EQ_INT(resolve("Bob", 7, ""), 0, "resolves for Bob");
		TAP_EQ_STR(val(KEY_LINGER), "5", "Bob gets [user Bob]");
	}
}

static void test_cgroup_keys(void)
{
	/* cgroup limit keys. */
	policy_init_builtin(&pol);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "builtin resolves");
	struct sysinfo si;
	TAP_EQ_INT(sysinfo(&si), 0, "sysinfo");
	uint64_t half = (uint64_t)si.totalram * si.mem_unit / 100 * 50;
	TAP_EQ_INT(st.cg.memory_max, half, "builtin: memory_max is half of the host's memory");
	TAP_EQ_STR(val(KEY_PIDS_MAX), "4096", "builtin: pids_max 4096");
	TAP_EQ_STR(val(KEY_NESTED_USERNS), "no", "builtin: nested_userns no");
	TAP_EQ_STR(val(KEY_TMP_SIZE), "10%", "builtin: tmp_size 10%%");
	TAP_EQ_STR(val(KEY_SHM_SIZE), "10%", "builtin: shm_size 10%%");
	TAP_EQ_STR(val(KEY_CPU_WEIGHT), "100", "builtin: cpu_weight 100");
	TAP_EQ_STR(val(KEY_CPU_MAX), "max", "builtin: cpu_max max");
	TAP_EQ_STR(val(KEY_IO_WEIGHT), "unset", "builtin: io_weight unset");
	TAP_EQ_INT(cg_limits_controllers(&st.cg), CG_MEMORY | CG_PIDS, "builtin: the memory and pids controllers");
	TAP_EQ_INT(load1("[default]\nmemory_max = max\npids_max = max\n"), 0, "max lifts the built-in limits");
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_INT(cg_limits_controllers(&st.cg), 0, "with max: no controller needed");
	TAP_EQ_INT(load1("[default]\nmemory_max = 25%\n"), 0, "memory_max as a share of memory");
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_INT(st.cg.memory_max, (uint64_t)si.totalram * si.mem_unit / 100 * 25, "memory_max 25%%");
	TAP_EQ_INT(load1("[default]\nmemory_max = 0%\n"), -EINVAL, "memory_max 0%% rejected");
	TAP_EQ_INT(load1("[default]\nmemory_max = 101%\n"), -EINVAL, "memory_max 101%% rejected");
	TAP_EQ_INT(load1("[default]\nnested_userns = yes\ntmp_size = 2G\nshm_size = 64M\n"), 0, "new keys parse");
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_STR(val(KEY_NESTED_USERNS), "yes", "nested_userns yes");
	TAP_EQ_STR(val(KEY_TMP_SIZE), "2G", "tmp_size 2G");
	TAP_EQ_STR(val(KEY_SHM_SIZE), "64M", "shm_size 64M");
	TAP_EQ_INT(load1("[default]\ntmp_size = max\nshm_size = 5%\n"), 0, "tmp_size max, shm_size 5%%");
	TAP_EQ_INT(load1("[default]\nnested_userns = maybe\n"), -EINVAL, "nested_userns maybe rejected");
	TAP_EQ_INT(load1("[default]\ntmp_size = 100k\n"), -EINVAL, "tmp_size below 1M rejected");
	TAP_EQ_INT(load1("[default]\nshm_size = 1T\n"), -EINVAL, "shm_size with T rejected");
	TAP_EQ_INT(load1("[default]\ntmp_size = 10%x\n"), -EINVAL, "tmp_size 10%%x rejected");
	TAP_EQ_INT(load1("[default]\ntmp_size = size=1G,mode=777\n"), -EINVAL, "tmp_size cannot inject options");
	TAP_EQ_INT(load1("[default]\nmemory_max = 512M\nmemory_high = 1536k\npids_max = 200\ncpu_weight = 50\n"
			 "cpu_max = 150%\nio_weight = 300\n[group lab]\nmemory_max = 2G\ncpu_max = 20000 50000\n"
			 "[user h]\npids_max = max\n"),
		   0, "limit keys parse: %s", err);
	TAP_EQ_INT(resolve("h", 7, "h:lab"), 0, "resolves");
	TAP_EQ_INT(st.cg.memory_max, 2ull << 30, "memory_max from [group lab]: 2G");
	TAP_EQ_STR(val(KEY_MEMORY_MAX), "2G", "memory_max shown as 2G");
	TAP_EQ_INT(st.cg.memory_high, 1536ull << 10, "memory_high 1536k");
	TAP_EQ_STR(val(KEY_MEMORY_HIGH), "1536K", "memory_high shown as 1536K");
	TAP_OK(st.cg.pids_max == CG_UNLIMITED, "pids_max = max from [user h]");
	TAP_EQ_INT(st.cg.cpu_weight, 50, "cpu_weight 50");
	TAP_EQ_INT(st.cg.cpu_quota, 20000, "cpu_max quota from the group");
	TAP_EQ_INT(st.cg.cpu_period, 50000, "cpu_max period from the group");
	TAP_EQ_INT(st.cg.io_weight, 300, "io_weight 300");
	TAP_EQ_STR(st.source[KEY_MEMORY_MAX], "main.conf:8:[group lab]", "memory_max source");
	TAP_EQ_INT(cg_limits_controllers(&st.cg), CG_MEMORY | CG_CPU | CG_IO, "controllers needed");
	TAP_EQ_INT(resolve("x", 8, ""), 0, "resolves for a non-member");
	TAP_EQ_INT(st.cg.cpu_quota, 150000, "150%% is 150000 us per 100000");
	TAP_EQ_INT(st.cg.pids_max, 200, "pids_max 200 from [default]");
	TAP_EQ_INT(cg_limits_controllers(&st.cg), CG_MEMORY | CG_PIDS | CG_CPU | CG_IO, "all four controllers needed");
	TAP_EQ_INT(load1("[default]\nmemory_max = 1000\n"), -EINVAL, "memory_max below 1M rejected");
	TAP_EQ_INT(load1("[default]\nmemory_max = 5X\n"), -EINVAL, "memory_max with an unknown unit rejected");
	TAP_EQ_INT(load1("[default]\nmemory_max = 99999999999T\n"), -EINVAL, "memory_max overflow rejected");
	TAP_EQ_INT(load1("[default]\npids_max = 0\n"), -EINVAL, "pids_max 0 rejected");
	TAP_EQ_INT(load1("[default]\ncpu_weight = 10001\n"), -EINVAL, "cpu_weight 10001 rejected");
	TAP_EQ_INT(load1("[default]\ncpu_max = 0%\n"), -EINVAL, "cpu_max 0%% rejected");
	TAP_EQ_INT(load1("[default]\ncpu_max = 500 100000\n"), -EINVAL, "cpu_max quota below 1000 us rejected");
	TAP_EQ_INT(load1("[default]\ncpu_max = 5000 100000 7\n"), -EINVAL, "cpu_max with three words rejected");
	TAP_EQ_INT(load1("[default]\nio_weight = max\n"), -EINVAL, "io_weight max rejected");
	TAP_OK(contains(err, "main.conf:2: [default] io_weight: 'max' is not a weight of 1..10000"), "error text: %s",
	       err);
}

static void test_networks(void)
{
	/* Networks. */
	policy_init_builtin(&pol);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "builtin resolves");
	TAP_EQ_STR(val(KEY_NETWORK), "none", "builtin: network none");
	TAP_OK(st.ns_mask & NS_BIT(NS_NET), "builtin: a net namespace");
	TAP_EQ_INT(load1("[network lab]\nbridge = nslab0\nsubnet = 10.77.0.0/24\nnat = yes\nhost_access = 53, 8080\n"
			 "dns = 10.77.0.1\n[network other]\nbridge = nsoth0\nsubnet = 10.78.0.0/16\nisolate = yes\n"
			 "[default]\nnetwork = lab\n[group ta]\nnetwork = other\n[user root2]\nnetwork = host\n"),
		   0, "networks parse: %s", err);
	TAP_EQ_INT(resolve("h", 7, ""), 0, "resolves");
	TAP_EQ_STR(st.network, "lab", "network from [default]");
	TAP_EQ_STR(val(KEY_NETWORK),
		   "lab (bridge nslab0, subnet 10.77.0.0/24, nat yes, isolate no, host_access 53,8080)",
		   "explain text of a network");
	TAP_EQ_INT(st.net.dns[0], 0x0a4d0001, "dns 10.77.0.1");
	TAP_EQ_INT(resolve("t", 8, "t:ta"), 0, "resolves for a group member");
	TAP_EQ_STR(st.net.bridge, "nsoth0", "the group's network");
	TAP_OK(st.net.isolate && !st.net.nat && st.net.prefix == 16, "isolate yes, nat no, /16");
	TAP_EQ_INT(resolve("root2", 9, ""), 0, "resolves for network = host");
	TAP_OK(!(st.ns_mask & NS_BIT(NS_NET)), "network = host drops the net namespace");
	TAP_EQ_INT(load1("[default]\nnetwork = nowhere\n"), -EINVAL, "an undefined network rejected");
	TAP_OK(contains(err, "main.conf:1: network = nowhere: there is no [network nowhere]"), "says which: %s", err);
	TAP_EQ_INT(load1("[network a]\nbridge = br-a\nsubnet = 10.1.0.0/16\n[network b]\nbridge = br-b\n"
			 "subnet = 10.1.2.0/24\n"),
		   -EINVAL, "overlapping subnets rejected");
	TAP_OK(contains(err, "[network b] 10.1.2.0/24 overlaps [network a] 10.1.0.0/16"), "names both: %s", err);
	TAP_EQ_INT(load1("[network a]\nbridge = br0\nsubnet = 10.1.0.0/24\n[network b]\nbridge = br0\n"
			 "subnet = 10.2.0.0/24\n"),
		   -EINVAL, "a shared bridge rejected");
	TAP_EQ_INT(load1("[network a]\nsubnet = 10.1.0.0/24\n"), -EINVAL, "a network without a bridge rejected");
	TAP_EQ_INT(load1("[network a]\nbridge = b\nsubnet = 10.1.0.1/24\n"), -EINVAL,
		   "host bits in the subnet rejected");
	TAP_EQ_INT(load1("[network a]\nbridge = b\nsubnet = 10.1.0.0/30\n"), -EINVAL, "a /30 rejected (too small)");
	TAP_EQ_INT(load1("[network a]\nbridge = averyveryverylongname\nsubnet = 10.1.0.0/24\n"), -EINVAL,
		   "a bridge name over 15 characters rejected");
	TAP_EQ_INT(load1("[network a]\nbridge = b\nsubnet = 10.1.0.0/24\nhost_access = 70000\n"), -EINVAL,
		   "port 70000 rejected");
	TAP_EQ_INT(load1("[network a]\nbridge = b\nsubnet = 10.1.0.0/24\ncolour = red\n"), -EINVAL,
		   "an unknown network key rejected");
	TAP_EQ_INT(load1("[network a]\nbridge = b\nsubnet = 10.1.0.0/24\n[default]\nnamespaces = pid mount user\n"
			 "network = a\n"),
		   0, "loads");
	TAP_EQ_INT(resolve("h", 7, ""), -EINVAL, "a named network without the net namespace is an error for the user");
}

static void test_errors(void)
{
	/* Errors: each rejects the whole policy and names file, line, section, key. */
	TAP_EQ_INT(load1("[default]\nnamespaces = pid mount bogus\n"), -EINVAL, "unknown namespace rejected");
	TAP_OK(contains(err, "main.conf:2: [default] namespaces: unknown namespace 'bogus'"), "error text: %s", err);
	TAP_EQ_INT(load1("[default]\ncolour = blue\n"), -EINVAL, "unknown key rejected");
	TAP_OK(contains(err, "unknown key 'colour'"), "names the key: %s", err);
	TAP_EQ_INT(load1("[global]\nhostname = x\n"), -EINVAL, "a rule key in [global] rejected");
	TAP_EQ_INT(load1("[nonsense]\nhostname = x\n"), -EINVAL, "unknown section rejected");
	TAP_OK(contains(err, "unknown section [nonsense]"), "names the section: %s", err);
	TAP_EQ_INT(load1("[user bob]\nhostname = a\n[default]\n[user bob]\nhostname = b\n"), -EINVAL,
		   "duplicate user section rejected");
	TAP_OK(contains(err, "main.conf:4: section [user bob] appears twice (first at line 1)"), "names both lines: %s",
	       err);
	const char *dup[] = { "[user bob]\nhostname = a\nlinger = 5\n", "[user bob]\nhostname = b\n", NULL };
	TAP_EQ_INT(load(dup), 0, "a user section in two files merges: %s", err);
	TAP_EQ_INT(resolve("bob", 7, ""), 0, "resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "b", "the later file's value wins key by key");
	TAP_EQ_STR(val(KEY_LINGER), "5", "a key only the earlier file sets stays");
	TAP_OK(contains(st.source[KEY_HOSTNAME], "main.conf.d/01.conf"), "explain names the later file: %s",
	       st.source[KEY_HOSTNAME]);
	TAP_EQ_INT(load1("[user b/ad]\nhostname = a\n"), -EINVAL, "a bad user name rejected");
	TAP_EQ_INT(load1("[default]\ntmp = maybe\n"), -EINVAL, "tmp = maybe rejected");
	TAP_EQ_INT(load1("[default]\nhome = rw\n"), -EINVAL, "home = rw rejected");
	TAP_EQ_INT(load1("[default]\nuserns = none\n"), -EINVAL, "userns = none rejected");
	TAP_EQ_INT(load1("[default]\nlinger = -1\n"), -EINVAL, "negative linger rejected");
	TAP_EQ_INT(load1("[default]\nlinger = 99999999999999999999\n"), -ERANGE, "overflowing linger rejected");
	TAP_EQ_INT(load1("[default]\nlinger = 31536001\n"), -ERANGE, "linger over a year rejected");
	TAP_EQ_INT(load1("[global]\non_error = maybe\n"), -EINVAL, "on_error = maybe rejected");
	TAP_EQ_INT(load1("[global]\nexempt = root, @\n"), -EINVAL, "an empty @group rejected");
	TAP_EQ_INT(load1("[global]\nexempt = ro;ot\n"), 0, "';' starts a comment (iniparser)");
	TAP_EQ_INT(load1("[default]\nnamespaces = pid\n"), -EINVAL, "pid without mount rejected");
	TAP_EQ_INT(load1("[default]\nnamespaces = pid pid mount\n"), -EINVAL, "duplicate namespace rejected");
	TAP_EQ_INT(load1("[default]\nnamespaces =\n"), -EINVAL, "empty namespace list rejected");
	TAP_EQ_INT(load1("hostname = x\n[default]\n"), -EINVAL, "key outside a section rejected");
	TAP_EQ_INT(load1("[default]\nhostname = a b\n"), -EINVAL, "space in hostname rejected");
	TAP_EQ_INT(load1("[default]\nhostname = %x\n"), -EINVAL, "unknown %% escape rejected");
	TAP_EQ_INT(load1("[default]\nhostname = 100%%-%u\n"), -EINVAL, "a template yielding '%%' rejected");
	TAP_EQ_INT(load1("[default]\nhostname = \"a;rm -rf /\"\n"), -EINVAL, "shell metacharacters rejected");
	TAP_EQ_INT(load1("[default]\nhostname = $(id)\n"), -EINVAL, "command substitution rejected");
	TAP_EQ_INT(load1("[default]\nhostname = ../x\n"), -EINVAL, "a slash rejected");
	TAP_EQ_INT(load1("[default]\nhostname = "
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
		   -EINVAL, "hostname longer than 64 rejected");
	TAP_EQ_INT(load1("[default]\nhostname = %u-%u\n"), 0, "plain template parses");
	TAP_EQ_INT(resolve("a-very-long-user-name-that-makes-the-hostname-longer", 1, ""), -EINVAL,
		   "expanded hostname too long for this user is refused at resolve");
	TAP_EQ_INT(load1("[default\nhostname = x\n"), -EINVAL, "syntax error rejected");
	TAP_OK(contains(err, "main.conf"), "syntax error names the file: %s", err);
}

static void test_all_errors(void)
{
	/* Every error is reported, not only the first (nsiso check). */
	TAP_EQ_INT(load1("[default]\ncolour = blue\ntmp = maybe\n[bogus]\n"), -EINVAL, "three errors rejected");
	TAP_OK(contains(err, "colour") && contains(err, "tmp") && contains(err, "bogus"), "all three reported: %s",
	       err);
}

static void test_view(void)
{
	/* The filesystem view (issue 14). */
	TAP_EQ_INT(load1("[default]\nhome = private\nbind_ro = /srv/courses/%g:/course /srv/motd\n"
			 "bind = /srv/u/%u:/data/%U\nhide = /srv /var/mail\ntmpfs = /scratch:64M /work\n"),
		   0, "the view keys load: %s", err);
	TAP_EQ_INT(resolve("alice", 1001, ""), 0, "the view resolves: %s", err);
	TAP_EQ_STR(val(KEY_HOME), "private", "home = private");
	TAP_EQ_STR(val(KEY_BIND_RO), "/srv/courses/staff:/course /srv/motd:/srv/motd",
		   "bind_ro: %%g expanded, TARGET defaults to SOURCE");
	TAP_EQ_STR(val(KEY_BIND), "/srv/u/alice:/data/1001", "bind: %%u and %%U expanded");
	TAP_EQ_STR(val(KEY_HIDE), "/srv /var/mail", "hide: both paths");
	TAP_EQ_STR(val(KEY_TMPFS), "/scratch:64M /work:10%", "tmpfs: a size, or tmp_size's");
	TAP_EQ_INT((int)st.n_mounts, 7, "seven entries in all");
	TAP_EQ_INT(load1("[default]\nbind = srv:/x\n"), -EINVAL, "a relative source rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/../etc:/x\n"), -EINVAL, "a .. component rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/./x\n"), -EINVAL, "a . component rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv//x\n"), -EINVAL, "an empty component rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x/\n"), -EINVAL, "a trailing slash rejected");
	TAP_EQ_INT(load1("[default]\nhide = /\n"), -EINVAL, "hiding / rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/%h\n"), -EINVAL, "%%h is not a path template");
	TAP_EQ_INT(load1("[default]\nhide = /srv:/x\n"), -EINVAL, "hide takes no target");
	TAP_EQ_INT(load1("[default]\ntmpfs = /x:1K\n"), -EINVAL, "a tmpfs under 1M rejected");
	TAP_EQ_INT(load1("[default]\nbind = /a:/b:/c\n"), -EINVAL, "two colons rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/etc/security/limits.d\n"), -EPERM,
		   "a bind target under /etc rejected (root reads there in the session's mount namespace)");
	TAP_OK(contains(err, "is refused: it is not under /home, /srv"), "says why: %s", err);
	/* Where host root writes during a session (THREATS 57): wtmp, lastlog,
	 * utmp, mail, root's home, the spool. */
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/var/log\n"), -EPERM, "a bind over /var/log rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/var/lib/misc\n"), -EPERM, "a bind under /var/lib rejected");
	TAP_EQ_INT(load1("[default]\ntmpfs = /var/spool\n"), -EPERM, "a tmpfs on /var/spool rejected");
	TAP_EQ_INT(load1("[default]\nbind_ro = /srv/x:/var/mail\n"), -EPERM, "a bind_ro on /var/mail rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/root/x\n"), -EPERM, "a bind under /root rejected");
	TAP_EQ_INT(load1("[default]\ntmpfs = /run/x\n"), -EPERM, "a tmpfs under /run rejected");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/homework\n"), -EPERM, "/homework is not under /home");
	TAP_EQ_INT(load1("[default]\nbind = /srv/x:/home/%u/course /srv/y:/scratch/%u\n"), 0,
		   "targets under /home and /scratch load: %s", err);
	TAP_EQ_INT(load1("[default]\nbind = /srv/%u:/data/x\n"), 0, "and under /data: %s", err);
	TAP_EQ_INT(load1("[default]\nbind_ro = /proc/self:/srv/p\n"), -EPERM, "a /proc source rejected");
	TAP_OK(contains(err, "source '/proc/self' is refused"), "says why: %s", err);
	TAP_EQ_INT(load1("[default]\nbind_ro = /sys:/srv/s\n"), -EPERM, "a /sys source rejected");
	TAP_EQ_INT(load1("[default]\nbind = /run/nsiso:/srv/s\n"), -EPERM, "nsiso's state as a source rejected");
	TAP_EQ_INT(load1("[default]\nbind = /var/lib/nsiso/x:/srv/s\n"), -EPERM, "the registry's directory rejected");
	TAP_EQ_INT(load1("[default]\nhide = /proc/sys\n"), -EPERM, "hide over /proc rejected");
	TAP_EQ_INT(load1("[default]\nbind_ro = /srv/%u/motd:/etc/motd\n"), -EPERM,
		   "a bind_ro target under /etc rejected");
	TAP_EQ_INT(load1("[default]\ntmpfs = /usr/local\n"), -EPERM, "a tmpfs under /usr rejected");
	TAP_EQ_INT(load1("[default]\nbind = /etc/skel\n"), -EPERM, "a bind of /etc onto itself rejected");
	TAP_EQ_INT(load1("[default]\nhide = /etc/motd /usr/share/doc\n"), 0, "hide may cover paths there: %s", err);
	TAP_EQ_INT(load1("[default]\nbind_ro = /etc/skel:/srv/skel\n"), 0, "a system directory as a source is fine: %s",
		   err);
	TAP_EQ_INT(load1("[default]\nhome = private\n[user alice]\nhide = /srv\n[group staff]\nhide = /opt\n"), 0,
		   "hide in a group and a user section");
	TAP_EQ_INT(resolve("alice", 1001, "alice:staff"), 0, "resolves for a member");
	TAP_EQ_STR(val(KEY_HIDE), "/srv", "the user section's list replaces the group's (key by key)");
	TAP_OK(contains(st.source[KEY_HIDE], "[user alice]"), "explain names the user section: %s",
	       st.source[KEY_HIDE]);
	TAP_EQ_INT(load1("[default]\nbind = /srv/%u\n"), 0, "a %%u source loads");
	TAP_EQ_INT(resolve("..", 5, ""), -EINVAL, "a user name that would make a .. component is refused at resolve");
}

static void test_key_lines(void)
{
	/* Every error names the line of its key (issue 15), and the lists of
	 * keys and sections come from the tables. */
	TAP_EQ_INT(load1("[default]\n; a comment\nhostname = ok\n\nhome = nowhere\n"), -EINVAL, "a bad value rejected");
	TAP_OK(contains(err, "main.conf:5: [default] home:"), "the error names the key's line 5: %s", err);
	TAP_EQ_INT(load1("[default]\nhome = shared\nHOME = nowhere\n"), -EINVAL, "a key written twice: the last wins");
	TAP_OK(contains(err, "main.conf:3: [default] home:"), "the error names the later line: %s", err);
	TAP_EQ_INT(load1("[user bob]\nnetwerk = lab\n"), -EINVAL, "an unknown key rejected");
	TAP_OK(contains(err, "main.conf:2: [user bob] unknown key 'netwerk'"), "on its line: %s", err);
	TAP_OK(contains(err, " network ") && contains(err, " bind ") && contains(err, " tmpfs rlimit_*)"),
	       "the known keys include network and the view keys: %s", err);
	TAP_EQ_INT(load1("[nets lab]\n"), -EINVAL, "an unknown section rejected");
	TAP_OK(contains(err, "[network NAME]"), "the known sections include [network NAME]: %s", err);
}

static void test_garbage(void)
{
	/* Garbage (THREATS 29). */
	char line[3100], big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(line, sizeof(line), "[default]\nhostname = %s\n", big);
	TAP_EQ_INT(load1(line), -EINVAL, "an over-long line rejected");
	TAP_EQ_INT(load1("\xef\xbb\xbf[default]\nhostname = x\n"), -EINVAL, "a BOM rejected");
	TAP_OK(contains(err, "byte order mark"), "says so: %s", err);
	char nul[] = "[default]\nhostname = x\0y\n";
	int fd = memfd_create("nul", MFD_CLOEXEC);
	TAP_OK(fd >= 0 && write(fd, nul, sizeof(nul) - 1) == (ssize_t)(sizeof(nul) - 1), "memfd for NUL");
	policy_init_empty(&pol, "nul.conf");
	TAP_EQ_INT(policy_load_fd(&pol, fd, "nul.conf", &first_error), -EINVAL, "a NUL byte rejected");
	close(fd);
	TAP_EQ_INT(load1("[default]\r\nhostname = lab\r\n"), 0, "CRLF line ends parse");
	TAP_EQ_INT(resolve("u", 5, ""), 0, "CRLF resolves");
	TAP_EQ_STR(val(KEY_HOSTNAME), "lab", "CRLF does not leak into values");
}

int main(void)
{
	test_builtin();
	test_language();
	test_two_groups();
	test_precedence();
	test_exempt();
	test_on_error();
	test_dropins();
	test_hostname_escapes();
	test_hardening();
	test_subids();
	test_name_case();
	test_cgroup_keys();
	test_networks();
	test_errors();
	test_all_errors();
	test_view();
	test_key_lines();
	test_garbage();
	return tap_done();
}
