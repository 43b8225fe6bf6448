/* ops_file.c - the FUSE ops on files: open, read, write, release, and
 * the rest on open handles; the read buffer and the read-ahead.
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

/* ---- files ------------------------------------------------------------------- */

/* The kernel reads ahead 128 KiB through FUSE, a READ request each: a
 * cold sequential read then costs twice the native one here.  512 KiB
 * measured best (1 MiB requests no longer fit the splice pipe and cost
 * ten times more).  Set at the first open, since the INIT reply can only
 * lower it; only root may, others keep the kernel's. */
static void tune_readahead(struct fs *fs)
{
	int fd;

	if (!fs->ra_path || __atomic_load_n(&fs->ra_done, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&fs->ra_done, 1, __ATOMIC_RELAXED))
		return;
	fd = open(fs->ra_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "512\n", 4) != 4) {
		/* The kernel's read-ahead stays: slower, not wrong. */
	}
	close(fd);
}

void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	char path[POLICY_MAX_PATH];
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct node *n = ino_node(fs, ino);
	struct estate es;
	struct stat st;
	bool have_st;
	int r = gate(req, fs, ino, writing ? NEED_WRITE : NEED_READ, path, NULL, &es), fd;
	int refused = r;	/* the gate's: the level */

	tune_readahead(fs);
	/* The slot first: a refused open copies nothing up. */
	if (!r && !open_slot(fs))
		r = -EMFILE;
	if (!r && writing && (r = copy_up(fs, n, path)) != 0)
		open_slot_free(fs);
	if (r) {
		if (r == refused && r == -EACCES && path[0] && auditing(fs, AUDIT_DENY)) {
			struct event ev = { .op = "open", .path = path,
					    .mode = open_mode(fi->flags), .bytes = -1 };

			audit_emit(req, fs, &ev, "deny", EACCES);
		}
		fuse_reply_err(req, -r);
		return;
	}
	/* O_TRUNC frees the file's data. */
	int64_t before = writing && (fi->flags & O_TRUNC) ? upper_data(fs, path) : 0;

	/* Without O_DIRECT: the kernel hands afs-fuse unaligned buffers. */
	fd = backing_open_file(fs->b, writing ? UPPER : layer_of(&es), path,
			       fi->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT), 0);
	if (fd >= 0 && before)
		quota_add(fs, -before);
	if (fd < 0) {
		open_slot_free(fs);
		fuse_reply_err(req, -fd);
		return;
	}
	have_st = fstat(fd, &st) == 0;
	if (have_st) {
		/* Keep the page cache when the file has not changed since the
		 * last open.  A file of the delta with more names may have
		 * been written through another node within one tick of its
		 * clock: its cache is dropped at every open (close-to-open, as
		 * NFS).  One of SOURCE cannot be: a write copies it up. */
		pthread_mutex_lock(&fs->lock);
		fi->keep_cache = (st.st_nlink == 1 || (!writing && !es.in_upper)) &&
				 n->mtime.tv_sec == st.st_mtim.tv_sec &&
				 n->mtime.tv_nsec == st.st_mtim.tv_nsec && n->size == st.st_size;
		n->mtime = st.st_mtim;
		n->size = st.st_size;
		pthread_mutex_unlock(&fs->lock);
	}
	fi->fh = (uint64_t)(uintptr_t)handle_new(req, fs, n, fd, writing ? UPPER : layer_of(&es),
						 path, fi->flags, writing);
	if (!fi->fh) {
		close(fd);
		open_slot_free(fs);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (have_st)
		open_io(req, fs, fi, H(fi), &st);
	/* No FLUSH on close: writes reach the backing file before their
	 * reply (no writeback cache), so a flush has nothing to report;
	 * mappings are written back when they are unmapped. */
	fi->noflush = 1;
	/* After this open's own record (made under the old name), before the
	 * reply that lets the exec go on. */
	if (fi->flags & OPEN_EXEC)
		__atomic_add_fetch(&exec_gen, 1, __ATOMIC_RELAXED);
	fuse_reply_open(req, fi);
}

/* One read buffer per FUSE thread, as large as its largest read, freed
 * when the thread ends; NULL when out of memory (the read answers ENOMEM). */
struct rbuf {
	char *p;
	size_t cap;
};

static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_free(void *arg)
{
	struct rbuf *rb = arg;

	free(rb->p);
	free(rb);
}

static void rbuf_init(void)
{
	if (pthread_key_create(&rbuf_key, rbuf_free) != 0)
		abort();
}

static struct rbuf *thread_rbuf(size_t size)
{
	struct rbuf *rb;

	pthread_once(&rbuf_once, rbuf_init);
	rb = pthread_getspecific(rbuf_key);
	if (!rb) {
		rb = calloc(1, sizeof(*rb));
		if (!rb || pthread_setspecific(rbuf_key, rb) != 0) {
			free(rb);
			return NULL;
		}
	}
	if (rb->cap < size) {
		char *p = realloc(rb->p, size);

		if (!p)
			return NULL;
		rb->p = p;
		rb->cap = size;
	}
	return rb;
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	struct rbuf *rb;
	ssize_t n;

	(void)ino;
	if (!h->record) {
		/* Nothing to count: let libfuse splice from the fd. */
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = h->fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	rb = thread_rbuf(size);
	if (!rb) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = pread(h->fd, rb->p, size, off);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	__atomic_add_fetch(&h->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_buf(req, rb->p, (size_t)n);
}

void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
		  struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	struct handle *h = H(fi);
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0;
	ssize_t n;

	drop_privs(req, fs, ino, h);
	if (quota) {
		if (fstat(h->fd, &s0) < 0) {
			fuse_reply_err(req, errno);
			return;
		}
		if (over_quota(fs, off + (off_t)fuse_buf_size(in) - s0.st_size)) {
			fuse_reply_err(req, ENOSPC);
			return;
		}
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (quota && fstat(h->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	__atomic_add_fetch(&h->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}

void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int fd = H(fi)->fd;

	(void)ino;
	fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0);
}

void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct handle *h = H(fi), **pp;

	(void)ino;
	if (h->node) {
		pthread_mutex_lock(&fs->lock);
		for (pp = &h->node->handles; *pp && *pp != h; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = h->next;
		pthread_mutex_unlock(&fs->lock);
	}
	close(h->fd);
	if (h->record) {
		/* The open, with what went through it, dated when it opened. */
		struct event ev = { .op = "open", .path = h->path, .mode = h->mode,
				    .bytes = h->bytes, .ts = &h->opened, .pid = h->pid,
				    .uid = h->uid, .comm = h->comm };

		audit_emit(NULL, fs, &ev, "allow", 0);
	}
	free(h);
	open_slot_free(fs);
	fuse_reply_err(req, 0);
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
		  struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0 && fstat(H(fi)->fd, &s0) == 0;
	int r;

	(void)ino;
	if (quota && !(mode & FALLOC_FL_PUNCH_HOLE) && over_quota(fs, len)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	r = fallocate(H(fi)->fd, mode, off, len) < 0 ? -errno : 0;
	if (quota && fstat(H(fi)->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	fuse_reply_err(req, -r);
}

void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	      struct fuse_file_info *fi)
{
	off_t r = lseek(H(fi)->fd, off, whence);

	(void)ino;
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			struct fuse_file_info *fi_out, size_t len, int flags)
{
	ssize_t n;

	(void)ino_in;
	(void)ino_out;
	struct fs *fs = FS(req);
	struct stat s0, s1;
	bool quota = fs->quota > 0 && fstat(H(fi_out)->fd, &s0) == 0;

	if (quota && over_quota(fs, off_out + (off_t)len - s0.st_size)) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	/* Both handles were opened through the gate: reading and writing. */
	n = copy_file_range(H(fi_in)->fd, &off_in, H(fi_out)->fd, &off_out, len,
			    (unsigned)flags);
	if (quota && fstat(H(fi_out)->fd, &s1) == 0)
		quota_add(fs, data_of(&s1) - data_of(&s0));
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	__atomic_add_fetch(&H(fi_in)->bytes, n, __ATOMIC_RELAXED);
	__atomic_add_fetch(&H(fi_out)->bytes, n, __ATOMIC_RELAXED);
	fuse_reply_write(req, (size_t)n);
}
