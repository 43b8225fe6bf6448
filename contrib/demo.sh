#!/bin/sh
# make demo: the bundled example codebase, mounted through the agent-safe
# policy, with an audit log and a delta; then what the log and the delta
# say.  Cleans up after itself whatever happens.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/build"
tmp=$(mktemp -d /tmp/afs-demo.XXXXXX)
mnt="$tmp/view"
pid=

cleanup() {
	if [ -n "$pid" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -R "$top/contrib/demo-project" "$tmp/project"
mv "$tmp/project/_git" "$tmp/project/.git"
mkdir "$mnt"
say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; sh -c "$*" 2>&1 | sed 's/^/  /' || true; }

say "What the agent-safe policy gives each path (afs-fuse --explain, no mount needed)"
(cd "$tmp/project" && find . -mindepth 1 \( -type d -printf '/%P/\n' -o -printf '/%P\n' \) |
	LC_ALL=C sort | tr '\n' '\0' | xargs -0 "$B/afs-fuse" --explain -p agent-safe) |
	sed "s|$top/||" | head -40

say "Mounting the codebase: afs-fuse -p agent-safe -d DELTA -a AUDIT.log"
mkfifo "$tmp/ready"
"$B/afs-fuse" -f -p agent-safe -d "$tmp/delta" -a "$tmp/audit.log" --name demo \
	--ready-fd 3 "$tmp/project" "$mnt" 3>"$tmp/ready" &
pid=$!
read -r line <"$tmp/ready"
cd "$mnt"
run "ls -a"
run "cat .env"
run "cat secrets/db-password.txt"
run "ls deploy"
run "head -3 src/app/main.py"
run "echo 'API_KEY=stolen' > .env.local"
run "echo hacked >> README.md"
run "echo 'report: 3 files analysed' > output/report.txt"
run "cat output/report.txt"
cd "$top"
fusermount3 -u "$mnt"
wait "$pid" || true
pid=

say "The codebase is untouched; the write is in the delta (afs-audit diff)"
run "grep -c hacked '$tmp/project/README.md'"
run "'$B/afs-audit' diff '$tmp/project' '$tmp/delta'"

say "The audit log (afs-audit --decision deny,hide)"
"$B/afs-audit" --decision deny,hide "$tmp/audit.log" | sed "s|$top/||; s/^/  /"

say "Summary (afs-audit --summary)"
"$B/afs-audit" --summary "$tmp/audit.log" | sed "s|$top/||; s/^/  /" | head -30
