/* posix-ops - a fixed script of file-system operations, run once in a
 * native directory and once in an afs-fuse mount, so that a test can
 * compare the two outputs byte for byte (tests/t1004-fuse-posix.sh).
 *
 *   posix-ops run DIR                 the script, in DIR (the t1004 fixture)
 *   posix-ops tree DIR                every entry below DIR, sorted, with the
 *                                     compared stat fields and a content hash
 *   posix-ops rename2 FROM TO FLAGS   one renameat2 (FLAGS: 0, noreplace, exchange)
 *   posix-ops setxattr PATH NAME VALUE | getxattr PATH NAME | removexattr PATH NAME
 *   posix-ops mknod PATH chr|blk|fifo|sock|reg
 *
 * The single ops print OK or the errno name (getxattr: the value).
 *
 * The script prints one line per step, "KEY: RESULT", every KEY unique so
 * a test can also pick one line out.  RESULT is OK or an errno name, a
 * count, a content (escaped; a hash when long), the stat fields that must
 * agree on any POSIX file system (type, mode, size and link count of
 * non-directories, owner) or a sorted listing.  What legitimately differs
 * is never printed: inode numbers (only whether two names share one),
 * st_dev, st_blocks, directory sizes and link counts, readdir order, and
 * times, except exact values set with utimensat and whether an operation
 * changed mtime.  The script goes on after a failed step, so one
 * difference shows as the lines it affects, not as a truncated output.
 *
 * Directory renames are not in the script: afs-fuse answers them with
 * EXDEV by design (afs-fuse(1) LEVELS AND ERRORS), and t1004 checks that
 * apart, as it does device nodes, .wh. names and non-user extended
 * attributes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define KIB 1024LL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

static int steps;

/* ---- output ---------------------------------------------------------------- */

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

struct sb {
	char s[16384];
	size_t n;
};

/* The steps where afs-fuse is known to differ (afs-fuse(1), BUGS) run only
 * without POSIX_OPS_SKIP_KNOWN in the environment. */
static bool known(void)
{
	return !getenv("POSIX_OPS_SKIP_KNOWN");
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n >= sizeof(b->s))
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < sizeof(b->s) - b->n ? (size_t)r : sizeof(b->s) - b->n - 1;
}

/* Bytes as printable ASCII; anything else, and the separators, as \xHH. */
static void sb_esc(struct sb *b, const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (c[i] >= 0x21 && c[i] < 0x7f && c[i] != '\\' && c[i] != '/' && c[i] != '"')
			sb_printf(b, "%c", c[i]);
		else
			sb_printf(b, "\\x%02x", c[i]);
	}
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

/* Every key printed so far: a key seen before gets " #N", so that each
 * line can be picked out by its key alone. */
static char *seen[4096];
static int nseen;

static void emit(const char *key, const struct sb *b)
{
	int i, k = 1;

	for (i = 0; i < nseen; i++)
		k += strcmp(seen[i], key) == 0;
	if (nseen < (int)(sizeof(seen) / sizeof(seen[0])))
		seen[nseen++] = strdup(key);
	steps++;
	if (k > 1)
		printf("%03d %s #%d: %.*s\n", steps, key, k, (int)b->n, b->s);
	else
		printf("%03d %s: %.*s\n", steps, key, (int)b->n, b->s);
}

static void say(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *key, const char *fmt, ...)
{
	struct sb b = { .n = 0 };
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(b.s, sizeof(b.s), fmt, ap);
	va_end(ap);
	b.n = r < 0 ? 0 : (size_t)r < sizeof(b.s) ? (size_t)r : sizeof(b.s) - 1;
	emit(key, &b);
}

/* OK or the errno name: for calls whose value does not matter. */
#define TRY(key, call)                                                   \
	do {                                                             \
		errno = 0;                                               \
		long long r_ = (long long)(call);                        \
		say(key, "%s", r_ < 0 ? ename(errno) : "OK");            \
	} while (0)

/* The value (a count, an offset) or the errno name. */
#define NUM(key, call)                                                   \
	do {                                                             \
		errno = 0;                                               \
		long long r_ = (long long)(call);                        \
		if (r_ < 0)                                              \
			say(key, "%s", ename(errno));                    \
		else                                                     \
			say(key, "%lld", r_);                            \
	} while (0)

/* An fd that later steps use: OK or the errno name, and the fd kept. */
static int opened(const char *key, int fd)
{
	say(key, "%s", fd < 0 ? ename(errno) : "OK");
	return fd;
}

/* For steps that only report whether an open works: the fd is not kept. */
static int closing(int fd)
{
	if (fd >= 0)
		close(fd);
	return fd;
}

static int opendir_step(const char *path)
{
	DIR *d = opendir(path);

	if (!d)
		return -1;
	closedir(d);
	return 0;
}

static int xopen(const char *key, const char *path, int flags, mode_t mode)
{
	return opened(key, open(path, flags | O_CLOEXEC, mode));
}

static void xclose(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- what is compared ------------------------------------------------------- */

static void sb_stat(struct sb *b, const struct stat *st)
{
	const char *t = "?";

	switch (st->st_mode & S_IFMT) {
	case S_IFREG: t = "reg"; break;
	case S_IFDIR: t = "dir"; break;
	case S_IFLNK: t = "lnk"; break;
	case S_IFIFO: t = "fifo"; break;
	case S_IFSOCK: t = "sock"; break;
	case S_IFCHR: t = "chr"; break;
	case S_IFBLK: t = "blk"; break;
	default: break;
	}
	sb_printf(b, "%s %04o", t, (unsigned)(st->st_mode & 07777));
	/* Directory sizes and link counts depend on the file system. */
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		sb_printf(b, " size=%lld", (long long)st->st_size);
	if (!S_ISDIR(st->st_mode))
		sb_printf(b, " nlink=%lu", (unsigned long)st->st_nlink);
	sb_printf(b, " uid=%u gid=%u", (unsigned)st->st_uid, (unsigned)st->st_gid);
}

static void st_line(const char *key, const char *path, bool follow)
{
	struct sb b = { .n = 0 };
	struct stat st;

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_stat(&b, &st);
	emit(key, &b);
}

#define LSTAT(path) st_line("lstat " path, path, false)
#define STAT(path) st_line("stat " path, path, true)

static void fst_line(const char *key, int fd)
{
	struct sb b = { .n = 0 };
	struct stat st;

	if (fstat(fd, &st) < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_stat(&b, &st);
	emit(key, &b);
}

/* The bytes: escaped up to 96, else the size and a hash. */
static void sb_bytes(struct sb *b, const char *p, size_t len)
{
	if (len <= 96) {
		sb_printf(b, "\"");
		sb_esc(b, p, len);
		sb_printf(b, "\"");
	} else {
		sb_printf(b, "%zu bytes fnv=%016llx", len, (unsigned long long)fnv(FNV0, p, len));
	}
}

/* The whole content of FD from offset 0 (at most 64 MiB). */
static void fcat(const char *key, int fd)
{
	struct sb b = { .n = 0 };
	size_t cap = 64 * MIB, len = 0;
	char *p = malloc(cap);
	ssize_t n = 0;

	while (p && len < cap && (n = pread(fd, p + len, cap - len, (off_t)len)) > 0)
		len += (size_t)n;
	if (!p)
		sb_printf(&b, "ENOMEM");
	else if (n < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_bytes(&b, p, len);
	free(p);
	emit(key, &b);
}

static void cat(const char *key, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		say(key, "%s", ename(errno));
		return;
	}
	fcat(key, fd);
	close(fd);
}

#define CAT(path) cat("cat " path, path)

/* N bytes at OFF through FD. */
static void pread_line(const char *key, int fd, size_t n, off_t off)
{
	struct sb b = { .n = 0 };
	char buf[256];
	ssize_t r = pread(fd, buf, n < sizeof(buf) ? n : sizeof(buf), off);

	if (r < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_bytes(&b, buf, (size_t)r);
	emit(key, &b);
}

static void read_line(const char *key, int fd, size_t n)
{
	struct sb b = { .n = 0 };
	char buf[256];
	ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

	if (r < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_bytes(&b, buf, (size_t)r);
	emit(key, &b);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of PATH, sorted (readdir order is the file system's), with
 * their d_type when TYPES; long listings as a count, the ends and a hash. */
static void ls_line(const char *key, const char *path, bool types)
{
	struct sb b = { .n = 0 };
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int dots = 0;
	uint64_t h = FNV0;

	if (!d) {
		say(key, "%s", ename(errno));
		return;
	}
	errno = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
			dots++;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		if (types)
			asprintf(&names[n++], "%s:%u", e->d_name, (unsigned)e->d_type);
		else
			names[n++] = strdup(e->d_name);
	}
	if (errno)
		sb_printf(&b, "readdir %s ", ename(errno));
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_str);
	sb_printf(&b, "dots=%d n=%zu ", dots, n);
	if (n <= 24) {
		for (i = 0; i < n; i++) {
			sb_printf(&b, i ? "/" : "");
			sb_esc(&b, names[i], strlen(names[i]));
		}
	} else {
		for (i = 0; i < n; i++)
			h = fnv(h, names[i], strlen(names[i]) + 1);
		sb_printf(&b, "first=");
		sb_esc(&b, names[0], strlen(names[0]));
		sb_printf(&b, " last=");
		sb_esc(&b, names[n - 1], strlen(names[n - 1]));
		sb_printf(&b, " fnv=%016llx", (unsigned long long)h);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	emit(key, &b);
}

#define LS(path) ls_line("ls " path, path, false)

static void times_line(const char *key, const char *path, bool follow)
{
	struct stat st;

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		say(key, "%s", ename(errno));
	else
		say(key, "atime=%lld.%09ld mtime=%lld.%09ld", (long long)st.st_atim.tv_sec,
		    st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* Whether mtime (and atime) are within a minute of now. */
static void recent_line(const char *key, const char *path)
{
	struct stat st;
	time_t now = time(NULL);

	if (stat(path, &st) < 0)
		say(key, "%s", ename(errno));
	else
		say(key, "atime %s mtime %s",
		    llabs((long long)(st.st_atim.tv_sec - now)) < 60 ? "recent" : "old",
		    llabs((long long)(st.st_mtim.tv_sec - now)) < 60 ? "recent" : "old");
}

/* Set an old mtime, so that a later change is seen whatever the clock
 * granularity. */
static const struct timespec OLD[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

static void mtime_changed_line(const char *key, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		say(key, "%s", ename(errno));
	else
		say(key, "mtime %s", st.st_mtim.tv_sec == OLD[1].tv_sec && st.st_mtim.tv_nsec == 0
					      ? "unchanged" : "changed");
}

static void same_ino_line(const char *key, const char *a, const char *b)
{
	struct stat sa, sb;

	if (lstat(a, &sa) < 0 || lstat(b, &sb) < 0)
		say(key, "%s", ename(errno));
	else
		say(key, "%s", sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev ? "same" : "different");
}

static void xattr_get_line(const char *key, const char *path, const char *name)
{
	struct sb b = { .n = 0 };
	char buf[256];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));

	if (n < 0)
		sb_printf(&b, "%s", ename(errno));
	else
		sb_bytes(&b, buf, (size_t)n);
	emit(key, &b);
}

static void xattr_list_line(const char *key, const char *path)
{
	struct sb b = { .n = 0 };
	char buf[4096], *names[64];
	ssize_t n = llistxattr(path, buf, sizeof(buf));
	size_t k = 0, i;
	ssize_t j;

	if (n < 0) {
		say(key, "%s", ename(errno));
		return;
	}
	for (j = 0; j < n && k < 64; j += (ssize_t)strlen(buf + j) + 1)
		names[k++] = buf + j;
	qsort(names, k, sizeof(*names), by_str);
	sb_printf(&b, "n=%zu", k);
	for (i = 0; i < k; i++)
		sb_printf(&b, " %s", names[i]);
	emit(key, &b);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, s, strlen(s)) < 0)
			perror(path);
		close(fd);
	}
}

/* ---- the script ----------------------------------------------------------------- */

/* Entries of the fixture, as t1004 makes them in SOURCE. */
static void fixture(void)
{
	struct statfs sf;

	LSTAT(".");
	LSTAT("f1");
	LSTAT("f2");
	LSTAT("f3");
	LSTAT("app");
	LSTAT("big");
	LSTAT("sparse");
	LSTAT("ro");
	LSTAT("exe");
	LSTAT("odd");
	LSTAT("suid");
	LSTAT("hl1");
	LSTAT("hl2");
	LSTAT("sl");
	LSTAT("dangling");
	LSTAT("loop1");
	LSTAT("xa");
	LSTAT("with space");
	LSTAT("dir");
	LSTAT("dir/sub");
	LSTAT("dir/sub/c");
	LSTAT("emptydir");
	LSTAT("fifo");
	LSTAT("sgdir");
	STAT("sl");
	STAT("dangling");
	STAT("loop1");
	STAT("dir/");
	STAT("f1/");
	STAT("missing");
	same_ino_line("same inode hl1 hl2", "hl1", "hl2");
	same_ino_line("same inode f1 f2", "f1", "f2");
	LS(".");
	LS("dir");
	ls_line("ls types dir", "dir", true);
	LS("emptydir");
	CAT("f1");
	CAT("big");
	CAT("with space");
	CAT("sl");
	CAT("hl2");
	{
		char buf[PATH_MAX];
		ssize_t n;

		n = readlink("sl", buf, sizeof(buf));
		say("readlink sl", "%s", n < 0 ? ename(errno) : n == 2 && !memcmp(buf, "f1", 2) ? "f1" : "?");
		n = readlink("dangling", buf, sizeof(buf));
		say("readlink dangling", "%.*s", n < 0 ? 0 : (int)n, n < 0 ? "" : buf);
		TRY("readlink f1", readlink("f1", buf, sizeof(buf)));
		TRY("readlink missing", readlink("missing", buf, sizeof(buf)));
	}
	NUM("statfs namelen", statfs(".", &sf) < 0 ? -1 : (long long)sf.f_namelen);
	TRY("access f1 R_OK", access("f1", R_OK));
	TRY("access ro W_OK", access("ro", W_OK));
	TRY("access f1 X_OK", access("f1", X_OK));
	TRY("access exe X_OK", access("exe", X_OK));
	TRY("access dir X_OK", access("dir", X_OK));
	TRY("access missing F_OK", access("missing", F_OK));
}

static void open_flags(void)
{
	char buf[64];
	int fd, fd2;

	fd = xopen("open O_CREAT new1", "new1", O_CREAT | O_WRONLY, 0644);
	NUM("write new1", write(fd, "hello", 5));
	xclose(&fd);
	CAT("new1");
	LSTAT("new1");
	TRY("open O_CREAT|O_EXCL new1", closing(open("new1", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	TRY("open O_CREAT|O_EXCL f1", closing(open("f1", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	TRY("open O_CREAT|O_EXCL sl", closing(open("sl", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	TRY("open O_CREAT|O_EXCL dangling", closing(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644)));
	TRY("open missing", closing(open("missing", O_RDONLY)));
	TRY("open missing/x", closing(open("missing/x", O_RDONLY)));
	TRY("open f1/x", closing(open("f1/x", O_RDONLY)));
	fd = xopen("open O_CREAT existing f1", "f1", O_CREAT | O_RDONLY, 0600);
	read_line("read f1 after O_CREAT", fd, 64);
	xclose(&fd);
	LSTAT("f1");

	fd = xopen("open O_WRONLY|O_TRUNC f2", "f2", O_WRONLY | O_TRUNC, 0);
	LSTAT("f2");
	NUM("write f2", write(fd, "x", 1));
	xclose(&fd);
	CAT("f2");
	fd = xopen("open O_RDWR|O_TRUNC trunc", "trunc", O_RDWR | O_TRUNC, 0);
	fst_line("fstat trunc", fd);
	xclose(&fd);
	fd = xopen("creat new1", "new1", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	fst_line("fstat new1 after creat", fd);
	xclose(&fd);

	fd = xopen("open O_WRONLY|O_APPEND app", "app", O_WRONLY | O_APPEND, 0);
	NUM("write app", write(fd, "line2\n", 6));
	NUM("lseek app SEEK_CUR", lseek(fd, 0, SEEK_CUR));
	NUM("pwrite app O_APPEND at 0", pwrite(fd, "line3\n", 6, 0));
	NUM("lseek app SEEK_SET 0", lseek(fd, 0, SEEK_SET));
	NUM("write app after SEEK_SET", write(fd, "line4\n", 6));
	NUM("lseek app after append", lseek(fd, 0, SEEK_CUR));
	xclose(&fd);
	CAT("app");
	fd = xopen("open O_CREAT|O_APPEND app2", "app2", O_CREAT | O_RDWR | O_APPEND, 0644);
	NUM("write app2", write(fd, "abc", 3));
	NUM("write app2 again", write(fd, "def", 3));
	pread_line("pread app2", fd, 64, 0);
	xclose(&fd);

	fd = xopen("open O_RDONLY f1", "f1", O_RDONLY, 0);
	TRY("write O_RDONLY f1", write(fd, "x", 1));
	TRY("pwrite O_RDONLY f1", pwrite(fd, "x", 1, 0));
	TRY("ftruncate O_RDONLY f1", ftruncate(fd, 0));
	TRY("fallocate O_RDONLY f1", fallocate(fd, 0, 0, 100));
	xclose(&fd);
	fd = xopen("open O_WRONLY new1", "new1", O_WRONLY, 0);
	TRY("read O_WRONLY new1", read(fd, buf, sizeof(buf)));
	xclose(&fd);
	CAT("f1");

	fd = xopen("open O_CREAT 0600 new2", "new2", O_CREAT | O_RDWR, 0600);
	xclose(&fd);
	LSTAT("new2");
	umask(0);
	fd = xopen("open O_CREAT 0666 umask 0", "new3", O_CREAT | O_RDWR, 0666);
	xclose(&fd);
	LSTAT("new3");
	TRY("mkdir 0777 umask 0", mkdir("d777", 0777));
	LSTAT("d777");
	TRY("mkfifo 0666 umask 0", mkfifo("fifo666", 0666));
	LSTAT("fifo666");
	umask(022);
	fd = xopen("open O_CREAT 0666 umask 022", "new4", O_CREAT | O_RDWR, 0666);
	xclose(&fd);
	LSTAT("new4");
	fd = xopen("open O_CREAT 04755 new5", "new5", O_CREAT | O_RDWR, 04755);
	xclose(&fd);
	LSTAT("new5");

	TRY("open O_WRONLY dir", closing(open("dir", O_WRONLY)));
	TRY("open O_RDWR dir", closing(open("dir", O_RDWR)));
	TRY("open O_CREAT dir", closing(open("dir", O_CREAT | O_RDONLY, 0644)));
	fd = xopen("open O_RDONLY dir", "dir", O_RDONLY, 0);
	TRY("read dir fd", read(fd, buf, sizeof(buf)));
	xclose(&fd);
	TRY("open O_DIRECTORY f1", closing(open("f1", O_RDONLY | O_DIRECTORY)));
	TRY("open O_DIRECTORY new1", closing(open("new1", O_RDONLY | O_DIRECTORY)));
	TRY("open O_DIRECTORY sl", closing(open("sl", O_RDONLY | O_DIRECTORY)));
	TRY("open O_CREAT|O_DIRECTORY", closing(open("cdir", O_RDONLY | O_CREAT | O_DIRECTORY, 0644)));
	LSTAT("cdir");
	TRY("open O_NOFOLLOW sl", closing(open("sl", O_RDONLY | O_NOFOLLOW)));
	TRY("open loop1", closing(open("loop1", O_RDONLY)));
	TRY("open O_CREAT loop1", closing(open("loop1", O_RDWR | O_CREAT, 0644)));
	TRY("open dangling", closing(open("dangling", O_RDONLY)));
	fd = xopen("open O_CREAT dangling", "dangling", O_CREAT | O_WRONLY, 0644);
	NUM("write through dangling", write(fd, "made", 4));
	xclose(&fd);
	CAT("missing-target");
	LSTAT("dangling");
	fd = xopen("open O_WRONLY ro (0444, root)", "ro", O_WRONLY, 0);
	NUM("write ro", write(fd, "RO", 2));
	xclose(&fd);
	CAT("ro");
	fd = xopen("open O_RDWR|O_SYNC new6", "new6", O_CREAT | O_RDWR | O_SYNC, 0644);
	NUM("write O_SYNC", write(fd, "sync", 4));
	xclose(&fd);
	fd = xopen("open O_DSYNC new6", "new6", O_WRONLY | O_DSYNC | O_APPEND, 0);
	NUM("write O_DSYNC", write(fd, "dsync", 5));
	xclose(&fd);
	CAT("new6");

	/* Two descriptors of one file share no offset; a dup does. */
	fd = xopen("open f3 first", "f3", O_RDONLY, 0);
	fd2 = open("f3", O_RDONLY | O_CLOEXEC);
	read_line("read f3 fd1", fd, 4);
	read_line("read f3 fd2", fd2, 2);
	xclose(&fd2);
	fd2 = dup(fd);
	read_line("read f3 dup", fd2, 3);
	NUM("lseek f3 fd1 shared", lseek(fd, 0, SEEK_CUR));
	xclose(&fd2);
	xclose(&fd);
}

static void offsets(void)
{
	static char big[MIB];
	size_t i;
	int fd;

	fd = xopen("open O_RDWR f3", "f3", O_RDWR, 0);
	pread_line("pread f3 4@10", fd, 4, 10);
	NUM("pwrite f3 XY@2", pwrite(fd, "XY", 2, 2));
	NUM("lseek f3 SEEK_SET 0", lseek(fd, 0, SEEK_SET));
	read_line("read f3 16", fd, 16);
	NUM("lseek f3 SEEK_CUR -4", lseek(fd, -4, SEEK_CUR));
	read_line("read f3 4", fd, 4);
	read_line("read f3 at EOF", fd, 4);
	NUM("lseek f3 SEEK_END 0", lseek(fd, 0, SEEK_END));
	NUM("lseek f3 SEEK_END 4", lseek(fd, 4, SEEK_END));
	NUM("write f3 past EOF", write(fd, "Z", 1));
	fst_line("fstat f3", fd);
	NUM("lseek f3 SEEK_SET -1", lseek(fd, -1, SEEK_SET));
	NUM("lseek f3 bad whence", lseek(fd, 0, 42));
	NUM("lseek f3 SEEK_SET 1000", lseek(fd, 1000, SEEK_SET));
	read_line("read f3 beyond EOF", fd, 4);
	NUM("read f3 0 bytes", read(fd, big, 0));
	xclose(&fd);
	CAT("f3");

	fd = xopen("open big", "big", O_RDONLY, 0);
	pread_line("pread big 16@99990", fd, 16, 99990);
	pread_line("pread big 16@50000", fd, 16, 50000);
	pread_line("pread big past EOF", fd, 16, 200000);
	NUM("lseek big SEEK_END -10", lseek(fd, -10, SEEK_END));
	read_line("read big last", fd, 64);
	xclose(&fd);

	/* One large write, split by FUSE; large offsets. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	fd = xopen("open large", "large", O_CREAT | O_RDWR, 0644);
	NUM("write 1 MiB", write(fd, big, sizeof(big)));
	NUM("pwrite at 5 GiB", pwrite(fd, "far", 3, 5 * GIB));
	fst_line("fstat large", fd);
	pread_line("pread at 5 GiB", fd, 8, 5 * GIB);
	pread_line("pread in the hole", fd, 8, 2 * GIB);
	NUM("SEEK_DATA large 2 MiB", lseek(fd, 2 * MIB, SEEK_DATA));
	NUM("SEEK_HOLE large 0", lseek(fd, 0, SEEK_HOLE));
	NUM("ftruncate large 1 MiB", ftruncate(fd, MIB));
	xclose(&fd);
	CAT("large");
}

static void truncation(void)
{
	int fd;

	fd = xopen("open t1", "t1", O_CREAT | O_RDWR, 0644);
	NUM("write t1", write(fd, "abcdef", 6));
	TRY("ftruncate grow", ftruncate(fd, 100));
	fst_line("fstat t1 grown", fd);
	fcat("content t1 grown", fd);
	TRY("ftruncate shrink", ftruncate(fd, 3));
	fcat("content t1 shrunk", fd);
	NUM("lseek t1 SEEK_END", lseek(fd, 0, SEEK_END));
	TRY("ftruncate negative", ftruncate(fd, -1));
	xclose(&fd);
	TRY("truncate t1 0", truncate("t1", 0));
	LSTAT("t1");
	TRY("truncate t1 5000", truncate("t1", 5000));
	CAT("t1");
	TRY("truncate big 1000", truncate("big", 1000));
	CAT("big");
	TRY("truncate dir", truncate("dir", 0));
	TRY("truncate missing", truncate("missing", 0));
	TRY("truncate sl", truncate("sl", 4));
	CAT("f1");
	TRY("truncate fifo", truncate("fifo", 0));
}

static void sparse_and_fallocate(void)
{
	char page[4096];
	int fd;

	memset(page, 'S', sizeof(page));
	fd = xopen("open sp", "sp", O_CREAT | O_RDWR, 0644);
	TRY("ftruncate sp 4 MiB", ftruncate(fd, 4 * MIB));
	NUM("pwrite sp at 2 MiB", pwrite(fd, page, sizeof(page), 2 * MIB));
	NUM("sp SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	NUM("sp SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	NUM("sp SEEK_HOLE 2 MiB", lseek(fd, 2 * MIB, SEEK_HOLE));
	NUM("sp SEEK_DATA 3 MiB", lseek(fd, 3 * MIB, SEEK_DATA));
	NUM("sp SEEK_DATA past EOF", lseek(fd, 5 * MIB, SEEK_DATA));
	NUM("sp SEEK_HOLE past EOF", lseek(fd, 5 * MIB, SEEK_HOLE));
	fcat("content sp", fd);
	xclose(&fd);

	/* A sparse file of SOURCE, read as it is. */
	fd = xopen("open sparse", "sparse", O_RDONLY, 0);
	NUM("sparse SEEK_DATA 0", lseek(fd, 0, SEEK_DATA));
	NUM("sparse SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	NUM("sparse SEEK_HOLE 2 MiB", lseek(fd, 2 * MIB, SEEK_HOLE));
	fcat("content sparse", fd);
	xclose(&fd);
	/* The same after a change: does the copy keep its holes? */
	fd = xopen("open sparse2 rw", "sparse2", O_RDWR, 0);
	NUM("pwrite sparse2", pwrite(fd, "x", 1, 0));
	NUM("sparse2 SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	NUM("sparse2 SEEK_DATA 4096", lseek(fd, 4096, SEEK_DATA));
	fcat("content sparse2", fd);
	xclose(&fd);

	fd = xopen("open fa", "fa", O_CREAT | O_RDWR, 0644);
	TRY("fallocate 0 64 KiB", fallocate(fd, 0, 0, 64 * KIB));
	fst_line("fstat fa", fd);
	TRY("fallocate KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 64 * KIB, 64 * KIB));
	fst_line("fstat fa keep size", fd);
	NUM("pwrite fa", pwrite(fd, page, sizeof(page), 8192));
	TRY("fallocate PUNCH_HOLE", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 4096));
	pread_line("pread fa punched", fd, 8, 8192);
	NUM("fa SEEK_HOLE 0", lseek(fd, 0, SEEK_HOLE));
	TRY("fallocate PUNCH_HOLE alone", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
	NUM("pwrite fa again", pwrite(fd, page, sizeof(page), 16384));
	TRY("fallocate ZERO_RANGE", fallocate(fd, FALLOC_FL_ZERO_RANGE, 16384, 100));
	pread_line("pread fa zeroed", fd, 8, 16380);
	TRY("fallocate bad len", fallocate(fd, 0, 0, 0));
	{
		int e = posix_fallocate(fd, 0, 100 * KIB);

		say("posix_fallocate grow", "%s", e ? ename(e) : "OK");
	}
	fst_line("fstat fa grown", fd);
	fcat("content fa", fd);
	xclose(&fd);
	fd = xopen("open f2 ro for fallocate", "f2", O_RDONLY, 0);
	TRY("fallocate O_RDONLY", fallocate(fd, 0, 0, 10));
	xclose(&fd);
}

static void copy_range(void)
{
	int in, out, w;
	loff_t oi, oo;

	in = xopen("open big for cfr", "big", O_RDONLY, 0);
	out = xopen("open cfr", "cfr", O_CREAT | O_RDWR, 0644);
	oi = 100;
	oo = 0;
	NUM("copy_file_range 500@100", copy_file_range(in, &oi, out, &oo, 500, 0));
	say("copy_file_range offsets", "%lld %lld", (long long)oi, (long long)oo);
	NUM("copy_file_range past EOF", copy_file_range(in, &(loff_t){ 5000 }, out, NULL, 100, 0));
	NUM("cfr offset after NULL off_out", lseek(out, 0, SEEK_CUR));
	NUM("copy_file_range into a hole", copy_file_range(in, &(loff_t){ 0 }, out, &(loff_t){ 2000 }, 10, 0));
	fcat("content cfr", out);
	NUM("copy_file_range overlap", copy_file_range(out, &(loff_t){ 0 }, out, &(loff_t){ 5 }, 100, 0));
	NUM("copy_file_range bad flags", copy_file_range(in, &(loff_t){ 0 }, out, &(loff_t){ 0 }, 10, 1));
	w = open("f1", O_WRONLY | O_CLOEXEC);
	NUM("copy_file_range from O_WRONLY", copy_file_range(w, NULL, out, NULL, 10, 0));
	NUM("copy_file_range to O_RDONLY", copy_file_range(out, &(loff_t){ 0 }, in, NULL, 10, 0));
	xclose(&w);
	xclose(&out);
	xclose(&in);
	/* From a new file to a file of SOURCE (its copy-up). */
	in = open("cfr", O_RDONLY | O_CLOEXEC);
	out = xopen("open f3 for cfr", "f3", O_WRONLY, 0);
	NUM("copy_file_range to a SOURCE file", copy_file_range(in, &(loff_t){ 0 }, out, &(loff_t){ 4 }, 6, 0));
	xclose(&out);
	xclose(&in);
	CAT("f3");
}

static void mapping(void)
{
	char *m;
	int fd;
	uint64_t h;

	fd = xopen("open exe for mmap", "exe", O_RDONLY, 0);
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		say("mmap exe", "%s", ename(errno));
	} else {
		say("mmap exe", "\"%.9s\"", m);
		munmap(m, 4096);
	}
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap MAP_SHARED|PROT_WRITE of O_RDONLY", "%s", m == MAP_FAILED ? ename(errno) : "OK");
	if (m != MAP_FAILED)
		munmap(m, 4096);
	xclose(&fd);

	fd = xopen("open mm", "mm", O_CREAT | O_RDWR, 0644);
	TRY("ftruncate mm", ftruncate(fd, 8192));
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap mm shared", "%s", m == MAP_FAILED ? ename(errno) : "OK");
	if (m != MAP_FAILED) {
		memcpy(m + 4096, "mapped", 6);
		memcpy(m, "head", 4);
		TRY("msync mm", msync(m, 8192, MS_SYNC));
		pread_line("pread mm after msync", fd, 6, 4096);
		/* write(2) shows in the mapping. */
		NUM("pwrite mm", pwrite(fd, "WRIT", 4, 100));
		say("mapping sees pwrite", "\"%.4s\"", m + 100);
		munmap(m, 8192);
	}
	xclose(&fd);
	cat("cat mm", "mm");
	h = 0;
	fd = open("mm", O_RDONLY | O_CLOEXEC);
	m = fd < 0 ? MAP_FAILED : mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		h = fnv(FNV0, m, 8192);
		munmap(m, 8192);
	}
	xclose(&fd);
	say("mmap mm private read", "%016llx", (unsigned long long)h);

	/* MAP_SHARED writes into a file of SOURCE. */
	fd = xopen("open f2 for shared mmap", "f2", O_RDWR, 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap f2 shared", "%s", m == MAP_FAILED ? ename(errno) : "OK");
	if (m != MAP_FAILED) {
		m[0] = 'M';
		TRY("msync f2", msync(m, 4096, MS_SYNC));
		munmap(m, 4096);
	}
	xclose(&fd);
	CAT("f2");
	/* MAP_PRIVATE writes stay private. */
	fd = xopen("open xa for private mmap", "xa", O_RDONLY, 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	say("mmap xa private", "%s", m == MAP_FAILED ? ename(errno) : "OK");
	if (m != MAP_FAILED) {
		m[0] = 'P';
		munmap(m, 4096);
	}
	xclose(&fd);
	CAT("xa");
	/* big is 1000 bytes now: the mapping agrees with read(2), and the
	 * rest of its page reads as zeros. */
	fd = open("big", O_RDONLY | O_CLOEXEC);
	m = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	say("mmap big", "%s", m == MAP_FAILED ? ename(errno) : "OK");
	if (m != MAP_FAILED) {
		char buf[4096] = { 0 };

		say("mmap big agrees with pread", "%s",
		    pread(fd, buf, sizeof(buf), 0) == 1000 && !memcmp(buf, m, sizeof(buf)) ? "yes" : "no");
		munmap(m, 4096);
	}
	xclose(&fd);
}

static void syncs(void)
{
	int fd;

	fd = xopen("open new1 for fsync", "new1", O_WRONLY, 0);
	NUM("write new1 for fsync", write(fd, "synced", 6));
	TRY("fsync", fsync(fd));
	TRY("fdatasync", fdatasync(fd));
	TRY("sync_file_range", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	xclose(&fd);
	fd = xopen("open f1 for fsync", "f1", O_RDONLY, 0);
	TRY("fsync O_RDONLY", fsync(fd));
	xclose(&fd);
	fd = xopen("open dir for fsync", "dir", O_RDONLY | O_DIRECTORY, 0);
	TRY("fsync dir", fsync(fd));
	xclose(&fd);
	fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	TRY("syncfs", syncfs(fd));
	xclose(&fd);
	CAT("new1");
}

static void unlinking(void)
{
	int fd, fd2;

	fd = xopen("open ul", "ul", O_CREAT | O_RDWR, 0644);
	NUM("write ul", write(fd, "data", 4));
	TRY("unlink ul open", unlink("ul"));
	LSTAT("ul");
	pread_line("pread unlinked ul", fd, 16, 0);
	NUM("write unlinked ul", write(fd, "more", 4));
	fcat("content unlinked ul", fd);
	fst_line("fstat unlinked ul", fd);
	TRY("fchmod unlinked ul", fchmod(fd, 0600));
	TRY("ftruncate unlinked ul", ftruncate(fd, 2));
	fst_line("fstat unlinked ul after", fd);
	fcat("content unlinked ul after", fd);
	xclose(&fd);
	LS(".");

	fd = xopen("open ul_src", "ul_src", O_RDONLY, 0);
	TRY("unlink ul_src open", unlink("ul_src"));
	LSTAT("ul_src");
	fcat("content unlinked ul_src", fd);
	if (known())
		fst_line("fstat unlinked ul_src", fd);
	xclose(&fd);

	/* An unlinked file and a new one at its name are two files. */
	fd = xopen("open ul2", "ul2", O_CREAT | O_RDWR, 0644);
	NUM("write ul2", write(fd, "first", 5));
	TRY("unlink ul2", unlink("ul2"));
	write_file("ul2", "second");
	NUM("write old ul2 fd", pwrite(fd, "FIRST", 5, 0));
	TRY("ftruncate old ul2 fd", ftruncate(fd, 1));
	TRY("fchmod old ul2 fd", fchmod(fd, 0600));
	TRY("futimens old ul2 fd", futimens(fd, OLD));
	fcat("content old ul2 fd", fd);
	xclose(&fd);
	CAT("ul2");
	LSTAT("ul2");
	mtime_changed_line("mtime new ul2", "ul2");

	/* The same over a file of SOURCE. */
	fd = xopen("open rmme", "rmme", O_RDWR, 0);
	TRY("unlink rmme", unlink("rmme"));
	write_file("rmme", "replacement");
	TRY("ftruncate old rmme fd", ftruncate(fd, 3));
	fcat("content old rmme fd", fd);
	xclose(&fd);
	CAT("rmme");

	TRY("unlink dir", unlink("dir"));
	TRY("unlink missing", unlink("missing"));
	TRY("unlink f1/", unlink("f1/"));
	TRY("unlink missing/x", unlink("missing/x"));
	TRY("unlink fifo666", unlink("fifo666"));
	TRY("unlink dangling", unlink("dangling"));
	LSTAT("missing-target");
	TRY("unlink missing-target", unlink("missing-target"));
	fd = open("ren_c", O_RDONLY | O_CLOEXEC);
	fd2 = open("ren_c", O_RDONLY | O_CLOEXEC);
	TRY("unlink ren_c twice open", unlink("ren_c"));
	fcat("content ren_c fd1", fd);
	fcat("content ren_c fd2", fd2);
	xclose(&fd);
	xclose(&fd2);
}

static void renaming(void)
{
	int fd, fd2;

	write_file("rn1", "rn1\n");
	TRY("rename new file", rename("rn1", "rn2"));
	LSTAT("rn1");
	CAT("rn2");
	write_file("rn3", "rn3\n");
	TRY("rename new over new", rename("rn3", "rn2"));
	CAT("rn2");
	LSTAT("rn3");
	TRY("rename SOURCE over SOURCE", rename("ren_a", "ren_b"));
	CAT("ren_b");
	LSTAT("ren_a");
	TRY("rename new over SOURCE", rename("rn2", "ren_b"));
	CAT("ren_b");
	TRY("rename SOURCE to new name", rename("ren_b", "ren_d"));
	CAT("ren_d");
	TRY("rename onto itself", rename("f1", "f1"));
	CAT("f1");
	write_file("tw1", "twin");
	TRY("link tw1 tw2", link("tw1", "tw2"));
	TRY("rename hard link onto its twin", rename("tw1", "tw2"));
	LSTAT("tw1");
	LSTAT("tw2");
	write_file("nr", "nr\n");
	TRY("RENAME_NOREPLACE onto existing", renameat2(AT_FDCWD, "nr", AT_FDCWD, "f1", RENAME_NOREPLACE));
	TRY("RENAME_NOREPLACE onto SOURCE dir", renameat2(AT_FDCWD, "nr", AT_FDCWD, "dir", RENAME_NOREPLACE));
	TRY("RENAME_NOREPLACE to free name", renameat2(AT_FDCWD, "nr", AT_FDCWD, "nr2", RENAME_NOREPLACE));
	CAT("nr2");
	write_file("xn", "new side\n");
	TRY("RENAME_EXCHANGE new and SOURCE", renameat2(AT_FDCWD, "xn", AT_FDCWD, "xch", RENAME_EXCHANGE));
	CAT("xn");
	CAT("xch");
	TRY("RENAME_EXCHANGE with missing", renameat2(AT_FDCWD, "xn", AT_FDCWD, "nothere", RENAME_EXCHANGE));
	TRY("RENAME_EXCHANGE|NOREPLACE", renameat2(AT_FDCWD, "xn", AT_FDCWD, "xch", RENAME_EXCHANGE | RENAME_NOREPLACE));
	TRY("renameat2 bad flag", renameat2(AT_FDCWD, "xn", AT_FDCWD, "xch", 1U << 30));
	TRY("rename file onto dir", rename("xn", "dir"));
	TRY("rename file onto emptydir", rename("xn", "emptydir"));
	TRY("rename dir onto file", rename("dir", "xn"));
	TRY("rename dir into itself", rename("dir", "dir/sub/x"));
	TRY("rename onto an ancestor", rename("dir/sub", "dir"));
	TRY("rename missing", rename("missing", "x"));
	TRY("rename into missing dir", rename("xn", "missing/x"));
	TRY("rename f1/ trailing slash", rename("f1/", "x"));
	TRY("rename to trailing slash", rename("xn", "xn2/"));
	TRY("rename file into SOURCE dir", rename("xn", "dir/xn"));
	CAT("dir/xn");
	TRY("rename SOURCE file across dirs", rename("dir/b", "dir/sub/b"));
	CAT("dir/sub/b");
	LS("dir");
	LS("dir/sub");
	TRY("rename symlink", rename("sl", "sl2"));
	LSTAT("sl2");
	CAT("sl2");
	TRY("rename fifo", rename("fifo", "fifo2"));
	LSTAT("fifo2");
	TRY("rename with space", rename("with space", "with  two spaces"));
	CAT("with  two spaces");

	/* A descriptor follows its file. */
	write_file("fdr", "abc");
	fd = xopen("open fdr", "fdr", O_RDWR | O_APPEND, 0);
	TRY("rename fdr open", rename("fdr", "fdr2"));
	NUM("write fdr after rename", write(fd, "def", 3));
	fst_line("fstat fdr after rename", fd);
	TRY("fchmod fdr after rename", fchmod(fd, 0640));
	TRY("ftruncate fdr after rename", ftruncate(fd, 5));
	xclose(&fd);
	CAT("fdr2");
	LSTAT("fdr2");
	fd = xopen("open fdren", "fdren", O_RDWR, 0);
	fd2 = xopen("open fdren ro", "fdren", O_RDONLY, 0);
	TRY("rename fdren open", rename("fdren", "fdren2"));
	NUM("pwrite fdren after rename", pwrite(fd, "FD", 2, 0));
	fcat("content fdren ro fd", fd2);
	xclose(&fd);
	xclose(&fd2);
	CAT("fdren2");
	/* A file renamed over another: the other's descriptor is its own. */
	write_file("ov1", "over one");
	write_file("ov2", "over two");
	fd = xopen("open ov2", "ov2", O_RDWR, 0);
	TRY("rename ov1 over open ov2", rename("ov1", "ov2"));
	fcat("content replaced ov2 fd", fd);
	TRY("ftruncate replaced ov2 fd", ftruncate(fd, 2));
	TRY("fchmod replaced ov2 fd", fchmod(fd, 0600));
	fst_line("fstat replaced ov2 fd", fd);
	xclose(&fd);
	CAT("ov2");
	LSTAT("ov2");
	LS(".");
}

static void directories(void)
{
	TRY("mkdir nd", mkdir("nd", 0755));
	TRY("mkdir nd again", mkdir("nd", 0755));
	TRY("mkdir over SOURCE file", mkdir("f1", 0755));
	TRY("mkdir over SOURCE dir", mkdir("dir", 0755));
	TRY("mkdir over symlink", mkdir("sl2", 0755));
	TRY("mkdir nd/a/b", mkdir("nd/a/b", 0755));
	TRY("mkdir f1/x", mkdir("f1/x", 0755));
	TRY("mkdir 0700", mkdir("nd/private", 0700));
	LSTAT("nd/private");
	TRY("mkdir 01777", mkdir("nd/sticky", 01777));
	LSTAT("nd/sticky");
	TRY("mkdir trailing slash", mkdir("nd/slash/", 0755));
	LSTAT("nd/slash");
	LS("nd");
	TRY("rmdir SOURCE non-empty", rmdir("dir"));
	TRY("rmdir new non-empty", rmdir("nd"));
	TRY("rmdir nd/private", rmdir("nd/private"));
	TRY("rmdir emptydir (SOURCE)", rmdir("emptydir"));
	LSTAT("emptydir");
	TRY("mkdir emptydir again", mkdir("emptydir", 0750));
	LSTAT("emptydir");
	LS("emptydir");
	TRY("rmdir f1", rmdir("f1"));
	TRY("rmdir sl2", rmdir("sl2"));
	TRY("rmdir .", rmdir("."));
	TRY("rmdir nd/.", rmdir("nd/."));
	TRY("rmdir nd/..", rmdir("nd/.."));
	TRY("rmdir missing", rmdir("missing"));
	TRY("rmdir f1/x", rmdir("f1/x"));
	TRY("rmdir nd/slash/", rmdir("nd/slash/"));
	/* rm -r of a directory of SOURCE, step by step. */
	TRY("unlink dir2/x", unlink("dir2/x"));
	TRY("rmdir dir2 with y", rmdir("dir2"));
	TRY("unlink dir2/y", unlink("dir2/y"));
	LS("dir2");
	TRY("rmdir dir2 emptied", rmdir("dir2"));
	LSTAT("dir2");
	TRY("mkdir dir2 again", mkdir("dir2", 0755));
	LS("dir2");
	/* A changed directory of SOURCE. */
	write_file("dir/new", "new in dir\n");
	TRY("unlink dir/a", unlink("dir/a"));
	TRY("mkdir dir/nd", mkdir("dir/nd", 0755));
	LS("dir");
	ls_line("ls types dir after", "dir", true);
	write_file("dir/a", "a again\n");
	CAT("dir/a");
	TRY("chmod dir", chmod("dir", 0750));
	LSTAT("dir");
	TRY("chdir dir", chdir("dir"));
	CAT("a");
	TRY("chdir ..", chdir(".."));
	LSTAT("sgdir");
	write_file("sgdir/file", "in setgid dir");
	LSTAT("sgdir/file");
	TRY("mkdir in setgid dir", mkdir("sgdir/sub", 0755));
	LSTAT("sgdir/sub");
	TRY("mkdir sg2", mkdir("sg2", 0755));
	TRY("chown sg2", chown("sg2", 0, 5678));
	TRY("chmod sg2 02775", chmod("sg2", 02775));
	write_file("sg2/file", "x");
	LSTAT("sg2/file");
}

static void links(void)
{
	int fd, fd2;

	TRY("link SOURCE file", link("f1", "f1link"));
	LSTAT("f1");
	LSTAT("f1link");
	same_ino_line("same inode f1 f1link", "f1", "f1link");
	fd = open("f1link", O_WRONLY | O_APPEND | O_CLOEXEC);
	NUM("append via f1link", write(fd, "+link", 5));
	xclose(&fd);
	CAT("f1");
	TRY("unlink f1link", unlink("f1link"));
	LSTAT("f1");
	/* A new name leaves the file's owner and mode alone. */
	write_file("own1", "owned");
	TRY("chown own1", chown("own1", 1234, 5678));
	TRY("chmod own1 04755", chmod("own1", 04755));
	TRY("link own1", link("own1", "own2"));
	LSTAT("own1");
	LSTAT("own2");
	TRY("link odd (SOURCE, 1234:5678)", link("odd", "odd-link"));
	LSTAT("odd-link");
	write_file("lk1", "lk");
	LSTAT("lk1");
	TRY("link lk1 lk2", link("lk1", "lk2"));
	LSTAT("lk1");
	LSTAT("lk2");
	fd = open("lk2", O_WRONLY | O_APPEND | O_CLOEXEC);
	NUM("append via lk2", write(fd, "+2", 2));
	xclose(&fd);
	CAT("lk1");
	write_file("la", "one");
	TRY("link new file", link("la", "lb"));
	TRY("link new file twice", link("la", "lc"));
	LSTAT("la");
	same_ino_line("same inode la lc", "la", "lc");
	/* Two names, one file: a write through one shows through the other,
	 * also to a reader that had already read it. */
	fd2 = xopen("open lb", "lb", O_RDONLY, 0);
	pread_line("pread lb", fd2, 16, 0);
	fd = xopen("open la", "la", O_WRONLY, 0);
	NUM("pwrite la", pwrite(fd, "two", 3, 0));
	NUM("pwrite la grows", pwrite(fd, "three", 5, 3));
	xclose(&fd);
	pread_line("pread lb after write to la", fd2, 16, 0);
	fst_line("fstat lb", fd2);
	xclose(&fd2);
	CAT("lc");
	TRY("chmod la", chmod("la", 0600));
	LSTAT("lb");
	TRY("truncate lc", truncate("lc", 2));
	LSTAT("la");
	TRY("rename la over lb", rename("la", "lb"));
	LSTAT("lb");
	TRY("unlink lc", unlink("lc"));
	LSTAT("lb");
	TRY("link onto existing", link("lb", "f2"));
	TRY("link a dir", link("dir", "dirlink"));
	TRY("link missing", link("missing", "x"));
	TRY("link into missing dir", link("lb", "missing/x"));
	TRY("link symlink", link("sl2", "sl3"));
	LSTAT("sl3");
	TRY("link fifo", link("fifo2", "fifo3"));
	LSTAT("fifo3");
	/* Hard links of SOURCE: one file. */
	LSTAT("hl2");
	write_file("hlx", "hx");
	TRY("link hlx", link("hlx", "hly"));
	fd = open("hly", O_WRONLY | O_TRUNC | O_CLOEXEC);
	NUM("write hly", write(fd, "HY", 2));
	xclose(&fd);
	CAT("hlx");
}

static void symlinks(void)
{
	char buf[PATH_MAX], *longt;
	int i;

	TRY("symlink s1", symlink("f1", "s1"));
	LSTAT("s1");
	STAT("s1");
	NUM("readlink s1 length", readlink("s1", buf, sizeof(buf)));
	TRY("symlink over existing", symlink("x", "f1"));
	TRY("symlink over SOURCE link", symlink("x", "sl2"));
	TRY("symlink dangling2", symlink("no/such/thing", "dangling2"));
	LSTAT("dangling2");
	STAT("dangling2");
	TRY("open dangling2", closing(open("dangling2", O_RDONLY)));
	TRY("symlink self", symlink("self", "self"));
	TRY("open self", closing(open("self", O_RDONLY)));
	TRY("stat self", stat("self", &(struct stat){ 0 }));
	TRY("symlink to dir", symlink("dir", "sdir"));
	CAT("sdir/a");
	LS("sdir");
	TRY("symlink absolute", symlink("/nonexistent/abs", "sabs"));
	{
		ssize_t n = readlink("sabs", buf, sizeof(buf));

		say("readlink sabs", "%.*s", n < 0 ? 0 : (int)n, n < 0 ? "" : buf);
	}
	NUM("readlink short buffer", readlink("sabs", buf, 4));
	longt = malloc(4096);
	memset(longt, 'a', 4095);
	longt[4095] = '\0';
	for (i = 255; i < 4095; i += 256)
		longt[i] = '/';
	TRY("symlink target 4095 bytes", symlink(longt, "slong"));
	NUM("readlink slong", readlink("slong", buf, sizeof(buf)));
	say("readlink slong same", "%s", memcmp(buf, longt, 4095) == 0 ? "yes" : "no");
	longt = realloc(longt, 4097);
	memset(longt, 'b', 4096);
	longt[4096] = '\0';
	TRY("symlink target 4096 bytes", symlink(longt, "slong2"));
	free(longt);
	/* A chain of 10 links resolves; a loop does not. */
	TRY("symlink chain 0", symlink("f1", "ch0"));
	for (i = 1; i <= 10; i++) {
		char a[16], b[16];

		snprintf(a, sizeof(a), "ch%d", i - 1);
		snprintf(b, sizeof(b), "ch%d", i);
		if (symlink(a, b) < 0)
			say("symlink chain", "%s", ename(errno));
	}
	CAT("ch10");
	TRY("open O_NOFOLLOW|O_PATH sl2", closing(open("sl2", O_NOFOLLOW | O_PATH)));
	TRY("lchown symlink", lchown("s1", 1234, 5678));
	LSTAT("s1");
	LSTAT("f1");
	TRY("chown through symlink", chown("s1", 4321, 8765));
	LSTAT("f1");
	LSTAT("s1");
	TRY("unlink symlink", unlink("s1"));
	LSTAT("f1");
}

static void modes_and_owners(void)
{
	int fd;

	TRY("chmod new file 0600", chmod("new2", 0600));
	LSTAT("new2");
	TRY("chmod SOURCE file 0711", chmod("f2", 0711));
	LSTAT("f2");
	TRY("chmod 07777", chmod("new4", 07777));
	LSTAT("new4");
	TRY("chmod 0", chmod("new4", 0));
	LSTAT("new4");
	CAT("new4");
	fd = xopen("open new2 for fchmod", "new2", O_RDONLY, 0);
	TRY("fchmod", fchmod(fd, 0640));
	fst_line("fstat after fchmod", fd);
	TRY("fchown", fchown(fd, 1234, 1234));
	fst_line("fstat after fchown", fd);
	xclose(&fd);
	TRY("chown new file", chown("new1", 1234, 5678));
	LSTAT("new1");
	TRY("chown uid only", chown("new1", 4321, (gid_t)-1));
	LSTAT("new1");
	TRY("chown gid only", chown("new1", (uid_t)-1, 42));
	LSTAT("new1");
	TRY("chown SOURCE file", chown("odd", 0, 0));
	LSTAT("odd");
	CAT("odd");
	TRY("chown SOURCE dir", chown("dir/sub", 77, 88));
	LSTAT("dir/sub");
	LSTAT("suid");
	TRY("chown clears setuid", chown("suid", 1, 1));
	LSTAT("suid");
	TRY("chmod setgid file", chmod("new5", 02755));
	TRY("chown clears setgid", chown("new5", 2, 2));
	LSTAT("new5");
	TRY("chmod fifo", chmod("fifo2", 0600));
	LSTAT("fifo2");
	TRY("chmod missing", chmod("missing", 0600));
	TRY("chown missing", chown("missing", 0, 0));
	TRY("fchmodat AT_SYMLINK_NOFOLLOW", fchmodat(AT_FDCWD, "sl2", 0600, AT_SYMLINK_NOFOLLOW));
}

static void utimes_(void)
{
	struct timespec exact[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
	struct timespec omit_a[2] = { { 0, UTIME_OMIT }, { 1500000000, 500000000 } };
	struct timespec now_m[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };
	struct timespec omit_both[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	int fd;

	TRY("utimensat exact", utimensat(AT_FDCWD, "new1", exact, 0));
	times_line("times exact", "new1", true);
	TRY("utimensat UTIME_OMIT atime", utimensat(AT_FDCWD, "new1", omit_a, 0));
	times_line("times after UTIME_OMIT", "new1", true);
	TRY("utimensat both UTIME_OMIT", utimensat(AT_FDCWD, "new1", omit_both, 0));
	times_line("times after both UTIME_OMIT", "new1", true);
	TRY("utimensat UTIME_NOW mtime", utimensat(AT_FDCWD, "new1", now_m, 0));
	recent_line("recent after UTIME_NOW mtime", "new1");
	TRY("utimensat NULL", utimensat(AT_FDCWD, "new1", NULL, 0));
	recent_line("recent after NULL", "new1");
	TRY("utimensat SOURCE file", utimensat(AT_FDCWD, "exe", exact, 0));
	times_line("times SOURCE file", "exe", true);
	CAT("exe");
	TRY("utimensat SOURCE dir", utimensat(AT_FDCWD, "dir/sub", exact, 0));
	times_line("times SOURCE dir", "dir/sub", true);
	TRY("utimensat symlink NOFOLLOW", utimensat(AT_FDCWD, "sl2", exact, AT_SYMLINK_NOFOLLOW));
	times_line("times symlink", "sl2", false);
	TRY("utimensat missing", utimensat(AT_FDCWD, "missing", exact, 0));
	TRY("utimensat bad nsec", utimensat(AT_FDCWD, "new1", (struct timespec[2]){ { 0, 2000000000 }, { 0, 0 } }, 0));
	fd = xopen("open t1 for futimens", "t1", O_RDWR, 0);
	TRY("futimens", futimens(fd, exact));
	times_line("times futimens", "t1", true);
	/* mtime follows changes to the content. */
	TRY("futimens old", futimens(fd, OLD));
	NUM("write t1 for mtime", write(fd, "w", 1));
	mtime_changed_line("mtime after write", "t1");
	TRY("futimens old again", futimens(fd, OLD));
	TRY("ftruncate t1 for mtime", ftruncate(fd, 10));
	mtime_changed_line("mtime after ftruncate", "t1");
	TRY("futimens old a third time", futimens(fd, OLD));
	TRY("fallocate t1 for mtime", fallocate(fd, 0, 0, 64 * KIB));
	mtime_changed_line("mtime after fallocate", "t1");
	xclose(&fd);
	TRY("utimensat old on SOURCE file", utimensat(AT_FDCWD, "app", OLD, 0));
	fd = open("app", O_WRONLY | O_APPEND | O_CLOEXEC);
	NUM("append app for mtime", write(fd, "x", 1));
	xclose(&fd);
	mtime_changed_line("mtime after append", "app");
	TRY("utimensat old on dir", utimensat(AT_FDCWD, "dir/sub", OLD, 0));
	write_file("dir/sub/mt", "x");
	mtime_changed_line("dir mtime after create", "dir/sub");
	TRY("utimensat old on dir again", utimensat(AT_FDCWD, "dir/sub", OLD, 0));
	TRY("unlink for dir mtime", unlink("dir/sub/mt"));
	mtime_changed_line("dir mtime after unlink", "dir/sub");
	TRY("utimensat old on SOURCE dir", utimensat(AT_FDCWD, "dir", OLD, 0));
	TRY("rename in SOURCE dir", rename("dir/xn", "dir/xn2"));
	mtime_changed_line("dir mtime after rename", "dir");
}

static void fifos_and_sockets(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "sock" };
	int r, w, s, c, a;

	TRY("mkfifo ff", mkfifo("ff", 0640));
	LSTAT("ff");
	TRY("mkfifo existing", mkfifo("ff", 0640));
	TRY("mkfifo over SOURCE file", mkfifo("f1", 0640));
	r = xopen("open ff reader", "ff", O_RDONLY | O_NONBLOCK, 0);
	w = xopen("open ff writer", "ff", O_WRONLY | O_NONBLOCK, 0);
	NUM("write ff", write(w, "pipe", 4));
	read_line("read ff", r, 16);
	xclose(&w);
	read_line("read ff after writer closed", r, 16);
	xclose(&r);
	TRY("open fifo writer without reader", closing(open("ff", O_WRONLY | O_NONBLOCK)));
	r = xopen("open SOURCE fifo reader", "fifo2", O_RDONLY | O_NONBLOCK, 0);
	w = xopen("open SOURCE fifo writer", "fifo2", O_WRONLY | O_NONBLOCK, 0);
	NUM("write SOURCE fifo", write(w, "src", 3));
	read_line("read SOURCE fifo", r, 16);
	xclose(&w);
	xclose(&r);
	TRY("mknod S_IFIFO", mknod("ff2", S_IFIFO | 0600, 0));
	LSTAT("ff2");
	TRY("mknod S_IFREG", mknod("mkreg", S_IFREG | 0600, 0));
	LSTAT("mkreg");
	TRY("mknod S_IFDIR", mknod("mkdir", S_IFDIR | 0600, 0));

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TRY("bind sock", bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	TRY("listen sock", listen(s, 4));
	LSTAT("sock");
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TRY("connect sock", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	a = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	say("accept sock", "%s", a < 0 ? ename(errno) : "OK");
	NUM("send sock", send(c, "ping", 4, 0));
	read_line("recv sock", a, 16);
	xclose(&a);
	xclose(&c);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TRY("bind existing sock", bind(c, (struct sockaddr *)&sa, sizeof(sa)));
	xclose(&c);
	TRY("open sock", closing(open("sock", O_RDONLY)));
	xclose(&s);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	TRY("connect closed sock", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	xclose(&c);
	TRY("rename sock", rename("sock", "sock2"));
	LSTAT("sock2");
	TRY("unlink sock2", unlink("sock2"));
}

static void xattrs(void)
{
	char buf[64];
	int fd;

	TRY("setxattr user.x", setxattr("new1", "user.x", "1", 1, 0));
	xattr_get_line("getxattr user.x", "new1", "user.x");
	TRY("setxattr XATTR_CREATE existing", setxattr("new1", "user.x", "2", 1, XATTR_CREATE));
	TRY("setxattr XATTR_REPLACE missing", setxattr("new1", "user.y", "2", 1, XATTR_REPLACE));
	TRY("setxattr XATTR_REPLACE existing", setxattr("new1", "user.x", "22", 2, XATTR_REPLACE));
	xattr_get_line("getxattr after replace", "new1", "user.x");
	TRY("setxattr empty value", setxattr("new1", "user.empty", "", 0, 0));
	xattr_get_line("getxattr empty value", "new1", "user.empty");
	NUM("getxattr size query", getxattr("new1", "user.x", NULL, 0));
	NUM("getxattr small buffer", getxattr("new1", "user.x", buf, 1));
	xattr_get_line("getxattr missing", "new1", "user.nope");
	xattr_list_line("listxattr new1", "new1");
	NUM("listxattr size query", listxattr("new1", NULL, 0));
	NUM("listxattr small buffer", listxattr("new1", buf, 3));
	TRY("removexattr user.x", removexattr("new1", "user.x"));
	TRY("removexattr again", removexattr("new1", "user.x"));
	xattr_list_line("listxattr after remove", "new1");
	xattr_list_line("listxattr SOURCE xa", "xa");
	xattr_get_line("getxattr SOURCE user.b", "xa", "user.b");
	TRY("setxattr SOURCE user.c", setxattr("xa", "user.c", "three", 5, 0));
	xattr_list_line("listxattr xa after set", "xa");
	xattr_get_line("getxattr xa user.a after copy-up", "xa", "user.a");
	TRY("removexattr SOURCE user.a", removexattr("xa", "user.a"));
	xattr_list_line("listxattr xa after remove", "xa");
	CAT("xa");
	TRY("setxattr dir", setxattr("dir", "user.d", "dir", 3, 0));
	xattr_get_line("getxattr dir", "dir", "user.d");
	TRY("lsetxattr symlink user.", lsetxattr("sl2", "user.s", "s", 1, 0));
	xattr_get_line("lgetxattr symlink", "sl2", "user.s");
	TRY("setxattr through symlink", setxattr("sl2", "user.via", "v", 1, 0));
	xattr_get_line("getxattr target via symlink", "f1", "user.via");
	TRY("setxattr fifo user.", setxattr("fifo2", "user.f", "f", 1, 0));
	TRY("setxattr missing", setxattr("missing", "user.x", "1", 1, 0));
	TRY("setxattr bad namespace", setxattr("new1", "bogus.x", "1", 1, 0));
	{
		char xn[300] = "user.";

		memset(xn + 5, 'a', 251);
		xn[256] = '\0';
		TRY("setxattr name 256 bytes", setxattr("new1", xn, "1", 1, 0));
		xn[255] = '\0';
		TRY("setxattr name 255 bytes", setxattr("new1", xn, "1", 1, 0));
		xattr_get_line("getxattr name 255 bytes", "new1", xn);
	}
	fd = xopen("open new1 for fsetxattr", "new1", O_RDONLY, 0);
	TRY("fsetxattr", fsetxattr(fd, "user.f", "fd", 2, 0));
	xattr_get_line("getxattr after fsetxattr", "new1", "user.f");
	xclose(&fd);
	{
		char big[8192];

		memset(big, 'v', sizeof(big));
		TRY("setxattr 2 KiB value", setxattr("new1", "user.big", big, 2048, 0));
		NUM("getxattr 2 KiB value", getxattr("new1", "user.big", big, sizeof(big)));
	}
}

static void names(void)
{
	char name[300], path[5000];
	int fd;
	size_t i;

	write_file("new\nline", "nl");
	st_line("lstat name with a newline", "new\nline", false);
	cat("cat name with a newline", "new\nline");
	write_file("tab\there", "tab");
	write_file("h\xc3\xa9llo", "utf8");
	write_file("-dash", "dash");
	write_file("back\\slash", "bs");
	write_file(" lead", "lead");
	write_file("trail ", "trail");
	write_file("colon:semi;", "cs");
	write_file("star*?[x]", "glob");
	write_file("\x01\x7f\xff", "bytes");
	write_file("..dots", "dots");
	write_file("...", "three");
	CAT("...");
	TRY("rename with newline", rename("new\nline", "still\nnew line"));
	cat("cat renamed name with a newline", "still\nnew line");
	memset(name, 'n', 255);
	name[255] = '\0';
	fd = xopen("open 255-byte name", name, O_CREAT | O_WRONLY, 0644);
	NUM("write 255-byte name", write(fd, "255", 3));
	xclose(&fd);
	st_line("lstat 255-byte name", name, false);
	cat("cat 255-byte name", name);
	name[254] = 'd';
	TRY("mkdir 255-byte name", mkdir(name, 0755));
	name[254] = 'l';
	TRY("symlink 255-byte name", symlink("f1", name));
	name[254] = 'k';
	TRY("link 255-byte name", link("f1", name));
	name[254] = 'r';
	TRY("rename to 255-byte name", rename("...", name));
	memset(name, 'm', 256);
	name[256] = '\0';
	TRY("open 256-byte name", closing(open(name, O_CREAT | O_WRONLY, 0644)));
	TRY("mkdir 256-byte name", mkdir(name, 0755));
	TRY("symlink 256-byte name", symlink("f1", name));
	TRY("rename to 256-byte name", rename("..dots", name));
	TRY("stat 256-byte name", stat(name, &(struct stat){ 0 }));
	TRY("link 256-byte name", link("f1", name));
	TRY("mkfifo 256-byte name", mkfifo(name, 0644));
	/* Names of SOURCE as long as they can be, removed and renamed. */
	memset(name, 'L', 255);
	name[255] = '\0';
	st_line("lstat 255-byte SOURCE name", name, false);
	if (known()) {
		TRY("unlink 255-byte SOURCE name", unlink(name));
		st_line("lstat unlinked 255-byte SOURCE name", name, false);
		memset(name, 'M', 255);
		TRY("rename 255-byte SOURCE name away", rename(name, "from-long"));
		st_line("lstat renamed 255-byte SOURCE name", name, false);
		CAT("from-long");
	}
	/* A path longer than PATH_MAX. */
	for (i = 0; i + 2 < sizeof(path); i += 2)
		memcpy(path + i, "./", 2);
	path[i] = '\0';
	TRY("stat path over PATH_MAX", stat(path, &(struct stat){ 0 }));
	LS(".");
}

static void deep(void)
{
	char path[4096];
	size_t len;
	int i, bad = 0;
	int fd;

	strcpy(path, "deep");
	TRY("mkdir deep", mkdir(path, 0755));
	for (i = 1; i <= 50; i++) {
		len = strlen(path);
		snprintf(path + len, sizeof(path) - len, "/d%02d", i);
		if (mkdir(path, 0755) < 0)
			bad++;
	}
	say("mkdir 50 levels", "%d failed", bad);
	len = strlen(path);
	strcpy(path + len, "/leaf");
	fd = xopen("create at depth 50", path, O_CREAT | O_WRONLY, 0644);
	NUM("write at depth 50", write(fd, "bottom", 6));
	xclose(&fd);
	cat("cat at depth 50", path);
	st_line("lstat at depth 50", path, false);
	path[len] = '\0';
	ls_line("ls depth 50", path, false);
	/* The same walk, one openat at a time. */
	{
		int d = open("deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n;
		char comp[16];

		for (i = 1, bad = 0; i <= 50 && d >= 0; i++) {
			snprintf(comp, sizeof(comp), "d%02d", i);
			n = openat(d, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(d);
			d = n;
		}
		n = d < 0 ? -1 : openat(d, "leaf", O_RDONLY | O_CLOEXEC);
		fcat("openat walk to depth 50", n);
		if (n >= 0)
			close(n);
		if (d >= 0) {
			TRY("mkdirat at depth 50", mkdirat(d, "more", 0700));
			TRY("unlinkat dir without AT_REMOVEDIR", unlinkat(d, "more", 0));
			TRY("unlinkat AT_REMOVEDIR", unlinkat(d, "more", AT_REMOVEDIR));
			close(d);
		}
	}
	/* And a tree in a directory of SOURCE. */
	strcpy(path, "dir/sub");
	for (i = 1, bad = 0; i <= 50; i++) {
		len = strlen(path);
		snprintf(path + len, sizeof(path) - len, "/s%02d", i);
		if (mkdir(path, 0755) < 0)
			bad++;
	}
	say("mkdir 50 levels in SOURCE dir", "%d failed", bad);
	TRY("rmdir depth 50 non-empty", rmdir("deep/d01"));
	/* rm -r from the bottom. */
	strcpy(path, "deep");
	for (i = 1; i <= 50; i++) {
		len = strlen(path);
		snprintf(path + len, sizeof(path) - len, "/d%02d", i);
	}
	len = strlen(path);
	strcpy(path + len, "/leaf");
	TRY("unlink at depth 50", unlink(path));
	path[len] = '\0';
	for (bad = 0; strcmp(path, "deep") != 0;) {
		if (rmdir(path) < 0)
			bad++;
		*strrchr(path, '/') = '\0';
	}
	say("rmdir 50 levels", "%d failed", bad);
	TRY("rmdir deep", rmdir("deep"));
	LSTAT("deep");
}

static void many(void)
{
	char name[64];
	int i, bad = 0, fd;
	DIR *d;
	struct dirent *e;
	long pos[3] = { 0, 0, 0 };
	char first[3][NAME_MAX + 1] = { "", "", "" };
	int k;

	TRY("mkdir many", mkdir("many", 0755));
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "many/entry-%04d", i);
		fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			bad++;
		else
			close(fd);
	}
	say("create 2000 entries", "%d failed", bad);
	LS("many");
	STAT("many/entry-1999");
	/* telldir/seekdir: a position read back gives the same entries. */
	d = opendir("many");
	if (!d) {
		say("opendir many", "%s", ename(errno));
	} else {
		bool armed = false;

		/* Remember the position after entries 8, 701 and 1801, and
		 * the name that follows each. */
		for (i = 0, k = 0; (e = readdir(d));) {
			if (armed) {
				snprintf(first[k], sizeof(first[k]), "%s", e->d_name);
				k++;
				armed = false;
			}
			i++;
			if (k < 3 && (i == 8 || i == 701 || i == 1801)) {
				pos[k] = telldir(d);
				armed = true;
			}
		}
		say("readdir many count", "%d", i);
		for (k = 2; k >= 0; k--) {
			char key[64];

			seekdir(d, pos[k]);
			e = readdir(d);
			snprintf(key, sizeof(key), "seekdir many back to %d", k);
			say(key, "%s", e && !strcmp(e->d_name, first[k]) ? "same entry" : "different entry");
		}
		rewinddir(d);
		for (i = 0; readdir(d); i++)
			;
		say("readdir many after rewinddir", "%d", i);
		closedir(d);
	}
	for (i = 0, bad = 0; i < 2000; i += 2) {
		snprintf(name, sizeof(name), "many/entry-%04d", i);
		if (unlink(name) < 0)
			bad++;
	}
	say("unlink 1000 entries", "%d failed", bad);
	LS("many");
	/* Entries removed while a directory is open are not listed again
	 * after a rewind. */
	d = known() ? opendir("many") : NULL;
	if (d) {
		for (i = 0; i < 10; i++)
			readdir(d);
		unlink("many/entry-0001");
		rewinddir(d);
		for (i = 0; readdir(d); i++)
			;
		say("readdir after unlink and rewinddir", "%d", i);
		closedir(d);
	} else {
		unlink("many/entry-0001");
	}
	/* What a later opendir lists. */
	ls_line("ls many after unlink and rewinddir", "many", false);
	LSTAT("many/entry-0001");
	/* seekdir in a small directory of SOURCE. */
	d = opendir("dir");
	if (d) {
		long p;
		char a[300] = "", b[300] = "";

		readdir(d);
		p = telldir(d);
		for (i = 0; i < 3 && (e = readdir(d)); i++)
			strcat(a, e->d_name), strcat(a, "/");
		seekdir(d, p);
		for (i = 0; i < 3 && (e = readdir(d)); i++)
			strcat(b, e->d_name), strcat(b, "/");
		say("seekdir dir replays", "%s", strcmp(a, b) == 0 ? "yes" : "no");
		closedir(d);
	}
	TRY("opendir of a file", opendir_step("f1"));
	TRY("opendir of a symlink to a dir", opendir_step("sdir"));
	TRY("opendir missing", opendir_step("missing"));
	ls_line("ls types .", ".", true);
}

static void locks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	int fd = xopen("open new6 for locks", "new6", O_RDWR, 0);

	TRY("F_SETLK write lock", fcntl(fd, F_SETLK, &fl));
	fl.l_type = F_RDLCK;
	TRY("F_GETLK", fcntl(fd, F_GETLK, &fl));
	say("F_GETLK type", "%s", fl.l_type == F_UNLCK ? "F_UNLCK" : "locked");
	TRY("flock LOCK_EX", flock(fd, LOCK_EX));
	TRY("flock LOCK_UN", flock(fd, LOCK_UN));
	TRY("F_OFD_SETLK", fcntl(fd, F_OFD_SETLK, &(struct flock){ .l_type = F_WRLCK }));
	xclose(&fd);
}

/* Writes through one descriptor seen through another opened before. */
static void coherence(void)
{
	int r, w;

	r = xopen("open coh for reading", "coh", O_RDONLY, 0);
	read_line("read coh", r, 64);
	w = xopen("open coh for writing", "coh", O_WRONLY, 0);
	NUM("pwrite coh", pwrite(w, "CHANGED!", 8, 0));
	pread_line("pread coh through the older fd", r, 64, 0);
	fst_line("fstat coh through the older fd", r);
	xclose(&w);
	xclose(&r);
	r = xopen("open coh2 for reading", "coh2", O_RDONLY, 0);
	TRY("truncate coh2 by path", truncate("coh2", 3));
	pread_line("pread coh2 after truncate", r, 64, 0);
	fst_line("fstat coh2 through the older fd", r);
	xclose(&r);
	{
		char *m;

		r = open("coh3", O_RDONLY | O_CLOEXEC);
		m = r < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
		say("mmap coh3", "%s", m == MAP_FAILED ? ename(errno) : "OK");
		w = open("coh3", O_WRONLY | O_CLOEXEC);
		NUM("pwrite coh3", pwrite(w, "NEW", 3, 0));
		if (m != MAP_FAILED) {
			if (known())
				say("mapping of coh3 sees the write", "\"%.3s\"", m);
			munmap(m, 4096);
		}
		xclose(&w);
		xclose(&r);
	}
	/* A write-only open, the file's only one (afs-fuse writes it past
	 * the page cache), and a reader opened while it lasts. */
	{
		char *m;

		w = xopen("open coh4 write-only, new", "coh4", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		NUM("pwrite coh4", pwrite(w, "one\n", 4, 0));
		r = xopen("open coh4 for reading while written", "coh4", O_RDONLY, 0);
		pread_line("pread coh4", r, 64, 0);
		NUM("pwrite coh4 again", pwrite(w, "two\n", 4, 0));
		pread_line("pread coh4 sees the second write", r, 64, 0);
		fst_line("fstat coh4 through the reader", r);
		m = r < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, r, 0);
		say("private mapping of coh4", "%s", m == MAP_FAILED ? ename(errno) : "OK");
		if (m != MAP_FAILED) {
			say("private mapping of coh4 reads", "\"%.3s\"", m);
			munmap(m, 4096);
		}
		m = r < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
		say("shared mapping of coh4 while written", "%s", m == MAP_FAILED ? ename(errno) : "OK");
		if (m != MAP_FAILED) {
			NUM("pwrite coh4 a third time", pwrite(w, "333\n", 4, 0));
			say("shared mapping of coh4 sees the third write", "\"%.3s\"", m);
			munmap(m, 4096);
		}
		xclose(&w);
		xclose(&r);
		r = xopen("open coh4 after the writer", "coh4", O_RDONLY, 0);
		m = r < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, r, 0);
		say("shared mapping of coh4 after the writer", "%s", m == MAP_FAILED ? ename(errno) : "OK");
		if (m != MAP_FAILED) {
			say("shared mapping of coh4 reads", "\"%.3s\"", m);
			munmap(m, 4096);
		}
		xclose(&r);
	}
}

static void direct(void)
{
	void *buf;
	int fd;

	if (posix_memalign(&buf, 4096, 8192))
		return;
	memset(buf, 'D', 8192);
	fd = xopen("open O_DIRECT", "direct", O_CREAT | O_RDWR | O_DIRECT, 0644);
	NUM("write O_DIRECT", write(fd, buf, 8192));
	memset(buf, 0, 8192);
	NUM("pread O_DIRECT", pread(fd, buf, 4096, 4096));
	say("pread O_DIRECT data", "%c", ((char *)buf)[0] ? ((char *)buf)[0] : '0');
	xclose(&fd);
	fd = xopen("open O_DIRECT SOURCE", "big", O_RDONLY | O_DIRECT, 0);
	NUM("pread O_DIRECT SOURCE", pread(fd, buf, 4096, 0));
	xclose(&fd);
	free(buf);
	CAT("direct");
}

static int run_script(const char *dir)
{
	if (chdir(dir) < 0) {
		fprintf(stderr, "posix-ops: cannot enter '%s': %s\n", dir, strerror(errno));
		return 2;
	}
	umask(022);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fixture();
	open_flags();
	offsets();
	truncation();
	sparse_and_fallocate();
	copy_range();
	mapping();
	syncs();
	unlinking();
	renaming();
	directories();
	links();
	symlinks();
	modes_and_owners();
	utimes_();
	fifos_and_sockets();
	xattrs();
	names();
	deep();
	many();
	locks();
	coherence();
	direct();
	LS(".");
	fprintf(stderr, "posix-ops: %d steps\n", steps);
	return 0;
}

/* ---- the state a tree is left in ------------------------------------------------ */

static char **tree_lines;
static size_t tree_n, tree_cap;

static int tree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct sb b = { .n = 0 };
	char *line;

	(void)flag;
	(void)ftw;
	/* Each name escaped, the slashes between them as they are. */
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');

		sb_esc(&b, p, slash ? (size_t)(slash - p) : strlen(p));
		if (!slash)
			break;
		sb_printf(&b, "/");
		p = slash + 1;
	}
	sb_printf(&b, " ");
	sb_stat(&b, st);
	if (S_ISREG(st->st_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char buf[65536];
		uint64_t h = FNV0;
		ssize_t n = 0;

		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			h = fnv(h, buf, (size_t)n);
		if (fd < 0 || n < 0)
			sb_printf(&b, " %s", ename(errno));
		else
			sb_printf(&b, " fnv=%016llx", (unsigned long long)h);
		if (fd >= 0)
			close(fd);
	} else if (S_ISLNK(st->st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof(t));

		sb_printf(&b, " -> ");
		sb_esc(&b, t, n < 0 ? 0 : (size_t)n);
	}
	line = strndup(b.s, b.n);
	if (tree_n == tree_cap) {
		tree_cap = tree_cap ? 2 * tree_cap : 1024;
		tree_lines = realloc(tree_lines, tree_cap * sizeof(*tree_lines));
	}
	tree_lines[tree_n++] = line;
	return 0;
}

/* Every entry below DIR, sorted: path, the compared stat fields, and a
 * hash of a file's content or a link's target. */
static int tree(const char *dir)
{
	size_t i;

	if (chdir(dir) < 0 || nftw(".", tree_one, 64, FTW_PHYS) < 0) {
		fprintf(stderr, "posix-ops: cannot walk '%s': %s\n", dir, strerror(errno));
		return 2;
	}
	if (tree_n)
		qsort(tree_lines, tree_n, sizeof(*tree_lines), by_str);
	for (i = 0; i < tree_n; i++) {
		printf("%s\n", tree_lines[i]);
		free(tree_lines[i]);
	}
	free(tree_lines);
	return 0;
}

/* ---- single ops, for the checks that are not compared ------------------------- */

static int report(long long r)
{
	printf("%s\n", r < 0 ? ename(errno) : "OK");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "run"))
		return run_script(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "tree"))
		return tree(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "rename2")) {
		unsigned flags = !strcmp(argv[4], "noreplace") ? RENAME_NOREPLACE
			       : !strcmp(argv[4], "exchange") ? RENAME_EXCHANGE : 0;

		return report(renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags));
	}
	if (argc == 5 && !strcmp(argv[1], "setxattr"))
		return report(setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0));
	if (argc == 4 && !strcmp(argv[1], "removexattr"))
		return report(removexattr(argv[2], argv[3]));
	if (argc == 4 && !strcmp(argv[1], "getxattr")) {
		char buf[256];
		ssize_t n = getxattr(argv[2], argv[3], buf, sizeof(buf));

		if (n < 0)
			return report(n);
		printf("%.*s\n", (int)n, buf);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "mknod")) {
		const char *t = argv[3];
		mode_t m = !strcmp(t, "chr") ? S_IFCHR : !strcmp(t, "blk") ? S_IFBLK
			 : !strcmp(t, "fifo") ? S_IFIFO : !strcmp(t, "sock") ? S_IFSOCK : S_IFREG;

		return report(mknod(argv[2], m | 0644, makedev(1, 3)));
	}
	fprintf(stderr, "usage: posix-ops run DIR | tree DIR | rename2 FROM TO 0|noreplace|exchange |"
			" setxattr PATH NAME VALUE | getxattr PATH NAME | removexattr PATH NAME |"
			" mknod PATH chr|blk|fifo|sock|reg\n");
	return 2;
}
