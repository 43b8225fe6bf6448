/* afs-proxy - the sandbox's way to the hosts its allowlist names.
 *
 * This file reads the command line and sets up: the rules (a policy's
 * network section, then --allow-host and --deny-host), the audit log,
 * the socket connections come from (the sandbox's relay, or --listen),
 * the signals, the user to run as; then serve.c takes over.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "presets.h"
#include "proxy.h"
#include "record.h"
#include "trust.h"

#ifndef AFS_VERSION
#define AFS_VERSION "0.0.0"
#endif

#define DEFAULT_MAX_CONNS	64
#define DEFAULT_MAX_BYTES	(4LL << 30)
#define DEFAULT_TIMEOUT_MS	10000
/* Each connection holds its socket, the host's and two pipes. */
#define FDS_PER_CONN		6
#define MAX_CONNS		65536
/* --allow-host and --deny-host: a command line's worth. */
#define MAX_SPECS		4096

enum {
	OPT_ALLOW = 256,
	OPT_DENY,
	OPT_AUDIT_FD,
	OPT_NAME,
	OPT_SESSION,
	OPT_MAX_CONNS,
	OPT_MAX_BYTES,
	OPT_AUDIT_MAX_BYTES,
	OPT_HEAD_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_USER,
	OPT_READY_FD,
	OPT_RELAY_FD,
	OPT_LISTEN,
};

static const struct option longopts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "allow-host", required_argument, NULL, OPT_ALLOW },
	{ "deny-host", required_argument, NULL, OPT_DENY },
	{ "audit", required_argument, NULL, 'a' },
	{ "audit-fd", required_argument, NULL, OPT_AUDIT_FD },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "max-bytes", required_argument, NULL, OPT_MAX_BYTES },
	{ "audit-max-bytes", required_argument, NULL, OPT_AUDIT_MAX_BYTES },
	{ "head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "relay-fd", required_argument, NULL, OPT_RELAY_FD },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afs-proxy [OPTIONS] (--relay-fd N | --listen HOST:PORT)\n"
		"\n"
		"Connections come from:\n"
		"      --relay-fd N       the sandbox's relay (a SOCK_SEQPACKET socket)\n"
		"      --listen HOST:PORT a TCP socket of afs-proxy's own\n"
		"Rules (deny wins; no rule: everything refused):\n"
		"  -p, --policy FILE|PRESET    the policy's network section\n"
		"      --allow-host PATTERN[:PORTS]   allow (repeatable)\n"
		"      --deny-host PATTERN[:PORTS]    deny (repeatable)\n"
		"Audit:\n"
		"  -a, --audit FILE       append a connect record for each connection\n"
		"      --audit-fd N       the same, to fd N\n"
		"      --audit-max-bytes SIZE  no record past SIZE of log (default 1G;\n"
		"                         0: no bound); the rest are counted\n"
		"      --name NAME        the records' mount field\n"
		"      --session NAME     the records' session field\n"
		"Limits:\n"
		"      --max-connections N        open at once (default 64)\n"
		"      --max-bytes SIZE           each way, per connection (default 4G)\n"
		"      --head-timeout SECONDS     for the request head (default 10)\n"
		"      --connect-timeout SECONDS  for the connection to the host (default 10)\n"
		"Process:\n"
		"      --user UID:GID     run as UID:GID once set up (root only)\n"
		"      --ready-fd N       write \"ready\" to fd N once serving\n"
		"  -h, --help             show this help\n"
		"  -V, --version          show the version\n"
		"\n"
		"Exit status: 0 done; 1 cannot serve; 2 usage or policy error.\n"
		"See afs-proxy(1).\n");
}

static long long parse_num(const char *s, const char *what, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max || (*s < '0' || *s > '9'))
		die(EXIT_USAGE, "bad %s: '%s' (a whole number from %lld to %lld)", what, s, min,
		    max);
	return v;
}

static int64_t parse_seconds(const char *s, const char *what)
{
	int64_t ms = parse_duration_ms(s);

	if (ms <= 0)
		die(EXIT_USAGE, "bad %s: '%s' (seconds, such as 10, 1.5 or 2m)", what, s);
	return ms;
}

/* An fd the caller gave, close-on-exec from now on; its flags in *FL. */
static int given_fd(const char *s, const char *what, int *fl)
{
	int fd = (int)parse_num(s, what, 0, 0x7fffffff);

	*fl = fcntl(fd, F_GETFL);
	if (*fl < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		die(EXIT_USAGE, "bad %s: fd %d is not open", what, fd);
	return fd;
}

/* The policy's network section, as afs-fuse loads the policy. */
static void load_policy(const char *spec, struct netpolicy *np)
{
	struct policy_opts opts = { .preset_dirs = preset_dirs() };
	struct policy *pol = NULL;
	struct diags d;

	diags_init(&d);
	policy_load(spec, &opts, &pol, &d);
	diags_print(stderr, &d);
	diags_free(&d);
	if (!pol)
		exit(EXIT_USAGE);
	netpolicy_append(np, policy_network(pol));
	policy_free(pol);
}

/* A TCP socket listening on HOST:PORT ("[V6]:PORT" for IPv6). */
static int listen_on(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	const char *colon = strrchr(spec, ':');
	cleanup_free char *host = NULL;
	struct addrinfo *res;
	int fd, e, one = 1;

	if (!colon || colon == spec || !colon[1])
		die(EXIT_USAGE, "bad --listen: '%s' (HOST:PORT)", spec);
	if (spec[0] == '[' && colon[-1] == ']')
		host = xstrndup(spec + 1, (size_t)(colon - spec - 2));
	else
		host = xstrndup(spec, (size_t)(colon - spec));
	e = getaddrinfo(host, colon + 1, &hints, &res);
	if (e != 0)
		die(EXIT_USAGE, "bad --listen: '%s': %s", spec, gai_strerror(e));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0)
		die(EXIT_CANNOT_SERVE, "cannot listen on '%s': %m", spec);
	freeaddrinfo(res);
	return fd;
}

/* The relay's socket: a SOCK_SEQPACKET unix socket, with the sender's
 * credentials on each message (for the pid of audit records). */
static void relay_check(int fd)
{
	int type = 0, one = 1;
	socklen_t len = sizeof(type);
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
		die(EXIT_USAGE, "bad --relay-fd: fd %d is not a SOCK_SEQPACKET socket", fd);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0)
		warning("cannot ask for the relay's credentials: %m (records will have no pid)");
}

/* Each connection needs FDS_PER_CONN fds: the soft limit raised to the
 * hard one, and a limit too low for N refused now rather than later. */
static void fds_check(unsigned n)
{
	struct rlimit rl;
	unsigned long long need = (unsigned long long)n * FDS_PER_CONN + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
		die(EXIT_USAGE, "--max-connections %u needs %llu open files; the limit is %llu", n,
		    need, (unsigned long long)rl.rlim_cur);
}

/* UID:GID, for --user. */
static void parse_user(const char *spec, uid_t *uid, gid_t *gid)
{
	const char *colon = strchr(spec, ':');
	cleanup_free char *u = NULL;

	if (!colon)
		die(EXIT_USAGE, "bad --user: '%s' (UID:GID)", spec);
	u = xstrndup(spec, (size_t)(colon - spec));
	*uid = (uid_t)parse_num(u, "--user UID", 0, 0x7fffffff);
	*gid = (gid_t)parse_num(colon + 1, "--user GID", 0, 0x7fffffff);
}

/* --user: everything is open; from here on, UID:GID and no other group. */
static void drop_to(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;

	if (geteuid() != 0) {
		if (uid == getuid() && gid == getgid())
			return;
		die(EXIT_CANNOT_SERVE, "--user needs root");
	}
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		die(EXIT_CANNOT_SERVE, "cannot become %lu:%lu: %m", (unsigned long)uid,
		    (unsigned long)gid);
	if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid)
		die(EXIT_CANNOT_SERVE, "cannot become %lu:%lu", (unsigned long)uid,
		    (unsigned long)gid);
}

int main(int argc, char **argv)
{
	struct proxy px = { .audit_fd = -1, .max_conns = DEFAULT_MAX_CONNS,
			    .max_bytes = DEFAULT_MAX_BYTES, .head_ms = DEFAULT_TIMEOUT_MS,
			    .connect_ms = DEFAULT_TIMEOUT_MS };
	const char *policy = NULL, *audit = NULL, *listen_spec = NULL;
	bool user = false;
	uid_t uid = 0;
	gid_t gid = 0;
	const char **specs = NULL;
	bool *deny = NULL;
	size_t nspecs = 0;
	int c, fl, ready_fd = -1, relay_fd = -1, audit_fd = -1, sig_fd, src_fd, stop[2], status;
	struct resolve_table *table = NULL;
	const char *env, *err;
	char bad[TRUST_WHY_MAX];
	sigset_t sigs;
	int64_t audit_max = (int64_t)1 << 30;	/* afs-fuse's default */

	progname = "afs-proxy";
	while ((c = getopt_long(argc, argv, "p:a:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': policy = optarg; break;
		case OPT_ALLOW:
		case OPT_DENY:
			if (nspecs == MAX_SPECS)
				die(EXIT_USAGE, "too many --allow-host and --deny-host (at most %d)",
				    MAX_SPECS);
			specs = xreallocarray(specs, nspecs + 1, sizeof(*specs));
			deny = xreallocarray(deny, nspecs + 1, sizeof(*deny));
			specs[nspecs] = optarg;
			deny[nspecs++] = c == OPT_DENY;
			break;
		case 'a': audit = optarg; break;
		case OPT_AUDIT_FD:
			audit_fd = given_fd(optarg, "--audit-fd", &fl);
			if ((fl & O_ACCMODE) == O_RDONLY)
				die(EXIT_USAGE, "bad --audit-fd: fd %d is not open for writing",
				    audit_fd);
			break;
		case OPT_NAME: px.name = optarg; break;
		case OPT_SESSION: px.session = optarg; break;
		case OPT_MAX_CONNS:
			px.max_conns = (unsigned)parse_num(optarg, "--max-connections", 1, MAX_CONNS);
			break;
		case OPT_AUDIT_MAX_BYTES:
			audit_max = strcmp(optarg, "0") == 0 ? 0 : parse_size_bytes(optarg);
			if (audit_max < 0)
				die(EXIT_USAGE, "bad --audit-max-bytes '%s' (a size such as 100M or 2G, "
				    "or 0)", optarg);
			break;
		case OPT_MAX_BYTES:
			px.max_bytes = parse_size_bytes(optarg);
			if (px.max_bytes <= 0)
				die(EXIT_USAGE, "bad --max-bytes: '%s' (a size such as 512K, 64M or 2G)",
				    optarg);
			break;
		case OPT_HEAD_TIMEOUT: px.head_ms = parse_seconds(optarg, "--head-timeout"); break;
		case OPT_CONNECT_TIMEOUT:
			px.connect_ms = parse_seconds(optarg, "--connect-timeout");
			break;
		case OPT_USER:
			parse_user(optarg, &uid, &gid);
			user = true;
			break;
		case OPT_READY_FD:
			ready_fd = given_fd(optarg, "--ready-fd", &fl);
			break;
		case OPT_RELAY_FD:
			relay_fd = given_fd(optarg, "--relay-fd", &fl);
			break;
		case OPT_LISTEN: listen_spec = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("afs-proxy %s\n", AFS_VERSION); return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if ((relay_fd >= 0) == (listen_spec != NULL))
		die(EXIT_USAGE, "give one of --relay-fd N and --listen HOST:PORT");
	if (audit && audit_fd >= 0)
		die(EXIT_USAGE, "--audit and --audit-fd exclude each other");

	/* The rules: the policy's first, then the command line's, in order
	 * (deny wins whatever the order; the first allow rule that matches
	 * is the one recorded). */
	if (policy)
		load_policy(policy, &px.np);
	for (size_t i = 0; i < nspecs; i++)
		if (netpolicy_add_spec(&px.np, specs[i], deny[i],
				       deny[i] ? "--deny-host" : "--allow-host", &err) != 0)
			die(EXIT_USAGE, "bad %s: '%s': %s", deny[i] ? "--deny-host" : "--allow-host",
			    specs[i], err);
	free(specs);
	free(deny);
	env = getenv("AFS_PROXY_RESOLVE");
	if (env) {
		if (resolve_table_parse(env, &table, &err) != 0)
			die(EXIT_USAGE, "bad AFS_PROXY_RESOLVE: %s", err);
		px.resolve = table;
	}
	fds_check(px.max_conns);

	/* Opened now, before --user, and checked as afs-launch checks its
	 * own (lib/trust.h). */
	if (audit) {
		px.audit_fd = trust_append(audit, bad);
		if (px.audit_fd < 0)
			die(EXIT_CANNOT_SERVE, "cannot use the audit log '%s': %s", audit, bad);
		px.audit_name = xasprintf("'%s'", audit);
	} else if (audit_fd >= 0) {
		px.audit_fd = audit_fd;
		px.audit_name = xasprintf("on fd %d", audit_fd);
	}
	record_setup(px.audit_fd, px.audit_name, audit_max, audit);
	if (relay_fd >= 0) {
		relay_check(relay_fd);
		if (fcntl(relay_fd, F_SETFL, fcntl(relay_fd, F_GETFL) | O_NONBLOCK) != 0)
			die(EXIT_CANNOT_SERVE, "cannot use the relay's fd: %m");
		src_fd = relay_fd;
	} else {
		src_fd = listen_on(listen_spec);
	}

	/* A peer that goes away is an error on its connection, not our
	 * death; SIGTERM and SIGINT come through a signalfd, blocked in
	 * every thread. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		die(EXIT_CANNOT_SERVE, "signalfd: %m");
	if (pipe2(stop, O_CLOEXEC) != 0)
		die(EXIT_CANNOT_SERVE, "pipe: %m");
	px.stop_fd = stop[0];
	px.stop_w = stop[1];

	if (user)
		drop_to(uid, gid);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ready\n", 6) != 6)
			die(EXIT_CANNOT_SERVE, "cannot write to --ready-fd %d: %m", ready_fd);
		close(ready_fd);
	}
	status = relay_fd >= 0 ? serve_relay(&px, src_fd, sig_fd) : serve_listen(&px, src_fd, sig_fd);
	/* Threads that did not end in time may still use what px holds:
	 * then nothing is freed. */
	if (serve_idle()) {
		netpolicy_free(&px.np);
		resolve_table_free(table);
		free((char *)px.audit_name);
	}
	return status;
}
