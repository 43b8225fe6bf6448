#!/bin/bash
# The audit log of afs-fuse: the records each op makes at each level, their
# fields and escaping, a busy run without loss or interleaving, rotation,
# and a full disk.
. "$(dirname "$0")/lib.sh"

src=$T/src mnt=$T/mnt log=$T/audit.log
mkdir -p "$src/w" "$src/r" "$mnt"
echo hi >"$src/w/a"
echo ro >"$src/r/b"
printf '#!/bin/sh\necho ran\n' >"$src/r/run.sh"
chmod 0755 "$src/r/run.sh"
echo s >"$src/.env"
echo v >"$src/v.txt"
setfattr -n user.note -v secret-note "$src/v.txt"
setfattr -n user.note -v plain-note "$src/r/b"
cat >"$T/p.yaml" <<'P'
version: 1
rules:
  - pattern: /r/**
    permission: read
  - pattern: /w/**
    permission: write
  - pattern: "**/.env*"
    permission: none
    priority: 100
    reason: "secrets \"here\""
  - pattern: /v.txt
    permission: view
P

# records LOG: the records without the fields that vary (ts, pid, comm).
records() { jq -c 'del(.ts, .pid, .comm)' "$1"; }

session() {	# session LEVEL: mount, do the same things, unmount
	rm -f "$log"
	afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level "$1" --name m1 || exit 1
	cat "$mnt/w/a" >/dev/null
	cat "$mnt/.env" 2>/dev/null
	getfattr -n user.note "$mnt/v.txt" >/dev/null 2>&1
	(echo x >"$mnt/r/new") 2>/dev/null
	echo y >>"$mnt/w/a"
	mkdir "$mnt/w/d"
	mv "$mnt/w/d" "$mnt/w/e" 2>/dev/null	# EXDEV: mv copies and deletes (no denial)
	ls "$mnt/r" >/dev/null
	"$mnt/r/run.sh" >/dev/null
	afs_umount "$mnt"
}

rule=$T/p.yaml
# A view file's extended attributes are content: not its value (EACCES,
# a denial), not even its names; a read file's are readable.
afs_mount "$src" "$mnt" -p "$T/p.yaml" || exit 1
is "view: getxattr user.note is EACCES" "EACCES" "$(probe getxattr "$mnt/v.txt" user.note 2>&1)"
is "view: listxattr lists nothing" "" "$(getfattr -d "$mnt/v.txt" 2>&1)"
is "read: getxattr user.note gives the value" 'plain-note' \
	"$(getfattr -n user.note --only-values "$mnt/r/b" 2>/dev/null)"
afs_umount "$mnt"
session deny
cat >"$T/expected" <<X
{"v":1,"mount":"m1","uid":0,"op":"lookup","path":"/.env","decision":"hide","errno":"ENOENT","rule":"$rule:7","reason":"secrets \"here\""}
{"v":1,"mount":"m1","uid":0,"op":"getxattr","path":"/v.txt","decision":"deny","errno":"EACCES","rule":"$rule:11"}
{"v":1,"mount":"m1","uid":0,"op":"create","path":"/r/new","mode":"w","decision":"deny","errno":"EACCES","rule":"$rule:3"}
X
records "$log" >"$T/got"
same_file "level deny: hides and denials only, with rule and reason" "$T/expected" "$T/got"

session write
cat >"$T/expected" <<X
{"v":1,"mount":"m1","uid":0,"op":"lookup","path":"/.env","decision":"hide","errno":"ENOENT","rule":"$rule:7","reason":"secrets \"here\""}
{"v":1,"mount":"m1","uid":0,"op":"getxattr","path":"/v.txt","decision":"deny","errno":"EACCES","rule":"$rule:11"}
{"v":1,"mount":"m1","uid":0,"op":"create","path":"/r/new","mode":"w","decision":"deny","errno":"EACCES","rule":"$rule:3"}
{"v":1,"mount":"m1","uid":0,"op":"open","path":"/w/a","mode":"w","decision":"allow","rule":"$rule:5","bytes":2}
{"v":1,"mount":"m1","uid":0,"op":"mkdir","path":"/w/d","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m1","uid":0,"op":"mkdir","path":"/w/e","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m1","uid":0,"op":"rmdir","path":"/w/d","decision":"allow","rule":"$rule:5"}
X
records "$log" | grep -v '"op":"setattr"' >"$T/got"
same_file "level write: adds modifications and opens for writing (bytes written)" "$T/expected" "$T/got"

session access
records "$log" | grep -v '"op":"setattr"' >"$T/got"
is "level access: an open for reading, with bytes read" 1 \
	"$(grep -c '"op":"open","path":"/w/a","mode":"r","decision":"allow","rule":"'"$rule"':5","bytes":3}' "$T/got")"
is "level access: a listing" 1 "$(grep -c '"op":"readdir","path":"/r","decision":"allow"' "$T/got")"
is "level access: an exec open has mode x" 1 "$(grep -c '"op":"open","path":"/r/run.sh","mode":"x"' "$T/got")"
is "level access: every line parses, fields in schema order" "" \
	"$(jq -c 'keys_unsorted' "$log" | grep -v '^\["v","ts","mount","pid","uid","comm","op","path"' | head -3)"
is "level access: ts is RFC 3339 UTC with microseconds" "" \
	"$(jq -r .ts "$log" | grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$')"
is "level access: comm names the process" 1 "$(jq -r 'select(.op=="lookup") | .comm' "$log" | grep -c '^cat$')"

rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level off || exit 1
cat "$mnt/w/a" "$mnt/.env" >/dev/null 2>&1
afs_umount "$mnt"
if [ -e "$log" ]; then not_ok "level off: no log is written"; else ok "level off: no log is written"; fi

# Odd bytes in names: one valid JSON line each, bytes kept recoverable.
rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" || exit 1
touch "$mnt/w/$(printf 'nl\nx')" "$mnt/w/$(printf 'bad\377y')" "$mnt/w/$(printf 'q"\\t\tz')" "$mnt/w/é"
afs_umount "$mnt"
is "odd names: every line is valid JSON" "$(wc -l <"$log")" "$(jq -c . "$log" | wc -l)"
grep '"op":"create"' "$log" >"$T/creates"
is "odd names: a newline" create "$(jq -r 'select(.path == "/w/nl\nx") | .op' "$T/creates")"
is "odd names: an invalid byte as \\u00ff" 1 "$(grep -c '"path":"/w/bad\\u00ffy"' "$T/creates")"
is "odd names: quote, backslash, tab escaped" 1 "$(grep -c '"path":"/w/q\\"\\\\t\\tz"' "$T/creates")"
is "odd names: valid UTF-8 passes through" 1 "$(grep -c '"path":"/w/é"' "$T/creates")"

# A busy run: 4 writers, 10,000 ops, every record there, whole lines.
rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level write || exit 1
mkdir "$mnt/w/busy"
for t in 1 2 3 4; do
	(for i in $(seq 2500); do : >"$mnt/w/busy/t$t-$i"; done) &
done
wait $(jobs -p | grep -v "^$fuse_pid\$")
afs_umount "$mnt"
is "busy run: every line parses" "$(wc -l <"$log")" "$(jq -c . "$log" 2>/dev/null | wc -l)"
is "busy run: one create record per create, none lost" 10000 "$(grep -c '"op":"create","path":"/w/busy/t' "$log")"
is "busy run: each name once" 10000 "$(jq -r 'select(.op=="create") | .path' "$log" | grep '^/w/busy/t' | sort -u | wc -l)"

# Rotation by mv and SIGUSR1 loses nothing.
rm -f "$log" "$log.1"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level write || exit 1
mkdir "$mnt/w/rot"
(for i in $(seq 1500); do : >"$mnt/w/rot/f$i"; done) &
writer=$!
sleep 0.3
mv "$log" "$log.1"
kill -USR1 "$fuse_pid"
wait "$writer"
# More after the signal, so that the new file surely has some.
for i in $(seq 1501 3000); do : >"$mnt/w/rot/f$i"; done
afs_umount "$mnt"
is "rotation: both files hold records" "yes yes" "$([ -s "$log.1" ] && echo yes) $([ -s "$log" ] && echo yes)"
is "rotation: nothing lost across mv + SIGUSR1" 3000 "$(cat "$log.1" "$log" | grep -c '"op":"create","path":"/w/rot/f')"

# A full disk under the log: afs-fuse keeps serving, says so, and counts.
mkdir "$T/small"
if mount -t tmpfs -o size=16k tmpfs "$T/small" 2>/dev/null; then
	at_exit_umount "$T/small"
	: >"$T/fuse.err"
	afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$T/small/log" --audit-level write || exit 1
	head -c 12000 /dev/zero >"$T/small/filler"
	mkdir "$mnt/w/full"
	for i in $(seq 300); do : >"$mnt/w/full/f$i"; done
	sleep 0.5
	errno_is "full disk: the mount still serves" OK stat "$mnt/w/full/f300"
	rm "$T/small/filler"
	: >"$mnt/w/full/after"
	afs_umount "$mnt"
	if grep -q 'cannot write the audit log' "$T/fuse.err"; then ok "full disk: afs-fuse says so on stderr"; else not_ok "full disk: afs-fuse says so on stderr"; fi
	# Every audit-lost record's count (there may be more than one).
	lost=$(jq -s '[.[] | select(.op=="audit-lost") | .bytes] | add // 0' "$T/small/log")
	# mkdir, then a create and an open (written at release) per file.
	kept=$(jq -r 'select(.path) | .path' "$T/small/log" | grep -cE '^/w/full(/f[0-9]+)?$')
	is "full disk: an audit-lost record counts every record not written" 601 "$((kept + lost))"
	is "full disk: records after the disk has room again" 1 "$(grep -c '"op":"create","path":"/w/full/after"' "$T/small/log")"
	is "full disk: no partial line" "$(wc -l <"$T/small/log")" "$(jq -c . "$T/small/log" | wc -l)"
	umount "$T/small"
else
	skip "full disk" "cannot mount a tmpfs"
fi

# The other ops at write level, allowed and denied, exactly.
rm -f "$log"
echo l >"$src/w/old"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level write --name m2 || exit 1
ln -s a "$mnt/w/sym"
ln "$mnt/w/a" "$mnt/w/hard"
chmod 0600 "$mnt/w/a"
setfattr -n user.k -v v "$mnt/w/a"
rm "$mnt/w/old"
mv "$mnt/w/hard" "$mnt/w/moved"
ln "$mnt/r/b" "$mnt/w/alias" 2>/dev/null
chmod 0600 "$mnt/r/b" 2>/dev/null
setfattr -n user.k -v v "$mnt/r/b" 2>/dev/null
rm -f "$mnt/r/b" 2>/dev/null
mkfifo "$mnt/w/fifo"
afs_umount "$mnt"
cat >"$T/expected" <<X
{"v":1,"mount":"m2","uid":0,"op":"symlink","path":"/w/sym","to":"a","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"link","path":"/w/a","to":"/w/hard","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"setattr","path":"/w/a","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"setxattr","path":"/w/a","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"unlink","path":"/w/old","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"rename","path":"/w/hard","to":"/w/moved","decision":"allow","rule":"$rule:5"}
{"v":1,"mount":"m2","uid":0,"op":"link","path":"/r/b","to":"/w/alias","decision":"deny","errno":"EACCES","rule":"$rule:3"}
{"v":1,"mount":"m2","uid":0,"op":"setattr","path":"/r/b","decision":"deny","errno":"EACCES","rule":"$rule:3"}
{"v":1,"mount":"m2","uid":0,"op":"setxattr","path":"/r/b","decision":"deny","errno":"EACCES","rule":"$rule:3"}
{"v":1,"mount":"m2","uid":0,"op":"unlink","path":"/r/b","decision":"deny","errno":"EACCES","rule":"$rule:3"}
{"v":1,"mount":"m2","uid":0,"op":"create","path":"/w/fifo","decision":"allow","rule":"$rule:5"}
X
records "$log" >"$T/got"
same_file "write level: symlink, link, setattr, setxattr, unlink, rename, mknod; denials" "$T/expected" "$T/got"

# The session comes from the caller only (--session): a process that sets
# AFS_SESSION in its own environment (the sandbox sets its own) names
# nothing.
rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" || exit 1
AFS_SESSION=agent-7 cat "$mnt/w/a" >/dev/null
cat "$mnt/r/b" >/dev/null
afs_umount "$mnt"
is "session: AFS_SESSION of the process is not taken" "null" "$(jq -r 'select(.path=="/w/a") | .session' "$log")"
is "session: absent without --session" "null" "$(jq -r 'select(.path=="/r/b") | .session' "$log")"
rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --session agent-8 || exit 1
AFS_SESSION=forged cat "$mnt/w/a" >/dev/null
afs_umount "$mnt"
is "session: --session names every record, whatever the process says" "agent-8" "$(jq -r 'select(.path=="/w/a") | .session' "$log")"
is "session: in schema order (mount absent without --name)" '["v","ts","session","pid","uid"]' "$(jq -c 'select(.path=="/w/a") | keys_unsorted[0:5]' "$log")"

# Without -f: the daemon writes its log too, and flushes at unmount.
rm -f "$log"
afs-fuse -p "$T/p.yaml" -a "$log" --audit-level write --name "bg-$$" "$src" "$mnt"
is "daemon mode: afs-fuse returns 0 once mounted" 0 "$?"
at_exit_umount "$mnt"
bgpid=$(pgrep -f -- "--name bg-$$")
at_exit_kill "$bgpid"
touch "$mnt/w/bg1"
sleep 0.6
is "daemon mode: records written while it runs (within 200 ms)" 1 "$(grep -c '"op":"create","path":"/w/bg1"' "$log" 2>/dev/null)"
touch "$mnt/w/bg2"
fusermount3 -u "$mnt"
for i in $(seq 50); do kill -0 "$bgpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$bgpid" 2>/dev/null; then not_ok "daemon mode: exits after unmount"; else ok "daemon mode: exits after unmount"; fi
is "daemon mode: the last records are flushed at unmount" 1 "$(grep -c '"op":"create","path":"/w/bg2"' "$log")"

# A rename refused for its new name names the rule of the new name.
rm -f "$log"
afs_mount "$src" "$mnt" -p "$T/p.yaml" -a "$log" --audit-level deny || exit 1
echo m >"$mnt/w/tomove"
mv "$mnt/w/tomove" "$mnt/r/moved" 2>/dev/null
afs_umount "$mnt"
is "a rename refused by its target: the target's rule" "$rule:3" \
	"$(jq -r 'select(.op=="rename") | .rule' "$log" | head -1)"
