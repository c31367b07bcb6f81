/*
 * expression.c - FsRtlIsNameInExpression: the wildcard match file systems
 * apply to a directory query's pattern.
 *
 * '*' matches any run of characters, '?' one character.  The DOS
 * wildcards ('<', '>', '"') are ordinary characters here, as they are in
 * Linux names.  The match is the greedy one with a single backtrack point
 * (the last '*'), linear in practice and O(pattern * name) at worst, with
 * no recursion and no allocation.
 */
#include <ntifs.h>
#include <stdbool.h>
#include <stdint.h>

static bool rtl_char_eq(WCHAR a, WCHAR b, bool ignore_case)
{
	if (a == b)
		return true;
	return ignore_case && RtlUpcaseUnicodeChar(a) == RtlUpcaseUnicodeChar(b);
}

BOOLEAN NTAPI FsRtlIsNameInExpression(PUNICODE_STRING Expression,
				      PUNICODE_STRING Name, BOOLEAN IgnoreCase,
				      PWCH UpcaseTable)
{
	size_t pn, sn, pi = 0, si = 0, star = SIZE_MAX, mark = 0;
	const WCHAR *p, *s;

	(void)UpcaseTable;
	if (!Expression || !Name)
		return FALSE;
	p = Expression->Buffer;
	s = Name->Buffer;
	pn = Expression->Length / sizeof(WCHAR);
	sn = Name->Length / sizeof(WCHAR);
	while (si < sn) {
		if (pi < pn && p[pi] == L'*') {
			star = pi++;
			mark = si;
		} else if (pi < pn &&
			   (p[pi] == L'?' || rtl_char_eq(p[pi], s[si], IgnoreCase))) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			/* Let the last '*' take one more character. */
			pi = star + 1;
			si = ++mark;
		} else {
			return FALSE;
		}
	}
	while (pi < pn && p[pi] == L'*')
		pi++;
	return pi == pn;
}

BOOLEAN NTAPI FsRtlDoesNameContainWildCards(PUNICODE_STRING Name)
{
	size_t i;

	if (!Name)
		return FALSE;
	for (i = 0; i < Name->Length / sizeof(WCHAR); i++)
		if (Name->Buffer[i] == L'*' || Name->Buffer[i] == L'?')
			return TRUE;
	return FALSE;
}
