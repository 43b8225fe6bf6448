#!/bin/bash
# The contrib files: the systemd unit verifies, the logrotate snippet
# parses, bash completion loads and completes preset names.
. "$(dirname "$0")/lib.sh"

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	sed "s|/usr/local/bin/afs-fuse|$B/afs-fuse|g" "$TOP/contrib/systemd/afs-fuse@.service" \
		>"$T/units/afs-fuse@.service"
	ln -s afs-fuse@.service "$T/units/afs-fuse@demo.service"
	run systemd-analyze verify --man=no "$T/units/afs-fuse@demo.service"
	status_is "systemd-analyze verify afs-fuse@demo.service" 0
	is "systemd-analyze verify: no complaint" "" "$(grep -v 'ConditionPathExists\|^$' "$T/err")"
else
	skip "systemd-analyze verify" "systemd-analyze missing"
fi

if command -v logrotate >/dev/null; then
	run logrotate -d "$TOP/contrib/logrotate/afs"
	status_is "logrotate parses contrib/logrotate/afs" 0
else
	skip "logrotate -d" "logrotate missing"
fi

got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-fuse -p agent); COMP_CWORD=2; _afs_fuse; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: preset names after -p" "agent-safe" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-audit --format t); COMP_CWORD=2; _afs_audit; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-audit --format" "text
tsv" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-fuse --exp); COMP_CWORD=1; _afs_fuse; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-fuse options" "--explain
--explain-host" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-launch --allow); COMP_CWORD=1; _afs_launch; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-launch --allow-host" "--allow-host" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-proxy --max); COMP_CWORD=1; _afs_proxy; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-proxy options" "--max-connections
--max-bytes" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-launch --runtime d); COMP_CWORD=2; _afs_launch; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-launch --runtime" "docker" "$got"
got=$(bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-launch --kill); COMP_CWORD=1; _afs_launch; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-launch options" "--kill-after" "$got"
mkdir -m 0700 "$T/rt" && mkdir "$T/rt/mysession"
got=$(AFS_RUNTIME_DIR=$T/rt bash -c '. "$1/contrib/bash-completion/afs"
	COMP_WORDS=(afs-session exec my); COMP_CWORD=2; _afs_session; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP")
is "bash completion: afs-session session names" "mysession" "$got"

# make install into a DESTDIR, and the installed programs run from there.
run make -C "$TOP" install DESTDIR="$T/root" PREFIX=/usr/local
status_is "make install DESTDIR=... exits 0" 0
for f in usr/local/bin/afs-fuse usr/local/bin/afs-audit usr/local/bin/afs-launch \
	usr/local/bin/afs-session usr/local/share/man/man1/afs-session.1 \
	usr/local/share/bash-completion/completions/afs-session \
	usr/local/share/afs/policies/agent-safe.yaml usr/local/share/man/man1/afs-launch.1 \
	usr/local/share/man/man1/afs-fuse.1 usr/local/share/man/man1/afs-audit.1 \
	usr/local/share/bash-completion/completions/afs-launch \
	usr/local/share/man/man5/afs-policy.5 usr/local/lib/systemd/system/afs-fuse@.service \
	usr/local/share/bash-completion/completions/afs-fuse etc/logrotate.d/afs \
	usr/local/bin/afs-proxy usr/local/share/man/man1/afs-proxy.1 \
	usr/local/share/bash-completion/completions/afs-proxy \
	usr/local/bin/afs-remote usr/local/share/man/man1/afs-remote.1; do
	if [ -e "$T/root/$f" ]; then ok "installed: /$f"; else not_ok "installed: /$f"; fi
done
is "installed programs are 0755, nothing setuid" "755 755 755" \
	"$(stat -c %a "$T/root/usr/local/bin/afs-fuse" "$T/root/usr/local/bin/afs-audit" \
		"$T/root/usr/local/bin/afs-launch" | tr '\n' ' ' | sed 's/ $//')"
mkdir -p "$T/proj"
echo hi >"$T/proj/f"
py=$(ls -d "$T"/root/usr/local/lib/python3*/dist-packages 2>/dev/null | head -n 1)
is "the installed afs-remote runs the installed module (PYTHONDIR, not the tree)" \
	"sys.path.insert(0, \"${py#"$T/root"}\")" "$(grep '^sys.path.insert' "$T/root/usr/local/bin/afs-remote")"
is "the installed afs-remote: its module's code is there" "yes" \
	"$([ -f "$py/agentfense/_serve.py" ] && [ -f "$py/agentfense/_remote.py" ] && echo yes)"
is "the agentfense module is installed and runs the installed afs" "agentfense 0.1.0 (afs-launch 0.1.0)" \
	"$(cd / && PYTHONPATH=$py AFS_BIN_DIR=$T/root/usr/local/bin /usr/bin/python3 -m agentfense --version 2>&1)"
if python3 -m pip --version >/dev/null 2>&1; then
	run python3 -m pip install -q --no-index --target "$T/pip" "$TOP/contrib/python"
	is "pip install ./contrib/python, with no index: a wheel of the module" "0 yes" \
		"$rc $([ -f "$T/pip/agentfense/sandbox.py" ] && [ -d "$T/pip/agentfense-0.1.0.dist-info" ] && echo yes)"
else
	skip "pip install ./contrib/python" "no pip for python3"
fi
is "the installed afs-launch finds the installed afs-fuse and its presets" "hi" \
	"$(PATH=/usr/bin:/bin "$T/root/usr/local/bin/afs-launch" -s "$T/proj" -p agent-safe -- cat f 2>&1)"
is "the installed afs-fuse finds its presets" "none" \
	"$("$T/root/usr/local/bin/afs-fuse" --explain -p agent-safe /.env | cut -f1)"
is "the installed unit runs the installed binary" 1 \
	"$(grep -c '^ExecStart=/usr/local/bin/afs-fuse ' "$T/root/usr/local/lib/systemd/system/afs-fuse@.service")"
run make -C "$TOP" uninstall DESTDIR="$T/root" PREFIX=/usr/local
is "make uninstall removes every file" "" "$(find "$T/root" -type f -o -type l)"
