/* query.c - filter, merge, format and summarise audit logs.
 *
 * Every log is read line by line; a line that is not a schema-1 record is
 * reported with its file and line number and skipped.  Several logs are
 * merged by time (records' ts sort as strings: fixed-width UTC).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "glob.h"
#include "query.h"
#include "util.h"

/* A line longer than this is not a record afs wrote: skipped as malformed
 * rather than read into memory whole. */
#define LINE_MAX_BYTES (1 << 20)

struct src {
	const char *name;	/* "-" for stdin */
	FILE *f;
	long lineno;
	char *line;		/* the current record's line, without '\n' */
	size_t cap;
	size_t len;
	json_t *rec;		/* NULL at EOF */
	int64_t ts;
	dev_t dev;
	ino_t ino;
	bool failed;	/* a read error: nothing (more) read from it */
	bool any;	/* some line was read */
};

/* ---- time ------------------------------------------------------------------ */


/* Days from 1970-01-01 to Y-M-D (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The form afs writes, YYYY-MM-DDTHH:MM:SS.uuuuuuZ, without strptime. */
static int fixed_ts(const char *s, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	int v[7] = { 0 }, f = 0;
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return -1;
		} else if (s[i] != shape[i]) {
			return -1;
		}
	}
	if (s[i] != '\0')
		return -1;
	v[0] = atoi(s);
	v[1] = atoi(s + 5);
	v[2] = atoi(s + 8);
	v[3] = atoi(s + 11);
	v[4] = atoi(s + 14);
	v[5] = atoi(s + 17);
	f = atoi(s + 20);
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	*out = ((days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400) + v[3] * 3600 +
		v[4] * 60 + v[5]) * 1000000 + f;
	return 0;
}

static bool digits(const char *s, int n)
{
	while (n--)
		if (*s < '0' || *s++ > '9')
			return false;
	return true;
}

/* RFC 3339: 2026-11-26T10:00:00[.frac](Z|+hh:mm|-hh:mm), T or t, Z or z;
 * every field its fixed width and in range. */
static int rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec;
	long frac = 0, off = 0;
	const char *p = s + 19;
	int nd = 0;

	if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return -1;
	y = atoi(s);
	mo = atoi(s + 5);
	d = atoi(s + 8);
	h = atoi(s + 11);
	mi = atoi(s + 14);
	sec = atoi(s + 17);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 6)
				frac = frac * 10 + (*p - '0');
		if (nd == 0)
			return -1;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' &&
		   digits(p + 4, 2) && atoi(p + 1) <= 23 && atoi(p + 4) <= 59) {
		off = (atoi(p + 1) * 3600L + atoi(p + 4) * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400) + h * 3600 + mi * 60 +
		sec - off) * 1000000 + frac;
	return 0;
}

int time_parse(const char *s, int64_t now_us, int64_t *out)
{
	char *end;
	long n;

	if (rfc3339(s, out) == 0)
		return 0;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	/* At most a century ago: no overflow below. */
	if (errno || n < 0 || n > 36525L * 86400 || end[0] == '\0' || end[1] != '\0')
		return -1;
	switch (*end) {
	case 's':
		break;
	case 'm':
		n *= 60;
		break;
	case 'h':
		n *= 3600;
		break;
	case 'd':
		n *= 86400;
		break;
	default:
		return -1;
	}
	if (n > 36525L * 86400)
		return -1;
	*out = now_us - (int64_t)n * 1000000;
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static const char *str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static void malformed(struct src *s, const char *why)
{
	fprintf(stderr, "%s: %s:%ld: malformed record: %s\n", progname,
		strcmp(s->name, "-") ? s->name : "(stdin)", s->lineno, why);
}

/* Would VAL appear as itself in a JSON line?  Not when JSON escapes some
 * of its bytes. */
static bool raw_searchable(const char *val)
{
	for (; *val; val++)
		if (*val == '"' || *val == '\\' || (unsigned char)*val < 0x20 ||
		    (unsigned char)*val >= 0x7f)
			return false;
	return true;
}

static bool raw_searchable_n(const char *val, size_t n)
{
	char *copy = xstrndup(val, n);
	bool ok = raw_searchable(copy);

	free(copy);
	return ok;
}

/* Might LINE hold one of the N values (true when N is 0)? */
static bool any_in(const char *line, size_t len, char **vals, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!raw_searchable(vals[i]) || memmem(line, len, vals[i], strlen(vals[i])))
			return true;
	return n == 0;
}

/* The next line of S into s->line, its newline kept: its length, -1 at
 * EOF or on a read error (s->failed then), -2 when it is longer than
 * LINE_MAX_BYTES (read past, never held). */
static ssize_t read_line(struct src *s)
{
	size_t n = 0;
	int c;

	if (!s->line) {
		s->cap = LINE_MAX_BYTES + 2;
		s->line = xmalloc(s->cap);
	}
	clearerr(s->f);
	while ((c = getc_unlocked(s->f)) != EOF) {
		if (n == LINE_MAX_BYTES) {
			/* Too long: skip to its end without keeping it. */
			while (c != '\n' && c != EOF)
				c = getc_unlocked(s->f);
			return -2;
		}
		s->line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (ferror(s->f)) {
		if (!s->failed)
			error("cannot read '%s': %m", strcmp(s->name, "-") ? s->name : "(stdin)");
		s->failed = true;
		return -1;
	}
	if (n == 0)
		return -1;
	s->line[n] = '\0';
	return (ssize_t)n;
}

/* Could the raw LINE pass Q's equality filters and path glob?  A cheap look before the
 * JSON parse: a record whose decision is "deny" holds the bytes deny
 * somewhere, unless it spells them with \u escapes, which keeps it in. */
static bool may_pass(const struct query *q, const char *line, size_t len)
{
	const char *vals[3] = { q->comm, q->mount, q->session };
	size_t i;

	if (memmem(line, len, "\\u", 2) || memmem(line, len, "\\/", 2))
		return true;
	if (q->path_glob) {
		size_t plen;
		const char *prefix = glob_prefix(q->path_glob, &plen);

		/* The glob's literal prefix, if it says more than "/", less a
		 * trailing "/" (a glob P/STARSTAR matches P itself). */
		if (plen > 1 && prefix[plen - 1] == '/')
			plen--;
		if (plen > 1 && raw_searchable_n(prefix, plen) && !memmem(line, len, prefix, plen))
			return false;
	}
	for (i = 0; i < ARRAY_SIZE(vals); i++)
		if (vals[i] && raw_searchable(vals[i]) && !memmem(line, len, vals[i], strlen(vals[i])))
			return false;
	/* --host matches in any case: only the key can be looked for. */
	if (q->host_glob && !memmem(line, len, "\"host\"", 6))
		return false;
	if (!any_in(line, len, q->ops, q->nops) || !any_in(line, len, q->decisions, q->ndecisions))
		return false;
	return true;
}

/* Read up to the next record; false at EOF.  FOLLOW: a last line without
 * its newline is still being written: leave it for the next try.  Lines
 * shaped like an object that cannot pass Q are skipped unparsed. */
static bool next_record(struct src *s, bool follow, const struct query *q)
{
	if (s->rec) {
		json_decref(s->rec);
		s->rec = NULL;
	}
	for (;;) {
		ssize_t n;
		json_error_t err;
		json_t *rec;
		const char *ts;

		n = read_line(s);
		if (n == -2) {
			s->lineno++;
			malformed(s, "line longer than 1 MiB");
			continue;
		}
		if (n < 0)
			return false;
		if (follow && s->line[n - 1] != '\n' && s->f != stdin) {
			fseeko(s->f, -(off_t)n, SEEK_CUR);
			return false;
		}
		s->lineno++;
		s->any = true;
		if (n > 0 && s->line[n - 1] == '\n')
			s->line[--n] = '\0';
		s->len = (size_t)n;
		if (n == 0)
			continue;
		if (s->line[0] == '{' && s->line[n - 1] == '}' && !may_pass(q, s->line, (size_t)n))
			continue;
		rec = json_loadb(s->line, (size_t)n, JSON_REJECT_DUPLICATES, &err);
		if (!rec) {
			malformed(s, err.text);
			continue;
		}
		if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "v")) != 1) {
			malformed(s, "not a version 1 record");
			json_decref(rec);
			continue;
		}
		ts = str(rec, "ts");
		if (!ts || (fixed_ts(ts, &s->ts) < 0 && rfc3339(ts, &s->ts) < 0)) {
			malformed(s, "no valid ts");
			json_decref(rec);
			continue;
		}
		s->rec = rec;
		return true;
	}
}

/* ---- connect records ----------------------------------------------------------- */

/* A connection through afs-proxy (afs-proxy(1) AUDIT): where a file
 * record has a path, it has a host and a port. */
static bool is_connect(json_t *rec)
{
	const char *op = str(rec, "op");

	return op && strcmp(op, "connect") == 0;
}

/* "HOST:PORT" as a request names it: an IPv6 address in brackets;
 * "HOST" without a PORT, "-" without a HOST. */
static char *host_port_of(const char *host, json_t *port)
{
	bool v6;

	if (!host)
		return xstrdup("-");
	v6 = strchr(host, ':') && host[0] != '[';
	if (!json_is_integer(port))
		return v6 ? xasprintf("[%s]", host) : xstrdup(host);
	return v6 ? xasprintf("[%s]:%" JSON_INTEGER_FORMAT, host, json_integer_value(port))
		  : xasprintf("%s:%" JSON_INTEGER_FORMAT, host, json_integer_value(port));
}

static char *host_port(json_t *rec)
{
	return host_port_of(str(rec, "host"), json_object_get(rec, "port"));
}

/* HOST in the form netpolicy compares names in (afs-policy(5) NETWORK):
 * lower case, no final dot, an IPv6 address without its brackets. */
static char *host_norm(const char *host)
{
	size_t len = strlen(host), i;
	char *h;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len > 1 && host[len - 1] == '.')
		len--;
	h = xstrndup(host, len);
	for (i = 0; i < len; i++)
		h[i] = (char)tolower((unsigned char)h[i]);
	return h;
}

/* Does HOST match --host G?  Normalised, and so without the brackets
 * of an IPv6 address, which a glob would take for a class. */
static bool host_match(const struct glob *g, const char *host)
{
	char *h = host_norm(host);
	bool m = glob_match(g, h, strlen(h));

	free(h);
	return m;
}

/* ---- filtering ---------------------------------------------------------------- */

static bool pass(const struct query *q, json_t *rec, int64_t ts)
{
	const char *op = str(rec, "op"), *path = str(rec, "path");
	size_t i;

	if (ts < q->since_us || ts > q->until_us)
		return false;
	if (q->nops) {
		for (i = 0; i < q->nops; i++)
			if (op && strcmp(op, q->ops[i]) == 0)
				break;
		if (i == q->nops)
			return false;
	}
	if (q->path_glob && (!path || !glob_match(q->path_glob, path, strlen(path))))
		return false;
	if (q->host_glob && (!str(rec, "host") || !host_match(q->host_glob, str(rec, "host"))))
		return false;
	if (q->path_re) {
		pcre2_match_data *md;
		int rc;

		if (!path)
			return false;
		md = pcre2_match_data_create(1, NULL);
		rc = pcre2_match(q->path_re, (PCRE2_SPTR)path, strlen(path), 0, 0, md, NULL);
		pcre2_match_data_free(md);
		if (rc < 0)
			return false;
	}
	if (q->ndecisions) {
		const char *d = str(rec, "decision");

		for (i = 0; d && i < q->ndecisions; i++)
			if (strcmp(d, q->decisions[i]) == 0)
				break;
		if (!d || i == q->ndecisions)
			return false;
	}
	if (q->pid >= 0 && json_integer_value(json_object_get(rec, "pid")) != q->pid)
		return false;
	if (q->comm && (!str(rec, "comm") || strcmp(str(rec, "comm"), q->comm)))
		return false;
	if (q->mount && (!str(rec, "mount") || strcmp(str(rec, "mount"), q->mount)))
		return false;
	if (q->session && (!str(rec, "session") || strcmp(str(rec, "session"), q->session)))
		return false;
	return true;
}

/* ---- output ------------------------------------------------------------------- */

static const char *const tsv_cols[] = { "ts", "mount", "session", "pid", "uid", "comm", "op",
	"path", "to", "mode", "decision", "errno", "rule", "reason", "bytes", "count" };
/* After those when the query asks for connect records (tsv_connect). */
static const char *const tsv_connect_cols[] = { "proto", "host", "port", "addr", "bytes_out",
	"bytes_in", "duration_ms", "limit" };

/* Does Q ask for connect records, so that tsv has their columns too?
 * Decided from the query alone: the header comes before any record, and
 * the columns of a query that does not stay as they always were. */
static bool tsv_connect(const struct query *q)
{
	size_t i;

	if (q->host_glob)
		return true;
	for (i = 0; i < q->nops; i++)
		if (strcmp(q->ops[i], "connect") == 0)
			return true;
	return false;
}

/* A field for a TSV or text column: tabs, newlines and backslashes
 * escaped so that a record stays one line. */
static void put_field(json_t *v)
{
	if (!v)
		return;
	if (json_is_integer(v))
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_string_value(v))
		fput_field(stdout, json_string_value(v));
}

/* A string field for the text format, "-" when absent or not a string. */
static const char *or_dash(json_t *rec, const char *key)
{
	const char *s = str(rec, key);

	return s ? s : "-";
}

/* HOST:PORT[ -> ADDR][ ERRNO][ NB out][ NB in][ limit=LIMIT] */
static void print_text_connect(json_t *rec)
{
	char *hp = host_port(rec);
	json_t *out = json_object_get(rec, "bytes_out"), *in = json_object_get(rec, "bytes_in");

	fput_field(stdout, hp);
	free(hp);
	if (str(rec, "addr")) {
		fputs(" -> ", stdout);
		fput_field(stdout, str(rec, "addr"));
	}
	if (str(rec, "errno")) {
		putchar(' ');
		fput_field(stdout, str(rec, "errno"));
	}
	if (json_is_integer(out))
		printf(" %" JSON_INTEGER_FORMAT "B out", json_integer_value(out));
	if (json_is_integer(in))
		printf(" %" JSON_INTEGER_FORMAT "B in", json_integer_value(in));
	if (str(rec, "limit")) {
		fputs(" limit=", stdout);
		fput_field(stdout, str(rec, "limit"));
	}
}

static void print_text(json_t *rec)
{
	const char *ts = or_dash(rec, "ts");
	json_t *pid = json_object_get(rec, "pid");

	/* 2026-11-26 13:41:10.445  deny  open      29048 cat    /path ... */
	printf("%.10s %.12s  ", ts, strlen(ts) > 11 ? ts + 11 : "");
	fput_field(stdout, or_dash(rec, "decision"));
	printf("%*s", 6 - (int)strlen(or_dash(rec, "decision")) > 0 ?
		      6 - (int)strlen(or_dash(rec, "decision")) : 1, "");
	fput_field(stdout, or_dash(rec, "op"));
	printf("%*s", 9 - (int)strlen(or_dash(rec, "op")) > 0 ? 9 - (int)strlen(or_dash(rec, "op")) : 1,
	       "");
	if (json_is_integer(pid))
		printf("%7" JSON_INTEGER_FORMAT " ", json_integer_value(pid));
	else
		printf("%7s ", "-");
	fput_field(stdout, or_dash(rec, "comm"));
	printf("%*s", 16 - (int)strlen(or_dash(rec, "comm")) > 0 ?
		      16 - (int)strlen(or_dash(rec, "comm")) : 1, "");
	if (is_connect(rec)) {
		print_text_connect(rec);
	} else {
		fput_field(stdout, or_dash(rec, "path"));
		if (str(rec, "to")) {
			fputs(" -> ", stdout);
			fput_field(stdout, str(rec, "to"));
		}
		if (str(rec, "mode")) {
			fputs(" [", stdout);
			fput_field(stdout, str(rec, "mode"));
			putchar(']');
		}
		if (str(rec, "errno")) {
			putchar(' ');
			fput_field(stdout, str(rec, "errno"));
		}
	}
	if (json_is_integer(json_object_get(rec, "bytes")))
		printf(" %" JSON_INTEGER_FORMAT "B",
		       json_integer_value(json_object_get(rec, "bytes")));
	if (json_is_integer(json_object_get(rec, "count")))
		printf(" x%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(rec, "count")));
	if (str(rec, "rule")) {
		fputs("  ", stdout);
		fput_field(stdout, str(rec, "rule"));
	}
	putchar('\n');
}

static void print_tsv(const struct query *q, json_t *rec)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tsv_cols); i++) {
		if (i)
			putchar('\t');
		if (is_connect(rec) && strcmp(tsv_cols[i], "path") == 0) {
			/* where the connection went, as the text format has it */
			char *hp = host_port(rec);

			fput_field(stdout, hp);
			free(hp);
			continue;
		}
		put_field(json_object_get(rec, tsv_cols[i]));
	}
	for (i = 0; tsv_connect(q) && i < ARRAY_SIZE(tsv_connect_cols); i++) {
		putchar('\t');
		put_field(json_object_get(rec, tsv_connect_cols[i]));
	}
	putchar('\n');
}

static void print_record(const struct query *q, struct src *s)
{
	switch (q->format) {
	case FMT_JSON:
		fwrite(s->line, 1, s->len, stdout);
		putchar('\n');
		break;
	case FMT_TSV:
		print_tsv(q, s->rec);
		break;
	case FMT_TEXT:
		print_text(s->rec);
		break;
	}
}

/* ---- summary ------------------------------------------------------------------ */

struct summary {
	json_t *by_op;		/* "op decision" -> count */
	json_t *paths;		/* path -> count */
	json_t *denied;		/* "path US decision US rule" -> count */
	json_t *procs;		/* "pid US uid US comm" -> count */
	/* connect records; host:port and reason escaped as printed, so that
	 * no control character (US included) is left in a key */
	json_t *hosts;		/* "HOST:PORT" -> count */
	json_t *host_stats;	/* "HOST:PORT" -> [allowed, denied, bytes out, bytes in] */
	json_t *host_denied;	/* "HOST:PORT US reason" -> count */
	long n;
	char first[40], last[40];
};

static void bump(json_t *obj, const char *key, json_int_t by)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + by : by));
}

/* How many events REC stands for: afs-fuse writes repeats of one record
 * within a second as one, with their "count". */
static json_int_t weight(json_t *rec)
{
	json_t *c = json_object_get(rec, "count");

	return json_is_integer(c) && json_integer_value(c) > 0 && !str(rec, "since")
		       ? json_integer_value(c) : 1;
}

/* S as fput_field writes it, in a string of its own. */
static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		die(1, "out of memory");
	fput_field(f, s);
	if (fclose(f) != 0)
		die(1, "out of memory");
	return buf;
}

/* Add BY (a count, or bytes the log says) to ARR[I], at most to the
 * largest integer: a sum of hand-made records must not overflow. */
static void bump_at(json_t *arr, size_t i, json_int_t by)
{
	json_int_t v = json_integer_value(json_array_get(arr, i));

	static_assert(sizeof(json_int_t) == sizeof(int64_t), "json_int_t is 64 bits");
	if (by <= 0)
		return;
	json_array_set_new(arr, i, json_integer(v > INT64_MAX - by ? INT64_MAX : v + by));
}

static void summary_add_connect(struct summary *sm, json_t *rec, json_int_t w)
{
	const char *dec = str(rec, "decision");
	/* One host however it was spelt, as netpolicy sees it. */
	char *host = str(rec, "host") ? host_norm(str(rec, "host")) : NULL;
	char *hp = host_port_of(host, json_object_get(rec, "port")), *key = escaped(hp);
	json_t *st, *out = json_object_get(rec, "bytes_out"), *in = json_object_get(rec, "bytes_in");

	st = json_object_get(sm->host_stats, key);
	if (!st) {
		st = json_pack("[iiii]", 0, 0, 0, 0);
		json_object_set_new(sm->host_stats, key, st);
	}
	bump(sm->hosts, key, w);
	if (dec && strcmp(dec, "allow") == 0)
		bump_at(st, 0, w);
	else if (dec)
		bump_at(st, 1, w);
	if (json_is_integer(out))
		bump_at(st, 2, json_integer_value(out));
	if (json_is_integer(in))
		bump_at(st, 3, json_integer_value(in));
	if (dec && strcmp(dec, "allow")) {
		/* Why: the verdict's reason, else what there is. */
		const char *why = str(rec, "reason") ? str(rec, "reason") :
				  str(rec, "rule") ? str(rec, "rule") :
				  str(rec, "errno") ? str(rec, "errno") : "-";
		char *ewhy = escaped(why), *dkey = xasprintf("%s\x1f%s", key, ewhy);

		bump(sm->host_denied, dkey, w);
		free(dkey);
		free(ewhy);
	}
	free(key);
	free(hp);
	free(host);
}

static void summary_add(struct summary *sm, json_t *rec)
{
	const char *op = str(rec, "op"), *dec = str(rec, "decision"), *path = str(rec, "path");
	const char *ts = str(rec, "ts");
	char *key;

	json_int_t w = weight(rec);

	if (!sm->n)
		snprintf(sm->first, sizeof(sm->first), "%s", ts);
	snprintf(sm->last, sizeof(sm->last), "%s", ts);
	sm->n += (long)w;
	key = xasprintf("%s %s", op ? op : "-", dec ? dec : "-");
	bump(sm->by_op, key, w);
	free(key);
	if (path)
		bump(sm->paths, path, w);
	if (dec && strcmp(dec, "allow") && path) {
		key = xasprintf("%s\x1f%s\x1f%s", path, dec, str(rec, "rule") ? str(rec, "rule") : "-");
		bump(sm->denied, key, w);
		free(key);
	}
	if (json_object_get(rec, "pid")) {
		/* A connect record has no uid: afs-proxy sees a process of the
		 * sandbox only by its pid there. */
		char *uid = json_object_get(rec, "uid") ?
			    xasprintf("%" JSON_INTEGER_FORMAT,
				      json_integer_value(json_object_get(rec, "uid"))) :
			    xstrdup("-");

		key = xasprintf("%" JSON_INTEGER_FORMAT "\x1f%s\x1f%s",
				json_integer_value(json_object_get(rec, "pid")), uid,
				str(rec, "comm") ? str(rec, "comm") : "-");
		bump(sm->procs, key, w);
		free(key);
		free(uid);
	}
	if (is_connect(rec))
		summary_add_connect(sm, rec, w);
}

struct kv {
	const char *key;
	long n;
};

static int by_count(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* OBJ's entries, most frequent first, at most LIMIT (0: all). */
static struct kv *sorted(json_t *obj, size_t *n, size_t limit)
{
	struct kv *v = xcalloc(json_object_size(obj) + 1, sizeof(*v));
	const char *key;
	json_t *val;
	size_t i = 0;

	json_object_foreach(obj, key, val) {
		v[i].key = key;
		v[i++].n = (long)json_integer_value(val);
	}
	qsort(v, i, sizeof(*v), by_count);
	*n = limit && i > limit ? limit : i;
	return v;
}

/* The two parts of connect records, only when there are some: the
 * summary of a log without them stays as it was. */
static void summary_print_hosts(struct summary *sm)
{
	struct kv *v;
	size_t n, i;

	printf("\nhosts (allowed, denied, bytes out, bytes in):\n");
	v = sorted(sm->hosts, &n, 0);
	for (i = 0; i < n; i++) {
		json_t *st = json_object_get(sm->host_stats, v[i].key);

		printf("  %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %12"
		       JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "  %s\n",
		       json_integer_value(json_array_get(st, 0)),
		       json_integer_value(json_array_get(st, 1)),
		       json_integer_value(json_array_get(st, 2)),
		       json_integer_value(json_array_get(st, 3)), v[i].key);
	}
	free(v);
	printf("\ndenied hosts:\n");
	v = sorted(sm->host_denied, &n, 0);
	if (!n)
		printf("  none\n");
	for (i = 0; i < n; i++) {
		/* HOST:PORT US reason, both escaped: one US */
		const char *us = strchr(v[i].key, '\x1f');

		if (us)
			printf("  %8ld  %.*s  (%s)\n", v[i].n, (int)(us - v[i].key), v[i].key,
			       us + 1);
	}
	free(v);
}

/* "pid US comm" of a processes key "pid US uid US comm"; NULL when it
 * is not one, *UID_DASH when the uid is "-". */
static char *pid_comm(const char *key, bool *uid_dash)
{
	const char *u = strchr(key, '\x1f'), *c = u ? strchr(u + 1, '\x1f') : NULL;

	if (!c)
		return NULL;
	*uid_dash = c - u == 2 && u[1] == '-';
	return xasprintf("%.*s%s", (int)(u - key), key, c);
}

/* Count the records of a process without a uid (connect records) in its
 * row with one, when there is exactly one such row of that pid and comm:
 * one process, one line.  Logs without such records are left as they
 * were. */
static void procs_fold(json_t *procs)
{
	json_t *index = json_object(), *val, *row;
	const char *key;
	void *tmp;
	bool dash;
	char *pc;

	json_object_foreach(procs, key, val) {
		if (!(pc = pid_comm(key, &dash)))
			continue;
		if (!dash)
			/* a second row of the same pid and comm: ambiguous */
			json_object_set_new(index, pc, json_string(json_object_get(index, pc) ?
								   "" : key));
		free(pc);
	}
	json_object_foreach_safe(procs, tmp, key, val) {
		if (!(pc = pid_comm(key, &dash)))
			continue;
		row = json_object_get(index, pc);
		if (dash && row && *json_string_value(row)) {
			bump(procs, json_string_value(row), json_integer_value(val));
			json_object_del(procs, key);
		}
		free(pc);
	}
	json_decref(index);
}

static void summary_print(struct summary *sm)
{
	struct kv *v;
	size_t n, i;

	printf("records: %ld", sm->n);
	if (sm->n)
		printf(" (%s to %s)", sm->first, sm->last);
	printf("\n\nby op and decision:\n");
	v = sorted(sm->by_op, &n, 0);
	for (i = 0; i < n; i++) {
		char op[64], dec[64];

		if (sscanf(v[i].key, "%63s %63s", op, dec) == 2)
			printf("  %-10s %-6s %8ld\n", op, dec, v[i].n);
	}
	free(v);
	printf("\nmost accessed paths:\n");
	v = sorted(sm->paths, &n, 20);
	for (i = 0; i < n; i++) {
		printf("  %8ld  ", v[i].n);
		fput_field(stdout, v[i].key);
		putchar('\n');
	}
	free(v);
	printf("\ndenied and hidden paths:\n");
	v = sorted(sm->denied, &n, 0);
	if (!n)
		printf("  none\n");
	for (i = 0; i < n; i++) {
		/* path US decision US rule: the unit separator, not a path's tab */
		const char *t2 = strrchr(v[i].key, '\x1f'), *t1 = t2;

		while (t1 && t1 > v[i].key && t1[-1] != '\x1f')
			t1--;
		t1 = t1 && t1 > v[i].key ? t1 - 1 : NULL;

		if (t1 && t2) {
			char *path = xstrndup(v[i].key, (size_t)(t1 - v[i].key));

			printf("  %8ld  %-6.*s ", v[i].n, (int)(t2 - t1 - 1), t1 + 1);
			fput_field(stdout, path);
			fputs("  (", stdout);
			fput_field(stdout, t2 + 1);
			fputs(")\n", stdout);
			free(path);
		}
	}
	free(v);
	if (json_object_size(sm->hosts))
		summary_print_hosts(sm);
	printf("\nprocesses:\n");
	procs_fold(sm->procs);
	v = sorted(sm->procs, &n, 0);
	for (i = 0; i < n; i++) {
		/* pid US uid US comm: comm last, whatever it holds */
		const char *uid = strchr(v[i].key, '\x1f'), *comm;
		long pid = atol(v[i].key);

		if (!uid)
			continue;
		comm = strchr(uid + 1, '\x1f');
		printf("  %8ld  pid %-7ld uid %-6.*s ", v[i].n, pid,
		       comm ? (int)(comm - uid - 1) : 1, comm ? uid + 1 : "-");
		fput_field(stdout, comm ? comm + 1 : "-");
		putchar('\n');
	}
	free(v);
}

/* ---- running ------------------------------------------------------------------ */

static bool src_open(struct src *s, const char *name)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->name = name;
	if (strcmp(name, "-") == 0) {
		s->f = stdin;
	} else {
		s->f = fopen(name, "re");
		if (!s->f) {
			error("cannot open '%s': %m", name);
			return false;
		}
	}
	if (fstat(fileno(s->f), &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	return true;
}

static void src_close(struct src *s)
{
	if (s->rec)
		json_decref(s->rec);
	if (s->f && s->f != stdin)
		fclose(s->f);
	free(s->line);
	s->f = NULL;
}

/* -f: was the file at S's name replaced (rotation) or cut (truncation)? */
static void follow_reopen(struct src *s)
{
	struct stat st, cur;
	FILE *f;

	if (s->f == stdin || stat(s->name, &st) < 0)
		return;
	if (fstat(fileno(s->f), &cur) < 0)
		return;
	if (st.st_dev == s->dev && st.st_ino == s->ino && st.st_size >= ftello(s->f))
		return;
	f = fopen(s->name, "re");
	if (!f)
		return;
	/* What is left in the old file has been read: start the new one. */
	fclose(s->f);
	s->f = f;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->lineno = 0;
}

int query_run(const struct query *q, char *const *logs, int nlogs)
{
	static char *const dash[] = { (char *)"-" };
	struct src *srcs;
	struct summary sm = { 0 };
	int i, nsrc = 0, nread;

	if (nlogs == 0) {
		logs = dash;
		nlogs = 1;
	}
	srcs = xcalloc((size_t)nlogs, sizeof(*srcs));
	for (i = 0; i < nlogs; i++)
		if (src_open(&srcs[nsrc], logs[i]))
			nsrc++;
	if (nsrc == 0) {
		free(srcs);
		return 1;
	}
	if (q->summary) {
		sm.by_op = json_object();
		sm.paths = json_object();
		sm.denied = json_object();
		sm.procs = json_object();
		sm.hosts = json_object();
		sm.host_stats = json_object();
		sm.host_denied = json_object();
	}
	if (q->format == FMT_TSV && !q->summary) {
		for (i = 0; i < (int)ARRAY_SIZE(tsv_cols); i++)
			printf("%s%s", i ? "\t" : "", tsv_cols[i]);
		for (i = 0; tsv_connect(q) && i < (int)ARRAY_SIZE(tsv_connect_cols); i++)
			printf("\t%s", tsv_connect_cols[i]);
		putchar('\n');
	}
	for (i = 0; i < nsrc; i++)
		next_record(&srcs[i], q->follow, q);
	for (;;) {
		struct src *best = NULL;

		for (i = 0; i < nsrc; i++)
			if (srcs[i].rec && (!best || srcs[i].ts < best->ts))
				best = &srcs[i];
		if (!best) {
			if (!q->follow)
				break;
			/* Follow: wait for more, across rotation. */
			fflush(stdout);
			usleep(200000);
			for (i = 0; i < nsrc; i++) {
				if (!next_record(&srcs[i], true, q)) {
					follow_reopen(&srcs[i]);
					next_record(&srcs[i], q->follow, q);
				}
			}
			continue;
		}
		if (pass(q, best->rec, best->ts)) {
			if (q->summary)
				summary_add(&sm, best->rec);
			else
				print_record(q, best);
		}
		next_record(best, q->follow, q);
	}
	if (q->summary) {
		summary_print(&sm);
		json_decref(sm.by_op);
		json_decref(sm.paths);
		json_decref(sm.denied);
		json_decref(sm.procs);
		json_decref(sm.hosts);
		json_decref(sm.host_stats);
		json_decref(sm.host_denied);
	}
	/* 0 unless nothing could be read: every log missing or unreadable. */
	nread = 0;
	for (i = 0; i < nsrc; i++) {
		nread += !srcs[i].failed;
		src_close(&srcs[i]);
	}
	free(srcs);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write the output: %m");
		return 1;
	}
	return nread ? 0 : 1;
}
