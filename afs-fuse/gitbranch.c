/* gitbranch.c - afs-fuse --commit-git, and the git HEAD a delta began from.
 *
 * A delta's changes become one commit on a new branch whose parent is the
 * HEAD that SOURCE had when the delta began; the user reviews it (git diff
 * main...BRANCH) and merges it with git's own three-way merge, however
 * SOURCE moved on meanwhile.  The commit is built with git's plumbing in a
 * temporary index: read-tree of that HEAD, the delta's changes as
 * update-index records, write-tree, commit-tree, and update-ref with an
 * empty old value, which fails if the branch appeared meanwhile.
 *
 * MUST:
 * - touch nothing of SOURCE's repository but the new branch and the
 *   objects it needs: never its working tree, its index (GIT_INDEX_FILE
 *   names one in a private directory, removed at the end) nor HEAD;
 * - never follow a symbolic link in DELTA: every directory is entered one
 *   component at a time with O_NOFOLLOW | O_DIRECTORY relative to its
 *   parent's fd and every entry lstat'ed there; git reads a file only as
 *   /proc/self/fd/3/PATH, below the delta's own fd, PATH just found to be
 *   a regular file reached through real directories;
 * - carry no set-id bit (a file is 100644 or 100755), no .git, no name of
 *   afs's own, and nothing git cannot hold (FIFOs, sockets and devices
 *   are said and left out);
 * - at mount, say nothing and never fail the mount: no git, no repository,
 *   an unborn HEAD or git refusing records nothing.
 *
 * git runs without a shell, as the user's own git in SOURCE's repository
 * (its config applies: identity, signing), but without the variables that
 * would point it at another repository, index or work tree.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backing.h"
#include "base.h"
#include "commit.h"
#include "deltafmt.h"
#include "gitbranch.h"
#include "trust.h"
#include "util.h"

extern char **environ;

/* The fd that git gets the delta's directory on. */
#define DELTA_FD 3
/* git's standard output kept: ls-files of a repository of a million files
 * is about 100 MB; beyond 1 GiB something is wrong. */
#define OUT_MAX ((size_t)1 << 30)
/* Of its standard error, what a person reads. */
#define ERR_MAX ((size_t)64 << 10)
/* How long a mount waits for git rev-parse (SOURCE on a hung file
 * system): beyond it, nothing is recorded. */
#define MOUNT_GIT_MS 10000
/* Directories deep in a delta: as commit.c. */
#define MAX_DEPTH (PATH_MAX / 2)
/* A hex object id and its NUL: SHA-1 is 40 digits, SHA-256 64. */
#define OID_MAX 65

#define MODE_FILE 0100644
#define MODE_EXEC 0100755
#define MODE_LINK 0120000
#define MODE_GITLINK 0160000

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap - b->len < n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
	free(b->p);
	*b = (struct buf){ 0 };
}

/* B's text without its last newline. */
static const char *chomp(struct buf *b)
{
	buf_add(b, "", 0);	/* allocated, NUL-terminated */
	if (b->len && b->p[b->len - 1] == '\n')
		b->p[--b->len] = '\0';
	return b->p;
}

/* Is S an object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits? */
static bool is_oid(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return (n == 40 || n == 64) && s[n] == '\0';
}

/* ---- running git ---- */

struct git {
	const char *source;	/* git -C SOURCE */
	char **env;		/* its environment */
	int delta_fd;		/* given to it as DELTA_FD, or -1 */
	int timeout_ms;		/* -1: none */
};

/* What would point git at another repository, index or work tree than
 * SOURCE's (afs-fuse run from a git hook has GIT_DIR set), or give paths
 * magic (check-ignore refuses every pathspec magic). */
static const char *const repo_vars[] = {
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
	"GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_SHALLOW_FILE", "GIT_REPLACE_REF_BASE",
	"GIT_NO_REPLACE_OBJECTS", "GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS",
	"GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS",
};

static bool repo_var(const char *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(repo_vars); i++) {
		size_t n = strlen(repo_vars[i]);

		if (strncmp(e, repo_vars[i], n) == 0 && e[n] == '=')
			return true;
	}
	return false;
}

/* Our environment less REPO_VARS, with GIT_INDEX_FILE=INDEX when given. */
static char **git_env(const char *index)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (!repo_var(environ[i]))
			env[k++] = xstrdup(environ[i]);
	if (index)
		env[k++] = xasprintf("GIT_INDEX_FILE=%s", index);
	env[k] = NULL;
	return env;
}

static void env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* In the child: stdio from IN, OUT and ERR (-1: /dev/null), the delta's fd
 * as DELTA_FD, nothing else open, signals as a fresh process has them
 * (afs-fuse blocks some while it mounts).  An exec that fails writes its
 * errno to REPORT. */
static _Noreturn void child(const struct git *g, char *const *argv, int in, int out, int err,
			    int report)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), fd[4], keep[2], e;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Each moved above 9 first: no dup2 below may close another's source. */
	report = fcntl(report, F_DUPFD_CLOEXEC, 10);
	fd[0] = fcntl(in >= 0 ? in : null, F_DUPFD_CLOEXEC, 10);
	fd[1] = fcntl(out >= 0 ? out : null, F_DUPFD_CLOEXEC, 10);
	fd[2] = fcntl(err >= 0 ? err : null, F_DUPFD_CLOEXEC, 10);
	fd[3] = g->delta_fd >= 0 ? fcntl(g->delta_fd, F_DUPFD_CLOEXEC, 10) : -1;
	if (null < 0 || fd[0] < 0 || fd[1] < 0 || fd[2] < 0 || (g->delta_fd >= 0 && fd[3] < 0))
		goto failed;
	for (int i = 0; i < 4; i++)
		if (fd[i] >= 0 && dup2(fd[i], i) < 0)	/* and so without FD_CLOEXEC */
			goto failed;
	keep[0] = report;
	keep[1] = g->delta_fd >= 0 ? DELTA_FD : -1;
	close_except(keep, 2);
	execvpe("git", argv, g->env);
failed:
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Read what FD has into B (at most MAX bytes kept, *OVER set beyond);
 * at its end, close it and set it to -1. */
static void drain(int *fd, struct buf *b, size_t max, bool *over)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return;
	}
	if (b->len + (size_t)n > max) {
		*over = true;
		if (b->len < max)
			buf_add(b, chunk, max - b->len);
		return;
	}
	buf_add(b, chunk, (size_t)n);
}

static int ms_left(int64_t deadline)
{
	int64_t left = deadline - mono_ms();

	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Run git -C SOURCE ARGV... with IN on its standard input (NULL:
 * /dev/null), its standard output into OUT and its standard error into ERR
 * (the first ERR_MAX bytes; either NULL: /dev/null).  Both are read while
 * IN is written, so that neither side waits for the other.  Returns git's
 * exit status (128 + N for signal N), or -1 with errno when it could not
 * be run, took too long (ETIMEDOUT) or wrote more than OUT_MAX (EFBIG). */
static int git_run(const struct git *g, const char *const *argv, const struct buf *in,
		   struct buf *out, struct buf *err)
{
	const char *full[16];
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int wfd, ofd, efd, e = 0, ws, cerr;
	size_t n = 0, off = 0;
	bool over = false, err_over = false;
	int64_t deadline;
	ssize_t r;
	pid_t pid;

	full[n++] = "git";
	full[n++] = "-C";
	full[n++] = g->source;
	for (; *argv; argv++) {
		assert(n < ARRAY_SIZE(full) - 1);
		full[n++] = *argv;
	}
	full[n] = NULL;
	if ((in && pipe2(pin, O_CLOEXEC) < 0) || (out && pipe2(pout, O_CLOEXEC) < 0) ||
	    (err && pipe2(perr, O_CLOEXEC) < 0) || pipe2(rep, O_CLOEXEC) < 0) {
		e = errno;
		goto closed;
	}
	deadline = mono_ms() + g->timeout_ms;
	pid = fork();
	if (pid < 0) {
		e = errno;
		goto closed;
	}
	if (pid == 0)
		child(g, (char *const *)full, pin[0], pout[1], perr[1], rep[1]);
	close(rep[1]);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = rep[1] = -1;
	/* Its errno if exec failed; the end of the pipe once it succeeded. */
	while ((r = read(rep[0], &cerr, sizeof(cerr))) < 0 && errno == EINTR)
		;
	if (r == (ssize_t)sizeof(cerr))
		e = cerr;

	wfd = pin[1], ofd = pout[0], efd = perr[0];
	pin[1] = pout[0] = perr[0] = -1;
	if (wfd >= 0 && (e || in->len == 0 || fcntl(wfd, F_SETFL, O_NONBLOCK) < 0)) {
		close(wfd);
		wfd = -1;
	}
	while (!e && (wfd >= 0 || ofd >= 0 || efd >= 0)) {
		struct pollfd pf[3];
		int k = 0, wait = -1;

		if (wfd >= 0)
			pf[k++] = (struct pollfd){ .fd = wfd, .events = POLLOUT };
		if (ofd >= 0)
			pf[k++] = (struct pollfd){ .fd = ofd, .events = POLLIN };
		if (efd >= 0)
			pf[k++] = (struct pollfd){ .fd = efd, .events = POLLIN };
		if (g->timeout_ms >= 0 && (wait = ms_left(deadline)) <= 0) {
			e = ETIMEDOUT;
			break;
		}
		if (poll(pf, (nfds_t)k, wait) < 0) {
			if (errno != EINTR)
				e = errno;
			continue;
		}
		for (int i = 0; i < k; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == wfd) {
				size_t len = in->len - off > 65536 ? 65536 : in->len - off;
				ssize_t w = write(wfd, in->p + off, len);

				if (w > 0)
					off += (size_t)w;
				/* EPIPE: git stopped reading; its status says why. */
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == in->len) {
					close(wfd);
					wfd = -1;
				}
			} else if (pf[i].fd == ofd) {
				drain(&ofd, out, OUT_MAX, &over);
			} else if (pf[i].fd == efd) {
				drain(&efd, err, ERR_MAX, &err_over);
			}
		}
	}
	if (e)
		kill(pid, SIGKILL);
	if (wfd >= 0)
		close(wfd);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	while ((r = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
		;
	/* ECHILD: SIGCHLD ignored, the status is lost with the child. */
	if (r < 0 && !e)
		e = errno;
	close(rep[0]);
	if (!e && over)
		e = EFBIG;
	if (e) {
		errno = e;
		return -1;
	}
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
closed:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
		if (rep[i] >= 0)
			close(rep[i]);
	}
	errno = e;
	return -1;
}

/* ---- at mount: the HEAD the delta begins from ---- */

/* ID and a newline as DFD's DELTA_HEAD, mode 0600, atomically. */
static void write_head(int dfd, const char *id)
{
	char tmp[64], line[OID_MAX + 1];
	int fd, n = snprintf(line, sizeof(line), "%s\n", id);
	bool ok;

	snprintf(tmp, sizeof(tmp), DELTA_TMP_PREFIX "%d.head", (int)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = fchmod(fd, 0600) == 0 && write(fd, line, (size_t)n) == n;
	ok = close(fd) == 0 && ok;
	if (!ok || renameat(dfd, tmp, dfd, DELTA_HEAD) < 0)
		unlinkat(dfd, tmp, 0);
}

/* Might SOURCE be in a git work tree: is there a .git (a directory, or
 * the file of a linked work tree) in it or above it?  What git looks
 * for, as git's own environment cannot point elsewhere (repo_vars): a
 * mount of a SOURCE in no repository starts no git. */
static bool maybe_git(const char *source)
{
	char *dir = realpath(source, NULL), *slash;
	bool found = false;

	while (dir && !found) {
		char *dotgit = xasprintf("%s/.git", strcmp(dir, "/") ? dir : "");

		found = faccessat(AT_FDCWD, dotgit, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		free(dotgit);
		slash = strrchr(dir, '/');
		if (!slash || !strcmp(dir, "/"))
			break;
		slash[slash == dir ? 1 : 0] = '\0';
	}
	free(dir);
	return found;
}

void gitbranch_record_head(struct backing *b, const char *source)
{
	static const char *const argv[] = { "rev-parse", "--is-inside-work-tree", "--verify", "-q",
					     "HEAD^{commit}", NULL };
	struct git g = { .source = source, .delta_fd = -1, .timeout_ms = MOUNT_GIT_MS };
	struct buf out = { 0 };
	int dfd = backing_open_dir(b, UPPER, "/");
	const char *id;

	if (dfd < 0)
		return;
	/* A delta with no change yet, and no HEAD recorded. */
	if (base_delta_fresh(dfd) && faccessat(dfd, DELTA_HEAD, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    maybe_git(source)) {
		g.env = git_env(NULL);
		/* "true" (SOURCE is in a work tree, not in .git or a bare
		 * repository) and the commit; else nothing. */
		if (git_run(&g, argv, NULL, &out, NULL) == 0 && out.len > 5 &&
		    memcmp(out.p, "true\n", 5) == 0 && is_oid(id = chomp(&out) + 5))
			write_head(dfd, id);
		env_free(g.env);
		buf_free(&out);
	}
	close(dfd);
}

/* ---- --commit-git ---- */

struct entry {			/* one of HEAD's, from ls-files -s */
	const char *path;	/* in the repository */
	unsigned mode;
};

struct change {			/* a file or link of the delta to carry */
	char *rel;		/* its path below SOURCE, no leading / */
	char *target;		/* a link's target, else NULL */
	unsigned mode;		/* MODE_FILE, MODE_EXEC or MODE_LINK */
	bool tracked;		/* HEAD has this path */
	bool ignored;		/* untracked, and git ignores it: left out */
	char id[OID_MAX];
};

struct job {
	struct git g;
	const char *prefix;	/* SOURCE in the repository: "" or "dir/" */
	char zero[OID_MAX];	/* the null id, as long as HEAD's */
	struct entry *head;	/* sorted by path (strcmp: the index's order) */
	size_t nhead;
	struct buf removals;	/* update-index records deleting HEAD's entries */
	struct change *ch;
	size_t nch, capch;
	int errors;
};

/* What git wrote on its standard error, as it is. */
static void pass_on(const struct buf *err)
{
	if (err->len) {
		fwrite(err->p, 1, err->len, stderr);
		if (err->p[err->len - 1] != '\n')
			fputc('\n', stderr);
	}
}

/* git WHAT ended with ST (-1: errno): its own words, then which step
 * failed. */
static void git_said(const char *what, int st, const struct buf *err)
{
	if (st < 0) {
		error("cannot run git %s: %s; no branch made", what, strerror(errno));
		return;
	}
	pass_on(err);
	error("git %s failed (exit status %d); no branch made", what, st);
}

/* Run git ARGV, its output in OUT (emptied first; may be NULL); on a
 * failure say so and return false.  What git says when it succeeds (a
 * path it ignores, a hook's output) is passed on too. */
static bool git_step(struct job *j, const char *const *argv, const struct buf *in,
		     struct buf *out)
{
	struct buf err = { 0 };
	int st, e;

	if (out)
		out->len = 0;
	st = git_run(&j->g, argv, in, out, &err);
	e = errno;
	if (st != 0) {
		errno = e;
		git_said(argv[0], st, &err);
	} else {
		pass_on(&err);
	}
	buf_free(&err);
	return st == 0;
}

static void fail(struct job *j, const char *what, const char *rel, int err)
{
	error("cannot %s '/%s' in the delta: %s", what, rel, strerror(err));
	j->errors++;
}

/* REL's path in the repository; for "" (SOURCE itself), PREFIX less its
 * slash. */
static char *index_path(const struct job *j, const char *rel)
{
	size_t n = strlen(j->prefix);

	if (!*rel)
		return xstrndup(j->prefix, n ? n - 1 : 0);
	return xasprintf("%s%s", j->prefix, rel);
}

/* The first of HEAD's entries not before KEY. */
static size_t head_lower(const struct job *j, const char *key)
{
	size_t lo = 0, hi = j->nhead;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(j->head[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct entry *head_find(const struct job *j, const char *path)
{
	size_t i = head_lower(j, path);

	return i < j->nhead && strcmp(j->head[i].path, path) == 0 ? &j->head[i] : NULL;
}

static void head_remove(struct job *j, const char *path)
{
	buf_str(&j->removals, "0 ");
	buf_str(&j->removals, j->zero);
	buf_str(&j->removals, "\t");
	buf_add(&j->removals, path, strlen(path) + 1);
}

/* Delete HEAD's entries below the directory PATH ("": all), and PATH
 * itself when SELF.  Those below are one run of the sorted entries. */
static void head_remove_tree(struct job *j, const char *path, bool self)
{
	char *under = *path ? xasprintf("%s/", path) : xstrdup("");
	size_t n = strlen(under);

	if (self && *path && head_find(j, path))
		head_remove(j, path);
	for (size_t i = head_lower(j, under); i < j->nhead && !strncmp(j->head[i].path, under, n); i++)
		head_remove(j, j->head[i].path);
	free(under);
}

static void walk(struct job *j, int dfd, const char *rel, int depth);

/* The entry NAME of the delta's directory DFD, at REL. */
static void carry(struct job *j, int dfd, const char *name, const char *rel, int depth)
{
	char *ipath = index_path(j, rel), *target = NULL;
	const struct entry *e = head_find(j, ipath);
	struct change *c;
	struct stat st;
	ssize_t n;
	int cd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fail(j, "stat", rel, errno);
		goto out;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		if (e && e->mode == MODE_GITLINK) {
			warning("left out '/%s': changes inside a submodule are not carried", rel);
			break;
		}
		if (e)	/* HEAD's file or link there is now a directory */
			head_remove(j, ipath);
		cd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cd < 0) {
			fail(j, "open", rel, errno);
			break;
		}
		walk(j, cd, rel, depth + 1);
		close(cd);
		break;
	case S_IFREG:
	case S_IFLNK:
		if (S_ISLNK(st.st_mode)) {
			/* On the heap: this runs once per level of a deep tree. */
			target = xmalloc(PATH_MAX + 1);
			n = readlinkat(dfd, name, target, PATH_MAX);
			if (n < 0) {
				fail(j, "read the link", rel, errno);
				break;
			}
			target[n] = '\0';
		}
		/* HEAD's directory there is now a file or link. */
		head_remove_tree(j, ipath, false);
		if (j->nch == j->capch) {
			j->capch = j->capch ? 2 * j->capch : 256;
			j->ch = xreallocarray(j->ch, j->capch, sizeof(*j->ch));
		}
		c = &j->ch[j->nch++];
		*c = (struct change){
			.rel = xstrdup(rel),
			.target = target,
			.mode = S_ISLNK(st.st_mode) ? MODE_LINK
				: st.st_mode & 0111 ? MODE_EXEC : MODE_FILE,
			.tracked = e && e->mode != MODE_GITLINK,
		};
		target = NULL;	/* the change's now */
		break;
	case S_IFIFO:
		warning("left out '/%s': a FIFO cannot be in git", rel);
		break;
	case S_IFSOCK:
		warning("left out '/%s': a socket cannot be in git", rel);
		break;
	case S_IFCHR:
	case S_IFBLK:
		warning("left out '/%s': a device cannot be in git", rel);
		break;
	default:
		warning("left out '/%s': of a type git cannot hold", rel);
		break;
	}
out:
	free(target);
	free(ipath);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory DFD but "." and "..", sorted (so that what
 * is said comes in the same order every time), or NULL. */
static char **list_dir(int dfd, size_t *n)
{
	struct dirent *de;
	size_t cap = 16;
	char **names;
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	names = xreallocarray(NULL, cap, sizeof(*names));
	*n = 0;
	for (;;) {
		errno = 0;
		if (!(de = readdir(d)))
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap *= 2;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[(*n)++] = xstrdup(de->d_name);
	}
	if (errno) {
		int e = errno;

		while (*n)
			free(names[--*n]);
		free(names);
		closedir(d);
		errno = e;
		return NULL;
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), by_name);
	return names;
}

/* The delta's directory DFD, at REL ("": the delta's root). */
static void walk(struct job *j, int dfd, const char *rel, int depth)
{
	char **names, *ipath;
	size_t n;

	if (depth > MAX_DEPTH) {
		fail(j, "walk", rel, ELOOP);
		return;
	}
	names = list_dir(dfd, &n);
	if (!names) {
		fail(j, "read", rel, errno);
		return;
	}
	/* Opaque: nothing of HEAD's below it is left but what the delta has. */
	ipath = index_path(j, rel);
	if (faccessat(dfd, DELTA_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		head_remove_tree(j, ipath, false);
	free(ipath);
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i], *target = name;
		char *crel;

		/* .wh..wh.*: the opaque marker (above), afs's own files
		 * (DELTA_META_PREFIX: the base journal, DELTA_HEAD) and the
		 * layer format's other names, never a whiteout; .wh..afs-tmp.*:
		 * a copy cut short, never a change. */
		if (!strncmp(name, DELTA_WH_PREFIX DELTA_WH_PREFIX, 2 * (sizeof(DELTA_WH_PREFIX) - 1)) ||
		    !strncmp(name, DELTA_TMP_PREFIX, sizeof(DELTA_TMP_PREFIX) - 1))
			continue;
		if (!strncmp(name, DELTA_WH_PREFIX, sizeof(DELTA_WH_PREFIX) - 1))
			target = name + sizeof(DELTA_WH_PREFIX) - 1;
		crel = *rel ? xasprintf("%s/%s", rel, target) : xstrdup(target);
		/* Any case: git refuses .GIT as it refuses .git. */
		if (!strcasecmp(target, ".git")) {
			warning("left out '/%s': git's own files are not carried", crel);
		} else if (target != name) {
			char *ip = index_path(j, crel);

			head_remove_tree(j, ip, true);
			free(ip);
		} else {
			carry(j, dfd, name, crel, depth);
		}
		free(crel);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* HEAD's entries from the temporary index, as J->head (pointing into
 * OUT). */
static bool read_head(struct job *j, struct buf *out)
{
	static const char *const argv[] = { "ls-files", "--stage", "-z", "--full-name", NULL };
	size_t cap = 0;

	if (!git_step(j, argv, NULL, out))
		return false;
	for (char *p = out->p, *end = out->p + out->len; p < end; p += strlen(p) + 1) {
		char *tab = strchr(p, '\t');

		if (!tab) {
			error("cannot read git ls-files's output; no branch made");
			return false;
		}
		if (j->nhead == cap) {
			cap = cap ? 2 * cap : 1024;
			j->head = xreallocarray(j->head, cap, sizeof(*j->head));
		}
		j->head[j->nhead++] = (struct entry){ .path = tab + 1,
						      .mode = (unsigned)strtoul(p, NULL, 8) };
	}
	/* The index's order is strcmp's for names without NUL: checked, as
	 * the binary searches rely on it. */
	for (size_t i = 1; i < j->nhead; i++)
		if (strcmp(j->head[i - 1].path, j->head[i].path) >= 0) {
			error("git ls-files gave entries out of order; no branch made");
			return false;
		}
	return true;
}

/* Mark the untracked changes that git ignores (git check-ignore, with the
 * temporary index: what HEAD tracks is never ignored). */
static bool find_ignored(struct job *j, bool verbose)
{
	static const char *const argv[] = { "check-ignore", "-z", "--stdin", NULL };
	struct buf in = { 0 }, out = { 0 }, err = { 0 };
	size_t i, count = 0;
	const char *p, *end;
	bool ok = true;
	int st;

	/* "./": a name such as ":x" is a path, not pathspec magic. */
	for (i = 0; i < j->nch; i++)
		if (!j->ch[i].tracked) {
			buf_str(&in, "./");
			buf_add(&in, j->ch[i].rel, strlen(j->ch[i].rel) + 1);
		}
	if (!in.len)
		return true;
	st = git_run(&j->g, argv, &in, &out, &err);
	/* 0: some are ignored; 1: none. */
	if (st != 0 && st != 1) {
		git_said(argv[0], st, &err);
		ok = false;
		goto out;
	}
	/* The ignored ones, as given and in the order given. */
	p = out.p ? out.p : "";
	end = p + out.len;
	for (i = 0; i < j->nch && p < end; i++) {
		if (j->ch[i].tracked || strncmp(p, "./", 2) != 0 || strcmp(p + 2, j->ch[i].rel) != 0)
			continue;
		j->ch[i].ignored = true;
		count++;
		p += strlen(p) + 1;
		if (verbose)
			error("left out '/%s': git ignores it", j->ch[i].rel);
	}
	if (p < end) {
		error("cannot read git check-ignore's output; no branch made");
		ok = false;
		goto out;
	}
	if (count)
		error("left out %zu untracked path%s that git ignores%s", count,
		      count == 1 ? "" : "s", verbose ? "" : " (-v lists them)");
out:
	buf_free(&in);
	buf_free(&out);
	buf_free(&err);
	return ok;
}

/* PATH as a line of hash-object --stdin-paths, which takes a line that
 * begins with a double quote as C-quoted and drops a CR before the LF. */
static void add_path_line(struct buf *b, const char *path)
{
	const unsigned char *s;

	for (s = (const unsigned char *)path; *s >= 0x20 && *s != 0x7f; s++)
		;
	if (!*s && path[0] != '"') {
		buf_str(b, path);
		buf_str(b, "\n");
		return;
	}
	buf_str(b, "\"");
	for (s = (const unsigned char *)path; *s; s++) {
		char q[8];

		if (*s == '"' || *s == '\\')
			snprintf(q, sizeof(q), "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			snprintf(q, sizeof(q), "\\%03o", *s);
		else
			snprintf(q, sizeof(q), "%c", *s);
		buf_str(b, q);
	}
	buf_str(b, "\"\n");
}

/* Write every change to carry as a blob (one git hash-object for all): a
 * file by its path below the delta's fd, a link's target from a file of
 * TMP. */
static bool hash_changes(struct job *j, const char *tmp)
{
	static const char *const argv[] = { "hash-object", "-w", "--no-filters", "--stdin-paths",
					     NULL };
	struct buf in = { 0 }, out = { 0 };
	size_t i, nlinks = 0;
	bool ok = false;
	char *p, *path;

	for (i = 0; i < j->nch; i++) {
		struct change *c = &j->ch[i];

		if (c->ignored)
			continue;
		if (c->target) {
			size_t len = strlen(c->target);
			int fd;

			path = xasprintf("%s/link.%zu", tmp, nlinks++);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (fd < 0 || write(fd, c->target, len) != (ssize_t)len || close(fd) < 0) {
				error("cannot write '%s': %s; no branch made", path, strerror(errno));
				free(path);
				goto out;
			}
		} else {
			path = xasprintf("/proc/self/fd/%d/%s", DELTA_FD, c->rel);
		}
		add_path_line(&in, path);
		free(path);
	}
	if (!in.len)
		return true;
	if (!git_step(j, argv, &in, &out))
		goto out;
	p = out.p;
	for (i = 0; i < j->nch; i++) {
		char *nl;

		if (j->ch[i].ignored)
			continue;
		nl = strchr(p, '\n');
		if (!nl || (*nl = '\0', !is_oid(p))) {
			error("cannot read git hash-object's output; no branch made");
			goto out;
		}
		memcpy(j->ch[i].id, p, (size_t)(nl - p) + 1);
		p = nl + 1;
	}
	ok = true;
out:
	buf_free(&in);
	buf_free(&out);
	return ok;
}

/* The temporary index: HEAD's, less the removals, with the changes. */
static bool update_index(struct job *j)
{
	static const char *const argv[] = { "update-index", "-z", "--index-info", NULL };
	struct buf *in = &j->removals;

	for (size_t i = 0; i < j->nch; i++) {
		const struct change *c = &j->ch[i];
		char head[32 + OID_MAX];

		if (c->ignored)
			continue;
		snprintf(head, sizeof(head), "%06o %s\t", c->mode, c->id);
		buf_str(in, head);
		buf_str(in, j->prefix);
		buf_add(in, c->rel, strlen(c->rel) + 1);
	}
	return git_step(j, argv, in, NULL);
}

/* Die with git's words and ours, for a check before anything is made. */
static _Noreturn void git_died(const char *what, int st, const struct buf *err)
{
	git_said(what, st, err);
	exit(1);
}

/* The HEAD recorded in the delta DROOT, checked to be a commit of
 * SOURCE's repository, into ID. */
static void recorded_head(struct job *j, int droot, const char *delta, char id[OID_MAX])
{
	struct buf out = { 0 }, err = { 0 };
	char *text = NULL, *spec;
	size_t len;
	int fd, r, st;

	fd = openat(droot, DELTA_HEAD, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		die(2, "no git HEAD recorded in the delta '%s' (it began when '%s' was not in a "
		    "git work tree, or before afs-fuse recorded one)", delta, j->g.source);
	r = fd < 0 ? -errno : read_file_max(fd, OID_MAX, &text, &len);
	if (fd >= 0)
		close(fd);
	if (r == 0 && len && text[len - 1] == '\n')
		text[len - 1] = '\0';	/* one line: the id and a newline */
	else if (r == 0)
		r = -EINVAL;
	if (r == -ELOOP || r == -EINVAL || r == -EFBIG || (r == 0 && !is_oid(text)))
		die(2, "the git HEAD recorded in the delta '%s' is malformed", delta);
	if (r < 0)
		die(1, "cannot read '%s/%s': %s", delta, DELTA_HEAD, strerror(-r));
	spec = xasprintf("%s^{commit}", text);
	st = git_run(&j->g, (const char *const[]){ "rev-parse", "--verify", "-q", spec, NULL },
		     NULL, &out, &err);
	if (st < 0)
		git_died("rev-parse", st, &err);
	if (st != 0 || strcmp(chomp(&out), text) != 0)
		die(2, "the git HEAD recorded in the delta '%s', %s, is not a commit of the "
		    "repository of '%s'", delta, text, j->g.source);
	snprintf(id, OID_MAX, "%s", text);
	free(spec);
	free(text);
	buf_free(&out);
	buf_free(&err);
}

/* SOURCE's directory in its work tree ("" or "dir/"), or die: it is not
 * in one. */
static char *work_tree_prefix(struct job *j)
{
	static const char *const argv[] = { "rev-parse", "--is-inside-work-tree", "--show-prefix",
					     NULL };
	struct buf out = { 0 }, err = { 0 };
	char *prefix;
	int st = git_run(&j->g, argv, NULL, &out, &err);

	if (st < 0)
		git_died(argv[0], st, &err);
	if (st == 0 && out.len >= 5 && !memcmp(out.p, "true\n", 5)) {
		prefix = xstrdup(chomp(&out) + 5);
		buf_free(&out);
		buf_free(&err);
		return prefix;
	}
	/* git's reason, but for the plain "not a git repository". */
	chomp(&err);
	if (st != 0 && err.len && strncmp(err.p, "fatal: not a git repository", 27) != 0) {
		char *nl = strchr(err.p, '\n');

		if (nl)
			*nl = '\0';
		die(2, "'%s' is not in a git work tree: %s", j->g.source,
		    strncmp(err.p, "fatal: ", 7) ? err.p : err.p + 7);
	}
	die(2, "'%s' is not in a git work tree", j->g.source);
}

/* Refuse a BRANCH name git refuses, or one that exists. */
static void check_branch(struct job *j, const char *branch)
{
	struct buf out = { 0 }, err = { 0 };
	char *ref = xasprintf("refs/heads/%s", branch);
	int st;

	st = git_run(&j->g, (const char *const[]){ "check-ref-format", "--branch", branch, NULL },
		     NULL, &out, &err);
	if (st < 0)
		git_died("check-ref-format", st, &err);
	/* A name it expands (@{-1}) is no new branch's. */
	if (st != 0 || strcmp(chomp(&out), branch) != 0)
		die(2, "bad branch name '%s'", branch);
	st = git_run(&j->g, (const char *const[]){ "show-ref", "--verify", "--quiet", ref, NULL },
		     NULL, NULL, &err);
	if (st < 0)
		git_died("show-ref", st, &err);
	if (st == 0)
		die(2, "branch '%s' already exists", branch);
	free(ref);
	buf_free(&out);
	buf_free(&err);
}

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->nch; i++) {
		free(j->ch[i].rel);
		free(j->ch[i].target);
	}
	free(j->ch);
	free(j->head);
	buf_free(&j->removals);
	env_free(j->g.env);
}

int gitbranch_commit(const char *delta, const char *source, const char *branch,
		     const char *message, bool verbose)
{
	struct job j = { .g = { .source = source, .delta_fd = -1, .timeout_ms = -1 } };
	struct buf headlist = { 0 }, out = { 0 };
	char head[OID_MAX], tree[OID_MAX], newtree[OID_MAX], commit[OID_MAX];
	char *prefix, *tmp, *index, *msg = NULL, *ref = NULL, *spec;
	int droot, status = 1;
	struct stat st;

	/* git stopping before it read all we give it must not end us: its
	 * status and message say what went wrong.  Its status is ours to
	 * wait for, even if the caller left SIGCHLD ignored. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	droot = commit_open_delta(delta);
	if (stat(source, &st) < 0)
		die(1, "cannot open source '%s': %m", source);
	if (!S_ISDIR(st.st_mode))
		die(1, "cannot open source '%s': not a directory", source);

	/* The refusals, before anything is made. */
	j.g.env = git_env(NULL);
	prefix = work_tree_prefix(&j);
	j.prefix = prefix;
	check_branch(&j, branch);
	recorded_head(&j, droot, delta, head);
	memset(j.zero, '0', strlen(head));
	j.zero[strlen(head)] = '\0';

	{
		const char *t = getenv("TMPDIR");

		tmp = xasprintf("%s/afs-commit-git.XXXXXX", t && *t == '/' ? t : "/tmp");
	}
	if (!mkdtemp(tmp)) {
		error("cannot make a temporary directory '%s': %m", tmp);
		goto out_tmp;
	}
	index = xasprintf("%s/index", tmp);
	env_free(j.g.env);
	j.g.env = git_env(index);
	free(index);

	if (!git_step(&j, (const char *const[]){ "read-tree", head, NULL }, NULL, NULL) ||
	    !read_head(&j, &headlist))
		goto out;
	walk(&j, droot, "", 0);
	if (j.errors) {
		error("the delta '%s' could not be read whole; no branch made", delta);
		goto out;
	}
	j.g.delta_fd = droot;
	if (!find_ignored(&j, verbose) || !hash_changes(&j, tmp) || !update_index(&j) ||
	    !git_step(&j, (const char *const[]){ "write-tree", NULL }, NULL, &out))
		goto out;
	snprintf(newtree, sizeof(newtree), "%s", chomp(&out));
	spec = xasprintf("%s^{tree}", head);
	if (!git_step(&j, (const char *const[]){ "rev-parse", "--verify", spec, NULL }, NULL, &out)) {
		free(spec);
		goto out;
	}
	free(spec);
	snprintf(tree, sizeof(tree), "%s", chomp(&out));
	if (strcmp(tree, newtree) == 0) {
		error("the delta '%s' holds no change for git; no branch made", delta);
		goto out;
	}
	if (!message) {
		char *abs = realpath(delta, NULL);

		msg = xasprintf("afs: changes of delta %s", abs ? abs : delta);
		free(abs);
		message = msg;
	}
	if (!git_step(&j, (const char *const[]){ "commit-tree", newtree, "-p", head, "-m", message,
						 NULL }, NULL, &out))
		goto out;
	snprintf(commit, sizeof(commit), "%s", chomp(&out));
	if (!is_oid(commit)) {
		error("cannot read git commit-tree's output; no branch made");
		goto out;
	}
	/* The empty old value: made only if it does not exist. */
	ref = xasprintf("refs/heads/%s", branch);
	if (!git_step(&j, (const char *const[]){ "update-ref", "-m", "afs-fuse --commit-git", ref,
						 commit, "", NULL }, NULL, NULL))
		goto out;
	printf("%s\n", commit);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	if (remove_tree(tmp) < 0)
		error("cannot remove the temporary directory '%s'", tmp);
out_tmp:
	free(tmp);
	free(msg);
	free(ref);
	free(prefix);
	buf_free(&headlist);
	buf_free(&out);
	job_free(&j);
	close(droot);
	return status;
}
