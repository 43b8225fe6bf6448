#!/bin/bash
# 100 mounts of one SOURCE at once, each with its own delta: all correct,
# none sees another's writes, each idle afs-fuse within 4 MiB of RSS.
. "$(dirname "$0")/lib.sh"

N=100
src=$T/src
mkdir -p "$src/docs"
echo shared >"$src/docs/readme.md"
for i in $(seq $N); do
	mkdir -p "$T/m$i"
	afs_mount "$src" "$T/m$i" -p full-access -d "$T/d$i" || exit 1
	pids[$i]=$fuse_pid
done
is "$N mounts of one SOURCE are up" $N "$(grep -c " $T/m[0-9]* " /proc/self/mountinfo)"
# RSS means nothing under AddressSanitizer (its shadow memory): the
# check runs on the plain build only.
if grep -q -- -fsanitize "$B/.flags" 2>/dev/null; then
	diag "sanitizer build: idle RSS not checked"
else
rss=0
for i in $(seq $N); do
	r=$(awk '/VmRSS/ {print $2}' "/proc/${pids[$i]}/status")
	[ "$r" -gt "$rss" ] && rss=$r
done
if [ "$rss" -le 4096 ]; then ok "idle RSS per afs-fuse at most 4 MiB (largest: $rss kB)"; else not_ok "idle RSS per afs-fuse at most 4 MiB (largest: $rss kB)"; fi
fi
for i in $(seq $N); do
	echo "mount $i" >"$T/m$i/docs/readme.md"
	echo "own $i" >"$T/m$i/own$i"
done
bad=0
for i in $(seq $N); do
	[ "$(cat "$T/m$i/docs/readme.md")" = "mount $i" ] || bad=$((bad + 1))
	[ "$(ls "$T/m$i" | grep -c '^own')" = 1 ] || bad=$((bad + 1))
done
is "each mount sees its own writes and no other's" 0 "$bad"
is "SOURCE is untouched" "shared" "$(cat "$src/docs/readme.md")"
bad=0
for i in $(seq $N); do
	fuse_pid=${pids[$i]}
	fusermount3 -u "$T/m$i" || bad=$((bad + 1))
	wait "${pids[$i]}" || bad=$((bad + 1))
done
is "all $N unmount and exit 0" 0 "$bad"
bad=0
for i in $(seq $N); do
	[ "$(cat "$T/d$i/own$i")" = "own $i" ] || bad=$((bad + 1))
done
is "each delta holds its mount's writes" 0 "$bad"
