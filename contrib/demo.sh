#!/bin/sh
# make demo: the bundled example codebase through the agent-safe policy.
# Copies contrib/demo-project to a temporary directory (restoring its .git),
# then asks afs-fuse what an agent would see of every path in it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
fuse="$top/build/afs-fuse"
tmp=$(mktemp -d /tmp/afs-demo.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

cp -R "$top/contrib/demo-project" "$tmp/project"
mv "$tmp/project/_git" "$tmp/project/.git"
cd "$tmp/project"

echo "== The demo codebase, as afs-fuse -p agent-safe presents it to an agent"
echo "== (LEVEL  PATH  deciding RULE; none = invisible, ENOENT)"
echo
# Directories with a trailing / so that they are explained as directories.
find . -mindepth 1 \( -type d -printf '/%P/\n' -o -printf '/%P\n' \) | LC_ALL=C sort |
	tr '\n' '\0' | xargs -0 "$fuse" --explain -p agent-safe |
	sed "s|$top/||"
echo
echo "== A policy of your own: check it before you mount with it"
cat >"$tmp/my-policy.yaml" <<'P'
version: 1
extends: agent-safe
rules:
  - pattern: /docs/**
    permission: write
    priority: 10
  - pattern: "**/*.py"
    permission: view
    priority: 5
P
sed 's/^/    /' "$tmp/my-policy.yaml"
"$fuse" --check -p "$tmp/my-policy.yaml" && echo "    -> valid"
"$fuse" --explain -p "$tmp/my-policy.yaml" /docs/guide.md /src/app/main.py /.env |
	sed "s|$top/||; s|$tmp/||" | sed 's/^/    /'
