/* path.c - cleaning of paths inside the mount. */
#include <errno.h>
#include <string.h>

#include "path.h"

int path_clean(const char *in, char *out, size_t outsz)
{
	size_t n = 1;

	if (outsz < 2)
		return -ENAMETOOLONG;
	out[0] = '/';
	while (*in) {
		const char *c;
		size_t len;

		while (*in == '/')
			in++;
		c = in;
		while (*in && *in != '/')
			in++;
		len = (size_t)(in - c);
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;
			continue;
		}
		if (n + (n > 1) + len + 1 > outsz)
			return -ENAMETOOLONG;
		if (n > 1)
			out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
	}
	out[n] = '\0';
	return (int)n;
}
