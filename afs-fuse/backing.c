/* backing.c - reach the layers without following links (see backing.h).
 *
 * MUST:
 * - resolve every directory part with openat2 RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from the layer's root fd;
 * - name the last component only relative to that directory fd, with
 *   AT_SYMLINK_NOFOLLOW or O_NOFOLLOW;
 * - write to the upper layer only;
 * - hold no fd beyond the call (the fd limit is 20,000 and cannot grow),
 *   but for the few directory fds one request reuses (backing_scope).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "backing.h"
#include "base.h"
#include "deltafmt.h"
#include "policy.h"
#include "util.h"

struct backing {
	int root[2];	/* UPPER, LOWER; -1 when absent */
	dev_t dev[2];	/* the roots' file systems */
	bool local[2];	/* ... kept by this kernel (see backing_local) */
	int journal;	/* the base journal, for appending; -1: none */
};

/* File systems whose attributes come from elsewhere: another machine's
 * clock, or a cache that may lag behind what readdir sees. */
static bool remote_fs(long type)
{
	switch ((unsigned long)type) {
	case 0x6969UL:		/* NFS */
	case 0x65735546UL:	/* FUSE (sshfs, virtiofs, ...) */
	case 0x01021997UL:	/* 9p */
	case 0xFF534D42UL:	/* CIFS */
	case 0xFE534D42UL:	/* SMB2 */
	case 0x00c36400UL:	/* Ceph */
	case 0x6b414653UL:	/* AFS */
	case 0x47504653UL:	/* GPFS */
		return true;
	default:
		return false;
	}
}

#define RESOLVE_SAFE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int openat2_safe(int dirfd, const char *rel, unsigned long long flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = RESOLVE_SAFE,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	/* ELOOP or EXDEV: a link or '..' on the way; for the mount the path
	 * does not exist. */
	if (fd < 0)
		return errno == ELOOP || errno == EXDEV ? -ENOENT : -errno;
	return (int)fd;
}

static int open_root(const char *dir, int *out)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), probe;

	if (fd < 0)
		return -errno;
	/* Refuse to run where openat2 is missing: there is no safe fallback. */
	probe = openat2_safe(fd, ".", O_PATH | O_DIRECTORY);
	if (probe < 0) {
		close(fd);
		return probe;
	}
	close(probe);
	*out = fd;
	return 0;
}

int backing_open(const char *upper, const char *lower, struct backing **out)
{
	struct backing *b = xcalloc(1, sizeof(*b));
	int r;

	b->root[UPPER] = b->root[LOWER] = b->journal = -1;
	r = open_root(upper, &b->root[UPPER]);
	if (r == 0 && lower)
		r = open_root(lower, &b->root[LOWER]);
	for (int l = UPPER; r == 0 && l <= LOWER; l++) {
		struct stat st;

		if (b->root[l] >= 0)
			r = fstat(b->root[l], &st) < 0 ? -errno : 0;
		if (b->root[l] >= 0 && r == 0) {
			struct statfs sf;

			b->dev[l] = st.st_dev;
			b->local[l] = fstatfs(b->root[l], &sf) == 0 && !remote_fs((long)sf.f_type);
		}
	}
	if (r < 0) {
		backing_close(b);
		return r;
	}
	*out = b;
	return 0;
}

bool backing_local(const struct backing *b, enum layer l, dev_t dev)
{
	return b->local[l] && dev == b->dev[l];
}

void backing_close(struct backing *b)
{
	if (!b)
		return;
	if (b->root[UPPER] >= 0)
		close(b->root[UPPER]);
	if (b->root[LOWER] >= 0)
		close(b->root[LOWER]);
	if (b->journal >= 0)
		close(b->journal);
	free(b);
}

int backing_journal_open(struct backing *b)
{
	int root = b->root[UPPER], fd;
	struct stat st;
	char last;

	fd = openat(root, DELTA_BASE, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	if (fd < 0) {
		/* Begun by an afs-fuse that kept none: the bases of its
		 * changes are gone, and a journal begun now would call them
		 * new files. */
		if (!base_delta_fresh(root))
			return 0;
		fd = openat(root, DELTA_BASE, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (write(fd, BASE_MAGIC, sizeof(BASE_MAGIC) - 1) != sizeof(BASE_MAGIC) - 1) {
			int e = errno ? errno : EIO;

			close(fd);
			unlinkat(root, DELTA_BASE, 0);
			return -e;
		}
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* A record cut short by a crash ends here, so that the next one
	 * starts a line of its own. */
	if (st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
			       (last != '\n' && write(fd, "\n", 1) != 1))) {
		close(fd);
		return -EIO;
	}
	b->journal = fd;
	return 1;
}

bool backing_journal_kept(const struct backing *b)
{
	return b->journal >= 0;
}

int backing_journal_add(struct backing *b, const char *line, size_t n)
{
	ssize_t w;

	if (b->journal < 0)
		return 0;
	/* One write of a whole line: appends of several threads never mix. */
	w = write(b->journal, line, n);
	return w == (ssize_t)n ? 0 : w < 0 ? -errno : -EIO;
}

bool backing_has(const struct backing *b, enum layer l)
{
	return b->root[l] >= 0;
}

ino_t backing_ino(const struct backing *b, enum layer l, ino_t ino)
{
	/* Two file systems number their inodes independently; the upper
	 * one's get the top bit, which ext4 (32 bits) and tmpfs never use. */
	if (l == UPPER && b->root[LOWER] >= 0 && b->dev[UPPER] != b->dev[LOWER])
		return ino | (ino_t)1 << 63;
	return ino;
}

dev_t backing_dev(const struct backing *b, enum layer l)
{
	return b->dev[l];
}

bool backing_root(void)
{
	static int root = -1;

	if (root < 0)
		root = geteuid() == 0;
	return root;
}

/* ---- the directories of one request ------------------------------------------
 * A request often reaches several names of one directory (a lookup stats
 * the name, its whiteout and the lower name; a create checks, makes and
 * owns): each call resolving the directory again costs an openat2 and a
 * close, at over a microsecond a syscall here.  So a thread that called
 * backing_scope() keeps the directory fds it resolves until its next
 * backing_scope(), that is for one request: a directory swapped under the
 * mount is seen at the next request, as before, never later.  A rename or
 * an rmdir through this module forgets them all at once, since a path may
 * then name another directory.  Threads that never call backing_scope()
 * (reload, commit) keep nothing. */
#define DCACHE_N 4

struct dcache_ent {
	const struct backing *b;	/* NULL: a free slot */
	enum layer l;
	int fd;
	unsigned pins;			/* get_dir()s not yet put back */
	size_t len;
	char dir[POLICY_MAX_PATH];
};

struct dcache {
	bool on;
	unsigned next;
	struct dcache_ent e[DCACHE_N];
};

static __thread struct dcache dc;
static pthread_key_t dc_key;
static pthread_once_t dc_once = PTHREAD_ONCE_INIT;

/* Forget the kept directories; one still in use is closed when it is put
 * back. */
static void dc_clear(struct dcache *c)
{
	for (unsigned i = 0; i < DCACHE_N; i++) {
		if (c->e[i].b && !c->e[i].pins)
			close(c->e[i].fd);
		c->e[i].b = NULL;
	}
}

/* A thread that ends closes what it kept. */
static void dc_exit(void *arg)
{
	dc_clear(arg);
}

static void dc_init(void)
{
	if (pthread_key_create(&dc_key, dc_exit) != 0)
		die(1, "cannot make a thread key");
}

void backing_scope(void)
{
	if (!dc.on) {
		pthread_once(&dc_once, dc_init);
		pthread_setspecific(dc_key, &dc);
		dc.on = true;
	}
	dc_clear(&dc);
}

static void dc_forget(void)
{
	if (dc.on)
		dc_clear(&dc);
}

/* Give back a directory fd open_parent() gave. */
static void put_dir(int fd)
{
	for (unsigned i = 0; dc.on && i < DCACHE_N; i++) {
		if (dc.e[i].b && dc.e[i].fd == fd) {
			dc.e[i].pins--;
			return;
		}
	}
	close(fd);
}

/* The directory DIR (relative, "." for the root) of layer L.  An entry in
 * use (pinned: rename and link hold two) is never the one evicted. */
static int get_dir(struct backing *b, enum layer l, const char *dir, size_t len)
{
	struct dcache_ent *e = NULL;
	int fd;

	for (unsigned i = 0; dc.on && i < DCACHE_N; i++) {
		e = &dc.e[i];
		if (e->b == b && e->l == l && e->len == len && memcmp(e->dir, dir, len) == 0) {
			e->pins++;
			return e->fd;
		}
	}
	fd = openat2_safe(b->root[l], dir, O_PATH | O_DIRECTORY);
	if (fd < 0 || !dc.on)
		return fd;
	for (unsigned i = 0; i < DCACHE_N; i++) {
		e = &dc.e[dc.next++ % DCACHE_N];
		if (!e->b || !e->pins)
			break;
		e = NULL;
	}
	if (!e)
		return fd;	/* all in use: not kept, put_dir() closes it */
	if (e->b)
		close(e->fd);
	e->b = b;
	e->l = l;
	e->fd = fd;
	e->pins = 1;
	e->len = len;
	memcpy(e->dir, dir, len + 1);
	return fd;
}

/* The directory of layer L holding PATH's last component, and that
 * component; for the root, the root itself and ".".  Give it back with
 * put_dir(). */
static int open_parent(struct backing *b, enum layer l, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[POLICY_MAX_PATH];
	size_t len;

	if (b->root[l] < 0)
		return -ENOENT;
	if (path[0] != '/' || !slash)
		return -EINVAL;
	if (path[1] == '\0') {
		*name = ".";
		return get_dir(b, l, ".", 1);
	}
	*name = slash + 1;
	len = (size_t)(slash - path);
	if (len == 0)
		return get_dir(b, l, ".", 1);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path + 1, len - 1);
	dir[len - 1] = '\0';
	return get_dir(b, l, dir, len - 1);
}

/* Run EXPR with dfd and name bound to PATH's parent in layer L. */
#define AT(b, l, path, expr)						\
	({								\
		const char *name;					\
		int dfd = open_parent((b), (l), (path), &name), r_;	\
		if (dfd < 0) {						\
			r_ = dfd;					\
		} else {						\
			r_ = (expr) < 0 ? -errno : 0;			\
			put_dir(dfd);					\
		}							\
		r_;							\
	})

int backing_lstat(struct backing *b, enum layer l, const char *path, struct stat *st)
{
	return AT(b, l, path, fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW));
}

int backing_open_file(struct backing *b, enum layer l, const char *path, int flags, mode_t mode)
{
	const char *name;
	int dfd, fd;

	if (l == LOWER && (flags & (O_ACCMODE | O_CREAT | O_TRUNC)) != O_RDONLY)
		return -EROFS;
	dfd = open_parent(b, l, path, &name);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	fd = fd < 0 ? -errno : fd;
	put_dir(dfd);
	/* O_NOFOLLOW on a link gives ELOOP: a link is not a file to open. */
	return fd == -ELOOP ? -EACCES : fd;
}

int backing_open_dir(struct backing *b, enum layer l, const char *path)
{
	if (b->root[l] < 0)
		return -ENOENT;
	return openat2_safe(b->root[l], path[1] ? path + 1 : ".", O_RDONLY | O_DIRECTORY);
}

int backing_lstat_in(int dirfd, const char *name, struct stat *st)
{
	if (strchr(name, '/'))
		return -EINVAL;
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int backing_open_meta(struct backing *b, enum layer l, const char *path)
{
	const char *name;
	int dfd = open_parent(b, l, path, &name), fd;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	fd = fd < 0 ? -errno : fd;
	put_dir(dfd);
	return fd == -ELOOP ? -EPERM : fd;
}

ssize_t backing_getxattr(struct backing *b, enum layer l, const char *path, const char *name,
			 void *buf, size_t size)
{
	const char *last;
	char proc[64 + NAME_MAX];
	int dfd = open_parent(b, l, path, &last);
	ssize_t n;

	if (dfd < 0)
		return dfd;
	/* The parent by its fd, the last component never followed: one
	 * call, no open of the file (which a FIFO would block). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, last);
	n = lgetxattr(proc, name, buf, size);
	n = n < 0 ? -errno : n;
	put_dir(dfd);
	return n;
}

ssize_t backing_readlink(struct backing *b, enum layer l, const char *path, char *buf, size_t size)
{
	const char *name;
	int dfd = open_parent(b, l, path, &name);
	ssize_t n;

	if (dfd < 0)
		return dfd;
	n = readlinkat(dfd, name, buf, size);
	n = n < 0 ? -errno : n;
	put_dir(dfd);
	return n;
}

int backing_statfs(struct backing *b, struct statfs *st)
{
	int l = b->root[LOWER] >= 0 ? LOWER : UPPER;

	return fstatfs(b->root[l], st) < 0 ? -errno : 0;
}

int backing_mkdir(struct backing *b, const char *path, mode_t mode)
{
	return AT(b, UPPER, path, mkdirat(dfd, name, mode));
}

int backing_unlink(struct backing *b, const char *path)
{
	return AT(b, UPPER, path, unlinkat(dfd, name, 0));
}

int backing_rmdir(struct backing *b, const char *path)
{
	int r = AT(b, UPPER, path, unlinkat(dfd, name, AT_REMOVEDIR));

	dc_forget();
	return r;
}

int backing_symlink(struct backing *b, const char *target, const char *path)
{
	return AT(b, UPPER, path, symlinkat(target, dfd, name));
}

int backing_mknod(struct backing *b, const char *path, mode_t mode, dev_t dev)
{
	return AT(b, UPPER, path, mknodat(dfd, name, mode, dev));
}

int backing_chmod(struct backing *b, const char *path, mode_t mode)
{
	/* glibc makes AT_SYMLINK_NOFOLLOW safe: it pins the inode with an
	 * O_PATH fd and refuses a link (EOPNOTSUPP). */
	return AT(b, UPPER, path, fchmodat(dfd, name, mode, AT_SYMLINK_NOFOLLOW));
}

int backing_chown(struct backing *b, const char *path, uid_t uid, gid_t gid)
{
	return AT(b, UPPER, path, fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW));
}

int backing_utimens(struct backing *b, const char *path, const struct timespec ts[2])
{
	return AT(b, UPPER, path, utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW));
}

/* Two parents at once: rename and link. */
static int two(struct backing *b, const char *from, const char *to,
	       int (*fn)(int, const char *, int, const char *, unsigned), unsigned flags)
{
	const char *n1, *n2;
	int d1 = open_parent(b, UPPER, from, &n1), d2, r;

	if (d1 < 0)
		return d1;
	d2 = open_parent(b, UPPER, to, &n2);
	if (d2 < 0) {
		put_dir(d1);
		return d2;
	}
	r = fn(d1, n1, d2, n2, flags) < 0 ? -errno : 0;
	put_dir(d1);
	put_dir(d2);
	return r;
}

static int do_rename(int d1, const char *n1, int d2, const char *n2, unsigned flags)
{
	return renameat2(d1, n1, d2, n2, flags);
}

static int do_link(int d1, const char *n1, int d2, const char *n2, unsigned flags)
{
	(void)flags;
	return linkat(d1, n1, d2, n2, 0);
}

int backing_rename(struct backing *b, const char *from, const char *to, unsigned flags)
{
	int r = two(b, from, to, do_rename, flags);

	dc_forget();
	return r;
}

int backing_rename_nondir(struct backing *b, const char *from, const char *to)
{
	/* RENAME_NOREPLACE is not wanted: a copy-up replaces a name that
	 * may exist (a racing copy-up of the same file made it). */
	return two(b, from, to, do_rename, 0);
}

int backing_link(struct backing *b, const char *from, const char *to)
{
	return two(b, from, to, do_link, 0);
}
