/* conn.c - one connection from the sandbox, start to end: its head, the
 * verdict, the connection to the host, the bytes both ways, the record.
 *
 * This is where a connection is allowed or refused.  It MUST:
 *   - decide the host as the sandbox named it (netpolicy_check_host)
 *     before resolving it, and each address it resolves to
 *     (netpolicy_check_addr) before connecting to it; connect to allowed
 *     addresses only, and to nothing when none is;
 *   - send the host nothing of the head it received for an absolute URI,
 *     only req_rewrite's, then the client's bytes; for a tunnel, only the
 *     client's bytes after the head;
 *   - answer every refusal (REFUSALS in afs-proxy(1)) and write one record
 *     for every connection that sent a byte;
 *   - hold no more than struct conn and the pump's buffers, whatever the
 *     client sends, and bound the head by --head-timeout and REQ_MAX_HEAD.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "proxy.h"
#include "record.h"

/* A refusal's answer goes out within this, and what the client sends
 * meanwhile is read and dropped (so that closing with unread data does
 * not reset the connection before the client reads the answer). */
#define LINGER_MS	1000
#define LINGER_BYTES	(256 * 1024)

struct conn {
	const struct proxy *px;
	const struct conn_from *from;
	int fd;
	int64_t t0;		/* mono_ms() at the start */
	int64_t head_end;	/* the head's deadline */
	bool socks;
	bool greeted;		/* SOCKS: method "no authentication" sent */
	pid_t pid;		/* the client's host pid; 0: unknown */
	bool pid_done;
	struct req req;
	size_t len;		/* bytes in IN */
	char in[REQ_MAX_HEAD];
	char out[REQ_MAX_OUT];
};

/* ---- the record ------------------------------------------------------------ */

static const char *proto_name(const struct conn *c)
{
	if (c->socks)
		return "socks5";
	return c->req.proto == REQ_CONNECT ? "connect" : "http";
}

/* A record with what every record of C holds. */
static void record_init(struct conn *c, struct audit_rec *r)
{
	audit_rec_init(r);
	r->mount = c->px->name;
	r->session = c->px->session;
	if (!c->pid_done) {
		/* Called after the connection to the host is made (no
		 * latency added to it), or before a refusal is answered
		 * (while the client waits, and so lives). */
		c->pid = peer_host_pid(c->from->relay_pid, c->from->inside_pid);
		c->pid_done = true;
	}
	r->pid = c->pid;
	r->comm = c->from->comm[0] ? c->from->comm : NULL;
	r->op = "connect";
	if (c->len > 0)
		r->proto = proto_name(c);
	if (c->req.host.name[0] && c->req.port) {
		r->host = c->req.host.name;
		r->port = c->req.port;
	}
	r->duration_ms = mono_ms() - c->t0;
}

/* ---- talking to the client ------------------------------------------------- */

/* Wait for EV on FD until DEADLINE (mono ms; -1: none), or afs-proxy
 * stopping.  1 ready, 0 timed out, -1 stopping. */
static int wait_fd(const struct proxy *px, int fd, short ev, int64_t deadline)
{
	struct pollfd p[2] = { { .fd = fd, .events = ev }, { .fd = px->stop_fd, .events = POLLIN } };

	for (;;) {
		int timeout = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - mono_ms();

			if (left <= 0)
				return 0;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(p, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			return -1;
		if (p[0].revents)
			return 1;
	}
}

/* Send the few bytes of an answer, within LINGER_MS. */
static void send_small(struct conn *c, const void *buf, size_t len)
{
	int64_t end = mono_ms() + LINGER_MS;

	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno != EAGAIN || wait_fd(c->px, c->fd, POLLOUT, end) != 1))
			return;
		if (n > 0) {
			buf = (const char *)buf + n;
			len -= (size_t)n;
		}
	}
}

/* After a refusal: the client's unread bytes drained, for a while. */
static void linger(struct conn *c)
{
	int64_t end = mono_ms() + LINGER_MS;
	size_t total = 0;

	shutdown(c->fd, SHUT_WR);
	while (total < LINGER_BYTES && wait_fd(c->px, c->fd, POLLIN, end) == 1) {
		ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (n > 0)
			total += (size_t)n;
	}
}

static const char *status_text(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* The answer to a refused HTTP request: STATUS, and REASON as one line of
 * text (a control byte in it, say from a policy file's name, as '?'). */
static void http_refuse(struct conn *c, int status, const char *reason)
{
	char body[512], msg[1024];
	int blen, n;

	blen = snprintf(body, sizeof(body), "afs-proxy: %s\n", reason);
	if (blen < 0)
		return;
	if ((size_t)blen >= sizeof(body)) {
		blen = (int)sizeof(body) - 1;
		body[blen - 1] = '\n';
	}
	for (int i = 0; i < blen - 1; i++)
		if ((unsigned char)body[i] < 0x20 || body[i] == 0x7f)
			body[i] = '?';
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n"
		     "Content-Length: %d\r\n\r\n%s", status, status_text(status), blen, body);
	if (n > 0)
		send_small(c, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* A SOCKS reply: CODE, and a bound address of 0.0.0.0:0 (the sandbox has
 * no use for the host's). */
static void socks_reply(struct conn *c, unsigned char code)
{
	unsigned char r[10] = { 5, code, 0, 1 };

	send_small(c, r, sizeof(r));
}

/* Refuse: answer HTTP_STATUS or SOCKS_CODE (when the client can take an
 * answer), and write the record. */
struct refusal {
	int http_status;	/* 0: no answer */
	unsigned char socks_code;
	bool socks_none;	/* no SOCKS answer */
	const char *decision;
	int err;
	const char *rule;
	const char *reason;
	const char *addr;
};

static void refuse(struct conn *c, const struct refusal *f)
{
	struct audit_rec r;

	record_init(c, &r);
	if (c->socks && !f->socks_none) {
		if (c->greeted) {
			socks_reply(c, f->socks_code);
		} else {
			unsigned char none[2] = { 5, SOCKS_NO_METHOD };

			send_small(c, none, sizeof(none));
		}
	} else if (!c->socks && f->http_status) {
		http_refuse(c, f->http_status, f->reason);
	}
	r.decision = f->decision ? f->decision : "deny";
	r.err = f->err;
	r.rule = f->rule;
	r.reason = f->reason;
	r.addr = f->addr;
	record_write(&r);
	linger(c);
}

/* ---- the head ------------------------------------------------------------- */

enum head {
	HEAD_DONE,
	HEAD_BAD,	/* c->req says why */
	HEAD_NOAUTH,	/* SOCKS without "no authentication" */
	HEAD_EMPTY,	/* closed before a byte */
	HEAD_CLOSED,	/* closed before the end of the head */
	HEAD_TIMEOUT,
	HEAD_STOP,
};

/* Read what the client sent: >0 bytes, 0 its end, or -errno (-ETIMEDOUT
 * past the head's deadline, -ECANCELED when afs-proxy stops).  IN is
 * never full here: the parsers end a head, or refuse it (431), by
 * REQ_MAX_HEAD bytes. */
static int read_more(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, 0);
		int w;

		if (n >= 0) {
			c->len += (size_t)n;
			return (int)n;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		w = wait_fd(c->px, c->fd, POLLIN, c->head_end);
		if (w <= 0)
			return w == 0 ? -ETIMEDOUT : -ECANCELED;
	}
}

static enum head read_head(struct conn *c)
{
	size_t g = 0;	/* SOCKS: the greeting's length, once answered */
	enum req_state st;

	for (;;) {
		int n = read_more(c);

		if (n == -ETIMEDOUT)
			return HEAD_TIMEOUT;
		if (n == -ECANCELED)
			return HEAD_STOP;
		if (n <= 0)
			return c->len == 0 ? HEAD_EMPTY : HEAD_CLOSED;
		if (c->len == (size_t)n) {
			c->socks = c->in[0] == 5;
			req_init(&c->req, c->socks ? REQ_SOCKS5 : REQ_HTTP);
		}
		if (!c->socks) {
			st = req_http(&c->req, c->in, c->len);
		} else if (!c->greeted) {
			st = req_socks_greeting(&c->req, (unsigned char *)c->in, c->len);
			if (st == REQ_DONE) {
				static const unsigned char noauth[2] = { 5, 0 };

				if (!c->req.socks_noauth)
					return HEAD_NOAUTH;
				g = c->req.head_len;
				send_small(c, noauth, sizeof(noauth));
				c->greeted = true;
				req_init(&c->req, REQ_SOCKS5);
				st = req_socks_request(&c->req, (unsigned char *)c->in + g, c->len - g);
			}
		} else {
			st = req_socks_request(&c->req, (unsigned char *)c->in + g, c->len - g);
		}
		if (st == REQ_DONE) {
			c->req.head_len += g;
			return HEAD_DONE;
		}
		if (st == REQ_ERROR)
			return HEAD_BAD;
	}
}

/* ---- the host -------------------------------------------------------------- */

/* Connect to A (port PORT) by the connect deadline END.  The socket, or
 * -errno (-ETIMEDOUT at the deadline, -ECANCELED when stopping). */
static int connect_to(const struct proxy *px, const struct in6_addr *a, uint16_t port,
		      int64_t end)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = *a };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	bool v4 = IN6_IS_ADDR_V4MAPPED(a);
	int fd, e = 0, w;
	socklen_t elen = sizeof(e);

	memcpy(&s4.sin_addr, &a->s6_addr[12], 4);
	fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, v4 ? (struct sockaddr *)&s4 : (struct sockaddr *)&s6,
		    v4 ? sizeof(s4) : sizeof(s6)) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		e = errno;
		close(fd);
		return -e;
	}
	w = wait_fd(px, fd, POLLOUT, end);
	if (w <= 0) {
		close(fd);
		return w == 0 ? -ETIMEDOUT : -ECANCELED;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
		e = errno;
	if (e != 0) {
		close(fd);
		return -e;
	}
	return fd;
}

/* MS as a message says it: "10 s", "1.5 s". */
static const char *seconds(int64_t ms, char buf[32])
{
	size_t n;

	snprintf(buf, 32, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
	snprintf(buf + n, 32 - n, " s");
	return buf;
}

/* A failed connect to a host RULE allowed: the answer to it. */
static void connect_failed(struct conn *c, int err, const char *addr, const struct net_rule *rule)
{
	char target[NET_MAX_NAME + 16], reason[512], secs[32];
	struct refusal f = { .decision = "allow", .err = err, .reason = reason, .addr = addr,
			     .rule = rule ? rule->origin : NULL,
			     .http_status = 502, .socks_code = SOCKS_FAILURE };

	switch (err) {
	case ETIMEDOUT:
		f.http_status = 504;
		f.socks_code = SOCKS_TTL_EXPIRED;
		break;
	case ECONNREFUSED:
		f.socks_code = SOCKS_REFUSED;
		break;
	case ENETUNREACH:
		f.socks_code = SOCKS_NET_UNREACH;
		break;
	case EHOSTUNREACH:
		f.socks_code = SOCKS_HOST_UNREACH;
		break;
	case ECANCELED:
		f.http_status = 0;
		f.socks_none = true;
		f.err = 0;
		f.reason = "afs-proxy stopped";
		refuse(c, &f);
		return;
	default:
		break;
	}
	req_target(&c->req, target, sizeof(target));
	if (err == ETIMEDOUT)
		snprintf(reason, sizeof(reason), "cannot connect to %s (%s): no answer within %s",
			 target, addr, seconds(c->px->connect_ms, secs));
	else
		snprintf(reason, sizeof(reason), "cannot connect to %s (%s): %s", target, addr,
			 strerrordesc_np(err));
	refuse(c, &f);
}

/* The connection allowed and made: answer, then relay until the end. */
static void relay(struct conn *c, int up, const char *addr, const struct net_rule *rule)
{
	static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct iovec pre[2];
	int npre = 0, one = 1;
	struct audit_rec r;
	struct pump res;
	long n;

	setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->req.proto == REQ_HTTP) {
		n = req_rewrite(&c->req, c->in, c->out, sizeof(c->out));
		if (n < 0) {
			/* Not reached: REQ_MAX_OUT holds the largest. */
			struct refusal f = { .http_status = 431, .reason = "request head too large" };

			refuse(c, &f);
			return;
		}
		pre[npre].iov_base = c->out;
		pre[npre++].iov_len = (size_t)n;
	} else if (c->socks) {
		socks_reply(c, SOCKS_OK);
	} else {
		send_small(c, established, sizeof(established) - 1);
	}
	/* What came after the head, in the same reads, goes on first. */
	if (c->len > c->req.head_len) {
		pre[npre].iov_base = c->in + c->req.head_len;
		pre[npre++].iov_len = c->len - c->req.head_len;
	}
	record_init(c, &r);	/* finds the pid now, while the client lives */
	pump_run(c->px, c->fd, up, pre, npre, &res);
	r.decision = "allow";
	r.rule = rule ? rule->origin : NULL;
	r.reason = rule ? rule->reason : NULL;
	r.addr = addr;
	r.bytes_out = res.out;
	r.bytes_in = res.in;
	r.limit = res.limit;
	r.duration_ms = mono_ms() - c->t0;
	record_write(&r);
}

/* Is A an address of this host?  A public address can be one (a cloud
 * machine's, most IPv6 ones), and a connection to it is a connection to
 * the host's own services, which its firewall may hide from the world
 * but not from itself.  The kernel answers: a route to one of our own
 * addresses takes that address as its source.  Unsure is yes. */
static bool host_own(const struct in6_addr *a)
{
	bool v4 = IN6_IS_ADDR_V4MAPPED(a), own = true;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(9), .sin6_addr = *a };
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	memcpy(&s4.sin_addr, &a->s6_addr[12], 4);
	fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	/* A UDP "connect" sends nothing: it only picks the route. */
	if (connect(fd, v4 ? (struct sockaddr *)&s4 : (struct sockaddr *)&s6,
		    v4 ? sizeof(s4) : sizeof(s6)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		own = v4 ? memcmp(&((struct sockaddr_in *)&ss)->sin_addr, &a->s6_addr[12], 4) == 0 :
			   memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, a, 16) == 0;
	else if (errno == ENETUNREACH || errno == EHOSTUNREACH)
		own = false;	/* no route at all: not ours either */
	close(fd);
	return own;
}

/* For an allowed name whose address A is public: refuse A (V says why)
 * when it is one of this host's own and no rule names it. */
static void check_own(const struct proxy *px, const struct net_host *h, const struct in6_addr *a,
		      uint16_t port, struct net_verdict *v)
{
	struct net_host lit = { .is_addr = true, .addr = *a };
	struct net_verdict named;
	char s[INET6_ADDRSTRLEN];

	if (h->is_addr || net_addr_class(a) != NET_PUBLIC)
		return;
	net_addr_string(a, lit.name, sizeof(lit.name));
	netpolicy_check_host(&px->np, &lit, port, &named);
	if (named.allow || !host_own(a))
		return;
	net_addr_string(a, s, sizeof(s));
	v->allow = false;
	v->rule = NULL;
	snprintf(v->reason, sizeof(v->reason),
		 "%s resolves to %s, an address of this host no rule names", h->name, s);
}

/* Decide, resolve, decide each address, connect, relay. */
static void serve_request(struct conn *c)
{
	const struct proxy *px = c->px;
	struct in6_addr addrs[RESOLVE_MAX];
	const struct net_rule *rules[RESOLVE_MAX];
	struct net_verdict v, first_no;
	char why[NET_MAX_NAME + 128], addr[INET6_ADDRSTRLEN] = "";
	size_t naddr, nok = 0, i;
	bool refused_one = false;
	int64_t end;
	int up = -ETIMEDOUT;

	netpolicy_check_host(&px->np, &c->req.host, c->req.port, &v);
	if (!v.allow) {
		struct refusal f = { .http_status = 403, .socks_code = SOCKS_NOT_ALLOWED,
				     .err = EACCES, .rule = v.rule ? v.rule->origin : NULL,
				     .reason = v.reason };

		refuse(c, &f);
		return;
	}
	if (c->req.host.is_addr) {
		addrs[0] = c->req.host.addr;
		naddr = 1;
	} else {
		int err;

		naddr = resolve_name(px, &c->req.host, mono_ms() + px->connect_ms, addrs, &err,
				     why, sizeof(why));
		if (naddr == 0) {
			struct refusal f = { .decision = "allow", .http_status = 502,
					     .socks_code = SOCKS_HOST_UNREACH, .err = err,
					     .rule = v.rule ? v.rule->origin : NULL,
					     .reason = why };

			if (err == ECANCELED) {
				/* As a connection cut by the stop: no answer. */
				f.http_status = 0;
				f.socks_none = true;
				f.err = 0;
				f.reason = "afs-proxy stopped";
			} else if (err == ETIMEDOUT) {
				f.http_status = 504;
				f.socks_code = SOCKS_TTL_EXPIRED;
			}
			refuse(c, &f);
			return;
		}
	}
	/* Every address is decided; only the allowed ones are kept, in
	 * the resolver's order. */
	for (i = 0; i < naddr; i++) {
		netpolicy_check_addr(&px->np, &c->req.host, &addrs[i], c->req.port, &v);
		if (v.allow)
			check_own(px, &c->req.host, &addrs[i], c->req.port, &v);
		if (v.allow) {
			rules[nok] = v.rule;
			addrs[nok++] = addrs[i];
		} else if (!refused_one) {
			first_no = v;
			net_addr_string(&addrs[i], addr, sizeof(addr));
			refused_one = true;
		}
	}
	if (nok == 0) {
		struct refusal f = { .http_status = 403, .socks_code = SOCKS_NOT_ALLOWED,
				     .err = EACCES, .addr = addr,
				     .rule = first_no.rule ? first_no.rule->origin : NULL,
				     .reason = first_no.reason };

		refuse(c, &f);
		return;
	}
	end = mono_ms() + px->connect_ms;
	for (i = 0; i < nok; i++) {
		net_addr_string(&addrs[i], addr, sizeof(addr));
		up = connect_to(px, &addrs[i], c->req.port, end);
		if (up >= 0 || up == -ETIMEDOUT || up == -ECANCELED)
			break;
	}
	if (up < 0) {
		connect_failed(c, -up, addr, rules[i < nok ? i : nok - 1]);
		return;
	}
	relay(c, up, addr, rules[i]);
	close(up);
}

void conn_run(const struct proxy *px, const struct conn_from *from, bool refuse_it)
{
	struct conn *c = calloc(1, sizeof(*c));
	char reason[160], secs[32];

	if (!c) {
		conn_refused_early(px, from, "out of memory");
		return;
	}
	c->px = px;
	c->from = from;
	c->fd = from->fd;
	c->t0 = mono_ms();
	c->head_end = c->t0 + px->head_ms;
	switch (read_head(c)) {
	case HEAD_DONE:
		if (refuse_it) {
			struct refusal f = { .http_status = 503, .socks_code = SOCKS_FAILURE,
					     .reason = reason };

			snprintf(reason, sizeof(reason), "too many connections (limit %u)",
				 px->max_conns);
			refuse(c, &f);
		} else {
			serve_request(c);
		}
		break;
	case HEAD_BAD: {
		struct refusal f = { .http_status = c->req.status,
				     .socks_code = (unsigned char)c->req.status,
				     .reason = c->req.reason };

		refuse(c, &f);
		break;
	}
	case HEAD_NOAUTH: {
		struct refusal f = { .reason = "no SOCKS method acceptable (no authentication only)" };

		refuse(c, &f);
		break;
	}
	case HEAD_EMPTY:
		break;
	case HEAD_CLOSED: {
		struct refusal f = { .socks_none = true,
				     .reason = "closed before the request was complete" };

		refuse(c, &f);
		break;
	}
	case HEAD_TIMEOUT: {
		struct refusal f = { .http_status = 408, .socks_none = true, .reason = reason };

		snprintf(reason, sizeof(reason), "no complete request within %s",
			 seconds(px->head_ms, secs));
		refuse(c, &f);
		break;
	}
	case HEAD_STOP: {
		struct refusal f = { .socks_none = true, .reason = "afs-proxy stopped" };

		if (c->len > 0)
			refuse(c, &f);
		break;
	}
	}
	close(c->fd);
	free(c);
}

void conn_refused_early(const struct proxy *px, const struct conn_from *from,
			const char *reason)
{
	static const char busy[] =
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Connection: close\r\nContent-Length: 0\r\n\r\n";
	static const unsigned char none[2] = { 5, SOCKS_NO_METHOD };
	unsigned char first;

	/* No thread to wait for the head: an answer only if the first
	 * byte is there already. */
	if (recv(from->fd, &first, 1, MSG_PEEK | MSG_DONTWAIT) == 1) {
		if (first == 5)
			send(from->fd, none, sizeof(none), MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			send(from->fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	close(from->fd);
	/* A flood of these is one record a second (record.c). */
	record_early(px->name, px->session, reason);
}
