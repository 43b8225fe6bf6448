/* fuzz-audit-query.c - libFuzzer target: afs-audit's reading of a log.
 * The input is a log (any bytes); it is read through query_run with
 * filters and each output format, and the summary.  Malformed lines must
 * be reported and skipped, never crash or hang; also time_parse on the
 * first line. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	int fd = memfd_create("log", MFD_CLOEXEC), saved_out, saved_err;
	char name[64], first[128];
	char *logs[1] = { name };
	static char *ops[] = { (char *)"open", (char *)"exec" };
	static char *dec[] = { (char *)"deny", (char *)"hide" };
	struct query q = { .pid = -1, .since_us = INT64_MIN, .until_us = INT64_MAX };
	int64_t t;
	size_t k;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(null_fd, 1);
	dup2(null_fd, 2);
	for (int fmt = 0; fmt < 4; fmt++) {
		q.format = fmt == 3 ? FMT_TEXT : (enum format)fmt;
		q.summary = fmt == 3;
		q.ops = fmt == 1 ? ops : NULL;
		q.nops = fmt == 1 ? 2 : 0;
		q.decisions = fmt == 2 ? dec : NULL;
		q.ndecisions = fmt == 2 ? 2 : 0;
		lseek(fd, 0, SEEK_SET);
		query_run(&q, logs, 1);
		fflush(stdout);
	}
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd);
	k = size < sizeof(first) - 1 ? size : sizeof(first) - 1;
	memcpy(first, data, k);
	first[k] = '\0';
	first[strcspn(first, "\n")] = '\0';
	(void)time_parse(first, 1700000000000000LL, &t);
	return 0;
}
