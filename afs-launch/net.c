/* net.c - the network allowlist (afs-launch(1) NETWORK): afs-proxy, our
 * child outside the sandbox with the host's network, and the socket pair
 * over which pid 1's relay (shim.c) hands it each connection made inside.
 *
 *   - network mode is decided once, before anything runs (net_decide):
 *     any --allow-host, or an allow rule in the network: section of the
 *     policy -s mounts with.  With --net (the host's whole network),
 *     under docker (no relay there), or a --net-max-* without it, it is a
 *     usage error: never a sandbox with more, or less, network than asked;
 *   - afs-proxy gets its end of the pair, the audit log and its ready
 *     pipe, and nothing else of ours (its stdin and stdout are
 *     /dev/null); it dies with afs-launch: PR_SET_PDEATHSIG, and the
 *     guardian, since dropping to --user clears PR_SET_PDEATHSIG;
 *   - the sandbox starts only once afs-proxy said "ready";
 *   - afs-launch closes its copy of the sandbox's end as soon as bwrap
 *     holds it, so that afs-proxy reads the end of the pair when the
 *     sandbox is gone;
 *   - it is stopped after the sandbox is reaped and before the exec
 *     record is written: the connect records come first in the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "netpolicy.h"
#include "policy.h"
#include "presets.h"
#include "util.h"

/* How long afs-proxy may take to serve; to end by itself once the sandbox
 * is gone (it then writes the records of its last connections); and to
 * end after SIGTERM. */
#define PROXY_READY_MS 10000
#define PROXY_LINGER_MS 1000
#define PROXY_STOP_MS 5000

static pid_t proxy_pid;
static bool proxy_serving;	/* it said "ready" */

/* An --allow-host, checked as afs-proxy will compile it. */
void net_check_spec(const char *spec)
{
	struct netpolicy np = { 0 };
	const char *err = NULL;
	int r = netpolicy_add_spec(&np, spec, false, "--allow-host", &err);

	netpolicy_free(&np);
	if (r != 0)
		die(EXIT_LAUNCH, "bad --allow-host: '%s' (%s)", spec, err ? err : "not a host");
}

/* Whether the network: section of the policy SPEC has an allow rule.  A
 * policy that does not load is afs-fuse's to report, which then refuses
 * to mount it (and the command never runs): no, without a word. */
static bool policy_allows(const char *spec)
{
	struct policy_opts popts = { .preset_dirs = preset_dirs() };
	struct policy *pol = NULL;
	const struct netpolicy *np;
	struct diags d;
	bool any = false;

	diags_init(&d);
	if (policy_load(spec, &popts, &pol, &d) == 0) {
		np = policy_network(pol);
		for (size_t i = 0; np && i < np->n && !any; i++)
			any = !np->v[i].deny;
		policy_free(pol);
	}
	diags_free(&d);
	return any;
}

void net_decide(struct launch *L)
{
	char *what = NULL;

	if (L->nallow > 0)
		what = xstrdup("--allow-host");
	else if (L->source && L->policy && policy_allows(L->policy))
		what = xasprintf("the network: section of the policy '%s'", L->policy);
	if (what && L->net)
		die(EXIT_LAUNCH, "--net and %s exclude each other", what);
	if (what && !L->rt->relay)
		die(EXIT_LAUNCH, "%s: not supported with --runtime %s (the allowlist needs "
		    "afs-launch's relay in the sandbox; use --runtime bwrap%s)", what, L->rt->name,
		    L->nallow > 0 ? ", or --net" : "");
	if (!what && (L->net_max_conn || L->net_max_bytes))
		die(EXIT_LAUNCH, "%s needs an allowlist (--allow-host, or allow rules in the "
		    "policy's network: section)",
		    L->net_max_conn ? "--net-max-connections" : "--net-max-bytes");
	L->allowlist = what != NULL;
	free(what);
}

/* FD as a new fd above 2 without FD_CLOEXEC (for a program we exec), or
 * die. */
static int pass_fd(int fd)
{
	int r = fcntl(fd, F_DUPFD, 3);

	if (r < 0)
		die(EXIT_LAUNCH, "cannot pass afs-proxy its files: %m");
	return r;
}

static void add_num(struct argv_buf *a, const char *opt, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	argv_add(a, opt);
	argv_add(a, buf);
}

/* In the child: afs-proxy's command line, and exec it.  Never returns. */
static void exec_proxy(const struct launch *L, const char *path, int relay, int ready,
		       pid_t parent)
{
	struct argv_buf a = { 0 };
	int audit = -1, null;

	child_setup(true);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
		_exit(EXIT_LAUNCH);
	guard_process();
	/* Every fd of ours closes at exec but these three, passed above 2
	 * (the caller may have closed one of 0, 1, 2). */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
		die(EXIT_LAUNCH, "close_range: %m");
	relay = pass_fd(relay);
	ready = pass_fd(ready);
	if (L->audit_fd >= 0)
		audit = pass_fd(L->audit_fd);
	/* Its messages go to our stderr; it reads and writes nothing else
	 * of the caller's, and holds no pipe of a pipeline open should it
	 * outlive us. */
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    (fcntl(2, F_GETFD) < 0 && dup2(null, 2) < 0))
		die(EXIT_LAUNCH, "cannot open /dev/null: %m");
	if (null > 2)
		close(null);

	argv_add(&a, "afs-proxy");
	add_num(&a, "--relay-fd", relay);
	if (L->source && L->policy) {
		argv_add(&a, "--policy");
		argv_add(&a, L->policy);
	}
	for (size_t i = 0; i < L->nallow; i++) {
		argv_add(&a, "--allow-host");
		argv_add(&a, L->allow[i]);
	}
	if (audit >= 0)
		add_num(&a, "--audit-fd", audit);
	if (L->name) {
		argv_add(&a, "--name");
		argv_add(&a, L->name);
	}
	if (L->session) {
		argv_add(&a, "--session");
		argv_add(&a, L->session);
	}
	if (L->net_max_conn) {
		argv_add(&a, "--max-connections");
		argv_add(&a, L->net_max_conn);
	}
	if (L->net_max_bytes) {
		argv_add(&a, "--max-bytes");
		argv_add(&a, L->net_max_bytes);
	}
	/* Started by root, it opens what it needs (the policy, which may be
	 * root's alone), then serves as the sandbox's user. */
	if (geteuid() == 0) {
		char *user = xasprintf("%ld:%ld", (long)L->uid, (long)L->gid);

		argv_add(&a, "--user");
		argv_add(&a, user);
		free(user);
	}
	add_num(&a, "--ready-fd", ready);
	execv(path, a.v);
	die(EXIT_LAUNCH, "cannot run '%s': %m", path);
}

/* WST as a status, as a shell shows it. */
static int status_of(int wst)
{
	return WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
}

int net_start(struct launch *L, int sigfd)
{
	char *path = find_program("afs-proxy", true);
	int sv[2], rp[2], r, wst;
	pid_t parent = getpid(), pid;

	if (!path) {
		error("cannot find afs-proxy beside afs-launch or on PATH");
		return -1;
	}
	/* The guardian first: afs-proxy announces itself to it. */
	guard_start();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		error("cannot make a socket pair: %m");
		free(path);
		return -1;
	}
	if (pipe2(rp, O_CLOEXEC) != 0) {
		error("cannot make a pipe: %m");
		close(sv[0]);
		close(sv[1]);
		free(path);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		error("cannot fork: %m");
		close(sv[0]);
		close(sv[1]);
		close(rp[0]);
		close(rp[1]);
		free(path);
		return -1;
	}
	if (pid == 0)
		exec_proxy(L, path, sv[0], rp[1], parent);
	free(path);
	close(sv[0]);
	close(rp[1]);
	proxy_pid = pid;
	/* Never on 0, 1 or 2: the bwrap child puts the command's stdio
	 * there before it passes this on. */
	L->relay_fd = sv[1];
	if (L->relay_fd <= 2) {
		L->relay_fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
		close(sv[1]);
		if (L->relay_fd < 0) {
			error("cannot keep the relay's socket: %m");
			close(rp[0]);
			return -1;
		}
	}

	r = await_ready(rp[0], sigfd, mono_ms() + PROXY_READY_MS);
	close(rp[0]);
	switch (r) {
	case READY_OK:
		proxy_serving = true;
		return 0;
	case READY_EOF:
		/* afs-proxy said why; it is gone. */
		while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
			;
		proxy_pid = 0;
		error("afs-proxy could not start (it exited with status %d)", status_of(wst));
		return -1;
	case READY_LATE:
		error("afs-proxy did not start within %d s", PROXY_READY_MS / 1000);
		return -1;
	case READY_ERROR:
		error("cannot wait for afs-proxy: %m");
		return -1;
	default:
		return r;	/* a signal */
	}
}

/* The sandbox holds its end of the pair now (or never will): ours goes. */
void net_handed(struct launch *L)
{
	if (L->relay_fd >= 0) {
		close(L->relay_fd);
		L->relay_fd = -1;
	}
}

/* Reap PID within MS milliseconds: PID, 0 when it is still running, or -1. */
static pid_t reap_within(pid_t pid, int *wst, int ms)
{
	pid_t r = 0;

	for (int i = 0; i <= ms / 5; i++) {
		r = waitpid(pid, wst, WNOHANG);
		if (r != 0 && !(r < 0 && errno == EINTR))
			return r;
		sleep_ms(5);
	}
	return 0;
}

int net_stop(struct launch *L)
{
	int wst = 0, status = 0;
	pid_t r;

	net_handed(L);
	if (proxy_pid <= 0)
		return 0;
	/* With the sandbox gone, the pair has ended: afs-proxy ends once its
	 * last connections have, with their records.  One that lingers is
	 * told to stop, then killed.  One that never served (said) is
	 * stopped at once, and how it ends is no news. */
	r = proxy_serving ? reap_within(proxy_pid, &wst, PROXY_LINGER_MS) : 0;
	if (r == 0) {
		kill(proxy_pid, SIGTERM);
		r = reap_within(proxy_pid, &wst, PROXY_STOP_MS);
	}
	if (r == 0) {
		error("afs-proxy did not stop within %d s; killing it",
		      (PROXY_LINGER_MS + PROXY_STOP_MS) / 1000);
		kill(proxy_pid, SIGKILL);
		while (waitpid(proxy_pid, &wst, 0) < 0 && errno == EINTR)
			;
		status = -1;
	} else if (r > 0 && proxy_serving && !(WIFEXITED(wst) && WEXITSTATUS(wst) == 0)) {
		error("afs-proxy ended with status %d", status_of(wst));
		status = -1;
	}
	proxy_pid = 0;
	proxy_serving = false;
	return status;
}
