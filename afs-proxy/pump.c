/* pump.c - bytes both ways between the sandbox and the host it may reach.
 *
 * Each direction moves through a pipe with splice(2), so the data is not
 * copied through afs-proxy's memory; when the kernel cannot splice from a
 * socket (EINVAL), or no pipe can be made, that direction uses a fixed
 * buffer instead.  Either way what afs-proxy holds for a connection does
 * not grow with what the sandbox sends: one pipe or one buffer per
 * direction, and nothing is read from a side while the last read has not
 * been written out.
 *
 * An end of file on one side is passed on as shutdown(SHUT_WR) of the
 * other once everything read before it is written; the pump ends when
 * both directions have ended, on the first error, when --max-bytes is
 * reached in either direction, or when afs-proxy stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proxy.h"

#define PUMP_BUF	16384	/* a direction without a pipe */
/* Reads and writes of one direction without a poll between, at most: the
 * other direction waits meanwhile. */
#define PUMP_ROUNDS	8

struct dir {
	int from, to;
	int pipe[2];		/* -1: the buffer instead */
	size_t cap;		/* the pipe's capacity */
	size_t pending;		/* bytes in the pipe */
	char *buf;		/* PUMP_BUF bytes; buf[pos..len) to write */
	size_t pos, len;
	struct iovec pre[2];	/* to write before the rest */
	int npre;
	int64_t taken;		/* read from FROM (and PRE): the budget */
	int64_t written;	/* written to TO */
	bool eof;		/* FROM ended, or failed */
	bool shut;		/* TO shut for writing, or failed */
	bool cut;		/* the budget is spent */
	int err;		/* the first error */
};

static void dir_open(struct dir *d, int from, int to, char *buf)
{
	int sz;

	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	d->buf = buf;
	if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		d->pipe[0] = d->pipe[1] = -1;
		return;
	}
	/* The kernel's default size: larger pipes gained little here
	 * (afs-proxy(1) LIMITS), and count against the user's pipe
	 * pages, which the sandbox's user may share. */
	sz = fcntl(d->pipe[1], F_GETPIPE_SZ);
	d->cap = sz > 0 ? (size_t)sz : 65536;
}

static void dir_close(struct dir *d)
{
	if (d->pipe[0] >= 0) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
}

static bool has_output(const struct dir *d)
{
	return d->npre > 0 || d->pending > 0 || d->pos < d->len;
}

static bool want_read(const struct dir *d)
{
	if (d->eof || d->cut)
		return false;
	return d->pipe[0] >= 0 ? d->pending < d->cap : d->len == 0;
}

/* FROM failed: what was read before it still goes on, then the end. */
static void read_failed(struct dir *d, int err)
{
	d->eof = true;
	if (!d->err)
		d->err = err;
}

/* TO failed: nothing more can reach it, so nothing more is taken for it. */
static void write_failed(struct dir *d, int err)
{
	d->eof = d->shut = true;
	d->npre = 0;
	d->pending = 0;
	d->pos = d->len = 0;
	if (!d->err)
		d->err = err;
}

static bool again(void)
{
	return errno == EAGAIN || errno == EINTR;
}

/* Read what FROM has, within the budget. */
static void dir_read(struct dir *d, int64_t max)
{
	size_t room = d->pipe[0] >= 0 ? d->cap - d->pending : PUMP_BUF;
	ssize_t n;

	if ((int64_t)room > max - d->taken)
		room = (size_t)(max - d->taken);
	if (d->pipe[0] >= 0) {
		n = splice(d->from, NULL, d->pipe[1], NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINVAL && d->pending == 0) {
			/* This socket cannot be spliced from: the buffer. */
			dir_close(d);
			d->pipe[0] = d->pipe[1] = -1;
			dir_read(d, max);
			return;
		}
	} else {
		n = read(d->from, d->buf, room);
	}
	if (n < 0) {
		if (!again())
			read_failed(d, errno);
		return;
	}
	if (n == 0) {
		d->eof = true;
		return;
	}
	if (d->pipe[0] >= 0) {
		d->pending += (size_t)n;
	} else {
		d->pos = 0;
		d->len = (size_t)n;
	}
	d->taken += n;
	if (d->taken >= max)
		d->cut = true;
}

/* Write what is waiting, PRE first. */
static void dir_write(struct dir *d)
{
	ssize_t n;

	while (d->npre > 0) {
		n = writev(d->to, d->pre, d->npre);
		if (n < 0) {
			if (!again())
				write_failed(d, errno);
			return;
		}
		d->written += n;
		while (d->npre > 0 && (size_t)n >= d->pre[0].iov_len) {
			n -= (ssize_t)d->pre[0].iov_len;
			d->pre[0] = d->pre[1];
			d->npre--;
		}
		if (d->npre > 0) {
			d->pre[0].iov_base = (char *)d->pre[0].iov_base + n;
			d->pre[0].iov_len -= (size_t)n;
		}
	}
	if (d->pending > 0)
		n = splice(d->pipe[0], NULL, d->to, NULL, d->pending,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else if (d->pos < d->len)
		n = write(d->to, d->buf + d->pos, d->len - d->pos);
	else
		return;
	if (n < 0) {
		if (!again())
			write_failed(d, errno);
		return;
	}
	d->written += n;
	if (d->pending > 0) {
		d->pending -= (size_t)n;
	} else {
		d->pos += (size_t)n;
		if (d->pos == d->len)
			d->pos = d->len = 0;
	}
}

/* The budget taken by PRE, cut to MAX. */
static void dir_pre(struct dir *d, const struct iovec *pre, int npre, int64_t max)
{
	for (int i = 0; i < npre && i < 2; i++) {
		size_t n = pre[i].iov_len;

		if ((int64_t)n > max - d->taken)
			n = (size_t)(max - d->taken);
		if (n == 0)
			continue;
		d->pre[d->npre].iov_base = pre[i].iov_base;
		d->pre[d->npre].iov_len = n;
		d->npre++;
		d->taken += (int64_t)n;
	}
	if (d->taken >= max)
		d->cut = true;
}

static short events(const struct dir *rd, const struct dir *wr)
{
	return (short)((want_read(rd) ? POLLIN : 0) | (has_output(wr) ? POLLOUT : 0));
}

void pump_run(const struct proxy *px, int client, int upstream, const struct iovec *pre,
	      int npre, struct pump *res)
{
	char obuf[PUMP_BUF], ibuf[PUMP_BUF];
	struct dir out, in;	/* sandbox to host, host to sandbox */
	struct dir *dirs[2] = { &out, &in };
	struct pollfd p[3];

	dir_open(&out, client, upstream, obuf);
	dir_open(&in, upstream, client, ibuf);
	dir_pre(&out, pre, npre, px->max_bytes);
	memset(res, 0, sizeof(*res));
	for (;;) {
		for (int i = 0; i < 2; i++) {
			struct dir *d = dirs[i];

			/* An end passed on once all before it is out; the
			 * budget spent ends the connection. */
			if (d->cut && !has_output(d) && !d->shut) {
				res->limit = "bytes";
				goto done;
			}
			if (d->eof && !d->shut && !has_output(d)) {
				shutdown(d->to, SHUT_WR);
				d->shut = true;
			}
		}
		if (out.shut && in.shut)
			break;
		/* An fd with nothing asked of it is left out, or its hang-up
		 * would wake the loop for nothing. */
		p[0].events = events(&out, &in);
		p[0].fd = p[0].events ? client : -1;
		p[1].events = events(&in, &out);
		p[1].fd = p[1].events ? upstream : -1;
		p[2].fd = px->stop_fd;
		p[2].events = POLLIN;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			if (!out.err)
				out.err = errno;
			break;
		}
		if (p[2].revents) {
			res->stopped = true;
			break;
		}
		for (int i = 0; i < 2; i++) {
			struct dir *d = dirs[i];
			bool can_read = p[i].revents & (POLLIN | POLLHUP | POLLERR);
			bool can_write = p[1 - i].revents & (POLLOUT | POLLHUP | POLLERR);

			/* What was just read goes straight on (the other side
			 * is most often ready for it), and while it all does,
			 * the next read is tried without a poll between. */
			for (int round = 0; round < PUMP_ROUNDS; round++) {
				int64_t took = d->taken, gave = d->written;

				if (can_read && want_read(d))
					dir_read(d, px->max_bytes);
				if (has_output(d) && (can_write || d->taken > took))
					dir_write(d);
				if (d->taken == took || has_output(d) || d->written == gave)
					break;
				can_read = true;
			}
		}
	}
done:
	res->out = out.written;
	res->in = in.written;
	res->err = out.err ? out.err : in.err;
	dir_close(&out);
	dir_close(&in);
}
