#!/bin/bash
# A commit killed at any moment (SIGKILL) leaves every entry applied or
# untouched, never a half-written file in SOURCE, and a rerun finishes the
# job: SOURCE ends exactly as after a commit never killed, with no
# temporary file of the killed run left (afs-fuse(1) "A commit cut short").
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt delta=$T/delta
mkdir -p "$mnt"
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$T/all.yaml"
head -c 33554432 /dev/urandom >"$T/big"

# A fresh SOURCE and a delta made through a mount: the bases the journal
# records are those of this SOURCE's own files (a copy of a SOURCE would
# have other inodes).
make_case() {
	local i
	rm -rf "$src" "$delta"
	mkdir -p "$src/small" "$src/gone" "$src/swap"
	for i in $(seq 200); do echo "small $i" >"$src/small/f$i"; done
	for i in $(seq 50); do echo "gone $i" >"$src/gone/g$i"; done
	for i in $(seq 20); do echo "swap $i" >"$src/swap/s$i"; done
	cp "$T/big" "$src/big"
	afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
	for i in $(seq 200); do echo changed >>"$mnt/small/f$i"; done
	echo tail >>"$mnt/big"
	rm -r "$mnt/gone"
	# Replaced, with a new entry of an old name among its new content.
	rm -r "$mnt/swap" && mkdir "$mnt/swap" && echo new >"$mnt/swap/only" &&
		echo "new 1" >"$mnt/swap/s1"
	mkdir "$mnt/new"
	for i in $(seq 100); do echo "new $i" >"$mnt/new/n$i"; done
	fusermount3 -u "$mnt"
	wait "$fuse_pid" || { diag "afs-fuse failed: $(cat "$T/fuse.err")"; exit 1; }
}
view() { (cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
	find . -type f -exec md5sum {} + | LC_ALL=C sort); }

# What a commit never killed gives, and how long it takes.
make_case
view "$src" >"$T/initial"
(cd "$src" && find . -type f -exec md5sum {} +) >"$T/sums"
(cd "$delta" && find . -type f ! -name '.wh.*' -exec md5sum {} +) >>"$T/sums"
t0=$(date +%s%N)
run afs-fuse --commit -d "$delta" "$src"
t1=$(date +%s%N)
is "an uninterrupted commit: exit 0" "0 " "$rc $(cat "$T/err")"
view "$src" >"$T/final"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -gt 0 ] || ms=1
diag "an uninterrupted commit takes $ms ms"

# The window of a replaced directory, made on purpose: a commit killed
# after it emptied SOURCE's directory and before it said so in the
# journal.  The rerun must not take the names it removed for names SOURCE
# removed ("SOURCE removed it since the delta's base").
make_case
find "$src/swap" -mindepth 1 -delete
run afs-fuse --commit -d "$delta" "$src"
is "killed after emptying a replaced directory: the rerun exits 0" "0 " "$rc $(cat "$T/err")"
view "$src" >"$T/now"
if cmp -s "$T/now" "$T/final"; then
	ok "... and SOURCE is exactly as after an uninterrupted commit"
else
	not_ok "... and SOURCE is exactly as after an uninterrupted commit"
	diag "$(diff "$T/final" "$T/now" | head -n 10)"
fi

# Kill it at moments spread over that time (and a little past).
N=16
mid=0 tmps=0 bad_files=0 bad_rerun=0 bad_view=0 left=0
for i in $(seq 0 $((N - 1))); do
	make_case
	delay=$(awk -v i="$i" -v n="$N" -v ms="$ms" 'BEGIN { printf "%.4f", i * ms * 1.2 / n / 1000 }')
	afs-fuse --commit -d "$delta" "$src" 2>/dev/null &
	pid=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# Every file of SOURCE but a temporary one holds what it held or what
	# the delta had: never half of either.
	(cd "$src" && find . -type f ! -name '.wh..afs-tmp.*' -exec md5sum {} +) >"$T/now.sums"
	n=$(grep -cvxFf "$T/sums" "$T/now.sums")
	if [ "$n" -ne 0 ]; then
		bad_files=$((bad_files + n))
		diag "kill $i: files that hold neither version:" "$(grep -vxFf "$T/sums" "$T/now.sums" | head -n 5)"
	fi
	[ -z "$(find "$src" -name '.wh..afs-tmp.*')" ] || tmps=$((tmps + 1))
	view "$src" >"$T/now"
	if ! cmp -s "$T/now" "$T/final" && ! cmp -s "$T/now" "$T/initial"; then
		mid=$((mid + 1))
	fi
	run afs-fuse --commit -d "$delta" "$src"
	if [ "$rc" -ne 0 ]; then
		bad_rerun=$((bad_rerun + 1))
		diag "kill $i (after ${delay}s): the rerun: exit $rc: $(head -n 3 "$T/err")"
	fi
	view "$src" >"$T/now"
	if ! cmp -s "$T/now" "$T/final"; then
		bad_view=$((bad_view + 1))
		diag "kill $i (after ${delay}s): SOURCE after the rerun:" "$(diff "$T/final" "$T/now" | head -n 10)"
	fi
	[ -z "$(ls -A "$delta")" ] || left=$((left + 1))
done
is "killed $N times: no file of SOURCE half written" 0 "$bad_files"
is "killed $N times: every rerun exits 0" 0 "$bad_rerun"
is "killed $N times: after the rerun, SOURCE is exactly as after an uninterrupted commit (no temporary file left)" 0 "$bad_view"
is "killed $N times: after the rerun, the delta is empty" 0 "$left"
# The kills must have cut commits short, some of them while a file was
# being written, or this test proves nothing.
if [ "$mid" -ge 3 ] && [ "$tmps" -ge 1 ]; then
	ok "the kills cut commits short ($mid of $N midway, $tmps with a temporary file in SOURCE)"
else
	not_ok "the kills cut commits short ($mid of $N midway, $tmps with a temporary file in SOURCE)"
fi
