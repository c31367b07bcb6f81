/*
 * committer.c - versions committed off the thread of the change that
 * caused them (Durability=flush and process, store.h).
 *
 * The caller's part, bks_defer, is what must be done before the change
 * may go on: the content is complete in its file, made in place in
 * objects/ by bk_store_begin (the caller wrote it), and the version's
 * catalog row-to-be is appended to a journal file in one write.  The
 * store's committer thread does the rest in batches: inserts the batch's
 * rows in one transaction, calls the commit hook (the filter's limits),
 * and empties journal files whose versions all have rows.  With FLUSH it
 * makes the rows durable at least once a second (bks_sync: the objects
 * named since, their directories, the catalog's WAL; sync.c), and only
 * then empties the journal; bk_store_flush makes captures durable at
 * once, in the caller.
 *
 * Crash safety.  Killing the process at any moment loses nothing: the page
 * cache keeps the files and the journal, and bks_journal_replay, at the
 * next open, commits every recorded version whose file is complete (it has
 * the size the record gives; a record is written only after the content)
 * and whose row was never committed: the catalog's meta committed_seq, set
 * in each batch's transaction, is the newest record committed, so a
 * version evicted before its file was unlinked is not brought back.
 * Record numbers go on from there across runs (s->seq_base), and a
 * record that has a row is skipped too.  bks_recover then removes the
 * files no row names (content whose record was never written, unused pool
 * files, an evicted version's).  A
 * record that is torn or garbled (its CRC-32 does not match) ends the
 * replay: records are appended in order, so nothing valid follows it.
 * After a power failure the same size check keeps partial content out,
 * as for rows whose object is short (recover.c).
 *
 * Readers (list, get, usage, restore, purge) call bks_settle first, so a
 * version is seen by them as soon as bk_store_commit has returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "store_int.h"

#define BKS_SYNC_EVERY_NS 1000000000LL /* FLUSH: committed -> durable */
/* A batch waits this long for more versions, unless someone waits for it
 * or it is full: one transaction, one wake-up for many versions. */
#define BKS_WINDOW_NS 50000000LL
#define BKS_BATCH_MAX 1024
#define BKS_JOURNAL_ROTATE (1u << 20)

/* The layout is the journal's on-disk format (also read by
 * tests/e2e/helpers/backup_fsck.py): it does not change silently. */
_Static_assert(sizeof(struct bkj_rec) == 176, "journal record layout");

#define BKJ_CRC_FROM offsetof(struct bkj_rec, path_len)

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t rec_crc(const unsigned char *rec, size_t len)
{
	return (uint32_t)crc32(crc32(0, NULL, 0), rec + BKJ_CRC_FROM,
			       (uInt)(len - BKJ_CRC_FROM));
}

/* The record of v in a new buffer (*len its size), NULL when out of memory. */
static unsigned char *rec_encode(const struct bk_version *v, uint64_t seq,
				 size_t *len)
{
	size_t plen = strnlen(v->path, BK_PATH_MAX);
	struct bkj_rec r = {
		.magic = BKJ_MAGIC,
		.path_len = (uint32_t)plen,
		.seq = seq,
		.file_id = v->file_id,
		.time_ns = v->time_ns,
		.size = v->size,
		.reason = v->reason,
		.method = v->method,
		.pid = v->pid,
		.uid = v->uid,
		.owner_uid = v->owner_uid,
		.owner_gid = v->owner_gid,
		.mode = v->mode,
		.atime_ns = v->atime_ns,
		.mtime_ns = v->mtime_ns,
	};
	unsigned char *buf;

	memcpy(r.comm, v->comm, sizeof(r.comm));
	memcpy(r.object, v->object, sizeof(r.object));
	*len = sizeof(r) + plen;
	r.len = (uint32_t)*len;
	buf = malloc(*len);
	if (!buf)
		return NULL;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), v->path, plen);
	r.crc = rec_crc(buf, *len);
	memcpy(buf + offsetof(struct bkj_rec, crc), &r.crc, sizeof(r.crc));
	return buf;
}

/* The record at buf (avail bytes) into *v: its length, 0 when it is not a
 * whole valid record. */
static size_t rec_decode(const unsigned char *buf, size_t avail,
			 struct bk_version *v, uint64_t *seq)
{
	struct bkj_rec r;

	if (avail < sizeof(r))
		return 0;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != BKJ_MAGIC || r.len > avail || r.path_len == 0 ||
	    r.path_len >= BK_PATH_MAX || r.len != sizeof(r) + r.path_len ||
	    rec_crc(buf, r.len) != r.crc)
		return 0;
	memset(v, 0, sizeof(*v));
	*seq = r.seq;
	memcpy(v->path, buf + sizeof(r), r.path_len);
	v->path[r.path_len] = '\0';
	v->file_id = r.file_id;
	v->time_ns = r.time_ns;
	v->size = r.size;
	v->reason = r.reason;
	v->method = r.method;
	v->pid = r.pid;
	v->uid = r.uid;
	v->owner_uid = r.owner_uid;
	v->owner_gid = r.owner_gid;
	v->mode = r.mode;
	v->atime_ns = r.atime_ns;
	v->mtime_ns = r.mtime_ns;
	memcpy(v->comm, r.comm, sizeof(v->comm));
	v->comm[BK_COMM_MAX - 1] = '\0';
	memcpy(v->object, r.object, sizeof(v->object));
	v->object[BK_OBJECT_MAX - 1] = '\0';
	if (v->path[0] != '/' || strlen(v->path) != r.path_len ||
	    !bks_object_valid(v->object))
		return 0;
	return r.len;
}

void bks_queue_init(struct bk_store *s)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&s->q_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->q_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&s->q_done, NULL);
	s->q_tail = &s->q_head;
	s->j[0].fd = s->j[1].fd = -1;
	pthread_mutex_init(&s->sync_lock, NULL);
}

void bks_journal_close(struct bk_store *s)
{
	for (int i = 0; i < 2; i++)
		if (s->j[i].fd >= 0)
			close(s->j[i].fd);
}

void bks_queue_destroy(struct bk_store *s)
{
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cond);
	pthread_cond_destroy(&s->q_done);
	pthread_mutex_destroy(&s->sync_lock);
	bks_dirty_free(s);
}

/* ---- Replay at open ---------------------------------------------------------------- */

/* Locked.  Whether a row names object. */
static int has_row(struct bk_store *s, const char *object, bool *yes)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	st = bks_stmt(s, BKS_HAS_OBJECT, &err);
	if (!st)
		return err;
	sqlite3_bind_text(st, 1, object, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bks_sqlite_err(rc) ?: -EIO;
}

static bool file_has_size(int dfd, const char *name, uint64_t size)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

/* Locked.  The newest journal sequence number whose row was committed
 * into *seq; false when the catalog has none (a new store, or one of
 * before schema 3). */
static int get_committed(struct bk_store *s, bool *have, uint64_t *seq)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	*have = false;
	*seq = 0;
	st = bks_stmt(s, BKS_GET_COMMITTED, &err);
	if (!st)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*have = true;
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : bks_sqlite_err(rc) ?: -EIO;
}

/* Locked.  Records seq as committed (never lowers it). */
static int set_committed(struct bk_store *s, uint64_t seq)
{
	int err = 0;
	sqlite3_stmt *st = bks_stmt(s, BKS_SET_COMMITTED, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	return bks_run(st);
}

/* Locked, in a transaction.  Commits v if its content is complete (it has
 * the recorded size) and no row names it yet.  1 when it did. */
static int replay_one(struct bk_store *s, struct bk_version *v)
{
	bool row = false;
	int err;

	/* A staged copy the committer had not written yet (staging.c). */
	err = bks_stage_restore(s, v->object, v->size);
	if (err < 0)
		return err;
	if (!file_has_size(s->objfd, v->object, v->size))
		return 0; /* never completed, or committed and evicted since */
	err = has_row(s, v->object, &row);
	if (err || row)
		return err;
	err = bks_insert(s, v);
	if (err) {
		unlinkat(s->objfd, v->object, 0);
		return err;
	}
	return 1;
}

/* A copy or a clone completed by the replay, for dedupe.c to hash when it
 * is turned on (none is, at open).  Out of memory: left unhashed. */
static void remember_replayed(struct bk_store *s, const struct bk_version *v)
{
	int64_t *nl;

	if (v->method != BK_METHOD_COPY && v->method != BK_METHOD_CLONE)
		return;
	nl = realloc(s->replayed, (s->n_replayed + 1) * sizeof(*nl));
	if (!nl)
		return;
	s->replayed = nl;
	s->replayed[s->n_replayed++] = v->id;
}

static int read_all(int fd, unsigned char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	*out = malloc((size_t)st.st_size);
	if (!*out)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		n = pread(fd, *out + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

struct replayed {
	uint64_t seq;
	struct bk_version *v;
};

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = ((const struct replayed *)a)->seq,
		 y = ((const struct replayed *)b)->seq;

	return x < y ? -1 : x > y;
}

/* The valid records of buf, appended to *list. */
static int decode_all(const unsigned char *buf, size_t len,
		      struct replayed **list, size_t *n, size_t *cap)
{
	struct bk_version *v;
	size_t off = 0, k;
	uint64_t seq;

	for (;;) {
		v = malloc(sizeof(*v));
		if (!v)
			return -ENOMEM;
		k = rec_decode(buf + off, len - off, v, &seq);
		if (!k) {
			free(v);
			return 0;
		}
		off += k;
		if (*n == *cap) {
			struct replayed *nl;

			*cap = *cap ? 2 * *cap : 64;
			nl = realloc(*list, *cap * sizeof(**list));
			if (!nl) {
				free(v);
				return -ENOMEM;
			}
			*list = nl;
		}
		(*list)[*n].seq = seq;
		(*list)[*n].v = v;
		(*n)++;
	}
}

int bks_journal_replay(struct bk_store *s)
{
	static const char *const names[2] = { "journal.0", "journal.1" };
	struct replayed *list = NULL;
	size_t n = 0, cap = 0;
	unsigned char *buf;
	uint64_t committed = 0;
	bool have = false;
	size_t len;
	int err = 0, r;

	for (int i = 0; !err && i < 2; i++) {
		s->j[i].fd = openat(s->dirfd, names[i],
				    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->j[i].fd < 0)
			return -errno;
		err = read_all(s->j[i].fd, &buf, &len);
		if (!err && len)
			err = decode_all(buf, len, &list, &n, &cap);
		free(buf);
	}
	if (!err) {
		pthread_mutex_lock(&s->lock);
		err = get_committed(s, &have, &committed);
		pthread_mutex_unlock(&s->lock);
		if (have)
			s->seq_base = committed + 1;
	}
	if (!err && n) {
		/* In capture order: version numbers follow it. */
		qsort(list, n, sizeof(*list), cmp_seq);
		pthread_mutex_lock(&s->lock);
		err = bks_exec(s, BKS_BEGIN);
		for (size_t i = 0; !err && i < n; i++) {
			/* Committed once: a version without its row now was
			 * evicted or withdrawn (its file, if a crash left it,
			 * is removed by bks_recover). */
			if (have && list[i].seq <= committed)
				continue;
			r = replay_one(s, list[i].v);
			if (r > 0) {
				s->completed++;
				remember_replayed(s, list[i].v);
			} else if (r < 0) {
				err = r;
			}
		}
		/* Every record is settled now: the next run numbers after
		 * them. */
		if (!err)
			err = set_committed(s, list[n - 1].seq);
		if (!err)
			err = bks_exec(s, BKS_COMMIT);
		if (err)
			bks_exec(s, BKS_ROLLBACK);
		pthread_mutex_unlock(&s->lock);
		if (!err && list[n - 1].seq >= s->seq_base)
			s->seq_base = list[n - 1].seq + 1;
	}
	for (size_t i = 0; i < n; i++)
		free(list[i].v);
	free(list);
	if (err)
		return err;
	/* The rows before the journal goes: a power failure in between
	 * must not lose what was just completed. */
	if (n && syncfs(s->dirfd) < 0)
		return -errno;
	for (int i = 0; i < 2; i++)
		if (ftruncate(s->j[i].fd, 0) < 0)
			return -errno;
	return 0;
}

/* ---- The committer ----------------------------------------------------------------- */

/* Writes the staged copies of a batch into their files, releases their
 * extents, and has the files synced (FLUSH) from now on. */
static void write_staged(struct bk_store *s, struct bks_item *list)
{
	struct bks_item *it;
	unsigned n = 0;
	int fd;

	for (it = list; it; it = it->next) {
		if (!it->stage)
			continue;
		it->err = bks_placed_open(s, it->v.object, &fd);
		if (!it->err) {
			it->err = bks_stage_write(s, it->stage, fd, it->v.size);
			close(fd);
		}
		/* ContentHash: from the staged bytes, which the file's
		 * direct write left out of the page cache. */
		if (!it->err && bks_dedupe_wanted(s, &it->v))
			it->v.hashed = bks_hash_mem(bks_stage_data(s, it->stage),
						    it->v.size, it->v.hash) == 0;
		it->lost = it->err != 0;
		bks_stage_release(s, it->stage);
		n++;
	}
	if (!n)
		return;
	pthread_mutex_lock(&s->q_lock);
	for (it = list; it; it = it->next) {
		if (!it->stage)
			continue;
		if (!it->err)
			bks_dirty_locked(s, it->v.object);
		it->stage = 0;
	}
	s->q_staged -= n;
	pthread_mutex_unlock(&s->q_lock);
}

/* Commits a batch: files into objects/, rows in one transaction. */
static void commit_batch(struct bk_store *s, struct bks_item *list)
{
	struct bks_item *it, *last;
	bool txn, redo = false;

	write_staged(s, list);
	/* ContentHash: the hashes first, without the lock (dedupe.c). */
	for (it = list; it; it = it->next)
		if (!it->err && !it->v.hashed && bks_dedupe_wanted(s, &it->v))
			bks_hash_object(s, &it->v);
	/* The files are in objects/ already (bk_store_begin placed them). */
	pthread_mutex_lock(&s->lock);
	txn = bks_exec(s, BKS_BEGIN) == 0;
	for (it = list; it && !redo; it = it->next) {
		/* After the rows before it in the batch: identical versions
		 * of one batch share too. */
		if (it->lost)
			continue; /* its content could not be written */
		if (it->v.hashed)
			bks_share_placed(s, &it->v);
		it->err = bks_insert(s, &it->v);
		/* A failed statement may have ended the transaction. */
		if (it->err && txn && sqlite3_get_autocommit(s->db))
			redo = true;
	}
	/* The batch is committed with its rows: the replay at open skips
	 * its records from now on (evicted rows stay evicted). */
	for (last = list; last->next; last = last->next)
		;
	if (txn && !redo &&
	    (set_committed(s, last->seq) || bks_exec(s, BKS_COMMIT))) {
		bks_exec(s, BKS_ROLLBACK);
		redo = true;
	}
	/* The transaction is gone: one row at a time, each standing or
	 * failing alone; until the last is recorded as committed, the
	 * replay finds those that went in by their rows. */
	for (it = list; redo && it; it = it->next)
		if (!it->lost)
			it->err = bks_insert(s, &it->v);
	if (redo || !txn)
		set_committed(s, last->seq);
	/* s->bytes counted each version when it was captured; a failed one
	 * leaves it, a committed one joins s->total. */
	for (it = list; it; it = it->next) {
		if (!it->err)
			s->total += it->v.size;
		else
			atomic_fetch_sub(&s->bytes, it->v.size);
	}
	pthread_mutex_unlock(&s->lock);
	for (it = list; it; it = it->next) {
		if (it->err) {
			unlinkat(s->objfd, it->v.object, 0);
			it->v.id = 0;
			it->v.version = 0;
		}
		bks_call_hook(s, &it->v, it->err);
	}
	/* Linked versions leave the page cache, as deleted files do. */
	for (it = list; it; it = it->next)
		if (!it->err && it->v.method == BK_METHOD_LINK)
			bks_drop_cached(s, it->v.object);
}

/* Locked.  Whether FLUSH has anything to sync: rows committed or objects
 * named since the last sync. */
static bool sync_wanted(struct bk_store *s)
{
	return s->durability == BK_DURABLE_FLUSH &&
	       (s->q_rows_synced < s->q_committed || bks_dirty_pending_locked(s));
}

/* Locked.  Whether FLUSH wants its periodic sync now: something to sync,
 * and a second gone (or the store closing). */
static bool sync_due(struct bk_store *s)
{
	return sync_wanted(s) &&
	       (s->q_stop || mono_ns() - s->q_last_sync_ns >= BKS_SYNC_EVERY_NS);
}

/* Locked.  Waits on q_cond (a CLOCK_MONOTONIC one) until due_ns. */
static void timed_wait(struct bk_store *s, int64_t due_ns)
{
	struct timespec ts = { .tv_sec = due_ns / 1000000000,
			       .tv_nsec = due_ns % 1000000000 };

	pthread_cond_timedwait(&s->q_cond, &s->q_lock, &ts);
}

/*
 * Locked.  Empties each journal file whose versions all have their rows,
 * durable ones with FLUSH: done is q_committed, or with FLUSH q_rows_synced
 * (the caller has just synced).  Appends go to one file until it holds
 * BKS_JOURNAL_ROTATE bytes and the other is empty, then to the other, so a
 * store that is never idle still empties its journal files in turn.
 */
static void journal_release(struct bk_store *s, uint64_t done)
{
	for (int i = 0; i < 2; i++)
		if (s->j[i].len && s->j[i].last <= done &&
		    ftruncate(s->j[i].fd, 0) == 0)
			s->j[i].len = 0;
}

/* Locked.  A bks_sync that covered captured and rows succeeded. */
static void synced(struct bk_store *s, uint64_t captured, uint64_t rows)
{
	if (s->q_synced < captured)
		s->q_synced = captured;
	if (s->q_rows_synced < rows) {
		s->q_rows_synced = rows;
		journal_release(s, rows);
	}
}

static void *committer_main(void *arg)
{
	struct bk_store *s = arg;
	struct bks_item *batch, *next;
	uint64_t n, captured, rows;
	int err;

	pthread_setname_np(pthread_self(), "bk-commit"); /* top -H, perf */

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		if (sync_due(s)) {
			pthread_mutex_unlock(&s->q_lock);
			/* One sync for everything committed: contents, the
			 * objects/ directories and the catalog's WAL.  If it
			 * fails the journal stays, and the sync is tried again
			 * a second later (at close: given up; the next open
			 * completes what the journal records). */
			err = bks_sync(s, BKS_SYNC_AUTO, &captured, &rows);
			pthread_mutex_lock(&s->q_lock);
			s->q_last_sync_ns = mono_ns();
			if (err && s->q_stop) {
				s->q_rows_synced = s->q_committed;
				s->d_n = 0;
				s->d_all = false;
			} else if (!err) {
				synced(s, captured, rows);
			}
			continue;
		}
		if (s->q_head && !s->q_stop && !s->q_hurry &&
		    s->q_n < BKS_BATCH_MAX && !(s->q_staged && bks_stage_pressing(s)) &&
		    mono_ns() < s->q_first_ns + BKS_WINDOW_NS) {
			timed_wait(s, s->q_first_ns + BKS_WINDOW_NS);
			continue;
		}
		if (s->q_head) {
			batch = s->q_head;
			s->q_n = 0;
			s->q_head = NULL;
			s->q_tail = &s->q_head;
			pthread_mutex_unlock(&s->q_lock);
			commit_batch(s, batch);
			for (n = 0; batch; batch = next, n++) {
				next = batch->next;
				free(batch);
			}
			pthread_mutex_lock(&s->q_lock);
			s->q_committed += n;
			/* With FLUSH the journal stays until a sync has made
			 * the rows durable. */
			if (s->durability != BK_DURABLE_FLUSH)
				journal_release(s, s->q_committed);
			pthread_cond_broadcast(&s->q_done);
			continue;
		}
		if (s->q_stop)
			break;
		if (sync_wanted(s))
			timed_wait(s, s->q_last_sync_ns + BKS_SYNC_EVERY_NS);
		else
			pthread_cond_wait(&s->q_cond, &s->q_lock);
	}
	pthread_mutex_unlock(&s->q_lock);
	return NULL;
}

int bks_defer(struct bk_store *s, struct bk_pending *p, struct bk_version *v)
{
	struct bks_item *it;
	unsigned char *rec = NULL;
	struct bks_journal *jf;
	size_t len;
	ssize_t n;
	int err = 0, ahead_fd = -1;
	off_t ahead_off = 0;

	snprintf(v->object, sizeof(v->object), "%s", p->object);
	v->id = 0;
	v->version = 0;
	it = malloc(sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->next = NULL;
	it->err = 0;
	it->lost = false;
	it->stage = p->stage;
	it->v = *v;
	/* Before its record: a record whose extent is published is completed
	 * from the staging file by the replay (staging.c). */
	if (p->stage)
		bks_stage_publish(s, p->stage, p->object, v->size);
	pthread_mutex_lock(&s->q_lock);
	it->seq = s->seq_base + s->q_queued;
	rec = rec_encode(v, it->seq, &len);
	if (!rec) {
		err = -ENOMEM;
		goto out;
	}
	if (!s->q_started && !s->q_stop) {
		if (pthread_create(&s->q_thread, NULL, committer_main, s) == 0)
			s->q_started = true;
	}
	if (!s->q_started) {
		err = s->q_stop ? -ESHUTDOWN : -EAGAIN;
		goto out;
	}
	jf = &s->j[s->j_active];
	if (jf->len >= BKS_JOURNAL_ROTATE && !s->j[!s->j_active].len) {
		s->j_active = !s->j_active;
		jf = &s->j[s->j_active];
	}
	n = pwrite(jf->fd, rec, len, (off_t)jf->len);
	if (n != (ssize_t)len) {
		err = n < 0 ? -errno : -ENOSPC;
		/* No torn record stays in front of the next one. */
		if (ftruncate(jf->fd, (off_t)jf->len) < 0)
			err = -EIO;
		goto out;
	}
	/* A program syncing now and then (an sqlite3 transaction each)
	 * will have its next sync wait for this record to be written: its
	 * writeback starts now, so that the wait finds it done. */
	if (s->durability == BK_DURABLE_FLUSH && s->q_prog_sync_ns &&
	    mono_ns() - s->q_prog_sync_ns < BKS_SYNC_EVERY_NS) {
		ahead_fd = jf->fd;
		ahead_off = (off_t)jf->len;
	}
	jf->len += len;
	jf->last = s->q_queued + 1;
	if (p->stage) {
		/* The committer writes the file, then it is to be synced. */
		p->stage = 0;
		s->q_staged++;
	} else if (!(s->log_ordered && v->method == BK_METHOD_CLONE)) {
		/* A clone has no data of its own to write: FICLONE wrote the
		 * source's dirty pages before it shared their blocks, and the
		 * extents it gave the object are in the log, which the
		 * ordered sync forces (a syncfs covers it too).  Only an
		 * unordered store's file-by-file sync needs its fdatasync. */
		bks_dirty_locked(s, v->object);
	}
	if (!s->q_head) {
		s->q_first_ns = mono_ns();
		s->q_n = 0;
	}
	/* The committer sleeps without a timeout only on an empty queue;
	 * otherwise it is waiting for the batch to fill (or for the staging
	 * area to fill up to half). */
	if (++s->q_n == 1 || s->q_n >= BKS_BATCH_MAX ||
	    (it->stage && bks_stage_pressing(s)))
		pthread_cond_signal(&s->q_cond);
	*s->q_tail = it;
	s->q_tail = &it->next;
	it = NULL;
	s->q_queued++;
	atomic_fetch_add(&s->bytes, v->size);
out:
	pthread_mutex_unlock(&s->q_lock);
	free(it);
	free(rec);
	if (err)
		return err;
	if (ahead_fd >= 0)
		(void)sync_file_range(ahead_fd, ahead_off, (off_t)len,
				      SYNC_FILE_RANGE_WRITE);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->tmp[0] = p->object[0] = '\0';
	p->linked = false;
	return 0;
}

void bks_settle(struct bk_store *s)
{
	uint64_t target;

	pthread_mutex_lock(&s->q_lock);
	target = s->q_queued;
	if (s->q_started && s->q_committed < target) {
		s->q_hurry++; /* no batch window while anyone waits */
		pthread_cond_signal(&s->q_cond);
		while (s->q_started && s->q_committed < target)
			pthread_cond_wait(&s->q_done, &s->q_lock);
		s->q_hurry--;
	}
	pthread_mutex_unlock(&s->q_lock);
}

/* FLUSH: whether anything captured (or, without full, committed) is not
 * durable yet; staged copies are written first. */
static bool sync_needed(struct bk_store *s, bool full)
{
	bool done;

	pthread_mutex_lock(&s->q_lock);
	if (s->q_staged) {
		/* Staged copies are not in their files yet: the committer
		 * writes them (and their rows) first. */
		pthread_mutex_unlock(&s->q_lock);
		bks_settle(s);
		pthread_mutex_lock(&s->q_lock);
	}
	/* bk_store_flush needs the captures durable; rows come with them
	 * (the journal completes them), and this sync is the program's. */
	done = s->q_synced >= s->q_queued && !bks_dirty_pending_locked(s) &&
	       (full || s->q_rows_synced >= s->q_committed);
	pthread_mutex_unlock(&s->q_lock);
	return !done;
}

static void synced_now(struct bk_store *s, uint64_t captured, uint64_t rows)
{
	pthread_mutex_lock(&s->q_lock);
	synced(s, captured, rows);
	s->q_last_sync_ns = mono_ns(); /* the periodic one can wait */
	pthread_mutex_unlock(&s->q_lock);
}

/* FLUSH, in the caller: bks_sync (full or not) and its bookkeeping; 1 when
 * it synced, 0 when nothing needed it, or -errno. */
static int sync_now(struct bk_store *s, bool full)
{
	uint64_t captured, rows;
	int err;

	if (!s)
		return -EINVAL;
	if (s->durability != BK_DURABLE_FLUSH || !sync_needed(s, full))
		return 0;
	err = bks_sync(s, full ? BKS_SYNC_FULL : BKS_SYNC_FILES, &captured, &rows);
	if (err)
		return err;
	synced_now(s, captured, rows);
	return 1;
}

int bk_store_flush_begin(struct bk_store *s, struct bk_flush_ticket *t)
{
	int err;

	if (!t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->q_lock);
	s->q_prog_sync_ns = mono_ns();
	pthread_mutex_unlock(&s->q_lock);
	if (!s->log_ordered)
		return sync_now(s, true);
	if (s->durability != BK_DURABLE_FLUSH || !sync_needed(s, true))
		return 0;
	err = bks_sync(s, BKS_SYNC_BEGIN, &t->captured, &t->rows);
	if (err)
		return err;
	t->pending = true;
	return 0;
}

int bk_store_flush_end(struct bk_store *s, struct bk_flush_ticket *t)
{
	int err;

	if (!s || !t || !t->pending)
		return 0;
	t->pending = false;
	err = bks_sync_end(s);
	if (err)
		return err;
	synced_now(s, t->captured, t->rows);
	return 1;
}

/*
 * FLUSH: what was captured before the call is made durable by the caller
 * itself, whether or not the committer has got to it: one syncfs covers
 * the content files and the journal (a captured version whose content and
 * record are on the disk is completed by the next open if its row is
 * lost), and the rows committed so far, whose journal may then go.
 */
int bk_store_flush(struct bk_store *s)
{
	return sync_now(s, true);
}

int bk_store_sync(struct bk_store *s)
{
	return sync_now(s, false);
}

void bks_queue_stop(struct bk_store *s)
{
	pthread_mutex_lock(&s->q_lock);
	s->q_stop = true; /* the committer drains, syncs (FLUSH), then ends */
	pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
	if (s->q_started)
		pthread_join(s->q_thread, NULL);
	s->q_started = false;
}
