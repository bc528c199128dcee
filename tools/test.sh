#!/bin/bash
# Install what is missing, build, install into build/prefix, and run the
# whole test suite (unit, PAM stack, real sshd). Run as root.
# NSISO_MUST_WORK=1 (set by .ci/run) turns every skipped test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh -Dwerror=true
build=${NSISO_BUILDDIR:-build}
rc=0
meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || rc=$?
# The policy parser's fuzzer, bounded in time (FUZZ_SECONDS, default 60).
fuzz=0
tools/fuzz.sh || { fuzz=1; rc=1; }
# The code as .clang-format says (a diff fails the run).
format=0
tools/format.sh --check || { format=1; rc=1; }
# Every source file a document or comment names exists.
docs=0
tools/doccheck.sh || { docs=1; rc=1; }
# One plain closing line for whoever reads the output: suites, then assertions.
log="$build/meson-logs/testlog.txt"
passed=$(grep -cE '^ok ' "$log" || true)
failed=$(grep -cE '^not ok ' "$log" || true)
[ "$fuzz" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
[ "$format" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
[ "$docs" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "assertions: $passed passed, $failed failed"
exit "$rc"
