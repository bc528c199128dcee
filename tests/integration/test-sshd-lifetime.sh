#!/bin/bash
# Session lifetime (issue 25), through a real sshd:
#  - idle_timeout = 5s: a pty session whose input keeps coming (a line a
#    second for 20 s) lives on; once the input stops it is ended between 5
#    and 13 s later (the kernel moves a terminal's access time every 8 s at
#    most), after a warning on its terminal; one log line;
#  - a session without a terminal (a command) is never idle-timed: it
#    outlives the idle timeout and ends by itself;
#  - max_session = 8s: a busy container (sleep 60) is ended about 8 s after
#    it was made, after a warning on its terminal; reason=max-session.
. "$(dirname "$0")/lib.sh"
t_init
# within WHAT T0 LOW HIGH: ok when now - T0 is in [LOW, HIGH] seconds (printed)
within() {
	local e
	e=$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	echo "# $1: $e s"
	if awk -v e="$e" -v l="$3" -v h="$4" 'BEGIN { exit !(e >= l && e <= h) }'; then ok "$1 ($3 to $4 s)"; else not_ok "$1: $e s"; fi
}
u=nslfi$$; m=nslfm$$
pol=$(t_policy lifetime.conf "[default]
namespaces = pid mount ipc uts net user cgroup
linger = no
[user $u]
idle_timeout = 5s
timeout_warning = 3s
[user $m]
max_session = 8s
timeout_warning = 4s")
t_sshd "config=$pol" || exit 1
t_user "$u" || exit 1
t_user "$m" || exit 1
expect_match "explain shows idle_timeout" "$("$NSISO_PREFIX/sbin/nsiso" explain --config "$pol" "$u")" \
	"^idle_timeout += 5s +# $pol:[0-9]+:\\[user $u\\]\$"

# ---- idle_timeout -------------------------------------------------------------
mkfifo "$T_DIR/in"
# (opened read-write first: an open for reading alone would wait for a writer)
exec 3<> "$T_DIR/in"
# (not t_ssh_bg: a command put in the background gets /dev/null as its input
# unless the redirection is its own)
t_ssh_argv "$u" -tt -- 'exec bash --norc --noprofile -i'
"${T_ARGV[@]}" < "$T_DIR/in" > "$T_DIR/idle.out" 2>&1 &
sp=$!
t_ssh_bg "$u" -- 'sleep 20; echo done' > "$T_DIR/cmd.out" 2>&1; cp=$T_BG
for i in $(seq 1 20); do echo "echo tick\$((1000 + $i))" >&3; sleep 1; done
kill -0 "$sp" 2>/dev/null && ok "with input every second for 20 s, the pty session lives on" ||
	not_ok "the pty session ended while input kept coming"
expect_match "and ran the last line (its output: tick1020, where the echoed input says \$((1000 + 20)))" "$(tr -d '\r' < "$T_DIR/idle.out")" 'tick1020'
t0=$(date +%s.%N)
for i in $(seq 1 250); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sp" 2>/dev/null && not_ok "the idle session was not ended within 25 s"
within "the idle session ended 5 to 13 s after its last input (+/- 1.5 s)" "$t0" 4.5 15
out=$(tr -d '\r' < "$T_DIR/idle.out")
expect_match "its terminal was warned first" "$out" '^nsiso: no input for a while: this session ends in [0-9]+ s unless you type something \(idle_timeout\)$'
expect_match "and told why it ended" "$out" '^nsiso: this session ends: no input for too long \(idle_timeout\)$'
expect_match "one log line says so" "$(grep -a "reason=idle-timeout" "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | grep -c "user=$u ")" '^1$'
exec 3>&-
wait "$cp"
expect_eq "a command session (no terminal) outlived the idle timeout and ended by itself" "$(cat "$T_DIR/cmd.out")" done

# ---- max_session ------------------------------------------------------------------
t0=$(date +%s.%N)
t_ssh "$m" -tt -- 'sleep 60; echo slept' > "$T_DIR/max.out" 2>&1 < /dev/null
within "max_session ended the busy container about 8 s after it was made" "$t0" 7 14
out=$(tr -d '\r' < "$T_DIR/max.out")
expect_nomatch "its command did not finish" "$out" '^slept$'
expect_match "its terminal was warned" "$out" '^nsiso: this container and all its sessions end in [0-9]+ s \(max_session\)$'
expect_match "the log says why" "$(grep -a "container ended user=$m " "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | tail -n1)" 'reason=max-session$'
t_finish
