#!/bin/bash
# Build (or reuse) the Debian 12 systemd guest the guest tests boot.
#
# The image is made from Debian's archive through this host's own apt
# sources (no mirror is named here), with systemd as PID 1, logind, dbus with
# a user bus, Debian's stock /etc/pam.d and openssh-server. It is cached under
# $NSISO_GUEST_CACHE (default /var/cache/nsiso-test/guest), keyed by the hash
# of this file: a changed recipe builds a new image and retires the old one.
#
# Prints the directory that holds disk.raw, vmlinuz, initrd.img and the root
# key (id_ed25519) the tests log in with.
set -euo pipefail

cache=${NSISO_GUEST_CACHE:-/var/cache/nsiso-test/guest}
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

sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
[ -f "$sources" ] || { echo "image.sh: no apt sources on this host" >&2; exit 1; }

mkdir -p "$cache"
chmod 0700 "$cache"
# Images of older recipes go: one image on disk at a time.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
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
	libpam-runtime libpam0g libiniparser1 libcap2 libseccomp2 libsystemd0 libsubid4 nftables
	# what the tests run inside; a name resolver on the host (its sockets
	# are in /run: no container reaches them unless it shares the network)
	procps iproute2 passwd util-linux systemd-resolved libnss-resolve
)

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
	bookworm "$root" "$sources"

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
