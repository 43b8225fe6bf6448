/* fuzz-audit-record.c - libFuzzer target: the audit record writer.  The
 * input is split at NUL bytes into the string fields of a record (path,
 * to, comm, reason, rule, mount, session, argv...); the record must come
 * out as exactly one line that jansson parses as an object, and a field
 * that was valid UTF-8 must read back as the same bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const char *s)
{
	json_t *j = json_string(s);	/* jansson checks UTF-8 */

	if (!j)
		return false;
	json_decref(j);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[11] = { 0 }, *p;	/* f[10]: argv's NULL */
	struct audit_rec r;
	struct abuf b = { 0 };
	json_t *j;
	json_error_t e;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; n < 10 && p <= buf + size; p += strlen(p) + 1)
		f[n++] = p;
	audit_rec_init(&r);
	r.ts.tv_sec = size;
	r.path = f[0];
	r.to = f[1];
	r.comm = f[2];
	r.reason = f[3];
	r.rule = f[4];
	r.mount = f[5];
	r.session = f[6];
	r.op = "open";
	r.decision = "allow";
	r.pid = 1;
	r.err = (int)(size % 140);
	r.signal = (int)(size % 70);
	if (f[7])
		r.argv = &f[7];	/* f[7..9], NULL-terminated by the array */
	audit_format(&b, &r);
	if (b.len == 0 || b.p[b.len - 1] != '\n' || memchr(b.p, '\n', b.len - 1))
		abort();	/* not exactly one line */
	for (size_t i = 0; i + 1 < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20)
			abort();	/* a raw control byte in the line */
	j = json_loadb(b.p, b.len, 0, &e);
	if (!j || !json_is_object(j))
		abort();	/* not JSON */
	if (f[0] && valid_utf8(f[0])) {
		json_t *v = json_object_get(j, "path");

		if (!v || strcmp(json_string_value(v), f[0]) != 0)
			abort();	/* did not read back */
	}
	json_decref(j);
	abuf_free(&b);
	free(buf);
	return 0;
}
