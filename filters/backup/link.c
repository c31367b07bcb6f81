/*
 * link.c - versions that are the file itself.  A file about to be deleted
 * or replaced (unlink, rename over it) needs no copy: the filter gives it
 * a second name in objects/ (FSCTL_LX_LINK_TO_DIRECTORY, below the
 * filter), and once the change goes on the store holds its only name.
 * Nothing is read or written, whatever the size.
 *
 * Until the change goes on, the object and the file are one inode.  The
 * filter confirms after the change (bk_store_withdraw if the file is still
 * there, bk_store_unshare if a handle could still write it); a crash in
 * between leaves a committed or journalled version whose object has
 * another link, and bks_unshare_linked, at open, gives it its own copy:
 * nothing outside the store can change a version, and nothing is lost
 * (not even when an administrator hard-linked the store elsewhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

int bk_store_begin_link(struct bk_store *s, struct bk_pending *p, int *dirfd)
{
	size_t n;
	int err;

	if (!p)
		return -EINVAL;
	bks_pending_reset(p);
	if (!s || !dirfd)
		return -EINVAL;
	err = bks_new_object_name(p->object);
	if (err)
		return err;
	n = (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/objects/%s", s->dir,
			     p->object);
	if (n >= sizeof(p->tmp)) {
		p->tmp[0] = p->object[0] = '\0';
		return -ENAMETOOLONG;
	}
	p->linked = true;
	*dirfd = s->objfd;
	return 0;
}

int bks_commit_linked(struct bk_store *s, struct bk_pending *p,
		      struct bk_version *v)
{
	char sub[3] = { p->object[0], p->object[1], '\0' };
	int fd, err = 0;

	v->method = BK_METHOD_LINK;
	if (s->durability != BK_DURABLE_POWER)
		return bks_defer(s, p, v);
	/* The file's data and its new name durable before the row, as a
	 * written version's. */
	fd = openat(s->objfd, p->object, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fdatasync(fd) < 0)
		err = -errno;
	else
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* bks_drop_cached */
	close(fd);
	if (!err)
		err = bks_fsync_dir_at(s->objfd, sub);
	if (err)
		return err;
	return bks_insert_version(s, p, v);
}

/*
 * Without the filter, the file's last link goes and the kernel frees what
 * the page cache held of it at once.  Kept as a version, it would stay in
 * the cache until memory runs short: the page cache would grow by every
 * deleted or replaced file's size, and the next files written take fresh
 * pages instead of those.  Versions are read again only to be restored, so
 * a linked version's pages go as soon as it is committed.  Dirty pages are
 * only started on their way to the disk and go later, with the cache's
 * usual aging.
 */
void bks_drop_cached(struct bk_store *s, const char *object)
{
	int fd = openat(s->objfd, object, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* size bytes of src into dst (both fresh): reflink, else a copy. */
static int copy_content(int src, int dst, uint64_t size)
{
	off_t in = 0, out = 0;
	char *buf;
	ssize_t n;

	if (ioctl(dst, FICLONE, src) == 0)
		return ftruncate(dst, (off_t)size) < 0 ? -errno : 0;
	while ((uint64_t)in < size) {
		n = copy_file_range(src, &in, dst, &out, (size_t)(size - (uint64_t)in), 0);
		if (n <= 0)
			break;
	}
	if ((uint64_t)in < size) {
		buf = malloc(1 << 20);
		if (!buf)
			return -ENOMEM;
		while ((uint64_t)in < size) {
			size_t want = size - (uint64_t)in < (1u << 20)
					      ? (size_t)(size - (uint64_t)in)
					      : 1u << 20;

			n = pread(src, buf, want, in);
			if (n <= 0)
				break; /* shorter than recorded: zeros below */
			if (pwrite(dst, buf, (size_t)n, in) != n) {
				free(buf);
				return errno ? -errno : -EIO;
			}
			in += n;
		}
		free(buf);
	}
	return ftruncate(dst, (off_t)size) < 0 ? -errno : 0;
}

int bk_store_unshare(struct bk_store *s, const char *object, uint64_t size)
{
	char tmpobj[BK_OBJECT_MAX], name[BKS_OBJECT_HEX + 1];
	char sub[3];
	int src, dst = -1, err;

	if (!s || !object || !bks_object_valid(object))
		return -EINVAL;
	src = openat(s->objfd, object, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src < 0)
		return -errno;
	err = bks_tmp_create(s, tmpobj, &dst);
	if (err) {
		close(src);
		return err;
	}
	bks_tmp_name(tmpobj, name);
	err = copy_content(src, dst, size);
	close(src);
	if (!err && s->durability == BK_DURABLE_POWER && fdatasync(dst) < 0)
		err = -errno;
	close(dst);
	/* The copy takes the object's name in one step: a reader holds
	 * either. */
	if (!err && renameat(s->tmpfd, name, s->objfd, object) < 0)
		err = -errno;
	if (err) {
		unlinkat(s->tmpfd, name, 0);
		return err;
	}
	sub[0] = object[0];
	sub[1] = object[1];
	sub[2] = '\0';
	if (s->durability == BK_DURABLE_POWER)
		return bks_fsync_dir_at(s->objfd, sub);
	bks_dirty(s, object); /* FLUSH: the copy, at the next sync */
	return 0;
}

struct shared {
	char object[BK_OBJECT_MAX];
	uint64_t size;
};

int bks_unshare_linked(struct bk_store *s)
{
	struct shared *list = NULL, *nl;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	struct stat sb;
	int rc = SQLITE_DONE, err = 0;

	pthread_mutex_lock(&s->lock);
	st = bks_stmt(s, BKS_LINKED, &err);
	while (st && !err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *obj = (const char *)sqlite3_column_text(st, 0);

		if (!obj || !bks_object_valid(obj) ||
		    fstatat(s->objfd, obj, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    sb.st_nlink <= 1)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nl = realloc(list, cap * sizeof(*list));
			if (!nl) {
				err = -ENOMEM;
				break;
			}
			list = nl;
		}
		snprintf(list[n].object, sizeof(list[n].object), "%s", obj);
		list[n].size = (uint64_t)sqlite3_column_int64(st, 1);
		n++;
	}
	if (st && !err && rc != SQLITE_DONE)
		err = bks_sqlite_err(rc) ?: -EIO;
	if (st)
		sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	/* One that cannot be copied now (the store's file system is full)
	 * stays as it is, to be tried again at the next open: the store
	 * still opens. */
	for (size_t i = 0; !err && i < n; i++)
		if (bk_store_unshare(s, list[i].object, list[i].size) == 0)
			s->unshared++;
	free(list);
	return err;
}

unsigned bk_store_unshared(const struct bk_store *s)
{
	return s ? s->unshared : 0;
}
