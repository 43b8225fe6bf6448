/* conflict.h - changes of a delta that SOURCE changed too since their base
 * (lib/base.h): what afs-audit diff marks C and afs-fuse --commit refuses.
 *
 * A change conflicts when SOURCE's entry differs from the base recorded
 * when the path first changed in the delta, unless SOURCE already holds
 * what the delta would put there (the same change made twice, or a commit
 * cut short and run again).  A deleted or replaced directory conflicts
 * when any entry of SOURCE below it differs from its own base: one the
 * sandbox never saw, or one changed since it was deleted.  afs-fuse(1)
 * COMMIT AND DISCARD has the whole table.
 */
#ifndef AFS_CONFLICT_H
#define AFS_CONFLICT_H

#include <stddef.h>

#include "base.h"

struct conflict {
	char *path;		/* /-rooted */
	enum base_change source;	/* what SOURCE did since the base */
	char delta;		/* what the delta does there: A M D T */
};

struct conflicts {
	struct conflict *v;
	size_t n, cap;
};

/* What the delta holds for a path. */
enum change_kind {
	CHANGE_ENTRY,		/* a file, link or special file */
	CHANGE_DIR,		/* a directory merged with SOURCE's */
	CHANGE_OPAQUE,		/* a directory replacing SOURCE's */
	CHANGE_WHITEOUT,	/* a deletion */
};

/* Check the change at PATH (/-rooted), named NAME in the delta directory
 * DDFD (for a whiteout: the deleted name, not .wh.NAME) and in SOURCE's
 * directory SDFD (-1: SOURCE has no such directory), against its base in
 * M; add what conflicts to C. */
void conflict_check(struct conflicts *c, const struct base_map *m, int ddfd, int sdfd,
		    const char *path, const char *name, enum change_kind kind);
/* Every change of the delta at DROOT against SOURCE's root SROOT: C
 * sorted, one per path. */
void conflict_scan(struct conflicts *c, const struct base_map *m, int droot, int sroot);
/* Sort by path, one per path. */
void conflicts_sort(struct conflicts *c);
/* Is PATH, or a path below it, in C (sorted)? */
bool conflicts_at_or_below(const struct conflicts *c, const char *path);
void conflicts_free(struct conflicts *c);

/* "SOURCE <words> since the delta's base; the delta <words>": "modified
 * it", "created it", ...; "modifies it", "adds it", ... */
const char *conflict_source_words(enum base_change c);
const char *conflict_delta_words(char delta);

/* Do the entries N1 of D1 and N2 of D2 hold the same thing: both absent,
 * or of one type with the same content (files), target (links)? */
bool same_entry(int d1, const char *n1, int d2, const char *n2);

#endif
