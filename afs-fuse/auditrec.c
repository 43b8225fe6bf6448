/* auditrec.c - the audit records of the FUSE ops: the process that
 * asked (its name cached per thread), the record, the rule that decided,
 * and which refusals are denials.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "auditlog.h"
#include "fs_int.h"
#include "ops_int.h"
#include "loop.h"
#include "util.h"

/* ---- audit records --------------------------------------------------------- */

/* Bumped at every open for exec: the process is about to take another
 * name, and a cached one would be wrong for its first second (found by
 * tests/t5004). */
unsigned exec_gen;

/* The command name of PID, from /proc, cached per thread for a second,
 * or until some process execs a file of the mount.  (Never its session:
 * the sandbox sets its own environment, so that comes from the caller
 * only, as --session.) */
void proc_of(pid_t pid, char comm[TASK_COMM_LEN])
{
	static __thread struct {
		pid_t pid;
		unsigned gen;
		time_t at;
		char comm[TASK_COMM_LEN];
	} cache[64];
	unsigned i = (unsigned)pid % 64;
	time_t now = time(NULL);
	char p[64];
	ssize_t n;
	int fd;

	unsigned gen = __atomic_load_n(&exec_gen, __ATOMIC_RELAXED);

	if (cache[i].pid == pid && now - cache[i].at < 1 && cache[i].gen == gen) {
		memcpy(comm, cache[i].comm, 16);
		return;
	}
	comm[0] = '\0';
	snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, TASK_COMM_LEN - 1);
		close(fd);
		if (n > 0 && comm[n - 1] == '\n')
			n--;
		comm[n > 0 ? n : 0] = '\0';
	}
	cache[i].pid = pid;
	cache[i].gen = gen;
	cache[i].at = now;
	memcpy(cache[i].comm, comm, 16);
}

bool auditing(const struct fs *fs, enum audit_level need)
{
	return fs->audit && auditlog_level(fs->audit) >= need;
}

/* Emit the record of EV with decision DECISION and errno ERR (0: none; a
 * record's errno, not an op's -errno), naming the rule that decides its
 * path. */
void audit_emit(fuse_req_t req, struct fs *fs, const struct event *ev,
		const char *decision, int err)
{
	const struct fuse_ctx *ctx = req ? fuse_req_ctx(req) : NULL;
	struct audit_rec r;
	struct verdict v;
	char comm[TASK_COMM_LEN], rule[POLICY_MAX_PATH + 32];

	audit_rec_init(&r);
	if (ev->ts)
		r.ts = *ev->ts;
	else
		clock_gettime(CLOCK_REALTIME, &r.ts);
	r.mount = auditlog_mount(fs->audit);
	r.pid = ev->pid ? ev->pid : ctx ? ctx->pid : 0;
	r.uid = ev->pid ? ev->uid : ctx ? ctx->uid : 0;
	r.has_uid = true;
	if (ev->pid) {
		r.comm = ev->comm && ev->comm[0] ? ev->comm : NULL;
	} else if (r.pid) {
		proc_of(r.pid, comm);
		r.comm = comm[0] ? comm : NULL;
	}
	/* The session of a mount made for one (--session); none otherwise. */
	r.session = auditlog_session(fs->audit);
	r.op = ev->op;
	r.path = ev->path;
	r.to = ev->to;
	r.mode = ev->mode;
	r.decision = decision;
	r.err = err;
	r.bytes = ev->bytes;
	/* The rule's strings live as long as the policy: format under it. */
	pthread_rwlock_rdlock(&fs->pol_lock);
	if (ev->path) {
		const char *rp = ev->rule_path ? ev->rule_path : ev->path;

		/* The ops reach a path through visible directories: deciding
		 * the path alone names the rule, without the ancestors' cost. */
		policy_decide(fs->pol, rp, strlen(rp), false, &v);
		if (v.rule) {
			snprintf(rule, sizeof(rule), "%s:%d", v.rule->file, v.rule->line);
			r.rule = rule;
			r.reason = v.rule->reason;
		} else {
			r.rule = v.why == WHY_IMPLICIT ? "implicit" : "default";
		}
	}
	auditlog_emit(fs->audit, &r);
	pthread_rwlock_unlock(&fs->pol_lock);
}

/* The record of an op that changes the tree, after it answered R (0 or
 * -errno): a denial at deny level (R is REFUSED, the -errno afs's own
 * decision gave: authz.c's, not a backing call's, nor a directory rename's
 * EXDEV, which only tells mv to copy), a done change at write level. */
void audit_change(fuse_req_t req, struct fs *fs, const struct event *ev, int r,
		  bool hidden, int refused)
{
	if (hidden && auditing(fs, AUDIT_DENY))
		audit_emit(req, fs, ev, "hide", ENOENT);
	else if (r && r == refused && (r == -EACCES || r == -EPERM) && auditing(fs, AUDIT_DENY))
		audit_emit(req, fs, ev, "deny", -r);
	else if (r == 0 && auditing(fs, AUDIT_WRITE))
		audit_emit(req, fs, ev, "allow", 0);
}
