/* base.h - a delta's base journal: what SOURCE held at a path when the
 * path first changed in the delta, so that a review and a commit see what
 * SOURCE did meanwhile (doc/contracts.md "The base journal").
 *
 * The journal is DELTA_BASE (lib/deltafmt.h) at the delta's root: a first
 * line "afs-base 1", then a line per record, appended by afs-fuse:
 *
 *   PATH <TAB> TYPE INO SIZE MTIME_NS CTIME_NS SUM
 *
 * PATH /-rooted with backslash, tab and newline escaped (\\ \t \n); TYPE
 * one of f d l c b p s; SUM the git blob name (40 hex digits) of a regular
 * file's content (at most BASE_SUM_MAX bytes) or of a link's target, else
 * "-".  The last record of a path wins.  A path with no record had nothing
 * in SOURCE when it first changed; a delta with no journal was made by an
 * afs-fuse that kept none: its bases are unknown.
 */
#ifndef AFS_BASE_H
#define AFS_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sha1.h"

#define BASE_MAGIC "afs-base 1\n"
/* Regular files up to this size get a content sum. */
#define BASE_SUM_MAX (1 << 20)
/* Room for a record's line: an escaped path of POLICY_MAX_PATH at worst
 * doubles. */
#define BASE_LINE_MAX (2 * 4096 + 160)

struct base {
	char type;		/* 0: nothing there; else f d l c b p s */
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns, ctime_ns;
	bool has_sum;
	unsigned char sum[SHA1_LEN];
};

/* How SOURCE's entry now differs from a base. */
enum base_change {
	BASE_SAME,
	BASE_MODIFIED,		/* content (or identity, without a sum) */
	BASE_CREATED,		/* nothing was there */
	BASE_REMOVED,		/* nothing is there now */
	BASE_RETYPED,		/* another type of entry */
};

/* A mode's type as a record says it: f d l c b p s. */
char base_type(mode_t m);
/* ST's identity into B; the sum of a regular file is read from FD (open
 * on it; -1: none), of a link from TARGET (NULL: none). */
void base_from_stat(const struct stat *st, int fd, const char *target, struct base *b);
/* The entry NAME of the directory DFD now, never through a link (type 0
 * when there is none); -errno on another error. */
int base_at(int dfd, const char *name, struct base *b);
/* How the entry NAME of DFD now differs from BASE (NULL: nothing was
 * there). */
enum base_change base_compare(const struct base *base, int dfd, const char *name);
/* One word: unchanged, modified, created, removed, retyped. */
const char *base_change_name(enum base_change c);

/* One journal line for PATH into BUF (size BASE_LINE_MAX): its length, or
 * -ENAMETOOLONG. */
int base_format(const char *path, const struct base *b, char *buf, size_t size);

/* The journal read into memory. */
struct base_map;
/* DELTA's journal (DROOT: the delta's root): 1 and *OUT, 0 when the delta
 * has none (bases unknown), -errno when it cannot be read. */
int base_load(int droot, struct base_map **out);
/* PATH's base, NULL when it has none (nothing was there). */
const struct base *base_find(const struct base_map *m, const char *path);
size_t base_count(const struct base_map *m);
/* Forget every record strictly below the directory DIR ("/": all but the
 * root's): SOURCE no longer holds what they say. */
void base_drop_below(struct base_map *m, const char *dir);
/* An empty map, and a record put in it (a set of paths, too). */
struct base_map *base_map_new(void);
void base_put(struct base_map *m, const char *path, const struct base *b);
/* Rewrite DROOT's journal atomically with the records KEEP says yes to. */
int base_rewrite(int droot, const struct base_map *m,
		 bool (*keep)(const char *path, void *arg), void *arg);
void base_map_free(struct base_map *m);

/* Does the delta at DROOT hold no change: only afs's own files (DELTA_META_
 * PREFIX) and copies cut short?  Such a delta begins a new journal. */
bool base_delta_fresh(int droot);

/* The sum in hex (41 bytes with the NUL). */
void base_hex(const unsigned char sum[SHA1_LEN], char out[2 * SHA1_LEN + 1]);

#endif
