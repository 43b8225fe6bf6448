#!/bin/bash
# afs-fuse --delta-quota: writes beyond it get ENOSPC; what is freed counts;
# a reused delta counts from the start; copy-ups count; holes do not.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt
mkdir -p "$src/out" "$mnt"
head -c 2000000 /dev/urandom >"$src/out/big.bin"
printf 'small\n' >"$src/out/small.txt"
cat >"$T/p.yaml" <<'Y'
version: 1
rules:
  - pattern: "**"
    permission: write
Y
afs_mount "$src" "$mnt" -p "$T/p.yaml" -d "$T/delta" --delta-quota 1M || exit 1

run sh -c "head -c 600000 /dev/zero >'$mnt/out/a'"
is "600 KB under a 1 MiB quota: written" "0 600000" "$rc $(stat -c %s "$mnt/out/a")"
run sh -c "head -c 600000 /dev/zero >'$mnt/out/b'"
is "600 KB more: ENOSPC" "head: error writing 'standard output': No space left on device" "$(cat "$T/err")"
rm -f "$mnt/out/b"
errno_is "a copy-up of a 2 MB file does not fit: ENOSPC" ENOSPC open-w "$mnt/out/big.bin"
is "... and the source is untouched" "$(md5sum <"$src/out/big.bin")" "$(md5sum <"$mnt/out/big.bin")"
errno_is "a copy-up of a small file fits" OK open-w "$mnt/out/small.txt"
run truncate -s 100M "$mnt/out/sparse"
is "a 100 MB hole counts its size (a commit could write it out): ENOSPC, the file stays empty" \
	"1 0 No space left on device" "$rc $(stat -c %s "$mnt/out/sparse") $(sed 's/.*: //' "$T/err")"
rm -f "$mnt/out/sparse"
rm -f "$mnt/out/a"
run sh -c "head -c 600000 /dev/zero >'$mnt/out/c'"
is "after rm, the space is back" "0 600000" "$rc $(stat -c %s "$mnt/out/c")"
run sh -c "head -c 100000 /dev/zero >'$mnt/out/c'"
is "O_TRUNC gives the data back too" 0 "$rc"
run sh -c "head -c 700000 /dev/zero >'$mnt/out/d'"
is "... so 700 KB more fit" "0 700000" "$rc $(stat -c %s "$mnt/out/d")"
if [ -e "$src/out/d" ] || [ -e "$src/out/c" ]; then not_ok "the source holds none of it"; else ok "the source holds none of it"; fi
afs_umount "$mnt"

afs_mount "$src" "$mnt" -p "$T/p.yaml" -d "$T/delta" --delta-quota 1M || exit 1
run sh -c "head -c 300000 /dev/zero >'$mnt/out/e'"
is "a reused delta counts what it holds: 800 KB + 300 KB > 1 MiB" \
	"head: error writing 'standard output': No space left on device" "$(cat "$T/err")"
afs_umount "$mnt"

run afs-fuse --delta-quota 10Q -p "$T/p.yaml" "$src" "$mnt"
is "a bad --delta-quota: 2" "2 afs-fuse: bad --delta-quota '10Q' (a size such as 100M or 2G)" "$rc $(cat "$T/err")"
run afs-fuse --delta-quota 1M --writethrough -p "$T/p.yaml" "$src" "$mnt"
is "--delta-quota with --writethrough: 2" 2 "$rc"

mkdir -p "$T/src2/output" && chmod -R a+rX "$T/src2"
run afs-launch -s "$T/src2" -p agent-safe --delta-quota 1M -c 'head -c 2000000 /dev/zero >output/x'
is "afs-launch --delta-quota passes it on" "1 head: error writing 'standard output': No space left on device" \
	"$rc $(cat "$T/err")"
