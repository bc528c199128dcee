#!/bin/bash
# The per-user filesystem view (issue 14), through a real sshd:
#  1. two students on home = private: neither lists nor opens the other's
#     home (ENOENT), also through .., /proc/1/root, /proc/self/cwd and a hard
#     link; their own home works read-write; the host's view is unchanged;
#  2. [group students] sees the course directory read-only (EROFS), [group
#     staff] writes it, and the students read what staff wrote;
#  3. hide: an empty, read-only /srv for students (staff still sees it);
#  4. tmpfs: a 2M scratch directory refuses writes past its size (ENOSPC) while another
#     student's is unaffected;
#  5. nothing propagates back: the host's mount table is the same with the
#     containers up; nsiso explain shows the mount list, nsiso show what a
#     live container has;
#  6. refusals: a symlink the tenant planted along a bind source or a bind
#     target refuses the login with step and path in the log; a bind source
#     missing at login (with %u) refuses it; a source that nsiso check can
#     know is missing makes check fail.
. "$(dirname "$0")/lib.sh"
t_init
kv() { printf "%s\n" "$1" | sed -n "s/^$2=//p" | head -n 1; }
tag=$$
stu=nsvs$tag; stf=nsvt$tag
s1=nsvsa$tag; s2=nsvsb$tag; t1=nsvta$tag; s3=nsvsc$tag
D=/srv/nsiso-view-$tag
view_cleanup() {
	t_cleanup
	rm -rf "$D" "/var/lib/nsiso-view-$tag"
	rm -f "$V/answers"
	rmdir "$V/course" "$V/scratch" "$V" 2>/dev/null
	# (the users' own groups: userdel leaves them, since usermod -g made
	# another group their primary one)
	for g in "$stu" "$stf" "$s1" "$s2" "$t1" "$s3"; do groupdel "$g" 2>/dev/null; done
	true
}
trap view_cleanup EXIT
[ -d /srv ] || t_skip_or_fail "/srv is needed"
# Mount points of the view (an admin makes them once, like any mount point).
V=/mnt/nsiso-view-$tag
install -d -m 0755 "$V" "$V/course" "$V/scratch"
echo "answer key" > "$V/answers"; chmod 0644 "$V/answers"
groupadd "$stu" && groupadd "$stf" || exit 1
install -d -m 0755 "$D" "$D/courses" "$D/users"
install -d -m 2775 -g "$stf" "$D/courses/$stu"
echo "syllabus" > "$D/courses/$stu/syllabus"
pol=$(t_policy view.conf "[default]
namespaces = pid mount ipc uts net user cgroup
[group $stu]
home = private
bind_ro = $D/courses/%g:$V/course
hide = /srv $V/answers
tmpfs = $V/scratch:2M
[group $stf]
bind = $D/courses/$stu:$V/course")
t_sshd "config=$pol" || exit 1
for u in "$s1" "$s2" "$s3"; do t_user "$u" && usermod -g "$stu" "$u" || exit 1; done
t_user "$t1" && usermod -g "$stf" "$t1" || exit 1
echo "s2's secret" > "/home/$s2/secret"; chown "$s2" "/home/$s2/secret"; chmod 0644 "/home/$s2/secret"
host_mounts=$(t_host_mounts | wc -l)

# ---- 1. home = private ------------------------------------------------------
t_ssh_bg "$s1" -- 'sleep 120'; hold1=$T_BG
t_ssh_bg "$s2" -- 'sleep 120'; hold2=$T_BG
for i in $(seq 1 100); do [ "$(pgrep -u "$s1" -x sleep)" ] && [ "$(pgrep -u "$s2" -x sleep)" ] && break; sleep 0.1; done
out=$(t_ssh "$s1" -- "echo user=\$(id -un); echo home=\$(ls -A /home | tr '\n' ' ');
	echo other=\$(ls /home/$s2 2>&1); echo open=\$(cat /home/$s2/secret 2>&1);
	echo dotdot=\$(cd ~/.. && ls -A | tr '\n' ' '); echo proc1=\$(ls -A /proc/1/root/home 2>&1);
	echo root=\$(ls -A /proc/self/root/home | tr '\n' ' '); echo cwd=\$(cd && ls -A /proc/self/cwd/.. | tr '\n' ' ');
	echo link=\$(ln /home/$s2/secret ~/hl 2>&1);
	echo w=\$(echo mine > ~/own && cat ~/own)")
expect_eq "s1 logged in (the checks below ran)" "$(kv "$out" user)" "$s1"
# (echo $(...) drops the trailing space: one name means one entry)
expect_eq "s1's /home holds s1's home only" "$(kv "$out" home)" "$s1"
expect_eq "s2's home cannot be listed (ENOENT)" "$(kv "$out" other)" \
	"ls: cannot access '/home/$s2': No such file or directory"
expect_eq "s2's world-readable file cannot be opened (ENOENT)" "$(kv "$out" open)" \
	"cat: /home/$s2/secret: No such file or directory"
expect_eq "cd ~/.. lists s1 alone" "$(kv "$out" dotdot)" "$s1"
expect_eq "the init's root is out of reach (/proc/1/root: EACCES)" "$(kv "$out" proc1)" \
	"ls: cannot access '/proc/1/root/home': Permission denied"
expect_eq "/proc/self/root/home lists s1 alone" "$(kv "$out" root)" "$s1"
expect_eq "/proc/self/cwd/.. lists s1 alone" "$(kv "$out" cwd)" "$s1"
expect_eq "a hard link to s2's file cannot be made (no path to it)" "$(kv "$out" link)" \
	"ln: failed to access '/home/$s2/secret': No such file or directory"
expect_eq "s1's own home is read-write" "$(kv "$out" w)" mine
expect_eq "the write reached the host's home" "$(cat "/home/$s1/own")" mine
expect_eq "s2 sees only s2's home" "$(t_ssh "$s2" -- 'ls -A /home')" "$s2"
expect_eq "the host's /home is unchanged" "$(ls -A /home | grep -cxE "$s1|$s2|$t1|$s3")" 4
expect_eq "staff (home = shared) sees every home" \
	"$(t_ssh "$t1" -- "ls -A /home" | grep -cxE "$s1|$s2|$t1|$s3")" 4

# ---- 2. the course directory ------------------------------------------------
out=$(t_ssh "$t1" -- "echo w=\$(echo 'read chapter 2' > $V/course/notes && cat $V/course/notes)")
expect_eq "staff writes the course directory" "$(kv "$out" w)" "read chapter 2"
out=$(t_ssh "$s1" -- "echo r=\$(cat $V/course/notes); echo s=\$(cat $V/course/syllabus); echo w=\$(touch $V/course/x 2>&1)")
expect_eq "a student reads what staff wrote" "$(kv "$out" r)" "read chapter 2"
expect_eq "a student reads the course files" "$(kv "$out" s)" syllabus
expect_eq "a student's write is refused (EROFS)" "$(kv "$out" w)" \
	"touch: cannot touch '$V/course/x': Read-only file system"

# ---- 3. hide ------------------------------------------------------------------
out=$(t_ssh "$s1" -- "echo user=\$(id -un); echo srv=\$(ls -A /srv | wc -l); echo w=\$(touch /srv/x 2>&1)")
expect_eq "the student's session ran" "$(kv "$out" user)" "$s1"
expect_eq "a student's /srv is empty" "$(kv "$out" srv)" 0
expect_eq "and read-only" "$(kv "$out" w)" "touch: cannot touch '/srv/x': Read-only file system"
expect_match "staff still sees /srv" "$(t_ssh "$t1" -- 'ls -A /srv')" "nsiso-view-$tag"
out=$(t_ssh "$s1" -- "echo user=\$(id -un); echo size=\$(stat -c %s $V/answers); echo w=\$(echo x 2>&1 > $V/answers)")
expect_eq "a hidden file: the session ran" "$(kv "$out" user)" "$s1"
expect_eq "a hidden file reads empty" "$(kv "$out" size)" 0
expect_eq "and cannot be written (EROFS)" "$(kv "$out" w)" "bash: line 1: $V/answers: Read-only file system"
expect_eq "staff reads the file" "$(t_ssh "$t1" -- "cat $V/answers")" "answer key"

# ---- 4. a sized tmpfs ------------------------------------------------------------
out=$(t_ssh "$s1" -- "echo fs=\$(findmnt -n -o FSTYPE,SIZE $V/scratch); dd if=/dev/zero of=$V/scratch/big bs=1M count=3 2>&1 | head -n1")
expect_eq "a student's scratch directory is a 2M tmpfs" "$(kv "$out" fs)" "tmpfs 2M"
expect_match "writing 3M into it fails with ENOSPC" "$out" "dd: error writing '$V/scratch/big': No space left on device"
expect_eq "s2's scratch directory is its own: 1M fits" \
	"$(t_ssh "$s2" -- "dd if=/dev/zero of=$V/scratch/one bs=1M count=1 2>/dev/null && ls $V/scratch")" one
expect_eq "the host's scratch directory has no file of theirs" "$(ls -A "$V/scratch" | grep -cxE 'big|one')" 0

# ---- 5. propagation, explain, show ---------------------------------------------------
expect_eq "the host's mount table is unchanged with the containers up" "$(t_host_mounts | wc -l)" "$host_mounts"
expect_eq "the host's course mount point is still empty" "$(ls -A "$V/course" | wc -l)" 0
nsiso=$NSISO_PREFIX/sbin/nsiso
ex=$("$nsiso" explain "$s1" --config "$pol")
expect_match "explain: home = private, from [group]" "$ex" "^home += private +# $pol:[0-9]+:\[group $stu\]"
expect_match "explain: the private /home in the mount list" "$ex" "^  /home +tmpfs, read-only, holding only /home/$s1 \(home = private\)"
expect_match "explain: the course directory, read-only, expanded" "$ex" "^  $V/course +$D/courses/$stu, read-only$"
expect_match "explain: the sized tmpfs" "$ex" "^  $V/scratch +tmpfs of 2M, mode 1777$"
expect_match "explain: the hidden /srv" "$ex" "^  /srv +hidden: empty and read-only$"
expect_match "explain: the hidden file" "$ex" "^  $V/answers +hidden: empty and read-only$"
sh=$("$nsiso" show "$s1")
expect_match "show: the live private /home" "$sh" "^  /home +tmpfs +ro,"
expect_match "show: the live home bind" "$sh" "^  /home/$s1 +[a-z0-9]+ +rw,.* from (/home)?/$s1$"
expect_match "show: the live course bind, read-only" "$sh" "^  $V/course +[a-z0-9]+ +ro,.* from .*/courses/$stu$"
kill "$hold1" "$hold2" 2>/dev/null; wait "$hold1" "$hold2" 2>/dev/null

# ---- 6. refusals ------------------------------------------------------------------
# A symlink the tenant planted along a bind source.
ln -s /etc "/home/$s3/pub"; chown -h "$s3" "/home/$s3/pub"
printf '[user %s]\nbind_ro = /home/%s/pub:%s/course\n' "$s3" "$s3" "$V" >> "$pol"
out=$(t_ssh "$s3" -- 'echo ran' 2>&1); rc=$?
expect_ne "a bind source with a planted symlink: the login fails" "$rc" 0
expect_eq "the command never ran" "$(echo "$out" | grep -c '^ran$')" 0
expect_match "log: step mount, ELOOP, the path" "$(cat "$T_DIR/syslog")" \
	"refused: user=$s3 step=mount error=ELOOP errno=40 detail=\"bind_ro source /home/$s3/pub: a symlink along the path"
# ... and along a bind target (a directory of the tenant's, swapped for a link).
rm "/home/$s3/pub"; install -d -o "$s3" "/home/$s3/pub"
ln -s /etc "/home/$s3/door"; chown -h "$s3" "/home/$s3/door"
sed -i "s|^bind_ro = /home/$s3/pub:$V/course|bind_ro = /home/$s3/pub:/home/$s3/door/x|" "$pol"
out=$(t_ssh "$s3" -- 'echo ran' 2>&1); rc=$?
expect_ne "a bind target behind a planted symlink: the login fails" "$rc" 0
expect_match "log: step mount, ELOOP, the target" "$(cat "$T_DIR/syslog")" \
	"refused: user=$s3 step=mount error=ELOOP errno=40 detail=\"bind_ro target /home/$s3/door/x: a symlink along the path"
expect_eq "the host's /etc got no mount" "$(grep -c " /etc/x " /proc/self/mountinfo)" 0
# A source that exists for nobody yet (%u): refused at login with the path.
sed -i "s|^bind_ro = /home/$s3/pub:/home/$s3/door/x|bind_ro = $D/users/%u:$V/course|" "$pol"
out=$(t_ssh "$s3" -- 'echo ran' 2>&1); rc=$?
expect_ne "a bind source missing at login: the login fails" "$rc" 0
expect_match "log: step mount, ENOENT, the expanded source" "$(cat "$T_DIR/syslog")" \
	"refused: user=$s3 step=mount error=ENOENT errno=2 detail=\"bind_ro source $D/users/$s3\""
install -d -o "$s3" "$D/users/$s3"
expect_eq "with the source there the same login works" "$(t_ssh "$s3" -- "findmnt -n -o TARGET $V/course")" "$V/course"
# nsiso check knows a missing source without %.
sed -i "s|^bind_ro = $D/users/%u:$V/course|bind_ro = $D/nowhere:$V/course|" "$pol"
out=$("$nsiso" check --config "$pol" 2>&1); rc=$?
expect_eq "nsiso check fails for a missing bind source" "$rc" 1
expect_match "and names file, line and path" "$out" "^$pol:[0-9]+: bind_ro source $D/nowhere: No such file or directory$"
# home = private covers the directory of the homes with a tmpfs: the same
# rule as any view target (THREATS 57). A student whose home is in
# /var/lib (where host root writes) is refused, with the reason.
s4=nsvsd$tag
t_user "$s4" && usermod -g "$stu" "$s4" || exit 1
install -d -m 0755 "/var/lib/nsiso-view-$tag"
usermod -d "/var/lib/nsiso-view-$tag/$s4" -m "$s4"
out=$(t_ssh "$s4" -- 'echo ran' 2>/dev/null); rc=$?
expect_match "home = private with the home in /var/lib: refused, nothing ran" "$out" \
	'^nsiso: this session could not be isolated; please contact the administrator \(reference: [0-9-]+ [0-9:]+ mount\)$'
sleep 0.2
expect_match "log: step mount, EPERM, the directory and why" "$(grep "refused: user=$s4 " "$T_DIR/syslog" | tail -n 1)" \
	"step=mount error=EPERM errno=1 detail=\"home = private: the directory of the home /var/lib/nsiso-view-$tag/$s4 is refused: it is not under /home"
userdel -r -f "$s4" >/dev/null 2>&1
rm -rf "/var/lib/nsiso-view-$tag"
t_finish
