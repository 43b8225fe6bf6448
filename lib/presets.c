/* presets.c - the preset search path (afs-policy(5) PRESETS). */
#include <stdlib.h>

#include "presets.h"
#include "util.h"

#ifndef AFS_DATADIR
#define AFS_DATADIR "/usr/local/share/afs"
#endif

const char *const *preset_dirs(void)
{
	static const char *dirs[5];
	static int done;
	int n = 0;
	const char *env;
	char *exe;

	if (done)
		return dirs;
	env = getenv("AFS_POLICY_DIR");
	if (env && *env)
		dirs[n++] = env;
	dirs[n++] = AFS_DATADIR "/policies";
	exe = exe_dir();
	if (exe) {
		/* An installed tree moved elsewhere, then a build tree. */
		dirs[n++] = xasprintf("%s/../share/afs/policies", exe);
		dirs[n++] = xasprintf("%s/../policies", exe);
		free(exe);
	}
	dirs[n] = NULL;
	done = 1;
	return dirs;
}
