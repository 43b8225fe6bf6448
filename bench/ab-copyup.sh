#!/bin/bash
# bench/ab-copyup.sh - first writes to files of SOURCE (each a copy-up)
# through two builds of afs-fuse at once, rounds alternating which goes
# first: the per-round ratio NEW/OLD and its median.  For a change to the
# copy-up path (the base journal cost +3 % here, on 2,000 files x 8).
#
#   bench/ab-copyup.sh OLD_BUILD_DIR [NEW_BUILD_DIR]    (as root)
#
# NEW_BUILD_DIR defaults to this tree's build/.  Environment: N (files a
# round, 2000), R (rounds, 8).  Runs on a loop-mounted ext4 image in
# BENCH_DIR (/var/tmp/afs-ab-copyup), removed at the end.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: bench/ab-copyup.sh OLD_BUILD_DIR [NEW_BUILD_DIR]}
NEW=${2:-$TOP/build}
MK=$TOP/build/bench/mkfiles
N=${N:-2000} R=${R:-8}
W=${BENCH_DIR:-/var/tmp/afs-ab-copyup}

die() { echo "ab-copyup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (a loop mount)"
for b in "$OLD/afs-fuse" "$NEW/afs-fuse" "$MK"; do [ -x "$b" ] || die "no $b (make; make $MK)"; done
rm -rf "$W"
mkdir -p "$W/e"
cleanup() {
	local v
	for v in old new; do mountpoint -q "$W/e/m.$v" && fusermount3 -u "$W/e/m.$v"; done
	sleep 0.5
	mountpoint -q "$W/e" && umount "$W/e"
	rm -rf "$W"
}
trap cleanup EXIT
truncate -s 2G "$W/img" && mkfs.ext4 -q -F "$W/img" && mount -o loop "$W/img" "$W/e" ||
	die "cannot make the ext4 image"
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$W/p.yaml"
mkdir -p "$W/e/src" "$W/e/m.old" "$W/e/m.new" "$W/e/d.old" "$W/e/d.new"
"$OLD/afs-fuse" -p "$W/p.yaml" -d "$W/e/d.old" "$W/e/src" "$W/e/m.old" || die "old afs-fuse"
"$NEW/afs-fuse" -p "$W/p.yaml" -d "$W/e/d.new" "$W/e/src" "$W/e/m.new" || die "new afs-fuse"
ratios=()
for i in $(seq "$R"); do
	for v in old new; do
		mkdir -p "$W/e/src/$v$i"
		for j in $(seq "$N"); do echo "line $j" >"$W/e/src/$v$i/f$j"; done
	done
	sync
	if [ $((i % 2)) = 0 ]; then order="old new"; else order="new old"; fi
	declare -A t=()
	for v in $order; do
		cd "$W/e/m.$v/$v$i" || die "no $v$i in the mount"
		t0=$(date +%s%N)
		"$MK" append f* >/dev/null
		t[$v]=$((($(date +%s%N) - t0) / 1000))
		cd /
	done
	ratios+=("$(awk -v n="${t[new]}" -v o="${t[old]}" 'BEGIN { printf "%.3f", n / o }')")
	printf 'round %d: old %d us, new %d us (%.1f us and %.1f us a file)\n' "$i" "${t[old]}" \
		"${t[new]}" "$(awk -v x="${t[old]}" -v n="$N" 'BEGIN { print x / n }')" \
		"$(awk -v x="${t[new]}" -v n="$N" 'BEGIN { print x / n }')"
	unset t
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "new/old, median of %d rounds: %.3f\n", NR, m }'
