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

/* Loading: files, the pre-scan, iniparser, sections, [global]. */

#define SCAN_SECTIONS_MAX 4096

/* ---- files ----------------------------------------------------------- */

void policy_init_empty(struct policy *p, const char *main_path)
{
	/* Only the counters: the tables are large (a long-lived supervisor
	 * holds one) and every entry is written before it is counted, so their
	 * pages are touched only as far as a policy really goes. */
	snprintf(p->path, sizeof(p->path), "%s", main_path);
	p->builtin = false;
	p->errors[0] = '\0';
	p->n_files = 0;
	p->on_error_allow = false;
	p->on_error_file = -1;
	p->n_exempt = 0;
	p->exempt_file = -1;
	p->subids_auto = false;
	p->subids_pool_start = SUBIDS_POOL_START;
	p->subids_pool_end = SUBIDS_POOL_END;
	p->subids_file = -1;
	p->on_create[0] = p->on_destroy[0] = '\0';
	p->on_create_file = p->on_destroy_file = -1;
	p->n_rules = 0;
	p->n_networks = 0;
}

void policy_init_builtin(struct policy *p)
{
	policy_init_empty(p, "");
	p->builtin = true;
}

/* iniparser reports syntax errors through a printf-like callback; keep the
 * first. Only the helper, the supervisor and the CLI parse policy, each
 * single-threaded. */
static char ini_error[512];

__attribute__((format(printf, 1, 2))) static int ini_error_cb(const char *fmt, ...)
{
	if (ini_error[0])
		return 0;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(ini_error, sizeof(ini_error), fmt, ap);
	va_end(ap);
	for (char *c = ini_error; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return 0;
}

static void dictionary_freep(dictionary **d)
{
	if (*d)
		iniparser_freedict(*d);
}
#define _cleanup_dict_ __attribute__((cleanup(dictionary_freep)))

/* The structure iniparser does not report: line numbers and sections that
 * appear twice in one file. Section names as iniparser makes them: trimmed
 * and lower-cased. */
/* What iniparser forgets: the line of each section and of each key (so
 * that every error names the line of the offending key, as sshd -t does). */
#define SCAN_KEYS_MAX 16384
struct scanned {
	size_t n, n_keys;
	struct {
		char name[POLICY_NAME_MAX + 16];
		char orig[POLICY_NAME_MAX + 16]; /* as written: user and group names keep their case */
		int line;
	} sec[SCAN_SECTIONS_MAX];
	struct {
		size_t sec; /* index in sec[] */
		char name[48];
		int line; /* of the last occurrence: the value iniparser keeps */
	} key[SCAN_KEYS_MAX];
};

/* A "key = value" line inside section s->n - 1: its key, lower-cased as
 * iniparser has it. */
static void scan_key(const char *text, size_t a, size_t b, int line, struct scanned *s)
{
	if (s->n == 0 || text[a] == ';' || text[a] == '#')
		return;
	size_t eq = a;
	while (eq < b && text[eq] != '=' && text[eq] != ':')
		eq++;
	size_t kb = eq;
	while (kb > a && isspace((unsigned char)text[kb - 1]))
		kb--;
	if (eq == b || kb == a || kb - a >= sizeof(s->key[0].name))
		return;
	char name[sizeof(s->key[0].name)];
	for (size_t k = 0; k < kb - a; k++)
		name[k] = (char)tolower((unsigned char)text[a + k]);
	name[kb - a] = '\0';
	for (size_t k = s->n_keys; k-- > 0 && s->key[k].sec == s->n - 1;)
		if (strcmp(s->key[k].name, name) == 0) {
			s->key[k].line = line;
			return;
		}
	if (s->n_keys == SCAN_KEYS_MAX)
		return;
	s->key[s->n_keys].sec = s->n - 1;
	strcpy(s->key[s->n_keys].name, name);
	s->key[s->n_keys].line = line;
	s->n_keys++;
}

static void scan_sections(const char *text, size_t len, struct scanned *s, const char *file, struct errbuf *e)
{
	int line = 0;
	s->n = 0;
	s->n_keys = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		line++;
		size_t a = i, b = j;
		while (a < b && isspace((unsigned char)text[a]))
			a++;
		while (b > a && isspace((unsigned char)text[b - 1]))
			b--;
		if (b > a + 1 && text[a] == '[' && text[b - 1] == ']') {
			size_t na = a + 1, nb = b - 1;
			while (na < nb && isspace((unsigned char)text[na]))
				na++;
			while (nb > na && isspace((unsigned char)text[nb - 1]))
				nb--;
			if (nb - na < sizeof(s->sec[0].name) && s->n < SCAN_SECTIONS_MAX) {
				char name[sizeof(s->sec[0].name)];
				for (size_t k = 0; k < nb - na; k++)
					name[k] = (char)tolower((unsigned char)text[na + k]);
				name[nb - na] = '\0';
				for (size_t k = 0; k < s->n; k++)
					if (strcmp(s->sec[k].name, name) == 0)
						add_error(e, -EINVAL,
							  "%s:%d: section [%s] appears twice (first at line %d)", file,
							  line, name, s->sec[k].line);
				strcpy(s->sec[s->n].name, name);
				memcpy(s->sec[s->n].orig, text + na, nb - na);
				s->sec[s->n].orig[nb - na] = '\0';
				s->sec[s->n].line = line;
				s->n++;
			}
		} else if (b > a) {
			scan_key(text, a, b, line, s);
		}
		i = j + 1;
	}
}

static int section_line(const struct scanned *s, const char *name)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->sec[k].name, name) == 0)
			return s->sec[k].line;
	return 0;
}

/* The line of key in section (its section's line when not found). */
static int key_line(const struct scanned *s, const char *section, const char *key)
{
	for (size_t k = 0; k < s->n; k++) {
		if (strcmp(s->sec[k].name, section) != 0)
			continue;
		for (size_t j = 0; j < s->n_keys; j++)
			if (s->key[j].sec == k && strcmp(s->key[j].name, key) == 0)
				return s->key[j].line;
		return s->sec[k].line;
	}
	return 0;
}

/* The section as written in the file (iniparser lower-cases it), or NULL. */
static const char *section_orig(const struct scanned *s, const char *name)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->sec[k].name, name) == 0)
			return s->sec[k].orig;
	return NULL;
}

/* "default", "global", "user NAME", "group NAME". */
static int section_kind(const char *section, bool *global, enum rule_kind *kind, const char **name)
{
	*global = false;
	*name = "";
	if (strcmp(section, "global") == 0) {
		*global = true;
		return 0;
	}
	if (strcmp(section, "default") == 0) {
		*kind = RULE_DEFAULT;
		return 0;
	}
	const char *rest = NULL;
	if (strncmp(section, "user ", 5) == 0) {
		*kind = RULE_USER;
		rest = section + 5;
	} else if (strncmp(section, "group ", 6) == 0) {
		*kind = RULE_GROUP;
		rest = section + 6;
	} else {
		return -ENOENT;
	}
	while (*rest == ' ')
		rest++;
	*name = rest;
	return policy_name_ok(rest) ? 0 : -EINVAL;
}

static struct policy_rule *rule_for(struct policy *p, unsigned file, int line, enum rule_kind kind, const char *name)
{
	/* One rule per section of a file: find the one this file opened. */
	for (size_t i = p->n_rules; i-- > 0;) {
		struct policy_rule *r = &p->rules[i];
		if (r->file != file)
			break;
		if (r->kind == kind && strcmp(r->name, name) == 0)
			return r;
	}
	if (p->n_rules >= POLICY_RULES_MAX)
		return NULL;
	struct policy_rule *r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->file = file;
	r->line = line;
	snprintf(r->name, sizeof(r->name), "%.*s", POLICY_NAME_MAX, name); /* (name_ok() bounds it) */
	return r;
}

/* A line of a [network NAME] section: its header (key NULL) or a key. */
static void network_section(struct policy *p, unsigned file, const char *fname, int line, const char *section,
			    const char *key, const char *value, struct errbuf *e)
{
	const char *name = section + 8;
	while (*name == ' ')
		name++;
	if (!net_name_ok(name)) {
		if (!key)
			add_error(e, -EINVAL, "%s:%d: [%.64s]: '%.40s' is not a network name (a-z 0-9 - _, at most %d)",
				  fname, line, section, name, POLICY_NET_NAME_MAX);
		return;
	}
	struct policy_network *n = (struct policy_network *)policy_find_network(p, name);
	if (n && n->file != file) {
		if (!key)
			add_error(e, -EINVAL, "%s:%d: [network %s] is already in %s:%d", fname, line, name,
				  p->files[n->file], n->line);
		return;
	}
	if (!n) {
		if (p->n_networks >= POLICY_NETWORKS_MAX) {
			if (!key)
				add_error(e, -E2BIG, "%s:%d: more than %d networks", fname, line, POLICY_NETWORKS_MAX);
			return;
		}
		n = &p->networks[p->n_networks++];
		memset(n, 0, sizeof(*n));
		strcpy(n->name, name);
		n->file = file;
		n->line = line;
	}
	if (!key)
		return;
	struct nsiso_error why = { 0 };
	const struct section_key *row = section_key_find(SECTION_NETWORK, key);
	if (!row) {
		add_error(e, -EINVAL, "%s:%d: [network %s] %s: unknown key (known: %s)", fname, line, name, key,
			  section_known_keys(SECTION_NETWORK));
		return;
	}
	int r = row->parse(n, value ? value : "", &why);
	if (r < 0)
		add_error(e, r, "%s:%d: [network %s] %s: %s", fname, line, name, key, error_text(&why));
}

/* "namespaces hostname ... rlimit_*": from the key table, never a copy of it. */
static const char *known_keys(void)
{
	static char text[KEY_COUNT * 16 + 16];
	if (!text[0]) {
		size_t n = 0;
		for (int k = 0; k < KEY_COUNT; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s ", policy_keys[k].name);
		snprintf(text + n, sizeof(text) - n, "rlimit_*");
	}
	return text;
}

static struct scanned scan;

void policy_forget(struct policy *p)
{
	forget_pages(p, sizeof(*p));
	forget_pages(&scan, sizeof(scan));
}

/* The file's text, read whole through the fd that was checked: refused
 * when too large, holding a NUL, or starting with a byte order mark. */
static char *read_policy_text(int fd, const char *name, size_t *len, struct errbuf *e)
{
	char *text = NULL;
	int r = read_whole_fd(fd, POLICY_FILE_MAX_BYTES, &text, len);
	if (r == -EFBIG) {
		add_error(e, r, "%s: larger than %u bytes", name, POLICY_FILE_MAX_BYTES);
		return NULL;
	}
	if (r < 0) {
		add_error(e, r, "%s: cannot be read", name);
		return NULL;
	}
	if (memchr(text, '\0', *len)) {
		add_error(e, -EINVAL, "%s: contains a NUL byte", name);
	} else if (*len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		add_error(e, -EINVAL, "%s: starts with a byte order mark; save it as plain UTF-8", name);
	} else {
		return text;
	}
	free(text);
	return NULL;
}

/* iniparser takes a path: give it the fd we opened and checked, so that
 * what is parsed is what was checked. */
static dictionary *parse_ini(int fd, const char *name, struct errbuf *e)
{
	char procpath[64];
	snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
	ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	dictionary *d = iniparser_load(procpath);
	iniparser_set_error_callback(NULL);
	if (!d || ini_error[0]) {
		add_error(e, -EINVAL, "%s: %s", name, ini_error[0] ? ini_error : "cannot be parsed");
		if (d)
			iniparser_freedict(d);
		return NULL;
	}
	return d;
}

/* A key of [default], [group NAME] or [user NAME]: its row of the key
 * table (rlimit_* have their own parser). */
static void rule_key(struct policy_rule *rule, const char *name, int line, const char *section, const char *key,
		     const char *value, struct errbuf *e)
{
	struct nsiso_error why = { 0 };
	int r;
	if (strncmp(key, "rlimit_", 7) == 0) {
		r = parse_rlimit(&rule->values, key + 7, value, &why);
		if (r < 0)
			add_error(e, r, "%s:%d: [%s] %s: %s", name, line, section, key, error_text(&why));
		return;
	}
	int ki = -1;
	for (int j = 0; j < KEY_COUNT; j++)
		if (strcmp(key, policy_keys[j].name) == 0)
			ki = j;
	if (ki < 0) {
		add_error(e, -EINVAL, "%s:%d: [%s] unknown key '%.64s' (known: %s)", name, line, section, key,
			  known_keys());
		return;
	}
	const struct key_def *row = &policy_keys[ki];
	r = row->parse((char *)&rule->values + row->v_off, row, value, &why);
	if (r < 0) {
		add_error(e, r, "%s:%d: [%s] %s: %s", name, line, section, key, error_text(&why));
		return;
	}
	rule->values.set |= 1u << ki; /* (KEY_COUNT <= 32: policy.h) */
}

static void global_key(struct policy *p, unsigned file, const char *name, int line, const char *key, const char *value,
		       struct errbuf *e)
{
	struct nsiso_error why = { 0 };
	struct global_owner g = { .p = p, .file = (int)file };
	const struct section_key *row = section_key_find(SECTION_GLOBAL, key);
	if (!row) {
		add_error(e, -EINVAL, "%s:%d: [global] unknown key '%.64s' (known: %s)", name, line, key,
			  section_known_keys(SECTION_GLOBAL));
		return;
	}
	int r = row->parse(&g, value, &why);
	if (r < 0)
		add_error(e, r, "%s:%d: [global] %s: %s", name, line, key, error_text(&why));
}

/* One entry of the dictionary, in file order: a section (no ':', no
 * value) or a key ("section:key"). */
static void apply_entry(struct policy *p, unsigned file, const char *name, const char *k, const char *val,
			struct errbuf *e)
{
	const char *colon = strchr(k, ':');
	char section[POLICY_NAME_MAX + 16];
	size_t slen = colon ? (size_t)(colon - k) : strlen(k);
	if ((!colon && val) || (colon && colon == k)) {
		add_error(e, -EINVAL, "%s: key '%.64s' is outside any section", name, colon ? colon + 1 : k);
		return;
	}
	if (slen >= sizeof(section)) {
		add_error(e, -EINVAL, "%s: section name '%.32s...' too long", name, k);
		return;
	}
	memcpy(section, k, slen);
	section[slen] = '\0';
	int sline = section_line(&scan, section);
	int line = colon ? key_line(&scan, section, colon + 1) : sline;
	if (strncmp(section, "network ", 8) == 0) {
		network_section(p, file, name, line, section, colon ? colon + 1 : NULL, val, e);
		return;
	}
	bool global;
	enum rule_kind kind = RULE_DEFAULT;
	const char *who;
	int r = section_kind(section, &global, &kind, &who);
	/* [user Bob] names Bob, not bob: the name as written (the two
	 * spellings in one file are the same section to iniparser, which
	 * scan_sections() reports as a section written twice). */
	const char *orig = r == 0 && !global && kind != RULE_DEFAULT ? section_orig(&scan, section) : NULL;
	if (orig && strlen(orig) == strlen(section))
		who = orig + (who - section);
	if (r == -ENOENT) {
		if (!colon)
			add_error(e, -EINVAL,
				  "%s:%d: unknown section [%.64s] (known: [global] [default] [group NAME] "
				  "[user NAME] [network NAME])",
				  name, line, section);
		return;
	}
	if (r < 0) {
		if (!colon)
			add_error(e, -EINVAL, "%s:%d: [%.64s]: '%.64s' is not a valid name", name, line, section, who);
		return;
	}
	if (global) {
		if (colon)
			global_key(p, file, name, line, colon + 1, val ? val : "", e);
		return;
	}
	/* A [user] section in several files merges key by key in reading
	 * order, like [default] and [group]: a config-management drop-in that
	 * repeats one must not lock the host out (nsiso check notes the
	 * overrides). */
	struct policy_rule *rule = rule_for(p, file, sline, kind, who);
	if (!rule) {
		add_error(e, -E2BIG, "%s: more than %d sections in all", name, POLICY_RULES_MAX);
		return;
	}
	if (colon)
		rule_key(rule, name, line, section, colon + 1, val ? val : "", e);
}

/* One policy file: its text for the pre-scan (lines, sections written
 * twice), iniparser for the values, then every entry in file order. */
static void load_text(struct policy *p, unsigned file, const char *name, int fd, struct errbuf *e)
{
	size_t len = 0;
	_cleanup_free_ char *text = read_policy_text(fd, name, &len, e);
	if (!text)
		return;
	scan_sections(text, len, &scan, name, e);

	_cleanup_dict_ dictionary *d = parse_ini(fd, name, e);
	if (!d)
		return;
	for (ssize_t i = 0; i < d->size; i++)
		if (d->key[i])
			apply_entry(p, file, name, d->key[i], d->val[i], e);
}

static int add_file(struct policy *p, const char *name, unsigned *index)
{
	if (p->n_files >= POLICY_FILES_MAX)
		return -E2BIG;
	/* Never a cut path: it names the file in errors and explain, and the
	 * last valid policy is copied from it. */
	if (strlen(name) >= sizeof(p->files[0]))
		return -ENAMETOOLONG;
	strcpy(p->files[p->n_files], name);
	*index = (unsigned)p->n_files++;
	return 0;
}

int policy_load_fd(struct policy *p, int fd, const char *name, struct nsiso_error *out)
{
	struct errbuf e = { .p = p, .out = out };
	unsigned idx;
	if (add_file(p, name, &idx) < 0) {
		add_error(&e, -E2BIG, "%s: more than %d files", name, POLICY_FILES_MAX);
		return e.first;
	}
	load_text(p, idx, name, fd, &e);
	return e.first;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_load(struct policy *p, const char *path, struct nsiso_error *out)
{
	policy_init_empty(p, path);
	struct errbuf e = { .p = p, .out = out };
	struct nsiso_error why = { 0 };
	char dpath[POLICY_PATH_MAX + 8];
	if (strlen(path) >= POLICY_PATH_MAX) {
		add_error(&e, -ENAMETOOLONG, "%s: path too long", path);
		return e.first;
	}

	int fd = open_trusted_file(path, &why);
	if (fd >= 0) {
		unsigned idx = 0;
		(void)add_file(p, path, &idx);
		load_text(p, idx, path, fd, &e);
		(void)close(fd);
	} else if (fd != -ENOENT) {
		add_error(&e, fd, "%s: %s", path, error_text(&why));
	}

	snprintf(dpath, sizeof(dpath), "%s.d", path);
	_cleanup_close_ int dir = open_trusted_dir(dpath, &why);
	if (dir < 0 && dir != -ENOENT)
		add_error(&e, dir, "%s: %s", dpath, error_text(&why));
	if (dir >= 0) {
		int dfd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			if (dfd >= 0)
				(void)close(dfd);
			add_error(&e, neg_errno(), "%s: cannot be listed", dpath);
		} else {
			char *names[POLICY_FILES_MAX];
			size_t n = 0;
			struct dirent *de;
			while ((de = readdir(d))) {
				size_t len = strlen(de->d_name);
				if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
					continue;
				if (n >= POLICY_FILES_MAX - 1) {
					add_error(&e, -E2BIG, "%s: more than %d drop-ins", dpath, POLICY_FILES_MAX - 1);
					break;
				}
				names[n] = strdup(de->d_name);
				if (!names[n]) {
					add_error(&e, -ENOMEM, "%s: out of memory", dpath);
					break;
				}
				n++;
			}
			(void)closedir(d);
			qsort(names, n, sizeof(names[0]), cmp_names);
			for (size_t i = 0; i < n; i++) {
				char full[sizeof(dpath) + 258];
				snprintf(full, sizeof(full), "%s/%s", dpath, names[i]);
				why.detail[0] = '\0';
				int f = open_trusted_at(dir, names[i], &why);
				if (f < 0) {
					add_error(&e, f, "%s: %s", full, error_text(&why));
				} else {
					unsigned idx = 0;
					int a = add_file(p, full, &idx);
					if (a < 0)
						add_error(&e, a, "%s: %s", full,
							  a == -E2BIG ? "too many files" : "path too long");
					else
						load_text(p, idx, full, f, &e);
					(void)close(f);
				}
				free(names[i]);
			}
		}
	}
	if (e.first == 0)
		e.first = policy_check_networks(p, out);
	p->builtin = p->n_files == 0 && e.first == 0;
	return e.first;
}
