/* attack - one attack on an afs sandbox per run, made with raw system calls.
 *
 *   attack SUBCOMMAND ARG...
 *
 * Run inside the sandbox (copied into the codebase, run as
 * /workspace/tools/attack) by the tests/t500N-sec-*.sh suites.  Each
 * subcommand makes one attack and prints ONE line: the errno name of each
 * step ("OK" on success, as tests/helpers/probe does), "DATA:<bytes>" for
 * what a read got (escaped), or "LEAK: ..." with what it got.  The tests
 * compare that line exactly.  The host-* subcommands prepare fixtures on
 * the host side (deep trees, many files, a listening socket, a key).
 *
 * Exit status 0 when the attack was made (whatever it found), 2 on bad
 * usage, 1 when a set-up step outside the attack failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static const char *en(int e)
{
	const char *s;

	if (e == 0)
		return "OK";
	s = strerrorname_np(e);
	return s ? s : "E?";
}

/* The result of a call returning < 0 on failure with errno set. */
static const char *res(long r)
{
	return r < 0 ? en(errno) : "OK";
}

static void usage(void)
{
	fprintf(stderr, "usage: attack SUBCOMMAND ARG... (see attack.c)\n");
	exit(2);
}

/* Bytes as one printable line: \n, \\ and non-printables escaped. */
static void put_escaped(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Read FD to the end (at most 64 KiB kept); returns the byte count or -errno. */
static ssize_t slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0)
			return -errno;
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
		if (n == cap)
			return (ssize_t)n;
	}
}

/* Print what open+read of FD gave: "DATA:<first 80 bytes>" or the errno. */
static void print_fd_content(int fd)
{
	static char buf[65536];
	ssize_t n;

	if (fd < 0) {
		printf("%s", en(errno));
		return;
	}
	n = slurp(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		printf("read:%s", en((int)-n));
		return;
	}
	fputs("DATA:", stdout);
	put_escaped(stdout, buf, n > 80 ? 80 : (size_t)n);
}

static int open_flags(const char *spec)
{
	char *s = strdup(spec), *tok, *save = NULL;
	int fl = 0, acc = O_RDONLY;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "r"))
			acc = O_RDONLY;
		else if (!strcmp(tok, "w"))
			acc = O_WRONLY;
		else if (!strcmp(tok, "rw"))
			acc = O_RDWR;
		else if (!strcmp(tok, "trunc"))
			fl |= O_TRUNC;
		else if (!strcmp(tok, "creat"))
			fl |= O_CREAT;
		else if (!strcmp(tok, "excl"))
			fl |= O_EXCL;
		else if (!strcmp(tok, "append"))
			fl |= O_APPEND;
		else if (!strcmp(tok, "path"))
			fl |= O_PATH;
		else if (!strcmp(tok, "dir"))
			fl |= O_DIRECTORY;
		else if (!strcmp(tok, "nofollow"))
			fl |= O_NOFOLLOW;
		else
			usage();
	}
	free(s);
	return fl | acc;
}

static int xopen(const char *p, int fl)
{
	int fd = open(p, fl | O_CLOEXEC, 0644);

	if (fd < 0) {
		fprintf(stderr, "attack: set-up: open %s: %s\n", p, strerror(errno));
		exit(1);
	}
	return fd;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- listing --------------------------------------------------------------- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name of DIR by getdents64, without . and .., sorted; NULL + errno. */
static char **list_dir(const char *dir, size_t *count)
{
	static char buf[1 << 16];
	char **names = NULL;
	size_t n = 0, cap = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (r < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (void *)(buf + off);

			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				names = realloc(names, cap * sizeof(*names));
			}
			names[n++] = strdup(d->d_name);
		}
	}
	close(fd);
	/* Before qsort, whose non-null argument lets the compiler drop a
	 * later test. */
	if (!names)
		names = calloc(1, sizeof(*names));
	qsort(names, n, sizeof(*names), cmpstr);
	*count = n;
	return names;
}

static void cmd_ls(const char *dir)
{
	size_t n, i;
	char **names = list_dir(dir, &n);

	if (!names) {
		printf("%s\n", en(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		if (i)
			putchar(' ');
		put_escaped(stdout, names[i], strlen(names[i]));
	}
	putchar('\n');
}

/* ---- io_uring, by hand ----------------------------------------------------- */

static void cmd_iouring_cat(const char *path)
{
	struct io_uring_params p;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	void *sq, *cq;
	int fd, r;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		printf("setup:%s\n", en(errno));
		return;
	}
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		printf("mmap:%s\n", en(errno));
		return;
	}
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);

	unsigned t = *sq_tail, i = t & *sq_mask;

	memset(&sqes[i], 0, sizeof(sqes[i]));
	sqes[i].opcode = IORING_OP_OPENAT;
	sqes[i].fd = AT_FDCWD;
	sqes[i].addr = (uint64_t)(uintptr_t)path;
	sqes[i].open_flags = O_RDONLY;
	sq_array[i] = i;
	__atomic_store_n(sq_tail, t + 1, __ATOMIC_RELEASE);
	r = (int)syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (r < 0) {
		printf("enter:%s\n", en(errno));
		return;
	}
	unsigned h = __atomic_load_n(cq_head, __ATOMIC_ACQUIRE);

	if (h == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
		printf("no completion\n");
		return;
	}
	r = cqes[h & *cq_mask].res;
	__atomic_store_n(cq_head, h + 1, __ATOMIC_RELEASE);
	if (r < 0) {
		printf("%s\n", en(-r));
		return;
	}
	print_fd_content(r);
	putchar('\n');
}

/* ---- keys ------------------------------------------------------------------ */

static long keyctl5(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return syscall(SYS_keyctl, op, a, b, c, d);
}

/* Look for a "user" key DESC in each keyring we hold; read it if found. */
static void cmd_key_search(const char *desc)
{
	static const struct {
		const char *name;
		long id;
	} rings[] = {
		{ "session", KEY_SPEC_SESSION_KEYRING },
		{ "user", KEY_SPEC_USER_KEYRING },
		{ "user-session", KEY_SPEC_USER_SESSION_KEYRING },
		{ "process", KEY_SPEC_PROCESS_KEYRING },
		{ "thread", KEY_SPEC_THREAD_KEYRING },
	};
	size_t i;

	for (i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
		long k = keyctl5(KEYCTL_SEARCH, (unsigned long)rings[i].id,
				 (unsigned long)"user", (unsigned long)desc, 0);

		if (i)
			putchar(' ');
		if (k < 0) {
			printf("%s=%s", rings[i].name, en(errno));
			continue;
		}
		char buf[256];
		long n = keyctl5(KEYCTL_READ, (unsigned long)k, (unsigned long)buf, sizeof(buf), 0);

		if (n < 0) {
			printf("%s=found,read:%s", rings[i].name, en(errno));
		} else {
			printf("LEAK:%s=", rings[i].name);
			put_escaped(stdout, buf, (size_t)(n > (long)sizeof(buf) ? (long)sizeof(buf) : n));
		}
	}
	putchar('\n');
}

/* ---- the race -------------------------------------------------------------- */

static volatile sig_atomic_t stop_now;
static const char *marker;
static double deadline;
static long unexpected_printed;

static bool expired(void)
{
	return stop_now || now_ms() >= deadline;
}

static void leak(int who, const char *fmt, ...)
{
	va_list ap;

	printf("LEAK: racer %d: ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A result R (0 or an errno) outside the expected set: count it, print
 * the first few. */
static void unexpected(int who, long *count, const char *what, const char *path, int r)
{
	(*count)++;
	if (unexpected_printed++ < 20) {
		printf("UNEXPECTED: racer %d: %s %s: %s\n", who, what, path, en(r));
		fflush(stdout);
	}
}

static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

/* Open PATH for reading; any success on a hidden path is a leak. */
static void must_not_open(int who, long *bad, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		char buf[128];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		leak(who, "opened %s: %.60s", path, buf);
		return;
	}
	if (errno != ENOENT)
		unexpected(who, bad, "open", path, errno);
}

static bool bytes_hold_marker(const char *buf, size_t n)
{
	return memmem(buf, n, marker, strlen(marker)) != NULL;
}

static void racer(int who)
{
	const char *hidden[] = { "/workspace/out/.env", "/workspace/out/.env.local",
				 "/workspace/secret.txt", "/workspace/hidden/x",
				 "/workspace/out/hidden/x", "/workspace/docs/.env" };
	char a[256], b[300];
	long ops = 0, bad = 0, r;
	int e, i;

	srand((unsigned)(getpid() * 7919 + who));
	while (!expired()) {
		ops++;
		switch (who) {
		case 0:	/* create, rename onto hidden names, rename, unlink */
			snprintf(a, sizeof(a), "/workspace/out/r0-%ld", ops % 8);
			r = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (r < 0) {
				unexpected(who, &bad, "create", a, errno);
				break;
			}
			if (write((int)r, "x\n", 2) != 2)
				unexpected(who, &bad, "write", a, errno);
			close((int)r);
			e = err_of(rename(a, "/workspace/out/.env"));
			if (e == 0)
				leak(who, "renamed %s onto /out/.env", a);
			else if (e != EACCES)
				unexpected(who, &bad, "rename onto", "/workspace/out/.env", e);
			e = err_of(rename(a, "/workspace/out/.env.local"));
			if (e == 0)
				leak(who, "renamed %s onto /out/.env.local", a);
			else if (e != EACCES)
				unexpected(who, &bad, "rename onto", "/workspace/out/.env.local", e);
			snprintf(b, sizeof(b), "/workspace/out/r0-kept-%ld", ops % 4);
			e = err_of(rename(a, b));
			if (e)
				unexpected(who, &bad, "rename", a, e);
			e = err_of(unlink(b));
			if (e && e != ENOENT)
				unexpected(who, &bad, "unlink", b, e);
			break;
		case 1:	/* open hidden names every way */
			for (i = 0; i < (int)(sizeof(hidden) / sizeof(hidden[0])); i++)
				must_not_open(who, &bad, hidden[i]);
			{
				int d = open("/workspace/out", O_PATH | O_DIRECTORY | O_CLOEXEC);

				if (d >= 0) {
					int fd = openat(d, ".env", O_RDONLY | O_CLOEXEC);

					if (fd >= 0) {
						leak(who, "openat(/out, .env) succeeded");
						close(fd);
					} else if (errno != ENOENT) {
						unexpected(who, &bad, "openat", ".env", errno);
					}
					snprintf(a, sizeof(a), "/proc/self/fd/%d/.env", d);
					must_not_open(who, &bad, a);
					close(d);
				}
			}
			break;
		case 2:	/* flip a symlink between a visible file and hidden ones */
			snprintf(a, sizeof(a), "/workspace/out/lnk.tmp%d", who);
			unlink(a);
			if (symlink(ops % 3 == 0 ? "/workspace/out/ok.txt"
				    : ops % 3 == 1 ? "../secret.txt" : ".env", a) != 0) {
				unexpected(who, &bad, "symlink", a, errno);
				break;
			}
			e = err_of(rename(a, "/workspace/out/lnk"));
			if (e)
				unexpected(who, &bad, "rename", "/workspace/out/lnk", e);
			break;
		case 3:	/* read through the flipping symlink */
		{
			char buf[4096];
			int fd = open("/workspace/out/lnk", O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				if (errno != ENOENT)
					unexpected(who, &bad, "open", "/workspace/out/lnk", errno);
				break;
			}
			ssize_t n = read(fd, buf, sizeof(buf));

			close(fd);
			if (n > 0 && bytes_hold_marker(buf, (size_t)n))
				leak(who, "read the marker through /out/lnk");
			break;
		}
		case 4:	/* list and look for hidden names */
		{
			static const char *dirs[] = { "/workspace", "/workspace/out",
						      "/workspace/docs" };
			size_t n, j;
			const char *d = dirs[ops % 3];
			char **names = list_dir(d, &n);

			if (!names) {
				unexpected(who, &bad, "list", d, errno);
				break;
			}
			for (j = 0; j < n; j++) {
				if (!strncmp(names[j], ".env", 4) || !strcmp(names[j], "secret.txt") ||
				    !strcmp(names[j], "hidden") || !strncmp(names[j], ".wh.", 4))
					leak(who, "%s lists %s", d, names[j]);
				free(names[j]);
			}
			free(names);
			break;
		}
		case 5:	/* exchange, link and remove around hidden names */
			snprintf(a, sizeof(a), "/workspace/out/x5-%ld", ops % 4);
			r = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (r >= 0)
				close((int)r);
			/* The kernel answers ENOENT itself: for the sandbox
			 * there is nothing to exchange with. */
			e = err_of(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD,
					   "/workspace/out/.env", RENAME_EXCHANGE));
			if (e == 0)
				leak(who, "exchanged %s with /out/.env", a);
			else if (e != ENOENT)
				unexpected(who, &bad, "exchange with", "/workspace/out/.env", e);
			e = err_of(link(a, "/workspace/out/.env.l"));
			if (e == 0)
				leak(who, "linked %s as /out/.env.l", a);
			else if (e != EACCES)
				unexpected(who, &bad, "link to", "/workspace/out/.env.l", e);
			e = err_of(unlink("/workspace/out/.env"));
			if (e == 0)
				leak(who, "unlinked the hidden /out/.env");
			else if (e != ENOENT)
				unexpected(who, &bad, "unlink", "/workspace/out/.env", e);
			e = err_of(rename("/workspace/out/.env", "/workspace/out/stolen"));
			if (e == 0)
				leak(who, "renamed the hidden /out/.env to /out/stolen");
			else if (e != ENOENT)
				unexpected(who, &bad, "rename", "/workspace/out/.env", e);
			e = err_of(rename("/workspace/secret.txt", "/workspace/out/stolen2"));
			if (e == 0)
				leak(who, "renamed the hidden /secret.txt");
			else if (e != ENOENT)
				unexpected(who, &bad, "rename", "/workspace/secret.txt", e);
			break;
		case 6:	/* directories: make, fill, rename (onto hidden names too) */
			snprintf(a, sizeof(a), "/workspace/out/d6-%ld", ops % 4);
			e = err_of(mkdir(a, 0755));
			if (e && e != EEXIST)
				unexpected(who, &bad, "mkdir", a, e);
			snprintf(b, sizeof(b), "%s/f", a);
			r = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (r >= 0)
				close((int)r);
			e = err_of(rename(a, "/workspace/out/hidden"));
			if (e == 0)
				leak(who, "renamed %s onto /out/hidden", a);
			else if (e != EACCES)
				unexpected(who, &bad, "rename onto", "/workspace/out/hidden", e);
			e = err_of(mkdir("/workspace/out/hidden", 0755));
			if (e == 0)
				leak(who, "made /out/hidden");
			else if (e != EACCES)
				unexpected(who, &bad, "mkdir", "/workspace/out/hidden", e);
			snprintf(b, sizeof(b), "%s/.env", a);
			r = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (r >= 0) {
				leak(who, "created %s", b);
				close((int)r);
			} else if (errno != EACCES) {
				unexpected(who, &bad, "create", b, errno);
			}
			snprintf(b, sizeof(b), "%s/f", a);
			unlink(b);
			e = err_of(rmdir(a));
			if (e && e != ENOENT)
				unexpected(who, &bad, "rmdir", a, e);
			break;
		default: /* 7: stat and create hidden names */
		{
			struct stat st;
			struct statx sx;

			for (i = 0; i < (int)(sizeof(hidden) / sizeof(hidden[0])); i++) {
				e = err_of(stat(hidden[i], &st));
				if (e == 0)
					leak(who, "stat %s succeeded", hidden[i]);
				else if (e != ENOENT)
					unexpected(who, &bad, "stat", hidden[i], e);
				e = err_of(statx(AT_FDCWD, hidden[i], AT_SYMLINK_NOFOLLOW,
						 STATX_ALL, &sx));
				if (e == 0)
					leak(who, "statx %s succeeded", hidden[i]);
				else if (e != ENOENT)
					unexpected(who, &bad, "statx", hidden[i], e);
			}
			r = open("/workspace/out/.env.local", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (r >= 0) {
				leak(who, "created /out/.env.local");
				close((int)r);
			} else if (errno != EACCES) {
				unexpected(who, &bad, "create", "/workspace/out/.env.local", errno);
			}
			e = err_of(mkfifo("/workspace/out/.env.fifo", 0600));
			if (e == 0)
				leak(who, "made the fifo /out/.env.fifo");
			else if (e != EACCES)
				unexpected(who, &bad, "mkfifo", "/workspace/out/.env.fifo", e);
			break;
		}
		}
	}
	printf("racer %d: ops=%s unexpected=%ld\n", who, ops > 0 ? "many" : "none", bad);
	fprintf(stderr, "racer %d: %ld ops\n", who, ops);
}

static void on_term(int sig)
{
	(void)sig;
	stop_now = 1;
}

static int cmd_race(double secs, const char *mark)
{
	pid_t pids[8];
	int i, st, failed = 0;

	marker = mark;
	deadline = now_ms() + secs * 1000;
	signal(SIGTERM, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			printf("fork: %s\n", en(errno));
			return 1;
		}
		if (pids[i] == 0) {
			racer(i);
			fflush(stdout);
			_exit(0);
		}
	}
	for (i = 0; i < 8; i++) {
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("racer %d ended badly (status %d)\n", i, st);
			failed = 1;
		}
	}
	printf("race: done\n");
	return failed;
}

/* ---- host-side fixtures ---------------------------------------------------- */

/* A chain of N directories named LEN times 'd' under DIR, FILE at the
 * bottom holding CONTENT; made by chdir, so no path limit applies. */
static int host_mkdeep(const char *dir, int len, int n, const char *file, const char *content)
{
	char name[NAME_MAX + 1];
	int fd;

	memset(name, 'd', (size_t)len);
	name[len] = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return 1;
	if (chdir(dir) != 0)
		return 1;
	for (int i = 0; i < n; i++) {
		if ((mkdir(name, 0755) != 0 && errno != EEXIST) || chdir(name) != 0) {
			perror("mkdeep");
			return 1;
		}
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		return 1;
	close(fd);
	return 0;
}

static int host_mkfiles(const char *dir, long n)
{
	char name[64];

	if (chdir(dir) != 0)
		return 1;
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "f%06ld", i);
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			return 1;
		close(fd);
	}
	return 0;
}

/* Listen on the abstract unix socket @NAME for SECS seconds. */
static int host_listen_abstract(const char *name, int secs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));

	strncpy(sa.sun_path + 1, name, sizeof(sa.sun_path) - 2);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, len) != 0 || listen(s, 16) != 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	sleep((unsigned)secs);
	return 0;
}

/* A new session keyring holding the user key DESC=PAYLOAD; run CMD in it;
 * then print what the keyring holds afterwards: whether a key
 * "afs-planted" appeared and whether DESC is still there. */
static int host_with_key(const char *desc, const char *payload, char **argv)
{
	pid_t c;
	int st;

	if (keyctl5(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0) {
		perror("keyctl join");
		return 1;
	}
	if (syscall(SYS_add_key, "user", desc, payload, strlen(payload),
		    KEY_SPEC_SESSION_KEYRING) < 0) {
		perror("add_key");
		return 1;
	}
	fflush(stdout);
	c = fork();
	if (c == 0) {
		execvp(argv[0], argv);
		perror("exec");
		_exit(127);
	}
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return 1;
	printf("host: planted=%s own=%s\n",
	       keyctl5(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_SESSION_KEYRING,
		       (unsigned long)"user", (unsigned long)"afs-planted", 0) < 0 ? en(errno) : "FOUND",
	       keyctl5(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_SESSION_KEYRING,
		       (unsigned long)"user", (unsigned long)desc, 0) < 0 ? "GONE" : "intact");
	return 0;
}

/* From the cwd, whose mount path is CUR long, make (or enter) 200-character
 * directories while the path stays at most UPTO; returns the new length,
 * or -1 after printing why it stopped. */
static long deep_chain(long cur, long upto)
{
	char name[201];

	memset(name, 'd', 200);
	name[200] = '\0';
	while (cur + 201 <= upto) {
		if ((mkdir(name, 0755) != 0 && errno != EEXIST) || chdir(name) != 0) {
			printf("chain:%s at %ld\n", en(errno), cur);
			return -1;
		}
		cur += 201;
	}
	return cur;
}

/* ---- resources afs-fuse spends ---------------------------------------------- */

/* Open PATH N times (a directory: read a batch of its entries through
 * each, as ls does; with TOUCH, make a new file in it before each open, so
 * that no two listings are alike), keeping every fd, then hold them HOLD
 * seconds.  Prints how many opens succeeded and the errno that stopped
 * them (OK: none). */
static void hog(const char *path, long n, bool dir, bool touch, long hold)
{
	char buf[4096], name[PATH_MAX];
	long i, e = 0;

	for (i = 0; i < n; i++) {
		int fd;

		if (touch) {
			snprintf(name, sizeof(name), "%s/hog-%ld", path, i);
			fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0)
				close(fd);
		}
		fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			break;
		}
		if (dir && syscall(SYS_getdents64, fd, buf, sizeof(buf)) < 0) {
			e = errno;
			close(fd);
			break;
		}
	}
	printf("%ld %s\n", i, en((int)e));
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned)hold);
}

/* ---- dispatch -------------------------------------------------------------- */

#define NEED(k) do { if (argc < (k) + 2) usage(); } while (0)
#define IS(s) (!strcmp(op, (s)))

int main(int argc, char **argv)
{
	const char *op, *p, *q;
	struct stat st;
	char buf[8192];
	int fd, fd2;
	long r;

	if (argc < 2)
		usage();
	op = argv[1];
	p = argc > 2 ? argv[2] : NULL;
	q = argc > 3 ? argv[3] : NULL;

	/* -- reading and looking up ------------------------------------------- */
	if (IS("cat")) {
		NEED(1);
		print_fd_content(open(p, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("open")) {
		NEED(2);
		printf("%s\n", res(open(p, open_flags(q) | O_CLOEXEC, 0644)));
	} else if (IS("stat")) {
		NEED(1);
		printf("%s\n", res(stat(p, &st)));
	} else if (IS("lstat")) {
		NEED(1);
		printf("%s\n", res(lstat(p, &st)));
	} else if (IS("statx")) {
		struct statx sx;

		NEED(1);
		printf("%s\n", res(statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
					 STATX_ALL, &sx)));
	} else if (IS("statx-at")) {	/* DIR NAME: statx relative to a dirfd */
		struct statx sx;

		NEED(2);
		fd = xopen(p, O_RDONLY | O_DIRECTORY);
		printf("%s\n", res(statx(fd, q, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx)));
	} else if (IS("nlink")) {	/* PATH: its link count */
		NEED(1);
		if (stat(p, &st) != 0)
			printf("%s\n", en(errno));
		else
			printf("%lu\n", (unsigned long)st.st_nlink);
	} else if (IS("tmpfile")) {	/* DIR NAME: O_TMPFILE in DIR, then link it in as NAME */
		NEED(2);
		fd = open(p, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
		if (fd < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		printf("OK %s\n", res(linkat(AT_FDCWD, buf, AT_FDCWD, q, AT_SYMLINK_FOLLOW)));
	} else if (IS("create-burst")) {	/* DIR N: try to create DIR/.env-burst-0..N-1 */
		int n, refused = 0;

		NEED(2);
		n = atoi(q);
		for (int i = 0; i < n; i++) {
			snprintf(buf, sizeof(buf), "%s/.env-burst-%d", p, i);
			fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0 && errno == EACCES)
				refused++;
			else if (fd >= 0)
				close(fd);
		}
		printf("refused %d of %d\n", refused, n);
	} else if (IS("access")) {
		NEED(1);
		printf("%s\n", res(faccessat(AT_FDCWD, p, F_OK, AT_EACCESS)));
	} else if (IS("readlink")) {
		NEED(1);
		printf("%s\n", res(readlink(p, buf, sizeof(buf))));
	} else if (IS("opendir")) {
		NEED(1);
		printf("%s\n", res(open(p, O_RDONLY | O_DIRECTORY)));
	} else if (IS("chdir")) {
		NEED(1);
		printf("%s\n", res(chdir(p)));
	} else if (IS("catat")) {	/* DIR NAME: openat with a dirfd of DIR */
		NEED(2);
		fd = xopen(p, O_RDONLY | O_DIRECTORY);
		print_fd_content(openat(fd, q, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("openat2")) {	/* DIR NAME: openat2 RESOLVE_BENEATH */
		struct { uint64_t flags, mode, resolve; } how = { O_RDONLY | O_CLOEXEC, 0, 0x08 };

		NEED(2);
		fd = xopen(p, O_PATH | O_DIRECTORY);
		print_fd_content((int)syscall(SYS_openat2, fd, q, &how, sizeof(how)));
		putchar('\n');
	} else if (IS("cwdcat")) {	/* DIR NAME: chdir DIR, read /proc/self/cwd/NAME */
		NEED(2);
		if (chdir(p) != 0) {
			printf("chdir:%s\n", en(errno));
			return 0;
		}
		snprintf(buf, sizeof(buf), "/proc/self/cwd/%s", q);
		print_fd_content(open(buf, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("fdcat")) {	/* DIR NAME: O_PATH fd of DIR, then /proc/self/fd/N/NAME */
		NEED(2);
		fd = xopen(p, O_PATH | O_DIRECTORY);
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", fd, q);
		print_fd_content(open(buf, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("reopen")) {	/* PATH HOW FLAGS: open PATH (HOW: path|r), reopen by /proc */
		NEED(3);
		fd = open(p, (!strcmp(q, "path") ? O_PATH : O_RDONLY) | O_CLOEXEC);
		if (fd < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		printf("OK %s\n", res(open(buf, open_flags(argv[4]) | O_CLOEXEC)));
	} else if (IS("ls")) {
		NEED(1);
		cmd_ls(p);
	} else if (IS("ls-after-stat")) {	/* DIR NAME...: stat the names, then list DIR */
		NEED(1);
		for (int i = 3; i < argc; i++) {
			snprintf(buf, sizeof(buf), "%s/%s", p, argv[i]);
			stat(buf, &st);
		}
		cmd_ls(p);
	} else if (IS("count")) {	/* DIR PREFIX: entries, and how many begin with PREFIX */
		size_t n, i, m = 0;
		char **names;
		double t0 = now_ms();

		NEED(2);
		names = list_dir(p, &n);
		if (!names) {
			printf("%s\n", en(errno));
			return 0;
		}
		for (i = 0; i < n; i++)
			if (!strncmp(names[i], q, strlen(q)))
				m++;
		printf("%zu %zu\n", n, m);
		fprintf(stderr, "count: %.0f ms\n", now_ms() - t0);
	} else if (IS("dirhog") || IS("filehog")) {
		/* PATH N [touch] [HOLD]: see hog() */
		NEED(2);
		hog(p, strtol(q, NULL, 10), IS("dirhog"), argc > 4 && !strcmp(argv[4], "touch"),
		    argc > 5 ? strtol(argv[5], NULL, 10) : 0);
	} else if (IS("handle")) {	/* PATH: name_to_handle_at, then open_by_handle_at */
		struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
		int mnt, mfd;

		NEED(1);
		fh->handle_bytes = MAX_HANDLE_SZ;
		r = name_to_handle_at(AT_FDCWD, p, fh, &mnt, 0);
		printf("%s", res(r));
		mfd = xopen("/workspace", O_RDONLY | O_DIRECTORY);
		if (r < 0) {
			/* Forge one: a FUSE handle is the node id and generation;
			 * try the ids a small tree has. */
			fh->handle_bytes = 12;
			fh->handle_type = 0x81;
			memset(fh->f_handle, 0, 12);
		}
		fd = open_by_handle_at(mfd, fh, O_RDONLY);
		printf(" ");
		print_fd_content(fd);
		putchar('\n');
	} else if (IS("getxattr")) {
		NEED(2);
		printf("%s\n", res(getxattr(p, q, buf, sizeof(buf))));
	} else if (IS("lgetxattr")) {
		NEED(2);
		printf("%s\n", res(lgetxattr(p, q, buf, sizeof(buf))));
	} else if (IS("listxattr")) {
		NEED(1);
		printf("%s\n", res(listxattr(p, buf, sizeof(buf))));
	} else if (IS("xattrs")) {	/* PATH: the names listxattr gives */
		NEED(1);
		r = listxattr(p, buf, sizeof(buf));
		if (r < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		for (long i = 0; i < r; i += (long)strlen(buf + i) + 1)
			printf("%s%s", i ? " " : "", buf + i);
		printf("%s\n", r == 0 ? "none" : "");
	} else if (IS("inotify")) {	/* MS PROBE DIR...: watch, make PROBE, report names */
		double until;
		char names[64][NAME_MAX + 1];
		int nn = 0, ifd;

		NEED(3);
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ifd < 0) {
			printf("inotify_init1:%s\n", en(errno));
			return 0;
		}
		for (int i = 4; i < argc; i++)
			if (inotify_add_watch(ifd, argv[i], IN_ALL_EVENTS) < 0) {
				printf("watch %s:%s\n", argv[i], en(errno));
				return 0;
			}
		until = now_ms() + atof(p);
		fd = open(q, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		unlink(q);
		while (now_ms() < until) {
			struct pollfd pf = { ifd, POLLIN, 0 };
			char ev[8192] __attribute__((aligned(8)));
			ssize_t n;

			if (poll(&pf, 1, 50) <= 0)
				continue;
			n = read(ifd, ev, sizeof(ev));
			for (ssize_t off = 0; off < n;) {
				struct inotify_event *ie = (void *)(ev + off);
				const char *nm = ie->len ? ie->name : "(dir)";
				int j;

				off += (ssize_t)sizeof(*ie) + ie->len;
				for (j = 0; j < nn && strcmp(names[j], nm); j++)
					;
				if (j == nn && nn < 64)
					snprintf(names[nn++], sizeof(names[0]), "%s", nm);
			}
		}
		qsort(names, (size_t)nn, sizeof(names[0]), (int (*)(const void *, const void *))strcmp);
		for (int j = 0; j < nn; j++)
			printf("%s%s", j ? " " : "", names[j]);
		printf("%s\n", nn ? "" : "none");
	} else if (IS("deepwalk")) {	/* DIR LEN N NAME: chdir LEN-'d' N times, read NAME */
		char name[NAME_MAX + 1];
		int len, n, i;
		const char *cd = "OK";

		NEED(4);
		len = atoi(q);
		n = atoi(argv[4]);
		memset(name, 'd', (size_t)len);
		name[len] = '\0';
		if (chdir(p) != 0)
			cd = en(errno);
		for (i = 0; i < n && !strcmp(cd, "OK"); i++)
			if (chdir(name) != 0)
				cd = en(errno);
		printf("chdir=%s cat=", cd);
		print_fd_content(open(argv[5], O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("deepcreate")) {
		/* DIR MPATHLEN: in DIR (whose path inside the mount is MPATHLEN
		 * long) make a chain of directories whose mount path reaches
		 * 4060, then create in it .env, and .envxxx... names whose mount
		 * path is 4096 (the longest POLICY_MAX_PATH holds with its NUL:
		 * "/" and a relative path of PATH_MAX - 1) and 4097 (one more). */
		char name[NAME_MAX + 1];
		long cur;
		int e1, e2, e3, e4;

		NEED(2);
		cur = atol(q);
		if (chdir(p) != 0) {
			printf("chdir:%s\n", en(errno));
			return 0;
		}
		cur = deep_chain(cur, 4060 - 51);
		if (cur < 0)
			return 0;
		memset(name, 'a', sizeof(name));
		name[4060 - cur - 1] = '\0';
		e1 = err_of(mkdir(name, 0755));
		if (chdir(name) != 0) {
			printf("%s chdir:%s\n", en(e1), en(errno));
			return 0;
		}
		cur = 4060;
		e2 = err_of(open(".env", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		memset(name, 'x', sizeof(name));
		memcpy(name, ".env", 4);
		name[4096 - cur - 1] = '\0';
		e3 = err_of(open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		memset(name, 'x', sizeof(name));
		memcpy(name, ".env", 4);
		name[4097 - cur - 1] = '\0';
		e4 = err_of(open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		printf("%s %s %s %s\n", en(e1), en(e2), en(e3), en(e4));
	} else if (IS("deepmkdir")) {
		/* DIR MPATHLEN LEN: a chain from DIR to a new directory whose
		 * mount path is LEN long; mkdir it, then stat it. */
		char name[NAME_MAX + 1];
		long cur, len;
		int e1;

		NEED(3);
		cur = atol(q);
		len = atol(argv[4]);
		if (chdir(p) != 0) {
			printf("chdir:%s\n", en(errno));
			return 0;
		}
		cur = deep_chain(cur, len - 51);
		if (cur < 0)
			return 0;
		memset(name, 'm', sizeof(name));
		name[len - cur - 1] = '\0';
		e1 = err_of(mkdir(name, 0755));
		printf("%s %s\n", en(e1), res(stat(name, &st)));
	} else if (IS("deepfile")) {
		/* DIR MPATHLEN LEN: as deepmkdir, for a file: create (and
		 * write) it, then stat it and read it back. */
		char name[NAME_MAX + 1];
		long cur, len;
		int e1;

		NEED(3);
		cur = atol(q);
		len = atol(argv[4]);
		if (chdir(p) != 0) {
			printf("chdir:%s\n", en(errno));
			return 0;
		}
		cur = deep_chain(cur, len - 51);
		if (cur < 0)
			return 0;
		memset(name, 'f', sizeof(name));
		name[len - cur - 1] = '\0';
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		e1 = fd < 0 ? errno : 0;
		if (fd >= 0) {
			if (write(fd, "deep\n", 5) != 5)
				e1 = errno;
			close(fd);
		}
		printf("%s %s ", en(e1), res(stat(name, &st)));
		print_fd_content(open(name, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("int80")) {	/* NR: an i386 system call from this 64-bit process */
		long ret, nr = atol(p);

		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(0), "c"(0), "d"(0) : "memory");
		printf("%s\n", ret < 0 && ret > -4096 ? en((int)-ret) : "OK");
	} else if (IS("x32")) {	/* NR: an x32 system call (the x32 bit set) */
		long ret = syscall(atol(p) | 0x40000000L, 0, 0, 0);

		printf("%s\n", ret < 0 ? en(errno) : "OK");
	} else if (IS("timed-stat")) {	/* PATH: stat, and whether it answered within 1 s */
		double t0 = now_ms(), el;

		NEED(1);
		r = stat(p, &st);
		el = now_ms() - t0;
		printf("%s %s\n", res(r), el < 1000 ? "fast" : "slow");
		fprintf(stderr, "timed-stat: %.1f ms\n", el);

	/* -- changing names ---------------------------------------------------- */
	} else if (IS("creat")) {
		NEED(1);
		printf("%s\n", res(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)));
	} else if (IS("mkdir")) {
		NEED(1);
		printf("%s\n", res(mkdir(p, 0755)));
	} else if (IS("rmdir")) {
		NEED(1);
		printf("%s\n", res(rmdir(p)));
	} else if (IS("unlink")) {
		NEED(1);
		printf("%s\n", res(unlink(p)));
	} else if (IS("mkfifo")) {
		NEED(1);
		printf("%s\n", res(mkfifo(p, 0644)));
	} else if (IS("mknod-chr")) {	/* PATH: /dev/mem's numbers */
		NEED(1);
		printf("%s\n", res(mknod(p, S_IFCHR | 0666, makedev(1, 1))));
	} else if (IS("mknod-blk")) {
		NEED(1);
		printf("%s\n", res(mknod(p, S_IFBLK | 0666, makedev(8, 0))));
	} else if (IS("symlink")) {	/* TARGET LINK */
		NEED(2);
		printf("%s\n", res(symlink(p, q)));
	} else if (IS("symlink-cat")) {	/* TARGET LINK: make it, read through it */
		NEED(2);
		printf("%s ", res(symlink(p, q)));
		print_fd_content(open(q, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("symlink-open")) {	/* TARGET LINK FLAGS */
		NEED(3);
		printf("%s ", res(symlink(p, q)));
		printf("%s\n", res(open(q, open_flags(argv[4]) | O_CLOEXEC, 0644)));
	} else if (IS("link")) {
		NEED(2);
		printf("%s\n", res(link(p, q)));
	} else if (IS("link-open")) {	/* OLD NEW FLAGS: link, then open NEW */
		NEED(3);
		printf("%s ", res(link(p, q)));
		printf("%s\n", res(open(q, open_flags(argv[4]) | O_CLOEXEC, 0644)));
	} else if (IS("rename")) {
		NEED(2);
		printf("%s\n", res(rename(p, q)));
	} else if (IS("rename-cat")) {	/* OLD NEW PATH: rename, then read PATH */
		NEED(3);
		printf("%s ", res(rename(p, q)));
		print_fd_content(open(argv[4], O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("exchange")) {
		NEED(2);
		printf("%s\n", res(syscall(SYS_renameat2, AT_FDCWD, p, AT_FDCWD, q, RENAME_EXCHANGE)));

	/* -- changing a file ----------------------------------------------------- */
	} else if (IS("truncate")) {
		NEED(1);
		printf("%s\n", res(truncate(p, 0)));
	} else if (IS("ftruncate")) {	/* through a read-only fd */
		NEED(1);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		printf("%s\n", fd < 0 ? en(errno) : res(ftruncate(fd, 0)));
	} else if (IS("chmod")) {	/* PATH [MODE] */
		NEED(1);
		printf("%s\n", res(chmod(p, q ? (mode_t)strtol(q, NULL, 8) : 0666)));
	} else if (IS("fchmod")) {
		NEED(1);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		printf("%s\n", fd < 0 ? en(errno) : res(fchmod(fd, 0666)));
	} else if (IS("chmod-open")) {	/* chmod 0666, then open for writing */
		NEED(1);
		printf("%s ", res(chmod(p, 0666)));
		printf("%s\n", res(open(p, O_WRONLY | O_CLOEXEC)));
	} else if (IS("chown")) {	/* to ourselves */
		NEED(1);
		printf("%s\n", res(chown(p, getuid(), getgid())));
	} else if (IS("utimens-now")) {
		NEED(1);
		printf("%s\n", res(utimensat(AT_FDCWD, p, NULL, 0)));
	} else if (IS("utimens")) {	/* to the epoch */
		struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };

		NEED(1);
		printf("%s\n", res(utimensat(AT_FDCWD, p, ts, 0)));
	} else if (IS("setxattr")) {	/* PATH NAME */
		NEED(2);
		printf("%s\n", res(setxattr(p, q, "pwned", 5, 0)));
	} else if (IS("removexattr")) {
		NEED(2);
		printf("%s\n", res(removexattr(p, q)));
	} else if (IS("mmap-shared-w")) {	/* read fd, PROT_WRITE MAP_SHARED */
		NEED(1);
		fd = xopen(p, O_RDONLY);
		printf("%s\n", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
			       MAP_FAILED ? en(errno) : "OK");
	} else if (IS("mprotect-w")) {	/* MAP_SHARED read-only, then mprotect writable */
		void *m;

		NEED(1);
		fd = xopen(p, O_RDONLY);
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			printf("mmap:%s\n", en(errno));
			return 0;
		}
		printf("%s\n", res(mprotect(m, 4096, PROT_READ | PROT_WRITE)));
	} else if (IS("mmap-private-w")) {	/* MAP_PRIVATE writable: scribble, msync, reread */
		char *m;

		NEED(1);
		fd = xopen(p, O_RDONLY);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			printf("mmap:%s\n", en(errno));
			return 0;
		}
		memcpy(m, "PWNED", 5);
		r = msync(m, 4096, MS_SYNC);
		munmap(m, 4096);
		close(fd);
		printf("%s ", res(r));
		print_fd_content(open(p, O_RDONLY | O_CLOEXEC));
		putchar('\n');
	} else if (IS("mmap-write")) {	/* PATH DATA: O_RDWR, MAP_SHARED, write DATA, msync */
		char *m;

		NEED(2);
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			printf("mmap:%s\n", en(errno));
			return 0;
		}
		memcpy(m, q, strlen(q));
		printf("%s\n", res(msync(m, 4096, MS_SYNC)));
	} else if (IS("fallocate")) {	/* open for writing; fallocate through the read fd */
		NEED(1);
		printf("%s ", res(open(p, O_RDWR | O_CLOEXEC)));
		fd = xopen(p, O_RDONLY);
		printf("%s\n", res(fallocate(fd, 0, 0, 1 << 20)));
	} else if (IS("punch")) {	/* punch a hole through the read fd */
		NEED(1);
		fd = xopen(p, O_RDONLY);
		printf("%s\n", res(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4)));
	} else if (IS("cfr")) {	/* SRC DST: open DST for writing; copy_file_range into its read fd */
		loff_t off = 0;

		NEED(2);
		fd = xopen(p, O_RDONLY);
		printf("%s ", res(open(q, O_WRONLY | O_CLOEXEC)));
		fd2 = xopen(q, O_RDONLY);
		printf("%s\n", res(copy_file_range(fd, NULL, fd2, &off, 4, 0)));
	} else if (IS("write-file")) {	/* PATH DATA: open O_WRONLY|O_TRUNC, write */
		NEED(2);
		fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		printf("%s\n", res(write(fd, q, strlen(q))));
	} else if (IS("write")) {	/* PATH: open O_WRONLY|O_TRUNC|O_CREAT, write one byte */
		NEED(1);
		fd = open(p, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
		printf("%s\n", fd < 0 ? en(errno) : res(write(fd, "x", 1)));

	/* -- the sandbox ---------------------------------------------------------- */
	} else if (IS("procscan")) {	/* the pids /proc shows, with their comm */
		size_t n, i;
		char **names = list_dir("/proc", &n);
		int first = 1;

		if (!names) {
			printf("%s\n", en(errno));
			return 0;
		}
		for (i = 0; i < n; i++) {
			char path[300], comm[64] = "?";
			ssize_t k;

			if (names[i][0] < '0' || names[i][0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", names[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				k = read(fd, comm, sizeof(comm) - 1);
				comm[k > 0 ? k : 0] = '\0';
				comm[strcspn(comm, "\n")] = '\0';
				close(fd);
			}
			printf("%s%s:%s", first ? "" : " ", names[i], comm);
			first = 0;
		}
		putchar('\n');
	} else if (IS("ptrace")) {	/* PID */
		NEED(1);
		printf("%s\n", res(ptrace(PTRACE_ATTACH, (pid_t)atoi(p), 0, 0)));
	} else if (IS("ptrace-seize")) {
		NEED(1);
		printf("%s\n", res(ptrace(PTRACE_SEIZE, (pid_t)atoi(p), 0, 0)));
	} else if (IS("kill")) {	/* PID SIG */
		NEED(2);
		printf("%s\n", res(kill((pid_t)atoi(p), atoi(q))));
	} else if (IS("kill-init")) {	/* SIGKILL to pid 1, then: is it (and are we) alive? */
		r = kill(1, SIGKILL);
		usleep(200000);
		printf("%s %s\n", res(r), access("/proc/1/status", F_OK) == 0 ? "alive" : "dead");
	} else if (IS("mount-tmpfs")) {
		NEED(1);
		printf("%s\n", res(mount("none", p, "tmpfs", 0, NULL)));
	} else if (IS("bind")) {
		NEED(2);
		printf("%s\n", res(mount(p, q, NULL, MS_BIND, NULL)));
	} else if (IS("umount")) {
		NEED(1);
		printf("%s\n", res(umount2(p, MNT_DETACH)));
	} else if (IS("remount-rw")) {
		NEED(1);
		printf("%s\n", res(mount(NULL, p, NULL, MS_REMOUNT | MS_BIND, NULL)));
	} else if (IS("unshare-user")) {
		printf("%s\n", res(unshare(CLONE_NEWUSER)));
	} else if (IS("userns-escape")) {
		/* What a nested user namespace (if one is allowed) could win:
		 * drop the workspace mount, over-mount it, decode a handle. */
		NEED(1);
		r = unshare(CLONE_NEWUSER | CLONE_NEWNS);
		printf("unshare=%s", res(r));
		if (r == 0) {
			printf(" umount=%s", res(umount2("/workspace", MNT_DETACH)));
			printf(" remount=%s", res(mount(NULL, "/workspace", NULL,
							MS_REMOUNT | MS_BIND, NULL)));
			printf(" cat=");
			print_fd_content(open(p, O_RDONLY | O_CLOEXEC));
		}
		putchar('\n');
	} else if (IS("connect4") || IS("connect6")) {	/* ADDR PORT tcp|udp */
		int v6 = IS("connect6"), s;
		struct sockaddr_in a4 = { .sin_family = AF_INET };
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };

		NEED(3);
		s = socket(v6 ? AF_INET6 : AF_INET,
			   strcmp(argv[4], "udp") ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (s < 0) {
			printf("socket:%s\n", en(errno));
			return 0;
		}
		if (v6) {
			inet_pton(AF_INET6, p, &a6.sin6_addr);
			a6.sin6_port = htons((uint16_t)atoi(q));
			r = connect(s, (struct sockaddr *)&a6, sizeof(a6));
		} else {
			inet_pton(AF_INET, p, &a4.sin_addr);
			a4.sin_port = htons((uint16_t)atoi(q));
			r = connect(s, (struct sockaddr *)&a4, sizeof(a4));
		}
		if (r == 0 && !strcmp(argv[4], "udp"))
			r = send(s, "x", 1, 0);
		printf("%s\n", res(r));
	} else if (IS("connect-abstract")) {	/* NAME */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		NEED(1);
		strncpy(sa.sun_path + 1, p, sizeof(sa.sun_path) - 2);
		printf("%s\n", res(connect(s, (struct sockaddr *)&sa,
					   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
						       strlen(p)))));
	} else if (IS("connect-unix")) {	/* PATH: a unix socket file */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		NEED(1);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
		printf("%s\n", res(connect(s, (struct sockaddr *)&sa, sizeof(sa))));
	} else if (IS("ids")) {	/* real and effective uid and gid */
		printf("%d %d %d %d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
	} else if (IS("key-search")) {	/* DESC */
		NEED(1);
		cmd_key_search(p);
	} else if (IS("key-plant")) {	/* add a key "afs-planted" to our session keyring */
		printf("%s\n", res(syscall(SYS_add_key, "user", "afs-planted", "planted", 7,
					   KEY_SPEC_SESSION_KEYRING)));
	} else if (IS("key-clear")) {	/* empty our session keyring */
		printf("%s\n", res(keyctl5(KEYCTL_CLEAR, (unsigned long)KEY_SPEC_SESSION_KEYRING,
					   0, 0, 0)));
	} else if (IS("key-join")) {	/* NAME: join a named keyring of the host */
		NEED(1);
		printf("%s\n", res(keyctl5(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)p, 0, 0, 0)));
	} else if (IS("tiocsti")) {	/* FD */
		char c = '#';

		NEED(1);
		printf("%s\n", res(ioctl(atoi(p), TIOCSTI, &c)));
	} else if (IS("session")) {	/* our session leader: in the sandbox (its pid) or not (0) */
		pid_t sid = getsid(0);

		printf("sid=%s\n", sid == 0 ? "outside" : sid < 0 ? en(errno) : "inside");
	} else if (IS("chroot")) {
		NEED(1);
		printf("%s\n", res(chroot(p)));
	} else if (IS("setuid0")) {
		printf("%s\n", res(setuid(0)));
	} else if (IS("setns")) {	/* PATH of a namespace file */
		NEED(1);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		printf("%s\n", fd < 0 ? en(errno) : res(setns(fd, 0)));
	} else if (IS("iouring-cat")) {
		NEED(1);
		cmd_iouring_cat(p);
	} else if (IS("fds")) {	/* the open fds, without the one listing them */
		size_t n, i;
		char **names;
		int first = 1;

		names = list_dir("/proc/self/fd", &n);
		if (!names) {
			printf("%s\n", en(errno));
			return 0;
		}
		/* The listing's own fd was the lowest free one, now closed. */
		for (i = 0; i < n; i++) {
			if (fcntl(atoi(names[i]), F_GETFD) < 0)
				continue;
			printf("%s%s", first ? "" : " ", names[i]);
			first = 0;
		}
		putchar('\n');
	} else if (IS("forkbomb")) {
		for (;;)
			fork();
	} else if (IS("memhog")) {	/* MB: allocate and touch */
		long mb = atol(p ? p : "1024");

		for (long i = 0; i < mb; i++) {
			char *m = malloc(1 << 20);

			if (!m) {
				printf("malloc:%s at %ld MiB\n", en(errno), i);
				return 0;
			}
			memset(m, 1, 1 << 20);
		}
		printf("survived %ld MiB\n", mb);
	} else if (IS("race")) {	/* SECONDS MARKER */
		NEED(2);
		return cmd_race(atof(p), q);

	} else if (IS("lchown")) {	/* the link itself, to ourselves */
		NEED(1);
		printf("%s\n", res(lchown(p, getuid(), getgid())));
	} else if (IS("lutimens")) {	/* the link itself, to the epoch */
		struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };

		NEED(1);
		printf("%s\n", res(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW)));
	} else if (IS("linkat-proc")) {	/* PATH NEW: link the open file through /proc/self/fd */
		NEED(2);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			printf("%s\n", en(errno));
			return 0;
		}
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		printf("OK %s ", res(linkat(AT_FDCWD, buf, AT_FDCWD, q, AT_SYMLINK_FOLLOW)));
		printf("%s\n", res(open(q, O_WRONLY | O_CLOEXEC)));
	} else if (IS("shm")) {	/* KEY: a SysV segment of the host */
		NEED(1);
		printf("%s\n", res(shmget((key_t)strtol(p, NULL, 0), 0, 0)));
	} else if (IS("spawn-nested")) {
		/* A child in a nested user and pid namespace, in a session of
		 * its own, that sleeps 60 s; we return at once. */
		pid_t c;

		r = unshare(CLONE_NEWUSER | CLONE_NEWPID);
		printf("unshare=%s", res(r));
		c = fork();
		if (c == 0) {
			/* No exec: they keep our command line, for the test
			 * to find them by. */
			setsid();
			fork();
			sleep(60);
			_exit(0);
		}
		printf(" fork=%s\n", c < 0 ? en(errno) : "OK");
		fflush(stdout);
		usleep(100000);
		return 0;
	} else if (IS("evil-names")) {
		/* Names and a comm built to break or forge audit records. */
		static const char *const names[] = {
			"q\"},{\"v\":1,\"op\":\"open\",\"decision\":\"allow\",\"path\":\"\\u002fsecret.txt",
			"nl\n{\"v\":1,\"op\":\"open\",\"path\":\"\\u002fsecret.txt\",\"decision\":\"allow\"}",
			"bs\\\\\"", "ctl\x01\x1b[2J\x7f", "bad\xff\xfe\xc3", "tab\tcr\r",
		};
		int made = 0;

		prctl(PR_SET_NAME, "x\"\n{\"v\":1,", 0, 0, 0);
		/* afs-fuse caches a pid's comm for a second. */
		usleep(1100000);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(buf, sizeof(buf), "/workspace/out/%s", names[i]);
			fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd >= 0) {
				made++;
				close(fd);
			}
		}
		fd = open("/workspace/secret.txt", O_RDONLY | O_CLOEXEC);
		printf("made %d, secret %s\n", made, fd < 0 ? en(errno) : "OPENED");
	} else if (IS("exec")) {	/* PATH: execute it (it would print a line of its own) */
		NEED(1);
		execl(p, p, "stat", "/", (char *)NULL);
		printf("%s\n", en(errno));
	/* -- host-side fixtures --------------------------------------------------- */
	} else if (IS("host-mkdeep")) {	/* DIR LEN N FILE CONTENT */
		NEED(5);
		return host_mkdeep(p, atoi(q), atoi(argv[4]), argv[5], argv[6]);
	} else if (IS("host-mkfiles")) {	/* DIR N */
		NEED(2);
		return host_mkfiles(p, atol(q));
	} else if (IS("host-listen-abstract")) {	/* NAME SECONDS */
		NEED(2);
		return host_listen_abstract(p, atoi(q));
	} else if (IS("host-shm")) {	/* KEY SECONDS: a SysV segment, removed after SECONDS */
		int id;

		NEED(2);
		id = shmget((key_t)strtol(p, NULL, 0), 4096, IPC_CREAT | IPC_EXCL | 0666);
		if (id < 0) {
			perror("shmget");
			return 1;
		}
		/* Removed on SIGTERM too (the test kills us at its exit). */
		signal(SIGTERM, on_term);
		signal(SIGINT, on_term);
		printf("created\n");
		fflush(stdout);
		for (int i = atoi(q) * 10; i > 0 && !stop_now; i--)
			usleep(100000);
		shmctl(id, IPC_RMID, NULL);
		return 0;
	} else if (IS("host-listen-tcp")) {	/* PORT SECONDS: on 127.0.0.1 */
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

		NEED(2);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons((uint16_t)atoi(p));
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 16) != 0) {
			perror("listen");
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		sleep((unsigned)atoi(q));
		return 0;
	} else if (IS("host-listen-unix")) {	/* PATH SECONDS */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		NEED(2);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
		if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 16) != 0) {
			perror("listen");
			return 1;
		}
		chmod(p, 0777);
		printf("listening\n");
		fflush(stdout);
		sleep((unsigned)atoi(q));
		return 0;
	} else if (IS("host-with-key")) {	/* DESC PAYLOAD CMD... */
		NEED(3);
		return host_with_key(p, q, argv + 4);
	} else {
		usage();
	}
	return 0;
}
