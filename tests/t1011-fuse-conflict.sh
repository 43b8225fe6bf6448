#!/bin/bash
# Commit that loses nothing: the delta's base journal, conflicts with what
# SOURCE did meanwhile (afs-audit diff C, afs-fuse --commit exit 3, --force,
# committing the rest by name), and deltas without a journal.
# afs-fuse(1) "Conflicts with SOURCE" has the table each case here is from.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt delta=$T/delta
mkdir -p "$mnt"
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$T/all.yaml"

# ---- the issue's own story -------------------------------------------------
mkdir "$src"
printf 'line1\nline2\n' >"$src/a.txt"
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
is "the journal is not in the view" "a.txt" "$(ls -A "$mnt")"
errno_is "the journal cannot be looked up" ENOENT stat "$mnt/.wh..wh..afs.base"
errno_is "nor made" EINVAL creat "$mnt/.wh..wh..afs.base"
echo agent >>"$mnt/a.txt"
afs_umount "$mnt"
echo human >>"$src/a.txt"
run afs-audit diff "$src" "$delta"
is "diff: the path both changed is C" "0 C	/a.txt" "$rc $(cat "$T/out")"
run afs-fuse --commit -d "$delta" "$src"
is "commit: refused, exit 3" 3 "$rc"
is "commit: what it says" "afs-fuse: conflict: /a.txt: SOURCE modified it since the delta's base; the delta modifies it
afs-fuse: nothing applied: 1 conflict with SOURCE (afs-audit diff -u shows both sides; --force applies over them; naming other paths commits those)" "$(cat "$T/err")"
is "commit: the developer's line is kept" "line1
line2
human" "$(cat "$src/a.txt")"
is "commit: the change is still in the delta" "line1
line2
agent" "$(cat "$delta/a.txt")"
run afs-fuse --commit --force -d "$delta" "$src"
is "commit --force: exit 0, the conflict said as a warning" \
	"0 afs-fuse: warning: applied over a conflict: /a.txt: SOURCE modified it since the delta's base; the delta modifies it" \
	"$rc $(cat "$T/err")"
is "commit --force: the delta's version" "line1
line2
agent" "$(cat "$src/a.txt")"
is "commit --force: the delta is empty, its journal gone too" "" "$(ls -A "$delta")"
run afs-fuse --discard --force -d "$delta" "$src"
is "--force without --commit: exit 2" "2 afs-fuse: --force is for --commit" "$rc $(cat "$T/err")"

# ---- every case of the table, each at its own path -------------------------
rm -rf "$src" "$delta"
mkdir -p "$src"
for p in p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13 p14; do echo base >"$src/$p"; done
echo target >"$src/t"
ln -s t "$src/p15"
for d in d1 d2 d3 d4 d5 d6 d7 d8 d9 d10 d11 d12 d13; do
	mkdir "$src/$d"
	echo x >"$src/$d/x"
	echo y >"$src/$d/y"
done
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
m=$mnt
echo d >"$m/a1"
echo d >"$m/a2"
echo same >"$m/a3"
echo d >"$m/a4"
for p in p1 p2 p3 p4 p9 p10; do echo delta >>"$m/$p"; done
rm "$m/p5" "$m/p6" "$m/p7" "$m/p8"
for p in p11 p12; do rm "$m/$p" && mkdir "$m/$p" && echo f >"$m/$p/f"; done
echo over13 >"$m/n13" && mv "$m/n13" "$m/p13"
echo over14 >"$m/n14" && mv "$m/n14" "$m/p14"
rm "$m/p15" && ln -s other "$m/p15"
for d in d1 d2 d3 d4; do rm -r "$m/$d"; done
for d in d5 d6 d7 d8; do rm -r "$m/$d" && mkdir "$m/$d" && echo n >"$m/$d/n"; done
echo new >"$m/d9/new"
echo delta >>"$m/d10/x"
for d in d11 d12; do rm -r "$m/$d" && echo file >"$m/$d"; done
rm -r "$m/d13" && mkdir "$m/d13" && echo new >"$m/d13/x"
afs_umount "$mnt"
# Meanwhile, in SOURCE:
s=$src
echo s >"$s/a2"
echo same >"$s/a3"
mkdir "$s/a4"
echo src >>"$s/p2"
rm "$s/p3"
rm "$s/p4" && mkdir "$s/p4"
echo src >>"$s/p6"
rm "$s/p7"
rm "$s/p8" && ln -s t "$s/p8"
touch -d '2001-01-01' "$s/p9"
cp "$s/p10" "$s/p10.new" && mv "$s/p10.new" "$s/p10"
echo src >>"$s/p12"
echo src >>"$s/p13"
echo z >"$s/d2/z"
echo src >>"$s/d3/x"
rm -r "$s/d4"
echo z >"$s/d6/z"
echo src >>"$s/d7/x"
rm -r "$s/d8" "$s/d9"
rm -r "$s/d10" && echo file >"$s/d10"
echo z >"$s/d11/z"

run afs-audit diff "$src" "$delta"
is "diff: the letter of every case" "0 A	/a1
C	/a2
C	/a4
D	/d1
C	/d10
C	/d10/x
T	/d11
C	/d11/z
T	/d12
M	/d13/x
D	/d13/y
D	/d2
C	/d2/z
D	/d3
C	/d3/x
A	/d5/n
D	/d5/x
D	/d5/y
A	/d6/n
D	/d6/x
D	/d6/y
C	/d6/z
A	/d7/n
C	/d7/x
D	/d7/y
A	/d8
A	/d8/n
C	/d9
A	/d9/new
M	/p1
M	/p10
T	/p11
A	/p11/f
C	/p12
A	/p12/f
C	/p13
M	/p14
M	/p15
C	/p2
C	/p3
C	/p4
D	/p5
C	/p6
C	/p8
M	/p9" "$rc $(LC_ALL=C sort -k2 "$T/out")"
run afs-audit diff --json "$src" "$delta"
is "diff --json: a conflict" '{"path":"/d10","change":"C","delta":"M","source":"retyped"}' "$(grep '"/d10"' "$T/out")"
is "diff --json: a plain change" '{"path":"/p1","change":"M"}' "$(grep '"/p1"' "$T/out")"
is "diff --json: one line per path" 45 "$(wc -l <"$T/out")"

view() { (cd "$1" && find . -path ./.wh..wh..afs.base -prune -o -printf '%p %y %l\n' | LC_ALL=C sort &&
	find . -type f ! -name .wh..wh..afs.base -exec md5sum {} + | LC_ALL=C sort); }
view "$src" >"$T/src.before"
view "$delta" >"$T/delta.before"
run afs-fuse --commit -d "$delta" "$src"
is "commit all: exit 3" 3 "$rc"
sed -n 's/^afs-fuse: conflict: //p' "$T/err" >"$T/conflicts"
cat >"$T/want" <<'EOF'
/a2: SOURCE created it since the delta's base; the delta adds it
/a4: SOURCE created it since the delta's base; the delta adds it
/d10: SOURCE replaced it with another type since the delta's base; the delta modifies it
/d10/x: SOURCE removed it since the delta's base; the delta modifies it
/d11/z: SOURCE created it since the delta's base; the delta deletes it
/d2/z: SOURCE created it since the delta's base; the delta deletes it
/d3/x: SOURCE modified it since the delta's base; the delta deletes it
/d6/z: SOURCE created it since the delta's base; the delta deletes it
/d7/x: SOURCE modified it since the delta's base; the delta deletes it
/d9: SOURCE removed it since the delta's base; the delta modifies it
/p12: SOURCE modified it since the delta's base; the delta replaces it with another type
/p13: SOURCE modified it since the delta's base; the delta modifies it
/p2: SOURCE modified it since the delta's base; the delta modifies it
/p3: SOURCE removed it since the delta's base; the delta modifies it
/p4: SOURCE replaced it with another type since the delta's base; the delta modifies it
/p6: SOURCE modified it since the delta's base; the delta deletes it
/p8: SOURCE replaced it with another type since the delta's base; the delta deletes it
EOF
same_file "commit all: each conflict, sorted, with what each side did" "$T/want" "$T/conflicts"
is "commit all: the count" "afs-fuse: nothing applied: 17 conflicts with SOURCE (afs-audit diff -u shows both sides; --force applies over them; naming other paths commits those)" "$(tail -n 1 "$T/err")"
view "$src" >"$T/src.after"
view "$delta" >"$T/delta.after"
same_file "commit all: SOURCE untouched" "$T/src.before" "$T/src.after"
same_file "commit all: the delta untouched" "$T/delta.before" "$T/delta.after"

run afs-fuse --commit -d "$delta" "$src" /a2 /p1
is "commit of paths one of which conflicts: exit 3, nothing applied" "3 base" \
	"$rc $(cat "$src/p1")"

run afs-fuse --commit -d "$delta" "$src" /a1 /a3 /p1 /p5 /p7 /p9 /p10 /p11 /p14 /p15 /d1 /d4 /d5 /d8 /d12 /d13
is "commit of the rest by name: exit 0, silent" "0 " "$rc $(cat "$T/err")"
is "the rest: applied" "d same base delta - base delta base delta f over14 other - - n n" \
	"$(cat "$s/a1" "$s/a3" "$s/p1" | tr '\n' ' ')$(test -e "$s/p5" || echo -n '- ')$(cat "$s/p9" "$s/p10" "$s/p11/f" "$s/p14" | tr '\n' ' ')$(readlink "$s/p15") $(test -e "$s/d1" || echo -n '- ')$(test -e "$s/d4" || echo -n '- ')$(ls "$s/d5" | tr '\n' ' ')$(cat "$s/d8/n")"
is "the rest: a directory the delta replaced with a file" "file" "$(cat "$s/d12")"
is "the rest: a replaced directory with a new entry of an old name" "x new" "$(ls "$s/d13") $(cat "$s/d13/x")"
run afs-audit diff "$src" "$delta"
is "after it, diff shows the conflicts and what they hold up" "0 C	/a2
C	/a4
C	/d10
C	/d10/x
T	/d11
C	/d11/z
D	/d2
C	/d2/z
D	/d3
C	/d3/x
A	/d6/n
D	/d6/x
D	/d6/y
C	/d6/z
A	/d7/n
C	/d7/x
D	/d7/y
C	/d9
A	/d9/new
C	/p12
A	/p12/f
C	/p13
C	/p2
C	/p3
C	/p4
C	/p6
C	/p8" "$rc $(LC_ALL=C sort -k2 "$T/out")"
is "the journal keeps only the records still needed" \
	"/d10 /d10/x /d11 /d11/x /d11/y /d2 /d2/x /d2/y /d3 /d3/x /d3/y /d6 /d6/x /d6/y /d7 /d7/x /d7/y /d9 /p12 /p13 /p2 /p3 /p4 /p6 /p8 " \
	"$(tail -n +2 "$delta/.wh..wh..afs.base" | cut -f1 | LC_ALL=C sort | tr '\n' ' ')"

run afs-fuse --commit --force -d "$delta" "$src"
is "commit --force of the conflicts: exit 0, one warning each" "0 17" \
	"$rc $(grep -c '^afs-fuse: warning: applied over a conflict: ' "$T/err")"
is "commit --force: the delta's versions won" "d d delta-src delta f over13 - x n -" \
	"$(cat "$s/a2" "$s/a4" | tr '\n' ' ')$(tail -n 1 "$s/p2")-src $(tail -n 1 "$s/p3") $(cat "$s/p12/f" "$s/p13" | tr '\n' ' ')$(test -e "$s/d2" || echo -n '- ')$(find "$s/d6" "$s/d7" -name x | grep -c . | sed 's/0/x/') $(cat "$s/d6/n") $(test -e "$s/p8" || echo -n '-')"
is "commit --force: a directory replaced with a file, over what SOURCE made in it" "file" "$(cat "$s/d11")"
is "commit --force: the delta is empty" "" "$(ls -A "$delta")"

# ---- a delta without a journal (begun by an older afs-fuse) ------------------
rm -rf "$src" "$delta"
mkdir -p "$src"
echo base >"$src/f"
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
echo delta >>"$mnt/f"
afs_umount "$mnt"
rm "$delta/.wh..wh..afs.base"
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
echo g >"$mnt/g"
afs_umount "$mnt"
if [ -e "$delta/.wh..wh..afs.base" ]; then
	not_ok "a delta with changes and no journal gets none"
else
	ok "a delta with changes and no journal gets none"
fi
echo src >>"$src/f"
run afs-audit diff --stat "$src" "$delta"
is "diff without a journal: no C, and it says why" " M /f | +1 -1
 A /g | +1 -0 mode 0644
 2 paths changed, 2 insertions(+), 1 deletions(-)
(the delta has no base journal: what SOURCE changed since cannot be told)" "$(cat "$T/out")"
run afs-fuse --commit -d "$delta" "$src"
is "commit without a journal: as before, with a warning" \
	"0 afs-fuse: warning: the delta '$delta' has no base journal (begun by an afs-fuse that kept none): what SOURCE changed since cannot be seen, and is overwritten" \
	"$rc $(cat "$T/err")"
is "commit without a journal: applied" "base delta g" "$(cat "$src/f" "$src/g" | tr '\n' ' ' | sed 's/ $//')"

# A journal whose last record was cut short (a crash mid-write): the next
# mount ends that line, and the records after it are read.
rm -rf "$src" "$delta"
mkdir -p "$src" "$delta"
echo base >"$src/f"
echo base >"$src/h"
printf 'afs-base 1\n/zz\tf 1 2' >"$delta/.wh..wh..afs.base"
chmod 0600 "$delta/.wh..wh..afs.base"
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
echo delta >>"$mnt/f"
afs_umount "$mnt"
is "a torn record: ended, the next record on a line of its own" "/zz	f 1 2|/f" \
	"$(sed -n 2p "$delta/.wh..wh..afs.base")|$(sed -n 3p "$delta/.wh..wh..afs.base" | cut -f1)"
echo src >>"$src/f"
run afs-fuse --commit -d "$delta" "$src"
is "a torn record: the conflict is still seen" 3 "$rc"
printf 'afs-base 9\n' >"$delta/.wh..wh..afs.base"
run afs-fuse --commit -d "$delta" "$src"
is "a journal of an unknown version: exit 1, nothing applied" \
	"1 afs-fuse: cannot read the base journal of delta '$delta': not one this afs-fuse knows" \
	"$rc $(cat "$T/err")"
