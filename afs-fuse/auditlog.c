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
};

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

static void write_batch(struct auditlog *a, struct abuf *batch)
{
	struct stat st;
	int r;

	pthread_mutex_lock(&a->fd_lock);
	if (a->lost) {
		struct audit_rec rec;
		struct abuf note = { 0 };

		audit_rec_init(&rec);
		clock_gettime(CLOCK_REALTIME, &rec.ts);
		rec.mount = a->mount;
		rec.op = "audit-lost";
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
		  const char *session, struct auditlog **out, char why[TRUST_WHY_MAX])
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
	if (a->lost)
		error("the audit log '%s' lost %llu records", a->path, a->lost);
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
	pthread_mutex_lock(&a->lock);
	/* Back-pressure: wait for the writer rather than drop. */
	while (a->buf.len >= BUF_MAX && !a->stop)
		pthread_cond_wait(&a->space, &a->lock);
	audit_format(&a->buf, r);
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
