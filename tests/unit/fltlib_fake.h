/*
 * fltlib_fake.h - a fake fltmgrd control server for libfltlib's tests.
 *
 * fake_start binds <temp dir>/control, points ALTITUDE_RUNTIME_DIR at the
 * directory and answers in a thread, one connection at a time.  A test
 * sets the reply for each op (status and body, or a deliberate breach of
 * the protocol) and reads back the requests the library sent.  The server
 * checks every request header itself and counts the bad ones.
 */
#ifndef ALTITUDE_TESTS_FLTLIB_FAKE_H
#define ALTITUDE_TESTS_FLTLIB_FAKE_H

#include <fltUser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/proto.h"
#include "control/wire.h"

#define FAKE_MAX_OPS 16
#define FAKE_LOG 64

/* How to break a reply. */
enum fake_breach {
	FAKE_OK,
	FAKE_BAD_MAGIC,
	FAKE_BAD_VERSION,
	FAKE_BAD_SEQ,
	FAKE_BAD_LENGTH, /* length field one more than the packet */
	FAKE_SHORT, /* a packet shorter than the header */
	FAKE_NO_REPLY, /* close the connection without answering */
	FAKE_OVERSIZE, /* a packet larger than CTL_MAX_PACKET */
	FAKE_EMPTY, /* a zero-length packet */
};

struct fake_reply {
	int32_t status;
	enum fake_breach breach;
	size_t len;
	uint8_t body[CTL_MAX_PACKET];
};

struct fake_request {
	uint16_t op;
	size_t len;
	uint8_t body[CTL_MAX_PACKET];
};

/* Starts the server (a fresh directory, no replies set: every op gets
 * STATUS_NOT_IMPLEMENTED) / stops it and removes the directory. */
void fake_start(void);
void fake_stop(void);
/* The runtime directory, e.g. for a test that makes a directory there. */
const char *fake_dir(void);

/* The reply to op from now on; the body is written with wire.h. */
struct wire *fake_reply(uint16_t op, int32_t status);
void fake_breach(uint16_t op, enum fake_breach breach);
/* The whole reply body, raw. */
void fake_raw(uint16_t op, const void *body, size_t len);

/* Requests received since fake_start (or the last fake_clear). */
size_t fake_count(void);
/* The i-th request; its body is read with the returned wire. */
const struct fake_request *fake_req(size_t i, struct wire *w);
/* Requests of op received. */
size_t fake_count_op(uint16_t op);
/* Requests whose header the server found wrong (must stay 0). */
size_t fake_bad_requests(void);
void fake_clear(void);

/* Reply builders for the enumerations (proto.h's field order). */
void fake_filters(size_t n, const char *const names[],
		  const char *const altitudes[], const uint32_t instances[]);
struct fake_instance {
	const char *filter, *volume, *instance, *altitude;
	uint32_t frame, flags, fs_type;
};
void fake_instances(size_t n, const struct fake_instance *v);
struct fake_volume {
	const char *name, *dos, *fs;
	uint32_t fs_type, flags;
};
void fake_volumes(size_t n, const struct fake_volume *v);

/* UTF-16 helpers: w16("x") is a static NUL-terminated copy (ASCII). */
const WCHAR *w16(const char *ascii);
/* Compares cb bytes of UTF-16 at p with ASCII s. */
bool w16_eq(const void *p, size_t cb, const char *s);

#endif /* ALTITUDE_TESTS_FLTLIB_FAKE_H */
