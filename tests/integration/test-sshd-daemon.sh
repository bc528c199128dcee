#!/bin/bash
# The supervisor is a daemon: it keeps nothing of the login that started
# it (docs/THREATS.md 47), and a live one is never replaced by a login
# (THREATS 42):
#  1. a first login through su from a caller with RLIMIT_FSIZE 100, SIGALRM
#     and SIGTERM ignored and nice 10: the supervisor's limits, signal
#     dispositions, mask and nice are the defaults; the network's state file
#     is whole and another tenant's filtering is unchanged;
#  2. a caller whose hard RLIMIT_FSIZE cannot be raised (no
#     CAP_SYS_RESOURCE): refused with the reason, or, where root can raise
#     it, the supervisor's limit is the default again;
#  3. logins in a loop while a drop-in appears and vanishes in a loop: one
#     supervisor throughout, the same socket, every login in the one
#     container or refused;
#  4. a stopped supervisor with a full backlog: a login is refused within
#     the connect bound instead of hanging; at its fd limit the supervisor
#     refuses one connection at a time and does not spin;
#  5. SIGTERM to the supervisor (what systemd sends when it stops the
#     container's scope: loginctl terminate-user, systemctl stop) ends the
#     container completely: sessions, processes, state files, cgroups.
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null || t_skip_or_fail "nft is needed"
tag=$(( $$ % 10000 ))
br=nstd$tag
a=nsdma$$; b=nsdmb$$; c=nsdmc$$
install -d -m 0755 "$T_DIR/etc/daemon.conf.d"
pol=$(t_policy daemon.conf "[network lab]
bridge = $br
subnet = 10.236.0.0/24
[default]
network = lab")
daemon_cleanup() {
	[ -n "${FLAPPER:-}" ] && kill "$FLAPPER" 2>/dev/null && wait "$FLAPPER" 2>/dev/null
	[ -n "${FORGETTER:-}" ] && kill "$FORGETTER" 2>/dev/null && wait "$FORGETTER" 2>/dev/null
	t_cleanup
	ip link del "$br" 2>/dev/null
	true
}
trap daemon_cleanup EXIT
t_sshd "config=$pol" || exit 1
for u in "$a" "$b" "$c"; do t_user "$u" || exit 1; done
t_pam_extend su "config=$pol" || t_skip_or_fail "/etc/pam.d/su is missing"
sup_of() { "$NSISO_PREFIX/sbin/nsiso" show "$1" 2>/dev/null | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p'; }

# b's container holds network lab up; its rules and state are the reference.
t_ssh_bg "$b" -- 'sleep 60'; hold_b=$T_BG
for i in $(seq 1 100); do [ -n "$(sup_of "$b")" ] && break; sleep 0.1; done
rules_before=$(nft list table inet nsiso)
size_before=$(stat -c %s /run/nsiso/net/lab.state)
expect_match "b's network state exists" "$size_before" '^[0-9]+$'

# ---- 1. a hostile caller's process state ----------------------------------
(trap '' ALRM TERM; exec nice -n 10 prlimit --fsize=100:unlimited -- su - "$a" -c 'sleep 30') >/dev/null 2>&1 &
su_pid=$!
for i in $(seq 1 100); do [ -n "$(sup_of "$a")" ] && break; sleep 0.1; done
sup=$(sup_of "$a")
expect_match "the first login through su made a's container" "$sup" '^[0-9]+$'
expect_eq "the supervisor's RLIMIT_FSIZE is unlimited again" \
	"$(awk '/^Max file size/ {print $4, $5}' "/proc/$sup/limits")" "unlimited unlimited"
expect_eq "the supervisor ignores no signal" "$(awk '/^SigIgn:/ {print $2}' "/proc/$sup/status")" 0000000000000000
# (exactly SIGHUP, SIGINT and SIGTERM: it reads them from a signalfd, as a stop)
expect_eq "the supervisor blocks only the signals it reads as a stop" \
	"$(awk '/^SigBlk:/ {print $2}' "/proc/$sup/status")" 0000000000004003
expect_eq "the supervisor's nice value is 0" "$(awk '{print $19}' "/proc/$sup/stat")" 0
# (no transparent huge pages: under THP "always" its tables cost 2 MiB pages)
expect_eq "the supervisor has THP disabled" "$(awk '/^THP_enabled:/ {print $2}' "/proc/$sup/status")" 0
expect_eq "and so has the container's init" \
	"$(awk '/^THP_enabled:/ {print $2}' "/proc/$(pgrep -P "$sup" -x nsiso-init | head -n1)/status")" 0
expect_eq "the supervisor's umask is 0077" "$(awk '/^Umask:/ {print $2}' "/proc/$sup/status")" 0077
expect_eq "the network's state file is whole" "$(stat -c %s /run/nsiso/net/lab.state)" "$size_before"
expect_eq "b's filtering is unchanged" "$(nft list table inet nsiso)" "$rules_before"
expect_eq "no temporary state file is left" "$(ls /run/nsiso/net | grep -c '\.new\.')" 0
kill "$su_pid" 2>/dev/null; wait "$su_pid" 2>/dev/null

# ---- 2. a hard limit root cannot raise -------------------------------------
for i in $(seq 1 100); do [ -z "$(sup_of "$a")" ] && break; sleep 0.1; done
: > "$T_DIR/syslog.before"; cp "$T_DIR/syslog" "$T_DIR/syslog.before"
out=$(prlimit --fsize=100:100 -- su - "$a" -c 'echo in' 2>&1)
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if (( (0x$bnd >> 24) & 1 )); then
	expect_eq "with CAP_SYS_RESOURCE the login works" "$out" in
else
	expect_match "without CAP_SYS_RESOURCE the login is refused, the person told why in one line" "$(echo "$out" | head -n1)" \
		'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ state\)$'
	expect_eq "and su says it could not open the session" "$(echo "$out" | sed -n 2p)" \
		"su: cannot open session: Cannot make/remove an entry for the specified session"
	sleep 0.2
	expect_match "the log says which limit and why" \
		"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep refused)" \
		"user=$a step=state error=EPERM .*hard RLIMIT_fsize \(100\) is below what the supervisor needs"
	expect_eq "and nothing of a's is left" "$(ls /run/nsiso/ | grep -c "^$(id -u "$a")\.")" 0
fi

# ---- 3. error answers are not "no container" ------------------------------
uid_c=$(id -u "$c")
t_ssh_bg "$c" -- 'sleep 600'; hold_c=$T_BG
for i in $(seq 1 100); do pgrep -u "$c" -x sleep >/dev/null && break; sleep 0.1; done
sock_ino=$(stat -c %i "/run/nsiso/$uid_c.sock")
userns_c=$(readlink "/proc/$(pgrep -u "$c" -x sleep | head -n1)/ns/user")
"$NSISO_KPROBE" flap "$T_DIR/etc/daemon.conf.d/flap.conf" 120 &
FLAPPER=$!
# A drop-in listed, then gone, fails the load; with a kept last valid
# policy that is no error at all, so the kept copy goes too, again and
# again (as after a reboot): some loads then meet no valid policy and the
# supervisor answers with an error.
key=${pol//%/%25}; key=${key//\//%2F}
( while :; do rm -rf "/run/nsiso/good/$key"; sleep 0.005; done ) & FORGETTER=$!
# Logins until a few met an error answer and one joined (the first ones
# may all meet one: which comes first is the race's): the answers must be
# refusals, never a second container.
joined=0; refused=0; other=0; two=0; moved=0; n=0
while [ "$n" -lt 300 ] && { [ "$refused" -lt 3 ] || [ "$joined" -lt 1 ]; }; do
	n=$((n + 1))
	ns=$(t_ssh "$c" -- 'readlink /proc/self/ns/user' 2>/dev/null) && rc=0 || rc=$?
	if [ "$rc" = 0 ] && [ "$ns" = "$userns_c" ]; then joined=$((joined + 1))
	elif [ "$rc" != 0 ] && [[ "$ns" == "nsiso: this session could not be isolated; "* ]]; then refused=$((refused + 1))
	else other=$((other + 1)); fi
	[ "$(stat -c %i "/run/nsiso/$uid_c.sock" 2>/dev/null)" = "$sock_ino" ] || moved=$((moved + 1))
	inits=0
	for p in $(pgrep -x nsiso-init); do grep -Eq "^ *$uid_c +$uid_c +1$" "/proc/$p/uid_map" 2>/dev/null && inits=$((inits + 1)); done
	[ "$inits" = 1 ] || two=$((two + 1))
done
kill "$FLAPPER" "$FORGETTER"; wait "$FLAPPER" "$FORGETTER" 2>/dev/null; FLAPPER=""; FORGETTER=""
expect_eq "every login joined the one container or was refused ($n)" "$((joined + refused)) other=$other" "$n other=0"
expect_match "some logins met an error answer while the drop-in flapped (refused)" "$refused" '^[1-9][0-9]*$'
expect_match "and others joined" "$joined" '^[1-9][0-9]*$'
expect_eq "the container's socket was never replaced" "$moved" 0
expect_eq "c had exactly one container (one init) after every login" "$two" 0
expect_eq "c's first session is still in the same user namespace" \
	"$(readlink "/proc/$(pgrep -u "$c" -x sleep | head -n1)/ns/user")" "$userns_c"
echo "# while the drop-in flapped: $joined joined, $refused refused"

# ---- 4. a supervisor that does not answer, or is at its fd limit ----------
sup_c=$(sup_of "$c")
kill -STOP "$sup_c"
"$NSISO_KPROBE" hold "/run/nsiso/$uid_c.sock" 500 60 > "$T_DIR/held" & holder=$!
for i in $(seq 1 100); do [ -s "$T_DIR/held" ] && break; sleep 0.1; done
expect_match "a stopped supervisor's backlog is full" "$(cat "$T_DIR/held")" '^held=6[45]$'
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
start=$(date +%s)
timeout 60 ssh -i "$T_DIR/id" -p "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes -o LogLevel=ERROR "$c@127.0.0.1" echo in > "$T_DIR/out" 2>&1; rc=$?
took=$(( $(date +%s) - start ))
expect_eq "a login to it is refused, not hung (sshd's refusal 254, not timeout's 124)" "$rc" 254
expect_match "within the connect bound (${took}s)" "$took" '^([0-9]|1[0-9])$'
sleep 0.2
expect_match "the log says the supervisor did not accept in time" \
	"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep refused)" \
	"user=$c step=attach error=EAGAIN .*did not accept in time"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
kill -CONT "$sup_c"
expect_eq "once it runs again, logins join" "$(t_ssh "$c" -- 'readlink /proc/self/ns/user')" "$userns_c"
# At its fd limit: one connection refused at a time, no busy loop.
# (the soft limit at the lowest free fd: every lower one is in use)
free=0; while [ -e "/proc/$sup_c/fd/$free" ]; do free=$((free + 1)); done
prlimit --pid "$sup_c" --nofile="$free:"
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
cpu0=$(awk '{print $14 + $15}' "/proc/$sup_c/stat")
t_ssh "$c" -- echo in > "$T_DIR/out" 2>&1; rc=$?
sleep 2
cpu1=$(awk '{print $14 + $15}' "/proc/$sup_c/stat")
expect_ne "a login while the supervisor is at its fd limit is refused" "$rc" 0
expect_match "the supervisor did not spin (CPU ticks over 2 s: $((cpu1 - cpu0)))" "$((cpu1 - cpu0))" '^[0-9]$'
expect_match "it logged the fd limit" "$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>')" \
	"session refused user=$c uid=$uid_c error=EMFILE"
prlimit --pid "$sup_c" --nofile=8192:
expect_eq "with fds again, logins join" "$(t_ssh "$c" -- 'readlink /proc/self/ns/user')" "$userns_c"

# 5. SIGTERM is a stop.
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
uid_c=$(id -u "$c")
expect_eq "c's container is there before the SIGTERM" "$(ls /run/nsiso | grep -c "^$uid_c\.")" 2
kill -TERM "$sup_c"
for i in $(seq 1 100); do kill -0 "$sup_c" 2>/dev/null || break; sleep 0.05; done
wait "$hold_c" 2>/dev/null; rc=$?
expect_eq "after SIGTERM the supervisor is gone" "$(kill -0 "$sup_c" 2>/dev/null && echo alive || echo gone)" gone
expect_eq "the held session of c ended" "$rc" 255
expect_eq "no process of c is left" "$(pgrep -u "$c" | wc -l)" 0
expect_eq "no state file of c is left in /run/nsiso" "$(ls /run/nsiso | grep -c "^$uid_c\.")" 0
expect_eq "no cgroup of c is left" "$(find /sys/fs/cgroup -maxdepth 3 -path "*/nsiso/$c" | wc -l)" 0
logged=$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>')
expect_match "it logged the stop with the signal and its sender" "$logged" \
	"container stopping user=$c uid=$uid_c signal=TERM sender_pid=$$"
expect_match "and the end of the container as a stop" "$logged" "container ended user=$c uid=$uid_c .* reason=stopped"

kill "$hold_b" 2>/dev/null; wait "$hold_b" 2>/dev/null
t_wait_no_containers 20
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
