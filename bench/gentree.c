/* gentree - a deterministic test tree for the benchmarks.
 *
 *   gentree ROOT SEED FILES DIRS
 *
 * DIRS directories in a random tree shape, FILES files spread over them,
 * sizes lognormal (median about 3 KiB, at most 256 KiB), text content with
 * a word the benchmarks grep for.  The same SEED makes the same tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t state;

static uint64_t next(void)
{
	/* splitmix64: small, fast, good enough for shapes and sizes */
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uniform(void)
{
	return ((double)(next() >> 11) + 0.5) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
	static const char *const words[] = { "alpha", "beta", "gamma", "delta", "static",
		"return", "struct", "include", "needle", "buffer", "policy", "kernel" };
	char **dirs, path[4096], line[256];
	long nfiles, ndirs, i;

	if (argc != 5) {
		fprintf(stderr, "usage: gentree ROOT SEED FILES DIRS\n");
		return 2;
	}
	state = strtoull(argv[2], NULL, 10);
	nfiles = atol(argv[3]);
	ndirs = atol(argv[4]);
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	dirs = calloc((size_t)ndirs + 1, sizeof(*dirs));
	dirs[0] = strdup(argv[1]);
	for (i = 1; i <= ndirs; i++) {
		const char *parent = dirs[next() % (uint64_t)i];

		if (strlen(parent) > 3000)
			parent = dirs[0];
		snprintf(path, sizeof(path), "%s/d%ld", parent, i);
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			perror(path);
			return 1;
		}
		dirs[i] = strdup(path);
	}
	for (i = 0; i < nfiles; i++) {
		/* lognormal: median 3 KiB, sigma 1.2, capped at 256 KiB */
		double z = sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
		long size = (long)(3072 * exp(1.2 * z)), done = 0;
		int fd;

		if (size > 262144)
			size = 262144;
		snprintf(path, sizeof(path), "%s/f%ld.%s", dirs[next() % (uint64_t)(ndirs + 1)], i,
			 i % 3 ? "c" : "h");
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		while (done < size) {
			int n = snprintf(line, sizeof(line), "%s %s %s %ld;\n",
					 words[next() % 12], words[next() % 12],
					 words[next() % 12], done);

			if (done + n > size)
				n = (int)(size - done);
			if (write(fd, line, (size_t)n) != n) {
				perror(path);
				return 1;
			}
			done += n;
		}
		close(fd);
	}
	return 0;
}
