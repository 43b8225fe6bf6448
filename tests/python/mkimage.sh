#!/bin/sh
# tests/python/mkimage.sh: make, when it is missing, the local docker image
# python:3.11-slim that the Python SDK's docker tests run in.  No registry
# is reachable, so it is made with `docker import` of a root holding the
# host's Python 3.11 (interpreter, the shared libraries it and its
# extension modules need, the standard library), pytest and its
# dependencies from Debian's dist-packages, /usr/bin/pytest and a static
# busybox for sh, ls, cat...  Needs a running dockerd (tests/lib.sh's
# docker_up), /usr/bin/python3.11, python3-pytest and busybox-static.
#
#   sh tests/python/mkimage.sh [--force]     exit 0 when the image is there
set -eu

IMAGE=${AFS_PY_IMAGE:-python:3.11-slim}
PY=/usr/bin/python3.11
STDLIB=/usr/lib/python3.11
DIST=/usr/lib/python3/dist-packages

if [ "${1:-}" != --force ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	exit 0
fi

for f in "$PY" "$STDLIB/os.py" "$DIST/pytest/__init__.py" /usr/bin/pytest /bin/busybox; do
	if [ ! -e "$f" ]; then
		echo "mkimage: $f is missing (python3.11, python3-pytest, busybox-static)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/afs-pyimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
root=$tmp/root
mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/lib/python3/dist-packages" \
	"$root/tmp" "$root/workspace" "$root/etc" "$root/home" "$root/root" "$root/proc" \
	"$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
chmod 0755 "$root/workspace"

# The interpreter and its links.
cp -p "$PY" "$root/usr/bin/python3.11"
ln -s python3.11 "$root/usr/bin/python3"
ln -s python3.11 "$root/usr/bin/python"

# The standard library, without what a test run never needs.
tar -C /usr/lib -c \
	--exclude='python3.11/test' --exclude='python3.11/idlelib' \
	--exclude='python3.11/tkinter' --exclude='python3.11/ensurepip' \
	--exclude='python3.11/lib2to3' --exclude='python3.11/turtledemo' \
	--exclude='python3.11/lib-dynload/_test*' --exclude='python3.11/site-packages' \
	--exclude='python3.11/dist-packages' \
	python3.11 | tar -C "$root/usr/lib" -x

# pytest and what Debian's python3-pytest depends on (the ones the host
# has: exceptiongroup and tomli are only needed before Python 3.11).
for m in _pytest pytest pluggy iniconfig packaging py py.py attr attrs \
	more_itertools exceptiongroup tomli pkg_resources; do
	[ -e "$DIST/$m" ] || continue
	cp -a "$DIST/$m" "$root/usr/lib/python3/dist-packages/"
	for meta in "$DIST/$m"-[0-9]*.dist-info "$DIST/$m"-[0-9]*.egg-info; do
		[ -e "$meta" ] && cp -a "$meta" "$root/usr/lib/python3/dist-packages/"
	done
done
cp -p /usr/bin/pytest "$root/usr/bin/pytest"
ln -s pytest "$root/usr/bin/pytest-3"

# The shared libraries of the interpreter and of every extension module,
# at the paths the dynamic loader looks for them (symbolic links resolved).
libs=$(for f in "$PY" "$root"/usr/lib/python3.11/lib-dynload/*.so; do
	ldd "$f" 2>/dev/null || true
done | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]* \(/ { print $1 }' | sort -u)
for l in $libs; do
	[ -e "$l" ] || continue
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done

# busybox for the shell and the usual commands.
cp /bin/busybox "$root/bin/busybox"
for c in $(/bin/busybox --list); do
	[ "$c" = busybox ] || [ -e "$root/bin/$c" ] || ln -s busybox "$root/bin/$c"
done

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' \
	>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" --numeric-owner -c . |
	docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'ENV LANG=C.UTF-8' \
		-c 'WORKDIR /workspace' -c 'VOLUME /tmp' -c 'CMD ["python3"]' - "$IMAGE" >/dev/null

# It must work as the sandbox uses it: another user, a read-only root.
if ! out=$(docker run --rm --network none --user 65534:65534 --read-only "$IMAGE" pytest --version 2>&1); then
	echo "mkimage: $IMAGE does not run pytest:" >&2
	printf '%s\n' "$out" >&2
	docker image rm "$IMAGE" >/dev/null 2>&1 || true
	exit 1
fi
