#!/bin/bash
# The network allowlist under attack (afs-proxy(1), SECURITY.md): afs-proxy
# alone (--listen on loopback), fed exact bytes by python sockets, then a
# few attacks from inside a sandbox.  Malformed heads (400, 414, 431, 505),
# a slow head (408), pipelining and data after CONNECT, header injection
# through the host, address literals of the host's own network, IPv6,
# deny over allow, suffix rules, SOCKS5 (refusal 0x02, BIND 0x07, no
# method 0xFF), --max-connections, --max-bytes, the proxy's memory under
# 200 MiB of traffic; then, in namespaces of its own, the host's resolver
# (no search list, --connect-timeout, a stop).  The target of every
# refused request is a recording server: it must never see a byte.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$B/afs-proxy" ]; then
	not_ok "afs-proxy is built ($B/afs-proxy)"
	exit 1
fi
chmod 0711 "$T"

# ---- fixtures ----------------------------------------------------------------

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# proxy NAME [afs-proxy OPTIONS]: afs-proxy --listen 127.0.0.1:PORT on a
# free port, waited for through --ready-fd; $NAME_port, $NAME_pid; its
# stderr in $T/NAME.err; NORESOLVE=1: without AFS_PROXY_RESOLVE (the
# host's resolver).  A port taken between free_port and the bind
# (exit 1): another one.
proxy() {
	local name=$1 port line try
	shift
	for try in 1 2 3; do
		port=$(free_port)
		rm -f "$T/$name.ready"
		mkfifo "$T/$name.ready"
		env --default-signal=INT,TERM ${NORESOLVE:+-u AFS_PROXY_RESOLVE} afs-proxy --listen "127.0.0.1:$port" --ready-fd 3 "$@" \
			3>"$T/$name.ready" 2>>"$T/$name.err" &
		printf -v "${name}_pid" %s $!
		at_exit_kill $!
		line=
		read -r -t 10 line <"$T/$name.ready"
		if [ "$line" = ready ]; then
			printf -v "${name}_port" %s "$port"
			return 0
		fi
	done
	diag "afs-proxy $name did not get ready:" "$(cat "$T/$name.err")"
	exit 1
}

# ask PORT BYTES: send BYTES (printf %b: \r, \n, \0, \xHH) to PORT; the
# reply in $T/reply, its status line in $st, its body in $T/body; $closed
# is "closed" when the proxy ended the connection, "open" when nothing
# came for $IDLE seconds (default 3), "reset" on a reset.
IDLE=3
ask() {
	local port=$1
	shift
	printf '%b' "$1" >"$T/req"
	ask_stdin "$port" <"$T/req"
}
ask_stdin() {
	"$PY" "$NS" send "$1" --idle "$IDLE" "${@:2}" >"$T/reply"
	case $? in
	0) closed=closed ;;
	3) closed=open ;;
	4) closed=reset ;;
	*) closed="netserv failed" ;;
	esac
	st=$(head -n 1 "$T/reply" | tr -d '\r')
	"$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\r\n\r\n")
sys.stdout.buffer.write(d[i + 4:] if i >= 0 else b"")' "$T/reply" >"$T/body"
}
# show FILE: its bytes as a Python literal without the quotes (\r, \n, \x00).
show() { "$PY" -c 'import sys; print(repr(open(sys.argv[1], "rb").read())[2:-1])' "$1"; }

# refused DESC CODE BODY: the last answer is CODE with the refusal's
# headers, the body "afs-proxy: BODY\n" when BODY is given (else any),
# and the connection closed.
refused() {
	local desc=$1 code=$2 want=${3-} got hdr=yes
	grep -qx $'Content-Type: text/plain\r' "$T/reply" || hdr=no
	grep -qx $'Connection: close\r' "$T/reply" || hdr=no
	got="$st $hdr $closed"
	if [ -n "$want" ]; then
		is "$desc" "$code yes closed afs-proxy: $want\\n" "$got $(show "$T/body")"
	else
		is "$desc" "$code yes closed" "$got"
	fi
}

# status DESC CODE: only the status line, and the connection closed.
status() { is "$1" "$2 closed" "$st $closed"; }

# The recording servers: E echoes and records each connection to
# $T/e.N; D records only, and is the target of every refused request.
conns() { cat "$T/$1.log" 2>/dev/null | grep -c '^conn'; }
# waitfor SECONDS CMD...: until CMD succeeds, or SECONDS.
waitfor() {
	local n=$(($1 * 10)) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -ge $n ] && return 1
		sleep 0.1
	done
}
nothing_to_d() { is "$1: the target received nothing" 0 "$(conns d)"; }

netserv http h --log "$T/h.log"
netserv echo e --record "$T/e" --log "$T/e.log"
netserv echo d --record "$T/d" --no-echo --log "$T/d.log"
netserv echo m --log "$T/m.log"
netserv echo k --no-echo --log "$T/k.log"
have6=
if "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	have6=yes
	netserv echo e6 --bind ::1 --log "$T/e6.log"
fi
closed_port=$(free_port)
H=$h_port E=$e_port D=$d_port M=$m_port K=$k_port C=$closed_port

# The control: the servers answer directly.
is "control: the HTTP server answers directly" "hello from netserv" \
	"$(curl -sS --noproxy '*' "http://127.0.0.1:$H/hello")"
printf 'ping' | "$PY" "$NS" send "$E" --idle 0.5 >"$T/ctl"
is "control: the echo server echoes directly" "ping" "$(cat "$T/ctl")"

export AFS_PROXY_RESOLVE="a.test=127.0.0.1;deny.test=127.0.0.1;bad.test=127.0.0.1;ok.test=127.0.0.1;example.org=127.0.0.1;sub.example.org=127.0.0.1;six.test=::1;mix.test=10.0.0.1,127.0.0.2,127.0.0.1"
P1_RULES=(--allow-host "a.test:$H,$E,$M,$C" --allow-host "127.0.0.1:$H,$E,$M,$C"
	--allow-host '*.example.org' --allow-host 'ok.test' --allow-host 'bad.test'
	--deny-host 'bad.test' --allow-host '*.invalid' --allow-host mix.test)
[ -n "$have6" ] && P1_RULES+=(--allow-host "six.test:$e6_port" --allow-host "[::1]:$e6_port")
proxy p1 "${P1_RULES[@]}" --head-timeout 1 -a "$T/p1.log" --name p1 --session s1
P=$p1_port

# ---- what works, as the control of what follows ------------------------------
ask $P "GET http://a.test:$H/hello HTTP/1.1\r\nHost: a.test:$H\r\n\r\n"
is "GET to an allowed host: 200 and the body" "HTTP/1.1 200 OK hello from netserv\\n closed" \
	"$st $(show "$T/body") $closed"
IDLE=1 ask $P "CONNECT a.test:$E HTTP/1.1\r\nHost: a.test:$E\r\n\r\n"
is "CONNECT to an allowed host: the reply" 'HTTP/1.1 200 Connection established' "$st"
is "CONNECT: the reply ends at its empty line, the tunnel stays open" "b'' open" \
	"$(show "$T/body" | sed "s/^/b'/; s/\$/'/") $closed"

# ---- malformed requests -------------------------------------------------------
ask $P "hello there\r\n\r\n"
refused "garbage: 400" "HTTP/1.1 400 Bad Request"
ask $P "GET http://a.test:$H/hel\0lo HTTP/1.1\r\nHost: a.test\r\n\r\n"
refused "a NUL in the request line: 400" "HTTP/1.1 400 Bad Request"
ask $P "GET http://a.test:$H/hello HTTP/1.1\r\nX-A: 1\0\r\n\r\n"
refused "a NUL in a header: 400" "HTTP/1.1 400 Bad Request"
ask $P "GET http://a.test:$H/hello HTTP/1.1\r\nX-A: a\rb\r\n\r\n"
refused "a bare CR in a header: 400" "HTTP/1.1 400 Bad Request"
ask $P "GET http://a.test:$H/hel\rlo HTTP/1.1\r\n\r\n"
refused "a bare CR in the request line: 400" "HTTP/1.1 400 Bad Request"
{ printf 'GET http://a.test:%s/' "$H"; head -c 70000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\n\r\n'; } >"$T/req"
ask_stdin $P <"$T/req"
refused "a request line of 70,000 bytes: 414" "HTTP/1.1 414 URI Too Long"
{ printf 'GET http://a.test:%s/hello HTTP/1.1\r\n' "$H"
	for i in $(seq 1 2000); do printf 'X-Fill-%04d: %060d\r\n' "$i" 0; done; printf '\r\n'; } >"$T/req"
ask_stdin $P <"$T/req"
refused "a head of 160,000 bytes (2,000 headers): 431" "HTTP/1.1 431 Request Header Fields Too Large"
{ printf 'GET http://a.test:%s/hello HTTP/1.1\r\nX-Big: ' "$H"; head -c 200000 /dev/zero | tr '\0' b
	printf '\r\n\r\n'; } >"$T/req"
ask_stdin $P <"$T/req"
refused "one header of 200,000 bytes: 431" "HTTP/1.1 431 Request Header Fields Too Large"
{ printf 'GET http://a.test:%s/hello HTTP/1.1\r\n' "$H"
	for i in $(seq 1 10000); do printf 'a: b\r\n'; done; printf '\r\n'; } >"$T/req"
ask_stdin $P <"$T/req"
refused "10,000 headers of 6 bytes: 431" "HTTP/1.1 431 Request Header Fields Too Large"
for v in HTTP/2.0 HTTP/3.0; do
	ask $P "GET http://a.test:$H/hello $v\r\nHost: a.test\r\n\r\n"
	refused "$v: 505" "HTTP/1.1 505 HTTP Version Not Supported"
done
ask $P "GET http://a.test:$H/hello HTTP/1.0\r\n\r\n"
is "HTTP/1.0 is served" "HTTP/1.1 200 OK" "$st"
for v in "HTTP/1.1x" "HTTP/1" "HTTP/1.1 extra" ""; do
	ask $P "GET http://a.test:$H/hello${v:+ $v}\r\n\r\n"
	refused "version '$v': 400" "HTTP/1.1 400 Bad Request"
done
ask $P "GET /hello HTTP/1.1\r\nHost: a.test:$H\r\n\r\n"
refused "origin form (a request to the proxy itself): 400" "HTTP/1.1 400 Bad Request"
ask $P "GET https://a.test:$H/hello HTTP/1.1\r\nHost: a.test:$H\r\n\r\n"
refused "an https:// absolute URI: 400" "HTTP/1.1 400 Bad Request"
ask $P "GET ftp://a.test:$H/hello HTTP/1.1\r\n\r\n"
refused "an ftp:// absolute URI: 400" "HTTP/1.1 400 Bad Request"
for a in "a.test" "a.test:" "a.test:0" "a.test:65536" "a.test:99999999999" "a.test:-1" \
	"a.test:$E/x" "a.test:${E}x" ":$E" "[::1" "a..test:$E" "a.test:$E:$E"; do
	ask $P "CONNECT $a HTTP/1.1\r\nHost: $a\r\n\r\n"
	refused "CONNECT '$a': 400" "HTTP/1.1 400 Bad Request"
done
ask $P "CONNECT a.test:$E HTTP/1.1\r\nHost: a.test:$E\r\n"
refused "a head without its empty line: 408, no tunnel" "HTTP/1.1 408 Request Timeout"
nothing_to_d "malformed requests"

# ---- a slow head ---------------------------------------------------------------
n0=$(conns e)
t0=${EPOCHREALTIME/./}
IDLE=5 ask $P "CONNECT a.test:$E HTTP/1.1\r\nHost: a.t"
el=$(((${EPOCHREALTIME/./} - t0) / 1000))
refused "half a head, then silence: 408 (--head-timeout 1)" "HTTP/1.1 408 Request Timeout"
if [ "$el" -ge 900 ] && [ "$el" -lt 3000 ]; then ok "... after about a second ($el ms)"; else not_ok "... after about a second ($el ms)"; fi
t0=${EPOCHREALTIME/./}
printf 'CONNECT a.test:%s HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n' "$E" >"$T/req"
IDLE=5 ask_stdin $P --chunks 25 --delay 0.2 <"$T/req"
el=$(((${EPOCHREALTIME/./} - t0) / 1000))
refused "a head trickled a few bytes at a time over 5 s: 408, the deadline is for the whole head" \
	"HTTP/1.1 408 Request Timeout"
if [ "$el" -lt 3000 ]; then ok "... before the head was complete ($el ms)"; else not_ok "... before the head was complete ($el ms)"; fi
is "slow heads: no upstream connection" "$n0" "$(conns e)"
t0=${EPOCHREALTIME/./}
IDLE=5 ask $P '\x05'
el=$(((${EPOCHREALTIME/./} - t0) / 1000))
is "a SOCKS5 greeting cut short: the connection closed, nothing sent" "closed b''" "$closed b'$(show "$T/reply")'"
if [ "$el" -lt 3000 ]; then ok "... after the head timeout ($el ms)"; else not_ok "... after the head timeout ($el ms)"; fi

# ---- pipelining ------------------------------------------------------------------
lines() { cat "$T/$1.log" 2>/dev/null | grep -c .; }
rec_lines() { lines p1; }
# more LOG N: LOG has more than N records.
more() { [ "$(lines "$1")" -gt "$2" ]; }
# settled: the number of records once no more came for 0.3 s (a record is
# written when its connection ends, a moment after the client's end).
settled() {
	local a b
	b=$(rec_lines)
	while :; do
		sleep 0.3
		a=$b
		b=$(rec_lines)
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}
r0=$(settled) n0=$(conns e)
IDLE=1 ask $P "GET http://a.test:$E/one HTTP/1.1\r\nHost: a.test:$E\r\nX-One: 1\r\n\r\nGET http://deny.test:$D/two HTTP/1.1\r\nHost: deny.test:$D\r\n\r\n"
is "pipelined GETs, the second to another host: one upstream connection" $((n0 + 1)) "$(conns e)"
waitfor 3 more p1 "$r0"
sleep 0.3
is "... one connect record" $((r0 + 1)) "$(rec_lines)"
is "... for the first host" "a.test $E http allow" \
	"$(tail -n 1 "$T/p1.log" | jq -r '"\(.host) \(.port) \(.proto) \(.decision)"')"
up=$T/e.$(conns e)
is "... the first head arrives in origin form, Host from the URI, Connection: close" \
	"GET /one HTTP/1.1|Host: a.test:$E|X-One: 1|Connection: close" \
	"$("$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
h = d[:d.index(b"\r\n\r\n")].decode().split("\r\n")
first = h[0]
rest = sorted(x for x in h[1:] if x.split(":")[0].lower() in ("host", "x-one", "connection"))
order = {"host": 0, "x-one": 1, "connection": 2}
rest.sort(key=lambda x: order[x.split(":")[0].lower()])
print("|".join([first] + rest))' "$up")"
is "... and the second request follows it to the same host, as bytes" \
	"GET http://deny.test:$D/two HTTP/1.1\r\nHost: deny.test:$D\r\n\r\n" \
	"$("$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
print(repr(d[d.index(b"\r\n\r\n") + 4:])[2:-1])' "$up")"
nothing_to_d "pipelined GET to a denied host"

n0=$(conns e)
data='\x00\xff\r\n\r\nGET http://deny.test/ HTTP/1.1\r\n\r\n\x16\x03\x01'
IDLE=1 ask $P "CONNECT a.test:$E HTTP/1.1\r\nHost: a.test:$E\r\n\r\n$data"
up=$T/e.$(conns e)
printf '%b' "$data" >"$T/want"
same_file "CONNECT with data in the same write: the data arrives upstream intact" "$T/want" "$up"
"$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(d[d.index(b"\r\n\r\n") + 4:])' "$T/reply" >"$T/got"
same_file "... and comes back through the tunnel" "$T/want" "$T/got"

# ---- who may be reached ------------------------------------------------------------
ask $P "CONNECT a.test:$D HTTP/1.1\r\nHost: a.test:$D\r\n\r\n"
refused "CONNECT to a port no rule names: 403" "HTTP/1.1 403 Forbidden" "no rule allows a.test:$D"
ask $P "GET http://a.test:$D/ HTTP/1.1\r\n\r\n"
refused "GET to a port no rule names: 403" "HTTP/1.1 403 Forbidden" "no rule allows a.test:$D"
ask $P "CONNECT nope.example.net:443 HTTP/1.1\r\n\r\n"
refused "CONNECT to a host no rule names: 403" "HTTP/1.1 403 Forbidden" "no rule allows nope.example.net:443"
ask $P "CONNECT deny.test:$D HTTP/1.1\r\n\r\n"
refused "CONNECT to the recording server's name: 403" "HTTP/1.1 403 Forbidden" "no rule allows deny.test:$D"
ask $P "CONNECT bad.test:$E HTTP/1.1\r\n\r\n"
refused "deny beats allow" "HTTP/1.1 403 Forbidden" "bad.test:$E is denied by --deny-host (bad.test)"
ask $P "CONNECT BAD.TEST.:$E HTTP/1.1\r\n\r\n"
refused "deny beats allow whatever the case and a final dot" "HTTP/1.1 403 Forbidden" "bad.test:$E is denied by --deny-host (bad.test)"
ask $P "CONNECT example.org:$E HTTP/1.1\r\n\r\n"
refused "*.example.org does not match example.org" "HTTP/1.1 403 Forbidden" "no rule allows example.org:$E"
IDLE=1 ask $P "CONNECT sub.example.org:$E HTTP/1.1\r\n\r\nsub"
is "*.example.org matches sub.example.org (resolving to an address a rule names)" \
	"HTTP/1.1 200 Connection established sub" "$st $(cat "$T/body")"
r0=$(settled)
IDLE=1 ask $P "CONNECT mix.test:$E HTTP/1.1\r\n\r\nmix"
is "a name resolving to 10.0.0.1, 127.0.0.2, 127.0.0.1: only the address a rule names is connected to" \
	"HTTP/1.1 200 Connection established mix" "$st $(cat "$T/body")"
waitfor 3 more p1 "$r0"
is "... the record's addr" "mix.test 127.0.0.1 allow" \
	"$(tail -n 1 "$T/p1.log" | jq -r '"\(.host) \(.addr) \(.decision)"')"
ask $P "CONNECT ok.test:$D HTTP/1.1\r\n\r\n"
refused "an allowed name resolving to 127.0.0.1, on a port the 127.0.0.1 rule does not name: 403" \
	"HTTP/1.1 403 Forbidden" "ok.test resolves to 127.0.0.1, a loopback address no rule names"
nothing_to_d "refused hosts"

# Header injection through the host: 400, and nothing upstream.
n0=$(conns e)
for r in "CONNECT evil.test%0d%0aX-Injected:%20y:$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test%0d%0aX-Injected:%20y:$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test\r\nX-Injected: y:$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test\rX-Injected: y:$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test\0:$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test :$E HTTP/1.1\r\n\r\n" \
	"CONNECT a.test\t:$E HTTP/1.1\r\n\r\n" \
	"GET http://a.test\r\nX: y/ HTTP/1.1\r\n\r\n" \
	"GET http://a.test%0d%0aX:y:$E/ HTTP/1.1\r\n\r\n" \
	"GET http://a.test\r\n:$E/ HTTP/1.1\r\n\r\n" \
	"GET http://a.test:$E\r\nX-Injected: y/ HTTP/1.1\r\n\r\n" \
	"GET http://a.test:$E/x\r\nX-Injected: y HTTP/1.1\r\n\r\n"; do
	ask $P "$r"
	refused "injection: $r: 400" "HTTP/1.1 400 Bad Request"
done
is "injections: nothing upstream" "$n0" "$(conns e)"

# A Host header, or a folded line after it, does not choose where the
# request goes nor what Host the server sees.
IDLE=1 ask $P "GET http://a.test:$E/h HTTP/1.1\r\nHost: deny.test:$D\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n\r\n"
up=$T/e.$(conns e)
is "a Host header naming another host: replaced, Proxy-* dropped, one Connection: close" \
	"GET /h HTTP/1.1|Connection: close|Host: a.test:$E" \
	"$("$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
h = d[:d.index(b"\r\n\r\n")].decode().split("\r\n")
print("|".join([h[0]] + sorted((x for x in h[1:]), key=lambda x: x.lower())))' "$up")"
nothing_to_d "a Host header naming the recording server"
n0=$(conns e)
IDLE=1 ask $P "GET http://a.test:$E/f HTTP/1.1\r\nHost: a.test:$E\r\n X-Injected: y\r\nX-After: z\r\n\r\n"
if [ "$(conns e)" = "$n0" ]; then
	refused "a folded header line (obs-fold): refused" "HTTP/1.1 400 Bad Request"
else
	up=$T/e.$(conns e)
	is "a folded header line (obs-fold): none reaches the server (RFC 9112 5.2)" 0 \
		"$("$PY" -c 'import sys
d = open(sys.argv[1], "rb").read()
h = d[:d.index(b"\r\n\r\n")].split(b"\r\n")
print(sum(1 for x in h[1:] if x[:1] in (b" ", b"\t")))' "$up")"
fi

# userinfo, a fragment, a backslash: ways to make the host checked and the
# host connected to disagree.
for u in "http://a.test:$E@deny.test:$D/" "http://a.test:$E#@deny.test:$D/" \
	"http://a.test:$E\\\\@deny.test:$D/" "http://deny.test:$D\\\\@a.test:$E/" \
	"http://user@deny.test:$D/" "http://user:pw@a.test:$E/"; do
	ask $P "GET $u HTTP/1.1\r\n\r\n"
	refused "GET $u: 400" "HTTP/1.1 400 Bad Request"
done
n0=$(conns e)
IDLE=1 ask $P "GET http://a.test:$E?@deny.test:$D/ HTTP/1.1\r\n\r\n"
is "GET http://a.test:PORT?@deny.test...: the '@' is in the query, the request goes to a.test" \
	"$((n0 + 1)) GET /?@deny.test:$D/ HTTP/1.1" "$(conns e) $(head -n 1 "$T/e.$(conns e)" | tr -d '\r')"
nothing_to_d "URIs with userinfo"

# ---- addresses ------------------------------------------------------------------
ask $P "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n"
refused "CONNECT 169.254.169.254 (cloud metadata): 403" "HTTP/1.1 403 Forbidden" \
	"no rule allows 169.254.169.254:80 (an address is allowed only by a rule that names it)"
ask $P "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n"
refused "GET http://169.254.169.254/: 403" "HTTP/1.1 403 Forbidden"
ask $P "CONNECT 127.0.0.1:$D HTTP/1.1\r\n\r\n"
refused "CONNECT 127.0.0.1 on a port its rule does not name: 403" "HTTP/1.1 403 Forbidden" \
	"no rule allows 127.0.0.1:$D (an address is allowed only by a rule that names it)"
IDLE=1 ask $P "CONNECT 127.0.0.1:$E HTTP/1.1\r\n\r\nlit"
is "CONNECT 127.0.0.1 on a port its rule names: 200" "HTTP/1.1 200 Connection established lit" "$st $(cat "$T/body")"
if [ -n "$have6" ]; then
	E6=$e6_port
	IDLE=1 ask $P "CONNECT [::1]:$E6 HTTP/1.1\r\n\r\nsix"
	is "CONNECT [::1] named by a rule [::1]:PORT: 200" "HTTP/1.1 200 Connection established six" \
		"$st $(cat "$T/body")"
	IDLE=1 ask $P "CONNECT six.test:$E6 HTTP/1.1\r\n\r\nsix"
	is "a name resolving to ::1 named by a rule: 200" "HTTP/1.1 200 Connection established six" \
		"$st $(cat "$T/body")"
	IDLE=1 ask $P "GET http://[::1]:$E6/v6 HTTP/1.1\r\n\r\n"
	is "GET http://[::1]:PORT/: the request goes upstream" "GET /v6 HTTP/1.1" "$st"
	ask $P "CONNECT [::1]:$E HTTP/1.1\r\n\r\n"
	refused "CONNECT [::1] on a port no rule names: 403" "HTTP/1.1 403 Forbidden" \
		"no rule allows [::1]:$E (an address is allowed only by a rule that names it)"
else
	skip "IPv6 literals allowed by a rule" "no ::1 here"
fi

# A second proxy: '*' allows any name, never an address, and no address
# of the host's own network that no rule names.
NORESOLVE=1 proxy p2 --allow-host '*' -a "$T/p2.log"
for a in 127.0.0.1 127.0.0.2 0.0.0.0 169.254.169.254 10.0.0.1 192.168.1.1 100.64.0.1 \
	'[::1]' '[::]' '[::ffff:127.0.0.1]' '[::ffff:7f00:1]' '[64:ff9b::7f00:1]' '[fe80::1]' \
	'[fd00::1]' 224.0.0.1 255.255.255.255; do
	ask $p2_port "CONNECT $a:$D HTTP/1.1\r\n\r\n"
	shown=$a	# an IPv4-mapped address is shown as IPv4
	case $a in '[::ffff:127.0.0.1]' | '[::ffff:7f00:1]') shown=127.0.0.1 ;; esac
	refused "'*' and CONNECT $a (an address no rule names): 403" "HTTP/1.1 403 Forbidden" \
		"no rule allows $shown:$D (an address is allowed only by a rule that names it)"
done
for a in 2130706433 0x7f000001 0177.0.0.1 127.1 localhost localhost. LOCALHOST; do
	# Names to the matcher, numbers or loopback to the host's resolver.
	ask $p2_port "CONNECT $a:$D HTTP/1.1\r\n\r\n"
	case $st in
	"HTTP/1.1 403 Forbidden" | "HTTP/1.1 400 Bad Request") ok "'*' and CONNECT $a (a loopback address in disguise): refused ($st)" ;;
	*) not_ok "'*' and CONNECT $a (a loopback address in disguise): refused"; diag "got: $st $(show "$T/body")" ;;
	esac
done
ask $p2_port "CONNECT localhost:$D HTTP/1.1\r\n\r\n"
refused "'*' and CONNECT localhost: which address and why" "HTTP/1.1 403 Forbidden" \
	"localhost resolves to 127.0.0.1, a loopback address no rule names"
# Names resolving into each class of the host's own network.
AFS_PROXY_RESOLVE="loop.test=127.0.0.1;l2.test=127.0.0.2;md.test=169.254.169.254;p10.test=10.0.0.1;p172.test=172.16.0.1;p192.test=192.168.0.1;cg.test=100.64.0.1;z.test=0.0.0.0;l6.test=::1;map.test=::ffff:127.0.0.1;nat.test=64:ff9b::7f00:1;mc.test=224.0.0.1;ula.test=fd00::1;ll6.test=fe80::1;any6.test=::;bc.test=255.255.255.255;r240.test=240.0.0.1" \
	proxy p3 --allow-host '*' -a "$T/p3.log"
for c in loop.test=127.0.0.1=loopback l2.test=127.0.0.2=loopback md.test=169.254.169.254=link-local \
	p10.test=10.0.0.1=private p172.test=172.16.0.1=private p192.test=192.168.0.1=private \
	cg.test=100.64.0.1=private z.test=0.0.0.0=unspecified l6.test=::1=loopback \
	map.test=127.0.0.1=loopback nat.test=64:ff9b::7f00:1=reserved mc.test=224.0.0.1=multicast \
	ula.test=fd00::1=private ll6.test=fe80::1=link-local any6.test=::=unspecified \
	bc.test=255.255.255.255=reserved r240.test=240.0.0.1=reserved; do
	n=${c%%=*} rest=${c#*=}
	a=${rest%=*} cl=${rest##*=}
	art=a
	[ "$cl" = unspecified ] && art=an
	ask $p3_port "CONNECT $n:$D HTTP/1.1\r\n\r\n"
	refused "'*' and a name resolving to $a ($cl): 403, which address and why" "HTTP/1.1 403 Forbidden" \
		"$n resolves to $a, $art $cl address no rule names"
done
nothing_to_d "address literals and loopback names"

# ---- SOCKS5 ------------------------------------------------------------------------
cat >"$T/socks.py" <<'EOF'
import socket, struct, sys
port, case = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(3)
def recvn(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            break
        b += d
    return b
def closed():
    try:
        return "closed" if s.recv(1) == b"" else "more"
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "reset"
def addr(atyp, a):
    if atyp == 1:
        return socket.inet_aton(a)
    if atyp == 4:
        return socket.inet_pton(socket.AF_INET6, a)
    return bytes([len(a)]) + a.encode("latin-1")
if case == "methods":
    s.sendall(bytes.fromhex(args[0]))
    print(recvn(2).hex(), closed())
    sys.exit()
cmd, atyp, host, dport = int(args[0]), int(args[1]), args[2], int(args[3])
data = args[4].encode() if len(args) > 4 else b""
req = b"\x05\x01\x00" + bytes([5, cmd, 0, atyp]) + addr(atyp, host) + struct.pack(">H", dport)
s.sendall(req + data if case == "pipelined" else req)
m = recvn(2)
if m != b"\x05\x00":
    print("method", m.hex(), closed())
    sys.exit()
r = recvn(4)
if len(r) < 4:
    print("short", r.hex(), closed())
    sys.exit()
if r[3] == 1:
    recvn(6)
elif r[3] == 4:
    recvn(18)
elif r[3] == 3:
    recvn(recvn(1)[0] + 2)
if r[1] != 0:
    print("rep=%02x" % r[1], closed())
    sys.exit()
if case != "pipelined" and data:
    s.sendall(data)
got = recvn(len(data))
print("rep=00", got.decode("latin-1"))
EOF
socks() { "$PY" "$T/socks.py" "$P" "$@" 2>&1; }
is "SOCKS5 CONNECT by domain to an allowed host: 0x00, then a tunnel" "rep=00 hello" \
	"$(socks connect 1 3 a.test "$E" hello)"
is "SOCKS5: the request and data in one write: the data arrives" "rep=00 early" \
	"$(socks pipelined 1 3 a.test "$E" early)"
is "SOCKS5 CONNECT by IPv4 to an address a rule names: 0x00" "rep=00 v4" \
	"$(socks connect 1 1 127.0.0.1 "$E" v4)"
is "SOCKS5 CONNECT to a host no rule names: 0x02, closed" "rep=02 closed" \
	"$(socks connect 1 3 deny.test "$D")"
is "SOCKS5 CONNECT to an allowed host's other port: 0x02" "rep=02 closed" \
	"$(socks connect 1 3 a.test "$D")"
is "SOCKS5 deny beats allow: 0x02" "rep=02 closed" "$(socks connect 1 3 bad.test "$E")"
is "SOCKS5 CONNECT 169.254.169.254: 0x02" "rep=02 closed" "$(socks connect 1 1 169.254.169.254 80)"
if [ -n "$have6" ]; then
	is "SOCKS5 CONNECT [::1] named by a rule: 0x00" "rep=00 v6" "$(socks connect 1 4 ::1 "$e6_port" v6)"
	is "SOCKS5 CONNECT [::1] on another port: 0x02" "rep=02 closed" "$(socks connect 1 4 ::1 "$D")"
fi
is "SOCKS5 BIND: 0x07" "rep=07 closed" "$(socks connect 2 3 a.test "$E")"
is "SOCKS5 UDP ASSOCIATE: 0x07" "rep=07 closed" "$(socks connect 3 3 a.test "$E")"
is "SOCKS5 command 9: 0x07" "rep=07 closed" "$(socks connect 9 3 a.test "$E")"
is "SOCKS5 address type 5: 0x08" "rep=08 closed" "$(socks connect 1 5 a.test "$E")"
is "SOCKS5 to an allowed name that does not resolve: 0x04" "rep=04 closed" \
	"$(socks connect 1 3 nowhere.invalid 80)"
is "SOCKS5 to an allowed host, port closed: 0x05" "rep=05 closed" "$(socks connect 1 3 a.test "$C")"
is "SOCKS5 with username/password only: 0xFF" "05ff closed" "$(socks methods 050102)"
is "SOCKS5 with GSSAPI and username/password: 0xFF" "05ff closed" "$(socks methods 05020102)"
is "SOCKS5 with no method at all: 0xFF" "05ff closed" "$(socks methods 0500)"
is "SOCKS5 domain with CR LF: refused" "rep=02 closed" \
	"$(socks connect 1 3 $'a.test\r\nX: y' "$E" 2>&1 | sed 's/rep=0[148]/rep=02/')"
nothing_to_d "SOCKS5"

# ---- the audit records ---------------------------------------------------------------
sel='[.op, .proto, .host, .port, .addr, .decision, .errno, .rule, .reason, .bytes_out, .bytes_in, .limit, .mount, .session] | map(tostring) | join(" ")'
r0=$(settled)
"$PY" - "$P" "$E" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"CONNECT a.test:%s HTTP/1.1\r\n\r\n" % sys.argv[2].encode())
h = b""
while b"\r\n\r\n" not in h:
    h += s.recv(1)
s.sendall(b"z" * 1000)
got = 0
while got < 1000:
    got += len(s.recv(1000 - got))
s.close()
EOF
waitfor 3 more p1 "$r0"
is "record of a tunnel of 1,000 bytes each way" \
	"connect connect a.test $E 127.0.0.1 allow null --allow-host null 1000 1000 null p1 s1" \
	"$(tail -n 1 "$T/p1.log" | jq -r "$sel")"
is "... its fields in the order of lib/audit.c" "v ts mount session op proto host port addr decision rule bytes_out bytes_in duration_ms" \
	"$(tail -n 1 "$T/p1.log" | jq -r '[keys_unsorted[] | select(. != "pid" and . != "comm" and . != "reason")] | join(" ")')"
is "... one write a record, one line" 1 "$(tail -n 1 "$T/p1.log" | jq -c . | wc -l)"
r0=$(settled)
ask $P "GET http://a.test:$H/hello HTTP/1.1\r\nHost: a.test:$H\r\nX-Pad: 12345\r\n\r\n"
waitfor 3 more p1 "$r0"
headlen=$(tail -n 1 "$T/h.log" | awk '{print $3}')
is "record of a GET: bytes_out the head sent, bytes_in the whole answer (head and 19 bytes)" \
	"connect http a.test $H 127.0.0.1 allow null --allow-host null $headlen $(($(wc -c <"$T/reply"))) null p1 s1" \
	"$(tail -n 1 "$T/p1.log" | jq -r "$sel")"
r0=$(settled)
ask $P "CONNECT nope.example.net:443 HTTP/1.1\r\n\r\n"
waitfor 3 more p1 "$r0"
is "record of a refusal by no rule: deny, EACCES, the reason" \
	"connect connect nope.example.net 443 null deny EACCES null no rule allows nope.example.net:443 null null null p1 s1" \
	"$(tail -n 1 "$T/p1.log" | jq -r "$sel")"
r0=$(settled)
ask $P "CONNECT bad.test:$E HTTP/1.1\r\n\r\n"
waitfor 3 more p1 "$r0"
is "record of a refusal by a deny rule: the rule" \
	"connect connect bad.test $E null deny EACCES --deny-host bad.test:$E is denied by --deny-host (bad.test) null null null p1 s1" \
	"$(tail -n 1 "$T/p1.log" | jq -r "$sel")"
r0=$(settled)
ask $P "CONNECT a.test:$C HTTP/1.1\r\n\r\n"
is "CONNECT to an allowed port where nothing listens: 502" "HTTP/1.1 502 Bad Gateway closed" "$st $closed"
waitfor 3 more p1 "$r0"
is "... its record: allowed, ECONNREFUSED" "connect connect a.test $C 127.0.0.1 allow ECONNREFUSED --allow-host" \
	"$(tail -n 1 "$T/p1.log" | jq -r '[.op, .proto, .host, .port, .addr, .decision, .errno, .rule] | map(tostring) | join(" ")')"
r0=$(settled)
socks connect 1 3 a.test "$E" s5 >/dev/null
waitfor 3 more p1 "$r0"
is "record of a SOCKS5 tunnel" "connect socks5 a.test $E 127.0.0.1 allow null --allow-host null 2 2 null p1 s1" \
	"$(tail -n 1 "$T/p1.log" | jq -r "$sel")"
if jq -e . "$T/p1.log" >/dev/null; then ok "every line of the log is JSON"; else not_ok "every line of the log is JSON"; fi

# A policy file's network: section, its rules named FILE:LINE.
cat >"$T/net.yaml" <<EOF
version: 1
rules:
  - pattern: "**"
    permission: none
network:
  allow:
    - a.test:$E
    - host: 127.0.0.1
      ports: [$E]
      reason: the echo server
  deny:
    - host: deny.test
      reason: never
EOF
proxy p4 -p "$T/net.yaml" -a "$T/p4.log"
IDLE=1 ask $p4_port "CONNECT a.test:$E HTTP/1.1\r\n\r\npol"
is "-p POLICY: its network: allow list" "HTTP/1.1 200 Connection established pol" "$st $(cat "$T/body")"
ask $p4_port "CONNECT deny.test:$E HTTP/1.1\r\n\r\n"
refused "-p POLICY: its deny list, the rule FILE:LINE" "HTTP/1.1 403 Forbidden" \
	"deny.test:$E is denied by $T/net.yaml:12 (deny.test)"
waitfor 3 more p4 1
# The rule of an allowed connection is the one that allowed the host asked
# for (lib/netpolicy.h, netpolicy_check_addr), not the address rule that
# let its loopback address through.
is "-p POLICY: the records name FILE:LINE of the host's rule" "$T/net.yaml:12 $T/net.yaml:7" \
	"$(jq -r .rule "$T/p4.log" | sort | tr '\n' ' ' | sed 's/ $//')"
proxy p5 -p agent-safe
ask $p5_port "CONNECT a.test:$E HTTP/1.1\r\n\r\n"
refused "-p PRESET without a network: section: nothing allowed" "HTTP/1.1 403 Forbidden" "no rule allows a.test:$E"

# ---- usage and exit statuses -------------------------------------------------------
run afs-proxy --allow-host a.test
is "no --listen nor --relay-fd: 2" 2 "$rc"
run afs-proxy --listen 127.0.0.1:$P --allow-host a.test
is "--listen on a port in use: 1" 1 "$rc"
run afs-proxy --listen 127.0.0.1:0x --allow-host a.test
is "--listen with a bad port: 2" 2 "$rc"
run afs-proxy --listen 127.0.0.1:1 --allow-host 'a test'
is "--allow-host with a bad pattern: 2, one line" "2 1" "$rc $(wc -l <"$T/err")"
run afs-proxy --listen 127.0.0.1:1 --allow-host 'a.test:0'
is "--allow-host with port 0: 2" 2 "$rc"
printf 'network:\n  allow:\n    - "a test"\n' >"$T/badnet.yaml"
run afs-proxy --listen 127.0.0.1:1 -p "$T/badnet.yaml"
is "-p with a bad network: section: 2, the file and line" "2 yes" \
	"$rc $(grep -q "$T/badnet.yaml:3" "$T/err" && echo yes)"
run afs-proxy --listen 127.0.0.1:1 --allow-host a.test --max-bytes 12Q
is "bad --max-bytes: 2" 2 "$rc"
run afs-proxy --listen 127.0.0.1:1 --allow-host a.test --max-connections 0
is "bad --max-connections: 2" 2 "$rc"

# ---- limits ----------------------------------------------------------------------
proxy p6 --allow-host "a.test:$E" --allow-host "127.0.0.1:$E" --max-connections 2 -a "$T/p6.log"
is "--max-connections 2: two tunnels, the third refused with 503, SOCKS 0x01; a place freed is taken" \
	"200 200 503 socks=01 200" "$("$PY" - "$p6_port" "$E" <<'EOF'
import socket, sys, time
port, e = int(sys.argv[1]), sys.argv[2].encode()
def tunnel():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    s.sendall(b"CONNECT a.test:%s HTTP/1.1\r\n\r\n" % e)
    h = b""
    while b"\r\n\r\n" not in h:
        d = s.recv(1)
        if not d:
            break
        h += d
    return s, h.split(b" ")[1].decode() if b" " in h else "closed"
a, ca = tunnel()
b, cb = tunnel()
c, cc = tunnel()
c.close()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
s.sendall(b"\x05\x01\x00\x05\x01\x00\x03\x06a.test" + int(e).to_bytes(2, "big"))
r = b""
try:
    while True:
        d = s.recv(64)
        if not d:
            break
        r += d
except OSError:
    pass
# The method reply (05 00) may come first; the request's reply holds REP.
rep = r[3] if r[:2] == b"\x05\x00" and len(r) > 3 else (r[1] if len(r) > 1 else -1)
s.close()
a.close()
time.sleep(0.5)
d, cd = tunnel()
print(ca, cb, cc, "socks=%02x" % rep, cd)
EOF
)"

proxy p7 --allow-host "a.test:$E,$H,$K" --allow-host "127.0.0.1:$E,$H,$K" --max-bytes 1M -a "$T/p7.log"
# cut.py PORT TARGET_PORT: a tunnel, 3 MiB sent, what comes back counted.
cat >"$T/cut.py" <<'EOF'
import socket, sys, threading
port, e = int(sys.argv[1]), sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
s.sendall(b"CONNECT a.test:%s HTTP/1.1\r\n\r\n" % e)
h = b""
while b"\r\n\r\n" not in h:
    h += s.recv(1)
def pump():
    try:
        for _ in range(48):
            s.sendall(b"q" * 65536)
    except OSError:
        pass
threading.Thread(target=pump, daemon=True).start()
got = 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
except OSError:
    pass
print(got)
EOF
out=$("$PY" "$T/cut.py" "$p7_port" "$E")
waitfor 3 more p7 0
is "--max-bytes 1M, 3 MiB sent through a tunnel to the echo server: the record says limit bytes, 1 MiB out" \
	"bytes 1048576" "$(tail -n 1 "$T/p7.log" | jq -r '"\(.limit) \(.bytes_out)"')"
if [ "$out" -le 1048576 ] 2>/dev/null; then ok "... at most 1 MiB came back ($out)"; else not_ok "... at most 1 MiB came back ($out)"; fi
r0=$(lines p7)
out=$("$PY" "$T/cut.py" "$p7_port" "$K")
waitfor 3 more p7 "$r0"
is "--max-bytes 1M, 3 MiB sent to a server that only reads: limit bytes, 1 MiB out" \
	"bytes 1048576" "$(tail -n 1 "$T/p7.log" | jq -r '"\(.limit) \(.bytes_out)"')"
waitfor 3 grep -q "^end 1 " "$T/k.log"
is "... and the server received exactly 1 MiB" "end 1 1048576" "$(grep '^end' "$T/k.log")"
r0=$(lines p7)
curl -sS -x "http://127.0.0.1:$p7_port" -o "$T/big" "http://a.test:$H/size/3145728" 2>"$T/curl.err"
crc=$?
waitfor 3 more p7 "$r0"
is "--max-bytes 1M, a GET of 3 MiB: curl sees the body cut (18)" 18 "$crc"
is "... the record: limit bytes, 1 MiB in" "bytes 1048576" "$(tail -n 1 "$T/p7.log" | jq -r '"\(.limit) \(.bytes_in)"')"

# Memory: 200 MiB each way through one tunnel.
proxy p8 --allow-host "a.test:$M" --allow-host "127.0.0.1:$M"
secs=$("$PY" - "$p8_port" "$M" <<'EOF'
import socket, sys, threading, time
port, m = int(sys.argv[1]), sys.argv[2].encode()
N = 200 << 20
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"CONNECT a.test:%s HTTP/1.1\r\n\r\n" % m)
h = b""
while b"\r\n\r\n" not in h:
    h += s.recv(1)
buf = b"m" * (1 << 20)
t0 = time.time()
def pump():
    for _ in range(N >> 20):
        s.sendall(buf)
threading.Thread(target=pump, daemon=True).start()
got = 0
while got < N:
    d = s.recv(1 << 20)
    if not d:
        break
    got += len(d)
s.close()
print("%d %.1f" % (got, time.time() - t0))
EOF
)
is "200 MiB through a tunnel and back" $((200 << 20)) "${secs% *}"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$p8_pid/status")
if [ -n "$hwm" ] && [ "$hwm" -lt 20480 ]; then
	ok "afs-proxy's peak RSS stays below 20 MiB (${hwm} kB, ${secs#* } s)"
else
	not_ok "afs-proxy's peak RSS stays below 20 MiB"; diag "VmHWM ${hwm:-?} kB"
fi

# ---- signals -------------------------------------------------------------------
"$PY" - "$p1_port" "$E" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"CONNECT a.test:%s HTTP/1.1\r\n\r\n" % sys.argv[2].encode())
time.sleep(10)
EOF
holder=$!
at_exit_kill $holder
sleep 0.3
kill -TERM "$p1_pid"
i=0
while kill -0 "$p1_pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$p1_pid" 2>/dev/null; then
	not_ok "SIGTERM with a tunnel open: afs-proxy exits within 3 s"
else
	wait "$p1_pid"
	is "SIGTERM with a tunnel open: afs-proxy exits 0 within 3 s" 0 "$?"
fi
kill "$holder" 2>/dev/null
for f in "$T"/p*.err; do
	if grep -qE 'Sanitizer|runtime error' "$f"; then not_ok "$(basename "$f"): a sanitizer report"; diag "$(cat "$f")"; fi
done

# ---- from inside a sandbox ---------------------------------------------------------
if ! afs-launch --help 2>&1 | grep -q -- --allow-host; then
	not_ok "afs-launch takes --allow-host"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	skip "attacks from a sandbox" "not root"
	exit 0
fi
ws=$T/ws
mkdir -p "$ws"
cp "$T/socks.py" "$ws/"
chmod -R a+rX "$ws"
L() { afs-launch -m "$ws" "$@"; }
run env -u AFS_PROXY_RESOLVE afs-launch -m "$ws" --allow-host '*' -- sh -c '
	for u in http://127.0.0.1:'"$H"'/hello http://localhost:'"$H"'/hello http://169.254.169.254/ \
		http://[::1]:'"$H"'/hello http://0.0.0.0:'"$H"'/hello; do
		curl -sS --noproxy "" -x http://127.0.0.1:3128 -o /dev/null -w "%{http_code} " "$u"
	done'
is "sandbox, '*': the host's loopback and metadata addresses through the proxy: 403 each" \
	"403 403 403 403 403 " "$(cat "$T/out")"
run L --allow-host "a.test:$H" -- python3 -c '
import socket, errno
out = []
for a in (("127.0.0.1", 3128), ("::1", 3128)):
    try:
        s = socket.socket(socket.AF_INET6 if ":" in a[0] else socket.AF_INET)
        s.bind(a)
        out.append("bound")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(*out)'
case $(cat "$T/out") in
"EADDRINUSE EADDRINUSE" | "EADDRINUSE EADDRNOTAVAIL") ok "sandbox: the command cannot take the proxy's port ($(cat "$T/out"))" ;;
*) not_ok "sandbox: the command cannot take the proxy's port"; diag "$(cat "$T/out") $(cat "$T/err")" ;;
esac
run L --allow-host "a.test:$H" -- python3 -c '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
me = os.getpid()
got = []
for p in sorted(int(x) for x in os.listdir("/proc") if x.isdigit()):
    if p == me:
        continue
    try:
        fds = os.listdir("/proc/%d/fd" % p)
    except OSError as e:
        fds = []
    for f in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (p, f)).startswith("socket:"):
                got.append("%d:%s listed" % (p, f))
        except OSError:
            pass
    pfd = libc.syscall(434, p, 0)  # pidfd_open
    if pfd < 0:
        continue
    for f in range(0, 64):
        fd = libc.syscall(438, pfd, f, 0)  # pidfd_getfd
        if fd >= 0:
            got.append("%d:%d taken" % (p, f))
            os.close(fd)
    os.close(pfd)
print(" ".join(got) or "none")'
is "sandbox: no process shows or gives away a socket (the relay's, the listener)" "none" "$(cat "$T/out")"
run L --allow-host "a.test:$E" -- python3 socks.py 3128 connect 1 1 127.0.0.1 "$D"
is "sandbox: SOCKS5 to the host's 127.0.0.1: 0x02" "rep=02 closed" "$(cat "$T/out")"
nothing_to_d "attacks from a sandbox"

# ---- the host's resolver ------------------------------------------------------------
# afs-proxy with no AFS_PROXY_RESOLVE, in a mount, network and pid
# namespace of this test's own (everything in it dies with its pid 1),
# where resolv.conf names a name server of the test's on 127.0.0.1:53 and
# the search list "corp.test".  The name asked for must be the name the
# rules decided: "db" looked up as "db.corp.test" (which resolves) would
# reach a host that no rule named.  A name whose server does not answer
# must end by --connect-timeout, and at once when afs-proxy stops, with
# its record.
if ! command -v unshare >/dev/null; then
	skip "the host's resolver, in namespaces of the test's own" "no unshare(1)"
	exit 0
fi
if ! unshare -m -n -p -f --mount-proc --kill-child true 2>"$T/err"; then
	skip "the host's resolver, in namespaces of the test's own" "unshare -m -n -p fails: $(head -n 1 "$T/err")"
	exit 0
fi
printf 'nameserver 127.0.0.1\nsearch corp.test\noptions ndots:1 attempts:1 timeout:10\n' >"$T/resolv.conf"
printf '127.0.0.1\tlocalhost\n127.0.0.1\thosts.test\n' >"$T/hosts"
printf 'hosts: files dns\n' >"$T/nsswitch.conf"
# dns.py LOG READY: log each question as "NAME TYPE"; A 127.0.0.1 for
# db.corp.test, NXDOMAIN for the rest; slow.test: no answer.
cat >"$T/dns.py" <<'PY'
import socket, struct, sys
log = open(sys.argv[1], "a")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[2], "w").close()
while True:
    q, a = s.recvfrom(512)
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    name = ".".join(labels).lower()
    log.write("%s %d\n" % (name, qtype))
    log.flush()
    if name == "slow.test":
        continue
    head, question = q[:2], q[12:i + 5]
    if name == "db.corp.test" and qtype == 1:
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        r = head + b"\x81\x80" + struct.pack(">HHHH", 1, 1, 0, 0) + question + rr
    elif name == "db.corp.test":
        r = head + b"\x81\x80" + struct.pack(">HHHH", 1, 0, 0, 0) + question
    else:
        r = head + b"\x81\x83" + struct.pack(">HHHH", 1, 0, 0, 0) + question
    s.sendto(r, a)
PY
# resolver.sh: runs as pid 1 of the namespaces; one line per result.
cat >"$T/resolver.sh" <<'SH'
set -u
# ask NAME: "NAME: STATUS | BODY" of CONNECT NAME:9 through the proxy, or
# "NAME: nothing, closed" (netserv.py's status 0: closed by the proxy).
ask() {
	echo "== $1" >>"$T/dns.log"
	printf 'CONNECT %s:9 HTTP/1.1\r\n\r\n' "$1" | "$PY" "$NS" send 3128 --idle 20 >"$T/reply.$1.$2"
	"$PY" -c 'import sys
d = open(sys.argv[1], "rb").read().decode("ascii", "replace")
print(sys.argv[2] + ": " + (d.split("\r\n")[0] + " | " + d.split("\r\n\r\n")[-1].strip() if d
      else "nothing, " + ("closed" if sys.argv[3] == "0" else "status " + sys.argv[3])))' \
		"$T/reply.$1.$2" "$1" "$?"
}
for f in resolv.conf hosts nsswitch.conf; do
	mount --bind "$T/$f" "/etc/$f" || exit 1
done
"$PY" -c 'import fcntl, socket, struct
s = socket.socket()
f = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", f | 1))' || exit 1	# SIOC[GS]IFFLAGS: lo up
"$PY" "$T/dns.py" "$T/dns.log" "$T/dns.ready" 2>"$T/dns.err" &
i=0
until [ -e "$T/dns.ready" ]; do
	i=$((i + 1)); [ $i -ge 100 ] && { echo "dns.py did not start: $(cat "$T/dns.err")"; exit 1; }
	sleep 0.1
done
mkfifo "$T/r.ready"
env --default-signal=INT,TERM afs-proxy --listen 127.0.0.1:3128 --ready-fd 3 --allow-host '*' \
	--allow-host 127.0.0.1:9 --connect-timeout 2 -a "$T/r.log" 3>"$T/r.ready" 2>"$T/r.err" &
p=$!
line=
read -r -t 10 line <"$T/r.ready"
[ "$line" = ready ] || { echo "afs-proxy did not get ready: $(cat "$T/r.err")"; exit 1; }
for h in db.corp.test db db.prod hosts.test; do
	ask "$h" 1
done
t0=${EPOCHREALTIME/./}
ask slow.test 1
echo "slow ms: $(((${EPOCHREALTIME/./} - t0) / 1000))"
ask slow.test 2 >"$T/stopped" &
a=$!
i=0
until [ "$(grep -c '^slow.test ' "$T/dns.log")" -ge 4 ]; do
	i=$((i + 1)); [ $i -ge 100 ] && break
	sleep 0.1
done
t0=${EPOCHREALTIME/./}
kill -TERM $p
i=0
while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $p 2>/dev/null; then
	echo "stop: still running"
else
	wait $p
	echo "stop: $? in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
fi
wait $a
cat "$T/stopped"
SH
rm -f "$T/dns.log"
env -u AFS_PROXY_RESOLVE T="$T" PY="$PY" NS="$NS" \
	unshare -m -n -p -f --mount-proc --kill-child bash "$T/resolver.sh" >"$T/res.out" 2>"$T/res.err" &
res_pid=$!
at_exit_kill $res_pid
wait $res_pid
[ -s "$T/res.err" ] && diag "$(cat "$T/res.err")"
# asked NAME: the names the name server was asked while NAME was.
asked() {
	awk -v h="== $1" '/^==/ { on = $0 == h; next } on { print $1 }' "$T/dns.log" | sort -u | tr '\n' ' '
}
res() { grep -m 1 "^$1" "$T/res.out"; }
is "resolver, control: db.corp.test resolves (to 127.0.0.1, where nothing listens on port 9)" \
	"db.corp.test: HTTP/1.1 502 Bad Gateway | afs-proxy: cannot connect to db.corp.test:9 (127.0.0.1): Connection refused" \
	"$(res db.corp.test:)"
is "resolver, search corp.test: CONNECT db is not db.corp.test (502, cannot resolve)" \
	"db: HTTP/1.1 502 Bad Gateway | afs-proxy: cannot resolve db: Name or service not known" "$(res db:)"
is "... the name server was asked for db only" "db " "$(asked db)"
is "resolver, search corp.test: CONNECT db.prod is not db.prod.corp.test (502, cannot resolve)" \
	"db.prod: HTTP/1.1 502 Bad Gateway | afs-proxy: cannot resolve db.prod: Name or service not known" \
	"$(res db.prod:)"
is "... the name server was asked for db.prod only" "db.prod " "$(asked db.prod)"
is "resolver: a name of /etc/hosts still resolves, without a question to the name server" \
	"hosts.test: HTTP/1.1 502 Bad Gateway | afs-proxy: cannot connect to hosts.test:9 (127.0.0.1): Connection refused ''" \
	"$(res hosts.test:) '$(asked hosts.test)'"
is "resolver: a name server that does not answer: 504 at --connect-timeout 2" \
	"slow.test: HTTP/1.1 504 Gateway Timeout | afs-proxy: cannot resolve slow.test: no answer within --connect-timeout" \
	"$(res slow.test:)"
ms=$(res "slow ms:")
ms=${ms#slow ms: }
if [ -n "$ms" ] && [ "$ms" -lt 5000 ]; then ok "... within 5 s, not the resolver's 10 ($ms ms)"; else not_ok "... within 5 s, not the resolver's 10 (${ms:-?} ms)"; fi
is "... asked as slow.test only" "slow.test " "$(asked slow.test)"
st=$(res "stop:")
case $st in
"stop: 0 in "*) ms=${st#stop: 0 in }; ms=${ms% ms}
	if [ "$ms" -lt 900 ]; then ok "SIGTERM during a lookup: afs-proxy exits 0 at once ($ms ms)"
	else not_ok "SIGTERM during a lookup: afs-proxy exits 0 at once ($ms ms)"; fi ;;
*) not_ok "SIGTERM during a lookup: afs-proxy exits 0 at once"; diag "$st" "$(cat "$T/res.out")" ;;
esac
is "... the client gets no answer, the connection closed" "slow.test: nothing, closed" \
	"$(tail -n 1 "$T/res.out")"
is "... and the record says so" "slow.test allow afs-proxy stopped" \
	"$(tail -n 1 "$T/r.log" | jq -r '"\(.host) \(.decision) \(.reason)"')"
if grep -qE 'Sanitizer|runtime error' "$T/r.err"; then not_ok "resolver: a sanitizer report"; diag "$(cat "$T/r.err")"; fi

# ---- the host's own address, the log's bound, floods, SIGUSR1 ------------------
# A public address of the host itself is refused like a loopback one: in a
# network namespace of our own, 8.8.8.8 is an address of lo; 8.8.4.4 is
# not ours (and unreachable there).
if unshare -n true 2>/dev/null; then
	cat >"$T/own.sh" <<'X'
ip link set lo up && ip addr add 8.8.8.8/32 dev lo || exit 9
AFS_PROXY_RESOLVE='own.test=8.8.8.8;far.test=8.8.4.4' afs-proxy --listen 127.0.0.1:3128 \
	--allow-host '*' --allow-host 8.8.8.8:81 -a "$1/own.log" 2>"$1/own.err" &
p=$!
for i in $(seq 50); do "$2" -c 'import socket; socket.create_connection(("127.0.0.1", 3128))' 2>/dev/null && break; sleep 0.1; done
for t in own.test:80 far.test:80 own.test:81; do
	printf 'CONNECT %s HTTP/1.1\r\n\r\n' "$t" | "$2" "$3" send 3128 --idle 3 | head -n 1 | tr -d '\r'
done
kill $p
wait $p
X
	timeout 30 unshare -n bash "$T/own.sh" "$T" "$PY" "$NS" >"$T/own.out" 2>&1
	is "own address: refused, another public one tried, the own one allowed when a rule names it" \
		"HTTP/1.1 403 Forbidden
HTTP/1.1 502 Bad Gateway
HTTP/1.1 502 Bad Gateway" "$(cat "$T/own.out")"
	is "own address: the record's reason" \
		"deny EACCES own.test resolves to 8.8.8.8, an address of this host no rule names" \
		"$(head -n 1 "$T/own.log" | jq -r '"\(.decision) \(.errno) \(.reason)"')"
	is "own address named by a rule: allowed, the connect refused" "allow ECONNREFUSED 8.8.8.8" \
		"$(sed -n 3p "$T/own.log" | jq -r '"\(.decision) \(.errno) \(.addr)"')"
else
	skip "own address" "unshare -n does not work here"
fi

# The log is bounded as afs-fuse bounds it: past --audit-max-bytes, records
# are dropped and counted, and one audit-dropped record says how many.
: >"$T/cap.log"
proxy cap --allow-host x.test -a "$T/cap.log" --audit-max-bytes 2K
"$PY" - "$cap_port" <<'X'
import socket, sys
for i in range(40):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"CONNECT evil.test:80 HTTP/1.1\r\n\r\n")
    while s.recv(4096):
        pass
    s.close()
X
kill -TERM "$cap_pid"
wait "$cap_pid"
is "--audit-max-bytes: afs-proxy exits 0" 0 "$?"
n=$(grep -c '"op":"connect"' "$T/cap.log")
size=$(stat -c %s "$T/cap.log")
if [ "$n" -gt 0 ] && [ "$n" -lt 40 ] && [ "$size" -le 2300 ]; then
	ok "--audit-max-bytes 2K: $n of 40 records, $size bytes"
else
	not_ok "--audit-max-bytes 2K: $n of 40 records, $size bytes"
fi
is "--audit-max-bytes: the rest counted in one audit-dropped record" "audit-dropped $((40 - n))" \
	"$(tail -n 1 "$T/cap.log" | jq -r '"\(.op) \(.count)"')"
is "--audit-max-bytes: one warning" 1 "$(grep -c 'is full (--audit-max-bytes 2048)' "$T/cap.err")"

# A flood beyond --max-connections and its spare threads: one record a
# second with a count, not one per connection.
proxy fl --allow-host '*' --max-connections 1 --head-timeout 20 -a "$T/fl.log"
"$PY" - "$fl_port" >"$T/fl.out" <<'X'
import socket, sys, time
port = int(sys.argv[1])
hold = []
for i in range(17):		# the one served and the 16 spare threads, all waiting for a head
    hold.append(socket.create_connection(("127.0.0.1", port)))
time.sleep(0.5)
t0 = time.time()
n = 0
while time.time() - t0 < 2.5:
    s = socket.create_connection(("127.0.0.1", port))
    s.close()
    n += 1
print(n)
X
kill -TERM "$fl_pid"
wait "$fl_pid"
flood=$(cat "$T/fl.out")
recs=$(grep -c 'too many connections' "$T/fl.log")
total=$(jq -s '[.[] | select(.reason == "too many connections (limit 1)") | (.count // 1)] | add' "$T/fl.log")
if [ "$recs" -ge 1 ] && [ "$recs" -le 5 ] && [ "$flood" -gt 50 ]; then
	ok "a flood of $flood connections past the limit: $recs records"
else
	not_ok "a flood of $flood connections past the limit: $recs records"
fi
is "... whose counts add up to the flood" "$flood" "$total"

# SIGUSR1 opens -a FILE again (logrotate moved it).
proxy ro --allow-host x.test -a "$T/ro.log"
ask "$ro_port" 'CONNECT one.test:80 HTTP/1.1\r\n\r\n'
mv "$T/ro.log" "$T/ro.log.1"
kill -USR1 "$ro_pid"
sleep 0.3
ask "$ro_port" 'CONNECT two.test:80 HTTP/1.1\r\n\r\n'
kill -TERM "$ro_pid"
wait "$ro_pid"
is "SIGUSR1: afs-proxy goes on, then exits 0" 0 "$?"
is "SIGUSR1: the old file has the record before" "one.test" "$(jq -r .host "$T/ro.log.1")"
is "SIGUSR1: a new file has the record after" "two.test" "$(jq -r .host "$T/ro.log")"
