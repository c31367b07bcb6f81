/*
 * tmptree.h - a temporary directory tree for a unit test: made fresh in
 * $TMPDIR (or /tmp), removed with everything below it.
 */
#ifndef ALTITUDE_TESTS_TMPTREE_H
#define ALTITUDE_TESTS_TMPTREE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A new directory <$TMPDIR or /tmp>/<prefix>.XXXXXX into out: 0, or -1
 * (name too long, mkdtemp failed). */
static inline int tmptree_make(char *out, size_t cap, const char *prefix)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(out, cap, "%s/%s.XXXXXX", base && *base ? base : "/tmp",
			 prefix);

	return n > 0 && (size_t)n < cap && mkdtemp(out) ? 0 : -1;
}

static inline int tmptree_rm_entry(const char *path, const struct stat *st,
				   int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes path and everything below it (symbolic links not followed). */
static inline void tmptree_remove(const char *path)
{
	nftw(path, tmptree_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
