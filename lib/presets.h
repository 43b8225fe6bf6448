/* presets.h - where preset policies are found. */
#ifndef AFS_PRESETS_H
#define AFS_PRESETS_H

/* $AFS_POLICY_DIR, then the installed presets, then policies/ beside the
 * directory of the running program: a NULL-terminated list that lives as
 * long as the program. */
const char *const *preset_dirs(void);

#endif
