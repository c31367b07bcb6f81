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
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

/* snprintf into an array, failing the test if it does not fit. */
#define PATHF(buf, ...)                                                  \
	assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) <      \
		    sizeof(buf))

struct fx {
	char root[PATH_MAX]; /* the temporary directory */
	char dir[PATH_MAX + 16]; /* root/store: the store */
	struct bk_store *s;
};

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void **state)
{
	const char *base = getenv("TMPDIR");
	struct fx *f = calloc(1, sizeof(*f));
	unsigned recovered = 99;

	assert_non_null(f);
	PATHF(f->root, "%s/bkstore.XXXXXX",
		 base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(f->root));
	PATHF(f->dir, "%s/store", f->root);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	bk_store_close(f->s);
	rm_rf(f->root);
	free(f);
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
	assert_int_equal(sqlite3_column_int(st, 0), 1);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
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
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
