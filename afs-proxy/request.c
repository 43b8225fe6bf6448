/* request.c - the head of a proxy request (see request.h).
 *
 * This is where bytes from the sandbox become a host, a port and, for a
 * forwarded request, a head sent to that host.  It MUST:
 *   - read nothing at or past the LEN it is given, and hold nothing but
 *     offsets into the caller's buffer;
 *   - bound every count the client controls: REQ_MAX_LINE, REQ_MAX_HEADERS,
 *     REQ_MAX_HEAD (414, 431);
 *   - refuse a NUL, a CR that does not end a line, a control byte in a
 *     header, a header line that continues the one before (obs-fold), and
 *     anything but HTTP/1.0 and HTTP/1.1 (505), so that no two readers of
 *     the head can disagree on where a line or the head ends;
 *   - take the host only through net_authority_parse / net_host_parse
 *     (netpolicy.c), which let no space, CR, LF or other control byte into
 *     a host name, and write the Host line it sends from that parsed host,
 *     never from the client's bytes;
 *   - refuse userinfo in an authority, a CONNECT without a port, an
 *     origin-form request (not a proxy request) and any scheme but http
 *     (https goes through CONNECT);
 *   - give the same verdict however the bytes were split between calls.
 * tests/fuzz/fuzz-proxy-request.c checks these.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"

void req_init(struct req *r, enum req_proto proto)
{
	memset(r, 0, sizeof(*r));
	r->proto = proto;
}

static enum req_state fail(struct req *r, int status, const char *reason)
{
	/* No half-parsed host is left for the caller to show. */
	memset(&r->host, 0, sizeof(r->host));
	r->port = 0;
	r->status = status;
	r->reason = reason;
	return REQ_ERROR;
}

/* RFC 9110 tchar: the bytes of a method or a header name. */
static bool tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool prefix_nocase(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && strncasecmp(s, p, k) == 0;
}

static bool equal_nocase(const char *s, size_t n, const char *p)
{
	return n == strlen(p) && strncasecmp(s, p, n) == 0;
}

/* ---- HTTP ------------------------------------------------------------------ */

/* The authority of a CONNECT, or of an absolute URI (DEFAULT_PORT 80). */
static enum req_state authority(struct req *r, const char *s, size_t n, uint16_t default_port)
{
	struct net_host h;
	uint16_t port;

	if (memchr(s, '@', n))
		return fail(r, 400, "userinfo in the authority is not accepted");
	if (net_authority_parse(s, n, default_port, &r->host, &r->port) == 0)
		return REQ_DONE;
	/* Tell a CONNECT without a port from a bad host. */
	if (default_port == 0 && net_authority_parse(s, n, 443, &h, &port) == 0)
		return fail(r, 400, "CONNECT needs HOST:PORT");
	return fail(r, 400, "bad host or port in the request target");
}

/* An absolute URI, "http://AUTHORITY[/PATH][?QUERY]", at S (N bytes, at
 * offset OFF of the head). */
static enum req_state absolute_uri(struct req *r, const char *s, size_t n, size_t off)
{
	const char *sep = NULL;
	size_t i, scheme, auth;

	if (s[0] == '/' || (n == 1 && s[0] == '*'))
		return fail(r, 400, "not a proxy request (a path without http://HOST)");
	for (i = 0; i + 2 < n; i++)
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			sep = s + i;
			break;
		}
	scheme = sep ? (size_t)(sep - s) : 0;
	if (scheme == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return fail(r, 400, "the request target is not an absolute URI");
	for (i = 1; i < scheme; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
		    c != '+' && c != '-' && c != '.')
			return fail(r, 400, "the request target is not an absolute URI");
	}
	if (equal_nocase(s, scheme, "https"))
		return fail(r, 400, "an https URI: use CONNECT");
	if (!equal_nocase(s, scheme, "http"))
		return fail(r, 400, "not an http URI (other schemes go through CONNECT)");
	if (memchr(s, '#', n))
		return fail(r, 400, "a fragment in the request target");
	s += scheme + 3;
	n -= scheme + 3;
	off += scheme + 3;
	for (auth = 0; auth < n && s[auth] != '/' && s[auth] != '?'; auth++)
		;
	if (authority(r, s, auth, 80) != REQ_DONE)
		return REQ_ERROR;
	r->proto = REQ_HTTP;
	r->path_off = off + auth;
	r->path_len = n - auth;
	return REQ_DONE;
}

/* The request line, LINE (N bytes, no line end) at offset OFF. */
static enum req_state request_line(struct req *r, const char *line, size_t n, size_t off)
{
	const char *sp1, *sp2, *target, *version;
	size_t tlen, vlen;

	sp1 = memchr(line, ' ', n);
	if (!sp1)
		return fail(r, 400, "malformed request line");
	if (!token(line, (size_t)(sp1 - line)))
		return fail(r, 400, "bad method");
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - (size_t)(target - line));
	if (!sp2 || sp2 == target)
		return fail(r, 400, "malformed request line");
	tlen = (size_t)(sp2 - target);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
			return fail(r, 400, "bad byte in the request target");
	version = sp2 + 1;
	vlen = n - (size_t)(version - line);
	if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
	    version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9')
		return fail(r, 400, "malformed HTTP version");
	if (memcmp(version, "HTTP/1.0", 8) != 0 && memcmp(version, "HTTP/1.1", 8) != 0)
		return fail(r, 505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 only)");
	r->method_len = (size_t)(sp1 - line);
	r->version_off = off + (size_t)(version - line);
	if (r->method_len == 7 && memcmp(line, "CONNECT", 7) == 0) {
		if (authority(r, target, tlen, 0) != REQ_DONE)
			return REQ_ERROR;
		r->proto = REQ_CONNECT;
		return REQ_DONE;
	}
	return absolute_uri(r, target, tlen, off + (size_t)(target - line));
}

static enum req_state header_line(struct req *r, const char *line, size_t n)
{
	const char *colon;

	if (line[0] == ' ' || line[0] == '\t')
		return fail(r, 400, "a header line continued on the next (obs-fold)");
	colon = memchr(line, ':', n);
	if (!colon)
		return fail(r, 400, "malformed header line");
	if (!token(line, (size_t)(colon - line)))
		return fail(r, 400, "bad header name");
	for (const char *p = colon + 1; p < line + n; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(r, 400, "control byte in a header");
	return REQ_DONE;
}

enum req_state req_http(struct req *r, const char *buf, size_t len)
{
	/* Bytes past the bound can only be a head too long, or data. */
	if (len > REQ_MAX_HEAD)
		len = REQ_MAX_HEAD;
	while (r->off < len) {
		const char *line = buf + r->off;
		const char *lf = memchr(line, '\n', len - r->off);
		size_t raw, n;

		if (!lf)
			break;
		raw = (size_t)(lf - line);
		n = raw > 0 && line[raw - 1] == '\r' ? raw - 1 : raw;
		if (r->lines == 0 && n > REQ_MAX_LINE)
			return fail(r, 414, "request line too long");
		if (r->lines > 0 && n == 0) {
			r->head_len = r->off + raw + 1;
			return REQ_DONE;
		}
		if (r->lines > REQ_MAX_HEADERS)
			return fail(r, 431, "too many header lines");
		if (memchr(line, '\0', n))
			return fail(r, 400, "NUL byte in the request head");
		if (memchr(line, '\r', n))
			return fail(r, 400, "CR not followed by LF in the request head");
		if (n == 0)
			return fail(r, 400, "malformed request line");
		if ((r->lines == 0 ? request_line(r, line, n, r->off) : header_line(r, line, n)) ==
		    REQ_ERROR)
			return REQ_ERROR;
		r->lines++;
		r->off += raw + 1;
	}
	/* A request line already too long whatever ends it. */
	if (r->lines == 0 && len - r->off > REQ_MAX_LINE + 1)
		return fail(r, 414, "request line too long");
	if (len >= REQ_MAX_HEAD)
		return fail(r, 431, "request head too large");
	return REQ_NEED_MORE;
}

/* ---- forwarding ------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, size;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->size - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Hop-by-hop headers, and Host (written from the URI). */
static bool dropped(const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n);
	size_t k = colon ? (size_t)(colon - line) : n;

	return equal_nocase(line, k, "host") || equal_nocase(line, k, "connection") ||
	       equal_nocase(line, k, "keep-alive") || prefix_nocase(line, k, "proxy-");
}

void req_target(const struct req *r, char *out, size_t size)
{
	bool v6 = r->host.is_addr && strchr(r->host.name, ':');

	snprintf(out, size, "%s%s%s:%u", v6 ? "[" : "", r->host.name, v6 ? "]" : "",
		 (unsigned)r->port);
}

long req_rewrite(const struct req *r, const char *head, char *buf, size_t size)
{
	struct out o = { .p = buf, .size = size };
	bool v6 = r->host.is_addr && strchr(r->host.name, ':');
	char port[8];
	size_t off, first;
	const char *lf;

	put(&o, head, r->method_len);
	put(&o, " ", 1);
	if (r->path_len == 0 || head[r->path_off] != '/')
		put(&o, "/", 1);
	put(&o, head + r->path_off, r->path_len);
	put(&o, " ", 1);
	put(&o, head + r->version_off, 8);
	puts_(&o, "\r\nHost: ");
	if (v6)
		put(&o, "[", 1);
	puts_(&o, r->host.name);
	if (v6)
		put(&o, "]", 1);
	if (r->port != 80) {
		snprintf(port, sizeof(port), ":%u", (unsigned)r->port);
		puts_(&o, port);
	}
	puts_(&o, "\r\n");
	/* The header lines, each as it was without its line end. */
	lf = memchr(head, '\n', r->head_len);
	first = lf ? (size_t)(lf - head) + 1 : r->head_len;
	for (off = first; off < r->head_len;) {
		const char *line = head + off;
		size_t raw = (size_t)((const char *)memchr(line, '\n', r->head_len - off) - line);
		size_t n = raw > 0 && line[raw - 1] == '\r' ? raw - 1 : raw;

		if (n == 0)
			break;
		if (!dropped(line, n)) {
			put(&o, line, n);
			puts_(&o, "\r\n");
		}
		off += raw + 1;
	}
	puts_(&o, "Connection: close\r\n\r\n");
	return o.full ? -1 : (long)o.len;
}

/* ---- SOCKS5 ---------------------------------------------------------------- */

enum req_state req_socks_greeting(struct req *r, const unsigned char *buf, size_t len)
{
	if (len < 1)
		return REQ_NEED_MORE;
	if (buf[0] != 5)
		return fail(r, SOCKS_FAILURE, "not SOCKS version 5");
	if (len < 2)
		return REQ_NEED_MORE;
	if (buf[1] == 0)
		return fail(r, SOCKS_FAILURE, "no SOCKS method offered");
	if (len < 2 + (size_t)buf[1])
		return REQ_NEED_MORE;
	r->socks_noauth = memchr(buf + 2, 0, buf[1]) != NULL;
	r->head_len = 2 + (size_t)buf[1];
	return REQ_DONE;
}

/* Each check is made once its bytes are there, in the order of the bytes,
 * so that the verdict does not depend on how they came. */
enum req_state req_socks_request(struct req *r, const unsigned char *buf, size_t len)
{
	size_t alen, need;

	if (len < 1)
		return REQ_NEED_MORE;
	if (buf[0] != 5)
		return fail(r, SOCKS_FAILURE, "not SOCKS version 5");
	if (len < 2)
		return REQ_NEED_MORE;
	if (buf[1] != 1)
		return fail(r, SOCKS_BAD_COMMAND, "SOCKS command not supported (CONNECT only)");
	if (len < 3)
		return REQ_NEED_MORE;
	if (buf[2] != 0)
		return fail(r, SOCKS_FAILURE, "SOCKS reserved byte not zero");
	if (len < 4)
		return REQ_NEED_MORE;
	switch (buf[3]) {
	case 1:
		alen = 4;
		break;
	case 4:
		alen = 16;
		break;
	case 3:
		if (len < 5)
			return REQ_NEED_MORE;
		if (buf[4] == 0)
			return fail(r, SOCKS_FAILURE, "empty host name");
		alen = 1 + (size_t)buf[4];
		break;
	default:
		return fail(r, SOCKS_BAD_ADDRESS, "SOCKS address type not supported");
	}
	need = 4 + alen + 2;
	if (len < need)
		return REQ_NEED_MORE;
	memset(&r->host, 0, sizeof(r->host));
	if (buf[3] == 3) {
		if (net_host_parse((const char *)buf + 5, alen - 1, &r->host) < 0)
			return fail(r, SOCKS_FAILURE, "bad host name");
	} else {
		r->host.is_addr = true;
		if (alen == 4) {
			r->host.addr.s6_addr[10] = 0xff;
			r->host.addr.s6_addr[11] = 0xff;
			memcpy(&r->host.addr.s6_addr[12], buf + 4, 4);
		} else {
			memcpy(&r->host.addr, buf + 4, 16);
		}
		net_addr_string(&r->host.addr, r->host.name, sizeof(r->host.name));
	}
	r->port = (uint16_t)(buf[4 + alen] << 8 | buf[4 + alen + 1]);
	if (r->port == 0)
		return fail(r, SOCKS_FAILURE, "port 0");
	r->proto = REQ_SOCKS5;
	r->head_len = need;
	return REQ_DONE;
}
