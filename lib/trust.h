/* trust.h - paths a user hands afs to write into, checked before use.
 *
 * A delta or an audit log that another local user made or can change
 * would let that user feed the sandbox files, read what it writes, edit a
 * delta between review and commit, or (through a symbolic link) have root
 * write where it points.  So, for every program (SECURITY.md 1):
 *   - the last component is never followed as a symbolic link;
 *   - the checks are made on the open file (fstat), and that file is the
 *     one used: nothing can be swapped in between;
 *   - a directory must be one, owned by the caller or root, and writable
 *     by neither group nor others; one that is missing is made 0700;
 *   - a file must be a regular file owned by the caller and not writable
 *     by others; one that is missing is made 0600.
 * The functions return an fd, or -1 with a message in WHY (what is wrong
 * with the path, for "CONTEXT 'PATH': WHY").
 */
#ifndef AFS_TRUST_H
#define AFS_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#define TRUST_WHY_MAX 160

/* The directory PATH (made 0700 when missing and MAKE), as an O_PATH
 * directory fd. */
int trust_dir(const char *path, bool make, char why[TRUST_WHY_MAX]);

/* The file PATH opened O_WRONLY|O_APPEND (made 0600 when missing). */
int trust_append(const char *path, char why[TRUST_WHY_MAX]);

/* "/proc/self/fd/FD": the checked object, for an API that takes a path. */
#define TRUST_FD_PATH_MAX 32
void trust_fd_path(int fd, char buf[TRUST_FD_PATH_MAX]);

#endif
