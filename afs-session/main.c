/* afs-session - a persistent shell in a sandbox.
 *
 * This file reads the command line; supervisor.c is the session's
 * process, client.c the commands that talk to it, state.c where sessions
 * live.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "launchopts.h"
#include "session.h"
#include "util.h"

#ifndef AFS_VERSION
#define AFS_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afs-session start [--name NAME] [--shell SHELL] [afs-launch OPTIONS]\n"
		"       afs-session exec [--timeout SECONDS] [--json] NAME 'SHELL STRING'\n"
		"       afs-session attach [--raw] NAME\n"
		"       afs-session list [--json]\n"
		"       afs-session stop NAME\n"
		"\n"
		"start   start a shell in a sandbox (afs-launch's options: -s or -m, -p,\n"
		"        limits, -e, --runtime ...), detached; print the session's name\n"
		"exec    run the string in that shell: cwd, variables and functions\n"
		"        persist; stdout and stderr come back apart; the exit status is\n"
		"        the string's, 124 timed out, 125 the session cannot answer\n"
		"attach  the same shell, interactively (Ctrl-] detaches); what the\n"
		"        terminal would answer or act on is not shown, unless --raw\n"
		"list    the sessions: name, state, pid, started, mount\n"
		"stop    end the session: its processes, its mount, its state\n"
		"\n"
		"State lives in $AFS_RUNTIME_DIR, else $XDG_RUNTIME_DIR/afs, else /run/afs.\n"
		"See afs-session(1).\n");
}

enum { OPT_SHELL = 1000 };

static char *default_shell(bool docker)
{
	if (docker)
		return xstrdup("/bin/sh");
	/* bwrap shows the host's /usr: a bash there is a bash inside. */
	if (access("/usr/bin/bash", X_OK) == 0 || access("/bin/bash", X_OK) == 0)
		return xstrdup("/bin/bash");
	return xstrdup("/bin/sh");
}

static int cmd_start(int argc, char **argv)
{
	struct option *opts;
	size_t nopts = 0;
	struct start_opts o = { 0 };
	char **pass = xcalloc((size_t)argc + 1, sizeof(*pass));
	char *name = NULL, *shell = NULL;
	bool uid_set = false;
	char *gen = NULL, *shell_made = NULL, *cwd, *root;
	int c, prev = 1, npass = 0, r;

	while (launch_longopts[nopts].name)
		nopts++;
	opts = xcalloc(nopts + 2, sizeof(*opts));
	memcpy(opts, launch_longopts, nopts * sizeof(*opts));
	opts[nopts] = (struct option){ "shell", required_argument, NULL, OPT_SHELL };

	argv[0] = (char *)"afs-session start";
	optind = 1;
	while ((c = getopt_long(argc, argv, launch_shortopts, opts, NULL)) != -1) {
		bool take = true;

		switch (c) {
		case OPT_NAME:
			name = optarg;
			take = false;
			break;
		case OPT_SHELL:
			shell = optarg;
			take = false;
			break;
		case 'c':
		case OPT_JSON:
		case OPT_TTY:
		case OPT_SESSION_DIR:
		case OPT_DOCTOR:
			error("start: %s is afs-session's to set", argv[optind - 1]);
			free(opts);
			free(pass);
			return 2;
		case 'h':
		case 'V':
			if (c == 'h')
				usage(stdout);
			else
				printf("afs-session %s\n", AFS_VERSION);
			free(opts);
			free(pass);
			return 0;
		case 'a':
			o.audit = optarg;
			break;
		case 's':
		case 'm':
			o.mount = optarg;
			break;
		case OPT_UID:
			o.sandbox_uid = (uid_t)atol(optarg);
			uid_set = true;
			break;
		case OPT_RUNTIME:
			o.docker = strcmp(optarg, "docker") == 0;
			break;
		case OPT_SECCOMP:
			o.no_seccomp = strcmp(optarg, "off") == 0;
			break;
		case '?':
			usage(stderr);
			free(opts);
			free(pass);
			return 2;
		default:
			break;
		}
		/* Pass afs-launch's options on as they were written. */
		for (int i = prev; i < optind; i++)
			if (take)
				pass[npass++] = argv[i];
		prev = optind;
	}
	if (optind < argc || (name && state_check_name(name) != 0)) {
		if (optind < argc)
			error("start: unexpected '%s' (the command is the session's shell)",
			      argv[optind]);
		else
			error("bad session name '%s' (letters, digits, '.', '_', '-'; at most %d)",
			      name, SESSION_NAME_MAX - 1);
		free(opts);
		free(pass);
		return 2;
	}
	if (!uid_set)
		o.sandbox_uid = geteuid() == 0 ? 65534 : getuid();
	if (name) {
		o.name = name;
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		gen = xasprintf("s%08lx", (unsigned long)((ts.tv_nsec ^ (getpid() << 16)) & 0xffffffff));
		o.name = gen;
	}
	if (!shell)
		shell = shell_made = default_shell(o.docker);
	o.shell = shell;
	o.launch_argv = pass;
	o.launch_argc = npass;

	o.cwd = cwd = getcwd(NULL, 0);
	if (!cwd)
		die(1, "cannot tell the current directory: %m");
	root = state_root();
	/* A session whose supervisor was killed is cleaned away first. */
	{
		char *dir = session_dir(root, o.name);
		struct session_info inf;

		if (info_read(dir, &inf) == 0 && strcmp(inf.state, "running") == 0 &&
		    !supervisor_alive(&inf))
			remove_tree(dir);
		free(dir);
	}
	r = supervisor_start(root, &o);
	if (r == 0)
		printf("%s\n", o.name);
	free(gen);
	free(cwd);
	free(root);
	free(shell_made);
	free(pass);
	free(opts);
	return r;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t timeout = 0;
	bool json = false;
	int c;

	argv[0] = (char *)"afs-session exec";
	optind = 1;
	while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = parse_duration_ms(optarg);
			if (timeout < 0)
				die(2, "bad --timeout: '%s' (seconds, such as 10, 1.5 or 2m)", optarg);
			break;
		case 'j':
			json = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2)
		die(2, "exec: give NAME and 'SHELL STRING'");
	{
		char *root = state_root();
		int r = client_exec(root, argv[optind], argv[optind + 1], timeout, json);

		free(root);
		return r;
	}
}

int main(int argc, char **argv)
{
	const char *cmd;
	char *root;
	int r;

	progname = "afs-session";
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("afs-session %s\n", AFS_VERSION);
		return 0;
	}
	if (strcmp(cmd, "start") && strcmp(cmd, "exec") && strcmp(cmd, "attach") &&
	    strcmp(cmd, "list") && strcmp(cmd, "stop")) {
		error("unknown command '%s'", cmd);
		usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	if (strcmp(cmd, "start") == 0)
		return cmd_start(argc, argv);
	if (strcmp(cmd, "exec") == 0)
		return cmd_exec(argc, argv);
	root = state_root();
	if (strcmp(cmd, "list") == 0) {
		bool json = argc == 2 && strcmp(argv[1], "--json") == 0;

		if (argc > 2 || (argc == 2 && !json))
			die(2, "usage: afs-session list [--json]");
		r = client_list(root, json);
	} else if (strcmp(cmd, "attach") == 0) {
		bool raw = argc >= 2 && strcmp(argv[1], "--raw") == 0;

		if (argc != 2 + raw)
			die(2, "usage: afs-session attach [--raw] NAME");
		r = client_attach(root, argv[1 + raw], raw);
	} else {
		if (argc != 2)
			die(2, "usage: afs-session %s NAME", cmd);
		r = client_stop(root, argv[1]);
	}
	free(root);
	return r;
}
