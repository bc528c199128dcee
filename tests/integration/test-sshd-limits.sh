#!/bin/bash
# cgroup limits through sshd: one group per container in every hierarchy,
# pids_max stops a fork loop of that user only, memory_max OOM-kills inside
# that container only, the cgroup namespace is rooted at the container's
# group, and no group is left after logout or after a supervisor crash.
. "$(dirname "$0")/lib.sh"
t_init
l=nslim$$; f=nsfree$$; w=nsio$$
pol=$(t_policy limits.conf "[default]
[user $l]
pids_max = 40
memory_max = 64M
memory_high = 48M
cpu_weight = 50
cpu_max = 50%
[user $w]
io_weight = 200")
t_sshd "config=$pol" || exit 1
t_user "$l" && t_user "$f" && t_user "$w" || exit 1
# (copied into the homes: the build tree may live under /tmp or /var/tmp,
# which are the container's own)
home_l=$(getent passwd "$l" | cut -d: -f6); home_f=$(getent passwd "$f" | cut -d: -f6)
for h in "$home_l" "$home_f"; do install -m 0755 "$NSISO_FORKER" "$NSISO_HOG" "$h/"; done

# The hierarchies of this host (mount points of cgroup v1 memory, pids,
# cpu, and of cgroup2).
hier() { findmnt -n -r -t "$1" -o TARGET,OPTIONS | awk -v c="$2" '$2 ~ ("(^|,)" c "(,|$)") {print $1; exit}'; }
mem=$(hier cgroup memory); pids=$(hier cgroup pids); cpu=$(hier cgroup cpu); v2=$(findmnt -n -r -t cgroup2 -o TARGET | head -n1)
group_of() { echo "$1/nsiso/$2"; }
# The init whose user namespace maps uid to itself: that user's container's.
init_of() {
	local uid s
	uid=$(id -u "$1")
	for s in $(pgrep -x nsiso-init); do
		grep -Eq "^ *$uid +$uid +1$" "/proc/$s/uid_map" 2>/dev/null && { echo "$s"; return; }
	done
}
no_group_of() { ls -d /sys/fs/cgroup/*/nsiso/"$1" /sys/fs/cgroup/*/nsiso/"$1"@* /sys/fs/cgroup/nsiso/"$1" 2>/dev/null | wc -l; }

# A session holds the container while we look at it from the host.
t_ssh_bg "$l" -- 'sleep 60'; hold=$T_BG
for i in $(seq 1 100); do [ -n "$(init_of "$l")" ] && pgrep -u "$l" -x sleep >/dev/null && break; sleep 0.1; done
init=$(init_of "$l")
expect_match "the container's init is found" "$init" '^[0-9]+$'
cg=$(cat "/proc/$init/cgroup")
[ -n "$pids" ] && expect_match "the init is in pids:/nsiso/$l" "$cg" "^[0-9]+:pids:/nsiso/$l$"
[ -n "$mem" ] && expect_match "the init is in memory:/nsiso/$l" "$cg" "^[0-9]+:memory:/nsiso/$l$"
[ -n "$cpu" ] && expect_match "the init is in cpu:/nsiso/$l (cpu limits set)" "$cg" "^[0-9]+:cpu(,cpuacct)?:/nsiso/$l$"
[ -n "$v2" ] && expect_match "the init is in the v2 group /nsiso/$l" "$cg" "^0::/nsiso/$l$"
sleeper=$(pgrep -u "$l" -x sleep | head -n1)
expect_eq "the session's command is in the same groups as the init" "$(cat "/proc/$sleeper/cgroup")" "$cg"
child=$(ps -o ppid= -p "$sleeper" | tr -d ' ')
monitor=$(ps -o ppid= -p "$child" | tr -d ' ')
# The join is split: sshd's session child (running as the user) counts; its
# root monitor stays in the cgroup of the login session, where logind (or
# the admin) keeps it.
expect_eq "sshd's session child is in the container's groups" "$(cat "/proc/$child/cgroup")" "$cg"
expect_eq "sshd's monitor stays in the cgroups it came with" "$(cat "/proc/$monitor/cgroup")" "$(cat /proc/$T_SSHD_PID/cgroup)"
if [ -n "$pids" ]; then
	expect_eq "pids.max is the policy's" "$(cat "$(group_of "$pids" "$l")/pids.max")" 40
fi
if [ -n "$mem" ]; then
	expect_eq "memory.limit_in_bytes is the policy's (64M)" "$(cat "$(group_of "$mem" "$l")/memory.limit_in_bytes")" 67108864
	expect_eq "memory.soft_limit_in_bytes is memory_high (48M)" \
		"$(cat "$(group_of "$mem" "$l")/memory.soft_limit_in_bytes")" 50331648
fi
if [ -n "$cpu" ]; then
	expect_eq "cpu.shares is cpu_weight 50" "$(cat "$(group_of "$cpu" "$l")/cpu.shares")" 512
	expect_eq "cpu.cfs_quota_us is 50% of one CPU" "$(cat "$(group_of "$cpu" "$l")/cpu.cfs_quota_us")" 50000
fi
# Inside: the cgroup namespace is rooted at the container's group.
expect_eq "inside, every hierarchy shows the container's group as /" \
	"$(t_ssh "$l" -- 'cut -d: -f3 /proc/self/cgroup | sort -u')" "/"

# pids_max: a fork loop stops at the limit; another user logs in meanwhile.
t_ssh_bg "$l" -- "$home_l/forker 500 6 > $home_l/forker.out"; bomb=$T_BG
for i in $(seq 1 100); do grep -q forked "$home_l/forker.out" 2>/dev/null && break; sleep 0.1; done
res=$(cat "$home_l/forker.out" 2>/dev/null)
expect_match "the fork loop stopped with EAGAIN below 40 processes" "$res" '^forked=[0-9]+ error=EAGAIN$'
k=${res#forked=}; k=${k%% *}
[ -n "$pids" ] && expect_eq "pids.current is at pids.max while the loop holds" \
	"$(cat "$(group_of "$pids" "$l")/pids.current")" 40
expect_eq "another user logs in meanwhile" "$(t_ssh "$f" -- 'echo in')" in
expect_eq "that user forks 100 processes meanwhile" "$(t_ssh "$f" -- "$home_f/forker 100 0")" "forked=100 error=none"
wait "$bomb"

# memory_max: an allocation past the limit is OOM-killed in that container.
[ -n "$mem" ] && oom_before=$(awk '/^oom_kill /{print $2}' "$(group_of "$mem" "$l")/memory.oom_control")
out=$(t_ssh "$l" -- "$home_l/hog 256; echo rc=\$?")
expect_match "256 MiB in a 64M container: SIGKILLed by the OOM killer (rc 137)" "$out" '^rc=137$'
expect_nomatch "the allocation never completed" "$out" '^done$'
[ -n "$mem" ] && expect_eq "the container's group counted one OOM kill" \
	"$(awk '/^oom_kill /{print $2}' "$(group_of "$mem" "$l")/memory.oom_control")" $((oom_before + 1))
expect_eq "the container is still up (the holding session survived)" "$(kill -0 "$hold" 2>/dev/null && echo up)" up
expect_eq "an unlimited user allocates 256 MiB" "$(t_ssh "$f" -- "$home_f/hog 256")" done

# io_weight: the v1 blkio hierarchy's BFQ weight (it takes effect on the
# devices whose scheduler is bfq). A kernel built without BFQ has no weight
# file at all (CFQ's blkio.weight went with Linux 5.0): the policy asks for
# what this host cannot enforce, and the login is refused at step cgroup,
# saying why.
blkio=$(hier cgroup blkio)
if [ -n "$blkio" ] && [ -e "$blkio/blkio.bfq.weight" ]; then
	t_ssh_bg "$w" -- 'sleep 30'; hold_w=$T_BG
	for i in $(seq 1 100); do [ -n "$(init_of "$w")" ] && pgrep -u "$w" -x sleep >/dev/null && break; sleep 0.1; done
	expect_eq "io_weight 200 is the group's blkio.bfq.weight" "$(cat "$(group_of "$blkio" "$w")/blkio.bfq.weight" 2>&1)" 200
	kill "$hold_w" 2>/dev/null; wait "$hold_w" 2>/dev/null
elif [ -n "$blkio" ]; then
	t_logcatch
	seen=$(wc -l < "$T_DIR/syslog")
	out=$(t_ssh "$w" -- 'echo in' 2>&1 | tr -d '\r')
	expect_match "no BFQ in this kernel: io_weight refuses the login at step cgroup" "$out" \
		'^nsiso: this session could not be isolated; please contact the administrator \(reference: .* cgroup\)$'
	expect_nomatch "the refused login ran nothing" "$out" '^in$'
	if [ -n "${T_LOG_PID:-}" ]; then
		expect_match "the log says why (io_weight, no weight file)" "$(tail -n +$((seen + 1)) "$T_DIR/syslog")" \
			"refused: user=$w .*step=cgroup .*io_weight: this host's block layer offers no weight \\(no blkio.weight or blkio.bfq.weight\\)"
	else
		echo "# (the log is the host's /dev/log: its line is not read here)"
	fi
	expect_eq "no group of $w is left" "$(no_group_of "$w")" 0
fi

# explain shows each limit.
out=$("$NSISO_PREFIX/sbin/nsiso" explain "$l" --config "$pol")
expect_match "explain: memory_max" "$out" "memory_max += 64M +# $pol:2:\[user $l\]"
expect_match "explain: pids_max" "$out" "pids_max += 40 "
expect_match "explain: cpu_max" "$out" "cpu_max += 50000 100000 "
expect_match "explain: io_weight unset for $l" "$out" "io_weight += unset +# built-in"
expect_match "explain: io_weight for $w" "$("$NSISO_PREFIX/sbin/nsiso" explain "$w" --config "$pol")" "io_weight += 200 "

# After logout no group of that container is left.
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_wait_no_containers 10
expect_eq "no group of $l is left after logout" "$(no_group_of "$l")" 0

# A supervisor that crashed leaves its group; the user's next container
# finds it in the way (it is nsiso/USER@2), and its teardown sweeps it.
t_ssh_bg "$l" -- 'sleep 60'; hold=$T_BG
for i in $(seq 1 100); do [ -n "$(init_of "$l")" ] && pgrep -u "$l" -x sleep >/dev/null && break; sleep 0.1; done
sup=$(ps -o ppid= -p "$(init_of "$l")" | tr -d ' ')
kill -KILL "$sup"
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
for i in $(seq 1 50); do pgrep -u "$l" >/dev/null || break; sleep 0.1; done
[ -n "$pids" ] && expect_eq "the crashed container's group is still there" "$(ls -d "$(group_of "$pids" "$l")" 2>/dev/null | wc -l)" 1
rm -f "/run/nsiso/$(id -u "$l").sock"
expect_eq "another user's session" "$(t_ssh "$f" -- 'echo in')" in
expect_eq "the user's next session" "$(t_ssh "$l" -- 'echo in')" in
expect_match "it is in the group beside the orphaned one" "$(grep "container created user=$l " "$T_DIR/syslog" | tail -n1)" \
	"cgroup=nsiso/$l@2 "
t_wait_no_containers 10
sleep 0.5
expect_eq "the orphaned group was swept by its teardown" "$(no_group_of "$l")" 0
t_finish
