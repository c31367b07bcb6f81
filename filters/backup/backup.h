/*
 * backup.h - the backup filter's shared state, between the I/O side
 * (backup.c: triggers, keeping versions) and the port side (port.c: the
 * \AltitudeBackup port altbackup talks to).
 */
#ifndef ALTITUDE_BACKUP_BACKUP_H
#define ALTITUDE_BACKUP_BACKUP_H

#include <fltKernel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "store.h"

#define BK_TAG 'kBlA'

/* One attached volume: its instance and its store.  Found and held with
 * bk_volume_find / bk_volume_next, released with bk_volume_put; the store
 * stays open while a reference is held. */
struct bk_volume {
	PFLT_INSTANCE instance;
	char root[BK_PATH_MAX]; /* the Linux directory the volume covers */
	char name[256]; /* the volume's name, "\Device\<name>" in UTF-8 */
	struct bk_store *store;
	unsigned refs; /* under bk.lock */
	bool gone; /* instance torn down: no longer found */
	/* Deleted and replaced files cannot be linked into the store (another
	 * file system, or a lower filter refuses): copy them. */
	_Atomic bool no_link;
	/* A copy was made where a clone was allowed (StoreMethod=auto): the
	 * store does not share blocks, so copies are staged. */
	_Atomic bool copies;
	struct bk_volume *next;
};

struct bk_stats {
	_Atomic uint64_t kept, kept_bytes, cloned, copied, linked, withdrawn,
		unshared, skipped_policy, skipped_full, failed, synced,
		deduped, syncs_files, syncs_full, syncs_ordered, staged,
		staging_full;
};

struct bk_globals {
	PFLT_FILTER filter;
	PFLT_PORT server_port;
	struct bk_policy policy;
	char store_root[BK_PATH_MAX]; /* stores live in <store_root>/<volume> */
	bool clone_only, copy_only; /* StoreMethod parameter */
	int durability; /* enum bk_durability: Durability */
	bool content_hash; /* ContentHash: hash versions, store identical
			      content once (store.h: bk_store_set_dedupe) */
	uint32_t when_full; /* enum bk_when_full */
	uint64_t staging_size; /* StagingSize: bytes, 0: no staging */
	pthread_mutex_t lock; /* the volume list and refs */
	struct bk_volume *volumes;
	struct bk_stats stats;
	/* Deleted files whose version is their inode and which the kernel
	 * still knows (backup.c: BK_STREAM_CONTEXT). */
	_Atomic unsigned deleted_streams;
};

enum bk_when_full {
	BK_FULL_EVICT = 0, /* evict oldest, keep the new version (default) */
	BK_FULL_SKIP = 1, /* keep nothing new, let the change through, log */
	BK_FULL_DENY = 2, /* fail the change with STATUS_DISK_FULL (ENOSPC) */
};

extern struct bk_globals bk;

/* The settings from the service's Parameters key into bk (params.c), the
 * defaults for those absent; a malformed one is logged by name and fails
 * with STATUS_INVALID_PARAMETER. */
NTSTATUS bk_read_parameters(PUNICODE_STRING RegistryPath);

/* The volume whose root is a prefix of abs (an absolute Linux path,
 * component boundary respected); *rel points into abs at the
 * volume-relative part ("/" for the root itself).  NULL if none. */
struct bk_volume *bk_volume_find(const char *abs, const char **rel);
/* Iterates over live volumes: NULL starts; the previous one is released. */
struct bk_volume *bk_volume_next(struct bk_volume *prev);
void bk_volume_put(struct bk_volume *v);

/* Whether rel (volume-relative) names something on the volume now,
 * looked up through the instances below the backup filter's. */
bool bk_path_exists(struct bk_volume *v, const char *rel);

/* port.c */
NTSTATUS bk_port_start(void);
void bk_port_stop(void);

#endif /* ALTITUDE_BACKUP_BACKUP_H */
