#!/bin/bash
# The install layout (meson install into a DESTDIR) and the pam-auth-update
# profile: enabled, pam_nsiso.so comes last in common-session and
# common-session-noninteractive (after pam_systemd) and su lands in the
# container through it; removed, the host's files are as they were.
. "$(dirname "$0")/lib.sh"
t_init
[ -n "${NSISO_BUILDDIR:-}" ] || { echo "NSISO_BUILDDIR is not set"; exit 1; }
src=$(cd "$(dirname "$0")/../.." && pwd)

dest="$T_DIR/destdir"
meson install -C "$NSISO_BUILDDIR" --no-rebuild --quiet --destdir "$dest" >/dev/null 2>&1
expect_eq "meson install into a DESTDIR" "$?" 0
root="$dest$NSISO_PREFIX"
mode() { stat -c '%a %U' "$1" 2>&1; }
expect_eq "the helper: root's, mode 0700" "$(mode "$root/libexec/nsiso-helper")" "700 root"
expect_eq "the init: executable" "$(mode "$root/libexec/nsiso-init")" "755 root"
expect_eq "the nested id map client: executable, not setuid" "$(mode "$root/libexec/nsiso-newidmap")" "755 root"
expect_eq "nsiso in sbin" "$(mode "$root/sbin/nsiso")" "755 root"
expect_eq "the module" "$(find "$root" -name pam_nsiso.so -path '*/security/*' | wc -l)" 1
expect_eq "the example policy, not group/world-writable" "$(mode "$root/etc/nsiso/nsiso.conf")" "644 root"
for m in man8/pam_nsiso.8 man8/nsiso.8 man5/nsiso.conf.5; do
	expect_match "man page $m" "$(head -n1 "$root/share/man/$m")" '^\.TH '
done
expect_eq "man nsiso-status: nsiso(8), whose status section it is" "$(cat "$root/share/man/man1/nsiso-status.1")" ".so man8/nsiso.8"
expect_eq "the pam-auth-update profile is the shipped one" "$(cat "$root/share/pam-configs/nsiso")" \
	"$(cat "$src/config/pam-configs-nsiso")"
expect_eq "tmpfiles.d makes the state directory root's 0700" "$(grep -v '^#' "$root/lib/tmpfiles.d/nsiso.conf")" \
	"d /run/nsiso 0700 root root -"
expect_eq "the installed policy is valid" "$("$NSISO_PREFIX/sbin/nsiso" check --config "$root/etc/nsiso/nsiso.conf" >/dev/null 2>&1; echo $?)" 0

# pam-auth-update with the shipped profile (module named by path here: the
# test tree is not in the system's PAM directory).
command -v pam-auth-update >/dev/null || t_skip_or_fail "pam-auth-update is missing"
u=nsinst$$
ssh-keygen -q -t ed25519 -N "" -f "$T_DIR/id" >/dev/null
t_user "$u" || exit 1
pol=$(t_policy inst.conf "[default]
hostname = via-common-%u")
install -d -m 0700 "$T_DIR/pam-common"
cp -p /etc/pam.d/common-* "$T_DIR/pam-common/"
cp -a /var/lib/pam "$T_DIR/var-lib-pam"
profile="/usr/share/pam-configs/nsiso-test-$$"
restore_common() {
	DEBIAN_FRONTEND=noninteractive pam-auth-update --remove "nsiso-test-$$" >/dev/null 2>&1
	rm -f "$profile"
	for f in "$T_DIR"/pam-common/*; do cmp -s "$f" "/etc/pam.d/$(basename "$f")" || cp -p "$f" /etc/pam.d/; done
	rm -rf /var/lib/pam && cp -a "$T_DIR/var-lib-pam" /var/lib/pam
}
trap 'restore_common; t_cleanup' EXIT
sed "s|pam_nsiso.so|$T_MODULE config=$pol|" "$src/config/pam-configs-nsiso" > "$profile"
DEBIAN_FRONTEND=noninteractive pam-auth-update --enable "nsiso-test-$$" >/dev/null 2>&1
expect_eq "pam-auth-update --enable exits 0" "$?" 0
for f in common-session common-session-noninteractive; do
	expect_match "$f: pam_nsiso.so is the last module" "$(grep -E '^session' "/etc/pam.d/$f" | tail -n1)" \
		"^session[[:space:]]+required[[:space:]]+$T_MODULE config=$pol"
done
expect_match "common-session: after pam_systemd" \
	"$(grep -E '^session' /etc/pam.d/common-session | grep -nE 'pam_systemd|pam_nsiso' | cut -d: -f2 | tr '\n' ' ')" \
	"pam_systemd.* .*pam_nsiso"
expect_eq "su through common-session lands in the container" "$(su - "$u" -c hostname </dev/null 2>&1)" "via-common-$u"
restore_common
trap t_cleanup EXIT
for f in "$T_DIR"/pam-common/*; do
	expect_eq "after --remove, /etc/pam.d/$(basename "$f") is as it was" "$(cmp -s "$f" "/etc/pam.d/$(basename "$f")" && echo same)" same
done
expect_eq "and su is on the host again" "$(su - "$u" -c hostname </dev/null 2>&1)" "$(hostname)"
t_wait_no_containers 10
t_finish
