#!/bin/bash
# bench/session-bench.sh - what a command costs in a persistent afs-session
# shell: the exec round trip against a bare fork+exec and against a fresh
# afs-launch sandbox, whether a long run of execs leaks, the throughput of
# its output, and concurrent clients; as medians and ratios measured in one
# run (these machines are noisy: never compare absolute times across runs).
#
#   bench/session-bench.sh               (as root; make bench-session)
#
# Environment: RUNS (500), SEQ (1000), CLIENTS (4), PER_CLIENT (SEQ /
# CLIENTS), THRU_RUNS (5), BYTES (100000000), BENCH_DIR (/dev/shm when it
# is a tmpfs, else /tmp; a directory of our own is made in it and removed
# at exit), PROVE_WAIT (1800: how long to wait for a running test suite
# before measuring anyway), AGENTFENSE_REF (the AgentFense SDK overview
# quoted for reference).
#
# One session (afs-session start -s SRC -p agent-safe, its state in a
# private AFS_RUNTIME_DIR of ours) serves every step:
#
#   1. afs-session exec S true, RUNS times, against a fork+exec of
#      /bin/true (the floor of running any client program) and against
#      afs-launch -m MNT -- true (a fresh sandbox per command; MNT an
#      afs-fuse mount of a small tree), alternating.  Target: median
#      <= 2 ms.  AgentFense's own session.exec() claim is quoted.
#   2. SEQ execs in a row: open fds and VmRSS of the supervisor and of
#      every process under it (afs-launch, afs-fuse, bwrap, the shim, the
#      sandbox's bash), before and after, and execs/s.  Targets: no fd
#      growth; the supervisor's RSS grows <= 512 KiB.
#   3. afs-session exec S 'head -c BYTES /dev/zero' | wc -c against the
#      same pipeline natively, THRU_RUNS each, alternating: MB/s (10^6).
#      The supervisor's VmRSS after it is shown: its reply queue (up to
#      QUEUE_HIGH, 1 MiB, under a fast writer) is kept for the next request.
#   4. CLIENTS clients at once, PER_CLIENT execs each: total time and
#      execs/s against step 2's sequential rate (the session runs one
#      request at a time; the clients' own start-up overlaps).
#
# Every command is timed with $EPOCHREALTIME in this one bash process (no
# fork for the clock), or in a subshell of it for the concurrent clients.
# At exit the session is stopped and everything made is removed; the
# count of fuse.afs mounts before and after is shown.  The exit status is
# 0 whether or not the targets are met; 1 when the benchmark could not run.
set -u
export LC_ALL=C
shopt -s nullglob
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
RUNS=${RUNS:-500}
SEQ=${SEQ:-1000}
CLIENTS=${CLIENTS:-4}
THRU_RUNS=${THRU_RUNS:-5}
BYTES=${BYTES:-100000000}
PROVE_WAIT=${PROVE_WAIT:-1800}
REF=${AGENTFENSE_REF:-$TOP/../shared/reference/agentfense-sdk-overview.md}
SB_UID=65534
TARGET_MS=2
RSS_MAX_KIB=512

die() { echo "session-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (afs-launch mounts with afs-fuse and drops to uid $SB_UID)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (\$EPOCHREALTIME)"
for c in bwrap fusermount3 ps pgrep head wc; do
	command -v "$c" >/dev/null || die "$c is missing"
done
for p in afs-fuse afs-launch afs-session; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-session)"
done
for v in RUNS SEQ CLIENTS THRU_RUNS BYTES; do
	case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive number" ;; esac
done
PER_CLIENT=${PER_CLIENT:-$(((SEQ + CLIENTS - 1) / CLIENTS))}
case $PER_CLIENT in '' | *[!0-9]* | 0) die "PER_CLIENT must be a positive number" ;; esac
case $PROVE_WAIT in '' | *[!0-9]*) die "PROVE_WAIT must be a number" ;; esac

# A test suite running beside us would distort every figure: wait for it.
waited=0
while pgrep -f '(^|/)prove( |$)' >/dev/null; do
	if [ "$waited" = 0 ]; then
		echo "# a test suite (prove) is running: waiting up to ${PROVE_WAIT}s for it to end" >&2
	fi
	if [ "$waited" -ge "$PROVE_WAIT" ]; then
		echo "# WARNING: a test suite (prove) is still running: the figures below are distorted" >&2
		break
	fi
	sleep 5
	waited=$((waited + 5))
done

if [ -n "${BENCH_DIR:-}" ]; then
	BASE=$BENCH_DIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	BASE=/dev/shm
else
	BASE=/tmp
fi
mkdir -p "$BASE" || die "cannot make $BASE"
MOUNTS_BEFORE=$(grep -c fuse.afs /proc/mounts)
W=$(mktemp -d "$BASE/afs-session-bench.XXXXXX") || die "cannot make a directory in $BASE"
# The sandbox's uid must reach the trees (afs-fuse serves them to it).
chmod 0755 "$W"
RT=$W/runtime
mkdir -m 0700 "$RT" || die "cannot make $RT"
export AFS_RUNTIME_DIR=$RT
NAME=bench-$$
MNT=$W/mnt
fuse_pid="" SESSION_UP="" SUP="" CLEANED=""
declare -a PIDS=() cpids=()	# cpids: our concurrent clients, while they run		# the session's processes: supervisor first
declare -A LABEL=() START=()	# by pid: what it is, its start time (stat field 22)
declare -A FDN=() RSS=()	# by TAG:PID

# starttime PID: field 22 of /proc/PID/stat (empty when it is gone); with
# the pid, it names one process even if the pid is reused.
starttime() {
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 0
	s=${s##*) }
	set -- $s
	echo "${20}"
}
alive() { [ -n "$(starttime "$1")" ] && [ "$(starttime "$1")" = "${START[$1]}" ]; }

# Everything we made goes: the session (afs-session stop ends its shell and
# its mount), what is left of its processes (by recorded pid), our own
# afs-fuse, any mount of ours left, the directory.  Says what is left.
cleanup() {
	local i m p left=0
	[ -n "$CLEANED" ] && return 0
	CLEANED=1
	trap - INT TERM
	# Concurrent clients still running (interrupted in step 4).
	for p in "${cpids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	[ "${#cpids[@]}" = 0 ] || wait "${cpids[@]}" 2>/dev/null
	if [ -n "$SESSION_UP" ]; then
		"$B/afs-session" stop "$NAME" >/dev/null 2>>"$W/err.log" ||
			echo "session-bench: afs-session stop $NAME failed" >&2
	fi
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			alive "$p" || break
			sleep 0.1
		done
		if alive "$p"; then
			echo "session-bench: ${LABEL[$p]} (pid $p) outlived the stop; killing it" >&2
			kill -KILL "$p" 2>/dev/null
			left=$((left + 1))
		fi
	done
	LEFT_PROCS=$left
	# The session's mount carries its name as the source.
	awk -v s="afs:$NAME" '$1 == s && $3 == "fuse.afs" {print $2}' /proc/self/mounts |
		while read -r m; do
			echo "session-bench: the session's mount $m was left; unmounting it" >&2
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		done
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
		echo "session-bench: a mount is left under $W; not removing it" >&2
	else
		rm -rf --one-file-system "$W"
	fi
	MOUNTS_AFTER=$(grep -c fuse.afs /proc/mounts)
}
on_exit() {
	[ -n "$CLEANED" ] && return
	# A signal's trap runs where the script was: perhaps inside tm, whose
	# command has its output sent away.  Our own output back.
	exec 1>&"$OUT_FD" 2>&"$ERR_FD"
	cleanup
	echo "# cleanup: fuse.afs mounts before $MOUNTS_BEFORE, after $MOUNTS_AFTER; session processes killed: $LEFT_PROCS" >&2
}
LEFT_PROCS=0 MOUNTS_AFTER=
exec {OUT_FD}>&1 {ERR_FD}>&2
trap on_exit EXIT
trap 'exit 130' INT TERM

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
	echo "session-bench: '$label' failed (status $?); its last messages:" >&2
	tail -n 15 "$W/err.log" >&2
	exit 1
}

# stats FILE: "MEDIAN P90 MAX" in whole microseconds (p90: nearest rank).
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2 + 0.5)
		r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
		print m, a[r], a[NR] }'
}
med() { stats "$1" | awk '{print $1}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
rate() { awk -v n="$1" -v u="$2" 'BEGIN {printf "%.0f", (u > 0) ? n * 1e6 / u : 0}'; }
mbs() { awk -v b="$1" -v u="$2" 'BEGIN {printf "%.0f", (u > 0) ? b / u : 0}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "PASS" : "FAIL"}'; }
row() {	# row LABEL FILE [BASELINE_MEDIAN_US]
	local s m p
	s=$(stats "$2")
	set -- "$1" "$2" "${3:-}" $s
	m=$4 p=$5
	if [ -n "$3" ]; then
		printf '  %-40s %10s %10s %9sx\n' "$1" "$(ms "$m")" "$(ms "$p")" "$(ratio "$m" "$3")"
	else
		printf '  %-40s %10s %10s %10s\n' "$1" "$(ms "$m")" "$(ms "$p")" -
	fi
}
header() { printf '  %-40s %10s %10s %10s\n' command median_ms p90_ms "$1"; }

# ---- the session's processes ----------------------------------------------------
# discover: the supervisor and everything under it, by pid, labelled.
discover() {
	local pid ppid uid comm label
	declare -A cm=()
	PIDS=()
	while read -r pid ppid uid comm; do
		cm[$pid]=$comm
		label=$comm
		if [ "$pid" = "$SUP" ]; then
			label="supervisor (afs-session)"
		elif [ "$comm" = bwrap ]; then
			label="bwrap"
		elif [ "$comm" = bash ] && [ "$uid" = "$SB_UID" ]; then
			label="shell (bash, uid $SB_UID)"
		elif [ "$comm" = afs-launch ] && [ "${cm[$ppid]:-}" = afs-launch ]; then
			label="afs-launch (its guardian)"
		elif tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--afs-shim'; then
			label="shim (pid 1 in the sandbox)"
		fi
		PIDS+=("$pid")
		LABEL[$pid]=$label
		START[$pid]=$(starttime "$pid")
	done < <(ps -e -o pid=,ppid=,uid=,comm= | awk -v root="$SUP" '
		{ pp[$1] = $2; uid[$1] = $3; comm[$1] = $4 }
		END {
			in_[root] = 1; n = 1
			do { c = 0; for (p in pp) if (!(p in in_) && (pp[p] in in_)) { in_[p] = 1; c++ } } while (c)
			for (p in in_) if (p in pp) print p, pp[p], uid[p], comm[p]
		}' | sort -n)
}

# snap TAG: open fds and VmRSS (KiB) of each of the session's processes.
snap() {
	local p k v fds rss
	for p in "${PIDS[@]}"; do
		if alive "$p"; then
			fds=("/proc/$p/fd/"*)
			FDN[$1:$p]=${#fds[@]}
			rss=-
			while read -r k v _; do
				[ "$k" = VmRSS: ] && rss=$v && break
			done <"/proc/$p/status"
			RSS[$1:$p]=$rss
		else
			FDN[$1:$p]=gone RSS[$1:$p]=gone
		fi
	done
}
delta() { case $1$2 in *[!0-9]*) echo "?" ;; *) printf '%+d' $(($2 - $1)) ;; esac; }

# ---- the trees, the mount, the session ------------------------------------------
for t in src msrc; do
	mkdir -p "$W/$t/sub"
	for ((i = 0; i < 20; i++)); do
		echo "file $i" >"$W/$t/f$i.txt"
		echo "file $i" >"$W/$t/sub/g$i.txt"
	done
	echo secret >"$W/$t/.env"
done

mkdir -p "$MNT"
mkfifo "$W/ready"
"$B/afs-fuse" -f --ready-fd 3 -p agent-safe --allow-uid "$SB_UID" "$W/msrc" "$MNT" \
	3>"$W/ready" 2>>"$W/afs-fuse.err" &
fuse_pid=$!
read -r -t 20 line <"$W/ready"
[ "${line:-}" = ready ] || die "afs-fuse did not start: $(cat "$W/afs-fuse.err")"

SESSION_UP=1
t0=${EPOCHREALTIME/./}
"$B/afs-session" start --name "$NAME" -s "$W/src" -p agent-safe >/dev/null 2>>"$W/err.log" ||
	die "afs-session start failed: $(tail -n 15 "$W/err.log")"
START_US=$((${EPOCHREALTIME/./} - t0))
SUP=$("$B/afs-session" list --json | grep -o "\"name\":\"$NAME\",\"pid\":[0-9]*" | grep -o '[0-9]*$')
[ -n "$SUP" ] || die "afs-session list does not show $NAME"
discover
snap start

noop() { :; }
floor() { /bin/true; }
sx() { "$B/afs-session" exec "$NAME" true; }
launch_m() { "$B/afs-launch" -m "$MNT" -- true; }

echo "# afs-session exec round trip; $(nproc) cores; $(uname -r); bwrap $(bwrap --version | awk '{print $2}');" \
	"load $(cut -d' ' -f1-3 /proc/loadavg); session $NAME, supervisor pid $SUP; in $W"

# The first exec after start, alone; then a warm-up that checks each works.
must "afs-session exec (first)" "$W/t.first" sx
FIRST=$(med "$W/t.first")
for ((i = 0; i < 5; i++)); do
	must "afs-session exec" "$W/warm" sx
	must "afs-launch -m" "$W/warm" launch_m
	must "/bin/true" "$W/warm" floor
done
# State persists: a check that the session is the shell we think it is.
"$B/afs-session" exec "$NAME" 'cd sub && X=42' </dev/null >/dev/null 2>>"$W/err.log" &&
	out2=$("$B/afs-session" exec "$NAME" 'echo "$PWD $X $(id -u)"; cd /workspace' 2>>"$W/err.log")
[ "${out2:-}" = "/workspace/sub 42 $SB_UID" ] || die "the session does not keep its state (got '${out2:-}')"

# ---- 1. the round trip ------------------------------------------------------------
for ((i = 0; i < RUNS; i++)); do
	tm "$W/t.noop" noop
	must "/bin/true" "$W/t.true" floor
	if ((i % 2)); then
		must "afs-launch -m" "$W/t.launch" launch_m
		must "afs-session exec" "$W/t.exec" sx
	else
		must "afs-session exec" "$W/t.exec" sx
		must "afs-launch -m" "$W/t.launch" launch_m
	fi
done
NOOP=$(med "$W/t.noop") TRUE=$(med "$W/t.true") EX=$(med "$W/t.exec") LM=$(med "$W/t.launch")
read -r _ EX_P90 EX_MAX < <(stats "$W/t.exec")
echo
echo "## 1. afs-session exec S true, round trip; $RUNS runs each, alternating"
printf '  floor: the timer itself %s us; a fork+exec of /bin/true is the floor of any client program\n' "$NOOP"
header "x /bin/true"
row "fork+exec /bin/true" "$W/t.true" "$TRUE"
row "afs-session exec S true" "$W/t.exec" "$TRUE"
row "afs-launch -m MNT -- true (new sandbox)" "$W/t.launch" "$TRUE"
printf '  afs-session exec: max %s ms; net of the /bin/true floor %s ms\n' "$(ms "$EX_MAX")" "$(ms $((EX - TRUE)))"
printf '  a fresh sandbox per command costs %sx the session exec (%s ms more)\n' "$(ratio "$LM" "$EX")" \
	"$(ms $((LM - EX)))"
printf '  afs-session start: %s ms; the first exec after it: %s ms (%sx the median)\n' "$(ms "$START_US")" \
	"$(ms "$FIRST")" "$(ratio "$FIRST" "$EX")"
if [ -r "$REF" ]; then
	CLAIM=$(awk -F'|' 'index($2, "session.exec()") {gsub(/^ +| +$/, "", $3); print $3; exit}' "$REF")
	LO=$(echo "$CLAIM" | grep -o '[0-9.]\+' | head -n 1)
	if [ -n "$LO" ]; then
		printf '  reference: AgentFense claims session.exec() %s (%s; its own figure, not measured here): ours is %sx its low end\n' \
			"$CLAIM" "$(basename "$REF")" "$(ratio "$EX" $((LO * 1000)))"
	else
		echo "  reference: no session.exec() line in $REF"
	fi
else
	echo "  reference: $REF not found"
fi

# ---- 2. a long run: fds, memory, rate ---------------------------------------------
snap before
t0=${EPOCHREALTIME/./}
for ((i = 0; i < SEQ; i++)); do
	must "afs-session exec" "$W/t.seq" sx
done
SEQ_US=$((${EPOCHREALTIME/./} - t0))
snap after
SEQ_RATE=$(rate "$SEQ" "$SEQ_US")
read -r SQ_M SQ_P90 SQ_MAX < <(stats "$W/t.seq")
FD_BAD=
echo
echo "## 2. $SEQ sequential execs of true: open fds and VmRSS before and after"
printf '  %-30s %7s %7s %7s %6s %9s %9s %8s\n' process pid fds fds_aft delta rss_kib rss_aft delta
for p in "${PIDS[@]}"; do
	d=$(delta "${FDN[before:$p]}" "${FDN[after:$p]}")
	printf '  %-30s %7s %7s %7s %6s %9s %9s %8s\n' "${LABEL[$p]}" "$p" "${FDN[before:$p]}" \
		"${FDN[after:$p]}" "$d" "${RSS[before:$p]}" "${RSS[after:$p]}" \
		"$(delta "${RSS[before:$p]}" "${RSS[after:$p]}")"
	case $d in
	+0) ;;
	'?') FD_BAD="${FD_BAD:+$FD_BAD, }${LABEL[$p]} gone" ;;
	*) FD_BAD="${FD_BAD:+$FD_BAD, }${LABEL[$p]} $d" ;;
	esac
done
RSS_D=$(delta "${RSS[before:$SUP]}" "${RSS[after:$SUP]}")
printf '  %s execs in %s ms: %s execs/s; per exec median %s ms, p90 %s ms, max %s ms\n' "$SEQ" \
	"$(ms "$SEQ_US")" "$SEQ_RATE" "$(ms "$SQ_M")" "$(ms "$SQ_P90")" "$(ms "$SQ_MAX")"

# ---- 3. throughput -----------------------------------------------------------------
# The byte count is checked, and the exec's status (PIPESTATUS in the
# command substitution).
thru() {	# thru FILE native|session
	local t0 t1 n rc
	t0=${EPOCHREALTIME/./}
	if [ "$2" = native ]; then
		n=$(head -c "$BYTES" /dev/zero | wc -c; exit "${PIPESTATUS[0]}")
	else
		n=$("$B/afs-session" exec "$NAME" "head -c $BYTES /dev/zero" 2>>"$W/err.log" | wc -c
			exit "${PIPESTATUS[0]}")
	fi
	rc=$?
	t1=${EPOCHREALTIME/./}
	[ "$rc" = 0 ] && [ "$n" = "$BYTES" ] ||
		die "$2 throughput run: status $rc, $n bytes of $BYTES: $(tail -n 5 "$W/err.log")"
	echo $((t1 - t0)) >>"$1"
}
thru "$W/warm" session
for ((i = 0; i < THRU_RUNS; i++)); do
	if ((i % 2)); then
		thru "$W/t.tn" native
		thru "$W/t.ts" session
	else
		thru "$W/t.ts" session
		thru "$W/t.tn" native
	fi
done
TN=$(med "$W/t.tn") TS=$(med "$W/t.ts")
TN_MBS=$(mbs "$BYTES" "$TN") TS_MBS=$(mbs "$BYTES" "$TS")
snap thru
echo
echo "## 3. throughput: head -c $BYTES /dev/zero | wc -c; median of $THRU_RUNS, alternating"
header "MB/s"
for f in tn ts; do
	read -r m p _ < <(stats "$W/t.$f")
	printf '  %-40s %10s %10s %10s\n' \
		"$([ $f = tn ] && echo "native" || echo "afs-session exec S 'head -c ...'")" \
		"$(ms "$m")" "$(ms "$p")" "$(mbs "$BYTES" "$m")"
done
printf '  native %s MB/s; through the session %s MB/s: %sx native\n' "$TN_MBS" "$TS_MBS" \
	"$(ratio "$TS_MBS" "$TN_MBS")"
printf '  supervisor VmRSS after this step: %s KiB (%s since step 2)\n' "${RSS[thru:$SUP]}" \
	"$(delta "${RSS[after:$SUP]}" "${RSS[thru:$SUP]}")"

# ---- 4. concurrent clients ----------------------------------------------------------
client() {	# client K: PER_CLIENT execs, each timed; failures counted
	local k=$1 i t0 t1 bad=0
	for ((i = 0; i < PER_CLIENT; i++)); do
		t0=${EPOCHREALTIME/./}
		"$B/afs-session" exec "$NAME" true </dev/null >/dev/null 2>>"$W/err.$k" || bad=$((bad + 1))
		t1=${EPOCHREALTIME/./}
		echo $((t1 - t0)) >>"$W/t.conc.$k"
	done
	echo "$bad" >"$W/bad.$k"
}
cpids=()
t0=${EPOCHREALTIME/./}
for ((k = 0; k < CLIENTS; k++)); do
	client "$k" &
	cpids+=($!)
done
wait "${cpids[@]}"
cpids=()
CONC_US=$((${EPOCHREALTIME/./} - t0))
cat "$W"/t.conc.* >"$W/t.conc"
BAD=$(cat "$W"/bad.* | awk '{s += $1} END {print s + 0}')
if [ "$BAD" != 0 ]; then
	echo "session-bench: $BAD of the concurrent execs failed; their last messages:" >&2
	cat "$W"/err.[0-9]* | tail -n 15 >&2
	exit 1
fi
CONC_N=$((CLIENTS * PER_CLIENT))
CONC_RATE=$(rate "$CONC_N" "$CONC_US")
read -r CC_M CC_P90 CC_MAX < <(stats "$W/t.conc")
# A short check that concurrent clients each get their own output.
check() {
	local k=$1 i o mism=0
	for ((i = 0; i < 25; i++)); do
		o=$("$B/afs-session" exec "$NAME" "echo c$k.$i" 2>>"$W/err.$k")
		[ "$o" = "c$k.$i" ] || mism=$((mism + 1))
	done
	echo "$mism" >"$W/mism.$k"
}
cpids=()
for ((k = 0; k < CLIENTS; k++)); do
	check "$k" &
	cpids+=($!)
done
wait "${cpids[@]}"
cpids=()
MISM=$(cat "$W"/mism.* | awk '{s += $1} END {print s + 0}')
echo
echo "## 4. $CLIENTS concurrent clients, $PER_CLIENT execs of true each"
printf '  %s execs in %s ms: %s execs/s, %sx the sequential %s execs/s\n' "$CONC_N" "$(ms "$CONC_US")" \
	"$CONC_RATE" "$(ratio "$CONC_RATE" "$SEQ_RATE")" "$SEQ_RATE"
printf '  per exec, as each client sees it: median %s ms, p90 %s ms, max %s ms (sequential median %s ms)\n' \
	"$(ms "$CC_M")" "$(ms "$CC_P90")" "$(ms "$CC_MAX")" "$(ms "$SQ_M")"
printf '  output check: %s concurrent execs of echo, %s got another'"'"'s or no output\n' \
	$((CLIENTS * 25)) "$MISM"

# ---- over the whole run ---------------------------------------------------------------
snap end
TOTAL=$((1 + 5 + 2 + RUNS + SEQ + 1 + THRU_RUNS + CONC_N + CLIENTS * 25))
echo
echo "## over the whole run ($TOTAL execs since start)"
for p in "${PIDS[@]}"; do
	printf '  %-30s fds %s -> %s (%s), VmRSS %s -> %s KiB (%s)\n' "${LABEL[$p]}" "${FDN[start:$p]}" \
		"${FDN[end:$p]}" "$(delta "${FDN[start:$p]}" "${FDN[end:$p]}")" "${RSS[start:$p]}" \
		"${RSS[end:$p]}" "$(delta "${RSS[start:$p]}" "${RSS[end:$p]}")"
done
discover_now=$(ps -e -o pid=,ppid= | awk -v root="$SUP" '{pp[$1] = $2} END {
	in_[root] = 1; do { c = 0; for (p in pp) if (!(p in in_) && (pp[p] in in_)) { in_[p] = 1; c++ } } while (c)
	n = 0; for (p in in_) if (p in pp) n++; print n }')
[ "$discover_now" = "${#PIDS[@]}" ] ||
	echo "  note: the session now has $discover_now processes, against ${#PIDS[@]} at start"

# ---- cleanup, then the targets ---------------------------------------------------------
cleanup
echo
printf 'CLEANUP fuse.afs mounts before %s, after %s; session processes left after stop: %s; %s\n' \
	"$MOUNTS_BEFORE" "$MOUNTS_AFTER" "$LEFT_PROCS" \
	"$([ -e "$W" ] && echo "$W left" || echo "$W removed")"
printf 'TARGET afs-session exec true median <= %s ms: %s ms (p90 %s ms; /bin/true %s ms, afs-launch -m %s ms) %s\n' \
	"$TARGET_MS" "$(ms "$EX")" "$(ms "$EX_P90")" "$(ms "$TRUE")" "$(ms "$LM")" "$(verdict "$EX" $((TARGET_MS * 1000)))"
printf 'TARGET no fd growth over %s execs (supervisor and the %s processes under it): %s %s\n' "$SEQ" \
	$((${#PIDS[@]} - 1)) "${FD_BAD:-none}" "$([ -z "$FD_BAD" ] && echo PASS || echo FAIL)"
printf 'TARGET supervisor VmRSS growth over %s execs <= %s KiB: %s KiB (%s -> %s) %s\n' "$SEQ" \
	"$RSS_MAX_KIB" "$RSS_D" "${RSS[before:$SUP]}" "${RSS[after:$SUP]}" \
	"$(case $RSS_D in '?') echo FAIL ;; *) verdict "${RSS_D#+}" "$RSS_MAX_KIB" ;; esac)"
printf 'INFO   sequential: %s execs/s; %s concurrent clients: %s execs/s (%sx)\n' "$SEQ_RATE" "$CLIENTS" \
	"$CONC_RATE" "$(ratio "$CONC_RATE" "$SEQ_RATE")"
printf 'INFO   throughput through the session: %s MB/s, %sx native (%s MB/s)\n' "$TS_MBS" \
	"$(ratio "$TS_MBS" "$TN_MBS")" "$TN_MBS"
exit 0
