#!/bin/sh
# Install the Debian packages afs needs to build, test and run.
# Idempotent and quiet when everything is present; needs root to install.
set -eu

PKGS="
build-essential
pkg-config
libfuse3-dev
fuse3
libyaml-dev
libpcre2-dev
libcap-ng-dev
libjansson-dev
bubblewrap
clang
perl
groff-base
attr
bindfs
jq
logrotate
systemd
docker.io
busybox-static
tmux
python3-pytest
python3-pytest-asyncio
python-is-python3
tini
strace
libseccomp-dev
git
python3-venv
sqlite3
file
vim-tiny
curl
openssl
iproute2
openssh-client
openssh-server
debhelper
dh-python
lintian
mmdebstrap
python3-yaml
"
# openssh-server is for the ssh:// endpoint's tests, which start an sshd of
# their own on 127.0.0.1 (tests/python/sshd.py); on a machine that runs
# systemd, Debian's package also starts sshd on port 22 (systemctl disable
# --now ssh undoes that).
# The real-work tests (tests/t6001) need npm; Debian's, unless a Node.js
# that brings its own is installed (NodeSource's nodejs conflicts with it).
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root: apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale.
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
