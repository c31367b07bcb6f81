/*
 * catalog.c - the version store's SQLite catalog: schema and migrations,
 * the prepared statements, rows to struct bk_version, and the read
 * queries (get, list, list_deleted, usage).
 *
 * One connection per store, opened SQLITE_OPEN_NOMUTEX and used only under
 * the store's mutex.  WAL journal with synchronous=NORMAL: a commit is
 * atomic but may be lost at power failure.  That keeps store.h's promise:
 * a lost insert leaves an object without a row, a lost delete a row whose
 * object is gone, and bk_store_open removes both.
 *
 * PRAGMA user_version is the schema version; migrations[i] takes a
 * catalog from version i to i + 1 in one transaction.  A catalog newer
 * than this code is refused (-EPROTO) rather than guessed at.
 *
 * Ids are AUTOINCREMENT, so never reused even after the newest row is
 * deleted.  A path's version is computed in the INSERT itself (one
 * statement, one transaction): max existing + 1.  Among rows that exist at
 * the same time, id order and version order of a path therefore agree.
 *
 * The list functions fetch rows in batches under the lock and call back
 * without it, resuming at id > the last one seen: callbacks may call the
 * store again, and a long listing does not stall commits.  A listing is
 * therefore not one snapshot: rows committed or deleted meanwhile may or
 * may not be seen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

#define BKS_SCHEMA_VERSION 3
#define BKS_BATCH 32

static const char *const migrations[BKS_SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE versions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" path TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" file_id INTEGER NOT NULL,"
	" time_ns INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" reason INTEGER NOT NULL,"
	" method INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" comm TEXT NOT NULL,"
	" uid INTEGER NOT NULL,"
	" owner_uid INTEGER NOT NULL,"
	" owner_gid INTEGER NOT NULL,"
	" mode INTEGER NOT NULL,"
	" atime_ns INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL,"
	" object TEXT NOT NULL UNIQUE,"
	" UNIQUE (path, version));"
	/* eviction by age and oldest-first */
	"CREATE INDEX versions_time ON versions (time_ns, id);"
	/* list_deleted walks only the DELETE rows, in id order */
	"CREATE INDEX versions_deleted ON versions (id) WHERE reason = 4;",
	/* 1 -> 2: ContentHash (dedupe.c).  Rows of before stay unhashed. */
	"ALTER TABLE versions ADD COLUMN hash BLOB;"
	"CREATE INDEX versions_hash ON versions (hash, size)"
	" WHERE hash IS NOT NULL;",
	/* 2 -> 3: the journal sequence number of the newest version whose
	 * row was committed (committer.c), so that the replay at open never
	 * brings back a version evicted before its file was unlinked. */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
};

#define COLS                                                             \
	"id, path, file_id, version, time_ns, size, reason, method, pid, " \
	"comm, uid, owner_uid, owner_gid, mode, atime_ns, mtime_ns, object, " \
	"hash"

static const char *const stmt_sql[BKS_NSTMT] = {
	[BKS_BEGIN] = "BEGIN",
	[BKS_COMMIT] = "COMMIT",
	[BKS_ROLLBACK] = "ROLLBACK",
	[BKS_INSERT] =
		"INSERT INTO versions (path, version, file_id, time_ns, size,"
		" reason, method, pid, comm, uid, owner_uid, owner_gid, mode,"
		" atime_ns, mtime_ns, object, hash) VALUES (?1,"
		" (SELECT coalesce(max(version), 0) + 1 FROM versions"
		"  WHERE path = ?1),"
		" ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" ?16)"
		" RETURNING id, version",
	[BKS_GET] = "SELECT " COLS " FROM versions WHERE id = ?1",
	[BKS_LIST] = "SELECT " COLS " FROM versions"
		     " WHERE path = ?3 AND id > ?1 ORDER BY id LIMIT ?2",
	[BKS_LIST_DELETED] =
		"SELECT " COLS " FROM versions AS v"
		" WHERE reason = 4 AND id > ?1 AND path >= ?3 AND path < ?4"
		" AND version = (SELECT max(w.version) FROM versions AS w"
		"  WHERE w.path = v.path)"
		" ORDER BY id LIMIT ?2",
	[BKS_USAGE] = "SELECT count(*), coalesce(sum(size), 0),"
		      " count(DISTINCT path), coalesce(min(time_ns), 0),"
		      " coalesce(max(time_ns), 0) FROM versions",
	[BKS_TOTAL] = "SELECT coalesce(sum(size), 0) FROM versions",
	[BKS_ALL_OBJECTS] = "SELECT object, size FROM versions",
	[BKS_DELETE_OBJECT] = "DELETE FROM versions WHERE object = ?1",
	[BKS_DELETE_ID] = "DELETE FROM versions WHERE id = ?1",
	/* Eviction candidates: id, object, size. */
	[BKS_VICTIM_ID] = "SELECT id, object, size FROM versions WHERE id = ?1",
	[BKS_VICTIM_COUNT] =
		"SELECT id, object, size FROM (SELECT id, object, size,"
		" row_number() OVER (PARTITION BY path ORDER BY version DESC)"
		" AS n FROM versions) WHERE n > ?1",
	[BKS_VICTIM_COUNT_PATH] =
		"SELECT id, object, size FROM versions WHERE path = ?2"
		" ORDER BY version DESC LIMIT -1 OFFSET ?1",
	[BKS_VICTIM_AGE] =
		"SELECT id, object, size FROM versions WHERE time_ns < ?1",
	[BKS_VICTIM_AGE_PATH] = "SELECT id, object, size FROM versions"
				" WHERE path = ?2 AND time_ns < ?1",
	[BKS_VICTIM_OLDEST] = "SELECT id, object, size FROM versions"
			      " ORDER BY time_ns, id",
	[BKS_HAS_OBJECT] = "SELECT 1 FROM versions WHERE object = ?1",
	[BKS_VICTIM_OBJECT] = "SELECT id, object, size FROM versions WHERE object = ?1",
	[BKS_LINKED] = "SELECT object, size FROM versions WHERE method = 3",
	[BKS_GET_COMMITTED] = "SELECT value FROM meta WHERE key = 'committed_seq'",
	[BKS_SET_COMMITTED] = "INSERT INTO meta (key, value)"
			      " VALUES ('committed_seq', ?1) ON CONFLICT (key)"
			      " DO UPDATE SET value = max(value, excluded.value)",
	[BKS_SET_HASH] = "UPDATE versions SET hash = ?2 WHERE id = ?1",
	/* dedupe.c: the newest copy or clone with this content. */
	[BKS_SAME_CONTENT] = "SELECT object FROM versions WHERE hash = ?1"
			     " AND size = ?2 AND method IN (1, 2)"
			     " AND object != ?3 ORDER BY id DESC LIMIT 1",
};

int bks_sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	default: /* IOERR, CORRUPT, NOTADB, CANTOPEN, SCHEMA, ... */
		return -EIO;
	}
}

sqlite3_stmt *bks_stmt(struct bk_store *s, enum bks_stmt id, int *err)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc;

	if (!st) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK) {
			*err = bks_sqlite_err(rc);
			return NULL;
		}
		s->stmt[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int bks_run(sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : bks_sqlite_err(rc);
}

int bks_exec(struct bk_store *s, enum bks_stmt id)
{
	int err = 0;
	sqlite3_stmt *st = bks_stmt(s, id, &err);

	return st ? bks_run(st) : err;
}

/* Runs sql, whose first row's first column is text, into buf. */
static int pragma_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return bks_sqlite_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		snprintf(buf, cap, "%s", t ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		buf[0] = '\0';
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return bks_sqlite_err(rc);
}

static int migrate(sqlite3 *db, long from)
{
	char sql[64];
	int rc;

	for (long v = from; v < BKS_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return bks_sqlite_err(rc);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %ld", v + 1);
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return bks_sqlite_err(rc);
		}
	}
	return 0;
}

/*
 * Opens <dir>/catalog.db and brings it to the current schema.  A file that
 * is not a database, fails the quick check or comes from a newer version
 * is an error: recovery must never run against a catalog it cannot trust,
 * since it deletes every object the catalog does not name.
 */
int bks_catalog_open(struct bk_store *s)
{
	char path[BK_PATH_MAX + 16], buf[256];
	long version;
	int rc, err;

	snprintf(path, sizeof(path), "%s/catalog.db", s->dir);
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		return bks_sqlite_err(rc) ?: -EIO;
	sqlite3_busy_timeout(s->db, 5000);

	err = pragma_text(s->db, "PRAGMA quick_check(1)", buf, sizeof(buf));
	if (err)
		return err == -ENOMEM ? err : -EIO;
	if (strcmp(buf, "ok") != 0)
		return -EIO;
	err = pragma_text(s->db, "PRAGMA journal_mode = WAL", buf, sizeof(buf));
	if (err)
		return err;
	if (strcmp(buf, "wal") != 0)
		return -EIO;
	rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
			  NULL);
	if (rc != SQLITE_OK)
		return bks_sqlite_err(rc);

	err = pragma_text(s->db, "PRAGMA user_version", buf, sizeof(buf));
	if (err)
		return err;
	version = strtol(buf, NULL, 10);
	if (version < 0)
		return -EIO;
	if (version > BKS_SCHEMA_VERSION)
		return -EPROTO;
	return migrate(s->db, version);
}

void bks_catalog_close(struct bk_store *s)
{
	for (int i = 0; i < BKS_NSTMT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
}

int bks_load_total(struct bk_store *s)
{
	int rc, err = 0;
	sqlite3_stmt *st = bks_stmt(s, BKS_TOTAL, &err);

	if (!st)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->total = (uint64_t)sqlite3_column_int64(st, 0);
		atomic_store(&s->bytes, s->total); /* nothing captured yet */
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : bks_sqlite_err(rc) ?: -EIO;
}

void bks_total_add(struct bk_store *s, int64_t delta)
{
	if (delta < 0 && (uint64_t)-delta > s->total)
		delta = -(int64_t)s->total;
	s->total += (uint64_t)delta;
	atomic_fetch_add(&s->bytes, (uint64_t)delta);
}

static void column_text(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (!t)
		n = 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, t, n);
	buf[n] = '\0';
}

/* The columns of COLS, from the current row of st. */
static void row_to_version(sqlite3_stmt *st, struct bk_version *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(st, 0);
	column_text(st, 1, v->path, sizeof(v->path));
	v->file_id = (uint64_t)sqlite3_column_int64(st, 2);
	v->version = sqlite3_column_int64(st, 3);
	v->time_ns = sqlite3_column_int64(st, 4);
	v->size = (uint64_t)sqlite3_column_int64(st, 5);
	v->reason = (uint32_t)sqlite3_column_int64(st, 6);
	v->method = (uint32_t)sqlite3_column_int64(st, 7);
	v->pid = (uint32_t)sqlite3_column_int64(st, 8);
	column_text(st, 9, v->comm, sizeof(v->comm));
	v->uid = (uint32_t)sqlite3_column_int64(st, 10);
	v->owner_uid = (uint32_t)sqlite3_column_int64(st, 11);
	v->owner_gid = (uint32_t)sqlite3_column_int64(st, 12);
	v->mode = (uint32_t)sqlite3_column_int64(st, 13);
	v->atime_ns = sqlite3_column_int64(st, 14);
	v->mtime_ns = sqlite3_column_int64(st, 15);
	column_text(st, 16, v->object, sizeof(v->object));
	if (sqlite3_column_bytes(st, 17) == BK_HASH_LEN) {
		memcpy(v->hash, sqlite3_column_blob(st, 17), BK_HASH_LEN);
		v->hashed = true;
	}
}

/* Inserts v's row; v->id and v->version are written back.  Locked. */
int bks_insert(struct bk_store *s, struct bk_version *v)
{
	int rc, err = 0;
	sqlite3_stmt *st = bks_stmt(s, BKS_INSERT, &err);

	if (!st)
		return err;
	sqlite3_bind_text(st, 1, v->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)v->file_id);
	sqlite3_bind_int64(st, 3, v->time_ns);
	sqlite3_bind_int64(st, 4, (int64_t)v->size);
	sqlite3_bind_int64(st, 5, v->reason);
	sqlite3_bind_int64(st, 6, v->method);
	sqlite3_bind_int64(st, 7, v->pid);
	sqlite3_bind_text(st, 8, v->comm, (int)strnlen(v->comm, BK_COMM_MAX),
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, v->uid);
	sqlite3_bind_int64(st, 10, v->owner_uid);
	sqlite3_bind_int64(st, 11, v->owner_gid);
	sqlite3_bind_int64(st, 12, v->mode);
	sqlite3_bind_int64(st, 13, v->atime_ns);
	sqlite3_bind_int64(st, 14, v->mtime_ns);
	sqlite3_bind_text(st, 15, v->object, -1, SQLITE_STATIC);
	if (v->hashed)
		sqlite3_bind_blob(st, 16, v->hash, BK_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return bks_sqlite_err(rc) ?: -EIO;
	}
	v->id = sqlite3_column_int64(st, 0);
	v->version = sqlite3_column_int64(st, 1);
	/* The statement's transaction commits when it completes. */
	return bks_run(st);
}

/* Locked. */
int bks_get(struct bk_store *s, int64_t id, struct bk_version *v)
{
	int rc, err = 0;
	sqlite3_stmt *st = bks_stmt(s, BKS_GET, &err);

	if (!st)
		return err;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_to_version(st, v);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return bks_sqlite_err(rc);
}

int bk_store_get(struct bk_store *s, int64_t id, struct bk_version *v)
{
	int err;

	if (!s || !v)
		return -EINVAL;
	bks_settle(s);
	pthread_mutex_lock(&s->lock);
	err = bks_get(s, id, v);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* A listing: statement id with ?1 after, ?2 limit, ?3 key[0], ?4 key[1]. */
struct listing {
	enum bks_stmt id;
	const char *key[2];
};

/* Fetches up to n rows with id > after into out; the count or -errno. */
static int fetch(struct bk_store *s, const struct listing *l, int64_t after,
		 unsigned n, struct bk_version *out)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, err = 0;
	unsigned got = 0;

	pthread_mutex_lock(&s->lock);
	st = bks_stmt(s, l->id, &err);
	if (!st)
		goto out;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, n);
	for (int i = 0; i < 2 && l->key[i]; i++)
		sqlite3_bind_text(st, 3 + i, l->key[i], -1, SQLITE_STATIC);
	while (got < n && (rc = sqlite3_step(st)) == SQLITE_ROW)
		row_to_version(st, &out[got++]);
	if (got < n && rc != SQLITE_DONE)
		err = bks_sqlite_err(rc) ?: -EIO;
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->lock);
	return err ? err : (int)got;
}

static int run_listing(struct bk_store *s, const struct listing *l,
		       int64_t after, unsigned max, bk_version_fn fn, void *arg)
{
	struct bk_version *batch;
	unsigned want;
	int n, ret = 0;

	batch = malloc(BKS_BATCH * sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	for (;;) {
		want = max && max < BKS_BATCH ? max : BKS_BATCH;
		n = fetch(s, l, after, want, batch);
		if (n < 0) {
			ret = n;
			break;
		}
		for (int i = 0; i < n && !ret; i++)
			ret = fn(&batch[i], arg);
		if (ret || (unsigned)n < want)
			break;
		if (max && (max -= want) == 0)
			break;
		after = batch[n - 1].id;
	}
	free(batch);
	return ret;
}

static bool path_ok(const char *path)
{
	return path && path[0] == '/' && strnlen(path, BK_PATH_MAX) < BK_PATH_MAX;
}

int bk_store_list(struct bk_store *s, const char *path, int64_t after,
		  unsigned max, bk_version_fn fn, void *arg)
{
	struct listing l = { BKS_LIST, { path, NULL } };

	if (!s || !fn || !path_ok(path))
		return -EINVAL;
	bks_settle(s);
	return run_listing(s, &l, after, max, fn, arg);
}

/*
 * The paths below dir are those in [dir + "/", dir + "0"): '0' follows
 * '/' in byte order, and the catalog compares paths bytewise.  So "/ab" is
 * not below "/a", and "/" gives ["/", "0"), every path.
 */
int bk_store_list_deleted(struct bk_store *s, const char *dir, int64_t after,
			  unsigned max, bk_version_fn fn, void *arg)
{
	char lo[BK_PATH_MAX + 1], hi[BK_PATH_MAX + 1];
	struct listing l = { BKS_LIST_DELETED, { lo, hi } };
	size_t n;

	if (!s || !fn || !path_ok(dir))
		return -EINVAL;
	n = strlen(dir);
	while (n > 0 && dir[n - 1] == '/')
		n--;
	memcpy(lo, dir, n);
	memcpy(hi, dir, n);
	lo[n] = '/';
	hi[n] = '0';
	lo[n + 1] = hi[n + 1] = '\0';
	bks_settle(s);
	return run_listing(s, &l, after, max, fn, arg);
}

/* What objects/ takes: st_blocks of each file, once per file however
 * many versions name it (dedupe.c). */
struct blocks {
	uint64_t bytes;
	struct named {
		ino_t ino;
		uint64_t bytes;
	} *multi; /* files with several names, counted at the end */
	size_t n, cap;
	bool nomem;
};

static int add_blocks(int dfd, const char *name, const char *object,
		      void *arg)
{
	struct blocks *b = arg;
	struct stat st;

	(void)object;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (st.st_nlink <= 1) {
		b->bytes += (uint64_t)st.st_blocks * 512;
		return 0;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct named *nm = realloc(b->multi, cap * sizeof(*nm));

		if (!nm) {
			b->nomem = true;
			return 1;
		}
		b->multi = nm;
		b->cap = cap;
	}
	b->multi[b->n].ino = st.st_ino;
	b->multi[b->n].bytes = (uint64_t)st.st_blocks * 512;
	b->n++;
	return 0;
}

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = ((const struct named *)a)->ino, y = ((const struct named *)b)->ino;

	return x < y ? -1 : x > y;
}

static int disk_bytes(struct bk_store *s, uint64_t *out)
{
	struct blocks b = { 0 };
	int err = bks_walk_objects(s, add_blocks, &b);

	if (b.nomem)
		err = -ENOMEM;
	if (!err && b.n) {
		qsort(b.multi, b.n, sizeof(*b.multi), cmp_ino);
		for (size_t i = 0; i < b.n; i++)
			if (i == 0 || b.multi[i].ino != b.multi[i - 1].ino)
				b.bytes += b.multi[i].bytes;
	}
	free(b.multi);
	*out = b.bytes;
	return err;
}

int bk_store_usage(struct bk_store *s, struct bk_usage *u)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	if (!s || !u)
		return -EINVAL;
	memset(u, 0, sizeof(*u));
	bks_settle(s);
	pthread_mutex_lock(&s->lock);
	st = bks_stmt(s, BKS_USAGE, &err);
	if (!st)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		u->versions = (uint64_t)sqlite3_column_int64(st, 0);
		u->bytes = (uint64_t)sqlite3_column_int64(st, 1);
		u->paths = (uint64_t)sqlite3_column_int64(st, 2);
		u->oldest_ns = sqlite3_column_int64(st, 3);
		u->newest_ns = sqlite3_column_int64(st, 4);
		/* The running total follows the catalog, never the reverse. */
		bks_total_add(s, (int64_t)(u->bytes - s->total));
	} else {
		err = bks_sqlite_err(rc) ?: -EIO;
	}
	sqlite3_reset(st);
out:
	pthread_mutex_unlock(&s->lock);
	if (err)
		return err;
	/* Files come and go while this walks: disk_bytes is an estimate. */
	return disk_bytes(s, &u->disk_bytes);
}

uint64_t bk_store_bytes(struct bk_store *s)
{
	return atomic_load(&s->bytes);
}
