/*
 * sync.c - what Durability=flush makes durable.
 *
 * The store usually shares its file system with the volume it keeps
 * versions of.  A syncfs of that file system would also write back
 * everything the volume's programs wrote and never asked to be synced (an
 * untar's files, a build's objects).  So the store remembers the objects
 * it named since its last sync (bks_dirty: every captured version, every
 * copy bk_store_unshare made; not a clone on a log-ordered store, below,
 * which has no data of its own) and the objects/xx directories they are
 * in, and a file-by-file sync (bks_sync) writes only those:
 *
 *   1. each object's data (the writeback of a batch is started before
 *      waiting for any of it, so the disk sees the batch together);
 *   2. each objects/xx directory that gained a name;
 *   3. each journal file with a record that no sync has covered yet
 *      (versions captured but not committed yet);
 *   4. the catalog's WAL, if a row was committed since the last sync
 *      (synchronous=NORMAL does not sync a commit; a checkpoint syncs
 *      what it moves), and the store directory.
 *
 * Objects before the rows that name them, as the POWER commit orders them.
 * An object removed since it was named (evicted, or its version failed)
 * is skipped.  When a name could not be remembered (no memory) or a sync
 * failed, the next sync is a syncfs of the store's file system, which
 * covers whatever was lost.
 *
 * Each of those syncs may be a flush of the disk's cache (ext4 without a
 * journal flushes at every fsync) or a force of the log (XFS, only when
 * something is not yet in it), one after the other.  So the file-by-file
 * sync is not always the cheaper one:
 *
 * - bk_store_flush asks for a full sync: a program is about to sync a
 *   file of the same file system and waits for both, and a few versions'
 *   syncs cost it more than one syncfs, whose single flush its own fsync
 *   then finds done (an sqlite3 transaction: 1.6 times slower with the
 *   file-by-file sync on XFS).
 * - The periodic sync (BKS_SYNC_AUTO) measures both ways as it goes, the
 *   time per file of the file-by-file sync and the time of a syncfs (the
 *   flushes' ones count too), and takes the one that should cost less for
 *   the files it has: on XFS the file-by-file one (linked files cost next
 *   to nothing), on ext4 without a journal a syncfs once thousands of
 *   files wait.  Every BKS_SYNC_PROBE-th sync takes the other way, so that
 *   its figure follows what the volume does.
 * - bk_store_sync is always file by file.
 *
 * On XFS and on ext4 with its journal (log_ordered, bks_log_ordered)
 * neither is needed.  Every change of names, sizes and extents is a
 * transaction of one write-ahead log (jbd2's journal on ext4), and a
 * commit of the log on the disk means every earlier commit is there too.
 * ext4 with fast commits is not taken as ordered: there a program's fsync
 * may commit its own inode only, so a checkpoint of the catalog could be
 * on the disk before the names of the objects its rows point at.  So the
 * ordered sync (sync_ordered) writes the data of the objects, the journal
 * files and the WAL and waits for it without any flush (sync_file_range),
 * then makes one transaction of its own (the store directory's times) and
 * forces the log up to it with fsync of the directory: one log write, the
 * disk's cache flushed before it, for everything named since the last
 * sync.  The volume's programs' data stays in the page cache, which a
 * syncfs would write (an untar's 110 MiB, once a second), and no object
 * costs a flush of its own.  bk_store_flush (the first write through an
 * O_SYNC handle) stays a syncfs, and so does a sync that lost names
 * (d_all).
 *
 * Before a program's fsync, the ordered sync in one piece would cost the
 * program a second flush of the disk's cache after its own (1,000 sqlite3
 * transactions on XFS: 2.20 s against 2.00 s with a syncfs), so it goes in
 * two halves around it (bk_store_flush_begin and _end): everything but the
 * force before, so that the store's transaction is in the log before the
 * program's; the force after, as an fsync of the store directory.  The
 * program's own fsync forces the log whenever its file has a change of
 * size or allocation to commit (an sqlite3 journal, a file it extended),
 * and that force carries the store's transaction: the directory is then no
 * longer pinned and its fsync returns at once (on ext4, an fsync of a
 * directory commits the running transaction, and none runs).  Otherwise it
 * forces the log itself.  Either way the versions are durable before the
 * program's fsync returns, and one flush of the disk's cache serves both.
 *
 * While programs sync (one did within the last second), the record of
 * each version captured is written back as it is appended
 * (sync_file_range without a wait, bks_defer): the next program's sync
 * then finds it on the disk instead of writing it and waiting (an sqlite3
 * transaction deletes its journal, a version, then syncs the next one's:
 * 1,000 transactions on a journaled ext4 took 1.99 s with the wait, 1.86 s
 * without, 1.70 s unfiltered).  Programs that never sync (an untar) leave
 * the records to the sync once a second, which writes them together.
 *
 * One sync runs at a time (sync_lock): a sync that returns has made
 * durable everything named before it started, including what a sync still
 * running for another thread had taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

/* The ext4 superblock's fields read below (its offset on the device, its
 * magic, its compatible features and the fast-commit one). */
#define EXT4_SB_OFFSET 1024
#define EXT4_SB_MAGIC_AT 0x38
#define EXT4_SB_COMPAT_AT 0x5C
#define EXT4_COMPAT_FAST_COMMIT 0x400u

/*
 * ext4 is ordered like XFS when its journal runs (jbd2 commits one
 * transaction after the other, a commit flushing the disk's cache before
 * its commit block) and every fsync is a commit of it.  With fast commits
 * an fsync may write only the inodes it has to, so that file system is
 * taken as unordered.  Where the journal or the superblock cannot be read
 * (no /dev node for the device, say), unordered too: the file-by-file
 * sync is right on any file system.
 */
static bool ext4_ordered(dev_t dev)
{
	char link[PATH_MAX], path[PATH_MAX + 32];
	unsigned char sb[0x60];
	const char *name;
	ssize_t n;
	uint32_t compat;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	name = strrchr(link, '/');
	name = name ? name + 1 : link;
	/* The journal's statistics exist while it runs. */
	snprintf(path, sizeof(path), "/proc/fs/jbd2/%s-8", name);
	if (access(path, F_OK) < 0)
		return false;
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = pread(fd, sb, sizeof(sb), EXT4_SB_OFFSET);
	close(fd);
	if (n != (ssize_t)sizeof(sb) ||
	    (sb[EXT4_SB_MAGIC_AT] | sb[EXT4_SB_MAGIC_AT + 1] << 8) != BKS_EXT4_MAGIC)
		return false;
	compat = (uint32_t)sb[EXT4_SB_COMPAT_AT] |
		 (uint32_t)sb[EXT4_SB_COMPAT_AT + 1] << 8 |
		 (uint32_t)sb[EXT4_SB_COMPAT_AT + 2] << 16 |
		 (uint32_t)sb[EXT4_SB_COMPAT_AT + 3] << 24;
	return !(compat & EXT4_COMPAT_FAST_COMMIT);
}

bool bks_log_ordered(int dirfd)
{
	struct statfs fs;
	struct stat st;

	if (fstatfs(dirfd, &fs) < 0)
		return false;
	if (fs.f_type == BKS_XFS_MAGIC)
		return true;
	return fs.f_type == BKS_EXT4_MAGIC && fstat(dirfd, &st) == 0 &&
	       ext4_ordered(st.st_dev);
}

/* Objects whose writeback is started together before the waits. */
#define BKS_SYNC_BATCH 128

/* The value of a lowercase hex digit, -1 for anything else. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void bks_dirty_locked(struct bk_store *s, const char *object)
{
	int hi, lo;

	if (s->durability != BK_DURABLE_FLUSH)
		return;
	if (s->d_n == s->d_cap) {
		size_t cap = s->d_cap ? 2 * s->d_cap : 256;
		void *nl = realloc(s->d_obj, cap * sizeof(*s->d_obj));

		if (!nl) {
			s->d_all = true;
			return;
		}
		s->d_obj = nl;
		s->d_cap = cap;
	}
	snprintf(s->d_obj[s->d_n++], sizeof(*s->d_obj), "%s", object);
	/* objects/xx/: xx, two hex digits, is the directory to sync. */
	hi = hex_value(object[0]);
	lo = hi < 0 ? -1 : hex_value(object[1]);
	if (lo >= 0) {
		unsigned dir = (unsigned)(hi * 16 + lo);

		s->d_dirs[dir / 8] |= (uint8_t)(1u << (dir % 8));
	} else {
		s->d_all = true; /* not an object name: cannot happen */
	}
}

void bks_dirty(struct bk_store *s, const char *object)
{
	pthread_mutex_lock(&s->q_lock);
	bks_dirty_locked(s, object);
	pthread_mutex_unlock(&s->q_lock);
}

bool bks_dirty_pending_locked(const struct bk_store *s)
{
	return s->d_n || s->d_all;
}

void bks_dirty_free(struct bk_store *s)
{
	free(s->d_obj);
	s->d_obj = NULL;
	s->d_n = s->d_cap = 0;
}

/* fdatasync(2), as write_wait's kind: 0 or -errno. */
static int data_sync(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* The dirty pages of fd written and waited for; no flush, no metadata. */
static int write_wait(int fd)
{
	return sync_file_range(fd, 0, 0,
			       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				       SYNC_FILE_RANGE_WAIT_AFTER) < 0
		       ? -errno
		       : 0;
}

/* finish (data_sync or write_wait) on each of n objects, each batch's
 * writeback started first. */
static int sync_objects(struct bk_store *s, char (*obj)[BKS_OBJECT_LEN + 1],
			size_t n, int (*finish)(int fd))
{
	int fds[BKS_SYNC_BATCH], err = 0, r;

	for (size_t i = 0; i < n; i += BKS_SYNC_BATCH) {
		size_t m = n - i < BKS_SYNC_BATCH ? n - i : BKS_SYNC_BATCH;

		for (size_t k = 0; k < m; k++) {
			fds[k] = openat(s->objfd, obj[i + k],
					O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fds[k] < 0) {
				if (errno != ENOENT && !err)
					err = -errno;
				continue;
			}
			/* Only a hint: finish below is the guarantee. */
			(void)sync_file_range(fds[k], 0, 0, SYNC_FILE_RANGE_WRITE);
		}
		for (size_t k = 0; k < m; k++) {
			if (fds[k] < 0)
				continue;
			r = finish(fds[k]);
			if (r && !err)
				err = r;
			close(fds[k]);
		}
	}
	return err;
}

static int sync_dirs(struct bk_store *s, const uint8_t dirs[32])
{
	char sub[3];
	int err = 0, r;

	for (unsigned d = 0; d < 256; d++) {
		if (!(dirs[d / 8] & (1u << (d % 8))))
			continue;
		snprintf(sub, sizeof(sub), "%02x", d);
		r = bks_fsync_dir_at(s->objfd, sub);
		if (r && r != -ENOENT && !err)
			err = r;
	}
	return err;
}

/* What of the store's catalog a sync has to write: the journal files
 * with a record no sync has covered yet, the WAL if a row was committed
 * since the last sync (taken under q_lock, with the sync's snapshot). */
struct sync_what {
	bool journal[2];
	bool wal;
};

static void sync_what_locked(const struct bk_store *s, uint64_t rows,
			     struct sync_what *w)
{
	for (int i = 0; i < 2; i++)
		w->journal[i] = s->j[i].fd >= 0 && s->j[i].last > s->q_synced;
	w->wal = rows > s->q_rows_synced;
}

/* The catalog's WAL, opened by name (SQLite may have removed it), through
 * finish; ENOENT: checkpointed and gone, synced then. */
static int sync_wal(struct bk_store *s, int (*finish)(int fd))
{
	char path[BK_PATH_MAX + 16];
	int fd, err;

	snprintf(path, sizeof(path), "%s/catalog.db-wal", s->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = finish(fd);
	close(fd);
	return err;
}

/* The journal files, the catalog's WAL (those w names), the store
 * directory. */
static int sync_catalog(struct bk_store *s, const struct sync_what *w)
{
	int err = 0, r;

	for (int i = 0; i < 2; i++)
		if (w->journal[i] && fdatasync(s->j[i].fd) < 0 && !err)
			err = -errno;
	r = w->wal ? sync_wal(s, data_sync) : 0;
	if (r && !err)
		err = r;
	if (fsync(s->dirfd) < 0 && !err)
		err = -errno;
	return err;
}

/* The ordered sync (log_ordered: see the top of this file); without
 * force, all but the log's force (bks_sync_end). */
static int sync_ordered(struct bk_store *s, char (*obj)[BKS_OBJECT_LEN + 1],
			size_t n, const struct sync_what *w, bool force)
{
	int err, r;

	err = sync_objects(s, obj, n, write_wait);
	for (int i = 0; i < 2; i++) {
		r = w->journal[i] ? write_wait(s->j[i].fd) : 0;
		if (r && !err)
			err = r;
	}
	r = w->wal ? sync_wal(s, write_wait) : 0;
	if (r && !err)
		err = r;
	if (err)
		return err;
	/* The newest transaction, then the log forced up to it. */
	if (futimens(s->dirfd, NULL) < 0 || (force && fsync(s->dirfd) < 0))
		return -errno;
	return 0;
}

int bks_sync_end(struct bk_store *s)
{
	/* xfs_dir_fsync: a directory whose last change is on the disk
	 * already (a force since, such as the program's own) is not pinned,
	 * and its fsync returns at once, without a flush.  ext4 commits the
	 * running transaction, if one runs (ext4_force_commit). */
	if (fsync(s->dirfd) < 0) {
		int err = -errno;

		pthread_mutex_lock(&s->q_lock);
		s->d_all = true;
		pthread_mutex_unlock(&s->q_lock);
		return err;
	}
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A quarter of each new figure: a few syncs follow a change of load. */
static void ewma(int64_t *avg, int64_t x)
{
	*avg = *avg ? (3 * *avg + x) / 4 : (x > 0 ? x : 1);
}

bool bks_sync_choose_full(const struct bks_sync_cost *c, size_t files)
{
	bool full;

	if (!c->per_file_ns)
		return false; /* measure the file-by-file way first */
	if (!c->full_ns)
		return true; /* then the other */
	full = (int64_t)files * c->per_file_ns > c->full_ns;
	if (c->syncs % BKS_SYNC_PROBE == BKS_SYNC_PROBE - 1)
		full = !full;
	return full;
}

static unsigned dirs_count(const uint8_t dirs[32])
{
	unsigned n = 0;

	for (int i = 0; i < 32; i++)
		n += (unsigned)__builtin_popcount(dirs[i]);
	return n;
}

int bks_sync(struct bk_store *s, enum bks_sync_how how, uint64_t *captured,
	     uint64_t *rows)
{
	char (*obj)[BKS_OBJECT_LEN + 1];
	struct sync_what what;
	uint8_t dirs[32];
	size_t n, files;
	int64_t t0;
	bool all, full, ordered;
	int err;

	pthread_mutex_lock(&s->sync_lock);
	pthread_mutex_lock(&s->q_lock);
	obj = s->d_obj;
	n = s->d_n;
	all = s->d_all;
	memcpy(dirs, s->d_dirs, sizeof(dirs));
	s->d_obj = NULL;
	s->d_n = s->d_cap = 0;
	s->d_all = false;
	memset(s->d_dirs, 0, sizeof(s->d_dirs));
	/* A staged copy is named for a sync once the committer wrote it. */
	*captured = s->q_staged ? s->q_committed : s->q_queued;
	*rows = s->q_committed;
	sync_what_locked(s, *rows, &what);
	pthread_mutex_unlock(&s->q_lock);

	/* Objects, directories, the journal files and the WAL it writes,
	 * the store directory. */
	files = n + dirs_count(dirs) + what.journal[0] + what.journal[1] + what.wal + 1;
	ordered = s->log_ordered && !all && how != BKS_SYNC_FULL;
	full = !ordered && (all || how == BKS_SYNC_FULL || how == BKS_SYNC_BEGIN ||
			    (how == BKS_SYNC_AUTO &&
			     bks_sync_choose_full(&s->sync_cost, files)));
	t0 = now_ns();
	if (ordered) {
		err = sync_ordered(s, obj, n, &what, how != BKS_SYNC_BEGIN);
	} else if (full) {
		err = syncfs(s->dirfd) < 0 ? -errno : 0;
		if (!err)
			ewma(&s->sync_cost.full_ns, now_ns() - t0);
	} else {
		err = sync_objects(s, obj, n, data_sync);
		if (!err)
			err = sync_dirs(s, dirs);
		if (!err)
			err = sync_catalog(s, &what);
		if (!err)
			ewma(&s->sync_cost.per_file_ns, (now_ns() - t0) / (int64_t)files);
	}
	if (how == BKS_SYNC_AUTO)
		s->sync_cost.syncs++;
	if (ordered)
		s->sync_cost.n_ordered++;
	else if (full)
		s->sync_cost.n_full++;
	else
		s->sync_cost.n_files++;
	free(obj);
	if (err) {
		/* What this sync took is not known to be durable. */
		pthread_mutex_lock(&s->q_lock);
		s->d_all = true;
		pthread_mutex_unlock(&s->q_lock);
	}
	pthread_mutex_unlock(&s->sync_lock);
	return err;
}

void bk_store_stats(struct bk_store *s, struct bk_store_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	bks_settle(s);
	st->deduped = atomic_load(&s->deduped);
	st->staged = atomic_load(&s->stage.staged);
	st->staging_full = atomic_load(&s->stage.no_room);
	st->staged_restored = s->stage.restored;
	pthread_mutex_lock(&s->sync_lock);
	st->syncs_files = s->sync_cost.n_files;
	st->syncs_full = s->sync_cost.n_full;
	st->syncs_ordered = s->sync_cost.n_ordered;
	pthread_mutex_unlock(&s->sync_lock);
}
