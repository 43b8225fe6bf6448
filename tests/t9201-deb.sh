#!/bin/bash
# The Debian packages (make deb, debian/): built with debhelper and clean
# for lintian; installed on this machine with apt; afs-launch --doctor,
# the demo and the agentfense module run from what they installed; then
# removed (the conffiles stay, as Debian policy keeps them) and purged
# (nothing of them stays).  Skipped where afs is already installed from a
# package: a test does not replace an admin's install.
. "$(dirname "$0")/lib.sh"

# The packages are built from the tree's sources, not from the build under
# test: .ci/run's sanitizer pass sets AFS_TEST_PACKAGES=0.
if [ "${AFS_TEST_PACKAGES:-1}" = 0 ]; then
	diag "the Debian packages: not tested again (AFS_TEST_PACKAGES=0)"
	exit 0			# 1..0: a file skipped whole, even in CI
fi

[ "$(id -u)" = 0 ] || { skip "the Debian packages" "installing them needs root"; exit 0; }
for p in dpkg-buildpackage lintian dh_python3 apt-get; do
	command -v "$p" >/dev/null || { skip "the Debian packages" "$p is missing (make deps)"; exit 0; }
done
installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }
for p in afs python3-agentfense; do
	if installed "$p"; then
		skip "the Debian packages" "$p is installed here already: not replaced by a test"
		exit 0
	fi
done

purge() { apt-get purge -y -q afs python3-agentfense >/dev/null 2>&1 || true; }
trap 'st=$?; purge; _cleanup $st; exit $?' EXIT

run make -C "$TOP" --no-print-directory deb B="$T/b"
status_is "make deb: built, and lintian reports no error or warning" 0
[ "$rc" = 0 ] || diag "$(tail -n 30 "$T/out" "$T/err")"
arch=$(dpkg --print-architecture)
deb=$T/b/afs_0.1.0_${arch}.deb
pydeb=$T/b/python3-agentfense_0.1.0_all.deb
is "the packages: afs_0.1.0_$arch.deb, python3-agentfense_0.1.0_all.deb" "yes yes" \
	"$([ -f "$deb" ] && echo yes) $([ -f "$pydeb" ] && echo yes)"

run dpkg-deb -f "$deb" Depends
for d in bubblewrap fuse3 libfuse3-3 libyaml-0-2 libpcre2-8-0 libcap-ng0 libjansson4 libseccomp2; do
	case ", $(cat "$T/out")" in
	*", $d"*) ok "afs depends on $d" ;;
	*) not_ok "afs depends on $d"; diag "$(cat "$T/out")" ;;
	esac
done
is "afs suggests docker.io" "docker.io, python3-agentfense" "$(dpkg-deb -f "$deb" Suggests)"
is "conffiles: the mounts directory's README and the logrotate file" \
	"/etc/afs/mounts/README /etc/logrotate.d/afs" \
	"$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | tr '\n' ' ' | sed 's/ $//')"

run apt-get install -y -q --no-install-recommends "$deb" "$pydeb"
status_is "apt-get install ./afs*.deb ./python3-agentfense*.deb" 0
[ "$rc" = 0 ] || diag "$(tail -n 20 "$T/out" "$T/err")"
is "installed: afs-fuse, afs-launch, afs-session, afs-audit, afs-proxy, afs-remote in /usr/bin" \
	"/usr/bin/afs-fuse /usr/bin/afs-launch /usr/bin/afs-session /usr/bin/afs-audit /usr/bin/afs-proxy /usr/bin/afs-remote" \
	"$(for p in afs-fuse afs-launch afs-session afs-audit afs-proxy afs-remote; do
		[ -x "/usr/bin/$p" ] && printf '/usr/bin/%s ' "$p"; done | sed 's/ $//')"
is "the presets in /usr/share/afs/policies, found by the installed afs-fuse" \
	"none	/.env" "$(cd / && env -u AFS_POLICY_DIR /usr/bin/afs-fuse --explain -p agent-safe /.env | cut -f1,2)"
is "man pages: afs-fuse(1), afs-policy(5), afs-remote(1)" "yes yes yes" \
	"$([ -f /usr/share/man/man1/afs-fuse.1.gz ] && echo yes) $([ -f /usr/share/man/man5/afs-policy.5.gz ] && echo yes) $([ -f /usr/share/man/man1/afs-remote.1.gz ] && echo yes)"
is "bash completion installed" "yes" "$([ -f /usr/share/bash-completion/completions/afs-launch ] && echo yes)"
is "the systemd template unit is installed, for /usr/bin" "ExecStart=/usr/bin/afs-fuse" \
	"$(grep -o '^ExecStart=/usr/bin/afs-fuse' /lib/systemd/system/afs-fuse@.service)"
is "and enabled for no instance" "" \
	"$(ls /etc/systemd/system/*.wants/ 2>/dev/null | grep afs-fuse)"

run env -i PATH=/usr/bin:/bin /usr/bin/afs-launch --doctor
status_is "the installed afs-launch --doctor: afs can run here" 0
[ "$rc" = 0 ] || diag "$(cat "$T/out" "$T/err")"
is "--doctor names the installed programs" "/usr/bin/afs-fuse /usr/bin/afs-proxy" \
	"$(grep -oE '^OK +afs-(fuse|proxy): /[^ ]*' "$T/out" | awk '{print $3}' | tr '\n' ' ' | sed 's/ $//')"
run env -i PATH=/usr/bin:/bin AFS_BIN_DIR=/usr/bin sh "$TOP/contrib/demo.sh"
status_is "the demo with the installed programs" 0
is "the demo: .env is hidden, the write is in the delta" "yes yes" \
	"$(grep -q 'cat: .env: No such file or directory' "$T/out" && echo yes) $(grep -q $'^  A\t/output/report.txt' "$T/out" && echo yes)"
run sh -c 'cd / && env -i PATH=/usr/bin:/bin /usr/bin/python3 -m agentfense --version'
is "the installed agentfense runs the installed afs" "agentfense 0.1.0 (afs-launch 0.1.0)" "$(cat "$T/out")"
is "afs-remote runs the installed module" "afs-remote 0.1.0 protocol 1" "$(env -i /usr/bin/afs-remote version)"

run apt-get remove -y -q afs python3-agentfense
status_is "apt-get remove" 0
is "removed: the programs and the module are gone" "" \
	"$(ls /usr/bin/afs-* /usr/lib/python3/dist-packages/agentfense /usr/share/afs 2>/dev/null)"
is "removed: the conffiles stay until purge" "yes yes" \
	"$([ -f /etc/afs/mounts/README ] && echo yes) $([ -f /etc/logrotate.d/afs ] && echo yes)"
run apt-get purge -y -q afs python3-agentfense
status_is "apt-get purge" 0
is "purged: nothing of the packages is left" "" \
	"$(ls -d /etc/afs /etc/logrotate.d/afs /usr/bin/afs-* /usr/share/afs /usr/share/doc/afs \
		/usr/lib/python3/dist-packages/agentfense /lib/systemd/system/afs-fuse@.service 2>/dev/null)"
is "purged: dpkg knows neither package" "" \
	"$(dpkg-query -W -f='${db:Status-Status}\n' afs python3-agentfense 2>/dev/null | grep -v '^not-installed$')"
