/*
 * fuzz_ports.c - libFuzzer target for the wire format of communication
 * ports (src/ports/frame.c): every check either side applies to a datagram
 * before trusting it, and the CONNECT and CONNECT_DONE bodies.  Built and
 * run by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined;
 * the live daemon gets random datagrams in tests/unit/test_ports_robust.c.
 *
 * Besides "no crash, no out-of-bounds access", it checks the properties the
 * rest of the code relies on: an accepted frame's length is the datagram's
 * size and its body fits PT_MAX_DATA; a decoded CONNECT body re-encodes to
 * the same bytes; the reply rule never copies more than either side has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ports/frame.h"

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

static void fuzz_frames(const uint8_t *data, size_t size)
{
	struct pt_hdr h;
	size_t cap = size ? (data[0] * 37u) % (size + 64) : 0;

	if (NT_SUCCESS(pt_hdr_check(data, size, size, &h)))
		CHECK(h.length == size && size >= sizeof(h) &&
		      h.magic == PT_MAGIC && h.version == PT_VERSION);
	/* A buffer smaller than the datagram: it was truncated. */
	if (cap < size)
		CHECK(!NT_SUCCESS(pt_hdr_check(data, size, cap, &h)));
	if (NT_SUCCESS(pt_request_check(data, size, size, &h)))
		CHECK(h.op == PT_OP_SEND && size - sizeof(h) <= PT_MAX_DATA);
	if (NT_SUCCESS(pt_reply_check(data, size, size, &h)))
		CHECK(h.op == PT_OP_REPLY && size - sizeof(h) <= PT_MAX_DATA);
	if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		if (NT_SUCCESS(pt_message_check(&h, size)))
			CHECK(h.op == PT_OP_MESSAGE && h.length == size &&
			      (!(h.flags & PT_MSG_WANTS_REPLY) ||
			       h.arg <= PT_MAX_DATA));
	}
}

static void fuzz_connect(const uint8_t *data, size_t size)
{
	char name[PT_MAX_NAME + 1];
	const void *ctx;
	uint32_t ctx_len;
	int64_t now;
	uint32_t max;

	if (NT_SUCCESS(pt_connect_decode(data, size, name, &ctx, &ctx_len))) {
		uint8_t *again = malloc(size + 1);
		size_t n;

		CHECK(again);
		CHECK(name[0] == '\\' && strlen(name) <= PT_MAX_NAME);
		CHECK(ctx_len <= PT_MAX_CONTEXT && (!ctx_len) == (!ctx));
		CHECK((const uint8_t *)ctx == NULL ||
		      ((const uint8_t *)ctx >= data &&
		       (const uint8_t *)ctx + ctx_len <= data + size));
		n = pt_connect_encode(again, size + 1, name, ctx, ctx_len);
		CHECK(n == size && memcmp(again, data, size) == 0);
		free(again);
	}
	if (NT_SUCCESS(pt_connect_done_decode(data, size, &now, &max)))
		CHECK(size == 12);
}

static void fuzz_reply_rule(const uint8_t *data, size_t size)
{
	uint32_t expected, given, copy;
	bool overflow;

	if (size < 8)
		return;
	memcpy(&expected, data, 4);
	memcpy(&given, data + 4, 4);
	copy = pt_reply_copy_len(expected, given, &overflow);
	CHECK(copy <= expected && copy <= given);
	CHECK(copy == (given < expected ? given : expected));
	CHECK(overflow == ((uint64_t)given > (((uint64_t)expected + 7) & ~7ull)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(data, size);
	fuzz_connect(data, size);
	if (size > sizeof(struct pt_hdr))
		fuzz_connect(data + sizeof(struct pt_hdr),
			     size - sizeof(struct pt_hdr));
	fuzz_reply_rule(data, size);
	return 0;
}
