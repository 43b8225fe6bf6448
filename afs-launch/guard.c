/* guard.c - the guardian: what afs-launch makes that must not outlive it
 * (its temp dir, the mountpoint in it, its cgroups, a runtime's object
 * such as a container, afs-proxy) is made by, or announced to, a process
 * of its own before it exists (afs-proxy announces itself before it can
 * drop its uid, and with it PR_SET_PDEATHSIG).  If
 * afs-launch ends without saying that it cleaned up (SIGKILL, say), the
 * guardian removes all of it.
 *
 * The guardian makes the directories itself, on request, and remembers
 * each before it answers: there is no moment at which a directory exists
 * that it does not know of, however early afs-launch is killed.  A
 * runtime's object is announced, before it is made, as the command that
 * removes it (guard_undo): the guardian knows no runtime.
 *
 * It is started at the first request, or before a bwrap sandbox (whose
 * process group it must be able to kill), and talks over a SOCK_SEQPACKET
 * socket pair: one request, one answer; the end of the socket is
 * afs-launch's end.
 *
 * The sandbox's process group is given as a pidfd of its leader, never
 * killed by number: when afs-launch is killed, bwrap dies too and is
 * reaped by init, and once its group is empty the number is free; a
 * kill(-N) then would reach the next host process to lead a group of
 * that number (tests/t5011).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "pidfd.h"
#include "util.h"

enum {
	OP_MKDIR = 'M',		/* path, mode: make it */
	OP_MKCGROUP = 'C',	/* path: make this cgroup */
	OP_MKDTEMP = 'T',	/* template: make it, answer the name */
	OP_UNDO = 'U',		/* argv, NUL-separated: run it at the end */
	OP_GROUP = 'P',		/* with a pidfd of its leader: the process group to
				 * kill; without: none; no answer */
	OP_KILL = 'K',		/* with a pidfd: a process to kill; no answer */
	OP_DONE = 'D',		/* afs-launch removed everything itself */
};

struct request {
	char op;
	uint32_t mode;
	char path[PATH_MAX];
};

struct answer {
	int err;		/* 0 or an errno */
	char path[PATH_MAX];
};

static int guard_fd = -1;
static pid_t guard_pid;

/* The words of an OP_UNDO command: a runtime's removal of what it made
 * ("rm -f NAME" to its client) has a few; the request's size bounds
 * them anyway. */
#define UNDO_MAX_WORDS 16

struct made {
	char kind;		/* 'd': a directory, 'c': a cgroup, 'u': a command */
	char *name;		/* 'u': its words, NUL-separated */
	size_t len;
};

/* Kill what is left in cgroup DIR (one of ours: made by the guardian in
 * a cgroup file system), until it is empty or ten seconds have passed.
 * cgroup.kill where there is one (v2); else every pid in cgroup.procs,
 * read whole (a short read would cut a pid in two). */
static void empty_cgroup(const char *dir)
{
	char *path = xasprintf("%s/cgroup.kill", dir), *line = NULL;
	size_t cap = 0;
	struct statfs sf;
	int fd;

	if (statfs(dir, &sf) != 0 || (sf.f_type != CGROUP_SUPER_MAGIC &&
				      sf.f_type != CGROUP2_SUPER_MAGIC)) {
		free(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1) {
			/* Best effort, as the rest of the clean-up: the processes
			 * are killed one by one below all the same. */
		}
		close(fd);
	}
	free(path);
	path = xasprintf("%s/cgroup.procs", dir);
	for (int tries = 0; tries < 1000; tries++) {
		FILE *f = fopen(path, "re");
		bool any = false;
		ssize_t n;

		if (!f)
			break;
		while ((n = getline(&line, &cap, f)) > 0) {
			char *end;
			long pid;

			if (line[n - 1] != '\n')
				break;
			pid = strtol(line, &end, 10);
			if (pid > 0 && *end == '\n') {
				kill((pid_t)pid, SIGKILL);
				any = true;
			}
		}
		fclose(f);
		if (!any)
			break;
		sleep_ms(10);
	}
	free(line);
	free(path);
}

/* NAME of LEN bytes and a NUL (for 'u', words each ending in a NUL). */
static void remember(struct made **v, size_t *n, char kind, const char *name, size_t len)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].kind = kind;
	(*v)[*n].name = xmalloc(len + 1);
	memcpy((*v)[*n].name, name, len + 1);
	(*v)[*n].len = len;
	(*n)++;
}

/* Run an OP_UNDO command (quietly, and waited for). */
static void undo(const struct made *m)
{
	const char *argv[UNDO_MAX_WORDS + 1];
	size_t n = 0;

	for (size_t off = 0; off < m->len && n < UNDO_MAX_WORDS; off += strlen(m->name + off) + 1)
		argv[n++] = m->name + off;
	argv[n] = NULL;
	if (n > 0)
		(void)run_quiet(argv, NULL, 0);
}

/* A directory we made: the mountpoint first gets the time to be
 * unmounted by afs-fuse (which had SIGTERM at afs-launch's death), then
 * is detached; a cgroup may hold processes on their way out for a while. */
static void remove_dir(const char *dir)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');

	if (slash && slash != parent)
		*slash = '\0';
	for (int i = 0; i < UNMOUNT_TIMEOUT_MS / 10 && is_mountpoint(dir, parent); i++)
		sleep_ms(10);
	free(parent);
	if (rmdir(dir) == 0 || errno == ENOENT)
		return;
	if (errno == EBUSY || errno == ENOTCONN)
		force_unmount(dir);
	(void)rmdir_patiently(dir);
}

/* One request, and the fd that came with it (or -1). */
static ssize_t receive(int fd, struct request *rq, int *passed)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = rq, .iov_len = sizeof(*rq) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

	*passed = -1;
	if (n < 0)
		return n;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(passed, CMSG_DATA(c), sizeof(int));
	return n;
}

/* SIGKILL to the group that the process of LEADER (a pidfd) leads, its
 * leader dead and reaped or not; never to another group of the same
 * number.  Before Linux 6.9 (no PIDFD_SIGNAL_PROCESS_GROUP), by number,
 * and only while the leader is not yet reaped: its zombie holds the
 * number. */
static void kill_group(int leader, pid_t group)
{
	if (afs_pidfd_kill(leader, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP) == 0 || errno != EINVAL)
		return;
	if (afs_pidfd_kill(leader, 0, 0) == 0)
		kill(-group, SIGKILL);
}

static void guardian(int fd)
{
	struct made *made = NULL;
	size_t nmade = 0;
	pid_t group = 0;
	int leader = -1, proc = -1;
	struct request rq;
	struct answer an;

	for (;;) {
		int passed;
		ssize_t n = receive(fd, &rq, &passed);
		size_t len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* afs-launch is gone */
		if (passed >= 0 && ((rq.op != OP_GROUP && rq.op != OP_KILL) ||
				    (size_t)n < offsetof(struct request, path))) {
			close(passed);
			passed = -1;
		}
		if ((size_t)n < offsetof(struct request, path))
			continue;
		len = (size_t)n - offsetof(struct request, path);
		rq.path[len] = '\0';
		memset(&an, 0, offsetof(struct answer, path));
		an.path[0] = '\0';
		switch (rq.op) {
		case OP_DONE:
			_exit(0);
		case OP_MKDIR:
		case OP_MKCGROUP:
			if (mkdir(rq.path, (mode_t)rq.mode) == 0)
				remember(&made, &nmade, rq.op == OP_MKDIR ? 'd' : 'c', rq.path,
					 len);
			else
				an.err = errno;
			break;
		case OP_MKDTEMP:
			if (mkdtemp(rq.path)) {
				remember(&made, &nmade, 'd', rq.path, len);
				memcpy(an.path, rq.path, len + 1);
			} else {
				an.err = errno;
			}
			break;
		case OP_UNDO:
			remember(&made, &nmade, 'u', rq.path, len);
			break;
		case OP_GROUP:
			if (leader >= 0)
				close(leader);
			leader = passed;
			group = (pid_t)rq.mode;
			continue;
		case OP_KILL:
			if (proc >= 0)
				close(proc);
			proc = passed;
			continue;
		default:
			an.err = EINVAL;
		}
		(void)send(fd, &an, offsetof(struct answer, path) + strlen(an.path), MSG_NOSIGNAL);
	}
	/* bwrap is killed with afs-launch (PR_SET_PDEATHSIG), but a child
	 * it cloned and had not yet told to go on waits for it for ever:
	 * the sandbox's process group goes first, then what a runtime made
	 * (a container), then all that is left in the cgroups. */
	if (leader >= 0)
		kill_group(leader, group);
	/* afs-proxy: its PR_SET_PDEATHSIG is gone once it drops to --user. */
	if (proc >= 0)
		(void)afs_pidfd_kill(proc, SIGKILL, 0);
	for (size_t i = 0; i < nmade; i++)
		if (made[i].kind == 'u')
			undo(&made[i]);
	for (size_t i = 0; i < nmade; i++)
		if (made[i].kind == 'c')
			empty_cgroup(made[i].name);
	/* The directories in the reverse order of making: the mountpoint,
	 * the temp dir, the cgroups. */
	while (nmade-- > 0)
		if (made[nmade].kind != 'u')
			remove_dir(made[nmade].name);
	_exit(0);
}

/* Fork the guardian, if not yet done; afs-launch cannot go on without. */
static void start(void)
{
	int sv[2];
	pid_t pid;

	if (guard_fd >= 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		die(EXIT_LAUNCH, "cannot start the guardian: %m");
	/* Never on 0, 1 or 2, should the caller have closed them. */
	for (int i = 0; i < 2; i++) {
		if (sv[i] > 2)
			continue;
		int fd = fcntl(sv[i], F_DUPFD_CLOEXEC, 3);

		if (fd < 0)
			die(EXIT_LAUNCH, "cannot start the guardian: %m");
		close(sv[i]);
		sv[i] = fd;
	}
	pid = fork();
	if (pid < 0)
		die(EXIT_LAUNCH, "cannot start the guardian: %m");
	if (pid == 0) {
		/* Its own process group, so that a terminal's ^C to the
		 * caller's group does not reach it, and afs-launch's signal
		 * mask.  It holds none of the caller's files: a pipeline
		 * reading afs-launch ends when afs-launch does. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		setpgid(0, 0);
		close(sv[0]);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		close_range(3, (unsigned)sv[1] - 1, 0);
		close_range((unsigned)sv[1] + 1, ~0U, 0);
		guardian(sv[1]);
	}
	close(sv[1]);
	guard_fd = sv[0];
	guard_pid = pid;
}

/* A message with no answer, and FD with it unless it is -1. */
static void tell(char op, uint32_t arg, int fd)
{
	struct request rq;
	size_t n = offsetof(struct request, path);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &rq, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&rq, 0, n);
	rq.op = op;
	rq.mode = arg;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(guard_fd, &mh, MSG_NOSIGNAL) != (ssize_t)n)
		warning("cannot tell the guardian: %m");
}

/* A request of PATH (LEN bytes) and MODE, and its answer into OUT. */
static int ask(char op, const char *path, size_t len, mode_t mode, char *out, size_t outsize)
{
	struct request rq;
	struct answer an;
	ssize_t n;

	if (len >= sizeof(rq.path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	start();
	memset(&rq, 0, offsetof(struct request, path));
	rq.op = op;
	rq.mode = (uint32_t)mode;
	memcpy(rq.path, path, len);
	if (send(guard_fd, &rq, offsetof(struct request, path) + len, MSG_NOSIGNAL) < 0)
		die(EXIT_LAUNCH, "cannot reach the guardian: %m");
	do
		n = recv(guard_fd, &an, sizeof(an) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < (ssize_t)offsetof(struct answer, path))
		die(EXIT_LAUNCH, "the guardian is gone");
	if (an.err) {
		errno = an.err;
		return -1;
	}
	if (out) {
		size_t got = (size_t)n - offsetof(struct answer, path);

		if (got >= outsize) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(out, an.path, got);
		out[got] = '\0';
	}
	return 0;
}

/* 0, or -1 with errno as mkdir(2) set it. */
int guard_mkdir(const char *path, mode_t mode)
{
	return ask(OP_MKDIR, path, strlen(path), mode, NULL, 0);
}

int guard_mkcgroup(const char *path)
{
	return ask(OP_MKCGROUP, path, strlen(path), 0755, NULL, 0);
}

/* TEMPLATE as for mkdtemp(3), which it updates. */
int guard_mkdtemp(char *template)
{
	return ask(OP_MKDTEMP, template, strlen(template), 0, template, strlen(template) + 1);
}

/* ARGV (found on PATH) is run by the guardian if afs-launch ends without
 * guard_release: the removal of what a runtime is about to make.  Dies
 * (EXIT_LAUNCH) when ARGV does not fit a request: nothing may be made
 * that the guardian could not remove. */
void guard_undo(const char *const argv[])
{
	char buf[PATH_MAX];
	size_t len = 0, n;

	for (size_t i = 0; argv[i]; i++) {
		n = strlen(argv[i]) + 1;
		if (i == UNDO_MAX_WORDS || len + n >= sizeof(buf))
			die(EXIT_LAUNCH, "cannot tell the guardian '%s': too long", argv[0]);
		memcpy(buf + len, argv[i], n);
		len += n;
	}
	(void)ask(OP_UNDO, buf, len, 0, NULL, 0);
}

/* The guardian, started now if it was not: a run's sandbox always has
 * one, for its process group. */
void guard_start(void)
{
	start();
}

/* In the child that becomes the sandbox, before anything else, as the
 * leader of its own process group: that group is killed if afs-launch
 * dies.  Without an answer (the parent may be talking to the guardian);
 * sent before the child can die or exec, so it arrives before the end of
 * afs-launch is seen. */
void guard_process_group(void)
{
	int self;

	if (guard_fd < 0)
		return;
	self = afs_pidfd_open(getpid());
	if (self < 0)
		die(EXIT_LAUNCH, "cannot name the sandbox's process group (pidfd_open): %m");
	tell(OP_GROUP, (uint32_t)getpgrp(), self);
	close(self);
}

/* In a child of afs-launch that runs a program of ours beside the
 * sandbox (afs-proxy), before it execs: it is killed if afs-launch ends
 * without guard_release.  Without an answer, as guard_process_group, and
 * named by a pidfd: once reaped, its number may be another process's. */
void guard_process(void)
{
	int self;

	if (guard_fd < 0)
		return;
	self = afs_pidfd_open(getpid());
	if (self < 0)
		die(EXIT_LAUNCH, "cannot name afs-launch's child (pidfd_open): %m");
	tell(OP_KILL, 0, self);
	close(self);
}

/* The sandbox's first process has ended (not yet reaped: its zombie
 * holds the group's number): no group to kill any more. */
void guard_forget_group(void)
{
	if (guard_fd >= 0)
		tell(OP_GROUP, 0, -1);
}

/* Everything is removed: tell the guardian, and wait for it. */
void guard_release(void)
{
	if (guard_fd < 0)
		return;
	tell(OP_DONE, 0, -1);
	close(guard_fd);
	guard_fd = -1;
	while (waitpid(guard_pid, NULL, 0) < 0 && errno == EINTR)
		;
}
