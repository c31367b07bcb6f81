/*
 * text.c - UTF-8 <-> UTF-16 for fltmc, through iconv: the library takes
 * and returns UTF-16, the terminal speaks UTF-8.  (The project builds with
 * -fshort-wchar, so the C library's wide-character functions, which
 * assume a 32-bit wchar_t, are of no use here.)
 */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fltmc/fltmc.h"

static void *mc_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fputs("fltmc: out of memory\n", stderr);
		exit(MC_EXIT_FAILED);
	}
	return p;
}

/* Converts n bytes of in into at most cap bytes of out; returns the
 * output length, or -1. */
static long mc_iconv(const char *to, const char *from, const void *in,
		     size_t n, char *out, size_t cap)
{
	iconv_t cd = iconv_open(to, from);
	char *ip = (char *)in, *op = out;
	size_t il = n, ol = cap;
	long r;

	if (cd == (iconv_t)-1)
		return -1;
	r = iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 ? -1 : (long)(cap - ol);
	iconv_close(cd);
	return r;
}

WCHAR *mc_wide(const char *s)
{
	size_t n = strlen(s);
	/* Each UTF-8 byte gives at most one UTF-16 code unit. */
	WCHAR *w = mc_alloc((n + 1) * sizeof(WCHAR));
	long r = mc_iconv("UTF-16LE", "UTF-8", s, n, (char *)w,
			  n * sizeof(WCHAR));

	if (r < 0) {
		fprintf(stderr, "fltmc: '%s' is not valid UTF-8\n", s);
		free(w);
		return NULL;
	}
	w[r / sizeof(WCHAR)] = 0;
	return w;
}

char *mc_narrow(const WCHAR *w, size_t cb)
{
	/* Each UTF-16 code unit gives at most three UTF-8 bytes. */
	size_t cap = cb / sizeof(WCHAR) * 3;
	char *s = mc_alloc(cap + 1);
	long r = mc_iconv("UTF-8", "UTF-16LE", w, cb & ~(size_t)1, s, cap);

	if (r < 0)
		r = 0; /* the library only hands out valid UTF-16 */
	s[r] = 0;
	return s;
}

char *mc_field(const void *base, unsigned short offset, unsigned short cb)
{
	return mc_narrow((const WCHAR *)((const char *)base + offset), cb);
}
