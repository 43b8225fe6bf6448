#!/bin/bash
# Security: a file at `read` (and a directory at `read`, a file at `view`)
# cannot be changed from the sandbox by any route: each attack must fail
# with the errno of afs-fuse(1) LEVELS AND ERRORS (or the kernel's own,
# where the kernel refuses before afs-fuse is asked), and afterwards the
# file's bytes, mode, owner and times on the host are unchanged (cmp) and
# the delta holds nothing about it.  Every attack runs inside afs-launch's sandbox over a
# real mount, as tests/helpers/attack.
. "$(dirname "$0")/lib.sh"

ATTACK=$B/tests/helpers/attack
if [ ! -x "$ATTACK" ]; then
	not_ok "the attack helper is built ($ATTACK: run make build/tests/helpers/attack)"
	exit 1
fi

src=$T/src delta=$T/delta pol=$T/pol.yaml
mkdir -p "$src/tools" "$src/docs" "$src/out"
cp "$ATTACK" "$src/tools/attack-$$"
printf 'ORIGINAL-%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 >"$src/ro.txt"
echo >>"$src/ro.txt"
head -c 8192 /dev/urandom >>"$src/ro.txt"
chmod 0644 "$src/ro.txt"
touch -d '2021-02-03 04:05:06' "$src/ro.txt"
setfattr -n user.afs -v orig "$src/ro.txt" 2>/dev/null
echo doc >"$src/docs/a.txt"
echo view >"$src/view.txt"
echo ok >"$src/out/ok.txt"
# In the writable directory, a hard link to the read file (same inode on
# the host) and a symlink to it.
ln "$src/ro.txt" "$src/out/hl.txt"
ln -s ../ro.txt "$src/out/sl"
cp -p "$src/ro.txt" "$T/ro.orig"
# What a read of it prints: its first 80 bytes (all printable).
RO80="DATA:$(head -c 80 "$src/ro.txt")"
echo doc >"$T/a.orig"

cat >"$pol" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: /out/**
    permission: write
    priority: 10
  - pattern: /ro.txt
    type: file
    permission: read
  - pattern: /view.txt
    permission: view
EOF

atk() {
	afs-launch -s "$src" -p "$pol" -d "$delta" -- /workspace/tools/attack-$$ "$@" 2>"$T/atk.err"
}

# What must not change: the bytes (cmp with the copy made before), and
# mode, owner, size, link count, mtime of the read file and of docs/a.txt.
meta() { stat -c '%a %u:%g %s %h %Y' "$src/ro.txt" "$src/docs/a.txt" "$src/docs" | tr '\n' ' '; }
META0=$(meta)
host_state() {
	local s=unchanged
	cmp -s "$T/ro.orig" "$src/ro.txt" || s="ro.txt CHANGED"
	cmp -s "$T/a.orig" "$src/docs/a.txt" || s="$s docs/a.txt CHANGED"
	[ "$(meta)" = "$META0" ] || s="$s metadata CHANGED: $(meta)"
	echo "$s"
}
delta_state() {
	local f
	f=$(find "$delta" -mindepth 1 \( -name ro.txt -o -name '.wh.ro.txt' -o -path "$delta/docs" \
		-o -path "$delta/docs/*" -o -name '.wh.docs' -o -name 'ro-*' -o -name '.wh..wh..opq' \) \
		2>/dev/null | sed "s|^$delta||" | tr '\n' ' ')
	echo "${f:-clean}"
}

# ro DESC EXPECTED ARGS...: the attack's line, then the host and the delta.
ro() {
	local desc=$1 want=$2 got
	shift 2
	got="$(atk "$@") | host $(host_state) | delta $(delta_state)"
	is "$desc" "$want | host unchanged | delta clean" "$got"
	[ "$got" = "$want | host unchanged | delta clean" ] ||
		diag "attack $*" "stderr: $(head -c 500 "$T/atk.err")"
}

W=/workspace
R=$W/ro.txt

# ---- opening for writing ------------------------------------------------------------
ro "open O_WRONLY: EACCES" EACCES open $R w
ro "open O_RDWR: EACCES" EACCES open $R rw
ro "open O_RDONLY|O_TRUNC: EACCES" EACCES open $R r,trunc
ro "open O_WRONLY|O_TRUNC: EACCES" EACCES open $R w,trunc
ro "open O_WRONLY|O_APPEND: EACCES" EACCES open $R w,append
ro "open O_WRONLY|O_CREAT on the existing name: EACCES" EACCES open $R w,creat
# The kernel answers O_CREAT|O_EXCL on a name it has looked up (a visible
# one) with EEXIST itself, before afs-fuse is asked: nothing leaks, the
# name is visible anyway.
ro "open O_CREAT|O_EXCL on the existing name: EEXIST (from the kernel)" EEXIST creat $R
ro "O_PATH, then reopen /proc/self/fd/N O_WRONLY: EACCES" "OK EACCES" reopen $R path w
ro "O_RDONLY, then reopen /proc/self/fd/N O_RDWR: EACCES" "OK EACCES" reopen $R r rw
ro "through a symlink made in /out, O_WRONLY: EACCES" "OK EACCES" symlink-open $R $W/out/l-ro w
ro "through the source's own symlink /out/sl, O_WRONLY|O_TRUNC: EACCES" EACCES open $W/out/sl w,trunc

# ---- truncate, mmap, fallocate, copy_file_range -----------------------------------------
ro "truncate(2): EACCES" EACCES truncate $R
ro "ftruncate through the read fd: EINVAL (the kernel: fd not open for writing)" EINVAL ftruncate $R
ro "mmap PROT_WRITE MAP_SHARED of the read fd: EACCES" EACCES mmap-shared-w $R
ro "mmap MAP_SHARED read-only, then mprotect PROT_WRITE: EACCES" EACCES mprotect-w $R
ro "mmap MAP_PRIVATE writable, scribbled, msync: the file reads the original after" \
	"OK $RO80" mmap-private-w $R
ro "fallocate: open O_RDWR EACCES, fallocate through the read fd EBADF" "EACCES EBADF" fallocate $R
ro "fallocate PUNCH_HOLE through the read fd: EBADF" EBADF punch $R
ro "copy_file_range into it: open O_WRONLY EACCES, into the read fd EBADF" "EACCES EBADF" \
	cfr $W/out/ok.txt $R

# ---- attributes -----------------------------------------------------------------------
ro "chmod 0666: EACCES" EACCES chmod $R 0666
ro "chmod 0666 then open for writing: EACCES EACCES" "EACCES EACCES" chmod-open $R
ro "fchmod through the read fd: EACCES" EACCES fchmod $R
ro "chown (to ourselves): EACCES" EACCES chown $R
ro "utimensat(NULL) (now): EACCES" EACCES utimens-now $R
ro "utimensat to the epoch: EACCES" EACCES utimens $R
ro "setxattr user.afs: EACCES" EACCES setxattr $R user.afs
ro "removexattr user.afs: EACCES" EACCES removexattr $R user.afs
ro "setxattr trusted.afs: EPERM (the kernel: no CAP_SYS_ADMIN)" EPERM setxattr $R trusted.afs

# ---- names: rename, link, unlink -----------------------------------------------------------
ro "rename a writable file over it: EACCES" EACCES rename $W/out/ok.txt $R
ro "rename it away into /out: EACCES" EACCES rename $R $W/out/ro-moved
ro "RENAME_EXCHANGE with a writable file: EACCES" EACCES exchange $W/out/ok.txt $R
ro "unlink: EACCES" EACCES unlink $R
ro "hard link into /out (a writable alias): EACCES; the alias does not exist" "EACCES ENOENT" \
	link-open $R $W/out/ro-link w
ro "linkat AT_SYMLINK_FOLLOW of /proc/self/fd/N (its open fd) into /out: EACCES" "OK EACCES ENOENT" \
	linkat-proc $R $W/out/ro-plink

# ---- a read directory ----------------------------------------------------------------------
ro "read directory: create a file in it: EACCES" EACCES creat $W/docs/new
ro "read directory: mkdir in it: EACCES" EACCES mkdir $W/docs/d
ro "read directory: mkfifo in it: EACCES" EACCES mkfifo $W/docs/fifo
ro "read directory: symlink in it: EACCES" EACCES symlink $R $W/docs/l
ro "read directory: unlink a file of it: EACCES" EACCES unlink $W/docs/a.txt
ro "read directory: rename it into /out: EACCES" EACCES rename $W/docs $W/out/docs
ro "read directory: rmdir it: EACCES" EACCES rmdir $W/docs
ro "read directory: chmod it: EACCES" EACCES chmod $W/docs 0777
ro "read directory: a file in it, O_WRONLY: EACCES" EACCES open $W/docs/a.txt w
ro "read directory: an O_TMPFILE in it: EOPNOTSUPP" EOPNOTSUPP tmpfile $W/docs $W/docs/t

# ---- a view file ----------------------------------------------------------------------------
ro "view file: O_WRONLY: EACCES" EACCES open $W/view.txt w
ro "view file: truncate: EACCES" EACCES truncate $W/view.txt
ro "view file: chmod: EACCES" EACCES chmod $W/view.txt 0644
is "view file: the source is unchanged" view "$(cat "$src/view.txt")"

# ---- a hard link of the source in a writable directory --------------------------------------
# /out/hl.txt and /ro.txt are one inode on the host.  Writing /out/hl.txt
# is allowed (it is at write), but the copy-up must break the link: the
# read file's bytes never change.
got=$(atk write-file $W/out/hl.txt PWNED)
is "the source's hard link in /out is writable" OK "$got"
is "... the read file on the host is unchanged, still linked twice" "unchanged 2" \
	"$(cmp -s "$T/ro.orig" "$src/ro.txt" && echo unchanged || echo CHANGED) $(stat -c %h "$src/ro.txt")"
is "... the write is in the delta only" PWNED "$(cat "$delta/out/hl.txt" 2>&1)"
is "... and /ro.txt through the mount reads the original" \
	"$RO80" "$(atk cat $R)"
got=$(atk mmap-write $W/out/hl.txt MMAP)
is "writing /out/hl.txt through a shared mapping: OK" OK "$got"
is "... the read file on the host is still unchanged" unchanged \
	"$(cmp -s "$T/ro.orig" "$src/ro.txt" && echo unchanged || echo CHANGED)"
is "after everything: host and delta" "host unchanged | delta clean" \
	"host $(host_state) | delta $(delta_state)"
