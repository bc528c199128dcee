#!/bin/bash
# Install what building, testing and the demo need, from Debian's archive.
# Only what is missing; apt-get update only when something is.
set -euo pipefail

packages=(
	gcc libc6-dev meson ninja-build pkg-config            # build
	libpam0g-dev libcap-dev libiniparser-dev libseccomp-dev libsubid-dev libsystemd-dev # dependencies
	libaudit-dev                                           # Debian 13's pam.pc requires audit.pc
	openssh-server openssh-client                          # the real sshd the tests drive
	passwd login procps iproute2 util-linux libcap2-bin    # useradd, ps, ip, unshare, capsh
	pamtester                                              # PAM-stack checks
	keyutils strace gdb                                    # hardening tests: keyctl, ptrace
	jq sudo                                                # nsiso list --json checks; sudo -u as a way in
	python3-prometheus-client                              # nsiso metrics parsed as Prometheus does
	xvfb x11-utils xauth                                   # X11 forwarding: a test display, xdpyinfo, xauth
	nftables                                               # the networks' filter and NAT (nft -f)
	netcat-openbsd iputils-ping                            # network tests: TCP listeners and clients, ping
	bubblewrap                                             # benchmark reference
	podman crun uidmap busybox-static                      # nested rootless containers (sshd-podman)
	clang clang-format                                     # libFuzzer target of the policy parser; tools/format.sh
	dpkg-dev debhelper lintian                             # the Debian package (tools/package.sh)
	qemu-system-x86 mmdebstrap e2fsprogs                   # the systemd guest (tests/guest/)
)

[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (it installs packages)" >&2; exit 1; }
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
