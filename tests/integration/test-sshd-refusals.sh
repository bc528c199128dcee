#!/bin/bash
# Through a real sshd: every failure refuses the login, runs nothing on the
# host, and leaves one log line naming user, step and cause.
. "$(dirname "$0")/lib.sh"
t_init
good=$(t_policy good.conf '[default]
hostname = ok-%u')
t_sshd "config=$good" || exit 1
u=nsisof$$; n=nsisofn$$
t_user "$u" && t_user "$n" nosubids || exit 1

expect_eq "a good policy lets the login in" "$(t_ssh "$u" -- hostname)" "ok-$u"

# With a pty too, the refused user's client gets the one line.
out=$(t_ssh "$n" -tt -- echo RAN 2>&1 | tr -d '\r')
expect_match "with a pty: the client is told in one line" "$out" \
	"^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ idmap\)$"

# login_refused WHAT USER LOG-REGEX: the command must not run anywhere.
login_refused() {
	local what=$1 user=$2 re=$3 marker="/tmp/nsiso-ran-$$-$RANDOM"
	cp "$T_DIR/syslog" "$T_DIR/syslog.before"
	t_ssh "$user" -- "touch $marker; echo RAN" > "$T_DIR/out" 2>&1
	local rc=$?
	expect_ne "$what: ssh fails" "$rc" 0
	# (Debian's sshd sends PAM's messages of a session without a pty on
	# the channel's stdout)
	local step=${re#*step=}; step=${step%% *}
	expect_match "$what: the client gets one line, with a reference, and nothing of the command" \
		"$(cat "$T_DIR/out")" \
		"^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ $step\)$"
	[ -e "$marker" ] && not_ok "$what: the command ran on the host" || ok "$what: no host shell"
	rm -f "$marker"
	sleep 0.2
	local new
	new=$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep pam_nsiso | grep refused)
	expect_eq "$what: one refusal line" "$(echo "$new" | grep -c refused)" 1
	expect_match "$what: it names user, step and cause" "$new" "$re"
}

# A policy that was never valid since boot (no last valid one to fall back
# on) refuses; so does one that is not root's alone.
bad=$(t_policy bad.conf '[default]
namespaces = pid mount
hostname = x y')
t_pam_args "config=$bad"
# (u's container from the first login may still be in its grace: the
# supervisor refuses then, with the same cause)
login_refused "invalid policy, none valid since boot" "$u" "user=$u step=policy error=EINVAL .*hostname"
t_wait_no_containers 10
login_refused "invalid policy, none valid since boot, no container" "$u" "user=$u step=policy error=EINVAL errno=22 detail=\"no valid policy since boot: $bad:[0-9]+: \[default\] hostname"
ww=$(t_policy ww.conf '[default]'); chmod 0666 "$ww"
t_pam_args "config=$ww"
login_refused "world-writable policy, none valid since boot" "$u" "user=$u step=policy error=EPERM"
t_pam_args "config=$good"

# The last valid policy (docs/ARCHITECTURE.md): good.conf validated at the
# first login above and was kept. Broken now, it is not used: logins run
# under the kept one, with a loud line each; nsiso check and list say so.
nsiso=$NSISO_PREFIX/sbin/nsiso
key=${good//%/%25}; key=${key//\//%2F}
expect_eq "the valid policy was kept, root's alone" "$(stat -c '%U %a' "/run/nsiso/good/$key")" "root 700"
# (the kept policy exempts n, whom the helper answers with no container)
printf '[global]\nexempt = %s\n[default]\nhostname = ok-%%u\n' "$n" > "$good"
expect_eq "the policy that will be kept lets the login in" "$(t_ssh "$u" -- hostname)" "ok-$u"
t_wait_no_containers 10
printf '[default]\nbogus = 1\n' > "$good"
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
expect_eq "broken while nobody is logged in: a login runs under the last valid policy" \
	"$(t_ssh "$u" -- hostname)" "ok-$u"
expect_eq "and a user it exempts logs in on the host (the helper's answer carries no error)" \
	"$(t_ssh "$n" -- 'readlink /proc/self/ns/user')" "$(readlink /proc/$$/ns/user)"
sleep 0.2
expect_match "one loud line names the policy, the user and the first error" \
	"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep INVALID)" \
	"nsiso-(helper|sup)\[[0-9]+\]: policy=$good INVALID: user=$u runs under the last valid policy \(kept [0-9-]+ [0-9:]+\); first error: \"$good:[0-9]+: \[default\] unknown key 'bogus'"
out=$("$nsiso" check --config "$good" 2>&1); rc=$?
expect_eq "nsiso check fails for the broken policy" "$rc" 1
expect_match "and says the last valid one applies" "$out" "logins run under the last valid policy, kept [0-9-]+ [0-9:]+"
t_ssh_bg "$u" -- 'sleep 20; echo survived'; hold=$T_BG
for i in $(seq 1 50); do [ -S "/run/nsiso/$(id -u "$u").sock" ] && break; sleep 0.1; done
cp "$T_DIR/syslog" "$T_DIR/syslog.before"
expect_eq "broken while the container is up: a second session joins it" "$(t_ssh "$u" -- hostname)" "ok-$u"
sleep 0.2
expect_match "the supervisor logs the same loud line" \
	"$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep INVALID)" \
	"nsiso-sup\[[0-9]+\]: policy=$good INVALID: user=$u runs under the last valid policy"
expect_match "nsiso list warns about the broken policy" "$("$nsiso" list 2>&1 >/dev/null)" \
	"^warning: policy $good is invalid \(first error: $good:[0-9]+: \[default\] unknown key 'bogus'"
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_wait_no_containers 10
# Fixed, it applies at once, and the warning is gone.
printf '[default]\nhostname = fixed-%%u\n' > "$good"
expect_eq "a fixed policy applies at once" "$(t_ssh "$u" -- hostname)" "fixed-$u"
expect_eq "nsiso list no longer warns" "$("$nsiso" list 2>&1 >/dev/null | grep -c "policy $good")" 0
printf '[default]\nhostname = ok-%%u\n' > "$good"
t_wait_no_containers 10

login_refused "user without subordinate ids" "$n" "user=$n step=idmap error=ERANGE"

# A subordinate range that starts at a real user's uid: container root's
# host uid owns the container's user namespace, so it must be nobody's.
# (p is made after o, so o's own ids lie below the range)
o=nsisofo$$; p=nsisofp$$
t_user "$o" nosubids && t_user "$p" nosubids || exit 1
base=$(id -u "$p")
usermod --add-subuids "$base-$((base + 65535))" --add-subgids "$base-$((base + 65535))" "$o"
login_refused "a subordinate range that starts at another user's uid" "$o" \
	"user=$o step=idmap error=EEXIST .*starts at uid $base, which is user $p's"

t_pam_args "config=$T_DIR/etc/absent.conf"
out=$(t_ssh "$u" -- hostname)
expect_eq "an absent policy means the built-in defaults" "$out" "$u"
sleep 0.2
expect_match "the defaults are logged" "$(grep pam_nsiso "$T_DIR/syslog" | tail -n 3)" "policy=$T_DIR/etc/absent.conf absent: built-in defaults apply"

# A failure inside the supervisor, after the container exists (a network
# whose bridge is not a bridge): refused, and everything undone.
badnet=$(t_policy badnet.conf "[network bad]
bridge = lo
subnet = 10.239.0.0/24
[default]
network = bad")
t_wait_no_containers 10
t_pam_args "config=$badnet"
login_refused "a network whose bridge is an existing non-bridge" "$u" "user=$u step=net error=EEXIST errno=17 detail=\"lo exists and is not a bridge\""
t_wait_no_containers 10
expect_eq "the refused first login left no state file, cgroup or veth" \
	"$(ls /run/nsiso 2>/dev/null | grep -vxE 'net|good|seccomp\.bpf|sweep|stats' | wc -l) $(ls -d /sys/fs/cgroup/*/nsiso/"$u" 2>/dev/null | wc -l) $(ip -o link | grep -c ': nsv')" \
	"0 0 0"
expect_eq "nor a container process" "$(pgrep -u "$u" | wc -l)" 0

# The module without its helper.
sed -i "s|$T_MODULE.*|$NSISO_MODULE_NOHELPER config=$good|" "/etc/pam.d/$T_SERVICE"
login_refused "missing helper" "$u" "user=$u step=helper error=ENOENT"

t_wait_no_containers 10
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
