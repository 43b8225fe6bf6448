/* explain.h - afs-fuse --check and --explain: the policy without a mount. */
#ifndef AFS_FUSE_EXPLAIN_H
#define AFS_FUSE_EXPLAIN_H

/* Both return the exit status: 0, or 2 for a bad policy or path. */
int explain_check(const char *policy);
int explain_paths(const char *policy, char *const *paths, int npaths);

#endif
