/* copyup.c - the delta quota (--delta-quota) and copy-up: an entry of
 * SOURCE brought into the delta before it changes, and a node moved when
 * its name does.
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

/* ---- the delta quota (--delta-quota) ---------------------------------------
 * What counts is, for each file of the delta, the larger of its size and
 * the space its blocks take: a hole is free on the delta's disk, but not
 * on SOURCE's if a program there (or a commit) ever writes it out, and
 * `truncate -s 1T` must not pass a 1 MiB quota.
 * An op that may add some is refused with ENOSPC when what it may add does
 * not fit; what it really added is measured after it, so the count stays
 * exact whatever the estimate.  Concurrent writers may pass the check
 * together: the quota can be exceeded by one write per writer, no more. */
int64_t data_of(const struct stat *st)
{
	int64_t blocks = (int64_t)st->st_blocks * 512;

	if (!S_ISREG(st->st_mode))
		return 0;
	return blocks > st->st_size ? blocks : (int64_t)st->st_size;
}

bool over_quota(struct fs *fs, int64_t more)
{
	return fs->quota > 0 && more > 0 &&
	       __atomic_load_n(&fs->used, __ATOMIC_RELAXED) + more > fs->quota;
}

void quota_add(struct fs *fs, int64_t d)
{
	if (fs->quota > 0 && d)
		__atomic_add_fetch(&fs->used, d, __ATOMIC_RELAXED);
}

/* The data the upper file at PATH frees when its last name goes. */
int64_t upper_data(struct fs *fs, const char *path)
{
	struct stat st;

	if (fs->quota <= 0 || backing_lstat(fs->b, UPPER, path, &st) != 0 || st.st_nlink != 1)
		return 0;
	return data_of(&st);
}

/* Bring the entry of node N up for writing. */
int copy_up(struct fs *fs, struct node *n, const char *path)
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
		return r;
	if (fs->quota > 0 && over_quota(fs, data_of(&lst)))
		return -ENOSPC;
	/* Other requests go on while a large file is copied. */
	if (lst.st_size > LOOP_INLINE_BYTES)
		loop_release_lead();
	r = delta_copy_up(fs->b, path, &lst);
	if (r < 0 && r != -EEXIST)
		return r;
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
int refresh(struct fs *fs, struct node *n, const char *path)
{
	struct estate pes, es;
	struct stat st;
	int r;

	pthread_mutex_lock(&fs->lock);
	pes = n->parent->es;
	pthread_mutex_unlock(&fs->lock);
	r = delta_child(fs->b, path, &pes, &es, &st);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->lock);
	n->es = es;
	n->ino = st.st_ino;
	n->is_dir = S_ISDIR(st.st_mode);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Move node N to (DIR, NAME), taking NAME (malloc'ed by the caller before
 * it changed anything); caller holds fs->lock. */
void node_move(struct fs *fs, struct node *n, struct node *dir, char *name)
{
	table_remove(fs, n);
	n->parent->kids--;
	n->parent = dir;
	dir->kids++;
	free(n->name);
	n->name = name;
	n->gen = 0;	/* decide again under the new name */
	table_insert(fs, n);
}
