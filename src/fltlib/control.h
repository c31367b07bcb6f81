/*
 * control.h - libfltlib's client of fltmgrd's control socket: one
 * connection per call, one request packet, one reply packet
 * (control/proto.h).  Every management call goes through fl_ctl_call, so
 * the header checks, the "daemon not running" error and the status
 * conversion live in one place.
 */
#ifndef ALTITUDE_FLTLIB_CONTROL_H
#define ALTITUDE_FLTLIB_CONTROL_H

#include <fltUser.h>
#include <stdint.h>

#include "control/proto.h"
#include "control/wire.h"

/*
 * The longest string libfltlib accepts in a reply or sends in a request,
 * in bytes, terminator excluded.  It keeps every information structure's
 * USHORT lengths and offsets in range: four such names in UTF-16 still
 * fit in 64 KiB.
 */
#define FL_STR_MAX 4095

struct fl_ctl {
	uint16_t op;
	uint32_t seq;
	uint8_t *req_buf;
	uint8_t *rep_buf;
	struct wire req; /* the caller writes the request body here */
	struct wire rep; /* after fl_ctl_call: the reply body */
};

/* Starts a request; E_OUTOFMEMORY if the buffers cannot be had. */
HRESULT fl_ctl_begin(struct fl_ctl *c, uint16_t op);
/*
 * Sends the request and reads the reply.  S_OK means the daemon answered
 * STATUS_SUCCESS and c->rep holds the body; otherwise the HRESULT of the
 * daemon's status, of the socket error (the daemon not running is
 * HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)), or
 * HRESULT_FROM_WIN32(ERROR_INVALID_DATA) for a reply that breaks the
 * protocol.
 */
HRESULT fl_ctl_call(struct fl_ctl *c);
/* Releases the buffers; safe after a failed fl_ctl_begin. */
void fl_ctl_end(struct fl_ctl *c);

/* A whole call whose request is at most two strings and whose reply body
 * is empty (load, unload, volume and service calls). */
HRESULT fl_ctl_simple(uint16_t op, const char *s1, const char *s2);

/* HRESULT for a reply body that does not parse. */
#define FL_E_PROTOCOL HRESULT_FROM_WIN32(ERROR_INVALID_DATA)

/*
 * A caller's UTF-16 name as UTF-8 for the wire (FL_STR_MAX bytes at most).
 * NULL gives "" when optional; NULL or "" for a required name is
 * E_INVALIDARG; a name that is too
 * long or not valid UTF-16 gives HRESULT_FROM_WIN32(ERROR_INVALID_NAME).
 */
HRESULT fl_arg_utf8(LPCWSTR in, char out[FL_STR_MAX + 1], bool optional);

#endif /* ALTITUDE_FLTLIB_CONTROL_H */
