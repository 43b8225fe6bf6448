/* proxy.h - afs-proxy: what its modules share.
 *
 * Calls run one way: main.c (options, set-up) -> serve.c (connections in,
 * one thread each, the limit, stopping) -> conn.c (one connection: its
 * head, the verdict, the upstream connection, the audit record) ->
 * request.c (the head, pure), resolve.c (names to addresses), pump.c
 * (bytes both ways), peer.c (the process behind a connection).
 */
#ifndef AFS_PROXY_H
#define AFS_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "netpolicy.h"
#include "request.h"
#include "util.h"

/* Exit statuses (afs-proxy(1) EXIT STATUS). */
#define EXIT_CANNOT_SERVE	1
#define EXIT_USAGE		2

/* Addresses tried for one name: a resolver's answer rarely holds more
 * than a handful, and each costs up to the connect deadline. */
#define RESOLVE_MAX	16

struct resolve_table;

/* Set up by main.c, read only once serving. */
struct proxy {
	struct netpolicy np;
	int audit_fd;			/* -1: no audit log */
	const char *audit_name;		/* the log, in messages: "'PATH'",
					 * "on fd N" */
	const char *name, *session;	/* the records' mount and session */
	unsigned max_conns;
	int64_t max_bytes;		/* each way, per connection */
	int64_t head_ms, connect_ms;
	const struct resolve_table *resolve;	/* AFS_PROXY_RESOLVE, or NULL */
	int stop_fd;	/* readable (end of file) once afs-proxy stops */
	int stop_w;	/* its other end, closed to stop */
};

/* A connection handed to serve.c: the client's socket (non-blocking,
 * close-on-exec) and what the sandbox's relay said of it. */
struct conn_from {
	int fd;
	pid_t relay_pid;	/* the relay, as the host sees it; 0: unknown */
	pid_t inside_pid;	/* the client, as the sandbox sees it; 0: unknown */
	char comm[TASK_COMM_LEN];	/* "": unknown */
};

/* serve.c */
int serve_relay(const struct proxy *px, int relay_fd, int sig_fd);
int serve_listen(const struct proxy *px, int listen_fd, int sig_fd);
/* No connection is left (after serving: nothing uses the proxy's set-up). */
bool serve_idle(void);

/* conn.c: one connection, start to end, in the calling thread; REFUSE
 * when it is beyond --max-connections (its head is read, then it is
 * answered 503 or SOCKS 0x01).  Closes FROM->fd. */
void conn_run(const struct proxy *px, const struct conn_from *from, bool refuse);
/* The audit record of afs-proxy(1) AUDIT, for a connection refused before
 * it got a thread. */
void conn_refused_early(const struct proxy *px, const struct conn_from *from,
			const char *reason);

/* resolve.c */
/* Parse AFS_PROXY_RESOLVE; 0, or -1 with *ERR a message. */
int resolve_table_parse(const char *spec, struct resolve_table **out, const char **err);
void resolve_table_free(struct resolve_table *t);
/* The addresses of the name H, looked up as it is (no search domain), by
 * DEADLINE (mono ms: the connect deadline) and before afs-proxy stops:
 * their number (at most RESOLVE_MAX, in the resolver's order), or 0 with
 * *ERR (ETIMEDOUT past DEADLINE, ECANCELED stopping, EHOSTUNREACH no
 * address, else why the lookup could not be made) and WHY (WHYLEN bytes,
 * "cannot resolve NAME: ...") saying why none. */
size_t resolve_name(const struct proxy *px, const struct net_host *h, int64_t deadline,
		    struct in6_addr *out, int *err, char *why, size_t whylen);

/* pump.c */
struct pump {
	int64_t out, in;	/* bytes delivered: to the host, to the sandbox */
	const char *limit;	/* "bytes" when --max-bytes cut it */
	int err;		/* the error that ended it, 0 for an end of
				 * file on both sides */
	bool stopped;		/* afs-proxy stopped it */
};
/* Relay CLIENT <-> UPSTREAM (both non-blocking) until both ends are done,
 * sending first the NPRE buffers of PRE to UPSTREAM (counted as sent to
 * the host). */
void pump_run(const struct proxy *px, int client, int upstream, const struct iovec *pre,
	      int npre, struct pump *res);

/* peer.c: the host's pid of the process that the sandbox calls INSIDE,
 * found among the descendants of the parent of the relay RELAY (a host
 * pid); 0 when unsure. */
pid_t peer_host_pid(pid_t relay, pid_t inside);

#endif
