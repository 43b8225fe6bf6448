/* workspace.c - the directory at /workspace: an existing one (-m), or a
 * mount of SOURCE by afs-fuse for this run only (-s), and the guarantee
 * that such a mount and its temp dir are gone when afs-launch is:
 *
 *   - afs-fuse is our child with PR_SET_PDEATHSIG(SIGTERM): if afs-launch
 *     dies, afs-fuse unmounts (and removes its private delta);
 *   - the temp dir and the mountpoint are made by the guardian (guard.c),
 *     which removes them, detaching the mount if still there, when
 *     afs-launch ends without saying it did (killed with SIGKILL, say).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

/* How long afs-fuse may take to mount. */
#define MOUNT_TIMEOUT_MS 30000

/* Root runs the sandbox as another uid, which cannot walk the caller's
 * 0700 state dir to --session-dir: it is bound, in a mount namespace of
 * the bwrap child's own, onto a directory of ours it can reach. */
static bool session_staged(const struct launch *L)
{
	return L->session_dir && L->rt->stage_session && geteuid() == 0;
}

int workspace_open(const struct launch *L, struct workspace *ws)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	char *t;

	memset(ws, 0, sizeof(*ws));
	if (L->mount_dir) {
		char *dir = realpath(L->mount_dir, NULL);

		if (!dir || stat(dir, &st) != 0) {
			error("cannot use '%s': %m", L->mount_dir);
			free(dir);
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			error("cannot use '%s': %s", L->mount_dir, strerror(ENOTDIR));
			free(dir);
			return -1;
		}
		ws->dir = dir;
		/* A temp dir only where a session dir must be staged. */
		if (!session_staged(L))
			return 0;
	} else if (stat(L->source, &st) != 0 || !S_ISDIR(st.st_mode)) {
		error("cannot use source '%s': %s", L->source,
		      errno && !S_ISDIR(st.st_mode) ? strerror(errno) : strerror(ENOTDIR));
		return -1;
	}
	t = xasprintf("%s/afs-launch.XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (guard_mkdtemp(t) != 0) {
		error("cannot make a temp dir in '%s': %m", tmp && *tmp == '/' ? tmp : "/tmp");
		free(t);
		return -1;
	}
	ws->tmpdir = t;
	/* The sandbox's uid must be able to reach the mount: search only. */
	if (chmod(t, 0711) != 0) {
		error("cannot use '%s': %m", t);
		return -1;
	}
	if (L->source) {
		ws->mnt = xasprintf("%s/workspace", t);
		if (guard_mkdir(ws->mnt, 0755) != 0) {
			error("cannot make a mountpoint in '%s': %m", t);
			return -1;
		}
		ws->dir = xstrdup(ws->mnt);
	}
	if (session_staged(L)) {
		ws->session = xasprintf("%s/session", t);
		if (guard_mkdir(ws->session, 0700) != 0) {
			error("cannot make '%s': %m", ws->session);
			return -1;
		}
	}
	return 0;
}

/* Mount SOURCE at our mountpoint.  0 when ready; -1 on failure (said);
 * or the number of a signal that asked afs-launch to stop meanwhile. */
int workspace_mount(const struct launch *L, struct workspace *ws, int sigfd)
{
	struct argv_buf { const char *v[32]; int n; } a = { .n = 0 };
	char fdbuf[16], uidbuf[32];
	int rp[2], st, r;
	pid_t parent = getpid(), pid;
	char *fuse = find_program("afs-fuse", true);
	int64_t deadline = mono_ms() + MOUNT_TIMEOUT_MS;

	if (!fuse) {
		error("cannot find afs-fuse beside afs-launch or on PATH");
		return -1;
	}
	if (pipe2(rp, O_CLOEXEC) != 0) {
		error("cannot make a pipe: %m");
		free(fuse);
		return -1;
	}
	snprintf(fdbuf, sizeof(fdbuf), "%d", rp[1]);
	snprintf(uidbuf, sizeof(uidbuf), "%ld", (long)L->uid);
	a.v[a.n++] = "afs-fuse";
	a.v[a.n++] = "-f";
	if (L->policy) {
		a.v[a.n++] = "--policy";
		a.v[a.n++] = L->policy;
	}
	if (L->delta) {
		a.v[a.n++] = "--delta";
		a.v[a.n++] = L->delta;
	}
	if (L->delta_quota) {
		a.v[a.n++] = "--delta-quota";
		a.v[a.n++] = L->delta_quota;
	}
	if (L->audit) {
		a.v[a.n++] = "--audit";
		a.v[a.n++] = L->audit;
	}
	if (L->name) {
		a.v[a.n++] = "--name";
		a.v[a.n++] = L->name;
	}
	if (L->session) {
		a.v[a.n++] = "--session";
		a.v[a.n++] = L->session;
	}
	/* The sandbox's kernel uid, when it is not ours (only root makes it
	 * another: an ordinary user's --uid is mapped to itself); always for
	 * a runtime whose daemon (dockerd, root) must reach the mount to bind it. */
	if ((geteuid() == 0 && L->uid != getuid()) || L->rt->bind_by_daemon) {
		a.v[a.n++] = "--allow-uid";
		a.v[a.n++] = uidbuf;
	}
	a.v[a.n++] = "--ready-fd";
	a.v[a.n++] = fdbuf;
	a.v[a.n++] = "--";
	a.v[a.n++] = L->source;
	a.v[a.n++] = ws->mnt;
	a.v[a.n] = NULL;

	pid = fork();
	if (pid < 0) {
		error("cannot fork: %m");
		free(fuse);
		return -1;
	}
	if (pid == 0) {
		child_setup(true);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != parent)
			_exit(1);
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0 || fcntl(rp[1], F_SETFD, 0) != 0)
			_exit(1);
		execv(fuse, (char *const *)a.v);
		die(EXIT_LAUNCH, "cannot run '%s': %m", fuse);
	}
	free(fuse);
	close(rp[1]);
	ws->fuse_pid = pid;

	r = await_ready(rp[0], sigfd, deadline);
	close(rp[0]);
	if (r == READY_LATE || r == READY_ERROR) {
		if (r == READY_LATE)
			error("afs-fuse did not mount '%s' within %d s", L->source,
			      MOUNT_TIMEOUT_MS / 1000);
		else
			error("cannot wait for afs-fuse: %m");
		return -1;
	}
	if (r == READY_EOF) {
		/* afs-fuse said why; it is gone. */
		waitpid(pid, &st, 0);
		ws->fuse_pid = 0;
		error("afs-fuse could not mount '%s' (it exited with status %d)", L->source,
		      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		return -1;
	}
	if (r > 0)
		return r;
	/* Shared, so that docker may bind it with rslave propagation;
	 * only root may, and nothing depends on it otherwise. */
	if (geteuid() == 0)
		(void)mount(NULL, ws->mnt, NULL, MS_SHARED, NULL);
	return 0;
}

/* Unmount and remove what we made.  0, or -1 when
 * something could not be undone (said). */
int workspace_close(struct workspace *ws)
{
	int status = 0, st;

	if (ws->fuse_pid > 0) {
		pid_t r = 0;

		kill(ws->fuse_pid, SIGTERM);
		for (int i = 0; i < UNMOUNT_TIMEOUT_MS / 5; i++) {
			r = waitpid(ws->fuse_pid, &st, WNOHANG);
			if (r != 0)
				break;
			sleep_ms(5);
		}
		if (r == 0) {
			error("afs-fuse did not unmount within %d s; killing it",
			      UNMOUNT_TIMEOUT_MS / 1000);
			kill(ws->fuse_pid, SIGKILL);
			waitpid(ws->fuse_pid, &st, 0);
			status = -1;
		} else if (r > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			error("afs-fuse ended with status %d",
			      WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			status = -1;
		}
		ws->fuse_pid = 0;
	}
	if (ws->mnt) {
		if (is_mountpoint(ws->mnt, ws->tmpdir))
			force_unmount(ws->mnt);
		if (rmdir(ws->mnt) != 0 && errno != ENOENT) {
			error("cannot remove '%s': %m", ws->mnt);
			status = -1;
		}
	}
	if (ws->session && rmdir(ws->session) != 0 && errno != ENOENT) {
		error("cannot remove '%s': %m", ws->session);
		status = -1;
	}
	if (ws->tmpdir && rmdir(ws->tmpdir) != 0 && errno != ENOENT) {
		error("cannot remove '%s': %m", ws->tmpdir);
		status = -1;
	}
	return status;
}

void workspace_free(struct workspace *ws)
{
	free(ws->dir);
	free(ws->tmpdir);
	free(ws->mnt);
	free(ws->session);
	memset(ws, 0, sizeof(*ws));
}
