#!/bin/bash
# bench/fs-bench.sh - afs-fuse against the native tree and bindfs, as ratios
# measured in one run (these machines are noisy: never compare absolute
# times across runs).
#
#   bench/fs-bench.sh [WORKLOAD...]      (as root; make bench-fs)
#
# Environment: FILES (30000), DIRS (2000), BIG_MB (1024), RUNS (5),
# BENCH_DIR (/var/tmp/afs-bench; the tree is made once and kept).
#
# Each workload runs once on each system to warm up, then RUNS times on
# native, afs-fuse and bindfs in turn; the figure is the median of the
# per-run ratios to native.  Outputs are compared with native's.  Write
# workloads run on a loop-mounted ext4 image (the root filesystem here
# slows down after many create/unlink cycles).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
FILES=${FILES:-30000}
DIRS=${DIRS:-2000}
BIG_MB=${BIG_MB:-1024}
RUNS=${RUNS:-5}
W=${BENCH_DIR:-/var/tmp/afs-bench}

die() { echo "fs-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (drop_caches, loop mounts)"
command -v bindfs >/dev/null || die "bindfs is missing: apt-get install bindfs"
for p in afs-fuse bench/gentree bench/mkfiles; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-fs)"
done

pids=() mounts=()
cleanup() {
	local m p
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount "$m"; }
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	mountpoint -q "$W/ext" && umount "$W/ext"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W"
if [ ! -f "$W/tree.done" ] || [ "$(cat "$W/tree.done")" != "$FILES $DIRS $BIG_MB" ]; then
	echo "# making the tree: $FILES files in $DIRS directories and a $BIG_MB MiB file" >&2
	rm -rf "$W/tree"
	"$B/bench/gentree" "$W/tree" 42 "$FILES" "$DIRS" || die "gentree failed"
	head -c "$((BIG_MB << 20))" /dev/urandom >"$W/tree/big.bin"
	echo secret >"$W/tree/.env"
	# Names the policy hides, spread over the tree.
	(cd "$W/tree" && find . -type d | awk 'NR % 4 == 1' | while read -r d; do
		echo secret >"$d/.env.local"; done)
	echo "$FILES $DIRS $BIG_MB" >"$W/tree.done"
fi
(cd "$W/tree" && find . -type f ! -name big.bin ! -name '.env*' -print0) >"$W/list"
(cd "$W/tree" && find . -type d -printf '%p/nope\0') >"$W/missing"
(cd "$W/tree" && find . -name '.env*' -print0) >"$W/hidden"

# A policy of the usual shape: read everything, hide secrets.
cat >"$W/policy.yaml" <<'P'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: "**/.env*"
    permission: none
    priority: 100
  - pattern: "**/*.key"
    permission: none
    priority: 100
  - pattern: "**/secrets/**"
    permission: none
    priority: 100
P

mount_afs() {	# mount_afs SOURCE MNT POLICY [opts...]
	local src=$1 mnt=$2 pol=$3 line
	shift 3
	mkdir -p "$mnt"
	rm -f "$W/ready"
	mkfifo "$W/ready"
	"$B/afs-fuse" -f --ready-fd 3 -p "$pol" "$@" "$src" "$mnt" 3>"$W/ready" 2>>"$W/afs.err" &
	afs_pid=$!
	pids+=("$afs_pid")
	mounts+=("$mnt")
	read -r -t 20 line <"$W/ready"
	[ "$line" = ready ] || die "afs-fuse did not start: $(cat "$W/afs.err")"
}

mount_bindfs() {	# mount_bindfs SOURCE MNT
	mkdir -p "$2"
	bindfs --no-allow-other "$1" "$2" || die "bindfs failed"
	mounts+=("$2")
}

now() { date +%s%N; }
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# run_one DIR CMD: time CMD in DIR; its output into $W/out.N
run_one() {
	local dir=$1 t0 t1
	shift
	[ -n "${COLD:-}" ] && { sync; echo 3 >/proc/sys/vm/drop_caches; }
	t0=$(now)
	(cd "$dir" && eval "$*") >"$W/out.cur" 2>/dev/null
	t1=$(now)
	echo $(((t1 - t0) / 1000))
}

# workload NAME CMD: native vs afs vs bindfs
workload() {
	local name=$1 cmd=$2 i tn ta tb ok=yes
	: >"$W/r.afs"
	: >"$W/r.bindfs"
	: >"$W/t.native"
	for d in "$NATIVE" "$AFS" "$BINDFS"; do run_one "$d" "$cmd" >/dev/null; done
	run_one "$NATIVE" "$cmd" >/dev/null
	cp "$W/out.cur" "$W/out.native"
	for ((i = 0; i < RUNS; i++)); do
		tn=$(run_one "$NATIVE" "$cmd")
		ta=$(run_one "$AFS" "$cmd")
		[ -n "${NOCMP:-}" ] && ok=-
		[ -z "${NOCMP:-}" ] && ! cmp -s "$W/out.cur" "$W/out.native" && ok=NO
		tb=$(run_one "$BINDFS" "$cmd")
		echo "$tn" >>"$W/t.native"
		echo "$ta $tn" | awk '{printf "%.4f\n", $1 / $2}' >>"$W/r.afs"
		echo "$tb $tn" | awk '{printf "%.4f\n", $1 / $2}' >>"$W/r.bindfs"
	done
	printf '%-28s %10.1f %9.2fx %9.2fx  %s\n' "$name" \
		"$(median <"$W/t.native" | awk '{print $1 / 1000}')" \
		"$(median <"$W/r.afs")" "$(median <"$W/r.bindfs")" "$ok"
}

header() {
	printf '%-28s %10s %10s %10s  %s\n' workload native_ms afs-fuse bindfs same-output
}

SEL="$*"
want() { [ -z "$SEL" ] && return 0; case " $SEL " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- read workloads over the generated tree ---------------------------------
NATIVE=$W/tree AFS=$W/m.afs BINDFS=$W/m.bindfs
mount_afs "$NATIVE" "$AFS" "$W/policy.yaml"
read_pid=$afs_pid
echo "# afs-fuse idle RSS after ready: $(awk '/VmRSS/ {print $2, $3}' "/proc/$afs_pid/status")"
mount_bindfs "$NATIVE" "$BINDFS"
cpu0=$(cpu_of "$read_pid")

echo "# $(nproc) cores; $FILES files, $DIRS dirs, ${BIG_MB} MiB file; median of $RUNS runs; ratios to native"
header
# The .env is hidden by afs-fuse: compare outputs that do not name it.
want stat && workload "stat every file" "xargs -0 -a '$W/list' stat -c '%s %n' | sort | md5sum"
want missing && workload "stat missing names x3" "for i in 1 2 3; do xargs -0 -a '$W/missing' stat -c %s 2>/dev/null; done | wc -l"
want hidden && NOCMP=1 workload "stat hidden names x3" "for i in 1 2 3; do xargs -0 -a '$W/hidden' stat -c %s 2>/dev/null; done | wc -l"
if want hidden; then
	# Natively these names exist, so stat(1) prints sizes; through
	# afs-fuse it reports errors, which costs stat(1) more.  The fair
	# baseline is native stat of names that are missing: same error path.
	tr '\0' '\n' <"$W/hidden" | sed 's/$/.missing/' | tr '\n' '\0' >"$W/hidden.missing"
	: >"$W/r.hm"
	for ((i = 0; i <= RUNS; i++)); do
		tn=$(run_one "$NATIVE" "for i in 1 2 3; do xargs -0 -a '$W/hidden.missing' stat -c %s 2>/dev/null; done | wc -l")
		ta=$(run_one "$AFS" "for i in 1 2 3; do xargs -0 -a '$W/hidden' stat -c %s 2>/dev/null; done | wc -l")
		[ "$i" -gt 0 ] && echo "$ta $tn" | awk '{printf "%.4f\n", $1 / $2}' >>"$W/r.hm"
	done
	printf '%-28s %10s %9.2fx %10s  %s\n' "  ... against native missing" "" "$(median <"$W/r.hm")" "" "-"
fi
want find && workload "find . -type f (warm)" "find . -type f ! -name '.env*' | wc -l"
want find && COLD=1 workload "find . -type f (cold)" "find . -type f ! -name '.env*' | wc -l"
want du && workload "du -s (warm)" "du -s --apparent-size --exclude='.env*' . | cut -f1"
want ls && workload "ls -lR | wc -l (warm)" "ls -lR --ignore='.env*' | wc -l"
want grep && workload "grep -r (warm)" "grep -r --exclude='.env*' -c needle . | sort | md5sum"
want tar && workload "tar cf - . | wc -c (warm)" "tar cf - --exclude='.env*' --sort=name . | wc -c"
want read && workload "read ${BIG_MB} MiB (warm)" "dd if=big.bin bs=1M status=none | md5sum"
want read && COLD=1 workload "read ${BIG_MB} MiB (cold)" "dd if=big.bin bs=1M status=none | md5sum"
echo "# afs-fuse CPU over the read workloads: $(( ($(cpu_of "$read_pid") - cpu0) ))0 ms"

# ---- the audit log and a big policy: access + 2,000 rules vs off + 1 rule ----
pair() {	# pair NAME CMD DIR_A DIR_B: median ratio B/A, alternating
	local name=$1 cmd=$2 a=$3 b=$4 i ta tb
	: >"$W/r.pair"
	run_one "$a" "$cmd" >/dev/null
	run_one "$b" "$cmd" >/dev/null
	for ((i = 0; i < RUNS; i++)); do
		ta=$(run_one "$a" "$cmd")
		tb=$(run_one "$b" "$cmd")
		echo "$tb $ta" | awk '{printf "%.4f\n", $1 / $2}' >>"$W/r.pair"
	done
	printf '%-28s %9.3fx\n' "$name" "$(median <"$W/r.pair")"
}
if want audit; then
	{ echo 'version: 1'; echo 'rules:'
	  echo '  - {pattern: "**", permission: read}'
	  for i in $(seq 1999); do
		case $((i % 4)) in
		0) echo "  - {pattern: /d$i/**, permission: read}" ;;
		1) echo "  - {pattern: \"**/*.x$i\", permission: none, priority: 5}" ;;
		2) echo "  - {pattern: /d$i/f$i.c, type: file, permission: view}" ;;
		3) echo "  - {pattern: /d$i/sub, type: directory, permission: write}" ;;
		esac
	  done; } >"$W/p2000.yaml"
	printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: read\n' >"$W/p1.yaml"
	mount_afs "$W/tree" "$W/m.off" "$W/p1.yaml"
	mount_afs "$W/tree" "$W/m.acc" "${ACC_POLICY:-$W/p2000.yaml}" ${ACC_OPTS--a "$W/audit.log" --audit-level access}
	acc_pid=$afs_pid
	echo "# audit access + 2,000 rules against audit off + 1 rule (ratio, median of $RUNS)"
	pair "grep -r (warm)" "grep -r -c needle . | wc -l" "$W/m.off" "$W/m.acc"
	pair "find . -type f (warm)" "find . -type f | wc -l" "$W/m.off" "$W/m.acc"
	pair "stat every file" "xargs -0 -a '$W/list' stat -c %s | wc -l" "$W/m.off" "$W/m.acc"
	echo "# audit records written: $(wc -l <"$W/audit.log")"
	rm -f "$W/audit.log"
fi

# ---- write workloads on a loop-mounted ext4 image ---------------------------
if want create || want write || want copyup; then
	rm -f "$W/ext.img"
	truncate -s 4G "$W/ext.img"
	mkfs.ext4 -q -F "$W/ext.img" || die "mkfs.ext4 failed"
	mkdir -p "$W/ext"
	mount -o loop "$W/ext.img" "$W/ext" || die "cannot loop-mount the ext4 image"
	mkdir -p "$W/ext/src/w" "$W/ext/delta" "$W/ext/bsrc/w"
	printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$W/write.yaml"
	NATIVE=$W/ext/src AFS=$W/m.wafs BINDFS=$W/m.wbindfs
	mount_afs "$W/ext/src" "$AFS" "$W/write.yaml" -d "$W/ext/delta"
	mount_bindfs "$W/ext/src" "$BINDFS"
	header
	want create && workload "create+write+unlink 5k x 4 KiB" "'$B/bench/mkfiles' create w 5000 4096"
	# A yardstick for this machine's round trips: libfuse's own example
	# passthrough.c (Debian's libfuse3-dev), built with 60 s timeouts and
	# kernel_cache; no policy, no delta, no audit.  It mirrors /.
	ex=/usr/share/doc/libfuse3-dev/examples
	if want create && [ -f "$ex/passthrough.c" ]; then
		mkdir -p "$W/hlpt" "$W/ext/hsrc/w" "$W/m.hlpt"
		cp "$ex/passthrough.c" "$ex/passthrough_helpers.h" "$W/hlpt/"
		sed -i 's/cfg->entry_timeout = 0;/cfg->entry_timeout = 60;/;
			s/cfg->attr_timeout = 0;/cfg->attr_timeout = 60;/;
			s/cfg->negative_timeout = 0;/cfg->negative_timeout = 60; cfg->kernel_cache = 1;/' \
			"$W/hlpt/passthrough.c"
		if cc -O2 -D_FILE_OFFSET_BITS=64 $(pkg-config --cflags fuse3) -o "$W/hlpt/hlpt" \
			"$W/hlpt/passthrough.c" $(pkg-config --libs fuse3) 2>/dev/null &&
			"$W/hlpt/hlpt" "$W/m.hlpt"; then
			mounts+=("$W/m.hlpt")
			echo "# the same through libfuse's example passthrough.c (60 s timeouts, kernel_cache), against native"
			pair "create+write+unlink 5k" "'$B/bench/mkfiles' create w 5000 4096" \
				"$W/ext/src" "$W/m.hlpt$W/ext/hsrc"
		fi
	fi
	if want audit; then
		mkdir -p "$W/ext/delta2"
		mount_afs "$W/ext/src" "$W/m.wacc" "$W/write.yaml" -d "$W/ext/delta2" \
			-a "$W/ext/audit.log" --audit-level access
		echo "# audit access against off, same policy (ratio, median of $RUNS)"
		pair "create+write+unlink 5k" "'$B/bench/mkfiles' create w 5000 4096" "$AFS" "$W/m.wacc"
	fi
	want write && workload "write 512 MiB + fdatasync" "dd if=/dev/zero of=w/big bs=1M count=512 conv=fdatasync status=none; rm -f w/big"
	if want copyup; then
		# First writes to 1,000 files of SOURCE: each a copy-up.  A fresh
		# set of files per run, so that every write is a first one.
		: >"$W/r.afs"
		: >"$W/t.native"
		for ((i = 0; i < RUNS; i++)); do
			mkdir -p "$W/ext/src/c$i"
			for j in $(seq 1000); do echo "line $j" >"$W/ext/src/c$i/f$j"; done
			cp -a "$W/ext/src/c$i" "$W/ext/src/n$i"
			sync
			tn=$(run_one "$W/ext/src/n$i" "'$B/bench/mkfiles' append f*")
			ta=$(run_one "$AFS/c$i" "'$B/bench/mkfiles' append f*")
			echo "$tn" >>"$W/t.native"
			echo "$ta $tn" | awk '{printf "%.4f\n", $1 / $2}' >>"$W/r.afs"
		done
		printf '%-28s %10.1f %9.2fx %10s  %s\n' "first write to 1,000 files" \
			"$(median <"$W/t.native" | awk '{print $1 / 1000}')" "$(median <"$W/r.afs")" "-" "-"
	fi
fi
