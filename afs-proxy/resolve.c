/* resolve.c - the addresses of a name the sandbox asked for.
 *
 * Names are resolved here, on the host, never in the sandbox: the host's
 * resolver through getaddrinfo(3), or, for tests only, the fixed table of
 * AFS_PROXY_RESOLVE ("NAME=ADDR[,ADDR...][;NAME=ADDR...]"), which then is
 * the only resolver: a name it does not hold does not resolve.  Each
 * address found is still checked by conn.c (netpolicy_check_addr) before
 * any connection to it.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

/* Names in AFS_PROXY_RESOLVE: a test names a few. */
#define RESOLVE_MAX_NAMES	1024

struct resolve_entry {
	char name[NET_MAX_NAME + 1];
	struct in6_addr addr[RESOLVE_MAX];
	size_t n;
};

struct resolve_table {
	struct resolve_entry *v;
	size_t n;
};

/* One "NAME=ADDR[,ADDR...]" of LEN bytes at S. */
static int entry_parse(const char *s, size_t len, struct resolve_entry *e, const char **err)
{
	const char *eq = memchr(s, '=', len), *end = s + len;
	struct net_host h;

	if (!eq) {
		*err = "an entry is NAME=ADDR[,ADDR...]";
		return -1;
	}
	if (net_host_parse(s, (size_t)(eq - s), &h) < 0 || h.is_addr) {
		*err = "not a host name before '='";
		return -1;
	}
	memcpy(e->name, h.name, sizeof(e->name));
	for (const char *a = eq + 1; a <= end;) {
		const char *comma = memchr(a, ',', (size_t)(end - a));
		size_t alen = comma ? (size_t)(comma - a) : (size_t)(end - a);

		if (net_host_parse(a, alen, &h) < 0 || !h.is_addr) {
			*err = "not an address after '=' or ','";
			return -1;
		}
		if (e->n == RESOLVE_MAX) {
			*err = "more than 16 addresses for one name";
			return -1;
		}
		e->addr[e->n++] = h.addr;
		a += alen + 1;
	}
	return 0;
}

int resolve_table_parse(const char *spec, struct resolve_table **out, const char **err)
{
	struct resolve_table *t = xcalloc(1, sizeof(*t));
	const char *s = spec;

	while (*s) {
		size_t len = strcspn(s, ";");

		if (len > 0) {
			if (t->n == RESOLVE_MAX_NAMES) {
				*err = "more than 1024 names";
				goto bad;
			}
			t->v = xreallocarray(t->v, t->n + 1, sizeof(*t->v));
			memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
			if (entry_parse(s, len, &t->v[t->n], err) < 0)
				goto bad;
			t->n++;
		}
		s += len;
		if (*s == ';')
			s++;
	}
	*out = t;
	return 0;
bad:
	resolve_table_free(t);
	return -1;
}

void resolve_table_free(struct resolve_table *t)
{
	if (t) {
		free(t->v);
		free(t);
	}
}

static size_t from_table(const struct resolve_table *t, const struct net_host *h,
			 struct in6_addr *out, char *why, size_t whylen)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, h->name) == 0) {
			memcpy(out, t->v[i].addr, t->v[i].n * sizeof(*out));
			return t->v[i].n;
		}
	snprintf(why, whylen, "cannot resolve %s: not in AFS_PROXY_RESOLVE", h->name);
	return 0;
}

static size_t from_resolver(const struct net_host *h, struct in6_addr *out, char *why,
			    size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	size_t n = 0;
	int e;

	e = getaddrinfo(h->name, NULL, &hints, &res);
	if (e != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", h->name, gai_strerror(e));
		return 0;
	}
	for (ai = res; ai && n < RESOLVE_MAX; ai = ai->ai_next) {
		struct in6_addr a = { 0 };
		size_t i;

		if (ai->ai_family == AF_INET) {
			a.s6_addr[10] = 0xff;
			a.s6_addr[11] = 0xff;
			memcpy(&a.s6_addr[12], &((struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
		} else if (ai->ai_family == AF_INET6) {
			a = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		} else {
			continue;
		}
		for (i = 0; i < n && memcmp(&out[i], &a, sizeof(a)) != 0; i++)
			;
		if (i == n)
			out[n++] = a;
	}
	freeaddrinfo(res);
	if (n == 0)
		snprintf(why, whylen, "cannot resolve %s: no address", h->name);
	return n;
}

size_t resolve_name(const struct proxy *px, const struct net_host *h, struct in6_addr *out,
		    char *why, size_t whylen)
{
	if (px->resolve)
		return from_table(px->resolve, h, out, why, whylen);
	return from_resolver(h, out, why, whylen);
}
