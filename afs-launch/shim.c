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
 * When it exits the kernel kills whatever else is left in the namespace,
 * so background jobs never outlive the command.
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

int shim_main(int argc, char **argv)
{
	struct shim_rlimit rl[] = {
		{ "as", RLIMIT_AS, 0, false },
		{ "nproc", RLIMIT_NPROC, 0, false },
		{ "cpu", RLIMIT_CPU, 0, false },
		{ "nofile", RLIMIT_NOFILE, 0, false },
		{ "fsize", RLIMIT_FSIZE, 0, false },
	};
	int exec_fd = -1, status_fd = -1, i, errpipe[2], st;
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
	argv += i + 1;

	if (exec_fd >= 0)
		close(exec_fd);
	if (fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0)
		die(EXIT_LAUNCH, "shim: bad status fd: %m");
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
