#!/bin/bash
# afs-fuse --explain: LEVEL<TAB>PATH<TAB>RULE for each path, as the mount
# would present it; presets by name; extends; --check exit statuses.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

tab=$(printf '\t')

# The reference policy of the issue (tests/policy/good/ref.yaml).
cp "$TOP/tests/policy/good/ref.yaml" ref.yaml
run afs-fuse --explain -p ref.yaml / /docs/ /docs/readme.md /docs/secret.txt /src/main.py \
	/config.yaml /other.txt /docs//sub/./x/../y.txt docs/readme.md /..
cat >expected <<X
view	/	implicit
write	/docs	ref.yaml:8
write	/docs/readme.md	ref.yaml:8
none	/docs/secret.txt	ref.yaml:4
read	/src/main.py	ref.yaml:11
view	/config.yaml	ref.yaml:14
none	/other.txt	default
write	/docs/sub/y.txt	ref.yaml:8
write	/docs/readme.md	ref.yaml:8
view	/	implicit
X
status_is "explain: exit 0" 0
same_file "explain: the reference policy, cleaned paths" expected "$T/out"
is "explain: nothing on stderr" "" "$(cat "$T/err")"

# Implicit traversal and hidden subtrees.
cat >deny.yaml <<'P'
version: 1
default: none
rules:
  - pattern: /docs/readme.md
    permission: read
  - pattern: /private
    type: directory
    permission: none
    priority: 5
  - pattern: /private/ok.txt
    type: file
    permission: read
P
run afs-fuse --explain -p deny.yaml /docs/ /docs /docs/readme.md /docs/other.md /src/ \
	/private/ /private/ok.txt /private/a/b/
cat >expected <<X
view	/docs	implicit
none	/docs	default
read	/docs/readme.md	deny.yaml:4
none	/docs/other.md	default
none	/src	default
none	/private	deny.yaml:6
none	/private/ok.txt	deny.yaml:6
none	/private/a/b	deny.yaml:6
X
same_file "explain: implicit directories, hidden subtrees" expected "$T/out"
is "explain: --check warns about the rule below a hidden directory" \
	"deny.yaml:10:5: warning: rule can never take effect: '/private' is hidden by the rule at deny.yaml:6" \
	"$(cat "$T/err")"

# Presets by name; FILE is the preset's resolved path.
preset=$(realpath "$TOP/policies/agent-safe.yaml")
run afs-fuse --explain -p agent-safe /.env /src/main.py /output/r.txt /a/b/.git/config
cat >expected <<X
none	/.env	$preset:17
read	/src/main.py	$preset:5
write	/output/r.txt	$preset:7
none	/a/b/.git/config	$preset:13
X
same_file "explain: a preset by name" expected "$T/out"

# AFS_POLICY_DIR comes first.
mkdir presets
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >presets/agent-safe.yaml
run env AFS_POLICY_DIR="$T/presets" afs-fuse --explain -p agent-safe /x
is "explain: \$AFS_POLICY_DIR overrides the presets" "write${tab}/x${tab}$T/presets/agent-safe.yaml:3" "$(cat "$T/out")"

# extends: a path relative to the including file; own rules win ties.
mkdir -p sub/base
cat >sub/base/common.yaml <<'P'
version: 1
default: read
rules:
  - pattern: "**/*.log"
    permission: none
P
cat >sub/top.yaml <<'P'
version: 1
extends: base/common.yaml
rules:
  - pattern: "**/*.log"
    permission: view
  - pattern: "**/*.tmp"
    permission: none
P
run afs-fuse --explain -p sub/top.yaml /a.log /a.tmp /a.txt
cat >expected <<X
view	/a.log	sub/top.yaml:4
none	/a.tmp	sub/top.yaml:6
read	/a.txt	default
X
same_file "explain: extends relative to the including file; default inherited; own rule wins a tie" expected "$T/out"

cat >sub/preset-ext.yaml <<'P'
version: 1
extends: agent-safe
default: write
rules:
  - pattern: /notes/**
    permission: write
    priority: 10
P
run afs-fuse --explain -p sub/preset-ext.yaml /notes/a.md /notes/.env /src/x.c
cat >expected <<X
write	/notes/a.md	sub/preset-ext.yaml:5
none	/notes/.env	$preset:17
read	/src/x.c	$preset:5
X
same_file "explain: extends a preset by name" expected "$T/out"

# Odd bytes in a path stay on one line.
run afs-fuse --explain -p read-only "$(printf '/a\nb\tc\\d')"
is "explain: control bytes and backslashes are escaped" \
	"read${tab}/a\\nb\\tc\\\\d${tab}$(realpath "$TOP/policies/read-only.yaml"):4" "$(cat "$T/out")"

# Usage errors.
run afs-fuse --explain -p read-only
status_is "explain without a path: exit 2" 2
run afs-fuse --check -p read-only extra
status_is "check with an argument: exit 2" 2
run afs-fuse --check --explain -p read-only /x
status_is "check and explain together: exit 2" 2
run afs-fuse --bogus
status_is "an unknown option: exit 2" 2
run afs-fuse --explain -p "$TOP/tests/policy/bad/syntax.yaml" /x
status_is "explain with a broken policy: exit 2" 2
is "explain with a broken policy: no output" "" "$(cat "$T/out")"
long=/$(head -c 5000 /dev/zero | tr '\0' a)
run afs-fuse --explain -p read-only "$long" /ok
status_is "explain of a path over PATH_MAX: exit 2" 2
is "explain of a path over PATH_MAX: the other paths are explained" \
	"read${tab}/ok${tab}$(realpath "$TOP/policies/read-only.yaml"):4" "$(cat "$T/out")"
run afs-fuse --help
status_is "--help: exit 0" 0
run afs-fuse --version
is "--version" "afs-fuse 0.1.0" "$(cat "$T/out")"

# Every preset checks clean.
for p in view-only read-only agent-safe development full-access; do
	run afs-fuse --check -p "$p"
	status_is "preset $p checks clean" 0
	is "preset $p: no warning" "" "$(cat "$T/err")"
done

# -v: the deciding rule's reason as a fourth field, when it has one.
run afs-fuse --explain -v -p agent-safe /.env /src/x.c
cat >expected <<X
none	/.env	$preset:17	environment files hold secrets
read	/src/x.c	$preset:5
X
same_file "explain -v: the reason as a fourth field" expected "$T/out"
run afs-fuse -v -p agent-safe "$T" "$T"
status_is "-v without --explain: exit 2" 2

# ---- --explain-host: the network: section (afs-policy(5) NETWORK) -------
cat >net.yaml <<'P'
version: 1
extends: read-only
network:
  allow:
    - pypi.org:443
    - host: '*.github.com'
      ports: [443, "8000-8100"]
      reason: clones and releases
    - '*'
    - 127.0.0.1:8080
    - '[::1]'
  deny:
    - gist.github.com
    - '*.evil.test'
    - 10.1.2.3
P
run afs-fuse --check -p net.yaml
status_is "--check: a network section checks clean" 0
is "--check: nothing on stderr" "" "$(cat "$T/err")"
run afs-fuse --explain-host -v -p net.yaml pypi.org:443 PyPI.Org.:443 api.github.com:8050 \
	api.github.com:22 github.com:443 gist.github.com:443 x.y.evil.test:80 evil.test:80 \
	127.0.0.1:8080 127.0.0.1:80 '[::1]:9' '[::ffff:127.0.0.1]:8080' 10.1.2.3:80 \
	169.254.169.254:80
cat >expected <<X
allow	pypi.org:443	net.yaml:5
allow	pypi.org:443	net.yaml:5
allow	api.github.com:8050	net.yaml:6	clones and releases
allow	api.github.com:22	net.yaml:9
allow	github.com:443	net.yaml:9
deny	gist.github.com:443	net.yaml:13	gist.github.com:443 is denied by net.yaml:13 (gist.github.com)
deny	x.y.evil.test:80	net.yaml:14	x.y.evil.test:80 is denied by net.yaml:14 (*.evil.test)
allow	evil.test:80	net.yaml:9
allow	127.0.0.1:8080	net.yaml:10
deny	127.0.0.1:80	none	no rule allows 127.0.0.1:80 (an address is allowed only by a rule that names it)
allow	[::1]:9	net.yaml:11
allow	127.0.0.1:8080	net.yaml:10
deny	10.1.2.3:80	net.yaml:15	10.1.2.3:80 is denied by net.yaml:15 (10.1.2.3)
deny	169.254.169.254:80	none	no rule allows 169.254.169.254:80 (an address is allowed only by a rule that names it)
X
status_is "--explain-host: exit 0" 0
same_file "--explain-host -v: decisions, rules, reasons" expected "$T/out"
run afs-fuse --explain-host -p net.yaml pypi.org 'a b:80' 127.1:80 '::1:80' x.org:0 ok.org:1
cat >expected <<X
allow	ok.org:1	net.yaml:9
X
status_is "--explain-host: a bad HOST:PORT is exit 2" 2
same_file "--explain-host: the good ones still printed" expected "$T/out"
is "--explain-host: one message per bad operand" 5 "$(grep -c '^afs-fuse: not HOST:PORT' "$T/err")"
run afs-fuse --explain-host -p net.yaml
status_is "--explain-host without operands: exit 2" 2
is "--explain-host without operands: the message" \
	"afs-fuse: --explain-host needs at least one HOST:PORT" "$(cat "$T/err")"
run afs-fuse --explain-host --explain -p net.yaml x.org:1
status_is "--explain-host with --explain: exit 2" 2
# A policy without a network section allows nothing.
run afs-fuse --explain-host -p read-only pypi.org:443
is "no network section: nothing allowed" "deny${tab}pypi.org:443${tab}none" "$(cat "$T/out")"
