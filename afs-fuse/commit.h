/* commit.h - afs-fuse --commit and --discard. */
#ifndef AFS_FUSE_COMMIT_H
#define AFS_FUSE_COMMIT_H

#include <stdbool.h>

/* DELTA's root, for reading it into SOURCE: what another user could have
 * written is never carried there (lib/trust.h).  Dies with exit 1 when it
 * is missing or cannot be opened, 2 when it is not to be trusted. */
int commit_open_delta(const char *delta);

struct commit_opts {
	bool commit;		/* else discard */
	bool keep_mode;		/* --keep-mode */
	bool force;		/* --force */
};

/* Apply (COMMIT) or drop the changes of DELTA, all of them or those at and
 * below the /-rooted PATHS, and remove them from DELTA; without KEEP_MODE
 * a committed entry loses setuid, setgid, sticky and write for others.
 * A commit applies nothing while a selected change conflicts with what
 * SOURCE did since its base, unless FORCE.  Returns the exit status: 0;
 * 1 when something could not be done; 3 for conflicts (each said on
 * stderr). */
int commit_run(const struct commit_opts *o, const char *delta, const char *source,
	       char *const *paths, int npaths);

#endif
