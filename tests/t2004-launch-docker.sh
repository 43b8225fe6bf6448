#!/bin/bash
# afs-launch --runtime docker: the core cases of the bwrap runtime against a
# real dockerd, and the container removed however the run ends.
. "$(dirname "$0")/lib.sh"

if ! docker_up; then
	skip "docker runtime" "docker.io or busybox-static missing, or dockerd would not start"
	exit 0
fi

src=$T/src
mkdir -p "$src/output"
printf 'test content\n' >"$src/test.txt"
printf 'API_KEY=x\n' >"$src/.env"
dk() { afs-launch --runtime docker --image "$TEST_IMAGE" -s "$src" -p agent-safe "$@"; }
containers() { docker ps -a --filter name=afs-launch- --format '{{.Names}}'; }
base_mounts=$(grep -c ' fuse.afs ' /proc/mounts)
settled() {
	local i=0
	while { [ -n "$(containers)" ] || [ "$(grep -c ' fuse.afs ' /proc/mounts)" != "$base_mounts" ]; } &&
		[ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	is "$1: no container, no mount left" "0 $base_mounts" \
		"$(containers | grep -c .) $(grep -c ' fuse.afs ' /proc/mounts)"
}

run dk -- echo hello
is "docker: echo hello" "0 hello" "$rc $(cat "$T/out")"
run dk -- cat test.txt
is "docker: cat test.txt" "test content" "$(cat "$T/out")"
run dk -- ls -1A
is "docker: ls -1A (the secret hidden)" "output
test.txt" "$(cat "$T/out")"
run dk -- cat .env
is "docker: a hidden file does not exist" "1 cat: can't open '.env': No such file or directory" "$rc $(cat "$T/err")"
run dk -- sh -c 'ls /etc | grep -c . >/dev/null; cat /etc/shadow 2>&1 | head -c 0; test -e /etc/gitconfig && echo has-gitconfig || echo image-etc'
is "docker: the image's own /etc, not the host's allowlist" "0 image-etc" "$rc $(cat "$T/out")"
echo "docker etc $$" >"/etc/afs-test-docker.$$"
run dk --etc "afs-test-docker.$$" -- sh -c "cat /etc/afs-test-docker.$$; echo x 2>/dev/null >/etc/afs-test-docker.$$ || echo read-only"
rm -f "/etc/afs-test-docker.$$"
is "docker: --etc NAME binds the host's file over the image's, read-only" \
	"0 docker etc $$ read-only" "$rc $(cat "$T/out" | tr '\n' ' ' | sed 's/ $//')"
run dk --etc shadow -- true
is "docker: --etc shadow refused" "125 afs-launch: --etc 'shadow': never given to a sandbox (see afs-launch(1))" \
	"$rc $(cat "$T/err")"
run dk -- grep '^Seccomp:' /proc/self/status
is "docker: docker's default seccomp profile (filter mode)" "Seccomp:	2" "$(cat "$T/out")"
run dk --seccomp off -- grep '^Seccomp:' /proc/self/status
is "docker: --seccomp off is unconfined" "Seccomp:	0" "$(cat "$T/out")"
run dk -c 'exit 42'
is "docker: exit 42" 42 "$rc"
run dk -- id -u
is "docker: uid not 0" 65534 "$(cat "$T/out")"
run dk -- sh -c 'grep -E "^Cap(Prm|Eff|Bnd|Amb)" /proc/self/status | tr -s "\t" " "'
is "docker: no capabilities" "CapPrm: 0000000000000000
CapEff: 0000000000000000
CapBnd: 0000000000000000
CapAmb: 0000000000000000" "$(cat "$T/out")"
run dk -- sh -c 'grep NoNewPrivs /proc/self/status | tr -s "\t" " "'
is "docker: no_new_privs" "NoNewPrivs: 1" "$(cat "$T/out")"
run dk -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "docker: no network but loopback" "lo" "$(cat "$T/out")"
run env SECRET_TOKEN=s3cr3t BAR=baz afs-launch --runtime docker --image "$TEST_IMAGE" -s "$src" \
	-e FOO=bar -e BAR -- env
if grep -qx FOO=bar "$T/out" && grep -qx BAR=baz "$T/out" && ! grep -q SECRET_TOKEN "$T/out" &&
	grep -qx HOME=/home/sandbox "$T/out"; then
	ok "docker: -e passed, the host's environment not"
else
	not_ok "docker: -e passed, the host's environment not"; diag "$(cat "$T/out")"
fi
if ps -eo args | grep -q 'ba[z]'; then not_ok "docker: no env value on a command line"; else ok "docker: no env value on a command line"; fi
run dk -- no-such-command
is "docker: not found 127" 127 "$rc"
run dk -- /workspace/test.txt
is "docker: not executable 126" 126 "$rc"
run dk -- touch /newfile
is "docker: the root is read-only" 1 "$rc"
run dk -- sh -c 'echo x >/tmp/f && cat /tmp/f && cd && touch y && pwd'
is "docker: /tmp and HOME writable" "x
/home/sandbox" "$(cat "$T/out")"
run dk -c 'echo r >output/r.txt && cat output/r.txt'
is "docker: a write allowed by the policy" "0 r" "$rc $(cat "$T/out")"
run dk --json -c 'printf "a\000b"; echo e >&2; exit 3'
is "docker: --json" '{"exit_code":3,"signal":null,"timed_out":false,"limit":null,"stdout":"a\u0000b","stderr":"e\n"}' \
	"$(sed 's/,"duration_ms":[0-9]*//' "$T/out")"
settled "docker core cases"

s0=$(date +%s%N)
run dk -t 1 -- sleep 30
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "docker: timeout 124" 124 "$rc"
if [ "$el" -lt 2500 ]; then ok "docker: within the deadline plus docker's own time (${el} ms)"; else not_ok "docker: within the deadline plus docker's own time (${el} ms)"; fi
run dk -t 0.5 --kill-after 0.5 --json -c 'trap "" TERM; sleep 30'
is "docker: SIGTERM ignored, SIGKILL after the grace" "124 SIGKILL" "$rc $(jq -r .signal "$T/out")"
settled "docker timeouts"

run dk --pids 50 -t 20 --json -c 'bomb() { bomb | bomb & }; bomb; sleep 2; exit 3'
is "docker: fork bomb under --pids 50 ends" 3 "$rc"
if sh -c 'true & wait'; then ok "docker: the machine still forks"; else not_ok "docker: the machine still forks"; fi
run dk --memory 64M --json -c 'x=aaaaaaaa; while :; do x=$x$x; done'
is "docker: memory hog stopped and named" "137 SIGKILL memory" "$rc $(jq -r '"\(.signal) \(.limit)"' "$T/out")"
is "docker: ... and said on stderr" "afs-launch: the command hit its memory limit" "$(tail -n 1 "$T/err")"
run dk --cpus 0.5 -- true
is "docker: --cpus" 0 "$rc"
run dk --nofile 16 -c 'ulimit -n'
is "docker: --nofile" 16 "$(cat "$T/out")"
settled "docker limits"

env --default-signal=INT,TERM afs-launch --runtime docker --image "$TEST_IMAGE" -s "$src" -- sleep 30 \
	>/dev/null 2>&1 &
lp=$!
i=0
until [ -n "$(containers)" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
kill -TERM "$lp"
wait "$lp"
is "docker: SIGTERM to afs-launch: the command ends by it" 143 "$?"
settled "docker: SIGTERM to afs-launch"

afs-launch --runtime docker --image "$TEST_IMAGE" -s "$src" -- sleep 30 >/dev/null 2>&1 &
lp=$!
i=0
until [ -n "$(containers)" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$lp"
wait "$lp" 2>/dev/null
settled "docker: SIGKILL to afs-launch (the guardian removes the container)"

run afs-launch --runtime docker --image no-such-image:0 -s "$src" -- true
is "docker: a missing image is 125" 125 "$rc"
settled "docker: a missing image"
