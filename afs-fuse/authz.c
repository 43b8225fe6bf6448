/* authz.c - every permission decision of afs-fuse (see authz.h).
 *
 * MUST (afs-fuse(1) LEVELS AND ERRORS; tests/t1xxx, t5001, t5002):
 * - a path at none does not exist: ENOENT for every op that names it;
 * - the levels are ordered (none < view < read < write), each allowing
 *   what the one below does and more, as AUTHZ_TABLE says;
 * - the policy decides, for every caller, root included: never the owner
 *   and mode bits, but for executing (an x bit of the file itself);
 * - a name of the delta's format (.wh.*, user.afs.*) is never made.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authz.h"
#include "delta.h"

const struct authz_rule AUTHZ_TABLE[AZ_NOPS] = {
	[AZ_SEE] = { "lookup, stat, readlink, list", LEVEL_VIEW, ENOENT,
		     "below view the path does not exist" },
	[AZ_READ] = { "open for reading, execute", LEVEL_READ, EACCES, NULL },
	[AZ_XATTR_GET] = { "getxattr", LEVEL_READ, EACCES,
			   "a value is content, as the file's bytes are" },
	[AZ_XATTR_LIST] = { "listxattr", LEVEL_READ, 0,
			    "below read the list is empty (ls -l and cp ask every file)" },
	[AZ_MODIFY] = { "open for writing, truncate, chmod, chown, utimensat, "
			"setxattr, removexattr", LEVEL_WRITE, EACCES, NULL },
	[AZ_CREATE] = { "create, mkdir, symlink, mknod, link, rename onto", LEVEL_WRITE, EACCES,
			"the level of the new name, whether or not it exists" },
	[AZ_REMOVE] = { "unlink, rmdir, rename away", LEVEL_WRITE, EACCES, NULL },
	[AZ_LINK_FROM] = { "link to an existing entry", LEVEL_WRITE, EACCES,
			   "a link would be a writable alias of it" },
	[AZ_DEVICE] = { "mknod of a device", LEVEL_NEVER, EPERM, "never, at any level" },
};

/* Does level L allow OP?  The table's errno, negated, when not. */
static int allows(enum authz_op op, enum level l)
{
	return l >= AUTHZ_TABLE[op].need ? 0 : -AUTHZ_TABLE[op].err;
}

int authz_node(enum need need, enum level l, bool gone)
{
	if (l == LEVEL_NONE)
		return -ENOENT;
	/* A name that went away: ops by path would reach what took its
	 * place.  Only ops through an open file may go on. */
	if (gone && need != NEED_HANDLE)
		return -ENOENT;
	switch (need) {
	case NEED_HANDLE:
	case NEED_VISIBLE:
		return allows(AZ_SEE, l);
	case NEED_READ:
		return allows(AZ_READ, l);
	case NEED_WRITE:
		return allows(AZ_MODIFY, l);
	}
	return -EACCES;
}

mode_t authz_mode(mode_t m, enum level l)
{
	switch (l) {
	case LEVEL_WRITE:
		return m;
	case LEVEL_READ:
		return m & ~(mode_t)(S_IWUSR | S_IWGRP | S_IWOTH);
	case LEVEL_VIEW:
		if (S_ISDIR(m))
			return (m & S_IFMT) | 0555;
		return m & S_IFMT;
	case LEVEL_NONE:
		return m & S_IFMT;
	}
	return m & S_IFMT;
}

int authz_access(enum level l, mode_t m, int mask)
{
	/* A directory at view is listed and entered: its "read". */
	enum authz_op rd = S_ISDIR(m) ? AZ_SEE : AZ_READ;

	if ((mask & R_OK) && allows(rd, l))
		return -EACCES;
	if ((mask & W_OK) && allows(AZ_MODIFY, l))
		return -EACCES;
	/* Searching a directory is seeing it: any visible one is entered,
	 * whatever its x bits (a 0644 directory shows them at read and
	 * write, and lookups in it work all the same). */
	if ((mask & X_OK) && (allows(rd, l) || (!S_ISDIR(m) && !(m & 0111))))
		return -EACCES;
	return 0;
}

int authz_create(enum level l, const char *name, bool exists)
{
	int r = allows(AZ_CREATE, l);

	if (r)
		return r;
	if (delta_reserved(name))
		return -EINVAL;
	return exists ? -EEXIST : 0;
}

int authz_mknod(mode_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode) ? allows(AZ_DEVICE, LEVEL_WRITE) : 0;
}

int authz_remove(enum level l, bool exists, bool *hidden)
{
	*hidden = exists && l == LEVEL_NONE;
	if (!exists || l == LEVEL_NONE)
		return -ENOENT;
	return allows(AZ_REMOVE, l);
}

int authz_link(enum level l, bool is_dir)
{
	int r = allows(AZ_LINK_FROM, l);

	return r ? r : is_dir ? -EPERM : 0;
}

int authz_rename_to(enum level l, const char *name)
{
	int r = allows(AZ_CREATE, l);

	if (r)
		return r;
	return delta_reserved(name) ? -EINVAL : 0;
}

/* Only the user. namespace passes; afs's own names (user.afs.*) never. */
static bool user_xattr(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

int authz_xattr_get(enum level l, const char *name)
{
	/* EOPNOTSUPP, not ENODATA: ls -l and cp -a ask every file for
	 * security.selinux and system.posix_acl_access, and stop asking on
	 * a device that answers EOPNOTSUPP (two round trips a file saved). */
	if (!user_xattr(name))
		return -EOPNOTSUPP;
	if (delta_reserved_xattr(name))
		return -ENODATA;	/* the delta's own: as if absent */
	return allows(AZ_XATTR_GET, l);
}

int authz_xattr_list(enum level l)
{
	return l >= AUTHZ_TABLE[AZ_XATTR_LIST].need ? 0 : -1;
}

int authz_xattr_set(const char *name)
{
	if (!user_xattr(name))
		return -EOPNOTSUPP;
	return delta_reserved_xattr(name) ? -EPERM : 0;
}
