/*
 * readwrite.c - IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_FLUSH_BUFFERS and the
 * data-path requests around them (fallocate, copy_file_range, lseek).
 *
 * What a Windows filter expects to see of a program's read(2) or write(2)
 * is cached I/O, and beneath it the paging I/O that moves the data between
 * the cache and the disk.  The volume caches write-through, so a write(2)
 * becomes a cached IRP_MJ_WRITE with the paging write (IRP_PAGING_IO |
 * IRP_NOCACHE) that puts its data on disk nested inside it; the program's
 * result is the paging write's.  A read(2) of a file opened uncached is a
 * cached IRP_MJ_READ with the paging read nested inside; a read of a
 * page-cached file is the kernel filling its cache, a paging read alone.
 * mmap write-back is a paging write alone, O_DIRECT I/O a non-cached,
 * non-paging IRP.  A filter registered with SKIP_CACHED_IO therefore sees
 * exactly the data that reaches the disk, and one with SKIP_PAGING_IO the
 * program's calls.
 *
 * The file system step reads and writes the buffer the parameters name
 * after the pre callbacks: the MDL's when MdlAddress is set (a filter that
 * swapped buffers may set only that), ReadBuffer/WriteBuffer otherwise.
 *
 * Data reaches filters in a per-thread buffer, so the data path allocates
 * nothing; when no instance registered the major function the data moves
 * between /dev/fuse and the file without a copy (splice), as in libfuse's
 * passthrough_ll.  O_DIRECT data goes through a page-aligned buffer, as
 * the file system underneath requires.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_DIRECT_ALIGN 4096

/* The thread's data buffer, page aligned (contents are not kept). */
static char *io_buffer(size_t size)
{
	struct io_tls *t = io_tls();
	void *p;

	if (!t)
		return NULL;
	if (size <= t->data_cap && t->data)
		return t->data;
	size = ALIGN_UP_BY(size ? size : 1, IO_DIRECT_ALIGN);
	if (posix_memalign(&p, IO_DIRECT_ALIGN, size))
		return NULL;
	free(t->data);
	t->data = p;
	t->data_cap = size;
	return p;
}

enum io_data_kind {
	IO_DATA_CACHED, /* a program's read(2)/write(2) */
	IO_DATA_PAGING, /* cache fill or write-back */
	IO_DATA_NOCACHE, /* O_DIRECT */
};

static ULONG io_data_flags(enum io_data_kind kind, ULONG op)
{
	switch (kind) {
	case IO_DATA_PAGING:
		return op | IRP_PAGING_IO | IRP_NOCACHE | IRP_SYNCHRONOUS_PAGING_IO;
	case IO_DATA_NOCACHE:
		return op | IRP_NOCACHE | IRP_SYNCHRONOUS_API;
	default:
		return op | IRP_SYNCHRONOUS_API;
	}
}

/* The file system's part of a read: pread, STATUS_END_OF_FILE at the end. */
static void io_read_fs(struct io_op *op, struct io_file *f)
{
	PFLT_PARAMETERS p = io_params(op);
	ssize_t n = pread(f->fd,
			  fm_data_address(p->Read.ReadBuffer, p->Read.MdlAddress),
			  p->Read.Length, p->Read.ByteOffset.QuadPart);

	if (n == 0 && p->Read.Length) {
		op->fm.data.IoStatus.Status = STATUS_END_OF_FILE;
		op->fm.data.IoStatus.Information = 0;
	} else {
		io_done(op, n < 0 ? -errno : 0, (ULONG_PTR)n);
	}
}

static void io_write_fs(struct io_op *op, struct io_file *f)
{
	PFLT_PARAMETERS p = io_params(op);
	ssize_t n = pwrite(f->fd,
			   fm_data_address(p->Write.WriteBuffer, p->Write.MdlAddress),
			   p->Write.Length, p->Write.ByteOffset.QuadPart);

	io_done(op, n < 0 ? -errno : 0, (ULONG_PTR)n);
}

/*
 * Runs a cached data IRP with the paging IRP nested inside it, or a
 * single IRP of the given kind.  op is begun and its parameters set.
 */
static void io_data_run(fuse_req_t req, struct io_op *op, struct io_file *f,
			enum io_data_kind kind,
			void (*fs)(struct io_op *, struct io_file *))
{
	UCHAR major = op->fm.iopb.MajorFunction;
	ULONG opflag = major == IRP_MJ_READ ? IRP_READ_OPERATION
					    : IRP_WRITE_OPERATION;

	op->fm.iopb.IrpFlags = io_data_flags(kind, opflag);
	if (!io_pre(op)) {
		io_post(op);
		return;
	}
	if (kind == IO_DATA_CACHED) {
		struct io_op pg;

		io_begin(&pg, req, major, IRP_MN_NORMAL, f->inode, NULL, f);
		pg.fm.iopb.IrpFlags = io_data_flags(IO_DATA_PAGING, opflag);
		pg.fm.iopb.Parameters = op->fm.iopb.Parameters;
		if (io_pre(&pg))
			fs(&pg, f);
		io_post(&pg);
		op->fm.data.IoStatus = pg.fm.data.IoStatus;
	} else {
		fs(op, f);
	}
	io_post(op);
}

void io_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);
	bool odirect = f->flags & O_DIRECT;
	struct io_op op;
	PFLT_PARAMETERS p;
	char *buf;
	int err;

	(void)ino;
	io_begin(&op, req, IRP_MJ_READ, IRP_MN_NORMAL, f->inode, NULL, f);
	if (!op.wanted && !odirect) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		io_post(&op);
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = f->fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	buf = io_buffer(size);
	if (!buf) {
		io_post(&op);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = io_params(&op);
	p->Read.Length = (ULONG)size;
	p->Read.ByteOffset.QuadPart = off;
	p->Read.ReadBuffer = buf;
	io_data_run(req, &op, f,
		    odirect ? IO_DATA_NOCACHE
			    : f->direct ? IO_DATA_CACHED : IO_DATA_PAGING,
		    io_read_fs);
	if (io_status(&op) == STATUS_END_OF_FILE) {
		fuse_reply_buf(req, buf, 0);
		return;
	}
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_buf(req, buf, min(op.fm.data.IoStatus.Information, size));
}

/*
 * Whether the writer holds CAP_FSETID, as the kernel says in write_flags
 * (FUSE_WRITE_KILL_SUIDGID when it does not).  libfuse 3 keeps write_flags
 * to itself, but data that arrived in memory is passed as a pointer into
 * the request read from /dev/fuse, right behind its fuse_write_in; that
 * header is believed only if it describes this very write.  Writes back
 * from the page cache (mmap) keep the bits, as on Linux.
 */
static enum io_fsetid io_write_fsetid(const struct fuse_bufvec *in, off_t off,
				      const struct fuse_file_info *fi)
{
	const struct fuse_write_in *w;

	if (fi->writepage)
		return IO_FSETID_YES;
	if (in->count != 1 || (in->buf[0].flags & FUSE_BUF_IS_FD))
		return IO_FSETID_ASK;
	w = (const struct fuse_write_in *)in->buf[0].mem - 1;
	if (w->size != in->buf[0].size || w->offset != (uint64_t)off ||
	    w->fh != fi->fh)
		return IO_FSETID_ASK;
	return (w->write_flags & FUSE_WRITE_KILL_SUIDGID) ? IO_FSETID_NO
							 : IO_FSETID_YES;
}

void io_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		     off_t off, struct fuse_file_info *fi)
{
	enum io_fsetid fsetid = io_write_fsetid(in, off, fi);
	struct io_file *f = io_file(fi);
	size_t size = fuse_buf_size(in);
	bool odirect = f->flags & O_DIRECT;
	struct io_op op;
	PFLT_PARAMETERS p;
	void *data;
	ssize_t n;
	int err;

	io_begin(&op, req, IRP_MJ_WRITE, IRP_MN_NORMAL, f->inode, NULL, f);
	if (!op.wanted && !odirect) {
		struct fuse_bufvec out = FUSE_BUFVEC_INIT(size);

		io_post(&op);
		out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		out.buf[0].fd = f->fd;
		out.buf[0].pos = off;
		n = fuse_buf_copy(&out, in, 0);
		if (n < 0) {
			fuse_reply_err(req, (int)-n);
			return;
		}
		io_setid_drop_data(req, ino, f->fd, fsetid);
		fuse_reply_write(req, (size_t)n);
		return;
	}
	if (!odirect && in->count == 1 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
		data = in->buf[0].mem;
	} else {
		struct fuse_bufvec mem = FUSE_BUFVEC_INIT(size);

		data = io_buffer(size);
		if (!data) {
			io_post(&op);
			fuse_reply_err(req, ENOMEM);
			return;
		}
		mem.buf[0].mem = data;
		n = fuse_buf_copy(&mem, in, 0);
		if (n < 0 || (size_t)n != size) {
			io_post(&op);
			fuse_reply_err(req, n < 0 ? (int)-n : EIO);
			return;
		}
	}
	p = io_params(&op);
	p->Write.Length = (ULONG)size;
	p->Write.ByteOffset.QuadPart = off;
	p->Write.WriteBuffer = data;
	io_data_run(req, &op, f,
		    fi->writepage ? IO_DATA_PAGING
		    : odirect     ? IO_DATA_NOCACHE
				  : IO_DATA_CACHED,
		    io_write_fs);
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	io_setid_drop_data(req, ino, f->fd, fsetid);
	fuse_reply_write(req, op.fm.data.IoStatus.Information);
}

static void io_flush_buffers(fuse_req_t req, struct io_file *f, int fd,
			     int datasync)
{
	struct io_op op;
	int r;

	/* fdatasync: the data and the metadata needed to read it back, the
	 * storage's cache flushed (FLUSH_FLAGS_FILE_DATA_SYNC_ONLY), not
	 * IRP_MN_FLUSH_DATA_ONLY, which promises neither. */
	io_begin(&op, req, IRP_MJ_FLUSH_BUFFERS,
		 datasync ? IRP_MN_FLUSH_DATA_SYNC_ONLY : 0, f->inode, NULL, f);
	if (io_pre(&op)) {
		r = datasync ? fdatasync(fd) : fsync(fd);
		io_done(&op, r < 0 ? -errno : 0, 0);
	}
	io_post(&op);
	fuse_reply_err(req, io_errno(&op));
}

void io_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi)
{
	(void)ino;
	io_flush_buffers(req, io_file(fi), io_file(fi)->fd, datasync);
}

void io_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);

	(void)ino;
	io_flush_buffers(req, f, f->dir ? dirfd(f->dir) : f->fd, datasync);
}

/*
 * fallocate: punching or zeroing a range is FSCTL_SET_ZERO_DATA; reserving
 * space is SET_INFORMATION/FileAllocationInformation.  The exact Linux
 * request is kept and used unless a filter changed the parameters.
 */
void io_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);
	FILE_ZERO_DATA_INFORMATION zero;
	FILE_ALLOCATION_INFORMATION alloc;
	bool zeroing = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
	struct io_op op;
	PFLT_PARAMETERS p;

	(void)ino;
	if (zeroing) {
		io_begin(&op, req, IRP_MJ_FILE_SYSTEM_CONTROL,
			 IRP_MN_USER_FS_REQUEST, f->inode, NULL, f);
		p = io_params(&op);
		zero.FileOffset.QuadPart = offset;
		zero.BeyondFinalZero.QuadPart = offset + length;
		p->FileSystemControl.Buffered.FsControlCode = FSCTL_SET_ZERO_DATA;
		p->FileSystemControl.Buffered.InputBufferLength = sizeof(zero);
		p->FileSystemControl.Buffered.SystemBuffer = &zero;
	} else {
		io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, f->inode, NULL, f);
		p = io_params(&op);
		alloc.AllocationSize.QuadPart = offset + length;
		p->SetFileInformation.FileInformationClass =
			FileAllocationInformation;
		p->SetFileInformation.Length = sizeof(alloc);
		p->SetFileInformation.InfoBuffer = &alloc;
	}
	if (io_pre(&op)) {
		if (zeroing) {
			offset = zero.FileOffset.QuadPart;
			length = zero.BeyondFinalZero.QuadPart - offset;
		} else if (alloc.AllocationSize.QuadPart != offset + length) {
			offset = 0;
			length = alloc.AllocationSize.QuadPart;
		}
		io_done(&op,
			length < 0 ? -EINVAL
			: fallocate(f->fd, mode, offset, length) < 0 ? -errno
								       : 0,
			0);
	}
	io_post(&op);
	fuse_reply_err(req, io_errno(&op));
}

/*
 * copy_file_range moves data no READ or WRITE callback would see.  While an
 * instance watches reads or writes the kernel is told to fall back to its
 * own read/write copy, which the filters see; otherwise the copy is done
 * in place.
 */
void io_op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			   struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			   off_t off_out, struct fuse_file_info *fi_out,
			   size_t len, int flags)
{
	struct io_volume *v = io_vol(req);
	struct fm_stack *s = fm_stack_get(v->fm);
	bool watched = s->n_major[IRP_MJ_READ] || s->n_major[IRP_MJ_WRITE];
	ssize_t n;

	(void)ino_in;
	(void)ino_out;
	fm_stack_put(v->fm, s);
	if (watched) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	n = copy_file_range(io_file(fi_in)->fd, &off_in, io_file(fi_out)->fd,
			    &off_out, len, (unsigned)flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

/* SEEK_DATA/SEEK_HOLE and friends: a position query with no IRP. */
void io_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		 struct fuse_file_info *fi)
{
	off_t r;

	(void)ino;
	r = lseek(io_file(fi)->fd, off, whence);
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}
