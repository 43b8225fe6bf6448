/* stdio.c - the command's stdio: a pipe for each of 0, 1, 2 that
 * afs-launch stands behind (--json captures; a regular file of the
 * caller's is relayed, so the sandbox never holds the caller's open
 * file).  Made before a runtime forks; run.c then reads and feeds them.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

/* fd 0, 1 or 2 of ours is a regular file: the sandbox must not hold it.
 * With it, a command could clear O_APPEND and write over the caller's
 * earlier lines (pwrite at 0), or read them back through /proc/self/fd. */
static bool regular_fd(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

void stdio_decide(struct launch *L)
{
	L->pipe_out = L->json || (!L->tty && regular_fd(1));
	L->pipe_err = L->json || (!L->tty && regular_fd(2));
	L->pipe_in = !L->tty && regular_fd(0);
}

int stdio_make(const struct launch *L, struct stdio_pipes *p)
{
	*p = (struct stdio_pipes){ { -1, -1 }, { -1, -1 }, { -1, -1 } };
	if ((L->pipe_in && pipe2(p->in, O_CLOEXEC) != 0) ||
	    (L->pipe_out && pipe2(p->out, O_CLOEXEC) != 0) ||
	    (L->pipe_err && pipe2(p->err, O_CLOEXEC) != 0)) {
		error("cannot make pipes: %m");
		return -1;
	}
	return 0;
}

void stdio_child(const struct stdio_pipes *p)
{
	if ((p->in[0] >= 0 && dup2(p->in[0], 0) < 0) || (p->out[1] >= 0 && dup2(p->out[1], 1) < 0) ||
	    (p->err[1] >= 0 && dup2(p->err[1], 2) < 0))
		die(EXIT_LAUNCH, "dup2: %m");
}

void stdio_parent(struct stdio_pipes *p, struct sandbox *sb)
{
	int *theirs[] = { &p->in[0], &p->out[1], &p->err[1] };

	for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
		if (*theirs[i] >= 0)
			close(*theirs[i]);
	sb->in_fd = p->in[1];
	sb->out_fd = p->out[0];
	sb->err_fd = p->err[0];
	/* A command that stops reading must not block us on a full pipe. */
	if (sb->in_fd >= 0)
		fcntl(sb->in_fd, F_SETFL, O_NONBLOCK);
}
