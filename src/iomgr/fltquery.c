/*
 * fltquery.c - directory and volume queries a filter issues:
 * FltQueryDirectoryFile (IRP_MJ_DIRECTORY_CONTROL / IRP_MN_QUERY_DIRECTORY),
 * FltQueryVolumeInformationFile and FltQueryVolumeInformation
 * (IRP_MJ_QUERY_VOLUME_INFORMATION), seen by the instances below the
 * issuer only, like the rest of filter-initiated I/O (fltio.c).
 *
 * A directory scan is the file object's: its own directory stream, opened
 * on the first query and closed with the file object, so a filter listing
 * a directory a program has open moves neither position.  The pattern is
 * taken on the first query and on a restart, as on Windows.  Entries are
 * built by dir.c's io_dir_entry, which the kernel's readdir uses too, so
 * both listings agree on names, ids and attributes.
 */
#include "iomgr/fltio.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>


struct fq_scan {
	pthread_mutex_t lock; /* one query at a time per file object */
	DIR *dir;
	bool started; /* the first query came: the pattern is set */
	bool returned; /* an entry was returned since the scan (re)started */
	UNICODE_STRING pattern; /* Length 0: every entry */
};

void fq_scan_free(struct fq_scan *scan)
{
	if (!scan)
		return;
	if (scan->dir)
		closedir(scan->dir);
	free(scan->pattern.Buffer);
	pthread_mutex_destroy(&scan->lock);
	free(scan);
}

/* The file object's scan, created on first use. */
static struct fq_scan *fq_scan_of(struct io_file *f)
{
	struct fq_scan *s = atomic_load(&f->scan), *none = NULL;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	if (!atomic_compare_exchange_strong(&f->scan, &none, s)) {
		fq_scan_free(s);
		return none;
	}
	return s;
}

/* (Re)starts the scan with pattern (NULL or empty: everything). */
static int fq_restart(struct io_volume *v, struct io_file *f,
		      struct fq_scan *s, PCUNICODE_STRING pattern)
{
	if (!s->dir) {
		int fd = fsb_open(&v->fs, f->inode, O_RDONLY | O_DIRECTORY);

		if (fd < 0)
			return fd;
		s->dir = fdopendir(fd);
		if (!s->dir) {
			close(fd);
			return -errno;
		}
	} else {
		rewinddir(s->dir);
	}
	free(s->pattern.Buffer);
	memset(&s->pattern, 0, sizeof(s->pattern));
	if (pattern && pattern->Length && pattern->Buffer &&
	    !(pattern->Length == sizeof(WCHAR) && pattern->Buffer[0] == L'*')) {
		s->pattern.Buffer = malloc(pattern->Length);
		if (!s->pattern.Buffer)
			return -ENOMEM;
		memcpy(s->pattern.Buffer, pattern->Buffer, pattern->Length);
		s->pattern.Length = s->pattern.MaximumLength = pattern->Length;
	}
	s->started = true;
	s->returned = false;
	return 0;
}

/* Where each class's name begins: the size of its fixed part. */
static ULONG fq_name_offset(FILE_INFORMATION_CLASS cls)
{
	switch (cls) {
	case FileDirectoryInformation:
		return offsetof(FILE_DIRECTORY_INFORMATION, FileName);
	case FileFullDirectoryInformation:
		return offsetof(FILE_FULL_DIR_INFORMATION, FileName);
	case FileIdFullDirectoryInformation:
		return offsetof(FILE_ID_FULL_DIR_INFORMATION, FileName);
	case FileBothDirectoryInformation:
		return offsetof(FILE_BOTH_DIR_INFORMATION, FileName);
	case FileIdBothDirectoryInformation:
		return offsetof(FILE_ID_BOTH_DIR_INFORMATION, FileName);
	case FileNamesInformation:
		return offsetof(FILE_NAMES_INFORMATION, FileName);
	case FileIdExtdDirectoryInformation:
		return offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName);
	default:
		return 0;
	}
}

union fq_entry {
	FILE_DIRECTORY_INFORMATION dir;
	FILE_FULL_DIR_INFORMATION full;
	FILE_ID_FULL_DIR_INFORMATION id_full;
	FILE_BOTH_DIR_INFORMATION both;
	FILE_ID_BOTH_DIR_INFORMATION id_both;
	FILE_NAMES_INFORMATION names;
	FILE_ID_EXTD_DIR_INFORMATION extd;
	char bytes[offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName) +
		   IO_DIR_NAME_MAX * sizeof(WCHAR) + 8];
};

/* Converts entry e to class cls in out; returns its size (unpadded). */
static ULONG fq_convert(FILE_INFORMATION_CLASS cls,
			const FILE_ID_EXTD_DIR_INFORMATION *e, union fq_entry *out)
{
	ULONG off = fq_name_offset(cls);
	LARGE_INTEGER id;

	if (cls == FileIdExtdDirectoryInformation) {
		memcpy(out, e, off + e->FileNameLength);
		out->extd.FileIndex = 0;
		return off + e->FileNameLength;
	}
	memset(out, 0, off);
	if (cls == FileNamesInformation) {
		out->names.FileNameLength = e->FileNameLength;
	} else {
		/* The other classes begin with FILE_DIRECTORY_INFORMATION. */
		out->dir.CreationTime = e->CreationTime;
		out->dir.LastAccessTime = e->LastAccessTime;
		out->dir.LastWriteTime = e->LastWriteTime;
		out->dir.ChangeTime = e->ChangeTime;
		out->dir.EndOfFile = e->EndOfFile;
		out->dir.AllocationSize = e->AllocationSize;
		out->dir.FileAttributes = e->FileAttributes;
		out->dir.FileNameLength = e->FileNameLength;
		memcpy(&id.QuadPart, e->FileId.Identifier, sizeof(id.QuadPart));
		if (cls == FileIdFullDirectoryInformation)
			out->id_full.FileId = id;
		else if (cls == FileIdBothDirectoryInformation)
			out->id_both.FileId = id;
	}
	memcpy(out->bytes + off, e->FileName, e->FileNameLength);
	return off + e->FileNameLength;
}

struct fq_query {
	FILE_INFORMATION_CLASS cls;
	char *buf;
	ULONG len;
	bool single;
	ULONG used; /* end of the last entry written */
	ULONG last; /* its offset */
	unsigned count;
};

/* Appends one entry; false when it does not fit (a first entry that does
 * not fit is written in part and q->count stays 0). */
static bool fq_put(struct fq_query *q, const union fq_entry *ent, ULONG size)
{
	ULONG at = q->count ? ALIGN_UP_BY(q->used, 8) : 0;
	ULONG next;

	if (at > q->len || size > q->len - at) {
		if (!q->count) {
			memcpy(q->buf, ent, q->len);
			q->used = q->len;
		}
		return false;
	}
	memcpy(q->buf + at, ent, size);
	if (q->count) {
		next = at - q->last;
		memcpy(q->buf + q->last, &next, sizeof(next));
	}
	q->last = at;
	q->used = at + size;
	q->count++;
	return true;
}

/* The file system's part of a directory query. */
static NTSTATUS fq_dir_fill(struct io_volume *v, struct io_file *f,
			    struct fq_scan *s, PFLT_IO_PARAMETER_BLOCK iopb,
			    ULONG *info)
{
	PFLT_PARAMETERS p = &iopb->Parameters;
	struct fq_query q = {
		.cls = p->DirectoryControl.QueryDirectory.FileInformationClass,
		.buf = fm_data_address(p->DirectoryControl.QueryDirectory.DirectoryBuffer,
				       p->DirectoryControl.QueryDirectory.MdlAddress),
		.len = p->DirectoryControl.QueryDirectory.Length,
		.single = iopb->OperationFlags & SL_RETURN_SINGLE_ENTRY,
	};
	bool root = f->inode == &v->fs.root;
	union fq_entry scratch, out;
	FILE_ID_EXTD_DIR_INFORMATION *e = &scratch.extd;
	int err;

	*info = 0;
	if (!fq_name_offset(q.cls))
		return STATUS_INVALID_INFO_CLASS;
	if (!q.buf || q.len < fq_name_offset(q.cls))
		return STATUS_INFO_LENGTH_MISMATCH;
	if (!s->started || (iopb->OperationFlags & SL_RESTART_SCAN)) {
		err = fq_restart(v, f, s, p->DirectoryControl.QueryDirectory.FileName);
		if (err)
			return rtl_errno_to_status(-err);
	}
	for (;;) {
		long pos = telldir(s->dir);
		struct dirent *de;
		UNICODE_STRING name;
		ULONG size;

		errno = 0;
		de = readdir(s->dir);
		if (!de) {
			if (errno)
				return rtl_errno_to_status(errno);
			break;
		}
		if (root && (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")))
			continue;
		if (io_dir_entry(dirfd(s->dir), de, true, e) < 0)
			continue;
		name.Buffer = e->FileName;
		name.Length = name.MaximumLength = (USHORT)e->FileNameLength;
		if (s->pattern.Length &&
		    !FsRtlIsNameInExpression(&s->pattern, &name, FALSE, NULL))
			continue;
		size = fq_convert(q.cls, e, &out);
		if (!fq_put(&q, &out, size)) {
			seekdir(s->dir, pos);
			if (!q.count) {
				*info = q.used;
				return STATUS_BUFFER_OVERFLOW;
			}
			break;
		}
		s->returned = true;
		if (q.single)
			break;
	}
	if (!q.count)
		return s->returned ? STATUS_NO_MORE_FILES : STATUS_NO_SUCH_FILE;
	*info = q.used;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltQueryDirectoryFile(PFLT_INSTANCE Instance,
				      PFILE_OBJECT FileObject,
				      PVOID FileInformation, ULONG Length,
				      FILE_INFORMATION_CLASS FileInformationClass,
				      BOOLEAN ReturnSingleEntry,
				      PUNICODE_STRING FileName,
				      BOOLEAN RestartScan, PULONG LengthReturned)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct io_file *f = io_file_of(FileObject);
	struct fq_scan *s;
	PFLT_PARAMETERS p;
	struct fio_op op;
	ULONG info = 0;
	NTSTATUS st;

	if (LengthReturned)
		*LengthReturned = 0;
	if (!fio_inst_ok(Instance) || !FileObject || (!FileInformation && Length))
		return STATUS_INVALID_PARAMETER;
	/* A directory open the I/O manager made (a program's or a filter's). */
	if (!f || !f->inode || !S_ISDIR(f->inode->type))
		return STATUS_INVALID_PARAMETER;
	s = fq_scan_of(f);
	if (!s)
		return STATUS_INSUFFICIENT_RESOURCES;
	fio_begin(&op, inst, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY,
		  FileObject);
	p = &op.fm.iopb.Parameters;
	p->DirectoryControl.QueryDirectory.Length = Length;
	p->DirectoryControl.QueryDirectory.FileName = FileName;
	p->DirectoryControl.QueryDirectory.FileInformationClass =
		FileInformationClass;
	p->DirectoryControl.QueryDirectory.DirectoryBuffer = FileInformation;
	op.fm.iopb.OperationFlags = (RestartScan ? SL_RESTART_SCAN : 0) |
				    (ReturnSingleEntry ? SL_RETURN_SINGLE_ENTRY : 0);
	op.fm.iopb.IrpFlags = IRP_SYNCHRONOUS_API;
	if (fio_pre(&op)) {
		pthread_mutex_lock(&s->lock);
		st = fq_dir_fill(fio_vol(inst), f, s, &op.fm.iopb, &info);
		pthread_mutex_unlock(&s->lock);
		op.fm.data.IoStatus.Status = st;
		op.fm.data.IoStatus.Information = info;
	}
	st = fio_end(&op);
	if ((NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW) && LengthReturned)
		*LengthReturned = (ULONG)op.fm.data.IoStatus.Information;
	return st;
}

/* ---- volume information ---- */

/* Copies a fixed part and a UTF-16 name of n bytes that may not fit. */
static NTSTATUS fq_fixed_and_name(void *buf, ULONG len, const void *fixed,
				  ULONG off, const WCHAR *name, ULONG n,
				  ULONG *used)
{
	if (len < off)
		return STATUS_INFO_LENGTH_MISMATCH;
	memcpy(buf, fixed, off);
	if (n > len - off) {
		if (len > off)
			memcpy((char *)buf + off, name, len - off);
		*used = len;
		return STATUS_BUFFER_OVERFLOW;
	}
	if (n)
		memcpy((char *)buf + off, name, n);
	*used = off + n;
	return STATUS_SUCCESS;
}

static ULONG fq_utf16(const char *s, WCHAR *out, size_t cap)
{
	ssize_t n = rtl_name_to_utf16(s, strlen(s), out, cap);

	return n > 0 ? (ULONG)(n * sizeof(WCHAR)) : 0;
}

/* The file system's part of a volume query. */
static NTSTATUS fq_volume_fill(struct io_volume *v, FS_INFORMATION_CLASS cls,
			       void *buf, ULONG len, ULONG *used)
{
	struct statvfs sv;
	WCHAR name[FM_NAME_MAX + 16];

	*used = 0;
	if (!buf)
		return STATUS_INFO_LENGTH_MISMATCH;
	if (fstatvfs(v->root_fd, &sv) < 0)
		return rtl_errno_to_status(errno);
	switch (cls) {
	case FileFsSizeInformation: {
		FILE_FS_SIZE_INFORMATION i = {
			.TotalAllocationUnits.QuadPart = (LONGLONG)sv.f_blocks,
			.AvailableAllocationUnits.QuadPart = (LONGLONG)sv.f_bavail,
			.SectorsPerAllocationUnit = 1,
			.BytesPerSector = (ULONG)sv.f_frsize,
		};

		return fq_fixed_and_name(buf, len, &i, sizeof(i), NULL, 0, used);
	}
	case FileFsFullSizeInformation: {
		/* As io_op_statfs reports it, so statfs(2) and this agree. */
		FILE_FS_FULL_SIZE_INFORMATION i = {
			.TotalAllocationUnits.QuadPart = (LONGLONG)sv.f_blocks,
			.CallerAvailableAllocationUnits.QuadPart =
				(LONGLONG)sv.f_bavail,
			.ActualAvailableAllocationUnits.QuadPart =
				(LONGLONG)sv.f_bfree,
			.SectorsPerAllocationUnit = 1,
			.BytesPerSector = (ULONG)sv.f_frsize,
		};

		return fq_fixed_and_name(buf, len, &i, sizeof(i), NULL, 0, used);
	}
	case FileFsAttributeInformation: {
		FILE_FS_ATTRIBUTE_INFORMATION i = {
			.FileSystemAttributes =
				FILE_CASE_SENSITIVE_SEARCH |
				FILE_CASE_PRESERVED_NAMES | FILE_UNICODE_ON_DISK |
				FILE_PERSISTENT_ACLS | FILE_SUPPORTS_SPARSE_FILES |
				FILE_SUPPORTS_REPARSE_POINTS |
				FILE_SUPPORTS_HARD_LINKS |
				FILE_SUPPORTS_EXTENDED_ATTRIBUTES |
				FILE_SUPPORTS_POSIX_UNLINK_RENAME |
				((sv.f_flag & ST_RDONLY) ? FILE_READ_ONLY_VOLUME : 0),
			.MaximumComponentNameLength = (LONG)sv.f_namemax,
		};
		ULONG n = fq_utf16(v->fm->fs_name, name, ARRAYSIZE(name));

		i.FileSystemNameLength = n;
		return fq_fixed_and_name(buf, len, &i,
					 offsetof(FILE_FS_ATTRIBUTE_INFORMATION,
						  FileSystemName),
					 name, n, used);
	}
	case FileFsVolumeInformation: {
		FILE_FS_VOLUME_INFORMATION i = { 0 };
		struct statx stx;
		ULONG n = fq_utf16(v->fm->name, name, ARRAYSIZE(name));

		if (statx(v->root_fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 &&
		    (stx.stx_mask & STATX_BTIME)) {
			struct timespec ts = { stx.stx_btime.tv_sec,
					       stx.stx_btime.tv_nsec };

			i.VolumeCreationTime.QuadPart = io_ts_to_nt(&ts);
		}
		i.VolumeSerialNumber = (ULONG)(sv.f_fsid ^ (sv.f_fsid >> 32));
		i.VolumeLabelLength = n;
		i.SupportsObjects = FALSE;
		return fq_fixed_and_name(buf, len, &i,
					 offsetof(FILE_FS_VOLUME_INFORMATION,
						  VolumeLabel),
					 name, n, used);
	}
	default:
		return STATUS_INVALID_INFO_CLASS;
	}
}

static NTSTATUS fq_volume_query(struct fm_instance *inst, PFILE_OBJECT fo,
				PVOID buf, ULONG len, FS_INFORMATION_CLASS cls,
				ULONG_PTR *info)
{
	struct fio_op op;
	PFLT_PARAMETERS p;
	ULONG used = 0;

	fio_begin(&op, inst, IRP_MJ_QUERY_VOLUME_INFORMATION, 0, fo);
	p = &op.fm.iopb.Parameters;
	p->QueryVolumeInformation.Length = len;
	p->QueryVolumeInformation.FsInformationClass = cls;
	p->QueryVolumeInformation.VolumeBuffer = buf;
	if (fio_pre(&op)) {
		NTSTATUS st = fq_volume_fill(fio_vol(inst),
					     p->QueryVolumeInformation.FsInformationClass,
					     p->QueryVolumeInformation.VolumeBuffer,
					     p->QueryVolumeInformation.Length, &used);

		op.fm.data.IoStatus.Status = st;
		op.fm.data.IoStatus.Information = used;
	}
	fio_end(&op);
	*info = op.fm.data.IoStatus.Information;
	return op.fm.data.IoStatus.Status;
}

NTSTATUS FLTAPI FltQueryVolumeInformationFile(PFLT_INSTANCE Instance,
					      PFILE_OBJECT FileObject,
					      PVOID FsInformation, ULONG Length,
					      FS_INFORMATION_CLASS FsInformationClass,
					      PULONG LengthReturned)
{
	ULONG_PTR info = 0;
	NTSTATUS st;

	if (LengthReturned)
		*LengthReturned = 0;
	if (!fio_inst_ok(Instance) || !FileObject || (!FsInformation && Length))
		return STATUS_INVALID_PARAMETER;
	st = fq_volume_query((struct fm_instance *)Instance, FileObject,
			     FsInformation, Length, FsInformationClass, &info);
	if ((NT_SUCCESS(st) || st == STATUS_BUFFER_OVERFLOW) && LengthReturned)
		*LengthReturned = (ULONG)info;
	return st;
}

NTSTATUS FLTAPI FltQueryVolumeInformation(PFLT_INSTANCE Instance,
					  PIO_STATUS_BLOCK Iosb,
					  PVOID FsInformation, ULONG Length,
					  FS_INFORMATION_CLASS FsInformationClass)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;
	struct io_volume *v;
	struct io_file *root;
	ULONG_PTR info = 0;
	NTSTATUS st;

	if (!fio_inst_ok(Instance) || !Iosb || (!FsInformation && Length))
		return STATUS_INVALID_PARAMETER;
	/* The volume is queried through a file object of its root, which
	 * lives as long as the query. */
	v = fio_vol(inst);
	root = io_file_new(&v->fs.root);
	if (!root)
		return Iosb->Status = STATUS_INSUFFICIENT_RESOURCES;
	st = fq_volume_query(inst, &root->fo, FsInformation, Length,
			     FsInformationClass, &info);
	fm_file_object_gone(inst->volume, &root->fo);
	io_file_free(root);
	Iosb->Status = st;
	Iosb->Information = info;
	return st;
}
