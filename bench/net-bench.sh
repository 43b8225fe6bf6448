#!/bin/bash
# bench/net-bench.sh - what the network allowlist costs: throughput of a
# large download and the latency added to each new connection, through
# afs-proxy against the same requests made directly on loopback, as ratios
# measured in one run (these machines are noisy: never compare absolute
# figures across runs).
#
#   bench/net-bench.sh                   (as root; make bench-net)
#
# Environment: SIZE (1073741824: the body downloaded), ROUNDS (5), N (200:
# sequential requests for the latency), SHM_FILE_MB (64: the file the
# sendfile server repeats, in /dev/shm), BENCH_DIR (/dev/shm when it is a
# tmpfs, else /tmp; a directory of our own is made in it and removed at
# exit).
#
#   0. The server alone: tests/helpers/netserv.py serving SIZE bytes from
#      memory (sendall of a 1 MiB buffer) and by sendfile(2) of a file in
#      the page cache, each fetched directly by curl -o /dev/null; the
#      faster serves the rest.  If the server were the bottleneck, the
#      ratios below would say nothing about the proxy.
#   1. Throughput, ROUNDS rounds, the order turning each round: curl
#      directly on loopback; curl -x through afs-proxy --listen on
#      loopback; curl inside a real sandbox (afs-launch -m DIR
#      --allow-host bench.test:PORT, through the relay of its pid 1 and
#      afs-proxy).  MB/s (10^6) from curl's own time_total (not the
#      sandbox's start-up), medians.  Target: proxied >= 80 % of direct.
#      The CPU time afs-proxy --listen took (/proc/PID/stat) is shown a
#      GiB: on loopback every byte is a copy on the same cores as the
#      server and curl, so the ratio falls with the core count.
#   2. Latency: N sequential GETs of a 19-byte body, a new connection each
#      (netserv.py latency: python sockets, the same client every way),
#      directly and through afs-proxy --listen, in alternating blocks of
#      N/4; and N through the sandbox's relay.  Medians and p90 per
#      request, and the difference.  Target: <= 1 ms added a request.
#
# The exit status is 0 whether or not the targets are met; 1 when the
# benchmark could not run.
set -u
export LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=$TOP/build
NS=$TOP/tests/helpers/netserv.py
SIZE=${SIZE:-1073741824}
ROUNDS=${ROUNDS:-5}
N=${N:-200}
SHM_FILE_MB=${SHM_FILE_MB:-64}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

die() { echo "net-bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (afs-launch drops to uid 65534; afs-proxy to it)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (\$EPOCHREALTIME)"
[ -n "$PY" ] || die "python3 is missing"
for c in curl bwrap; do
	command -v "$c" >/dev/null || die "$c is missing"
done
for p in afs-launch afs-proxy; do
	[ -x "$B/$p" ] || die "build $B/$p first (make bench-net)"
done
for v in SIZE ROUNDS N SHM_FILE_MB; do
	case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive number" ;; esac
done
[ "$N" -ge 4 ] || die "N must be 4 or more"

if [ -n "${BENCH_DIR:-}" ]; then
	BASE=$BENCH_DIR
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	BASE=/dev/shm
else
	BASE=/tmp
fi
mkdir -p "$BASE" || die "cannot make $BASE"
W=$(mktemp -d "$BASE/afs-net-bench.XXXXXX") || die "cannot make a directory in $BASE"
# The sandbox (uid 65534) runs netserv.py from W/ws.
chmod 0755 "$W"
mkdir "$W/ws"
cp "$NS" "$W/ws/netserv.py"
chmod -R a+rX "$W/ws"
PIDS=

cleanup() {
	local p i
	trap - INT TERM
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if pgrep -f '(^|/)prove( |$)' >/dev/null; then
	echo "# WARNING: a test suite (prove) is running: the figures below are distorted" >&2
fi

# ---- the servers and the proxy -------------------------------------------------
# server NAME [OPTIONS]: netserv.py http, its port in $NAME_port.
server() {
	local name=$1 i=0
	shift
	"$PY" "$NS" http "$W/$name.port" "$@" 2>>"$W/err.log" &
	PIDS="$PIDS $!"
	until [ -s "$W/$name.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "netserv $name did not start: $(tail -n 5 "$W/err.log")"
		sleep 0.1
	done
	printf -v "${name}_port" %s "$(cat "$W/$name.port")"
}
head -c $((SHM_FILE_MB << 20)) /dev/zero | tr '\0' x >"$W/x" || die "cannot make $W/x"
server mem
server sf --sendfile "$W/x"

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# proxy PORT...: afs-proxy --listen on a free port allowing 127.0.0.1 on
# PORTs (and bench.test, which names it), ready; $PX.
proxy() {
	local line= ports
	ports=$(echo "$@" | tr ' ' ',')
	PX=$(free_port)
	rm -f "$W/ready"
	mkfifo "$W/ready"
	"$B/afs-proxy" --listen "127.0.0.1:$PX" --allow-host "127.0.0.1:$ports" \
		--ready-fd 3 3>"$W/ready" 2>>"$W/err.log" &
	PXPID=$!
	PIDS="$PIDS $!"
	read -r -t 10 line <"$W/ready"
	[ "$line" = ready ] || die "afs-proxy did not start: $(tail -n 5 "$W/err.log")"
}
proxy "$mem_port" "$sf_port"
export AFS_PROXY_RESOLVE="bench.test=127.0.0.1"

# fetch FILE HOW URL: one download; "SECONDS BYTES" appended to FILE.
fetch() {
	local f=$1 how=$2 url=$3 w='%{time_total} %{size_download}\n'
	case $how in
	direct) curl -sS --noproxy '*' -o /dev/null -w "$w" "$url" ;;
	proxy) curl -sS --noproxy '' -x "http://127.0.0.1:$PX" -o /dev/null -w "$w" "$url" ;;
	sandbox)
		"$B/afs-launch" -m "$W/ws" --allow-host "bench.test:$PORT" \
			--allow-host "127.0.0.1:$PORT" -- curl -sS -o /dev/null -w "$w" \
			"${url/127.0.0.1/bench.test}" ;;
	esac >>"$f" 2>>"$W/err.log" || die "$how: curl $url failed: $(tail -n 3 "$W/err.log")"
	tail -n 1 "$f" | awk -v n="$SIZE" '$2 != n {exit 1}' ||
		die "$how: $(tail -n 1 "$f" | awk '{print $2}') bytes, not $SIZE"
}
# mbs FILE: the median MB/s (10^6) of FILE's downloads.
mbs() { awk '{print $2 / $1 / 1e6}' "$1" | sort -g | awk '{a[NR] = $1} END {
	m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.0f", m }'; }
range() { awk '{print $2 / $1 / 1e6}' "$1" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.0f-%.0f", lo, hi}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0) ? 100 * a / b : 0}'; }

echo "# afs-proxy throughput and latency; $(nproc) cores; $(uname -r); curl $(curl --version | awk 'NR == 1 {print $2}'); $SIZE bytes a download; in $W"

# ---- 0. the server alone ---------------------------------------------------------
for ((i = 0; i < 3; i++)); do
	fetch "$W/s.mem" direct "http://127.0.0.1:$mem_port/size/$SIZE"
	fetch "$W/s.sf" direct "http://127.0.0.1:$sf_port/size/$SIZE"
done
MEM=$(mbs "$W/s.mem") SF=$(mbs "$W/s.sf")
if [ "$SF" -gt "$MEM" ]; then PORT=$sf_port SERVER="sendfile(2) of a ${SHM_FILE_MB} MiB file"
else PORT=$mem_port SERVER="sendall(2) from a 1 MiB buffer"; fi
echo
echo "## 0. the server alone, fetched directly by curl; 3 runs each"
printf '  %-52s %10s %12s\n' server "MB/s" range
printf '  %-52s %10s %12s\n' "netserv.py, sendall from a 1 MiB buffer" "$MEM" "$(range "$W/s.mem")"
printf '  %-52s %10s %12s\n' "netserv.py, sendfile of a ${SHM_FILE_MB} MiB file in /dev/shm" "$SF" "$(range "$W/s.sf")"
echo "  the rest uses: $SERVER"

# ---- 1. throughput -------------------------------------------------------------------
URL="http://127.0.0.1:$PORT/size/$SIZE"
fetch "$W/warm" proxy "$URL"
fetch "$W/warm" sandbox "$URL"
WAYS=(direct proxy sandbox)
# The CPU time of afs-proxy --listen (user and system, clock ticks): it
# relays nothing but the proxy rounds.
ticks() { awk '{print $14 + $15}' "/proc/$PXPID/stat"; }
CPU0=$(ticks)
for ((r = 0; r < ROUNDS; r++)); do
	for ((j = 0; j < 3; j++)); do
		how=${WAYS[$(((r + j) % 3))]}
		fetch "$W/t.$how" "$how" "$URL"
	done
done
CPU1=$(ticks)
D=$(mbs "$W/t.direct") P=$(mbs "$W/t.proxy") S=$(mbs "$W/t.sandbox")
# CPU seconds of afs-proxy a GiB relayed, and its share of one core while
# relaying (its rounds' total time from curl).
PXCPU=$(awk -v t=$((CPU1 - CPU0)) -v hz="$(getconf CLK_TCK)" -v r="$ROUNDS" -v n="$SIZE" \
	'BEGIN {printf "%.2f", t / hz / (r * n / 1073741824)}')
PXCORE=$(awk -v t=$((CPU1 - CPU0)) -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.0f", 100 * t / hz / s}' "$W/t.proxy")
echo
echo "## 1. curl -o /dev/null of $SIZE bytes on loopback; $ROUNDS rounds, the order turning"
printf '  %-52s %10s %12s %9s\n' way "MB/s" range "% direct"
printf '  %-52s %10s %12s %9s\n' "direct" "$D" "$(range "$W/t.direct")" 100.0
printf '  %-52s %10s %12s %9s\n' "curl -x afs-proxy --listen" "$P" "$(range "$W/t.proxy")" "$(pct "$P" "$D")"
printf '  %-52s %10s %12s %9s\n' "afs-launch --allow-host (relay + afs-proxy)" "$S" "$(range "$W/t.sandbox")" "$(pct "$S" "$D")"
printf '  afs-proxy --listen: %s CPU s a GiB relayed (user + system), %s%% of a core while it relays;\n' "$PXCPU" "$PXCORE"
printf '  on loopback the server, curl and the proxy share %s cores: a relay'"'"'s copy is CPU, not network\n' "$(nproc)"

# ---- 2. latency ----------------------------------------------------------------------
HURL="http://127.0.0.1:$mem_port/hello"
lat() {	# lat FILE COUNT [--proxy HOST:PORT]
	local f=$1
	shift
	"$PY" "$NS" latency "$HURL" "$@" >>"$f" 2>>"$W/err.log" || die "latency: $(tail -n 3 "$W/err.log")"
}
lat "$W/warm" 20
lat "$W/warm" 20 --proxy "127.0.0.1:$PX"
Q=$((N / 4))
for ((r = 0; r < 4; r++)); do
	if ((r % 2)); then
		lat "$W/l.proxy" "$Q" --proxy "127.0.0.1:$PX"
		lat "$W/l.direct" "$Q"
	else
		lat "$W/l.direct" "$Q"
		lat "$W/l.proxy" "$Q" --proxy "127.0.0.1:$PX"
	fi
done
"$B/afs-launch" -m "$W/ws" --allow-host "bench.test:$mem_port" --allow-host "127.0.0.1:$mem_port" -- \
	python3 netserv.py latency "http://bench.test:$mem_port/hello" "$N" --proxy 127.0.0.1:3128 \
	>"$W/l.sandbox" 2>>"$W/err.log" || die "latency in the sandbox: $(tail -n 3 "$W/err.log")"
# stats FILE: "MEDIAN P90" in microseconds (p90: nearest rank).
stats() {
	sort -n "$1" | awk '{a[NR] = $1} END {
		m = (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2 + 0.5)
		r = int(0.9 * NR); if (r < 0.9 * NR) r++; if (r < 1) r = 1
		print m, a[r] }'
}
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }
read -r LD LD90 <<<"$(stats "$W/l.direct")"
read -r LP LP90 <<<"$(stats "$W/l.proxy")"
read -r LS LS90 <<<"$(stats "$W/l.sandbox")"
echo
echo "## 2. GET of 19 bytes, a new connection each, $N sequential (python sockets), direct and proxied alternating in blocks of $Q"
printf '  %-52s %10s %10s %10s\n' way median_ms p90_ms "+ms"
printf '  %-52s %10s %10s %10s\n' "direct" "$(ms "$LD")" "$(ms "$LD90")" -
printf '  %-52s %10s %10s %10s\n' "through afs-proxy --listen" "$(ms "$LP")" "$(ms "$LP90")" "$(ms $((LP - LD)))"
printf '  %-52s %10s %10s %10s\n' "in a sandbox, through the relay and afs-proxy" "$(ms "$LS")" "$(ms "$LS90")" "$(ms $((LS - LD)))"

# ---- targets -----------------------------------------------------------------------
echo
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {print ((dir == "ge") ? (v >= t) : (v <= t)) ? "PASS" : "FAIL"}'; }
printf 'TARGET proxied throughput >= 80%% of direct: %s%% (%s vs %s MB/s) %s\n' "$(pct "$P" "$D")" "$P" "$D" \
	"$(verdict "$(pct "$P" "$D")" 80 ge)"
printf 'TARGET sandboxed throughput >= 80%% of direct: %s%% (%s vs %s MB/s) %s\n' "$(pct "$S" "$D")" "$S" "$D" \
	"$(verdict "$(pct "$S" "$D")" 80 ge)"
printf 'TARGET added latency a connection <= 1 ms: %s ms through afs-proxy %s\n' "$(ms $((LP - LD)))" \
	"$(verdict "$(ms $((LP - LD)))" 1 le)"
printf 'INFO   added latency in a sandbox (relay + afs-proxy): %s ms (no target)\n' "$(ms $((LS - LD)))"
exit 0
