#!/bin/bash
# The bwrap runtime's seccomp filter (afs-launch(1) SECCOMP): every call it
# denies fails inside with its documented errno (checked against the same
# call with --seccomp off, where the kernel answers otherwise), x32 calls
# kill the caller, the exec record says when a run had no filter.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "seccomp filter" "needs root (the sandbox drops to uid 65534)"
	exit 0
fi
chmod 711 "$T"
ws=$T/ws
mkdir "$ws"
cp "$B/tests/helpers/attack" "$ws/attack"
# name nr errno: the x86-64 numbers, and the errno the filter gives.
cat >"$ws/calls" <<'EOF'
io_uring_setup 425 ENOSYS
io_uring_enter 426 ENOSYS
io_uring_register 427 ENOSYS
bpf 321 EPERM
perf_event_open 298 EPERM
userfaultfd 323 EPERM
keyctl 250 EPERM
add_key 248 EPERM
request_key 249 EPERM
kexec_load 246 EPERM
kexec_file_load 320 EPERM
init_module 175 EPERM
finit_module 313 EPERM
delete_module 176 EPERM
open_by_handle_at 304 EPERM
mount 165 EPERM
umount2 166 EPERM
pivot_root 155 EPERM
move_mount 429 EPERM
open_tree 428 EPERM
fsopen 430 EPERM
fsconfig 431 EPERM
fsmount 432 EPERM
fspick 433 EPERM
mount_setattr 442 EPERM
unshare 272 EPERM
setns 308 EPERM
swapon 167 EPERM
swapoff 168 EPERM
reboot 169 EPERM
acct 163 EPERM
quotactl 179 EPERM
syslog 103 EPERM
vhangup 153 EPERM
iopl 172 EPERM
ioperm 173 EPERM
uselib 134 EPERM
lookup_dcookie 212 EPERM
fanotify_init 300 EPERM
EOF
cat >"$ws/probe.py" <<'EOF'
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
for line in open("calls"):
    name, nr, _ = line.split()
    # arguments that no call accepts: the kernel would answer EFAULT,
    # EINVAL or the like, never what the filter answers for all of them
    r = libc.syscall(int(nr), 1, 2, 3, 4, 5)
    e = ctypes.get_errno()
    print(name, "OK" if r >= 0 else errno.errorcode.get(e, str(e)))
EOF
run afs-launch -m "$ws" -- python3 probe.py
status_is "the probe runs in the sandbox" 0
awk '{ print $1, $3 }' "$ws/calls" >"$T/want"
same_file "each denied call fails with its errno" "$T/want" "$T/out"
run afs-launch -m "$ws" --seccomp off -- python3 probe.py
awk '{ print $1, $3 }' "$ws/calls" | sort >"$T/want.sorted"
sort "$T/out" >"$T/off.sorted"
n=$(comm -12 "$T/want.sorted" "$T/off.sorted" | wc -l)
# A few the kernel itself refuses the same way to an unprivileged caller.
if [ "$n" -le 20 ]; then ok "--seccomp off: the kernel answers most of them otherwise ($n of $(wc -l <"$ws/calls") the same)"
else not_ok "--seccomp off: the kernel answers most of them otherwise ($n of $(wc -l <"$ws/calls") the same)"; fi
is "--seccomp off: io_uring_setup reaches the kernel (EFAULT for our arguments)" "io_uring_setup EFAULT" \
	"$(grep '^io_uring_setup ' "$T/out")"

run afs-launch -m "$ws" -c './attack x32 39; echo "status $?"'
is "an x32 call kills the caller (SIGSYS)" "status 159" "$(cat "$T/out")"
run afs-launch -m "$ws" --seccomp off -c './attack x32 39; echo "status $?"'
is "--seccomp off: the x32 call reaches the kernel" "ENOSYS
status 0" "$(cat "$T/out")"
run afs-launch -m "$ws" -- ./attack int80 20
if [ "$rc" = 139 ]; then
	ok "the i386 ABI: this kernel has none (int 0x80 faults), nothing to filter # SKIP no ia32 emulation"
else
	run afs-launch -m "$ws" -- ./attack int80 288
	is "an i386 keyctl (int 0x80) is denied too" "EPERM" "$(cat "$T/out")"
fi

run afs-launch -m "$ws" -- python3 -c 'import os; pid = os.fork(); os._exit(7) if pid == 0 else print(os.waitpid(pid, 0)[1] >> 8)'
is "what tools need still works (fork, wait)" "7" "$(cat "$T/out")"
run afs-launch -m "$ws" --seccomp maybe -- true
is "--seccomp takes on or off" "125 afs-launch: bad --seccomp 'maybe' (on or off)" "$rc $(cat "$T/err")"

rm -f "$T/a.log"
afs-launch -m "$ws" -a "$T/a.log" -- true
afs-launch -m "$ws" -a "$T/a.log" --seccomp off -- true
is "the exec record says when a run had no filter, and only then" "null off" \
	"$(jq -r .seccomp "$T/a.log" | tr '\n' ' ' | sed 's/ $//')"
