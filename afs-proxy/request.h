/* request.h - the head of a proxy request, read before any connection is
 * made: an HTTP request (CONNECT, or a method with an absolute http URI)
 * or a SOCKS5 greeting and request (afs-proxy(1) PROTOCOLS, REFUSALS).
 *
 * Parsing is pure (no I/O, no allocation) and incremental: the caller
 * keeps the bytes received so far in one buffer, only ever appending, and
 * calls the parser again with the whole of it after each read; the parser
 * resumes where it stopped and says NEED_MORE, DONE (the head's length:
 * what follows is the client's data) or ERROR (an HTTP status or a SOCKS
 * reply code, and a reason).  The verdict does not depend on how the
 * bytes were split between calls.
 */
#ifndef AFS_PROXY_REQUEST_H
#define AFS_PROXY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netpolicy.h"

/* Bounds on what a client makes us hold and scan (the head is held in a
 * fixed buffer of REQ_MAX_HEAD bytes): common servers take 8 KiB request
 * lines and 100 header lines; a proxy request needs far less. */
#define REQ_MAX_LINE	8192	/* request line, without its line end: 414 */
#define REQ_MAX_HEADERS	100	/* header lines: 431 */
#define REQ_MAX_HEAD	16384	/* the whole head, its empty line included: 431 */
/* The head forwarded for an absolute URI: at most the head received (the
 * request line only shrinks), bare LFs made CRLF (at most one byte for
 * each of the REQ_MAX_HEADERS + 2 lines), a Host line for a name of at
 * most NET_MAX_NAME bytes and a port, and "Connection: close". */
#define REQ_MAX_OUT	(REQ_MAX_HEAD + (REQ_MAX_HEADERS + 2) + NET_MAX_NAME + 64)

/* SOCKS5 (RFC 1928) reply codes. */
#define SOCKS_OK		0x00
#define SOCKS_FAILURE		0x01
#define SOCKS_NOT_ALLOWED	0x02
#define SOCKS_NET_UNREACH	0x03
#define SOCKS_HOST_UNREACH	0x04
#define SOCKS_REFUSED		0x05
#define SOCKS_TTL_EXPIRED	0x06
#define SOCKS_BAD_COMMAND	0x07
#define SOCKS_BAD_ADDRESS	0x08
#define SOCKS_NO_METHOD		0xff	/* a method selection, not a reply */

enum req_state {
	REQ_NEED_MORE,
	REQ_DONE,
	REQ_ERROR,
};

enum req_proto {
	REQ_CONNECT,	/* HTTP CONNECT: a tunnel */
	REQ_HTTP,	/* HTTP with an absolute http URI: forwarded */
	REQ_SOCKS5,
};

struct req {
	/* Set by the parser, read by the caller. */
	enum req_proto proto;
	size_t head_len;	/* DONE: the head's bytes */
	int status;		/* ERROR: the HTTP status, or the SOCKS reply
				 * code of the refusal */
	const char *reason;	/* ERROR: one line of static text */
	struct net_host host;	/* DONE: the host asked for */
	uint16_t port;
	bool socks_noauth;	/* SOCKS greeting: "no authentication" offered */

	/* The parser's own. */
	size_t off;		/* where the next unread line begins */
	unsigned lines;		/* lines read, the request line included */
	size_t method_len;	/* the request line's parts, as offsets */
	size_t path_off, path_len;	/* REQ_HTTP: "/..." after the
					 * authority; 0 bytes: "/" */
	size_t version_off;
};

/* Start a request; PROTO is the one the caller expects (REQ_SOCKS5 for a
 * SOCKS greeting or request, REQ_HTTP for HTTP: CONNECT is found). */
void req_init(struct req *r, enum req_proto proto);

/* The HTTP request head in the LEN bytes at BUF (the same bytes as the
 * last call, and perhaps more). */
enum req_state req_http(struct req *r, const char *buf, size_t len);

/* The SOCKS5 greeting (version, methods) in the LEN bytes at BUF.  DONE
 * with head_len its length and socks_noauth set when method 0 is
 * offered. */
enum req_state req_socks_greeting(struct req *r, const unsigned char *buf, size_t len);

/* The SOCKS5 request that follows the greeting, at BUF. */
enum req_state req_socks_request(struct req *r, const unsigned char *buf, size_t len);

/* The head to send upstream for a REQ_HTTP request R whose head (DONE)
 * is at HEAD: the request line in origin form, the header lines as they
 * were but for Host, Connection, Keep-Alive and every Proxy-* header,
 * then "Host:" from the URI and "Connection: close", every line ending in
 * CRLF.  Its length (at most REQ_MAX_OUT), or -1 when OUT is too small. */
long req_rewrite(const struct req *r, const char *head, char *out, size_t size);

/* "HOST:PORT" as the request named it (an IPv6 address in brackets). */
void req_target(const struct req *r, char *out, size_t size);

#endif
