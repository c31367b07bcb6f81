/*
 * test_backup_store.c - the backup filter's version store (store.h):
 * layout, commit and catalog queries, eviction, policy patterns, crash
 * recovery, concurrency and a damaged catalog.
 *
 * Each test gets a fresh store in its own temporary directory ($TMPDIR or
 * /tmp), removed afterwards.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <zlib.h>

#include "store.h"
#include "storefx.h"
#include "store_int.h"

static int setup(void **state)
{
	*state = storefx_new("bkstore");
	return 0;
}

static void reopen(struct fx *f, unsigned *recovered)
{
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, recovered), 0);
}

static void fill(struct bk_version *v, const char *path, uint32_t reason,
		 int64_t time_ns)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->reason = reason;
	v->method = BK_METHOD_COPY;
	v->time_ns = time_ns;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Commits a version of path with len bytes of content; its id. */
static int64_t keep_at(struct bk_store *s, const char *path, size_t len,
		       uint32_t reason, int64_t time_ns, struct bk_version *out)
{
	struct bk_pending p;
	struct bk_version v;
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	fill(&v, path, reason, time_ns);
	assert_int_equal(bk_store_begin(s, &p), 0);
	write_all(p.fd, buf, len);
	assert_int_equal(bk_store_commit(s, &p, &v), 0);
	assert_int_equal(p.fd, -1);
	free(buf);
	if (out)
		*out = v;
	return v.id;
}

static int64_t keep(struct bk_store *s, const char *path, size_t len)
{
	return keep_at(s, path, len, BK_REASON_WRITE, 0, NULL);
}

static int count_entry_cb_n;
static int count_entry(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	(void)path;
	(void)st;
	(void)ftw;
	if (flag == FTW_F)
		count_entry_cb_n++;
	return 0;
}

/* Regular files under f->dir/sub. */
static int count_files(const struct fx *f, const char *sub)
{
	char path[PATH_MAX + 16];

	PATHF(path, "%s/%s", f->dir, sub);
	count_entry_cb_n = 0;
	assert_int_equal(nftw(path, count_entry, 16, FTW_PHYS), 0);
	return count_entry_cb_n;
}

static bool object_exists(const struct fx *f, const char *object)
{
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	struct stat st;

	PATHF(path, "%s/objects/%s", f->dir, object);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* What a listing saw. */
struct seen {
	int n;
	int64_t id[256];
	int64_t version[256];
	char path[256][64];
	uint32_t reason[256];
	int stop_at; /* return 7 at this call (1-based), 0: never */
};

static int collect(const struct bk_version *v, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 256);
	s->id[s->n] = v->id;
	s->version[s->n] = v->version;
	s->reason[s->n] = v->reason;
	assert_true((size_t)snprintf(s->path[s->n], sizeof(s->path[0]), "%s",
				     v->path) < sizeof(s->path[0]));
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

/* ------------------------------------------------------------------ */

static void test_open_layout(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], real[PATH_MAX];
	struct bk_store *other = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;
	struct stat sb;

	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	PATHF(path, "%s/objects", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	PATHF(path, "%s/tmp", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_non_null(realpath(f->dir, real));
	assert_string_equal(bk_store_dir(f->s), real);

	/* A second owner of the same store is refused. */
	assert_int_equal(bk_store_open(f->dir, &other, NULL), -EBUSY);
	assert_null(other);

	/* WAL journal and a schema version, as another reader sees them. */
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* Missing parents are created. */
	PATHF(path, "%s/x/y/z", f->root);
	assert_int_equal(bk_store_open(path, &other, NULL), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	bk_store_close(other);
	other = NULL;

	assert_int_equal(bk_store_open(NULL, &other, NULL), -EINVAL);
	assert_int_equal(bk_store_open("", &other, NULL), -EINVAL);
}

static void test_commit_versions(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	struct bk_version v, got, a[3], b;

	keep_at(f->s, "/a", 10, BK_REASON_WRITE, 0, &a[0]);
	keep_at(f->s, "/b", 20, BK_REASON_WRITE, 0, &b);
	keep_at(f->s, "/a", 30, BK_REASON_TRUNCATE, 0, &a[1]);
	keep_at(f->s, "/a", 0, BK_REASON_DELETE, 0, &a[2]);
	assert_int_equal(a[0].version, 1);
	assert_int_equal(a[1].version, 2);
	assert_int_equal(a[2].version, 3);
	assert_int_equal(b.version, 1);
	assert_true(a[0].id > 0);
	assert_true(b.id > a[0].id);
	assert_true(a[1].id > b.id);
	assert_true(a[2].id > a[1].id);
	/* Object names: "xx/" + 30 hex digits, all different. */
	assert_int_equal(strlen(a[0].object), 33);
	assert_int_equal(a[0].object[2], '/');
	assert_string_not_equal(a[0].object, a[1].object);
	assert_true(object_exists(f, a[1].object));
	/* Commit time filled in when left 0. */
	assert_true(a[0].time_ns > 1600000000LL * 1000000000LL);

	/* Every field round-trips; size is the content's. */
	fill(&v, "/dir/file name", BK_REASON_REPLACE, 123456789);
	v.file_id = 0xfedcba9876543210ULL;
	v.method = BK_METHOD_CLONE;
	v.pid = 4242;
	snprintf(v.comm, sizeof(v.comm), "cp");
	v.uid = 1000;
	v.owner_uid = 1001;
	v.owner_gid = 1002;
	v.mode = 0100640;
	v.atime_ns = -5;
	v.mtime_ns = 987654321012345678LL;
	v.size = 999999; /* wrong on purpose: the store counts the content */
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	assert_true(p.fd >= 0);
	/* A file from the store's pool is unnamed (O_TMPFILE): tmp "". */
	assert_true(!p.tmp[0] || strstr(p.tmp, "/tmp/"));
	write_all(p.fd, "hello", 5);
	assert_int_equal(bk_store_commit(f->s, &p, &v), 0);
	assert_int_equal(v.size, 5);
	assert_int_equal(bk_store_get(f->s, v.id, &got), 0);
	assert_int_equal(got.id, v.id);
	assert_string_equal(got.path, "/dir/file name");
	assert_int_equal(got.file_id, 0xfedcba9876543210ULL);
	assert_int_equal(got.version, 1);
	assert_int_equal(got.time_ns, 123456789);
	assert_int_equal(got.size, 5);
	assert_int_equal(got.reason, BK_REASON_REPLACE);
	assert_int_equal(got.method, BK_METHOD_CLONE);
	assert_int_equal(got.pid, 4242);
	assert_string_equal(got.comm, "cp");
	assert_int_equal(got.uid, 1000);
	assert_int_equal(got.owner_uid, 1001);
	assert_int_equal(got.owner_gid, 1002);
	assert_int_equal(got.mode, 0100640);
	assert_int_equal(got.atime_ns, -5);
	assert_int_equal(got.mtime_ns, 987654321012345678LL);
	assert_string_equal(got.object, v.object);
	assert_int_equal(bk_store_get(f->s, 999999, &got), -ENOENT);

	/* The newest deleted: its version number comes back (max + 1), its
	 * id does not. */
	assert_int_equal(bk_store_delete(f->s, a[2].id), 0);
	keep_at(f->s, "/a", 1, BK_REASON_WRITE, 0, &got);
	assert_int_equal(got.version, 3);
	assert_true(got.id > v.id);
	/* The oldest deleted: still max + 1, not a count. */
	assert_int_equal(bk_store_delete(f->s, a[0].id), 0);
	keep_at(f->s, "/a", 1, BK_REASON_WRITE, 0, &got);
	assert_int_equal(got.version, 4);

	/* Ids and versions survive reopening. */
	reopen(f, NULL);
	keep_at(f->s, "/a", 1, BK_REASON_WRITE, 0, &v);
	assert_int_equal(v.version, 5);
	assert_true(v.id > got.id);
}

static void test_commit_failure(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	struct bk_version v;
	struct bk_usage u;

	fill(&v, "relative/path", BK_REASON_WRITE, 0);
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	write_all(p.fd, "x", 1);
	assert_int_equal(bk_store_commit(f->s, &p, &v), -EINVAL);
	assert_int_equal(p.fd, -1);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), 0);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 0);
}

static void test_abort(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	struct bk_usage u;
	struct stat st;

	assert_int_equal(bk_store_begin(f->s, &p), 0);
	write_all(p.fd, "abcdef", 6);
	assert_int_equal(count_files(f, "tmp"), 1);
	assert_int_equal(stat(p.tmp, &st), 0);
	bk_store_abort(f->s, &p);
	assert_int_equal(p.fd, -1);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), 0);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 0);
	assert_int_equal(u.bytes, 0);
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	int64_t a[5];

	for (int i = 0; i < 5; i++) {
		a[i] = keep(f->s, "/a", 1);
		keep(f->s, i % 2 ? "/b" : "/a/x", 1);
	}
	/* Exact path match, oldest first. */
	assert_int_equal(bk_store_list(f->s, "/a", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(s.id[i], a[i]);
		assert_int_equal(s.version[i], i + 1);
		assert_string_equal(s.path[i], "/a");
	}
	/* After a cursor. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/a", a[1], 0, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.id[0], a[2]);
	/* At most max. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/a", a[0], 2, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], a[1]);
	assert_int_equal(s.id[1], a[2]);
	/* The callback stops it, and its value is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(bk_store_list(f->s, "/a", 0, 0, collect, &s), 7);
	assert_int_equal(s.n, 2);
	/* Nothing for an unknown path or a prefix of one. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/c", 0, 0, collect, &s), 0);
	assert_int_equal(bk_store_list(f->s, "/a/", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(bk_store_list(f->s, "a", 0, 0, collect, &s), -EINVAL);
}

/* More rows than one fetch: no row lost or repeated at the seams. */
static void test_list_batches(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	int64_t ids[70];

	for (int i = 0; i < 70; i++)
		ids[i] = keep(f->s, "/many", 0);
	assert_int_equal(bk_store_list(f->s, "/many", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 70);
	for (int i = 0; i < 70; i++) {
		assert_int_equal(s.id[i], ids[i]);
		assert_int_equal(s.version[i], i + 1);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/many", ids[2], 40, collect, &s),
			 0);
	assert_int_equal(s.n, 40);
	assert_int_equal(s.id[0], ids[3]);
	assert_int_equal(s.id[39], ids[42]);
}

/* A callback may call the store: it runs without the store's lock. */
static int delete_each(const struct bk_version *v, void *arg)
{
	struct bk_store *s = arg;
	struct bk_version got;

	assert_int_equal(bk_store_get(s, v->id, &got), 0);
	return bk_store_delete(s, v->id);
}

static void test_list_reentrant(void **state)
{
	struct fx *f = *state;
	struct bk_usage u;

	for (int i = 0; i < 40; i++)
		keep(f->s, "/r", 3);
	keep(f->s, "/other", 3);
	assert_int_equal(bk_store_list(f->s, "/r", 0, 0, delete_each, f->s),
			 0);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 1);
	assert_int_equal(u.bytes, 3);
	assert_int_equal(count_files(f, "objects"), 1);
}

static void test_list_deleted(void **state)
{
	struct fx *f = *state;
	struct seen s = { 0 };
	int64_t x, sub, dirself, ab, top;

	keep_at(f->s, "/a/x", 1, BK_REASON_WRITE, 0, NULL);
	x = keep_at(f->s, "/a/x", 1, BK_REASON_DELETE, 0, NULL);
	/* Deleted, then written again: its newest is not a DELETE. */
	keep_at(f->s, "/a/y", 1, BK_REASON_DELETE, 0, NULL);
	keep_at(f->s, "/a/y", 1, BK_REASON_WRITE, 0, NULL);
	ab = keep_at(f->s, "/ab/z", 1, BK_REASON_DELETE, 0, NULL);
	dirself = keep_at(f->s, "/a", 1, BK_REASON_DELETE, 0, NULL);
	sub = keep_at(f->s, "/a/sub/w", 1, BK_REASON_DELETE, 0, NULL);
	top = keep_at(f->s, "/t", 1, BK_REASON_DELETE, 0, NULL);
	keep_at(f->s, "/a/live", 1, BK_REASON_WRITE, 0, NULL);

	/* Below /a: not /a itself, not /ab/z; ordered by id. */
	assert_int_equal(bk_store_list_deleted(f->s, "/a", 0, 0, collect, &s),
			 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], x);
	assert_int_equal(s.version[0], 2);
	assert_int_equal(s.reason[0], BK_REASON_DELETE);
	assert_string_equal(s.path[0], "/a/x");
	assert_int_equal(s.id[1], sub);
	/* A trailing '/' changes nothing. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list_deleted(f->s, "/a/", 0, 0, collect, &s),
			 0);
	assert_int_equal(s.n, 2);
	/* The whole volume. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list_deleted(f->s, "/", 0, 0, collect, &s),
			 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.id[0], x);
	assert_int_equal(s.id[1], ab);
	assert_int_equal(s.id[2], dirself);
	assert_int_equal(s.id[3], sub);
	assert_int_equal(s.id[4], top);
	/* Cursor and max. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list_deleted(f->s, "/", ab, 2, collect, &s),
			 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], dirself);
	assert_int_equal(s.id[1], sub);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(bk_store_list_deleted(f->s, "/", 0, 0, collect, &s),
			 7);
	assert_int_equal(s.n, 1);
	/* Nothing under /ab/z (a file: its own path is excluded). */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list_deleted(f->s, "/ab/z", 0, 0, collect,
					       &s),
			 0);
	assert_int_equal(s.n, 0);
	/* Once the DELETE version is gone, the older one is the newest. */
	assert_int_equal(bk_store_delete(f->s, x), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list_deleted(f->s, "/a", 0, 0, collect, &s),
			 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.id[0], sub);
}

static void test_open_version(void **state)
{
	struct fx *f = *state;
	size_t len = 300000, got = 0;
	struct bk_pending p;
	struct bk_version v, w;
	unsigned char *buf = malloc(len), *back = malloc(len + 1);
	ssize_t n;
	int fd;

	assert_non_null(buf);
	assert_non_null(back);
	srand(7);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)rand();
	fill(&v, "/bin.dat", BK_REASON_WRITE, 0);
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	write_all(p.fd, buf, len);
	assert_int_equal(bk_store_commit(f->s, &p, &v), 0);

	assert_int_equal(bk_store_open_version(f->s, v.id, &fd, &w), 0);
	assert_true(fd >= 0);
	assert_int_equal(w.id, v.id);
	assert_int_equal(w.size, len);
	while ((n = read(fd, back + got, len + 1 - got)) > 0)
		got += (size_t)n;
	assert_int_equal(got, len);
	assert_memory_equal(back, buf, len);
	/* Read-only. */
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(errno, EBADF);

	/* Still readable after its version is deleted. */
	assert_int_equal(bk_store_delete(f->s, v.id), 0);
	assert_int_equal(pread(fd, back, 4, 0), 4);
	assert_memory_equal(back, buf, 4);
	close(fd);
	assert_int_equal(bk_store_open_version(f->s, v.id, &fd, NULL), -ENOENT);
	assert_int_equal(fd, -1);
	free(buf);
	free(back);
}

static void test_delete(void **state)
{
	struct fx *f = *state;
	struct bk_version a, b, got;
	struct bk_usage u;

	keep_at(f->s, "/d", 100, BK_REASON_WRITE, 0, &a);
	keep_at(f->s, "/d", 50, BK_REASON_WRITE, 0, &b);
	assert_int_equal(bk_store_delete(f->s, a.id), 0);
	assert_false(object_exists(f, a.object));
	assert_true(object_exists(f, b.object));
	assert_int_equal(bk_store_get(f->s, a.id, &got), -ENOENT);
	assert_int_equal(bk_store_get(f->s, b.id, &got), 0);
	assert_int_equal(bk_store_delete(f->s, a.id), -ENOENT);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 1);
	assert_int_equal(u.bytes, 50);
}

static void test_enforce_max_versions(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_versions = 3 };
	struct bk_version a[5], b[2];
	struct seen s = { 0 };
	uint64_t evicted = 99, freed = 99;

	for (int i = 0; i < 5; i++)
		keep_at(f->s, "/a", 10 * (size_t)(i + 1), BK_REASON_WRITE, 0,
			&a[i]);
	for (int i = 0; i < 2; i++)
		keep_at(f->s, "/b", 7, BK_REASON_WRITE, 0, &b[i]);
	assert_int_equal(bk_store_enforce(f->s, &pol, 0, 0, &evicted, &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(freed, 10 + 20);
	assert_int_equal(bk_store_list(f->s, "/a", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.version[0], 3);
	assert_int_equal(s.version[2], 5);
	assert_false(object_exists(f, a[0].object));
	assert_false(object_exists(f, a[1].object));
	assert_true(object_exists(f, a[2].object));
	assert_true(object_exists(f, b[0].object));
	assert_int_equal(count_files(f, "objects"), 5);
	/* Nothing more to do. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 0, 0, &evicted, &freed),
			 0);
	assert_int_equal(evicted, 0);
	assert_int_equal(freed, 0);
}

static void test_enforce_max_age(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_age_ns = 750 };
	struct bk_version v[3];
	uint64_t evicted, freed;
	struct bk_usage u;

	keep_at(f->s, "/x", 1, BK_REASON_WRITE, 100, &v[0]);
	keep_at(f->s, "/y", 2, BK_REASON_WRITE, 200, &v[1]);
	keep_at(f->s, "/x", 4, BK_REASON_WRITE, 300, &v[2]);
	/* Older than 1000 - 750 = 250. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 1000, 0, &evicted,
					  &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(freed, 3);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 1);
	assert_int_equal(u.oldest_ns, 300);
	assert_true(object_exists(f, v[2].object));
	assert_false(object_exists(f, v[0].object));
	/* Exactly at the limit is not older than it. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 1050, 0, &evicted, NULL),
			 0);
	assert_int_equal(evicted, 0);
}

static void test_enforce_store_bytes(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_store_bytes = 60 };
	struct bk_version v[4];
	uint64_t evicted, freed;
	struct bk_usage u;

	/* Eviction follows time, not id order. */
	keep_at(f->s, "/s", 10, BK_REASON_WRITE, 4000, &v[0]);
	keep_at(f->s, "/s", 20, BK_REASON_WRITE, 1000, &v[1]);
	keep_at(f->s, "/t", 30, BK_REASON_WRITE, 3000, &v[2]);
	keep_at(f->s, "/u", 40, BK_REASON_WRITE, 2000, &v[3]);
	assert_int_equal(bk_store_enforce(f->s, &pol, 5000, 0, &evicted,
					  &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(freed, 60);
	assert_false(object_exists(f, v[1].object));
	assert_false(object_exists(f, v[3].object));
	assert_true(object_exists(f, v[0].object));
	assert_true(object_exists(f, v[2].object));
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.bytes, 40);
	assert_int_equal(u.oldest_ns, 3000);
}

static void test_enforce_reserve(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_store_bytes = 100 };
	uint64_t evicted, freed;
	struct bk_usage u;

	for (int i = 0; i < 5; i++)
		keep_at(f->s, "/r", 20, BK_REASON_WRITE, 1000 + i, NULL);
	/* 100 <= 100: nothing. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 0, 0, &evicted, &freed),
			 0);
	assert_int_equal(evicted, 0);
	/* Room for 45 more: down to at most 55. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 0, 45, &evicted, &freed),
			 0);
	assert_int_equal(evicted, 3);
	assert_int_equal(freed, 60);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.bytes, 40);
	assert_int_equal(u.oldest_ns, 1003);
	/* A reserve beyond the limit empties the store. */
	assert_int_equal(bk_store_enforce(f->s, &pol, 0, 500, &evicted, &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(count_files(f, "objects"), 0);
}

static void test_trim(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_versions = 2 };
	uint64_t evicted, freed;
	struct seen s = { 0 };

	for (int i = 0; i < 4; i++) {
		keep_at(f->s, "/a", 5, BK_REASON_WRITE, 100 + i, NULL);
		keep_at(f->s, "/b", 5, BK_REASON_WRITE, 100 + i, NULL);
	}
	/* Versions: /a only. */
	assert_int_equal(bk_store_trim(f->s, &pol, "/a", 0, 0, &evicted,
				       &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(freed, 10);
	assert_int_equal(bk_store_list(f->s, "/b", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 4);
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/a", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.version[0], 3);

	/* Age: /b only. */
	pol = (struct bk_policy){ .max_age_ns = 10 };
	assert_int_equal(bk_store_trim(f->s, &pol, "/b", 112, 0, &evicted,
				       &freed),
			 0);
	assert_int_equal(evicted, 2); /* 100, 101 < 102 */
	memset(&s, 0, sizeof(s));
	assert_int_equal(bk_store_list(f->s, "/a", 0, 0, collect, &s), 0);
	assert_int_equal(s.n, 2);

	/* Store size: the whole store, oldest first, whatever path. */
	pol = (struct bk_policy){ .max_store_bytes = 20 };
	assert_int_equal(bk_store_trim(f->s, &pol, "/a", 0, 0, &evicted,
				       &freed),
			 0);
	assert_int_equal(evicted, 0); /* 4 x 5 = 20 */
	assert_int_equal(bk_store_trim(f->s, &pol, "/a", 0, 6, &evicted,
				       &freed),
			 0);
	assert_int_equal(evicted, 2);
	assert_int_equal(freed, 10);
	assert_int_equal(count_files(f, "objects"), 2);
	assert_int_equal(bk_store_trim(f->s, &pol, "b", 0, 0, NULL, NULL),
			 -EINVAL);
}

static void test_usage(void **state)
{
	struct fx *f = *state;
	struct bk_policy pol = { .max_store_bytes = 5000 };
	uint64_t evicted;
	struct bk_usage u;

	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 0);
	assert_int_equal(u.bytes, 0);
	assert_int_equal(u.disk_bytes, 0);
	assert_int_equal(u.paths, 0);
	assert_int_equal(u.oldest_ns, 0);
	assert_int_equal(u.newest_ns, 0);

	keep_at(f->s, "/u1", 5000, BK_REASON_WRITE, 30, NULL);
	keep_at(f->s, "/u2", 100, BK_REASON_WRITE, 10, NULL);
	keep_at(f->s, "/u1", 0, BK_REASON_WRITE, 20, NULL);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 3);
	assert_int_equal(u.bytes, 5100);
	assert_true(u.disk_bytes >= 4096);
	assert_int_equal(u.paths, 2);
	assert_int_equal(u.oldest_ns, 10);
	assert_int_equal(u.newest_ns, 30);

	/* The running total survives reopening: a size limit acts on it. */
	reopen(f, NULL);
	assert_int_equal(bk_store_trim(f->s, &pol, "/u2", 0, 0, &evicted, NULL),
			 0);
	assert_int_equal(evicted, 1); /* the oldest: /u2, 100 bytes */
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.bytes, 5000);
	assert_int_equal(u.paths, 1);
}

static char *dup_s(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void test_policy_wants(void **state)
{
	struct bk_policy p = { 0 };

	(void)state;
	/* No patterns: everything. */
	assert_true(bk_policy_wants(&p, "/a/b.txt"));
	assert_true(bk_policy_wants(NULL, "/a"));

	p.include = calloc(2, sizeof(char *));
	p.exclude = calloc(2, sizeof(char *));
	assert_non_null(p.include);
	assert_non_null(p.exclude);
	p.include[0] = dup_s("*.txt"); /* last component */
	p.include[1] = dup_s("/docs/*"); /* whole path, '*' crosses '/' */
	p.n_include = 2;
	p.exclude[0] = dup_s("secret*");
	p.exclude[1] = dup_s("/docs/tmp/*");
	p.n_exclude = 2;

	assert_true(bk_policy_wants(&p, "/a/b/c.txt"));
	assert_true(bk_policy_wants(&p, "/c.txt"));
	assert_true(bk_policy_wants(&p, "/docs/x/y.bin"));
	assert_true(bk_policy_wants(&p, "/docs/.hidden"));
	assert_false(bk_policy_wants(&p, "/a/c.txt.bak"));
	assert_false(bk_policy_wants(&p, "/txt"));
	/* A '/'-less pattern does not match across components. */
	assert_false(bk_policy_wants(&p, "/x.txt/y"));
	/* A pattern with '/' is anchored at the root. */
	assert_false(bk_policy_wants(&p, "/home/docs/a"));
	/* Excludes win. */
	assert_false(bk_policy_wants(&p, "/a/secret.txt"));
	assert_true(bk_policy_wants(&p, "/secretdir/a.txt"));
	assert_false(bk_policy_wants(&p, "/docs/tmp/a/b"));
	assert_true(bk_policy_wants(&p, "/docs/tmpx"));

	/* Exclude only. */
	p.n_include = 0;
	assert_true(bk_policy_wants(&p, "/anything.bin"));
	assert_false(bk_policy_wants(&p, "/x/secret"));
	p.n_include = 2;

	bk_policy_clear(&p);
	assert_null(p.include);
	assert_null(p.exclude);
	assert_int_equal(p.n_include, 0);
	assert_int_equal(p.n_exclude, 0);
	assert_true(bk_policy_wants(&p, "/a/secret"));
	bk_policy_clear(&p); /* twice is harmless */
}

/* A file written straight into the store's directory. */
static void put_file(const struct fx *f, const char *rel)
{
	char path[PATH_MAX + 64], *slash;
	int fd;

	PATHF(path, "%s/%s", f->dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	write_all(fd, "junk", 4);
	close(fd);
}

/* Once the pool has filled, a version's file is unnamed: nothing in tmp/
 * while it is written, linked into objects/ at commit, nothing left by an
 * abort. */
static void test_pool_unnamed(void **state)
{
	struct fx *f = *state;
	struct bk_pending p, q;
	struct bk_version v, got;
	char buf[8];
	int fd;

	keep(f->s, "/warm", 2); /* starts the pool */
	for (int i = 0; i < 100 && count_files(f, "tmp") == 0; i++) {
		struct timespec ts = { 0, 10000000 };

		assert_int_equal(bk_store_begin(f->s, &q), 0);
		if (!q.tmp[0]) {
			bk_store_abort(f->s, &q);
			break;
		}
		bk_store_abort(f->s, &q);
		nanosleep(&ts, NULL);
	}
	{
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
	}
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	assert_string_equal(p.tmp, "");
	assert_int_equal(count_files(f, "tmp"), 0);
	write_all(p.fd, "pooled", 6);
	memset(&v, 0, sizeof(v));
	snprintf(v.path, sizeof(v.path), "/pooled");
	v.reason = BK_REASON_WRITE;
	assert_int_equal(bk_store_commit(f->s, &p, &v), 0);
	assert_int_equal(bk_store_open_version(f->s, v.id, &fd, &got), 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "pooled", 6);
	close(fd);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(bk_store_begin(f->s, &q), 0);
	write_all(q.fd, "dropped", 7);
	bk_store_abort(f->s, &q);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), 2);
}

static void test_recover_tmp(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	struct bk_usage u;
	unsigned recovered = 0;

	keep(f->s, "/kept", 3);
	/* A crash while writing content: an unnamed file from the pool
	 * vanishes with the process; a named one (made when the pool was
	 * empty, or where there is no O_TMPFILE) stays in tmp/. */
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	write_all(p.fd, "partial", 7);
	close(p.fd);
	if (!p.tmp[0]) {
		char path[PATH_MAX + 64];
		int fd;

		assert_int_equal(count_files(f, "tmp"), 0);
		PATHF(path, "%s/tmp/0123456789abcdef0123456789abcdef", f->dir);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		write_all(fd, "partial", 7);
		close(fd);
	}
	assert_int_equal(count_files(f, "tmp"), 1);
	reopen(f, &recovered);
	assert_int_equal(recovered, 1);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), 1);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 1);
	reopen(f, &recovered);
	assert_int_equal(recovered, 0);
}

static void test_recover_orphan_object(void **state)
{
	struct fx *f = *state;
	struct bk_version v;
	unsigned recovered = 0;

	keep_at(f->s, "/kept", 3, BK_REASON_WRITE, 0, &v);
	/* Crashes between rename and insert; and junk of any name. */
	put_file(f, "objects/ab/cdef0123456789abcdef0123456789");
	put_file(f, "objects/0f/junk");
	put_file(f, "objects/not-hex-dir/x"); /* not ours: left alone */
	reopen(f, &recovered);
	assert_int_equal(recovered, 2);
	assert_int_equal(count_files(f, "objects"), 2);
	assert_true(object_exists(f, v.object));
	assert_true(object_exists(f, "not-hex-dir/x"));
	assert_false(object_exists(f, "ab/cdef0123456789abcdef0123456789"));
}

static void test_recover_missing_object(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	struct bk_version a, b, got;
	struct bk_usage u;
	unsigned recovered = 0;
	int fd;

	keep_at(f->s, "/m", 11, BK_REASON_WRITE, 0, &a);
	keep_at(f->s, "/m", 22, BK_REASON_WRITE, 0, &b);
	PATHF(path, "%s/objects/%s", f->dir, a.object);
	assert_int_equal(unlink(path), 0);
	/* Until reopened the row is there, and its content is an error. */
	assert_int_equal(bk_store_open_version(f->s, a.id, &fd, NULL), -EIO);
	reopen(f, &recovered);
	assert_int_equal(recovered, 1);
	assert_int_equal(bk_store_get(f->s, a.id, &got), -ENOENT);
	assert_int_equal(bk_store_get(f->s, b.id, &got), 0);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 1);
	assert_int_equal(u.bytes, 22);
}

static void test_recover_all(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	struct bk_version a;
	unsigned recovered = 0;

	keep_at(f->s, "/m", 11, BK_REASON_WRITE, 0, &a);
	keep(f->s, "/m", 1);
	PATHF(path, "%s/objects/%s", f->dir, a.object);
	assert_int_equal(unlink(path), 0);
	put_file(f, "tmp/0123456789abcdef0123456789abcdef");
	put_file(f, "tmp/other");
	put_file(f, "objects/99/9999999999999999999999999999");
	reopen(f, &recovered);
	assert_int_equal(recovered, 4);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), 1);
}

/* ------------------------------------------------------------------ */

#define THREADS 8
#define PER_THREAD 25
#define PATHS 4

struct worker {
	struct bk_store *s;
	int index;
	int64_t id[PER_THREAD];
	int64_t version[PER_THREAD];
	int err;
};

static void *commit_main(void *arg)
{
	struct worker *w = arg;
	struct bk_pending p;
	struct bk_version v;
	char path[16];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(path, sizeof(path), "/p%d", (w->index + i) % PATHS);
		memset(&v, 0, sizeof(v));
		snprintf(v.path, sizeof(v.path), "%s", path);
		v.reason = BK_REASON_WRITE;
		w->err = bk_store_begin(w->s, &p);
		if (w->err)
			break;
		if (write(p.fd, path, 3) != 3) {
			w->err = -EIO;
			bk_store_abort(w->s, &p);
			break;
		}
		w->err = bk_store_commit(w->s, &p, &v);
		if (w->err)
			break;
		w->id[i] = v.id;
		w->version[i] = v.version;
	}
	return NULL;
}

static volatile int readers_stop;

static int count_cb(const struct bk_version *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static void *reader_main(void *arg)
{
	struct bk_store *s = arg;
	struct bk_usage u;
	int n = 0;

	while (!__atomic_load_n(&readers_stop, __ATOMIC_ACQUIRE)) {
		bk_store_usage(s, &u);
		bk_store_list(s, "/p1", 0, 0, count_cb, &n);
		bk_store_list_deleted(s, "/", 0, 0, count_cb, &n);
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_concurrent_commits(void **state)
{
	struct fx *f = *state;
	struct worker *w = calloc(THREADS, sizeof(*w));
	int64_t all[THREADS * PER_THREAD];
	pthread_t t[THREADS], reader;
	struct bk_usage u;
	int total = 0;

	assert_non_null(w);
	readers_stop = 0;
	assert_int_equal(pthread_create(&reader, NULL, reader_main, f->s), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i].s = f->s;
		w[i].index = i;
		assert_int_equal(
			pthread_create(&t[i], NULL, commit_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&readers_stop, 1, __ATOMIC_RELEASE);
	pthread_join(reader, NULL);

	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].err, 0);
		for (int j = 0; j < PER_THREAD; j++)
			all[i * PER_THREAD + j] = w[i].id[j];
	}
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_i64);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		assert_true(all[i] > all[i - 1]);

	/* Per path: versions 1..N in id order, as the committers were told. */
	for (int k = 0; k < PATHS; k++) {
		struct seen *s = calloc(1, sizeof(*s));
		char path[16];

		assert_non_null(s);
		snprintf(path, sizeof(path), "/p%d", k);
		assert_int_equal(bk_store_list(f->s, path, 0, 0, collect, s),
				 0);
		for (int i = 0; i < s->n; i++) {
			assert_int_equal(s->version[i], i + 1);
			for (int a = 0; a < THREADS; a++)
				for (int b = 0; b < PER_THREAD; b++)
					if (w[a].id[b] == s->id[i])
						assert_int_equal(w[a].version[b],
								 i + 1);
		}
		total += s->n;
		free(s);
	}
	assert_int_equal(total, THREADS * PER_THREAD);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, THREADS * PER_THREAD);
	assert_int_equal(u.bytes, 3 * THREADS * PER_THREAD);
	assert_int_equal(count_files(f, "objects"), THREADS * PER_THREAD);
	assert_int_equal(count_files(f, "tmp"), 0);
	free(w);
}

/* ------------------------------------------------------------------ */

static void test_corrupt_catalog(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], buf[8192], back[16];
	static char dummy;
	struct bk_store *s = (struct bk_store *)&dummy; /* must be reset */
	unsigned recovered = 99;
	struct bk_version v;
	int fd;

	keep_at(f->s, "/precious", 9, BK_REASON_WRITE, 0, &v);
	bk_store_close(f->s);
	f->s = NULL;

	PATHF(path, "%s/catalog.db", f->dir);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(0xa5 ^ (i * 31));
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	write_all(fd, buf, sizeof(buf));
	close(fd);
	strcat(path, "-wal");
	unlink(path);
	put_file(f, "tmp/leftover");

	assert_int_equal(bk_store_open(f->dir, &s, &recovered), -EIO);
	assert_null(s);
	assert_int_equal(recovered, 0);
	/* Nothing deleted, the catalog left as it was for inspection. */
	assert_true(object_exists(f, v.object));
	assert_int_equal(count_files(f, "objects"), 1);
	assert_int_equal(count_files(f, "tmp"), 1);
	PATHF(path, "%s/catalog.db", f->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, sizeof(back)), sizeof(back));
	assert_memory_equal(back, buf, sizeof(back));
	close(fd);

	/* And the failed open let go of the store. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
}

/* A valid header over damaged pages: caught before recovery runs. */
static void test_damaged_catalog(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32], name[1100], junk[4096];
	struct bk_store *s = NULL;
	struct stat st;
	int fd;

	memset(name, 'n', sizeof(name) - 1);
	name[0] = '/';
	name[sizeof(name) - 1] = '\0';
	for (int i = 0; i < 30; i++) {
		name[1 + i % 26] = (char)('a' + i);
		keep(f->s, name, 1);
	}
	bk_store_close(f->s);
	f->s = NULL;

	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size >= 6 * 4096);
	memset(junk, 0x5a, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	for (off_t off = 2 * 4096; off + 4096 < st.st_size; off += 2 * 4096)
		assert_int_equal(pwrite(fd, junk, sizeof(junk), off),
				 sizeof(junk));
	close(fd);

	assert_int_equal(bk_store_open(f->dir, &s, NULL), -EIO);
	assert_null(s);
	assert_int_equal(count_files(f, "objects"), 30);
}

static void test_newer_catalog(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	struct bk_store *s = NULL;
	sqlite3 *db;

	keep(f->s, "/n", 1);
	bk_store_close(f->s);
	f->s = NULL;
	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(bk_store_open(f->dir, &s, NULL), -EPROTO);
	assert_null(s);
	assert_int_equal(count_files(f, "objects"), 1);
}

/* ------------------------------------------------------------------ */
/*
 * Durability FLUSH and PROCESS: bk_store_commit captures (content in its
 * place in objects/, a record in journal.0 or journal.1) and the committer
 * thread inserts the rows; bk_store_open completes what a crash left.
 */

#define CONTENT_MAX 400

/* The content of the i-th version a test keeps: distinct for every i (i
 * itself in its first bytes), of a length that varies with i; empty for
 * i == 7. */
static size_t content_of(int i, unsigned char buf[CONTENT_MAX])
{
	size_t len = i == 7 ? 0 : 16 + (size_t)(i * 37 % 300);

	for (size_t j = 0; j < len; j++)
		buf[j] = (unsigned char)(i * 131 + j * 7 + j / 251);
	if (len)
		memcpy(buf, &i, sizeof(i));
	return len;
}

/* The k-th of a test's paths: "/f<k>", or with len > 0 one of exactly len
 * bytes, "/<k>/xxx...". */
static void path_of(char *buf, size_t cap, int k, size_t len)
{
	int n = snprintf(buf, cap, len ? "/%d/" : "/f%d", k);

	if (len && (size_t)n < len && len < cap) {
		memset(buf + n, 'x', len - (size_t)n);
		buf[len] = '\0';
	}
}

/*
 * Keeps the i-th version (content_of(i), file_id 1000 + i) of path; *placed
 * (may be NULL) gets p.placed after bk_store_begin.  No assertion: a forked
 * child calls it too.  0 or -errno.
 */
static int put_version(struct bk_store *s, const char *path, int i,
		       struct bk_version *v, bool *placed)
{
	unsigned char buf[CONTENT_MAX];
	size_t len = content_of(i, buf);
	struct bk_pending p;
	int err;

	fill(v, path, BK_REASON_WRITE, 0);
	v->file_id = 1000 + (uint64_t)i;
	err = bk_store_begin(s, &p);
	if (err)
		return err;
	if (placed)
		*placed = p.placed;
	if (len && write(p.fd, buf, len) != (ssize_t)len) {
		bk_store_abort(s, &p);
		return -EIO;
	}
	return bk_store_commit(s, &p, v);
}

/* What a listing saw, without a limit. */
struct row {
	int64_t id, version;
	uint64_t size, file_id;
	char object[BK_OBJECT_MAX];
};

struct rows {
	size_t n, cap;
	struct row *r;
};

static int collect_row(const struct bk_version *v, void *arg)
{
	struct rows *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->r = realloc(l->r, l->cap * sizeof(*l->r));
		assert_non_null(l->r);
	}
	l->r[l->n].id = v->id;
	l->r[l->n].version = v->version;
	l->r[l->n].size = v->size;
	l->r[l->n].file_id = v->file_id;
	memcpy(l->r[l->n].object, v->object, sizeof(v->object));
	l->n++;
	return 0;
}

/* Version id has exactly the content of the i-th version. */
static void check_content(struct bk_store *s, int64_t id, int i)
{
	unsigned char want[CONTENT_MAX], got[CONTENT_MAX + 1];
	size_t len = content_of(i, want), n = 0;
	ssize_t r;
	int fd;

	assert_int_equal(bk_store_open_version(s, id, &fd, NULL), 0);
	while ((r = read(fd, got + n, sizeof(got) - n)) > 0)
		n += (size_t)r;
	close(fd);
	assert_int_equal(n, len);
	if (len)
		assert_memory_equal(got, want, len);
}

/*
 * The store holds versions 0..n-1 of put_version, path i % npaths each,
 * except those in lost (may be NULL), and nothing else: per path numbered
 * 1, 2, ... in the order they were kept, each with its size and content;
 * usage and bk_store_bytes count exactly them.  ids (may be NULL) gets each
 * kept version's id.
 */
static void check_versions(struct bk_store *s, int n, int npaths,
			   size_t path_len, const bool *lost, int64_t *ids)
{
	char path[BK_PATH_MAX];
	struct bk_usage u;
	uint64_t bytes = 0;
	int kept = 0, paths = 0;

	for (int k = 0; k < npaths; k++) {
		struct rows r = { 0 };
		size_t j = 0;

		path_of(path, sizeof(path), k, path_len);
		assert_int_equal(bk_store_list(s, path, 0, 0, collect_row, &r),
				 0);
		for (int i = k; i < n; i += npaths) {
			unsigned char buf[CONTENT_MAX];
			size_t len = content_of(i, buf);

			if (lost && lost[i])
				continue;
			assert_true(j < r.n);
			assert_int_equal(r.r[j].file_id, 1000 + i);
			assert_int_equal(r.r[j].version, j + 1);
			assert_int_equal(r.r[j].size, len);
			check_content(s, r.r[j].id, i);
			if (ids)
				ids[i] = r.r[j].id;
			bytes += len;
			kept++;
			j++;
		}
		assert_int_equal(r.n, j);
		paths += j > 0;
		free(r.r);
	}
	assert_int_equal(bk_store_usage(s, &u), 0);
	assert_int_equal(u.versions, kept);
	assert_int_equal(u.bytes, bytes);
	assert_int_equal(u.paths, paths);
	assert_int_equal(bk_store_bytes(s), bytes);
}

/* An empty store in f->dir again (POWER, as bk_store_open makes it). */
static void fresh(struct fx *f)
{
	unsigned recovered = 99;

	bk_store_close(f->s);
	f->s = NULL;
	tmptree_remove(f->dir);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
}

/* The catalog as another program sees it, read-only. */
static sqlite3 *catalog_db(const struct fx *f)
{
	char path[PATH_MAX + 32];
	sqlite3 *db = NULL;

	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	return db;
}

/* The first column of sql's first row, an integer. */
static int64_t catalog_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = catalog_db(f);
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int64_t catalog_rows(const struct fx *f)
{
	return catalog_int(f, "SELECT count(*) FROM versions");
}

static sqlite3_stmt *match_st;
static size_t match_skip; /* strlen("<dir>/objects/") */
static int match_n;

/* nftw: the file is the object of a row that gives its size. */
static int match_entry(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	int ok;

	(void)ftw;
	if (flag != FTW_F)
		return 0;
	match_n++;
	sqlite3_reset(match_st);
	sqlite3_bind_text(match_st, 1, path + match_skip, -1, SQLITE_STATIC);
	ok = sqlite3_step(match_st) == SQLITE_ROW &&
	     sqlite3_column_int64(match_st, 0) == (int64_t)st->st_size;
	if (!ok)
		print_error("object without its row: %s\n", path);
	return ok ? 0 : 1;
}

/* Every file in objects/ is the object of a row, with the size the row
 * gives, and there are as many files as rows (the store closed, or opened
 * and no version begun since: its pool makes files in objects/). */
static void check_no_orphans(const struct fx *f)
{
	char path[PATH_MAX + 32];
	sqlite3 *db = catalog_db(f);

	PATHF(path, "%s/objects/", f->dir);
	match_skip = strlen(path);
	match_n = 0;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT size FROM versions"
					    " WHERE object = ?1",
					    -1, &match_st, NULL),
			 SQLITE_OK);
	assert_int_equal(nftw(path, match_entry, 16, FTW_PHYS), 0);
	sqlite3_finalize(match_st);
	match_st = NULL;
	sqlite3_close(db);
	assert_int_equal(match_n, catalog_rows(f));
}

/* The journal files hold struct bkj_rec records (store_int.h), each
 * followed by path_len bytes of path. */
static void journal_path(const struct fx *f, int i, char *buf, size_t cap)
{
	assert_true((size_t)snprintf(buf, cap, "%s/journal.%d", f->dir, i) <
		    cap);
}

static off_t journal_size(const struct fx *f, int i)
{
	char path[PATH_MAX + 32];
	struct stat st;

	journal_path(f, i, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/*
 * The records of journal.<i>, which must hold nothing but whole records:
 * up to max headers into rec (with their offsets in off); the count.
 */
static int journal_read(const struct fx *f, int i, struct bkj_rec *rec,
			off_t *off, int max)
{
	char path[PATH_MAX + 32];
	off_t size = journal_size(f, i), at = 0;
	int fd, n = 0;

	journal_path(f, i, path, sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	while (at < size) {
		assert_true(n < max);
		assert_int_equal(pread(fd, &rec[n], sizeof(rec[n]), at),
				 sizeof(rec[n]));
		assert_int_equal(rec[n].magic, BKJ_MAGIC);
		assert_int_equal(rec[n].len, sizeof(rec[n]) + rec[n].path_len);
		off[n] = at;
		at += rec[n].len;
		n++;
	}
	assert_int_equal(at, size);
	close(fd);
	return n;
}

static void check_journals_empty(const struct fx *f)
{
	assert_int_equal(journal_size(f, 0), 0);
	assert_int_equal(journal_size(f, 1), 0);
}

/* FLUSH and PROCESS, the two durabilities that defer the commit. */
static const enum bk_durability deferred[] = { BK_DURABLE_PROCESS,
					       BK_DURABLE_FLUSH };
#define N_DEFERRED (sizeof(deferred) / sizeof(deferred[0]))

/*
 * FLUSH and PROCESS: bk_store_commit only captures the version (its file
 * made in place in objects/, v.id and v.version 0, v.object and v.size
 * set), and every reader sees it at once: listed, numbered in commit order,
 * its content, usage and bk_store_bytes.  Closing commits and empties the
 * journal: reopened, there is nothing to complete or recover.
 */
static void test_deferred_visible(void **state)
{
	struct fx *f = *state;
	char path[BK_PATH_MAX], objects[20][BK_OBJECT_MAX];
	struct bk_version v, got;
	int64_t ids[20];
	unsigned recovered = 99;
	bool placed;

	for (size_t m = 0; m < N_DEFERRED; m++) {
		fresh(f);
		bk_store_set_durability(f->s, deferred[m]);
		for (int i = 0; i < 20; i++) {
			unsigned char buf[CONTENT_MAX];

			path_of(path, sizeof(path), i % 3, 0);
			placed = false;
			assert_int_equal(
				put_version(f->s, path, i, &v, &placed), 0);
			assert_true(placed);
			assert_int_equal(v.id, 0);
			assert_int_equal(v.version, 0);
			assert_int_equal(v.size, content_of(i, buf));
			assert_int_equal(strlen(v.object), 33);
			assert_int_equal(v.object[2], '/');
			assert_true(object_exists(f, v.object));
			memcpy(objects[i], v.object, sizeof(v.object));
		}
		check_versions(f->s, 20, 3, 0, NULL, ids);
		/* Each row names the file the capture made. */
		for (int i = 0; i < 20; i++) {
			assert_int_equal(bk_store_get(f->s, ids[i], &got), 0);
			assert_string_equal(got.object, objects[i]);
			assert_int_equal(got.file_id, 1000 + i);
		}
		/* PROCESS never syncs; FLUSH may have synced already (its
		 * committer syncs what it committed), and has nothing more to
		 * sync the second time. */
		if (deferred[m] == BK_DURABLE_PROCESS) {
			assert_int_equal(bk_store_flush(f->s), 0);
		} else {
			int r = bk_store_flush(f->s);

			assert_true(r == 0 || r == 1);
			assert_int_equal(bk_store_flush(f->s), 0);
		}
		bk_store_close(f->s);
		f->s = NULL;
		check_journals_empty(f);
		check_no_orphans(f);
		assert_int_equal(count_files(f, "objects"), 20);
		assert_int_equal(count_files(f, "tmp"), 0);
		assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
		assert_int_equal(recovered, 0);
		assert_int_equal(bk_store_completed(f->s), 0);
		check_versions(f->s, 20, 3, 0, NULL, NULL);
	}
}

#define HOOK_N 30

/* What the commit hook saw, in the order of its calls.  Static: the
 * committer may still call the hook after a failed test has left its
 * frame. */
static struct hook_log {
	pthread_mutex_t lock;
	pthread_t caller; /* the thread that commits */
	int calls, errs, on_caller, bad_id;
	int64_t id[HOOK_N], version[HOOK_N];
	uint64_t file_id[HOOK_N];
	const struct bk_policy *trim; /* not NULL: the hook trims the path */
} hook_log = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* No cmocka assertion here: it may run on the committer's thread. */
static void log_hook(struct bk_store *s, const struct bk_version *v, int err,
		     void *arg)
{
	struct hook_log *h = arg;
	const struct bk_policy *trim;

	pthread_mutex_lock(&h->lock);
	if (h->calls < HOOK_N) {
		h->id[h->calls] = v->id;
		h->version[h->calls] = v->version;
		h->file_id[h->calls] = v->file_id;
	}
	h->calls++;
	h->errs += err != 0;
	h->bad_id += v->id <= 0;
	h->on_caller += pthread_equal(pthread_self(), h->caller) != 0;
	trim = h->trim;
	pthread_mutex_unlock(&h->lock);
	if (trim && !err)
		bk_store_trim(s, trim, v->path, 0, 0, NULL, NULL);
}

/* Starts a log for f's store, with durability d; trim as in hook_log. */
static void hook_start(struct fx *f, enum bk_durability d,
		       const struct bk_policy *trim)
{
	fresh(f);
	pthread_mutex_lock(&hook_log.lock);
	hook_log.caller = pthread_self();
	hook_log.calls = hook_log.errs = 0;
	hook_log.on_caller = hook_log.bad_id = 0;
	hook_log.trim = trim;
	pthread_mutex_unlock(&hook_log.lock);
	bk_store_set_durability(f->s, d);
	bk_store_set_commit_hook(f->s, log_hook, &hook_log);
}

/* A copy of the log, to check without its lock. */
static void hook_seen(struct hook_log *out)
{
	pthread_mutex_lock(&hook_log.lock);
	*out = hook_log;
	pthread_mutex_unlock(&hook_log.lock);
}

/*
 * The commit hook: once per version, after its row is in (err 0, v->id and
 * v->version the row's), in commit order; with POWER in the caller's
 * thread before bk_store_commit returns, with FLUSH and PROCESS in another
 * thread, and done when a reader returns.  It may trim: with max_versions
 * 2 every path keeps its newest two, nothing else stays.
 */
static void test_commit_hook(void **state)
{
	static const enum bk_durability modes[] = {
		BK_DURABLE_POWER, BK_DURABLE_PROCESS, BK_DURABLE_FLUSH
	};
	struct bk_policy two = { .max_versions = 2 };
	struct fx *f = *state;
	char path[BK_PATH_MAX];
	struct bk_version v, got;
	struct hook_log h;
	struct bk_usage u;

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		bool power = modes[m] == BK_DURABLE_POWER;

		hook_start(f, modes[m], NULL);
		for (int i = 0; i < HOOK_N; i++) {
			path_of(path, sizeof(path), i % 3, 0);
			assert_int_equal(put_version(f->s, path, i, &v, NULL),
					 0);
			if (!power) {
				assert_int_equal(v.id, 0);
				continue;
			}
			/* Called before the commit returned, with the id
			 * and version it returned. */
			hook_seen(&h);
			assert_int_equal(h.calls, i + 1);
			assert_int_equal(h.id[i], v.id);
			assert_int_equal(h.version[i], v.version);
		}
		/* A reader waits for the committer, hooks included. */
		assert_int_equal(bk_store_usage(f->s, &u), 0);
		assert_int_equal(u.versions, HOOK_N);
		hook_seen(&h);
		assert_int_equal(h.calls, HOOK_N);
		assert_int_equal(h.errs, 0);
		assert_int_equal(h.bad_id, 0);
		assert_int_equal(h.on_caller, power ? HOOK_N : 0);
		for (int i = 0; i < HOOK_N; i++) {
			assert_int_equal(h.file_id[i], 1000 + i);
			assert_int_equal(h.version[i], i / 3 + 1);
			if (i)
				assert_true(h.id[i] > h.id[i - 1]);
			assert_int_equal(bk_store_get(f->s, h.id[i], &got), 0);
			assert_int_equal(got.file_id, 1000 + i);
			assert_int_equal(got.version, i / 3 + 1);
		}
		check_versions(f->s, HOOK_N, 3, 0, NULL, NULL);

		/* A hook that trims: the newest two of each path stay. */
		hook_start(f, modes[m], &two);
		for (int i = 0; i < HOOK_N; i++) {
			path_of(path, sizeof(path), i % 3, 0);
			assert_int_equal(put_version(f->s, path, i, &v, NULL),
					 0);
		}
		for (int k = 0; k < 3; k++) {
			struct rows r = { 0 };

			path_of(path, sizeof(path), k, 0);
			assert_int_equal(bk_store_list(f->s, path, 0, 0,
						       collect_row, &r),
					 0);
			assert_int_equal(r.n, 2);
			assert_int_equal(r.r[0].version, HOOK_N / 3 - 1);
			assert_int_equal(r.r[1].version, HOOK_N / 3);
			assert_int_equal(r.r[0].file_id, 1000 + HOOK_N - 6 + k);
			assert_int_equal(r.r[1].file_id, 1000 + HOOK_N - 3 + k);
			check_content(f->s, r.r[1].id, HOOK_N - 3 + k);
			free(r.r);
		}
		hook_seen(&h);
		assert_int_equal(h.calls, HOOK_N);
		assert_int_equal(h.errs, 0);
		assert_int_equal(bk_store_usage(f->s, &u), 0);
		assert_int_equal(u.versions, 6);
		bk_store_close(f->s);
		f->s = NULL;
		assert_int_equal(count_files(f, "objects"), 6);
		check_no_orphans(f);
	}
}

/* How a child keeps versions and dies. */
struct crash {
	enum bk_durability d;
	int n; /* versions kept, path i % npaths */
	int npaths;
	size_t path_len; /* of each path; 0: short ones */
	/* The child write-locks the catalog first: its committer inserts
	 * nothing, the journal keeps every record. */
	bool block;
	/* After these many versions (0 ends) the child reads the store, so
	 * that its committer has committed them when it dies. */
	int settle[3];
};

/* The child: opens the store, keeps c->n versions, and dies at once (no
 * close, no atexit).  Exit status 0, or the step that failed. */
static void __attribute__((noreturn))
crash_child(const char *dir, const struct crash *c)
{
	char *path = malloc(BK_PATH_MAX), db_path[PATH_MAX + 32];
	struct bk_version *v = malloc(sizeof(*v));
	struct bk_store *s = NULL;
	struct bk_usage u;
	sqlite3 *db = NULL;
	int k = 0;

	alarm(30);
	if (!path || !v || bk_store_open(dir, &s, NULL) != 0)
		_exit(2);
	if (c->block) {
		snprintf(db_path, sizeof(db_path), "%s/catalog.db", dir);
		if (sqlite3_open(db_path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
			    SQLITE_OK)
			_exit(3);
	}
	bk_store_set_durability(s, c->d);
	for (int i = 0; i < c->n; i++) {
		path_of(path, BK_PATH_MAX, i % c->npaths, c->path_len);
		if (put_version(s, path, i, v, NULL) != 0)
			_exit(4);
		if (v->id != 0 || v->version != 0)
			_exit(5);
		if (k < 3 && c->settle[k] == i + 1) {
			k++;
			if (bk_store_usage(s, &u) != 0 ||
			    u.versions != (uint64_t)i + 1)
				_exit(6);
		}
	}
	_exit(0);
}

static int crash_run(const char *dir, void *arg)
{
	crash_child(dir, arg);
}

/* Closes f's store and runs crash_child in a child process. */
static void crash(struct fx *f, const struct crash *c)
{
	storefx_in_child(f, crash_run, (void *)c);
}

/*
 * Opens f's store after c's crash and checks what the open did: it
 * completed exactly the recorded versions (not in lost) that had no row
 * yet, so those and the rows committed before the crash are every kept
 * version; removed every file without a row and counted each in
 * *recovered; emptied the journal.  The kept versions are as committed,
 * numbered in capture order.  Reopened, there is nothing more to do.
 */
static void open_after_crash(struct fx *f, const struct crash *c,
			     const bool *lost)
{
	int64_t before = catalog_rows(f);
	int files = count_files(f, "objects") + count_files(f, "tmp");
	unsigned recovered = 99;
	int kept = 0;

	for (int i = 0; i < c->n; i++)
		kept += !(lost && lost[i]);
	if (c->block)
		assert_int_equal(before, 0);
	for (int k = 0; k < 3 && c->settle[k]; k++)
		assert_true(before >= c->settle[k]);
	assert_true(before <= kept);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(bk_store_completed(f->s), kept - before);
	assert_int_equal(recovered, files - kept);
	check_journals_empty(f);
	assert_int_equal(count_files(f, "tmp"), 0);
	assert_int_equal(count_files(f, "objects"), kept);
	check_no_orphans(f);
	check_versions(f->s, c->n, c->npaths, c->path_len, lost, NULL);

	reopen(f, &recovered);
	assert_int_equal(recovered, 0);
	assert_int_equal(bk_store_completed(f->s), 0);
	check_versions(f->s, c->n, c->npaths, c->path_len, lost, NULL);
}

/*
 * The records of both journal files, journal.0's first (up to max, headers
 * into rec, offsets in their file into off); the count.  Each as the
 * child's i-th version: seq i (capture order, across both files), its path
 * and size, naming a file in objects/ of that size.
 */
static int crash_records(const struct fx *f, const struct crash *c,
			 struct bkj_rec *rec, off_t *off, int max)
{
	char path[BK_PATH_MAX], real[PATH_MAX + BK_OBJECT_MAX + 16];
	unsigned char buf[CONTENT_MAX];
	struct stat st;
	int n;

	n = journal_read(f, 0, rec, off, max);
	n += journal_read(f, 1, rec + n, off + n, max - n);
	for (int k = 0; k < n; k++) {
		int i = (int)rec[k].seq;

		assert_true(i >= 0 && i < c->n);
		if (k)
			assert_int_equal(i, rec[k - 1].seq + 1);
		assert_int_equal(rec[k].file_id, 1000 + i);
		assert_int_equal(rec[k].size, content_of(i, buf));
		path_of(path, sizeof(path), i % c->npaths, c->path_len);
		assert_int_equal(rec[k].path_len, strlen(path));
		PATHF(real, "%s/objects/%s", f->dir, rec[k].object);
		assert_int_equal(stat(real, &st), 0);
		assert_int_equal(st.st_size, rec[k].size);
	}
	return n;
}

/*
 * A process killed right after its commits (FLUSH, PROCESS): the next open
 * completes every captured version the committer had not committed, in
 * capture order.  Three ways: the committer free (it may have committed any
 * prefix); held off (the journal holds all 50); made to commit the first
 * 10, then 30 (with FLUSH the journal still records versions that have
 * their rows then, the next sync being a second away: the replay must not
 * insert them again).
 */
static void test_crash_completes(void **state)
{
	struct fx *f = *state;
	struct bkj_rec *rec = calloc(64, sizeof(*rec));
	off_t off[64];
	int n;

	assert_non_null(rec);
	for (int way = 0; way < 3; way++) {
		for (size_t m = 0; m < N_DEFERRED; m++) {
			struct crash c = { deferred[m], 50, 3, 0, way == 1,
					   { 0 } };

			if (way == 2) {
				c.settle[0] = 10;
				c.settle[1] = 30;
			}
			fresh(f);
			crash(f, &c);
			n = crash_records(f, &c, rec, off, 64);
			if (c.block) {
				assert_int_equal(n, 50);
				assert_int_equal(rec[0].seq, 0);
			}
			if (way == 2 && c.d == BK_DURABLE_FLUSH) {
				assert_true(catalog_rows(f) >= 30);
				assert_true(n > 20);
				assert_true(rec[0].seq < 30);
				assert_int_equal(rec[n - 1].seq, 49);
			}
			open_after_crash(f, &c, NULL);
		}
	}
	free(rec);
}

enum damage { TORN, GARBAGE, GARBLED };

/* Damages journal.0, whose records are rec (at off): lost gets the
 * versions that are no longer to be completed. */
static void damage_journal(const struct fx *f, enum damage how,
			   const struct bkj_rec *rec, const off_t *off,
			   bool lost[50])
{
	char jpath[PATH_MAX + 32];
	unsigned char junk[300];
	int fd;

	journal_path(f, 0, jpath, sizeof(jpath));
	switch (how) {
	case TORN:
		/* Cut in the middle of the last record's path. */
		assert_int_equal(truncate(jpath, off[49] + rec[49].len - 2), 0);
		lost[49] = true;
		break;
	case GARBAGE:
		/* A header that does not add up, then bytes of no meaning. */
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)(i * 151 + 3);
		memcpy(junk, &rec[3], sizeof(rec[3]));
		fd = open(jpath, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		write_all(fd, junk, sizeof(junk));
		close(fd);
		break;
	case GARBLED:
		/* One byte of record 40's path ("/f1"): its CRC no longer
		 * matches, and the replay ends there. */
		fd = open(jpath, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "g", 1,
					off[40] + (off_t)sizeof(rec[40]) + 1),
				 1);
		close(fd);
		for (int i = 40; i < 50; i++)
			lost[i] = true;
		break;
	}
}

/*
 * A damaged journal: a record torn at the end (its version is not
 * completed and its file goes), garbage after the records (ignored), a
 * garbled record in the middle (it and every record after it are not
 * completed: the replay ends there, their files go).
 */
static void test_crash_torn_journal(void **state)
{
	struct fx *f = *state;
	struct bkj_rec *rec = calloc(64, sizeof(*rec));
	off_t off[64];

	assert_non_null(rec);
	for (int how = TORN; how <= GARBLED; how++) {
		for (size_t m = 0; m < N_DEFERRED; m++) {
			struct crash c = { deferred[m], 50, 3, 0, true };
			bool lost[50] = { false };

			fresh(f);
			crash(f, &c);
			assert_int_equal(crash_records(f, &c, rec, off, 64),
					 50);
			damage_journal(f, (enum damage)how, rec, off, lost);
			open_after_crash(f, &c, lost);
			for (int i = 0; i < 50; i++)
				assert_int_equal(
					object_exists(f, rec[i].object),
					!lost[i]);
		}
	}
	free(rec);
}

/*
 * A recorded version whose file does not have the recorded size (content
 * lost at a power failure: shorter, or longer) is not completed, and its
 * file goes; one whose file is gone (evicted meanwhile) is not completed
 * either.  The versions after them on the same path take their numbers.
 */
static void test_crash_short_content(void **state)
{
	struct fx *f = *state;
	struct bkj_rec *rec = calloc(64, sizeof(*rec));
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	off_t off[64];

	assert_non_null(rec);
	for (size_t m = 0; m < N_DEFERRED; m++) {
		struct crash c = { deferred[m], 50, 3, 0, true };
		bool lost[50] = { false };
		int fd;

		fresh(f);
		crash(f, &c);
		assert_int_equal(crash_records(f, &c, rec, off, 64), 50);
		assert_true(rec[10].size > 0);
		PATHF(path, "%s/objects/%s", f->dir, rec[10].object);
		assert_int_equal(truncate(path, (off_t)rec[10].size - 1), 0);
		PATHF(path, "%s/objects/%s", f->dir, rec[20].object);
		fd = open(path, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		write_all(fd, "+", 1);
		close(fd);
		PATHF(path, "%s/objects/%s", f->dir, rec[30].object);
		assert_int_equal(unlink(path), 0);
		lost[10] = lost[20] = lost[30] = true;
		open_after_crash(f, &c, lost);
		assert_false(object_exists(f, rec[10].object));
		assert_false(object_exists(f, rec[20].object));
		assert_false(object_exists(f, rec[30].object));
	}
	free(rec);
}

/*
 * More than a journal file holds (1 MiB): appends go on in journal.1, and
 * the open completes the records of both, in capture order across them.
 */
static void test_crash_journal_rotation(void **state)
{
	struct fx *f = *state;
	struct crash c = { BK_DURABLE_PROCESS, 1200, 4, 900, true };
	struct bkj_rec *rec = calloc(1300, sizeof(*rec));
	off_t *off = calloc(1300, sizeof(*off));

	assert_non_null(rec);
	assert_non_null(off);
	fresh(f);
	crash(f, &c);
	assert_true(journal_size(f, 0) >= 1 << 20);
	assert_true(journal_size(f, 1) > 0);
	assert_int_equal(crash_records(f, &c, rec, off, 1300), 1200);
	assert_int_equal(rec[0].seq, 0);
	open_after_crash(f, &c, NULL);
	free(rec);
	free(off);
}

/* A hook that blocks its first call until released (10 s at most, so that
 * a failing test cannot hang the committer).  Static: the committer may
 * still call it after a failed test has left its frame. */
static struct hold {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool in, go;
} hold = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false };

static void hold_hook(struct bk_store *s, const struct bk_version *v, int err,
		      void *arg)
{
	struct hold *h = arg;
	struct timespec due;

	(void)s;
	(void)v;
	(void)err;
	clock_gettime(CLOCK_REALTIME, &due);
	due.tv_sec += 10;
	pthread_mutex_lock(&h->lock);
	h->in = true;
	pthread_cond_broadcast(&h->cond);
	while (!h->go &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &due) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&h->lock);
}

/*
 * bk_store_bytes counts what is captured and not committed: versions
 * captured while the committer is busy (in the hook of the first version)
 * are counted at once, and once committed, still once.  What is seen while
 * the hook waits is checked after it is released.
 */
static void bytes_while_committer_busy(struct fx *f, int first)
{
	struct timespec due;
	struct bk_version v;
	struct bk_usage u;
	unsigned char buf[CONTENT_MAX];
	uint64_t want[5], seen[5] = { 0 }, sum;
	int err[5] = { 0 }, timed_out = 0;

	pthread_mutex_lock(&hold.lock);
	hold.in = hold.go = false;
	pthread_mutex_unlock(&hold.lock);
	bk_store_set_durability(f->s, BK_DURABLE_PROCESS);
	bk_store_set_commit_hook(f->s, hold_hook, &hold);
	err[0] = put_version(f->s, "/f0", first, &v, NULL);
	want[0] = sum = content_of(first, buf);
	/* The committer inserts it and calls the hook, which waits. */
	clock_gettime(CLOCK_REALTIME, &due);
	due.tv_sec += 10;
	pthread_mutex_lock(&hold.lock);
	while (!err[0] && !hold.in && !timed_out)
		timed_out = pthread_cond_timedwait(&hold.cond, &hold.lock,
						   &due) == ETIMEDOUT;
	pthread_mutex_unlock(&hold.lock);
	if (!err[0] && !timed_out) {
		seen[0] = bk_store_bytes(f->s);
		for (int i = 1; i <= 4; i++) {
			err[i] = put_version(f->s, "/f1", i, &v, NULL);
			want[i] = sum += content_of(i, buf);
			seen[i] = bk_store_bytes(f->s);
		}
	}
	pthread_mutex_lock(&hold.lock);
	hold.go = true;
	pthread_cond_broadcast(&hold.cond);
	pthread_mutex_unlock(&hold.lock);
	assert_int_equal(timed_out, 0);
	for (int i = 0; i <= 4; i++) {
		assert_int_equal(err[i], 0);
		assert_int_equal(seen[i], want[i]);
	}
	/* Committed: each counted once. */
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 5);
	assert_int_equal(u.bytes, sum);
	assert_int_equal(bk_store_bytes(f->s), sum);
}

/* The first version empty: how often it is counted while its hook runs
 * does not show (test_deferred_bytes_in_hook). */
static void test_deferred_bytes(void **state)
{
	bytes_while_committer_busy(*state, 7);
}

/*
 * The same with a first version that is not empty: while its hook runs it
 * is counted once (the count of the captured and committed bytes is one
 * counter, moved once per version).
 */
static void test_deferred_bytes_in_hook(void **state)
{
	bytes_while_committer_busy(*state, 0);
}

/*
 * A version evicted (its row deleted) while the journal still recorded it,
 * and a crash before its file was unlinked: the next open must not bring
 * it back.  The journal is written here as the committer would have left
 * it, since when the store really syncs and empties it is not up to a
 * test.  The catalog's committed sequence number says those records were
 * committed once; the orphan file is removed as any other.
 */
static void journal_put(int fd, const struct bk_version *v, uint64_t seq)
{
	unsigned char buf[sizeof(struct bkj_rec) + BK_PATH_MAX];
	size_t plen = strlen(v->path), off = offsetof(struct bkj_rec, path_len);
	struct bkj_rec r;
	struct stat st;

	memset(&r, 0, sizeof(r));
	r.magic = BKJ_MAGIC;
	r.path_len = (uint32_t)plen;
	r.len = (uint32_t)(sizeof(r) + plen);
	r.seq = seq;
	r.size = v->size;
	r.reason = v->reason;
	r.method = v->method;
	memcpy(r.object, v->object, sizeof(r.object));
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), v->path, plen);
	r.crc = (uint32_t)crc32(crc32(0, NULL, 0), buf + off, (uInt)(r.len - off));
	memcpy(buf, &r, sizeof(r));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pwrite(fd, buf, r.len, st.st_size), (ssize_t)r.len);
}

static int64_t committed_seq(const struct fx *f)
{
	return catalog_int(f, "SELECT value FROM meta WHERE key = 'committed_seq'");
}

struct all_rows {
	struct bk_version v[4];
	int n;
};

static int collect_all(const struct bk_version *v, void *arg)
{
	struct all_rows *a = arg;

	assert_true(a->n < 4);
	a->v[a->n++] = *v;
	return 0;
}

static void test_evicted_not_replayed(void **state)
{
	struct fx *f = *state;
	struct all_rows *got = calloc(1, sizeof(*got));
	struct bk_version *v;
	char path[PATH_MAX + 32];
	unsigned recovered = 99;
	int64_t w;
	sqlite3 *db;
	int fd;

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	for (int i = 0; i < 3; i++)
		keep_at(f->s, "/ev", 100 + (size_t)i, BK_REASON_WRITE, 0, NULL);
	assert_non_null(got);
	assert_int_equal(bk_store_list(f->s, "/ev", 0, 0, collect_all, got), 0);
	assert_int_equal(got->n, 3);
	v = got->v;
	bk_store_close(f->s);
	f->s = NULL;
	/* This store's first three records: sequence numbers 0, 1, 2. */
	w = committed_seq(f);
	assert_int_equal(w, 2);
	PATHF(path, "%s/journal.0", f->dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < 3; i++)
		journal_put(fd, &v[i], (uint64_t)i);
	close(fd);
	/* Version 2 evicted: its row deleted, its file not yet unlinked. */
	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(path, sizeof(path), "DELETE FROM versions WHERE id = %lld",
		 (long long)v[1].id);
	assert_int_equal(sqlite3_exec(db, path, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(object_exists(f, v[1].object));

	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(bk_store_completed(f->s), 0);
	assert_int_equal(recovered, 1);
	assert_false(object_exists(f, v[1].object));
	assert_true(object_exists(f, v[0].object));
	assert_true(object_exists(f, v[2].object));
	got->n = 0;
	assert_int_equal(bk_store_list(f->s, "/ev", 0, 0, collect_all, got), 0);
	assert_int_equal(got->n, 2);
	assert_int_equal(got->v[0].version, 1);
	assert_int_equal(got->v[1].version, 3);
	/* The next version numbers after them, across the restart. */
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	keep_at(f->s, "/ev", 7, BK_REASON_WRITE, 0, NULL);
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(committed_seq(f), 3);
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, storefx_teardown)
		T(test_open_layout),
		T(test_commit_versions),
		T(test_commit_failure),
		T(test_abort),
		T(test_list),
		T(test_list_batches),
		T(test_list_reentrant),
		T(test_list_deleted),
		T(test_open_version),
		T(test_delete),
		T(test_enforce_max_versions),
		T(test_enforce_max_age),
		T(test_enforce_store_bytes),
		T(test_enforce_reserve),
		T(test_trim),
		T(test_usage),
		T(test_policy_wants),
		T(test_pool_unnamed),
		T(test_recover_tmp),
		T(test_recover_orphan_object),
		T(test_recover_missing_object),
		T(test_recover_all),
		T(test_concurrent_commits),
		T(test_corrupt_catalog),
		T(test_damaged_catalog),
		T(test_newer_catalog),
		T(test_deferred_visible),
		T(test_commit_hook),
		T(test_crash_completes),
		T(test_crash_torn_journal),
		T(test_crash_short_content),
		T(test_crash_journal_rotation),
		T(test_deferred_bytes),
		T(test_deferred_bytes_in_hook),
		T(test_evicted_not_replayed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
