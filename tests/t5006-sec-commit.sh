#!/bin/bash
# What a sandbox can make afs carry into SOURCE, or take from it, at commit
# (SECURITY.md 7): a sparse file past --delta-quota, holes written out, a
# directory of SOURCE that looks empty because it holds only names of the
# delta's format, setuid and world-writable modes.  Each case runs the
# sandbox's side through afs-launch, then the caller's review and commit.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "what commit carries" "needs root (the sandbox runs as uid 65534)"
	exit 0
fi
chmod 711 "$T"
src=$T/src
mkdir -p "$src/output" "$src/fixtures/layer" "$src/conf"
echo keep >"$src/conf/app.yaml"
echo secret >"$src/conf/.env"
: >"$src/fixtures/layer/.wh.removed"
: >"$src/fixtures/layer/.wh..wh..opq"
echo data >"$src/fixtures/.wh.x"
snap() { (cd "$1" && find . -printf '%p %M %s\n' | LC_ALL=C sort); }
L() { afs-launch -s "$src" -p development "$@"; }

# --- sparse files and the quota ---------------------------------------------------------
run L -d "$T/q.delta" --delta-quota 1M -- sh -c 'truncate -s 1T output/huge; echo $?; ls output'
is "truncate -s 1T under --delta-quota 1M: refused (ENOSPC), nothing made" "1" "$(head -n1 "$T/out")"
is "... the message" "truncate: failed to truncate 'output/huge' at 1099511627776 bytes: No space left on device" \
	"$(cat "$T/err")"
run L -d "$T/q.delta" --delta-quota 1M -- sh -c 'dd if=/dev/zero of=output/far bs=1 count=1 seek=5M status=none; echo $?'
is "a write 5 MiB into a new file under a 1M quota: refused" "1" "$(tail -n1 "$T/out")"
run L -d "$T/q.delta" --delta-quota 8M -- sh -c 'truncate -s 2M output/ok && echo fits'
is "a 2 MiB sparse file under an 8M quota: fits" "fits" "$(cat "$T/out")"
run L -d "$T/q.delta" --delta-quota 8M -- sh -c 'truncate -s 7M output/more; echo $?'
is "... and counts 2 MiB: 7 MiB more does not fit" "1" "$(cat "$T/out")"
rm -rf "$T/q.delta"

# Holes kept at commit: 64 KiB of data inside 512 MiB of holes.
L -d "$T/h.delta" -- sh -c 'truncate -s 512M output/sparse &&
	dd if=/dev/urandom of=output/sparse bs=64K count=1 seek=4000 conv=notrunc status=none' ||
	not_ok "making a sparse file in the sandbox"
run afs-audit diff --stat "$src" "$T/h.delta"
is "diff --stat: a binary file with its size" " A /output/sparse | binary 536870912 bytes mode 0644" \
	"$(grep sparse "$T/out")"
sum_delta=$(md5sum <"$T/h.delta/output/sparse")
run afs-fuse --commit -d "$T/h.delta" "$src"
status_is "commit of a sparse file" 0
is "the committed file has the same bytes" "$sum_delta" "$(md5sum <"$src/output/sparse")"
blocks=$(stat -c %b "$src/output/sparse")
if [ "$blocks" -lt 4096 ]; then ok "the committed file keeps its holes ($blocks blocks of 512 for 512 MiB)"
else not_ok "the committed file keeps its holes ($blocks blocks of 512 for 512 MiB)"; fi
rm -f "$src/output/sparse"

# --- a directory of SOURCE that holds only names of the delta's format ----------------------
snap "$src/fixtures" >"$T/fix.before"
run L -d "$T/w.delta" -- sh -c 'ls -A fixtures/layer | wc -l; rmdir fixtures/layer; echo "rmdir $?"; rm -rf fixtures; echo "rm $?"; ls -A fixtures'
is "it looks empty, yet rmdir answers ENOTEMPTY, and rm -r fails" "$(printf '0\nrmdir 1\nrm 1\nlayer')" "$(cat "$T/out")"
is "... with the errno of a directory that is not empty" \
	"rmdir: failed to remove 'fixtures/layer': Directory not empty" "$(head -n1 "$T/err")"
run L -d "$T/w.delta" -- sh -c 'rm conf/app.yaml; rmdir conf; echo $?'
is "a directory whose only other file the policy hides: ENOTEMPTY" "1" "$(cat "$T/out")"
run afs-fuse --commit -d "$T/w.delta" "$src"
snap "$src/fixtures" >"$T/fix.after"
same_file "commit deletes nothing of SOURCE the sandbox never saw" "$T/fix.before" "$T/fix.after"
is "... and the hidden .env is still there" "secret" "$(cat "$src/conf/.env")"
echo keep >"$src/conf/app.yaml"
rm -rf "$T/w.delta"

# --- setuid, setgid, sticky and world-writable modes ----------------------------------------
mode_case() {	# DELTA: the sandbox makes the modes
	L -d "$1" -- sh -c 'cp /bin/sh output/tool && chmod 4755 output/tool &&
		mkdir output/sub && chmod 2777 output/sub && : >output/open && chmod 0666 output/open &&
		mkdir output/tmp && chmod 1777 output/tmp && cp output/tool output/sg && chmod 2755 output/sg'
}
mode_case "$T/m.delta" || not_ok "the sandbox sets the modes"
run afs-audit diff --stat "$src" "$T/m.delta"
is "diff --stat flags the modes a review must see" \
	" A /output/open | +0 -0 mode 0666 WORLD-WRITABLE
 A /output/sg | binary $(stat -L -c %s /bin/sh) bytes mode 2755 SETGID
 A /output/sub | +0 -0 mode 2777 SETGID WORLD-WRITABLE
 A /output/tmp | +0 -0 mode 1777 STICKY WORLD-WRITABLE
 A /output/tool | binary $(stat -L -c %s /bin/sh) bytes mode 4755 SETUID" \
	"$(grep ' A ' "$T/out")"
run afs-fuse --commit -d "$T/m.delta" "$src"
status_is "commit" 0
is "commit strips setuid, setgid, sticky and write for others" \
	"open 664 sg 755 sub 775 tmp 775 tool 755" \
	"$(cd "$src/output" && stat -c '%n %a' open sg sub tmp tool | tr '\n' ' ' | sed 's/ $//')"
rm -rf "$src/output/"*
mode_case "$T/k.delta" || not_ok "the sandbox sets the modes"
run afs-fuse --commit --keep-mode -d "$T/k.delta" "$src"
is "--keep-mode keeps them" "open 666 sg 2755 sub 2777 tmp 1777 tool 4755" \
	"$(cd "$src/output" && stat -c '%n %a' open sg sub tmp tool | tr '\n' ' ' | sed 's/ $//')"
rm -rf "$src/output/"*
run afs-fuse --discard --keep-mode -d "$T/k.delta" "$src"
is "--keep-mode without --commit: a usage error" "2 afs-fuse: --keep-mode is for --commit" "$rc $(cat "$T/err")"
