/*
 * ea.h - building and reading FILE_FULL_EA_INFORMATION lists: Linux xattrs
 * and the $LXMOD/$LXUID/$LXGID/$LXDEV metadata travel in them.
 */
#ifndef ALTITUDE_IOMGR_EA_H
#define ALTITUDE_IOMGR_EA_H

#include <ntifs.h>
#include <stdbool.h>
#include <stddef.h>

/* Appends one entry; returns false when it does not fit. */
bool io_ea_append(void *buf, size_t cap, size_t *used, const char *name,
		  const void *value, size_t vlen, UCHAR flags);
/* Finds name; returns the entry or NULL (also for a malformed list). */
const FILE_FULL_EA_INFORMATION *io_ea_find(const void *buf, size_t len,
					   const char *name);
/* Reads a ULONG-valued entry such as $LXMOD. */
bool io_ea_ulong(const void *buf, size_t len, const char *name, ULONG *out);
/* Checks the chain stays inside len. */
bool io_ea_valid(const void *buf, size_t len);

static inline const char *io_ea_value(const FILE_FULL_EA_INFORMATION *e)
{
	return e->EaName + e->EaNameLength + 1;
}

#endif
