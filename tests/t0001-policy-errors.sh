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

# --- network: (afs-policy(5) NETWORK) ------------------------------------------------
# net_refused NAME TEXT MESSAGE...: $T/NAME.yaml holding TEXT is refused with
# exactly these lines (each "FILE:LINE:COLUMN: message", FILE being the path).
net_refused() {
	local name=$1 text=$2 f="$T/$1.yaml"
	shift 2
	printf '%b' "$text" >"$f"
	run afs-fuse --check -p "$f"
	status_is "network $name: exit status 2" 2
	is "network $name: messages" "$(printf "$f:%s\n" "$@")" "$(cat "$T/err")"
	is "network $name: nothing on stdout" "" "$(cat "$T/out")"
}

net_refused not-a-mapping 'version: 1\nnetwork: [a.org]\n' \
	"2:10: 'network' must be a mapping with 'allow' or 'deny', not a sequence"
net_refused null 'version: 1\nnetwork:\n' \
	"2:9: 'network' must be a mapping with 'allow' or 'deny', not null"
net_refused unknown-key 'version: 1\nnetwork:\n  allow: [a.org]\n  permit: [b.org]\n' \
	"4:3: unknown key 'permit' in 'network'"
net_refused duplicate-key 'version: 1\nnetwork:\n  allow: [a.org]\n  allow: [b.org]\n' \
	"4:3: duplicate key 'allow' (first at line 3)"
net_refused not-a-sequence 'version: 1\nnetwork:\n  allow: {host: a.org}\n  deny: pypi.org\n' \
	"3:10: 'allow' must be a sequence of hosts, not a mapping" \
	"4:9: 'deny' must be a sequence of hosts, not a scalar"
net_refused bad-patterns 'version: 1
network:
  allow:
    - "a.*.org"
    - "*.1.2.3.4"
    - "*."
    - 127.1
    - 0x7f.0.0.1
    - "a b"
    - "[1.2.3.4]"
    - "[::1]x"
    - "[::1"
    - "h:0"
    - "h:443-80"
    - ""
    - ~
    - [a]
' \
	"4:7: 'a.*.org': '*' only as a whole pattern, or as the first label: '*.example.org'" \
	"5:7: '*.1.2.3.4': not a host name after '*.'" \
	"6:7: '*.': '*' only as a whole pattern, or as the first label: '*.example.org'" \
	"7:7: '127.1': not a host name or an address" \
	"8:7: '0x7f.0.0.1': not a host name or an address" \
	"9:7: 'a b': not a host name or an address" \
	"10:7: '[1.2.3.4]': not an IPv6 address" \
	"11:7: '[::1]x': after ']' only ':PORTS'" \
	"12:7: '[::1': an IPv6 address in brackets lacks its ']'" \
	"13:7: 'h:0': a port is a number from 1 to 65535, or LOW-HIGH" \
	"14:7: 'h:443-80': a port range goes from low to high" \
	"15:7: 'host' is empty" \
	"16:7: a host must be a pattern, or a mapping with 'host', not null" \
	"17:7: a host must be a pattern, or a mapping with 'host', not a sequence"
net_refused bad-ports 'version: 1
network:
  allow:
    - host: a.org
      ports: 65536
    - {host: c.org, ports: "443-80"}
    - {host: d.org, ports: "80,443"}
    - {host: e.org, ports: {a: 1}}
    - {host: f.org, ports: [[1]]}
    - {host: g.org, ports: }
    - {host: h.org, ports: 0x50}
' \
	"5:14: a port is a number from 1 to 65535, or LOW-HIGH" \
	"6:28: a port range goes from low to high" \
	"7:28: a port is a number from 1 to 65535, or LOW-HIGH" \
	"8:28: 'ports' must be a port, a range or a sequence of them, not a mapping" \
	"9:29: a port is a number from 1 to 65535, or LOW-HIGH" \
	"10:28: 'ports' must be a port, a range or a sequence of them, not null" \
	"11:28: a port is a number from 1 to 65535, or LOW-HIGH"
# A bad port inside a sequence is reported at that port, not at the sequence.
net_refused bad-port-in-sequence 'version: 1
network:
  allow:
    - {host: b.org, ports: [443, 0]}
    - {host: c.org, ports: [22, "443-80"]}
' \
	"4:34: a port is a number from 1 to 65535, or LOW-HIGH" \
	"5:33: a port range goes from low to high"
net_refused host-with-port 'version: 1
network:
  allow:
    - {host: "a.org:443"}
    - host: "*.a.org:443"
      ports: 443
' \
	"4:14: 'host' takes no port: give it in 'ports'" \
	"5:13: 'host' takes no port: give it in 'ports'"
# The same with an IPv6 address in brackets.
net_refused host-v6-with-port 'version: 1\nnetwork:\n  allow:\n    - {host: "[::1]:443"}\n' \
	"4:14: 'host' takes no port: give it in 'ports'"
net_refused empty-ports 'version: 1\nnetwork:\n  allow:\n    - {host: a.org, ports: []}\n' \
	"4:28: 'ports' is an empty sequence (leave it out for any port)"
net_refused no-host 'version: 1
network:
  deny:
    - {ports: 443, reason: no}
    - {hots: a.org}
    - {host: a.org, host: b.org}
    - {host: ~}
    - {host: [a.org]}
' \
	"4:7: a host mapping needs 'host'" \
	"5:7: a host mapping needs 'host'" \
	"5:8: unknown key 'hots' in a host" \
	"6:21: duplicate key 'host' (first at line 6)" \
	"7:14: 'host' must be a string, not null" \
	"8:14: 'host' must be a string, not a sequence"
net_refused bad-reason 'version: 1
network:
  allow:
    - {host: a.org, reason: [x]}
    - {host: b.org, reason: }
    - {host: c.org, reason: ""}
    - {host: d.org, reason: {a: b}}
' \
	"4:29: 'reason' must be a string, not a sequence" \
	"5:29: 'reason' must be a string, not null" \
	"6:29: 'reason' is empty" \
	"7:29: 'reason' must be a string, not a mapping"
net_refused no-version 'network:\n  allow: [a.org]\n' \
	"1:1: missing 'version: 1'"
# 'rules' that is not a sequence does not hide the network section's errors:
# all of them in one run.
net_refused with-bad-rules 'version: 1\nrules: 5\nnetwork: 5\n' \
	"2:8: 'rules' must be a sequence, not a scalar" \
	"3:10: 'network' must be a mapping with 'allow' or 'deny', not a scalar"

# 10000 network rules load, 10001 do not.
net_rules() {	# net_rules FILE COUNT
	{ printf 'version: 1\nnetwork:\n  allow:\n'
	  seq "$2" | sed 's/.*/    - h&.org/'; } >"$1"
}
net_rules "$T/net-10000.yaml" 10000
run afs-fuse --check -p "$T/net-10000.yaml"
status_is "exactly 10000 network rules load" 0
# Past the bound, one message, as for path rules.
net_rules "$T/net-10002.yaml" 10002
run afs-fuse --check -p "$T/net-10002.yaml"
status_is "more than 10000 network rules are refused" 2
is "too many network rules: message" \
	"$T/net-10002.yaml:10004:7: more than 10000 network rules" "$(cat "$T/err")"

# The bound counts the rules of every file, extends included.
net_rules "$T/net-base.yaml" 6000
{ printf 'version: 1\nextends: net-base.yaml\nnetwork:\n  deny:\n'
  seq 4001 | sed 's/.*/    - d&.org/'; } >"$T/net-ext.yaml"
run afs-fuse --check -p "$T/net-ext.yaml"
status_is "more than 10000 network rules across extends are refused" 2
is "too many network rules across extends: message" \
	"$T/net-ext.yaml:4005:7: more than 10000 network rules" "$(cat "$T/err")"

# A good network section: nothing to say.
cat >"$T/net-good.yaml" <<'GOOD'
version: 1
rules:
  - {pattern: "**", permission: read}
network:
  allow:
    - pypi.org
    - "*.pythonhosted.org:443"
    - "h:8000-8100,22"
    - 203.0.113.7
    - "[2001:db8::1]:443"
    - "[::1]"
    - "*"
    - host: "[2001:db8::2]"
      ports: [443, "8000-8100"]
      reason: the mirror
    - {host: 10.0.0.1, ports: 8080}
  deny:
    - evil.pypi.org
    - {host: "*.corp", reason: internal names}
GOOD
run afs-fuse --check -p "$T/net-good.yaml"
status_is "a good network section: exit status 0" 0
is "a good network section: nothing on stderr" "" "$(cat "$T/err")"
printf 'version: 1\nnetwork: {allow: [], deny: []}\n' >"$T/net-empty.yaml"
run afs-fuse --check -p "$T/net-empty.yaml"
status_is "empty allow and deny lists: exit status 0" 0
is "empty allow and deny lists: nothing on stderr" "" "$(cat "$T/err")"
