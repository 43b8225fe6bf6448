#!/bin/bash
# afs-session: state that persists between exec calls, separate and exact
# output, timeouts, background jobs, a shell that exits, concurrent and
# crashing clients, list, stop, attach (through tmux), audit records, and
# nothing left behind.
. "$(dirname "$0")/lib.sh"

U=64124
export AFS_RUNTIME_DIR=$T/rt
src=$T/src
mkdir -p "$src/output"
echo data >"$src/file.txt"
echo SECRET >"$src/.env"
chmod 0711 "$T"

# afs-launch makes its mountpoints in TMPDIR: here, so that they can be
# told from other mounts (the mount table does not name SOURCE).
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"
S() { afs-session "$@"; }
leftovers() {
	pgrep -u $U -l | sort
	grep ' fuse.afs ' /proc/mounts | grep -c "$T" || true
}
stop_all() {
	local n
	for n in $(ls "$AFS_RUNTIME_DIR" 2>/dev/null); do afs-session stop "$n" >/dev/null 2>&1; done
}
trap 'stop_all; _cleanup; exit $?' EXIT

run S start --name s1 --uid $U --gid $U -s "$src" -p agent-safe -e INIT_VAR=hello -a "$T/audit.log"
is "start: prints the name, exit 0" "0 s1" "$rc $(cat "$T/out")"
is "start: the state dir is 0700" 700 "$(stat -c %a "$AFS_RUNTIME_DIR")"

# ---- the reference cases --------------------------------------------------
S exec s1 'cd /tmp' >/dev/null
is "cd persists" "/tmp" "$(S exec s1 pwd)"
S exec s1 'export MY_TEST_VAR=hello_world'
is "export persists" "hello_world" "$(S exec s1 'echo $MY_TEST_VAR')"
is "... and reaches child processes" "hello_world" "$(S exec s1 'sh -c "echo \$MY_TEST_VAR"')"
S exec s1 'plain=v1'
is "a plain variable persists" "v1" "$(S exec s1 'echo $plain')"
S exec s1 'greet() { echo "hi $1"; }'
is "a function persists" "hi you" "$(S exec s1 'greet you')"
S exec s1 'mkdir -p /tmp/s; cd /tmp/s; echo "test content" > file.txt'
is "files and cwd across calls" "test content" "$(S exec s1 'cat file.txt')"
for c in true false '(exit 42)'; do
	S exec s1 "$c"
	echo $? >>"$T/codes"
done
is "exit codes of true, false, (exit 42)" "0 1 42" "$(tr '\n' ' ' <"$T/codes" | sed 's/ $//')"
is "start's -e is in the environment" "hello" "$(S exec s1 'echo $INIT_VAR')"
is "the session's name is in its environment" "s1" "$(S exec s1 'echo $AFS_SESSION')"
is "the workspace is there, through the policy" "data" "$(S exec s1 'cat /workspace/file.txt')"
run S exec s1 'cat /workspace/.env'
is "a hidden file stays hidden" "1" "$rc"

# ---- output ----------------------------------------------------------------
run S exec s1 'echo out; echo err >&2'
is "stdout and stderr apart: stdout" "out" "$(cat "$T/out")"
is "stdout and stderr apart: stderr" "err" "$(cat "$T/err")"
run S exec s1 'printf abc'
is "no trailing newline: exactly abc" "616263" "$(od -An -tx1 "$T/out" | tr -d ' \n')"
run S exec s1 "printf 'a\\000b\\377\\n'"
is "binary output byte-exact" "610062ff0a" "$(od -An -tx1 "$T/out" | tr -d ' \n')"
s0=$(date +%s%N)
n=$(S exec s1 'head -c 100000000 /dev/zero' | wc -c)
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "100 MB of output, all of it" 100000000 "$n"
diag "100 MB through the session in ${el} ms"
run S exec s1 'head -c 3000000 /dev/urandom >/tmp/r.bin; head -c 3000000 /tmp/r.bin; head -c 1000000 /tmp/r.bin >&2; md5sum </tmp/r.bin >/tmp/sum'
is "3 MB of stdout and 1 MB of stderr interleaved, each exact" \
	"$(S exec s1 'cat /tmp/sum') $(S exec s1 'head -c 1000000 /tmp/r.bin | md5sum')" \
	"$(md5sum <"$T/out") $(md5sum <"$T/err")"
run S exec s1 'cat; echo "rc=$?"'
is "stdin is empty (EOF)" "rc=0" "$(cat "$T/out")"
run S exec s1 'echo "syntax ('
if [ "$rc" -ne 0 ] && [ -s "$T/err" ]; then ok "a syntax error: non-zero and said on stderr"; else not_ok "a syntax error: non-zero and said on stderr"; diag "rc=$rc"; fi
is "... and the session goes on" "/tmp/s" "$(S exec s1 pwd)"
run S exec --json s1 'printf "a\000b"; echo e >&2; (exit 3)'
is "--json: the object of afs-launch" \
	'{"exit_code":3,"signal":null,"timed_out":false,"limit":null,"stdout":"a\u0000b","stderr":"e\n"}' \
	"$(sed 's/,"duration_ms":[0-9]*//' "$T/out")"
is "--json: the status stays the command's" 3 "$rc"

# ---- timeouts and background jobs -------------------------------------------
s0=$(date +%s%N)
run S exec --timeout 1 s1 'sleep 10'
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "sleep 10 with --timeout 1: 124" 124 "$rc"
if [ "$el" -lt 2500 ]; then ok "... within the deadline and the grace (${el} ms)"; else not_ok "... within the deadline and the grace (${el} ms)"; fi
is "the next exec works, at the same cwd" "/tmp/s" "$(S exec s1 pwd)"
run S exec --timeout 1 s1 'sh -c "trap \"\" INT; sleep 10"'
is "a command that ignores SIGINT: killed after the grace, 124" 124 "$rc"
is "... and the shell is fine" "ok" "$(S exec s1 'echo ok')"
s0=$(date +%s%N)
run S exec s1 'sleep 1000 &'
run S exec s1 'echo after'
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "sleep 1000 & does not hang later calls" "after" "$(cat "$T/out")"
if [ "$el" -lt 1000 ]; then ok "... both calls in ${el} ms"; else not_ok "... both calls in ${el} ms"; fi
run S exec s1 '(sleep 0.3; echo late) & echo now'
sleep 0.5
is "a background job's later output does not reach the next call" "next" "$(S exec s1 'echo next')"

# ---- concurrent and crashing clients ------------------------------------------
for i in 1 2 3 4; do
	S exec s1 "echo out-$i; sleep 0.$i; echo err-$i >&2; (exit $i)" >"$T/c$i.out" 2>"$T/c$i.err" &
	eval "cp$i=\$!"
done
for i in 1 2 3 4; do
	eval "wait \$cp$i"
	echo "$?" >"$T/c$i.rc"
done
good=0
for i in 1 2 3 4; do
	[ "$(cat "$T/c$i.out")" = "out-$i" ] && [ "$(cat "$T/c$i.err")" = "err-$i" ] &&
		[ "$(cat "$T/c$i.rc")" = "$i" ] && good=$((good + 1))
done
is "4 clients at once: each answer matches its command" 4 "$good"
S exec s1 'sleep 1; echo lost' >/dev/null 2>&1 &
cl=$!
sleep 0.2
kill -KILL "$cl"
wait "$cl" 2>/dev/null
s0=$(date +%s%N)
is "a killed client does not wedge the session" "fine" "$(S exec s1 'echo fine')"
el=$(( ($(date +%s%N) - s0) / 1000000 ))
if [ "$el" -lt 3000 ]; then ok "... the next answer in ${el} ms"; else not_ok "... the next answer in ${el} ms"; fi

# ---- no growth over many requests ------------------------------------------------
sp=$(S list --json | jq -r '.[0].pid')
fds0=$(ls /proc/$sp/fd | wc -l)
rss0=$(awk '/^VmRSS/ {print $2}' /proc/$sp/status)
for i in $(seq 300); do S exec s1 true || break; done
fds1=$(ls /proc/$sp/fd | wc -l)
rss1=$(awk '/^VmRSS/ {print $2}' /proc/$sp/status)
is "300 requests: the supervisor holds as many fds as before" "$fds0" "$fds1"
if [ $((rss1 - rss0)) -le 512 ]; then ok "300 requests: the supervisor's RSS grew ${rss0} -> ${rss1} kB (<= 512)"; else not_ok "300 requests: the supervisor's RSS grew ${rss0} -> ${rss1} kB"; fi
is "300 requests: nothing left in io/ and clients/" "done" "$(ls "$AFS_RUNTIME_DIR/s1/io" "$AFS_RUNTIME_DIR/s1/clients" | grep -v '^$' | grep -v ':$' | tr '\n' ' ' | sed 's/ $//')"

# ---- list -----------------------------------------------------------------------
run S list --json
is "list --json" '[{"name":"s1","state":"running","mount":"'"$src"'"}]' \
	"$(jq -c '[.[] | {name, state, mount}]' "$T/out")"
is "list --json: pid and started" "true true" \
	"$(jq -r '.[0] | "\(.pid > 1) \(.started | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))"' "$T/out")"
run S list
is "list: a header and a line" 2 "$(wc -l <"$T/out")"

# ---- audit -------------------------------------------------------------------------
S exec s1 'cat /workspace/.env' >/dev/null 2>&1
sleep 0.3
is "an exec record per exec, with the session" "s1 afs-session [\"cat /workspace/.env\"] 1" \
	"$(grep '"op":"exec"' "$T/audit.log" | grep afs-session | tail -n 1 | jq -rc '"\(.session) \(.comm) \(.argv) \(.exit)"')"
is "the file accesses carry the session too" "s1" \
	"$(grep '"path":"/.env"' "$T/audit.log" | tail -n 1 | jq -r .session)"

# ---- attach, through tmux ------------------------------------------------------------
if command -v tmux >/dev/null; then
	tmux -L afs-test kill-server 2>/dev/null
	tmux -L afs-test new-session -d -x 100 -y 30 -s att \
		"env AFS_RUNTIME_DIR=$AFS_RUNTIME_DIR PATH=$PATH afs-session attach s1; sleep 5"
	sleep 0.5
	tmux -L afs-test send-keys -t att 'echo attached-$((6*7)); pwd' Enter
	sleep 0.5
	pane=$(tmux -L afs-test capture-pane -p -t att)
	if grep -q '^attached-42' <<<"$pane" && grep -q '^/tmp/s' <<<"$pane"; then
		ok "attach: the same shell, interactively"
	else
		not_ok "attach: the same shell, interactively"; diag "$pane"
	fi
	tmux -L afs-test send-keys -t att 'stty size' Enter
	sleep 0.3
	pane=$(tmux -L afs-test capture-pane -p -t att)
	if grep -q '^30 100' <<<"$pane"; then ok "attach: the window size is passed on"; else not_ok "attach: the window size is passed on"; diag "$pane"; fi
	tmux -L afs-test resize-window -t att -x 90 -y 20 2>/dev/null
	sleep 0.3
	tmux -L afs-test send-keys -t att 'stty size' Enter
	sleep 0.3
	pane=$(tmux -L afs-test capture-pane -p -t att)
	if grep -q '^20 90' <<<"$pane"; then ok "attach: a resize is passed on"; else not_ok "attach: a resize is passed on"; diag "$pane"; fi
	run S attach s1 </dev/null
	is "attach without a terminal is refused" 1 "$rc"
	tmux -L afs-test send-keys -t att C-]
	sleep 0.3
	pane=$(tmux -L afs-test capture-pane -p -t att)
	if grep -q 'detached from s1' <<<"$pane"; then ok "attach: Ctrl-] detaches"; else not_ok "attach: Ctrl-] detaches"; diag "$pane"; fi
	tmux -L afs-test kill-server 2>/dev/null
	is "after detaching, exec still works" "/tmp/s" "$(S exec s1 pwd)"
else
	for i in 1 2 3 4 5 6; do skip "attach" "tmux missing"; done
fi

# ---- the shell's death, stop ---------------------------------------------------------
run S exec s1 'exit 7'
is "exit in the string: 125" 125 "$rc"
is "... and the session says why" "afs-session: session 's1': its shell exited (status 7)" "$(cat "$T/err")"
run S exec s1 true
is "exec on a dead session: 125" "125 afs-session: session 's1': its shell exited (status 7)" "$rc $(cat "$T/err")"
is "list shows it dead" "dead" "$(S list --json | jq -r '.[0].state')"
run S stop s1
is "stop a dead session: 0" 0 "$rc"
is "after stop: no state" "" "$(ls -A "$AFS_RUNTIME_DIR")"
i=0
while [ -n "$(leftovers | grep -v '^0$')" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "after stop: no process, no mount" "0" "$(leftovers)"

# stop on a live session, then exec: 125
S start --name s2 --uid $U --gid $U -s "$src" -p agent-safe >/dev/null
S exec s2 'sleep 1000 &' >/dev/null
s0=$(date +%s%N)
run S stop s2
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "stop a running session: 0" 0 "$rc"
diag "stop took ${el} ms"
run S exec s2 true
is "exec after stop: 125" "125 afs-session: no session 's2'" "$rc $(cat "$T/err")"
i=0
while [ "$(leftovers)" != 0 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "after stop: no process, no mount, no state" "0 " "$(leftovers) $(ls -A "$AFS_RUNTIME_DIR")"

# A killed supervisor: list notices and cleans up.
S start --name s3 --uid $U --gid $U -s "$src" -p agent-safe >/dev/null
sp=$(S list --json | jq -r '.[0].pid')
kill -KILL "$sp"
i=0
while [ "$(leftovers)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "killed supervisor: the sandbox and the mount go with it" "0" "$(leftovers)"
run S exec s3 true
is "killed supervisor: exec says so, 125" "125 afs-session: session 's3' is not running (its supervisor is gone)" "$rc $(cat "$T/err")"
is "killed supervisor: list drops it and cleans its state" "[] " "$(S list --json | tr -d '\n') $(ls -A "$AFS_RUNTIME_DIR")"

# ---- shells --------------------------------------------------------------------------
S start --name sh1 --shell /bin/sh --uid $U --gid $U -m "$src" >/dev/null
is "--shell /bin/sh" "dash ok" "$(S exec sh1 'cd /tmp; x=ok'; S exec sh1 'echo $(basename $(readlink /proc/$$/exe)) $x')"
S stop sh1
S start --name ba1 --shell /bin/bash --uid $U --gid $U -m "$src" >/dev/null
is "--shell /bin/bash" "bash 5 ok" "$(S exec ba1 'x=ok'; S exec ba1 'echo $(basename $BASH) ${BASH_VERSINFO[0]} $x')"
run S exec --timeout 1 ba1 'trap "" INT; while :; do :; done'
is "a shell that ignores SIGINT in a loop of its own: 124" 124 "$rc"
run S exec ba1 true
is "... then the session is reported dead, not wedged" 125 "$rc"
S stop ba1

# Relative paths in start's afs-launch options are the caller's.
(cd "$T" && afs-session start --name rel --uid $U --gid $U -s src -p agent-safe -a rel.log >/dev/null)
is "relative -s and -a: from the caller's directory" "data yes" \
	"$(S exec rel 'cat file.txt') $(S stop rel; sleep 0.2; [ -s "$T/rel.log" ] && echo yes)"

# ---- usage ---------------------------------------------------------------------------
run S start --name 'bad/name' -m "$src"
is "a bad name: 2" 2 "$rc"
run S start -m "$src" -c 'echo x'
is "start -c is afs-session's to set: 2" 2 "$rc"
run S exec
is "exec without arguments: 2" 2 "$rc"
run S bogus
is "an unknown command: 2" 2 "$rc"
run env AFS_RUNTIME_DIR=/tmp afs-session list
is "a state dir that others can write is refused" "1 afs-session: cannot use the state directory '/tmp': writable by its group or others (mode 1777)" "$rc $(cat "$T/err")"
mkdir -m 0700 "$T/state-real" && ln -s "$T/state-real" "$T/state-link"
run env AFS_RUNTIME_DIR="$T/state-link" afs-session list
is "a state dir that is a symbolic link is refused" \
	"1 afs-session: cannot use the state directory '$T/state-link': a symbolic link (never followed here)" \
	"$rc $(cat "$T/err")"
chmod 0755 "$T/state-real"
run env AFS_RUNTIME_DIR="$T/state-real" afs-session list
is "a state dir others can read is refused" \
	"1 afs-session: the state directory '$T/state-real' is not private (mode 0755; want 0700)" \
	"$rc $(cat "$T/err")"
chmod 0700 "$T/state-real"
run env AFS_RUNTIME_DIR="$T/state-real" afs-session list --json
is "list --json with no session: [], exit 0, nothing on stderr" "0 [] " "$rc $(tr -d '\n' <"$T/out") $(cat "$T/err")"
printf 'version: 1\nrules: [\n' >"$T/bad.yaml"
run S start --name bad1 -s "$src" -p "$T/bad.yaml"
is "start with a broken policy: 125, afs-fuse's words" "125 yes" \
	"$rc $(grep -q 'bad.yaml:' "$T/err" && echo yes)"
is "... and no state left" "" "$(ls -A "$AFS_RUNTIME_DIR")"
