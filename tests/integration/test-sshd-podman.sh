#!/bin/bash
# Nested rootless containers (issue 26), through real sshd:
#  - nested_userns = yes: `podman run --rm` of a local image (imported from
#    a tarball of the host's busybox, no registry) works inside the
#    container as the user, its processes run as ids of the user's own
#    subordinate range on the host, its uid map is what the container's
#    /etc/subuid offers;
#  - the container's /etc/subuid and /etc/subgid name exactly the container
#    ids of the user's subordinate range (never root, never the user's own
#    id), newuidmap inside is nsiso's, and the supervisor refuses a map of
#    container root, of a range beyond the user's, and of a namespace that
#    is not a child of the container's (each with its log line);
#  - by default the nested user namespace is refused (ENOSPC) and so is
#    podman.
. "$(dirname "$0")/lib.sh"
t_init
for p in podman crun newuidmap busybox; do command -v "$p" >/dev/null || t_skip_or_fail "$p is needed (tools/deps.sh)"; done
NSISO=$NSISO_PREFIX/sbin/nsiso
p=nspod$$; d=nspdd$$
pol=$(t_policy podman.conf "[default]
linger = no
[user $p]
nested_userns = yes
network = none
pids_max = 512")
t_sshd "config=$pol" || exit 1
t_user "$p" && t_user "$d" || exit 1
uid=$(id -u "$p"); gid=$(id -g "$p")
sub=$(awk -F: -v u="$p" '$1 == u {print $2}' /etc/subuid)
subg=$(awk -F: -v u="$p" '$1 == u {print $2}' /etc/subgid)
[ -n "$sub" ] && [ "$uid" -lt 65536 ] || { not_ok "the test needs a subordinate range and a uid below 65536"; t_finish; }

# The image: the host's busybox, as a tarball in each user's home; podman's
# configuration as a lab would give it (ADMIN.md "Nested containers").
img=$T_DIR/img
mkdir -p "$img/root/bin" && cp "$(command -v busybox)" "$img/root/bin/busybox"
tar -C "$img/root" -cf "$img/busybox.tar" .
for u in "$p" "$d"; do
	home=$(getent passwd "$u" | cut -d: -f6)
	install -m 0644 -o "$u" "$img/busybox.tar" "$home/busybox.tar"
	install -d -m 0700 -o "$u" -g "$u" "$home/.config" "$home/.config/containers"
	cat > "$home/.config/containers/containers.conf" <<'CONF'
[containers]
keyring = false
[engine]
runtime = "crun"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
	chown "$u:" "$home/.config/containers/containers.conf"
done

# ---- the container's subordinate ids and newuidmap --------------------------
out=$(t_ssh "$p" -- 'id -un; cat /etc/subuid; echo --; cat /etc/subgid; echo --; newuidmap 2>&1; echo rc=$?')
expect_eq "the login happened" "$(printf '%s\n' "$out" | sed -n 1p)" "$p"
expect_eq "/etc/subuid inside: the container ids of $p's range, without root and $uid" \
	"$(printf '%s\n' "$out" | sed -n '2,/^--$/p' | grep -v '^--$' | tr '\n' ' ')" \
	"$p:1:$((uid - 1)) $p:$((uid + 1)):$((65535 - uid)) "
expect_match "/etc/subgid inside leaves out tty (5) and the primary group $gid" \
	"$(printf '%s\n' "$out" | sed -n '/^--$/,/^--$/p' | tr '\n' ' ')" \
	"^-- $p:1:4 $p:6:$((gid - 6)) $p:$((gid + 1)):$((65535 - gid)) -- \$"
expect_match "newuidmap inside is nsiso's" "$out" '^usage: newuidmap PID\|fd:N INSIDE LOWER COUNT'
expect_eq "the host's /etc/subuid is untouched" "$(awk -F: -v u="$p" '$1 == u' /etc/subuid)" "$p:$sub:65536"

# The supervisor's checks, with a user namespace the tenant made and
# newuidmap by hand (unshare's child waits for its map).
probe='unshare -U sleep 30 & t=$!; sleep 0.5
newuidmap $t 0 0 1 2>&1; echo root=$?
newuidmap $t 0 1 65536 2>&1; echo beyond=$?
newuidmap $$ 0 1 1 2>&1; echo notchild=$?
newgidmap $t 0 5 1 2>&1; echo tty=$?
newuidmap $t 0 '"$uid"' 1 1 1 100 2>&1; echo good=$?
cat /proc/$t/uid_map; kill $t'
out=$(t_ssh "$p" -- "$probe")
expect_match "container root cannot be mapped" "$out" '^newuidmap: uid map refused at ranges: Operation not permitted$'
expect_match "(exit 1)" "$out" '^root=1$'
expect_match "a range past the user's is refused" "$out" '^beyond=1$'
expect_match "the container's own namespace is no child: refused at target" "$out" \
	'^newuidmap: uid map refused at target: Operation not permitted$'
expect_match "(exit 1) " "$out" '^notchild=1$'
expect_match "the host's tty group cannot be mapped" "$out" '^newgidmap: gid map refused at ranges: Operation not permitted$'
expect_match "the user's own uid and 1..100 are written" "$out" '^good=0$'
expect_match "the map holds the user's uid" "$out" "^ *0 +$uid +1\$"
expect_match "and container ids 1..100" "$out" '^ *1 +1 +100$'
logs=$(cat "$T_DIR/syslog")
expect_match "the refusal is logged with its step" "$logs" "nested uid map refused user=$p uid=$uid pid=[0-9]+ step=ranges error=EPERM"
expect_match "the written map too" "$logs" "nested uid map written user=$p uid=$uid pid=[0-9]+ step=write error=none"

# ---- podman ------------------------------------------------------------------
run='podman import -q busybox.tar localhost/bb >/dev/null || echo import=$?
podman run --rm --network none --user 1000:1000 localhost/bb /bin/busybox sleep 21 & k=$!
podman run --rm --network none localhost/bb /bin/busybox sh -c "id -u; cat /proc/self/uid_map; /bin/busybox sleep 20 & echo running; wait"; echo rc=$?
wait $k; echo kid=$?'
t_ssh_bg "$p" -- "{ $run; } > podman.out 2>&1"; job=$T_BG
home_p=$(getent passwd "$p" | cut -d: -f6)
# On the host: podman's container root is the user itself, its uid 1000 is
# container id 1000, the host's sub + 1000.
sleeper=; kid=
for i in $(seq 1 300); do
	sleeper=$(pgrep -f '^/bin/busybox sleep 20$' | head -n1); kid=$(pgrep -f '^/bin/busybox sleep 21$' | head -n1)
	[ -n "$sleeper" ] && [ -n "$kid" ] && break
	grep -q '^rc=' "$home_p/podman.out" 2>/dev/null && break
	sleep 0.2
done
expect_eq "podman's container root runs as $p on the host" "$(ps -o uid= -p "${sleeper:-999999999}" 2>/dev/null | tr -d ' ')" "$uid"
expect_eq "its uid 1000 runs as $((sub + 1000)) on the host, in $p's range" "$(ps -o uid= -p "${kid:-999999999}" 2>/dev/null | tr -d ' ')" "$((sub + 1000))"
expect_eq "podman's container is three PID namespaces deep (host, $p's container, podman's)" \
	"$(awk '/^NSpid:/ {print NF - 1}' "/proc/${kid:-999999999}/status" 2>/dev/null)" 3
expect_match "and in $p's container's cgroups" "$(cat "/proc/${kid:-999999999}/cgroup" 2>/dev/null)" "/nsiso/$p(/|\$)"
wait "$job"
res=$(cat "$home_p/podman.out")
expect_match "podman run --rm exits 0" "$res" '^rc=0$'
expect_match "inside podman's container: uid 0" "$res" '^0$'
expect_match "its uid map: 0 is the user" "$res" "^ *0 +$uid +1\$"
expect_match "its other ids are the container's subordinate ones" "$res" "^ *1 +1 +$((uid - 1))\$"
expect_match "the second container ran as uid 1000 and exited 0" "$res" '^kid=0$'
expect_nomatch "podman imported the image" "$res" '^import='


# ---- fail closed: a stand-in others could write is never bound in ------------
client=$NSISO_PREFIX/libexec/nsiso-newidmap
t_wait_no_containers 20 || not_ok "the containers did not end before the tampered client"
# (mended also when the test dies between the two chmods: the build's
# client is shared by every later test)
trap 'chmod g-w "$client"; t_cleanup' EXIT
chmod g+w "$client"
out=$(t_ssh "$p" -- 'echo ran' 2>&1); rc=$?
chmod g-w "$client"
trap t_cleanup EXIT
expect_ne "a group-writable nsiso-newidmap refuses the nested user's login" "$rc" 0
expect_nomatch "(nothing ran)" "$out" '^ran$'
expect_match "the log names the step and the file" "$(cat "$T_DIR/syslog")" \
	"refused: user=$p step=mount error=EPERM .*nsiso-newidmap is not a root-owned, non-writable, non-setuid file"
expect_eq "with the file mended the login works" "$(t_ssh "$p" -- 'echo ran')" ran

# ---- the default ---------------------------------------------------------------
out=$(t_ssh "$d" -- 'id -un; podman import -q busybox.tar localhost/bb >/dev/null 2>&1; podman run --rm --network none localhost/bb /bin/busybox true 2>&1; echo rc=$?; cat /etc/subuid | grep -c "^$(id -un):"')
expect_eq "the default user's login happened" "$(printf '%s\n' "$out" | sed -n 1p)" "$d"
expect_match "nested_userns = no: podman fails on the nested user namespace (ENOSPC)" "$out" 'No space left on device'
expect_match "(non-zero exit)" "$out" '^rc=[1-9][0-9]*$'
expect_eq "and /etc/subuid is the host's: its line in host ids" "$(printf '%s\n' "$out" | tail -n1)" 1
t_wait_no_containers 20 || not_ok "the containers did not end"
expect_eq "no podman process is left" "$(pgrep -u "$uid" | wc -l)" 0
t_finish
