/* fuzz-policy.c - libFuzzer target: the YAML policy loader and the linter.
 * Any input must load or fail with messages, never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dirs[] = { "policies", NULL };
	struct policy_opts opts = { .preset_dirs = dirs };
	struct policy *pol = NULL;
	struct diags d;

	diags_init(&d);
	if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &opts, &pol, &d) == 0) {
		policy_lint(pol, &d);
		policy_free(pol);
	}
	diags_free(&d);
	return 0;
}
