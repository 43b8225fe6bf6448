#!/bin/bash
# afs-fuse over the reference fixture: listings, reads, hidden names, view
# files, mode bits, access(2), symlinks, live reload, signals, the uid gate.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt
mkdir -p "$src/docs" "$src/src" "$src/deep/a/b" "$mnt"
printf '# README\nThis is a readme file.' >"$src/docs/readme.md"
echo secret >"$src/docs/secret.txt"
echo 'print(1)' >"$src/src/main.py"
echo 'def u(): pass' >"$src/src/utils.py"
chmod 0755 "$src/src/main.py"
echo 'k: v' >"$src/config.yaml"
echo hidden >"$src/other.txt"
head -c 1048576 /dev/urandom >"$src/docs/big.bin"
ln -s readme.md "$src/docs/link"
ln -s /etc "$src/docs/etc"
cp "$TOP/tests/policy/good/ref.yaml" "$T/ref.yaml"

afs_mount "$src" "$mnt" -p "$T/ref.yaml" || exit 1

is "root listing: hidden names absent" "config.yaml docs src" "$(ls "$mnt" | tr '\n' ' ' | sed 's/ $//')"
is "docs listing: secret.txt absent" "big.bin etc link readme.md" "$(ls "$mnt/docs" | tr '\n' ' ' | sed 's/ $//')"
is "read a write file" "$(printf '# README\nThis is a readme file.')" "$(cat "$mnt/docs/readme.md")"
is "seek and read" "README" "$(dd if="$mnt/docs/readme.md" bs=1 skip=2 count=6 status=none)"
if cmp -s "$src/docs/big.bin" "$mnt/docs/big.bin"; then ok "a 1 MiB file reads byte-exact"; else not_ok "a 1 MiB file reads byte-exact"; fi
is "read a read file" "print(1)" "$(cat "$mnt/src/main.py")"

errno_is "hidden file: stat ENOENT" ENOENT stat "$mnt/docs/secret.txt"
errno_is "hidden file: open ENOENT" ENOENT open-r "$mnt/docs/secret.txt"
errno_is "unmatched file (default none): ENOENT" ENOENT stat "$mnt/other.txt"
errno_is "hidden file: second stat (negative entry) ENOENT" ENOENT stat "$mnt/docs/secret.txt"
errno_is "view file: stat OK" OK stat "$mnt/config.yaml"
errno_is "view file: open for reading EACCES" EACCES open-r "$mnt/config.yaml"
errno_is "view file: open for writing EACCES" EACCES open-w "$mnt/config.yaml"
errno_is "read file: open for writing EACCES" EACCES open-w "$mnt/src/main.py"
errno_is "read file: open O_RDWR EACCES" EACCES open-rw "$mnt/src/main.py"
errno_is "read file: O_TRUNC EACCES" EACCES open-trunc "$mnt/src/main.py"
errno_is "read file: access(R_OK) OK" OK access-r "$mnt/src/main.py"
errno_is "read file: access(W_OK) EACCES" EACCES access-w "$mnt/src/main.py"
errno_is "read file with x bit: access(X_OK) OK" OK access-x "$mnt/src/main.py"
errno_is "read file without x bit: access(X_OK) EACCES" EACCES access-x "$mnt/src/utils.py"
errno_is "view file: access(R_OK) EACCES" EACCES access-r "$mnt/config.yaml"
errno_is "write file: access(W_OK) OK" OK access-w "$mnt/docs/readme.md"
errno_is "hidden file: access ENOENT" ENOENT access-r "$mnt/docs/secret.txt"
if [ -w "$mnt/src/main.py" ]; then not_ok "test -w on a read file is false for root"; else ok "test -w on a read file is false for root"; fi
is "mode bits: write file keeps the source bits" "644" "$(stat -c %a "$mnt/docs/readme.md")"
is "mode bits: read file loses w" "555" "$(stat -c %a "$mnt/src/main.py")"
is "mode bits: view file has none" "0" "$(stat -c %a "$mnt/config.yaml")"
is "mode bits: view directory (root, implicit) is 555" "555" "$(stat -c %a "$mnt")"
is "mode bits: read directory loses w" "555" "$(stat -c %a "$mnt/src")"
is "symlink presented as a link" "readme.md" "$(readlink "$mnt/docs/link")"
is "symlink resolved by the kernel in the caller's view" "# README" "$(head -n1 "$mnt/docs/link")"
is "sizes come from the source" "1048576" "$(stat -c %s "$mnt/docs/big.bin")"

# A directory of SOURCE swapped for a symlink under the live mount: the
# backing store is never reached through it.
mkdir "$src/swap"
echo inner >"$src/swap/f"
cat >"$T/all.yaml" <<'P'
version: 1
rules:
  - pattern: "**"
    permission: read
P
afs_umount "$mnt"
afs_mount "$src" "$mnt" -p "$T/all.yaml" || exit 1
is "before the swap: swap/f reads" "inner" "$(cat "$mnt/swap/f")"
mv "$src/swap" "$src/swap.real"
ln -s /etc "$src/swap"
errno_is "after the swap: swap/passwd is not /etc/passwd" ENOENT stat "$mnt/swap/passwd"
errno_is "after the swap: swap/f ENOENT" ENOENT open-r "$mnt/swap/f"
is "a symlink to /etc in SOURCE is presented as a link" "symbolic link" "$(stat -c %F "$mnt/docs/etc")"
is "its target is the link's text" "/etc" "$(readlink "$mnt/docs/etc")"

# Live reload: SIGHUP applies a new policy at once, a broken one is refused.
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: read\n  - pattern: /docs/readme.md\n    permission: none\n    priority: 9\n' >"$T/all.yaml"
errno_is "before reload: readme readable" OK open-r "$mnt/docs/readme.md"
ls "$mnt/docs" >/dev/null
kill -HUP "$fuse_pid"
sleep 0.5
errno_is "after SIGHUP: readme hidden at once" ENOENT stat "$mnt/docs/readme.md"
is "after SIGHUP: readme gone from the cached listing" "big.bin etc link secret.txt" "$(ls "$mnt/docs" | tr '\n' ' ' | sed 's/ $//')"
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$T/all.yaml"
kill -HUP "$fuse_pid"
sleep 0.5
errno_is "after a second SIGHUP: the hidden name comes back (negative entry forgotten)" OK stat "$mnt/docs/readme.md"
printf 'version: 1\nrules: [\n' >"$T/all.yaml"
kill -HUP "$fuse_pid"
sleep 0.5
errno_is "a broken policy on SIGHUP: the old one stays" OK stat "$mnt/docs/readme.md"
if grep -q 'policy reload failed: keeping the old policy' "$T/fuse.err"; then
	ok "a broken policy on SIGHUP is reported"
else
	not_ok "a broken policy on SIGHUP is reported"
fi
: >"$T/fuse.err"

# The uid gate: without --allow-uid the kernel refuses other users
# everything; with it, the daemon refuses the uids not named, for every
# request that reaches it (opens and listings always do).
# $T must be traversable for them, or the test would prove nothing.
chmod 0755 "$T"
as() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
is "another uid reaches the source dir outside the mount" OK "$(as 65534 probe open-r "$src/docs/readme.md")"
is "another uid: open EACCES" EACCES "$(as 65534 probe open-r "$mnt/docs/readme.md")"
is "another uid: listing EACCES" EACCES "$(as 65534 probe opendir "$mnt/docs")"
is "another uid: stat of a cached name EACCES (no allow_other without --allow-uid)" EACCES "$(as 65534 probe stat "$mnt/docs/readme.md")"


# SIGTERM unmounts and exits 0.
kill -TERM "$fuse_pid"
wait "$fuse_pid"
is "SIGTERM: exit 0" 0 "$?"
if mountpoint -q "$mnt"; then not_ok "SIGTERM: unmounted"; else ok "SIGTERM: unmounted"; fi

# Files whose setuid/setgid bits a write by an unprivileged uid drops, as
# the kernel drops them natively (afs-fuse does it for write-only opens,
# the kernel and afs-fuse for the others): 04777 loses setuid, 02777
# setgid, and 02767 too (setgid without group exec), the writer not being
# in the file's group.
mkdir "$T/nat"
for m in 4777 2777 2767; do
	for f in "$src/docs/w$m" "$src/docs/rw$m" "$T/nat/w$m" "$T/nat/rw$m"; do
		echo x >"$f"
		chmod "$m" "$f"
	done
done
afs_mount "$src" "$mnt" -p "$T/ref.yaml" --allow-uid 65534 || exit 1
is "--allow-uid: that uid may open" OK "$(as 65534 probe open-r "$mnt/docs/readme.md")"
is "--allow-uid: that uid may list" OK "$(as 65534 probe opendir "$mnt/docs")"
is "--allow-uid: another uid still may not open" EACCES "$(as 65533 probe open-r "$mnt/docs/readme.md")"
for m in 4777 2777 2767; do
	for d in "$T/nat" "$mnt/docs"; do
		as 65534 sh -c 'printf y >>"$1" && exec 3<>"$2" && printf z >&3' _ "$d/w$m" "$d/rw$m"
	done
	is "a write-only write by another uid: mode $m becomes as natively" \
		"$(stat -c %a "$T/nat/w$m") $(cat "$T/nat/w$m")" "$(stat -c %a "$mnt/docs/w$m") $(cat "$mnt/docs/w$m")"
	is "a read-write write by another uid: mode $m becomes as natively" \
		"$(stat -c %a "$T/nat/rw$m")" "$(stat -c %a "$mnt/docs/rw$m")"
done
is "natively, 4777 2777 2767 become 777 777 767" "777 777 767" \
	"$(stat -c %a "$T/nat/w4777") $(stat -c %a "$T/nat/w2777") $(stat -c %a "$T/nat/w2767")"
# The owner sets setuid again while a writer keeps the file open: the
# writer's next write drops it again.  A non-owner's chmod stays refused.
for d in "$T/nat" "$mnt/docs"; do
	rm -f "$T/go"
	mkfifo -m 666 "$T/go"
	as 65534 sh -c 'exec 3>>"$1"; printf a >&3; read x <"$2"; printf b >&3' _ "$d/w4777" "$T/go" &
	w=$!
	sleep 0.3
	chmod 4777 "$d/w4777"
	echo go >"$T/go"
	wait "$w"
done
is "setuid set again during an open: the next write drops it, as natively" \
	"777 777" "$(stat -c %a "$T/nat/w4777") $(stat -c %a "$mnt/docs/w4777")"
chmod 4777 "$T/nat/w4777" "$mnt/docs/w4777"
is "a non-owner's chmod that only drops setuid: EPERM, as natively" \
	"$(as 65534 probe chmod "$T/nat/w4777" 0777)" "$(as 65534 probe chmod "$mnt/docs/w4777" 0777)"
afs_umount "$mnt"

# -o policy= (fstab and mount units); a SOURCE with a comma in its name;
# readiness through $NOTIFY_SOCKET.
mkdir "$T/a,b"
echo c >"$T/a,b/f"
(cd "$T" && notify-listen "$T/notify" 10 >"$T/notify.out") &
listener=$!
for i in $(seq 50); do [ -S "$T/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify afs_mount "$T/a,b" "$mnt" -o "policy=$T/ref.yaml,ro" || exit 1
wait "$listener"
is "NOTIFY_SOCKET gets READY=1" "READY=1" "$(cat "$T/notify.out")"
errno_is "-o policy=: the policy applies (unmatched name hidden)" ENOENT stat "$mnt/f"
is "the mount table does not show SOURCE's path (the sandbox reads it)" "afs" "$(findmnt -n -o SOURCE "$mnt")"
afs_umount "$mnt"
afs_mount "$src" "$mnt" -o "policy=$T/ref.yaml,audit=$T/o.log" || exit 1
cat "$mnt/docs/readme.md" >/dev/null
afs_umount "$mnt"
is "-o audit=: the log has the open" 1 "$(grep -c '"op":"open","path":"/docs/readme.md"' "$T/o.log")"

# Relative paths, options after the operands (as mount.fuse3 passes them
# from fstab): SIGTERM still unmounts, nothing is left behind.
(cd "$T" && exec env --default-signal=INT,TERM afs-fuse -f src mnt -o "policy=$T/ref.yaml,ro" \
	--ready-fd 3 3>"$T/ready2" 2>"$T/rel.err") &
rel=$!
at_exit_kill "$rel"
for i in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
errno_is "relative paths, options last: mounted with the policy" ENOENT stat "$mnt/other.txt"
is "-o is not rewritten in the command line (ps shows it as given)" 1 \
	"$(tr '\0' '\n' <"/proc/$rel/cmdline" | grep -c "^policy=$T/ref.yaml,ro\$")"
kill -TERM "$rel"
wait "$rel"
is "relative paths: SIGTERM exits 0" 0 "$?"
if mountpoint -q "$mnt"; then not_ok "relative paths: unmounted"; else ok "relative paths: unmounted"; fi

# --spin: 0 (sleep at once) serves as well; bad values are usage errors.
afs_mount "$src" "$mnt" -p "$T/ref.yaml" --spin 0 || exit 1
is "--spin 0: a read" "$(printf '# README\nThis is a readme file.')" "$(cat "$mnt/docs/readme.md")"
# The kernel's read-ahead for the mount, raised at the first open (root).
is "read-ahead of the mount: 512 KiB after the first open" 512 \
	"$(cat "/sys/class/bdi/$(mountpoint -d "$mnt")/read_ahead_kb" 2>&1)"
afs_umount "$mnt"
for v in x -1 1000001 ''; do
	run timeout 10 afs-fuse -f --spin "$v" "$src" "$mnt"
	is "--spin '$v': exit 2 and a message" "2 afs-fuse: bad --spin: '$v'" "$rc $(cat "$T/err")"
done

# Start-up errors.
run timeout 10 afs-fuse -f "$T/no-such" "$mnt"
status_is "missing SOURCE: exit 1" 1
is "missing SOURCE: message" "afs-fuse: cannot open source '$T/no-such': No such file or directory" "$(cat "$T/err")"
run timeout 10 afs-fuse -f -p "$TOP/tests/policy/bad/syntax.yaml" "$src" "$mnt"
status_is "bad policy: exit 2" 2
run timeout 10 afs-fuse -f "$src" "$T/no-such-mnt"
status_is "missing MOUNTPOINT: exit 1" 1
is "missing MOUNTPOINT: message" "afs-fuse: cannot mount on '$T/no-such-mnt': No such file or directory" "$(cat "$T/err")"
# A directory without x bits in SOURCE is searched all the same (lookups in
# it work at every visible level): access(X_OK) says so at read and write
# too, not only at view (where its mode shows 0555).
mkdir -p "$T/nox/r/d" "$T/nox/w/d" "$T/nox-mnt"
echo f >"$T/nox/r/d/f"
echo f >"$T/nox/w/d/f"
chmod 0644 "$T/nox/r/d" "$T/nox/w/d"
printf 'version: 1\nrules:\n  - pattern: /r/**\n    permission: read\n  - pattern: /w/**\n    permission: write\n' >"$T/nox.yaml"
afs_mount "$T/nox" "$T/nox-mnt" -p "$T/nox.yaml" || exit 1
errno_is "a directory without x bits at read: access(X_OK) OK" OK access-x "$T/nox-mnt/r/d"
errno_is "... and a lookup in it works" OK stat "$T/nox-mnt/r/d/f"
errno_is "a directory without x bits at write: access(X_OK) OK" OK access-x "$T/nox-mnt/w/d"
afs_umount "$T/nox-mnt"
if mountpoint -q "$mnt"; then not_ok "nothing left mounted"; else ok "nothing left mounted"; fi
