#!/bin/bash
# clang-format every C file of the repository (.clang-format), or with
# --check only say which differ and exit 1 (tools/test.sh runs that: CI
# fails on a formatting diff).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format is missing (tools/deps.sh installs it)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -path ./build -prune -o -name '*.[ch]' -print)
if [ "${1:-}" = --check ]; then
	bad=0
	for f in "${files[@]}"; do
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "format.sh: $f differs from .clang-format (run tools/format.sh)"
			bad=1
		fi
	done
	[ "$bad" = 0 ] && echo "format.sh: ${#files[@]} files formatted as .clang-format says"
	exit "$bad"
fi
clang-format -i "${files[@]}"
