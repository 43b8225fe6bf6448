#!/usr/bin/env python3
"""netserv.py - test servers and clients for the network tests (t2005,
t5013) and bench/net-bench.sh.  Python 3 standard library only.

Servers (each writes its port, once listening, to PORTFILE: written to
PORTFILE.tmp and renamed, so a reader never sees half of it; SIGTERM ends
it at once):

  netserv.py http PORTFILE [--bind ADDR] [--tls CERT KEY] [--log FILE]
                  [--sendfile FILE]
      An HTTP/1.1 server with exact, fixed answers (no Date, no Server:
      the bytes of every answer are known to the test).  Every answer
      ends the connection (Connection: close).
        GET /hello       "hello from netserv\\n"
        GET /size/N      N bytes of 'x', Content-Length N, from memory
        GET /stream/N    N bytes of 'x', chunked
        GET /head        the request head as this server received it
        anything else    404, body "not found\\n"
      --sendfile FILE: the bodies of /size/N are FILE's bytes, over and
      over, by sendfile(2) (no copy through this process: a faster
      source for the benchmark; FILE must hold only 'x').
      --log FILE: one line per request, "METHOD TARGET HEADLEN", where
      HEADLEN counts the bytes of the head up to its empty line included.
      The head of an answer is exactly
        HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n
        Content-Length: N\\r\\nConnection: close\\r\\n\\r\\n
      (chunked: Transfer-Encoding: chunked instead of Content-Length).

  netserv.py echo PORTFILE [--bind ADDR] [--record PREFIX] [--no-echo]
                  [--log FILE]
      A raw TCP server: sends back every byte it receives (unless
      --no-echo), and with --record appends them to PREFIX.N for its Nth
      connection (from 1), as they arrive.  --log FILE: "conn N" when the
      Nth connection is accepted, "end N BYTES" when it ends.

Clients:

  netserv.py send PORT [--host H] [--idle S] [--chunks N --delay S]
      Connect, send standard input's bytes exactly (in N pieces, S seconds
      apart, when asked), and meanwhile write every byte received to
      standard output, until the peer closes (exit 0) or, all sent (or
      30 s gone), nothing came for S seconds (--idle, default 5; exit 3,
      the connection still open).  A reset by the peer: exit 4, after
      what was received.

  netserv.py latency URL COUNT [--proxy HOST:PORT]
      COUNT sequential GETs of URL (http, a new connection each, exact
      "200" and whole body checked), directly or through the proxy with
      an absolute URI; prints each request's time in microseconds, one a
      line.
"""

import os
import select
import signal
import socket
import ssl
import sys
import threading
import time

HEAD_MAX = 1 << 20
CHUNK = 1 << 20
XBUF = memoryview(b"x" * CHUNK)


def die(msg):
	sys.stderr.write("netserv: %s\n" % msg)
	sys.exit(2)


def write_port(path, port):
	tmp = path + ".tmp"
	with open(tmp, "w") as f:
		f.write("%d\n" % port)
	os.rename(tmp, path)


def listen(bind):
	fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_STREAM)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind((bind, 0))
	s.listen(128)
	return s


class Log:
	def __init__(self, path):
		self.f = open(path, "a", buffering=1) if path else None
		self.lock = threading.Lock()

	def line(self, text):
		if self.f:
			with self.lock:
				self.f.write(text + "\n")


def read_head(c):
	"""The bytes up to and including the empty line, or None."""
	buf = b""
	while b"\r\n\r\n" not in buf:
		if len(buf) > HEAD_MAX:
			return None
		d = c.recv(65536)
		if not d:
			return None
		buf += d
	return buf[:buf.index(b"\r\n\r\n") + 4]


def answer_head(status, length=None, chunked=False):
	h = "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n" % status
	if chunked:
		h += "Transfer-Encoding: chunked\r\n"
	else:
		h += "Content-Length: %d\r\n" % length
	return (h + "Connection: close\r\n\r\n").encode()


def send_x(c, n, src=None):
	if src is not None:
		size = os.fstat(src).st_size
		while n > 0:
			off = 0
			while off < size and n > 0:
				k = os.sendfile(c.fileno(), src, off, min(size - off, n))
				if k <= 0:
					raise OSError("sendfile sent nothing")
				off += k
				n -= k
		return
	while n > 0:
		k = min(n, CHUNK)
		c.sendall(XBUF[:k])
		n -= k


def finish(c):
	"""End gracefully: FIN, then read what the client still sends (a
	pipelined request) so that the close is no reset."""
	try:
		c.shutdown(socket.SHUT_WR)
		c.settimeout(2)
		while c.recv(65536):
			pass
	except OSError:
		pass


def http_conn(c, log, tls, src):
	try:
		if tls:
			c = tls.wrap_socket(c, server_side=True)
		head = read_head(c)
		if head is None:
			return
		line = head.split(b"\r\n", 1)[0].decode("latin-1")
		parts = line.split(" ")
		method, target = (parts + ["", ""])[:2]
		log.line("%s %s %d" % (method, target, len(head)))
		if method == "GET" and target == "/hello":
			body = b"hello from netserv\n"
			c.sendall(answer_head("200 OK", len(body)) + body)
		elif method == "GET" and target.startswith("/size/"):
			n = int(target[6:])
			c.sendall(answer_head("200 OK", n))
			send_x(c, n, src if not tls else None)
		elif method == "GET" and target.startswith("/stream/"):
			n = int(target[8:])
			c.sendall(answer_head("200 OK", chunked=True))
			while n > 0:
				k = min(n, 65536)
				c.sendall(b"%x\r\n" % k + XBUF[:k] + b"\r\n")
				n -= k
			c.sendall(b"0\r\n\r\n")
		elif method == "GET" and target == "/head":
			c.sendall(answer_head("200 OK", len(head)) + head)
		else:
			body = b"not found\n"
			c.sendall(answer_head("404 Not Found", len(body)) + body)
		if tls:
			try:
				c.unwrap()
			except (OSError, ValueError):
				pass
		else:
			finish(c)
	except (OSError, ValueError):
		pass
	finally:
		c.close()


def echo_conn(c, n, log, record, echo):
	total = 0
	f = open("%s.%d" % (record, n), "ab", buffering=0) if record else None
	try:
		while True:
			d = c.recv(1 << 18)
			if not d:
				break
			total += len(d)
			if f:
				f.write(d)
			if echo:
				c.sendall(d)
	except OSError:
		pass
	finally:
		log.line("end %d %d" % (n, total))
		if f:
			f.close()
		c.close()


def serve(argv, kind):
	if not argv:
		die("usage: netserv.py %s PORTFILE [OPTIONS]" % kind)
	portfile = argv[0]
	bind, logpath, record, echo, tls, src = "127.0.0.1", None, None, True, None, None
	i = 1
	while i < len(argv):
		a = argv[i]
		if a == "--bind":
			bind = argv[i + 1]
			i += 2
		elif a == "--log":
			logpath = argv[i + 1]
			i += 2
		elif a == "--record" and kind == "echo":
			record = argv[i + 1]
			i += 2
		elif a == "--no-echo" and kind == "echo":
			echo = False
			i += 1
		elif a == "--sendfile" and kind == "http":
			src = os.open(argv[i + 1], os.O_RDONLY)
			i += 2
		elif a == "--tls" and kind == "http":
			tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
			tls.load_cert_chain(argv[i + 1], argv[i + 2])
			i += 3
		else:
			die("unknown option '%s'" % a)
	log = Log(logpath)
	s = listen(bind)
	write_port(portfile, s.getsockname()[1])
	n = 0
	while True:
		c, _ = s.accept()
		n += 1
		if kind == "http":
			t = threading.Thread(target=http_conn, args=(c, log, tls, src))
		else:
			log.line("conn %d" % n)
			t = threading.Thread(target=echo_conn, args=(c, n, log, record, echo))
		t.daemon = True
		t.start()


def send(argv):
	if not argv:
		die("usage: netserv.py send PORT [--host H] [--idle S] [--chunks N --delay S]")
	port = int(argv[0])
	host, idle, chunks, delay = "127.0.0.1", 5.0, 1, 0.0
	i = 1
	while i < len(argv):
		a, v = argv[i], argv[i + 1]
		if a == "--host":
			host = v
		elif a == "--idle":
			idle = float(v)
		elif a == "--chunks":
			chunks = int(v)
		elif a == "--delay":
			delay = float(v)
		else:
			die("unknown option '%s'" % a)
		i += 2
	data = sys.stdin.buffer.read()
	c = socket.create_connection((host, port))
	out = sys.stdout.buffer
	sent = threading.Event()

	def pump():
		# In a thread of its own, so that an answer that comes before
		# all is sent (a timeout, a refusal) is read when it comes.
		try:
			step = max(1, -(-len(data) // chunks))
			for k in range(0, len(data), step):
				if k:
					time.sleep(delay)
				c.sendall(data[k:k + step])
		except OSError:
			pass
		sent.set()

	t = threading.Thread(target=pump, daemon=True)
	t.start()
	# select, not a socket timeout: that would apply to pump's sends too.
	start = last = time.monotonic()
	status = 0
	try:
		while True:
			if not select.select([c], [], [], 0.1)[0]:
				now = time.monotonic()
				if not sent.is_set() and now - start < 30:
					last = now
				elif now - last >= idle:
					status = 3
					break
				continue
			d = c.recv(65536)
			if not d:
				break
			out.write(d)
			last = time.monotonic()
	except ConnectionResetError:
		status = 4
	out.flush()
	c.close()
	return status


def latency(argv):
	if len(argv) < 2:
		die("usage: netserv.py latency URL COUNT [--proxy HOST:PORT]")
	url, count = argv[0], int(argv[1])
	proxy = argv[3] if len(argv) > 3 and argv[2] == "--proxy" else None
	if not url.startswith("http://"):
		die("latency: an http:// URL")
	rest = url[7:]
	auth, _, path = rest.partition("/")
	host, _, port = auth.rpartition(":")
	if proxy:
		ph, _, pp = proxy.rpartition(":")
		to = (ph, int(pp))
		req = "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (url, auth)
	else:
		to = (host, int(port))
		req = "GET /%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, auth)
	req = req.encode()
	out = []
	for _ in range(count):
		t0 = time.perf_counter_ns()
		c = socket.create_connection(to)
		c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
		c.sendall(req)
		buf = b""
		while True:
			d = c.recv(65536)
			if not d:
				break
			buf += d
		c.close()
		t1 = time.perf_counter_ns()
		head, _, body = buf.partition(b"\r\n\r\n")
		if not head.startswith(b"HTTP/1.1 200 ") or \
				("Content-Length: %d" % len(body)).encode() not in head:
			die("latency: a bad answer: %r" % buf[:200])
		out.append((t1 - t0) // 1000)
	sys.stdout.write("".join("%d\n" % u for u in out))
	return 0


def main():
	signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
	if len(sys.argv) < 2:
		die("usage: netserv.py http|echo|send|latency ...")
	cmd, argv = sys.argv[1], sys.argv[2:]
	try:
		if cmd in ("http", "echo"):
			serve(argv, cmd)
		elif cmd == "send":
			sys.exit(send(argv))
		elif cmd == "latency":
			sys.exit(latency(argv))
		else:
			die("unknown command '%s'" % cmd)
	except KeyboardInterrupt:
		os._exit(0)


if __name__ == "__main__":
	main()
