/* test-path.c - path_clean (lib/path.c): what every path inside the mount
 * becomes before the policy sees it (afs-policy(5) MATCHING, Paths).
 *
 * Each case is an input, a buffer size and the exact output, or
 * -ENAMETOOLONG.  Prints TAP; exits 0 iff every case passes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "tap.h"

struct tcase {
	const char *in;
	size_t outsz;		/* 0: a buffer of 4096 */
	const char *want;	/* NULL: -ENAMETOOLONG */
};

static const struct tcase cases[] = {
	/* the root, however it is spelt */
	{ "", 0, "/" },
	{ "/", 0, "/" },
	{ "//", 0, "/" },
	{ "///", 0, "/" },
	{ ".", 0, "/" },
	{ "/.", 0, "/" },
	{ "./", 0, "/" },
	{ "..", 0, "/" },
	{ "/..", 0, "/" },
	{ "/../..", 0, "/" },
	{ "../../..", 0, "/" },
	/* made /-rooted */
	{ "a", 0, "/a" },
	{ "a/b", 0, "/a/b" },
	{ "/a/b", 0, "/a/b" },
	/* empty and "." components, trailing slashes */
	{ "/a/", 0, "/a" },
	{ "/a//", 0, "/a" },
	{ "//a//b//", 0, "/a/b" },
	{ "/a/./b/.", 0, "/a/b" },
	{ "/./././a", 0, "/a" },
	/* ".." takes one component back, never past the root */
	{ "/a/..", 0, "/" },
	{ "/a/b/..", 0, "/a" },
	{ "/a/b/../c", 0, "/a/c" },
	{ "/a/bc/..", 0, "/a" },
	{ "/abc/../d", 0, "/d" },
	{ "/a/b/../../c", 0, "/c" },
	{ "/a/../../b", 0, "/b" },
	{ "/../a", 0, "/a" },
	{ "/a/b/c/../../..", 0, "/" },
	{ "/a/../b/../c/..", 0, "/" },
	{ "/a/b/../", 0, "/a" },
	/* names that only look like "." or ".." */
	{ "/...", 0, "/..." },
	{ "/..a", 0, "/..a" },
	{ "/a..", 0, "/a.." },
	{ "/.a/.b", 0, "/.a/.b" },
	{ "/a/.../..", 0, "/a" },
	{ "/ /a", 0, "/ /a" },
	/* bytes other than '/' are the name's own */
	{ "/a\\/b", 0, "/a\\/b" },
	{ "/\xff\xfe/\n", 0, "/\xff\xfe/\n" },
	{ "/*/?", 0, "/*/?" },
	/* the buffer: OUTSZ counts the NUL */
	{ "/", 1, NULL },
	{ "", 1, NULL },
	{ "/", 2, "/" },
	{ "/a", 2, NULL },
	{ "/a", 3, "/a" },
	{ "/ab", 3, NULL },
	{ "/a/b", 4, NULL },
	{ "/a/b", 5, "/a/b" },
	{ "//a//b//", 5, "/a/b" },
	{ "/a/b/../c", 5, "/a/c" },
	/* what is too long before ".." takes it back is too long */
	{ "/abcd/..", 4, NULL },
	{ "/abc/..", 5, "/" },
};

int main(void)
{
	char out[4096], desc[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		size_t sz = c->outsz ? c->outsz : sizeof(out);
		int r;

		memset(out, 'X', sizeof(out));
		r = path_clean(c->in, out, sz);
		snprintf(desc, sizeof(desc), "path_clean(\"%s\", %zu)", c->in, sz);
		for (char *p = desc; *p; p++)	/* one TAP line per case */
			if ((unsigned char)*p < 0x20)
				*p = '?';
		if (!c->want) {
			tap_int(desc, -ENAMETOOLONG, r);
			continue;
		}
		if (r < 0 || (size_t)r >= sz || out[r] != '\0') {
			tap_ok(false, desc);
			printf("# returned %d, expected \"%s\"\n", r, c->want);
			continue;
		}
		if (tap_mem(desc, c->want, strlen(c->want), out, (size_t)r))
			continue;
	}

	/* The result is a fixed point: cleaning twice changes nothing. */
	{
		const char *in = "//a/./b/../../c/d//e/..";
		char once[64], twice[64];
		int r1 = path_clean(in, once, sizeof(once));
		int r2 = path_clean(once, twice, sizeof(twice));

		tap_ok(r1 == r2 && strcmp(once, twice) == 0 && strcmp(once, "/c/d") == 0,
		       "path_clean is idempotent");
	}

	/* A name of 4095 bytes fills a PATH_MAX buffer exactly. */
	{
		static char in[5000], o[4096];
		int r;

		in[0] = '/';
		memset(in + 1, 'n', 4094);
		in[4095] = '\0';
		r = path_clean(in, o, sizeof(o));
		tap_int("a path of 4095 bytes fits 4096", 4095, r);
		in[4095] = 'n';
		in[4096] = '\0';
		r = path_clean(in, o, sizeof(o));
		tap_int("a path of 4096 bytes does not", -ENAMETOOLONG, r);
	}
	return tap_done();
}
