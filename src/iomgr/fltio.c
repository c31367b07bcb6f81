/*
 * fltio.c - filter-initiated I/O: FltCreateFile(Ex/Ex2), FltClose,
 * FltReadFile, FltWriteFile, FltQueryInformationFile, FltSetInformationFile,
 * FltFlushBuffers, FltCancelFileOpen, ObReferenceObject/ObDereferenceObject.
 * (Directory and volume queries are in fltquery.c, FSCTLs in fltfsctl.c.)
 *
 * A cached FltReadFile/FltWriteFile is presented as a program's cached
 * read or write is (readwrite.c): the paging IRP that moves the data is
 * nested inside it, so a filter below that works on the data reaching the
 * disk (SKIP_CACHED_IO, e.g. samples/swapbuffers) sees this data too.
 *
 * I/O a filter issues from an instance runs through the instances below
 * that instance only (seed 001: filter-initiated I/O is seen by lower
 * filters), then the back end: a filter never sees its own I/O, so it
 * cannot recurse into itself, and it never goes through the FUSE mount,
 * so it cannot deadlock on the daemon.  The callback data carries
 * FLTFL_CALLBACK_DATA_GENERATED_IO and RequestorMode KernelMode; the
 * requestor is the daemon.
 *
 * Names are resolved component by component from the volume root through
 * the inode table: "." and ".." are refused and a symlink inside the path
 * fails (STATUS_OBJECT_PATH_NOT_FOUND), so a name never leaves the volume,
 * and the inode is the one the kernel's opens use (shared stream contexts).
 */
#include "iomgr/fltio.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIO_HANDLE_MAGIC 0x464c5446u /* "FLTF" */

struct io_volume *fio_vol(struct fm_instance *inst)
{
	return inst->volume->owner;
}

bool fio_inst_ok(PFLT_INSTANCE i)
{
	const struct fm_instance *inst = (const struct fm_instance *)i;

	return inst && inst->obj.type == FM_OBJ_INSTANCE && !inst->detaching;
}

void fio_begin(struct fio_op *op, struct fm_instance *inst, UCHAR major,
		      UCHAR minor, PFILE_OBJECT fo)
{
	op->req.tid = rtl_gettid();
	op->req.pid = rtl_getpid();
	op->req.uid = 0;
	op->req.gid = 0;
	op->req.umask = 0;
	fm_op_init(&op->fm, inst->volume, major, minor, fo, &op->req);
	op->fm.below = inst;
	op->fm.mdls = NULL;
	op->fm.data.Flags |= FLTFL_CALLBACK_DATA_GENERATED_IO;
	op->fm.data.RequestorMode = KernelMode;
}

bool fio_pre(struct fio_op *op)
{
	if (!op->fm.stack->n_major[op->fm.major_idx])
		return true;
	return fm_op_pre(&op->fm);
}

void fio_done(struct fio_op *op, int err, ULONG_PTR info)
{
	op->fm.data.IoStatus.Status =
		err < 0 ? rtl_errno_to_status(-err) : STATUS_SUCCESS;
	op->fm.data.IoStatus.Information = err < 0 ? 0 : info;
}

NTSTATUS fio_end(struct fio_op *op)
{
	fm_op_complete(&op->fm);
	fm_op_mdls_free(&op->fm);
	return op->fm.data.IoStatus.Status;
}

/* ---- names ---- */

/* Walks "/a/b/c" to the directory holding c; *parent holds one lookup
 * count (unless it is the root), final gets "c" ("" for the root). */
static int fio_walk(struct io_volume *v, const char *path,
		    struct fsb_inode **parent, char *final, size_t cap)
{
	struct fsb_inode *cur = &v->fs.root;
	char *copy = strdup(path), *comp, *save = NULL, *next;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	final[0] = 0;
	comp = strtok_r(copy, "/", &save);
	while (comp) {
		next = strtok_r(NULL, "/", &save);
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			err = -EINVAL;
			break;
		}
		if (!next) {
			if (strlen(comp) >= cap)
				err = -ENAMETOOLONG;
			else
				snprintf(final, cap, "%s", comp);
			break;
		} else {
			struct fsb_inode *in;
			struct stat st;

			err = fsb_lookup(&v->fs, cur, comp, &st, &in);
			if (!err && !S_ISDIR(st.st_mode)) {
				fsb_forget(&v->fs, in, 1);
				err = -ENOENT; /* a file or a symlink on the way */
			}
			if (err)
				break;
			if (cur != &v->fs.root)
				fsb_forget(&v->fs, cur, 1);
			cur = in;
		}
		comp = next;
	}
	free(copy);
	if (err) {
		if (cur != &v->fs.root)
			fsb_forget(&v->fs, cur, 1);
		return err == -ENOENT ? -ENOENT : err;
	}
	*parent = cur;
	return 0;
}

/* ObjectAttributes -> a volume-relative "/dir/file" path. */
static NTSTATUS fio_path(struct io_volume *v, POBJECT_ATTRIBUTES oa,
			 char *out, size_t cap)
{
	char name[PATH_MAX * 2], dev[FM_NAME_MAX + 16];
	PUNICODE_STRING us;
	ssize_t n;
	size_t dl;

	if (!oa || !oa->ObjectName || !oa->ObjectName->Buffer ||
	    oa->ObjectName->Length % sizeof(WCHAR))
		return STATUS_INVALID_PARAMETER;
	us = oa->ObjectName;
	n = rtl_path_from_utf16(us->Buffer, us->Length / sizeof(WCHAR), name,
				sizeof(name));
	if (n < 0)
		return n == -ENAMETOOLONG ? STATUS_NAME_TOO_LONG
					  : STATUS_OBJECT_NAME_INVALID;
	if (oa->RootDirectory) {
		struct io_file *dir = io_file_of(oa->RootDirectory);
		char base[PATH_MAX * 2];
		ssize_t bl;

		if (!dir || !dir->inode || !S_ISDIR(dir->inode->type))
			return STATUS_INVALID_HANDLE;
		bl = fsb_path(&v->fs, dir->inode, NULL, base, sizeof(base));
		if (bl < 0 || (size_t)snprintf(out, cap, "%s/%s",
					       strcmp(base, "/") ? base : "",
					       name[0] == '/' ? name + 1 : name) >= cap)
			return STATUS_NAME_TOO_LONG;
		return STATUS_SUCCESS;
	}
	snprintf(dev, sizeof(dev), "/Device/%s", v->fm->name);
	dl = strlen(dev);
	if (!strncasecmp(name, dev, dl) && (name[dl] == '/' || !name[dl]))
		memmove(name, name + dl, strlen(name + dl) + 1);
	else if (!strncasecmp(name, "/Device/", 8))
		return STATUS_OBJECT_PATH_NOT_FOUND; /* another volume */
	if (name[0] != '/')
		return STATUS_OBJECT_NAME_INVALID;
	if ((size_t)snprintf(out, cap, "%s", name[1] ? name : "/") >= cap)
		return STATUS_NAME_TOO_LONG;
	return STATUS_SUCCESS;
}

/* Linux open flags for a create request. */
static int fio_flags(ACCESS_MASK access, ULONG disposition, ULONG options)
{
	bool rd = access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL |
			    FILE_EXECUTE | GENERIC_EXECUTE);
	bool wr = access & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE |
			    GENERIC_ALL);
	int flags = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;

	switch (disposition) {
	case FILE_SUPERSEDE:
	case FILE_OVERWRITE_IF:
		flags |= O_CREAT | O_TRUNC;
		break;
	case FILE_CREATE:
		flags |= O_CREAT | O_EXCL;
		break;
	case FILE_OPEN_IF:
		flags |= O_CREAT;
		break;
	case FILE_OVERWRITE:
		flags |= O_TRUNC;
		break;
	}
	if (options & FILE_DIRECTORY_FILE)
		flags = (flags & ~(O_ACCMODE | O_TRUNC)) | O_RDONLY | O_DIRECTORY;
	if (options & FILE_WRITE_THROUGH)
		flags |= O_DSYNC;
	if (!(flags & O_DIRECTORY) && (flags & O_ACCMODE) == O_RDONLY &&
	    !(flags & O_CREAT) && !(access & (FILE_READ_DATA | GENERIC_READ |
					      GENERIC_ALL)))
		flags |= O_PATH; /* attributes only */
	return flags;
}

/* The file system's part of a create; returns an fd or -errno. */
static int fio_open(struct io_volume *v, const char *path, int flags,
		    ULONG options, struct io_file *f, ULONG_PTR *info)
{
	struct fsb_inode *parent, *in;
	char final[NAME_MAX + 1];
	struct stat st;
	bool existed;
	int fd, err;

	err = fio_walk(v, path, &parent, final, sizeof(final));
	if (err)
		return err;
	if (!final[0]) { /* the root */
		fd = fsb_open(&v->fs, &v->fs.root, flags & ~(O_CREAT | O_EXCL | O_TRUNC));
		if (fd >= 0) {
			f->inode = &v->fs.root;
			*info = FILE_OPENED;
		}
		return fd;
	}
	existed = fstatat(parent->fd, final, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (existed && (options & FILE_NON_DIRECTORY_FILE) && S_ISDIR(st.st_mode))
		fd = -EISDIR;
	else if (existed && (options & FILE_DIRECTORY_FILE) && !S_ISDIR(st.st_mode))
		fd = -ENOTDIR;
	else if (!existed && (options & FILE_DIRECTORY_FILE) && (flags & O_CREAT))
		fd = mkdirat(parent->fd, final, 0755) < 0 ? -errno : 0;
	else
		fd = 0;
	if (fd == 0) {
		if ((options & FILE_DIRECTORY_FILE) && !existed)
			flags &= ~(O_CREAT | O_EXCL);
		fd = openat(parent->fd, final,
			    (flags | O_NOFOLLOW | O_CLOEXEC) &
				    ~((options & FILE_DIRECTORY_FILE) ? O_CREAT : 0),
			    0644);
		if (fd < 0)
			fd = -errno;
	}
	if (fd >= 0) {
		err = fsb_lookup(&v->fs, parent, final, &st, &in);
		if (err) {
			close(fd);
			fd = err;
		} else {
			f->inode = in;
			*info = !existed ? FILE_CREATED
				: (flags & O_TRUNC) ? FILE_OVERWRITTEN
						    : FILE_OPENED;
		}
	}
	if (parent != &v->fs.root)
		fsb_forget(&v->fs, parent, 1);
	return fd;
}

NTSTATUS FLTAPI FltCreateFileEx2(PFLT_FILTER Filter, PFLT_INSTANCE Instance,
				 PHANDLE FileHandle, PFILE_OBJECT *FileObject,
				 ACCESS_MASK DesiredAccess,
				 POBJECT_ATTRIBUTES ObjectAttributes,
				 PIO_STATUS_BLOCK IoStatusBlock,
				 PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
				 ULONG ShareAccess, ULONG CreateDisposition,
				 ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
				 ULONG Flags, PIO_DRIVER_CREATE_CONTEXT DriverContext)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	IO_SECURITY_CONTEXT sc = { 0 };
	char path[PATH_MAX * 2];
	struct io_volume *v;
	struct io_file *f;
	struct fio_op op;
	ULONG_PTR info = 0;
	NTSTATUS st;
	WCHAR *wname;
	ssize_t wn;
	int flags = O_RDONLY;

	(void)Flags;
	(void)DriverContext;
	(void)AllocationSize;
	if (FileHandle)
		*FileHandle = NULL;
	if (FileObject)
		*FileObject = NULL;
	if (!Filter || !fio_inst_ok(Instance) || !FileHandle || !IoStatusBlock ||
	    (PFLT_FILTER)inst->filter != Filter ||
	    CreateDisposition > FILE_MAXIMUM_DISPOSITION ||
	    (CreateOptions & ~FILE_VALID_OPTION_FLAGS))
		return STATUS_INVALID_PARAMETER;
	v = fio_vol(inst);
	st = fio_path(v, ObjectAttributes, path, sizeof(path));
	if (!NT_SUCCESS(st))
		return IoStatusBlock->Status = st;
	f = io_file_new(NULL);
	wname = malloc(PATH_MAX * 2 * sizeof(WCHAR));
	if (!f || !wname) {
		free(f);
		free(wname);
		return IoStatusBlock->Status = STATUS_INSUFFICIENT_RESOURCES;
	}
	wn = rtl_path_to_utf16(path, strlen(path), wname, PATH_MAX * 2);
	f->name_buf = wname;
	f->fo.FileName.Buffer = wname;
	f->fo.FileName.Length = f->fo.FileName.MaximumLength =
		(USHORT)(wn > 0 ? wn * sizeof(WCHAR) : 0);
	f->fo.FsContext = NULL;

	fio_begin(&op, inst, IRP_MJ_CREATE, 0, &f->fo);
	sc.DesiredAccess = DesiredAccess;
	sc.FullCreateOptions = CreateOptions;
	op.fm.iopb.Parameters.Create.SecurityContext = &sc;
	op.fm.iopb.Parameters.Create.Options = (CreateDisposition << 24) | CreateOptions;
	op.fm.iopb.Parameters.Create.FileAttributes = (USHORT)FileAttributes;
	op.fm.iopb.Parameters.Create.ShareAccess = (USHORT)ShareAccess;
	op.fm.iopb.Parameters.Create.EaBuffer = EaBuffer;
	op.fm.iopb.Parameters.Create.EaLength = EaLength;
	op.fm.iopb.IrpFlags = IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API;
	if (fio_pre(&op)) {
		ULONG opts = op.fm.iopb.Parameters.Create.Options & FILE_VALID_OPTION_FLAGS;

		flags = fio_flags(sc.DesiredAccess,
				  op.fm.iopb.Parameters.Create.Options >> 24, opts);
		f->fd = fio_open(v, path, flags, opts, f, &info);
		f->flags = flags;
		if (f->fd >= 0)
			f->fo.FsContext = f->inode;
		fio_done(&op, f->fd < 0 ? f->fd : 0, info);
	}
	st = fio_end(&op);
	*IoStatusBlock = op.fm.data.IoStatus;
	if (!NT_SUCCESS(st)) {
		if (f->fd >= 0)
			close(f->fd);
		if (f->inode && f->inode != &v->fs.root)
			fsb_forget(&v->fs, f->inode, 1);
		fm_file_object_gone(inst->volume, &f->fo);
		io_file_free(f);
		return st;
	}
	f->fo.Flags |= FO_FILE_OPEN | FO_HANDLE_CREATED;
	f->fo.ReadAccess = (flags & O_ACCMODE) != O_WRONLY;
	f->fo.WriteAccess = (flags & O_ACCMODE) != O_RDONLY;
	f->handle_open = true;
	if (f->fo.WriteAccess && f->inode)
		atomic_fetch_add(&f->inode->writers, 1);
	f->issuer = inst;
	fm_object_get(&inst->obj);
	f->fo.FileObjectExtension = NULL;
	if (FileObject) {
		atomic_fetch_add(&f->refs, 1);
		*FileObject = &f->fo;
	}
	*FileHandle = &f->fo;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltCreateFileEx(PFLT_FILTER Filter, PFLT_INSTANCE Instance,
				PHANDLE FileHandle, PFILE_OBJECT *FileObject,
				ACCESS_MASK DesiredAccess,
				POBJECT_ATTRIBUTES ObjectAttributes,
				PIO_STATUS_BLOCK IoStatusBlock,
				PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
				ULONG ShareAccess, ULONG CreateDisposition,
				ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
				ULONG Flags)
{
	return FltCreateFileEx2(Filter, Instance, FileHandle, FileObject,
				DesiredAccess, ObjectAttributes, IoStatusBlock,
				AllocationSize, FileAttributes, ShareAccess,
				CreateDisposition, CreateOptions, EaBuffer, EaLength,
				Flags, NULL);
}

NTSTATUS FLTAPI FltCreateFile(PFLT_FILTER Filter, PFLT_INSTANCE Instance,
			      PHANDLE FileHandle, ACCESS_MASK DesiredAccess,
			      POBJECT_ATTRIBUTES ObjectAttributes,
			      PIO_STATUS_BLOCK IoStatusBlock,
			      PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
			      ULONG ShareAccess, ULONG CreateDisposition,
			      ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
			      ULONG Flags)
{
	return FltCreateFileEx2(Filter, Instance, FileHandle, NULL, DesiredAccess,
				ObjectAttributes, IoStatusBlock, AllocationSize,
				FileAttributes, ShareAccess, CreateDisposition,
				CreateOptions, EaBuffer, EaLength, Flags, NULL);
}

/* The IRP_MJ_CLOSE of a filter-opened file, when its last reference goes. */
static void fio_final_close(struct io_file *f)
{
	struct fm_instance *inst = f->issuer;
	struct io_volume *v = fio_vol(inst);
	struct fio_op op;

	fio_begin(&op, inst, IRP_MJ_CLOSE, 0, &f->fo);
	if (fio_pre(&op))
		fio_done(&op, 0, 0);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	fio_end(&op);
	fm_file_object_gone(inst->volume, &f->fo);
	if (f->inode && f->inode != &v->fs.root)
		fsb_forget(&v->fs, f->inode, 1);
	f->issuer = NULL;
	io_file_free(f);
	FltObjectDereference(inst);
}

static void fio_put(struct io_file *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->issuer)
		fio_final_close(f);
	else
		io_file_free(f);
}

VOID NTAPI ObDereferenceObject(PVOID Object)
{
	struct io_file *f = io_file_of(Object);

	if (f)
		fio_put(f);
}

NTSTATUS FLTAPI FltClose(HANDLE FileHandle)
{
	struct io_file *f = io_file_of(FileHandle);
	struct fio_op op;

	if (!f || !f->issuer || !f->handle_open)
		return STATUS_INVALID_HANDLE;
	f->handle_open = false;
	if (f->fo.WriteAccess && f->inode)
		atomic_fetch_sub(&f->inode->writers, 1);
	fio_begin(&op, f->issuer, IRP_MJ_CLEANUP, 0, &f->fo);
	if (fio_pre(&op))
		fio_done(&op, 0, 0);
	fio_end(&op);
	f->fo.Flags |= FO_CLEANUP_COMPLETE;
	fio_put(f);
	return STATUS_SUCCESS;
}

/* ---- data ---- */

/* A descriptor for I/O on fo: its own, or one opened for the call. */
int fio_fd(struct io_volume *v, PFILE_OBJECT fo, int mode, bool *temp)
{
	struct io_file *f = io_file_of(fo);

	*temp = false;
	if (f && f->fd >= 0 && !(f->flags & O_PATH) &&
	    ((mode == O_RDONLY && (f->flags & O_ACCMODE) != O_WRONLY) ||
	     (mode == O_WRONLY && (f->flags & O_ACCMODE) != O_RDONLY)))
		return f->fd;
	if (!fo || !fo->FsContext)
		return -EBADF;
	*temp = true;
	return fsb_open(&v->fs, fo->FsContext, mode);
}

/* The file system's part of a read or write. */
static void fio_xfer(struct fio_op *op, bool write, int fd, ULONG asked)
{
	PFLT_PARAMETERS p = &op->fm.iopb.Parameters;
	ssize_t n = write ? pwrite(fd,
				   fm_data_address(p->Write.WriteBuffer,
						   p->Write.MdlAddress),
				   p->Write.Length, p->Write.ByteOffset.QuadPart)
			  : pread(fd,
				  fm_data_address(p->Read.ReadBuffer,
						  p->Read.MdlAddress),
				  p->Read.Length, p->Read.ByteOffset.QuadPart);

	if (!write && n == 0 && asked) {
		op->fm.data.IoStatus.Status = STATUS_END_OF_FILE;
		op->fm.data.IoStatus.Information = 0;
	} else {
		fio_done(op, n < 0 ? -errno : 0, (ULONG_PTR)n);
	}
}

static NTSTATUS fio_rw(bool write, PFLT_INSTANCE InitiatingInstance,
		       PFILE_OBJECT FileObject, PLARGE_INTEGER ByteOffset,
		       ULONG Length, PVOID Buffer, FLT_IO_OPERATION_FLAGS Flags,
		       PULONG Bytes, PFLT_COMPLETED_ASYNC_IO_CALLBACK Callback,
		       PVOID Context)
{
	struct fm_instance *inst = (struct fm_instance *)InitiatingInstance;
	PFLT_PARAMETERS p;
	struct fio_op op;
	LONGLONG off;
	bool temp;
	int fd;
	NTSTATUS st;

	if (Bytes)
		*Bytes = 0;
	if (!fio_inst_ok(InitiatingInstance) || !FileObject || (!Buffer && Length))
		return STATUS_INVALID_PARAMETER;
	fd = fio_fd(fio_vol(inst), FileObject, write ? O_WRONLY : O_RDONLY, &temp);
	if (fd < 0)
		return rtl_errno_to_status(-fd);
	off = ByteOffset ? ByteOffset->QuadPart : FileObject->CurrentByteOffset.QuadPart;
	fio_begin(&op, inst, write ? IRP_MJ_WRITE : IRP_MJ_READ, IRP_MN_NORMAL,
		  FileObject);
	op.fm.iopb.IrpFlags = (write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION) |
			      ((Flags & FLTFL_IO_OPERATION_PAGING)
				       ? IRP_PAGING_IO | IRP_NOCACHE
				       : (Flags & FLTFL_IO_OPERATION_NON_CACHED)
						 ? IRP_NOCACHE
						 : 0) |
			      IRP_SYNCHRONOUS_API;
	p = &op.fm.iopb.Parameters;
	if (write) {
		p->Write.Length = Length;
		p->Write.ByteOffset.QuadPart = off;
		p->Write.WriteBuffer = Buffer;
	} else {
		p->Read.Length = Length;
		p->Read.ByteOffset.QuadPart = off;
		p->Read.ReadBuffer = Buffer;
	}
	if (fio_pre(&op)) {
		if (!(op.fm.iopb.IrpFlags & (IRP_PAGING_IO | IRP_NOCACHE))) {
			/* Cached I/O, as a program's is (readwrite.c): the
			 * paging I/O that moves the data to or from the disk
			 * is nested inside, so a filter registered with
			 * SKIP_CACHED_IO sees this data as it sees a
			 * program's. */
			struct fio_op pg;

			fio_begin(&pg, inst, op.fm.iopb.MajorFunction,
				  IRP_MN_NORMAL, FileObject);
			pg.fm.iopb.IrpFlags =
				(write ? IRP_WRITE_OPERATION : IRP_READ_OPERATION) |
				IRP_PAGING_IO | IRP_NOCACHE |
				IRP_SYNCHRONOUS_PAGING_IO;
			pg.fm.iopb.Parameters = op.fm.iopb.Parameters;
			if (fio_pre(&pg))
				fio_xfer(&pg, write, fd, Length);
			fio_end(&pg);
			op.fm.data.IoStatus = pg.fm.data.IoStatus;
		} else {
			fio_xfer(&op, write, fd, Length);
		}
	}
	if (Callback)
		Callback(&op.fm.data, Context);
	st = fio_end(&op);
	if (temp)
		close(fd);
	if (NT_SUCCESS(st)) {
		if (Bytes)
			*Bytes = (ULONG)op.fm.data.IoStatus.Information;
		if (!(Flags & FLTFL_IO_OPERATION_DO_NOT_UPDATE_BYTE_OFFSET))
			FileObject->CurrentByteOffset.QuadPart =
				off + (LONGLONG)op.fm.data.IoStatus.Information;
	}
	return st;
}

NTSTATUS FLTAPI FltReadFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			    PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			    FLT_IO_OPERATION_FLAGS Flags, PULONG BytesRead,
			    PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			    PVOID CallbackContext)
{
	return fio_rw(false, InitiatingInstance, FileObject, ByteOffset, Length,
		      Buffer, Flags, BytesRead, CallbackRoutine, CallbackContext);
}

NTSTATUS FLTAPI FltWriteFile(PFLT_INSTANCE InitiatingInstance, PFILE_OBJECT FileObject,
			     PLARGE_INTEGER ByteOffset, ULONG Length, PVOID Buffer,
			     FLT_IO_OPERATION_FLAGS Flags, PULONG BytesWritten,
			     PFLT_COMPLETED_ASYNC_IO_CALLBACK CallbackRoutine,
			     PVOID CallbackContext)
{
	return fio_rw(true, InitiatingInstance, FileObject, ByteOffset, Length,
		      Buffer, Flags, BytesWritten, CallbackRoutine, CallbackContext);
}

NTSTATUS FLTAPI FltFlushBuffers(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct fio_op op;
	bool temp;
	int fd;
	NTSTATUS st;

	if (!fio_inst_ok(Instance) || !FileObject)
		return STATUS_INVALID_PARAMETER;
	fd = fio_fd(fio_vol(inst), FileObject, O_RDONLY, &temp);
	if (fd < 0)
		return rtl_errno_to_status(-fd);
	fio_begin(&op, inst, IRP_MJ_FLUSH_BUFFERS, 0, FileObject);
	if (fio_pre(&op))
		fio_done(&op, fsync(fd) < 0 ? -errno : 0, 0);
	st = fio_end(&op);
	if (temp)
		close(fd);
	return st;
}

/* ---- information ---- */

static NTSTATUS fio_fill_info(const struct stat *s, PFILE_OBJECT fo, PVOID buf,
			      ULONG len, FILE_INFORMATION_CLASS cls, ULONG *used)
{
	FILE_STAT_LX_INFORMATION lx;

	io_stat_to_lx(s, &lx);
	switch (cls) {
	case FileBasicInformation: {
		FILE_BASIC_INFORMATION *b = buf;

		if (len < sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		b->CreationTime = lx.CreationTime;
		b->LastAccessTime = lx.LastAccessTime;
		b->LastWriteTime = lx.LastWriteTime;
		b->ChangeTime = lx.ChangeTime;
		b->FileAttributes = lx.FileAttributes;
		*used = sizeof(*b);
		return STATUS_SUCCESS;
	}
	case FileStandardInformation: {
		FILE_STANDARD_INFORMATION *b = buf;

		if (len < sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		b->AllocationSize = lx.AllocationSize;
		b->EndOfFile = lx.EndOfFile;
		b->NumberOfLinks = lx.NumberOfLinks;
		b->DeletePending = FALSE;
		b->Directory = S_ISDIR(s->st_mode);
		*used = sizeof(*b);
		return STATUS_SUCCESS;
	}
	case FileInternalInformation: {
		FILE_INTERNAL_INFORMATION *b = buf;

		if (len < sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		b->IndexNumber = lx.FileId;
		*used = sizeof(*b);
		return STATUS_SUCCESS;
	}
	case FilePositionInformation: {
		FILE_POSITION_INFORMATION *b = buf;

		if (len < sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		b->CurrentByteOffset = fo->CurrentByteOffset;
		*used = sizeof(*b);
		return STATUS_SUCCESS;
	}
	case FileNetworkOpenInformation: {
		FILE_NETWORK_OPEN_INFORMATION *b = buf;

		if (len < sizeof(*b))
			return STATUS_INFO_LENGTH_MISMATCH;
		b->CreationTime = lx.CreationTime;
		b->LastAccessTime = lx.LastAccessTime;
		b->LastWriteTime = lx.LastWriteTime;
		b->ChangeTime = lx.ChangeTime;
		b->AllocationSize = lx.AllocationSize;
		b->EndOfFile = lx.EndOfFile;
		b->FileAttributes = lx.FileAttributes;
		*used = sizeof(*b);
		return STATUS_SUCCESS;
	}
	case FileStatInformation:
		if (len < sizeof(FILE_STAT_INFORMATION))
			return STATUS_INFO_LENGTH_MISMATCH;
		memcpy(buf, &lx, sizeof(FILE_STAT_INFORMATION));
		*used = sizeof(FILE_STAT_INFORMATION);
		return STATUS_SUCCESS;
	case FileStatLxInformation:
		if (len < sizeof(lx))
			return STATUS_INFO_LENGTH_MISMATCH;
		memcpy(buf, &lx, sizeof(lx));
		*used = sizeof(lx);
		return STATUS_SUCCESS;
	default:
		return STATUS_INVALID_INFO_CLASS;
	}
}

NTSTATUS FLTAPI FltQueryInformationFile(PFLT_INSTANCE Instance,
					PFILE_OBJECT FileObject,
					PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS FileInformationClass,
					PULONG LengthReturned)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct fio_op op;
	PFLT_PARAMETERS p;
	struct stat st;
	ULONG used = 0;
	NTSTATUS s;

	if (LengthReturned)
		*LengthReturned = 0;
	if (!fio_inst_ok(Instance) || !FileObject || !FileInformation)
		return STATUS_INVALID_PARAMETER;
	if (!FileObject->FsContext)
		return STATUS_INVALID_HANDLE;
	fio_begin(&op, inst, IRP_MJ_QUERY_INFORMATION, 0, FileObject);
	p = &op.fm.iopb.Parameters;
	p->QueryFileInformation.Length = Length;
	p->QueryFileInformation.FileInformationClass = FileInformationClass;
	p->QueryFileInformation.InfoBuffer = FileInformation;
	if (fio_pre(&op)) {
		int err = fsb_stat(FileObject->FsContext, &st);

		s = err ? rtl_errno_to_status(-err)
			: fio_fill_info(&st, FileObject, p->QueryFileInformation.InfoBuffer,
					p->QueryFileInformation.Length,
					p->QueryFileInformation.FileInformationClass,
					&used);
		op.fm.data.IoStatus.Status = s;
		op.fm.data.IoStatus.Information = NT_SUCCESS(s) ? used : 0;
	}
	s = fio_end(&op);
	if (NT_SUCCESS(s) && LengthReturned)
		*LengthReturned = (ULONG)op.fm.data.IoStatus.Information;
	return s;
}

static int fio_set(struct io_volume *v, PFILE_OBJECT fo, PVOID buf, ULONG len,
		   FILE_INFORMATION_CLASS cls)
{
	struct fsb_inode *in = fo->FsContext;
	struct io_file *f = io_file_of(fo);
	int fd = f && f->fd >= 0 && !(f->flags & O_PATH) ? f->fd : -1;

	switch (cls) {
	case FileEndOfFileInformation:
		if (len < sizeof(FILE_END_OF_FILE_INFORMATION))
			return -EINVAL;
		return fsb_truncate(&v->fs, in, fd,
				    ((FILE_END_OF_FILE_INFORMATION *)buf)->EndOfFile.QuadPart);
	case FileAllocationInformation: {
		LONGLONG size = ((FILE_ALLOCATION_INFORMATION *)buf)->AllocationSize.QuadPart;
		int afd, r;

		if (len < sizeof(FILE_ALLOCATION_INFORMATION) || size < 0)
			return -EINVAL;
		afd = fd >= 0 ? fd : fsb_open(&v->fs, in, O_WRONLY);
		if (afd < 0)
			return afd;
		r = size ? (fallocate(afd, FALLOC_FL_KEEP_SIZE, 0, size) < 0 ? -errno : 0) : 0;
		if (afd != fd)
			close(afd);
		return r;
	}
	case FilePositionInformation:
		if (len < sizeof(FILE_POSITION_INFORMATION))
			return -EINVAL;
		fo->CurrentByteOffset =
			((FILE_POSITION_INFORMATION *)buf)->CurrentByteOffset;
		return 0;
	case FileBasicInformation: {
		FILE_BASIC_INFORMATION *b = buf;
		struct timespec tv[2];

		if (len < sizeof(*b))
			return -EINVAL;
		tv[0].tv_sec = tv[1].tv_sec = 0;
		tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
		if (b->LastAccessTime.QuadPart > 0)
			io_nt_to_ts(b->LastAccessTime.QuadPart, &tv[0]);
		if (b->LastWriteTime.QuadPart > 0)
			io_nt_to_ts(b->LastWriteTime.QuadPart, &tv[1]);
		return fsb_utimens(&v->fs, in, fd, tv);
	}
	case FileDispositionInformation:
	case FileDispositionInformationEx: {
		bool del = cls == FileDispositionInformation
				   ? ((FILE_DISPOSITION_INFORMATION *)buf)->DeleteFile
				   : (((FILE_DISPOSITION_INFORMATION_EX *)buf)->Flags &
				      FILE_DISPOSITION_DELETE);
		int r;

		if (!del)
			return 0;
		if (!in->parent || !in->name)
			return -EPERM;
		r = unlinkat(in->parent->fd, in->name,
			     S_ISDIR(in->type) ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
		if (!r)
			fm_names_changed(v->fm);
		return r;
	}
	case FileRenameInformation:
	case FileRenameInformationEx: {
		FILE_RENAME_INFORMATION *r = buf;
		OBJECT_ATTRIBUTES oa;
		UNICODE_STRING us;
		char path[PATH_MAX * 2], final[NAME_MAX + 1];
		struct fsb_inode *np;
		unsigned flags = 0;
		int err;

		if (len < offsetof(FILE_RENAME_INFORMATION, FileName) ||
		    r->FileNameLength > len - offsetof(FILE_RENAME_INFORMATION, FileName) ||
		    r->FileNameLength > 0xfffe || !in->parent || !in->name)
			return -EINVAL;
		us.Buffer = r->FileName;
		us.Length = us.MaximumLength = (USHORT)r->FileNameLength;
		InitializeObjectAttributes(&oa, &us, 0, r->RootDirectory, NULL);
		if (!NT_SUCCESS(fio_path(v, &oa, path, sizeof(path))))
			return -EXDEV;
		err = fio_walk(v, path, &np, final, sizeof(final));
		if (err)
			return err;
		if (cls == FileRenameInformationEx
			    ? !(r->Flags & FILE_RENAME_REPLACE_IF_EXISTS)
			    : !r->ReplaceIfExists)
			flags |= RENAME_NOREPLACE;
		/* Bracketed so no cached name is served mid-rename (names.c). */
		fm_names_change_begin(v->fm);
		err = renameat2(in->parent->fd, in->name, np->fd, final, flags) < 0
			      ? -errno
			      : 0;
		if (!err)
			fsb_renamed(&v->fs, np, final);
		fm_names_change_end(v->fm);
		if (np != &v->fs.root)
			fsb_forget(&v->fs, np, 1);
		return err;
	}
	default:
		return -EINVAL;
	}
}

NTSTATUS FLTAPI FltSetInformationFile(PFLT_INSTANCE Instance,
				      PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct fio_op op;
	PFLT_PARAMETERS p;

	if (!fio_inst_ok(Instance) || !FileObject || !FileInformation)
		return STATUS_INVALID_PARAMETER;
	if (!FileObject->FsContext)
		return STATUS_INVALID_HANDLE;
	switch (FileInformationClass) {
	case FileBasicInformation:
	case FileEndOfFileInformation:
	case FileAllocationInformation:
	case FilePositionInformation:
	case FileDispositionInformation:
	case FileDispositionInformationEx:
	case FileRenameInformation:
	case FileRenameInformationEx:
		break;
	default:
		return STATUS_INVALID_INFO_CLASS;
	}
	fio_begin(&op, inst, IRP_MJ_SET_INFORMATION, 0, FileObject);
	p = &op.fm.iopb.Parameters;
	p->SetFileInformation.Length = Length;
	p->SetFileInformation.FileInformationClass = FileInformationClass;
	p->SetFileInformation.InfoBuffer = FileInformation;
	if (fio_pre(&op))
		fio_done(&op,
			 fio_set(fio_vol(inst), FileObject,
				 p->SetFileInformation.InfoBuffer,
				 p->SetFileInformation.Length,
				 p->SetFileInformation.FileInformationClass),
			 0);
	return fio_end(&op);
}

/* ---- cancelling an open ---- */

/*
 * From a post-create callback: CLEANUP and CLOSE to the instances below
 * the caller, then the file system closes the descriptor.  The create's
 * failure path (create.c, or FltCreateFileEx2 above) then finds nothing
 * open and frees the file object when the caller has set a failure status.
 */
VOID FLTAPI FltCancelFileOpen(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject)
{
	static const UCHAR majors[2] = { IRP_MJ_CLEANUP, IRP_MJ_CLOSE };
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct io_file *f = io_file_of(FileObject);
	struct fio_op op;
	unsigned i;

	if (!fio_inst_ok(Instance) || !FileObject ||
	    (FileObject->Flags & FO_FILE_OPEN_CANCELLED))
		return;
	for (i = 0; i < 2; i++) {
		fio_begin(&op, inst, majors[i], 0, FileObject);
		if (fio_pre(&op))
			fio_done(&op, 0, 0);
		/* As at any CLOSE, the file goes whatever the filters say. */
		if (majors[i] == IRP_MJ_CLOSE && f) {
			if (f->dir)
				closedir(f->dir);
			else if (f->fd >= 0)
				close(f->fd);
			f->dir = NULL;
			f->fd = -1;
		}
		fio_end(&op);
	}
	FileObject->Flags |= FO_FILE_OPEN_CANCELLED | FO_CLEANUP_COMPLETE;
}
