/*
 * test_backup_dedupe.c - ContentHash (filters/backup/dedupe.c): each copied
 * or cloned version's SHA-256 in its row, and identical content stored once
 * (the versions' objects are one file), with every durability; linked
 * versions neither hashed nor shared; an older version's file gone before
 * it could be shared; deleting one of the versions sharing a file; what
 * usage counts; a catalog of schema 1 migrated; staged copies, hashed from
 * the staging area as the committer writes them.
 *
 * Each test gets a fresh store in its own temporary directory ($TMPDIR or
 * /tmp), removed afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "store_int.h"
#include "storefx.h"

static int setup(void **state)
{
	struct fx *f = storefx_new("bkdedupe");

	bk_store_set_dedupe(f->s, true);
	*state = f;
	return 0;
}

static void sha256(const void *buf, size_t len, uint8_t out[BK_HASH_LEN])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, BK_HASH_LEN);
}

/* Commits a copied version of path with content (seed, len); the version
 * as commit wrote it back. */
static struct bk_version keep(struct bk_store *s, const char *path,
			      unsigned seed, size_t len)
{
	struct bk_version v;
	struct bk_pending p;
	unsigned char *b = storefx_content(seed, len);

	memset(&v, 0, sizeof(v));
	snprintf(v.path, sizeof(v.path), "%s", path);
	v.reason = BK_REASON_WRITE;
	v.method = BK_METHOD_COPY;
	v.hashed = true; /* the caller's say is ignored: the store hashes */
	assert_int_equal(bk_store_begin(s, &p), 0);
	assert_int_equal(pwrite(p.fd, b, len, 0), (ssize_t)len);
	assert_int_equal(bk_store_commit(s, &p, &v), 0);
	free(b);
	return v;
}

static struct stat object_stat(const struct fx *f, const char *object)
{
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	struct stat st;

	PATHF(path, "%s/objects/%s", f->dir, object);
	assert_int_equal(stat(path, &st), 0);
	return st;
}

static bool same_file(const struct fx *f, const char *a, const char *b)
{
	struct stat x = object_stat(f, a), y = object_stat(f, b);

	return x.st_ino == y.st_ino;
}

/* Version id's content is exactly (seed, len). */
static void check_content(struct bk_store *s, int64_t id, unsigned seed,
			  size_t len)
{
	unsigned char *want = storefx_content(seed, len), *got = malloc(len + 1);
	int fd = -1;

	assert_non_null(got);
	assert_int_equal(bk_store_open_version(s, id, &fd, NULL), 0);
	assert_int_equal(pread(fd, got, len + 1, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	close(fd);
	free(want);
	free(got);
}

static void check_hash(const struct bk_version *v, unsigned seed, size_t len)
{
	uint8_t want[BK_HASH_LEN];
	unsigned char *b = storefx_content(seed, len);

	sha256(b, len, want);
	free(b);
	assert_true(v->hashed);
	assert_memory_equal(v->hash, want, BK_HASH_LEN);
}

/* ---- hashing ---------------------------------------------------------------------- */

/* SHA-256 of FIPS 180-2's example "abc", and of the empty content. */
static const uint8_t abc[BK_HASH_LEN] = {
	0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
};
static const uint8_t empty[BK_HASH_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
};

static void test_hash_fd(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	uint8_t h[BK_HASH_LEN], want[BK_HASH_LEN];
	size_t big = 3 * 256 * 1024 + 12345; /* several reads, a partial one */
	unsigned char *b = storefx_content(9, big);
	int fd;

	PATHF(path, "%s/h", f->root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(bks_hash_fd(fd, 3, h), 0);
	assert_memory_equal(h, abc, BK_HASH_LEN);
	assert_int_equal(bks_hash_fd(fd, 0, h), 0);
	assert_memory_equal(h, empty, BK_HASH_LEN);
	/* Shorter than the version says: an error, not a hash. */
	assert_int_equal(bks_hash_fd(fd, 4, h), -EIO);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, b, big, 0), (ssize_t)big);
	assert_int_equal(bks_hash_fd(fd, big, h), 0);
	sha256(b, big, want);
	assert_memory_equal(h, want, BK_HASH_LEN);
	assert_int_equal(bks_hash_fd(-1, 3, h), -EBADF);
	close(fd);
	free(b);
}

static void test_hash_mem(void **state)
{
	size_t big = 3 * 256 * 1024 + 12345;
	unsigned char *b = storefx_content(9, big);
	uint8_t h[BK_HASH_LEN], want[BK_HASH_LEN];

	(void)state;
	assert_int_equal(bks_hash_mem("abc", 3, h), 0);
	assert_memory_equal(h, abc, BK_HASH_LEN);
	assert_int_equal(bks_hash_mem("abc", 0, h), 0);
	assert_memory_equal(h, empty, BK_HASH_LEN);
	assert_int_equal(bks_hash_mem(b, big, h), 0);
	sha256(b, big, want);
	assert_memory_equal(h, want, BK_HASH_LEN);
	free(b);
}

/* ---- sharing, with each durability ------------------------------------------------ */

static void shared_versions(struct fx *f, enum bk_durability d)
{
	struct bk_version a, b, ra, rb, rc, re;
	struct bk_store_stats st;
	size_t len = 100 * 1024;

	bk_store_set_durability(f->s, d);
	a = keep(f->s, "/a", 1, len);
	b = keep(f->s, "/b", 1, len); /* another path, the same content */
	keep(f->s, "/c", 2, len); /* other content */
	keep(f->s, "/e", 1, len - 1); /* a prefix: another size */
	ra = storefx_row_of(f->s, "/a");
	rb = storefx_row_of(f->s, "/b");
	rc = storefx_row_of(f->s, "/c");
	re = storefx_row_of(f->s, "/e");
	assert_string_equal(ra.object, a.object);
	assert_string_equal(rb.object, b.object);
	check_hash(&ra, 1, len);
	check_hash(&rb, 1, len);
	check_hash(&rc, 2, len);
	check_hash(&re, 1, len - 1);
	/* Two versions, one file; each row keeps its own object name. */
	assert_string_not_equal(ra.object, rb.object);
	assert_true(same_file(f, ra.object, rb.object));
	assert_int_equal(object_stat(f, ra.object).st_nlink, 2);
	assert_false(same_file(f, ra.object, rc.object));
	assert_false(same_file(f, ra.object, re.object));
	assert_int_equal(object_stat(f, rc.object).st_nlink, 1);
	check_content(f->s, ra.id, 1, len);
	check_content(f->s, rb.id, 1, len);
	check_content(f->s, rc.id, 2, len);
	check_content(f->s, re.id, 1, len - 1);
	bk_store_stats(f->s, &st);
	assert_int_equal(st.deduped, 1);
	/* A third one shares the same file (once committed). */
	keep(f->s, "/a", 1, len);
	assert_int_equal(storefx_row_of(f->s, "/a").version, 2);
	assert_int_equal(object_stat(f, ra.object).st_nlink, 3);
	bk_store_stats(f->s, &st);
	assert_int_equal(st.deduped, 2);
}

static void test_shared_power(void **state)
{
	shared_versions(*state, BK_DURABLE_POWER);
}

static void test_shared_flush(void **state)
{
	struct fx *f = *state;
	unsigned recovered = 99;
	struct bk_version b;

	shared_versions(f, BK_DURABLE_FLUSH);
	/* Nothing of it is a leftover to the next open's recovery. */
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
	b = storefx_row_of(f->s, "/b");
	check_content(f->s, b.id, 1, 100 * 1024);
	check_hash(&b, 1, 100 * 1024);
}

static void test_shared_process(void **state)
{
	shared_versions(*state, BK_DURABLE_PROCESS);
}

/* Staged copies (FLUSH) are hashed from the staging area, which their
 * files' direct writes leave out of the page cache, and shared alike. */
static void test_shared_staged(void **state)
{
	struct fx *f = *state;
	struct bk_version a, b, c, e;
	size_t len = 100 * 1024;

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, 4u << 20), 0);
	assert_true(bk_store_staging(f->s));
	assert_int_equal(storefx_keep_staged(f->s, "/a", 1, len), 0);
	assert_int_equal(storefx_keep_staged(f->s, "/b", 1, len), 0);
	assert_int_equal(storefx_keep_staged(f->s, "/c", 2, len), 0);
	assert_int_equal(storefx_keep_staged(f->s, "/e", 1, len - 1), 0);
	a = storefx_row_of(f->s, "/a");
	b = storefx_row_of(f->s, "/b");
	c = storefx_row_of(f->s, "/c");
	e = storefx_row_of(f->s, "/e");
	check_hash(&a, 1, len);
	check_hash(&b, 1, len);
	check_hash(&c, 2, len);
	check_hash(&e, 1, len - 1);
	assert_true(same_file(f, a.object, b.object));
	assert_false(same_file(f, a.object, c.object));
	assert_false(same_file(f, a.object, e.object));
	check_content(f->s, a.id, 1, len);
	check_content(f->s, b.id, 1, len);
	check_content(f->s, c.id, 2, len);
	check_content(f->s, e.id, 1, len - 1);
}

/* Identical versions captured together are committed in one batch: they
 * share too, and the batch's rows all commit. */
static void test_one_batch(void **state)
{
	struct fx *f = *state;
	struct bk_version v[6], r;
	size_t len = 8192;

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	for (int i = 0; i < 6; i++)
		v[i] = keep(f->s, "/same", 5, len);
	r = storefx_row_of(f->s, "/same");
	assert_int_equal(r.version, 6);
	assert_int_equal(object_stat(f, r.object).st_nlink, 6);
	for (int i = 0; i < 6; i++)
		assert_true(same_file(f, v[i].object, r.object));
}

/* ---- what is not shared --------------------------------------------------------------- */

static void test_off(void **state)
{
	struct fx *f = *state;
	struct bk_version a, b;

	bk_store_set_dedupe(f->s, false);
	keep(f->s, "/a", 1, 4096);
	keep(f->s, "/a", 1, 4096);
	a = storefx_row_of(f->s, "/a");
	assert_int_equal(a.version, 2);
	assert_false(a.hashed);
	b = a;
	assert_int_equal(bk_store_get(f->s, a.id - 1, &b), 0);
	assert_false(b.hashed);
	assert_false(same_file(f, a.object, b.object));
	assert_int_equal(object_stat(f, a.object).st_nlink, 1);
}

/* A deleted file's version is the file itself: never hashed, never shared
 * (a handle open on it may still write it until it is unshared). */
static void test_linked_not_shared(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 16];
	unsigned char *b = storefx_content(3, 5000);
	struct bk_version v, r, copy;
	struct bk_pending p;
	int dirfd = -1, fd;

	copy = keep(f->s, "/x", 3, 5000);
	PATHF(path, "%s/victim", f->root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, 5000), 5000);
	close(fd);
	memset(&v, 0, sizeof(v));
	snprintf(v.path, sizeof(v.path), "/victim");
	v.reason = BK_REASON_DELETE;
	assert_int_equal(bk_store_begin_link(f->s, &p, &dirfd), 0);
	assert_int_equal(linkat(AT_FDCWD, path, dirfd, p.object, 0), 0);
	assert_int_equal(bk_store_commit(f->s, &p, &v), 0);
	r = storefx_row_of(f->s, "/victim");
	assert_int_equal(r.method, BK_METHOD_LINK);
	assert_false(r.hashed);
	assert_false(same_file(f, r.object, copy.object));
	/* And a later copy of the same content does not share it. */
	keep(f->s, "/y", 3, 5000);
	assert_true(same_file(f, storefx_row_of(f->s, "/y").object, copy.object));
	assert_false(same_file(f, storefx_row_of(f->s, "/y").object, r.object));
	free(b);
}

/* The older version's file is gone (evicted after its row was read, or
 * removed by hand): the new version keeps its own copy, and the next
 * identical one shares that copy. */
static void test_older_gone(void **state)
{
	struct fx *f = *state;
	struct bk_version a, b, c;

	a = keep(f->s, "/a", 4, 3000);
	assert_int_equal(unlinkat(f->s->objfd, a.object, 0), 0);
	b = keep(f->s, "/b", 4, 3000);
	b = storefx_row_of(f->s, "/b");
	check_content(f->s, b.id, 4, 3000);
	assert_int_equal(object_stat(f, b.object).st_nlink, 1);
	c = keep(f->s, "/c", 4, 3000);
	assert_true(same_file(f, b.object, c.object));
}

/* Deleting versions that share a file: the others keep the content; the
 * file goes with the last. */
static void test_delete_shared(void **state)
{
	struct fx *f = *state;
	struct bk_version a, b, c;
	char path[PATH_MAX + BK_OBJECT_MAX + 16];
	struct stat st;

	a = storefx_row_of(f->s, (keep(f->s, "/a", 6, 70000), "/a"));
	b = storefx_row_of(f->s, (keep(f->s, "/b", 6, 70000), "/b"));
	c = storefx_row_of(f->s, (keep(f->s, "/c", 6, 70000), "/c"));
	assert_int_equal(object_stat(f, c.object).st_nlink, 3);
	assert_int_equal(bk_store_delete(f->s, a.id), 0);
	check_content(f->s, b.id, 6, 70000);
	check_content(f->s, c.id, 6, 70000);
	assert_int_equal(object_stat(f, c.object).st_nlink, 2);
	assert_int_equal(bk_store_delete(f->s, c.id), 0);
	check_content(f->s, b.id, 6, 70000);
	assert_int_equal(object_stat(f, b.object).st_nlink, 1);
	assert_int_equal(bk_store_delete(f->s, b.id), 0);
	PATHF(path, "%s/objects/%s", f->dir, b.object);
	assert_int_equal(stat(path, &st), -1);
	/* The next identical content is stored anew. */
	a = storefx_row_of(f->s, (keep(f->s, "/a", 6, 70000), "/a"));
	check_content(f->s, a.id, 6, 70000);
	assert_int_equal(object_stat(f, a.object).st_nlink, 1);
}

/* usage: bytes counts every version, disk_bytes each file once. */
static void test_usage(void **state)
{
	struct fx *f = *state;
	struct bk_usage u;
	size_t len = 1 << 20;
	uint64_t one;

	for (int i = 0; i < 5; i++)
		keep(f->s, "/big", 7, len);
	one = (uint64_t)object_stat(f, storefx_row_of(f->s, "/big").object).st_blocks * 512;
	assert_true(one >= len);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.versions, 5);
	assert_int_equal(u.bytes, 5 * (uint64_t)len);
	assert_int_equal(u.disk_bytes, one);
	keep(f->s, "/other", 8, len);
	assert_int_equal(bk_store_usage(f->s, &u), 0);
	assert_int_equal(u.disk_bytes,
			 one + (uint64_t)object_stat(f, storefx_row_of(f->s, "/other").object)
					       .st_blocks * 512);
}

/* ---- a catalog of schema 1 -------------------------------------------------------------- */

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	struct bk_version old, r;
	sqlite3 *db;
	sqlite3_stmt *st;

	bk_store_set_dedupe(f->s, false);
	old = keep(f->s, "/m", 1, 2048);
	bk_store_close(f->s);
	f->s = NULL;
	/* Back to schema 1, as a store made before ContentHash. */
	PATHF(path, "%s/catalog.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE meta;"
				      "DROP INDEX versions_hash;"
				      "ALTER TABLE versions DROP COLUMN hash;"
				      "PRAGMA user_version = 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	bk_store_set_dedupe(f->s, true);
	assert_int_equal(bk_store_get(f->s, old.id, &r), 0);
	assert_false(r.hashed);
	check_content(f->s, old.id, 1, 2048);
	/* An unhashed version is not shared with, a new one is hashed. */
	keep(f->s, "/m", 1, 2048);
	r = storefx_row_of(f->s, "/m");
	check_hash(&r, 1, 2048);
	assert_false(same_file(f, r.object, old.object));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- versions completed from the journal ------------------------------------------------ */

/*
 * A child keeps identical versions with its committer blocked (another
 * connection holds the catalog's write lock) and dies: the next open
 * completes them from the journal, unhashed; turning dedupe on hashes and
 * shares them.
 */
/* test_replayed's child: four identical versions, none committed. */
static int replay_child(const char *dir, void *arg)
{
	char path[PATH_MAX + 32];
	struct bk_store *s = NULL;
	sqlite3 *db = NULL;

	(void)arg;
	snprintf(path, sizeof(path), "%s/catalog.db", dir);
	if (bk_store_open(dir, &s, NULL) ||
	    sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return 2;
	bk_store_set_durability(s, BK_DURABLE_FLUSH);
	bk_store_set_dedupe(s, true);
	for (int i = 0; i < 4; i++) {
		struct bk_pending p;
		struct bk_version v;
		unsigned char *b = storefx_content(11, 30000);

		memset(&v, 0, sizeof(v));
		snprintf(v.path, sizeof(v.path), "/r%d", i);
		v.reason = BK_REASON_WRITE;
		v.method = BK_METHOD_COPY;
		if (bk_store_begin(s, &p) || pwrite(p.fd, b, 30000, 0) != 30000 ||
		    bk_store_commit(s, &p, &v))
			return 3;
		free(b);
	}
	return 0;
}

static void test_replayed(void **state)
{
	struct fx *f = *state;
	char path[PATH_MAX + 32];
	struct bk_version r, first;
	unsigned recovered = 99;

	storefx_in_child(f, replay_child, NULL);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(bk_store_completed(f->s), 4);
	first = storefx_row_of(f->s, "/r0");
	assert_false(first.hashed);
	for (int i = 1; i < 4; i++) {
		snprintf(path, sizeof(path), "/r%d", i);
		r = storefx_row_of(f->s, path);
		assert_false(r.hashed);
		assert_false(same_file(f, r.object, first.object));
	}
	bk_store_set_dedupe(f->s, true);
	first = storefx_row_of(f->s, "/r0");
	check_hash(&first, 11, 30000);
	for (int i = 1; i < 4; i++) {
		snprintf(path, sizeof(path), "/r%d", i);
		r = storefx_row_of(f->s, path);
		check_hash(&r, 11, 30000);
		assert_true(same_file(f, r.object, first.object));
		check_content(f->s, r.id, 11, 30000);
	}
	assert_int_equal(object_stat(f, first.object).st_nlink, 4);
	/* Nothing left over for the next open. */
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, storefx_teardown)
		T(test_hash_fd),
		T(test_hash_mem),
		T(test_shared_power),
		T(test_shared_flush),
		T(test_shared_process),
		T(test_one_batch),
		T(test_shared_staged),
		T(test_off),
		T(test_linked_not_shared),
		T(test_older_gone),
		T(test_delete_shared),
		T(test_usage),
		T(test_migrate_v1),
		T(test_replayed),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
