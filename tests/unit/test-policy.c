/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nstable.h"
#include "policy.h"
#include "tap.h"

static struct policy pol;
static char err[POLICY_ERROR_MAX];

static int load_text(const char *text)
{
	int fd = memfd_create("policy", MFD_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -EIO;
	err[0] = '\0';
	int r = policy_load_fd(&pol, fd, "test.conf", err, sizeof(err));
	close(fd);
	return r;
}

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

int main(void)
{
	struct policy_settings s;
	char words[128];

	/* Built-in defaults. */
	policy_init_builtin(&pol);
	TAP_EQ_INT(policy_resolve(&pol, "alice", &s, err, sizeof(err)), 0, "builtin resolves");
	TAP_EQ_INT(s.ns_mask, NS_ALL, "builtin isolates every namespace");
	TAP_EQ_STR(s.hostname, "alice", "builtin hostname is the user name");

	/* An absent file means the built-in defaults. */
	TAP_EQ_INT(policy_load(&pol, "/nonexistent/nsiso.conf", err, sizeof(err)), 0, "absent file loads");
	TAP_OK(pol.builtin, "absent file is flagged builtin");

	/* A subset of namespaces disables the others. */
	TAP_EQ_INT(load_text("[default]\nnamespaces = mount pid uts\nhostname = lab-%u\n"), 0, "subset parses");
	TAP_EQ_INT(policy_resolve(&pol, "bob", &s, err, sizeof(err)), 0, "subset resolves");
	TAP_EQ_STR(ns_mask_to_words(s.ns_mask, words, sizeof(words)), "mount pid uts", "subset mask");
	TAP_EQ_STR(s.hostname, "lab-bob", "hostname template expands %%u");

	/* Commas, tabs, case (iniparser lower-cases keys and sections). */
	TAP_EQ_INT(load_text("[DEFAULT]\nNamespaces = user,\tmount ,pid\n"), 0, "commas, tabs and case parse");
	TAP_EQ_INT(policy_resolve(&pol, "bob", &s, err, sizeof(err)), 0, "resolves");
	TAP_EQ_INT(s.ns_mask, NS_BIT(NS_USER) | NS_BIT(NS_MNT) | NS_BIT(NS_PID), "mask from commas");
	TAP_EQ_STR(s.hostname, "bob", "hostname defaults to %%u when unset");

	TAP_EQ_INT(load_text("[default]\nhostname = 100%%-%u\n"), -EINVAL, "a template yielding '%%' is rejected");

	/* Every error names file, section and key. */
	TAP_EQ_INT(load_text("[default]\nnamespaces = pid mount bogus\n"), -EINVAL, "unknown namespace rejected");
	TAP_OK(contains(err, "test.conf") && contains(err, "[default]") && contains(err, "namespaces") &&
		       contains(err, "bogus"),
	       "error names file, section, key, value: %s", err);
	TAP_EQ_INT(load_text("[default]\nnamespaces = pid\n"), -EINVAL, "pid without mount rejected");
	TAP_EQ_INT(load_text("[default]\nnamespaces = pid pid mount\n"), -EINVAL, "duplicate namespace rejected");
	TAP_EQ_INT(load_text("[default]\nnamespaces =\n"), -EINVAL, "empty namespace list rejected");
	TAP_EQ_INT(load_text("[default]\ncolour = blue\n"), -EINVAL, "unknown key rejected");
	TAP_OK(contains(err, "colour"), "error names the unknown key: %s", err);
	TAP_EQ_INT(load_text("[nonsense]\nhostname = x\n"), -EINVAL, "unknown section rejected");
	TAP_OK(contains(err, "nonsense"), "error names the unknown section: %s", err);
	TAP_EQ_INT(load_text("hostname = x\n[default]\n"), -EINVAL, "key outside a section rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = a b\n"), -EINVAL, "space in hostname rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = %x\n"), -EINVAL, "unknown %% escape rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = \"a;rm -rf /\"\n"), -EINVAL, "shell metacharacters rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = $(id)\n"), -EINVAL, "command substitution rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = ../x\n"), -EINVAL, "a slash is rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = "
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
		   -EINVAL, "hostname longer than 64 rejected");
	TAP_EQ_INT(load_text("[default]\nhostname = %u\n"), 0, "plain %%u parses");
	TAP_EQ_INT(policy_resolve(&pol, "a-very-long-user-name-that-makes-the-hostname-longer-than-the-kernel-allows",
				  &s, err, sizeof(err)),
		   -EINVAL, "expanded hostname too long for this user is refused at resolve");
	TAP_EQ_INT(load_text("[default\nhostname = x\n"), -EINVAL, "syntax error rejected");
	TAP_OK(contains(err, "test.conf"), "syntax error names the file: %s", err);

	/* Garbage (THREATS 29). */
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char line[3100];
	snprintf(line, sizeof(line), "[default]\nhostname = %s\n", big);
	TAP_EQ_INT(load_text(line), -EINVAL, "a megabyte-ish line is rejected");
	TAP_EQ_INT(load_text("\xef\xbb\xbf[default]\nhostname = x\n"), -EINVAL, "a BOM is rejected, not skipped");
	TAP_EQ_INT(load_text("[default]\r\nhostname = lab\r\n"), 0, "CRLF line ends parse");
	TAP_EQ_INT(policy_resolve(&pol, "u", &s, err, sizeof(err)), 0, "CRLF resolves");
	TAP_EQ_STR(s.hostname, "lab", "CRLF does not leak into values");
	return tap_done();
}
