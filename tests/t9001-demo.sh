#!/bin/bash
# make demo, end to end: what it promises to show, and nothing left behind.
. "$(dirname "$0")/lib.sh"

before=$(grep -c ' fuse.afs ' /proc/mounts)
run sh "$TOP/contrib/demo.sh"
is "demo: exit 0" 0 "$rc"
has() {
	if grep -qF -- "$2" "$T/out"; then ok "demo: $1"; else not_ok "demo: $1"; diag "no line: $2"; fi
}
has "a hidden secret does not exist" "  cat: .env: No such file or directory"
has "a hidden directory does not exist" "  cat: secrets/db-password.txt: No such file or directory"
has "a read file cannot be written" "  /bin/sh: 1: cannot create README.md: Permission denied"
has "a write to /output works" "  report: 3 files analysed"
has "the sandbox's uid" "  uid=65534(sandbox) gid=65534(sandbox) groups=65534(sandbox)"
has "the timeout" "  exit status 124"
has "--json" '  {"exit_code":3,"signal":null,"timed_out":false,"limit":null,'
is "demo: the source untouched" "  0" "$(grep -A1 -F '$ grep -c hacked project/README.md' "$T/out" | tail -n 1)"
has "the delta holds the write" "$(printf '  A\t/output/report.txt')"
has "the audit log holds the denial" "deny  open"
has "the summary counts the exec records" "    exec       -            10"
is "demo: no mount left" "$before" "$(grep -c ' fuse.afs ' /proc/mounts)"
is "demo: no temp dir left" "" "$(ls /tmp | grep -E '^afs-(demo|launch)\.' || true)"
