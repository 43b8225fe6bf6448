#!/bin/bash
# afs-fuse's session loop: a request that blocks in the thread reading
# requests does not hold the others (the watchdog hands the role on);
# many clients at once get exact bytes; signals end it under load.
. "$(dirname "$0")/lib.sh"

cat >"$T/w.yaml" <<'Y'
version: 1
rules:
  - pattern: "**"
    permission: write
Y

# A SOURCE that can be made to hang: itself an afs-fuse mount (B), whose
# daemon is stopped.  The mount under test (A) keeps its delta elsewhere.
mkdir -p "$T/base/d" "$T/b" "$T/a"
printf 'base\n' >"$T/base/d/f"
afs_mount "$T/base" "$T/b" -p "$T/w.yaml" --writethrough || exit 1
b_pid=$fuse_pid
afs_mount "$T/b" "$T/a" -p "$T/w.yaml" -d "$T/delta" || exit 1
a_pid=$fuse_pid
printf 'in the delta\n' >"$T/a/d/new"
is "a file made in A reads" "in the delta" "$(cat "$T/a/d/new")"

kill -STOP "$b_pid"
# A lookup in A now blocks on B, in A's reading thread (lookups are
# answered there).
stat "$T/a/d/never-looked-up" >/dev/null 2>&1 &
stuck=$!
sleep 0.5
start=$(date +%s%N)
got=$(timeout 5 cat "$T/a/d/new")
el=$(( ($(date +%s%N) - start) / 1000000 ))
is "while a lookup hangs in A, a read of its delta is answered" "in the delta" "$got"
if [ "$el" -lt 2000 ]; then ok "... at once (${el} ms)"; else not_ok "... at once (${el} ms)"; fi
kill -CONT "$b_pid"
wait "$stuck"
is "the hung lookup ends when B goes on (ENOENT)" 1 "$?"

pids=
# Eight clients at once, each writing and reading back its own files, and
# listing: every byte as written.
for i in 1 2 3 4 5 6 7 8; do
	(
		for j in $(seq 40); do
			head -c $((j * 997 + i)) /dev/urandom >"$T/p$i.$j"
			cp "$T/p$i.$j" "$T/a/d/c$i.$j"
			cmp -s "$T/p$i.$j" "$T/a/d/c$i.$j" || echo "differ $i.$j"
			ls "$T/a/d" >/dev/null
		done
	) >"$T/client$i.out" 2>&1 &
	pids="$pids $!"
done
wait $pids
is "eight clients at once: every file reads back as written" "" "$(cat "$T"/client*.out)"
is "eight clients at once: all 320 files listed" 320 "$(ls "$T/a/d" | grep -c '^c')"

# SIGTERM while clients keep it busy: exit 0, unmounted.
( while :; do cat "$T/a/d/new" >/dev/null 2>&1 || break; done ) &
busy=$!
sleep 0.3
kill -TERM "$a_pid"
wait "$a_pid"
is "SIGTERM under load: exit 0" 0 "$?"
kill "$busy" 2>/dev/null
wait "$busy" 2>/dev/null
if mountpoint -q "$T/a"; then not_ok "SIGTERM under load: unmounted"; else ok "SIGTERM under load: unmounted"; fi
if grep -qE 'Sanitizer|runtime error' "$T/fuse.err"; then
	not_ok "no sanitizer report"
	diag "$(cat "$T/fuse.err")"
else
	ok "no sanitizer report"
fi
fuse_pid=$b_pid
afs_umount "$T/b"

# SIGTERM at every moment of the start: a private delta made is removed,
# a mount made is unmounted; the status is 0, or 143 when the signal came
# before anything was made.
mkdir -p "$T/early" "$T/etmp"
# exec_wait PID: until the background job PID runs afs-fuse.  Before its
# exec it is a copy of this shell, whose trap would take the SIGTERM and
# lose it in the exec.
exec_wait() {
	local c
	while c=$(cat "/proc/$1/comm" 2>/dev/null) && [ "$c" != afs-fuse ]; do :; done
}
bad=
for d in 0 0 0.0005 0.0005 0.001 0.001 0.0015 0.0015 0.002 0.002 0.0025 0.0025 \
	0.003 0.003 0.004 0.004 0.005 0.005 0.01 0.02; do
	TMPDIR=$T/etmp afs-fuse -f -p read-only "$T/base" "$T/early" 2>>"$T/early.err" &
	e=$!
	at_exit_kill "$e"
	exec_wait "$e"
	sleep $d
	kill -TERM "$e"
	wait "$e"
	st=$?
	case $st in 0 | 143) ;; *) bad="$bad $d:$st" ;; esac
done
is "SIGTERM during the start: exit 0 (or 143 before anything is made)" "" "$bad"
is "SIGTERM during the start: no private delta left" "" "$(ls -A "$T/etmp")"
if mountpoint -q "$T/early"; then not_ok "SIGTERM during the start: not mounted"; else ok "SIGTERM during the start: not mounted"; fi

# The same in the background (no -f): a signal the parent got while the
# daemon forked is passed on to it, not lost with the parent.
bad=
for d in 0 0.001 0.002 0.003 0.004 0.005 0.006 0.008 0.01 0.02; do
	TMPDIR=$T/etmp afs-fuse -p read-only "$T/base" "$T/early" 2>>"$T/early.err" &
	e=$!
	exec_wait "$e"
	sleep $d
	# Once the parent is gone, the daemon is meant to stay.  Gone
	# includes a zombie not yet reaped, and a process already exiting
	# (PF_EXITING, 0x4 in its flags: tearing down a sanitizer build's
	# mappings takes milliseconds), both of which kill(2) still reaches.
	# So the parent is looked at after the signal was sent: still alive
	# then, and not exiting, it had the signal while it could pass it on
	# (looked at before, it could start exiting in between).
	told=
	if kill -TERM "$e" 2>/dev/null &&
		[ "$(awk '{ print ($3 == "Z" || int($9 / 4) % 2) ? "gone" : "alive" }' \
			"/proc/$e/stat" 2>/dev/null)" = alive ]; then
		told=yes
	fi
	wait "$e"
	i=0
	while [ -n "$told" ] && { mountpoint -q "$T/early" || [ -n "$(ls -A "$T/etmp")" ]; } &&
		[ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if mountpoint -q "$T/early"; then
		[ -n "$told" ] && bad="$bad $d"
		fusermount3 -u "$T/early"
		i=0
		while [ -n "$(ls -A "$T/etmp")" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	fi
done
# The daemons end after their unmount: wait for them.
i=0
while pgrep -f "$T/early" >/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "SIGTERM while going into the background: never left mounted" "" "$bad"
is "SIGTERM while going into the background: no private delta left" "" "$(ls -A "$T/etmp")"
is "SIGTERM while going into the background: no daemon left" "" "$(pgrep -f "$T/early")"
