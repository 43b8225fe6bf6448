/* netpolicy.c - the network allowlist: host patterns, address classes,
 * the two-stage decision (netpolicy.h says what each stage promises). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netpolicy.h"
#include "util.h"

/* ---- hosts ---------------------------------------------------------------- */

static bool name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* S (LEN bytes) as an address, brackets allowed around IPv6 only.  0, or
 * -1 when it is not one. */
static int addr_parse(const char *s, size_t len, struct in6_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in_addr v4;

	if (memchr(s, '\0', len))
		return -1;
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		/* An IPv4 address in brackets is not a URI's IP-literal. */
		if (!strchr(buf, ':'))
			return -1;
		return inet_pton(AF_INET6, buf, a) == 1 ? 0 : -1;
	}
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strchr(buf, ':'))
		return inet_pton(AF_INET6, buf, a) == 1 ? 0 : -1;
	/* inet_pton takes four decimal parts only, and no leading zeros. */
	if (inet_pton(AF_INET, buf, &v4) != 1)
		return -1;
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &v4, 4);
	return 0;
}

static bool is_v4(const struct in6_addr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a->s6_addr, mapped, 12) == 0;
}

void net_addr_string(const struct in6_addr *a, char *out, size_t size)
{
	char buf[INET6_ADDRSTRLEN];

	if (is_v4(a))
		inet_ntop(AF_INET, &a->s6_addr[12], buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	snprintf(out, size, "%s", buf);
}

/* A name: labels of name bytes, 1 to 63 each, one final dot allowed. */
static int name_parse(const char *s, size_t len, char *out)
{
	size_t i, label = 0;
	char buf[NET_MAX_NAME + 2];
	struct in_addr ignored;
	const char *last;
	bool numeric = true;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > NET_MAX_NAME)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (!name_byte(c) || ++label > 63)
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	/* The resolver reads "127.1", "0x7f.1" or "2130706433" as addresses
	 * (inet_aton), and a top-level label is never all digits: such a
	 * "name" is an address in disguise. */
	memcpy(buf, out, len + 1);
	if (inet_aton(buf, &ignored))
		return -1;
	last = strrchr(out, '.');
	for (last = last ? last + 1 : out; *last; last++)
		if (*last < '0' || *last > '9')
			numeric = false;
	return numeric ? -1 : 0;
}

int net_host_parse(const char *s, size_t len, struct net_host *h)
{
	memset(h, 0, sizeof(*h));
	if (addr_parse(s, len, &h->addr) == 0) {
		h->is_addr = true;
		net_addr_string(&h->addr, h->name, sizeof(h->name));
		return 0;
	}
	if (len > 0 && s[0] == '[')
		return -1;
	return name_parse(s, len, h->name);
}

/* Decimal 1 to 65535, no sign, no leading zero. */
static int port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int net_authority_parse(const char *s, size_t len, uint16_t default_port,
			struct net_host *h, uint16_t *port)
{
	size_t hostlen = len;
	const char *colon = NULL;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return -1;
		hostlen = (size_t)(close - s) + 1;
		if (hostlen < len) {
			if (s[hostlen] != ':')
				return -1;
			colon = s + hostlen;
		}
	} else {
		colon = memchr(s, ':', len);
		if (colon) {
			hostlen = (size_t)(colon - s);
			/* A bare IPv6 address has more than one: refused, as a
			 * URI's authority would need brackets. */
			if (memchr(colon + 1, ':', len - hostlen - 1))
				return -1;
		}
	}
	if (colon) {
		if (port_parse(colon + 1, len - hostlen - 1, port) < 0)
			return -1;
	} else {
		if (default_port == 0)
			return -1;
		*port = default_port;
	}
	if (hostlen > 0 && s[0] != '[' && memchr(s, ':', hostlen))
		return -1;
	return net_host_parse(s, hostlen, h);
}

/* ---- address classes ---------------------------------------------------------- */

static enum net_class v4_class(const unsigned char *b)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	static const struct {
		uint32_t net, mask;
		enum net_class c;
	} blocks[] = {
		{ 0x00000000, 0xff000000, NET_UNSPECIFIED },	/* 0/8 */
		{ 0x0a000000, 0xff000000, NET_PRIVATE },	/* 10/8 */
		{ 0x64400000, 0xffc00000, NET_PRIVATE },	/* 100.64/10 */
		{ 0x7f000000, 0xff000000, NET_LOOPBACK },	/* 127/8 */
		{ 0xa9fe0000, 0xffff0000, NET_LINK_LOCAL },	/* 169.254/16 */
		{ 0xac100000, 0xfff00000, NET_PRIVATE },	/* 172.16/12 */
		{ 0xc0000000, 0xffffff00, NET_RESERVED },	/* 192.0.0/24 */
		{ 0xc0000200, 0xffffff00, NET_RESERVED },	/* 192.0.2/24 */
		{ 0xc0586300, 0xffffff00, NET_RESERVED },	/* 192.88.99/24 */
		{ 0xc0a80000, 0xffff0000, NET_PRIVATE },	/* 192.168/16 */
		{ 0xc6120000, 0xfffe0000, NET_RESERVED },	/* 198.18/15 */
		{ 0xc6336400, 0xffffff00, NET_RESERVED },	/* 198.51.100/24 */
		{ 0xcb007100, 0xffffff00, NET_RESERVED },	/* 203.0.113/24 */
		{ 0xe0000000, 0xf0000000, NET_MULTICAST },	/* 224/4 */
		{ 0xf0000000, 0xf0000000, NET_RESERVED },	/* 240/4, broadcast */
	};

	for (size_t i = 0; i < ARRAY_SIZE(blocks); i++)
		if ((a & blocks[i].mask) == blocks[i].net)
			return blocks[i].c;
	return NET_PUBLIC;
}

/* The IPv4 address that A, a NAT64 or 6to4 address, reaches, as
 * ::ffff:a.b.c.d in V4; false for any other A. */
static bool embedded_v4(const struct in6_addr *a, struct in6_addr *v4)
{
	static const unsigned char nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	const unsigned char *from;

	if (memcmp(a->s6_addr, nat64, 12) == 0)
		from = &a->s6_addr[12];
	else if (a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x02)
		from = &a->s6_addr[2];
	else
		return false;
	memset(v4, 0, sizeof(*v4));
	v4->s6_addr[10] = 0xff;
	v4->s6_addr[11] = 0xff;
	memcpy(&v4->s6_addr[12], from, 4);
	return true;
}

enum net_class net_addr_class(const struct in6_addr *a)
{
	const unsigned char *b = a->s6_addr;
	static const unsigned char zero[16];
	struct in6_addr v4;

	if (is_v4(a))
		return v4_class(b + 12);
	if (memcmp(b, zero, 16) == 0)
		return NET_UNSPECIFIED;
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return NET_LOOPBACK;
	/* Where an IPv4 address rides inside, the IPv4 address decides:
	 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach it.  Only a public
	 * one keeps them public. */
	if (embedded_v4(a, &v4))
		return v4_class(v4.s6_addr + 12) == NET_PUBLIC ? NET_PUBLIC : NET_RESERVED;
	if (b[0] == 0xff)
		return NET_MULTICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NET_LINK_LOCAL;
	if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
		return NET_PRIVATE;	/* unique local, and the old site-local */
	/* Global unicast is 2000::/3, less the protocol (2001::/23, Teredo
	 * included) and documentation (2001:db8::/32) blocks. */
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
		return NET_RESERVED;	/* documentation, RFC 9637 */
	if ((b[0] & 0xe0) != 0x20)
		return NET_RESERVED;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)
		return NET_RESERVED;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return NET_RESERVED;
	return NET_PUBLIC;
}

const char *net_class_name(enum net_class c)
{
	switch (c) {
	case NET_PUBLIC:
		return "public";
	case NET_LOOPBACK:
		return "loopback";
	case NET_PRIVATE:
		return "private";
	case NET_LINK_LOCAL:
		return "link-local";
	case NET_MULTICAST:
		return "multicast";
	case NET_UNSPECIFIED:
		return "unspecified";
	case NET_RESERVED:
		return "reserved";
	}
	return "?";
}

/* ---- rules ---------------------------------------------------------------------- */

static bool port_ok(const struct net_rule *r, uint16_t port)
{
	if (r->nports == 0)
		return true;
	for (size_t i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

static bool host_ok(const struct net_rule *r, const struct net_host *h)
{
	size_t n, sl;

	switch (r->kind) {
	case NET_RULE_ADDR:
		return h->is_addr && memcmp(&r->addr, &h->addr, sizeof(r->addr)) == 0;
	case NET_RULE_ANY:
		return !h->is_addr;
	case NET_RULE_NAME:
		return !h->is_addr && strcmp(r->host, h->name) == 0;
	case NET_RULE_SUFFIX:
		if (h->is_addr)
			return false;
		n = strlen(h->name);
		sl = strlen(r->host);
		return n > sl && strcmp(h->name + n - sl, r->host) == 0;
	}
	return false;
}

static const struct net_rule *first_match(const struct netpolicy *np, bool deny,
					  const struct net_host *h, uint16_t port)
{
	for (size_t i = 0; i < np->n; i++) {
		const struct net_rule *r = &np->v[i];

		if (r->deny == deny && host_ok(r, h) && port_ok(r, port))
			return r;
	}
	return NULL;
}

/* HOST:PORT as a message writes it: an IPv6 address in brackets. */
static void target(const struct net_host *h, uint16_t port, char *out, size_t size)
{
	bool v6 = h->is_addr && !is_v4(&h->addr);

	snprintf(out, size, "%s%s%s:%u", v6 ? "[" : "", h->name, v6 ? "]" : "", port);
}

void netpolicy_check_host(const struct netpolicy *np, const struct net_host *h,
			  uint16_t port, struct net_verdict *v)
{
	const struct net_rule *r = first_match(np, true, h, port);
	char t[NET_MAX_NAME + 16];

	memset(v, 0, sizeof(*v));
	target(h, port, t, sizeof(t));
	if (port == 0) {
		snprintf(v->reason, sizeof(v->reason), "port 0 of %s is no port", h->name);
		return;
	}
	if (r) {
		v->rule = r;
		snprintf(v->reason, sizeof(v->reason), "%s is denied by %s (%s)", t, r->origin,
			 r->pattern);
		return;
	}
	r = first_match(np, false, h, port);
	if (!r) {
		snprintf(v->reason, sizeof(v->reason), "no rule allows %s%s", t,
			 h->is_addr ? " (an address is allowed only by a rule that names it)" : "");
		return;
	}
	v->allow = true;
	v->rule = r;
}

void netpolicy_check_addr(const struct netpolicy *np, const struct net_host *h,
			  const struct in6_addr *addr, uint16_t port,
			  struct net_verdict *v)
{
	struct net_host as = { .is_addr = true, .addr = *addr }, inner = { .is_addr = true };
	const struct net_rule *r;
	enum net_class c;
	char a[INET6_ADDRSTRLEN];

	netpolicy_check_host(np, h, port, v);
	if (!v->allow)
		return;
	net_addr_string(addr, a, sizeof(a));
	net_addr_string(addr, as.name, sizeof(as.name));
	r = first_match(np, true, &as, port);
	/* An IPv4 address denied is denied in the IPv6 forms that reach it:
	 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16). */
	if (!r && embedded_v4(addr, &inner.addr))
		r = first_match(np, true, &inner, port);
	if (r) {
		v->allow = false;
		v->rule = r;
		snprintf(v->reason, sizeof(v->reason), "%s resolves to %s, denied by %s (%s)",
			 h->name, a, r->origin, r->pattern);
		return;
	}
	c = net_addr_class(addr);
	if (c == NET_PUBLIC || h->is_addr)
		return;
	if (first_match(np, false, &as, port))
		return;
	v->allow = false;
	v->rule = NULL;
	snprintf(v->reason, sizeof(v->reason), "%s resolves to %s, a%s %s address no rule names",
		 h->name, a, c == NET_UNSPECIFIED ? "n" : "", net_class_name(c));
}

/* ---- compiling ------------------------------------------------------------------ */

int net_ports_parse(const char *s, struct net_ports **out, size_t *n, const char **err)
{
	struct net_ports *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	while (*s) {
		size_t len = strcspn(s, ","), dash;
		uint16_t lo, hi;

		dash = strcspn(s, "-,");
		if (dash < len) {
			if (port_parse(s, dash, &lo) < 0 ||
			    port_parse(s + dash + 1, len - dash - 1, &hi) < 0)
				goto bad;
			if (lo > hi) {
				*err = "a port range goes from low to high";
				goto fail;
			}
		} else {
			if (port_parse(s, len, &lo) < 0)
				goto bad;
			hi = lo;
		}
		if (k == NET_MAX_PORTS) {
			*err = "more than 64 port ranges in one rule";
			goto fail;
		}
		v = xreallocarray(v, k + 1, sizeof(*v));
		v[k].lo = lo;
		v[k].hi = hi;
		k++;
		s += len;
		if (*s == ',' && *++s == '\0')
			goto bad;
	}
	if (k == 0)
		goto bad;
	*out = v;
	*n = k;
	return 0;
bad:
	*err = "a port is a number from 1 to 65535, or LOW-HIGH";
fail:
	free(v);
	return -1;
}

static void push(struct netpolicy *np, const struct net_rule *r)
{
	if (np->n == np->cap) {
		np->cap = np->cap ? 2 * np->cap : 8;
		np->v = xreallocarray(np->v, np->cap, sizeof(*np->v));
	}
	np->v[np->n++] = *r;
}

int netpolicy_add(struct netpolicy *np, const char *pattern, const char *ports,
		  bool deny, const char *origin, const char *reason, const char **err)
{
	struct net_rule r = { .deny = deny };
	struct net_host h;
	size_t len = strlen(pattern);

	if (np->n >= NET_MAX_RULES) {
		*err = "more than 10000 network rules";
		return -1;
	}
	if (len == 1 && pattern[0] == '*') {
		r.kind = NET_RULE_ANY;
		r.host = xstrdup("");
	} else if (len > 2 && pattern[0] == '*' && pattern[1] == '.') {
		if (net_host_parse(pattern + 2, len - 2, &h) < 0 || h.is_addr) {
			*err = "not a host name after '*.'";
			return -1;
		}
		r.kind = NET_RULE_SUFFIX;
		r.host = xasprintf(".%s", h.name);
	} else if (strchr(pattern, '*')) {
		*err = "'*' only as a whole pattern, or as the first label: '*.example.org'";
		return -1;
	} else if (net_host_parse(pattern, len, &h) < 0) {
		*err = len > 0 && (pattern[0] == '[' || strchr(pattern, ':')) ?
		       "not an IPv6 address" : "not a host name or an address";
		return -1;
	} else if (h.is_addr) {
		r.kind = NET_RULE_ADDR;
		r.addr = h.addr;
		r.host = xstrdup(h.name);
	} else {
		r.kind = NET_RULE_NAME;
		r.host = xstrdup(h.name);
	}
	if (ports && net_ports_parse(ports, &r.ports, &r.nports, err) < 0) {
		free(r.host);
		return -1;
	}
	if (!ports)
		r.pattern = xstrdup(pattern);
	else if (pattern[0] != '[' && strchr(pattern, ':'))
		r.pattern = xasprintf("[%s]:%s", pattern, ports);
	else
		r.pattern = xasprintf("%s:%s", pattern, ports);
	r.origin = xstrdup(origin);
	r.reason = reason ? xstrdup(reason) : NULL;
	push(np, &r);
	return 0;
}

int netpolicy_add_spec(struct netpolicy *np, const char *spec, bool deny,
		       const char *origin, const char **err)
{
	const char *colon, *close;
	cleanup_free char *pattern = NULL;

	if (spec[0] == '[') {
		close = strchr(spec, ']');
		if (!close) {
			*err = "an IPv6 address in brackets lacks its ']'";
			return -1;
		}
		if (close[1] != '\0' && close[1] != ':') {
			*err = "after ']' only ':PORTS'";
			return -1;
		}
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strchr(spec, ':');
		/* "::1:80" is an address and a port to some, an address alone
		 * to others: brackets say which. */
		if (colon && strchr(colon + 1, ':')) {
			*err = "an IPv6 address goes in brackets: '[2001:db8::1]:443'";
			return -1;
		}
	}
	pattern = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	return netpolicy_add(np, pattern, colon ? colon + 1 : NULL, deny, origin, NULL, err);
}

void netpolicy_append(struct netpolicy *np, const struct netpolicy *from)
{
	for (size_t i = 0; i < from->n; i++) {
		struct net_rule r = from->v[i];

		r.host = xstrdup(r.host);
		r.pattern = xstrdup(r.pattern);
		r.origin = xstrdup(r.origin);
		r.reason = r.reason ? xstrdup(r.reason) : NULL;
		if (r.nports) {
			r.ports = xreallocarray(NULL, r.nports, sizeof(*r.ports));
			memcpy(r.ports, from->v[i].ports, r.nports * sizeof(*r.ports));
		}
		push(np, &r);
	}
}

void netpolicy_free(struct netpolicy *np)
{
	for (size_t i = 0; i < np->n; i++) {
		free(np->v[i].host);
		free(np->v[i].ports);
		free(np->v[i].pattern);
		free(np->v[i].origin);
		free(np->v[i].reason);
	}
	free(np->v);
	memset(np, 0, sizeof(*np));
}
