#!/bin/bash
# Every source file a document or a comment names exists (README, docs/,
# CODING_STYLE.md, and the comments of the C files): a renamed or split
# file leaves no stale name behind. Prints each stale name; exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files --cached --others --exclude-standard)
bases=$(printf '%s\n' "$files" | sed 's|.*/||' | sort -u)
bad=0
check() { # SOURCE-FILE TEXT
	local name
	for name in $(printf '%s\n' "$2" | grep -oP '(?<![\w.])([\w.-]+/)*[\w-]+\.(c|h|sh)\b(?!\.)' | sed 's|^\./||' | sort -u); do
		case "$name" in
		# (here-strings, not printf | grep -q: under pipefail an early
		# grep -q exit SIGPIPEs printf and reads as "not found")
		*/*) grep -qxF -- "$name" <<<"$files" && continue
			# a path relative to the project's top or to a known folder
			grep -qE -- "(^|/)${name//./\\.}$" <<<"$files" && continue ;;
		*) grep -qxF -- "$name" <<<"$bases" && continue ;;
		esac
		echo "doccheck: $1 names $name, which does not exist"
		bad=1
	done
}
for f in README.md CODING_STYLE.md docs/*.md docs/*.[58]; do
	check "$f" "$(cat "$f")"
done
for f in $(printf '%s\n' "$files" | grep -E '\.(c|h)$'); do
	# comments only: /* ... */ and // lines
	check "$f" "$(sed -n 's|.*/\*||p; s|^\s*\*||p; s|.*//||p' "$f")"
done
exit "$bad"
