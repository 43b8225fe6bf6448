/* diff.h - afs-audit diff. */
#ifndef AFS_AUDIT_DIFF_H
#define AFS_AUDIT_DIFF_H

enum diff_mode {
	DIFF_NAME_STATUS,	/* A|M|D|T|C<TAB>/path (the default) */
	DIFF_STAT,		/* lines added and removed per path */
	DIFF_UNIFIED,		/* diff -u of each changed file */
	DIFF_JSON,		/* one JSON object per changed path */
};

/* Print what DELTA changes in SOURCE; returns the exit status. */
int diff_run(enum diff_mode mode, const char *source, const char *delta);

#endif
