/* gitbranch.h - afs-fuse --commit-git: a delta's changes as one git commit
 * on a new branch, over the HEAD that SOURCE had when the delta began. */
#ifndef AFS_FUSE_GITBRANCH_H
#define AFS_FUSE_GITBRANCH_H

#include <stdbool.h>

struct backing;

/* At mount: when the upper layer of B is a fresh delta (nothing in it but
 * afs's own files) with no DELTA_HEAD yet, and SOURCE is in a git work tree
 * with a HEAD commit, write that commit's id to DELTA_HEAD.  Anything
 * else (no git, no repository, an unborn HEAD, git refusing) records
 * nothing, without a word: the mount goes on all the same. */
void gitbranch_record_head(struct backing *b, const char *source);

/* Make refs/heads/BRANCH in SOURCE's repository: one commit of DELTA's
 * changes whose parent is the HEAD recorded in DELTA, with MESSAGE (NULL:
 * the default).  SOURCE's working tree, index and HEAD are not touched,
 * nor DELTA.  With VERBOSE, name each ignored path left out.  Returns the
 * exit status: 0 (the commit's id printed), 1 when git or the walk of the
 * delta failed, 2 for a refusal (each said on stderr). */
int gitbranch_commit(const char *delta, const char *source, const char *branch,
		     const char *message, bool verbose);

#endif
