#!/bin/bash
# Back-to-back logins through a real sshd, what scripts, rsync, git,
# Ansible and editors' remote plugins do: LOGINS (default 20) `ssh host
# true` in a row, timed as a whole, for the same sshd and user
#   - without the module (the reference),
#   - with pam_nsiso and the built-in linger (a 2 s grace: a login joins the
#     container the previous one left),
#   - with pam_nsiso and linger = no (every login builds a container and
#     the next one may meet its teardown).
# ROUNDS (default 5) rounds, alternating; the median of each is printed with
# its ratio to the reference. As root, after tools/test.sh built build/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NSISO_BUILDDIR:-build}
export NSISO_PREFIX="$PWD/$build/prefix" NSISO_REAPER="$PWD/$build/tests/reaper" NSISO_LOGCATCH="$PWD/$build/tests/logcatch"
[ -x "$NSISO_REAPER" ] || { echo "build and install first: tools/test.sh" >&2; exit 1; }
. tests/integration/lib.sh
set +e
t_init >/dev/null
grace=$(t_policy grace.conf '[default]
namespaces = pid mount ipc uts net user cgroup')
nolinger=$(t_policy nolinger.conf '[default]
namespaces = pid mount ipc uts net user cgroup
linger = no')
t_sshd "config=$grace" >/dev/null || exit 1
u=nsbl$$
t_user "$u" || exit 1
n=${LOGINS:-20}
plain() {
	cat > "/etc/pam.d/$T_SERVICE" <<PAM
account  required  pam_unix.so
session  required  pam_unix.so
PAM
}
# run: the whole loop's time in ms
run() {
	local t0 t1 i
	t0=$(date +%s%N)
	for i in $(seq 1 "$n"); do t_ssh "$u" -- true || echo "login $i failed" >&2; done
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ref=(); gr=(); nl=()
for r in $(seq 1 "${ROUNDS:-5}"); do
	plain; ref+=("$(run)")
	t_pam_args "config=$grace"; gr+=("$(run)"); sleep 3
	t_pam_args "config=$nolinger"; nl+=("$(run)"); sleep 1
done
mr=$(median "${ref[@]}"); mg=$(median "${gr[@]}"); mn=$(median "${nl[@]}")
echo "$n back-to-back 'ssh host true' through one sshd, median of ${ROUNDS:-5} rounds:"
printf '  %-44s %6d ms (%5.1f ms per login)  1.00x\n' "without the module" "$mr" "$(echo "$mr / $n" | bc -l)"
printf '  %-44s %6d ms (%5.1f ms per login)  %.2fx\n' "pam_nsiso, built-in linger (2 s grace)" "$mg" \
	"$(echo "$mg / $n" | bc -l)" "$(echo "$mg / $mr" | bc -l)"
printf '  %-44s %6d ms (%5.1f ms per login)  %.2fx\n' "pam_nsiso, linger = no" "$mn" \
	"$(echo "$mn / $n" | bc -l)" "$(echo "$mn / $mr" | bc -l)"
printf '  [target] %-46s %9d / %9d %-3s = %5.2fx  (<= 1.05: %s)\n' "$n back-to-back ssh host true / plain sshd" "$mg" "$mr" ms \
	"$(echo "$mg / $mr" | bc -l)" "$(if [ "$(echo "$mg <= 1.05 * $mr" | bc -l)" = 1 ]; then echo met; else echo not met; fi)"
exit 0 # (no assertions here: t_finish would say "none passed")
