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

/* A record as coalescing keeps it: copies of its strings. */
struct saved {
	struct audit_rec r;
	char *s[9];	/* mount session comm op path to mode decision rule/reason */
	char *reason;
};

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

	/* Coalescing (under lock): the last record written in full, and the
	 * repeats of it counted since. */
	bool have_last;
	struct saved last;
	int64_t repeats;
	struct timespec repeat_first, repeat_last;

	/* --audit-max-bytes (0: none); the writer thread's count of records
	 * dropped past it, and since when. */
	int64_t max_bytes;
	off_t size_seen;	/* the log's size after our last write */
	unsigned long long dropped;
	struct timespec dropped_since;
	bool said_full;
};

static void saved_free(struct saved *v)
{
	for (size_t i = 0; i < ARRAY_SIZE(v->s); i++)
		free(v->s[i]);
	free(v->reason);
	memset(v, 0, sizeof(*v));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void saved_set(struct saved *v, const struct audit_rec *r)
{
	saved_free(v);
	v->r = *r;
	v->r.mount = v->s[0] = dup_or_null(r->mount);
	v->r.session = v->s[1] = dup_or_null(r->session);
	v->r.comm = v->s[2] = dup_or_null(r->comm);
	v->r.op = v->s[3] = dup_or_null(r->op);
	v->r.path = v->s[4] = dup_or_null(r->path);
	v->r.to = v->s[5] = dup_or_null(r->to);
	v->r.mode = v->s[6] = dup_or_null(r->mode);
	v->r.decision = v->s[7] = dup_or_null(r->decision);
	v->r.rule = v->s[8] = dup_or_null(r->rule);
	v->r.reason = v->reason = dup_or_null(r->reason);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Is R a repeat of the record V: same process, op, path, decision, errno
 * (and the rest of what it says but the time)? */
static bool repeat_of(const struct saved *v, const struct audit_rec *r)
{
	const struct audit_rec *o = &v->r;

	return o->pid == r->pid && o->err == r->err && o->bytes == r->bytes &&
	       o->uid == r->uid && same_str(o->op, r->op) && same_str(o->path, r->path) &&
	       same_str(o->to, r->to) && same_str(o->mode, r->mode) &&
	       same_str(o->decision, r->decision) && same_str(o->rule, r->rule) &&
	       same_str(o->comm, r->comm) && same_str(o->session, r->session);
}

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

/* The repeats counted so far, as one record with their count; under lock. */
static void flush_repeats(struct auditlog *a)
{
	struct audit_rec r;

	if (!a->repeats)
		return;
	r = a->last.r;
	r.ts = a->repeat_last;
	r.count = a->repeats;
	audit_format(&a->buf, &r);
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
	saved_free(&a->last);
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

	pthread_mutex_lock(&a->lock);
	if (foldable && a->have_last && repeat_of(&a->last, r)) {
		/* A window's worth goes out (one line), and counting goes on. */
		if (a->repeats && ns_between(&a->repeat_first, &r->ts) >= COALESCE_NS)
			flush_repeats(a);
		if (!a->repeats++)
			a->repeat_first = r->ts;
		a->repeat_last = r->ts;
		pthread_mutex_unlock(&a->lock);
		return;
	}
	/* Back-pressure: wait for the writer rather than drop. */
	while (a->buf.len >= BUF_MAX && !a->stop)
		pthread_cond_wait(&a->space, &a->lock);
	flush_repeats(a);
	audit_format(&a->buf, r);
	a->have_last = foldable;
	if (foldable)
		saved_set(&a->last, r);
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
