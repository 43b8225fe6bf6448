/* query.h - afs-audit's queries over audit logs. */
#ifndef AFS_AUDIT_QUERY_H
#define AFS_AUDIT_QUERY_H

#include <stdbool.h>
#include <stdint.h>

enum format { FMT_TEXT, FMT_JSON, FMT_TSV };

struct glob;
struct query {
	/* filters, all of which must hold; NULL or empty: any */
	char **ops;
	size_t nops;
	struct glob *path_glob;
	void *path_re;		/* pcre2_code */
	struct glob *host_glob;	/* compiled lower case; matched against a
				 * connect record's host in lower case */
	char **decisions;	/* any of them */
	size_t ndecisions;
	long pid;		/* -1: any */
	const char *comm;
	const char *mount;
	const char *session;
	int64_t since_us, until_us;	/* INT64_MIN / INT64_MAX: open */

	enum format format;
	bool summary;
	bool follow;
};

/* Print the records of LOGS (stdin when NLOGS is 0) that pass Q, merged by
 * time.  Returns the exit status. */
int query_run(const struct query *q, char *const *logs, int nlogs);

/* "2026-11-26T10:00:00Z", "...+02:00", "10m", "2h", "1d", "30s" -> UTC
 * microseconds; -1 on a bad value. */
int time_parse(const char *s, int64_t now_us, int64_t *out);

#endif
