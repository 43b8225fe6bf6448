/* policy.c - decide the level of a path.
 *
 * MUST (each has a test in tests/unit/test-policy-match.c):
 * - decide exactly as afs-policy(5) PRECEDENCE: the best matching rule by
 *   (priority, kind, literal prefix length, later rule); no match: the
 *   default;
 * - present a directory no rule matches as view when some rule could grant
 *   view or more below it, and never otherwise;
 * - keep the root at least view;
 * - under a directory at none, decide none (policy_resolve);
 * - decide a path whose regex hits a PCRE2 limit as none (fail closed);
 * - do no I/O and no allocation (but one PCRE2 match block per thread, made
 *   on the thread's first regex match), and take time bounded by the path
 *   length and the rules indexed under its ancestors, never by the policy.
 *
 * The index: rules whose pattern is a literal path (file rules, globs
 * without wildcards) are found by one hash lookup of the path; directory
 * rules by one lookup per ancestor; globs with wildcards and regexes are
 * kept in buckets by the directory their literal prefix names, and only the
 * buckets of the path's ancestors are tried, each in precedence order,
 * stopping at the first match or when no rule left can beat the best so far.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"
#include "util.h"

static const char *const level_names[] = { "none", "view", "read", "write" };

const char *level_name(enum level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

int level_parse(const char *s, enum level *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum level)i;
			return 0;
		}
	}
	return -1;
}

/* ---- string map ---------------------------------------------------------- */

uint64_t smap_hash(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int smap_get(const struct smap *m, const char *key, size_t len, uint32_t *val)
{
	uint64_t h;
	size_t i;

	if (!m->n)
		return -1;
	h = smap_hash(key, len);
	for (i = h & m->mask;; i = (i + 1) & m->mask) {
		const struct smap_slot *s = &m->slots[i];

		if (!s->key)
			return -1;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
			*val = s->val;
			return 0;
		}
	}
}

static void smap_grow(struct smap *m)
{
	size_t cap = m->slots ? 2 * (m->mask + 1) : 16, i;
	struct smap_slot *old = m->slots;
	size_t oldcap = old ? m->mask + 1 : 0;

	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->mask = cap - 1;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].key)
			continue;
		for (j = old[i].hash & m->mask; m->slots[j].key; j = (j + 1) & m->mask)
			;
		m->slots[j] = old[i];
	}
	free(old);
}

/* Insert KEY unless present (the first insert wins). */
void smap_put(struct smap *m, const char *key, size_t len, uint32_t val)
{
	uint32_t dummy;
	size_t i;
	uint64_t h;

	if (smap_get(m, key, len, &dummy) == 0)
		return;
	if (!m->slots || 2 * (m->n + 1) > m->mask + 1)
		smap_grow(m);
	h = smap_hash(key, len);
	for (i = h & m->mask; m->slots[i].key; i = (i + 1) & m->mask)
		;
	m->slots[i].key = key;
	m->slots[i].len = len;
	m->slots[i].hash = h;
	m->slots[i].val = val;
	m->n++;
}

void smap_free(struct smap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ---- building ------------------------------------------------------------ */

static int kind_rank(enum rule_kind k)
{
	switch (k) {
	case RULE_FILE:
		return 2;
	case RULE_DIRECTORY:
		return 1;
	case RULE_GLOB:
	case RULE_REGEX:
		return 0;
	}
	return 0;
}

/* Precedence, best first: priority, kind, literal prefix, later rule. */
static int by_precedence(const void *a, const void *b)
{
	const struct prule *x = *(struct prule *const *)a, *y = *(struct prule *const *)b;

	if (x->pub.priority != y->pub.priority)
		return x->pub.priority > y->pub.priority ? -1 : 1;
	if (kind_rank(x->pub.kind) != kind_rank(y->pub.kind))
		return kind_rank(x->pub.kind) > kind_rank(y->pub.kind) ? -1 : 1;
	if (x->prefix_len != y->prefix_len)
		return x->prefix_len > y->prefix_len ? -1 : 1;
	return x->order > y->order ? -1 : 1;
}

static void list_add(struct rule_list *l, struct prule *r)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->rules = xreallocarray(l->rules, l->cap, sizeof(*l->rules));
	}
	l->rules[l->n++] = r;
}

/* The extension a glob's matches must end with: what follows the last '.'
 * of its last component's literal tail. */
static void set_ext(struct prule *r)
{
	const char *t, *dot;
	size_t tlen;

	r->ext = NULL;
	if (r->pub.kind != RULE_GLOB || !r->has_last)
		return;
	t = r->last_literal ? r->last_head : r->last_tail;
	tlen = r->last_literal ? r->last_hlen : r->last_tlen;
	dot = tlen ? memrchr(t, '.', tlen) : NULL;
	if (!dot)
		return;
	r->ext = dot + 1;
	r->ext_len = tlen - (size_t)(dot + 1 - t);
}

static bool literal_path(const struct prule *r)
{
	return r->pub.kind == RULE_FILE || (r->pub.kind == RULE_GLOB && r->path);
}

/* Every proper ancestor of P[0..LEN) but the root goes into the set; with
 * SELF, P itself too. */
static void add_ancestors(struct smap *m, const char *p, size_t len, bool self)
{
	size_t i;

	for (i = 1; i < len; i++)
		if (p[i] == '/')
			smap_put(m, p, i, 1);
	if (self && len > 1)
		smap_put(m, p, len, 1);
}

struct policy *policy_build(struct prule *rules, size_t n, enum level def,
			    char **files, size_t nfiles)
{
	struct policy *pol = xcalloc(1, sizeof(*pol));
	struct prule **sorted = xcalloc(n, sizeof(*sorted));
	size_t i;

	pol->rules = rules;
	pol->nrules = n;
	pol->def = def;
	pol->files = files;
	pol->nfiles = nfiles;
	for (i = 0; i < n; i++)
		sorted[i] = &rules[i];
	qsort(sorted, n, sizeof(*sorted), by_precedence);
	for (i = 0; i < n; i++) {
		struct prule *r = sorted[i];

		r->rank = (uint32_t)i;
		if (literal_path(r)) {
			smap_put(&pol->exact, r->path, r->path_len, r->order);
		} else if (r->pub.kind == RULE_DIRECTORY) {
			smap_put(&pol->dirs, r->path, r->path_len, r->order);
		} else {
			uint32_t b;
			struct bucket *bk;

			if (smap_get(&pol->anchors, r->anchor, r->anchor_len, &b) < 0) {
				/* Grown by doubling: a policy of 10,000 anchors
				 * copied its array 10,000 times. */
				b = (uint32_t)pol->nbuckets++;
				if (pol->nbuckets > pol->bucketcap) {
					pol->bucketcap = pol->bucketcap ? 2 * pol->bucketcap : 8;
					pol->buckets = xreallocarray(pol->buckets, pol->bucketcap,
								     sizeof(*pol->buckets));
				}
				memset(&pol->buckets[b], 0, sizeof(pol->buckets[b]));
				smap_put(&pol->anchors, r->anchor, r->anchor_len, b);
			}
			bk = &pol->buckets[b];
			set_ext(r);
			if (r->ext) {
				uint32_t e;

				if (smap_get(&bk->byext, r->ext, r->ext_len, &e) < 0) {
					e = (uint32_t)bk->next++;
					if (bk->next > bk->extcap) {
						bk->extcap = bk->extcap ? 2 * bk->extcap : 4;
						bk->ext = xreallocarray(bk->ext, bk->extcap,
									sizeof(*bk->ext));
					}
					memset(&bk->ext[e], 0, sizeof(bk->ext[e]));
					smap_put(&bk->byext, r->ext, r->ext_len, e);
				}
				list_add(&bk->ext[e], r);	/* rank order: we walk sorted */
			} else {
				list_add(&bk->any, r);
			}
		}
		if (r->pub.level == LEVEL_NONE)
			continue;
		if (literal_path(r) || r->pub.kind == RULE_DIRECTORY)
			add_ancestors(&pol->implicit, r->path, r->path_len, false);
		else
			add_ancestors(&pol->implicit, r->anchor, r->anchor_len, true);
	}
	free(sorted);
	pol->mctx = pcre2_match_context_create(NULL);
	if (!pol->mctx) {
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	pcre2_set_match_limit(pol->mctx, POLICY_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(pol->mctx, POLICY_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(pol->mctx, POLICY_RE_HEAP_LIMIT);
	return pol;
}

const struct netpolicy *policy_network(const struct policy *pol)
{
	return &pol->net;
}

void policy_free(struct policy *pol)
{
	size_t i;

	if (!pol)
		return;
	policy_rules_free(pol->rules, pol->nrules);
	netpolicy_free(&pol->net);
	for (i = 0; i < pol->nfiles; i++)
		free(pol->files[i]);
	free(pol->files);
	smap_free(&pol->exact);
	smap_free(&pol->dirs);
	smap_free(&pol->anchors);
	smap_free(&pol->implicit);
	for (i = 0; i < pol->nbuckets; i++) {
		struct bucket *bk = &pol->buckets[i];
		size_t e;

		free(bk->any.rules);
		for (e = 0; e < bk->next; e++)
			free(bk->ext[e].rules);
		free(bk->ext);
		smap_free(&bk->byext);
	}
	free(pol->buckets);
	pcre2_match_context_free(pol->mctx);
	free(pol);
}

/* ---- deciding ------------------------------------------------------------ */

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void md_init(void)
{
	if (pthread_key_create(&md_key, md_free) != 0)
		abort();
}

static pcre2_match_data *thread_match_data(void)
{
	pcre2_match_data *md;

	pthread_once(&md_once, md_init);
	md = pthread_getspecific(md_key);
	if (!md) {
		md = pcre2_match_data_create(1, NULL);
		if (!md || pthread_setspecific(md_key, md) != 0)
			abort();	/* no memory for 24 bytes: nothing sane to do */
	}
	return md;
}

enum match { NO_MATCH, MATCH, MATCH_ERROR };

static enum match rule_match(const struct policy *pol, const struct prule *r,
			     const char *path, size_t len, const char *last, size_t last_len)
{
	int rc;

	if (r->pub.kind == RULE_GLOB) {
		if (r->has_last) {
			if (r->last_literal) {
				if (last_len != r->last_hlen ||
				    memcmp(last, r->last_head, last_len) != 0)
					return NO_MATCH;
			} else if (last_len < r->last_hlen + r->last_tlen ||
				   memcmp(last, r->last_head, r->last_hlen) != 0 ||
				   memcmp(last + last_len - r->last_tlen, r->last_tail,
					  r->last_tlen) != 0) {
				return NO_MATCH;
			}
		}
		return glob_match(r->glob, path, len) ? MATCH : NO_MATCH;
	}
	rc = pcre2_match(r->re, (PCRE2_SPTR)path, len, 0, 0, thread_match_data(), pol->mctx);
	if (rc >= 0)
		return MATCH;
	return rc == PCRE2_ERROR_NOMATCH ? NO_MATCH : MATCH_ERROR;
}

/* The best rule matching PATH, or NULL; *failed when a regex hit a limit. */
static const struct prule *best_rule(const struct policy *pol, const char *path,
				     size_t len, bool *failed)
{
	const struct prule *best = NULL;
	const char *last = path + len, *ext;
	size_t i, last_len, ext_len = 0;
	uint32_t v;

	*failed = false;
	while (last > path && last[-1] != '/')
		last--;
	last_len = (size_t)(path + len - last);
	ext = memrchr(last, '.', last_len);
	if (ext) {
		ext++;
		ext_len = (size_t)(path + len - ext);
	}

	if (smap_get(&pol->exact, path, len, &v) == 0)
		best = &pol->rules[v];
	/* i runs over the ends of the ancestors: the root, then each '/',
	 * then the path itself. */
	for (i = 0; i <= len; i++) {
		size_t alen, k, j;
		uint32_t b, e;
		const struct bucket *bk;
		const struct rule_list *el;

		if (i == 0)
			alen = 1;
		else if (i == len || path[i] == '/')
			alen = i;
		else
			continue;
		if (i == len && len == 1)
			break;	/* the root was done at i == 0 */
		if (smap_get(&pol->dirs, path, alen, &v) == 0 &&
		    (!best || pol->rules[v].rank < best->rank)) {
			best = &pol->rules[v];
			*failed = false;
		}
		if (smap_get(&pol->anchors, path, alen, &b) < 0)
			continue;
		bk = &pol->buckets[b];
		el = NULL;
		if (ext && smap_get(&bk->byext, ext, ext_len, &e) == 0)
			el = &bk->ext[e];
		/* Both lists in rank order, merged. */
		for (k = 0, j = 0; k < bk->any.n || (el && j < el->n);) {
			const struct prule *r;
			enum match m;

			if (el && j < el->n && (k == bk->any.n || el->rules[j]->rank < bk->any.rules[k]->rank))
				r = el->rules[j++];
			else
				r = bk->any.rules[k++];
			if (best && r->rank >= best->rank)
				break;
			m = rule_match(pol, r, path, len, last, last_len);
			if (m == NO_MATCH)
				continue;
			best = r;
			*failed = m == MATCH_ERROR;
			break;
		}
	}
	return best;
}

/* Does a rule of L at view or more have a tail that starts NEXT? */
static bool list_grants(const struct rule_list *l, const char *next, size_t nlen)
{
	size_t k;

	for (k = 0; k < l->n; k++) {
		const struct prule *r = l->rules[k];

		if (r->pub.level != LEVEL_NONE && r->tail_len <= nlen &&
		    memcmp(next, r->tail, r->tail_len) == 0)
			return true;
	}
	return false;
}

/* Could some rule grant view or more below the directory PATH? */
static bool grants_below(const struct policy *pol, const char *path, size_t len)
{
	uint32_t v;
	size_t i;

	if (smap_get(&pol->implicit, path, len, &v) == 0)
		return true;
	/* A glob or regex anchored at an ancestor A whose prefix is a prefix of
	 * PATH/: its tail starts the component of PATH after A. */
	for (i = 0; i < len; i++) {
		size_t alen, k;
		uint32_t b;
		const char *next;
		size_t nlen;

		if (i == 0)
			alen = 1;
		else if (path[i] == '/')
			alen = i;
		else
			continue;
		if (smap_get(&pol->anchors, path, alen, &b) < 0)
			continue;
		next = path + (alen == 1 ? 1 : alen + 1);
		nlen = 0;
		while (next + nlen < path + len && next[nlen] != '/')
			nlen++;
		if (list_grants(&pol->buckets[b].any, next, nlen))
			return true;
		for (k = 0; k < pol->buckets[b].next; k++)
			if (list_grants(&pol->buckets[b].ext[k], next, nlen))
				return true;
	}
	return false;
}

void policy_decide(const struct policy *pol, const char *path, size_t len,
		   bool is_dir, struct verdict *out)
{
	bool failed;
	const struct prule *r = best_rule(pol, path, len, &failed);

	if (r) {
		out->level = failed ? LEVEL_NONE : r->pub.level;
		out->why = WHY_RULE;
		out->rule = &r->pub;
	} else {
		out->level = pol->def;
		out->why = WHY_DEFAULT;
		out->rule = NULL;
		if (is_dir && out->level == LEVEL_NONE && len > 1 &&
		    grants_below(pol, path, len)) {
			out->level = LEVEL_VIEW;
			out->why = WHY_IMPLICIT;
		}
	}
	if (len == 1 && out->level == LEVEL_NONE) {
		out->level = LEVEL_VIEW;
		out->why = WHY_IMPLICIT;
		out->rule = NULL;
	}
}

void policy_resolve(const struct policy *pol, const char *path, size_t len,
		    bool is_dir, struct verdict *out)
{
	size_t i;

	for (i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		policy_decide(pol, path, i, true, out);
		if (out->level == LEVEL_NONE) {
			out->why = WHY_HIDDEN;
			return;
		}
	}
	policy_decide(pol, path, len, is_dir, out);
}

enum level policy_default(const struct policy *pol)
{
	return pol->def;
}

size_t policy_nrules(const struct policy *pol)
{
	return pol->nrules;
}

const struct policy_rule *policy_rule_at(const struct policy *pol, size_t i)
{
	return i < pol->nrules ? &pol->rules[i].pub : NULL;
}

/* ---- lint ---------------------------------------------------------------- */

void policy_lint(const struct policy *pol, struct diags *diags)
{
	size_t i;

	for (i = 0; i < pol->nrules; i++) {
		const struct prule *r = &pol->rules[i];
		const char *dir;
		size_t dlen;
		struct verdict v;

		if (r->pub.kind == RULE_GLOB && r->pub.level == LEVEL_NONE &&
		    strcmp(glob_text(r->glob), "/**") == 0) {
			diags_add(diags, DIAG_WARNING, r->pub.file, r->pub.line, r->column,
				  "a '**' rule at none hides every directory no higher rule "
				  "names; write 'default: none' instead");
			continue;
		}
		if (r->pub.level == LEVEL_NONE)
			continue;
		/* The directory the rule works in: it takes effect only if that
		 * directory can be reached. */
		if (literal_path(r) || r->pub.kind == RULE_DIRECTORY) {
			dir = r->path;
			dlen = r->path_len;
			while (dlen > 1 && dir[dlen - 1] != '/')
				dlen--;
			if (dlen > 1)
				dlen--;
		} else {
			dir = r->anchor;
			dlen = r->anchor_len;
		}
		if (dlen <= 1)
			continue;
		policy_resolve(pol, dir, dlen, true, &v);
		if (v.level == LEVEL_NONE && v.rule && v.rule != &r->pub) {
			diags_add(diags, DIAG_WARNING, r->pub.file, r->pub.line, r->column,
				  "rule can never take effect: '%.*s' is hidden by the rule at %s:%d",
				  (int)dlen, dir, v.rule->file, v.rule->line);
		}
	}
}
