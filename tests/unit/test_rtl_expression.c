/*
 * test_rtl_expression.c - FsRtlIsNameInExpression, the pattern match of
 * FltQueryDirectoryFile: '*' and '?', literal everything else, case as
 * asked, and no blow-up on patterns that backtrack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ntifs.h>

static BOOLEAN match(const char *expr, const char *name, BOOLEAN ic)
{
	WCHAR e[256], n[256];
	UNICODE_STRING es = { 0, sizeof(e), e }, ns = { 0, sizeof(n), n };
	size_t i;

	for (i = 0; expr[i]; i++)
		e[i] = (WCHAR)(unsigned char)expr[i];
	es.Length = (USHORT)(i * sizeof(WCHAR));
	for (i = 0; name[i]; i++)
		n[i] = (WCHAR)(unsigned char)name[i];
	ns.Length = (USHORT)(i * sizeof(WCHAR));
	return FsRtlIsNameInExpression(&es, &ns, ic, NULL);
}

static void test_literals(void **state)
{
	(void)state;
	assert_true(match("a.txt", "a.txt", FALSE));
	assert_false(match("a.txt", "a.tx", FALSE));
	assert_false(match("a.txt", "a.txtx", FALSE));
	assert_false(match("A.TXT", "a.txt", FALSE));
	assert_true(match("A.TXT", "a.txt", TRUE));
	assert_true(match("", "", FALSE));
	assert_false(match("", "a", FALSE));
	/* DOS wildcards are ordinary characters. */
	assert_false(match("<.txt", "a.txt", FALSE));
	assert_true(match("a\"b", "a\"b", FALSE));
}

static void test_wildcards(void **state)
{
	(void)state;
	assert_true(match("*", "", FALSE));
	assert_true(match("*", "anything", FALSE));
	assert_true(match("*.txt", "a.txt", FALSE));
	assert_true(match("*.txt", ".txt", FALSE));
	assert_false(match("*.txt", "a.txt.bak", FALSE));
	assert_true(match("*.txt*", "a.txt.bak", FALSE));
	assert_true(match("f?le", "file", FALSE));
	assert_false(match("f?le", "fle", FALSE));
	assert_true(match("??", "ab", FALSE));
	assert_false(match("??", "abc", FALSE));
	assert_true(match("a*b*c", "aXXbYYbZZc", FALSE));
	assert_false(match("a*b*c", "aXXbYYbZZ", FALSE));
	assert_true(match("*a*", "bab", FALSE));
	assert_true(match("**x", "x", FALSE));
	assert_true(match("*?", "a", FALSE));
	assert_false(match("*?", "", FALSE));
	assert_true(match("*.TXT", "notes.txt", TRUE));
}

/* A pattern that makes naive recursion exponential stays fast. */
static void test_backtracking(void **state)
{
	char name[201], expr[64];

	(void)state;
	memset(name, 'a', 200);
	name[200] = 0;
	strcpy(expr, "*a*a*a*a*a*a*a*a*a*a*a*a*b");
	assert_false(match(expr, name, FALSE));
	name[199] = 'b';
	assert_true(match(expr, name, FALSE));
}

static void test_contains_wildcards(void **state)
{
	WCHAR a[] = { 'a', '*' }, b[] = { 'a', 'b' };
	UNICODE_STRING sa = { sizeof(a), sizeof(a), a };
	UNICODE_STRING sb = { sizeof(b), sizeof(b), b };

	(void)state;
	assert_true(FsRtlDoesNameContainWildCards(&sa));
	assert_false(FsRtlDoesNameContainWildCards(&sb));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_backtracking),
		cmocka_unit_test(test_contains_wildcards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
