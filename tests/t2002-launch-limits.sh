#!/bin/bash
# afs-launch limits with bwrap: a fork bomb, a memory hog, CPU time, file
# size, open files, a CPU share; the timeout; and an ordinary user's run.
. "$(dirname "$0")/lib.sh"

chmod 0711 "$T"
ws=$T/ws
mkdir -p "$ws"
echo x >"$ws/f"
chmod -R a+rX "$ws"

# What a run may leave: processes of the sandbox's uid, cgroups; compared
# with what was there before this test (another's leftovers are not ours).
leftovers() {
	ps -o stat=,pid=,args= -u 65534 2>/dev/null | awk '$1 !~ /^Z/ {$1 = ""; print}'
	find /sys/fs/cgroup -maxdepth 5 -name 'afs-launch.*' 2>/dev/null
}
base=$(leftovers)

# ---- a fork bomb under --pids 50 ------------------------------------------
start=$(date +%s)
run afs-launch -m "$ws" --pids 50 -t 20 --kill-after 1 --json \
	-c 'bomb() { bomb | bomb & }; bomb; sleep 2; exit 3'
el=$(( $(date +%s) - start ))
is "fork bomb: ends with the script's status" 3 "$rc"
is "fork bomb: the result names the pids limit" pids "$(jq -r .limit "$T/out")"
if [ "$el" -lt 15 ]; then ok "fork bomb: ends in ${el}s"; else not_ok "fork bomb: ends in ${el}s"; fi
is "fork bomb: a one-line message on stderr" "afs-launch: the command hit its pids limit" "$(tail -n 1 "$T/err")"
is "fork bomb: nothing of it is left" "$base" "$(leftovers)"
if sh -c 'for i in 1 2 3 4 5 6 7 8; do true & done; wait'; then ok "the machine still forks"; else not_ok "the machine still forks"; fi
run afs-launch -m "$ws" --pids 5 -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait'
is "--pids 5: the sixth process is refused" 2 "$rc"
run afs-launch -m "$ws" --pids 5 -c 'sleep 0.1 & sleep 0.1 & sleep 0.1 & wait'
is "--pids 5: sh and three children are fine" 0 "$rc"

# ---- a memory hog under --memory 64M -------------------------------------
run afs-launch -m "$ws" --memory 64M --json -c 'x=aaaaaaaa; while :; do x=$x$x; done'
is "memory hog: stopped, killed" "137 SIGKILL memory" "$rc $(jq -r '"\(.signal) \(.limit)"' "$T/out")"
is "memory hog: a one-line message on stderr" "afs-launch: the command hit its memory limit" "$(tail -n 1 "$T/err")"
run afs-launch -m "$ws" --memory 64M -c 'x=aaaaaaaa; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do x=$x$x; done; echo ${#x}'
is "--memory 64M: 8 MiB of string is fine" 8388608 "$(cat "$T/out")"

# ---- CPU time, file size, open files -----------------------------------------
start=$(date +%s)
run afs-launch -m "$ws" --cpu-time 1 --json -c 'while :; do :; done'
el=$(( $(date +%s) - start ))
is "--cpu-time 1: SIGXCPU, named" "152 SIGXCPU cpu-time" "$rc $(jq -r '"\(.signal) \(.limit)"' "$T/out")"
if [ "$el" -lt 5 ]; then ok "--cpu-time 1: within ${el}s"; else not_ok "--cpu-time 1: within ${el}s"; fi
run afs-launch -m "$ws" --cpu-time 1 -c 'trap "" XCPU; while :; do :; done'
is "--cpu-time: SIGKILL a second later for one that ignores SIGXCPU" 137 "$rc"
run afs-launch -m "$ws" --fsize 4K --json -c 'head -c 4096 /dev/zero >/tmp/a && head -c 4097 /dev/zero >/tmp/b'
is "--fsize 4K: 4096 bytes fine, 4097 stopped (through sh: 153), named" "153 fsize" \
	"$rc $(jq -r .limit "$T/out")"
run afs-launch -m "$ws" --nofile 16 -c 'ulimit -n; exec 3</dev/null 4</dev/null; echo ok'
is "--nofile 16" "16
ok" "$(cat "$T/out")"
run afs-launch -m "$ws" --nofile 4 -c 'exec 3</dev/null 4</dev/null'
is "--nofile 4: the fifth fd is refused" 2 "$rc"
run afs-launch -m "$ws" --memory 64M --json -c 'exit 1'
is "an ordinary failure under limits names no limit" null "$(jq -r .limit "$T/out")"

# ---- --cpus: a cgroup (v1 as root here) ---------------------------------------
if [ "$(id -u)" = 0 ] && [ -d /sys/fs/cgroup/cpu ]; then
	afs-launch -m "$ws" --cpus 0.1 -c 'timeout 2 sh -c "while :; do :; done"; exit 0' \
		>"$T/cpus.out" 2>&1 &
	lp=$!
	at_exit_kill "$lp"
	sleep 1.5
	d=$(find /sys/fs/cgroup/cpu/ -maxdepth 4 -name 'afs-launch.*' | head -n 1)
	is "--cpus 0.1: a cfs quota of 10 ms per 100 ms" "10000 100000" \
		"$(cat "$d/cpu.cfs_quota_us" "$d/cpu.cfs_period_us" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	thr=$(awk '/^nr_throttled/ {print $2}' "$d/cpu.stat" 2>/dev/null)
	if [ "${thr:-0}" -gt 0 ]; then ok "--cpus 0.1: a busy loop is throttled ($thr times)"; else not_ok "--cpus 0.1: a busy loop is throttled"; fi
	wait "$lp"
	is "--cpus: the run ends 0" 0 "$?"
else
	skip "--cpus with a cgroup" "not root, or no cgroup v1 cpu controller"
	skip "--cpus: throttled" "not root"
	skip "--cpus: ends 0" "not root"
fi

# ---- the timeout ---------------------------------------------------------------
s0=$(date +%s%N)
run afs-launch -m "$ws" -t 1 -- sleep 30
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "-t 1: 124" 124 "$rc"
if [ "$el" -ge 1000 ] && [ "$el" -lt 2000 ]; then ok "-t 1: within a second of the deadline (${el} ms)"; else not_ok "-t 1: within a second of the deadline (${el} ms)"; fi
s0=$(date +%s%N)
run afs-launch -m "$ws" -t 0.5 --kill-after 0.5 --json -c 'trap "" TERM; sleep 30 & wait; wait'
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "-t with SIGTERM ignored: SIGKILL after --kill-after" "124 SIGKILL true" "$rc $(jq -r '"\(.signal) \(.timed_out)"' "$T/out")"
if [ "$el" -ge 1000 ] && [ "$el" -lt 2000 ]; then ok "... at the deadline plus the grace (${el} ms)"; else not_ok "... at the deadline plus the grace (${el} ms)"; fi
run afs-launch -m "$ws" -t 5 --json -c 'trap "echo got TERM; exit 9" TERM; echo; sleep 0.2; exit 0'
is "-t not reached: the command's status" "0 false" "$rc $(jq -r .timed_out "$T/out")"
run afs-launch -m "$ws" -t 0.3 --json -c 'trap "echo got TERM; exit 9" TERM; sleep 5 & wait'
is "-t: SIGTERM reaches the command, which may clean up" "124 got TERM" "$rc $(jq -r .stdout "$T/out" | tr -d '\n')"
is "after all of it: nothing left" "$base" "$(leftovers)"

# ---- an ordinary user ----------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$T/bin"
	cp "$B/afs-launch" "$T/bin/"
	chmod 0755 "$T/bin" "$T/bin/afs-launch"
	as_user() { setpriv --reuid=4321 --regid=4321 --clear-groups "$@"; }
	run as_user "$T/bin/afs-launch" -m "$ws" -- sh -c 'id; cat f'
	is "ordinary user: runs, as its own uid" "uid=4321(sandbox) gid=4321(sandbox) groups=4321(sandbox)
x" "$(cat "$T/out")"
	run as_user "$T/bin/afs-launch" -m "$ws" --pids 5 -c 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait'
	is "ordinary user: --pids through RLIMIT_NPROC" 2 "$rc"
	run as_user "$T/bin/afs-launch" -m "$ws" --memory 64M -c 'ulimit -v'
	is "ordinary user: --memory through RLIMIT_AS (no cgroup)" 65536 "$(cat "$T/out")"
	run as_user "$T/bin/afs-launch" -m "$ws" --cpus 1 -- true
	is "ordinary user: --cpus without a cgroup is an error" "125 afs-launch: --cpus needs a writable cgroup with the cpu controller (v1 as root, or a delegated v2), and there is none: use --runtime docker" "$rc $(cat "$T/err")"
	run as_user "$T/bin/afs-launch" -m "$ws" -- sh -c 'grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr -s "\t" " "'
	is "ordinary user: no capabilities" "CapEff: 0000000000000000
CapBnd: 0000000000000000" "$(cat "$T/out")"
else
	for i in 1 2 3 4 5; do skip "ordinary user" "not root or no setpriv"; done
fi
