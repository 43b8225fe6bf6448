/* auditlog.h - the audit log of afs-fuse: records handed over by the FUSE
 * threads, written by one thread in whole lines, one write(2) per batch,
 * at least every 200 ms, and at close.
 *
 * Nothing is dropped silently.  A full buffer makes the emitting FUSE
 * thread wait (back-pressure).  A log that cannot be written (a full disk)
 * costs the records of the failed batches: afs-fuse keeps serving, says so
 * on stderr, and once the log can be written again it writes an
 * "audit-lost" record whose bytes field counts the records lost.
 */
#ifndef AFS_FUSE_AUDITLOG_H
#define AFS_FUSE_AUDITLOG_H

#include "audit.h"

#include "trust.h"

/* --audit-max-bytes by default: far more than a day of an agent's work,
 * far less than a full disk. */
#define AUDIT_MAX_BYTES_DEFAULT ((int64_t)1 << 30)

struct auditlog;

/* Open PATH for appending, as trust_append() allows (made 0600 if
 * missing), to hold at most MAX_BYTES (0: no cap; past it records are
 * dropped and counted, and an audit-dropped record says so); -1 with the
 * reason in WHY.  Repeats of a record within a second are written as one
 * with a count.  Records wait in memory until
 * auditlog_start() starts the writer thread -- after any fork, since a
 * thread does not survive one. */
int auditlog_open(const char *path, enum audit_level level, const char *mount,
		  const char *session, int64_t max_bytes, struct auditlog **out,
		  char why[TRUST_WHY_MAX]);
int auditlog_start(struct auditlog *a);
/* Flush, stop the writer, close. */
void auditlog_close(struct auditlog *a);
enum audit_level auditlog_level(const struct auditlog *a);
const char *auditlog_mount(const struct auditlog *a);
/* The --session of the mount, or NULL. */
const char *auditlog_session(const struct auditlog *a);
void auditlog_emit(struct auditlog *a, const struct audit_rec *r);
/* Open the path again (after rotation by mv), with the same checks; -1
 * with the reason in WHY, and the old file stays in use, on failure. */
int auditlog_reopen(struct auditlog *a, char why[TRUST_WHY_MAX]);

#endif
