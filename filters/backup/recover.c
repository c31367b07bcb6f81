/*
 * recover.c - bringing a store back to its invariant at open: every row
 * names an object that exists, every object has a row, tmp/ is empty.
 *
 * Runs only after the catalog passed its checks (catalog.c), and deletes
 * nothing unless both the catalog and objects/ were read to the end: an
 * error part way through leaves everything as it was.  The two sides are
 * compared as sorted name lists (no per-row stat), so the cost is one
 * directory walk and one catalog scan.
 *
 * Counted in *count, one each: a file removed from tmp/, an object file
 * without a row (any regular file in objects/xx/ that no row names, even
 * one whose name bk_store_begin could not have made), a row whose object
 * is missing.  Directories and files elsewhere in objects/ are left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, const char *name)
{
	char **nv;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		nv = realloc(l->v, l->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
	}
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(struct names *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_name);
}

/* readdir with its error told apart from the end: NULL and *err. */
static struct dirent *next_entry(DIR *d, int *err)
{
	struct dirent *e;

	do {
		errno = 0;
		e = readdir(d);
		if (!e) {
			*err = errno ? -errno : 0;
			return NULL;
		}
	} while (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
	return e;
}

static DIR *open_dir(int dfd, const char *name, int *err)
{
	int fd = openat(dfd, name,
			O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	d = fdopendir(fd);
	if (!d) {
		*err = -errno;
		close(fd);
	}
	return d;
}

static bool is_type(int dfd, const struct dirent *e, unsigned char type,
		    mode_t fmt)
{
	struct stat st;

	if (e->d_type != DT_UNKNOWN)
		return e->d_type == type;
	return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (st.st_mode & S_IFMT) == fmt;
}

static bool is_hex2(const char *name)
{
	return strlen(name) == 2 && strchr("0123456789abcdef", name[0]) &&
	       strchr("0123456789abcdef", name[1]);
}

static int walk_sub(DIR *top, const char *sub, bks_object_fn fn, void *arg)
{
	char object[BK_OBJECT_MAX + 256];
	struct dirent *e;
	int err = 0, ret = 0;
	DIR *d;

	d = open_dir(dirfd(top), sub, &err);
	if (!d)
		return err == -ENOENT ? 0 : err; /* removed meanwhile */
	while (!ret && (e = next_entry(d, &err))) {
		if (!is_type(dirfd(d), e, DT_REG, S_IFREG))
			continue;
		snprintf(object, sizeof(object), "%s/%s", sub, e->d_name);
		ret = fn(dirfd(d), e->d_name, object, arg);
	}
	closedir(d);
	return ret ? ret : err;
}

int bks_walk_objects(struct bk_store *s, bks_object_fn fn, void *arg)
{
	struct dirent *e;
	int err = 0, ret = 0;
	DIR *top;

	top = open_dir(s->objfd, ".", &err);
	if (!top)
		return err;
	while (!ret && (e = next_entry(top, &err)))
		if (is_hex2(e->d_name) &&
		    is_type(dirfd(top), e, DT_DIR, S_IFDIR))
			ret = walk_sub(top, e->d_name, fn, arg);
	closedir(top);
	return ret ? ret : err;
}

/* Empties tmp/: nothing there is referenced by the catalog. */
static int clear_tmp(struct bk_store *s, unsigned *count)
{
	struct dirent *e;
	int err = 0;
	DIR *d;

	d = open_dir(s->tmpfd, ".", &err);
	if (!d)
		return err;
	while ((e = next_entry(d, &err)))
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			(*count)++;
	closedir(d);
	return err;
}

/*
 * Objects and rows are matched as "object:size": a row whose object is
 * shorter or longer than the size it records (content that never reached
 * the disk before a power failure, when the store does not fsync) does not
 * match, so the row is dropped and the object removed, like a row without
 * its object.
 */
static int add_object(int dfd, const char *name, const char *object,
		      void *arg)
{
	char key[BK_OBJECT_MAX + 256 + 32];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	snprintf(key, sizeof(key), "%s:%lld", object, (long long)st.st_size);
	return names_add(arg, key);
}

/* "object:size" -> "object" (in place). */
static char *key_object(char *key)
{
	char *colon = strrchr(key, ':');

	if (colon)
		*colon = 0;
	return key;
}

static int catalog_objects(struct bk_store *s, struct names *l)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, err = 0;

	st = bks_stmt(s, BKS_ALL_OBJECTS, &err);
	if (!st)
		return err;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char key[BK_OBJECT_MAX + 32];

		snprintf(key, sizeof(key), "%s:%lld",
			 (const char *)sqlite3_column_text(st, 0) ?: "",
			 (long long)sqlite3_column_int64(st, 1));
		err = names_add(l, key);
	}
	if (!err && rc != SQLITE_DONE)
		err = bks_sqlite_err(rc) ?: -EIO;
	sqlite3_reset(st);
	return err;
}

/* Deletes the rows named in gone, in one transaction. */
static int drop_rows(struct bk_store *s, struct names *gone)
{
	sqlite3_stmt *st;
	int err;

	if (!gone->n)
		return 0;
	err = bks_exec(s, BKS_BEGIN);
	if (err)
		return err;
	for (size_t i = 0; !err && i < gone->n; i++) {
		st = bks_stmt(s, BKS_DELETE_OBJECT, &err);
		if (!st)
			break;
		sqlite3_bind_text(st, 1, key_object(gone->v[i]), -1, SQLITE_STATIC);
		err = bks_run(st);
	}
	if (!err)
		err = bks_exec(s, BKS_COMMIT);
	if (err)
		bks_exec(s, BKS_ROLLBACK);
	return err;
}

int bks_recover(struct bk_store *s, unsigned *count)
{
	struct names rows = { 0 }, files = { 0 }, gone = { 0 }, stray = { 0 };
	size_t i = 0, j = 0;
	int c, err;

	err = clear_tmp(s, count);
	if (!err)
		err = catalog_objects(s, &rows);
	if (!err)
		err = bks_walk_objects(s, add_object, &files);
	if (err)
		goto out;
	names_sort(&rows);
	names_sort(&files);
	while (!err && (i < rows.n || j < files.n)) {
		if (i == rows.n)
			c = 1;
		else if (j == files.n)
			c = -1;
		else
			c = strcmp(rows.v[i], files.v[j]);
		if (c < 0)
			err = names_add(&gone, rows.v[i++]);
		else if (c > 0)
			err = names_add(&stray, files.v[j++]);
		else
			i++, j++;
	}
	if (!err)
		err = drop_rows(s, &gone);
	if (err)
		goto out;
	*count += (unsigned)gone.n;
	/* The catalog is settled: what it does not name is garbage. */
	for (i = 0; i < stray.n; i++)
		if (unlinkat(s->objfd, key_object(stray.v[i]), 0) == 0)
			(*count)++;
out:
	names_free(&rows);
	names_free(&files);
	names_free(&gone);
	names_free(&stray);
	return err;
}
