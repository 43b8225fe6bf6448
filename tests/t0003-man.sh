#!/bin/bash
# Every man page renders without a groff warning.
. "$(dirname "$0")/lib.sh"
for page in "$TOP"/man/*.[0-9]; do
	name=${page##*/}
	run groff -man -ww -z -Tutf8 "$page"
	status_is "$name renders" 0
	is "$name: no groff warning" "" "$(cat "$T/err")"
done
