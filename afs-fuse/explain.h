/* explain.h - afs-fuse --check and --explain: the policy without a mount. */
#ifndef AFS_FUSE_EXPLAIN_H
#define AFS_FUSE_EXPLAIN_H

#include <stdbool.h>

/* Both return the exit status: 0, or 2 for a bad policy or path. */
int explain_check(const char *policy);
/* VERBOSE: a fourth field, the deciding rule's reason (when it has one). */
int explain_paths(const char *policy, char *const *paths, int npaths, bool verbose);

#endif
