#!/bin/bash
# Every man page renders without a groff warning.
. "$(dirname "$0")/lib.sh"
for page in "$TOP"/man/*.[0-9]; do
	name=${page##*/}
	run groff -man -ww -z -Tutf8 "$page"
	status_is "$name renders" 0
	is "$name: no groff warning" "" "$(cat "$T/err")"
done

# Every option that --help shows is in the man page; --help fits on a
# screen of 50 lines; --version says the program and its version.
for p in afs-fuse afs-launch afs-session afs-audit afs-proxy afs-remote; do
	page=$TOP/man/$p.1
	help=$("$p" --help)
	opts=$(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
	text=$(groff -man -Tutf8 -P-cbou "$page" 2>/dev/null)
	missing=
	for o in $opts; do
		grep -qF -- "$o" <<<"$text" || missing="$missing $o"
	done
	is "$p: every option of --help is in $p.1" "" "$missing"
	n=$(printf '%s\n' "$help" | wc -l)
	if [ "$n" -le 50 ]; then ok "$p --help: $n lines"; else not_ok "$p --help: $n lines (over 50)"; fi
	is "$p --version" "$p 0.1.0" "$("$p" --version)"
done
