#!/bin/bash
# Bad policies: every error as FILE:LINE:COLUMN: message, all in one run,
# exit status 2, nothing on stdout.  Warnings: exit 0.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

golden() {	# golden FIXTURE EXPECTED_STATUS
	local f=$1 want=$2
	run afs-fuse --check -p "$f"
	sed "s|@TOP@|$TOP|g" "${f%.yaml}.err" >"$T/expected"
	status_is "$f: exit status $want" "$want"
	same_file "$f: messages" "$T/expected" "$T/err"
	is "$f: nothing on stdout" "" "$(cat "$T/out")"
}

for f in tests/policy/bad/*.yaml; do
	golden "$f" 2
done
for f in tests/policy/warn/*.yaml; do
	golden "$f" 0
done

# Bounds, with files made here.
printf 'version: 1\nrules:\n' >"$T/big.yaml"
head -c 1048576 /dev/zero | tr '\0' '#' >>"$T/big.yaml"
run afs-fuse --check -p "$T/big.yaml"
status_is "a file over 1 MiB is refused" 2
is "a file over 1 MiB: message" "$T/big.yaml: policy file larger than 1048576 bytes" "$(cat "$T/err")"

{ printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: read\n    reason: '
  for i in $(seq 70); do printf '['; done; for i in $(seq 70); do printf ']'; done; echo; } >"$T/deep.yaml"
run afs-fuse --check -p "$T/deep.yaml"
status_is "nesting deeper than 64 levels is refused" 2
is "deep nesting: message" "$T/deep.yaml:5:74: nesting deeper than 64 levels" "$(cat "$T/err")"

# 100,000 rules do not fit in one 1 MiB file: chain files with extends.
rules_file() {	# rules_file N COUNT [BASE]
	{ echo 'version: 1'
	  [ -n "${3:-}" ] && echo "extends: $3"
	  echo 'rules:'
	  seq "$2" | sed "s|.*|  - {pattern: /f$1/d&, permission: read}|"; } >"$T/r$1.yaml"
}
rules_file 0 15000
for i in 1 2 3 4 5; do rules_file $i 15000 r$((i - 1)).yaml; done
rules_file 6 10000 r5.yaml
run afs-fuse --check -p "$T/r6.yaml"
status_is "exactly 100000 rules load" 0
rules_file 6 10001 r5.yaml
run afs-fuse --check -p "$T/r6.yaml"
status_is "more than 100000 rules are refused" 2
is "too many rules: message" "$T/r6.yaml:10004:5: more than 100000 rules" "$(cat "$T/err")"

long=$(head -c 4096 /dev/zero | tr '\0' 'a')
printf 'version: 1\nrules:\n  - pattern: "/%s"\n    permission: read\n' "$long" >"$T/long.yaml"
run afs-fuse --check -p "$T/long.yaml"
status_is "a pattern over 4096 bytes is refused" 2
is "long pattern: message" "$T/long.yaml:3:14: 'pattern' is longer than 4096 bytes" "$(cat "$T/err")"

# extends: 16 levels load, 17 do not.
for i in $(seq 0 17); do
	printf 'version: 1\nextends: e%d.yaml\nrules: []\n' $((i + 1)) >"$T/e$i.yaml"
done
printf 'version: 1\nrules: []\n' >"$T/e17.yaml"
run afs-fuse --check -p "$T/e1.yaml"
status_is "16 levels of extends load" 0
run afs-fuse --check -p "$T/e0.yaml"
status_is "17 levels of extends are refused" 2
is "deep extends: message" "$T/e16.yaml:2:10: more than 16 levels of extends" "$(cat "$T/err")"

# A policy other users may write is refused (as doas refuses its config).
printf 'version: 1\nrules: []\n' >"$T/ww.yaml"
chmod 0666 "$T/ww.yaml"
run afs-fuse --check -p "$T/ww.yaml"
status_is "a world-writable policy is refused" 2
is "world-writable: message" \
	"$T/ww.yaml: other users may write this policy file (mode 0666); refusing it" "$(cat "$T/err")"

run afs-fuse --check -p "$T/no-such.yaml"
status_is "a missing policy file: exit 2" 2
is "a missing policy file: message" "$T/no-such.yaml: cannot open: No such file or directory" "$(cat "$T/err")"

run afs-fuse --check -p "$T"
status_is "a directory as policy: exit 2" 2
is "a directory as policy: message" "$T: not a regular file" "$(cat "$T/err")"

run afs-fuse --check -p no-such-preset
status_is "an unknown preset: exit 2" 2
is "an unknown preset: message" \
	"no-such-preset: no such preset (presets: view-only, read-only, agent-safe, development, full-access)" \
	"$(cat "$T/err")"

# A regex built to backtrack is bounded: the decision fails closed, fast.
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: read\n  - pattern: "^/(a+)+$"\n    type: regex\n    permission: write\n    priority: 5\n' >"$T/redos.yaml"
evil=/$(head -c 3000 /dev/zero | tr '\0' a)b
run timeout 10 afs-fuse --explain -p "$T/redos.yaml" "$evil"
status_is "a backtracking regex does not stall --explain" 0
is "a regex over its match limit decides none" "none" "$(cut -f1 "$T/out")"
