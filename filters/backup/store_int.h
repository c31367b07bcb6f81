/*
 * store_int.h - what the files of the version store share and nothing
 * outside them uses: the store object, the catalog's prepared statements,
 * and the helpers one concern lends another.
 *
 *   store.c    open, close, content files (begin, commit, abort, open)
 *   link.c     versions that are the file itself, linked in as it is
 *              deleted or replaced: commit, unshare, the check at open
 *   committer.c  versions committed off the caller's thread: the queue,
 *              the committer thread, the journal and its replay at open
 *   sync.c     what FLUSH syncs: the objects named since the last sync,
 *              their directories, the journal, the catalog's WAL
 *   catalog.c  SQLite: schema and migrations, statements, row mapping,
 *              the read queries (get, list, list_deleted, usage)
 *   recover.c  what bk_store_open removes: tmp/ leftovers, objects without
 *              a row, rows without an object
 *   evict.c    deleting versions: one (bk_store_delete) or by policy
 *              (bk_store_enforce, bk_store_trim)
 *   dedupe.c   ContentHash: hashing a version's content, and storing
 *              identical content once (a second name of the same file)
 *   policy.c   bk_policy_wants, bk_policy_clear
 *   staging.c  copies staged in shared memory (FLUSH, PROCESS): the
 *              staging file, its extents, the replay's use of it
 *
 * Locking: s->lock guards s->db, every statement and s->total; s->q_lock
 * the committer's queue, its counters and the journal (never taken with
 * s->lock held).  The directory descriptors never change between open and
 * close and are used without either.  Callbacks of the list functions run
 * without the lock.
 */
#ifndef ALTITUDE_BACKUP_STORE_INT_H
#define ALTITUDE_BACKUP_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
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
	BKS_HAS_OBJECT,
	BKS_VICTIM_OBJECT,
	BKS_LINKED,
	BKS_SAME_CONTENT,
	BKS_GET_COMMITTED,
	BKS_SET_COMMITTED,
	BKS_SET_HASH,
	BKS_NSTMT
};

#define BKS_POOL 32

/* Content files: unnamed in tmp/ (O_TMPFILE, POWER), named in tmp/ (POWER
 * where there is no O_TMPFILE), or made in place in objects/ (FLUSH and
 * PROCESS: the journal's record is what makes such a file a version). */
enum { BKS_FILE_UNNAMED, BKS_FILE_TMP, BKS_FILE_PLACED };

#define BKJ_MAGIC 0x314a4b42u /* "BKJ1" */

/* One journal record: this header, then path_len bytes of path (no NUL).
 * crc covers everything after the crc field, path included. */
struct bkj_rec {
	uint32_t magic;
	uint32_t len; /* of the whole record */
	uint32_t crc;
	uint32_t path_len;
	uint64_t seq; /* capture order, across both journal files */
	uint64_t file_id;
	int64_t time_ns;
	uint64_t size;
	uint32_t reason, method, pid, uid, owner_uid, owner_gid, mode, pad;
	int64_t atime_ns, mtime_ns;
	char comm[BK_COMM_MAX];
	char object[BK_OBJECT_MAX];
};

/* Extents of the staging file (staging.c): reserved in order. */
#define BKST_SLOTS 512

struct bks_stage {
	unsigned char *map; /* all of the staging file, shared; NULL: none */
	uint64_t size, data_size;
	char path[128];
	bool foreign; /* a file of that name not ours: staging off */
	/* The file a crashed run left, mapped for the replay. */
	unsigned char *old_map;
	uint64_t old_size;
	unsigned restored; /* versions the replay completed from it */
	pthread_mutex_t lock; /* what follows */
	uint64_t head, tail; /* reservations made, released in order */
	uint64_t head_off; /* next free data offset */
	uint64_t used; /* bytes reserved */
	bool busy[BKST_SLOTS];
	uint64_t off[BKST_SLOTS], alen[BKST_SLOTS];
	_Atomic uint64_t staged; /* versions published */
	_Atomic uint64_t no_room; /* reservations refused, the area full */
};

/* A version captured and waiting for the committer (committer.c). */
struct bks_item {
	struct bks_item *next;
	int err;
	uint64_t seq; /* its journal record's */
	/* Staged: its content is in the staging file (extent stage - 1); the
	 * committer makes and writes its file in objects/. */
	unsigned stage;
	bool lost; /* it could not be written: no row */

	struct bk_version v; /* v.object: its file, in objects/ already */
};

struct bk_store {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[BKS_NSTMT];
	uint64_t total; /* sum of the sizes of every row */
	/* total plus the sizes of the versions captured and not yet
	 * committed: what bk_store_bytes reads, without a lock (the capture
	 * path must not wait for the committer's transaction). */
	_Atomic uint64_t bytes;
	int dirfd; /* the store directory; holds the flock */
	enum bk_durability durability;
	bool dedupe; /* bk_store_set_dedupe */
	/* Copies and clones the journal's replay completed at open, to be
	 * hashed and shared when dedupe is turned on (dedupe.c). */
	int64_t *replayed;
	size_t n_replayed;
	_Atomic uint64_t deduped; /* versions stored as a second name */
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
		int kind; /* BKS_FILE_* */
		char object[BK_OBJECT_MAX];
	} pool[BKS_POOL];
	bk_commit_hook hook;
	void *hook_arg;
	unsigned completed; /* versions the journal's replay committed */
	unsigned unshared; /* linked versions given their own copy at open */
	/* committer.c.  Counters are sequence numbers of versions: queued
	 * (captured), committed (row inserted, or dropped on failure), synced
	 * (captures durable: bk_store_flush), rows_synced (rows durable: the
	 * committer's own sync, after which the journal may go; FLUSH). */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond; /* work for the committer */
	pthread_cond_t q_done; /* the counters moved */
	pthread_t q_thread;
	bool q_started, q_stop;
	struct bks_item *q_head, **q_tail;
	uint64_t q_queued, q_committed, q_synced, q_rows_synced;
	/* Staged versions queued whose content is not in its file yet: a
	 * sync covers captures up to q_committed only while there are. */
	unsigned q_staged;
	/* A journal record's sequence number is seq_base + q_queued: greater
	 * than any of an earlier run, since the catalog keeps the newest one
	 * committed (meta committed_seq), which the replay skips up to. */
	uint64_t seq_base;

	unsigned q_n; /* versions in the queue */
	unsigned q_hurry; /* threads waiting for the committer */
	int64_t q_first_ns; /* when the queue last became non-empty */
	int64_t q_last_sync_ns; /* CLOCK_MONOTONIC */
	/* CLOCK_MONOTONIC of the last program's sync (bk_store_flush_begin),
	 * 0 before any: while programs sync, records are written back as
	 * they are appended (bks_defer). */
	int64_t q_prog_sync_ns;
	/* <dir>/journal.0 and .1: appends go to j[j_active] (committer.c) */
	struct bks_journal {
		int fd;
		uint64_t len;
		uint64_t last; /* q_queued after its last record */
	} j[2];
	unsigned j_active;
	/* sync.c (FLUSH): the objects named since the last sync and the
	 * objects/xx directories they are in (bit xx of d_dirs), under
	 * q_lock; d_all: one could not be remembered, or a sync failed, so
	 * the next sync is a syncfs.  sync_lock: one sync at a time. */
	char (*d_obj)[BKS_OBJECT_LEN + 1];
	size_t d_n, d_cap;
	uint8_t d_dirs[32];
	bool d_all;
	pthread_mutex_t sync_lock;
	/* The store's file system commits every change of names and sizes
	 * through one write-ahead log (XFS, ext4 with its journal), so one
	 * forced commit makes all earlier ones durable (sync.c).  Set at
	 * open. */
	bool log_ordered;
	struct bks_sync_cost {
		int64_t per_file_ns; /* file-by-file sync, per file (EWMA) */
		int64_t full_ns; /* syncfs (EWMA) */
		unsigned syncs; /* periodic ones */
		uint64_t n_files, n_full, n_ordered; /* syncs made each way */
	} sync_cost; /* under sync_lock */
	struct bks_stage stage;
};

/* store.c: p as the begin functions start it: no file, no name. */
void bks_pending_reset(struct bk_pending *p);
/* store.c: opens objects/<object> new (O_EXCL), for writing. */
int bks_placed_open(struct bk_store *s, const char *object, int *fd);

/* staging.c */
void bks_stage_init(struct bk_store *s);
/* At open, before the replay: maps the staging file a killed run left. */
int bks_stage_recover_open(struct bk_store *s);
/* Replay: writes object's content from that file when it holds it (a
 * published extent of that size): 1, 0 when it does not, or -errno. */
int bks_stage_restore(struct bk_store *s, const char *object, uint64_t size);
/* After the replay: that file is unmapped, and removed once the replay
 * has made what it completed durable. */
void bks_stage_recover_close(struct bk_store *s, bool remove);
void bks_stage_publish(struct bk_store *s, unsigned stage, const char *object,
		       uint64_t len);
/* Writes extent stage's first len bytes into fd from offset 0. */
int bks_stage_write(struct bk_store *s, unsigned stage, int fd, uint64_t len);
/* The bytes of extent stage (until it is released). */
const void *bks_stage_data(struct bk_store *s, unsigned stage);
void bks_stage_release(struct bk_store *s, unsigned stage);
/* More than half the area or the extents waiting for the committer. */
bool bks_stage_pressing(struct bk_store *s);
void bks_stage_close(struct bk_store *s);

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
/* Locked.  Moves s->total and s->bytes by delta together. */
void bks_total_add(struct bk_store *s, int64_t delta);
int bks_insert(struct bk_store *s, struct bk_version *v);
int bks_get(struct bk_store *s, int64_t id, struct bk_version *v);

/* store.c */
void bks_call_hook(struct bk_store *s, const struct bk_version *v, int err);
int bks_new_object_name(char object[BK_OBJECT_MAX]);
/* The name in tmp/ of an object's file: its object name without '/'. */
void bks_tmp_name(const char *object, char name[BKS_OBJECT_HEX + 1]);
/* A named content file in tmp/ with a fresh object name. */
int bks_tmp_create(struct bk_store *s, char object[BK_OBJECT_MAX], int *fd);
int bks_fsync_dir_at(int dfd, const char *name);
/* Inserts v's row for p's object (in objects/ already, durable as the
 * durability asks), then calls the hook; on failure removes the object. */
int bks_insert_version(struct bk_store *s, struct bk_pending *p,
		       struct bk_version *v);

/* link.c */
/* bk_store_commit of a linked p (v->size set from the object). */
int bks_commit_linked(struct bk_store *s, struct bk_pending *p,
		      struct bk_version *v);
/* At open: linked versions whose object has another link get their own
 * copy (s->unshared counts them). */
int bks_unshare_linked(struct bk_store *s);

/* sync.c */
/* Remembers object for the next sync (FLUSH; otherwise nothing).  The
 * _locked form with s->q_lock held. */
void bks_dirty_locked(struct bk_store *s, const char *object);
void bks_dirty(struct bk_store *s, const char *object);
/* Locked.  Whether anything waits for a sync. */
bool bks_dirty_pending_locked(const struct bk_store *s);
void bks_dirty_free(struct bk_store *s);
/* How bks_sync syncs: file by file, one syncfs, or the one that should
 * cost less (measured as it goes; sync.c). */
enum bks_sync_how { BKS_SYNC_FILES, BKS_SYNC_FULL, BKS_SYNC_AUTO, BKS_SYNC_BEGIN };
#define BKS_SYNC_PROBE 16
/* statfs(2)'s f_type of XFS and of ext2/3/4. */
#define BKS_XFS_MAGIC 0x58465342
#define BKS_EXT4_MAGIC 0xEF53
/* Whether the file system of dirfd commits every change of names, sizes
 * and extents in one ordered log (sync.c): XFS, and ext4 with its journal
 * running and without fast commits. */
bool bks_log_ordered(int dirfd);
/* Makes durable every object remembered before the call, the journal and
 * the catalog's rows: *captured and *rows get q_queued and q_committed as
 * they were when it started (what it covers).  0 or -errno. */
int bks_sync(struct bk_store *s, enum bks_sync_how how, uint64_t *captured,
	     uint64_t *rows);
/* BKS_SYNC_BEGIN (log_ordered only): the ordered sync but its force,
 * which bks_sync_end makes (0 or -errno); as BKS_SYNC_FULL where a lost
 * name makes it a syncfs, after which bks_sync_end costs nothing. */
int bks_sync_end(struct bk_store *s);
/* BKS_SYNC_AUTO's choice for files files, given what was measured. */
bool bks_sync_choose_full(const struct bks_sync_cost *c, size_t files);

/* dedupe.c */
/* SHA-256 of the first size bytes of fd (size exactly, or -EIO). */
int bks_hash_fd(int fd, uint64_t size, uint8_t hash[BK_HASH_LEN]);
/* SHA-256 of size bytes at p: 0 or -EIO. */
int bks_hash_mem(const void *p, uint64_t size, uint8_t hash[BK_HASH_LEN]);
/* Whether v's content is hashed and shared: s->dedupe and a copy or a
 * clone. */
bool bks_dedupe_wanted(const struct bk_store *s, const struct bk_version *v);
/* Hashes v's object (in objects/ already, v->size bytes) into v->hash. */
int bks_hash_object(struct bk_store *s, struct bk_version *v);
/* Locked.  The newest copied or cloned object other than v->object with
 * v's hash and size, into other; -ENOENT when there is none. */
int bks_same_content(struct bk_store *s, const struct bk_version *v,
		     char other[BK_OBJECT_MAX]);
/* Locked.  Makes v->object, whose content is in objects/ already, a second
 * name of an identical version's file (atomically: the name always holds
 * the content).  1 when it did, 0 when there is none or it could not be
 * linked (the copy stays: not an error). */
int bks_share_placed(struct bk_store *s, const struct bk_version *v);
/* Not locked.  Names v->object, which does not exist yet, as a second name
 * of an identical version's file.  1 when it did, 0 when not. */
int bks_share_new(struct bk_store *s, const struct bk_version *v);

/* committer.c */
void bks_queue_init(struct bk_store *s);
void bks_journal_close(struct bk_store *s);
/* Opens <dir>/journal.0 and .1 and commits what they record (at open). */
int bks_journal_replay(struct bk_store *s);
/* Captures p as v (FLUSH, PROCESS): journal record, queue. */
int bks_defer(struct bk_store *s, struct bk_pending *p, struct bk_version *v);
/* Waits until what was queued before the call is committed.  Every
 * function that reads the catalog calls it first (not the committer's
 * thread, which never waits for itself). */
void bks_settle(struct bk_store *s);
/* Commits what is queued, stops the thread (close). */
void bks_queue_stop(struct bk_store *s);
void bks_queue_destroy(struct bk_store *s);

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

/* Drops what the page cache holds of a linked version's file (link.c). */
void bks_drop_cached(struct bk_store *s, const char *object);

#endif /* ALTITUDE_BACKUP_STORE_INT_H */
