/* util.h - small helpers shared by the afs programs. */
#ifndef AFS_UTIL_H
#define AFS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

/* A process's name as the kernel keeps it (comm), NUL included. */
#define TASK_COMM_LEN 16
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Set once by main(); prefixes every message. */
extern const char *progname;

/* "prog: message" on stderr; die() then exits with STATUS. */
void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that cannot fail: out of memory ends the program (exit 1).
 * Used at load and set-up time.  afs-fuse's FUSE ops use none of these:
 * out of memory in an op answers ENOMEM (a lookup's node, a listing, an
 * open file or directory, the buffers of read, readdir and getxattr) or
 * costs a cache (a negative entry, the node table's growth).  The one
 * exception is an op's audit record: lib/audit.c grows the audit log's
 * reused buffers with xrealloc until they hold the largest record. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole regular file of at most MAX bytes.  Returns 0, or -errno
 * (-EFBIG when larger than MAX, -EINVAL when not a regular file). */
int read_file_max(int fd, size_t max, char **out, size_t *outlen);
/* The start of the small file PATH (a /proc or cgroup file) in BUF, NUL
 * terminated: its length, or -1. */
ssize_t read_small(const char *path, char *buf, size_t size);

/* Write S to F as one field of a line: backslash, newline, tab and other
 * control bytes escaped (\\, \n, \t, \xNN). */
void fput_field(FILE *f, const char *s);

/* A size: bytes, or with a K, M, G or T suffix (powers of 1024; "iB" or
 * "B" may follow); -1 when malformed, zero or beyond INT64_MAX. */
int64_t parse_size_bytes(const char *s);

/* Seconds ("10", "1.5", "2m", "1h", "1d") as milliseconds, or -1. */
int64_t parse_duration_ms(const char *s);

/* The monotonic clock, in nanoseconds and in milliseconds. */
int64_t mono_ns(void);
int64_t mono_ms(void);

/* Directory of the running executable (from /proc/self/exe), or NULL. */
char *exe_dir(void);

/* PROG beside the running executable (when BESIDE), else on $PATH; NULL
 * when neither has it. */
char *find_program(const char *prog, bool beside);

/* rm -rf, following no link; 0 or -errno. */
int remove_tree(const char *path);
int remove_tree_at(int dfd, const char *name);

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define cleanup_free __attribute__((cleanup(freep)))
#define cleanup_fd __attribute__((cleanup(closep)))

/* Close every fd from 3 up (to the last the kernel allows, not only
 * below 1024) but the N in KEEP (which it sorts; -1 entries ignored). */
void close_except(int *keep, size_t n);

#endif
