/* base.c - the base journal (base.h): records, their lines, and the
 * journal read into a map.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "deltafmt.h"
#include "util.h"

char base_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	default: return 's';
	}
}

static void blob_start(struct sha1 *s, int64_t size)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof(hdr), "blob %lld", (long long)size);

	sha1_init(s);
	sha1_update(s, hdr, (size_t)n + 1);	/* the NUL too, as git */
}

/* The git blob name of FD's SIZE bytes; false when it does not hold
 * exactly that many (it changed under us). */
static bool sum_fd(int fd, int64_t size, unsigned char out[SHA1_LEN])
{
	unsigned char buf[65536];
	struct sha1 s;
	int64_t done = 0;

	blob_start(&s, size);
	while (done < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		sha1_update(&s, buf, (size_t)n);
		done += n;
	}
	if (pread(fd, buf, 1, done) != 0)
		return false;
	sha1_final(&s, out);
	return true;
}

static void sum_buf(const char *p, size_t n, unsigned char out[SHA1_LEN])
{
	struct sha1 s;

	blob_start(&s, (int64_t)n);
	sha1_update(&s, p, n);
	sha1_final(&s, out);
}

static void identity(const struct stat *st, struct base *b)
{
	memset(b, 0, sizeof(*b));
	b->type = base_type(st->st_mode);
	b->ino = (uint64_t)st->st_ino;
	b->size = (int64_t)st->st_size;
	b->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	b->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void base_from_stat(const struct stat *st, int fd, const char *target, struct base *b)
{
	identity(st, b);
	if (S_ISREG(st->st_mode) && fd >= 0 && st->st_size <= BASE_SUM_MAX)
		b->has_sum = sum_fd(fd, b->size, b->sum);
	else if (S_ISLNK(st->st_mode) && target) {
		sum_buf(target, strlen(target), b->sum);
		b->has_sum = true;
	}
}

/* The sum of the entry NAME of DFD, which ST says is a regular file or a
 * link; false when it cannot be had (or is too large). */
static bool sum_at(int dfd, const char *name, const struct stat *st, unsigned char out[SHA1_LEN])
{
	char target[PATH_MAX];
	struct stat now;
	ssize_t n;
	bool ok;
	int fd;

	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(dfd, name, target, sizeof(target));
		if (n < 0 || n == (ssize_t)sizeof(target))
			return false;
		sum_buf(target, (size_t)n, out);
		return true;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > BASE_SUM_MAX)
		return false;
	/* O_NONBLOCK: a FIFO swapped in must not block us. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = fstat(fd, &now) == 0 && S_ISREG(now.st_mode) && now.st_ino == st->st_ino &&
	     sum_fd(fd, (int64_t)st->st_size, out);
	close(fd);
	return ok;
}

int base_at(int dfd, const char *name, struct base *b)
{
	struct stat st;

	memset(b, 0, sizeof(*b));
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	identity(&st, b);
	b->has_sum = sum_at(dfd, name, &st, b->sum);
	return 0;
}

enum base_change base_compare(const struct base *base, int dfd, const char *name)
{
	struct stat st;
	struct base now;
	unsigned char sum[SHA1_LEN];

	if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return base && base->type ? BASE_REMOVED : BASE_SAME;
	if (!base || !base->type)
		return BASE_CREATED;
	identity(&st, &now);
	if (now.type != base->type)
		return BASE_RETYPED;
	if (now.type == 'd')
		return BASE_SAME;	/* its entries say what changed in it */
	if (now.ino == base->ino && now.size == base->size &&
	    now.mtime_ns == base->mtime_ns && now.ctime_ns == base->ctime_ns)
		return BASE_SAME;
	/* Rewritten, touched or moved back: the same content is no change. */
	if (base->has_sum && now.size == base->size && sum_at(dfd, name, &st, sum) &&
	    memcmp(sum, base->sum, SHA1_LEN) == 0)
		return BASE_SAME;
	return BASE_MODIFIED;
}

const char *base_change_name(enum base_change c)
{
	switch (c) {
	case BASE_SAME: return "unchanged";
	case BASE_MODIFIED: return "modified";
	case BASE_CREATED: return "created";
	case BASE_REMOVED: return "removed";
	case BASE_RETYPED: return "retyped";
	}
	return "?";
}

void base_hex(const unsigned char sum[SHA1_LEN], char out[2 * SHA1_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SHA1_LEN; i++) {
		out[2 * i] = hex[sum[i] >> 4];
		out[2 * i + 1] = hex[sum[i] & 15];
	}
	out[2 * SHA1_LEN] = '\0';
}

int base_format(const char *path, const struct base *b, char *buf, size_t size)
{
	char hex[2 * SHA1_LEN + 1];
	size_t n = 0;
	int k;

	for (; *path; path++) {
		const char *esc = *path == '\\' ? "\\\\" : *path == '\t' ? "\\t" :
				  *path == '\n' ? "\\n" : NULL;

		if (n + 3 > size)
			return -ENAMETOOLONG;
		if (esc) {
			buf[n++] = esc[0];
			buf[n++] = esc[1];
		} else {
			buf[n++] = *path;
		}
	}
	if (b->has_sum)
		base_hex(b->sum, hex);
	k = snprintf(buf + n, size - n, "\t%c %llu %lld %lld %lld %s\n", b->type,
		     (unsigned long long)b->ino, (long long)b->size, (long long)b->mtime_ns,
		     (long long)b->ctime_ns, b->has_sum ? hex : "-");
	if (k < 0 || (size_t)k >= size - n)
		return -ENAMETOOLONG;
	return (int)(n + (size_t)k);
}

/* ---- the journal in memory ------------------------------------------------ */

struct slot {
	char *path;
	struct base b;
};

struct base_map {
	struct slot *v;
	size_t n, cap;		/* cap: a power of two */
};

static size_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (size_t)h;
}

static struct slot *slot_of(const struct base_map *m, const char *path)
{
	size_t i = hash(path) & (m->cap - 1);

	while (m->v[i].path && strcmp(m->v[i].path, path))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

struct base_map *base_map_new(void)
{
	struct base_map *m = xcalloc(1, sizeof(*m));

	m->cap = 64;
	m->v = xcalloc(m->cap, sizeof(*m->v));
	return m;
}

void base_put(struct base_map *m, const char *path, const struct base *b)
{
	struct slot *s;

	if (2 * (m->n + 1) > m->cap) {
		struct base_map bigger = { xcalloc(m->cap * 2, sizeof(struct slot)), 0, m->cap * 2 };
		size_t i;

		for (i = 0; i < m->cap; i++)
			if (m->v[i].path) {
				*slot_of(&bigger, m->v[i].path) = m->v[i];
				bigger.n++;
			}
		free(m->v);
		*m = bigger;
	}
	s = slot_of(m, path);
	if (!s->path) {
		s->path = xstrdup(path);
		m->n++;
	}
	s->b = *b;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One record line (without its newline) into PATH and B; false when it
 * is not one (a line cut short by a crash). */
static bool parse(char *line, char *path, size_t size, struct base *b)
{
	char *tab = strchr(line, '\t'), *p, sum[64];
	unsigned long long ino;
	long long sz, mt, ct;
	size_t n = 0;
	char type;
	int i;

	if (!tab || line[0] != '/')
		return false;
	for (p = line; p < tab; p++) {
		char c = *p;

		if (c == '\\') {
			c = p[1] == '\\' ? '\\' : p[1] == 't' ? '\t' : p[1] == 'n' ? '\n' : 0;
			if (!c)
				return false;
			p++;
		}
		if (n + 1 >= size)
			return false;
		path[n++] = c;
	}
	path[n] = '\0';
	if (sscanf(tab + 1, "%c %llu %lld %lld %lld %63s", &type, &ino, &sz, &mt, &ct, sum) != 6 ||
	    !strchr("fdlcbps", type) || type == '\0')
		return false;
	memset(b, 0, sizeof(*b));
	b->type = type;
	b->ino = ino;
	b->size = sz;
	b->mtime_ns = mt;
	b->ctime_ns = ct;
	if (strcmp(sum, "-")) {
		if (strlen(sum) != 2 * SHA1_LEN)
			return false;
		for (i = 0; i < SHA1_LEN; i++) {
			int hi = unhex(sum[2 * i]), lo = unhex(sum[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return false;
			b->sum[i] = (unsigned char)(hi << 4 | lo);
		}
		b->has_sum = true;
	}
	return true;
}

int base_load(int droot, struct base_map **out)
{
	struct base_map *m;
	char *text, *line, *nl, path[4096];
	size_t len;
	int fd, r;

	*out = NULL;
	fd = openat(droot, DELTA_BASE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = read_file_max(fd, (size_t)1 << 30, &text, &len);
	close(fd);
	if (r < 0)
		return r;
	if (len < sizeof(BASE_MAGIC) - 1 || memcmp(text, BASE_MAGIC, sizeof(BASE_MAGIC) - 1)) {
		free(text);
		return -EPROTO;
	}
	m = base_map_new();
	for (line = text + sizeof(BASE_MAGIC) - 1; line < text + len; line = nl + 1) {
		struct base b;

		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (!nl)
			break;	/* cut short: the change it was for never came */
		*nl = '\0';
		if (memchr(line, '\0', (size_t)(nl - line)) == NULL && parse(line, path, sizeof(path), &b))
			base_put(m, path, &b);
	}
	free(text);
	*out = m;
	return 1;
}

void base_drop_below(struct base_map *m, const char *dir)
{
	struct base_map keep = { xcalloc(m->cap, sizeof(struct slot)), 0, m->cap };
	size_t n = strcmp(dir, "/") ? strlen(dir) : 0, i;

	for (i = 0; i < m->cap; i++) {
		char *p = m->v[i].path;

		if (!p)
			continue;
		if (!strncmp(p, dir, n) && p[n] == '/') {
			free(p);
			continue;
		}
		*slot_of(&keep, p) = m->v[i];
		keep.n++;
	}
	free(m->v);
	*m = keep;
}

const struct base *base_find(const struct base_map *m, const char *path)
{
	struct slot *s;

	if (!m)
		return NULL;
	s = slot_of(m, path);
	return s->path ? &s->b : NULL;
}

size_t base_count(const struct base_map *m)
{
	return m ? m->n : 0;
}

int base_rewrite(int droot, const struct base_map *m,
		 bool (*keep)(const char *path, void *arg), void *arg)
{
	char tmp[64], line[BASE_LINE_MAX];
	FILE *f;
	size_t i;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), DELTA_TMP_PREFIX "%d.base", (int)getpid());
	fd = openat(droot, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlinkat(droot, tmp, 0);
		return r;
	}
	fputs(BASE_MAGIC, f);
	for (i = 0; m && i < m->cap; i++) {
		int n;

		if (!m->v[i].path || !keep(m->v[i].path, arg))
			continue;
		n = base_format(m->v[i].path, &m->v[i].b, line, sizeof(line));
		if (n > 0)
			fwrite(line, 1, (size_t)n, f);
	}
	if (fflush(f) != 0 || ferror(f))
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(droot, tmp, droot, DELTA_BASE) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(droot, tmp, 0);
	return r;
}

void base_map_free(struct base_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->cap; i++)
		free(m->v[i].path);
	free(m->v);
	free(m);
}

bool base_delta_fresh(int droot)
{
	struct dirent *de;
	bool empty = true;
	DIR *d;
	int fd = openat(droot, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
			!strncmp(de->d_name, DELTA_META_PREFIX, sizeof(DELTA_META_PREFIX) - 1) ||
			!strncmp(de->d_name, DELTA_TMP_PREFIX, sizeof(DELTA_TMP_PREFIX) - 1);
	closedir(d);
	return empty;
}
