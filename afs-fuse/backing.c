/* backing.c - reach SOURCE without following links (see backing.h).
 *
 * MUST:
 * - resolve every directory part with openat2 RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS from the root fd;
 * - name the last component only relative to that directory fd, with
 *   AT_SYMLINK_NOFOLLOW or O_NOFOLLOW;
 * - hold no fd beyond the call (the fd limit is 20,000 and cannot grow).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backing.h"
#include "util.h"

struct backing {
	int root;
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
	/* EXDEV or ELOOP: a '..' or a link on the way; the path does not
	 * exist for the mount. */
	if (fd < 0)
		return errno == ELOOP || errno == EXDEV ? -ENOENT : -errno;
	return (int)fd;
}

int backing_open(const char *source, struct backing **out)
{
	struct backing *b;
	int fd, probe;

	fd = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Refuse to run where openat2 is missing: there is no safe fallback. */
	probe = openat2_safe(fd, ".", O_PATH | O_DIRECTORY);
	if (probe < 0) {
		close(fd);
		return probe == -ENOSYS ? -ENOSYS : probe;
	}
	close(probe);
	b = xcalloc(1, sizeof(*b));
	b->root = fd;
	*out = b;
	return 0;
}

void backing_close(struct backing *b)
{
	if (!b)
		return;
	close(b->root);
	free(b);
}

/* The directory holding PATH's last component, and that component; for
 * the root, the root itself and ".". */
static int open_parent(struct backing *b, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t len;

	if (path[0] != '/' || !slash)
		return -EINVAL;
	if (path[1] == '\0') {
		*name = ".";
		return openat2_safe(b->root, ".", O_PATH | O_DIRECTORY);
	}
	*name = slash + 1;
	len = (size_t)(slash - path);
	if (len == 0)
		return openat2_safe(b->root, ".", O_PATH | O_DIRECTORY);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path + 1, len - 1);
	dir[len - 1] = '\0';
	return openat2_safe(b->root, dir, O_PATH | O_DIRECTORY);
}

int backing_lstat(struct backing *b, const char *path, struct stat *st)
{
	const char *name;
	int dfd = open_parent(b, path, &name), r;

	if (dfd < 0)
		return dfd;
	r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(dfd);
	return r;
}

int backing_open_file(struct backing *b, const char *path, int flags)
{
	const char *name;
	int dfd = open_parent(b, path, &name), fd;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	fd = fd < 0 ? -errno : fd;
	close(dfd);
	/* O_NOFOLLOW on a link gives ELOOP: a link is not a file to open. */
	return fd == -ELOOP ? -EACCES : fd;
}

int backing_open_dir(struct backing *b, const char *path)
{
	if (path[1] == '\0')
		return openat2_safe(b->root, ".", O_RDONLY | O_DIRECTORY);
	return openat2_safe(b->root, path + 1, O_RDONLY | O_DIRECTORY);
}

ssize_t backing_readlink(struct backing *b, const char *path, char *buf, size_t size)
{
	const char *name;
	int dfd = open_parent(b, path, &name);
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
	return fstatfs(b->root, st) < 0 ? -errno : 0;
}
