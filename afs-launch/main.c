/* afs-launch - run one command in a sandbox over a codebase.
 *
 * This file reads the command line, then: the runtime (bwrap.c or
 * docker.c, through struct runtime_ops) prepares, workspace.c makes the
 * mount, the runtime starts the sandbox, run.c waits for it (timeout,
 * outcome), and all is removed; shim.c is the same binary run as pid 1
 * inside a bwrap sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "launch.h"
#include "trust.h"
#include "result.h"
#include "launchopts.h"
#include "util.h"

#ifndef AFS_VERSION
#define AFS_VERSION "0.0.0"
#endif

#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
#define DEFAULT_MAX_OUTPUT (16 << 20)
/* An -e list is a command line's worth at most. */
#define MAX_ENV 4096
/* --etc names: each is a bind mount, and bwrap's command line is bounded. */
#define MAX_ETC 256
/* --allow-host: a rule each, bounded as a policy's (afs-proxy's command
 * line holds them). */
#define MAX_ALLOW 1024

extern char **environ;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afs-launch [OPTIONS] (-m DIR | -s DIR) [--] COMMAND [ARG...]\n"
		"       afs-launch [OPTIONS] (-m DIR | -s DIR) -c 'SHELL STRING' [ARG0 ARG...]\n"
		"\n"
		"Workspace (at /workspace in the sandbox):\n"
		"  -m, --mount DIR        bind DIR (an afs-fuse mount, or any directory)\n"
		"  -s, --source DIR       mount DIR through afs-fuse for this run only\n"
		"  -p, --policy FILE|PRESET   with -s: the policy\n"
		"  -d, --delta DIR        with -s: keep the writes in DIR (default: dropped)\n"
		"      --delta-quota SIZE with -s: at most SIZE of data in the delta\n"
		"  -a, --audit FILE       the audit log (with -s: afs-fuse's too); an exec\n"
		"                         record is appended for the command\n"
		"      --name NAME        the mount's name in audit records\n"
		"  -w, --workdir DIR      the command's directory (default /workspace)\n"
		"Sandbox:\n"
		"      --runtime bwrap|docker   (default bwrap)\n"
		"      --image IMAGE      the docker image (docker only)\n"
		"      --uid UID, --gid GID     the sandbox's (default: 65534 when run as\n"
		"                         root, else the caller's)\n"
		"  -e, --env K=V | K      add K to the environment (K: the caller's value)\n"
		"      --net              the host's whole network\n"
		"      --allow-host PATTERN[:PORTS]   only these hosts, through afs-proxy\n"
		"                         (repeatable; or a policy's network: section)\n"
		"      --net-max-connections N, --net-max-bytes SIZE   afs-proxy's limits\n"
		"      --etc NAME         also bind the host's /etc/NAME, read-only (repeatable)\n"
		"      --seccomp on|off   the system call filter (default on; off is recorded)\n"
		"      --tty              keep the controlling terminal (afs-session's pty;\n"
		"                         see afs-launch(1) on TIOCSTI)\n"
		"      --session-dir DIR  bind DIR at /run/afs-session (afs-session)\n"
		"Limits:\n"
		"      --memory SIZE      memory (K, M, G suffixes)\n"
		"      --pids N           processes and threads\n"
		"      --cpus X           CPU share (needs a cgroup, or docker)\n"
		"      --cpu-time SECONDS CPU time per process\n"
		"      --nofile N         open files per process\n"
		"      --fsize SIZE       largest file a process may write\n"
		"  -t, --timeout SECONDS  SIGTERM to the sandbox after SECONDS (exit 124)\n"
		"      --kill-after SECONDS   then SIGKILL (default 5)\n"
		"Result:\n"
		"      --json             print one JSON object with the exit status and\n"
		"                         the captured stdout and stderr\n"
		"      --max-output SIZE  keep at most SIZE of each (default 16M)\n"
		"      --doctor           check what afs needs on this machine, and exit\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"Exit status: the command's; 124 timed out; 125 afs-launch failed;\n"
		"126 not executable; 127 not found; 128+N killed by signal N.\n"
		"See afs-launch(1).\n");
}

/* A whole number in [MIN, MAX]. */
static long long parse_num(const char *s, const char *what, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die(EXIT_LAUNCH, "bad %s: '%s' (a whole number from %lld to %lld)", what, s, min,
		    max);
	return v;
}

/* A size, or die with a usage error (afs-launch's status 125). */
static int64_t parse_size(const char *s, const char *what)
{
	int64_t v = parse_size_bytes(s);

	if (v <= 0)
		die(EXIT_LAUNCH, "bad %s: '%s' (a size such as 512K, 64M or 2G)", what, s);
	return v;
}

/* Seconds, with a fraction and an s, m, h or d suffix; in milliseconds. */
static int64_t parse_seconds(const char *s, const char *what, bool zero_ok)
{
	int64_t ms = parse_duration_ms(s);

	if (ms < 0 || (!zero_ok && ms == 0))
		die(EXIT_LAUNCH, "bad %s: '%s' (seconds, such as 10, 1.5 or 2m)", what, s);
	return ms;
}

/* X CPUs, to three decimals. */
static long parse_cpus(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0.001 || v > 1024)
		die(EXIT_LAUNCH, "bad --cpus: '%s' (a number of CPUs from 0.001 to 1024)", s);
	return lround(v * 1000);
}

/* Set NAME=VALUE in the environment being built (replacing NAME). */
static void env_set(char ***env, size_t *n, const char *name, size_t nlen, const char *value)
{
	char *kv = xasprintf("%.*s=%s", (int)nlen, name, value);

	for (size_t i = 0; i < *n; i++)
		if (strncmp((*env)[i], kv, nlen + 1) == 0) {
			free((*env)[i]);
			(*env)[i] = kv;
			return;
		}
	*env = xreallocarray(*env, *n + 2, sizeof(**env));
	(*env)[(*n)++] = kv;
	(*env)[*n] = NULL;
}

/* PATH, HOME, LANG and TERM, then each -e in order, then, in network
 * mode, the proxy variables (over an -e of the same name: the relay is the
 * only way out).  Nothing else of the caller's environment gets in. */
static char **build_env(const char **given, size_t ngiven, bool proxy)
{
	static const char *const passed[] = { "LANG", "TERM" };
	char **env = NULL;
	size_t n = 0;

	env_set(&env, &n, "PATH", 4, SANDBOX_PATH);
	env_set(&env, &n, "HOME", 4, "/home/sandbox");
	for (size_t i = 0; i < ARRAY_SIZE(passed); i++) {
		const char *v = getenv(passed[i]);

		if (v)
			env_set(&env, &n, passed[i], strlen(passed[i]), v);
	}
	for (size_t i = 0; i < ngiven; i++) {
		const char *eq = strchr(given[i], '=');

		if (eq) {
			env_set(&env, &n, given[i], (size_t)(eq - given[i]), eq + 1);
		} else {
			/* -e K: the caller's value; none, nothing (as docker). */
			const char *v = getenv(given[i]);

			if (v)
				env_set(&env, &n, given[i], strlen(given[i]), v);
		}
	}
	if (proxy) {
		char *http = xasprintf("http://127.0.0.1:%d", RELAY_PORT);
		char *socks = xasprintf("socks5h://127.0.0.1:%d", RELAY_PORT);
		const char *const vars[][2] = {
			{ "HTTP_PROXY", http }, { "HTTPS_PROXY", http }, { "ALL_PROXY", socks },
			{ "NO_PROXY", "localhost,127.0.0.1,::1" },
			{ "http_proxy", http }, { "https_proxy", http }, { "all_proxy", socks },
			{ "no_proxy", "localhost,127.0.0.1,::1" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
			env_set(&env, &n, vars[i][0], strlen(vars[i][0]), vars[i][1]);
		free(http);
		free(socks);
	}
	return env;
}

/* --runtime NAME. */
static const struct runtime_ops *runtime_by_name(const char *name)
{
	static const struct runtime_ops *const all[] = { &bwrap_runtime, &docker_runtime };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (strcmp(name, all[i]->name) == 0)
			return all[i];
	die(EXIT_LAUNCH, "bad --runtime: '%s' (bwrap or docker)", name);
}

static int exit_status(const struct outcome *oc)
{
	if (oc->timed_out)
		return EXIT_TIMEOUT;
	if (oc->exec_errno)
		return oc->exec_errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	if (oc->signal)
		return 128 + oc->signal;
	return oc->exit_code;
}

/* The exec record of afs-launch(1) AUDIT, appended in one write. */
static void audit_exec(const struct launch *L, const struct outcome *oc, int status)
{
	struct audit_rec r;
	int e;

	audit_rec_init(&r);
	r.mount = L->name;
	r.session = L->session;
	r.comm = "afs-launch";
	r.argv = L->argv;
	r.exit_code = status;
	r.signal = oc->signal;
	r.duration_ms = oc->duration_ms;
	r.limit = oc->limit;
	r.seccomp = L->no_seccomp ? "off" : NULL;
	if ((e = audit_append_exec(L->audit_fd, &r)) < 0)
		error("cannot append to the audit log '%s': %s", L->audit, strerror(-e));
}

int main(int argc, char **argv)
{
	struct launch L = { .workdir = "/workspace", .kill_after_ms = 5000, .audit_fd = -1,
			    .max_output = DEFAULT_MAX_OUTPUT, .rt = &bwrap_runtime, .relay_fd = -1 };
	const char *shell = NULL, **given = NULL;
	size_t ngiven = 0;
	bool uid_set = false, gid_set = false, workdir_made = false;
	struct workspace ws;
	struct sandbox sb = { .info_fd = -1, .status_fd = -1, .out_fd = -1, .err_fd = -1,
			      .in_fd = -1 };
	struct outcome oc = { 0 };
	struct capture out = { 0 }, err = { 0 };
	sigset_t sigs;
	int c, sigfd, status, r;

	progname = "afs-launch";
	if (argc > 1 && strcmp(argv[1], SHIM_ARG) == 0)
		return shim_main(argc, argv);

	while ((c = getopt_long(argc, argv, launch_shortopts, launch_longopts, NULL)) != -1) {
		switch (c) {
		case 'm': L.mount_dir = optarg; break;
		case 's': L.source = optarg; break;
		case 'p': L.policy = optarg; break;
		case 'd': L.delta = optarg; break;
		case 'a': L.audit = optarg; break;
		case OPT_NAME: L.name = optarg; break;
		case 'w': L.workdir = optarg; break;
		case OPT_RUNTIME:
			L.rt = runtime_by_name(optarg);
			break;
		case OPT_IMAGE: L.image = optarg; break;
		case OPT_UID:
			L.uid = (uid_t)parse_num(optarg, "--uid", 1, 0x7fffffff);
			uid_set = true;
			break;
		case OPT_GID:
			L.gid = (gid_t)parse_num(optarg, "--gid", 1, 0x7fffffff);
			gid_set = true;
			break;
		case 'e':
			if (*optarg == '=' || *optarg == '\0')
				die(EXIT_LAUNCH, "bad --env: '%s' (K=V or K)", optarg);
			if (ngiven == MAX_ENV)
				die(EXIT_LAUNCH, "too many --env (at most %d)", MAX_ENV);
			given = xreallocarray(given, ngiven + 1, sizeof(*given));
			given[ngiven++] = optarg;
			break;
		case OPT_NET: L.net = true; break;
		case OPT_ALLOW_HOST:
			net_check_spec(optarg);
			if (L.nallow == MAX_ALLOW)
				die(EXIT_LAUNCH, "too many --allow-host (at most %d)", MAX_ALLOW);
			L.allow = xreallocarray(L.allow, L.nallow + 1, sizeof(*L.allow));
			L.allow[L.nallow++] = optarg;
			break;
		case OPT_NET_MAX_CONNECTIONS:
			(void)parse_num(optarg, "--net-max-connections", 1, 65536);
			L.net_max_conn = optarg;
			break;
		case OPT_NET_MAX_BYTES:
			(void)parse_size(optarg, "--net-max-bytes");
			L.net_max_bytes = optarg;
			break;
		case OPT_MEMORY: L.lim.memory = parse_size(optarg, "--memory"); break;
		case OPT_PIDS: L.lim.pids = (long)parse_num(optarg, "--pids", 1, 4194304); break;
		case OPT_CPUS: L.lim.millicpus = parse_cpus(optarg); break;
		case OPT_CPU_TIME:
			L.lim.cpu_time = (long)parse_num(optarg, "--cpu-time", 1, 31L * 86400);
			break;
		case OPT_NOFILE: L.lim.nofile = (long)parse_num(optarg, "--nofile", 1, 1 << 20); break;
		case OPT_FSIZE: L.lim.fsize = parse_size(optarg, "--fsize"); break;
		case 't': L.timeout_ms = parse_seconds(optarg, "--timeout", true); break;
		case OPT_KILL_AFTER:
			L.kill_after_ms = parse_seconds(optarg, "--kill-after", true);
			break;
		case OPT_JSON: L.json = true; break;
		case OPT_MAX_OUTPUT: L.max_output = (size_t)parse_size(optarg, "--max-output"); break;
		case 'c': shell = optarg; break;
		case OPT_SESSION_DIR: L.session_dir = optarg; break;
		case OPT_TTY: L.tty = true; break;
		case OPT_DOCTOR: return doctor_main();
		case OPT_SECCOMP:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				die(EXIT_LAUNCH, "bad --seccomp '%s' (on or off)", optarg);
			L.no_seccomp = strcmp(optarg, "off") == 0;
			break;
		case OPT_ETC:
			etc_check(optarg);
			if (L.netc == MAX_ETC)
				die(EXIT_LAUNCH, "too many --etc (at most %d)", MAX_ETC);
			L.etc = xreallocarray(L.etc, L.netc + 1, sizeof(*L.etc));
			L.etc[L.netc++] = optarg;
			break;
		case OPT_DELTA_QUOTA:
			(void)parse_size(optarg, "--delta-quota");
			L.delta_quota = optarg;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("afs-launch %s\n", AFS_VERSION); return 0;
		default:
			usage(stderr);
			return EXIT_LAUNCH;
		}
	}
	argv += optind;
	argc -= optind;

	if (!!L.mount_dir + !!L.source != 1)
		die(EXIT_LAUNCH, "give one workspace: -m DIR or -s DIR");
	/* Checked and opened now, used at the end (lib/trust.h). */
	if (L.audit) {
		char bad[TRUST_WHY_MAX];

		L.audit_fd = trust_append(L.audit, bad);
		if (L.audit_fd < 0)
			die(EXIT_LAUNCH, "cannot use the audit log '%s': %s", L.audit, bad);
	}
	if (L.mount_dir && (L.policy || L.delta || L.delta_quota))
		die(EXIT_LAUNCH, "%s needs -s (with -m the mount is already made)",
		    L.policy ? "--policy" : L.delta ? "--delta" : "--delta-quota");
	if (L.rt->image && !L.image)
		die(EXIT_LAUNCH, "--runtime %s needs --image IMAGE", L.rt->name);
	if (!L.rt->image && L.image)
		die(EXIT_LAUNCH, "--image needs --runtime docker");
	net_decide(&L);
	if (L.tty && L.json)
		die(EXIT_LAUNCH, "--tty and --json exclude each other");
	if (L.tty && !isatty(0))
		die(EXIT_LAUNCH, "--tty needs a terminal on standard input");
	stdio_decide(&L);
	if (L.lim.memory && L.lim.memory < L.rt->min_memory)
		die(EXIT_LAUNCH, "--memory: %s needs at least %lldM", L.rt->name,
		    (long long)(L.rt->min_memory >> 20));
	if (shell) {
		/* sh -c STRING [ARG0 ARG...], as sh itself takes them. */
		char **v = xcalloc((size_t)argc + 4, sizeof(*v));

		v[0] = xstrdup("/bin/sh");
		v[1] = xstrdup("-c");
		v[2] = (char *)shell;
		for (int i = 0; i < argc; i++)
			v[3 + i] = argv[i];
		L.argv = v;
	} else {
		if (argc == 0)
			die(EXIT_LAUNCH, "no command (give COMMAND [ARG...] or -c STRING)");
		L.argv = argv;
	}
	if (L.workdir[0] != '/') {
		L.workdir = xasprintf("/workspace/%s", L.workdir);
		workdir_made = true;
	}
	if (geteuid() == 0) {
		/* Root outside maps to root in any user namespace we could
		 * make: the sandbox gets an unprivileged uid of its own. */
		if (!uid_set)
			L.uid = 65534;
		if (!gid_set)
			L.gid = 65534;
	} else {
		if (!uid_set)
			L.uid = getuid();
		if (!gid_set)
			L.gid = getgid();
	}
	L.envp = build_env(given, ngiven, L.allowlist);
	L.session = getenv("AFS_SESSION");
	if (L.session && !*L.session)
		L.session = NULL;
	if (L.session && (strlen(L.session) > 63 || strchr(L.session, '\n')))
		die(EXIT_LAUNCH, "bad AFS_SESSION (1 to 63 bytes, one line)");

	/* Signals come through a signalfd, in one place (run.c); a
	 * broken stdout is a write error, not a death. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0)
		die(EXIT_LAUNCH, "signalfd: %m");

	L.rt->prepare(&L, &sb);
	memset(&ws, 0, sizeof(ws));
	if (workspace_open(&L, &ws) != 0) {
		status = EXIT_LAUNCH;
		goto out;
	}

	if (L.source) {
		r = workspace_mount(&L, &ws, sigfd);
		if (r != 0) {
			status = r > 0 ? 128 + r : EXIT_LAUNCH;
			goto out;
		}
	}
	if (L.allowlist) {
		r = net_start(&L, sigfd);
		if (r != 0) {
			status = r > 0 ? 128 + r : EXIT_LAUNCH;
			goto out;
		}
	}
	out.max = err.max = L.max_output;
	r = L.rt->start(&L, &ws, &sb);
	net_handed(&L);
	if (r != 0 || run_wait(&L, &sb, sigfd, &oc, &out, &err) != 0) {
		status = EXIT_LAUNCH;
		goto out;
	}
	status = exit_status(&oc);
	if (oc.limit) {
		/* stderr is the command's; the message goes there too, as
		 * the last line (after --json's object, on stderr). */
		error("the command hit its %s limit", oc.limit);
	}
out:
	run_close_sandbox(&sb);
	/* Before the exec record: afs-proxy's records come first. */
	if (net_stop(&L) != 0 && status != EXIT_LAUNCH)
		status = EXIT_LAUNCH;
	L.rt->remove(&sb);
	if (workspace_close(&ws) != 0 && status != EXIT_LAUNCH)
		status = EXIT_LAUNCH;
	guard_release();
	/* After the clean-up: the record holds the status we exit with. */
	if (L.audit && oc.reported)
		audit_exec(&L, &oc, status);
	if (L.json && oc.reported)
		result_print_json(stdout, status, oc.signal, oc.timed_out, oc.limit, oc.duration_ms,
				  &out, &err);
	free(out.buf);
	free(err.buf);
	workspace_free(&ws);
	for (size_t i = 0; L.envp[i]; i++)
		free(L.envp[i]);
	free(L.envp);
	free(given);
	free(L.etc);
	free(L.allow);
	if (shell) {
		free(L.argv[0]);
		free(L.argv[1]);
		free(L.argv);
	}
	if (workdir_made)
		free((char *)L.workdir);
	return status;
}
