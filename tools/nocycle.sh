#!/bin/bash
# The policy's files call each other in one direction only: from the
# objects of a build (default build/), which policy-*.c calls which, and a
# cycle among them fails (prints it, exits 1). load -> sections, net,
# values; resolve -> net, template, values; net -> values; values -> template.
set -euo pipefail
cd "$(dirname "$0")/.."
objs=${1:-${NSISO_BUILDDIR:-build}}/libnsiso-policy.a.p
declare -A calls
files=()
for o in "$objs"/lib_host_policy-*.c.o; do
	f=$(basename "$o" .c.o); f=${f#lib_host_}
	files+=("$f")
	nm -g --defined-only "$o" | awk '{print $3}' > "/tmp/nocycle.def.$$.$f"
	nm -u "$o" | awk '{print $2}' > "/tmp/nocycle.und.$$.$f"
done
trap 'rm -f /tmp/nocycle.*.$$.*' EXIT
for f in "${files[@]}"; do
	for g in "${files[@]}"; do
		[ "$f" = "$g" ] && continue
		grep -qFxf "/tmp/nocycle.def.$$.$g" "/tmp/nocycle.und.$$.$f" && calls[$f]+=" $g"
	done
done
# depth-first search for a cycle
declare -A state
bad=0
visit() {
	local f=$1 g
	state[$f]=active
	for g in ${calls[$f]:-}; do
		if [ "${state[$g]:-}" = active ]; then echo "nocycle: $f calls $g, which calls back"; bad=1
		elif [ -z "${state[$g]:-}" ]; then visit "$g"; fi
	done
	state[$f]=done
}
for f in "${files[@]}"; do [ -z "${state[$f]:-}" ] && visit "$f"; done
[ "${#files[@]}" -gt 0 ] || { echo "nocycle: no policy objects in $objs"; exit 1; }
exit "$bad"
