/* path.h - paths inside the mount. */
#ifndef AFS_PATH_H
#define AFS_PATH_H

#include <stddef.h>

/* Clean IN into OUT: /-rooted, without empty, "." and ".." components or a
 * trailing '/'; ".." at the root stays at the root.  Returns the length of
 * OUT, or -ENAMETOOLONG when it does not fit in OUTSZ bytes with its NUL. */
int path_clean(const char *in, char *out, size_t outsz);

#endif
