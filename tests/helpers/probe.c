/* probe - make one system call and print its errno name ("OK" on success).
 *
 *   probe OP PATH [ARG]
 *
 * Tests compare the printed names, never strerror text.  Exit status 0
 * when the call was made (whatever it returned), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int report(int r)
{
	if (r < 0)
		printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	else
		printf("OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *op, *p, *a;
	struct stat st;
	char buf[4096];
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: probe OP PATH [ARG]\n");
		return 2;
	}
	op = argv[1];
	p = argv[2];
	a = argc > 3 ? argv[3] : NULL;
	if (!strcmp(op, "open-r"))
		return report(open(p, O_RDONLY));
	if (!strcmp(op, "open-w"))
		return report(open(p, O_WRONLY));
	if (!strcmp(op, "open-rw"))
		return report(open(p, O_RDWR));
	if (!strcmp(op, "open-trunc"))
		return report(open(p, O_RDONLY | O_TRUNC));
	if (!strcmp(op, "creat"))
		return report(open(p, O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (!strcmp(op, "read")) {
		fd = open(p, O_RDONLY);
		return report(fd < 0 ? fd : (int)read(fd, buf, sizeof(buf)));
	}
	if (!strcmp(op, "stat"))
		return report(stat(p, &st));
	if (!strcmp(op, "lstat"))
		return report(lstat(p, &st));
	if (!strcmp(op, "access-r"))
		return report(access(p, R_OK));
	if (!strcmp(op, "access-w"))
		return report(access(p, W_OK));
	if (!strcmp(op, "access-x"))
		return report(access(p, X_OK));
	if (!strcmp(op, "readlink"))
		return report((int)readlink(p, buf, sizeof(buf)));
	if (!strcmp(op, "opendir"))
		return report(open(p, O_RDONLY | O_DIRECTORY));
	if (!strcmp(op, "chdir"))
		return report(chdir(p));
	if (!strcmp(op, "unlink"))
		return report(unlink(p));
	if (!strcmp(op, "rmdir"))
		return report(rmdir(p));
	if (!strcmp(op, "mkdir"))
		return report(mkdir(p, 0755));
	if (!strcmp(op, "truncate"))
		return report(truncate(p, 0));
	if (!strcmp(op, "chmod"))
		return report(chmod(p, 0777));
	if (!strcmp(op, "rename") && a)
		return report(rename(p, a));
	if (!strcmp(op, "link") && a)
		return report(link(p, a));
	if (!strcmp(op, "symlink") && a)
		return report(symlink(a, p));
	if (!strcmp(op, "mkfifo"))
		return report(mkfifo(p, 0644));
	if (!strcmp(op, "mknod-dev"))
		return report(mknod(p, S_IFCHR | 0644, makedev(1, 3)));
	if (!strcmp(op, "setxattr"))
		return report(setxattr(p, "user.afs", "1", 1, 0));
	if (!strcmp(op, "getxattr"))
		return report((int)getxattr(p, "user.afs", buf, sizeof(buf)));
	if (!strcmp(op, "mmap-write")) {
		void *m;

		fd = open(p, O_RDONLY);
		if (fd < 0)
			return report(fd);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		return report(m == MAP_FAILED ? -1 : 0);
	}
	fprintf(stderr, "probe: unknown op '%s'\n", op);
	return 2;
}
