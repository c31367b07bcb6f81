/*
 * proto.h - the backup filter's port protocol (\AltitudeBackup), shared by
 * the filter (port.c) and its user-mode program (altbackup).
 *
 * The program connects with FilterConnectCommunicationPort and calls
 * FilterSendMessage with one struct bk_request; the reply (output buffer)
 * starts with struct bk_reply, followed by `count` struct bk_entry (LIST,
 * DELETED, INFO), or `count` bytes of content (READ), or one struct
 * bk_usage_reply per volume (USAGE, PURGE).  All integers are the host's
 * (the program and fltmgrd run on the same machine).  A request whose
 * size, magic or version is wrong is refused with STATUS_INVALID_PARAMETER
 * (the program sees 0x80070057); reply buffers smaller than
 * sizeof(struct bk_reply) get STATUS_BUFFER_TOO_SMALL.
 *
 * Who sees what: root (uid 0) sees every version.  Any other user sees a
 * version when, at version time, the file's mode granted them read access
 * as the kernel decides it, by class: the owner by S_IRUSR alone, a member
 * of its group by S_IRGRP alone, anyone else by S_IROTH; membership uses
 * the program's groups as of its connection.
 * Versions a user may not see are left out of LIST and DELETED and give
 * EACCES for INFO and READ.  PURGE is for root only (EPERM).
 */
#ifndef ALTITUDE_BACKUP_PROTO_H
#define ALTITUDE_BACKUP_PROTO_H

#include <stdint.h>

#define BK_PORT_NAME L"\\AltitudeBackup"
#define BK_PROTO_MAGIC 0x4b424c41u /* "ALBK" */
#define BK_PROTO_VERSION 2 /* 2: bk_entry's flags and sha256 */
#define BK_PROTO_PATH_MAX 4096
#define BK_PROTO_MAX_REPLY (64 * 1024) /* the port's message limit */

enum bk_op {
	BK_OP_LIST = 1, /* versions of `path` (a file), id > cursor */
	BK_OP_DELETED = 2, /* deleted files under `path` (a directory) */
	BK_OP_INFO = 3, /* one version: `id` */
	BK_OP_READ = 4, /* content of version `id` from `offset` */
	BK_OP_USAGE = 5, /* store totals of every volume (or of `path`'s) */
	BK_OP_PURGE = 6, /* apply the policy now (root); usage after */
};

struct bk_request {
	uint32_t magic; /* BK_PROTO_MAGIC */
	uint32_t version; /* BK_PROTO_VERSION */
	uint32_t op; /* enum bk_op */
	uint32_t flags; /* 0 */
	int64_t id; /* INFO, READ: the version */
	int64_t cursor; /* LIST, DELETED: entries with id > cursor */
	uint64_t offset; /* READ */
	/* Absolute Linux path, NUL-terminated, no symlinks or "..", as the
	 * program resolved it (realpath of the parent + final name); LIST,
	 * DELETED, USAGE and PURGE ("" = every volume); INFO and READ: any
	 * path on the version's volume (ids are unique per volume only). */
	char path[BK_PROTO_PATH_MAX];
};

struct bk_reply {
	int32_t error; /* 0, or a positive errno: ENOENT no such file /
			  version / volume, EACCES not yours, EPERM root
			  only, EINVAL bad request, EIO store failure */
	uint32_t count; /* entries, or content bytes (READ) that follow */
	int64_t cursor; /* LIST, DELETED: pass back for more; 0 = done */
	uint64_t total; /* READ: the version's size */
};

/* One version as the program sees it (the store's struct bk_version, with
 * the absolute Linux path). */
struct bk_entry {
	int64_t id;
	int64_t version;
	int64_t time_ns;
	uint64_t size;
	uint64_t file_id;
	uint32_t reason; /* enum bk_reason (store.h) */
	uint32_t method; /* enum bk_method */
	uint32_t pid;
	uint32_t uid;
	uint32_t owner_uid, owner_gid, mode;
	uint32_t exists; /* DELETED: 0; LIST/INFO: 1 if the path exists now */
	int64_t atime_ns, mtime_ns;
	uint32_t flags; /* BK_ENTRY_* */
	uint32_t pad; /* 0 */
	uint8_t sha256[32]; /* the content's, with BK_ENTRY_HASHED */
	char comm[16];
	char path[BK_PROTO_PATH_MAX]; /* absolute Linux path */
};

/* The version's content was hashed (the filter's ContentHash). */
#define BK_ENTRY_HASHED 0x1u

struct bk_usage_reply {
	char volume[256]; /* the Linux directory the volume covers */
	char store[1024]; /* the store directory */
	uint64_t versions, bytes, disk_bytes, paths;
	int64_t oldest_ns, newest_ns;
	uint64_t max_store_bytes; /* the policy's limit, 0 none */
	uint64_t evicted, freed; /* PURGE: what it dropped */
};

#endif /* ALTITUDE_BACKUP_PROTO_H */
