/* pidfd.h - a process, or the process group it leads, named by a pidfd.
 *
 * Why not a number: a pid or a process group id is free again once its
 * last process is reaped, and the next process of the host may get it;
 * a kill(-N) sent late then reaches that one.  A pidfd names the process
 * itself (its struct pid in the kernel), never a later one of the same
 * number.  glibc has no wrappers before 2.36: the system calls.
 */
#ifndef AFS_PIDFD_H
#define AFS_PIDFD_H

#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Linux 6.9: the signal goes to the process group that the pidfd's
 * process leads (or led: its members, after the leader is reaped). */
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1U << 2)
#endif

static inline int afs_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* 0, or -1 with errno (ESRCH: the process, or every member of its group,
 * is gone; EINVAL: FLAGS unknown to this kernel). */
static inline int afs_pidfd_kill(int pidfd, int sig, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, flags);
}

#endif
