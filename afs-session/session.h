/* session.h - what the afs-session modules share.
 *
 * A session is a directory STATE/NAME (mode 0700) holding:
 *   info     key=value lines: pid, started, mount, shell, audit, state
 *            (running or dead) and, when dead, status
 *   ctl      a FIFO the supervisor reads; one request per line, each
 *            shorter than PIPE_BUF so that concurrent clients' lines never
 *            mix: "run ID TIMEOUT_MS", "attach ID ROWS COLS",
 *            "winch ID ROWS COLS", "stop"
 *   clients/ one directory per client request: cmd (the shell string),
 *            reply (a FIFO: framed output, then the status), or for attach
 *            in and out (FIFOs: raw bytes)
 *   io/      bound at /run/afs-session in the sandbox: per request
 *            rN.cmd, rN.out, rN.err, and the FIFO done, on which the
 *            shell writes "rN STATUS" after each request
 */
#ifndef AFS_SESSION_H
#define AFS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SESSION_NAME_MAX 64
/* Lines on ctl stay below PIPE_BUF (4096): written whole, read whole. */
#define CTL_LINE_MAX 256
/* The reply stream: a type byte, a 4-byte little-endian length, data. */
#define FRAME_OUT 'o'
#define FRAME_ERR 'e'
#define FRAME_STATUS 's'
#define FRAME_MAX 65536
#define DETACH_KEY 0x1d		/* Ctrl-] */

enum {
	EXIT_TIMEOUT_STATUS = 124,	/* exec: the timeout struck */
	EXIT_SESSION = 125,		/* exec: the session cannot answer */
};

struct session_info {
	pid_t pid;
	char started[64];
	char mount[4096];
	char shell[256];
	char audit[4096];
	char state[16];		/* running, dead */
	int status;		/* when dead */
};

/* state.c */
char *state_root(void);		/* made if missing, checked private */
int state_check_name(const char *name);
char *session_dir(const char *root, const char *name);
int info_read(const char *dir, struct session_info *inf);
int info_write(const char *dir, const struct session_info *inf);
bool supervisor_alive(const struct session_info *inf);
void rfc3339_now(char *buf, size_t size);

/* supervisor.c */
struct start_opts {
	const char *name;
	const char *shell;
	char **launch_argv;	/* afs-launch's options, passed on */
	int launch_argc;
	const char *audit;	/* from those options */
	const char *mount;	/* -s or -m, for list */
	uid_t sandbox_uid;
	bool docker;
	bool no_seccomp;	/* --seccomp off: said in every exec record */
	const char *cwd;	/* the caller's: afs-launch runs there */
};
int supervisor_start(const char *root, const struct start_opts *o);

/* client.c */
int client_exec(const char *root, const char *name, const char *cmd, int64_t timeout_ms,
		bool json);
int client_attach(const char *root, const char *name, bool raw);
int client_stop(const char *root, const char *name);
int client_list(const char *root, bool json);

/* termfilter.c: the sandbox's output, for the person's terminal.  The
 * longest sequence held: a CSI that a shell or an editor sends is some
 * tens of bytes (SGR with two 24-bit colours is 35). */
#define TERM_SEQ_MAX 64
struct term_filter {
	int state;
	bool utf8;		/* the terminal decodes UTF-8 */
	int cont;		/* continuation bytes still due */
	size_t len;
	char seq[TERM_SEQ_MAX];
};
size_t term_filter(struct term_filter *f, const char *in, size_t n, char *out);

#endif
