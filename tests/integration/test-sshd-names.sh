#!/bin/bash
# Names and text, through a real sshd (docs/THREATS.md 69-71):
#  1. names as options (flatpak CVE-2024-32462 class): users and groups named
#     -rf, --help and -n, served by a directory (a test NSS module: glibc's
#     files backend never answers a name beginning with '-'), log in to
#     containers of their own; [group -n] applies; nsiso show/enter/explain/
#     stop take them after "--";
#  2. terminal escapes (util-linux wall CVE-2024-28085 class): a user name,
#     a home and a policy path holding ESC sequences and an 8-bit CSI are
#     shown by nsiso explain, list and check as \xHH text, never raw; the
#     user whose name holds ESC is refused and the log line escapes it;
#  3. pagers (systemd CVE-2023-26604 class): nsiso list under sudo on a
#     terminal with PAGER, SYSTEMD_PAGER and LESSOPEN set runs nothing: one
#     execve (its own), no fork, and the pager's marker is never made.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
NSS_DIR=/var/lib/nsiso-nsstest
libdir=$(dirname "$(ldconfig -p | awk '/libnss_files.so.2 .*x86-64/ { print $NF; exit }')")
[ -d "$libdir" ] || libdir=/lib/x86_64-linux-gnu
esc=$(printf '\033')
csi8=$(printf '\233')
names_cleanup() {
	# (not in T_USERS: t_user makes files users; these come from the test's
	# directory, so their processes, containers and cgroups go here)
	local id n i
	for id in ${u1:-} ${u2:-} ${u3:-} ${u4:-}; do pkill -KILL -u "$id" 2>/dev/null; done
	for i in $(seq 1 100); do
		n=0
		for id in ${u1:-} ${u2:-} ${u3:-} ${u4:-}; do
			[ -e "/run/nsiso/$id.sock" ] || [ -e "/run/nsiso/$id.lock" ] && n=$((n + 1))
		done
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	for n in -rf --help -n; do rmdir /sys/fs/cgroup/*/nsiso/"$n" /sys/fs/cgroup/nsiso/"$n" 2>/dev/null; done
	t_cleanup
	[ -f "$T_SAVED/nsswitch.conf" ] && cp -p "$T_SAVED/nsswitch.conf" /etc/nsswitch.conf
	for f in subuid subgid; do [ -f "$T_SAVED/$f" ] && cp -p "$T_SAVED/$f" "/etc/$f"; done
	rm -f "$libdir/libnss_nsisotest.so.2"
	rm -rf "$NSS_DIR" /home/-rf /home/--help /home/-n "$T_SAVED"
	true
}
T_SAVED=$(mktemp -d /run/nsiso-names.XXXXXX)
trap names_cleanup EXIT

# ---- a directory with names that look like options --------------------------
# Free ids: four uids and gids no one has.
base=$((4700 + RANDOM % 200 * 5))
for i in 0 1 2 3; do
	getent passwd $((base + i)) >/dev/null || getent group $((base + i)) >/dev/null &&
		t_skip_or_fail "ids $base.. are taken"
done
u1=$base u2=$((base + 1)) u3=$((base + 2)) u4=$((base + 3))
install -d -m 0755 "$NSS_DIR"
ehome="/home/n${esc}[2Jhome"
cat > "$NSS_DIR/passwd" <<EOF
-rf:*:$u1:$u3:GECOS ${esc}]0;pwned${esc}\\:/home/-rf:/bin/bash
--help:*:$u2:$u2::/home/--help:/bin/bash
-n:*:$u3:$u3::/home/-n:/bin/bash
nsesc${esc}[2J${csi8}31m:*:$u4:$u4::$ehome:/bin/bash
EOF
cat > "$NSS_DIR/group" <<EOF
-n:x:$u3:--help
--help:x:$u2:
nsesc${esc}[2J${csi8}31m:x:$u4:
EOF
cp -p /etc/nsswitch.conf /etc/subuid /etc/subgid "$T_SAVED/"
install -m 0644 "$NSISO_NSSTEST" "$libdir/libnss_nsisotest.so.2"
sed -i -E 's/^(passwd|group):(.*)$/\1:\2 nsisotest/' /etc/nsswitch.conf
# (getent prints a name beginning with '-' with empty ids: putpwent's NIS
# compat format; id asks getpwnam itself)
expect_eq "the directory answers -rf (glibc's files backend would not)" "$(id -u -- -rf)" "$u1"
expect_eq "--help is a member of group -n" "$(id -Gn -- --help | tr ' ' '\n' | grep -cx -- -n)" 1
# Subordinate ranges of their own, as an admin gives them.
for f in subuid subgid; do
	printf '%s:%s:65536\n' -rf 1610612736 --help 1610678272 -n 1610743808 >> "/etc/$f"
done
for n in -rf --help -n; do
	install -d -m 0700 -o "$(id -u -- "$n")" -g "$(id -g -- "$n")" "/home/$n" "/home/$n/.ssh"
done

pol=$(t_policy names.conf "[default]
namespaces = pid mount ipc uts net user cgroup
hostname = c%U
[group -n]
hostname = dash-n
[user -rf]
pids_max = 321")
t_sshd "config=$pol" || exit 1
t_pam_extend su "config=$pol" || t_skip_or_fail "/etc/pam.d/su is missing"
# (t_sshd made the key: the authorized_keys again, now that it exists)
for n in -rf --help -n; do
	install -m 0600 -o "$(id -u -- "$n")" "$T_DIR/id.pub" "/home/$n/.ssh/authorized_keys"
done
# ssh's client refuses such names on its command line ("remote username
# contains invalid characters"); from its configuration, as an admin's
# ~/.ssh/config would give it, it takes them.
ssh_as() { # NAME COMMAND
	local n=$1; shift
	printf 'Host nsisotest\n  HostName 127.0.0.1\n  User %s\n' "$n" > "$T_DIR/ssh_config"
	ssh -F "$T_DIR/ssh_config" -i "$T_DIR/id" -p "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 nsisotest "$@"
}
host_user=$(readlink /proc/self/ns/user)
probe='echo user=$(id -un); echo uid=$(id -u); echo userns=$(readlink /proc/self/ns/user); echo host=$(hostname)'
declare -A want_host=([-rf]=dash-n [--help]=dash-n [-n]=dash-n)
for n in -rf --help -n; do
	out=$(ssh_as "$n" "$probe" 2>&1)
	expect_eq "$n logs in as $n" "$(t_key user "$out")" "$n"
	expect_ne "$n's session is in a user namespace of its own" "$(t_key userns "$out")" "$host_user"
	expect_eq "$n's container has [group -n]'s hostname" "$(t_key host "$out")" "${want_host[$n]}"
done

ssh_as -rf 'sleep 60' & hold=$!
for i in $(seq 1 100); do pgrep -u "$u1" -x sleep >/dev/null && break; sleep 0.1; done
out=$("$NSISO" show -- -rf 2>&1); rc=$?
expect_eq "nsiso show -- -rf: exit 0" "$rc" 0
expect_match "nsiso show -- -rf shows -rf's container" "$(printf '%s\n' "$out" | head -n1)" "^user -rf \\(uid $u1\\): container up for "
expect_match "[user -rf]'s pids_max applies to -rf's container" "$out" "^limits: .* pids_max=321 "
expect_eq "nsiso show -rf (no --) is a usage error, not a user" "$("$NSISO" show -rf >/dev/null 2>&1; echo $?)" 2
expect_eq "nsiso enter -- -rf -- id -un runs as -rf" "$("$NSISO" enter -- -rf -- id -un 2>&1 </dev/null)" "-rf"
expect_eq "nsiso enter -- -rf -- runs in -rf's container" \
	"$("$NSISO" enter -- -rf -- readlink /proc/self/ns/user </dev/null 2>&1)" "$(readlink "/proc/$(pgrep -u "$u1" -x sleep | head -n1)/ns/user")"
expect_match "nsiso explain -- --help: the hostname comes from [group -n]" \
	"$("$NSISO" explain --config "$pol" -- --help | grep '^hostname')" "= dash-n +# .*\\[group -n\\]"
out=$("$NSISO" stop -- -rf 2>&1)
expect_eq "nsiso stop -- -rf ends -rf's container" "$out" "stopped -rf's container (1 session ended)"
wait "$hold" 2>/dev/null
# Nothing nsiso runs took a name for an option: no file named like the
# options' targets appeared where a mistaken "rm -rf" or "ip -n" would act,
# and the helper's and nft's argv (checked in the code: positional, or a
# fixed "nft -f -") never carry a name. The login log line names -rf as a value.
expect_match "the log line quotes -rf as a value" "$(grep -a 'nsiso' "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | grep -a -- 'user=-rf' | head -n1)" 'user=-rf'

# ---- 2. terminal escapes -------------------------------------------------------
badname="nsesc${esc}[2J${csi8}31m"
# (ssh's client refuses such a name itself: "remote username contains
# invalid characters"; su, with pam_nsiso in its stack, takes it)
out=$(su -s /bin/sh -c 'echo in=$(id -u)' -- "$badname" </dev/null 2>&1)
expect_nomatch "a user whose name holds ESC gets no session" "$out" '^in='
expect_match "and is told in one line" "$out" '^nsiso: this session could not be isolated'
line=$(grep -a 'refused: user=' "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | grep -a 'nsesc' | tail -n1)
expect_match "the refusal's log line escapes the name" "$line" 'user="?nsesc\\x1b\[2J\\x9b31m'
expect_eq "the log line holds no raw ESC or 8-bit CSI" "$(printf '%s' "$line" | grep -c "[$esc$csi8]")" 0

out=$("$NSISO" explain --config "$pol" "$badname" 2>&1)
expect_match "nsiso explain shows the name as \\x1b text" "$out" 'user nsesc\\x1b\[2J\\x9b31m \(uid'
expect_eq "nsiso explain prints no raw ESC or 8-bit CSI" "$(printf '%s' "$out" | grep -c "[$esc$csi8]")" 0
expect_match "nsiso explain shows its home, which holds ESC, as text" "$out" 'note: the home /home/n\\x1b\[2Jhome does not exist'
bad=$(t_policy esc.conf "[default]
tmpfs = /mnt/x${esc}[31m${csi8}2J:1M")
out=$("$NSISO" check --config "$bad" 2>&1)
expect_match "nsiso check names the bad path as text" "$out" "tmpfs: '/mnt/x\\\\x1b\\[31m\\\\x9b2J' is not an absolute path"
expect_eq "nsiso check prints no raw ESC or 8-bit CSI" "$(printf '%s' "$out" | grep -c "[$esc$csi8]")" 0
out=$("$NSISO" explain --json --config "$pol" "$badname" 2>&1)
expect_match "--json escapes it as JSON does" "$out" '"user":"nsesc\\u001b\[2J\\ufffd31m"'
python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out" && ok "and the JSON parses" || not_ok "the JSON does not parse"

# ---- 3. pagers -------------------------------------------------------------------
ssh_as -rf 'sleep 60' & hold=$!
for i in $(seq 1 100); do pgrep -u "$u1" -x sleep >/dev/null && break; sleep 0.1; done
marker=$T_DIR/pager-ran
rm -f "$marker"
script -qec "sudo PAGER='touch $marker' SYSTEMD_PAGER='touch $marker' MANPAGER='touch $marker' LESSOPEN='|touch $marker' \
	strace -f -qq -e trace=execve,fork,vfork,clone,clone3 -o $T_DIR/strace $NSISO list" /dev/null > "$T_DIR/list.out" 2>&1
expect_match "nsiso list on a terminal under sudo listed -rf's container" "$(tr -d '\r' < "$T_DIR/list.out")" '^-rf +'
expect_eq "no pager ran (its marker is absent)" "$([ -e "$marker" ] && echo made || echo absent)" absent
expect_eq "nsiso made one execve, its own" "$(grep -c 'execve(' "$T_DIR/strace")" 1
expect_eq "and no fork or clone" "$(grep -cE '(v?fork|clone3?)\(' "$T_DIR/strace")" 0
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_finish
