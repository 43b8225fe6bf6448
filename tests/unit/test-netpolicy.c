/* test-netpolicy.c - the network allowlist (lib/netpolicy.h, afs-policy(5)
 * NETWORK): how a host, an authority, a pattern and its ports are read,
 * the class of an address, the two-stage verdict with its exact rule and
 * reason, and the network: section of a policy as the loader reads it.
 *
 * Tables; prints TAP; exits 0 iff every case passes.  Where a case holds a
 * NUL byte its length is the literal's, NULs inside included.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netpolicy.h"
#include "policy.h"
#include "tap.h"
#include "util.h"

#define LEN(s)	(sizeof(s) - 1)	/* a literal's bytes, NULs inside included */
#define NOLEN	((size_t)-1)	/* strlen of the input */
#define NORULE	(-1)		/* the verdict names no rule */

static size_t len_of(const char *s, size_t len)
{
	return len == NOLEN ? strlen(s) : len;
}

/* LEN bytes at S for a test's description: odd bytes as \xNN, at most
 * 60 bytes of it (the long names would drown the output). */
static const char *show(const char *s, size_t len)
{
	static char buf[4][320];
	static int which;
	char *out = buf[which++ % 4], *o = out;

	for (size_t i = 0; i < len && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	if (len > 60)
		o += sprintf(o, "...(%zu bytes)", len);
	*o = '\0';
	return out;
}

/* An address for a table: IPv6, or IPv4 mapped.  Read here with
 * inet_pton, not with the code under test. */
static struct in6_addr A(const char *s)
{
	struct in6_addr a;
	struct in_addr v4;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET6, s, &a) == 1)
		return a;
	if (inet_pton(AF_INET, s, &v4) != 1) {
		printf("Bail out! bad address in a table: %s\n", s);
		exit(2);
	}
	a.s6_addr[10] = 0xff;
	a.s6_addr[11] = 0xff;
	memcpy(&a.s6_addr[12], &v4, 4);
	return a;
}

/* Names at the bounds: labels of 63 bytes and a last one to make the
 * length.  Filled by make_names() before the tables are read. */
static char name_253[NET_MAX_NAME + 1], name_253_dot[NET_MAX_NAME + 2];
static char name_254[NET_MAX_NAME + 2], label_63[80], label_64[80];
static char star_253[NET_MAX_NAME + 3];

static void make_names(void)
{
	char l63[64];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(name_253, sizeof(name_253), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(name_253_dot, sizeof(name_253_dot), "%s.", name_253);
	snprintf(name_254, sizeof(name_254), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	snprintf(label_63, sizeof(label_63), "%s.com", l63);
	snprintf(label_64, sizeof(label_64), "%sa.com", l63);
	snprintf(star_253, sizeof(star_253), "*.%s", name_253);
}

/* ---- net_host_parse --------------------------------------------------------- */

struct hcase {
	const char *in;
	size_t len;		/* NOLEN: strlen */
	int rc;
	bool is_addr;
	const char *name;	/* when rc is 0 */
};

#define HNAME(in, name)	{ in, NOLEN, 0, false, name }
#define HADDR(in, name)	{ in, NOLEN, 0, true, name }
#define HBAD(in)	{ in, NOLEN, -1, false, NULL }
#define HBADN(in)	{ in, LEN(in), -1, false, NULL }

static const struct hcase hcases[] = {
	/* names: lower case, no final dot */
	HNAME("pypi.org", "pypi.org"),
	HNAME("PyPI.ORG", "pypi.org"),
	HNAME("pypi.org.", "pypi.org"),
	HNAME("a", "a"),
	HNAME("localhost", "localhost"),
	HNAME("a_b-c.d-e", "a_b-c.d-e"),
	HNAME("-a._b", "-a._b"),
	HNAME("123.example", "123.example"),
	HNAME("1.a", "1.a"),
	HNAME("example.0x7f", "example.0x7f"),
	HNAME("xn--caf-dma.fr", "xn--caf-dma.fr"),
	/* labels of 63 and 64 bytes, names of 253 and 254 */
	HNAME(label_63, label_63),
	HBAD(label_64),
	HNAME(name_253, name_253),
	HNAME(name_253_dot, name_253),
	HBAD(name_254),
	/* empty labels */
	HBAD(""),
	HBAD("."),
	HBAD(".."),
	HBAD("pypi.org.."),
	HBAD(".pypi.org"),
	HBAD("pypi..org"),
	/* bytes that are not in names */
	HBAD("a b"),
	HBAD(" pypi.org"),
	HBAD("pypi.org "),
	HBAD("pypi.org\r\n"),
	HBAD("pypi.org\n"),
	HBAD("pypi\t.org"),
	HBAD("caf\xc3\xa9.fr"),
	HBAD("a%2e.b"),
	HBAD("%"),
	HBAD("user@pypi.org"),
	HBAD("pypi.org/x"),
	HBAD("pypi.org:443"),
	HBAD("*.pypi.org"),
	HBAD("*"),
	HBADN("a\0b"),
	HBADN("pypi.org\0"),
	HBADN("\0"),
	/* addresses in disguise: what inet_aton and the resolver read as one */
	HBAD("127.1"),
	HBAD("127.0.1"),
	HBAD("0x7f.0.0.1"),
	HBAD("0x7f.1"),
	HBAD("0x7f000001"),
	HBAD("2130706433"),
	HBAD("017700000001"),
	HBAD("1.2.3.04"),
	HBAD("1.2.3.08"),
	HBAD("01.2.3.4"),
	HBAD("256.1.1.1"),
	HBAD("1.2.3.4.5"),
	HBAD("1.2.3.4."),
	HBAD("127.0.0.1."),
	HBAD("example.123"),
	HBAD("example.123."),
	HBAD("a.1"),
	HBAD("1"),
	/* IPv4 */
	HADDR("1.2.3.4", "1.2.3.4"),
	HADDR("127.0.0.1", "127.0.0.1"),
	HADDR("0.0.0.0", "0.0.0.0"),
	HADDR("255.255.255.255", "255.255.255.255"),
	HBAD("[1.2.3.4]"),
	/* IPv6, with or without brackets, written as inet_ntop does */
	HADDR("::1", "::1"),
	HADDR("[::1]", "::1"),
	HADDR("::", "::"),
	HADDR("[2001:DB8::1]", "2001:db8::1"),
	HADDR("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
	HADDR("[0000:0000:0000:0000:0000:0000:0000:0001]", "::1"),
	HADDR("::ffff:127.0.0.1", "127.0.0.1"),
	HADDR("[::ffff:7f00:1]", "127.0.0.1"),
	HADDR("0000:0000:0000:0000:0000:ffff:255.255.255.255", "255.255.255.255"),
	HBAD("[::1"),
	HBAD("::1]"),
	HBAD("[]"),
	HBAD("["),
	HBAD("]"),
	HBAD("[[::1]]"),
	HBAD("[ ::1]"),
	HBAD("1::2::3"),
	HBAD(":::1"),
	HBAD("fe80::1%eth0"),
	HBAD("[fe80::1%eth0]"),
	HBAD("[fe80::1%25eth0]"),
	/* inet_pton stops at the first NUL: an address, a NUL, then more
	 * bytes inside LEN must be refused all the same. */
	HBADN("1.2.3.4\0x"),
	HBADN("1.2.3.4\0"),
	HBADN("::1\0"),
	HBADN("[::1\0]"),
};

static void test_host_parse(void)
{
	char desc[512];

	for (size_t i = 0; i < ARRAY_SIZE(hcases); i++) {
		const struct hcase *c = &hcases[i];
		size_t len = len_of(c->in, c->len);
		struct net_host h;
		int rc;

		memset(&h, 0x5a, sizeof(h));
		rc = net_host_parse(c->in, len, &h);
		snprintf(desc, sizeof(desc), "net_host_parse \"%s\": %s", show(c->in, len),
			 c->rc < 0 ? "refused" : c->is_addr ? "an address" : "a name");
		if (!tap_int(desc, c->rc, rc) || rc < 0)
			continue;
		snprintf(desc, sizeof(desc), "net_host_parse \"%s\": is_addr and name",
			 show(c->in, len));
		if (h.is_addr != c->is_addr) {
			tap_ok(false, desc);
			printf("# is_addr: expected %d, got %d\n", c->is_addr, h.is_addr);
			continue;
		}
		tap_str(desc, c->name, h.name);
		if (c->is_addr) {
			struct in6_addr want = A(c->name);

			snprintf(desc, sizeof(desc), "net_host_parse \"%s\": the address",
				 show(c->in, len));
			tap_ok(memcmp(&want, &h.addr, sizeof(want)) == 0, desc);
		}
	}
}

/* ---- net_authority_parse ------------------------------------------------------ */

struct acase {
	const char *in;
	size_t len;
	uint16_t def;		/* default port */
	int rc;
	const char *name;
	uint16_t port;
};

#define AOK(in, def, name, port)	{ in, NOLEN, def, 0, name, port }
#define ABAD(in, def)			{ in, NOLEN, def, -1, NULL, 0 }
#define ABADN(in, def)			{ in, LEN(in), def, -1, NULL, 0 }

static const struct acase acases[] = {
	AOK("h:443", 0, "h", 443),
	AOK("H.Example.ORG.:8080", 0, "h.example.org", 8080),
	AOK("pypi.org", 443, "pypi.org", 443),
	AOK("1.2.3.4:80", 0, "1.2.3.4", 80),
	AOK("[::1]:8080", 0, "::1", 8080),
	AOK("[::1]", 443, "::1", 443),
	AOK("[::ffff:127.0.0.1]:80", 0, "127.0.0.1", 80),
	AOK("h:1", 0, "h", 1),
	AOK("h:65535", 0, "h", 65535),
	ABAD("[::1]", 0),
	ABAD("pypi.org", 0),
	ABAD("::1:80", 0),
	ABAD("::1", 80),
	ABAD("h:0", 0),
	ABAD("h:0", 80),
	ABAD("h:65536", 0),
	ABAD("h:99999", 0),
	ABAD("h:000080", 0),
	ABAD("h:+80", 0),
	ABAD("h:-1", 0),
	ABAD("h:080", 0),
	ABAD("h:", 0),
	ABAD("h:", 80),
	ABAD(":80", 0),
	ABAD("", 80),
	ABAD("h:80x", 0),
	ABAD("h:80 ", 0),
	ABAD("h :80", 0),
	ABAD("h:8:0", 0),
	ABAD("user@h:80", 0),
	ABAD("user:pw@h:80", 0),
	ABAD("127.1:80", 0),
	ABAD("[1.2.3.4]:80", 0),
	ABAD("[::1]x", 0),
	ABAD("[::1]:", 0),
	ABAD("[::1]:80:90", 0),
	ABAD("[::1]]:80", 0),
	ABAD("[::1", 80),
	ABAD("[fe80::1%25eth0]:80", 0),
	ABADN("h:80\0", 0),
	ABADN("h\0:80", 0),
	/* A NUL after an address (see net_host_parse). */
	ABADN("1.2.3.4\0:80", 0),
};

static void test_authority_parse(void)
{
	char desc[512];

	for (size_t i = 0; i < ARRAY_SIZE(acases); i++) {
		const struct acase *c = &acases[i];
		size_t len = len_of(c->in, c->len);
		struct net_host h;
		uint16_t port = 7;
		int rc = net_authority_parse(c->in, len, c->def, &h, &port);

		snprintf(desc, sizeof(desc), "net_authority_parse \"%s\" (default %u): %s",
			 show(c->in, len), c->def, c->rc < 0 ? "refused" : "taken");
		if (!tap_int(desc, c->rc, rc) || rc < 0)
			continue;
		snprintf(desc, sizeof(desc), "net_authority_parse \"%s\": host", show(c->in, len));
		tap_str(desc, c->name, h.name);
		snprintf(desc, sizeof(desc), "net_authority_parse \"%s\": port", show(c->in, len));
		tap_int(desc, c->port, port);
	}
}

/* ---- net_addr_class ---------------------------------------------------------------- */

struct ccase {
	const char *addr;
	enum net_class c;
};

static const struct ccase ccases[] = {
	/* 0/8 */
	{ "0.0.0.0", NET_UNSPECIFIED },
	{ "0.255.255.255", NET_UNSPECIFIED },
	{ "1.0.0.0", NET_PUBLIC },
	{ "8.8.8.8", NET_PUBLIC },
	/* 10/8 */
	{ "9.255.255.255", NET_PUBLIC },
	{ "10.0.0.0", NET_PRIVATE },
	{ "10.0.0.1", NET_PRIVATE },
	{ "10.255.255.255", NET_PRIVATE },
	{ "11.0.0.0", NET_PUBLIC },
	/* 100.64/10 */
	{ "100.63.255.255", NET_PUBLIC },
	{ "100.64.0.0", NET_PRIVATE },
	{ "100.127.255.255", NET_PRIVATE },
	{ "100.128.0.0", NET_PUBLIC },
	/* 127/8 */
	{ "126.255.255.255", NET_PUBLIC },
	{ "127.0.0.0", NET_LOOPBACK },
	{ "127.0.0.1", NET_LOOPBACK },
	{ "127.255.255.255", NET_LOOPBACK },
	{ "128.0.0.0", NET_PUBLIC },
	/* 169.254/16 */
	{ "169.253.255.255", NET_PUBLIC },
	{ "169.254.0.0", NET_LINK_LOCAL },
	{ "169.254.169.254", NET_LINK_LOCAL },
	{ "169.254.255.255", NET_LINK_LOCAL },
	{ "169.255.0.0", NET_PUBLIC },
	/* 172.16/12 */
	{ "172.15.255.255", NET_PUBLIC },
	{ "172.16.0.0", NET_PRIVATE },
	{ "172.31.255.255", NET_PRIVATE },
	{ "172.32.0.0", NET_PUBLIC },
	/* 192.0.0/24, 192.0.2/24, 192.88.99/24 */
	{ "191.255.255.255", NET_PUBLIC },
	{ "192.0.0.0", NET_RESERVED },
	{ "192.0.0.255", NET_RESERVED },
	{ "192.0.1.0", NET_PUBLIC },
	{ "192.0.2.0", NET_RESERVED },
	{ "192.0.2.255", NET_RESERVED },
	{ "192.0.3.0", NET_PUBLIC },
	{ "192.88.98.255", NET_PUBLIC },
	{ "192.88.99.1", NET_RESERVED },
	{ "192.88.100.0", NET_PUBLIC },
	/* 192.168/16 */
	{ "192.167.255.255", NET_PUBLIC },
	{ "192.168.0.0", NET_PRIVATE },
	{ "192.168.255.255", NET_PRIVATE },
	{ "192.169.0.0", NET_PUBLIC },
	/* 198.18/15, 198.51.100/24, 203.0.113/24 */
	{ "198.17.255.255", NET_PUBLIC },
	{ "198.18.0.0", NET_RESERVED },
	{ "198.19.255.255", NET_RESERVED },
	{ "198.20.0.0", NET_PUBLIC },
	{ "198.51.99.255", NET_PUBLIC },
	{ "198.51.100.1", NET_RESERVED },
	{ "198.51.101.0", NET_PUBLIC },
	{ "203.0.112.255", NET_PUBLIC },
	{ "203.0.113.7", NET_RESERVED },
	{ "203.0.114.0", NET_PUBLIC },
	/* 224/4, 240/4, the broadcast */
	{ "223.255.255.255", NET_PUBLIC },
	{ "224.0.0.0", NET_MULTICAST },
	{ "239.255.255.255", NET_MULTICAST },
	{ "240.0.0.0", NET_RESERVED },
	{ "255.255.255.254", NET_RESERVED },
	{ "255.255.255.255", NET_RESERVED },
	/* IPv6 */
	{ "::", NET_UNSPECIFIED },
	{ "::1", NET_LOOPBACK },
	{ "::2", NET_RESERVED },
	{ "::ffff:127.0.0.1", NET_LOOPBACK },
	{ "::ffff:10.1.2.3", NET_PRIVATE },
	{ "::ffff:8.8.8.8", NET_PUBLIC },
	{ "::127.0.0.1", NET_RESERVED },	/* IPv4-compatible, deprecated */
	{ "::ffff:0:127.0.0.1", NET_RESERVED },	/* IPv4-translated */
	{ "100::1", NET_RESERVED },		/* discard */
	{ "64:ff9b::7f00:1", NET_RESERVED },	/* NAT64 of 127.0.0.1 */
	{ "64:ff9b::a00:1", NET_RESERVED },	/* NAT64 of 10.0.0.1 */
	{ "64:ff9b::a9fe:a9fe", NET_RESERVED },	/* NAT64 of 169.254.169.254 */
	{ "64:ff9b::808:808", NET_PUBLIC },	/* NAT64 of 8.8.8.8 */
	{ "64:ff9b:1::808:808", NET_RESERVED },	/* local-use NAT64 */
	{ "2002:7f00:1::", NET_RESERVED },	/* 6to4 of 127.0.0.1 */
	{ "2002:a9fe:a9fe::1", NET_RESERVED },	/* 6to4 of 169.254.169.254 */
	{ "2002:808:808::", NET_PUBLIC },	/* 6to4 of 8.8.8.8 */
	{ "2002:808:808::1", NET_PUBLIC },
	{ "fe80::1", NET_LINK_LOCAL },
	{ "febf:ffff::1", NET_LINK_LOCAL },
	{ "fec0::1", NET_PRIVATE },		/* old site-local */
	{ "fc00::1", NET_PRIVATE },
	{ "fd00::1", NET_PRIVATE },
	{ "fdff:ffff::1", NET_PRIVATE },
	{ "fbff::1", NET_RESERVED },
	{ "ff02::1", NET_MULTICAST },
	{ "ff0e::1", NET_MULTICAST },
	{ "2001:db8::1", NET_RESERVED },
	{ "2001:db9::1", NET_PUBLIC },
	{ "2001::1", NET_RESERVED },		/* Teredo */
	{ "2001:1ff:ffff::1", NET_RESERVED },	/* the end of 2001::/23 */
	{ "2001:200::1", NET_PUBLIC },
	{ "2606:4700::1", NET_PUBLIC },
	{ "2a00:1450::1", NET_PUBLIC },
	/* 3fff::/20 is the IPv6 documentation block of RFC 9637: reserved, as
	 * afs-policy(5) NETWORK says the documentation blocks are. */
	{ "3fff::1", NET_RESERVED },
	{ "3fff:fff:ffff::1", NET_RESERVED },
	{ "3fff:1000::1", NET_PUBLIC },
	{ "1fff:ffff::1", NET_RESERVED },
	{ "4000::1", NET_RESERVED },
};

static void test_addr_class(void)
{
	static const struct {
		enum net_class c;
		const char *name;
	} names[] = {
		{ NET_PUBLIC, "public" },
		{ NET_LOOPBACK, "loopback" },
		{ NET_PRIVATE, "private" },
		{ NET_LINK_LOCAL, "link-local" },
		{ NET_MULTICAST, "multicast" },
		{ NET_UNSPECIFIED, "unspecified" },
		{ NET_RESERVED, "reserved" },
	};
	char desc[256];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(desc, sizeof(desc), "net_class_name %s", names[i].name);
		tap_str(desc, names[i].name, net_class_name(names[i].c));
	}
	for (size_t i = 0; i < ARRAY_SIZE(ccases); i++) {
		struct in6_addr a = A(ccases[i].addr);

		snprintf(desc, sizeof(desc), "net_addr_class %s: %s", ccases[i].addr,
			 net_class_name(ccases[i].c));
		tap_str(desc, net_class_name(ccases[i].c), net_class_name(net_addr_class(&a)));
	}
}

static void test_addr_string(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "1.2.3.4", "1.2.3.4" },
		{ "::ffff:1.2.3.4", "1.2.3.4" },
		{ "::1", "::1" },
		{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
		{ "::127.0.0.1", "::127.0.0.1" },
		{ "64:ff9b::808:808", "64:ff9b::808:808" },
	};
	char out[INET6_ADDRSTRLEN], small[4], desc[256];
	struct in6_addr a;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		a = A(cases[i].in);
		net_addr_string(&a, out, sizeof(out));
		snprintf(desc, sizeof(desc), "net_addr_string %s", cases[i].in);
		tap_str(desc, cases[i].out, out);
	}
	/* A short buffer is cut, never overrun. */
	a = A("203.0.113.7");
	net_addr_string(&a, small, sizeof(small));
	tap_str("net_addr_string into 4 bytes: cut", "203", small);
}

/* ---- netpolicy_add, netpolicy_add_spec ----------------------------------------------- */

/* RULE's ports as "443,8000-8100", "" for any. */
static const char *ports_str(const struct net_rule *r)
{
	static char buf[1024];
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->nports && o < sizeof(buf) - 16; i++) {
		if (r->ports[i].lo == r->ports[i].hi)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "," : "",
					      r->ports[i].lo);
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u-%u", i ? "," : "",
					      r->ports[i].lo, r->ports[i].hi);
	}
	return buf;
}

static const char *kind_name(enum net_rule_kind k)
{
	switch (k) {
	case NET_RULE_NAME:
		return "name";
	case NET_RULE_SUFFIX:
		return "suffix";
	case NET_RULE_ANY:
		return "any";
	case NET_RULE_ADDR:
		return "addr";
	}
	return "?";
}

/* What a compiled rule must hold. */
struct want_rule {
	enum net_rule_kind kind;
	const char *host;
	const char *ports;	/* as ports_str writes them */
	const char *pattern;
};

/* R against W: kind, host, address, ports, pattern, in one check. */
static bool rule_is(const char *desc, const struct net_rule *r, const struct want_rule *w)
{
	bool ok = r->kind == w->kind && strcmp(r->host, w->host) == 0 &&
		  strcmp(ports_str(r), w->ports) == 0 && strcmp(r->pattern, w->pattern) == 0 &&
		  (r->nports == 0) == (r->ports == NULL);

	if (ok && r->kind == NET_RULE_ADDR) {
		struct in6_addr a = A(w->host);

		ok = memcmp(&a, &r->addr, sizeof(a)) == 0;
	}
	if (!tap_ok(ok, desc)) {
		printf("# expected: %s \"%s\" ports \"%s\" pattern \"%s\"\n", kind_name(w->kind),
		       w->host, w->ports, w->pattern);
		printf("#      got: %s \"%s\" ports \"%s\" pattern \"%s\" (nports %zu)\n",
		       kind_name(r->kind), r->host, ports_str(r), r->pattern, r->nports);
	}
	return ok;
}

#define E_PORT	"a port is a number from 1 to 65535, or LOW-HIGH"
#define E_RANGE	"a port range goes from low to high"
#define E_STAR	"'*' only as a whole pattern, or as the first label: '*.example.org'"
#define E_AFTER	"not a host name after '*.'"
#define E_HOST	"not a host name or an address"
#define E_V6	"not an IPv6 address"
#define E_BARE6 "an IPv6 address goes in brackets: '[2001:db8::1]:443'"

struct addcase {
	const char *pattern, *ports;
	const char *err;	/* NULL: compiled as W */
	struct want_rule w;
};

#define ADD(p, ports, kind, host, wports, wpat) \
	{ p, ports, NULL, { kind, host, wports, wpat } }
#define ADDBAD(p, ports, err)	{ p, ports, err, { NET_RULE_ANY, NULL, NULL, NULL } }

static const struct addcase addcases[] = {
	/* patterns */
	ADD("pypi.org", NULL, NET_RULE_NAME, "pypi.org", "", "pypi.org"),
	ADD("PyPI.Org.", NULL, NET_RULE_NAME, "pypi.org", "", "PyPI.Org."),
	ADD("localhost", NULL, NET_RULE_NAME, "localhost", "", "localhost"),
	ADD("*", NULL, NET_RULE_ANY, "", "", "*"),
	ADD("*.example.org", NULL, NET_RULE_SUFFIX, ".example.org", "", "*.example.org"),
	ADD("*.Example.ORG.", NULL, NET_RULE_SUFFIX, ".example.org", "", "*.Example.ORG."),
	ADD("*.a", NULL, NET_RULE_SUFFIX, ".a", "", "*.a"),
	ADD(star_253, NULL, NET_RULE_SUFFIX, star_253 + 1, "", star_253),
	ADD("203.0.113.7", NULL, NET_RULE_ADDR, "203.0.113.7", "", "203.0.113.7"),
	ADD("127.0.0.1", NULL, NET_RULE_ADDR, "127.0.0.1", "", "127.0.0.1"),
	ADD("[2001:db8::1]", NULL, NET_RULE_ADDR, "2001:db8::1", "", "[2001:db8::1]"),
	ADD("2001:DB8::1", NULL, NET_RULE_ADDR, "2001:db8::1", "", "2001:DB8::1"),
	ADD("[::ffff:1.2.3.4]", NULL, NET_RULE_ADDR, "1.2.3.4", "", "[::ffff:1.2.3.4]"),
	ADDBAD("*a.b", NULL, E_STAR),
	ADDBAD("a.*.b", NULL, E_STAR),
	ADDBAD("a.b.*", NULL, E_STAR),
	ADDBAD("**.a", NULL, E_STAR),
	ADDBAD("**", NULL, E_STAR),
	ADDBAD("*.", NULL, E_STAR),
	ADDBAD("*.*", NULL, E_AFTER),
	ADDBAD("*.*.a", NULL, E_AFTER),
	ADDBAD("*..a", NULL, E_AFTER),
	ADDBAD("*.1.2.3.4", NULL, E_AFTER),
	ADDBAD("*.[::1]", NULL, E_AFTER),
	ADDBAD("*.example.123", NULL, E_AFTER),
	ADDBAD("*.127.1", NULL, E_AFTER),
	ADDBAD("", NULL, E_HOST),
	ADDBAD("a b", NULL, E_HOST),
	ADDBAD("127.1", NULL, E_HOST),
	ADDBAD("0x7f.0.0.1", NULL, E_HOST),
	ADDBAD(label_64, NULL, E_HOST),
	ADDBAD(name_254, NULL, E_HOST),
	ADDBAD("[1.2.3.4]", NULL, E_V6),
	ADDBAD("[::1", NULL, E_V6),
	ADDBAD("fe80::1%eth0", NULL, E_V6),
	/* ports */
	ADD("h", "443", NET_RULE_NAME, "h", "443", "h:443"),
	ADD("h", "1-65535", NET_RULE_NAME, "h", "1-65535", "h:1-65535"),
	ADD("h", "80,443", NET_RULE_NAME, "h", "80,443", "h:80,443"),
	ADD("h", "8000-8100,22,80-80", NET_RULE_NAME, "h", "8000-8100,22,80", "h:8000-8100,22,80-80"),
	ADD("h", "65535", NET_RULE_NAME, "h", "65535", "h:65535"),
	ADD("[::1]", "443", NET_RULE_ADDR, "::1", "443", "[::1]:443"),
	ADD("*", "443", NET_RULE_ANY, "", "443", "*:443"),
	ADDBAD("h", "", E_PORT),
	ADDBAD("h", "0", E_PORT),
	ADDBAD("h", "0-80", E_PORT),
	ADDBAD("h", "65536", E_PORT),
	ADDBAD("h", "99999", E_PORT),
	ADDBAD("h", "080", E_PORT),
	ADDBAD("h", "+80", E_PORT),
	ADDBAD("h", "-80", E_PORT),
	ADDBAD("h", "80-", E_PORT),
	ADDBAD("h", "1-2-3", E_PORT),
	ADDBAD("h", "80,", E_PORT),
	ADDBAD("h", ",80", E_PORT),
	ADDBAD("h", "80,,443", E_PORT),
	ADDBAD("h", "80 ", E_PORT),
	ADDBAD("h", " 80", E_PORT),
	ADDBAD("h", "80, 443", E_PORT),
	ADDBAD("h", "a", E_PORT),
	ADDBAD("h", "0x50", E_PORT),
	ADDBAD("h", "443-80", E_RANGE),
	ADDBAD("h", "22,443-80", E_RANGE),
};

static void test_add(void)
{
	char desc[512];

	for (size_t i = 0; i < ARRAY_SIZE(addcases); i++) {
		const struct addcase *c = &addcases[i];
		struct netpolicy np = { 0 };
		const char *err = NULL;
		int rc = netpolicy_add(&np, c->pattern, c->ports, false, "o:1", NULL, &err);

		snprintf(desc, sizeof(desc), "netpolicy_add \"%s\" ports %s%s%s: %s",
			 show(c->pattern, strlen(c->pattern)), c->ports ? "\"" : "",
			 c->ports ? c->ports : "NULL", c->ports ? "\"" : "",
			 c->err ? "refused" : "compiled");
		if (!tap_int(desc, c->err ? -1 : 0, rc)) {
			if (err && rc < 0)
				printf("# error: %s\n", err);
			netpolicy_free(&np);
			continue;
		}
		if (c->err) {
			strcat(desc, ", message");
			tap_str(desc, c->err, err);
			tap_ok(np.n == 0, "... and no rule is added");
		} else if (tap_int("... one rule", 1, (int64_t)np.n)) {
			rule_is(desc, &np.v[0], &c->w);
		}
		netpolicy_free(&np);
	}
}

/* 64 port ranges in one rule, not 65. */
static void test_add_many_ports(void)
{
	char ports[1024];
	struct netpolicy np = { 0 };
	const char *err = NULL;
	size_t o = 0;

	for (int i = 1; i <= 64; i++)
		o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%d", i > 1 ? "," : "", i);
	tap_int("netpolicy_add: 64 port ranges", 0,
		netpolicy_add(&np, "h", ports, false, "o", NULL, &err));
	tap_int("... 64 of them", 64, np.n ? (int64_t)np.v[0].nports : 0);
	snprintf(ports + o, sizeof(ports) - o, ",65");
	err = NULL;
	tap_int("netpolicy_add: 65 port ranges refused", -1,
		netpolicy_add(&np, "h", ports, false, "o", NULL, &err));
	tap_str("... message", "more than 64 port ranges in one rule", err);
	tap_int("... no rule added", 1, (int64_t)np.n);
	netpolicy_free(&np);
}

/* NET_MAX_RULES rules, not one more; origin, reason and deny kept. */
static void test_add_bounds(void)
{
	struct netpolicy np = { 0 };
	const char *err = NULL;
	int rc = 0;

	for (int i = 0; i < NET_MAX_RULES && rc == 0; i++)
		rc = netpolicy_add(&np, "h", NULL, i % 2, "o", NULL, &err);
	tap_int("netpolicy_add: 10000 rules", 0, rc);
	tap_int("... 10000 of them", NET_MAX_RULES, (int64_t)np.n);
	err = NULL;
	tap_int("netpolicy_add: the 10001st refused", -1,
		netpolicy_add(&np, "h", NULL, false, "o", NULL, &err));
	tap_str("... message", "more than 10000 network rules", err);
	tap_int("... still 10000", NET_MAX_RULES, (int64_t)np.n);
	netpolicy_free(&np);
	tap_ok(np.n == 0 && np.v == NULL, "netpolicy_free empties the policy");
	netpolicy_free(&np);
	tap_ok(true, "netpolicy_free twice is harmless");

	err = NULL;
	rc = netpolicy_add(&np, "h", "443", true, "f.yaml:7", "the reason", &err);
	tap_int("netpolicy_add with a reason", 0, rc);
	if (rc == 0) {
		tap_ok(np.v[0].deny, "... deny kept");
		tap_str("... origin kept", "f.yaml:7", np.v[0].origin);
		tap_str("... reason kept", "the reason", np.v[0].reason);
	}
	rc = netpolicy_add(&np, "g", NULL, false, "--allow-host", NULL, &err);
	if (tap_int("netpolicy_add without a reason", 0, rc)) {
		tap_ok(!np.v[1].deny, "... allow kept");
		tap_ok(np.v[1].reason == NULL, "... reason NULL");
	}
	netpolicy_free(&np);
}

#define E_BRACKET	"an IPv6 address in brackets lacks its ']'"
#define E_AFTERB	"after ']' only ':PORTS'"

struct speccase {
	const char *spec;
	const char *err;
	struct want_rule w;
};

#define SPEC(s, kind, host, ports, pat)	{ s, NULL, { kind, host, ports, pat } }
#define SPECBAD(s, err)			{ s, err, { NET_RULE_ANY, NULL, NULL, NULL } }

static const struct speccase speccases[] = {
	SPEC("pypi.org", NET_RULE_NAME, "pypi.org", "", "pypi.org"),
	SPEC("pypi.org:443", NET_RULE_NAME, "pypi.org", "443", "pypi.org:443"),
	SPEC("h:1-10", NET_RULE_NAME, "h", "1-10", "h:1-10"),
	SPEC("h:80,443", NET_RULE_NAME, "h", "80,443", "h:80,443"),
	SPEC("*.example.org:443", NET_RULE_SUFFIX, ".example.org", "443", "*.example.org:443"),
	SPEC("*:443", NET_RULE_ANY, "", "443", "*:443"),
	SPEC("*", NET_RULE_ANY, "", "", "*"),
	SPEC("203.0.113.7:8080", NET_RULE_ADDR, "203.0.113.7", "8080", "203.0.113.7:8080"),
	SPEC("[::1]:443", NET_RULE_ADDR, "::1", "443", "[::1]:443"),
	SPEC("[::1]", NET_RULE_ADDR, "::1", "", "[::1]"),
	/* A bare IPv6 address needs brackets: "::1:80" would be two things. */
	SPECBAD("::1", E_BARE6),
	SPECBAD("2001:db8::1", E_BARE6),
	SPECBAD("::1:80", E_BARE6),
	SPECBAD("[::1", E_BRACKET),
	SPECBAD("[::1]x", E_AFTERB),
	SPECBAD("[::1]]", E_AFTERB),
	SPECBAD("[::1]:", E_PORT),
	SPECBAD("[::1]:0", E_PORT),
	SPECBAD("[::1]:443x", E_PORT),
	SPECBAD("h:", E_PORT),
	SPECBAD("h:0", E_PORT),
	SPECBAD("h:65536", E_PORT),
	SPECBAD("h:10-1", E_RANGE),
	SPECBAD(":443", E_HOST),
	SPECBAD("", E_HOST),
	SPECBAD("h:80:90", E_BARE6),
	SPECBAD("[1.2.3.4]:80", E_V6),
	SPECBAD("[h]:80", E_V6),
	SPECBAD("*.1.2.3.4:80", E_AFTER),
	SPECBAD("a.*:80", E_STAR),
};

static void test_add_spec(void)
{
	char desc[512];

	for (size_t i = 0; i < ARRAY_SIZE(speccases); i++) {
		const struct speccase *c = &speccases[i];
		struct netpolicy np = { 0 };
		const char *err = NULL;
		int rc = netpolicy_add_spec(&np, c->spec, false, "--allow-host", &err);

		snprintf(desc, sizeof(desc), "netpolicy_add_spec \"%s\": %s", c->spec,
			 c->err ? "refused" : "compiled");
		if (!tap_int(desc, c->err ? -1 : 0, rc)) {
			if (err && rc < 0)
				printf("# error: %s\n", err);
			netpolicy_free(&np);
			continue;
		}
		if (c->err) {
			strcat(desc, ", message");
			tap_str(desc, c->err, err);
		} else if (tap_int("... one rule", 1, (int64_t)np.n)) {
			rule_is(desc, &np.v[0], &c->w);
			tap_str("... origin", "--allow-host", np.v[0].origin);
			tap_ok(np.v[0].reason == NULL, "... no reason");
		}
		netpolicy_free(&np);
	}
}

/* netpolicy_append copies: the copy outlives its source. */
static void test_append(void)
{
	struct netpolicy a = { 0 }, b = { 0 };
	const char *err;
	static const struct want_rule w[] = {
		{ NET_RULE_NAME, "mine.org", "", "mine.org" },
		{ NET_RULE_SUFFIX, ".b.org", "443,8000-8100", "*.b.org:443,8000-8100" },
		{ NET_RULE_ADDR, "::1", "", "[::1]" },
	};

	netpolicy_add(&a, "mine.org", NULL, false, "a:1", NULL, &err);
	netpolicy_add(&b, "*.b.org", "443,8000-8100", true, "b:1", "why", &err);
	netpolicy_add(&b, "[::1]", NULL, false, "b:2", NULL, &err);
	netpolicy_append(&a, &b);
	netpolicy_free(&b);
	if (!tap_int("netpolicy_append: rules after ours", 3, (int64_t)a.n))
		goto out;
	for (size_t i = 0; i < 3; i++)
		rule_is("netpolicy_append: a rule copied", &a.v[i], &w[i]);
	tap_ok(a.v[1].deny && !a.v[2].deny, "netpolicy_append: deny copied");
	tap_str("netpolicy_append: origin copied", "b:2", a.v[2].origin);
	tap_str("netpolicy_append: reason copied", "why", a.v[1].reason);
	tap_ok(a.v[2].reason == NULL, "netpolicy_append: no reason stays NULL");
	netpolicy_append(&a, &b);
	tap_int("netpolicy_append of an empty policy", 3, (int64_t)a.n);
out:
	netpolicy_free(&a);
}

/* ---- netpolicy_check_host, netpolicy_check_addr ----------------------------------------- */

/* A policy for the tables: "+SPEC" allows, "-SPEC" denies; rule I (from 0)
 * has origin "p:I+1". */
static bool build(struct netpolicy *np, const char *const *specs)
{
	for (size_t i = 0; specs[i]; i++) {
		char origin[32];
		const char *err = NULL;

		snprintf(origin, sizeof(origin), "p:%zu", i + 1);
		if (netpolicy_add_spec(np, specs[i] + 1, specs[i][0] == '-', origin, &err) < 0) {
			printf("# a table's rule %s: %s\n", specs[i], err);
			return false;
		}
	}
	return true;
}

static const char *const P_NONE[] = { NULL };

static const char *const P_MAIN[] = {
	"+pypi.org",				/* 0 */
	"+*.example.org",			/* 1 */
	"+files.pythonhosted.org:443",		/* 2 */
	"-bad.example.org",			/* 3 */
	"+203.0.113.7",				/* 4 */
	"+[2001:db8::1]:443",			/* 5 */
	"+h:8000-8100,22",			/* 6 */
	NULL,
};

static const char *const P_ANY[] = {
	"+*",					/* 0 */
	"-evil.org",				/* 1 */
	"-203.0.113.7",				/* 2 */
	"-[2001:db8::7]:443",			/* 3 */
	NULL,
};

static const char *const P_TWO_ALLOW[] = { "+*.example.org", "+a.example.org:443", "+*", NULL };
static const char *const P_DENY_FIRST[] = { "-pypi.org", "+pypi.org", NULL };
static const char *const P_DENY_LAST[] = { "+pypi.org", "-pypi.org", NULL };
static const char *const P_DENY_PORT[] = { "+*.example.org", "-*.example.org:22", NULL };
static const char *const P_DENY_ALL_NAMES[] = { "-*", "+1.2.3.4", "+pypi.org", NULL };
static const char *const P_DENY_SUFFIX[] = { "+*", "-*.corp", NULL };
static const char *const P_LIT[] = { "+127.0.0.1", "+[::1]:443", "+1.2.3.4", "-1.2.3.4:22", NULL };

/* For stage 2: every name allowed, some addresses named. */
static const char *const P_ADDRS[] = {
	"+*",					/* 0 */
	"+10.0.0.1:8080",			/* 1 */
	"+[fd00::1]",				/* 2 */
	"-8.8.4.4",				/* 3 */
	"+169.254.169.254:80",			/* 4 */
	"-[2606:4700::1]:443",			/* 5 */
	"-x.corp",				/* 6 */
	NULL,
};

static const char *const P_ONE_NAME[] = { "+localhost", "+metadata.internal", NULL };

struct vcase {
	const char *const *policy;
	const char *host;
	uint16_t port;
	const char *addr;	/* NULL: stage 1 only */
	bool allow;
	int rule;		/* index into the policy, or NORULE */
	const char *reason;
};

#define NOADDR		NULL
#define NOREASON	""

static const struct vcase vcases[] = {
	{ P_NONE, "pypi.org", 443, NOADDR, false, NORULE, "no rule allows pypi.org:443" },
	{ P_NONE, "1.2.3.4", 443, NOADDR, false, NORULE,
	  "no rule allows 1.2.3.4:443 (an address is allowed only by a rule that names it)" },
	/* names and suffixes */
	{ P_MAIN, "pypi.org", 443, NOADDR, true, 0, NOREASON },
	{ P_MAIN, "PYPI.org.", 1, NOADDR, true, 0, NOREASON },
	{ P_MAIN, "pypi.org", 65535, NOADDR, true, 0, NOREASON },
	{ P_MAIN, "www.pypi.org", 443, NOADDR, false, NORULE, "no rule allows www.pypi.org:443" },
	{ P_MAIN, "pypi.org.evil", 443, NOADDR, false, NORULE, "no rule allows pypi.org.evil:443" },
	{ P_MAIN, "pypi.or", 443, NOADDR, false, NORULE, "no rule allows pypi.or:443" },
	{ P_MAIN, "a.example.org", 443, NOADDR, true, 1, NOREASON },
	{ P_MAIN, "a.b.example.org", 80, NOADDR, true, 1, NOREASON },
	{ P_MAIN, "example.org", 443, NOADDR, false, NORULE, "no rule allows example.org:443" },
	{ P_MAIN, "badexample.org", 443, NOADDR, false, NORULE,
	  "no rule allows badexample.org:443" },
	{ P_MAIN, "example.org.evil", 443, NOADDR, false, NORULE,
	  "no rule allows example.org.evil:443" },
	{ P_MAIN, "bad.example.org", 443, NOADDR, false, 3,
	  "bad.example.org:443 is denied by p:4 (bad.example.org)" },
	{ P_MAIN, "x.bad.example.org", 443, NOADDR, true, 1, NOREASON },
	/* ports */
	{ P_MAIN, "files.pythonhosted.org", 443, NOADDR, true, 2, NOREASON },
	{ P_MAIN, "files.pythonhosted.org", 80, NOADDR, false, NORULE,
	  "no rule allows files.pythonhosted.org:80" },
	{ P_MAIN, "h", 7999, NOADDR, false, NORULE, "no rule allows h:7999" },
	{ P_MAIN, "h", 8000, NOADDR, true, 6, NOREASON },
	{ P_MAIN, "h", 8100, NOADDR, true, 6, NOREASON },
	{ P_MAIN, "h", 8101, NOADDR, false, NORULE, "no rule allows h:8101" },
	{ P_MAIN, "h", 22, NOADDR, true, 6, NOREASON },
	{ P_MAIN, "h", 23, NOADDR, false, NORULE, "no rule allows h:23" },
	/* address literals: only an address rule allows one */
	{ P_MAIN, "203.0.113.7", 443, NOADDR, true, 4, NOREASON },
	{ P_MAIN, "[::ffff:203.0.113.7]", 443, NOADDR, true, 4, NOREASON },
	{ P_MAIN, "203.0.113.8", 443, NOADDR, false, NORULE,
	  "no rule allows 203.0.113.8:443 (an address is allowed only by a rule that names it)" },
	{ P_MAIN, "[2001:db8::1]", 443, NOADDR, true, 5, NOREASON },
	{ P_MAIN, "2001:db8::1", 443, NOADDR, true, 5, NOREASON },
	{ P_MAIN, "[2001:db8::1]", 80, NOADDR, false, NORULE,
	  "no rule allows [2001:db8::1]:80 (an address is allowed only by a rule that names it)" },
	{ P_MAIN, "[::ffff:1.2.3.4]", 80, NOADDR, false, NORULE,
	  "no rule allows 1.2.3.4:80 (an address is allowed only by a rule that names it)" },
	/* '*' is any name, never an address */
	{ P_ANY, "anything.org", 443, NOADDR, true, 0, NOREASON },
	{ P_ANY, "a", 1, NOADDR, true, 0, NOREASON },
	{ P_ANY, "1.2.3.4", 443, NOADDR, false, NORULE,
	  "no rule allows 1.2.3.4:443 (an address is allowed only by a rule that names it)" },
	{ P_ANY, "[::1]", 443, NOADDR, false, NORULE,
	  "no rule allows [::1]:443 (an address is allowed only by a rule that names it)" },
	{ P_ANY, "evil.org", 443, NOADDR, false, 1, "evil.org:443 is denied by p:2 (evil.org)" },
	{ P_ANY, "sub.evil.org", 443, NOADDR, true, 0, NOREASON },
	{ P_ANY, "203.0.113.7", 443, NOADDR, false, 2,
	  "203.0.113.7:443 is denied by p:3 (203.0.113.7)" },
	{ P_ANY, "[2001:db8::7]", 443, NOADDR, false, 3,
	  "[2001:db8::7]:443 is denied by p:4 ([2001:db8::7]:443)" },
	{ P_ANY, "[2001:db8::7]", 80, NOADDR, false, NORULE,
	  "no rule allows [2001:db8::7]:80 (an address is allowed only by a rule that names it)" },
	/* the first allow rule that matches is the verdict's */
	{ P_TWO_ALLOW, "a.example.org", 443, NOADDR, true, 0, NOREASON },
	{ P_TWO_ALLOW, "example.org", 443, NOADDR, true, 2, NOREASON },
	/* deny wins whatever the order */
	{ P_DENY_FIRST, "pypi.org", 443, NOADDR, false, 0, "pypi.org:443 is denied by p:1 (pypi.org)" },
	{ P_DENY_LAST, "pypi.org", 443, NOADDR, false, 1, "pypi.org:443 is denied by p:2 (pypi.org)" },
	{ P_DENY_PORT, "a.example.org", 22, NOADDR, false, 1,
	  "a.example.org:22 is denied by p:2 (*.example.org:22)" },
	{ P_DENY_PORT, "a.example.org", 443, NOADDR, true, 0, NOREASON },
	{ P_DENY_ALL_NAMES, "pypi.org", 443, NOADDR, false, 0, "pypi.org:443 is denied by p:1 (*)" },
	{ P_DENY_ALL_NAMES, "1.2.3.4", 443, NOADDR, true, 1, NOREASON },
	{ P_DENY_SUFFIX, "git.corp", 443, NOADDR, false, 1, "git.corp:443 is denied by p:2 (*.corp)" },
	{ P_DENY_SUFFIX, "corp", 443, NOADDR, true, 0, NOREASON },
	/* stage 2: literals go as asked, any class, their own deny rules apply */
	{ P_LIT, "127.0.0.1", 80, "127.0.0.1", true, 0, NOREASON },
	{ P_LIT, "[::1]", 443, "::1", true, 1, NOREASON },
	{ P_LIT, "[::1]", 80, "::1", false, NORULE,
	  "no rule allows [::1]:80 (an address is allowed only by a rule that names it)" },
	{ P_LIT, "1.2.3.4", 443, "1.2.3.4", true, 2, NOREASON },
	{ P_LIT, "1.2.3.4", 22, "1.2.3.4", false, 3, "1.2.3.4:22 is denied by p:4 (1.2.3.4:22)" },
	/* stage 2: a name to a public address keeps stage 1's rule */
	{ P_ADDRS, "x.org", 443, "8.8.8.8", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 443, "2a00:1450::1", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 443, "64:ff9b::808:808", true, 0, NOREASON },
	/* stage 2: a name into the host's networks, no rule naming the address */
	{ P_ADDRS, "x.org", 443, "127.0.0.1", false, NORULE,
	  "x.org resolves to 127.0.0.1, a loopback address no rule names" },
	{ P_ADDRS, "x.org", 443, "127.0.0.2", false, NORULE,
	  "x.org resolves to 127.0.0.2, a loopback address no rule names" },
	{ P_ADDRS, "x.org", 443, "::1", false, NORULE,
	  "x.org resolves to ::1, a loopback address no rule names" },
	{ P_ADDRS, "x.org", 443, "::ffff:127.0.0.1", false, NORULE,
	  "x.org resolves to 127.0.0.1, a loopback address no rule names" },
	{ P_ADDRS, "x.org", 443, "10.0.0.1", false, NORULE,
	  "x.org resolves to 10.0.0.1, a private address no rule names" },
	{ P_ADDRS, "x.org", 443, "fd00::2", false, NORULE,
	  "x.org resolves to fd00::2, a private address no rule names" },
	{ P_ADDRS, "x.org", 443, "169.254.169.254", false, NORULE,
	  "x.org resolves to 169.254.169.254, a link-local address no rule names" },
	{ P_ADDRS, "x.org", 443, "fe80::1", false, NORULE,
	  "x.org resolves to fe80::1, a link-local address no rule names" },
	{ P_ADDRS, "x.org", 443, "::", false, NORULE,
	  "x.org resolves to ::, an unspecified address no rule names" },
	{ P_ADDRS, "x.org", 443, "0.0.0.0", false, NORULE,
	  "x.org resolves to 0.0.0.0, an unspecified address no rule names" },
	{ P_ADDRS, "x.org", 443, "ff02::1", false, NORULE,
	  "x.org resolves to ff02::1, a multicast address no rule names" },
	{ P_ADDRS, "x.org", 443, "224.0.0.1", false, NORULE,
	  "x.org resolves to 224.0.0.1, a multicast address no rule names" },
	{ P_ADDRS, "x.org", 443, "255.255.255.255", false, NORULE,
	  "x.org resolves to 255.255.255.255, a reserved address no rule names" },
	/* A denied IPv4 address is denied in its NAT64 and 6to4 forms too. */
	{ P_ADDRS, "x.org", 443, "64:ff9b::808:404", false, 3,
	  "x.org resolves to 64:ff9b::808:404, denied by p:4 (8.8.4.4)" },
	{ P_ADDRS, "x.org", 443, "2002:808:404::1", false, 3,
	  "x.org resolves to 2002:808:404::1, denied by p:4 (8.8.4.4)" },
	{ P_ADDRS, "x.org", 443, "64:ff9b::808:808", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 443, "64:ff9b::7f00:1", false, NORULE,
	  "x.org resolves to 64:ff9b::7f00:1, a reserved address no rule names" },
	{ P_ADDRS, "x.org", 443, "2002:7f00:1::", false, NORULE,
	  "x.org resolves to 2002:7f00:1::, a reserved address no rule names" },
	{ P_ONE_NAME, "localhost", 80, "127.0.0.1", false, NORULE,
	  "localhost resolves to 127.0.0.1, a loopback address no rule names" },
	{ P_ONE_NAME, "metadata.internal", 80, "169.254.169.254", false, NORULE,
	  "metadata.internal resolves to 169.254.169.254, a link-local address no rule names" },
	/* stage 2: a rule naming the address (and its port) lets it in; the
	 * verdict's rule stays stage 1's, the one that allowed the name. */
	{ P_ADDRS, "x.org", 8080, "10.0.0.1", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 8081, "10.0.0.1", false, NORULE,
	  "x.org resolves to 10.0.0.1, a private address no rule names" },
	{ P_ADDRS, "x.org", 1, "fd00::1", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 80, "169.254.169.254", true, 0, NOREASON },
	{ P_ADDRS, "x.org", 80, "::ffff:169.254.169.254", true, 0, NOREASON },
	/* stage 2: a deny rule naming a public address */
	{ P_ADDRS, "x.org", 443, "8.8.4.4", false, 3, "x.org resolves to 8.8.4.4, denied by p:4 (8.8.4.4)" },
	{ P_ADDRS, "x.org", 443, "::ffff:8.8.4.4", false, 3,
	  "x.org resolves to 8.8.4.4, denied by p:4 (8.8.4.4)" },
	{ P_ADDRS, "x.org", 443, "2606:4700::1", false, 5,
	  "x.org resolves to 2606:4700::1, denied by p:6 ([2606:4700::1]:443)" },
	{ P_ADDRS, "x.org", 80, "2606:4700::1", true, 0, NOREASON },
	/* stage 2 of a name stage 1 refuses: stage 1's verdict */
	{ P_ADDRS, "x.corp", 443, "8.8.8.8", false, 6, "x.corp:443 is denied by p:7 (x.corp)" },
	{ P_NONE, "x.org", 443, "8.8.8.8", false, NORULE, "no rule allows x.org:443" },
};

static void test_check(void)
{
	char desc[512];

	for (size_t i = 0; i < ARRAY_SIZE(vcases); i++) {
		const struct vcase *c = &vcases[i];
		struct netpolicy np = { 0 };
		struct net_host h;
		struct net_verdict v;
		const struct net_rule *want_rule;

		snprintf(desc, sizeof(desc), "%s %s port %u%s%s: %s",
			 c->addr ? "check_addr" : "check_host", c->host, c->port,
			 c->addr ? " to " : "", c->addr ? c->addr : "",
			 c->allow ? "allowed" : "refused");
		if (!build(&np, c->policy) || net_host_parse(c->host, strlen(c->host), &h) < 0) {
			tap_ok(false, desc);
			printf("# cannot set the case up\n");
			netpolicy_free(&np);
			continue;
		}
		memset(&v, 0x5a, sizeof(v));
		if (c->addr) {
			struct in6_addr a = A(c->addr);

			netpolicy_check_addr(&np, &h, &a, c->port, &v);
		} else {
			netpolicy_check_host(&np, &h, c->port, &v);
		}
		want_rule = c->rule == NORULE ? NULL : &np.v[c->rule];
		if (!tap_ok(v.allow == c->allow && v.rule == want_rule, desc)) {
			printf("# expected: %s, rule %s\n", c->allow ? "allow" : "refuse",
			       want_rule ? want_rule->origin : "NULL");
			printf("#      got: %s, rule %s\n", v.allow ? "allow" : "refuse",
			       v.rule ? v.rule->origin : "NULL");
		}
		strcat(desc, ", reason");
		tap_str(desc, c->reason, v.reason);
		netpolicy_free(&np);
	}
}

/* The longest name and port fit the reason: nothing is cut. */
static void test_reason_length(void)
{
	struct netpolicy np = { 0 };
	struct net_host h;
	struct net_verdict v;
	struct in6_addr a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	char want[sizeof(v.reason) * 2];
	const char *err;

	net_host_parse(name_253, strlen(name_253), &h);
	netpolicy_check_host(&np, &h, 65535, &v);
	snprintf(want, sizeof(want), "no rule allows %s:65535", name_253);
	tap_str("the longest name in a reason", want, v.reason);

	netpolicy_add(&np, star_253, NULL, false, "p:1", NULL, &err);
	netpolicy_add(&np, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "65535", true, "p:2", NULL,
		      &err);
	net_host_parse(name_253, strlen(name_253), &h);
	netpolicy_check_host(&np, &h, 65535, &v);
	tap_ok(!v.allow, "a suffix never matches the name it is made of");
	netpolicy_free(&np);

	netpolicy_add(&np, "*", NULL, false, "p:1", NULL, &err);
	netpolicy_add(&np, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]", "65535", true, "p:2", NULL,
		      &err);
	netpolicy_check_addr(&np, &h, &a, 65535, &v);
	snprintf(want, sizeof(want),
		 "%s resolves to ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe, denied by p:2 "
		 "([ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535)", name_253);
	tap_str("the longest name and address in a reason", want, v.reason);
	netpolicy_free(&np);
}

/* A reason longer than its buffer is cut, and still a string. */
static void test_reason_cut(void)
{
	struct netpolicy np = { 0 };
	struct net_host h;
	struct net_verdict v;
	char origin[600];
	const char *err;

	memset(origin, 'o', sizeof(origin) - 1);
	origin[sizeof(origin) - 1] = '\0';
	netpolicy_add(&np, "*", NULL, true, origin, NULL, &err);
	net_host_parse(name_253, strlen(name_253), &h);
	netpolicy_check_host(&np, &h, 443, &v);
	tap_int("a long reason is cut to its buffer", (int64_t)sizeof(v.reason) - 1,
		(int64_t)strnlen(v.reason, sizeof(v.reason)));
	tap_ok(!v.allow && v.rule == &np.v[0], "... and the verdict is still the rule's");
	netpolicy_free(&np);
}

/* ---- the network: section of a policy ------------------------------------------------- */

struct want_loaded {
	bool deny;
	struct want_rule w;
	const char *origin;
	const char *reason;	/* NULL: none */
};

static void check_loaded(const char *what, const struct policy *pol,
			 const struct want_loaded *want, size_t n)
{
	const struct netpolicy *np = policy_network(pol);
	char desc[512];

	snprintf(desc, sizeof(desc), "%s: %zu network rules", what, n);
	if (!tap_int(desc, (int64_t)n, (int64_t)np->n))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct net_rule *r = &np->v[i];

		snprintf(desc, sizeof(desc), "%s: rule %zu (%s)", what, i + 1, want[i].w.pattern);
		rule_is(desc, r, &want[i].w);
		snprintf(desc, sizeof(desc), "%s: rule %zu is %s", what, i + 1,
			 want[i].deny ? "deny" : "allow");
		tap_ok(r->deny == want[i].deny, desc);
		snprintf(desc, sizeof(desc), "%s: rule %zu origin", what, i + 1);
		tap_str(desc, want[i].origin, r->origin);
		snprintf(desc, sizeof(desc), "%s: rule %zu reason", what, i + 1);
		if (want[i].reason)
			tap_str(desc, want[i].reason, r->reason);
		else if (!tap_ok(r->reason == NULL, desc))
			printf("# got: \"%s\"\n", r->reason);
	}
}

static struct policy *load(const char *what, const char *text)
{
	struct policy *pol = NULL;
	struct diags d;
	char desc[256];

	diags_init(&d);
	snprintf(desc, sizeof(desc), "%s: loads", what);
	if (!tap_int(desc, 0, policy_load_buffer("mem.yaml", text, strlen(text), NULL, &pol, &d)))
		diags_print(stdout, &d);
	diags_free(&d);
	return pol;
}

static const char P_NET[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - {pattern: '**', permission: read}\n"	/* 3 */
	"network:\n"					/* 4 */
	"  allow:\n"					/* 5 */
	"    - pypi.org\n"				/* 6 */
	"    - \"*.example.org:443\"\n"			/* 7 */
	"    - '[2001:db8::1]:8000-8100'\n"		/* 8 */
	"    - host: '[2001:db8::2]'\n"			/* 9 */
	"      ports: [443, \"8000-8100\"]\n"		/* 10 */
	"      reason: the mirror\n"			/* 11 */
	"    - {host: 10.0.0.1, ports: 8080}\n"		/* 12 */
	"    - {host: \"*\", ports: 1-1024}\n"		/* 13 */
	"    - host: ::1\n"				/* 14 */
	"  deny:\n"					/* 15 */
	"    - bad.example.org\n"			/* 16 */
	"    - {host: '*.corp', reason: internal}\n";	/* 17 */

static const struct want_loaded W_NET[] = {
	{ false, { NET_RULE_NAME, "pypi.org", "", "pypi.org" }, "mem.yaml:6", NULL },
	{ false, { NET_RULE_SUFFIX, ".example.org", "443", "*.example.org:443" }, "mem.yaml:7", NULL },
	{ false, { NET_RULE_ADDR, "2001:db8::1", "8000-8100", "[2001:db8::1]:8000-8100" },
	  "mem.yaml:8", NULL },
	{ false, { NET_RULE_ADDR, "2001:db8::2", "443,8000-8100", "[2001:db8::2]:443,8000-8100" },
	  "mem.yaml:9", "the mirror" },
	{ false, { NET_RULE_ADDR, "10.0.0.1", "8080", "10.0.0.1:8080" }, "mem.yaml:12", NULL },
	{ false, { NET_RULE_ANY, "", "1-1024", "*:1-1024" }, "mem.yaml:13", NULL },
	{ false, { NET_RULE_ADDR, "::1", "", "::1" }, "mem.yaml:14", NULL },
	{ true, { NET_RULE_NAME, "bad.example.org", "", "bad.example.org" }, "mem.yaml:16", NULL },
	{ true, { NET_RULE_SUFFIX, ".corp", "", "*.corp" }, "mem.yaml:17", "internal" },
};

/* deny before allow in the file: rules in the file's order. */
static const char P_DENY_THEN_ALLOW[] =
	"version: 1\n"					/* 1 */
	"network:\n"					/* 2 */
	"  deny: [a.org]\n"				/* 3 */
	"  allow:\n"					/* 4 */
	"    - b.org\n";				/* 5 */

static const struct want_loaded W_DENY_THEN_ALLOW[] = {
	{ true, { NET_RULE_NAME, "a.org", "", "a.org" }, "mem.yaml:3", NULL },
	{ false, { NET_RULE_NAME, "b.org", "", "b.org" }, "mem.yaml:5", NULL },
};

static const char P_EMPTY_NET[] =
	"version: 1\n"
	"network: {allow: [], deny: []}\n";

static const char P_NO_NET[] =
	"version: 1\n"
	"rules: []\n";

static void test_load(void)
{
	struct policy *pol;
	struct net_host h;
	struct net_verdict v;

	pol = load("a network section", P_NET);
	if (pol) {
		check_loaded("a network section", pol, W_NET, ARRAY_SIZE(W_NET));
		tap_int("a network section: path rules still there", 1, (int64_t)policy_nrules(pol));
		/* The loaded policy decides as the tables above. */
		net_host_parse("x.corp", 6, &h);
		netpolicy_check_host(policy_network(pol), &h, 80, &v);
		tap_str("a network section: its deny rule decides",
			"x.corp:80 is denied by mem.yaml:17 (*.corp)", v.reason);
	}
	policy_free(pol);
	pol = load("deny before allow", P_DENY_THEN_ALLOW);
	if (pol)
		check_loaded("deny before allow", pol, W_DENY_THEN_ALLOW,
			     ARRAY_SIZE(W_DENY_THEN_ALLOW));
	policy_free(pol);
	pol = load("empty allow and deny", P_EMPTY_NET);
	if (pol)
		check_loaded("empty allow and deny", pol, NULL, 0);
	policy_free(pol);
	pol = load("no network section", P_NO_NET);
	if (pol)
		check_loaded("no network section", pol, NULL, 0);
	policy_free(pol);
}

/* extends: the base's rules first, with the base's file name in origin. */
static void test_load_extends(void)
{
	char dir[] = "/tmp/test-netpolicy.XXXXXX", real[PATH_MAX];
	char base[PATH_MAX + 16], mid[PATH_MAX + 16], text[2 * PATH_MAX], origin[2][PATH_MAX + 32];
	struct policy *pol;
	FILE *f;

	if (!mkdtemp(dir) || !realpath(dir, real)) {
		tap_ok(false, "extends: a temporary directory");
		return;
	}
	snprintf(base, sizeof(base), "%s/base.yaml", real);
	snprintf(mid, sizeof(mid), "%s/mid.yaml", real);
	f = fopen(base, "w");
	fputs("version: 1\n"			/* 1 */
	      "network:\n"			/* 2 */
	      "  allow:\n"			/* 3 */
	      "    - base.org\n"		/* 4 */
	      "  deny:\n"			/* 5 */
	      "    - bad.base.org\n",		/* 6 */
	      f);
	fclose(f);
	f = fopen(mid, "w");
	fputs("version: 1\n"			/* 1 */
	      "extends: base.yaml\n"		/* 2 */
	      "rules: []\n",			/* 3 */
	      f);
	fclose(f);
	snprintf(origin[0], sizeof(origin[0]), "%s:4", base);
	snprintf(origin[1], sizeof(origin[1]), "%s:6", base);

	/* The main policy's network section comes before its extends in
	 * the text: still the base's rules first. */
	snprintf(text, sizeof(text),
		 "version: 1\n"			/* 1 */
		 "network:\n"			/* 2 */
		 "  allow: [main.org]\n"	/* 3 */
		 "extends: %s\n", mid);		/* 4 */
	pol = load("extends", text);
	if (pol) {
		const struct want_loaded w[] = {
			{ false, { NET_RULE_NAME, "base.org", "", "base.org" }, origin[0], NULL },
			{ true, { NET_RULE_NAME, "bad.base.org", "", "bad.base.org" }, origin[1], NULL },
			{ false, { NET_RULE_NAME, "main.org", "", "main.org" }, "mem.yaml:3", NULL },
		};

		check_loaded("extends", pol, w, ARRAY_SIZE(w));
	}
	policy_free(pol);

	/* A policy without a network section inherits its base's. */
	snprintf(text, sizeof(text), "version: 1\nextends: %s\n", base);
	pol = load("extends, no network section of its own", text);
	if (pol) {
		const struct want_loaded w[] = {
			{ false, { NET_RULE_NAME, "base.org", "", "base.org" }, origin[0], NULL },
			{ true, { NET_RULE_NAME, "bad.base.org", "", "bad.base.org" }, origin[1], NULL },
		};

		check_loaded("extends, no network section of its own", pol, w, ARRAY_SIZE(w));
	}
	policy_free(pol);
	unlink(base);
	unlink(mid);
	rmdir(dir);
}

/* A failed load leaves nothing behind (ASan says so) and says why. */
static void test_load_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "version: 1\nnetwork: [a]\n",
		  "mem.yaml:2:10: 'network' must be a mapping with 'allow' or 'deny', not a sequence" },
		{ "version: 1\nnetwork:\n  allow: [a.org, 'b c']\n",
		  "mem.yaml:3:18: 'b c': not a host name or an address" },
		{ "version: 1\nnetwork:\n  allow:\n    - {host: a.org, ports: 0}\n",
		  "mem.yaml:4:28: a port is a number from 1 to 65535, or LOW-HIGH" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy *pol = NULL;
		struct diags d;
		char desc[256];
		int rc;

		diags_init(&d);
		rc = policy_load_buffer("mem.yaml", cases[i].text, strlen(cases[i].text), NULL,
					&pol, &d);
		snprintf(desc, sizeof(desc), "a bad network section: refused (%zu)", i + 1);
		tap_ok(rc == -1 && pol == NULL, desc);
		if (d.n == 1) {
			char got[512];

			snprintf(got, sizeof(got), "%s:%d:%d: %s", d.v[0].file, d.v[0].line,
				 d.v[0].column, d.v[0].msg);
			snprintf(desc, sizeof(desc), "a bad network section: message (%zu)", i + 1);
			tap_str(desc, cases[i].msg, got);
		} else {
			snprintf(desc, sizeof(desc), "a bad network section: one message (%zu)", i + 1);
			tap_int(desc, 1, (int64_t)d.n);
			diags_print(stdout, &d);
		}
		diags_free(&d);
		policy_free(pol);
	}
}

int main(void)
{
	make_names();
	test_host_parse();
	test_authority_parse();
	test_addr_class();
	test_addr_string();
	test_add();
	test_add_many_ports();
	test_add_bounds();
	test_add_spec();
	test_append();
	test_check();
	test_reason_length();
	test_reason_cut();
	test_load();
	test_load_extends();
	test_load_errors();
	return tap_done();
}
