#!/bin/bash
# The policy's hooks (issue 25), through a real sshd: [global] on_create and
# on_destroy run once per container, by its supervisor, with argv
# "USER UID CONTAINER-ID" and an empty environment:
#  - 50 parallel first logins of one user: one container, on_create once,
#    on_destroy once when it ends, both with the same container id;
#  - an on_create that exits 3 for a user refuses that login (step hook, the
#    status in the log line) and leaves no container, cgroup or process;
#  - a hook that is group-writable is not run: the login is refused, and
#    nsiso check says why before any login does;
#  - nsiso explain shows both keys and the file that set them.
. "$(dirname "$0")/lib.sh"
t_init
NSISO=$NSISO_PREFIX/sbin/nsiso
u=nshka$$; f=nshkf$$
H=$T_DIR/hooks
install -d -m 0755 "$H"
cat > "$H/create" <<EOF
#!/bin/sh
echo "create \$# \$1 \$2 \$3 env=\$(env | grep -cv '^PWD=')" >> $H/log
[ "\$1" = "$f" ] && exit 3
exit 0
EOF
cat > "$H/destroy" <<EOF
#!/bin/sh
echo "destroy \$# \$1 \$2 \$3" >> $H/log
EOF
chmod 0755 "$H/create" "$H/destroy"
pol=$(t_policy hooks.conf "[global]
on_create = $H/create
on_destroy = $H/destroy
[default]
namespaces = pid mount ipc uts net user cgroup
linger = no")
t_sshd "config=$pol" || exit 1
t_user "$u" || exit 1
t_user "$f" || exit 1
uid=$(id -u "$u")

out=$("$NSISO" explain --config "$pol" "$u")
expect_match "explain shows on_create and its file" "$out" "^on_create += $H/create +# $pol:\\[global\\]\$"
expect_match "explain shows on_destroy and its file" "$out" "^on_destroy += $H/destroy +# $pol:\\[global\\]\$"
expect_match "nsiso check accepts the policy" "$("$NSISO" check --config "$pol" 2>&1)" "^$pol: valid"

# ---- once per container, whatever the number of parallel first logins ----
# (each session lasts 3 s: all 50 overlap, whichever of them comes first)
pids=()
for i in $(seq 1 50); do
	t_ssh "$u" -- 'echo in=$(readlink /proc/self/ns/pid); sleep 3' > "$T_DIR/par.$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "the 50 parallel first logins all got a session" "$(cat "$T_DIR"/par.* | grep -c '^in=pid:')" 50
expect_eq "all in one container" "$(cat "$T_DIR"/par.* | sort -u | wc -l)" 1
t_wait_no_containers 10 || not_ok "the container did not end"
for i in $(seq 1 50); do grep -q '^destroy' "$H/log" && break; sleep 0.1; done
expect_eq "on_create ran once" "$(grep -c "^create 3 $u " "$H/log")" 1
expect_eq "on_destroy ran once" "$(grep -c "^destroy 3 $u " "$H/log")" 1
expect_match "with USER UID CONTAINER-ID and an empty environment" "$(grep "^create" "$H/log")" \
	"^create 3 $u $uid nsiso-$uid-[0-9]+ env=0\$"
sed 's/^/# hook log: /' "$H/log"
expect_eq "on_destroy got the same container id" "$(grep "^destroy" "$H/log" | cut -d' ' -f5)" \
	"$(grep "^create" "$H/log" | cut -d' ' -f5)"

# ---- a failing on_create refuses the login ----------------------------------
out=$(t_ssh "$f" -- 'echo RAN' 2>&1)
expect_nomatch "on_create exiting 3 refuses the login" "$out" '^RAN$'
expect_match "the user is told in one line, step hook" "$out" '^nsiso: this session could not be isolated.* hook\)$'
expect_match "the log line names the hook and its status" \
	"$(grep -a "refused: user=$f " "$T_DIR/syslog" "$T_DIR/sshd.log" 2>/dev/null | tail -n1)" \
	"step=hook error=EPERM .*on_create $H/create exited with status 3"
t_wait_no_containers 10
expect_eq "no container of that user is left" "$(t_user_supervisors)" 0
expect_eq "no process of that user is left" "$(pgrep -u "$f" | wc -l)" 0
expect_eq "no cgroup of that user is left" "$(ls -d /sys/fs/cgroup/*/nsiso/"$f"* /sys/fs/cgroup/nsiso/"$f"* 2>/dev/null | wc -l)" 0
expect_eq "on_destroy did not run for a container that never was" "$(grep -c "^destroy 3 $f " "$H/log")" 0

# ---- an untrusted hook is not run --------------------------------------------
chmod 0775 "$H/create"
out=$("$NSISO" check --config "$pol" 2>&1); rc=$?
expect_eq "nsiso check fails on a group-writable on_create" "$rc" 1
expect_match "and says why" "$out" "on_create $H/create would not be run: create is group- or world-writable"
: > "$H/log"
out=$(t_ssh "$u" -- 'echo RAN' 2>&1)
expect_nomatch "a login is refused rather than run a group-writable hook" "$out" '^RAN$'
expect_eq "the hook did not run" "$(wc -c < "$H/log")" 0
chmod 0755 "$H/create"
expect_eq "with the mode mended, the login works" "$(t_ssh "$u" -- 'echo RAN' 2>&1)" RAN
t_finish
