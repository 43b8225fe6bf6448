/* policy_load.c - read a YAML policy, check it, compile it for deciding.
 *
 * MUST:
 * - report every error of a file as FILE:LINE:COLUMN with the position of the
 *   offending node, and all of them in one run (up to DIAG_MAX);
 * - bound every count the input controls (see policy.h);
 * - refuse YAML aliases (no expansion bombs), tags, several documents;
 * - refuse a policy file that other users may write;
 * - expand extends in place, base rules first, and refuse cycles.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "path.h"
#include "policy_int.h"
#include "util.h"

/* Beyond this many messages a broken file is not worth reading further. */
#define DIAG_MAX 200

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype type;
	int line, col;		/* 1-based */
	char *val;		/* scalar */
	size_t len;
	bool plain;
	struct ynode **kids;	/* sequence items; mapping keys and values alternate */
	size_t n, cap;
};

struct loader {
	const struct policy_opts *opts;
	struct diags *diags;
	struct prule *rules;
	size_t nrules, cap;
	char **files;
	size_t nfiles;
	struct {
		dev_t dev;
		ino_t ino;
	} chain[POLICY_MAX_EXTENDS + 2];
	int depth;
	bool rules_full;
	struct netpolicy net;
	bool net_full;
};

/* ---- diagnostics ------------------------------------------------------ */

void diags_init(struct diags *d)
{
	memset(d, 0, sizeof(*d));
}

void diags_free(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       int line, int column, const char *fmt, ...)
{
	struct diag *g;
	va_list ap;

	if (d->n == DIAG_MAX) {
		/* Keep counting errors so that the caller still fails. */
		if (sev == DIAG_ERROR)
			d->nerrors++;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	g = &d->v[d->n++];
	g->severity = sev;
	g->file = xstrdup(file);
	g->line = line;
	g->column = column;
	va_start(ap, fmt);
	if (vasprintf(&g->msg, fmt, ap) < 0)
		g->msg = xstrdup("out of memory");
	va_end(ap);
	if (sev == DIAG_ERROR)
		d->nerrors++;
}

/* Messages of one file in line order; files in the order first reported. */
static const struct diags *sort_diags;

static size_t file_rank(const char *file)
{
	size_t i;

	for (i = 0; i < sort_diags->n; i++)
		if (strcmp(sort_diags->v[i].file, file) == 0)
			return i;
	return i;
}

static int by_position(const void *a, const void *b)
{
	const struct diag *x = &sort_diags->v[*(const size_t *)a];
	const struct diag *y = &sort_diags->v[*(const size_t *)b];
	size_t fx = file_rank(x->file), fy = file_rank(y->file);

	if (fx != fy)
		return fx < fy ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

void diags_print(FILE *f, const struct diags *d)
{
	size_t i, *idx = xcalloc(d->n, sizeof(*idx));

	for (i = 0; i < d->n; i++)
		idx[i] = i;
	sort_diags = d;	/* diags_print runs on the command line, once */
	qsort(idx, d->n, sizeof(*idx), by_position);
	for (i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[idx[i]];
		const char *sev = g->severity == DIAG_WARNING ? "warning: " : "";

		if (g->line > 0)
			fprintf(f, "%s:%d:%d: %s%s\n", g->file, g->line, g->column, sev, g->msg);
		else
			fprintf(f, "%s: %s%s\n", g->file, sev, g->msg);
	}
	free(idx);
	if (d->nerrors > 0 && d->n == DIAG_MAX)
		fprintf(f, "%s: too many errors, stopped after %d messages\n",
			d->n ? d->v[0].file : "policy", DIAG_MAX);
}

/* A pattern or value for a one-line message: bytes outside printable ASCII
 * as \n, \t or \xNN, and at most 200 bytes of it. */
static char *quote(const char *s, size_t len)
{
	char *out = xmalloc(len * 4 + 8), *o = out;
	size_t i, shown = len > 200 ? 200 : len;

	for (i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c >= 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	if (shown < len)
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

#define ERR(L, file, node, ...) \
	diags_add((L)->diags, DIAG_ERROR, (file), (node)->line, (node)->col, __VA_ARGS__)

/* ---- YAML to a small tree --------------------------------------------- */

static void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

static void ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? 2 * parent->cap : 4;
		parent->kids = xreallocarray(parent->kids, parent->cap, sizeof(*parent->kids));
	}
	parent->kids[parent->n++] = kid;
}

static struct ynode *ynode_new(enum ytype t, yaml_mark_t m)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = t;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	return n;
}

/* Parse BUF into a tree; NULL (with a message) on any YAML error, or when
 * the document is empty (*empty set). */
static struct ynode *parse_yaml(struct loader *L, const char *file,
				const char *buf, size_t len, bool *empty)
{
	struct ynode *stack[POLICY_MAX_DEPTH + 1], *root = NULL;
	int depth = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false, failed = false;

	*empty = false;
	if (!yaml_parser_initialize(&p)) {
		diags_add(L->diags, DIAG_ERROR, file, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !failed) {
		struct ynode *n = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			if (p.context)
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)p.problem_mark.line + 1,
					  (int)p.problem_mark.column + 1,
					  "YAML syntax error: %s (%s at %d:%d)",
					  p.problem ? p.problem : "unknown", p.context,
					  (int)p.context_mark.line + 1,
					  (int)p.context_mark.column + 1);
			else
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)p.problem_mark.line + 1,
					  (int)p.problem_mark.column + 1,
					  "YAML syntax error: %s",
					  p.problem ? p.problem : "unknown");
			failed = true;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)ev.start_mark.line + 1,
					  (int)ev.start_mark.column + 1,
					  "more than one YAML document");
				failed = true;
			}
			break;
		case YAML_ALIAS_EVENT:
			diags_add(L->diags, DIAG_ERROR, file, (int)ev.start_mark.line + 1,
				  (int)ev.start_mark.column + 1,
				  "YAML aliases are not allowed");
			failed = true;
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.tag) {
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)ev.start_mark.line + 1,
					  (int)ev.start_mark.column + 1,
					  "YAML tags are not allowed");
				failed = true;
				break;
			}
			n = ynode_new(Y_SCALAR, ev.start_mark);
			n->len = ev.data.scalar.length;
			n->val = xmalloc(n->len + 1);
			memcpy(n->val, ev.data.scalar.value, n->len);
			n->val[n->len] = '\0';
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if ((ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.tag) ||
			    (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.tag)) {
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)ev.start_mark.line + 1,
					  (int)ev.start_mark.column + 1,
					  "YAML tags are not allowed");
				failed = true;
				break;
			}
			if (depth == POLICY_MAX_DEPTH) {
				diags_add(L->diags, DIAG_ERROR, file,
					  (int)ev.start_mark.line + 1,
					  (int)ev.start_mark.column + 1,
					  "nesting deeper than %d levels", POLICY_MAX_DEPTH);
				failed = true;
				break;
			}
			n = ynode_new(ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
				      ev.start_mark);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_NO_EVENT:
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		}
		if (n) {
			if (depth > 0)
				ynode_add(stack[depth - 1], n);
			else
				root = n;
			if (n->type != Y_SCALAR)
				stack[depth++] = n;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (failed) {
		ynode_free(root);
		return NULL;
	}
	if (!root)
		*empty = true;
	return root;
}

/* ---- the schema --------------------------------------------------------- */

static bool is_null(const struct ynode *n)
{
	return n->type == Y_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->val, "~") == 0 || strcmp(n->val, "null") == 0 ||
		strcmp(n->val, "Null") == 0 || strcmp(n->val, "NULL") == 0);
}

static const char *type_name(const struct ynode *n)
{
	if (is_null(n))
		return "null";
	switch (n->type) {
	case Y_SCALAR:
		return "a scalar";
	case Y_SEQ:
		return "a sequence";
	case Y_MAP:
		return "a mapping";
	}
	return "?";
}

/* VALUE must be a non-null scalar without NUL bytes. */
static bool want_string(struct loader *L, const char *file, const char *key,
			const struct ynode *v, size_t max)
{
	if (v->type != Y_SCALAR || is_null(v)) {
		ERR(L, file, v, "'%s' must be a string, not %s", key, type_name(v));
		return false;
	}
	if (memchr(v->val, '\0', v->len)) {
		ERR(L, file, v, "'%s' contains a NUL byte", key);
		return false;
	}
	if (v->len > max) {
		ERR(L, file, v, "'%s' is longer than %zu bytes", key, max);
		return false;
	}
	if (v->len == 0) {
		ERR(L, file, v, "'%s' is empty", key);
		return false;
	}
	return true;
}

static bool want_level(struct loader *L, const char *file, const char *key,
		       const struct ynode *v, enum level *out)
{
	if (!want_string(L, file, key, v, 64))
		return false;
	if (level_parse(v->val, out) < 0) {
		cleanup_free char *q = quote(v->val, v->len);

		ERR(L, file, v, "unknown permission '%s' (expected none, view, read or write)", q);
		return false;
	}
	return true;
}

/* A short word of letters, digits, '_' and '-': what a key of ours is made
 * of, and so what an error may quote back. */
static bool looks_like_key(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Mapping keys: each must be a scalar, known, and given once.  Returns the
 * index into KNOWN or -1 after reporting. */
static int map_key(struct loader *L, const char *file, const struct ynode *k,
		   const char *const *known, size_t nknown,
		   const struct ynode **seen, const char *where)
{
	size_t i;

	if (k->type != Y_SCALAR || is_null(k)) {
		ERR(L, file, k, "%s keys must be strings, not %s", where, type_name(k));
		return -1;
	}
	for (i = 0; i < nknown; i++) {
		if (strcmp(k->val, known[i]) == 0 && strlen(known[i]) == k->len) {
			if (seen[i]) {
				ERR(L, file, k, "duplicate key '%s' (first at line %d)",
				    known[i], seen[i]->line);
				return -1;
			}
			seen[i] = k;
			return (int)i;
		}
	}
	/* Quoted only when it looks like a key: a file that is not a policy
	 * (extends: /etc/shadow) must not have its lines printed. */
	if (looks_like_key(k->val, k->len)) {
		cleanup_free char *q = quote(k->val, k->len);

		ERR(L, file, k, "unknown key '%s' in %s", q, where);
	} else {
		ERR(L, file, k, "unknown key in %s", where);
	}
	return -1;
}

/* Longest literal prefix of a regex that begins with '^': what every match
 * must start with.  None when the pattern has an alternation. */
static char *regex_prefix(const char *re, size_t *plen)
{
	size_t len = strlen(re), i, n = 0;
	char *out = xmalloc(len + 1);

	*plen = 0;
	out[0] = '\0';
	if (re[0] != '^')
		return out;
	/* An alternation anywhere may make the prefix meaningless; finding
	 * only the top-level ones would mean parsing \Q..\E, \c and the
	 * like.  Without a prefix the rule is merely tried more often. */
	if (strchr(re, '|'))
		return out;
	for (i = 1; i < len;) {
		char c = re[i];
		size_t next;

		if (c == '\\') {
			if (i + 1 >= len || (re[i + 1] >= '0' && re[i + 1] <= '9') ||
			    (re[i + 1] >= 'a' && re[i + 1] <= 'z') ||
			    (re[i + 1] >= 'A' && re[i + 1] <= 'Z'))
				break;
			c = re[i + 1];
			next = i + 2;
		} else if (strchr("^$.[|()?*+{", c)) {
			break;
		} else {
			next = i + 1;
		}
		/* A quantified character is not a literal. */
		if (next < len && strchr("?*{", re[next]))
			break;
		out[n++] = c;
		if (next < len && re[next] == '+')
			break;
		i = next;
	}
	out[n] = '\0';
	*plen = n;
	return out;
}

/* A file or directory pattern: a plain path, cleaned; ".." refused. */
static char *plain_path(const char *pat, const char **err)
{
	const char *s = pat;
	char *out;
	int n;

	while (*s) {
		const char *c;

		while (*s == '/')
			s++;
		c = s;
		while (*s && *s != '/')
			s++;
		if (s - c == 2 && c[0] == '.' && c[1] == '.') {
			*err = "'..' is not allowed in a pattern";
			return NULL;
		}
	}
	out = xmalloc(POLICY_MAX_PATH);
	n = path_clean(pat, out, POLICY_MAX_PATH);
	if (n < 0) {
		free(out);
		*err = "pattern longer than 4096 bytes";
		return NULL;
	}
	return out;
}

static char *intern_file(struct loader *L, const char *name)
{
	size_t i;

	for (i = 0; i < L->nfiles; i++)
		if (strcmp(L->files[i], name) == 0)
			return L->files[i];
	L->files = xreallocarray(L->files, L->nfiles + 1, sizeof(*L->files));
	return L->files[L->nfiles++] = xstrdup(name);
}

static void prule_clear(struct prule *r)
{
	free(r->pattern);
	free(r->reason);
	free(r->path);
	free(r->prefix);
	free(r->anchor);
	glob_free(r->glob);
	pcre2_code_free(r->re);
	memset(r, 0, sizeof(*r));
}

/* Split a literal prefix into the index anchor (the directory part) and the
 * tail (the start of the next component). */
static void set_anchor(struct prule *r, const char *prefix, size_t len)
{
	const char *slash;

	if (len == 0 || prefix[0] != '/') {
		/* Matches anywhere (or nowhere): index it at the root. */
		r->anchor = xstrdup("/");
		r->anchor_len = 1;
		r->tail = "";
		r->tail_len = 0;
		return;
	}
	slash = prefix + len;
	while (slash > prefix && slash[-1] != '/')
		slash--;
	/* slash now follows the last '/' in the prefix */
	r->anchor_len = slash - prefix > 1 ? (size_t)(slash - prefix - 1) : 1;
	r->anchor = xstrndup(prefix, r->anchor_len);
	r->tail = slash;
	r->tail_len = len - (size_t)(slash - prefix);
}

static const char *const rule_keys[] = { "pattern", "type", "permission", "priority", "reason" };

static void load_rule(struct loader *L, const char *file, const struct ynode *item)
{
	const struct ynode *seen[ARRAY_SIZE(rule_keys)] = { 0 };
	const struct ynode *v[ARRAY_SIZE(rule_keys)] = { 0 };
	enum rule_kind kind = RULE_GLOB;
	enum level level = LEVEL_NONE;
	long priority = 0;
	bool ok = true;
	size_t i;
	struct prule r = { 0 };
	const char *err = NULL;

	if (item->type != Y_MAP) {
		ERR(L, file, item, "a rule must be a mapping with 'pattern' and 'permission', not %s",
		    type_name(item));
		return;
	}
	for (i = 0; i + 1 < item->n; i += 2) {
		int k = map_key(L, file, item->kids[i], rule_keys, ARRAY_SIZE(rule_keys),
				seen, "a rule");

		if (k < 0)
			ok = false;
		else
			v[k] = item->kids[i + 1];
	}
	if (v[0] && !want_string(L, file, "pattern", v[0], POLICY_MAX_PATTERN))
		ok = false;
	if (v[1]) {
		if (!want_string(L, file, "type", v[1], 64)) {
			ok = false;
		} else if (strcmp(v[1]->val, "glob") == 0) {
			kind = RULE_GLOB;
		} else if (strcmp(v[1]->val, "regex") == 0) {
			kind = RULE_REGEX;
		} else if (strcmp(v[1]->val, "file") == 0) {
			kind = RULE_FILE;
		} else if (strcmp(v[1]->val, "directory") == 0) {
			kind = RULE_DIRECTORY;
		} else {
			cleanup_free char *q = quote(v[1]->val, v[1]->len);

			ERR(L, file, v[1], "unknown type '%s' (expected glob, regex, file or directory)", q);
			ok = false;
		}
	}
	if (v[2] && !want_level(L, file, "permission", v[2], &level))
		ok = false;
	if (v[3]) {
		const struct ynode *p = v[3];
		size_t sign = p->type == Y_SCALAR && (p->val[0] == '-' || p->val[0] == '+');
		char *end;

		errno = 0;
		if (p->type != Y_SCALAR || is_null(p)) {
			ERR(L, file, p, "'priority' must be an integer, not %s", type_name(p));
			ok = false;
		} else if (!p->plain) {
			ERR(L, file, p, "'priority' must be a plain integer, not a quoted string");
			ok = false;
		} else if (p->len == sign || strspn(p->val + sign, "0123456789") != p->len - sign) {
			cleanup_free char *q = quote(p->val, p->len);

			ERR(L, file, p, "'priority' must be an integer, not '%s'", q);
			ok = false;
		} else {
			priority = strtol(p->val, &end, 10);
			if (errno == ERANGE || priority < -1000000000L || priority > 1000000000L) {
				ERR(L, file, p, "'priority' out of range (-1000000000 to 1000000000)");
				ok = false;
			}
		}
	}
	if (v[4] && !want_string(L, file, "reason", v[4], POLICY_MAX_REASON))
		ok = false;
	if (!v[0]) {
		ERR(L, file, item, "rule has no 'pattern'");
		ok = false;
	}
	if (!v[2]) {
		ERR(L, file, item, "rule has no 'permission'");
		ok = false;
	}
	if (!v[0] || v[0]->type != Y_SCALAR || is_null(v[0]) ||
	    memchr(v[0]->val, '\0', v[0]->len) || v[0]->len == 0 ||
	    v[0]->len > POLICY_MAX_PATTERN)
		return;	/* reported above */

	r.pub.kind = kind;
	r.pub.level = level;
	r.pub.priority = (int)priority;
	r.pub.line = item->line;
	r.column = item->col;
	r.pattern = xstrdup(v[0]->val);
	/* Other fields may be bad (reported): the pattern is still checked. */
	r.reason = v[4] && v[4]->type == Y_SCALAR ? xstrdup(v[4]->val) : NULL;

	switch (kind) {
	case RULE_GLOB:
		if (glob_compile(r.pattern, &r.glob, &err) < 0)
			break;
		r.prefix = xstrdup(glob_prefix(r.glob, &r.prefix_len));
		if (glob_is_literal(r.glob)) {
			r.path = xstrdup(r.prefix);
			r.path_len = r.prefix_len;
		} else {
			set_anchor(&r, r.prefix, r.prefix_len);
			r.has_last = glob_last(r.glob, &r.last_head, &r.last_hlen,
					       &r.last_tail, &r.last_tlen, &r.last_literal);
		}
		break;
	case RULE_FILE:
	case RULE_DIRECTORY:
		r.path = plain_path(r.pattern, &err);
		if (!r.path)
			break;
		r.path_len = strlen(r.path);
		r.prefix = xstrdup(r.path);
		r.prefix_len = r.path_len;
		break;
	case RULE_REGEX: {
		int code;
		PCRE2_SIZE off;

		r.re = pcre2_compile((PCRE2_SPTR)r.pattern, PCRE2_ZERO_TERMINATED,
				     PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF |
					     PCRE2_NEVER_UCP,
				     &code, &off, NULL);
		if (!r.re) {
			PCRE2_UCHAR msg[256];
			cleanup_free char *q = quote(r.pattern, strlen(r.pattern));

			pcre2_get_error_message(code, msg, sizeof(msg));
			ERR(L, file, v[0], "bad regex '%s': %s at offset %zu", q, (char *)msg,
			    (size_t)off);
			prule_clear(&r);
			return;
		}
		/* JIT is only speed: where it is unavailable the interpreter,
		 * under the same limits, decides the same. */
		(void)pcre2_jit_compile(r.re, PCRE2_JIT_COMPLETE);
		r.prefix = regex_prefix(r.pattern, &r.prefix_len);
		set_anchor(&r, r.prefix, r.prefix_len);
		break;
	}
	}
	if (err) {
		cleanup_free char *q = quote(r.pattern, strlen(r.pattern));

		ERR(L, file, v[0], "bad pattern '%s': %s", q, err);
		prule_clear(&r);
		return;
	}
	if (!ok) {
		prule_clear(&r);
		return;
	}
	if (L->nrules == POLICY_MAX_RULES) {
		if (!L->rules_full)
			ERR(L, file, item, "more than %d rules", POLICY_MAX_RULES);
		L->rules_full = true;
		prule_clear(&r);
		return;
	}
	r.pub.file = intern_file(L, file);
	r.pub.pattern = r.pattern;
	r.pub.reason = r.reason;
	if (L->nrules == L->cap) {
		L->cap = L->cap ? 2 * L->cap : 16;
		L->rules = xreallocarray(L->rules, L->cap, sizeof(*L->rules));
	}
	r.order = (uint32_t)L->nrules;
	L->rules[L->nrules++] = r;
}

static int load_file(struct loader *L, const char *display, const char *path,
		     const char *where_file, const struct ynode *where,
		     enum level *def, bool *def_set);

/* Resolve an extends value: a preset name in the preset directories, or a
 * path relative to the including file.  Returns a path to open, or NULL. */
static char *resolve_extends(struct loader *L, const char *file, const struct ynode *v)
{
	const char *spec = v->val;
	size_t i;

	if (policy_is_preset_name(spec)) {
		for (i = 0; L->opts && L->opts->preset_dirs && L->opts->preset_dirs[i]; i++) {
			char *p = xasprintf("%s/%s.yaml", L->opts->preset_dirs[i], spec);

			if (access(p, F_OK) == 0)
				return p;
			free(p);
		}
		ERR(L, file, v, "unknown preset '%s'", spec);
		return NULL;
	}
	if (spec[0] == '/')
		return xstrdup(spec);
	{
		const char *slash = strrchr(file, '/');

		if (!slash)
			return xstrdup(spec);
		return xasprintf("%.*s/%s", (int)(slash - file), file, spec);
	}
}

/* ---- network: ------------------------------------------------------------- */

static const char *const net_keys[] = { "allow", "deny" };
static const char *const host_keys[] = { "host", "ports", "reason" };

/* ports: a number, "LOW-HIGH", or a sequence of them; into "A,B-C". */
static char *net_ports(struct loader *L, const char *file, const struct ynode *v)
{
	struct abuf_s {
		char *p;
		size_t len;
	} b = { 0 };
	const struct ynode *one = v;
	size_t i, n = v->type == Y_SEQ ? v->n : 1;
	struct net_ports *parsed;	/* each port alone, to say which is bad */
	size_t nparsed;
	const char *err;

	if (v->type == Y_SEQ && v->n == 0) {
		ERR(L, file, v, "'ports' is an empty sequence (leave it out for any port)");
		return NULL;
	}
	if (v->type == Y_MAP || is_null(v)) {
		ERR(L, file, v, "'ports' must be a port, a range or a sequence of them, not %s",
		    type_name(v));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (v->type == Y_SEQ)
			one = v->kids[i];
		if (one->type != Y_SCALAR || is_null(one) || one->len == 0 || one->len > 11 ||
		    memchr(one->val, '\0', one->len) || strchr(one->val, ',')) {
			ERR(L, file, one, "a port is a number from 1 to 65535, or LOW-HIGH");
			free(b.p);
			return NULL;
		}
		if (net_ports_parse(one->val, &parsed, &nparsed, &err) < 0) {
			ERR(L, file, one, "%s", err);
			free(b.p);
			return NULL;
		}
		free(parsed);
		b.p = xrealloc(b.p, b.len + one->len + 2);
		if (b.len)
			b.p[b.len++] = ',';
		memcpy(b.p + b.len, one->val, one->len);
		b.len += one->len;
		b.p[b.len] = '\0';
	}
	return b.p;
}

/* Room for one more network rule; reported once, as for path rules. */
static bool net_room(struct loader *L, const char *file, const struct ynode *item)
{
	if (L->net.n < NET_MAX_RULES)
		return true;
	if (!L->net_full)
		ERR(L, file, item, "more than %d network rules", NET_MAX_RULES);
	L->net_full = true;
	return false;
}

static void net_rule(struct loader *L, const char *file, const struct ynode *item, bool deny)
{
	const struct ynode *seen[ARRAY_SIZE(host_keys)] = { 0 };
	const struct ynode *v[ARRAY_SIZE(host_keys)] = { 0 };
	cleanup_free char *origin = xasprintf("%s:%d", file, item->line);
	cleanup_free char *ports = NULL;
	const char *err = NULL, *reason = NULL;
	bool ok = true;
	size_t i;

	if (item->type == Y_SCALAR && !is_null(item)) {
		if (!want_string(L, file, "host", item, NET_MAX_NAME + 80))
			return;
		if (!net_room(L, file, item))
			return;
		if (netpolicy_add_spec(&L->net, item->val, deny, origin, &err) < 0) {
			cleanup_free char *q = quote(item->val, item->len);

			ERR(L, file, item, "'%s': %s", q, err);
		}
		return;
	}
	if (item->type != Y_MAP) {
		ERR(L, file, item, "a host must be a pattern, or a mapping with 'host', not %s",
		    type_name(item));
		return;
	}
	for (i = 0; i + 1 < item->n; i += 2) {
		int k = map_key(L, file, item->kids[i], host_keys, ARRAY_SIZE(host_keys),
				seen, "a host");

		if (k < 0)
			ok = false;
		else
			v[k] = item->kids[i + 1];
	}
	if (!v[0]) {
		if (!seen[0])
			ERR(L, file, item, "a host mapping needs 'host'");
		return;
	}
	if (!want_string(L, file, "host", v[0], NET_MAX_NAME + 2))
		ok = false;
	if (v[1] && !(ports = net_ports(L, file, v[1])))
		ok = false;
	if (v[2]) {
		if (want_string(L, file, "reason", v[2], POLICY_MAX_REASON))
			reason = v[2]->val;
		else
			ok = false;
	}
	if (!ok)
		return;
	if ((v[0]->val[0] == '[' && strstr(v[0]->val, "]:")) ||
	    (v[0]->val[0] != '[' && strchr(v[0]->val, ':') &&
	     !strchr(strchr(v[0]->val, ':') + 1, ':'))) {
		ERR(L, file, v[0], "'host' takes no port: give it in 'ports'");
		return;
	}
	if (!net_room(L, file, item))
		return;
	if (netpolicy_add(&L->net, v[0]->val, ports, deny, origin, reason, &err) < 0) {
		cleanup_free char *q = quote(v[0]->val, v[0]->len);

		/* The ports were checked one by one (net_ports): the host. */
		ERR(L, file, v[0], "'%s': %s", q, err);
	}
}

static void load_network(struct loader *L, const char *file, const struct ynode *net)
{
	const struct ynode *seen[ARRAY_SIZE(net_keys)] = { 0 };
	size_t i, j;

	if (net->type != Y_MAP) {
		ERR(L, file, net, "'network' must be a mapping with 'allow' or 'deny', not %s",
		    type_name(net));
		return;
	}
	for (i = 0; i + 1 < net->n; i += 2) {
		int k = map_key(L, file, net->kids[i], net_keys, ARRAY_SIZE(net_keys), seen,
				"'network'");
		const struct ynode *list = net->kids[i + 1];

		if (k < 0)
			continue;
		if (list->type != Y_SEQ) {
			ERR(L, file, list, "'%s' must be a sequence of hosts, not %s", net_keys[k],
			    type_name(list));
			continue;
		}
		for (j = 0; j < list->n; j++)
			net_rule(L, file, list->kids[j], k == 1);
	}
}

static const char *const top_keys[] = { "version", "extends", "default", "rules", "network" };

static void load_tree(struct loader *L, const char *file, const struct ynode *root,
		      enum level *def, bool *def_set)
{
	const struct ynode *seen[ARRAY_SIZE(top_keys)] = { 0 };
	const struct ynode *v[ARRAY_SIZE(top_keys)] = { 0 };
	size_t i;

	if (root->type != Y_MAP) {
		ERR(L, file, root, "a policy must be a mapping with 'version' and 'rules', not %s",
		    type_name(root));
		return;
	}
	/* No key of ours at all: not a policy (a file given by mistake, or to
	 * read it through our messages).  One error, quoting nothing of it. */
	for (i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *k = root->kids[i];
		size_t j;

		for (j = 0; k->type == Y_SCALAR && j < ARRAY_SIZE(top_keys); j++)
			if (k->len == strlen(top_keys[j]) && strcmp(k->val, top_keys[j]) == 0)
				break;
		if (k->type == Y_SCALAR && j < ARRAY_SIZE(top_keys))
			break;
	}
	if (i + 1 >= root->n) {
		ERR(L, file, root, "not an afs policy (no 'version', 'extends', 'default', 'rules' or 'network')");
		return;
	}
	for (i = 0; i + 1 < root->n; i += 2) {
		int k = map_key(L, file, root->kids[i], top_keys, ARRAY_SIZE(top_keys),
				seen, "a policy");

		if (k >= 0)
			v[k] = root->kids[i + 1];
	}
	if (!v[0]) {
		if (!seen[0])
			ERR(L, file, root, "missing 'version: 1'");
	} else if (v[0]->type != Y_SCALAR || !v[0]->plain || strcmp(v[0]->val, "1") != 0) {
		cleanup_free char *q = v[0]->type == Y_SCALAR ? quote(v[0]->val, v[0]->len) : NULL;

		ERR(L, file, v[0], "unsupported version '%s' (expected 1)", q ? q : type_name(v[0]));
	}
	/* The base's rules come first: expand extends before our rules. */
	if (v[1] && want_string(L, file, "extends", v[1], PATH_MAX)) {
		cleanup_free char *path = resolve_extends(L, file, v[1]);

		if (path) {
			char real[PATH_MAX];
			const char *display = realpath(path, real) ? real : path;

			/* L->depth counts the files being loaded, this one included. */
			if (L->depth > POLICY_MAX_EXTENDS) {
				ERR(L, file, v[1], "more than %d levels of extends",
				    POLICY_MAX_EXTENDS);
			} else {
				bool base_set = false;
				enum level base_def = LEVEL_NONE;

				load_file(L, display, path, file, v[1], &base_def, &base_set);
				if (base_set) {
					*def = base_def;
					*def_set = true;
				}
			}
		}
	}
	if (v[2] && want_level(L, file, "default", v[2], def))
		*def_set = true;
	if (v[3]) {
		if (v[3]->type != Y_SEQ) {
			ERR(L, file, v[3], "'rules' must be a sequence, not %s", type_name(v[3]));
		} else {
			for (i = 0; i < v[3]->n; i++)
				load_rule(L, file, v[3]->kids[i]);
		}
	}
	if (v[4])
		load_network(L, file, v[4]);
}

static int load_buffer(struct loader *L, const char *display, const char *buf,
		       size_t len, enum level *def, bool *def_set)
{
	bool empty;
	struct ynode *root = parse_yaml(L, display, buf, len, &empty);

	if (!root) {
		if (empty)
			diags_add(L->diags, DIAG_ERROR, display, 1, 1,
				  "empty policy: 'version: 1' and 'rules' are missing");
		return -1;
	}
	load_tree(L, display, root, def, def_set);
	ynode_free(root);
	return 0;
}

/* Open and check a policy file; report at WHERE (an extends node) when it
 * is given, else about the file itself. */
static int load_file(struct loader *L, const char *display, const char *path,
		     const char *where_file, const struct ynode *where,
		     enum level *def, bool *def_set)
{
	cleanup_fd int fd = -1;
	cleanup_free char *buf = NULL;
	struct stat st;
	size_t len;
	int r, i;
	const char *wf = where ? where_file : display;
	int wl = where ? where->line : 0, wc = where ? where->col : 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (where)
			diags_add(L->diags, DIAG_ERROR, wf, wl, wc, "cannot open '%s': %s",
				  path, strerror(errno));
		else
			diags_add(L->diags, DIAG_ERROR, wf, wl, wc, "cannot open: %s",
				  strerror(errno));
		return -1;
	}
	for (i = 0; i < L->depth; i++) {
		if (L->chain[i].dev == st.st_dev && L->chain[i].ino == st.st_ino) {
			diags_add(L->diags, DIAG_ERROR, wf, wl, wc,
				  "extends cycle: '%s' extends itself", display);
			return -1;
		}
	}
	L->chain[L->depth].dev = st.st_dev;
	L->chain[L->depth].ino = st.st_ino;
	if (S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH)) {
		diags_add(L->diags, DIAG_ERROR, display, 0, 0,
			  "other users may write this policy file (mode %04o); refusing it",
			  (unsigned)(st.st_mode & 07777));
		return -1;
	}
	r = read_file_max(fd, POLICY_MAX_FILE_SIZE, &buf, &len);
	if (r == -EFBIG) {
		diags_add(L->diags, DIAG_ERROR, display, 0, 0,
			  "policy file larger than %d bytes", POLICY_MAX_FILE_SIZE);
		return -1;
	}
	if (r == -EINVAL) {
		diags_add(L->diags, DIAG_ERROR, display, 0, 0, "not a regular file");
		return -1;
	}
	if (r < 0) {
		diags_add(L->diags, DIAG_ERROR, display, 0, 0, "cannot read: %s", strerror(-r));
		return -1;
	}
	L->depth++;
	r = load_buffer(L, display, buf, len, def, def_set);
	L->depth--;
	return r;
}

bool policy_is_preset_name(const char *spec)
{
	size_t len = strlen(spec);

	if (len == 0 || strspn(spec, "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
		return false;
	if (spec[0] == '.')
		return false;
	if ((len > 5 && strcmp(spec + len - 5, ".yaml") == 0) ||
	    (len > 4 && strcmp(spec + len - 4, ".yml") == 0))
		return false;
	return true;
}

static int finish(struct loader *L, enum level def, struct policy **out)
{
	size_t i;

	if (L->diags->nerrors) {
		netpolicy_free(&L->net);
		for (i = 0; i < L->nrules; i++)
			prule_clear(&L->rules[i]);
		free(L->rules);
		for (i = 0; i < L->nfiles; i++)
			free(L->files[i]);
		free(L->files);
		return -1;
	}
	*out = policy_build(L->rules, L->nrules, def, L->files, L->nfiles);
	(*out)->net = L->net;
	return 0;
}

int policy_load(const char *spec, const struct policy_opts *opts,
		struct policy **out, struct diags *diags)
{
	struct loader L = { .opts = opts, .diags = diags };
	enum level def = LEVEL_NONE;
	bool def_set = false;
	cleanup_free char *path = NULL;
	const char *display = spec;
	char real[PATH_MAX];
	size_t i;

	*out = NULL;
	if (policy_is_preset_name(spec)) {
		for (i = 0; opts && opts->preset_dirs && opts->preset_dirs[i]; i++) {
			path = xasprintf("%s/%s.yaml", opts->preset_dirs[i], spec);
			if (access(path, F_OK) == 0)
				break;
			free(path);
			path = NULL;
		}
		if (!path) {
			diags_add(diags, DIAG_ERROR, spec, 0, 0,
				  "no such preset (presets: view-only, read-only, agent-safe, "
				  "development, full-access)");
			return -1;
		}
		display = realpath(path, real) ? real : path;
	} else {
		path = xstrdup(spec);
	}
	load_file(&L, display, path, NULL, NULL, &def, &def_set);
	return finish(&L, def, out);
}

int policy_load_buffer(const char *name, const char *buf, size_t len,
		       const struct policy_opts *opts, struct policy **out,
		       struct diags *diags)
{
	struct loader L = { .opts = opts, .diags = diags };
	enum level def = LEVEL_NONE;
	bool def_set = false;

	*out = NULL;
	if (len > POLICY_MAX_FILE_SIZE) {
		diags_add(diags, DIAG_ERROR, name, 0, 0, "policy file larger than %d bytes",
			  POLICY_MAX_FILE_SIZE);
		return -1;
	}
	L.depth = 0;
	L.chain[0].dev = (dev_t)-1;
	L.chain[0].ino = (ino_t)-1;
	L.depth = 1;
	load_buffer(&L, name, buf, len, &def, &def_set);
	L.depth = 0;
	return finish(&L, def, out);
}

void policy_rules_free(struct prule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		prule_clear(&rules[i]);
	free(rules);
}
