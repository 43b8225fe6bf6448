/* backing.h - the only way afs-fuse reaches SOURCE.
 *
 * Every access is made relative to the directory fd of SOURCE opened at
 * start, with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) for the directory part of a path and a single
 * component, never followed, for its last part.  So no symbolic link and
 * no ".." in any component is ever followed, even when SOURCE changes under
 * a live mount.
 */
#ifndef AFS_FUSE_BACKING_H
#define AFS_FUSE_BACKING_H

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

struct backing;

/* Open SOURCE.  Returns -errno; -ENOSYS means the kernel lacks openat2. */
int backing_open(const char *source, struct backing **out);
void backing_close(struct backing *b);

/* PATH is a cleaned, /-rooted path inside the mount. */
int backing_lstat(struct backing *b, const char *path, struct stat *st);
int backing_open_file(struct backing *b, const char *path, int flags);
int backing_open_dir(struct backing *b, const char *path);
ssize_t backing_readlink(struct backing *b, const char *path, char *buf, size_t size);
int backing_statfs(struct backing *b, struct statfs *st);

#endif
