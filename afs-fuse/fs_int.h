/* fs_int.h - what fs.c (inodes, gate) and ops.c (the FUSE operations)
 * share.  Not for other modules. */
#ifndef AFS_FUSE_FS_INT_H
#define AFS_FUSE_FS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "authz.h"
#include "delta.h"
#include "fs.h"

/* Names of hidden or missing entries answered negatively, per directory,
 * so that a reload can make the kernel forget them.  Past this many a
 * directory's negative answers are not cached (the kernel asks again). */
#define NEG_MAX 256

struct handle;
struct dirh;

struct node {
	struct node *parent;	/* NULL for the root */
	char *name;
	uint64_t nlookup;	/* kernel references */
	uint64_t kids;		/* child nodes, which point at us */
	struct node *hnext;	/* hash chain by (parent, name) */
	bool hashed;		/* in the table; else an orphan (unlinked, renamed
				 * over) the kernel still refers to */
	struct node *oprev, *onext;	/* the orphan list */
	bool is_dir;
	struct estate es;	/* where the entry lives in the merge */
	ino_t ino;		/* the inode number shown (delta_child) */
	unsigned gen;		/* policy generation of level */
	enum level level;
	char **neg;		/* negative names given out (directories) */
	size_t nneg;
	bool neg_full;
	struct timespec mtime;	/* at the last open, for keep_cache */
	off_t size;
	struct handle *handles;	/* open files of this node (ops.c) */
	struct listing *listing;	/* its newest listing, if one is held (ops.c) */
};

struct fs {
	struct backing *b;
	uid_t owner;
	uid_t *allow;
	size_t nallow;
	double timeout;
	struct fuse_session *se;
	struct auditlog *audit;	/* NULL: none */
	int64_t quota;		/* --delta-quota, 0: none */
	int64_t used;		/* atomic: bytes of file data in the delta */
	char *ra_path;		/* the mount's read_ahead_kb in sysfs, or NULL */
	int ra_done;		/* atomic: set once tuned (or tried) */

	pthread_rwlock_t pol_lock;
	struct policy *pol;
	unsigned gen;
	pthread_mutex_t lock;
	struct node root;
	struct node **tab;
	size_t tabsize, count;
	struct node *orphans;
	struct dirh *dirs;	/* open directories (ops.c; fs->lock) */
	size_t listed;		/* atomic: bytes of listings held */
	size_t max_listed;	/* --listing-memory */
	unsigned nopen;		/* atomic: open files and directories */
	unsigned max_open;	/* --max-open */
};

/* At teardown: what the kernel never released (ops.c). */
void ops_free_handles(struct node *n);
void ops_free_dirs(struct fs *fs);
/* N goes away: a listing of it no longer names it.  Under fs->lock. */
void ops_forget_listing(struct node *n);


/* The node table; callers hold fs->lock. */
struct node *node_find(struct fs *fs, struct node *parent, const char *name);
void table_insert(struct fs *fs, struct node *n);
void table_remove(struct fs *fs, struct node *n);
/* Take N out of the table, keeping it until the kernel forgets it. */
void node_orphan(struct fs *fs, struct node *n);
void neg_clear(struct node *n);
void node_unref(struct fs *fs, struct node *n, uint64_t lookups);
struct node *ino_node(struct fs *fs, fuse_ino_t ino);
fuse_ino_t node_ino(struct fs *fs, struct node *n);
int node_path(struct fs *fs, struct node *n, char *buf, size_t size);
/* Callers hold pol_lock (read) and lock. */
enum level node_level(struct fs *fs, struct node *n);

bool caller_allowed(const struct fs *fs, uid_t uid);
/* Every op starts here.  Returns 0 or -errno, the errno to answer; fills
 * PATH (POLICY_MAX_PATH), *LEVEL and *ES when given. */
int gate(fuse_req_t req, struct fs *fs, fuse_ino_t ino, enum need need,
	 char *path, enum level *level, struct estate *es);

#endif
