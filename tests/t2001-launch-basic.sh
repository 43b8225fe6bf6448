#!/bin/bash
# afs-launch with bwrap: output and exit statuses, the environment, what the
# sandbox can see and do, --json, the exec audit record, usage errors.
. "$(dirname "$0")/lib.sh"

# The sandbox runs as uid 65534 when we are root: it must reach -m dirs.
chmod 0711 "$T"
one=$T/one
mkdir -p "$one"
printf 'test content\n' >"$one/test.txt"
chmod -R a+rX "$one"

proj=$T/proj
mkdir -p "$proj/src" "$proj/output"
printf 'print(1)\n' >"$proj/src/main.py"
printf 'API_KEY=secret\n' >"$proj/.env"
printf 'k\n' >"$proj/id_rsa"
printf 'readme\n' >"$proj/README.md"

# ---- output and exit statuses ------------------------------------------
run afs-launch -m "$one" -- echo hello
status_is "echo hello: exit 0" 0
is "echo hello: exactly hello\\n" "68656c6c6f0a" "$(od -An -tx1 "$T/out" | tr -d ' \n')"
is "echo hello: nothing on stderr" "" "$(cat "$T/err")"

run afs-launch -m "$one" -- cat test.txt
is "cat test.txt in /workspace" "test content" "$(cat "$T/out")"
run afs-launch -m "$one" -- ls -1
is "ls -1 on a one-file codebase" "test.txt" "$(cat "$T/out")"

run afs-launch -m "$one" -c 'exit 42'
status_is "-c 'exit 42': 42" 42
run afs-launch -m "$one" -c 'echo "$0:$1:$2"' zero one two
is "-c STRING ARG0 ARG...: as sh -c" "zero:one:two" "$(cat "$T/out")"
run afs-launch -m "$one" -- no-such-command
status_is "command not found: 127" 127
is "command not found: one line on stderr" \
	"afs-launch: cannot run 'no-such-command': No such file or directory" "$(cat "$T/err")"
run afs-launch -m "$one" -- /workspace/test.txt
status_is "command not executable: 126" 126
run afs-launch -m "$one" -c 'kill -SEGV $$'
is "command killed by SIGSEGV: 139" 139 "$rc"
run afs-launch -m "$one" -- sh -c 'exit 137'
is "a plain exit 137 is 137" 137 "$rc"
out=$(printf 'in\0put' | afs-launch -m "$one" -- od -An -c | tr -s ' ')
is "stdin passes through" " i n \\0 p u t" "$out"

# ---- environment ---------------------------------------------------------
run env -i PATH="$PATH" LANG=C.UTF-8 TERM=dumb SECRET_TOKEN=s3cr3t BAR=baz \
	afs-launch -m "$one" -e FOO=bar -e BAR -e UNSET_VAR -e 'SP=a b=c' -- /usr/bin/env
is "environment: exactly PATH HOME LANG TERM and -e" \
	"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
HOME=/home/sandbox
LANG=C.UTF-8
TERM=dumb
FOO=bar
BAR=baz
SP=a b=c" "$(cat "$T/out")"
run env SECRET_TOKEN=s3cr3t afs-launch -m "$one" -- /usr/bin/env
if grep -q SECRET_TOKEN "$T/out"; then not_ok "host variable does not leak"; else ok "host variable does not leak"; fi
run afs-launch -m "$one" -e PATH=/bin -- /usr/bin/printenv PATH
is "-e overrides PATH" "/bin" "$(cat "$T/out")"
run afs-launch -m "$one" -- sh -c 'cd && pwd && touch x && ls -ld . | cut -c1-10'
is "HOME exists, private and writable" "/home/sandbox
drwx------" "$(cat "$T/out")"

# ---- isolation ---------------------------------------------------------------
run afs-launch -m "$one" -- id -u
is "uid inside is not 0 (65534 when started by root)" 65534 "$(cat "$T/out")"
run afs-launch -m "$one" --uid 1000 --gid 1000 -- id
is "--uid/--gid" "uid=1000(sandbox) gid=1000(sandbox) groups=1000(sandbox)" "$(cat "$T/out")"
run afs-launch -m "$one" --uid 0 -- true
status_is "--uid 0 refused" 125
run afs-launch -m "$one" -- sh -c 'grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" /proc/self/status | tr -s "\t" " "'
is "no capabilities in any set, no_new_privs" "CapInh: 0000000000000000
CapPrm: 0000000000000000
CapEff: 0000000000000000
CapBnd: 0000000000000000
CapAmb: 0000000000000000
NoNewPrivs: 1" "$(cat "$T/out")"
run afs-launch -m "$one" -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "no network: loopback only" "lo" "$(cat "$T/out")"
run afs-launch -m "$one" -- bash -c 'echo x >/dev/tcp/1.1.1.1/53'
if [ "$rc" -ne 0 ] && grep -q 'Network is unreachable' "$T/err"; then
	ok "no network: connect fails with ENETUNREACH"
else
	not_ok "no network: connect fails with ENETUNREACH"; diag "rc=$rc $(cat "$T/err")"
fi
run afs-launch -m "$one" --net -- sh -c 'tail -n +3 /proc/net/dev | wc -l'
if [ "$(cat "$T/out")" -gt 1 ] 2>/dev/null; then ok "--net: host interfaces visible"; else not_ok "--net: host interfaces visible"; diag "$(cat "$T/out")"; fi
run afs-launch -m "$one" -- sh -c 'ls -A /etc | tr "\n" " "'
# The allowlist of afs-launch(1) THE SANDBOX: what the host has of it.
etc_want="group hosts passwd mtab"
for f in alternatives ca-certificates ca-certificates.conf ssl pki debian_version os-release \
	fonts gai.conf host.conf nsswitch.conf resolv.conf gitconfig inputrc ld.so.cache \
	ld.so.conf ld.so.conf.d localtime timezone magic magic.mime mime.types mailcap \
	networks protocols rpc services perl python3 shells terminfo vim xattr.conf; do
	[ -e "/etc/$f" ] && etc_want="$etc_want $f"
done
for f in /etc/python3.[0-9]*; do [ -e "$f" ] && etc_want="$etc_want ${f#/etc/}"; done
is "/etc: the allowlist, nothing more" "$(echo $etc_want | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')" \
	"$(tr ' ' '\n' <"$T/out" | LC_ALL=C sort | grep . | tr '\n' ' ')"
run afs-launch -m "$one" -- sh -c 'ls -A /etc/ssl; readlink /etc/localtime; readlink /etc/mtab'
is "/etc/ssl: the certificates, not the private keys; localtime and mtab are links" \
	"$(ls -A /etc/ssl | grep -v '^private$'; readlink /etc/localtime; echo ../proc/self/mounts)" "$(cat "$T/out")"
run afs-launch -m "$one" -- sh -c 'for f in shadow gshadow sudoers machine-id subuid ssh ssl/private npmrc pip.conf environment; do [ -e /etc/$f ] && echo $f; done; :'
is "/etc: no shadow, gshadow, sudoers, machine-id, subuid, ssh, ssl/private, npmrc, pip.conf, environment" "" "$(cat "$T/out")"
run afs-launch -m "$one" -- sh -c 'cc --version >/dev/null && awk "BEGIN { print 1 }" && which sh && date +%Z'
is "/etc/alternatives: cc, awk and which run; the time zone is the host's" \
	"$(printf '1\n/usr/bin/sh\n%s' "$(date +%Z)")" "$(cat "$T/out")"
for e in shadow gshadow sudoers sudoers.d machine-id ssh ssh/ssh_host_rsa_key ssl ssl/private \
	security/opasswd passwd group hosts subuid; do
	run afs-launch -m "$one" --etc "$e" -- true
	is "--etc $e: refused (125), with the reason" \
		"125 afs-launch: --etc '$e': never given to a sandbox (see afs-launch(1))" "$rc $(cat "$T/err")"
done
ln -s shadow "/etc/afs-test-link.$$"
run afs-launch -m "$one" --etc "afs-test-link.$$" -- true
rm -f "/etc/afs-test-link.$$"
is "--etc NAME of a link to shadow: refused" \
	"125 afs-launch: --etc 'afs-test-link.$$': never given to a sandbox (see afs-launch(1))" "$rc $(cat "$T/err")"
ln -s / "/etc/afs-test-root.$$"
run afs-launch -m "$one" --etc "afs-test-root.$$" -- true
rm -f "/etc/afs-test-root.$$"
is "--etc NAME of a link out of /etc (to /, which holds the codebase): refused" \
	"125 afs-launch: --etc 'afs-test-root.$$': leads out of /etc (to '/')" "$rc $(cat "$T/err")"
run afs-launch -m "$one" --etc mtab -- true
is "--etc mtab: refused, afs-launch makes it" \
	"125 afs-launch: --etc 'mtab': afs-launch makes it (a link to /proc/self/mounts)" "$rc $(cat "$T/err")"
run afs-launch -m "$one" --etc localtime --etc alternatives/cc -- sh -c 'readlink /etc/localtime >/dev/null && echo fine'
is "--etc of what the list binds already: no harm" "0 fine" "$rc $(cat "$T/out")"
echo dots >"/etc/afs-test..$$"
run afs-launch -m "$one" --etc "afs-test..$$" -- cat "/etc/afs-test..$$"
rm -f "/etc/afs-test..$$"
is "--etc of a name with two dots that is no '..': bound" "0 dots" "$rc $(cat "$T/out")"
for e in ../etc/shadow /etc/shadow "" . a/../shadow; do
	run afs-launch -m "$one" --etc "$e" -- true
	is "--etc '$e': a usage error (125)" "125 afs-launch: bad --etc: '$e' (a name relative to /etc)" "$rc $(cat "$T/err")"
done
run afs-launch -m "$one" --etc no-such-file -- true
is "--etc of a missing file: 125, named" \
	"125 afs-launch: --etc 'no-such-file': cannot use '/etc/no-such-file': No such file or directory" \
	"$rc $(cat "$T/err")"
echo "afs test $$" >"/etc/afs-test-etc.$$"
run afs-launch -m "$one" --etc "afs-test-etc.$$" -- sh -c "cat /etc/afs-test-etc.$$; echo x >/etc/afs-test-etc.$$"
rm -f "/etc/afs-test-etc.$$"
is "--etc NAME binds the host's file, read-only (sh: 2 for the refused redirection)" "2 afs test $$" "$rc $(cat "$T/out")"
run afs-launch -m "$one" -- cat /etc/shadow
status_is "/etc/shadow is not there" 1
run afs-launch -m "$one" -- sh -c 'ls -A / | tr "\n" " "'
root_want="dev etc home proc tmp usr workspace"
for d in bin sbin lib lib32 lib64 libx32; do
	[ -e "/$d" ] && root_want="$root_want $d"
done
is "/: the system dirs, /etc, /home, /tmp, /dev, /proc, /workspace only" \
	"$(echo $root_want | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')" \
	"$(tr ' ' '\n' <"$T/out" | LC_ALL=C sort | grep . | tr '\n' ' ')"
run afs-launch -m "$one" -- touch /usr/x
status_is "/usr is read-only" 1
run afs-launch -m "$one" -- touch /newfile
status_is "the root is read-only" 1
run afs-launch -m "$one" -- sh -c 'echo tmp >/tmp/f && cat /tmp/f'
is "/tmp is private and writable" "tmp" "$(cat "$T/out")"
run afs-launch -m "$one" -- ps -e -o pid=,args=
is "pid namespace: the shim as pid 1, and the command" "1 /proc/self/fd/N --afs-shim
2 ps -e -o pid=,args=" "$(sed 's/^ *//; s|fd/[0-9]*|fd/N|; s/ exec-fd.*//' "$T/out")"
run afs-launch -m "$one" -- sh -c 'ls -l /proc/1/exe 2>&1 >/dev/null; cat /proc/1/environ >/dev/null 2>&1 || echo denied'
is "pid 1 (afs-launch's shim) cannot be inspected" "denied" "$(tail -n 1 "$T/out")"
run afs-launch -m "$one" -- sh -c 'ls /proc/self/fd | tr "\n" " "'
is "no fd of afs-launch leaks into the command" "0 1 2 3 " "$(cat "$T/out")"
run afs-launch -m "$one" -- hostname
is "uts namespace: hostname afs" "afs" "$(cat "$T/out")"
start=$(date +%s%N)
run afs-launch -m "$one" -c 'sleep 60 & echo started'
el=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$(cat "$T/out")" = started ] && [ "$el" -lt 3000 ]; then
	ok "a background job does not hold the run"
else
	not_ok "a background job does not hold the run"; diag "out=$(cat "$T/out") ${el}ms"
fi
if pgrep -u 65534 -x sleep >/dev/null; then not_ok "the background job is gone"; else ok "the background job is gone"; fi

# ---- a codebase mounted through afs-fuse for the run --------------------------
cat >"$T/pol.yaml" <<'EOF'
version: 1
rules:
  - pattern: "**"
    permission: read
  - pattern: /.env
    permission: none
  - pattern: /id_rsa
    permission: none
  - pattern: /README.md
    permission: view
  - pattern: /output/**
    permission: write
EOF
run afs-launch -s "$proj" -p "$T/pol.yaml" -- ls -A
is "-s: hidden files absent from the listing" "README.md
output
src" "$(cat "$T/out")"
run afs-launch -s "$proj" -p "$T/pol.yaml" -- cat .env
status_is "-s: a hidden file cannot be read" 1
is "-s: ... and does not exist" "cat: .env: No such file or directory" "$(cat "$T/err")"
run afs-launch -s "$proj" -p "$T/pol.yaml" -- cat README.md
is "-s: a view file: Permission denied" "cat: README.md: Permission denied" "$(cat "$T/err")"
run afs-launch -s "$proj" -p "$T/pol.yaml" -c 'echo x >src/main.py'
is "-s: a read file cannot be written" "2 /bin/sh: 1: cannot create src/main.py: Permission denied" "$rc $(cat "$T/err")"
run afs-launch -s "$proj" -p "$T/pol.yaml" -d "$T/delta" -c 'echo result >output/r.txt && cat output/r.txt'
is "-s -d: a write lands" "0 result" "$rc $(cat "$T/out")"
is "-s -d: ... in the delta" "result" "$(cat "$T/delta/output/r.txt" 2>&1)"
if [ -e "$proj/output/r.txt" ]; then not_ok "-s -d: the source is untouched"; else ok "-s -d: the source is untouched"; fi
run afs-launch -s "$proj" -p "$T/pol.yaml" -w src -- pwd
is "-w relative to /workspace" "/workspace/src" "$(cat "$T/out")"
run afs-launch -s "$T/nonexistent" -p "$T/pol.yaml" -- true
status_is "-s with a missing source: 125" 125
is "-s with a missing source: the message" \
	"afs-launch: cannot use source '$T/nonexistent': No such file or directory" "$(cat "$T/err")"
printf 'rules: [\n' >"$T/bad.yaml"
run afs-launch -s "$proj" -p "$T/bad.yaml" -- true
status_is "-s with a broken policy: 125" 125
if grep -q "afs-fuse could not mount" "$T/err" && grep -q "bad.yaml:" "$T/err"; then
	ok "-s with a broken policy: afs-fuse's message, then ours"
else
	not_ok "-s with a broken policy: afs-fuse's message, then ours"; diag "$(cat "$T/err")"
fi

# ---- --json ------------------------------------------------------------------
run afs-launch -m "$one" --json -c 'printf "a\000b\377\n\"\\\\\t"; printf "e\n" >&2; exit 3'
status_is "--json: the exit status stays the command's" 3
is "--json: one object, exact bytes escaped" \
	'{"exit_code":3,"signal":null,"timed_out":false,"limit":null,"duration_ms":D,"stdout":"a\u0000b\u00ff\n\"\\\t","stderr":"e\n"}' \
	"$(sed 's/"duration_ms":[0-9]*/"duration_ms":D/' "$T/out")"
run afs-launch -m "$one" --json --max-output 10 -c 'head -c 100000 /dev/zero | tr "\0" x; echo err >&2'
is "--max-output: the first bytes and a marker" \
	"$(printf 'xxxxxxxxxx\n[afs-launch: output truncated: 99990 bytes dropped]\n' | od -An -c)" \
	"$(jq -j .stdout "$T/out" | od -An -c)"
is "--max-output: the other stream whole" "err" "$(jq -r .stderr "$T/out")"
run afs-launch -m "$one" --json -c 'kill -KILL $$'
is "--json: a signal by name" "137 SIGKILL false" "$(jq -r '"\(.exit_code) \(.signal) \(.timed_out)"' "$T/out")"
run afs-launch -m "$one" --json -- no-such-command
is "--json: not found is 127" "127" "$(jq -r .exit_code "$T/out")"

# ---- the exec audit record -------------------------------------------------
run env AFS_SESSION=s1 afs-launch -s "$proj" -p "$T/pol.yaml" -a "$T/audit.log" --name demo \
	-c 'cat .env; exit 7'
status_is "-a: exit status 7" 7
rec=$(grep '"op":"exec"' "$T/audit.log")
is "-a: one exec record" 1 "$(printf '%s\n' "$rec" | grep -c .)"
is "-a: its fields" 'demo s1 afs-launch ["/bin/sh","-c","cat .env; exit 7"] 7 true' \
	"$(printf '%s' "$rec" | jq -rc '"\(.mount) \(.session) \(.comm) \(.argv) \(.exit) \(.duration_ms >= 0)"')"
is "-a: field order of the schema" 'v ts mount session pid uid comm op argv exit duration_ms' \
	"$(printf '%s' "$rec" | jq -r 'keys_unsorted | join(" ")')"
if grep -q '"op":"lookup","path":"/.env","decision":"hide"' "$T/audit.log"; then ok "-a: afs-fuse's records in the same log"; else not_ok "-a: afs-fuse's records in the same log"; fi
run afs-launch -m "$one" -a "$T/audit2.log" -t 0.2 -- sleep 5
is "-a: a timed-out exec record" '124 "SIGTERM"' "$(jq -r '"\(.exit) \(.signal|tojson)"' "$T/audit2.log")"

# ---- usage errors: 125 and one line ------------------------------------------
usage_err() {
	local desc=$1 msg=$2
	shift 2
	run afs-launch "$@"
	if [ "$rc" = 125 ] && [ "$(cat "$T/err")" = "afs-launch: $msg" ] && [ ! -s "$T/out" ]; then
		ok "usage: $desc"
	else
		not_ok "usage: $desc"; diag "rc=$rc" "$(cat "$T/err")"
	fi
}
usage_err "no workspace" "give one workspace: -m DIR or -s DIR" -- true
usage_err "two workspaces" "give one workspace: -m DIR or -s DIR" -m "$one" -s "$one" true
usage_err "--policy with -m" "--policy needs -s (with -m the mount is already made)" -m "$one" -p x true
usage_err "no command" "no command (give COMMAND [ARG...] or -c STRING)" -m "$one"
usage_err "bad --memory" "bad --memory: '12Q' (a size such as 512K, 64M or 2G)" -m "$one" --memory 12Q true
usage_err "--memory 0" "bad --memory: '0' (a size such as 512K, 64M or 2G)" -m "$one" --memory 0 true
usage_err "bad --pids" "bad --pids: '-1' (a whole number from 1 to 4194304)" -m "$one" --pids -1 true
usage_err "bad --timeout" "bad --timeout: 'soon' (seconds, such as 10, 1.5 or 2m)" -m "$one" -t soon true
usage_err "bad --cpus" "bad --cpus: '0' (a number of CPUs from 0.001 to 1024)" -m "$one" --cpus 0 true
usage_err "bad --runtime" "bad --runtime: 'lxc' (bwrap or docker)" -m "$one" --runtime lxc true
usage_err "docker without --image" "--runtime docker needs --image IMAGE" -m "$one" --runtime docker true
usage_err "--image without docker" "--image needs --runtime docker" -m "$one" --image x true
usage_err "bad -e" "bad --env: '=x' (K=V or K)" -m "$one" -e =x true
usage_err "-m on a file" "cannot use '$one/test.txt': Not a directory" -m "$one/test.txt" true
run afs-launch --bogus
is "unknown option: 125 and the usage" "125 yes" "$rc $(grep -q '^usage: afs-launch' "$T/err" && echo yes)"
run afs-launch --help
is "--help: 0, usage on stdout" "0 yes" "$rc $(grep -q '^usage: afs-launch' "$T/out" && echo yes)"
run afs-launch --version
is "--version" "0 afs-launch 0.1.0" "$rc $(cat "$T/out")"

# Nothing of any run above is left behind.
is "no afs-launch temp dir left" "" "$(ls /tmp | grep '^afs-launch\.' || true)"
is "no afs mount left" "" "$(grep ' fuse.afs ' /proc/mounts | grep afs-launch || true)"

# ---- --doctor ------------------------------------------------------------------
run afs-launch --doctor
is "--doctor: everything needed is here (root, CI's packages)" 0 "$rc"
for what in /dev/fuse openat2 afs-fuse bwrap "unprivileged user namespaces" "a sandbox"; do
	if grep -q "^OK    $what: " "$T/out"; then ok "--doctor: OK $what"; else not_ok "--doctor: OK $what"; diag "$(cat "$T/out")"; fi
done
is "--doctor: the last line" "afs can run here" "$(tail -n 1 "$T/out")"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$T/dbin" && cp "$B/afs-launch" "$B/afs-fuse" "$T/dbin/" && chmod 0755 "$T/dbin"
	run setpriv --reuid=4321 --regid=4321 --clear-groups "$T/dbin/afs-launch" --doctor
	if [ "$(stat -c %a /dev/fuse)" = 600 ]; then
		is "--doctor as an ordinary user, /dev/fuse 0600: FAIL and exit 1" "1 yes" \
			"$rc $(grep -q '^FAIL  /dev/fuse: mode 0600, Permission denied -- ' "$T/out" && echo yes)"
	else
		is "--doctor as an ordinary user" 0 "$rc"
	fi
else
	skip "--doctor as an ordinary user" "not root"
fi
