/* policy.h - the afs policy: load a YAML policy, decide a level for a path.
 *
 * The contract is afs-policy(5).  Loading
 * (policy_load*) does all the I/O and allocation; deciding (policy_decide,
 * policy_resolve) is pure: no I/O, no allocation, bounded time.
 */
#ifndef AFS_POLICY_H
#define AFS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

enum level {
	LEVEL_NONE = 0,
	LEVEL_VIEW = 1,
	LEVEL_READ = 2,
	LEVEL_WRITE = 3,
};

/* Rule kinds in increasing precedence; glob and regex tie. */
enum rule_kind {
	RULE_GLOB,
	RULE_REGEX,
	RULE_DIRECTORY,
	RULE_FILE,
};

/* Inputs are bounded so that no policy can exhaust memory or time. */
#define POLICY_MAX_FILE_SIZE	(1024 * 1024)	/* bytes per policy file */
#define POLICY_MAX_RULES	100000		/* rules after extends expansion */
#define POLICY_MAX_PATTERN	4096		/* bytes per pattern, = PATH_MAX */
#define POLICY_MAX_REASON	4096		/* bytes per reason */
#define POLICY_MAX_DEPTH	64		/* YAML nesting */
#define POLICY_MAX_EXTENDS	16		/* levels of extends */
/* A decided path, cleaned, with its NUL: "/" before the longest path one
 * system call takes relative to the mount's root (PATH_MAX - 1 bytes). */
#define POLICY_MAX_PATH		4097

struct policy_rule {
	enum rule_kind kind;
	enum level level;
	int priority;
	const char *file;	/* policy file the rule is in (see policy_load) */
	int line;		/* 1-based line where the rule's mapping begins */
	const char *pattern;	/* as written in the file */
	const char *reason;	/* NULL when not given */
};

enum verdict_why {
	WHY_RULE,	/* verdict.rule decided */
	WHY_DEFAULT,	/* no rule matched: the policy's default */
	WHY_IMPLICIT,	/* a directory presented as view so that rules below it work */
	WHY_HIDDEN,	/* an ancestor directory is hidden; verdict.rule is its rule, if any */
};

struct verdict {
	enum level level;
	enum verdict_why why;
	const struct policy_rule *rule;	/* NULL unless a rule decided */
};

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

/* One message about a policy file: "FILE:LINE:COLUMN: message". */
struct diag {
	enum diag_severity severity;
	char *file;
	int line;	/* 1-based; 0 when the message is about the whole file */
	int column;	/* 1-based; 0 when the message is about the whole file */
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n, cap;
	size_t nerrors;
};

struct policy;

/* Directories searched for a preset name, in order; NULL-terminated. */
struct policy_opts {
	const char *const *preset_dirs;
};

/* True when SPEC names a preset rather than a file: no '/', no ".yaml"/".yml"
 * suffix, and only [A-Za-z0-9._-]. */
bool policy_is_preset_name(const char *spec);

/* Load SPEC (a file path or a preset name).  On success *out is the policy and
 * diags may hold warnings.  On failure returns -1 and diags holds at least
 * one error; *out is NULL. */
int policy_load(const char *spec, const struct policy_opts *opts,
		struct policy **out, struct diags *diags);

/* Load a policy held in memory; NAME is used in messages and as the rules'
 * file.  extends in it resolves relative to the current directory. */
int policy_load_buffer(const char *name, const char *buf, size_t len,
		       const struct policy_opts *opts, struct policy **out,
		       struct diags *diags);

void policy_free(struct policy *pol);

/* The policy's network: section (afs-policy(5) NETWORK), rules of the
 * files it extends first; empty when it has none. */
struct netpolicy;
const struct netpolicy *policy_network(const struct policy *pol);

/* Warnings that need the whole policy (rules that can never take effect). */
void policy_lint(const struct policy *pol, struct diags *diags);

/* The level of the entry PATH (cleaned, /-rooted, LEN bytes) assuming its
 * ancestors are visible: what a lookup in a visible directory decides.
 * IS_DIR selects the directory rules (implicit traversal).  Pure. */
void policy_decide(const struct policy *pol, const char *path, size_t len,
		   bool is_dir, struct verdict *out);

/* The level the mount presents for PATH, ancestors included (a path below a
 * hidden directory is none, WHY_HIDDEN, with that directory's rule).  Pure. */
void policy_resolve(const struct policy *pol, const char *path, size_t len,
		    bool is_dir, struct verdict *out);

enum level policy_default(const struct policy *pol);
size_t policy_nrules(const struct policy *pol);
const struct policy_rule *policy_rule_at(const struct policy *pol, size_t i);

const char *level_name(enum level l);
int level_parse(const char *s, enum level *out);

void diags_init(struct diags *d);
void diags_free(struct diags *d);
void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#include <stdio.h>
/* Print every message as FILE:LINE:COLUMN: message (warnings marked), or
 * FILE: message for one about the whole file. */
void diags_print(FILE *f, const struct diags *d);

#endif
