/*
 * session.c - mounting a volume in place and running its FUSE session.
 *
 * The directory is opened first and the FUSE file system mounted over it,
 * so programs keep their paths while the daemon reaches the files beneath
 * through the descriptor.  Mount options: default_permissions and POSIX
 * ACLs make the kernel check every caller's rights exactly as the file
 * system below would; allow_other lets every user in.  Byte-range locks
 * stay in the kernel, which already arbitrates them for this machine.
 */
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

const struct fuse_lowlevel_ops io_ops = {
	.init = NULL, /* set below: needs a non-const table in C */
	.lookup = io_op_lookup,
	.forget = io_op_forget,
	.forget_multi = io_op_forget_multi,
	.getattr = io_op_getattr,
	.setattr = io_op_setattr,
	.readlink = io_op_readlink,
	.mknod = io_op_mknod,
	.mkdir = io_op_mkdir,
	.symlink = io_op_symlink,
	.unlink = io_op_unlink,
	.rmdir = io_op_rmdir,
	.rename = io_op_rename,
	.link = io_op_link,
	.open = io_op_open,
	.create = io_op_create,
	.read = io_op_read,
	.write_buf = io_op_write_buf,
	.flush = io_op_flush,
	.release = io_op_release,
	.fsync = io_op_fsync,
	.opendir = io_op_opendir,
	.readdir = io_op_readdir,
	.readdirplus = io_op_readdirplus,
	.releasedir = io_op_releasedir,
	.fsyncdir = io_op_fsyncdir,
	.statfs = io_op_statfs,
	.setxattr = io_op_setxattr,
	.getxattr = io_op_getxattr,
	.listxattr = io_op_listxattr,
	.removexattr = io_op_removexattr,
	.fallocate = io_op_fallocate,
	.copy_file_range = io_op_copy_file_range,
	.lseek = io_op_lseek,
};

static void io_init(void *userdata, struct fuse_conn_info *conn)
{
	struct io_volume *v = userdata;

	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* No splicing, as passthrough_ll: the small requests that dominate
	 * gain nothing from a pipe.  (The gap to passthrough_ll on small
	 * writes is the kernel's getxattr(security.capability) before each
	 * write, docs/BENCHMARKS.md, not splicing.) */
	conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE |
			FUSE_CAP_SPLICE_READ);
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS |
			FUSE_CAP_WRITEBACK_CACHE);
	rtl_log(LOG_INFO, "volume %s: FUSE protocol %u.%u, posix acl %s", v->name,
		conn->proto_major, conn->proto_minor,
		(conn->want & FUSE_CAP_POSIX_ACL) ? "on" : "off");
}

static void *io_loop(void *arg)
{
	io_loop_run(arg);
	return NULL;
}

/* The volume-relative name of the stream a file object is open on. */
static long io_file_name_hook(struct fm_volume *vol, void *owner,
			      PFILE_OBJECT fo, WCHAR *buf, size_t cap)
{
	struct io_volume *v = owner;
	char path[PATH_MAX * 2];
	ssize_t n;

	(void)vol;
	if (!fo || !fo->FsContext)
		return -ENOENT;
	n = fsb_path(&v->fs, fo->FsContext, NULL, path, sizeof(path));
	if (n < 0)
		return (long)n;
	n = rtl_path_to_utf16(path, (size_t)n, buf, cap);
	return (long)n;
}

static const struct fm_volume_ops io_volume_ops = {
	.stack_changed = NULL,
	.file_name = io_file_name_hook,
};

/* The kernel forgot an inode: its stream contexts and cached name go. */
static void io_inode_gone(void *arg, struct fsb_inode *in)
{
	struct io_volume *v = arg;

	fm_stream_gone(v->fm, (struct fm_fcb_header *)in);
}

_Static_assert(offsetof(struct fsb_inode, fcb) == 0,
	       "FsContext must point at the filter manager's header");

/* The name of the file system under a volume, for fltmc volumes. */
static void io_fs_name(int fd, char *out, size_t cap)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} names[] = {
		{ 0xEF53, "ext4" },	 { 0x58465342, "xfs" },
		{ 0x9123683E, "btrfs" }, { 0x01021994, "tmpfs" },
		{ 0x794c7630, "overlay" }, { 0x6969, "nfs" },
		{ 0x2fc12fc1, "zfs" },	 { 0xF2F52010, "f2fs" },
		{ 0x65735546, "fuse" },	 { 0x4d44, "vfat" },
	};
	struct statfs sf;
	unsigned i;

	snprintf(out, cap, "unknown");
	if (fstatfs(fd, &sf) < 0)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((unsigned long)sf.f_type == names[i].magic)
			snprintf(out, cap, "%s", names[i].name);
}

int io_volume_create(const char *dir, const char *name, struct io_volume **out)
{
	struct io_volume *v = calloc(1, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	v->mountpoint = realpath(dir, NULL);
	v->name = strdup(name);
	if (!v->mountpoint || !v->name) {
		err = v->mountpoint ? -ENOMEM : -errno;
		goto out_free;
	}
	v->root_fd = open(v->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->root_fd < 0) {
		err = -errno;
		goto out_free;
	}
	err = fsb_init(&v->fs, v->root_fd);
	if (err)
		goto out_close;
	err = fm_volume_create(name, v->mountpoint, &io_volume_ops, v, &v->fm);
	if (err)
		goto out_fs;
	io_fs_name(v->root_fd, v->fm->fs_name, sizeof(v->fm->fs_name));
	v->fs.inode_gone = io_inode_gone;
	v->fs.inode_gone_arg = v;
	pthread_mutex_init(&v->files_lock, NULL);
	pthread_mutex_init(&v->loop_lock, NULL);
	pthread_cond_init(&v->loop_cond, NULL);
	InitializeListHead(&v->worker_list);
	*out = v;
	return 0;

out_fs:
	fsb_destroy(&v->fs);
out_close:
	close(v->root_fd);
out_free:
	free(v->mountpoint);
	free(v->name);
	free(v);
	return err;
}

int io_volume_start(struct io_volume *v)
{
	static struct fuse_lowlevel_ops ops;
	char opts[512];
	char *argv[] = { "fltmgrd", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct stat st;
	int err;

	ops = io_ops;
	ops.init = io_init;
	snprintf(opts, sizeof(opts),
		 "default_permissions,allow_other,fsname=altitude:%s,subtype=altitude",
		 v->name);
	v->se = fuse_session_new(&args, &ops, sizeof(ops), v);
	fuse_opt_free_args(&args);
	if (!v->se)
		return -EINVAL;
	if (fuse_session_mount(v->se, v->mountpoint) != 0) {
		fuse_session_destroy(v->se);
		v->se = NULL;
		return -EIO;
	}
	io_initreply_expect(fuse_session_fd(v->se));
	err = pthread_create(&v->thread, NULL, io_loop, v);
	if (err) {
		fuse_session_unmount(v->se);
		fuse_session_destroy(v->se);
		v->se = NULL;
		return -err;
	}
	v->thread_started = true;
	/* Only now: the first access to the mount waits for FUSE_INIT, which
	 * the session thread answers. */
	if (stat(v->mountpoint, &st) == 0)
		v->conn_id = (unsigned)st.st_dev;
	rtl_log(LOG_INFO, "volume %s mounted on %s", v->name, v->mountpoint);
	return 0;
}

/* Ends the session even while programs keep files open: abort the
 * connection once the lazy unmount has had a moment to drain.  The
 * session itself stays until the operations filters pended are done. */
static void io_volume_stop(struct io_volume *v)
{
	struct timespec deadline;
	char path[96];
	int fd;

	if (!v->se)
		return;
	fuse_session_exit(v->se);
	fuse_session_unmount(v->se);
	if (v->thread_started) {
		rtl_deadline_ms(&deadline, 2000);
		if (pthread_timedjoin_np(v->thread, NULL, &deadline) != 0) {
			snprintf(path, sizeof(path),
				 "/sys/fs/fuse/connections/%u/abort", v->conn_id);
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (write(fd, "1", 1) < 0)
					rtl_log(LOG_WARNING, "volume %s: abort: %m",
						v->name);
				close(fd);
			}
			/* Workers still blocked reading the device are
			 * interrupted until the loop has ended. */
			do {
				io_loop_wake(v);
				rtl_deadline_ms(&deadline, 50);
			} while (pthread_timedjoin_np(v->thread, NULL, &deadline) != 0);
		}
		v->thread_started = false;
	}
	rtl_log(LOG_INFO, "volume %s unmounted from %s", v->name, v->mountpoint);
}

/* Files still open when the session ended: no release will come. */
static void io_close_leftovers(struct io_volume *v)
{
	for (;;) {
		struct io_file *f;

		pthread_mutex_lock(&v->files_lock);
		f = v->files;
		pthread_mutex_unlock(&v->files_lock);
		if (!f)
			return;
		io_file_released(v, f);
		if (f->dir)
			closedir(f->dir);
		else if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		f->dir = NULL;
		fm_file_object_gone(v->fm, &f->fo);
		io_file_put(f);
	}
}

void io_volume_unmount(struct io_volume *v)
{
	io_volume_stop(v);
	io_loop_drain(v);
	if (v->se)
		fuse_session_destroy(v->se);
	v->se = NULL;
	io_close_leftovers(v);
	/* Streams go before the instances that set contexts on them. */
	fsb_foreach(&v->fs, io_inode_gone, v);
	fm_volume_destroy(v->fm);
	fsb_destroy(&v->fs);
	close(v->root_fd);
	pthread_mutex_destroy(&v->files_lock);
	pthread_mutex_destroy(&v->loop_lock);
	pthread_cond_destroy(&v->loop_cond);
	free(v->mountpoint);
	free(v->name);
	free(v);
}
