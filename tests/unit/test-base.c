/* test-base.c - SHA-1 (lib/sha1.c) against FIPS 180 and git's own object
 * names, and the base journal's records (lib/base.c): written, read back,
 * torn, escaped.  Prints TAP; exits 0 iff every check passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "deltafmt.h"
#include "sha1.h"
#include "tap.h"

static void hex(const unsigned char *d, char *out)
{
	base_hex(d, out);
}

static void sha1_of(const char *desc, const void *p, size_t n, size_t step, const char *want)
{
	unsigned char d[SHA1_LEN];
	char h[2 * SHA1_LEN + 1];
	struct sha1 s;
	size_t i;

	sha1_init(&s);
	for (i = 0; i < n; i += step)
		sha1_update(&s, (const char *)p + i, n - i < step ? n - i : step);
	sha1_final(&s, d);
	hex(d, h);
	tap_str(desc, want, h);
}

int main(void)
{
	static const char million_a_want[] = "34aa973cd4c4daa4f61eeb2bdbad27316534016f";
	char *big = malloc(1000000), line[BASE_LINE_MAX], dir[] = "/tmp/afs-test-base.XXXXXX";
	const struct base *got;
	struct base_map *m;
	struct base b = { 0 };
	int n, fd, droot;

	/* FIPS 180-2 appendix A, and the padding's edges (55, 56, 64 bytes). */
	sha1_of("sha1 of \"\"", "", 0, 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_of("sha1 of abc", "abc", 3, 1, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_of("sha1 of the 448-bit message",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 56,
		"84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	sha1_of("sha1 of it fed a byte at a time",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, 1,
		"84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	memset(big, 'a', 1000000);
	sha1_of("sha1 of a million a, in one call", big, 1000000, 1000000, million_a_want);
	sha1_of("sha1 of a million a, 7 bytes a call", big, 1000000, 7, million_a_want);
	sha1_of("sha1 of 55 a", big, 55, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
	sha1_of("sha1 of 64 a", big, 64, 13, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
	free(big);

	/* A file's base sum is git's blob name: `printf 'line1\n' | git
	 * hash-object --stdin`. */
	if (!mkdtemp(dir))
		return 1;
	droot = open(dir, O_RDONLY | O_DIRECTORY);
	fd = openat(droot, "f", O_RDWR | O_CREAT, 0600);
	if (fd < 0 || write(fd, "line1\n", 6) != 6 || symlinkat("a.txt", droot, "l") < 0)
		return 1;
	close(fd);
	tap_int("base_at of a file", 0, base_at(droot, "f", &b));
	hex(b.sum, line);
	tap_str("its sum is git's blob name", "a29bdeb434d874c9b1d8969c40c42161b03fafdc", line);
	tap_int("its type, size", 'f' * 1000 + 6, b.type * 1000 + b.size);
	tap_int("base_at of a link", 0, base_at(droot, "l", &b));
	hex(b.sum, line);
	tap_str("its sum is the target's blob name", "8d14cbf983b3fad683171c9418998d9f68340823", line);
	tap_int("base_at of nothing: type 0", 0, base_at(droot, "none", &b) * 1000 + b.type);

	/* Records with every byte a name may hold that needs escaping. */
	b = (struct base){ .type = 'f', .ino = 12, .size = 34, .mtime_ns = 56, .ctime_ns = 78 };
	n = base_format("/a\tb\nc\\d e", &b, line, sizeof(line));
	{
		static const char want[] = "/a\\tb\\nc\\\\d e\tf 12 34 56 78 -\n";
		char small[8];

		tap_mem("a record's line", want, sizeof(want) - 1, line, n > 0 ? (size_t)n : 0);
		tap_int("a path too long for the buffer", -ENAMETOOLONG,
			base_format("/abcdef", &b, small, sizeof(small)));
	}

	fd = openat(droot, DELTA_BASE, O_WRONLY | O_CREAT, 0600);
	dprintf(fd, "%s", BASE_MAGIC);
	dprintf(fd, "%.*s", n, line);
	dprintf(fd, "/x\tf 1 2 3 4 -\n/x\tl 5 6 7 8 a29bdeb434d874c9b1d8969c40c42161b03fafdc\n");
	dprintf(fd, "no slash\tf 1 2 3 4 -\n/bad\tq 1 2 3 4 -\n/badsum\tf 1 2 3 4 abc\n");
	dprintf(fd, "/torn\tf 1 2");
	close(fd);
	tap_int("base_load of a journal", 1, base_load(droot, &m));
	tap_int("the records that are records", 2, (int64_t)base_count(m));
	got = base_find(m, "/a\tb\nc\\d e");
	tap_int("an escaped path read back", 1, got && got->size == 34 && got->ctime_ns == 78);
	got = base_find(m, "/x");
	tap_int("the last record of a path wins, with its sum", 1,
		got && got->type == 'l' && got->has_sum && got->sum[0] == 0xa2);
	tap_int("a torn record is none", 1, base_find(m, "/torn") == NULL);
	base_map_free(m);

	fd = openat(droot, DELTA_BASE, O_WRONLY | O_TRUNC);
	dprintf(fd, "afs-base 2\n");
	close(fd);
	tap_int("a journal of another version", -EPROTO, base_load(droot, &m));
	unlinkat(droot, DELTA_BASE, 0);
	tap_int("no journal: 0", 0, base_load(droot, &m));
	tap_int("a delta with entries is not fresh", 1, base_delta_fresh(droot) == false);
	unlinkat(droot, "f", 0);
	unlinkat(droot, "l", 0);
	tap_int("an empty delta is fresh", 1, base_delta_fresh(droot));
	close(droot);
	rmdir(dir);
	return tap_done();
}
