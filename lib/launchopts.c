/* launchopts.c - afs-launch's option table (see launchopts.h). */
#include <stddef.h>

#include "launchopts.h"

const char launch_shortopts[] = "+m:s:p:d:a:w:e:t:c:hV";

const struct option launch_longopts[] = {
	{ "mount", required_argument, NULL, 'm' },
	{ "source", required_argument, NULL, 's' },
	{ "policy", required_argument, NULL, 'p' },
	{ "delta", required_argument, NULL, 'd' },
	{ "audit", required_argument, NULL, 'a' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "workdir", required_argument, NULL, 'w' },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "env", required_argument, NULL, 'e' },
	{ "net", no_argument, NULL, OPT_NET },
	{ "allow-host", required_argument, NULL, OPT_ALLOW_HOST },
	{ "net-max-connections", required_argument, NULL, OPT_NET_MAX_CONNECTIONS },
	{ "net-max-bytes", required_argument, NULL, OPT_NET_MAX_BYTES },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-time", required_argument, NULL, OPT_CPU_TIME },
	{ "nofile", required_argument, NULL, OPT_NOFILE },
	{ "fsize", required_argument, NULL, OPT_FSIZE },
	{ "timeout", required_argument, NULL, 't' },
	{ "kill-after", required_argument, NULL, OPT_KILL_AFTER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
	{ "session-dir", required_argument, NULL, OPT_SESSION_DIR },
	{ "tty", no_argument, NULL, OPT_TTY },
	{ "doctor", no_argument, NULL, OPT_DOCTOR },
	{ "delta-quota", required_argument, NULL, OPT_DELTA_QUOTA },
	{ "etc", required_argument, NULL, OPT_ETC },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

