/* resolve.c - the addresses of a name the sandbox asked for.
 *
 * Names are resolved here, on the host, never in the sandbox: the host's
 * resolver through getaddrinfo(3), or, for tests only, the fixed table of
 * AFS_PROXY_RESOLVE ("NAME=ADDR[,ADDR...][;NAME=ADDR...]"), which then is
 * the only resolver: a name it does not hold does not resolve.  Each
 * address found is still checked by conn.c (netpolicy_check_addr) before
 * any connection to it.
 *
 * A lookup MUST:
 *   - ask for the name exactly as the policy decided it: no search domain
 *     of resolv.conf(5) ("search", "domain", ndots) and no HOSTALIASES is
 *     added, else "db", denied or not, would reach "db.corp.example";
 *   - end by the caller's deadline, and at once when afs-proxy stops, so
 *     that a slow name server holds no connection and loses no record.
 *
 * getaddrinfo(3) cannot be interrupted, and the search list is a setting
 * of the calling thread's resolver state (_res), which getaddrinfo_a(3)
 * does not carry to its own helper threads (glibc 2.36 searches there
 * whatever the caller set).  So each lookup runs in a thread of ours
 * that sets its own _res, and the caller waits for it on an eventfd, the
 * deadline and stop_fd; a lookup given up finishes in its thread, which
 * then frees it.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* A lookup's thread: as a connection's, where getaddrinfo ran before. */
#define LOOKUP_STACK	(256 * 1024)
/* Lookups given up but still in their thread: each ends by the resolver's
 * own timeouts (timeout x attempts x servers of resolv.conf(5), 30 s at
 * most by default), and a sandbox asking for names whose server does not
 * answer makes one each --connect-timeout per connection.  Each holds a
 * thread and an fd; beyond this many, a name is not looked up. */
#define LOOKUP_MAX_GIVEN_UP	64

struct lookup {
	char name[NET_MAX_NAME + 1];
	int efd;		/* readable once done */
	int gai;		/* getaddrinfo's answer; -1: res_init failed */
	int sys;		/* errno, for EAI_SYSTEM or a failed res_init */
	struct addrinfo *res;
	bool done, given_up;	/* under lookup_lock */
};

static pthread_mutex_t lookup_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned lookups_given_up;	/* under lookup_lock */

static void lookup_free(struct lookup *l)
{
	if (l->res)
		freeaddrinfo(l->res);
	close(l->efd);
	free(l);
}

static void *lookup_main(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct lookup *l = arg;
	bool given_up;

	/* This thread's resolver state, read from resolv.conf now, with the
	 * search list off: only the name itself is asked (glibc keeps a
	 * _res that was changed after res_init as it is). */
	if (res_init() == 0) {
		_res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
		_res.options |= RES_NOALIASES;
		l->gai = getaddrinfo(l->name, NULL, &hints, &l->res);
	} else {
		l->gai = -1;
	}
	l->sys = errno ? errno : EIO;	/* read for EAI_SYSTEM and -1 only */
	pthread_mutex_lock(&lookup_lock);
	given_up = l->given_up;
	if (given_up) {
		lookups_given_up--;
	} else {
		/* Under the lock: once done is seen, L is the caller's. */
		l->done = true;
		eventfd_write(l->efd, 1);
	}
	pthread_mutex_unlock(&lookup_lock);
	if (given_up)
		lookup_free(l);
	return NULL;
}

/* Wait for L until DEADLINE or afs-proxy stopping: 0 done, or -errno
 * (-ETIMEDOUT, -ECANCELED). */
static int lookup_wait(const struct proxy *px, struct lookup *l, int64_t deadline)
{
	struct pollfd p[2] = { { .fd = l->efd, .events = POLLIN },
			       { .fd = px->stop_fd, .events = POLLIN } };

	for (;;) {
		int64_t left = deadline - mono_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(p, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0;
		if (left == 0)
			return -ETIMEDOUT;
	}
}

/* The addresses of RES in OUT, IPv4 as ::ffff:a.b.c.d, without repeats. */
static size_t addresses(const struct addrinfo *res, struct in6_addr *out)
{
	const struct addrinfo *ai;
	size_t n = 0;

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
	return n;
}

static size_t from_resolver(const struct proxy *px, const struct net_host *h,
			    int64_t deadline, struct in6_addr *out, int *err, char *why,
			    size_t whylen)
{
	struct lookup *l;
	pthread_attr_t attr;
	pthread_t t;
	size_t n = 0;
	int e;

	pthread_mutex_lock(&lookup_lock);
	e = lookups_given_up >= LOOKUP_MAX_GIVEN_UP;
	pthread_mutex_unlock(&lookup_lock);
	if (e) {
		*err = EAGAIN;
		snprintf(why, whylen,
			 "cannot resolve %s: %d lookups given up earlier are still running",
			 h->name, LOOKUP_MAX_GIVEN_UP);
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		*err = ENOMEM;
		snprintf(why, whylen, "cannot resolve %s: %s", h->name, strerrordesc_np(ENOMEM));
		return 0;
	}
	memcpy(l->name, h->name, sizeof(l->name));
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->efd < 0) {
		*err = errno;
		snprintf(why, whylen, "cannot resolve %s: eventfd: %s", h->name,
			 strerrordesc_np(*err));
		free(l);
		return 0;
	}
	/* The thread inherits this one's mask: every signal afs-proxy takes
	 * is blocked, and comes through main.c's signalfd. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, LOOKUP_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, lookup_main, l);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		*err = e;
		snprintf(why, whylen, "cannot resolve %s: cannot start a thread: %s", h->name,
			 strerrordesc_np(e));
		lookup_free(l);
		return 0;
	}

	e = lookup_wait(px, l, deadline);
	pthread_mutex_lock(&lookup_lock);
	if (!l->done) {
		/* Its thread frees it when getaddrinfo returns. */
		l->given_up = true;
		lookups_given_up++;
		pthread_mutex_unlock(&lookup_lock);
		*err = e < 0 ? -e : ETIMEDOUT;
		if (*err == ETIMEDOUT)
			snprintf(why, whylen,
				 "cannot resolve %s: no answer within --connect-timeout", h->name);
		else if (*err == ECANCELED)
			snprintf(why, whylen, "cannot resolve %s: afs-proxy stopped", h->name);
		else
			snprintf(why, whylen, "cannot resolve %s: poll: %s", h->name,
				 strerrordesc_np(*err));
		return 0;
	}
	pthread_mutex_unlock(&lookup_lock);

	*err = EHOSTUNREACH;
	if (l->gai == -1) {
		*err = l->sys;
		snprintf(why, whylen,
			 "cannot resolve %s: cannot read the resolver's configuration: %s",
			 h->name, strerrordesc_np(l->sys));
	} else if (l->gai == EAI_SYSTEM) {
		*err = l->sys;
		snprintf(why, whylen, "cannot resolve %s: %s", h->name, strerrordesc_np(l->sys));
	} else if (l->gai != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", h->name, gai_strerror(l->gai));
	} else {
		n = addresses(l->res, out);
		if (n == 0)
			snprintf(why, whylen, "cannot resolve %s: no address", h->name);
	}
	lookup_free(l);
	return n;
}

size_t resolve_name(const struct proxy *px, const struct net_host *h, int64_t deadline,
		    struct in6_addr *out, int *err, char *why, size_t whylen)
{
	if (px->resolve) {
		*err = EHOSTUNREACH;
		return from_table(px->resolve, h, out, why, whylen);
	}
	return from_resolver(px, h, deadline, out, err, why, whylen);
}
