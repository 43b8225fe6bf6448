/* commit.c - afs-fuse --commit and --discard: apply a delta to SOURCE, or
 * drop it.
 *
 * MUST:
 * - never follow a symbolic link in SOURCE or DELTA: every directory is
 *   entered one component at a time with O_NOFOLLOW | O_DIRECTORY, every
 *   entry named relative to its directory fd;
 * - replace files in SOURCE atomically (temporary name, then rename),
 *   keeping the delta's mode, owner (as root) and times;
 * - apply (or drop) exactly the selected paths and remove them from DELTA,
 *   leaving every other change in place.
 *
 * Run it on a delta no mount is using: a live mount would not see the
 * change to its layers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit.h"
#include "delta.h"
#include "trust.h"
#include "path.h"
#include "policy.h"
#include "util.h"

#define TMP_PREFIX DELTA_TMP_PREFIX

struct job {
	char **paths;		/* cleaned selections; none: everything */
	size_t npaths;
	bool commit;		/* else discard */
	bool keep_mode;		/* --keep-mode */
	int errors;
};

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Is PATH selected (itself or an ancestor given)? */
static bool selected(const struct job *j, const char *path)
{
	size_t i;

	if (j->npaths == 0)
		return true;
	for (i = 0; i < j->npaths; i++)
		if (under(path, j->paths[i]))
			return true;
	return false;
}

/* Does some selection lie below PATH (so that we must walk into it)? */
static bool leads_to(const struct job *j, const char *path)
{
	size_t i;

	for (i = 0; i < j->npaths; i++)
		if (under(j->paths[i], path))
			return true;
	return false;
}

static void fail(struct job *j, const char *what, const char *path, int err)
{
	error("cannot %s '%s': %s", what, path, strerror(err));
	j->errors++;
}

static int join(const char *dir, const char *name, char *out)
{
	int n = snprintf(out, POLICY_MAX_PATH, "%s/%s", strcmp(dir, "/") ? dir : "", name);

	return n < 0 || n >= POLICY_MAX_PATH ? -ENAMETOOLONG : 0;
}

static int clear_dir(int dfd)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(dfd), r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && r == 0)
			r = delta_remove_at(dfd, de->d_name);
	closedir(d);
	return r;
}

/* The mode a change takes into SOURCE: what the sandbox set, less
 * setuid, setgid, sticky and write for others unless the caller keeps
 * them (--keep-mode): a sandbox must not leave a setuid binary or a
 * world-writable directory in the codebase. */
static mode_t commit_mode(const struct job *j, mode_t mode)
{
	mode &= 07777;
	return j->keep_mode ? mode : mode & ~(mode_t)(S_ISUID | S_ISGID | S_ISVTX | S_IWOTH);
}

static void set_meta(const struct job *j, int dfd, const char *name, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (geteuid() == 0)
		fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	if (!S_ISLNK(st->st_mode))
		fchmodat(dfd, name, commit_mode(j, st->st_mode), AT_SYMLINK_NOFOLLOW);
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static atomic_uint counter;

/* Copy the non-directory NAME from DDFD into SDFD, atomically. */
static int copy_entry(const struct job *j, int ddfd, int sdfd, const char *name,
		      const struct stat *st)
{
	char tmp[NAME_MAX + 64], target[PATH_MAX + 1];
	int r = 0, in, out;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d.%u", (int)getpid(), atomic_fetch_add(&counter, 1));
	if (S_ISREG(st->st_mode)) {
		in = openat(ddfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		out = openat(sdfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0) {
			r = -errno;
			close(in);
			return r;
		}
		/* Holes stay holes: a sparse file of the delta does not become
		 * its whole size on SOURCE's disk. */
		r = delta_copy_data(in, out, st);
		if (r == 0)
			delta_copy_xattrs(in, out);	/* as copy-up does */
		close(in);
		if (close(out) < 0 && r == 0)
			r = -errno;
	} else if (S_ISLNK(st->st_mode)) {
		n = readlinkat(ddfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		r = symlinkat(target, sdfd, tmp) < 0 ? -errno : 0;
	} else {
		r = mknodat(sdfd, tmp, st->st_mode, st->st_rdev) < 0 ? -errno : 0;
	}
	if (r == 0) {
		set_meta(j, sdfd, tmp, st);
		if (renameat(sdfd, tmp, sdfd, name) < 0) {
			r = -errno;
			/* A directory in the way: the delta replaced it. */
			if (r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST) {
				r = delta_remove_at(sdfd, name);
				if (r == 0 && renameat(sdfd, tmp, sdfd, name) < 0)
					r = -errno;
			}
		}
	}
	if (r < 0)
		unlinkat(sdfd, tmp, 0);
	return r;
}

/* SDFD's entry NAME as a real directory (a link or file there goes). */
static int source_dir(int sdfd, const char *name, mode_t mode)
{
	int fd = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOTDIR || errno == ELOOP) {
		if (unlinkat(sdfd, name, 0) < 0)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	if (mkdirat(sdfd, name, mode | 0700) < 0)
		return -errno;
	fd = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Walk the delta directory DDFD (path REL; SDFD its SOURCE directory or -1
 * for discard).  SEL: REL itself is selected. */
static void walk(struct job *j, int ddfd, int sdfd, const char *rel, bool sel, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(ddfd);

	if (depth > PATH_MAX / 2) {
		fail(j, "walk", rel, ELOOP);
		return;
	}
	if (fd < 0 || !(d = fdopendir(fd))) {
		fail(j, "read", rel, errno);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (sel && j->commit && faccessat(ddfd, DELTA_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		int r = clear_dir(sdfd);

		if (r < 0)
			fail(j, "clear", rel, -r);
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		char path[POLICY_MAX_PATH];
		struct stat st;
		bool s;
		int r;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, DELTA_OPAQUE))
			continue;
		if (!strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1)) {
			/* A copy-up cut short: never part of the view. */
			if (sel)
				unlinkat(ddfd, name, 0);
			continue;
		}
		if (delta_reserved(name)) {
			const char *target = name + sizeof(DELTA_WH_PREFIX) - 1;

			if (join(rel, target, path) < 0 || !selected(j, path))
				continue;
			if (j->commit && (r = delta_remove_at(sdfd, target)) < 0) {
				fail(j, "delete", path, -r);
				continue;
			}
			if (unlinkat(ddfd, name, 0) < 0)
				fail(j, "remove the whiteout of", path, errno);
			continue;
		}
		if (join(rel, name, path) < 0) {
			fail(j, "name", rel, ENAMETOOLONG);
			continue;
		}
		s = sel || selected(j, path);
		if (!s && !leads_to(j, path))
			continue;
		if (fstatat(ddfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			fail(j, "stat", path, errno);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int cd = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int cs = -1;

			if (cd < 0) {
				fail(j, "open", path, errno);
				continue;
			}
			if (j->commit) {
				cs = source_dir(sdfd, name, commit_mode(j, st.st_mode));
				if (cs < 0) {
					fail(j, "make directory", path, -cs);
					close(cd);
					continue;
				}
			}
			walk(j, cd, cs, path, s, depth + 1);
			if (s && j->commit) {
				unlinkat(cd, DELTA_OPAQUE, 0);
				set_meta(j, sdfd, name, &st);
			}
			if (s && !j->commit)
				unlinkat(cd, DELTA_OPAQUE, 0);
			close(cd);
			if (cs >= 0)
				close(cs);
			/* Gone from the delta once nothing is left in it. */
			if (s)
				unlinkat(ddfd, name, AT_REMOVEDIR);
			continue;
		}
		if (!s)
			continue;
		if (j->commit && (r = copy_entry(j, ddfd, sdfd, name, &st)) < 0) {
			fail(j, "apply", path, -r);
			continue;
		}
		if (unlinkat(ddfd, name, 0) < 0)
			fail(j, "remove from the delta", path, errno);
	}
	closedir(d);
}

/* Does the delta hold a change at or below PATH? */
static bool has_change(int droot, const char *path)
{
	char rel[POLICY_MAX_PATH], wh[POLICY_MAX_PATH + 8];
	const char *slash;
	struct stat st;

	if (path[1] == '\0')
		return true;
	snprintf(rel, sizeof(rel), "%s", path + 1);
	if (fstatat(droot, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	slash = strrchr(path, '/');
	if (slash == path)
		snprintf(wh, sizeof(wh), "%s%s", DELTA_WH_PREFIX, slash + 1);
	else
		snprintf(wh, sizeof(wh), "%.*s/%s%s", (int)(slash - path - 1), path + 1,
			 DELTA_WH_PREFIX, slash + 1);
	return fstatat(droot, wh, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int commit_run(bool commit, bool keep_mode, const char *delta, const char *source,
	       char *const *paths, int npaths)
{
	struct job j = { .commit = commit, .keep_mode = keep_mode };
	int droot, sroot = -1, i, status;

	{
		/* What another user could have written is never carried
		 * into SOURCE (lib/trust.h). */
		char why[TRUST_WHY_MAX];
		int checked = trust_dir(delta, false, why);

		if (checked < 0)
			die(errno == ENOENT ? 1 : 2, "cannot use delta '%s': %s", delta, why);
		droot = openat(checked, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(checked);
		if (droot < 0)
			die(1, "cannot open delta '%s': %m", delta);
	}
	if (commit) {
		sroot = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sroot < 0)
			die(1, "cannot open source '%s': %m", source);
	}
	j.paths = xcalloc((size_t)npaths + 1, sizeof(*j.paths));
	for (i = 0; i < npaths; i++) {
		char clean[POLICY_MAX_PATH];
		int n = path_clean(paths[i], clean, sizeof(clean));

		if (n < 0 || paths[i][0] != '/')
			die(2, "not a /-rooted path inside the mount: '%s'", paths[i]);
		/* Every selection must name a change: nothing is applied when
		 * one does not. */
		if (!has_change(droot, clean))
			die(1, "'%s' has no change in the delta '%s'", clean, delta);
		j.paths[j.npaths++] = xstrdup(clean);
	}
	walk(&j, droot, sroot, "/", j.npaths == 0, 0);
	status = j.errors ? 1 : 0;
	for (i = 0; i < (int)j.npaths; i++)
		free(j.paths[i]);
	free(j.paths);
	close(droot);
	if (sroot >= 0)
		close(sroot);
	return status;
}
