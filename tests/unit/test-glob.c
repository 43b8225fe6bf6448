/* test-glob.c - the policy's globs (lib/glob.c), alone: compiling
 * (cleaning, refusals, the literal prefix) and matching, as
 * afs-policy(5) MATCHING, Globs describes them.
 *
 * Prints TAP; exits 0 iff every case passes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "glob.h"
#include "tap.h"

struct mcase {
	const char *pattern;
	const char *path;	/* a cleaned, /-rooted path */
	bool match;
};

static const struct mcase matches[] = {
	/* literal components */
	{ "/a", "/a", true },
	{ "/a", "/b", false },
	{ "/a", "/a/b", false },
	{ "/a/b", "/a", false },
	{ "/a/b", "/a/b", true },
	{ "a/b", "/a/b", true },		/* anchored at the root anyway */
	{ "/A", "/a", false },			/* case matters */
	{ "/a", "/", false },
	/* '*': any bytes within one component, a leading dot included */
	{ "/*", "/a", true },
	{ "/*", "/.env", true },
	{ "/*", "/a/b", false },
	{ "/*", "/", false },
	{ "/*.py", "/main.py", true },
	{ "/*.py", "/.py", true },
	{ "/*.py", "/main.pyc", false },
	{ "/*.py", "/src/main.py", false },
	{ "/a*b*c", "/abc", true },
	{ "/a*b*c", "/aXbYc", true },
	{ "/a*b*c", "/aXbYcZ", false },
	{ "/a*b*c", "/acb", false },
	{ "/a*a", "/a", false },		/* head and tail may not overlap */
	{ "/a*a", "/aa", true },
	{ "/*a*", "/a", true },
	{ "/***", "/x", true },			/* not "**": a plain star run */
	{ "/***", "/x/y", false },
	/* '?': exactly one byte, never '/' */
	{ "/?", "/a", true },
	{ "/?", "/ab", false },
	{ "/?", "/", false },
	{ "/a?c", "/abc", true },
	{ "/a?c", "/a/c", false },
	{ "/??", "/\xc3\xa9", true },		/* bytes, not characters */
	/* classes */
	{ "/[abc]", "/b", true },
	{ "/[abc]", "/d", false },
	{ "/[a-c]x", "/bx", true },
	{ "/[a-c]x", "/dx", false },
	{ "/[!a-c]", "/d", true },
	{ "/[!a-c]", "/a", false },
	{ "/[^a-c]", "/d", true },
	{ "/[]]", "/]", true },			/* a leading ']' is literal */
	{ "/[]]", "/a", false },
	{ "/[!]]", "/a", true },
	{ "/[!]]", "/]", false },
	{ "/[a-]", "/-", true },		/* a trailing '-' is literal */
	{ "/[a-]", "/b", false },
	{ "/[\\]]", "/]", true },
	{ "/[*]", "/*", true },			/* wildcards are literal inside */
	{ "/[*]", "/a", false },
	{ "/*.[ch]", "/x.c", true },
	{ "/*.[ch]", "/x.o", false },
	/* backslash escapes */
	{ "/\\*", "/*", true },
	{ "/\\*", "/a", false },
	{ "/a\\?", "/a?", true },
	{ "/a\\?", "/ab", false },
	{ "/\\[x]", "/[x]", true },
	{ "/\\[x]", "/x", false },
	{ "/\\a", "/a", true },			/* an escaped plain byte is itself */
	/* "**": zero or more whole components */
	{ "/**", "/", true },
	{ "/**", "/a", true },
	{ "/**", "/a/b/c", true },
	{ "/a/**", "/a", true },
	{ "/a/**", "/a/b/c", true },
	{ "/a/**", "/ab", false },
	{ "/a/**", "/b/a", false },
	{ "/**/b", "/b", true },
	{ "/**/b", "/a/b", true },
	{ "/**/b", "/a/x/b", true },
	{ "/**/b", "/a/b/c", false },
	{ "/**/b", "/ab", false },
	{ "/a/**/b", "/a/b", true },
	{ "/a/**/b", "/a/x/y/b", true },
	{ "/a/**/b", "/a/x/y/c", false },
	{ "/**/*.py", "/m.py", true },
	{ "/**/*.py", "/src/pkg/m.py", true },
	{ "/**/*.py", "/src/pkg/m.pyc", false },
	{ "/**/.git/**", "/.git", true },
	{ "/**/.git/**", "/sub/.git/objects/x", true },
	{ "/**/.git/**", "/sub/.github/x", false },
	{ "/**/x/**/x", "/x/x", true },
	{ "/**/x/**/x", "/a/x/b/x", true },
	{ "/**/x/**/x", "/a/x/b", false },
	{ "/**/**", "/a/b", true },
	{ "/a**", "/a/b", false },		/* "**" inside a name is two stars */
	{ "/a**", "/abc", true },
	/* cleaned patterns */
	{ "//a//b//", "/a/b", true },
	{ "/./a/./b", "/a/b", true },
	{ "/", "/", true },
	{ "/", "/a", false },
	{ "///", "/", true },
	/* many stars stay cheap: a failing match over a long name */
	{ "/*a*a*a*a*a*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
	{ "/**/**/**/**/**/**/z", "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y", false },
};

struct ccase {
	const char *pattern;
	const char *err;	/* NULL: compiles */
	const char *text;	/* glob_text */
	const char *prefix;	/* glob_prefix */
	bool literal;
};

static const struct ccase compiles[] = {
	{ "/a/b", NULL, "/a/b", "/a/b", true },
	{ "a/b/", NULL, "/a/b", "/a/b", true },
	{ "//a/./b", NULL, "/a/b", "/a/b", true },
	{ "/", NULL, "/", "/", true },
	{ "/src/*.py", NULL, "/src/*.py", "/src/", false },
	{ "/src/m?.py", NULL, "/src/m?.py", "/src/m", false },
	{ "/src/[ab]", NULL, "/src/[ab]", "/src/", false },
	{ "/**", NULL, "/**", "/", false },
	{ "**/x", NULL, "/**/x", "/", false },
	{ "/a\\*b", NULL, "/a\\*b", "/a*b", true },	/* text keeps escapes */
	{ "/a\\*b*", NULL, "/a\\*b*", "/a*b", false },
	{ "/a/..b", NULL, "/a/..b", "/a/..b", true },
	{ "", "empty pattern", NULL, NULL, false },
	{ "/a/../b", "'..' is not allowed in a pattern", NULL, NULL, false },
	{ "..", "'..' is not allowed in a pattern", NULL, NULL, false },
	{ "/a\\", "trailing backslash", NULL, NULL, false },
	{ "/a\\/b", "a backslash cannot escape '/'", NULL, NULL, false },
	{ "/[ab", "unterminated character class", NULL, NULL, false },
	{ "/[a/b]", "unterminated character class", NULL, NULL, false },
	{ "/[]", "unterminated character class", NULL, NULL, false },
	{ "/[\\]", "unterminated character class", NULL, NULL, false },
};

static void escape_desc(char *d)
{
	for (; *d; d++)
		if ((unsigned char)*d < 0x20 || (unsigned char)*d >= 0x7f)
			*d = '?';
}

int main(void)
{
	char desc[256];
	size_t i;

	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const struct mcase *c = &matches[i];
		struct glob *g;
		const char *err = NULL;

		snprintf(desc, sizeof(desc), "'%s' %s '%s'", c->pattern,
			 c->match ? "matches" : "does not match", c->path);
		escape_desc(desc);
		if (glob_compile(c->pattern, &g, &err) < 0) {
			tap_ok(false, desc);
			printf("# does not compile: %s\n", err);
			continue;
		}
		tap_ok(glob_match(g, c->path, strlen(c->path)) == c->match, desc);
		glob_free(g);
	}

	for (i = 0; i < sizeof(compiles) / sizeof(compiles[0]); i++) {
		const struct ccase *c = &compiles[i];
		struct glob *g = (struct glob *)&g;	/* must become NULL on error */
		const char *err = NULL;
		int r = glob_compile(c->pattern, &g, &err);

		if (c->err) {
			snprintf(desc, sizeof(desc), "'%s' is refused: %s", c->pattern, c->err);
			if (tap_ok(r == -1 && g == NULL && err && strcmp(err, c->err) == 0, desc))
				continue;
			printf("# returned %d, error %s\n", r, err ? err : "(none)");
			if (r == 0)
				glob_free(g);
			continue;
		}
		snprintf(desc, sizeof(desc), "'%s' compiles", c->pattern);
		if (!tap_ok(r == 0 && g != NULL, desc)) {
			printf("# error: %s\n", err ? err : "(none)");
			continue;
		}
		size_t plen;
		const char *prefix = glob_prefix(g, &plen);

		snprintf(desc, sizeof(desc), "'%s': glob_text", c->pattern);
		tap_str(desc, c->text, glob_text(g));
		snprintf(desc, sizeof(desc), "'%s': glob_prefix", c->pattern);
		tap_mem(desc, c->prefix, strlen(c->prefix), prefix, plen);
		snprintf(desc, sizeof(desc), "'%s': glob_is_literal is %s", c->pattern,
			 c->literal ? "true" : "false");
		tap_ok(glob_is_literal(g) == c->literal, desc);
		glob_free(g);
	}

	/* glob_last: the last component's literal head and tail. */
	{
		struct glob *g;
		const char *err, *head, *tail;
		size_t hl, tl;
		bool lit;

		glob_compile("/src/te*st_*.py", &g, &err);
		tap_ok(glob_last(g, &head, &hl, &tail, &tl, &lit) && !lit &&
		       hl == 2 && memcmp(head, "te", 2) == 0 &&
		       tl == 3 && memcmp(tail, ".py", 3) == 0,
		       "glob_last of te*st_*.py: head te, tail .py");
		glob_free(g);
		glob_compile("/src/\\*x", &g, &err);
		tap_ok(glob_last(g, &head, &hl, &tail, &tl, &lit) && lit &&
		       hl == 2 && memcmp(head, "*x", 2) == 0 && tl == 0,
		       "glob_last of a literal: the name unescaped");
		glob_free(g);
		glob_compile("/src/**", &g, &err);
		tap_ok(!glob_last(g, &head, &hl, &tail, &tl, &lit),
		       "glob_last of a trailing ** is false");
		glob_free(g);
	}

	/* The longest pattern is taken, one byte more is refused. */
	{
		static char big[4098];
		struct glob *g;
		const char *err = NULL;

		big[0] = '/';
		memset(big + 1, 'a', 4095);
		big[4096] = '\0';
		tap_ok(glob_compile(big, &g, &err) == 0 && glob_match(g, big, 4096),
		       "a pattern of 4096 bytes compiles and matches itself");
		glob_free(g);
		big[4096] = 'a';
		big[4097] = '\0';
		g = NULL;
		tap_ok(glob_compile(big, &g, &err) == -1 && g == NULL &&
		       strcmp(err, "pattern longer than 4096 bytes") == 0,
		       "a pattern of 4097 bytes is refused");
	}
	return tap_done();
}
