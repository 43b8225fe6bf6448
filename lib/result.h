/* result.h - the --json result object (afs-launch(1) JSON OUTPUT), shared
 * by afs-launch and afs-session. */
#ifndef AFS_RESULT_H
#define AFS_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Captured output: the first MAX bytes, and a count of the rest. */
struct capture {
	char *buf;
	size_t len, max;
	uint64_t dropped;
};

void capture_add(struct capture *c, const char *data, size_t n);

/* One line: {"exit_code","signal","timed_out","limit","duration_ms",
 * "stdout","stderr"}; a stream cut at MAX ends with a marker saying how
 * many bytes were dropped.  SIG 0 and LIMIT NULL print as null. */
void result_print_json(FILE *f, int status, int sig, bool timed_out, const char *limit,
		       int64_t duration_ms, const struct capture *out, const struct capture *err);

#endif
