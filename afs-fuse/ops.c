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
#include "loop.h"
#include "util.h"

/* open(2) passes this for an exec (the kernel's __FMODE_EXEC). */
#define OPEN_EXEC 040

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int join(const char *dir, const char *name, char *out)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > POLICY_MAX_PATH)
		return ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (dl > 1)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
}

/* ---- audit records --------------------------------------------------------- */

/* Bumped at every open for exec: the process is about to take another
 * name, and a cached one would be wrong for its first second (found by
 * tests/t5004). */
static unsigned exec_gen;

/* The command name of PID, from /proc, cached per thread for a second,
 * or until some process execs a file of the mount.  (Never its session:
 * the sandbox sets its own environment, so that comes from the caller
 * only, as --session.) */
static void proc_of(pid_t pid, char comm[16])
{
	static __thread struct {
		pid_t pid;
		unsigned gen;
		time_t at;
		char comm[16];
	} cache[64];
	unsigned i = (unsigned)pid % 64;
	time_t now = time(NULL);
	char p[64];
	ssize_t n;
	int fd;

	unsigned gen = __atomic_load_n(&exec_gen, __ATOMIC_RELAXED);

	if (cache[i].pid == pid && now - cache[i].at < 1 && cache[i].gen == gen) {
		memcpy(comm, cache[i].comm, 16);
		return;
	}
	comm[0] = '\0';
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, 15);
		close(fd);
		if (n > 0 && comm[n - 1] == '\n')
			n--;
		comm[n > 0 ? n : 0] = '\0';
	}
	cache[i].pid = pid;
	cache[i].gen = gen;
	cache[i].at = now;
	memcpy(cache[i].comm, comm, 16);
}

/* What an audit record of an op knows. */
struct event {
	const char *op;
	const char *path;
	const char *to;
	const char *mode;
	int64_t bytes;		/* -1: none */
	const struct timespec *ts;	/* NULL: now */
	pid_t pid;		/* 0: the request's */
	uid_t uid;
	const char *comm;	/* with pid: as the process was at the time */
	const char *rule_path;	/* whose rule decided, when not PATH's */
};

static bool auditing(const struct fs *fs, enum audit_level need)
{
	return fs->audit && auditlog_level(fs->audit) >= need;
}

/* Emit the record of EV with decision DECISION and errno ERR (0: none),
 * naming the rule that decides its path. */
static void audit_emit(fuse_req_t req, struct fs *fs, const struct event *ev,
		       const char *decision, int err)
{
	const struct fuse_ctx *ctx = req ? fuse_req_ctx(req) : NULL;
	struct audit_rec r;
	struct verdict v;
	char comm[16], rule[POLICY_MAX_PATH + 32];

	audit_rec_init(&r);
	if (ev->ts)
		r.ts = *ev->ts;
	else
		clock_gettime(CLOCK_REALTIME, &r.ts);
	r.mount = auditlog_mount(fs->audit);
	r.pid = ev->pid ? ev->pid : ctx ? ctx->pid : 0;
	r.uid = ev->pid ? ev->uid : ctx ? ctx->uid : 0;
	r.has_uid = true;
	if (ev->pid) {
		r.comm = ev->comm && ev->comm[0] ? ev->comm : NULL;
	} else if (r.pid) {
		proc_of(r.pid, comm);
		r.comm = comm[0] ? comm : NULL;
	}
	/* The session of a mount made for one (--session); none otherwise. */
	r.session = auditlog_session(fs->audit);
	r.op = ev->op;
	r.path = ev->path;
	r.to = ev->to;
	r.mode = ev->mode;
	r.decision = decision;
	r.err = err;
	r.bytes = ev->bytes;
	/* The rule's strings live as long as the policy: format under it. */
	pthread_rwlock_rdlock(&fs->pol_lock);
	if (ev->path) {
		const char *rp = ev->rule_path ? ev->rule_path : ev->path;

		/* The ops reach a path through visible directories: deciding
		 * the path alone names the rule, without the ancestors' cost. */
		policy_decide(fs->pol, rp, strlen(rp), false, &v);
		if (v.rule) {
			snprintf(rule, sizeof(rule), "%s:%d", v.rule->file, v.rule->line);
			r.rule = rule;
			r.reason = v.rule->reason;
		} else {
			r.rule = v.why == WHY_IMPLICIT ? "implicit" : "default";
		}
	}
	auditlog_emit(fs->audit, &r);
	pthread_rwlock_unlock(&fs->pol_lock);
}

/* The record of an op that changes the tree, after it answered R: a
 * denial at deny level (R is REFUSED, the errno afs's own decision gave:
 * authz.c's, not a backing call's, nor a directory rename's EXDEV, which
 * only tells mv to copy), a done change at write level. */
static void audit_change(fuse_req_t req, struct fs *fs, const struct event *ev, int r,
			 bool hidden, int refused)
{
	if (hidden && auditing(fs, AUDIT_DENY))
		audit_emit(req, fs, ev, "hide", ENOENT);
	else if (r && r == refused && (r == EACCES || r == EPERM) && auditing(fs, AUDIT_DENY))
		audit_emit(req, fs, ev, "deny", r);
	else if (r == 0 && auditing(fs, AUDIT_WRITE))
		audit_emit(req, fs, ev, "allow", 0);
}

/* An open file. */
struct handle {
	int fd;
	enum layer layer;	/* where fd is: writes through it need UPPER */
	struct node *node;
	struct handle *next;	/* the node's other open files (fs->lock) */
	bool record;		/* an open record is due at release */
	bool unpriv;		/* a writer without privileges (see drop_privs) */
	bool killpriv;		/* atomic: the file may have setuid/setgid for
				 * its next write to drop */
	int64_t bytes;		/* read or written through it */
	struct timespec opened;
	pid_t pid;
	uid_t uid;
	char comm[16];		/* read at open: the process may be gone at release */
	char mode[3];
	char path[];
};

/* Is the caller of REQ in group GID?  (Reads /proc: only when needed.) */
static bool in_group(fuse_req_t req, gid_t gid)
{
	gid_t list[64];
	int n = fuse_req_getgroups(req, 64, list);

	if (gid == fuse_req_ctx(req)->gid)
		return true;
	for (int i = 0; i < n && i < 64; i++)
		if (list[i] == gid)
			return true;
	return false;
}

/* How an open does its I/O.  Write-only opens go past the page cache
 * (FOPEN_DIRECT_IO): nothing can be read or mapped through them anyway,
 * and a cached write would first ask afs-fuse for the file's
 * security.capability, a round trip for every write(2), to drop
 * privileges the kernel itself drops then.  So the setuid and setgid bits
 * a write by an unprivileged caller removes are removed by afs-fuse
 * (drop_privs), armed here when the file has them and by a chmod that
 * sets them (op_setattr): a write costs nothing more otherwise. */
static void open_io(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi,
		    struct handle *h, const struct stat *st)
{
	struct handle *o;
	bool alone = true;

	/* Coherence: the kernel drops the cached pages a direct write covers,
	 * so opens made later see it; but pages an open made earlier holds
	 * were seen to stay (kernel 6.18).  So a write-only open goes direct
	 * only when it is the file's only open. */
	pthread_mutex_lock(&fs->lock);
	for (o = h->node->handles; o; o = o->next)
		alone &= o == h;
	h->unpriv = (fi->flags & O_ACCMODE) != O_RDONLY && fuse_req_ctx(req)->uid != 0;
	h->killpriv = h->unpriv && (st->st_mode & (S_ISUID | S_ISGID));
	pthread_mutex_unlock(&fs->lock);
	fi->direct_io = alone && (fi->flags & O_ACCMODE) == O_WRONLY;
}

/* Before a write through H by a writer without privileges: drop setuid,
 * and setgid with group exec or when the writer is not in the file's
 * group, as the kernel does natively (its FUSE code, for the cached
 * writes of other opens, drops only the former two; direct writes none). */
static void drop_privs(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct handle *h)
{
	struct stat st;
	mode_t kill = 0;

	if (!__atomic_load_n(&h->killpriv, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(&h->killpriv, false, __ATOMIC_RELAXED))
		return;
	if (fstat(h->fd, &st) < 0)
		return;
	if (st.st_mode & S_ISUID)
		kill |= S_ISUID;
	if ((st.st_mode & S_ISGID) && ((st.st_mode & S_IXGRP) || !in_group(req, st.st_gid)))
		kill |= S_ISGID;
	/* The kernel caches the mode: it must ask again. */
	if (kill && fchmod(h->fd, st.st_mode & 07777 & ~kill) == 0)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
}

/* A chmod set setuid or setgid on N: its unprivileged writers drop them
 * at their next write. */
static void arm_drop_privs(struct fs *fs, struct node *n)
{
	struct handle *h;

	pthread_mutex_lock(&fs->lock);
	for (h = n->handles; h; h = h->next)
		if (h->unpriv)
			__atomic_store_n(&h->killpriv, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fs->lock);
}

/* At teardown: the open files of N the kernel never released. */
void ops_free_handles(struct node *n)
{
	struct handle *h;

	while ((h = n->handles)) {
		n->handles = h->next;
		close(h->fd);
		free(h);
	}
}

static struct handle *H(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static const char *open_mode(int flags)
{
	if (flags & OPEN_EXEC)
		return "x";
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return "w";
	case O_RDWR:
		return "rw";
	default:
		return (flags & O_TRUNC) ? "w" : "r";
	}
}

/* A directory's link count would tell how many subdirectories it has,
 * hidden ones included: directories show 1, the "not counted" that btrfs
 * shows too (find(1) then makes no leaf-directory guesses). */
static void hide_nlink(struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		st->st_nlink = 1;
}

/* Attributes of node N as the kernel gets them, from a stat of its
 * backing entry or of an open file of it. */
static void show_attr(struct fs *fs, struct node *n, struct stat *st)
{
	hide_nlink(st);
	if (n != &fs->root) {
		pthread_mutex_lock(&fs->lock);
		st->st_ino = n->ino;
		pthread_mutex_unlock(&fs->lock);
	}
}

/* A slot of --max-open for a new open file or directory, or false: the
 * sandbox's open files are afs-fuse's too, and must not take all its fds
 * (nor those of other sandboxes on the mount). */
static bool open_slot(struct fs *fs)
{
	if (__atomic_add_fetch(&fs->nopen, 1, __ATOMIC_RELAXED) <= fs->max_open)
		return true;
	__atomic_sub_fetch(&fs->nopen, 1, __ATOMIC_RELAXED);
	return false;
}

static void open_slot_free(struct fs *fs)
{
	__atomic_sub_fetch(&fs->nopen, 1, __ATOMIC_RELAXED);
}

/* A handle for FD, recording at release when the level asks for it. */
static struct handle *handle_new(fuse_req_t req, struct fs *fs, struct node *n, int fd,
				 enum layer layer, const char *path, int flags, bool writing)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct handle *h = xcalloc(1, sizeof(*h) + strlen(path) + 1);

	h->fd = fd;
	h->layer = layer;
	h->node = n;
	pthread_mutex_lock(&fs->lock);
	h->next = n->handles;
	n->handles = h;
	pthread_mutex_unlock(&fs->lock);
	h->record = auditing(fs, writing ? AUDIT_WRITE : AUDIT_ACCESS);
	clock_gettime(CLOCK_REALTIME, &h->opened);
	h->pid = ctx->pid;
	h->uid = ctx->uid;
	if (h->record)
		proc_of(h->pid, h->comm);
	strcpy(h->mode, open_mode(flags));
	strcpy(h->path, path);
	return h;
}

/* An fd of an open file of N in LAYER (any layer when ANY), dup'ed, or -1:
 * for fstat and the like on a file whose name went away. */
static int node_open_fd(struct fs *fs, struct node *n, enum layer layer, bool any)
{
	struct handle *h;
	int fd = -1;

	pthread_mutex_lock(&fs->lock);
	for (h = n->handles; h; h = h->next)
		if (any || h->layer == layer)
			break;
	if (h)
		fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&fs->lock);
	return fd;
}

/* How long the kernel may keep attributes.  Each name of a file with hard
 * links is an inode of its own here: none may cache what a write through
 * another name changes. */
static double attr_timeout(const struct fs *fs, const struct stat *st)
{
	return !S_ISDIR(st->st_mode) && st->st_nlink > 1 ? 0 : fs->timeout;
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

/* The node for NAME in DIR, found or made, with one more lookup reference,
 * its entry in E. */
static void node_add(struct fs *fs, struct node *dir, const char *name, const struct stat *st,
		     const struct estate *es, enum level level, unsigned gen,
		     struct fuse_entry_param *e)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, dir, name);
	if (!n) {
		n = xcalloc(1, sizeof(*n));
		n->parent = dir;
		n->name = xstrdup(name);
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
}

/* Decide PATH; returns its level and the generation decided under. */
static enum level decide(struct fs *fs, const char *path, bool is_dir, unsigned *gen)
{
	struct verdict v;

	pthread_rwlock_rdlock(&fs->pol_lock);
	policy_decide(fs->pol, path, strlen(path), is_dir, &v);
	*gen = fs->gen;	/* a reload after this makes the node decide again */
	pthread_rwlock_unlock(&fs->pol_lock);
	return v.level;
}

/* Look NAME up in DIR (path DPATH, state DES; DIRS its open directories or
 * NULL): fills E and takes a lookup reference, or returns ENOENT (hidden or
 * missing; when hidden, its path goes to HIDDEN if given) or another errno. */
static int do_lookup(struct fs *fs, struct node *dir, const char *dpath,
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
		return -r;
	l = decide(fs, path, S_ISDIR(st.st_mode), &gen);
	if (l == LEVEL_NONE) {
		if (hidden)
			strcpy(hidden, path);	/* for the audit record */
		return ENOENT;
	}
	node_add(fs, dir, name, &st, &es, l, gen, e);
	return 0;
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

static enum layer layer_of(const struct estate *es)
{
	return es->in_upper ? UPPER : LOWER;
}

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
		return -r;
	st->st_mode = authz_mode(st->st_mode, l);
	return 0;
}

/* Make the directory node N (at PATH) exist in the upper layer, its
 * ancestors first. */
static int ensure_upper_dir(struct fs *fs, struct node *n)
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
		return -r;
	if (parent && (r = ensure_upper_dir(fs, parent)) != 0)
		return r;
	r = delta_copy_up(fs->b, path, NULL);
	if (r < 0)
		return -r;
	pthread_mutex_lock(&fs->lock);
	n->es.in_upper = true;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* ---- the delta quota (--delta-quota) ---------------------------------------
 * What counts is, for each file of the delta, the larger of its size and
 * the space its blocks take: a hole is free on the delta's disk, but not
 * on SOURCE's if a program there (or a commit) ever writes it out, and
 * `truncate -s 1T` must not pass a 1 MiB quota.
 * An op that may add some is refused with ENOSPC when what it may add does
 * not fit; what it really added is measured after it, so the count stays
 * exact whatever the estimate.  Concurrent writers may pass the check
 * together: the quota can be exceeded by one write per writer, no more. */
static int64_t data_of(const struct stat *st)
{
	int64_t blocks = (int64_t)st->st_blocks * 512;

	if (!S_ISREG(st->st_mode))
		return 0;
	return blocks > st->st_size ? blocks : (int64_t)st->st_size;
}

static bool over_quota(struct fs *fs, int64_t more)
{
	return fs->quota > 0 && more > 0 &&
	       __atomic_load_n(&fs->used, __ATOMIC_RELAXED) + more > fs->quota;
}

static void quota_add(struct fs *fs, int64_t d)
{
	if (fs->quota > 0 && d)
		__atomic_add_fetch(&fs->used, d, __ATOMIC_RELAXED);
}

/* The data the upper file at PATH frees when its last name goes. */
static int64_t upper_data(struct fs *fs, const char *path)
{
	struct stat st;

	if (fs->quota <= 0 || backing_lstat(fs->b, UPPER, path, &st) != 0 || st.st_nlink != 1)
		return 0;
	return data_of(&st);
}

/* Bring the entry of node N up for writing. */
static int copy_up(struct fs *fs, struct node *n, const char *path)
{
	struct estate es;
	struct stat lst;
	int r;

	pthread_mutex_lock(&fs->lock);
	es = n->es;
	pthread_mutex_unlock(&fs->lock);
	if (es.in_upper)
		return 0;
	if (n->is_dir)
		return ensure_upper_dir(fs, n);
	if (n->parent && (r = ensure_upper_dir(fs, n->parent)) != 0)
		return r;
	r = backing_lstat(fs->b, LOWER, path, &lst);
	if (r < 0)
		return -r;
	if (fs->quota > 0 && over_quota(fs, data_of(&lst)))
		return ENOSPC;
	/* Other requests go on while a large file is copied. */
	if (lst.st_size > LOOP_INLINE_BYTES)
		loop_release_lead();
	r = delta_copy_up(fs->b, path, &lst);
	if (r < 0 && r != -EEXIST)
		return -r;
	/* The number the copy shows is its origin's, but for a file of SOURCE
	 * with more names (the copy breaks its links: afs-fuse(1) BUGS) or a
	 * delta without user xattrs: its own. */
	bool own_ino = r >= 0 && (lst.st_nlink != 1 || !delta_origin(fs->b, path));
	struct stat ust;

	if ((own_ino || (r >= 0 && fs->quota > 0)) && backing_lstat(fs->b, UPPER, path, &ust) == 0) {
		quota_add(fs, data_of(&ust));
		if (own_ino) {
			pthread_mutex_lock(&fs->lock);
			n->ino = backing_ino(fs->b, UPPER, ust.st_ino);
			pthread_mutex_unlock(&fs->lock);
		}
	}
	pthread_mutex_lock(&fs->lock);
	n->es.in_upper = true;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Find where node N's entry (at PATH) lives now, from its parent's state. */
static int refresh(struct fs *fs, struct node *n, const char *path)
{
	struct estate pes, es;
	struct stat st;
	int r;

	pthread_mutex_lock(&fs->lock);
	pes = n->parent->es;
	pthread_mutex_unlock(&fs->lock);
	r = delta_child(fs->b, path, &pes, &es, &st);
	if (r < 0)
		return -r;
	pthread_mutex_lock(&fs->lock);
	n->es = es;
	n->ino = st.st_ino;
	n->is_dir = S_ISDIR(st.st_mode);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Move node N to (DIR, NAME); caller holds fs->lock. */
static void node_move(struct fs *fs, struct node *n, struct node *dir, const char *name)
{
	table_remove(fs, n);
	n->parent->kids--;
	n->parent = dir;
	dir->kids++;
	free(n->name);
	n->name = xstrdup(name);
	n->gen = 0;	/* decide again under the new name */
	table_insert(fs, n);
}

/* A name in a directory, for the ops that make, remove or rename it. */
struct child {
	struct node *dir;
	char dpath[POLICY_MAX_PATH];
	struct estate des;
	char path[POLICY_MAX_PATH];
	bool exists;
	struct estate es;
	struct stat st;
	enum level level;
	unsigned gen;
	bool hidden;	/* it exists, at none */
	int refused;	/* the errno authz.c refused it with, or 0 */
};

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
		return -r;
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
	r = c->es.wh ? delta_unwhiteout(fs->b, c->path) : 0;
	return r < 0 ? -r : 0;
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
		fuse_reply_err(req, r);
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
			r = ENOENT;
		else if (fstat(fd, &st) < 0)
			r = errno;
		else
			st.st_mode = authz_mode(st.st_mode, l);
		if (fd >= 0)
			close(fd);
	} else if (!r) {
		r = node_stat(fs, ino, path, &es, l, &st);
	}
	if (r) {
		fuse_reply_err(req, r);
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

	if (r == ENOENT)
		path[0] = '\0';	/* hidden or gone: not named */
	if (!r)
		r = authz_node(NEED_WRITE, l, false);
	refused = r;
	if (r)
		goto out;
	if (fd >= 0)
		r = fstat(fd, &st) < 0 ? errno : 0;
	else
		r = node_stat(fs, ino, path, &es, l, &st);
	if (r)
		goto out;
	if ((valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !may_chown(ctx, &st, valid, attr)) {
		r = refused = EPERM;
		goto out;
	}
	/* chmod is the owner's, but for the kernel dropping setuid/setgid of
	 * a file for a writer (and nothing else): that is the writer's right,
	 * and only those bits are taken off the mode as it is then. */
	if ((valid & FUSE_SET_ATTR_MODE) && ctx->uid != 0 && ctx->uid != st.st_uid) {
		if (!S_ISREG(st.st_mode) || !drops_privs_only(st.st_mode, attr->st_mode) ||
		    !open_for_writing(fs, n)) {
			r = refused = EPERM;
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
		r = EISDIR;
		goto out;
	}
	if (fd < 0 && (r = copy_up(fs, n, path)) != 0)
		goto out;
	if (valid & FUSE_SET_ATTR_MODE) {
		mode_t mode = attr->st_mode & 07777;

		if (drop) {
			struct stat now;

			r = fd >= 0 ? (fstat(fd, &now) < 0 ? errno : 0)
				    : -backing_lstat(fs->b, UPPER, path, &now);
			if (r)
				goto out;
			mode = now.st_mode & 07777 & ~drop;
		}
		r = fd >= 0 ? (fchmod(fd, mode) < 0 ? errno : 0)
			    : -backing_chmod(fs->b, path, mode);
		if (r)
			goto out;
		if (mode & (S_ISUID | S_ISGID))
			arm_drop_privs(fs, n);
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		r = fd >= 0 ? (fchown(fd, uid, gid) < 0 ? errno : 0)
			    : -backing_chown(fs->b, path, uid, gid);
		if (r)
			goto out;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		int tfd = fd >= 0 ? fd : backing_open_file(fs->b, UPPER, path, O_WRONLY, 0);

		if (tfd < 0) {
			r = -tfd;
			goto out;
		}
		struct stat t0, t1;
		bool measured = fs->quota > 0 && fstat(tfd, &t0) == 0;

		r = measured && over_quota(fs, attr->st_size - t0.st_size) ? ENOSPC : 0;
		if (!r)
			r = ftruncate(tfd, attr->st_size) < 0 ? errno : 0;
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
		r = fd >= 0 ? (futimens(fd, ts) < 0 ? errno : 0) : -backing_utimens(fs->b, path, ts);
		if (r)
			goto out;
	}
	if (fd >= 0) {
		r = fstat(fd, &st) < 0 ? errno : 0;
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
		fuse_reply_err(req, r);
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
		fuse_reply_err(req, r);
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
	fuse_reply_err(req, r);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct statfs sf;
	struct statvfs sv;
	int r = gate(req, fs, ino, NEED_VISIBLE, NULL, NULL, NULL);

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
			r = -backing_mknod(fs->b, c.path, mode, rdev);
		if (!r)
			own_made(req, fs, &c, -1, mode);
	}
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, r);
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
	if (!r && strlen(c.path) + sizeof("/.wh..wh..opq") > POLICY_MAX_PATH)
		r = ENAMETOOLONG;
	if (!r)
		r = -backing_mkdir(fs->b, c.path, mode);
	if (!r)
		own_made(req, fs, &c, -1, mode);
	/* Over a deleted lower entry: its old content must not come back. */
	if (!r && c.es.wh)
		r = -delta_set_opaque(fs->b, c.path);
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, r);
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
		r = -backing_symlink(fs->b, target, c.path);
	if (!r)
		own_made(req, fs, &c, -1, 0);
	if (c.path[0])
		audit_change(req, fs, &ev, r, false, c.refused);
	if (r)
		fuse_reply_err(req, r);
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
		fuse_reply_err(req, r);
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
		if (fstat(fd, &st) < 0) {
			r = errno;
			close(fd);
			open_slot_free(fs);
			fuse_reply_err(req, r);
			return;
		}
		st.st_ino = backing_ino(fs->b, UPPER, st.st_ino);
		node_add(fs, c.dir, name, &st, &es, c.level, c.gen, &e);
		/* Its writes are counted in an open record at release. */
		fi->fh = (uint64_t)(uintptr_t)handle_new(req, fs, ino_node(fs, e.ino), fd, UPPER,
							 c.path, fi->flags, true);
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
		if (r == EACCES && auditing(fs, AUDIT_DENY) &&
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
		r = -backing_link(fs->b, path, c.path);
	if (r != ENOENT || c.path[0])
		audit_change(req, fs, &ev, r, false, refused);
	if (r) {
		fuse_reply_err(req, r);
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
		r = EISDIR;
	if (!r && c.es.in_upper) {
		freed = upper_data(fs, c.path);
		r = -backing_unlink(fs->b, c.path);
		if (!r)
			quota_add(fs, -freed);
	}
	if (!r && c.es.in_lower)
		r = ensure_upper_dir(fs, c.dir) ? EIO : -delta_whiteout(fs->b, c.path);
	if (!r)
		forget_name(fs, c.dir, name);
	if (c.path[0])
		audit_change(req, fs, &ev, r, c.hidden, c.refused);
	fuse_reply_err(req, r);
}

/* Is the merged directory C empty, counting the entries the policy hides
 * and SOURCE's names of the delta's format?  Removing it would delete
 * them all at commit. */
static int merged_empty(struct fs *fs, struct child *c)
{
	struct dirsnap *d;
	size_t i, n = 0;
	int r = delta_list(fs->b, c->path, &c->es, SIZE_MAX, &d);

	if (r < 0)
		return -r;
	for (i = 0; i < d->n; i++)
		if (strcmp(d->names[i], ".") && strcmp(d->names[i], ".."))
			n++;
	dirsnap_free(d);
	if (n == 0 && delta_lower_reserved(fs->b, c->path, &c->es))
		n = 1;	/* names of SOURCE the view never shows */
	return n ? ENOTEMPTY : 0;
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct child c;
	int r = child_change(req, fs, parent, name, &c);
	struct event ev = { .op = "rmdir", .path = c.path, .bytes = -1 };

	if (!r && !S_ISDIR(c.st.st_mode))
		r = ENOTDIR;
	if (!r)
		r = merged_empty(fs, &c);
	if (!r && c.es.in_upper) {
		r = -delta_clear_markers(fs->b, c.path);
		if (!r)
			r = -backing_rmdir(fs->b, c.path);
	}
	if (!r && c.es.in_lower)
		r = ensure_upper_dir(fs, c.dir) ? EIO : -delta_whiteout(fs->b, c.path);
	if (!r)
		forget_name(fs, c.dir, name);
	if (c.path[0])
		audit_change(req, fs, &ev, r, c.hidden, c.refused);
	fuse_reply_err(req, r);
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
		if (r == EACCES)
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
		    !(flags & RENAME_EXCHANGE) ? EISDIR : EXDEV;
	if (!r && (flags & RENAME_NOREPLACE) && to.exists)
		r = EEXIST;
	if (!r && (flags & RENAME_EXCHANGE) && !to.exists)
		r = ENOENT;
	if (r)
		goto out;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, from.dir, name);
	pthread_mutex_unlock(&fs->lock);
	/* No node (the kernel renames a name it looked up, but a reload may
	 * have made it forget): bring the entry up by its path. */
	if (n)
		r = copy_up(fs, n, from.path);
	else if (!from.es.in_upper && !(r = ensure_upper_dir(fs, from.dir)))
		r = -delta_copy_up(fs->b, from.path, NULL);
	if (!r && (flags & RENAME_EXCHANGE)) {
		struct node *m;

		pthread_mutex_lock(&fs->lock);
		m = node_find(fs, to.dir, newname);
		pthread_mutex_unlock(&fs->lock);
		r = m ? copy_up(fs, m, to.path) : ENOENT;
	}
	if (!r)
		r = ensure_upper_dir(fs, to.dir);
	/* Only when a whiteout is there: a long name has no room for one. */
	if (!r && !(flags & RENAME_EXCHANGE) && to.es.wh)
		r = -delta_unwhiteout(fs->b, to.path);
	if (!r) {
		int64_t freed = to.exists && to.es.in_upper && !(flags & RENAME_EXCHANGE)
					? upper_data(fs, to.path) : 0;

		r = -backing_rename(fs->b, from.path, to.path, flags & RENAME_EXCHANGE);
		if (!r)
			quota_add(fs, -freed);
	}
	/* The source's lower entry is still there: hide it.  (An exchange
	 * leaves both names in place.) */
	if (!r && !(flags & RENAME_EXCHANGE) && from.es.in_lower)
		r = -delta_whiteout(fs->b, from.path);
	if (r)
		goto out;

	/* The nodes follow their entries. */
	pthread_mutex_lock(&fs->lock);
	over = node_find(fs, to.dir, newname);
	if (over && n && (flags & RENAME_EXCHANGE)) {
		table_remove(fs, over);
		node_move(fs, n, to.dir, newname);
		node_move(fs, over, from.dir, name);
	} else {
		if (over)
			node_orphan(fs, over);
		if (n)
			node_move(fs, n, to.dir, newname);
	}
	pthread_mutex_unlock(&fs->lock);
	if (n)
		refresh(fs, n, to.path);
	if (over && n && (flags & RENAME_EXCHANGE))
		refresh(fs, over, from.path);
out:
	if (from.path[0])
		audit_change(req, fs, &ev, r, from.hidden, from.refused ? from.refused : to.refused);
	fuse_reply_err(req, r);
}

/* ---- files ------------------------------------------------------------------- */

/* The kernel reads ahead 128 KiB through FUSE, a READ request each: a
 * cold sequential read then costs twice the native one here.  512 KiB
 * measured best (1 MiB requests no longer fit the splice pipe and cost
 * ten times more).  Set at the first open, since the INIT reply can only
 * lower it; only root may, others keep the kernel's. */
static void tune_readahead(struct fs *fs)
{
	int fd;

	if (!fs->ra_path || __atomic_load_n(&fs->ra_done, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&fs->ra_done, 1, __ATOMIC_RELAXED))
		return;
	fd = open(fs->ra_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "512\n", 4) != 4) {
		/* The kernel's read-ahead stays: slower, not wrong. */
	}
	close(fd);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct node *n = ino_node(fs, ino);
	struct estate es;
	struct stat st;
	bool have_st;
	int r = gate(req, fs, ino, writing ? NEED_WRITE : NEED_READ, path, NULL, &es), fd;
	int refused = r;	/* the gate's: the level */

	tune_readahead(fs);
	if (!r && writing)
		r = copy_up(fs, n, path);
	if (!r && !open_slot(fs))
		r = EMFILE;
	if (r) {
		if (r == refused && r == EACCES && path[0] && auditing(fs, AUDIT_DENY)) {
			struct event ev = { .op = "open", .path = path,
					    .mode = open_mode(fi->flags), .bytes = -1 };

			audit_emit(req, fs, &ev, "deny", r);
		}
		fuse_reply_err(req, r);
		return;
	}
	/* O_TRUNC frees the file's data. */
	int64_t before = writing && (fi->flags & O_TRUNC) ? upper_data(fs, path) : 0;

	/* Without O_DIRECT: the kernel hands afs-fuse unaligned buffers. */
	fd = backing_open_file(fs->b, writing ? UPPER : layer_of(&es), path,
			       fi->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT), 0);
	if (fd >= 0 && before)
		quota_add(fs, -before);
	if (fd < 0) {
		open_slot_free(fs);
		fuse_reply_err(req, -fd);
		return;
	}
	have_st = fstat(fd, &st) == 0;
	if (have_st) {
		/* Keep the page cache when the file has not changed since the
		 * last open.  A file of the delta with more names may have
		 * been written through another node within one tick of its
		 * clock: its cache is dropped at every open (close-to-open, as
		 * NFS).  One of SOURCE cannot be: a write copies it up. */
		pthread_mutex_lock(&fs->lock);
		fi->keep_cache = (st.st_nlink == 1 || (!writing && !es.in_upper)) &&
				 n->mtime.tv_sec == st.st_mtim.tv_sec &&
				 n->mtime.tv_nsec == st.st_mtim.tv_nsec && n->size == st.st_size;
		n->mtime = st.st_mtim;
		n->size = st.st_size;
		pthread_mutex_unlock(&fs->lock);
	}
	fi->fh = (uint64_t)(uintptr_t)handle_new(req, fs, n, fd, writing ? UPPER : layer_of(&es),
						 path, fi->flags, writing);
	if (have_st)
		open_io(req, fs, fi, H(fi), &st);
	/* No FLUSH on close: writes reach the backing file before their
	 * reply (no writeback cache), so a flush has nothing to report;
	 * mappings are written back when they are unmapped. */
	fi->noflush = 1;
	/* After this open's own record (made under the old name), before the
	 * reply that lets the exec go on. */
	if (fi->flags & OPEN_EXEC)
		__atomic_add_fetch(&exec_gen, 1, __ATOMIC_RELAXED);
	fuse_reply_open(req, fi);
}

/* One read buffer per FUSE thread, as large as its largest read, freed
 * when the thread ends. */
struct rbuf {
	char *p;
	size_t cap;
};

static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_free(void *arg)
{
	struct rbuf *rb = arg;

	free(rb->p);
	free(rb);
}

static void rbuf_init(void)
{
	if (pthread_key_create(&rbuf_key, rbuf_free) != 0)
		abort();
}

static struct rbuf *thread_rbuf(size_t size)
{
	struct rbuf *rb;

	pthread_once(&rbuf_once, rbuf_init);
	rb = pthread_getspecific(rbuf_key);
	if (!rb) {
		rb = xcalloc(1, sizeof(*rb));
		pthread_setspecific(rbuf_key, rb);
	}
	if (rb->cap < size) {
		rb->p = xrealloc(rb->p, size);
		rb->cap = size;
	}
	return rb;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	struct rbuf *rb;
	ssize_t n;

	(void)ino;
	if (!h->record) {
		/* Nothing to count: let libfuse splice from the fd. */
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = h->fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	rb = thread_rbuf(size);
	n = pread(h->fd, rb->p, size, off);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	__atomic_add_fetch(&h->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_buf(req, rb->p, (size_t)n);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct handle *h = H(fi);
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0;
	ssize_t n;

	drop_privs(req, fs, ino, h);
	if (quota) {
		if (fstat(h->fd, &s0) < 0) {
			fuse_reply_err(req, errno);
			return;
		}
		if (over_quota(fs, off + (off_t)fuse_buf_size(in) - s0.st_size)) {
			fuse_reply_err(req, ENOSPC);
			return;
		}
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (quota && fstat(h->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	__atomic_add_fetch(&h->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = H(fi)->fd;

	(void)ino;
	fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct handle *h = H(fi), **pp;

	(void)ino;
	if (h->node) {
		pthread_mutex_lock(&fs->lock);
		for (pp = &h->node->handles; *pp && *pp != h; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = h->next;
		pthread_mutex_unlock(&fs->lock);
	}
	close(h->fd);
	if (h->record) {
		/* The open, with what went through it, dated when it opened. */
		struct event ev = { .op = "open", .path = h->path, .mode = h->mode,
				    .bytes = h->bytes, .ts = &h->opened, .pid = h->pid,
				    .uid = h->uid, .comm = h->comm };

		audit_emit(NULL, fs, &ev, "allow", 0);
	}
	free(h);
	open_slot_free(fs);
	fuse_reply_err(req, 0);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0 && fstat(H(fi)->fd, &s0) == 0;
	int r;

	(void)ino;
	if (quota && !(mode & FALLOC_FL_PUNCH_HOLE) && over_quota(fs, len)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	r = fallocate(H(fi)->fd, mode, off, len) < 0 ? errno : 0;
	if (quota && fstat(H(fi)->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	fuse_reply_err(req, r);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t r = lseek(H(fi)->fd, off, whence);

	(void)ino;
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	ssize_t n;

	(void)ino_in;
	(void)ino_out;
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0 && fstat(H(fi_out)->fd, &s0) == 0;

	if (quota && over_quota(fs, off_out + (off_t)len - s0.st_size)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	/* Both handles were opened through the gate: reading and writing. */
	n = copy_file_range(H(fi_in)->fd, &off_in, H(fi_out)->fd, &off_out, len,
			    (unsigned)flags);
	if (quota && fstat(H(fi_out)->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	__atomic_add_fetch(&H(fi_in)->bytes, n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&H(fi_out)->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}

/* ---- extended attributes: the user. namespace only ---------------------------- */

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH], *buf = NULL;
	struct estate es;
	enum level l;
	ssize_t n;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, &es), fd;

	if (!r)
		r = authz_xattr_get(l, name);
	if (r == EACCES && auditing(fs, AUDIT_DENY)) {
		struct event ev = { .op = "getxattr", .path = path, .bytes = -1 };

		audit_emit(req, fs, &ev, "deny", r);
	}
	if (!r) {
		fd = backing_open_meta(fs->b, layer_of(&es), path);
		if (fd < 0) {
			r = fd == -EPERM ? ENODATA : -fd;
		} else {
			buf = size ? xmalloc(size) : NULL;
			n = fgetxattr(fd, name, buf, size);
			r = n < 0 ? errno : 0;
			close(fd);
			if (!r && size)
				fuse_reply_buf(req, buf, (size_t)n);
			else if (!r)
				fuse_reply_xattr(req, (size_t)n);
			free(buf);
			if (!r)
				return;
		}
	}
	fuse_reply_err(req, r);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH], list[65536], out[65536];
	struct estate es;
	enum level l;
	size_t len = 0;
	ssize_t n = 0, i;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, &es), fd;

	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	/* Below read: an empty list (the names are the file's, too). */
	fd = authz_xattr_list(l) ? -1 : backing_open_meta(fs->b, layer_of(&es), path);
	if (fd >= 0) {
		n = flistxattr(fd, list, sizeof(list));
		r = n < 0 ? errno : 0;
		close(fd);
	}
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	for (i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		size_t k = strlen(list + i) + 1;

		if (authz_xattr_get(LEVEL_READ, list + i) == 0) {
			memcpy(out + len, list + i, k);
			len += k;
		}
	}
	if (!size)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, out, len);
}

static void change_xattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags, bool remove)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH] = "";
	int r = gate(req, fs, ino, NEED_WRITE, path, NULL, NULL), fd, refused;
	struct event ev = { .op = "setxattr", .path = path, .bytes = -1 };

	if (r == ENOENT)
		path[0] = '\0';
	if (!r)
		r = authz_xattr_set(name);
	refused = r;	/* the gate's and authz's, before any backing call */
	if (!r)
		r = copy_up(fs, ino_node(fs, ino), path);
	if (!r) {
		fd = backing_open_meta(fs->b, UPPER, path);
		if (fd < 0) {
			r = -fd;
		} else {
			r = (remove ? fremovexattr(fd, name) : fsetxattr(fd, name, value, size, flags)) < 0
			    ? errno : 0;
			close(fd);
		}
	}
	if (path[0])
		audit_change(req, fs, &ev, r, false, refused);
	fuse_reply_err(req, r);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	change_xattr(req, ino, name, value, size, flags, false);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	change_xattr(req, ino, name, NULL, 0, 0, true);
}

/* ---- directories ----------------------------------------------------------- */

/* A listing of a directory, shared by the handles that read it from its
 * start while the directory did not change: a thousand open handles of
 * one directory hold one listing, and every listing held counts against
 * --listing-memory (afs-fuse(1) LIMITS; tests/t5009).  fs->lock guards
 * refs and the node's pointer to its newest listing. */
#define LISTING_TRIM	(256 << 10)	/* see listing_free() */

struct listing {
	struct dirsnap *d;
	unsigned long refs;	/* handles reading it */
	struct node *node;	/* whose newest listing it is, or NULL */
};

/* An open directory: the listing it reads (NULL until it is read from its
 * start), in the list of open ones (freed at teardown when the kernel
 * never released it). */
struct dirh {
	struct listing *ls;
	struct dirh *next, *prev;
};

/* Drop a reference to LS, under fs->lock; after the last one, it is
 * returned, for listing_free() once the lock is let go. */
static struct listing *listing_unref(struct fs *fs, struct listing *ls)
{
	if (!ls || --ls->refs > 0)
		return NULL;
	if (ls->node && ls->node->listing == ls)
		ls->node->listing = NULL;
	fs->listed -= ls->d->bytes;
	return ls;
}

/* Give a listing's memory back, to the system too when it was large:
 * thousands of names are small blocks that malloc would keep. */
static void listing_free(struct listing *ls)
{
	bool large;

	if (!ls)
		return;
	large = ls->d->bytes >= LISTING_TRIM;
	dirsnap_free(ls->d);
	free(ls);
	if (large)
		malloc_trim(0);
}

static void listing_put(struct fs *fs, struct listing *ls)
{
	pthread_mutex_lock(&fs->lock);
	ls = listing_unref(fs, ls);
	pthread_mutex_unlock(&fs->lock);
	listing_free(ls);
}

void ops_forget_listing(struct node *n)
{
	if (n->listing) {
		n->listing->node = NULL;
		n->listing = NULL;
	}
}

/* The listing of the directory N (path DPATH, state ES) as it is now: the
 * newest one made, when its stamp says the directory has not changed
 * since, else a new one, if --listing-memory has room for it (ENOMEM). */
static int listing_get(struct fs *fs, struct node *n, const char *dpath, const struct estate *es,
		       struct listing **out)
{
	struct listing *ls;
	struct dirsnap *d;
	struct dirstamp now;
	size_t room;
	int r;

	pthread_mutex_lock(&fs->lock);
	ls = n->listing;
	if (ls && ls->d->stamp.settled)
		ls->refs++;
	else
		ls = NULL;
	pthread_mutex_unlock(&fs->lock);
	if (ls) {
		if (delta_dir_stamp(fs->b, dpath, es, &now) && dirstamp_same(&now, &ls->d->stamp)) {
			*out = ls;
			return 0;
		}
		listing_put(fs, ls);
	}
	pthread_mutex_lock(&fs->lock);
	room = fs->listed < fs->max_listed ? fs->max_listed - fs->listed : 0;
	pthread_mutex_unlock(&fs->lock);
	r = delta_list(fs->b, dpath, es, room, &d);
	if (r < 0)
		return -r;
	pthread_mutex_lock(&fs->lock);
	if (fs->listed + d->bytes > fs->max_listed) {
		/* Others took the room while this one was read. */
		pthread_mutex_unlock(&fs->lock);
		dirsnap_free(d);
		return ENOMEM;
	}
	fs->listed += d->bytes;
	ls = xcalloc(1, sizeof(*ls));
	ls->d = d;
	ls->refs = 1;
	ls->node = n;
	if (n->listing)
		n->listing->node = NULL;	/* stays for the handles reading it */
	n->listing = ls;
	pthread_mutex_unlock(&fs->lock);
	*out = ls;
	return 0;
}

void ops_free_dirs(struct fs *fs)
{
	struct dirh *dh;

	while ((dh = fs->dirs)) {
		fs->dirs = dh->next;
		listing_free(listing_unref(fs, dh->ls));
		free(dh);
	}
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	struct dirh *dh;
	struct estate es;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, NULL, &es);

	/* The listing is made when it is read from its start (do_readdir),
	 * not here: the kernel notes the directory's version when it starts
	 * filling its listing cache, so a listing made before that could miss
	 * a name created in between and be kept as current.  An opendir
	 * served from that cache touches no backing directory at all (every
	 * directory of a warm walk is one); one that changed in SOURCE behind
	 * the mount reports its error when it is listed. */
	if (!r && !open_slot(fs))
		r = EMFILE;
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	if (auditing(fs, AUDIT_ACCESS)) {
		struct event ev = { .op = "readdir", .path = path, .bytes = -1 };

		audit_emit(req, fs, &ev, "allow", 0);
	}
	dh = xcalloc(1, sizeof(*dh));
	pthread_mutex_lock(&fs->lock);
	dh->next = fs->dirs;
	if (fs->dirs)
		fs->dirs->prev = dh;
	fs->dirs = dh;
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uint64_t)(uintptr_t)dh;
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
	struct fs *fs = FS(req);
	struct dirh *dh = (struct dirh *)(uintptr_t)fi->fh;
	struct dirsnap *d;
	char dpath[POLICY_MAX_PATH];
	struct estate des;
	struct dirfds dirs;
	char *buf, *p;
	size_t rem = size, i;
	int r = gate(req, fs, ino, NEED_VISIBLE, dpath, NULL, &des);

	/* Read from the start (first, or after rewinddir): what is there
	 * now, as a directory read from its start shows.  A snapshot, never
	 * changed once made: offsets are indexes into it, no fd stays open,
	 * and the handles that read an unchanged directory share it.  Only
	 * this request uses the handle's pointer (the kernel serializes the
	 * readdirs of one open directory). */
	if (!r && (off == 0 || !dh->ls)) {
		struct listing *ls, *old;

		r = listing_get(fs, ino_node(fs, ino), dpath, &des, &ls);
		if (!r) {
			old = dh->ls;
			dh->ls = ls;
			listing_put(fs, old);
		}
	}
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	d = dh->ls->d;
	/* One open of the directory in each layer for the whole batch, if
	 * any entry needs one (not at the end of the listing). */
	if ((size_t)off < d->n)
		delta_open_dirs(fs->b, dpath, &des, &dirs);
	else
		dirs = DIRFDS_NONE;
	buf = p = xmalloc(size);
	for (i = (size_t)off; i < d->n; i++) {
		const char *name = d->names[i];
		struct fuse_entry_param e;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (dot_or_dotdot(name)) {
			e.attr.st_ino = d->inos[i];
			e.attr.st_mode = S_IFDIR;
		} else if (plus && (d->types[i] == DT_DIR || d->types[i] == DT_UNKNOWN)) {
			/* Attributes for directories only: a walk (find, du,
			 * ls -R) goes into each, and a lookup of it is saved;
			 * stat'ing every file would read every inode of a cold
			 * tree for walks that only want names and types.  A
			 * file's entry goes without (node 0), looked up when
			 * used.  Room first: a lookup takes a reference the
			 * kernel only returns for entries it received. */
			need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);
			if (need > rem)
				break;
			if (do_lookup(fs, ino_node(fs, ino), dpath, &des, &dirs, name, &e, NULL) != 0)
				continue;	/* hidden, or gone since opendir */
		} else {
			char path[POLICY_MAX_PATH];
			unsigned gen;
			bool is_dir = d->types[i] == DT_DIR;
			struct estate es;
			struct stat st;

			if (join(dpath, name, path))
				continue;
			if (d->types[i] == DT_UNKNOWN) {
				if (delta_child_in(fs->b, &dirs, path, &des, &es, &st) < 0)
					continue;
				is_dir = S_ISDIR(st.st_mode);
			}
			if (decide(fs, path, is_dir, &gen) == LEVEL_NONE)
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
	delta_close_dirs(&dirs);
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
	struct fs *fs = FS(req);
	struct dirh *dh = (struct dirh *)(uintptr_t)fi->fh;
	struct listing *ls;

	(void)ino;
	pthread_mutex_lock(&fs->lock);
	if (dh->prev)
		dh->prev->next = dh->next;
	else
		fs->dirs = dh->next;
	if (dh->next)
		dh->next->prev = dh->prev;
	ls = listing_unref(fs, dh->ls);
	pthread_mutex_unlock(&fs->lock);
	listing_free(ls);
	free(dh);
	open_slot_free(fs);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	/* Entries are made with the upper layer's own calls; there is no
	 * directory fd to sync, and syncfs would cost the whole layer. */
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
