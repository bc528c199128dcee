#!/bin/bash
# The long fuzz run, outside CI (tools/test.sh runs each fuzzer for a minute
# or less): each libFuzzer target for RUNS executions (default 10,000,000,
# about 12 min for the policy fuzzer and under a minute for the netlink reader on this
# machine kind), or with --seconds N for N seconds each. As root (it installs
# clang). A crash leaves its input under the build directory's crash-*
# files and fails the run.
#   fuzz/run-long.sh [--seconds N | RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --seconds ]; then
	export FUZZ_SECONDS=$2 FUZZ_NETLINK_SECONDS=$2
else
	export FUZZ_RUNS=${1:-10000000}
fi
exec tools/fuzz.sh
