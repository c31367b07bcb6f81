/*
 * test_fltlib_proto.c - libfltlib against a control server that breaks
 * the protocol: wrong magic, version, sequence number or length field,
 * short, empty and oversized packets, no reply, and enumeration bodies
 * that lie about their counts and strings, plus random bodies.  Every
 * case must give an error (HRESULT_FROM_WIN32(ERROR_INVALID_DATA) for a
 * reply that breaks the protocol), never a crash, a leak or a handle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fltlib_fake.h"

#define BAD_DATA HRESULT_FROM_WIN32(ERROR_INVALID_DATA)

static int setup(void **state)
{
	(void)state;
	fake_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fake_bad_requests(), 0);
	fake_stop();
	return 0;
}

/* FilterFindFirst on filters: the result, and no handle unless S_OK. */
static HRESULT find_filters(void)
{
	BYTE buf[16384];
	HANDLE h = NULL;
	DWORD n;
	HRESULT hr;

	hr = FilterFindFirst(FilterAggregateStandardInformation, buf, sizeof(buf),
			     &n, &h);
	if (hr == S_OK) {
		assert_int_equal(FilterFindClose(h), S_OK);
	} else {
		assert_ptr_equal(h, INVALID_HANDLE_VALUE);
	}
	return hr;
}

static void check_breach(enum fake_breach breach, HRESULT expect)
{
	static const char *const names[] = { "f" };
	static const char *const alts[] = { "1" };

	fake_reply(CTL_LOAD, 0);
	fake_breach(CTL_LOAD, breach);
	assert_int_equal(FilterLoad(w16("x")), expect);
	fake_filters(1, names, alts, NULL);
	fake_breach(CTL_ENUM_FILTERS, breach);
	assert_int_equal(find_filters(), expect);
	/* The same reply, correct, works: nothing stuck. */
	fake_breach(CTL_ENUM_FILTERS, FAKE_OK);
	assert_int_equal(find_filters(), S_OK);
}

static void test_bad_magic(void **state)
{
	(void)state;
	check_breach(FAKE_BAD_MAGIC, BAD_DATA);
}

static void test_bad_version(void **state)
{
	(void)state;
	check_breach(FAKE_BAD_VERSION, BAD_DATA);
}

static void test_bad_seq(void **state)
{
	(void)state;
	check_breach(FAKE_BAD_SEQ, BAD_DATA);
}

static void test_bad_length(void **state)
{
	(void)state;
	check_breach(FAKE_BAD_LENGTH, BAD_DATA);
}

static void test_short_packet(void **state)
{
	(void)state;
	check_breach(FAKE_SHORT, BAD_DATA);
}

static void test_oversize_packet(void **state)
{
	(void)state;
	check_breach(FAKE_OVERSIZE, BAD_DATA);
}

static void test_no_reply(void **state)
{
	(void)state;
	check_breach(FAKE_NO_REPLY, HRESULT_FROM_WIN32(ERROR_BROKEN_PIPE));
}

static void test_empty_packet(void **state)
{
	(void)state;
	/* A zero-length packet reads like a closed connection. */
	check_breach(FAKE_EMPTY, HRESULT_FROM_WIN32(ERROR_BROKEN_PIPE));
}

static void test_error_status_ignores_body(void **state)
{
	(void)state;
	/* A failure with a body: the status wins, the body is not read. */
	wire_put_u32(fake_reply(CTL_ENUM_FILTERS, (int32_t)0xC0000022), 1000);
	assert_int_equal(find_filters(), E_ACCESSDENIED);
}

static void test_simple_reply_with_body(void **state)
{
	(void)state;
	wire_put_u32(fake_reply(CTL_LOAD, 0), 5);
	assert_int_equal(FilterLoad(w16("x")), BAD_DATA);
}

/* ---- lying enumeration bodies ---------------------------------------- */

static void put_filter(struct wire *w, const char *name)
{
	wire_put_str(w, name);
	wire_put_str(w, "1000");
	wire_put_u32(w, 1);
	wire_put_u32(w, 0);
	wire_put_u32(w, 0);
}

static void test_count_too_large(void **state)
{
	struct wire *w;

	(void)state;
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 0xFFFFFFFFu);
	put_filter(w, "a");
	assert_int_equal(find_filters(), BAD_DATA);
	/* One more than the entries sent. */
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 2);
	put_filter(w, "a");
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_trailing_bytes(void **state)
{
	struct wire *w;

	(void)state;
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 1);
	put_filter(w, "a");
	wire_put_u32(w, 0);
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_no_count(void **state)
{
	(void)state;
	fake_raw(CTL_ENUM_FILTERS, "\x01\x00", 2);
	assert_int_equal(find_filters(), BAD_DATA);
	fake_raw(CTL_ENUM_FILTERS, "", 0);
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_string_past_end(void **state)
{
	BYTE body[16] = { 1, 0, 0, 0, 0xff, 0x7f, 'a', 'b' };

	(void)state;
	fake_raw(CTL_ENUM_FILTERS, body, 8);
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_string_too_long(void **state)
{
	char *big = malloc(5000);
	struct wire *w;

	(void)state;
	memset(big, 'n', 4999);
	big[4999] = 0;
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 1);
	put_filter(w, big);
	assert_int_equal(find_filters(), BAD_DATA);
	/* The longest accepted name: 4095 bytes. */
	big[4095] = 0;
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 1);
	put_filter(w, big);
	assert_int_equal(find_filters(), S_OK);
	free(big);
}

static void test_string_not_utf8(void **state)
{
	struct wire *w;

	(void)state;
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 1);
	put_filter(w, "bad\xff\xfe");
	assert_int_equal(find_filters(), BAD_DATA);
	w = fake_reply(CTL_ENUM_FILTERS, 0);
	wire_put_u32(w, 1);
	put_filter(w, "cut\xE2\x82");
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_string_with_nul(void **state)
{
	BYTE body[64];
	struct wire w;

	(void)state;
	wire_init(&w, body, sizeof(body));
	wire_put_u32(&w, 1);
	wire_put_bytes(&w, "\x03\x00" "a\0b", 5);
	wire_put_str(&w, "1");
	wire_put_u32(&w, 0);
	wire_put_u32(&w, 0);
	wire_put_u32(&w, 0);
	fake_raw(CTL_ENUM_FILTERS, body, w.pos);
	assert_int_equal(find_filters(), BAD_DATA);
}

static void test_attach_reply_broken(void **state)
{
	WCHAR created[32];

	(void)state;
	fake_raw(CTL_ATTACH, "\x10\x00" "abc", 5);
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\v"), NULL,
				      sizeof(created), created),
			 BAD_DATA);
	fake_raw(CTL_ATTACH, "\x02\x00\xff\xff", 4);
	assert_int_equal(FilterAttach(w16("f"), w16("\\Device\\v"), NULL,
				      sizeof(created), created),
			 BAD_DATA);
}

static void test_volume_resolution_broken(void **state)
{
	(void)state;
	/* The enumeration behind a name lookup breaks: so does the call. */
	fake_raw(CTL_ENUM_VOLUMES, "\x05\x00\x00\x00", 4);
	fake_reply(CTL_ATTACH, 0);
	assert_int_equal(FilterAttach(w16("f"), w16("data"), NULL, 0, NULL),
			 BAD_DATA);
	assert_int_equal(fake_count_op(CTL_ATTACH), 0);
}

/* ---- random bodies --------------------------------------------------- */

static void random_str(struct wire *w, unsigned *seed)
{
	char s[24];
	int i, n = rand_r(seed) % 20;

	for (i = 0; i < n; i++) {
		s[i] = (char)(rand_r(seed) % 200 ? 'a' + rand_r(seed) % 26 :
						  rand_r(seed) % 256);
		if (!s[i])
			s[i] = 'z';
	}
	s[n] = 0;
	wire_put_str(w, s);
}

/* A well-formed body for op (0 to 3 entries), then maybe damaged: a byte
 * changed, cut short or lengthened. */
static size_t random_body(uint16_t op, BYTE *body, size_t cap, unsigned *seed)
{
	/* Strings (s) and numbers (u) of one entry, in wire order. */
	const char *shape = op == CTL_ENUM_FILTERS   ? "ssuuu" :
			    op == CTL_ENUM_INSTANCES ? "ssssuuu" :
			    op == CTL_ENUM_VOLUMES   ? "ssuus" :
						       "ssuss";
	uint32_t count = (uint32_t)(rand_r(seed) % 4);
	struct wire w;
	const char *f;
	uint32_t i;

	wire_init(&w, body, cap);
	wire_put_u32(&w, count);
	for (i = 0; i < count; i++)
		for (f = shape; *f; f++)
			if (*f == 's')
				random_str(&w, seed);
			else
				wire_put_u32(&w, (uint32_t)rand_r(seed));
	switch (rand_r(seed) % 4) {
	case 0:
		break;
	case 1:
		body[rand_r(seed) % w.pos] = (BYTE)rand_r(seed);
		break;
	case 2:
		return (size_t)rand_r(seed) % w.pos;
	default:
		if (w.pos + 4 < cap)
			wire_put_u32(&w, (uint32_t)rand_r(seed));
		break;
	}
	return w.pos;
}

static void test_random_bodies(void **state)
{
	static const uint16_t ops[] = { CTL_ENUM_FILTERS, CTL_ENUM_INSTANCES,
					CTL_ENUM_VOLUMES, CTL_ENUM_SERVICES };
	static BYTE body[512];
	unsigned seed = 12345;
	BYTE buf[4096];
	HANDLE h;
	DWORD n;
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 2000; i++) {
		uint16_t op = ops[i % 4];
		size_t len = random_body(op, body, sizeof(body), &seed);
		HRESULT hr;

		fake_raw(op, body, len);
		switch (op) {
		case CTL_ENUM_FILTERS:
			hr = FilterFindFirst(FilterFullInformation, buf,
					     sizeof(buf), &n, &h);
			break;
		case CTL_ENUM_INSTANCES:
			hr = FilterInstanceFindFirst(w16("f"), InstanceFullInformation,
						     buf, sizeof(buf), &n, &h);
			break;
		case CTL_ENUM_VOLUMES:
			hr = FilterVolumeFindFirst(FilterVolumeLinuxInformation,
						   buf, sizeof(buf), &n, &h);
			break;
		default:
			hr = FilterServiceFindFirst(buf, sizeof(buf), &n, &h);
			break;
		}
		if (hr == S_OK) {
			ok++;
			while (FilterFindNext(h, FilterFullInformation, buf,
					      sizeof(buf), &n) == S_OK)
				;
			assert_true(CloseHandle(h));
		} else {
			assert_true(FAILED(hr));
		}
		fake_clear();
	}
	/* Undamaged bodies with entries parse. */
	print_message("%d of 2000 bodies parsed\n", ok);
	assert_true(ok > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_status_ignores_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_reply_with_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_past_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_not_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_with_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_reply_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_resolution_broken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_bodies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
