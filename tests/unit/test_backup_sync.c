/*
 * test_backup_sync.c - what Durability=flush syncs (sync.c): the periodic
 * sync (bk_store_sync) syncs the store's own files and nothing else of the
 * file system it shares with the volume; bk_store_flush makes every
 * capture durable.
 *
 * The page cache says what is durable: cachestat(2) counts a file's dirty
 * pages and pages under writeback.  After a sync every object a version
 * named, the journal files and the catalog's WAL have none; after
 * bk_store_sync a file beside the store that no one synced keeps its dirty
 * pages.  A file written a moment ago is dirty
 * until something syncs it; each check that wants a file still dirty is
 * tried a few times, so that a sync by another program at the wrong moment
 * cannot fail it (a store that synced the whole file system fails every
 * try).
 *
 * Needs a file system with writeback (not tmpfs) in $TMPDIR or /tmp, and
 * cachestat (Linux 6.5); otherwise the tests are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "store_int.h" /* bks_sync_choose_full */
#include "storefx.h"

#define TMPFS_MAGIC_ 0x01021994

#define TRIES 5
#define CONTENT (64 * 1024)

/* Dirty pages plus pages under writeback of path; -1 when unknown. */
static long long unsynced(const char *path)
{
	struct storefx_cache c;

	if (storefx_cachestat(path, &c) < 0)
		return -1;
	return (long long)(c.dirty + c.writeback);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int setup(void **state)
{
	struct fx *f = storefx_new("bksync");

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	/* The committer's own periodic sync goes file by file too (as it
	 * does where that costs less), for a test's few seconds: a file
	 * beside the store that gets synced was synced by someone else.
	 * Nothing syncs yet, so no lock is needed. */
	f->s->sync_cost.per_file_ns = 1;
	f->s->sync_cost.full_ns = INT64_MAX / 2;
	*state = f;
	return 0;
}

/* Skips the test where the page cache cannot tell. */
static void need_writeback(const struct fx *f)
{
	struct statfs sf;
	char path[PATH_MAX + 32];

	assert_int_equal(statfs(f->root, &sf), 0);
	if (sf.f_type == TMPFS_MAGIC_) {
		print_message("skipped: %s is on tmpfs\n", f->root);
		skip();
	}
	PATHF(path, "%s/probe", f->root);
	assert_int_equal(close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	if (unsynced(path) < 0) {
		print_message("skipped: no cachestat(2)\n");
		skip();
	}
}

static void write_file(const char *path, int n, size_t len)
{
	char *buf = malloc(len);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + (size_t)n) % 26);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* A version written into the store, as the filter's copy does. */
static void keep_copy(struct bk_store *s, int n, struct bk_version *v)
{
	struct bk_pending p;
	char *buf = malloc(CONTENT);

	assert_non_null(buf);
	memset(buf, 'a' + n % 26, CONTENT);
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "/f%d", n);
	v->reason = BK_REASON_WRITE;
	v->method = BK_METHOD_COPY;
	assert_int_equal(bk_store_begin(s, &p), 0);
	assert_int_equal(write(p.fd, buf, CONTENT), CONTENT);
	assert_int_equal(bk_store_commit(s, &p, v), 0);
	free(buf);
}

/* A file of vol linked into the store, as the back end does for a delete. */
static void keep_linked(struct fx *f, const char *path, const char *rel,
			struct bk_version *v)
{
	struct bk_pending p;
	int dirfd = -1;

	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", rel);
	v->reason = BK_REASON_DELETE;
	assert_int_equal(bk_store_begin_link(f->s, &p, &dirfd), 0);
	assert_int_equal(linkat(AT_FDCWD, path, dirfd, p.object, 0), 0);
	assert_int_equal(bk_store_commit(f->s, &p, v), 0);
	assert_int_equal(unlink(path), 0);
}

static long long object_unsynced(const struct fx *f, const char *object)
{
	char path[PATH_MAX + BK_OBJECT_MAX + 32];

	PATHF(path, "%s/objects/%s", f->dir, object);
	return unsynced(path);
}

static long long store_file_unsynced(const struct fx *f, const char *name)
{
	char path[PATH_MAX + 64];

	PATHF(path, "%s/%s", f->dir, name);
	return unsynced(path);
}

/* The store's files a sync must leave clean: the objects, both journal
 * files, and with rows (the sync came after their commit) the catalog's
 * WAL.  A capture is durable once its object and its journal record are:
 * a sync that came before the row leaves the row to the next one. */
static void check_store_synced(const struct fx *f,
			       const struct bk_version *v, int n, bool rows)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(object_unsynced(f, v[i].object), 0);
	assert_int_equal(store_file_unsynced(f, "journal.0"), 0);
	assert_int_equal(store_file_unsynced(f, "journal.1"), 0);
	if (rows)
		assert_int_equal(store_file_unsynced(f, "catalog.db-wal"), 0);
}

static int id_cb(const struct bk_version *v, void *arg)
{
	*(int64_t *)arg = v->id;
	return 0;
}

/* Every version committed (readers wait for the committer); how many. */
static int settle(struct bk_store *s)
{
	struct bk_usage u;

	assert_int_equal(bk_store_usage(s, &u), 0);
	return (int)u.versions;
}

/*
 * bk_store_sync makes the captured versions' content, the journal and the
 * committed rows durable, and leaves a file beside the store, written just
 * before and never synced, as dirty as it was.
 */
static void test_sync_is_narrow(void **state)
{
	struct fx *f = *state;
	struct bk_version v[8];
	char other[PATH_MAX + 32];
	bool narrow = false;
	int r;

	need_writeback(f);
	PATHF(other, "%s/other", f->vol);
	for (int t = 0; t < TRIES && !narrow; t++) {
		long long before = 0;

		write_file(other, t, CONTENT);
		for (int i = 0; i < 8; i++) {
			keep_copy(f->s, t * 8 + i, &v[i]);
			before += object_unsynced(f, v[i].object);
		}
		assert_int_equal(settle(f->s), (t + 1) * 8);
		if (before == 0 || unsynced(other) == 0)
			continue; /* something synced it all meanwhile */
		/* 0: the committer's own sync was first, and covered the
		 * captures and the rows. */
		r = bk_store_sync(f->s);
		assert_true(r >= 0);
		check_store_synced(f, v, 8, true);
		narrow = unsynced(other) > 0;
		/* Nothing new: nothing to sync. */
		assert_int_equal(bk_store_sync(f->s), 0);
	}
	assert_true(narrow);
}

/* A deleted file linked into the store: its data, written a moment before
 * and never synced by its program, is durable after the sync. */
static void test_sync_linked(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], other[PATH_MAX + 32];
	struct bk_version v;
	bool narrow = false;

	need_writeback(f);
	PATHF(other, "%s/other", f->vol);
	for (int t = 0; t < TRIES && !narrow; t++) {
		PATHF(path, "%s/gone%d", f->vol, t);
		write_file(path, t, CONTENT);
		write_file(other, t, CONTENT);
		keep_linked(f, path, "/gone", &v);
		if (object_unsynced(f, v.object) == 0 || unsynced(other) == 0)
			continue;
		assert_true(bk_store_sync(f->s) >= 0);
		assert_int_equal(object_unsynced(f, v.object), 0);
		narrow = unsynced(other) > 0;
	}
	assert_true(narrow);
}

/* bk_store_flush (before a program's fsync): every capture durable, its
 * content and its journal record, whatever else it syncs. */
static void test_flush_captures(void **state)
{
	struct fx *f = *state;
	struct bk_version v[8];
	char path[PATH_MAX + 32];
	int r;

	need_writeback(f);
	for (int i = 0; i < 6; i++)
		keep_copy(f->s, i, &v[i]);
	for (int i = 6; i < 8; i++) {
		PATHF(path, "%s/gone%d", f->vol, i);
		write_file(path, i, CONTENT);
		keep_linked(f, path, "/gone", &v[i]);
	}
	r = bk_store_flush(f->s);
	assert_true(r == 0 || r == 1);
	check_store_synced(f, v, 8, false);
	assert_int_equal(bk_store_flush(f->s), 0);
	assert_int_equal(settle(f->s), 8);
}

/* The copy bk_store_unshare makes for a linked version is synced by the
 * next flush, although no version was captured since.  (ext4 starts the
 * writeback of a file renamed over another itself, so whether the copy is
 * still dirty before the flush depends on the file system: the flush's
 * answer says it had the copy to sync.) */
static void test_flush_unshared(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], obj[PATH_MAX + BK_OBJECT_MAX + 32];
	struct bk_version v;
	struct stat st;
	int64_t t0;
	int r;

	need_writeback(f);
	PATHF(path, "%s/held", f->vol);
	write_file(path, 1, CONTENT);
	keep_linked(f, path, "/held", &v);
	assert_int_equal(settle(f->s), 1);
	assert_true(bk_store_flush(f->s) >= 0);
	/* A flush puts the committer's next sync a second later: the next
	 * flush is the one that finds the copy, if it comes sooner. */
	t0 = mono_ns();
	assert_int_equal(bk_store_flush(f->s), 0);
	assert_int_equal(bk_store_unshare(f->s, v.object, CONTENT), 0);
	r = bk_store_flush(f->s);
	if (mono_ns() - t0 < 900 * 1000 * 1000)
		assert_int_equal(r, 1);
	else
		assert_true(r >= 0);
	assert_int_equal(object_unsynced(f, v.object), 0);
	assert_int_equal(bk_store_flush(f->s), 0);
	PATHF(obj, "%s/objects/%s", f->dir, v.object);
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_size, CONTENT);
	assert_int_equal(st.st_nlink, 1);
}

/* Without any flush the committer syncs within about a second of the
 * commits, then empties the journal.  (That it is as narrow as a flush,
 * bks_sync being the same, is left to the tests above: a wait of a second
 * is too wide a window to tell it from a sync by another program.) */
static void test_periodic_sync(void **state)
{
	struct fx *f = *state;
	struct bk_version v[4];
	char jpath[PATH_MAX + 32];
	struct stat st;
	bool clean = false;

	need_writeback(f);
	PATHF(jpath, "%s/journal.0", f->dir);
	for (int i = 0; i < 4; i++)
		keep_copy(f->s, i, &v[i]);
	assert_int_equal(settle(f->s), 4);
	/* Up to 5 s for a sync due within 1 s. */
	for (int w = 0; w < 50 && !clean; w++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		clean = stat(jpath, &st) == 0 && st.st_size == 0;
		if (!clean)
			nanosleep(&ts, NULL);
	}
	assert_true(clean);
	check_store_synced(f, v, 4, true);
}

/* A version deleted before the sync is skipped; the rest is synced. */
static void test_sync_after_delete(void **state)
{
	struct fx *f = *state;
	struct bk_version v[3];
	int64_t ids[3];

	need_writeback(f);
	for (int i = 0; i < 3; i++)
		keep_copy(f->s, i, &v[i]);
	assert_int_equal(settle(f->s), 3);
	for (int i = 0; i < 3; i++) {
		ids[i] = 0;
		assert_int_equal(bk_store_list(f->s, v[i].path, 0, 0, id_cb, &ids[i]), 0);
		assert_true(ids[i] > 0);
	}
	assert_int_equal(bk_store_delete(f->s, ids[1]), 0);
	assert_true(bk_store_sync(f->s) >= 0);
	assert_int_equal(object_unsynced(f, v[0].object), 0);
	assert_int_equal(object_unsynced(f, v[2].object), 0);
	assert_int_equal(settle(f->s), 2);
}

/* The periodic sync's choice: file by file until measured, then one
 * syncfs to measure it, then the cheaper for the files waiting, and the
 * other way every BKS_SYNC_PROBE-th time. */
static void test_sync_choice(void **state)
{
	struct bks_sync_cost c = { 0 };

	(void)state;
	assert_false(bks_sync_choose_full(&c, 100000));
	c.per_file_ns = 300 * 1000; /* ext4 without a journal: a flush each */
	assert_true(bks_sync_choose_full(&c, 1));
	c.full_ns = 50 * 1000 * 1000;
	c.syncs = 3;
	assert_false(bks_sync_choose_full(&c, 100));
	assert_true(bks_sync_choose_full(&c, 1000));
	c.syncs = BKS_SYNC_PROBE - 1;
	assert_true(bks_sync_choose_full(&c, 100));
	assert_false(bks_sync_choose_full(&c, 1000));
	c.syncs = BKS_SYNC_PROBE;
	c.per_file_ns = 2 * 1000; /* XFS, linked files: next to nothing */
	assert_false(bks_sync_choose_full(&c, 8000));
}

static int setup_ordered(void **state)
{
	struct fx *f;

	setup(state);
	f = *state;
	/* As on XFS (sync.c); the tests' file system may have no such log,
	 * but what the ordered sync writes and counts is the same. */
	f->s->log_ordered = true;
	return 0;
}

static void ordered_counts(struct fx *f, uint64_t *files, uint64_t *full,
			   uint64_t *ordered)
{
	struct bk_store_stats st;

	bk_store_stats(f->s, &st);
	*files = st.syncs_files;
	*full = st.syncs_full;
	*ordered = st.syncs_ordered;
}

/* With an ordered log the store's own sync writes every object (copied
 * and linked), both journal files and the WAL, leaves a file beside the
 * store as dirty as it was, and is one commit of the log: never file by
 * file, never a syncfs. */
static void test_ordered_sync(void **state)
{
	struct fx *f = *state;
	struct bk_version v[8];
	char other[PATH_MAX + 32], path[PATH_MAX + 32];
	uint64_t files, full, ordered;
	bool narrow = false;

	need_writeback(f);
	PATHF(other, "%s/other", f->vol);
	for (int t = 0; t < TRIES && !narrow; t++) {
		long long before = 0;

		write_file(other, t, CONTENT);
		for (int i = 0; i < 6; i++) {
			keep_copy(f->s, t * 8 + i, &v[i]);
			before += object_unsynced(f, v[i].object);
		}
		for (int i = 6; i < 8; i++) {
			PATHF(path, "%s/gone%d.%d", f->vol, t, i);
			write_file(path, i, CONTENT);
			keep_linked(f, path, "/gone", &v[i]);
			before += object_unsynced(f, v[i].object);
		}
		assert_int_equal(settle(f->s), (t + 1) * 8);
		if (before == 0 || unsynced(other) == 0)
			continue; /* something synced it all meanwhile */
		assert_true(bk_store_sync(f->s) >= 0);
		check_store_synced(f, v, 8, true);
		narrow = unsynced(other) > 0;
	}
	assert_true(narrow);
	ordered_counts(f, &files, &full, &ordered);
	assert_int_equal(files, 0);
	assert_int_equal(full, 0);
	assert_true(ordered >= 1);
}

/* The sync before a program's fsync stays one syncfs (one flush of the
 * disk's cache serves it and the program); so does a sync that lost the
 * names it was to write. */
static void test_ordered_full(void **state)
{
	struct fx *f = *state;
	struct bk_version v[2];
	uint64_t files, full, ordered, full0;

	keep_copy(f->s, 0, &v[0]);
	assert_true(bk_store_flush(f->s) >= 0);
	ordered_counts(f, &files, &full, &ordered);
	assert_int_equal(files, 0);
	assert_true(full >= 1);
	full0 = full;
	keep_copy(f->s, 1, &v[1]);
	assert_int_equal(settle(f->s), 2);
	pthread_mutex_lock(&f->s->q_lock);
	f->s->d_all = true;
	pthread_mutex_unlock(&f->s->q_lock);
	assert_true(bk_store_sync(f->s) >= 0);
	ordered_counts(f, &files, &full, &ordered);
	assert_int_equal(files, 0);
	assert_true(full >= full0 + 1);
}

/* bk_store_flush_begin and _end around a program's sync: with an ordered
 * log the first half writes the versions' content and leaves the force
 * to the second, which makes them durable; with nothing new neither half
 * does anything.  Without an ordered log the first half is the whole
 * flush. */
static void test_flush_halves(void **state)
{
	struct fx *f = *state;
	struct bk_flush_ticket t;
	struct bk_version v[3];
	char path[PATH_MAX + 32];
	uint64_t files, full, ordered;

	need_writeback(f);
	keep_copy(f->s, 0, &v[0]);
	keep_copy(f->s, 1, &v[1]);
	PATHF(path, "%s/gone", f->vol);
	write_file(path, 2, CONTENT);
	keep_linked(f, path, "/gone", &v[2]);
	assert_int_equal(bk_store_flush_begin(f->s, &t), 0);
	assert_true(t.pending);
	for (int i = 0; i < 3; i++)
		assert_int_equal(object_unsynced(f, v[i].object), 0);
	assert_int_equal(bk_store_flush_end(f->s, &t), 1);
	assert_false(t.pending);
	assert_int_equal(bk_store_flush_end(f->s, &t), 0); /* once */
	ordered_counts(f, &files, &full, &ordered);
	assert_int_equal(files, 0);
	assert_int_equal(full, 0);
	assert_true(ordered >= 1);
	/* Nothing captured since: nothing to do. */
	assert_int_equal(bk_store_flush_begin(f->s, &t), 0);
	assert_false(t.pending);
	assert_int_equal(settle(f->s), 3);

	/* No ordered log: begin is the flush, end has nothing left. */
	f->s->log_ordered = false;
	keep_copy(f->s, 3, &v[0]);
	assert_int_equal(bk_store_flush_begin(f->s, &t), 1);
	assert_false(t.pending);
	assert_int_equal(object_unsynced(f, v[0].object), 0);
	assert_int_equal(bk_store_flush_end(f->s, &t), 0);
	ordered_counts(f, &files, &full, &ordered);
	assert_int_equal(full, 1);
	assert_int_equal(bk_store_flush_begin(NULL, &t), -EINVAL);
	assert_int_equal(bk_store_flush_begin(f->s, NULL), -EINVAL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, storefx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sync_is_narrow),	 T(test_sync_linked),
		T(test_flush_captures),	 T(test_flush_unshared),
		T(test_periodic_sync),	 T(test_sync_after_delete),
		cmocka_unit_test(test_sync_choice),
		cmocka_unit_test_setup_teardown(test_ordered_sync, setup_ordered,
						storefx_teardown),
		cmocka_unit_test_setup_teardown(test_ordered_full, setup_ordered,
						storefx_teardown),
		cmocka_unit_test_setup_teardown(test_flush_halves, setup_ordered,
						storefx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
