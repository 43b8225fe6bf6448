/* test-parse.c - parse_size_bytes and parse_duration_ms (lib/util.c): the
 * values of --memory, --fsize, --delta-quota, --max-output (sizes) and
 * --timeout, --kill-after (durations).
 *
 * Each case is a string and the exact value, or -1 for a refusal.  Prints
 * TAP; exits 0 iff every case passes.
 */
#include <stdint.h>
#include <stdio.h>

#include "tap.h"
#include "util.h"

struct tcase {
	const char *in;
	int64_t want;
	const char *todo;	/* a known bug: reported, not failed */
};

/* strtoull and strtod skip leading white space (which once hid a sign)
 * and strtod reads hexadecimal: the parsers take digits first. */


#define K 1024LL
#define M (1024LL * K)
#define G (1024LL * M)
#define TB (1024LL * G)

static const struct tcase sizes[] = {
	{ "1", 1, NULL },
	{ "512", 512, NULL },
	{ "007", 7, NULL },
	{ "1K", K, NULL },
	{ "1k", K, NULL },
	{ "1KB", K, NULL },
	{ "1KiB", K, NULL },
	{ "512M", 512 * M, NULL },
	{ "512m", 512 * M, NULL },
	{ "2G", 2 * G, NULL },
	{ "2GiB", 2 * G, NULL },
	{ "3T", 3 * TB, NULL },
	{ "3tb", -1, NULL },		/* "B" after the suffix, not "b" */
	{ "1Kib", -1, NULL },
	{ "1Ki", -1, NULL },
	{ "1iB", -1, NULL },		/* "iB" only after a suffix */
	{ "1B", -1, NULL },
	{ "1P", -1, NULL },		/* no peta */
	{ "1E", -1, NULL },
	{ "1KK", -1, NULL },
	{ "1K ", -1, NULL },
	{ "1 K", -1, NULL },
	{ "1.5M", -1, NULL },		/* whole numbers only */
	{ "0x10", -1, NULL },
	{ "", -1, NULL },
	{ "K", -1, NULL },
	{ "M1", -1, NULL },
	{ "abc", -1, NULL },
	/* zero, signs */
	{ "0", -1, NULL },
	{ "0K", -1, NULL },
	{ "-1", -1, NULL },
	{ "-0", -1, NULL },
	{ "+1", -1, NULL },
	/* the top: INT64_MAX bytes, and one more */
	{ "9223372036854775807", INT64_MAX, NULL },
	{ "9223372036854775808", -1, NULL },
	{ "18446744073709551615", -1, NULL },
	{ "18446744073709551616", -1, NULL },		/* strtoull's ERANGE */
	{ "99999999999999999999999999", -1, NULL },
	{ "8388607T", 8388607LL * TB, NULL },		/* INT64_MAX >> 40 */
	{ "8388608T", -1, NULL },			/* 2^63: one past */
	{ "8589934591G", 8589934591LL * G, NULL },
	{ "8589934592G", -1, NULL },
	{ "9007199254740991K", 9007199254740991LL * K, NULL },
	{ "9007199254740992K", -1, NULL },
	/* a suffix that would wrap a 64-bit value is refused, not wrapped */
	{ "16777216T", -1, NULL },			/* 2^64 */
	{ "33554432T", -1, NULL },
	/* white space is not a size */
	{ " 5", -1, NULL },
	{ " +5", -1, NULL },
	{ "\t7K", -1, NULL },
	{ " -5", -1, NULL },
};

#define S 1000LL
static const struct tcase durations[] = {
	{ "0", 0, NULL },
	{ "1", 1 * S, NULL },
	{ "10", 10 * S, NULL },
	{ "1.5", 1500, NULL },
	{ ".5", 500, NULL },
	{ "0.001", 1, NULL },
	{ "0.0015", 2, NULL },		/* rounded to the nearest */
	{ "2s", 2 * S, NULL },
	{ "2m", 120 * S, NULL },
	{ "1h", 3600 * S, NULL },
	{ "1d", 86400 * S, NULL },
	{ "1.5h", 5400 * S, NULL },
	{ "0.5m", 30 * S, NULL },
	{ "31d", 31 * 86400 * S, NULL },	/* a month: the largest */
	{ "2678400", 2678400 * S, NULL },
	{ "2678400.001", -1, NULL },
	{ "32d", -1, NULL },
	{ "745h", -1, NULL },
	{ "1e3", -1, NULL },	/* digits and a point only: no exponent */
	/* malformed */
	{ "", -1, NULL },
	{ "s", -1, NULL },
	{ "m", -1, NULL },
	{ "1x", -1, NULL },
	{ "1S", -1, NULL },
	{ "1M", -1, NULL },
	{ "1ms", -1, NULL },
	{ "1ss", -1, NULL },
	{ "1 s", -1, NULL },
	{ "1s ", -1, NULL },
	{ "1w", -1, NULL },
	{ "-1", -1, NULL },
	{ "-0", -1, NULL },
	{ "+1", -1, NULL },
	{ "inf", -1, NULL },
	{ "infinity", -1, NULL },
	{ "nan", -1, NULL },
	{ "1e400", -1, NULL },		/* strtod's ERANGE */
	{ " 5", -1, NULL },
	{ " +5", -1, NULL },
	{ " -0.5", -1, NULL },
	{ "0x10", -1, NULL },
	{ "0x1p3", -1, NULL },
};

static void run(const char *name, int64_t (*fn)(const char *),
		const struct tcase *c, size_t n)
{
	char desc[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(desc, sizeof(desc), "%s(\"%s\")", name, c[i].in);
		for (char *p = desc; *p; p++)	/* one TAP line per case */
			if ((unsigned char)*p < 0x20)
				*p = '?';
		if (c[i].todo)
			tap_todo(c[i].todo);
		tap_int(desc, c[i].want, fn(c[i].in));
	}
}

int main(void)
{
	run("parse_size_bytes", parse_size_bytes, sizes, sizeof(sizes) / sizeof(sizes[0]));
	run("parse_duration_ms", parse_duration_ms, durations,
	    sizeof(durations) / sizeof(durations[0]));
	return tap_done();
}
