/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "helper.h"

static double mono_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void timing_start(struct timing *t)
{
	t->t0 = t->last = mono_ms();
	t->len = 0;
	t->text[0] = '\0';
}

void timing_mark(struct timing *t, const char *step)
{
	double now = mono_ms();
	int k = snprintf(t->text + t->len, sizeof(t->text) - t->len, " %s=%.3f", step, now - t->last);
	if (k > 0 && (size_t)k < sizeof(t->text) - t->len)
		t->len += (size_t)k;
	t->last = now;
}

void timing_log(const struct timing *t, const char *who, const char *user)
{
	char uv[LOG_VALUE_MAX];
	/* ("for USER", not "user=": the decision lines are the ones to find by user=) */
	syslog(LOG_DEBUG, "timing %s for %s t0=%.3f%s total=%.3f", who, log_value(uv, sizeof(uv), user), t->t0, t->text,
	       t->last - t->t0);
}
