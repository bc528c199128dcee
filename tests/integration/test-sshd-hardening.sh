#!/bin/bash
# Session hardening through sshd: the default seccomp filter, no_new_privs
# and the bounding set, and per-user overrides with resource limits.
. "$(dirname "$0")/lib.sh"
t_init
d=nshd$$; o=nsho$$
pol=$(t_policy hard.conf "[default]
[user $o]
seccomp = off
no_new_privs = no
capabilities = cap_net_raw
rlimit_nofile = 1000:2000
rlimit_nproc = 300")
t_sshd "config=$pol" || exit 1
t_user "$d" && t_user "$o" || exit 1
status='grep -E "^(Seccomp|NoNewPrivs|CapBnd):" /proc/self/status | tr -d "\t " | tr "\n" ","; echo'

# Defaults.
expect_eq "default: seccomp filter, no_new_privs, empty bounding set" "$(t_ssh "$d" -- "$status")" \
	"CapBnd:0000000000000000,NoNewPrivs:1,Seccomp:2,"
expect_match "capsh --print agrees: empty bounding set" "$(t_ssh "$d" -- '/usr/sbin/capsh --print' | grep '^Bounding set')" "^Bounding set =$"
expect_match "THREATS 17: keyctl add_key is refused with EPERM" "$(t_ssh "$d" -- 'keyctl add user k v @u 2>&1')" \
	"add_key: Operation not permitted"
expect_match "THREATS 17: the session keyring cannot be read" "$(t_ssh "$d" -- 'keyctl show @s 2>&1')" \
	"Operation not permitted"
# The compiled filter is kept for the next containers (root-only), and a
# cache that is damaged or not root's 0600 is never used: compiled again,
# and replaced.
bpf=/run/nsiso/seccomp.bpf
expect_eq "the compiled filter is kept root-only" "$(stat -c '%U %a %F' "$bpf" 2>&1)" "root 600 regular file"
size=$(stat -c %s "$bpf")
t_wait_no_containers 10
truncate -s 100 "$bpf"
expect_match "with a truncated cache the session still has the filter" "$(t_ssh "$d" -- 'keyctl add user k v @u 2>&1')" \
	"add_key: Operation not permitted"
expect_eq "and the cache is whole again" "$(stat -c %s "$bpf")" "$size"
t_wait_no_containers 10
printf 'NSISOBPF' | dd of="$bpf" bs=1 seek=8 conv=notrunc 2>/dev/null # (another key)
chmod 0644 "$bpf"
expect_eq "with a stale, world-readable cache the session still has the filter" "$(t_ssh "$d" -- "$status")" \
	"CapBnd:0000000000000000,NoNewPrivs:1,Seccomp:2,"
expect_eq "and the cache is written anew, root-only" "$(stat -c '%a %s' "$bpf")" "600 $size"
# (copied into the home: the build tree may live under /tmp or /var/tmp,
# which are the container's own)
home_d=$(getent passwd "$d" | cut -d: -f6)
install -m 0755 "$NSISO_TIOCSTI" "$home_d/tiocsti"
expect_eq "THREATS 9: TIOCSTI on the session's tty is refused" "$(t_ssh "$d" -tt -- "$home_d/tiocsti" | tr -d '\r')" EPERM
expect_eq "strace still works on the user's own processes" "$(t_ssh "$d" -- 'strace -f -o /dev/null true; echo $?')" 0
expect_match "gdb -batch still works" "$(t_ssh "$d" -- 'gdb -batch -ex run --args /bin/true 2>&1 | tail -n1')" \
	"exited normally"
expect_match "a setuid binary gains nothing" "$(t_ssh "$d" -- 'su -c id root </dev/null 2>&1; echo rc=$?')" "rc=1$"

# Per-user overrides.
expect_eq "override: no filter, no no_new_privs, cap_net_raw kept" "$(t_ssh "$o" -- "$status")" \
	"CapBnd:0000000000002000,NoNewPrivs:0,Seccomp:0,"
expect_eq "capsh --print agrees: cap_net_raw only" "$(t_ssh "$o" -- '/usr/sbin/capsh --print' | grep '^Bounding set')" "Bounding set =cap_net_raw"
expect_match "override: keyctl works without the filter" "$(t_ssh "$o" -- 'keyctl add user k v @u 2>&1')" "^[0-9]+$"
expect_eq "rlimit_nofile soft" "$(t_ssh "$o" -- 'ulimit -Sn')" 1000
expect_eq "rlimit_nofile hard" "$(t_ssh "$o" -- 'ulimit -Hn')" 2000
expect_eq "rlimit_nproc" "$(t_ssh "$o" -- 'ulimit -u')" 300
expect_eq "the default user keeps sshd's limits" "$(t_ssh "$d" -- 'ulimit -Hn')" "$(ulimit -Hn)"
out=$("$NSISO_PREFIX/sbin/nsiso" explain "$o" --config "$pol")
expect_match "explain shows the limit and its source" "$out" "rlimit_nofile += 1000:2000 +# $pol:2:\[user $o\]"
expect_match "explain shows the capabilities" "$out" "capabilities += cap_net_raw +# $pol:2:\[user $o\]"

t_wait_no_containers 10
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
