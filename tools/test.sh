#!/bin/bash
# Install what is missing, build, install into build/prefix, and run the
# whole test suite (unit, PAM stack, real sshd, the Debian 12 and 13 systemd
# guests). Run as root. Arguments go to meson test and run only those tests.
# NSISO_MUST_WORK=1 (set by .ci/run) turns every skipped test into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh -Dwerror=true
build=${NSISO_BUILDDIR:-build}
rc=0
logs=("$build/meson-logs/testlog.txt")
if [ $# -gt 0 ]; then
	meson test -C "$build" --print-errorlogs --num-processes 1 "$@" || rc=$?
else
	# sshd-races first, before the guests boot: its 1,000 logins hold both
	# cores for 3 to 5 minutes, and a guest beside it at nice 19 got
	# about 1.5% of a core, so that a login there ran past the helper's
	# 20 s deadline and was refused at step helper (a full run on this
	# machine kind, the Debian 12 guest). Beside it only what nothing
	# bounds in time: the guests' images (from Debian's archive, when not
	# cached) and each release's package from this tree (tools/package.sh;
	# a guest test takes it from NSISO_GUEST_DEBS and builds its own when
	# there is none). The guest tests start when those and sshd-races are
	# done.
	# The two systemd guests (qemu under TCG: most of the suite's time, and
	# CPU only) then run beside the rest, both at once and at the lowest
	# priority, so that the timing of the sshd tests is not theirs to take.
	rm -f "$build/races.done"
	rm -rf "$build/guest-deb"
	export NSISO_GUEST_DEBS
	NSISO_GUEST_DEBS=$(realpath "$build")/guest-deb
	(
		for suite in bookworm trixie; do
			nice -n 19 tests/guest/image.sh "$suite" > "$build/image-$suite.out" 2>&1 &
			nice -n 19 tools/package.sh "$NSISO_GUEST_DEBS/$suite" "$suite" > "$build/package-$suite.out" 2>&1 &
		done
		# (an image or package that failed is tried again by its guest
		# test, which says why)
		wait || true
		# (and not at all once this script is gone)
		until [ -e "$build/races.done" ]; do kill -0 $$ 2>/dev/null || exit 1; sleep 2; done
		exec nice -n 19 meson test -C "$build" --no-rebuild --print-errorlogs --suite guest --num-processes 2 \
			--logbase guestlog
	) > "$build/guest-run.out" 2>&1 &
	guests=$!
	meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --logbase raceslog --suite races || rc=$?
	: > "$build/races.done"
	logs+=("$build/meson-logs/raceslog.txt")
	meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --no-suite guest --no-suite races || rc=$?
fi
# The fuzzers (policy parser, netlink replies), each bounded in time (tools/fuzz.sh).
fuzz=0
tools/fuzz.sh || { fuzz=1; rc=1; }
# The code as .clang-format says (a diff fails the run).
format=0
tools/format.sh --check || { format=1; rc=1; }
# Every source file a document or comment names exists, and the policy's
# files call each other in one direction only.
docs=0
tools/doccheck.sh || { docs=1; rc=1; }
tools/nocycle.sh "$build" || { docs=1; rc=1; }
guestlogs=()
if [ -n "${guests:-}" ]; then
	grc=0
	wait "$guests" || grc=1
	cat "$build/guest-run.out"
	guestlogs=("$build/meson-logs/guestlog.json")
	# A guest that hung under the emulator (it stopped answering ssh while
	# qemu ran, or never booted, or never came back from its reboot: the
	# harness bails out with those words and the guest's console) is not a
	# check that failed: that test runs once more, on a new boot, now with
	# the machine to itself. Its verdict is the second run's; the first
	# run's log stays in guestlog.txt. A check that failed is never run
	# again.
	if [ "$grc" != 0 ]; then
		mapfile -t again < <(tools/guestlog.py lost "$build/meson-logs/guestlog.json")
		if [ "${#again[@]}" -gt 0 ]; then
			echo "# the guest of ${again[*]} hung (its console is in guestlog.txt): running it once more"
			grc=0
			meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 \
				--logbase guestlog-again "${again[@]}" || grc=1
			guestlogs+=("$build/meson-logs/guestlog-again.json")
		fi
	fi
	[ "$grc" = 0 ] || rc=1
fi
# One plain closing line for whoever reads the output: suites, then assertions.
passed=$(cat "${logs[@]}" 2>/dev/null | grep -cE '^ok ' || true)
# (a test that bailed out counts as one failure)
failed=$(cat "${logs[@]}" 2>/dev/null | grep -cE '^(not ok |Bail out!)' || true)
# (of a guest test, its last run)
if [ "${#guestlogs[@]}" -gt 0 ]; then
	read -r gpassed gfailed < <(tools/guestlog.py count "${guestlogs[@]}") || { gpassed=0; gfailed=1; }
	passed=$((passed + gpassed))
	failed=$((failed + gfailed))
fi
[ "$fuzz" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
[ "$format" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
[ "$docs" = 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "assertions: $passed passed, $failed failed"
exit "$rc"
