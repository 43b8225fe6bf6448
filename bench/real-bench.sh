#!/bin/bash
# bench/real-bench.sh - what afs costs on real work: afs-launch -s SRC -p
# full-access (mount SRC through afs-fuse, run one command in a bubblewrap
# sandbox, unmount) against the same command in a bare bwrap sandbox over a
# plain native copy of SRC, as ratios measured in one run (these machines
# are noisy: never compare absolute times across runs).
#
#   bench/real-bench.sh                  (as root; make bench-real)
#
# Environment: RUNS (5: rows 2-7), RUNS_BUILD (3: row 1), BUILD_REV (row 1's
# sources: unset, the work tree as it is; else that commit, by git
# archive), WARMUP (1: untimed runs of each side first), RUN_TIMEOUT (300
# s: a run that takes longer is killed and its row marked FAILED), ROWS
# ("0 1 2 3 4 5 6 7": the rows to run), VERBOSE (1: every run's time too),
# BENCH_DIR (/dev/shm when it is a tmpfs, else /tmp; a directory of our own
# is made in it and removed at exit).
#
# Each row runs one command, `sh -c CMD` in /workspace as uid 65534, and
# prints the median wall time of the control and of afs, their ratio
# (afs / control) and the target for the ratio:
#
#   1. make -j2: afs's own sources (git ls-files of this work tree, with
#      the files not yet added but not those ignored, so no build/), built
#      from clean.  Target <= 1.1x.  RUNS_BUILD runs.
#   2. git status in a repository of 30,000 small files in 300 directories
#      (20 commits, packed).  Target <= 2x.
#   3. git log -p | wc -c in that repository.  Target <= 2x.
#   4. git clone -q repo clone2: a local clone (hard links) of it within the
#      workspace.  Target <= 2x.
#   5. mkdir x && tar -xf files.tar -C x: 2,000 files of 1-4 KiB in 40
#      directories.  Target <= 2.5x.
#   6. npm install --offline --no-audit --no-fund: a project depending on 30
#      local packages by file: paths to tarballs made by npm pack (HOME is a
#      tmpfs, so npm's cache starts empty; file: tarballs need no registry,
#      and --offline keeps npm off the network).  No target; skipped
#      without npm.
#   7. find tree -type f -exec sed -i s/foo/bar/ {} +: a codemod over a tree
#      of 2,000 files, every one of them changed (copied up in afs).
#      Target <= 3x.
#
# afs: build/afs-launch -s SRC -p full-access -e PATH=... -e LANG=... -- sh
# -c CMD, as root (it drops to uid 65534 itself; afs-fuse, as root, grants
# the writes by the policy).  Its private delta is made and dropped at each
# exit, so every run starts from the same SRC, which is checked at the end
# to be untouched.  TMPDIR is our work dir, so that the delta is on the same
# filesystem as the control's copy.
#
# Control: the flags of afs-launch/bwrap.c (uid 65534 by setpriv, new user,
# pid, ipc, uts, cgroup and net namespaces, --disable-userns, --die-with-
# parent, --new-session, /usr and the /bin, /sbin, /lib* links read-only,
# private /tmp, /dev, /proc and HOME, the root read-only), except that the
# host's whole /etc is bound read-only, and a native copy of SRC, owned by
# 65534, read-write at /workspace.  The copy is made afresh before each
# control run (cp -a, chown -R), outside the timed region; for the git rows
# the copy's index is then refreshed, also untimed: cp gives every file a
# new inode and ctime, and git would otherwise re-read all 30,000 files,
# which afs (it passes the source's inodes and times through) does not.
#
# The environment of both: PATH=/usr/local/bin:/usr/bin:/bin
# HOME=/home/sandbox LANG=C.UTF-8, and nothing else.
#
# Each side runs WARMUP times untimed, then RUNS times timed, in rounds of
# one run each that alternate which side goes first; every run is timed with
# $EPOCHREALTIME in this one bash process and the figures are medians.  A
# command that fails on either side, warm-up or not, marks its row FAILED
# with its status and the tail of its stderr, and ends the row: a failed
# run is never timed (what the row shows is of the runs before it).  The
# outputs of both sides must be the same (but for npm, which prints its own
# time), else the row is FAILED too.  Both sides run under timeout
# --foreground RUN_TIMEOUT.  Row 0, the launch floor (sh -c true over a
# one-file tree), is shown for scale.
# The exit status is 0 whether or not the targets are met; 1 when the
# benchmark could not run.
# shellcheck disable=SC2317  # cleanup, ctl and afs are called by trap and tm
set -u
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
RUNS=${RUNS:-5}
RUNS_BUILD=${RUNS_BUILD:-3}
WARMUP=${WARMUP:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
ROWS=${ROWS:-0 1 2 3 4 5 6 7}
VERBOSE=${VERBOSE:-}
SB_UID=65534 SB_GID=65534
SB_PATH=/usr/local/bin:/usr/bin:/bin
SB_LANG=C.UTF-8

die() { echo "real-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (afs-launch drops to uid $SB_UID itself; the bare bwrap must too)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (\$EPOCHREALTIME)"
for c in bwrap setpriv fusermount3 timeout git tar sed find make cc pkg-config; do
	command -v "$c" >/dev/null || die "$c is missing"
done
for p in afs-fuse afs-launch; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-real)"
done
git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$TOP is not a git work tree"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
case $RUNS_BUILD in '' | *[!0-9]* | 0) die "RUNS_BUILD must be a positive number" ;; esac
case $WARMUP in '' | *[!0-9]*) die "WARMUP must be a number" ;; esac
case $RUN_TIMEOUT in '' | *[!0-9]* | 0) die "RUN_TIMEOUT must be a positive number" ;; esac
for r in $ROWS; do
	case $r in [0-7]) ;; *) die "ROWS must be row numbers, 0 to 7" ;; esac
done

if [ -n "${BENCH_DIR:-}" ]; then
	BASE=$BENCH_DIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	BASE=/dev/shm
else
	BASE=/tmp
fi
mkdir -p "$BASE" || die "cannot make $BASE"
W=$(mktemp -d "$BASE/afs-real-bench.XXXXXX") || die "cannot make a directory in $BASE"
# The sandbox's uid must reach the control's copy and afs-launch's temp
# dirs (made here: TMPDIR).
chmod 0755 "$W"
CTL=$W/ctl

# Everything we made goes: what is left of our runs (a process whose
# command line names $W: afs-fuse, afs-launch, a sandbox), any mount under
# $W (lazily), the trees.  On Ctrl-C bash waits for the command in the
# foreground, which has the SIGINT too, before it gets here.
cleanup() {
	local i m p left
	trap - INT TERM
	left=$(pgrep -f -- "$W/" | grep -vx "$$")
	if [ -n "$left" ]; then
		echo "real-bench: processes of ours are left (ending them):" >&2
		for p in $left; do
			ps -o pid=,args= -p "$p" >&2
			kill -TERM "$p" 2>/dev/null
		done
		for ((i = 0; i < 50; i++)); do
			left=$(pgrep -f -- "$W/" | grep -vx "$$") || break
			sleep 0.1
		done
		for p in $left; do kill -KILL "$p" 2>/dev/null; done
	fi
	awk -v w="$W/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do
			echo "real-bench: a mount is left at $m (detaching it)" >&2
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
	if grep -F -- "$W/" /proc/self/mountinfo >&2; then
		echo "real-bench: a mount is left under $W; not removing it" >&2
	else
		rm -rf --one-file-system "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if pgrep -f '(^|/)prove( |$)' >/dev/null; then
	echo "# WARNING: a test suite (prove) is running: the figures below are distorted," \
		"and tests/t9101 kills uid-$SB_UID processes it cannot place, such as the control's" >&2
fi

# ---- timing ----------------------------------------------------------------------
# tm FILE SIDE CMD...: run CMD (stdout to $W/out.SIDE, stderr to
# $W/err.SIDE); when it succeeds, append its wall time in microseconds to
# FILE.  CMD's status.  The clock is read without a fork.
tm() {
	local f=$1 side=$2 t0 t1 rc
	shift 2
	t0=${EPOCHREALTIME/./}
	"$@" </dev/null >"$W/out.$side" 2>"$W/err.$side"
	rc=$?
	t1=${EPOCHREALTIME/./}
	[ "$rc" != 0 ] || echo $((t1 - t0)) >>"$f"
	return $rc
}

# stats FILE: "MEDIAN P90" in whole microseconds (p90: nearest rank).
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2 + 0.5)
		r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
		print m, a[r] }'
}
med() { stats "$1" | awk '{print $1}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "PASS" : "FAIL"}'; }

# ---- the trees ---------------------------------------------------------------------
# mkfiles DIR FILES DIRS MIN MAX SEED: FILES text files of MIN to MAX bytes,
# each different, round-robin over DIRS directories d000...; every line has
# "foo" in it.  The same SEED makes the same tree.
mkfiles() {
	mkdir -p "$1" && seq -f "$1/d%03g" 0 $(($3 - 1)) | xargs mkdir -p &&
		awk -v dir="$1" -v n="$2" -v nd="$3" -v lo="$4" -v hi="$5" -v seed="$6" 'BEGIN {
		srand(seed)
		for (i = 0; i < n; i++) {
			f = sprintf("%s/d%03d/f%05d.txt", dir, i % nd, i)
			size = lo + int(rand() * (hi - lo + 1))
			s = ""
			for (k = 0; length(s) < size; k++)
				s = s sprintf("%d.%d foo: the quick brown fox jumps over the lazy dog\n", i, k)
			printf "%s", substr(s, 1, size) > f
			close(f)
		}
	}'
}

# A one-file tree, for the floor.
SRC_FLOOR=$W/src.floor
if ! mkdir -p "$SRC_FLOOR" || ! echo hello >"$SRC_FLOOR/hello"; then
	die "cannot make $SRC_FLOOR"
fi

# 1. afs's sources: the work tree's copy of each file git has or would
# add (build/ is ignored; a file deleted but not yet from git is left
# out), or BUILD_REV's.
SRC_BUILD=$W/src.build
t0=${EPOCHREALTIME/./}
mkdir -p "$SRC_BUILD" || die "cannot make $SRC_BUILD"
if [ -n "${BUILD_REV:-}" ]; then
	git -C "$TOP" archive --format=tar "$BUILD_REV" | tar -xf - -C "$SRC_BUILD" ||
		die "cannot copy afs's sources at $BUILD_REV"
else
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$SRC_BUILD" ||
		die "cannot copy afs's sources"
fi
[ ! -e "$SRC_BUILD/build" ] || die "a build/ dir came with the sources"

# 2-4. A repository of 30,000 files in 300 directories, 20 commits (the
# later ones change 50 files each), packed; its index made a second after
# the last write, so that no entry in it is racily clean.
SRC_GIT=$W/src.git
REPO=$SRC_GIT/repo
G=(git -C "$REPO" -c user.name=bench -c user.email=bench@example.invalid -c gc.auto=0
	-c init.defaultBranch=main -c core.hooksPath=/dev/null)
mkfiles "$REPO" 30000 300 200 1200 7 || die "cannot make the repository's files"
{
	"${G[@]}" init -q && "${G[@]}" add -A && "${G[@]}" commit -q -m "30000 files"
} || die "cannot make the repository"
for ((c = 1; c < 20; c++)); do
	for ((j = 0; j < 50; j++)); do
		i=$(((c * 997 + j * 613) % 30000))
		printf 'change %d foo\n' "$c" >>"$REPO/$(printf 'd%03d/f%05d.txt' $((i % 300)) "$i")"
	done
	"${G[@]}" commit -q -a -m "change $c" || die "cannot commit change $c"
done
"${G[@]}" gc -q || die "git gc failed"

# 5. A tarball of 2,000 files of 1-4 KiB in 40 directories.
SRC_TAR=$W/src.tar
mkdir -p "$SRC_TAR" || die "cannot make $SRC_TAR"
mkfiles "$W/files" 2000 40 1024 4096 5 || die "cannot make the files to tar"
tar -C "$W/files" -cf "$SRC_TAR/files.tar" . || die "cannot make files.tar"
rm -rf "$W/files"

# 6. Thirty local packages, packed by npm pack, and a project that needs
# them all by file: paths to the tarballs.
SRC_NPM=$W/src.npm
NPM=
if command -v npm >/dev/null; then
	NPM=$(npm --version 2>/dev/null)
	p=$W/npm-pkgs
	mkdir -p "$SRC_NPM/tarballs" "$W/npm-home" || die "cannot make $SRC_NPM"
	deps=
	for ((i = 1; i <= 30; i++)); do
		n=$(printf 'afs-bench-pkg-%02d' "$i")
		mkdir -p "$p/$n"
		printf '{"name": "%s", "version": "1.0.%d", "main": "index.js", "license": "MIT"}\n' \
			"$n" "$i" >"$p/$n/package.json"
		printf 'module.exports = function () { return %d; };\n' "$i" >"$p/$n/index.js"
		deps="$deps${deps:+,}
    \"$n\": \"file:tarballs/$n-1.0.$i.tgz\""
	done
	# Packed outside the sandbox, with a cache of our own.
	(cd "$p" && HOME=$W/npm-home npm pack --silent --offline --cache "$W/npm-home/cache" \
		--pack-destination "$SRC_NPM/tarballs" ./afs-bench-pkg-* >/dev/null 2>"$W/npm-pack.err") ||
		die "npm pack failed: $(tail -n 5 "$W/npm-pack.err")"
	printf '{\n  "name": "afs-bench-project",\n  "version": "1.0.0",\n  "private": true,\n  "dependencies": {%s\n  }\n}\n' \
		"$deps" >"$SRC_NPM/package.json"
	[ "$(find "$SRC_NPM/tarballs" -name '*.tgz' | wc -l)" = 30 ] || die "npm pack made no 30 tarballs"
	rm -rf "$p" "$W/npm-home"
fi

# 7. A tree of 2,000 files, every one with "foo" in it.
SRC_SED=$W/src.sed
mkfiles "$SRC_SED/tree" 2000 40 1024 4096 3 || die "cannot make the codemod's tree"

# Every tree is the sandbox's (the control's copies keep that), and is
# never changed again: a fingerprint of each is checked at the end.
chown -R "$SB_UID:$SB_GID" "$W"/src.* || die "cannot chown the trees"
# The repository's index last (the chown changed every ctime and uid),
# and by its owner, a second after the last write to a file, so that no
# entry in it is stale or racily clean.
sleep 1.1
rm -f "$REPO/.git/index"
# sbgit DIR ARG...: git -C DIR ARG... as the sandbox's uid.
sbgit() {
	local d=$1
	shift
	env -i PATH="$SB_PATH" HOME=/nonexistent setpriv --reuid="$SB_UID" --regid="$SB_GID" \
		--clear-groups git -C "$d" "$@"
}
sbgit "$REPO" reset -q || die "cannot make the repository's index"
[ -z "$(sbgit "$REPO" status --porcelain)" ] || die "the repository is not clean"
fingerprint() { find "$1" -printf '%p %y %s %m %U %G %T@ %n\n' | sort | md5sum; }
for s in "$W"/src.*; do
	fingerprint "$s" >"$s.fp"
done
echo "# made the trees in $W in $(ms $((${EPOCHREALTIME/./} - t0))) ms" >&2

# ---- the rows -------------------------------------------------------------------
# Row I: NAME, CMD (in /workspace), SRC, TARGET (a ratio, or - for none),
# NR (timed runs), GITREFRESH (1: refresh the control copy's index),
# SAME (1: the outputs of both sides must be equal), SKIP (why not).
NAME=() CMD=() SRC=() TARGET=() NR=() GITREFRESH=() SAME=() SKIP=()
addrow() {
	NAME+=("$1") CMD+=("$2") SRC+=("$3") TARGET+=("$4") NR+=("$5") GITREFRESH+=("$6")
	SAME+=("$7") SKIP+=("${8:-}")
}
addrow "0. floor: true" "true" "$SRC_FLOOR" - "$RUNS" 0 1
addrow "1. make -j2 (afs sources, clean)" "make -j2" "$SRC_BUILD" 1.1 "$RUNS_BUILD" 0 1
addrow "2. git status (30,000 files)" "cd repo && git status" "$SRC_GIT" 2 "$RUNS" 1 1
addrow "3. git log -p | wc -c" "cd repo && git log -p | wc -c" "$SRC_GIT" 2 "$RUNS" 1 1
addrow "4. git clone -q repo clone2" "git clone -q repo clone2" "$SRC_GIT" 2 "$RUNS" 1 1
addrow "5. tar -xf (2,000 files)" "mkdir x && tar -xf files.tar -C x" "$SRC_TAR" 2.5 "$RUNS" 0 1
if [ -n "$NPM" ]; then
	addrow "6. npm install --offline (30 pkgs)" "npm install --offline --no-audit --no-fund" \
		"$SRC_NPM" - "$RUNS" 0 0
else
	addrow "6. npm install --offline (30 pkgs)" "" "$SRC_NPM" - "$RUNS" 0 0 "npm is not installed"
fi
addrow "7. sed -i over 2,000 files" "find tree -type f -exec sed -i s/foo/bar/ {} +" \
	"$SRC_SED" 3 "$RUNS" 0 1
for ((r = 0; r < ${#NAME[@]}; r++)); do
	case " $ROWS " in *" $r "*) ;; *) SKIP[r]="not in ROWS" ;; esac
done

# ---- the two sides ------------------------------------------------------------------
BARE=(setpriv --reuid="$SB_UID" --regid="$SB_GID" --clear-groups
	bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup
	--disable-userns --unshare-net --uid "$SB_UID" --gid "$SB_GID" --hostname afs
	--die-with-parent --new-session --as-pid-1
	--ro-bind /usr /usr)
for p in /bin /sbin /lib /lib32 /lib64 /libx32; do
	if [ -L "$p" ]; then
		BARE+=(--symlink "$(readlink "$p")" "$p")
	elif [ -d "$p" ]; then
		BARE+=(--ro-bind "$p" "$p")
	fi
done
BARE+=(--ro-bind /etc /etc
	--proc /proc --dev /dev --tmpfs /tmp --perms 0700 --tmpfs /home/sandbox
	--bind "$CTL" /workspace --remount-ro / --chdir /workspace)

# The control's copy of row $1's tree, afresh (untimed).
prep_ctl() {
	rm -rf --one-file-system "$CTL" && cp -a "${SRC[$1]}" "$CTL" &&
		chown -R "$SB_UID:$SB_GID" "$CTL" || return 1
	[ "${GITREFRESH[$1]}" = 1 ] || return 0
	sbgit "$CTL/repo" update-index -q --refresh
}
ctl() {
	timeout --foreground -k 10 "$RUN_TIMEOUT" env -i PATH="$SB_PATH" HOME=/home/sandbox \
		LANG="$SB_LANG" "${BARE[@]}" sh -c "${CMD[$1]}"
}
afs() {
	timeout --foreground -k 10 "$RUN_TIMEOUT" env -u TERM TMPDIR="$W" \
		"$B/afs-launch" -s "${SRC[$1]}" -p full-access -e PATH="$SB_PATH" -e LANG="$SB_LANG" \
		-- sh -c "${CMD[$1]}"
}

# run ROW SIDE FILE: one run of ROW on SIDE (ctl or afs), timed into FILE.
# 0; or 1, with why in FAILED[ROW].
FAILED=()
run() {
	local r=$1 side=$2 rc where=control why=
	if [ "$side" = ctl ] && ! prep_ctl "$r" >"$W/err.prep" 2>&1; then
		FAILED[r]="could not make the control's copy: $(tail -n 5 "$W/err.prep")"
		return 1
	fi
	tm "$3" "$side" "$side" "$r" && return 0
	rc=$?
	[ "$side" = ctl ] || where="afs sandbox"
	if [ "$rc" = 124 ]; then
		why=": timed out after $RUN_TIMEOUT s"
	elif [ "$rc" -gt 128 ]; then
		why=": killed by signal $((rc - 128)), from within or from outside"
	fi
	FAILED[r]="the command failed in the $where (status $rc$why)"
	FAILED[r]+=$'\n'"    command: sh -c '${CMD[r]}' in ${SRC[r]}"
	if [ -s "$W/err.$side" ]; then
		FAILED[r]+=$'\n'"    its stderr, last lines:"$'\n'"$(tail -n 15 "$W/err.$side" | sed 's/^/      /')"
	else
		FAILED[r]+=$'\n'"    its stderr: (empty)"
	fi
	return 1
}

echo "# afs real work against bare bwrap over a native copy; $(nproc) cores; $(uname -r);" \
	"bwrap $(bwrap --version | awk '{print $2}'); git $(git --version | awk '{print $3}');" \
	"npm ${NPM:-none}; trees in $W"
for ((r = 0; r < ${#NAME[@]}; r++)); do
	[ -z "${SKIP[r]}" ] || continue
	t0=${EPOCHREALTIME/./}
	for ((i = -WARMUP; i < NR[r]; i++)); do
		f=$W/t.$r
		((i >= 0)) || f=$W/warm
		if (((i + WARMUP) % 2)); then order="afs ctl"; else order="ctl afs"; fi
		for side in $order; do
			run "$r" "$side" "$f.$side" || break 2
		done
		# The outputs, compared on the last round.
		if [ "${SAME[r]}" = 1 ] && ((i == NR[r] - 1)) &&
			! cmp -s "$W/out.ctl" "$W/out.afs"; then
			FAILED[r]="the outputs differ (control, afs):"$'\n'"$(diff "$W/out.ctl" \
				"$W/out.afs" | head -n 10 | sed 's/^/      /')"
		fi
	done
	echo "# ${NAME[r]}: $(ms $((${EPOCHREALTIME/./} - t0))) ms${FAILED[r]:+ (FAILED)}" >&2
done
rm -rf --one-file-system "$CTL"

# ---- the table ----------------------------------------------------------------------
echo
echo "## afs-launch -s SRC -p full-access -- sh -c CMD against bare bwrap over a native copy;"
echo "## medians of RUNS=$RUNS (row 1: RUNS_BUILD=$RUNS_BUILD) runs each, alternating, after $WARMUP warm-up"
printf '  %-36s %12s %12s %8s %8s %s\n' row control_ms afs_ms ratio target result
for ((r = 0; r < ${#NAME[@]}; r++)); do
	t=${TARGET[r]} tt=-
	[ "$t" = - ] || tt="<= ${t}x"
	if [ -n "${SKIP[r]}" ]; then
		printf '  %-36s %12s %12s %8s %8s %s\n' "${NAME[r]}" - - - "$tt" "SKIPPED (${SKIP[r]})"
		continue
	fi
	c=- a=- x=- v=FAILED
	if [ -s "$W/t.$r.ctl" ] && [ -s "$W/t.$r.afs" ]; then
		c=$(med "$W/t.$r.ctl") a=$(med "$W/t.$r.afs")
		x=$(ratio "$a" "$c")x
		c=$(ms "$c") a=$(ms "$a")
	fi
	if [ -z "${FAILED[r]:-}" ]; then
		if [ "$t" = - ]; then v=INFO; else v=$(verdict "${x%x}" "$t"); fi
	fi
	printf '  %-36s %12s %12s %8s %8s %s\n' "${NAME[r]}" "$c" "$a" "$x" "$tt" "$v"
done
if [ -n "$VERBOSE" ]; then
	echo
	echo "## every timed run, ms, in order (control / afs)"
	for ((r = 0; r < ${#NAME[@]}; r++)); do
		for side in ctl afs; do
			[ -s "$W/t.$r.$side" ] || continue
			printf '  %-36s %-4s %s\n' "${NAME[r]}" "$side" \
				"$(awk '{printf "%s%.1f", (NR > 1) ? " " : "", $1 / 1000}' "$W/t.$r.$side")"
		done
	done
fi
for ((r = 0; r < ${#NAME[@]}; r++)); do
	[ -n "${FAILED[r]:-}" ] || continue
	printf '\nFAILED %s: %s\n' "${NAME[r]}" "${FAILED[r]}"
done

# SRC must be as it was: afs dropped every write with its delta.
echo
for s in "$W"/src.*/; do
	s=${s%/}
	if [ "$(fingerprint "$s")" != "$(cat "$s.fp")" ]; then
		echo "FAILED: $s changed during the benchmark (afs must keep every write in its delta)"
	fi
done
if grep -F -- "$W/" /proc/self/mountinfo | grep -q fuse; then
	echo "FAILED: a FUSE mount is left under $W"
else
	echo "# no FUSE mount left under $W; every source tree unchanged unless said above"
fi
exit 0
