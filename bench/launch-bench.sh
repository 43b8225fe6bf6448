#!/bin/bash
# bench/launch-bench.sh - what afs-launch costs to start a command, against
# bare bwrap with the same isolation flags and against plain docker, as
# ratios measured in one run (these machines are noisy: never compare
# absolute times across runs).
#
#   bench/launch-bench.sh                (as root; make bench-launch)
#
# Environment: RUNS (200), SIZES ("100 1000 10000 100000"), DOCKER_RUNS (20),
# IMAGE (afs-test-busybox:3), BENCH_DIR (/dev/shm when it is a tmpfs, else
# /tmp; a directory of our own is made in it and removed at exit),
# AGENTFENSE_REF (the AgentFense SDK overview quoted for reference).
#
#   1. afs-launch -m MNT -- true against bare bwrap (the flags of
#      afs-launch/bwrap.c, as uid 65534, running /bin/true); MNT is an
#      afs-fuse mount of a small tree.  Target: ratio of medians <= 1.5.
#   2. afs-launch -s TREE -p agent-safe -- true (mount, run, unmount) for
#      trees of SIZES files.  Target: median <= 25 ms, and flat: the
#      largest median over the smallest <= 1.5.
#   3. afs-launch --runtime docker -m MNT -- true against docker run --rm
#      (skipped when no dockerd runs).
#
# Every command is timed with $EPOCHREALTIME in this one bash process (no
# fork for the clock); the commands of a step run in turn, alternating, and
# the figures are medians.  The cost of the timing itself, and of a bare
# fork+exec of /bin/true, are measured the same way and shown as the floor.
# The exit status is 0 whether or not the targets are met; 1 when the
# benchmark could not run.
set -u
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
RUNS=${RUNS:-200}
SIZES=${SIZES:-100 1000 10000 100000}
DOCKER_RUNS=${DOCKER_RUNS:-20}
IMAGE=${IMAGE:-afs-test-busybox:3}
DEFAULT_IMAGE=afs-test-busybox:3
REF=${AGENTFENSE_REF:-$TOP/../shared/reference/agentfense-sdk-overview.md}
SB_UID=65534 SB_GID=65534

die() { echo "launch-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (afs-launch drops to uid $SB_UID itself; the bare bwrap must too)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (\$EPOCHREALTIME)"
for c in bwrap setpriv fusermount3 mountpoint; do
	command -v "$c" >/dev/null || die "$c is missing"
done
for p in afs-fuse afs-launch bench/gentree; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-launch)"
done
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
case $DOCKER_RUNS in '' | *[!0-9]*) die "DOCKER_RUNS must be a number" ;; esac
for n in $SIZES; do
	case $n in '' | *[!0-9]* | 0) die "SIZES must be positive numbers" ;; esac
done

if [ -n "${BENCH_DIR:-}" ]; then
	BASE=$BENCH_DIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	BASE=/dev/shm
else
	BASE=/tmp
fi
mkdir -p "$BASE" || die "cannot make $BASE"
W=$(mktemp -d "$BASE/afs-launch-bench.XXXXXX") || die "cannot make a directory in $BASE"
# The sandbox's uid must reach MNT (bwrap binds it as that uid).
chmod 0755 "$W"
MNT=$W/mnt
fuse_pid=

# Everything we made goes: the mount (afs-fuse unmounts on SIGTERM; then
# a lazy unmount of whatever is left under $W), afs-fuse, the trees.
cleanup() {
	local i m
	trap - INT TERM
	if [ -n "$fuse_pid" ]; then
		kill -TERM "$fuse_pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			kill -0 "$fuse_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$fuse_pid" 2>/dev/null
		wait "$fuse_pid" 2>/dev/null
	fi
	awk -v w="$W/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	if awk -v w="$W/" 'index($2, w) == 1 {f = 1} END {exit !f}' /proc/self/mounts; then
		echo "launch-bench: a mount is left under $W; not removing it" >&2
	else
		rm -rf --one-file-system "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if pgrep -f '(^|/)prove( |$)' >/dev/null; then
	echo "# WARNING: a test suite (prove) is running: the figures below are distorted" >&2
fi

# ---- timing --------------------------------------------------------------------
# tm FILE CMD...: run CMD (no output), append its wall time in microseconds
# to FILE; CMD's status.  The clock is read without a fork.
tm() {
	local f=$1 t0 t1 rc
	shift
	t0=${EPOCHREALTIME/./}
	"$@" </dev/null >/dev/null 2>>"$W/err.log"
	rc=$?
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$f"
	return $rc
}

# must LABEL FILE CMD...: tm, and stop the benchmark if CMD fails.
must() {
	local label=$1
	shift
	tm "$@" && return 0
	echo "launch-bench: '$label' failed (status $?); its last messages:" >&2
	tail -n 15 "$W/err.log" >&2
	exit 1
}

# stats FILE: "MEDIAN P90" in whole microseconds (p90: nearest rank).
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2 + 0.5)
		r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
		print m, a[r] }'
}
med() { stats "$1" | awk '{print $1}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "PASS" : "FAIL"}'; }
row() {	# row LABEL FILE [BASELINE_MEDIAN_US]
	local s m p
	s=$(stats "$2")
	m=${s% *} p=${s#* }
	if [ -n "${3:-}" ]; then
		printf '  %-44s %10s %10s %9sx\n' "$1" "$(ms "$m")" "$(ms "$p")" "$(ratio "$m" "$3")"
	else
		printf '  %-44s %10s %10s %10s\n' "$1" "$(ms "$m")" "$(ms "$p")" -
	fi
}
header() { printf '  %-44s %10s %10s %10s\n' command median_ms p90_ms "$1"; }

# ---- the trees and the mount ---------------------------------------------------
gen() {	# gen DIR FILES: a gentree tree, about 15 files a directory
	local d=$(($2 / 15))
	[ "$d" -ge 1 ] || d=1
	"$B/bench/gentree" "$1" 42 "$2" "$d" >/dev/null || die "gentree $2 failed"
}
t0=${EPOCHREALTIME/./}
gen "$W/small" 100
for n in $SIZES; do
	gen "$W/tree.$n" "$n"
done
echo "# made the trees ($SIZES files) in $W in $(ms $((${EPOCHREALTIME/./} - t0))) ms" >&2

mkdir -p "$MNT"
mkfifo "$W/ready"
"$B/afs-fuse" -f --ready-fd 3 -p agent-safe --allow-uid "$SB_UID" "$W/small" "$MNT" \
	3>"$W/ready" 2>>"$W/afs-fuse.err" &
fuse_pid=$!
read -r -t 20 line <"$W/ready"
[ "${line:-}" = ready ] || die "afs-fuse did not start: $(cat "$W/afs-fuse.err")"

# ---- the commands --------------------------------------------------------------
# Bare bwrap: what afs-launch/bwrap.c runs, without afs-launch (and without
# its shim as pid 1 and its --info-fd): the same uid change, namespaces,
# binds and /etc files, running /bin/true directly.
printf '%s\n' "root:x:0:0:root:/root:/usr/sbin/nologin" \
	"sandbox:x:$SB_UID:$SB_GID:afs sandbox:/home/sandbox:/bin/sh" \
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" >"$W/passwd"
printf '%s\n' "root:x:0:" "sandbox:x:$SB_GID:" "nogroup:x:65534:" >"$W/group"
printf '127.0.0.1\tlocalhost afs\n::1\tlocalhost ip6-localhost\n' >"$W/hosts"
BARE=(setpriv --reuid=$SB_UID --regid=$SB_GID --clear-groups
	bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup
	--unshare-net --uid $SB_UID --gid $SB_GID --hostname afs
	--die-with-parent --new-session --as-pid-1
	--ro-bind /usr /usr)
for p in /bin /sbin /lib /lib32 /lib64 /libx32; do
	if [ -L "$p" ]; then
		BARE+=(--symlink "$(readlink "$p")" "$p")
	elif [ -d "$p" ]; then
		BARE+=(--ro-bind "$p" "$p")
	fi
done
BARE+=(--dir /etc)
for p in /etc/resolv.conf /etc/ld.so.cache /etc/ssl /etc/ca-certificates /etc/pki; do
	BARE+=(--ro-bind-try "$p" "$p")
done
BARE+=(--ro-bind-data 3 /etc/passwd --ro-bind-data 4 /etc/group --ro-bind-data 5 /etc/hosts
	--proc /proc --dev /dev --tmpfs /tmp --perms 0700 --tmpfs /home/sandbox
	--bind "$MNT" /workspace --remount-ro / --chdir /workspace
	/bin/true)

noop() { :; }
floor() { /bin/true; }
bare() { "${BARE[@]}" 3<"$W/passwd" 4<"$W/group" 5<"$W/hosts"; }
launch_m() { "$B/afs-launch" -m "$MNT" -- true; }
launch_s() { "$B/afs-launch" -s "$W/tree.$1" -p agent-safe -- true; }
launch_d() { "$B/afs-launch" --runtime docker --image "$IMAGE" -m "$MNT" -- true; }
docker_bare() { docker run --rm "$IMAGE" true; }

echo "# afs-launch start-up; $(nproc) cores; $(uname -r); bwrap $(bwrap --version | awk '{print $2}'); trees in $W"

# ---- 1. afs-launch -m against bare bwrap -----------------------------------------
for ((i = 0; i < 3; i++)); do	# warm up, and check that both work
	must "bare bwrap" "$W/warm" bare
	must "afs-launch -m" "$W/warm" launch_m
done
for ((i = 0; i < RUNS; i++)); do
	tm "$W/t.noop" noop
	must "/bin/true" "$W/t.true" floor
	if ((i % 2)); then
		must "afs-launch -m" "$W/t.m" launch_m
		must "bare bwrap" "$W/t.bare" bare
	else
		must "bare bwrap" "$W/t.bare" bare
		must "afs-launch -m" "$W/t.m" launch_m
	fi
done
NOOP=$(med "$W/t.noop") TRUE=$(med "$W/t.true") BAREM=$(med "$W/t.bare") M=$(med "$W/t.m")
R1=$(ratio "$M" "$BAREM")
echo
echo "## 1. afs-launch -m MNT -- true against bare bwrap (same flags, uid $SB_UID); $RUNS runs each, alternating"
printf '  floor: the timer itself %s us; fork+exec of /bin/true %s ms (included in every figure)\n' \
	"$NOOP" "$(ms "$TRUE")"
header "x bare"
row "bare bwrap ... /bin/true" "$W/t.bare" "$BAREM"
row "afs-launch -m MNT -- true" "$W/t.m" "$BAREM"
printf '  net of the /bin/true floor: %s ms against %s ms, %sx\n' \
	"$(ms $((M - TRUE)))" "$(ms $((BAREM - TRUE)))" "$(ratio $((M - TRUE)) $((BAREM - TRUE)))"

# ---- 2. afs-launch -s: mount, run, unmount ---------------------------------------
SZ=($SIZES)
for n in "${SZ[@]}"; do
	must "afs-launch -s ($n files)" "$W/warm" launch_s "$n"
done
for ((i = 0; i < RUNS; i++)); do
	# Each round: bare bwrap, then every size, starting each round
	# at the next size.
	must "bare bwrap" "$W/t.bare2" bare
	for ((j = 0; j < ${#SZ[@]}; j++)); do
		n=${SZ[$(((i + j) % ${#SZ[@]}))]}
		must "afs-launch -s ($n files)" "$W/t.s.$n" launch_s "$n"
	done
done
BARE2=$(med "$W/t.bare2")
echo
echo "## 2. afs-launch -s TREE -p agent-safe -- true (mount, run, unmount); $RUNS runs each, in turn"
header "x bare"
row "bare bwrap (this step)" "$W/t.bare2" "$BARE2"
printf '  %-44s %10s\n' "bare bwrap (step 1)" "$(ms "$BAREM")"
SMIN= SMAX= SWORST=
for n in $SIZES; do
	row "afs-launch -s, $n files" "$W/t.s.$n" "$BARE2"
	m=$(med "$W/t.s.$n")
	[ -z "$SMIN" ] || [ "$m" -lt "$SMIN" ] && SMIN=$m
	[ -z "$SMAX" ] || [ "$m" -gt "$SMAX" ] && SMAX=$m SWORST=$n
done
FLAT=$(ratio "$SMAX" "$SMIN")
printf '  largest median / smallest: %s (%s ms at %s files / %s ms)\n' "$FLAT" "$(ms "$SMAX")" \
	"$SWORST" "$(ms "$SMIN")"

# ---- 3. docker -------------------------------------------------------------------
echo
DOCKER=
if [ "$DOCKER_RUNS" = 0 ]; then
	echo "docker: skipped (DOCKER_RUNS=0)"
elif ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
	echo "docker: skipped (no dockerd)"
else
	if ! docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "$IMAGE" = "$DEFAULT_IMAGE" ] &&
		[ -x /bin/busybox ]; then
		# As tests/lib.sh's docker_up: no registry is reachable here.
		r=$W/image-root
		mkdir -p "$r/bin" "$r/tmp" "$r/workspace"
		chmod 1777 "$r/tmp"
		cp /bin/busybox "$r/bin/busybox"
		for c in $(/bin/busybox --list); do
			[ "$c" = busybox ] || ln -s busybox "$r/bin/$c"
		done
		tar -C "$r" -c . | docker import - "$IMAGE" >/dev/null 2>>"$W/err.log" &&
			echo "# imported $IMAGE from /bin/busybox" >&2
		rm -rf "$r"
	fi
	if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
		echo "docker: skipped (no image $IMAGE)"
	else
		DOCKER=yes
		must "docker run" "$W/warm" docker_bare
		must "afs-launch --runtime docker" "$W/warm" launch_d
		for ((i = 0; i < DOCKER_RUNS; i++)); do
			if ((i % 2)); then
				must "afs-launch --runtime docker" "$W/t.ld" launch_d
				must "docker run" "$W/t.d" docker_bare
			else
				must "docker run" "$W/t.d" docker_bare
				must "afs-launch --runtime docker" "$W/t.ld" launch_d
			fi
		done
		D=$(med "$W/t.d") LD=$(med "$W/t.ld")
		echo "## 3. afs-launch --runtime docker -m MNT -- true against docker run --rm; image $IMAGE; $DOCKER_RUNS runs each, alternating"
		header "x docker"
		row "docker run --rm IMAGE true" "$W/t.d" "$D"
		row "afs-launch --runtime docker -m MNT -- true" "$W/t.ld" "$D"
		printf '  overhead: %sx, %s ms\n' "$(ratio "$LD" "$D")" "$(ms $((LD - D)))"
	fi
fi

# ---- reference and targets -------------------------------------------------------
echo
if [ -r "$REF" ]; then
	# The SDK overview's "Performance Characteristics" table.
	claim() { awk -F'|' -v k="$1" 'index($2, k) {gsub(/^ +| +$/, "", $3); print $3; exit}' "$REF"; }
	printf '# reference, AgentFense'"'"'s own claims (%s): sandbox creation (Sandbox.from_local) %s, per command: bwrap %s, docker %s; session.exec %s\n' \
		"$(basename "$REF")" "$(claim 'Sandbox.from_local()')" "$(claim 'sandbox.run()` (bwrap)')" \
		"$(claim 'sandbox.run()` (docker)')" "$(claim 'session.exec()')"
else
	echo "# reference: $REF not found"
fi
S_OK=$(awk -v m="$SMAX" 'BEGIN {print (m <= 25000) ? "PASS" : "FAIL"}')
printf 'TARGET afs-launch -m vs bare bwrap <= 1.5x: %sx (%s vs %s ms) %s\n' "$R1" "$(ms "$M")" \
	"$(ms "$BAREM")" "$(verdict "$R1" 1.5)"
printf 'TARGET afs-launch -s median <= 25 ms: worst %s ms (%s files) %s\n' "$(ms "$SMAX")" "$SWORST" "$S_OK"
printf 'TARGET afs-launch -s flat across %s files (max/min median <= 1.5): %s %s\n' \
	"$(echo $SIZES | sed 's/ /, /g')" "$FLAT" "$(verdict "$FLAT" 1.5)"
[ -n "$DOCKER" ] && printf 'INFO   afs-launch docker vs docker run: %sx, %+.0f ms (no target)\n' \
	"$(ratio "$LD" "$D")" "$(ms $((LD - D)))"
exit 0
