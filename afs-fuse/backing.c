/* backing.c - reach the layers without following links (see backing.h).
 *
 * MUST:
 * - resolve every directory part with openat2 RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from the layer's root fd;
 * - name the last component only relative to that directory fd, with
 *   AT_SYMLINK_NOFOLLOW or O_NOFOLLOW;
 * - write to the upper layer only;
 * - hold no fd beyond the call (the fd limit is 20,000 and cannot grow).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backing.h"
#include "util.h"

struct backing {
	int root[2];	/* UPPER, LOWER; -1 when absent */
};

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

	b->root[UPPER] = b->root[LOWER] = -1;
	r = open_root(upper, &b->root[UPPER]);
	if (r == 0 && lower)
		r = open_root(lower, &b->root[LOWER]);
	if (r < 0) {
		backing_close(b);
		return r;
	}
	*out = b;
	return 0;
}

void backing_close(struct backing *b)
{
	if (!b)
		return;
	if (b->root[UPPER] >= 0)
		close(b->root[UPPER]);
	if (b->root[LOWER] >= 0)
		close(b->root[LOWER]);
	free(b);
}

bool backing_has(const struct backing *b, enum layer l)
{
	return b->root[l] >= 0;
}

/* The directory of layer L holding PATH's last component, and that
 * component; for the root, the root itself and ".". */
static int open_parent(struct backing *b, enum layer l, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t len;

	if (b->root[l] < 0)
		return -ENOENT;
	if (path[0] != '/' || !slash)
		return -EINVAL;
	if (path[1] == '\0') {
		*name = ".";
		return openat2_safe(b->root[l], ".", O_PATH | O_DIRECTORY);
	}
	*name = slash + 1;
	len = (size_t)(slash - path);
	if (len == 0)
		return openat2_safe(b->root[l], ".", O_PATH | O_DIRECTORY);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path + 1, len - 1);
	dir[len - 1] = '\0';
	return openat2_safe(b->root[l], dir, O_PATH | O_DIRECTORY);
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
			close(dfd);					\
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
	close(dfd);
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
	close(dfd);
	return fd == -ELOOP ? -EPERM : fd;
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
	close(dfd);
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
	return AT(b, UPPER, path, unlinkat(dfd, name, AT_REMOVEDIR));
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
		close(d1);
		return d2;
	}
	r = fn(d1, n1, d2, n2, flags) < 0 ? -errno : 0;
	close(d1);
	close(d2);
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
	return two(b, from, to, do_rename, flags);
}

int backing_link(struct backing *b, const char *from, const char *to)
{
	return two(b, from, to, do_link, 0);
}
