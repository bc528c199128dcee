#!/bin/bash
# Run the benchmark on the installed build: creates users with subordinate
# ids, runs nsiso-bench, removes them; then the back-to-back logins through
# a real sshd (bench/logins.sh). As root, after tools/test.sh or
# tools/demo.sh built build/.
#
#   bench/run.sh [CONTAINERS]
#
# CONTAINERS (default 20) containers are held at once for the memory and
# density figures (bench/run.sh 1000 is the 1000-container run: about 2 GB
# and a few minutes of useradd/userdel). ITERATIONS (default 200).
# GUEST="bookworm trixie" (or one of them) adds bench/guest.sh in those
# systemd guests (a few minutes each). The end lists every target of
# issue 27 measured in this run, each with its reference from the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NSISO_BUILDDIR:-build}
prefix="$PWD/$build/prefix"
module=$(find "$prefix" -name pam_nsiso.so -path '*/security/*' | head -n1)
[ -n "$module" ] || { echo "build and install first: tools/test.sh" >&2; exit 1; }
dir=$(mktemp -d /run/nsiso-bench-run.XXXXXX)
log=$(mktemp /tmp/nsiso-bench-targets.XXXXXX)
users=()
cleanup() {
	rm -f "$log"
	for u in "${users[@]}"; do pkill -KILL -u "$u" 2>/dev/null || true; userdel -r -f "$u" >/dev/null 2>&1 || true; done
	rm -rf "$dir"
	# the kept copies of its policies (the last valid policy, lib/host/lastgood.c)
	local key=${dir//%/%25}; key=${key//\//%2F}
	rm -rf /run/nsiso/good/"$key"%2F*
	[ -n "${fwd:-}" ] && echo "$fwd" > /proc/sys/net/ipv4/ip_forward
	# the network lock file, when no network state is left beside it
	if [ -d /run/nsiso/net ] && [ -z "$(ls -A /run/nsiso/net | grep -vx lock)" ]; then
		rm -f /run/nsiso/net/lock; rmdir /run/nsiso/net || true
	fi
	[ -z "$(find /run/nsiso -maxdepth 1 -name '*.sock' 2>/dev/null)" ] && rm -f /run/nsiso/seccomp.bpf /run/nsiso/sweep /run/nsiso/stats
	if [ -d /run/nsiso/good ] && [ -z "$(ls -A /run/nsiso/good | grep -vx lock)" ]; then
		rm -f /run/nsiso/good/lock; rmdir /run/nsiso/good 2>/dev/null || true
	fi
	rmdir /run/nsiso 2>/dev/null || true # (not empty: state of others, kept)
	true
}
trap cleanup EXIT
printf '[default]\nnamespaces = pid mount ipc uts net user cgroup\nlinger = no\n' > "$dir/bench.conf"
chmod 0755 "$dir"; chmod 0644 "$dir/bench.conf"
containers=${1:-${CONTAINERS:-20}}
case $containers in ''|*[!0-9]*) echo "usage: bench/run.sh [CONTAINERS]" >&2; exit 2;; esac
# CONTAINERS held, and one more user whose cold login is timed with them up
for i in $(seq 1 $((containers + 1))); do
	u="nsbench$i"
	useradd -M -s /bin/false "$u"
	users+=("$u")
done
"$build/bench/nsiso-bench" "$module" "$dir/bench.conf" "${ITERATIONS:-200}" "${users[@]}" | tee -a "$log"

# The same with a named network, nat = yes. First while another user's
# container holds the network up (the usual case: bridge, table and
# ip_forward exist; a cold login adds a lease, a veth, eth0's address and
# route), then as the first container of the network (nsiso also makes the
# bridge, the table and ip_forward, and removes them after each one).
fwd=$(cat /proc/sys/net/ipv4/ip_forward)
printf '[network bench]\nbridge = nsbench0\nsubnet = 10.249.0.0/24\nnat = yes\n[default]\nnamespaces = pid mount ipc uts net user cgroup\nnetwork = bench\nlinger = no\n' > "$dir/net.conf"
chmod 0644 "$dir/net.conf"
mkdir -p "$dir/pam.d"
echo "session required $module config=$dir/net.conf" > "$dir/pam.d/bench-hold"
useradd -M -s /bin/false nsbenchh; users+=(nsbenchh)
"$build/tests/pamdrive" "$dir/pam.d" bench-hold nsbenchh -- /bin/sleep 600 >/dev/null 2>&1 & holder=$!
for i in $(seq 1 100); do [ -e /sys/class/net/nsbench0 ] && break; sleep 0.05; done
echo
echo "with network = bench (nat = yes), another container holding the network up:"
"$build/bench/nsiso-bench" "$module" "$dir/net.conf" "${NET_ITERATIONS:-100}" "${users[0]}" | grep -E '^(nsiso|unshare)'
kill "$holder"; wait "$holder" 2>/dev/null || true
for i in $(seq 1 100); do [ -e /sys/class/net/nsbench0 ] || break; sleep 0.05; done
echo
echo "with network = bench (nat = yes), the first container of the network:"
"$build/bench/nsiso-bench" "$module" "$dir/net.conf" "$(( (${NET_ITERATIONS:-100} + 2) / 3 < 5 ? 5 : (${NET_ITERATIONS:-100} + 2) / 3 ))" "${users[0]}" | grep -E '^nsiso (cold|warm): open'
echo "$fwd" > /proc/sys/net/ipv4/ip_forward

# Back-to-back logins through a real sshd, against the same sshd without
# the module.
echo
bash bench/logins.sh | tee -a "$log"

for suite in ${GUEST:-}; do
	echo
	bash bench/guest.sh "$suite" | sed "s/\[target\] /[target] ($suite guest) /" | tee -a "$log"
done

echo
echo "every target measured in this run (p50; figure / its reference from this run):"
grep -F '[target]' "$log"
[ -n "${GUEST:-}" ] || echo "  (the systemd guests' targets: GUEST=\"bookworm trixie\" bench/run.sh)"
