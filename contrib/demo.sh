#!/bin/sh
# make demo: the bundled example codebase under the agent-safe policy: an
# agent's commands run by afs-launch (each mounts the codebase through
# afs-fuse with a delta and an audit log, runs in bubblewrap, unmounts);
# then what the log and the delta say.  Cleans up after itself whatever
# happens (afs-launch itself leaves nothing).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
# AFS_BIN_DIR: the programs to show (the installed ones: /usr/bin), else the tree's.
B=${AFS_BIN_DIR:-$top/build}
tmp=$(mktemp -d /tmp/afs-demo.XXXXXX)

cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -R "$top/contrib/demo-project" "$tmp/project"
mv "$tmp/project/_git" "$tmp/project/.git"
say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$B/||; s|'$tmp/\([^']*\)'|\1|g; s|'afs-audit'|afs-audit|"; sh -c "$*" 2>&1 | sed "s|$tmp/||g; s/^/  /" || true; }

say "What the agent-safe policy gives each path (afs-fuse --explain, no mount needed)"
(cd "$tmp/project" && find . -mindepth 1 \( -type d -printf '/%P/\n' -o -printf '/%P\n' \) |
	LC_ALL=C sort | tr '\n' '\0' | xargs -0 "$B/afs-fuse" --explain -p agent-safe) |
	sed "s|$top/||" | head -40

say "Running an agent's commands with afs-launch: bubblewrap over a mount made for each run"
L="afs-launch -s project -p agent-safe -d delta -a audit.log --name demo"
cd "$tmp"
run "$B/$L -- ls -a"
run "$B/$L -- cat .env"
run "$B/$L -- cat secrets/db-password.txt"
run "$B/$L -- head -3 src/app/main.py"
run "$B/$L -c 'echo hacked >> README.md'"
run "$B/$L -c 'echo API_KEY=stolen > .env.local'"
run "$B/$L -c 'echo \"report: 3 files analysed\" > output/report.txt && cat output/report.txt'"
run "$B/$L -c 'id; env | sort; ls /etc /home'"
run "$B/$L --timeout 1 -- sleep 60; echo exit status \$?"
run "$B/$L --json -c 'echo out; echo err >&2; exit 3'"
cd "$top"

say "The codebase is untouched; the write is in the delta (afs-audit diff)"
run "grep -c hacked '$tmp/project/README.md'"
run "'$B/afs-audit' diff '$tmp/project' '$tmp/delta'"

say "The audit log (afs-audit --decision deny,hide)"
"$B/afs-audit" --decision deny,hide "$tmp/audit.log" | sed "s|$top/||; s/^/  /"

say "Summary (afs-audit --summary)"
"$B/afs-audit" --summary "$tmp/audit.log" | sed "s|$top/||; s/^/  /" | head -30
