/* tap.h - the few TAP helpers the unit tests share.
 *
 * Each check prints "ok N - what" or "not ok N - what" with the expected
 * and actual values on "# " lines; tap_done() prints the plan and returns
 * the exit status (0 iff every check passed).
 */
#ifndef AFS_TEST_TAP_H
#define AFS_TEST_TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_n, tap_failed;

static inline bool tap_ok(bool ok, const char *desc)
{
	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%s %u - %s\n", ok ? "ok" : "not ok", tap_n, desc);
	return ok;
}

/* Print N bytes at S as a C string literal, so that odd bytes show. */
static inline void tap_show(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static inline bool tap_mem(const char *desc, const char *want, size_t wlen,
			   const char *got, size_t glen)
{
	bool ok = wlen == glen && memcmp(want, got, wlen) == 0;

	if (!tap_ok(ok, desc) || !ok) {
		fputs("# expected: ", stdout);
		tap_show(want, wlen);
		fputs("\n#      got: ", stdout);
		tap_show(got, glen);
		putchar('\n');
	}
	return ok;
}

static inline bool tap_str(const char *desc, const char *want, const char *got)
{
	if (!got) {
		tap_ok(false, desc);
		printf("# expected: \"%s\"\n#      got: NULL\n", want);
		return false;
	}
	return tap_mem(desc, want, strlen(want), got, strlen(got));
}

static inline bool tap_int(const char *desc, int64_t want, int64_t got)
{
	bool ok = want == got;

	if (!tap_ok(ok, desc) || !ok)
		printf("# expected: %" PRId64 "\n#      got: %" PRId64 "\n", want, got);
	return ok;
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_n);
	if (tap_failed)
		printf("# %u of %u failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
