/*
 * policy.c - which paths the backup filter versions (bk_policy_wants) and
 * releasing a policy's patterns.  The limits of struct bk_policy are
 * applied by evict.c.
 *
 * Patterns are fnmatch(3) patterns without FNM_PATHNAME or FNM_PERIOD, so
 * '*' crosses '/' and matches a leading '.'.  One without '/' is matched
 * against the last component ("*.o" matches "/src/a.o"); one with '/'
 * against the whole volume-relative path (so "/tmp/" then "*" matches
 * "/tmp/a/b" too).
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static bool match_any(char *const *pats, size_t n, const char *path,
		      const char *last)
{
	for (size_t i = 0; i < n; i++) {
		const char *pat = pats[i];

		if (!pat)
			continue;
		if (fnmatch(pat, strchr(pat, '/') ? path : last, 0) == 0)
			return true;
	}
	return false;
}

bool bk_policy_wants(const struct bk_policy *p, const char *path)
{
	const char *slash, *last;

	if (!path)
		return false;
	if (!p)
		return true;
	slash = strrchr(path, '/');
	last = slash ? slash + 1 : path;
	if (p->n_include && !match_any(p->include, p->n_include, path, last))
		return false;
	return !match_any(p->exclude, p->n_exclude, path, last);
}

/* The arrays and each pattern in them are the caller's malloc'ed memory. */
void bk_policy_clear(struct bk_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_include; i++)
		free(p->include[i]);
	for (size_t i = 0; i < p->n_exclude; i++)
		free(p->exclude[i]);
	free(p->include);
	free(p->exclude);
	p->include = p->exclude = NULL;
	p->n_include = p->n_exclude = 0;
}
