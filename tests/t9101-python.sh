#!/bin/bash
# The Python SDK (contrib/python/agentfense) under pytest (tests/python):
# one TAP line per pytest result; then nothing of the tests left behind:
# no afs mount, no process of the sandbox's uid, no afs-launch, afs-fuse or
# afs-session process.  The docker tests run in a local python:3.11-slim
# image (tests/python/mkimage.sh), and are skipped when docker is missing.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import pytest' 2>/dev/null; then
	skip "python SDK tests" "python3-pytest is missing (make deps)"
	exit 0
fi
# The async API's tests (@pytest.mark.asyncio, as the reference SDK's own).
if ! "$PY" -c 'import pytest_asyncio' 2>/dev/null; then
	skip "python SDK tests" "python3-pytest-asyncio is missing (make deps)"
	exit 0
fi

# The afs processes that the tests started carry AFS_PYTEST_MARK (conftest.py)
# in their environment; those of other runs on this machine do not.
afs_procs() {
	local p
	for p in $(pgrep -x afs-launch; pgrep -x afs-fuse; pgrep -x afs-session); do
		{ tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -q '^AFS_PYTEST_MARK=' && echo "$p"
	done | sort
}
uid_procs() { pgrep -u 65534 | sort; }
mounts_before=$(grep ' fuse.afs ' /proc/mounts | sort)
uid_before=$(uid_procs)
afs_before=$(afs_procs)

docker=0
if docker_up; then
	if sh "$TOP/tests/python/mkimage.sh" >"$T/mkimage.log" 2>&1; then
		ok "mkimage.sh: the python:3.11-slim image"
		docker=1
	else
		not_ok "mkimage.sh: the python:3.11-slim image"
		diag "$(tail -n 20 "$T/mkimage.log")"
	fi
else
	diag "no dockerd (docker.io or busybox-static missing, or dockerd would not start):" \
		"the docker tests are skipped"
fi

fuse_mode=$(stat -c %a /dev/fuse 2>/dev/null)
(
	cd "$TOP" &&
		COLUMNS=250 AFS_TEST_DOCKER=$docker PYTHONPATH="$TOP/contrib/python${PYTHONPATH:+:$PYTHONPATH}" \
			timeout -k 10 900 "$PY" -m pytest -rA -p no:cacheprovider --basetemp="$T/pytest" \
			tests/python
) >"$T/pytest.out" 2>&1
st=$?

# What tests/python/sshd.py makes for the ssh:// tests (a user, its sshd
# and sessions, its mounts, /dev/fuse's mode): gone even when pytest was
# killed before its own clean-up ran.
left=
if id -u afsremote >/dev/null 2>&1; then
	left="the user afsremote"
	pkill -KILL -f '^/usr/sbin/sshd -D -e -f /tmp/afs-remote-' 2>/dev/null
	pkill -KILL -f '^sshd: afsremote' 2>/dev/null
	pkill -KILL -u afsremote 2>/dev/null
	sleep 0.5
	grep " user_id=$(id -u afsremote)," /proc/self/mountinfo 2>/dev/null | awk '{print $5}' |
		while read -r m; do umount -l "$m"; done
	userdel afsremote 2>/dev/null
	groupdel afsremote 2>/dev/null
fi
if [ -n "$fuse_mode" ] && [ "$(stat -c %a /dev/fuse)" != "$fuse_mode" ]; then
	left="$left, /dev/fuse mode $(stat -c %a /dev/fuse)"
	chmod "$fuse_mode" /dev/fuse
fi
is "the ssh:// tests left no user, sshd or /dev/fuse mode behind" "" "$left"

# The short test summary: "PASSED nodeid", "FAILED nodeid - why",
# "ERROR nodeid - why" (a teardown's error comes besides its test's PASSED),
# "SKIPPED [N] file:line: why" (N tests folded into one line).
results=0
bad=0
summary=$(sed -n '/short test summary info/,$p' "$T/pytest.out")
while IFS= read -r line; do
	case $line in
	"PASSED "*)
		results=$((results + 1))
		ok "${line#PASSED }"
		;;
	"FAILED "* | "ERROR "* | "XPASS "*)
		results=$((results + 1))
		bad=$((bad + 1))
		what=${line%% *}
		rest=${line#* }
		case $what in
		FAILED) not_ok "${rest%% - *}" ;;
		ERROR) not_ok "${rest%% - *} (error in a fixture: set-up or clean-up)" ;;
		*) not_ok "${rest%% - *} (passed, but was expected to fail)" ;;
		esac
		[ "$rest" = "${rest#* - }" ] || diag "${rest#* - }"
		;;
	"XFAIL "*)
		# No test of this suite is marked to fail: one that is would
		# be a claim not checked.
		results=$((results + 1))
		not_ok "${line#XFAIL } (marked xfail: not a pass)"
		;;
	"SKIPPED "*)
		rest=${line#SKIPPED }
		count=1
		case $rest in
		"["*"] "*)
			count=${rest%%]*}
			count=${count#[}
			rest=${rest#*] }
			;;
		esac
		where=${rest%%: *}
		why=${rest#*: }
		i=0
		while [ "$i" -lt "$count" ]; do
			results=$((results + 1))
			skip "$where" "$why"
			i=$((i + 1))
		done
		;;
	esac
done <<<"$summary"

if [ "$st" -ne 0 ] && [ "$st" -ne 1 ]; then
	not_ok "pytest exited with status $st"
	diag "$(tail -n 40 "$T/pytest.out")"
elif [ "$st" -eq 1 ] && [ "$bad" -eq 0 ]; then
	not_ok "pytest exited with status 1 and no failure was reported"
	diag "$(tail -n 40 "$T/pytest.out")"
fi
if [ "$results" -eq 0 ]; then
	not_ok "pytest ran no test"
	diag "$(tail -n 40 "$T/pytest.out")"
fi
if [ "$bad" -gt 0 ]; then
	diag "$(sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,/^=* \(PASSES\|short test summary info\) =*$/p' \
		"$T/pytest.out" | head -n 300)"
	# The reasons once more, last: a CI log shown by its tail keeps them.
	diag "pytest's reasons:" "$(printf '%s\n' "$summary" | grep -E '^(FAILED|ERROR|XPASS) ')"
fi

# Nothing left behind (a clean-up may take a moment to finish).
i=0
while :; do
	mounts_after=$(grep ' fuse.afs ' /proc/mounts | sort)
	new_mounts=$(comm -13 <(printf '%s\n' "$mounts_before") <(printf '%s\n' "$mounts_after") | grep .)
	new_uid=$(comm -13 <(printf '%s\n' "$uid_before") <(uid_procs) | grep .)
	new_afs=$(comm -13 <(printf '%s\n' "$afs_before") <(afs_procs) | grep .)
	[ -z "$new_mounts$new_uid$new_afs" ] || [ $i -ge 50 ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$new_mounts" ]; then
	ok "no afs mount left"
else
	not_ok "no afs mount left"
	diag "$new_mounts"
fi
if [ -z "$new_uid" ]; then
	ok "no process of uid 65534 left"
else
	not_ok "no process of uid 65534 left"
	diag "$(ps -o pid,user,args -p "$(echo $new_uid | tr ' ' ,)" 2>/dev/null)"
fi
if [ -z "$new_afs" ]; then
	ok "no afs-launch, afs-fuse or afs-session process left"
else
	not_ok "no afs-launch, afs-fuse or afs-session process left"
	diag "$(ps -o pid,args -p "$(echo $new_afs | tr ' ' ,)" 2>/dev/null)"
fi
