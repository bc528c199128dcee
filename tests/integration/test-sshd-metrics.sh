#!/bin/bash
# Metrics, what the user sees and the journal's fields (issue 25), through
# a real sshd:
#  - nsiso metrics parses with Prometheus' own text-format parser
#    (python3-prometheus-client) and its counters move with logins (created,
#    joined, also a whole join as su makes it), a refusal (step idmap) and
#    an OOM kill, by exactly one each;
#    the creation histogram counts the one creation; no per-user label
#    unless --per-user; --textfile writes DIR/nsiso.prom and nothing else;
#    the policy's hash changes with the file, and an invalid policy shows
#    valid="0" and the last valid copy in use;
#  - nsiso-status inside the container, as the user: the container's id (its
#    supervisor's), limits, usage, the OOM kills, the idle deadline of the
#    pty session asking; on the host it says there is no container;
#  - each decision as a journal entry with its fields, received on a stand-in
#    of journald's socket: the refusal with NSISO_STEP=idmap, its MESSAGE the
#    authpriv line as pam_syslog writes it (and not also sent to /dev/log),
#    the session with NSISO_CONTAINER.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
PY=/usr/bin/python3
u=nsmet$$; n=nsmetn$$
pol=$(t_policy metrics.conf "[default]
namespaces = pid mount ipc uts net user cgroup
pids_max = 200
memory_max = 64M
idle_timeout = 1h
linger = no")

# A stand-in for journald's socket (this host has none): what the module
# sends there is what journald would store.
jdir=/run/systemd/journal
made_jdir=""
if [ -e "$jdir/socket" ]; then
	not_ok "a journald socket exists here: the stand-in would take its place"
else
	[ -d "$jdir" ] || { mkdir -p "$jdir" && made_jdir=1; }
	"$NSISO_LOGCATCH" "$jdir/socket" "$T_DIR/journal" > "$T_DIR/journal.ready" & jpid=$!
	for i in $(seq 1 50); do grep -q ready "$T_DIR/journal.ready" 2>/dev/null && break; sleep 0.05; done
fi
j_cleanup() {
	[ -n "${jpid:-}" ] && { kill "$jpid" 2>/dev/null; wait "$jpid" 2>/dev/null; }
	[ -n "$made_jdir" ] && rmdir "$jdir" /run/systemd 2>/dev/null
	t_cleanup
}
trap j_cleanup EXIT

t_sshd "config=$pol" || exit 1
t_user "$u" && t_user "$n" nosubids || exit 1
home=$(getent passwd "$u" | cut -d: -f6)
install -m 0755 "$NSISO_HOG" "$home/"
# (nsiso-status is a link to nsiso; a copy in the home, since the build
# tree may live under /tmp or /var/tmp, which are the container's own)
STATUS=$home/nsiso-status
install -m 0755 "$NSISO" "$STATUS"
uid=$(id -u "$u"); nuid=$(id -u "$n")
svc=$T_SERVICE

# metrics FILE [ARGS]: nsiso metrics into FILE, then each sample as
# "name{k=v,...} value" through prometheus_client's parser (which fails on
# anything the text format does not allow).
metrics() {
	local f=$1; shift
	"$NSISO" metrics --config "$pol" "$@" > "$f.prom" || return 1
	"$PY" - "$f.prom" > "$f" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %s" % (s.name, labels, repr(s.value)))
EOF
}
# get FILE SAMPLE: a sample's value, or 0 when absent.
get() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' "$1"; }
delta() { "$PY" -c "print(int($(get "$2" "$3") - $(get "$1" "$3")))"; }

metrics "$T_DIR/m0" || not_ok "nsiso metrics before any login failed"
expect_eq "before: the text parses, and no login of this service is counted" \
	"$(get "$T_DIR/m0" "nsiso_logins_total{container=created,service=$svc}")" 0

# ---- logins, a refusal --------------------------------------------------------------
t_ssh_bg "$u" -- 'sleep 300'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.1; done
expect_eq "a second login joins" "$(t_ssh "$u" -- 'echo in')" in
out=$(t_ssh "$n" -- 'echo in' 2>&1)
expect_nomatch "the user without subordinate ids is refused" "$out" '^in$'
metrics "$T_DIR/m1" || not_ok "nsiso metrics failed"
m0=$T_DIR/m0; m1=$T_DIR/m1
expect_eq "nsiso_logins_total{container=created}: +1" "$(delta "$m0" "$m1" "nsiso_logins_total{container=created,service=$svc}")" 1
expect_eq "nsiso_logins_total{container=joined}: +1" "$(delta "$m0" "$m1" "nsiso_logins_total{container=joined,service=$svc}")" 1
expect_eq "nsiso_refusals_total{step=idmap}: +1" "$(delta "$m0" "$m1" "nsiso_refusals_total{service=$svc,step=idmap}")" 1
expect_eq "the creation histogram counts one more" "$(delta "$m0" "$m1" "nsiso_container_create_seconds_count{}")" 1
expect_eq "its +Inf bucket is its count" "$(get "$m1" 'nsiso_container_create_seconds_bucket{le=+Inf}')" \
	"$(get "$m1" 'nsiso_container_create_seconds_count{}')"
sum=$(delta "$m0" "$m1" "nsiso_container_create_seconds_sum{}")
# (the sum moved by the creation's time: between 0 and the 30 s the module waits at most)
s0=$(get "$m0" 'nsiso_container_create_seconds_sum{}'); s1=$(get "$m1" 'nsiso_container_create_seconds_sum{}')
expect_eq "and its sum moved by the creation's time (0 < d < 30 s)" "$("$PY" -c "print(0 < $s1 - $s0 < 30)")" True
expect_eq "nsiso_containers is the number of live containers" "$(get "$m1" 'nsiso_containers{}')" \
	"$(find /run/nsiso -maxdepth 1 -name '*.sock' | wc -l).0"
expect_eq "nsiso_sessions: the one held" "$(get "$m1" 'nsiso_sessions{}')" 1.0
expect_eq "no per-user label by default" "$(grep -c -- "$u" "$m1.prom")" 0
metrics "$T_DIR/m1u" --per-user || not_ok "nsiso metrics --per-user failed"
expect_eq "--per-user: the user's sessions" "$(get "$T_DIR/m1u" "nsiso_container_sessions{user=$u}")" 1.0

# A whole join (su, login, cron, and sshd without the auth line) is counted
# too: the module counts after it became the container's root, through the
# file it opened before (it used to lose these: EACCES on root's 0600 file).
mkdir -p "$T_DIR/pamwhole"
echo "session required $NSISO_MODULE config=$pol" > "$T_DIR/pamwhole/nsmetwhole"
out=$("$NSISO_PAMDRIVE" "$T_DIR/pamwhole" nsmetwhole "$u" -- /bin/true 2>&1); rc=$?
expect_eq "a whole join opens its session (pamdrive, as su does)" "$rc" 0
held_userns=$(stat -L -c %i "/proc/$(pgrep -u "$u" -x sleep | head -n 1)/ns/user" 2>/dev/null)
expect_eq "and it is in the container's user namespace" \
	"$(printf '%s\n' "$out" | sed -n 's/^ns-after: user=\([0-9]*\) .*/\1/p')" "${held_userns:-(no held session of $u seen)}"
metrics "$T_DIR/m1w" || not_ok "nsiso metrics failed"
expect_eq "nsiso_logins_total{container=joined} of the whole join's service: +1" \
	"$(delta "$m1" "$T_DIR/m1w" "nsiso_logins_total{container=joined,service=nsmetwhole}")" 1

# ---- nsiso-status inside -----------------------------------------------------------
out=$(t_ssh "$u" -- "$STATUS")
sup=$(printf '%s\n' "$out" | sed -n "s/^container      nsiso-$uid-\([0-9]*\) of $u, up since .* UTC (.*)\$/\1/p")
expect_eq "nsiso-status inside names the container, nsiso-UID-PID of its supervisor" \
	"$(ps -o comm= -p "${sup:-0}" 2>/dev/null)" nsiso-sup
expect_match "the memory line: usage, the policy's memory_max" "$out" \
	'^memory         [0-9.]+ MiB in use, memory_max 64\.0 MiB, memory_high max$'
pids=$(printf '%s\n' "$out" | sed -n 's/^pids           \([0-9]*\) of 200 (pids_max)$/\1/p')
[ -n "$pids" ] && [ "$pids" -ge 2 ] && ok "the pids line: $pids of 200 (pids_max)" || not_ok "the pids line: $out"
expect_match "the idle deadline" "$out" '^idle_timeout   60 min without input ends a session with a terminal$'
expect_match "no max_session" "$out" '^max_session    none$'
out=$(t_ssh "$u" -tt -- "$STATUS" < /dev/null 2>&1 | tr -d '\r')
expect_match "a pty session sees its own idle time and deadline" "$out" \
	'^               session [0-9]+ \(pts/[0-9]+\): idle [0-9]+ s, ends in (59|60) min unless there is input$'
out=$("$NSISO_PREFIX/bin/nsiso-status" 2>&1); rc=$?
expect_eq "on the host: exit 1" "$rc" 1
expect_match "and why" "$out" '^nsiso: no container status here \(Connection refused\)'

# ---- an OOM kill ---------------------------------------------------------------------
expect_eq "100 MiB under memory_max 64M is OOM-killed" "$(t_ssh "$u" -- "$home/hog 100 >/dev/null; echo \$?")" 137
for i in $(seq 1 30); do
	metrics "$T_DIR/m2"
	[ "$(delta "$m1" "$T_DIR/m2" 'nsiso_oom_kills_total{}')" -ge 1 ] && break
	sleep 0.1
done
expect_eq "nsiso_oom_kills_total: +1" "$(delta "$m1" "$T_DIR/m2" 'nsiso_oom_kills_total{}')" 1
expect_match "nsiso-status counts it" "$(t_ssh "$u" -- "$STATUS")" '^oom kills      1$'

# ---- --textfile, the policy ------------------------------------------------------------
tf=$T_DIR/textfile; install -d -m 0755 "$tf"
"$NSISO" metrics --config "$pol" --textfile "$tf"; rc=$?
expect_eq "--textfile DIR: exit 0" "$rc" 0
expect_eq "it wrote DIR/nsiso.prom, 0644, and nothing else" "$(ls -A "$tf" | tr '\n' ' ')$(stat -c %a "$tf/nsiso.prom")" "nsiso.prom 644"
expect_eq "which parses" "$("$PY" -c "
from prometheus_client.parser import text_string_to_metric_families as p
print(len(list(p(open('$tf/nsiso.prom').read()))) > 5)")" True
h1=$(sed -n 's/^nsiso_policy_info{.*hash="\([0-9a-f]*\)",valid="1"} 1$/\1/p' "$tf/nsiso.prom")
expect_match "the policy's hash, valid" "$h1" '^[0-9a-f]{16}$'
expect_eq "the last valid copy is not in use" "$(get "$m1" 'nsiso_policy_last_good_in_use{}')" 0.0
printf '\npids_max = 100\n' >> "$pol"
h2=$("$NSISO" metrics --config "$pol" | sed -n 's/^nsiso_policy_info{.*hash="\([0-9a-f]*\)",valid="1"} 1$/\1/p')
expect_ne "a change of the policy changes the hash" "$h2" "$h1"
cp "$pol" "$T_DIR/pol.good"
printf '\n[default\n' >> "$pol"
t_ssh "$u" -- true
metrics "$T_DIR/m3"
expect_eq "an invalid policy: valid=0" "$(grep -c 'valid=0}' "$T_DIR/m3")" 1
expect_eq "and the last valid copy in use" "$(get "$T_DIR/m3" 'nsiso_policy_last_good_in_use{}')" 1.0
cp "$T_DIR/pol.good" "$pol"

# ---- the journal ---------------------------------------------------------------------
# (entries in the stand-in's file, one "NAME=value" per line, each beginning with PRIORITY=)
entry() {
	awk -v id="$1" -v k="$2" '
	function check() { if (index(e, "\nMESSAGE_ID=" id "\n") && index(e, "\n" k "\n")) { printf "%s", e; found = 1; exit } }
	/^PRIORITY=/ { check(); e = "" }
	{ e = e $0 "\n" }
	END { if (!found) check() }' "$T_DIR/journal"
}
ref=$(entry 3f8c3a9ed67a4308b5e1f57eef4b7fa7 "NSISO_USER=$n")
expect_match "the refusal's entry: NSISO_STEP=idmap" "$ref" '^NSISO_STEP=idmap$'
expect_match "NSISO_UID" "$ref" "^NSISO_UID=$nuid\$"
expect_match "NSISO_SERVICE" "$ref" "^NSISO_SERVICE=$svc\$"
expect_match "PRIORITY err" "$ref" '^PRIORITY=3$'
expect_match "SYSLOG_FACILITY authpriv" "$ref" '^SYSLOG_FACILITY=10$'
msg=$(printf '%s\n' "$ref" | sed -n 's/^MESSAGE=//p')
expect_match "its MESSAGE is the authpriv line as pam_syslog writes it" "$msg" \
	"^pam_nsiso\\($svc:session\\): refused: user=$n step=idmap error=ERANGE "
expect_match "its identifier and pid are sshd's" "$ref" "^SYSLOG_IDENTIFIER=$svc\$"
expect_eq "it is said once: journald took it, so it is not also on /dev/log" \
	"$(grep -caF -- "refused: user=$n step=idmap" "$T_DIR/syslog")" 0
ses=$(entry 64729e48e8364eff9608cbc8335b46a9 "NSISO_USER=$u")
expect_match "the session's entry names the container" "$ses" "^NSISO_CONTAINER=nsiso-$uid-$sup\$"
expect_match "and its decision" "$ses" '^NSISO_DECISION=login$'
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_wait_no_containers 10 || not_ok "the container did not end"
for i in $(seq 1 30); do grep -q "^MESSAGE_ID=8ea34813164d4180ad361da62b6e0176$" "$T_DIR/journal" && break; sleep 0.1; done
end=$(entry 8ea34813164d4180ad361da62b6e0176 "NSISO_CONTAINER=nsiso-$uid-$sup")
expect_match "the container's end, from its supervisor" "$end" '^SYSLOG_IDENTIFIER=nsiso-sup$'
t_finish
