/* glob.h - the policy's path globs: *, ?, [...], \ escapes, ** components.
 *
 * A glob is anchored at the root of the mount and matched against a cleaned
 * /-rooted path.  '*' and '?' match within one component (any byte but '/',
 * a leading '.' included); a whole component "**" matches zero or more
 * components.  Matching takes O(pattern components x path components)
 * component comparisons, never exponential time.
 */
#ifndef AFS_GLOB_H
#define AFS_GLOB_H

#include <stdbool.h>
#include <stddef.h>

struct glob;

/* Compile PATTERN.  On error returns -1 and sets *err to a static message. */
int glob_compile(const char *pattern, struct glob **out, const char **err);
void glob_free(struct glob *g);

bool glob_match(const struct glob *g, const char *path, size_t len);

/* The pattern cleaned and /-rooted (escapes kept). */
const char *glob_text(const struct glob *g);
/* The literal characters before the first wildcard, unescaped. */
const char *glob_prefix(const struct glob *g, size_t *len);
/* True when the glob has no wildcard: it matches exactly glob_prefix(). */
bool glob_is_literal(const struct glob *g);
/* The last component's literal head and tail (before the first and after
 * the last wildcard), for cheap rejection; NULL/0 when the last component
 * is "**". */
bool glob_last(const struct glob *g, const char **head, size_t *hlen,
	       const char **tail, size_t *tlen, bool *literal);

#endif
