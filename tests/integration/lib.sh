# shellcheck shell=bash
# Shared by the integration tests and the demo: a throwaway sshd on
# 127.0.0.1 with its own PAM service, real users with key logins, a syslog
# catcher, and a cleanup that leaves the machine as it was, also on failure.
#
# Needs: NSISO_PREFIX (an installed tree), NSISO_LOGCATCH and NSISO_REAPER
# (tests/tools/).

set -u -o pipefail

T_FAILS=0
T_FAILED=()
T_PASSES=0
T_DIR=""
T_USERS=()
T_PAMFILES=()
T_PAMSAVED=()
T_SSHD_PID=""
T_LOG_PID=""
T_PORT=""
T_SERVICE=""

# The tests speak TAP (meson runs them with protocol 'tap'): "ok - ..." and
# "not ok - ..." lines, and the plan at the end (t_finish).
t_skip_or_fail() {
	# Skipped only when not root; NSISO_MUST_WORK=1 makes a skip a failure.
	if [ "${NSISO_MUST_WORK:-0}" = 1 ]; then
		echo "Bail out! NSISO_MUST_WORK=1: a skip is a failure ($*)"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 77
}

t_require_root() {
	[ "$(id -u)" = 0 ] || t_skip_or_fail "needs root"
}

ok() { T_PASSES=$((T_PASSES + 1)); echo "ok - $*"; }

# The value of KEY in a probe's output of KEY=value lines (the first such
# line, "" when there is none): probes print by key, so that a line more or
# less in a session's output never shifts what a check reads.
t_key() { printf '%s\n' "$2" | awk -v k="$1=" 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }'; }
not_ok() {
	T_FAILS=$((T_FAILS + 1))
	T_FAILED+=("$*")
	echo "not ok - $*"
	# (a guest test shows the guest's journal of the moment here)
	[ -n "${T_ON_FAIL:-}" ] && "$T_ON_FAIL"
	true
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}
expect_ne() {
	if [ "$2" != "$3" ] && [ -n "$2" ] && [ -n "$3" ]; then ok "$1"; else not_ok "$1: '$2' vs '$3' (must differ, both non-empty)"; fi
}
expect_match() {
	if printf '%s\n' "$2" | grep -E -- "$3" >/dev/null; then ok "$1"; else not_ok "$1: '$2' does not match /$3/"; fi
}
expect_nomatch() {
	if printf '%s\n' "$2" | grep -E -- "$3" >/dev/null; then not_ok "$1: '$2' matches /$3/"; else ok "$1"; fi
}

t_finish() {
	echo "1..$((T_PASSES + T_FAILS))"
	echo "# $T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" = 0 ] && [ "$T_PASSES" -gt 0 ]
}

t_cleanup() {
	local u f
	# Services of the host that a test extended: back as they were.
	for f in "${T_PAMSAVED[@]}"; do
		[ -f "$T_DIR/pam-saved/$(basename "$f")" ] && cp -p "$T_DIR/pam-saved/$(basename "$f")" "$f"
	done
	# sshd first (no new logins), then the users' processes, then wait for
	# the reaper: it waits for every orphaned session monitor too, and a
	# session held by a user's "sleep 300" would keep it (and this test)
	# waiting until meson's timeout (CI saw sshd-spoof end that way).
	[ -n "$T_SSHD_PID" ] && kill "$T_SSHD_PID" 2>/dev/null
	for u in "${T_USERS[@]}"; do
		pkill -KILL -u "$u" 2>/dev/null
	done
	[ -n "$T_SSHD_PID" ] && wait "$T_SSHD_PID" 2>/dev/null
	# The containers end when their sessions' sshd processes are gone, or
	# at once when stopped (a test's linger would keep them past userdel,
	# and the next test's user of the same uid would be refused).
	for u in "${T_USERS[@]}"; do
		[ -S "/run/nsiso/$(id -u "$u" 2>/dev/null).sock" ] &&
			"$NSISO_PREFIX/sbin/nsiso" stop --timeout 1 -- "$u" >/dev/null 2>&1
	done
	t_wait_no_containers 10 >/dev/null 2>&1
	for u in "${T_USERS[@]}"; do
		pkill -KILL -u "$u" 2>/dev/null
		userdel -r -f "$u" >/dev/null 2>&1
	done
	for f in "${T_PAMFILES[@]}"; do rm -f "$f"; done
	# cgroups of our users that a failure left behind, then nsiso/ if empty.
	for u in "${T_USERS[@]}"; do
		rmdir /sys/fs/cgroup/*/nsiso/"$u" /sys/fs/cgroup/nsiso/"$u" 2>/dev/null
	done
	rmdir /sys/fs/cgroup/*/nsiso /sys/fs/cgroup/nsiso 2>/dev/null
	if [ -n "$T_LOG_PID" ]; then
		kill "$T_LOG_PID" 2>/dev/null
		wait "$T_LOG_PID" 2>/dev/null
	fi
	[ -n "$T_DIR" ] && rm -rf "$T_DIR"
	[ -n "${T_MADE_SSHD_DIR:-}" ] && rmdir /run/sshd 2>/dev/null
	# The kept copies of this test's policies (lib/host/lastgood.c), then the
	# directory, its lock, if nothing else is kept.
	if [ -n "$T_DIR" ] && [ -d /run/nsiso/good ]; then
		local key=${T_DIR//%/%25}; key=${key//\//%2F}
		rm -rf /run/nsiso/good/"$key"%2F* 2>/dev/null
		[ -z "$(ls -A /run/nsiso/good | grep -vx lock)" ] && rm -f /run/nsiso/good/lock && rmdir /run/nsiso/good
	fi
	# The helper's state directory, when no container is left in it (the
	# network lock file stays while any network state does).
	if [ -d /run/nsiso/net ] && [ -z "$(ls -A /run/nsiso/net | grep -vx lock)" ]; then
		rm -f /run/nsiso/net/lock; rmdir /run/nsiso/net 2>/dev/null
	fi
	# the compiled seccomp filter (a cache of the supervisors'), when no
	# container is left to use it
	[ -z "$(find /run/nsiso -maxdepth 1 -name '*.sock' 2>/dev/null)" ] && rm -f /run/nsiso/seccomp.bpf /run/nsiso/sweep /run/nsiso/stats
	rmdir /run/nsiso 2>/dev/null
	true
}

# A fresh work directory, removed at exit.
t_init() {
	t_require_root
	[ -n "${NSISO_PREFIX:-}" ] || { echo "NSISO_PREFIX is not set"; exit 1; }
	T_MODULE=$(find "$NSISO_PREFIX" -name pam_nsiso.so -path '*/security/*' | head -n1)
	[ -n "$T_MODULE" ] || { echo "pam_nsiso.so is not installed under $NSISO_PREFIX"; exit 1; }
	T_DIR=$(mktemp -d /run/nsiso-test.XXXXXX)
	chmod 0755 "$T_DIR"
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Supervisors of live containers (host processes named nsiso-sup).
t_containers() { pgrep -x nsiso-sup 2>/dev/null | wc -l; }

# No live container of our users, and their supervisors done with the
# teardown (the socket and the lock file go when a container retires, the
# supervisor process when its cgroups and network are gone too).
t_wait_no_containers() {
	local i u uid locks
	for i in $(seq 1 $((${1:-10} * 10))); do
		locks=0
		for u in "${T_USERS[@]}"; do
			uid=$(id -u "$u" 2>/dev/null) || continue
			[ -e "/run/nsiso/$uid.lock" ] && locks=$((locks + 1))
		done
		[ "$(t_user_supervisors)" = 0 ] && [ "$locks" = 0 ] && [ -z "$(t_supervisor_pids)" ] && return 0
		sleep 0.1
	done
	return 1
}

# Supervisor processes (live or tearing down) of our test users: a
# supervisor is the helper forked, its command line "nsiso-helper open USER ...".
t_supervisor_pids() {
	local p u x
	for p in $(pgrep -x nsiso-sup 2>/dev/null); do
		u=$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | sed -n 3p)
		for x in "${T_USERS[@]}"; do [ "$u" = "$x" ] && echo "$p"; done
	done
}

# Supervisors that serve one of our test users (matched by the uid socket).
t_user_supervisors() {
	local n=0 u uid
	for u in "${T_USERS[@]}"; do
		uid=$(id -u "$u" 2>/dev/null) || continue
		[ -S "/run/nsiso/$uid.sock" ] && n=$((n + 1))
	done
	echo "$n"
}

# t_user NAME [subids|nosubids]: create a user with a key; echo nothing.
t_user() {
	local name=$1 mode=${2:-subids}
	if [ "$mode" = nosubids ]; then
		useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$name" || return 1
	else
		useradd -m -s /bin/bash "$name" || return 1
	fi
	T_USERS+=("$name")
	local home
	home=$(getent passwd "$name" | cut -d: -f6)
	install -d -m 0700 -o "$name" -g "$name" "$home/.ssh"
	install -m 0600 -o "$name" -g "$name" "$T_DIR/id.pub" "$home/.ssh/authorized_keys"
}

# t_policy NAME CONTENT: write a root-owned policy file, echo its path.
t_policy() {
	install -d -m 0755 "$T_DIR/etc"
	printf '%s\n' "$2" > "$T_DIR/etc/$1"
	chmod 0644 "$T_DIR/etc/$1"
	echo "$T_DIR/etc/$1"
}

# t_sshd [PAM-LINE-ARGS]: start sshd with service sshd-nsiso-test-PID whose
# session stack ends in pam_nsiso.so ARGS.
t_sshd() {
	local args=${1:-}
	T_SERVICE="sshd-nsiso-test-$$"
	[ -f "$T_DIR/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/id" >/dev/null
	[ -f "$T_DIR/host" ] || ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/host" >/dev/null
	ln -sf /usr/sbin/sshd "$T_DIR/$T_SERVICE"
	t_pam_args "$args"
	T_PAMFILES+=("/etc/pam.d/$T_SERVICE")
	t_logcatch
	if [ ! -d /run/sshd ]; then
		mkdir -p /run/sshd && T_MADE_SSHD_DIR=1
	fi
	local try
	for try in 1 2 3 4 5; do
		T_PORT=$((20000 + RANDOM % 20000))
		ss -ltnH "sport = :$T_PORT" | grep -- . >/dev/null && continue
		cat > "$T_DIR/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $T_PORT
HostKey $T_DIR/host
PidFile $T_DIR/sshd.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
StrictModes yes
Subsystem sftp internal-sftp
LogLevel VERBOSE
SyslogFacility AUTHPRIV
MaxStartups 200
MaxSessions 200
${T_SSHD_EXTRA:-}
CONF
		# Under a reaper, as under systemd: see tests/tools/reaper.c.
		"$NSISO_REAPER" "$T_DIR/$T_SERVICE" -f "$T_DIR/sshd_config" -D -E "$T_DIR/sshd.log" &
		T_SSHD_PID=$!
		local i
		for i in $(seq 1 50); do
			ss -ltnH "sport = :$T_PORT" | grep -- . >/dev/null && return 0
			kill -0 "$T_SSHD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$T_SSHD_PID" 2>/dev/null
		wait "$T_SSHD_PID" 2>/dev/null
	done
	echo "sshd did not start:"; cat "$T_DIR/sshd.log"
	return 1
}

# t_pam_extend SERVICE ARGS: append "session required pam_nsiso.so ARGS"
# to the host's /etc/pam.d/SERVICE (su, login, ...: their service names are
# fixed), saved first and restored by t_cleanup.
t_pam_extend() {
	local f="/etc/pam.d/$1"
	[ -f "$f" ] || return 1
	install -d -m 0700 "$T_DIR/pam-saved"
	cp -p "$f" "$T_DIR/pam-saved/$1" || return 1
	T_PAMSAVED+=("$f")
	printf '# added by an nsiso test; restored at its exit\nsession required %s %s\n' "$T_MODULE" "$2" >> "$f"
}

# (Re)write sshd's PAM service with these module arguments; T_PAM_SESSION_PRE:
# lines before pam_nsiso's (T_SSHD_EXTRA: lines at the end of sshd_config). As the
# package's pam-auth-update profile does, the module is in the auth stack
# too (for pam_setcred: the join split between sshd's monitor and its
# session child); T_WHOLE_JOIN=1 leaves that line out, the set-up of an
# admin who added only the session line.
t_pam_args() {
	local auth="auth     required  $T_MODULE"
	[ "${T_WHOLE_JOIN:-0}" = 1 ] && auth="# (no auth line: the whole join in open_session)"
	cat > "/etc/pam.d/$T_SERVICE" <<PAM
# written by nsiso tests; removed at their exit
$auth
account  required  pam_unix.so
session  required  pam_unix.so
${T_PAM_SESSION_PRE:-}
session  required  $T_MODULE $1
PAM
}

t_logcatch() {
	[ -n "$T_LOG_PID" ] && return 0
	: > "$T_DIR/syslog"
	if [ -e /dev/log ]; then
		echo "note: /dev/log exists; log assertions read $T_DIR/syslog only when sshd logs there" >&2
		return 0
	fi
	"$NSISO_LOGCATCH" /dev/log "$T_DIR/syslog" > "$T_DIR/logcatch.ready" &
	T_LOG_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q ready "$T_DIR/logcatch.ready" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# t_host_mounts: the host's mount table, a line per mount, without the
# chroots the guest tests' image and package builds mount meanwhile (they
# run beside the other tests: tools/test.sh).
t_host_mounts() {
	awk '$5 !~ "^(/tmp/mmdebstrap|/var/cache/nsiso-test/|/var/tmp/nsiso-)"' /proc/self/mountinfo
}

# t_ssh USER [ssh options...] -- COMMAND: run COMMAND over a key login.
t_ssh_argv() {
	local user=$1; shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	T_ARGV=(ssh -i "$T_DIR/id" -p "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 "${opts[@]}" "$user@127.0.0.1" "$@")
}
t_ssh() { t_ssh_argv "$@"; "${T_ARGV[@]}"; }
# t_ssh_bg: the same in the background; the ssh process's pid is in T_BG.
t_ssh_bg() { t_ssh_argv "$@"; "${T_ARGV[@]}" & T_BG=$!; }

# The namespace inodes of a process as "type:inode" words.
t_ns_of() {
	local pid=$1 t
	for t in user mnt pid ipc uts net cgroup; do
		printf '%s:%s ' "$t" "$(stat -L -c %i "/proc/$pid/ns/$t")"
	done
}
