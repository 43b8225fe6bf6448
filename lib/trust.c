/* trust.c - paths a user hands afs to write into (see trust.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"

__attribute__((format(printf, 3, 4)))
static int refuse(int fd, char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, TRUST_WHY_MAX, fmt, ap);
	va_end(ap);
	if (fd >= 0)
		close(fd);
	return -1;
}

static int failed(int fd, char *why, const char *what)
{
	snprintf(why, TRUST_WHY_MAX, "%s: %s", what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Why PATH could not be opened with O_NOFOLLOW: a link in its last
 * component (ELOOP, or ENOTDIR with O_DIRECTORY) is said as such; else
 * WHAT when given, else errno's words. */
static int not_opened(const char *path, char *why, const char *what)
{
	int err = errno;
	struct stat lst;

	if ((err == ELOOP || err == ENOTDIR) && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
		return refuse(-1, why, "a symbolic link (never followed here)");
	if (what)
		return refuse(-1, why, "%s", what);
	errno = err;
	return failed(-1, why, "cannot open it");
}

int trust_dir(const char *path, bool make, char why[TRUST_WHY_MAX])
{
	struct stat st;
	int fd;

	if (make && mkdir(path, 0700) != 0 && errno != EEXIST)
		return failed(-1, why, "cannot make it");
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return not_opened(path, why, errno == ENOTDIR ? "not a directory" : NULL);
	if (fstat(fd, &st) != 0)
		return failed(fd, why, "cannot stat it");
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return refuse(fd, why, "owned by uid %lu, not by us or root", (unsigned long)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(fd, why, "writable by its group or others (mode %04o)",
			      (unsigned)(st.st_mode & 07777));
	return fd;
}

int trust_append(const char *path, char why[TRUST_WHY_MAX])
{
	struct stat st;
	/* Non-blocking, so that a FIFO put there cannot hang us. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				    O_CLOEXEC, 0600);

	if (fd < 0)
		return not_opened(path, why, errno == ENXIO ? "not a regular file" : NULL);
	if (fstat(fd, &st) != 0)
		return failed(fd, why, "cannot stat it");
	if (!S_ISREG(st.st_mode))
		return refuse(fd, why, "not a regular file");
	if (st.st_uid != geteuid())
		return refuse(fd, why, "owned by uid %lu, not by us", (unsigned long)st.st_uid);
	if (st.st_mode & S_IWOTH)
		return refuse(fd, why, "writable by others (mode %04o)",
			      (unsigned)(st.st_mode & 07777));
	if (fcntl(fd, F_SETFL, O_APPEND) != 0)
		return failed(fd, why, "cannot make it blocking");
	return fd;
}

void trust_fd_path(int fd, char buf[TRUST_FD_PATH_MAX])
{
	snprintf(buf, TRUST_FD_PATH_MAX, "/proc/self/fd/%d", fd);
}
