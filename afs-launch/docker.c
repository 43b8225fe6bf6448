/* docker.c - the docker runtime, through the docker client.
 *
 * Why the client and not the Engine API on the socket: the client is the
 * interface docker keeps stable for users; it negotiates the API version,
 * finds the daemon as the user configured it (DOCKER_HOST, contexts), and
 * demultiplexes the attached stdout and stderr byte-exact.  Doing that
 * over the socket would be a few hundred lines of HTTP and stream framing
 * in afs-launch for no gain in what the sandbox enforces: the isolation
 * is the same set of `docker run` flags either way.
 *
 * The container MUST be removed whatever happens: it is named, run
 * without --rm (its state is read after it ends: OOMKilled, exit code),
 * and removed with `docker rm -f` by afs-launch, or by its guardian if
 * afs-launch is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

extern char **environ;


static void add2(struct argv_buf *a, const char *opt, const char *val)
{
	argv_add(a, opt);
	argv_add(a, val);
}

/* How a container of ours is removed: by afs-launch at the end, or by
 * its guardian. */
#define RM_ARGV(name) { "docker", "rm", "-f", (name), NULL }

/* The container's name, announced to the guardian with the command that
 * removes it, before `docker run` can make it. */
static void docker_prepare(const struct launch *L, struct sandbox *sb)
{
	struct timespec ts;

	(void)L;
	clock_gettime(CLOCK_REALTIME, &ts);
	sb->name = xasprintf("afs-launch-%ld-%lx", (long)getpid(),
			     (unsigned long)(ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20)));
	guard_undo((const char *const[])RM_ARGV(sb->name));
}

static void docker_remove(struct sandbox *sb)
{
	const char *argv[] = RM_ARGV(sb->name);

	if (sb->name)
		(void)run_quiet(argv, NULL, 0);
	free(sb->name);
	sb->name = NULL;
}

static void docker_signal(struct sandbox *sb, int sig)
{
	char signame[32];
	const char *argv[] = { "docker", "kill", "--signal", signame, sb->name, NULL };
	const char *abbrev = sigabbrev_np(sig);

	snprintf(signame, sizeof(signame), "SIG%s", abbrev ? abbrev : "KILL");
	(void)run_quiet(argv, NULL, 0);
	/* And the client, should it not end with its container. */
	if (sig == SIGKILL)
		kill(sb->pid, SIGKILL);
}

/* The container's own account of how it ended. */
static void docker_finish(struct sandbox *sb, bool killed, struct outcome *oc)
{
	const char *argv[] = { "docker", "inspect", "--format",
			       "{{.State.ExitCode}} {{.State.OOMKilled}} {{.State.StartedAt}}",
			       sb->name, NULL };
	char out[256], oom[16] = "", started[64] = "";
	int code;

	(void)killed;	/* docker says how the container ended */
	if (run_quiet(argv, out, sizeof(out)) != 0 ||
	    sscanf(out, "%d %15s %63s", &code, oom, started) < 2)
		return;		/* no container: `docker run` itself failed */
	/* Never started: the image has no such command (127), or it is
	 * not executable (126); the client said which. */
	if (strncmp(started, "0001-", 5) == 0 && code != 127 && code != 126)
		return;
	oc->reported = true;
	oc->exit_code = code;
	if (strcmp(oom, "true") == 0 && code != 0) {
		/* Something in the container was killed for memory; the
		 * command too, when docker-init says SIGKILL. */
		oc->limit = "memory";
		if (code == 128 + SIGKILL) {
			oc->exit_code = 0;
			oc->signal = SIGKILL;
		}
	} else if ((oc->timed_out || oc->interrupted) && code > 128 && code < 128 + 65) {
		/* We sent it: docker only tells 128+N. */
		oc->exit_code = 0;
		oc->signal = code - 128;
	}
}

/* Is the mount that holds DIR (a real path) shared or a slave? */
static bool mount_propagates(const char *dir)
{
	char line[8192];
	size_t best = 0;
	bool res = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *mp = NULL;
		bool prop = false;
		int i = 0;
		size_t n;

		for (tok = strtok_r(line, " ", &save); tok && strcmp(tok, "-") != 0;
		     tok = strtok_r(NULL, " ", &save), i++) {
			if (i == 4)
				mp = tok;
			if (i >= 6 && (strncmp(tok, "shared:", 7) == 0 ||
				       strncmp(tok, "master:", 7) == 0))
				prop = true;
		}
		if (!mp)
			continue;
		/* Mount points with spaces are octal-escaped there; such a
		 * one simply does not match, and rprivate is used. */
		n = strlen(mp);
		if (strncmp(dir, mp, n) == 0 && (dir[n] == '/' || dir[n] == '\0' || n == 1) &&
		    n >= best) {
			best = n;
			res = prop;
		}
	}
	fclose(f);
	return res;
}

/* Variables the docker client itself reads (its config, its daemon):
 * the sandbox's values for them go on the command line instead.  The
 * sandbox's fixed ones (PATH, HOME, LANG, TERM) are no secret. */
static bool client_var(const char *kv)
{
	static const char *const names[] = { "PATH=", "HOME=", "LANG=", "TERM=", "DOCKER_",
					      "XDG_", "LD_", "SSL_", "HTTP_PROXY=", "HTTPS_PROXY=",
					      "NO_PROXY=", "http_proxy=", "https_proxy=",
					      "no_proxy=" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* The docker client's environment: the caller's (DOCKER_HOST, HOME with
 * its ~/.docker, and the like), with the sandbox's other variables on
 * top; `--env NAME` then takes each value from it, so that no value of
 * an -e shows on a command line in ps. */
static char **client_env(const struct launch *L)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (L->envp[m])
		m++;
	env = xcalloc(n + m + 1, sizeof(*env));
	for (i = 0, j = 0; i < n; i++) {
		size_t k = strcspn(environ[i], "=");
		bool over = false;

		for (size_t e = 0; e < m; e++)
			if (!client_var(L->envp[e]) && strncmp(L->envp[e], environ[i], k + 1) == 0)
				over = true;
		if (!over)
			env[j++] = environ[i];
	}
	for (i = 0; i < m; i++)
		if (!client_var(L->envp[i]))
			env[j++] = L->envp[i];
	return env;
}

static int docker_start(const struct launch *L, const struct workspace *ws, struct sandbox *sb)
{
	struct stdio_pipes io;
	struct argv_buf a = { 0 };
	char buf[256];
	pid_t parent = getpid(), pid;

	add2(&a, "docker", "run");
	add2(&a, "--name", sb->name);
	argv_add(&a, "--init");
	argv_add(&a, "--interactive");
	add2(&a, "--log-driver", "none");
	if (!L->net)
		add2(&a, "--network", "none");
	add2(&a, "--cap-drop", "ALL");
	add2(&a, "--security-opt", "no-new-privileges");
	/* A cgroup namespace of its own, as under bwrap: docker's default
	 * on a cgroup v1 host is the host's, which shows the container its
	 * place in the host's hierarchy (tests/t5009). */
	add2(&a, "--cgroupns", "private");
	/* Docker's default profile, unless --seccomp off. */
	if (L->no_seccomp)
		add2(&a, "--security-opt", "seccomp=unconfined");
	snprintf(buf, sizeof(buf), "%ld:%ld", (long)L->uid, (long)L->gid);
	add2(&a, "--user", buf);
	add2(&a, "--hostname", "afs");
	argv_add(&a, "--read-only");
	/* /tmp keeps the image's mode (1777 in any usual image: docker
	 * copies it up); HOME must be writable by a uid the image may not
	 * know, and a tmpfs mount cannot be given an owner here: sticky and
	 * world-writable, in a container of one uid. */
	add2(&a, "--tmpfs", "/tmp:rw,nosuid,nodev");
	add2(&a, "--mount", "type=tmpfs,destination=/home/sandbox,tmpfs-mode=1777");
	{
		/* rslave, so that what happens to the mount outside reaches
		 * the container; docker accepts it only from a shared or
		 * slave mount, which ours is when we could make it so. */
		char *m = xasprintf("type=bind,source=%s,target=/workspace%s", ws->dir,
				    mount_propagates(ws->dir) ? ",bind-propagation=rslave" : "");

		add2(&a, "--mount", m);
		free(m);
	}
	if (L->session_dir) {
		char *m = xasprintf("type=bind,source=%s,target=/run/afs-session", L->session_dir);

		add2(&a, "--mount", m);
		free(m);
	}
	/* The image's own /etc, and what --etc adds of the host's. */
	for (size_t i = 0; i < L->netc; i++) {
		char *m = xasprintf("type=bind,source=/etc/%s,target=/etc/%s,readonly",
				    L->etc[i], L->etc[i]);

		add2(&a, "--mount", m);
		free(m);
	}
	if (L->tty)
		argv_add(&a, "--tty");
	add2(&a, "--workdir", L->workdir);
	for (size_t i = 0; L->envp[i]; i++) {
		char *name = xstrndup(L->envp[i], strcspn(L->envp[i], "="));

		add2(&a, "--env", client_var(L->envp[i]) ? L->envp[i] : name);
		free(name);
	}
	if (L->lim.memory) {
		snprintf(buf, sizeof(buf), "%lld", (long long)L->lim.memory);
		add2(&a, "--memory", buf);
		add2(&a, "--memory-swap", buf);	/* no swap beyond it */
	}
	if (L->lim.pids) {
		snprintf(buf, sizeof(buf), "%ld", L->lim.pids + 1);	/* + docker-init */
		add2(&a, "--pids-limit", buf);
	}
	if (L->lim.millicpus) {
		snprintf(buf, sizeof(buf), "%ld.%03ld", L->lim.millicpus / 1000,
			 L->lim.millicpus % 1000);
		add2(&a, "--cpus", buf);
	}
	if (L->lim.cpu_time) {
		snprintf(buf, sizeof(buf), "cpu=%ld:%ld", L->lim.cpu_time, L->lim.cpu_time + 1);
		add2(&a, "--ulimit", buf);
	}
	if (L->lim.nofile) {
		snprintf(buf, sizeof(buf), "nofile=%ld:%ld", L->lim.nofile, L->lim.nofile);
		add2(&a, "--ulimit", buf);
	}
	if (L->lim.fsize) {
		snprintf(buf, sizeof(buf), "fsize=%lld:%lld", (long long)L->lim.fsize,
			 (long long)L->lim.fsize);
		add2(&a, "--ulimit", buf);
	}
	argv_add(&a, "--");
	argv_add(&a, L->image);
	for (size_t i = 0; L->argv[i]; i++)
		argv_add(&a, L->argv[i]);

	if (stdio_make(L, &io) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		error("cannot fork: %m");
		return -1;
	}
	if (pid == 0) {
		child_setup(!L->tty);
		stdio_child(&io);
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
			die(EXIT_LAUNCH, "close_range: %m");
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
			_exit(EXIT_LAUNCH);
		execvpe("docker", a.v, client_env(L));
		die(EXIT_LAUNCH, "cannot run docker: %m");
	}
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	stdio_parent(&io, sb);
	sb->pid = pid;
	return 0;
}

/* No report pipes: the container's state is read at the end. */
static void docker_reported(struct sandbox *sb)
{
	(void)sb;
}

const struct runtime_ops docker_runtime = {
	.name = "docker",
	.image = true,
	.min_memory = 6 << 20,	/* docker refuses less */
	.bind_by_daemon = true,
	.prepare = docker_prepare,
	.start = docker_start,
	.signal = docker_signal,
	.reported = docker_reported,
	.finish = docker_finish,
	.remove = docker_remove,
};
