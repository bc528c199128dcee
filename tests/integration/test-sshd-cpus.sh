#!/bin/bash
# cpus = N (issue 25): the container's cpuset holds N of the host's CPUs,
# so nproc inside says N and no process of the container can run elsewhere
# (taskset cannot widen it); nsiso show and nsiso-status say which; a
# policy without the key gives every CPU, and N above the host's count
# gives all of them; cpus cannot change in a live container.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
one=nscpu$$; all=nscpua$$; many=nscpum$$
pol=$(t_policy cpus.conf "[default]
linger = no
[user $one]
cpus = 1
[user $many]
cpus = 64")
t_sshd "config=$pol" || exit 1
t_user "$one" && t_user "$all" && t_user "$many" || exit 1
# (a copy of nsiso named nsiso-status in the home: the build tree may be under /tmp)
status=$(getent passwd "$one" | cut -d: -f6)/nsiso-status
install -m 0755 "$NSISO" "$status"
host_cpus=$(nproc --all)
cpuset=$(findmnt -n -r -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /(^|,)cpuset(,|$)/ {print $1; exit}')
[ -z "$cpuset" ] && cpuset=$(findmnt -n -r -t cgroup2 -o TARGET | head -n1)

expect_match "explain: cpus = 1 from the user's section" "$("$NSISO" explain "$one" --config "$pol")" '^ *cpus += 1 '
expect_match "explain: cpus = all by default" "$("$NSISO" explain "$all" --config "$pol")" '^ *cpus += all '

t_ssh_bg "$one" -- 'sleep 300'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$one" -x sleep >/dev/null && break; sleep 0.1; done
out=$(t_ssh "$one" -- 'nproc; sed -n "s/^Cpus_allowed_list:\t//p" /proc/self/status; taskset -pc 0-'"$((host_cpus - 1))"' $$ >/dev/null 2>&1; nproc')
expect_eq "cpus = 1: nproc inside says 1" "$(printf '%s\n' "$out" | sed -n 1p)" 1
group=$(cat "$cpuset/nsiso/$one/cpuset.cpus" 2>/dev/null)
expect_match "the container's cpuset holds one CPU of the host's" "$group" '^[0-9]+$'
expect_eq "the session may run only there" "$(printf '%s\n' "$out" | sed -n 2p)" "$group"
expect_eq "taskset cannot widen it" "$(printf '%s\n' "$out" | sed -n 3p)" 1
expect_match "nsiso show says cpus=1" "$("$NSISO" show "$one")" '^limits: .* cpus=1$'
expect_match "nsiso-status inside names the CPU" "$(t_ssh "$one" -- "$status")" \
	"^cpus           $group \\(cpus = 1\\)\$"
out=$("$NSISO" set "$one" cpus=2 2>&1); rc=$?
expect_eq "nsiso set cpus=2: exit 2" "$rc" 2
expect_match "cpus cannot change in a live container" "$out" 'cpus cannot change in a live container'
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null

expect_eq "no cpus key: every CPU ($host_cpus)" "$(t_ssh "$all" -- nproc)" "$host_cpus"
expect_eq "cpus = 64 on a host of $host_cpus: all of them" "$(t_ssh "$many" -- nproc)" "$host_cpus"
t_wait_no_containers 10 || not_ok "the containers did not end"
expect_eq "no cpuset group is left" "$(ls -d "$cpuset"/nsiso/nscpu* 2>/dev/null | wc -l)" 0
t_finish
