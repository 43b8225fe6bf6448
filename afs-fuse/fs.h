/* fs.h - the afs-fuse filesystem: inodes, the gate, the FUSE operations. */
#ifndef AFS_FUSE_FS_H
#define AFS_FUSE_FS_H

/* 3.12: the loop takes the opaque fuse_loop_config of fuse_loop_cfg_create();
 * an older version number maps the loop to an ABI that reads another struct. */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/types.h>

#include "backing.h"
#include "policy.h"

struct fs_config {
	struct backing *backing;
	struct policy *policy;
	uid_t owner;		/* the uid that mounted */
	const uid_t *allow;	/* more uids allowed to use the mount */
	size_t nallow;
	double timeout;		/* entry, attribute and negative cache, seconds */
	struct auditlog *audit;	/* NULL: no audit log */
	int64_t delta_quota;	/* bytes of file data in the delta; 0: none */
	int64_t delta_used;	/* what the delta holds at the start */
	unsigned max_open;	/* open files and directories at once (EMFILE) */
	size_t max_listed;	/* bytes of directory listings held (ENOMEM) */
};

struct fs;
struct auditlog;

struct fs *fs_new(const struct fs_config *cfg);
void fs_free(struct fs *fs);
const struct fuse_lowlevel_ops *fs_ops(void);
void fs_set_session(struct fs *fs, struct fuse_session *se);
/* Where the kernel's read-ahead of the mount is set (sysfs), taking PATH:
 * afs-fuse raises it at the first open, once INIT is done. */
void fs_set_readahead(struct fs *fs, char *path);

/* Install POL (taking it) and make the kernel forget what it cached under
 * the old one.  Called from the signal thread, never from an op. */
void fs_replace_policy(struct fs *fs, struct policy *pol);

#endif
