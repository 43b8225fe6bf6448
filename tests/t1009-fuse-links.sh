#!/bin/bash
# Hard links through afs-fuse, as a differential test: the same sequences of
# link, unlink, rename, chmod and write run in a native directory and in a
# full-access mount of a copy of the same fixture, with a delta and with
# --writethrough; names, link counts, which names share an inode, inode
# numbers kept across a first write and a link, and data must agree.  Files
# of SOURCE and files made in the mount both take part.  (git writes every
# object as a temporary file, links it to its name and unlinks the
# temporary one: before afs-fuse gave each name a node of its own, the
# object vanished with the temporary name.)
#
# Also the two POSIX differences a conformance suite found: a path of
# PATH_MAX - 1 bytes relative to the mount's root, and chmod of set-group-ID
# by an owner outside the file's group.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "hard links through afs-fuse" "needs root (a second uid for the set-group-ID check)"
	exit 0
fi

make_fixture() {
	mkdir -p "$1/objects" && cd "$1" || return 1
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf 'source %s\n' $i >s$i; done
	cd - >/dev/null
}

# The sequences, run in the current directory.  show NAME...: for each name
# its link count, size and content, or ENOENT; then which names share an
# inode, as classes (A, B, ...) so that native and afs output compare.
sequences() {
	show() {
		local n ino cls= seen=
		for n in "$@"; do
			if [ -e "$n" ]; then
				printf '%s nlink=%s size=%s %s' "$n" "$(stat -c %h "$n")" "$(stat -c %s "$n")" \
					"$(tr '\n' '|' <"$n")"
				ino=$(stat -c %i "$n")
				case " $seen " in
				*" $ino="*) cls=${seen##* $ino=}; cls=${cls%% *} ;;
				*) cls=$(printf "\\$(printf %03o $((65 + $(echo "$seen" | wc -w))))"); seen="$seen $ino=$cls" ;;
				esac
				printf ' inode=%s\n' "$cls"
			else
				printf '%s ENOENT\n' "$n"
			fi
		done
	}
	same_ino() { [ "$(stat -c %i "$1")" = "$2" ] && echo "$1: same inode" || echo "$1: inode changed"; }
	echo "== a file made here: link, unlink the first name, write, link again, rename"
	echo x >a1; ln a1 a2; show a1 a2
	rm a1; show a1 a2
	echo y >>a2; ln a2 a3; show a2 a3
	mv a3 a4; echo z >>a4; show a2 a3 a4
	rm a2 a4; show a2 a4
	echo "== git's object write: temporary name, link, unlink"
	printf obj >tmp_obj; ln tmp_obj objects/ab; rm tmp_obj; show tmp_obj objects/ab
	cat objects/ab; echo
	echo "== a file of SOURCE linked, then its first name removed"
	ln s1 s1b; show s1 s1b; rm s1; show s1 s1b
	echo "== a file of SOURCE linked, then written through the new name"
	ln s2 s2b; echo more >>s2b; show s2 s2b
	echo "== ... renamed, the first name removed"
	ln s3 s3b; mv s3b s3c; rm s3; show s3 s3b s3c
	echo "== the first name renamed, then written"
	ln s4 s4b; mv s4 s4c; echo w >>s4c; show s4 s4b s4c
	echo "== the link count of the first name, asked before and after the link"
	stat -c %h s5; ln s5 s5b; stat -c %h s5; rm s5b; stat -c %h s5
	echo "== inode numbers: kept by a link of a file of SOURCE (git clone checks it)"
	i=$(stat -c %i s6); ln s6 s6b; same_ino s6b "$i"; same_ino s6 "$i"
	echo "== ... and by a first write"
	i=$(stat -c %i s7); echo w >>s7; same_ino s7 "$i"
	echo "== a name read, the other name rewritten, the first read again"
	ln s8 s8b; cat s8b; echo new >s8; cat s8b; show s8 s8b
	echo "== chmod through one name shows through the other"
	ln s9 s9b; stat -c %a s9b; chmod 600 s9; stat -c %a s9b
	echo "== rename of a name onto its twin does nothing"
	echo t >t1; ln t1 t2; mv t1 t2; show t1 t2
	echo "== unlink every name but one"
	echo m >m1; ln m1 m2; ln m1 m3; ln m1 m4; rm m1 m3; show m1 m2 m3 m4
	echo "== a link put where a renamed file of SOURCE was: two files, two numbers"
	mv s10 s10.moved; ln -s elsewhere s10
	[ "$(stat -c %i s10)" = "$(stat -c %i s10.moved)" ] && echo "one inode" || echo "two inodes"
	mv s11 d11; mkdir s11
	[ "$(stat -c %i s11)" = "$(stat -c %i d11)" ] && echo "one inode" || echo "two inodes"
	echo "== rename of a file onto a link that shares nothing but a name's past"
	mv s12 s12.orig; ln -s s12.orig s12; python3 -c 'import os; os.rename("s12.orig", "s12")'
	stat -c %F s12; cat s12; [ -e s12.orig ] && echo "s12.orig still there" || echo "s12.orig gone"
	echo "== the directory"
	ls
}

make_fixture "$T/fixture" || exit 1
for d in native delta wt; do cp -a "$T/fixture" "$T/$d"; done
(cd "$T/native" && sequences) >"$T/native.out" 2>&1
m=$T/mnt
mkdir "$m"

afs_mount "$T/delta" "$m" -p full-access -d "$T/delta.d" || exit 1
(cd "$m" && sequences) >"$T/delta.out" 2>&1
same_file "with a delta: every sequence as in a native directory" "$T/native.out" "$T/delta.out"
afs_umount "$m"

afs_mount "$T/wt" "$m" -p full-access --writethrough || exit 1
(cd "$m" && sequences) >"$T/wt.out" 2>&1
same_file "with --writethrough: every sequence as in a native directory" "$T/native.out" "$T/wt.out"
afs_umount "$m"

# The delta holds the linked files once: both names, one inode.
is "the delta keeps s4b and s4c as one inode" \
	"$(stat -c %i "$T/delta.d/s4b")" "$(stat -c %i "$T/delta.d/s4c")"
is "the delta keeps no copy-up's bookkeeping where the mount shows it" "" \
	"$(cd "$T/delta.d" && find . -name '.wh..afs-tmp*')"

# A new mount of the same delta: the inode numbers hold, the names too.
afs_mount "$T/delta" "$m" -p full-access -d "$T/delta.d" || exit 1
is "a new mount: s6b still shows s6's first inode number" \
	"$(stat -c %i "$T/delta/s6")" "$(stat -c %i "$m/s6b")"
ops=$B/tests/helpers/posix-ops
is "the delta's own attribute is not shown" ENODATA "$("$ops" getxattr "$m/s6b" user.afs.origin)"
is "nor listed" "" "$(getfattr -d -m - --absolute-names "$m/s6b" 2>/dev/null | grep -v '^#' | grep .)"
is "nor set by the sandbox" EPERM "$("$ops" setxattr "$m/s6b" user.afs.origin 1:1)"
is "nor removed" EPERM "$("$ops" removexattr "$m/s6b" user.afs.origin)"
is "other user.* attributes are the sandbox's" OK "$("$ops" setxattr "$m/s6b" user.afsx 1)"
afs_umount "$m"

# --- the two POSIX differences --------------------------------------------------------------
mkdir -p "$T/px/out"
chown 65534:65534 "$T/px/out"
afs_mount "$T/px" "$m" -p full-access -d "$T/px.d" --allow-uid 65534 || exit 1
got=$(attack deepfile "$m" 0 4096)
is "a file whose path in the mount is 4096 bytes (PATH_MAX - 1 relative to the root) is made, read and stat'ed" \
	'OK OK DATA:deep\n' "$got"
got=$(attack deepfile "$m" 0 4097)
is "one byte more: ENAMETOOLONG" "ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG" "$got"
# chmod of set-group-ID by the owner, in and outside the file's group:
# outside, the bit is silently dropped (native, then the mount).
setgid_case() {	# DIR: prints the modes left
	local d=$1
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "umask 022; : >'$d/f'; mkdir '$d/d'"
	chgrp 5 "$d/f" "$d/d"
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "chmod 02755 '$d/f'; chmod 02750 '$d/d'"
	: >"$d/g"
	chown 65534:65534 "$d/g"
	setpriv --reuid=65534 --regid=65534 --clear-groups chmod 02755 "$d/g"
	stat -c '%n %a' "$d/f" "$d/d" "$d/g" | sed 's|.*/||'
}
chmod 711 "$T"	# uid 65534 walks to its directories
mkdir "$T/native-sg"
chown 65534:65534 "$T/native-sg"
is "native: set-group-ID dropped outside the group, kept inside (the expectation holds)" \
	"$(printf 'f 755\nd 750\ng 2755')" "$(setgid_case "$T/native-sg")"
is "the mount: set-group-ID dropped outside the group, kept inside" \
	"$(printf 'f 755\nd 750\ng 2755')" "$(setgid_case "$m/out")"
afs_umount "$m"
