/*
 * store.h - the backup filter's version store: content files and the
 * SQLite catalog that describes them.
 *
 * One store per volume, in its own directory outside the volume:
 *
 *   <dir>/catalog.db      SQLite, WAL journal: one row per version
 *   <dir>/objects/xx/...  one file per version's content (never modified)
 *   <dir>/tmp/...         content being written; deleted at open
 *
 * A version of written content becomes visible in three steps (for a
 * linked one, of a deleted or replaced file, see bk_store_begin_link): its
 * content is written to a temporary file in tmp/ (unnamed where the file
 * system allows), linked or renamed into objects/xx/, the content and
 * objects/xx/ are fsync'ed (unless the store is not durable), then its
 * catalog row is inserted.
 * Eviction deletes the row first, then the file.  So a crash at any moment
 * leaves at worst a file in tmp/ or an object without a row, both removed
 * by bk_store_open; a row never points at missing or partial content
 * (bk_store_open also drops a row whose object is gone, e.g. deleted by
 * hand, or does not have the size the row records, and says so).
 *
 * Thread safety: every function may be called from any thread at once; the
 * store serialises its catalog access internally.
 *
 * Errors are negative errno values (0 = success) unless stated otherwise.
 */
#ifndef ALTITUDE_BACKUP_STORE_H
#define ALTITUDE_BACKUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BK_PATH_MAX 4096
#define BK_OBJECT_MAX 64
#define BK_COMM_MAX 16
#define BK_HASH_LEN 32 /* SHA-256 */

/* Why a version was kept (the change that was about to happen). */
enum bk_reason {
	BK_REASON_WRITE = 1, /* first write of an open/modify cycle */
	BK_REASON_TRUNCATE = 2, /* O_TRUNC / superseding open */
	BK_REASON_SETSIZE = 3, /* truncate(2), ftruncate(2), fallocate size */
	BK_REASON_DELETE = 4, /* unlink: the last content */
	BK_REASON_REPLACE = 5, /* rename or link over an existing file */
	BK_REASON_MANUAL = 6, /* kept on request (tests, tools) */
};

/* How the content was stored. */
enum bk_method {
	BK_METHOD_CLONE = 1, /* reflink (FICLONE): shares blocks */
	BK_METHOD_COPY = 2, /* copied bytes */
	/* The file itself, deleted or replaced: its inode kept under a
	 * second name in objects/ (bk_store_begin_link), no byte copied. */
	BK_METHOD_LINK = 3,
};

struct bk_version {
	int64_t id; /* catalog row id: unique in this store, never reused */
	char path[BK_PATH_MAX]; /* volume-relative, "/dir/file" */
	uint64_t file_id; /* inode number of the file at version time */
	int64_t version; /* 1, 2, 3 ... per path (max existing + 1) */
	int64_t time_ns; /* when the version was kept, CLOCK_REALTIME */
	uint64_t size; /* content bytes */
	uint32_t reason; /* enum bk_reason */
	uint32_t method; /* enum bk_method */
	uint32_t pid; /* process whose change caused it (0: unknown) */
	char comm[BK_COMM_MAX]; /* its name (/proc/PID/comm), "" unknown */
	uint32_t uid; /* user whose change caused it */
	uint32_t owner_uid, owner_gid, mode; /* the file's, at version time */
	int64_t atime_ns, mtime_ns; /* the file's times, at version time */
	char object[BK_OBJECT_MAX]; /* content file, relative to objects/ */
	/* SHA-256 of the content, when the store hashes (bk_store_set_dedupe)
	 * and the version was copied or cloned; hashed false otherwise. */
	bool hashed;
	uint8_t hash[BK_HASH_LEN];
};

/* Limits read from the filter's Parameters; 0 means "no limit". */
struct bk_policy {
	uint64_t max_file_size; /* files larger than this are not versioned */
	uint32_t max_versions; /* per path: older ones evicted */
	int64_t max_age_ns; /* versions older than this evicted */
	uint64_t max_store_bytes; /* sum of sizes: oldest evicted first */
	/* Include / exclude: fnmatch(3) patterns (FNM_PATHNAME off, so '*'
	 * crosses '/') matched against the volume-relative path; a pattern
	 * without '/' matches the last component only.  A path is versioned
	 * when it matches an include pattern (or there are none) and no
	 * exclude pattern. */
	char **include;
	size_t n_include;
	char **exclude;
	size_t n_exclude;
};

/* true when path (volume-relative) is versioned under policy p. */
bool bk_policy_wants(const struct bk_policy *p, const char *path);
/* Frees the pattern arrays (not p itself). */
void bk_policy_clear(struct bk_policy *p);

struct bk_store;

/* Totals of one store. */
struct bk_usage {
	uint64_t versions; /* rows */
	uint64_t bytes; /* sum of sizes (clones and shared content counted
			   at full size, once per version) */
	uint64_t disk_bytes; /* st_blocks * 512 of objects/ (what it takes;
				a file with several names counted once) */
	uint64_t paths; /* distinct paths */
	int64_t oldest_ns, newest_ns; /* 0 when empty */
};

/*
 * Opens (creating if needed, mode 0700) the store in dir and recovers it:
 * removes tmp/ leftovers, objects without a row, rows without an object.
 * *recovered (may be NULL) gets the number of items removed.
 */
int bk_store_open(const char *dir, struct bk_store **out, unsigned *recovered);
void bk_store_close(struct bk_store *s);
/*
 * When a version is durable, and what the caller of bk_store_commit waits
 * for (docs/backup.md, "Durability"):
 *
 * POWER    the commit fsyncs the content and its directory, then inserts
 *          the row, in the caller's thread: a version survives a power
 *          failure from the moment bk_store_commit returns.
 * FLUSH    the caller waits only until the version is captured: its
 *          content complete in its file in objects/ and its row recorded
 *          in the journal (committer.c).  The store's committer thread
 *          inserts the rows in batches, and makes what was captured
 *          durable within a second (bk_store_sync: the store's own files
 *          only) and before bk_store_flush returns (one syncfs).  Killing
 *          the process loses nothing: the next bk_store_open completes
 *          every captured version.
 * PROCESS  as FLUSH without any sync: a power failure may lose the newest
 *          versions (never show a partial one).
 *
 * The default is POWER; set it before the first bk_store_begin.
 */
enum bk_durability {
	BK_DURABLE_POWER,
	BK_DURABLE_FLUSH,
	BK_DURABLE_PROCESS,
};
void bk_store_set_durability(struct bk_store *s, enum bk_durability d);
/*
 * Returns once every version committed before the call is durable
 * (FLUSH), or at once (POWER: already durable; PROCESS: never synced).
 * The filter calls it before a program's fsync of a file reaches the disk.
 * 1 when it synced the store, 0 when nothing needed it, or -errno.
 */
int bk_store_flush(struct bk_store *s);
/*
 * FLUSH: the committer's periodic sync, now, in the caller: only the
 * store's own files are synced (the objects named since the last sync,
 * their directories, the journal, the catalog's WAL), not the rest of the
 * file system, whose programs' unsynced data stays unwritten.  Returns as
 * bk_store_flush.
 */
int bk_store_sync(struct bk_store *s);
/*
 * bk_store_flush in two halves around a program's own sync of a file on
 * the store's file system.  Where the store's log is ordered (XFS, ext4
 * with its journal) the first half does everything but force the log,
 * and the second forces it unless the program's sync did (then it costs
 * nothing): *t then says so (t->pending) and must go to
 * bk_store_flush_end once the program's sync is done, whatever its
 * outcome.  Elsewhere the first half is bk_store_flush itself.  begin
 * returns as bk_store_flush (1 when it synced); end returns 1 when it
 * made the versions durable, 0 when there was nothing to do, or -errno.
 * Versions captured before begin are durable when end returns.
 */
struct bk_flush_ticket {
	uint64_t captured, rows; /* what the sync covers */
	bool pending; /* bk_store_flush_end has the rest to do */
};
int bk_store_flush_begin(struct bk_store *s, struct bk_flush_ticket *t);
int bk_store_flush_end(struct bk_store *s, struct bk_flush_ticket *t);
/* What a store did since it was opened, every version captured before
 * the call committed. */
struct bk_store_stats {
	uint64_t deduped; /* versions stored as a second name of identical
			     content (bk_store_set_dedupe) */
	uint64_t syncs_files; /* FLUSH: syncs of the store's own files */
	uint64_t syncs_full; /* FLUSH: syncs that were one syncfs */
	uint64_t syncs_ordered; /* FLUSH: syncs that were one forced commit
				   of the store's log (XFS, ext4 with
				   its journal) */
	uint64_t staged; /* versions copied through the staging area */
	uint64_t staging_full; /* copies that found it full */
	unsigned staged_restored; /* completed from it at open */
};
void bk_store_stats(struct bk_store *s, struct bk_store_stats *st);
/*
 * Called after each version's row is inserted (err 0), or when a version
 * that bk_store_commit accepted could not be committed after all (err <
 * 0, v->id 0): in the caller's thread with POWER, in the committer's
 * otherwise, with no lock of the store held.  The hook may call
 * bk_store_trim, not the functions that read the catalog.
 */
typedef void (*bk_commit_hook)(struct bk_store *s, const struct bk_version *v,
			       int err, void *arg);
void bk_store_set_commit_hook(struct bk_store *s, bk_commit_hook fn, void *arg);
/*
 * Content hashing and deduplication (dedupe.c), off by default.  When on,
 * each copied or cloned version's content is hashed (SHA-256, recorded in
 * its row) as it is committed, and a version whose content is identical to
 * a copied or cloned version already in the store (same hash and size) is
 * stored once: its object becomes a second name of that version's file (a
 * hard link), and the copy just made is dropped.  Versions of deleted or
 * replaced files (BK_METHOD_LINK) are the file itself: neither hashed nor
 * shared.  Set it before the first bk_store_begin; turning it on also
 * hashes and shares the copies and clones bk_store_open completed from
 * the journal.
 */
void bk_store_set_dedupe(struct bk_store *s, bool on);
/* Versions that bk_store_open completed from the journal (captured before
 * the previous owner stopped, not yet committed). */
unsigned bk_store_completed(const struct bk_store *s);
const char *bk_store_dir(const struct bk_store *s);

/* Content being written: a file open O_RDWR, in tmp/ (named or not) or,
 * with FLUSH and PROCESS, in its place in objects/ (no row names it until
 * it is committed). */
struct bk_pending {
	int fd;
	char tmp[BK_PATH_MAX]; /* its path */
	char object[BK_OBJECT_MAX]; /* the name it will get in objects/ */
	bool placed; /* made in objects/ already (FLUSH, PROCESS) */
	bool linked; /* bk_store_begin_link: the caller links the content */
	/* bk_store_stage: the content goes to the staging area instead of
	 * fd; the caller sets staged_len to the bytes it wrote there. */
	unsigned stage;
	uint64_t staged_len;
};

/* Creates the temporary content file (p->fd open for writing). */
int bk_store_begin(struct bk_store *s, struct bk_pending *p);

/*
 * Staged copies (FLUSH and PROCESS; staging.c).  bk_store_set_staging
 * makes a staging area of bytes in shared memory (tmpfs, /dev/shm), once,
 * after bk_store_set_durability and before the store is used; 0 or POWER:
 * none.  -EOPNOTSUPP when /dev/shm is not tmpfs, -EEXIST when a file of its
 * name is not the process's.  bk_store_begin_staged is bk_store_begin for
 * a version of about size bytes whose content goes to that area instead
 * of a file: the caller writes it to *mem (4 KiB aligned, shared with the
 * staging file), at most *cap bytes, sets
 * p->staged_len, and commits p as usual (or aborts it); the program's
 * change then waits for neither a file's creation nor the disk, and the
 * committer writes the file.  -ENOSPC (the area is full), -EFBIG (larger
 * than a quarter of it) or -EOPNOTSUPP (no area, POWER): the caller uses
 * bk_store_begin instead.
 */
int bk_store_set_staging(struct bk_store *s, uint64_t bytes);
bool bk_store_staging(const struct bk_store *s);
int bk_store_begin_staged(struct bk_store *s, struct bk_pending *p,
			  uint64_t size, void **mem, uint64_t *cap);
/*
 * Makes the content durable and visible: fsync p->fd, rename into
 * objects/, fsync the directory, then insert v's row (v->object is set
 * from p; v->id and v->version are assigned and written back).  p->fd is
 * closed in every case.  On failure nothing of p remains.
 *
 * With FLUSH and PROCESS durability the version is captured and the rest
 * left to the committer: v->object and v->size are written back, v->id
 * and v->version stay 0, and the version is seen by every reading
 * function of the store (which first waits for the committer to catch up).
 */
int bk_store_commit(struct bk_store *s, struct bk_pending *p,
		    struct bk_version *v);
/* Drops p (closes and unlinks the temporary file). */
void bk_store_abort(struct bk_store *s, struct bk_pending *p);

/*
 * A version of a file about to be deleted or replaced, kept without a
 * copy (link.c): reserves a fresh object name, p->object, relative to
 * *dirfd (the store's objects/), where the caller gives the file a second
 * name (linkat; on the same file system only).  Then bk_store_commit, as
 * for written content (with any durability), or bk_store_abort, which
 * removes the link if it was made.
 *
 * Until the change goes on, the object and the file are one inode; after
 * it, the caller confirms: bk_store_withdraw when the change did not
 * happen (the file is still there), bk_store_unshare when a handle that
 * can write the file is still open.  A version left sharing its inode by
 * a crash is given its own copy by bk_store_open.
 */
int bk_store_begin_link(struct bk_store *s, struct bk_pending *p, int *dirfd);
/* Removes the version whose object is object (row and file); -ENOENT when
 * there is none (evicted meanwhile). */
int bk_store_withdraw(struct bk_store *s, const char *object);
/* Replaces the content file of object by a copy of its first size bytes
 * (a reflink where the file system shares blocks; size is what the
 * version records), so that nothing outside the store can change it. */
int bk_store_unshare(struct bk_store *s, const char *object, uint64_t size);
/* Versions bk_store_open gave their own copy (see bk_store_begin_link). */
unsigned bk_store_unshared(const struct bk_store *s);

/* Opens the content of version id read-only (*fd), fills *v if not NULL.
 * -ENOENT when there is no such version. */
int bk_store_open_version(struct bk_store *s, int64_t id, int *fd,
			  struct bk_version *v);
/* Fills *v for version id; -ENOENT if none. */
int bk_store_get(struct bk_store *s, int64_t id, struct bk_version *v);

/*
 * Calls fn for each version of path (exact match), oldest first, with
 * id > after; stops when fn returns non-zero (that value is returned) or
 * after max calls (0 = no maximum).  Returns 0 at the end.
 */
typedef int (*bk_version_fn)(const struct bk_version *v, void *arg);
int bk_store_list(struct bk_store *s, const char *path, int64_t after,
		  unsigned max, bk_version_fn fn, void *arg);
/*
 * Deleted files under dir ("/" = the whole volume; dir itself excluded):
 * for each path below dir whose newest version has reason
 * BK_REASON_DELETE, calls fn with that newest version, ordered by id, with
 * id > after; same stopping rules.  The caller checks whether the path
 * exists again.
 */
int bk_store_list_deleted(struct bk_store *s, const char *dir, int64_t after,
			  unsigned max, bk_version_fn fn, void *arg);

/* Deletes version id (row, then content file). -ENOENT if none. */
int bk_store_delete(struct bk_store *s, int64_t id);

/*
 * Applies p's limits at time now_ns: for each path keeps the newest
 * max_versions, drops versions older than max_age_ns, then the oldest
 * versions (by time, whole store) until the sum of sizes is at most
 * max_store_bytes - reserve.  *evicted and *freed (may be NULL) get the
 * number of versions and bytes dropped.
 */
int bk_store_enforce(struct bk_store *s, const struct bk_policy *p,
		     int64_t now_ns, uint64_t reserve, uint64_t *evicted,
		     uint64_t *freed);

/*
 * The cheap form for the write path, called after each commit: applies
 * max_versions and max_age_ns to path only, then the store-size limit
 * (from a running total kept in memory, so it costs nothing while the
 * store is under its limit).  Same outputs as bk_store_enforce.
 */
int bk_store_trim(struct bk_store *s, const struct bk_policy *p,
		  const char *path, int64_t now_ns, uint64_t reserve,
		  uint64_t *evicted, uint64_t *freed);

int bk_store_usage(struct bk_store *s, struct bk_usage *u);

/* The running total of version sizes (what max_store_bytes limits),
 * versions captured and not yet committed included. */
uint64_t bk_store_bytes(struct bk_store *s);

#endif /* ALTITUDE_BACKUP_STORE_H */
