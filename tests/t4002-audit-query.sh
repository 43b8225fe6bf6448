#!/bin/bash
# afs-audit: formats (golden files), filters, summary, merging by time,
# malformed lines, follow across rotation, and diff of a real delta.
. "$(dirname "$0")/lib.sh"
cd "$TOP/tests/audit" || exit 1

run afs-audit a.log b.log
status_is "two logs: exit 0 despite malformed lines" 0
same_file "text format, merged by time (golden)" merged.text "$T/out"
is "malformed lines are reported with file and line" \
	"afs-audit: a.log:4: malformed record: '[' or '{' expected near 'this'
afs-audit: a.log:7: malformed record: not a version 1 record" "$(cat "$T/err")"
run afs-audit --format json a.log b.log
same_file "json format: the records themselves (golden)" merged.json "$T/out"
is "json format: exactly the valid lines of both logs" \
	"$(grep -h '"v":1' a.log b.log | sort)" "$(sort "$T/out")"
run afs-audit --format tsv a.log b.log
same_file "tsv format with a header (golden)" merged.tsv "$T/out"
run afs-audit --summary a.log b.log
same_file "summary (golden)" summary.txt "$T/out"
run afs-audit --format json <a.log
is "standard input when no LOG" 6 "$(wc -l <"$T/out")"

count() { afs-audit --format json "$@" a.log b.log 2>/dev/null | wc -l; }
is "--op" 4 "$(count --op open)"
is "--op with a list" 6 "$(count --op open,lookup)"
is "--path glob" 2 "$(count --path '/src/**')"
is "--path glob with **/" 2 "$(count --path '**/.env*')"
is "--regex" 3 "$(count --regex '^/(src|out)/')"
is "--decision" 2 "$(count --decision deny)"
is "--decision with a list" 4 "$(count --decision deny,hide)"
is "--pid" 3 "$(count --pid 100)"
is "--comm" 2 "$(count --comm make)"
is "--mount" 6 "$(count --mount m1)"
is "--session" 3 "$(count --session s1)"
is "--since (inclusive)" 4 "$(count --since 2026-11-26T10:00:05Z)"
is "--until (with an offset)" 2 "$(count --until 2026-11-26T12:00:01+02:00)"
is "filters combine with AND" 1 "$(count --op open --decision deny --comm gcc)"
is "a relative --since: nothing in the last 10 minutes" 0 "$(count --since 10m)"

run afs-audit --format yaml a.log
status_is "a bad --format: exit 2" 2
run afs-audit --since yesterday a.log
status_is "a bad --since: exit 2" 2
run afs-audit --path '[x' a.log
status_is "a bad --path glob: exit 2" 2
run afs-audit "$T/none.log"
status_is "nothing readable: exit 1" 1
run afs-audit "$T/none.log" a.log
status_is "one log missing, one read: exit 0" 0

# Follow: records appended, then the log rotated, keep coming.
cp a.log "$T/f.log"
afs-audit -f --format json "$T/f.log" >"$T/follow" 2>/dev/null &
follower=$!
at_exit_kill "$follower"
sleep 0.5
grep -h '"v":1' b.log | head -1 >>"$T/f.log"
sleep 0.6
mv "$T/f.log" "$T/f.log.1"
grep -h '"v":1' b.log | tail -1 >"$T/f.log"
sleep 1
kill "$follower"
is "follow: appended and rotated records arrive" 8 "$(wc -l <"$T/follow")"
is "follow: the last one is from the new file" '"/secrets/k"' "$(tail -1 "$T/follow" | jq .path)"

# diff of a real delta: adds, edits, deletes, a mode change, an opaque directory.
src=$T/src mnt=$T/mnt delta=$T/delta
mkdir -p "$src/docs" "$src/gone" "$src/again" "$mnt"
echo one >"$src/docs/a.txt"
printf 'x\ny\nz\n' >"$src/docs/edit.txt"
echo mode >"$src/docs/mode.txt"
echo g >"$src/gone/g"
echo old >"$src/again/old"
echo keep >"$src/keep"
afs_mount "$src" "$mnt" -p full-access -d "$delta" || exit 1
printf 'x\nY\nz\n' >"$mnt/docs/edit.txt"
echo new >"$mnt/docs/new.txt"
chmod 0600 "$mnt/docs/mode.txt"
rm "$mnt/docs/a.txt"
rm -r "$mnt/gone"
rm -r "$mnt/again"
mkdir "$mnt/again"
echo fresh >"$mnt/again/fresh"
rm "$mnt/keep"
mkdir "$mnt/keep"
afs_umount "$mnt"
run afs-audit diff "$src" "$delta"
status_is "diff: exit 0" 0
cat >"$T/expected" <<X
A	/again/fresh
D	/again/old
D	/docs/a.txt
M	/docs/edit.txt
M	/docs/mode.txt
A	/docs/new.txt
D	/gone
T	/keep
X
same_file "diff: one line per changed path, A M D T, sorted" "$T/expected" "$T/out"
run afs-audit diff --stat "$src" "$delta"
is "diff --stat: an edit is one line in, one out" " M /docs/edit.txt | +1 -1" "$(grep edit.txt "$T/out")"
is "diff --stat: the total" " 8 paths changed, 3 insertions(+), 4 deletions(-)" "$(tail -1 "$T/out")"
run afs-audit diff -u "$src" "$delta"
is "diff -u: a unified diff of the edit" "-y
+Y" "$(sed -n '/^M \/docs\/edit.txt/,/^[AMDT] /p' "$T/out" | grep -E '^[-+][^-+]')"
run afs-audit diff "$src" "$T/no-such"
status_is "diff: a missing delta: exit 1" 1
