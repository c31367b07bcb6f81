/*
 * wire.c - bounds-checked field access for control and port packets.  Any
 * access past the end, or a string too long for its destination, marks the
 * reader bad; callers check w->bad once after reading everything.
 */
#include "control/wire.h"

#include <string.h>

static bool wire_room(struct wire *w, size_t n)
{
	if (w->bad || n > w->cap - w->pos) {
		w->bad = true;
		return false;
	}
	return true;
}

void wire_put_bytes(struct wire *w, const void *p, size_t n)
{
	if (!wire_room(w, n))
		return;
	if (n)
		memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

void wire_put_u32(struct wire *w, uint32_t v)
{
	wire_put_bytes(w, &v, sizeof(v));
}

void wire_put_u64(struct wire *w, uint64_t v)
{
	wire_put_bytes(w, &v, sizeof(v));
}

void wire_put_str(struct wire *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint16_t len = (uint16_t)n;

	if (n > 0xffff) {
		w->bad = true;
		return;
	}
	wire_put_bytes(w, &len, sizeof(len));
	wire_put_bytes(w, s, n);
}

const void *wire_get_bytes(struct wire *w, size_t n)
{
	const void *p;

	if (!wire_room(w, n))
		return NULL;
	p = w->buf + w->pos;
	w->pos += n;
	return p;
}

uint32_t wire_get_u32(struct wire *w)
{
	const void *p = wire_get_bytes(w, sizeof(uint32_t));
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t wire_get_u64(struct wire *w)
{
	const void *p = wire_get_bytes(w, sizeof(uint64_t));
	uint64_t v = 0;

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

bool wire_get_str(struct wire *w, char *out, size_t cap)
{
	const void *lp = wire_get_bytes(w, sizeof(uint16_t));
	const char *s;
	uint16_t len = 0;

	if (lp)
		memcpy(&len, lp, sizeof(len));
	s = wire_get_bytes(w, len);
	if (!lp || !s || (size_t)len >= cap || memchr(s, 0, len)) {
		w->bad = true;
		if (cap)
			out[0] = 0;
		return false;
	}
	memcpy(out, s, len);
	out[len] = 0;
	return true;
}
