/*
 * frame.h - building and checking port frames (proto.h).  Pure functions
 * shared by fltmgrd and libfltlib, and the surface tests/fuzz/fuzz_ports.c
 * feeds arbitrary bytes to: none of them trusts a length it did not check.
 */
#ifndef ALTITUDE_PORTS_FRAME_H
#define ALTITUDE_PORTS_FRAME_H

#include <ntdef.h>
#include <ntstatus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ports/proto.h"

/* A header for op with body_len bytes of body; the rest zero. */
void pt_hdr_init(struct pt_hdr *h, uint16_t op, size_t body_len);

/*
 * Checks a received datagram of got bytes (its real size, as MSG_TRUNC
 * reports it) of which buf holds the first min(got, cap).  Copies the header
 * to *out when one is there.  STATUS_SUCCESS, STATUS_INVALID_PARAMETER (too
 * short, bad magic, length != got, or got > cap: truncated) or
 * STATUS_REVISION_MISMATCH.
 */
NTSTATUS pt_hdr_check(const void *buf, size_t got, size_t cap,
		      struct pt_hdr *out);

/*
 * What each side accepts on its channels, on top of pt_hdr_check:
 *  - a request on req (daemon): SEND with at most PT_MAX_DATA of input;
 *    STATUS_NOT_SUPPORTED for another op;
 *  - a reply on rep (daemon): REPLY; STATUS_NOT_SUPPORTED for another op;
 *  - a message on msg (library): MESSAGE, and a reply length of at most
 *    PT_MAX_DATA if it wants one.  got/cap as for pt_hdr_check; the
 *    message's body may be cut (the program's buffer), so cap is not
 *    checked there.
 */
NTSTATUS pt_request_check(const void *buf, size_t got, size_t cap,
			  struct pt_hdr *out);
NTSTATUS pt_reply_check(const void *buf, size_t got, size_t cap,
			struct pt_hdr *out);
NTSTATUS pt_message_check(const struct pt_hdr *h, size_t got);

/* CONNECT body: the port name (UTF-8) and the caller's context. */
size_t pt_connect_encode(void *body, size_t cap, const char *name,
			 const void *ctx, uint32_t ctx_len);
/*
 * Parses a CONNECT body.  name gets the NUL-terminated name (at least
 * PT_MAX_NAME + 1 bytes); *ctx points into body (NULL when empty).
 * STATUS_INVALID_PARAMETER for a malformed body, STATUS_OBJECT_NAME_INVALID
 * for an empty name, one with a NUL or one not starting with '\'.
 */
NTSTATUS pt_connect_decode(const void *body, size_t len, char *name,
			   const void **ctx, uint32_t *ctx_len);

/* CONNECT_DONE body: the daemon's CLOCK_MONOTONIC when CONNECT arrived
 * and PT_MAX_DATA. */
size_t pt_connect_done_encode(void *body, size_t cap, int64_t now_ns);
NTSTATUS pt_connect_done_decode(const void *body, size_t len, int64_t *now_ns,
				uint32_t *max_data);

/*
 * The reply rule (docs/ports.md, "Reply sizes"): a filter waiting with a
 * ReplyBuffer of expected bytes gets min(given, expected) bytes of a reply
 * whose data (after FILTER_REPLY_HEADER) is given bytes long.  Data longer
 * than expected by no more than the padding a compiler adds to
 * struct { FILTER_REPLY_HEADER; T } with sizeof(T) == expected, i.e. up to
 * ALIGN_UP(expected, 8), is that padding and is dropped silently; longer
 * data is an overflow: *overflow is set and FltSendMessage returns
 * STATUS_BUFFER_OVERFLOW.  Returns the number of bytes to copy.
 */
uint32_t pt_reply_copy_len(uint32_t expected, uint32_t given, bool *overflow);

/* CLOCK_MONOTONIC in ns. */
int64_t pt_now_ns(void);

#endif /* ALTITUDE_PORTS_FRAME_H */
