/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsiso-bench: login latency and memory per container, with references
 * measured in the same run.
 *
 *   nsiso-bench MODULE CONFIG ITERATIONS USER [USER...]
 *
 * Drives libpam directly (pam_start_confdir, a service of pam_permit and
 * pam_nsiso), each session in a fresh child process as sshd does:
 *   cold: USER has no container (each iteration waits for the last to end)
 *   warm: USER's container is held open by another session
 * and reports p50/p99 of open_session+close_session, and of the whole child
 * (fork to reaped). References, same run: `unshare` of the same namespace
 * set, bubblewrap, and fork+exec of true. Memory: every USER holds one
 * container; the rise in the kernel's MemAvailable and the PSS of the
 * supervisors and inits, per container, against as many `unshare` and
 * bwrap processes holding the same namespaces. The kernel floor: unshare()
 * of the same seven namespaces and a fork(), timed in-process.
 *
 * Density: the last USER is never held; its cold login is timed with no
 * container up and again with every other USER holding one (run.sh 1000
 * for the 1000-container run). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char confdir[64];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int conv(int n, const struct pam_message **m, struct pam_response **r, void *d)
{
	(void)n;
	(void)m;
	(void)r;
	(void)d;
	return PAM_CONV_ERR;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, mean;
};

static struct stats stats_of(double *v, int n)
{
	struct stats s = { 0 };
	double sum = 0;
	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	for (int i = 0; i < n; i++)
		sum += v[i];
	s.p50 = v[n / 2];
	int k = (int)((n * 99 + 99) / 100) - 1;
	s.p99 = v[k < 0 ? 0 : (k >= n ? n - 1 : k)];
	s.mean = sum / n;
	return s;
}

/* When the last session_once() called pam_open_session (CLOCK_MONOTONIC ms). */
static double last_open_at;

/* One session in a child: returns the open+close time through a pipe. */
static int session_once(const char *user, double *session_ms, double *whole_ms)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct pam_conv c = { conv, NULL };
		pam_handle_t *h = NULL;
		if (pam_start_confdir("bench", user, &c, confdir, &h) != PAM_SUCCESS)
			_exit(2);
		double a = now_ms();
		if (pam_open_session(h, 0) != PAM_SUCCESS)
			_exit(3);
		pam_close_session(h, 0);
		double ab[2] = { a, now_ms() - a };
		pam_end(h, PAM_SUCCESS);
		if (write(p[1], ab, sizeof(ab)) != sizeof(ab))
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	int st = 0;
	double ab[2] = { 0, 0 };
	ssize_t n = read(p[0], ab, sizeof(ab));
	close(p[0]);
	waitpid(pid, &st, 0);
	*whole_ms = now_ms() - t0;
	last_open_at = ab[0];
	*session_ms = ab[1];
	return n == sizeof(ab) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A session kept open until *release is closed; returns its pid. */
static pid_t hold_session(const char *service, const char *user, int *release)
{
	int ready[2], rel[2];
	if (pipe(ready) < 0 || pipe(rel) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		/* Only this holder's own pipe ends: the other holders' release ends
		 * must not stay open here, or closing them would not release. */
		int lo = ready[1] < rel[0] ? ready[1] : rel[0], hi = ready[1] < rel[0] ? rel[0] : ready[1];
		if (lo > 3)
			(void)close_range(3, (unsigned)lo - 1, 0);
		if (hi > lo + 1)
			(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
		(void)close_range((unsigned)hi + 1, ~0u, 0);
		struct pam_conv c = { conv, NULL };
		pam_handle_t *h = NULL;
		if (pam_start_confdir(service, user, &c, confdir, &h) != PAM_SUCCESS ||
		    pam_open_session(h, 0) != PAM_SUCCESS)
			_exit(3);
		char x = 'r';
		if (write(ready[1], &x, 1) != 1)
			_exit(4);
		if (read(rel[0], &x, 1) < 0)
			x = 0;
		pam_close_session(h, 0);
		pam_end(h, PAM_SUCCESS);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	char x;
	ssize_t n = read(ready[0], &x, 1);
	close(ready[0]);
	*release = rel[1];
	return n == 1 ? pid : -1;
}

static int container_alive(const char *user)
{
	struct passwd *pw = getpwnam(user);
	char path[64];
	snprintf(path, sizeof(path), "/run/nsiso/%u.sock", pw ? (unsigned)pw->pw_uid : 0u);
	return access(path, F_OK) == 0;
}

static void wait_container_gone(const char *user)
{
	for (int i = 0; i < 10000 && container_alive(user); i++)
		usleep(1000);
}

static int run_cmd(char *const argv[], double *whole_ms)
{
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	*whole_ms = now_ms() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Where the cold path's time goes: the helper's and the supervisor's
 * "timing" lines (helper/timing.c, LOG_DEBUG), caught on a /dev/log of our
 * own when the host has none (this VM; with a syslog daemon, read them with
 * journalctl -t nsiso-helper -t nsiso-sup -p debug). A child drains the
 * socket into a file as they come (a full socket queue would block the
 * senders' syslog()); they are parsed after the cold runs. */
#define STEPS_MAX 40
#define RUNS_MAX 2048
static pid_t log_child = -1;
static int log_file = -1;
static double open_at[RUNS_MAX];
static int n_open_at;
/* The phases whose lines are counted: the loop's cold runs, the quiet
 * ones, and the density run's cold logins with no container up and with
 * all of them up. PHASE_NONE: lines not counted (warm runs, holders). */
enum { PHASE_LOOP, PHASE_QUIET, PHASE_DENSITY0, PHASE_DENSITYK, PHASES, PHASE_NONE = -1 };
static struct {
	char name[64];
	double v[PHASES][RUNS_MAX];
	int n[PHASES];
} steps[STEPS_MAX];
static int n_steps;
/* Where each phase's lines begin and end in log_file: a list of marks. */
#define MARKS_MAX 16
static struct {
	off_t at;
	int phase;
} marks[MARKS_MAX] = { { 0, PHASE_LOOP } };
static int n_marks = 1;
static int held_for_density; /* containers up in PHASE_DENSITYK; 0: not run */

static void log_catch_mark(int phase)
{
	if (log_child > 0 && n_marks < MARKS_MAX) {
		usleep(100000); /* (the last lines of the phase before, in) */
		marks[n_marks].at = lseek(log_file, 0, SEEK_END);
		marks[n_marks++].phase = phase;
	}
}

static int phase_at(off_t pos)
{
	int k = PHASE_NONE;
	for (int i = 0; i < n_marks && pos > marks[i].at; i++)
		k = marks[i].phase;
	return k;
}

static void log_catch_unlink(void)
{
	if (log_child > 0) {
		kill(log_child, SIGKILL);
		waitpid(log_child, NULL, 0);
		log_child = -1;
		unlink("/dev/log");
	}
}
static void log_catch_signal(int sig)
{
	log_catch_unlink();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void log_catch_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	if (access("/dev/log", F_OK) == 0)
		return;
	char tmpl[] = "/tmp/nsiso-bench-log.XXXXXX";
	log_file = mkstemp(tmpl);
	if (log_file < 0)
		return;
	unlink(tmpl);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	chmod("/dev/log", 0666);
	log_child = fork();
	if (log_child == 0) {
		char buf[2048];
		for (;;) {
			ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);
			if (len <= 0)
				continue;
			buf[len++] = '\n';
			if (write(log_file, buf, (size_t)len) < 0)
				_exit(1);
		}
	}
	close(fd);
	if (log_child < 0) {
		unlink("/dev/log");
		return;
	}
	atexit(log_catch_unlink);
	signal(SIGINT, log_catch_signal);
	signal(SIGTERM, log_catch_signal);
	signal(SIGHUP, log_catch_signal);
}

static void step_add(int k, const char *who, const char *name, double v)
{
	char key[64];
	snprintf(key, sizeof(key), "%s: %s", who, name);
	int i = 0;
	while (i < n_steps && strcmp(steps[i].name, key) != 0)
		i++;
	if (i == n_steps) {
		if (n_steps == STEPS_MAX)
			return;
		snprintf(steps[n_steps++].name, sizeof(steps[0].name), "%s", key);
	}
	if (steps[i].n[k] < RUNS_MAX)
		steps[i].v[k][steps[i].n[k]++] = v;
}

static void log_catch_print(void)
{
	if (log_child <= 0) {
		printf("\nwhere the cold path's time goes: /dev/log exists here; read the \"timing\" lines with\n"
		       "  journalctl -p debug -t nsiso-helper -t nsiso-sup\n");
		return;
	}
	usleep(200000);
	log_catch_unlink();
	FILE *f = fdopen(log_file, "r");
	char line[2048];
	int helpers[PHASES] = { 0 };
	rewind(f);
	while (f && fgets(line, sizeof(line), f)) {
		int k = phase_at(ftello(f));
		char *t = strstr(line, "timing "), who[16];
		if (k == PHASE_NONE || !t || sscanf(t, "timing %15s", who) != 1)
			continue;
		bool helper = strcmp(who, "helper") == 0;
		char *save = NULL;
		for (char *w = strtok_r(t, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(w, '=');
			if (!eq || strncmp(w, "user=", 5) == 0)
				continue;
			*eq = '\0';
			double v = strtod(eq + 1, NULL);
			if (strcmp(w, "t0") != 0)
				step_add(k, who, w, v);
			else if (helper && k == PHASE_LOOP && helpers[k] < n_open_at)
				step_add(k, "module", "pam_open_session to the helper's main (fork, exec)",
					 v - open_at[helpers[k]]);
		}
		helpers[k] += helper;
	}
	if (f)
		fclose(f);
	int cols = held_for_density > 0 ? PHASES : PHASE_DENSITY0;
	printf("\nwhere the cold open's time goes (p50 of each step, ms; the supervisor's steps are within the\n"
	       "helper's \"supervisor\" step), over the loop's %d cold runs, the %d after 300 ms quiet",
	       helpers[PHASE_LOOP], helpers[PHASE_QUIET]);
	if (cols == PHASES)
		printf(",\nand one more user's %d with no container up and %d with %d up", helpers[PHASE_DENSITY0],
		       helpers[PHASE_DENSITYK], held_for_density);
	printf(":\n  %-60s %7s  %7s", "", "loop", "quiet");
	if (cols == PHASES)
		printf("  %7s  %7s", "none up", "all up");
	printf("\n");
	for (int i = 0; i < n_steps; i++) {
		printf("  %-60s", steps[i].name);
		for (int k = 0; k < cols; k++)
			printf(" %s%7.3f", k ? " " : "", stats_of(steps[i].v[k], steps[i].n[k]).p50);
		printf("\n");
	}
}

/* The peer that does nsiso's cold work (issue 27): bubblewrap started in a
 * fresh cgroup of every hierarchy nsiso uses here (cgroup2, and cgroup v1
 * memory and pids where mounted), as cgexec or systemd-run --scope would
 * put it: make the groups, fork, move the child in, exec bwrap, wait,
 * remove the groups. The whole is timed. */
#define PEER_HIERS 4
static char peer_hier[PEER_HIERS][256];
static int n_peer_hier;
#define QUIET_RUNS 20
#define QUIET_MS 300

static void peer_discover(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	bool v2 = false, mem = false, pids = false;
	while (f && fgets(line, sizeof(line), f) && n_peer_hier < PEER_HIERS) {
		char root[256], mnt[256], fstype[32], super[256];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%31s %*s %255s", fstype, super) != 2 || strcmp(root, "/") != 0)
			continue;
		bool take = (!v2 && strcmp(fstype, "cgroup2") == 0 && (v2 = true)) ||
			    (strcmp(fstype, "cgroup") == 0 && !mem && strstr(super, "memory") && (mem = true)) ||
			    (strcmp(fstype, "cgroup") == 0 && !pids && strstr(super, ",pids") && (pids = true));
		if (take)
			snprintf(peer_hier[n_peer_hier++], sizeof(peer_hier[0]), "%s", mnt);
	}
	if (f)
		fclose(f);
}

/* On a systemd host nsiso's container is a transient scope that PID 1
 * makes over D-Bus, so the peer there is bubblewrap started the same way:
 * systemd-run --scope (a StartTransientUnit, its job waited for), not
 * groups made behind systemd's back. */
static bool peer_in_scope(void)
{
	return access("/run/systemd/system", F_OK) == 0 &&
	       (access("/usr/bin/systemd-run", X_OK) == 0 || access("/bin/systemd-run", X_OK) == 0);
}

static int cgroup_peer_once(char *const argv[], int i, double *whole_ms)
{
	if (peer_in_scope()) {
		char *scope_argv[24] = { "systemd-run", "--scope", "--quiet", "--collect", "--" };
		int k = 5;
		for (int a = 0; argv[a] && k < 23; a++)
			scope_argv[k++] = argv[a];
		scope_argv[k] = NULL;
		return run_cmd(scope_argv, whole_ms);
	}
	char dir[PEER_HIERS][320];
	double t0 = now_ms();
	for (int h = 0; h < n_peer_hier; h++) {
		snprintf(dir[h], sizeof(dir[h]), "%.255s/nsiso-bench-peer-%d-%d", peer_hier[h], (int)getpid(), i);
		if (mkdir(dir[h], 0755) < 0)
			return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		for (int h = 0; h < n_peer_hier; h++) {
			char procs[360];
			snprintf(procs, sizeof(procs), "%.320s/cgroup.procs", dir[h]);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				_exit(126);
			close(fd);
		}
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	for (int h = 0; h < n_peer_hier; h++)
		for (int k = 0; k < 1000 && rmdir(dir[h]) < 0 && errno == EBUSY; k++)
			usleep(100);
	*whole_ms = now_ms() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The kernel's price of a cgroup move, which every login pays (the session
 * process joins the container's groups): a write to cgroup.procs takes
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
 * period unless another move happened just before, or unless cgroup2 was
 * ever mounted with favordynmods since boot (the lock then stays in its
 * slow-reader mode for good). The first move of a child after idle ms
 * without moves, into a fresh group of the first hierarchy found; -1 on
 * failure. */
static double move_once(int idle_ms)
{
	char dir[320], procs[360];
	snprintf(dir, sizeof(dir), "%.255s/nsiso-bench-move-%d", peer_hier[0], (int)getpid());
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if (n_peer_hier == 0 || mkdir(dir, 0755) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	usleep((useconds_t)idle_ms * 1000);
	char text[16];
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	double a = now_ms();
	ssize_t w = fd < 0 ? -1 : write(fd, text, (size_t)len);
	double ms = now_ms() - a;
	if (fd >= 0)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int k = 0; k < 1000 && rmdir(dir) < 0 && errno == EBUSY; k++)
		usleep(100);
	return w == len ? ms : -1;
}

/* The kernel floor: unshare() of the seven namespaces and a fork() (the
 * child exits at once), in a fresh child, timed in-process: no exec, no
 * PAM, no id map. */
static int floor_once(double *ms)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		double a = now_ms();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
			    CLONE_NEWCGROUP) < 0)
			_exit(2);
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		if (c < 0 || waitpid(c, NULL, 0) != c)
			_exit(3);
		double b = now_ms() - a;
		_exit(write(p[1], &b, sizeof(b)) == sizeof(b) ? 0 : 4);
	}
	close(p[1]);
	ssize_t n = read(p[0], ms, sizeof(*ms));
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return n == sizeof(*ms) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Cold open+close of user, n times, each after its last container ended. */
static int cold_runs(const char *user, double *s, double *w, int n)
{
	for (int i = 0; i < n; i++) {
		wait_container_gone(user);
		if (session_once(user, &s[i], &w[i]) < 0)
			return -1;
	}
	return 0;
}

static long meminfo_kib(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long pss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	long v = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "Pss:", 4) == 0)
			v = strtol(line + 4, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* PSS of every process whose comm is one of names. */
static long pss_of_comms(const char *const *names, int *count)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	long total = 0;
	*count = 0;
	while (d && (e = readdir(d))) {
		char path[300], comm[64] = "";
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		for (const char *const *n = names; *n; n++)
			if (strcmp(comm, *n) == 0) {
				total += pss_kib(atoi(e->d_name));
				(*count)++;
			}
	}
	if (d)
		closedir(d);
	return total;
}

static void settle(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		(void)!write(fd, "3", 1);
		close(fd);
	}
	usleep(300000);
}

static void print_row(const char *name, struct stats s, struct stats ref)
{
	printf("%-44s p50 %7.2f ms  p99 %7.2f ms  mean %7.2f ms  p50 ratio %5.2fx\n", name, s.p50, s.p99, s.mean,
	       ref.p50 > 0 ? s.p50 / ref.p50 : 0);
}

/* One of issue 27's targets: the figure, its reference from this run, the
 * ratio against the limit. bench/run.sh gathers these lines at its end. */
static void print_target(const char *what, double figure, double reference, const char *unit, double limit)
{
	double ratio = reference > 0 ? figure / reference : 0;
	printf("  [target] %-46s %9.2f / %9.2f %-3s = %5.2fx  (<= %.2f: %s)\n", what, figure, reference, unit, ratio,
	       limit, reference > 0 && ratio <= limit ? "met" : "not met");
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: nsiso-bench MODULE CONFIG ITERATIONS USER [USER...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* a release pipe per held container */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
	const char *module = argv[1], *config = argv[2];
	int n = atoi(argv[3]);
	char **users = &argv[4];
	int n_users = argc - 4;
	if (n < 5 || n > 100000)
		return 2;

	snprintf(confdir, sizeof(confdir), "/run/nsiso-bench.XXXXXX");
	if (!mkdtemp(confdir))
		return 1;
	char path[128];
	snprintf(path, sizeof(path), "%s/bench", confdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f,
		"auth required pam_permit.so\naccount required pam_permit.so\n"
		"session required pam_permit.so\nsession required %s config=%s\n",
		module, config);
	fclose(f);
	/* the same session processes without nsiso: what the holders cost
	 * themselves (they stand in for sshd) */
	char plain[128];
	snprintf(plain, sizeof(plain), "%s/bench-plain", confdir);
	f = fopen(plain, "w");
	if (!f)
		return 1;
	fprintf(f, "auth required pam_permit.so\naccount required pam_permit.so\nsession required pam_permit.so\n");
	fclose(f);

	double *s = calloc((size_t)n, sizeof(double)), *w = calloc((size_t)n, sizeof(double));
	const char *u = users[0];
	int rc = 0;

	/* cold */
	log_catch_start();
	for (int i = 0; i < n; i++) {
		wait_container_gone(u);
		if (session_once(u, &s[i], &w[i]) < 0) {
			fprintf(stderr, "cold session %d failed\n", i);
			rc = 1;
			goto out;
		}
		if (n_open_at < RUNS_MAX)
			open_at[n_open_at++] = last_open_at;
	}
	struct stats cold_s = stats_of(s, n), cold_w = stats_of(w, n);

	/* warm */
	int release;
	wait_container_gone(u);
	pid_t holder = hold_session("bench", u, &release);
	if (holder < 0) {
		fprintf(stderr, "holding session failed\n");
		rc = 1;
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (session_once(u, &s[i], &w[i]) < 0) {
			fprintf(stderr, "warm session %d failed\n", i);
			rc = 1;
		}
	close(release);
	waitpid(holder, NULL, 0);
	struct stats warm_s = stats_of(s, n), warm_w = stats_of(w, n);

	/* references */
	char *unshare_argv[] = { "unshare", "--user", "--map-root-user", "--pid",    "--fork", "--mount-proc",
				 "--uts",   "--ipc",  "--net",		 "--cgroup", "true",   NULL };
	char *bwrap_argv[] = { "bwrap", "--unshare-all", "--dev-bind", "/", "/", "--proc", "/proc", "true", NULL };
	char *true_argv[] = { "true", NULL };
	for (int i = 0; i < n; i++)
		if (run_cmd(unshare_argv, &w[i]) < 0) {
			fprintf(stderr, "unshare failed\n");
			rc = 1;
			goto out;
		}
	struct stats unshare_w = stats_of(w, n);
	int have_bwrap = 1;
	for (int i = 0; i < n; i++)
		if (run_cmd(bwrap_argv, &w[i]) < 0)
			have_bwrap = 0;
	struct stats bwrap_w = have_bwrap ? stats_of(w, n) : (struct stats){ 0 };
	peer_discover();
	int have_peer = have_bwrap && n_peer_hier > 0;
	for (int i = 0; i < n && have_peer; i++)
		if (cgroup_peer_once(bwrap_argv, i, &w[i]) < 0)
			have_peer = 0;
	struct stats peer_w = have_peer ? stats_of(w, n) : (struct stats){ 0 };
	/* The same two after 300 ms of quiet each, as on a host where logins
	 * are seconds apart: the first cgroup move of each then waits for the
	 * kernel's grace period (see move_once), which a loop of logins hides. */
	int nq = n < QUIET_RUNS ? n : QUIET_RUNS;
	double *qs = calloc((size_t)nq, sizeof(double)), *qw = calloc((size_t)nq, sizeof(double));
	int have_quiet = qs && qw;
	log_catch_mark(PHASE_QUIET);
	for (int i = 0; i < nq && have_quiet; i++) {
		wait_container_gone(u);
		usleep(QUIET_MS * 1000);
		if (session_once(u, &qs[i], &w[i]) < 0)
			have_quiet = 0;
	}
	log_catch_mark(PHASE_NONE);
	for (int i = 0; i < nq && have_quiet && have_peer; i++) {
		usleep(QUIET_MS * 1000);
		if (cgroup_peer_once(bwrap_argv, n + i, &qw[i]) < 0)
			have_peer = 0;
	}
	struct stats quiet_s = have_quiet ? stats_of(qs, nq) : (struct stats){ 0 };
	struct stats quiet_peer = have_quiet && have_peer ? stats_of(qw, nq) : (struct stats){ 0 };
	free(qs);
	free(qw);
	for (int i = 0; i < n; i++)
		run_cmd(true_argv, &w[i]);
	struct stats true_w = stats_of(w, n);
	for (int i = 0; i < n; i++)
		if (floor_once(&w[i]) < 0) {
			fprintf(stderr, "the kernel floor (unshare + fork) failed\n");
			rc = 1;
			goto out;
		}
	struct stats floor_w = stats_of(w, n);

	printf("nsiso-bench: %d iterations each, namespaces user pid mount ipc uts net cgroup\n", n);
	printf("ratios are against `unshare` (whole process, same namespace set) measured in this run\n\n");
	print_row("nsiso cold: open+close session", cold_s, unshare_w);
	print_row("nsiso cold: whole child (fork..reaped)", cold_w, unshare_w);
	print_row("nsiso warm: open+close session", warm_s, unshare_w);
	print_row("nsiso warm: whole child (fork..reaped)", warm_w, unshare_w);
	print_row("unshare -U -r -p -f --mount-proc -u -i -n -C true", unshare_w, unshare_w);
	if (have_bwrap)
		print_row("bwrap --unshare-all --dev-bind / / true", bwrap_w, unshare_w);
	if (have_peer) {
		char name[64];
		if (peer_in_scope())
			snprintf(name, sizeof(name), "the same bwrap in a scope (systemd-run --scope)");
		else
			snprintf(name, sizeof(name), "the same bwrap in fresh cgroups (%d hierarch%s)", n_peer_hier,
				 n_peer_hier == 1 ? "y" : "ies");
		print_row(name, peer_w, unshare_w);
	}
	if (have_quiet)
		print_row("nsiso cold, each after 300 ms quiet", quiet_s, unshare_w);
	if (have_quiet && have_peer)
		print_row(peer_in_scope() ? "bwrap in a scope, each after 300 ms quiet"
					  : "bwrap in fresh cgroups, each after 300 ms quiet",
			  quiet_peer, unshare_w);
	print_row("fork+exec true", true_w, unshare_w);
	print_row("kernel floor: unshare(7 namespaces)+fork, in-process", floor_w, unshare_w);
	printf("\nagainst the targets (p50, same run):\n");
	if (have_bwrap)
		printf("  cold open_session / bwrap start-up          %5.2fx\n", cold_s.p50 / bwrap_w.p50);
	if (have_peer)
		print_target("cold open / the peer doing the same work", cold_s.p50, peer_w.p50, "ms", 1.0);
	else
		printf("  [target] cold open / the peer: not measured (no bwrap%s)\n",
		       have_bwrap ? ", or no cgroup hierarchy" : "");
	if (have_quiet && have_peer)
		print_target("the same, each after 300 ms quiet", quiet_s.p50, quiet_peer.p50, "ms", 1.0);
	print_target("warm open / kernel floor", warm_s.p50, floor_w.p50, "ms", 0.25);
	printf("  warm open_session - kernel floor            %+6.2f ms\n", warm_s.p50 - floor_w.p50);
	/* (the step table comes after the density run, whose cold logins it
	 * shows too) */

	/* The kernel's cgroup move, after 300 ms without one and right after one. */
	double idle[10], busy[10];
	int nm = 0;
	for (; nm < 10; nm++)
		if ((idle[nm] = move_once(300)) < 0 || (busy[nm] = move_once(0)) < 0)
			break;
	if (nm == 10) {
		struct stats mi = stats_of(idle, nm), mb = stats_of(busy, nm);
		printf("\nthe kernel's cgroup move (every login pays one; a cold login three), p50 of %d:\n", nm);
		printf("  after 300 ms without a move                 %7.3f ms\n", mi.p50);
		printf("  right after another move                    %7.3f ms\n", mb.p50);
		printf("  the cgroup lock is in its %s\n",
		       mi.p50 > 1.0 ? "fresh mode: a move after idle waits for an RCU grace period (a fresh machine)"
				    : "fast mode: favordynmods was set since boot, or moves are frequent here; figures "
				      "are not a fresh machine's");
	}

	/* memory and density: a container per user but the last, whose cold
	 * login is timed before and while they are held */
	if (n_users >= 3) {
		int k = n_users - 1, m = n < 50 ? n : 50;
		const char *probe = users[k];
		double *c0 = calloc((size_t)m, sizeof(double)), *ck = calloc((size_t)m, sizeof(double));
		int *rel = calloc((size_t)k, sizeof(int));
		pid_t *hold = calloc((size_t)k, sizeof(pid_t)), *up = calloc((size_t)k, sizeof(pid_t));
		if (!c0 || !ck || !rel || !hold || !up) {
			rc = 1;
			goto out;
		}
		log_catch_mark(PHASE_DENSITY0);
		int c0_ok = cold_runs(probe, c0, w, m);
		log_catch_mark(PHASE_NONE);
		if (c0_ok < 0) {
			fprintf(stderr, "cold sessions of %s failed\n", probe);
			rc = 1;
			goto out;
		}
		struct stats at0 = stats_of(c0, m);
		settle();
		long before_p = meminfo_kib("MemAvailable");
		for (int i = 0; i < k; i++) {
			hold[i] = hold_session("bench-plain", users[i], &rel[i]);
			if (hold[i] < 0) {
				fprintf(stderr, "holding a plain session of %s failed\n", users[i]);
				rc = 1;
				goto out;
			}
		}
		settle();
		long after_p = meminfo_kib("MemAvailable");
		for (int i = 0; i < k; i++) {
			close(rel[i]);
			waitpid(hold[i], NULL, 0);
		}
		settle();
		long before = meminfo_kib("MemAvailable");
		for (int i = 0; i < k; i++) {
			wait_container_gone(users[i]);
			hold[i] = hold_session("bench", users[i], &rel[i]);
			if (hold[i] < 0) {
				fprintf(stderr, "holding %s failed\n", users[i]);
				rc = 1;
				k = i;
				break;
			}
		}
		settle();
		long after = meminfo_kib("MemAvailable");
		const char *ours[] = { "nsiso-sup", "nsiso-init", NULL };
		int procs = 0;
		long pss = pss_of_comms(ours, &procs);
		int held = k;
		log_catch_mark(PHASE_DENSITYK);
		int ck_ok = cold_runs(probe, ck, w, m);
		log_catch_mark(PHASE_NONE);
		held_for_density = held;
		if (ck_ok < 0) {
			fprintf(stderr, "cold sessions of %s with %d containers held failed\n", probe, held);
			rc = 1;
		}
		struct stats atk = stats_of(ck, m);
		/* the holders are bench processes standing in for sshd: not counted */
		for (int i = 0; i < k; i++) {
			close(rel[i]);
			waitpid(hold[i], NULL, 0);
		}
		for (int i = 0; i < k; i++)
			wait_container_gone(users[i]);

		/* the same number of unshare processes holding the namespaces */
		settle();
		long before_u = meminfo_kib("MemAvailable");
		char *hold_argv[] = {
			"unshare", "--kill-child", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc",
			"--uts",   "--ipc",	   "--net",  "--cgroup",	"sleep", "1000",   NULL
		};
		for (int i = 0; i < k; i++) {
			up[i] = fork();
			if (up[i] == 0) {
				execvp(hold_argv[0], hold_argv);
				_exit(127);
			}
		}
		settle();
		long after_u = meminfo_kib("MemAvailable");
		const char *theirs[] = { "unshare", "sleep", NULL };
		int uprocs = 0;
		long upss = pss_of_comms(theirs, &uprocs);
		for (int i = 0; i < k; i++) {
			kill(up[i], SIGKILL);
			waitpid(up[i], NULL, 0);
		}
		printf("\nmemory per container, %d containers held at once:\n", k);
		printf("  nsiso:   MemAvailable -%6ld KiB each; supervisor+init PSS %5ld KiB each (%d processes)\n",
		       (before - after) / k, pss / k, procs);
		printf("  unshare: MemAvailable -%6ld KiB each; unshare+sleep PSS   %5ld KiB each (%d processes)\n",
		       (before_u - after_u) / k, upss / k, uprocs);
		printf("  the %d session processes alone (pam_permit): MemAvailable -%ld KiB each\n", k,
		       (before_p - after_p) / k);
		long per = ((before - after) - (before_p - after_p)) / k;
		printf(
		    "  nsiso MemAvailable per container, sessions' own share taken out  %5ld KiB  (target <= 1024)\n",
		    per);
		printf("\ncold open+close of one more user (%d iterations):\n", m);
		printf("  with no container up                        p50 %7.2f ms  p99 %7.2f ms\n", at0.p50, at0.p99);
		printf("  with %5d containers up                    p50 %7.2f ms  p99 %7.2f ms  %5.2fx  (target <= "
		       "1.20)\n",
		       held, atk.p50, atk.p99, at0.p50 > 0 ? atk.p50 / at0.p50 : 0);
		char what[64];
		printf("\n");
		snprintf(what, sizeof(what), "memory per container, %d held", held);
		print_target(what, (double)per, 1024, "KiB", 1.0);
		snprintf(what, sizeof(what), "cold open with %d containers up / none", held);
		print_target(what, atk.p50, at0.p50, "ms", 1.2);
		if (held < 1000)
			printf("  (the last two targets are for 1000 containers: bench/run.sh 1000)\n");
	}
	log_catch_print();
out:
	unlink(path);
	unlink(plain);
	rmdir(confdir);
	return rc;
}
