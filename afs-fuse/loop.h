/* loop.h - afs-fuse's session loop (see loop.c). */
#ifndef AFS_FUSE_LOOP_H
#define AFS_FUSE_LOOP_H

#include "fs.h"

#define LOOP_MAX_THREADS	16
#define LOOP_SPIN_US		50	/* --spin's default */
/* A request that moves more data than this (a write, a copy-up) hands
 * the reader role on first: up to it, it holds the others no longer than
 * a round trip would. */
#define LOOP_INLINE_BYTES	(64 * 1024)

/* Serve SE until it ends: unmounted (0), a SIGINT or SIGTERM that
 * libfuse's handlers turned into fuse_session_exit() (0), or an error
 * reading the device (-errno).  SPIN_US: how long the reading thread polls
 * the device, without sleeping, before it waits in poll(2); 0 never. */
int loop_run(struct fuse_session *se, unsigned max_threads, unsigned spin_us);

/* From a request's handler about to take long (a large copy-up): if this
 * thread reads for the loop, let another read meanwhile. */
void loop_release_lead(void);

#endif
