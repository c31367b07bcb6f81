/*
 * setid.c - the set-user-ID and set-group-ID bits a change to a file drops.
 *
 * The daemon negotiates FUSE_HANDLE_KILLPRIV_V2 (initreply.c), so the kernel
 * stops asking for security.capability before every cached write and leaves
 * the set-id bits to the server.  The server must drop them as Linux would
 * for the caller (fs/attr.c, setattr_should_drop_suidgid):
 *
 *   - a write, a truncate or an open with O_TRUNC by a caller without
 *     CAP_FSETID drops set-user-ID, and set-group-ID when the group may
 *     execute or the caller is not in the file's group;
 *   - a change of owner (chown, and chown(f, -1, -1)) drops set-user-ID
 *     whoever the caller, and set-group-ID by the same group rule.
 *
 * The daemon makes every change as root, which keeps the bits, so it drops
 * them itself.  The kernel says whether the caller lacks CAP_FSETID in a
 * write's write_flags and a truncate's FATTR_KILL_SUIDGID (libfuse passes
 * the latter on as FUSE_SET_ATTR_KILL_SUID); an open's open_flags do not
 * reach the handler, and there the caller's capabilities are read from
 * /proc, only when the file has a set-id bit at all.  When the kernel drops
 * a file's privileges for a change it makes itself (fallocate,
 * copy_file_range, chown(f, -1, -1)), it sends a SETATTR that sets nothing:
 * that is treated as a change of owner, the rule that covers all three
 * (a caller with CAP_FSETID fallocating a file that also has a file
 * capability loses its set-user-ID bit, where Linux would keep it).
 *
 * File capabilities (security.capability) need nothing here: the file
 * system underneath removes them on every write, truncate and chown, whoever
 * the writer, and the daemon's own writes go through it.
 */
#include "iomgr/iomgr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_CAP_FSETID 4 /* linux/capability.h */

/* /proc/<tid>/status of the caller in buf, or NULL if unreadable. */
static const char *io_caller_status(fuse_req_t req, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status",
		 (int)fuse_req_ctx(req)->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/*
 * Whether the caller holds CAP_FSETID, as capable() sees it: effective, in
 * the initial user namespace (the daemon's).  Without /proc, root is taken
 * to hold it.
 */
static bool io_caller_fsetid(fuse_req_t req, const char *status)
{
	char path[64];
	struct stat mine, theirs;
	const char *p = status ? strstr(status, "\nCapEff:") : NULL;

	if (!p)
		return fuse_req_ctx(req)->uid == 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/user",
		 (int)fuse_req_ctx(req)->pid);
	if (stat(path, &theirs) < 0 || stat("/proc/self/ns/user", &mine) < 0 ||
	    theirs.st_ino != mine.st_ino || theirs.st_dev != mine.st_dev)
		return false;
	return (strtoull(p + 8, NULL, 16) >> IO_CAP_FSETID) & 1;
}

/* in_group_p(): the caller's file system group or a supplementary one. */
static bool io_caller_in_group(fuse_req_t req, const char *status, gid_t gid)
{
	const char *p = status ? strstr(status, "\nGroups:") : NULL;
	char *end;

	if (fuse_req_ctx(req)->gid == gid)
		return true;
	if (!p)
		return false;
	for (p += 8; *p && *p != '\n'; p = end) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			break;
		if ((gid_t)g == gid)
			return true;
	}
	return false;
}

mode_t io_setid_drop(fuse_req_t req, const struct stat *st,
		     enum io_setid_change change, enum io_fsetid fsetid)
{
	bool sgid_noexec = (st->st_mode & (S_ISGID | S_IXGRP)) == S_ISGID;
	const char *status = NULL;
	char buf[4096];
	mode_t drop = 0;

	if (!S_ISREG(st->st_mode) || !(st->st_mode & (S_ISUID | S_ISGID)))
		return 0;
	/* Who the caller is matters to every data change and, for a change of
	 * owner, only to set-group-ID without group execute. */
	if (change == IO_SETID_OWNER && !sgid_noexec)
		fsetid = IO_FSETID_YES;
	if (fsetid == IO_FSETID_ASK || (fsetid == IO_FSETID_NO && sgid_noexec))
		status = io_caller_status(req, buf, sizeof(buf));
	if (fsetid == IO_FSETID_ASK)
		fsetid = io_caller_fsetid(req, status) ? IO_FSETID_YES
						       : IO_FSETID_NO;
	if (change == IO_SETID_DATA && fsetid == IO_FSETID_YES)
		return 0;
	if (st->st_mode & S_ISUID)
		drop |= S_ISUID;
	if ((st->st_mode & S_ISGID) &&
	    (!sgid_noexec || (fsetid == IO_FSETID_NO &&
			      !io_caller_in_group(req, status, st->st_gid))))
		drop |= S_ISGID;
	return drop;
}

void io_setid_drop_data(fuse_req_t req, fuse_ino_t ino, int fd,
			enum io_fsetid fsetid)
{
	struct io_volume *v = io_vol(req);
	struct stat st;
	mode_t drop;

	if (fsetid == IO_FSETID_YES || fstat(fd, &st) < 0)
		return;
	drop = io_setid_drop(req, &st, IO_SETID_DATA, fsetid);
	if (!drop || fsb_chmod(&v->fs, io_inode(v, ino), fd,
			       st.st_mode & 07777 & ~drop) < 0)
		return;
	/* The reply to this request carries no mode: without this the kernel
	 * would keep the dropped bits in its cache, and honour them at exec,
	 * until the attribute timeout. */
	fuse_lowlevel_notify_inval_inode(v->se, ino, -1, 0);
}
