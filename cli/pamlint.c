/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* nsiso check's look at sshd's auth stack (THREATS 62). sshd's session
 * child finishes a split join from pam_setcred, which runs the auth stack
 * with its control words. A line before pam_nsiso whose success ends the
 * stack ("sufficient", success=done or die) or jumps past it leaves the
 * child outside the container's user namespace: the supervisor then kills
 * it, and every such login fails. This walks the stack as Linux-PAM would
 * when every module's setcred succeeds, includes and substacks expanded. */

#define LINES_MAX 256

struct auth_line {
	char control[128];
	char module[256];
	int depth; /* of substack nesting: a substack's done ends only it */
};

static struct auth_line lines[LINES_MAX];
static size_t n_lines;

static void read_stack(const char *dir, const char *service, int depth, int nest)
{
	char path[512], buf[1024];
	if (nest > 8 || strchr(service, '/'))
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, service);
	FILE *f = fopen(path, "re");
	while (f && fgets(buf, sizeof(buf), f)) {
		char *p = buf + strspn(buf, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		if (strncmp(p, "@include", 8) == 0) {
			char inc[256];
			if (sscanf(p + 8, "%255s", inc) == 1)
				read_stack(dir, inc, depth, nest + 1);
			continue;
		}
		char type[32], control[128], module[256];
		const char *rest = p;
		if (sscanf(rest, "%31s", type) != 1 || strcasecmp(type, "auth") != 0)
			continue;
		rest += strspn(rest, " \t") + strlen(type);
		rest += strspn(rest, " \t");
		if (*rest == '[') {
			const char *end = strchr(rest, ']');
			if (!end || (size_t)(end - rest) >= sizeof(control))
				continue;
			snprintf(control, sizeof(control), "%.*s", (int)(end - rest + 1), rest);
			rest = end + 1;
		} else if (sscanf(rest, "%127s", control) == 1) {
			rest += strlen(control);
		} else
			continue;
		if (sscanf(rest, "%255s", module) != 1)
			continue;
		if (strcmp(control, "include") == 0 || strcmp(control, "substack") == 0) {
			read_stack(dir, module, depth + (control[0] == 's'), nest + 1);
			continue;
		}
		if (n_lines == LINES_MAX)
			break;
		struct auth_line *l = &lines[n_lines++];
		snprintf(l->control, sizeof(l->control), "%s", control);
		const char *base = strrchr(module, '/');
		snprintf(l->module, sizeof(l->module), "%s", base ? base + 1 : module);
		l->depth = depth;
	}
	if (f)
		fclose(f);
}

/* What success does at this line: 0 go on, N jump N lines, -1 end. */
static int on_success(const char *control)
{
	if (strcmp(control, "sufficient") == 0)
		return -1;
	if (control[0] != '[')
		return 0;
	const char *s = strstr(control, "success=");
	if (!s)
		s = strstr(control, "default=");
	if (!s)
		return 0;
	s = strchr(s, '=') + 1;
	if (isdigit((unsigned char)*s))
		return atoi(s);
	return strncmp(s, "done", 4) == 0 || strncmp(s, "die", 3) == 0 ? -1 : 0;
}

int pam_auth_lint(const char *dir, const char *service)
{
	n_lines = 0;
	read_stack(dir, service, 0, 0);
	size_t at = n_lines;
	for (size_t i = 0; i < n_lines; i++)
		if (strcmp(lines[i].module, "pam_nsiso.so") == 0) {
			at = i;
			break;
		}
	if (n_lines == 0)
		return 0; /* no such service */
	if (at == n_lines) {
		printf("note: %s/%s: pam_nsiso is not in the auth stack: sshd's sessions are joined whole in its "
		       "monitor (no split join: utmp, wtmp and logind's release run as container root)\n",
		       dir, service);
		return 0;
	}
	for (size_t i = 0; i < at;) {
		int act = on_success(lines[i].control);
		if (act < 0 && lines[i].depth == lines[at].depth) {
			printf("warning: %s/%s: auth %s %s ends setcred before pam_nsiso: sshd's session children "
			       "never finish the join and are killed (every login fails)\n",
			       dir, service, lines[i].control, lines[i].module);
			return 1;
		}
		if (act > 0 && i + (size_t)act >= at) {
			printf("warning: %s/%s: auth %s %s jumps past pam_nsiso in setcred: sshd's session children "
			       "never finish the join and are killed (every login fails)\n",
			       dir, service, lines[i].control, lines[i].module);
			return 1;
		}
		i += act > 0 ? (size_t)act + 1 : 1;
	}
	return 0;
}
