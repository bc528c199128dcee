#!/bin/bash
# Build the Debian package from this tree: installs what is missing, builds
# nsiso_<version>_<arch>.deb with debhelper in a scratch copy of the tree
# (the work tree stays clean), checks it with lintian (errors fail) and puts
# the .deb in OUTDIR (default build/deb). Prints the .deb's path.
#
#   tools/package.sh [OUTDIR [SUITE]]
#
# SUITE (default: this host's release, e.g. bookworm) names the Debian
# release the package is for. Another release's package is built the way a
# build daemon builds it: in a fresh chroot of that release (mmdebstrap
# through this host's own apt sources, no mirror named here) with only the
# Build-Depends of debian/control, so that it links that release's own
# libraries (sonames) and is checked against its compilers and headers.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh >&2
out=$(realpath -m "${1:-build/deb}")
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
suite=${2:-$host_suite}
case "$suite" in *[!a-z]* | "") echo "package.sh: '$suite' is not a release name" >&2; exit 2 ;; esac
mkdir -p "$out"
scratch=$(mktemp -d /var/tmp/nsiso-pkg.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
# What git tracks plus what is new and not ignored: the tree as it stands.
mkdir "$scratch/nsiso"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch/nsiso"

if [ "$suite" = "$host_suite" ]; then
	(cd "$scratch/nsiso" && dpkg-buildpackage -b -us -uc >"$scratch/build.log" 2>&1) || {
		tail -n 40 "$scratch/build.log" >&2
		echo "package.sh: dpkg-buildpackage failed" >&2
		exit 1
	}
	deb=$(ls "$scratch"/nsiso_*.deb)
else
	sources=/etc/apt/sources.list.d/debian.sources
	if [ -f "$sources" ]; then
		uri=$(awk '/^URIs:/ {print $2; exit}' "$sources")
	else
		uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || { echo "package.sh: no archive in this host's apt sources" >&2; exit 1; }
	# Build-Depends as package names (debhelper-compat is debhelper's).
	deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed '1s/^Build-Depends://; $d' |
		tr ',' '\n' | sed 's/(.*)//; s/[[:space:]]//g; s/^debhelper-compat$/debhelper/' | grep . | paste -sd, -)
	mkdir "$scratch/out"
	mmdebstrap --variant=buildd --mode=root --include="$deps" \
		--aptopt='APT::Install-Recommends "false"' \
		--customize-hook='mkdir -p "$1/build"' \
		--customize-hook="copy-in $scratch/nsiso /build" \
		--customize-hook='chroot "$1" sh -c "cd /build/nsiso && dpkg-buildpackage -b -us -uc > /build/build.log 2>&1 || touch /build/failed"' \
		--customize-hook="copy-out /build $scratch/out" \
		"$suite" /dev/null "deb $uri $suite main" >"$scratch/mmdebstrap.log" 2>&1 || {
		tail -n 20 "$scratch/mmdebstrap.log" >&2
		echo "package.sh: the $suite build chroot failed" >&2
		exit 1
	}
	if [ -e "$scratch/out/build/failed" ]; then
		tail -n 40 "$scratch/out/build/build.log" >&2
		echo "package.sh: dpkg-buildpackage failed in the $suite chroot" >&2
		exit 1
	fi
	deb=$(ls "$scratch"/out/build/nsiso_*.deb)
fi
# lintian: errors fail the build; warnings are fixed or explained in
# debian/nsiso.lintian-overrides.
lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" >&2
# OUTDIR holds the release's package under its release's name when it is
# not this host's (both can sit side by side).
name=$(basename "$deb")
[ "$suite" = "$host_suite" ] || name=${name%.deb}+$suite.deb
cp "$deb" "$out/$name"
echo "$out/$name"
