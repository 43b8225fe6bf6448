/* fs.c - the node table, the gate and the mount's state (the FUSE
 * operations themselves are ops.c's; the rules they apply, authz.c's).
 *
 * MUST (afs-fuse(1) LEVELS AND ERRORS; tests/t1xxx):
 * - every op passes gate() before it touches the backing store: the caller
 *   must be the owner, root or an allowed uid (else EACCES); the node's
 *   level against the op's need is authz_node()'s to judge;
 * - a name at none is answered as a missing one (a negative entry) and
 *   never listed;
 * - the level of a node is decided from its parent's (none under a hidden
 *   directory) and cached with the policy generation; a reload re-decides;
 * - no fd is held per inode: only per open file, and none per directory.
 *
 * Ops on an open handle (read, release, readdir's snapshot, releasedir)
 * work with what open or opendir decided, as any filesystem keeps an open
 * file usable after a chmod.
 *
 * Locks: pol_lock (read: deciding; write: a reload) guards pol and gen;
 * lock guards the node table and every node's fields.  Take pol_lock
 * first.  Decisions run under the read lock only, so FUSE threads do not
 * queue behind each other to decide.
 *
 * Inode numbers are node addresses, as in libfuse's passthrough_ll.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_int.h"
#include "util.h"

/* ---- node table ---------------------------------------------------------- */

static size_t node_hash(const struct node *parent, const char *name)
{
	uint64_t h = (uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	return (size_t)h;
}

struct node *node_find(struct fs *fs, struct node *parent, const char *name)
{
	struct node *n = fs->tab[node_hash(parent, name) & (fs->tabsize - 1)];

	while (n && !(n->parent == parent && strcmp(n->name, name) == 0))
		n = n->hnext;
	return n;
}

void table_insert(struct fs *fs, struct node *n)
{
	size_t i;
	struct node **ntab;

	/* Out of memory, the table stays as it is: longer chains, no failure
	 * (an op that inserts a node answers no ENOMEM for it). */
	if (2 * (fs->count + 1) > fs->tabsize &&
	    (ntab = calloc(fs->tabsize * 2, sizeof(*ntab)))) {
		size_t nsize = fs->tabsize * 2;

		for (i = 0; i < fs->tabsize; i++) {
			struct node *m = fs->tab[i], *next;

			for (; m; m = next) {
				size_t j = node_hash(m->parent, m->name) & (nsize - 1);

				next = m->hnext;
				m->hnext = ntab[j];
				ntab[j] = m;
			}
		}
		free(fs->tab);
		fs->tab = ntab;
		fs->tabsize = nsize;
	}
	i = node_hash(n->parent, n->name) & (fs->tabsize - 1);
	n->hnext = fs->tab[i];
	fs->tab[i] = n;
	n->hashed = true;
	fs->count++;
}

void table_remove(struct fs *fs, struct node *n)
{
	struct node **p = &fs->tab[node_hash(n->parent, n->name) & (fs->tabsize - 1)];

	if (!n->hashed)
		return;
	while (*p != n)
		p = &(*p)->hnext;
	*p = n->hnext;
	n->hashed = false;
	fs->count--;
}

void node_orphan(struct fs *fs, struct node *n)
{
	if (!n->hashed)
		return;
	table_remove(fs, n);
	n->oprev = NULL;
	n->onext = fs->orphans;
	if (fs->orphans)
		fs->orphans->oprev = n;
	fs->orphans = n;
}

static void node_free(struct fs *fs, struct node *n)
{
	if (n->hashed) {
		table_remove(fs, n);
	} else {
		if (n->oprev)
			n->oprev->onext = n->onext;
		else if (fs->orphans == n)
			fs->orphans = n->onext;
		if (n->onext)
			n->onext->oprev = n->oprev;
	}
	neg_clear(n);
	ops_forget_listing(n);
	free(n->name);
	free(n);
}

void neg_clear(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nneg; i++)
		free(n->neg[i]);
	free(n->neg);
	n->neg = NULL;
	n->nneg = 0;
	n->neg_full = false;
}

/* Drop references; free nodes nobody refers to any more, up the tree. */
void node_unref(struct fs *fs, struct node *n, uint64_t lookups)
{
	n->nlookup -= lookups;
	while (n != &fs->root && n->nlookup == 0 && n->kids == 0) {
		struct node *parent = n->parent;

		node_free(fs, n);
		parent->kids--;
		n = parent;
	}
}

struct node *ino_node(struct fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct node *)(uintptr_t)ino;
}

/* Inode numbers are node addresses, as in libfuse's passthrough_ll. */
_Static_assert(sizeof(struct node *) <= sizeof(fuse_ino_t), "a node address fits an inode number");

fuse_ino_t node_ino(struct fs *fs, struct node *n)
{
	return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* The node's path into BUF (PATH_MAX); caller holds fs->lock. */
int node_path(struct fs *fs, struct node *n, char *buf, size_t size)
{
	size_t pos = size - 1;

	buf[pos] = '\0';
	if (n == &fs->root) {
		buf[0] = '/';
		buf[1] = '\0';
		return 1;
	}
	for (; n != &fs->root; n = n->parent) {
		size_t len = strlen(n->name);

		if (len + 1 > pos)
			return -ENAMETOOLONG;
		pos -= len;
		memcpy(buf + pos, n->name, len);
		buf[--pos] = '/';
	}
	memmove(buf, buf + pos, size - pos);
	return (int)(size - 1 - pos);
}

/* The node's level under the current policy; caller holds pol_lock (read)
 * and lock.  One step from the parent's: under a hidden directory, none. */
enum level node_level(struct fs *fs, struct node *n)
{
	char path[POLICY_MAX_PATH];
	struct verdict v;
	int len;

	if (n->gen == fs->gen)
		return n->level;
	if (n->parent && node_level(fs, n->parent) == LEVEL_NONE) {
		n->level = LEVEL_NONE;
	} else {
		len = node_path(fs, n, path, sizeof(path));
		if (len < 0) {
			n->level = LEVEL_NONE;
		} else {
			policy_decide(fs->pol, path, (size_t)len, n->is_dir, &v);
			n->level = v.level;
		}
	}
	n->gen = fs->gen;
	return n->level;
}

/* ---- the gate -------------------------------------------------------------- */


bool caller_allowed(const struct fs *fs, uid_t uid)
{
	size_t i;

	if (uid == 0 || uid == fs->owner)
		return true;
	for (i = 0; i < fs->nallow; i++)
		if (fs->allow[i] == uid)
			return true;
	return false;
}

int gate(fuse_req_t req, struct fs *fs, fuse_ino_t ino, enum need need,
	 char *path, enum level *level, struct estate *es)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct node *n = ino_node(fs, ino);
	enum level l;
	int r = 0;

	if (path)
		path[0] = '\0';	/* a refused caller learns, and logs, no path */
	/* A new request: directories the thread kept for the last are let go. */
	backing_scope();
	if (!caller_allowed(fs, ctx->uid))
		return -EACCES;
	pthread_rwlock_rdlock(&fs->pol_lock);
	pthread_mutex_lock(&fs->lock);
	l = node_level(fs, n);
	if (n == &fs->root && l == LEVEL_NONE)
		l = LEVEL_VIEW;
	r = authz_node(need, l, !n->hashed && n != &fs->root);
	/* The path also for a denial: its audit record names it. */
	if (path && r != -ENOENT && node_path(fs, n, path, POLICY_MAX_PATH) < 0) {
		path[0] = '\0';
		r = -ENAMETOOLONG;
	}
	if (es)
		*es = n->es;
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&fs->pol_lock);
	if (level)
		*level = l;
	return r;
}

struct fs *fs_new(const struct fs_config *cfg)
{
	struct fs *fs = xcalloc(1, sizeof(*fs));

	fs->b = cfg->backing;
	fs->pol = cfg->policy;
	fs->owner = cfg->owner;
	fs->nallow = cfg->nallow;
	fs->allow = xcalloc(cfg->nallow, sizeof(*fs->allow));
	if (cfg->nallow)
		memcpy(fs->allow, cfg->allow, cfg->nallow * sizeof(*fs->allow));
	fs->timeout = cfg->timeout;
	fs->audit = cfg->audit;
	fs->quota = cfg->delta_quota;
	fs->max_open = cfg->max_open;
	fs->max_listed = cfg->max_listed;
	fs->used = cfg->delta_used;
	fs->gen = 1;
	fs->root.is_dir = true;
	fs->root.nlookup = 1;
	{
		struct stat st;

		/* mount_run has opened the layers: the root is there. */
		delta_root(fs->b, &fs->root.es, &st);
	}
	fs->tabsize = 1024;
	fs->tab = xcalloc(fs->tabsize, sizeof(*fs->tab));
	pthread_mutex_init(&fs->lock, NULL);
	pthread_rwlock_init(&fs->pol_lock, NULL);
	return fs;
}

void fs_set_session(struct fs *fs, struct fuse_session *se)
{
	fs->se = se;
}

void fs_set_readahead(struct fs *fs, char *path)
{
	free(fs->ra_path);
	fs->ra_path = path;
}

/* At teardown: what node N holds (the open files the kernel never
 * released among it), and N itself unless it is the root. */
static void node_destroy(struct fs *fs, struct node *n)
{
	ops_free_handles(n);
	neg_clear(n);
	ops_forget_listing(n);
	if (n == &fs->root)
		return;
	free(n->name);
	free(n);
}

void fs_free(struct fs *fs)
{
	size_t i;

	if (!fs)
		return;
	free(fs->ra_path);
	for (i = 0; i < fs->tabsize; i++) {
		struct node *n = fs->tab[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			node_destroy(fs, n);
		}
	}
	while (fs->orphans) {
		struct node *n = fs->orphans;

		fs->orphans = n->onext;
		node_destroy(fs, n);
	}
	node_destroy(fs, &fs->root);
	ops_free_dirs(fs);
	free(fs->tab);
	free(fs->allow);
	policy_free(fs->pol);
	pthread_mutex_destroy(&fs->lock);
	pthread_rwlock_destroy(&fs->pol_lock);
	free(fs);
}

struct inval {
	fuse_ino_t parent, ino;	/* parent 0: no entry; ino 0: a negative entry */
	char *name;
};

struct invals {
	struct inval *v;
	size_t n, cap;
};

static void inval_add(struct invals *iv, fuse_ino_t parent, fuse_ino_t ino, const char *name)
{
	if (iv->n == iv->cap) {
		iv->cap = iv->cap ? 2 * iv->cap : 64;
		iv->v = xreallocarray(iv->v, iv->cap, sizeof(*iv->v));
	}
	iv->v[iv->n].parent = parent;
	iv->v[iv->n].ino = ino;
	iv->v[iv->n++].name = name ? xstrdup(name) : NULL;
}

/* What the kernel may have cached about N: its entry, its attributes and
 * listing, and the negative entries given out in it. */
static void collect(struct fs *fs, struct node *n, struct invals *iv)
{
	size_t k;

	inval_add(iv, n->parent ? node_ino(fs, n->parent) : 0, node_ino(fs, n), n->name);
	for (k = 0; k < n->nneg; k++)
		inval_add(iv, node_ino(fs, n), 0, n->neg[k]);
	neg_clear(n);
}

void fs_replace_policy(struct fs *fs, struct policy *pol)
{
	struct invals iv = { 0 };
	struct policy *old;
	size_t i;

	pthread_rwlock_wrlock(&fs->pol_lock);
	pthread_mutex_lock(&fs->lock);
	old = fs->pol;
	fs->pol = pol;
	fs->gen++;
	collect(fs, &fs->root, &iv);
	for (i = 0; i < fs->tabsize; i++) {
		struct node *m;

		for (m = fs->tab[i]; m; m = m->hnext)
			collect(fs, m, &iv);
	}
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&fs->pol_lock);
	policy_free(old);
	/* Outside the locks: the kernel may call back into us. */
	for (i = 0; i < iv.n; i++) {
		struct inval *v = &iv.v[i];

		if (v->parent)
			fuse_lowlevel_notify_inval_entry(fs->se, v->parent, v->name,
							 strlen(v->name));
		if (v->ino)
			fuse_lowlevel_notify_inval_inode(fs->se, v->ino, 0, 0);
		free(v->name);
	}
	free(iv.v);
}
