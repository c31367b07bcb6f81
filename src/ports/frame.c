/*
 * frame.c - building and checking port frames; see frame.h and proto.h.
 *
 * Bodies are written and read with control/wire.h, which checks every
 * access against the datagram's size; a reader looks at w.bad once, after
 * the last field, and also insists that nothing is left over.
 */
#include "ports/frame.h"

#include <string.h>
#include <time.h>

#include "control/wire.h"

void pt_hdr_init(struct pt_hdr *h, uint16_t op, size_t body_len)
{
	memset(h, 0, sizeof(*h));
	h->magic = PT_MAGIC;
	h->version = PT_VERSION;
	h->op = op;
	h->length = (uint32_t)(sizeof(*h) + body_len);
}

NTSTATUS pt_hdr_check(const void *buf, size_t got, size_t cap,
		      struct pt_hdr *out)
{
	struct pt_hdr h;

	if (got < sizeof(h) || cap < sizeof(h))
		return STATUS_INVALID_PARAMETER;
	memcpy(&h, buf, sizeof(h));
	*out = h;
	if (h.magic != PT_MAGIC)
		return STATUS_INVALID_PARAMETER;
	if (h.version != PT_VERSION)
		return STATUS_REVISION_MISMATCH;
	if (h.length != got || got > cap)
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

NTSTATUS pt_request_check(const void *buf, size_t got, size_t cap,
			  struct pt_hdr *out)
{
	NTSTATUS st = pt_hdr_check(buf, got, cap, out);

	if (NT_SUCCESS(st) && out->op != PT_OP_SEND)
		st = STATUS_NOT_SUPPORTED;
	if (NT_SUCCESS(st) && got - sizeof(*out) > PT_MAX_DATA)
		st = STATUS_INVALID_PARAMETER;
	return st;
}

NTSTATUS pt_reply_check(const void *buf, size_t got, size_t cap,
			struct pt_hdr *out)
{
	NTSTATUS st = pt_hdr_check(buf, got, cap, out);

	if (NT_SUCCESS(st) && out->op != PT_OP_REPLY)
		st = STATUS_NOT_SUPPORTED;
	if (NT_SUCCESS(st) && got - sizeof(*out) > PT_MAX_DATA)
		st = STATUS_INVALID_PARAMETER;
	return st;
}

NTSTATUS pt_message_check(const struct pt_hdr *h, size_t got)
{
	NTSTATUS st = pt_hdr_check(h, got, got, &(struct pt_hdr){ 0 });

	if (NT_SUCCESS(st) && h->op != PT_OP_MESSAGE)
		st = STATUS_NOT_SUPPORTED;
	if (NT_SUCCESS(st) && (h->flags & PT_MSG_WANTS_REPLY) &&
	    h->arg > PT_MAX_DATA)
		st = STATUS_INVALID_PARAMETER;
	return st;
}

size_t pt_connect_encode(void *body, size_t cap, const char *name,
			 const void *ctx, uint32_t ctx_len)
{
	struct wire w;

	wire_init(&w, body, cap);
	wire_put_str(&w, name);
	wire_put_u32(&w, ctx_len);
	wire_put_bytes(&w, ctx, ctx_len);
	return w.bad ? 0 : w.pos;
}

NTSTATUS pt_connect_decode(const void *body, size_t len, char *name,
			   const void **ctx, uint32_t *ctx_len)
{
	const void *lenp, *np;
	struct wire w;
	uint16_t nlen = 0;

	/* wire_init takes a writable pointer; nothing here writes. */
	wire_init(&w, (void *)(uintptr_t)body, len);
	lenp = wire_get_bytes(&w, sizeof(nlen));
	if (lenp)
		memcpy(&nlen, lenp, sizeof(nlen));
	np = wire_get_bytes(&w, nlen);
	*ctx_len = wire_get_u32(&w);
	*ctx = NULL;
	if (!w.bad && *ctx_len > PT_MAX_CONTEXT)
		w.bad = true;
	if (!w.bad)
		*ctx = wire_get_bytes(&w, *ctx_len);
	name[0] = '\0';
	if (w.bad || w.pos != len) {
		*ctx = NULL;
		*ctx_len = 0;
		return STATUS_INVALID_PARAMETER;
	}
	if (!*ctx_len)
		*ctx = NULL;
	if (!nlen || nlen > PT_MAX_NAME || memchr(np, 0, nlen) ||
	    *(const char *)np != '\\')
		return STATUS_OBJECT_NAME_INVALID;
	memcpy(name, np, nlen);
	name[nlen] = '\0';
	return STATUS_SUCCESS;
}

size_t pt_connect_done_encode(void *body, size_t cap, int64_t now_ns)
{
	struct wire w;

	wire_init(&w, body, cap);
	wire_put_u64(&w, (uint64_t)now_ns);
	wire_put_u32(&w, PT_MAX_DATA);
	return w.bad ? 0 : w.pos;
}

NTSTATUS pt_connect_done_decode(const void *body, size_t len, int64_t *now_ns,
				uint32_t *max_data)
{
	struct wire w;

	wire_init(&w, (void *)(uintptr_t)body, len);
	*now_ns = (int64_t)wire_get_u64(&w);
	*max_data = wire_get_u32(&w);
	if (w.bad || w.pos != len)
		return STATUS_INVALID_PARAMETER;
	return STATUS_SUCCESS;
}

uint32_t pt_reply_copy_len(uint32_t expected, uint32_t given, bool *overflow)
{
	uint64_t padded = ((uint64_t)expected + 7u) & ~(uint64_t)7u;

	*overflow = given > padded;
	return given < expected ? given : expected;
}

int64_t pt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
