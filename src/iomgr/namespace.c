/*
 * namespace.c - changes to names: unlink and rmdir
 * (SET_INFORMATION/FileDispositionInformationEx), rename
 * (FileRenameInformationEx) and link (FileLinkInformationEx).
 *
 * The target of a rename or link is given to filters as a full name,
 * \Device\<volume>\dir\name, in the information buffer.  A filter may
 * rewrite it; the new target is then resolved beneath the volume's root
 * and can never leave it.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The inode of parent/name if the kernel knows it, for FsContext. */
static struct fsb_inode *io_child(struct io_volume *v, struct fsb_inode *parent,
				  const char *name)
{
	struct stat st;
	struct fsb_inode *in;

	if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	pthread_rwlock_rdlock(&v->fs.lock);
	in = fsb_find(&v->fs, st.st_dev, st.st_ino);
	pthread_rwlock_unlock(&v->fs.lock);
	return in;
}

static void io_remove(fuse_req_t req, fuse_ino_t parent, const char *name,
		      bool dir)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *pin = io_inode(v, parent);
	FILE_DISPOSITION_INFORMATION_EX info;
	struct io_op op;
	PFLT_PARAMETERS p;

	io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, pin, name, NULL);
	if (op.wanted)
		op.tmp.fo.FsContext = io_child(v, pin, name);
	p = io_params(&op);
	info.Flags = FILE_DISPOSITION_DELETE | FILE_DISPOSITION_POSIX_SEMANTICS;
	p->SetFileInformation.FileInformationClass = FileDispositionInformationEx;
	p->SetFileInformation.Length = sizeof(info);
	p->SetFileInformation.InfoBuffer = &info;
	if (io_pre(&op)) {
		int r = 0;

		/* A filter that clears the delete flag keeps the file. */
		if (info.Flags & FILE_DISPOSITION_DELETE)
			r = unlinkat(pin->fd, name, dir ? AT_REMOVEDIR : 0);
		io_done(&op, r < 0 ? -errno : 0, 0);
		if (r == 0)
			fm_names_changed(v->fm);
	}
	io_post(&op);
	fuse_reply_err(req, io_errno(&op));
}

void io_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	io_remove(req, parent, name, false);
}

void io_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	io_remove(req, parent, name, true);
}

struct io_target {
	union {
		FILE_RENAME_INFORMATION info;
		char raw[sizeof(FILE_RENAME_INFORMATION) +
			 (IO_NAME_MAX + 64) * sizeof(WCHAR)];
	};
	ULONG built_len; /* FileNameLength as built, to detect a rewrite */
	WCHAR built[IO_NAME_MAX + 64];
};

/* The target buffer of the fiber serving the request (it may be pended). */
static struct io_target *io_target_buf(void)
{
	struct io_tls *tls = io_tls();

	if (tls && !tls->target)
		tls->target = malloc(sizeof(*tls->target));
	return tls ? tls->target : NULL;
}

/* \Device\<volume>\dir\name of newparent/newname into t. */
static void io_target_build(struct io_volume *v, struct fsb_inode *npin,
			    const char *newname, ULONG flags,
			    struct io_target *t)
{
	UNICODE_STRING rel;
	WCHAR relbuf[IO_NAME_MAX];
	size_t dev = v->fm->device_name.Length;

	io_name(v, npin, newname, &rel, relbuf, IO_NAME_MAX);
	memset(&t->info, 0, sizeof(t->info));
	t->info.Flags = flags;
	memcpy(t->info.FileName, v->fm->device_name.Buffer, dev);
	memcpy((char *)t->info.FileName + dev, rel.Buffer, rel.Length);
	t->info.FileNameLength = (ULONG)(dev + rel.Length);
	t->built_len = t->info.FileNameLength;
	memcpy(t->built, t->info.FileName, t->built_len);
}

/* A rewritten target: open its directory beneath the root. */
static int io_target_resolve(struct io_volume *v, const struct io_target *t,
			     int *dirfd, char *name, size_t cap)
{
	size_t dev = v->fm->device_name.Length, n = t->info.FileNameLength;
	char path[PATH_MAX * 2], *slash;
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_SYMLINKS };
	ssize_t len;
	long fd;

	if (n > sizeof(t->raw) - sizeof(FILE_RENAME_INFORMATION) || n <= dev ||
	    memcmp(t->info.FileName, v->fm->device_name.Buffer, dev))
		return -EXDEV; /* not on this volume */
	len = rtl_path_from_utf16(t->info.FileName + dev / sizeof(WCHAR),
				  (n - dev) / sizeof(WCHAR), path, sizeof(path));
	if (len < 0)
		return (int)len;
	slash = strrchr(path, '/');
	if (!slash || !slash[1] || strlen(slash + 1) >= cap)
		return -EINVAL;
	snprintf(name, cap, "%s", slash + 1);
	if (slash == path) {
		path[0] = '.';
		path[1] = 0;
	} else {
		*slash = 0;
	}
	fd = syscall(SYS_openat2, v->root_fd, path[0] == '/' ? path + 1 : path,
		     &how, sizeof(how));
	if (fd < 0)
		return -errno;
	*dirfd = (int)fd;
	return 0;
}

static bool io_target_changed(const struct io_target *t)
{
	return t->info.FileNameLength != t->built_len ||
	       memcmp(t->info.FileName, t->built, t->built_len);
}

void io_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *pin = io_inode(v, parent), *npin = io_inode(v, newparent);
	struct io_target *t = io_target_buf();
	FILE_OBJECT parent_fo;
	struct io_op op;
	PFLT_PARAMETERS p;
	ULONG rflags = FILE_RENAME_POSIX_SEMANTICS;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!(flags & RENAME_NOREPLACE))
		rflags |= FILE_RENAME_REPLACE_IF_EXISTS;
	if (flags & RENAME_EXCHANGE)
		rflags |= FILE_RENAME_EXCHANGE_LX;
	if (!t) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, pin, name, NULL);
	p = io_params(&op);
	if (op.wanted) {
		op.tmp.fo.FsContext = io_child(v, pin, name);
		io_target_build(v, npin, newname, rflags, t);
		memset(&parent_fo, 0, sizeof(parent_fo));
		parent_fo.Type = 5;
		parent_fo.Size = sizeof(parent_fo);
		parent_fo.FsContext = npin;
		p->SetFileInformation.FileInformationClass = FileRenameInformationEx;
		p->SetFileInformation.Length =
			(ULONG)(offsetof(FILE_RENAME_INFORMATION, FileName) +
				t->info.FileNameLength);
		p->SetFileInformation.InfoBuffer = &t->info;
		p->SetFileInformation.ParentOfTarget = &parent_fo;
		p->SetFileInformation.ReplaceIfExists =
			!(flags & RENAME_NOREPLACE);
	}
	if (io_pre(&op)) {
		int dirfd = npin->fd, err = 0;
		char tname[NAME_MAX + 1];
		const char *target = newname;

		if (op.wanted) {
			flags = 0;
			if (!(t->info.Flags & FILE_RENAME_REPLACE_IF_EXISTS))
				flags |= RENAME_NOREPLACE;
			if (t->info.Flags & FILE_RENAME_EXCHANGE_LX)
				flags = RENAME_EXCHANGE;
			if (io_target_changed(t)) {
				err = io_target_resolve(v, t, &dirfd, tname,
							sizeof(tname));
				target = tname;
			}
		}
		if (!err) {
			/* From before the file system changes until the inode
			 * table shows the new names, no cached name is served
			 * (names.c): none can be stale once the rename returns. */
			fm_names_change_begin(v->fm);
			if (renameat2(pin->fd, name, dirfd, target, flags) < 0)
				err = -errno;
			if (!err && dirfd == npin->fd) {
				fsb_renamed(&v->fs, npin, newname);
				if (flags & RENAME_EXCHANGE)
					fsb_renamed(&v->fs, pin, name);
			} else if (!err) {
				/* A filter moved the target elsewhere. */
				fsb_renamed_at(&v->fs, dirfd, target);
			}
			fm_names_change_end(v->fm);
		}
		if (dirfd != npin->fd)
			close(dirfd);
		io_done(&op, err, 0);
	}
	io_post(&op);
	fuse_reply_err(req, io_errno(&op));
}

void io_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino), *npin = io_inode(v, newparent);
	struct io_target *t = io_target_buf();
	struct fuse_entry_param e;
	struct io_op op;
	PFLT_PARAMETERS p;
	int err;

	if (!t) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_SET_INFORMATION, 0, in, NULL, NULL);
	p = io_params(&op);
	if (op.wanted) {
		io_target_build(v, npin, newname, FILE_LINK_POSIX_SEMANTICS, t);
		p->SetFileInformation.FileInformationClass = FileLinkInformationEx;
		p->SetFileInformation.Length =
			(ULONG)(offsetof(FILE_LINK_INFORMATION, FileName) +
				t->info.FileNameLength);
		p->SetFileInformation.InfoBuffer = &t->info;
	}
	if (io_pre(&op)) {
		int dirfd = npin->fd;
		char tname[NAME_MAX + 1];
		const char *target = newname;

		err = 0;
		if (op.wanted && io_target_changed(t)) {
			err = io_target_resolve(v, t, &dirfd, tname, sizeof(tname));
			target = tname;
		}
		if (!err && linkat(in->fd, "", dirfd, target, AT_EMPTY_PATH) < 0)
			err = -errno;
		if (!err)
			fm_names_changed(v->fm);
		if (dirfd != npin->fd)
			close(dirfd);
		io_done(&op, err, 0);
	}
	io_post(&op);
	err = io_errno(&op);
	if (!err)
		err = -io_make_entry(v, npin, newname, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}
