/* commit.h - afs-fuse --commit and --discard. */
#ifndef AFS_FUSE_COMMIT_H
#define AFS_FUSE_COMMIT_H

#include <stdbool.h>

/* Apply (COMMIT) or drop the changes of DELTA, all of them or those at and
 * below the /-rooted PATHS, and remove them from DELTA; without KEEP_MODE
 * a committed entry loses setuid, setgid, sticky and write for others.
 * Returns the exit status: 0, 1 when something could not be done (each
 * said on stderr). */
int commit_run(bool commit, bool keep_mode, const char *delta, const char *source,
	       char *const *paths, int npaths);

#endif
