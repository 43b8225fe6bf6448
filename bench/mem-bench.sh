#!/bin/bash
# bench/mem-bench.sh - afs-fuse's memory under load: what the programs on a
# mount make the daemon hold, outside their own limits (afs-fuse(1) LIMITS).
#
#   bench/mem-bench.sh                   (as root; make bench-mem)
#
# Environment: FILES (20000), BENCH_DIR (/var/tmp; a directory of our own
# is made in it and removed at exit).
#
# One afs-fuse mount (policy: read all, write below out/) of a tree of
# FILES small files in 100 directories, a directory of 4,000 names of 200
# bytes, and a copy of it below out/.  Each step runs in a sandbox
# (afs-launch -m, --memory 128M --nofile 1000 --pids 20), one after the
# other on the same mount; after each, afs-fuse's resident memory (VmRSS)
# and its peak so far (VmHWM) are shown, in KiB:
#   idle        after the mount is ready
#   walk        find -type f | wc -l, then stat of every file (du -s)
#   read        every file read (tar cf - . | wc -c)
#   handles     4 processes each holding 900 open handles of the
#               4,000-name directory, each read (the listings are shared)
#   listings    one process making a file before each open of out/big,
#               so that no two listings are alike (stops at ENOMEM, past
#               --listing-memory)
#   files       5 processes each opening one file 990 times and holding
#               them (--max-open's default, 4096, stops them at EMFILE)
# Target: the peak stays under 64 MiB.  The memory of a run does not vary
# much from run to run, so the figures are absolute, not ratios; the
# baseline is afs-fuse idle.  Exit status 0 whether or not the target is
# met; 1 when the benchmark could not run.
set -u
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
FILES=${FILES:-20000}

die() { echo "mem-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
for p in afs-fuse afs-launch tests/helpers/attack; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-mem)"
done
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/afs-mem-bench.XXXXXX") || die "cannot make a directory"
chmod 0711 "$W"
fuse_pid=
cleanup() {
	mountpoint -q "$W/mnt" && fusermount3 -u "$W/mnt"
	[ -n "$fuse_pid" ] && wait "$fuse_pid" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

src=$W/src
mkdir -p "$src/tree" "$src/big" "$src/out" "$src/tools" "$W/mnt"
cp "$B/tests/helpers/attack" "$src/tools/attack"
for d in $(seq 100); do
	mkdir "$src/tree/d$d"
	for f in $(seq $((FILES / 100))); do echo "file $d $f"; done |
		awk -v d="$src/tree/d$d" '{ print > (d "/f" NR ".txt") }'
done
(cd "$src/big" && for i in $(seq 4000); do printf 'f%0199d\0' "$i"; done | xargs -0 touch)
cp -a "$src/big" "$src/out/big"
cat >"$W/pol.yaml" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: "out/**"
    permission: write
EOF
sleep 0.1	# the directories older than a tick: listings can be shared

mkfifo "$W/ready"
env --default-signal=INT,TERM "$B/afs-fuse" -f --ready-fd 3 -p "$W/pol.yaml" --allow-uid 65534 \
	"$src" "$W/mnt" 3>"$W/ready" 2>"$W/fuse.err" &
fuse_pid=$!
read -r -t 10 line <"$W/ready" || true
[ "${line:-}" = ready ] || die "afs-fuse did not get ready: $(cat "$W/fuse.err")"

sb() { "$B/afs-launch" -m "$W/mnt" --memory 128M --nofile 1000 --pids 20 -- sh -c "$1"; }
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$fuse_pid/status"; }
printf '%-10s %10s %10s  %s\n' step "RSS KiB" "peak KiB" "what the step did"
row() { printf '%-10s %10s %10s  %s\n' "$1" "$(kib VmRSS)" "$(kib VmHWM)" "$2"; }
A='cp /workspace/tools/attack /tmp/a && /tmp/a'

row idle "mounted"
out=$(sb 'cd /workspace/tree && find . -type f | wc -l && du -s . >/dev/null')
row walk "$out files found, every one stat'ed"
out=$(sb 'cd /workspace/tree && tar cf - . | wc -c')
row read "$out bytes of tar"
out=$(sb "$A dirhog /workspace/big 1 >/dev/null; for i in 1 2 3 4; do /tmp/a dirhog /workspace/big 900 hold 2 & done; wait" | awk '{ n += $1; e[$2]++ } END { for (k in e) s = s " " e[k] "x" k; print n " held;" s }')
row handles "4 processes opening the 4,000-name directory 900 times each: $out"
out=$(sb "$A dirhog /workspace/out/big 900 touch")
row listings "a new file before each open: $out (opened, then the errno)"
out=$(sb "$A filehog /workspace/tree/d1/f1.txt 1 >/dev/null; for i in 1 2 3 4 5; do /tmp/a filehog /workspace/tree/d1/f1.txt 990 hold 2 & done; wait" | awk '{ n += $1; e[$2]++ } END { for (k in e) s = s " " e[k] "x" k; print n " held;" s }')
row files "5 processes opening one file 990 times each: $out"
peak=$(kib VmHWM)
fusermount3 -u "$W/mnt"
wait "$fuse_pid"
fuse_pid=
if [ "$peak" -lt 65536 ]; then
	echo "peak $peak KiB: under the 64 MiB target"
else
	echo "peak $peak KiB: OVER the 64 MiB target"
fi
