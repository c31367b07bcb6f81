/*
 * restore.c - putting a version back, byte for byte.
 *
 * The content is read from the filter (READ, in chunks) into a temporary
 * file created next to the destination, made durable, given the version's
 * mode, owner (when running as root) and times, then renamed over the
 * destination.  So the destination is replaced in one step or not at all,
 * and an in-place restore is itself one atomic replace, which the filter
 * versions like any other: a restore can be undone.
 *
 * Everything goes through the volume as for any program: the user needs
 * the right to create files in the destination's directory.
 */
#include "altbackup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room kept for ".<name>.altbackup-XXXXXX" within NAME_MAX. */
#define AB_TMP_NAME_MAX 200

static int ab_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Streams version e into fd; checks that exactly its size arrived. */
static int ab_copy_content(const struct bk_entry *e, int fd, const char *dest)
{
	unsigned char *out = malloc(BK_PROTO_MAX_REPLY);
	const unsigned char *data;
	struct bk_reply r;
	uint64_t off = 0, total = e->size;
	int ret = -1, err;

	if (!out) {
		ab_err(dest, "%s", strerror(ENOMEM));
		return -1;
	}
	for (;;) {
		if (ab_call(e->path, BK_OP_READ, e->path, e->id, 0, off, out,
			    &r, &data) < 0)
			goto out;
		total = r.total;
		if (r.count == 0)
			break;
		err = ab_write_all(fd, data, r.count);
		if (err) {
			ab_err(dest, "%s", strerror(-err));
			goto out;
		}
		off += r.count;
		if (off >= total)
			break;
	}
	if (off != total || total != e->size) {
		ab_err(e->path,
		       "version %lld: got %llu of %llu bytes; nothing restored",
		       (long long)e->id, (unsigned long long)off,
		       (unsigned long long)e->size);
		goto out;
	}
	ret = 0;
out:
	free(out);
	return ret;
}

/* Mode, owner (root only) and times of the version; then durable. */
static int ab_finish_file(const struct bk_entry *e, int fd)
{
	struct timespec ts[2] = {
		{ e->atime_ns / 1000000000, e->atime_ns % 1000000000 },
		{ e->mtime_ns / 1000000000, e->mtime_ns % 1000000000 },
	};

	/* Owner before mode: chown clears set-user-ID and set-group-ID. */
	if (geteuid() == 0 && fchown(fd, e->owner_uid, e->owner_gid) < 0)
		return -errno;
	if (fchmod(fd, e->mode & 07777) < 0)
		return -errno;
	if (futimens(fd, ts) < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

/* "<dir of dest>/.<name>.altbackup-XXXXXX" */
static char *ab_tmp_template(const char *dest)
{
	char *d1 = strdup(dest), *d2 = strdup(dest), *t = NULL;
	const char *dir, *name;

	if (!d1 || !d2)
		goto out;
	dir = dirname(d1);
	name = basename(d2);
	if (asprintf(&t, "%s/.%.*s.altbackup-XXXXXX", dir, AB_TMP_NAME_MAX,
		     name) < 0)
		t = NULL;
out:
	free(d1);
	free(d2);
	return t;
}

static int ab_sync_dir_of(const char *path)
{
	char *d = strdup(path);
	int fd, err = 0;

	if (!d)
		return -ENOMEM;
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		err = -errno;
	close(fd);
	return err;
}

int ab_restore(const struct bk_entry *e, const char *dest)
{
	char *tmp = ab_tmp_template(dest);
	int fd, err;

	if (!tmp) {
		ab_err(dest, "%s", strerror(ENOMEM));
		return -1;
	}
	/* mkostemp creates with O_CREAT | O_EXCL, mode 0600 until the end. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ab_err(dest, "cannot create a temporary file: %s",
		       strerror(errno));
		free(tmp);
		return -1;
	}
	if (ab_copy_content(e, fd, dest) < 0)
		goto fail;
	err = ab_finish_file(e, fd);
	if (err) {
		ab_err(dest, "%s", strerror(-err));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		ab_err(dest, "%s", strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dest) < 0) {
		ab_err(dest, "%s", strerror(errno));
		goto fail;
	}
	err = ab_sync_dir_of(dest);
	if (err)
		ab_err(dest, "warning: syncing its directory: %s",
		       strerror(-err));
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}
