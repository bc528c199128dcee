#!/bin/bash
# Build the libFuzzer target of the policy parser with clang and run it for a
# bounded time (FUZZ_SECONDS, default 60) from the seed corpus. Exit 0 when
# it ran clean. Called by tools/test.sh; run as root (it installs clang).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
build=${NSISO_FUZZDIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" fuzz/fuzz-policy fuzz/policy-dict >/dev/null
corpus=$(mktemp -d /run/nsiso-fuzz.XXXXXX)
trap 'rm -rf "$corpus" "$corpus.dict"' EXIT
cp fuzz/corpus/* "$corpus/"
"$build/fuzz/policy-dict" > "$corpus.dict"
status=0
"$build/fuzz/fuzz-policy" -dict="$corpus.dict" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 "$corpus" > "$corpus.log" 2>&1 || status=$?
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|ERROR|SUMMARY|^Done|cov:.*ft:" "$corpus.log" | tail -n 6
rm -f "$corpus.log"
if [ "$status" -ne 0 ]; then
	echo "fuzz-policy: FAILED (exit $status)"
	exit 1
fi
echo "fuzz-policy: clean for ${FUZZ_SECONDS:-60} s"
