/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log_value() and log_escape(): what reaches a log line or nsiso's output
 * from NSS, a client or a file. */
#include "proto.h"
#include "tap.h"

int main(void)
{
	char b[LOG_VALUE_MAX];
	TAP_EQ_STR(log_value(b, sizeof(b), "alice"), "alice", "a plain name stays bare");
	TAP_EQ_STR(log_value(b, sizeof(b), "a.b_c@d:e/f+g-h"), "a.b_c@d:e/f+g-h", "the plain set stays bare");
	TAP_EQ_STR(log_value(b, sizeof(b), "x y=1"), "\"x y=1\"", "a space and = are quoted");
	TAP_EQ_STR(log_value(b, sizeof(b), "a\tb"), "\"a\\tb\"", "a tab is \\t");
	TAP_EQ_STR(log_value(b, sizeof(b), "a\"b\\c"), "\"a\\\"b\\\\c\"", "quote and backslash are escaped");
	TAP_EQ_STR(log_value(b, sizeof(b), "\033[31m"), "\"\\x1b[31m\"", "ESC is \\x1b");
	TAP_EQ_STR(log_value(b, sizeof(b), "caf\xc3\xa9"), "\"caf\\xc3\\xa9\"", "bytes above ASCII are \\xNN");
	TAP_EQ_STR(log_value(b, sizeof(b), ""), "\"\"", "empty is \"\"");
	TAP_EQ_STR(log_value(b, 8, "x y=12345678"), "\"x y=1\"", "cut to fit, still closed");
	TAP_EQ_STR(log_escape(b, sizeof(b), "say \"hi\"\n"), "say \\\"hi\\\"\\n", "escape without quotes");
	return tap_done();
}
