#!/bin/bash
# Install what is missing, then configure, build and install into
# $NSISO_BUILDDIR/prefix (default build/prefix). Extra arguments go to meson
# (e.g. -Dwerror=true). Used by test.sh and demo.sh. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
build=${NSISO_BUILDDIR:-build}
prefix="$PWD/$build/prefix"
if [ -f "$build/build.ninja" ]; then
	meson configure "$build" --prefix="$prefix" "$@" >/dev/null
else
	meson setup "$build" --prefix="$prefix" "$@" >/dev/null
fi
meson compile -C "$build" | tail -n 3
meson install -C "$build" --quiet >/dev/null
