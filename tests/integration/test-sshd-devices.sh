#!/bin/bash
# devices = PATH... (issue 26), through a real sshd. Character devices made
# for the test with a major no driver has (240, "local use"), so that
# opening one says where it stopped: ENXIO once the device filter let it
# through (no driver), EPERM when the filter refused, ENOENT when the node
# is not in the container's /dev.
#  - the group's glob puts exactly its two devices in the container's /dev,
#    and they pass the filter; a third on the host is not there;
#  - another user has none of them (ENOENT);
#  - the filter itself, seen by host root moved into each container's
#    cgroup v2 group: the listed devices pass, every other one (the third
#    device, for the other user all three) and every mknod are EPERM, the
#    standard nodes work;
#  - explain shows the key; a bad value fails nsiso check.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
a=nsdeva$$; b=nsdevb$$; g=nsdevg$$
d=/dev/nsiso-dev-$$
dev_cleanup() { rm -f "$d-a" "$d-b" "$d-c"; groupdel "$g" 2>/dev/null; t_cleanup; }
trap dev_cleanup EXIT
mknod -m 0666 "$d-a" c 240 7 && mknod -m 0666 "$d-b" c 240 8 && mknod -m 0666 "$d-c" c 240 9 || exit 1
groupadd "$g" || exit 1
pol=$(t_policy devices.conf "[default]
linger = no
[group $g]
devices = $d-[ab]")
t_sshd "config=$pol" || exit 1
t_user "$a" && t_user "$b" || exit 1
usermod -aG "$g" "$a"
v2=$(findmnt -n -r -t cgroup2 -o TARGET | head -n1)

expect_match "explain: the group's devices" "$("$NSISO" explain "$a" --config "$pol")" "^ *devices += $d-\\[ab\\] "
expect_match "explain: none for the other user" "$("$NSISO" explain "$b" --config "$pol")" '^ *devices += none '

# try DEV...: how opening each for reading ends (the error's text, or "opened").
try='for x in "$@"; do head -c0 "$x" 2>&1 | sed "s/.*: //" | grep . || echo opened; done'
out=$(t_ssh "$a" -- "ls $d-*; bash -c '$try' - $d-a $d-b $d-c /dev/null; mknod /tmp/x c 240 7 2>&1 | sed 's/.*: //'")
expect_eq "the group's glob put its two devices in the container's /dev" "$(printf '%s\n' "$out" | sed -n '1,2p' | tr '\n' ' ')" "$d-a $d-b "
expect_eq "they pass the filter (ENXIO: no driver)" "$(printf '%s\n' "$out" | sed -n '3,4p' | tr '\n' ' ')" \
	"No such device or address No such device or address "
expect_eq "the third is not there" "$(printf '%s\n' "$out" | sed -n 5p)" "No such file or directory"
expect_eq "/dev/null works" "$(printf '%s\n' "$out" | sed -n 6p)" opened
expect_eq "mknod is refused" "$(printf '%s\n' "$out" | sed -n 7p)" "Operation not permitted"
out=$(t_ssh "$b" -- "ls $d-* 2>/dev/null | wc -l; bash -c '$try' - $d-a /dev/null")
expect_eq "the other user has none of them in /dev" "$(printf '%s\n' "$out" | tr '\n' ' ')" "0 No such file or directory opened "

# The filter itself: host root in each container's v2 group, in the host's
# mount namespace (where all three nodes exist).
t_ssh_bg "$a" -- 'sleep 300'; hold_a=$T_BG
t_ssh_bg "$b" -- 'sleep 300'; hold_b=$T_BG
for i in $(seq 1 100); do pgrep -u "$a" -x sleep >/dev/null && pgrep -u "$b" -x sleep >/dev/null && break; sleep 0.1; done
in_group() { bash -c 'echo $$ > "$1/cgroup.procs" && shift && for x in "$@"; do head -c0 "$x" 2>&1 | sed "s/.*: //" | grep . || echo opened; done; mknod /tmp/nsiso-mk-$$ c 1 3 2>&1 | sed "s/.*: //"; rm -f /tmp/nsiso-mk-$$' - "$@"; }
out=$(in_group "$v2/nsiso/$a" "$d-a" "$d-b" "$d-c" /dev/null)
expect_eq "in the group's container: its devices pass, the third is EPERM, /dev/null works, mknod is EPERM" \
	"$(printf '%s\n' "$out" | tr '\n' '|')" \
	"No such device or address|No such device or address|Operation not permitted|opened|Operation not permitted|"
out=$(in_group "$v2/nsiso/$b" "$d-a" "$d-c" /dev/zero)
expect_eq "in the other container: every test device is EPERM, /dev/zero works, mknod is EPERM" \
	"$(printf '%s\n' "$out" | tr '\n' '|')" "Operation not permitted|Operation not permitted|opened|Operation not permitted|"
expect_eq "outside any container the same devices open (ENXIO)" "$(head -c0 "$d-c" 2>&1 | sed 's/.*: //')" "No such device or address"
kill "$hold_a" "$hold_b" 2>/dev/null; wait "$hold_a" "$hold_b" 2>/dev/null

printf '[default]\ndevices = /etc/passwd\n' > "$T_DIR/etc/bad.conf"; chmod 0644 "$T_DIR/etc/bad.conf"
out=$("$NSISO" check --config "$T_DIR/etc/bad.conf" 2>&1); rc=$?
expect_eq "devices outside /dev: nsiso check fails" "$rc" 1
expect_match "and says why" "$out" "'/etc/passwd' is not a device path or glob under /dev/"
t_wait_no_containers 10 || not_ok "the containers did not end"
t_finish
