/*
 * create.c - IRP_MJ_CREATE and its end: open, create, mkdir, mknod,
 * symlink, opendir; release and releasedir (IRP_MJ_CLEANUP, IRP_MJ_CLOSE);
 * lookup and forget, which are path resolution inside the file system and
 * no IRP of their own.
 *
 * Parameters.Create.Options carries the disposition in its high byte as on
 * Windows: O_EXCL creates are FILE_CREATE, O_TRUNC opens FILE_OVERWRITE(_IF),
 * plain O_CREAT FILE_OPEN_IF.  The mode of a new file travels as the $LXMOD
 * extended attribute in Create.EaBuffer (as WSL does), after the caller's
 * umask.  Filters may change the disposition, the desired access and the
 * mode in their pre-create callback; the file system honours the change.
 */
#include "iomgr/iomgr.h"
#include "iomgr/ea.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static ACCESS_MASK io_access(int flags)
{
	ACCESS_MASK a = SYNCHRONIZE | FILE_READ_ATTRIBUTES;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		a |= FILE_GENERIC_READ;
		break;
	case O_WRONLY:
		a |= FILE_GENERIC_WRITE;
		break;
	default:
		a |= FILE_GENERIC_READ | FILE_GENERIC_WRITE;
	}
	if (flags & O_APPEND)
		a &= ~FILE_WRITE_DATA;
	return a;
}

static ULONG io_options(int flags, bool dir)
{
	ULONG o = FILE_SYNCHRONOUS_IO_NONALERT;

	o |= dir ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE;
	if (flags & O_DIRECT)
		o |= FILE_NO_INTERMEDIATE_BUFFERING;
	if (flags & (O_SYNC | O_DSYNC))
		o |= FILE_WRITE_THROUGH;
	if (flags & O_NOFOLLOW)
		o |= FILE_OPEN_REPARSE_POINT;
	return o;
}

static ULONG io_disposition(int flags)
{
	if ((flags & O_CREAT) && (flags & O_EXCL))
		return FILE_CREATE;
	if (flags & O_CREAT)
		return (flags & O_TRUNC) ? FILE_OVERWRITE_IF : FILE_OPEN_IF;
	return (flags & O_TRUNC) ? FILE_OVERWRITE : FILE_OPEN;
}

/* Linux open flags after the filters had their say. */
static int io_flags_after(int flags, ULONG options, ACCESS_MASK access)
{
	ULONG disp = options >> 24;
	bool rd = access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL);
	bool wr = access & (FILE_WRITE_DATA | FILE_APPEND_DATA | GENERIC_WRITE |
			    GENERIC_ALL);

	flags &= ~(O_CREAT | O_EXCL | O_TRUNC | O_ACCMODE);
	flags |= wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
	switch (disp) {
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
	return flags;
}

static void io_create_params(struct io_op *op, IO_SECURITY_CONTEXT *sc,
			     int flags, bool dir, ULONG disposition,
			     void *ea, ULONG ea_len, USHORT attributes)
{
	PFLT_PARAMETERS p = io_params(op);

	sc->DesiredAccess =
		dir ? (FILE_LIST_DIRECTORY | SYNCHRONIZE | FILE_READ_ATTRIBUTES)
		    : io_access(flags);
	sc->FullCreateOptions = io_options(flags, dir);
	p->Create.SecurityContext = sc;
	p->Create.Options = (disposition << 24) | sc->FullCreateOptions;
	p->Create.FileAttributes = attributes;
	p->Create.ShareAccess = FILE_SHARE_VALID_FLAGS;
	p->Create.EaBuffer = ea;
	p->Create.EaLength = ea_len;
	op->fm.iopb.OperationFlags = SL_CASE_SENSITIVE;
	op->fm.iopb.IrpFlags = IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API;
}

void io_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct io_volume *v = io_vol(req);
	struct fuse_entry_param e;
	int err = io_make_entry(v, io_inode(v, parent), name, &e);

	if (err == -ENOENT) {
		/* A negative entry, cached like a positive one. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = io_entry_timeout(v);
		fuse_reply_entry(req, &e);
	} else if (err < 0) {
		fuse_reply_err(req, -err);
	} else {
		fuse_reply_entry(req, &e);
	}
}

void io_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct io_volume *v = io_vol(req);

	fsb_forget(&v->fs, io_inode(v, ino), nlookup);
	fuse_reply_none(req);
}

void io_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets)
{
	struct io_volume *v = io_vol(req);
	size_t i;

	for (i = 0; i < count; i++)
		fsb_forget(&v->fs, io_inode(v, forgets[i].ino),
			   forgets[i].nlookup);
	fuse_reply_none(req);
}

void io_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	struct io_file *f = io_file_new(in);
	IO_SECURITY_CONTEXT sc = { 0 };
	struct io_op op;
	int flags = fi->flags, err;

	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_CREATE, 0, in, NULL, f);
	io_file_name(&op, f, in, NULL);
	io_create_params(&op, &sc, flags, false, io_disposition(flags), NULL, 0, 0);
	f->direct = op.fm.stack->uncached_read;
	if (io_pre(&op)) {
		PFLT_PARAMETERS p = io_params(&op);

		flags = io_flags_after(flags, p->Create.Options, sc.DesiredAccess);
		if ((p->Create.Options >> 24) == FILE_CREATE) {
			io_done(&op, -EEXIST, 0);
		} else {
			f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
			f->fd = fsb_open(&v->fs, in, f->flags);
			if (f->fd >= 0)
				io_file_count(f);
			io_done(&op, f->fd < 0 ? f->fd : 0,
				(flags & O_TRUNC) ? FILE_OVERWRITTEN : FILE_OPENED);
		}
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		if (f->fd >= 0)
			close(f->fd);
		fm_file_object_gone(v->fm, &f->fo);
		io_file_free(f);
		fuse_reply_err(req, err);
		return;
	}
	f->fo.Flags |= FO_FILE_OPEN | FO_HANDLE_CREATED;
	if (f->flags & (O_SYNC | O_DSYNC)) /* FILE_WRITE_THROUGH, as IoCreateFile */
		f->fo.Flags |= FO_WRITE_THROUGH;
	f->fo.ReadAccess = (f->flags & O_ACCMODE) != O_WRONLY;
	f->fo.WriteAccess = (f->flags & O_ACCMODE) != O_RDONLY;
	if (f->flags & O_TRUNC)
		io_setid_drop_data(req, ino, f->fd, IO_FSETID_ASK);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = f->direct;
	fi->keep_cache = !f->direct;
	io_file_opened(v, f);
	if (fuse_reply_open(req, fi) == -ENOENT)
		io_close_file(v, req, f);
}

void io_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *pin = io_inode(v, parent);
	struct io_file *f = io_file_new(NULL);
	IO_SECURITY_CONTEXT sc = { 0 };
	struct fuse_entry_param e;
	char ea[64] __attribute__((aligned(8)));
	size_t ea_len = 0;
	struct io_op op;
	ULONG lxmode;
	int flags = fi->flags, err;
	bool created = false, looked_up = false;

	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_CREATE, 0, pin, name, f);
	io_file_name(&op, f, pin, name);
	lxmode = S_IFREG | fsb_apply_umask(pin, mode & 07777, op.req.umask);
	io_ea_append(ea, sizeof(ea), &ea_len, LX_EA_MODE, &lxmode,
		     sizeof(lxmode), 0);
	io_create_params(&op, &sc, flags, false, io_disposition(flags), ea,
			 (ULONG)ea_len, FILE_ATTRIBUTE_NORMAL);
	f->direct = op.fm.stack->uncached_read;
	if (io_pre(&op)) {
		PFLT_PARAMETERS p = io_params(&op);
		struct fsb_owner who = { op.req.uid, op.req.gid };
		ULONG m = lxmode;

		flags = io_flags_after(flags, p->Create.Options, sc.DesiredAccess);
		io_ea_ulong(p->Create.EaBuffer, p->Create.EaLength, LX_EA_MODE, &m);
		f->flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
		if (flags & O_CREAT) {
			f->fd = fsb_create(&v->fs, pin, name, flags & ~O_CREAT,
					   m & 07777, &who, &created);
		} else {
			f->fd = openat(pin->fd, name,
				       flags | O_NOFOLLOW | O_CLOEXEC);
			if (f->fd < 0)
				f->fd = -errno;
		}
		err = f->fd < 0 ? f->fd : io_make_entry(v, pin, name, &e);
		looked_up = err == 0;
		if (looked_up) {
			f->inode = (struct fsb_inode *)(uintptr_t)e.ino;
			f->fo.FsContext = f->inode;
			io_file_count(f);
		}
		io_done(&op, err,
			created ? FILE_CREATED
				: (flags & O_TRUNC) ? FILE_OVERWRITTEN : FILE_OPENED);
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		struct fsb_inode *gone = looked_up ? f->inode : NULL;

		if (f->fd >= 0)
			close(f->fd);
		fm_file_object_gone(v->fm, &f->fo);
		io_file_free(f); /* uncounts the open: before the forget */
		if (gone)
			fsb_forget(&v->fs, gone, 1);
		fuse_reply_err(req, err);
		return;
	}
	f->fo.Flags |= FO_FILE_OPEN | FO_HANDLE_CREATED;
	if (f->flags & (O_SYNC | O_DSYNC)) /* FILE_WRITE_THROUGH, as IoCreateFile */
		f->fo.Flags |= FO_WRITE_THROUGH;
	f->fo.ReadAccess = (f->flags & O_ACCMODE) != O_WRONLY;
	f->fo.WriteAccess = (f->flags & O_ACCMODE) != O_RDONLY;
	if (!created && (flags & O_TRUNC))
		io_setid_drop_data(req, e.ino, f->fd, IO_FSETID_ASK);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = f->direct;
	fi->keep_cache = !f->direct;
	io_file_opened(v, f);
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		io_close_file(v, req, f);
}

/* mkdir, mknod and symlink: a CREATE with FILE_CREATE, then CLEANUP/CLOSE. */
static void io_make_node(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, dev_t rdev, const char *target)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *pin = io_inode(v, parent);
	IO_SECURITY_CONTEXT sc = { 0 };
	struct fuse_entry_param e;
	union {
		char ea[128];
		REPARSE_DATA_BUFFER rp;
		char raw[REPARSE_DATA_BUFFER_HEADER_SIZE + 4 + PATH_MAX];
	} buf __attribute__((aligned(8)));
	size_t len = 0;
	struct io_op op;
	ULONG lxmode, dev[2];
	bool dir = S_ISDIR(mode), link = S_ISLNK(mode), made = false;
	USHORT attrs = dir ? FILE_ATTRIBUTE_DIRECTORY
			   : link ? FILE_ATTRIBUTE_REPARSE_POINT
				  : FILE_ATTRIBUTE_NORMAL;
	int err;

	io_begin(&op, req, IRP_MJ_CREATE, 0, pin, name, NULL);
	if (link) {
		size_t tlen = strlen(target);
		ULONG version = LX_SYMLINK_REPARSE_VERSION;

		if (tlen >= PATH_MAX) {
			io_post(&op);
			fuse_reply_err(req, ENAMETOOLONG);
			return;
		}
		buf.rp.ReparseTag = IO_REPARSE_TAG_LX_SYMLINK;
		buf.rp.ReparseDataLength = (USHORT)(sizeof(version) + tlen);
		buf.rp.Reserved = 0;
		memcpy(buf.rp.GenericReparseBuffer.DataBuffer, &version,
		       sizeof(version));
		memcpy(buf.rp.GenericReparseBuffer.DataBuffer + sizeof(version),
		       target, tlen);
		len = REPARSE_DATA_BUFFER_HEADER_SIZE + buf.rp.ReparseDataLength;
		lxmode = S_IFLNK | 0777;
	} else {
		lxmode = (mode & S_IFMT) |
			 fsb_apply_umask(pin, mode & 07777, op.req.umask);
		io_ea_append(buf.ea, sizeof(buf.ea), &len, LX_EA_MODE, &lxmode,
			     sizeof(lxmode), 0);
		if (S_ISCHR(mode) || S_ISBLK(mode)) {
			dev[0] = major(rdev);
			dev[1] = minor(rdev);
			io_ea_append(buf.ea, sizeof(buf.ea), &len, LX_EA_DEV,
				     dev, sizeof(dev), 0);
		}
	}
	io_create_params(&op, &sc, O_RDONLY | (link ? O_NOFOLLOW : 0), dir,
			 FILE_CREATE, buf.raw, (ULONG)len, attrs);
	if (io_pre(&op)) {
		PFLT_PARAMETERS p = io_params(&op);
		struct fsb_owner who = { op.req.uid, op.req.gid };
		char tbuf[PATH_MAX];
		ULONG m = lxmode;

		if (link) {
			const REPARSE_DATA_BUFFER *rp = p->Create.EaBuffer;
			size_t tl;

			err = -EINVAL;
			if (rp && p->Create.EaLength >= (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE + 4 &&
			    rp->ReparseTag == IO_REPARSE_TAG_LX_SYMLINK &&
			    rp->ReparseDataLength >= 4 &&
			    (ULONG)REPARSE_DATA_BUFFER_HEADER_SIZE + rp->ReparseDataLength <=
				    p->Create.EaLength &&
			    (tl = rp->ReparseDataLength - 4u) < sizeof(tbuf)) {
				memcpy(tbuf, rp->GenericReparseBuffer.DataBuffer + 4, tl);
				tbuf[tl] = 0;
				err = fsb_mknod(&v->fs, pin, name, S_IFLNK | 0777, 0,
						tbuf, &who);
			}
		} else {
			io_ea_ulong(p->Create.EaBuffer, p->Create.EaLength,
				    LX_EA_MODE, &m);
			if ((m & S_IFMT) != (lxmode & S_IFMT))
				m = (m & 07777) | (lxmode & S_IFMT);
			err = fsb_mknod(&v->fs, pin, name, m, rdev, NULL, &who);
		}
		if (err == 0)
			err = io_make_entry(v, pin, name, &e);
		made = err == 0;
		if (made)
			op.tmp.fo.FsContext = (void *)(uintptr_t)e.ino;
		io_done(&op, err, FILE_CREATED);
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		if (made)
			fsb_forget(&v->fs, (struct fsb_inode *)(uintptr_t)e.ino, 1);
		fm_file_object_gone(v->fm, &op.tmp.fo);
		fuse_reply_err(req, err);
		return;
	}
	io_cleanup_close_transient(&op, req);
	fuse_reply_entry(req, &e);
}

void io_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	io_make_node(req, parent, name, mode, rdev, NULL);
}

void io_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode)
{
	io_make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, NULL);
}

void io_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name)
{
	io_make_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

void io_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	struct io_file *f = io_file_new(in);
	IO_SECURITY_CONTEXT sc = { 0 };
	struct io_op op;
	int err;

	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_CREATE, 0, in, NULL, f);
	io_file_name(&op, f, in, NULL);
	io_create_params(&op, &sc, O_RDONLY, true, FILE_OPEN, NULL, 0, 0);
	if (io_pre(&op)) {
		err = fsb_open(&v->fs, in, O_RDONLY | O_DIRECTORY);
		if (err >= 0) {
			f->fd = err;
			f->dir = fdopendir(f->fd);
			err = f->dir ? 0 : -errno;
		}
		io_done(&op, err, FILE_OPENED);
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		if (f->dir)
			closedir(f->dir);
		else if (f->fd >= 0)
			close(f->fd);
		fm_file_object_gone(v->fm, &f->fo);
		io_file_free(f);
		fuse_reply_err(req, err);
		return;
	}
	f->fo.Flags |= FO_FILE_OPEN | FO_HANDLE_CREATED;
	fi->fh = (uint64_t)(uintptr_t)f;
	io_file_opened(v, f);
	if (fuse_reply_open(req, fi) == -ENOENT)
		io_close_file(v, req, f);
}

void io_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	io_close_file(io_vol(req), req, io_file(fi));
	fuse_reply_err(req, 0);
}

void io_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	io_close_file(io_vol(req), req, io_file(fi));
	fuse_reply_err(req, 0);
}

/* close(2) of one descriptor: no IRP (CLEANUP comes with the release), but
 * the underlying file sees a close too, for file systems that care. */
void io_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct io_file *f = io_file(fi);
	int fd;

	(void)ino;
	fd = dup(f->fd);
	if (fd < 0 || close(fd) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_err(req, 0);
}
