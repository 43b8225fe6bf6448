/* loop.c - afs-fuse's session loop: a leader reads, followers wait.
 *
 * Why not libfuse's loop: there every idle worker blocks in read(2) on
 * /dev/fuse, so every request wakes a sleeping thread, and on the virtual
 * machines afs runs on a sleep and a wake-up cost more CPU than most
 * requests (measured: a third of a small-file create, in the scheduler's
 * interrupt re-enabling alone).  Here:
 *
 * - one thread at a time, the leader, reads the device.  Having answered
 *   a request it polls the device without sleeping for up to SPIN_US
 *   microseconds (yielding the CPU between tries) before it waits in
 *   poll(2): the next request of a client that waits for each answer
 *   (stat, open, read, close in turn: most clients) is taken at once.
 * - the other threads, followers, wait on a condition variable, not on the
 *   device: a request wakes nobody.
 * - a request that may block for long (data read from the backing store,
 *   a large write, fsync, a rename) first passes the leader role on to a
 *   follower (woken, or made while fewer than MAX_THREADS exist), so that
 *   it never holds up the others; so does a request that finds, while it
 *   works, that it will take long (the copy-up of a large file), through
 *   loop_release_lead().  The rest are answered by the leader itself.
 *
 * Signals: the workers block them all.  libfuse's handlers (SIGINT,
 * SIGTERM) set the session's exit flag; the calling thread waits in
 * ppoll(2) with them unblocked, so none is lost, and then ends the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

struct worker {
	pthread_t tid;
	struct worker *next;
};

struct loop {
	struct fuse_session *se;
	int fd;			/* /dev/fuse, non-blocking */
	int wake;		/* eventfd: ends the leader's poll at exit */
	int done;		/* eventfd: a worker ended the session */
	uint64_t spin_ns;
	unsigned max;

	pthread_mutex_t lock;
	pthread_cond_t cond;	/* followers wait here for the leader role */
	bool leader;		/* the role is held */
	_Atomic bool exiting;
	unsigned threads, idle;
	int error;		/* -errno from the device, or 0 */
	struct worker *workers;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void kick(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* The counter is already set: the wake-up is pending. */
	}
}

/* Callers hold the lock. */
static void stop(struct loop *lp, int error)
{
	if (error && !lp->error)
		lp->error = error;
	if (!lp->exiting) {
		lp->exiting = true;
		pthread_cond_broadcast(&lp->cond);
		kick(lp->wake);
		kick(lp->done);
	}
}

/* The next request into FB: > 0, or 0 when the session ended, or -errno. */
static int receive(struct loop *lp, struct fuse_buf *fb)
{
	uint64_t until = 0, t;
	struct pollfd p[2];
	int r;

	for (;;) {
		r = fuse_session_receive_buf(lp->se, fb);
		if (r != -EAGAIN && r != -EINTR)
			return r;
		if (lp->exiting || fuse_session_exited(lp->se))
			return 0;
		if (lp->spin_ns) {
			t = now_ns();
			if (!until)
				until = t + lp->spin_ns;
			if (t < until) {
				sched_yield();
				continue;
			}
		}
		until = 0;
		p[0] = (struct pollfd){ .fd = lp->fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = lp->wake, .events = POLLIN };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			return 0;
	}
}

/* Whether the request in FB may keep its thread long (see above). */
static bool slow(const struct fuse_buf *fb)
{
	const struct fuse_in_header *in;

	/* libfuse leaves a request in its pipe only when it carries more
	 * than a page of data: a write. */
	if (fb->flags & FUSE_BUF_IS_FD)
		return fb->size > 64 * 1024;
	in = fb->mem;
	switch (in->opcode) {
	case FUSE_READ:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_FALLOCATE:
	case FUSE_COPY_FILE_RANGE:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_RMDIR:
		return true;
	case FUSE_WRITE:
		return fb->size > 64 * 1024;
	default:
		/* Among them opens for writing, setattr, link and xattr
		 * changes: their copy-up gives the role up itself when the
		 * file is large (loop_release_lead). */
		return false;
	}
}

static void *work(void *arg);

/* The loop of this thread, and whether it holds the leader role. */
static __thread struct loop *my_loop;
static __thread bool my_lead;

static void spawn(struct loop *lp);

/* Give the leader role up: someone else reads.  Callers hold the lock. */
static void hand_off(struct loop *lp)
{
	lp->leader = my_lead = false;
	if (lp->idle)
		pthread_cond_signal(&lp->cond);
	else if (lp->threads < lp->max && !lp->exiting)
		spawn(lp);
}

void loop_release_lead(void)
{
	struct loop *lp = my_loop;

	if (!lp || !my_lead)
		return;
	pthread_mutex_lock(&lp->lock);
	hand_off(lp);
	pthread_mutex_unlock(&lp->lock);
}

/* Add a thread; callers hold the lock.  A failure leaves fewer threads. */
static void spawn(struct loop *lp)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	if (pthread_create(&w->tid, NULL, work, lp) != 0) {
		free(w);
		return;
	}
	w->next = lp->workers;
	lp->workers = w;
	lp->threads++;
}

static void *work(void *arg)
{
	struct loop *lp = arg;
	struct fuse_buf fb = { .mem = NULL };
	int r;

	my_loop = lp;
	my_lead = false;
	pthread_mutex_lock(&lp->lock);
	while (!lp->exiting) {
		if (!my_lead) {
			if (lp->leader) {
				lp->idle++;
				pthread_cond_wait(&lp->cond, &lp->lock);
				lp->idle--;
				continue;
			}
			lp->leader = my_lead = true;
		}
		pthread_mutex_unlock(&lp->lock);
		r = receive(lp, &fb);
		pthread_mutex_lock(&lp->lock);
		if (r <= 0) {
			stop(lp, r);
			break;
		}
		/* Someone else reads while this one works. */
		if (slow(&fb))
			hand_off(lp);
		pthread_mutex_unlock(&lp->lock);
		fuse_session_process_buf(lp->se, &fb);
		pthread_mutex_lock(&lp->lock);
	}
	if (my_lead)
		lp->leader = my_lead = false;
	pthread_mutex_unlock(&lp->lock);
	free(fb.mem);
	return NULL;
}

int loop_run(struct fuse_session *se, unsigned max_threads, unsigned spin_us)
{
	struct loop lp = {
		.se = se,
		.fd = fuse_session_fd(se),
		.spin_ns = (uint64_t)spin_us * 1000,
		.max = max_threads ? max_threads : 1,
	};
	sigset_t all, old;
	struct pollfd p;
	struct worker *w;
	uint64_t v;
	int fl;

	fl = fcntl(lp.fd, F_GETFL);
	if (fl < 0 || fcntl(lp.fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	lp.wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	lp.done = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lp.wake < 0 || lp.done < 0) {
		int e = -errno;

		if (lp.wake >= 0)
			close(lp.wake);
		return e;
	}
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.cond, NULL);

	/* The workers inherit a mask that blocks every signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&lp.lock);
	spawn(&lp);
	if (!lp.threads)
		stop(&lp, -EAGAIN);
	pthread_mutex_unlock(&lp.lock);

	/* Wait for the end with the caller's signals open, atomically. */
	p = (struct pollfd){ .fd = lp.done, .events = POLLIN };
	while (!lp.exiting && !fuse_session_exited(se))
		if (ppoll(&p, 1, NULL, &old) < 0 && errno != EINTR)
			break;
	pthread_mutex_lock(&lp.lock);
	stop(&lp, 0);
	pthread_mutex_unlock(&lp.lock);
	/* No thread is made once exiting is set: the list is complete. */
	while ((w = lp.workers)) {
		lp.workers = w->next;
		pthread_join(w->tid, NULL);
		free(w);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (read(lp.done, &v, sizeof(v)) < 0) {
		/* Nothing was pending. */
	}
	close(lp.wake);
	close(lp.done);
	pthread_cond_destroy(&lp.cond);
	pthread_mutex_destroy(&lp.lock);
	fcntl(lp.fd, F_SETFL, fl);
	return lp.error;
}
