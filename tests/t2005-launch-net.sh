#!/bin/bash
# afs-launch with a network allowlist (afs-launch(1) NETWORK, afs-proxy(1)):
# an allowed host reached through the proxy (curl over http, https through
# CONNECT and SOCKS5; python's urllib), a refused one answered 403, no way
# around the proxy (direct connections, DNS), the environment, the connect
# records, a policy's network: section, the usage errors, afs-session, and
# no afs-proxy left behind however afs-launch ends.  Every request is first
# made on the host directly: the control that the server answers.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$B/afs-proxy" ]; then
	not_ok "afs-proxy is built ($B/afs-proxy)"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	skip "afs-launch with an allowlist" "written for root (the sandbox as uid 65534, afs-proxy --user)"
	exit 0
fi
# The sandbox runs as uid 65534 (we are root): it must reach $ws.
chmod 0711 "$T"
ws=$T/ws
mkdir -p "$ws"


openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=web.test \
	-addext subjectAltName=DNS:web.test,IP:127.0.0.1 -days 1 \
	-keyout "$T/key.pem" -out "$ws/cert.pem" 2>"$T/openssl.err" ||
	{ diag "openssl req failed:" "$(cat "$T/openssl.err")"; exit 1; }
chmod -R a+rX "$ws"
netserv http h --log "$T/h.log"
netserv http s --tls "$ws/cert.pem" "$T/key.pem" --log "$T/s.log"
netserv echo e --log "$T/e.log"
H=$h_port S=$s_port E=$e_port
HELLO="hello from netserv"
# The exact answer of /hello: its head, then 19 bytes.
ANSWER=$(printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nhello from netserv\n' | wc -c)

# ---- the control: the servers answer on the host -----------------------------
run curl -sS --noproxy '*' "http://127.0.0.1:$H/hello"
is "control: http on the host" "0 $HELLO" "$rc $(cat "$T/out")"
run curl -sS --noproxy '*' --cacert "$ws/cert.pem" --resolve "web.test:$S:127.0.0.1" "https://web.test:$S/hello"
is "control: https on the host, the certificate names web.test" "0 $HELLO" "$rc $(cat "$T/out")"

# Names are the proxy's to resolve: web.test is 127.0.0.1 for afs-proxy
# alone (AFS_PROXY_RESOLVE, for tests), and a loopback address must be
# named by a rule of its own.
export AFS_PROXY_RESOLVE="web.test=127.0.0.1"
NAME=net-$$
ALLOW=(--allow-host "web.test:$H,$S" --allow-host "127.0.0.1:$H,$S")
L() { afs-launch -m "$ws" --name "$NAME" "${ALLOW[@]}" "$@"; }
# ours: the afs-proxy processes started for --name $NAME (or --session).
ours() { pgrep -f "^afs-proxy .*--${2:-name} $1( |\$)" | wc -l; }

# ---- allowed -------------------------------------------------------------------
run L -a "$T/a1.log" -- curl -sS "http://web.test:$H/hello"
is "curl http:// to an allowed host:port, through HTTP_PROXY" "0 $HELLO" "$rc $(cat "$T/out")"
is "... nothing on stderr" "" "$(cat "$T/err")"
rec=$(grep '"op":"connect"' "$T/a1.log")
headlen=$(tail -n 1 "$T/h.log" | awk '{print $3}')
is "its connect record: exact fields" \
	"$NAME connect http web.test $H 127.0.0.1 allow null --allow-host null $headlen $ANSWER null curl true" \
	"$(printf '%s' "$rec" | jq -r '[.mount, .op, .proto, .host, .port, .addr, .decision, .errno, .rule, .reason, .bytes_out, .bytes_in, .limit, .comm, (.pid > 1)] | map(tostring) | join(" ")')"
is "... its fields in the order of lib/audit.c" \
	"v ts mount pid comm op proto host port addr decision rule bytes_out bytes_in duration_ms" \
	"$(printf '%s' "$rec" | jq -r 'keys_unsorted | join(" ")')"
is "... then the exec record, last" "connect exec" "$(jq -r .op "$T/a1.log" | tr '\n' ' ' | sed 's/ $//')"

run L -a "$T/a2.log" -- curl -sS --cacert /workspace/cert.pem "https://web.test:$S/hello"
is "curl https:// to an allowed host:port, CONNECT through HTTPS_PROXY" "0 $HELLO" "$rc $(cat "$T/out")"
is "... its record: proto connect" "connect connect web.test $S 127.0.0.1 allow --allow-host curl true true" \
	"$(grep '"op":"connect"' "$T/a2.log" | jq -r '[.op, .proto, .host, .port, .addr, .decision, .rule, .comm, (.bytes_out > 0), (.bytes_in > 19)] | map(tostring) | join(" ")')"

run L -a "$T/a3.log" -- curl -sS --proxy "socks5h://127.0.0.1:3128" "http://web.test:$H/hello"
is "curl through the SOCKS5 of ALL_PROXY (socks5h: the proxy resolves)" "0 $HELLO" "$rc $(cat "$T/out")"
is "... its record: proto socks5, bytes in the answer's" "socks5 web.test $H allow $ANSWER" \
	"$(grep '"op":"connect"' "$T/a3.log" | jq -r '[.proto, .host, .port, .decision, .bytes_in] | map(tostring) | join(" ")')"

cat >"$ws/fetch.py" <<EOF
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="/workspace/cert.pem")
for u in sys.argv[1:]:
    sys.stdout.write(urllib.request.urlopen(u, context=ctx if u.startswith("https") else None).read().decode())
EOF
chmod a+r "$ws/fetch.py"
run L -- python3 fetch.py "http://web.test:$H/hello" "https://web.test:$S/hello"
is "python's urllib, http and https, through the proxy variables" "0 $HELLO
$HELLO" "$rc $(cat "$T/out")"

# ---- refused -------------------------------------------------------------------
run L -a "$T/d1.log" -- curl -sS -w '%{http_code}\n' "http://other.test:$H/hello"
is "curl http:// to a host no rule names: 403, the reason" "0 afs-proxy: no rule allows other.test:$H
403" "$rc $(cat "$T/out")"
is "... its record: deny, EACCES" "connect http other.test $H deny EACCES no rule allows other.test:$H curl" \
	"$(grep '"op":"connect"' "$T/d1.log" | jq -r '[.op, .proto, .host, .port, .decision, .errno, .reason, .comm] | map(tostring) | join(" ")')"
run L -- curl -sS -w '%{http_code}\n' "http://web.test:$E/"
is "curl http:// to an allowed host, another port: 403" "0 afs-proxy: no rule allows web.test:$E
403" "$rc $(cat "$T/out")"
run L -- curl -sS --cacert /workspace/cert.pem "https://other.test:$S/hello"
is "curl https:// to a host no rule names: the CONNECT refused (56)" \
	"56 curl: (56) CONNECT tunnel failed, response 403" "$rc $(cat "$T/err")"
is "the echo server was never reached" "" "$(cat "$T/e.log" 2>/dev/null)"

# ---- no way around the proxy ----------------------------------------------------
run L -- curl -sS -v --noproxy '*' "http://127.0.0.1:$H/hello"
is "curl --noproxy to the host's 127.0.0.1: 7, the sandbox's own loopback refuses" \
	"7 * connect to 127.0.0.1 port $H failed: Connection refused" \
	"$rc $(grep -a '^\* connect to' "$T/err")"
run L -- curl -sS -v --noproxy '*' http://203.0.113.7/
is "curl --noproxy to an outside address: 7, Network is unreachable" \
	"7 * Immediate connect fail for 203.0.113.7: Network is unreachable" \
	"$rc $(grep -a '^\* Immediate connect fail' "$T/err")"
run L -- curl -sS --noproxy '*' "http://web.test:$H/hello"
is "curl --noproxy by name: 6, no resolver" "6 curl: (6) Could not resolve host: web.test" "$rc $(cat "$T/err")"
run L -- python3 -c '
import errno, socket, sys
for a in (("127.0.0.1", int(sys.argv[1])), ("203.0.113.7", 80), ("::1", int(sys.argv[1]))):
    s = socket.socket(socket.AF_INET6 if ":" in a[0] else socket.AF_INET)
    try:
        s.connect(a)
        print("connected")
    except OSError as e:
        print(errno.errorcode[e.errno])' "$H"
is "python connect(): ECONNREFUSED on loopback, ENETUNREACH outside" "ECONNREFUSED
ENETUNREACH
ECONNREFUSED" "$(cat "$T/out")"
run L -- getent hosts example.org
is "getent hosts example.org: 2 (no DNS inside)" "2" "$rc"
run L -- getent hosts web.test
is "getent hosts web.test: 2 (AFS_PROXY_RESOLVE is the proxy's alone)" "2" "$rc"
run L -- python3 -c '
import socket
try:
    socket.getaddrinfo("example.org", 443)
    print("resolved")
except socket.gaierror as e:
    print("gaierror")'
is "python getaddrinfo: socket.gaierror" "gaierror" "$(cat "$T/out")"
run L -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "the sandbox has loopback alone" "lo" "$(cat "$T/out")"

# ---- the environment ---------------------------------------------------------------
run env -i PATH="$PATH" LANG=C.UTF-8 TERM=dumb AFS_PROXY_RESOLVE="$AFS_PROXY_RESOLVE" SECRET=s \
	afs-launch -m "$ws" "${ALLOW[@]}" -- /usr/bin/env
is "the environment: PATH HOME LANG TERM and the 8 proxy variables, nothing else" \
	"ALL_PROXY=socks5h://127.0.0.1:3128
HOME=/home/sandbox
HTTPS_PROXY=http://127.0.0.1:3128
HTTP_PROXY=http://127.0.0.1:3128
LANG=C.UTF-8
NO_PROXY=localhost,127.0.0.1,::1
PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin
TERM=dumb
all_proxy=socks5h://127.0.0.1:3128
http_proxy=http://127.0.0.1:3128
https_proxy=http://127.0.0.1:3128
no_proxy=localhost,127.0.0.1,::1" "$(LC_ALL=C sort "$T/out")"
run L -e HTTP_PROXY=http://evil.test:1 -e no_proxy='*' -- sh -c 'echo $HTTP_PROXY $no_proxy'
is "-e cannot change the proxy variables" "http://127.0.0.1:3128 localhost,127.0.0.1,::1" "$(cat "$T/out")"
run afs-launch -m "$ws" -- sh -c 'env | grep -ci proxy'
is "without an allowlist: no proxy variable" "0" "$(cat "$T/out")"

# ---- a policy's network: section under -s -p --------------------------------------
src=$T/src
mkdir -p "$src"
echo data >"$src/file"
cp "$ws/cert.pem" "$src/cert.pem"
cat >"$T/pol.yaml" <<EOF
version: 1
rules:
  - pattern: "**"
    permission: read
network:
  allow:
    - host: web.test
      ports: [$H, $S]
      reason: the test servers
    - 127.0.0.1:$H
    - host: 127.0.0.1
      ports: [$S]
  deny:
    - host: web.test
      ports: [$S]
      reason: no https today
EOF
allow_line=$(grep -n '^    - host: web.test' "$T/pol.yaml" | head -n 1 | cut -d: -f1)
deny_line=$(grep -n '^    - host: web.test' "$T/pol.yaml" | tail -n 1 | cut -d: -f1)
run afs-launch -s "$src" -p "$T/pol.yaml" --name "$NAME" -a "$T/p1.log" -- curl -sS "http://web.test:$H/hello"
is "-s -p: the policy's network: section alone makes the allowlist" "0 $HELLO" "$rc $(cat "$T/out")"
is "... the record names the rule FILE:LINE" "allow $T/pol.yaml:$allow_line" \
	"$(grep '"op":"connect"' "$T/p1.log" | jq -r '"\(.decision) \(.rule)"')"
run afs-launch -s "$src" -p "$T/pol.yaml" -a "$T/p2.log" -- curl -sS --cacert /workspace/cert.pem "https://web.test:$S/hello"
is "-s -p: a deny rule of the policy wins over its allow rule: 56" "56" "$rc"
is "... its record: deny, the deny rule FILE:LINE, the reason" \
	"deny $T/pol.yaml:$deny_line web.test:$S is denied by $T/pol.yaml:$deny_line (web.test:$S)" \
	"$(grep '"op":"connect"' "$T/p2.log" | jq -r '"\(.decision) \(.rule) \(.reason)"')"
run env AFS_PROXY_RESOLVE="web.test=127.0.0.1;web2.test=127.0.0.1" afs-launch -s "$src" -p "$T/pol.yaml" \
	--allow-host "web2.test:$H" -a "$T/p3.log" -- curl -sS "http://web2.test:$H/hello"
is "-s -p and --allow-host: both apply (web2.test by --allow-host, its address by the policy)" \
	"0 $HELLO" "$rc $(cat "$T/out")"
is "... the record names --allow-host" "allow --allow-host" \
	"$(grep '"op":"connect"' "$T/p3.log" | jq -r '"\(.decision) \(.rule)"')"
run afs-launch -s "$src" -p agent-safe -- sh -c 'env | grep -ci proxy'
is "-s -p PRESET without a network: section: no allowlist, no proxy" "0" "$(cat "$T/out")"

# ---- usage errors ----------------------------------------------------------------
run L --net -- true
is "--net with --allow-host: 125, one line" "125 afs-launch: --net and --allow-host exclude each other" \
	"$rc $(cat "$T/err")"
run afs-launch -s "$src" -p "$T/pol.yaml" --net -- true
is "--net with a policy's network: section: 125" \
	"125 afs-launch: --net and the network: section of the policy '$T/pol.yaml' exclude each other" \
	"$rc $(cat "$T/err")"
run afs-launch -m "$ws" --runtime docker --image afs-test-busybox:3 --allow-host web.test -- true
is "--runtime docker with --allow-host: 125, said why (no dockerd needed)" \
	"125 afs-launch: --allow-host: not supported with --runtime docker (the allowlist needs afs-launch's relay in the sandbox; use --runtime bwrap, or --net)" \
	"$rc $(cat "$T/err")"
run afs-launch -m "$ws" --net-max-connections 4 -- true
is "--net-max-connections without an allowlist: 125" 125 "$rc"
run afs-launch -m "$ws" --allow-host 'web test' -- true
is "a bad --allow-host: 125, named" "125 yes" "$rc $(grep -q "^afs-launch: bad --allow-host: 'web test'" "$T/err" && echo yes)"
run afs-launch -m "$ws" --allow-host 'web.test:0' -- true
is "--allow-host with port 0: 125" 125 "$rc"

# ---- limits through afs-launch ----------------------------------------------------
run L --net-max-bytes 1M -a "$T/l1.log" -- curl -sS -o /dev/null "http://web.test:$H/size/3145728"
is "--net-max-bytes 1M and a 3 MiB answer: curl sees it cut (18)" 18 "$rc"
is "... the record says limit bytes, 1 MiB in" "bytes 1048576" \
	"$(grep '"op":"connect"' "$T/l1.log" | jq -r '"\(.limit) \(.bytes_in)"')"
cat >"$ws/hold.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT web.test:%s HTTP/1.1\r\n\r\n" % sys.argv[1].encode())
print(s.recv(100).split(b"\r\n")[0].decode(), flush=True)
time.sleep(3)
EOF
chmod a+r "$ws/hold.py"
run L --net-max-connections 1 -- sh -c '
	python3 hold.py '"$H"' & sleep 1
	curl -sS -o /dev/null -w "%{http_code}\n" "http://web.test:'"$H"'/hello"; kill $! 2>/dev/null; true'
is "--net-max-connections 1: a second connection while one is open: 503" \
	"HTTP/1.1 200 Connection established
503" "$(cat "$T/out")"

# ---- afs-session -------------------------------------------------------------------
export AFS_RUNTIME_DIR=$T/rt
SN=n$$
run afs-session start --name "$SN" -m "$ws" "${ALLOW[@]}" -a "$T/sess.log"
is "afs-session start with --allow-host" "0 $SN" "$rc $(cat "$T/out")"
trap 'st=$?; afs-session stop "$SN" >/dev/null 2>&1; _cleanup $st; exit $?' EXIT
run afs-session exec "$SN" "curl -sS http://web.test:$H/hello"
is "afs-session exec: curl through the session's proxy" "0 $HELLO" "$rc $(cat "$T/out")"
run afs-session exec "$SN" "curl -sS --cacert /workspace/cert.pem https://web.test:$S/hello"
is "afs-session exec: https" "0 $HELLO" "$rc $(cat "$T/out")"
run afs-session exec "$SN" "curl -sS http://other.test:$H/hello"
is "afs-session exec: a refused host" "0 afs-proxy: no rule allows other.test:$H" "$rc $(cat "$T/out")"
is "the session's records name the session" "$SN $SN http allow
$SN $SN connect allow
$SN $SN http deny" \
	"$(grep '"op":"connect"' "$T/sess.log" | jq -r '"\(.mount) \(.session) \(.proto) \(.decision)"')"
is "one afs-proxy for the session" 1 "$(ours "$SN" session)"
run afs-session stop "$SN"
is "afs-session stop" 0 "$rc"
i=0
while [ "$(ours "$SN" session)" != 0 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "... and its afs-proxy is gone" 0 "$(ours "$SN" session)"

# ---- no afs-proxy left behind ------------------------------------------------------
is "before: no afs-proxy of ours" 0 "$(ours "$NAME")"
env --default-signal=INT,TERM afs-launch -m "$ws" --name "$NAME" "${ALLOW[@]}" -- sleep 3 &
lp=$!
at_exit_kill $lp
i=0
while [ "$(ours "$NAME")" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "while the command runs: one afs-proxy" 1 "$(ours "$NAME")"
pp=$(pgrep -f "^afs-proxy .*--name $NAME( |\$)")
is "... running as the sandbox's user (--user 65534:65534)" "65534 65534" \
	"$(ps -o uid=,gid= -p "$pp" | tr -s ' ' | sed 's/^ //')"
wait "$lp"
is "afs-launch ends: 0" 0 "$?"
is "... and its afs-proxy is gone at once" 0 "$(ours "$NAME")"

env --default-signal=INT,TERM afs-launch -m "$ws" --name "$NAME" "${ALLOW[@]}" -- sleep "30.$$" &
lp=$!
at_exit_kill $lp
i=0
while [ "$(ours "$NAME")" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "a second run: one afs-proxy" 1 "$(ours "$NAME")"
kill -KILL "$lp"
wait "$lp" 2>/dev/null
i=0
while [ "$(ours "$NAME")" != 0 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "SIGKILL to afs-launch: its afs-proxy is gone within 3 s" 0 "$(ours "$NAME")"
i=0
while pgrep -f "^sleep 30.$$\$" >/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
is "... and the sandbox too" "" "$(pgrep -f "^sleep 30.$$\$")"
