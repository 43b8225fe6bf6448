#!/bin/sh
# mkimage.sh VERSION AFS_DEB AGENTFENSE_DEB: the OCI image afs:VERSION (or
# $AFS_IMAGE_TAG) in the local dockerd (make image).
#
# The root is Debian 12's own packages (mmdebstrap, variant minbase, from
# this machine's apt sources: no registry is pulled from) with the two
# packages installed in it by apt, so their dependencies come from Debian
# too; tini is its init (pid 1 reaps what afs-launch's sandboxes leave).
# Then `docker import`, with the image's entrypoint, working directory and
# labels.  The root tarball is kept in build/image/ (rootfs.tar).
set -eu

[ $# -eq 3 ] || { echo "usage: mkimage.sh VERSION AFS_DEB AGENTFENSE_DEB" >&2; exit 2; }
version=$1
tag=${AFS_IMAGE_TAG:-afs:$version}
afs_deb=$(readlink -f "$2")
py_deb=$(readlink -f "$3")
top=$(cd "$(dirname "$0")/../.." && pwd)
out="${B:-$top/build}/image"

for p in mmdebstrap docker; do
	command -v "$p" >/dev/null 2>&1 || { echo "mkimage.sh: $p is missing (make deps)" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "mkimage.sh: no dockerd answers (start it: see README, Install)" >&2; exit 1; }

# The machine's own apt sources: its mirror, and its snapshot if it pins one.
sources=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	[ -s "$f" ] && { sources=$f; break; }
done
[ -n "$sources" ] || sources="deb http://deb.debian.org/debian bookworm main"

rm -rf "$out"
mkdir -p "$out"
# The two packages are copied in and installed by the root's own apt,
# which takes their dependencies (fuse3, bubblewrap, the libraries,
# python3) from Debian; then the package lists and the .deb files go.
mmdebstrap --variant=minbase --mode=root --format=tar \
	--include="tini,ca-certificates" \
	--customize-hook="copy-in $afs_deb $py_deb /tmp" \
	--customize-hook="chroot \"\$1\" apt-get install -y -q --no-install-recommends /tmp/${afs_deb##*/} /tmp/${py_deb##*/}" \
	--customize-hook='rm -f "$1"/tmp/*.deb; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	--customize-hook='mkdir -p "$1"/workspace "$1"/var/lib/afs "$1"/var/log/afs' \
	bookworm "$out/rootfs.tar" "$sources" </dev/null

docker import \
	--change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
	--change 'CMD ["afs-launch", "--help"]' \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'WORKDIR /' \
	--change "LABEL org.opencontainers.image.title=afs org.opencontainers.image.version=$version" \
	"$out/rootfs.tar" "$tag" >/dev/null
echo "$tag"
