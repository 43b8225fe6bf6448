/* cgroup.c - memory, pids and cpu limits for a bwrap sandbox.
 *
 * A limit goes into a new cgroup below afs-launch's own, one per run, in
 * the cgroup v1 hierarchy of its controller or in the v2 one when the
 * controller is enabled there for our subtree (delegated).  Whether we
 * may is decided by the kernel (mkdir and write permission), not guessed.
 * Why a cgroup and not only an rlimit: RLIMIT_AS refuses address space
 * (which many runtimes reserve and never touch) and leaves no trace of
 * having refused; a memory cgroup limits what is really used and its OOM
 * kill is counted, so the result can say "memory".  Likewise pids.events
 * counts refused forks.  --cpus has no rlimit at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

enum { CG_MEMORY, CG_PIDS, CG_CPU, CG_N };
static const char *const cg_names[CG_N] = { "memory", "pids", "cpu" };

struct cgroup {
	char *dir[CG_N];	/* the run's cgroup per controller, or NULL */
	int version[CG_N];
	long pids_max;
};

static int cg_write(const char *dir, const char *file, const char *value)
{
	char *path = xasprintf("%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t n = strlen(value);

	free(path);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		err = -errno;
	close(fd);
	return err;
}

/* The number after "KEY " in a flat-keyed cgroup file, or -1. */
static long long cg_read_key(const char *dir, const char *file, const char *key)
{
	char *path = xasprintf("%s/%s", dir, file), line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "re");

	free(path);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Our cgroup path in the hierarchy that has CONTROLLER (v1), or in the
 * unified one when CONTROLLER is NULL. */
static char *own_path(const char *controller)
{
	char line[4096], *res = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return NULL;
	while (!res && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *path, *tok, *save = NULL;

		if (!ctl || !(path = strchr(++ctl, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!controller) {
			if (*ctl == '\0' && strncmp(line, "0:", 2) == 0)
				res = xstrdup(path);
			continue;
		}
		for (tok = strtok_r(ctl, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, controller) == 0)
				res = xstrdup(path);
	}
	fclose(f);
	return res;
}

/* Where the v1 hierarchy of CONTROLLER (or v2, when NULL) is mounted. */
static char *mount_of(const char *controller)
{
	char line[4096], *res = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	while (!res && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *fields[6], *save = NULL, *p;
		char *fstype, *opts, *tok;
		int n = 0;

		if (!sep)
			continue;
		*sep = '\0';
		for (p = strtok_r(line, " ", &save); p && n < 6; p = strtok_r(NULL, " ", &save))
			fields[n++] = p;
		if (n < 5)
			continue;
		save = NULL;
		fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save);	/* source */
		opts = strtok_r(NULL, " \n", &save);
		if (!fstype || !opts)
			continue;
		if (!controller) {
			if (strcmp(fstype, "cgroup2") == 0)
				res = xstrdup(fields[4]);
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		save = NULL;
		for (tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, controller) == 0)
				res = xstrdup(fields[4]);
	}
	fclose(f);
	return res;
}

static bool word_in_file(const char *dir, const char *file, const char *word)
{
	char *path = xasprintf("%s/%s", dir, file), buf[1024], *tok, *save = NULL;
	ssize_t n = read_small(path, buf, sizeof(buf));

	free(path);
	if (n < 0)
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, word) == 0)
			return true;
	return false;
}

/* Make the run's cgroup for controller I: v1 first (this machine's kind),
 * then v2 where our subtree has the controller enabled. */
static int make_dir(struct cgroup *cg, int i)
{
	const char *name = cg_names[i];
	char *mnt, *own;
	int v;

	for (v = 1; v <= 2; v++) {
		char *base, *dir;

		mnt = mount_of(v == 1 ? name : NULL);
		own = own_path(v == 1 ? name : NULL);
		if (!mnt || !own) {
			free(mnt);
			free(own);
			continue;
		}
		base = xasprintf("%s%s", mnt, strcmp(own, "/") == 0 ? "" : own);
		free(mnt);
		free(own);
		if (v == 2 && !word_in_file(base, "cgroup.subtree_control", name)) {
			free(base);
			continue;
		}
		/* v2: one directory serves all controllers. */
		for (int j = 0; j < CG_N; j++)
			if (cg->dir[j] && cg->version[j] == 2 && v == 2) {
				cg->dir[i] = xstrdup(cg->dir[j]);
				cg->version[i] = 2;
				free(base);
				return 0;
			}
		dir = xasprintf("%s/afs-launch.%ld", base, (long)getpid());
		free(base);
		if (guard_mkcgroup(dir) != 0) {
			free(dir);
			continue;
		}
		cg->dir[i] = dir;
		cg->version[i] = v;
		return 0;
	}
	return -1;
}

static int set_limits(struct cgroup *cg, const struct limits *lim, const char **why)
{
	char val[64];

	if (lim->memory > 0 && cg->dir[CG_MEMORY]) {
		const char *d = cg->dir[CG_MEMORY];
		bool v1 = cg->version[CG_MEMORY] == 1;

		snprintf(val, sizeof(val), "%lld", (long long)lim->memory);
		if (cg_write(d, v1 ? "memory.limit_in_bytes" : "memory.max", val) != 0) {
			*why = "cannot set the memory limit in its cgroup";
			return -1;
		}
		/* No swapping past the limit either, where swap is accounted. */
		if (v1)
			(void)cg_write(d, "memory.memsw.limit_in_bytes", val);
		else
			(void)cg_write(d, "memory.swap.max", "0");
	}
	if (lim->pids > 0 && cg->dir[CG_PIDS]) {
		/* bwrap's outer process and the shim are in the cgroup too. */
		snprintf(val, sizeof(val), "%ld", lim->pids + 2);
		if (cg_write(cg->dir[CG_PIDS], "pids.max", val) != 0) {
			*why = "cannot set the pids limit in its cgroup";
			return -1;
		}
	}
	if (lim->millicpus > 0) {
		const char *d = cg->dir[CG_CPU];
		long quota = lim->millicpus * 100;	/* per 100 ms period */

		if (cg->version[CG_CPU] == 1) {
			snprintf(val, sizeof(val), "%ld", quota);
			if (cg_write(d, "cpu.cfs_period_us", "100000") != 0 ||
			    cg_write(d, "cpu.cfs_quota_us", val) != 0) {
				*why = "cannot set the cpu limit in its cgroup";
				return -1;
			}
		} else {
			snprintf(val, sizeof(val), "%ld 100000", quota);
			if (cg_write(d, "cpu.max", val) != 0) {
				*why = "cannot set the cpu limit in its cgroup";
				return -1;
			}
		}
	}
	return 0;
}

/* A cgroup for the limits that need one (0 and *OUT NULL when none do),
 * or -1 with *WHY when one is needed and none can be made. */
int cgroup_new(const struct limits *lim, struct cgroup **out, const char **why)
{
	bool need[CG_N] = { lim->memory > 0, lim->pids > 0, lim->millicpus > 0 };
	struct cgroup *cg;
	int i;

	*out = NULL;
	if (!need[CG_MEMORY] && !need[CG_PIDS] && !need[CG_CPU])
		return 0;
	cg = xcalloc(1, sizeof(*cg));
	for (i = 0; i < CG_N; i++) {
		if (!need[i])
			continue;
		if (make_dir(cg, i) != 0) {
			/* Memory and pids still have their rlimits; a CPU
			 * share has nothing else. */
			if (i == CG_CPU) {
				*why = "--cpus needs a writable cgroup with the cpu controller (v1 as "
				       "root, or a delegated v2), and there is none: use --runtime docker";
				cgroup_free(cg);
				return -1;
			}
		}
	}
	if (set_limits(cg, lim, why) != 0) {
		cgroup_free(cg);
		return -1;
	}
	cg->pids_max = lim->pids;
	if (!cg->dir[CG_MEMORY] && !cg->dir[CG_PIDS] && !cg->dir[CG_CPU]) {
		cgroup_free(cg);
		return 0;
	}
	*out = cg;
	return 0;
}

bool cgroup_has(const struct cgroup *cg, const char *controller)
{
	for (int i = 0; cg && i < CG_N; i++)
		if (strcmp(cg_names[i], controller) == 0)
			return cg->dir[i] != NULL;
	return false;
}

/* Move the calling process into the run's cgroups (in the child, as the
 * caller's uid, before it drops to the sandbox's). */
int cgroup_enter(const struct cgroup *cg)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	for (int i = 0; cg && i < CG_N; i++) {
		if (!cg->dir[i])
			continue;
		/* v2 shares one directory: entering it once is enough, and
		 * doing it again is harmless. */
		if (cg_write(cg->dir[i], "cgroup.procs", pid) != 0)
			return -1;
	}
	return 0;
}

/* Which limit the kernel enforced during the run, if any. */
const char *cgroup_limit_hit(const struct cgroup *cg)
{
	if (!cg)
		return NULL;
	if (cg->dir[CG_MEMORY]) {
		bool v1 = cg->version[CG_MEMORY] == 1;

		if (cg_read_key(cg->dir[CG_MEMORY], v1 ? "memory.oom_control" : "memory.events",
				"oom_kill") > 0)
			return "memory";
	}
	if (cg->dir[CG_PIDS] && cg_read_key(cg->dir[CG_PIDS], "pids.events", "max") > 0)
		return "pids";
	return NULL;
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (int i = 0; i < CG_N; i++) {
		bool dup = false;

		if (!cg->dir[i])
			continue;
		for (int j = 0; j < i; j++)
			if (cg->dir[j] && strcmp(cg->dir[j], cg->dir[i]) == 0)
				dup = true;
		if (!dup)
			(void)rmdir_patiently(cg->dir[i]);
	}
	for (int i = 0; i < CG_N; i++)
		free(cg->dir[i]);
	free(cg);
}
