/* audit.c - format audit records (see audit.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "util.h"

void audit_rec_init(struct audit_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->bytes = -1;
	r->exit_code = -1;
	r->duration_ms = -1;
	r->bytes_out = -1;
	r->bytes_in = -1;
}

static void grow(struct abuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 256;
	while (b->len + more > b->cap)
		b->cap *= 2;
	b->p = xrealloc(b->p, b->cap);
}

static void put(struct abuf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void abuf_add(struct abuf *b, const char *p, size_t n)
{
	put(b, p, n);
}

size_t audit_line_body(const char *line, size_t len)
{
	/* {"v":1,"ts":"...", -- the first two fields of every record. */
	static const char head[] = "{\"v\":1,\"ts\":\"";
	const char *q;

	if (len < sizeof(head) - 1 || memcmp(line, head, sizeof(head) - 1) != 0)
		return 0;
	q = memchr(line + sizeof(head) - 1, '"', len - (sizeof(head) - 1));
	return q ? (size_t)(q - line) + 1 : 0;
}

static void puts_(struct abuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at S (at most N bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void json_put_string(struct abuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	char esc[8];

	grow(b, n + 2);
	b->p[b->len++] = '"';
	while (i < n) {
		unsigned char c = s[i];
		size_t l;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(b, esc, 2);
			i++;
		} else if (c == '\n') {
			put(b, "\\n", 2);
			i++;
		} else if (c == '\t') {
			put(b, "\\t", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(b, esc, 6);
			i++;
		} else if ((l = utf8_len(s + i, n - i)) > 0) {
			put(b, (const char *)s + i, l);
			i += l;
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(b, esc, 6);
			i++;
		}
	}
	grow(b, 1);
	b->p[b->len++] = '"';
}

static void put_string(struct abuf *b, const char *str)
{
	json_put_string(b, str, strlen(str));
}

static void key(struct abuf *b, const char *k)
{
	grow(b, strlen(k) + 4);
	if (b->len && b->p[b->len - 1] != '{')
		b->p[b->len++] = ',';
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, k, strlen(k));
	b->len += strlen(k);
	b->p[b->len++] = '"';
	b->p[b->len++] = ':';
}

static void field_str(struct abuf *b, const char *k, const char *v)
{
	if (!v)
		return;
	key(b, k);
	put_string(b, v);
}

static void field_num(struct abuf *b, const char *k, long long v)
{
	char num[32];

	key(b, k);
	snprintf(num, sizeof(num), "%lld", v);
	puts_(b, num);
}

/* RFC 3339, UTC, microseconds. */
static void format_ts(const struct timespec *t, char *out, size_t size)
{
	struct tm tm;
	size_t n;

	gmtime_r(&t->tv_sec, &tm);
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%06ldZ", t->tv_nsec / 1000);
}

void audit_format(struct abuf *b, const struct audit_rec *r)
{
	char ts[64];

	format_ts(&r->ts, ts, sizeof(ts));

	grow(b, 1);
	b->p[b->len++] = '{';
	field_num(b, "v", 1);
	field_str(b, "ts", ts);
	field_str(b, "mount", r->mount);
	field_str(b, "session", r->session);
	if (r->pid)
		field_num(b, "pid", r->pid);
	if (r->has_uid)
		field_num(b, "uid", r->uid);
	field_str(b, "comm", r->comm);
	field_str(b, "op", r->op);
	field_str(b, "path", r->path);
	field_str(b, "to", r->to);
	field_str(b, "proto", r->proto);
	field_str(b, "host", r->host);
	if (r->port > 0)
		field_num(b, "port", r->port);
	field_str(b, "addr", r->addr);
	field_str(b, "mode", r->mode);
	field_str(b, "decision", r->decision);
	if (r->err)
		field_str(b, "errno", audit_errno_name(r->err) ? audit_errno_name(r->err) : "E?");
	field_str(b, "rule", r->rule);
	field_str(b, "reason", r->reason);
	if (r->bytes >= 0)
		field_num(b, "bytes", r->bytes);
	if (r->bytes_out >= 0)
		field_num(b, "bytes_out", r->bytes_out);
	if (r->bytes_in >= 0)
		field_num(b, "bytes_in", r->bytes_in);
	if (r->argv) {
		char *const *a;

		key(b, "argv");
		puts_(b, "[");
		for (a = r->argv; *a; a++) {
			if (a != r->argv)
				puts_(b, ",");
			put_string(b, *a);
		}
		puts_(b, "]");
	}
	if (r->exit_code >= 0)
		field_num(b, "exit", r->exit_code);
	if (r->signal > 0) {
		const char *name = sigabbrev_np(r->signal);
		char sig[32];

		snprintf(sig, sizeof(sig), "SIG%s", name ? name : "?");
		field_str(b, "signal", sig);
	}
	if (r->duration_ms >= 0)
		field_num(b, "duration_ms", r->duration_ms);
	field_str(b, "limit", r->limit);
	field_str(b, "seccomp", r->seccomp);
	if (r->count > 0)
		field_num(b, "count", r->count);
	if (r->since) {
		char since[40];

		format_ts(r->since, since, sizeof(since));
		field_str(b, "since", since);
	}
	puts_(b, "}\n");
}

void abuf_free(struct abuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const char *const level_names[] = { "off", "deny", "write", "access" };

int audit_level_parse(const char *s, enum audit_level *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum audit_level)i;
			return 0;
		}
	}
	return -1;
}

const char *audit_level_name(enum audit_level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

const char *audit_errno_name(int err)
{
	return strerrorname_np(err);
}

int audit_append(int fd, const struct audit_rec *r)
{
	struct abuf b = { 0 };
	ssize_t w;
	int e;

	audit_format(&b, r);
	w = write(fd, b.p, b.len);
	e = w < 0 ? -errno : w != (ssize_t)b.len ? -EIO : 0;
	abuf_free(&b);
	return e;
}

int audit_append_exec(int fd, struct audit_rec *r)
{
	clock_gettime(CLOCK_REALTIME, &r->ts);
	r->op = "exec";
	r->pid = getpid();
	r->uid = getuid();
	r->has_uid = true;
	return audit_append(fd, r);
}
