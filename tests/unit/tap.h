/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* A few lines of TAP for the unit tests: meson reads the plan and each line. */
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* One line per test: a description that quotes a multi-line text (every
 * error of a policy load, /proc/self/cgroup) has its newlines shown as " | ". */
static inline void tap_line(int ok, const char *text)
{
	printf("%s %d - ", ok ? "ok" : "not ok", tap_n);
	for (const char *c = text; *c; c++)
		if (*c == '\n')
			fputs(" | ", stdout);
		else
			putchar(*c);
	putchar('\n');
}

#define TAP_OK(cond, ...)                                                                                              \
	do {                                                                                                           \
		char tap_text_[4096];                                                                                  \
		tap_n++;                                                                                               \
		if (!(cond))                                                                                           \
			tap_failed++;                                                                                  \
		if (snprintf(tap_text_, sizeof(tap_text_), __VA_ARGS__) >= (int)sizeof(tap_text_))                     \
			strcpy(tap_text_ + sizeof(tap_text_) - 4, "...");                                              \
		tap_line(!!(cond), tap_text_);                                                                         \
	} while (0)

#define TAP_EQ_INT(got, want, ...)                                                                                     \
	do {                                                                                                           \
		long long g_ = (long long)(got), w_ = (long long)(want);                                               \
		TAP_OK(g_ == w_, __VA_ARGS__);                                                                         \
		if (g_ != w_)                                                                                          \
			printf("#   got %lld, want %lld\n", g_, w_);                                                   \
	} while (0)

#define TAP_EQ_STR(got, want, ...)                                                                                     \
	do {                                                                                                           \
		const char *g_ = (got), *w_ = (want);                                                                  \
		int same_ = g_ && w_ && strcmp(g_, w_) == 0;                                                           \
		TAP_OK(same_, __VA_ARGS__);                                                                            \
		if (!same_)                                                                                            \
			printf("#   got '%s'\n#   want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");               \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
