#!/bin/bash
# What a sandbox makes afs-fuse spend, outside the sandbox's own limits
# (SECURITY.md 5; afs-fuse(1) LIMITS): memory and fds afs-fuse holds for
# the sandbox's open directories and files are bounded.
# - Open directory handles share one listing while the directory does not
#   change: 900 handles each of 4 processes of a directory of 4,000 long
#   names took afs-fuse from 3 MB to 3.4 GB before; now under 64 MiB.
# - Listings that cannot be shared (a new file between each open) count
#   against --listing-memory: ENOMEM past it, nothing lost, and the
#   directory lists again once the handles are closed.
# - --max-open caps open files and directories: EMFILE past it.
# - A listing shared must never be stale: a name made through the mount,
#   or in SOURCE behind it, shows in the next listing read from its start.
# - Out of memory in a listing answers ENOMEM: afs-fuse never exits for it.
. "$(dirname "$0")/lib.sh"

ATTACK=$B/tests/helpers/attack
if [ ! -x "$ATTACK" ]; then
	not_ok "the attack helper is built ($ATTACK: run make build/tests/helpers/attack)"
	exit 1
fi
chmod 0711 "$T"
src=$T/src mnt=$T/mnt
mkdir -p "$src/big" "$src/out" "$src/tools" "$mnt"
cp "$ATTACK" "$src/tools/attack"
# 4,000 names of 200 bytes: a listing of about 1 MB.
(cd "$src/big" && for i in $(seq 4000); do printf '%s\0' "$(printf 'f%0199d' "$i")"; done |
	xargs -0 touch)
cat >"$T/pol.yaml" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: "out/**"
    permission: write
EOF
# The directories of SOURCE are older than a tick of the clock (a listing
# of a directory changed within its tick is never shared).
sleep 0.1

# rss_kib PID FIELD: VmRSS or VmHWM of PID, in KiB.
rss_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# under_kib DESC KIB LIMIT: KIB below LIMIT.  A sanitizer build's memory
# is not afs-fuse's (AddressSanitizer keeps what is freed in a quarantine
# of 256 MB): it is measured in the plain build's run of the suite.
asan=
ldd "$B/afs-fuse" 2>/dev/null | grep -q libasan && asan=1
under_kib() {
	if [ -n "$asan" ]; then
		ok "$1 (a sanitizer build: measured in the plain build's run)"
	elif [ -n "$2" ] && [ "$2" -lt "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (under $3 KiB)"
	fi
}

# ---- 4 processes x 900 handles of one directory ------------------------------------
afs_mount "$src" "$mnt" -p "$T/pol.yaml" --allow-uid 65534 || exit 1
before=$(rss_kib "$fuse_pid" VmRSS)
run afs-launch -m "$mnt" --memory 128M --nofile 1000 --pids 20 -- sh -c '
	for i in 1 2 3 4; do /workspace/tools/attack dirhog /workspace/big 900 hold 2 & done; wait'
is "4 processes open /workspace/big 900 times each, reading it" \
	"0|900 OK,900 OK,900 OK,900 OK" "$rc|$(sort "$T/out" | paste -sd,)"
hwm=$(rss_kib "$fuse_pid" VmHWM)
under_kib "... afs-fuse's peak RSS stays under 64 MiB (${before} KiB before, ${hwm} KiB at peak)" \
	"$hwm" 65536
run afs-launch -m "$mnt" -- /workspace/tools/attack count /workspace/big f
is "... and the directory lists whole afterwards" "0 4000 4000" "$rc $(cat "$T/out")"

# ---- a new file between opens: listings that cannot be shared ---------------------------
cp -a "$src/big" "$src/out/big"
sleep 0.1
run afs-launch -m "$mnt" -- /workspace/tools/attack dirhog /workspace/out/big 900 touch
got=$(cat "$T/out")
case $got in
*" ENOMEM") n=${got% *}
	if [ "$n" -ge 20 ] && [ "$n" -le 40 ]; then
		ok "a file made before each open: ENOMEM past --listing-memory's 32M ($got)"
	else
		not_ok "a file made before each open: ENOMEM past --listing-memory's 32M ($got: 20 to 40 handles)"
	fi ;;
*) not_ok "a file made before each open: ENOMEM past --listing-memory's 32M (got '$got')" ;;
esac
hwm=$(rss_kib "$fuse_pid" VmHWM)
under_kib "... afs-fuse's peak RSS stays under 64 MiB ($hwm KiB)" "$hwm" 65536
run afs-launch -m "$mnt" -- /workspace/tools/attack count /workspace/out/big hog-
is "... once closed, the directory lists whole, with every file made" \
	"0 $((4000 + ${got% *} + 1)) $((${got% *} + 1))" "$rc $(cat "$T/out")"

# ---- --max-open: files and directories --------------------------------------------------
# The attack runs from the sandbox's /tmp: a program run from the mount
# holds an open file of it while it runs.
A='cp /workspace/tools/attack /tmp/a && /tmp/a'
run afs-launch -m "$mnt" --nofile 20000 -- sh -c "$A filehog /workspace/big/$(printf 'f%0199d' 1) 5000"
is "5,000 opens of one file: EMFILE past --max-open's default of 4096" "0 4096 EMFILE" \
	"$rc $(cat "$T/out")"
run afs-launch -m "$mnt" -- /workspace/tools/attack filehog /workspace/big/$(printf 'f%0199d' 1) 10
is "... and the slots come back at close" "0 10 OK" "$rc $(cat "$T/out")"
afs_umount "$mnt"

afs_mount "$src" "$mnt" -p "$T/pol.yaml" --allow-uid 65534 --max-open 100 --listing-memory 1500K ||
	exit 1
run afs-launch -m "$mnt" -- sh -c "$A filehog /workspace/tools/attack 60 hold 2 &
	sleep 1; /tmp/a dirhog /workspace/big 60; wait"
is "--max-open 100: 60 files held, then 40 directories, EMFILE" "0 60 OK|40 EMFILE" \
	"$rc $(paste -sd'|' "$T/out")"
run afs-launch -m "$mnt" -- /workspace/tools/attack creat /workspace/out/new
is "... a create within the cap works" "0 OK" "$rc $(cat "$T/out")"
run afs-launch -m "$mnt" -- sh -c "$A filehog /workspace/tools/attack 100 hold 2 &
	sleep 1; /tmp/a creat /workspace/out/refused; /tmp/a stat /workspace/out/refused; wait"
is "... a create past it: EMFILE, and no file is left behind" "0 100 OK|EMFILE|ENOENT" \
	"$rc $(paste -sd'|' "$T/out")"
run afs-launch -m "$mnt" -- /workspace/tools/attack dirhog /workspace/big 3 touch
is "--listing-memory 1500K: a listing of 1 MB fits, shared by 3 handles" "0 3 OK" "$rc $(cat "$T/out")"
run afs-launch -m "$mnt" -- /workspace/tools/attack dirhog /workspace/out/big 3 touch
is "... two that cannot be shared do not: ENOMEM" "0 1 ENOMEM" "$rc $(cat "$T/out")"
afs_umount "$mnt"

# ---- listings read at once by many threads: the cap holds for them together -----------
for d in 1 2 3 4 5 6 7 8; do
	mkdir "$src/many$d"
	(cd "$src/many$d" && for i in $(seq 8000); do printf 'f%0199d\0' "$i"; done | xargs -0 touch)
done
sleep 0.1
afs_mount "$src" "$mnt" -p "$T/pol.yaml" --allow-uid 65534 --listing-memory 3M || exit 1
before=$(rss_kib "$fuse_pid" VmHWM)
lspids=
for d in 1 2 3 4 5 6 7 8; do
	ls -f "$mnt/many$d" >/dev/null 2>&1 &
	lspids="$lspids $!"
done
wait $lspids	# not a bare wait: afs-fuse is a job of this shell too
hwm=$(rss_kib "$fuse_pid" VmHWM)
under_kib "8 listings of 1.9 MB read at once under --listing-memory 3M: afs-fuse grew $((hwm - before)) KiB" \
	$((hwm - before)) 8192
run ls -f "$mnt/many1"
is "... and each lists whole once the others are done" "0 8002" "$rc $(wc -l <"$T/out")"
afs_umount "$mnt"

# ---- a shared listing is never stale -----------------------------------------------------
afs_mount "$src" "$mnt" -p "$T/pol.yaml" --allow-uid 65534 || exit 1
exec 7<"$mnt/out"
ls "$mnt/out" >/dev/null
stale=
for i in $(seq 100); do
	: >"$mnt/out/fresh-$i"
	ls "$mnt/out" | grep -qx "fresh-$i" || stale="$stale fresh-$i"
	rm "$mnt/out/fresh-$i"
	! ls "$mnt/out" | grep -qx "fresh-$i" || stale="$stale -fresh-$i"
done
is "100 names made and removed through the mount, a handle held: each listing shows it" "" "$stale"
for i in $(seq 50); do
	: >"$src/big/behind-$i"
	ls -f "$mnt/big/." | grep -qx "behind-$i" || stale="$stale behind-$i"
done
is "50 names made in SOURCE behind the mount: each listing shows it" "" "$stale"
exec 7<&-
afs_umount "$mnt"

# ---- out of memory: ENOMEM, and afs-fuse goes on ----------------------------------------
# afs-fuse may map 2 MB more (RLIMIT_AS) when a listing of 9 MB is read;
# --listing-memory's 32M has room for it, so its ENOMEM is malloc's.  One
# malloc arena: a thread's arena is mapped whole at once, and its blocks
# would not count.  Nothing new is mapped but by the listing: the mount's
# one thread (a second one's stack would not fit) and its buffers are
# there, as are the nodes looked up.
mkdir "$src/huge"
(cd "$src/huge" && for i in $(seq 40000); do printf 'f%0199d\0' "$i"; done | xargs -0 touch)
sleep 0.1
if [ -n "$asan" ]; then
	# AddressSanitizer maps terabytes of shadow memory: no limit fits it.
	ok "out of memory in a listing: ENOMEM (a sanitizer build: tested in the plain build's run)"
else
	MALLOC_ARENA_MAX=1 afs_mount "$src" "$mnt" -p "$T/pol.yaml" --allow-uid 65534 || exit 1
	ls -f "$mnt/tools" "$mnt/huge/f$(printf '%0199d' 1)" >/dev/null
	vm=$(awk '$1 == "VmSize:" { print $2 }' "/proc/$fuse_pid/status")
	prlimit --pid "$fuse_pid" --as=$(((vm + 2048) * 1024)):
	run ls -f "$mnt/huge"
	is "a listing of 9 MB with 2 MB to map left: ls gets ENOMEM" \
		"2 ls: reading directory '$mnt/huge': Cannot allocate memory" "$rc $(cat "$T/err")"
	run ls -f "$mnt/out"
	is "... and afs-fuse goes on serving under the limit: another listing" "0 big" \
		"$rc $(grep -vx '\.\|\.\.' "$T/out")"
	prlimit --pid "$fuse_pid" --as=unlimited:
	run ls -f "$mnt/huge"
	is "... and lists the directory whole without it" "0 40002" "$rc $(wc -l <"$T/out")"
	afs_umount "$mnt"
fi

# ---- the options -------------------------------------------------------------------------
run afs-fuse --max-open 0 "$src" "$mnt"
is "--max-open 0: exit 2" "2 afs-fuse: bad --max-open '0' (1 or more)" "$rc $(cat "$T/err")"
run afs-fuse --max-open 30000 "$src" "$mnt"
is "--max-open past afs-fuse's fd limit: exit 2, nothing mounted" \
	"2 afs-fuse: --max-open 30000 does not fit in afs-fuse's limit of $(ulimit -Hn) open files (64 kept for itself; see afs-fuse(1) LIMITS) no" \
	"$rc $(cat "$T/err") $(mountpoint -q "$mnt" && echo yes || echo no)"
run afs-fuse --listing-memory lots "$src" "$mnt"
is "--listing-memory lots: exit 2" "2 afs-fuse: bad --listing-memory 'lots' (a size such as 32M)" \
	"$rc $(cat "$T/err")"
