/* ops_dir.c - the FUSE ops on directories: opendir, readdir(plus),
 * releasedir; listings shared between handles and bounded
 * (afs-fuse(1) LIMITS).
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

/* ---- directories ----------------------------------------------------------- */

/* A listing of a directory, shared by the handles that read it from its
 * start while the directory did not change: a thousand open handles of
 * one directory hold one listing, and every listing held counts against
 * --listing-memory (afs-fuse(1) LIMITS; tests/t5012).  fs->lock guards
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
	__atomic_sub_fetch(&fs->listed, ls->d->bytes, __ATOMIC_RELAXED);
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
	struct budget bud = { &fs->listed, fs->max_listed };
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
	/* Its bytes are taken from --listing-memory as it is read: listings
	 * read at once by several threads never hold more together. */
	r = delta_list(fs->b, dpath, es, &bud, &d);
	if (r < 0)
		return r;
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		budget_give_back(&bud, d->bytes);
		dirsnap_free(d);
		return -ENOMEM;
	}
	pthread_mutex_lock(&fs->lock);
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

void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
		r = -EMFILE;
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	if (auditing(fs, AUDIT_ACCESS)) {
		struct event ev = { .op = "readdir", .path = path, .bytes = -1 };

		audit_emit(req, fs, &ev, "allow", 0);
	}
	dh = calloc(1, sizeof(*dh));
	if (!dh) {
		open_slot_free(fs);
		fuse_reply_err(req, ENOMEM);
		return;
	}
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
		fuse_reply_err(req, -r);
		return;
	}
	d = dh->ls->d;
	/* One open of the directory in each layer for the whole batch, if
	 * any entry needs one (not at the end of the listing). */
	if ((size_t)off < d->n)
		delta_open_dirs(fs->b, dpath, &des, &dirs);
	else
		dirs = DIRFDS_NONE;
	buf = p = malloc(size);
	if (!buf) {
		delta_close_dirs(&dirs);
		fuse_reply_err(req, ENOMEM);
		return;
	}
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
			r = do_lookup(fs, ino_node(fs, ino), dpath, &des, &dirs, name, &e, NULL);
			if (r == -ENOMEM)
				break;	/* the batch ends here, ENOMEM when empty */
			if (r)
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
	if (r == -ENOMEM && rem == size)
		fuse_reply_err(req, ENOMEM);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	/* Entries are made with the upper layer's own calls; there is no
	 * directory fd to sync, and syncfs would cost the whole layer. */
	fuse_reply_err(req, 0);
}
