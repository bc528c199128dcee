#!/bin/bash
# Through a real sshd: what a session sees, and what separates users.
. "$(dirname "$0")/lib.sh"
t_init
pol=$(t_policy core.conf '[default]
namespaces = pid mount ipc uts net user cgroup
hostname = %u')
t_sshd "config=$pol" || exit 1
a=nsisoa$$; b=nsisob$$
t_user "$a" && t_user "$b" || exit 1

# What a session reports, a KEY=value line each (read with t_key). Each
# command runs in the shell itself (no $(...)): ps must see no subshell,
# and writes to a file first: a pipeline's later members may not have
# exec'd yet when ps reads /proc (seen in CI: 'bash' where 'tr' was due).
probe='printf ns=; for t in user mnt pid ipc uts net cgroup; do printf "%s:%s " $t $(stat -L -c %i /proc/self/ns/$t); done; echo
printf hostname=; hostname
printf uid_map=; cat /proc/self/uid_map | tr -s " " | sed "s/^ //" | tr "\n" ";"; echo
printf caps=; grep -E "^Cap(Eff|Prm)" /proc/self/status | tr -s "\t " " " | tr "\n" ";"; echo
printf links=; ip -o link | cut -d: -f2 | tr -d " " | tr "\n" ","; echo
ps -e -o comm= > /tmp/ps; printf ps=; sort /tmp/ps | tr "\n" ","; echo
printf pid1=; cat /proc/1/comm
ls /proc/$$/fd > /tmp/fds; printf fds=; tr "\n" "," < /tmp/fds; echo
printf uid=; id -u
printf cgroup=; cut -d: -f3 /proc/self/cgroup | sort -u | tr "\n" ","; echo
printf mqueue=; findmnt -n -o FSTYPE /dev/mqueue
printf pts=; findmnt -n -o FSTYPE,OPTIONS /dev/pts | cut -d, -f1'
host_ns=$(t_ns_of $$)

# Keep a session of each user open throughout: namespace inode numbers are
# recycled once a namespace is freed, so comparing the inodes of containers
# that were not alive at the same time would prove nothing.
t_ssh_bg "$a" -- 'sleep 120'; hold_a=$T_BG
t_ssh_bg "$b" -- 'sleep 120'; hold_b=$T_BG
for i in $(seq 1 100); do
	pgrep -u "$a" -x sleep >/dev/null && pgrep -u "$b" -x sleep >/dev/null && break
	sleep 0.1
done

out_a=$(t_ssh "$a" -- "$probe"); rc=$?
expect_eq "key login of $a runs the command" "$rc" 0
ns_a=$(t_key ns "$out_a")
for t in user mnt pid ipc uts net cgroup; do
	expect_ne "$t namespace of a session differs from the host's" \
		"$(echo "$ns_a" | grep -o "$t:[0-9]*")" "$(echo "$host_ns" | grep -o "$t:[0-9]*")"
done
expect_eq "hostname is the user name" "$(t_key hostname "$out_a")" "$a"
uid_a=$(id -u "$a")
expect_eq "uid_map is keep-id over the subordinate range" "$(t_key uid_map "$out_a")" \
	"0 $(grep "^$a:" /etc/subuid | cut -d: -f2) $uid_a;$uid_a $uid_a 1;$((uid_a + 1)) $(( $(grep "^$a:" /etc/subuid | cut -d: -f2) + uid_a )) $((65535 - uid_a));"
expect_nomatch "uid_map never maps host 0" "$(t_key uid_map "$out_a" | tr ';' '\n' | awk '{print $2}')" '^0$'
expect_eq "CapPrm and CapEff are 0" "$(t_key caps "$out_a")" "CapPrm: 0000000000000000;CapEff: 0000000000000000;"
expect_eq "only lo" "$(t_key links "$out_a")" "lo,"
expect_eq "ps -e shows only the container's processes" "$(t_key ps "$out_a")" \
	"bash,nsiso-init,ps,sleep,${T_SERVICE:0:15},${T_SERVICE:0:15},"
expect_eq "PID 1 is nsiso-init" "$(t_key pid1 "$out_a")" "nsiso-init"
expect_eq "the shell holds fds 0-2 only" "$(t_key fds "$out_a")" "0,1,2,"
expect_eq "the shell runs as the user" "$(t_key uid "$out_a")" "$uid_a"
expect_eq "the container sees its own cgroup as the root" "$(t_key cgroup "$out_a")" "/,"
expect_eq "/dev/mqueue is the IPC namespace's mqueue" "$(t_key mqueue "$out_a")" "mqueue"
expect_eq "/dev/pts is a devpts instance of its own" "$(t_key pts "$out_a")" "devpts rw"

# Two users: every namespace differs.
out_b=$(t_ssh "$b" -- "$probe")
ns_b=$(t_key ns "$out_b")
for t in user mnt pid ipc uts net cgroup; do
	expect_ne "$t namespace differs between two users" \
		"$(echo "$ns_a" | grep -o "$t:[0-9]*")" "$(echo "$ns_b" | grep -o "$t:[0-9]*")"
done

# Two concurrent sessions of one user share every namespace; a pty session too.
t_ssh_bg "$a" -- 'echo hello-from-a > /tmp/marker; echo shm > /dev/shm/m; sleep 30'; bg=$T_BG
for i in $(seq 1 50); do
	t_ssh "$a" -- 'test -e /tmp/marker' && break
	sleep 0.1
done
first=$(t_ssh "$a" -- 'for t in user mnt pid ipc uts net cgroup; do printf "%s:%s " $t $(stat -L -c %i /proc/self/ns/$t); done')
second=$(t_ssh "$a" -tt -- 'for t in user mnt pid ipc uts net cgroup; do printf "%s:%s " $t $(stat -L -c %i /proc/self/ns/$t); done; tty' | tr -d '\r')
expect_eq "two sessions of one user share every namespace" "$first" "$(echo "$second" | sed -n 1p | sed 's/\/dev\/pts.*//')"
expect_match "a pty session gets a pty of the container's devpts" "$second" '/dev/pts/0$'
expect_eq "/tmp is shared by the user's sessions" "$(t_ssh "$a" -- 'cat /tmp/marker')" "hello-from-a"
expect_eq "/dev/shm is shared by the user's sessions" "$(t_ssh "$a" -- 'cat /dev/shm/m')" "shm"
[ -e /tmp/marker ] && not_ok "/tmp of the container is not the host's" || ok "/tmp of the container is not the host's"
expect_eq "/tmp is not shared across users" "$(t_ssh "$b" -- 'cat /tmp/marker 2>&1 >/dev/null | wc -l')" 1
expect_eq "/dev/shm is not shared across users" "$(t_ssh "$b" -- 'ls /dev/shm | wc -l')" 0

# scp and sftp land in the container's mount namespace.
echo scp-payload > "$T_DIR/payload"
scp -q -i "$T_DIR/id" -P "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	"$T_DIR/payload" "$a@127.0.0.1:/tmp/scp-file"
expect_eq "scp writes into the container's /tmp" "$(t_ssh "$a" -- 'cat /tmp/scp-file')" "scp-payload"
[ -e /tmp/scp-file ] && not_ok "scp did not write the host's /tmp" || ok "scp did not write the host's /tmp"
printf 'put %s /tmp/sftp-file\n' "$T_DIR/payload" > "$T_DIR/batch"
sftp -q -b "$T_DIR/batch" -i "$T_DIR/id" -P "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes "$a@127.0.0.1" >/dev/null
expect_eq "sftp writes into the container's /tmp" "$(t_ssh "$a" -- 'cat /tmp/sftp-file')" "scp-payload"
[ -e /tmp/sftp-file ] && not_ok "sftp did not write the host's /tmp" || ok "sftp did not write the host's /tmp"

# The helper's state is out of reach; the helper cannot be run by a user.
expect_eq "the state directory is hidden inside" "$(t_ssh "$a" -- 'ls -A /run/nsiso 2>/dev/null | wc -l')" 0
helper=$(find "$NSISO_PREFIX" -name nsiso-helper | head -n1)
out=$(t_ssh "$a" -- "$helper open $a /etc/passwd 2>&1; echo rc=\$?")
# (127 where the checkout lives under /tmp or /var/tmp: then the helper is not even visible inside)
expect_match "a user cannot run the helper inside" "$out" "rc=(126|127|1)$"
out=$(setpriv --reuid="$(id -u "$a")" --regid="$(id -g "$a")" --clear-groups "$helper" open "$a" /etc/passwd 2>&1)
expect_match "a user cannot run the helper on the host" "$out" "Permission denied|only root may run this"
expect_match "a user cannot setns into a namespace it can reach" \
	"$(t_ssh "$a" -- 'nsenter --target 1 --user --mount true 2>&1; echo rc=$?')" "rc=1$"
expect_match "a remount of the read-only /dev is refused even as nested root" \
	"$(t_ssh "$a" -- 'unshare -rm sh -c "mount -o remount,bind,rw /dev" 2>&1; echo rc=$?')" "rc=(1|32)$"
expect_eq "no nested user namespace by default (unshare -r: ENOSPC)" "$(t_ssh "$a" -- 'unshare -r id -u 2>&1')" \
	"unshare: unshare failed: No space left on device"
expect_eq "sethostname is refused" "$(t_ssh "$a" -- 'hostname evil 2>/dev/null; hostname')" "$a"

# The join is split (the module is in the auth stack too, as the package's
# pam-auth-update profile puts it): sshd's root monitor stays in the host's
# user namespace, in the container's other namespaces and in its own cgroup;
# its session child and everything below it are in the container.
mon=$(pgrep -f ": $a \[priv\]\$" | head -n1) # (sshd's title starts with its argv[0], our service name)
init_a=$(t_ssh "$a" -- 'cat /proc/1/status' >/dev/null; pgrep -u "$(id -u "$a")" -x sleep | head -n1)
expect_match "log: the join was split between monitor and session child" "$(cat "$T_DIR/syslog")" \
	"session user=$a uid=[0-9]+ service=$T_SERVICE .* join=split"
expect_eq "the monitor stays in the host's user namespace" "$(stat -L -c %i /proc/$mon/ns/user)" \
	"$(stat -L -c %i /proc/$$/ns/user)"
expect_eq "the monitor is in the container's network namespace" "$(stat -L -c %i /proc/$mon/ns/net)" \
	"$(stat -L -c %i /proc/$init_a/ns/net)"
expect_eq "the monitor's uid is host root" "$(stat -c %u /proc/$mon)" 0
child=$(pgrep -P "$mon" | head -n1)
expect_eq "the session child is in the container's user namespace" "$(stat -L -c %i /proc/$child/ns/user)" \
	"$(stat -L -c %i /proc/$init_a/ns/user)"
expect_eq "the session child holds no capability in it" "$(awk '/^CapEff/ {print $2}' /proc/$child/status)" \
	0000000000000000
# Accounting as without nsiso: the monitor, host root on the host, wrote
# wtmp and lastlog for the pty session above (and its logout record).
# (No logout records on this host, with or without nsiso: it has no utmp;
# the guest test checks those.)
expect_match "last shows the pty login" "$(last -w -n 20 "$a")" "^$a +pts/0 +127\.0\.0\.1 "
expect_match "lastlog shows the pty login" "$(lastlog -u "$a")" "^$a +pts/0 +127\.0\.0\.1 "

kill "$bg" "$hold_a" "$hold_b" 2>/dev/null; wait "$bg" "$hold_a" "$hold_b" 2>/dev/null

# When the second half fails in the session child (here: a hard nofile
# above fs.nr_open, which no process may set), the child ends itself: sshd
# would go on after a failed setcred of a key login, half-joined.
c=nsisoc$$
t_user "$c" || exit 1
printf '[user %s]\nrlimit_nofile = 1024:%s\n' "$c" "$(( $(cat /proc/sys/fs/nr_open) + 1 ))" >> "$pol"
out=$(t_ssh "$c" -- 'echo ran; readlink /proc/self/ns/user' 2>&1); rc=$?
expect_ne "a login whose session child cannot finish the join fails" "$rc" 0
expect_eq "its command never ran" "$(echo "$out" | grep -c '^ran$')" 0
expect_match "log: the refusal names the user, the step and the limit" "$(cat "$T_DIR/syslog")" \
	"refused: user=$c step=join error=EPERM errno=1 detail=\"setting resource limit 7\""
ps -o pid,ppid,stat,etimes,args -u "$c" | sed 's/^/# right after: /'
# (20 s: the container's 2 s linger, then its teardown, on a host whose
# guests boot beside this test; a process that stays is still caught)
for i in $(seq 1 200); do pgrep -u "$c" >/dev/null || break; sleep 0.1; done
left=$(pgrep -u "$c" | wc -l)
expect_eq "no process of the user is left" "$left" 0
[ "$left" = 0 ] || ps -o pid,ppid,stat,etimes,args -u "$c" | sed 's/^/# left: /'

# An admin who added only the session line: the whole join happens in
# open_session (the monitor joins the user namespace too), still isolated.
T_WHOLE_JOIN=1 t_pam_args "config=$pol"
out=$(t_ssh "$a" -- 'printf userns=; stat -L -c %i /proc/self/ns/user; printf caps=; grep ^CapEff /proc/self/status')
expect_ne "without the auth line the session is still in a user namespace of its own" \
	"$(t_key userns "$out")" "$(stat -L -c %i /proc/$$/ns/user)"
expect_match "without the auth line the shell holds no capability" "$(t_key caps "$out")" "0000000000000000$"
expect_match "log: without the auth line the join is whole" "$(cat "$T_DIR/syslog")" \
	"session user=$a uid=[0-9]+ service=$T_SERVICE .* join=whole"
t_finish
