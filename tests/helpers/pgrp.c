/* pgrp - process groups for tests/t5011.
 *
 *   pgrp at PID SECONDS      start a process of pid PID (clone3 set_tid:
 *                            root only) that leads a session and a group
 *                            of its own and sleeps SECONDS; print OK, or
 *                            the errno name of the failure
 *   pgrp stale NAME SECONDS  in a session's sandbox: make a child, named
 *                            NAME, the terminal's foreground group; let it
 *                            end after one second, leaving the group
 *                            empty and in the foreground; print "stale"
 *                            and sleep SECONDS
 *
 * Exit status 0, or 2 on bad usage, 1 when a step failed (said).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int at(pid_t pid, unsigned seconds)
{
	pid_t tid = pid;
	struct clone_args ca = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&tid,
				 .set_tid_size = 1 };
	long r = syscall(SYS_clone3, &ca, sizeof(ca));

	if (r < 0) {
		printf("%s\n", strerrorname_np(errno));
		return 0;
	}
	if (r == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		sleep(seconds);
		_exit(0);
	}
	printf("OK\n");
	return 0;
}

static int stale(const char *name, unsigned seconds)
{
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	pid_t child;

	if (tty < 0) {
		perror("pgrp: /dev/tty");
		return 1;
	}
	signal(SIGTTOU, SIG_IGN);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		setpgid(0, 0);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		sleep(1);
		_exit(0);
	}
	setpgid(child, child);
	if (tcsetpgrp(tty, child) != 0) {
		perror("pgrp: tcsetpgrp");
		return 1;
	}
	waitpid(child, NULL, 0);
	printf("stale\n");
	fflush(stdout);
	sleep(seconds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "at") == 0)
		return at((pid_t)atoi(argv[2]), (unsigned)atoi(argv[3]));
	if (argc == 4 && strcmp(argv[1], "stale") == 0)
		return stale(argv[2], (unsigned)atoi(argv[3]));
	fprintf(stderr, "usage: pgrp at PID SECONDS | pgrp stale NAME SECONDS\n");
	return 2;
}
