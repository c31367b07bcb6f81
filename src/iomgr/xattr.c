/*
 * xattr.c - extended attributes: getxattr and listxattr are IRP_MJ_QUERY_EA,
 * setxattr and removexattr IRP_MJ_SET_EA, one FILE_FULL_EA_INFORMATION entry
 * per attribute named as Linux names it ("user.comment").  A zero-length
 * value removes the attribute, as on Windows, unless FILE_EA_LX_EMPTY_VALUE
 * says it is an empty value; XATTR_CREATE/REPLACE travel as
 * FILE_EA_LX_CREATE/REPLACE in the entry's Flags.  listxattr returns the
 * names with empty values.
 */
#include "iomgr/iomgr.h"
#include "iomgr/ea.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define IO_EA_BUF (sizeof(FILE_FULL_EA_INFORMATION) + 256 + 65536 + 8)

static char *io_ea_buffer(void)
{
	struct io_tls *t = io_tls();

	return t ? io_tls_grow(&t->ea, &t->ea_cap, IO_EA_BUF) : NULL;
}

static void io_proc(const struct fsb_inode *in, char *buf, size_t cap)
{
	snprintf(buf, cap, "/proc/self/fd/%d", in->fd);
}

void io_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	char get[sizeof(FILE_GET_EA_INFORMATION) + 256] __attribute__((aligned(8)));
	FILE_GET_EA_INFORMATION *g = (FILE_GET_EA_INFORMATION *)get;
	const FILE_FULL_EA_INFORMATION *e;
	char *buf = io_ea_buffer(), proc[64];
	size_t nlen = strlen(name);
	struct io_op op;
	PFLT_PARAMETERS p;
	int err;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (nlen > 255) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (S_ISLNK(in->type)) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	g->NextEntryOffset = 0;
	g->EaNameLength = (UCHAR)nlen;
	memcpy(g->EaName, name, nlen + 1);
	io_begin(&op, req, IRP_MJ_QUERY_EA, 0, in, NULL, NULL);
	p = io_params(&op);
	p->QueryEa.EaList = g;
	p->QueryEa.EaListLength = (ULONG)(offsetof(FILE_GET_EA_INFORMATION, EaName) +
					  nlen + 1);
	p->QueryEa.Length = IO_EA_BUF;
	p->QueryEa.EaBuffer = buf;
	if (io_pre(&op)) {
		FILE_FULL_EA_INFORMATION *out = (FILE_FULL_EA_INFORMATION *)buf;
		ssize_t n;

		io_proc(in, proc, sizeof(proc));
		n = getxattr(proc, name, out->EaName + nlen + 1, 65536);
		if (n > 0xffff) {
			n = -1;
			errno = E2BIG;
		}
		if (n >= 0) {
			out->NextEntryOffset = 0;
			out->Flags = n ? 0 : FILE_EA_LX_EMPTY_VALUE;
			out->EaNameLength = (UCHAR)nlen;
			out->EaValueLength = (USHORT)n;
			memcpy(out->EaName, name, nlen + 1);
		}
		io_done(&op, n < 0 ? -errno : 0,
			n < 0 ? 0
			      : offsetof(FILE_FULL_EA_INFORMATION, EaName) + nlen +
					1 + (size_t)n);
	}
	io_post(&op);
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	e = io_ea_find(buf, min(op.fm.data.IoStatus.Information, IO_EA_BUF), name);
	if (!e) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size == 0)
		fuse_reply_xattr(req, e->EaValueLength);
	else if (e->EaValueLength > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, io_ea_value(e), e->EaValueLength);
}

void io_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	char *buf = io_ea_buffer(), proc[64];
	char names[65536];
	size_t out_len = 0, off = 0, used = 0;
	struct io_op op;
	PFLT_PARAMETERS p;
	int err;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	io_begin(&op, req, IRP_MJ_QUERY_EA, 0, in, NULL, NULL);
	p = io_params(&op);
	p->QueryEa.Length = IO_EA_BUF;
	p->QueryEa.EaBuffer = buf;
	op.fm.iopb.OperationFlags = SL_RESTART_SCAN;
	if (io_pre(&op)) {
		ssize_t n = 0, i;

		if (!S_ISLNK(in->type)) {
			io_proc(in, proc, sizeof(proc));
			n = listxattr(proc, names, sizeof(names));
		}
		for (i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
			if (!io_ea_append(buf, IO_EA_BUF, &used, names + i, NULL, 0,
					  FILE_EA_LX_EMPTY_VALUE))
				break;
		if (n >= 0 && !used)
			op.fm.data.IoStatus.Status = STATUS_NO_EAS_ON_FILE;
		else
			io_done(&op, n < 0 ? -errno : 0, used);
	}
	io_post(&op);
	if (io_status(&op) == STATUS_NO_EAS_ON_FILE) {
		if (size == 0)
			fuse_reply_xattr(req, 0);
		else
			fuse_reply_buf(req, NULL, 0);
		return;
	}
	err = io_errno(&op);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	used = min(op.fm.data.IoStatus.Information, IO_EA_BUF);
	if (io_ea_valid(buf, used)) {
		for (;;) {
			const FILE_FULL_EA_INFORMATION *e =
				(const FILE_FULL_EA_INFORMATION *)(buf + off);

			if (out_len + e->EaNameLength + 1 <= sizeof(names)) {
				memcpy(names + out_len, e->EaName,
				       e->EaNameLength + 1u);
				out_len += e->EaNameLength + 1u;
			}
			if (!e->NextEntryOffset)
				break;
			off += e->NextEntryOffset;
		}
	}
	if (size == 0)
		fuse_reply_xattr(req, out_len);
	else if (out_len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, names, out_len);
}

/* One SET_EA; value NULL means removal. */
static void io_set_ea(fuse_req_t req, fuse_ino_t ino, const char *name,
		      const char *value, size_t size, int flags)
{
	struct io_volume *v = io_vol(req);
	struct fsb_inode *in = io_inode(v, ino);
	char *buf = io_ea_buffer(), proc[64];
	size_t used = 0, off = 0;
	struct io_op op;
	PFLT_PARAMETERS p;
	UCHAR eflags = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (S_ISLNK(in->type)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (flags & XATTR_CREATE)
		eflags |= FILE_EA_LX_CREATE;
	if (flags & XATTR_REPLACE)
		eflags |= FILE_EA_LX_REPLACE;
	if (value && !size)
		eflags |= FILE_EA_LX_EMPTY_VALUE;
	if (!io_ea_append(buf, IO_EA_BUF, &used, name, value, value ? size : 0,
			  eflags)) {
		fuse_reply_err(req, strlen(name) > 255 ? ERANGE : E2BIG);
		return;
	}
	io_begin(&op, req, IRP_MJ_SET_EA, 0, in, NULL, NULL);
	p = io_params(&op);
	p->SetEa.Length = (ULONG)used;
	p->SetEa.EaBuffer = buf;
	if (io_pre(&op)) {
		int err = 0;

		io_proc(in, proc, sizeof(proc));
		if (!io_ea_valid(p->SetEa.EaBuffer, p->SetEa.Length))
			err = -EINVAL;
		while (!err) {
			const FILE_FULL_EA_INFORMATION *e =
				(const FILE_FULL_EA_INFORMATION *)
					((const char *)p->SetEa.EaBuffer + off);
			int xf = 0, r;

			if (e->Flags & FILE_EA_LX_CREATE)
				xf |= XATTR_CREATE;
			if (e->Flags & FILE_EA_LX_REPLACE)
				xf |= XATTR_REPLACE;
			if (!e->EaValueLength && !(e->Flags & FILE_EA_LX_EMPTY_VALUE))
				r = removexattr(proc, e->EaName);
			else
				r = setxattr(proc, e->EaName, io_ea_value(e),
					     e->EaValueLength, xf);
			if (!strcmp(e->EaName, "system.posix_acl_default"))
				fsb_acl_changed(in);
			if (r < 0)
				err = -errno;
			if (!e->NextEntryOffset)
				break;
			off += e->NextEntryOffset;
		}
		io_done(&op, err, 0);
	}
	io_post(&op);
	fuse_reply_err(req, io_errno(&op));
}

void io_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags)
{
	io_set_ea(req, ino, name, value ? value : "", size, flags);
}

void io_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	io_set_ea(req, ino, name, NULL, 0, 0);
}
