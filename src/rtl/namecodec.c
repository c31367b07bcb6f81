/*
 * namecodec.c - lossless Linux file names (bytes) <-> UTF-16 names.
 *
 * A Linux name is any byte string without NUL or '/'; a Windows filter
 * expects UTF-16 without the characters Windows forbids.  The encoding
 * (docs/names.md) is chosen so that bytes -> UTF-16 -> bytes is the identity
 * for every Linux name:
 *
 *   - a valid UTF-8 sequence becomes its code point (a surrogate pair above
 *     U+FFFF), except that U+F000..U+F0FF, the range the next rules borrow,
 *     is written as three byte escapes;
 *   - a byte outside any valid sequence (always 0x80..0xFF) becomes the lone
 *     low surrogate U+DC00 + byte (U+DC80..U+DCFF), as in Python's
 *     surrogateescape;
 *   - the characters Windows forbids in names, 0x01..0x1F and " * : < > ? \ |,
 *     become U+F000 + character, as Cygwin and WSL store them.
 *
 * Decoding undoes each rule; it rejects what no Linux name can contain (NUL,
 * '/', a lone surrogate that is not an escape).  Several UTF-16 names may
 * decode to one Linux name (U+F041 and 'A'); the encoder only ever produces
 * the canonical one.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define ESCAPE_BASE 0xDC00u
#define PRIVATE_BASE 0xF000u

static bool name_forbidden_ascii(unsigned char c)
{
	return (c >= 0x01 && c <= 0x1F) || (c && strchr("\"*:<>?\\|", c));
}

/* Appends u to out if it fits; counts it either way. */
static void put16(WCHAR *out, size_t cap, size_t *n, uint32_t u)
{
	if (*n < cap)
		out[*n] = (WCHAR)u;
	(*n)++;
}

/* One component; returns WCHARs needed (> cap means it did not fit). */
static ssize_t name_encode(const unsigned char *s, size_t len, WCHAR *out,
			   size_t cap)
{
	size_t i = 0, n = 0;

	if (!out)
		cap = 0;
	while (i < len) {
		unsigned char b = s[i];
		uint32_t cp;
		size_t k;

		if (b == 0 || b == '/')
			return -EINVAL;
		if (b < 0x80) {
			put16(out, cap, &n,
			      name_forbidden_ascii(b) ? PRIVATE_BASE + b : b);
			i++;
			continue;
		}
		k = rtl_utf8_decode(s + i, len - i, &cp);
		if (k == 0 || (cp >= PRIVATE_BASE && cp <= PRIVATE_BASE + 0xFF)) {
			/* Not UTF-8, or the borrowed range: escape the bytes. */
			if (k == 0)
				k = 1;
			for (size_t j = 0; j < k; j++)
				put16(out, cap, &n, ESCAPE_BASE + s[i + j]);
		} else if (cp >= 0x10000) {
			put16(out, cap, &n, 0xD800 + ((cp - 0x10000) >> 10));
			put16(out, cap, &n, 0xDC00 + (cp & 0x3FF));
		} else {
			put16(out, cap, &n, cp);
		}
		i += k;
	}
	return (ssize_t)n;
}

/* Appends bytes to out if they fit; counts them either way. */
static void put8(char *out, size_t cap, size_t *n, const void *p, size_t len)
{
	if (*n + len <= cap)
		memcpy(out + *n, p, len);
	*n += len;
}

/* One component, no NUL added; returns bytes needed or -EINVAL. */
static ssize_t name_decode(const WCHAR *in, size_t n, char *out, size_t cap)
{
	size_t i = 0, len = 0;

	while (i < n) {
		uint32_t u = in[i++];
		unsigned char enc[4], b;

		if (u == 0 || u == '/')
			return -EINVAL;
		if (u >= ESCAPE_BASE + 0x80 && u <= ESCAPE_BASE + 0xFF) {
			b = (unsigned char)(u - ESCAPE_BASE);
			put8(out, cap, &len, &b, 1);
			continue;
		}
		if (u > PRIVATE_BASE && u < PRIVATE_BASE + 0x80) {
			b = (unsigned char)(u - PRIVATE_BASE);
			if (b == '/')
				return -EINVAL;
			put8(out, cap, &len, &b, 1);
			continue;
		}
		if (u >= 0xD800 && u <= 0xDBFF && i < n && in[i] >= 0xDC00 &&
		    in[i] <= 0xDFFF)
			u = 0x10000 + ((u - 0xD800) << 10) + (in[i++] - 0xDC00);
		else if (u >= 0xD800 && u <= 0xDFFF)
			return -EINVAL;
		put8(out, cap, &len, enc, rtl_utf8_encode(u, enc));
	}
	return (ssize_t)len;
}

ssize_t rtl_name_to_utf16(const char *name, size_t len, WCHAR *out,
			  size_t out_cap_wchars)
{
	ssize_t n = name_encode((const unsigned char *)name, len, out,
				out_cap_wchars);

	if (n >= 0 && out && (size_t)n > out_cap_wchars)
		return -ENAMETOOLONG;
	return n;
}

ssize_t rtl_name_from_utf16(const WCHAR *in, size_t n_wchars, char *out,
			    size_t out_cap)
{
	ssize_t n = name_decode(in, n_wchars, out, out_cap);

	if (n < 0)
		return n;
	if ((size_t)n >= out_cap)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return n;
}

ssize_t rtl_path_to_utf16(const char *path, size_t len, WCHAR *out, size_t cap)
{
	size_t i = 0, n = 0;

	if (!out)
		cap = 0;
	for (;;) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		ssize_t k = name_encode((const unsigned char *)path + i,
					end - i, out ? out + min(n, cap) : NULL,
					cap - min(n, cap));

		if (k < 0)
			return k;
		n += (size_t)k;
		if (!slash)
			break;
		put16(out, cap, &n, '\\');
		i = end + 1;
	}
	if (out && n > cap)
		return -ENAMETOOLONG;
	return (ssize_t)n;
}

ssize_t rtl_path_from_utf16(const WCHAR *in, size_t n, char *out, size_t cap)
{
	size_t i = 0, len = 0;

	for (;;) {
		size_t end = i;
		ssize_t k;

		while (end < n && in[end] != '\\')
			end++;
		k = name_decode(in + i, end - i, out + min(len, cap),
				cap - min(len, cap));
		if (k < 0)
			return k;
		len += (size_t)k;
		if (end == n)
			break;
		put8(out, cap, &len, "/", 1);
		i = end + 1;
	}
	if (len >= cap)
		return -ENAMETOOLONG;
	out[len] = '\0';
	return (ssize_t)len;
}
