#!/bin/bash
# afs-launch -s leaves nothing behind, however the run ends: normal exit,
# non-zero exit, timeout, SIGINT/SIGTERM/SIGHUP to afs-launch, a crashing
# command, SIGKILL to afs-launch, a failing mount, a failing sandbox.
# The mount table, the processes, the temp dirs and the cgroups are
# compared before and after each case.
. "$(dirname "$0")/lib.sh"

# A uid of its own, so that the process list is ours alone.
U=64123
src=$T/src
mkdir -p "$src/out"
echo data >"$src/file"
cat >"$T/pol.yaml" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: /out/**
    permission: write
EOF
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
chmod 0711 "$T" "$TMPDIR"

# Live processes only: a zombie is dead, and the host's init (which
# reaps what was orphaned) takes its time here.
live() { ps "$@" -o stat=,pid=,comm= | awk '$1 !~ /^Z/ {print $2, $3}' | sort; }
state() {
	grep -c ' fuse.afs ' /proc/mounts
	live -u "$U"
	live -C afs-fuse
	pgrep -f "$T/src" -l | grep -v "^$$ "
	ls -A "$TMPDIR"
	find /sys/fs/cgroup -maxdepth 5 -name 'afs-launch.*' 2>/dev/null
}
base=$(state)

# settle: what is torn down asynchronously (a pid namespace, a daemon
# after SIGKILL of its parent) gets two seconds.
same_state() {
	local i=0 now
	now=$(state)
	while [ "$now" != "$base" ] && [ $i -lt 20 ]; do
		sleep 0.1
		now=$(state)
		i=$((i + 1))
	done
	if [ "$now" = "$base" ]; then
		ok "$1: nothing left"
	else
		not_ok "$1: nothing left"
		diag "before:" "$base" "after:" "$now"
	fi
}

LARGS=(--uid $U --gid $U -s "$src" -p "$T/pol.yaml" --pids 100 --memory 256M)
launch() {
	afs-launch "${LARGS[@]}" "$@"
}
# In the background, $! must be afs-launch itself (not a subshell), with
# SIGINT not ignored (as bash does for background jobs).
bg_launch() {
	env --default-signal=INT,TERM,HUP afs-launch "${LARGS[@]}" "$@" &
	lp=$!
}

run launch -- true
is "normal exit: 0" 0 "$rc"
same_state "normal exit"

run launch -c 'exit 3'
is "non-zero exit: 3" 3 "$rc"
same_state "non-zero exit"

run launch -t 0.5 -- sleep 30
is "timeout: 124" 124 "$rc"
same_state "timeout"

run launch -t 0.3 --kill-after 0.3 -c 'trap "" TERM; sleep 30 & sleep 30'
is "timeout with SIGTERM ignored: 124" 124 "$rc"
same_state "timeout with SIGKILL"

run launch -c 'kill -SEGV $$'
is "crashing command: 139" 139 "$rc"
same_state "crashing command"

run launch -c 'sleep 30 & sleep 30 & echo bg'
is "background jobs: the run ends with the command" "0 bg" "$rc $(cat "$T/out")"
same_state "background jobs"

# Signals to afs-launch itself, once the command runs.
for sig in INT TERM HUP; do
	rm -f "$T/started"
	bg_launch -c "echo started >/workspace/out/s; sleep 30" >"$T/out" 2>"$T/err"
	at_exit_kill "$lp"
	i=0
	until pgrep -u $U -x sleep >/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -s "$sig" "$lp"
	wait "$lp"
	st=$?
	want=$((128 + $(kill -l "$sig")))
	is "SIG$sig to afs-launch: the command ends by it ($want)" "$want" "$st"
	same_state "SIG$sig to afs-launch"
done

# SIGKILL: afs-launch can do nothing; afs-fuse (PR_SET_PDEATHSIG) and the
# guardian must.
bg_launch -- sleep 30 >/dev/null 2>&1
i=0
until pgrep -u $U -x sleep >/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$lp"
wait "$lp" 2>/dev/null
same_state "SIGKILL to afs-launch"

bg_launch -- sleep 30 >/dev/null 2>&1
sleep 0.02
kill -KILL "$lp"
wait "$lp" 2>/dev/null
same_state "SIGKILL to afs-launch while it mounts"

# SIGKILL at every moment of the start: before, while and after the
# cgroups, the temp dir, the mountpoint and the mount are made.  SOURCE
# holds a cgroup.procs naming a process of root's: the guardian must not
# take it for a cgroup of its own.
sleep 60 &
bystander=$!
at_exit_kill "$bystander"
echo "$bystander" >"$src/cgroup.procs"
for d in 0 0.002 0.004 0.006 0.008 0.01 0.015 0.02 0.03 0.04 0.06 0.08; do
	bg_launch -- sleep 0.2 >/dev/null 2>&1
	sleep $d
	kill -KILL "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
done
same_state "SIGKILL to afs-launch at 12 moments of its start"
if kill -0 "$bystander" 2>/dev/null; then ok "... and a pid named in SOURCE's cgroup.procs lives"; else not_ok "... and a pid named in SOURCE's cgroup.procs lives"; fi
rm -f "$src/cgroup.procs"

# The same with -m and no limits: nothing else needs the guardian, the
# sandbox's process group does (a bwrap child cloned but not let go on
# waits for ever when bwrap is killed).
for d in 0 0.001 0.002 0.003 0.004 0.005 0.006 0.007 0.008 0.01 0.012 0.015 0.02 0.025 0.03 0.04; do
	env --default-signal=INT,TERM,HUP afs-launch --uid $U --gid $U -m "$src" -- sleep 0.2 >/dev/null 2>&1 &
	lp=$!
	sleep $d
	kill -KILL "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
done
same_state "SIGKILL to afs-launch -m at 16 moments of its start"

printf 'version: 1\nrules: [\n' >"$T/bad.yaml"
run afs-launch --uid $U --gid $U -s "$src" -p "$T/bad.yaml" -- true
is "failing mount: 125" 125 "$rc"
same_state "failing mount"

run launch -w /nonexistent -- true
is "failing sandbox (no such workdir): 125" 125 "$rc"
if grep -q "the sandbox did not start" "$T/err"; then ok "failing sandbox: said so"; else not_ok "failing sandbox: said so"; diag "$(cat "$T/err")"; fi
same_state "failing sandbox"

run launch --memory 64M -c 'x=aaaaaaaa; while :; do x=$x$x; done'
is "a command killed by its memory limit: 137" 137 "$rc"
same_state "memory limit"

if [ -z "$(cat "$src/out/s" 2>/dev/null)" ]; then ok "the source is untouched"; else not_ok "the source is untouched"; fi
