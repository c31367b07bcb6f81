/*
 * strings.c - the Rtl string routines with Windows semantics.
 *
 * Lengths are in bytes, strings are counted and need not be NUL-terminated;
 * the routines that add a NUL do so only where Windows does (and where it
 * fits).  RtlAppend* and the Rtl*ToUnicodeString conversions fail without
 * touching the destination when it is too small; RtlCopyUnicodeString and the
 * ntstrsafe routines truncate (the latter saying so with
 * STATUS_BUFFER_OVERFLOW).  Allocating variants take pool under
 * RTL_STRING_TAG; RtlFree*String gives any pool buffer back, as Windows does.
 *
 * "ANSI" is UTF-8 here: it is what a char * means on Linux.  UTF-16 <-> UTF-8
 * conversion replaces each invalid or unpaired sequence with U+FFFD and then
 * returns STATUS_SOME_NOT_MAPPED, a success code, like Windows.  Case
 * folding uses one table per direction built once from the C.UTF-8 locale
 * (towupper on each BMP code point), so it does not depend on the locale the
 * daemon happens to run in; without that locale a built-in subset (ASCII,
 * Latin-1, Latin Extended-A, Greek, Cyrillic) is used.
 *
 * The printf engine (rtl_vformat) is shared with DbgPrint.  It never calls
 * the C library's wide-character functions: those assume a 32-bit wchar_t,
 * while Altitude builds with -fshort-wchar.
 */
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define STRSAFE_MAX_CCH 2147483647u
#define REPLACEMENT_CHAR 0xFFFDu

static bool is_high_surrogate(uint32_t c)
{
	return c >= 0xD800 && c <= 0xDBFF;
}

static bool is_low_surrogate(uint32_t c)
{
	return c >= 0xDC00 && c <= 0xDFFF;
}

static size_t wstrlen(PCWSTR s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- UTF-8 and UTF-16 ----------------------------------------------------- */

/*
 * Scans one UTF-8 sequence.  Returns its length if valid, else minus the
 * length of its maximal invalid prefix (what one U+FFFD replaces).
 */
static int utf8_scan(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b0 = s[0], lo = 0x80, hi = 0xBF;
	int len;
	uint32_t c;

	if (b0 < 0x80) {
		*cp = b0;
		return 1;
	}
	if (b0 < 0xC2 || b0 > 0xF4)
		return -1;
	if (b0 < 0xE0) {
		len = 2;
		c = b0 & 0x1F;
	} else if (b0 < 0xF0) {
		len = 3;
		c = b0 & 0x0F;
		if (b0 == 0xE0)
			lo = 0xA0; /* overlong */
		else if (b0 == 0xED)
			hi = 0x9F; /* surrogates */
	} else {
		len = 4;
		c = b0 & 0x07;
		if (b0 == 0xF0)
			lo = 0x90; /* overlong */
		else if (b0 == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		c = (c << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return len;
}

size_t rtl_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	int r;

	if (n == 0)
		return 0;
	r = utf8_scan(s, n, cp);
	return r > 0 ? (size_t)r : 0;
}

size_t rtl_utf8_encode(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * UTF-8 -> UTF-16, stopping before a character that does not fit in cap
 * units (a surrogate pair is never split).  dst NULL counts everything.
 * Returns units written (or needed); *consumed gets the bytes converted.
 */
static size_t utf8_to_utf16(const unsigned char *s, size_t n, WCHAR *dst,
			    size_t cap, size_t *consumed, bool *replaced)
{
	size_t i = 0, units = 0;

	while (i < n) {
		uint32_t cp;
		int r = utf8_scan(s + i, n - i, &cp);
		size_t need;

		if (r < 0) {
			cp = REPLACEMENT_CHAR;
			*replaced = true;
			r = -r;
		}
		need = cp >= 0x10000 ? 2 : 1;
		if (dst) {
			if (units + need > cap)
				break;
			if (need == 2) {
				dst[units] = (WCHAR)(0xD800 + ((cp - 0x10000) >> 10));
				dst[units + 1] = (WCHAR)(0xDC00 + (cp & 0x3FF));
			} else {
				dst[units] = (WCHAR)cp;
			}
		}
		units += need;
		i += (size_t)r;
	}
	if (consumed)
		*consumed = i;
	return units;
}

/* Reads one character of UTF-16 at s[*i], replacing a lone surrogate. */
static uint32_t utf16_next(const WCHAR *s, size_t n, size_t *i, bool *replaced)
{
	uint32_t c = s[(*i)++];

	if (is_high_surrogate(c) && *i < n && is_low_surrogate(s[*i]))
		return 0x10000 + ((c - 0xD800) << 10) + (s[(*i)++] - 0xDC00);
	if (is_high_surrogate(c) || is_low_surrogate(c)) {
		*replaced = true;
		return REPLACEMENT_CHAR;
	}
	return c;
}

/* UTF-16 -> UTF-8, the mirror of utf8_to_utf16 (cap in bytes). */
static size_t utf16_to_utf8(const WCHAR *s, size_t n, unsigned char *dst,
			    size_t cap, size_t *consumed, bool *replaced)
{
	size_t i = 0, bytes = 0;

	while (i < n) {
		size_t start = i, len;
		unsigned char enc[4];
		uint32_t cp = utf16_next(s, n, &i, replaced);

		len = rtl_utf8_encode(cp, enc);
		if (dst) {
			if (bytes + len > cap) {
				i = start;
				break;
			}
			memcpy(dst + bytes, enc, len);
		}
		bytes += len;
	}
	if (consumed)
		*consumed = i;
	return bytes;
}

NTSTATUS NTAPI RtlUnicodeToUTF8N(PCHAR UTF8StringDestination,
				 ULONG UTF8StringMaxByteCount,
				 PULONG UTF8StringActualByteCount,
				 PCWCH UnicodeStringSource,
				 ULONG UnicodeStringByteCount)
{
	size_t n = UnicodeStringByteCount / sizeof(WCHAR), consumed, out;
	bool replaced = false;

	if (!UnicodeStringSource || !UTF8StringActualByteCount)
		return STATUS_INVALID_PARAMETER;
	if (UTF8StringDestination && (UnicodeStringByteCount & 1))
		return STATUS_INVALID_PARAMETER;
	out = utf16_to_utf8(UnicodeStringSource, n,
			    (unsigned char *)UTF8StringDestination,
			    UTF8StringMaxByteCount, &consumed, &replaced);
	if (out > MAXULONG)
		return STATUS_INTEGER_OVERFLOW;
	*UTF8StringActualByteCount = (ULONG)out;
	if (consumed < n)
		return STATUS_BUFFER_TOO_SMALL;
	return replaced ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUTF8ToUnicodeN(PWSTR UnicodeStringDestination,
				 ULONG UnicodeStringMaxByteCount,
				 PULONG UnicodeStringActualByteCount,
				 PCCH UTF8StringSource,
				 ULONG UTF8StringByteCount)
{
	size_t consumed, units;
	bool replaced = false;

	if (!UTF8StringSource || !UnicodeStringActualByteCount)
		return STATUS_INVALID_PARAMETER;
	units = utf8_to_utf16((const unsigned char *)UTF8StringSource,
			      UTF8StringByteCount, UnicodeStringDestination,
			      UnicodeStringMaxByteCount / sizeof(WCHAR),
			      &consumed, &replaced);
	if (units > MAXULONG / sizeof(WCHAR))
		return STATUS_INTEGER_OVERFLOW;
	*UnicodeStringActualByteCount = (ULONG)(units * sizeof(WCHAR));
	if (consumed < UTF8StringByteCount)
		return STATUS_BUFFER_TOO_SMALL;
	return replaced ? STATUS_SOME_NOT_MAPPED : STATUS_SUCCESS;
}

/* ---- Initialisation, copy, append ----------------------------------------- */

void NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString,
				PCWSTR SourceString)
{
	size_t size = 0;

	if (SourceString) {
		size = wstrlen(SourceString) * sizeof(WCHAR);
		if (size > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
			size = UNICODE_STRING_MAX_BYTES - sizeof(WCHAR);
		DestinationString->MaximumLength = (USHORT)(size + sizeof(WCHAR));
	} else {
		DestinationString->MaximumLength = 0;
	}
	DestinationString->Length = (USHORT)size;
	DestinationString->Buffer = (PWCH)SourceString;
}

NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString,
				      PCWSTR SourceString)
{
	if (SourceString && wstrlen(SourceString) * sizeof(WCHAR) >
				    UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
		return STATUS_NAME_TOO_LONG;
	RtlInitUnicodeString(DestinationString, SourceString);
	return STATUS_SUCCESS;
}

void NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
	size_t size = 0;

	if (SourceString) {
		size = strlen(SourceString);
		if (size > MAXUSHORT - 1)
			size = MAXUSHORT - 1;
		DestinationString->MaximumLength = (USHORT)(size + 1);
	} else {
		DestinationString->MaximumLength = 0;
	}
	DestinationString->Length = (USHORT)size;
	DestinationString->Buffer = (PCHAR)SourceString;
}

void NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
	RtlInitString(DestinationString, SourceString);
}

void NTAPI RtlInitUTF8String(PUTF8_STRING DestinationString, PCSZ SourceString)
{
	RtlInitString(DestinationString, SourceString);
}

/* Adds a NUL after the text when there is room for one, as Windows does. */
static void ustr_terminate_if_room(PUNICODE_STRING s)
{
	if ((size_t)s->Length + sizeof(WCHAR) <= s->MaximumLength)
		s->Buffer[s->Length / sizeof(WCHAR)] = UNICODE_NULL;
}

void NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString,
				PCUNICODE_STRING SourceString)
{
	USHORT len;

	if (!SourceString || !SourceString->Length) {
		DestinationString->Length = 0;
		ustr_terminate_if_room(DestinationString);
		return;
	}
	len = min(SourceString->Length,
		  DestinationString->MaximumLength & ~(USHORT)1);
	memmove(DestinationString->Buffer, SourceString->Buffer, len);
	DestinationString->Length = len;
	ustr_terminate_if_room(DestinationString);
}

static NTSTATUS ustr_append(PUNICODE_STRING dst, PCWCH src, size_t bytes)
{
	if (!bytes)
		return STATUS_SUCCESS;
	if ((size_t)dst->Length + bytes > dst->MaximumLength)
		return STATUS_BUFFER_TOO_SMALL;
	memmove((PUCHAR)dst->Buffer + dst->Length, src, bytes);
	dst->Length = (USHORT)(dst->Length + bytes);
	ustr_terminate_if_room(dst);
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination,
					      PCUNICODE_STRING Source)
{
	return ustr_append(Destination, Source->Buffer, Source->Length);
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination,
					PCWSTR Source)
{
	if (!Source)
		return STATUS_SUCCESS;
	return ustr_append(Destination, Source,
			   wstrlen(Source) * sizeof(WCHAR));
}

SIZE_T NTAPI RtlCompareMemory(const void *Source1, const void *Source2,
			      SIZE_T Length)
{
	const UCHAR *a = Source1, *b = Source2;
	SIZE_T i = 0;

	while (i < Length && a[i] == b[i])
		i++;
	return i;
}

/* ---- Case ------------------------------------------------------------------ */

static WCHAR case_upper[0x10000], case_lower[0x10000];
static pthread_once_t case_once = PTHREAD_ONCE_INIT;

/* The subset used when no UTF-8 locale is installed. */
static uint32_t case_builtin_upper(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) ||
	    (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) ||
	    (c >= 0x430 && c <= 0x44F))
		return c - 0x20;
	if (c == 0xFF)
		return 0x178;
	if (c == 0xB5)
		return 0x39C;
	if (c == 0x3C2)
		return 0x3A3;
	if (c >= 0x450 && c <= 0x45F)
		return c - 0x50;
	if (c == 0x130 || c == 0x131) /* dotted and dotless i: no pair */
		return c;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c & ~1u;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c : c - 1;
	return c;
}

static uint32_t case_builtin_lower(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 0x20;
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
	    (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
	    (c >= 0x410 && c <= 0x42F))
		return c + 0x20;
	if (c == 0x178)
		return 0xFF;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c == 0x130 || c == 0x131)
		return c;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
		return c | 1u;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c & 1) ? c + 1 : c;
	return c;
}

static void case_build(void)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	if (!loc)
		loc = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
	for (uint32_t c = 0; c < 0x10000; c++) {
		uint32_t u, l;

		if (is_high_surrogate(c) || is_low_surrogate(c)) {
			u = l = c;
		} else if (loc) {
			u = (uint32_t)towupper_l((wint_t)c, loc);
			l = (uint32_t)towlower_l((wint_t)c, loc);
		} else {
			u = case_builtin_upper(c);
			l = case_builtin_lower(c);
		}
		/* A WCHAR cannot hold a supplementary mapping: keep c. */
		case_upper[c] = (WCHAR)(u < 0x10000 ? u : c);
		case_lower[c] = (WCHAR)(l < 0x10000 ? l : c);
	}
	if (loc)
		freelocale(loc);
}

WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
	if (SourceCharacter < 'a')
		return SourceCharacter;
	if (SourceCharacter <= 'z')
		return (WCHAR)(SourceCharacter - ('a' - 'A'));
	pthread_once(&case_once, case_build);
	return case_upper[SourceCharacter];
}

WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter)
{
	if (SourceCharacter < 'A')
		return SourceCharacter;
	if (SourceCharacter <= 'Z')
		return (WCHAR)(SourceCharacter + ('a' - 'A'));
	if (SourceCharacter < 0x80)
		return SourceCharacter;
	pthread_once(&case_once, case_build);
	return case_lower[SourceCharacter];
}

static NTSTATUS ustr_convert_case(PUNICODE_STRING dst, PCUNICODE_STRING src,
				  BOOLEAN allocate, WCHAR (*fn)(WCHAR))
{
	size_t n = src->Length / sizeof(WCHAR);
	PWCH out;

	if (allocate) {
		out = ExAllocatePoolWithTag(PagedPool, src->Length,
					    RTL_STRING_TAG);
		if (!out)
			return STATUS_NO_MEMORY;
		dst->Buffer = out;
		dst->MaximumLength = src->Length;
	} else if (src->Length > dst->MaximumLength) {
		return STATUS_BUFFER_OVERFLOW;
	}
	/* In place works: each unit is read before it is written. */
	for (size_t i = 0; i < n; i++)
		dst->Buffer[i] = fn(src->Buffer[i]);
	dst->Length = (USHORT)(n * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString,
				      PCUNICODE_STRING SourceString,
				      BOOLEAN AllocateDestinationString)
{
	return ustr_convert_case(DestinationString, SourceString,
				 AllocateDestinationString,
				 RtlUpcaseUnicodeChar);
}

NTSTATUS NTAPI RtlDowncaseUnicodeString(PUNICODE_STRING DestinationString,
					PCUNICODE_STRING SourceString,
					BOOLEAN AllocateDestinationString)
{
	return ustr_convert_case(DestinationString, SourceString,
				 AllocateDestinationString,
				 RtlDowncaseUnicodeChar);
}

/* ---- Comparison ----------------------------------------------------------- */

/* Compares n units; the difference of the first that differ, else 0. */
static LONG wcmp_n(PCWCH a, PCWCH b, size_t n, BOOLEAN ci)
{
	for (size_t i = 0; i < n; i++) {
		WCHAR x = a[i], y = b[i];

		if (x != y && ci) {
			x = RtlUpcaseUnicodeChar(x);
			y = RtlUpcaseUnicodeChar(y);
		}
		if (x != y)
			return (LONG)x - (LONG)y;
	}
	return 0;
}

LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1,
				   PCUNICODE_STRING String2,
				   BOOLEAN CaseInSensitive)
{
	size_t n = min(String1->Length, String2->Length) / sizeof(WCHAR);
	LONG r = wcmp_n(String1->Buffer, String2->Buffer, n, CaseInSensitive);

	return r ? r : (LONG)String1->Length - (LONG)String2->Length;
}

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1,
				    PCUNICODE_STRING String2,
				    BOOLEAN CaseInSensitive)
{
	if (String1->Length != String2->Length)
		return FALSE;
	return wcmp_n(String1->Buffer, String2->Buffer,
		      String1->Length / sizeof(WCHAR), CaseInSensitive) == 0;
}

/* TRUE if String1 is a prefix of String2. */
BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1,
				     PCUNICODE_STRING String2,
				     BOOLEAN CaseInSensitive)
{
	if (String1->Length > String2->Length)
		return FALSE;
	return wcmp_n(String1->Buffer, String2->Buffer,
		      String1->Length / sizeof(WCHAR), CaseInSensitive) == 0;
}

/* TRUE if String1 is a suffix of String2. */
BOOLEAN NTAPI RtlSuffixUnicodeString(PCUNICODE_STRING String1,
				     PCUNICODE_STRING String2,
				     BOOLEAN CaseInSensitive)
{
	size_t n1 = String1->Length / sizeof(WCHAR);
	size_t n2 = String2->Length / sizeof(WCHAR);

	if (n1 > n2)
		return FALSE;
	return wcmp_n(String1->Buffer, String2->Buffer + (n2 - n1), n1,
		      CaseInSensitive) == 0;
}

/* ---- Allocation ---------------------------------------------------------- */

BOOLEAN NTAPI RtlCreateUnicodeString(PUNICODE_STRING DestinationString,
				     PCWSTR SourceString)
{
	size_t size = (wstrlen(SourceString) + 1) * sizeof(WCHAR);
	PWCH buf;

	if (size > UNICODE_STRING_MAX_BYTES)
		return FALSE;
	buf = ExAllocatePoolWithTag(PagedPool, size, RTL_STRING_TAG);
	if (!buf)
		return FALSE;
	memcpy(buf, SourceString, size);
	DestinationString->Buffer = buf;
	DestinationString->Length = (USHORT)(size - sizeof(WCHAR));
	DestinationString->MaximumLength = (USHORT)size;
	return TRUE;
}

void NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
	if (UnicodeString->Buffer)
		ExFreePool(UnicodeString->Buffer);
	UnicodeString->Buffer = NULL;
	UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

void NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString)
{
	if (AnsiString->Buffer)
		ExFreePool(AnsiString->Buffer);
	AnsiString->Buffer = NULL;
	AnsiString->Length = AnsiString->MaximumLength = 0;
}

/* ---- ANSI (UTF-8) <-> Unicode --------------------------------------------- */

NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
					    PCANSI_STRING SourceString,
					    BOOLEAN AllocateDestinationString)
{
	const unsigned char *src = (const unsigned char *)SourceString->Buffer;
	bool replaced = false;
	size_t units, size;
	PWCH buf;

	units = utf8_to_utf16(src, SourceString->Length, NULL, 0, NULL,
			      &replaced);
	size = (units + 1) * sizeof(WCHAR);
	if (size > MAXUSHORT)
		return STATUS_INVALID_PARAMETER;
	if (AllocateDestinationString) {
		buf = ExAllocatePoolWithTag(PagedPool, size, RTL_STRING_TAG);
		if (!buf)
			return STATUS_NO_MEMORY;
		DestinationString->Buffer = buf;
		DestinationString->MaximumLength = (USHORT)size;
	} else if (size > DestinationString->MaximumLength) {
		return STATUS_BUFFER_OVERFLOW;
	}
	utf8_to_utf16(src, SourceString->Length, DestinationString->Buffer,
		      units, NULL, &replaced);
	DestinationString->Buffer[units] = UNICODE_NULL;
	DestinationString->Length = (USHORT)(units * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

/*
 * Like Windows, a destination that is too small gets as much as fits (whole
 * characters) and STATUS_BUFFER_OVERFLOW.
 */
NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
					    PCUNICODE_STRING SourceString,
					    BOOLEAN AllocateDestinationString)
{
	size_t n = SourceString->Length / sizeof(WCHAR), bytes, size;
	NTSTATUS status = STATUS_SUCCESS;
	bool replaced = false;
	PCHAR buf;

	bytes = utf16_to_utf8(SourceString->Buffer, n, NULL, 0, NULL,
			      &replaced);
	size = bytes + 1;
	if (size > MAXUSHORT)
		return STATUS_INVALID_PARAMETER;
	if (AllocateDestinationString) {
		buf = ExAllocatePoolWithTag(PagedPool, size, RTL_STRING_TAG);
		if (!buf)
			return STATUS_NO_MEMORY;
		DestinationString->Buffer = buf;
		DestinationString->MaximumLength = (USHORT)size;
	} else if (size > DestinationString->MaximumLength) {
		if (!DestinationString->MaximumLength)
			return STATUS_BUFFER_OVERFLOW;
		status = STATUS_BUFFER_OVERFLOW;
	}
	bytes = utf16_to_utf8(SourceString->Buffer, n,
			      (unsigned char *)DestinationString->Buffer,
			      min(bytes, (size_t)DestinationString->MaximumLength - 1),
			      NULL, &replaced);
	DestinationString->Buffer[bytes] = '\0';
	DestinationString->Length = (USHORT)bytes;
	return status;
}

/* ---- Integers -------------------------------------------------------------- */

NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base,
					 PUNICODE_STRING String)
{
	static const char digits[] = "0123456789ABCDEF";
	WCHAR tmp[33];
	size_t n = 0, size;

	if (Base == 0)
		Base = 10;
	if (Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	do {
		tmp[n++] = (WCHAR)digits[Value % Base];
		Value /= Base;
	} while (Value);
	size = (n + 1) * sizeof(WCHAR);
	if (size > String->MaximumLength)
		return STATUS_BUFFER_OVERFLOW;
	for (size_t i = 0; i < n; i++)
		String->Buffer[i] = tmp[n - 1 - i];
	String->Buffer[n] = UNICODE_NULL;
	String->Length = (USHORT)(n * sizeof(WCHAR));
	return STATUS_SUCCESS;
}

/*
 * As Windows: leading white space, a sign, with Base 0 a 0x/0o/0b prefix
 * (lower case only); conversion stops at the first character that is not a
 * digit of the base, and an overflow wraps silently.
 */
NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base,
					 PULONG Value)
{
	PCWCH s = String->Buffer;
	size_t n = String->Length / sizeof(WCHAR), i = 0;
	ULONG total = 0;
	bool minus = false;

	if (Base != 0 && Base != 2 && Base != 8 && Base != 10 && Base != 16)
		return STATUS_INVALID_PARAMETER;
	if (!Value)
		return STATUS_ACCESS_VIOLATION;
	while (i < n && s[i] <= ' ')
		i++;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		minus = s[i++] == '-';
	if (Base == 0) {
		Base = 10;
		if (n - i >= 2 && s[i] == '0') {
			if (s[i + 1] == 'b')
				Base = 2;
			else if (s[i + 1] == 'o')
				Base = 8;
			else if (s[i + 1] == 'x')
				Base = 16;
			if (Base != 10)
				i += 2;
		}
	}
	for (; i < n; i++) {
		WCHAR c = s[i];
		ULONG digit;

		if (c >= '0' && c <= '9')
			digit = c - '0';
		else if (c >= 'A' && c <= 'Z')
			digit = c - 'A' + 10;
		else if (c >= 'a' && c <= 'z')
			digit = c - 'a' + 10;
		else
			break;
		if (digit >= Base)
			break;
		total = total * Base + digit;
	}
	*Value = minus ? 0 - total : total;
	return STATUS_SUCCESS;
}

/* ---- The printf engine ------------------------------------------------------ */

struct fmt_out {
	char *buf;
	size_t cap; /* bytes usable, NUL included */
	size_t len; /* bytes the whole output needs, NUL excluded */
};

static char *fmt_room(struct fmt_out *o, size_t *room)
{
	if (o->len >= o->cap) {
		*room = 0;
		return NULL;
	}
	*room = o->cap - o->len;
	return o->buf + o->len;
}

static void fmt_put(struct fmt_out *o, const char *s, size_t n)
{
	size_t room;
	char *p = fmt_room(o, &room);

	if (p)
		memcpy(p, s, min(n, room));
	o->len += n;
}

static void fmt_pad(struct fmt_out *o, size_t n)
{
	while (n--)
		fmt_put(o, " ", 1);
}

struct fmt_spec {
	char flags[8];
	int width;     /* 0 if none */
	int precision; /* -1 if none */
	char length[3]; /* C length modifier for the sub-format */
	bool wide;     /* w, l or a capital S/C: a UTF-16 argument */
	char conv;
};

/* Writes text already in UTF-8 (or narrow) with width and '-' applied. */
static void fmt_put_padded(struct fmt_out *o, const struct fmt_spec *sp,
			   const char *s, size_t n)
{
	size_t pad = (size_t)sp->width > n ? (size_t)sp->width - n : 0;
	bool left = strchr(sp->flags, '-') != NULL;

	if (!left)
		fmt_pad(o, pad);
	fmt_put(o, s, n);
	if (left)
		fmt_pad(o, pad);
}

/* UTF-16 text as UTF-8, converted straight into the output. */
static void fmt_put_wide(struct fmt_out *o, const struct fmt_spec *sp,
			 PCWCH s, size_t n)
{
	bool replaced = false, left = strchr(sp->flags, '-') != NULL;
	size_t need, pad, room;
	char *p;

	if (sp->precision >= 0 && (size_t)sp->precision < n)
		n = (size_t)sp->precision;
	need = utf16_to_utf8(s, n, NULL, 0, NULL, &replaced);
	pad = (size_t)sp->width > need ? (size_t)sp->width - need : 0;
	if (!left)
		fmt_pad(o, pad);
	p = fmt_room(o, &room);
	if (p)
		utf16_to_utf8(s, n, (unsigned char *)p, room, NULL, &replaced);
	o->len += need;
	if (left)
		fmt_pad(o, pad);
}

static void fmt_put_null(struct fmt_out *o, const struct fmt_spec *sp)
{
	fmt_put_padded(o, sp, "(null)", 6);
}

/* One printf conversion through snprintf, width and precision as '*'. */
#define FMT_SNPRINTF(o, sub, sp, value)                                      \
	do {                                                                 \
		size_t room_;                                                \
		char *p_ = fmt_room((o), &room_);                            \
		int n_ = snprintf(p_, room_, (sub), (sp)->width,             \
				  (sp)->precision, (value));                 \
		if (n_ < 0)                                                  \
			return false;                                        \
		(o)->len += (size_t)n_;                                      \
	} while (0)

static bool fmt_integer(struct fmt_out *o, const struct fmt_spec *sp,
			const char *sub, va_list *ap)
{
	bool is_signed = sp->conv == 'd' || sp->conv == 'i';
	const char *l = sp->length;

	/* The sub-format carries the C length modifier matching the type. */
	if (!strcmp(l, "ll")) {
		if (is_signed)
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, long long));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, unsigned long long));
	} else if (!strcmp(l, "l")) {
		if (is_signed)
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, long));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, unsigned long));
	} else if (!strcmp(l, "j")) {
		if (is_signed)
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, intmax_t));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, uintmax_t));
	} else if (!strcmp(l, "z")) {
		if (is_signed)
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, ssize_t));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, size_t));
	} else if (!strcmp(l, "t")) {
		FMT_SNPRINTF(o, sub, sp, va_arg(*ap, ptrdiff_t));
	} else {
		/* none, h, hh: promoted to int; the sub-format narrows. */
		if (is_signed)
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, int));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, unsigned int));
	}
	return true;
}

static bool fmt_string_like(struct fmt_out *o, const struct fmt_spec *sp,
			    va_list *ap)
{
	switch (sp->conv) {
	case 'Z':
		if (sp->wide) {
			PCUNICODE_STRING u = va_arg(*ap, PCUNICODE_STRING);

			if (!u || (!u->Buffer && u->Length))
				fmt_put_null(o, sp);
			else
				fmt_put_wide(o, sp, u->Buffer,
					     u->Length / sizeof(WCHAR));
		} else {
			PCANSI_STRING a = va_arg(*ap, PCANSI_STRING);
			size_t n;

			if (!a || (!a->Buffer && a->Length)) {
				fmt_put_null(o, sp);
				break;
			}
			n = a->Length;
			if (sp->precision >= 0 && (size_t)sp->precision < n)
				n = (size_t)sp->precision;
			fmt_put_padded(o, sp, a->Buffer, n);
		}
		break;
	case 's':
		if (sp->wide) {
			PCWSTR w = va_arg(*ap, PCWSTR);

			if (!w)
				fmt_put_null(o, sp);
			else
				fmt_put_wide(o, sp, w, wstrlen(w));
		} else {
			const char *s = va_arg(*ap, const char *);
			size_t n;

			if (!s) {
				fmt_put_null(o, sp);
				break;
			}
			n = sp->precision >= 0 ? strnlen(s, (size_t)sp->precision)
					       : strlen(s);
			fmt_put_padded(o, sp, s, n);
		}
		break;
	case 'c':
		if (sp->wide) {
			WCHAR c = (WCHAR)va_arg(*ap, int);
			struct fmt_spec one = *sp;

			one.precision = -1;
			fmt_put_wide(o, &one, &c, 1);
		} else {
			char c = (char)va_arg(*ap, int);

			fmt_put_padded(o, sp, &c, 1);
		}
		break;
	}
	return true;
}

/*
 * Parses the conversion after '%' at *pp into sp; false for one we refuse.
 * Length modifiers become C ones; w, l on s/c/Z and the capitals S and C
 * mean UTF-16, and Windows' I64/I32/I are accepted.
 */
static bool fmt_parse(const char **pp, struct fmt_spec *sp, va_list *ap)
{
	const char *p = *pp;
	size_t nf = 0;

	*sp = (struct fmt_spec){ .precision = -1 };
	while (*p && strchr("-+ #0'", *p)) {
		if (nf < sizeof(sp->flags) - 1 && !strchr(sp->flags, *p))
			sp->flags[nf++] = *p;
		p++;
	}
	if (*p == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			if (!strchr(sp->flags, '-') && nf < sizeof(sp->flags) - 1)
				sp->flags[nf++] = '-';
			sp->width = sp->width == INT_MIN ? INT_MAX : -sp->width;
		}
		p++;
	} else {
		for (; *p >= '0' && *p <= '9'; p++) {
			if (sp->width > (INT_MAX - 9) / 10)
				return false;
			sp->width = sp->width * 10 + (*p - '0');
		}
	}
	if (*p == '.') {
		p++;
		sp->precision = 0;
		if (*p == '*') {
			sp->precision = va_arg(*ap, int);
			if (sp->precision < 0)
				sp->precision = -1;
			p++;
		} else {
			for (; *p >= '0' && *p <= '9'; p++) {
				if (sp->precision > (INT_MAX - 9) / 10)
					return false;
				sp->precision = sp->precision * 10 + (*p - '0');
			}
		}
	}
	if (p[0] == 'h' && p[1] == 'h') {
		strcpy(sp->length, "hh");
		p += 2;
	} else if (p[0] == 'l' && p[1] == 'l') {
		strcpy(sp->length, "ll");
		p += 2;
	} else if (p[0] == 'I' && p[1] == '6' && p[2] == '4') {
		strcpy(sp->length, "ll");
		p += 3;
	} else if (p[0] == 'I' && p[1] == '3' && p[2] == '2') {
		p += 3;
	} else if (*p == 'I' || *p == 'z') {
		strcpy(sp->length, "z");
		p++;
	} else if (*p == 'q' || *p == 'L') {
		strcpy(sp->length, *p == 'L' ? "L" : "ll");
		p++;
	} else if (*p && strchr("hljt", *p)) {
		sp->length[0] = *p;
		p++;
	} else if (*p == 'w') {
		sp->wide = true;
		p++;
	}
	sp->conv = *p;
	if (!*p)
		return false;
	*pp = p + 1;
	if (sp->conv == 'S' || sp->conv == 'C') {
		sp->conv = (char)(sp->conv == 'S' ? 's' : 'c');
		sp->wide = true;
	}
	if (!strcmp(sp->length, "l") && strchr("scZ", sp->conv))
		sp->wide = true;
	return true;
}

static bool fmt_one(struct fmt_out *o, const struct fmt_spec *sp, va_list *ap)
{
	char sub[24];

	if (strchr("scZ", sp->conv))
		return fmt_string_like(o, sp, ap);
	if (sp->wide)
		return false; /* %wd and friends mean nothing */
	snprintf(sub, sizeof(sub), "%%%s*.*%s%c", sp->flags,
		 strchr("diouxX", sp->conv) || sp->length[0] == 'L'
			 ? sp->length : "",
		 sp->conv);
	switch (sp->conv) {
	case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
		return fmt_integer(o, sp, sub, ap);
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
	case 'a': case 'A':
		if (sp->length[0] == 'L')
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, long double));
		else
			FMT_SNPRINTF(o, sub, sp, va_arg(*ap, double));
		return true;
	case 'p':
		FMT_SNPRINTF(o, sub, sp, va_arg(*ap, void *));
		return true;
	default:
		return false; /* %n and unknown conversions */
	}
}

static bool fmt_run(struct fmt_out *o, const char *fmt, va_list *ap)
{
	while (*fmt) {
		const char *pct = strchr(fmt, '%');
		struct fmt_spec sp;

		if (!pct) {
			fmt_put(o, fmt, strlen(fmt));
			break;
		}
		fmt_put(o, fmt, (size_t)(pct - fmt));
		fmt = pct + 1;
		if (*fmt == '%') {
			fmt_put(o, "%", 1);
			fmt++;
			continue;
		}
		if (!fmt_parse(&fmt, &sp, ap) || !fmt_one(o, &sp, ap))
			return false;
	}
	return true;
}

int rtl_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .cap = cap };
	va_list aq;
	bool ok;

	if (!fmt)
		return -1;
	va_copy(aq, ap);
	ok = fmt_run(&o, fmt, &aq);
	va_end(aq);
	if (cap)
		buf[min(o.len, cap - 1)] = '\0';
	if (!ok || o.len > INT_MAX)
		return -1;
	return (int)o.len;
}

/* ---- ntstrsafe ---------------------------------------------------------------- */

static bool ustr_valid(PCUNICODE_STRING s)
{
	return s && !(s->Length & 1) && !(s->MaximumLength & 1) &&
	       s->Length <= s->MaximumLength &&
	       s->MaximumLength <= UNICODE_STRING_MAX_BYTES &&
	       (s->Buffer || !s->MaximumLength);
}

NTSTATUS NTAPI RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString,
				      PCSTR Format, ...)
{
	PUNICODE_STRING d = DestinationString;
	size_t maxch, cap, avail, consumed, units;
	bool replaced = false;
	NTSTATUS status;
	WCHAR dummy;
	va_list ap;
	char *tmp;
	int n;

	if (!ustr_valid(d) || !Format)
		return STATUS_INVALID_PARAMETER;
	/*
	 * Each destination unit takes at most 3 bytes of UTF-8, so 3 bytes a
	 * unit (and one partial character) decides whether the text fits.
	 */
	maxch = d->MaximumLength / sizeof(WCHAR);
	cap = 3 * maxch + 4;
	tmp = malloc(cap);
	if (!tmp)
		return STATUS_NO_MEMORY;
	va_start(ap, Format);
	n = rtl_vformat(tmp, cap, Format, ap);
	va_end(ap);
	if (n < 0) {
		d->Length = 0;
		status = STATUS_INVALID_PARAMETER;
		goto out;
	}
	avail = min((size_t)n, cap - 1);
	/* A NULL Buffer (MaximumLength 0) must not switch to counting. */
	units = utf8_to_utf16((const unsigned char *)tmp, avail,
			      d->Buffer ? d->Buffer : &dummy, maxch,
			      &consumed, &replaced);
	d->Length = (USHORT)(units * sizeof(WCHAR));
	status = consumed == (size_t)n ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
out:
	free(tmp);
	return status;
}

NTSTATUS NTAPI RtlStringCbPrintfA(PSTR Dest, SIZE_T cbDest, PCSTR Format, ...)
{
	va_list ap;
	int n;

	if (!Dest || cbDest == 0 || cbDest > STRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (!Format) {
		Dest[0] = '\0';
		return STATUS_INVALID_PARAMETER;
	}
	va_start(ap, Format);
	n = rtl_vformat(Dest, cbDest, Format, ap);
	va_end(ap);
	if (n < 0) {
		Dest[0] = '\0';
		return STATUS_INVALID_PARAMETER;
	}
	return (size_t)n >= cbDest ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlStringCbCopyW(PWSTR Dest, SIZE_T cbDest, PCWSTR Src)
{
	size_t cch = cbDest / sizeof(WCHAR), i;

	if (!Dest || cch == 0 || cch > STRSAFE_MAX_CCH)
		return STATUS_INVALID_PARAMETER;
	if (!Src) {
		Dest[0] = UNICODE_NULL;
		return STATUS_INVALID_PARAMETER;
	}
	for (i = 0; i < cch - 1 && Src[i]; i++)
		Dest[i] = Src[i];
	Dest[i] = UNICODE_NULL;
	return Src[i] ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlStringCbLengthW(PCWSTR psz, SIZE_T cbMax, PSIZE_T pcbLength)
{
	size_t cch = cbMax / sizeof(WCHAR), i;

	if (pcbLength)
		*pcbLength = 0;
	if (!psz || cbMax > (SIZE_T)STRSAFE_MAX_CCH * sizeof(WCHAR))
		return STATUS_INVALID_PARAMETER;
	for (i = 0; i < cch; i++) {
		if (!psz[i]) {
			if (pcbLength)
				*pcbLength = i * sizeof(WCHAR);
			return STATUS_SUCCESS;
		}
	}
	return STATUS_INVALID_PARAMETER;
}

/* Copies (or appends) what fits of src; STATUS_BUFFER_OVERFLOW if cut. */
static NTSTATUS ustr_put(PUNICODE_STRING dst, PCUNICODE_STRING src,
			 USHORT at)
{
	size_t room = dst->MaximumLength - at;
	size_t n = min((size_t)src->Length, room);

	memmove((PUCHAR)dst->Buffer + at, src->Buffer, n);
	dst->Length = (USHORT)(at + n);
	return n < src->Length ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING Dest, PCUNICODE_STRING Src)
{
	if (!ustr_valid(Dest) || !ustr_valid(Src))
		return STATUS_INVALID_PARAMETER;
	return ustr_put(Dest, Src, 0);
}

NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING Dest, PCUNICODE_STRING Src)
{
	if (!ustr_valid(Dest) || !ustr_valid(Src))
		return STATUS_INVALID_PARAMETER;
	return ustr_put(Dest, Src, Dest->Length);
}
