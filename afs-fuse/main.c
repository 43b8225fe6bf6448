/* afs-fuse - mount a codebase with a per-path policy.
 *
 * This file reads the command line and calls the module for the job:
 * explain.c for --check and --explain, commit.c for --commit and --discard,
 * gitbranch.c for --commit-git, mount.c for mounting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commit.h"
#include "audit.h"
#include "auditlog.h"
#include "explain.h"
#include "gitbranch.h"
#include "loop.h"
#include "mount.h"
#include "util.h"

#ifndef AFS_VERSION
#define AFS_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afs-fuse [OPTIONS] SOURCE MOUNTPOINT\n"
		"       afs-fuse --check -p POLICY\n"
		"       afs-fuse --explain -p POLICY PATH...\n"
		"       afs-fuse --explain-host -p POLICY HOST:PORT...\n"
		"       afs-fuse --commit|--discard --delta DELTA SOURCE [PATH...]\n"
		"       afs-fuse --commit-git BRANCH --delta DELTA SOURCE [-m MESSAGE]\n"
		"\n"
		"  -p, --policy FILE|PRESET  policy (default: the view-only preset)\n"
		"  -d, --delta DIR           keep writes in DIR (made if missing, reused if\n"
		"                            present); default: a private delta removed at\n"
		"                            unmount\n"
		"      --writethrough        write into SOURCE itself (no delta)\n"
		"      --delta-quota SIZE    at most SIZE of file data in the delta (ENOSPC)\n"
		"  -a, --audit FILE          append an audit record (JSON Lines) per access\n"
		"      --audit-level LEVEL   off, deny, write or access (default)\n"
		"      --audit-max-bytes SIZE  at most SIZE of log (default 1G; 0: no cap);\n"
		"                            past it records are dropped and counted\n"
		"      --name NAME           name the mount in audit records and mtab\n"
		"      --session NAME        the session of every audit record (afs-session)\n"
		"  -f                        stay in the foreground\n"
		"  -o OPT[,OPT...]           FUSE mount options; policy=, delta=, audit= too\n"
		"      --allow-uid UID       let UID use the mount too (repeatable)\n"
		"      --max-open N          at most N files and directories open at once\n"
		"                            (default 4096; beyond: EMFILE)\n"
		"      --listing-memory SIZE  at most SIZE of listings of open directories\n"
		"                            (default 32M; beyond: ENOMEM)\n"
		"      --spin USEC           poll for the next request USEC microseconds\n"
		"                            before sleeping (default 50; 0: never)\n"
		"      --ready-fd N          write \"ready\\n\" to fd N once mounted\n"
		"      --check               validate the policy and exit (0 good, 2 errors)\n"
		"      --explain             print LEVEL<TAB>PATH<TAB>RULE for each PATH;\n"
		"                            a PATH ending in / is a directory; with -v,\n"
		"                            the rule's reason as a fourth field\n"
		"      --explain-host        print allow|deny<TAB>HOST:PORT<TAB>RULE for each\n"
		"                            HOST:PORT, by the policy's network: section\n"
		"      --commit              apply DELTA's changes (all, or at and below\n"
		"                            each PATH) to SOURCE and drop them from DELTA\n"
		"      --keep-mode           with --commit: keep setuid, setgid, sticky and\n"
		"                            write for others (dropped by default)\n"
		"      --force               with --commit: apply changes that conflict with\n"
		"                            what SOURCE did since (refused by default: exit 3)\n"
		"      --discard             drop DELTA's changes (all, or those PATHs)\n"
		"      --commit-git BRANCH   commit DELTA's changes to a new git branch\n"
		"  -m, --message MESSAGE     the message of that commit\n"
		"  -h, --help                show this help\n"
		"  -V, --version             show the version\n"
		"\n"
		"See afs-fuse(1) and afs-policy(5).\n");
}

enum { OPT_CHECK = 256, OPT_EXPLAIN, OPT_EXPLAIN_HOST, OPT_ALLOW_UID, OPT_READY_FD, OPT_WRITETHROUGH,
       OPT_COMMIT, OPT_KEEP_MODE, OPT_FORCE, OPT_DISCARD, OPT_AUDIT_LEVEL, OPT_AUDIT_MAX_BYTES, OPT_NAME, OPT_SESSION, OPT_DELTA_QUOTA,
       OPT_SPIN, OPT_MAX_OPEN, OPT_LISTING_MEMORY, OPT_COMMIT_GIT };

static long number(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		die(2, "bad %s: '%s'", what, s);
	return v;
}

/* Take our own options out of a -o list; append the rest to *FUSE. */
static char *take_o(char *list, const char **policy, const char **delta, const char **audit,
		   char **fuse)
{
	char *save = NULL, *o;

	/* A copy: ps shows the command line as given.  The values kept
	 * (policy=...) point into it: the caller frees it at the end. */
	list = xstrdup(list);
	for (o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "policy=", 7) == 0) {
			*policy = o + 7;
			continue;
		}
		if (strncmp(o, "delta=", 6) == 0) {
			*delta = o + 6;
			continue;
		}
		if (strncmp(o, "audit=", 6) == 0) {
			*audit = o + 6;
			continue;
		}
		if (*fuse) {
			char *n = xasprintf("%s,%s", *fuse, o);

			free(*fuse);
			*fuse = n;
		} else {
			*fuse = xstrdup(o);
		}
	}
	return list;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "explain-host", no_argument, NULL, OPT_EXPLAIN_HOST },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "allow-uid", required_argument, NULL, OPT_ALLOW_UID },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "delta", required_argument, NULL, 'd' },
		{ "writethrough", no_argument, NULL, OPT_WRITETHROUGH },
		{ "commit", no_argument, NULL, OPT_COMMIT },
		{ "keep-mode", no_argument, NULL, OPT_KEEP_MODE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "audit", required_argument, NULL, 'a' },
		{ "audit-level", required_argument, NULL, OPT_AUDIT_LEVEL },
		{ "audit-max-bytes", required_argument, NULL, OPT_AUDIT_MAX_BYTES },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "delta-quota", required_argument, NULL, OPT_DELTA_QUOTA },
		{ "discard", no_argument, NULL, OPT_DISCARD },
		{ "commit-git", required_argument, NULL, OPT_COMMIT_GIT },
		{ "message", required_argument, NULL, 'm' },
		{ "spin", required_argument, NULL, OPT_SPIN },
		{ "max-open", required_argument, NULL, OPT_MAX_OPEN },
		{ "listing-memory", required_argument, NULL, OPT_LISTING_MEMORY },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = "view-only";
	bool check = false, explain = false, explain_host = false, commit = false, discard = false, verbose = false;
	bool keep_mode = false, force = false;
	const char *branch = NULL, *message = NULL;
	struct mount_opts mo = { .ready_fd = -1, .audit_level = -1, .spin_us = LOOP_SPIN_US,
				 .audit_max_bytes = AUDIT_MAX_BYTES_DEFAULT,
				 .listing_memory = LISTING_MEMORY_DEFAULT };
	enum audit_level al;
	char **olists = NULL;
	size_t nolists = 0;
	int c;

	progname = "afs-fuse";
	argv[0] = (char *)"afs-fuse";	/* getopt's messages */
	while ((c = getopt_long(argc, argv, "p:d:a:fo:hvVm:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 'f':
			mo.foreground = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'd':
			mo.delta = optarg;
			break;
		case OPT_WRITETHROUGH:
			mo.writethrough = true;
			break;
		case 'a':
			mo.audit = optarg;
			break;
		case OPT_AUDIT_LEVEL:
			if (audit_level_parse(optarg, &al) < 0)
				die(2, "bad --audit-level '%s' (off, deny, write or access)", optarg);
			mo.audit_level = (int)al;
			break;
		case OPT_AUDIT_MAX_BYTES:
			/* 0: no cap, said as such */
			mo.audit_max_bytes = strcmp(optarg, "0") == 0 ? 0 : parse_size_bytes(optarg);
			if (mo.audit_max_bytes < 0)
				die(2, "bad --audit-max-bytes '%s' (a size such as 100M or 2G, or 0)",
				    optarg);
			break;
		case OPT_NAME:
			if (!*optarg || strchr(optarg, '\n'))
				die(2, "bad --name '%s'", optarg);
			mo.name = optarg;
			break;
		case OPT_DELTA_QUOTA:
			mo.delta_quota = parse_size_bytes(optarg);
			if (mo.delta_quota <= 0)
				die(2, "bad --delta-quota '%s' (a size such as 100M or 2G)", optarg);
			break;
		case OPT_SESSION:
			if (!*optarg || strlen(optarg) > 63 || strchr(optarg, '\n'))
				die(2, "bad --session '%s' (1 to 63 bytes)", optarg);
			mo.session = optarg;
			break;
		case OPT_COMMIT:
			commit = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_KEEP_MODE:
			keep_mode = true;
			break;
		case OPT_DISCARD:
			discard = true;
			break;
		case OPT_COMMIT_GIT:
			branch = optarg;
			break;
		case 'm':
			if (!*optarg)
				die(2, "bad --message '': empty");
			message = optarg;
			break;
		case 'o':
			olists = xreallocarray(olists, nolists + 1, sizeof(*olists));
			olists[nolists++] = take_o(optarg, &policy, &mo.delta, &mo.audit,
						   &mo.fuse_opts);
			break;
		case OPT_ALLOW_UID:
			mo.allow = xreallocarray(mo.allow, mo.nallow + 1, sizeof(*mo.allow));
			mo.allow[mo.nallow++] = (uid_t)number(optarg, "--allow-uid", 0x7fffffffL);
			break;
		case OPT_MAX_OPEN:
			mo.max_open = (unsigned)number(optarg, "--max-open", 1L << 20);
			if (mo.max_open == 0)
				die(2, "bad --max-open '%s' (1 or more)", optarg);
			break;
		case OPT_LISTING_MEMORY:
			mo.listing_memory = parse_size_bytes(optarg);
			if (mo.listing_memory <= 0)
				die(2, "bad --listing-memory '%s' (a size such as 32M)", optarg);
			break;
		case OPT_SPIN:
			mo.spin_us = (unsigned)number(optarg, "--spin", 1000000L);
			break;
		case OPT_READY_FD:
			mo.ready_fd = (int)number(optarg, "--ready-fd", 0x7fffffffL);
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_EXPLAIN_HOST:
			explain_host = true;
			break;
		case OPT_EXPLAIN:
			explain = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("afs-fuse %s\n", AFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Before afs-fuse opens anything of its own: a number that is not an
	 * open fd of the caller's would, by the time of the mount, name one
	 * of afs-fuse's (/dev/fuse, a layer), written to and closed. */
	if (mo.ready_fd >= 0) {
		int fl = fcntl(mo.ready_fd, F_GETFL);

		if (fl < 0)
			die(2, "bad --ready-fd %d: not an open file descriptor", mo.ready_fd);
		if ((fl & O_ACCMODE) == O_RDONLY)
			die(2, "bad --ready-fd %d: not open for writing", mo.ready_fd);
		if (fcntl(mo.ready_fd, F_SETFD, FD_CLOEXEC) < 0)
			die(2, "bad --ready-fd %d: %m", mo.ready_fd);
	}
	if (check + explain + explain_host + commit + discard + !!branch > 1)
		die(2, "--check, --explain, --explain-host, --commit, --commit-git and --discard "
		    "exclude each other");
	if (verbose && !explain && !explain_host && !branch)
		die(2, "-v is for --explain, --explain-host and --commit-git");
	if (keep_mode && !commit)
		die(2, "--keep-mode is for --commit");
	if (message && !branch)
		die(2, "-m is for --commit-git");
	if (force && !commit)
		die(2, "--force is for --commit");
	if (branch) {
		if (!mo.delta)
			die(2, "--commit-git needs --delta DELTA");
		if (optind == argc)
			die(2, "--commit-git needs SOURCE");
		if (argc - optind > 1)
			die(2, "--commit-git takes no PATH: it commits the whole delta");
		return gitbranch_commit(mo.delta, argv[optind], branch, message, verbose);
	}
	if (commit || discard) {
		if (!mo.delta)
			die(2, "--%s needs --delta DELTA", commit ? "commit" : "discard");
		if (optind == argc)
			die(2, "--%s needs SOURCE", commit ? "commit" : "discard");
		if (!commit) {
			struct stat st;

			/* Not written to, but a wrong SOURCE is a wrong command. */
			if (stat(argv[optind], &st) < 0 || !S_ISDIR(st.st_mode))
				die(1, "cannot open source '%s': %s", argv[optind],
				    stat(argv[optind], &st) < 0 ? strerror(errno) : "not a directory");
		}
		struct commit_opts co = { .commit = commit, .keep_mode = keep_mode, .force = force };

		return commit_run(&co, mo.delta, argv[optind], argv + optind + 1, argc - optind - 1);
	}
	if (check) {
		if (optind != argc)
			die(2, "--check takes no arguments");
		return explain_check(policy);
	}
	if (explain) {
		if (optind == argc)
			die(2, "--explain needs at least one PATH");
		return explain_paths(policy, argv + optind, argc - optind, verbose);
	}
	if (explain_host) {
		if (optind == argc)
			die(2, "--explain-host needs at least one HOST:PORT");
		return explain_hosts(policy, argv + optind, argc - optind, verbose);
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (mo.delta && mo.writethrough)
		die(2, "--delta and --writethrough cannot be combined");
	if (mo.delta_quota && mo.writethrough)
		die(2, "--delta-quota and --writethrough cannot be combined (no delta)");
	if (mo.audit_level >= 0 && !mo.audit)
		die(2, "--audit-level needs --audit FILE");
	if (mo.audit_level < 0)
		mo.audit_level = AUDIT_ACCESS;
	if (mo.audit_level == AUDIT_OFF)
		mo.audit = NULL;	/* off: no log is opened */
	mo.source = argv[optind];
	mo.mountpoint = argv[optind + 1];
	mo.policy = policy;
	c = mount_run(&mo);
	free(mo.allow);
	free(mo.fuse_opts);
	while (nolists)
		free(olists[--nolists]);
	free(olists);
	return c;
}
