#!/bin/bash
# Through a real sshd: a container lives exactly as long as its sessions,
# also when sshd is killed, the init dies or state is stale; racing first
# logins make one container.
. "$(dirname "$0")/lib.sh"
t_init
t_sshd "config=$(t_policy life.conf "[default]")" || exit 1
u=nsisol$$; r=nsisor$$
t_user "$u" && t_user "$r" || exit 1
uid=$(id -u "$u")
userns_cmd='stat -L -c %i /proc/self/ns/user'

# Host pid of the init of $1's container, or nothing.
init_of() {
	local sup
	sup=$(t_supervisor_of "$1") || return 0
	pgrep -P "$sup" -x nsiso-init
}
t_supervisor_of() {
	local uid
	uid=$(id -u "$1")
	# The supervisor is the process holding the listening socket.
	local ino
	ino=$(ss -xlH 2>/dev/null | awk -v p="/run/nsiso/$uid.sock" '$5 == p {print $6}')
	[ -n "$ino" ] || return 1
	local pid
	for pid in $(pgrep -x nsiso-sup); do
		ls -l /proc/$pid/fd 2>/dev/null | grep -- "socket:\[$ino\]" >/dev/null && { echo "$pid"; return 0; }
	done
	return 1
}
# Processes (host-wide) in user namespace inode $1.
in_userns() {
	local n=0 p
	for p in /proc/[0-9]*; do
		[ "$(stat -L -c %i "$p/ns/user" 2>/dev/null)" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}
wait_until() { # wait_until SECONDS COMMAND...
	local end=$((SECONDS + $1)); shift
	while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.1; done
	return 1
}
gone() { [ ! -e "/run/nsiso/$uid.sock" ] && [ "$(in_userns "$1")" = 0 ]; }
userns_empty() { [ "$(in_userns "$1")" = 0 ]; }
up() { [ -n "$(init_of "$u")" ]; }
# hold SECONDS: a background session of $u that keeps its container up;
# waits until the container is there. Sets HOLD (the ssh pid) and HOLD_INIT.
hold() {
	t_ssh_bg "$u" -- "sleep $1"; HOLD=$T_BG
	wait_until 10 up
	HOLD_INIT=$(init_of "$u")
}

# 1. The container ends after the last logout.
ns1=$(t_ssh "$u" -- "$userns_cmd")
expect_match "a session reports its user namespace" "$ns1" '^[0-9]+$'
if wait_until 5 gone "$ns1"; then ok "the container is gone within 5 s of the last logout"; else not_ok "the container outlived its last session"; fi
sleep 0.2
expect_match "the session's end is logged" "$(grep "pam_nsiso" "$T_DIR/syslog" | grep "session closed user=$u" | head -n1)" "session closed user=$u service=$T_SERVICE pid=[0-9]+"
expect_match "the container's start is logged" "$(grep "nsiso-sup" "$T_DIR/syslog" | grep "user=$u " | head -n1)" \
	"container created user=$u uid=$uid init_pid=[0-9]+ namespaces=\"user mount pid ipc uts net cgroup\" hostname=$u cgroup=nsiso/$u network=none"
expect_match "the container's end is logged with its lifetime" "$(grep "nsiso-sup" "$T_DIR/syslog" | grep "container ended user=$u " | head -n1)" \
	"container ended user=$u uid=$uid init_pid=[0-9]+ lifetime_s=[0-9.]+ sessions=1 reason=last-session-ended"

# 2. First of two sessions logs out: the second lives on, new logins join it.
t_ssh_bg "$u" -- 'sleep 60'; s1=$T_BG
wait_until 10 up
ns_long=$(t_ssh "$u" -- "$userns_cmd")
ns_again=$(t_ssh "$u" -- "$userns_cmd")
expect_eq "a session after another logged out joins the same container" "$ns_again" "$ns_long"
expect_eq "the long session's container is still up" "$([ -n "$(init_of "$u")" ] && echo up)" up

# 3. SIGKILL of sshd's monitor (no close_session): the container still ends.
monitor=$(pgrep -f "^$T_SERVICE: $u \[priv\]" | head -n1)
expect_match "the session's monitor is found" "$monitor" '^[0-9]+$'
kill -9 "$monitor"
if wait_until 5 gone "$ns_long"; then ok "the container ends within 5 s of SIGKILL of sshd's monitor"; else not_ok "the container outlived a SIGKILLed monitor"; fi
wait "$s1" 2>/dev/null
expect_eq "no process of the user is left" "$(pgrep -u "$u" | wc -l)" 0

# 4. SIGKILL of the session child: the monitor closes, the container ends.
t_ssh_bg "$u" -- 'sleep 60'; s2=$T_BG
wait_until 10 up
ns2=$(t_ssh "$u" -- "$userns_cmd")
child=$(pgrep -f "^$T_SERVICE: $u@notty" | head -n1)
kill -9 "$child"
if wait_until 5 gone "$ns2"; then ok "the container ends within 5 s of SIGKILL of the session child"; else not_ok "the container outlived a SIGKILLed session child"; fi
wait "$s2" 2>/dev/null

# 5. The init dies: its sessions end, the next login gets a fresh container.
t_ssh_bg "$u" -- 'sleep 60'; s3=$T_BG
wait_until 10 up
ns3=$(t_ssh "$u" -- "$userns_cmd")
init3=$(init_of "$u")
kill -9 "$init3"
if wait_until 5 gone "$ns3"; then ok "a container whose init died is torn down"; else not_ok "a dead init left its container behind"; fi
sleep 0.2
# (its reason may read last-session-ended: the init finishes dying only once
# its sessions were reaped, and their sshd monitors exit first)
expect_match "the end of a container whose init died is logged" "$(grep "nsiso-sup" "$T_DIR/syslog" | grep "init_pid=$init3 ")" \
	"container ended user=$u uid=$uid init_pid=$init3 lifetime_s=[0-9.]+ sessions=[0-9]+ reason=(init-died|last-session-ended)"
wait "$s3" 2>/dev/null
# Namespace inode numbers are recycled once freed: identify by the init.
hold 5
expect_match "the next login works" "$HOLD_INIT" '^[0-9]+$'
expect_ne "the next login gets a fresh container, never the dead one" "$HOLD_INIT" "$init3"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null

# 6. Stale state: the supervisor is SIGKILLed and leaves its socket file.
wait_until 5 gone "$ns3"
hold 60; s4=$HOLD; init5=$HOLD_INIT
ns5=$(t_ssh "$u" -- "$userns_cmd")
sup=$(t_supervisor_of "$u")
kill -9 "$sup"
wait "$s4" 2>/dev/null
if wait_until 5 userns_empty "$ns5"; then ok "the container dies with its supervisor"; else not_ok "the container outlived its supervisor"; fi
expect_eq "the stale socket file is still there" "$([ -S /run/nsiso/$uid.sock ] && echo stale)" stale
hold 5; init6=$HOLD_INIT
expect_match "a login after a crashed supervisor works" "$init6" '^[0-9]+$'
expect_ne "it gets a new container" "$init6" "$init5"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
ns6=$(stat -L -c %i /proc/$init6/ns/user 2>/dev/null)
wait_until 5 gone "${ns6:-0}"

# 7. Racing first logins of one user give exactly one container.
# Each stays 4 s so that all overlap: sharing then means one container, not
# one after the other.
pids=()
for i in $(seq 1 12); do
	t_ssh "$r" -- "$userns_cmd; sleep 4" > "$T_DIR/race.$i" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "12 racing logins all succeeded" "$(cat "$T_DIR"/race.* | grep -c '^[0-9]')" 12
expect_eq "12 racing logins share one user namespace" "$(sort -u "$T_DIR"/race.* | wc -l)" 1
expect_eq "exactly one supervisor served them" "$(grep -c "user=$r .*container=created" "$T_DIR/syslog")" 1

# 8. Logins during teardown: quick sequential logins each land somewhere live.
okc=0
for i in $(seq 1 15); do
	t_ssh "$r" -- true && okc=$((okc + 1))
done
expect_eq "15 back-to-back logins across teardowns all succeed" "$okc" 15

# 9. A login never waits for a teardown: the first container's pids group
# is pinned by a host process (its removal then takes the teardown's full
# 2 s), and a login right after the last session ended gets a new container
# at once, in the group beside it (nsiso/USER@2), before the old teardown
# has ended.
t_wait_no_containers 10
t_pam_args "config=$(t_policy nolinger.conf "[default]
linger = no")"
pidsh=$(findmnt -n -r -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /(^|,)pids(,|$)/ {print $1; exit}')
[ -z "$pidsh" ] && pidsh=$(findmnt -n -r -t cgroup2 -o TARGET | head -n1)
hold 9; init9=$HOLD_INIT
expect_match "the first container is up" "$init9" '^[0-9]+$'
sleep 300 & pin=$!
echo "$pin" > "$pidsh/nsiso/$u/cgroup.procs"
expect_eq "a host process pins the container's group" "$(grep -c "^$pin$" "$pidsh/nsiso/$u/cgroup.procs")" 1
mark=$(wc -l < "$T_DIR/syslog")
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
for i in $(seq 1 50); do [ -S "/run/nsiso/$uid.sock" ] || break; sleep 0.02; done
out=$(t_ssh "$u" -- 'cat /proc/1/comm'); rc=$?
expect_eq "a login during the teardown succeeds" "$rc/$out" "0/nsiso-init"
log_after() { tail -n +"$((mark + 1))" "$T_DIR/syslog"; }
created=$(log_after | grep -n "container created user=$u " | head -n1 | cut -d: -f1)
left=$(for i in $(seq 1 50); do l=$(log_after | grep -n "container cgroups left user=$u " | head -n1 | cut -d: -f1); [ -n "$l" ] && { echo "$l"; break; }; sleep 0.1; done)
expect_match "the new container is in the group beside the old one" \
	"$(log_after | grep "container created user=$u " | head -n1)" "cgroup=nsiso/$u@2 "
expect_match "the old teardown ran its full time (its group was pinned)" "$left" '^[0-9]+$'
expect_eq "the new container was created before the old teardown ended" "$([ -n "$created" ] && [ -n "$left" ] && [ "$created" -lt "$left" ] && echo before)" before
kill "$pin"; wait "$pin" 2>/dev/null
t_wait_no_containers 10
t_ssh "$u" -- true # (its teardown sweeps the empty group the pin left)
t_wait_no_containers 10
expect_eq "no group of the user is left (a later teardown swept the pinned one)" \
	"$(find "$pidsh/nsiso" -maxdepth 1 -name "$u*" 2>/dev/null | wc -l)" 0

t_wait_no_containers 10
expect_eq "no container of the test users is left" "$(t_user_supervisors)" 0
expect_eq "no nsiso-init is left" "$(pgrep -x nsiso-init | wc -l)" 0
t_finish
