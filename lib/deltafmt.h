/* deltafmt.h - the names of the delta's format, shared by afs-fuse (which
 * writes the delta) and afs-audit (which reads it): the OCI image-layer
 * format, with afs's own temporary names and extended attributes.
 * doc/contracts.md "The delta on disk" says what each means.
 */
#ifndef AFS_DELTAFMT_H
#define AFS_DELTAFMT_H

/* A deleted name N is an empty file .wh.N in the upper layer; a directory
 * whose lower content is gone holds .wh..wh..opq.  Every name beginning
 * ".wh." belongs to the format: never shown, never made through the mount. */
#define DELTA_WH_PREFIX ".wh."
#define DELTA_OPAQUE ".wh..wh..opq"
/* What a copy-up or a commit writes before it renames it into place:
 * .wh..afs-tmp.PID.N.NAME, a whiteout of a name nobody else uses. */
#define DELTA_TMP_PREFIX DELTA_WH_PREFIX ".afs-tmp."
/* Extended attributes of afs's own on files of the delta, never shown
 * through the mount nor committed.  DELTA_ORIGIN ("DEV:INO") is set by a
 * copy-up on the copy of a lower file that had one name: the copy (and
 * every hard link later made to it) shows that inode number, so that a
 * file keeps its st_ino when it is first written or linked. */
#define DELTA_XATTR_PREFIX "user.afs."
#define DELTA_ORIGIN "user.afs.origin"

/* afs's own files at the delta's root.  ".wh..wh." begins a whiteout
 * "meta" name: one of the layer format's, never a deleted file (AUFS keeps
 * .wh..wh.plnk there); OCI tools leave it out of what they unpack.
 *  - DELTA_BASE: the base journal, what SOURCE held at each path when the
 *    path first changed (doc/contracts.md "The base journal");
 *  - DELTA_HEAD: the git HEAD commit of SOURCE when the delta began, for
 *    afs-fuse --commit-git (one line: 40 or 64 hex digits). */
#define DELTA_META_PREFIX ".wh..wh..afs."
#define DELTA_BASE DELTA_META_PREFIX "base"
#define DELTA_HEAD DELTA_META_PREFIX "head"

#endif
