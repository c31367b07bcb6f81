/*
 * info.c - information about files and changes to it: getattr
 * (IRP_MJ_QUERY_INFORMATION, FileStatLxInformation), setattr (SET_EA with
 * $LXMOD/$LXUID/$LXGID for chmod/chown, SET_INFORMATION with
 * FileEndOfFileInformation for truncate and FileBasicInformation for
 * utimens), readlink (FSCTL_GET_REPARSE_POINT), statfs
 * (IRP_MJ_QUERY_VOLUME_INFORMATION).
 */
#include "iomgr/iomgr.h"
#include "iomgr/ea.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

void io_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	FILE_STAT_LX_INFORMATION info;
	struct stat st, out;
	bool have = false;
	struct io_op op;
	double timeout;
	PFLT_PARAMETERS p;
	int err;

	io_begin(&op, req, IRP_MJ_QUERY_INFORMATION, 0, in, NULL, io_file(fi));
	timeout = io_stack_attr_timeout(op.fm.stack);
	if (!op.wanted) {
		io_post(&op);
		err = fsb_stat(in, &st);
		if (err)
			fuse_reply_err(req, -err);
		else
			fuse_reply_attr(req, &st, timeout);
		return;
	}
	p = io_params(&op);
	memset(&info, 0, sizeof(info));
	p->QueryFileInformation.FileInformationClass = FileStatLxInformation;
	p->QueryFileInformation.Length = sizeof(info);
	p->QueryFileInformation.InfoBuffer = &info;
	if (io_pre(&op)) {
		err = fsb_stat(in, &st);
		have = err == 0;
		if (have)
			io_stat_to_lx(&st, &info);
		io_done(&op, err, sizeof(info));
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	io_lx_to_stat(&info, have ? &st : NULL, &out);
	fuse_reply_attr(req, &out, timeout);
}

/* chmod/chown: one IRP_MJ_SET_EA carrying the $LX* values being set. */
static int io_set_owner_mode(fuse_req_t req, struct fsb_inode *in,
			     struct io_file *f, const struct stat *attr,
			     int to_set)
{
	struct io_volume *v = io_vol(req);
	char ea[96] __attribute__((aligned(8)));
	size_t len = 0;
	ULONG mode = attr->st_mode, uid = attr->st_uid, gid = attr->st_gid;
	struct io_op op;
	int err = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		io_ea_append(ea, sizeof(ea), &len, LX_EA_MODE, &mode,
			     sizeof(mode), 0);
	if (to_set & FUSE_SET_ATTR_UID)
		io_ea_append(ea, sizeof(ea), &len, LX_EA_UID, &uid, sizeof(uid), 0);
	if (to_set & FUSE_SET_ATTR_GID)
		io_ea_append(ea, sizeof(ea), &len, LX_EA_GID, &gid, sizeof(gid), 0);
	io_begin(&op, req, IRP_MJ_SET_EA, 0, in, NULL, f);
	io_params(&op)->SetEa.Length = (ULONG)len;
	io_params(&op)->SetEa.EaBuffer = ea;
	if (io_pre(&op)) {
		PFLT_PARAMETERS p = io_params(&op);
		int fd = f ? f->fd : -1;
		bool has_uid, has_gid;

		has_uid = io_ea_ulong(p->SetEa.EaBuffer, p->SetEa.Length,
				      LX_EA_UID, &uid);
		has_gid = io_ea_ulong(p->SetEa.EaBuffer, p->SetEa.Length,
				      LX_EA_GID, &gid);
		if (has_uid || has_gid)
			err = fsb_chown(&v->fs, in, fd,
					has_uid ? (uid_t)uid : (uid_t)-1,
					has_gid ? (gid_t)gid : (gid_t)-1);
		if (!err && io_ea_ulong(p->SetEa.EaBuffer, p->SetEa.Length,
					LX_EA_MODE, &mode))
			err = fsb_chmod(&v->fs, in, fd, mode & 07777);
		io_done(&op, err, 0);
	}
	io_post(&op);
	return io_errno(&op);
}

static int io_set_size(fuse_req_t req, struct fsb_inode *in, struct io_file *f,
		       off_t size)
{
	struct io_volume *v = io_vol(req);
	FILE_END_OF_FILE_INFORMATION eof;
	struct io_op op;
	PFLT_PARAMETERS p;

	io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, in, NULL, f);
	p = io_params(&op);
	eof.EndOfFile.QuadPart = size;
	p->SetFileInformation.FileInformationClass = FileEndOfFileInformation;
	p->SetFileInformation.Length = sizeof(eof);
	p->SetFileInformation.InfoBuffer = &eof;
	if (io_pre(&op))
		io_done(&op,
			fsb_truncate(&v->fs, in, f ? f->fd : -1,
				     eof.EndOfFile.QuadPart),
			0);
	io_post(&op);
	return io_errno(&op);
}

/* One time for FileBasicInformation: 0 leaves it alone, as on Windows. */
static LONGLONG io_basic_time(const struct stat *attr, int to_set, int set,
			      int now, const struct timespec *t,
			      struct timespec *exact)
{
	struct timespec ts;

	if (to_set & now) {
		clock_gettime(CLOCK_REALTIME, &ts);
		exact->tv_sec = 0;
		exact->tv_nsec = UTIME_NOW;
		return io_ts_to_nt(&ts);
	}
	if (to_set & set) {
		*exact = *t;
		return io_ts_to_nt(t);
	}
	(void)attr;
	exact->tv_sec = 0;
	exact->tv_nsec = UTIME_OMIT;
	return 0;
}

static int io_set_times(fuse_req_t req, struct fsb_inode *in,
			struct io_file *f, const struct stat *attr, int to_set)
{
	struct io_volume *v = io_vol(req);
	FILE_BASIC_INFORMATION basic;
	struct timespec tv[2];
	LONGLONG a0, m0;
	struct io_op op;
	PFLT_PARAMETERS p;

	memset(&basic, 0, sizeof(basic));
	a0 = basic.LastAccessTime.QuadPart =
		io_basic_time(attr, to_set, FUSE_SET_ATTR_ATIME,
			      FUSE_SET_ATTR_ATIME_NOW, &attr->st_atim, &tv[0]);
	m0 = basic.LastWriteTime.QuadPart =
		io_basic_time(attr, to_set, FUSE_SET_ATTR_MTIME,
			      FUSE_SET_ATTR_MTIME_NOW, &attr->st_mtim, &tv[1]);
	io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, in, NULL, f);
	p = io_params(&op);
	p->SetFileInformation.FileInformationClass = FileBasicInformation;
	p->SetFileInformation.Length = sizeof(basic);
	p->SetFileInformation.InfoBuffer = &basic;
	if (io_pre(&op)) {
		/* Values the filters changed replace the exact Linux ones. */
		if (basic.LastAccessTime.QuadPart != a0) {
			if (basic.LastAccessTime.QuadPart)
				io_nt_to_ts(basic.LastAccessTime.QuadPart, &tv[0]);
			else
				tv[0].tv_nsec = UTIME_OMIT;
		}
		if (basic.LastWriteTime.QuadPart != m0) {
			if (basic.LastWriteTime.QuadPart)
				io_nt_to_ts(basic.LastWriteTime.QuadPart, &tv[1]);
			else
				tv[1].tv_nsec = UTIME_OMIT;
		}
		io_done(&op, fsb_utimens(&v->fs, in, f ? f->fd : -1, tv), 0);
	}
	io_post(&op);
	return io_errno(&op);
}

/*
 * The set-id bits this setattr must drop (setid.c): a truncate by a caller
 * without CAP_FSETID and a chown come with FUSE_SET_ATTR_KILL_SUID; a
 * setattr that sets nothing is the kernel dropping privileges for a change
 * of its own.  The drop travels as a mode change, as it did when the kernel
 * computed the mode itself.
 */
static int io_setattr_setid(fuse_req_t req, struct fsb_inode *in,
			    struct stat *attr, int to_set)
{
	int changes = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE |
		      FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		      FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;
	bool data = to_set & FUSE_SET_ATTR_SIZE;
	struct stat st;
	mode_t drop;

	if ((to_set & FUSE_SET_ATTR_MODE) || !S_ISREG(in->type) ||
	    (!(to_set & FUSE_SET_ATTR_KILL_SUID) && (to_set & changes)) ||
	    fsb_stat(in, &st) < 0)
		return to_set;
	drop = io_setid_drop(req, &st, data ? IO_SETID_DATA : IO_SETID_OWNER,
			     data ? IO_FSETID_NO : IO_FSETID_ASK);
	if (!drop)
		return to_set;
	attr->st_mode = st.st_mode & ~drop;
	return to_set | FUSE_SET_ATTR_MODE;
}

void io_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	struct io_file *f = io_file(fi);
	struct stat st;
	int err = 0;

	to_set = io_setattr_setid(req, in, attr, to_set);
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		err = io_set_owner_mode(req, in, f, attr, to_set);
	if (!err && (to_set & FUSE_SET_ATTR_SIZE))
		err = io_set_size(req, in, f, attr->st_size);
	if (!err && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
			       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)))
		err = io_set_times(req, in, f, attr, to_set);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	err = fsb_stat(in, &st);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, io_attr_timeout(v));
}

void io_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	union {
		REPARSE_DATA_BUFFER rp;
		char raw[REPARSE_DATA_BUFFER_HEADER_SIZE + 4 + PATH_MAX + 1];
	} buf __attribute__((aligned(8)));
	char target[PATH_MAX + 1];
	struct io_op op;
	PFLT_PARAMETERS p;
	size_t tl;
	int err;

	io_begin(&op, req, IRP_MJ_FILE_SYSTEM_CONTROL, IRP_MN_USER_FS_REQUEST,
		 in, NULL, NULL);
	p = io_params(&op);
	p->FileSystemControl.Buffered.FsControlCode = FSCTL_GET_REPARSE_POINT;
	p->FileSystemControl.Buffered.OutputBufferLength = sizeof(buf);
	p->FileSystemControl.Buffered.SystemBuffer = &buf;
	if (io_pre(&op)) {
		ssize_t n = fsb_readlink(in, target, sizeof(target));
		ULONG version = LX_SYMLINK_REPARSE_VERSION;

		if (n >= 0) {
			buf.rp.ReparseTag = IO_REPARSE_TAG_LX_SYMLINK;
			buf.rp.ReparseDataLength = (USHORT)(4 + n);
			buf.rp.Reserved = 0;
			memcpy(buf.rp.GenericReparseBuffer.DataBuffer, &version, 4);
			memcpy(buf.rp.GenericReparseBuffer.DataBuffer + 4, target,
			       (size_t)n);
		}
		io_done(&op, n < 0 ? (int)n : 0,
			n < 0 ? 0 : REPARSE_DATA_BUFFER_HEADER_SIZE + 4 + (size_t)n);
	}
	io_post(&op);
	err = io_errno(&op);
	if (!err && (buf.rp.ReparseTag != IO_REPARSE_TAG_LX_SYMLINK ||
		     buf.rp.ReparseDataLength < 4 ||
		     buf.rp.ReparseDataLength - 4u > PATH_MAX))
		err = EINVAL;
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	tl = buf.rp.ReparseDataLength - 4u;
	memcpy(target, buf.rp.GenericReparseBuffer.DataBuffer + 4, tl);
	target[tl] = 0;
	fuse_reply_readlink(req, target);
}

void io_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct io_volume *v = io_vol(req);
	FILE_FS_FULL_SIZE_INFORMATION info;
	struct statvfs sv;
	struct io_op op;
	PFLT_PARAMETERS p;
	int err;

	io_begin(&op, req, IRP_MJ_QUERY_VOLUME_INFORMATION, 0,
		 io_inode(v, ino), NULL, NULL);
	p = io_params(&op);
	memset(&info, 0, sizeof(info));
	p->QueryVolumeInformation.FsInformationClass = FileFsFullSizeInformation;
	p->QueryVolumeInformation.Length = sizeof(info);
	p->QueryVolumeInformation.VolumeBuffer = &info;
	err = fstatvfs(v->root_fd, &sv) < 0 ? -errno : 0;
	if (io_pre(&op)) {
		if (!err) {
			info.TotalAllocationUnits.QuadPart = (LONGLONG)sv.f_blocks;
			info.CallerAvailableAllocationUnits.QuadPart =
				(LONGLONG)sv.f_bavail;
			info.ActualAvailableAllocationUnits.QuadPart =
				(LONGLONG)sv.f_bfree;
			info.SectorsPerAllocationUnit = 1;
			info.BytesPerSector = (ULONG)sv.f_frsize;
		}
		io_done(&op, err, sizeof(info));
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (info.BytesPerSector && info.SectorsPerAllocationUnit) {
		sv.f_frsize = (unsigned long)info.BytesPerSector *
			      info.SectorsPerAllocationUnit;
		sv.f_blocks = (fsblkcnt_t)info.TotalAllocationUnits.QuadPart;
		sv.f_bavail =
			(fsblkcnt_t)info.CallerAvailableAllocationUnits.QuadPart;
		sv.f_bfree =
			(fsblkcnt_t)info.ActualAvailableAllocationUnits.QuadPart;
	}
	fuse_reply_statfs(req, &sv);
}
