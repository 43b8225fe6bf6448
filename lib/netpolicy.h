/* netpolicy.h - which hosts a sandbox may reach: the network allowlist
 * (afs-policy(5) NETWORK, afs-launch(1) --allow-host).
 *
 * A rule names a host pattern and, optionally, ports:
 *
 *   pypi.org            that name only (case does not matter, nor a
 *                       trailing dot)
 *   *.example.org       any name below example.org, not example.org
 *   *                   any name (never an address: see below)
 *   203.0.113.7         that address, IPv4
 *   [2001:db8::1]       that address, IPv6 (brackets needed with a port)
 *
 * followed by ":PORT" or ":LOW-HIGH" on the command line, or "ports:" in a
 * policy.  No port: any port.  A deny rule that matches wins over every
 * allow rule.
 *
 * Deciding is in two stages.  The host the sandbox asked for, before any
 * resolution (netpolicy_check_host): a deny rule, then an allow rule must
 * match; an address literal is allowed only by an address rule naming it.
 * Then each address the name resolved to (netpolicy_check_addr): a deny
 * rule naming the address refuses it, and an address that is not public
 * (loopback, private, link-local, multicast, unspecified, reserved) is
 * refused unless an allow rule names that very address.  So no name leads
 * into the host's own network unless the policy says that address.
 *
 * Deciding is pure: no I/O, no allocation.
 */
#ifndef AFS_NETPOLICY_H
#define AFS_NETPOLICY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_RULES	10000	/* rules, allow and deny, after extends */
#define NET_MAX_NAME	253	/* bytes of a host name, without a final dot */
#define NET_MAX_PORTS	64	/* port ranges of one rule */

enum net_rule_kind {
	NET_RULE_NAME,		/* pypi.org */
	NET_RULE_SUFFIX,	/* *.example.org */
	NET_RULE_ANY,		/* * */
	NET_RULE_ADDR,		/* 203.0.113.7, [2001:db8::1] */
};

struct net_ports {
	uint16_t lo, hi;	/* inclusive */
};

struct net_rule {
	enum net_rule_kind kind;
	bool deny;
	char *host;		/* NAME: the name, lower case, no final dot;
				 * SUFFIX: ".example.org"; ANY: "";
				 * ADDR: the address as inet_ntop writes it */
	struct in6_addr addr;	/* ADDR: IPv4 as ::ffff:a.b.c.d */
	struct net_ports *ports;	/* NULL and nports 0: any port */
	size_t nports;
	char *pattern;		/* as written, ports included */
	char *origin;		/* "FILE:LINE", or "--allow-host" */
	char *reason;		/* NULL when not given */
};

struct netpolicy {
	struct net_rule *v;
	size_t n, cap;
};

/* A host as a request names it. */
struct net_host {
	bool is_addr;
	char name[NET_MAX_NAME + 1];	/* the name, lower case, no final
					 * dot; or the address as inet_ntop
					 * writes it (no brackets) */
	struct in6_addr addr;		/* is_addr: IPv4 as ::ffff:a.b.c.d */
};

/* Parse the LEN bytes at S as a host: a name (letters, digits, '-' and
 * '_' in labels of 1 to 63 bytes, at most NET_MAX_NAME bytes, one final
 * dot allowed), an IPv4 address in dotted decimal (four parts, no
 * leading zeros), or an IPv6 address, with or without brackets.
 * Anything else, NUL, space and control bytes included, is refused.
 * 0, or -1. */
int net_host_parse(const char *s, size_t len, struct net_host *h);

/* Parse "HOST:PORT" (an IPv6 HOST in brackets) as the authority of a
 * CONNECT or of an absolute URI.  When the LEN bytes hold no port,
 * DEFAULT_PORT is taken, or, when it is 0, the authority is refused.
 * Port 0 is refused.  0, or -1. */
int net_authority_parse(const char *s, size_t len, uint16_t default_port,
			struct net_host *h, uint16_t *port);

enum net_class {
	NET_PUBLIC,
	NET_LOOPBACK,		/* 127/8, ::1 */
	NET_PRIVATE,		/* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
	NET_LINK_LOCAL,		/* 169.254/16, fe80::/10 */
	NET_MULTICAST,		/* 224/4, ff00::/8 */
	NET_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	NET_RESERVED,		/* 240/4 and the broadcast, IPv4 embedded in
				 * IPv6 by NAT64 or 6to4 when the IPv4 is not
				 * public, other special-purpose blocks */
};

/* The class of A (IPv4 as ::ffff:a.b.c.d); its name, as in messages. */
enum net_class net_addr_class(const struct in6_addr *a);
const char *net_class_name(enum net_class c);

/* Write A as inet_ntop does: a.b.c.d for an IPv4-mapped address. */
void net_addr_string(const struct in6_addr *a, char *out, size_t size);

struct net_verdict {
	bool allow;
	const struct net_rule *rule;	/* the deciding rule, or NULL */
	char reason[384];		/* one line, for a refusal: "denied by
					 * RULE (PATTERN)", "no rule allows
					 * HOST:PORT", "HOST resolves to
					 * ADDR, a loopback address no rule
					 * names", ... */
};

/* Stage 1: the host H the sandbox asked for, and PORT. */
void netpolicy_check_host(const struct netpolicy *np, const struct net_host *h,
			  uint16_t port, struct net_verdict *v);

/* Stage 2: ADDR, one of the addresses that the name H (allowed at stage
 * 1) resolved to, for PORT.  V->rule is stage 1's rule when allowed.
 * Port 0 is never allowed. */
void netpolicy_check_addr(const struct netpolicy *np, const struct net_host *h,
			  const struct in6_addr *addr, uint16_t port,
			  struct net_verdict *v);

/* Parse PORTS ("443", "8000-8100", or several joined by ',') into *OUT
 * (NET_MAX_PORTS ranges at most, to free) and *N.  0, or -1 with *ERR a
 * message (static text). */
int net_ports_parse(const char *s, struct net_ports **out, size_t *n, const char **err);

/* Compile one rule: PATTERN (as above, without ports) and PORTS (NULL
 * for any; else "443", "8000-8100", or several of them joined by ','),
 * from ORIGIN ("FILE:LINE" or an option's name).  0, or -1 with *ERR a
 * message (static text). */
int netpolicy_add(struct netpolicy *np, const char *pattern, const char *ports,
		  bool deny, const char *origin, const char *reason, const char **err);

/* Compile a command-line spec, PATTERN[:PORTS], as netpolicy_add does; an
 * IPv6 address must be in brackets ("[2001:db8::1]", "[::1]:443"). */
int netpolicy_add_spec(struct netpolicy *np, const char *spec, bool deny,
		       const char *origin, const char **err);

/* Append the rules of FROM to NP (their strings copied). */
void netpolicy_append(struct netpolicy *np, const struct netpolicy *from);

void netpolicy_free(struct netpolicy *np);

#endif
