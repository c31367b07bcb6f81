/*
 * test_rtl_names.c - the Linux name codec (docs/names.md).
 *
 * Specific cases for each rule, then the property that matters: for 100,000
 * random byte strings (fixed seed; no NUL, no '/'), bytes -> UTF-16 -> bytes
 * is the identity, the UTF-16 holds nothing Windows forbids, and decoding
 * then re-encoding the UTF-16 gives it back unchanged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

static void expect_encode(const char *name, size_t len, const WCHAR *want,
			  size_t n)
{
	WCHAR out[64];
	char back[256];

	assert_int_equal(rtl_name_to_utf16(name, len, out, 64), (ssize_t)n);
	assert_memory_equal(out, want, n * sizeof(WCHAR));
	assert_int_equal(rtl_name_to_utf16(name, len, NULL, 0), (ssize_t)n);
	assert_int_equal(rtl_name_from_utf16(out, n, back, sizeof(back)),
			 (ssize_t)len);
	assert_memory_equal(back, name, len);
	assert_int_equal(back[len], '\0');
}

#define ENC(name, ...)                                                  \
	do {                                                            \
		static const WCHAR w_[] = { __VA_ARGS__ };              \
		expect_encode(name, sizeof(name) - 1, w_,               \
			      sizeof(w_) / sizeof(w_[0]));              \
	} while (0)

static void test_encode_rules(void **state)
{
	(void)state;
	ENC("hello", 'h', 'e', 'l', 'l', 'o');
	ENC("a b.c", 'a', ' ', 'b', '.', 'c');
	/* Forbidden characters move to U+F000 + c. */
	ENC("a:b", 'a', 0xF03A, 'b');
	ENC("\"*:<>?\\|", 0xF022, 0xF02A, 0xF03A, 0xF03C, 0xF03E, 0xF03F,
	    0xF05C, 0xF07C);
	ENC("\x01\x1F\x7F", 0xF001, 0xF01F, 0x7F);
	/* Valid UTF-8. */
	ENC("caf\xC3\xA9", 'c', 'a', 'f', 0xE9);
	ENC("\xE2\x82\xAC", 0x20AC);
	ENC("\xF0\x9F\x98\x80", 0xD83D, 0xDE00);
	ENC("\xF4\x8F\xBF\xBF", 0xDBFF, 0xDFFF);
	ENC("\xEF\x84\x80", 0xF100);
	ENC("\xEF\xBF\xBD", 0xFFFD);
	/* Bytes outside valid UTF-8 become U+DC00 + byte. */
	ENC("\xFF", 0xDCFF);
	ENC("\x80", 0xDC80);
	ENC("a\xC3", 'a', 0xDCC3);
	ENC("\xC3(", 0xDCC3, '(');
	ENC("\xC0\xAF", 0xDCC0, 0xDCAF);                 /* overlong '/' */
	ENC("\xE0\x80\xAF", 0xDCE0, 0xDC80, 0xDCAF);     /* overlong */
	ENC("\xED\xA0\x80", 0xDCED, 0xDCA0, 0xDC80);     /* U+D800 */
	ENC("\xED\xB2\x80", 0xDCED, 0xDCB2, 0xDC80);     /* U+DC80 */
	ENC("\xF4\x90\x80\x80", 0xDCF4, 0xDC90, 0xDC80, 0xDC80); /* > 10FFFF */
	ENC("\xE2\x82", 0xDCE2, 0xDC82);
	/* The borrowed range U+F000..U+F0FF is escaped byte-wise. */
	ENC("\xEF\x80\xBA", 0xDCEF, 0xDC80, 0xDCBA);     /* U+F03A */
	ENC("\xEF\x80\x80", 0xDCEF, 0xDC80, 0xDC80);     /* U+F000 */
	ENC("\xEF\x83\xBF", 0xDCEF, 0xDC83, 0xDCBF);     /* U+F0FF */

	WCHAR none[1];
	assert_int_equal(rtl_name_to_utf16("", 0, none, 1), 0);
}

static void test_encode_errors(void **state)
{
	WCHAR out[4];

	(void)state;
	assert_int_equal(rtl_name_to_utf16("a/b", 3, out, 4), -EINVAL);
	assert_int_equal(rtl_name_to_utf16("a\0b", 3, out, 4), -EINVAL);
	assert_int_equal(rtl_name_to_utf16("abcd", 4, out, 4), 4);
	assert_int_equal(rtl_name_to_utf16("abcde", 5, out, 4), -ENAMETOOLONG);
	assert_int_equal(rtl_name_to_utf16("abc\xF0\x9F\x98\x80", 7, out, 4),
			 -ENAMETOOLONG); /* the pair does not fit */
	assert_int_equal(rtl_name_to_utf16("ab\xEF\x80\xBA", 5, out, 4),
			 -ENAMETOOLONG); /* three escapes do not fit */
}

static ssize_t dec(const WCHAR *in, size_t n, char *out, size_t cap)
{
	return rtl_name_from_utf16(in, n, out, cap);
}

static void test_decode_rules(void **state)
{
	char out[16];

	(void)state;
	static const WCHAR esc[] = { 0xDC80, 0xDCFF, 'x' };
	assert_int_equal(dec(esc, 3, out, sizeof(out)), 3);
	assert_memory_equal(out, "\x80\xFFx", 4);

	/* Any U+F001..U+F07F is its ASCII character, canonical or not. */
	static const WCHAR priv[] = { 0xF03A, 0xF041, 0xF001, 0xF07F };
	assert_int_equal(dec(priv, 4, out, sizeof(out)), 4);
	assert_memory_equal(out, ":A\x01\x7F", 5);

	/* Other private-use characters are plain UTF-8. */
	static const WCHAR f000[] = { 0xF000, 0xF080, 0xF0FF };
	assert_int_equal(dec(f000, 3, out, sizeof(out)), 9);
	assert_memory_equal(out, "\xEF\x80\x80\xEF\x82\x80\xEF\x83\xBF", 9);

	static const WCHAR pair[] = { 0xD83D, 0xDE00 };
	assert_int_equal(dec(pair, 2, out, sizeof(out)), 4);
	assert_memory_equal(out, "\xF0\x9F\x98\x80", 4);
	/* A pair whose low half lies in the escape range is still a pair. */
	static const WCHAR pair2[] = { 0xD800, 0xDC80 };
	assert_int_equal(dec(pair2, 2, out, sizeof(out)), 4);
	assert_memory_equal(out, "\xF0\x90\x82\x80", 4);

	static const WCHAR bad[][2] = {
		{ 0x0000, 'a' }, { '/', 'a' },	  { 0xF02F, 'a' },
		{ 0xDC7F, 'a' }, { 0xDC00, 'a' }, { 0xD800, 'a' },
		{ 'a', 0xD800 }, { 0xDE00, 'a' }, { 0xDBFF, 0xDBFF },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dec(bad[i], 2, out, sizeof(out)), -EINVAL);

	/* The NUL needs room. */
	static const WCHAR abc[] = { 'a', 'b', 'c' };
	assert_int_equal(dec(abc, 3, out, 3), -ENAMETOOLONG);
	assert_int_equal(dec(abc, 3, out, 4), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(dec(abc, 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(dec(abc, 0, out, 0), -ENAMETOOLONG);
	static const WCHAR e[] = { 0xE9 };
	assert_int_equal(dec(e, 1, out, 2), -ENAMETOOLONG);
	assert_int_equal(dec(e, 1, out, 3), 2);
}

/* xorshift64*: a fixed seed makes the random names reproducible. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Appends bytes that exercise every rule: random, ASCII, UTF-8 of all sizes. */
static size_t random_piece(unsigned char *p)
{
	static const uint32_t ranges[][2] = {
		{ 0x80, 0x7FF },      { 0x800, 0xFFFF },  { 0xF000, 0xF0FF },
		{ 0xD800, 0xDFFF },   { 0x10000, 0x10FFFF },
		{ 0x110000, 0x13FFFF },
	};
	uint32_t kind = rng() % 10, cp;

	if (kind < 3) {
		do
			p[0] = (unsigned char)(rng() % 255 + 1);
		while (p[0] == '/');
		return 1;
	}
	if (kind < 4) {
		p[0] = (unsigned char)"\x01\x1F\"*:<>?\\|aZ. "[rng() % 14];
		return 1;
	}
	kind -= 4;
	cp = ranges[kind][0] + rng() % (ranges[kind][1] - ranges[kind][0] + 1);
	/* Encode without validation, so surrogates and > 10FFFF appear too. */
	if (cp < 0x800) {
		p[0] = (unsigned char)(0xC0 | (cp >> 6));
		p[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (unsigned char)(0xE0 | (cp >> 12));
		p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		p[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	p[0] = (unsigned char)(0xF0 | ((cp >> 18) & 0x7));
	p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	p[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

static size_t random_name(unsigned char *buf, size_t max)
{
	size_t len = 0, want = 1 + rng() % (max - 4);

	while (len < want) {
		len += random_piece(buf + len);
		/* Sometimes cut a sequence short. */
		if (rng() % 16 == 0 && len > 1)
			len--;
	}
	return len;
}

/* What the encoder emits: no NUL, '/', forbidden ASCII or stray surrogate. */
static void assert_windows_clean(const WCHAR *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		WCHAR c = w[i];

		assert_true(c >= 0x20);
		assert_true(c != '/');
		assert_null(c < 0x80 ? strchr("\"*:<>?\\|", c) : NULL);
		if (c >= 0xD800 && c <= 0xDBFF) {
			assert_true(i + 1 < n);
			assert_true(w[i + 1] >= 0xDC00 && w[i + 1] <= 0xDFFF);
			i++;
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			assert_true(c >= 0xDC80 && c <= 0xDCFF);
		}
	}
}

static void test_random_round_trip(void **state)
{
	unsigned char name[80];
	char back[400];
	WCHAR w[100], w2[100];

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = random_name(name, 64);
		ssize_t n, m;

		n = rtl_name_to_utf16((char *)name, len, w, 100);
		assert_true(n > 0);
		assert_windows_clean(w, (size_t)n);
		m = rtl_name_from_utf16(w, (size_t)n, back, sizeof(back));
		assert_int_equal(m, (ssize_t)len);
		assert_memory_equal(back, name, len);
		/* The encoder's output is canonical: it survives the other way. */
		assert_int_equal(rtl_name_to_utf16(back, (size_t)m, w2, 100), n);
		assert_memory_equal(w2, w, (size_t)n * sizeof(WCHAR));
	}
}

static void test_paths(void **state)
{
	WCHAR w[64];
	char back[64];
	static const char path[] = "/dir/a:b/\xFF/x\\y";
	static const WCHAR want[] = { '\\', 'd', 'i', 'r', '\\', 'a', 0xF03A,
				      'b', '\\', 0xDCFF, '\\', 'x', 0xF05C,
				      'y' };
	ssize_t n;

	(void)state;
	n = rtl_path_to_utf16(path, sizeof(path) - 1, w, 64);
	assert_int_equal(n, (ssize_t)(sizeof(want) / sizeof(want[0])));
	assert_memory_equal(w, want, sizeof(want));
	assert_int_equal(rtl_path_to_utf16(path, sizeof(path) - 1, NULL, 0), n);
	assert_int_equal(rtl_path_from_utf16(w, (size_t)n, back, sizeof(back)),
			 (ssize_t)(sizeof(path) - 1));
	assert_string_equal(back, path);

	assert_int_equal(rtl_path_to_utf16("/", 1, w, 64), 1);
	assert_int_equal(w[0], '\\');
	assert_int_equal(rtl_path_to_utf16("", 0, w, 64), 0);
	assert_int_equal(rtl_path_to_utf16("a//b/", 5, w, 64), 5);
	assert_int_equal(rtl_path_from_utf16(w, 5, back, sizeof(back)), 5);
	assert_string_equal(back, "a//b/");

	assert_int_equal(rtl_path_to_utf16("/abc", 4, w, 3), -ENAMETOOLONG);
	assert_int_equal(rtl_path_to_utf16("/abc", 4, w, 4), 4);
	assert_int_equal(rtl_path_to_utf16("/a\0c", 4, w, 8), -EINVAL);
	static const WCHAR slash[] = { '\\', 'a', '/', 'b' };
	assert_int_equal(rtl_path_from_utf16(slash, 4, back, sizeof(back)),
			 -EINVAL);
	static const WCHAR lone[] = { '\\', 0xD800, '\\', 'b' };
	assert_int_equal(rtl_path_from_utf16(lone, 4, back, sizeof(back)),
			 -EINVAL);
	static const WCHAR ab[] = { '\\', 'a', '\\', 'b' };
	assert_int_equal(rtl_path_from_utf16(ab, 4, back, 4), -ENAMETOOLONG);
	assert_int_equal(rtl_path_from_utf16(ab, 4, back, 5), 4);
	assert_string_equal(back, "/a/b");
}

static void test_random_paths(void **state)
{
	unsigned char path[200];
	char back[800];
	WCHAR w[300];

	(void)state;
	for (int iter = 0; iter < 10000; iter++) {
		size_t len = 0, parts = 1 + rng() % 4;
		ssize_t n;

		for (size_t i = 0; i < parts; i++) {
			if (rng() % 2 || i)
				path[len++] = '/';
			len += random_name(path + len, 40);
		}
		n = rtl_path_to_utf16((char *)path, len, w, 300);
		assert_true(n > 0);
		assert_int_equal(rtl_path_from_utf16(w, (size_t)n, back,
						     sizeof(back)),
				 (ssize_t)len);
		assert_memory_equal(back, path, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_rules),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_rules),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_random_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
