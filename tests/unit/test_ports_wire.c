/*
 * test_ports_wire.c - the frame codec of communication ports (frame.c) and
 * the access check of security descriptors, without sockets: header
 * checks, CONNECT bodies, the reply-size rule of docs/ports.md, and which
 * credentials a descriptor grants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ports/frame.h"
#include "ports/pt.h"

static void test_hdr_check(void **state)
{
	uint8_t buf[64] = { 0 };
	struct pt_hdr h, out;

	(void)state;
	pt_hdr_init(&h, PT_OP_SEND, 8);
	assert_int_equal(h.length, sizeof(h) + 8);
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 8, sizeof(buf), &out),
			 STATUS_SUCCESS);
	assert_int_equal(out.op, PT_OP_SEND);
	/* length must be the datagram's size */
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 7, sizeof(buf), &out),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 9, sizeof(buf), &out),
			 STATUS_INVALID_PARAMETER);
	/* truncated: the datagram was bigger than the buffer */
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 8, sizeof(h) + 4, &out),
			 STATUS_INVALID_PARAMETER);
	/* too short for a header */
	assert_int_equal(pt_hdr_check(buf, sizeof(h) - 1, sizeof(buf), &out),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(pt_hdr_check(buf, 0, sizeof(buf), &out),
			 STATUS_INVALID_PARAMETER);
	h.version = PT_VERSION + 1;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 8, sizeof(buf), &out),
			 STATUS_REVISION_MISMATCH);
	h.version = PT_VERSION;
	h.magic ^= 1;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(pt_hdr_check(buf, sizeof(h) + 8, sizeof(buf), &out),
			 STATUS_INVALID_PARAMETER);
}

static void test_connect_body(void **state)
{
	uint8_t body[512];
	char name[PT_MAX_NAME + 1];
	const void *ctx;
	uint32_t ctx_len;
	size_t n;

	(void)state;
	n = pt_connect_encode(body, sizeof(body), "\\Port", "abc", 3);
	assert_true(n > 0);
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_SUCCESS);
	assert_string_equal(name, "\\Port");
	assert_int_equal(ctx_len, 3);
	assert_memory_equal(ctx, "abc", 3);
	/* no context */
	n = pt_connect_encode(body, sizeof(body), "\\P", NULL, 0);
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_SUCCESS);
	assert_null(ctx);
	assert_int_equal(ctx_len, 0);
	/* every truncation is malformed, a trailing byte too */
	n = pt_connect_encode(body, sizeof(body), "\\Port", "abc", 3);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(pt_connect_decode(body, cut, name, &ctx,
						   &ctx_len),
				 STATUS_INVALID_PARAMETER);
	assert_int_equal(pt_connect_decode(body, n + 1, name, &ctx, &ctx_len),
			 STATUS_INVALID_PARAMETER);
	/* a context length that lies */
	body[2 + 5] = 0xff;
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_INVALID_PARAMETER);
	/* names: must start with '\', no NUL, not empty, not too long */
	n = pt_connect_encode(body, sizeof(body), "Port", NULL, 0);
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_OBJECT_NAME_INVALID);
	n = pt_connect_encode(body, sizeof(body), "", NULL, 0);
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_OBJECT_NAME_INVALID);
	n = pt_connect_encode(body, sizeof(body), "\\A?B", NULL, 0);
	body[4] = '\0';
	assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
			 STATUS_OBJECT_NAME_INVALID);
	{
		char longname[PT_MAX_NAME + 2];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[0] = '\\';
		longname[sizeof(longname) - 1] = 0;
		n = pt_connect_encode(body, sizeof(body), longname, NULL, 0);
		assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
				 STATUS_OBJECT_NAME_INVALID);
		longname[sizeof(longname) - 2] = 0;
		n = pt_connect_encode(body, sizeof(body), longname, NULL, 0);
		assert_int_equal(pt_connect_decode(body, n, name, &ctx, &ctx_len),
				 STATUS_SUCCESS);
	}
	/* the encoder refuses what does not fit */
	assert_int_equal(pt_connect_encode(body, 4, "\\Port", NULL, 0), 0);
}

static void test_connect_done_body(void **state)
{
	uint8_t body[32];
	int64_t now;
	uint32_t max;
	size_t n;

	(void)state;
	n = pt_connect_done_encode(body, sizeof(body), 123456789);
	assert_int_equal(pt_connect_done_decode(body, n, &now, &max),
			 STATUS_SUCCESS);
	assert_int_equal(now, 123456789);
	assert_int_equal(max, PT_MAX_DATA);
	assert_int_equal(pt_connect_done_decode(body, n - 1, &now, &max),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(pt_connect_done_decode(body, n + 1, &now, &max),
			 STATUS_INVALID_PARAMETER);
}

/* The reply rule: shorter is fine, padding is dropped, more overflows. */
static void test_reply_rule(void **state)
{
	struct scanner_reply_message {
		FILTER_REPLY_HEADER h;
		BOOLEAN safe;
	};
	struct doc_reply {
		FILTER_REPLY_HEADER h;
		ULONG a;
		USHORT b;
	};
	bool ovf;

	(void)state;
	/* The scanner sample: ReplyLength sizeof(SCANNER_REPLY) == 1, the
	 * program sends sizeof(SCANNER_REPLY_MESSAGE) == 24. */
	assert_int_equal(sizeof(struct scanner_reply_message), 24);
	assert_int_equal(pt_reply_copy_len(1, 24 - sizeof(FILTER_REPLY_HEADER),
					   &ovf),
			 1);
	assert_false(ovf);
	/* The documentation's advice: both sides header + sizeof(data). */
	assert_int_equal(pt_reply_copy_len(16 + 6, 6, &ovf), 6);
	assert_false(ovf);
	/* sizeof(REPLY_STRUCT) with ReplyLength sizeof(MY_STRUCT) (6 -> 8). */
	assert_int_equal(pt_reply_copy_len(6, sizeof(struct doc_reply) - 16,
					   &ovf),
			 6);
	assert_false(ovf);
	/* Shorter replies. */
	assert_int_equal(pt_reply_copy_len(100, 0, &ovf), 0);
	assert_false(ovf);
	assert_int_equal(pt_reply_copy_len(0, 0, &ovf), 0);
	assert_false(ovf);
	/* Beyond the padding: overflow, the filter gets what it asked for. */
	assert_int_equal(pt_reply_copy_len(1, 9, &ovf), 1);
	assert_true(ovf);
	assert_int_equal(pt_reply_copy_len(8, 9, &ovf), 8);
	assert_true(ovf);
	assert_int_equal(pt_reply_copy_len(8, 8, &ovf), 8);
	assert_false(ovf);
	assert_int_equal(pt_reply_copy_len(0, 1, &ovf), 0);
	assert_true(ovf);
	assert_int_equal(pt_reply_copy_len(0xffffffffu, 0xffffffffu, &ovf),
			 0xffffffffu);
	assert_false(ovf);
}

static void test_sd_access(void **state)
{
	struct pt_sd sd;
	gid_t groups[] = { 10, 20 };
	PSECURITY_DESCRIPTOR p;

	(void)state;
	/* NULL descriptor: root only, all access. */
	assert_true(pt_sd_copy(&sd, NULL));
	assert_int_equal(pt_sd_access(&sd, 0, 0, NULL, 0), FLT_PORT_ALL_ACCESS);
	assert_int_equal(pt_sd_access(&sd, 1000, 0, groups, 2), 0);
	/* Not a descriptor of ours. */
	{
		char junk[sizeof(struct pt_sd)] = { 0 };

		assert_false(pt_sd_copy(&sd, junk));
	}
	assert_int_equal(FltBuildDefaultSecurityDescriptor(&p, FLT_PORT_CONNECT),
			 STATUS_SUCCESS);
	FltSetSecurityDescriptorLxAccess(p, 1000, FLT_LX_NO_ID, READ_CONTROL);
	FltSetSecurityDescriptorLxAccess(p, FLT_LX_NO_ID, 20, FLT_PORT_CONNECT);
	assert_true(pt_sd_copy(&sd, p));
	FltFreeSecurityDescriptor(p);
	assert_int_equal(pt_sd_access(&sd, 0, 0, NULL, 0), FLT_PORT_CONNECT);
	assert_int_equal(pt_sd_access(&sd, 1000, 1000, NULL, 0), READ_CONTROL);
	assert_int_equal(pt_sd_access(&sd, 1000, 1000, groups, 2),
			 READ_CONTROL | FLT_PORT_CONNECT);
	assert_int_equal(pt_sd_access(&sd, 1001, 20, NULL, 0), FLT_PORT_CONNECT);
	assert_int_equal(pt_sd_access(&sd, 1001, 21, groups, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_check),
		cmocka_unit_test(test_connect_body),
		cmocka_unit_test(test_connect_done_body),
		cmocka_unit_test(test_reply_rule),
		cmocka_unit_test(test_sd_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
