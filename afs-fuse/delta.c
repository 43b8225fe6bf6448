/* delta.c - the merged view and copy-on-write (see delta.h).
 *
 * MUST:
 * - never modify the lower layer (every write goes through backing.c's
 *   upper-only calls);
 * - make copy-up atomic: a temporary name the view never shows, then rename;
 * - hide every name of the format (.wh.*) from the view.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "delta.h"
#include "policy.h"
#include "util.h"

bool delta_reserved(const char *name)
{
	return strncmp(name, DELTA_WH_PREFIX, sizeof(DELTA_WH_PREFIX) - 1) == 0;
}

/* The value of DELTA_ORIGIN: SOURCE's st_dev and st_ino. */
#define ORIGIN_FMT "%llu:%llu"

bool delta_reserved_xattr(const char *name)
{
	return strncmp(name, DELTA_XATTR_PREFIX, sizeof(DELTA_XATTR_PREFIX) - 1) == 0;
}

ino_t delta_origin(struct backing *b, const char *path)
{
	char v[64];
	unsigned long long dev, ino;
	int end = 0;
	ssize_t n = backing_getxattr(b, UPPER, path, DELTA_ORIGIN, v, sizeof(v) - 1);

	if (n <= 0)
		return 0;
	v[n] = '\0';
	if (sscanf(v, ORIGIN_FMT "%n", &dev, &ino, &end) != 2 || v[end] ||
	    (dev_t)dev != backing_dev(b, LOWER))
		return 0;	/* another SOURCE's, or not ours */
	return (ino_t)ino;
}

/* PATH with its last component prefixed: "/a/b" -> "/a/<prefix>b". */
static int sibling(const char *path, const char *prefix, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = (size_t)(slash - path) + 1;

	if (dlen + strlen(prefix) + strlen(slash + 1) + 1 > POLICY_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(out, path, dlen);
	strcpy(out + dlen, prefix);
	strcat(out + dlen, slash + 1);
	return 0;
}

static int child_path(const char *dir, const char *name, char *out)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > POLICY_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(out, dir, dl);
	if (dl > 1)
		out[dl++] = '/';
	memcpy(out + dl, name, nl + 1);
	return 0;
}

static bool upper_exists(struct backing *b, const char *path)
{
	struct stat st;

	return backing_lstat(b, UPPER, path, &st) == 0;
}

int delta_root(struct backing *b, struct estate *e, struct stat *st)
{
	char p[POLICY_MAX_PATH];

	e->in_upper = true;
	e->wh = false;
	e->in_lower = backing_has(b, LOWER);
	child_path("/", DELTA_OPAQUE, p);
	e->opaque = upper_exists(b, p);
	/* The root looks like SOURCE's root. */
	return backing_lstat(b, e->in_lower ? LOWER : UPPER, "/", st);
}

void delta_open_dirs(struct backing *b, const char *dir, const struct estate *e,
		     struct dirfds *out)
{
	bool want[2] = { e->in_upper, e->in_lower && !e->opaque };

	*out = DIRFDS_NONE;
	for (int l = UPPER; l <= LOWER; l++) {
		int fd = want[l] ? backing_open_dir(b, (enum layer)l, dir) : -1;

		if (fd >= 0)
			out->fd[l] = fd;
	}
}

void delta_close_dirs(struct dirfds *d)
{
	if (d->fd[UPPER] >= 0)
		close(d->fd[UPPER]);
	if (d->fd[LOWER] >= 0)
		close(d->fd[LOWER]);
	*d = DIRFDS_NONE;
}

/* lstat PATH (whose last component is NAME) in layer L. */
static int lstat_in(struct backing *b, const struct dirfds *dirs, enum layer l,
		    const char *path, const char *name, struct stat *st)
{
	if (dirs->fd[l] >= 0)
		return backing_lstat_in(dirs->fd[l], name, st);
	return backing_lstat(b, l, path, st);
}

int delta_child_in(struct backing *b, const struct dirfds *dirs, const char *path,
		   const struct estate *parent, struct estate *e, struct stat *st)
{
	bool lower_ok = parent->in_lower && !parent->opaque;
	const char *name = strrchr(path, '/') + 1;
	struct stat su, sl;
	char p[POLICY_MAX_PATH];
	int r;

	if (delta_reserved(name))
		return -ENOENT;
	e->in_upper = e->in_lower = e->opaque = e->wh = false;
	if (parent->in_upper) {
		r = lstat_in(b, dirs, UPPER, path, name, &su);
		if (r == 0) {
			e->in_upper = true;
		} else if (r != -ENOENT && r != -ENOTDIR) {
			return r;
		} else if (lower_ok) {
			r = sibling(path, DELTA_WH_PREFIX, p);
			if (r < 0)
				return r;
			if (lstat_in(b, dirs, UPPER, p, strrchr(p, '/') + 1, &sl) == 0) {
				lower_ok = false;
				e->wh = true;
			}
		}
	}
	if (lower_ok) {
		r = lstat_in(b, dirs, LOWER, path, name, &sl);
		if (r == 0)
			e->in_lower = true;
		else if (r != -ENOENT && r != -ENOTDIR)
			return r;
	}
	if (e->in_upper) {
		ino_t ino = 0;

		*st = su;
		/* Directories only: one is never renamed or linked here, so
		 * the lower number cannot show up elsewhere too. */
		if (S_ISREG(su.st_mode) && backing_has(b, LOWER))
			ino = delta_origin(b, path);
		else if (e->in_lower && S_ISDIR(su.st_mode) && S_ISDIR(sl.st_mode))
			ino = sl.st_ino;
		st->st_ino = ino ? ino : backing_ino(b, UPPER, su.st_ino);
		if (S_ISDIR(su.st_mode)) {
			r = child_path(path, DELTA_OPAQUE, p);
			if (r < 0)
				return r;
			/* A lower entry that is not a directory merges nothing. */
			e->opaque = upper_exists(b, p) || (e->in_lower && !S_ISDIR(sl.st_mode));
		}
		return 0;
	}
	if (e->in_lower) {
		*st = sl;
		return 0;
	}
	return -ENOENT;
}

int delta_child(struct backing *b, const char *path, const struct estate *parent,
		struct estate *e, struct stat *st)
{
	const struct dirfds none = DIRFDS_NONE;

	return delta_child_in(b, &none, path, parent, e, st);
}

/* Copy the data of IN to OUT, holes kept as holes (SEEK_DATA/SEEK_HOLE),
 * so that a sparse file stays sparse in the delta. */
static int copy_range(int in, int out, off_t from, off_t to)
{
	char buf[65536];
	off_t in_off = from, out_off = from;

	while (in_off < to) {
		ssize_t n = copy_file_range(in, &in_off, out, &out_off, (size_t)(to - in_off), 0);

		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		/* Across file systems on older kernels: plain reads and writes. */
		n = pread(in, buf, (size_t)(to - in_off) < sizeof(buf) ? (size_t)(to - in_off) : sizeof(buf),
			  in_off);
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (pwrite(out, buf, (size_t)n, out_off) != n)
			return -errno;
		in_off += n;
		out_off += n;
	}
	return 0;
}

int delta_copy_data(int in, int out, const struct stat *st)
{
	off_t data = 0, hole;

	/* A small file with as many blocks as bytes has no hole worth
	 * keeping: one copy, no search. */
	if (st->st_size <= 65536 && (off_t)st->st_blocks * 512 >= st->st_size)
		return copy_range(in, out, 0, st->st_size);
	for (;;) {
		int r;

		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			break;	/* ENXIO: no data past here */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st->st_size;
		r = copy_range(in, out, data, hole);
		if (r < 0)
			return r;
		data = hole;
	}
	if (data < 0 && errno != ENXIO) {
		/* No SEEK_DATA here: copy it all. */
		int r = copy_range(in, out, 0, st->st_size);

		if (r < 0)
			return r;
	}
	/* A trailing hole is the size. */
	return ftruncate(out, st->st_size) < 0 ? -errno : 0;
}

/* Copy the user.* extended attributes of IN to OUT (the only namespace the
 * mount shows); a failure loses them, never the copy. */
void delta_copy_xattrs(int in, int out)
{
	char names[XATTR_LIST_MAX], value[XATTR_SIZE_MAX];
	ssize_t n, i, v;

	n = flistxattr(in, names, sizeof(names));
	for (i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		if (strncmp(names + i, "user.", 5) != 0 || delta_reserved_xattr(names + i))
			continue;
		v = fgetxattr(in, names + i, value, sizeof(value));
		if (v >= 0)
			fsetxattr(out, names + i, value, (size_t)v, 0);
	}
}

static atomic_uint tmp_counter;

/* Record in the base journal what the lower layer holds at PATH: ST, and
 * FD (open on the file) or TARGET (the link's) for its sum.  First, before
 * the change it is for: a crash leaves a record without a change, never
 * a change without its record. */
static int note_base(struct backing *b, const char *path, const struct stat *st, int fd,
		     const char *target)
{
	char line[BASE_LINE_MAX];
	struct base base;
	int n;

	if (!backing_journal_kept(b))
		return 0;
	base_from_stat(st, fd, target, &base);
	n = base_format(path, &base, line, sizeof(line));
	if (n < 0)
		return n;
	return backing_journal_add(b, line, (size_t)n);
}

int delta_note_lower(struct backing *b, const char *path)
{
	char target[PATH_MAX + 1];
	struct stat st;
	ssize_t n;
	int r, fd = -1;

	if (!backing_journal_kept(b))
		return 0;
	r = backing_lstat(b, LOWER, path, &st);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (S_ISLNK(st.st_mode)) {
		n = backing_readlink(b, LOWER, path, target, sizeof(target) - 1);
		if (n < 0)
			return (int)n;
		target[n] = '\0';
		return note_base(b, path, &st, -1, target);
	}
	if (S_ISREG(st.st_mode) && st.st_size <= BASE_SUM_MAX) {
		fd = backing_open_file(b, LOWER, path, O_RDONLY | O_NONBLOCK, 0);
		if (fd < 0)
			return fd;
	}
	r = note_base(b, path, &st, fd, NULL);
	if (fd >= 0)
		close(fd);
	return r;
}

int delta_copy_up(struct backing *b, const char *path, const struct stat *lst)
{
	static pid_t pid;
	char tmp[POLICY_MAX_PATH], prefix[64], target[PATH_MAX + 1];
	struct timespec ts[2];
	struct stat st;
	int r, in = -1, out = -1;
	ssize_t n;

	if (lst) {
		st = *lst;
	} else {
		r = backing_lstat(b, LOWER, path, &st);
		if (r < 0)
			return r;
	}
	if (!pid)
		pid = getpid();
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (S_ISDIR(st.st_mode)) {
		struct stat ust;

		/* One record a directory: none when another thread made it. */
		if (backing_journal_kept(b) && backing_lstat(b, UPPER, path, &ust) == 0)
			return 0;
		r = note_base(b, path, &st, -1, NULL);
		if (r < 0)
			return r;
		/* Owner-writable while we work in it; the mode is set last. */
		r = backing_mkdir(b, path, 0700);
		if (r < 0 && r != -EEXIST)
			return r;
		if (r == -EEXIST)
			return 0;
		if (backing_root())
			backing_chown(b, path, st.st_uid, st.st_gid);
		in = backing_open_dir(b, LOWER, path);
		out = backing_open_dir(b, UPPER, path);
		if (in >= 0 && out >= 0)
			delta_copy_xattrs(in, out);
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		r = backing_chmod(b, path, st.st_mode & 07777);
		if (r == 0)
			r = backing_utimens(b, path, ts);
		return r;
	}
	/* A name the view never shows, unique among threads and mounts. */
	snprintf(prefix, sizeof(prefix), DELTA_TMP_PREFIX "%d.%u.",
		 (int)pid, atomic_fetch_add(&tmp_counter, 1));
	r = sibling(path, prefix, tmp);
	if (r < 0)
		return r;
	if (S_ISLNK(st.st_mode)) {
		n = backing_readlink(b, LOWER, path, target, sizeof(target) - 1);
		if (n < 0)
			return (int)n;
		target[n] = '\0';
		r = note_base(b, path, &st, -1, target);
		if (r == 0)
			r = backing_symlink(b, target, tmp);
	} else if (S_ISREG(st.st_mode)) {
		in = backing_open_file(b, LOWER, path, O_RDONLY, 0);
		if (in < 0)
			return in;
		/* The permission bits at once (the umask is 0), and the
		 * owner's write bit until the attributes are set. */
		out = backing_open_file(b, UPPER, tmp, O_WRONLY | O_CREAT | O_EXCL,
					(st.st_mode & 0777) | 0200);
		if (out < 0) {
			close(in);
			return out;
		}
		r = note_base(b, path, &st, in, NULL);
		if (r == 0)
			r = delta_copy_data(in, out, &st);
		if (r == 0)
			delta_copy_xattrs(in, out);
		if (r == 0 && st.st_nlink == 1) {
			char v[64];
			int len = snprintf(v, sizeof(v), ORIGIN_FMT,
					   (unsigned long long)st.st_dev,
					   (unsigned long long)st.st_ino);

			/* Without it (no user xattrs here) the copy shows
			 * its own number. */
			fsetxattr(out, DELTA_ORIGIN, v, (size_t)len, 0);
		}
		close(in);
		if (r == 0 && backing_root() && fchown(out, st.st_uid, st.st_gid) < 0)
			r = -errno;
		/* The mode last: the attributes above need the owner's write
		 * bit without CAP_DAC_OVERRIDE (a 0444 git object), and a
		 * chown clears setuid and setgid. */
		if (r == 0 && ((st.st_mode & 07000) || !(st.st_mode & 0200)) &&
		    fchmod(out, st.st_mode & 07777) < 0)
			r = -errno;
		if (r == 0 && futimens(out, ts) < 0)
			r = -errno;
		if (close(out) < 0 && r == 0)
			r = -errno;
	} else {
		r = note_base(b, path, &st, -1, NULL);
		if (r == 0)
			r = backing_mknod(b, tmp, st.st_mode, st.st_rdev);
	}
	if (r == 0 && !S_ISREG(st.st_mode)) {
		if (backing_root())
			backing_chown(b, tmp, st.st_uid, st.st_gid);
		r = backing_utimens(b, tmp, ts);
	}
	if (r == 0)
		r = backing_rename_nondir(b, tmp, path);
	if (r < 0)
		backing_unlink(b, tmp);
	return r;
}

/* An empty marker file of the format at P (or -errno from making P). */
static int marker(struct backing *b, int r, const char *p)
{
	int fd;

	if (r < 0)
		return r;
	fd = backing_open_file(b, UPPER, p, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int delta_whiteout(struct backing *b, const char *path)
{
	char p[POLICY_MAX_PATH];

	return marker(b, sibling(path, DELTA_WH_PREFIX, p), p);
}

int delta_unwhiteout(struct backing *b, const char *path)
{
	char p[POLICY_MAX_PATH];
	int r = sibling(path, DELTA_WH_PREFIX, p);

	if (r < 0)
		return r;
	r = backing_unlink(b, p);
	return r == -ENOENT ? 0 : r;
}

int delta_set_opaque(struct backing *b, const char *dir)
{
	char p[POLICY_MAX_PATH];

	return marker(b, child_path(dir, DELTA_OPAQUE, p), p);
}

int delta_clear_markers(struct backing *b, const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd = backing_open_dir(b, UPPER, dir), r = 0;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!delta_reserved(de->d_name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	return r;
}

/* ---- listings ---------------------------------------------------------------- */

/* What one entry costs: the name and malloc's header for it, and its
 * slots in the three arrays. */
#define ENTRY_COST(namelen) ((namelen) + 1 + 16 + sizeof(char *) + 1 + sizeof(ino_t))

/* Take N bytes of BUD (NULL: no bound), as they are spent, so that
 * listings made at once by several threads never hold more together. */
static bool charge(struct budget *bud, size_t n)
{
	if (!bud)
		return true;
	if (__atomic_add_fetch(bud->used, n, __ATOMIC_RELAXED) <= bud->max)
		return true;
	__atomic_sub_fetch(bud->used, n, __ATOMIC_RELAXED);
	return false;
}

void budget_give_back(struct budget *bud, size_t n)
{
	if (bud)
		__atomic_sub_fetch(bud->used, n, __ATOMIC_RELAXED);
}

/* Grow S's arrays to CAP entries; false when out of memory (each array
 * that grew stays valid, and S as it was). */
static bool snap_grow(struct dirsnap *s, size_t cap)
{
	char **names = reallocarray(s->names, cap, sizeof(*s->names));
	unsigned char *types;
	ino_t *inos;

	if (!names)
		return false;
	s->names = names;
	types = reallocarray(s->types, cap, sizeof(*s->types));
	if (!types)
		return false;
	s->types = types;
	inos = reallocarray(s->inos, cap, sizeof(*s->inos));
	if (!inos)
		return false;
	s->inos = inos;
	return true;
}

static int snap_add(struct dirsnap *s, size_t *cap, struct budget *bud, const char *name,
		    unsigned char type, ino_t ino)
{
	size_t len = strlen(name), ncap = *cap ? 2 * *cap : 32;
	char *copy = NULL;

	if (!charge(bud, ENTRY_COST(len)))
		return -ENOMEM;
	if (s->n == *cap && snap_grow(s, ncap))
		*cap = ncap;
	if (s->n < *cap)
		copy = strdup(name);
	if (!copy) {
		/* Out of memory: S as it was, the bytes given back. */
		budget_give_back(bud, ENTRY_COST(len));
		return -ENOMEM;
	}
	s->names[s->n] = copy;
	s->types[s->n] = type;
	s->inos[s->n++] = ino;
	s->bytes += ENTRY_COST(len);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dirsnap_clear(struct dirsnap *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->types);
	free(d->inos);
	memset(d, 0, sizeof(*d));
}

void dirsnap_free(struct dirsnap *d)
{
	if (!d)
		return;
	dirsnap_clear(d);
	free(d);
}

/* Was T, a time the file system gave, stamped in a tick of its clock that
 * had ended before T0?  Then a change made from T0 on gets a later time.
 * Linux stamps with a clock that moves a tick (at most 10 ms) at a time;
 * a time of whole seconds says a file system that keeps only seconds
 * (two, for FAT). */
static bool tick_over(const struct timespec *t, const struct timespec *t0)
{
	int64_t ms = (int64_t)(t0->tv_sec - t->tv_sec) * 1000 + (t0->tv_nsec - t->tv_nsec) / 1000000;

	return ms > (t->tv_nsec == 0 ? 2000 : 50);
}

/* Note in ST what layer L's directory (attributes DS) is, and whether its
 * last change is older than T0, when the listing began, by a whole tick.
 * Never settled on a file system of another machine (its clock, or an
 * attribute cache, could hide a change). */
static void stamp_layer(struct backing *b, struct dirstamp *st, enum layer l,
			const struct stat *ds, const struct timespec *t0)
{
	st->in[l] = true;
	st->dev[l] = ds->st_dev;
	st->ino[l] = ds->st_ino;
	st->mtime[l] = ds->st_mtim;
	st->ctime[l] = ds->st_ctim;
	if (!tick_over(&ds->st_mtim, t0) || !tick_over(&ds->st_ctim, t0) ||
	    !backing_local(b, l, ds->st_dev))
		st->settled = false;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool dirstamp_same(const struct dirstamp *a, const struct dirstamp *b)
{
	for (int l = 0; l < 2; l++) {
		if (a->in[l] != b->in[l])
			return false;
		if (a->in[l] && (a->dev[l] != b->dev[l] || a->ino[l] != b->ino[l] ||
				 !same_time(&a->mtime[l], &b->mtime[l]) ||
				 !same_time(&a->ctime[l], &b->ctime[l])))
			return false;
	}
	return true;
}

bool delta_dir_stamp(struct backing *b, const char *path, const struct estate *e,
		     struct dirstamp *st)
{
	struct timespec t0;
	struct stat ds;

	memset(st, 0, sizeof(*st));
	clock_gettime(CLOCK_REALTIME, &t0);
	st->settled = true;
	if (e->in_upper) {
		if (backing_lstat(b, UPPER, path, &ds) < 0 || !S_ISDIR(ds.st_mode))
			return false;
		stamp_layer(b, st, UPPER, &ds, &t0);
	}
	if (e->in_lower && !e->opaque) {
		if (backing_lstat(b, LOWER, path, &ds) < 0 || !S_ISDIR(ds.st_mode))
			return false;
		stamp_layer(b, st, LOWER, &ds, &t0);
	}
	return true;
}

/* Read the directory PATH of layer L into S (stamped, T0 the start), at
 * most LIMIT bytes; with MASK (sorted names), skip those.  Whiteout
 * targets go to WH when it is given. */
static int read_layer(struct backing *b, enum layer l, const char *path, const struct timespec *t0,
		      struct dirsnap *s, size_t *cap, struct budget *bud, char **mask, size_t nmask,
		      struct dirsnap *wh, size_t *whcap)
{
	struct dirent *de;
	struct stat ds;
	DIR *d;
	int fd = backing_open_dir(b, l, path), r = 0;

	if (fd < 0)
		return fd == -ENOENT || fd == -ENOTDIR ? 0 : fd;
	/* Stamped before it is read: a change made while it is read shows
	 * as a different stamp next time. */
	if (fstat(fd, &ds) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	stamp_layer(b, &s->stamp, l, &ds, t0);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (!r && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;

		if (delta_reserved(name)) {
			if (wh && strcmp(name, DELTA_OPAQUE) != 0)
				r = snap_add(wh, whcap, bud, name + sizeof(DELTA_WH_PREFIX) - 1,
					     0, 0);
			continue;
		}
		if (mask && bsearch(&name, mask, nmask, sizeof(*mask), by_name))
			continue;
		r = snap_add(s, cap, bud, name, de->d_type, backing_ino(b, l, de->d_ino));
	}
	if (!r && errno)
		r = -errno;
	closedir(d);
	return r;
}

bool delta_lower_reserved(struct backing *b, const char *path, const struct estate *e)
{
	struct dirent *de;
	DIR *d;
	int fd;
	bool found = false;

	if (!e->in_lower || e->opaque)
		return false;
	fd = backing_open_dir(b, LOWER, path);
	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(d)))
		found = delta_reserved(de->d_name);
	closedir(d);
	return found;
}

int delta_list(struct backing *b, const char *path, const struct estate *e, struct budget *bud,
	       struct dirsnap **out)
{
	struct dirsnap *s = calloc(1, sizeof(*s)), wh = { 0 };
	size_t cap = 0, whcap = 0, nupper, i;
	struct timespec t0;
	char **mask = NULL;
	int r = 0;

	if (!s)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &t0);
	s->stamp.settled = true;
	s->bytes = sizeof(*s);
	if (!charge(bud, s->bytes)) {
		free(s);
		return -ENOMEM;
	}
	if (e->in_upper)
		r = read_layer(b, UPPER, path, &t0, s, &cap, bud, NULL, 0, &wh, &whcap);
	nupper = s->n;
	if (r == 0 && e->in_lower && !e->opaque) {
		/* Lower names not in the upper layer and not whited out (a
		 * slot more: no names is no zero-sized request). */
		mask = calloc(nupper + wh.n + 1, sizeof(*mask));
		if (!mask) {
			r = -ENOMEM;
		} else {
			for (i = 0; i < nupper; i++)
				mask[i] = s->names[i];
			for (i = 0; i < wh.n; i++)
				mask[nupper + i] = wh.names[i];
			qsort(mask, nupper + wh.n, sizeof(*mask), by_name);
			r = read_layer(b, LOWER, path, &t0, s, &cap, bud, mask,
				       nupper + wh.n, NULL, NULL);
			free(mask);
		}
	}
	budget_give_back(bud, wh.bytes);
	dirsnap_clear(&wh);
	if (r < 0) {
		budget_give_back(bud, s->bytes);
		dirsnap_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* ---- the private delta --------------------------------------------------------- */

int delta_remove_at(int dfd, const char *name)
{
	return remove_tree_at(dfd, name);
}

int delta_remove_tree(const char *dir)
{
	return remove_tree(dir);
}
