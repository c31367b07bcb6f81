/*
 * op.c - the shape every I/O manager handler shares: building the callback
 * data and the file object, running the stack, recording the file system's
 * result, and closing files with CLEANUP then CLOSE.
 *
 * A file object exists for every operation.  Opens (open, create, opendir)
 * allocate one that lives until release; operations a program makes by path
 * (stat, chmod, unlink, rename, mkdir ...) use a transient one in the
 * struct io_op on the handler's stack.  Names are built only while at least
 * one instance is attached, so an unfiltered volume pays nothing for them.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IO_TYPE_FILE 5

void io_name(struct io_volume *v, struct fsb_inode *inode, const char *child,
	     UNICODE_STRING *us, WCHAR *buf, size_t cap)
{
	char path[PATH_MAX * 2];
	ssize_t n = fsb_path(&v->fs, inode, child, path, sizeof(path));

	us->Buffer = buf;
	us->Length = 0;
	us->MaximumLength = (USHORT)min(cap * sizeof(WCHAR), 0xfffe);
	if (n < 0)
		return;
	n = rtl_path_to_utf16(path, (size_t)n, buf, cap);
	if (n > 0 && (size_t)n * sizeof(WCHAR) <= 0xfffe)
		us->Length = (USHORT)(n * sizeof(WCHAR));
}

static void io_fo_init(FILE_OBJECT *fo, struct fsb_inode *inode, void *fs2)
{
	memset(fo, 0, sizeof(*fo));
	fo->Type = IO_TYPE_FILE;
	fo->Size = sizeof(*fo);
	fo->FsContext = inode;
	fo->FsContext2 = fs2;
	fo->Flags = FO_SYNCHRONOUS_IO | FO_CACHE_SUPPORTED;
}

/* A signal to the program while a filter holds its operation: cancel it. */
static void io_interrupted(fuse_req_t req, void *data)
{
	struct io_op *op = data;

	(void)req;
	fm_op_cancel(&op->fm);
}

/* Armed only while a callback has the operation pended; disarming waits
 * for an io_interrupted already running (libfuse holds the request's lock
 * around it), so op outlives every cancel. */
static void io_on_pend(struct fm_op_ctx *fm, bool pended)
{
	struct io_op *op = fm->issuer;

	if (pended)
		fuse_req_interrupt_func(op->fuse, io_interrupted, op);
	else
		fuse_req_interrupt_func(op->fuse, NULL, NULL);
}

void io_begin(struct io_op *op, fuse_req_t req, UCHAR major, UCHAR minor,
	      struct fsb_inode *inode, const char *child, struct io_file *file)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct io_volume *v = io_vol(req);
	PFILE_OBJECT fo;

	op->v = v;
	op->req.tid = ctx->pid;
	op->req.pid = 0;
	op->req.uid = ctx->uid;
	op->req.gid = ctx->gid;
	op->req.umask = ctx->umask;
	if (file) {
		fo = &file->fo;
	} else {
		op->tmp.fd = -1;
		op->tmp.inode = inode;
		op->tmp.dir = NULL;
		op->tmp.name_buf = NULL;
		io_fo_init(&op->tmp.fo, child ? NULL : inode, NULL);
		fo = &op->tmp.fo;
	}
	fm_op_init(&op->fm, v->fm, major, minor, fo, &op->req);
	op->fm.mdls = NULL;
	op->fuse = req;
	op->fm.on_pend = io_on_pend;
	op->fm.issuer = op;
	op->wanted = op->fm.stack->n_major[op->fm.major_idx] > 0;
	if (!file && op->fm.stack->any_ops)
		io_name(v, inode, child, &fo->FileName, op->name, IO_NAME_MAX);
}

bool io_pre(struct io_op *op)
{
	if (!op->wanted)
		return true;
	return fm_op_pre(&op->fm);
}

void io_post(struct io_op *op)
{
	PFILE_OBJECT fo = op->fm.iopb.TargetFileObject;
	UCHAR major = op->fm.iopb.MajorFunction;

	fm_op_complete(&op->fm);
	fm_op_mdls_free(&op->fm);
	/* A transient file object ends with its operation (a create's with
	 * the CLOSE that follows it). */
	if (fo == &op->tmp.fo && fo->FileObjectExtension && major != IRP_MJ_CREATE)
		fm_file_object_gone(op->v->fm, fo);
}

void io_done(struct io_op *op, int err, ULONG_PTR information)
{
	op->fm.data.IoStatus.Status =
		err < 0 ? rtl_errno_to_status(-err) : STATUS_SUCCESS;
	op->fm.data.IoStatus.Information = err < 0 ? 0 : information;
}

int io_errno(struct io_op *op)
{
	NTSTATUS st = io_status(op);
	int err;

	if (NT_SUCCESS(st))
		return 0;
	err = rtl_status_to_errno(st);
	return err > 0 ? err : EIO;
}

struct io_file *io_file_new(struct fsb_inode *inode)
{
	struct io_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	f->fd = -1;
	f->inode = inode;
	io_fo_init(&f->fo, inode, f);
	return f;
}

void io_file_name(struct io_op *op, struct io_file *f, struct fsb_inode *inode,
		  const char *child)
{
	UNICODE_STRING us;

	if (!op->fm.stack->any_ops)
		return;
	io_name(op->v, inode, child, &us, op->name, IO_NAME_MAX);
	f->name_buf = malloc(us.Length + sizeof(WCHAR));
	if (!f->name_buf)
		return;
	memcpy(f->name_buf, op->name, us.Length);
	f->fo.FileName.Buffer = f->name_buf;
	f->fo.FileName.Length = us.Length;
	f->fo.FileName.MaximumLength = us.Length;
}

/* f->flags' access mode is set before the count and never changes. */
static bool io_file_writes(const struct io_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

static void io_file_uncount(struct io_file *f)
{
	if (!f->counted)
		return;
	atomic_fetch_sub(&f->inode->opens, 1);
	if (io_file_writes(f))
		atomic_fetch_sub(&f->inode->writers, 1);
	f->counted = false;
}

void io_file_count(struct io_file *f)
{
	if (f->counted || !f->inode)
		return;
	f->counted = true;
	atomic_fetch_add(&f->inode->opens, 1);
	if (io_file_writes(f))
		atomic_fetch_add(&f->inode->writers, 1);
}

void io_file_free(struct io_file *f)
{
	if (!f)
		return;
	io_file_uncount(f); /* an open that failed after the count */
	f->fo.FsContext2 = NULL;
	fq_scan_free(f->scan);
	free(f->name_buf);
	free(f);
}

void io_file_put(struct io_file *f)
{
	if (f && atomic_fetch_sub(&f->refs, 1) == 1)
		io_file_free(f);
}

struct io_file *io_file_of(PFILE_OBJECT fo)
{
	struct io_file *f;

	if (!fo)
		return NULL;
	f = CONTAINING_RECORD(fo, struct io_file, fo);
	return fo->FsContext2 == f ? f : NULL;
}

/* Filters may keep a file object past its operation. */
VOID NTAPI ObReferenceObject(PVOID Object)
{
	struct io_file *f = io_file_of(Object);

	if (f)
		atomic_fetch_add(&f->refs, 1);
}

void io_file_opened(struct io_volume *v, struct io_file *f)
{
	pthread_mutex_lock(&v->files_lock);
	f->open_prev = NULL;
	f->open_next = v->files;
	if (v->files)
		v->files->open_prev = f;
	v->files = f;
	f->on_list = true;
	pthread_mutex_unlock(&v->files_lock);
	io_file_count(f); /* if the open path did not already */
}

void io_file_released(struct io_volume *v, struct io_file *f)
{
	pthread_mutex_lock(&v->files_lock);
	io_file_uncount(f);
	if (f->on_list) {
		if (f->open_prev)
			f->open_prev->open_next = f->open_next;
		else
			v->files = f->open_next;
		if (f->open_next)
			f->open_next->open_prev = f->open_prev;
		f->on_list = false;
	}
	pthread_mutex_unlock(&v->files_lock);
}

/* CLEANUP (the last handle is gone) then CLOSE (nothing can use it again);
 * the descriptor is closed at CLOSE whatever the filters say. */
void io_close_file(struct io_volume *v, fuse_req_t req, struct io_file *f)
{
	struct io_op op;

	io_file_released(v, f);
	io_begin(&op, req, IRP_MJ_CLEANUP, 0, f->inode, NULL, f);
	if (io_pre(&op))
		io_done(&op, 0, 0);
	io_post(&op);
	io_begin(&op, req, IRP_MJ_CLOSE, 0, f->inode, NULL, f);
	if (io_pre(&op))
		io_done(&op, 0, 0);
	if (f->dir)
		closedir(f->dir);
	else if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->dir = NULL;
	io_post(&op);
	fm_file_object_gone(io_vol(req)->fm, &f->fo);
	io_file_put(f);
}

void io_cleanup_close_transient(struct io_op *op, fuse_req_t req)
{
	static const UCHAR majors[2] = { IRP_MJ_CLEANUP, IRP_MJ_CLOSE };
	struct io_volume *v = io_vol(req);
	unsigned i;

	for (i = 0; i < 2; i++) {
		fm_op_init(&op->fm, v->fm, majors[i], 0, &op->tmp.fo, &op->req);
		op->fm.mdls = NULL;
		op->wanted = op->fm.stack->n_major[op->fm.major_idx] > 0;
		if (io_pre(op))
			io_done(op, 0, 0);
		io_post(op);
	}
}
