#!/bin/bash
# The systemd guest: a stock Debian 12, or 13 with NSISO_GUEST_SUITE=trixie
# (systemd 252 / 257 as PID 1, pure cgroup v2,
# logind, pam_systemd in common-session) with the nsiso Debian package
# installed and enabled the documented way (pam-auth-update), key logins
# through the guest's own sshd and its stock /etc/pam.d/sshd.
#  1. the package installs offline, enables nothing by itself, and
#     pam-auth-update --enable puts the module last in common-session;
#  2. a login lands in a container: 7 namespaces, keep-id map, no
#     capabilities; the container ends after logout;
#     a. no systemd user manager for the isolated user, a /run/user of the
#        container's own, a planted user unit never runs;
#     b. with KillUserProcesses=yes the first session's logout leaves the
#        second and the container alone (the supervisor is in the
#        container's scope, no login session's);
#     c. a limits.conf that raises hard limits works behind Debian's sshd;
#     d. logind and accounting: pam_systemd releases every session (no
#        "Failed to release session"), loginctl, who, w, last and lastlog
#        show a pty login and its logout as without nsiso;
#     e. loginctl terminate-user ends the container completely;
#  3. nsiso list, show, enter and stop on a live container;
#  4. the container is a systemd scope with Delegate=yes in user-UID.slice,
#     made over D-Bus: systemctl and systemd-cgls show it, nothing of nsiso
#     at the top of the tree, pids and memory limits enforced, also after
#     systemctl daemon-reload; nsiso set, the OOM notice, nsiso-status
#     inside, nsiso metrics, journalctl NSISO_STEP=idmap and the catalog,
#     cpus = 1 through the scope's cpuset;
#     nested id maps (nested_userns = yes) written by the supervisor;
#  5. disable and purge: /etc/pam.d is byte-identical, nothing of nsiso left.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
g_prepare
g_package
g_init
g_package_wait || { echo "Bail out! the $G_SUITE package did not build"; exit 1; }
deb=$G_DEB

# ---- 1. install and enable ---------------------------------------------------
g_section 1
g_root 'mkdir -p /root/t && cd /etc/pam.d && sha256sum * > /root/t/pam.before && ls -A /etc/pam.d | wc -l > /root/t/pam.count'
g_put "$deb" /root/t/nsiso.deb
g_put "$NSISO_FORKER" /root/t/forker
g_put "$NSISO_HOG" /root/t/hog
out=$(g_root 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/t/nsiso.deb 2>&1'); rc=$?
expect_eq "dpkg -i installs the package with the image's libraries" "$rc" 0
expect_eq "the package is installed" "$(g_root "dpkg-query -W -f='\${Status} \${Version}' nsiso")" "install ok installed 0.1.0"
expect_eq "the module is in the multiarch security directory" \
	"$(g_root 'stat -c "%U %a" /usr/lib/x86_64-linux-gnu/security/pam_nsiso.so')" "root 644"
expect_eq "the helper is root's alone, under /usr/libexec" "$(g_root 'stat -c "%U %a" /usr/libexec/nsiso-helper')" "root 700"
expect_eq "the init and the CLI are installed" "$(g_root 'stat -c %a /usr/libexec/nsiso-init /usr/sbin/nsiso | tr "\n" " "')" "755 755 "
expect_match "the policy is a conffile" "$(g_root 'dpkg-query -W -f="\${Conffiles}" nsiso')" "^ /etc/nsiso/nsiso.conf [0-9a-f]{32}$"
expect_eq "tmpfiles made the state directory at install" "$(g_root 'stat -c "%U %a" /run/nsiso')" "root 700"
expect_eq "installing enables nothing (the profile is Default: no)" \
	"$(g_root 'grep -c pam_nsiso /etc/pam.d/common-session /etc/pam.d/common-session-noninteractive | tr "\n" " "')" \
	"/etc/pam.d/common-session:0 /etc/pam.d/common-session-noninteractive:0 "
expect_eq "the package installs user@.service's drop-in, loaded" \
	"$(g_root 'systemctl show -p DropInPaths --value user@1.service | tr " " "\n" | grep -c "/user@.service.d/nsiso.conf$"')" 1

# ---- 1b. the README's first step alone: one line in /etc/pam.d/sshd ----------
g_section 1b
# No auth line, no systemd-user stack: pam_systemd still starts the user's
# manager, and a unit planted in ~/.config/systemd/user would run on the host
# (THREATS 43). user@.service's drop-in asks the helper first: the manager
# of an isolated user never starts, at a login, with linger, after a reboot.
g_user alice; g_user bob
uid_a=$(g_root 'id -u alice')
uid_b=$(g_root 'id -u bob')
plant_evil() {
	g_root "install -d -o alice -g alice /home/alice/.config /home/alice/.config/systemd /home/alice/.config/systemd/user \
	/home/alice/.config/systemd/user/default.target.wants &&
	printf '[Service]\nType=oneshot\nExecStart=/bin/sh -c \"readlink /proc/self/ns/net > /home/alice/evil-ran\"\n[Install]\nWantedBy=default.target\n' \
		> /home/alice/.config/systemd/user/evil.service &&
	ln -sf ../evil.service /home/alice/.config/systemd/user/default.target.wants/evil.service &&
	chown -R alice: /home/alice/.config"
}
plant_evil
# manager_skipped UID N: "skipped" once systemd has skipped user@UID.service
# on its condition at least N times in this boot (its unit may be gone by
# the time we look: logind stops what it started), else the count.
manager_skipped() {
	g_root "for i in \$(seq 1 60); do n=\$(journalctl -b --no-pager -o cat -u user@$1.service | grep -c \"Skipped due to 'exec-condition'\");
		[ \"\$n\" -ge $2 ] && { echo skipped; exit; }; sleep 0.5; done; echo \"\$n skips\"; systemctl status --no-pager user@$1.service | head -n 5"
}
# no_container USER: wait (up to 60 s) until USER has no container: a
# policy change rules the next container, and a login while the last one
# still ends would join that one.
no_container() { g_root "for i in \$(seq 1 120); do nsiso show $1 >/dev/null 2>&1 || exit 0; sleep 0.5; done; exit 1"; }
g_root 'cp -p /etc/pam.d/sshd /root/t/sshd.orig && echo "session required pam_nsiso.so" >> /etc/pam.d/sshd'
out=$(g_as alice -- 'echo userns=$(readlink /proc/self/ns/user); sleep 4'); rc=$?
expect_eq "sshd-only: alice's login succeeds" "$rc" 0
expect_ne "sshd-only: alice is in a container" "$(t_key userns "$out")" "$(g_root 'readlink /proc/1/ns/user')"
expect_eq "sshd-only: user@$uid_a.service was skipped by its condition (exec-condition)" "$(manager_skipped "$uid_a" 1)" skipped
expect_match "sshd-only: the helper said why" \
	"$(g_root "journalctl --no-pager -o cat -t nsiso-helper | grep 'user manager user=alice' | tail -n 1")" \
	"not started: isolated users have no systemd user manager"
expect_eq "sshd-only: no process of alice is left on the host (no manager)" \
	"$(g_root 'for i in $(seq 1 100); do pgrep -u alice >/dev/null || break; sleep 0.3; done; pgrep -u alice | wc -l')" 0
# (linger is asked once logind has let alice go: while it still holds her
# user, within UserStopDelaySec of her logout, enabling linger starts no
# manager, so there would be no second skip to see)
g_root 'for i in $(seq 1 100); do loginctl show-user alice >/dev/null 2>&1 || break; sleep 0.2; done'
g_root 'loginctl enable-linger alice'
expect_eq "linger: the linger file is there" "$(g_root 'ls /var/lib/systemd/linger')" alice
expect_eq "linger: user@$uid_a.service was skipped again" "$(manager_skipped "$uid_a" 2)" skipped
expect_eq "linger: and is not running" "$(g_root "systemctl is-active user@$uid_a.service")" inactive
# A reboot: logind starts the manager of every lingering user at boot.
boot=$(g_root 'cat /proc/sys/kernel/random/boot_id')
g_root_once 'systemctl reboot' >/dev/null 2>&1
g_wait_reboot "$boot" || { echo "Bail out! the guest did not come back after its reboot"; exit 1; }
expect_eq "after a reboot the guest answers" "$(g_root 'echo up')" up
expect_eq "after a reboot: user@$uid_a.service was skipped at boot" "$(manager_skipped "$uid_a" 1)" skipped
expect_eq "after a reboot: no process of alice" "$(g_root 'pgrep -u alice | wc -l')" 0
expect_eq "the planted unit never ran (first login, linger, reboot)" "$(g_root 'ls /home/alice/evil-ran 2>&1')" \
	"ls: cannot access '/home/alice/evil-ran': No such file or directory"
g_root 'loginctl disable-linger alice; cp -p /root/t/sshd.orig /etc/pam.d/sshd'
# (logind now stops alice's slice, she having no session and no linger: a
# login while that stop job runs may lose its session to it, so the next
# login waits until logind has let her go; seen once as a 255 in CI)
g_root 'for i in $(seq 1 100); do loginctl show-user alice >/dev/null 2>&1 || break; sleep 0.1; done'

g_root 'DEBIAN_FRONTEND=noninteractive pam-auth-update --enable nsiso'
expect_match "pam-auth-update --enable puts the module last in common-session, after pam_systemd" \
	"$(g_root "grep -v '^#' /etc/pam.d/common-session | grep . | awk '{print \$3}' | tr '\n' ' '")" \
	'pam_systemd\.so (.* )?pam_nsiso\.so $'
# (in the auth stack for pam_setcred only: sshd's session child joins the
# user namespace there; its authenticate answers PAM_IGNORE)
expect_eq "and in common-auth's additional block, required" \
	"$(g_root "grep -v '^#' /etc/pam.d/common-auth | grep . | tail -n 1 | awk '{print \$1, \$2, \$3}'")" \
	"auth required pam_nsiso.so"

# ---- 2. a login lands in a container ------------------------------------------
g_section 2
sub_a=$(g_root "awk -F: '\$1==\"alice\" {print \$2}' /etc/subuid")
host_ns=$(g_root 'for t in user mnt pid ipc uts net cgroup; do printf "%s " $(readlink /proc/1/ns/$t); done')
probe='printf ns=; for t in user mnt pid ipc uts net cgroup; do printf "%s " $(readlink /proc/self/ns/$t); done; echo;
	printf uid_map=; cat /proc/self/uid_map | tr -s " " | sed "s/^ //" | tr "\n" ","; echo;
	printf caps=; grep -E "^(CapEff|CapBnd)" /proc/self/status | tr -d "\t" | tr "\n" ","; echo;
	printf user=; id -un; printf cgroup=; cat /proc/self/cgroup'
out=$(g_as alice -- "$probe"); rc=$?
expect_eq "alice's key login through the stock sshd succeeds" "$rc" 0
ns_a=$(t_key ns "$out")
for i in 1 2 3 4 5 6 7; do
	expect_ne "namespace $i of alice's session differs from PID 1's" "$(echo "$ns_a" | cut -d' ' -f$i)" "$(echo "$host_ns" | cut -d' ' -f$i)"
done
expect_eq "the keep-id uid map: root is alice's subordinate range, alice is herself" "$(t_key uid_map "$out")" \
	"0 $sub_a $uid_a,$uid_a $uid_a 1,$((uid_a + 1)) $((sub_a + uid_a)) $((65536 - uid_a - 1)),"
expect_eq "no capabilities, none in the bounding set" "$(t_key caps "$out")" \
	"CapEff:0000000000000000,CapBnd:0000000000000000,"
expect_eq "the session runs as alice" "$(t_key user "$out")" alice
expect_eq "the cgroup namespace is rooted at the container's group" "$(t_key cgroup "$out")" "0::/"
# After logout the container ends: no socket, no supervisor, no init.
gone=$(g_root "for i in \$(seq 1 100); do [ -e /run/nsiso/$uid_a.sock ] || [ -e /run/nsiso/$uid_a.lock ] || pgrep -x nsiso-init >/dev/null || { echo gone; exit; }; sleep 0.2; done; ls /run/nsiso; pgrep -a nsiso")
expect_eq "after logout the container is torn down (no socket, lock or init)" "$gone" gone

# ---- 2a. no systemd user manager for isolated users (THREATS 43) -----------
g_section 2a
# A unit planted in ~/.config/systemd/user would run, through the user's
# manager, outside the container. The manager's PAM session
# (service systemd-user) is refused for isolated users; the user's sessions
# go on without it, with a /run/user of the container's own.
plant_evil
g_as alice -- 'sleep 600' & holda=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
cont_pid=$(g_root 'readlink /proc/$(pgrep -u alice -x sleep)/ns/pid')
cont_ns() { g_root 'p=$(pgrep -u alice -x sleep); for t in user mnt pid ipc uts net cgroup; do printf "%s " $(readlink /proc/$p/ns/$t); done'; }
cont_all=$(cont_ns)
# (once more when the answer was empty: seen once in CI under load, an ssh
# round that printed nothing; a real failure is empty twice and fails below)
[ -n "$cont_all" ] || { echo "# the namespaces' read printed nothing; read again"; cont_all=$(cont_ns); }
out=$(g_as alice -- 'echo xdg=$XDG_RUNTIME_DIR; echo ls=$(ls -A /run/user); stat -c owner=%U:%a $XDG_RUNTIME_DIR;
	touch $XDG_RUNTIME_DIR/w && echo writable=yes;
	systemctl --user is-system-running >/dev/null 2>&1; echo systemctl=$?;
	systemd-run --user --pipe true >/dev/null 2>&1; echo systemd_run=$?;
	busctl --user list >/dev/null 2>&1; echo busctl=$?;
	dbus-send --session --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListActivatableNames >/dev/null 2>&1; echo dbus=$?')
uid_a=$(g_root 'id -u alice')
expect_eq "XDG_RUNTIME_DIR is /run/user/UID" "$(g_get "$out" xdg)" "/run/user/$uid_a"
expect_eq "the container's /run/user holds alice's directory only" "$(g_get "$out" ls)" "$uid_a"
expect_eq "it is alice's, mode 700" "$(g_get "$out" owner)" "alice:700"
expect_eq "alice can write there" "$(g_get "$out" writable)" yes
expect_match "systemctl --user finds no manager (the tool ran and failed)" "$(g_get "$out" systemctl)" '^([1-9]|[1-9][0-9]|1[01][0-9]|12[0-6])$'
expect_match "systemd-run --user starts nothing (the tool ran and failed)" "$(g_get "$out" systemd_run)" '^([1-9]|[1-9][0-9]|1[01][0-9]|12[0-6])$'
expect_match "busctl --user finds no bus (the tool ran and failed)" "$(g_get "$out" busctl)" '^([1-9]|[1-9][0-9]|1[01][0-9]|12[0-6])$'
expect_match "no session bus for D-Bus activation (the tool ran and failed)" "$(g_get "$out" dbus)" '^([1-9]|[1-9][0-9]|1[01][0-9]|12[0-6])$'
expect_match "user@$uid_a.service is not running" "$(g_root "systemctl is-active user@$uid_a.service")" '^(failed|inactive)$'
expect_eq "its condition skipped it (the drop-in, before any PAM session)" "$(manager_skipped "$uid_a" 2)" skipped
expect_eq "the planted unit never ran" "$(g_root 'ls /home/alice/evil-ran 2>&1')" \
	"ls: cannot access '/home/alice/evil-ran': No such file or directory"
expect_eq "every process of alice is in her container's PID namespace" \
	"$(g_root "for p in \$(pgrep -u alice); do readlink /proc/\$p/ns/pid; done | sort -u")" "$cont_pid"
expect_eq "every process of alice (sshd's session child included) is in all 7 of her container's namespaces" \
	"$(g_root "for p in \$(pgrep -u alice); do for t in user mnt pid ipc uts net cgroup; do printf '%s ' \$(readlink /proc/\$p/ns/\$t); done; echo; done | sort -u")" \
	"$cont_all"
expect_eq "alice has more than one process there (sshd's session child and the command at least)" \
	"$(g_root 'test $(pgrep -u alice | wc -l) -ge 2 && echo yes')" yes
g_root 'pkill -u alice -x sleep'
wait "$holda" 2>/dev/null
g_root "for i in \$(seq 1 100); do [ -e /run/nsiso/$uid_a.sock ] || exit 0; sleep 0.3; done; exit 1"
expect_eq "alice's container ended" "$?" 0

# ---- 2b. the supervisor is no login session's (THREATS 44) -----------------
g_section 2b
# With KillUserProcesses=yes, logind kills a session's scope at its logout.
# The first of two sessions logs out: the other and the container go on.
g_root 'mkdir -p /etc/systemd/logind.conf.d && printf "[Login]\nKillUserProcesses=yes\n" > /etc/systemd/logind.conf.d/nsiso-test.conf && systemctl restart systemd-logind'
# (90 s each, and checked: CI once found the second command missing and
# the container gone after the first logout, which a second login not yet
# started within the old, unchecked 30 s explains; a TCG guest beside the
# host's tests can be that slow)
g_as alice -- 'sleep 601' & first=$!
g_root "for i in \$(seq 1 450); do pgrep -u alice -f 'sleep 601' >/dev/null && exit 0; sleep 0.2; done; exit 1"
expect_eq "the first session's command runs" "$?" 0
g_as alice -- 'sleep 602' & second=$!
g_root "for i in \$(seq 1 450); do pgrep -u alice -f 'sleep 602' >/dev/null && exit 0; sleep 0.2; done; exit 1"
expect_eq "the second session's command runs" "$?" 0
init_before=$(g_root "nsiso show alice | sed -n 's/^init pid \([0-9]*\),.*/\1/p'")
sup=$(g_root "nsiso show alice | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p'")
expect_match "the supervisor is in its container's scope, no login session's" "$(g_root "cat /proc/$sup/cgroup")" \
	"^0::/user.slice/user-nsiso.slice/nsiso-$uid_a-[0-9]+.scope/supervisor$"
# Debian's kernel has transparent huge pages "always": the supervisor turns
# them off for itself (its tables in .bss cost 2 MiB pages otherwise).
expect_match "the guest's kernel uses THP always (the check below can fail)" \
	"$(g_root 'cat /sys/kernel/mm/transparent_hugepage/enabled')" '\[always\]'
expect_eq "the supervisor holds no huge page" "$(g_root "awk '/^AnonHugePages:/ {print \$2}' /proc/$sup/smaps_rollup")" 0
expect_eq "its anonymous memory is under 2 MiB" "$(g_root "awk '/^RssAnon:/ {print (\$2 < 2048)}' /proc/$sup/status")" 1
g_root "pkill -u alice -f 'sleep 601'"
wait "$first" 2>/dev/null
sleep 3
expect_eq "after the first session's logout the second one's command lives" \
	"$(g_root "pgrep -u alice -f 'sleep 602' >/dev/null && echo alive")" alive
expect_eq "and the container is the same" "$(g_root "nsiso show alice | sed -n 's/^init pid \([0-9]*\),.*/\1/p'")" "$init_before"
expect_eq "a new login joins it" "$(g_as alice -- 'cat /proc/1/comm')" "nsiso-init"
g_root "pkill -u alice -f 'sleep 602'"
wait "$second" 2>/dev/null
g_root 'rm -f /etc/systemd/logind.conf.d/nsiso-test.conf && systemctl restart systemd-logind'
g_root "for i in \$(seq 1 100); do [ -e /run/nsiso/$uid_a.sock ] || exit 0; sleep 0.3; done; exit 1"
expect_eq "alice's container ended after both" "$?" 0

# ---- 2c. Debian's sshd runs pam_limits after common-session ----------------
g_section 2c
# A limits.conf that raises a hard limit above sshd's own: pam_limits runs
# inside the container (after pam_nsiso) and still gets its values.
g_user carol
g_root 'printf "*\thard\tnofile\t600000\n*\tsoft\tnofile\t4096\n@alice\thard\tnofile\t620000\ncarol\thard\tnofile\t650000\n" > /etc/security/limits.d/nsiso-test.conf'
expect_eq "sshd's own hard nofile is below what limits.conf asks (the check can fail)" \
	"$(g_root 'awk "/^Max open files/ {print (\$5 < 600000)}" /proc/$(pgrep -o -x sshd)/limits')" 1
out=$(g_as alice -- 'echo nofile=$(ulimit -Hn) $(ulimit -Sn); echo userns=$(readlink /proc/self/ns/user)'); rc=$?
expect_eq "alice logs in with limits.conf raising a hard limit" "$rc" 0
# (the @alice line, her primary group's: the module looks groups up only
# for such a line, and pam_limits prefers it to the "*" one)
expect_eq "alice gets limits.d's nofile (hard 620000 of @alice, soft 4096 of *)" "$(t_key nofile "$out")" "620000 4096"
expect_ne "and is in a container" "$(t_key userns "$out")" "$(echo "$host_ns" | cut -d' ' -f1)"
expect_eq "carol gets her own line (hard 650000)" "$(g_as carol -- 'ulimit -Hn')" 650000
g_root 'rm -f /etc/security/limits.d/nsiso-test.conf'

# ---- 2d. logind and accounting as without nsiso --------------------------------
g_section 2d
# sshd's monitor stays host root in the host's user namespace (the join is
# split, see ARCHITECTURE.md): pam_systemd's close reaches logind, and the
# monitor writes the login records (utmp, wtmp and lastlog on Debian 12;
# utmp, wtmpdb and lastlog2 on Debian 13). What who, w, last and
# lastlog/lastlog2 show of a pty login of root (exempt: no container) they
# show of alice's, on either release; on Debian 12 also to the letter.
# acct_shape USER: what who and w show of USER's pty login (its origin), and
# acct_after what last and lastlog/lastlog2 show after it ended, terminals
# and times taken out. The reference is an exempt user's login (no
# container), never root's: the root session that runs the tools would
# show too. (On Debian 13 who reads logind and guesses a session's pty from
# the host's /dev/pts: a container's pty is of its own devpts, THREATS 10,
# so who names the session "sshd" without the pty there; docs/ADMIN.md.)
acct_shape() {
	g_root "u=$1; printf 'who=%s\n' \"\$(who | awk -v u=\$u '\$1 == u {print \$NF}' | sort -u)\";
		printf 'w=%s\n' \"\$(w -h \$u | awk '{print \$3}' | sort -u)\""
}
acct_after() {
	g_root "u=$1; for i in \$(seq 1 100); do last -w -n 1 \$u 2>/dev/null | grep -q ' - ' && break; sleep 0.3; done;
		printf 'last=%s\n' \"\$(last -w -n 1 \$u 2>/dev/null | awk -v u=\$u '\$1 == u {print \"PTS\", \$3, (index(\$0, \" - \") ? \"ended\" : \"open\")}')\";
		if command -v lastlog2 >/dev/null; then l=\$(lastlog2 -u \$u 2>/dev/null); else l=\$(lastlog -u \$u 2>/dev/null); fi;
		printf 'lastlog=%s\n' \"\$(printf '%s\n' \"\$l\" | awk -v u=\$u '\$1 == u {print \"PTS\", \$3}')\""
}
pty_session() { # USER SECONDS: a pty login in the background (its pid in PTY_PID)
	if [ "$1" = root ]; then
		ssh -i "$G_IMAGE/id_ed25519" -p "$G_PORT" "${g_ssh_opts[@]}" -tt root@127.0.0.1 "sleep $2" >/dev/null 2>&1 &
	else
		g_as "$1" -tt -- "sleep $2" >/dev/null 2>&1 &
	fi
	PTY_PID=$!
	g_root "for i in \$(seq 1 150); do pgrep -u $1 -f '^slee[p] $2\$' >/dev/null && exit 0; sleep 0.2; done; exit 1"
}
g_user nsref
g_root 'mkdir -p /etc/nsiso/nsiso.conf.d && printf "[global]\nexempt = nsref\n" > /etc/nsiso/nsiso.conf.d/ref.conf'
pty_session nsref 700
root_on=$(acct_shape nsref)
g_root "pkill -u nsref -f '^slee[p] 700\$'"; wait "$PTY_PID" 2>/dev/null
sleep 1
root_after=$(acct_after nsref)
g_root 'rm -f /etc/nsiso/nsiso.conf.d/ref.conf'
expect_eq "the exempt user's pty login shows in who and w with its origin (the reference below can fail)" \
	"$root_on" "who=(10.0.2.2)
w=10.0.2.2"
g_root 'journalctl --rotate >/dev/null 2>&1; date +%s > /root/t/mark'
pty_session alice 600
expect_eq "who and w show alice's pty login as they show an exempt user's, without nsiso" "$(acct_shape alice)" "$root_on"
g_root "pkill -u alice -f '^slee[p] 600\$'"; wait "$PTY_PID" 2>/dev/null
sleep 1
expect_eq "last and lastlog$([ "$G_SUITE" = trixie ] && echo 2) show alice's ended login as they show an exempt user's" \
	"$(acct_after alice)" "$root_after"
g_as alice -tt -- 'sleep 600' >/dev/null 2>&1 & ptyhold=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
# (ps cannot name a terminal of the container's own devpts; utmp can)
pts=$(g_root "who | awk '\$1 == \"alice\" {print \$2}'")
[ "$G_SUITE" = bookworm ] && expect_match "the pty session has a terminal, in utmp" "$pts" '^pts/[0-9]+$'
[ "$G_SUITE" = bookworm ] && expect_match "who shows alice's pty login with its origin" "$(g_root 'who')" "^alice +$pts +[-0-9]+ [0-9:]+ \(10\.0\.2\.2\)"
[ "$G_SUITE" = bookworm ] && expect_match "w shows it" "$(g_root 'w -h alice')" "^alice +$pts +10\.0\.2\.2 "
expect_match "loginctl lists alice's session" "$(g_root 'loginctl list-sessions --no-legend')" "^ *[0-9]+ +$uid_a +alice "
g_root 'pkill -u alice -x sleep'
wait "$ptyhold" 2>/dev/null
g_root "for i in \$(seq 1 100); do loginctl list-sessions --no-legend | grep -q ' alice ' || exit 0; sleep 0.3; done; exit 1"
expect_eq "after logout loginctl lists no session of alice" "$?" 0
expect_eq "who no longer shows alice" "$(g_root "who | grep -c '^alice '")" 0
if [ "$G_SUITE" = bookworm ]; then
	expect_match "last shows the pty login and its logout" "$(g_root 'last -w -n 5 alice')" \
		"^alice +$pts +10\.0\.2\.2 .* - [0-9:]+ +\([0-9:]+\)"
	expect_match "lastlog shows the pty login" "$(g_root 'lastlog -u alice')" "^alice +$pts +10\.0\.2\.2 "
fi
journal=$(g_root 'journalctl --no-pager -o cat --since "@$(cat /root/t/mark)"')
expect_match "the journal shows the session's logind registration" "$journal" "New session [0-9]+ of user alice"
expect_match "and its end" "$journal" "Removed session [0-9]+"
expect_eq "pam_systemd released every session (no 'Failed to release session' in the whole boot)" \
	"$(g_root 'journalctl --no-pager -o cat -b | grep -c "Failed to release session"')" 0

# ---- 2e. loginctl terminate-user ends the container completely -----------------
g_section 2e
# "gone" once alice has no state file, no process and no nsiso unit left (the
# unit goes when the supervisor, its last process, has finished the
# teardown); else what is left.
alice_gone() {
	g_root "for i in \$(seq 1 100); do ls /run/nsiso | grep -q '^$uid_a\.' || pgrep -u alice >/dev/null ||
	systemctl list-units --no-legend --all 'nsiso-*' | grep -q . || { echo gone; exit; }; sleep 0.3; done;
	ls /run/nsiso; pgrep -a -u alice; systemctl list-units --all 'nsiso-*'"
}
g_as alice -- 'sleep 603' & termhold=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -f 'sleep 603' >/dev/null && exit 0; sleep 0.2; done; exit 1"
expect_eq "alice's container is up before terminate-user" "$(g_root "ls /run/nsiso | grep -c '^$uid_a\.'")" 2
g_root 'loginctl terminate-user alice'
wait "$termhold" 2>/dev/null
gone=$(alice_gone)
expect_eq "after terminate-user: no /run/nsiso/$uid_a.*, no process of alice, no nsiso unit" "$gone" gone
expect_eq "and no cgroup of the container" "$(g_root "find /sys/fs/cgroup -name 'nsiso*' | wc -l")" 0
# (logind ends the sessions first, so the container usually ends as after
# a last logout; the scope's stop below is the other way)
expect_match "the supervisor logged the container's end" \
	"$(g_root "journalctl --no-pager -o cat -t nsiso-sup | grep 'user=alice' | tail -n 1")" \
	"^container ended user=alice uid=$uid_a .* reason=(stopped|last-session-ended)$"

# systemctl stop of the scope: systemd SIGTERMs the supervisor, which ends
# the container (the session too) and leaves nothing.
g_as alice -- 'sleep 604' & termhold=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -f 'sleep 604' >/dev/null && exit 0; sleep 0.2; done; exit 1"
unit=$(g_root "systemctl list-units --no-legend --plain 'nsiso-$uid_a-*.scope' | awk '{print \$1}'")
expect_match "alice's container is a scope" "$unit" "^nsiso-$uid_a-[0-9]+\.scope$"
g_root "systemctl stop $unit"
wait "$termhold" 2>/dev/null
gone=$(alice_gone)
expect_eq "after systemctl stop of the scope: no state, no process of alice, no unit" "$gone" gone
expect_match "the supervisor took the SIGTERM as a stop" \
	"$(g_root "journalctl --no-pager -o cat -t nsiso-sup | grep 'user=alice' | tail -n 2 | tr '\n' ' '")" \
	"container stopping user=alice uid=$uid_a signal=TERM sender_pid=1 .*reason=stopped"

# ---- 2f. the host's /run and system bus (THREATS 63) --------------------------
g_section 2f
# system_bus = none (the default): the container's /run holds only what
# sessions need; logind's KillUser and SetUserLinger are out of reach, and so
# is the host's name resolver.
g_as alice -- 'sleep 605' & busa=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -f 'sleep 605' >/dev/null && exit 0; sleep 0.2; done; exit 1"
sup=$(g_root "nsiso show alice | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p'")
expect_eq "the host resolves _gateway through systemd-resolved (the check below can fail)" \
	"$(g_root 'getent hosts _gateway >/dev/null; echo $?')" 0
out=$(g_as alice -- 'echo run=$(ls -A /run | tr "\n" " "); echo userns=$(readlink /proc/self/ns/user);
	busctl --system list >/dev/null 2>&1; echo bus=$?;
	busctl call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUser ui '"$uid_a"' 9 >/dev/null 2>&1; echo kill9=$?;
	busctl call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUser ui '"$uid_a"' 19 >/dev/null 2>&1; echo kill19=$?;
	loginctl enable-linger >/dev/null 2>&1; echo linger=$?;
	getent hosts _gateway >/dev/null; echo resolve=$?; ls /run/systemd/resolve >/dev/null 2>&1; echo resolvedir=$?;
	stat -c dbus=%a /run/dbus'); rc=$?
expect_eq "alice's login succeeds" "$rc" 0
expect_ne "and is in a container" "$(t_key userns "$out")" "$(g_root 'readlink /proc/1/ns/user')"
expect_eq "the container's /run holds only dbus (root's), lock, systemd (the journal), user and utmp (where the host has one)" \
	"$(t_key run "$out")" "dbus lock systemd user$(g_root '[ -e /run/utmp ] && echo " utmp"')"
expect_eq "the bus's directory is closed to the tenant (mode 700, container root's)" "$(t_key dbus "$out")" 700
expect_match "busctl --system fails (the tool ran)" "$(t_key bus "$out")" '^[1-9][0-9]*$'
expect_match "KillUser SIGKILL fails" "$(t_key kill9 "$out")" '^[1-9][0-9]*$'
expect_match "KillUser SIGSTOP fails" "$(t_key kill19 "$out")" '^[1-9][0-9]*$'
expect_match "loginctl enable-linger fails" "$(t_key linger "$out")" '^[1-9][0-9]*$'
expect_eq "no linger file appeared" "$(g_root 'ls -A /var/lib/systemd/linger | wc -l')" 0
expect_eq "network = none: _gateway is not resolved through the host (getent: not found)" "$(t_key resolve "$out")" 2
expect_eq "resolved's sockets are not there" "$(t_key resolvedir "$out")" 2
expect_eq "the supervisor runs, not stopped" "$(g_root "awk '/^State:/ {print \$2}' /proc/$sup/status")" S
g_root "pkill -u alice -f 'sleep 605'"; wait "$busa" 2>/dev/null
# system_bus = host: the bus is there, and a KillUser of the tenant's own
# slice reaches its sshd monitors, never the supervisor (the scope is in
# user-nsiso.slice, beside user-UID.slice).
no_container bob
g_root 'mkdir -p /etc/nsiso/nsiso.conf.d && printf "[user bob]\nsystem_bus = host\n" > /etc/nsiso/nsiso.conf.d/bus.conf'
g_as bob -- 'sleep 606' & busb=$!
g_root "for i in \$(seq 1 150); do pgrep -u bob -f 'sleep 606' >/dev/null && exit 0; sleep 0.2; done; exit 1"
expect_eq "system_bus = host: bob's held login runs its sleep (the checks below need it)" "$?" 0
sup_b=$(g_root "nsiso show bob | sed -n 's/.*supervisor pid \([0-9]*\).*/\1/p'")
expect_eq "system_bus = host: busctl --system works inside" "$(g_as bob -- 'busctl --system list >/dev/null 2>&1; echo $?')" 0
timeout 60 ssh -i "$G_DIR/id" -p "$G_PORT" "${g_ssh_opts[@]}" bob@127.0.0.1 \
	"busctl call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUser ui $uid_b 19" >/dev/null 2>&1 & stopper=$!
expect_eq "KillUser SIGSTOP from inside stopped bob's sshd monitors" \
	"$(g_root "for i in \$(seq 1 100); do for p in \$(pgrep -f 'sshd[-a-z]*: bob'); do awk '/^State:/ {print \$2}' /proc/\$p/status; done | grep -q T && { echo stopped; exit; }; sleep 0.2; done")" stopped
expect_eq "and not the supervisor" "$(g_root "awk '/^State:/ {print \$2}' /proc/$sup_b/status")" S
g_root 'loginctl kill-user --signal=CONT bob'
wait "$stopper" 2>/dev/null
g_as bob -- "busctl call org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager KillUser ui $uid_b 9" >/dev/null 2>&1
wait "$busb" 2>/dev/null
expect_eq "KillUser SIGKILL from inside ended bob's sessions" "$(g_root 'pgrep -u bob -f "sleep 606" | wc -l')" 0
# (a SIGKILLed supervisor logs nothing and leaves its socket: one that
# outlived the kill ends the container itself and says so)
g_root "for i in \$(seq 1 100); do [ -e /run/nsiso/$uid_b.sock ] || exit 0; sleep 0.3; done; exit 1"
expect_match "but not the supervisor: it ended the container itself, as after a last logout" \
	"$(g_root "journalctl --no-pager -o cat -t nsiso-sup | grep 'container ended user=bob' | tail -n 1")" \
	"init_pid=[0-9]+ .*reason=last-session-ended$"
expect_eq "bob's next login works" "$(g_as bob -- 'cat /proc/1/comm')" nsiso-init
g_root 'rm -f /etc/nsiso/nsiso.conf.d/bus.conf'
g_root "for i in \$(seq 1 100); do [ -e /run/nsiso/$uid_b.sock ] || exit 0; sleep 0.3; done; exit 1"

# ---- 3. nsiso list, show, enter, stop -------------------------------------------
g_section 3
g_as alice -- 'sleep 600' & hold=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
expect_eq "alice's held login runs its sleep (the checks below need it)" "$?" 0
sleep_ns=$(g_root 'readlink /proc/$(pgrep -u alice -x sleep)/ns/pid')
list=$(g_root 'nsiso list')
expect_match "nsiso list shows alice's container with one session" "$list" "^alice +$uid_a +[0-9]+ +1 "
show=$(g_root 'nsiso show alice')
expect_match "nsiso show names the pid namespace's inode" "$show" "pid +${sleep_ns//[^0-9]/}"
expect_eq "nsiso enter lands in the session's PID namespace" "$(g_root 'nsiso enter alice -- readlink /proc/self/ns/pid')" "${sleep_ns:-(no sleep of alice seen)}"
expect_eq "nsiso enter runs as alice" "$(g_root 'nsiso enter alice -- id -un')" alice
out=$(g_root 'nsiso stop alice --timeout 5'); rc=$?
expect_eq "nsiso stop exits 0" "$rc" 0
for i in $(seq 1 100); do kill -0 "$hold" 2>/dev/null || break; sleep 0.2; done
kill -0 "$hold" 2>/dev/null; expect_eq "nsiso stop ended the ssh session" "$?" 1
wait "$hold" 2>/dev/null
expect_eq "after stop: no container" "$(g_root "for i in \$(seq 1 50); do [ -e /run/nsiso/$uid_a.sock ] || { echo none; exit; }; sleep 0.2; done")" none
g_root 'nsiso show alice >/dev/null 2>&1'; expect_eq "nsiso show of no container exits 4" "$?" 4

# ---- 4. cgroup v2 limits enforced ---------------------------------------------
g_section 4
no_container bob
g_root 'mkdir -p /etc/nsiso/nsiso.conf.d && printf "[user bob]\npids_max = 40\nmemory_max = 64M\n" > /etc/nsiso/nsiso.conf.d/limits.conf &&
	install -m 0755 /root/t/forker /root/t/hog /home/bob/'
expect_eq "the host delegates pids and memory at the root" "$(g_root 'tr " " "\n" < /sys/fs/cgroup/cgroup.subtree_control | grep -Ec "^(pids|memory)$"')" 2
g_as bob -- 'sleep 600' & holdb=$!
g_root "for i in \$(seq 1 150); do pgrep -u bob -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
grp=$(g_root 'sed -n "s/^0:://p" /proc/$(pgrep -u bob -x sleep)/cgroup')
expect_match "bob's session is in the container's group, in its scope in user-nsiso.slice" "$grp" \
	"^/user.slice/user-nsiso.slice/nsiso-$uid_b-[0-9]+.scope/nsiso/bob$"
scope=$(basename "$(dirname "$(dirname "$grp")")")
expect_eq "systemd made the scope with Delegate=yes, in user-nsiso.slice beside bob's slice, active" \
	"$(g_root "for p in Delegate Slice ActiveState; do systemctl show -p \$p --value $scope; done | tr '\n' ' '")" \
	"yes user-nsiso.slice active "
expect_match "systemctl status shows the container's processes in the scope" "$(g_root "systemctl status --no-pager $scope")" \
	"nsiso container of bob"
expect_match "systemd-cgls shows bob's sleep under the scope" \
	"$(g_root "systemd-cgls --no-pager -u user-nsiso.slice | grep -A20 $scope")" "sleep 600"
expect_eq "nothing of nsiso at the top of the cgroup tree" "$(g_root 'ls /sys/fs/cgroup | grep -c nsiso')" 0
expect_eq "pids.max is the policy's" "$(g_root "cat /sys/fs/cgroup$grp/pids.max")" 40
expect_eq "memory.max is the policy's (64M)" "$(g_root "cat /sys/fs/cgroup$grp/memory.max")" 67108864
g_root 'systemctl daemon-reload'
expect_eq "after systemctl daemon-reload the limits are the same" \
	"$(g_root "cat /sys/fs/cgroup$grp/pids.max /sys/fs/cgroup$grp/memory.max | tr '\n' ' '")" "40 67108864 "
expect_eq "and the session is still in the container's group" \
	"$(g_root 'sed -n "s/^0:://p" /proc/$(pgrep -u bob -x sleep)/cgroup')" "$grp"
out=$(g_as bob -- './forker 100 3')
expect_match "a fork loop stops at pids.max with EAGAIN" "$out" '^forked=[0-9]+ error=EAGAIN$'
expect_eq "pids.events counted the refusals" "$(g_root "awk '/^max/ {print (\$2 > 0)}' /sys/fs/cgroup$grp/pids.events")" 1
g_as bob -- './hog 256 >/dev/null'; rc=$?
expect_eq "256 MiB in a 64M container is OOM-killed (137)" "$rc" 137
expect_match "memory.events counted an oom_kill" "$(g_root "grep ^oom_kill /sys/fs/cgroup$grp/memory.events")" '^oom_kill [1-9]'
kill -0 "$holdb" 2>/dev/null; expect_eq "bob's holding session survives the OOM kill" "$?" 0
# Live limits on the scope's group (nsiso set, issue 25), and the OOM notice
# through cgroup v2's memory.events.
expect_eq "nsiso set bob pids_max=60 memory_max=128M: exit 0" \
	"$(g_root 'nsiso set bob pids_max=60 memory_max=128M >/dev/null 2>&1; echo $?')" 0
expect_eq "the scope's group has the new limits at once" \
	"$(g_root "cat /sys/fs/cgroup$grp/pids.max /sys/fs/cgroup$grp/memory.max | tr '\n' ' '")" "60 134217728 "
expect_match "nsiso show prints them" "$(g_root 'nsiso show bob')" '^limits: memory_max=134217728 .*pids_max=60 '
g_root 'systemctl daemon-reload'
expect_eq "after systemctl daemon-reload nsiso set's limits stay" \
	"$(g_root "cat /sys/fs/cgroup$grp/pids.max /sys/fs/cgroup$grp/memory.max | tr '\n' ' '")" "60 134217728 "
# The notice comes from the supervisor, not from the session: the session
# stays until the notice is on its terminal (at most 60 s), so a slow guest
# cannot end it first.
g_as bob -tt -- './hog 256; sleep 59' </dev/null >"$G_DIR/oom.tty" 2>&1 & oomssh=$!
for i in $(seq 1 300); do
	grep -q '^nsiso: out of memory' "$G_DIR/oom.tty" && break
	kill -0 "$oomssh" 2>/dev/null || break
	sleep 0.2
done
g_root 'pkill -u bob -x -f "sleep 59"'
wait "$oomssh"
out=$(tr -d '\r' <"$G_DIR/oom.tty")
expect_match "on a terminal, bob is told of the OOM kill (memory.events)" "$out" \
	'^nsiso: out of memory: the kernel killed a process of this container \(memory_max 128 MiB; [0-9]+ so far\)$'
expect_match "the journal has the supervisor's oom-kill line" \
	"$(g_root 'journalctl -q -t nsiso-sup --no-pager | grep oom-kill | tail -n1')" "oom-kill user=bob uid=$uid_b kills=[0-9]+ memory_max=134217728"
out=$(g_as alice -- 'cp /home/bob/hog /tmp/ 2>/dev/null || true; true')
expect_eq "alice, unlimited, is not affected (login ok)" "$?" 0
# What bob sees from inside (nsiso-status, in users' PATH from the package),
# nsiso metrics, and the journal's fields (issue 25), with systemd's journald.
out=$(g_as bob -- 'nsiso-status')
expect_match "nsiso-status inside names the container as its scope" "$out" \
	"^container      ${scope%.scope} of bob, up since "
expect_match "the limits nsiso set gave it" "$out" '^memory         [0-9.]+ MiB in use, memory_max 128\.0 MiB, memory_high max$'
expect_match "pids of the new pids_max" "$out" '^pids           [0-9]+ of 60 \(pids_max\)$'
expect_eq "the OOM kills, as memory.events counts them" "$(printf '%s\n' "$out" | sed -n 's/^oom kills      //p')" \
	"$(g_root "sed -n 's/^oom_kill //p' /sys/fs/cgroup$grp/memory.events")"
metrics=$(g_root 'nsiso metrics')
expect_eq "nsiso metrics: the OOM kills since boot are bob's" \
	"$(printf '%s\n' "$metrics" | sed -n 's/^nsiso_oom_kills_total //p')" \
	"$(g_root "sed -n 's/^oom_kill //p' /sys/fs/cgroup$grp/memory.events")"
expect_match "nsiso metrics counts sshd's logins by service" "$metrics" \
	'^nsiso_logins_total\{service="sshd",container="created"\} [1-9][0-9]*$'
expect_match "and the policy's identity" "$metrics" '^nsiso_policy_info\{path="/etc/nsiso/nsiso.conf",hash="[0-9a-f]{16}",valid="1"\} 1$'
g_root 'useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 nosub &&
	install -d -m 0700 -o nosub -g nosub /home/nosub/.ssh &&
	install -m 0600 -o nosub -g nosub /home/alice/.ssh/authorized_keys /home/nosub/.ssh/authorized_keys'
out=$(g_as nosub -- 'echo in' 2>&1)
expect_nomatch "a user without subordinate ids is refused" "$out" '^in$'
ent=$(g_root 'for i in $(seq 1 20); do journalctl --no-pager -o export NSISO_STEP=idmap NSISO_USER=nosub | grep -a . && exit; sleep 0.5; done')
expect_match "journalctl NSISO_STEP=idmap finds the refusal" "$ent" '^MESSAGE=pam_nsiso\(sshd:session\): refused: user=nosub step=idmap error=ERANGE '
expect_match "with its MESSAGE_ID" "$ent" '^MESSAGE_ID=3f8c3a9ed67a4308b5e1f57eef4b7fa7$'
expect_match "its uid" "$ent" "^NSISO_UID=$(g_root 'id -u nosub')\$"
expect_match "and the authpriv facility" "$ent" '^SYSLOG_FACILITY=10$'
expect_match "journalctl -x explains it from nsiso's catalog" \
	"$(g_root 'journalctl --no-pager -x NSISO_STEP=idmap NSISO_USER=nosub')" 'Subject: Session of nosub refused at step idmap'
expect_match "the authpriv line stays as it is" \
	"$(g_root 'journalctl --no-pager -o cat SYSLOG_FACILITY=10 -t sshd -t sshd-session | grep "refused: user=nosub step=idmap" | head -n1')" \
	'^pam_nsiso\(sshd:session\): refused: user=nosub step=idmap error=ERANGE '
g_root 'userdel -r nosub 2>/dev/null'
# The guard of user@UID.service (THREATS 43): with nsiso's drop-in masked
# and systemd reloaded, a manager of the user would run outside, so the
# container is refused at its scope; unmasked, the same user logs in.
g_root 'useradd -m -s /bin/bash nodrop &&
	install -d -m 0700 -o nodrop -g nodrop /home/nodrop/.ssh &&
	install -m 0600 -o nodrop -g nodrop /home/alice/.ssh/authorized_keys /home/nodrop/.ssh/authorized_keys &&
	mkdir -p /etc/systemd/system/user@.service.d && ln -s /dev/null /etc/systemd/system/user@.service.d/nsiso.conf &&
	systemctl daemon-reload'
out=$(g_as nodrop -- 'echo in' 2>&1)
expect_nomatch "with the drop-in masked, the user's login is refused" "$out" '^in$'
expect_match "the refusal names the scope's step and ENOPKG" \
	"$(g_root 'for i in $(seq 1 20); do journalctl --no-pager -o cat NSISO_USER=nodrop | grep . && exit; sleep 0.5; done')" \
	'refused: user=nodrop step=cgroup error=ENOPKG .*user@[0-9]+\.service lacks nsiso.s drop-in'
g_root 'rm /etc/systemd/system/user@.service.d/nsiso.conf && rmdir /etc/systemd/system/user@.service.d && systemctl daemon-reload'
expect_eq "unmasked, the same user logs in" "$(g_as nodrop -- 'echo in' 2>&1 | tail -n 1)" in
g_root 'pkill -u nodrop; for i in $(seq 1 50); do pgrep -u nodrop >/dev/null || break; sleep 0.2; done; userdel -r nodrop 2>/dev/null'
# (a session without a pty lives until its command ends, whatever the client
# does: end the command)
g_root 'pkill -u bob -x sleep'
wait "$holdb" 2>/dev/null
g_root "for i in \$(seq 1 120); do [ -d /sys/fs/cgroup$grp ] || [ -d /sys/fs/cgroup/user.slice/user-nsiso.slice/$scope ] || exit 0; sleep 0.5; done; exit 1"
expect_eq "bob's group and scope are gone after logout" "$?" 0
# cpus = 1 through the scope: systemd delegates cpuset with Delegate=yes.
no_container alice
g_root 'printf "[user alice]\ncpus = 1\n" > /etc/nsiso/nsiso.conf.d/cpus.conf'
g_as alice -- 'sleep 600' & holdc=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
grpc=$(g_root 'sed -n "s/^0:://p" /proc/$(pgrep -u alice -x sleep)/cgroup')
expect_match "cpus = 1: alice's group is the container's, in its scope" "$grpc" \
	"^/user.slice/user-nsiso.slice/nsiso-$uid_a-[0-9]+.scope/nsiso/alice$"
expect_match "its cpuset has one CPU" "$(g_root "cat /sys/fs/cgroup$grpc/cpuset.cpus.effective")" '^[0-9]+$'
expect_eq "nproc inside says 1" "$(g_as alice -- nproc)" 1
g_root 'pkill -u alice -x sleep'; wait "$holdc" 2>/dev/null
g_root 'rm -f /etc/nsiso/nsiso.conf.d/cpus.conf'
# devices = (issue 26): the node in alice's /dev, the BPF filter on her
# group below the scope (c 240:N: no driver, so ENXIO means "let through").
no_container alice
g_root 'mknod -m 0666 /dev/nsiso-dev-a c 240 7 && mknod -m 0666 /dev/nsiso-dev-b c 240 8 &&
	printf "[user alice]\ndevices = /dev/nsiso-dev-a\n" > /etc/nsiso/nsiso.conf.d/dev.conf'
g_as alice -- 'sleep 600' & holdd=$!
g_root "for i in \$(seq 1 150); do pgrep -u alice -x sleep >/dev/null && exit 0; sleep 0.2; done; exit 1"
grpa=$(g_root 'sed -n "s/^0:://p" /proc/$(pgrep -u alice -x sleep)/cgroup')
out=$(g_as alice -- 'for x in /dev/nsiso-dev-a /dev/nsiso-dev-b; do head -c0 $x 2>&1 | sed "s/.*: //" | grep . || echo opened; done')
expect_eq "devices: alice's device is in her /dev and passes the filter, the other is not there" \
	"$(printf '%s\n' "$out" | tr '\n' '|')" "No such device or address|No such file or directory|"
out=$(g_root "bash -c 'echo \$\$ > /sys/fs/cgroup$grpa/cgroup.procs && for x in /dev/nsiso-dev-a /dev/nsiso-dev-b /dev/null; do head -c0 \$x 2>&1 | sed \"s/.*: //\" | grep . || echo opened; done'")
expect_eq "host root in her group (below the scope): her device passes, the other is EPERM, /dev/null opens" \
	"$(printf '%s\n' "$out" | tr '\n' '|')" "No such device or address|Operation not permitted|opened|"
g_root 'pkill -u alice -x sleep'; wait "$holdd" 2>/dev/null
g_root 'rm -f /dev/nsiso-dev-a /dev/nsiso-dev-b /etc/nsiso/nsiso.conf.d/dev.conf'
# Nested id maps (nested_userns = yes, issue 26) on this release's kernel:
# the container's /etc/subuid, the supervisor writes the map of a user
# namespace alice made, refuses container root; /sys/fs/cgroup is her
# group's cgroup2, read-only. (nsiso-newidmap by its path: the image has no
# uidmap package to stand in for.)
g_root 'printf "[user alice]\nnested_userns = yes\n" > /etc/nsiso/nsiso.conf.d/nest.conf
	nsiso stop alice >/dev/null 2>&1; for i in $(seq 1 60); do nsiso show alice >/dev/null 2>&1 || exit 0; sleep 0.5; done'
out=$(g_as alice -- 'id -un; grep -c "^alice:" /etc/subuid; sed -n 1p /etc/subuid
unshare -U sleep 30 & t=$!; sleep 1
/usr/libexec/nsiso-newidmap $t 0 0 1 2>&1; echo root=$?
/usr/libexec/nsiso-newidmap $t 0 '"$uid_a"' 1 1 1 100 2>&1; echo good=$?
cat /proc/$t/uid_map; kill $t
stat -f -c %T /sys/fs/cgroup; touch /sys/fs/cgroup/x 2>&1 | sed "s/.*: //"')
expect_eq "nested: the login happened" "$(printf '%s\n' "$out" | sed -n 1p)" alice
expect_eq "nested: /etc/subuid inside has alice's two ranges in container ids" \
	"$(printf '%s\n' "$out" | sed -n 2,3p | tr '\n' ' ')" "2 alice:1:$((uid_a - 1)) "
expect_match "nested: container root is refused" "$out" '^nsiso-newidmap: uid map refused at ranges: Operation not permitted$'
expect_match "nested: alice's uid and 1..100 are written" "$out" '^good=0$'
expect_match "nested: the map holds container ids 1..100" "$out" '^ *1 +1 +100$'
expect_match "nested: /sys/fs/cgroup is a cgroup2, read-only" "$out" '^cgroup2fs$'
expect_match "(touch: read-only)" "$out" '^Read-only file system$'
expect_match "nested: the supervisor logged the written map" \
	"$(g_root 'journalctl --no-pager -o cat -t nsiso-sup | grep "nested uid map written user=alice"')" 'step=write error=none'
g_root 'rm -f /etc/nsiso/nsiso.conf.d/nest.conf'

# ---- 5. disable and purge -------------------------------------------------------
g_section 5
g_root 'rm -rf /etc/nsiso/nsiso.conf.d; DEBIAN_FRONTEND=noninteractive pam-auth-update --disable nsiso'
expect_eq "pam-auth-update --disable takes the module out" "$(g_root 'grep -c pam_nsiso /etc/pam.d/common-session')" 0
g_root 'for i in $(seq 1 120); do pgrep -x nsiso-sup >/dev/null || exit 0; sleep 0.5; done; exit 1'
expect_eq "every container has ended before the purge" "$?" 0
g_root 'DEBIAN_FRONTEND=noninteractive dpkg --purge nsiso >/dev/null 2>&1'
expect_eq "dpkg --purge succeeds" "$?" 0
expect_eq "purged: dpkg knows no nsiso" "$(g_root 'dpkg-query -W nsiso >/dev/null 2>&1 || echo gone')" gone
expect_eq "/etc/pam.d is byte-identical to before the install" \
	"$(g_root 'cd /etc/pam.d && sha256sum --quiet -c /root/t/pam.before && ls -A | wc -l | cmp -s - /root/t/pam.count && echo same')" same
expect_eq "nothing of nsiso is left on the guest's filesystems" \
	"$(g_root 'find / -xdev \( -path /root/t -o -path /proc -o -path /sys \) -prune -o -name "*nsiso*" -print; find /run /sys/fs/cgroup -name "*nsiso*"; grep -l nsiso /var/lib/pam/* 2>/dev/null')" ""
t_finish
