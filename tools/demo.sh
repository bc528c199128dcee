#!/bin/bash
# The demo: install what is missing, build, start a throwaway sshd on
# 127.0.0.1 with pam_nsiso, log two users in with keys, and print what each
# sees beside the host's view. Removes every user, file, process and mount
# it made when it ends, also on failure. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh
build=${NSISO_BUILDDIR:-build}
prefix="$PWD/$build/prefix"

export NSISO_PREFIX="$prefix" NSISO_LOGCATCH="$PWD/$build/tests/logcatch" NSISO_REAPER="$PWD/$build/tests/reaper"
set +e
. tests/integration/lib.sh
t_init
policy=$(t_policy demo.conf '[network demo]
bridge = nsdemo0
subnet = 10.240.0.0/24
nat = no
[default]
namespaces = pid mount ipc uts net user cgroup
hostname = box-%u
network = demo
pids_max = 256
memory_max = 512M')
t_sshd "config=$policy" || exit 1
alice=nsdemo-alice; bob=nsdemo-bob
t_user "$alice" && t_user "$bob" || exit 1

view='echo "== id"; id | cut -c1-60
echo "== hostname"; hostname
echo "== ps -e"; ps -e -o pid=,comm= | head -n 8
echo "== ip -4 -br addr"; ip -4 -br addr | tr -s " " | cut -c1-40 | head -n 5
echo "== uid_map"; cat /proc/self/uid_map | tr -s " " | head -n 4
echo "== caps"; grep -E "^Cap(Eff|Bnd)" /proc/self/status
echo "== /tmp"; ls /tmp | head -n 3; echo "(end)"
echo "== namespaces"; for t in user mnt pid ipc uts net cgroup; do printf "%-6s %s\n" $t $(stat -L -c %i /proc/self/ns/$t); done'

# Keep one session of each open so that both containers live side by side.
t_ssh_bg "$alice" -- 'echo alice-was-here > /tmp/alice.txt; sleep 30'; ha=$T_BG
t_ssh_bg "$bob" -- 'sleep 30'; hb=$T_BG
sleep 1
bash -c "$view" > "$T_DIR/view.host" 2>&1
t_ssh "$alice" -- "$view" > "$T_DIR/view.alice" 2>&1
t_ssh "$bob" -- "$view" > "$T_DIR/view.bob" 2>&1

echo
echo "nsiso demo: sshd on 127.0.0.1:$T_PORT, PAM service $T_SERVICE, session and auth required pam_nsiso.so"
echo
printf '%-44s | %-44s | %-44s\n' "HOST (root)" "ssh $alice" "ssh $bob"
printf '%s\n' "$(printf '%.0s-' $(seq 1 136))"
col() { tr '\t' ' ' < "$1" | cut -c1-44; }
paste -d'\t' <(col "$T_DIR/view.host") <(col "$T_DIR/view.alice") <(col "$T_DIR/view.bob") |
	awk -F'\t' '{ printf "%-44s | %-44s | %-44s\n", $1, $2, $3 }'
echo
echo "# nsiso list"
"$prefix/sbin/nsiso" list
echo
echo "# nsiso show $alice (part)"
"$prefix/sbin/nsiso" show "$alice" | grep -E '^(user|init|network|cgroup|limits|usage|sessions)'
echo
bob_ip=$(grep -A3 '== ip -4' "$T_DIR/view.bob" | awk '/eth0/{print $3}' | cut -d/ -f1)
t_ssh_bg "$bob" -- 'nc -l 7777 > /dev/null'; hl=$T_BG
sleep 0.5
if t_ssh "$alice" -- "nc -z -w2 $bob_ip 7777"; then
	echo "alice reaches bob's container on network demo ($bob_ip:7777): yes"
else
	echo "alice reaches bob's container on network demo ($bob_ip:7777): no"
fi
kill "$hl" 2>/dev/null; wait "$hl" 2>/dev/null
echo
echo "Log lines of pam_nsiso:"
grep pam_nsiso "$T_DIR/syslog" | sed 's/^<[0-9]*>//' | cut -c1-200
[ -n "${NSISO_DEMO_DEBUG:-}" ] && cat "$T_DIR/sshd.log"
kill "$ha" "$hb" 2>/dev/null
wait "$ha" "$hb" 2>/dev/null
t_wait_no_containers 10 && echo "Both containers ended with their last session." ||
	echo "warning: a container was still up at the end"
echo "Cleaning up: users, PAM service, sshd and files are removed."
