/* test-audit-format.c - audit records as bytes (lib/audit.c): the field
 * order and names of afs-fuse(1) AUDIT LOG, Fields, absent fields left
 * out, and the escaping of afs-fuse(1) AUDIT LOG, Escaping (any byte
 * sequence stays one valid JSON line; bytes that are not UTF-8 as \u00NN).
 *
 * Prints TAP; exits 0 iff every case passes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "tap.h"

/* 2023-11-14T22:13:20.123456Z */
static const struct timespec TS = { 1700000000, 123456789 };

static void rec_is(const char *desc, const struct audit_rec *r, const char *want)
{
	struct abuf b = { 0 };

	audit_format(&b, r);
	tap_mem(desc, want, strlen(want), b.p, b.len);
	abuf_free(&b);
}

/* json_put_string of N bytes at S must give WANT (quotes included). */
static void json_is(const char *desc, const char *s, size_t n, const char *want)
{
	struct abuf b = { 0 };

	json_put_string(&b, s, n);
	tap_mem(desc, want, strlen(want), b.p, b.len);
	abuf_free(&b);
}

#define JS(desc, lit, want) json_is(desc, lit, sizeof(lit) - 1, want)

int main(void)
{
	struct audit_rec r;

	/* ---- whole records ---------------------------------------------- */
	audit_rec_init(&r);
	r.ts = TS;
	rec_is("a record with every optional field absent", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\"}\n");

	audit_rec_init(&r);
	r.ts = TS;
	r.mount = "proj";
	r.session = "agent1";
	r.pid = 4242;
	r.uid = 0;
	r.has_uid = true;
	r.comm = "cat";
	r.op = "open";
	r.path = "/.env";
	r.mode = "r";
	r.decision = "hide";
	r.err = ENOENT;
	r.rule = "policies/agent-safe.yaml:17";
	r.reason = "secrets";
	rec_is("a hide: fields in the schema's order, uid 0 kept", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"mount\":\"proj\","
	       "\"session\":\"agent1\",\"pid\":4242,\"uid\":0,\"comm\":\"cat\","
	       "\"op\":\"open\",\"path\":\"/.env\",\"mode\":\"r\",\"decision\":\"hide\","
	       "\"errno\":\"ENOENT\",\"rule\":\"policies/agent-safe.yaml:17\","
	       "\"reason\":\"secrets\"}\n");

	audit_rec_init(&r);
	r.ts = TS;
	r.op = "rename";
	r.path = "/a";
	r.to = "/b";
	r.decision = "allow";
	r.bytes = 0;
	rec_is("a rename: to after path, bytes 0 kept", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"op\":\"rename\","
	       "\"path\":\"/a\",\"to\":\"/b\",\"decision\":\"allow\",\"bytes\":0}\n");

	audit_rec_init(&r);
	r.ts = TS;
	r.bytes = INT64_MAX;
	r.err = EACCES;
	rec_is("bytes up to INT64_MAX, errno by name", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"errno\":\"EACCES\","
	       "\"bytes\":9223372036854775807}\n");

	audit_rec_init(&r);
	r.ts = TS;
	r.err = 100000;
	rec_is("an errno without a name is E?", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"errno\":\"E?\"}\n");

	{
		char *const argv[] = { (char *)"sh", (char *)"-c", (char *)"echo \"hi\"\n", NULL };
		char *const noargs[] = { NULL };

		audit_rec_init(&r);
		r.ts = TS;
		r.op = "exec";
		r.argv = argv;
		r.exit_code = 0;
		r.duration_ms = 12;
		r.seccomp = "off";
		rec_is("an exec record: argv as an array, exit 0 kept", &r,
		       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"op\":\"exec\","
		       "\"argv\":[\"sh\",\"-c\",\"echo \\\"hi\\\"\\n\"],\"exit\":0,"
		       "\"duration_ms\":12,\"seccomp\":\"off\"}\n");

		audit_rec_init(&r);
		r.ts = TS;
		r.argv = noargs;
		r.signal = SIGKILL;
		r.limit = "memory";
		rec_is("an empty argv, a signal by name, the limit", &r,
		       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"argv\":[],"
		       "\"signal\":\"SIGKILL\",\"limit\":\"memory\"}\n");
	}

	{
		struct timespec since = { 1699999999, 999999 };

		audit_rec_init(&r);
		r.ts = TS;
		r.op = "audit-dropped";
		r.count = 3;
		r.since = &since;
		rec_is("audit-dropped: count and since last", &r,
		       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"op\":\"audit-dropped\","
		       "\"count\":3,\"since\":\"2023-11-14T22:13:19.000999Z\"}\n");
	}

	audit_rec_init(&r);
	r.ts = (struct timespec){ 0, 999999999 };
	rec_is("ts: the epoch, nanoseconds truncated to microseconds", &r,
	       "{\"v\":1,\"ts\":\"1970-01-01T00:00:00.999999Z\"}\n");

	/* Two records appended to one buffer stay two lines. */
	{
		struct abuf b = { 0 };
		static const char want[] =
			"{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"op\":\"a\"}\n"
			"{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\",\"op\":\"b\"}\n";

		audit_rec_init(&r);
		r.ts = TS;
		r.op = "a";
		audit_format(&b, &r);
		r.op = "b";
		audit_format(&b, &r);
		tap_mem("two records in one buffer", want, sizeof(want) - 1, b.p, b.len);
		tap_int("audit_line_body: after ts of the first",
			(int64_t)strlen("{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\""),
			(int64_t)audit_line_body(b.p, b.len));
		abuf_free(&b);
	}
	tap_int("audit_line_body of a line not ours is 0", 0,
		(int64_t)audit_line_body("{\"v\":2,\"ts\":\"x\"}", 16));
	tap_int("audit_line_body of a cut line is 0", 0,
		(int64_t)audit_line_body("{\"v\":1,\"ts\":\"2023", 17));

	/* A path of any bytes: one line, valid JSON. */
	audit_rec_init(&r);
	r.ts = TS;
	r.path = "/a\nb\"c\\d\x01\x7f\xff";
	rec_is("a path of odd bytes stays one line", &r,
	       "{\"v\":1,\"ts\":\"2023-11-14T22:13:20.123456Z\","
	       "\"path\":\"/a\\nb\\\"c\\\\d\\u0001\\u007f\\u00ff\"}\n");

	/* ---- json_put_string ------------------------------------------- */
	JS("empty", "", "\"\"");
	JS("plain ASCII", "/src/main.py", "\"/src/main.py\"");
	JS("quote and backslash", "\"\\", "\"\\\"\\\\\"");
	JS("newline and tab", "\n\t", "\"\\n\\t\"");
	JS("carriage return, escape, other C0", "\r\x1b\x01\x1f", "\"\\u000d\\u001b\\u0001\\u001f\"");
	JS("NUL bytes inside", "a\0b", "\"a\\u0000b\"");
	JS("DEL", "\x7f", "\"\\u007f\"");
	JS("space and tilde pass", " ~", "\" ~\"");
	JS("'/' is not escaped", "/", "\"/\"");
	/* valid UTF-8 passes unescaped */
	JS("2-byte UTF-8", "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	JS("3-byte UTF-8", "\xe2\x82\xac", "\"\xe2\x82\xac\"");
	JS("4-byte UTF-8", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	JS("U+10FFFF, the last", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
	JS("U+0080, the first 2-byte", "\xc2\x80", "\"\xc2\x80\"");
	JS("U+FFFF", "\xef\xbf\xbf", "\"\xef\xbf\xbf\"");
	/* each byte of what is not valid UTF-8 as \u00NN */
	JS("a lone continuation byte", "\x80", "\"\\u0080\"");
	JS("0xff", "\xff", "\"\\u00ff\"");
	JS("0xfe", "\xfe", "\"\\u00fe\"");
	JS("overlong 2-byte (C0 AF)", "\xc0\xaf", "\"\\u00c0\\u00af\"");
	JS("overlong 2-byte (C1 BF)", "\xc1\xbf", "\"\\u00c1\\u00bf\"");
	JS("overlong 3-byte (E0 80 AF)", "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
	JS("overlong 4-byte (F0 80 80 AF)", "\xf0\x80\x80\xaf",
	   "\"\\u00f0\\u0080\\u0080\\u00af\"");
	JS("a surrogate (ED A0 80)", "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	JS("past U+10FFFF (F4 90 80 80)", "\xf4\x90\x80\x80",
	   "\"\\u00f4\\u0090\\u0080\\u0080\"");
	JS("F5, never a lead byte", "\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"");
	JS("a sequence cut at the end", "a\xe2\x82", "\"a\\u00e2\\u0082\"");
	JS("a sequence cut by ASCII", "\xe2\x82x", "\"\\u00e2\\u0082x\"");
	JS("a valid sequence after a bad byte", "\xff\xc3\xa9", "\"\\u00ff\xc3\xa9\"");
	JS("C1 control as UTF-8 passes (U+0085)", "\xc2\x85", "\"\xc2\x85\"");

	/* A string longer than the buffer's first allocation. */
	{
		static char in[1000], want[1003];
		struct abuf b = { 0 };

		memset(in, 'x', sizeof(in));
		want[0] = '"';
		memset(want + 1, 'x', sizeof(in));
		want[sizeof(in) + 1] = '"';
		json_put_string(&b, in, sizeof(in));
		tap_mem("1000 bytes: the buffer grows", want, sizeof(in) + 2, b.p, b.len);
		abuf_free(&b);
		json_put_string(&b, "\x01", 1);
		for (int i = 0; i < 300; i++)
			json_put_string(&b, "\x01", 1);
		tap_int("301 escaped strings: 8 bytes each", 301 * 8, (int64_t)b.len);
		abuf_free(&b);
	}

	/* ---- levels and errno names -------------------------------------- */
	{
		static const char *const names[] = { "off", "deny", "write", "access" };
		enum audit_level l;
		char desc[64];

		for (int i = 0; i < 4; i++) {
			snprintf(desc, sizeof(desc), "audit level '%s' round-trips", names[i]);
			tap_ok(audit_level_parse(names[i], &l) == 0 && (int)l == i &&
			       strcmp(audit_level_name(l), names[i]) == 0, desc);
		}
		tap_int("audit level 'Deny' is refused", -1, audit_level_parse("Deny", &l));
		tap_int("audit level '' is refused", -1, audit_level_parse("", &l));
		tap_str("an unknown level's name", "?", audit_level_name((enum audit_level)9));
		tap_str("audit_errno_name(EXDEV)", "EXDEV", audit_errno_name(EXDEV));
		tap_ok(audit_errno_name(100000) == NULL, "audit_errno_name of no errno is NULL");
	}
	return tap_done();
}
