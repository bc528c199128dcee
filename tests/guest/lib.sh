# shellcheck shell=bash
# The systemd guest: a stock Debian (12 bookworm by default; NSISO_GUEST_SUITE
# =trixie for 13) booted under qemu (TCG) from the image of
# tests/guest/image.sh, its sshd reached on a loopback port forward only.
# Disk writes go to a qemu snapshot (thrown away); g_cleanup powers the guest
# off and removes what the test made on the host, also on failure.
#
# Sourced after tests/integration/lib.sh (ok, not_ok, expect_*, t_skip_or_fail).

G_DIR=""
G_SUITE=${NSISO_GUEST_SUITE:-bookworm}
G_IMAGE=""
G_PORT=""
G_PID=""

# g_prepare: the work directory (removed at exit, with the guest).
g_prepare() {
	t_require_root
	command -v qemu-system-x86_64 >/dev/null || t_skip_or_fail "qemu-system-x86_64 is missing"
	G_DIR=$(mktemp -d /var/tmp/nsiso-guest.XXXXXX)
	g_mux_opts=(-o ControlMaster=auto -o "ControlPath=$G_DIR/root.mux" -o ControlPersist=600)
	trap g_cleanup EXIT
	trap 'exit 130' INT TERM
	g_watchdog
}

# g_watchdog: a deadline of the test's own, below meson's timeout (1800 s).
# meson's SIGKILL loses the whole log (CI once got nothing at all from a
# guest test that ran past it); past this deadline the test says what it
# was waiting for, fails, and cleans up (the guest's journal included).
# The watchdog ends the step in progress (its ssh), so the trap runs then.
G_DEADLINE=${NSISO_GUEST_DEADLINE:-1620}
g_watchdog() {
	local main=$BASHPID
	# (the actions only when sleep ran out: g_cleanup kills the sleep)
	(
		sleep "$G_DEADLINE" & wait $! && {
			local pg
			pg=$(ps -o pgid= -p "$main" | tr -d ' ')
			echo "# the guest test ran past ${G_DEADLINE} s; what it was waiting for:" >&2
			ps -eo pgid=,pid=,etime=,args= | awk -v g="$pg" '$1 == g' | cut -c1-200 | sed 's/^/#   /' >&2
			g_console 30 >&2
			kill -USR1 "$main"
			sleep 2
			pkill -TERM -g "$pg" -x ssh
		}
	) < /dev/null > /dev/null &
	G_WATCHDOG_PID=$!
	trap 'not_ok "the guest test finished within ${G_DEADLINE} s"; echo "Bail out! past the deadline"; exit 1' USR1
	trap 'echo "Bail out! the guest stopped answering (its console is above)"; exit 1' USR2
}

# g_lost: the guest answered none of the 5 tries of one ssh round (about 5
# minutes: no banner, or root's round lost each time) while qemu runs: what
# is left to see of it goes to the log, and the test bails out rather than
# running every later step into the same wall until its deadline. (A guest
# kernel that hung for good under TCG: seen at boot as a soft lockup of PID 1
# counting past 490 s, and once mid-test in CI.) tools/test.sh runs a guest
# test that bailed out this way once more, on a new boot.
g_lost() {
	echo "# the guest stopped answering ssh" >&2
	g_console 40 >&2
	kill -USR2 "$$"
}

# g_console N: the last N lines of the guest's serial console (the kernel's
# warnings and worse: soft lockups, RCU stalls, hung tasks, OOM kills,
# panics), and whether qemu still runs; what is left to see of a guest that
# stopped answering.
g_console() {
	local log="$G_DIR/console.log"
	[ -s "$log" ] || log="$G_DIR/console.failed"
	[ -n "$G_DIR" ] && [ -f "$log" ] || return 0
	if [ -n "$G_PID" ] && kill -0 "$G_PID" 2>/dev/null; then
		echo "# the guest's console (qemu $G_PID runs, $(ps -o etime= -p "$G_PID" | tr -d ' ') up, $(ps -o time= -p "$G_PID" | tr -d ' ') of CPU):"
	else
		echo "# the guest's console (qemu is gone):"
	fi
	tr -d '\r' < "$log" | grep -v '^[[:space:]]*$' | tail -n "$1" | cut -c1-200 | sed 's/^/#   /'
}

# g_section NAME: a TAP comment with the test's elapsed time, so a log says
# where a slow or lost guest was.
g_section() { echo "# ---- $* (at ${SECONDS} s)"; }

# g_fail_context: the guest's journal of the last 90 s when a check fails
# (sshd's, PAM's, nsiso's and logind's lines), for the first five failures:
# the journal's tail at the end only shows the test's last minutes.
T_ON_FAIL=g_fail_context
g_fail_context() {
	[ "$T_FAILS" -le 5 ] && [ -n "$G_PID" ] || return 0
	g_root_once 'journalctl -q --no-pager -o short-monotonic --since "-90 s" |
		grep -E "sshd|pam_|nsiso|systemd-logind" | tail -n 40' 2>&1 | sed 's/^/# journal at this failure: /' >&2
	return 0
}

# g_package: build the Debian package into $G_DIR/deb in the background
# (while the guest boots); g_package_wait waits for it and sets G_DEB to its
# path. (Not in a $(...) subshell: a subshell cannot wait for a job of its
# parent that is still running, and would see no error.)
# With NSISO_GUEST_DEBS set (tools/test.sh builds each release's package
# from this tree while sshd-races runs, into NSISO_GUEST_DEBS/SUITE) the
# package built there is taken; without one there, it is built here.
g_package() {
	G_PACKAGE_PID=""
	if [ -n "${NSISO_GUEST_DEBS:-}" ] && ls "$NSISO_GUEST_DEBS/$G_SUITE"/nsiso_*.deb > "$G_DIR/package.out" 2>/dev/null; then
		echo "# the $G_SUITE package: $(cat "$G_DIR/package.out") (built by tools/test.sh)"
		return 0
	fi
	"$(dirname "${BASH_SOURCE[0]}")/../../tools/package.sh" "$G_DIR/deb" "$G_SUITE" > "$G_DIR/package.out" 2> "$G_DIR/package.err" &
	G_PACKAGE_PID=$!
}
g_package_wait() {
	[ -z "$G_PACKAGE_PID" ] || wait "$G_PACKAGE_PID" || { cat "$G_DIR/package.err" >&2; return 1; }
	G_DEB=$(cat "$G_DIR/package.out")
	[ -f "$G_DEB" ]
}

# g_init: build or reuse the image, boot it, wait for its sshd.
g_init() {
	[ -n "$G_DIR" ] || g_prepare
	G_IMAGE=$("$(dirname "${BASH_SOURCE[0]}")/image.sh" "$G_SUITE") || { echo "Bail out! the $G_SUITE guest image could not be built"; exit 1; }
	ssh-keygen -q -t ed25519 -N '' -f "$G_DIR/id" >/dev/null
	g_boot || { echo "Bail out! the guest did not boot"; g_console 30; exit 1; }
	# The harness's own guard, not part of what is tested: a TCG guest
	# starved by the host's other tests can fail to start sshd at a
	# reboot (seen: soft lockups, "Failed to start ssh.service"); sshd is
	# then started again until it runs. (Named without "nsiso": the purge
	# check looks for that name.)
	g_root 'mkdir -p /etc/systemd/system/ssh.service.d &&
		printf "[Unit]\nStartLimitIntervalSec=0\n[Service]\nRestart=always\nRestartSec=3\nTimeoutStartSec=600\n" \
			> /etc/systemd/system/ssh.service.d/test-harness.conf && systemctl daemon-reload' ||
		{ echo "Bail out! the guest's sshd could not be given its restart guard"; exit 1; }
}

# la57=off: TCG's "max" CPU offers 5-level paging, which Debian's kernel
# then uses, and every emulated page walk takes one level more (300
# fork+exec in the Debian 13 guest: 9.2 s with it, 7.8-8.4 s without; the
# hosts nsiso runs on page with 4 levels).
# loglevel=5: the console shows the kernel's warnings too (after "quiet"),
# so a soft lockup comes with its call trace.
# no_timer_check: under TCG on a loaded host the kernel's early check of the
# IO-APIC timer can fail and panic ("IO-APIC + timer doesn't work!"), seen
# once at the Debian 13 guest's reboot while the host tests ran beside it.
g_boot() {
	local try i
	for try in 1 2 3 4 5; do
		G_PORT=$((20000 + RANDOM % 20000))
		ss -ltnH "sport = :$G_PORT" | grep -- . >/dev/null && continue
		# Loopback only: hostfwd binds 127.0.0.1; the guest reaches nothing
		# else we name (restrict=on: no outbound connections at all).
		qemu-system-x86_64 -accel tcg,thread=multi -cpu max,la57=off -smp 2 -m 2048 \
			-kernel "$G_IMAGE/vmlinuz" -initrd "$G_IMAGE/initrd.img" \
			-append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 net.ifnames=0 no_timer_check quiet loglevel=5" \
			-drive "file=$G_IMAGE/disk.raw,format=raw,if=virtio,snapshot=on" \
			-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$G_PORT-:22" \
			-device virtio-net-pci,netdev=n0,romfile= \
			-display none -serial "file:$G_DIR/console.log" -monitor none \
			-daemonize -pidfile "$G_DIR/qemu.pid" || continue
		G_PID=$(cat "$G_DIR/qemu.pid")
		# qemu -daemonize starts a session of its own, and with it a
		# scheduler autogroup in which our nice value means nothing: the
		# autogroup gets the niceness this test runs at (tools/test.sh
		# runs the guests at 19 beside the other tests).
		[ "$(nice)" -gt 0 ] && { echo "$(nice)" > "/proc/$G_PID/autogroup"; } 2>/dev/null
		# A watcher ends the guest when this test is gone without its
		# cleanup (meson's timeout kills the test's process group with
		# SIGKILL): in a session of its own, so that it outlives the test.
		setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 5; done
			grep -qa qemu-system "/proc/$2/cmdline" && kill -KILL "$2"
			sleep 1; rm -rf "$3"' - "$$" "$G_PID" "$G_DIR" </dev/null >/dev/null 2>&1 &
		# Up to 5 minutes of wall time per boot (each try of ssh can take
		# its 20 s connect timeout: counting tries is not a bound), and
		# none when the guest's kernel reports PID 1 stuck in a soft
		# lockup: a TCG boot can hang that way for good (seen: systemd:1
		# stuck for 490 s and counting, while this loop would have waited
		# 240 connect timeouts).
		local deadline=$((SECONDS + 300))
		while [ "$SECONDS" -lt "$deadline" ]; do
			g_root_once true 2>/dev/null && return 0
			kill -0 "$G_PID" 2>/dev/null || break
			if grep -q 'soft lockup - CPU#[0-9]* stuck for [0-9]*s! \[systemd:1\]' "$G_DIR/console.log" 2>/dev/null; then
				echo "# the guest's boot hung (soft lockup of PID 1); booting it again" >&2
				break
			fi
			sleep 1
		done
		kill "$G_PID" 2>/dev/null
		for i in $(seq 1 50); do kill -0 "$G_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$G_PID" 2>/dev/null
		# (the next boot's console, not this one's: g_console shows the
		# last one's when none came up)
		mv -f "$G_DIR/console.log" "$G_DIR/console.failed" 2>/dev/null
		G_PID=""
	done
	return 1
}

# g_wait_reboot BOOT_ID: a guest reboot (same qemu process, same disk
# overlay) is over when the guest answers with another boot id. Waiting to
# see it down first could miss a reboot that came and went between two
# polls (CI lost ten minutes, then the test, that way). At most 20 minutes
# (a TCG guest beside the host's tests can take minutes to shut down),
# then the caller bails out with the console's tail, rather than waiting
# for meson's timeout.
g_wait_reboot() {
	local end=$((SECONDS + 1200)) now
	[ -n "$1" ] || return 1
	g_mux_close
	while [ "$SECONDS" -lt "$end" ]; do
		now=$(g_root_once 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null)
		[ -n "$now" ] && [ "$now" != "$1" ] && return 0
		sleep 1
	done
	echo "# the guest did not come back"
	g_console 30
	return 1
}

# (every step may fail without stopping the next: callers may run with set -e)
g_cleanup() {
	set +e
	if [ -n "$G_PID" ] && kill -0 "$G_PID" 2>/dev/null; then
		# (a failed check's why: sshd's, PAM's and nsiso's lines)
		[ "${T_FAILS:-0}" != 0 ] && g_root_once 'journalctl -q --no-pager -o short-monotonic |
			grep -E "sshd|pam_|nsiso|systemd-logind" | tail -n 150' 2>&1 | sed 's/^/# journal: /' >&2
		# (and the failed checks again, after it: a log cut to its tail
		# still names them)
		local f
		for f in "${T_FAILED[@]}"; do echo "# failed above: $f" >&2; done
		g_root_once 'systemctl poweroff' >/dev/null 2>&1
		local i
		for i in $(seq 1 30); do kill -0 "$G_PID" 2>/dev/null || break; sleep 1; done
		kill -KILL "$G_PID" 2>/dev/null
	fi
	[ -n "${G_PACKAGE_PID:-}" ] && kill "$G_PACKAGE_PID" 2>/dev/null
	[ -n "${G_WATCHDOG_PID:-}" ] && pkill -P "$G_WATCHDOG_PID" -x sleep 2>/dev/null
	g_mux_close
	[ -n "$G_DIR" ] && rm -rf "$G_DIR"
	true
}

# ServerAlive: a connection is given up after 10 minutes without an answer.
# The guests run at nice 19 beside the host's tests: while sshd-races held
# both cores (tools/test.sh now runs it before the guests start), a guest got
# about 1.5% of a core and answered nothing, and a session held across that
# spell was given up by its client after the 2 minutes it had before (a
# likely cause of a held sleep that vanished once in a local CI run). A guest
# gone for good is the deadline's (g_watchdog) to report.
g_ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
	-o LogLevel=ERROR -o ConnectTimeout=60 -o ServerAliveInterval=10 -o ServerAliveCountMax=60)

# g_ssh SSH-ARGS...: ssh into the guest, tried again (up to 5 times) when the
# connection failed before sshd's banner (the guest's sshd was busy, or qemu
# did not even accept the connection: nothing ran). With G_SSH_ROOT=1
# (g_root's rounds: root is never isolated) a round that ssh itself lost
# after the banner (exit 255, "closed by remote host", "reset", "broken
# pipe") is tried again too: most are reads; a step that had already run
# before the loss fails visibly when run again (useradd: the user exists),
# so a retry never turns a failure into a pass. A root round that ended
# with 255 and printed nothing at all is lost too. A user's login that got
# past the banner is never tried again: a 255 there may be nsiso closing the
# session, so it fails its check (and g_cleanup shows the guest's journal
# when any check failed). A round lost all 5 times is a guest that stopped
# answering (g_lost).
g_ssh() {
	local try rc err pat='banner exchange|kex_exchange_identification|port [0-9]+: Connection (timed out|refused)'
	[ "${G_SSH_ROOT:-0}" = 1 ] && pat="$pat|closed by remote host|Connection reset|Broken pipe"
	err=$(mktemp)
	for try in 1 2 3 4 5; do
		rc=0
		# (stderr through a file, shown after ssh ends: a process
		# substitution would be made by the forked ssh, where the caller's
		# "wait $!" cannot see it and would wait for its own last job)
		if [ "${G_SSH_ROOT:-0}" = 1 ]; then
			# (root's output is kept per round: a lost round's part
			# is not printed before the retry's whole)
			ssh "$@" > "$err.out" 2> "$err" || rc=$?
		else
			ssh "$@" 2> "$err" || rc=$?
		fi
		[ "$rc" = 255 ] || break
		# (a root round lost without a word: nothing on stdout or
		# stderr, as when the guest's sshd dropped it; CI once got an
		# empty answer of a read that always prints)
		grep -qE "$pat" "$err" || { [ "${G_SSH_ROOT:-0}" = 1 ] && [ ! -s "$err" ] && [ ! -s "$err.out" ]; } || break
		echo "# guest ssh: lost, try $try of 5: $(head -n 1 "$err" | grep . || echo "exit 255, no output")" >&2
		[ "$try" = 5 ] && { g_lost; break; }
		sleep 5
	done
	[ -f "$err.out" ] && cat "$err.out"
	cat "$err" >&2
	rm -f "$err" "$err.out"
	return "$rc"
}

# Root's rounds share one connection (ssh's ControlMaster): a round is a
# channel on it, not a new sshd-session, key exchange, PAM stack and logind
# session under TCG (the guests' root rounds are most of their ssh work).
# Only root's: root is exempt and never what a check is about; every login
# of a tested user is a connection of its own. The master goes with the
# guest: at a reboot (g_wait_reboot), at the end (g_cleanup), or 10 minutes
# after its last round; a master the guest dropped is replaced at the next
# round (ControlMaster=auto), and a round it lost is tried again (g_ssh).
# (g_mux_opts: set by g_prepare, with the test's directory)
g_mux_close() {
	[ -n "$G_DIR" ] && [ -S "$G_DIR/root.mux" ] || return 0
	ssh -o "ControlPath=$G_DIR/root.mux" -O exit root@127.0.0.1 >/dev/null 2>&1
	rm -f "$G_DIR/root.mux"
}
# g_root CMD...: a root shell command in the guest (root is never isolated).
g_root() { G_SSH_ROOT=1 g_ssh -i "$G_IMAGE/id_ed25519" -p "$G_PORT" "${g_ssh_opts[@]}" "${g_mux_opts[@]}" root@127.0.0.1 "$@" </dev/null; }
# g_root_once CMD...: the same tried once (to see whether the guest is up or down).
g_root_once() { ssh -i "$G_IMAGE/id_ed25519" -p "$G_PORT" -o ConnectTimeout=20 "${g_ssh_opts[@]}" root@127.0.0.1 "$@" </dev/null; }
# g_put LOCAL REMOTE: copy a file into the guest.
g_put() { scp -q -i "$G_IMAGE/id_ed25519" -P "$G_PORT" "${g_ssh_opts[@]}" "${g_mux_opts[@]}" "$1" "root@127.0.0.1:$2"; }
# g_root_in CMD...: the same, with the caller's stdin.
g_root_in() { g_ssh -i "$G_IMAGE/id_ed25519" -p "$G_PORT" "${g_ssh_opts[@]}" "${g_mux_opts[@]}" root@127.0.0.1 "$@"; }
# g_user NAME: a user in the guest with the test's key.
g_user() {
	g_root_in "useradd -m -s /bin/bash $1 && install -d -m 0700 -o $1 -g $1 /home/$1/.ssh &&
		install -m 0600 -o $1 -g $1 /dev/stdin /home/$1/.ssh/authorized_keys" < "$G_DIR/id.pub"
}
# g_as USER [ssh options] -- CMD: a key login of USER through the guest's stock sshd.
g_as() {
	local user=$1; shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	g_ssh -i "$G_DIR/id" -p "$G_PORT" "${g_ssh_opts[@]}" "${opts[@]}" "$user@127.0.0.1" "$@"
}
# g_probe_get TEXT KEY: the value of "KEY=value" in probe output.
g_get() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1; }
