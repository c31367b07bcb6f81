/*
 * readwrite.c - IRP_MJ_READ, IRP_MJ_WRITE, IRP_MJ_FLUSH_BUFFERS and the
 * data-path requests around them (fallocate, copy_file_range, lseek).
 *
 * Data reaches filters in a per-thread buffer, so the data path allocates
 * nothing; when no instance registered the major function the data moves
 * between /dev/fuse and the file without a copy (splice), as in libfuse's
 * passthrough_ll.  A read of a file opened uncached is the program's own
 * read (cached I/O for a Windows filter); a read of a page-cached file is
 * the kernel filling its cache (IRP_PAGING_IO | IRP_NOCACHE).  Writes are
 * the program's write(2) calls, except mmap write-back, which is paging I/O.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *io_buffer(size_t size)
{
	struct io_tls *t = io_tls();

	return t ? io_tls_grow(&t->data, &t->data_cap, size) : NULL;
}

static ULONG io_data_flags(const struct io_file *f, bool paging, ULONG op)
{
	if (paging)
		return op | IRP_PAGING_IO | IRP_NOCACHE;
	if (f->flags & O_DIRECT)
		return op | IRP_NOCACHE | IRP_SYNCHRONOUS_API;
	return op | IRP_SYNCHRONOUS_API;
}

void io_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);
	struct io_op op;
	PFLT_PARAMETERS p;
	char *buf;
	ssize_t n;
	int err;

	(void)ino;
	io_begin(&op, req, IRP_MJ_READ, IRP_MN_NORMAL, f->inode, NULL, f);
	if (!op.wanted) {
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
	op.fm.iopb.IrpFlags = io_data_flags(f, !f->direct, IRP_READ_OPERATION);
	p->Read.Length = (ULONG)size;
	p->Read.ByteOffset.QuadPart = off;
	p->Read.ReadBuffer = buf;
	if (io_pre(&op)) {
		n = pread(f->fd, p->Read.ReadBuffer, p->Read.Length,
			  p->Read.ByteOffset.QuadPart);
		if (n == 0 && p->Read.Length) {
			op.fm.data.IoStatus.Status = STATUS_END_OF_FILE;
			op.fm.data.IoStatus.Information = 0;
		} else {
			io_done(&op, n < 0 ? -errno : 0, (ULONG_PTR)n);
		}
	}
	io_post(&op);
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

void io_op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
		     off_t off, struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);
	size_t size = fuse_buf_size(in);
	struct io_op op;
	PFLT_PARAMETERS p;
	void *data;
	ssize_t n;
	int err;

	(void)ino;
	io_begin(&op, req, IRP_MJ_WRITE, IRP_MN_NORMAL, f->inode, NULL, f);
	if (!op.wanted) {
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
		io_kill_privs(&op, f);
		fuse_reply_write(req, (size_t)n);
		return;
	}
	if (in->count == 1 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
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
	op.fm.iopb.IrpFlags = io_data_flags(f, fi->writepage, IRP_WRITE_OPERATION);
	p->Write.Length = (ULONG)size;
	p->Write.ByteOffset.QuadPart = off;
	p->Write.WriteBuffer = data;
	if (io_pre(&op)) {
		n = pwrite(f->fd, p->Write.WriteBuffer, p->Write.Length,
			   p->Write.ByteOffset.QuadPart);
		io_done(&op, n < 0 ? -errno : 0, (ULONG_PTR)n);
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	io_kill_privs(&op, f);
	fuse_reply_write(req, op.fm.data.IoStatus.Information);
}

void io_kill_privs(struct io_op *op, struct io_file *f)
{
	struct stat st;

	if (!f->kill_privs || op->req.uid == 0)
		return;
	f->kill_privs = false;
	if (fstat(f->fd, &st) < 0)
		return;
	st.st_mode &= ~S_ISUID;
	if (st.st_mode & S_IXGRP)
		st.st_mode &= ~S_ISGID;
	if (fchmod(f->fd, st.st_mode & 07777) < 0)
		f->kill_privs = true;
}

static void io_flush_buffers(fuse_req_t req, struct io_file *f, int fd,
			     int datasync)
{
	struct io_op op;
	int r;

	io_begin(&op, req, IRP_MJ_FLUSH_BUFFERS,
		 datasync ? IRP_MN_FLUSH_DATA_ONLY : 0, f->inode, NULL, f);
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
