/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsiso status (inside) and nsiso metrics (root, on the host).
 *
 * nsiso metrics: node_exporter's text format (version 0.0.4) from the
 * counters since boot (lib/session/stats.h), the live containers (their
 * supervisors' OP_STATUS) and the policy. No per-user label unless
 * --per-user. With --textfile DIR, written to DIR/nsiso.prom atomically (a
 * temporary file beside it, renamed), for the textfile collector. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "fsutil.h"
#include "lastgood.h"
#include "policy.h"
#include "stats.h"
#include "util.h"

/* A label value in the text format: \\, \" and \n escaped. */
static void put_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name "KIND|A|B": A and B, or false. */
static bool split3(const char *name, const char *kind, char *a, char *b, size_t size)
{
	size_t k = strlen(kind);
	if (strncmp(name, kind, k) != 0 || name[k] != '|')
		return false;
	const char *p = name + k + 1, *bar = strchr(p, '|');
	if (!bar || (size_t)(bar - p) >= size || strlen(bar + 1) >= size)
		return false;
	memcpy(a, p, (size_t)(bar - p));
	a[bar - p] = '\0';
	snprintf(b, size, "%s", bar + 1);
	return true;
}

/* Every counter of a kind, labelled: "KIND|SERVICE|WHAT" lines. */
static void counter_family(FILE *f, const struct stats_entry *e, int n, const char *kind, const char *metric,
			   const char *label, const char *help)
{
	family(f, metric, "counter", help);
	for (int i = 0; i < n; i++) {
		char svc[STATS_NAME_MAX], what[STATS_NAME_MAX];
		if (!split3(e[i].name, kind, svc, what, sizeof(svc)))
			continue;
		fprintf(f, "%s{service=", metric);
		put_label(f, svc);
		if (label) {
			fprintf(f, ",%s=", label);
			put_label(f, what);
		}
		fprintf(f, "} %" PRIu64 "\n", e[i].value);
	}
}

static uint64_t counter(const struct stats_entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].value;
	return 0;
}

/* FNV-1a, 64 bits: the policy's identity across hosts (not a secret, not
 * a signature). Each file's path and content, in the order loaded. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

static void policy_metrics(FILE *f, const char *config)
{
	static struct policy p;
	struct nsiso_error err = { 0 };
	bool valid = policy_load(&p, config, &err) == 0;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t files = valid ? p.n_files : 1;
	for (size_t i = 0; i < files; i++) {
		const char *path = valid ? p.files[i] : config;
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		h = fnv1a(h, path, strlen(path) + 1);
		if (fd >= 0 && read_whole_fd(fd, 1 << 20, &text, &len) == 0)
			h = fnv1a(h, text, len);
	}
	int64_t saved = 0, since = 0;
	struct nsiso_error first;
	bool kept_in_use = lastgood_status(LASTGOOD_DIR, config, &saved, &since, &first) == 0 && since != 0;

	family(f, "nsiso_policy_info", "gauge",
	       "The policy file and its drop-ins: path, FNV-1a 64 hash of their paths and contents, whether they are "
	       "valid now.");
	fprintf(f, "nsiso_policy_info{path=");
	put_label(f, config);
	fprintf(f, ",hash=\"%016" PRIx64 "\",valid=\"%d\"} 1\n", h, valid);
	family(f, "nsiso_policy_last_good_in_use", "gauge",
	       "1 when the policy failed validation at a login and logins run under the last valid copy.");
	fprintf(f, "nsiso_policy_last_good_in_use %d\n", kept_in_use);
}

static void histogram(FILE *f, const struct stats_entry *e, int n)
{
	family(f, "nsiso_container_create_seconds", "histogram",
	       "Time from pam_open_session to the session in a container this login created.");
	uint64_t cumulative = 0;
	for (unsigned b = 0; b < STATS_CREATE_BUCKETS; b++) {
		char name[32];
		snprintf(name, sizeof(name), "create_le|%u", stats_create_bucket_ms[b]);
		cumulative += counter(e, n, name);
		fprintf(f, "nsiso_container_create_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			stats_create_bucket_ms[b] / 1000.0, cumulative);
	}
	cumulative += counter(e, n, "create_le|inf");
	fprintf(f, "nsiso_container_create_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cumulative);
	fprintf(f, "nsiso_container_create_seconds_sum %.6f\n", (double)counter(e, n, "create_us_sum") / 1e6);
	fprintf(f, "nsiso_container_create_seconds_count %" PRIu64 "\n", counter(e, n, "create_count"));
}

static void live_metrics(FILE *f, bool per_user)
{
	static uid_t uids[4096];
	static struct container_status st;
	size_t n = live_uids(uids, ARRAY_SIZE(uids)), containers = 0;
	uint64_t sessions = 0;
	if (per_user) {
		family(f, "nsiso_container_sessions", "gauge", "Sessions in the user's live container.");
		family(f, "nsiso_container_start_time_seconds", "gauge", "When the user's container was made.");
	}
	for (size_t i = 0; i < n; i++) {
		if (status_of(uids[i], &st) != 0)
			continue;
		containers++;
		sessions += st.n_sessions;
		if (!per_user)
			continue;
		fprintf(f, "nsiso_container_sessions{user=");
		put_label(f, st.user);
		fprintf(f, "} %u\nnsiso_container_start_time_seconds{user=", st.n_sessions);
		put_label(f, st.user);
		fprintf(f, "} %" PRId64 "\n", st.started);
	}
	family(f, "nsiso_containers", "gauge", "Live containers.");
	fprintf(f, "nsiso_containers %zu\n", containers);
	family(f, "nsiso_sessions", "gauge", "Sessions in live containers.");
	fprintf(f, "nsiso_sessions %" PRIu64 "\n", sessions);
}

static int write_textfile(const char *dir, const char *text, size_t len)
{
	_cleanup_close_ int d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0) {
		fprintf(stderr, "nsiso: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char tmp[64];
	/* (node_exporter reads only *.prom: the temporary file is not one) */
	snprintf(tmp, sizeof(tmp), ".nsiso.prom.%d", (int)getpid());
	_cleanup_close_ int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int r = fd < 0 ? -errno : write_all_fd(fd, text, len);
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || renameat(d, tmp, d, "nsiso.prom") < 0))
		r = -errno;
	if (r < 0) {
		if (fd >= 0)
			(void)unlinkat(d, tmp, 0);
		fprintf(stderr, "nsiso: writing %s/nsiso.prom: %s\n", dir, strerror(-r));
		return 1;
	}
	return 0;
}

/* nsiso status, inside a container: the supervisor's text answer on the
 * network namespace's abstract socket (helper/inside.c). Any user. */
int cmd_status(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path + 1, NSISO_INSIDE_SOCKET, strlen(NSISO_INSIDE_SOCKET));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(NSISO_INSIDE_SOCKET));
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 5 };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return 1;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		fprintf(stderr,
			"nsiso: no container status here (%s): this is not an nsiso container with a network "
			"namespace of its own\n",
			strerror(errno));
		return 1;
	}
	char buf[8192];
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || (n += (size_t)k) == sizeof(buf) - 1)
			break;
	}
	if (n == 0) {
		fprintf(stderr, "nsiso: the container's supervisor gave no status (too many asked at once?)\n");
		return 1;
	}
	fwrite(buf, 1, n, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_metrics(const char *config, const char *textfile_dir, bool per_user)
{
	if (geteuid() != 0) {
		fprintf(stderr, "nsiso: only root can read nsiso's counters\n");
		return 1;
	}
	static struct stats_entry e[STATS_MAX];
	int n = stats_read(e, STATS_MAX);
	if (n < 0 && n != -ENOENT) {
		fprintf(stderr, "nsiso: reading %s/stats: %s\n", NSISO_RUNDIR, strerror(-n));
		return 1;
	}
	if (n < 0)
		n = 0;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return 1;
	live_metrics(f, per_user);
	counter_family(f, e, n, "login", "nsiso_logins_total", "container",
		       "Sessions put into their container since boot, by PAM service and whether the login created the "
		       "container or joined it.");
	counter_family(f, e, n, "refused", "nsiso_refusals_total", "step",
		       "Sessions refused since boot, by PAM service and the step that failed.");
	counter_family(f, e, n, "unisolated", "nsiso_unisolated_total", "step",
		       "Sessions let in on the host by on_error = allow since boot, by PAM service and failed step.");
	counter_family(f, e, n, "exempt", "nsiso_exempt_total", NULL,
		       "Sessions of users nsiso leaves on the host (root, exempt) since boot, by PAM service.");
	histogram(f, e, n);
	family(f, "nsiso_oom_kills_total", "counter", "Processes the kernel OOM-killed in containers since boot.");
	fprintf(f, "nsiso_oom_kills_total %" PRIu64 "\n", counter(e, n, "oom_kills"));
	policy_metrics(f, config);
	if (fclose(f) != 0)
		return 1;
	if (textfile_dir)
		return write_textfile(textfile_dir, text, len);
	fwrite(text, 1, len, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
