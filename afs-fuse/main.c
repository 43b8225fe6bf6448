/* afs-fuse - mount a codebase with a per-path policy.
 *
 * This file reads the command line and calls the module for the job:
 * explain.c for --check and --explain.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
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
		"\n"
		"  -p, --policy FILE|PRESET  policy (default: the view-only preset)\n"
		"      --check               validate the policy and exit (0 good, 2 errors)\n"
		"      --explain             print LEVEL<TAB>PATH<TAB>RULE for each PATH;\n"
		"                            a PATH ending in / is a directory\n"
		"  -h, --help                show this help\n"
		"  -V, --version             show the version\n"
		"\n"
		"See afs-fuse(1) and afs-policy(5).\n");
}

enum { OPT_CHECK = 256, OPT_EXPLAIN };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = "view-only";
	bool check = false, explain = false;
	int c;

	progname = "afs-fuse";
	while ((c = getopt_long(argc, argv, "+p:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case OPT_CHECK:
			check = true;
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
	if (check && explain)
		die(2, "--check and --explain cannot be combined");
	if (check) {
		if (optind != argc)
			die(2, "--check takes no arguments");
		return explain_check(policy);
	}
	if (explain) {
		if (optind == argc)
			die(2, "--explain needs at least one PATH");
		return explain_paths(policy, argv + optind, argc - optind);
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	die(1, "mounting is not built yet: this build has --check and --explain only");
}
