/*
 * store_int.h - what the files of the version store share and nothing
 * outside them uses: the store object, the catalog's prepared statements,
 * and the helpers one concern lends another.
 *
 *   store.c    open, close, content files (begin, commit, abort, open)
 *   catalog.c  SQLite: schema and migrations, statements, row mapping,
 *              the read queries (get, list, list_deleted, usage)
 *   recover.c  what bk_store_open removes: tmp/ leftovers, objects without
 *              a row, rows without an object
 *   evict.c    deleting versions: one (bk_store_delete) or by policy
 *              (bk_store_enforce, bk_store_trim)
 *   policy.c   bk_policy_wants, bk_policy_clear
 *
 * Locking: s->lock guards s->db, every statement and s->total.  The
 * directory descriptors never change between open and close and are used
 * without it.  Callbacks of the list functions run without the lock.
 */
#ifndef ALTITUDE_BACKUP_STORE_INT_H
#define ALTITUDE_BACKUP_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Object names: "xx/" + 30 hex digits, from 16 random bytes. */
#define BKS_OBJECT_HEX 32
#define BKS_OBJECT_LEN (BKS_OBJECT_HEX + 1)

/* The catalog's statements, prepared on first use and kept until close. */
enum bks_stmt {
	BKS_BEGIN,
	BKS_COMMIT,
	BKS_ROLLBACK,
	BKS_INSERT,
	BKS_GET,
	BKS_LIST,
	BKS_LIST_DELETED,
	BKS_USAGE,
	BKS_TOTAL,
	BKS_ALL_OBJECTS,
	BKS_DELETE_OBJECT,
	BKS_DELETE_ID,
	BKS_VICTIM_ID,
	BKS_VICTIM_COUNT,
	BKS_VICTIM_COUNT_PATH,
	BKS_VICTIM_AGE,
	BKS_VICTIM_AGE_PATH,
	BKS_VICTIM_OLDEST,
	BKS_NSTMT
};

#define BKS_POOL 8

struct bk_store {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[BKS_NSTMT];
	uint64_t total; /* sum of the sizes of every row */
	int dirfd; /* the store directory; holds the flock */
	bool durable; /* fsync content and directories before the row */
	int objfd; /* objects/ */
	int tmpfd; /* tmp/ */
	char dir[BK_PATH_MAX]; /* absolute */
	/* Temporary files made ahead of need by a background thread
	 * (store.c): creating a file is the slowest step of a version on
	 * ext4, and a version is taken while the program waits. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	pthread_t pool_thread;
	bool pool_started, pool_stop;
	unsigned pool_n;
	struct {
		int fd;
		char object[BK_OBJECT_MAX];
	} pool[BKS_POOL];
};

/* catalog.c */
int bks_catalog_open(struct bk_store *s);
void bks_catalog_close(struct bk_store *s);
int bks_sqlite_err(int rc);
/* The statement id, reset and unbound; NULL (and *err) on failure. */
sqlite3_stmt *bks_stmt(struct bk_store *s, enum bks_stmt id, int *err);
/* Steps st to its end and resets it: 0 or -errno. */
int bks_run(sqlite3_stmt *st);
int bks_exec(struct bk_store *s, enum bks_stmt id);
int bks_load_total(struct bk_store *s);
int bks_insert(struct bk_store *s, struct bk_version *v);
int bks_get(struct bk_store *s, int64_t id, struct bk_version *v);

/* recover.c */
int bks_recover(struct bk_store *s, unsigned *count);
/* Calls fn for each regular file in objects/xx/ (xx two hex digits) with
 * the descriptor of objects/xx, the file's name there and its object name;
 * stops when fn returns non-zero (returned).  Needs no lock. */
typedef int (*bks_object_fn)(int dfd, const char *name, const char *object,
			     void *arg);
int bks_walk_objects(struct bk_store *s, bks_object_fn fn, void *arg);

/* true when object is a name bk_store_begin can make ("xx/" + 30 hex). */
bool bks_object_valid(const char *object);

#endif /* ALTITUDE_BACKUP_STORE_INT_H */
