/* shim.c - pid 1 of a bwrap sandbox.
 *
 * bwrap executes afs-launch's own binary (through /proc/self/fd/N, so that
 * nothing of it is bound into the sandbox) as the first process of the new
 * pid namespace (--as-pid-1).  It then:
 *
 *   MUST close the binary's fd and make itself non-dumpable, so that the
 *        command (same uid) can neither read that fd nor ptrace pid 1;
 *   MUST end with no capability in any set and no_new_privs on, and refuse
 *        to run the command otherwise;
 *   MUST set the rlimits in the command's process only, after the user
 *        namespace exists: RLIMIT_NPROC then counts the processes of the
 *        sandbox's uid in this namespace, not the caller's others;
 *   MUST pass SIGTERM, SIGINT, SIGHUP and SIGQUIT from afs-launch on to every
 *        process of the sandbox (kill(-1) from pid 1 reaches them all);
 *   MUST say "ready" once those signals are caught (before, the kernel
 *        would drop them: init of a pid namespace without a handler);
 *   MUST report how the command ended (exit status, signal, or the errno of
 *        a failed exec) on the status fd, so that afs-launch can tell an
 *        exit 137 from a SIGKILL and a missing command from an exit 127.
 *
 * With relay-fd=N (network mode, afs-launch(1) NETWORK; N is the
 * sandbox's end of a socket pair whose other end afs-proxy holds,
 * outside), before the command starts, it listens on 127.0.0.1:PORT (and
 * [::1]:PORT where the sandbox has IPv6) and forks the relay.  Pid 1:
 *
 *   MUST listen before the command starts, so that its first connection
 *        finds the proxy;
 *   MUST keep the listeners and N from the command (each is O_CLOEXEC and
 *        closed in pid 1 once the relay has them): nothing in the sandbox
 *        but the relay can take a connection meant for the proxy, or hand
 *        afs-proxy a socket of its own making;
 *   MUST report only the command's end, whatever becomes of the relay (it
 *        is reaped as any other process is, never taken for the command).
 *
 * The relay:
 *
 *   MUST hand each connection it accepts to afs-proxy, one per message
 *        (SCM_RIGHTS), with "PID COMM" of the process that made it as the
 *        sandbox sees it ("0 -" when it is not found cheaply), and keep
 *        nothing: it never reads or writes a byte of a connection;
 *   MUST outlive a SIGTERM, SIGINT, SIGHUP or SIGQUIT that pid 1 passes on
 *        to every process (an interactive Ctrl-C ends the command, not the
 *        network), in a session of its own, with no terminal;
 *   MUST stay non-dumpable, with no capability (it never execs: what pid 1
 *        made itself holds), so that the command cannot take N from it;
 *   MUST end when afs-proxy is gone (the pair's end) or pid 1 is
 *        (PR_SET_PDEATHSIG; the kernel ends the namespace anyway).
 *
 * When it exits the kernel kills whatever else is left in the namespace,
 * so background jobs never outlive the command.
 */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

static const int fwd_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD };

static void on_signal(int sig)
{
	/* Never runs: the signals are blocked and taken by sigwaitinfo().  A
	 * handler must exist all the same, or the kernel drops signals sent
	 * from outside the namespace to its init. */
	(void)sig;
}

struct shim_rlimit {
	const char *key;
	int resource;
	rlim_t value;
	bool set;
};

static long long shim_num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		die(EXIT_LAUNCH, "shim: bad number '%s'", s);
	return v;
}

static void report(int fd, const char *what, int value)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %d\n", what, value);

	/* The reader is afs-launch, outside; a lost report shows there as
	 * "the sandbox ended without a status". */
	if (write(fd, line, (size_t)n) != n)
		_exit(EXIT_LAUNCH);
}

static void drop_capabilities(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	/* The bounding set can only be shrunk with CAP_SETPCAP, which bwrap
	 * has already taken away together with the whole set; apply the
	 * permitted/effective/inheritable part, then check everything. */
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		die(EXIT_LAUNCH, "cannot drop capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		die(EXIT_LAUNCH, "cannot clear the ambient capabilities: %m");
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE)
		die(EXIT_LAUNCH, "capabilities remain in the sandbox; refusing to run");
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			die(EXIT_LAUNCH, "an ambient capability remains; refusing to run");
}

/* Finding who made a connection reads /proc/net/tcp{,6} and the fds of
 * the sandbox's processes, whose number the command controls: at most
 * this many lines, and this many processes and fds together, per
 * connection.  Past that the maker is unknown ("0 -"): a name in an audit
 * record, never a reason to refuse. */
#define RELAY_MAX_LINES 16384
#define RELAY_MAX_FDS 16384
/* listen(2)'s backlog: connections made while the relay hands one on. */
#define RELAY_BACKLOG 128

/* A listener on the loopback address of FAMILY, PORT; or -1 (errno). */
static int relay_listen(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
		/* IPv6 only: the IPv4 listener is the other one. */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, RELAY_BACKLOG) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The inode of the socket whose local address is PEER and whose remote
 * port is PORT (the other end of a connection we accepted), from
 * /proc/net/tcp or tcp6 of the sandbox's network namespace; or 0.  The
 * kernel writes an address as its 32-bit words in hex, in memory order. */
static unsigned long relay_peer_inode(const struct sockaddr_storage *peer, int port)
{
	bool v6 = peer->ss_family == AF_INET6;
	char want[40], line[512], laddr[40];
	unsigned long inode = 0, ino;
	unsigned lport, lp, rp;
	FILE *f;

	if (v6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		uint32_t w[4];

		memcpy(w, &in6->sin6_addr, sizeof(w));
		snprintf(want, sizeof(want), "%08X%08X%08X%08X", w[0], w[1], w[2], w[3]);
		lport = ntohs(in6->sin6_port);
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;

		snprintf(want, sizeof(want), "%08X", in->sin_addr.s_addr);
		lport = ntohs(in->sin_port);
	}
	f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "re");
	if (!f)
		return 0;
	for (int n = 0; n < RELAY_MAX_LINES && fgets(line, sizeof(line), f); n++) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %*x %*s %*s %*s %*u %*d %lu",
			   laddr, &lp, &rp, &ino) == 4 &&
		    lp == lport && rp == (unsigned)port && ino && strcasecmp(laddr, want) == 0) {
			inode = ino;
			break;
		}
	}
	fclose(f);
	return inode;
}

/* A process of the sandbox that holds socket INODE, or 0. */
static pid_t relay_holder(unsigned long inode)
{
	char want[48], path[64], link[48];
	size_t wlen, budget = RELAY_MAX_FDS;
	pid_t self = getpid(), found = 0;
	struct dirent *e;
	DIR *proc = opendir("/proc");

	if (!proc)
		return 0;
	wlen = (size_t)snprintf(want, sizeof(want), "socket:[%lu]", inode);
	while (!found && budget > 0 && (e = readdir(proc))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		struct dirent *fe;
		DIR *fds;
		int dfd;

		if (*end || pid <= 1 || pid == self)
			continue;
		budget--;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		fds = fdopendir(dfd);
		if (!fds) {
			close(dfd);
			continue;
		}
		while (budget > 0 && (fe = readdir(fds))) {
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			budget--;
			n = readlinkat(dfd, fe->d_name, link, sizeof(link));
			if (n == (ssize_t)wlen && memcmp(link, want, wlen) == 0) {
				found = (pid_t)pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* "PID COMM" of the process that made connection FD, or "0 -". */
static void relay_peer(int fd, int port, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char path[64], comm[TASK_COMM_LEN + 16];
	unsigned long inode;
	pid_t pid;
	ssize_t n;

	snprintf(out, size, "0 -");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	inode = relay_peer_inode(&ss, port);
	if (!inode || !(pid = relay_holder(inode)))
		return;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	n = read_small(path, comm, sizeof(comm));
	if (n > 0 && comm[n - 1] == '\n')
		comm[--n] = '\0';
	snprintf(out, size, "%ld %s", (long)pid, n > 0 ? comm : "-");
}

/* CONN and MSG to afs-proxy, in one message.  0, or -errno. */
static int relay_hand(int sock, int conn, const char *msg)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &conn, sizeof(int));
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

/* The relay's loop: accept, hand on, close; until afs-proxy is gone. */
static void __attribute__((noreturn)) relay_run(int sock, const int *lfd, size_t nl, int port)
{
	for (;;) {
		struct pollfd p[3] = { { .fd = sock, .events = 0 } };
		char msg[64];

		for (size_t i = 0; i < nl; i++)
			p[1 + i] = (struct pollfd){ .fd = lfd[i], .events = POLLIN };
		if (poll(p, (nfds_t)(1 + nl), -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_LAUNCH);
		}
		/* afs-proxy closed its end. */
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			_exit(0);
		for (size_t i = 0; i < nl; i++) {
			int conn, r;

			if (!(p[1 + i].revents & POLLIN))
				continue;
			conn = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0) {
				/* Out of fds or memory: the backlog waits. */
				if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
				    errno == ENOMEM)
					sleep_ms(10);
				continue;
			}
			relay_peer(conn, port, msg, sizeof(msg));
			r = relay_hand(sock, conn, msg);
			/* afs-proxy holds it now; one that could not be
			 * handed on (too many in flight) is refused. */
			close(conn);
			if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED)
				_exit(0);
		}
	}
}

/* In the relay, just forked from pid 1 (its signals blocked and caught). */
static void __attribute__((noreturn)) relay_main(int sock, int *lfd, size_t nl, int port,
						 const sigset_t *old)
{
	static const int ignored[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	int keep[3], null;

	/* Ignored before unblocked: one already pending is dropped. */
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
		signal(ignored[i], SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != 1)
		_exit(EXIT_LAUNCH);
	(void)setsid();
	(void)prctl(PR_SET_NAME, "afs-relay", 0, 0, 0);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		_exit(EXIT_LAUNCH);
	keep[0] = sock;
	for (size_t i = 0; i < nl; i++)
		keep[1 + i] = lfd[i];
	close_except(keep, 1 + nl);
	relay_run(sock, lfd, nl, port);
}

/* Listen on the loopback addresses, and fork the relay; pid 1 keeps
 * neither the listeners nor SOCK.  Dies (125) when 127.0.0.1:PORT cannot
 * be had: the command would have no way out. */
static void relay_start(int sock, int port, const sigset_t *old)
{
	int lfd[2];
	size_t nl = 0;
	pid_t pid;

	lfd[nl] = relay_listen(AF_INET, port);
	if (lfd[nl] < 0)
		die(EXIT_LAUNCH, "cannot listen on 127.0.0.1:%d: %m", port);
	nl++;
	lfd[nl] = relay_listen(AF_INET6, port);
	if (lfd[nl] >= 0)
		nl++;
	else if (errno != EADDRNOTAVAIL && errno != EAFNOSUPPORT)
		die(EXIT_LAUNCH, "cannot listen on [::1]:%d: %m", port);
	pid = fork();
	if (pid < 0)
		die(EXIT_LAUNCH, "cannot start the relay: %m");
	if (pid == 0)
		relay_main(sock, lfd, nl, port, old);
	for (size_t i = 0; i < nl; i++)
		close(lfd[i]);
	close(sock);
}

int shim_main(int argc, char **argv)
{
	struct shim_rlimit rl[] = {
		{ "as", RLIMIT_AS, 0, false },
		{ "nproc", RLIMIT_NPROC, 0, false },
		{ "cpu", RLIMIT_CPU, 0, false },
		{ "nofile", RLIMIT_NOFILE, 0, false },
		{ "fsize", RLIMIT_FSIZE, 0, false },
	};
	int exec_fd = -1, status_fd = -1, relay_fd = -1, relay_port = 0, i, errpipe[2], st;
	sigset_t set, old;
	pid_t child;

	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char *eq = strchr(argv[i], '=');
		size_t j;

		if (!eq)
			die(EXIT_LAUNCH, "shim: bad argument '%s'", argv[i]);
		*eq++ = '\0';
		if (strcmp(argv[i], "exec-fd") == 0) {
			exec_fd = (int)shim_num(eq);
			continue;
		}
		if (strcmp(argv[i], "status-fd") == 0) {
			status_fd = (int)shim_num(eq);
			continue;
		}
		if (strcmp(argv[i], "relay-fd") == 0) {
			relay_fd = (int)shim_num(eq);
			continue;
		}
		if (strcmp(argv[i], "relay-port") == 0) {
			relay_port = (int)shim_num(eq);
			continue;
		}
		for (j = 0; j < ARRAY_SIZE(rl); j++)
			if (strcmp(argv[i], rl[j].key) == 0)
				break;
		if (j == ARRAY_SIZE(rl))
			die(EXIT_LAUNCH, "shim: unknown limit '%s'", argv[i]);
		rl[j].value = (rlim_t)shim_num(eq);
		rl[j].set = true;
	}
	if (i + 1 >= argc || status_fd < 0)
		die(EXIT_LAUNCH, "shim: no command");
	if (relay_fd >= 0 && (relay_port < 1 || relay_port > 65535))
		die(EXIT_LAUNCH, "shim: relay-fd needs relay-port");
	argv += i + 1;

	if (exec_fd >= 0)
		close(exec_fd);
	if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0)
		die(EXIT_LAUNCH, "shim: bad status fd: %m");
	if (relay_fd >= 0 && fcntl(relay_fd, F_SETFD, FD_CLOEXEC) != 0)
		die(EXIT_LAUNCH, "shim: bad relay fd: %m");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die(EXIT_LAUNCH, "cannot make the sandbox's init non-dumpable: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die(EXIT_LAUNCH, "cannot set no_new_privs: %m");
	drop_capabilities();

	sigemptyset(&set);
	for (i = 0; i < (int)ARRAY_SIZE(fwd_signals); i++) {
		struct sigaction sa = { .sa_handler = on_signal };

		sigaddset(&set, fwd_signals[i]);
		sigaction(fwd_signals[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	/* From now on a signal from afs-launch is taken, not dropped: say so,
	 * and afs-launch holds back any it has to send until then. */
	report(status_fd, "ready", 1);
	if (relay_fd >= 0)
		relay_start(relay_fd, relay_port, &old);

	if (pipe2(errpipe, O_CLOEXEC) != 0)
		die(EXIT_LAUNCH, "shim: pipe: %m");
	child = fork();
	if (child < 0)
		die(EXIT_LAUNCH, "cannot start the command: %m");
	if (child == 0) {
		int err;

		for (i = 0; i < (int)ARRAY_SIZE(fwd_signals); i++)
			signal(fwd_signals[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		for (size_t j = 0; j < ARRAY_SIZE(rl); j++) {
			struct rlimit r = { rl[j].value, rl[j].value };

			if (!rl[j].set)
				continue;
			/* RLIMIT_CPU: SIGXCPU at the soft limit, and a
			 * SIGKILL one second later for a program that
			 * ignores it. */
			if (rl[j].resource == RLIMIT_CPU)
				r.rlim_max = r.rlim_cur + 1;
			if (setrlimit(rl[j].resource, &r) != 0) {
				err = errno;
				fprintf(stderr, "afs-launch: cannot set the %s limit: %s\n",
					rl[j].key, strerror(err));
				_exit(EXIT_LAUNCH);
			}
		}
		/* bwrap sets PWD for --chdir; the environment is exactly
		 * what afs-launch built. */
		unsetenv("PWD");
		execvp(argv[0], argv);
		err = errno;
		if (write(errpipe[1], &err, sizeof(err)) != sizeof(err))
			_exit(EXIT_LAUNCH);
		_exit(EXIT_NOTFOUND);
	}
	close(errpipe[1]);
	{
		int err;
		ssize_t n;

		do
			n = read(errpipe[0], &err, sizeof(err));
		while (n < 0 && errno == EINTR);
		if (n == sizeof(err)) {
			fprintf(stderr, "afs-launch: cannot run '%s': %s\n", argv[0],
				strerror(err));
			report(status_fd, "exec", err);
			return 0;
		}
		close(errpipe[0]);
	}

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(-1, sig);
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			if (p != child)
				continue;
			if (WIFSIGNALED(st))
				report(status_fd, "signal", WTERMSIG(st));
			else
				report(status_fd, "exit", WEXITSTATUS(st));
			return 0;
		}
	}
}
