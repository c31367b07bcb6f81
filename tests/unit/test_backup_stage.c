/*
 * test_backup_stage.c - staged copies (filters/backup/staging.c): a
 * version's content written to the staging area in shared memory, its
 * file made and written by the committer; byte-exact versions of sizes
 * around the block size, with flush and process; a full area, a version
 * too large for it, room given back by an abort; none with power; a
 * program's sync waits for the staged copies; versions whose process died
 * before the committer wrote them completed from the area at the next
 * open; a staging file of another owner or of no store left alone or
 * removed.
 *
 * Each test gets a fresh store in its own temporary directory ($TMPDIR or
 * /tmp), removed afterwards; staging files are in /dev/shm.
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

#include "storefx.h"

#define AREA (4u << 20)

static int setup(void **state)
{
	*state = storefx_new("bkstage");
	return 0;
}

/* The staging file of the store in f->dir. */
static void staging_path(const struct fx *f, char *out, size_t cap)
{
	struct stat st;

	assert_int_equal(stat(f->dir, &st), 0);
	assert_true((size_t)snprintf(out, cap, "/dev/shm/altitude-backup.%llu.%llu",
				     (unsigned long long)st.st_dev,
				     (unsigned long long)st.st_ino) < cap);
}

/* The newest version of path is exactly (seed, len), in its own file. */
static void check_version(const struct fx *f, const char *path, unsigned seed,
			  size_t len)
{
	struct bk_version v = storefx_row_of(f->s, path);
	unsigned char *want = storefx_content(seed, len), *got = malloc(len + 1);
	char obj[PATH_MAX + BK_OBJECT_MAX + 16];
	struct stat st;
	int fd = -1;

	assert_non_null(got);
	assert_int_equal(v.size, len);
	assert_int_equal(bk_store_open_version(f->s, v.id, &fd, NULL), 0);
	assert_int_equal(pread(fd, got, len + 1, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
	close(fd);
	PATHF(obj, "%s/objects/%s", f->dir, v.object);
	assert_int_equal(stat(obj, &st), 0);
	assert_int_equal(st.st_size, len);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(want);
	free(got);
}

static const size_t sizes[] = { 1, 4095, 4096, 4097, 100000, 262145 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void staged_each_size(struct fx *f, enum bk_durability d)
{
	struct bk_store_stats st;
	char path[32];

	bk_store_set_durability(f->s, d);
	assert_int_equal(bk_store_set_staging(f->s, AREA), 0);
	assert_true(bk_store_staging(f->s));
	/* Once only. */
	assert_int_equal(bk_store_set_staging(f->s, AREA), -EBUSY);
	for (unsigned r = 0; r < 3; r++)
		for (unsigned i = 0; i < NSIZES; i++) {
			snprintf(path, sizeof(path), "/f%u", i);
			assert_int_equal(storefx_keep_staged(f->s, path, r * 10 + i,
							     sizes[i]),
					 0);
		}
	for (unsigned i = 0; i < NSIZES; i++) {
		snprintf(path, sizeof(path), "/f%u", i);
		check_version(f, path, 20 + i, sizes[i]);
		assert_int_equal(storefx_row_of(f->s, path).version, 3);
	}
	bk_store_stats(f->s, &st);
	assert_int_equal(st.staged, 3 * NSIZES);
	assert_int_equal(st.staging_full, 0);
}

static void test_staged_flush(void **state)
{
	staged_each_size(*state, BK_DURABLE_FLUSH);
}

static void test_staged_process(void **state)
{
	staged_each_size(*state, BK_DURABLE_PROCESS);
}

/* The staging file exists while the store is open, and goes with it. */
static void test_staging_file(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct stat st;

	staging_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &st), -1);
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, AREA), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_size, AREA);
	assert_int_equal(storefx_keep_staged(f->s, "/a", 1, 5000), 0);
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	check_version(f, "/a", 1, 5000);
}

/* No staging with power, with a size of 0, or an area too small. */
static void test_staging_off(void **state)
{
	struct fx *f = *state;
	struct bk_pending p;
	uint64_t cap;
	void *mem;

	bk_store_set_durability(f->s, BK_DURABLE_POWER);
	assert_int_equal(bk_store_set_staging(f->s, AREA), 0);
	assert_false(bk_store_staging(f->s));
	assert_int_equal(bk_store_begin_staged(f->s, &p, 10, &mem, &cap),
			 -EOPNOTSUPP);
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, 0), 0);
	assert_false(bk_store_staging(f->s));
	assert_int_equal(bk_store_set_staging(f->s, 8192), -EINVAL);
	assert_false(bk_store_staging(f->s));
	assert_int_equal(bk_store_begin_staged(f->s, &p, 10, &mem, &cap),
			 -EOPNOTSUPP);
	assert_int_equal(bk_store_begin_staged(NULL, &p, 10, &mem, &cap),
			 -EINVAL);
}

/* Reservations that find no room, a version larger than a quarter of the
 * area, and the room an abort gives back. */
static void test_staging_full(void **state)
{
	struct fx *f = *state;
	struct bk_pending p[8], extra;
	struct bk_store_stats st;
	uint64_t cap, quarter;
	unsigned n = 0;
	void *mem;

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, 1u << 20), 0);
	/* The data area is 1 MiB less the header and descriptors. */
	assert_int_equal(bk_store_begin_staged(f->s, &extra, 300000, &mem, &cap),
			 -EFBIG);
	quarter = 200000; /* 200704 with its alignment: four fit */
	while (n < 8 && bk_store_begin_staged(f->s, &p[n], quarter, &mem,
					       &cap) == 0) {
		assert_true(cap >= quarter);
		assert_true(p[n].object[0] != '\0');
		n++;
	}
	/* 999424 bytes of data: four such extents fit, not five. */
	assert_int_equal(n, 4);
	assert_int_equal(bk_store_begin_staged(f->s, &extra, quarter, &mem, &cap),
			 -ENOSPC);
	assert_int_equal(extra.object[0], '\0');
	/* Released out of order: the room comes back when the oldest goes. */
	bk_store_abort(f->s, &p[1]);
	assert_int_equal(bk_store_begin_staged(f->s, &extra, quarter, &mem, &cap),
			 -ENOSPC);
	bk_store_abort(f->s, &p[0]);
	assert_int_equal(bk_store_begin_staged(f->s, &extra, quarter, &mem, &cap), 0);
	bk_store_abort(f->s, &extra);
	bk_store_abort(f->s, &p[2]);
	bk_store_abort(f->s, &p[3]);
	/* Empty again: a version goes through, nothing left of the aborts. */
	assert_int_equal(storefx_keep_staged(f->s, "/a", 3, 150000), 0);
	check_version(f, "/a", 3, 150000);
	bk_store_stats(f->s, &st);
	assert_int_equal(st.staged, 1);
	assert_int_equal(st.staging_full, 3);
	bk_store_close(f->s);
	f->s = NULL;
	{
		unsigned recovered = 99;

		assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
		assert_int_equal(recovered, 0);
	}
}

/* Many more versions than the area holds at once: each reservation
 * waits for nothing, the committer frees room as it writes. */
static void test_staging_wraps(void **state)
{
	struct fx *f = *state;
	struct bk_store_stats st;
	unsigned staged = 0, direct = 0;
	char path[32];

	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, 1u << 20), 0);
	for (unsigned i = 0; i < 200; i++) {
		snprintf(path, sizeof(path), "/w%u", i % 7);
		if (storefx_keep_staged(f->s, path, i, 40000 + i * 97) == 0) {
			staged++;
		} else {
			/* No room: what the filter does, a direct copy. */
			struct bk_version v;
			struct bk_pending p;
			unsigned char *b = storefx_content(i, 40000 + i * 97);

			memset(&v, 0, sizeof(v));
			snprintf(v.path, sizeof(v.path), "%s", path);
			assert_int_equal(bk_store_begin(f->s, &p), 0);
			assert_int_equal(pwrite(p.fd, b, 40000 + i * 97, 0),
					 (ssize_t)(40000 + i * 97));
			assert_int_equal(bk_store_commit(f->s, &p, &v), 0);
			free(b);
			direct++;
		}
	}
	assert_true(staged > 0);
	for (unsigned i = 193; i < 200; i++) {
		snprintf(path, sizeof(path), "/w%u", i % 7);
		check_version(f, path, i, 40000 + i * 97);
	}
	bk_store_stats(f->s, &st);
	assert_int_equal(st.staged, staged);
	assert_int_equal(st.staging_full, direct);
}

/* A program's sync (bk_store_flush) returns with the staged copies in
 * their files. */
static void test_flush_writes_staged(void **state)
{
	struct fx *f = *state;
	unsigned char *want = storefx_content(5, 70000), *got = malloc(70001);
	char obj[PATH_MAX + BK_OBJECT_MAX + 16];
	struct bk_version v;
	struct bk_pending p;
	uint64_t cap;
	void *mem;
	int ofd;

	assert_non_null(got);
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, AREA), 0);
	memset(&v, 0, sizeof(v));
	snprintf(v.path, sizeof(v.path), "/s");
	assert_int_equal(bk_store_begin_staged(f->s, &p, 70000, &mem, &cap), 0);
	memcpy(mem, want, 70000);
	p.staged_len = 70000;
	assert_int_equal(bk_store_commit(f->s, &p, &v), 0);
	/* The object named at capture; its file is the committer's. */
	assert_int_equal(strlen(v.object), 33);
	assert_true(bk_store_flush(f->s) >= 0);
	PATHF(obj, "%s/objects/%s", f->dir, v.object);
	ofd = open(obj, O_RDONLY);
	assert_true(ofd >= 0);
	assert_int_equal(pread(ofd, got, 70001, 0), 70000);
	assert_memory_equal(got, want, 70000);
	close(ofd);
	free(want);
	free(got);
}

/*
 * The process dies before the committer wrote its staged copies: the
 * next open completes them from the staging file, byte-exact, and removes
 * it.  A child opens the store (process durability, so no sync runs) and
 * commits one version, which starts its committer; a grandchild, forked
 * from it, has no committer thread, so its captures stay in the journal
 * and the staging area; both end without closing the store.
 */
/* test_restored's child (see above). */
static int restore_child(const char *dir, void *arg)
{
	struct bk_store *s = NULL;
	struct bk_version v;
	pid_t g;
	int gs = 0;

	(void)arg;
	if (bk_store_open(dir, &s, NULL))
		return 2;
	bk_store_set_durability(s, BK_DURABLE_PROCESS);
	if (bk_store_set_staging(s, AREA) || storefx_keep_staged(s, "/first", 9, 3000))
		return 3;
	/* Committed: its committer is idle now. */
	if (bk_store_list(s, "/first", 0, 0, storefx_newest, &v))
		return 4;
	g = fork();
	if (g == 0) {
		for (int i = 0; i < 4; i++) {
			char p[16];

			snprintf(p, sizeof(p), "/r%d", i);
			if (storefx_keep_staged(s, p, 40 + i, sizes[i + 1]))
				_exit(5);
		}
		_exit(0);
	}
	if (g < 0 || waitpid(g, &gs, 0) != g || !WIFEXITED(gs) || WEXITSTATUS(gs))
		return 6;
	return 0;
}

static void test_restored(void **state)
{
	struct fx *f = *state;
	struct bk_store_stats st;
	char path[128];
	unsigned recovered = 99;
	struct stat sb;

	storefx_in_child(f, restore_child, NULL);
	staging_path(f, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(bk_store_completed(f->s), 4);
	bk_store_stats(f->s, &st);
	assert_int_equal(st.staged_restored, 4);
	assert_int_equal(recovered, 0);
	for (int i = 0; i < 4; i++) {
		char p[16];

		snprintf(p, sizeof(p), "/r%d", i);
		check_version(f, p, 40 + i, sizes[i + 1]);
	}
	check_version(f, "/first", 9, 3000);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	/* Nothing left over for the next open. */
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
	assert_int_equal(bk_store_completed(f->s), 0);
}

/* A file of the staging file's name that is not the process's is left
 * alone and not used; one that is, but of no store, is removed. */
static void test_foreign_file(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		skip(); /* giving a file to another user */
		return;
	}
	staging_path(f, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, AREA), 0);
	assert_int_equal(fchown(fd, 65534, 65534), 0);
	close(fd);
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, AREA), -EEXIST);
	assert_false(bk_store_staging(f->s));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	bk_store_close(f->s);
	f->s = NULL;
	assert_int_equal(lstat(path, &st), 0); /* still there */

	/* Ours, but garbage: removed at open, then made anew. */
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, AREA), 0);
	assert_int_equal(pwrite(fd, "garbage", 7, 0), 7);
	close(fd);
	assert_int_equal(bk_store_open(f->dir, &f->s, NULL), 0);
	assert_int_equal(lstat(path, &st), -1);
	bk_store_set_durability(f->s, BK_DURABLE_FLUSH);
	assert_int_equal(bk_store_set_staging(f->s, AREA), 0);
	assert_int_equal(storefx_keep_staged(f->s, "/g", 2, 9000), 0);
	check_version(f, "/g", 2, 9000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, storefx_teardown)
		T(test_staged_flush),
		T(test_staged_process),
		T(test_staging_file),
		T(test_staging_off),
		T(test_staging_full),
		T(test_staging_wraps),
		T(test_flush_writes_staged),
		T(test_restored),
		T(test_foreign_file),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
