#!/bin/bash
# What the inside of a container can leave for the next session, through a
# real sshd (docs/THREATS.md 67-68):
#  1. re-join after tampering (firejail's --join seccomp bug): container root
#     (nsiso enter --root, standing in for a tenant who became it) rewrites
#     what it sees of /run, /tmp, /dev/shm and plants files named like
#     nsiso's state; a second login and nsiso enter then join the same
#     container with the first session's seccomp mode and filter count,
#     NoNewPrivs, capability sets and id maps, and keyctl is still EPERM;
#  2. planted configuration (firejail #7154, CVE-2019-3842): ~/.pam_environment
#     read by pam_env user_readenv=1 (as Debian's /etc/pam.d/sshd has it),
#     ~/.ssh/rc, ~/.config/nsiso/nsiso.conf, ~/.nsiso.conf, and LD_PRELOAD,
#     XDG_*, NSISO_* sent with AcceptEnv change nothing of the next
#     container; no nsiso process loads the preload; the supervisor's and
#     the init's environments are empty.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
u=nstmp$$
pol=$(t_policy tamper.conf "[default]
namespaces = pid mount ipc uts net user cgroup
hostname = c-%u
pids_max = 555")
T_SSHD_EXTRA="AcceptEnv LD_PRELOAD XDG_* NSISO_*"
T_PAM_SESSION_PRE="session  required  pam_env.so user_readenv=1"
t_sshd "config=$pol" || exit 1
t_user "$u" || exit 1
uid=$(id -u "$u")
home=$(getent passwd "$u" | cut -d: -f6)
evil=$T_DIR/evil-preload.so
install -m 0755 "$NSISO_EVIL_PRELOAD" "$evil"
rm -f /run/nsiso-evil.*
trap 'rm -f /run/nsiso-evil.*; t_cleanup' EXIT

status='grep -E "^(Seccomp|Seccomp_filters|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):" /proc/self/status | tr -d "\t" | tr "\n" ","; echo; cat /proc/self/uid_map /proc/self/gid_map | tr -s " " | tr "\n" ","; echo; keyctl add user k v @u 2>&1 | head -n1'
# ---- 1. re-join after tampering ----------------------------------------------
t_ssh_bg "$u" -- 'sleep 120'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.1; done
pidns=$(readlink "/proc/$(pgrep -u "$u" -x sleep | head -n1)/ns/pid")
first=$(t_ssh "$u" -- "$status")
expect_match "the first session has a seccomp filter and no_new_privs" "$first" 'NoNewPrivs:1,Seccomp:2,Seccomp_filters:[1-9]'
expect_match "and keyctl is refused (EPERM)" "$first" 'Operation not permitted'
# Container root rewrites what it can reach and records what it managed.
tamper='n=0
for d in /run /run/user /run/lock /tmp /var/tmp /dev/shm; do
	for f in seccomp.bpf nsiso nsiso.conf '"$uid"'.sock '"$uid"'.lock supervisor; do
		rm -rf "$d/$f" 2>/dev/null
		printf "\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f" > "$d/$f" 2>/dev/null && n=$((n + 1))
	done
	chmod -R 0777 "$d" 2>/dev/null
	ln -sfn / "$d/root-link" 2>/dev/null && n=$((n + 1))
done
mkdir -p /run/nsiso 2>/dev/null && : > /run/nsiso/seccomp.bpf 2>/dev/null && n=$((n + 1))
rm -f /run/utmp 2>/dev/null; : > /run/utmp 2>/dev/null
echo planted=$n'
out=$("$NSISO" enter "$u" --root -- sh -c "$tamper" </dev/null 2>&1)
planted=$(t_key planted "$out")
expect_match "container root planted files in /run, /tmp, /var/tmp and /dev/shm (the check below can fail)" "$planted" '^[1-9][0-9]+$'
second=$(t_ssh "$u" -- "echo pidns=\$(readlink /proc/self/ns/pid); $status")
expect_eq "the second login joins the same container" "$(t_key pidns "$second")" "$pidns"
expect_eq "with the first session's seccomp, no_new_privs, capabilities, id maps and EPERM" \
	"$(printf '%s\n' "$second" | tail -n +2)" "$first"
entered=$("$NSISO" enter "$u" -- sh -c "echo pidns=\$(readlink /proc/self/ns/pid); $status" </dev/null 2>&1)
expect_eq "nsiso enter joins the same container" "$(t_key pidns "$entered")" "$pidns"
expect_eq "with the same seccomp, no_new_privs, capabilities, id maps and EPERM" \
	"$(printf '%s\n' "$entered" | tail -n +2)" "$first"
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
pkill -KILL -u "$u"
t_wait_no_containers 10 || not_ok "the container did not end"

# ---- 2. planted configuration ---------------------------------------------------
show_facts() { # the container's facts that do not change from one to the next
	"$NSISO" show "$u" | grep -E '^(limits|network|subordinate ids):'
}
t_ssh_bg "$u" -- 'sleep 120'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.1; done
base=$(t_ssh "$u" -- 'hostname; ls /proc/self/ns | tr "\n" " "')
base_show=$(show_facts)
expect_match "the baseline container has the policy's pids_max" "$base_show" 'pids_max=555 '
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
pkill -KILL -u "$u"
t_wait_no_containers 10 || not_ok "the baseline container did not end"

cat > "$home/.pam_environment" <<EOF
LD_PRELOAD DEFAULT=$evil
NSISO_CONFIG DEFAULT=$home/.nsiso.conf
XDG_RUNTIME_DIR DEFAULT=/tmp
XDG_CONFIG_HOME DEFAULT=$home/.config
EOF
install -d "$home/.config/nsiso"
printf '[default]\nhostname = pwned\nnamespaces = user\npids_max = max\n' | tee "$home/.config/nsiso/nsiso.conf" > "$home/.nsiso.conf"
printf '#!/bin/sh\necho rc=$(readlink /proc/self/ns/pid) > ~/rc-ran\n' > "$home/.ssh/rc"
chown -R "$u:$u" "$home"
chmod 0700 "$home/.ssh/rc"
t_ssh_bg "$u" -o SendEnv=LD_PRELOAD -o SendEnv=NSISO_CONFIG -o SendEnv=XDG_RUNTIME_DIR -o SendEnv=XDG_SESSION_TYPE -- 'sleep 120'
hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$u" -x sleep >/dev/null && break; sleep 0.1; done
after=$(LD_PRELOAD=$evil NSISO_CONFIG=$home/.nsiso.conf XDG_RUNTIME_DIR=/tmp XDG_SESSION_TYPE=x11 \
	t_ssh "$u" -o SendEnv=LD_PRELOAD -o SendEnv=NSISO_CONFIG -o SendEnv=XDG_RUNTIME_DIR -o SendEnv=XDG_SESSION_TYPE -- \
	'echo env=$LD_PRELOAD,$NSISO_CONFIG,$XDG_SESSION_TYPE; hostname; ls /proc/self/ns | tr "\n" " "')
expect_eq "the planted variables reached the session (sshd and pam_env took them)" "$(t_key env "$after")" \
	"$evil,$home/.nsiso.conf,x11"
expect_match "~/.ssh/rc ran, in the container" "$(cat "$home/rc-ran" 2>/dev/null)" "^rc=pid:\\[[0-9]+\\]$"
expect_eq "the next container has the same hostname and namespaces" "$(printf '%s\n' "$after" | tail -n +2)" "$base"
expect_eq "and the same limits, network and subordinate ids (nsiso show)" "$(show_facts)" "$base_show"
expect_eq "no nsiso process loaded the planted LD_PRELOAD" "$(ls /run/nsiso-evil.* 2>/dev/null | wc -l)" 0
sup=$(pgrep -x nsiso-sup | while read -r p; do
	[ "$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | sed -n 3p)" = "$u" ] && echo "$p"; done | head -n1)
cpidns=$(readlink "/proc/$(pgrep -u "$u" -x sleep | head -n1)/ns/pid")
init=$(for p in $(pgrep -x nsiso-init); do [ "$(readlink "/proc/$p/ns/pid")" = "$cpidns" ] && echo "$p"; done | head -n1)
expect_match "the user's supervisor is running" "$sup" '^[0-9]+$'
expect_eq "the supervisor's environment is empty" "$(wc -c < "/proc/$sup/environ")" 0
expect_match "its init is running" "$init" '^[0-9]+$'
expect_eq "the init's environment is empty" "$(wc -c < "/proc/$init/environ" 2>/dev/null)" 0
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_finish
