/* launch.h - what the afs-launch modules share.
 *
 * Calls run one way, each file only to those on a line below it:
 *
 *   main.c
 *   run.c                    the wait: output, signals, timeout, outcome
 *   bwrap.c | docker.c       the runtimes, behind struct runtime_ops
 *   workspace.c  net.c  cgroup.c  etc.c  seccomp.c
 *   guard.c                  what must not outlive afs-launch
 *   sys.c  stdio.c           process, time, mount and stdio helpers
 *
 * (doctor.c and shim.c are main's other personalities; they call into
 * guard.c, cgroup.c and sys.c.)
 */
#ifndef AFS_LAUNCH_H
#define AFS_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "result.h"

/* Exit statuses of afs-launch(1) EXIT STATUS (and timeout(1), env(1)). */
enum {
	EXIT_TIMEOUT = 124,
	EXIT_LAUNCH = 125,	/* afs-launch itself failed */
	EXIT_NOEXEC = 126,
	EXIT_NOTFOUND = 127,
};

struct runtime_ops;

/* 0 means "no limit". */
struct limits {
	int64_t memory;		/* bytes */
	long pids;
	long millicpus;		/* --cpus X, in thousandths */
	long cpu_time;		/* seconds */
	long nofile;
	int64_t fsize;		/* bytes */
};

struct launch {
	const char *mount_dir;	/* -m */
	const char *source;	/* -s */
	const char *policy, *delta, *audit, *name;
	int audit_fd;		/* -a, opened at the start (lib/trust.h) */
	const char *delta_quota;	/* passed to afs-fuse as given */
	const char *workdir;	/* absolute, inside the sandbox */
	const struct runtime_ops *rt;	/* --runtime */
	const char *image;
	struct limits lim;
	int64_t timeout_ms;	/* 0: none */
	int64_t kill_after_ms;
	bool json, net;
	/* The network allowlist (net.c, afs-launch(1) NETWORK). */
	const char **allow;	/* --allow-host, as given (checked) */
	size_t nallow;
	const char *net_max_conn, *net_max_bytes;	/* for afs-proxy, as given */
	bool allowlist;		/* network mode: through afs-proxy */
	int relay_fd;		/* network mode: the sandbox's end of the relay's
				 * socket pair, until the sandbox has it; or -1 */
	size_t max_output;
	char **envp;		/* the sandbox's whole environment */
	uid_t uid;		/* the sandbox's uid and gid */
	gid_t gid;
	char **argv;		/* the command */
	const char *session;	/* $AFS_SESSION, for the exec record */
	const char *session_dir; /* --session-dir: bound at /run/afs-session */
	bool tty;		/* --tty: keep the controlling terminal */
	bool no_seccomp;	/* --seccomp off */
	bool pipe_in, pipe_out, pipe_err;	/* stdio through afs-launch (run.c) */
	const char **etc;	/* --etc: more of the host's /etc (etc.c) */
	size_t netc;
};

/* How the command ended. */
struct outcome {
	bool reported;		/* we know how the command itself ended */
	int exit_code;		/* when reported and !signal */
	int signal;		/* killed by this signal, or 0 */
	int exec_errno;		/* the command could not be executed */
	bool timed_out;
	int interrupted;	/* the signal that afs-launch received, or 0 */
	const char *limit;	/* memory, pids, cpu-time, fsize, nofile, or NULL */
	int64_t duration_ms;
};

/* The directory bound at /workspace and what we made for it. */
struct workspace {
	char *dir;
	char *tmpdir;		/* our private temp dir, or NULL */
	char *mnt;		/* our mountpoint in it, or NULL */
	char *session;		/* where --session-dir is staged, or NULL */
	pid_t fuse_pid;		/* the afs-fuse we started, or 0 */
};

/* A running sandbox, whatever the runtime. */
struct sandbox {
	pid_t pid;		/* the runtime's first process (bwrap, a client) */
	pid_t inner;		/* bwrap: pid 1 of the sandbox, once known */
	bool ready;		/* ... and once it catches signals */
	int pending;		/* a signal held back until then */
	int info_fd;		/* bwrap --info-fd, read end, or -1 */
	int status_fd;		/* the shim's report, read end, or -1 */
	char info[1024], status[128];	/* what run.c read of them */
	size_t ilen, slen;
	int out_fd, err_fd;	/* the command's stdout and stderr, when piped */
	int in_fd;		/* its stdin, when afs-launch feeds it, or -1 */
	char *name;		/* the runtime's object (a container), or NULL */
	struct cgroup *cg;	/* the run's cgroup (bwrap), or NULL */
};

/* A runtime: how a sandbox is made, told, read and removed.  main.c
 * picks one by --runtime from its table; past that, main.c and run.c
 * reach it only through these, so that a runtime is one file (bwrap.c,
 * docker.c) and a line in that table.  Each function MUST:
 *
 *   prepare   before the workspace exists: make what the sandbox needs
 *             and register with the guardian (guard.c) whatever must be
 *             removed should afs-launch be killed; dies (EXIT_LAUNCH)
 *             on failure.
 *   start     fork the sandbox's first process, running L->argv over
 *             WS->dir at /workspace; fill SB (pid, the stdio fds through
 *             stdio_parent, its report fds or -1).  0, or -1 said.
 *   signal    pass SIG on to everything in the sandbox, now or as soon
 *             as it can be caught; SIGKILL must end it all.
 *   reported  run.c read more of SB's report fds into SB->info or
 *             SB->status: act on it (it may come in pieces).
 *   finish    SB->pid is reaped (KILLED: afs-launch sent SIGKILL): set
 *             OC->reported and how the command ended, and OC->limit
 *             when the runtime knows a limit was hit (run.c drops it
 *             for a success); leave OC->reported false when the
 *             command never ran.
 *   remove    at the end, whatever happened: remove what prepare made
 *             (nothing the guardian would then find).
 */
struct runtime_ops {
	const char *name;	/* as given to --runtime, and in messages */
	bool image;		/* runs --image IMAGE, which it needs */
	int64_t min_memory;	/* the least --memory it takes, in bytes (whole
				 * MiB, as its message says it), or 0 */
	bool bind_by_daemon;	/* the mount is bound by a daemon of another
				 * uid: afs-fuse must admit the sandbox's */
	bool stage_session;	/* root's sandbox uid cannot reach
				 * --session-dir: workspace.c stages it */
	bool relay;		/* its pid 1 is our shim, which can run the
				 * relay of the network allowlist (net.c) */
	void (*prepare)(const struct launch *L, struct sandbox *sb);
	int (*start)(const struct launch *L, const struct workspace *ws, struct sandbox *sb);
	void (*signal)(struct sandbox *sb, int sig);
	void (*reported)(struct sandbox *sb);
	void (*finish)(struct sandbox *sb, bool killed, struct outcome *oc);
	void (*remove)(struct sandbox *sb);
};

extern const struct runtime_ops bwrap_runtime, docker_runtime;

/* cgroup.c */
struct cgroup;
int cgroup_new(const struct limits *lim, struct cgroup **out, const char **why);
int cgroup_enter(const struct cgroup *cg);
const char *cgroup_limit_hit(const struct cgroup *cg);
bool cgroup_has(const struct cgroup *cg, const char *controller);
void cgroup_free(struct cgroup *cg);

/* seccomp.c: the filter of a bwrap sandbox, as an fd for bwrap --seccomp;
 * dies (125) when it cannot be built. */
int seccomp_filter_fd(void);

/* run.c */
int run_wait(const struct launch *L, struct sandbox *sb, int sigfd, struct outcome *oc,
	     struct capture *out, struct capture *err);
void run_close_sandbox(struct sandbox *sb);

/* sys.c */
struct argv_buf {
	char **v;
	size_t n, cap;
};
void argv_add(struct argv_buf *a, const char *s);
enum { READY_OK = 0, READY_EOF = -1, READY_LATE = -2, READY_ERROR = -3 };
int await_ready(int fd, int sigfd, int64_t deadline);
int run_quiet(const char *const argv[], char *out, size_t size);
void child_setup(bool own_pgrp);
void sleep_ms(long ms);
bool is_mountpoint(const char *dir, const char *parent);
void force_unmount(const char *mnt);
int rmdir_patiently(const char *dir);

/* stdio.c: the command's stdio.  Decide once from the options and our
 * fds 0, 1, 2; make the pipes before the fork; in the child, put them in
 * place; in the parent, keep our ends in the sandbox. */
struct stdio_pipes {
	int in[2], out[2], err[2];
};
void stdio_decide(struct launch *L);
int stdio_make(const struct launch *L, struct stdio_pipes *p);
void stdio_child(const struct stdio_pipes *p);
void stdio_parent(struct stdio_pipes *p, struct sandbox *sb);

/* etc.c: the host's /etc in a bwrap sandbox.  etc_check dies (125) for
 * an --etc name that is refused or missing. */
void etc_check(const char *name);
void etc_bind(struct argv_buf *a, const struct launch *L);

/* workspace.c */
int workspace_open(const struct launch *L, struct workspace *ws);
int workspace_mount(const struct launch *L, struct workspace *ws, int sigfd);
int workspace_close(struct workspace *ws);
void workspace_free(struct workspace *ws);

/* How long afs-fuse may take to unmount and exit. */
#define UNMOUNT_TIMEOUT_MS 10000

/* net.c: the network allowlist.  net_check_spec and net_decide die (125)
 * at a usage error; net_start is 0 once afs-proxy serves, -1 (said), or
 * the number of a signal that asked afs-launch to stop; net_stop is 0, or
 * -1 when afs-proxy failed (said). */
#define RELAY_PORT 3128		/* where the sandbox's relay listens */
void net_check_spec(const char *spec);
void net_decide(struct launch *L);
int net_start(struct launch *L, int sigfd);
void net_handed(struct launch *L);
int net_stop(struct launch *L);

/* guard.c: what must not outlive afs-launch, made through its guardian.
 * Each dies (EXIT_LAUNCH) when the guardian cannot be started or is gone;
 * guard_mkdir, guard_mkcgroup and guard_mkdtemp fail as mkdir(2) does;
 * guard_undo gives the command that removes what a runtime will make. */
void guard_start(void);
int guard_mkdir(const char *path, mode_t mode);
int guard_mkcgroup(const char *path);
int guard_mkdtemp(char *template);
void guard_undo(const char *const argv[]);
void guard_process_group(void);
void guard_process(void);
void guard_forget_group(void);
void guard_release(void);

/* doctor.c */
int doctor_main(void);

/* shim.c: the program's second personality, pid 1 of a bwrap sandbox. */
#define SHIM_ARG "--afs-shim"
int shim_main(int argc, char **argv);

#endif
