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
mkdir "$T/empty-delta"
for m in "" --stat -u; do
	run afs-audit diff $m "$src" "$T/empty-delta"
	is "diff ${m:-(names)} of an empty delta: exit 0, nothing on stderr" "0 " "$rc $(cat "$T/err")"
done

# Edges found in review.
printf '%s\n' '{"v":1,"ts":"2026-11-26T10:00:00.000000Z","op":"readdir","path":"/src","decision":"allow"}' \
	'{"v":1,"ts":"2026-11-26T10:00:01.000000Z","op":"open","path":"/src/a","comm":"we\"ird","decision":"allow"}' >"$T/edge.log"
is "--path P/** matches P itself, prefilter included" 2 "$(afs-audit --format json --path '/src/**' "$T/edge.log" | wc -l)"
is "a value JSON escapes still matches (--comm with a quote)" 1 "$(afs-audit --format json --comm 'we"ird' "$T/edge.log" | wc -l)"
{ printf '{"v":1,"ts":"2026-11-26T10:00:00.000000Z","op":"open","path":"/'; head -c 1100000 /dev/zero | tr '\0' a; printf '"}\n'; cat "$T/edge.log"; } >"$T/long.log"
run afs-audit --format json "$T/long.log"
is "a line over 1 MiB: reported and skipped" "afs-audit: $T/long.log:1: malformed record: line longer than 1 MiB" "$(cat "$T/err")"
is "a line over 1 MiB: the next records still read" 2 "$(wc -l <"$T/out")"
for bad in 0 -1 +100 ' 100' 99999999999999999999; do
	run afs-audit --pid "$bad" "$T/edge.log"
	status_is "--pid '$bad' is refused" 2
done
for bad in 2026-1-2T3:4:5Z 2026-02-30T00:00:00Z 2026-11-26T10:00:00+99:99 2026-11-26T10:00:00 100000000000d; do
	run afs-audit --since "$bad" "$T/edge.log"
	status_is "--since '$bad' is refused" 2
done
is "a lowercase t and z are RFC 3339 too" 1 "$(afs-audit --format json --since 2026-11-26t10:00:00.5z "$T/edge.log" | wc -l)"
run afs-audit --since 2026-11-27T00:00:00Z --until 2026-11-26T00:00:00Z "$T/edge.log"
status_is "--until before --since: exit 2" 2
run afs-audit "$T"
status_is "a directory as a log: nothing read, exit 1" 1
is "a directory as a log: said" "afs-audit: cannot read '$T': Is a directory" "$(cat "$T/err")"
printf '{"v":1,"ts":"2026-11-26T10:00:00.000000Z","op":"open","path":"/x","comm":"a\\nb","decision":"allow"}\n' >"$T/nl.log"
is "text format: a newline in comm stays on one line" 1 "$(afs-audit "$T/nl.log" | wc -l)"

# diff: a FIFO in the delta does not hang, names with newlines stay on one line.
afs_mount "$src" "$mnt" -p full-access -d "$delta" || exit 1
mkfifo "$mnt/docs/fifo"
echo n >"$mnt/docs/$(printf 'new\nline')"
afs_umount "$mnt"
run timeout 10 afs-audit diff --stat "$src" "$delta"
status_is "diff --stat with a FIFO in the delta: done, exit 0" 0
run afs-audit diff "$src" "$delta"
is "diff: a name with a newline, escaped" 'A	/docs/new\nline' "$(grep 'new' "$T/out" | grep -v new.txt)"

# Connect records (afs-proxy(1) AUDIT), written by hand: a CONNECT allowed,
# a refused http request, an IPv6 connection refused by its host, a
# connection cut at the byte limit, a denial by a rule, a file record.
cat >"$T/net.log" <<'X'
{"v":1,"ts":"2026-11-26T11:00:00.000000Z","mount":"sb1","session":"s1","pid":300,"comm":"curl","op":"connect","proto":"connect","host":"pypi.org","port":443,"addr":"151.101.0.223","decision":"allow","rule":"--allow-host","bytes_out":517,"bytes_in":3456,"duration_ms":120}
{"v":1,"ts":"2026-11-26T11:00:01.000000Z","mount":"sb1","session":"s1","pid":301,"comm":"python3","op":"connect","proto":"http","host":"Evil.Example","port":80,"decision":"deny","errno":"EACCES","reason":"no rule allows evil.example:80","bytes_out":0,"bytes_in":0,"duration_ms":0}
{"v":1,"ts":"2026-11-26T11:00:02.000000Z","mount":"sb1","session":"s1","pid":301,"uid":1000,"comm":"python3","op":"open","path":"/src/a.py","mode":"r","decision":"allow","rule":"p.yaml:4","bytes":10}
{"v":1,"ts":"2026-11-26T11:00:03.000000Z","mount":"sb1","session":"s1","op":"connect","proto":"socks5","host":"2001:db8::1","port":8443,"addr":"2001:db8::1","decision":"allow","errno":"ECONNREFUSED","rule":"p.yaml:12","bytes_out":0,"bytes_in":0,"duration_ms":3}
{"v":1,"ts":"2026-11-26T11:00:04.000000Z","mount":"sb1","session":"s1","pid":300,"comm":"curl","op":"connect","proto":"connect","host":"PyPI.org.","port":443,"addr":"151.101.0.223","decision":"allow","rule":"--allow-host","bytes_out":1000,"bytes_in":4096,"duration_ms":900,"limit":"bytes"}
{"v":1,"ts":"2026-11-26T11:00:05.000000Z","mount":"sb1","session":"s1","pid":301,"comm":"python3","op":"connect","proto":"connect","host":"files.example.org","port":443,"decision":"deny","errno":"EACCES","rule":"p.yaml:20","reason":"denied by p.yaml:20 (*.example.org)","bytes_out":0,"bytes_in":0,"duration_ms":0}
{"v":1,"ts":"2026-11-26T11:00:06.000000Z","mount":"sb1","session":"s1","pid":301,"comm":"python3","op":"connect","proto":"http","host":"evil.example","port":80,"decision":"deny","errno":"EACCES","reason":"no rule allows evil.example:80","bytes_out":0,"bytes_in":0,"duration_ms":0}
X
cat >"$T/expected" <<'X'
2026-11-26 11:00:00.000  allow connect      300 curl            pypi.org:443 -> 151.101.0.223 517B out 3456B in  --allow-host
2026-11-26 11:00:01.000  deny  connect      301 python3         Evil.Example:80 EACCES 0B out 0B in
2026-11-26 11:00:02.000  allow open         301 python3         /src/a.py [r] 10B  p.yaml:4
2026-11-26 11:00:03.000  allow connect        - -               [2001:db8::1]:8443 -> 2001:db8::1 ECONNREFUSED 0B out 0B in  p.yaml:12
2026-11-26 11:00:04.000  allow connect      300 curl            PyPI.org.:443 -> 151.101.0.223 1000B out 4096B in limit=bytes  --allow-host
2026-11-26 11:00:05.000  deny  connect      301 python3         files.example.org:443 EACCES 0B out 0B in  p.yaml:20
2026-11-26 11:00:06.000  deny  connect      301 python3         evil.example:80 EACCES 0B out 0B in
X
run afs-audit "$T/net.log"
status_is "connect records: exit 0" 0
same_file "connect records, text: HOST:PORT -> ADDR, errno, bytes out and in, limit, rule" \
	"$T/expected" "$T/out"
is "connect records: nothing on stderr" "" "$(cat "$T/err")"
run afs-audit --format json "$T/net.log"
same_file "connect records, json: the lines as they are" "$T/net.log" "$T/out"
run afs-audit --format tsv "$T/net.log"
is "connect records, tsv without --op connect: the 16 columns" \
	"ts	mount	session	pid	uid	comm	op	path	to	mode	decision	errno	rule	reason	bytes	count" \
	"$(head -1 "$T/out")"
is "connect records, tsv: HOST:PORT in the path column" \
	"$(printf '%s\t' 2026-11-26T11:00:05.000000Z sb1 s1 301 '' python3 connect \
		files.example.org:443 '' '' deny EACCES p.yaml:20 \
		'denied by p.yaml:20 (*.example.org)' '')" \
	"$(sed -n 7p "$T/out")"
is "connect records, tsv: a file record among them as before" \
	"$(printf '%s\t' 2026-11-26T11:00:02.000000Z sb1 s1 301 1000 python3 open /src/a.py '' r \
		allow '' p.yaml:4 '' 10)" \
	"$(sed -n 4p "$T/out")"
run afs-audit --format tsv --op connect "$T/net.log"
is "tsv with --op connect: 8 more columns" \
	"ts	mount	session	pid	uid	comm	op	path	to	mode	decision	errno	rule	reason	bytes	count	proto	host	port	addr	bytes_out	bytes_in	duration_ms	limit" \
	"$(head -1 "$T/out")"
is "tsv with --op connect: every field of a connect record" \
	"$(printf '%s\t' 2026-11-26T11:00:04.000000Z sb1 s1 300 '' curl connect PyPI.org.:443 '' '' \
		allow '' --allow-host '' '' '' connect PyPI.org. 443 151.101.0.223 1000 4096 900)bytes" \
	"$(sed -n 5p "$T/out")"
is "tsv with --op connect: an IPv6 host without brackets in host, with them in path" \
	"$(printf '%s\t' 2026-11-26T11:00:03.000000Z sb1 s1 '' '' '' connect '[2001:db8::1]:8443' '' '' \
		allow ECONNREFUSED p.yaml:12 '' '' '' socks5 2001:db8::1 8443 2001:db8::1 0 0 3)" \
	"$(sed -n 4p "$T/out")"
is "tsv with --op connect: the file record is left out" 7 "$(wc -l <"$T/out")"
run afs-audit --format tsv --host '*' a.log
is "tsv with --host: the 24 columns even when nothing passes" \
	"1 24" "$(wc -l <"$T/out") $(head -1 "$T/out" | awk -F '\t' '{ print NF }')"

hosts() { afs-audit --format text "$@" "$T/net.log" 2>&1 | awk '{ print $7 }' | paste -sd ' '; }
is "--op connect" "pypi.org:443 Evil.Example:80 [2001:db8::1]:8443 PyPI.org.:443 files.example.org:443 evil.example:80" \
	"$(hosts --op connect)"
is "--op connect --decision deny" "Evil.Example:80 files.example.org:443 evil.example:80" \
	"$(hosts --op connect --decision deny)"
is "--host: in any case, without a final dot" "pypi.org:443 PyPI.org.:443" "$(hosts --host PYPI.ORG)"
is "--host with a * below a domain" "Evil.Example:80 files.example.org:443 evil.example:80" \
	"$(hosts --host '*.example*')"
is "--host: an IPv6 address without its brackets" "[2001:db8::1]:8443" "$(hosts --host '2001:db8::*')"
is "--host *: every connect record, no file record" 6 \
	"$(afs-audit --format json --host '*' "$T/net.log" | wc -l)"
is "--host never matches addr" "" "$(hosts --host '151.101.*')"
is "--host on logs without connect records: nothing" 0 \
	"$(afs-audit --format json --host '*' a.log b.log 2>/dev/null | wc -l)"
run afs-audit --host 'a/b' "$T/net.log"
status_is "--host with a '/': exit 2" 2
is "--host with a '/': said" "afs-audit: bad --host glob 'a/b': a host has no '/'" "$(cat "$T/err")"
run afs-audit --host '[x' "$T/net.log"
status_is "a bad --host glob: exit 2" 2

cat >"$T/expected" <<'X'
records: 7 (2026-11-26T11:00:00.000000Z to 2026-11-26T11:00:06.000000Z)

by op and decision:
  connect    allow         3
  connect    deny          3
  open       allow         1

most accessed paths:
         1  /src/a.py

denied and hidden paths:
  none

hosts (allowed, denied, bytes out, bytes in):
         0        2            0            0  evil.example:80
         2        0         1517         7552  pypi.org:443
         1        0            0            0  [2001:db8::1]:8443
         0        1            0            0  files.example.org:443

denied hosts:
         2  evil.example:80  (no rule allows evil.example:80)
         1  files.example.org:443  (denied by p.yaml:20 (*.example.org))

processes:
         4  pid 301     uid 1000   python3
         2  pid 300     uid -      curl
X
run afs-audit --summary "$T/net.log"
same_file "summary with connect records: hosts, denied hosts with reasons, a process's records without a uid in its row" \
	"$T/expected" "$T/out"
run afs-audit --summary --host 'pypi.org' "$T/net.log"
is "summary of an allowed host only: its bytes, no denied host" \
	"hosts (allowed, denied, bytes out, bytes in):
         2        0         1517         7552  pypi.org:443

denied hosts:
  none" "$(sed -n '/^hosts/,/^processes/p' "$T/out" | head -5)"
run afs-audit --summary --op open "$T/net.log"
is "summary without connect records passing: no hosts part" "" "$(grep -E '^(hosts|denied hosts)' "$T/out")"
printf '%s\n' \
	'{"v":1,"ts":"2026-11-26T11:00:00.000000Z","pid":7,"uid":1000,"comm":"sh","op":"open","path":"/a","decision":"allow"}' \
	'{"v":1,"ts":"2026-11-26T11:00:01.000000Z","pid":7,"uid":0,"comm":"sh","op":"open","path":"/a","decision":"allow"}' \
	'{"v":1,"ts":"2026-11-26T11:00:02.000000Z","pid":7,"comm":"sh","op":"connect","host":"a.example","port":443,"decision":"allow"}' >"$T/two-uids.log"
run afs-audit --summary "$T/two-uids.log"
is "summary: a record without a uid stays apart when its pid and comm have two uids" \
	"processes:
         1  pid 7       uid -      sh
         1  pid 7       uid 0      sh
         1  pid 7       uid 1000   sh" "$(sed -n '/^processes/,$p' "$T/out")"
