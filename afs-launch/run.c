/* run.c - wait for a sandbox: output, signals, the timeout, the outcome.
 *
 * One poll loop over a signalfd (SIGCHLD, and the signals that ask
 * afs-launch to stop), the sandbox's report pipes and, with --json, its
 * stdout and stderr.  A timeout or a signal to afs-launch sends SIGTERM (or
 * that signal) to the whole sandbox and SIGKILL after --kill-after.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

/* After the sandbox is gone, output still in the pipes is read for at most
 * this long: nothing in the sandbox can hold them open once its pid
 * namespace (or container) is gone, but a runtime's client might. */
#define DRAIN_MS 2000

/* Write all of BUF to FD (1 or 2: the caller's regular file).  After an
 * error (said once) the rest is read and dropped, so that the command is
 * never blocked on a full pipe. */
static void relay_write(int fd, const char *buf, size_t n)
{
	static bool broken[3];

	while (n && !broken[fd]) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			error("cannot write the command's output: %m");
			broken[fd] = true;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* What the command wrote on *FD: into C (--json), or on to TO. */
static void capture_read(int *fd, struct capture *c, int to)
{
	char buf[65536];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	if (to < 0)
		capture_add(c, buf, (size_t)n);
	else
		relay_write(to, buf, (size_t)n);
}

/* Our stdin (a regular file) to the command's, a buffer at a time. */
struct feed {
	char buf[65536];
	size_t off, len;
	bool eof;
};

static void feed_step(struct feed *f, struct sandbox *sb, short revents)
{
	if (f->len == 0 && !f->eof) {
		ssize_t n = read(0, f->buf, sizeof(f->buf));

		if (n < 0 && errno == EINTR)
			return;
		if (n <= 0)
			f->eof = true;
		else
			f->off = 0, f->len = (size_t)n;
	}
	if (f->len && (revents & POLLOUT)) {
		ssize_t w = write(sb->in_fd, f->buf + f->off, f->len);

		if (w > 0) {
			f->off += (size_t)w;
			f->len -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			f->eof = true;	/* EPIPE: the command closed its stdin */
			f->len = 0;
		}
	}
	if ((f->eof && f->len == 0) || (revents & (POLLERR | POLLHUP))) {
		close(sb->in_fd);
		sb->in_fd = -1;
	}
}

/* A runtime's small reports (bwrap's info, the shim's status): kept up
 * to SIZE. */
static void report_read(int *fd, char *buf, size_t size, size_t *len)
{
	char tmp[512];
	ssize_t n = read(*fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	if ((size_t)n > size - 1 - *len)
		n = (ssize_t)(size - 1 - *len);
	memcpy(buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	buf[*len] = '\0';
}

/* Reap the sandbox's first process (bwrap, or a runtime's client), waiting
 * for it or not.  The guardian forgets its process group first, while the
 * zombie still holds the group's number: it can never kill a group of the
 * same number that is not ours. */
static bool reap(struct sandbox *sb, int *wst, bool wait)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)sb->pid, &si, WEXITED | WNOWAIT | (wait ? 0 : WNOHANG)) != 0)
		if (errno != EINTR)
			return false;
	if (si.si_pid != sb->pid)
		return false;
	guard_forget_group();
	return waitpid(sb->pid, wst, 0) == sb->pid;
}

int run_wait(const struct launch *L, struct sandbox *sb, int sigfd, struct outcome *oc,
	     struct capture *out, struct capture *err)
{
	int64_t start = mono_ms(), deadline = L->timeout_ms ? start + L->timeout_ms : -1;
	int64_t kill_at = -1, drain_until = -1;
	bool exited = false, killed = false;
	int wst = 0;
	struct feed feed = { .len = 0 };	/* stdin to the command (pipe_in) */

	for (;;) {
		struct pollfd pfd[6];
		int *fds[6] = { NULL };
		int n = 0, i, wait = -1;
		int64_t now = mono_ms();

		if (deadline >= 0 && now >= deadline) {
			deadline = -1;
			oc->timed_out = true;
			L->rt->signal(sb, SIGTERM);
			kill_at = now + L->kill_after_ms;
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill_at = -1;
			killed = true;
			L->rt->signal(sb, SIGKILL);
		}
		if (exited && sb->out_fd < 0 && sb->err_fd < 0 && sb->status_fd < 0 &&
		    sb->info_fd < 0)
			break;
		/* Nothing more to feed once the command is gone. */
		if (exited && sb->in_fd >= 0) {
			close(sb->in_fd);
			sb->in_fd = -1;
		}
		if (drain_until >= 0 && now >= drain_until)
			break;

		pfd[n] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		fds[n++] = &sigfd;
		if (sb->info_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = sb->info_fd, .events = POLLIN };
			fds[n++] = &sb->info_fd;
		}
		if (sb->status_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = sb->status_fd, .events = POLLIN };
			fds[n++] = &sb->status_fd;
		}
		if (sb->out_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = sb->out_fd, .events = POLLIN };
			fds[n++] = &sb->out_fd;
		}
		if (sb->err_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = sb->err_fd, .events = POLLIN };
			fds[n++] = &sb->err_fd;
		}
		if (sb->in_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = sb->in_fd, .events = POLLOUT };
			fds[n++] = &sb->in_fd;
		}
		{
			int64_t next = deadline;

			if (kill_at >= 0 && (next < 0 || kill_at < next))
				next = kill_at;
			if (drain_until >= 0 && (next < 0 || drain_until < next))
				next = drain_until;
			wait = next < 0 ? -1 : (int)(next > now ? next - now : 0);
		}
		if (poll(pfd, (nfds_t)n, wait) < 0) {
			if (errno == EINTR)
				continue;
			error("poll: %m");
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (fds[i] == &sigfd) {
				struct signalfd_siginfo si;

				if (read(sigfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGCHLD) {
					if (!exited && reap(sb, &wst, false)) {
						exited = true;
						drain_until = mono_ms() + DRAIN_MS;
					}
				} else if (!oc->interrupted) {
					oc->interrupted = (int)si.ssi_signo;
					L->rt->signal(sb, (int)si.ssi_signo);
					kill_at = mono_ms() + L->kill_after_ms;
				}
			} else if (fds[i] == &sb->info_fd) {
				report_read(&sb->info_fd, sb->info, sizeof(sb->info), &sb->ilen);
				L->rt->reported(sb);
			} else if (fds[i] == &sb->status_fd) {
				report_read(&sb->status_fd, sb->status, sizeof(sb->status), &sb->slen);
				L->rt->reported(sb);
			} else if (fds[i] == &sb->out_fd) {
				capture_read(&sb->out_fd, out, L->json ? -1 : 1);
			} else if (fds[i] == &sb->err_fd) {
				capture_read(&sb->err_fd, err, L->json ? -1 : 2);
			} else {
				feed_step(&feed, sb, pfd[i].revents);
			}
		}
	}
	if (!exited && reap(sb, &wst, true))
		exited = true;
	oc->duration_ms = mono_ms() - start;

	L->rt->finish(sb, killed, oc);
	if (!oc->reported) {
		const char *rt = L->rt->name;

		/* The runtime's own words on why come first; under
		 * --json they were captured with the command's stderr. */
		if (err->len && fwrite(err->buf, 1, err->len, stderr) != err->len)
			error("cannot write to stderr: %m");

		if (WIFEXITED(wst))
			error("the sandbox did not start (%s exited with status %d)", rt,
			      WEXITSTATUS(wst));
		else
			error("the sandbox did not start (%s killed by SIG%s)", rt,
			      sigabbrev_np(WTERMSIG(wst)) ? sigabbrev_np(WTERMSIG(wst)) : "?");
		return -1;
	}
	if (oc->exit_code == 0 && !oc->signal && !oc->timed_out && !oc->exec_errno) {
		/* A limit hit on the way is no reason of a success. */
		oc->limit = NULL;
	} else {
		/* The command, or a process whose status a shell passed on
		 * as 128+N, died of the signal that only this limit sends. */
		if (!oc->limit && L->lim.cpu_time &&
		    (oc->signal == SIGXCPU || (!oc->signal && oc->exit_code == 128 + SIGXCPU)))
			oc->limit = "cpu-time";
		if (!oc->limit && L->lim.fsize &&
		    (oc->signal == SIGXFSZ || (!oc->signal && oc->exit_code == 128 + SIGXFSZ)))
			oc->limit = "fsize";
	}
	return 0;
}

void run_close_sandbox(struct sandbox *sb)
{
	int *fds[] = { &sb->info_fd, &sb->status_fd, &sb->out_fd, &sb->err_fd, &sb->in_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}
