/* ops_int.h - what the files of afs-fuse's FUSE operations share: the
 * ops are split by job (ops.c: lookup, attributes, names; ops_file.c,
 * ops_dir.c, ops_xattr.c; handle.c, copyup.c, auditrec.c), every one
 * gated by fs.c and judged by authz.c (doc/architecture.md, which says
 * too how they answer: 0 or -errno, negated only in an op's reply).
 */
#ifndef AFS_FUSE_OPS_INT_H
#define AFS_FUSE_OPS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "auditlog.h"
#include "fs_int.h"
#include "util.h"

/* open(2) passes this for an exec (the kernel's __FMODE_EXEC). */
#define OPEN_EXEC 040

/* What an audit record of an op knows. */
struct event {
	const char *op;
	const char *path;
	const char *to;
	const char *mode;
	int64_t bytes;		/* -1: none */
	const struct timespec *ts;	/* NULL: now */
	pid_t pid;		/* 0: the request's */
	uid_t uid;
	const char *comm;	/* with pid: as the process was at the time */
	const char *rule_path;	/* whose rule decided, when not PATH's */
};

/* An open file. */
struct handle {
	int fd;
	enum layer layer;	/* where fd is: writes through it need UPPER */
	struct node *node;
	struct handle *next;	/* the node's other open files (fs->lock) */
	bool record;		/* an open record is due at release */
	bool unpriv;		/* a writer without privileges (see drop_privs) */
	bool killpriv;		/* atomic: the file may have setuid/setgid for
				 * its next write to drop */
	int64_t bytes;		/* read or written through it */
	struct timespec opened;
	pid_t pid;
	uid_t uid;
	char comm[TASK_COMM_LEN];		/* read at open: the process may be gone at release */
	char mode[3];
	char path[];
};

/* A name in a directory, for the ops that make, remove or rename it. */
struct child {
	struct node *dir;
	char dpath[POLICY_MAX_PATH];
	struct estate des;
	char path[POLICY_MAX_PATH];
	bool exists;
	struct estate es;
	struct stat st;
	enum level level;
	unsigned gen;
	bool hidden;	/* it exists, at none */
	int refused;	/* the -errno authz.c refused it with, or 0 */
};

static inline struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct handle *H(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static inline enum layer layer_of(const struct estate *es)
{
	return es->in_upper ? UPPER : LOWER;
}

/* ops.c: lookup, where an entry lives, names */
int join(const char *dir, const char *name, char *out);
enum level decide(struct fs *fs, const char *path, bool is_dir, unsigned *gen);
int do_lookup(struct fs *fs, struct node *dir, const char *dpath,
	      const struct estate *des, const struct dirfds *dirs, const char *name,
	      struct fuse_entry_param *e, char *hidden);
int ensure_upper_dir(struct fs *fs, struct node *n);

/* auditrec.c */
void proc_of(pid_t pid, char comm[TASK_COMM_LEN]);
bool auditing(const struct fs *fs, enum audit_level need);
void audit_emit(fuse_req_t req, struct fs *fs, const struct event *ev,
		const char *decision, int err);
void audit_change(fuse_req_t req, struct fs *fs, const struct event *ev, int r,
		  bool hidden, int refused);
extern unsigned exec_gen;

/* handle.c */
bool in_group(fuse_req_t req, gid_t gid);
void open_io(fuse_req_t req, struct fs *fs, struct fuse_file_info *fi,
	     struct handle *h, const struct stat *st);
void drop_privs(fuse_req_t req, struct fs *fs, fuse_ino_t ino, struct handle *h);
void arm_drop_privs(struct fs *fs, struct node *n);
const char *open_mode(int flags);
void hide_nlink(struct stat *st);
void show_attr(struct fs *fs, struct node *n, struct stat *st);
bool open_slot(struct fs *fs);
void open_slot_free(struct fs *fs);
struct handle *handle_new(fuse_req_t req, struct fs *fs, struct node *n, int fd,
			  enum layer layer, const char *path, int flags, bool writing);
int node_open_fd(struct fs *fs, struct node *n, enum layer layer, bool any);
double attr_timeout(const struct fs *fs, const struct stat *st);

/* copyup.c */
int64_t data_of(const struct stat *st);
bool over_quota(struct fs *fs, int64_t more);
void quota_add(struct fs *fs, int64_t d);
int64_t upper_data(struct fs *fs, const char *path);
int copy_up(struct fs *fs, struct node *n, const char *path);
int refresh(struct fs *fs, struct node *n, const char *path);
void node_move(struct fs *fs, struct node *n, struct node *dir, char *name);

/* ops_file.c */
void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi);
void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
		  struct fuse_file_info *fi);
void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi);
void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi);
void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags);

/* ops_xattr.c */
void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		 size_t size, int flags);
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ops_dir.c */
void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#endif
