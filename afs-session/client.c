/* client.c - exec, attach, stop and list: the short-lived side.
 *
 * A client makes clients/ID/ (its command, and FIFOs it opens for reading
 * before it asks), writes one line on ctl, and reads its answer.  It
 * checks every second that the supervisor is still there, so a killed
 * supervisor gives 125, never a hang.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "result.h"
#include "session.h"
#include "util.h"

#define JSON_MAX_OUTPUT (16 << 20)

struct conn {
	char *dir;		/* the session's */
	int dirfd, cfd;		/* it, and clients/ID */
	char id[64];
	struct session_info inf;
};

/* Open the session NAME for a request; 0, or an exit status (said). */
static int conn_open(const char *root, const char *name, struct conn *c, int missing_status)
{
	static unsigned counter;
	struct timespec ts;
	int clients;

	memset(c, 0, sizeof(*c));
	c->dirfd = c->cfd = -1;
	if (state_check_name(name) != 0) {
		error("bad session name '%s'", name);
		return 2;
	}
	c->dir = session_dir(root, name);
	if (info_read(c->dir, &c->inf) != 0) {
		error("no session '%s'", name);
		return missing_status;
	}
	if (strcmp(c->inf.state, "dead") == 0) {
		error("session '%s': its shell exited (status %d)", name, c->inf.status);
		return missing_status;
	}
	if (!supervisor_alive(&c->inf)) {
		error("session '%s' is not running (its supervisor is gone)", name);
		return missing_status;
	}
	c->dirfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	clients = c->dirfd >= 0 ? openat(c->dirfd, "clients", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				: -1;
	if (clients < 0) {
		error("cannot open session '%s': %m", name);
		return missing_status;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(c->id, sizeof(c->id), "c%ld-%u-%lx", (long)getpid(), counter++,
		 (unsigned long)ts.tv_nsec);
	if (mkdirat(clients, c->id, 0700) != 0 ||
	    (c->cfd = openat(clients, c->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		error("cannot make a request in session '%s': %m", name);
		close(clients);
		return missing_status;
	}
	close(clients);
	return 0;
}

static void conn_close(struct conn *c)
{
	static const char *const names[] = { "cmd", "reply", "in", "out" };

	if (c->cfd >= 0) {
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			unlinkat(c->cfd, names[i], 0);
		close(c->cfd);
		char *p = xasprintf("%s/clients/%s", c->dir, c->id);

		rmdir(p);
		free(p);
	}
	if (c->dirfd >= 0)
		close(c->dirfd);
	free(c->dir);
}

/* One line on ctl, in one write (below PIPE_BUF: never mixed). */
static int ctl_send(struct conn *c, const char *line)
{
	int fd = openat(c->dirfd, "ctl", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	size_t n = strlen(line);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, line, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static int make_fifo_open(struct conn *c, const char *name, int flags)
{
	if (mkfifoat(c->cfd, name, 0600) != 0)
		return -1;
	return openat(c->cfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
}

/* poll, waking every second to check the supervisor is alive. */
static int wait_fds(struct conn *c, struct pollfd *p, nfds_t n)
{
	for (;;) {
		int r = poll(p, n, 1000);

		if (r > 0)
			return r;
		if (r < 0 && errno != EINTR)
			return -1;
		if (!supervisor_alive(&c->inf))
			return -1;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int client_exec(const char *root, const char *name, const char *cmd, int64_t timeout_ms,
		bool json)
{
	struct conn c;
	struct capture out = { .max = JSON_MAX_OUTPUT }, err = { .max = JSON_MAX_OUTPUT };
	char line[CTL_LINE_MAX], status[256] = "";
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int64_t start = mono_ms();
	int r, fd, reply, rc = EXIT_SESSION;
	bool got_status = false;

	signal(SIGPIPE, SIG_IGN);
	r = conn_open(root, name, &c, EXIT_SESSION);
	if (r != 0) {
		if (c.dir)
			conn_close(&c);
		return r;
	}
	fd = openat(c.cfd, "cmd", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, cmd, strlen(cmd)) != 0 || close(fd) != 0) {
		error("cannot write the request: %m");
		conn_close(&c);
		return EXIT_SESSION;
	}
	/* Opened before asking: the supervisor finds a reader, and a
	 * request whose client is gone is known as such. */
	reply = make_fifo_open(&c, "reply", O_RDONLY | O_NONBLOCK);
	snprintf(line, sizeof(line), "run %s %lld\n", c.id, (long long)timeout_ms);
	if (reply < 0 || ctl_send(&c, line) != 0) {
		if (!supervisor_alive(&c.inf))
			error("session '%s' is not running (its supervisor is gone)", name);
		else
			error("session '%s' does not answer: %m", name);
		goto out;
	}
	while (!got_status) {
		struct pollfd p = { .fd = reply, .events = POLLIN };
		ssize_t n;

		if (wait_fds(&c, &p, 1) < 0)
			break;
		if (cap - len < FRAME_MAX + 5) {
			cap = cap ? 2 * cap : 2 * (FRAME_MAX + 5);
			buf = xrealloc(buf, cap);
		}
		n = read(reply, buf + len, cap - len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;	/* the supervisor went away */
		len += (size_t)n;
		/* Whole frames out of the buffer. */
		size_t off = 0;

		while (len - off >= 5) {
			size_t fl = (size_t)buf[off + 1] | (size_t)buf[off + 2] << 8 |
				    (size_t)buf[off + 3] << 16 | (size_t)buf[off + 4] << 24;
			const char *data = (const char *)buf + off + 5;

			if (fl > FRAME_MAX)
				goto out;	/* not ours: refuse to go on */
			if (len - off - 5 < fl)
				break;
			if (buf[off] == FRAME_OUT) {
				/* stdout closed: keep reading to the status. */
				if (json)
					capture_add(&out, data, fl);
				else
					(void)write_all(1, data, fl);
			} else if (buf[off] == FRAME_ERR) {
				if (json)
					capture_add(&err, data, fl);
				else
					(void)write_all(2, data, fl);
			} else if (buf[off] == FRAME_STATUS) {
				size_t k = fl < sizeof(status) - 1 ? fl : sizeof(status) - 1;

				memcpy(status, data, k);
				status[k] = '\0';
				got_status = true;
			}
			off += 5 + fl;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	if (!got_status) {
		error("session '%s' ended while running the command", name);
		goto out;
	}
	{
		int v;
		bool timed_out = false;

		if (sscanf(status, "exit %d", &v) == 1) {
			rc = v;
		} else if (strcmp(status, "timeout") == 0) {
			rc = EXIT_TIMEOUT_STATUS;
			timed_out = true;
		} else if (strcmp(status, "dead stopped") == 0) {
			error("session '%s' was stopped", name);
		} else if (sscanf(status, "dead %d", &v) == 1) {
			error("session '%s': its shell exited (status %d)", name, v);
		} else if (strncmp(status, "error ", 6) == 0) {
			error("session '%s': %s", name, status + 6);
		} else {
			error("session '%s': its shell exited", name);
		}
		if (json && (rc != EXIT_SESSION || strncmp(status, "exit", 4) == 0))
			result_print_json(stdout, rc, 0, timed_out, NULL, mono_ms() - start, &out,
					  &err);
	}
out:
	if (reply >= 0)
		close(reply);
	free(buf);
	free(out.buf);
	free(err.buf);
	conn_close(&c);
	return rc;
}

int client_stop(const char *root, const char *name)
{
	struct session_info inf;
	char *dir;
	int64_t until;

	if (state_check_name(name) != 0) {
		error("bad session name '%s'", name);
		return 2;
	}
	dir = session_dir(root, name);
	if (info_read(dir, &inf) != 0) {
		struct stat st;

		if (stat(dir, &st) != 0) {
			error("no session '%s'", name);
			free(dir);
			return 1;
		}
	}
	if (supervisor_alive(&inf)) {
		/* The supervisor makes afs-launch end the sandbox and unmount,
		 * then removes the directory and exits. */
		kill(inf.pid, SIGTERM);
		until = mono_ms() + 20000;
		while (supervisor_alive(&inf) && mono_ms() < until) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (supervisor_alive(&inf)) {
			error("session '%s' did not stop within 20 s; killing its supervisor", name);
			kill(inf.pid, SIGKILL);
		}
	}
	if (remove_tree(dir) != 0) {
		error("cannot remove '%s': %m", dir);
		free(dir);
		return 1;
	}
	free(dir);
	return 0;
}

static void json_str(const char *k, const char *v, bool comma)
{
	struct abuf b = { 0 };

	json_put_string(&b, v, strlen(v));
	printf("%s\"%s\":%.*s", comma ? "," : "", k, (int)b.len, b.p);
	abuf_free(&b);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int client_list(const char *root, bool json)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	bool first = true;

	if (!d) {
		error("cannot read '%s': %m", root);
		return 1;
	}
	while ((e = readdir(d)))
		if (state_check_name(e->d_name) == 0) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrdup(e->d_name);
		}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		char *dir = session_dir(root, names[i]);
		struct session_info inf;
		const char *state;

		if (info_read(dir, &inf) != 0) {
			free(dir);
			continue;	/* still starting */
		}
		if (strcmp(inf.state, "dead") == 0) {
			state = "dead";
		} else if (supervisor_alive(&inf)) {
			state = "running";
		} else {
			/* Its supervisor was killed: nothing of it runs (the
			 * pty closed under the shell); its state goes. */
			remove_tree(dir);
			free(dir);
			continue;
		}
		if (json) {
			printf("%s{", first ? "" : ",");
			json_str("name", names[i], false);
			printf(",\"pid\":%ld", (long)inf.pid);
			json_str("state", state, true);
			json_str("started", inf.started, true);
			json_str("mount", inf.mount, true);
			printf("}");
		} else {
			if (first)
				printf("%-20s %-8s %-8s %-20s %s\n", "NAME", "STATE", "PID", "STARTED",
				       "MOUNT");
			printf("%-20s %-8s %-8ld %-20s %s\n", names[i], state, (long)inf.pid,
			       inf.started, inf.mount);
		}
		first = false;
		free(dir);
	}
	if (json)
		printf("]\n");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int win_line(const struct conn *c, char *line, size_t size, const char *verb)
{
	struct winsize ws = { 0 };

	if (ioctl(0, TIOCGWINSZ, &ws) != 0 || !ws.ws_row)
		ws.ws_row = 24, ws.ws_col = 80;
	return snprintf(line, size, "%s %s %u %u\n", verb, c->id, ws.ws_row, ws.ws_col);
}

/* Does the terminal decode UTF-8?  As the locale says: its LC_CTYPE,
 * else LANG; "C" and unset count as not. */
static bool locale_utf8(void)
{
	const char *v = getenv("LC_ALL");

	if (!v || !*v)
		v = getenv("LC_CTYPE");
	if (!v || !*v)
		v = getenv("LANG");
	return v && (strcasestr(v, "UTF-8") || strcasestr(v, "utf8"));
}

int client_attach(const char *root, const char *name, bool raw_output)
{
	struct term_filter tf = { .utf8 = locale_utf8() };
	struct conn c;
	struct termios saved, raw;
	char line[CTL_LINE_MAX], hello[8] = "";
	int r, out, in = -1, rc = 1, sigfd;
	size_t got = 0;
	sigset_t sigs;

	if (!isatty(0) || !isatty(1)) {
		error("attach needs a terminal");
		return 1;
	}
	r = conn_open(root, name, &c, 1);
	if (r != 0) {
		if (c.dir)
			conn_close(&c);
		return r;
	}
	out = make_fifo_open(&c, "out", O_RDONLY | O_NONBLOCK);
	if (out < 0 || mkfifoat(c.cfd, "in", 0600) != 0) {
		error("cannot attach: %m");
		goto out;
	}
	win_line(&c, line, sizeof(line), "attach");
	if (ctl_send(&c, line) != 0) {
		error("session '%s' does not answer", name);
		goto out;
	}
	while (got < 5 && !memchr(hello, '\n', got)) {
		struct pollfd p = { .fd = out, .events = POLLIN };
		ssize_t n;

		if (wait_fds(&c, &p, 1) < 0)
			goto out;
		n = read(out, hello + got, sizeof(hello) - 1 - got);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			goto out;
		if (n > 0)
			got += (size_t)n;
	}
	if (strncmp(hello, "ok\n", 3) != 0) {
		error("session '%s' already has a person attached", name);
		goto out;
	}
	in = openat(c.cfd, "in", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		goto out;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGWINCH);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	tcgetattr(0, &saved);
	raw = saved;
	cfmakeraw(&raw);
	tcsetattr(0, TCSANOW, &raw);
	fprintf(stderr, "[afs-session: attached to %s; Ctrl-] detaches]\r\n", name);
	for (;;) {
		struct pollfd p[3] = { { .fd = 0, .events = POLLIN },
				       { .fd = out, .events = POLLIN },
				       { .fd = sigfd, .events = POLLIN } };
		char data[4096];
		ssize_t n;

		if (wait_fds(&c, p, 3) < 0) {
			rc = 1;
			break;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				win_line(&c, line, sizeof(line), "winch");
				ctl_send(&c, line);
			}
		}
		if (p[1].revents) {
			n = read(out, data, sizeof(data));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				rc = 1;
				break;
			}
			if (n > 0 && raw_output) {
				(void)write_all(1, data, (size_t)n);
			} else if (n > 0) {
				char safe[sizeof(data) + TERM_SEQ_MAX];

				(void)write_all(1, safe, term_filter(&tf, data, (size_t)n, safe));
			}
		}
		if (p[0].revents) {
			char *k;

			n = read(0, data, sizeof(data));
			if (n <= 0) {
				rc = 0;
				break;
			}
			k = memchr(data, DETACH_KEY, (size_t)n);
			if (k) {
				if (k > data)
					(void)write_all(in, data, (size_t)(k - data));
				rc = 0;
				break;
			}
			if (write_all(in, data, (size_t)n) != 0) {
				rc = 1;
				break;
			}
		}
	}
	tcsetattr(0, TCSANOW, &saved);
	fprintf(stderr, rc == 0 ? "\n[afs-session: detached from %s]\n"
				: "\n[afs-session: session %s ended]\n", name);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	conn_close(&c);
	return rc;
}
