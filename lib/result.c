/* result.c - the result object of afs-launch --json and afs-session exec
 * --json (afs-launch(1) JSON OUTPUT), and the bounded capture behind it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "result.h"
#include "util.h"

void capture_add(struct capture *c, const char *data, size_t n)
{
	size_t keep = c->len < c->max ? c->max - c->len : 0;

	if (keep > n)
		keep = n;
	if (keep) {
		c->buf = xrealloc(c->buf, c->len + keep + 1);
		memcpy(c->buf + c->len, data, keep);
		c->len += keep;
	}
	c->dropped += n - keep;
}

static void json_capture(struct abuf *b, const char *key, const struct capture *c)
{
	char marker[96];
	size_t klen = strlen(key);

	b->p = xrealloc(b->p, b->len + klen + 4);
	b->p[b->len++] = ',';
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, key, klen);
	b->len += klen;
	b->p[b->len++] = '"';
	b->p[b->len++] = ':';
	b->cap = b->len;
	if (!c->dropped) {
		json_put_string(b, c->buf ? c->buf : "", c->len);
		return;
	}
	/* The kept bytes, then a marker that says how much is missing. */
	int m = snprintf(marker, sizeof(marker), "\n[%s: output truncated: %llu bytes dropped]\n",
			 progname, (unsigned long long)c->dropped);
	char *all = xmalloc(c->len + (size_t)m);

	memcpy(all, c->buf, c->len);
	memcpy(all + c->len, marker, (size_t)m);
	json_put_string(b, all, c->len + (size_t)m);
	free(all);
}

void result_print_json(FILE *f, int status, int sig_no, bool timed_out, const char *limit,
		       int64_t duration_ms, const struct capture *out, const struct capture *err)
{
	struct abuf b = { 0 };
	char head[256];
	const char *sig = sig_no ? sigabbrev_np(sig_no) : NULL;
	char signame[32];

	if (sig)
		snprintf(signame, sizeof(signame), "\"SIG%s\"", sig);
	snprintf(head, sizeof(head),
		 "{\"exit_code\":%d,\"signal\":%s,\"timed_out\":%s,\"limit\":%s%s%s,"
		 "\"duration_ms\":%lld",
		 status, sig ? signame : "null", timed_out ? "true" : "false",
		 limit ? "\"" : "", limit ? limit : "null", limit ? "\"" : "",
		 (long long)duration_ms);
	b.p = xstrdup(head);
	b.len = b.cap = strlen(head);
	json_capture(&b, "stdout", out);
	json_capture(&b, "stderr", err);
	b.p = xrealloc(b.p, b.len + 2);
	b.p[b.len++] = '}';
	b.p[b.len++] = '\n';
	if (fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0)
		error("cannot write the result: %m");
	abuf_free(&b);
}

