/* sys.c - process, time and mount helpers of afs-launch, below every
 * other module: they know nothing of a run, a runtime or the guardian.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* In a child of afs-launch: the signal state of a fresh process, and a
 * process group of its own (a Ctrl-C at the terminal is afs-launch's to
 * handle: it must not reach afs-fuse, which would unmount under the
 * command, nor bwrap, which would die without the grace period) -- but
 * for the docker client under --tty, which must stay in the terminal's
 * foreground group to set it raw (else SIGTTOU stops it; found by the
 * Python module's tests). */
void child_setup(bool own_pgrp)
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

/* Wait for a child's line "ready" on FD (its --ready-fd pipe) until
 * DEADLINE (mono_ms), reading SIGFD meanwhile.  READY_OK when it came;
 * READY_EOF when the pipe ended first (the child failed, and said why);
 * READY_LATE at the deadline; READY_ERROR when poll fails (errno); or
 * the number of a signal that asked afs-launch to stop.  FD stays open. */
int await_ready(int fd, int sigfd, int64_t deadline)
{
	char buf[16];
	size_t got = 0;

	while (got < 6) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
					 { .fd = sigfd, .events = POLLIN } };
		int64_t left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0)
			return READY_LATE;
		if (poll(pfd, 2, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return READY_ERROR;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD)
				return (int)si.ssi_signo;
		}
		if (!pfd[0].revents)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return READY_EOF;
		got += (size_t)n;
	}
	return READY_OK;
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

		child_setup(true);
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

/* rmdir DIR, waiting up to 10 s while it is busy: the last processes of
 * a cgroup may still be on their way out (killed, they wait for the
 * host's init to reap them, which took more than a second here after a
 * fork bomb).  0, or -1 with errno. */
int rmdir_patiently(const char *dir)
{
	for (int tries = 0; rmdir(dir) != 0; tries++) {
		if (errno != EBUSY || tries == 1000)
			return -1;
		sleep_ms(10);
	}
	return 0;
}

bool is_mountpoint(const char *dir, const char *parent)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* Detach a mount whose daemon is gone or stuck. */
void force_unmount(const char *mnt)
{
	if (umount2(mnt, MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT)
		return;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		child_setup(false);
		dup2(null, 1);
		dup2(null, 2);
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}
