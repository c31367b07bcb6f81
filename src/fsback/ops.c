/*
 * ops.c - operations on the underlying directory that need more than one
 * system call or a detour through /proc/self/fd.
 *
 * The daemon runs as root with umask 0: the kernel has already checked the
 * caller's permissions (default_permissions and POSIX ACLs), so creation
 * happens as root and the new file is then given to the caller.  Its group
 * is the caller's unless the parent directory is setgid, exactly what the
 * underlying file system would have chosen; set-id bits the chown cleared
 * are put back.
 */
#include "fsback/fsback.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define FSB_PROC_NAME_MAX 32

static void fsb_proc_name(const struct fsb_inode *in, char *buf)
{
	snprintf(buf, FSB_PROC_NAME_MAX, "/proc/self/fd/%d", in->fd);
}

int fsb_open(struct fsb_fs *fs, const struct fsb_inode *in, int flags)
{
	char name[16];
	int fd;

	snprintf(name, sizeof(name), "%d", in->fd);
	fd = openat(fs->proc_fd, name, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int fsb_stat(const struct fsb_inode *in, struct stat *st)
{
	if (fstatat(in->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

mode_t fsb_apply_umask(struct fsb_inode *parent, mode_t mode, mode_t umask)
{
	char name[FSB_PROC_NAME_MAX];
	int acl = atomic_load(&parent->default_acl);

	if (!acl) {
		fsb_proc_name(parent, name);
		acl = getxattr(name, "system.posix_acl_default", NULL, 0) > 0 ? 2 : 1;
		atomic_store(&parent->default_acl, acl);
	}
	if (acl == 2)
		return mode; /* the default ACL decides, umask is ignored */
	return mode & ~umask;
}

void fsb_acl_changed(struct fsb_inode *dir)
{
	atomic_store(&dir->default_acl, 0);
}

/* Gives a just-created file to its creator. */
static int fsb_give(const struct fsb_inode *parent, int fd, const char *name,
		    mode_t mode, const struct fsb_owner *who, bool is_link)
{
	struct stat pst;
	gid_t gid = who->gid;
	int r;

	if (who->uid == 0 && who->gid == 0)
		return 0;
	if (fstatat(parent->fd, "", &pst, AT_EMPTY_PATH) == 0 &&
	    (pst.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (fd >= 0)
		r = fchown(fd, who->uid, gid);
	else
		r = fchownat(parent->fd, name, who->uid, gid,
			     AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		return -errno;
	if (!is_link && (mode & (S_ISUID | S_ISGID))) {
		if (fd >= 0)
			r = fchmod(fd, mode & 07777);
		else
			r = fchmodat(parent->fd, name, mode & 07777, 0);
		if (r < 0)
			return -errno;
	}
	return 0;
}

int fsb_create(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	       int flags, mode_t mode, const struct fsb_owner *who,
	       bool *created)
{
	int fd, err;

	(void)fs;
	*created = false;
	fd = openat(parent->fd, name,
		    (flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC), mode);
	if (fd < 0) {
		err = -errno;
		if (err != -EEXIST || (flags & O_EXCL))
			return err;
		/* Someone created it first: open what is there. */
		fd = openat(parent->fd, name,
			    (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	err = fsb_give(parent, fd, name, mode, who, false);
	if (err < 0) {
		close(fd);
		unlinkat(parent->fd, name, 0);
		return err;
	}
	*created = true;
	return fd;
}

int fsb_mknod(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	      mode_t mode, dev_t rdev, const char *link_target,
	      const struct fsb_owner *who)
{
	bool is_dir = S_ISDIR(mode), is_link = S_ISLNK(mode);
	int r, err;

	(void)fs;
	if (is_dir)
		r = mkdirat(parent->fd, name, mode & 07777);
	else if (is_link)
		r = symlinkat(link_target, parent->fd, name);
	else
		r = mknodat(parent->fd, name, mode, rdev);
	if (r < 0)
		return -errno;
	err = fsb_give(parent, -1, name, mode, who, is_link);
	if (err < 0) {
		unlinkat(parent->fd, name, is_dir ? AT_REMOVEDIR : 0);
		return err;
	}
	return 0;
}

int fsb_chmod(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
	      mode_t mode)
{
	char name[16];

	if (fd >= 0)
		return fchmod(fd, mode) < 0 ? -errno : 0;
	snprintf(name, sizeof(name), "%d", in->fd);
	return fchmodat(fs->proc_fd, name, mode, 0) < 0 ? -errno : 0;
}

int fsb_chown(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
	      uid_t uid, gid_t gid)
{
	(void)fs;
	if (fd >= 0)
		return fchown(fd, uid, gid) < 0 ? -errno : 0;
	return fchownat(in->fd, "", uid, gid,
			AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
		       ? -errno
		       : 0;
}

int fsb_truncate(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
		 off_t size)
{
	char name[FSB_PROC_NAME_MAX];

	(void)fs;
	if (fd >= 0)
		return ftruncate(fd, size) < 0 ? -errno : 0;
	fsb_proc_name(in, name);
	return truncate(name, size) < 0 ? -errno : 0;
}

int fsb_utimens(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
		const struct timespec tv[2])
{
	char name[FSB_PROC_NAME_MAX];

	(void)fs;
	if (fd >= 0)
		return futimens(fd, tv) < 0 ? -errno : 0;
	if (S_ISLNK(in->type)) {
		if (!in->parent || !in->name)
			return -EPERM;
		return utimensat(in->parent->fd, in->name, tv,
				 AT_SYMLINK_NOFOLLOW) < 0
			       ? -errno
			       : 0;
	}
	fsb_proc_name(in, name);
	return utimensat(AT_FDCWD, name, tv, 0) < 0 ? -errno : 0;
}

ssize_t fsb_readlink(const struct fsb_inode *in, char *buf, size_t cap)
{
	ssize_t n = readlinkat(in->fd, "", buf, cap - 1);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}
