/* diff.c - afs-audit diff: what a delta changes in SOURCE.
 *
 * A delta in the OCI layer format: a file or directory as itself, a deleted
 * name N as .wh.N, a directory whose SOURCE content is gone holding
 * .wh..wh..opq.  Each changed path is one line, A (added), M (content or
 * mode changed), D (deleted) or T (type changed), sorted by path.  Neither
 * tree is modified; no symbolic link is followed (every directory is
 * entered with O_NOFOLLOW, every file opened with it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "base.h"
#include "conflict.h"
#include "deltafmt.h"
#include "diff.h"
#include "util.h"


struct change {
	char kind;	/* A M D T, or C: SOURCE changed it since its base too */
	char delta;	/* with C: what the delta does, A M D T */
	enum base_change source;	/* with C: what SOURCE did */
	char *path;
};

struct changes {
	struct change *v;
	size_t n, cap;
	int errors;
};

static void add(struct changes *c, char kind, const char *path)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	c->v[c->n].kind = kind;
	c->v[c->n].delta = 0;
	c->v[c->n].source = BASE_SAME;
	c->v[c->n++].path = xstrdup(path);
}

static int open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", name);
}

/* Everything below the SOURCE directory SDFD (path REL), as KIND. */
static void all_below(struct changes *c, int sdfd, const char *rel, char kind, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(sdfd);

	if (fd < 0 || depth > PATH_MAX / 2 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char *p;
		int cd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = join(rel, de->d_name);
		add(c, kind, p);
		cd = open_dir_at(dirfd(d), de->d_name);
		if (cd >= 0) {
			all_below(c, cd, p, kind, depth + 1);
			close(cd);
		}
		free(p);
	}
	closedir(d);
}

/* Walk the delta directory DDFD (path REL) against SOURCE's SDFD (-1: it
 * has no such directory). */
static void walk(struct changes *c, int ddfd, int sdfd, const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(ddfd);
	bool opaque = faccessat(ddfd, DELTA_OPAQUE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

	if (fd < 0 || depth > PATH_MAX / 2 || !(d = fdopendir(fd))) {
		error("cannot read the delta at '%s': %m", rel);
		c->errors++;
		if (fd >= 0)
			close(fd);
		return;
	}
	/* An opaque directory: what SOURCE had there and the delta has not
	 * is gone. */
	if (opaque && sdfd >= 0) {
		DIR *s;
		int sfd = dup(sdfd);

		if (sfd >= 0 && (s = fdopendir(sfd))) {
			struct dirent *se;

			while ((se = readdir(s))) {
				struct stat st;
				char *p;

				if (!strcmp(se->d_name, ".") || !strcmp(se->d_name, "..") ||
				    fstatat(ddfd, se->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
					continue;
				p = join(rel, se->d_name);
				add(c, 'D', p);
				free(p);
			}
			closedir(s);
		} else if (sfd >= 0) {
			close(sfd);
		}
	}
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		struct stat dst, sst;
		bool in_source;
		char *p;

		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, DELTA_OPAQUE))
			continue;
		if (!strncmp(name, DELTA_WH_PREFIX, sizeof(DELTA_WH_PREFIX) - 1)) {
			const char *target = name + sizeof(DELTA_WH_PREFIX) - 1;

			/* A copy-up cut short is no change; afs's own files
			 * are none either. */
			if (!strncmp(name, DELTA_TMP_PREFIX, sizeof(DELTA_TMP_PREFIX) - 1) ||
			    !strncmp(name, DELTA_META_PREFIX, sizeof(DELTA_META_PREFIX) - 1))
				continue;
			if (sdfd >= 0 && fstatat(sdfd, target, &sst, AT_SYMLINK_NOFOLLOW) == 0) {
				p = join(rel, target);
				add(c, 'D', p);
				free(p);
			}
			continue;
		}
		if (fstatat(ddfd, name, &dst, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		in_source = !opaque && sdfd >= 0 &&
			    fstatat(sdfd, name, &sst, AT_SYMLINK_NOFOLLOW) == 0;
		p = join(rel, name);
		if (!in_source && opaque && sdfd >= 0 &&
		    fstatat(sdfd, name, &sst, AT_SYMLINK_NOFOLLOW) == 0) {
			/* Replaced under an opaque directory: the old one went. */
			add(c, (sst.st_mode & S_IFMT) == (dst.st_mode & S_IFMT) ? 'M' : 'T', p);
			if (S_ISDIR(dst.st_mode)) {
				int cd = open_dir_at(ddfd, name);

				if (cd >= 0) {
					all_below(c, cd, p, 'A', depth + 1);
					close(cd);
				}
			}
		} else if (!in_source) {
			add(c, 'A', p);
			if (S_ISDIR(dst.st_mode)) {
				int cd = open_dir_at(ddfd, name);

				if (cd >= 0) {
					walk(c, cd, -1, p, depth + 1);
					close(cd);
				}
			}
		} else if ((sst.st_mode & S_IFMT) != (dst.st_mode & S_IFMT)) {
			add(c, 'T', p);
			if (S_ISDIR(dst.st_mode)) {
				int cd = open_dir_at(ddfd, name);

				if (cd >= 0) {
					walk(c, cd, -1, p, depth + 1);
					close(cd);
				}
			}
		} else if (S_ISDIR(dst.st_mode)) {
			int cd = open_dir_at(ddfd, name), cs = open_dir_at(sdfd, name);

			if ((sst.st_mode & 07777) != (dst.st_mode & 07777))
				add(c, 'M', p);
			if (cd >= 0)
				walk(c, cd, cs, p, depth + 1);
			if (cd >= 0)
				close(cd);
			if (cs >= 0)
				close(cs);
		} else if ((sst.st_mode & 07777) != (dst.st_mode & 07777) ||
			   ((S_ISREG(dst.st_mode) || S_ISLNK(dst.st_mode)) &&
			    !same_entry(sdfd, name, ddfd, name))) {
			add(c, 'M', p);
		}
		free(p);
	}
	closedir(d);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

/* The directory holding PATH (/-rooted) under ROOT, entered one component
 * at a time without following links, and PATH's last component in BUF;
 * -1 when there is none. */
static int parent_of(int root, const char *path, char buf[PATH_MAX], char **last)
{
	char *save = NULL, *comp, *next;
	int dfd = dup(root);

	snprintf(buf, PATH_MAX, "%s", path);
	comp = strtok_r(buf, "/", &save);
	while (dfd >= 0 && comp && (next = strtok_r(NULL, "/", &save))) {
		int nd = open_dir_at(dfd, comp);

		close(dfd);
		dfd = nd;
		comp = next;
	}
	if (dfd >= 0 && !comp) {
		close(dfd);
		dfd = -1;
	}
	*last = comp;
	return dfd;
}

/* An fd for PATH (/-rooted) under ROOT, never through a link; -1 when
 * there is none or it is no regular file. */
static int open_file(int root, const char *path)
{
	char buf[PATH_MAX], *last;
	int dfd = parent_of(root, path, buf, &last), fd;
	struct stat st;

	if (dfd < 0)
		return -1;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = openat(dfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* lstat of PATH under ROOT, never through a link; false when none. */
static bool stat_path(int root, const char *path, struct stat *st)
{
	char buf[PATH_MAX], *last;
	int dfd = parent_of(root, path, buf, &last);
	bool ok;

	if (dfd < 0)
		return false;
	ok = fstatat(dfd, last, st, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return ok;
}

/* What --stat and -u say of a change beyond its lines: the size of a
 * binary file, the mode of a new entry or a changed one, and the modes a
 * review must not miss.  Empty when there is nothing to say. */
static void describe(const struct change *ch, int sroot, int droot, bool binary,
		     char *out, size_t size)
{
	struct stat os, ns;
	bool has_o = ch->kind != 'A' && stat_path(sroot, ch->path, &os);
	bool has_n = ch->kind != 'D' && stat_path(droot, ch->path, &ns);
	size_t n = 0;

	out[0] = '\0';
	if (binary && has_o && has_n && S_ISREG(os.st_mode) && S_ISREG(ns.st_mode))
		n += (size_t)snprintf(out + n, size - n, " binary %lld -> %lld bytes",
				      (long long)os.st_size, (long long)ns.st_size);
	else if (binary && has_n && S_ISREG(ns.st_mode))
		n += (size_t)snprintf(out + n, size - n, " binary %lld bytes", (long long)ns.st_size);
	else if (binary && has_o && S_ISREG(os.st_mode))
		n += (size_t)snprintf(out + n, size - n, " binary %lld bytes", (long long)os.st_size);
	if (!has_n || S_ISLNK(ns.st_mode))
		return;
	if (!has_o || (os.st_mode & S_IFMT) != (ns.st_mode & S_IFMT))
		n += (size_t)snprintf(out + n, size - n, " mode %04o", (unsigned)(ns.st_mode & 07777));
	else if ((os.st_mode & 07777) != (ns.st_mode & 07777))
		n += (size_t)snprintf(out + n, size - n, " mode %04o -> %04o",
				      (unsigned)(os.st_mode & 07777), (unsigned)(ns.st_mode & 07777));
	else
		return;
	if (ns.st_mode & S_ISUID)
		n += (size_t)snprintf(out + n, size - n, " SETUID");
	if (ns.st_mode & S_ISGID)
		n += (size_t)snprintf(out + n, size - n, " SETGID");
	if (ns.st_mode & S_ISVTX)
		n += (size_t)snprintf(out + n, size - n, " STICKY");
	if (ns.st_mode & S_IWOTH)
		n += (size_t)snprintf(out + n, size - n, " WORLD-WRITABLE");
}

/* Run diff(1) on the open files A and B (-1: empty), labelled with PATH;
 * OUT: its output (unified) or, for --stat, only counted. */
static int run_diff(int a, int b, const char *path, const char *la_pre, const char *lb_pre,
		    bool unified, long *plus, long *minus, bool *binary)
{
	int pipefd[2], status;
	pid_t pid;
	FILE *f;
	char *line = NULL, la[PATH_MAX + 16], lb[PATH_MAX + 16], fa[32], fb[32];
	size_t cap = 0;
	ssize_t n;
	int nline;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	snprintf(la, sizeof(la), "%s%s", la_pre, path);
	snprintf(lb, sizeof(lb), "%s%s", lb_pre, path);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		/* The files go to diff as inherited fds: no path is resolved
		 * again, so no link can be followed. */
		int na = a >= 0 ? dup(a) : open("/dev/null", O_RDONLY);
		int nb = b >= 0 ? dup(b) : open("/dev/null", O_RDONLY);

		snprintf(fa, sizeof(fa), "/dev/fd/%d", na);
		snprintf(fb, sizeof(fb), "/dev/fd/%d", nb);
		dup2(pipefd[1], 1);
		execlp("diff", "diff", "-u", "--label", la, "--label", lb, fa, fb, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	*plus = *minus = 0;
	*binary = false;
	for (nline = 0; f && (n = getline(&line, &cap, f)) > 0; nline++) {
		if (unified)
			fwrite(line, 1, (size_t)n, stdout);
		/* The first two lines are the --- and +++ headers. */
		if (nline < 2 && (!strncmp(line, "--- ", 4) || !strncmp(line, "+++ ", 4)))
			continue;
		if (!strncmp(line, "Binary files", 12))
			*binary = true;
		else if (line[0] == '+')
			(*plus)++;
		else if (line[0] == '-')
			(*minus)++;
	}
	free(line);
	if (f)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return -1;
	return 0;
}

/* A base's content, when SOURCE's git repository holds it (as a blob, by
 * the sum the journal recorded): an fd of a memory file, else -1. */
static int base_blob(const char *source, const struct base *b)
{
	char hex[2 * SHA1_LEN + 1], buf[65536];
	int pipefd[2], status, fd;
	ssize_t n;
	pid_t pid;
	bool ok = true;

	if (!b || b->type != 'f' || !b->has_sum)
		return -1;
	base_hex(b->sum, hex);
	fd = memfd_create("afs-base", MFD_CLOEXEC);
	if (fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(null, 2);
		execlp("git", "git", "-C", source, "cat-file", "blob", hex, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while (pid > 0 && (n = read(pipefd[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, buf, (size_t)n) != n) {
			ok = false;
			break;
		}
	}
	close(pipefd[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || !ok || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int find_change(const struct changes *c, size_t n, const char *path)
{
	struct change key = { .path = (char *)path };
	struct change *hit = bsearch(&key, c->v, n, sizeof(*c->v), by_path);

	return hit ? (int)(hit - c->v) : -1;
}

/* Mark C every change that conflicts (CF); a conflict below a change (an
 * entry SOURCE made or changed in a directory the delta deletes or
 * replaces) is a line of its own. */
static void mark_conflicts(struct changes *c, const struct conflicts *cf)
{
	size_t i, n = c->n;

	for (i = 0; i < cf->n; i++) {
		int k = find_change(c, n, cf->v[i].path);

		if (k < 0) {
			add(c, 'C', cf->v[i].path);
			k = (int)c->n - 1;
		}
		c->v[k].kind = 'C';
		c->v[k].delta = cf->v[i].delta;
		c->v[k].source = cf->v[i].source;
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_path);
}

static void put_json(const struct change *ch)
{
	struct abuf b = { 0 };
	char kind[2] = { ch->kind, 0 }, delta[2] = { ch->delta, 0 };

	abuf_add(&b, "{\"path\":", 8);
	json_put_string(&b, ch->path, strlen(ch->path));
	abuf_add(&b, ",\"change\":\"", 11);
	abuf_add(&b, kind, 1);
	abuf_add(&b, "\"", 1);
	if (ch->kind == 'C') {
		const char *src = base_change_name(ch->source);

		abuf_add(&b, ",\"delta\":\"", 10);
		abuf_add(&b, delta, 1);
		abuf_add(&b, "\",\"source\":\"", 12);
		abuf_add(&b, src, strlen(src));
		abuf_add(&b, "\"", 1);
	}
	abuf_add(&b, "}\n", 2);
	fwrite(b.p, 1, b.len, stdout);
	abuf_free(&b);
}

int diff_run(enum diff_mode mode, const char *source, const char *delta)
{
	struct changes c = { 0 };
	struct conflicts cf = { 0 };
	struct base_map *bases = NULL;
	int sroot = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int droot = open(delta, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long tplus = 0, tminus = 0;
	size_t i;
	int r;

	if (sroot < 0)
		die(1, "cannot open source '%s': %m", source);
	if (droot < 0)
		die(1, "cannot open delta '%s': %m", delta);
	r = base_load(droot, &bases);
	if (r < 0)
		die(1, "cannot read the base journal of delta '%s': %s", delta,
		    r == -EPROTO ? "not one this afs-audit knows" : strerror(-r));
	walk(&c, droot, sroot, "/", 0);
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), by_path);
	if (bases) {
		conflict_scan(&cf, bases, droot, sroot);
		mark_conflicts(&c, &cf);
	}
	for (i = 0; i < c.n; i++) {
		const struct change *ch = &c.v[i];
		const char *p = ch->path;
		long plus = 0, minus = 0;
		bool binary = false;
		char kind = ch->kind == 'C' ? ch->delta : ch->kind;

		if (mode == DIFF_NAME_STATUS) {
			printf("%c\t", ch->kind);
			fput_field(stdout, p);
			putchar('\n');
			continue;
		}
		if (mode == DIFF_JSON) {
			put_json(ch);
			continue;
		}
		{
			int a = kind == 'A' && ch->kind != 'C' ? -1 : open_file(sroot, p);
			int b = kind == 'D' ? -1 : open_file(droot, p);
			int o = ch->kind == 'C' ? base_blob(source, base_find(bases, p)) : -1;
			bool fail = false;

			if (mode == DIFF_UNIFIED) {
				char what[192];

				describe(ch, sroot, droot, false, what, sizeof(what));
				printf("%c ", ch->kind);
				fput_field(stdout, p);
				printf("%s\n", what);
				if (ch->kind == 'C')
					printf("(conflict: SOURCE %s since the delta's base; the delta %s;"
					       " %s)\n", conflict_source_words(ch->source),
					       conflict_delta_words(ch->delta),
					       o >= 0 ? "the base, from SOURCE's git repository, "
							"against SOURCE now, then against the delta"
					       : !base_find(bases, p) ? "nothing was there at the base: "
							"SOURCE now against the delta"
						      : "the base's content is not at hand (not in "
							"SOURCE's git repository): SOURCE now against "
							"the delta");
			}
			/* The three sides: what SOURCE did, then what the
			 * delta did, to the base. */
			if (o >= 0 && mode == DIFF_UNIFIED) {
				long p2, m2;
				bool b2;

				fail = run_diff(o, a, p, "base", "source", true, &p2, &m2, &b2) < 0;
				lseek(o, 0, SEEK_SET);
				fail = fail || run_diff(o, b, p, "base", "delta", true, &p2, &m2, &b2) < 0;
			}
			if (!fail && (a >= 0 || b >= 0) && !(o >= 0 && mode == DIFF_UNIFIED))
				fail = run_diff(a, b, p, ch->kind == 'C' ? "source" : "a",
						ch->kind == 'C' ? "delta" : "b", mode == DIFF_UNIFIED,
						&plus, &minus, &binary) < 0;
			if (fail) {
				error("cannot compare '%s' (is diff(1) installed?)", p);
				c.errors++;
			}
			if (mode == DIFF_UNIFIED && a < 0 && b < 0)
				printf("(not a regular file: no content to compare)\n");
			if (a >= 0)
				close(a);
			if (b >= 0)
				close(b);
			if (o >= 0)
				close(o);
		}
		if (mode == DIFF_STAT) {
			char what[192];

			describe(ch, sroot, droot, binary, what, sizeof(what));
			printf(" %c ", ch->kind);
			fput_field(stdout, p);
			if (binary)
				printf(" |%s", what);
			else
				printf(" | +%ld -%ld%s", plus, minus, what);
			if (ch->kind == 'C')
				printf(" (conflict: SOURCE %s, the delta %s)",
				       conflict_source_words(ch->source), conflict_delta_words(ch->delta));
			putchar('\n');
			tplus += plus;
			tminus += minus;
		}
	}
	if (mode == DIFF_STAT)
		printf(" %zu paths changed, %ld insertions(+), %ld deletions(-)\n", c.n, tplus, tminus);
	if (!bases && mode != DIFF_NAME_STATUS && mode != DIFF_JSON && c.n)
		printf("(the delta has no base journal: what SOURCE changed since cannot be told)\n");
	for (i = 0; i < c.n; i++)
		free(c.v[i].path);
	free(c.v);
	conflicts_free(&cf);
	base_map_free(bases);
	close(sroot);
	close(droot);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write the output: %m");
		return 1;
	}
	return c.errors ? 1 : 0;
}
