/* record.c - afs-proxy's audit records (record.h).
 *
 * The sandbox decides how many connections it opens, so it decides how
 * many records it makes: what it makes must not fill the host's disk.
 * Like afs-fuse (afs-fuse(1) AUDIT LOG), a regular file is filled up to
 * --audit-max-bytes, counting every writer's lines (afs-fuse's and
 * afs-launch's share it), and past that records are dropped and counted
 * in one audit-dropped record at the end.  A connection refused before it
 * had a thread (the flood case: past --max-connections and its spare
 * threads) costs at most one record a second, with "count".
 *
 * Records are written whole, one write(2) each, one at a time: the log may
 * be a pipe, where writes from threads could interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "trust.h"
#include "util.h"

/* Refusals before a thread: one record at most this often. */
#define EARLY_EVERY_MS	1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static const char *log_name, *log_path;
static int64_t max_bytes;
static bool said_failed, said_full;
static int64_t dropped;
static struct timespec dropped_since;

static int64_t early_count;		/* refusals not yet written */
static char early_reason[160];	/* a copy: the caller's may be on its stack */
static const char *early_session;
static struct timespec early_since;
static int64_t early_written_ms;	/* mono_ms() of the last one written */

void record_setup(int fd, const char *name, int64_t max, const char *path)
{
	log_fd = fd;
	log_name = name;
	max_bytes = max;
	log_path = path;
}

void record_reopen(void)
{
	char why[TRUST_WHY_MAX];
	int fd;

	if (log_fd < 0 || !log_path)
		return;
	fd = trust_append(log_path, why);
	if (fd < 0) {
		error("cannot open the audit log '%s' again: %s; still writing to the old one",
		      log_path, why);
		return;
	}
	pthread_mutex_lock(&lock);
	close(log_fd);
	log_fd = fd;
	said_full = said_failed = false;
	pthread_mutex_unlock(&lock);
}

/* Whether LEN more bytes fit in the log.  Under the lock. */
static bool room_for(size_t len)
{
	struct stat st;

	if (max_bytes <= 0 || fstat(log_fd, &st) != 0 || !S_ISREG(st.st_mode))
		return true;
	return st.st_size + (off_t)len <= max_bytes;
}

/* Under the lock. */
static void write_locked(const struct audit_rec *r, bool own)
{
	struct abuf b = { 0 };
	ssize_t w;

	audit_format(&b, r);
	if (!own && !room_for(b.len)) {
		if (dropped++ == 0)
			dropped_since = r->ts;
		if (!said_full)
			warning("the audit log %s is full (--audit-max-bytes %lld): records are "
				"dropped and counted", log_name, (long long)max_bytes);
		said_full = true;
		abuf_free(&b);
		return;
	}
	w = write(log_fd, b.p, b.len);
	if (w != (ssize_t)b.len && !said_failed) {
		error("cannot append to the audit log %s: %s (said once)", log_name,
		      w < 0 ? strerror(errno) : "short write");
		said_failed = true;
	}
	abuf_free(&b);
}

void record_write(struct audit_rec *r)
{
	if (log_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &r->ts);
	pthread_mutex_lock(&lock);
	write_locked(r, false);
	pthread_mutex_unlock(&lock);
}

/* The refusals held, as one record.  Under the lock. */
static void early_write(const char *mount)
{
	struct audit_rec r;

	if (early_count == 0)
		return;
	audit_rec_init(&r);
	r.ts = early_since;
	r.mount = mount;
	r.session = early_session;
	r.op = "connect";
	r.decision = "deny";
	r.reason = early_reason;
	if (early_count > 1)
		r.count = early_count;
	write_locked(&r, false);
	early_count = 0;
	early_written_ms = mono_ms();
}

void record_early(const char *mount, const char *session, const char *reason)
{
	if (log_fd < 0)
		return;
	pthread_mutex_lock(&lock);
	/* A different reason is a different record: write what is held. */
	if (early_count > 0 && strcmp(early_reason, reason) != 0)
		early_write(mount);
	if (early_count++ == 0) {
		clock_gettime(CLOCK_REALTIME, &early_since);
		snprintf(early_reason, sizeof(early_reason), "%s", reason);
		early_session = session;
	}
	if (mono_ms() - early_written_ms >= EARLY_EVERY_MS)
		early_write(mount);
	pthread_mutex_unlock(&lock);
}

void record_flush(const char *mount)
{
	struct audit_rec r;

	if (log_fd < 0)
		return;
	pthread_mutex_lock(&lock);
	early_write(mount);
	if (dropped > 0) {
		audit_rec_init(&r);
		clock_gettime(CLOCK_REALTIME, &r.ts);
		r.mount = mount;
		r.op = "audit-dropped";
		r.count = dropped;
		r.since = &dropped_since;
		write_locked(&r, true);
		dropped = 0;
	}
	pthread_mutex_unlock(&lock);
}
