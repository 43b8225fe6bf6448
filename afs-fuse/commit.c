/* commit.c - afs-fuse --commit and --discard: apply a delta to SOURCE, or
 * drop it.
 *
 * MUST:
 * - never follow a symbolic link in SOURCE or DELTA: every directory is
 *   entered one component at a time with O_NOFOLLOW | O_DIRECTORY, every
 *   entry named relative to its directory fd;
 * - replace files in SOURCE atomically (temporary name, then rename),
 *   keeping the delta's mode, owner (as root) and times;
 * - apply nothing while a selected change conflicts with what SOURCE did
 *   since its base (lib/conflict.h), unless --force; check each entry
 *   again just before its rename, and leave it in the delta when SOURCE
 *   changed it meanwhile;
 * - leave each entry, whenever the commit is killed, either applied and
 *   removed from DELTA, or applied and still in DELTA, or untouched; a
 *   rerun finishes the job (SOURCE holding the delta's own version is no
 *   conflict) and removes the temporary files a killed run left in SOURCE;
 * - apply (or drop) exactly the selected paths and remove them, and their
 *   records of the base journal, from DELTA, leaving every other change.
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
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "commit.h"
#include "conflict.h"
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
	bool force;		/* --force: apply over conflicts */
	struct base_map *bases;	/* the base journal; NULL: the delta keeps none */
	struct conflicts found;	/* by the first pass */
	struct conflicts late;	/* SOURCE changed them during the second */
	struct base_map *done;	/* the paths applied or dropped */
	int droot;		/* the delta's root */
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

	/* Best effort, each of them: the content is what commit carries; a
	 * mode or an owner it cannot set leaves SOURCE's own (as cp -p does
	 * without root). */
	if (geteuid() == 0 &&
	    fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
		/* not fatal */
	}
	if (!S_ISLNK(st->st_mode) &&
	    fchmodat(dfd, name, commit_mode(j, st->st_mode), AT_SYMLINK_NOFOLLOW) != 0) {
		/* not fatal */
	}
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static atomic_uint counter;

/* Is the change at PATH (KIND, NAME in DDFD and SDFD) in conflict now?
 * Then it is kept for the report and left in the delta.  Only in the
 * second pass of a commit, without --force, of a delta with a journal. */
static bool late_conflict(struct job *j, int ddfd, int sdfd, const char *path, const char *name,
			  enum change_kind kind)
{
	struct conflicts c = { 0 };
	size_t i;

	if (!j->commit || j->force || !j->bases)
		return false;
	conflict_check(&c, j->bases, ddfd, sdfd, path, name, kind);
	for (i = 0; i < c.n; i++) {
		if (j->late.n == j->late.cap) {
			j->late.cap = j->late.cap ? 2 * j->late.cap : 16;
			j->late.v = xreallocarray(j->late.v, j->late.cap, sizeof(*j->late.v));
		}
		j->late.v[j->late.n++] = c.v[i];
	}
	free(c.v);
	return c.n > 0;
}

static bool keep_all(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	return true;
}

/* SOURCE's directory PATH was emptied for the opaque delta directory CD:
 * nothing is below it now, so the bases recorded below it go, in memory
 * and in the journal, and then the directory stops being opaque.  A
 * commit killed after this and run again merges what is left of the
 * delta's content (what was applied is gone from the delta) instead of
 * emptying the directory again; and a new entry named as an old one is
 * not taken for a change of SOURCE. */
static void cleared(struct job *j, int cd, const char *path)
{
	int r;

	if (j->bases) {
		base_drop_below(j->bases, path);
		r = base_rewrite(j->droot, j->bases, keep_all, NULL);
		if (r < 0) {
			fail(j, "rewrite the base journal for", path, -r);
			return;	/* still opaque: a rerun empties it again */
		}
	}
	unlinkat(cd, DELTA_OPAQUE, 0);
}

static void done(struct job *j, const char *path)
{
	static const struct base none;

	base_put(j->done, path, &none);
}

/* Copy the non-directory NAME (at PATH) from DDFD into SDFD, atomically.
 * 1: left in the delta, SOURCE having changed it meanwhile. */
static int copy_entry(struct job *j, int ddfd, int sdfd, const char *name, const char *path,
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
	if (r == 0)
		set_meta(j, sdfd, tmp, st);
	/* The last look at SOURCE before it changes. */
	if (r == 0 && late_conflict(j, ddfd, sdfd, path, name, CHANGE_ENTRY))
		r = 1;
	if (r == 0 && renameat(sdfd, tmp, sdfd, name) < 0) {
		r = -errno;
		/* A directory in the way: the delta replaced it. */
		if (r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST) {
			r = delta_remove_at(sdfd, name);
			if (r == 0 && renameat(sdfd, tmp, sdfd, name) < 0)
				r = -errno;
		}
	}
	if (r != 0)
		unlinkat(sdfd, tmp, 0);
	return r;
}

/* Did the temporary file NAME (TMP_PREFIX "PID.N...") belong to a process
 * that is gone: a commit or copy-up killed before its rename? */
static bool stale_tmp(const char *name)
{
	char path[64], comm[TASK_COMM_LEN + 1];
	const char *p = name + sizeof(TMP_PREFIX) - 1;
	char *end;
	long pid = strtol(p, &end, 10);

	if (end == p || *end != '.' || pid <= 0 || pid > INT32_MAX)
		return false;
	/* Ours are renamed or removed before we look: any left is old. */
	if (pid == getpid())
		return true;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	return read_small(path, comm, sizeof(comm)) > 0 && strcmp(comm, "afs-fuse\n") != 0;
}

/* Remove from SOURCE's directory SDFD what a killed commit left there. */
static void sweep(int sdfd)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(sdfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) && stale_tmp(de->d_name))
			unlinkat(sdfd, de->d_name, 0);
	closedir(d);
}

static int open_dir_at(int dfd, const char *name)
{
	if (dfd < 0)
		return -1;
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* SDFD's entry NAME as a real directory (a link or file there goes). */
static int source_dir(int sdfd, const char *name, mode_t mode)
{
	int fd = open_dir_at(sdfd, name);

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
	fd = open_dir_at(sdfd, name);
	return fd < 0 ? -errno : fd;
}

/* Walk the delta directory DDFD (path REL; SDFD its SOURCE directory, -1
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
	/* A dup shares its offset: an earlier pass read this far. */
	rewinddir(d);
	if (j->commit && sdfd >= 0)
		sweep(sdfd);
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		char path[POLICY_MAX_PATH];
		struct stat st;
		bool s;
		int r;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, DELTA_OPAQUE) ||
		    !strncmp(name, DELTA_META_PREFIX, sizeof(DELTA_META_PREFIX) - 1))
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
			if (late_conflict(j, ddfd, sdfd, path, target, CHANGE_WHITEOUT))
				continue;
			if (j->commit && (r = delta_remove_at(sdfd, target)) < 0) {
				fail(j, "delete", path, -r);
				continue;
			}
			if (unlinkat(ddfd, name, 0) < 0)
				fail(j, "remove the whiteout of", path, errno);
			else
				done(j, path);
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
			int cd = open_dir_at(ddfd, name);
			int cs = -1;
			bool opaque;
			enum change_kind kind;

			if (cd < 0) {
				fail(j, "open", path, errno);
				continue;
			}
			opaque = s && faccessat(cd, DELTA_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
			kind = opaque ? CHANGE_OPAQUE : CHANGE_DIR;
			if (j->commit) {
				if (s && late_conflict(j, ddfd, sdfd, path, name, kind)) {
					close(cd);
					continue;
				}
				cs = source_dir(sdfd, name, commit_mode(j, st.st_mode));
				if (cs < 0) {
					fail(j, "make directory", path, -cs);
					close(cd);
					continue;
				}
				/* Emptied, then no longer opaque: a commit killed
				 * after this and run again must merge what is left
				 * of the delta's content, not empty the directory
				 * again (what was applied is gone from the delta). */
				if (opaque && (r = clear_dir(cs)) < 0)
					fail(j, "clear", path, -r);
				else if (opaque)
					cleared(j, cd, path);
			}
			walk(j, cd, cs, path, s, depth + 1);
			if (s) {
				if (!j->commit)
					unlinkat(cd, DELTA_OPAQUE, 0);
				else
					set_meta(j, sdfd, name, &st);
			}
			close(cd);
			if (cs >= 0)
				close(cs);
			/* Gone from the delta once nothing is left in it. */
			if (s && unlinkat(ddfd, name, AT_REMOVEDIR) == 0)
				done(j, path);
			continue;
		}
		if (!s)
			continue;
		if (j->commit && (r = copy_entry(j, ddfd, sdfd, name, path, &st)) != 0) {
			if (r < 0)
				fail(j, "apply", path, -r);
			continue;
		}
		if (unlinkat(ddfd, name, 0) < 0)
			fail(j, "remove from the delta", path, errno);
		else
			done(j, path);
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

static void report(const struct conflicts *c, const char *how)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		fprintf(stderr, "%s: %s %s: SOURCE %s since the delta's base; the delta %s\n",
			progname, how, c->v[i].path, conflict_source_words(c->v[i].source),
			conflict_delta_words(c->v[i].delta));
}

/* Keep a journal record unless its path, or a directory above it, was
 * applied or dropped. */
static bool keep_record(const char *path, void *arg)
{
	const struct base_map *applied = arg;
	char p[POLICY_MAX_PATH];
	char *slash;

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		if (base_find(applied, p[0] ? p : "/"))
			return false;
		slash = strrchr(p, '/');
		if (!slash || !p[0])
			return true;
		*slash = '\0';
	}
}

int commit_open_delta(const char *delta)
{
	char why[TRUST_WHY_MAX];
	int checked = trust_dir(delta, false, why), fd;

	if (checked < 0)
		die(errno == ENOENT ? 1 : 2, "cannot use delta '%s': %s", delta, why);
	fd = openat(checked, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(checked);
	if (fd < 0)
		die(1, "cannot open delta '%s': %m", delta);
	return fd;
}

int commit_run(const struct commit_opts *o, const char *delta, const char *source,
	       char *const *paths, int npaths)
{
	struct job j = { .commit = o->commit, .keep_mode = o->keep_mode, .force = o->force };
	int droot, sroot = -1, i, r, status;

	droot = commit_open_delta(delta);
	if (j.commit) {
		sroot = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sroot < 0)
			die(1, "cannot open source '%s': %m", source);
	}
	j.droot = droot;
	r = base_load(droot, &j.bases);
	if (r < 0)
		die(1, "cannot read the base journal of delta '%s': %s", delta,
		    r == -EPROTO ? "not one this afs-fuse knows" : strerror(-r));
	j.done = base_map_new();
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
	if (j.commit && !j.bases)
		warning("the delta '%s' has no base journal (begun by an afs-fuse that kept none): "
			"what SOURCE changed since cannot be seen, and is overwritten", delta);
	/* First every selected change against SOURCE; nothing is applied
	 * while one conflicts. */
	if (j.commit && j.bases) {
		struct conflicts all = { 0 };
		size_t k;

		conflict_scan(&all, j.bases, droot, sroot);
		for (k = 0; k < all.n; k++) {
			if (!selected(&j, all.v[k].path)) {
				free(all.v[k].path);
				continue;
			}
			j.found.v = xreallocarray(j.found.v, j.found.n + 1, sizeof(*j.found.v));
			j.found.v[j.found.n++] = all.v[k];
		}
		free(all.v);
		if (j.found.n && !j.force) {
			report(&j.found, "conflict:");
			error("nothing applied: %zu conflict%s with SOURCE (afs-audit diff -u shows "
			      "both sides; --force applies over them; naming other paths commits those)",
			      j.found.n, j.found.n == 1 ? "" : "s");
			status = 3;
			goto out;
		}
		if (j.found.n)
			report(&j.found, "warning: applied over a conflict:");
	}
	walk(&j, droot, sroot, "/", j.npaths == 0, 0);
	/* The applied changes' records go with them; a delta left with no
	 * change is as new: its next mount begins a journal (and records
	 * git's HEAD) afresh. */
	if (base_delta_fresh(droot)) {
		unlinkat(droot, DELTA_BASE, 0);
		unlinkat(droot, DELTA_HEAD, 0);
	} else if (j.bases && base_count(j.done) &&
		   (r = base_rewrite(droot, j.bases, keep_record, j.done)) < 0) {
		fail(&j, "rewrite the base journal of", delta, -r);
	}
	status = j.errors ? 1 : 0;
	if (j.late.n) {
		conflicts_sort(&j.late);
		report(&j.late, "conflict:");
		error("%zu change%s left in the delta: SOURCE changed %s during the commit",
		      j.late.n, j.late.n == 1 ? "" : "s", j.late.n == 1 ? "it" : "them");
		status = 3;
	}
out:
	conflicts_free(&j.found);
	conflicts_free(&j.late);
	base_map_free(j.bases);
	base_map_free(j.done);
	for (i = 0; i < (int)j.npaths; i++)
		free(j.paths[i]);
	free(j.paths);
	close(droot);
	if (sroot >= 0)
		close(sroot);
	return status;
}
