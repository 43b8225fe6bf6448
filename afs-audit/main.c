/* afs-audit - query audit logs; show what a delta changed.
 *
 * This file reads the command line and calls the module for the job:
 * query.c for queries, diff.c for "afs-audit diff".
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff.h"
#include "glob.h"
#include "query.h"
#include "util.h"

#ifndef AFS_VERSION
#define AFS_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afs-audit [FILTERS] [--format text|json|tsv] [--summary] [-f] [LOG...]\n"
		"       afs-audit diff [--name-status|--stat|-u|--json] SOURCE DELTA\n"
		"\n"
		"Reads LOGs (standard input when none), merged by time.  Filters, all of\n"
		"which must hold:\n"
		"  --op OP[,OP...]       open, create, lookup, rename, exec, connect, ...\n"
		"  --path GLOB           the path matches a policy glob (** for any depth)\n"
		"  --regex RE            the path matches a PCRE2 regex\n"
		"  --host GLOB           a connect record's host matches a glob, in any case\n"
		"  --decision D[,D...]   allow, deny or hide\n"
		"  --pid PID, --comm NAME, --mount NAME, --session NAME\n"
		"  --since T, --until T  RFC 3339 (2026-11-26T10:00:00Z) or ago: 30s 10m 2h 1d\n"
		"  --format F            text (default), json (the records), tsv (with header)\n"
		"  --summary             counts by op and decision, paths, hosts, denials,\n"
		"                        processes\n"
		"  -f, --follow          keep reading as the log grows, across rotation\n"
		"  -h, --help, -V, --version\n"
		"\n"
		"See afs-audit(1).\n");
}

enum { OPT_OP = 256, OPT_PATH, OPT_REGEX, OPT_HOST, OPT_DECISION, OPT_PID, OPT_COMM, OPT_MOUNT,
       OPT_SESSION, OPT_SINCE, OPT_UNTIL, OPT_FORMAT, OPT_SUMMARY };

/* Append the comma-separated values of ARG to *V; for --decision (WHAT),
 * each must be allow, deny or hide. */
static void add_list(char ***v, size_t *n, const char *arg, const char *what)
{
	char *save = NULL, *o, *list = xstrdup(arg);

	for (o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (what && strcmp(o, "allow") && strcmp(o, "deny") && strcmp(o, "hide"))
			die(2, "bad %s '%s' (allow, deny or hide)", what, o);
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(o);
	}
	free(list);
}

/* --host GLOB: a policy glob over one component, compiled in lower case
 * (query.c matches the host in lower case too). */
static struct glob *host_glob(const char *arg)
{
	struct glob *g;
	const char *err;
	char *lower, *p;
	int r;

	if (strchr(arg, '/'))
		die(2, "bad --host glob '%s': a host has no '/'", arg);
	lower = xstrdup(arg);
	for (p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r = glob_compile(lower, &g, &err);
	free(lower);
	if (r < 0)
		die(2, "bad --host glob '%s': %s", arg, err);
	return g;
}

static int diff_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "name-status", no_argument, NULL, 'n' },
		{ "stat", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum diff_mode mode = DIFF_NAME_STATUS;
	int c;

	while ((c = getopt_long(argc, argv, "uh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			mode = DIFF_NAME_STATUS;
			break;
		case 's':
			mode = DIFF_STAT;
			break;
		case 'u':
			mode = DIFF_UNIFIED;
			break;
		case 'j':
			mode = DIFF_JSON;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	return diff_run(mode, argv[optind], argv[optind + 1]);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "op", required_argument, NULL, OPT_OP },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "regex", required_argument, NULL, OPT_REGEX },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "decision", required_argument, NULL, OPT_DECISION },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct query q = { .pid = -1, .since_us = INT64_MIN, .until_us = INT64_MAX };
	struct timespec now;
	int64_t now_us;
	int c, status;

	progname = "afs-audit";
	/* getopt names the program by argv[0] in its messages. */
	argv[0] = (char *)"afs-audit";
	if (argc > 1 && strcmp(argv[1], "diff") == 0) {
		argv[1] = (char *)"afs-audit diff";
		return diff_main(argc - 1, argv + 1);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	now_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	while ((c = getopt_long(argc, argv, "fhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_OP:
			add_list(&q.ops, &q.nops, optarg, NULL);
			break;
		case OPT_PATH: {
			const char *err;

			glob_free(q.path_glob);
			if (glob_compile(optarg, &q.path_glob, &err) < 0)
				die(2, "bad --path glob '%s': %s", optarg, err);
			break;
		}
		case OPT_REGEX: {
			int code;
			PCRE2_SIZE off;
			PCRE2_UCHAR msg[256];

			pcre2_code_free(q.path_re);
			q.path_re = pcre2_compile((PCRE2_SPTR)optarg, PCRE2_ZERO_TERMINATED,
						  PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
			if (!q.path_re) {
				pcre2_get_error_message(code, msg, sizeof(msg));
				die(2, "bad --regex '%s': %s at offset %zu", optarg, (char *)msg,
				    (size_t)off);
			}
			break;
		}
		case OPT_HOST:
			glob_free(q.host_glob);
			q.host_glob = host_glob(optarg);
			break;
		case OPT_DECISION:
			add_list(&q.decisions, &q.ndecisions, optarg, "--decision");
			break;
		case OPT_PID: {
			char *end;

			errno = 0;
			q.pid = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || q.pid <= 0 ||
			    q.pid > 0x3fffffff)
				die(2, "bad --pid '%s'", optarg);
			break;
		}
		case OPT_COMM:
			q.comm = optarg;
			break;
		case OPT_MOUNT:
			q.mount = optarg;
			break;
		case OPT_SESSION:
			q.session = optarg;
			break;
		case OPT_SINCE:
			if (time_parse(optarg, now_us, &q.since_us) < 0)
				die(2, "bad --since '%s' (RFC 3339, or 30s, 10m, 2h, 1d)", optarg);
			break;
		case OPT_UNTIL:
			if (time_parse(optarg, now_us, &q.until_us) < 0)
				die(2, "bad --until '%s' (RFC 3339, or 30s, 10m, 2h, 1d)", optarg);
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				q.format = FMT_TEXT;
			else if (!strcmp(optarg, "json"))
				q.format = FMT_JSON;
			else if (!strcmp(optarg, "tsv"))
				q.format = FMT_TSV;
			else
				die(2, "bad --format '%s' (text, json or tsv)", optarg);
			break;
		case OPT_SUMMARY:
			q.summary = true;
			break;
		case 'f':
			q.follow = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("afs-audit %s\n", AFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (q.follow && q.summary)
		die(2, "--follow and --summary cannot be combined");
	if (q.since_us > q.until_us)
		die(2, "--until is before --since: nothing could match");
	status = query_run(&q, argv + optind, argc - optind);
	while (q.nops)
		free(q.ops[--q.nops]);
	free(q.ops);
	while (q.ndecisions)
		free(q.decisions[--q.ndecisions]);
	free(q.decisions);
	glob_free(q.path_glob);
	glob_free(q.host_glob);
	pcre2_code_free(q.path_re);
	return status;
}
