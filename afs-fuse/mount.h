/* mount.h - run the filesystem: mount, serve, reload, unmount. */
#ifndef AFS_FUSE_MOUNT_H
#define AFS_FUSE_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Open files and directories of one mount at once (--max-open), and the
 * memory its listings of open directories may hold (--listing-memory):
 * what a sandbox makes afs-fuse spend, outside the sandbox's own limits
 * (afs-fuse(1) LIMITS). */
#define MAX_OPEN_DEFAULT	4096
#define LISTING_MEMORY_DEFAULT	((int64_t)32 << 20)
/* fds afs-fuse keeps for itself beyond the sandbox's open files: the
 * layers, the audit log, /dev/fuse, a request's directories. */
#define FD_RESERVE		64

struct mount_opts {
	const char *source;
	const char *mountpoint;
	const char *policy;	/* a file path or a preset name */
	const char *delta;	/* NULL: a private one, removed at unmount */
	bool writethrough;	/* write into SOURCE itself, no delta */
	const char *audit;	/* the audit log, or NULL */
	int audit_level;	/* enum audit_level */
	int64_t audit_max_bytes;	/* 0: no cap */
	const char *name;	/* in audit records and the mount table */
	const char *session;	/* in every audit record, or NULL */
	int64_t delta_quota;	/* bytes; 0: none */
	unsigned max_open;	/* open files and directories; 0: the default */
	int64_t listing_memory;	/* bytes of listings held */
	unsigned spin_us;	/* see loop_run() */
	bool foreground;
	int ready_fd;		/* -1: none */
	char *fuse_opts;	/* comma-separated, for libfuse; may be NULL */
	uid_t *allow;
	size_t nallow;
};

/* Returns the exit status: 0 after a clean unmount, 1 when it cannot
 * start or serve, 2 for a bad policy. */
int mount_run(const struct mount_opts *o);

#endif
