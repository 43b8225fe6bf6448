/* state.c - where sessions live, their info files, liveness. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "trust.h"
#include "util.h"

void rfc3339_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* $AFS_RUNTIME_DIR, else $XDG_RUNTIME_DIR/afs, else /run/afs: made 0700
 * if missing; refused unless ours and private (afs-session(1) STATE).  Dies. */
char *state_root(void)
{
	const char *env = getenv("AFS_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	char *root, why[TRUST_WHY_MAX];
	struct stat st;
	int fd;

	if (env && *env)
		root = xstrdup(env);
	else if (xdg && *xdg)
		root = xasprintf("%s/afs", xdg);
	else
		root = xstrdup("/run/afs");
	if (root[0] != '/')
		die(1, "the state directory '%s' is not an absolute path", root);
	/* As every path afs writes into (lib/trust.h), and more: ours alone,
	 * private even from reading. */
	fd = trust_dir(root, true, why);
	if (fd < 0)
		die(1, "cannot use the state directory '%s': %s", root, why);
	if (fstat(fd, &st) != 0)
		die(1, "cannot use the state directory '%s': %m", root);
	close(fd);
	if (st.st_uid != geteuid())
		die(1, "the state directory '%s' belongs to uid %ld, not to us", root,
		    (long)st.st_uid);
	if (st.st_mode & 077)
		die(1, "the state directory '%s' is not private (mode %04o; want 0700)", root,
		    (unsigned)(st.st_mode & 07777));
	return root;
}

/* A name is a file name of its own: letters, digits, . _ -, not first. */
int state_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SESSION_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '.' || c == '_' || c == '-'));

		if (!ok)
			return -1;
	}
	return 0;
}

char *session_dir(const char *root, const char *name)
{
	return xasprintf("%s/%s", root, name);
}

int info_read(const char *dir, struct session_info *inf)
{
	char *path = xasprintf("%s/info", dir), line[4200];
	FILE *f = fopen(path, "re");

	free(path);
	memset(inf, 0, sizeof(*inf));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		if (strcmp(line, "pid") == 0)
			inf->pid = (pid_t)atol(v);
		else if (strcmp(line, "started") == 0)
			snprintf(inf->started, sizeof(inf->started), "%s", v);
		else if (strcmp(line, "mount") == 0)
			snprintf(inf->mount, sizeof(inf->mount), "%s", v);
		else if (strcmp(line, "shell") == 0)
			snprintf(inf->shell, sizeof(inf->shell), "%s", v);
		else if (strcmp(line, "audit") == 0)
			snprintf(inf->audit, sizeof(inf->audit), "%s", v);
		else if (strcmp(line, "state") == 0)
			snprintf(inf->state, sizeof(inf->state), "%s", v);
		else if (strcmp(line, "status") == 0)
			inf->status = atoi(v);
	}
	fclose(f);
	return inf->pid > 0 && inf->state[0] ? 0 : -EINVAL;
}

/* Written to a temp file and renamed: a reader sees the old or the new. */
int info_write(const char *dir, const struct session_info *inf)
{
	char *tmp = xasprintf("%s/info.tmp", dir), *path = xasprintf("%s/info", dir);
	FILE *f = fopen(tmp, "we");
	int r = 0;

	if (!f) {
		r = -errno;
		goto out;
	}
	fprintf(f, "pid=%ld\nstarted=%s\nmount=%s\nshell=%s\naudit=%s\nstate=%s\n", (long)inf->pid,
		inf->started, inf->mount, inf->shell, inf->audit, inf->state);
	if (strcmp(inf->state, "dead") == 0)
		fprintf(f, "status=%d\n", inf->status);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		r = -errno;
out:
	free(tmp);
	free(path);
	return r;
}

/* The supervisor of INF runs: its pid is alive (not a zombie that no
 * init has reaped yet) and is afs-session. */
bool supervisor_alive(const struct session_info *inf)
{
	char path[64], buf[512], *open_paren, *close_paren;

	if (inf->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)inf->pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return false;
	/* "PID (COMM) STATE ...": the supervisor names itself (PR_SET_NAME),
	 * so a reused pid is not taken for it. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren[1] != ' ')
		return false;
	*close_paren = '\0';
	if (strcmp(open_paren + 1, "afs-session") != 0)
		return false;
	return close_paren[2] != 'Z' && close_paren[2] != 'X';
}
