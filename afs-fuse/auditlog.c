/* auditlog.c - the audit log writer (see auditlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auditlog.h"
#include "util.h"

/* Records wait here at most this long before they are written. */
#define FLUSH_MS 200
/* Beyond this many bytes waiting, emitters wait for the writer. */
#define BUF_MAX (4 << 20)
/* Repeats of one record within this long are written as one, with a
 * count: a loop of refused opens must not fill the disk (it is afs-fuse,
 * outside the sandbox's limits, that writes). */
#define COALESCE_NS 1000000000LL

struct auditlog {
	char *path;
	char *mount;
	char *session;
	enum audit_level level;

	pthread_mutex_t lock;		/* guards buf, stop */
	pthread_cond_t wake;		/* the writer: work or stop */
	pthread_cond_t space;		/* emitters: the buffer drained */
	struct abuf buf;
	bool stop;
	bool started;
	pthread_t writer;

	pthread_mutex_t fd_lock;	/* guards fd against reopen */
	int fd;
	/* writer thread only */
	unsigned long long lost;
	int lost_errno;
	time_t last_complaint;

	/* Coalescing (under lock): the last record written in full (LAST,
	 * empty when it may not be folded), a scratch for the next one, and
	 * the repeats of LAST counted since (REPEAT: the latest of them). */
	struct abuf last, next, repeat;
	int64_t repeats;
	struct timespec repeat_first;

	/* --audit-max-bytes (0: none); the writer thread's count of records
	 * dropped past it, and since when. */
	int64_t max_bytes;
	off_t size_seen;	/* the log's size after our last write */
	unsigned long long dropped;
	struct timespec dropped_since;
	bool said_full;
};

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* The repeats counted so far, as one record with their count (the last
 * field of the schema), dated by the latest; under lock. */
static void flush_repeats(struct auditlog *a)
{
	char count[40];
	int n;

	if (!a->repeats)
		return;
	n = snprintf(count, sizeof(count), ",\"count\":%lld}\n", (long long)a->repeats);
	abuf_add(&a->buf, a->repeat.p, a->repeat.len - 2);	/* less its "}\n" */
	abuf_add(&a->buf, count, (size_t)n);
	a->repeats = 0;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t c = 0;

	while (n--)
		c += *p++ == '\n';
	return c;
}

/* Write all of P; -errno on failure. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A record of the log's own (audit-lost, audit-dropped), dated now. */
static void own_record(const struct auditlog *a, struct audit_rec *rec, const char *op)
{
	audit_rec_init(rec);
	clock_gettime(CLOCK_REALTIME, &rec->ts);
	rec->mount = a->mount;
	rec->op = op;
}

/* The events the whole lines P[0..N) stand for: one each, or a record's
 * "count" (an unescaped quote never occurs inside a JSON string, so
 * ,"count": is the field). */
static unsigned long long count_events(const char *p, size_t n)
{
	unsigned long long events = 0;
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *c = NULL, *q;

		for (q = p; (q = memmem(q, (size_t)(e - q), ",\"count\":", 9)); q += 9)
			c = q;
		events += c ? strtoull(c + 9, NULL, 10) : 1;
		p = e + 1;
	}
	return events;
}

/* --audit-max-bytes: the log holds SIZE bytes.  Say how many records were
 * dropped, once there is room again (the log was rotated) or at the end
 * (FINAL: the one line that may pass the cap, so that nothing is dropped
 * silently); then keep of BATCH the whole lines that fit, and count the
 * rest as dropped.  Called with fd_lock held. */
static void cap_batch(struct auditlog *a, struct abuf *batch, off_t size, bool final)
{
	size_t keep = 0, room;

	if (a->dropped) {
		struct audit_rec rec;
		struct abuf note = { 0 };

		own_record(a, &rec, "audit-dropped");
		rec.count = (int64_t)a->dropped;
		rec.since = &a->dropped_since;
		audit_format(&note, &rec);
		/* Only once the log was rotated (it shrank), or at the end: a
		 * note at every batch would eat the room records need. */
		if ((final || (size < a->size_seen && size + (off_t)note.len <= a->max_bytes)) &&
		    write_all(a->fd, note.p, note.len) == 0) {
			a->dropped = 0;
			a->said_full = false;
			size += (off_t)note.len;
		}
		abuf_free(&note);
	}
	room = size < a->max_bytes ? (size_t)(a->max_bytes - size) : 0;
	a->size_seen = size + (off_t)batch->len;
	if (batch->len <= room && !a->dropped)
		return;
	/* Once dropping, drop until the note is written: never a gap the
	 * note does not cover. */
	if (!a->dropped) {
		while (keep < batch->len) {
			char *nl = memchr(batch->p + keep, '\n', batch->len - keep);
			size_t next = (size_t)(nl - batch->p) + 1;

			if (next > room)
				break;
			keep = next;
		}
	}
	a->size_seen = size + (off_t)keep;
	if (keep == batch->len)
		return;
	if (!a->dropped)
		clock_gettime(CLOCK_REALTIME, &a->dropped_since);
	a->dropped += count_events(batch->p + keep, batch->len - keep);
	batch->len = keep;
	if (!a->said_full) {
		error("the audit log '%s' holds --audit-max-bytes (%lld): records are dropped, "
		      "and counted, until it is rotated", a->path, (long long)a->max_bytes);
		a->said_full = true;
	}
}

static void write_batch(struct auditlog *a, struct abuf *batch)
{
	struct stat st;
	int r;

	pthread_mutex_lock(&a->fd_lock);
	if (a->lost) {
		struct audit_rec rec;
		struct abuf note = { 0 };

		own_record(a, &rec, "audit-lost");
		rec.err = a->lost_errno;
		rec.bytes = (int64_t)a->lost;
		audit_format(&note, &rec);
		if (write_all(a->fd, note.p, note.len) == 0)
			a->lost = 0;
		abuf_free(&note);
	}
	/* Whole lines or nothing: a batch cut short by a full disk is taken
	 * back, so that the log never holds half a record. */
	if (fstat(a->fd, &st) < 0)
		st.st_size = -1;
	if (a->max_bytes > 0 && st.st_size >= 0)
		cap_batch(a, batch, st.st_size, false);
	r = write_all(a->fd, batch->p, batch->len);
	if (r < 0 && st.st_size >= 0 && ftruncate(a->fd, st.st_size) < 0)
		error("cannot cut a partial batch off the audit log '%s': %m", a->path);
	pthread_mutex_unlock(&a->fd_lock);
	if (r < 0) {
		time_t now = time(NULL);

		a->lost += count_lines(batch->p, batch->len);
		a->lost_errno = -r;
		if (now - a->last_complaint >= 60) {
			error("cannot write the audit log '%s': %s (%llu records lost so far); "
			      "still serving", a->path, strerror(-r), a->lost);
			a->last_complaint = now;
		}
	}
	batch->len = 0;
}

static void *writer(void *arg)
{
	struct auditlog *a = arg;
	struct abuf batch = { 0 };
	bool stop;

	for (;;) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += FLUSH_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&a->lock);
		while (!a->stop && a->buf.len < BUF_MAX / 2 &&
		       pthread_cond_timedwait(&a->wake, &a->lock, &deadline) != ETIMEDOUT)
			;
		/* Repeats counted for a whole window go out, with their count;
		 * at the end, whatever there is. */
		if (a->repeats) {
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			if (a->stop || ns_between(&a->repeat_first, &now) >= COALESCE_NS)
				flush_repeats(a);
		}
		/* Take the whole buffer: its records are whole lines. */
		struct abuf t = a->buf;

		a->buf = batch;
		batch = t;
		stop = a->stop;
		pthread_cond_broadcast(&a->space);
		pthread_mutex_unlock(&a->lock);
		if (batch.len)
			write_batch(a, &batch);
		if (stop)
			break;
	}
	abuf_free(&batch);
	return NULL;
}

int auditlog_open(const char *path, enum audit_level level, const char *mount,
		  const char *session, int64_t max_bytes, struct auditlog **out,
		  char why[TRUST_WHY_MAX])
{
	struct auditlog *a;
	int fd = trust_append(path, why);

	if (fd < 0)
		return -1;
	a = xcalloc(1, sizeof(*a));
	a->path = xstrdup(path);
	a->mount = mount ? xstrdup(mount) : NULL;
	a->session = session ? xstrdup(session) : NULL;
	a->level = level;
	a->max_bytes = max_bytes;
	a->fd = fd;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->fd_lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	pthread_cond_init(&a->space, NULL);
	*out = a;
	return 0;
}

int auditlog_start(struct auditlog *a)
{
	if (pthread_create(&a->writer, NULL, writer, a) != 0)
		return -EAGAIN;
	a->started = true;
	return 0;
}

void auditlog_close(struct auditlog *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (a->started) {
		pthread_join(a->writer, NULL);
	} else if (a->buf.len) {
		/* Never started (start-up failed): write what there is. */
		write_batch(a, &a->buf);
	}
	if (a->dropped) {
		struct abuf none = { 0 };
		struct stat st;

		pthread_mutex_lock(&a->fd_lock);
		cap_batch(a, &none, fstat(a->fd, &st) == 0 ? st.st_size : 0, true);
		pthread_mutex_unlock(&a->fd_lock);
	}
	if (a->lost)
		error("the audit log '%s' lost %llu records", a->path, a->lost);
	abuf_free(&a->last);
	abuf_free(&a->next);
	abuf_free(&a->repeat);
	close(a->fd);
	abuf_free(&a->buf);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->fd_lock);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->space);
	free(a->path);
	free(a->mount);
	free(a->session);
	free(a);
}

enum audit_level auditlog_level(const struct auditlog *a)
{
	return a ? a->level : AUDIT_OFF;
}

const char *auditlog_mount(const struct auditlog *a)
{
	return a->mount;
}

const char *auditlog_session(const struct auditlog *a)
{
	return a->session;
}

void auditlog_emit(struct auditlog *a, const struct audit_rec *r)
{
	/* Exec records and afs's own are never folded. */
	bool foldable = !r->argv && r->op && strncmp(r->op, "audit", 5) != 0;
	struct abuf *next = &a->next;
	size_t body, lbody;

	pthread_mutex_lock(&a->lock);
	/* Back-pressure: wait for the writer rather than drop (before the
	 * scratch is used: others emit while we wait). */
	while (a->buf.len >= BUF_MAX && !a->stop)
		pthread_cond_wait(&a->space, &a->lock);
	next->len = 0;
	audit_format(next, r);
	body = audit_line_body(next->p, next->len);
	lbody = audit_line_body(a->last.p, a->last.len);
	if (foldable && lbody && body && next->len - body == a->last.len - lbody &&
	    memcmp(next->p + body, a->last.p + lbody, next->len - body) == 0) {
		/* A window's worth goes out (one line), and counting goes on. */
		if (a->repeats && ns_between(&a->repeat_first, &r->ts) >= COALESCE_NS)
			flush_repeats(a);
		if (!a->repeats++)
			a->repeat_first = r->ts;
		a->repeat.len = 0;
		abuf_add(&a->repeat, next->p, next->len);
		pthread_mutex_unlock(&a->lock);
		return;
	}
	flush_repeats(a);
	abuf_add(&a->buf, next->p, next->len);
	a->last.len = 0;
	if (foldable)
		abuf_add(&a->last, next->p, next->len);
	if (a->buf.len >= BUF_MAX / 2)
		pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

int auditlog_reopen(struct auditlog *a, char why[TRUST_WHY_MAX])
{
	int fd = trust_append(a->path, why), old;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&a->fd_lock);
	old = a->fd;
	a->fd = fd;
	pthread_mutex_unlock(&a->fd_lock);
	close(old);
	return 0;
}
