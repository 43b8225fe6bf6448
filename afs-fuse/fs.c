/* fs.c - inodes, the gate and the FUSE operations of afs-fuse.
 *
 * MUST (DESIGN.md 2.1; tests/t1xxx):
 * - every op passes gate() before it touches the backing store: the caller
 *   must be the owner, root or an allowed uid (else EACCES); a node at
 *   none is ENOENT for every op; the op's need is checked against the
 *   node's level;
 * - a name at none is answered as a missing one (a negative entry) and
 *   never listed;
 * - the level of a node is decided from its parent's (none under a hidden
 *   directory) and cached with the policy generation; a reload re-decides;
 * - mode bits reflect the level; access(2) agrees with the policy;
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

#include "fs.h"
#include "util.h"

/* Names of hidden or missing entries answered negatively, per directory,
 * so that a reload can make the kernel forget them.  Past this many a
 * directory's negative answers are not cached (the kernel asks again). */
#define NEG_MAX 256

struct node {
	struct node *parent;	/* NULL for the root */
	char *name;
	uint64_t nlookup;	/* kernel references */
	uint64_t kids;		/* child nodes, which point at us */
	struct node *hnext;	/* hash chain by (parent, name) */
	bool is_dir;
	unsigned gen;		/* policy generation of level */
	enum level level;
	char **neg;		/* negative names given out (directories) */
	size_t nneg;
	bool neg_full;
	struct timespec mtime;	/* at the last open, for keep_cache */
	off_t size;
};

struct fs {
	struct backing *b;
	uid_t owner;
	uid_t *allow;
	size_t nallow;
	double timeout;
	struct fuse_session *se;

	pthread_rwlock_t pol_lock;
	struct policy *pol;
	unsigned gen;
	pthread_mutex_t lock;
	struct node root;
	struct node **tab;
	size_t tabsize, count;
};

struct dirsnap {
	size_t n;
	char **names;
	unsigned char *types;
	ino_t *inos;
};

/* ---- node table ---------------------------------------------------------- */

static size_t node_hash(const struct node *parent, const char *name)
{
	uint64_t h = (uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	return (size_t)h;
}

static struct node *node_find(struct fs *fs, struct node *parent, const char *name)
{
	struct node *n = fs->tab[node_hash(parent, name) & (fs->tabsize - 1)];

	while (n && !(n->parent == parent && strcmp(n->name, name) == 0))
		n = n->hnext;
	return n;
}

static void table_insert(struct fs *fs, struct node *n)
{
	size_t i;

	if (2 * (fs->count + 1) > fs->tabsize) {
		size_t nsize = fs->tabsize * 2;
		struct node **ntab = xcalloc(nsize, sizeof(*ntab));

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
	fs->count++;
}

static void table_remove(struct fs *fs, struct node *n)
{
	struct node **p = &fs->tab[node_hash(n->parent, n->name) & (fs->tabsize - 1)];

	while (*p != n)
		p = &(*p)->hnext;
	*p = n->hnext;
	fs->count--;
}

static void neg_clear(struct node *n)
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
static void node_unref(struct fs *fs, struct node *n, uint64_t lookups)
{
	n->nlookup -= lookups;
	while (n != &fs->root && n->nlookup == 0 && n->kids == 0) {
		struct node *parent = n->parent;

		table_remove(fs, n);
		neg_clear(n);
		free(n->name);
		free(n);
		parent->kids--;
		n = parent;
	}
}

static struct node *ino_node(struct fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &fs->root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t node_ino(struct fs *fs, struct node *n)
{
	return n == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

/* The node's path into BUF (PATH_MAX); caller holds fs->lock. */
static int node_path(struct fs *fs, struct node *n, char *buf, size_t size)
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
static enum level node_level(struct fs *fs, struct node *n)
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

enum need {
	NEED_VISIBLE,	/* stat, readlink, lookup in, list: view */
	NEED_READ,	/* open for reading or executing */
	NEED_WRITE,	/* modify */
};

static bool caller_allowed(const struct fs *fs, uid_t uid)
{
	size_t i;

	if (uid == 0 || uid == fs->owner)
		return true;
	for (i = 0; i < fs->nallow; i++)
		if (fs->allow[i] == uid)
			return true;
	return false;
}

/* Every op starts here.  Returns 0 or the errno to answer, and the node's
 * path in PATH (PATH_MAX) and level in *LEVEL. */
static int gate(fuse_req_t req, struct fs *fs, fuse_ino_t ino, enum need need,
		char *path, enum level *level)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct node *n = ino_node(fs, ino);
	enum level l;
	int r = 0;

	if (!caller_allowed(fs, ctx->uid))
		return EACCES;
	pthread_rwlock_rdlock(&fs->pol_lock);
	pthread_mutex_lock(&fs->lock);
	l = node_level(fs, n);
	if (n == &fs->root && l == LEVEL_NONE)
		l = LEVEL_VIEW;
	if (l == LEVEL_NONE)
		r = ENOENT;
	else if ((need == NEED_READ && l < LEVEL_READ) || (need == NEED_WRITE && l < LEVEL_WRITE))
		r = EACCES;
	if (!r && path && node_path(fs, n, path, POLICY_MAX_PATH) < 0)
		r = ENAMETOOLONG;
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&fs->pol_lock);
	if (level)
		*level = l;
	return r;
}

/* The mode the mount presents at LEVEL. */
static mode_t present_mode(mode_t m, enum level l)
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

/* ---- lookup ---------------------------------------------------------------- */

static void remember_negative(struct fs *fs, struct node *dir, const char *name,
			      double *timeout)
{
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < dir->nneg; i++)
		if (strcmp(dir->neg[i], name) == 0)
			goto out;
	if (dir->nneg == NEG_MAX) {
		dir->neg_full = true;
	} else {
		dir->neg = xreallocarray(dir->neg, dir->nneg + 1, sizeof(*dir->neg));
		dir->neg[dir->nneg++] = xstrdup(name);
	}
out:
	if (dir->neg_full)
		*timeout = 0;
	pthread_mutex_unlock(&fs->lock);
}

/* Look NAME up in DIR (whose path is DPATH): fills E and takes a lookup
 * reference, or returns ENOENT (hidden or missing) or another errno. */
static int do_lookup(struct fs *fs, struct node *dir, const char *dpath,
		     const char *name, struct fuse_entry_param *e)
{
	char path[POLICY_MAX_PATH];
	struct verdict v;
	struct stat st;
	struct node *n;
	size_t dlen = strlen(dpath), nlen = strlen(name);
	unsigned gen;
	int r;

	if (dlen + 1 + nlen + 1 > sizeof(path))
		return ENAMETOOLONG;
	memcpy(path, dpath, dlen);
	if (dlen > 1)
		path[dlen++] = '/';
	memcpy(path + dlen, name, nlen + 1);
	r = backing_lstat(fs->b, path, &st);
	if (r < 0)
		return -r;

	pthread_rwlock_rdlock(&fs->pol_lock);
	policy_decide(fs->pol, path, dlen + nlen, S_ISDIR(st.st_mode), &v);
	gen = fs->gen;	/* a reload after this makes the node decide again */
	pthread_rwlock_unlock(&fs->pol_lock);
	if (v.level == LEVEL_NONE)
		return ENOENT;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, dir, name);
	if (!n) {
		n = xcalloc(1, sizeof(*n));
		n->parent = dir;
		n->name = xstrdup(name);
		dir->kids++;
		table_insert(fs, n);
	}
	n->is_dir = S_ISDIR(st.st_mode);
	n->level = v.level;
	n->gen = gen;
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);

	memset(e, 0, sizeof(*e));
	e->ino = node_ino(fs, n);
	e->attr = st;
	e->attr.st_mode = present_mode(st.st_mode, v.level);
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fuse_req_userdata(req);
	char dpath[POLICY_MAX_PATH];
	struct fuse_entry_param e;
	int r = gate(req, fs, parent, NEED_VISIBLE, dpath, NULL);

	if (!r)
		r = do_lookup(fs, ino_node(fs, parent), dpath, name, &e);
	if (r == ENOENT) {
		/* Hidden or missing: a negative entry the kernel may cache. */
		double t = fs->timeout;

		remember_negative(fs, ino_node(fs, parent), name, &t);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = t;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = fuse_req_userdata(req);

	pthread_mutex_lock(&fs->lock);
	node_unref(fs, ino_node(fs, ino), nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct fs *fs = fuse_req_userdata(req);
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < count; i++)
		node_unref(fs, ino_node(fs, f[i].ino), f[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

/* ---- attributes, links, access --------------------------------------------- */

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	char path[POLICY_MAX_PATH];
	enum level l;
	struct stat st;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l);

	(void)fi;
	if (!r)
		r = -backing_lstat(fs->b, path, &st);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	st.st_mode = present_mode(st.st_mode, l);
	fuse_reply_attr(req, &st, fs->timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);
	char path[POLICY_MAX_PATH], buf[PATH_MAX + 1];
	int r = gate(req, fs, ino, NEED_VISIBLE, path, NULL);
	ssize_t n;

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	n = backing_readlink(fs->b, path, buf, sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = fuse_req_userdata(req);
	char path[POLICY_MAX_PATH];
	enum level l;
	struct stat st;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l);

	if (!r && mask != F_OK) {
		r = -backing_lstat(fs->b, path, &st);
		if (!r) {
			mode_t m = present_mode(st.st_mode, l);

			/* The presented bits are the policy: nobody, root
			 * included, gets more than they say. */
			if (((mask & R_OK) && !(m & 0444)) || ((mask & W_OK) && !(m & 0222)) ||
			    ((mask & X_OK) && !(m & 0111)))
				r = EACCES;
		}
	}
	fuse_reply_err(req, r);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);
	struct statfs sf;
	struct statvfs sv;
	int r = gate(req, fs, ino, NEED_VISIBLE, NULL, NULL);

	if (!r)
		r = -backing_statfs(fs->b, &sf);
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = (unsigned long)sf.f_bsize;
	sv.f_frsize = (unsigned long)(sf.f_frsize ? sf.f_frsize : sf.f_bsize);
	sv.f_blocks = sf.f_blocks;
	sv.f_bfree = sf.f_bfree;
	sv.f_bavail = sf.f_bavail;
	sv.f_files = sf.f_files;
	sv.f_ffree = sf.f_ffree;
	sv.f_favail = sf.f_ffree;
	sv.f_namemax = (unsigned long)sf.f_namelen;
	fuse_reply_statfs(req, &sv);
}

/* ---- files ----------------------------------------------------------------- */

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	char path[POLICY_MAX_PATH];
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct node *n = ino_node(fs, ino);
	struct stat st;
	int r = gate(req, fs, ino, writing ? NEED_WRITE : NEED_READ, path, NULL);
	int fd;

	if (!r && writing)
		r = EROFS;	/* writes go to the delta, which this build lacks */
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	fd = backing_open_file(fs->b, path, O_RDONLY);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (fstat(fd, &st) == 0) {
		/* Keep the page cache when the file has not changed since the
		 * last open. */
		pthread_mutex_lock(&fs->lock);
		fi->keep_cache = n->mtime.tv_sec == st.st_mtim.tv_sec &&
				 n->mtime.tv_nsec == st.st_mtim.tv_nsec && n->size == st.st_size;
		n->mtime = st.st_mtim;
		n->size = st.st_size;
		pthread_mutex_unlock(&fs->lock);
	}
	fi->fh = (uint64_t)fd;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- directories ----------------------------------------------------------- */

static void snap_free(struct dirsnap *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->types);
	free(d->inos);
	free(d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fuse_req_userdata(req);
	char path[POLICY_MAX_PATH];
	struct dirsnap *d;
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;
	int fd, r = gate(req, fs, ino, NEED_VISIBLE, path, NULL);

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	fd = backing_open_dir(fs->b, path);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	dir = fdopendir(fd);
	if (!dir) {
		r = errno;
		close(fd);
		fuse_reply_err(req, r);
		return;
	}
	/* A snapshot: offsets are indexes into it, and no fd stays open. */
	d = xcalloc(1, sizeof(*d));
	while ((errno = 0, de = readdir(dir))) {
		if (d->n == cap) {
			cap = cap ? 2 * cap : 32;
			d->names = xreallocarray(d->names, cap, sizeof(*d->names));
			d->types = xreallocarray(d->types, cap, sizeof(*d->types));
			d->inos = xreallocarray(d->inos, cap, sizeof(*d->inos));
		}
		d->types[d->n] = de->d_type;
		d->inos[d->n] = de->d_ino;
		d->names[d->n++] = xstrdup(de->d_name);
	}
	r = errno;
	closedir(dir);
	if (r) {
		snap_free(d);
		fuse_reply_err(req, r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static bool dot_or_dotdot(const char *s)
{
	return s[0] == '.' && (s[1] == '\0' || (s[1] == '.' && s[2] == '\0'));
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fuse_req_userdata(req);
	struct dirsnap *d = (struct dirsnap *)(uintptr_t)fi->fh;
	char dpath[POLICY_MAX_PATH];
	char *buf, *p;
	size_t rem = size, i;
	int r = gate(req, fs, ino, NEED_VISIBLE, dpath, NULL);

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	buf = p = xmalloc(size);
	for (i = (size_t)off; i < d->n; i++) {
		const char *name = d->names[i];
		struct fuse_entry_param e;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (dot_or_dotdot(name)) {
			e.attr.st_ino = d->inos[i];
			e.attr.st_mode = S_IFDIR;
		} else if (plus) {
			/* Room first: a lookup takes a reference the kernel
			 * only returns for entries it received. */
			need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
			if (need > rem)
				break;
			if (do_lookup(fs, ino_node(fs, ino), dpath, name, &e) != 0)
				continue;	/* hidden, or gone since opendir */
		} else {
			char path[POLICY_MAX_PATH];
			struct verdict v;
			size_t dl = strlen(dpath);
			bool is_dir = d->types[i] == DT_DIR;
			struct stat st;

			size_t nl = strlen(name);

			if (dl + 1 + nl + 1 > sizeof(path))
				continue;
			memcpy(path, dpath, dl);
			if (dl > 1)
				path[dl++] = '/';
			memcpy(path + dl, name, nl + 1);
			if (d->types[i] == DT_UNKNOWN) {
				if (backing_lstat(fs->b, path, &st) < 0)
					continue;
				is_dir = S_ISDIR(st.st_mode);
			}
			pthread_rwlock_rdlock(&fs->pol_lock);
			policy_decide(fs->pol, path, strlen(path), is_dir, &v);
			pthread_rwlock_unlock(&fs->pol_lock);
			if (v.level == LEVEL_NONE)
				continue;
			e.attr.st_ino = d->inos[i];
			e.attr.st_mode = (mode_t)d->types[i] << 12;
		}
		if (plus)
			need = fuse_add_direntry_plus(req, p, rem, name, &e, (off_t)(i + 1));
		else
			need = fuse_add_direntry(req, p, rem, name, &e.attr, (off_t)(i + 1));
		if (need > rem) {
			if (plus && e.ino) {
				pthread_mutex_lock(&fs->lock);
				node_unref(fs, ino_node(fs, e.ino), 1);
				pthread_mutex_unlock(&fs->lock);
			}
			break;
		}
		p += need;
		rem -= need;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	snap_free((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* Measured here: the writeback cache hurts; readdirplus helps. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.access = op_access,
	.statfs = op_statfs,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
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
	fs->gen = 1;
	fs->root.is_dir = true;
	fs->root.nlookup = 1;
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

void fs_free(struct fs *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->tabsize; i++) {
		struct node *n = fs->tab[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			neg_clear(n);
			free(n->name);
			free(n);
		}
	}
	neg_clear(&fs->root);
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
