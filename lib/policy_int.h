/* policy_int.h - the compiled policy, shared by policy_load.c (which builds
 * it) and policy.c (which decides).  Not for other modules. */
#ifndef AFS_POLICY_INT_H
#define AFS_POLICY_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "glob.h"
#include "netpolicy.h"
#include "policy.h"

struct prule {
	struct policy_rule pub;		/* first: policy_rule * <-> prule * */
	uint32_t rank;			/* position in precedence order, 0 best */
	uint32_t order;			/* position in the file after extends */
	int column;
	char *pattern;			/* as written */
	char *reason;
	char *path;			/* file, directory, literal glob: the cleaned path */
	size_t path_len;
	char *prefix;			/* literal prefix (precedence step 3) */
	size_t prefix_len;
	/* Index: the rule can only match paths at or below ANCHOR; the
	 * component after the anchor starts with TAIL. */
	char *anchor;
	size_t anchor_len;
	const char *tail;
	size_t tail_len;
	struct glob *glob;
	pcre2_code *re;
	/* Last component of a glob: cheap rejection before glob_match. */
	bool has_last, last_literal;
	const char *last_head, *last_tail;
	size_t last_hlen, last_tlen;
	const char *ext;	/* the extension every match ends with, or NULL */
	size_t ext_len;
};

/* Open-addressing map from a byte string to a uint32 value. */
struct smap_slot {
	const char *key;
	size_t len;
	uint64_t hash;
	uint32_t val;
};

struct smap {
	struct smap_slot *slots;
	size_t mask;	/* capacity - 1; capacity is a power of two */
	size_t n;
};

struct rule_list {
	struct prule **rules;	/* sorted by rank */
	size_t n, cap;
};

/* The globs and regexes anchored at one directory.  Globs whose last
 * component ends in a literal ".EXT" can only match a name with that
 * extension: they are kept apart, by extension. */
struct bucket {
	struct rule_list any;
	struct smap byext;	/* extension -> index into ext */
	struct rule_list *ext;
	size_t next, extcap;
};

struct policy {
	struct prule *rules;	/* in file order after extends */
	size_t nrules;
	enum level def;
	struct netpolicy net;	/* the network: section, base's rules first */
	char **files;		/* names of the files loaded, owned */
	size_t nfiles;

	struct smap exact;	/* path -> best file rule or literal glob */
	struct smap dirs;	/* path -> best directory rule */
	struct smap anchors;	/* anchor -> index into buckets */
	struct bucket *buckets;
	size_t nbuckets, bucketcap;
	struct smap implicit;	/* directories some rule could grant below */

	pcre2_match_context *mctx;
};

uint64_t smap_hash(const char *key, size_t len);
int smap_get(const struct smap *m, const char *key, size_t len, uint32_t *val);
void smap_put(struct smap *m, const char *key, size_t len, uint32_t val);
void smap_free(struct smap *m);

/* Build the policy from what the loader collected; takes ownership. */
struct policy *policy_build(struct prule *rules, size_t n, enum level def,
			    char **files, size_t nfiles);
void policy_rules_free(struct prule *rules, size_t n);

/* Regex limits: no path can make a decision run long. */
#define POLICY_RE_MATCH_LIMIT	100000
#define POLICY_RE_DEPTH_LIMIT	1000
#define POLICY_RE_HEAP_LIMIT	1024	/* KiB */

#endif
