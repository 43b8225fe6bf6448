/* test-authz.c - afs-fuse's permission rules (afs-fuse/authz.c) against
 * afs-fuse(1) LEVELS AND ERRORS.
 *
 * Two parts:
 * - AUTHZ_TABLE against the page: each row, rendered here in words, must
 *   be a row of the preformatted block of ".SS The table", exactly as
 *   rendered, and the block must hold no other row.  A row changed in
 *   the code alone, or in the page alone, fails here.  The page is
 *   argv[1], else man/afs-fuse.1 (run from the top of the tree).
 * - the functions of authz.h, for every level, with the exact errno.
 *
 * Prints TAP; exits 0 iff every check passes.  On a difference it prints
 * the block as the code renders it, ready to paste into the page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../afs-fuse/authz.h"
#include "policy.h"
#include "tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What authz.h says its functions return for a refusal: "0 or -errno,
 * the errno to answer".  The table part reads the table's errnos as
 * magnitudes, whatever their sign. */
#define REFUSE(e) (-(e))

/* ---- the table against the page ------------------------------------------ */

/* Each row in a user's words: what it is about, and whose level counts.
 * A row added to AUTHZ_TABLE needs its words here (checked below). */
static const struct {
	const char *label;
	const char *whose;
} WORDS[AZ_NOPS] = {
	[AZ_SEE] = { "see a name", "the entry" },
	[AZ_READ] = { "read or run a file", "the entry" },
	[AZ_XATTR_GET] = { "read an extended attribute", "the entry" },
	[AZ_XATTR_LIST] = { "list extended attributes", "the entry" },
	[AZ_MODIFY] = { "change an entry", "the entry" },
	[AZ_CREATE] = { "create a name", "the new name" },
	[AZ_REMOVE] = { "remove a name", "the entry" },
	[AZ_LINK_FROM] = { "link an entry", "the existing entry" },
	[AZ_DEVICE] = { "make a device node", NULL },
};

/* The block's width: the page indents it by 14 columns (.SS and .RS), and
 * a terminal of 80 columns leaves 78 to man(1). */
#define WIDTH 64
#define ROW_MAX 1024	/* one rendered row; the longest is about 200 bytes */
#define PAGE_MAX (1 << 20)	/* afs-fuse.1 is about 100 KiB */
#define STANZA_MAX 64	/* rows in the block; more is a failure anyway */

struct buf {
	char s[ROW_MAX];
	size_t n;
	bool full;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->full || n >= sizeof(b->s) - b->n) {
		b->full = true;
		return;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void puts_roff(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '-')
			put(b, "\\-", 2);
		else if (s[i] == '\\')
			put(b, "\\e", 2);
		else
			put(b, s + i, 1);
	}
}

/* TEXT as lines of at most WIDTH columns, broken at spaces: the first
 * after FIRST, the others after CONT.  In roff, hyphens as \-. */
static void wrap(struct buf *b, const char *first, const char *cont, const char *text)
{
	const char *prefix = first;

	while (*text) {
		size_t room = WIDTH - strlen(prefix), n = strlen(text);

		if (n > room) {
			n = room;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)	/* one word longer than the line */
				n = strcspn(text, " ");
		}
		puts_roff(b, prefix, strlen(prefix));
		puts_roff(b, text, n);
		put(b, "\n", 1);
		text += n;
		text += strspn(text, " ");
		prefix = cont;
	}
}

static const char *errno_name(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);

	return s ? s : "E?";
}

/* Row OP as the page's block shows it. */
static void render(struct buf *b, enum authz_op op)
{
	const struct authz_rule *r = &AUTHZ_TABLE[op];
	char line[ROW_MAX];

	b->n = 0;
	b->s[0] = '\0';
	b->full = false;
	snprintf(line, sizeof(line), "%s (%s)", WORDS[op].label, r->what);
	wrap(b, "", "  ", line);
	if (r->need == LEVEL_NEVER)
		snprintf(line, sizeof(line), "at every level: %s", errno_name(r->err));
	else if (r->err == 0)
		snprintf(line, sizeof(line), "needs %s at %s; below %s: no error, less is shown",
			 WORDS[op].whose ? WORDS[op].whose : "?", level_name(r->need),
			 level_name(r->need));
	else
		snprintf(line, sizeof(line), "needs %s at %s; below %s: %s",
			 WORDS[op].whose ? WORDS[op].whose : "?", level_name(r->need),
			 level_name(r->need), errno_name(r->err));
	wrap(b, "    ", "      ", line);
	if (r->note)
		wrap(b, "    - ", "      ", r->note);
}

/* A row of the page's block: a line that does not begin with a space,
 * and the indented lines after it. */
struct stanza {
	const char *s;
	size_t n;
	bool matched;
};

static char *read_page(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;

	if (!f) {
		printf("# cannot open '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	text = malloc(PAGE_MAX + 1);
	n = text ? fread(text, 1, PAGE_MAX + 1, f) : 0;
	fclose(f);
	if (!text || n > PAGE_MAX) {
		printf("# '%s': not read (over %d bytes?)\n", path, PAGE_MAX);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

/* The lines between ".nf" and ".fi" of ".SS The table", NUL-terminated in
 * place; NULL when the page has no such block. */
static const char *find_block(char *page)
{
	char *ss = strstr(page, "\n.SS The table\n"), *nf, *fi, *sh, *next;

	if (!ss)
		return NULL;
	nf = strstr(ss, "\n.nf\n");
	/* The block is the subsection's own: before the next .SS or .SH. */
	next = strstr(ss + 1, "\n.SS ");
	sh = strstr(ss + 1, "\n.SH ");
	if (sh && (!next || sh < next))
		next = sh;
	if (!nf || (next && next < nf))
		return NULL;
	nf += 5;
	fi = strstr(nf - 1, "\n.fi\n");
	if (!fi)
		return NULL;
	fi[1] = '\0';
	return nf;
}

static size_t split(const char *block, struct stanza *st, size_t max)
{
	const char *p = block;
	size_t n = 0;

	while (*p) {
		const char *end = strchr(p, '\n');

		end = end ? end + 1 : p + strlen(p);
		if (*p != ' ' || n == 0) {
			if (n == max)
				return n + 1;	/* more than max: counted once */
			st[n++] = (struct stanza){ p, 0, false };
		}
		st[n - 1].n = (size_t)(end - st[n - 1].s);
		p = end;
	}
	return n;
}

static void show_expected(void)
{
	struct buf b;
	size_t op;

	printf("# the block as the code renders it:\n");
	for (op = 0; op < AZ_NOPS; op++) {
		char *line;

		render(&b, (enum authz_op)op);
		for (line = strtok(b.s, "\n"); line; line = strtok(NULL, "\n"))
			printf("#   %s\n", line);
	}
}

static void check_page(const char *path)
{
	char *page = read_page(path), desc[256];
	const char *block = page ? find_block(page) : NULL;
	struct stanza st[STANZA_MAX];
	size_t nst = 0, op, i, order = 0;
	bool words = true, in_order = true, all = true, extra = false;

	tap_ok(block != NULL, "afs-fuse.1 has a .nf block in \".SS The table\"");
	if (block)
		nst = split(block, st, STANZA_MAX);

	for (op = 0; op < AZ_NOPS; op++)
		if (!WORDS[op].label || (!WORDS[op].whose && AUTHZ_TABLE[op].need != LEVEL_NEVER))
			words = false;
	tap_ok(words, "every row of AUTHZ_TABLE has its words in this test");

	for (op = 0; op < AZ_NOPS; op++) {
		struct buf b;
		const char *nl;
		size_t found = nst;

		render(&b, (enum authz_op)op);
		nl = strchr(b.s, '\n');
		for (i = 0; i < nst && i < STANZA_MAX; i++)
			if (strncmp(st[i].s, b.s, (size_t)(nl - b.s) + 1) == 0)
				found = i;
		snprintf(desc, sizeof(desc), "the page shows row %zu (%s) as the code has it",
			 op, AUTHZ_TABLE[op].what);
		if (found < nst) {
			st[found].matched = true;
			if (found < order)
				in_order = false;
			order = found;
			all &= tap_mem(desc, b.s, b.n, st[found].s, st[found].n);
		} else {
			/* Shown against the page's row at its place. */
			all &= tap_mem(desc, b.s, b.n, op < nst ? st[op].s : "",
				       op < nst ? st[op].n : 0);
		}
	}

	for (i = 0; i < nst; i++) {
		if (i == STANZA_MAX) {
			printf("# over %d rows in the block\n", STANZA_MAX);
			extra = true;
			break;
		}
		if (!st[i].matched) {
			printf("# a row the table lacks: ");
			tap_show(st[i].s, st[i].n);
			putchar('\n');
			extra = true;
		}
	}
	tap_ok(!extra, "the page's block has no row AUTHZ_TABLE lacks");
	tap_ok(in_order, "the page's block lists the rows in the table's order");
	if (!block || !words || !all || extra || !in_order)
		show_expected();
	free(page);
}

/* ---- the functions ---------------------------------------------------------- */

#define NONE	LEVEL_NONE
#define VIEW	LEVEL_VIEW
#define READ	LEVEL_READ
#define WRITE	LEVEL_WRITE

static const enum level LEVELS[] = { NONE, VIEW, READ, WRITE };

static const char *need_name(enum need n)
{
	switch (n) {
	case NEED_HANDLE:
		return "NEED_HANDLE";
	case NEED_VISIBLE:
		return "NEED_VISIBLE";
	case NEED_READ:
		return "NEED_READ";
	case NEED_WRITE:
		return "NEED_WRITE";
	}
	return "?";
}

/* authz_node: none is ENOENT for every need; a name gone is ENOENT but
 * through an open file; below the need, EACCES. */
static const struct {
	enum need need;
	int want[2][4];		/* [gone][level] */
} node_cases[] = {
	{ NEED_HANDLE, { { ENOENT, 0, 0, 0 }, { ENOENT, 0, 0, 0 } } },
	{ NEED_VISIBLE, { { ENOENT, 0, 0, 0 }, { ENOENT, ENOENT, ENOENT, ENOENT } } },
	{ NEED_READ, { { ENOENT, EACCES, 0, 0 }, { ENOENT, ENOENT, ENOENT, ENOENT } } },
	{ NEED_WRITE, { { ENOENT, EACCES, EACCES, 0 }, { ENOENT, ENOENT, ENOENT, ENOENT } } },
};

static void check_node(void)
{
	char desc[128];
	size_t i, g, l;

	for (i = 0; i < ARRAY_SIZE(node_cases); i++) {
		for (g = 0; g < 2; g++) {
			for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
				int want = node_cases[i].want[g][l];

				snprintf(desc, sizeof(desc), "authz_node(%s, %s, %s)",
					 need_name(node_cases[i].need), level_name(LEVELS[l]),
					 g ? "gone" : "there");
				tap_int(desc, want ? REFUSE(want) : 0,
					authz_node(node_cases[i].need, LEVELS[l], g));
			}
		}
	}
}

/* authz_mode: write keeps the bits, read drops the w bits, view shows a
 * directory 0555 and anything else no bits; the type always stays. */
static const struct {
	mode_t m;
	mode_t want[4];		/* [level] */
} mode_cases[] = {
	{ S_IFREG | 0644, { S_IFREG, S_IFREG, S_IFREG | 0444, S_IFREG | 0644 } },
	{ S_IFREG | 0755, { S_IFREG, S_IFREG, S_IFREG | 0555, S_IFREG | 0755 } },
	{ S_IFREG | 04775, { S_IFREG, S_IFREG, S_IFREG | 04555, S_IFREG | 04775 } },
	{ S_IFREG | 0222, { S_IFREG, S_IFREG, S_IFREG, S_IFREG | 0222 } },
	{ S_IFDIR | 0755, { S_IFDIR, S_IFDIR | 0555, S_IFDIR | 0555, S_IFDIR | 0755 } },
	{ S_IFDIR | 0700, { S_IFDIR, S_IFDIR | 0555, S_IFDIR | 0500, S_IFDIR | 0700 } },
	{ S_IFDIR | 01777, { S_IFDIR, S_IFDIR | 0555, S_IFDIR | 01555, S_IFDIR | 01777 } },
	{ S_IFLNK | 0777, { S_IFLNK, S_IFLNK, S_IFLNK | 0555, S_IFLNK | 0777 } },
	{ S_IFIFO | 0666, { S_IFIFO, S_IFIFO, S_IFIFO | 0444, S_IFIFO | 0666 } },
};

static void check_mode(void)
{
	char desc[128];
	size_t i, l;

	for (i = 0; i < ARRAY_SIZE(mode_cases); i++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			snprintf(desc, sizeof(desc), "authz_mode(0%o, %s) is 0%o",
				 (unsigned)mode_cases[i].m, level_name(LEVELS[l]),
				 (unsigned)mode_cases[i].want[l]);
			tap_int(desc, mode_cases[i].want[l],
				authz_mode(mode_cases[i].m, LEVELS[l]));
		}
	}
}

/* authz_access: R_OK at read (a directory: view), W_OK at write, X_OK as
 * R_OK and an x bit of the mode given (the mode as presented, so a
 * directory at view has 0555); F_OK is the gate's (ENOENT at none), this
 * says 0.  For any caller: the owner's bits never count. */
static const struct {
	mode_t m;
	int mask;
	int want[4];		/* [level] */
} access_cases[] = {
	{ S_IFREG | 0644, F_OK, { 0, 0, 0, 0 } },
	{ S_IFREG | 0644, R_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0000, R_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0644, W_OK, { EACCES, EACCES, EACCES, 0 } },
	{ S_IFREG | 0444, W_OK, { EACCES, EACCES, EACCES, 0 } },
	{ S_IFREG | 0644, X_OK, { EACCES, EACCES, EACCES, EACCES } },
	{ S_IFREG | 0755, X_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0100, X_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0001, X_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0755, R_OK | X_OK, { EACCES, EACCES, 0, 0 } },
	{ S_IFREG | 0755, R_OK | W_OK, { EACCES, EACCES, EACCES, 0 } },
	{ S_IFREG | 0755, R_OK | W_OK | X_OK, { EACCES, EACCES, EACCES, 0 } },
	{ S_IFREG | 0644, R_OK | W_OK | X_OK, { EACCES, EACCES, EACCES, EACCES } },
	{ S_IFDIR | 0555, R_OK, { EACCES, 0, 0, 0 } },
	{ S_IFDIR | 0555, X_OK, { EACCES, 0, 0, 0 } },
	{ S_IFDIR | 0555, R_OK | X_OK, { EACCES, 0, 0, 0 } },
	{ S_IFDIR | 0555, W_OK, { EACCES, EACCES, EACCES, 0 } },
	/* A directory is searched at view, whatever its x bits. */
	{ S_IFDIR | 0444, X_OK, { EACCES, 0, 0, 0 } },
	{ S_IFDIR | 0644, R_OK | X_OK, { EACCES, 0, 0, 0 } },
};

static void check_access(void)
{
	static const char *const masks[] = { "F_OK", "X_OK", "W_OK", "W_OK|X_OK", "R_OK",
					     "R_OK|X_OK", "R_OK|W_OK", "R_OK|W_OK|X_OK" };
	char desc[128];
	size_t i, l;

	for (i = 0; i < ARRAY_SIZE(access_cases); i++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			int want = access_cases[i].want[l];

			snprintf(desc, sizeof(desc), "authz_access(%s, 0%o, %s)",
				 level_name(LEVELS[l]), (unsigned)access_cases[i].m,
				 masks[access_cases[i].mask & 7]);
			tap_int(desc, want ? REFUSE(want) : 0,
				authz_access(LEVELS[l], access_cases[i].m, access_cases[i].mask));
		}
	}
}

/* authz_create and authz_rename_to: the new name at write, else EACCES,
 * hidden (none) or not, there or not, and before a name of the delta's
 * format (.wh.*: EINVAL); an existing name is EEXIST to create. */
static const struct {
	const char *name;
	bool exists;
	int create[4], rename[4];	/* [level] */
} create_cases[] = {
	{ "a", false, { EACCES, EACCES, EACCES, 0 }, { EACCES, EACCES, EACCES, 0 } },
	{ "a", true, { EACCES, EACCES, EACCES, EEXIST }, { EACCES, EACCES, EACCES, 0 } },
	{ ".wh.a", false, { EACCES, EACCES, EACCES, EINVAL }, { EACCES, EACCES, EACCES, EINVAL } },
	{ ".wh.a", true, { EACCES, EACCES, EACCES, EINVAL }, { EACCES, EACCES, EACCES, EINVAL } },
	{ ".wh..wh..opq", false, { EACCES, EACCES, EACCES, EINVAL },
	  { EACCES, EACCES, EACCES, EINVAL } },
	{ ".wh.", false, { EACCES, EACCES, EACCES, EINVAL }, { EACCES, EACCES, EACCES, EINVAL } },
	{ ".wh", false, { EACCES, EACCES, EACCES, 0 }, { EACCES, EACCES, EACCES, 0 } },
	{ ".WH.a", false, { EACCES, EACCES, EACCES, 0 }, { EACCES, EACCES, EACCES, 0 } },
	{ "a.wh.b", false, { EACCES, EACCES, EACCES, 0 }, { EACCES, EACCES, EACCES, 0 } },
};

static void check_create(void)
{
	char desc[128];
	size_t i, l;

	for (i = 0; i < ARRAY_SIZE(create_cases); i++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			int want = create_cases[i].create[l];

			snprintf(desc, sizeof(desc), "authz_create(%s, \"%s\", %s)",
				 level_name(LEVELS[l]), create_cases[i].name,
				 create_cases[i].exists ? "exists" : "absent");
			tap_int(desc, want ? REFUSE(want) : 0,
				authz_create(LEVELS[l], create_cases[i].name, create_cases[i].exists));
			if (create_cases[i].exists)
				continue;	/* rename_to does not ask */
			want = create_cases[i].rename[l];
			snprintf(desc, sizeof(desc), "authz_rename_to(%s, \"%s\")",
				 level_name(LEVELS[l]), create_cases[i].name);
			tap_int(desc, want ? REFUSE(want) : 0,
				authz_rename_to(LEVELS[l], create_cases[i].name));
		}
	}
}

/* authz_mknod: a character or block device never (EPERM); anything else
 * is the new name's level to decide (0 here). */
static void check_mknod(void)
{
	static const struct {
		mode_t mode;
		const char *what;
		int want;
	} cases[] = {
		{ S_IFCHR | 0666, "a character device", EPERM },
		{ S_IFBLK | 0660, "a block device", EPERM },
		{ S_IFCHR, "a character device, no bits", EPERM },
		{ S_IFIFO | 0644, "a FIFO", 0 },
		{ S_IFSOCK | 0755, "a socket", 0 },
		{ S_IFREG | 0644, "a regular file", 0 },
		{ 0644, "no type (a regular file)", 0 },
	};
	char desc[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(desc, sizeof(desc), "authz_mknod(0%o): %s", (unsigned)cases[i].mode,
			 cases[i].what);
		tap_int(desc, cases[i].want ? REFUSE(cases[i].want) : 0,
			authz_mknod(cases[i].mode));
	}
}

/* authz_remove: missing or hidden is ENOENT (*hidden says which), below
 * write EACCES. */
static void check_remove(void)
{
	static const int want[2][4] = {	/* [exists][level] */
		{ ENOENT, ENOENT, ENOENT, ENOENT },
		{ ENOENT, EACCES, EACCES, 0 },
	};
	char desc[128];
	size_t e, l;

	for (e = 0; e < 2; e++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			bool hidden = !(e && LEVELS[l] == NONE);	/* the opposite of the answer */
			int r = authz_remove(LEVELS[l], e, &hidden);

			snprintf(desc, sizeof(desc), "authz_remove(%s, %s)", level_name(LEVELS[l]),
				 e ? "exists" : "absent");
			tap_int(desc, want[e][l] ? REFUSE(want[e][l]) : 0, r);
			snprintf(desc, sizeof(desc), "authz_remove(%s, %s): hidden is %s",
				 level_name(LEVELS[l]), e ? "exists" : "absent",
				 e && LEVELS[l] == NONE ? "true" : "false");
			tap_int(desc, e && LEVELS[l] == NONE, hidden);
		}
	}
}

/* authz_link: the existing entry at write, else EACCES; a directory is
 * EPERM (after the level). */
static void check_link(void)
{
	static const int want[2][4] = {	/* [is_dir][level] */
		{ EACCES, EACCES, EACCES, 0 },
		{ EACCES, EACCES, EACCES, EPERM },
	};
	char desc[128];
	size_t d, l;

	for (d = 0; d < 2; d++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			snprintf(desc, sizeof(desc), "authz_link(%s, %s)", level_name(LEVELS[l]),
				 d ? "a directory" : "a file");
			tap_int(desc, want[d][l] ? REFUSE(want[d][l]) : 0,
				authz_link(LEVELS[l], d));
		}
	}
}

/* Extended attributes: only user.* passes (EOPNOTSUPP at any level), the
 * delta's user.afs.* is absent to get (ENODATA) and EPERM to set, and a
 * value needs read (EACCES); a list is empty (-1) below read. */
static void check_xattr(void)
{
	static const struct {
		const char *name;
		int get[4];	/* [level] */
		int set;
	} cases[] = {
		{ "user.x", { EACCES, EACCES, 0, 0 }, 0 },
		{ "user.", { EACCES, EACCES, 0, 0 }, 0 },
		{ "user.afsx", { EACCES, EACCES, 0, 0 }, 0 },
		{ "user.afs.origin", { ENODATA, ENODATA, ENODATA, ENODATA }, EPERM },
		{ "user.afs.", { ENODATA, ENODATA, ENODATA, ENODATA }, EPERM },
		{ "security.selinux", { EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP },
		  EOPNOTSUPP },
		{ "system.posix_acl_access", { EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP },
		  EOPNOTSUPP },
		{ "trusted.x", { EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP }, EOPNOTSUPP },
		{ "user", { EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP }, EOPNOTSUPP },
		{ "USER.x", { EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP, EOPNOTSUPP }, EOPNOTSUPP },
	};
	static const int list[4] = { -1, -1, 0, 0 };
	char desc[128];
	size_t i, l;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
			int want = cases[i].get[l];

			snprintf(desc, sizeof(desc), "authz_xattr_get(%s, \"%s\")",
				 level_name(LEVELS[l]), cases[i].name);
			tap_int(desc, want ? REFUSE(want) : 0,
				authz_xattr_get(LEVELS[l], cases[i].name));
		}
		snprintf(desc, sizeof(desc), "authz_xattr_set(\"%s\")", cases[i].name);
		tap_int(desc, cases[i].set ? REFUSE(cases[i].set) : 0,
			authz_xattr_set(cases[i].name));
	}
	for (l = 0; l < ARRAY_SIZE(LEVELS); l++) {
		snprintf(desc, sizeof(desc), "authz_xattr_list(%s)", level_name(LEVELS[l]));
		tap_int(desc, list[l], authz_xattr_list(LEVELS[l]));
	}
}

int main(int argc, char **argv)
{
	check_page(argc > 1 ? argv[1] : "man/afs-fuse.1");
	check_node();
	check_mode();
	check_access();
	check_create();
	check_mknod();
	check_remove();
	check_link();
	check_xattr();
	return tap_done();
}
