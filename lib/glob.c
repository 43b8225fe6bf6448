/* glob.c - compile and match the policy's path globs (see glob.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "policy.h"
#include "util.h"

enum comp_type {
	COMP_LITERAL,	/* no wildcard: compared with memcmp (text unescaped) */
	COMP_WILD,	/* *, ?, [...]: matched by wild_match (text as written) */
	COMP_STARSTAR,	/* "**": zero or more whole components */
};

struct comp {
	enum comp_type type;
	const char *text;	/* into glob.buf */
	size_t len;
	/* COMP_WILD: literal head and tail, unescaped, for cheap rejection */
	const char *head, *tail;
	size_t hlen, tlen;
};

struct glob {
	char *text;		/* cleaned pattern */
	char *prefix;		/* literal prefix, unescaped */
	size_t prefix_len;
	bool literal;
	struct comp *comps;
	size_t ncomps;
	char *buf;		/* storage for component texts */
};

static bool is_wild(char c)
{
	return c == '*' || c == '?' || c == '[';
}

/* Check the class starting at P[I] == '['; returns the index after its ']'
 * or 0 when it is malformed. */
static size_t class_end(const char *p, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j < len && (p[j] == '!' || p[j] == '^'))
		j++;
	if (j < len && p[j] == ']')	/* a leading ']' is literal */
		j++;
	while (j < len && p[j] != ']') {
		if (p[j] == '\\') {
			if (++j == len)
				return 0;
		}
		j++;
	}
	return j < len ? j + 1 : 0;
}

/* Does byte C match the class P[I..END)?  The class is well formed. */
static bool class_match(const char *p, size_t i, size_t end, unsigned char c)
{
	bool neg = false, hit = false, first = true;
	size_t j = i + 1;

	end--;	/* index of the closing ']' */
	if (p[j] == '!' || p[j] == '^') {
		neg = true;
		j++;
	}
	while (j < end) {
		unsigned char lo, hi;

		if (p[j] == ']' && !first)
			break;
		first = false;
		if (p[j] == '\\')
			j++;
		lo = (unsigned char)p[j++];
		hi = lo;
		if (j + 1 < end && p[j] == '-') {
			j++;
			if (p[j] == '\\')
				j++;
			hi = (unsigned char)p[j++];
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	return hit != neg;
}

/* Match the component pattern P against the component S.  The classic
 * single-backtrack algorithm: O(|P| x |S|) at worst. */
static bool wild_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;

	while (si < slen) {
		if (pi < plen) {
			char c = p[pi];

			if (c == '*') {
				star_pi = ++pi;
				star_si = si;
				continue;
			}
			if (c == '?') {
				pi++;
				si++;
				continue;
			}
			if (c == '[') {
				size_t end = class_end(p, plen, pi);

				if (class_match(p, pi, end, (unsigned char)s[si])) {
					pi = end;
					si++;
					continue;
				}
			} else {
				size_t q = pi;

				if (c == '\\')
					c = p[++q];
				if (c == s[si]) {
					pi = q + 1;
					si++;
					continue;
				}
			}
		}
		if (star_pi == SIZE_MAX)
			return false;
		pi = star_pi;
		si = ++star_si;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

static bool comp_match(const struct comp *c, const char *s, size_t len)
{
	if (c->type == COMP_LITERAL)
		return c->len == len && memcmp(c->text, s, len) == 0;
	if (len < c->hlen + c->tlen ||
	    memcmp(s, c->head, c->hlen) != 0 ||
	    memcmp(s + len - c->tlen, c->tail, c->tlen) != 0)
		return false;
	return wild_match(c->text, c->len, s, len);
}

/* Copy TEXT[0..LEN) to DST without its backslash escapes; returns the
 * length written. */
static size_t unescape(char *dst, const char *text, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\\' && i + 1 < len)
			i++;
		dst[n++] = text[i];
	}
	return n;
}

/* Fill the literal head and tail of a wild component C. */
static void wild_bounds(struct comp *c, char **store)
{
	const char *t = c->text;
	size_t i, first = c->len, tail_start = 0;

	for (i = 0; i < c->len; i++) {
		if (t[i] == '\\') {
			i++;
			continue;
		}
		if (is_wild(t[i])) {
			if (first == c->len)
				first = i;
			if (t[i] == '[')
				i = class_end(t, c->len, i) - 1;
			tail_start = i + 1;
		}
	}
	c->head = *store;
	c->hlen = unescape(*store, t, first);
	*store += c->hlen;
	c->tail = *store;
	c->tlen = unescape(*store, t + tail_start, c->len - tail_start);
	*store += c->tlen;
}

int glob_compile(const char *pattern, struct glob **out, const char **err)
{
	size_t plen = strlen(pattern), i, n = 0, nc = 0;
	struct glob *g;
	char *store;
	const char *s;
	bool wild_seen = false;

	*out = NULL;
	if (plen == 0) {
		*err = "empty pattern";
		return -1;
	}
	if (plen > POLICY_MAX_PATTERN) {
		*err = "pattern longer than 4096 bytes";
		return -1;
	}
	g = xcalloc(1, sizeof(*g));
	g->text = xmalloc(plen + 2);
	/* Components: at most one per two bytes of the pattern, plus one. */
	g->comps = xcalloc(plen / 2 + 2, sizeof(*g->comps));
	/* Texts, heads and tails: at most three times the pattern. */
	g->buf = store = xmalloc(3 * plen + 3);

	g->text[n++] = '/';
	for (s = pattern; *s;) {
		const char *c;
		size_t len;
		struct comp *cp;

		while (*s == '/')
			s++;
		c = s;
		while (*s && *s != '/') {
			/* An escaped '/' would split the component: refuse. */
			if (*s == '\\' && s[1] != '\0' && s[1] != '/') {
				s += 2;
				continue;
			}
			if (*s == '\\') {
				*err = s[1] ? "a backslash cannot escape '/'"
					    : "trailing backslash";
				goto fail;
			}
			if (*s == '[') {
				size_t end = class_end(s, strcspn(s, "/"), 0);

				if (end == 0) {
					*err = "unterminated character class";
					goto fail;
				}
				s += end;
				continue;
			}
			s++;
		}
		len = (size_t)(s - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			*err = "'..' is not allowed in a pattern";
			goto fail;
		}
		if (n > 1)
			g->text[n++] = '/';
		memcpy(g->text + n, c, len);
		n += len;

		cp = &g->comps[nc++];
		if (len == 2 && c[0] == '*' && c[1] == '*') {
			cp->type = COMP_STARSTAR;
			continue;
		}
		cp->type = COMP_LITERAL;
		for (i = 0; i < len; i++) {
			if (c[i] == '\\') {
				i++;
				continue;
			}
			if (is_wild(c[i]))
				cp->type = COMP_WILD;
		}
		if (cp->type == COMP_LITERAL) {
			cp->text = store;
			cp->len = unescape(store, c, len);
			store += cp->len;
		} else {
			cp->text = store;
			memcpy(store, c, len);
			cp->len = len;
			store += len;
			wild_bounds(cp, &store);
		}
	}
	g->text[n] = '\0';
	g->ncomps = nc;

	/* The literal prefix: everything before the first wildcard. */
	g->prefix = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (g->text[i] == '\\') {
			i++;
			g->prefix[g->prefix_len++] = g->text[i];
			continue;
		}
		if (is_wild(g->text[i])) {
			wild_seen = true;
			break;
		}
		g->prefix[g->prefix_len++] = g->text[i];
	}
	g->prefix[g->prefix_len] = '\0';
	g->literal = !wild_seen;
	*out = g;
	return 0;
fail:
	glob_free(g);
	return -1;
}

void glob_free(struct glob *g)
{
	if (!g)
		return;
	free(g->text);
	free(g->prefix);
	free(g->comps);
	free(g->buf);
	free(g);
}

/* Components as the classic wildcard algorithm one level up: "**" is the
 * star, every other component matches exactly one path component. */
bool glob_match(const struct glob *g, const char *path, size_t len)
{
	const char *p = path, *end = path + len;
	const char *star_p = NULL;
	size_t ci = 0, star_ci = SIZE_MAX;

	if (p < end && *p == '/')
		p++;
	while (p < end) {
		const char *q;

		if (ci < g->ncomps && g->comps[ci].type == COMP_STARSTAR) {
			star_ci = ci++;
			star_p = p;
			continue;
		}
		q = memchr(p, '/', (size_t)(end - p));
		if (!q)
			q = end;
		if (ci < g->ncomps && comp_match(&g->comps[ci], p, (size_t)(q - p))) {
			ci++;
			p = q < end ? q + 1 : end;
			continue;
		}
		if (star_ci == SIZE_MAX)
			return false;
		ci = star_ci + 1;
		q = memchr(star_p, '/', (size_t)(end - star_p));
		star_p = q ? q + 1 : end;
		p = star_p;
	}
	while (ci < g->ncomps && g->comps[ci].type == COMP_STARSTAR)
		ci++;
	return ci == g->ncomps;
}

const char *glob_text(const struct glob *g)
{
	return g->text;
}

const char *glob_prefix(const struct glob *g, size_t *len)
{
	*len = g->prefix_len;
	return g->prefix;
}

bool glob_is_literal(const struct glob *g)
{
	return g->literal;
}

bool glob_last(const struct glob *g, const char **head, size_t *hlen,
	       const char **tail, size_t *tlen, bool *literal)
{
	const struct comp *c;

	if (g->ncomps == 0)
		return false;
	c = &g->comps[g->ncomps - 1];
	if (c->type == COMP_STARSTAR)
		return false;
	*literal = c->type == COMP_LITERAL;
	if (*literal) {
		*head = c->text;
		*hlen = c->len;
		*tail = NULL;
		*tlen = 0;
	} else {
		*head = c->head;
		*hlen = c->hlen;
		*tail = c->tail;
		*tlen = c->tlen;
	}
	return true;
}
