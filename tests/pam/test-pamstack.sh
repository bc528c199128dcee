#!/bin/bash
# PAM-stack tests: pam_start_confdir() with service files in a directory of
# our own, a real user, the module from the build tree (which runs the
# installed helper). Checks what open_session does, and every way it must
# refuse.
# Env: NSISO_PREFIX, NSISO_LOGCATCH, NSISO_MODULE, NSISO_MODULE_NOHELPER, NSISO_PAMDRIVE
. "$(dirname "$0")/../integration/lib.sh"
t_init
t_logcatch

conf="$T_DIR/pam.d"
install -d -m 0755 "$conf"
service() { # service NAME MODULE ARGS...
	local name=$1 mod=$2; shift 2
	printf 'session required %s %s\n' "$mod" "$*" > "$conf/$name"
}
good=$(t_policy good.conf '[default]
namespaces = pid mount ipc uts net user cgroup
hostname = pam-%u')
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/id" >/dev/null
u=nsisopam$$
t_user "$u" || exit 1
nosub=nsisopamn$$
t_user "$nosub" nosubids || exit 1
host_ns=$(t_ns_of $$)

drive() { "$NSISO_PAMDRIVE" "$@"; }

# 1. The session lands in the container.
service good "$NSISO_MODULE" "config=$good"
out=$(drive "$conf" good "$u" -- sh -c 'echo hostname=$(hostname); for t in user mnt net; do echo $t=$(readlink /proc/self/ns/$t); done; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status | tr -d "\t" | tr : =; echo uid=$(id -u); echo uid_map=$(tr -s " " < /proc/self/uid_map | sed "s/^ //" | tr "\n" ";")' 2>"$T_DIR/err")
rc=$?
expect_eq "open_session + command exit status" "$rc" 0
expect_eq "hostname from the policy" "$(t_key hostname "$out")" "pam-$u"
expect_ne "user namespace differs from the host's" "$(t_key user "$out")" "$(readlink /proc/$$/ns/user)"
expect_ne "mount namespace differs from the host's" "$(t_key mnt "$out")" "$(readlink /proc/$$/ns/mnt)"
expect_ne "net namespace differs from the host's" "$(t_key net "$out")" "$(readlink /proc/$$/ns/net)"
expect_eq "CapEff is 0" "$(t_key CapEff "$out")" 0000000000000000
expect_eq "CapPrm is 0" "$(t_key CapPrm "$out")" 0000000000000000
expect_eq "CapBnd is 0" "$(t_key CapBnd "$out")" 0000000000000000
expect_eq "uid inside is the user's" "$(t_key uid "$out")" "$(id -u "$u")"
expect_match "uid_map is keep-id: the user is itself" "$(t_key uid_map "$out")" "(^|;)$(id -u "$u") $(id -u "$u") 1;"
expect_nomatch "uid_map never maps host 0" "$(t_key uid_map "$out" | tr ';' '\n' | awk '{print $2}')" '^0$'
after=$(grep ns-after "$T_DIR/err")
expect_match "the caller itself joined the container" "$after" "mnt=$(t_key mnt "$out" | tr -dc 0-9)"

# 2. Refusals: each returns PAM_SESSION_ERR, runs nothing, logs one line.
refused() { # refused WHAT SERVICE USER LOG-REGEX
	local what=$1 svc=$2 user=$3 re=$4 marker="$T_DIR/ran-$2"
	rm -f "$marker"
	: > "$T_DIR/syslog.before"; cp "$T_DIR/syslog" "$T_DIR/syslog.before"
	local out
	out=$(drive "$conf" "$svc" "$user" -- touch "$marker" 2>/dev/null)
	expect_eq "$what: open_session refused" "$out" "open_session: PAM_SESSION_ERR"
	[ -e "$marker" ] && not_ok "$what: the command ran" || ok "$what: nothing ran"
	sleep 0.1
	local new
	new=$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep 'pam_nsiso' | grep refused)
	expect_eq "$what: exactly one refusal line" "$(echo "$new" | grep -c refused)" 1
	expect_match "$what: the line names user, step and cause" "$new" "$re"
}

bad=$(t_policy bad.conf '[default]
namespaces = pid mount bogus')
service bad "$NSISO_MODULE" "config=$bad"
refused "invalid policy" bad "$u" "user=$u step=policy error=EINVAL .*bogus"

gw=$(t_policy gw.conf '[default]')
chmod 0664 "$gw"
service gw "$NSISO_MODULE" "config=$gw"
refused "group-writable policy" gw "$u" "user=$u step=policy error=EPERM .*writable"

ln -sf "$good" "$T_DIR/etc/link.conf"
service link "$NSISO_MODULE" "config=$T_DIR/etc/link.conf"
refused "symlinked policy" link "$u" "user=$u step=policy error=ELOOP"

notroot=$(t_policy notroot.conf '[default]')
chown "$u" "$notroot"
service notroot "$NSISO_MODULE" "config=$notroot"
refused "policy owned by a user" notroot "$u" "user=$u step=policy error=EPERM .*owned by uid"

mkdir -m 0777 "$T_DIR/etc/open"
cp -p "$good" "$T_DIR/etc/open/p.conf"
service opendir "$NSISO_MODULE" "config=$T_DIR/etc/open/p.conf"
refused "policy in a world-writable directory" opendir "$u" "user=$u step=policy error=EPERM .*open"

service nohelper "$NSISO_MODULE_NOHELPER" "config=$good"
t_wait_no_containers 10 # (a container in its grace would be joined: no helper needed)
refused "missing helper" nohelper "$u" "user=$u step=helper error=ENOENT"

# on_error = allow never lets in the systemd user manager's session (its
# refusal would otherwise run the manager on the host, THREATS 43, 59);
# sshd-policy shows allow letting in what no tenant causes.
allow=$(t_policy allow.conf '[global]
on_error = allow
[default]
namespaces = pid mount ipc uts net user cgroup')
service systemd-user "$NSISO_MODULE" "config=$allow"
refused "on_error = allow: the user manager's session (service systemd-user)" systemd-user "$u" \
	"user=$u step=policy error=EPERM .*no systemd user manager for isolated users.*on_error=allow-not-applicable"

service badarg "$NSISO_MODULE" "conffig=$good"
refused_arg=$(drive "$conf" badarg "$u" -- true 2>/dev/null)
expect_eq "unknown module argument refuses" "$refused_arg" "open_session: PAM_SESSION_ERR"

refused "user without subordinate ids" good "$nosub" "user=$nosub step=idmap error=ERANGE"

# Log lines quote and escape what comes from outside: a PAM_USER with a
# space, an equals sign, a tab, a quote and an ESC forges no field.
weird=$(printf 'x y=1\t"\033[31m')
: > "$T_DIR/syslog.before"; cp "$T_DIR/syslog" "$T_DIR/syslog.before"
# (pamtester, since pamdrive wants a user that exists)
wsvc="nsiso-test-weird-$$"
printf 'session required %s config=%s\n' "$NSISO_MODULE" "$good" > "/etc/pam.d/$wsvc"
T_PAMFILES+=("/etc/pam.d/$wsvc")
out=$(pamtester "$wsvc" "$weird" open_session 2>&1)
expect_eq "a user that does not exist is refused" "$(echo "$out" | tail -n1)" \
	"pamtester: Cannot make/remove an entry for the specified session"
expect_match "the person at the terminal is told in one line, with a reference (time and step)" \
	"$(echo "$out" | head -n1)" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} user\)$'
expect_eq "one line only" "$(echo "$out" | wc -l)" 2
sleep 0.1
line=$(diff "$T_DIR/syslog.before" "$T_DIR/syslog" | grep '^>' | grep 'pam_nsiso' | grep refused)
expect_eq "the refusal line quotes and escapes the user name" "${line#*refused: }" \
	'user="x y=1\t\"\x1b[31m" step=user error=ENOENT errno=2 detail="no such user"'
expect_nomatch "no raw ESC reaches the log" "$line" "$(printf '\033')"

# 3. A multithreaded caller is refused and left unchanged (THREATS 33).
out=$(drive --thread "$conf" good "$u" -- true 2>"$T_DIR/err")
expect_eq "threaded caller refused" "$out" "open_session: PAM_SESSION_ERR"
expect_eq "threaded caller's namespaces unchanged" \
	"$(grep ns-after "$T_DIR/err" | cut -d: -f2-)" "$(grep ns-before "$T_DIR/err" | cut -d: -f2-)"

# 4. A hostile caller's environment and limits (THREATS 21, 22).
rm -f /run/nsiso-evil.*
out=$(env LD_PRELOAD="$NSISO_EVIL_PRELOAD" NSISO_DEBUG=1 PATH=/nonexistent IFS=x TMPDIR=/nonexistent \
	"$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true 2>&1)
expect_eq "THREATS 21: a session opens with a hostile environment" "$?" 0
expect_eq "THREATS 21: LD_PRELOAD reaches no nsiso process" "$(ls /run/nsiso-evil.* 2>/dev/null | wc -l)" 0
rm -f /run/nsiso-evil.*
t_wait_no_containers 10
out=$( (umask 0777; "$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true) 2>&1 )
expect_eq "THREATS 22: an odd umask changes nothing" "$?" 0
expect_eq "THREATS 22: the state directory is still 0700" "$(stat -c %a /run/nsiso)" 700
t_wait_no_containers 10
out=$( (ulimit -n 9; "$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true) 2>/dev/null )
expect_match "THREATS 22: with 9 fds the session is refused, not half-built" "$out" "open_session: PAM_(SESSION|BUF)_ERR"
t_wait_no_containers 10
expect_eq "THREATS 22: nothing is left of it" "$(t_user_supervisors)" 0
out=$("$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true 2>&1)
expect_eq "THREATS 22: the next login works" "$?" 0

# THREATS 37: the helper SIGKILLed at various points of a first login: that
# login fails closed, the next one works, nothing is left.
t_wait_no_containers 10
for delay in 0 0.002 0.004 0.006 0.008 0.012 0.016; do
	"$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true >/dev/null 2>&1 &
	drv=$!
	sleep "$delay"
	pkill -KILL -x nsiso-helper
	wait "$drv"
	after=$("$NSISO_PAMDRIVE" "$conf" good "$u" -- /bin/true 2>&1)
	rc=$?
	expect_eq "THREATS 37: after a helper killed at +${delay}s the next login works" "$rc" 0
done
t_wait_no_containers 10
expect_eq "THREATS 37: no container is left" "$(t_user_supervisors)" 0
expect_eq "THREATS 37: no lock or socket is left" "$(ls /run/nsiso 2>/dev/null | grep -vxE 'good|seccomp\.bpf|sweep|stats' | wc -l)" 0

# THREATS 35: a hundred parallel logins of one user: one container, and
# nothing left once they are gone (no supervisor, socket, lock or mount).
t_wait_no_containers 10
mounts_before=$(t_host_mounts | wc -l)
pids=()
for i in $(seq 1 100); do
	"$NSISO_PAMDRIVE" "$conf" good "$u" -- sh -c 'stat -L -c %i /proc/self/ns/user; sleep 2' \
		> "$T_DIR/par.$i" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "THREATS 35: 100 parallel logins all got in" "$(cat "$T_DIR"/par.* | grep -c '^[0-9]')" 100
expect_eq "THREATS 35: they share one user namespace" "$(sort -u "$T_DIR"/par.* | wc -l)" 1
t_wait_no_containers 10
# (a supervisor removes its socket first, then waits for its init to be reaped)
for i in $(seq 1 100); do [ "$(pgrep -x nsiso-sup | wc -l)" = 0 ] && break; sleep 0.1; done
expect_eq "THREATS 35: no supervisor is left" "$(pgrep -x nsiso-sup | wc -l)" 0
expect_eq "THREATS 35: no state file is left" "$(ls /run/nsiso 2>/dev/null | grep -vxE 'good|seccomp\.bpf|sweep|stats' | wc -l)" 0
expect_eq "THREATS 35: no cgroup is left" "$(ls -d /sys/fs/cgroup/*/nsiso/"$u" /sys/fs/cgroup/nsiso/"$u" 2>/dev/null | wc -l)" 0
expect_eq "THREATS 35: the host's mount table is as before" "$(t_host_mounts | wc -l)" "$mounts_before"

# 5. pamtester, through a service in /etc/pam.d.
svc="nsiso-pamtester-$$"
printf 'session required %s config=%s\n' "$NSISO_MODULE" "$good" > "/etc/pam.d/$svc"
T_PAMFILES+=("/etc/pam.d/$svc")
out=$(pamtester "$svc" "$u" open_session close_session 2>&1)
expect_match "pamtester opens and closes a session" "$out" "successfully opened a session"
printf 'session required %s config=%s\n' "$NSISO_MODULE" "$bad" > "/etc/pam.d/$svc"
out=$(pamtester "$svc" "$u" open_session 2>&1); rc=$?
expect_ne "pamtester: an invalid policy fails open_session" "$rc" 0
expect_match "pamtester: with PAM_SESSION_ERR's message" "$out" "Cannot make/remove an entry for the specified session"

# 6. No container is left once the callers have exited.
t_wait_no_containers 10
expect_eq "no supervisor left for the test users" "$(t_user_supervisors)" 0

t_finish
