/* supervisor.c - one detached process per session: it keeps the shell
 * (afs-launch --tty ... SHELL -i on a pty) and runs the requests that
 * come through the ctl FIFO, one at a time.
 *
 * A request runs in the shell itself, so cd, variables, exports and
 * functions persist: the supervisor types one line on the pty,
 *
 *    . /run/afs-session/rN.cmd </dev/null >/run/afs-session/rN.out \
 *      2>/run/afs-session/rN.err; echo "rN $?" >/run/afs-session/done
 *
 * (with a leading space: kept out of the history).  stdout and stderr
 * come back on FIFOs of their own, byte-exact, never mixed with the
 * pty's echo or prompts; the status comes on another.  The supervisor
 * relays them to the client as frames.  When the request ends, its FIFOs
 * are closed: a background job that writes later gets EPIPE, never the
 * next request's output.
 *
 * A timeout types ^C (the line discipline sends SIGINT to the foreground
 * job), then a sync line; what is still in the foreground after a grace
 * period is killed (never the shell itself).  The client gets 124 once
 * the shell answers the sync line, or after the grace.  Only processes of
 * the sandbox are killed, each named by a pidfd, never a process group by
 * its number (see kill_foreground).
 *
 * MUST: never block on a client (non-blocking writes, a bounded queue; a
 * client that went away is dropped and the request still runs to its
 * end, so the shell stays in step); never follow a link a sandboxed
 * command may have planted in io/ or clients/ (openat with O_NOFOLLOW,
 * names made with O_EXCL); answer every accepted request exactly once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "pidfd.h"
#include "session.h"
#include "trust.h"
#include "util.h"

#define INIT_TIMEOUT_MS 30000
#define GRACE_MS 1000
#define QUEUE_HIGH (1 << 20)	/* stop reading the shell's output above */
#define FLUSH_WAIT_MS 5000	/* a live but stuck client, at the end */
#define STOP_WAIT_MS 10000
#define MAX_QUEUED 1024		/* requests waiting for the shell */
/* A foreground job that forks while it is killed: each round kills what
 * the one before missed.  Its pids limit bounds how many there are; the
 * shell's own death (phase 3) ends whatever is left. */
#define KILL_ROUNDS 16

struct request {
	struct request *next;
	char id[64];
	int64_t timeout_ms;
	int reply;		/* write end, non-blocking; -1: client gone */
};

struct buf {
	char *p;
	size_t len, cap;
};

struct super {
	const struct start_opts *o;
	char *dir;
	int dirfd, iofd, clientsfd;
	int ctl, done, master, sigfd, audit_fd;
	pid_t launch;
	pid_t idle_pgrp;
	int idle_fd;		/* pidfd of the group's leader: the shell, or -1 */
	bool ns_known;		/* the sandbox's pid namespace, when not ours: */
	dev_t ns_dev;
	ino_t ns_ino;
	bool shell_dead;
	int shell_status;
	bool stopping;
	int64_t stop_at;

	struct request *head, *tail;
	size_t nqueued;
	struct request *cur;
	unsigned seq;
	int out, err;
	int phase;		/* 0 idle, 1 running, 2 interrupted, 3 killed */
	int64_t started, deadline, grace_until;
	char *cmd_text;
	struct buf q;

	int at_in, at_out;
	char at_id[64];

	char ctlbuf[CTL_LINE_MAX * 4];
	size_t ctllen;
	char donebuf[512];
	size_t donelen;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = b->cap ? b->cap : 65536;
		while (b->len + n > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void frame(struct super *s, char type, const void *data, size_t n)
{
	unsigned char h[5] = { (unsigned char)type, (unsigned char)n, (unsigned char)(n >> 8),
			       (unsigned char)(n >> 16), (unsigned char)(n >> 24) };

	if (!s->cur || s->cur->reply < 0)
		return;
	buf_add(&s->q, h, 5);
	buf_add(&s->q, data, n);
}

/* Write what the client takes now; a client gone is dropped. */
static void flush_some(struct super *s)
{
	while (s->cur && s->cur->reply >= 0 && s->q.len) {
		ssize_t n = write(s->cur->reply, s->q.p, s->q.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(s->cur->reply);
			s->cur->reply = -1;
			s->q.len = 0;
			return;
		}
		memmove(s->q.p, s->q.p + n, s->q.len - (size_t)n);
		s->q.len -= (size_t)n;
	}
	if (s->cur && s->cur->reply < 0)
		s->q.len = 0;
}

static void flush_all(struct super *s)
{
	int64_t until = mono_ms() + FLUSH_WAIT_MS;

	flush_some(s);
	while (s->cur && s->cur->reply >= 0 && s->q.len) {
		struct pollfd p = { .fd = s->cur->reply, .events = POLLOUT };
		int64_t left = until - mono_ms();

		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			/* Alive but not reading: given up on. */
			close(s->cur->reply);
			s->cur->reply = -1;
			s->q.len = 0;
			return;
		}
		flush_some(s);
	}
}

static void read_stream(struct super *s, int *fd, char type)
{
	char data[FRAME_MAX];
	ssize_t n = read(*fd, data, sizeof(data));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	frame(s, type, data, (size_t)n);
}

static void drain(struct super *s, int *fd, char type)
{
	/* What the command wrote before it ended is in the pipe; a
	 * background writer may go on forever, so: what is there now. */
	for (int i = 0; *fd >= 0 && i < 64; i++) {
		char data[FRAME_MAX];
		ssize_t n = read(*fd, data, sizeof(data));

		if (n <= 0)
			break;
		frame(s, type, data, (size_t)n);
		flush_some(s);
	}
}

static void audit_exec(struct super *s, int status, int64_t ms)
{
	struct audit_rec r;
	char *argv[2] = { s->cmd_text ? s->cmd_text : (char *)"", NULL };
	int e;

	if (s->audit_fd < 0)
		return;
	audit_rec_init(&r);
	r.mount = s->o->name;
	r.session = s->o->name;
	r.comm = "afs-session";
	r.argv = argv;
	r.exit_code = status;
	r.duration_ms = ms;
	r.seccomp = s->o->no_seccomp ? "off" : NULL;
	if ((e = audit_append_exec(s->audit_fd, &r)) < 0)
		error("cannot append to the audit log: %s", strerror(-e));
}

/* A client that went away leaves its directory: ours to remove. */
static void remove_client(struct super *s, const char *id)
{
	static const char *const names[] = { "cmd", "reply" };
	int d = openat(s->clientsfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (d < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		unlinkat(d, names[i], 0);
	close(d);
	unlinkat(s->clientsfd, id, AT_REMOVEDIR);
}

static void unlink_request_files(struct super *s, unsigned seq)
{
	static const char *const ext[] = { "cmd", "out", "err" };
	char name[32];

	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		snprintf(name, sizeof(name), "r%u.%s", seq, ext[i]);
		unlinkat(s->iofd, name, 0);
	}
}

/* Answer a request that never ran (the shell is gone, the queue full). */
static void answer_now(struct request *r, const char *status)
{
	unsigned char h[5];
	size_t n = strlen(status);

	if (r->reply >= 0) {
		h[0] = FRAME_STATUS;
		h[1] = (unsigned char)n;
		h[2] = h[3] = h[4] = 0;
		if (write(r->reply, h, 5) == 5 && write(r->reply, status, n) == (ssize_t)n)
			(void)0;
		close(r->reply);
	}
	free(r);
}

/* The current request ends: with "exit N", "timeout" or "dead N". */
static void finish(struct super *s, const char *status, int audit_status)
{
	int64_t ms = mono_ms() - s->started;

	if (s->out >= 0)
		drain(s, &s->out, FRAME_OUT);
	if (s->err >= 0)
		drain(s, &s->err, FRAME_ERR);
	frame(s, FRAME_STATUS, status, strlen(status));
	flush_all(s);
	if (s->out >= 0)
		close(s->out);
	if (s->err >= 0)
		close(s->err);
	s->out = s->err = -1;
	if (s->cur->reply >= 0)
		close(s->cur->reply);
	unlink_request_files(s, s->seq);
	remove_client(s, s->cur->id);
	audit_exec(s, audit_status, ms);
	free(s->cmd_text);
	s->cmd_text = NULL;
	free(s->cur);
	s->cur = NULL;
	s->q.len = 0;
	/* A big request grew the queue: give the memory back. */
	if (s->q.cap > (256 << 10)) {
		free(s->q.p);
		s->q.p = NULL;
		s->q.cap = 0;
	}
	s->phase = 0;
}

static void type_line(struct super *s, const char *line)
{
	size_t n = strlen(line), off = 0;

	while (off < n) {
		ssize_t w = write(s->master, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = s->master, .events = POLLOUT };

			poll(&p, 1, 100);
			continue;
		}
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Open NAME in DFD without following a link, check it is of TYPE, and
 * set its mode through the fd.  The fd, or -1. */
static int open_own(int dfd, const char *name, int flags, mode_t type, mode_t mode)
{
	int fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != type || fchmod(fd, mode) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start_next(struct super *s)
{
	struct request *r = s->head;
	char name[32], src[96], line[512];
	char text[4096];
	ssize_t n;
	int fd;

	if (!r || s->cur || s->shell_dead || s->stopping)
		return;
	s->head = r->next;
	if (!s->head)
		s->tail = NULL;
	s->nqueued--;
	if (r->reply < 0) {
		free(r);
		return;
	}
	s->seq++;
	snprintf(name, sizeof(name), "r%u.cmd", s->seq);
	snprintf(src, sizeof(src), "%s/cmd", r->id);
	/* The client's file, moved into the sandbox's view; made readable
	 * through an fd, never through a name the sandbox may have swapped
	 * for a link. */
	fd = -1;
	if (renameat(s->clientsfd, src, s->iofd, name) != 0 ||
	    (fd = open_own(s->iofd, name, O_RDONLY, S_IFREG, 0644)) < 0) {
		unlinkat(s->clientsfd, src, 0);
		answer_now(r, "error cannot take the request's command");
		return;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	s->cmd_text = xstrdup(text);

	s->out = s->err = -1;
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "r%u.%s", s->seq, i ? "err" : "out");
		if (mkfifoat(s->iofd, name, 0600) != 0 ||
		    (fd = open_own(s->iofd, name, O_RDONLY | O_NONBLOCK, S_IFIFO, 0622)) < 0) {
			s->cur = r;
			s->started = mono_ms();
			finish(s, "error cannot make the request's pipes", EXIT_SESSION);
			return;
		}
		if (i)
			s->err = fd;
		else
			s->out = fd;
	}
	s->cur = r;
	s->phase = 1;
	s->started = mono_ms();
	s->deadline = r->timeout_ms > 0 ? s->started + r->timeout_ms : -1;
	snprintf(line, sizeof(line),
		 " . /run/afs-session/r%u.cmd </dev/null >/run/afs-session/r%u.out "
		 "2>/run/afs-session/r%u.err; echo \"r%u $?\" >/run/afs-session/done\n",
		 s->seq, s->seq, s->seq, s->seq);
	type_line(s, line);
}

static bool valid_id(const char *id)
{
	return state_check_name(id) == 0;
}

static void set_echo(struct super *s, bool on)
{
	struct termios t;

	if (tcgetattr(s->master, &t) != 0)
		return;
	if (on)
		t.c_lflag |= ECHO;
	else
		t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(s->master, TCSANOW, &t);
}

static void set_winsize(struct super *s, int rows, int cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	if (rows > 0 && cols > 0 && rows < 10000 && cols < 10000)
		ioctl(s->master, TIOCSWINSZ, &ws);
}

static void detach(struct super *s)
{
	if (s->at_in >= 0)
		close(s->at_in);
	if (s->at_out >= 0)
		close(s->at_out);
	s->at_in = s->at_out = -1;
	s->at_id[0] = '\0';
	set_echo(s, false);
}

static void ctl_line(struct super *s, char *line)
{
	char id[64], path[128];
	long a = 0, b = 0;

	if (sscanf(line, "run %63s %ld", id, &a) == 2 && valid_id(id)) {
		struct request *r;

		snprintf(path, sizeof(path), "%s/reply", id);
		r = xcalloc(1, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", id);
		r->timeout_ms = a > 0 ? a : 0;
		r->reply = openat(s->clientsfd, path,
				  O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (r->reply < 0) {
			free(r);	/* the client is already gone */
			return;
		}
		if (s->shell_dead || s->stopping) {
			answer_now(r, s->stopping ? "dead stopped" : "dead");
			return;
		}
		if (s->nqueued >= MAX_QUEUED) {
			answer_now(r, "error too many requests waiting");
			return;
		}
		if (s->tail)
			s->tail->next = r;
		else
			s->head = r;
		s->tail = r;
		s->nqueued++;
		start_next(s);
	} else if (sscanf(line, "attach %63s %ld %ld", id, &a, &b) == 3 && valid_id(id)) {
		int in, out;

		snprintf(path, sizeof(path), "%s/out", id);
		out = openat(s->clientsfd, path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (out < 0)
			return;
		if (s->at_out >= 0) {
			if (write(out, "busy\n", 5) != 5)
				(void)0;
			close(out);
			return;
		}
		snprintf(path, sizeof(path), "%s/in", id);
		in = openat(s->clientsfd, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0 || write(out, "ok\n", 3) != 3) {
			if (in >= 0)
				close(in);
			close(out);
			return;
		}
		s->at_in = in;
		s->at_out = out;
		snprintf(s->at_id, sizeof(s->at_id), "%s", id);
		set_winsize(s, (int)a, (int)b);
		set_echo(s, true);
	} else if (sscanf(line, "winch %63s %ld %ld", id, &a, &b) == 3) {
		if (strcmp(id, s->at_id) == 0)
			set_winsize(s, (int)a, (int)b);
	} else if (strcmp(line, "stop") == 0) {
		if (!s->stopping) {
			s->stopping = true;
			s->stop_at = mono_ms();
			/* An interactive shell ignores SIGTERM, not SIGHUP;
			 * afs-launch passes it on and cleans up. */
			kill(s->launch, SIGHUP);
		}
	}
}

static void read_ctl(struct super *s)
{
	ssize_t n = read(s->ctl, s->ctlbuf + s->ctllen, sizeof(s->ctlbuf) - s->ctllen);
	char *nl;

	if (n <= 0)
		return;
	s->ctllen += (size_t)n;
	while ((nl = memchr(s->ctlbuf, '\n', s->ctllen))) {
		*nl = '\0';
		ctl_line(s, s->ctlbuf);
		s->ctllen -= (size_t)(nl + 1 - s->ctlbuf);
		memmove(s->ctlbuf, nl + 1, s->ctllen);
	}
	if (s->ctllen == sizeof(s->ctlbuf))
		s->ctllen = 0;	/* no line is that long: garbage */
}

static void done_line(struct super *s, const char *line)
{
	unsigned seq;
	int st;
	char tail[16] = "";

	if (sscanf(line, "r%u-%15s", &seq, tail) == 2 && strcmp(tail, "sync") == 0) {
		if (s->cur && seq == s->seq && s->phase >= 2)
			finish(s, "timeout", EXIT_TIMEOUT_STATUS);
		return;
	}
	if (sscanf(line, "r%u %d", &seq, &st) == 2 && s->cur && seq == s->seq && s->phase == 1) {
		char status[32];

		snprintf(status, sizeof(status), "exit %d", st);
		finish(s, status, st);
	}
}

static void read_done(struct super *s)
{
	ssize_t n = read(s->done, s->donebuf + s->donelen, sizeof(s->donebuf) - s->donelen);
	char *nl;

	if (n <= 0)
		return;
	s->donelen += (size_t)n;
	while ((nl = memchr(s->donebuf, '\n', s->donelen))) {
		*nl = '\0';
		done_line(s, s->donebuf);
		s->donelen -= (size_t)(nl + 1 - s->donebuf);
		memmove(s->donebuf, nl + 1, s->donelen);
		start_next(s);
	}
	if (s->donelen == sizeof(s->donebuf))
		s->donelen = 0;
}

static void read_master(struct super *s, struct buf *capture)
{
	char data[4096];
	ssize_t n = read(s->master, data, sizeof(data));

	if (n <= 0)
		return;
	if (capture && capture->len < 16384)
		buf_add(capture, data, (size_t)n);
	if (s->at_out >= 0 && write(s->at_out, data, (size_t)n) < 0 && errno != EAGAIN)
		detach(s);
}

/* Is PID, in group PG and alive (not a zombie), a process of the
 * sandbox? */
static bool sandbox_member(const struct super *s, pid_t pid, pid_t pg)
{
	char path[64], buf[512], *close_paren, state;
	int ppid, pgrp;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return false;
	/* The name, in parentheses, may hold anything: after the last. */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 ||
	    pgrp != pg || state == 'Z')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_dev == s->ns_dev && st.st_ino == s->ns_ino;
}

/* SIGKILL to the processes of group PG that are in the sandbox's pid
 * namespace.  Why not kill(-PG): the foreground group of the pty is the
 * sandbox's to choose (tcsetpgrp), and it stays chosen after the group's
 * last process has ended; its number is then free, and the next process
 * of the host to lead a group of that number would be killed, by root
 * when the caller is root (tests/t5011).  Each process is held by a
 * pidfd opened before its /proc entry is read: if it still lives when
 * the signal is sent, what was read was its own (a pid is not reused
 * while its process lives), and if not, the signal reaches no one.
 * Under docker the foreground of this pty is the docker client, never a
 * process of the container: nothing is killed here. */
static void kill_foreground(const struct super *s, pid_t pg)
{
	if (!s->ns_known)
		return;
	for (int round = 0; round < KILL_ROUNDS; round++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		bool any = false;

		if (!d)
			return;
		while ((e = readdir(d))) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			int fd;

			if (*end || pid <= 1 || (fd = afs_pidfd_open((pid_t)pid)) < 0)
				continue;
			if (sandbox_member(s, (pid_t)pid, pg) && afs_pidfd_kill(fd, SIGKILL, 0) == 0)
				any = true;
			close(fd);
		}
		closedir(d);
		if (!any)
			return;
	}
}

/* At the prompt: the shell leads the foreground group.  Hold it by a
 * pidfd, and note its pid namespace (the sandbox's) when that is not
 * ours. */
static void note_idle(struct super *s)
{
	struct stat st, self;
	char path[64];

	s->idle_fd = -1;
	if (ioctl(s->master, TIOCGPGRP, &s->idle_pgrp) != 0 || s->idle_pgrp <= 1 ||
	    (s->idle_fd = afs_pidfd_open(s->idle_pgrp)) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)s->idle_pgrp);
	if (stat(path, &st) != 0 || stat("/proc/self/ns/pid", &self) != 0 ||
	    afs_pidfd_kill(s->idle_fd, 0, 0) != 0)
		return;
	if (st.st_dev != self.st_dev || st.st_ino != self.st_ino) {
		s->ns_known = true;
		s->ns_dev = st.st_dev;
		s->ns_ino = st.st_ino;
	}
}

/* SIGKILL to the group the shell leads (under docker, afs-launch's),
 * through the pidfd that names its leader: never another group of the
 * same number.  Before Linux 6.9, the leader alone, which ends the
 * session all the same (the sandbox's pid 1 ends with the shell; the
 * docker client and the container with afs-launch). */
static void kill_idle_group(const struct super *s)
{
	if (afs_pidfd_kill(s->idle_fd, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP) != 0 && errno == EINVAL)
		afs_pidfd_kill(s->idle_fd, SIGKILL, 0);
}

static void timeouts(struct super *s)
{
	int64_t now = mono_ms();
	char line[64];

	if (s->cur && s->phase == 1 && s->deadline >= 0 && now >= s->deadline) {
		/* ^C: SIGINT to the foreground job, from the line discipline;
		 * then a line the shell answers once it is back. */
		type_line(s, "\003");
		snprintf(line, sizeof(line), " echo \"r%u-sync 0\" >/run/afs-session/done\n", s->seq);
		type_line(s, line);
		s->phase = 2;
		s->grace_until = now + GRACE_MS;
	} else if (s->cur && s->phase == 2 && now >= s->grace_until) {
		pid_t pg = 0;

		/* Still busy: kill the foreground job, unless that is the
		 * shell itself (or, under docker, the client). */
		if (ioctl(s->master, TIOCGPGRP, &pg) == 0 && pg > 1 && pg != s->idle_pgrp)
			kill_foreground(s, pg);
		s->phase = 3;
		s->grace_until = now + GRACE_MS;
	} else if (s->cur && s->phase == 3 && now >= s->grace_until) {
		pid_t pg = 0;

		/* The shell itself does not come back (it ignores SIGINT in a
		 * loop of its own): rather a dead session, said so, than one
		 * that never answers again. */
		if (ioctl(s->master, TIOCGPGRP, &pg) == 0 && pg == s->idle_pgrp && s->idle_fd >= 0)
			kill_idle_group(s);
		finish(s, "timeout", EXIT_TIMEOUT_STATUS);
		start_next(s);
	}
	if (s->stopping && now - s->stop_at > STOP_WAIT_MS) {
		kill(s->launch, SIGKILL);
		s->stop_at = now;
	}
}

static int64_t next_wake(const struct super *s)
{
	int64_t t = -1;

	if (s->cur && s->phase == 1 && s->deadline >= 0)
		t = s->deadline;
	if (s->cur && s->phase >= 2)
		t = s->grace_until;
	if (s->stopping && (t < 0 || s->stop_at + STOP_WAIT_MS < t))
		t = s->stop_at + STOP_WAIT_MS;
	return t;
}

/* Wait for the shell to answer the first line, or for afs-launch to end. */
static int wait_init(struct super *s, struct buf *capture)
{
	int64_t until = mono_ms() + INIT_TIMEOUT_MS;

	for (;;) {
		struct pollfd p[3] = { { .fd = s->master, .events = POLLIN },
				       { .fd = s->done, .events = POLLIN },
				       { .fd = s->sigfd, .events = POLLIN } };
		int64_t left = until - mono_ms();

		if (left <= 0)
			return -1;
		if (poll(p, 3, (int)left) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			read_master(s, capture);
		if (p[2].revents) {
			struct signalfd_siginfo si;
			int st;

			if (read(s->sigfd, &si, sizeof(si)) == sizeof(si) &&
			    waitpid(s->launch, &st, WNOHANG) == s->launch) {
				/* Whatever it said is on the pty. */
				while (poll(p, 1, 50) > 0 && (p[0].revents & POLLIN))
					read_master(s, capture);
				s->shell_dead = true;
				return -1;
			}
		}
		if (p[1].revents) {
			ssize_t n = read(s->done, s->donebuf + s->donelen,
					 sizeof(s->donebuf) - 1 - s->donelen);

			if (n > 0)
				s->donelen += (size_t)n;
			s->donebuf[s->donelen] = '\0';
			if (strstr(s->donebuf, "init ")) {
				s->donelen = 0;
				return 0;
			}
		}
	}
}

static void exec_launch(const struct super *s, const char *slave)
{
	const struct start_opts *o = s->o;
	const char **argv = xcalloc((size_t)o->launch_argc + 20, sizeof(*argv));
	char *io = xasprintf("%s/io", s->dir), *env = xasprintf("AFS_SESSION=%s", o->name);
	char *launch = find_program("afs-launch", true);
	const char *base = strrchr(o->shell, '/') ? strrchr(o->shell, '/') + 1 : o->shell;
	int n = 0, fd;

	if (!launch)
		launch = xstrdup("afs-launch");	/* not found: execvp says so */

	setsid();
	/* Relative paths in afs-launch's options are the caller's. */
	if (o->cwd && chdir(o->cwd) != 0)
		_exit(EXIT_SESSION);
	fd = open(slave, O_RDWR);	/* our controlling terminal */
	if (fd < 0)
		_exit(EXIT_SESSION);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close_range(3, ~0U, 0);
	setenv("AFS_SESSION", o->name, 1);
	argv[n++] = launch;
	argv[n++] = "--tty";
	argv[n++] = "--session-dir";
	argv[n++] = io;
	argv[n++] = "--name";
	argv[n++] = o->name;
	argv[n++] = "-e";
	argv[n++] = env;
	for (int i = 0; i < o->launch_argc; i++)
		argv[n++] = o->launch_argv[i];
	argv[n++] = "--";
	argv[n++] = o->shell;
	if (strcmp(base, "bash") == 0) {
		argv[n++] = "--norc";
		argv[n++] = "--noprofile";
		argv[n++] = "--noediting";
	}
	argv[n++] = "-i";
	argv[n] = NULL;
	execvp(launch, (char *const *)argv);
	fprintf(stderr, "afs-session: cannot run %s: %s\n", launch, strerror(errno));
	_exit(EXIT_SESSION);
}

static int make_fifo(int dfd, const char *name, mode_t mode)
{
	if (mkfifoat(dfd, name, 0600) != 0)
		return -1;
	return open_own(dfd, name, O_RDWR | O_NONBLOCK, S_IFIFO, mode);
}

static void tell(int fd, const char *what, const char *text, size_t n)
{
	if (write(fd, what, strlen(what)) < 0 || (n && write(fd, text, n) < 0))
		(void)0;
}

static int serve(struct super *s, int report)
{
	struct buf capture = { 0 };
	char *slave;
	sigset_t sigs;
	int st;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);

	s->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s->master < 0 || grantpt(s->master) != 0 || unlockpt(s->master) != 0 ||
	    !(slave = ptsname(s->master))) {
		tell(report, "fail\ncannot make a pty\n", NULL, 0);
		return 1;
	}
	slave = xstrdup(slave);
	set_echo(s, false);
	set_winsize(s, 24, 80);
	s->launch = fork();
	if (s->launch == 0) {
		sigprocmask(SIG_UNBLOCK, &sigs, NULL);
		signal(SIGPIPE, SIG_DFL);
		exec_launch(s, slave);
	}
	free(slave);
	fcntl(s->master, F_SETFL, O_NONBLOCK);
	type_line(s, " HISTCONTROL=ignorespace; PS1='$ '; PS2=''; "
		     "echo \"init $?\" >/run/afs-session/done\n");
	if (s->launch < 0 || wait_init(s, &capture) != 0) {
		tell(report, "fail\n", capture.p, capture.len);
		if (!s->shell_dead && s->launch > 0) {
			kill(s->launch, SIGHUP);
			waitpid(s->launch, &st, 0);
		}
		free(capture.p);
		return 1;
	}
	free(capture.p);
	/* The shell, at its prompt, is the foreground job. */
	note_idle(s);
	tell(report, "ok\n", NULL, 0);
	close(report);

	while (!s->shell_dead) {
		struct pollfd p[8];
		int np = 0, ictl = -1, idone, imaster, isig, iout = -1, ierr = -1, irep = -1, iin = -1;
		int64_t wake = next_wake(s), now;

		isig = np;
		p[np++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		if (!s->stopping) {
			ictl = np;
			p[np++] = (struct pollfd){ .fd = s->ctl, .events = POLLIN };
		}
		idone = np;
		p[np++] = (struct pollfd){ .fd = s->done, .events = POLLIN };
		imaster = np;
		p[np++] = (struct pollfd){ .fd = s->master, .events = POLLIN };
		if (s->cur && s->q.len < QUEUE_HIGH) {
			if (s->out >= 0) {
				iout = np;
				p[np++] = (struct pollfd){ .fd = s->out, .events = POLLIN };
			}
			if (s->err >= 0) {
				ierr = np;
				p[np++] = (struct pollfd){ .fd = s->err, .events = POLLIN };
			}
		}
		if (s->cur && s->cur->reply >= 0 && s->q.len) {
			irep = np;
			p[np++] = (struct pollfd){ .fd = s->cur->reply, .events = POLLOUT };
		}
		if (s->at_in >= 0) {
			iin = np;
			p[np++] = (struct pollfd){ .fd = s->at_in, .events = POLLIN };
		}
		now = mono_ms();
		if (poll(p, (nfds_t)np, wake < 0 ? -1 : (int)(wake > now ? wake - now : 0)) < 0 &&
		    errno != EINTR)
			break;
		if (p[isig].revents) {
			struct signalfd_siginfo si;

			while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					if (waitpid(s->launch, &st, WNOHANG) == s->launch) {
						s->shell_dead = true;
						s->shell_status = WIFEXITED(st) ? WEXITSTATUS(st)
										: 128 + WTERMSIG(st);
					}
				} else if (!s->stopping) {
					ctl_line(s, (char[]){ "stop" });
				}
			}
		}
		if (ictl >= 0 && p[ictl].revents)
			read_ctl(s);
		if (iout >= 0 && p[iout].revents)
			read_stream(s, &s->out, FRAME_OUT);
		if (ierr >= 0 && p[ierr].revents)
			read_stream(s, &s->err, FRAME_ERR);
		if (p[idone].revents)
			read_done(s);
		if (irep >= 0 && p[irep].revents)
			flush_some(s);
		else if (s->cur && s->q.len)
			flush_some(s);
		if (p[imaster].revents)
			read_master(s, NULL);
		if (iin >= 0 && p[iin].revents) {
			char data[4096];
			ssize_t n = read(s->at_in, data, sizeof(data));

			if (n > 0) {
				ssize_t w = write(s->master, data, (size_t)n);

				(void)w;
			} else if (n == 0 || errno != EAGAIN) {
				detach(s);
			}
		}
		timeouts(s);
		start_next(s);
	}
	return 0;
}

static __attribute__((noreturn)) void super_main(struct super *s, int report)
{
	struct session_info inf;
	char status[32];

	prctl(PR_SET_NAME, "afs-session", 0, 0, 0);
	s->at_in = s->at_out = s->out = s->err = -1;
	if (serve(s, report) != 0) {
		remove_tree(s->dir);
		_exit(0);
	}
	/* The shell is gone: answer everyone, say so in info, leave the
	 * directory for list and exec to report. */
	snprintf(status, sizeof(status), "dead %d", s->shell_status);
	if (s->cur)
		finish(s, s->stopping ? "dead stopped" : status, EXIT_SESSION);
	while (s->head) {
		struct request *r = s->head;

		s->head = r->next;
		answer_now(r, s->stopping ? "dead stopped" : status);
	}
	detach(s);
	if (s->stopping) {
		remove_tree(s->dir);
		_exit(0);
	}
	if (info_read(s->dir, &inf) == 0) {
		snprintf(inf.state, sizeof(inf.state), "dead");
		inf.status = s->shell_status;
		info_write(s->dir, &inf);
	}
	unlinkat(s->dirfd, "ctl", 0);
	_exit(0);
}

/* Make the session's directory, fork the supervisor (detached: a session
 * of its own, no terminal), wait for the shell to answer.  0, or an exit
 * status (message said). */
/* The fds of S that the caller of supervisor_start holds. */
static void close_set_up(struct super *s)
{
	int *fds[] = { &s->dirfd, &s->iofd, &s->clientsfd, &s->ctl, &s->done, &s->audit_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int supervisor_start(const char *root, const struct start_opts *o)
{
	struct super s = { .o = o, .dirfd = -1, .iofd = -1, .clientsfd = -1, .ctl = -1,
			   .done = -1, .audit_fd = -1 };
	cleanup_free char *dir = session_dir(root, o->name);
	struct session_info inf = { 0 };
	char msg[16384], why[TRUST_WHY_MAX];
	int rp[2] = { -1, -1 }, iomode = 0700;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	s.dir = dir;
	if (mkdir(s.dir, 0700) != 0) {
		if (errno == EEXIST)
			error("session '%s' exists", o->name);
		else
			error("cannot make '%s': %m", s.dir);
		return 1;
	}
	s.dirfd = open(s.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* io/ is seen by the sandbox's uid, when that is another. */
	if (geteuid() == 0 && o->sandbox_uid != 0)
		iomode = 0711;
	if (s.dirfd < 0 || mkdirat(s.dirfd, "io", 0700) != 0 ||
	    fchmodat(s.dirfd, "io", (mode_t)iomode, AT_SYMLINK_NOFOLLOW) != 0 ||
	    mkdirat(s.dirfd, "clients", 0700) != 0 ||
	    (s.iofd = openat(s.dirfd, "io", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (s.clientsfd = openat(s.dirfd, "clients", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (s.ctl = make_fifo(s.dirfd, "ctl", 0600)) < 0 ||
	    (s.done = make_fifo(s.iofd, "done", 0622)) < 0) {
		error("cannot set up '%s': %m", s.dir);
		goto fail;
	}
	if (o->audit && (s.audit_fd = trust_append(o->audit, why)) < 0) {
		error("cannot use the audit log '%s': %s", o->audit, why);
		goto fail;
	}
	if (pipe2(rp, O_CLOEXEC) != 0) {
		error("cannot make a pipe: %m");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		error("cannot fork: %m");
		close(rp[0]);
		close(rp[1]);
		goto fail;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		close(rp[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		/* The supervisor: no terminal, no cwd to pin. */
		if (chdir("/") != 0)
			_exit(1);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
		/* Nothing of the caller's stays open in a daemon: a pipe
		 * held here would keep the caller's reader waiting. */
		{
			int keep[] = { s.dirfd, s.iofd, s.clientsfd, s.ctl, s.done, rp[1],
				       s.audit_fd };

			close_except(keep, ARRAY_SIZE(keep));
		}
		inf.pid = getpid();
		rfc3339_now(inf.started, sizeof(inf.started));
		snprintf(inf.mount, sizeof(inf.mount), "%s", o->mount ? o->mount : "");
		snprintf(inf.shell, sizeof(inf.shell), "%s", o->shell);
		snprintf(inf.audit, sizeof(inf.audit), "%s", o->audit ? o->audit : "");
		snprintf(inf.state, sizeof(inf.state), "running");
		if (info_write(s.dir, &inf) != 0)
			_exit(1);
		super_main(&s, rp[1]);
	}
	/* The supervisor has them; here they would only leak. */
	close_set_up(&s);
	close(rp[1]);
	waitpid(pid, NULL, 0);
	while (got < sizeof(msg) - 1 && (n = read(rp[0], msg + got, sizeof(msg) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	close(rp[0]);
	msg[got] = '\0';
	if (strncmp(msg, "ok\n", 3) == 0)
		return 0;
	/* What afs-launch said on the pty, less the pty's CRs. */
	{
		const char *text = strncmp(msg, "fail\n", 5) == 0 ? msg + 5 : msg;

		for (const char *c = text; *c; c++)
			if (*c != '\r')
				fputc(*c, stderr);
	}
	error("session '%s' did not start", o->name);
	return EXIT_SESSION;

fail:
	close_set_up(&s);
	remove_tree(s.dir);
	return 1;
}
