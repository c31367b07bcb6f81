/*
 * dir.c - IRP_MJ_DIRECTORY_CONTROL / IRP_MN_QUERY_DIRECTORY for readdir and
 * readdirplus.
 *
 * A batch of entries is read from the directory stream into a
 * FILE_ID_EXTD_DIR_INFORMATION list sized so that, if every entry survives
 * the filters, all fit in the FUSE reply.  Filters may drop or rewrite
 * entries; each entry's FileIndex is its place in the batch, which maps it
 * back to its directory offset, so the listing continues correctly after
 * a hidden entry.  A batch the filters emptied is followed by the next one:
 * an empty reply would end the listing.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IO_DIR_ENTRY_MAX \
	(offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName) + \
	 IO_DIR_NAME_MAX * sizeof(WCHAR) + 8)

/* The directory buffers of this thread, sized for entries and reply. */
static struct io_tls *io_dir_reserve(size_t entries, size_t reply)
{
	struct io_tls *t = io_tls();

	if (!t)
		return NULL;
	if (entries > t->dir_entries) {
		if (!io_tls_grow(&t->dir_irp, &t->dir_irp_cap,
				 entries * IO_DIR_ENTRY_MAX) ||
		    !io_tls_grow(&t->dir_cookies, &t->dir_cookies_cap,
				 entries * sizeof(off_t)) ||
		    !io_tls_grow(&t->dir_types, &t->dir_types_cap, entries))
			return NULL;
		t->dir_entries = entries;
	}
	if (!io_tls_grow(&t->dir_reply, &t->dir_reply_cap, reply))
		return NULL;
	return t;
}

/* The reparse tag of a directory entry's type, as stat would give it. */
static ULONG io_dt_tag(unsigned char dt)
{
	return dt == DT_UNKNOWN ? 0 : io_reparse_tag(DTTOIF(dt));
}

static unsigned char io_entry_dt(const FILE_ID_EXTD_DIR_INFORMATION *e,
				 unsigned char orig)
{
	if (e->FileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		return DT_DIR;
	switch (e->ReparsePointTag) {
	case IO_REPARSE_TAG_LX_SYMLINK:
		return DT_LNK;
	case IO_REPARSE_TAG_LX_FIFO:
		return DT_FIFO;
	case IO_REPARSE_TAG_AF_UNIX:
		return DT_SOCK;
	case IO_REPARSE_TAG_LX_CHR:
		return DT_CHR;
	case IO_REPARSE_TAG_LX_BLK:
		return DT_BLK;
	}
	return orig == DT_DIR || io_dt_tag(orig) ? DT_REG : orig;
}

ssize_t io_dir_entry(int dfd, const struct dirent *de, bool with_stat,
		     FILE_ID_EXTD_DIR_INFORMATION *e)
{
	ssize_t wn;

	memset(e, 0, offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName));
	wn = rtl_name_to_utf16(de->d_name, strlen(de->d_name), e->FileName,
			       IO_DIR_NAME_MAX);
	if (wn < 0)
		return wn;
	e->FileNameLength = (ULONG)(wn * sizeof(WCHAR));
	memcpy(e->FileId.Identifier, &de->d_ino, sizeof(de->d_ino));
	e->ReparsePointTag = io_dt_tag(de->d_type);
	e->FileAttributes = de->d_type == DT_DIR ? FILE_ATTRIBUTE_DIRECTORY
			    : e->ReparsePointTag ? FILE_ATTRIBUTE_REPARSE_POINT
						 : FILE_ATTRIBUTE_NORMAL;
	if (with_stat) {
		struct stat st;

		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			e->CreationTime.QuadPart = io_ts_to_nt(&st.st_ctim);
			e->LastAccessTime.QuadPart = io_ts_to_nt(&st.st_atim);
			e->LastWriteTime.QuadPart = io_ts_to_nt(&st.st_mtim);
			e->ChangeTime.QuadPart = io_ts_to_nt(&st.st_ctim);
			e->EndOfFile.QuadPart = st.st_size;
			e->AllocationSize.QuadPart = (LONGLONG)st.st_blocks * 512;
		}
	}
	return wn;
}

/* Reads one batch into the IRP buffer; returns bytes used (0 at the end). */
static size_t io_dir_fill(struct io_tls *t, struct io_file *f, size_t size,
			  bool plus, size_t *count)
{
	char *irp = t->dir_irp;
	off_t *cookies = t->dir_cookies;
	unsigned char *types = t->dir_types;
	FILE_ID_EXTD_DIR_INFORMATION *prev = NULL;
	size_t used = 0, budget = 0, i = 0;

	while (i < t->dir_entries) {
		long pos = telldir(f->dir);
		struct dirent *de;
		FILE_ID_EXTD_DIR_INFORMATION *e;
		size_t esize, dsize;
		ssize_t wn;

		errno = 0;
		de = readdir(f->dir);
		if (!de)
			break;
		dsize = plus ? fuse_add_direntry_plus(NULL, NULL, 0, de->d_name,
						      NULL, 0)
			     : fuse_add_direntry(NULL, NULL, 0, de->d_name, NULL, 0);
		if (budget + dsize > size) {
			seekdir(f->dir, pos);
			break;
		}
		budget += dsize;
		e = (FILE_ID_EXTD_DIR_INFORMATION *)(irp + used);
		wn = io_dir_entry(dirfd(f->dir), de, plus, e);
		if (wn < 0)
			continue;
		e->FileIndex = (ULONG)i;
		cookies[i] = de->d_off;
		types[i] = de->d_type;
		esize = ALIGN_UP_BY(offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName) +
					    e->FileNameLength, 8);
		if (prev)
			prev->NextEntryOffset = (ULONG)((char *)e - (char *)prev);
		prev = e;
		used += esize;
		i++;
		f->dir_offset = de->d_off;
	}
	*count = i;
	return used;
}

/* Turns the surviving entries into FUSE dirents; returns the reply size. */
static size_t io_dir_reply(fuse_req_t req, struct io_tls *t, struct io_file *f,
			   ULONG len, size_t count, size_t size, bool plus)
{
	struct io_volume *v = io_vol(req);
	const char *buf = t->dir_irp;
	const off_t *cookies = t->dir_cookies;
	const unsigned char *types = t->dir_types;
	char *reply = t->dir_reply;
	size_t off = 0, pos = 0;

	if (!len)
		return 0;
	for (;;) {
		const FILE_ID_EXTD_DIR_INFORMATION *e =
			(const FILE_ID_EXTD_DIR_INFORMATION *)(buf + off);
		char name[NAME_MAX * 4 + 1];
		struct stat st;
		size_t need;
		ssize_t n;

		if (off + offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName) > len ||
		    off + offsetof(FILE_ID_EXTD_DIR_INFORMATION, FileName) +
				    e->FileNameLength > len)
			break;
		n = rtl_name_from_utf16(e->FileName,
					e->FileNameLength / sizeof(WCHAR), name,
					sizeof(name));
		if (n > 0 && e->FileIndex < count) {
			memset(&st, 0, sizeof(st));
			memcpy(&st.st_ino, e->FileId.Identifier, sizeof(st.st_ino));
			st.st_mode = DTTOIF(io_entry_dt(e, types[e->FileIndex]));
			if (plus) {
				struct fuse_entry_param ep;
				bool dots = !strcmp(name, ".") || !strcmp(name, "..");

				memset(&ep, 0, sizeof(ep));
				if (!dots && io_make_entry(v, f->inode, name, &ep) < 0)
					goto next;
				if (dots)
					ep.attr = st;
				need = fuse_add_direntry_plus(req, reply + pos,
							      size - pos, name, &ep,
							      cookies[e->FileIndex]);
				if (need > size - pos) {
					if (!dots)
						fsb_forget(&v->fs,
							   (struct fsb_inode *)(uintptr_t)ep.ino, 1);
					break;
				}
			} else {
				need = fuse_add_direntry(req, reply + pos,
							 size - pos, name, &st,
							 cookies[e->FileIndex]);
				if (need > size - pos)
					break;
			}
			pos += need;
		}
next:
		if (!e->NextEntryOffset)
			break;
		off += e->NextEntryOffset;
	}
	return pos;
}

static void io_readdir_common(fuse_req_t req, size_t size, off_t offset,
			      struct fuse_file_info *fi, bool plus)
{
	struct io_file *f = io_file(fi);
	struct io_tls *t = io_dir_reserve(size / 24 + 2, size);
	struct io_op op;
	size_t pos = 0;
	bool first = true;

	if (!t) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (offset != f->dir_offset) {
		seekdir(f->dir, offset);
		f->dir_offset = offset;
	}
	while (pos == 0) {
		PFLT_PARAMETERS p;
		size_t count = 0, used;
		int err;

		io_begin(&op, req, IRP_MJ_DIRECTORY_CONTROL, IRP_MN_QUERY_DIRECTORY,
			 f->inode, NULL, f);
		p = io_params(&op);
		if (first && offset == 0)
			op.fm.iopb.OperationFlags |= SL_RESTART_SCAN;
		first = false;
		p->DirectoryControl.QueryDirectory.FileInformationClass =
			FileIdExtdDirectoryInformation;
		p->DirectoryControl.QueryDirectory.Length = (ULONG)t->dir_irp_cap;
		p->DirectoryControl.QueryDirectory.DirectoryBuffer = t->dir_irp;
		if (io_pre(&op)) {
			used = io_dir_fill(t, f, size, plus, &count);
			if (used)
				io_done(&op, 0, used);
			else
				op.fm.data.IoStatus.Status = STATUS_NO_MORE_FILES;
		}
		io_post(&op);
		if (io_status(&op) == STATUS_NO_MORE_FILES)
			break;
		err = io_errno(&op);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
		pos = io_dir_reply(req, t, f,
				   (ULONG)min(op.fm.data.IoStatus.Information,
					      t->dir_irp_cap),
				   count, size, plus);
		if (!count)
			break;
	}
	fuse_reply_buf(req, t->dir_reply, pos);
}

void io_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
		   struct fuse_file_info *fi)
{
	(void)ino;
	io_readdir_common(req, size, offset, fi, false);
}

void io_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t offset, struct fuse_file_info *fi)
{
	(void)ino;
	io_readdir_common(req, size, offset, fi, true);
}
