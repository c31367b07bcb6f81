/*
 * inode.c - the inode table of a volume's back end.
 *
 * Inodes are keyed by (st_dev, st_ino) of the underlying file, so hard links
 * share one inode and one stream.  The table lock guards the hash chains,
 * lookup counts and the parent/name links; an inode is freed when the kernel
 * has forgotten every lookup of it, and a parent stays alive while a child
 * names it (the child holds one lookup count on its parent).
 */
#include "fsback/fsback.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fsb_reap(struct fsb_fs *fs);

static size_t fsb_hash(const struct fsb_fs *fs, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;

	return (size_t)(h >> 17) & (fs->nbuckets - 1);
}

int fsb_init(struct fsb_fs *fs, int root_fd)
{
	struct stat st;

	memset(fs, 0, sizeof(*fs));
	if (fstat(root_fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	fs->nbuckets = 1 << 16;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	if (!fs->buckets)
		return -ENOMEM;
	fs->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_fd < 0) {
		int err = -errno;

		free(fs->buckets);
		return err;
	}
	pthread_rwlock_init(&fs->lock, NULL);
	fs->root.fd = root_fd;
	fs->root.dev = st.st_dev;
	fs->root.ino = st.st_ino;
	fs->root.type = S_IFDIR;
	fs->root.nlookup = 2;
	return 0;
}

void fsb_destroy(struct fsb_fs *fs)
{
	size_t i;

	fsb_reap(fs);
	for (i = 0; i < fs->nbuckets; i++) {
		struct fsb_inode *in = fs->buckets[i], *next;

		for (; in; in = next) {
			next = in->hnext;
			close(in->fd);
			free(in->name);
			free(in);
		}
	}
	free(fs->buckets);
	close(fs->proc_fd);
	pthread_rwlock_destroy(&fs->lock);
}

struct fsb_inode *fsb_find(struct fsb_fs *fs, dev_t dev, ino_t ino)
{
	struct fsb_inode *in;

	if (dev == fs->root.dev && ino == fs->root.ino)
		return &fs->root;
	for (in = fs->buckets[fsb_hash(fs, dev, ino)]; in; in = in->hnext)
		if (in->ino == ino && in->dev == dev)
			return in;
	return NULL;
}

static void fsb_release(struct fsb_fs *fs, struct fsb_inode *in);

/* Sets in's parent/name link; fs->lock held, in is not the root. */
static void fsb_link_name(struct fsb_fs *fs, struct fsb_inode *in,
			  struct fsb_inode *parent, const char *name)
{
	struct fsb_inode *old;
	char *copy;

	if (!parent)
		return;
	if (in->parent == parent && in->name && !strcmp(in->name, name))
		return;
	copy = strdup(name);
	if (!copy)
		return; /* keep the old name: stale, never dangling */
	free(in->name);
	in->name = copy;
	if (parent != in->parent) {
		parent->nlookup++;
		old = in->parent;
		in->parent = parent;
		fsb_release(fs, old);
	}
}

/* The inode st describes, reached as parent/name: the table's, counted once
 * more (fd, if any, closed), or a new one holding fd.  fd -1: only a known
 * inode, else -ENOENT. */
static int fsb_insert(struct fsb_fs *fs, struct fsb_inode *parent,
		      const char *name, int fd, const struct stat *st,
		      struct fsb_inode **out)
{
	struct fsb_inode *in;

	pthread_rwlock_wrlock(&fs->lock);
	in = fsb_find(fs, st->st_dev, st->st_ino);
	if (!in && fd < 0) {
		pthread_rwlock_unlock(&fs->lock);
		return -ENOENT;
	}
	if (in) {
		if (fd >= 0)
			close(fd);
		if (in != &fs->root)
			fsb_link_name(fs, in, parent, name);
		in->nlookup++;
		pthread_rwlock_unlock(&fs->lock);
		if (__atomic_load_n(&fs->dead, __ATOMIC_RELAXED))
			fsb_reap(fs);
		*out = in;
		return 0;
	}
	in = calloc(1, sizeof(*in));
	if (!in) {
		pthread_rwlock_unlock(&fs->lock);
		close(fd);
		return -ENOMEM;
	}
	in->fd = fd;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->type = st->st_mode & S_IFMT;
	in->nlookup = 1;
	in->name = strdup(name);
	if (!in->name) {
		pthread_rwlock_unlock(&fs->lock);
		close(fd);
		free(in);
		return -ENOMEM;
	}
	in->parent = parent;
	parent->nlookup++;
	in->hnext = fs->buckets[fsb_hash(fs, in->dev, in->ino)];
	fs->buckets[fsb_hash(fs, in->dev, in->ino)] = in;
	fs->count++;
	pthread_rwlock_unlock(&fs->lock);
	*out = in;
	return 0;
}

int fsb_lookup(struct fsb_fs *fs, struct fsb_inode *parent, const char *name,
	       struct stat *st, struct fsb_inode **out)
{
	int fd;

	/* An inode the table holds needs no new descriptor: one stat of the
	 * name finds it (a lookup that is repeated, a path walked again). */
	if (fstatat(parent->fd, name, st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fsb_insert(fs, parent, name, -1, st, out) == 0)
		return 0;
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fsb_insert(fs, parent, name, fd, st, out);
}

/* Drops one count; when it reaches zero the inode leaves the table and
 * goes on the dead list (freed by fsb_reap), and its parent loses one. */
static void fsb_release(struct fsb_fs *fs, struct fsb_inode *in)
{
	while (in && in != &fs->root && --in->nlookup == 0) {
		struct fsb_inode **pp = &fs->buckets[fsb_hash(fs, in->dev, in->ino)];
		struct fsb_inode *parent = in->parent;

		for (; *pp; pp = &(*pp)->hnext)
			if (*pp == in) {
				*pp = in->hnext;
				break;
			}
		fs->count--;
		in->hnext = fs->dead;
		fs->dead = in;
		in = parent;
	}
}

/* Frees the dead inodes; called without the table lock. */
static void fsb_reap(struct fsb_fs *fs)
{
	struct fsb_inode *in;

	pthread_rwlock_wrlock(&fs->lock);
	in = fs->dead;
	fs->dead = NULL;
	pthread_rwlock_unlock(&fs->lock);
	while (in) {
		struct fsb_inode *next = in->hnext;

		if (fs->inode_gone)
			fs->inode_gone(fs->inode_gone_arg, in);
		close(in->fd);
		free(in->name);
		free(in);
		in = next;
	}
}

void fsb_foreach(struct fsb_fs *fs, void (*fn)(void *arg, struct fsb_inode *in),
		 void *arg)
{
	size_t i;

	fn(arg, &fs->root);
	for (i = 0; i < fs->nbuckets; i++) {
		struct fsb_inode *in;

		for (in = fs->buckets[i]; in; in = in->hnext)
			fn(arg, in);
	}
}

void fsb_forget(struct fsb_fs *fs, struct fsb_inode *in, uint64_t nlookup)
{
	pthread_rwlock_wrlock(&fs->lock);
	if (in != &fs->root && nlookup) {
		/* Take away what the kernel gives back; the last decrement
		 * goes through fsb_release, which frees and walks up. */
		if (in->nlookup > nlookup)
			in->nlookup -= nlookup - 1;
		else
			in->nlookup = 1;
		fsb_release(fs, in);
	}
	pthread_rwlock_unlock(&fs->lock);
	if (__atomic_load_n(&fs->dead, __ATOMIC_RELAXED))
		fsb_reap(fs);
}

void fsb_renamed(struct fsb_fs *fs, struct fsb_inode *newparent,
		 const char *newname)
{
	struct stat st;
	struct fsb_inode *in;

	if (fstatat(newparent->fd, newname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	pthread_rwlock_wrlock(&fs->lock);
	in = fsb_find(fs, st.st_dev, st.st_ino);
	if (in && in != &fs->root)
		fsb_link_name(fs, in, newparent, newname);
	pthread_rwlock_unlock(&fs->lock);
	if (__atomic_load_n(&fs->dead, __ATOMIC_RELAXED))
		fsb_reap(fs);
}

void fsb_renamed_at(struct fsb_fs *fs, int dirfd, const char *newname)
{
	struct stat dst, cst;
	struct fsb_inode *dir, *in;

	if (fstat(dirfd, &dst) < 0 ||
	    fstatat(dirfd, newname, &cst, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	pthread_rwlock_wrlock(&fs->lock);
	dir = fsb_find(fs, dst.st_dev, dst.st_ino);
	in = fsb_find(fs, cst.st_dev, cst.st_ino);
	if (dir && in && in != &fs->root)
		fsb_link_name(fs, in, dir, newname);
	pthread_rwlock_unlock(&fs->lock);
	if (__atomic_load_n(&fs->dead, __ATOMIC_RELAXED))
		fsb_reap(fs);
}

ssize_t fsb_path(struct fsb_fs *fs, const struct fsb_inode *in,
		 const char *child, char *buf, size_t cap)
{
	const struct fsb_inode *cur;
	size_t pos = cap;

	if (cap < 2)
		return -ENAMETOOLONG;
	buf[--pos] = 0;
	pthread_rwlock_rdlock(&fs->lock);
	if (child) {
		size_t n = strlen(child);

		if (n + 1 > pos)
			goto too_long;
		pos -= n;
		memcpy(buf + pos, child, n);
		buf[--pos] = '/';
	}
	for (cur = in; cur && cur != &fs->root && cur->name; cur = cur->parent) {
		size_t n = strlen(cur->name);

		if (n + 1 > pos)
			goto too_long;
		pos -= n;
		memcpy(buf + pos, cur->name, n);
		buf[--pos] = '/';
	}
	pthread_rwlock_unlock(&fs->lock);
	if (pos == cap - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, cap - pos);
	return (ssize_t)(cap - pos - 1);

too_long:
	pthread_rwlock_unlock(&fs->lock);
	return -ENAMETOOLONG;
}
