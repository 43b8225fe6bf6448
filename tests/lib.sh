# tests/lib.sh - TAP helpers for the afs shell tests.  Source it first:
#   . "$(dirname "$0")/lib.sh"
# It makes $T (a private temp dir), puts build/ first on PATH, and at exit
# unmounts every mount registered with at_exit_umount, kills every pid
# registered with at_exit_kill, removes $T, and prints the plan.
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${AFS_BUILD:-$TOP/build}
PATH="$B:$B/tests/helpers:$PATH"
export PATH TOP B
unset AFS_POLICY_DIR

T=$(mktemp -d /tmp/afs-test.XXXXXX)
_n=0
_failed=0
_pids=
_mounts=

_interrupted=
_cleanup() {
	local p m st=${1:-0}
	if [ -n "$_interrupted" ]; then
		_n=$((_n + 1))
		_failed=$((_failed + 1))
		echo "not ok $_n - interrupted by a signal"
	elif [ "$st" -ne 0 ] && [ "$_failed" -eq 0 ]; then
		# A test that gave up (exit 1 after a failed set-up) failed.
		_n=$((_n + 1))
		_failed=$((_failed + 1))
		echo "not ok $_n - the test stopped early with status $st"
	fi
	for p in $_pids; do
		kill -CONT "$p" 2>/dev/null	# a test may have stopped it
		kill -TERM "$p" 2>/dev/null
	done
	for m in $_mounts; do
		if mountpoint -q "$m" 2>/dev/null; then
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for p in $_pids; do
		local i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
trap '_cleanup $?; exit $?' EXIT
trap '_interrupted=1; exit 130' INT TERM

at_exit_kill() { _pids="$_pids $*"; }
at_exit_umount() { _mounts="$_mounts $*"; }

# Diagnostics go to standard error, as Test::More's: prove shows them
# without -v, so a failure in CI says why.
diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

ok() {
	_n=$((_n + 1))
	echo "ok $_n - $*"
}

not_ok() {
	_n=$((_n + 1))
	_failed=$((_failed + 1))
	echo "not ok $_n - $*"
}

# skip WHAT WHY: a skip is a failure in CI, where everything is installed.
skip() {
	_n=$((_n + 1))
	if [ "${CI:-}" = true ]; then
		_failed=$((_failed + 1))
		echo "not ok $_n - $1 # skipped in CI: $2"
	else
		echo "ok $_n - $1 # SKIP $2"
	fi
}

# is DESC EXPECTED ACTUAL
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "expected: $(printf '%q' "$2")" "     got: $(printf '%q' "$3")"
	fi
}

# run CMD...: stdout in $T/out, stderr in $T/err, status in $rc.
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# same_file DESC EXPECTED_FILE ACTUAL_FILE: byte-exact comparison.
same_file() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1"
		diag "$(diff -u "$2" "$3" | head -40)"
	fi
}

# status_is DESC EXPECTED: $rc from the last run; a crash (signal) never
# counts as the expected refusal.
status_is() {
	if [ "$rc" -ge 128 ] && [ "$2" -lt 128 ]; then
		not_ok "$1 (crashed: status $rc)"
		diag "$(cat "$T/err")"
	else
		is "$1" "$2" "$rc"
	fi
}

# afs_mount SOURCE MOUNTPOINT [afs-fuse OPTIONS...]: mount in the
# foreground, wait (10 s at most) until it is ready, register clean-up.
# Sets $fuse_pid; the daemon's stderr goes to $T/fuse.err.
afs_mount() {
	local src=$1 mnt=$2 line=
	shift 2
	rm -f "$T/ready"
	mkfifo "$T/ready"
	env --default-signal=INT,TERM,HUP afs-fuse -f --ready-fd 3 "$@" "$src" "$mnt" \
		3>"$T/ready" 2>>"$T/fuse.err" &
	fuse_pid=$!
	at_exit_kill "$fuse_pid"
	at_exit_umount "$mnt"
	read -r -t 10 line <"$T/ready" || true
	if [ "$line" != ready ]; then
		diag "afs-fuse did not get ready:" "$(cat "$T/fuse.err")"
		return 1
	fi
}

# afs_umount MOUNTPOINT: unmount, and require the daemon to exit 0 with
# no sanitizer report.
afs_umount() {
	local st
	fusermount3 -u "$1"
	wait "$fuse_pid"
	st=$?
	is "afs-fuse exits 0 after unmount" 0 "$st"
	if grep -qE 'Sanitizer|runtime error' "$T/fuse.err" 2>/dev/null; then
		not_ok "afs-fuse stderr holds a sanitizer report"
		diag "$(cat "$T/fuse.err")"
	fi
}

# errno_is DESC EXPECTED OP PATH [ARG]: one syscall through the probe.
errno_is() {
	local desc=$1 want=$2
	shift 2
	is "$desc" "$want" "$(probe "$@" 2>&1)"
}

# ---- test servers (tests/helpers/netserv.py; t2005, t5013) ----------------
# The system's python3 (pyenv's shim takes 0.6 s to start), the servers.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
NS=$TOP/tests/helpers/netserv.py
# netserv KIND NAME [OPTIONS]: a netserv.py server in the background, its
# port in $NAME_port (waited for, 10 s at most), killed at exit.
netserv() {
	local kind=$1 name=$2 i=0
	shift 2
	rm -f "$T/$name.port"
	"$PY" "$NS" "$kind" "$T/$name.port" "$@" 2>>"$T/servers.err" &
	at_exit_kill $!
	until [ -s "$T/$name.port" ]; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			diag "netserv $kind $name did not start:" "$(cat "$T/servers.err")"
			exit 1
		fi
		sleep 0.1
	done
	printf -v "${name}_port" %s "$(cat "$T/$name.port")"
}

# docker_up: a running dockerd (started here when none runs, and stopped at
# exit) and the local test image $TEST_IMAGE, made by `docker import` of a
# busybox root: no registry is reachable.  Returns 1 when docker is missing.
TEST_IMAGE=afs-test-busybox:3
docker_up() {
	local i=0 root
	command -v docker >/dev/null && command -v dockerd >/dev/null || return 1
	if ! docker info >/dev/null 2>&1; then
		dockerd --iptables=false --bridge=none --pidfile "$T/dockerd.pid" \
			>"$T/dockerd.log" 2>&1 &
		at_exit_kill $!
		until docker info >/dev/null 2>&1; do
			i=$((i + 1))
			if [ $i -ge 150 ]; then
				diag "dockerd did not start:" "$(tail -n 20 "$T/dockerd.log")"
				return 1
			fi
			sleep 0.2
		done
	fi
	if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
		[ -x /bin/busybox ] || return 1
		root=$T/image-root
		mkdir -p "$root/bin" "$root/tmp" "$root/workspace"
		chmod 1777 "$root/tmp"
		cp /bin/busybox "$root/bin/busybox"
		for c in $(/bin/busybox --list); do
			[ "$c" = busybox ] || ln -s busybox "$root/bin/$c"
		done
		tar -C "$root" -c . | docker import - "$TEST_IMAGE" >/dev/null || return 1
	fi
}
