#!/bin/bash
# Build (or reuse) a Debian systemd guest the guest tests boot:
#   image.sh [SUITE]     bookworm (Debian 12, the default) or trixie (13)
#
# The image is made from Debian's archive through this host's own apt
# sources (no mirror is named here), with systemd as PID 1, logind, dbus with
# a user bus, Debian's stock /etc/pam.d and openssh-server. It is cached under
# $NSISO_GUEST_CACHE (default /var/cache/nsiso-test/guest)/SUITE, keyed by
# the hash of this file: a changed recipe builds a new image and retires the
# old one of that suite.
#
# Prints the directory that holds disk.raw, vmlinuz, initrd.img and the root
# key (id_ed25519) the tests log in with.
set -euo pipefail

suite=${1:-bookworm}
case "$suite" in bookworm | trixie) ;; *) echo "image.sh: unknown suite '$suite' (bookworm, trixie)" >&2; exit 2 ;; esac
cache=${NSISO_GUEST_CACHE:-/var/cache/nsiso-test/guest}/$suite
key=$(sha256sum "$0" | cut -c1-16)
dir="$cache/$key"
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

[ "$(id -u)" = 0 ] || { echo "image.sh: needs root" >&2; exit 1; }
# Only the directory goes to stdout; what the tools say goes to stderr.
exec 3>&1 1>&2
for c in mmdebstrap mkfs.ext4 qemu-system-x86_64 ssh-keygen; do
	command -v "$c" >/dev/null || { echo "image.sh: $c is missing (tools/deps.sh installs it)" >&2; exit 1; }
done

# The host's own apt sources: for its own release the file itself, for
# another one a line of the same archive naming that suite.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
[ -f "$sources" ] || { echo "image.sh: no apt sources on this host" >&2; exit 1; }
if [ "$suite" != "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" ]; then
	if [ "${sources##*.}" = sources ]; then uri=$(awk '/^URIs:/ {print $2; exit}' "$sources")
	else uri=$(awk '$1 == "deb" {print $2; exit}' "$sources"); fi
	sources="deb $uri $suite main"
fi

mkdir -p "$cache"
chmod 0700 "$cache"
# Images of older recipes go: one image of each suite on disk at a time
# (and the layout before suites had their own directory).
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
find "${cache%/*}" -mindepth 1 -maxdepth 1 -type d ! -name bookworm ! -name trixie -exec rm -rf {} +
rm -rf "$dir"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

ssh-keygen -q -t ed25519 -N '' -C nsiso-guest -f "$work/id_ed25519"

packages=(
	systemd systemd-sysv dbus dbus-user-session libpam-systemd udev kmod
	linux-image-amd64 initramfs-tools
	openssh-server
	# what the nsiso package depends on (installed offline in the guest)
	libpam-runtime libpam0g libcap2 libseccomp2 libsystemd0 nftables
	# what the tests run inside; a name resolver on the host (its sockets
	# are in /run: no container reaches them unless it shares the network)
	procps iproute2 passwd util-linux systemd-resolved libnss-resolve
)
case "$suite" in
bookworm) packages+=(libiniparser1 libsubid4) ;;
# Debian 13's login records: wtmpdb and lastlog2 with their PAM modules,
# as a standard install has them (wtmp and lastlog are gone)
trixie) packages+=(libiniparser4 libsubid5 wtmpdb libpam-wtmpdb lastlog2 libpam-lastlog2) ;;
esac

# MODULES=list with the four modules a virtio guest needs: the default
# MODULES=most costs ~90 s of boot and a 36 MB initrd.
mmdebstrap --variant=minbase --mode=root \
	--include="$(IFS=,; echo "${packages[*]}")" \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"' \
	--setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/virtio-guest"' \
	--setup-hook='printf "%s\n" "#!/bin/sh" "[ \"\$1\" = prereqs ] && exit 0" ". /usr/share/initramfs-tools/hook-functions" "for m in virtio_pci virtio_blk virtio_net ext4; do manual_add_modules \$m; done" > "$1/etc/initramfs-tools/hooks/virtio-guest"; chmod 0755 "$1/etc/initramfs-tools/hooks/virtio-guest"' \
	"$suite" "$root" "$sources"

echo guest > "$root/etc/hostname"
printf '127.0.1.1 guest\n' >> "$root/etc/hosts"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=eth0\n[Network]\nDHCP=ipv4\n' > "$root/etc/systemd/network/eth0.network"
chroot "$root" systemctl enable systemd-networkd.service ssh.service
# Timers that would compete with the tests for the guest's slow CPU.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$work/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
# The guest's clock comes from qemu's RTC; no getty waits on tty1.
chroot "$root" systemctl mask getty@tty1.service
rm -f "$root/etc/machine-id" && : > "$root/etc/machine-id"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
mkfs.ext4 -q -L guest -d "$root" "$work/disk.raw" 3G
rm -rf "$root"
touch "$work/ready"
trap - EXIT
mv "$work" "$dir"
echo "$dir" >&3
