#!/bin/bash
# Real work inside the sandbox: what an agent does first in a codebase, run
# inside `afs-launch -s SRC -p development` (full-access where a preset rule
# is in the way, said at each task) and, as its control, the same script in
# a bare bubblewrap sandbox over a native copy of SRC, with the host's whole
# /etc.  A task must succeed in both and print the same bytes: a task that
# passes in the control and fails in afs fails the test.  (Every contract
# test passed while `git commit` failed: these are the tests that matter.)
#
# Run one task alone: TASKS="git-new sqlite" tests/t6001-real-work.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "real work inside the sandbox" "needs root (the sandbox runs as uid 65534)"
	exit 0
fi
missing=
for c in bwrap setpriv git cc make python3 sqlite3 npm node tar awk flock vi file jq; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	skip "real work inside the sandbox" "missing:$missing (make deps)"
	exit 0
fi
chmod 711 "$T"	# uid 65534 walks to the control's copies

SB=65534
ENVS="PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/sandbox LANG=C.UTF-8 TERM=dumb"

# bare DIR SCRIPT: SCRIPT in a bare bwrap sandbox over DIR, as uid 65534,
# with the host's /etc; the isolation flags of afs-launch otherwise.
bare() {
	local sys=() d
	for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
		if [ -L "$d" ]; then sys+=(--symlink "$(readlink "$d")" "$d")
		elif [ -d "$d" ]; then sys+=(--ro-bind "$d" "$d"); fi
	done
	# shellcheck disable=SC2086
	setpriv --reuid=$SB --regid=$SB --clear-groups \
		bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup \
		--unshare-net --disable-userns --die-with-parent --new-session \
		--ro-bind /usr /usr "${sys[@]}" --ro-bind /etc /etc \
		--proc /proc --dev /dev --tmpfs /tmp --tmpfs /home/sandbox \
		--bind "$1" /workspace --remount-ro / --chdir /workspace \
		env -i $ENVS sh -c "$2"
}

# inafs PRESET DIR SCRIPT: the same through afs-launch -s.
inafs() {
	afs-launch -s "$2" -p "$1" -t 600 -- sh -c "$3"
}

# task NAME PRESET SETUP SCRIPT: SETUP (a function, run in an empty
# directory as root) makes SRC; SCRIPT runs over a copy of it in the control
# and over SRC itself in afs, whose SOURCE must be left as it was.
task() {
	local name=$1 preset=$2 setup=$3 script=$4 src=$T/$1.src ctl=$T/$1.ctl rc_c rc_a
	case " ${TASKS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	mkdir "$src" && (cd "$src" && "$setup") || { not_ok "$name: setup"; return; }
	cp -a "$src" "$ctl" && chown -R $SB:$SB "$ctl"
	(cd "$src" && find . -printf '%p %M %s %T@\n' | LC_ALL=C sort) >"$T/$name.before"
	bare "$ctl" "$script" >"$T/$name.ctl.out" 2>"$T/$name.ctl.err"
	rc_c=$?
	inafs "$preset" "$src" "$script" >"$T/$name.afs.out" 2>"$T/$name.afs.err"
	rc_a=$?
	if [ $rc_c != 0 ]; then
		not_ok "$name: the control succeeds (status $rc_c): the machine, not afs"
		diag "$(tail -n 15 "$T/$name.ctl.err")"
	elif [ $rc_a != 0 ]; then
		not_ok "$name ($preset): succeeds inside afs as in the control (status $rc_a)"
		diag "$(tail -n 25 "$T/$name.afs.err")"
	elif ! cmp -s "$T/$name.ctl.out" "$T/$name.afs.out"; then
		not_ok "$name ($preset): the same output inside afs as in the control"
		diag "$(diff -u "$T/$name.ctl.out" "$T/$name.afs.out" | head -40)"
	elif [ ! -s "$T/$name.afs.out" ]; then
		not_ok "$name: prints what it did (an empty output proves nothing)"
	else
		ok "$name ($preset): as in the control ($(wc -l <"$T/$name.afs.out") lines)"
	fi
	(cd "$src" && find . -printf '%p %M %s %T@\n' | LC_ALL=C sort) >"$T/$name.after"
	same_file "$name: SOURCE untouched" "$T/$name.before" "$T/$name.after"
}

# Fixed identities and dates: commit hashes are the same in both runs.
GIT_ENV='export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@example.com
export GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@example.com
export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
git config --global init.defaultBranch main; git config --global advice.detachedHead false
'

# ---- the C toolchain -------------------------------------------------------------
setup_cc() {
	printf '#include "util.h"\n#include <stdio.h>\nint main(void) { printf("%%d\\n", twice(21)); return 0; }\n' >main.c
	printf 'int twice(int x);\n' >util.h
	printf '#include "util.h"\nint twice(int x) { return 2 * x; }\n' >util.c
	printf 'prog: main.o util.o\n\t$(CC) -o $@ main.o util.o\nmain.o util.o: util.h\nclean:\n\trm -f prog *.o\n' >Makefile
}
task cc-make development setup_cc \
	'make -s && ./prog && ls *.o && make -s clean && ls && make -s CFLAGS=-O2 && ./prog && cc -E -dM - </dev/null | grep -c __GNUC__'

# ---- shell pipelines -------------------------------------------------------------
setup_shell() {
	printf 'apple 3\npear 10\nfig 1\napple 7\nplum 2\n' >data.txt
	printf 'one\ntwo\n' >notes.txt
}
task shell development setup_shell '
	awk "{ s += \$2 } END { print s }" data.txt
	sort -k2n data.txt | head -n 3
	cut -d" " -f1 data.txt | sort | uniq -c | sort -rn | head -n 1
	sed -n 2p data.txt; sed -i s/fig/date/ data.txt; grep -c date data.txt
	which awk sed sort sh
	xargs -n 2 echo <data.txt | wc -l
	find . -name "*.txt" | sort | xargs md5sum
	vi -e -s -c "1s/^/X/" -c wq notes.txt; cat notes.txt
	printf "%s\n" b a c | sort | tr "\n" " "; echo
	date -u -d @0 +%Y; file --brief --mime-type data.txt'

# ---- git -------------------------------------------------------------------------
setup_empty() { :; }
task git-new development setup_empty "$GIT_ENV"'
	git init -q repo && cd repo
	printf "one\n" >a; printf "two\n" >b; git add a b; git commit -q -m first
	git status --short; git log --oneline
	git branch topic; git checkout -q topic; printf "topic\n" >>a; git commit -q -am "on topic"
	git checkout -q main; printf "main\n" >c; git add c; git commit -q -m "on main"
	git merge -q --no-edit topic; git log --oneline --graph | head -n 5
	git checkout -q -b rb HEAD~1; printf "rb\n" >d; git add d; git commit -q -m "to rebase"
	git rebase -q topic; git log --oneline | head -n 3
	printf "wip\n" >>b; git stash -q; git status --short; git stash pop -q; git diff --stat
	git checkout -q -- b
	git worktree add -q ../wt topic; git -C ../wt log --oneline -1; git worktree remove ../wt
	git gc -q; git fsck --no-progress; git count-objects -v | grep -E "^(count|in-pack)"
	cd .. && git clone -q repo clone && git -C clone log --oneline | wc -l
	git -C clone fsck --no-progress && echo cloned'

setup_repo() {
	git init -q -b main repo && cd repo || return 1
	for i in $(seq 1 20); do printf 'file %s\n' "$i" >"f$i.txt"; done
	git add . && GIT_AUTHOR_NAME=h GIT_AUTHOR_EMAIL=h@example.com GIT_COMMITTER_NAME=h \
		GIT_COMMITTER_EMAIL=h@example.com GIT_AUTHOR_DATE=2025-01-01T00:00:00Z \
		GIT_COMMITTER_DATE=2025-01-01T00:00:00Z git commit -q -m "from the host"
}
task git-existing development setup_repo "$GIT_ENV"'
	cd repo; git status --short; git log --oneline
	printf "changed\n" >>f1.txt; git commit -q -am "in the sandbox"; git log --oneline
	git clone -q . ../copy && git -C ../copy log --oneline | head -n 1
	git gc -q && git fsck --no-progress && git status --short && echo clean'

task git-1000 development setup_empty "$GIT_ENV"'
	git init -q big && cd big
	for d in $(seq 1 20); do mkdir d$d; for f in $(seq 1 50); do echo "$d $f" >d$d/f$f; done; done
	git add . && git commit -q -m "1000 files" && git ls-files | wc -l
	for d in $(seq 1 10); do echo more >>d$d/f1; done; git status --short | wc -l
	git commit -q -am "ten changed"; git log --stat --oneline | tail -n 1
	git gc -q; git fsck --no-progress; git status --short | wc -l'

# ---- python: venv, pip from a local wheel, pytest ----------------------------------
# Under development, pip cannot install into a venv in the workspace: its
# certifi's cacert.pem matches the preset's **/*.pem rule (afs-policy(5)).
setup_py() {
	mkdir pkgs tests
	python3 - <<-'EOF'
	import zipfile
	files = {
	    "afsdemo/__init__.py": "def double(x):\n    return 2 * x\n",
	    "afsdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: afsdemo\nVersion: 1.0\n",
	    "afsdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: afs-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	files["afsdemo-1.0.dist-info/RECORD"] = "".join(f"{n},,\n" for n in files) + "afsdemo-1.0.dist-info/RECORD,,\n"
	with zipfile.ZipFile("pkgs/afsdemo-1.0-py3-none-any.whl", "w") as z:
	    for n, t in files.items():
	        z.writestr(n, t)
	EOF
	printf 'from afsdemo import double\n\ndef test_double():\n    assert double(21) == 42\n' >tests/test_demo.py
}
PY_SCRIPT='
	python3 -m venv --system-site-packages venv
	venv/bin/pip install -q --no-index --no-warn-script-location pkgs/afsdemo-1.0-py3-none-any.whl
	venv/bin/python -c "import afsdemo; print(afsdemo.double(4))"
	venv/bin/python -m pytest -q -p no:cacheprovider tests 2>&1 | sed "s/ in [0-9.]*s.*//"
	venv/bin/pip list --disable-pip-version-check 2>/dev/null | grep afsdemo'
task python-venv full-access setup_py "$PY_SCRIPT"
# The override afs-policy(5) and the README give for development.
cat >"$T/dev-pip.yaml" <<'EOF'
version: 1
extends: development
rules:
  - pattern: "**/site-packages/**/*.pem"
    permission: write
    priority: 101
EOF
task python-venv-dev "$T/dev-pip.yaml" setup_py "$PY_SCRIPT"
# ... and without it, the failure that the override is for, named in the
# audit log by the preset's rule.
case " ${TASKS:-python-venv-dev} " in
*" python-venv-dev "*)
	mkdir "$T/pydev" && (cd "$T/pydev" && setup_py)
	afs-launch -s "$T/pydev" -p development -a "$T/pydev.log" -- \
		sh -c 'python3 -m venv venv' >"$T/pydev.out" 2>&1
	rc=$?
	is "development alone: pip cannot install itself into a venv (ensurepip fails)" 1 "$rc"
	is "... and the audit log names the preset's **/*.pem rule" \
		"create EACCES development.yaml:18" \
		"$(grep -m1 '"op":"create".*cacert.pem' "$T/pydev.log" | jq -r '[.op, .errno, (.rule | sub(".*/"; ""))] | join(" ")')"
	;;
esac

# ---- sqlite ----------------------------------------------------------------------
task sqlite development setup_empty '
	sqlite3 wal.db "PRAGMA journal_mode=WAL; CREATE TABLE t(a); INSERT INTO t VALUES (1),(2),(3);"
	sqlite3 wal.db "INSERT INTO t SELECT a + 3 FROM t; SELECT count(*), sum(a) FROM t; PRAGMA integrity_check;"
	ls wal.db*
	sqlite3 rb.db "PRAGMA journal_mode=DELETE; CREATE TABLE t(a); BEGIN; INSERT INTO t VALUES (1); COMMIT;"
	sqlite3 rb.db "BEGIN; INSERT INTO t VALUES (2); ROLLBACK; SELECT count(*) FROM t; PRAGMA integrity_check;"
	sqlite3 rb.db "PRAGMA journal_mode=TRUNCATE; INSERT INTO t VALUES (3); SELECT group_concat(a) FROM t;"'

# ---- npm, offline ----------------------------------------------------------------
setup_npm() {
	mkdir lib app
	printf '{ "name": "afs-lib", "version": "1.0.0", "main": "index.js" }\n' >lib/package.json
	printf 'exports.hi = () => "hi from afs-lib";\n' >lib/index.js
	printf '{ "name": "app", "version": "1.0.0", "private": true }\n' >app/package.json
}
task npm-offline development setup_npm '
	cd lib && npm pack --silent && cd ../app
	npm install --offline --no-audit --no-fund --loglevel=error ../lib/afs-lib-1.0.0.tgz >/dev/null
	node -e "console.log(require(\"afs-lib\").hi())"; ls node_modules; grep -c afs-lib package.json'

# ---- tar round trips of 2,000 files -----------------------------------------------
task tar development setup_empty '
	mkdir src; for d in $(seq 1 40); do mkdir src/d$d; for f in $(seq 1 50); do echo "$d/$f" >src/d$d/f$f; done; done
	tar -cf files.tar src && mkdir out && tar -xf files.tar -C out && diff -r src out/src && echo same
	find out -type f | wc -l; tar -czf files.tgz -C out src && tar -tzf files.tgz | wc -l
	rm -r out && find src -type f | sort | xargs cat | md5sum'

# ---- locks and shared mappings -----------------------------------------------------
task locks development setup_empty '
	: >lockfile
	flock lockfile sleep 2 & sleep 0.5
	flock -n lockfile true && echo free || echo busy
	wait; flock -n lockfile true && echo free
	python3 -c "
import fcntl, os
fd = os.open(\"fcntl.lock\", os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX)
if os.fork() == 0:
    try:
        fcntl.lockf(os.open(\"fcntl.lock\", os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB); print(\"child got it\", flush=True)
    except OSError as e:
        print(\"child refused:\", e.errno in (11, 13), flush=True)
    os._exit(0)
os.wait(); print(\"parent holds it\")"'

task mmap development setup_empty '
	python3 -c "
import mmap, os
with open(\"m.bin\", \"wb\") as f: f.write(b\"\\0\" * 8192)
fd = os.open(\"m.bin\", os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[100:106] = b\"mapped\"; m.flush(); m.close(); os.close(fd)
with open(\"m.bin\", \"rb\") as f: f.seek(100); print(f.read(6).decode())
print(os.path.getsize(\"m.bin\"))"'

# ---- make -j2 of a real C project: afs's own tree ----------------------------------
setup_afs() {
	(cd "$TOP" && git ls-files -z --cached --others --exclude-standard 2>/dev/null | tar --null -T - -cf -) | tar -xf - ||
		(cd "$TOP" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf -
}
task make-afs development setup_afs '
	make -j2 >build.log 2>&1 || { tail -n 20 build.log >&2; exit 1; }
	ls build/afs-fuse build/afs-launch build/afs-session build/afs-audit
	build/afs-fuse --version; build/afs-fuse --explain -p development /src/.env /src/main.c'

# ---- everyday file work: patch, sed -i, cp -a, mv, rm -r, find -delete ---------------
setup_files() {
	mkdir -p tree/a/b tree/c
	for i in 1 2 3; do printf 'line %s\nfoo\n' "$i" >"tree/a/f$i"; done
	printf 'x\n' >tree/a/b/deep; ln -s ../a/f1 tree/c/link; chmod 0750 tree/a/f3
	printf 'one\ntwo\nthree\n' >doc.txt
	printf -- '--- doc.txt\n+++ doc.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n' >fix.patch
}
task files development setup_files '
	patch -s -p0 <fix.patch && cat doc.txt
	sed -i s/foo/bar/ tree/a/f1 tree/a/f2 && cat tree/a/f1
	cp -a tree copy && ls -lR copy | grep -v "^total" | awk "{ print \$1, \$NF }"
	mv copy/a moved && mv doc.txt doc2.txt && ls moved copy
	find tree -name "f*" -delete && find tree | sort
	rm -r moved copy tree && ls'
