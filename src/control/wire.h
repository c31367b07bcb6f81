/*
 * wire.h - reading and writing the fields of control and port packets,
 * with bounds checked on every access.  Shared by fltmgrd and libfltlib.
 */
#ifndef ALTITUDE_CONTROL_WIRE_H
#define ALTITUDE_CONTROL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	bool bad; /* an access went out of bounds or a field was malformed */
};

static inline void wire_init(struct wire *w, void *buf, size_t len)
{
	w->buf = buf;
	w->cap = len;
	w->pos = 0;
	w->bad = false;
}

void wire_put_u32(struct wire *w, uint32_t v);
void wire_put_u64(struct wire *w, uint64_t v);
void wire_put_bytes(struct wire *w, const void *p, size_t n);
/* u16 length, then the bytes; NULL is written as an empty string. */
void wire_put_str(struct wire *w, const char *s);

uint32_t wire_get_u32(struct wire *w);
uint64_t wire_get_u64(struct wire *w);
const void *wire_get_bytes(struct wire *w, size_t n);
/* Copies the string (NUL-terminated) into out; empty strings are "". */
bool wire_get_str(struct wire *w, char *out, size_t cap);

#endif /* ALTITUDE_CONTROL_WIRE_H */
