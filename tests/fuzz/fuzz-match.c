/* fuzz-match.c - libFuzzer target: the matcher.  The input is a policy,
 * a NUL byte, then paths separated by newlines; every path is cleaned and
 * decided both ways.  Checks the invariants that need no oracle: the root
 * is at least view, a decision under a hidden directory is none, and
 * policy_decide agrees with policy_resolve when no ancestor is hidden. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dirs[] = { "policies", NULL };
	struct policy_opts opts = { .preset_dirs = dirs };
	const char *nul = memchr(data, 0, size);
	struct policy *pol = NULL;
	struct diags d;
	char *paths, *p, *save = NULL;

	if (!nul)
		return 0;
	diags_init(&d);
	if (policy_load_buffer("fuzz.yaml", (const char *)data, (size_t)(nul - (const char *)data),
			       &opts, &pol, &d) < 0) {
		diags_free(&d);
		return 0;
	}
	diags_free(&d);
	paths = strndup(nul + 1, size - (size_t)(nul + 1 - (const char *)data));
	for (p = strtok_r(paths, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		char clean[POLICY_MAX_PATH];
		int n = path_clean(p, clean, sizeof(clean));
		struct verdict r, e;
		int i;

		if (n < 0)
			continue;
		for (i = 0; i < 2; i++) {
			policy_resolve(pol, clean, (size_t)n, i, &r);
			policy_decide(pol, clean, (size_t)n, i, &e);
			if (n == 1 && r.level < LEVEL_VIEW)
				abort();
			if (r.why == WHY_HIDDEN && r.level != LEVEL_NONE)
				abort();
			if (r.why != WHY_HIDDEN && (r.level != e.level || r.rule != e.rule))
				abort();
		}
	}
	free(paths);
	policy_free(pol);
	return 0;
}
