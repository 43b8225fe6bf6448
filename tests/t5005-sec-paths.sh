#!/bin/bash
# Paths a user hands afs (SECURITY.md 1, lib/trust.h): a delta or an audit
# log that another local user made, or a link put in their place, is
# refused with a message naming the path and what is wrong, and nothing is
# mounted, run or written.  Each case is what an attacker on the same
# machine would try: `ln -s /etc /tmp/myrepo.delta` before root runs
# `afs-launch -s repo -d /tmp/myrepo.delta`, a 0777 directory holding a
# backdoored file, a 0666 log.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "paths afs is handed" "needs root (another user's files)"
	exit 0
fi
chmod 711 "$T"
src=$T/src mnt=$T/mnt
mkdir -p "$src/output" "$mnt"
echo code >"$src/main.py"
# What a link would lead to: a directory of root's, standing for /etc.
victim=$T/victim
mkdir "$victim" && echo secret >"$victim/shadow"
snap() { (cd "$1" && find . -printf '%p %M %U %s\n' | LC_ALL=C sort; cat ./* 2>/dev/null); }
snap "$victim" >"$T/victim.before"
mounted() { grep -c " $mnt " /proc/self/mountinfo; }

# refused DESC WANT_STATUS WANT_MESSAGE CMD...: the status, the one line
# on stderr, nothing mounted, the victim untouched.
refused() {
	local desc=$1 st=$2 msg=$3
	shift 3
	run timeout -k 5 20 "$@"
	is "$desc: refused ($st)" "$st" "$rc"
	is "$desc: the message" "$msg" "$(cat "$T/err")"
	is "$desc: nothing mounted" 0 "$(mounted)"
	snap "$victim" >"$T/victim.after"
	cmp -s "$T/victim.before" "$T/victim.after" || not_ok "$desc: what the link leads to is untouched"
}

# --- the delta ---------------------------------------------------------------------
ln -s "$victim" "$T/link.delta"
refused "afs-fuse -d a symbolic link" 2 \
	"afs-fuse: cannot use delta '$T/link.delta': a symbolic link (never followed here)" \
	afs-fuse -f -p full-access -d "$T/link.delta" "$src" "$mnt"
mkdir "$T/other.delta" && echo backdoor >"$T/other.delta/main.py" && chown -R 65534:65534 "$T/other.delta"
chmod 0777 "$T/other.delta"
refused "afs-fuse -d another user's 0777 directory" 2 \
	"afs-fuse: cannot use delta '$T/other.delta': owned by uid 65534, not by us or root" \
	afs-fuse -f -p full-access -d "$T/other.delta" "$src" "$mnt"
chmod 0700 "$T/other.delta"
refused "afs-fuse -d another user's 0700 directory" 2 \
	"afs-fuse: cannot use delta '$T/other.delta': owned by uid 65534, not by us or root" \
	afs-fuse -f -p full-access -d "$T/other.delta" "$src" "$mnt"
mkdir -m 0777 "$T/open.delta"
chmod 0777 "$T/open.delta"
refused "afs-fuse -d root's directory writable by others" 2 \
	"afs-fuse: cannot use delta '$T/open.delta': writable by its group or others (mode 0777)" \
	afs-fuse -f -p full-access -d "$T/open.delta" "$src" "$mnt"
chmod 0770 "$T/open.delta"
refused "afs-fuse -d root's directory writable by its group" 2 \
	"afs-fuse: cannot use delta '$T/open.delta': writable by its group or others (mode 0770)" \
	afs-fuse -f -p full-access -d "$T/open.delta" "$src" "$mnt"
: >"$T/file.delta"
refused "afs-fuse -d a file" 2 "afs-fuse: cannot use delta '$T/file.delta': not a directory" \
	afs-fuse -f -p full-access -d "$T/file.delta" "$src" "$mnt"
afs_mount "$src" "$mnt" -p full-access -d "$T/new.delta" -a "$T/new.log" || exit 1
is "a new delta is made 0700, a new log 0600" "700 600" \
	"$(stat -c %a "$T/new.delta") $(stat -c %a "$T/new.log")"
# Rotation: the path is now a link; the reopen is refused, the old log kept.
mv "$T/new.log" "$T/new.log.1"
ln -s "$victim/shadow" "$T/new.log"
kill -USR1 "$fuse_pid"
sleep 0.5
cat "$mnt/main.py" >/dev/null
afs_umount "$mnt"
is "SIGUSR1 onto a link: refused, said on stderr" \
	"afs-fuse: cannot reopen the audit log: a symbolic link (never followed here); still writing the old one" \
	"$(grep reopen "$T/fuse.err")"
snap "$victim" >"$T/victim.after"
same_file "SIGUSR1 onto a link: what it leads to is untouched" "$T/victim.before" "$T/victim.after"
rm -f "$T/new.log"

# --- the audit log ------------------------------------------------------------------
ln -s "$victim/shadow" "$T/link.log"
refused "afs-fuse -a a symbolic link" 2 \
	"afs-fuse: cannot use the audit log '$T/link.log': a symbolic link (never followed here)" \
	afs-fuse -f -p full-access -a "$T/link.log" "$src" "$mnt"
install -m 0666 /dev/null "$T/open.log"
refused "afs-fuse -a a log writable by others" 2 \
	"afs-fuse: cannot use the audit log '$T/open.log': writable by others (mode 0666)" \
	afs-fuse -f -p full-access -a "$T/open.log" "$src" "$mnt"
install -m 0600 -o 65534 /dev/null "$T/other.log"
refused "afs-fuse -a another user's log" 2 \
	"afs-fuse: cannot use the audit log '$T/other.log': owned by uid 65534, not by us" \
	afs-fuse -f -p full-access -a "$T/other.log" "$src" "$mnt"
mkfifo "$T/fifo.log"
refused "afs-fuse -a a FIFO (no reader: no hang)" 2 \
	"afs-fuse: cannot use the audit log '$T/fifo.log': not a regular file" \
	afs-fuse -f -p full-access -a "$T/fifo.log" "$src" "$mnt"
is "... nothing was written to the others' logs" "0 0" "$(stat -c %s "$T/open.log") $(stat -c %s "$T/other.log")"

# --- commit and discard -------------------------------------------------------------
snap "$src" >"$T/src.before"
refused "afs-fuse --commit of a link" 2 \
	"afs-fuse: cannot use delta '$T/link.delta': a symbolic link (never followed here)" \
	afs-fuse --commit --delta "$T/link.delta" "$src"
refused "afs-fuse --commit of another user's delta (its backdoored main.py)" 2 \
	"afs-fuse: cannot use delta '$T/other.delta': owned by uid 65534, not by us or root" \
	afs-fuse --commit --delta "$T/other.delta" "$src"
refused "afs-fuse --discard of another user's delta" 2 \
	"afs-fuse: cannot use delta '$T/other.delta': owned by uid 65534, not by us or root" \
	afs-fuse --discard --delta "$T/other.delta" "$src"
snap "$src" >"$T/src.after"
same_file "SOURCE is as it was" "$T/src.before" "$T/src.after"
is "the other user's delta is as it was" "backdoor" "$(cat "$T/other.delta/main.py")"

# --- afs-launch and afs-session -------------------------------------------------------
refused "afs-launch -s -d a link (afs-fuse refuses; afs-launch says so)" 125 \
	"afs-fuse: cannot use delta '$T/link.delta': a symbolic link (never followed here)
afs-launch: afs-fuse could not mount '$src' (it exited with status 2)" \
	afs-launch -s "$src" -p full-access -d "$T/link.delta" -- sh -c 'echo ran >/workspace/output/ran'
refused "afs-launch -a a link, before anything runs" 125 \
	"afs-launch: cannot use the audit log '$T/link.log': a symbolic link (never followed here)" \
	afs-launch -s "$src" -p full-access -a "$T/link.log" -- sh -c 'echo ran >/workspace/output/ran'
refused "afs-launch -m -a a log writable by others" 125 \
	"afs-launch: cannot use the audit log '$T/open.log': writable by others (mode 0666)" \
	afs-launch -m "$src" -a "$T/open.log" -- true
export AFS_RUNTIME_DIR=$T/run
refused "afs-session start -a a link" 1 \
	"afs-session: cannot use the audit log '$T/link.log': a symbolic link (never followed here)" \
	afs-session start --name t5005 -s "$src" -p full-access -a "$T/link.log"
is "afs-session: no session left" "" "$(afs-session list 2>/dev/null)"

# --- the mountpoint ---------------------------------------------------------------------
ln -s "$victim" "$T/link.mnt"
refused "afs-fuse on a mountpoint that is a link" 2 \
	"afs-fuse: cannot mount on '$T/link.mnt': a symbolic link (never followed here)" \
	afs-fuse -f -p full-access "$src" "$T/link.mnt"
is "nothing mounted on what the link leads to" 0 "$(grep -c " $victim " /proc/self/mountinfo)"

# --- a policy that is not one --------------------------------------------------------
printf 'root:$y$j9T$hash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$victim/shadow-like"
printf 'version: 1\nextends: %s\n' "$victim/shadow-like" >"$T/ext.yaml"
run afs-fuse --check -p "$T/ext.yaml"
is "extends: a file that is not a policy: exit 2, one line, none of its content" \
	"2 $victim/shadow-like:1:1: not an afs policy (no 'version', 'extends', 'default', 'rules' or 'network')" \
	"$rc $(cat "$T/err")"
run afs-fuse --check -p "$victim/shadow-like"
is "-p a file that is not a policy: none of its content either" 0 "$(grep -c 'root\|daemon\|hash' "$T/err")"
printf 'version: 1\nrules:\n  - pattern: x\n    permission: read\n    "root:$y$j9T$hash:19000": 1\n' >"$T/odd.yaml"
run afs-fuse --check -p "$T/odd.yaml"
is "an unknown key that is not a word is not quoted" "2 $T/odd.yaml:5:5: unknown key in a rule" \
	"$rc $(cat "$T/err")"

# --- what the sandbox learns of the host, and what it can say of itself ---------------
run afs-launch -s "$src" -p full-access -- cat /proc/self/mountinfo
is "the sandbox's mount table does not show SOURCE's host path" 0 "$(grep -c -F "$src" "$T/out")"
is "... the workspace's source is 'afs'" "afs" "$(awk '$5 == "/workspace" { for (i = 7; $i != "-"; i++); print $(i + 2) }' "$T/out")"
rm -f "$T/s.log"
run env AFS_SESSION=real afs-launch -s "$src" -p full-access -a "$T/s.log" -- \
	sh -c 'AFS_SESSION=forged cat main.py >/dev/null; export AFS_SESSION=forged2; cat main.py >/dev/null'
is "the session of every record is the caller's, not what the sandbox sets" "real" \
	"$(jq -r .session "$T/s.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
rm -f "$T/s.log"
run afs-launch -s "$src" -p full-access -a "$T/s.log" -- sh -c 'AFS_SESSION=forged cat main.py'
is "without a session from the caller, the sandbox cannot name one" "null" \
	"$(jq -r .session "$T/s.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"

# --- the caller's files given as stdio ---------------------------------------------------
# A regular file as fd 1 would let the sandbox clear O_APPEND and write over
# the caller's earlier lines, or read them back: it gets a pipe instead.
echo "the caller's line" >"$T/caller.log"
chmod 0644 "$T/caller.log"
afs-launch -s "$src" -p full-access -- python3 -c '
import fcntl, os
fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) & ~os.O_APPEND)
try:
    os.pwrite(1, b"OVERWRITTEN", 0)
except OSError as e:
    print("pwrite:", e.errno == 29)
try:
    print("read back:", open("/proc/self/fd/1").read())
except OSError as e:
    print("read back: refused")
print(os.readlink("/proc/self/fd/1").split(":")[0])
os.write(2, b"to stderr\n")
raise SystemExit(3)' >>"$T/caller.log" 2>>"$T/caller.err"
rc=$?
is ">> caller.log: the command's status is kept" 3 "$rc"
is ">> caller.log: the caller's lines intact, the command's appended, fd 1 a pipe" \
	"the caller's line
pwrite: True
read back: refused
pipe" "$(cat "$T/caller.log")"
is ">> caller.err: the command's stderr" "to stderr" "$(cat "$T/caller.err")"
head -c 5000000 /dev/urandom >"$T/big.in"
afs-launch -s "$src" -p full-access -- sh -c 'cat; readlink /proc/self/fd/0 >&2' <"$T/big.in" >"$T/big.out" 2>"$T/big.err"
is "< file > file: 5 MB through, byte for byte" "$(md5sum <"$T/big.in")" "$(md5sum <"$T/big.out")"
is "< file: the command's stdin is a pipe" "pipe" "$(cut -d: -f1 "$T/big.err")"
run sh -c "afs-launch -s '$src' -p full-access -- head -c 10 <'$T/big.in' | wc -c"
is "a command that stops reading its stdin early: no harm" "0 10" "$rc $(cat "$T/out")"

# --ready-fd names an fd of the caller's, checked before afs-fuse opens
# anything: a number not open would, by mount time, be afs-fuse's own
# (/dev/fuse, a layer), written to and closed (the mount then failed).
run afs-fuse -f --ready-fd 9 "$src" "$mnt"
is "--ready-fd 9, not open: exit 2, nothing mounted" \
	"2 afs-fuse: bad --ready-fd 9: not an open file descriptor no" \
	"$rc $(cat "$T/err") $(mountpoint -q "$mnt" && echo yes || echo no)"
run afs-fuse -f --ready-fd 9 "$src" "$mnt" 9</dev/null
is "--ready-fd 9, open for reading only: exit 2" \
	"2 afs-fuse: bad --ready-fd 9: not open for writing" "$rc $(cat "$T/err")"
