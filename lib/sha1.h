/* sha1.h - SHA-1 (FIPS 180-4), for git's object names: afs-fuse records
 * the git blob name of a file's content as its base (lib/base.h), so that
 * a base is found again in SOURCE's repository.  Change detection and
 * naming only, never a security check: SHA-1's collisions are made, not
 * met by chance.
 */
#ifndef AFS_SHA1_H
#define AFS_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

struct sha1 {
	uint32_t h[5];
	uint64_t len;		/* bytes fed */
	unsigned char buf[64];
};

void sha1_init(struct sha1 *s);
void sha1_update(struct sha1 *s, const void *data, size_t n);
void sha1_final(struct sha1 *s, unsigned char out[SHA1_LEN]);

#endif
