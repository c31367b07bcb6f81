/*
 * iomgr.h - the I/O manager: FUSE low-level requests become FLT_CALLBACK_DATA
 * for the filter stack, then operations on the back end, then FUSE replies.
 *
 * Every handler follows one shape: io_begin (callback data on the stack,
 * the file object, the requestor), io_pre (pre callbacks, unless no instance
 * registered the major function), the file system step reading the
 * parameters the filters may have changed, io_post (post callbacks), and
 * exactly one FUSE reply derived from IoStatus.  docs/irp-mapping.md is the
 * table of which request becomes which IRP.
 */
#ifndef ALTITUDE_IOMGR_H
#define ALTITUDE_IOMGR_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "fltmgr/fm.h"
#include "fsback/fsback.h"
#include "rtl/fiber.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>

/* A handler's frames live across a pended operation and may go on on
 * another thread (loop.c): errno is read through a call the compiler never
 * folds, not at an address computed on the first thread. */
#undef errno
#define errno (*rtl_fiber_errno())

/* Longest volume-relative name a filter sees, in UTF-16 code units. */
#define IO_NAME_MAX 4096

struct io_volume {
	struct fm_volume *fm;
	struct fsb_fs fs;
	struct fuse_session *se;
	char *mountpoint;
	char *name;
	int root_fd;
	pthread_t thread;
	bool thread_started;
	unsigned conn_id; /* /sys/fs/fuse/connections/<id> */
	int loop_status;
	/* The serving loop (loop.c): worker threads, those waiting for a
	 * request, and requests in progress (pended ones included). */
	pthread_mutex_t loop_lock;
	pthread_cond_t loop_cond;
	unsigned workers, waiting;
	unsigned busy;
	LIST_ENTRY worker_list; /* struct io_worker */
	/* Files the kernel has open; those left when the session ends (the
	 * connection aborted under open files) are closed at unmount. */
	pthread_mutex_t files_lock;
	struct io_file *files;
};

/* An open file: a Linux open file description and its FILE_OBJECT. */
struct io_file {
	FILE_OBJECT fo;
	/* Holders: the kernel's open (or a filter's handle) and every
	 * ObReferenceObject; freed when the last one goes. */
	atomic_int refs;
	/* Filter-initiated opens (fltio.c): the handle is open, and the
	 * instance whose I/O it is (referenced). */
	bool handle_open;
	struct fm_instance *issuer;
	int fd;
	int flags;
	struct fsb_inode *inode;
	DIR *dir;
	off_t dir_offset; /* where dir stands, in telldir cookies */
	WCHAR *name_buf;
	bool direct; /* every read reaches the stack (FOPEN_DIRECT_IO) */
	struct io_file *open_prev, *open_next; /* on v->files while open */
	bool on_list;
	/* Counted in inode->opens (and ->writers, by flags' access mode)
	 * from the moment the file system opened it (io_file_count) until
	 * released. */
	bool counted;
	/* FltQueryDirectoryFile's scan of this directory (fltquery.c). */
	struct fq_scan *_Atomic scan;
};

struct io_op {
	struct fm_op_ctx fm;
	struct fm_requestor req;
	struct io_volume *v;
	fuse_req_t fuse; /* the kernel's request: interrupts cancel pended ops */
	bool wanted; /* some instance registered this major function */
	struct io_file tmp; /* transient file object for operations by path */
	WCHAR name[IO_NAME_MAX];
};

static inline struct io_volume *io_vol(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline struct fsb_inode *io_inode(struct io_volume *v, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &v->fs.root
				   : (struct fsb_inode *)(uintptr_t)ino;
}

static inline struct io_file *io_file(struct fuse_file_info *fi)
{
	return fi ? (struct io_file *)(uintptr_t)fi->fh : NULL;
}

static inline NTSTATUS io_status(struct io_op *op)
{
	return op->fm.data.IoStatus.Status;
}

static inline PFLT_PARAMETERS io_params(struct io_op *op)
{
	return &op->fm.iopb.Parameters;
}

/* ---- op.c: the common shape ---- */
void io_begin(struct io_op *op, fuse_req_t req, UCHAR major, UCHAR minor,
	      struct fsb_inode *inode, const char *child, struct io_file *file);
bool io_pre(struct io_op *op);
void io_post(struct io_op *op);
/* Records the file system's result: err < 0 is -errno. */
void io_done(struct io_op *op, int err, ULONG_PTR information);
/* errno for the reply (0 on success). */
int io_errno(struct io_op *op);
/* Volume-relative name "\dir\file" of inode (+ child) into us/buf. */
void io_name(struct io_volume *v, struct fsb_inode *inode, const char *child,
	     UNICODE_STRING *us, WCHAR *buf, size_t cap);
/* Operations on already-open files for CLEANUP/CLOSE. */
struct io_file *io_file_new(struct fsb_inode *inode);
/* Names f (volume-relative) if any instance is attached under op. */
void io_file_name(struct io_op *op, struct io_file *f, struct fsb_inode *inode,
		  const char *child);
void io_file_free(struct io_file *f);
/* The kernel's open of f (f->flags set) counts on its inode from here
 * on, before the post-create callbacks: what they do to the file (a link
 * into a store, FSCTL_LX_LINK_TO_DIRECTORY) sees the open the program is
 * about to get.  io_file_released or io_file_free undo it. */
void io_file_count(struct io_file *f);
/* The kernel opened f / released it: keeps v->files current. */
void io_file_opened(struct io_volume *v, struct io_file *f);
void io_file_released(struct io_volume *v, struct io_file *f);
/* Drops a reference; frees the file when it was the last. */
void io_file_put(struct io_file *f);
/* The io_file of a file object the I/O manager created, or NULL. */
struct io_file *io_file_of(PFILE_OBJECT fo);
void io_close_file(struct io_volume *v, fuse_req_t req, struct io_file *f);
void io_cleanup_close_transient(struct io_op *op, fuse_req_t req);

/* ---- dir.c ---- */
/* Longest directory entry name, in UTF-16 code units. */
#define IO_DIR_NAME_MAX 256
/* Fills e (all but NextEntryOffset and FileIndex; FileName has room for
 * IO_DIR_NAME_MAX units) for entry de of directory dfd, with the times and
 * sizes when with_stat; returns the name's length in units or -errno. */
ssize_t io_dir_entry(int dfd, const struct dirent *de, bool with_stat,
		     FILE_ID_EXTD_DIR_INFORMATION *e);

/* ---- fltquery.c ---- */
void fq_scan_free(struct fq_scan *scan);

/* ---- setid.c ---- */
/* Whether the caller holds CAP_FSETID: as the kernel said, or to find out. */
enum io_fsetid { IO_FSETID_ASK, IO_FSETID_NO, IO_FSETID_YES };
enum io_setid_change {
	IO_SETID_DATA, /* write, truncate, open with O_TRUNC */
	IO_SETID_OWNER, /* chown; a privilege drop the kernel asks for */
};
/* The set-id bits Linux drops from a file in state st when the caller of
 * req makes that change to it. */
mode_t io_setid_drop(fuse_req_t req, const struct stat *st,
		     enum io_setid_change change, enum io_fsetid fsetid);
/* After the caller of req wrote or truncated ino through fd: drops them,
 * and has the kernel forget the mode it cached. */
void io_setid_drop_data(fuse_req_t req, fuse_ino_t ino, int fd,
			enum io_fsetid fsetid);

/* ---- attr.c ---- */
void io_stat_to_lx(const struct stat *st, FILE_STAT_LX_INFORMATION *lx);
/* Back to struct stat; fields the filters left alone keep orig's precision. */
void io_lx_to_stat(const FILE_STAT_LX_INFORMATION *lx, const struct stat *orig,
		   struct stat *out);
LONGLONG io_ts_to_nt(const struct timespec *ts);
void io_nt_to_ts(LONGLONG nt, struct timespec *ts);
/* IO_REPARSE_TAG_LX_* of a file type (S_IFMT bits), 0 for files and dirs. */
ULONG io_reparse_tag(mode_t mode);
/* Attribute timeout for replies under a stack / under the current stack. */
double io_stack_attr_timeout(const struct fm_stack *s);
double io_attr_timeout(struct io_volume *v);
double io_entry_timeout(struct io_volume *v);
bool io_uncached_read(struct io_volume *v);
/* Fills e for parent/name after a successful creation or lookup. */
int io_make_entry(struct io_volume *v, struct fsb_inode *parent,
		  const char *name, struct fuse_entry_param *e);

/* ---- handlers, one file per concern ---- */
extern const struct fuse_lowlevel_ops io_ops;
void io_op_lookup(fuse_req_t, fuse_ino_t, const char *);
void io_op_forget(fuse_req_t, fuse_ino_t, uint64_t);
void io_op_forget_multi(fuse_req_t, size_t, struct fuse_forget_data *);
void io_op_getattr(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_setattr(fuse_req_t, fuse_ino_t, struct stat *, int,
		   struct fuse_file_info *);
void io_op_readlink(fuse_req_t, fuse_ino_t);
void io_op_mknod(fuse_req_t, fuse_ino_t, const char *, mode_t, dev_t);
void io_op_mkdir(fuse_req_t, fuse_ino_t, const char *, mode_t);
void io_op_symlink(fuse_req_t, const char *, fuse_ino_t, const char *);
void io_op_unlink(fuse_req_t, fuse_ino_t, const char *);
void io_op_rmdir(fuse_req_t, fuse_ino_t, const char *);
void io_op_rename(fuse_req_t, fuse_ino_t, const char *, fuse_ino_t,
		  const char *, unsigned int);
void io_op_link(fuse_req_t, fuse_ino_t, fuse_ino_t, const char *);
void io_op_open(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_create(fuse_req_t, fuse_ino_t, const char *, mode_t,
		  struct fuse_file_info *);
void io_op_read(fuse_req_t, fuse_ino_t, size_t, off_t, struct fuse_file_info *);
void io_op_write_buf(fuse_req_t, fuse_ino_t, struct fuse_bufvec *, off_t,
		     struct fuse_file_info *);
void io_op_flush(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_release(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_fsync(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
void io_op_opendir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_readdir(fuse_req_t, fuse_ino_t, size_t, off_t,
		   struct fuse_file_info *);
void io_op_readdirplus(fuse_req_t, fuse_ino_t, size_t, off_t,
		       struct fuse_file_info *);
void io_op_releasedir(fuse_req_t, fuse_ino_t, struct fuse_file_info *);
void io_op_fsyncdir(fuse_req_t, fuse_ino_t, int, struct fuse_file_info *);
void io_op_statfs(fuse_req_t, fuse_ino_t);
void io_op_setxattr(fuse_req_t, fuse_ino_t, const char *, const char *, size_t,
		    int);
void io_op_getxattr(fuse_req_t, fuse_ino_t, const char *, size_t);
void io_op_listxattr(fuse_req_t, fuse_ino_t, size_t);
void io_op_removexattr(fuse_req_t, fuse_ino_t, const char *);
void io_op_fallocate(fuse_req_t, fuse_ino_t, int, off_t, off_t,
		     struct fuse_file_info *);
void io_op_copy_file_range(fuse_req_t, fuse_ino_t, off_t,
			   struct fuse_file_info *, fuse_ino_t, off_t,
			   struct fuse_file_info *, size_t, int);
void io_op_lseek(fuse_req_t, fuse_ino_t, off_t, int, struct fuse_file_info *);

/* ---- tls.c: buffers of the fiber serving a request (of the thread, off
 * fibers), freed with it ---- */
struct io_target;
struct io_tls {
	struct fuse_buf fbuf; /* the request, as read from /dev/fuse */
	void *data; /* read and write payloads */
	size_t data_cap;
	void *dir_irp;
	size_t dir_irp_cap;
	void *dir_cookies;
	size_t dir_cookies_cap;
	void *dir_types;
	size_t dir_types_cap;
	void *dir_reply;
	size_t dir_reply_cap;
	size_t dir_entries; /* entries the dir buffers hold */
	void *ea;
	size_t ea_cap;
	struct io_target *target; /* rename/link target (namespace.c) */
};
struct io_tls *io_tls(void);
/* Grows *buf to at least need bytes; NULL on allocation failure. */
void *io_tls_grow(void **buf, size_t *cap, size_t need);

/* ---- initreply.c ---- */
/* The next successful reply on fd is its INIT reply: add the capabilities
 * libfuse cannot ask for. */
void io_initreply_expect(int fd);

/* ---- loop.c ---- */
/* Serves v's session until it ends, starting worker threads as requests
 * need them; returns once every worker has stopped. */
void io_loop_run(struct io_volume *v);
/* After the session was told to exit: interrupts the workers blocked
 * reading /dev/fuse so they see it. */
void io_loop_wake(struct io_volume *v);
/* Waits until no request of v is in progress: pended ones finish once
 * their filter completes them. */
void io_loop_drain(struct io_volume *v);

/* ---- session.c ---- */
/* Opens dir and creates the filter manager volume; nothing is mounted yet,
 * so filters can attach before the first operation arrives. */
int io_volume_create(const char *dir, const char *name, struct io_volume **out);
/* Mounts FUSE over the directory and starts serving it. */
int io_volume_start(struct io_volume *v);
/* Unmounts, tears every instance down (VOLUME_DISMOUNT) and frees v. */
void io_volume_unmount(struct io_volume *v);

#endif /* ALTITUDE_IOMGR_H */
