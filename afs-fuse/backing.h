/* backing.h - the only way afs-fuse reaches SOURCE and DELTA.
 *
 * Two layers: the upper one takes every write (DELTA, or SOURCE itself with
 * --writethrough), the lower one is read only (SOURCE; absent with
 * --writethrough).  Every access is made relative to the layer's root
 * directory fd opened at start, with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) for the directory part of a
 * path and a single component, never followed, for its last part.  So no
 * symbolic link and no ".." in any component is ever followed, even when
 * SOURCE or DELTA changes under a live mount.
 *
 * PATH arguments are cleaned, /-rooted paths inside the mount.  Every
 * function returns 0 (or a count, or an fd) or -errno, as all of afs-fuse
 * does (doc/architecture.md).
 */
#ifndef AFS_FUSE_BACKING_H
#define AFS_FUSE_BACKING_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

enum layer {
	UPPER = 0,
	LOWER = 1,
};

struct backing;

/* Open the layers; LOWER may be NULL.  -ENOSYS: the kernel lacks openat2. */
int backing_open(const char *upper, const char *lower, struct backing **out);
void backing_close(struct backing *b);
/* Begin a request on this thread: directories resolved from now on are
 * kept for its later calls, until the next backing_scope() of the thread
 * (or a rename or rmdir, which forget them). */
void backing_scope(void);
bool backing_has(const struct backing *b, enum layer l);
/* The inode number to show for INO of layer L: unique across the layers
 * when they are two file systems. */
ino_t backing_ino(const struct backing *b, enum layer l, ino_t ino);
dev_t backing_dev(const struct backing *b, enum layer l);
/* Are the attributes of a directory of layer L on DEV this kernel's own
 * (the layer's root file system, one kept on this machine), so that its
 * mtime moves, by this clock, whenever its names do? */
bool backing_local(const struct backing *b, enum layer l, dev_t dev);
/* Whether afs-fuse runs as root (may give files away), asked once. */
bool backing_root(void);

int backing_lstat(struct backing *b, enum layer l, const char *path, struct stat *st);
/* FLAGS as for open(2), O_NOFOLLOW added; MODE with O_CREAT. */
int backing_open_file(struct backing *b, enum layer l, const char *path, int flags, mode_t mode);
int backing_open_dir(struct backing *b, enum layer l, const char *path);
/* lstat of the single component NAME (no '/') in a directory fd that
 * backing_open_dir() gave: for a batch of names in one directory. */
int backing_lstat_in(int dirfd, const char *name, struct stat *st);
ssize_t backing_readlink(struct backing *b, enum layer l, const char *path, char *buf, size_t size);
int backing_statfs(struct backing *b, struct statfs *st);

/* Writes: the upper layer only. */
int backing_mkdir(struct backing *b, const char *path, mode_t mode);
int backing_unlink(struct backing *b, const char *path);
int backing_rmdir(struct backing *b, const char *path);
int backing_rename(struct backing *b, const char *from, const char *to, unsigned flags);
/* The same for FROM known not to be a directory (a copy-up's temporary
 * file): no directory's path changes, the request keeps its own. */
int backing_rename_nondir(struct backing *b, const char *from, const char *to);
int backing_link(struct backing *b, const char *from, const char *to);
int backing_symlink(struct backing *b, const char *target, const char *path);
int backing_mknod(struct backing *b, const char *path, mode_t mode, dev_t dev);
int backing_chmod(struct backing *b, const char *path, mode_t mode);
int backing_chown(struct backing *b, const char *path, uid_t uid, gid_t gid);
int backing_utimens(struct backing *b, const char *path, const struct timespec ts[2]);

/* The base journal (lib/base.h) at the upper layer's root, opened for
 * appending: 1 when records are kept, 0 when the delta holds changes made
 * without one (their bases unknown: none is begun), or -errno.  A fresh
 * delta gets a new journal. */
int backing_journal_open(struct backing *b);
bool backing_journal_kept(const struct backing *b);
/* Append one whole record line (N bytes); 0 when no journal is kept. */
int backing_journal_add(struct backing *b, const char *line, size_t n);

/* lgetxattr of PATH in layer L (never followed): the length or -errno. */
ssize_t backing_getxattr(struct backing *b, enum layer l, const char *path, const char *name,
			 void *buf, size_t size);
/* An fd of a file of either layer for xattr calls (O_PATH is not enough
 * for them): regular files and directories only. */
int backing_open_meta(struct backing *b, enum layer l, const char *path);

#endif
