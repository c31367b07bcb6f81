/*
 * altbackup.h - what the parts of altbackup share: the connection to the
 * backup filter's \AltitudeBackup port (client.c), restoring a version
 * (restore.c) and printing (output.c).
 *
 * Every function that fails has already said why on stderr, in the form
 * "altbackup: PATH: message", and returns -1.
 */
#ifndef ALTBACKUP_H
#define ALTBACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto.h"
#include "../store.h"

extern bool ab_json; /* --json */

/* "altbackup: PATH: message" (PATH left out when NULL) on stderr. */
void ab_err(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The absolute path of arg without symlinks: realpath(3) when arg exists,
 * else the resolved parent plus the final component, so deleted files
 * (and files under deleted directories) can be named.  -errno on failure.
 */
int ab_resolve(const char *arg, char *out, size_t cap);

/* Connects to the filter's port (once); -1 with the reason printed. */
int ab_connect(void);
void ab_disconnect(void);

/*
 * One request: op on path (absolute), with id / cursor / offset.  out (at
 * least BK_PROTO_MAX_REPLY bytes) gets the reply; *reply its header, *data
 * what follows it.  A reply.error is printed for `shown` and -1 returned.
 */
int ab_call(const char *shown, uint32_t op, const char *path, int64_t id,
	    int64_t cursor, uint64_t offset, unsigned char *out,
	    struct bk_reply *reply, const unsigned char **data);

/* Growing arrays of what the filter returned. */
struct ab_entries {
	struct bk_entry *v;
	size_t n, cap;
};
void ab_entries_free(struct ab_entries *l);

/* Every entry of LIST or DELETED on path, following the cursor. */
int ab_fetch(const char *shown, uint32_t op, const char *path,
	     struct ab_entries *l);
/* INFO: version id of the volume holding path. */
int ab_info(const char *shown, const char *path, int64_t id,
	    struct bk_entry *e);

/* USAGE or PURGE on path ("" every volume); *n replies in *u (malloc'd). */
int ab_usage(const char *shown, uint32_t op, const char *path,
	     struct bk_usage_reply **u, size_t *n);

/*
 * Writes e's content to dest through a temporary file in dest's directory,
 * then one rename over dest; mode, owner (as root) and times as they were.
 */
int ab_restore(const struct bk_entry *e, const char *dest);

/* output.c */
const char *ab_reason_name(uint32_t reason);
void ab_print_entries(const struct bk_entry *v, size_t n, bool with_path);
void ab_print_entry(const struct bk_entry *e);
void ab_print_usage(const struct bk_usage_reply *u, size_t n, bool purge);
void ab_format_size(uint64_t bytes, char *out, size_t cap);

#endif /* ALTBACKUP_H */
