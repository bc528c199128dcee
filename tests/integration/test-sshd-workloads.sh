#!/bin/bash
# What labs and login nodes run (issue 26), through a real sshd:
#  - X11 forwarding: with sshd's X11Forwarding, an X client inside reaches
#    the client's display (Xvfb on the client side, xdpyinfo inside), the
#    display's listener is in the container's network namespace, and xauth
#    in the container has the session's cookie;
#  - ProxyJump: ssh -J through the isolated login reaches a target sshd in a
#    network namespace of this test when the user's network is a NAT network,
#    and is refused for a user whose network is none (sshd logs why);
#  - a remote editor's server: a daemon started by one session, detached,
#    found by the next session (within linger), its port forwarded with -L
#    to the client, gone when the container ends.
. "$(dirname "$0")/lib.sh"
t_init
for p in Xvfb xdpyinfo xauth nft python3; do command -v "$p" >/dev/null || t_skip_or_fail "$p is needed"; done
NSISO=$NSISO_PREFIX/sbin/nsiso
tag=$(( $$ % 10000 ))
br=nswl$tag; up_ns=nsiso-wl-$$; up_h=nswu$tag
u=nswl$$; n=nswn$$
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
pol=$(t_policy work.conf "[network wl]
bridge = $br
subnet = 10.234.0.0/24
nat = yes
[default]
network = wl
linger = 30
[user $n]
network = none")
wl_cleanup() {
	[ -n "${XVFB:-}" ] && kill "$XVFB" 2>/dev/null
	[ -n "${TSSHD:-}" ] && kill "$TSSHD" 2>/dev/null
	[ -n "${FWD:-}" ] && kill "$FWD" 2>/dev/null
	ip netns del "$up_ns" 2>/dev/null
	if [ -n "${made_netns_dir:-}" ]; then umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null; fi
	ip link del "$up_h" 2>/dev/null; ip link del "$br" 2>/dev/null
	echo "$fwd_before" > /proc/sys/net/ipv4/ip_forward
	rm -f "/tmp/.X11-unix/X$disp" "/tmp/.X$disp-lock"
	[ -n "${made_x11_dir:-}" ] && rmdir /tmp/.X11-unix 2>/dev/null
	# (the network's teardown is the supervisors': wait for them to end)
	for x in "$u" "$n"; do "$NSISO" stop --timeout 1 -- "$x" >/dev/null 2>&1; done
	for i in $(seq 1 200); do [ -z "$(t_supervisor_pids)" ] && break; sleep 0.1; done
	t_cleanup
	nft list table inet nsiso >/dev/null 2>&1 && ! ls /run/nsiso/net/*.state >/dev/null 2>&1 && nft delete table inet nsiso
	true
}
trap wl_cleanup EXIT
T_SSHD_EXTRA="X11Forwarding yes
AllowTcpForwarding yes"
t_sshd "config=$pol" || exit 1
t_user "$u" && t_user "$n" || exit 1
home=$(getent passwd "$u" | cut -d: -f6)

# ---- X11 ---------------------------------------------------------------------------
[ -d /tmp/.X11-unix ] || made_x11_dir=1
for disp in $(seq $((50 + tag % 40)) 99); do [ -e "/tmp/.X11-unix/X$disp" ] || break; done
Xvfb ":$disp" -nolisten tcp -screen 0 640x480x24 >/dev/null 2>&1 & XVFB=$!
for i in $(seq 1 50); do [ -S "/tmp/.X11-unix/X$disp" ] && break; sleep 0.1; done
out=$(DISPLAY=":$disp" t_ssh "$u" -Y -- 'echo display=$DISPLAY; echo netns=$(readlink /proc/self/ns/net);
	xdpyinfo | sed -n "s/^ *dimensions: *\([0-9x]*\) pixels.*/dims=\1/p"; d=${DISPLAY#*:}; echo cookies=$(xauth list | grep -c "/unix:${d%.*} ")' 2>&1)
expect_match "ssh -Y: DISPLAY inside is sshd's forwarded display" "$(t_key display "$out")" '^localhost:[0-9]+\.0$'
expect_eq "an X client inside reaches the client's Xvfb (its screen size)" "$(t_key dims "$out")" 640x480
expect_ne "the session is in the container's network namespace" "$(t_key netns "$out")" "$(readlink /proc/self/ns/net)"
expect_eq "xauth in the container has the session's cookie" "$(t_key cookies "$out")" 1

# ---- ProxyJump ----------------------------------------------------------------------
# The target: a plain sshd (no nsiso) in a namespace of this test, 198.51.100.2.
[ -d /run/netns ] || made_netns_dir=1
ip netns add "$up_ns"
ip link add "$up_h" type veth peer name up0 netns "$up_ns"
ip addr add 198.51.100.1/24 dev "$up_h"; ip link set "$up_h" up
ip -n "$up_ns" addr add 198.51.100.2/24 dev up0; ip -n "$up_ns" link set up0 up; ip -n "$up_ns" link set lo up
cat > "$T_DIR/target_config" <<CONF
ListenAddress 198.51.100.2
Port 22
HostKey $T_DIR/host
PidFile $T_DIR/target.pid
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
AuthorizedKeysFile .ssh/authorized_keys
CONF
ip netns exec "$up_ns" /usr/sbin/sshd -f "$T_DIR/target_config" -D -E "$T_DIR/target.log" & TSSHD=$!
for i in $(seq 1 50); do ip netns exec "$up_ns" ss -ltnH 'sport = :22' | grep -q . && break; sleep 0.1; done
# (a config file: the ssh that -J starts for the jump reads it too)
cat > "$T_DIR/ssh_config" <<CONF
Host *
	IdentityFile $T_DIR/id
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	BatchMode yes
	LogLevel ERROR
CONF
jump() { # USER: ssh -J USER@the isolated login USER@the target, printing the target's network namespace
	ssh -F "$T_DIR/ssh_config" -J "$1@127.0.0.1:$T_PORT" "$1@198.51.100.2" 'readlink /proc/self/ns/net' </dev/null 2>&1
}
expect_eq "ssh -J through the isolated login reaches the target (its network namespace answers)" \
	"$(jump "$u")" "$(ip netns exec "$up_ns" readlink /proc/self/ns/net)"
out=$(jump "$n"); rc=$?
expect_eq "with network = none the jump fails (ssh exits 255)" "$rc" 255
expect_match "the jump host could not open the forward" "$out" 'stdio forwarding failed'
expect_match "and sshd logs why" "$(grep -aE "connect.to 198.51.100.2 port 22" "$T_DIR/sshd.log" | tail -n1)" \
	'connect.to 198\.51\.100\.2 port 22:? failed'

# ---- a remote editor's server -------------------------------------------------------
port=$((45000 + RANDOM % 1000)); lport=$((46000 + RANDOM % 1000))
install -d -m 0755 -o "$u" -g "$u" "$home/srv"; echo "editor-$$" > "$home/srv/marker"; chown "$u:" "$home/srv/marker"
expect_eq "one session starts the server, detached, and ends" \
	"$(t_ssh "$u" -- "cd ~/srv; setsid nohup python3 -m http.server $port --bind 127.0.0.1 >/dev/null 2>&1 < /dev/null & echo started")" started
pid_ns=$(t_ssh "$u" -- 'for i in $(seq 1 50); do ss -ltnH "sport = :'"$port"'" | grep -q . && break; sleep 0.1; done; pgrep -f "http.server '"$port"'"; readlink /proc/self/ns/pid')
expect_match "the next session finds the detached server in the container (within linger)" "$pid_ns" '^[0-9]+$'
ssh -i "$T_DIR/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
	-o ExitOnForwardFailure=yes -L "$lport:127.0.0.1:$port" -p "$T_PORT" "$u@127.0.0.1" 'sleep 30' </dev/null & FWD=$!
got=""
for i in $(seq 1 50); do got=$(python3 -c "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:$lport/marker',timeout=2).read().decode().strip())" 2>/dev/null) && [ -n "$got" ] && break; sleep 0.2; done
expect_eq "its port forwarded with -L serves the client" "$got" "editor-$$"
kill "$FWD" 2>/dev/null; wait "$FWD" 2>/dev/null; FWD=""
expect_eq "the server runs as the user, in the container" "$(pgrep -u "$u" -f "http.server $port" | wc -l)" 1
"$NSISO" stop "$u" --timeout 2 >/dev/null 2>&1
"$NSISO" stop "$n" --timeout 2 >/dev/null 2>&1
for i in $(seq 1 50); do pgrep -u "$u" -f "http.server $port" >/dev/null || break; sleep 0.1; done
expect_eq "it is gone when the container ends (nsiso stop)" "$(pgrep -u "$u" -f "http.server $port" | wc -l)" 0
t_wait_no_containers 15 || not_ok "the containers did not end"
t_finish
