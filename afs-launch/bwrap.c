/* bwrap.c - the default runtime: bubblewrap, with our shim as pid 1.
 *
 * What the sandbox MUST be (afs-launch(1) THE SANDBOX, SECCOMP and
 * CLEAN-UP), and where it is done:
 *   - new user, pid, ipc, uts, mount, cgroup and (without --net) network
 *     namespaces: the --unshare-* flags below; with an allowlist, the
 *     network namespace all the same, whose only way out is the relay's
 *     socket pair to afs-proxy (net.c, shim.c), passed to pid 1 alone;
 *   - a non-root uid, inside and out: started as root, the child drops to
 *     --uid/--gid (65534 by default) before bwrap runs, so that nothing in
 *     the sandbox is root in any namespace and RLIMIT_NPROC applies;
 *   - no capabilities and no_new_privs: bwrap drops them for an
 *     unprivileged user namespace; the shim checks and enforces it again;
 *   - of the host only /usr (and the /bin, /sbin, /lib* links or dirs),
 *     read-only, and of /etc the list in etc.c, which never holds a
 *     secret; passwd, group and hosts are written for the sandbox;
 *   - private /tmp, /dev, /proc and $HOME; the root itself read-only;
 *   - no nested user namespace (--disable-userns), a session keyring of
 *     its own (not the caller's);
 *   - a seccomp filter (seccomp.c) unless --seccomp off;
 *   - killed with afs-launch (--die-with-parent, and PR_SET_PDEATHSIG on
 *     bwrap itself), in a session of its own (--new-session: no TIOCSTI
 *     into the caller's terminal).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

#define SANDBOX_HOME "/home/sandbox"


/* PREFIX followed by the number V ("--fd" style, or "nofile=" style). */
static void addf(struct argv_buf *a, const char *prefix, long v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%ld", prefix, v);
	argv_add(a, buf);
}

/* An fd holding TEXT, for bwrap's --ro-bind-data. */
static int data_fd(const char *name, const char *text)
{
	int fd = memfd_create(name, 0);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0)
		die(EXIT_LAUNCH, "cannot make the sandbox's /etc/%s: %m", name);
	return fd;
}

/* /bin, /sbin, /lib...: on merged-/usr systems links into usr/, else
 * directories of their own. */
static void system_dir(struct argv_buf *a, const char *path)
{
	char target[256];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			return;
		target[n] = '\0';
		argv_add(a, "--symlink");
		argv_add(a, target);
		argv_add(a, path);
	} else if (S_ISDIR(st.st_mode)) {
		argv_add(a, "--ro-bind");
		argv_add(a, path);
		argv_add(a, path);
	}
}

static void etc_file(struct argv_buf *a, const char *name, const char *text)
{
	char path[64];

	snprintf(path, sizeof(path), "/etc/%s", name);
	argv_add(a, "--ro-bind-data");
	addf(a, "", data_fd(name, text));
	argv_add(a, path);
}

/* In the child: build bwrap's command line and exec it.  Never returns. */
static void exec_bwrap(const struct launch *L, const struct workspace *ws,
		       const struct sandbox *sb, int info_w, int status_w)
{
	static const char *const sysdirs[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					       "/libx32" };
	struct argv_buf a = { 0 };
	char *text;
	int self;
	size_t i;

	self = open("/proc/self/exe", O_RDONLY);
	if (self < 0)
		die(EXIT_LAUNCH, "cannot open afs-launch's own binary: %m");

	argv_add(&a, "bwrap");
	argv_add(&a, "--unshare-user");
	argv_add(&a, "--unshare-pid");
	argv_add(&a, "--unshare-ipc");
	argv_add(&a, "--unshare-uts");
	argv_add(&a, "--unshare-cgroup");
	/* No user namespace of its own inside: one would give the command
	 * every capability there, and the kernel's namespaced code to aim
	 * at (found by tests/t5003). */
	argv_add(&a, "--disable-userns");
	if (!L->net)
		argv_add(&a, "--unshare-net");
	argv_add(&a, "--uid");
	addf(&a, "", (long)L->uid);
	argv_add(&a, "--gid");
	addf(&a, "", (long)L->gid);
	argv_add(&a, "--hostname");
	argv_add(&a, "afs");
	argv_add(&a, "--die-with-parent");
	/* A session of its own, so that the command cannot push input into
	 * the caller's terminal (TIOCSTI); --tty keeps it, for a pty that
	 * afs-session made for the sandbox alone. */
	if (!L->tty)
		argv_add(&a, "--new-session");
	argv_add(&a, "--as-pid-1");
	if (!L->no_seccomp) {
		argv_add(&a, "--seccomp");
		addf(&a, "", seccomp_filter_fd());
	}
	argv_add(&a, "--info-fd");
	addf(&a, "", info_w);

	argv_add(&a, "--ro-bind");
	argv_add(&a, "/usr");
	argv_add(&a, "/usr");
	for (i = 0; i < ARRAY_SIZE(sysdirs); i++)
		system_dir(&a, sysdirs[i]);
	etc_bind(&a, L);
	text = xasprintf("root:x:0:0:root:/root:/usr/sbin/nologin\n"
			 "sandbox:x:%ld:%ld:afs sandbox:" SANDBOX_HOME ":/bin/sh\n"
			 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
			 (long)L->uid, (long)L->gid);
	etc_file(&a, "passwd", text);
	free(text);
	text = xasprintf("root:x:0:\nsandbox:x:%ld:\nnogroup:x:65534:\n", (long)L->gid);
	etc_file(&a, "group", text);
	free(text);
	etc_file(&a, "hosts", "127.0.0.1\tlocalhost afs\n::1\tlocalhost ip6-localhost\n");

	argv_add(&a, "--proc");
	argv_add(&a, "/proc");
	argv_add(&a, "--dev");
	argv_add(&a, "/dev");
	argv_add(&a, "--tmpfs");
	argv_add(&a, "/tmp");
	argv_add(&a, "--perms");
	argv_add(&a, "0700");
	argv_add(&a, "--tmpfs");
	argv_add(&a, SANDBOX_HOME);
	argv_add(&a, "--bind");
	argv_add(&a, ws->dir);
	argv_add(&a, "/workspace");
	if (L->session_dir) {
		argv_add(&a, "--bind");
		argv_add(&a, ws->session ? ws->session : L->session_dir);
		argv_add(&a, "/run/afs-session");
	}
	argv_add(&a, "--remount-ro");
	argv_add(&a, "/");
	argv_add(&a, "--chdir");
	argv_add(&a, L->workdir);

	/* The shim: our own binary, through its fd. */
	addf(&a, "/proc/self/fd/", self);
	argv_add(&a, SHIM_ARG);
	addf(&a, "exec-fd=", self);
	addf(&a, "status-fd=", status_w);
	if (L->relay_fd >= 0) {
		addf(&a, "relay-fd=", L->relay_fd);
		addf(&a, "relay-port=", RELAY_PORT);
	}
	/* RLIMIT_AS only where no memory cgroup does the job better (see
	 * cgroup.c); RLIMIT_NPROC counts the shim, and leaves the pids cgroup,
	 * where there is one, to be the one that refuses (it counts, so the
	 * result can name the limit): it stands back by a margin there, as
	 * forks racing on two CPUs met it first now and then at an equal
	 * value.  It stays as a backstop.  The relay of an allowlist is one
	 * more process of the sandbox's user. */
	if (L->lim.memory && !cgroup_has(sb->cg, "memory"))
		addf(&a, "as=", (long)L->lim.memory);
	if (L->lim.pids)
		addf(&a, "nproc=", L->lim.pids + (cgroup_has(sb->cg, "pids") ? 2 + 32 : 1) +
				   (L->allowlist ? 1 : 0));
	if (L->lim.cpu_time)
		addf(&a, "cpu=", L->lim.cpu_time);
	if (L->lim.nofile)
		addf(&a, "nofile=", L->lim.nofile);
	if (L->lim.fsize)
		addf(&a, "fsize=", (long)L->lim.fsize);
	argv_add(&a, "--");
	for (i = 0; L->argv[i]; i++)
		argv_add(&a, L->argv[i]);

	execvpe("bwrap", a.v, L->envp);
	die(EXIT_LAUNCH, "cannot run bwrap: %m");
}

static int bwrap_start(const struct launch *L, const struct workspace *ws, struct sandbox *sb)
{
	int info[2], status[2];
	struct stdio_pipes io;
	pid_t parent = getpid(), pid;

	if (pipe2(info, O_CLOEXEC) != 0 || pipe2(status, O_CLOEXEC) != 0) {
		error("cannot make pipes: %m");
		return -1;
	}
	if (stdio_make(L, &io) != 0)
		return -1;
	/* Whatever else the run made, a guardian for the sandbox's process
	 * group (see guard_process_group). */
	guard_start();
	pid = fork();
	if (pid < 0) {
		error("cannot fork: %m");
		return -1;
	}
	if (pid == 0) {
		child_setup(true);
		guard_process_group();
		if (cgroup_enter(sb->cg) != 0)
			die(EXIT_LAUNCH, "cannot enter the run's cgroup: %m");
		stdio_child(&io);
		/* Nothing the caller left open may reach the sandbox. */
		if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
			die(EXIT_LAUNCH, "close_range: %m");
		if (fcntl(info[1], F_SETFD, 0) != 0 || fcntl(status[1], F_SETFD, 0) != 0 ||
		    (L->relay_fd >= 0 && fcntl(L->relay_fd, F_SETFD, 0) != 0))
			die(EXIT_LAUNCH, "fcntl: %m");
		/* Root's sandbox uid cannot walk root's 0700 state dir to
		 * the session dir: bind it onto our own temp dir, in a mount
		 * namespace of this child's (the host never sees it), while
		 * we are still root. */
		if (ws->session &&
		    (unshare(CLONE_NEWNS) != 0 ||
		     mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0 ||
		     mount(L->session_dir, ws->session, NULL, MS_BIND, NULL) != 0))
			die(EXIT_LAUNCH, "cannot stage '%s' for the sandbox: %m", L->session_dir);
		/* Started as root: become the sandbox's uid for good before
		 * bwrap runs, so that it makes an unprivileged user namespace
		 * and nothing inside maps to root outside. */
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setresgid(L->gid, L->gid, L->gid) != 0 ||
		     setresuid(L->uid, L->uid, L->uid) != 0))
			die(EXIT_LAUNCH, "cannot switch to uid %ld: %m", (long)L->uid);
		/* A session keyring of its own: the caller's (inherited
		 * through fork, kept across the uid change) would let the
		 * command read, add and clear the caller's keys (found by
		 * tests/t5003). */
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
			die(EXIT_LAUNCH, "cannot give the sandbox a session keyring of its own: %m");
		/* Set after the uid change, which clears it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
			_exit(EXIT_LAUNCH);
		exec_bwrap(L, ws, sb, info[1], status[1]);
	}
	close(info[1]);
	close(status[1]);
	stdio_parent(&io, sb);
	sb->pid = pid;
	sb->info_fd = info[0];
	sb->status_fd = status[0];
	return 0;
}

static void bwrap_signal(struct sandbox *sb, int sig)
{
	/* pid 1 of the sandbox passes the signal on to all the others; a
	 * SIGKILL to it ends the whole pid namespace.  Before bwrap has said
	 * which pid that is, bwrap itself: its death kills the sandbox
	 * (--die-with-parent). */
	if (sb->inner > 0 && sb->ready) {
		kill(sb->inner, sig);
	} else if (sig == SIGKILL) {
		kill(sb->inner > 0 ? sb->inner : sb->pid, sig);
	} else {
		/* Sent now, it could be dropped: held until the shim says
		 * it is ready. */
		sb->pending = sig;
	}
	/* Not bwrap too when pid 1 is known: bwrap ends by itself once its
	 * child is gone, and killed first it would leave that child to the
	 * host's init to reap. */
}

/* bwrap's --info-fd: which pid is pid 1 of the sandbox. */
static void parse_info(struct sandbox *sb, const char *info)
{
	const char *p = strstr(info, "\"child-pid\"");

	if (!p || !(p = strchr(p, ':')))
		return;
	long v = strtol(p + 1, NULL, 10);

	if (v > 1)
		sb->inner = (pid_t)v;
}

/* The shim's first line: it catches signals now. */
static void status_update(struct sandbox *sb, const char *status)
{
	if (sb->ready || strncmp(status, "ready 1\n", 8) != 0)
		return;
	sb->ready = true;
	if (sb->inner > 0 && sb->pending) {
		kill(sb->inner, sb->pending);
		sb->pending = 0;
	}
}

/* The shim's last line: how the command ended. */
static void parse_status(const char *s, struct outcome *oc)
{
	int v;

	if (strncmp(s, "ready 1\n", 8) == 0)
		s += 8;
	if (sscanf(s, "exit %d", &v) == 1) {
		oc->reported = true;
		oc->exit_code = v;
	} else if (sscanf(s, "signal %d", &v) == 1) {
		oc->reported = true;
		oc->signal = v;
	} else if (sscanf(s, "exec %d", &v) == 1) {
		oc->reported = true;
		oc->exec_errno = v;
	}
}

static void bwrap_reported(struct sandbox *sb)
{
	parse_info(sb, sb->info);
	status_update(sb, sb->status);
}

/* Limits that need a cgroup get one per run, made through the guardian. */
static void bwrap_prepare(const struct launch *L, struct sandbox *sb)
{
	struct limits lim = L->lim;
	const char *why = NULL;

	/* The relay of an allowlist is one more process in the cgroup. */
	if (L->allowlist && lim.pids)
		lim.pids++;
	if (cgroup_new(&lim, &sb->cg, &why) != 0)
		die(EXIT_LAUNCH, "%s", why);
}

static void bwrap_finish(struct sandbox *sb, bool killed, struct outcome *oc)
{
	parse_status(sb->status, oc);
	if (!oc->reported && (killed || oc->timed_out || oc->interrupted)) {
		/* pid 1 itself was killed: so was everything in it. */
		oc->reported = true;
		oc->signal = SIGKILL;
	}
	oc->limit = cgroup_limit_hit(sb->cg);
}

static void bwrap_remove(struct sandbox *sb)
{
	cgroup_free(sb->cg);
	sb->cg = NULL;
}

const struct runtime_ops bwrap_runtime = {
	.name = "bwrap",
	.stage_session = true,
	.relay = true,
	.prepare = bwrap_prepare,
	.start = bwrap_start,
	.signal = bwrap_signal,
	.reported = bwrap_reported,
	.finish = bwrap_finish,
	.remove = bwrap_remove,
};
