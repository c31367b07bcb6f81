/*
 * fsback.h - the file system back end: the directory under a volume,
 * reached only through file descriptors opened before the mount covered it.
 *
 * Every inode the kernel knows about has an O_PATH descriptor and a lookup
 * count (the FUSE protocol's nlookup); it is closed when the kernel forgets
 * it.  Each inode also remembers the parent and name it was last reached by,
 * which is how the I/O manager names files for filters.  All calls return 0
 * or a byte count on success and -errno on failure.  Permission checks are
 * the kernel's (default_permissions): the daemon acts as root underneath and
 * gives new files the caller's ownership explicitly.
 */
#ifndef ALTITUDE_FSBACK_H
#define ALTITUDE_FSBACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct fsb_inode {
	/* First member: the filter manager's per-stream header (FsContext of
	 * every file object on this inode points here). */
	void *_Atomic fcb;
	int fd; /* O_PATH */
	dev_t dev;
	ino_t ino;
	mode_t type; /* S_IFMT bits */
	uint64_t nlookup; /* under fs->lock, written exclusively */
	struct fsb_inode *parent; /* referenced through nlookup of parent */
	char *name; /* last name it was reached by; NULL for the root */
	struct fsb_inode *hnext;
	void *stream; /* per-stream state of the filter manager */
	/* Directory default ACL: 0 unknown, 1 none, 2 present.  Only the
	 * daemon changes the directory underneath, and it resets this when
	 * it sets or removes system.posix_acl_default. */
	_Atomic int default_acl;
	/* Kept by the I/O manager: handles that can write the file (the
	 * kernel's and filters'), and the kernel's opens of any access (a
	 * program's descriptor, which /proc/PID/fd can reopen for writing).
	 * FSCTL_LX_LINK_TO_DIRECTORY links only a file with neither. */
	_Atomic int writers;
	_Atomic int opens;
};

struct fsb_fs {
	struct fsb_inode root;
	pthread_rwlock_t lock; /* read: lookups and names; write: changes */
	struct fsb_inode **buckets;
	size_t nbuckets;
	size_t count;
	int proc_fd; /* /proc/self/fd, to reopen O_PATH descriptors */
	/* Called for an inode the kernel forgot, after the table lock is
	 * released and before the inode is freed. */
	void (*inode_gone)(void *arg, struct fsb_inode *in);
	void *inode_gone_arg;
	struct fsb_inode *dead; /* forgotten, waiting for inode_gone */
};

/* Who creates a file: ownership is set to this after creation. */
struct fsb_owner {
	uid_t uid;
	gid_t gid;
};

int fsb_init(struct fsb_fs *fs, int root_fd);
void fsb_destroy(struct fsb_fs *fs);
/* Calls fn for every inode, the root included (no lock: at teardown). */
void fsb_foreach(struct fsb_fs *fs, void (*fn)(void *arg, struct fsb_inode *in),
		 void *arg);

/* Finds or creates the inode of parent/name; counts one lookup. */
int fsb_lookup(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	       struct stat *st, struct fsb_inode **out);
void fsb_forget(struct fsb_fs *fs, struct fsb_inode *in, uint64_t nlookup);
/* The inode currently in the table for (dev, ino), or NULL. No reference. */
struct fsb_inode *fsb_find(struct fsb_fs *fs, dev_t dev, ino_t ino);
/* Records that parent/name now names what was at its old place. */
void fsb_renamed(struct fsb_fs *fs, struct fsb_inode *newparent,
		 const char *newname);

/* The same when the new parent is known only by an open descriptor. */
void fsb_renamed_at(struct fsb_fs *fs, int dirfd, const char *newname);

/* "/dir/file" of in (plus "/child" when child is given); -ENAMETOOLONG. */
ssize_t fsb_path(struct fsb_fs *fs, const struct fsb_inode *in,
		 const char *child, char *buf, size_t cap);

/* Opens in with flags through /proc/self/fd. */
int fsb_open(struct fsb_fs *fs, const struct fsb_inode *in, int flags);
int fsb_stat(const struct fsb_inode *in, struct stat *st);

/* Creation: a regular file (returns an open fd), directory, node, symlink. */
int fsb_create(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	       int flags, mode_t mode, const struct fsb_owner *who,
	       bool *created);
int fsb_mknod(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	      mode_t mode, dev_t rdev, const char *link_target,
	      const struct fsb_owner *who);
/* The caller's umask applies unless the parent has a default ACL. */
mode_t fsb_apply_umask(struct fsb_inode *parent, mode_t mode, mode_t umask);
/* The directory's ACLs changed: forget what fsb_apply_umask learned. */
void fsb_acl_changed(struct fsb_inode *dir);

int fsb_chmod(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
	      mode_t mode);
int fsb_chown(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
	      uid_t uid, gid_t gid);
int fsb_truncate(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
		 off_t size);
int fsb_utimens(struct fsb_fs *fs, const struct fsb_inode *in, int fd,
		const struct timespec tv[2]);
ssize_t fsb_readlink(const struct fsb_inode *in, char *buf, size_t cap);

#endif /* ALTITUDE_FSBACK_H */
