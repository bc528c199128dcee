#!/bin/bash
# Users from a directory have no line in /etc/subuid: with [global] subids
# = auto nsiso allocates each a range of its own (lib/host/subids.c), through
# real sshd logins:
#  - nsiso explain predicts the refusal with subids = files (exit 1) and
#    the allocation with auto;
#  - a first login gets an aligned range from the pool, the same at the
#    next login; two users never overlap each other or /etc/subuid, which
#    nsiso never writes;
#  - with subids = files the same user is refused and told so in one line;
#  - 50 parallel first logins of 50 such users get 50 distinct ranges;
#  - with a libsubid provider (subid: in nsswitch.conf) its ranges are used
#    and allocations avoid them;
#  - nsiso subids lists them and --release drops those of deleted users.
. "$(dirname "$0")/lib.sh"
t_init
nsiso="$NSISO_PREFIX/sbin/nsiso"
statedir=/var/lib/nsiso
made_state=0; [ -d "$statedir" ] || made_state=1
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
subids_cleanup() {
	[ -f "$T_DIR/nsswitch.saved" ] && cp -p "$T_DIR/nsswitch.saved" /etc/nsswitch.conf
	[ -f "$T_DIR/subuid.saved" ] && rm -f /etc/subuid && mv "$T_DIR/subuid.saved" /etc/subuid
	rm -f "$libdir/libsubid_nsisotest.so" /run/nsiso-test-subid.conf
	t_cleanup
	"$nsiso" subids --release >/dev/null 2>&1
	if [ "$made_state" = 1 ] && [ ! -s "$statedir/subids" ]; then rm -rf "$statedir"; fi
	true
}
trap subids_cleanup EXIT
auto=$(t_policy auto.conf "[global]
subids = auto
[default]")
files=$(t_policy files.conf "[default]")
t_sshd "config=$auto" || exit 1
x=nssbx$$; y=nssby$$
t_user "$x" nosubids && t_user "$y" nosubids || exit 1
files_before=$(sha256sum /etc/subuid /etc/subgid)
pool_lo=2000224256; pool_hi=2147352575

out=$("$nsiso" explain "$x" --config "$files" 2>&1); rc=$?
expect_eq "explain predicts the refusal with subids = files (exit 1)" "$rc" 1
expect_match "and says why" "$out" "sessions would be refused: none \(not in /etc/subuid or /etc/subgid, and subids = files\)"
out=$("$nsiso" explain "$x" --config "$auto" 2>&1); rc=$?
expect_eq "explain with subids = auto: no refusal (exit 0)" "$rc" 0
expect_match "and says the range is to be allocated" "$out" "subordinate += to be allocated at the first login \(pool $pool_lo-$pool_hi\)"

first=$(t_ssh "$x" -- 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')
start_x=$(echo "$first" | cut -d' ' -f2)
expect_match "x's first login: container root maps into the pool" "$first" "^0 [0-9]+ $(id -u "$x")$"
expect_eq "the range is aligned to 65536 and inside the pool" \
	"$(( start_x % 65536 == 0 && start_x >= pool_lo && start_x + 65535 <= pool_hi ))" 1
expect_match "the supervisor logs where the range came from" "$(grep "container created user=$x " "$T_DIR/syslog" | head -n1)" \
	" subids=allocated unit=-$"
expect_eq "the registry records it" "$(grep "^$x " "$statedir/subids")" "$x $(id -u "$x") $start_x"
expect_eq "the registry is root's, 0600, in a 0700 directory" "$(stat -c '%U %a' "$statedir/subids" "$statedir" | tr '\n' ' ')" "root 600 root 700 "
t_wait_no_containers 10
again=$(t_ssh "$x" -- 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')
expect_eq "the next login gets the same range" "$again" "$first"
start_y=$(t_ssh "$y" -- 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //' | cut -d' ' -f2)
t_ssh_bg "$y" -- 'sleep 60'; hold=$T_BG
for i in $(seq 1 100); do pgrep -u "$y" -x sleep >/dev/null && break; sleep 0.1; done
expect_match "nsiso show names y's range and where it comes from" "$("$nsiso" show "$y")" \
	"^subordinate ids: $start_y\+65536 allocated \($statedir/subids\)$"
expect_match "nsiso list shows y's first subordinate id" "$("$nsiso" list)" "^$y .* $start_y$"
pkill -u "$y" -x sleep; wait "$hold" 2>/dev/null
expect_eq "y's range does not overlap x's" "$(( start_y >= start_x + 65536 || start_x >= start_y + 65536 ))" 1
overl=$(cat /etc/subuid /etc/subgid | awk -F: -v a="$start_x" -v b="$start_y" \
	'($2 < a + 65536 && a < $2 + $3) || ($2 < b + 65536 && b < $2 + $3) {print}')
expect_eq "neither overlaps a line of /etc/subuid or /etc/subgid" "$overl" ""
expect_eq "/etc/subuid and /etc/subgid are untouched" "$(sha256sum /etc/subuid /etc/subgid)" "$files_before"
expect_match "explain says the range is allocated" "$("$nsiso" explain "$x" --config "$auto")" \
	"subordinate += $start_x\+65536 allocated \($statedir/subids\)"
expect_match "nsiso subids lists x" "$("$nsiso" subids)" "^$x +$(id -u "$x") +$start_x +$((start_x + 65535)) +user exists$"

# A registered range that an admin later gives to someone in /etc/subuid:
# x's next container is refused, never built on ids that are now another's
# (THREATS 64).
t_wait_no_containers 10
cp -p /etc/subuid "$T_DIR/subuid.saved"
printf 'someone-else:%s:65536\n' "$start_x" >> /etc/subuid
out=$(t_ssh "$x" -- 'echo RAN' 2>/dev/null)
rm -f /etc/subuid && mv "$T_DIR/subuid.saved" /etc/subuid
expect_match "a registered range now in /etc/subuid refuses the login (no RAN)" "$out" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ idmap\)$'
sleep 0.2
expect_match "the refusal says why" "$(grep "refused: user=$x " "$T_DIR/syslog" | tail -n1)" \
	"step=idmap error=EEXIST .*registered range $start_x-$((start_x + 65535)) of $x now overlaps a line of /etc/subuid"
expect_eq "with the file as it was, x logs in again on the same range" \
	"$(t_ssh "$x" -- 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //' | cut -d' ' -f2)" "$start_x"

# explain and a home that is not there.
h=nssbh$$
useradd -M -d "/nonexistent-$h" -s /bin/bash "$h" && T_USERS+=("$h")
out=$("$nsiso" explain "$h" --config "$auto" 2>&1); rc=$?
expect_eq "explain: a missing home alone refuses nothing (exit 0)" "$rc" 0
expect_match "but explain notes it" "$out" "note: the home /nonexistent-$h does not exist: sessions start in /"
ro=$(t_policy ro.conf "[global]
subids = auto
[default]
home = read-only")
out=$("$nsiso" explain "$h" --config "$ro" 2>&1); rc=$?
expect_eq "explain: with home = read-only too (nothing to mount; exit 0)" "$rc" 0
expect_match "and notes it" "$out" "note: the home /nonexistent-$h does not exist"

# subids = files: the same kind of user is refused, and told so.
z=nssbz$$
t_user "$z" nosubids || exit 1
t_pam_args "config=$files"
out=$(t_ssh "$z" -- 'echo RAN' 2>&1)
expect_match "with subids = files a user without a range is refused, in one line" "$out" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ idmap\)$'
expect_eq "and nothing was allocated for z" "$(grep -c "^$z " "$statedir/subids")" 0
t_pam_args "config=$auto"

# 50 parallel first logins of 50 users without ranges.
many=()
for i in $(seq 1 50); do u=nssb$i-$$; t_user "$u" nosubids || exit 1; many+=("$u"); done
pids=()
for u in "${many[@]}"; do
	t_ssh_argv "$u" -- 'head -n1 /proc/self/uid_map'
	"${T_ARGV[@]}" > "$T_DIR/map.$u" 2>&1 & pids+=($!)
done
fails=0; for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
expect_eq "50 parallel first logins all got in" "$fails" 0
starts=$(for u in "${many[@]}"; do tr -s ' ' < "$T_DIR/map.$u" | sed 's/^ //' | cut -d' ' -f2; done | sort -u)
expect_eq "50 distinct ranges" "$(echo "$starts" | grep -c .)" 50
expect_eq "each the registry's for that user" \
	"$(for u in "${many[@]}"; do grep -c "^$u $(id -u "$u") $(tr -s ' ' < "$T_DIR/map.$u" | sed 's/^ //' | cut -d' ' -f2)$" "$statedir/subids"; done | sort -u)" 1
expect_eq "no two ranges in the registry overlap" \
	"$(awk '{print $3}' "$statedir/subids" | sort -n | awk 'NR > 1 && $1 < prev + 65536 {bad++} {prev = $1} END {print bad + 0}')" 0

# A libsubid provider (subid: in nsswitch.conf, as SSSD and FreeIPA publish
# ranges): its range is the one used, and an allocation avoids it. The
# provider is tests/tools/libsubid_nsisotest.c, reading the ranges below.
w=nssbw$$; v=nssbv$$
t_user "$w" nosubids && t_user "$v" nosubids || exit 1
cp -p /etc/nsswitch.conf "$T_DIR/nsswitch.saved"
install -m 0644 "$NSISO_SUBID_PROVIDER" "$libdir/libsubid_nsisotest.so"
printf '%s 300023808 65536\n' "$w" > /run/nsiso-test-subid.conf
printf 'subid: nsisotest\n' >> /etc/nsswitch.conf
expect_match "explain: w's ranges come from libsubid" "$("$nsiso" explain "$w" --config "$auto")" \
	"subordinate += 300023808\+65536 \(uids\), 300023808\+65536 \(gids\) from libsubid \(provider nsisotest\)"
expect_eq "w's container root maps to the range libsubid reports" \
	"$(t_ssh "$w" -- 'head -n1 /proc/self/uid_map; sed -n 1p /proc/self/gid_map' | tr -s ' ' | sed 's/^ //' | cut -d' ' -f1,2 | tr '\n' ,)" \
	"0 300023808,0 300023808,"
expect_match "the supervisor logs libsubid as the source" "$(grep "container created user=$w " "$T_DIR/syslog" | head -n1)" \
	" subids=libsubid unit=-$"
expect_eq "nothing was allocated for w" "$(grep -c "^$w " "$statedir/subids")" 0
pool2=$(t_policy pool.conf "[global]
subids = auto
subids_pool = 300023808-300300000
[default]")
t_pam_args "config=$pool2"
start_v=$(t_ssh "$v" -- 'head -n1 /proc/self/uid_map' | tr -s ' ' | sed 's/^ //' | cut -d' ' -f2)
expect_eq "an allocation skips the block libsubid gives w (v gets the next)" "$start_v" 300089344
# /etc/subuid that cannot be read whole (here a FIFO, THREATS 64 and 60):
# the overlap check of an allocation is never skipped; the login is refused
# at once, never allocated blindly and never hung (the old reader blocked
# on the FIFO after lckpwdf() had cancelled the helper's alarm).
f=nssbf$$
t_user "$f" nosubids || exit 1
mv /etc/subuid "$T_DIR/subuid.saved" && mkfifo -m 0644 /etc/subuid
start=$(date +%s)
out=$(timeout 30 ssh -i "$T_DIR/id" -p "$T_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o BatchMode=yes -o LogLevel=ERROR "$f@127.0.0.1" 'echo RAN' 2>/dev/null)
took=$(( $(date +%s) - start ))
rm -f /etc/subuid && mv "$T_DIR/subuid.saved" /etc/subuid
expect_match "a FIFO for /etc/subuid refuses the allocating login (no RAN)" "$out" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ idmap\)$'
expect_eq "within 5 s" "$(( took <= 5 ))" 1
sleep 0.2
expect_match "the refusal names the file" "$(grep "refused: user=$f " "$T_DIR/syslog" | tail -n1)" \
	'step=idmap error=EINVAL .*/etc/subuid.*not a regular file'
expect_eq "nothing was allocated for f" "$(grep -c "^$f " "$statedir/subids")" 0
t_pam_args "config=$auto"
cp -p "$T_DIR/nsswitch.saved" /etc/nsswitch.conf
rm -f "$libdir/libsubid_nsisotest.so" /run/nsiso-test-subid.conf

# Release: ranges of users who are gone.
t_wait_no_containers 20
userdel -r -f "$x" >/dev/null 2>&1
expect_match "nsiso subids shows x gone" "$("$nsiso" subids)" "^$x .* user gone$"
expect_eq "--release drops x's range only" "$("$nsiso" subids --release)" "released 1 range"
expect_eq "x is no longer in the registry, y still is" \
	"$(grep -c "^$x " "$statedir/subids") $(grep -c "^$y " "$statedir/subids")" "0 1"
t_finish
