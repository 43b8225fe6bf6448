/* test-policy-match.c - the matcher and precedence of afs-policy(5)
 * MATCHING and PRECEDENCE.
 *
 * Table-driven: each case is a policy text, a path and the verdict expected
 * from policy_resolve (ancestors included), policy_decide (the entry alone)
 * or path_clean followed by policy_resolve.  Prints TAP; exits 0 iff every
 * case passes.  Run from the repository root: presets come from policies/.
 *
 * The comment after each policy line is its line number: a rule's line is
 * the line of its "- pattern:".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "policy.h"

#define ANY	(-1)	/* in why or line: do not check */

#define NONE	LEVEL_NONE
#define VIEW	LEVEL_VIEW
#define READ	LEVEL_READ
#define WRITE	LEVEL_WRITE
#define RULE	WHY_RULE
#define DEFAULT	WHY_DEFAULT
#define IMPLICIT WHY_IMPLICIT
#define HIDDEN	WHY_HIDDEN

enum op {
	OP_RESOLVE,	/* policy_resolve(path) */
	OP_DECIDE,	/* policy_decide(path) */
	OP_CLEAN,	/* path_clean(path) must give cleaned, then policy_resolve */
};

struct tcase {
	const char *desc;
	const char *policy;
	enum op op;
	const char *path;
	const char *cleaned;
	bool is_dir;
	enum level level;
	int why;	/* enum verdict_why or ANY */
	int line;	/* deciding rule's line, 0 when no rule, ANY: a rule, any line */
};

#define RES(d, p, path, dir, lv, why, ln) \
	{ d, p, OP_RESOLVE, path, NULL, dir, lv, why, ln }
#define DEC(d, p, path, dir, lv, why, ln) \
	{ d, p, OP_DECIDE, path, NULL, dir, lv, why, ln }
#define CLN(d, p, raw, clean, dir, lv, why, ln) \
	{ d, p, OP_CLEAN, raw, clean, dir, lv, why, ln }

#define F false		/* a file */
#define D true		/* a directory */

/* ---- policies ---------------------------------------------------------- */

static const char P_NO_RULES[] =
	"version: 1\n";

static const char P_EMPTY_RULES[] =
	"version: 1\n"
	"rules: []\n";

static const char P_DEFAULT_VIEW[] =
	"version: 1\n"
	"default: view\n";

static const char P_DEFAULT_WRITE[] =
	"version: 1\n"
	"default: write\n"
	"rules: []\n";

static const char P_DEFAULT_READ[] =
	"version: 1\n"					/* 1 */
	"default: read\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/src/**'\n"			/* 4 */
	"    permission: write\n";			/* 5 */

static const char P_DEFAULT_READ_BELOW[] =
	"version: 1\n"					/* 1 */
	"default: read\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/a/b/c.txt'\n"			/* 4 */
	"    type: file\n"				/* 5 */
	"    permission: write\n";			/* 6 */

static const char P_ROOT_WRITE[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '**'\n"				/* 3 */
	"    permission: write\n";			/* 4 */

/* A file rule against a catch-all glob. */
static const char P_FILE_VS_ALL[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '/plan.txt'\n"			/* 3 */
	"    type: file\n"				/* 4 */
	"    permission: write\n"			/* 5 */
	"  - pattern: '/**'\n"				/* 6 */
	"    permission: read\n"			/* 7 */
	"  - pattern: '/notes.txt'\n"			/* 8 */
	"    type: file\n"				/* 9 */
	"    permission: none\n"			/* 10 */
	"    priority: 5\n";				/* 11 */

static const char P_DOCS_DIR[] =
	"version: 1\n"					/* 1 */
	"default: read\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/docs/'\n"			/* 4 */
	"    type: directory\n"				/* 5 */
	"    permission: write\n";			/* 6 */

static const char P_DIRS[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: 'src'\n"				/* 4 */
	"    type: directory\n"				/* 5 */
	"    permission: read\n"			/* 6 */
	"  - pattern: '/a/b'\n"				/* 7 */
	"    type: directory\n"				/* 8 */
	"    permission: write\n"			/* 9 */
	"  - pattern: '/a'\n"				/* 10 */
	"    type: directory\n"				/* 11 */
	"    permission: read\n"			/* 12 */
	"  - pattern: '/config.yaml'\n"			/* 13 */
	"    type: file\n"				/* 14 */
	"    permission: write\n";			/* 15 */

static const char P_GLOB_BASIC[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '*.md'\n"				/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '**/*.py'\n"			/* 6 */
	"    permission: write\n"			/* 7 */
	"  - pattern: 'docs/*.txt'\n"			/* 8 */
	"    permission: read\n";			/* 9 */

static const char P_SECRETS[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '**/secrets/**'\n"		/* 4 */
	"    permission: write\n";			/* 5 */

static const char P_GLOBSTAR[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/a/**/z'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/**/x/**/y'\n"			/* 6 */
	"    permission: write\n"			/* 7 */
	"  - pattern: '/build/**'\n"			/* 8 */
	"    permission: read\n";			/* 9 */

static const char P_WILD[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/file?.txt'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/x[a-c].txt'\n"			/* 6 */
	"    permission: read\n"			/* 7 */
	"  - pattern: '/y[!a].txt'\n"			/* 8 */
	"    permission: read\n"			/* 9 */
	"  - pattern: '/star\\*.txt'\n"			/* 10 */
	"    permission: read\n"			/* 11 */
	"  - pattern: '/q\\?'\n"			/* 12 */
	"    permission: read\n"			/* 13 */
	"  - pattern: '/src/*'\n"			/* 14 */
	"    permission: write\n"			/* 15 */
	"  - pattern: '/p?q'\n"				/* 16 */
	"    permission: read\n"			/* 17 */
	"  - pattern: '/m[!a]n'\n"			/* 18 */
	"    permission: read\n"			/* 19 */
	"  - pattern: '/b/\\[x\\]'\n"			/* 20 */
	"    permission: read\n"			/* 21 */
	"  - pattern: '/empty*'\n"			/* 22 */
	"    permission: read\n";			/* 23 */

static const char P_REGEX[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '^/logs/[0-9]{4}/.*\\.log$'\n"	/* 4 */
	"    type: regex\n"				/* 5 */
	"    permission: read\n"			/* 6 */
	"  - pattern: 'cache'\n"			/* 7 */
	"    type: regex\n"				/* 8 */
	"    permission: write\n"			/* 9 */
	"  - pattern: '^/tmpdir'\n"			/* 10 */
	"    type: regex\n"				/* 11 */
	"    permission: read\n";			/* 12 */

/* Names with odd bytes; the file pattern is a YAML "\n" escape. */
static const char P_ODD[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: \"/n/a\\nb\"\n"			/* 4 */
	"    type: file\n"				/* 5 */
	"    permission: read\n"			/* 6 */
	"  - pattern: '^/r/a.*b$'\n"			/* 7 */
	"    type: regex\n"				/* 8 */
	"    permission: read\n"			/* 9 */
	"  - pattern: '^/r/.*\\.txt$'\n"		/* 10 */
	"    type: regex\n"				/* 11 */
	"    permission: write\n"			/* 12 */
	"  - pattern: '/g/*'\n"				/* 13 */
	"    permission: write\n"			/* 14 */
	"  - pattern: '/g/a?b'\n"			/* 15 */
	"    permission: read\n"			/* 16 */
	"  - pattern: '/u/*.txt'\n"			/* 17 */
	"    permission: read\n";			/* 18 */

static const char P_NEWLINE_ONLY[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: \"/n/a\\nb\"\n"			/* 3 */
	"    type: file\n"				/* 4 */
	"    permission: read\n";			/* 5 */

static const char P_PRIORITY[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '**'\n"				/* 3 */
	"    permission: view\n"			/* 4 */
	"    priority: 1\n"				/* 5 */
	"  - pattern: '/f.txt'\n"			/* 6 */
	"    type: file\n"				/* 7 */
	"    permission: write\n"			/* 8 */
	"  - pattern: '/d'\n"				/* 9 */
	"    type: directory\n"				/* 10 */
	"    permission: write\n"			/* 11 */
	"  - pattern: '/lo.txt'\n"			/* 12 */
	"    type: file\n"				/* 13 */
	"    permission: write\n"			/* 14 */
	"    priority: -1\n"				/* 15 */
	"  - pattern: '/hi/**'\n"			/* 16 */
	"    permission: read\n"			/* 17 */
	"    priority: 2\n"				/* 18 */
	"  - pattern: '/hi/deep/**'\n"			/* 19 */
	"    permission: write\n"			/* 20 */
	"    priority: 1\n";				/* 21 */

static const char P_KIND[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/k/f.txt'\n"			/* 4 */
	"    type: file\n"				/* 5 */
	"    permission: write\n"			/* 6 */
	"  - pattern: '/k'\n"				/* 7 */
	"    type: directory\n"				/* 8 */
	"    permission: read\n"			/* 9 */
	"  - pattern: '/k/*'\n"				/* 10 */
	"    permission: view\n"			/* 11 */
	"  - pattern: '/k/sub/deep/*.txt'\n"		/* 12 */
	"    permission: write\n"			/* 13 */
	"  - pattern: '/k/**'\n"			/* 14 */
	"    permission: view\n"			/* 15 */
	"  - pattern: '^/k/sub/deep/'\n"		/* 16 */
	"    type: regex\n"				/* 17 */
	"    permission: write\n";			/* 18 */

/* Glob and regex tie on kind: the literal prefix decides, then order. */
static const char P_GLOB_REGEX[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '^/logs/2024/'\n"			/* 4 */
	"    type: regex\n"				/* 5 */
	"    permission: write\n"			/* 6 */
	"  - pattern: '/logs/**'\n"			/* 7 */
	"    permission: read\n"			/* 8 */
	"  - pattern: '/data/2024/**'\n"		/* 9 */
	"    permission: write\n"			/* 10 */
	"  - pattern: '^/data/'\n"			/* 11 */
	"    type: regex\n"				/* 12 */
	"    permission: read\n"			/* 13 */
	"  - pattern: 'tmp'\n"				/* 14 */
	"    type: regex\n"				/* 15 */
	"    permission: write\n"			/* 16 */
	"  - pattern: '**'\n"				/* 17 */
	"    permission: read\n";			/* 18 */

/* An unanchored regex has no literal prefix: any anchored rule beats it. */
static const char P_UNANCHORED[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/a/**'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: 'tmp'\n"				/* 6 */
	"    type: regex\n"				/* 7 */
	"    permission: write\n"			/* 8 */
	"  - pattern: 'file'\n"			/* 9 */
	"    type: regex\n"				/* 10 */
	"    permission: none\n";			/* 11 */

static const char P_PREFIX[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/src/lib/**'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/src/**'\n"			/* 6 */
	"    permission: write\n"			/* 7 */
	"  - pattern: '/src/li*/**'\n"			/* 8 */
	"    permission: view\n";			/* 9 */

static const char P_TIE[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/a/*'\n"				/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/a/*'\n"				/* 6 */
	"    permission: write\n"			/* 7 */
	"  - pattern: '/b/*.txt'\n"			/* 8 */
	"    permission: write\n"			/* 9 */
	"  - pattern: '/b/x*'\n"			/* 10 */
	"    permission: read\n"			/* 11 */
	"  - pattern: '/f'\n"				/* 12 */
	"    type: file\n"				/* 13 */
	"    permission: write\n"			/* 14 */
	"  - pattern: '/f'\n"				/* 15 */
	"    type: file\n"				/* 16 */
	"    permission: read\n";			/* 17 */

/* The presets write their catch-all as '**'. */
static const char P_EXTENDS_RO[] =
	"version: 1\n"					/* 1 */
	"extends: read-only\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '**'\n"				/* 4 */
	"    permission: view\n";			/* 5 */

static const char P_EXTENDS_AS[] =
	"version: 1\n"					/* 1 */
	"extends: agent-safe\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/output/**'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"    priority: 10\n"				/* 6 */
	"  - pattern: '**'\n"				/* 7 */
	"    permission: write\n";			/* 8 */

static const char P_EXTENDS_DEFAULT[] =
	"version: 1\n"					/* 1 */
	"extends: view-only\n"				/* 2 */
	"default: write\n"				/* 3 */
	"rules:\n"					/* 4 */
	"  - pattern: '/x/**'\n"			/* 5 */
	"    permission: read\n";			/* 6 */

/* Implicit traversal, from the issue. */
static const char P_ONE_FILE[] =
	"version: 1\n"					/* 1 */
	"default: none\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/docs/readme.md'\n"		/* 4 */
	"    type: file\n"				/* 5 */
	"    permission: read\n";			/* 6 */

static const char P_IMPLICIT[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '/a/b/c/d.txt'\n"			/* 3 */
	"    type: file\n"				/* 4 */
	"    permission: write\n"			/* 5 */
	"  - pattern: '/src/**/*.c'\n"			/* 6 */
	"    permission: read\n"			/* 7 */
	"  - pattern: '^/data/'\n"			/* 8 */
	"    type: regex\n"				/* 9 */
	"    permission: read\n"			/* 10 */
	"  - pattern: '/hide/me'\n"			/* 11 */
	"    type: file\n"				/* 12 */
	"    permission: none\n"			/* 13 */
	"  - pattern: '/pub/lib'\n"			/* 14 */
	"    type: directory\n"				/* 15 */
	"    permission: view\n"			/* 16 */
	"  - pattern: '/q*z/x'\n"			/* 17 */
	"    permission: read\n";			/* 18 */

static const char P_IMPLICIT_RE[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '\\.csv$'\n"			/* 3 */
	"    type: regex\n"				/* 4 */
	"    permission: read\n";			/* 5 */

static const char P_IMPLICIT_MD[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '**/*.md'\n"			/* 3 */
	"    permission: read\n";			/* 4 */

/* Directories at none hide their subtree. */
static const char P_HIDE[] =
	"version: 1\n"					/* 1 */
	"default: read\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/private'\n"			/* 4 */
	"    type: directory\n"				/* 5 */
	"    permission: none\n"			/* 6 */
	"  - pattern: '/private/ok.txt'\n"		/* 7 */
	"    type: file\n"				/* 8 */
	"    permission: write\n"			/* 9 */
	"    priority: 10\n"				/* 10 */
	"  - pattern: '/m/n'\n"				/* 11 */
	"    type: directory\n"				/* 12 */
	"    permission: none\n"			/* 13 */
	"  - pattern: '/m/n/o/**'\n"			/* 14 */
	"    permission: write\n"			/* 15 */
	"    priority: 9\n"				/* 16 */
	"  - pattern: '/h1/h2'\n"			/* 17 */
	"    type: directory\n"				/* 18 */
	"    permission: none\n"			/* 19 */
	"  - pattern: '/h1'\n"				/* 20 */
	"    type: directory\n"				/* 21 */
	"    permission: none\n"			/* 22 */
	"  - pattern: '/cache/**'\n"			/* 23 */
	"    permission: none\n"			/* 24 */
	"  - pattern: '/cache/keep.txt'\n"		/* 25 */
	"    type: file\n"				/* 26 */
	"    permission: write\n"			/* 27 */
	"    priority: 5\n";				/* 28 */

static const char P_ALL_NONE[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '**'\n"				/* 3 */
	"    permission: none\n"			/* 4 */
	"  - pattern: '/docs/readme.md'\n"		/* 5 */
	"    type: file\n"				/* 6 */
	"    permission: read\n"			/* 7 */
	"    priority: 10\n";				/* 8 */

/* More globs: class edge cases, several stars, cleaned patterns. */
static const char P_GLOB_MORE[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '/a/**/*.c'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/b/**/**/z'\n"			/* 6 */
	"    permission: read\n"			/* 7 */
	"  - pattern: './docs/*.md'\n"			/* 8 */
	"    permission: write\n"			/* 9 */
	"  - pattern: '**/Makefile'\n"			/* 10 */
	"    permission: write\n"			/* 11 */
	"  - pattern: '/c[]x]'\n"			/* 12 */
	"    permission: read\n"			/* 13 */
	"  - pattern: '/t/*a*b'\n"			/* 14 */
	"    permission: read\n"			/* 15 */
	"  - pattern: '/t/ab*ba'\n"			/* 16 */
	"    permission: write\n"			/* 17 */
	"  - pattern: '/t/*x*y*z'\n"			/* 18 */
	"    permission: write\n"			/* 19 */
	"  - pattern: '/e/*/'\n"			/* 20 */
	"    permission: write\n";			/* 21 */

static const char P_ROOT_DIR[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '/'\n"				/* 3 */
	"    type: directory\n"				/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '**'\n"				/* 6 */
	"    permission: write\n";			/* 7 */

/* The index: literal globs, kinds at one path, directories by ancestor. */
static const char P_INDEX[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '**'\n"				/* 3 */
	"    permission: write\n"			/* 4 */
	"  - pattern: '/x/y'\n"				/* 5 */
	"    permission: view\n"			/* 6 */
	"  - pattern: '/x/*'\n"				/* 7 */
	"    permission: write\n"			/* 8 */
	"  - pattern: '/lit'\n"				/* 9 */
	"    type: file\n"				/* 10 */
	"    permission: view\n"			/* 11 */
	"  - pattern: '/lit'\n"				/* 12 */
	"    permission: write\n"			/* 13 */
	"  - pattern: '/deep/er'\n"			/* 14 */
	"    type: directory\n"				/* 15 */
	"    permission: write\n"			/* 16 */
	"  - pattern: '/deep'\n"			/* 17 */
	"    type: directory\n"				/* 18 */
	"    permission: view\n"			/* 19 */
	"    priority: 1\n"				/* 20 */
	"  - pattern: '/w/lo'\n"			/* 21 */
	"    permission: view\n"			/* 22 */
	"    priority: -1\n"				/* 23 */
	"  - pattern: '/w/*'\n"				/* 24 */
	"    permission: read\n";			/* 25 */

static const char P_REGEX_MORE[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '^/$'\n"				/* 3 */
	"    type: regex\n"				/* 4 */
	"    permission: write\n"			/* 5 */
	"  - pattern: '^/A/'\n"				/* 6 */
	"    type: regex\n"				/* 7 */
	"    permission: read\n"			/* 8 */
	"  - pattern: '^/e/|^/f/'\n"			/* 9 */
	"    type: regex\n"				/* 10 */
	"    permission: read\n"			/* 11 */
	"  - pattern: '/g/**'\n"			/* 12 */
	"    permission: read\n"			/* 13 */
	"  - pattern: '^/g/2024/'\n"			/* 14 */
	"    type: regex\n"				/* 15 */
	"    permission: write\n"			/* 16 */
	"  - pattern: '/g/2024/**'\n"			/* 17 */
	"    permission: view\n"			/* 18 */
	"  - pattern: '^\\/h\\/'\n"			/* 19 */
	"    type: regex\n"				/* 20 */
	"    permission: read\n";			/* 21 */

/* A top-level '|' hidden from a naive scan: \Q(\E and \c[ are single
 * characters to PCRE2, so the second branch matches anywhere. */
static const char P_REGEX_QUOTED[] =
	"version: 1\n"					/* 1 */
	"rules:\n"					/* 2 */
	"  - pattern: '^/a/x\\Q(\\E|/b/'\n"		/* 3 */
	"    type: regex\n"				/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '^/c/x\\c[|/d/'\n"		/* 6 */
	"    type: regex\n"				/* 7 */
	"    permission: read\n"			/* 8 */
	"  - pattern: '^/e/x\\c(|/f/'\n"		/* 9 */
	"    type: regex\n"				/* 10 */
	"    permission: read\n";			/* 11 */

/* A rule's line is where its mapping begins, whatever the YAML layout. */
static const char P_LAYOUT[] =
	"# a comment\n"					/* 1 */
	"---\n"						/* 2 */
	"version: 1\n"					/* 3 */
	"\n"						/* 4 */
	"rules:\n"					/* 5 */
	"  # another comment\n"				/* 6 */
	"  - {pattern: '/flow.txt', type: file, permission: write}\n" /* 7 */
	"  -\n"						/* 8 */
	"    pattern: '/split.txt'\n"			/* 9 */
	"    type: file\n"				/* 10 */
	"    permission: write\n"			/* 11 */
	"  - permission: write\n"			/* 12 */
	"    type: file\n"				/* 13 */
	"    pattern: '/last.txt'\n"			/* 14 */
	"  - pattern: >-\n"				/* 15 */
	"      /folded.txt\n"				/* 16 */
	"    type: file\n"				/* 17 */
	"    permission: write\n";			/* 18 */

static const char P_CRLF[] =
	"version: 1\r\n"				/* 1 */
	"rules:\r\n"					/* 2 */
	"  - pattern: '/crlf'\r\n"			/* 3 */
	"    type: file\r\n"				/* 4 */
	"    permission: write\r\n";			/* 5 */

/* Globs whose matches must end in an extension, beside ones that need not. */
static const char P_EXT[] =
	"version: 1\n"					/* 1 */
	"default: view\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '**/*.tar.gz'\n"			/* 4 */
	"    permission: read\n"			/* 5 */
	"  - pattern: '/s/*.'\n"			/* 6 */
	"    permission: read\n"			/* 7 */
	"  - pattern: '**/.env'\n"			/* 8 */
	"    permission: none\n"			/* 9 */
	"  - pattern: '/m/**'\n"			/* 10 */
	"    permission: read\n"			/* 11 */
	"  - pattern: '/m/**/*.c'\n"			/* 12 */
	"    permission: write\n"			/* 13 */
	"  - pattern: '**/*.h'\n"			/* 14 */
	"    permission: none\n"			/* 15 */
	"    priority: 5\n"				/* 16 */
	"  - pattern: '/m/*.c'\n"			/* 17 */
	"    permission: view\n";			/* 18 */

/* Exponential backtracking on a non-matching path: the match limit stops
 * it and the rule decides none (fail closed, a MUST of lib/policy.c). */
static const char P_REGEX_LIMIT[] =
	"version: 1\n"					/* 1 */
	"default: read\n"				/* 2 */
	"rules:\n"					/* 3 */
	"  - pattern: '^/(a|aa)+$'\n"			/* 4 */
	"    type: regex\n"				/* 5 */
	"    permission: write\n";			/* 6 */

static const char P_AGENT_SAFE[] = "version: 1\nextends: agent-safe\n";
static const char P_VIEW_ONLY[] = "version: 1\nextends: view-only\n";
static const char P_READ_ONLY[] = "version: 1\nextends: read-only\n";
static const char P_DEVELOPMENT[] = "version: 1\nextends: development\n";
static const char P_FULL_ACCESS[] = "version: 1\nextends: full-access\n";

/* ---- cases ------------------------------------------------------------- */

static const struct tcase cases[] = {
	/* defaults */
	RES("no rules: a file is none by default", P_NO_RULES, "/a.txt", F, NONE, DEFAULT, 0),
	RES("no rules: a directory is none by default", P_NO_RULES, "/dir", D, NONE, DEFAULT, 0),
	RES("no rules: a deep file is none", P_NO_RULES, "/x/y/z", F, NONE, ANY, 0),
	RES("rules: [] is none by default", P_EMPTY_RULES, "/a.txt", F, NONE, DEFAULT, 0),
	RES("default: view with no rules", P_DEFAULT_VIEW, "/a/b.txt", F, VIEW, DEFAULT, 0),
	RES("default: write with no rules", P_DEFAULT_WRITE, "/a/b.txt", F, WRITE, DEFAULT, 0),
	RES("default: read, no match -> read", P_DEFAULT_READ, "/docs/a.txt", F, READ, DEFAULT, 0),
	RES("default: read, unmatched directory -> read", P_DEFAULT_READ, "/docs", D, READ, DEFAULT, 0),
	RES("default: read, match -> the rule", P_DEFAULT_READ, "/src/a.c", F, WRITE, RULE, 4),
	RES("default: read, /src/** matches /src itself", P_DEFAULT_READ, "/src", D, WRITE, RULE, 4),
	RES("default: read, /srcx is not under /src", P_DEFAULT_READ, "/srcx", F, READ, DEFAULT, 0),
	RES("default: read, a directory above a write rule stays read", P_DEFAULT_READ_BELOW, "/a", D, READ, DEFAULT, 0),
	RES("default: read, the file rule below decides its file", P_DEFAULT_READ_BELOW, "/a/b/c.txt", F, WRITE, RULE, 4),

	/* the root */
	RES("root is at least view with no rules", P_NO_RULES, "/", D, VIEW, ANY, 0),
	RES("root is at least view under a ** none rule", P_ALL_NONE, "/", D, VIEW, ANY, ANY),
	RES("root takes default read", P_DEFAULT_READ, "/", D, READ, DEFAULT, 0),
	RES("root matched by ** write", P_ROOT_WRITE, "/", D, WRITE, RULE, 3),
	RES("** write matches a deep file", P_ROOT_WRITE, "/x/y/z.c", F, WRITE, RULE, 3),
	RES("root with a rule below is implicit view", P_ONE_FILE, "/", D, VIEW, IMPLICIT, 0),
	RES("root matched by a priority ** view", P_PRIORITY, "/", D, VIEW, RULE, 3),

	/* file rule against a catch-all */
	RES("higher-priority file rule beats /**", P_FILE_VS_ALL, "/notes.txt", F, NONE, RULE, 8),
	RES("file rule beats a later /** on kind", P_FILE_VS_ALL, "/plan.txt", F, WRITE, RULE, 3),
	RES("/** decides an unnamed file", P_FILE_VS_ALL, "/other.txt", F, READ, RULE, 6),
	RES("file rule matches exactly, not a longer name", P_FILE_VS_ALL, "/notes.txtx", F, READ, RULE, 6),
	RES("file rule does not match a path below it", P_FILE_VS_ALL, "/plan.txt/x", F, READ, RULE, 6),

	/* directory rules */
	RES("dir /docs/ covers /docs", P_DOCS_DIR, "/docs", D, WRITE, RULE, 4),
	RES("dir /docs/ covers /docs/readme.md", P_DOCS_DIR, "/docs/readme.md", F, WRITE, RULE, 4),
	RES("dir /docs/ covers /docs/sub/file.txt", P_DOCS_DIR, "/docs/sub/file.txt", F, WRITE, RULE, 4),
	RES("dir /docs/ covers /docs/sub", P_DOCS_DIR, "/docs/sub", D, WRITE, RULE, 4),
	RES("dir /docs/ does not cover /other/docs/file.txt", P_DOCS_DIR, "/other/docs/file.txt", F, READ, DEFAULT, 0),
	RES("dir /docs/ does not cover /docsx", P_DOCS_DIR, "/docsx", F, READ, DEFAULT, 0),
	RES("dir /docs/ does not cover /doc", P_DOCS_DIR, "/doc", D, READ, DEFAULT, 0),
	RES("dir pattern without / is anchored at root", P_DIRS, "/src/x.c", F, READ, RULE, 4),
	RES("dir pattern without / does not match deeper", P_DIRS, "/lib/src/x.c", F, VIEW, DEFAULT, 0),
	RES("longer directory rule beats a later shorter one", P_DIRS, "/a/b/c", F, WRITE, RULE, 7),
	RES("/a/bc is not under /a/b", P_DIRS, "/a/bc", F, READ, RULE, 10),
	RES("dir /a covers /a itself", P_DIRS, "/a", D, READ, RULE, 10),
	RES("dir /a covers /a/b itself as /a/b", P_DIRS, "/a/b", D, WRITE, RULE, 7),
	RES("file rule /config.yaml matches", P_DIRS, "/config.yaml", F, WRITE, RULE, 13),
	RES("file rule does not match /config.yaml/x", P_DIRS, "/config.yaml/x", F, VIEW, DEFAULT, 0),

	/* globs */
	RES("*.md matches /readme.md", P_GLOB_BASIC, "/readme.md", F, READ, RULE, 4),
	RES("*.md does not match /docs/guide.md", P_GLOB_BASIC, "/docs/guide.md", F, VIEW, DEFAULT, 0),
	RES("*.md does not match /readme.mdx", P_GLOB_BASIC, "/readme.mdx", F, VIEW, DEFAULT, 0),
	RES("**/*.py matches /src/lib/utils.py", P_GLOB_BASIC, "/src/lib/utils.py", F, WRITE, RULE, 6),
	RES("**/*.py matches /utils.py (zero components)", P_GLOB_BASIC, "/utils.py", F, WRITE, RULE, 6),
	RES("**/*.py does not match /src/utils.pyc", P_GLOB_BASIC, "/src/utils.pyc", F, VIEW, DEFAULT, 0),
	RES("docs/*.txt matches /docs/a.txt", P_GLOB_BASIC, "/docs/a.txt", F, READ, RULE, 8),
	RES("docs/*.txt is anchored: not /x/docs/a.txt", P_GLOB_BASIC, "/x/docs/a.txt", F, VIEW, DEFAULT, 0),
	RES("docs/*.txt: * stays in one component", P_GLOB_BASIC, "/docs/sub/a.txt", F, VIEW, DEFAULT, 0),
	RES("**/secrets/** matches /secrets", P_SECRETS, "/secrets", D, WRITE, RULE, 4),
	RES("**/secrets/** matches /secrets/x", P_SECRETS, "/secrets/x", F, WRITE, RULE, 4),
	RES("**/secrets/** matches /a/b/secrets/c/d", P_SECRETS, "/a/b/secrets/c/d", F, WRITE, RULE, 4),
	RES("**/secrets/** matches /a/secrets", P_SECRETS, "/a/secrets", D, WRITE, RULE, 4),
	RES("**/secrets/** matches a file named secrets", P_SECRETS, "/a/b/secrets", F, WRITE, RULE, 4),
	RES("**/secrets/** does not match /secretsx/y", P_SECRETS, "/secretsx/y", F, VIEW, DEFAULT, 0),
	RES("**/secrets/** does not match /a/mysecrets/y", P_SECRETS, "/a/mysecrets/y", F, VIEW, DEFAULT, 0),
	RES("/a/**/z matches /a/z (zero)", P_GLOBSTAR, "/a/z", F, READ, RULE, 4),
	RES("/a/**/z matches /a/b/z (one)", P_GLOBSTAR, "/a/b/z", F, READ, RULE, 4),
	RES("/a/**/z matches /a/b/c/d/z (several)", P_GLOBSTAR, "/a/b/c/d/z", F, READ, RULE, 4),
	RES("/a/**/z does not match /a/bz", P_GLOBSTAR, "/a/bz", F, VIEW, DEFAULT, 0),
	RES("/a/**/z does not match /ab/z", P_GLOBSTAR, "/ab/z", F, VIEW, DEFAULT, 0),
	RES("/a/**/z does not match /a/z/w", P_GLOBSTAR, "/a/z/w", F, VIEW, DEFAULT, 0),
	RES("/**/x/**/y matches /x/y", P_GLOBSTAR, "/x/y", F, WRITE, RULE, 6),
	RES("/**/x/**/y matches /p/x/q/r/y", P_GLOBSTAR, "/p/x/q/r/y", F, WRITE, RULE, 6),
	RES("/**/x/**/y matches /x/x/y/y", P_GLOBSTAR, "/x/x/y/y", F, WRITE, RULE, 6),
	RES("/**/x/**/y does not match /p/x/y/q", P_GLOBSTAR, "/p/x/y/q", F, VIEW, DEFAULT, 0),
	RES("P/** matches P itself", P_GLOBSTAR, "/build", D, READ, RULE, 8),
	RES("P/** matches below P", P_GLOBSTAR, "/build/out/a.o", F, READ, RULE, 8),
	RES("P/** does not match Px", P_GLOBSTAR, "/buildx", F, VIEW, DEFAULT, 0),
	RES("? matches one character", P_WILD, "/file1.txt", F, READ, RULE, 4),
	RES("? does not match two characters", P_WILD, "/file12.txt", F, VIEW, DEFAULT, 0),
	RES("? does not match nothing", P_WILD, "/file.txt", F, VIEW, DEFAULT, 0),
	RES("? does not match /", P_WILD, "/p/q", F, VIEW, DEFAULT, 0),
	RES("[a-c] matches b", P_WILD, "/xb.txt", F, READ, RULE, 6),
	RES("[a-c] matches c", P_WILD, "/xc.txt", F, READ, RULE, 6),
	RES("[a-c] does not match d", P_WILD, "/xd.txt", F, VIEW, DEFAULT, 0),
	RES("[!a] matches b", P_WILD, "/yb.txt", F, READ, RULE, 8),
	RES("[!a] does not match a", P_WILD, "/ya.txt", F, VIEW, DEFAULT, 0),
	RES("[!a] does not match /", P_WILD, "/m/n", F, VIEW, DEFAULT, 0),
	RES("\\* matches a literal *", P_WILD, "/star*.txt", F, READ, RULE, 10),
	RES("\\* does not match another character", P_WILD, "/starX.txt", F, VIEW, DEFAULT, 0),
	RES("\\? matches a literal ?", P_WILD, "/q?", F, READ, RULE, 12),
	RES("\\? does not match another character", P_WILD, "/qx", F, VIEW, DEFAULT, 0),
	RES("\\[x\\] matches a literal [x]", P_WILD, "/b/[x]", F, READ, RULE, 20),
	RES("\\[x\\] is not a class", P_WILD, "/b/x", F, VIEW, DEFAULT, 0),
	RES("/src/* matches a child", P_WILD, "/src/a.c", F, WRITE, RULE, 14),
	RES("/src/* does not match a grandchild", P_WILD, "/src/sub/a.c", F, VIEW, DEFAULT, 0),
	RES("* matches the empty string", P_WILD, "/empty", F, READ, RULE, 22),
	RES("* matches a tail", P_WILD, "/emptyfile", F, READ, RULE, 22),

	/* regexes */
	RES("regex matches /logs/2024/app.log", P_REGEX, "/logs/2024/app.log", F, READ, RULE, 4),
	RES("regex .* crosses components", P_REGEX, "/logs/2024/a/b.log", F, READ, RULE, 4),
	RES("regex [0-9]{4} rejects /logs/24/", P_REGEX, "/logs/24/app.log", F, VIEW, DEFAULT, 0),
	RES("regex $ rejects /logs/2024/app.log.gz", P_REGEX, "/logs/2024/app.log.gz", F, VIEW, DEFAULT, 0),
	RES("regex ^ rejects /x/logs/2024/a.log", P_REGEX, "/x/logs/2024/a.log", F, VIEW, DEFAULT, 0),
	RES("regex without ^ searches anywhere", P_REGEX, "/build/mycache.bin", F, WRITE, RULE, 7),
	RES("regex without ^ matches a directory", P_REGEX, "/cache", D, WRITE, RULE, 7),
	RES("regex without ^ needs its text", P_REGEX, "/build/cach.bin", F, VIEW, DEFAULT, 0),
	RES("regex is not anchored at the end: below", P_REGEX, "/tmpdir/x", F, READ, RULE, 10),
	RES("regex is not anchored at the end: longer name", P_REGEX, "/tmpdirx", F, READ, RULE, 10),
	RES("regex with ^ is anchored at the start", P_REGEX, "/a/tmpdir", F, VIEW, DEFAULT, 0),

	/* odd bytes */
	RES("file rule names a path with a newline", P_ODD, "/n/a\nb", F, READ, RULE, 4),
	RES("newline file rule does not match /n/a", P_ODD, "/n/a", F, VIEW, DEFAULT, 0),
	RES("newline file rule does not match /n/b", P_ODD, "/n/b", F, VIEW, DEFAULT, 0),
	RES("regex .* matches across a newline (DOTALL)", P_ODD, "/r/a\nb", F, READ, RULE, 7),
	RES("regex across a newline still needs its end", P_ODD, "/r/a\nc", F, VIEW, DEFAULT, 0),
	RES("regex .*\\.txt$ matches /r/x.txt", P_ODD, "/r/x.txt", F, WRITE, RULE, 10),
	RES("regex $ does not match before a final newline", P_ODD, "/r/x.txt\n", F, VIEW, DEFAULT, 0),
	RES("regex .* matches a newline mid-name", P_ODD, "/r/a\n.txt", F, WRITE, RULE, 10),
	RES("glob * matches a newline", P_ODD, "/g/x\ny", F, WRITE, RULE, 13),
	RES("glob ? matches a newline", P_ODD, "/g/a\nb", F, READ, RULE, 15),
	RES("glob * matches bytes 0xff 0xfe", P_ODD, "/u/\xff\xfe.txt", F, READ, RULE, 17),
	RES("glob * matches UTF-8", P_ODD, "/u/caf\xc3\xa9.txt", F, READ, RULE, 17),
	RES("glob * matches space and tab", P_ODD, "/u/a b\t.txt", F, READ, RULE, 17),
	RES("newline file rule alone: reachable", P_NEWLINE_ONLY, "/n/a\nb", F, READ, RULE, 3),
	RES("newline file rule alone: parent implicit", P_NEWLINE_ONLY, "/n", D, VIEW, IMPLICIT, 0),
	RES("newline file rule alone: sibling none", P_NEWLINE_ONLY, "/n/a", F, NONE, DEFAULT, 0),

	/* precedence: priority first */
	RES("priority beats kind (glob p1 over file p0)", P_PRIORITY, "/f.txt", F, VIEW, RULE, 3),
	RES("priority beats kind (glob p1 over directory p0)", P_PRIORITY, "/d/x", F, VIEW, RULE, 3),
	RES("negative priority loses", P_PRIORITY, "/lo.txt", F, VIEW, RULE, 3),
	RES("priority beats a longer prefix", P_PRIORITY, "/hi/deep/x", F, READ, RULE, 16),
	RES("priority 2 glob decides below it", P_PRIORITY, "/hi/x", F, READ, RULE, 16),
	DEC("decide: priority beats kind", P_PRIORITY, "/f.txt", F, VIEW, RULE, 3),

	/* precedence: kind */
	RES("file beats a later directory rule", P_KIND, "/k/f.txt", F, WRITE, RULE, 4),
	RES("directory beats a later glob", P_KIND, "/k/g.txt", F, READ, RULE, 7),
	RES("directory beats a longer-prefix glob and regex", P_KIND, "/k/sub/deep/x.txt", F, READ, RULE, 7),
	RES("directory beats P/** on P itself", P_KIND, "/k", D, READ, RULE, 7),
	RES("directory beats a longer-prefix regex", P_KIND, "/k/sub/deep/y.bin", F, READ, RULE, 7),

	/* precedence: glob and regex tie on kind, prefix decides */
	RES("regex with the longer prefix beats a later glob", P_GLOB_REGEX, "/logs/2024/x.log", F, WRITE, RULE, 4),
	RES("glob /logs/** where the regex does not match", P_GLOB_REGEX, "/logs/2023/x.log", F, READ, RULE, 7),
	RES("glob with the longer prefix beats a later regex", P_GLOB_REGEX, "/data/2024/x", F, WRITE, RULE, 9),
	RES("regex ^/data/ beats ** on prefix", P_GLOB_REGEX, "/data/2023/x", F, READ, RULE, 11),
	RES("unanchored regex loses to a later **", P_GLOB_REGEX, "/a/tmpfile", F, READ, RULE, 17),
	RES("** decides an unmatched path", P_GLOB_REGEX, "/other", F, READ, RULE, 17),
	RES("glob /a/** beats a later unanchored regex", P_UNANCHORED, "/a/tmpfile", F, READ, RULE, 4),
	RES("two unanchored regexes tie: the later wins", P_UNANCHORED, "/b/tmpfile", F, NONE, RULE, 9),
	RES("unanchored regex alone", P_UNANCHORED, "/b/tmpx", F, WRITE, RULE, 6),

	/* precedence: longer literal prefix */
	RES("longer prefix beats a later shorter glob", P_PREFIX, "/src/lib/x.c", F, READ, RULE, 4),
	RES("shorter glob where the longer does not match", P_PREFIX, "/src/main.c", F, WRITE, RULE, 6),
	RES("prefix counts characters: /src/li* beats /src/", P_PREFIX, "/src/lit/x", F, VIEW, RULE, 8),
	RES("/src/lib/** beats /src/li*/** on /src/lib", P_PREFIX, "/src/lib", D, READ, RULE, 4),

	/* precedence: ties go to the later rule */
	RES("identical globs: the later wins", P_TIE, "/a/x", F, WRITE, RULE, 6),
	RES("equal prefixes: the later glob wins", P_TIE, "/b/x.txt", F, READ, RULE, 10),
	RES("equal prefixes: only the earlier matches", P_TIE, "/b/y.txt", F, WRITE, RULE, 8),
	RES("identical file rules: the later wins", P_TIE, "/f", F, READ, RULE, 15),

	/* extends */
	RES("own rule beats the base's on a tie", P_EXTENDS_RO, "/a.txt", F, VIEW, RULE, 4),
	RES("own rule beats the base's on a tie, at root", P_EXTENDS_RO, "/", D, VIEW, RULE, 4),
	RES("own /output/** beats agent-safe's on a tie", P_EXTENDS_AS, "/output/r.txt", F, READ, RULE, 4),
	RES("own ** write beats agent-safe's ** read", P_EXTENDS_AS, "/src/main.py", F, WRITE, RULE, 7),
	RES("agent-safe's .env rule still beats own **", P_EXTENDS_AS, "/.env", F, NONE, RULE, ANY),
	RES("agent-safe's /tmp/** p10 beats own ** p0", P_EXTENDS_AS, "/tmp/x", F, WRITE, RULE, ANY),
	RES("own longer prefix beats the base's **", P_EXTENDS_DEFAULT, "/x/y", F, READ, RULE, 5),
	RES("the base's ** beats own default", P_EXTENDS_DEFAULT, "/y", F, VIEW, RULE, ANY),
	DEC("decide: own rule beats the base's on a tie", P_EXTENDS_AS, "/output/r.txt", F, READ, RULE, 4),

	/* implicit traversal */
	RES("a file rule makes its directory implicit view", P_ONE_FILE, "/docs", D, VIEW, IMPLICIT, 0),
	RES("the file rule decides its file", P_ONE_FILE, "/docs/readme.md", F, READ, RULE, 4),
	RES("a sibling of the named file is none", P_ONE_FILE, "/docs/other.txt", F, NONE, DEFAULT, 0),
	RES("an unrelated directory is none", P_ONE_FILE, "/src", D, NONE, DEFAULT, 0),
	RES("implicit applies only to directories", P_ONE_FILE, "/docs", F, NONE, DEFAULT, 0),
	RES("no implicit below the named file's directory", P_ONE_FILE, "/docs/sub", D, NONE, DEFAULT, 0),
	RES("/doc is not an ancestor of /docs/readme.md", P_ONE_FILE, "/doc", D, NONE, DEFAULT, 0),
	DEC("decide: implicit directory", P_ONE_FILE, "/docs", D, VIEW, IMPLICIT, 0),
	RES("implicit: /a above a deep file rule", P_IMPLICIT, "/a", D, VIEW, IMPLICIT, 0),
	RES("implicit: /a/b above a deep file rule", P_IMPLICIT, "/a/b", D, VIEW, IMPLICIT, 0),
	RES("implicit: /a/b/c above a deep file rule", P_IMPLICIT, "/a/b/c", D, VIEW, IMPLICIT, 0),
	RES("deep file rule reachable through implicit dirs", P_IMPLICIT, "/a/b/c/d.txt", F, WRITE, RULE, 3),
	RES("sibling in an implicit dir is none", P_IMPLICIT, "/a/b/x.txt", F, NONE, DEFAULT, 0),
	RES("implicit: glob prefix /src/ starts with D/", P_IMPLICIT, "/src", D, VIEW, IMPLICIT, 0),
	RES("implicit: glob prefix /src/ is a prefix of D/", P_IMPLICIT, "/src/deep/er", D, VIEW, IMPLICIT, 0),
	RES("glob /src/**/*.c matches a deep .c", P_IMPLICIT, "/src/deep/x.c", F, READ, RULE, 6),
	RES("glob /src/**/*.c matches /src/x.c", P_IMPLICIT, "/src/x.c", F, READ, RULE, 6),
	RES("glob /src/**/*.c does not match .h", P_IMPLICIT, "/src/deep/x.h", F, NONE, DEFAULT, 0),
	RES("implicit: regex prefix /data/", P_IMPLICIT, "/data", D, VIEW, IMPLICIT, 0),
	RES("regex ^/data/ reached through implicit /data", P_IMPLICIT, "/data/x/y", F, READ, RULE, 8),
	RES("no implicit for /datax from ^/data/", P_IMPLICIT, "/datax", D, NONE, DEFAULT, 0),
	RES("a none rule below grants nothing", P_IMPLICIT, "/hide", D, NONE, DEFAULT, 0),
	DEC("decide: the none file rule", P_IMPLICIT, "/hide/me", F, NONE, RULE, 11),
	RES("implicit: a directory rule below", P_IMPLICIT, "/pub", D, VIEW, IMPLICIT, 0),
	RES("the directory rule decides its directory", P_IMPLICIT, "/pub/lib", D, VIEW, RULE, 14),
	RES("the directory rule covers below", P_IMPLICIT, "/pub/lib/x", F, VIEW, RULE, 14),
	RES("implicit: glob /q*z/x for /qaz", P_IMPLICIT, "/qaz", D, VIEW, IMPLICIT, 0),
	RES("glob /q*z/x matches /qaz/x", P_IMPLICIT, "/qaz/x", F, READ, RULE, 17),
	RES("no implicit for /r", P_IMPLICIT, "/r", D, NONE, DEFAULT, 0),
	RES("implicit: regex without ^ grants anywhere", P_IMPLICIT_RE, "/any/where", D, VIEW, IMPLICIT, 0),
	RES("regex without ^ reached anywhere", P_IMPLICIT_RE, "/any/where/t.csv", F, READ, RULE, 3),
	RES("regex without ^: other files none", P_IMPLICIT_RE, "/any/where/t.txt", F, NONE, DEFAULT, 0),
	RES("implicit: **/*.md grants anywhere", P_IMPLICIT_MD, "/x/y", D, VIEW, IMPLICIT, 0),
	RES("**/*.md reached through implicit dirs", P_IMPLICIT_MD, "/x/y/r.md", F, READ, RULE, 3),

	/* hidden subtrees */
	RES("dir at none hides a higher-priority file below", P_HIDE, "/private/ok.txt", F, NONE, HIDDEN, 4),
	DEC("decide ignores ancestors: the file rule", P_HIDE, "/private/ok.txt", F, WRITE, RULE, 7),
	RES("the none directory itself", P_HIDE, "/private", D, NONE, RULE, 4),
	RES("deep below a none directory", P_HIDE, "/private/sub/deep.txt", F, NONE, HIDDEN, 4),
	DEC("decide: directory rule covers a subdirectory", P_HIDE, "/private/sub", D, NONE, RULE, 4),
	RES("/privatex is not under /private", P_HIDE, "/privatex", F, READ, DEFAULT, 0),
	RES("none dir hides a p9 glob below", P_HIDE, "/m/n/o/p.txt", F, NONE, HIDDEN, 11),
	RES("none dir hides a p9 glob's own directory", P_HIDE, "/m/n/o", D, NONE, HIDDEN, 11),
	DEC("decide: the p9 glob", P_HIDE, "/m/n/o/p.txt", F, WRITE, RULE, 14),
	RES("sibling of a none dir is visible", P_HIDE, "/m/x", F, READ, DEFAULT, 0),
	RES("nested none dirs: the outermost hides", P_HIDE, "/h1/h2/f", F, NONE, HIDDEN, 20),
	RES("nested none dirs: inner dir hidden by outer", P_HIDE, "/h1/h2", D, NONE, HIDDEN, 20),
	RES("outer none dir itself", P_HIDE, "/h1", D, NONE, RULE, 20),
	DEC("decide: the longer directory rule", P_HIDE, "/h1/h2", D, NONE, RULE, 17),
	RES("glob P/** at none hides P's subtree", P_HIDE, "/cache/keep.txt", F, NONE, HIDDEN, 23),
	RES("glob P/** at none decides P", P_HIDE, "/cache", D, NONE, RULE, 23),
	DEC("decide: the p5 file rule under /cache", P_HIDE, "/cache/keep.txt", F, WRITE, RULE, 25),
	RES("** none hides the directory of a p10 file rule", P_ALL_NONE, "/docs/readme.md", F, NONE, HIDDEN, 3),
	RES("** none decides a directory (no implicit)", P_ALL_NONE, "/docs", D, NONE, RULE, 3),
	RES("** none decides a top-level file", P_ALL_NONE, "/top.txt", F, NONE, RULE, 3),
	DEC("decide: p10 file rule beats ** none", P_ALL_NONE, "/docs/readme.md", F, READ, RULE, 5),

	/* cleaning, then resolving */
	CLN("clean docs/readme.md", P_ONE_FILE, "docs/readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs//readme.md", P_ONE_FILE, "/docs//readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/./readme.md", P_ONE_FILE, "/docs/./readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/readme.md/", P_ONE_FILE, "/docs/readme.md/", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/sub/../readme.md", P_ONE_FILE, "/docs/sub/../readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /../docs/readme.md", P_ONE_FILE, "/../docs/readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean //docs///./readme.md//", P_ONE_FILE, "//docs///./readme.md//", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/readme.md/.", P_ONE_FILE, "/docs/readme.md/.", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean ./docs/readme.md", P_ONE_FILE, "./docs/readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/x/../../docs/readme.md", P_ONE_FILE, "/docs/x/../../docs/readme.md", "/docs/readme.md", F, READ, RULE, 4),
	CLN("clean /docs/readme.md/.. to /docs", P_ONE_FILE, "/docs/readme.md/..", "/docs", D, VIEW, IMPLICIT, 0),
	CLN("clean /.. to /", P_ONE_FILE, "/..", "/", D, VIEW, IMPLICIT, 0),
	CLN("clean /docs/../../.. to /", P_ONE_FILE, "/docs/../../..", "/", D, VIEW, IMPLICIT, 0),
	CLN("clean /docs/readme.mdx is another file", P_ONE_FILE, "/docs//readme.mdx/", "/docs/readme.mdx", F, NONE, DEFAULT, 0),

	/* more globs */
	RES("/a/**/*.c matches /a/x.c (zero)", P_GLOB_MORE, "/a/x.c", F, READ, RULE, 4),
	RES("/a/**/*.c matches /a/p/q/x.c", P_GLOB_MORE, "/a/p/q/x.c", F, READ, RULE, 4),
	RES("/b/**/**/z matches /b/z", P_GLOB_MORE, "/b/z", F, READ, RULE, 6),
	RES("/b/**/**/z matches /b/p/q/r/z", P_GLOB_MORE, "/b/p/q/r/z", F, READ, RULE, 6),
	RES("./docs/*.md is /docs/*.md", P_GLOB_MORE, "/docs/a.md", F, WRITE, RULE, 8),
	RES("**/Makefile matches /Makefile", P_GLOB_MORE, "/Makefile", F, WRITE, RULE, 10),
	RES("**/Makefile matches /a/b/Makefile", P_GLOB_MORE, "/a/b/Makefile", F, WRITE, RULE, 10),
	RES("**/Makefile does not match Makefile.in", P_GLOB_MORE, "/a/Makefile.in", F, VIEW, DEFAULT, 0),
	RES("[]x] matches ]", P_GLOB_MORE, "/c]", F, READ, RULE, 12),
	RES("[]x] matches x", P_GLOB_MORE, "/cx", F, READ, RULE, 12),
	RES("[]x] does not match y", P_GLOB_MORE, "/cy", F, VIEW, DEFAULT, 0),
	RES("*a*b matches ab", P_GLOB_MORE, "/t/ab", F, READ, RULE, 14),
	RES("*a*b matches xaxb", P_GLOB_MORE, "/t/xaxb", F, READ, RULE, 14),
	RES("*a*b does not match ba", P_GLOB_MORE, "/t/ba", F, VIEW, DEFAULT, 0),
	RES("ab*ba does not match aba (head and tail overlap)", P_GLOB_MORE, "/t/aba", F, VIEW, DEFAULT, 0),
	RES("ab*ba matches abba", P_GLOB_MORE, "/t/abba", F, WRITE, RULE, 16),
	RES("*x*y*z backtracks", P_GLOB_MORE, "/t/axbxcyz", F, WRITE, RULE, 18),
	RES("*x*y*z needs z last", P_GLOB_MORE, "/t/xyzq", F, VIEW, DEFAULT, 0),
	RES("a trailing / in a glob is cleaned", P_GLOB_MORE, "/e/x", F, WRITE, RULE, 20),

	/* the index */
	RES("directory / beats ** on kind", P_ROOT_DIR, "/a/b", F, READ, RULE, 3),
	RES("directory / decides the root", P_ROOT_DIR, "/", D, READ, RULE, 3),
	RES("literal glob beats a later wildcard glob on prefix", P_INDEX, "/x/y", F, VIEW, RULE, 5),
	RES("wildcard glob beside a literal glob", P_INDEX, "/x/z", F, WRITE, RULE, 7),
	RES("file rule beats a later literal glob at one path", P_INDEX, "/lit", F, VIEW, RULE, 9),
	RES("priority 1 /deep beats a longer p0 directory", P_INDEX, "/deep/er/x", F, VIEW, RULE, 17),
	RES("p-1 literal glob loses to a p0 wildcard", P_INDEX, "/w/lo", F, READ, RULE, 24),

	/* more regexes */
	RES("regex ^/$ matches the root", P_REGEX_MORE, "/", D, WRITE, RULE, 3),
	RES("regex is case-sensitive", P_REGEX_MORE, "/a/x", F, NONE, DEFAULT, 0),
	RES("regex ^/A/ matches /A/x", P_REGEX_MORE, "/A/x", F, READ, RULE, 6),
	RES("regex alternation: first branch", P_REGEX_MORE, "/e/x", F, READ, RULE, 9),
	RES("regex alternation: second branch", P_REGEX_MORE, "/f/x", F, READ, RULE, 9),
	RES("implicit: regex with a top-level | has no prefix", P_REGEX_MORE, "/f", D, VIEW, IMPLICIT, 0),
	RES("regex and glob with equal prefixes: the later glob", P_REGEX_MORE, "/g/2024/x", F, VIEW, RULE, 17),
	DEC("decide: equal prefixes, the later glob", P_REGEX_MORE, "/g/2024/x", F, VIEW, RULE, 17),
	RES("regex ^\\/h\\/ with escaped slashes", P_REGEX_MORE, "/h/x", F, READ, RULE, 19),
	RES("regex \\Q(\\E then |: first branch", P_REGEX_QUOTED, "/a/x(", F, READ, RULE, 3),
	DEC("regex \\Q(\\E then |: second branch matches anywhere", P_REGEX_QUOTED, "/b/c", F, READ, RULE, 3),
	RES("regex \\Q(\\E then |: /b implicit", P_REGEX_QUOTED, "/b", D, VIEW, IMPLICIT, 0),
	DEC("regex \\c[ then |: second branch matches anywhere", P_REGEX_QUOTED, "/d/c", F, READ, RULE, 6),
	DEC("regex \\c( then |: second branch matches anywhere", P_REGEX_QUOTED, "/f/c", F, READ, RULE, 9),

	/* extensions */
	RES("**/*.tar.gz matches x.tar.gz", P_EXT, "/x/a.tar.gz", F, READ, RULE, 4),
	RES("**/*.tar.gz does not match x.gz", P_EXT, "/x/a.gz", F, VIEW, DEFAULT, 0),
	RES("*. matches a name ending in a dot", P_EXT, "/s/a.", F, READ, RULE, 6),
	RES("*. does not match a name without the dot", P_EXT, "/s/a", F, VIEW, DEFAULT, 0),
	RES("**/.env matches /a/.env", P_EXT, "/a/.env", F, NONE, RULE, 8),
	RES("**/.env does not match /a/x.env", P_EXT, "/a/x.env", F, VIEW, DEFAULT, 0),
	RES("equal prefixes across extension and plain rules: latest", P_EXT, "/m/x.c", F, VIEW, RULE, 17),
	RES("/m/**/*.c beats an earlier /m/** on order", P_EXT, "/m/d/x.c", F, WRITE, RULE, 12),
	RES("priority 5 **/*.h beats /m/**", P_EXT, "/m/x.h", F, NONE, RULE, 14),
	RES("/m/** for a name without a dot", P_EXT, "/m/x", F, READ, RULE, 10),
	RES("/m/** for another extension", P_EXT, "/m/x.cc", F, READ, RULE, 10),
	RES("regex within the match limit matches", P_REGEX_LIMIT, "/aaaa", F, WRITE, RULE, 4),
	RES("regex within the match limit does not match", P_REGEX_LIMIT, "/aab", F, READ, DEFAULT, 0),
	RES("regex past the match limit decides none", P_REGEX_LIMIT,
	    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", F, NONE, RULE, 4),

	/* rule lines */
	RES("line of a flow mapping rule", P_LAYOUT, "/flow.txt", F, WRITE, RULE, 7),
	RES("line of a rule whose mapping starts below its -", P_LAYOUT, "/split.txt", F, WRITE, RULE, 9),
	RES("line of a rule whose pattern is not its first key", P_LAYOUT, "/last.txt", F, WRITE, RULE, 12),
	RES("line of a rule with a folded pattern", P_LAYOUT, "/folded.txt", F, WRITE, RULE, 15),
	RES("lines count CRLF line ends once", P_CRLF, "/crlf", F, WRITE, RULE, 3),

	/* preset agent-safe */
	RES("agent-safe hides /.env", P_AGENT_SAFE, "/.env", F, NONE, RULE, ANY),
	RES("agent-safe hides /a/.env.local", P_AGENT_SAFE, "/a/.env.local", F, NONE, RULE, ANY),
	RES("agent-safe hides /.envrc", P_AGENT_SAFE, "/.envrc", F, NONE, RULE, ANY),
	RES("agent-safe hides /k.key", P_AGENT_SAFE, "/k.key", F, NONE, RULE, ANY),
	RES("agent-safe reads /k.keys", P_AGENT_SAFE, "/k.keys", F, READ, RULE, ANY),
	RES("agent-safe hides /d/e/f.pem", P_AGENT_SAFE, "/d/e/f.pem", F, NONE, RULE, ANY),
	RES("agent-safe hides /credentials.json", P_AGENT_SAFE, "/credentials.json", F, NONE, RULE, ANY),
	RES("agent-safe hides /a/credentials", P_AGENT_SAFE, "/a/credentials", F, NONE, RULE, ANY),
	RES("agent-safe reads /a/my-credentials.txt", P_AGENT_SAFE, "/a/my-credentials.txt", F, READ, RULE, ANY),
	RES("agent-safe hides /secrets", P_AGENT_SAFE, "/secrets", D, NONE, RULE, ANY),
	RES("agent-safe hides /secrets/x (hidden dir)", P_AGENT_SAFE, "/secrets/x", F, NONE, HIDDEN, ANY),
	RES("agent-safe hides /a/b/secrets/c/d", P_AGENT_SAFE, "/a/b/secrets/c/d", F, NONE, HIDDEN, ANY),
	RES("agent-safe hides /.git", P_AGENT_SAFE, "/.git", D, NONE, RULE, ANY),
	RES("agent-safe hides /.git/config (hidden dir)", P_AGENT_SAFE, "/.git/config", F, NONE, HIDDEN, ANY),
	RES("agent-safe hides /a/b/.git/config", P_AGENT_SAFE, "/a/b/.git/config", F, NONE, HIDDEN, ANY),
	DEC("decide: agent-safe **/.git/** matches /.git/config", P_AGENT_SAFE, "/.git/config", F, NONE, RULE, ANY),
	RES("agent-safe reads /.gitignore", P_AGENT_SAFE, "/.gitignore", F, READ, RULE, ANY),
	RES("agent-safe reads /src/.github/x", P_AGENT_SAFE, "/src/.github/x", F, READ, RULE, ANY),
	RES("agent-safe writes /output/r.txt", P_AGENT_SAFE, "/output/r.txt", F, WRITE, RULE, ANY),
	RES("agent-safe writes /output itself", P_AGENT_SAFE, "/output", D, WRITE, RULE, ANY),
	RES("agent-safe writes /tmp/x", P_AGENT_SAFE, "/tmp/x", F, WRITE, RULE, ANY),
	RES("agent-safe writes /tmp/a/b/c", P_AGENT_SAFE, "/tmp/a/b/c", F, WRITE, RULE, ANY),
	RES("agent-safe reads /tmpx", P_AGENT_SAFE, "/tmpx", F, READ, RULE, ANY),
	RES("agent-safe hides /output/.env", P_AGENT_SAFE, "/output/.env", F, NONE, RULE, ANY),
	RES("agent-safe hides /output/secrets/x", P_AGENT_SAFE, "/output/secrets/x", F, NONE, HIDDEN, ANY),
	RES("agent-safe reads /src/main.py", P_AGENT_SAFE, "/src/main.py", F, READ, RULE, ANY),
	RES("agent-safe reads the root", P_AGENT_SAFE, "/", D, READ, RULE, ANY),
	RES("agent-safe reads /src", P_AGENT_SAFE, "/src", D, READ, RULE, ANY),

	/* other presets */
	RES("view-only views the root", P_VIEW_ONLY, "/", D, VIEW, RULE, ANY),
	RES("view-only views /a/b.txt", P_VIEW_ONLY, "/a/b.txt", F, VIEW, RULE, ANY),
	RES("view-only views /.env", P_VIEW_ONLY, "/.env", F, VIEW, RULE, ANY),
	RES("read-only reads /src/main.c", P_READ_ONLY, "/src/main.c", F, READ, RULE, ANY),
	RES("read-only reads /.env", P_READ_ONLY, "/.env", F, READ, RULE, ANY),
	RES("read-only reads /.git/config", P_READ_ONLY, "/.git/config", F, READ, RULE, ANY),
	RES("development writes /src/main.c", P_DEVELOPMENT, "/src/main.c", F, WRITE, RULE, ANY),
	RES("development hides /.env", P_DEVELOPMENT, "/.env", F, NONE, RULE, ANY),
	RES("development hides /a/.env.prod", P_DEVELOPMENT, "/a/.env.prod", F, NONE, RULE, ANY),
	RES("development hides /secrets/x", P_DEVELOPMENT, "/secrets/x", F, NONE, HIDDEN, ANY),
	RES("development hides /k.key", P_DEVELOPMENT, "/k.key", F, NONE, RULE, ANY),
	RES("development hides /a/x.pem", P_DEVELOPMENT, "/a/x.pem", F, NONE, RULE, ANY),
	RES("development writes /.git/config", P_DEVELOPMENT, "/.git/config", F, WRITE, RULE, ANY),
	RES("development writes /credentials.json", P_DEVELOPMENT, "/credentials.json", F, WRITE, RULE, ANY),
	RES("full-access writes the root", P_FULL_ACCESS, "/", D, WRITE, RULE, ANY),
	RES("full-access writes /.env", P_FULL_ACCESS, "/.env", F, WRITE, RULE, ANY),
	RES("full-access writes /secrets/x", P_FULL_ACCESS, "/secrets/x", F, WRITE, RULE, ANY),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- harness ----------------------------------------------------------- */

static const char *const level_names[] = { "none", "view", "read", "write" };

static const char *why_name(int why)
{
	switch (why) {
	case WHY_RULE:
		return "rule";
	case WHY_DEFAULT:
		return "default";
	case WHY_IMPLICIT:
		return "implicit";
	case WHY_HIDDEN:
		return "hidden";
	default:
		return "any-why";
	}
}

/* "read rule line 4", "view implicit", "none hidden line any". */
static void verdict_str(char *buf, size_t n, enum level lv, int why, int line)
{
	const char *l = (unsigned)lv < 4 ? level_names[lv] : "?";

	if (line == ANY)
		snprintf(buf, n, "%s %s line any", l, why_name(why));
	else if (line > 0)
		snprintf(buf, n, "%s %s line %d", l, why_name(why), line);
	else
		snprintf(buf, n, "%s %s", l, why_name(why));
}

/* PATH with control and non-ASCII bytes as \n, \t, \xHH. */
static void print_path(const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static bool verdict_ok(const struct tcase *c, const struct verdict *v)
{
	int line = v->rule ? v->rule->line : 0;

	if (v->level != c->level)
		return false;
	if (c->why != ANY && (int)v->why != c->why)
		return false;
	if (c->line == ANY)
		return c->why != WHY_RULE || v->rule != NULL;
	if (line != c->line)
		return false;
	/* Our own rules live in "t.yaml", not in a preset. */
	return line == 0 || strcmp(v->rule->file, "t.yaml") == 0;
}

static void print_diags(const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("# %s:%d:%d: %s\n", d->v[i].file ? d->v[i].file : "?",
		       d->v[i].line, d->v[i].column, d->v[i].msg);
}

static const char *const preset_dirs[] = { "policies", NULL };

/* Run case N (1-based); returns true when it passes. */
static bool run_case(size_t n, const struct tcase *c, const struct policy *pol)
{
	char path[POLICY_MAX_PATH], want[128], got[128];
	struct verdict v = { LEVEL_NONE, WHY_DEFAULT, NULL };
	size_t len;
	bool ok;

	if (!pol) {
		printf("not ok %zu - %s\n# policy did not load\n", n, c->desc);
		return false;
	}
	if (c->op == OP_CLEAN) {
		int r = path_clean(c->path, path, sizeof(path));

		if (r < 0 || (size_t)r != strlen(c->cleaned) ||
		    strcmp(path, c->cleaned) != 0) {
			printf("not ok %zu - %s\n# path_clean(\"", n, c->desc);
			print_path(c->path);
			printf("\") = %d \"", r);
			print_path(r < 0 ? "" : path);
			printf("\", expected \"%s\"\n", c->cleaned);
			return false;
		}
		len = (size_t)r;
	} else {
		len = strlen(c->path);
		memcpy(path, c->path, len + 1);
	}

	if (c->op == OP_DECIDE)
		policy_decide(pol, path, len, c->is_dir, &v);
	else
		policy_resolve(pol, path, len, c->is_dir, &v);

	ok = verdict_ok(c, &v);
	printf("%s %zu - %s\n", ok ? "ok" : "not ok", n, c->desc);
	if (!ok) {
		verdict_str(want, sizeof(want), c->level, c->why, c->line);
		verdict_str(got, sizeof(got), v.level, (int)v.why,
			    v.rule ? v.rule->line : 0);
		printf("# %s(\"", c->op == OP_DECIDE ? "decide" : "resolve");
		print_path(path);
		printf("\", %s)\n# expected: %s\n# got:      %s\n",
		       c->is_dir ? "dir" : "file", want, got);
		if (v.rule)
			printf("# rule:     %s:%d '%s'\n", v.rule->file,
			       v.rule->line, v.rule->pattern);
	}
	return ok;
}

int main(void)
{
	const struct policy_opts opts = { .preset_dirs = preset_dirs };
	const char *loaded_text = NULL;
	struct policy *pol = NULL;
	size_t failed = 0;

	printf("1..%zu\n", NCASES);
	for (size_t i = 0; i < NCASES; i++) {
		const struct tcase *c = &cases[i];

		/* Cases sharing a policy are adjacent; load each run once. */
		if (c->policy != loaded_text) {
			struct diags d;

			policy_free(pol);
			pol = NULL;
			diags_init(&d);
			if (policy_load_buffer("t.yaml", c->policy,
					       strlen(c->policy), &opts,
					       &pol, &d) != 0)
				pol = NULL;
			if (!pol || d.nerrors)
				print_diags(&d);
			diags_free(&d);
			loaded_text = c->policy;
		}
		if (!run_case(i + 1, c, pol))
			failed++;
	}
	policy_free(pol);
	if (failed)
		printf("# %zu of %zu failed\n", failed, NCASES);
	return failed ? 1 : 0;
}
