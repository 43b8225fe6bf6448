/* delta.h - the copy-on-write merge of the upper layer over the lower one,
 * in the OCI image-layer format: a deleted name N is an empty file .wh.N
 * in the upper layer, a directory whose lower content is gone holds
 * .wh..wh..opq.  Names beginning ".wh." belong to the format: they are
 * never shown and cannot be made through the mount.
 */
#ifndef AFS_FUSE_DELTA_H
#define AFS_FUSE_DELTA_H

#include <stdbool.h>
#include <sys/stat.h>

#include "backing.h"
#include "deltafmt.h"

/* Where an entry of the merged view lives. */
struct estate {
	bool in_upper;	/* the upper layer has it */
	bool in_lower;	/* the lower layer has it, not masked by a whiteout or an
			 * opaque ancestor (deleting it needs a whiteout) */
	bool opaque;	/* a directory whose lower content is not merged */
	bool wh;	/* a whiteout hides a lower entry of this name */
};

/* Directory fds of a parent in each layer, for looking up many of its
 * names (-1: not open, look up by path). */
struct dirfds {
	int fd[2];
};
#define DIRFDS_NONE ((struct dirfds){ { -1, -1 } })

/* What a listing was made from: the directory in each layer (device,
 * inode, change times) as it was before it was read.  A directory whose
 * names change changes its mtime and ctime, so an equal stamp means the
 * same names, provided the stamp is "settled": both times older than the
 * listing by a tick of the file system's clock, or a change made in the
 * same tick would go unseen. */
struct dirstamp {
	bool in[2];		/* which layers were read */
	dev_t dev[2];
	ino_t ino[2];
	struct timespec mtime[2], ctime[2];
	bool settled;
};

/* A directory listing of the merged view (delta_list). */
struct dirsnap {
	size_t n;
	char **names;
	unsigned char *types;
	ino_t *inos;
	size_t bytes;		/* the memory it holds, about */
	struct dirstamp stamp;
};

bool delta_reserved(const char *name);
bool delta_reserved_xattr(const char *name);

/* The state and attributes of the root, and of PATH given its parent's
 * state.  -ENOENT when the merged view has no such entry.  st_ino is the
 * number the view shows: a lower entry's own; for an upper one, the origin
 * of a copied-up file, else the lower entry's of a directory (or other
 * non-file) that both layers have, else the upper one's (backing_ino). */
int delta_root(struct backing *b, struct estate *e, struct stat *st);
int delta_child(struct backing *b, const char *path, const struct estate *parent,
		struct estate *e, struct stat *st);
/* The same, with the parent's directories open (see delta_open_dirs). */
int delta_child_in(struct backing *b, const struct dirfds *dirs, const char *path,
		   const struct estate *parent, struct estate *e, struct stat *st);
/* Open the directory DIR (state E) in each layer that has it; one that
 * cannot be opened is left -1 (look ups there go by path). */
void delta_open_dirs(struct backing *b, const char *dir, const struct estate *e,
		     struct dirfds *out);
void delta_close_dirs(struct dirfds *d);

/* Bring an entry of the lower layer up, atomically, keeping mode, owner
 * (when permitted) and times: a file's data, a link's target, a directory
 * (empty: its lower content stays merged).  LST: its lstat, or NULL. */
int delta_copy_up(struct backing *b, const char *path, const struct stat *lst);
/* Record in the base journal what the lower layer holds at PATH (nothing
 * when it holds nothing, or no journal is kept), before a change that does
 * not copy it up: a whiteout of it, a rename over it. */
int delta_note_lower(struct backing *b, const char *path);

/* The data of the open file IN (attributes ST) to OUT, holes kept as
 * holes (SEEK_DATA/SEEK_HOLE): a copy-up, and a commit into SOURCE. */
int delta_copy_data(int in, int out, const struct stat *st);

/* The inode number of SOURCE's file that the upper file PATH was copied
 * from (DELTA_ORIGIN, when it names SOURCE's file system), or 0. */
ino_t delta_origin(struct backing *b, const char *path);

/* Copy the user.* extended attributes (the only namespace the mount shows)
 * of the open file IN to OUT; a failure loses them, never the copy. */
void delta_copy_xattrs(int in, int out);

int delta_whiteout(struct backing *b, const char *path);
int delta_unwhiteout(struct backing *b, const char *path);
int delta_set_opaque(struct backing *b, const char *dir);
/* Remove the format's markers from an upper directory before rmdir. */
int delta_clear_markers(struct backing *b, const char *dir);

/* Bytes that listings may hold together: *USED (atomic) up to MAX. */
struct budget {
	size_t *used;
	size_t max;
};
/* The merged listing of the directory PATH in state E ("." and ".."
 * included), stamped, its bytes taken from BUD as they are spent (NULL: no
 * bound); -errno on failure, -ENOMEM when BUD or malloc has no room.  The
 * listing's bytes stay taken until budget_give_back(BUD, d->bytes). */
int delta_list(struct backing *b, const char *path, const struct estate *e, struct budget *bud,
	       struct dirsnap **out);
void budget_give_back(struct budget *bud, size_t n);
/* The stamp the directory PATH (state E) would give a listing now; false
 * when a layer cannot be reached (list it again). */
bool delta_dir_stamp(struct backing *b, const char *path, const struct estate *e,
		     struct dirstamp *st);
/* Would a listing stamped A show what one stamped B shows? */
bool dirstamp_same(const struct dirstamp *a, const struct dirstamp *b);
void dirsnap_free(struct dirsnap *d);
/* Does the lower directory PATH (state E) hold names of the delta's
 * format (".wh.*"), which the view never shows?  A directory of SOURCE
 * that holds only such names looks empty, but its removal would delete
 * them at commit: it is not empty. */
bool delta_lower_reserved(struct backing *b, const char *path, const struct estate *e);
/* Free what D holds, and make it empty. */
void dirsnap_clear(struct dirsnap *d);

/* Remove a directory tree of the host (a private delta) without following
 * links. */
int delta_remove_tree(const char *dir);
/* Remove NAME in the directory DFD, a tree or not, never following a link. */
int delta_remove_at(int dfd, const char *name);

#endif
