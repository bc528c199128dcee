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

printf '[default]\nnamespaces = pid mount\nhostname = x y\n' > "$good"
login_refused "invalid policy" "$u" "user=$u step=policy error=EINVAL .*hostname"

# A policy that breaks while a container is up refuses new sessions too;
# the session already in keeps running.
printf '[default]\n' > "$good"
t_ssh_bg "$u" -- 'sleep 20; echo survived'; hold=$T_BG
for i in $(seq 1 50); do [ -S "/run/nsiso/$(id -u "$u").sock" ] && break; sleep 0.1; done
expect_eq "a second session joins while the policy is valid" "$(t_ssh "$u" -- hostname)" "$u"
printf '[default]\nbogus = 1\n' > "$good"
login_refused "policy broken while the container is up" "$u" "user=$u step=policy error=EINVAL .*bogus"
printf '[default]\nhostname = ok-%%u\n' > "$good"
expect_eq "the container outlived the refusal" "$([ -S "/run/nsiso/$(id -u "$u").sock" ] && echo up)" up
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null

printf '[default]\n' > "$good"; chmod 0666 "$good"
login_refused "world-writable policy" "$u" "user=$u step=policy error=EPERM"
chmod 0644 "$good"

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
t_pam_args "config=$badnet"
login_refused "a network whose bridge is an existing non-bridge" "$u" "user=$u step=net error=EEXIST errno=17 detail=\"lo exists and is not a bridge\""
t_wait_no_containers 10
expect_eq "the refused first login left no state file, cgroup or veth" \
	"$(ls /run/nsiso 2>/dev/null | grep -vx net | wc -l) $(ls -d /sys/fs/cgroup/*/nsiso/"$u" 2>/dev/null | wc -l) $(ip -o link | grep -c ': nsv')" \
	"0 0 0"
expect_eq "nor a container process" "$(pgrep -u "$u" | wc -l)" 0

# The module without its helper.
sed -i "s|$T_MODULE.*|$NSISO_MODULE_NOHELPER config=$good|" "/etc/pam.d/$T_SERVICE"
login_refused "missing helper" "$u" "user=$u step=helper error=ENOENT"

t_wait_no_containers 10
expect_eq "no container is left" "$(t_user_supervisors)" 0
t_finish
