/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "idmap.h"
#include "subids.h"
#include "tap.h"

static const char *fmt(const struct idmap *m)
{
	static char buf[4096];
	if (idmap_format(m, buf, sizeof(buf)) < 0)
		return "(overflow)";
	return buf;
}

int main(void)
{
	struct idmap m;
	uint32_t keep1[] = { 1001 };

	/* keep-id with a subordinate range: container root first, the gap
	 * around the kept uid filled in order, 65535 ids of the range used. */
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 100000, 65536), 0, "uid map with subuid builds");
	TAP_EQ_STR(fmt(&m), "0 100000 1001\n1001 1001 1\n1002 101001 64534\n", "keep-id uid map text");
	TAP_EQ_INT(idmap_to_inside(&m, 100000), 0, "subuid start is container root");
	TAP_EQ_INT(idmap_to_inside(&m, 1001), 1001, "user's uid maps to itself");
	TAP_EQ_INT(idmap_to_inside(&m, 0), -1, "host 0 is unmapped");

	/* No subordinate range: only the kept ids. */
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 0, 0), 0, "uid map without subuid builds");
	TAP_EQ_STR(fmt(&m), "1001 1001 1\n", "only the user is mapped without subuid");

	/* gids: primary, supplementary, tty; contiguous ones merge. */
	uint32_t keep2[] = { 1001, 5, 27, 28, 1001 };
	TAP_EQ_INT(idmap_build(&m, keep2, 5, 100000, 65536), 0, "gid map builds");
	TAP_EQ_STR(fmt(&m), "0 100000 5\n5 5 1\n6 100005 21\n27 27 2\n29 100026 972\n1001 1001 1\n1002 100998 64534\n",
		   "gid map keeps tty, merges 27-28, dedups 1001");

	/* A small range fills container ids from 0 until it runs out. */
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 200000, 10), 0, "short range builds");
	TAP_EQ_STR(fmt(&m), "0 200000 10\n1001 1001 1\n", "short range maps 0..9 only");

	/* An id beyond 65535 (directory users) is kept; the range stays in 0..65535. */
	uint32_t keep3[] = { 1000005 };
	TAP_EQ_INT(idmap_build(&m, keep3, 1, 100000, 65536), 0, "high uid builds");
	TAP_EQ_STR(fmt(&m), "0 100000 65536\n1000005 1000005 1\n", "high uid kept, range covers 0..65535");

	/* Refusals. */
	uint32_t zero[] = { 0 };
	TAP_EQ_INT(idmap_build(&m, zero, 1, 100000, 65536), -EPERM, "keeping host 0 is refused");
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 0, 65536), -EPERM, "a range starting at host 0 is refused");
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 1000, 65536), -EINVAL, "a range covering the kept uid is refused");
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 4294967000u, 65536), -EINVAL, "a range that wraps is refused");
	uint32_t minus1[] = { 4294967295u };
	TAP_EQ_INT(idmap_build(&m, minus1, 1, 0, 0), -EINVAL, "(uid_t)-1 is refused");

	/* Many scattered groups: more lines than the kernel takes. */
	uint32_t many[400];
	for (int i = 0; i < 400; i++)
		many[i] = 2000 + 2 * (uint32_t)i;
	TAP_EQ_INT(idmap_build(&m, many, 400, 0, 0), -E2BIG, "more than 340 lines is refused");

	/* subid files. */
	uint32_t s = 0, c = 0;
	const char *file = "alice:100000:65536\nbob:165536:65536\n1003:231072:65536\n";
	TAP_EQ_INT(subid_find(file, "bob", 1002, &s, &c), 1, "bob found by name");
	TAP_EQ_INT(s, 165536, "bob's start");
	TAP_EQ_INT(c, 65536, "bob's count");
	TAP_EQ_INT(subid_find(file, "carol", 1003, &s, &c), 1, "carol found by uid");
	TAP_EQ_INT(s, 231072, "carol's start");
	TAP_EQ_INT(subid_find(file, "dave", 1004, &s, &c), 0, "dave has no range");
	TAP_EQ_INT(subid_find("alice:100000:65536\nbob:100500:10\n", "alice", 1001, &s, &c), -EEXIST,
		   "overlapping ranges are refused");
	TAP_EQ_INT(subid_find("alice:1x0:65536\n", "alice", 1001, &s, &c), -EINVAL, "malformed own line is refused");
	TAP_EQ_INT(subid_find("alice:-5:65536\n", "alice", 1001, &s, &c), -EINVAL, "negative start is refused");
	TAP_EQ_INT(subid_find("zed:broken\nalice:100000:65536\n", "alice", 1001, &s, &c), 1,
		   "a malformed line of another user is skipped");
	TAP_EQ_INT(subid_find("alice:100000:0\n", "alice", 1001, &s, &c), 0, "a zero count is no range");

	/* The one overlap check of nsiso's registry (THREATS 64). */
	TAP_OK(subid_overlaps(file, 165536 + 65535, 65536), "a block meeting bob's last id overlaps");
	TAP_OK(!subid_overlaps(file, 296608, 65536), "a block right after the last line does not");
	TAP_OK(subid_overlaps(file, 99999, 2), "a block ending at alice's first id overlaps");
	TAP_OK(!subid_overlaps(NULL, 0, 65536), "no file, no overlap");
	TAP_OK(subid_overlaps("# comment\nzed:broken\nx:2000224256:65536", 2000224256, 65536),
	       "comments and malformed lines do not hide a later one");
	TAP_OK(!subid_overlaps("x:2000224256:0\n", 2000224256, 65536), "a zero count covers nothing");

	/* Nested id maps (nested_userns = yes): the container ids a tenant may
	 * give a user namespace of its own are those of its subordinate range,
	 * never container root, never a kept id. */
	struct id_range nest[IDMAP_LINES_MAX];
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 100000, 65536), 0, "uid map for nesting builds");
	size_t nn = idmap_nested(&m, 100000, 65536, nest, IDMAP_LINES_MAX);
	TAP_EQ_INT((int)nn, 2, "two nested uid ranges: around the kept uid");
	TAP_EQ_INT((int)nest[0].inside, 1, "the first starts after container root");
	TAP_EQ_INT((int)nest[0].count, 1000, "and ends before the user's uid");
	TAP_EQ_INT((int)nest[1].inside, 1002, "the second starts after it");
	TAP_EQ_INT((int)nest[1].count, 64534, "and runs to 65535");
	TAP_OK(idmap_nested_permits(nest, nn, 1001, 1001, 1), "the user's own uid alone is permitted");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 1001, 2), "the own uid and the next are not one range");
	TAP_OK(idmap_nested_permits(nest, nn, 1001, 1, 1000), "1..1000 is permitted");
	TAP_OK(idmap_nested_permits(nest, nn, 1001, 1002, 64534), "1002..65535 is permitted");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 0, 1), "container root is not");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 1, 1001), "a range across the user's uid is not");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 65535, 2), "a range past 65535 is not");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 5, 0), "an empty range is not");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 4294967295u, 1), "the top id is not");
	TAP_EQ_INT(idmap_build(&m, keep2, 5, 100000, 65536), 0, "gid map for nesting builds");
	nn = idmap_nested(&m, 100000, 65536, nest, IDMAP_LINES_MAX);
	TAP_EQ_INT((int)nn, 4, "nested gid ranges skip root and every kept group");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 5, 1), "tty (kept, the host's) is not permitted");
	TAP_OK(!idmap_nested_permits(nest, nn, 1001, 27, 1), "a kept supplementary group is not");
	TAP_OK(idmap_nested_permits(nest, nn, 1001, 6, 21), "6..26 is permitted");
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 0, 0), 0, "a map without subordinate ids builds");
	TAP_EQ_INT((int)idmap_nested(&m, 0, 0, nest, IDMAP_LINES_MAX), 0, "and permits nothing nested");
	TAP_EQ_INT(idmap_build(&m, keep1, 1, 100000, 1), 0, "a range of container root alone builds");
	TAP_EQ_INT((int)idmap_nested(&m, 100000, 1, nest, IDMAP_LINES_MAX), 0, "and permits nothing nested");

	/* Registry names (THREATS 64): a blank or control character would
	 * split or fold the line. */
	TAP_OK(subids_name_ok("alice"), "a plain name may be recorded");
	TAP_OK(subids_name_ok("-rf"), "so may a name that looks like an option");
	TAP_OK(!subids_name_ok("a\vb"), "\\v refused");
	TAP_OK(!subids_name_ok("a\rb"), "\\r refused");
	TAP_OK(!subids_name_ok("a b"), "a space refused");
	TAP_OK(!subids_name_ok("a\x7f"), "DEL refused");
	TAP_OK(!subids_name_ok(""), "the empty name refused");
	return tap_done();
}
