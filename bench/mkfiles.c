/* mkfiles - the small-file write workload of the benchmarks, in one process.
 *
 *   mkfiles create DIR N SIZE    create N files of SIZE bytes, then unlink them
 *   mkfiles append FILE...       append one byte to each FILE (first writes)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096], buf[65536];
	long n, size, i;
	int fd;

	if (argc >= 2 && !strcmp(argv[1], "append")) {
		for (i = 2; i < argc; i++) {
			fd = open(argv[i], O_WRONLY | O_APPEND);
			if (fd < 0 || write(fd, "x", 1) != 1) {
				perror(argv[i]);
				return 1;
			}
			close(fd);
		}
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "create")) {
		fprintf(stderr, "usage: mkfiles create DIR N SIZE | mkfiles append FILE...\n");
		return 2;
	}
	n = atol(argv[3]);
	size = atol(argv[4]);
	if (size > (long)sizeof(buf))
		size = sizeof(buf);
	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/m%ld", argv[2], i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, (size_t)size) != size) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/m%ld", argv[2], i);
		if (unlink(path) < 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
