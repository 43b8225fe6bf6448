/* util.c - messages, allocation, small file helpers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *progname = "afs";

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One write so that concurrent messages do not interleave. */
	fprintf(stderr, "%s: %s%s\n", progname, prefix, buf);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	exit(status);
}

void error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

static void *oom(void)
{
	fprintf(stderr, "%s: out of memory\n", progname);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom();
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size ? size : 1);

	return q ? q : oom();
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	return p ? p : oom();
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	return p ? p : oom();
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? oom() : s;
}

int read_file_max(int fd, size_t max, char **out, size_t *outlen)
{
	struct stat st;
	size_t len = 0, cap;
	char *buf;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((unsigned long long)st.st_size > max)
		return -EFBIG;
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap + 1);
	/* The file may grow while we read it: read until EOF, within MAX. */
	for (;;) {
		ssize_t r;

		if (len == cap) {
			if (cap > max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

void fput_field(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			putc(c, f);
	}
}

char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(buf[0] ? buf : "/");
}

/* Seconds, with a fraction and an s, m, h or d suffix, as milliseconds;
 * -1 when malformed or beyond a month (past that a deadline is a typo). */
int64_t parse_duration_ms(const char *s)
{
	char *end;
	double v;

	/* Digits and a point only: strtod would also skip white space
	 * (hiding a sign) and read hexadecimal, "inf" and "nan". */
	if (!isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
		return -1;
	for (end = (char *)s; isdigit((unsigned char)*end) || *end == '.'; end++)
		;
	if (*end == 'x' || *end == 'X' || *end == 'e' || *end == 'E')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	switch (*end) {
	case 'd': v *= 24;		/* fall through */
	case 'h': v *= 60;		/* fall through */
	case 'm': v *= 60;		/* fall through */
	case 's': end++;		/* fall through */
	default: break;
	}
	if (*end || v > 31.0 * 86400)
		return -1;
	return (int64_t)llround(v * 1000);
}

/* rm -rf NAME in DFD, following no link; a tree of at most PATH_MAX / 2
 * levels (one we made: deeper is refused with ELOOP).  0 or -errno. */
static int remove_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > PATH_MAX / 2)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			remove_at(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int remove_tree_at(int dfd, const char *name)
{
	return remove_at(dfd, name, 0);
}

int remove_tree(const char *path)
{
	return remove_at(AT_FDCWD, path, 0);
}

char *find_program(const char *prog, bool beside)
{
	const char *path = getenv("PATH");
	char *p;

	if (beside) {
		char *dir = exe_dir();

		if (dir) {
			p = xasprintf("%s/%s", dir, prog);
			free(dir);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	for (const char *d = path ? path : "/usr/local/bin:/usr/bin:/bin"; *d;) {
		size_t n = strcspn(d, ":");

		p = xasprintf("%.*s/%s", (int)n, d, prog);
		if (n && access(p, X_OK) == 0)
			return p;
		free(p);
		d += n;
		if (*d == ':')
			d++;
	}
	return NULL;
}

int64_t parse_size_bytes(const char *s)
{
	static const char suffixes[] = "KMGT";
	char *end;
	unsigned long long v;
	const char *sfx;
	int shift = 0;

	/* Digits first: strtoull would skip white space, hiding a sign. */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		sfx = strchr(suffixes, *end & ~0x20);
		if (!sfx || !*sfx)
			return -1;
		shift = 10 * (int)(sfx - suffixes + 1);
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v == 0 || v > (unsigned long long)INT64_MAX >> shift)
		return -1;
	return (int64_t)(v << shift);
}

static int by_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void close_except(int *keep, size_t n)
{
	unsigned from = 3;

	qsort(keep, n, sizeof(*keep), by_fd);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}
