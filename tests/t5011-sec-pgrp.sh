#!/bin/bash
# Security: a timeout, or the death of afs-launch, kills the sandbox's
# processes and never a process of the host that happens to get a number
# the sandbox once used.  The attack: leave a process group empty (its
# last process gone, its number free) where afs-session's supervisor or
# afs-launch's guardian will later send kill(-N), and give that number to
# a host process that leads a group of its own (clone3 with set_tid, as
# root: what pid reuse does by chance).
. "$(dirname "$0")/lib.sh"

PGRP=$B/tests/helpers/pgrp
if [ ! -x "$PGRP" ]; then
	not_ok "the pgrp helper is built ($PGRP: run make build/tests/helpers/pgrp)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	skip "process groups against reused numbers" "needs root (clone3 with set_tid)"
	exit 0
fi

U=64125
export AFS_RUNTIME_DIR=$T/rt
export TMPDIR=$T/tmp
src=$T/src pol=$T/pol.yaml
mkdir -p "$src/tools" "$TMPDIR"
cp "$PGRP" "$src/tools/pgrp"
chmod 0711 "$T"
cat >"$pol" <<'EOP'
version: 1
rules:
  - pattern: "**"
    permission: read
EOP
S() { afs-session "$@"; }
trap 'S stop pg1 >/dev/null 2>&1; _cleanup; exit $?' EXIT

# victim_alive N: pid N is still our victim, leading its own group, and
# not a zombie (killed, and not yet reaped by init).
victim_alive() {
	sleep 0.2
	[ "$(ps -o comm=,pgid=,stat= -p "$1" | awk '{ print $1, $2, substr($3, 1, 1) }')" = "pgrp $1 S" ] &&
		echo alive || echo gone
}
# gone N: wait (5 s at most) until no process has pid or process group N.
gone() {
	local i=0
	while [ -n "$(ps -eo pid=,pgid= | awk -v n="$1" '$1 == n || $2 == n')" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# ---- afs-session: the timeout kills the foreground job -------------------------
run S start --name pg1 --uid $U --gid $U -s "$src" -p "$pol"
is "a session starts" "0 pg1" "$rc $(cat "$T/out")"
run S exec --timeout 1 pg1 'sh -c "trap \"\" INT; exec sleep 30"'
is "a foreground job that ignores SIGINT: 124" 124 "$rc"
i=0
while pgrep -u $U -x sleep >/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "... and it is killed" "" "$(pgrep -u $U -x sleep)"
is "... and the shell answers" ok "$(S exec pg1 'echo ok')"

# ---- afs-session: an empty foreground group, its number given to the host --------
name=stale$$
S exec --timeout 3 pg1 "/workspace/tools/pgrp stale $name 30" >"$T/stale.out" 2>"$T/stale.err" &
cl=$!
n=
for i in $(seq 30); do
	n=$(pgrep -x "$name")
	[ -n "$n" ] && break
	sleep 0.05
done
if [ -z "$n" ]; then
	not_ok "the sandbox made a foreground group"; diag "$(cat "$T/stale.err")"
	wait "$cl"
else
	gone "$n"
	got=$(pgrp at "$n" 60)
	is "a host process gets the empty group's number ($n)" OK "$got"
	[ "$got" = OK ] && at_exit_kill "$n"
	wait "$cl"
	is "the request times out: 124" "124 stale" "$? $(cat "$T/stale.out")"
	is "the host process of that number survives the timeout's kill" alive "$(victim_alive "$n")"
	kill -KILL "$n" 2>/dev/null
fi
run S stop pg1
is "the session stops" 0 "$rc"

# ---- afs-launch's guardian: kill -9 of afs-launch ----------------------------------
# The guardian is held (frozen: a SIGSTOP would be undone by the SIGCONT
# that an orphaned process group gets) until bwrap and the sandbox are
# gone and their group's number is another's: the latest it could run.
FRZ=
if [ -d /sys/fs/cgroup/freezer ]; then
	FRZ=/sys/fs/cgroup/freezer/afs-t5011-$$
	mkdir "$FRZ" && freeze() { echo "$1" >"$FRZ/tasks" && echo FROZEN >"$FRZ/freezer.state"; } &&
		thaw() { echo THAWED >"$FRZ/freezer.state"; }
elif [ -f /sys/fs/cgroup/cgroup.subtree_control ]; then
	FRZ=/sys/fs/cgroup/afs-t5011-$$
	mkdir "$FRZ" && freeze() { echo "$1" >"$FRZ/cgroup.procs" && echo 1 >"$FRZ/cgroup.freeze"; } &&
		thaw() { echo 0 >"$FRZ/cgroup.freeze"; }
fi
trap 'S stop pg1 >/dev/null 2>&1; [ -n "$FRZ" ] && { thaw; sleep 0.2; rmdir "$FRZ"; } 2>/dev/null; _cleanup; exit $?' EXIT
U2=64126
if [ -z "$FRZ" ] || [ ! -d "$FRZ" ]; then
	for i in 1 2 3 4; do skip "the guardian against a reused number" "no cgroup freezer"; done
	exit 0
fi
afs-launch --uid $U2 --gid $U2 -s "$src" -p "$pol" -- sleep 100 >/dev/null 2>&1 &
lp=$!
at_exit_kill "$lp"
bw= gd=
for i in $(seq 100); do
	bw=$(ps -o pid=,comm= --ppid "$lp" | awk '$2 == "bwrap" { print $1 }')
	gd=$(ps -o pid=,comm= --ppid "$lp" | awk '$2 == "afs-launch" { print $1 }')
	[ -n "$bw" ] && [ -n "$gd" ] && pgrep -u $U2 -x sleep >/dev/null && break
	sleep 0.1
done
if [ -z "$bw" ] || [ -z "$gd" ] || ! freeze "$gd"; then
	not_ok "afs-launch runs bwrap and a guardian, which is frozen"
else
	at_exit_kill "$gd"
	kill -KILL "$lp"
	wait "$lp" 2>/dev/null
	gone "$bw"
	got=$(pgrp at "$bw" 60)
	is "a host process gets bwrap's group number ($bw)" OK "$got"
	[ "$got" = OK ] && at_exit_kill "$bw"
	thaw
	i=0
	while [ -d "/proc/$gd" ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
	is "the guardian ends" gone "$([ -d "/proc/$gd" ] && echo running || echo gone)"
	is "the host process of that number survives the guardian's kill" alive "$(victim_alive "$bw")"
	kill -KILL "$bw" 2>/dev/null
	is "the sandbox's processes are gone" "" "$(pgrep -u $U2)"
fi
