/* record.h - afs-proxy's audit records: one write(2) each, the log's size
 * bounded as afs-fuse bounds it, refusals made before a connection has a
 * thread folded into one record a second (afs-proxy(1) AUDIT). */
#ifndef AFS_PROXY_RECORD_H
#define AFS_PROXY_RECORD_H

#include <stdint.h>

#include "audit.h"

/* The log: FD (-1: none), NAME for messages, MAX_BYTES past which a
 * regular file takes no more records (0: no bound), and PATH, the file
 * that record_reopen opens again (NULL: an fd given, never reopened). */
void record_setup(int fd, const char *name, int64_t max_bytes, const char *path);

/* SIGUSR1: the log's path opened again (after logrotate moved it), as
 * afs-fuse does; on failure the old one stays, with a message. */
void record_reopen(void);

/* Append R, dated now; dropped and counted once the log is full. */
void record_write(struct audit_rec *r);

/* A connection refused before it had a thread: counted, and written as
 * one record with "count" at most once a second, and at record_flush. */
void record_early(const char *mount, const char *session, const char *reason);

/* At the end: what record_early still holds, and an audit-dropped record
 * for what the full log could not take. */
void record_flush(const char *mount);

#endif
