#!/bin/bash
# The other ways in, through the real programs with pam_nsiso in their
# (fixed-name) PAM services, extended for the test and restored at exit:
# su -, su -c, runuser -u, runuser -l, login on a pty (script), sudo -u.
# Each lands in the user's container, shares it with the user's ssh
# session, has no capability, and leaves no host process the user owns
# outside the container; a shell reached with su from root's terminal
# cannot push input into root's shell (TIOCSTI).
. "$(dirname "$0")/lib.sh"
t_init
u=nsway$$
pol=$(t_policy ways.conf "[default]
hostname = in-%u")
t_sshd "config=$pol" || exit 1
t_user "$u" || exit 1
uid=$(id -u "$u")
home=$(getent passwd "$u" | cut -d: -f6)
install -m 0755 "$NSISO_TIOCSTI" "$home/tiocsti"
# su-l and runuser-l include su and runuser.
# sudo makes /run/sudo on first use: remove it again if it is ours.
[ -d /run/sudo ] || trap 'rm -rf /run/sudo; t_cleanup' EXIT
for s in su runuser login sudo; do
	t_pam_extend "$s" "config=$pol" || t_skip_or_fail "/etc/pam.d/$s is missing"
done

# The same groups on every way in (THREATS 61): a user in group root (gid 0)
# reads a 0640 root:root file neither through su nor through ssh, whose
# session child set its groups as host root before the split join.
usermod -aG root "$u"
echo secret > "$home/rootonly"; chown root:root "$home/rootonly"; chmod 0640 "$home/rootonly"
expect_eq "on the host, the user's group root opens the 0640 file (the checks below can fail)" \
	"$(setpriv --reuid "$u" --regid "$u" --init-groups cat "$home/rootonly" 2>&1)" secret
out=$(t_ssh "$u" -- 'echo groups=$(id -G); echo userns=$(readlink /proc/self/ns/user); cat '"$home/rootonly"' 2>&1')
expect_ne "ssh: the session is in a container" "$(t_key userns "$out")" "$(readlink /proc/self/ns/user)"
expect_eq "ssh: gid 0 is not among the session's groups" "$(t_key groups "$out")" "$(id -g "$u")"
expect_eq "ssh: reading the 0640 root:root file fails with EACCES" "$(printf '%s\n' "$out" | tail -n 1)" \
	"cat: $home/rootonly: Permission denied"
expect_eq "su: reading it fails with EACCES as well" "$(su "$u" -c "cat $home/rootonly" </dev/null 2>&1)" \
	"cat: $home/rootonly: Permission denied"
gpasswd -d "$u" root >/dev/null

# An ssh session holds the container: every way in must join this one.
t_ssh_bg "$u" -- 'sleep 120'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.1; done
cont_pid=$(readlink "/proc/$(pgrep -u "$u" -x sleep | head -n1)/ns/pid")
cont_user=$(readlink "/proc/$(pgrep -u "$u" -x sleep | head -n1)/ns/user")
expect_match "the ssh session is in a container" "$cont_pid" '^pid:\[[0-9]+\]$'
expect_ne "its PID namespace is not the host's" "$cont_pid" "$(readlink /proc/self/ns/pid)"

# What each way reports: PID and user namespace, hostname, uid, caps.
probe='readlink /proc/self/ns/pid; readlink /proc/self/ns/user; hostname; id -u; grep -E "^Cap(Eff|Bnd):" /proc/self/status | tr -d "\t" | tr "\n" ","; echo'
want="$cont_pid
$cont_user
in-$u
$uid
CapEff:0000000000000000,CapBnd:0000000000000000,"
check_way() { # NAME OUTPUT
	expect_eq "$1 lands in the user's container, as the user, with no capability" "$2" "$want"
}
check_way "su - USER -c" "$(su - "$u" -c "$probe" </dev/null 2>&1)"
check_way "su USER -c" "$(su "$u" -c "$probe" </dev/null 2>&1)"
check_way "runuser -u USER --" "$(runuser -u "$u" -- sh -c "$probe" </dev/null 2>&1)"
check_way "runuser -l USER -c" "$(runuser -l "$u" -c "$probe" </dev/null 2>&1)"
check_way "sudo -u USER" "$(sudo -u "$u" sh -c "$probe" </dev/null 2>&1)"
# login on a pty: commands typed into the login shell.
printf '%s\nexit\n' "echo BEGIN; $probe; echo END" | script -qfec "login -f $u" /dev/null > "$T_DIR/login.out" 2>&1
out=$(tr -d '\r' < "$T_DIR/login.out" | sed -n '/BEGIN$/,/^END$/p' | sed '1d;$d')
[ -n "$out" ] || { echo "# login said:"; sed 's/^/#   /' "$T_DIR/login.out"; }
check_way "login -f USER on a pty" "$out"

# A refused session: the person at su's and login's terminal gets nsiso's
# one line (a user without subordinate ids).
r=nswayr$$
t_user "$r" nosubids || exit 1
msg='nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ idmap\)'
expect_match "su: the refused user's terminal gets the line" "$(su - "$r" -c 'echo RAN' </dev/null 2>&1 | head -n1)" "^$msg$"
printf 'echo RAN\nexit\n' | script -qfec "login -f $r" /dev/null > "$T_DIR/login-r.out" 2>&1
expect_match "login: the refused user's terminal gets the line" "$(tr -d '\r' < "$T_DIR/login-r.out")" "$msg"
expect_nomatch "and no shell ran for login" "$(tr -d '\r' < "$T_DIR/login-r.out" | grep -v 'echo RAN')" "^RAN$"

# No host process of the user outside the container, after all of that.
outside=0
for p in $(pgrep -u "$u"); do
	[ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$cont_pid" ] || outside=$((outside + 1))
done
expect_eq "every process the user owns on the host is inside the container" "$outside" 0
# Inside, only the user's processes and the init; none has a capability.
out=$(su "$u" -c 'for s in /proc/[0-9]*/status; do awk "/^Uid:/{u=\$2} /^CapEff:/{c=\$2} END{print u, c}" $s; done | sort -u' </dev/null 2>/dev/null)
expect_eq "inside: the user's processes and the init (container root), all without capabilities" "$out" \
	"0 0000000000000000
$uid 0000000000000000"

# TIOCSTI from a shell that root reached with su on root's own terminal.
# (su -c would run the command in a new session, without the terminal:
# the interactive shell of su - keeps it.)
out=$(printf '%s\nexit\n' "echo BEGIN; $home/tiocsti; echo END" | script -qfec "su - $u" /dev/null 2>&1 | tr -d '\r' |
	sed -n '/BEGIN$/,/^END$/p' | sed '1d;$d')
expect_eq "su - from root's terminal: TIOCSTI into root's shell is refused" "$out" EPERM

# Listed twice in one stack (su-l includes su): the second is a no-op.
t_pam_extend su-l "config=$pol"
check_way "su - USER -c, pam_nsiso in su-l and in su" "$(su - "$u" -c "$probe" </dev/null 2>&1)"

# The logs name the service.
sleep 0.3
log=$(cat "$T_DIR/syslog")
for s in su su-l runuser runuser-l login sudo; do
	expect_match "log: a session through $s" "$log" "session user=$u uid=$uid service=$s tty=[^ ]+ rhost=[^ ]+ container=joined "
done

kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_wait_no_containers 10
expect_eq "the container ends with its last session" "$(t_user_supervisors)" 0
t_finish
