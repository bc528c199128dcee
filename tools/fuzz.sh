#!/bin/bash
# Build the libFuzzer targets with clang and run each for a bounded time from
# its seed corpus: the policy parser (FUZZ_SECONDS, default 30) and the
# netlink reply reader (FUZZ_NETLINK_SECONDS, default 10). FUZZ_RUNS=N runs
# each for N executions instead (fuzz/run-long.sh). Exit 0 when both ran
# clean. Called by tools/test.sh; run as root (it installs clang).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
build=${NSISO_FUZZDIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" fuzz/fuzz-policy fuzz/policy-dict fuzz/fuzz-netlink >/dev/null
work=$(mktemp -d /run/nsiso-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/fuzz/policy-dict" > "$work/policy.dict"

# run NAME SECONDS SEED-DIR [libFuzzer options]
status=0
run() {
	local name=$1 seconds=$2 seeds=$3 rc=0 limit
	shift 3
	mkdir "$work/$name"
	cp "$seeds"/* "$work/$name/"
	if [ -n "${FUZZ_RUNS:-}" ]; then limit=-runs=$FUZZ_RUNS; else limit=-max_total_time=$seconds; fi
	"$build/fuzz/$name" "$limit" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" "$work/$name" \
		> "$work/$name.log" 2>&1 || rc=$?
	grep -E "^stat::(number_of_executed_units|peak_rss_mb)|ERROR|SUMMARY|^Done|cov:.*ft:" "$work/$name.log" | tail -n 6
	if [ "$rc" -ne 0 ]; then
		echo "$name: FAILED (exit $rc)"
		status=1
	else
		echo "$name: clean (${FUZZ_RUNS:+$FUZZ_RUNS runs}${FUZZ_RUNS:-$seconds s})"
	fi
}
run fuzz-policy "${FUZZ_SECONDS:-30}" fuzz/corpus -dict="$work/policy.dict" -max_len=8192
run fuzz-netlink "${FUZZ_NETLINK_SECONDS:-10}" fuzz/corpus-netlink -max_len=4096
exit "$status"
