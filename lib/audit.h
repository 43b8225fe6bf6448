/* audit.h - audit records: JSON Lines, schema version 1 (afs-fuse(1)
 * AUDIT LOG, afs-audit(1) RECORDS).
 *
 * One record is one line; fields in the schema's order, absent when not
 * applicable.  Strings are escaped so that any byte sequence stays one
 * valid JSON line: control characters as \n, \t or \u00NN, and each byte
 * that is not part of valid UTF-8 as \u00NN (valid non-ASCII text passes
 * through unescaped, so \u0080-\u00ff in a record always stands for such
 * a byte).
 */
#ifndef AFS_AUDIT_H
#define AFS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum audit_level {
	AUDIT_OFF,
	AUDIT_DENY,	/* denials and hides */
	AUDIT_WRITE,	/* and every modification and open for writing */
	AUDIT_ACCESS,	/* and every open and listing */
};

struct audit_rec {
	struct timespec ts;
	const char *mount;	/* NULL: absent (likewise below) */
	const char *session;
	pid_t pid;		/* 0: absent */
	uid_t uid;
	bool has_uid;
	const char *comm;
	const char *op;
	const char *path;
	const char *to;
	const char *mode;	/* r, w, rw, x */
	const char *decision;	/* allow, deny, hide */
	int err;		/* errno value; 0: absent */
	const char *rule;	/* FILE:LINE, implicit or default */
	const char *reason;
	int64_t bytes;		/* -1: absent */
	/* exec records */
	char *const *argv;	/* NULL: absent */
	int exit_code;		/* -1: absent */
	int signal;		/* 0: absent */
	int64_t duration_ms;	/* -1: absent */
	const char *limit;
	const char *seccomp;	/* exec: "off" when the run had no filter */
	/* connect records (afs-proxy(1) AUDIT) */
	const char *proto;	/* http, connect, socks5 */
	const char *host;	/* as the sandbox named it */
	int port;		/* 0: absent */
	const char *addr;	/* the address connected to */
	int64_t bytes_out;	/* sandbox to host; -1: absent */
	int64_t bytes_in;	/* host to sandbox; -1: absent */
	/* afs-fuse's own bookkeeping */
	int64_t count;		/* records this one stands for; 0: absent (one) */
	const struct timespec *since;	/* audit-dropped: the first one; NULL: absent */
};

/* A record with every optional field absent. */
void audit_rec_init(struct audit_rec *r);

/* Append the record as one line (with its '\n') to BUF, growing it. */
struct abuf {
	char *p;
	size_t len, cap;
};
void audit_format(struct abuf *b, const struct audit_rec *r);
void abuf_free(struct abuf *b);
void abuf_add(struct abuf *b, const char *p, size_t n);
/* Where what a formatted record LINE says, beyond when, begins: after its
 * ts field (0 when LINE is not one of ours).  Two records that agree from
 * there on say the same but the time. */
size_t audit_line_body(const char *line, size_t len);

/* Append the N bytes at S as one JSON string (quotes included), escaped as
 * described above; NUL bytes become \u0000. */
void json_put_string(struct abuf *b, const char *s, size_t n);

/* Append R as an exec record (afs-launch(1) AUDIT) to FD in one write,
 * stamped here: the time now, op "exec", this process's pid and uid.  0,
 * or -errno (-EIO for a short write). */
int audit_append_exec(int fd, struct audit_rec *r);

/* Append R to FD in one write, as it is (R->ts included).  0, or -errno
 * (-EIO for a short write). */
int audit_append(int fd, const struct audit_rec *r);

int audit_level_parse(const char *s, enum audit_level *out);
const char *audit_level_name(enum audit_level l);

/* The errno name ("ENOENT"), or NULL for an unknown value. */
const char *audit_errno_name(int err);

#endif
