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
 * namespace (or container) is gone, but a docker client might. */
#define DRAIN_MS 2000

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In a child of afs-launch: the signal state of a fresh process, and a
 * process group of its own (a Ctrl-C at the terminal is afs-launch's to
 * handle: it must not reach afs-fuse, which would unmount under the
 * command, nor bwrap, which would die without the grace period) -- but
 * for the docker client under --tty, which must stay in the terminal's
 * foreground group to set it raw (else SIGTTOU stops it; found by the
 * Python module's tests). */
void run_child_setup(bool own_pgrp)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD,
				    SIGUSR1, SIGUSR2 };
	sigset_t none;

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (own_pgrp)
		setpgid(0, 0);
}

/* fd 0, 1 or 2 of ours is a regular file: the sandbox must not hold it.
 * With it, a command could clear O_APPEND and write over the caller's
 * earlier lines (pwrite at 0), or read them back through /proc/self/fd. */
static bool regular_fd(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void run_stdio_decide(struct launch *L)
{
	L->pipe_out = L->json || (!L->tty && regular_fd(1));
	L->pipe_err = L->json || (!L->tty && regular_fd(2));
	L->pipe_in = !L->tty && regular_fd(0);
}

int run_stdio_make(const struct launch *L, struct stdio_pipes *p)
{
	*p = (struct stdio_pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 } };
	if ((L->pipe_in && pipe2(p->in, O_CLOEXEC) != 0) ||
	    (L->pipe_out && pipe2(p->out, O_CLOEXEC) != 0) ||
	    (L->pipe_err && pipe2(p->err, O_CLOEXEC) != 0)) {
		error("cannot make pipes: %m");
		return -1;
	}
	return 0;
}

void run_stdio_child(const struct stdio_pipes *p)
{
	if ((p->in[0] >= 0 && dup2(p->in[0], 0) < 0) || (p->out[1] >= 0 && dup2(p->out[1], 1) < 0) ||
	    (p->err[1] >= 0 && dup2(p->err[1], 2) < 0))
		die(EXIT_LAUNCH, "dup2: %m");
}

void run_stdio_parent(struct stdio_pipes *p, struct sandbox *sb)
{
	int *theirs[] = { &p->in[0], &p->out[1], &p->err[1] };

	for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
		if (*theirs[i] >= 0)
			close(*theirs[i]);
	sb->in_fd = p->in[1];
	sb->out_fd = p->out[0];
	sb->err_fd = p->err[0];
	/* A command that stops reading must not block us on a full pipe. */
	if (sb->in_fd >= 0)
		fcntl(sb->in_fd, F_SETFL, O_NONBLOCK);
}

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

/* Small reports (bwrap's info, the shim's status): kept up to SIZE. */
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

static void sandbox_signal(struct sandbox *sb, int sig)
{
	if (sb->docker_name) {
		docker_signal(sb, sig);
		/* And the client, should it not end with its container. */
		if (sig == SIGKILL)
			kill(sb->pid, SIGKILL);
		return;
	}
	/* pid 1 of the sandbox passes the signal on to all the others; a
	 * SIGKILL to it ends the whole pid namespace.  Before bwrap has said
	 * which pid that is, bwrap itself: its death kills the sandbox
	 * (--die-with-parent). */
	if (sb->inner > 0 && sb->ready) {
		kill(sb->inner, sig);
	} else if (sig == SIGKILL) {
		kill(sb->inner > 0 ? sb->inner : sb->pid, sig);
	} else {
		/* Sent now, it could be dropped: held until the shim says
		 * it is ready. */
		sb->pending = sig;
	}
	/* Not bwrap too when pid 1 is known: bwrap ends by itself once its
	 * child is gone, and killed first it would leave that child to the
	 * host's init to reap. */
}

static void parse_info(struct sandbox *sb, const char *info)
{
	const char *p = strstr(info, "\"child-pid\"");

	if (!p || !(p = strchr(p, ':')))
		return;
	long v = strtol(p + 1, NULL, 10);

	if (v > 1)
		sb->inner = (pid_t)v;
}

static void status_update(struct sandbox *sb, const char *status)
{
	if (sb->ready || strncmp(status, "ready 1\n", 8) != 0)
		return;
	sb->ready = true;
	if (sb->inner > 0 && sb->pending) {
		kill(sb->inner, sb->pending);
		sb->pending = 0;
	}
}

static void parse_status(const char *s, struct outcome *oc)
{
	int v;

	if (strncmp(s, "ready 1\n", 8) == 0)
		s += 8;
	if (sscanf(s, "exit %d", &v) == 1) {
		oc->reported = true;
		oc->exit_code = v;
	} else if (sscanf(s, "signal %d", &v) == 1) {
		oc->reported = true;
		oc->signal = v;
	} else if (sscanf(s, "exec %d", &v) == 1) {
		oc->reported = true;
		oc->exec_errno = v;
	}
}

/* Reap the sandbox's first process (bwrap, or the docker client), waiting
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
	int64_t start = now_ms(), deadline = L->timeout_ms ? start + L->timeout_ms : -1;
	int64_t kill_at = -1, drain_until = -1;
	char info[1024] = "", status[128] = "";
	size_t ilen = 0, slen = 0;
	bool exited = false, killed = false;
	int wst = 0;
	struct feed feed = { .len = 0 };	/* stdin to the command (pipe_in) */

	for (;;) {
		struct pollfd pfd[6];
		int *fds[6] = { NULL };
		int n = 0, i, wait = -1;
		int64_t now = now_ms();

		if (deadline >= 0 && now >= deadline) {
			deadline = -1;
			oc->timed_out = true;
			sandbox_signal(sb, SIGTERM);
			kill_at = now + L->kill_after_ms;
		}
		if (kill_at >= 0 && now >= kill_at) {
			kill_at = -1;
			killed = true;
			sandbox_signal(sb, SIGKILL);
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
						drain_until = now_ms() + DRAIN_MS;
					}
				} else if (!oc->interrupted) {
					oc->interrupted = (int)si.ssi_signo;
					sandbox_signal(sb, (int)si.ssi_signo);
					kill_at = now_ms() + L->kill_after_ms;
				}
			} else if (fds[i] == &sb->info_fd) {
				report_read(&sb->info_fd, info, sizeof(info), &ilen);
				parse_info(sb, info);
				status_update(sb, status);
			} else if (fds[i] == &sb->status_fd) {
				report_read(&sb->status_fd, status, sizeof(status), &slen);
				status_update(sb, status);
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
	oc->duration_ms = now_ms() - start;

	if (sb->docker_name) {
		docker_finish(sb, oc);
	} else {
		parse_status(status, oc);
		if (!oc->reported && (killed || oc->timed_out || oc->interrupted)) {
			/* pid 1 itself was killed: so was everything in it. */
			oc->reported = true;
			oc->signal = SIGKILL;
		}
	}
	if (!oc->reported) {
		const char *rt = sb->docker_name ? "docker" : "bwrap";

		/* bwrap's or docker's own words on why come first; under
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
		if (!oc->limit)
			oc->limit = cgroup_limit_hit(sb->cg);
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

/* A growing, NULL-terminated argv of copies (for bwrap and docker). */
void argv_add(struct argv_buf *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 64;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

/* Run ARGV (found on PATH) quietly; its stdout into OUT (up to SIZE, NUL
 * terminated) when OUT is given.  Returns its exit status, or -1. */
int run_quiet(const char *const argv[], char *out, size_t size)
{
	int p[2] = { -1, -1 }, st;
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		run_child_setup(true);
		dup2(null, 0);
		dup2(out ? p[1] : null, 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (out) {
		size_t len = 0;
		ssize_t n;

		close(p[1]);
		while (len < size - 1 && (n = read(p[0], out + len, size - 1 - len)) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			len += (size_t)n;
		}
		out[len] = '\0';
		close(p[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
