/* conflict.c - see conflict.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conflict.h"
#include "deltafmt.h"
#include "util.h"

static void add(struct conflicts *c, const char *path, enum base_change source, char delta)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	c->v[c->n].path = xstrdup(path);
	c->v[c->n].source = source;
	c->v[c->n++].delta = delta;
}

static bool same_content(int d1, const char *n1, int d2, const char *n2, off_t size)
{
	char a[65536], b[65536];
	/* O_NONBLOCK: a FIFO swapped in must not block us. */
	int f1 = openat(d1, n1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int f2 = openat(d2, n2, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool same = f1 >= 0 && f2 >= 0;
	off_t done = 0;

	while (same && done < size) {
		ssize_t k1 = read(f1, a, sizeof(a)), k2 = read(f2, b, sizeof(b));

		same = k1 > 0 && k1 == k2 && memcmp(a, b, (size_t)k1) == 0;
		done += k1 > 0 ? k1 : 0;
	}
	if (f1 >= 0)
		close(f1);
	if (f2 >= 0)
		close(f2);
	return same;
}

bool same_entry(int d1, const char *n1, int d2, const char *n2)
{
	struct stat s1, s2;
	bool has1 = d1 >= 0 && fstatat(d1, n1, &s1, AT_SYMLINK_NOFOLLOW) == 0;
	bool has2 = d2 >= 0 && fstatat(d2, n2, &s2, AT_SYMLINK_NOFOLLOW) == 0;

	if (!has1 || !has2)
		return has1 == has2;
	if ((s1.st_mode & S_IFMT) != (s2.st_mode & S_IFMT))
		return false;
	if (S_ISREG(s1.st_mode))
		return s1.st_size == s2.st_size && same_content(d1, n1, d2, n2, s1.st_size);
	if (S_ISLNK(s1.st_mode)) {
		char a[PATH_MAX], b[PATH_MAX];
		ssize_t k1 = readlinkat(d1, n1, a, sizeof(a)), k2 = readlinkat(d2, n2, b, sizeof(b));

		return k1 >= 0 && k1 == k2 && memcmp(a, b, (size_t)k1) == 0;
	}
	if (S_ISCHR(s1.st_mode) || S_ISBLK(s1.st_mode))
		return s1.st_rdev == s2.st_rdev;
	return true;
}

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", name);
}

static int open_dir_at(int dfd, const char *name)
{
	if (dfd < 0)
		return -1;
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Every entry of SOURCE's directory SDFD (path PATH), which the delta
 * deletes (DDFD -1) or replaces with its directory DDFD: each must be as
 * its base says, or as the delta has it. */
static void below(struct conflicts *c, const struct base_map *m, int sdfd, int ddfd,
		  const char *path, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(sdfd);

	if (fd < 0 || depth > PATH_MAX / 2 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		add(c, path, BASE_MODIFIED, ddfd >= 0 ? 'M' : 'D');	/* unreadable: not seen */
		return;
	}
	rewinddir(d);	/* a dup shares its offset */
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		enum base_change ch;
		struct stat st;
		char *p;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		p = join(path, name);
		ch = base_compare(base_find(m, p), sdfd, name);
		if (ch != BASE_SAME && !(ddfd >= 0 && same_entry(sdfd, name, ddfd, name))) {
			struct stat dst;
			bool in_delta = ddfd >= 0 && fstatat(ddfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;

			add(c, p, ch, in_delta ? 'M' : 'D');
		} else if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int cs = open_dir_at(sdfd, name), cd = open_dir_at(ddfd, name);

			if (cs >= 0)
				below(c, m, cs, cd, p, depth + 1);
			if (cs >= 0)
				close(cs);
			if (cd >= 0)
				close(cd);
		}
		free(p);
	}
	closedir(d);
}

void conflict_check(struct conflicts *c, const struct base_map *m, int ddfd, int sdfd,
		    const char *path, const char *name, enum change_kind kind)
{
	const struct base *base = base_find(m, path);
	enum base_change ch = base_compare(base, sdfd, name);
	struct stat sst, dst;
	bool s_has = sdfd >= 0 && fstatat(sdfd, name, &sst, AT_SYMLINK_NOFOLLOW) == 0;
	bool s_dir = s_has && S_ISDIR(sst.st_mode);
	char letter = !base || !base->type ? 'A' : 'M';

	switch (kind) {
	case CHANGE_ENTRY:
		/* A directory the delta replaced with a file goes whole: every
		 * entry below it must be as its base says. */
		if (ch == BASE_SAME && s_dir) {
			int cs = open_dir_at(sdfd, name);

			if (cs >= 0) {
				below(c, m, cs, -1, path, 0);
				close(cs);
			}
			return;
		}
		if (ch == BASE_SAME || same_entry(ddfd, name, sdfd, name))
			return;
		if (base && base->type && fstatat(ddfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    base_type(dst.st_mode) != base->type)
			letter = 'T';
		add(c, path, ch, letter);
		return;
	case CHANGE_DIR:
		/* Merged: only SOURCE's entry itself can be in the way. */
		if (s_has && !s_dir)
			add(c, path, ch, letter == 'M' && base->type != 'd' ? 'T' : letter);
		else if (!s_has && ch == BASE_REMOVED)
			add(c, path, ch, 'M');
		return;
	case CHANGE_WHITEOUT:
	case CHANGE_OPAQUE:
		/* Gone from SOURCE too: both sides agree the old one goes. */
		if (!s_has)
			return;
		if (!s_dir) {
			if (ch != BASE_SAME)
				add(c, path, ch, kind == CHANGE_WHITEOUT ? 'D' : letter == 'M' ? 'T' : 'A');
			return;
		}
		if (ch == BASE_RETYPED || ch == BASE_CREATED) {
			add(c, path, ch, kind == CHANGE_WHITEOUT ? 'D' : 'M');
			return;
		}
		{
			int cs = open_dir_at(sdfd, name);
			int cd = kind == CHANGE_OPAQUE ? open_dir_at(ddfd, name) : -1;

			if (cs >= 0)
				below(c, m, cs, cd, path, 0);
			if (cs >= 0)
				close(cs);
			if (cd >= 0)
				close(cd);
		}
		return;
	}
}

static void scan(struct conflicts *c, const struct base_map *m, int ddfd, int sdfd,
		 const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(ddfd);

	if (fd < 0 || depth > PATH_MAX / 2 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		add(c, rel, BASE_MODIFIED, 'M');	/* unreadable: not seen */
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct stat st;
		char *p;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, DELTA_OPAQUE) ||
		    !strncmp(name, DELTA_META_PREFIX, sizeof(DELTA_META_PREFIX) - 1) ||
		    !strncmp(name, DELTA_TMP_PREFIX, sizeof(DELTA_TMP_PREFIX) - 1))
			continue;
		if (!strncmp(name, DELTA_WH_PREFIX, sizeof(DELTA_WH_PREFIX) - 1)) {
			p = join(rel, name + sizeof(DELTA_WH_PREFIX) - 1);
			conflict_check(c, m, ddfd, sdfd, p, name + sizeof(DELTA_WH_PREFIX) - 1,
				       CHANGE_WHITEOUT);
			free(p);
			continue;
		}
		if (fstatat(ddfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		p = join(rel, name);
		if (S_ISDIR(st.st_mode)) {
			int cd = open_dir_at(ddfd, name), cs = open_dir_at(sdfd, name);
			bool opaque = cd >= 0 &&
				      faccessat(cd, DELTA_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

			conflict_check(c, m, ddfd, sdfd, p, name, opaque ? CHANGE_OPAQUE : CHANGE_DIR);
			/* What an opaque directory holds replaces all SOURCE had
			 * there, and CHANGE_OPAQUE checked all of that (below()):
			 * its entries are new, not changes of SOURCE's.  Checked
			 * one by one, a name SOURCE no longer has would read as
			 * "SOURCE removed it", and so would every name a commit
			 * killed after emptying the directory had removed. */
			if (cd >= 0 && !opaque)
				scan(c, m, cd, cs, p, depth + 1);
			if (cd >= 0)
				close(cd);
			if (cs >= 0)
				close(cs);
		} else {
			conflict_check(c, m, ddfd, sdfd, p, name, CHANGE_ENTRY);
		}
		free(p);
	}
	closedir(d);
}

void conflict_scan(struct conflicts *c, const struct base_map *m, int droot, int sroot)
{
	scan(c, m, droot, sroot, "/", 0);
	conflicts_sort(c);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct conflict *)a)->path, ((const struct conflict *)b)->path);
}

void conflicts_sort(struct conflicts *c)
{
	size_t i, o = 0;

	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_path);
	for (i = 0; i < c->n; i++) {
		if (o && !strcmp(c->v[o - 1].path, c->v[i].path)) {
			free(c->v[i].path);
			continue;
		}
		c->v[o++] = c->v[i];
	}
	c->n = o;
}

bool conflicts_at_or_below(const struct conflicts *c, const char *path)
{
	size_t n = strlen(path), i;

	for (i = 0; i < c->n; i++) {
		const char *p = c->v[i].path;

		if (!strcmp(path, "/") || (!strncmp(p, path, n) && (p[n] == '\0' || p[n] == '/')))
			return true;
	}
	return false;
}

void conflicts_free(struct conflicts *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

const char *conflict_source_words(enum base_change c)
{
	switch (c) {
	case BASE_CREATED: return "created it";
	case BASE_REMOVED: return "removed it";
	case BASE_RETYPED: return "replaced it with another type";
	case BASE_SAME:
	case BASE_MODIFIED:
		break;
	}
	return "modified it";
}

const char *conflict_delta_words(char delta)
{
	switch (delta) {
	case 'A': return "adds it";
	case 'D': return "deletes it";
	case 'T': return "replaces it with another type";
	default: return "modifies it";
	}
}
