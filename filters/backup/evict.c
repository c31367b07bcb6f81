/*
 * evict.c - deleting versions: one by id (bk_store_delete), one by
 * object (bk_store_withdraw), or by policy (bk_store_enforce for the whole
 * store, bk_store_trim for one path after a commit).
 *
 * Every eviction goes the same way: under the lock, in one transaction,
 * select the victims (id, object, size) with one of the catalog's victim
 * statements and delete their rows; commit; lower the running total; then,
 * without the lock, unlink the object files.  Rows go before files, so a
 * crash leaves at worst objects without a row (removed at the next open);
 * bk_store_open_version opens under the lock, so it either sees no row or
 * holds the file open before it is unlinked.  If the transaction fails,
 * nothing is unlinked and the total is unchanged.
 *
 * The store-size limit needs no query while the running total is at most
 * max_store_bytes - reserve, which is what makes bk_store_trim free on the
 * write path when only that limit is set.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

struct victim {
	int64_t id;
	uint64_t size;
	char object[BK_OBJECT_MAX];
};

struct victims {
	struct victim *v;
	size_t n, cap;
	uint64_t bytes;
};

static int victims_push(struct victims *vs, sqlite3_stmt *st)
{
	const unsigned char *obj = sqlite3_column_text(st, 1);
	struct victim *nv, *x;

	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? 2 * vs->cap : 16;
		nv = realloc(vs->v, vs->cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		vs->v = nv;
	}
	x = &vs->v[vs->n++];
	x->id = sqlite3_column_int64(st, 0);
	x->size = (uint64_t)sqlite3_column_int64(st, 2);
	snprintf(x->object, sizeof(x->object), "%s",
		 obj ? (const char *)obj : "");
	vs->bytes += x->size;
	return 0;
}

/*
 * Adds the rows of st, a bound victim statement, until they total at least
 * goal bytes (0: every row), and deletes those rows.  In a transaction.
 */
static int take(struct bk_store *s, sqlite3_stmt *st, struct victims *vs,
		uint64_t goal)
{
	size_t first = vs->n;
	uint64_t got = 0;
	sqlite3_stmt *del;
	int rc = SQLITE_DONE, err = 0;

	while (!err && (!goal || got < goal) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = victims_push(vs, st);
		if (!err)
			got += vs->v[vs->n - 1].size;
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = bks_sqlite_err(rc) ?: -EIO;
	sqlite3_reset(st);
	for (size_t i = first; !err && i < vs->n; i++) {
		del = bks_stmt(s, BKS_DELETE_ID, &err);
		if (!del)
			break;
		sqlite3_bind_int64(del, 1, vs->v[i].id);
		err = bks_run(del);
	}
	return err;
}

/* Ends the transaction; on success the rows are gone for good. Locked. */
static int settle(struct bk_store *s, struct victims *vs, int err)
{
	if (!err)
		err = bks_exec(s, BKS_COMMIT);
	if (err) {
		bks_exec(s, BKS_ROLLBACK);
		vs->n = 0;
		vs->bytes = 0;
		return err;
	}
	bks_total_add(s, -(int64_t)vs->bytes);
	return 0;
}

/* Unlinks the victims' files and reports them.  Not locked. */
static void finish(struct bk_store *s, struct victims *vs, uint64_t *evicted,
		   uint64_t *freed)
{
	for (size_t i = 0; i < vs->n; i++)
		unlinkat(s->objfd, vs->v[i].object, 0);
	if (evicted)
		*evicted = vs->n;
	if (freed)
		*freed = vs->bytes;
	free(vs->v);
}

/* Deletes the one version that victim statement id selects with ?1 =
 * object if given, else ?1 = rowid; -ENOENT if none. */
static int delete_one(struct bk_store *s, enum bks_stmt id, int64_t rowid,
		      const char *object)
{
	struct victims vs = { 0 };
	sqlite3_stmt *st;
	int err;

	bks_settle(s);
	pthread_mutex_lock(&s->lock);
	err = bks_exec(s, BKS_BEGIN);
	if (!err) {
		st = bks_stmt(s, id, &err);
		if (st) {
			if (object)
				sqlite3_bind_text(st, 1, object, -1, SQLITE_TRANSIENT);
			else
				sqlite3_bind_int64(st, 1, rowid);
			err = take(s, st, &vs, 0);
		}
		if (!err && !vs.n)
			err = -ENOENT;
		err = settle(s, &vs, err);
	}
	pthread_mutex_unlock(&s->lock);
	finish(s, &vs, NULL, NULL);
	return err;
}

int bk_store_delete(struct bk_store *s, int64_t id)
{
	if (!s)
		return -EINVAL;
	return delete_one(s, BKS_VICTIM_ID, id, NULL);
}

int bk_store_withdraw(struct bk_store *s, const char *object)
{
	int err;

	if (!s || !object || !bks_object_valid(object))
		return -EINVAL;
	err = delete_one(s, BKS_VICTIM_OBJECT, 0, object);
	/* Without a row (its commit failed, or it was evicted) the name is
	 * unique to it all the same. */
	if (err == -ENOENT)
		unlinkat(s->objfd, object, 0);
	return err;
}

/* Binds the victim statement id: ?1 value, ?2 path if any; then takes. */
static int take_by(struct bk_store *s, enum bks_stmt id, int64_t value,
		   const char *path, struct victims *vs)
{
	int err = 0;
	sqlite3_stmt *st = bks_stmt(s, id, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, value);
	if (path)
		sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	return take(s, st, vs, 0);
}

/* Bytes above max_store_bytes - reserve once vs is gone (0: none). */
static uint64_t excess(const struct bk_store *s, const struct bk_policy *p,
		       uint64_t reserve, const struct victims *vs)
{
	uint64_t target, left;

	if (!p->max_store_bytes)
		return 0;
	target = p->max_store_bytes > reserve ? p->max_store_bytes - reserve :
						0;
	left = s->total > vs->bytes ? s->total - vs->bytes : 0;
	return left > target ? left - target : 0;
}

/* The policy's limits, on path only (NULL: every path), then store size. */
static int evict(struct bk_store *s, const struct bk_policy *p,
		 const char *path, int64_t now_ns, uint64_t reserve,
		 uint64_t *evicted, uint64_t *freed)
{
	struct victims vs = { 0 };
	bool by_age = p->max_age_ns > 0 && now_ns > INT64_MIN + p->max_age_ns;
	uint64_t over;
	sqlite3_stmt *st;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (!p->max_versions && !by_age && !excess(s, p, reserve, &vs))
		goto out;
	err = bks_exec(s, BKS_BEGIN);
	if (err)
		goto out;
	if (p->max_versions)
		err = take_by(s,
			      path ? BKS_VICTIM_COUNT_PATH : BKS_VICTIM_COUNT,
			      p->max_versions, path, &vs);
	if (!err && by_age)
		err = take_by(s, path ? BKS_VICTIM_AGE_PATH : BKS_VICTIM_AGE,
			      now_ns - p->max_age_ns, path, &vs);
	over = err ? 0 : excess(s, p, reserve, &vs);
	if (over) {
		st = bks_stmt(s, BKS_VICTIM_OLDEST, &err);
		if (st)
			err = take(s, st, &vs, over);
	}
	err = settle(s, &vs, err);
out:
	pthread_mutex_unlock(&s->lock);
	finish(s, &vs, evicted, freed);
	return err;
}

int bk_store_enforce(struct bk_store *s, const struct bk_policy *p,
		     int64_t now_ns, uint64_t reserve, uint64_t *evicted,
		     uint64_t *freed)
{
	if (evicted)
		*evicted = 0;
	if (freed)
		*freed = 0;
	if (!s || !p)
		return -EINVAL;
	bks_settle(s);
	return evict(s, p, NULL, now_ns, reserve, evicted, freed);
}

int bk_store_trim(struct bk_store *s, const struct bk_policy *p,
		  const char *path, int64_t now_ns, uint64_t reserve,
		  uint64_t *evicted, uint64_t *freed)
{
	if (evicted)
		*evicted = 0;
	if (freed)
		*freed = 0;
	if (!s || !p || !path || path[0] != '/')
		return -EINVAL;
	return evict(s, p, path, now_ns, reserve, evicted, freed);
}
