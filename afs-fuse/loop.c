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
 * The caller blocks them before it makes any thread of its own.
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
	uint64_t gen;		/* counts the times the role was taken or revoked */
	uint64_t busy_gen;	/* the leader's gen while it answers a request
				 * itself, else 0 */
	uint64_t busy_since;
	bool polling;		/* the leader waits in poll(2): all is idle */
	bool wd_idle;		/* the watchdog waits for the end of that */
	pthread_cond_t wd_cond;
	pthread_t wd;
	_Atomic bool exiting;
	unsigned threads, idle;
	int error;		/* -errno from the device, or 0 */
	struct worker *workers;
};

/* A request the leader answers itself that takes longer than this loses
 * it the role (see watchdog()). */
#define WATCH_NS (10 * 1000000ull)

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
		pthread_cond_signal(&lp->wd_cond);
		kick(lp->wake);
		kick(lp->done);
	}
}

static void set_polling(struct loop *lp, bool on)
{
	pthread_mutex_lock(&lp->lock);
	lp->polling = on;
	if (!on && lp->wd_idle)
		pthread_cond_signal(&lp->wd_cond);
	pthread_mutex_unlock(&lp->lock);
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
			t = (uint64_t)mono_ns();
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
		set_polling(lp, true);
		r = poll(p, 2, -1) < 0 && errno != EINTR ? -errno : 0;
		set_polling(lp, false);
		if (r < 0)
			return r;
		if (p[1].revents)
			return 0;
	}
}

/* Whether the request in FB may keep its thread long (see above). */
static bool slow(const struct fuse_buf *fb)
{
	const struct fuse_in_header *in;

	/* libfuse leaves a request in its pipe when it carries more than a
	 * page (a write, a large setxattr): its header is not at hand. */
	if (fb->flags & FUSE_BUF_IS_FD)
		return fb->size > LOOP_INLINE_BYTES;
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
		return fb->size > LOOP_INLINE_BYTES;
	default:
		/* Among them opens for writing, setattr, link and xattr
		 * changes: their copy-up gives the role up itself when the
		 * file is large (loop_release_lead). */
		return false;
	}
}

static void *work(void *arg);

/* The loop of this thread, whether it holds the leader role, and the
 * generation it took it in. */
static __thread struct loop *my_loop;
static __thread bool my_lead;
static __thread uint64_t my_gen;

static void spawn(struct loop *lp);

/* Let another thread read: a follower woken, or a thread made.  Callers
 * hold the lock. */
static void next_leader(struct loop *lp)
{
	lp->leader = false;
	lp->busy_gen = 0;
	if (lp->idle)
		pthread_cond_signal(&lp->cond);
	else if (lp->threads < lp->max && !lp->exiting)
		spawn(lp);
}

/* Give the leader role up.  Callers hold the lock. */
static void hand_off(struct loop *lp)
{
	my_lead = false;
	next_leader(lp);
}

/* The safety net of answering requests in the leader: one that blocks
 * (a cold disk, a caller's /proc entry held by a thread waiting for
 * another request of this mount, an audit log that cannot keep up) would
 * hold every other request.  While requests come, this thread looks every
 * WATCH_NS; a leader found in the same request for longer loses the role
 * to another thread, and learns it by the generation when it is done.
 * Idle (the leader in poll), it sleeps until woken. */
static void *watchdog(void *arg)
{
	struct loop *lp = arg;
	struct timespec ts;
	uint64_t t;

	pthread_mutex_lock(&lp->lock);
	while (!lp->exiting) {
		if (lp->polling) {
			lp->wd_idle = true;
			pthread_cond_wait(&lp->wd_cond, &lp->lock);
			lp->wd_idle = false;
			continue;
		}
		t = (uint64_t)mono_ns() + WATCH_NS;
		ts.tv_sec = (time_t)(t / 1000000000u);
		ts.tv_nsec = (long)(t % 1000000000u);
		pthread_cond_timedwait(&lp->wd_cond, &lp->lock, &ts);
		t = (uint64_t)mono_ns();
		if (lp->busy_gen && lp->busy_gen == lp->gen && t - lp->busy_since >= WATCH_NS) {
			lp->gen++;
			next_leader(lp);
		}
	}
	pthread_mutex_unlock(&lp->lock);
	return NULL;
}

void loop_release_lead(void)
{
	struct loop *lp = my_loop;

	if (!lp || !my_lead)
		return;
	pthread_mutex_lock(&lp->lock);
	if (lp->gen == my_gen)
		hand_off(lp);
	else
		my_lead = false;
	pthread_mutex_unlock(&lp->lock);
}

/* Add a thread; callers hold the lock.  A failure leaves fewer threads. */
static void spawn(struct loop *lp)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return;
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
			my_gen = ++lp->gen;
		}
		pthread_mutex_unlock(&lp->lock);
		r = receive(lp, &fb);
		pthread_mutex_lock(&lp->lock);
		if (r <= 0) {
			stop(lp, r);
			break;
		}
		if (slow(&fb)) {
			/* Someone else reads while this one works. */
			hand_off(lp);
		} else {
			lp->busy_gen = my_gen;
			lp->busy_since = (uint64_t)mono_ns();
		}
		pthread_mutex_unlock(&lp->lock);
		fuse_session_process_buf(lp->se, &fb);
		pthread_mutex_lock(&lp->lock);
		if (my_lead && lp->gen != my_gen)
			my_lead = false;	/* the watchdog gave the role away */
		else if (my_lead)
			lp->busy_gen = 0;
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
	sigset_t all, old, wait;
	struct pollfd p;
	bool wd;
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
	{
		pthread_condattr_t ca;

		/* The watchdog's deadlines are on the monotonic clock. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&lp.wd_cond, &ca);
		pthread_condattr_destroy(&ca);
	}

	/* The threads inherit a mask that blocks every signal; this one
	 * takes SIGINT and SIGTERM (blocked by the caller until now, so that
	 * no other thread took one) only inside ppoll. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	wait = old;
	sigdelset(&wait, SIGINT);
	sigdelset(&wait, SIGTERM);
	pthread_mutex_lock(&lp.lock);
	wd = pthread_create(&lp.wd, NULL, watchdog, &lp) == 0;
	spawn(&lp);
	if (!lp.threads || !wd)
		stop(&lp, -EAGAIN);
	pthread_mutex_unlock(&lp.lock);

	p = (struct pollfd){ .fd = lp.done, .events = POLLIN };
	while (!lp.exiting && !fuse_session_exited(se))
		if (ppoll(&p, 1, NULL, &wait) < 0 && errno != EINTR)
			break;
	pthread_mutex_lock(&lp.lock);
	stop(&lp, 0);
	pthread_mutex_unlock(&lp.lock);
	if (wd)
		pthread_join(lp.wd, NULL);
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
	pthread_cond_destroy(&lp.wd_cond);
	pthread_mutex_destroy(&lp.lock);
	fcntl(lp.fd, F_SETFL, fl);
	return lp.error;
}
