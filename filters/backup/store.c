/*
 * store.c - the backup filter's version store: opening and closing it,
 * and the life of a version's content (begin, commit, abort, open).
 *
 * Commit order with Durability=power, on which recovery relies (store.h):
 * the content is linked (an unnamed O_TMPFILE from the pool) or renamed (a
 * named file in tmp/) into objects/xx/, then the content and objects/xx/
 * are fsync'ed, and only then is the row inserted.  With flush and process
 * the content is written in its place in objects/xx/ and the version is
 * handed to committer.c.  Object names are 128 random bits, files are made
 * O_EXCL and the rename refuses to replace, so a name is never given
 * twice.  objects/00 to objects/ff are made at open.
 *
 * One process owns a store at a time: bk_store_open takes an exclusive
 * flock on the store directory (-EBUSY if held), since its recovery would
 * delete another owner's content in progress.
 *
 * What this does not do: copy or clone the file being versioned (the
 * caller writes p->fd), or decide what to keep (evict.c, policy.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

static const char hexdig[] = "0123456789abcdef";

bool bks_object_valid(const char *object)
{
	if (strnlen(object, BKS_OBJECT_LEN + 1) != BKS_OBJECT_LEN ||
	    object[2] != '/')
		return false;
	for (int i = 0; i < BKS_OBJECT_LEN; i++)
		if (i != 2 && !memchr(hexdig, object[i], 16))
			return false;
	return true;
}

/* The name in tmp/ of an object's file: its object name without '/'. */
void bks_tmp_name(const char *object, char name[BKS_OBJECT_HEX + 1])
{
	memcpy(name, object, 2);
	memcpy(name + 2, object + 3, BKS_OBJECT_HEX - 2);
	name[BKS_OBJECT_HEX] = '\0';
}

int bks_new_object_name(char object[BK_OBJECT_MAX])
{
	unsigned char r[BKS_OBJECT_HEX / 2];
	size_t got = 0;
	ssize_t n;
	int j = 0;

	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		if (j == 2)
			object[j++] = '/';
		object[j++] = hexdig[r[i] >> 4];
		object[j++] = hexdig[r[i] & 15];
	}
	object[j] = '\0';
	return 0;
}

static int mkdir_at(int dfd, const char *name, bool *created)
{
	if (mkdirat(dfd, name, 0700) == 0) {
		*created = true;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

static int open_dir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* mkdir -p, each missing directory mode 0700. */
static int make_dirs(const char *dir)
{
	char buf[BK_PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_layout(struct bk_store *s, const char *dir)
{
	bool created = false;
	int err;

	err = make_dirs(dir);
	if (err)
		return err;
	if (!realpath(dir, s->dir))
		return -errno;
	/* Room for "/tmp/" or "/catalog.db-wal" plus an object name. */
	if (strlen(s->dir) + 64 >= BK_PATH_MAX)
		return -ENAMETOOLONG;
	s->dirfd = open_dir_at(AT_FDCWD, s->dir);
	if (s->dirfd < 0)
		return s->dirfd;
	if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	s->log_ordered = bks_log_ordered(s->dirfd);
	err = mkdir_at(s->dirfd, "objects", &created);
	if (!err)
		err = mkdir_at(s->dirfd, "tmp", &created);
	if (err)
		return err;
	if (created && fsync(s->dirfd) < 0)
		return -errno;
	s->objfd = open_dir_at(s->dirfd, "objects");
	if (s->objfd < 0)
		return s->objfd;
	/* objects/00 to objects/ff, made once: a version never waits for
	 * its directory to be made and synced. */
	created = false;
	for (int i = 0; i < 256; i++) {
		char sub[3] = { hexdig[i >> 4], hexdig[i & 15], '\0' };

		err = mkdir_at(s->objfd, sub, &created);
		if (err)
			return err;
	}
	if (created && fsync(s->objfd) < 0)
		return -errno;
	s->tmpfd = open_dir_at(s->dirfd, "tmp");
	return s->tmpfd < 0 ? s->tmpfd : 0;
}

static void store_free(struct bk_store *s)
{
	if (s->db)
		bks_catalog_close(s);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->objfd >= 0)
		close(s->objfd);
	bks_journal_close(s);
	if (s->dirfd >= 0)
		close(s->dirfd); /* drops the flock */
	bks_queue_destroy(s);
	bks_stage_close(s);
	free(s->replayed);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_cond);
	free(s);
}

static void pool_stop(struct bk_store *s);

int bk_store_open(const char *dir, struct bk_store **out, unsigned *recovered)
{
	struct bk_store *s;
	unsigned count = 0;
	int err;

	if (recovered)
		*recovered = 0;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!dir || !*dir)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dirfd = s->objfd = s->tmpfd = -1;
	s->durability = BK_DURABLE_POWER;
	bks_queue_init(s);
	bks_stage_init(s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);

	err = open_layout(s, dir);
	if (!err)
		err = bks_stage_recover_open(s);
	if (!err)
		err = bks_catalog_open(s);
	if (!err)
		err = bks_journal_replay(s);
	if (!err)
		bks_stage_recover_close(s, true);
	if (!err)
		err = bks_recover(s, &count);
	if (!err)
		err = bks_unshare_linked(s);
	if (!err)
		err = bks_load_total(s);
	if (recovered)
		*recovered = count;
	if (err) {
		store_free(s);
		return err;
	}
	*out = s;
	return 0;
}

void bk_store_close(struct bk_store *s)
{
	if (!s)
		return;
	bks_queue_stop(s);
	pool_stop(s);
	store_free(s);
}

const char *bk_store_dir(const struct bk_store *s)
{
	return s->dir;
}

/* Creates a temporary content file with a fresh object name. */
int bks_tmp_create(struct bk_store *s, char object[BK_OBJECT_MAX], int *fd)
{
	char name[BKS_OBJECT_HEX + 1];
	int err;

	err = bks_new_object_name(object);
	if (err)
		return err;
	bks_tmp_name(object, name);
	*fd = openat(s->tmpfd, name,
		     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0) {
		err = -errno;
		object[0] = '\0';
		return err;
	}
	return 0;
}

/* An unnamed temporary file (O_TMPFILE) in tmp/, linked into objects/ at
 * commit: a crash or an abort leaves nothing behind at all. */
static int tmp_create_unnamed(struct bk_store *s, char object[BK_OBJECT_MAX],
			      int *fd)
{
	int err = bks_new_object_name(object);

	if (err)
		return err;
	*fd = openat(s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (*fd < 0) {
		object[0] = '\0';
		return -errno;
	}
	return 0;
}

/* A content file made in its place in objects/ (FLUSH, PROCESS): the
 * committer needs no rename, and one whose version is never recorded in
 * the journal is an object without a row, which bk_store_open removes. */
static int placed_create(struct bk_store *s, char object[BK_OBJECT_MAX], int *fd)
{
	int err = bks_new_object_name(object);

	if (!err)
		err = bks_placed_open(s, object, fd);
	if (err)
		object[0] = '\0';
	return err;
}

int bks_placed_open(struct bk_store *s, const char *object, int *fd)
{
	char sub[3];
	bool created = false;
	int err;

	sub[0] = object[0];
	sub[1] = object[1];
	sub[2] = '\0';
	for (int tries = 0;; tries++) {
		*fd = openat(s->objfd, object,
			     O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		err = *fd < 0 ? -errno : 0;
		/* objects/xx is made at open; again if removed since. */
		if (err != -ENOENT || tries == 1)
			break;
		err = mkdir_at(s->objfd, sub, &created);
		if (!err && created && s->durability == BK_DURABLE_FLUSH &&
		    fsync(s->objfd) < 0)
			err = -errno;
		if (err)
			break;
	}
	return err;
}

/* The kind of content file bk_store_begin hands out now. */
static int wanted_kind(const struct bk_store *s)
{
	return s->durability == BK_DURABLE_POWER ? BKS_FILE_UNNAMED : BKS_FILE_PLACED;
}

/* Keeps up to BKS_POOL content files ready: woken when half are taken,
 * it fills the pool again, so it wakes once per BKS_POOL / 2 versions.
 * Where the file system has no O_TMPFILE (POWER) the pool ends and
 * versions make named files in tmp/. */
static void *pool_main(void *arg)
{
	struct bk_store *s = arg;
	bool filling = true;

	pthread_setname_np(pthread_self(), "bk-pool"); /* top -H, perf */

	pthread_mutex_lock(&s->pool_lock);
	for (;;) {
		char object[BK_OBJECT_MAX];
		int kind = wanted_kind(s), fd, err;

		if (s->pool_n >= BKS_POOL)
			filling = false;
		while (!s->pool_stop && !filling) {
			pthread_cond_wait(&s->pool_cond, &s->pool_lock);
			filling = s->pool_n <= BKS_POOL / 2;
		}
		if (s->pool_stop)
			break;
		pthread_mutex_unlock(&s->pool_lock);
		err = kind == BKS_FILE_PLACED ? placed_create(s, object, &fd)
					      : tmp_create_unnamed(s, object, &fd);
		pthread_mutex_lock(&s->pool_lock);
		if (kind == BKS_FILE_UNNAMED &&
		    (err == -EOPNOTSUPP || err == -EISDIR || err == -EINVAL))
			break;
		if (err) {
			/* Full disk or the like: versions make their own
			 * files (and report the error) until it passes. */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&s->pool_cond, &s->pool_lock, &ts);
			continue;
		}
		s->pool[s->pool_n].fd = fd;
		s->pool[s->pool_n].kind = kind;
		memcpy(s->pool[s->pool_n].object, object, sizeof(object));
		s->pool_n++;
	}
	pthread_mutex_unlock(&s->pool_lock);
	return NULL;
}

/* Closes pool entry i and removes its file. */
static void pool_drop(struct bk_store *s, unsigned i)
{
	close(s->pool[i].fd); /* unnamed: gone with it */
	if (s->pool[i].kind == BKS_FILE_PLACED)
		unlinkat(s->objfd, s->pool[i].object, 0);
}

/* Stops the pool thread and removes the files it made. */
static void pool_stop(struct bk_store *s)
{
	pthread_mutex_lock(&s->pool_lock);
	s->pool_stop = true;
	pthread_cond_broadcast(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
	if (s->pool_started)
		pthread_join(s->pool_thread, NULL);
	s->pool_started = false;
	while (s->pool_n)
		pool_drop(s, --s->pool_n);
}

void bks_pending_reset(struct bk_pending *p)
{
	p->fd = -1;
	p->placed = p->linked = false;
	p->stage = 0;
	p->staged_len = 0;
	p->tmp[0] = p->object[0] = '\0';
}

int bk_store_begin(struct bk_store *s, struct bk_pending *p)
{
	char name[BKS_OBJECT_HEX + 1];
	bool taken = false;
	int kind = BKS_FILE_TMP, err;
	size_t n;

	if (!p)
		return -EINVAL;
	bks_pending_reset(p);
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->pool_lock);
	if (!s->pool_started && !s->pool_stop &&
	    pthread_create(&s->pool_thread, NULL, pool_main, s) == 0)
		s->pool_started = true;
	while (s->pool_n && !taken) {
		unsigned i = --s->pool_n;

		if (s->pool[i].kind != wanted_kind(s)) {
			pool_drop(s, i); /* made before the durability changed */
			continue;
		}
		kind = s->pool[i].kind;
		p->fd = s->pool[i].fd;
		memcpy(p->object, s->pool[i].object, sizeof(p->object));
		taken = true;
	}
	if (s->pool_n <= BKS_POOL / 2)
		pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
	if (!taken) {
		kind = wanted_kind(s) == BKS_FILE_PLACED ? BKS_FILE_PLACED : BKS_FILE_TMP;
		err = kind == BKS_FILE_PLACED ? placed_create(s, p->object, &p->fd)
					      : bks_tmp_create(s, p->object, &p->fd);
		if (err)
			return err;
	}
	switch (kind) {
	case BKS_FILE_UNNAMED:
		return 0; /* p->tmp stays "" */
	case BKS_FILE_PLACED:
		p->placed = true;
		n = (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/objects/%s",
				     s->dir, p->object);
		break;
	default:
		bks_tmp_name(p->object, name);
		n = (size_t)snprintf(p->tmp, sizeof(p->tmp), "%s/tmp/%s", s->dir,
				     name);
		break;
	}
	if (n >= sizeof(p->tmp)) {
		bk_store_abort(s, p);
		return -ENAMETOOLONG; /* not after open_layout's check */
	}
	return 0;
}

void bk_store_abort(struct bk_store *s, struct bk_pending *p)
{
	if (!p)
		return;
	if (s && p->stage)
		bks_stage_release(s, p->stage);
	p->stage = 0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	/* p->tmp is the path bk_store_begin made: in tmp/ or objects/. */
	if (s && p->tmp[0] && bks_object_valid(p->object))
		unlink(p->tmp);
	p->placed = p->linked = false;
	p->tmp[0] = p->object[0] = '\0';
}

void bk_store_set_durability(struct bk_store *s, enum bk_durability d)
{
	if (s && d >= BK_DURABLE_POWER && d <= BK_DURABLE_PROCESS)
		s->durability = d;
}

void bk_store_set_commit_hook(struct bk_store *s, bk_commit_hook fn, void *arg)
{
	if (s) {
		s->hook = fn;
		s->hook_arg = arg;
	}
}

void bks_call_hook(struct bk_store *s, const struct bk_version *v, int err)
{
	if (s->hook)
		s->hook(s, v, err, s->hook_arg);
}

unsigned bk_store_completed(const struct bk_store *s)
{
	return s ? s->completed : 0;
}

int bks_fsync_dir_at(int dfd, const char *name)
{
	int fd = open_dir_at(dfd, name), err = 0;

	if (fd < 0)
		return fd;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Moves the content from tmp/ to objects/ durably.  On failure nothing of
 * it is in objects/; what may remain in tmp/ is the caller's to remove. */
static int publish(struct bk_store *s, const char *name, const char *object,
		   int unnamed_fd)
{
	char sub[3] = { object[0], object[1], '\0' };
	bool created = false;
	int err;

	err = mkdir_at(s->objfd, sub, &created);
	if (err)
		return err;
	if (created && s->durability != BK_DURABLE_PROCESS && fsync(s->objfd) < 0)
		return -errno;
	if (unnamed_fd >= 0) {
		char proc[64];

		/* Linking refuses to replace, as the rename below. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", unnamed_fd);
		if (linkat(AT_FDCWD, proc, s->objfd, object, AT_SYMLINK_FOLLOW) < 0)
			return -errno;
	} else if (renameat2(s->tmpfd, name, s->objfd, object, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* No RENAME_NOREPLACE here: link refuses to replace too. */
		if (linkat(s->tmpfd, name, s->objfd, object, 0) < 0)
			return -errno;
		unlinkat(s->tmpfd, name, 0);
	}
	return 0;
}

int bks_insert_version(struct bk_store *s, struct bk_pending *p,
		       struct bk_version *v)
{
	int err;

	snprintf(v->object, sizeof(v->object), "%s", p->object);
	pthread_mutex_lock(&s->lock);
	err = bks_insert(s, v);
	if (!err)
		bks_total_add(s, (int64_t)v->size);
	pthread_mutex_unlock(&s->lock);
	if (err) {
		unlinkat(s->objfd, p->object, 0);
		v->id = 0;
		v->version = 0;
	}
	p->tmp[0] = p->object[0] = '\0';
	p->linked = false;
	if (!err)
		bks_call_hook(s, v, 0);
	return err;
}

/* POWER, ContentHash: p->object was made a second name of an identical
 * version's file (dedupe.c).  Its name is synced, the copy dropped unsynced,
 * then the row is inserted. */
static int commit_shared(struct bk_store *s, struct bk_pending *p,
			 struct bk_version *v)
{
	char sub[3] = { p->object[0], p->object[1], '\0' };
	int err = bks_fsync_dir_at(s->objfd, sub);

	close(p->fd);
	p->fd = -1;
	if (p->tmp[0])
		unlink(p->tmp); /* a named copy in tmp/ */
	p->tmp[0] = '\0';
	if (err) {
		unlinkat(s->objfd, p->object, 0);
		p->object[0] = '\0';
		return err;
	}
	return bks_insert_version(s, p, v);
}

static bool version_ok(const struct bk_version *v)
{
	size_t n = strnlen(v->path, BK_PATH_MAX);

	return n > 0 && n < BK_PATH_MAX && v->path[0] == '/';
}

/*
 * Besides v->object, v->id and v->version, commit writes back v->size (the
 * content file's size, which is what the store accounts) and, when the
 * caller left it 0, v->time_ns (now).
 */
int bk_store_commit(struct bk_store *s, struct bk_pending *p,
		    struct bk_version *v)
{
	char name[BKS_OBJECT_HEX + 1];
	struct timespec now;
	struct stat st;
	int err;

	if (!p)
		return -EINVAL;
	if (!s || !v || (p->fd < 0 && !p->linked && !p->stage) ||
	    !bks_object_valid(p->object) ||
	    !version_ok(v)) {
		bk_store_abort(s, p);
		return -EINVAL;
	}
	bks_tmp_name(p->object, name);
	if (p->stage) {
		st.st_mode = S_IFREG; /* no file yet: the committer makes it */
		st.st_size = (off_t)p->staged_len;
	} else if (p->linked ? fstatat(s->objfd, p->object, &st, AT_SYMLINK_NOFOLLOW) < 0
			     : fstat(p->fd, &st) < 0) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto fail;
	}
	if (v->time_ns == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		v->time_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	}
	v->size = (uint64_t)st.st_size;
	v->hashed = false; /* the store's to compute (dedupe.c) */
	if (p->linked) {
		err = bks_commit_linked(s, p, v);
		if (err)
			goto fail;
		return 0;
	}
	if (p->placed) {
		err = bks_defer(s, p, v);
		if (err)
			goto fail;
		return 0;
	}
	if (bks_dedupe_wanted(s, v)) {
		v->hashed = bks_hash_fd(p->fd, v->size, v->hash) == 0;
		snprintf(v->object, sizeof(v->object), "%s", p->object);
		if (v->hashed && bks_share_new(s, v))
			return commit_shared(s, p, v);
	}
	err = publish(s, name, p->object, p->tmp[0] ? -1 : p->fd);
	/* Durable before the row: the content, then the name.  Syncing the
	 * file after it is linked lets one journal commit carry both on
	 * ext4 and XFS; the directory's sync then finds little to do.  A
	 * crash in between leaves an object without a row, which
	 * bk_store_open removes. */
	if (!err && s->durability == BK_DURABLE_POWER) {
		char sub[3] = { p->object[0], p->object[1], '\0' };

		if (fdatasync(p->fd) < 0)
			err = -errno;
		else
			err = bks_fsync_dir_at(s->objfd, sub);
		if (err)
			unlinkat(s->objfd, p->object, 0);
	}
	close(p->fd);
	p->fd = -1;
	if (err) {
		/* A named temporary file that was not renamed is removed by
		 * the abort; a linked or renamed one is gone already. */
		goto fail;
	}

	return bks_insert_version(s, p, v);

fail:
	bk_store_abort(s, p);
	return err;
}

int bk_store_open_version(struct bk_store *s, int64_t id, int *fd,
			  struct bk_version *v)
{
	struct bk_version *row;
	int err;

	if (!s || !fd)
		return -EINVAL;
	*fd = -1;
	bks_settle(s);
	row = malloc(sizeof(*row));
	if (!row)
		return -ENOMEM;
	/* Under the lock, so that the object cannot be evicted between the
	 * lookup and the open; once open, eviction does not affect it. */
	pthread_mutex_lock(&s->lock);
	err = bks_get(s, id, row);
	if (!err) {
		*fd = openat(s->objfd, row->object,
			     O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd < 0)
			err = errno == ENOENT ? -EIO : -errno;
	}
	pthread_mutex_unlock(&s->lock);
	if (!err && v)
		*v = *row;
	free(row);
	return err;
}
