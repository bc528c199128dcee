#!/bin/bash
# Run the benchmark on the installed build: creates users with subordinate
# ids, runs nsiso-bench, removes them. As root, after tools/test.sh or
# tools/demo.sh built build/. ITERATIONS (default 200), CONTAINERS (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NSISO_BUILDDIR:-build}
prefix="$PWD/$build/prefix"
module=$(find "$prefix" -name pam_nsiso.so -path '*/security/*' | head -n1)
[ -n "$module" ] || { echo "build and install first: tools/test.sh" >&2; exit 1; }
dir=$(mktemp -d /run/nsiso-bench-run.XXXXXX)
users=()
cleanup() {
	for u in "${users[@]}"; do pkill -KILL -u "$u" 2>/dev/null || true; userdel -r -f "$u" >/dev/null 2>&1 || true; done
	rm -rf "$dir"
}
trap cleanup EXIT
printf '[default]\nnamespaces = pid mount ipc uts net user cgroup\n' > "$dir/bench.conf"
chmod 0755 "$dir"; chmod 0644 "$dir/bench.conf"
for i in $(seq 1 "${CONTAINERS:-20}"); do
	u="nsbench$i"
	useradd -M -s /bin/false "$u"
	users+=("$u")
done
"$build/bench/nsiso-bench" "$module" "$dir/bench.conf" "${ITERATIONS:-200}" "${users[@]}"
