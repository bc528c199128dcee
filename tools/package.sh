#!/bin/bash
# Build the Debian package from this tree: installs what is missing, builds
# nsiso_<version>_<arch>.deb with debhelper in a scratch copy of the tree
# (the work tree stays clean), checks it with lintian (errors fail) and puts
# the .deb in OUTDIR (default build/deb). Prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh >&2
out=$(realpath -m "${1:-build/deb}")
mkdir -p "$out"
scratch=$(mktemp -d /var/tmp/nsiso-pkg.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
# What git tracks plus what is new and not ignored: the tree as it stands.
mkdir "$scratch/nsiso"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch/nsiso"
(cd "$scratch/nsiso" && dpkg-buildpackage -b -us -uc >"$scratch/build.log" 2>&1) || {
	tail -n 40 "$scratch/build.log" >&2
	echo "package.sh: dpkg-buildpackage failed" >&2
	exit 1
}
deb=$(ls "$scratch"/nsiso_*.deb)
# lintian: errors fail the build; warnings are fixed or explained in
# debian/nsiso.lintian-overrides.
lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" >&2
cp "$deb" "$out/"
echo "$out/$(basename "$deb")"
