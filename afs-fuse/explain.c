/* explain.c - validate a policy, or print the level it gives paths. */
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "netpolicy.h"
#include "path.h"
#include "policy.h"
#include "presets.h"
#include "util.h"

static struct policy *load(const char *spec)
{
	struct policy_opts opts = { .preset_dirs = preset_dirs() };
	struct policy *pol = NULL;
	struct diags d;

	diags_init(&d);
	if (policy_load(spec, &opts, &pol, &d) == 0)
		policy_lint(pol, &d);
	diags_print(stderr, &d);
	diags_free(&d);
	return pol;
}

int explain_check(const char *policy)
{
	struct policy *pol = load(policy);

	if (!pol)
		return 2;
	policy_free(pol);
	return 0;
}

int explain_paths(const char *policy, char *const *paths, int npaths, bool verbose)
{
	struct policy *pol = load(policy);
	char clean[POLICY_MAX_PATH];
	int i, status = 0;

	if (!pol)
		return 2;
	for (i = 0; i < npaths; i++) {
		size_t len = strlen(paths[i]);
		bool is_dir = len > 0 && paths[i][len - 1] == '/';
		struct verdict v;
		int n = path_clean(paths[i], clean, sizeof(clean));

		if (n < 0) {
			error("path too long: '%.64s...'", paths[i]);
			status = 2;
			continue;
		}
		policy_resolve(pol, clean, (size_t)n, is_dir, &v);
		printf("%s\t", level_name(v.level));
		fput_field(stdout, clean);
		if (v.rule)
			printf("\t%s:%d", v.rule->file, v.rule->line);
		else if (v.why == WHY_IMPLICIT)
			printf("\timplicit");
		else
			printf("\tdefault");
		if (verbose && v.rule && v.rule->reason) {
			putchar('\t');
			fput_field(stdout, v.rule->reason);
		}
		putchar('\n');
	}
	policy_free(pol);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write the output: %m");
		return 1;
	}
	return status;
}

/* HOST:PORT, decided as afs-proxy decides it before resolving a name (an
 * address literal is decided whole: it is its own address). */
int explain_hosts(const char *policy, char *const *hosts, int nhosts, bool verbose)
{
	struct policy *pol = load(policy);
	const struct netpolicy *np;
	int i, status = 0;

	if (!pol)
		return 2;
	np = policy_network(pol);
	for (i = 0; i < nhosts; i++) {
		struct net_host h;
		struct net_verdict v;
		uint16_t port;
		bool v6;

		if (net_authority_parse(hosts[i], strlen(hosts[i]), 0, &h, &port) < 0) {
			error("not HOST:PORT (a host name or an address, [IPv6] in brackets, "
			      "and a port from 1 to 65535): '%.80s'", hosts[i]);
			status = 2;
			continue;
		}
		if (h.is_addr)
			netpolicy_check_addr(np, &h, &h.addr, port, &v);
		else
			netpolicy_check_host(np, &h, port, &v);
		v6 = h.is_addr && strchr(h.name, ':');
		printf("%s\t%s%s%s:%u\t%s", v.allow ? "allow" : "deny", v6 ? "[" : "", h.name,
		       v6 ? "]" : "", port, v.rule ? v.rule->origin : "none");
		if (verbose && !v.allow) {
			putchar('\t');
			fput_field(stdout, v.reason);
		} else if (verbose && v.rule && v.rule->reason) {
			putchar('\t');
			fput_field(stdout, v.rule->reason);
		}
		putchar('\n');
	}
	policy_free(pol);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write the output: %m");
		return 1;
	}
	return status;
}
