/* ops_xattr.c - the FUSE ops on extended attributes: the user. namespace
 * only, as authz.c allows.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
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

/* ---- extended attributes: the user. namespace only ---------------------------- */

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH], *buf = NULL;
	struct estate es;
	enum level l;
	ssize_t n;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, &es), fd, refused;

	refused = r ? 0 : authz_xattr_get(l, name);
	if (!r)
		r = refused;
	/* Not a caller the mount refuses (no path): its EACCES is no
	 * decision of the policy's, and it must not fill the log. */
	if (r && r == refused && r == -EACCES && path[0] && auditing(fs, AUDIT_DENY)) {
		struct event ev = { .op = "getxattr", .path = path, .bytes = -1 };

		audit_emit(req, fs, &ev, "deny", EACCES);
	}
	if (!r) {
		fd = backing_open_meta(fs->b, layer_of(&es), path);
		if (fd < 0) {
			r = fd == -EPERM ? -ENODATA : fd;
		} else {
			buf = size ? malloc(size) : NULL;
			n = size && !buf ? (errno = ENOMEM, -1) : fgetxattr(fd, name, buf, size);
			r = n < 0 ? -errno : 0;
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
	fuse_reply_err(req, -r);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH], list[XATTR_LIST_MAX], out[XATTR_LIST_MAX];
	struct estate es;
	enum level l;
	size_t len = 0;
	ssize_t n = 0, i;
	int r = gate(req, fs, ino, NEED_VISIBLE, path, &l, &es), fd;

	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	/* Below read: an empty list (the names are the file's, too). */
	fd = authz_xattr_list(l) ? -1 : backing_open_meta(fs->b, layer_of(&es), path);
	if (fd >= 0) {
		n = flistxattr(fd, list, sizeof(list));
		r = n < 0 ? -errno : 0;
		close(fd);
	}
	if (r) {
		fuse_reply_err(req, -r);
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

	if (r == -ENOENT)
		path[0] = '\0';
	if (!r)
		r = authz_xattr_set(name);
	refused = r;	/* the gate's and authz's, before any backing call */
	if (!r)
		r = copy_up(fs, ino_node(fs, ino), path);
	if (!r) {
		fd = backing_open_meta(fs->b, UPPER, path);
		if (fd < 0) {
			r = fd;
		} else {
			r = (remove ? fremovexattr(fd, name) : fsetxattr(fd, name, value, size, flags)) < 0
			    ? -errno : 0;
			close(fd);
		}
	}
	if (path[0])
		audit_change(req, fs, &ev, r, false, refused);
	fuse_reply_err(req, -r);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags)
{
	change_xattr(req, ino, name, value, size, flags, false);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	change_xattr(req, ino, name, NULL, 0, 0, true);
}
