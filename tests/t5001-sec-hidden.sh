#!/bin/bash
# Security: a path at `none` does not exist for the sandbox, whatever way
# the code inside asks for it.  Every attack runs inside afs-launch's
# bubblewrap sandbox, over a real afs-fuse mount (-s), as
# tests/helpers/attack (one raw attack per run, one line of output).
# Secret files hold a marker; any output holding it is a leak.
. "$(dirname "$0")/lib.sh"

ATTACK=$B/tests/helpers/attack
if [ ! -x "$ATTACK" ]; then
	not_ok "the attack helper is built ($ATTACK: run make build/tests/helpers/attack)"
	exit 1
fi

MARK="AFS-SECRET-MARKER-$$-$RANDOM"
src=$T/src delta=$T/delta pol=$T/pol.yaml
mkdir -p "$src/tools" "$src/hidden" "$src/docs" "$src/out/box" "$src/nl" "$src/rx"
cp "$ATTACK" "$src/tools/attack-$$"
cp "$ATTACK" "$src/tools/viewbin"
echo "$MARK secret.txt" >"$src/secret.txt"
echo "$MARK hidden/x" >"$src/hidden/x"
echo "$MARK hidden/pub.txt" >"$src/hidden/pub.txt"
echo view >"$src/view.txt"
echo ro >"$src/ro.txt"
echo readme >"$src/docs/readme.md"
echo "$MARK docs/.env" >"$src/docs/.env"
echo ok >"$src/out/ok.txt"
echo ok2 >"$src/out/ok2.txt"
echo "$MARK out/.env" >"$src/out/.env"
echo "$MARK out/box/secret.txt" >"$src/out/box/secret.txt"
echo plain >"$src/out/box/plain.txt"
echo "$MARK nl" >"$src/nl/a
b.pem"
echo plain >"$src/nl/plain.txt"
echo "$MARK rx" >"$src/rx/a
b.key"
echo "$MARK rx/c.key" >"$src/rx/c.key"
echo plain >"$src/rx/plain.txt"
# A hidden .env deep down, its mount path 3628 long (18 components of
# 200), and one past POLICY_MAX_PATH (21 components).
"$ATTACK" host-mkdeep "$src/deep" 200 18 .env "$MARK deep" || exit 1
"$ATTACK" host-mkdeep "$src/deep2" 200 21 .env "$MARK deep2" || exit 1

cat >"$pol" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: /out/**
    permission: write
    priority: 10
  - pattern: /secret.txt
    permission: none
  - pattern: /hidden
    type: directory
    permission: none
  - pattern: "**/hidden/**"
    permission: none
    priority: 100
  - pattern: /hidden/pub.txt
    type: file
    permission: read
    priority: 1000
  - pattern: /out/box/secret.txt
    type: file
    permission: none
    priority: 20
  - pattern: /view.txt
    permission: view
  - pattern: /tools/viewbin
    type: file
    permission: view
  - pattern: /ro.txt
    permission: read
  - pattern: "**/.env*"
    permission: none
    priority: 100
  - pattern: "**/*.pem"
    permission: none
    priority: 100
  - pattern: '^/rx/.*\.key$'
    type: regex
    permission: none
    priority: 100
EOF

# atk ARGS...: the attack, inside the sandbox; its one line on stdout.
atk() {
	afs-launch -s "$src" -p "$pol" -d "$delta" -- /workspace/tools/attack-$$ "$@" 2>"$T/atk.err"
}

# att DESC EXPECTED ARGS...: run the attack, require exactly EXPECTED.
att() {
	local desc=$1 want=$2 got
	shift 2
	got=$(atk "$@")
	is "$desc" "$want" "$got"
	case $got in
	*"$MARK"*) diag "LEAK: the secret's bytes reached the sandbox: $got" ;;
	esac
	[ "$got" = "$want" ] || diag "attack $*" "stderr: $(head -c 500 "$T/atk.err")"
}

W=/workspace

# ---- the direct path -----------------------------------------------------------
att "direct: open of a none file is ENOENT" ENOENT cat $W/secret.txt
att "direct: stat of a none file is ENOENT" ENOENT stat $W/secret.txt
att "direct: lstat of a none file is ENOENT" ENOENT lstat $W/secret.txt
att "direct: access(F_OK) of a none file is ENOENT" ENOENT access $W/secret.txt
att "direct: readlink of a none file is ENOENT" ENOENT readlink $W/secret.txt
att "direct: a file in a hidden directory is ENOENT" ENOENT cat $W/hidden/x
att "direct: opendir of a hidden directory is ENOENT" ENOENT opendir $W/hidden
att "direct: a file rule at read (priority 1000) under a hidden directory: still ENOENT" ENOENT \
	cat $W/hidden/pub.txt
att "direct: chdir into a hidden directory is ENOENT" ENOENT chdir $W/hidden
att "direct: a .env in a read directory is ENOENT" ENOENT cat $W/docs/.env
att "direct: a .env in a write directory is ENOENT" ENOENT cat $W/out/.env
att "direct: a file rule at none inside a write directory is ENOENT" ENOENT cat $W/out/box/secret.txt

# ---- .. and the kernel's own path walk -------------------------------------------
att "..: from a sibling directory" ENOENT cat $W/docs/../secret.txt
att "..: into a hidden directory from a sibling" ENOENT cat $W/out/../hidden/x
att "..: through the hidden directory itself" ENOENT cat $W/hidden/../secret.txt
att "//: doubled slashes" ENOENT cat $W//secret.txt
att "/./: a dot component" ENOENT cat $W/./secret.txt

# ---- symbolic links made in a writable directory ---------------------------------
att "symlink: relative target ../secret.txt, made, then opened: ENOENT" "OK ENOENT" \
	symlink-cat ../secret.txt $W/out/l-rel
att "symlink: absolute target /workspace/secret.txt: ENOENT" "OK ENOENT" \
	symlink-cat $W/secret.txt $W/out/l-abs
att "symlink: to a file in a hidden directory: ENOENT" "OK ENOENT" \
	symlink-cat $W/hidden/x $W/out/l-hid
att "symlink: to the .env beside it: ENOENT" "OK ENOENT" symlink-cat .env $W/out/l-env
att "symlink: to the none file of a sibling directory: ENOENT" "OK ENOENT" \
	symlink-cat box/secret.txt $W/out/l-box

# ---- hard links, renames, unlink ----------------------------------------------------
att "link(2) of a none file into a writable directory: ENOENT" ENOENT link $W/secret.txt $W/out/hl
att "link(2) of a hidden .env beside it: ENOENT" ENOENT link $W/out/.env $W/out/hl
att "link(2) of a file in a hidden directory: ENOENT" ENOENT link $W/hidden/x $W/out/hl
att "rename of a none file: ENOENT" ENOENT rename $W/secret.txt $W/out/s
att "rename of a hidden .env in a writable directory: ENOENT" ENOENT rename $W/out/.env $W/out/s
att "rename of a hidden directory: ENOENT" ENOENT rename $W/hidden $W/out/h
att "rename of a none file's parent (a write directory) is EXDEV; under the new name the file is still ENOENT" \
	"EXDEV ENOENT" rename-cat $W/out/box $W/out/box2 $W/out/box2/secret.txt
att "exchange (RENAME_EXCHANGE) with a hidden name: ENOENT" ENOENT exchange $W/out/ok.txt $W/out/.env
att "unlink of a hidden .env in a writable directory: ENOENT" ENOENT unlink $W/out/.env
att "rmdir of a hidden directory: ENOENT" ENOENT rmdir $W/hidden
is "host: the hidden files are all still there, unchanged" \
	"$MARK out/.env|$MARK out/box/secret.txt|$MARK secret.txt" \
	"$(cat "$src/out/.env")|$(cat "$src/out/box/secret.txt")|$(cat "$src/secret.txt")"

# ---- directory fds, /proc magic links -------------------------------------------------
att "openat with a dirfd of the parent: ENOENT" ENOENT catat $W secret.txt
att "openat with a dirfd of /out, name .env: ENOENT" ENOENT catat $W/out .env
att "openat with a dirfd of /out, name ../secret.txt: ENOENT" ENOENT catat $W/out ../secret.txt
att "openat2 RESOLVE_BENEATH from /out: ENOENT" ENOENT openat2 $W/out .env
att "/proc/self/cwd/secret.txt after chdir to its directory: ENOENT" ENOENT cwdcat $W secret.txt
att "O_PATH fd of a visible directory, then /proc/self/fd/N/secret.txt: ENOENT" ENOENT fdcat $W secret.txt
att "O_PATH fd of /out, then /proc/self/fd/N/.env: ENOENT" ENOENT fdcat $W/out .env
att "/proc/self/root/workspace/secret.txt: ENOENT" ENOENT cat /proc/self/root$W/secret.txt
att "O_PATH on a view file, reopened O_RDONLY by /proc/self/fd: EACCES" "OK EACCES" reopen $W/view.txt path r
att "a view file cannot be read: EACCES" EACCES cat $W/view.txt
att "a view file with x bits cannot be executed: EACCES" EACCES exec $W/tools/viewbin

# ---- handles, xattrs, statx -------------------------------------------------------
att "name_to_handle_at of a none file: ENOENT; a forged handle: EPERM" "ENOENT EPERM" handle $W/secret.txt
att "open_by_handle_at with a visible file's real handle: EPERM" "OK EPERM" handle $W/ro.txt
att "getxattr of a none file: ENOENT" ENOENT getxattr $W/secret.txt user.afs
att "lgetxattr of a hidden .env: ENOENT" ENOENT lgetxattr $W/out/.env user.afs
att "listxattr of a none file: ENOENT" ENOENT listxattr $W/secret.txt
att "statx (AT_STATX_DONT_SYNC) of a none file: ENOENT" ENOENT statx $W/secret.txt
att "statx with a dirfd (AT_STATX_FORCE_SYNC): ENOENT" ENOENT statx-at $W secret.txt

# ---- listings ---------------------------------------------------------------------
att "getdents of the root, after stat of the hidden names: none listed" \
	"deep deep2 docs nl out ro.txt rx tools view.txt" ls-after-stat $W secret.txt hidden
att "getdents of /out: no .env, no box/secret.txt leaks up" \
	"box l-abs l-box l-env l-hid l-rel ok.txt ok2.txt" ls $W/out
att "getdents of the box directory: the none file is not listed" "plain.txt" ls $W/out/box
att "getdents of /docs: no .env" "readme.md" ls $W/docs
# A directory's link count is 2 + its subdirectories: the root has 7
# visible ones (deep deep2 docs nl out rx tools) and the hidden /hidden.
# 9 (or 1, "not counted", as many file systems say) hides it; 10 tells
# the sandbox that a hidden directory is there.
got=$(atk nlink $W)
case $got in
9 | 1) ok "the root's link count does not count the hidden directory ($got)" ;;
*)
	not_ok "the root's link count does not count the hidden directory"
	diag "stat /workspace: st_nlink $got; 2 + 7 visible subdirectories is 9:" \
		"the count reveals that a hidden directory exists"
	;;
esac

# ---- inotify while the host writes the secrets ------------------------------------------
(
	end=$((SECONDS + 3))
	while [ $SECONDS -lt $end ]; do
		echo "$MARK secret.txt" >"$src/secret.txt"
		echo "$MARK out/.env" >"$src/out/.env.tmp"
		mv "$src/out/.env.tmp" "$src/out/.env"
		echo "$MARK" >"$src/out/.env.new"
		rm -f "$src/out/.env.new"
		echo "$MARK" >"$src/hidden/y"
		sleep 0.01
	done
) &
writer=$!
at_exit_kill "$writer"
att "inotify on /, /out, /docs while the host rewrites the secrets: only our own probe named" \
	"inotify-probe" inotify 1500 $W/out/inotify-probe $W $W/out $W/docs
att "inotify while the sandbox tries to create .env: no event" "none" \
	inotify 300 $W/out/.env $W $W/out
wait "$writer"
rm -f "$src/hidden/y"

# ---- look-alike names ---------------------------------------------------------------
att "case: SECRET.TXT does not alias secret.txt" ENOENT cat $W/SECRET.TXT
att "case: Secret.txt" ENOENT cat $W/Secret.txt
att "trailing dot: secret.txt." ENOENT cat $W/secret.txt.
att "trailing space: 'secret.txt '" ENOENT cat "$W/secret.txt "
att "trailing slash: secret.txt/" ENOENT cat $W/secret.txt/
att "Unicode homoglyph: Cyrillic dze for s" ENOENT cat "$W/$(printf '\xd1\x95')ecret.txt"
att "Unicode: a zero-width space after the name" ENOENT cat "$W/secret.txt$(printf '\xe2\x80\x8b')"
att "case: .ENV beside a hidden .env" ENOENT cat $W/out/.ENV

# ---- long paths, names with newlines ---------------------------------------------------
att "a hidden .env 3628 characters deep, reached by chdir: ENOENT" "chdir=OK cat=ENOENT" \
	deepwalk $W/deep 200 18 .env
att "a hidden .env past POLICY_MAX_PATH: its directory is ENAMETOOLONG, the file never read" \
	"chdir=ENAMETOOLONG cat=ENOENT" deepwalk $W/deep2 200 21 .env
mkdir -p "$src/out/deep"
att "creating .env in a directory at mount path 4060 (EACCES), .envxx.. at 4096 (EACCES), at 4097 (ENAMETOOLONG)" \
	"OK EACCES EACCES ENAMETOOLONG" deepcreate $W/out/deep 9
is "... and the delta holds no .env of it" "" "$(find "$delta" -name '.env*' | sed "s|^$delta||")"
rm -rf "$delta/out/deep"
# The longest directory path the daemon can use is 4082: it looks for the
# opaque marker "/.wh..wh..opq" inside.  Past it, mkdir must not report a
# failure after making the directory.
got=$(atk deepmkdir $W/out/deep 9 4090)
left=$(find "$delta/out/deep" -name 'mmm*' 2>/dev/null | wc -l)
case "$got $left" in
"OK OK 1" | "ENAMETOOLONG ENOENT 0") ok "mkdir at mount path 4090: works, or fails leaving nothing ($got, $left left)" ;;
*)
	not_ok "mkdir at mount path 4090: works, or fails leaving nothing"
	diag "mkdir/stat: $got; directories left in the delta: $left" \
		"(a wrong errno: mkdir reports ENAMETOOLONG, yet made the directory in the delta," \
		" where it stays, invisible, and would be committed)"
	;;
esac
rm -rf "$delta/out/deep" "$src/out/deep"
att "a name with a newline under a **/*.pem none glob: ENOENT" ENOENT cat "$W/nl/a
b.pem"
att "a name with a newline under a .* regex none rule: ENOENT" ENOENT cat "$W/rx/a
b.key"
att "getdents of /rx: the newline name is not listed" "plain.txt" ls $W/rx
att "getdents of /nl: the newline name is not listed" "plain.txt" ls $W/nl
att "creating '.env\\nx' in /out: EACCES" EACCES creat "$W/out/.env
x"
att "creating 'x\\n.pem' in /out: EACCES" EACCES creat "$W/out/x
.pem"

# ---- creating hidden names in a writable directory ---------------------------------------
att "create (O_EXCL) of .env over a hidden one: EACCES" EACCES creat $W/out/.env
att "create (O_EXCL) of a new .env.local: EACCES" EACCES creat $W/out/.env.local
att "open O_WRONLY|O_CREAT|O_TRUNC of .env: EACCES" EACCES open $W/out/.env w,creat,trunc
att "mkdir of /out/hidden: EACCES" EACCES mkdir $W/out/hidden
att "create of /out/hidden/x: ENOENT (no such directory)" ENOENT creat $W/out/hidden/x
att "mkfifo .env.fifo: EACCES" EACCES mkfifo $W/out/.env.fifo
att "symlink named .env.link: EACCES" EACCES symlink $W/out/ok.txt $W/out/.env.link
att "link of a writable file as .env.hard: EACCES" EACCES link $W/out/ok.txt $W/out/.env.hard
att "rename of a writable file onto .env.moved: EACCES" EACCES rename $W/out/ok2.txt $W/out/.env.moved
att "rename of a writable file onto the hidden .env: EACCES" EACCES rename $W/out/ok2.txt $W/out/.env
att "mknod of a device named .env.dev: EPERM" EPERM mknod-chr $W/out/.env.dev
att "mkdir .env.d: EACCES" EACCES mkdir $W/out/.env.d
att "an O_TMPFILE in /out, to be linked in as .env: EOPNOTSUPP" EOPNOTSUPP tmpfile $W/out $W/out/.env
att "create of a none file's name at the root (read): EACCES" EACCES creat $W/secret.txt
att "after all that: .env.local still does not exist" ENOENT cat $W/out/.env.local
att "after all that: /out lists no hidden name" \
	"box l-abs l-box l-env l-hid l-rel ok.txt ok2.txt" ls $W/out
is "after all that: no .env or hidden name in the delta" "" \
	"$(find "$delta" \( -name '.env*' -o -name '.wh..env*' -o -name hidden -o -name '.wh.hidden' \) | sed "s|^$delta||")"
is "after all that: ok2.txt is where it was, in the source" "ok2" "$(cat "$src/out/ok2.txt")"

# ---- names of the delta format -------------------------------------------------------------
att "create of /out/.wh.ok.txt (a whiteout): EINVAL" EINVAL creat $W/out/.wh.ok.txt
att "create of /out/.wh..wh..opq (an opaque marker): EINVAL" EINVAL creat $W/out/.wh..wh..opq
att "rename onto /out/.wh.ok.txt: EINVAL" EINVAL rename $W/out/l-rel $W/out/.wh.ok.txt
att "after those: ok.txt is still visible" "DATA:ok\\n" cat $W/out/ok.txt
# (afs's own base journal at the delta's root is no marker.)
is "after those: no marker in the delta" "" \
	"$(find "$delta" -name '.wh.*' ! -path "$delta/.wh..wh..afs.base" | sed "s|^$delta||")"

# ---- deny by default: directories made traversable by one rule below them -------------------
# default none, and a rule for /pub/readme.md alone: /pub is presented as
# view (listed, traversable), its other entries are filtered one by one;
# /pubx, /pub2 and /outside share a prefix with a rule's path but no rule
# reaches into them.
psrc=$T/psrc
mkdir -p "$psrc/tools" "$psrc/pub/sub" "$psrc/pubx" "$psrc/outside" "$psrc/out"
cp "$ATTACK" "$psrc/tools/attack-$$"
echo readme >"$psrc/pub/readme.md"
echo "$MARK pub/other" >"$psrc/pub/other.txt"
echo "$MARK pub/readme.md.bak" >"$psrc/pub/readme.md.bak"
echo "$MARK pub/sub/f" >"$psrc/pub/sub/f"
echo "$MARK pubx/readme.md" >"$psrc/pubx/readme.md"
echo "$MARK outside" >"$psrc/outside/f"
echo "$MARK top" >"$psrc/top.txt"
cat >"$T/deny.yaml" <<'EOF'
version: 1
default: none
rules:
  - pattern: /tools/**
    permission: read
  - pattern: /pub/readme.md
    type: file
    permission: read
  - pattern: /out/**
    permission: write
EOF
patt() {
	local desc=$1 want=$2 got
	shift 2
	got=$(afs-launch -s "$psrc" -p "$T/deny.yaml" -d "$T/pdelta" -- /workspace/tools/attack-$$ "$@" \
		2>"$T/atk.err")
	is "$desc" "$want" "$got"
	case $got in *"$MARK"*) diag "LEAK: the secret's bytes reached the sandbox: $got" ;; esac
}
patt "default none: the root lists only what a rule reaches" "out pub tools" ls $W
patt "default none: the implicit /pub lists only the file a rule names" "readme.md" ls $W/pub
patt "default none: that file reads" "DATA:readme\\n" cat $W/pub/readme.md
patt "default none: its siblings are ENOENT" ENOENT cat $W/pub/other.txt
patt "default none: a name that extends the rule's (readme.md.bak): ENOENT" ENOENT cat $W/pub/readme.md.bak
patt "default none: a directory beside it: ENOENT" ENOENT cat $W/pub/sub/f
patt "default none: /pubx (the rule's prefix, without the slash): ENOENT" ENOENT cat $W/pubx/readme.md
patt "default none: /outside is not under /out/**: ENOENT" ENOENT cat $W/outside/f
patt "default none: nothing can be created in the implicit /pub: EACCES" EACCES creat $W/pub/new
patt "default none: nor at the root: EACCES" EACCES creat $W/new
patt "default none: nor can /outside be made: EACCES" EACCES mkdir $W/outside2
