/* authz.h - every permission decision of afs-fuse, in one file.
 *
 * The policy (lib/policy.c) gives a path its level; this module says what
 * an operation needs of the levels involved and which errno it answers
 * below that: afs-fuse(1) LEVELS AND ERRORS, as code.  The ops (ops.c)
 * find the levels (the node's, the new name's) and ask here; they decide
 * nothing about permissions themselves.  AUTHZ_TABLE holds the rules
 * as data, and the functions apply its rows.
 *
 * Each function returns 0 or -errno, the errno to answer (the convention
 * of all afs-fuse: doc/architecture.md).  An errno it returns is a refusal
 * of afs's own (audited as a denial); one a backing call gives later is an
 * error, not a denial.  AUTHZ_TABLE holds the errnos themselves.
 */
#ifndef AFS_FUSE_AUTHZ_H
#define AFS_FUSE_AUTHZ_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"

/* What an op needs of the entry it acts on. */
enum need {
	NEED_HANDLE,	/* an op through an open file: view, and the entry may be
			 * gone (unlinked or renamed over) */
	NEED_VISIBLE,	/* stat, readlink, lookup in, list: view */
	NEED_READ,	/* open for reading or executing */
	NEED_WRITE,	/* modify */
};

/* The rows of the rules. */
enum authz_op {
	AZ_SEE,		/* lookup, stat, readlink, list a directory */
	AZ_READ,	/* open for reading or executing */
	AZ_XATTR_GET,	/* an extended attribute's value */
	AZ_XATTR_LIST,	/* the names of its extended attributes */
	AZ_MODIFY,	/* open for writing, truncate, chmod, chown, utimensat,
			 * setxattr, removexattr */
	AZ_CREATE,	/* make a name: create, mkdir, symlink, mknod, link, rename onto */
	AZ_REMOVE,	/* unlink, rmdir, rename away */
	AZ_LINK_FROM,	/* link(2) to an existing entry */
	AZ_DEVICE,	/* mknod of a character or block device */
	AZ_NOPS
};

/* One row: an operation, the level it needs of the entry it acts on (of
 * the new name, for those that make one; LEVEL_NEVER: none suffices), and
 * what it gets below that. */
#define LEVEL_NEVER ((enum level)(LEVEL_WRITE + 1))
struct authz_rule {
	const char *what;
	enum level need;
	int err;	/* 0: it works, showing less (see note) */
	const char *note;
};
extern const struct authz_rule AUTHZ_TABLE[AZ_NOPS];

/* An entry at level L (GONE: its name went away) for an op that needs
 * NEED.  -ENOENT when it is hidden or gone, -EACCES below the level. */
int authz_node(enum need need, enum level l, bool gone);
/* The mode bits the mount shows of an entry of mode M at level L. */
mode_t authz_mode(mode_t m, enum level l);
/* access(2) with MASK of an entry of mode M at level L, for any caller:
 * the level decides, and only executing needs an x bit. */
int authz_access(enum level l, mode_t m, int mask);
/* Making NAME (level L; EXISTS: an entry of that name is there). */
int authz_create(enum level l, const char *name, bool exists);
/* A device node: never, in any directory. */
int authz_mknod(mode_t mode);
/* Removing, or renaming away, an entry at level L; *HIDDEN when it is
 * there at none. */
int authz_remove(enum level l, bool exists, bool *hidden);
/* A hard link to an entry at level L: a writable alias of it otherwise. */
int authz_link(enum level l, bool is_dir);
/* Renaming onto NAME at level L. */
int authz_rename_to(enum level l, const char *name);
/* An extended attribute NAME of an entry at level L: its value (GET), the
 * list of names (LIST, NAME unused: 0, or -1 for an empty list), a change
 * (SET; the node's level was checked by authz_node). */
int authz_xattr_get(enum level l, const char *name);
int authz_xattr_list(enum level l);
int authz_xattr_set(const char *name);

#endif
