/*
 * dedupe.c - ContentHash (store.h: bk_store_set_dedupe): a version's
 * content hashed as it is committed, and identical content stored once.
 *
 * The hash is SHA-256 (OpenSSL's libcrypto), recorded in the version's
 * row: two versions are the same content when their hashes and sizes are
 * equal; the bytes are not compared.  Sharing is a hard link: the new
 * version's object name becomes a second name of the older version's file.
 * The file system counts the names, so eviction stays what it was (a row,
 * then its name), the recovery's checks hold name by name, and the content
 * goes when its last version does.  Only copies and clones are hashed and
 * shared: their objects never change.  A linked version (a deleted or
 * replaced file, link.c) is the file itself and may still be written
 * through a handle open when it was taken, until it is unshared.
 *
 * When the sharing happens:
 *   POWER          in bk_store_commit, before the content is synced: a
 *                  duplicate is linked in place of publishing the copy,
 *                  whose bytes are never synced at all (store.c);
 *   FLUSH/PROCESS  in the committer, before the batch's rows: the copy
 *                  placed in objects/ at capture is replaced, by a rename,
 *                  with a second name of the older file (committer.c).  The
 *                  name holds the same content before and after, so a crash
 *                  in between leaves a complete version either way.
 * Versions completed from the journal at open are hashed and shared when
 * the setting is turned on (it is made after the store opens).
 *
 * A file system's limit on names per file (EMLINK: 65,000 on ext4) or an
 * older version evicted meanwhile (ENOENT) leaves the copy as it is; the
 * next identical version then shares this newer copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_int.h"

#define BKS_HASH_CHUNK (256 * 1024)

/* The copies and clones the replay completed at open: hashed and shared
 * now, as the committer would have done. */
static void dedupe_replayed(struct bk_store *s)
{
	struct bk_version *v = malloc(sizeof(*v));
	sqlite3_stmt *st;
	int err;

	for (size_t i = 0; v && i < s->n_replayed; i++) {
		pthread_mutex_lock(&s->lock);
		err = bks_get(s, s->replayed[i], v);
		pthread_mutex_unlock(&s->lock);
		if (err || v->hashed || !bks_dedupe_wanted(s, v) ||
		    bks_hash_object(s, v))
			continue; /* evicted meanwhile, or unreadable */
		pthread_mutex_lock(&s->lock);
		bks_share_placed(s, v);
		st = bks_stmt(s, BKS_SET_HASH, &err);
		if (st) {
			sqlite3_bind_int64(st, 1, v->id);
			sqlite3_bind_blob(st, 2, v->hash, BK_HASH_LEN, SQLITE_STATIC);
			bks_run(st);
		}
		pthread_mutex_unlock(&s->lock);
	}
	free(v);
}

void bk_store_set_dedupe(struct bk_store *s, bool on)
{
	if (!s)
		return;
	s->dedupe = on;
	if (on)
		dedupe_replayed(s);
	free(s->replayed);
	s->replayed = NULL;
	s->n_replayed = 0;
}

bool bks_dedupe_wanted(const struct bk_store *s, const struct bk_version *v)
{
	return s->dedupe &&
	       (v->method == BK_METHOD_COPY || v->method == BK_METHOD_CLONE);
}

int bks_hash_fd(int fd, uint64_t size, uint8_t hash[BK_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(BKS_HASH_CHUNK);
	unsigned int len = 0;
	uint64_t off = 0;
	int err = 0;

	if (!ctx || !buf) {
		err = -ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		err = -EIO;
		goto out;
	}
	while (off < size) {
		size_t want = size - off < BKS_HASH_CHUNK ? (size_t)(size - off)
							  : BKS_HASH_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0) {
			err = -EIO; /* shorter than the version says */
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			err = -EIO;
			goto out;
		}
		off += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, hash, &len) != 1 || len != BK_HASH_LEN)
		err = -EIO;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return err;
}

int bks_hash_mem(const void *p, uint64_t size, uint8_t hash[BK_HASH_LEN])
{
	unsigned int len = 0;

	if (size > SIZE_MAX ||
	    EVP_Digest(p, (size_t)size, hash, &len, EVP_sha256(), NULL) != 1 ||
	    len != BK_HASH_LEN)
		return -EIO;
	return 0;
}

int bks_hash_object(struct bk_store *s, struct bk_version *v)
{
	int fd = openat(s->objfd, v->object, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err;

	v->hashed = false;
	if (fd < 0)
		return -errno;
	err = bks_hash_fd(fd, v->size, v->hash);
	close(fd);
	if (!err)
		v->hashed = true;
	return err;
}

int bks_same_content(struct bk_store *s, const struct bk_version *v,
		     char other[BK_OBJECT_MAX])
{
	sqlite3_stmt *st;
	const unsigned char *obj;
	int rc, err = 0;

	if (!v->hashed)
		return -ENOENT;
	st = bks_stmt(s, BKS_SAME_CONTENT, &err);
	if (!st)
		return err;
	sqlite3_bind_blob(st, 1, v->hash, BK_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)v->size);
	sqlite3_bind_text(st, 3, v->object, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		obj = sqlite3_column_text(st, 0);
		if (obj && bks_object_valid((const char *)obj))
			memcpy(other, obj, BKS_OBJECT_LEN + 1);
		else
			err = -ENOENT;
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : bks_sqlite_err(rc) ?: -EIO;
	}
	sqlite3_reset(st);
	return err;
}

int bks_share_placed(struct bk_store *s, const struct bk_version *v)
{
	char other[BK_OBJECT_MAX], name[BKS_OBJECT_HEX + 1];
	struct stat a, b;

	if (bks_same_content(s, v, other))
		return 0;
	/* Already one file (a batch committed again after a failure). */
	if (fstatat(s->objfd, v->object, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(s->objfd, other, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (a.st_dev == b.st_dev && a.st_ino == b.st_ino) ||
	    !S_ISREG(b.st_mode) || (uint64_t)b.st_size != v->size)
		return 0;
	/* The second name is made in tmp/ and renamed over the copy: the
	 * object's name never stops holding its content.  A leftover in
	 * tmp/ is removed at the next open. */
	bks_tmp_name(v->object, name);
	if (linkat(s->objfd, other, s->tmpfd, name, 0) < 0)
		return 0;
	if (renameat(s->tmpfd, name, s->objfd, v->object) < 0) {
		unlinkat(s->tmpfd, name, 0);
		return 0;
	}
	atomic_fetch_add(&s->deduped, 1);
	return 1;
}

int bks_share_new(struct bk_store *s, const struct bk_version *v)
{
	char other[BK_OBJECT_MAX];
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	/* Under the lock: the older version is not evicted in between
	 * (its row goes first, under this lock, then its name). */
	if (bks_same_content(s, v, other) == 0 &&
	    linkat(s->objfd, other, s->objfd, v->object, 0) == 0)
		ret = 1;
	pthread_mutex_unlock(&s->lock);
	if (ret)
		atomic_fetch_add(&s->deduped, 1);
	return ret;
}
