/*
 * test_keystream.c - the swapbuffers sample's transform: the ChaCha20
 * block function against RFC 8439, and the properties the filter relies
 * on (any range transforms on its own, the transform is its own inverse,
 * different keys differ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keystream.h"

/* RFC 8439, 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00,
 * block counter 1. */
static void test_rfc8439_block(void **state)
{
	static const uint8_t expect[64] = {
		0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd,
		0x1f, 0xa3, 0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0,
		0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2,
		0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05,
		0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e,
		0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
	};
	uint32_t key[8], nonce[3] = { 0x09000000, 0x4a000000, 0 };
	uint8_t out[64];
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		key[i] = (uint32_t)(4 * i) | (uint32_t)(4 * i + 1) << 8 |
			 (uint32_t)(4 * i + 2) << 16 | (uint32_t)(4 * i + 3) << 24;
	ks_chacha20_block(key, 1, nonce, out);
	assert_memory_equal(out, expect, sizeof(expect));
}

/* Transforming [a, b) piecewise at arbitrary offsets equals doing it whole. */
static void test_ranges_compose(void **state)
{
	enum { N = 10000 };
	uint8_t *plain = malloc(N), *whole = malloc(N), *parts = malloc(N);
	struct ks_key k;
	uint64_t base = (1ull << 38) + 13; /* past 2^32 blocks: nonce word */
	size_t at;

	(void)state;
	ks_derive_key("secret", 6, &k);
	srand(7);
	for (at = 0; at < N; at++)
		plain[at] = (uint8_t)rand();
	ks_xor(&k, base, plain, whole, N);
	for (at = 0; at < N;) {
		size_t n = 1 + (size_t)rand() % 300;

		if (n > N - at)
			n = N - at;
		ks_xor(&k, base + at, plain + at, parts + at, n);
		at += n;
	}
	assert_memory_equal(whole, parts, N);
	assert_memory_not_equal(whole, plain, N);
	/* Its own inverse, in place. */
	ks_xor(&k, base, whole, whole, N);
	assert_memory_equal(whole, plain, N);
	free(plain);
	free(whole);
	free(parts);
}

static void test_keys_differ(void **state)
{
	uint8_t zero[256] = { 0 }, a[256], b[256], c[256];
	struct ks_key ka, kb, kc;

	(void)state;
	ks_derive_key("key one", 7, &ka);
	ks_derive_key("key two", 7, &kb);
	/* Longer than one 32-byte chunk: every chunk counts. */
	ks_derive_key("0123456789abcdef0123456789abcdef-x", 34, &kc);
	ks_xor(&ka, 0, zero, a, sizeof(a));
	ks_xor(&kb, 0, zero, b, sizeof(b));
	ks_xor(&kc, 0, zero, c, sizeof(c));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	/* Offsets differ too: no repeating 64-byte pattern. */
	assert_memory_not_equal(a, a + 64, 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8439_block),
		cmocka_unit_test(test_ranges_compose),
		cmocka_unit_test(test_keys_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
