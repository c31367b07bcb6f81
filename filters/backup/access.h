/*
 * access.h - the pure half of the \AltitudeBackup port: checking a request
 * as it arrives, deciding who may see a version, turning a store version
 * into what the program sees, and filling a reply page.  Nothing here
 * touches the store, the volumes or the port, so the rules of proto.h can
 * be tested on their own (tests/unit/test_backup_proto.c).
 */
#ifndef ALTITUDE_BACKUP_ACCESS_H
#define ALTITUDE_BACKUP_ACCESS_H

#include <fltKernel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "store.h"

/*
 * Whether path (at most cap bytes, NUL included) is an absolute Linux path
 * in the form the program must send: NUL-terminated within cap, starting
 * with '/', no empty, "." or ".." component, no trailing '/' except for
 * "/" itself.  The empty string passes only when empty_ok.
 */
bool bk_path_valid(const char *path, size_t cap, bool empty_ok);

/*
 * Copies the program's input into *out and checks it: exactly
 * sizeof(struct bk_request) bytes, magic, version, a known op, flags 0,
 * a cursor >= 0, and a path as bk_path_valid says (empty only for USAGE
 * and PURGE: every volume).  false means STATUS_INVALID_PARAMETER.
 */
bool bk_request_valid(const void *in, size_t len, struct bk_request *out);

/* The access rule of proto.h: root sees everything; anyone else needs
 * the read bit of the class (owner, group, other) the version's mode put
 * them in, as the kernel would have decided at version time. */
bool bk_may_read(const FLT_PORT_LX_CREDENTIALS *c, const struct bk_version *v);
/* PURGE: root only. */
bool bk_may_purge(const FLT_PORT_LX_CREDENTIALS *c);

/* proto.h's error for a store result: 0, ENOENT, or EIO for any other
 * failure. */
int32_t bk_store_errno(int err);

/*
 * Fills *e from v, with the absolute path root + v->path.  false (e
 * undefined) when that does not fit in BK_PROTO_PATH_MAX.
 */
bool bk_entry_fill(struct bk_entry *e, const struct bk_version *v,
		   const char *root, bool exists);

/* Volume-relative -> absolute: root + rel ("/" maps to root itself). */
bool bk_path_join(char *out, size_t cap, const char *root, const char *rel);

/*
 * One reply being filled: the struct bk_reply at the start of the output
 * buffer, then items of one size.  The buffer need not be aligned.
 */
struct bk_page {
	unsigned char *buf;
	size_t cap;
	size_t used; /* bytes, reply header included */
	uint32_t count;
	int64_t last; /* id of the last item added, for the cursor */
	bool more; /* an item did not fit: there is more to fetch */
};

/* cap must be at least sizeof(struct bk_reply). */
void bk_page_init(struct bk_page *pg, void *buf, size_t cap);
/* Appends one item of size bytes with id; false (and pg->more set) when
 * it does not fit. */
bool bk_page_add(struct bk_page *pg, const void *item, size_t size,
		 int64_t id);
/* Writes the reply header (cursor = last id when more, else 0) and
 * returns the bytes to report in *ReturnOutputBufferLength.  An error
 * reply carries no items. */
size_t bk_page_finish(struct bk_page *pg, int32_t error, uint64_t total);

#endif /* ALTITUDE_BACKUP_ACCESS_H */
