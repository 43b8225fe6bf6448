/* explain.h - afs-fuse --check and --explain: the policy without a mount. */
#ifndef AFS_FUSE_EXPLAIN_H
#define AFS_FUSE_EXPLAIN_H

#include <stdbool.h>

/* Both return the exit status: 0, or 2 for a bad policy or path. */
int explain_check(const char *policy);
/* VERBOSE: a fourth field, the deciding rule's reason (when it has one). */
int explain_paths(const char *policy, char *const *paths, int npaths, bool verbose);
/* Each HOST:PORT: DECISION<TAB>HOST:PORT<TAB>RULE; with VERBOSE, a fourth
 * field: a refusal's reason, or the allowing rule's reason. */
int explain_hosts(const char *policy, char *const *hosts, int nhosts, bool verbose);

#endif
