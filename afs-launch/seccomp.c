/* seccomp.c - the system calls a bwrap sandbox may not make.
 *
 * Namespaces and dropped capabilities already refuse most of what is
 * listed here; the filter takes the kernel code behind these calls out of
 * the sandbox's reach all the same, as docker's default profile, Flatpak's
 * filter and nsjail do: a bug in any of them is a way out that no
 * namespace closes.
 *
 * MUST (afs-launch(1) SECCOMP; tests/t5007):
 *   - each call below fails with its errno, for the x86-64 ABI and the
 *     i386 one (int 0x80 from a 64-bit process), whatever its arguments;
 *   - ENOSYS where a program then falls back (io_uring: libuv, liburing
 *     users), EPERM otherwise;
 *   - x32 system calls are refused whole (libseccomp does it for an x86-64
 *     filter);
 *   - a filter that cannot be built is an error (125), never a sandbox
 *     without one; only --seccomp off runs without, and says so in the
 *     exec record.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "launch.h"
#include "util.h"

struct denied {
	const char *name;
	int err;
};

/* Why each is here: afs-launch(1) SECCOMP. */
static const struct denied denied[] = {
	/* io_uring: its own path into most of the kernel; programs fall back */
	{ "io_uring_setup", ENOSYS }, { "io_uring_enter", ENOSYS }, { "io_uring_register", ENOSYS },
	/* kernel programs and profiling */
	{ "bpf", EPERM }, { "perf_event_open", EPERM },
	/* page faults handled in user space: the classic race amplifier */
	{ "userfaultfd", EPERM },
	/* the kernel keyring, shared beyond the sandbox */
	{ "keyctl", EPERM }, { "add_key", EPERM }, { "request_key", EPERM },
	/* kernels and modules */
	{ "kexec_load", EPERM }, { "kexec_file_load", EPERM }, { "init_module", EPERM },
	{ "finit_module", EPERM }, { "delete_module", EPERM },
	/* files by handle: open_by_handle_at reaches past any mount */
	{ "open_by_handle_at", EPERM },
	/* mounts, the old API and the new */
	{ "mount", EPERM }, { "umount2", EPERM }, { "pivot_root", EPERM }, { "move_mount", EPERM },
	{ "open_tree", EPERM }, { "fsopen", EPERM }, { "fsconfig", EPERM }, { "fsmount", EPERM },
	{ "fspick", EPERM }, { "mount_setattr", EPERM },
	/* namespaces: the sandbox's are its own */
	{ "unshare", EPERM }, { "setns", EPERM },
	/* the machine's */
	{ "swapon", EPERM }, { "swapoff", EPERM }, { "reboot", EPERM }, { "acct", EPERM },
	{ "quotactl", EPERM }, { "syslog", EPERM }, { "vhangup", EPERM }, { "iopl", EPERM },
	{ "ioperm", EPERM }, { "uselib", EPERM }, { "lookup_dcookie", EPERM },
	{ "fanotify_init", EPERM }, { "nfsservctl", EPERM },
};

static int add_rules(scmp_filter_ctx ctx)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i].name);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint16_t)denied[i].err), nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

int seccomp_filter_fd(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int fd = -1, r;

	if (!ctx)
		die(EXIT_LAUNCH, "cannot build the seccomp filter: out of memory");
	r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (r == -EEXIST)
		r = 0;
	if (r == 0)
		r = add_rules(ctx);
	if (r == 0) {
		fd = memfd_create("afs-seccomp", 0);
		if (fd < 0)
			r = -errno;
	}
	if (r == 0)
		r = seccomp_export_bpf(ctx, fd);
	if (r == 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = -errno;
	seccomp_release(ctx);
	if (r < 0)
		die(EXIT_LAUNCH, "cannot build the seccomp filter: %s (--seccomp off runs without)",
		    strerror(-r));
	return fd;
}
