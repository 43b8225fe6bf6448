/* peer.c - which host process is the one the sandbox's relay names.
 *
 * The relay says "PID COMM" of the process that connected, as the
 * sandbox's pid namespace numbers it, and the kernel says which process
 * the relay is (SO_PASSCRED, as the host numbers it).  The relay's
 * parent is the sandbox's pid 1: among its descendants, the process whose
 * NStgid has INSIDE at the depth of that namespace is the one.  Only the
 * descendants are searched, so a process of another sandbox with the same
 * inside number is never taken; and an answer that is not certain is no
 * answer (the record's pid is left out).  It is informational: the
 * process may have ended, and its number been reused, since.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

/* Processes visited: a sandbox has far fewer, and each costs a few reads
 * of /proc in the connection's thread. */
#define PEER_MAX_SCAN	1024
/* Depth of nested pid namespaces (the kernel's limit is 32). */
#define PEER_MAX_DEPTH	33

/* The numbers of "KEY:\tN\tN..." in the status file of PID: how many. */
static int status_numbers(pid_t pid, const char *key, long *v, int max)
{
	char path[64], buf[4096], *p;
	size_t klen = strlen(key);
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; strncmp(p, key, klen) != 0; p++) {
		p = strchr(p, '\n');
		if (!p)
			return 0;
	}
	p += klen;
	while (n < max) {
		char *end;
		long x = strtol(p, &end, 10);

		if (end == p)
			break;
		v[n++] = x;
		p = end;
	}
	return n;
}

/* Append to Q the pids of the children file PATH (at most PEER_MAX_SCAN
 * in Q).  The file is read to its end, a few numbers at a time: one read
 * of a fixed size would cut the list of a process with many children,
 * and the cut number would be some other process, maybe the host's. */
static void children_file(const char *path, pid_t *q, size_t *n)
{
	char buf[4096];
	size_t len = 0;	/* bytes in BUF: a number not yet ended by a space */
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (*n < PEER_MAX_SCAN) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *p, *end, *last;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* a number without its space, if any, is dropped */
		len += (size_t)r;
		buf[len] = '\0';
		/* Only the numbers ended by a space are whole. */
		last = strrchr(buf, ' ');
		if (!last) {
			if (len == sizeof(buf) - 1)
				break;	/* not a list of pids */
			continue;
		}
		*last = '\0';
		for (p = buf; *n < PEER_MAX_SCAN; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if (c > 0)
				q[(*n)++] = (pid_t)c;
		}
		len -= (size_t)(last + 1 - buf);
		memmove(buf, last + 1, len);
	}
	close(fd);
}

/* Append the children of every thread of PID to Q (at most PEER_MAX_SCAN). */
static void children(pid_t pid, pid_t *q, size_t *n)
{
	char path[320];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && *n < PEER_MAX_SCAN) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		children_file(path, q, n);
	}
	closedir(d);
}

pid_t peer_host_pid(pid_t relay, pid_t inside)
{
	long v[PEER_MAX_DEPTH], ppid;
	pid_t *q;
	size_t head = 0, n = 0;
	int depth;
	pid_t found = 0;

	if (relay <= 0 || inside <= 0)
		return 0;
	if (status_numbers(relay, "PPid:", &ppid, 1) != 1 || ppid <= 1)
		return 0;
	/* The sandbox's namespace is the innermost one of its pid 1. */
	depth = status_numbers((pid_t)ppid, "NStgid:", v, PEER_MAX_DEPTH);
	if (depth < 2)
		return 0;
	q = malloc(PEER_MAX_SCAN * sizeof(*q));
	if (!q)
		return 0;
	q[n++] = (pid_t)ppid;
	while (head < n && !found) {
		pid_t p = q[head++];
		int k = status_numbers(p, "NStgid:", v, PEER_MAX_DEPTH);

		/* A process outside the sandbox's namespace (fewer numbers
		 * than its pid 1) is neither the one nor a way to it: the
		 * search stays in the sandbox, whatever a /proc file said. */
		if (k < depth)
			continue;
		if (v[depth - 1] == inside)
			found = p;
		else
			children(p, q, &n);
	}
	free(q);
	return found;
}
