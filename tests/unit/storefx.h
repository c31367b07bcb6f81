/*
 * storefx.h - the version store tests' fixture: a fresh temporary tree
 * (tmptree.h) with a new store in root/store and an empty root/vol beside
 * it for the files versions are kept of.  Include after cmocka.h.
 */
#ifndef ALTITUDE_TESTS_STOREFX_H
#define ALTITUDE_TESTS_STOREFX_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tmptree.h"

/* snprintf into an array, failing the test if it does not fit. */
#define PATHF(buf, ...)                                                  \
	assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) <      \
		    sizeof(buf))

struct fx {
	char root[PATH_MAX]; /* the temporary directory */
	char dir[PATH_MAX + 16]; /* root/store: the store */
	char vol[PATH_MAX + 16]; /* root/vol: files versions are kept of */
	struct bk_store *s;
};

/* The fixture, its store open (nothing to recover in a new one). */
static inline struct fx *storefx_new(const char *prefix)
{
	struct fx *f = calloc(1, sizeof(*f));
	unsigned recovered = 99;

	assert_non_null(f);
	assert_int_equal(tmptree_make(f->root, sizeof(f->root), prefix), 0);
	PATHF(f->dir, "%s/store", f->root);
	PATHF(f->vol, "%s/vol", f->root);
	assert_int_equal(mkdir(f->vol, 0755), 0);
	assert_int_equal(bk_store_open(f->dir, &f->s, &recovered), 0);
	assert_int_equal(recovered, 0);
	return f;
}

/* The content a test keeps: len bytes that depend on seed. */
static inline unsigned char *storefx_content(unsigned seed, size_t len)
{
	unsigned char *b = malloc(len ? len : 1);

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9));
	return b;
}

static inline int storefx_newest(const struct bk_version *v, void *arg)
{
	*(struct bk_version *)arg = *v;
	return 0;
}

/* The row of the newest version of path. */
static inline struct bk_version storefx_row_of(struct bk_store *s,
					       const char *path)
{
	struct bk_version v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(bk_store_list(s, path, 0, 0, storefx_newest, &v), 0);
	assert_true(v.id > 0);
	return v;
}

/* Stages (bk_store_begin_staged) and commits a copied version of path
 * with content (seed, len), for reason write: 0, or what
 * bk_store_begin_staged refused with. */
static inline int storefx_keep_staged(struct bk_store *s, const char *path,
				      unsigned seed, size_t len)
{
	struct bk_version v;
	struct bk_pending p;
	unsigned char *b = storefx_content(seed, len);
	uint64_t cap = 0;
	void *mem = NULL;
	int err;

	memset(&v, 0, sizeof(v));
	snprintf(v.path, sizeof(v.path), "%s", path);
	v.reason = BK_REASON_WRITE;
	v.method = BK_METHOD_COPY;
	err = bk_store_begin_staged(s, &p, len, &mem, &cap);
	if (err) {
		free(b);
		return err;
	}
	assert_non_null(mem);
	assert_int_equal((uintptr_t)mem % 4096, 0);
	assert_true(cap >= len);
	memcpy(mem, b, len);
	p.staged_len = len;
	assert_int_equal(bk_store_commit(s, &p, &v), 0);
	free(b);
	return 0;
}

/*
 * A process that dies with the store open: closes f's store and runs
 * child(f->dir, arg) in a child process, which exits with what child
 * returns and closes nothing it opened (its committer never finishes), or
 * is killed after 30 s.  Fails the test unless child returned 0.
 */
static inline void storefx_in_child(struct fx *f,
				    int (*child)(const char *dir, void *arg),
				    void *arg)
{
	pid_t pid, w;
	int status = 0;

	bk_store_close(f->s);
	f->s = NULL;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		_exit(child(f->dir, arg));
	}
	do
		w = waitpid(pid, &status, 0);
	while (w < 0 && errno == EINTR);
	assert_int_equal(w, pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* What the page cache holds of a file (cachestat(2), Linux 6.5). */
struct storefx_cache {
	uint64_t cached, dirty, writeback, evicted, recently_evicted;
};

/* Fills *c for path; -1 when unknown (no such file, no cachestat). */
static inline int storefx_cachestat(const char *path, struct storefx_cache *c)
{
	struct {
		uint64_t off, len;
	} whole = { 0, 0 };
	long rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	rc = syscall(SYS_cachestat, fd, &whole, c, 0);
	close(fd);
	return rc < 0 ? -1 : 0;
}

/* cmocka teardown: closes the store, removes the tree. */
static inline int storefx_teardown(void **state)
{
	struct fx *f = *state;

	bk_store_close(f->s);
	tmptree_remove(f->root);
	free(f);
	return 0;
}

#endif
