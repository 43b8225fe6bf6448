/* serve.c - connections in: from the sandbox's relay (one fd per message
 * on a SOCK_SEQPACKET socket) or from a TCP socket of our own; a thread
 * for each, within --max-connections; and stopping.
 *
 * A connection beyond the limit still gets a thread, among REFUSE_SLOTS
 * more, to read its head and answer 503 (SOCKS 0x01) with a record that
 * names the host; beyond those too it is closed at once (an answer only
 * if its first byte is already there), and recorded.  So the threads,
 * and all a connection holds, stay bounded however fast the sandbox
 * connects.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"
#include "record.h"

/* Threads that only refuse, on top of --max-connections. */
#define REFUSE_SLOTS	16
/* A connection's thread: its frames, the pump's two 16 KiB buffers, and
 * getaddrinfo's (the head and its rewrite are on the heap). */
#define THREAD_STACK	(256 * 1024)
/* After the sandbox is gone, open connections get this long to end. */
#define GRACE_MS	2000
/* After a stop, threads get this long to write their records. */
#define STOP_WAIT_MS	1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static unsigned nserving, nrefusing;	/* under lock */

struct job {
	const struct proxy *px;
	struct conn_from from;
	bool refuse;
};

static void *job_main(void *arg)
{
	struct job *j = arg;

	conn_run(j->px, &j->from, j->refuse);
	pthread_mutex_lock(&lock);
	if (j->refuse)
		nrefusing--;
	else
		nserving--;
	pthread_cond_broadcast(&ended);
	pthread_mutex_unlock(&lock);
	free(j);
	return NULL;
}

/* Start FROM's thread, or refuse it here. */
static void dispatch(const struct proxy *px, const struct conn_from *from)
{
	static pthread_attr_t attr;
	static bool attr_ready;
	char reason[64];
	struct job *j;
	pthread_t t;
	bool refuse;

	snprintf(reason, sizeof(reason), "too many connections (limit %u)", px->max_conns);
	pthread_mutex_lock(&lock);
	refuse = nserving >= px->max_conns;
	if (refuse && nrefusing >= REFUSE_SLOTS) {
		pthread_mutex_unlock(&lock);
		conn_refused_early(px, from, reason);
		return;
	}
	if (refuse)
		nrefusing++;
	else
		nserving++;
	pthread_mutex_unlock(&lock);
	if (!attr_ready) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		attr_ready = true;
	}
	j = malloc(sizeof(*j));
	if (j) {
		j->px = px;
		j->from = *from;
		j->refuse = refuse;
		if (pthread_create(&t, &attr, job_main, j) == 0)
			return;
		free(j);
	}
	pthread_mutex_lock(&lock);
	if (refuse)
		nrefusing--;
	else
		nserving--;
	pthread_mutex_unlock(&lock);
	conn_refused_early(px, from, "cannot start a thread for it");
}

bool serve_idle(void)
{
	bool idle;

	pthread_mutex_lock(&lock);
	idle = nserving + nrefusing == 0;
	pthread_mutex_unlock(&lock);
	return idle;
}

/* Wait until no connection is left, or MS have passed. */
static void wait_ended(int64_t ms)
{
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	while (nserving + nrefusing > 0)
		if (pthread_cond_timedwait(&ended, &lock, &end) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&lock);
}

/* Stop: connections get GRACE to end by themselves, then are told to
 * stop (end of file on stop_fd) and get STOP_WAIT_MS to write their
 * records.  Exit status 0. */
static int stop(const struct proxy *px, int64_t grace)
{
	if (grace > 0)
		wait_ended(grace);
	close(px->stop_w);
	wait_ended(STOP_WAIT_MS);
	record_flush(px->name);
	return 0;
}

/* Is SIG_FD's signal a stop?  It carries SIGTERM and SIGINT, which are,
 * and SIGUSR1, which reopens the audit log. */
static bool signalled(int sig_fd)
{
	struct signalfd_siginfo si;

	if (read(sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return false;
	if (si.ssi_signo == SIGUSR1) {
		record_reopen();
		return false;
	}
	return true;
}

/* ---- the relay ------------------------------------------------------------ */

/* "PID COMM" (COMM "-" when unknown, PID 0) into FROM. */
static void payload_parse(const char *p, size_t n, struct conn_from *from)
{
	long pid = 0;
	size_t i = 0, k;

	while (i < n && i < 8 && p[i] >= '0' && p[i] <= '9')
		pid = pid * 10 + (p[i++] - '0');
	if (i == 0 || i == n || p[i] != ' ')
		return;
	from->inside_pid = (pid_t)pid;
	i++;
	k = n - i < TASK_COMM_LEN - 1 ? n - i : TASK_COMM_LEN - 1;
	if (k == 1 && p[i] == '-')
		return;
	memcpy(from->comm, p + i, k);
	from->comm[k] = '\0';
}

/* One message from the relay: 1 handled (or nothing there), 0 the
 * relay's end, -1 an error. */
static int relay_recv(const struct proxy *px, int relay_fd)
{
	/* Room for more fds than one, to see (and close) them all. */
	union {
		char buf[CMSG_SPACE(16 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	char payload[64];
	struct iovec iov = { payload, sizeof(payload) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct conn_from from = { .fd = -1 };
	struct cmsghdr *cm;
	int fds[16], nfds = 0, type = 0;
	socklen_t tlen = sizeof(type);
	struct stat st;
	ssize_t n;

	n = recvmsg(relay_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k && nfds < (int)ARRAY_SIZE(fds); i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		} else if (cm->cmsg_type == SCM_CREDENTIALS &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			from.relay_pid = cred.pid;
		}
	}
	/* The end of the relay: no bytes and nothing attached. */
	if (n == 0 && nfds == 0 && CMSG_FIRSTHDR(&msg) == NULL)
		return 0;
	if (nfds != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return 1;
	}
	from.fd = fds[0];
	if (fstat(from.fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(from.fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
	    fcntl(from.fd, F_SETFL, fcntl(from.fd, F_GETFL) | O_NONBLOCK) != 0) {
		close(from.fd);
		return 1;
	}
	payload_parse(payload, (size_t)n, &from);
	dispatch(px, &from);
	return 1;
}

/* ---- listening -------------------------------------------------------------- */

/* One connection from the listening socket FD: 1 (accepted or not: a
 * listener never ends).  Out of fds, it waits for connections to end. */
static int listen_accept(const struct proxy *px, int fd)
{
	static bool said;
	struct conn_from from = { .fd = -1 };

	from.fd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (from.fd >= 0) {
		dispatch(px, &from);
		return 1;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		if (!said)
			warning("cannot accept a connection: %m (said once)");
		said = true;
		poll(NULL, 0, 100);
	}
	return 1;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Take connections from SRC_FD with TAKE (1 go on, 0 its end, -1 an error
 * said as WHAT) until it ends or SIG_FD says stop. */
static int serve(const struct proxy *px, int src_fd, int sig_fd,
		 int (*take)(const struct proxy *px, int fd), const char *what)
{
	struct pollfd p[2] = { { .fd = src_fd, .events = POLLIN },
			       { .fd = sig_fd, .events = POLLIN } };

	for (;;) {
		int r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			error("poll: %m");
			stop(px, 0);
			return EXIT_CANNOT_SERVE;
		}
		if (p[1].revents && signalled(sig_fd))
			return stop(px, 0);
		if (!p[0].revents)
			continue;
		r = take(px, src_fd);
		if (r == 0)
			return stop(px, GRACE_MS);
		if (r < 0) {
			error("%s: %m", what);
			stop(px, GRACE_MS);
			return EXIT_CANNOT_SERVE;
		}
	}
}

int serve_relay(const struct proxy *px, int relay_fd, int sig_fd)
{
	return serve(px, relay_fd, sig_fd, relay_recv, "cannot receive from the relay");
}

int serve_listen(const struct proxy *px, int listen_fd, int sig_fd)
{
	return serve(px, listen_fd, sig_fd, listen_accept, "cannot accept");
}
