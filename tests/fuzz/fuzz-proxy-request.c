/* fuzz-proxy-request.c - libFuzzer target: afs-proxy's request heads
 * (afs-proxy/request.c).  The input's first byte picks HTTP or SOCKS5
 * (bit 0) and seeds how the rest is split into reads; the rest is what a
 * client sends.  It is fed as afs-proxy feeds it (the whole so far, after
 * each read), with the bytes past each read poisoned so that a read past
 * what the parser was given is a crash, then in one piece.  Checks:
 *   - the verdict, and all it says, is the same however the bytes came;
 *   - a DONE head given alone, in one piece, is DONE with the same length;
 *   - a head is within REQ_MAX_HEAD and ends with its empty line;
 *   - a host is lower-case letters, digits, '.', '-', '_' and ':' only,
 *     and a port is not 0;
 *   - a forwarded head has CR and LF only as CRLF line ends, ends with
 *     its one empty line, has one Host line (the URI's) and no Proxy-*,
 *     Connection or second Host line but the "Connection: close" it adds;
 *   - an error has a status of the parser's and a one-line reason. */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s\n", #x); abort(); } } while (0)

struct split {
	uint32_t state;
};

/* The length of the next read: mostly small, sometimes large. */
static size_t next_read(struct split *s)
{
	s->state = s->state * 1103515245u + 12345u;
	switch ((s->state >> 16) & 3) {
	case 0:
		return 1;
	case 1:
		return 1 + ((s->state >> 8) & 7);
	case 2:
		return 1 + ((s->state >> 4) & 255);
	default:
		return 1 + ((s->state >> 2) & 8191);
	}
}

/* BUF[0..LEN) readable, BUF[LEN..SIZE) not. */
static void expose(const char *buf, size_t len, size_t size)
{
	ASAN_UNPOISON_MEMORY_REGION(buf, size);
	if (len < size)
		ASAN_POISON_MEMORY_REGION(buf + len, size - len);
}

static void check_host(const struct req *r)
{
	size_t n = strnlen(r->host.name, sizeof(r->host.name));

	CHECK(n > 0 && n < sizeof(r->host.name));
	for (size_t i = 0; i < n; i++) {
		char c = r->host.name[i];

		CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || c == ':');
	}
	CHECK(r->port != 0);
}

static void check_reason(const struct req *r)
{
	CHECK(r->reason && *r->reason);
	CHECK(!strchr(r->reason, '\r') && !strchr(r->reason, '\n'));
}

static bool same(const struct req *a, const struct req *b, enum req_state st)
{
	if (st == REQ_ERROR)
		return a->status == b->status && a->reason == b->reason;
	if (st == REQ_NEED_MORE)
		return true;
	return a->head_len == b->head_len && a->proto == b->proto && a->port == b->port &&
	       memcmp(&a->host, &b->host, sizeof(a->host)) == 0 &&
	       a->method_len == b->method_len && a->path_off == b->path_off &&
	       a->path_len == b->path_len && a->version_off == b->version_off &&
	       a->socks_noauth == b->socks_noauth;
}

/* The head req_rewrite makes for R. */
static void check_rewrite(const struct req *r, const char *head)
{
	static char out[REQ_MAX_OUT];
	char host[NET_MAX_NAME + 16], *line, *end;
	long n = req_rewrite(r, head, out, sizeof(out));
	int hosts = 0, closes = 0;
	bool v6 = strchr(r->host.name, ':') != NULL;

	CHECK(n > 0 && n <= REQ_MAX_OUT);
	for (long i = 0; i < n; i++) {
		CHECK(out[i] != '\0');
		if (out[i] == '\r')
			CHECK(i + 1 < n && out[i + 1] == '\n');
		if (out[i] == '\n')
			CHECK(i > 0 && out[i - 1] == '\r');
	}
	CHECK(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
	CHECK(memmem(out, (size_t)n, "\r\n\r\n", 4) == out + n - 4);
	/* The request line: METHOD /PATH HTTP/1.x */
	end = memchr(out, '\r', (size_t)n);
	CHECK(end - out >= (long)r->method_len + 11);
	CHECK(out[r->method_len] == ' ' && out[r->method_len + 1] == '/');
	CHECK(memcmp(end - 9, " HTTP/1.", 8) == 0);
	if (r->port == 80)
		snprintf(host, sizeof(host), "Host: %s%s%s", v6 ? "[" : "", r->host.name,
			 v6 ? "]" : "");
	else
		snprintf(host, sizeof(host), "Host: %s%s%s:%u", v6 ? "[" : "", r->host.name,
			 v6 ? "]" : "", (unsigned)r->port);
	for (line = end + 2; line < out + n - 2; line = end + 2) {
		size_t len;

		end = memchr(line, '\r', (size_t)(out + n - line));
		len = (size_t)(end - line);
		if (len >= 5 && strncasecmp(line, "host:", 5) == 0) {
			CHECK(len == strlen(host) && memcmp(line, host, len) == 0);
			hosts++;
		}
		if (len >= 11 && strncasecmp(line, "connection:", 11) == 0) {
			CHECK(len == 17 && memcmp(line, "Connection: close", 17) == 0);
			closes++;
		}
		CHECK(!(len >= 6 && strncasecmp(line, "proxy-", 6) == 0));
		CHECK(!(len >= 11 && strncasecmp(line, "keep-alive:", 11) == 0));
	}
	CHECK(hosts == 1 && closes == 1);
}

static void fuzz_http(char *buf, size_t size, struct split *sp)
{
	struct req split, whole, alone;
	enum req_state st = REQ_NEED_MORE, st1;
	size_t len = 0;

	req_init(&split, REQ_HTTP);
	while (st == REQ_NEED_MORE && len < size) {
		len += next_read(sp);
		if (len > size)
			len = size;
		expose(buf, len, size);
		st = req_http(&split, buf, len);
	}
	expose(buf, size, size);
	req_init(&whole, REQ_HTTP);
	st1 = req_http(&whole, buf, size);
	CHECK(st == st1 && same(&split, &whole, st));
	switch (st1) {
	case REQ_NEED_MORE:
		CHECK(size < REQ_MAX_HEAD);
		break;
	case REQ_ERROR:
		CHECK(whole.status == 400 || whole.status == 414 || whole.status == 431 ||
		      whole.status == 505);
		check_reason(&whole);
		break;
	case REQ_DONE:
		CHECK(whole.head_len <= size && whole.head_len <= REQ_MAX_HEAD);
		CHECK(whole.head_len >= 2 && buf[whole.head_len - 1] == '\n');
		CHECK(buf[whole.head_len - 2] == '\n' ||
		      (whole.head_len >= 3 && buf[whole.head_len - 2] == '\r' &&
		       buf[whole.head_len - 3] == '\n'));
		CHECK(whole.proto == REQ_HTTP || whole.proto == REQ_CONNECT);
		check_host(&whole);
		expose(buf, whole.head_len, size);
		req_init(&alone, REQ_HTTP);
		CHECK(req_http(&alone, buf, whole.head_len) == REQ_DONE);
		CHECK(same(&alone, &whole, REQ_DONE));
		if (whole.proto == REQ_HTTP)
			check_rewrite(&whole, buf);
		expose(buf, size, size);
		break;
	}
}

/* A greeting, then a request after it, as afs-proxy reads them. */
static enum req_state socks(const unsigned char *buf, size_t size, size_t len, struct req *g,
			    struct req *r)
{
	enum req_state st;

	req_init(g, REQ_SOCKS5);
	st = req_socks_greeting(g, buf, len);
	if (st != REQ_DONE)
		return st;
	req_init(r, REQ_SOCKS5);
	(void)size;
	return req_socks_request(r, buf + g->head_len, len - g->head_len);
}

static void fuzz_socks(char *buf, size_t size, struct split *sp)
{
	const unsigned char *u = (const unsigned char *)buf;
	struct req g1, r1, g2, r2;
	enum req_state st = REQ_NEED_MORE, st1;
	size_t len = 0;

	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	while (st == REQ_NEED_MORE && len < size) {
		len += next_read(sp);
		if (len > size)
			len = size;
		expose(buf, len, size);
		st = socks(u, size, len, &g1, &r1);
	}
	expose(buf, size, size);
	st1 = socks(u, size, size, &g2, &r2);
	CHECK(st == st1);
	if (st1 == REQ_ERROR) {
		const struct req *e1 = g1.status ? &g1 : &r1, *e2 = g2.status ? &g2 : &r2;

		CHECK(same(e1, e2, REQ_ERROR));
		CHECK(e2->status == SOCKS_FAILURE || e2->status == SOCKS_BAD_COMMAND ||
		      e2->status == SOCKS_BAD_ADDRESS);
		check_reason(e2);
	} else if (st1 == REQ_DONE) {
		CHECK(same(&g1, &g2, REQ_DONE) && same(&r1, &r2, REQ_DONE));
		CHECK(g2.head_len + r2.head_len <= size);
		CHECK(r2.proto == REQ_SOCKS5);
		check_host(&r2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct split sp;
	char *buf;

	if (size < 1)
		return 0;
	sp.state = data[0] >> 1;
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_socks(buf, size - 1, &sp);
	else
		fuzz_http(buf, size - 1, &sp);
	expose(buf, size - 1, size - 1);
	free(buf);
	return 0;
}
