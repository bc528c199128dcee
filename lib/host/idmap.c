/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int add_range(struct idmap *m, uint32_t inside, uint32_t outside, uint32_t count)
{
	if (count == 0)
		return 0;
	if (m->n >= IDMAP_LINES_MAX)
		return -E2BIG;
	m->r[m->n++] = (struct id_range){ inside, outside, count };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct id_range *x = a, *y = b;
	return x->inside < y->inside ? -1 : x->inside > y->inside;
}

int idmap_build(struct idmap *m, const uint32_t *keep_in, size_t n_keep, uint32_t sub_start, uint32_t sub_count)
{
	uint32_t keep[IDMAP_LINES_MAX * 4];
	size_t n = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if (n_keep > sizeof(keep) / sizeof(keep[0]))
		return -E2BIG;
	for (size_t i = 0; i < n_keep; i++) {
		if (keep_in[i] == 0)
			return -EPERM;
		if (keep_in[i] == UINT32_MAX) /* (uid_t)-1 is never an id */
			return -EINVAL;
		keep[n++] = keep_in[i];
	}
	qsort(keep, n, sizeof(keep[0]), cmp_u32);

	/* Kept ids, merged into runs. */
	size_t runs_start = m->n;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && keep[j] <= keep[j - 1] + 1)
			j++;
		uint32_t first = keep[i], last = keep[j - 1];
		r = add_range(m, first, first, last - first + 1);
		if (r < 0)
			return r;
		i = j;
	}
	size_t runs_end = m->n;

	if (sub_count > 0) {
		if (sub_start == 0)
			return -EPERM;
		if ((uint64_t)sub_start + sub_count > UINT32_MAX)
			return -EINVAL;
		for (size_t i = runs_start; i < runs_end; i++) {
			uint64_t a = m->r[i].outside, b = a + m->r[i].count;
			if (a < (uint64_t)sub_start + sub_count && sub_start < b)
				return -EINVAL;
		}
		/* Fill the gaps of 0..65535 between kept runs, in order. */
		uint32_t next_out = sub_start, left = sub_count, cursor = 0;
		for (size_t i = runs_start; i <= runs_end && left > 0 && cursor < IDMAP_SPAN; i++) {
			uint32_t gap_end = i < runs_end ? m->r[i].inside : IDMAP_SPAN;
			if (gap_end > IDMAP_SPAN)
				gap_end = IDMAP_SPAN;
			if (gap_end > cursor) {
				uint32_t len = gap_end - cursor;
				if (len > left)
					len = left;
				r = add_range(m, cursor, next_out, len);
				if (r < 0)
					return r;
				next_out += len;
				left -= len;
			}
			if (i < runs_end && m->r[i].inside + m->r[i].count > cursor)
				cursor = m->r[i].inside + m->r[i].count;
		}
	}
	qsort(m->r, m->n, sizeof(m->r[0]), cmp_range);
	return 0;
}

int idmap_format(const struct idmap *m, char *buf, size_t size)
{
	size_t used = 0;
	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		int w = snprintf(buf + used, size - used, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", m->r[i].inside,
				 m->r[i].outside, m->r[i].count);
		if (w < 0 || (size_t)w >= size - used)
			return -ENOSPC;
		used += (size_t)w;
	}
	return (int)used;
}

int64_t idmap_to_inside(const struct idmap *m, uint32_t outside)
{
	for (size_t i = 0; i < m->n; i++)
		if (outside >= m->r[i].outside && outside - m->r[i].outside < m->r[i].count)
			return (int64_t)m->r[i].inside + (outside - m->r[i].outside);
	return -1;
}

size_t idmap_nested(const struct idmap *m, uint32_t sub_start, uint32_t sub_count, struct id_range *out, size_t max)
{
	uint64_t sub_end = (uint64_t)sub_start + sub_count;
	size_t n = 0;
	for (size_t i = 0; i < m->n && n < max; i++) {
		struct id_range r = m->r[i];
		if (sub_count == 0 || r.outside < sub_start || (uint64_t)r.outside + r.count > sub_end)
			continue;    /* a kept id (or run), mapped to itself on the host */
		if (r.inside == 0) { /* container root stays out */
			r.inside++;
			r.outside++;
			r.count--;
		}
		if (r.count > 0)
			out[n++] = (struct id_range){ r.inside, r.inside, r.count };
	}
	return n;
}

bool idmap_nested_permits(const struct id_range *r, size_t n, uint32_t own, uint32_t lower, uint32_t count)
{
	if (count == 0)
		return false;
	if (lower == own && count == 1)
		return true;
	uint64_t at = lower, end = (uint64_t)lower + count;
	while (at < end) {
		size_t i = 0;
		while (i < n && !(at >= r[i].inside && at < (uint64_t)r[i].inside + r[i].count))
			i++;
		if (i == n)
			return false;
		at = (uint64_t)r[i].inside + r[i].count;
	}
	return true;
}

/* Parse "a:b:c" where a is a name or number; false on malformed. */
static bool parse_subid_line(char *line, char **who, uint32_t *start, uint32_t *count)
{
	char *c1 = strchr(line, ':');
	if (!c1)
		return false;
	char *c2 = strchr(c1 + 1, ':');
	if (!c2)
		return false;
	*c1 = *c2 = '\0';
	*who = line;
	char *end;
	errno = 0;
	unsigned long long s = strtoull(c1 + 1, &end, 10);
	if (errno || end == c1 + 1 || *end || s > UINT32_MAX || c1[1] == '-')
		return false;
	errno = 0;
	unsigned long long n = strtoull(c2 + 1, &end, 10);
	if (errno || end == c2 + 1 || *end || n > UINT32_MAX || c2[1] == '-')
		return false;
	*start = (uint32_t)s;
	*count = (uint32_t)n;
	return true;
}

bool subid_overlaps(const char *text, uint64_t start, uint64_t count)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], *who;
		uint32_t s, c;
		/* A line too long to be a subid line, or malformed, is skipped
		 * like shadow-utils does; none can hide a range. */
		if (len < sizeof(line) && len > 0 && p[0] != '#') {
			memcpy(line, p, len);
			line[len] = '\0';
			if (parse_subid_line(line, &who, &s, &c) && c > 0 && start < (uint64_t)s + c &&
			    s < start + count)
				return true;
		}
		p += len + (nl ? 1 : 0);
	}
	return false;
}

int subid_find(const char *text, const char *name, uint32_t id, uint32_t *start_out, uint32_t *count_out)
{
	char idstr[16];
	snprintf(idstr, sizeof(idstr), "%" PRIu32, id);
	bool found = false;
	uint32_t start = 0, count = 0;

	/* Two passes: find the user's line, then look for overlaps. */
	for (int pass = 0; pass < 2; pass++) {
		const char *p = text;
		bool seen_own = false;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			char line[512];
			if (len < sizeof(line) && len > 0 && p[0] != '#') {
				memcpy(line, p, len);
				line[len] = '\0';
				char *who;
				uint32_t s, c;
				bool ok = parse_subid_line(line, &who, &s, &c);
				bool mine = ok ? (strcmp(who, name) == 0 || strcmp(who, idstr) == 0) : false;
				if (pass == 0 && !ok) {
					/* A malformed line naming this user is an error; others
					 * are skipped like shadow-utils does. */
					if (strncmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':')
						return -EINVAL;
				}
				if (pass == 0 && mine && !found) {
					found = true;
					start = s;
					count = c;
				} else if (pass == 1 && ok && c > 0) {
					if (mine && !seen_own && s == start && c == count) {
						seen_own = true;
					} else {
						uint64_t a = s, b = (uint64_t)s + c;
						if (a < (uint64_t)start + count && start < b)
							return -EEXIST;
					}
				}
			}
			if (!nl)
				break;
			p = nl + 1;
		}
		if (pass == 0 && (!found || count == 0))
			return 0;
	}
	*start_out = start;
	*count_out = count;
	return 1;
}
