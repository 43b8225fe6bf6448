/* launchopts.h - afs-launch's command-line options, shared with
 * afs-session, which passes them on to afs-launch and must know which of
 * them take an argument (and where the audit log and workspace are). */
#ifndef AFS_LAUNCHOPTS_H
#define AFS_LAUNCHOPTS_H

#include <getopt.h>

enum {
	OPT_NAME = 256, OPT_RUNTIME, OPT_IMAGE, OPT_UID, OPT_GID, OPT_NET, OPT_MEMORY,
	OPT_PIDS, OPT_CPUS, OPT_CPU_TIME, OPT_NOFILE, OPT_FSIZE, OPT_KILL_AFTER, OPT_JSON,
	OPT_MAX_OUTPUT, OPT_SESSION_DIR, OPT_TTY, OPT_DOCTOR,
	OPT_DELTA_QUOTA, OPT_ETC, OPT_SECCOMP, OPT_ALLOW_HOST, OPT_NET_MAX_CONNECTIONS,
	OPT_NET_MAX_BYTES,
};

extern const struct option launch_longopts[];
extern const char launch_shortopts[];

#endif
