#!/bin/bash
# The admin's view of real containers made by real sshd logins:
# nsiso list, show, enter and stop, and the log lines with their fields.
. "$(dirname "$0")/lib.sh"
t_init
a=nsadma$$; b=nsadmb$$; c=nsadmc$$
pol=$(t_policy admin.conf "[default]
hostname = box-%u
[user $a]
pids_max = 100
memory_max = 256M
[user $b]
linger = yes")
t_sshd "config=$pol" || exit 1
t_user "$a" && t_user "$b" && t_user "$c" || exit 1
nsiso="$NSISO_PREFIX/sbin/nsiso"
uid_a=$(id -u "$a"); uid_b=$(id -u "$b")

# Two sessions of a, one of b, held open.
t_ssh_bg "$a" -- 'sleep 60'; hold_a1=$T_BG
t_ssh_bg "$a" -- 'sleep 61'; hold_a2=$T_BG
t_ssh_bg "$b" -- 'sleep 62'; hold_b=$T_BG
for i in $(seq 1 100); do
	[ "$(pgrep -u "$a" -x sleep | wc -l)" = 2 ] && [ "$(pgrep -u "$b" -x sleep | wc -l)" = 1 ] && break
	sleep 0.1
done
sleep_a=$(pgrep -u "$a" -x sleep | head -n1)

# list
out=$("$nsiso" list); rc=$?
expect_eq "list exits 0" "$rc" 0
expect_match "list has a header" "$out" "^USER +UID +INIT +SESSIONS +NETWORK +ADDRESS +MEMORY +PIDS +AGE +SUBIDS$"
sub_a=$(awk -F: -v u="$a" '$1 == u {print $2}' /etc/subuid)
expect_match "list: a with 2 sessions, no network namespace address, a's first subordinate id" "$out" \
	"^$a +$uid_a +[0-9]+ +2  +none +- +[0-9.]+[KM] +[0-9]+ +[0-9]+s +$sub_a$"
expect_match "list: b with 1 session" "$out" "^$b +$uid_b +[0-9]+ +1  +none "
expect_nomatch "list: c has no container" "$out" "^$c "
json=$("$nsiso" list --json)
expect_eq "list --json: a's sessions" "$(jq -r ".[] | select(.user == \"$a\") | .sessions" <<<"$json")" 2
expect_eq "list --json: a's uid" "$(jq -r ".[] | select(.user == \"$a\") | .uid" <<<"$json")" "$uid_a"
init_a=$(jq -r ".[] | select(.user == \"$a\") | .init_pid" <<<"$json")
expect_eq "list --json: a's init pid is the PID 1 of a's sessions" "$(grep NSpid "/proc/$sleep_a/status" >/dev/null && \
	awk '/^NSpid/{print $2}' "/proc/$init_a/status")" "$init_a"
expect_eq "the init of list is an ancestor-namespace PID 1 (NSpid ends in 1)" "$(awk '/^NSpid/{print $NF}' "/proc/$init_a/status")" 1
expect_eq "list --json: a's pids = the processes in a's pids cgroup" \
	"$(jq -r ".[] | select(.user == \"$a\") | .pids" <<<"$json")" \
	"$(cat /sys/fs/cgroup/pids/nsiso/"$a"/cgroup.procs 2>/dev/null | wc -l)"
expect_match "list --json: memory in bytes" "$(jq -r ".[] | select(.user == \"$a\") | .memory_bytes" <<<"$json")" '^[0-9]+$'

# show
out=$("$nsiso" show "$a"); rc=$?
expect_eq "show exits 0" "$rc" 0
expect_match "show: header" "$out" "^user $a \\(uid $uid_a\\): container up for [0-9]+s$"
expect_match "show: init and hostname" "$out" "^init pid $init_a, supervisor pid [0-9]+, hostname box-$a$"
for t in user mnt pid ipc uts net cgroup; do
	expect_match "show: the $t namespace inode is the session's" "$out" "^  $t +$(stat -L -c %i "/proc/$sleep_a/ns/$t")$"
done
expect_match "show: the uid map line of the user" "$out" "^  $uid_a $uid_a 1$"
expect_match "show: /proc mounted" "$out" "^  /proc +proc "
expect_match "show: private /tmp" "$out" "^  /tmp +tmpfs "
expect_match "show: the limits" "$out" "^limits: memory_max=268435456 memory_high=max pids_max=100 "
expect_match "show: the cgroup" "$out" "^cgroup: nsiso/$a$"
expect_match "show: the sessions" "$out" "^sessions: 2$"
expect_match "show: a session from sshd over 127.0.0.1 without a pty" "$out" \
	"^ +[0-9]+ $T_SERVICE +ssh +127\\.0\\.0\\.1 +20[0-9-]+ [0-9:]+$"
json=$("$nsiso" show "$a" --json)
expect_eq "show --json: user namespace inode" "$(jq -r .namespaces.user <<<"$json")" "$(stat -L -c %i "/proc/$sleep_a/ns/user")"
monitors=0
for p in $(jq -r '.sessions[].pid' <<<"$json"); do
	tr '\0' ' ' < "/proc/$p/cmdline" | grep -- ": $a \[priv\]" >/dev/null && monitors=$((monitors + 1))
done
expect_eq "show --json: both session pids are sshd's monitors of a's sessions" "$monitors" 2
expect_eq "show --json: pids_max" "$(jq -r .limits.pids_max <<<"$json")" 100
"$nsiso" show "$c" >/dev/null 2>&1; expect_eq "show of a user without a container exits 4" "$?" 4
"$nsiso" show "nosuchuser$$" >/dev/null 2>&1; expect_eq "show of an unknown user exits 3" "$?" 3
"$nsiso" show >/dev/null 2>&1; expect_eq "show without a user is a usage error (2)" "$?" 2

# enter
expect_eq "enter runs as the user" "$("$nsiso" enter "$a" -- id -u)" "$uid_a"
expect_eq "enter lands in the container's PID namespace" "$("$nsiso" enter "$a" -- readlink /proc/self/ns/pid)" \
	"$(readlink "/proc/$sleep_a/ns/pid")"
expect_eq "enter lands in the container's mount namespace" "$("$nsiso" enter "$a" -- readlink /proc/self/ns/mnt)" \
	"$(readlink "/proc/$sleep_a/ns/mnt")"
expect_eq "enter: the container's hostname" "$("$nsiso" enter "$a" -- hostname)" "box-$a"
expect_eq "enter: as the user, no capabilities and the session hardening" \
	"$("$nsiso" enter "$a" -- grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\t' | tr '\n' ,)" \
	"CapEff:0000000000000000,CapBnd:0000000000000000,NoNewPrivs:1,Seccomp:2,"
expect_eq "enter: the user's home is the working directory" "$("$nsiso" enter "$a" -- pwd)" "$(getent passwd "$a" | cut -d: -f6)"
expect_eq "enter --root is container root (uid 0 inside)" "$("$nsiso" enter "$a" --root -- id -u)" 0
expect_eq "enter --root maps to a's subordinate root, not host root" \
	"$("$nsiso" enter "$a" --root -- sh -c 'cat /proc/self/uid_map | head -n1' | awk '{print $1, ($2 != 0)}')" "0 1"
expect_match "enter --root: container root has its capabilities in the user namespace" \
	"$("$nsiso" enter "$a" --root -- grep CapEff /proc/self/status)" "CapEff:.000001ffffffffff"
"$nsiso" enter "$a" -- sh -c 'exit 7'; expect_eq "enter passes the command's exit status" "$?" 7
"$nsiso" enter "$c" -- true 2>/dev/null; expect_eq "enter without a live container exits 125" "$?" 125
out=$("$nsiso" enter "$c" -- true 2>&1)
expect_match "and says why" "$out" "$c has no live container"
echo 'echo from-a-shell; id -un' | "$nsiso" enter "$a" > "$T_DIR/shell.out" 2>&1
expect_eq "enter without a command runs the user's login shell" "$(tr '\n' ' ' < "$T_DIR/shell.out")" "from-a-shell $a "
"$nsiso" enter "$a" -- sleep 30 & ent=$!
for i in $(seq 1 50); do "$nsiso" show "$a" | grep -- nsiso-enter >/dev/null && break; sleep 0.1; done
expect_match "an entered shell is a session of the container" "$("$nsiso" show "$a")" "^ +$ent nsiso-enter "
kill "$ent"; wait "$ent" 2>/dev/null

# THREATS 50: on a terminal, enter gives the tenant a pty of the container's
# own. A .bash_profile that leaves a reader behind gets nothing of what the
# admin types after enter returns. The admin's terminal is script's pty; the
# admin's side reads one line after enter.
home_a=$(getent passwd "$a" | cut -d: -f6)
printf '%s\n' '(trap "" TTIN HUP; echo reader-started > ~/stolen.txt; exec cat >> ~/stolen.txt) &' > "$home_a/.bash_profile"
chown "$a:" "$home_a/.bash_profile"
{ sleep 2; printf 'echo inside=$(tty); exit\n'; sleep 2; printf 'SECRET-%s\n' "$$"; sleep 1; } |
	script -qfec "$nsiso enter $a; read x; echo admin-got=\$x" /dev/null > "$T_DIR/enter.out" 2>&1
expect_match "the shell in enter ran on a pty" "$(tr -d '\r' < "$T_DIR/enter.out")" "inside=/dev/pts/[0-9]+"
expect_match "the admin's terminal got the line typed after enter returned" "$(tr -d '\r' < "$T_DIR/enter.out")" \
	"admin-got=SECRET-$$"
expect_eq "the tenant's reader ran, and got nothing typed after enter returned" \
	"$(cat "$home_a/stolen.txt" 2>/dev/null | tr -d '\r' | tr '\n' ' ')" "reader-started "
rm -f "$home_a/.bash_profile" "$home_a/stolen.txt"

# stop
out=$("$nsiso" stop "$a"); rc=$?
expect_eq "stop exits 0" "$rc" 0
expect_eq "stop says what it did" "$out" "stopped $a's container (2 sessions ended)"
for i in $(seq 1 50); do kill -0 "$hold_a1" 2>/dev/null || kill -0 "$hold_a2" 2>/dev/null || break; sleep 0.1; done
expect_eq "a's ssh sessions ended" "$(kill -0 "$hold_a1" 2>/dev/null; echo $?)$(kill -0 "$hold_a2" 2>/dev/null; echo $?)" 11
expect_eq "no process of a is left" "$(pgrep -u "$a" | wc -l)" 0
expect_eq "a's container is gone from list" "$("$nsiso" list | grep -c "^$a ")" 0
expect_match "b's container is untouched" "$("$nsiso" list)" "^$b +$uid_b +[0-9]+ +1 "
expect_eq "a's cgroup is gone" "$(ls -d /sys/fs/cgroup/*/nsiso/"$a" 2>/dev/null | wc -l)" 0
"$nsiso" stop "$a" >/dev/null 2>&1; expect_eq "stop again: no live container (4)" "$?" 4
expect_eq "a logs in again afterwards" "$(t_ssh "$a" -- hostname)" "box-$a"

# A session that ignores SIGTERM is ended by force after --timeout.
t_ssh_bg "$a" -- 'sleep 60'; hold_a3=$T_BG
for i in $(seq 1 100); do pgrep -u "$a" -x sleep >/dev/null && break; sleep 0.1; done
(trap '' TERM; exec "$nsiso" enter "$a" -- sleep 100) & stubborn=$!
for i in $(seq 1 50); do "$nsiso" show "$a" 2>/dev/null | grep -- nsiso-enter >/dev/null && break; sleep 0.1; done
start=$(date +%s%N)
out=$("$nsiso" stop "$a" --timeout 1); rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "stop --timeout 1 with a session ignoring SIGTERM exits 0" "$rc" 0
expect_eq "it ended both sessions" "$out" "stopped $a's container (2 sessions ended)"
wait "$stubborn"; st=$?
expect_eq "the session that ignored SIGTERM was SIGKILLed" "$st" 137
if [ "$took" -ge 900 ] && [ "$took" -lt 6000 ]; then ok "force came after the 1 s grace ($took ms)"; else not_ok "force after the grace: took $took ms"; fi
wait "$hold_a3" 2>/dev/null

# The log lines, key=value.
sleep 0.3
log=$(cat "$T_DIR/syslog")
expect_match "log: container created, with namespaces, hostname and cgroup" "$log" \
	"nsiso-sup\\[[0-9]+\\]: container created user=$a uid=$uid_a init_pid=$init_a namespaces=\"user mount pid ipc uts net cgroup\" hostname=box-$a cgroup=nsiso/$a network=none"
expect_match "log: session opened with service, tty, remote host, created/joined" "$log" \
	"session user=$a uid=$uid_a service=$T_SERVICE tty=ssh rhost=127\\.0\\.0\\.1 container=(created|joined) init_pid=$init_a namespaces=\"[a-z ]+\" userns=[0-9]+ cgroup=nsiso/$a"
expect_match "log: an entered session" "$log" "session user=$a .*" # (nsiso enter does not log through PAM)
expect_match "log: session closed with service" "$log" "session closed user=$a service=$T_SERVICE pid=[0-9]+"
expect_match "log: container ended by stop, with its lifetime" "$log" \
	"container ended user=$a uid=$uid_a init_pid=$init_a lifetime_s=[0-9.]+ sessions=[0-9]+ reason=stopped"

# A lingering container without sessions: stop ends it at once.
kill "$hold_b" 2>/dev/null; wait "$hold_b" 2>/dev/null
sleep 1
expect_match "b's container lingers without sessions" "$("$nsiso" list)" "^$b +$uid_b +[0-9]+ +0 "
out=$("$nsiso" stop "$b"); rc=$?
expect_eq "stop of a lingering container" "$rc $out" "0 stopped $b's container (0 sessions ended)"
expect_eq "it is gone" "$("$nsiso" list | grep -c "^$b ")" 0
t_wait_no_containers 10
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
