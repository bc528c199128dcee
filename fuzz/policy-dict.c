/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fuzzer's dictionary, from the policy's own tables (lib/host/policy-values.c): a
 * new key is in it without anyone writing it twice. tools/fuzz.sh runs this
 * and hands the output to libFuzzer's -dict=. */
#include <stdio.h>

#include "policy-internal.h"
#include "policy.h"

int main(void)
{
	static const char *const words[] = { "[global]", "[default]", "[group ", "[user ", "[network ",
					     " = ",	 "%u",	      "%U",	 "%g",	   "%h" };
	for (size_t i = 0; i < n_section_keys; i++)
		printf("\"%s\"\n", section_keys[i].name);
	for (int k = 0; k < KEY_COUNT; k++)
		printf("\"%s\"\n", policy_key_name((enum policy_key)k));
	for (int i = 0; i < POLICY_RLIMITS; i++)
		printf("\"rlimit_%s\"\n", policy_rlimit_names[i].name);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		printf("\"%s\"\n", words[i]);
	return 0;
}
