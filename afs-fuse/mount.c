/* mount.c - mount SOURCE at MOUNTPOINT and serve until unmounted.
 *
 * Signals: SIGTERM and SIGINT unmount and exit 0 (libfuse's handlers);
 * SIGHUP reloads the policy, keeping the old one when the new one is
 * broken; SIGUSR1 reopens the audit log.  Both are blocked in every thread
 * and taken by sigwait() in one thread of their own, so a reload never runs
 * inside a FUSE op.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "auditlog.h"
#include "delta.h"
#include "trust.h"
#include "fs.h"
#include "gitbranch.h"
#include "loop.h"
#include "mount.h"
#include "policy.h"
#include "presets.h"
#include "util.h"

/* Long: the kernel caches entries, attributes and negative entries; the
 * daemon invalidates them itself on reload. */
#define CACHE_TIMEOUT 86400.0

struct reloader {
	struct fs *fs;
	struct auditlog *audit;
	char *policy;
	sigset_t set;
	_Atomic bool stop;	/* set before the last SIGHUP, at shutdown */
};

static struct policy *load_policy(const char *spec)
{
	struct policy_opts popts = { .preset_dirs = preset_dirs() };
	struct policy *pol = NULL;
	struct diags d;

	diags_init(&d);
	policy_load(spec, &popts, &pol, &d);
	diags_print(stderr, &d);
	diags_free(&d);
	return pol;
}

static void *reload_thread(void *arg)
{
	struct reloader *r = arg;
	int sig;

	for (;;) {
		if (sigwait(&r->set, &sig) != 0)
			continue;
		if (r->stop)
			break;
		if (sig == SIGUSR1 && r->audit) {
			char why[TRUST_WHY_MAX];

			if (auditlog_reopen(r->audit, why) < 0)
				error("cannot reopen the audit log: %s; still writing the old one",
				      why);
			continue;
		}
		if (sig == SIGHUP) {
			struct policy *pol = load_policy(r->policy);

			if (!pol) {
				error("policy reload failed: keeping the old policy");
				continue;
			}
			fs_replace_policy(r->fs, pol);
		}
	}
	return NULL;
}

/* S as the value of a -o option: libfuse splits on ',' unless escaped. */
static char *opt_escape(const char *s)
{
	char *out = xmalloc(2 * strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == ',' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* The child the parent of daemonize() hands its signals to. */
static volatile pid_t daemon_pid;

static void pass_on(int sig)
{
	int e = errno;

	kill(daemon_pid, sig);
	errno = e;
}

/* Into the background (without -f): a child goes on, in a session of its
 * own, in /, with /dev/null for stdio; the parent exits 0 once the child
 * is set up.  The signals afs-fuse takes are blocked in the parent too
 * until then; a signal that came before the fork, or while the parent
 * waited, or until it exits, is passed on to the child rather than lost
 * (a child does not inherit pending signals): the parent unblocks them
 * with a handler that passes each on, then exits.  Only one that comes
 * once the parent is exiting finds nobody. */
static int daemonize(void)
{
	static const int passed[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	int p[2], null;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		struct sigaction sa = { .sa_handler = pass_on, .sa_flags = SA_RESTART };
		sigset_t set;

		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		daemon_pid = pid;
		sigemptyset(&sa.sa_mask);
		sigemptyset(&set);
		for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
			sigaddset(&sa.sa_mask, passed[i]);
			sigaddset(&set, passed[i]);
		}
		for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
			sigaction(passed[i], &sa, NULL);
		/* The pending ones are passed on here, each in its handler. */
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		/* At once: a sanitizer's _exit runs a leak check of many
		 * milliseconds, during which a signal would still be passed
		 * on, but the caller would wait for nothing. */
		syscall(SYS_exit_group, 0);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") != 0)
		_exit(1);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	if (null > 2)
		close(null);
	close(p[1]);	/* the parent may go */
	return 0;
}

/* systemd's readiness protocol: one datagram to $NOTIFY_SOCKET. */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || !*path)
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		warning("NOTIFY_SOCKET is too long; not notifying");
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		warning("cannot notify '%s': %m", path);
	if (fd >= 0)
		close(fd);
}

/* PATH made absolute: afs-fuse runs in "/" once mounted, and unmounts,
 * reopens the audit log and removes a private delta from there. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], real[PATH_MAX];

	if (realpath(path, real))
		return xstrdup(real);
	if (path[0] == '/')
		return xstrdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		die(1, "cannot find the current directory: %m");
	return xasprintf("%s/%s", cwd, path);
}

/* The same, but the last component is kept as it is, never resolved: a
 * path that must not be a symbolic link (lib/trust.h) is checked as given. */
static char *absolute_keep_last(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *last = slash ? slash + 1 : path;
	char *dir, *abs;

	if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return absolute(path);
	dir = slash == path ? xstrdup("/") : slash ? xstrndup(path, (size_t)(slash - path))
						   : xstrdup(".");
	abs = absolute(dir);
	free(dir);
	dir = xasprintf("%s/%s", strcmp(abs, "/") == 0 ? "" : abs, last);
	free(abs);
	return dir;
}

/* Bytes of file data under DIR (st_blocks, so holes do not count): what a
 * reused delta already holds against --delta-quota. */
static int64_t usage_sum;

static int usage_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	/* As afs-fuse counts (ops.c, data_of): a sparse file counts its size,
	 * which a commit could write out. */
	if (S_ISREG(st->st_mode))
		usage_sum += (int64_t)st->st_blocks * 512 > st->st_size
				     ? (int64_t)st->st_blocks * 512 : (int64_t)st->st_size;
	return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) of S, in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The device ("MAJ:MIN", the name of its bdi) of the newest mount on MNT. */
static bool mount_bdi(const char *mnt, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, dev[32], *point;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	point = xmalloc(PATH_MAX * 4 + 1);
	while (getline(&line, &cap, f) > 0) {
		const char *sep = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %31s %*s %16384s", dev, point) != 2 || !sep)
			continue;
		/* A FUSE mount: an anonymous device (major 0), type fuse. */
		if (strncmp(dev, "0:", 2) != 0 || strncmp(sep + 3, "fuse", 4) != 0)
			continue;
		unescape_octal(point);
		if (strcmp(point, mnt) == 0 && strlen(dev) < size) {
			strcpy(out, dev);
			found = true;
		}
	}
	free(point);
	free(line);
	fclose(f);
	return found;
}

static int64_t delta_usage(const char *dir)
{
	usage_sum = 0;
	/* 64 fds at most: the walk is deep-first, one fd per level. */
	nftw(dir, usage_one, 64, FTW_PHYS | FTW_MOUNT);
	return usage_sum;
}

/* --max-open, within afs-fuse's fd limit (raised to its hard limit, as a
 * server that holds its clients' files does): every open file of the
 * mount holds an fd of afs-fuse's, and FD_RESERVE more keep it serving.
 * The default shrinks to fit a low limit; a given N must fit. */
static unsigned open_limit(const struct mount_opts *o)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die(1, "getrlimit: %m");
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0)
			die(1, "cannot raise the limit of open files: %m");
	}
	room = rl.rlim_cur > 2 * FD_RESERVE ? rl.rlim_cur - FD_RESERVE : FD_RESERVE;
	if (!o->max_open)
		return room < MAX_OPEN_DEFAULT ? (unsigned)room : MAX_OPEN_DEFAULT;
	if (o->max_open > room)
		die(2, "--max-open %u does not fit in afs-fuse's limit of %llu open files "
		    "(%d kept for itself; see afs-fuse(1) LIMITS)", o->max_open,
		    (unsigned long long)rl.rlim_cur, FD_RESERVE);
	return o->max_open;
}

int mount_run(const struct mount_opts *in)
{
	struct mount_opts abs = *in, *o = &abs;
	struct stat lst;

	/* A link put where the mount should go would have root mount over
	 * what it points to (/etc): never followed. */
	if (lstat(in->mountpoint, &lst) == 0 && S_ISLNK(lst.st_mode))
		die(2, "cannot mount on '%s': a symbolic link (never followed here)", in->mountpoint);

	char *a_src = absolute(in->source), *a_mnt = absolute(in->mountpoint);
	char *a_delta = in->delta ? absolute_keep_last(in->delta) : NULL;
	char *a_audit = in->audit ? absolute_keep_last(in->audit) : NULL;

	abs.source = a_src;
	abs.mountpoint = a_mnt;
	abs.delta = a_delta;
	abs.audit = a_audit;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct backing *b = NULL;
	struct policy *pol;
	struct fs *fs = NULL;
	struct fuse_session *se = NULL;
	struct reloader rl = { 0 };
	struct stat st;
	pthread_t tid;
	char real[PATH_MAX], mnt_real[PATH_MAX], bdi[32];
	char *opts, *src, *upper = NULL, *upper_open = NULL, *private = NULL;
	struct estate es;
	sigset_t pending;
	int r, status = 1, delta_fd = -1;
	unsigned max_open;
	bool reloader = false;

	if (stat(o->source, &st) < 0)
		die(1, "cannot open source '%s': %m", o->source);
	if (!S_ISDIR(st.st_mode))
		die(1, "cannot open source '%s': not a directory", o->source);
	if (stat(o->mountpoint, &st) < 0)
		die(1, "cannot mount on '%s': %m", o->mountpoint);
	if (!S_ISDIR(st.st_mode))
		die(1, "cannot mount on '%s': not a directory", o->mountpoint);
	max_open = open_limit(o);

	/* Before anything is made that an exit must undo (a private delta,
	 * the mount), and before any thread starts: every thread inherits
	 * the mask.  Only the reload thread takes SIGHUP and SIGUSR1.
	 * SIGINT and SIGTERM are blocked in every thread and taken by
	 * loop_run() alone (a thread of the audit writer or of the reload
	 * would take them where the loop cannot see); one that comes during
	 * the start waits for it, so a private delta is never left behind. */
	sigemptyset(&rl.set);
	sigaddset(&rl.set, SIGHUP);
	sigaddset(&rl.set, SIGUSR1);
	{
		sigset_t blocked = rl.set;

		sigaddset(&blocked, SIGINT);
		sigaddset(&blocked, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	}

	/* The upper layer: SOURCE itself, the given delta, or a private one. */
	if (o->writethrough) {
		upper = xstrdup(o->source);
	} else if (o->delta) {
		char why[TRUST_WHY_MAX], fdpath[TRUST_FD_PATH_MAX];

		/* Another user's directory, or a link to one, is never the
		 * delta: its owner would feed the sandbox and edit the delta
		 * between review and commit (lib/trust.h). */
		delta_fd = trust_dir(o->delta, true, why);
		if (delta_fd < 0)
			die(2, "cannot use delta '%s': %s", o->delta, why);
		trust_fd_path(delta_fd, fdpath);
		upper = xstrdup(o->delta);
		upper_open = xstrdup(fdpath);
	} else {
		const char *tmp = getenv("TMPDIR");
		char *dir = absolute(tmp && *tmp ? tmp : "/tmp");

		private = xasprintf("%s/afs-delta.XXXXXX", dir);
		free(dir);
		if (!mkdtemp(private))
			die(1, "cannot make a private delta '%s': %m", private);
		upper = xstrdup(private);
	}
	r = backing_open(upper_open ? upper_open : upper, o->writethrough ? NULL : o->source, &b);
	free(upper_open);
	if (delta_fd >= 0)
		close(delta_fd);	/* backing_open has the directory itself */
	if (r == -ENOSYS) {
		error("the kernel lacks openat2 (Linux 5.6 or later): refusing to run without it");
		goto out_layers;
	}
	if (r < 0) {
		error("cannot open '%s': %s", upper, strerror(-r));
		goto out_layers;
	}
	if (delta_root(b, &es, &st) < 0 || !S_ISDIR(st.st_mode)) {
		error("cannot use '%s' as a delta: not a directory", upper);
		goto out_layers;
	}
	if (o->delta)	/* a private delta is gone at unmount: no HEAD for it */
		gitbranch_record_head(b, o->source);
	/* What SOURCE held where the delta changes it: doc/contracts.md. */
	if (!o->writethrough && (r = backing_journal_open(b)) < 0) {
		error("cannot use the base journal of the delta '%s': %s", upper, strerror(-r));
		goto out_layers;
	}

	/* A policy file is read again on SIGHUP, after a chdir("/"). */
	rl.policy = !policy_is_preset_name(o->policy) && realpath(o->policy, real)
		    ? xstrdup(real) : xstrdup(o->policy);
	pol = load_policy(o->policy);
	if (!pol) {
		status = 2;
		goto out_layers;
	}
	/* The kernel applied the caller's umask to every mode it sends:
	 * afs-fuse must not apply its own on top. */
	umask(0);
	if (o->audit) {
		char why[TRUST_WHY_MAX];

		if (auditlog_open(o->audit, (enum audit_level)o->audit_level, o->name,
				  o->session, o->audit_max_bytes, &rl.audit, why) < 0) {
			error("cannot use the audit log '%s': %s", o->audit, why);
			policy_free(pol);
			status = 2;
			goto out_layers;
		}
	}

	struct fs_config cfg = {
		.backing = b,
		.policy = pol,
		.owner = getuid(),
		.allow = o->allow,
		.nallow = o->nallow,
		.timeout = CACHE_TIMEOUT,
		.audit = rl.audit,
		.delta_quota = o->delta_quota,
		.delta_used = o->delta_quota ? delta_usage(upper) : 0,
		.max_open = max_open,
		.max_listed = (size_t)o->listing_memory,
	};
	fs = fs_new(&cfg);

	/* Without allow_other the kernel itself refuses every other uid,
	 * cached names and attributes included.  With --allow-uid it must
	 * let others in, and the gate admits only the owner, root and those
	 * uids -- for every request that reaches the daemon; see afs-fuse(1)
	 * for what the kernel answers from its cache. */
	/* The source field of the mount table is seen inside the sandbox
	 * (/proc/self/mountinfo): never SOURCE's host path. */
	src = o->name ? opt_escape(o->name) : NULL;
	opts = xasprintf("fsname=afs%s%s,subtype=afs%s%s%s", src ? ":" : "", src ? src : "",
			 o->nallow ? ",allow_other" : "",
			 o->fuse_opts ? "," : "", o->fuse_opts ? o->fuse_opts : "");
	if (fuse_opt_add_arg(&args, progname) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, opts))
		die(1, "out of memory");
	free(opts);
	free(src);


	se = fuse_session_new(&args, fs_ops(), sizeof(*fs_ops()), fs);
	if (!se) {
		error("cannot start the FUSE session (see the message above)");
		status = 2;
		goto out;
	}
	fs_set_session(fs, se);
	if (fuse_set_signal_handlers(se) != 0) {
		error("cannot install signal handlers");
		goto out_session;
	}
	/* Canonical before the mount: afterwards it would ask this very mount. */
	if (!realpath(o->mountpoint, mnt_real))
		mnt_real[0] = '\0';
	/* Told to stop while starting: nothing to mount for. */
	if (sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM))) {
		status = 0;
		goto out_handlers;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		error("cannot mount on '%s'", o->mountpoint);
		goto out_handlers;
	}
	if (mnt_real[0] && mount_bdi(mnt_real, bdi, sizeof(bdi)))
		fs_set_readahead(fs, xasprintf("/sys/class/bdi/%s/read_ahead_kb", bdi));
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "ready\n", 6) != 6)
			warning("cannot write to --ready-fd %d: %m", o->ready_fd);
		close(o->ready_fd);
	}
	notify_ready();
	if (!o->foreground && daemonize() != 0) {
		error("cannot go into the background: %m");
		goto out_unmount;
	}
	/* Threads start only now: daemonize() forks, and a thread does
	 * not live on in the child. */
	if (rl.audit && auditlog_start(rl.audit) < 0) {
		error("cannot start the audit log writer");
		goto out_unmount;
	}
	rl.fs = fs;
	if (pthread_create(&tid, NULL, reload_thread, &rl) != 0) {
		error("cannot start the reload thread");
		goto out_unmount;
	}
	reloader = true;

	r = loop_run(se, LOOP_MAX_THREADS, o->spin_us);
	status = r == 0 ? 0 : 1;
	if (r != 0)
		error("serving '%s' failed: %s", o->mountpoint, strerror(-r));
out_unmount:
	if (reloader) {
		/* Let a reload in progress finish before the fs goes away. */
		rl.stop = true;
		pthread_kill(tid, SIGHUP);
		pthread_join(tid, NULL);
	}
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	fs_free(fs);
out_layers:
	/* Every record is written before the exit. */
	auditlog_close(rl.audit);
	backing_close(b);
	if (private && delta_remove_tree(private) < 0)
		error("cannot remove the private delta '%s'", private);
	free(private);
	free(upper);
	free(rl.policy);
	free(a_src);
	free(a_mnt);
	free(a_delta);
	free(a_audit);
	return status;
}
