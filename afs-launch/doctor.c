/* doctor.c - afs-launch --doctor: can afs run here, and what is missing.
 *
 * Each check tries the real thing where it can (opens /dev/fuse, calls
 * openat2, makes a user namespace, runs a sandbox, makes a cgroup) rather
 * than reading a version number.  A line per check:
 *     OK    what: detail
 *     FAIL  what: detail -- what to do     (needed: exit status 1)
 *     WARN  what: detail -- what it costs  (optional features)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

static int failures;

static void report(const char *level, const char *what, const char *detail, const char *todo)
{
	printf("%-5s %s: %s%s%s\n", level, what, detail, todo ? " -- " : "", todo ? todo : "");
	if (strcmp(level, "FAIL") == 0)
		failures++;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void check_fuse(void)
{
	struct stat st;
	char detail[128];
	int fd;

	if (stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) {
		report("FAIL", "/dev/fuse", "missing", "load the fuse module (modprobe fuse)");
		return;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	snprintf(detail, sizeof(detail), "mode %04o, %s", (unsigned)(st.st_mode & 07777),
		 fd >= 0 ? "we can open it" : strerror(errno));
	if (fd >= 0) {
		close(fd);
		report("OK", "/dev/fuse", detail, NULL);
	} else {
		report("FAIL", "/dev/fuse", detail,
		       "-s needs it: run as root, or make it 0666 as Debian's fuse3 does");
	}
}

static void check_fusermount(void)
{
	char *p = find_program("fusermount3", false);
	struct stat st;

	if (!p) {
		report(geteuid() == 0 ? "WARN" : "FAIL", "fusermount3", "not found",
		       "install fuse3 (ordinary users mount through it)");
		return;
	}
	if (geteuid() != 0 && (stat(p, &st) != 0 || !(st.st_mode & S_ISUID) || st.st_uid != 0)) {
		report("FAIL", "fusermount3", p, "it is not setuid root: reinstall fuse3");
	} else {
		report("OK", "fusermount3", p, NULL);
	}
	free(p);
}

static void check_allow_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "re");
	char line[256];
	bool on = false;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "user_allow_other", 16) == 0)
			on = true;
	if (f)
		fclose(f);
	if (geteuid() == 0 || on)
		report("OK", "user_allow_other",
		       geteuid() == 0 ? "not needed as root" : "set in /etc/fuse.conf", NULL);
	else
		report("WARN", "user_allow_other", "not set in /etc/fuse.conf",
		       "an ordinary user cannot let docker (or another uid) into a mount");
}

static void check_openat2(void)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));

	if (fd >= 0) {
		close(fd);
		report("OK", "openat2", "RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS work", NULL);
	} else {
		report("FAIL", "openat2", strerror(errno),
		       "afs-fuse needs Linux 5.6 or later, without a seccomp filter on openat2");
	}
}

static void check_ours(const char *prog)
{
	char *p = find_program(prog, true);

	if (p)
		report("OK", prog, p, NULL);
	else
		report("FAIL", prog, "not found beside afs-launch nor on PATH", "make install");
	free(p);
}

/* Only the network allowlist needs it. */
static void check_proxy(void)
{
	char *p = find_program("afs-proxy", true);

	if (p)
		report("OK", "afs-proxy", p, NULL);
	else
		report("WARN", "afs-proxy", "not found beside afs-launch nor on PATH",
		       "--allow-host and a policy's network: section cannot be used (make install)");
	free(p);
}

static void check_bwrap(void)
{
	char *p = find_program("bwrap", false), ver[128] = "";
	const char *argv[] = { "bwrap", "--version", NULL };

	if (!p) {
		report("FAIL", "bwrap", "not found", "install bubblewrap");
		return;
	}
	run_quiet(argv, ver, sizeof(ver));
	ver[strcspn(ver, "\n")] = '\0';
	{
		char *d = xasprintf("%s (%s)", p, ver[0] ? ver : "version unknown");

		report("OK", "bwrap", d, NULL);
		free(d);
	}
	free(p);
}

static void check_userns(void)
{
	long max = read_long("/proc/sys/user/max_user_namespaces");
	long aa = read_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	char detail[160];
	pid_t pid;
	int st = -1;

	pid = fork();
	if (pid == 0) {
		/* As the sandbox would: not root. */
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) != 0 ||
				       setresuid(65534, 65534, 65534) != 0))
			_exit(2);
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	snprintf(detail, sizeof(detail), "max_user_namespaces %ld%s", max,
		 aa > 0 ? ", AppArmor restricts them" : "");
	if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		report("OK", "unprivileged user namespaces", detail, NULL);
	else
		report("FAIL", "unprivileged user namespaces", detail,
		       "sysctl user.max_user_namespaces=10000 (and, with AppArmor, "
		       "kernel.apparmor_restrict_unprivileged_userns=0 or a profile for bwrap)");
}

static void check_sandbox(void)
{
	char *self = find_program("afs-launch", true);
	const char *argv[] = { self, "-m", "/usr", "--", "/bin/true", NULL };
	int r;

	if (!self)
		return;
	r = run_quiet(argv, NULL, 0);
	free(self);
	if (r == 0) {
		report("OK", "a sandbox", "afs-launch -m /usr -- /bin/true ran", NULL);
	} else {
		char d[64];

		snprintf(d, sizeof(d), "afs-launch -m /usr -- /bin/true exited %d", r);
		report("FAIL", "a sandbox", d, "run it by hand to see bwrap's message");
	}
}

static void check_cgroups(void)
{
	struct limits lim = { .memory = 1 << 30, .pids = 1000, .millicpus = 1000 };
	struct cgroup *cg = NULL;
	const char *why = NULL;
	char detail[160];

	if (cgroup_new(&lim, &cg, &why) != 0) {
		lim.millicpus = 0;
		if (cgroup_new(&lim, &cg, &why) != 0)
			cg = NULL;
	}
	snprintf(detail, sizeof(detail), "memory %s, pids %s, cpu %s",
		 cgroup_has(cg, "memory") ? "yes" : "no", cgroup_has(cg, "pids") ? "yes" : "no",
		 cgroup_has(cg, "cpu") ? "yes" : "no");
	if (cgroup_has(cg, "memory") && cgroup_has(cg, "pids") && cgroup_has(cg, "cpu"))
		report("OK", "cgroup limits", detail, NULL);
	else
		report("WARN", "cgroup limits", detail,
		       "without them --memory is RLIMIT_AS and --pids RLIMIT_NPROC (the result "
		       "cannot name them), and --cpus needs --runtime docker");
	cgroup_free(cg);
	guard_release();
}

static void check_docker(void)
{
	char ver[128] = "";
	const char *argv[] = { "docker", "info", "--format",
			 "{{.ServerVersion}}", NULL };
	int r = run_quiet(argv, ver, sizeof(ver));

	ver[strcspn(ver, "\n")] = '\0';

	if (r == 0 && ver[0]) {
		char *d = xasprintf("dockerd %s reachable", ver);

		report("OK", "docker", d, NULL);
		free(d);
	} else {
		report("WARN", "docker", r == 127 ? "no docker client" : "no daemon reachable",
		       "--runtime docker is unavailable");
	}
}

static void check_tiocsti(void)
{
	long v = read_long("/proc/sys/dev/tty/legacy_tiocsti");

	if (v == 0)
		report("OK", "TIOCSTI", "disabled (dev.tty.legacy_tiocsti = 0)", NULL);
	else
		report("WARN", "TIOCSTI", v < 0 ? "this kernel has no switch for it" : "enabled",
		       "--tty only with a terminal of the sandbox's own, as afs-session does");
}

int doctor_main(void)
{
	printf("afs %s on this machine (%s):\n", AFS_VERSION,
	       geteuid() == 0 ? "as root" : "as an ordinary user");
	fflush(stdout);
	check_fuse();
	check_fusermount();
	check_allow_other();
	check_openat2();
	check_ours("afs-fuse");
	check_proxy();
	check_bwrap();
	check_userns();
	check_sandbox();
	check_cgroups();
	check_docker();
	check_tiocsti();
	printf("%s\n", failures ? "some needed features are missing" : "afs can run here");
	return failures ? 1 : 0;
}
