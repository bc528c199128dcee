#!/bin/bash
# What a tenant tries (docs/THREATS.md), through real sshd
# logins: each attempt must fail with the exact effect named.
. "$(dirname "$0")/lib.sh"
t_init
host_name=$(hostname)
# Nested root allowed: what must hold even for a tenant who has it.
pol=$(t_policy threats.conf '[default]
nested_userns = yes')
t_sshd "config=$pol" || exit 1
a=nstha$$; b=nsthb$$
t_user "$a" && t_user "$b" || exit 1
t_ssh_bg "$b" -- 'sleep 180'; hold_b=$T_BG
t_ssh_bg "$a" -- 'sleep 60'; hold_a=$T_BG
for i in $(seq 1 50); do
	[ -S "/run/nsiso/$(id -u "$a").sock" ] && [ -S "/run/nsiso/$(id -u "$b").sock" ] && break
	sleep 0.1
done

# 1, 3. The init's /proc entries are out of reach; /proc/<pid>/exe is not writable.
expect_match "THREATS 1: /proc/1/root of the init is not readable" \
	"$(t_ssh "$a" -- 'ls /proc/1/root/ 2>&1; echo rc=$?')" "Permission denied"
expect_match "THREATS 3: /proc/1/exe cannot be opened for writing" \
	"$(t_ssh "$a" -- 'echo x > /proc/1/exe 2>&1; echo rc=$?')" "rc=1$"
# 4. sysrq and kernel sysctls are not writable.
expect_match "THREATS 4: /proc/sysrq-trigger is not writable" \
	"$(t_ssh "$a" -- 'echo h > /proc/sysrq-trigger 2>&1; echo rc=$?')" "rc=1$"
expect_match "THREATS 4: /proc/sys/kernel/panic is not writable" \
	"$(t_ssh "$a" -- 'echo 1 > /proc/sys/kernel/panic 2>&1; echo rc=$?')" "rc=1$"
# 7. cgroup v1 release_agent: no cgroupfs reachable, none mountable.
expect_match "THREATS 7: cgroup v1 cannot be mounted even as nested root" \
	"$(t_ssh "$a" -- 'unshare -rm sh -c "mkdir -p /tmp/c && mount -t cgroup -o memory none /tmp/c" 2>&1; echo rc=$?')" "rc=(1|32)$"
expect_match "THREATS 7: as nested root with its own cgroup namespace, the container's group is the top and its cgroup.procs is not writable" \
	"$(t_ssh "$a" -- 'unshare -rmC sh -c "mkdir -p /tmp/c2 && mount -t cgroup2 none /tmp/c2 && cat /proc/self/cgroup && echo \$\$ > /tmp/c2/cgroup.procs" 2>&1; echo rc=$?' | tr '\n' ' ')" \
	"(^| )0::/ .*(Permission denied|Operation not permitted).* rc=[12] $"
# (nested_userns = yes: /sys/fs/cgroup is the container's own group, for
# nested containers' runtimes; without it, an empty directory of sysfs)
out=$(t_ssh "$a" -- 'stat -f -c %T /sys/fs/cgroup; find /sys/fs/cgroup -mindepth 1 -type d | wc -l; test -e /sys/fs/cgroup/cgroup.procs && echo procs; { echo $$ > /sys/fs/cgroup/cgroup.procs; } 2>&1 | sed "s/.*: //"')
expect_eq "THREATS 7: /sys/fs/cgroup is the container's own cgroup2 group: no host hierarchy, no other group, read-only" \
	"$(printf '%s\n' "$out" | tr '\n' '|')" "cgroup2fs|0|procs|Read-only file system|"
# 12. Dropping supplementary groups is impossible.
expect_match "THREATS 12: setgroups() is refused" \
	"$(t_ssh "$a" -- 'setpriv --clear-groups true 2>&1; echo rc=$?')" "setgroups failed: Operation not permitted"
# 13. A setuid-root binary gives nothing: no_new_privs, owner unmapped.
expect_eq "THREATS 13: NoNewPrivs is set" "$(t_ssh "$a" -- 'grep NoNewPrivs /proc/self/status | tr -d "\t "')" "NoNewPrivs:1"
expect_nomatch "THREATS 13: su does not make uid 0" "$(t_ssh "$a" -- 'su -c id root </dev/null 2>&1')" "uid=0"
# 14. SysV IPC and /dev/shm do not cross tenants or reach the host.
host_shm=$(ipcs -m | grep -c 0x); host_msg=$(ipcs -q | grep -c 0x)
t_ssh "$a" -- 'ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null'
expect_eq "THREATS 14: a's SysV segment exists in a's container" "$(t_ssh "$a" -- 'ipcs -m | grep -c 0x')" 1
expect_eq "THREATS 14: b does not see it" "$(t_ssh "$b" -- 'ipcs -m | grep -c 0x')" 0
expect_eq "THREATS 14: b does not see a's message queue" "$(t_ssh "$b" -- 'ipcs -q | grep -c 0x')" 0
expect_eq "THREATS 14: the host's segments are as before" "$(ipcs -m | grep -c 0x)" "$host_shm"
expect_eq "THREATS 14: the host's message queues are as before" "$(ipcs -q | grep -c 0x)" "$host_msg"
# 15. kill -9 -1, guessed pids, sethostname: nothing outside changes.
t_ssh "$a" -- 'kill -9 -1' 2>/dev/null
expect_eq "THREATS 15: b's session survives a's kill -9 -1" "$(kill -0 "$hold_b" 2>/dev/null && echo alive)" alive
expect_eq "THREATS 15: the host's sshd survives it" "$(kill -0 "$T_SSHD_PID" 2>/dev/null && echo alive)" alive
t_ssh "$a" -- 'hostname h4x 2>/dev/null'
expect_eq "THREATS 15: the host's hostname is unchanged" "$(hostname)" "$host_name"
# a's own sessions died with its kill -9 -1: hold its container again.
wait "$hold_a" 2>/dev/null
t_ssh_bg "$a" -- 'sleep 60'; hold_a=$T_BG
for i in $(seq 1 50); do [ -S "/run/nsiso/$(id -u "$a").sock" ] && break; sleep 0.1; done
# 16. Files a tenant creates as a container uid land in its own host range.
t_ssh "$a" -- 'unshare -r sh -c "touch ~/as-nested-root"'
sub=$(grep "^$a:" /etc/subuid | cut -d: -f2)
expect_eq "THREATS 16: a file made as nested root is owned by the user outside" \
	"$(stat -c %u "$(getent passwd "$a" | cut -d: -f6)/as-nested-root")" "$(id -u "$a")"
expect_eq "THREATS 16: container root (the init) runs as the user's first subordinate uid on the host" \
	"$(pgrep -x nsiso-init -U "$sub" | wc -l)" 1
# 36. Filling /tmp fills the container's tmpfs, not the host's disk.
expect_eq "THREATS 36: /tmp is a tmpfs of the container" "$(t_ssh "$a" -- 'findmnt -n -o FSTYPE,SOURCE /tmp')" "tmpfs  none"

# 19. A deleted user's uid reused by a new user never gets the old container.
uid_a=$(id -u "$a")
userdel -r -f "$a" 2>/dev/null  # (its home too: nothing of the test stays)
c=nsthc$$
useradd -m -u "$uid_a" -s /bin/bash "$c" && T_USERS+=("$c")
install -d -m 0700 -o "$c" -g "$c" "/home/$c/.ssh"
install -m 0600 -o "$c" -g "$c" "$T_DIR/id.pub" "/home/$c/.ssh/authorized_keys"
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
out=$(t_ssh "$c" -- 'echo RAN' 2>/dev/null)
expect_match "THREATS 19: the new user is refused while the old container lives (only nsiso's line)" "$out" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ attach\)$'
sleep 0.2
expect_match "THREATS 19: refused with ESTALE at attach" \
	"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep pam_nsiso)" "user=$c step=attach error=ESTALE"
kill "$hold_a" 2>/dev/null; wait "$hold_a" 2>/dev/null
for i in $(seq 1 50); do [ -S "/run/nsiso/$uid_a.sock" ] || break; sleep 0.1; done
expect_eq "THREATS 19: once it ended, the new user gets a container of its own" "$(t_ssh "$c" -- 'hostname')" "$c"

# 62. A module before pam_nsiso ends the session child's setcred (here a
# test module whose setcred succeeds, as "sufficient", only in the child):
# the child never finishes the split join. The supervisor finds it (in the
# container's PID namespace, not its user namespace, not root) and kills it
# with everything it started; nsiso check names the line.
# (a process of b in a nested user namespace, which this policy allows,
# is in the container: the checks leave it alone)
t_ssh_bg "$b" -- 'exec unshare -U sleep 45'; nested=$T_BG
for i in $(seq 1 50); do pgrep -u "$b" -f '^sleep 45$' >/dev/null && break; sleep 0.1; done
nested_pid=$(pgrep -u "$b" -f '^sleep 45$')
expect_ne "THREATS 62: b's nested process is in a user namespace of its own" \
	"$(readlink "/proc/$nested_pid/ns/user")" "$(readlink /proc/"$(pgrep -u "$b" -f '^sleep 180$' | head -n1)"/ns/user)"
sed -i "2i auth sufficient $NSISO_PAM_SKIPCHILD" "/etc/pam.d/$T_SERVICE"
out=$("$NSISO_PREFIX/sbin/nsiso" check --config "$pol" --sshd-service "$T_SERVICE"); rc=$?
expect_eq "THREATS 62: nsiso check fails on the auth stack" "$rc" 1
expect_match "THREATS 62: and names the line" "$out" \
	"warning: /etc/pam.d/$T_SERVICE: auth sufficient pam_skipchild.so ends setcred before pam_nsiso"
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
out=$(t_ssh "$b" -- 'echo started; sleep 12; echo survived' 2>/dev/null)
expect_eq "THREATS 62: the unjoined session is killed before its command ends" "$out" started
sleep 0.2
expect_match "THREATS 62: the supervisor says which and why" \
	"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep nsiso-sup | grep "refused: user=$b step=join")" \
	"in the container's PID namespace but not its user namespace .*killed"
sleep 1
expect_eq "THREATS 62: every process of b (but the nested one) is in its container's user namespace (none left outside)" \
	"$(for p in $(pgrep -u "$b"); do [ "$p" = "$nested_pid" ] || readlink /proc/$p/ns/user; done | grep . | sort -u)" \
	"$(readlink /proc/"$(pgrep -u "$b" -f '^sleep 180$' | head -n1)"/ns/user)"
expect_eq "THREATS 62: the nested user namespace's process lives on (no check killed it)" \
	"$(kill -0 "$nested_pid" 2>/dev/null && echo alive)" alive
kill "$nested" 2>/dev/null; pkill -u "$b" -f '^sleep 45$'; wait "$nested" 2>/dev/null
sed -i '2d' "/etc/pam.d/$T_SERVICE"
expect_eq "THREATS 62: with the stack mended, b's sessions run again" "$(t_ssh "$b" -- 'echo started; sleep 3; echo survived' | tr '\n' ' ')" \
	"started survived "

kill "$hold_b" 2>/dev/null; wait "$hold_b" 2>/dev/null
t_wait_no_containers 10
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
