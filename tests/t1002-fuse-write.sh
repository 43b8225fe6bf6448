#!/bin/bash
# Writes through afs-fuse: the errno contract of afs-fuse(1) LEVELS AND
# ERRORS for every level and op family, and what lands in the delta (never
# in SOURCE).
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt delta=$T/delta
mkdir -p "$src/docs/sub" "$src/src" "$src/out" "$mnt"
printf '# README\nThis is a readme file.' >"$src/docs/readme.md"
echo secret >"$src/docs/secret.txt"
echo 'print(1)' >"$src/src/main.py"
echo 'k: v' >"$src/config.yaml"
echo inner >"$src/docs/sub/inner.txt"
echo old >"$src/out/old.txt"
snapshot() { (cd "$src" && find . -printf '%p %M %s %T@\n' | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort); }
snapshot >"$T/before"

cat >"$T/p.yaml" <<'P'
version: 1
default: none
rules:
  - pattern: /docs/secret.txt
    type: file
    permission: none
    priority: 100
  - pattern: /docs
    type: directory
    permission: write
  - pattern: /src
    type: directory
    permission: read
  - pattern: /config.yaml
    type: file
    permission: view
  - pattern: /out
    type: directory
    permission: write
  - pattern: "**/.env*"
    permission: none
    priority: 100
P
afs_mount "$src" "$mnt" -p "$T/p.yaml" -d "$delta" || exit 1
m=$mnt

# --- write level: everything works, into the delta ---------------------------
echo added >>"$m/docs/readme.md"
is "write: append" "$(printf '# README\nThis is a readme file.added')" "$(cat "$m/docs/readme.md")"
echo new >"$m/docs/new.txt"
is "write: create" "new" "$(cat "$m/docs/new.txt")"
mkdir "$m/docs/d"
errno_is "write: mkdir" OK stat "$m/docs/d"
errno_is "write: mkfifo" OK mkfifo "$m/docs/fifo"
errno_is "write: a device node is EPERM" EPERM mknod-dev "$m/docs/dev"
errno_is "write: symlink" OK symlink "$m/docs/ln" readme.md
is "write: the link reads through" "# README" "$(head -n1 "$m/docs/ln")"
errno_is "write: hard link of a write file" OK link "$m/docs/new.txt" "$m/docs/new2.txt"
errno_is "write: chmod" OK chmod "$m/docs/new.txt"
is "write: chmod shows" "777" "$(stat -c %a "$m/docs/new.txt")"
errno_is "write: truncate" OK truncate "$m/docs/new2.txt"
is "write: truncate through a hard link truncates both" "0" "$(stat -c %s "$m/docs/new.txt")"
errno_is "write: setxattr user." OK setxattr "$m/docs/readme.md"
is "write: getxattr user." "1" "$(getfattr --only-values -n user.afs "$m/docs/readme.md" 2>/dev/null)"
errno_is "write: unlink a source file" OK unlink "$m/docs/readme.md"
errno_is "write: the unlinked file is gone" ENOENT stat "$m/docs/readme.md"
is "write: and gone from the listing" "d fifo ln new.txt new2.txt sub" "$(ls "$m/docs" | tr '\n' ' ' | sed 's/ $//')"
echo back >"$m/docs/readme.md"
is "write: a deleted name can be made again, without its old content" "back" "$(cat "$m/docs/readme.md")"
rm -r "$m/docs/sub"
errno_is "write: rm -r of a source directory" ENOENT stat "$m/docs/sub"
mkdir "$m/docs/sub"
is "write: mkdir over a deleted directory starts empty" "" "$(ls -A "$m/docs/sub")"
errno_is "write: rename a file" OK rename "$m/out/old.txt" "$m/out/renamed.txt"
is "write: renamed content" "old" "$(cat "$m/out/renamed.txt")"
errno_is "write: the old name is gone" ENOENT stat "$m/out/old.txt"
mkdir -p "$m/docs/tree/a"
echo t >"$m/docs/tree/a/f"
errno_is "write: rename of a directory is EXDEV (mv copies it file by file)" EXDEV rename "$m/docs/tree" "$m/out/tree"
mv "$m/docs/tree" "$m/out/tree"
is "write: mv of a directory works all the same" "t" "$(cat "$m/out/tree/a/f")"
errno_is "write: mv removed the old directory" ENOENT stat "$m/docs/tree"
errno_is "write: rmdir of a non-empty directory" ENOTEMPTY rmdir "$m/out/tree"

# --- read level ---------------------------------------------------------------
errno_is "read: open for writing EACCES" EACCES open-w "$m/src/main.py"
errno_is "read: O_TRUNC EACCES" EACCES open-trunc "$m/src/main.py"
errno_is "read: truncate EACCES" EACCES truncate "$m/src/main.py"
errno_is "read: chmod EACCES" EACCES chmod "$m/src/main.py"
errno_is "read: setxattr EACCES" EACCES setxattr "$m/src/main.py"
errno_is "read: unlink EACCES" EACCES unlink "$m/src/main.py"
errno_is "read: rename away EACCES" EACCES rename "$m/src/main.py" "$m/docs/main.py"
errno_is "read: rename onto it EACCES" EACCES rename "$m/docs/new.txt" "$m/src/main.py"
errno_is "read: create in a read directory EACCES" EACCES creat "$m/src/new.py"
errno_is "read: mkdir in a read directory EACCES" EACCES mkdir "$m/src/newdir"
errno_is "read: hard link of a read file EACCES (a writable alias)" EACCES link "$m/src/main.py" "$m/docs/alias"
errno_is "read: mmap PROT_WRITE MAP_SHARED EACCES" EACCES mmap-write "$m/src/main.py"
errno_is "read: a device node is EPERM" EPERM mknod-dev "$m/src/dev"
if [ -w "$m/src/main.py" ]; then not_ok "read: test -w is false"; else ok "read: test -w is false"; fi

# --- view and none ------------------------------------------------------------
errno_is "view: open for writing EACCES" EACCES open-w "$m/config.yaml"
errno_is "view: chmod EACCES" EACCES chmod "$m/config.yaml"
errno_is "view: unlink EACCES" EACCES unlink "$m/config.yaml"
errno_is "none: unlink ENOENT" ENOENT unlink "$m/docs/secret.txt"
errno_is "none: rename ENOENT" ENOENT rename "$m/docs/secret.txt" "$m/docs/s2"
errno_is "none: create of an existing hidden name EACCES" EACCES creat "$m/docs/secret.txt"
errno_is "none: mkdir over an existing hidden name EACCES" EACCES mkdir "$m/docs/secret.txt"
errno_is "none: create of a new hidden name (.env) EACCES" EACCES creat "$m/docs/.env"
errno_is "none: symlink onto a hidden name EACCES" EACCES symlink "$m/docs/.env.local" x
errno_is "none: rename onto a hidden name EACCES" EACCES rename "$m/docs/new.txt" "$m/docs/.env"
errno_is "none: link onto a hidden name EACCES" EACCES link "$m/docs/new.txt" "$m/docs/.env"
errno_is "none: create in an unmatched (hidden) directory ENOENT" ENOENT creat "$m/hidden/x"
errno_is "none: create at the root (unmatched) EACCES" EACCES creat "$m/rootfile"
errno_is "format names cannot be made" EINVAL creat "$m/docs/.wh.x"

# --- five readers and writers at once ---------------------------------------------
head -c 1048576 /dev/urandom >"$T/big"
for i in 1 2 3 4 5; do
	(cp "$T/big" "$m/out/w$i" && cmp -s "$T/big" "$m/out/w$i" && cmp -s "$T/big" "$m/out/w$i" && echo ok) >"$T/par$i" &
done
wait $(jobs -p | grep -v "^$fuse_pid\$") 2>/dev/null
is "5 concurrent writers and readers, 1 MiB each, byte-exact" "ok ok ok ok ok" "$(cat "$T"/par[1-5] | tr '\n' ' ' | sed 's/ $//')"

afs_umount "$mnt"

# --- the delta on disk ---------------------------------------------------------
snapshot >"$T/after"
same_file "SOURCE is byte-for-byte unchanged" "$T/before" "$T/after"
is "delta: a whiteout for the deleted readme? no: it was made again" "back" "$(cat "$delta/docs/readme.md")"
if [ -f "$delta/out/.wh.old.txt" ] && [ ! -s "$delta/out/.wh.old.txt" ]; then ok "delta: renamed-away source file has an empty whiteout"; else not_ok "delta: renamed-away source file has an empty whiteout"; fi
if [ -f "$delta/docs/sub/.wh..wh..opq" ]; then ok "delta: a directory made over a deleted one is opaque"; else not_ok "delta: a directory made over a deleted one is opaque"; fi
is "delta: new files as themselves" "" "$(cat "$delta/docs/new.txt")"
if [ -e "$delta/src" ]; then not_ok "delta: nothing for the read-only directory"; else ok "delta: nothing for the read-only directory"; fi
is "delta: no temporary names left" "" "$(find "$delta" -name '.wh..afs-tmp*')"

# --- the delta persists and is reused -------------------------------------------
afs_mount "$src" "$mnt" -p "$T/p.yaml" -d "$delta" || exit 1
is "a reused delta: writes are back" "back" "$(cat "$mnt/docs/readme.md")"
errno_is "a reused delta: deletions are back" ENOENT stat "$mnt/out/old.txt"
afs_umount "$mnt"

# --- two mounts of one SOURCE, each with its own delta ------------------------------
mkdir -p "$T/m1" "$T/m2"
afs_mount "$src" "$T/m1" -p "$T/p.yaml" -d "$T/d1" || exit 1
p1=$fuse_pid
afs_mount "$src" "$T/m2" -p "$T/p.yaml" -d "$T/d2" || exit 1
p2=$fuse_pid
echo one >"$T/m1/docs/readme.md"
rm "$T/m2/out/old.txt"
is "two mounts: the first sees its write" "one" "$(cat "$T/m1/docs/readme.md")"
is "two mounts: the second does not" "$(printf '# README\nThis is a readme file.')" "$(cat "$T/m2/docs/readme.md")"
errno_is "two mounts: the first still has the file the second deleted" OK stat "$T/m1/out/old.txt"
fuse_pid=$p2 afs_umount "$T/m2"
fuse_pid=$p1 afs_umount "$T/m1"

# --- a private delta is removed at unmount; --writethrough writes SOURCE ------------
export TMPDIR=$T/tmp
mkdir "$TMPDIR"
afs_mount "$src" "$mnt" -p "$T/p.yaml" || exit 1
echo x >"$mnt/docs/private.txt"
is "private delta: made under \$TMPDIR" 1 "$(ls "$TMPDIR" | grep -c '^afs-delta\.')"
afs_umount "$mnt"
is "private delta: removed at unmount" "" "$(ls -A "$TMPDIR")"
unset TMPDIR
cp -a "$src" "$T/wt"
afs_mount "$T/wt" "$mnt" -p "$T/p.yaml" --writethrough || exit 1
echo direct >"$mnt/docs/readme.md"
rm "$mnt/out/old.txt"
afs_umount "$mnt"
is "--writethrough: the write is in SOURCE" "direct" "$(cat "$T/wt/docs/readme.md")"
if [ -e "$T/wt/out/old.txt" ]; then not_ok "--writethrough: the delete is in SOURCE"; else ok "--writethrough: the delete is in SOURCE"; fi
is "--writethrough: no whiteouts" "" "$(find "$T/wt" -name '.wh.*')"
run timeout 10 afs-fuse -f -d "$delta" --writethrough "$src" "$mnt"
status_is "--delta with --writethrough: exit 2" 2

# user.* attributes survive copy-up; access(2) answers what open(2) does.
rm -rf "$T/x"
mkdir -p "$T/x/src" "$T/x/mnt"
echo data >"$T/x/src/f"
echo ro >"$T/x/src/ro"
chmod 0444 "$T/x/src/ro"
setfattr -n user.tag -v kept "$T/x/src/f"
afs_mount "$T/x/src" "$T/x/mnt" -p full-access -d "$T/x/delta" || exit 1
echo more >>"$T/x/mnt/f"
is "copy-up keeps user.* attributes" "kept" "$(getfattr --only-values -n user.tag "$T/x/mnt/f" 2>/dev/null)"
errno_is "a 0444 file at write: access(W_OK) is OK" OK access-w "$T/x/mnt/ro"
errno_is "a 0444 file at write: open for writing is OK too" OK open-w "$T/x/mnt/ro"
afs_umount "$T/x/mnt"
is "the delta's copy has the attribute" "kept" "$(getfattr --only-values -n user.tag "$T/x/delta/f" 2>/dev/null)"
