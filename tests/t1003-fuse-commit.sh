#!/bin/bash
# afs-fuse --commit and --discard: exactly the delta is applied to SOURCE
# (or dropped), all of it or the paths given, and removed from DELTA.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt delta=$T/delta
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$T/all.yaml"
fixture() {
	rm -rf "$src" "$delta"
	mkdir -p "$src/docs" "$src/src/sub" "$src/keep" "$src/gone/deep" "$mnt"
	echo hello >"$src/docs/a.txt"
	echo code >"$src/src/x.c"
	echo deep >"$src/src/sub/y.c"
	echo k >"$src/keep/k"
	echo g >"$src/gone/deep/g"
	chmod 0640 "$src/docs/a.txt"
}
view() { (cd "$1" && find . -printf '%p %y %m\n' | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort); }
session() {
	afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
	echo more >>"$mnt/docs/a.txt"
	chmod 0600 "$mnt/docs/a.txt"
	echo new >"$mnt/docs/new.txt"
	rm -r "$mnt/src"
	mkdir "$mnt/src"
	echo fresh >"$mnt/src/f"
	rm "$mnt/keep/k"
	mkdir -p "$mnt/n/e/w"
	echo w >"$mnt/n/e/w/f"
	ln -s ../docs/a.txt "$mnt/n/link"
	mv "$mnt/gone" "$mnt/moved"
	view "$mnt" >"$T/mounted"
	afs_umount "$mnt"
}

fixture
session
run afs-fuse --commit --delta "$delta" "$src"
status_is "commit all: exit 0" 0
is "commit all: silent" "" "$(cat "$T/out" "$T/err")"
view "$src" >"$T/committed"
same_file "commit all: SOURCE is now what the mount showed" "$T/mounted" "$T/committed"
is "commit all: the delta is empty" "" "$(ls -A "$delta")"
is "commit all: a file's mode and content" "600
hello
more" "$(stat -c %a "$src/docs/a.txt"; cat "$src/docs/a.txt")"
is "commit all: a symlink stays a symlink" "../docs/a.txt" "$(readlink "$src/n/link")"

fixture
view "$src" >"$T/orig"
session
run afs-fuse --commit --delta "$delta" "$src" /docs/new.txt /n
status_is "commit some paths: exit 0" 0
is "commit some paths: the file" "new" "$(cat "$src/docs/new.txt")"
is "commit some paths: a new tree" "w" "$(cat "$src/n/e/w/f")"
is "commit some paths: other changes not applied" "hello" "$(cat "$src/docs/a.txt")"
is "commit some paths: a deletion not selected stays undone" "k" "$(cat "$src/keep/k")"
if [ -e "$delta/docs/new.txt" ] || [ -e "$delta/n" ]; then not_ok "commit some paths: applied changes left the delta"; else ok "commit some paths: applied changes left the delta"; fi
if [ -f "$delta/keep/.wh.k" ] && [ -f "$delta/docs/a.txt" ]; then ok "commit some paths: the rest stays in the delta"; else not_ok "commit some paths: the rest stays in the delta"; fi
run afs-fuse --commit --delta "$delta" "$src" /keep/k
status_is "commit a deletion: exit 0" 0
errno_is "commit a deletion: the file is gone from SOURCE" ENOENT stat "$src/keep/k"
run afs-fuse --commit --delta "$delta" "$src" /src
is "commit an opaque directory: old content gone, new there" "f" "$(ls "$src/src")"

run afs-fuse --commit --delta "$delta" "$src" /nothing/here /docs/a.txt
status_is "a path with no change: exit 1" 1
is "a path with no change: message" "afs-fuse: '/nothing/here' has no change in the delta '$delta'" "$(cat "$T/err")"
is "a path with no change: nothing applied" "hello" "$(cat "$src/docs/a.txt")"

run afs-fuse --discard --delta "$delta" "$src" /docs/a.txt
status_is "discard a path: exit 0" 0
if [ -e "$delta/docs/a.txt" ]; then not_ok "discard a path: dropped from the delta"; else ok "discard a path: dropped from the delta"; fi
is "discard a path: SOURCE untouched" "hello" "$(cat "$src/docs/a.txt")"
run afs-fuse --discard --delta "$delta" "$src"
status_is "discard all: exit 0" 0
is "discard all: the delta is empty" "" "$(ls -A "$delta")"
if [ -d "$src/gone" ]; then ok "discard all: the undone rename leaves SOURCE as it was"; else not_ok "discard all: the undone rename leaves SOURCE as it was"; fi

# A SOURCE directory swapped for a symlink: commit never writes through it.
fixture
session
mkdir "$T/outside"
mv "$src/docs" "$src/docs.real"
ln -s "$T/outside" "$src/docs"
run afs-fuse --commit --delta "$delta" "$src" /docs
is "commit over a symlinked SOURCE dir: a conflict (SOURCE replaced the directory), exit 3" \
	"3 afs-fuse: conflict: /docs: SOURCE replaced it with another type since the delta's base; the delta modifies it" \
	"$rc $(head -n 1 "$T/err")"
is "commit over a symlinked SOURCE dir: nothing written through the link" "" "$(ls -A "$T/outside")"
run afs-fuse --commit --force --delta "$delta" "$src" /docs
status_is "commit --force over a symlinked SOURCE dir: exit 0" 0
is "commit --force over a symlinked SOURCE dir: nothing written through the link" "" "$(ls -A "$T/outside")"
if [ -d "$src/docs" ] && [ ! -L "$src/docs" ]; then ok "commit over a symlinked SOURCE dir: the link is replaced by a directory"; else not_ok "commit over a symlinked SOURCE dir: the link is replaced by a directory"; fi

# Usage.
run afs-fuse --commit "$src"
status_is "--commit without --delta: exit 2" 2
run afs-fuse --commit --delta "$delta"
status_is "--commit without SOURCE: exit 2" 2
run afs-fuse --commit --discard --delta "$delta" "$src"
status_is "--commit with --discard: exit 2" 2
run afs-fuse --commit --delta "$delta" "$src" relative/path
status_is "a relative PATH: exit 2" 2
run afs-fuse --commit --delta "$T/no-such" "$src"
status_is "a missing delta: exit 1" 1
run afs-fuse --discard --delta "$delta" "$T/no-such-source"
status_is "--discard with a missing SOURCE: exit 1" 1

# user.* attributes are committed with the file.
fixture
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
echo x >"$mnt/docs/attr.txt"
setfattr -n user.note -v committed "$mnt/docs/attr.txt"
afs_umount "$mnt"
run afs-fuse --commit --delta "$delta" "$src" /docs/attr.txt
is "commit keeps user.* attributes" "committed" "$(getfattr --only-values -n user.note "$src/docs/attr.txt" 2>/dev/null)"
