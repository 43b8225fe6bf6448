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
};

/* strtoull and strtod skip leading white space (which once hid a sign)
 * and strtod reads hexadecimal: the parsers take digits first. */


#define K 1024LL
#define M (1024LL * K)
#define G (1024LL * M)
#define TB (1024LL * G)

static const struct tcase sizes[] = {
	{ "1", 1 },
	{ "512", 512 },
	{ "007", 7 },
	{ "1K", K },
	{ "1k", K },
	{ "1KB", K },
	{ "1KiB", K },
	{ "512M", 512 * M },
	{ "512m", 512 * M },
	{ "2G", 2 * G },
	{ "2GiB", 2 * G },
	{ "3T", 3 * TB },
	{ "3tb", -1 },		/* "B" after the suffix, not "b" */
	{ "1Kib", -1 },
	{ "1Ki", -1 },
	{ "1iB", -1 },		/* "iB" only after a suffix */
	{ "1B", -1 },
	{ "1P", -1 },		/* no peta */
	{ "1E", -1 },
	{ "1KK", -1 },
	{ "1K ", -1 },
	{ "1 K", -1 },
	{ "1.5M", -1 },		/* whole numbers only */
	{ "0x10", -1 },
	{ "", -1 },
	{ "K", -1 },
	{ "M1", -1 },
	{ "abc", -1 },
	/* zero, signs */
	{ "0", -1 },
	{ "0K", -1 },
	{ "-1", -1 },
	{ "-0", -1 },
	{ "+1", -1 },
	/* the top: INT64_MAX bytes, and one more */
	{ "9223372036854775807", INT64_MAX },
	{ "9223372036854775808", -1 },
	{ "18446744073709551615", -1 },
	{ "18446744073709551616", -1 },		/* strtoull's ERANGE */
	{ "99999999999999999999999999", -1 },
	{ "8388607T", 8388607LL * TB },		/* INT64_MAX >> 40 */
	{ "8388608T", -1 },			/* 2^63: one past */
	{ "8589934591G", 8589934591LL * G },
	{ "8589934592G", -1 },
	{ "9007199254740991K", 9007199254740991LL * K },
	{ "9007199254740992K", -1 },
	/* a suffix that would wrap a 64-bit value is refused, not wrapped */
	{ "16777216T", -1 },			/* 2^64 */
	{ "33554432T", -1 },
	/* white space is not a size */
	{ " 5", -1 },
	{ " +5", -1 },
	{ "\t7K", -1 },
	{ " -5", -1 },
};

#define S 1000LL
static const struct tcase durations[] = {
	{ "0", 0 },
	{ "1", 1 * S },
	{ "10", 10 * S },
	{ "1.5", 1500 },
	{ ".5", 500 },
	{ "0.001", 1 },
	{ "0.0015", 2 },		/* rounded to the nearest */
	{ "2s", 2 * S },
	{ "2m", 120 * S },
	{ "1h", 3600 * S },
	{ "1d", 86400 * S },
	{ "1.5h", 5400 * S },
	{ "0.5m", 30 * S },
	{ "31d", 31 * 86400 * S },	/* a month: the largest */
	{ "2678400", 2678400 * S },
	{ "2678400.001", -1 },
	{ "32d", -1 },
	{ "745h", -1 },
	{ "1e3", -1 },	/* digits and a point only: no exponent */
	/* malformed */
	{ "", -1 },
	{ "s", -1 },
	{ "m", -1 },
	{ "1x", -1 },
	{ "1S", -1 },
	{ "1M", -1 },
	{ "1ms", -1 },
	{ "1ss", -1 },
	{ "1 s", -1 },
	{ "1s ", -1 },
	{ "1w", -1 },
	{ "-1", -1 },
	{ "-0", -1 },
	{ "+1", -1 },
	{ "inf", -1 },
	{ "infinity", -1 },
	{ "nan", -1 },
	{ "1e400", -1 },		/* strtod's ERANGE */
	{ " 5", -1 },
	{ " +5", -1 },
	{ " -0.5", -1 },
	{ "0x10", -1 },
	{ "0x1p3", -1 },
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
