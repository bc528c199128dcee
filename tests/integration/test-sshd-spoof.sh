#!/bin/bash
# Neighbour spoofing on a named network (Incus CVE-2025-52889/-52890 class,
# docs/THREATS.md 72), through real sshd logins: two tenants A and B on one
# bridge (isolate = no: they share the segment). From A's network namespace
# (entered by host root: the stand-in for a tenant who got CAP_NET_RAW
# there) raw frames claim B's address, the gateway's address and the
# gateway's MAC, and IPv4 datagrams carry B's address or a free one as
# source. Each is dropped at A's bridge port: the host's and B's neighbour
# entries keep the right MACs, the bridge learns no gateway MAC on A's port,
# the host's listener gets A's own datagram and none of the spoofed ones.
# Then nft is made to fail: a third login is refused and the ruleset in
# force stays whole (A's and B's ports filtered, spoofing still dropped).
. "$(dirname "$0")/lib.sh"
t_init
command -v nft >/dev/null && command -v python3 >/dev/null && command -v nsenter >/dev/null ||
	t_skip_or_fail "nft, python3 and nsenter are needed"
tag=$(($$ % 10000))
br=nssp$tag
port=$((45000 + RANDOM % 1000))
a=nsspa$$; b=nsspb$$; c=nsspc$$
NFT=$(command -v nft)
spoof_cleanup() {
	[ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
	mountpoint -q "$NFT" && umount "$NFT"
	t_cleanup
	ip link del "$br" 2>/dev/null
	true
}
trap spoof_cleanup EXIT
pol=$(t_policy spoof.conf "[network sp]
bridge = $br
subnet = 10.234.$((tag % 200)).0/24
isolate = no
host_access = $port
[default]
namespaces = pid mount ipc uts net user cgroup
network = sp
capabilities = cap_net_raw")
gw=10.234.$((tag % 200)).1
t_sshd "config=$pol" || exit 1
for u in "$a" "$b" "$c"; do t_user "$u" || exit 1; done

for u in "$a" "$b"; do t_ssh_bg "$u" -- 'sleep 300'; done
for i in $(seq 1 100); do pgrep -u "$a" -x sleep >/dev/null && pgrep -u "$b" -x sleep >/dev/null && break; sleep 0.1; done
pa=$(pgrep -u "$a" -x sleep | head -n1); pb=$(pgrep -u "$b" -x sleep | head -n1)
inA() { nsenter -t "$pa" -n "$@"; }
inB() { nsenter -t "$pb" -n "$@"; }
a_ip=$(inA ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
b_ip=$(inB ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
# (ip, not /sys: nsenter -n keeps the host's sysfs)
mac_in() { "$@" ip -o link show eth0 | sed -n 's|.*link/ether \([0-9a-f:]*\) .*|\1|p'; }
a_mac=$(mac_in inA)
b_mac=$(mac_in inB)
gw_mac=$(cat "/sys/class/net/$br/address")
expect_eq "the bridge nsiso made has the gateway's fixed MAC (02:6e:73 and the gateway's address)" "$gw_mac" \
	"$(printf '02:6e:73:%02x:%02x:%02x' $(echo "$gw" | cut -d. -f2-4 | tr . ' '))"
expect_match "A has an address on the network" "$a_ip" "^10\\.234\\."
expect_match "B has another" "$b_ip" "^10\\.234\\."
expect_eq "A's MAC is the one nsiso derives from its address" "$a_mac" \
	"$(printf '02:6e:73:%02x:%02x:%02x' $(echo "$a_ip" | cut -d. -f2-4 | tr . ' '))"
# The segment works: A reaches B and the gateway with its own addresses.
expect_eq "A pings B (the segment is shared: isolate = no)" \
	"$(t_ssh "$a" -- "ping -c1 -W2 $b_ip >/dev/null && echo reached")" reached
# The host and B know the real MACs.
ping -c1 -W2 "$b_ip" >/dev/null
t_ssh "$b" -- "ping -c1 -W2 $gw >/dev/null"
sleep 1.2 # past the neighbour entries' locktime: a spoof could now replace them
host_b() { ip neigh show "$b_ip" dev "$br" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
b_gw() { inB ip neigh show "$gw" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
expect_eq "the host's entry for B is B's MAC" "$(host_b)" "$b_mac"
expect_eq "B's entry for the gateway is the bridge's MAC" "$(b_gw)" "$gw_mac"

# A UDP listener of the host on the gateway's host_access port.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(60)
print("ready", flush=True)
while True:
    try:
        d, (src, _) = s.recvfrom(100)
    except socket.timeout:
        break
    print(d.decode(), src, flush=True)
' "$gw" "$port" > "$T_DIR/udp.log" &
LISTENER=$!
for i in $(seq 1 50); do grep -q ready "$T_DIR/udp.log" && break; sleep 0.1; done

# spoof WHAT...: raw frames from A's eth0.
cat > "$T_DIR/spoof.py" <<'PY'
import socket, struct, sys
a_ip, a_mac, b_ip, gw, gw_mac, port = sys.argv[1:7]
mac = lambda m: bytes.fromhex(m.replace(":", ""))
ip4 = socket.inet_aton
BCAST = b"\xff" * 6
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
def arp(src_mac, sha, spa, tpa, op=1):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, mac(sha), ip4(spa), b"\0" * 6, ip4(tpa))
    s.send(BCAST + mac(src_mac) + b"\x08\x06" + body)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xFFFF); t += t >> 16
    return ~t & 0xFFFF
def udp(src_ip, payload):
    u = struct.pack("!HHHH", 5555, int(port), 8 + len(payload), 0) + payload
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, ip4(src_ip), ip4(gw))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    s.send(mac(gw_mac) + mac(a_mac) + b"\x08\x00" + h + u)
for what in sys.argv[7:]:
    if what == "arp-own":      arp(a_mac, a_mac, a_ip, gw)          # who-has gw tell A (legit)
    elif what == "arp-b":      arp(a_mac, a_mac, b_ip, gw, 2)       # B's address is at A's MAC
    elif what == "arp-b-req":  arp(a_mac, a_mac, b_ip, gw)          # the same as a request
    elif what == "arp-gw":     arp(a_mac, a_mac, gw, b_ip, 2)       # the gateway is at A's MAC
    elif what == "mac-gw":     arp(gw_mac, gw_mac, a_ip, b_ip)      # the gateway's MAC as source
    elif what == "udp-own":    udp(a_ip, b"own")
    elif what == "udp-b":      udp(b_ip, b"spoof-b")
    elif what == "udp-free":   udp(gw[:-1] + "250", b"spoof-free")
print("sent", flush=True)
PY
spoof() { inA python3 "$T_DIR/spoof.py" "$a_ip" "$a_mac" "$b_ip" "$gw" "$gw_mac" "$port" "$@"; }
expect_eq "A sent its frames" "$(spoof arp-own udp-own)" sent
sleep 0.5
expect_eq "control: A's own ARP reached the host (its entry is A's MAC)" \
	"$(ip neigh show "$a_ip" dev "$br" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')" "$a_mac"
expect_match "control: A's own datagram reached the host's listener" "$(cat "$T_DIR/udp.log")" "^own $a_ip\$"
for k in 1 2 3; do spoof arp-b arp-b-req arp-gw mac-gw udp-b udp-free >/dev/null; sleep 0.2; done
sleep 0.5
expect_eq "the host's entry for B is still B's MAC" "$(host_b)" "$b_mac"
expect_eq "B's entry for the gateway is still the bridge's MAC" "$(b_gw)" "$gw_mac"
expect_eq "the bridge learned no gateway MAC on A's port" \
	"$(bridge fdb show br "$br" | grep -i "^$gw_mac " | grep "dev nsv$(id -u "$a")" | grep -vc permanent)" 0
expect_nomatch "the host's listener got no datagram with B's address" "$(cat "$T_DIR/udp.log")" "^spoof-b "
expect_nomatch "nor one with a free address of the subnet" "$(cat "$T_DIR/udp.log")" "^spoof-free "
expect_match "the bridge's port filter counts A's MAC and address" "$(nft list set bridge nsiso ports)" \
	"\"nsv$(id -u "$a")\" \\. $a_mac \\. $a_ip"

# ---- a failed ruleset update keeps the old one ---------------------------------
before=$(nft list table bridge nsiso; nft list table inet nsiso)
printf '#!/bin/sh\nexit 1\n' > "$T_DIR/nft-fail"; chmod 0755 "$T_DIR/nft-fail"
cp "$NFT" "$T_DIR/nft.real"
mount --bind "$T_DIR/nft-fail" "$NFT"
out=$(t_ssh "$c" -- 'echo RAN' 2>&1)
umount "$NFT"
expect_nomatch "with nft failing, a third login on the network is refused" "$out" '^RAN$'
expect_match "its log line names the step and nft" \
	"$(grep -a "refused: user=$c " "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | tail -n1)" "step=net .*nft -f refused the ruleset"
expect_eq "the ruleset in force is the one before, whole" "$(nft list table bridge nsiso; nft list table inet nsiso)" "$before"
: > "$T_DIR/udp.log.2"
for k in 1 2; do spoof udp-b >/dev/null; sleep 0.2; done
expect_nomatch "and still drops A's spoofed datagrams" "$(cat "$T_DIR/udp.log")" "^spoof-b "
expect_eq "with nft back, the third login works" "$(t_ssh "$c" -- 'echo RAN' 2>&1)" RAN
t_finish
