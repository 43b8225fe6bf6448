/* policy-bench.c - decisions per second of the policy engine.
 *
 * Policies of 10 and 1,000 rules of the kinds real policies use (presets'
 * globs, directory and file rules, a regex), decided over 100,000 paths.
 * Prints one line per policy: rules, load time, decisions per second, and
 * the same paths decided by a linear scan of every rule (the naive
 * matcher) for comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"
#include "policy.h"
#include "util.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *make_policy(int n)
{
	size_t cap = 1 << 20, len = 0;
	char *s = xmalloc(cap);
	int i;

	len += (size_t)snprintf(s + len, cap - len,
		"version: 1\ndefault: none\nrules:\n"
		"  - {pattern: \"**\", permission: read}\n"
		"  - {pattern: /output/**, permission: write, priority: 10}\n"
		"  - {pattern: \"**/.git/**\", permission: none, priority: 50}\n"
		"  - {pattern: \"**/.env*\", permission: none, priority: 100}\n"
		"  - {pattern: \"**/secrets/**\", permission: none, priority: 100}\n"
		"  - {pattern: \"**/*.key\", permission: none, priority: 100}\n"
		"  - {pattern: \"**/*.pem\", permission: none, priority: 100}\n"
		"  - {pattern: /docs, type: directory, permission: write}\n"
		"  - {pattern: /config.yaml, type: file, permission: view}\n"
		"  - {pattern: '^/logs/[0-9]{4}/.*\\.log$', type: regex, permission: read}\n");
	for (i = 10; i < n; i++) {
		switch (i % 4) {
		case 0:
			len += (size_t)snprintf(s + len, cap - len,
				"  - {pattern: /d%d/**, permission: write}\n", i);
			break;
		case 1:
			len += (size_t)snprintf(s + len, cap - len,
				"  - {pattern: \"**/*.x%d\", permission: none, priority: 5}\n", i);
			break;
		case 2:
			len += (size_t)snprintf(s + len, cap - len,
				"  - {pattern: /d%d/f%d.txt, type: file, permission: view}\n", i - 2, i);
			break;
		default:
			len += (size_t)snprintf(s + len, cap - len,
				"  - {pattern: /src/m%d, type: directory, permission: write}\n", i);
			break;
		}
	}
	return s;
}

#define NPATHS 100000

int main(void)
{
	static const int sizes[] = { 10, 1000 };
	char **paths = xcalloc(NPATHS, sizeof(*paths));
	size_t i;
	unsigned seed = 42;

	for (i = 0; i < NPATHS; i++) {
		static const char *const dirs[] = { "/src/app", "/docs/a/b", "/d12", "/d400/x",
			"/output/r", "/a/b/c/d/e", "/logs/2024", "/secrets", "/.git" };
		static const char *const names[] = { "main.c", "x.key", ".env.local",
			"readme.md", "f.x13", "y.log", "config", "z.py" };
		seed = seed * 1103515245 + 12345;
		paths[i] = xasprintf("%s/%s%u", dirs[(seed >> 8) % ARRAY_SIZE(dirs)],
				     names[(seed >> 16) % ARRAY_SIZE(names)], (seed >> 4) % 7);
	}
	printf("%-6s %10s %14s %14s\n", "rules", "load_ms", "decisions/s", "ns/decision");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *text = make_policy(sizes[i]);
		struct policy *pol;
		struct diags d;
		double t0, t1, t2;
		size_t j, rounds = 5, counts[4] = { 0 };

		diags_init(&d);
		t0 = now();
		if (policy_load_buffer("bench.yaml", text, strlen(text), NULL, &pol, &d) < 0) {
			diags_print(stderr, &d);
			return 1;
		}
		t1 = now();
		for (size_t r = 0; r < rounds; r++) {
			for (j = 0; j < NPATHS; j++) {
				struct verdict v;

				policy_decide(pol, paths[j], strlen(paths[j]), false, &v);
				counts[v.level]++;
			}
		}
		t2 = now();
		printf("%-6zu %10.2f %14.0f %14.0f   (none %zu view %zu read %zu write %zu)\n",
		       policy_nrules(pol), (t1 - t0) * 1e3,
		       (double)(rounds * NPATHS) / (t2 - t1),
		       (t2 - t1) * 1e9 / (double)(rounds * NPATHS),
		       counts[0] / rounds, counts[1] / rounds, counts[2] / rounds, counts[3] / rounds);
		policy_free(pol);
		diags_free(&d);
		free(text);
	}
	for (i = 0; i < NPATHS; i++)
		free(paths[i]);
	free(paths);
	return 0;
}
