#!/bin/bash
# afs-fuse --commit-git: the mount records SOURCE's git HEAD in a fresh
# delta; --commit-git makes one commit of the delta's changes on a new
# branch over that HEAD, touching nothing else of SOURCE's, and git's own
# merge brings it in.
. "$(dirname "$0")/lib.sh"

if ! command -v git >/dev/null; then
	skip "afs-fuse --commit-git" "git is not installed"
	exit 0
fi
# git as CI has it: no config of the user running the test, an identity in
# the environment.
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Dev GIT_AUTHOR_EMAIL=dev@example.org
export GIT_COMMITTER_NAME=Dev GIT_COMMITTER_EMAIL=dev@example.org
# Where --commit-git makes its temporary index: must be left empty.
export TMPDIR=$T/tmp
mkdir -p "$HOME" "$TMPDIR"

src=$T/src mnt=$T/mnt delta=$T/delta
mkdir -p "$mnt"
printf 'version: 1\nrules:\n  - pattern: "**"\n    permission: write\n' >"$T/all.yaml"
g() { git -C "$src" "$@"; }
blob() { printf "$1" | git hash-object --stdin; }
tree_of() { (cd "$1" && find . ! -name . -printf '%p %y %m\n' | LC_ALL=C sort &&
	find . -type f -exec md5sum {} + | LC_ALL=C sort); }

git -c init.defaultBranch=main init -q "$src"
printf 'one\ntwo\nthree\nfour\nfive\n' >"$src/lines.txt"
echo keep >"$src/keep.txt"
echo del >"$src/del.txt"
mkdir -p "$src/old/deep" "$src/redo/sub"
echo a >"$src/old/a"
echo b >"$src/old/deep/b"
echo r >"$src/redo/r"
echo s >"$src/redo/sub/s"
printf '#!/bin/sh\n' >"$src/run.sh"
echo moved >"$src/before.txt"
echo other >"$src/other.txt"
mkdir "$src/pkg"
echo x >"$src/pkg/x"
echo y >"$src/pkg/y"
printf '*.log\n' >"$src/.gitignore"
echo tracked >"$src/tracked.log"
g add -A
g add -f tracked.log
g commit -qm base
base=$(g rev-parse HEAD)

# The agent's session.
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
is "the mount records SOURCE's HEAD in the delta" "$base" "$(cat "$delta/.wh..wh..afs.head")"
is "the recorded HEAD: mode 600" 600 "$(stat -c %a "$delta/.wh..wh..afs.head")"
is "the recorded HEAD is not shown in the mount" "" "$(ls -a "$mnt" | grep afs)"
sed -i 's/^one$/ONE/' "$mnt/lines.txt"
mkdir -p "$mnt/new/dir"
echo new >"$mnt/new/dir/file"
rm "$mnt/del.txt"
rm -r "$mnt/old"
rm -r "$mnt/redo"
mkdir "$mnt/redo"
echo fresh >"$mnt/redo/only"
chmod +x "$mnt/run.sh"
ln -s lines.txt "$mnt/link"
mv "$mnt/before.txt" "$mnt/after.txt"
echo suid >"$mnt/suid"
chmod 4755 "$mnt/suid"
mkfifo "$mnt/pipe"
echo noise >"$mnt/debug.log"
echo changed >"$mnt/tracked.log"
echo colon >"$mnt/:colon"
echo nl >"$mnt/nl
name"
echo "agent was here" >"$mnt/.git/description"
afs_umount "$mnt"
is "the setuid bit is in the delta" 4755 "$(stat -c %a "$delta/suid")"
is "afs-fuse said nothing" "" "$(cat "$T/fuse.err")"

# Meanwhile, the developer commits to another line of the same file and
# leaves an edit uncommitted.
sed -i 's/^five$/FIVE/' "$src/lines.txt"
g commit -qam "developer's change"
echo "not committed" >>"$src/other.txt"
head=$(g rev-parse HEAD)
porcelain=$(g status --porcelain)
cp "$src/.git/index" "$T/index.before"
tree_of "$delta" >"$T/delta.before"

run afs-fuse --commit-git agent/x -d "$delta" "$src"
status_is "--commit-git: exit 0" 0
is "--commit-git: stdout is the new commit" "$(g rev-parse agent/x)" "$(cat "$T/out")"
is "--commit-git: stderr says what was left out" "\
afs-fuse: warning: left out '/.git': git's own files are not carried
afs-fuse: warning: left out '/pipe': a FIFO cannot be in git
afs-fuse: left out 1 untracked path that git ignores (-v lists them)" "$(cat "$T/err")"
is "the branch's tree: every change, no FIFO, no ignored file, no .git, no setuid" "\
100644 blob $(blob '*.log\n')	.gitignore
100644 blob $(blob 'colon\n')	:colon
100644 blob $(blob 'moved\n')	after.txt
100644 blob $(blob 'keep\n')	keep.txt
100644 blob $(blob 'ONE\ntwo\nthree\nfour\nfive\n')	lines.txt
120000 blob $(blob 'lines.txt')	link
100644 blob $(blob 'new\n')	new/dir/file
100644 blob $(blob 'nl\n')	\"nl\\nname\"
100644 blob $(blob 'other\n')	other.txt
100644 blob $(blob 'x\n')	pkg/x
100644 blob $(blob 'y\n')	pkg/y
100644 blob $(blob 'fresh\n')	redo/only
100755 blob $(blob '#!/bin/sh\n')	run.sh
100755 blob $(blob 'suid\n')	suid
100644 blob $(blob 'changed\n')	tracked.log" "$(g ls-tree -r agent/x)"
is "the commit's parent is the HEAD recorded at mount" "$base" "$(g rev-parse agent/x^)"
is "one commit on top of it" 1 "$(g rev-list --count "$base..agent/x")"
is "the default message" "afs: changes of delta $(realpath "$delta")" "$(g log -1 --format=%B agent/x)"
if cmp -s "$T/index.before" "$src/.git/index"; then
	ok "SOURCE's index: the same bytes"
else
	not_ok "SOURCE's index: the same bytes"
fi
is "SOURCE's HEAD: unchanged" "$head" "$(g rev-parse HEAD)"
is "SOURCE's branch: unchanged" "refs/heads/main" "$(g symbolic-ref HEAD)"
is "SOURCE's work tree: git status as before" "$porcelain" "$(g status --porcelain)"
is "SOURCE's work tree: the developer's file as it was" "one
two
three
four
FIVE" "$(cat "$src/lines.txt")"
tree_of "$delta" >"$T/delta.after"
same_file "the delta: as it was" "$T/delta.before" "$T/delta.after"
is "no temporary directory left" "" "$(ls -A "$TMPDIR")"

run afs-fuse -v --commit-git agent/v -m "agent: the work" -d "$delta" "$src"
status_is "-v and -m: exit 0" 0
is "-v names the ignored path" "\
afs-fuse: warning: left out '/.git': git's own files are not carried
afs-fuse: warning: left out '/pipe': a FIFO cannot be in git
afs-fuse: left out '/debug.log': git ignores it
afs-fuse: left out 1 untracked path that git ignores" "$(cat "$T/err")"
is "-m: the message" "agent: the work" "$(g log -1 --format=%B agent/v)"
is "the same delta gives the same tree" "$(g rev-parse agent/x^{tree})" "$(g rev-parse agent/v^{tree})"

run g merge --no-edit agent/x
status_is "git merge of the branch: exit 0" 0
is "the merged file holds both changes" "ONE
two
three
four
FIVE" "$(cat "$src/lines.txt")"
is "the merge carried the deletion of a directory" "" "$(ls -d "$src/old" 2>/dev/null)"
is "the merge: an opaque directory's old content is gone" "only" "$(ls "$src/redo")"
is "the merge left the uncommitted edit alone" "other
not committed" "$(cat "$src/other.txt")"

# SOURCE a directory of its repository: the changes land there.
sdelta=$T/sdelta
afs_mount "$src/pkg" "$mnt" -p "$T/all.yaml" -d "$sdelta" || exit 1
echo X >"$mnt/x"
rm "$mnt/y"
echo z >"$mnt/z"
afs_umount "$mnt"
run afs-fuse --commit-git agent/pkg -d "$sdelta" "$src/pkg"
status_is "SOURCE a subdirectory: exit 0" 0
is "SOURCE a subdirectory: the changes are below it in the repository" "M	pkg/x
D	pkg/y
A	pkg/z" "$(g diff --name-status "$(g rev-parse agent/pkg^)" agent/pkg)"

# git failing after the checks: its own message, exit 1, no branch, no
# temporary directory left.
run env -u GIT_COMMITTER_NAME -u GIT_COMMITTER_EMAIL -u GIT_AUTHOR_NAME -u GIT_AUTHOR_EMAIL \
	GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=user.useConfigOnly GIT_CONFIG_VALUE_0=true \
	afs-fuse --commit-git agent/noid -d "$delta" "$src"
status_is "no git identity: exit 1" 1
is "no git identity: git's message, then which step failed" "fatal: no email was given and auto-detection is disabled
afs-fuse: git commit-tree failed (exit status 128); no branch made" "$(tail -n 2 "$T/err")"
is "no git identity: no branch" "" "$(g for-each-ref refs/heads/agent/noid)"
is "no git identity: no temporary directory left" "" "$(ls -A "$TMPDIR")"
# A PATH with what afs_mount runs, and no git.
mkdir "$T/nogit"
for p in env rm mkfifo fusermount3; do
	ln -s "$(command -v "$p")" "$T/nogit/$p"
done
run env PATH="$B:$T/nogit" afs-fuse --commit-git agent/y -d "$delta" "$src"
status_is "git not installed: exit 1" 1
is "git not installed: message" "afs-fuse: cannot run git rev-parse: No such file or directory; no branch made" "$(cat "$T/err")"

# Refusals: exit 2, one line, no branch made.
refs() { g for-each-ref --format='%(refname)' refs/heads; }
refs >"$T/refs.before"
refused() {	# DESC MESSAGE ARGS...
	local desc=$1 msg=$2
	shift 2
	run afs-fuse "$@"
	status_is "$desc: exit 2" 2
	is "$desc: message" "$msg" "$(cat "$T/err")"
	is "$desc: nothing on stdout" "" "$(cat "$T/out")"
}
refused "an existing branch" "afs-fuse: branch 'agent/x' already exists" \
	--commit-git agent/x -d "$delta" "$src"
refused "a bad branch name" "afs-fuse: bad branch name 'bad..name'" \
	--commit-git bad..name -d "$delta" "$src"
refused "a branch name git expands" "afs-fuse: bad branch name '@{-1}'" \
	--commit-git '@{-1}' -d "$delta" "$src"
mkdir "$T/plain"
echo p >"$T/plain/p"
refused "SOURCE not in a git work tree" "afs-fuse: '$T/plain' is not in a git work tree" \
	--commit-git agent/y -d "$delta" "$T/plain"
refused "SOURCE inside .git" "afs-fuse: '$src/.git' is not in a git work tree" \
	--commit-git agent/y -d "$delta" "$src/.git"
refused "PATH arguments" "afs-fuse: --commit-git takes no PATH: it commits the whole delta" \
	--commit-git agent/y -d "$delta" "$src" /lines.txt
refused "-m without --commit-git" "afs-fuse: -m is for --commit-git" \
	--commit -m "a message" -d "$delta" "$src"
refused "--commit-git with --commit" \
	"afs-fuse: --check, --explain, --explain-host, --commit, --commit-git and --discard exclude each other" \
	--commit --commit-git agent/y -d "$delta" "$src"
refused "--commit-git without a delta" "afs-fuse: --commit-git needs --delta DELTA" \
	--commit-git agent/y "$src"
chmod 0777 "$delta"
refused "a delta others can write" \
	"afs-fuse: cannot use delta '$delta': writable by its group or others (mode 0777)" \
	--commit-git agent/y -d "$delta" "$src"
chmod 0700 "$delta"
cp "$delta/.wh..wh..afs.head" "$T/head.saved"
echo 0123456789abcdef0123456789abcdef01234567 >"$delta/.wh..wh..afs.head"
refused "a recorded HEAD gone from the repository" \
	"afs-fuse: the git HEAD recorded in the delta '$delta', 0123456789abcdef0123456789abcdef01234567, is not a commit of the repository of '$src'" \
	--commit-git agent/y -d "$delta" "$src"
echo "not an id" >"$delta/.wh..wh..afs.head"
refused "a malformed recorded HEAD" "afs-fuse: the git HEAD recorded in the delta '$delta' is malformed" \
	--commit-git agent/y -d "$delta" "$src"
cp "$T/head.saved" "$delta/.wh..wh..afs.head"

# A delta begun before SOURCE was a git repository records nothing, and
# the mount works all the same.
pdelta=$T/pdelta
: >"$T/fuse.err"
afs_mount "$T/plain" "$mnt" -p "$T/all.yaml" -d "$pdelta" || exit 1
echo changed >"$mnt/p"
is "a mount of a SOURCE that is no git work tree works" "changed" "$(cat "$mnt/p")"
afs_umount "$mnt"
if [ -e "$pdelta/.wh..wh..afs.head" ]; then
	not_ok "no HEAD recorded when SOURCE is no git work tree"
else
	ok "no HEAD recorded when SOURCE is no git work tree"
fi
is "afs-fuse said nothing about git" "" "$(cat "$T/fuse.err")"
git -c init.defaultBranch=main init -q "$T/plain"
git -C "$T/plain" add -A
git -C "$T/plain" commit -qm later
refused "a delta with no recorded HEAD" \
	"afs-fuse: no git HEAD recorded in the delta '$pdelta' (it began when '$T/plain' was not in a git work tree, or before afs-fuse recorded one)" \
	--commit-git agent/y -d "$pdelta" "$T/plain"

# No git, or a git that fails with words: nothing recorded, nothing said.
: >"$T/fuse.err"
PATH="$B:$B/tests/helpers:$T/nogit" afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$T/d-nogit" || exit 1
afs_umount "$mnt"
if [ -e "$T/d-nogit/.wh..wh..afs.head" ]; then not_ok "git not installed: no HEAD recorded"; else ok "git not installed: no HEAD recorded"; fi
mkdir "$T/badgit"
printf '#!/bin/sh\necho "fatal: something is wrong" >&2\nexit 128\n' >"$T/badgit/git"
chmod +x "$T/badgit/git"
PATH="$T/badgit:$PATH" afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$T/d-badgit" || exit 1
afs_umount "$mnt"
if [ -e "$T/d-badgit/.wh..wh..afs.head" ]; then not_ok "git failing: no HEAD recorded"; else ok "git failing: no HEAD recorded"; fi
is "no git, git failing: afs-fuse said nothing" "" "$(cat "$T/fuse.err")"

# A delta reused by a later mount keeps the HEAD it began from.
afs_mount "$src" "$mnt" -p "$T/all.yaml" -d "$delta" || exit 1
afs_umount "$mnt"
is "a later mount keeps the recorded HEAD" "$base" "$(cat "$delta/.wh..wh..afs.head")"

refs >"$T/refs.after"
same_file "no refusal made a branch" "$T/refs.before" "$T/refs.after"
is "no temporary directory left after the refusals" "" "$(ls -A "$TMPDIR")"
