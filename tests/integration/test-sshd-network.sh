#!/bin/bash
# Named networks through real sshd logins: two users on network lab reach
# each other (ping and TCP); a user on network other reaches neither, with
# NAT off and on; isolate = yes keeps a network's containers apart; the
# host's TCP listeners are reachable only on host_access ports; with
# nat = yes a container reaches an "upstream" host that this test builds
# in its own network namespace, with nat = no it does not; 50 parallel first
# logins get 50 distinct, reachable addresses; afterwards no veth, bridge,
# lease, rule or sysctl change is left. Traffic goes only to loopback, the
# test's networks and the test's own namespace.
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null && command -v nc >/dev/null || t_skip_or_fail "nft and nc are needed"
tag=$(( $$ % 10000 ))
br_lab=nstl$tag; br_oth=nsto$tag; br_iso=nsti$tag
up_ns=nsiso-up-$$; up_h=nsup$tag
# Two more hosts of the host's "other" networks, to check what nsiso makes
# the host forward: X (198.18.7.2, a public-looking address) and Y
# (172.31.254.6, a private one), each in a namespace of this test.
x_ns=nsiso-x-$$; y_ns=nsiso-y-$$; x_h=nsx$tag; y_h=nsy$tag
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
port_ok=$((41000 + RANDOM % 1000)); port_no=$((42000 + RANDOM % 1000)); port_peer=$((43000 + RANDOM % 1000))
up_port=$((44000 + RANDOM % 1000))
a=nsneta$$; b=nsnetb$$; c=nsnetc$$; e=nsnete$$; g=nsnetg$$; h=nsneth$$
write_policy() { # NAT of network other
	t_policy net.conf "[network lab]
bridge = $br_lab
subnet = 10.231.0.0/24
nat = yes
host_access = $port_ok
[network other]
bridge = $br_oth
subnet = 10.232.0.0/24
nat = $1
[network iso]
bridge = $br_iso
subnet = 10.233.0.0/28
isolate = yes
[default]
network = lab
# ping has file capabilities: exec needs cap_net_raw in the bounding set
# (no_new_privs then grants nothing; ping uses the ICMP socket nsiso
# enables in the container's network namespace).
capabilities = cap_net_raw
[user $c]
network = other
[user $e]
network = iso
[user $g]
network = iso"
}
pol=$(write_policy no)
# The test's own cleanup, also on failure: the upstream namespace, the
# listeners, and (a safety net: nsiso removes them itself) what nsiso made.
net_cleanup() {
	[ -n "${LISTENERS:-}" ] && kill $LISTENERS 2>/dev/null
	ip netns del "$up_ns" 2>/dev/null
	ip netns del "$x_ns" 2>/dev/null; ip netns del "$y_ns" 2>/dev/null
	ip link del "$x_h" 2>/dev/null; ip link del "$y_h" 2>/dev/null
	# (ip netns makes /run/netns a mount point of itself)
	if [ -n "${made_netns_dir:-}" ]; then umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null; fi
	ip link del "$up_h" 2>/dev/null
	for l in $br_lab $br_oth $br_iso; do ip link del "$l" 2>/dev/null; done
	echo "$fwd_before" > /proc/sys/net/ipv4/ip_forward
	t_cleanup
	nft list table inet nsiso >/dev/null 2>&1 && ! ls /run/nsiso/net/*.state >/dev/null 2>&1 && nft delete table inet nsiso
	true
}
trap net_cleanup EXIT
t_sshd "config=$pol" || exit 1
for u in $a $b $c $e $g $h; do t_user "$u" || exit 1; done

# The upstream host: its own namespace behind a veth, 198.51.100.2 (TEST-NET-2).
[ -d /run/netns ] || made_netns_dir=1
ip netns add "$up_ns"
ip link add "$up_h" type veth peer name up0 netns "$up_ns"
ip addr add 198.51.100.1/24 dev "$up_h"; ip link set "$up_h" up
ip -n "$up_ns" addr add 198.51.100.2/24 dev up0; ip -n "$up_ns" link set up0 up; ip -n "$up_ns" link set lo up
ip netns exec "$up_ns" nc -lk 198.51.100.2 "$up_port" >/dev/null 2>&1 & LISTENERS="$!"
# The cloud metadata address, on the upstream host too: reachable from the
# host, never from a container.
ip -n "$up_ns" addr add 169.254.169.254/32 dev up0
ip route add 169.254.169.254/32 via 198.51.100.2 dev "$up_h"
ip netns exec "$up_ns" nc -lk 169.254.169.254 80 >/dev/null 2>&1 & LISTENERS="$LISTENERS $!"
for n in x y; do
	ns=$x_ns; hv=$x_h; gw=198.18.7.1; me=198.18.7.2
	[ $n = y ] && { ns=$y_ns; hv=$y_h; gw=172.31.254.5; me=172.31.254.6; }
	ip netns add "$ns"
	ip link add "$hv" type veth peer name eth0 netns "$ns"
	ip addr add "$gw/30" dev "$hv"; ip link set "$hv" up
	ip -n "$ns" addr add "$me/30" dev eth0; ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "$gw"
	ip netns exec "$ns" nc -lk "$me" "$up_port" >/dev/null 2>&1 & LISTENERS="$LISTENERS $!"
done
# Host listeners: one on the lab bridge's address (allowed port), one on
# every address (a port not in host_access).
nc -lk 0.0.0.0 "$port_no" >/dev/null 2>&1 & LISTENERS="$LISTENERS $!"

declare -A HOLD
hold() { t_ssh_bg "$1" -- "sleep ${2:-120}"; HOLD[$1]=$T_BG; }
wait_up() { local i; for i in $(seq 1 100); do pgrep -u "$1" -x sleep >/dev/null && return 0; sleep 0.1; done; return 1; }
addr_of() { t_ssh "$1" -- "ip -4 -o addr show dev eth0 | awk '{print \$4}' | cut -d/ -f1"; }
can() { # USER COMMAND: "yes" if it succeeds inside USER's container
	if t_ssh "$1" -- "$2" >/dev/null 2>&1; then echo yes; else echo no; fi
}
for u in $a $b $c $e $g; do hold "$u"; done
for u in $a $b $c $e $g; do wait_up "$u"; done
nc -lk 10.231.0.1 "$port_ok" >/dev/null 2>&1 & LISTENERS="$LISTENERS $!"
ip_a=$(addr_of "$a"); ip_b=$(addr_of "$b"); ip_c=$(addr_of "$c"); ip_e=$(addr_of "$e"); ip_g=$(addr_of "$g")
expect_match "a has an address in lab's subnet" "$ip_a" '^10\.231\.0\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$'
expect_match "b has an address in lab's subnet" "$ip_b" '^10\.231\.0\.[0-9]+$'
expect_ne "a and b have different addresses" "$ip_a" "$ip_b"
expect_match "c has an address in other's subnet" "$ip_c" '^10\.232\.0\.[0-9]+$'
expect_eq "a's default route is lab's gateway" "$(t_ssh "$a" -- 'ip -4 route show default' | awk '{print $3}')" 10.231.0.1
expect_eq "a's interfaces: lo and eth0" "$(t_ssh "$a" -- "ip -o link | cut -d: -f2 | cut -d@ -f1 | tr -d ' ' | tr '\n' ,")" "lo,eth0,"
expect_eq "the host side of a's veth is on lab's bridge" "$(basename "$(readlink "/sys/class/net/nsv$(id -u "$a")/master")")" "$br_lab"
expect_match "a's resolv.conf is the network's" "$(t_ssh "$a" -- cat /etc/resolv.conf)" "^# written by nsiso for network lab"
expect_match "with nat, the host's reachable nameservers" "$(t_ssh "$a" -- cat /etc/resolv.conf)" \
	"$(grep -m1 '^nameserver' /etc/resolv.conf | grep -v ' 127\.' || echo '^# written')"
expect_match "nsiso show: the resolv.conf mount" "$("$NSISO_PREFIX/sbin/nsiso" show "$a")" "^  /etc/resolv.conf +[a-z0-9]+ +ro,"
expect_eq "nsiso show: network and address" "$("$NSISO_PREFIX/sbin/nsiso" show "$a" --json | jq -r '.network + " " + .address')" "lab $ip_a"
expect_match "nsiso list: network and address" "$("$NSISO_PREFIX/sbin/nsiso" list)" "^$b .* lab +$ip_b "
expect_match "nsiso explain: the network" "$("$NSISO_PREFIX/sbin/nsiso" explain "$a" --config "$pol")" \
	"network += lab \\(bridge $br_lab, subnet 10\\.231\\.0\\.0/24, nat yes, isolate no, host_access $port_ok\\)"

expect_eq "ping in the container runs without any capability" \
	"$(t_ssh "$a" -- 'ping -c1 -W2 10.231.0.1 >/dev/null && grep CapEff /proc/self/status' | tr -d '\t')" "CapEff:0000000000000000"

hostpol=$(t_policy hostnet.conf "[user $a]
network = host")
expect_match "nsiso check warns about network = host" "$("$NSISO_PREFIX/sbin/nsiso" check --config "$hostpol")" \
	"^warning: $hostpol:1: network = host: these sessions share the host's network"

# Same network: ping and TCP both ways.
t_ssh_bg "$b" -- "nc -l $port_peer >/dev/null"; lb=$T_BG
sleep 0.5
expect_eq "a pings b" "$(can "$a" "ping -c1 -W2 $ip_b")" yes
expect_eq "a opens a TCP connection to b" "$(can "$a" "nc -z -w3 $ip_b $port_peer")" yes
expect_eq "b pings a" "$(can "$b" "ping -c1 -W2 $ip_a")" yes
wait "$lb" 2>/dev/null

# Another network: nothing, with NAT off.
t_ssh_bg "$a" -- "nc -l $port_peer >/dev/null"; la=$T_BG
sleep 0.5
expect_eq "c (other, nat = no) cannot ping a" "$(can "$c" "ping -c1 -W2 $ip_a")" no
expect_eq "c cannot open a TCP connection to a" "$(can "$c" "nc -z -w3 $ip_a $port_peer")" no
expect_eq "a cannot ping c" "$(can "$a" "ping -c1 -W2 $ip_c")" no
kill "$la" 2>/dev/null; wait "$la" 2>/dev/null

# The host: only host_access.
expect_eq "a reaches the host's listener on a host_access port" "$(can "$a" "nc -z -w3 10.231.0.1 $port_ok")" yes
expect_eq "a does not reach a host listener on another port (bridge address)" "$(can "$a" "nc -z -w3 10.231.0.1 $port_no")" no
expect_eq "nor on another host address" "$(can "$a" "nc -z -w3 198.51.100.1 $port_no")" no
expect_eq "c (no host_access) does not reach the host listener on every address, through its gateway" \
	"$(can "$c" "nc -z -w3 10.232.0.1 $port_no")" no
expect_eq "nor lab's host_access port on lab's bridge address" "$(can "$c" "nc -z -w3 10.231.0.1 $port_ok")" no

# THREATS 18: a source address outside the network is dropped. (The
# test, host root, gives a's eth0 a second address from its namespace: a
# session has no capability to do so.)
init_a=$("$NSISO_PREFIX/sbin/nsiso" list --json | jq -r ".[] | select(.user == \"$a\") | .init_pid")
nc -lu 10.231.0.1 "$port_ok" > "$T_DIR/udp.in" 2>/dev/null & LISTENERS="$LISTENERS $!"
sleep 0.3
nsenter --net="/proc/$init_a/ns/net" ip addr add 10.99.0.5/32 dev eth0
echo spoofed | nsenter --net="/proc/$init_a/ns/net" nc -u -w1 -s 10.99.0.5 10.231.0.1 "$port_ok" 2>/dev/null
echo genuine | nsenter --net="/proc/$init_a/ns/net" nc -u -w1 -s "$ip_a" 10.231.0.1 "$port_ok" 2>/dev/null
sleep 0.3
expect_eq "a datagram from outside the network's subnet is dropped; one from a's address arrives" \
	"$(tr -d '\r' < "$T_DIR/udp.in" | tr '\n' ' ')" "genuine "
nsenter --net="/proc/$init_a/ns/net" ip addr del 10.99.0.5/32 dev eth0

# NAT: lab reaches the upstream host, other does not.
expect_eq "a (nat = yes) reaches the upstream host" "$(can "$a" "nc -z -w3 198.51.100.2 $up_port")" yes
expect_eq "c (nat = no) does not" "$(can "$c" "nc -z -w3 198.51.100.2 $up_port")" no

# THREATS 49: a NAT network made nsiso turn ip_forward on; the host still
# forwards nothing between its other interfaces, and no container reaches
# link-local metadata.
if [ "$fwd_before" = 0 ]; then
	expect_eq "nsiso turned ip_forward on for the NAT network" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
	expect_eq "X reaches its own gateway on the host" \
		"$(ip netns exec "$x_ns" ping -c1 -W2 198.18.7.1 >/dev/null 2>&1 && echo yes || echo no)" yes
	expect_eq "X does not get forwarded to Y through the host" \
		"$(ip netns exec "$x_ns" nc -z -w2 172.31.254.6 "$up_port" >/dev/null 2>&1 && echo yes || echo no)" no
	nft insert rule inet nsiso forward iifname "$x_h" accept comment nsiso-test
	nft insert rule inet nsiso forward iifname "$y_h" accept comment nsiso-test
	expect_eq "(control: with a rule that accepts X's traffic, X reaches Y: the drop is what stops it)" \
		"$(ip netns exec "$x_ns" nc -z -w2 172.31.254.6 "$up_port" >/dev/null 2>&1 && echo yes || echo no)" yes
	for hd in $(nft -a list chain inet nsiso forward | sed -n 's/.*comment "nsiso-test" # handle \([0-9]*\)$/\1/p'); do
		nft delete rule inet nsiso forward handle "$hd"
	done
	expect_eq "(the control rules are gone)" "$(nft list chain inet nsiso forward | grep -c nsiso-test)" 0
else
	not_ok "ip_forward was already on before the test: the forwarding checks need it off"
fi
expect_eq "the host reaches 169.254.169.254 (the route works)" \
	"$(nc -z -w2 169.254.169.254 80 >/dev/null 2>&1 && echo yes || echo no)" yes
expect_eq "a (nat = yes) cannot reach 169.254.169.254" "$(can "$a" "nc -z -w3 169.254.169.254 80")" no
expect_eq "a (nat = yes) reaches X, a public-looking address of another host network" \
	"$(can "$a" "nc -z -w2 198.18.7.2 $up_port")" yes
expect_eq "a cannot reach Y, a private address (172.16/12) of another host network (private_ranges = no)" \
	"$(can "$a" "nc -z -w2 172.31.254.6 $up_port")" no

# isolate = yes: the gateway yes, each other no.
expect_eq "e (isolated) pings its gateway" "$(can "$e" "ping -c1 -W2 10.233.0.1")" yes
expect_eq "e cannot ping g on the same isolated network" "$(can "$e" "ping -c1 -W2 $ip_g")" no
expect_eq "the isolated ports are isolated" "$(cat "/sys/class/net/nsv$(id -u "$e")/brport/isolated")" 1

# The ruleset is one table, ours.
expect_match "table inet nsiso exists" "$(nft list table inet nsiso 2>&1)" "table inet nsiso"
expect_eq "ip_forward is on while a NAT network is in use" "$(cat /proc/sys/net/ipv4/ip_forward)" 1

# Someone deletes nsiso's table while its networks are in use: the next
# container made loads it again, though its own network's rules did not
# change (the ruleset's generation did).
nft delete table inet nsiso
expect_eq "without the table a reaches a host port not in host_access (the check can fail)" \
	"$(can "$a" "nc -z -w3 10.231.0.1 $port_no")" yes
expect_eq "h, new on lab, logs in" "$(t_ssh "$h" -- echo in)" in
expect_eq "then the table is back and a is kept out again" "$(can "$a" "nc -z -w3 10.231.0.1 $port_no")" no

# Other with NAT on: still no way into lab.
kill "${HOLD[$c]}"; wait "${HOLD[$c]}" 2>/dev/null
for i in $(seq 1 50); do [ -e "/sys/class/net/nsv$(id -u "$c")" ] || [ -e "/sys/class/net/$br_oth" ] || break; sleep 0.1; done
expect_eq "c's veth is gone with its container" "$(ls -d "/sys/class/net/nsv$(id -u "$c")" 2>/dev/null | wc -l)" 0
expect_eq "other's bridge is gone with its last container" "$(ls -d "/sys/class/net/$br_oth" 2>/dev/null | wc -l)" 0
pol=$(write_policy yes)
hold "$c"; wait_up "$c"
ip_c2=$(addr_of "$c")
expect_eq "c gets the same address again (stable while the config is)" "$ip_c2" "$ip_c"
t_ssh_bg "$a" -- "nc -l $port_peer >/dev/null"; la=$T_BG
sleep 0.5
expect_eq "c (other, nat = yes) cannot ping a" "$(can "$c" "ping -c1 -W2 $ip_a")" no
expect_eq "c cannot open a TCP connection to a" "$(can "$c" "nc -z -w3 $ip_a $port_peer")" no
expect_eq "c (nat = yes now) reaches the upstream host" "$(can "$c" "nc -z -w3 198.51.100.2 $up_port")" yes
kill "$la" 2>/dev/null; wait "$la" 2>/dev/null

# Everything ends: nothing of nsiso's network is left.
for u in $a $b $c $e $g; do kill "${HOLD[$u]}" 2>/dev/null; done
wait "${HOLD[@]}" 2>/dev/null
t_wait_no_containers 10
for i in $(seq 1 100); do [ "$(ip -o link | grep -c ': nsv[0-9]')" = 0 ] && ! nft list table inet nsiso >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "no veth of nsiso is left" "$(ip -o link | grep -c ': nsv[0-9]')" 0
expect_eq "no bridge nsiso made is left" "$(ls -d /sys/class/net/$br_lab /sys/class/net/$br_oth /sys/class/net/$br_iso 2>/dev/null | wc -l)" 0
expect_eq "no lease is left" "$(find /run/nsiso/net -name '*.leases' 2>/dev/null | wc -l)$(find /run/nsiso/net -path '*.leases/*' 2>/dev/null | wc -l)" 00
expect_eq "table inet nsiso is gone" "$(nft list table inet nsiso >/dev/null 2>&1 && echo present || echo gone)" gone
expect_eq "ip_forward is as it was" "$(cat /proc/sys/net/ipv4/ip_forward)" "$fwd_before"

# A crashed supervisor: its veth goes with the namespace, its lease is
# stale (its lock is free), and the next logins clean up what is left.
crash() { # USER: SIGKILL the supervisor of USER's container, wait for the aftermath
	local init
	init=$("$NSISO_PREFIX/sbin/nsiso" list --json | jq -r ".[] | select(.user == \"$1\") | .init_pid")
	kill -KILL "$(ps -o ppid= -p "$init" | tr -d ' ')"
	wait "${HOLD[$1]}" 2>/dev/null
	for i in $(seq 1 100); do [ -z "$(pgrep -u "$1")" ] && [ ! -e "/sys/class/net/nsv$(id -u "$1")" ] && break; sleep 0.1; done
}
# 1. g keeps network iso up; e's container crashes; e logs in again.
hold "$g"; wait_up "$g"
hold "$e"; wait_up "$e"
ip_e1=$(addr_of "$e")
crash "$e"
expect_eq "after the crash, e's veth went with its namespace" "$(ls -d "/sys/class/net/nsv$(id -u "$e")" 2>/dev/null | wc -l)" 0
expect_eq "its lease is still there" "$(ls /run/nsiso/net/iso.leases/ 2>/dev/null | grep -cx "$ip_e1")" 1
expect_eq "e logs in again and takes its stale lease over: the same address" "$(addr_of "$e")" "$ip_e1"
kill "${HOLD[$g]}"; wait "${HOLD[$g]}" 2>/dev/null
t_wait_no_containers 10
# 2. e alone on iso crashes; a login on another network retires iso.
hold "$e"; wait_up "$e"
crash "$e"
expect_eq "the crashed container's network keeps its bridge" "$(ls -d /sys/class/net/$br_iso 2>/dev/null | wc -l)" 1
t_ssh "$b" -- true
expect_eq "the next login, on another network, retires the orphaned one" \
	"$(ls -d /sys/class/net/$br_iso /run/nsiso/net/iso.state /run/nsiso/net/iso.leases 2>/dev/null | wc -l)" 0
expect_match "e logs in again on a new iso network" "$(addr_of "$e")" '^10\.233\.0\.[0-9]+$'
t_wait_no_containers 10
for i in $(seq 1 100); do [ "$(ip -o link | grep -c ': nsv[0-9]')" = 0 ] && ! nft list table inet nsiso >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "then nothing of the crashed containers or their network is left" \
	"$(ip -o link | grep -c ': nsv[0-9]') $(ls -d /sys/class/net/$br_iso 2>/dev/null | wc -l) $(find /run/nsiso/net -path '*.leases*' 2>/dev/null | wc -l) $(nft list table inet nsiso >/dev/null 2>&1 && echo table || echo none)" \
	"0 0 0 none"

# 50 parallel first logins on one network: 50 distinct reachable addresses.
many=()
for i in $(seq 1 50); do
	u=nsnp${tag}x$i
	useradd -m -s /bin/bash "$u" >/dev/null 2>&1 || break
	T_USERS+=("$u"); many+=("$u")
	h=$(getent passwd "$u" | cut -d: -f6)
	install -d -m 0700 -o "$u" -g "$u" "$h/.ssh"
	install -m 0600 -o "$u" -g "$u" "$T_DIR/id.pub" "$h/.ssh/authorized_keys"
done
expect_eq "50 users made" "${#many[@]}" 50
pids=()
for u in "${many[@]}"; do t_ssh_bg "$u" -- 'sleep 60'; pids+=("$T_BG"); done
for i in $(seq 1 300); do [ "$("$NSISO_PREFIX/sbin/nsiso" list --json | jq '[.[] | select(.network == "lab")] | length')" -ge 50 ] && break; sleep 0.1; done
addrs=$("$NSISO_PREFIX/sbin/nsiso" list --json | jq -r '.[] | select(.network == "lab") | .address' | sort)
expect_eq "50 containers on lab" "$(echo "$addrs" | grep -c .)" 50
expect_eq "50 distinct addresses" "$(echo "$addrs" | sort -u | grep -c .)" 50
unreach=0
for ip in $addrs; do ping -c1 -W2 "$ip" >/dev/null 2>&1 || unreach=$((unreach + 1)); done
expect_eq "all 50 answer a ping from the host" "$unreach" 0
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
t_wait_no_containers 20
# (the supervisors finish their teardown after their sockets are gone)
for i in $(seq 1 200); do [ "$(ip -o link | grep -c ': nsv[0-9]')" = 0 ] && ! nft list table inet nsiso >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "after them too: no veth" "$(ip -o link | grep -c ': nsv[0-9]')" 0
expect_eq "after them too: no table" "$(nft list table inet nsiso >/dev/null 2>&1 && echo present || echo gone)" gone
t_finish
