/* ops.c - the FUSE operations of afs-fuse.
 *
 * MUST (afs-fuse(1) LEVELS AND ERRORS and THE DELTA; tests/t1xxx):
 * - every op starts with gate() (or child(), which gates the directory and
 *   decides the name) before it touches a layer;
 * - every permission decision is authz.c's: an op finds the levels (the
 *   node's, the new name's) and asks there, and audits as a denial only
 *   what authz.c refused (audit_change's REFUSED);
 * - every write goes to the upper layer: an entry of the lower layer is
 *   copied up first, a removed one is whited out;
 * - a rename never changes an entry's level: directories (whose subtree
 *   the rules may treat differently under the new name) answer EXDEV, so
 *   mv copies and deletes them file by file, each checked;
 * - names of the delta format (.wh.*) are never shown and never made.
 *
 * Ops on an open handle (read, write, release, fsync, readdir's snapshot)
 * work with what open or opendir decided, as any filesystem keeps an open
 * file usable after a chmod.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "auditlog.h"
#include "fs_int.h"
#include "ops_int.h"
#include "loop.h"
#include "util.h"


int join(const char *dir, const char *name, char *out)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > POLICY_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (dl > 1)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
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
		char **neg = reallocarray(dir->neg, dir->nneg + 1, sizeof(*dir->neg));
		char *s = neg ? strdup(name) : NULL;

		if (neg)
			dir->neg = neg;
		if (s)
			dir->neg[dir->nneg++] = s;
		else
			*timeout = 0;	/* out of memory: not cached, nothing to forget */
	}
out:
	if (dir->neg_full)
		*timeout = 0;
	pthread_mutex_unlock(&fs->lock);
}

/* The node for NAME in DIR, found or made, with one more lookup reference,
 * its entry in E; -ENOMEM when it cannot be made. */
static int node_add(struct fs *fs, struct node *dir, const char *name, const struct stat *st,
		    const struct estate *es, enum level level, unsigned gen,
		    struct fuse_entry_param *e)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, dir, name);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (n)
			n->name = strdup(name);
		if (!n || !n->name) {
			pthread_mutex_unlock(&fs->lock);
			free(n);
			return -ENOMEM;
		}
		n->parent = dir;
		dir->kids++;
		table_insert(fs, n);
	}
	n->is_dir = S_ISDIR(st->st_mode);
	n->es = *es;
	n->ino = st->st_ino;
	n->level = level;
	n->gen = gen;
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);

	memset(e, 0, sizeof(*e));
	e->ino = node_ino(fs, n);
	e->attr = *st;
	e->attr.st_mode = authz_mode(st->st_mode, level);
	hide_nlink(&e->attr);
	e->attr_timeout = attr_timeout(fs, st);
	e->entry_timeout = fs->timeout;
	return 0;
}

/* Decide PATH; returns its level and the generation decided under. */
enum level decide(struct fs *fs, const char *path, bool is_dir, unsigned *gen)
{
	struct verdict v;

	pthread_rwlock_rdlock(&fs->pol_lock);
	policy_decide(fs->pol, path, strlen(path), is_dir, &v);
	*gen = fs->gen;	/* a reload after this makes the node decide again */
	pthread_rwlock_unlock(&fs->pol_lock);
	return v.level;
}

/* Look NAME up in DIR (path DPATH, state DES; DIRS its open directories or
 * NULL): fills E and takes a lookup reference, or returns -ENOENT (hidden or
 * missing; when hidden, its path goes to HIDDEN if given) or another -errno. */
int do_lookup(struct fs *fs, struct node *dir, const char *dpath,
	      const struct estate *des, const struct dirfds *dirs, const char *name,
	      struct fuse_entry_param *e, char *hidden)
{
	char path[POLICY_MAX_PATH];
	struct estate es;
	struct stat st;
	enum level l;
	unsigned gen;
	int r = join(dpath, name, path);

	if (r)
		return r;
	r = dirs ? delta_child_in(fs->b, dirs, path, des, &es, &st)
		 : delta_child(fs->b, path, des, &es, &st);
	if (r < 0)
		return r;
	l = decide(fs, path, S_ISDIR(st.st_mode), &gen);
	if (l == LEVEL_NONE) {
		if (hidden)
			strcpy(hidden, path);	/* for the audit record */
		return -ENOENT;
	}
	return node_add(fs, dir, name, &st, &es, l, gen, e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	char dpath[POLICY_MAX_PATH], hidden[POLICY_MAX_PATH] = "";
	struct fuse_entry_param e;
	struct estate des;
	int r = gate(req, fs, parent, NEED_VISIBLE, dpath, NULL, &des);

	if (!r)
		r = do_lookup(fs, ino_node(fs, parent), dpath, &des, NULL, name, &e, hidden);
	if (hidden[0] && auditing(fs, AUDIT_DENY)) {
		struct event ev = { .op = "lookup", .path = hidden, .bytes = -1 };

		audit_emit(req, fs, &ev, "hide", ENOENT);
	}
	if (r == -ENOENT) {
		/* Hidden or missing: a negative entry the kernel may cache. */
		double t = fs->timeout;

		remember_negative(fs, ino_node(fs, parent), name, &t);
		memset(&e, 0, sizeof(e));
		e.entry_timeout = t;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = FS(req);

	pthread_mutex_lock(&fs->lock);
	node_unref(fs, ino_node(fs, ino), nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct fs *fs = FS(req);
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < count; i++)
		node_unref(fs, ino_node(fs, f[i].ino), f[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

/* ---- where an entry lives ------------------------------------------------- */

/* The attributes of node INO as presented. */
static int node_stat(struct fs *fs, fuse_ino_t ino, const char *path, const struct estate *es,
		     enum level l, struct stat *st)
{
	int r;

	if (ino == FUSE_ROOT_ID) {
		struct estate rs;

		r = delta_root(fs->b, &rs, st);
	} else {
		r = backing_lstat(fs->b, layer_of(es), path, st);
	}
	if (r < 0)
		return r;
	st->st_mode = authz_mode(st->st_mode, l);
	return 0;
}

/* Make the directory node N (at PATH) exist in the upper layer, its
 * ancestors first. */
int ensure_upper_dir(struct fs *fs, struct node *n)
{
	char path[POLICY_MAX_PATH];
	struct node *parent;
	bool up;
	int r;

	pthread_mutex_lock(&fs->lock);
	up = n->es.in_upper;
	parent = n->parent;
	r = node_path(fs, n, path, sizeof(path));
	pthread_mutex_unlock(&fs->lock);
	if (up)
		return 0;
	if (r < 0)
		return r;
	if (parent && (r = ensure_upper_dir(fs, parent)) != 0)
		return r;
	r = delta_copy_up(fs->b, path, NULL);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->lock);
	n->es.in_upper = true;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Gate the directory, find NAME in the merge and decide its level (as a
 * directory when it exists as one, else when IS_DIR). */
static int child(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name,
		 bool is_dir, struct child *c)
{
	int r;

	c->path[0] = '\0';
	c->hidden = false;
	c->refused = 0;
	r = gate(req, fs, parent, NEED_VISIBLE, c->dpath, NULL, &c->des);
	if (r)
		return r;
	c->dir = ino_node(fs, parent);
	r = join(c->dpath, name, c->path);
	if (r)
		return r;
	r = delta_child(fs->b, c->path, &c->des, &c->es, &c->st);
	if (r < 0 && r != -ENOENT)
		return r;
	c->exists = r == 0;
	c->level = decide(fs, c->path, c->exists ? S_ISDIR(c->st.st_mode) : is_dir, &c->gen);
	return 0;
}

/* Creating NAME: it must be writable, whether or not it exists. */
static int child_create(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name,
			bool is_dir, struct child *c)
{
	int r = child(req, fs, parent, name, is_dir, c);

	if (r)
		return r;
	r = authz_create(c->level, name, c->exists);
	if (r)
		return c->refused = r;
	r = ensure_upper_dir(fs, c->dir);
	if (r)
		return r;
	/* A deleted name comes back without its old content. */
	return c->es.wh ? delta_unwhiteout(fs->b, c->path) : 0;
}

/* Removing or renaming NAME: it must exist (visibly) and be writable. */
static int child_change(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name,
			struct child *c)
{
	int r = child(req, fs, parent, name, false, c);

	if (r)
		return r;
	return c->refused = authz_remove(c->level, c->exists, &c->hidden);
}

/* Give the new entry at PATH (made with MODE, 0 for a link) to the caller,
 * as the kernel would have: the caller's uid; the directory's gid when it
 * is setgid (the backing file system gave it already), else the caller's;
 * and the mode again, since a chown clears setuid and setgid. */
static void own_made(fuse_req_t req, struct fs *fs, struct child *c, int fd, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat dst;
	gid_t gid = ctx->gid;

	if (!backing_root())
		return;
	if (backing_lstat(fs->b, UPPER, c->dpath, &dst) == 0 && (dst.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (fd >= 0) {
		if (fchown(fd, ctx->uid, gid) == 0 && (mode & (S_ISUID | S_ISGID)))
			fchmod(fd, mode & 07777);
	} else if (backing_chown(fs->b, c->path, ctx->uid, gid) == 0 && (mode & (S_ISUID | S_ISGID))) {
		backing_chmod(fs->b, c->path, mode & 07777);
	}
}

/* The made entry, looked up. */
static void reply_made(fuse_req_t req, struct fs *fs, struct child *c, const char *name)
{
	struct fuse_entry_param e;
	struct estate des;
	int r;

	pthread_mutex_lock(&fs->lock);
	des = c->dir->es;
	pthread_mutex_unlock(&fs->lock);
	r = do_lookup(fs, c->dir, c->dpath, &des, NULL, name, &e, NULL);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* After NAME in DIR went away: a node still cached for it is orphaned. */
static void forget_name(struct fs *fs, struct node *dir, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, dir, name);
	if (n) {
		n->es.in_upper = n->es.in_lower = false;
		node_orphan(fs, n);
	}
	pthread_mutex_unlock(&fs->lock);
}

/* ---- attributes, links, access --------------------------------------------- */

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	enum level l;
	struct estate es;
	struct stat st;
	struct node *n = ino_node(fs, ino);
	int r = gate(req, fs, ino, NEED_HANDLE, path, &l, &es), fd = -1;
	bool gone;

	pthread_mutex_lock(&fs->lock);
	gone = !n->hashed && n != &fs->root;
	pthread_mutex_unlock(&fs->lock);
	/* A file whose name went away (unlinked, renamed over) is still
	 * there for its open files: ask one of them.  The kernel passes the
	 * open file itself only for some calls. */
	if (!r && (fi || gone)) {
		fd = fi ? fcntl(H(fi)->fd, F_DUPFD_CLOEXEC, 0) : node_open_fd(fs, n, UPPER, true);
		if (fd < 0)
			r = -ENOENT;
		else if (fstat(fd, &st) < 0)
			r = -errno;
		else
			st.st_mode = authz_mode(st.st_mode, l);
		if (fd >= 0)
			close(fd);
	} else if (!r) {
		r = node_stat(fs, ino, path, &es, l, &st);
	}
	if (r) {
		fuse_reply_err(req, -r);
	} else {
		show_attr(fs, n, &st);
		fuse_reply_attr(req, &st, attr_timeout(fs, &st));
	}
}

static bool may_chown(const struct fuse_ctx *ctx, const struct stat *st, int valid,
		      const struct stat *attr)
{
	if (ctx->uid == 0)
		return true;
	if ((valid & FUSE_SET_ATTR_UID) && attr->st_uid != st->st_uid)
		return false;
	/* A group change by the owner to its own group. */
	return !(valid & FUSE_SET_ATTR_GID) ||
	       (ctx->uid == st->st_uid && attr->st_gid == ctx->gid);
}

/* Is node N open for writing (the kernel drops privileges for a write)? */
static bool open_for_writing(struct fs *fs, struct node *n)
{
	struct handle *h;
	bool w = false;

	pthread_mutex_lock(&fs->lock);
	for (h = n->handles; h && !w; h = h->next)
		w = strchr(h->mode, 'w') != NULL;
	pthread_mutex_unlock(&fs->lock);
	return w;
}

/* Is NEW the mode OLD with some of setuid and setgid cleared, no more? */
static bool drops_privs_only(mode_t old, mode_t new)
{
	const mode_t privs = S_ISUID | S_ISGID;

	old &= 07777;
	new &= 07777;
	return new != old && (new & ~privs) == (old & ~privs) && (new & ~old) == 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[POLICY_MAX_PATH] = "";
	struct node *n = ino_node(fs, ino);
	enum level l;
	struct estate es;
	struct stat st;
	/* Through the open file when it is one of the upper layer (ftruncate
	 * and the like): it stays right when its name went away or was
	 * taken by another file.  Never through one of the lower layer, which
	 * is never modified.  (The kernel may pass a directory's handle too,
	 * which is no struct handle.) */
	int fd = fi && !n->is_dir && H(fi)->layer == UPPER ? H(fi)->fd : -1, own = -1, r;
	int refused = 0;	/* afs's own refusal, for the audit */
	mode_t drop = 0;	/* a non-owner's chmod: the bits it takes off */
	bool gone;

	pthread_mutex_lock(&fs->lock);
	gone = !n->hashed && n != &fs->root;
	pthread_mutex_unlock(&fs->lock);
	if (fd < 0 && gone)
		fd = own = node_open_fd(fs, n, UPPER, false);
	r = gate(req, fs, ino, fd >= 0 ? NEED_HANDLE : NEED_WRITE, path, &l, &es);
	struct event ev = { .op = "setattr", .path = path, .bytes = -1 };

	if (r == -ENOENT)
		path[0] = '\0';	/* hidden or gone: not named */
	if (!r)
		r = authz_node(NEED_WRITE, l, false);
	refused = r;
	if (r)
		goto out;
	if (fd >= 0)
		r = fstat(fd, &st) < 0 ? -errno : 0;
	else
		r = node_stat(fs, ino, path, &es, l, &st);
	if (r)
		goto out;
	if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !may_chown(ctx, &st, valid, attr)) {
		r = refused = -EPERM;
		goto out;
	}
	/* chmod is the owner's, but for the kernel dropping setuid/setgid of
	 * a file for a writer (and nothing else): that is the writer's right,
	 * and only those bits are taken off the mode as it is then. */
	if ((valid & FUSE_SET_ATTR_MODE) && ctx->uid != 0 && ctx->uid != st.st_uid) {
		if (!S_ISREG(st.st_mode) || !drops_privs_only(st.st_mode, attr->st_mode) ||
		    !open_for_writing(fs, n)) {
			r = refused = -EPERM;
			goto out;
		}
		drop = st.st_mode & ~attr->st_mode & (S_ISUID | S_ISGID);
	}
	/* As chmod(2) does natively: set-group-ID is kept only for a caller
	 * in the file's group (or root), and silently dropped otherwise. */
	if ((valid & FUSE_SET_ATTR_MODE) && (attr->st_mode & S_ISGID) && ctx->uid != 0 &&
	    !in_group(req, valid & FUSE_SET_ATTR_GID ? attr->st_gid : st.st_gid))
		attr->st_mode &= ~(mode_t)S_ISGID;
	if ((valid & FUSE_SET_ATTR_SIZE) && S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (fd < 0 && (r = copy_up(fs, n, path)) != 0)
		goto out;
	if (valid & FUSE_SET_ATTR_MODE) {
		mode_t mode = attr->st_mode & 07777;

		if (drop) {
			struct stat now;

			r = fd >= 0 ? (fstat(fd, &now) < 0 ? -errno : 0)
				    : backing_lstat(fs->b, UPPER, path, &now);
			if (r)
				goto out;
			mode = now.st_mode & 07777 & ~drop;
		}
		r = fd >= 0 ? (fchmod(fd, mode) < 0 ? -errno : 0)
			    : backing_chmod(fs->b, path, mode);
		if (r)
			goto out;
		if (mode & (S_ISUID | S_ISGID))
			arm_drop_privs(fs, n);
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		r = fd >= 0 ? (fchown(fd, uid, gid) < 0 ? -errno : 0)
			    : backing_chown(fs->b, path, uid, gid);
		if (r)
			goto out;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		int tfd = fd >= 0 ? fd : backing_open_file(fs->b, UPPER, path, O_WRONLY, 0);

		if (tfd < 0) {
			r = tfd;
			goto out;
		}
		struct stat t0, t1;
		bool measured = fs->quota > 0 && fstat(tfd, &t0) == 0;

		r = measured && over_quota(fs, attr->st_size - t0.st_size) ? -ENOSPC : 0;
		if (!r)
			r = ftruncate(tfd, attr->st_size) < 0 ? -errno : 0;
		if (measured && fstat(tfd, &t1) == 0)
			quota_add(fs, data_of(&t1) - data_of(&t0));
		if (tfd != fd)
			close(tfd);
		if (r)
			goto out;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		r = fd >= 0 ? (futimens(fd, ts) < 0 ? -errno : 0) : backing_utimens(fs->b, path, ts);
		if (r)
			goto out;
	}
	if (fd >= 0) {
		r = fstat(fd, &st) < 0 ? -errno : 0;
		if (!r)
			st.st_mode = authz_mode(st.st_mode, l);
	} else {
		pthread_mutex_lock(&fs->lock);
		es = n->es;
		pthread_mutex_unlock(&fs->lock);
		r = node_stat(fs, ino, path, &es, l, &st);
	}
out:
	if (own >= 0)
		close(own);
	if (path[0])
		audit_change(req, fs, &ev, r, false, refused);
	if (r) {
		fuse_reply_err(req, -r);
	} else {
		show_attr(fs, n, &st);
		fuse_reply_attr(req, &st, attr_timeout(fs, &st));
	}
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH], buf[PATH_MAX + 1];
	struct estate es;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, NULL, &es);
	ssize_t n;

	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	n = backing_readlink(fs->b, layer_of(&es), path, buf, sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	enum level l;
	struct estate es;
	struct stat st;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, &es);

	/* The answer open(2) would give, for every caller, root included:
	 * the policy decides, not the owner and mode bits (as in open); only
	 * executing needs an x bit of the file itself. */
	if (!r && mask != F_OK) {
		r = node_stat(fs, ino, path, &es, l, &st);
		if (!r) {
			r = authz_access(l, st.st_mode, mask);
		}
	}
	fuse_reply_err(req, -r);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct statfs sf;
	struct statvfs sv;
	int r = gate(req, fs, ino, NEED_VISIBLE, NULL, NULL, NULL);

	if (!r)
		r = backing_statfs(fs->b, &sf);
	if (r) {
		fuse_reply_err(req, -r);
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

/* ---- making and removing names ------------------------------------------- */

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fs *fs = FS(req);
	struct child c;
	int r;

	struct event ev = { .op = "create", .path = c.path, .bytes = -1 };

	/* Device nodes never, in any visible directory. */
	if (authz_mknod(mode)) {
		r = child(req, fs, parent, name, false, &c);
		r = r ? r : (c.refused = authz_mknod(mode));
	} else {
		r = child_create(req, fs, parent, name, false, &c);
		if (!r)
			r = backing_mknod(fs->b, c.path, mode, rdev);
		if (!r)
			own_made(req, fs, &c, -1, mode);
	}
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, -r);
	else
		reply_made(req, fs, &c, name);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_create(req, fs, parent, name, true, &c);
	struct event ev = { .op = "mkdir", .path = c.path, .bytes = -1 };

	/* A directory is looked up with its opaque marker (PATH/.wh..wh..opq)
	 * right after: refuse now a path too long for that, rather than make
	 * a directory and then fail (found by tests/t5001). */
	if (!r && strlen(c.path) + sizeof("/" DELTA_OPAQUE) > POLICY_MAX_PATH)
		r = -ENAMETOOLONG;
	if (!r)
		r = backing_mkdir(fs->b, c.path, mode);
	if (!r)
		own_made(req, fs, &c, -1, mode);
	/* Over a deleted lower entry: its old content must not come back. */
	if (!r && c.es.wh)
		r = delta_set_opaque(fs->b, c.path);
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, -r);
	else
		reply_made(req, fs, &c, name);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_create(req, fs, parent, name, false, &c);
	struct event ev = { .op = "symlink", .path = c.path, .to = target, .bytes = -1 };

	if (!r)
		r = backing_symlink(fs->b, target, c.path);
	if (!r)
		own_made(req, fs, &c, -1, 0);
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, -r);
	else
		reply_made(req, fs, &c, name);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_create(req, fs, parent, name, false, &c), fd;
	struct event ev = { .op = "create", .path = c.path, .mode = open_mode(fi->flags),
			    .bytes = -1 };

	if (r) {
		if (c.path[0])
			audit_change(req, fs, &ev, r, false, c.refused);
		fuse_reply_err(req, -r);
		return;
	}
	/* Before the file is made: a refused open leaves nothing behind. */
	if (!open_slot(fs)) {
		fuse_reply_err(req, EMFILE);
		return;
	}
	fd = backing_open_file(fs->b, UPPER, c.path,
			       (fi->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT)) | O_CREAT | O_EXCL,
			       mode);
	if (fd < 0) {
		open_slot_free(fs);
		fuse_reply_err(req, -fd);
		return;
	}
	audit_change(req, fs, &ev, 0, false, 0);
	{
		struct fuse_entry_param e;
		struct estate es = { .in_upper = true, .in_lower = c.es.wh };
		struct stat st;

		/* The new file is in the upper layer, over the lower entry a
		 * whiteout hid, if any: no need to look it up again. */
		own_made(req, fs, &c, fd, mode);
		r = fstat(fd, &st) < 0 ? -errno : 0;
		if (!r) {
			st.st_ino = backing_ino(fs->b, UPPER, st.st_ino);
			r = node_add(fs, c.dir, name, &st, &es, c.level, c.gen, &e);
		}
		/* Its writes are counted in an open record at release. */
		if (!r) {
			fi->fh = (uint64_t)(uintptr_t)handle_new(req, fs, ino_node(fs, e.ino), fd,
								 UPPER, c.path, fi->flags, true);
			if (!fi->fh) {
				/* Answered with an error: the kernel takes no
				 * reference to the entry. */
				pthread_mutex_lock(&fs->lock);
				node_unref(fs, ino_node(fs, e.ino), 1);
				pthread_mutex_unlock(&fs->lock);
				r = -ENOMEM;
			}
		}
		if (r) {
			close(fd);
			open_slot_free(fs);
			fuse_reply_err(req, -r);
			return;
		}
		open_io(req, fs, fi, H(fi), &st);
		fi->noflush = 1;
		fuse_reply_create(req, &e, fi);
	}
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	struct node *n = ino_node(fs, ino);
	struct child c;
	enum level l;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, NULL), refused = 0;
	struct event ev = { .op = "link", .path = path, .to = c.path, .bytes = -1 };

	c.path[0] = '\0';
	if (!r) {
		r = refused = authz_link(l, n->is_dir);
		/* Only to name the new link in the audit record. */
		if (r == -EACCES && auditing(fs, AUDIT_DENY) &&
		    child(req, fs, newparent, newname, false, &c))
			c.path[0] = '\0';
	}
	if (!r) {
		r = child_create(req, fs, newparent, newname, false, &c);
		refused = c.refused;
		if (r && r == c.refused)
			ev.rule_path = c.path;	/* the new name refused it */
	}
	if (!r)
		r = copy_up(fs, n, path);
	if (!r)
		r = backing_link(fs->b, path, c.path);
	if (r != -ENOENT || c.path[0])
		audit_change(req, fs, &ev, r, false, refused);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Each name is a node of its own (see attr_timeout): the new name is
	 * looked up as any made entry, so that unlinking either name leaves
	 * the other's dentry pointing at a live node.  The old name's link
	 * count, cached while it had one name, is stale now. */
	fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	reply_made(req, fs, &c, newname);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_change(req, fs, parent, name, &c);
	struct event ev = { .op = "unlink", .path = c.path, .bytes = -1 };

	int64_t freed = 0;

	if (!r && S_ISDIR(c.st.st_mode))
		r = -EISDIR;
	if (!r && c.es.in_upper) {
		freed = upper_data(fs, c.path);
		r = backing_unlink(fs->b, c.path);
		if (!r)
			quota_add(fs, -freed);
	}
	/* Never brought up: what SOURCE had is recorded now. */
	if (!r && c.es.in_lower && !c.es.in_upper)
		r = delta_note_lower(fs->b, c.path);
	if (!r && c.es.in_lower)
		r = ensure_upper_dir(fs, c.dir) ? -EIO : delta_whiteout(fs->b, c.path);
	if (!r)
		forget_name(fs, c.dir, name);
	if (c.path[0])
		audit_change(req, fs, &ev, r, c.hidden, c.refused);
	fuse_reply_err(req, -r);
}

/* Is the merged directory C empty, counting the entries the policy hides
 * and SOURCE's names of the delta's format?  Removing it would delete
 * them all at commit. */
static int merged_empty(struct fs *fs, struct child *c)
{
	struct dirsnap *d;
	size_t i, n = 0;
	int r = delta_list(fs->b, c->path, &c->es, NULL, &d);

	if (r < 0)
		return r;
	for (i = 0; i < d->n; i++)
		if (strcmp(d->names[i], ".") && strcmp(d->names[i], ".."))
			n++;
	dirsnap_free(d);
	if (n == 0 && delta_lower_reserved(fs->b, c->path, &c->es))
		n = 1;	/* names of SOURCE the view never shows */
	return n ? -ENOTEMPTY : 0;
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_change(req, fs, parent, name, &c);
	struct event ev = { .op = "rmdir", .path = c.path, .bytes = -1 };

	if (!r && !S_ISDIR(c.st.st_mode))
		r = -ENOTDIR;
	if (!r)
		r = merged_empty(fs, &c);
	if (!r && c.es.in_upper) {
		r = delta_clear_markers(fs->b, c.path);
		if (!r)
			r = backing_rmdir(fs->b, c.path);
	}
	/* Never brought up: what SOURCE had is recorded now. */
	if (!r && c.es.in_lower && !c.es.in_upper)
		r = delta_note_lower(fs->b, c.path);
	if (!r && c.es.in_lower)
		r = ensure_upper_dir(fs, c.dir) ? -EIO : delta_whiteout(fs->b, c.path);
	if (!r)
		forget_name(fs, c.dir, name);
	if (c.path[0])
		audit_change(req, fs, &ev, r, c.hidden, c.refused);
	fuse_reply_err(req, -r);
}

/* Are the entries A and B one inode of the backing store? */
static bool same_backing(struct fs *fs, const struct child *a, const struct child *b)
{
	struct stat sa, sb;
	enum layer l = layer_of(&a->es);

	return backing_lstat(fs->b, l, a->path, &sa) == 0 &&
	       backing_lstat(fs->b, l, b->path, &sb) == 0 &&
	       sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = FS(req);
	struct child from, to;
	struct node *n = NULL, *over;
	struct event ev = { .op = "rename", .path = from.path, .to = to.path, .bytes = -1 };
	char *to_name = NULL, *from_name = NULL;	/* the nodes' new names */
	int r;

	from.path[0] = to.path[0] = '\0';
	from.refused = to.refused = 0;
	from.hidden = false;

	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = child_change(req, fs, parent, name, &from);
	if (!r)
		r = child(req, fs, newparent, newname, S_ISDIR(from.st.st_mode), &to);
	if (!r) {
		r = to.refused = authz_rename_to(to.level, newname);
		if (r == -EACCES)
			ev.rule_path = to.path;	/* the new name refused it */
	}
	if (!r && strcmp(from.path, to.path) == 0)
		goto out;
	/* Two names of one file: rename(2) does nothing.  The numbers shown
	 * are a first filter; the backing inodes decide. */
	if (!r && to.exists && !(flags & RENAME_EXCHANGE) && from.st.st_ino == to.st.st_ino &&
	    from.es.in_upper == to.es.in_upper && same_backing(fs, &from, &to))
		goto out;
	/* A directory's subtree may fall under other rules under its new
	 * name: let mv copy it file by file. */
	if (!r && (S_ISDIR(from.st.st_mode) || (to.exists && S_ISDIR(to.st.st_mode))))
		r = to.exists && S_ISDIR(to.st.st_mode) && !S_ISDIR(from.st.st_mode) &&
		    !(flags & RENAME_EXCHANGE) ? -EISDIR : -EXDEV;
	if (!r && (flags & RENAME_NOREPLACE) && to.exists)
		r = -EEXIST;
	if (!r && (flags & RENAME_EXCHANGE) && !to.exists)
		r = -ENOENT;
	if (r)
		goto out;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, from.dir, name);
	pthread_mutex_unlock(&fs->lock);
	/* Made before anything changes: out of memory leaves all as it was. */
	if (n && (!(to_name = strdup(newname)) ||
		  ((flags & RENAME_EXCHANGE) && !(from_name = strdup(name))))) {
		r = -ENOMEM;
		goto out;
	}
	/* No node (the kernel renames a name it looked up, but a reload may
	 * have made it forget): bring the entry up by its path. */
	if (n)
		r = copy_up(fs, n, from.path);
	else if (!from.es.in_upper && !(r = ensure_upper_dir(fs, from.dir)))
		r = delta_copy_up(fs->b, from.path, NULL);
	if (!r && (flags & RENAME_EXCHANGE)) {
		struct node *m;

		pthread_mutex_lock(&fs->lock);
		m = node_find(fs, to.dir, newname);
		pthread_mutex_unlock(&fs->lock);
		r = m ? copy_up(fs, m, to.path) : -ENOENT;
	}
	if (!r)
		r = ensure_upper_dir(fs, to.dir);
	/* Over an entry of SOURCE never brought up: record what it was. */
	if (!r && !(flags & RENAME_EXCHANGE) && to.exists && !to.es.in_upper)
		r = delta_note_lower(fs->b, to.path);
	/* Only when a whiteout is there: a long name has no room for one. */
	if (!r && !(flags & RENAME_EXCHANGE) && to.es.wh)
		r = delta_unwhiteout(fs->b, to.path);
	if (!r) {
		int64_t freed = to.exists && to.es.in_upper && !(flags & RENAME_EXCHANGE)
					? upper_data(fs, to.path) : 0;

		r = backing_rename(fs->b, from.path, to.path, flags & RENAME_EXCHANGE);
		if (!r)
			quota_add(fs, -freed);
	}
	/* The source's lower entry is still there: hide it.  (An exchange
	 * leaves both names in place.) */
	if (!r && !(flags & RENAME_EXCHANGE) && from.es.in_lower)
		r = delta_whiteout(fs->b, from.path);
	if (r)
		goto out;

	/* The nodes follow their entries. */
	pthread_mutex_lock(&fs->lock);
	over = node_find(fs, to.dir, newname);
	if (over && n && (flags & RENAME_EXCHANGE)) {
		table_remove(fs, over);
		node_move(fs, n, to.dir, to_name);
		node_move(fs, over, from.dir, from_name);
		to_name = from_name = NULL;
	} else {
		if (over)
			node_orphan(fs, over);
		if (n)
			node_move(fs, n, to.dir, to_name);
		to_name = NULL;
	}
	pthread_mutex_unlock(&fs->lock);
	if (n)
		refresh(fs, n, to.path);
	if (over && n && (flags & RENAME_EXCHANGE))
		refresh(fs, over, from.path);
out:
	if (from.path[0])
		audit_change(req, fs, &ev, r, from.hidden, from.refused ? from.refused : to.refused);
	free(to_name);
	free(from_name);
	fuse_reply_err(req, -r);
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
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.access = op_access,
	.create = op_create,
	.fallocate = op_fallocate,
	.copy_file_range = op_copy_file_range,
	.lseek = op_lseek,
};

const struct fuse_lowlevel_ops *fs_ops(void)
{
	return &ops;
}
