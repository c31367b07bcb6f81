/*
 * fltfsctl.c - FltFsControlFile: a file system control request issued by
 * a filter, seen by the instances below it, answered by the back end.
 *
 * The back end answers FSCTL_LX_COPY_TO_DESCRIPTOR (a file's content into
 * a descriptor outside the volume, shared blocks when possible): what a
 * backup filter needs to keep a version without reading it through a
 * buffer; and FSCTL_LX_LINK_TO_DIRECTORY (a second name for a file about
 * to be deleted or replaced, outside the volume: its last content kept
 * without a copy).
 */
#include "iomgr/fltio.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * A target open O_DIRECT (the caller wants the copy written around the
 * page cache, straight to the disk) is written from an aligned buffer, a
 * buffer per thread kept for the thread's life: a fresh one would cost a
 * page fault per page at each copy.  The tail that is not a whole block is
 * written through the page cache (O_DIRECT cleared for it, then set
 * again).  The alignment is the largest logical block size in use (4 KiB),
 * and a file system that refuses it makes the rest a buffered copy.  The
 * same buffer carries a copy to another file system, where copy_file_range
 * refuses (a staging area on tmpfs).
 */
#define FSCTL_DIRECT_ALIGN 4096
#define FSCTL_THREAD_BUF (256 * 1024)

static pthread_key_t fsctl_buf_key;
static pthread_once_t fsctl_buf_once = PTHREAD_ONCE_INIT;

static void fsctl_buf_key_make(void)
{
	pthread_key_create(&fsctl_buf_key, free);
}

static char *fsctl_thread_buf(void)
{
	char *buf;

	pthread_once(&fsctl_buf_once, fsctl_buf_key_make);
	buf = pthread_getspecific(fsctl_buf_key);
	if (!buf) {
		if (posix_memalign((void **)&buf, FSCTL_DIRECT_ALIGN, FSCTL_THREAD_BUF))
			return NULL;
		if (pthread_setspecific(fsctl_buf_key, buf)) {
			free(buf);
			return NULL;
		}
	}
	return buf;
}

/* Copies src[*in, size) to dst at *out through the page cache of neither
 * (see above).  Returns 0 with *in == size, or 0 earlier when the rest
 * is for the buffered copy (the source shrank, or O_DIRECT was refused),
 * or -errno. */
static int fsctl_copy_direct(int src, int dst, int flags, off_t size,
			     off_t *in, off_t *out, LONGLONG *done)
{
	char *buf = fsctl_thread_buf();

	if (!buf)
		return 0;
	while (*in < size) {
		size_t want = size - *in < FSCTL_THREAD_BUF ? (size_t)(size - *in)
							    : FSCTL_THREAD_BUF;
		ssize_t n = pread(src, buf, want, *in), k;
		size_t whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		whole = (size_t)n & ~(size_t)(FSCTL_DIRECT_ALIGN - 1);
		if (whole) {
			k = pwrite(dst, buf, whole, *out);
			if (k < 0 && errno == EINVAL)
				return 0; /* not here: the buffered copy */
			if (k < 0)
				return -errno;
			*in += k;
			*out += k;
			*done += k;
			if ((size_t)k < whole)
				continue;
		}
		if (whole < (size_t)n) {
			/* The tail: buffered, then O_DIRECT again. */
			if (fcntl(dst, F_SETFL, flags & ~O_DIRECT) < 0)
				return -errno;
			k = pwrite(dst, buf + whole, (size_t)n - whole, *out);
			fcntl(dst, F_SETFL, flags);
			if (k < 0)
				return -errno;
			*in += k;
			*out += k;
			*done += k;
		}
	}
	return 0;
}

/* src[at, at + len) into buf, *done the bytes read: less than len only
 * at the end of the file (the source shrank meanwhile).  A copy to memory
 * (LX_COPY_TO_MEMORY) is one such read; a copy to another file system one
 * per buffer. */
static int fsctl_read_at(int src, char *buf, off_t at, off_t len, LONGLONG *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = pread(src, buf + *done, (size_t)(len - *done), at + *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*done += n;
	}
	return 0;
}

/* Plain copy of src[0, size) to dst[at, at + size). */
static int fsctl_copy(int src, int dst, off_t at, off_t size, LONGLONG *done)
{
	off_t in = 0, out = at;
	char *buf = NULL;
	int flags = fcntl(dst, F_GETFL), err;

	*done = 0;
	if (flags >= 0 && (flags & O_DIRECT)) {
		if (size >= FSCTL_DIRECT_ALIGN) {
			err = fsctl_copy_direct(src, dst, flags, size, &in, &out,
						done);
			if (err || in >= size)
				return err;
		}
		/* What is left goes buffered, below (the target is left
		 * without O_DIRECT). */
		if (fcntl(dst, F_SETFL, flags & ~O_DIRECT) < 0)
			return -errno;
	}
	while (in < size) {
		ssize_t n = copy_file_range(src, &in, dst, &out,
					    (size_t)(size - in), 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			      errno == EOPNOTSUPP || errno == ENOSYS))
			break; /* fall back to read/write below */
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the file shrank meanwhile */
		*done += n;
	}
	if (in >= size || *done == size)
		return 0;
	/* Another file system: through the thread's buffer. */
	buf = fsctl_thread_buf();
	if (!buf)
		return -ENOMEM;
	while (in < size) {
		off_t want = size - in < FSCTL_THREAD_BUF ? size - in : FSCTL_THREAD_BUF;
		LONGLONG n, w = 0;

		err = fsctl_read_at(src, buf, in, want, &n);
		if (err)
			return err;
		if (n == 0)
			break;
		while (w < n) {
			ssize_t k = pwrite(dst, buf + w, (size_t)(n - w), out + w);

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
			w += k;
		}
		in += n;
		out += n;
		*done += n;
	}
	return 0;
}

static bool fsctl_same(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void fsctl_describe(const struct stat *st, LX_COPY_TO_DESCRIPTOR_OUTPUT *out)
{
	out->SourceLastAccessTimeNs.QuadPart =
		(LONGLONG)st->st_atim.tv_sec * 1000000000LL + st->st_atim.tv_nsec;
	out->SourceLastWriteTimeNs.QuadPart =
		(LONGLONG)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	out->SourceMode = st->st_mode;
	out->SourceUid = st->st_uid;
	out->SourceGid = st->st_gid;
}

#define FSCTL_COPY_TRIES 5

static int fsctl_copy_to_fd(int src, const LX_COPY_TO_DESCRIPTOR_INPUT_EX *in,
			    LX_COPY_TO_DESCRIPTOR_OUTPUT *out)
{
	struct stat before, after, target;
	bool mem = in->Flags & LX_COPY_TO_MEMORY;
	bool at = mem || (in->Flags & LX_COPY_AT_OFFSET);
	int err = 0, tries;

	for (tries = 0; tries < FSCTL_COPY_TRIES; tries++) {
		if (fstat(src, &before) < 0)
			return -errno;
		if (!S_ISREG(before.st_mode))
			return -EINVAL;
		if (at && before.st_size > in->MaxLength.QuadPart)
			return -EOVERFLOW;
		/* Only a target that has content is emptied: ext4 flushes a
		 * file truncated to zero when it is closed (auto_da_alloc),
		 * which a fresh empty target need not pay. */
		if (!at && fstat(in->TargetDescriptor, &target) < 0)
			return -errno;
		if (!at && target.st_size && ftruncate(in->TargetDescriptor, 0) < 0)
			return -errno;
		out->BytesCopied.QuadPart = 0;
		err = -EOPNOTSUPP;
		if (!at && !(in->Flags & LX_COPY_NO_CLONE)) {
			if (ioctl(in->TargetDescriptor, FICLONE, src) == 0) {
				out->Method = LX_COPY_METHOD_CLONE;
				out->BytesCopied.QuadPart = before.st_size;
				err = 0;
			} else {
				err = -errno;
				if (in->Flags & LX_COPY_CLONE_ONLY)
					return err == -EXDEV || err == -EINVAL ||
							       err == -ENOTTY
						       ? -EOPNOTSUPP
						       : err;
			}
		}
		if (err) {
			/* Not cloned (never at an offset or to memory). */
			out->Method = LX_COPY_METHOD_COPY;
			err = mem ? fsctl_read_at(src, in->TargetBuffer, 0,
						  before.st_size,
						  &out->BytesCopied.QuadPart)
				  : fsctl_copy(src, in->TargetDescriptor,
					       at ? in->TargetOffset.QuadPart : 0,
					       before.st_size,
					       &out->BytesCopied.QuadPart);
			/* A source that shrank meanwhile leaves nothing beyond
			 * what was copied (the target was empty). */
			if (err)
				return err;
		}
		if (fstat(src, &after) < 0)
			return -errno;
		if (fsctl_same(&before, &after))
			break;
	}
	out->Consistent = tries < FSCTL_COPY_TRIES;
	if (tries == FSCTL_COPY_TRIES)
		after = before;
	fsctl_describe(&after, out);
	return 0;
}

/* A descriptor (or, to memory, a buffer and no descriptor), and known
 * flags that do not contradict each other; len: the input's length. */
static bool fsctl_copy_input_ok(const LX_COPY_TO_DESCRIPTOR_INPUT_EX *in,
				ULONG len)
{
	const ULONG clone = LX_COPY_CLONE_ONLY | LX_COPY_NO_CLONE;
	const ULONG known = clone | LX_COPY_AT_OFFSET | LX_COPY_TO_MEMORY;

	if ((in->Flags & ~known) || (in->Flags & clone) == clone)
		return false;
	if (in->Flags & LX_COPY_TO_MEMORY)
		return len >= sizeof(*in) && in->TargetDescriptor == -1 &&
		       !(in->Flags & (LX_COPY_CLONE_ONLY | LX_COPY_AT_OFFSET)) &&
		       in->TargetBuffer && in->TargetOffset.QuadPart == 0 &&
		       in->MaxLength.QuadPart >= 0;
	if (in->TargetDescriptor < 0)
		return false;
	if (!(in->Flags & LX_COPY_AT_OFFSET))
		return true;
	return len >= LX_COPY_AT_OFFSET_INPUT_LENGTH &&
	       !(in->Flags & LX_COPY_CLONE_ONLY) &&
	       in->TargetOffset.QuadPart >= 0 && in->MaxLength.QuadPart >= 0;
}

/*
 * FSCTL_LX_LINK_TO_DIRECTORY on inode in: the link is made through
 * /proc/self/fd (no CAP_DAC_READ_SEARCH needed, unlike AT_EMPTY_PATH),
 * then checked again: a link, a writer or an open that appeared meanwhile
 * undoes it.
 */
static int fsctl_link(struct io_volume *v, struct fsb_inode *in,
		      const LX_LINK_TO_DIRECTORY_INPUT *lin,
		      LX_LINK_TO_DIRECTORY_OUTPUT *out)
{
	char fdname[16];
	struct stat st;

	if (fstat(in->fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (!(lin->Flags & LX_LINK_QUERY)) {
		if (st.st_nlink != 1 || atomic_load(&in->writers) > 0 ||
		    atomic_load(&in->opens) > 0)
			return -ETXTBSY;
		snprintf(fdname, sizeof(fdname), "%d", in->fd);
		if (linkat(v->fs.proc_fd, fdname, lin->TargetDirectory,
			   lin->TargetName, AT_SYMLINK_FOLLOW) < 0)
			return -errno;
		if (fstat(in->fd, &st) < 0 || st.st_nlink != 2 ||
		    atomic_load(&in->writers) > 0 || atomic_load(&in->opens) > 0) {
			unlinkat(lin->TargetDirectory, lin->TargetName, 0);
			return -ETXTBSY;
		}
	}
	out->Content.Method = LX_COPY_METHOD_LINK;
	out->Content.Consistent = TRUE;
	out->Content.BytesCopied.QuadPart = st.st_size;
	fsctl_describe(&st, &out->Content);
	out->NumberOfLinks = (ULONG)st.st_nlink;
	out->WriteHandles = (ULONG)atomic_load(&in->writers);
	out->OpenHandles = (ULONG)atomic_load(&in->opens);
	return 0;
}

/* A name below the directory: relative, no "." or ".." component. */
static bool fsctl_name_ok(const char *name)
{
	const char *c = name;

	if (!*name || *name == '/')
		return false;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (!n || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
	}
	return true;
}

static void fsctl_link_op(struct fio_op *op, struct fm_instance *inst,
			  PFILE_OBJECT fo, PVOID OutputBuffer,
			  ULONG OutputBufferLength)
{
	PFLT_PARAMETERS p = &op->fm.iopb.Parameters;
	LX_LINK_TO_DIRECTORY_INPUT in;
	LX_LINK_TO_DIRECTORY_OUTPUT out = { 0 };
	int err;

	if (p->FileSystemControl.Buffered.InputBufferLength < sizeof(in) ||
	    OutputBufferLength < sizeof(out)) {
		op->fm.data.IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
		op->fm.data.IoStatus.Information = 0;
		return;
	}
	memcpy(&in, p->FileSystemControl.Buffered.SystemBuffer, sizeof(in));
	if (!memchr(in.TargetName, 0, sizeof(in.TargetName)) ||
	    (!(in.Flags & LX_LINK_QUERY) &&
	     (!fsctl_name_ok(in.TargetName) || in.TargetDirectory < 0)) ||
	    (in.Flags & ~(ULONG)LX_LINK_QUERY))
		err = -EINVAL;
	else if (!fo->FsContext)
		err = -EBADF;
	else
		err = fsctl_link(fio_vol(inst), fo->FsContext, &in, &out);
	if (!err)
		memcpy(OutputBuffer, &out, sizeof(out));
	fio_done(op, err, err ? 0 : sizeof(out));
}

NTSTATUS FLTAPI FltFsControlFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
				 ULONG FsControlCode, PVOID InputBuffer,
				 ULONG InputBufferLength, PVOID OutputBuffer,
				 ULONG OutputBufferLength, PULONG LengthReturned)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	PFLT_PARAMETERS p;
	struct fio_op op;
	NTSTATUS st;

	if (LengthReturned)
		*LengthReturned = 0;
	if (!fio_inst_ok(Instance) || !FileObject ||
	    (!InputBuffer && InputBufferLength) ||
	    (!OutputBuffer && OutputBufferLength))
		return STATUS_INVALID_PARAMETER;
	fio_begin(&op, inst, IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_USER_FS_REQUEST,
		  FileObject);
	p = &op.fm.iopb.Parameters;
	p->FileSystemControl.Buffered.FsControlCode = FsControlCode;
	p->FileSystemControl.Buffered.InputBufferLength = InputBufferLength;
	p->FileSystemControl.Buffered.OutputBufferLength = OutputBufferLength;
	/* METHOD_BUFFERED: one buffer, input in, output out. */
	p->FileSystemControl.Buffered.SystemBuffer = InputBuffer;
	if (fio_pre(&op)) {
		ULONG code = p->FileSystemControl.Buffered.FsControlCode;

		if (code == FSCTL_LX_LINK_TO_DIRECTORY) {
			fsctl_link_op(&op, inst, FileObject, OutputBuffer,
				      OutputBufferLength);
		} else if (code != FSCTL_LX_COPY_TO_DESCRIPTOR) {
			op.fm.data.IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
			op.fm.data.IoStatus.Information = 0;
		} else if (p->FileSystemControl.Buffered.InputBufferLength <
				   sizeof(LX_COPY_TO_DESCRIPTOR_INPUT) ||
			   OutputBufferLength < sizeof(LX_COPY_TO_DESCRIPTOR_OUTPUT)) {
			op.fm.data.IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
			op.fm.data.IoStatus.Information = 0;
		} else {
			LX_COPY_TO_DESCRIPTOR_INPUT_EX in = { 0 };
			LX_COPY_TO_DESCRIPTOR_OUTPUT out = { 0 };
			ULONG ilen = p->FileSystemControl.Buffered.InputBufferLength;
			bool temp = false;
			int fd, err;

			memcpy(&in, p->FileSystemControl.Buffered.SystemBuffer,
			       ilen < sizeof(in) ? ilen : sizeof(in));
			fd = fsctl_copy_input_ok(&in, ilen)
				     ? fio_fd(fio_vol(inst), FileObject, O_RDONLY, &temp)
				     : -EINVAL;
			if (fd < 0) {
				err = fd;
			} else {
				err = fsctl_copy_to_fd(fd, &in, &out);
				if (temp)
					close(fd);
			}
			if (!err)
				memcpy(OutputBuffer, &out, sizeof(out));
			fio_done(&op, err, err ? 0 : sizeof(out));
			if (err == -EOPNOTSUPP)
				op.fm.data.IoStatus.Status = STATUS_NOT_SUPPORTED;
			else if (err == -EOVERFLOW)
				op.fm.data.IoStatus.Status = STATUS_BUFFER_OVERFLOW;
		}
	}
	st = fio_end(&op);
	if (NT_SUCCESS(st) && LengthReturned)
		*LengthReturned = (ULONG)op.fm.data.IoStatus.Information;
	return st;
}
