#!/bin/bash
# The benchmark's latency and memory figures on a stock systemd host:
#   bench/guest.sh [SUITE]      bookworm (Debian 12, default) or trixie (13)
# boots that guest of the test suite (tests/guest/), installs that release's
# nsiso package there, and runs nsiso-bench in it against `unshare` in the same
# guest and against the peer: the host's bubblewrap, copied in, started in a
# scope with systemd-run --scope, as PID 1 makes nsiso's. As root,
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
command -v bwrap >/dev/null || apt-get install -y -q bubblewrap >/dev/null
g_put "$(command -v bwrap)" /usr/local/bin/bwrap
g_root 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/nsiso.deb >/dev/null 2>&1'
n=${GUEST_CONTAINERS:-5}
g_root "printf '[default]\nnamespaces = pid mount ipc uts net user cgroup\nlinger = no\n' > /etc/nsiso/bench.conf &&
	for i in \$(seq 1 $n); do useradd -M -s /bin/false nsbench\$i; done"
echo "in the $NSISO_GUEST_SUITE guest (systemd $(g_root 'systemctl --version | head -n1 | cut -d" " -f2'), cgroup v2, TCG):"
g_root "/root/nsiso-bench /usr/lib/x86_64-linux-gnu/security/pam_nsiso.so /etc/nsiso/bench.conf ${GUEST_ITERATIONS:-10} \$(seq -f nsbench%g 1 $n)" || {
	echo "the benchmark failed in the guest; its journal's warnings and errors of the last 2 minutes:"
	g_root "journalctl -b --no-pager -o short-monotonic -p warning --since -2min | tail -n 60"
	exit 1
}
# Where the guest's cold path goes: the helper's and the supervisor's
# "timing" lines (LOG_DEBUG) of this run, from the guest's journal; the p50
# of each step over all the run's cold logins (the loop, the quiet ones,
# the density run's).
echo
echo "where the cold open's time goes in the guest (p50 of each step over all cold logins, ms):"
g_root "journalctl -b -o cat -p debug -t nsiso-helper -t nsiso-sup" |
	awk '$1 == "timing" { for (i = 5; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "t0") continue
		key = $2 ": " kv[1]; if (!(key in idx)) { idx[key] = ++n; name[n] = key }
		print idx[key], kv[2], key } }' |
	sort -k1,1n -k2,2g |
	awk '{ i = $1; v[i, ++c[i]] = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); name[i] = $0; if (i > n) n = i }
		END { for (i = 1; i <= n; i++) printf "  %-52s %9.3f  (%d)\n", name[i], v[i, int((c[i] + 1) / 2)], c[i] }'
