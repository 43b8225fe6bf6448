/* handle.c - open files: a handle per open (recorded at release), the
 * slots of --max-open, setuid/setgid dropped for a writer, and the
 * attributes shown of an entry (link counts, inode numbers, timeouts).
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

/* Is the caller of REQ in group GID?  (Reads /proc: only when needed.) */
bool in_group(fuse_req_t req, gid_t gid)
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
void open_io(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi,
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
void drop_privs(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct handle *h)
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
void arm_drop_privs(struct fs *fs, struct node *n)
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

const char *open_mode(int flags)
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
void hide_nlink(struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		st->st_nlink = 1;
}

/* Attributes of node N as the kernel gets them, from a stat of its
 * backing entry or of an open file of it. */
void show_attr(struct fs *fs, struct node *n, struct stat *st)
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
bool open_slot(struct fs *fs)
{
	if (__atomic_add_fetch(&fs->nopen, 1, __ATOMIC_RELAXED) <= fs->max_open)
		return true;
	__atomic_sub_fetch(&fs->nopen, 1, __ATOMIC_RELAXED);
	return false;
}

void open_slot_free(struct fs *fs)
{
	__atomic_sub_fetch(&fs->nopen, 1, __ATOMIC_RELAXED);
}

/* A handle for FD, recording at release when the level asks for it; NULL
 * when out of memory (the op answers ENOMEM: a daemon serving many
 * sandboxes does not die for one). */
struct handle *handle_new(fuse_req_t req, struct fs *fs, struct node *n, int fd,
			  enum layer layer, const char *path, int flags, bool writing)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct handle *h = calloc(1, sizeof(*h) + strlen(path) + 1);

	if (!h)
		return NULL;
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

/* An fd of an open file of N in LAYER (any layer when ANY), dup'ed, or
 * -errno (-ENOENT: none): for fstat and the like on a file whose name went
 * away. */
int node_open_fd(struct fs *fs, struct node *n, enum layer layer, bool any)
{
	struct handle *h;
	int fd = -ENOENT;

	pthread_mutex_lock(&fs->lock);
	for (h = n->handles; h; h = h->next)
		if (any || h->layer == layer)
			break;
	if (h) {
		fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
		fd = fd < 0 ? -errno : fd;
	}
	pthread_mutex_unlock(&fs->lock);
	return fd;
}

/* How long the kernel may keep attributes.  Each name of a file with hard
 * links is an inode of its own here: none may cache what a write through
 * another name changes. */
double attr_timeout(const struct fs *fs, const struct stat *st)
{
	return !S_ISDIR(st->st_mode) && st->st_nlink > 1 ? 0 : fs->timeout;
}
