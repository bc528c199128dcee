#!/bin/bash
# The benchmark's latency and memory figures on a stock systemd host:
#   bench/guest.sh [SUITE]      bookworm (Debian 12, default) or trixie (13)
# boots that guest of the test suite (tests/guest/), installs that release's
# nsiso package there, and runs nsiso-bench in it against `unshare` in the same
# guest (bubblewrap is not in the guest image: its row is absent). As root,
# after tools/test.sh built build/. GUEST_ITERATIONS (default 10),
# GUEST_CONTAINERS (default 5). The guest runs under TCG (no KVM here):
# absolute times are 8-20x the host's; the ratios are what to read.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NSISO_BUILDDIR:-build}
export NSISO_GUEST_SUITE=${1:-${NSISO_GUEST_SUITE:-bookworm}}
[ -x "$build/bench/nsiso-bench" ] || { echo "build first: tools/test.sh" >&2; exit 1; }
. tests/integration/lib.sh
. tests/guest/lib.sh
g_prepare
g_package
g_init
g_package_wait
deb=$G_DEB
g_put "$deb" /root/nsiso.deb
g_put "$build/bench/nsiso-bench" /root/nsiso-bench
g_root 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/nsiso.deb >/dev/null 2>&1'
n=${GUEST_CONTAINERS:-5}
g_root "printf '[default]\nnamespaces = pid mount ipc uts net user cgroup\nlinger = no\n' > /etc/nsiso/bench.conf &&
	for i in \$(seq 1 $n); do useradd -M -s /bin/false nsbench\$i; done"
echo "in the $NSISO_GUEST_SUITE guest (systemd $(g_root 'systemctl --version | head -n1 | cut -d" " -f2'), cgroup v2, TCG):"
g_root "/root/nsiso-bench /usr/lib/x86_64-linux-gnu/security/pam_nsiso.so /etc/nsiso/bench.conf ${GUEST_ITERATIONS:-10} \$(seq -f nsbench%g 1 $n)"
