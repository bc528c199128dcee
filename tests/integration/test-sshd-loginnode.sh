#!/bin/bash
# The lab and login node policy (config/login-node.conf, shown in
# docs/ADMIN.md) as it is, through a real sshd, with network namespaces of
# this test standing in for the site:
#   "cluster" 10.77.0.10 (the scheduler, listening on 6817 and 6818) and
#             10.77.1.5 (a compute node, 22 and 80), 10.77.2.9 (another
#             host of the same private range, 22);
#   "site"    192.168.77.5 (another private network of the site, 22);
#   "world"   198.51.100.2 (the outside, 443) and 169.254.169.254 (the
#             cloud's metadata service, 80).
# Only the policy's bridge name and its gpu group are changed to this
# test's. A user's container reaches exactly the allowed services and the
# world; not the rest of the cluster's range, not the site's other private
# network, never the metadata service, not the host, not another user's
# container; limits and CPUs are the file's; nsiso check and explain agree.
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null && command -v nc >/dev/null || t_skip_or_fail "nft and nc are needed"
NSISO=$NSISO_PREFIX/sbin/nsiso
src=$(dirname "$0")/../../config/login-node.conf
tag=$(( $$ % 10000 ))
br=nsln$tag; gpu=nslngpu$$
a=nslna$$; b=nslnb$$
ns_c=nsiso-lnc-$$; ns_s=nsiso-lns-$$; ns_w=nsiso-lnw-$$
h_c=nslc$tag; h_s=nsls$tag; h_w=nslw$tag
fwd_before=$(cat /proc/sys/net/ipv4/ip_forward)
pol=$(t_policy login-node.conf "$(sed -e "s/^bridge = nsiso-login0$/bridge = $br/" -e "s/^\[group gpu\]$/[group $gpu]/" "$src")")
ln_cleanup() {
	[ -n "${LISTENERS:-}" ] && kill $LISTENERS 2>/dev/null
	for x in "$a" "$b"; do "$NSISO" stop --timeout 1 -- "$x" >/dev/null 2>&1; done
	for i in $(seq 1 200); do [ -z "$(t_supervisor_pids)" ] && break; sleep 0.1; done
	for n in "$ns_c" "$ns_s" "$ns_w"; do ip netns del "$n" 2>/dev/null; done
	if [ -n "${made_netns_dir:-}" ]; then umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null; fi
	for l in "$h_c" "$h_s" "$h_w" "$br"; do ip link del "$l" 2>/dev/null; done
	ip route del 169.254.169.254/32 2>/dev/null
	echo "$fwd_before" > /proc/sys/net/ipv4/ip_forward
	groupdel "$gpu" 2>/dev/null
	t_cleanup
	nft list table inet nsiso >/dev/null 2>&1 && ! ls /run/nsiso/net/*.state >/dev/null 2>&1 && nft delete table inet nsiso
	nft list table bridge nsiso >/dev/null 2>&1 && ! ls /run/nsiso/net/*.state >/dev/null 2>&1 && nft delete table bridge nsiso
	true
}
trap ln_cleanup EXIT
expect_eq "the example is the file in the source tree, but for the bridge and the group" \
	"$(diff "$src" "$pol" | grep -c '^[<>]')" 4
groupadd "$gpu" || exit 1
out=$("$NSISO" check --config "$pol" 2>&1); rc=$?
expect_eq "nsiso check: the example is valid" "$rc" 0
expect_match "with its network's allowed destinations" "$out" \
	"network cluster: bridge $br, subnet 10\\.250\\.0\\.0/20, nat yes, isolate yes, 0 host ports open, 2 allowed destinations"
t_sshd "config=$pol" || exit 1
t_user "$a" && t_user "$b" || exit 1
# (a copy of nsiso named nsiso-status in the home: the build tree may be under /tmp)
status=$(getent passwd "$a" | cut -d: -f6)/nsiso-status
install -m 0755 "$NSISO" "$status"
expect_match "explain: the network with its allowed destinations" "$("$NSISO" explain "$a" --config "$pol")" \
	'allow 10\.77\.0\.10/32:6817,10\.77\.1\.0/24:22\)'

# The site: three namespaces behind veths, the host routing to them.
[ -d /run/netns ] || made_netns_dir=1
site() { # NS HOSTVETH HOSTADDR/P ADDR/P... : a namespace with these addresses behind a veth
	local ns=$1 hv=$2 gw=$3; shift 3
	ip netns add "$ns"
	ip link add "$hv" type veth peer name eth0 netns "$ns"
	ip addr add "$gw" dev "$hv"; ip link set "$hv" up
	local x; for x in "$@"; do ip -n "$ns" addr add "$x" dev eth0; done
	ip -n "$ns" link set eth0 up; ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "${gw%/*}"
}
site "$ns_c" "$h_c" 10.77.0.1/16 10.77.0.10/16 10.77.1.5/16 10.77.2.9/16
site "$ns_s" "$h_s" 192.168.77.1/24 192.168.77.5/24
site "$ns_w" "$h_w" 198.51.100.1/24 198.51.100.2/24 169.254.169.254/32
ip route add 169.254.169.254/32 via 198.51.100.2 dev "$h_w"
listen() { ip netns exec "$1" nc -lk "$2" "$3" >/dev/null 2>&1 & LISTENERS="${LISTENERS:-} $!"; }
listen "$ns_c" 10.77.0.10 6817; listen "$ns_c" 10.77.0.10 6818
listen "$ns_c" 10.77.1.5 22; listen "$ns_c" 10.77.1.5 80; listen "$ns_c" 10.77.2.9 22
listen "$ns_s" 192.168.77.5 22
listen "$ns_w" 198.51.100.2 443; listen "$ns_w" 169.254.169.254 80
sleep 0.3
# (every listener answers the host itself: what a container cannot reach is the policy's doing)
host_sees=""
for t in 10.77.0.10:6817 10.77.0.10:6818 10.77.1.5:22 10.77.1.5:80 10.77.2.9:22 192.168.77.5:22 198.51.100.2:443 169.254.169.254:80; do
	nc -z -w 2 "${t%:*}" "${t#*:}" && host_sees="$host_sees y" || host_sees="$host_sees n"
done
expect_eq "from the host every stand-in answers" "$host_sees" " y y y y y y y y"

t_ssh_bg "$b" -- 'sleep 120'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$b" -x sleep >/dev/null && break; sleep 0.1; done
ip_b=$(t_ssh "$b" -- "ip -4 -o addr show dev eth0 | awk '{print \$4}' | cut -d/ -f1")
gw=10.250.0.1
out=$(t_ssh "$a" -- "for t in 10.77.0.10:6817 10.77.1.5:22 198.51.100.2:443 10.77.0.10:6818 10.77.1.5:80 10.77.2.9:22 192.168.77.5:22 169.254.169.254:80 $gw:$T_PORT $ip_b:22; do
	nc -z -w 2 \${t%:*} \${t#*:} 2>/dev/null && echo \"\$t yes\" || echo \"\$t no\"; done")
want="10.77.0.10:6817 yes
10.77.1.5:22 yes
198.51.100.2:443 yes
10.77.0.10:6818 no
10.77.1.5:80 no
10.77.2.9:22 no
192.168.77.5:22 no
169.254.169.254:80 no
$gw:$T_PORT no
$ip_b:22 no"
expect_eq "the scheduler and the compute nodes' sshd and the world: yes; other ports and hosts of the cluster's range, the site's other network, the metadata service, the host, another user: no" \
	"$out" "$want"
st=$(t_ssh "$a" -- "$status")
expect_match "the file's memory limits" "$st" '^memory         .* memory_max 8\.0 GiB, memory_high 6\.0 GiB$'
expect_match "its pids_max" "$st" '^pids           [0-9]+ of 1024 \(pids_max\)$'
expect_match "its idle timeout" "$st" '^idle_timeout   2 h 0 min without input'
expect_match "its maximum container age" "$st" '^max_session    the container and all its sessions end at '
want_cpus=$(( $(nproc --all) < 4 ? $(nproc --all) : 4 ))
expect_eq "cpus = 4 (or all of this host's $(nproc --all) when fewer)" "$(t_ssh "$a" -- nproc)" "$want_cpus"
kill "$hold" 2>/dev/null; wait "$hold" 2>/dev/null
t_finish
