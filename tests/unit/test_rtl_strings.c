/*
 * test_rtl_strings.c - the Rtl string routines against Windows' behaviour.
 *
 * Lengths are bytes; every check compares exact lengths, statuses and
 * contents, including what a failing call must leave untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

static size_t wlen(PCWSTR s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* s holds exactly the text of expect (no NUL needed). */
static void assert_ustr(PCUNICODE_STRING s, PCWSTR expect)
{
	size_t n = wlen(expect);

	assert_int_equal(s->Length, n * sizeof(WCHAR));
	assert_memory_equal(s->Buffer, expect, n * sizeof(WCHAR));
}

static int format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rtl_vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- Init ----------------------------------------------------------------- */

static void test_init_unicode(void **state)
{
	UNICODE_STRING s;
	static WCHAR big[40000];

	(void)state;
	RtlInitUnicodeString(&s, L"abc");
	assert_int_equal(s.Length, 6);
	assert_int_equal(s.MaximumLength, 8);
	RtlInitUnicodeString(&s, L"");
	assert_int_equal(s.Length, 0);
	assert_int_equal(s.MaximumLength, 2);
	RtlInitUnicodeString(&s, NULL);
	assert_int_equal(s.Length, 0);
	assert_int_equal(s.MaximumLength, 0);
	assert_null(s.Buffer);

	for (size_t i = 0; i < 39999; i++)
		big[i] = 'x';
	RtlInitUnicodeString(&s, big);
	assert_int_equal(s.Length, 0xFFFC);
	assert_int_equal(s.MaximumLength, 0xFFFE);
	s.Length = 1;
	assert_int_equal(RtlInitUnicodeStringEx(&s, big), STATUS_NAME_TOO_LONG);
	assert_int_equal(s.Length, 1); /* untouched */
	big[32766] = 0;
	assert_int_equal(RtlInitUnicodeStringEx(&s, big), STATUS_SUCCESS);
	assert_int_equal(s.Length, 0xFFFC);
	big[32766] = 'x';
	big[32767] = 0;
	assert_int_equal(RtlInitUnicodeStringEx(&s, big), STATUS_NAME_TOO_LONG);
}

static void test_init_ansi(void **state)
{
	ANSI_STRING a;
	UTF8_STRING u;

	(void)state;
	RtlInitAnsiString(&a, "hello");
	assert_int_equal(a.Length, 5);
	assert_int_equal(a.MaximumLength, 6);
	RtlInitUTF8String(&u, "\xC3\xA9");
	assert_int_equal(u.Length, 2);
	assert_int_equal(u.MaximumLength, 3);
	RtlInitString(&a, NULL);
	assert_int_equal(a.Length, 0);
	assert_int_equal(a.MaximumLength, 0);
	assert_null(a.Buffer);
}

/* ---- Copy and append ------------------------------------------------------- */

static void test_copy(void **state)
{
	WCHAR buf[8];
	UNICODE_STRING d = { 0, sizeof(buf), buf };
	UNICODE_STRING s = RTL_CONSTANT_STRING(L"abcdefghij");

	(void)state;
	memset(buf, 0xAA, sizeof(buf));
	RtlCopyUnicodeString(&d, &s);
	assert_ustr(&d, L"abcdefgh"); /* truncated, no room for a NUL */
	assert_int_equal(d.Length, 16);

	d.MaximumLength = 10;
	RtlCopyUnicodeString(&d, &s);
	assert_ustr(&d, L"abcde");

	UNICODE_STRING small = RTL_CONSTANT_STRING(L"xy");
	d.MaximumLength = sizeof(buf);
	RtlCopyUnicodeString(&d, &small);
	assert_ustr(&d, L"xy");
	assert_int_equal(buf[2], 0); /* NUL where there is room */

	RtlCopyUnicodeString(&d, NULL);
	assert_int_equal(d.Length, 0);
}

static void test_append(void **state)
{
	WCHAR buf[6];
	UNICODE_STRING d = { 0, sizeof(buf), buf };
	UNICODE_STRING s = RTL_CONSTANT_STRING(L"abc");
	UNICODE_STRING empty = { 0, 0, NULL };

	(void)state;
	assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
	assert_ustr(&d, L"abc");
	assert_int_equal(buf[3], 0);
	assert_int_equal(RtlAppendUnicodeStringToString(&d, &s), STATUS_SUCCESS);
	assert_ustr(&d, L"abcabc"); /* exactly full: no NUL */
	assert_int_equal(RtlAppendUnicodeStringToString(&d, &s),
			 STATUS_BUFFER_TOO_SMALL);
	assert_ustr(&d, L"abcabc"); /* unchanged */
	assert_int_equal(RtlAppendUnicodeStringToString(&d, &empty),
			 STATUS_SUCCESS);

	d.Length = 0;
	assert_int_equal(RtlAppendUnicodeToString(&d, L"hello"), STATUS_SUCCESS);
	assert_ustr(&d, L"hello");
	assert_int_equal(RtlAppendUnicodeToString(&d, L"!!"),
			 STATUS_BUFFER_TOO_SMALL);
	assert_ustr(&d, L"hello");
	assert_int_equal(RtlAppendUnicodeToString(&d, L"!"), STATUS_SUCCESS);
	assert_ustr(&d, L"hello!");
	assert_int_equal(RtlAppendUnicodeToString(&d, NULL), STATUS_SUCCESS);
}

/* ---- Compare -------------------------------------------------------------- */

static void test_compare(void **state)
{
	UNICODE_STRING abc = RTL_CONSTANT_STRING(L"abc");
	UNICODE_STRING ABC = RTL_CONSTANT_STRING(L"ABC");
	UNICODE_STRING abd = RTL_CONSTANT_STRING(L"abd");
	UNICODE_STRING ab = RTL_CONSTANT_STRING(L"ab");
	UNICODE_STRING e1 = RTL_CONSTANT_STRING(L"\x00E9t\x00E9");
	UNICODE_STRING e2 = RTL_CONSTANT_STRING(L"\x00C9T\x00C9");

	(void)state;
	assert_int_equal(RtlCompareUnicodeString(&abc, &abc, FALSE), 0);
	assert_int_equal(RtlCompareUnicodeString(&abc, &abd, FALSE), -1);
	assert_int_equal(RtlCompareUnicodeString(&abd, &abc, FALSE), 1);
	assert_int_equal(RtlCompareUnicodeString(&ABC, &abc, FALSE), 'A' - 'a');
	assert_int_equal(RtlCompareUnicodeString(&ABC, &abc, TRUE), 0);
	assert_int_equal(RtlCompareUnicodeString(&ab, &abc, FALSE), -2);
	assert_int_equal(RtlCompareUnicodeString(&abc, &ab, TRUE), 2);
	assert_int_equal(RtlCompareUnicodeString(&e1, &e2, TRUE), 0);
	assert_true(RtlCompareUnicodeString(&e1, &e2, FALSE) > 0);

	assert_true(RtlEqualUnicodeString(&abc, &ABC, TRUE));
	assert_false(RtlEqualUnicodeString(&abc, &ABC, FALSE));
	assert_false(RtlEqualUnicodeString(&abc, &ab, TRUE));
	assert_true(RtlEqualUnicodeString(&e1, &e2, TRUE));

	assert_true(RtlPrefixUnicodeString(&ab, &abc, FALSE));
	assert_true(RtlPrefixUnicodeString(&abc, &abc, FALSE));
	assert_false(RtlPrefixUnicodeString(&abc, &ab, FALSE));
	UNICODE_STRING AB = RTL_CONSTANT_STRING(L"AB");
	assert_false(RtlPrefixUnicodeString(&AB, &abc, FALSE));
	assert_true(RtlPrefixUnicodeString(&AB, &abc, TRUE));

	UNICODE_STRING path = RTL_CONSTANT_STRING(L"\\dir\\file.TXT");
	UNICODE_STRING ext = RTL_CONSTANT_STRING(L".txt");
	assert_true(RtlSuffixUnicodeString(&ext, &path, TRUE));
	assert_false(RtlSuffixUnicodeString(&ext, &path, FALSE));
	assert_false(RtlSuffixUnicodeString(&path, &ext, TRUE));
}

static void test_compare_memory(void **state)
{
	(void)state;
	assert_int_equal(RtlCompareMemory("abcdef", "abcxef", 6), 3);
	assert_int_equal(RtlCompareMemory("abc", "abc", 3), 3);
	assert_int_equal(RtlCompareMemory("abc", "xbc", 3), 0);
	assert_int_equal(RtlCompareMemory("abc", "xbc", 0), 0);
}

/* ---- Case ------------------------------------------------------------------ */

static void test_case_chars(void **state)
{
	(void)state;
	assert_int_equal(RtlUpcaseUnicodeChar('a'), 'A');
	assert_int_equal(RtlUpcaseUnicodeChar('z'), 'Z');
	assert_int_equal(RtlUpcaseUnicodeChar('A'), 'A');
	assert_int_equal(RtlUpcaseUnicodeChar('1'), '1');
	assert_int_equal(RtlUpcaseUnicodeChar('{'), '{');
	assert_int_equal(RtlUpcaseUnicodeChar(0x00E9), 0x00C9); /* é */
	assert_int_equal(RtlUpcaseUnicodeChar(0x00FF), 0x0178); /* ÿ */
	assert_int_equal(RtlUpcaseUnicodeChar(0x00F7), 0x00F7); /* ÷ */
	assert_int_equal(RtlUpcaseUnicodeChar(0x0101), 0x0100); /* ā */
	assert_int_equal(RtlUpcaseUnicodeChar(0x03B1), 0x0391); /* α */
	assert_int_equal(RtlUpcaseUnicodeChar(0x0430), 0x0410); /* а */
	assert_int_equal(RtlUpcaseUnicodeChar(0x0451), 0x0401); /* ё */
	assert_int_equal(RtlUpcaseUnicodeChar(0xD800), 0xD800);
	assert_int_equal(RtlUpcaseUnicodeChar(0xDC80), 0xDC80);
	assert_int_equal(RtlUpcaseUnicodeChar(0xF041), 0xF041);
	assert_int_equal(RtlUpcaseUnicodeChar(0xFFFF), 0xFFFF);

	assert_int_equal(RtlDowncaseUnicodeChar('A'), 'a');
	assert_int_equal(RtlDowncaseUnicodeChar('a'), 'a');
	assert_int_equal(RtlDowncaseUnicodeChar('@'), '@');
	assert_int_equal(RtlDowncaseUnicodeChar(0x00C9), 0x00E9);
	assert_int_equal(RtlDowncaseUnicodeChar(0x0178), 0x00FF);
	assert_int_equal(RtlDowncaseUnicodeChar(0x0391), 0x03B1);
	assert_int_equal(RtlDowncaseUnicodeChar(0x0410), 0x0430);
	assert_int_equal(RtlDowncaseUnicodeChar(0xDC80), 0xDC80);
}

static void test_case_strings(void **state)
{
	UNICODE_STRING src = RTL_CONSTANT_STRING(L"Hello \x00E9\x03B1!");
	UNICODE_STRING d;
	WCHAR buf[4];
	size_t before = rtl_pool_outstanding(RTL_STRING_TAG, NULL);

	(void)state;
	assert_int_equal(RtlUpcaseUnicodeString(&d, &src, TRUE), STATUS_SUCCESS);
	assert_ustr(&d, L"HELLO \x00C9\x0391!");
	assert_int_equal(d.MaximumLength, src.Length);
	assert_int_equal(rtl_pool_outstanding(RTL_STRING_TAG, NULL), before + 1);
	RtlFreeUnicodeString(&d);
	assert_null(d.Buffer);
	assert_int_equal(rtl_pool_outstanding(RTL_STRING_TAG, NULL), before);

	assert_int_equal(RtlDowncaseUnicodeString(&d, &src, TRUE),
			 STATUS_SUCCESS);
	assert_ustr(&d, L"hello \x00E9\x03B1!");
	RtlFreeUnicodeString(&d);

	d = (UNICODE_STRING){ 0, sizeof(buf), buf };
	assert_int_equal(RtlUpcaseUnicodeString(&d, &src, FALSE),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(d.Length, 0);
	UNICODE_STRING s3 = RTL_CONSTANT_STRING(L"ab");
	assert_int_equal(RtlUpcaseUnicodeString(&d, &s3, FALSE), STATUS_SUCCESS);
	assert_ustr(&d, L"AB");

	/* In place. */
	WCHAR inplace[] = L"MiXeD";
	UNICODE_STRING ip = { 10, 12, inplace };
	assert_int_equal(RtlDowncaseUnicodeString(&ip, &ip, FALSE),
			 STATUS_SUCCESS);
	assert_ustr(&ip, L"mixed");
}

static void test_create_free(void **state)
{
	UNICODE_STRING s;
	ANSI_STRING a = { 0 };
	size_t bytes, before = rtl_pool_outstanding(RTL_STRING_TAG, NULL);

	(void)state;
	assert_true(RtlCreateUnicodeString(&s, L"created"));
	assert_ustr(&s, L"created");
	assert_int_equal(s.MaximumLength, 16);
	assert_int_equal(s.Buffer[7], 0);
	assert_int_equal(rtl_pool_outstanding(RTL_STRING_TAG, &bytes),
			 before + 1);
	RtlFreeUnicodeString(&s);
	assert_int_equal(s.Length, 0);
	assert_int_equal(s.MaximumLength, 0);
	assert_int_equal(rtl_pool_outstanding(RTL_STRING_TAG, NULL), before);
	RtlFreeUnicodeString(&s); /* freeing an empty string is harmless */
	RtlFreeAnsiString(&a);
}

/* ---- UTF-8 ----------------------------------------------------------------- */

static void test_utf8_to_unicode(void **state)
{
	WCHAR out[16];
	ULONG n = 0;
	/* "aé€😀" */
	const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";

	(void)state;
	assert_int_equal(RtlUTF8ToUnicodeN(NULL, 0, &n, s, 10), STATUS_SUCCESS);
	assert_int_equal(n, 10); /* 5 units */
	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &n, s, 10),
			 STATUS_SUCCESS);
	assert_int_equal(n, 10);
	assert_int_equal(out[0], 'a');
	assert_int_equal(out[1], 0x00E9);
	assert_int_equal(out[2], 0x20AC);
	assert_int_equal(out[3], 0xD83D);
	assert_int_equal(out[4], 0xDE00);

	/* Too small: whole characters only, never half a surrogate pair. */
	memset(out, 0, sizeof(out));
	assert_int_equal(RtlUTF8ToUnicodeN(out, 8, &n, s, 10),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(n, 6);
	assert_int_equal(out[3], 0);
	assert_int_equal(RtlUTF8ToUnicodeN(out, 3, &n, s, 10),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(n, 2);

	/* Invalid input becomes U+FFFD, one per maximal invalid prefix. */
	const char *bad = "A\xFF" "B\xE2\x82" "C\xED\xA0\x80" "\xC0\xAF";
	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &n, bad,
					   (ULONG)strlen(bad)),
			 STATUS_SOME_NOT_MAPPED);
	static const WCHAR want[] = { 'A', 0xFFFD, 'B', 0xFFFD, 'C', 0xFFFD,
				      0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD };
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Truncated sequence at the end. */
	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &n, "x\xF0\x9F", 3),
			 STATUS_SOME_NOT_MAPPED);
	assert_int_equal(n, 4);
	assert_int_equal(out[1], 0xFFFD);

	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), NULL, s, 10),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &n, NULL, 10),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlUTF8ToUnicodeN(out, sizeof(out), &n, s, 0),
			 STATUS_SUCCESS);
	assert_int_equal(n, 0);
}

static void test_unicode_to_utf8(void **state)
{
	static const WCHAR s[] = { 'a', 0x00E9, 0x20AC, 0xD83D, 0xDE00 };
	char out[16];
	ULONG n = 0;

	(void)state;
	assert_int_equal(RtlUnicodeToUTF8N(NULL, 0, &n, s, sizeof(s)),
			 STATUS_SUCCESS);
	assert_int_equal(n, 10);
	assert_int_equal(RtlUnicodeToUTF8N(out, sizeof(out), &n, s, sizeof(s)),
			 STATUS_SUCCESS);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10);

	assert_int_equal(RtlUnicodeToUTF8N(out, 5, &n, s, sizeof(s)),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(n, 3); /* "a" "é", the euro sign does not fit */

	static const WCHAR lone[] = { 'x', 0xD800, 'y', 0xDC00 };
	assert_int_equal(RtlUnicodeToUTF8N(out, sizeof(out), &n, lone,
					   sizeof(lone)),
			 STATUS_SOME_NOT_MAPPED);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "x\xEF\xBF\xBDy\xEF\xBF\xBD", 8);

	assert_int_equal(RtlUnicodeToUTF8N(out, sizeof(out), &n, s, 3),
			 STATUS_INVALID_PARAMETER); /* odd byte count */
	assert_int_equal(RtlUnicodeToUTF8N(out, sizeof(out), NULL, s, 2),
			 STATUS_INVALID_PARAMETER);
}

static void test_ansi_unicode(void **state)
{
	ANSI_STRING a;
	UNICODE_STRING u;
	WCHAR wbuf[4];
	char abuf[4];

	(void)state;
	RtlInitAnsiString(&a, "caf\xC3\xA9");
	assert_int_equal(RtlAnsiStringToUnicodeString(&u, &a, TRUE),
			 STATUS_SUCCESS);
	assert_ustr(&u, L"caf\x00E9");
	assert_int_equal(u.MaximumLength, 10);
	assert_int_equal(u.Buffer[4], 0);

	ANSI_STRING back;
	assert_int_equal(RtlUnicodeStringToAnsiString(&back, &u, TRUE),
			 STATUS_SUCCESS);
	assert_int_equal(back.Length, 5);
	assert_int_equal(back.MaximumLength, 6);
	assert_string_equal(back.Buffer, "caf\xC3\xA9");
	RtlFreeAnsiString(&back);

	/* Too small without allocation. */
	UNICODE_STRING small = { 0, sizeof(wbuf), wbuf };
	assert_int_equal(RtlAnsiStringToUnicodeString(&small, &a, FALSE),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(small.Length, 0);
	ANSI_STRING sa = { 0, sizeof(abuf), abuf };
	assert_int_equal(RtlUnicodeStringToAnsiString(&sa, &u, FALSE),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(sa.Length, 3);
	assert_string_equal(abuf, "caf");
	/* Truncation keeps whole characters. */
	UNICODE_STRING ee = RTL_CONSTANT_STRING(L"\x00E9\x00E9");
	assert_int_equal(RtlUnicodeStringToAnsiString(&sa, &ee, FALSE),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(sa.Length, 2);
	assert_string_equal(abuf, "\xC3\xA9");
	ANSI_STRING none = { 0, 0, abuf };
	assert_int_equal(RtlUnicodeStringToAnsiString(&none, &ee, FALSE),
			 STATUS_BUFFER_OVERFLOW);
	RtlFreeUnicodeString(&u);
}

/* ---- Integers ----------------------------------------------------------------- */

static void test_integer_to_string(void **state)
{
	WCHAR buf[40];
	UNICODE_STRING s = { 0, sizeof(buf), buf };

	(void)state;
	assert_int_equal(RtlIntegerToUnicodeString(1234, 10, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"1234");
	assert_int_equal(buf[4], 0);
	assert_int_equal(RtlIntegerToUnicodeString(1234, 0, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"1234");
	assert_int_equal(RtlIntegerToUnicodeString(0xBEEF, 16, &s),
			 STATUS_SUCCESS);
	assert_ustr(&s, L"BEEF");
	assert_int_equal(RtlIntegerToUnicodeString(8, 8, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"10");
	assert_int_equal(RtlIntegerToUnicodeString(5, 2, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"101");
	assert_int_equal(RtlIntegerToUnicodeString(0, 10, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"0");
	assert_int_equal(RtlIntegerToUnicodeString(0xFFFFFFFF, 2, &s),
			 STATUS_SUCCESS);
	assert_int_equal(s.Length, 64);
	assert_int_equal(RtlIntegerToUnicodeString(4294967295u, 10, &s),
			 STATUS_SUCCESS);
	assert_ustr(&s, L"4294967295");
	assert_int_equal(RtlIntegerToUnicodeString(1, 3, &s),
			 STATUS_INVALID_PARAMETER);

	/* Digits plus the NUL must fit. */
	s.MaximumLength = 8;
	assert_int_equal(RtlIntegerToUnicodeString(1234, 10, &s),
			 STATUS_BUFFER_OVERFLOW);
	assert_ustr(&s, L"4294967295"); /* unchanged */
	assert_int_equal(RtlIntegerToUnicodeString(123, 10, &s), STATUS_SUCCESS);
	assert_ustr(&s, L"123");
}

static ULONG to_int(PCWSTR text, ULONG base, NTSTATUS expect)
{
	UNICODE_STRING s;
	ULONG v = 0xDEADBEEF;

	RtlInitUnicodeString(&s, text);
	assert_int_equal(RtlUnicodeStringToInteger(&s, base, &v), expect);
	return v;
}

static void test_string_to_integer(void **state)
{
	(void)state;
	assert_int_equal(to_int(L"1234", 10, STATUS_SUCCESS), 1234);
	assert_int_equal(to_int(L"1234", 0, STATUS_SUCCESS), 1234);
	assert_int_equal(to_int(L"  \t42", 0, STATUS_SUCCESS), 42);
	assert_int_equal(to_int(L"-42", 10, STATUS_SUCCESS), (ULONG)-42);
	assert_int_equal(to_int(L"+42", 10, STATUS_SUCCESS), 42);
	assert_int_equal(to_int(L"0x1F", 0, STATUS_SUCCESS), 31);
	assert_int_equal(to_int(L"0xff", 0, STATUS_SUCCESS), 255);
	assert_int_equal(to_int(L"0o17", 0, STATUS_SUCCESS), 15);
	assert_int_equal(to_int(L"0b101", 0, STATUS_SUCCESS), 5);
	assert_int_equal(to_int(L"-0x10", 0, STATUS_SUCCESS), (ULONG)-16);
	assert_int_equal(to_int(L"0X10", 0, STATUS_SUCCESS), 0); /* lower case only */
	assert_int_equal(to_int(L"ff", 16, STATUS_SUCCESS), 255);
	assert_int_equal(to_int(L"0x10", 16, STATUS_SUCCESS), 0); /* no prefix */
	assert_int_equal(to_int(L"777", 8, STATUS_SUCCESS), 511);
	assert_int_equal(to_int(L"1012", 2, STATUS_SUCCESS), 5); /* stops at 2 */
	assert_int_equal(to_int(L"12abc", 10, STATUS_SUCCESS), 12);
	assert_int_equal(to_int(L"", 10, STATUS_SUCCESS), 0);
	assert_int_equal(to_int(L"abc", 10, STATUS_SUCCESS), 0);
	assert_int_equal(to_int(L"4294967295", 10, STATUS_SUCCESS), 4294967295u);
	assert_int_equal(to_int(L"4294967296", 10, STATUS_SUCCESS), 0); /* wraps */
	assert_int_equal(to_int(L"12", 7, STATUS_INVALID_PARAMETER), 0xDEADBEEF);

	UNICODE_STRING counted = { 4, 10, (PWCH)L"12345" }; /* "12" only */
	ULONG v;
	assert_int_equal(RtlUnicodeStringToInteger(&counted, 10, &v),
			 STATUS_SUCCESS);
	assert_int_equal(v, 12);
}

/* ---- Formatting ---------------------------------------------------------------- */

static void test_vformat(void **state)
{
	char buf[64];
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"caf\x00E9");
	ANSI_STRING an = { 3, 3, (PCHAR) "abcdef" };

	(void)state;
	assert_int_equal(format(buf, sizeof(buf), "%d-%u-%x-%s", -5, 7u, 255,
				"str"), 11);
	assert_string_equal(buf, "-5-7-ff-str");
	assert_int_equal(format(buf, sizeof(buf), "[%wZ]", &name), 7);
	assert_string_equal(buf, "[caf\xC3\xA9]");
	format(buf, sizeof(buf), "[%8wZ|%-6ws|%.2ws]", &name, L"ab", L"xyz");
	assert_string_equal(buf, "[   caf\xC3\xA9|ab    |xy]");
	format(buf, sizeof(buf), "%Z|%S|%ls|%C|%wc", &an, L"S", L"ls", 'C',
	       0x20AC);
	assert_string_equal(buf, "abc|S|ls|C|\xE2\x82\xAC");
	format(buf, sizeof(buf), "%I64d %I64x %Id %lld %hhd", (long long)-1,
	       0x123456789ull, (size_t)9, 5ll, 300);
	assert_string_equal(buf, "-1 123456789 9 5 44");
	format(buf, sizeof(buf), "%05d|%-4d|%+d|%*d|%.*s|%.3f|%%", 42, 7, 3, 4, 1,
	       2, "abc", 1.5);
	assert_string_equal(buf, "00042|7   |+3|   1|ab|1.500|%");
	format(buf, sizeof(buf), "%s %wZ %ws", (char *)NULL,
	       (PCUNICODE_STRING)NULL, (PCWSTR)NULL);
	assert_string_equal(buf, "(null) (null) (null)");
	format(buf, sizeof(buf), "%p", (void *)0x1234);
	assert_string_equal(buf, "0x1234");

	/* Truncation keeps counting; the buffer is always terminated. */
	assert_int_equal(format(buf, 4, "%s%wZ", "abcdef", &name), 11);
	assert_string_equal(buf, "abc");
	assert_int_equal(format(NULL, 0, "%wZ", &name), 5);

	int n;
	assert_int_equal(format(buf, sizeof(buf), "%n", &n), -1);
	assert_int_equal(format(buf, sizeof(buf), "%y"), -1);
	assert_int_equal(format(buf, sizeof(buf), "trailing %"), -1);
}

static void test_unicode_printf(void **state)
{
	WCHAR buf[8];
	UNICODE_STRING d = { 0, sizeof(buf), buf };
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"\x00E9t\x00E9");

	(void)state;
	assert_int_equal(RtlUnicodeStringPrintf(&d, "%wZ=%d", &name, 5),
			 STATUS_SUCCESS);
	assert_ustr(&d, L"\x00E9t\x00E9=5");
	assert_int_equal(RtlUnicodeStringPrintf(&d, "%s", "12345678"),
			 STATUS_SUCCESS);
	assert_ustr(&d, L"12345678");
	assert_int_equal(RtlUnicodeStringPrintf(&d, "%s", "123456789"),
			 STATUS_BUFFER_OVERFLOW);
	assert_ustr(&d, L"12345678");
	/* A surrogate pair is not split at the end. */
	assert_int_equal(RtlUnicodeStringPrintf(&d, "1234567\xF0\x9F\x98\x80"),
			 STATUS_BUFFER_OVERFLOW);
	assert_ustr(&d, L"1234567");
	assert_int_equal(RtlUnicodeStringPrintf(&d, "%*d", 5000, 1),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(d.Length, 16);
	assert_int_equal(RtlUnicodeStringPrintf(&d, "%ws", L"\xD83D\xDE00"),
			 STATUS_SUCCESS);
	assert_int_equal(d.Length, 4);
	assert_int_equal(buf[0], 0xD83D);
	assert_int_equal(buf[1], 0xDE00);

	UNICODE_STRING odd = { 0, 7, buf };
	assert_int_equal(RtlUnicodeStringPrintf(&odd, "x"),
			 STATUS_INVALID_PARAMETER);
	UNICODE_STRING bad = { 10, 8, buf };
	assert_int_equal(RtlUnicodeStringPrintf(&bad, "x"),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlUnicodeStringPrintf(NULL, "x"),
			 STATUS_INVALID_PARAMETER);
	UNICODE_STRING zero = { 0, 0, NULL };
	assert_int_equal(RtlUnicodeStringPrintf(&zero, ""), STATUS_SUCCESS);
	assert_int_equal(RtlUnicodeStringPrintf(&zero, "x"),
			 STATUS_BUFFER_OVERFLOW);
}

static void test_cb_printf(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(RtlStringCbPrintfA(buf, sizeof(buf), "%d:%s", 12, "ab"),
			 STATUS_SUCCESS);
	assert_string_equal(buf, "12:ab");
	assert_int_equal(RtlStringCbPrintfA(buf, sizeof(buf), "%s", "1234567"),
			 STATUS_SUCCESS);
	assert_int_equal(RtlStringCbPrintfA(buf, sizeof(buf), "%s", "12345678"),
			 STATUS_BUFFER_OVERFLOW);
	assert_string_equal(buf, "1234567");
	assert_int_equal(RtlStringCbPrintfA(buf, 0, "x"),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlStringCbPrintfA(NULL, 4, "x"),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlStringCbPrintfA(buf, (SIZE_T)1 << 40, "x"),
			 STATUS_INVALID_PARAMETER);
}

/* ---- ntstrsafe ------------------------------------------------------------------ */

static void test_cb_copy_length(void **state)
{
	WCHAR buf[4];
	SIZE_T len = 99;

	(void)state;
	assert_int_equal(RtlStringCbCopyW(buf, sizeof(buf), L"abc"),
			 STATUS_SUCCESS);
	assert_memory_equal(buf, L"abc", 8);
	assert_int_equal(RtlStringCbCopyW(buf, sizeof(buf), L"abcd"),
			 STATUS_BUFFER_OVERFLOW);
	assert_memory_equal(buf, L"abc", 8);
	assert_int_equal(RtlStringCbCopyW(buf, 1, L"a"),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlStringCbCopyW(buf, 2, L"a"), STATUS_BUFFER_OVERFLOW);
	assert_int_equal(buf[0], 0);

	assert_int_equal(RtlStringCbLengthW(L"abc", 8, &len), STATUS_SUCCESS);
	assert_int_equal(len, 6);
	assert_int_equal(RtlStringCbLengthW(L"abc", 6, &len),
			 STATUS_INVALID_PARAMETER); /* no NUL within 6 bytes */
	assert_int_equal(len, 0);
	assert_int_equal(RtlStringCbLengthW(L"", 2, &len), STATUS_SUCCESS);
	assert_int_equal(len, 0);
	assert_int_equal(RtlStringCbLengthW(NULL, 2, &len),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlStringCbLengthW(L"ab", 100, NULL), STATUS_SUCCESS);
}

static void test_unicode_copy_cat(void **state)
{
	WCHAR buf[5];
	UNICODE_STRING d = { 0, sizeof(buf), buf };
	UNICODE_STRING ab = RTL_CONSTANT_STRING(L"ab");
	UNICODE_STRING cde = RTL_CONSTANT_STRING(L"cde");

	(void)state;
	assert_int_equal(RtlUnicodeStringCopy(&d, &ab), STATUS_SUCCESS);
	assert_ustr(&d, L"ab");
	assert_int_equal(RtlUnicodeStringCat(&d, &ab), STATUS_SUCCESS);
	assert_ustr(&d, L"abab");
	assert_int_equal(RtlUnicodeStringCat(&d, &cde), STATUS_BUFFER_OVERFLOW);
	assert_ustr(&d, L"ababc");
	assert_int_equal(RtlUnicodeStringCat(&d, &cde), STATUS_BUFFER_OVERFLOW);
	assert_ustr(&d, L"ababc");
	UNICODE_STRING six = RTL_CONSTANT_STRING(L"123456");
	assert_int_equal(RtlUnicodeStringCopy(&d, &six), STATUS_BUFFER_OVERFLOW);
	assert_ustr(&d, L"12345");
	assert_int_equal(RtlUnicodeStringCopy(&d, &cde), STATUS_SUCCESS);
	assert_ustr(&d, L"cde");

	UNICODE_STRING bad = { 3, 10, buf };
	assert_int_equal(RtlUnicodeStringCopy(&bad, &ab),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(RtlUnicodeStringCat(&d, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_ustr(&d, L"cde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_unicode),
		cmocka_unit_test(test_init_ansi),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_compare_memory),
		cmocka_unit_test(test_case_chars),
		cmocka_unit_test(test_case_strings),
		cmocka_unit_test(test_create_free),
		cmocka_unit_test(test_utf8_to_unicode),
		cmocka_unit_test(test_unicode_to_utf8),
		cmocka_unit_test(test_ansi_unicode),
		cmocka_unit_test(test_integer_to_string),
		cmocka_unit_test(test_string_to_integer),
		cmocka_unit_test(test_vformat),
		cmocka_unit_test(test_unicode_printf),
		cmocka_unit_test(test_cb_printf),
		cmocka_unit_test(test_cb_copy_length),
		cmocka_unit_test(test_unicode_copy_cat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
