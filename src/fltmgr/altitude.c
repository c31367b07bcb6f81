/*
 * altitude.c - altitudes are decimal strings ("385100", "370030.5") that
 * order instances on a volume; they compare as numbers, not as text.
 */
#include "fltmgr/fm.h"

#include <ctype.h>
#include <string.h>

bool fm_altitude_valid(const char *alt)
{
	size_t i = 0, digits = 0;
	bool dot = false;

	if (!alt || !*alt || strlen(alt) >= FM_ALTITUDE_MAX)
		return false;
	for (; alt[i]; i++) {
		if (alt[i] == '.' && !dot && digits) {
			dot = true;
			continue;
		}
		if (!isdigit((unsigned char)alt[i]))
			return false;
		digits++;
	}
	return alt[i - 1] != '.';
}

/* Compares integer parts by length after leading zeros, then digit-wise. */
int fm_altitude_compare(const char *a, const char *b)
{
	size_t ia, ib;
	const char *fa, *fb;
	int c;

	while (*a == '0' && a[1] && a[1] != '.')
		a++;
	while (*b == '0' && b[1] && b[1] != '.')
		b++;
	ia = strcspn(a, ".");
	ib = strcspn(b, ".");
	if (ia != ib)
		return ia < ib ? -1 : 1;
	c = strncmp(a, b, ia);
	if (c)
		return c < 0 ? -1 : 1;
	fa = a[ia] ? a + ia + 1 : "";
	fb = b[ib] ? b + ib + 1 : "";
	while (*fa || *fb) {
		char da = *fa ? *fa++ : '0', db = *fb ? *fb++ : '0';

		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}
