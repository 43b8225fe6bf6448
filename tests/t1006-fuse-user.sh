#!/bin/bash
# afs-fuse as an ordinary user, through fusermount3.  This machine's
# /dev/fuse is 0600 (no udev); Debian's default is 0666: the test makes it
# so for its run and puts the mode back.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { skip "afs-fuse as an ordinary user" "the test needs root to set it up"; exit 0; }
mode=$(stat -c %a /dev/fuse)
trap 'chmod "$mode" /dev/fuse; _cleanup; exit $?' EXIT
chmod 0666 /dev/fuse
u=65534
as() { setpriv --reuid=$u --regid=$u --clear-groups "$@"; }

chmod 0755 "$T"
mkdir -p "$T/src/docs" "$T/mnt" "$T/u"
echo hi >"$T/src/docs/a"
echo s >"$T/src/.env"
chown -R $u:$u "$T/src" "$T/mnt" "$T/u"
mkfifo "$T/ready"
chown $u "$T/ready"
as env --default-signal=INT,TERM afs-fuse -f --ready-fd 3 -p agent-safe -d "$T/u/delta" "$T/src" "$T/mnt" \
	3>"$T/ready" 2>"$T/fuse.err" &
pid=$!
at_exit_kill "$pid"
at_exit_umount "$T/mnt"
read -r -t 10 line <"$T/ready" || diag "$(cat "$T/fuse.err")"
is "an ordinary user mounts through fusermount3" ready "$line"
is "the mount table names the user's mount" "user_id=$u" "$(grep " $T/mnt " /proc/self/mountinfo | grep -o "user_id=$u")"
is "the user reads through it" hi "$(as cat "$T/mnt/docs/a")"
is "the policy holds for the user" ENOENT "$(as probe stat "$T/mnt/.env")"
is "writes below write are refused" EACCES "$(as probe creat "$T/mnt/docs/new")"
is "root, another uid, is refused by the kernel (no allow_other)" EACCES "$(probe stat "$T/mnt/docs/a")"
as fusermount3 -u "$T/mnt"
wait "$pid"
is "fusermount3 -u: afs-fuse exits 0" 0 "$?"
if mountpoint -q "$T/mnt"; then not_ok "unmounted"; else ok "unmounted"; fi
