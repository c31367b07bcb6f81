/*
 * test_backup_link.c - versions that are the file itself (link.c): a file
 * about to be deleted or replaced is linked into the store, committed with
 * every durability, withdrawn when its change did not happen, given its
 * own copy when something could still write it, and given one at open when
 * a stop left it sharing its inode.
 *
 * The "volume" is a directory beside the store, on the same file system
 * (the link needs it); the tests link with linkat(2) as the back end does.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"
#include "storefx.h"

static int setup(void **state)
{
	*state = storefx_new("bklink");
	return 0;
}

static void reopen(struct fx *f, enum bk_durability d)
{
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	bk_store_set_durability(f->s, d);
}

/* Byte i of the content of the file named n. */
static char byte_of(int n, size_t i)
{
	return (char)('a' + (i * 7 + (size_t)n) % 26);
}

/* vol/NAME with len bytes of content n; its path. */
static void put(const struct fx *f, const char *name, int n, size_t len,
		char *path, size_t cap)
{
	char *buf = malloc(len + 1);
	int fd;

	assert_non_null(buf);
	assert_true((size_t)snprintf(path, cap, "%s/%s", f->vol, name) < cap);
	for (size_t i = 0; i < len; i++)
		buf[i] = byte_of(n, i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* Links path into the store as the back end would and commits it; the
 * version (id 0 until committed, with FLUSH and PROCESS). */
static void keep_linked(struct bk_store *s, const char *path, const char *rel,
			uint32_t reason, struct bk_version *v)
{
	struct bk_pending p;
	int dirfd = -1;

	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", rel);
	v->reason = reason;
	assert_int_equal(bk_store_begin_link(s, &p, &dirfd), 0);
	assert_true(p.linked);
	assert_int_equal(p.fd, -1);
	assert_true(dirfd >= 0);
	assert_int_equal(linkat(AT_FDCWD, path, dirfd, p.object, 0), 0);
	assert_int_equal(bk_store_commit(s, &p, v), 0);
	assert_false(p.linked);
	assert_int_equal(v->method, BK_METHOD_LINK);
}

static int collect(const struct bk_version *v, void *arg)
{
	struct bk_version *out = arg;

	*out = *v;
	return 0;
}

static int count_cb(const struct bk_version *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static int versions_of(struct bk_store *s, const char *rel)
{
	int n = 0;

	assert_int_equal(bk_store_list(s, rel, 0, 0, count_cb, &n), 0);
	return n;
}

/* The newest version of rel. */
static void newest(struct bk_store *s, const char *rel, struct bk_version *v)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(bk_store_list(s, rel, 0, 0, collect, v), 0);
	assert_true(v->id > 0);
}

/* Version id holds content n of len bytes. */
static void check_content(struct bk_store *s, int64_t id, int n, size_t len)
{
	char *buf = malloc(len + 2);
	ssize_t got;
	int fd = -1;

	assert_non_null(buf);
	assert_int_equal(bk_store_open_version(s, id, &fd, NULL), 0);
	got = pread(fd, buf, len + 1, 0);
	close(fd);
	assert_int_equal(got, (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != byte_of(n, i))
			fail_msg("byte %zu of version %lld differs", i, (long long)id);
	free(buf);
}

static struct stat object_stat(const struct fx *f, const char *object)
{
	char path[PATH_MAX * 2];
	struct stat st;

	PATHF(path, "%s/objects/%s", f->dir, object);
	assert_int_equal(lstat(path, &st), 0);
	return st;
}

static bool object_exists(const struct fx *f, const char *object)
{
	char path[PATH_MAX * 2];
	struct stat st;

	PATHF(path, "%s/objects/%s", f->dir, object);
	return lstat(path, &st) == 0;
}

static const enum bk_durability durabilities[] = {
	BK_DURABLE_POWER, BK_DURABLE_FLUSH, BK_DURABLE_PROCESS
};

/* A deleted file's version, with each durability: listed as a link, the
 * same inode, restorable, one link once the file is gone, counted. */
static void test_link_commit(void **state)
{
	struct fx *f = *state;
	struct bk_version v, got;
	char path[PATH_MAX * 2], rel[32];
	struct stat before;

	for (int d = 0; d < 3; d++) {
		reopen(f, durabilities[d]);
		snprintf(rel, sizeof(rel), "/gone%d", d);
		put(f, rel + 1, d, 70000 + (size_t)d, path, sizeof(path));
		assert_int_equal(stat(path, &before), 0);
		keep_linked(f->s, path, rel, BK_REASON_DELETE, &v);
		assert_int_equal(v.size, 70000 + (uint64_t)d);
		assert_true(object_stat(f, v.object).st_ino == before.st_ino);
		assert_int_equal(object_stat(f, v.object).st_nlink, 2);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(object_stat(f, v.object).st_nlink, 1);
		newest(f->s, rel, &got);
		assert_int_equal(got.method, BK_METHOD_LINK);
		assert_int_equal(got.reason, BK_REASON_DELETE);
		assert_int_equal(got.size, 70000 + (uint64_t)d);
		assert_string_equal(got.object, v.object);
		check_content(f->s, got.id, d, 70000 + (size_t)d);
	}
	assert_int_equal(bk_store_bytes(f->s), 3 * 70000 + 3);
	/* Kept across a clean reopen as any version. */
	reopen(f, BK_DURABLE_POWER);
	assert_int_equal(bk_store_unshared(f->s), 0);
	for (int d = 0; d < 3; d++) {
		snprintf(rel, sizeof(rel), "/gone%d", d);
		newest(f->s, rel, &got);
		check_content(f->s, got.id, d, 70000 + (size_t)d);
	}
}

/* Pages of path in the page cache; -1 if unknown. */
static long long cached_pages(const char *path)
{
	struct storefx_cache c;

	return storefx_cachestat(path, &c) < 0 ? -1 : (long long)c.cached;
}

/* A linked version's pages leave the page cache once it is committed,
 * with each durability, as a deleted file's would; its content stays. */
static void test_link_drops_cache(void **state)
{
	struct fx *f = *state;
	struct bk_version v, got;
	char path[PATH_MAX * 2], obj[PATH_MAX * 2], rel[32], buf[4096];
	struct statfs sf;
	int fd;

	assert_int_equal(statfs(f->dir, &sf), 0);
	if (sf.f_type == 0x01021994) { /* tmpfs: its pages are the file */
		print_message("skipped: %s is on tmpfs\n", f->dir);
		skip();
	}
	for (int d = 0; d < 3; d++) {
		reopen(f, durabilities[d]);
		snprintf(rel, sizeof(rel), "/cached%d", d);
		put(f, rel + 1, d, 200000, path, sizeof(path));
		/* Clean and cached, as a file written and synced a while ago
		 * and read since. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(fsync(fd), 0);
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		if (cached_pages(path) < 0) {
			print_message("skipped: no cachestat(2)\n");
			skip();
		}
		assert_true(cached_pages(path) >= 40);
		keep_linked(f->s, path, rel, BK_REASON_DELETE, &v);
		assert_int_equal(unlink(path), 0);
		newest(f->s, rel, &got); /* waits for the committer */
		PATHF(obj, "%s/objects/%s", f->dir, got.object);
		assert_int_equal(cached_pages(obj), 0);
		check_content(f->s, got.id, d, 200000);
	}
}

/* Abort after the link removes it; before the link, abort is harmless. */
static void test_link_abort(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	char path[PATH_MAX * 2], object[BK_OBJECT_MAX];
	struct stat st;
	int dirfd;

	put(f, "a", 1, 100, path, sizeof(path));
	assert_int_equal(bk_store_begin_link(f->s, &p, &dirfd), 0);
	assert_int_equal(linkat(AT_FDCWD, path, dirfd, p.object, 0), 0);
	memcpy(object, p.object, sizeof(object));
	bk_store_abort(f->s, &p);
	assert_false(p.linked);
	assert_false(object_exists(f, object));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(bk_store_begin_link(f->s, &p, &dirfd), 0);
	bk_store_abort(f->s, &p);
	assert_int_equal(versions_of(f->s, "/a"), 0);
	assert_int_equal(bk_store_begin_link(NULL, &p, &dirfd), -EINVAL);
	assert_int_equal(bk_store_begin_link(f->s, NULL, &dirfd), -EINVAL);
	assert_int_equal(bk_store_begin_link(f->s, &p, NULL), -EINVAL);
}

/* The change did not happen: withdrawn, row and object, with each
 * durability; the file is untouched and the store's total back. */
static void test_withdraw(void **state)
{
	struct fx *f = *state;
	struct bk_version v;
	char path[PATH_MAX * 2];
	struct stat st;

	for (int d = 0; d < 3; d++) {
		reopen(f, durabilities[d]);
		put(f, "stays", d, 5000, path, sizeof(path));
		keep_linked(f->s, path, "/stays", BK_REASON_REPLACE, &v);
		assert_int_equal(bk_store_bytes(f->s), 5000);
		assert_int_equal(bk_store_withdraw(f->s, v.object), 0);
		assert_int_equal(versions_of(f->s, "/stays"), 0);
		assert_false(object_exists(f, v.object));
		assert_int_equal(bk_store_bytes(f->s), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_nlink, 1);
		assert_int_equal(st.st_size, 5000);
		assert_int_equal(bk_store_withdraw(f->s, v.object), -ENOENT);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(bk_store_withdraw(f->s, "../../etc/passwd"), -EINVAL);
	assert_int_equal(bk_store_withdraw(f->s, NULL), -EINVAL);
	assert_int_equal(bk_store_withdraw(NULL, "00/00"), -EINVAL);
}

/* Something could still write the file: the version gets its own copy of
 * the recorded size, and later writes to the file do not reach it. */
static void test_unshare(void **state)
{
	struct fx *f = *state;
	struct bk_version v, got;
	char path[PATH_MAX * 2];
	struct stat file_st, obj;
	int fd;

	for (int d = 0; d < 3; d++) {
		reopen(f, durabilities[d]);
		put(f, "held", 3, 9000, path, sizeof(path));
		keep_linked(f->s, path, "/held", BK_REASON_DELETE, &v);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(bk_store_unshare(f->s, v.object, v.size), 0);
		obj = object_stat(f, v.object);
		assert_int_equal(fstat(fd, &file_st), 0);
		assert_true(obj.st_ino != file_st.st_ino);
		assert_int_equal(obj.st_nlink, 1);
		assert_int_equal(obj.st_size, 9000);
		assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
		assert_int_equal(ftruncate(fd, 20000), 0);
		close(fd);
		newest(f->s, "/held", &got);
		check_content(f->s, got.id, 3, 9000);
	}
	/* The recorded size wins over what the file has now. */
	put(f, "grew", 4, 300, path, sizeof(path));
	keep_linked(f->s, path, "/grew", BK_REASON_DELETE, &v);
	put(f, "grew", 4, 500, path, sizeof(path));
	assert_int_equal(bk_store_unshare(f->s, v.object, 300), 0);
	newest(f->s, "/grew", &got);
	check_content(f->s, got.id, 4, 300);
	assert_int_equal(bk_store_unshare(f->s, "zz/not-an-object", 1), -EINVAL);
	assert_int_equal(bk_store_unshare(f->s, "00/000000000000000000000000000000", 1),
			 -ENOENT);
}

/* A stop before the change: at open the version still shares the file's
 * inode, and gets its own copy; a version whose file went does not. */
static void test_open_unshares(void **state)
{
	struct fx *f = *state;
	struct bk_version v1, v2, got;
	char p1[PATH_MAX * 2], p2[PATH_MAX * 2];
	struct stat st;

	for (int d = 0; d < 3; d++) {
		reopen(f, durabilities[d]);
		put(f, "kept", 5, 4000, p1, sizeof(p1));
		put(f, "went", 6, 3000, p2, sizeof(p2));
		keep_linked(f->s, p1, "/kept", BK_REASON_DELETE, &v1);
		keep_linked(f->s, p2, "/went", BK_REASON_DELETE, &v2);
		assert_int_equal(unlink(p2), 0);
		reopen(f, durabilities[d]);
		assert_int_equal(bk_store_unshared(f->s), 1);
		assert_int_equal(object_stat(f, v1.object).st_nlink, 1);
		assert_int_equal(stat(p1, &st), 0);
		assert_int_equal(st.st_nlink, 1);
		assert_true(object_stat(f, v1.object).st_ino != st.st_ino);
		put(f, "kept", 9, 10, p1, sizeof(p1)); /* changes the file */
		newest(f->s, "/kept", &got);
		check_content(f->s, got.id, 5, 4000);
		newest(f->s, "/went", &got);
		check_content(f->s, got.id, 6, 3000);
		assert_int_equal(unlink(p1), 0);
		assert_int_equal(bk_store_withdraw(f->s, v1.object), 0);
		assert_int_equal(bk_store_withdraw(f->s, v2.object), 0);
	}
	reopen(f, BK_DURABLE_POWER);
	assert_int_equal(bk_store_unshared(f->s), 0);
}

/* Killed after the capture, before the committer and the change: the
 * journal's replay commits the version and the open gives it its copy. */
/* test_crash_before_change's child: the capture of arg, a file's path. */
static int crash_child(const char *dir, void *arg)
{
	struct bk_store *s;
	struct bk_version v;

	if (bk_store_open(dir, &s, NULL))
		return 2;
	bk_store_set_durability(s, BK_DURABLE_PROCESS);
	keep_linked(s, arg, "/crash", BK_REASON_DELETE, &v);
	return 0; /* no close: the committer never ran */
}

static void test_crash_before_change(void **state)
{
	struct fx *f = *state;
	struct bk_version got;
	char path[PATH_MAX * 2];
	unsigned recovered = 0;

	put(f, "crash", 7, 12345, path, sizeof(path));
	storefx_in_child(f, crash_child, path);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_true(bk_store_completed(f->s) <= 1);
	newest(f->s, "/crash", &got);
	assert_int_equal(got.method, BK_METHOD_LINK);
	assert_int_equal(bk_store_unshared(f->s), 1);
	assert_int_equal(object_stat(f, got.object).st_nlink, 1);
	put(f, "crash", 8, 50, path, sizeof(path));
	check_content(f->s, got.id, 7, 12345);
}

/* An administrator hard-linked the store elsewhere (cp -al): the open
 * gives the linked versions their own copies, loses nothing, and leaves
 * the other versions and the snapshot alone. */
static void test_hardlinked_store(void **state)
{
	struct fx *f = *state;
	struct bk_version v, got, copied;
	char path[PATH_MAX * 2], snap[PATH_MAX * 2], objpath[PATH_MAX * 2];
	struct bk_pending p;
	struct stat st;

	put(f, "del", 10, 2222, path, sizeof(path));
	keep_linked(f->s, path, "/del", BK_REASON_DELETE, &v);
	assert_int_equal(unlink(path), 0);
	memset(&copied, 0, sizeof(copied));
	snprintf(copied.path, sizeof(copied.path), "/copied");
	copied.reason = BK_REASON_WRITE;
	copied.method = BK_METHOD_COPY;
	assert_int_equal(bk_store_begin(f->s, &p), 0);
	assert_int_equal(write(p.fd, "copy", 4), 4);
	assert_int_equal(bk_store_commit(f->s, &p, &copied), 0);
	bk_store_close(f->s);
	f->s = NULL;
	/* The snapshot: every object hard-linked under another name. */
	PATHF(objpath, "%s/objects/%s", f->dir, v.object);
	PATHF(snap, "%s/snap-link", f->root);
	assert_int_equal(link(objpath, snap), 0);
	PATHF(objpath, "%s/objects/%s", f->dir, copied.object);
	PATHF(snap, "%s/snap-copy", f->root);
	assert_int_equal(link(objpath, snap), 0);
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	assert_int_equal(bk_store_unshared(f->s), 1);
	assert_int_equal(object_stat(f, v.object).st_nlink, 1);
	assert_int_equal(object_stat(f, copied.object).st_nlink, 2);
	newest(f->s, "/del", &got);
	check_content(f->s, got.id, 10, 2222);
	PATHF(snap, "%s/snap-link", f->root);
	assert_int_equal(stat(snap, &st), 0);
	assert_int_equal(st.st_size, 2222);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(versions_of(f->s, "/copied"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, storefx_teardown)
		T(test_link_commit),
		T(test_link_drops_cache),
		T(test_link_abort),
		T(test_withdraw),
		T(test_unshare),
		T(test_open_unshares),
		T(test_crash_before_change),
		T(test_hardlinked_store),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
