#!/bin/bash
# Security: what the container of --runtime docker gets, against a real
# dockerd: no capability in any set, no_new_privs, a non-root uid, its own
# namespaces (cgroup too: docker's default on a cgroup v1 host is the
# host's), no way to unmount, remount or mount, no nested namespace, no
# device node, read-only /proc/sys and /sys, docker's few devices and no
# /dev/fuse, a /workspace that shows as afs and nothing of SOURCE's path;
# and nothing of it outlives the run: not a background job, not one in a
# session of its own, not after a timeout.
. "$(dirname "$0")/lib.sh"

if ! docker_up; then
	skip "docker runtime" "docker.io or busybox-static missing, or dockerd would not start"
	exit 0
fi

U=64127
src=$T/src
mkdir -p "$src"
echo data >"$src/file.txt"
dk() { afs-launch --runtime docker --image "$TEST_IMAGE" --uid $U --gid $U -s "$src" -p agent-safe "$@"; }
containers() { docker ps -a --filter name=afs-launch- --format '{{.Names}}'; }
# settled DESC: no container, and no process of the sandbox's uid, left.
settled() {
	local i=0
	while { [ -n "$(containers)" ] || pgrep -u $U >/dev/null; } && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	is "$1: no container, no process left" "0 0" "$(containers | grep -c .) $(pgrep -u $U | grep -c .)"
}

# ---- what the container is ---------------------------------------------------------
run dk -- sh -c 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " "; id -u; id -G'
is "docker: no capability in any set, no_new_privs, seccomp, uid and groups" "CapInh: 0000000000000000
CapPrm: 0000000000000000
CapEff: 0000000000000000
CapBnd: 0000000000000000
CapAmb: 0000000000000000
NoNewPrivs: 1
Seccomp: 2
$U
$U" "$(cat "$T/out")"
run dk -- readlink /proc/self/ns/cgroup
if [ "$rc" = 0 ] && [ -n "$(cat "$T/out")" ] && [ "$(cat "$T/out")" != "$(readlink /proc/self/ns/cgroup)" ]; then
	ok "docker: a cgroup namespace of its own"
else
	not_ok "docker: a cgroup namespace of its own"; diag "inside: $(cat "$T/out") outside: $(readlink /proc/self/ns/cgroup)"
fi
run dk -- sh -c 'grep -v ":/$" /proc/self/cgroup; echo end'
is "docker: /proc/self/cgroup shows the root of each hierarchy, not the host's paths" end "$(cat "$T/out")"
for ns in pid ipc uts net mnt; do
	run dk -- readlink /proc/self/ns/$ns
	if [ "$rc" = 0 ] && [ "$(cat "$T/out")" != "$(readlink /proc/self/ns/$ns)" ]; then
		ok "docker: its own $ns namespace"
	else
		not_ok "docker: its own $ns namespace"; diag "$(cat "$T/out" "$T/err")"
	fi
done

# ---- what it cannot do -----------------------------------------------------------------
run dk -- umount /workspace
is "docker: umount /workspace: EPERM" "1 umount: can't unmount /workspace: Operation not permitted" \
	"$rc $(cat "$T/err")"
run dk -- umount -l /workspace
is "docker: umount -l /workspace: EPERM" "1 umount: can't unmount /workspace: Operation not permitted" \
	"$rc $(cat "$T/err")"
run dk -- sh -c 'mount -o remount,rw /workspace || mount -o remount,rw / || mount -t tmpfs none /tmp'
is "docker: no remount, no mount" 1 "$rc"
run dk -- unshare -U true
is "docker: no user namespace" "1 unshare: unshare(0x10000000): Operation not permitted" "$rc $(cat "$T/err")"
run dk -- unshare -m true
is "docker: no mount namespace" "1 unshare: unshare(0x20000): Operation not permitted" "$rc $(cat "$T/err")"
run dk -- mknod /tmp/sda b 8 0
is "docker: no device node" "1 mknod: /tmp/sda: Operation not permitted" "$rc $(cat "$T/err")"
run dk -- sh -c 'echo x >/proc/sys/kernel/hostname'
is "docker: /proc/sys is read-only" "1 sh: can't create /proc/sys/kernel/hostname: Read-only file system" \
	"$rc $(cat "$T/err")"
run dk -- sh -c 'echo x >/sys/kernel/uevent_helper'
is "docker: /sys is read-only" "1 sh: can't create /sys/kernel/uevent_helper: Read-only file system" \
	"$rc $(cat "$T/err")"
run dk -- ls -A /dev
is "docker: docker's devices only, no /dev/fuse" \
	"fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero" \
	"$(tr '\n' ' ' <"$T/out" | sed 's/ $//')"
run dk -- awk '$5 == "/workspace" { print $(NF - 2), $(NF - 1) }' /proc/self/mountinfo
is "docker: /workspace is the afs mount, named afs" "fuse.afs afs" "$(cat "$T/out")"
run dk -- cat /proc/self/mountinfo
is "docker: SOURCE's path is nowhere in the mount table" "0 0" "$rc $(grep -c "$src" "$T/out")"
settled "docker: what the container is"

# ---- nothing outlives the run ---------------------------------------------------------------
s0=$(date +%s%N)
run dk -- sh -c 'sleep 100 & exit 3'
el=$(( ($(date +%s%N) - s0) / 1000000 ))
is "docker: a background job does not hold the run: the command's status" 3 "$rc"
if [ "$el" -lt 10000 ]; then ok "docker: ... at once (${el} ms)"; else not_ok "docker: ... at once (${el} ms)"; fi
settled "docker: a background job"
run dk -t 1 -- sh -c 'setsid sh -c "trap \"\" TERM HUP; sleep 100" & trap "" TERM; sleep 100'
is "docker: a timeout, with a job in a session of its own that ignores SIGTERM: 124" 124 "$rc"
settled "docker: a timeout"
afs-launch --runtime docker --image "$TEST_IMAGE" --uid $U --gid $U -s "$src" -- \
	sh -c 'setsid sleep 100 & sleep 100' >/dev/null 2>&1 &
lp=$!
i=0
until [ "$(pgrep -u $U -x sleep | grep -c .)" = 2 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$lp"
wait "$lp" 2>/dev/null
settled "docker: kill -9 of afs-launch, with a job in a session of its own"
