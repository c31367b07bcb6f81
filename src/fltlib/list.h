/*
 * list.h - the daemon's enumerations (filters, instances, volumes,
 * services) fetched in one control call each and parsed into arrays of
 * entries, with every string already checked and converted to UTF-16.
 * Find handles keep such a list as their snapshot; the GetInformation
 * calls and volume-name resolution use one for the duration of a call.
 */
#ifndef ALTITUDE_FLTLIB_LIST_H
#define ALTITUDE_FLTLIB_LIST_H

#include <fltUser.h>
#include <stdbool.h>

#include "fltlib/control.h"

struct fl_str {
	char *u8; /* as the daemon sent it */
	WCHAR *w; /* the same in UTF-16, NUL-terminated */
	USHORT cb; /* bytes of w, terminator excluded */
};

/* One enumerated object; which fields are set depends on the list. */
struct fl_entry {
	struct fl_str name; /* filter, instance, volume (\Device\x), service */
	struct fl_str filter; /* instances: their filter */
	struct fl_str volume; /* instances: their volume (\Device\x) */
	struct fl_str altitude; /* filters, instances, services */
	struct fl_str dos_name; /* volumes: the Linux directory */
	struct fl_str fs_name; /* volumes: ext4, xfs ... */
	struct fl_str image; /* services */
	struct fl_str group; /* services */
	ULONG instances; /* filters */
	ULONG frame; /* filters, instances */
	ULONG flags; /* volumes: FLTFL_VSI_xxx; filters, instances: as sent */
	ULONG fs_type; /* instances, volumes: FLT_FILESYSTEM_TYPE */
	ULONG start_type; /* services: SERVICE_xxx_START */
};

struct fl_list {
	struct fl_entry *e;
	ULONG count;
};

HRESULT fl_list_filters(struct fl_list *l);
/* filter and volume may be NULL or "" (no restriction); volume is a
 * \Device\ name. */
HRESULT fl_list_instances(struct fl_list *l, const char *filter,
			  const char *volume);
HRESULT fl_list_volumes(struct fl_list *l);
HRESULT fl_list_services(struct fl_list *l);
void fl_list_free(struct fl_list *l);

/* Object names compare as Windows compares them: ignoring ASCII case. */
bool fl_name_eq(const char *a, const char *b);
/* The entry whose name is `name`, or NULL. */
const struct fl_entry *fl_list_lookup(const struct fl_list *l,
				      const char *name);

/* In a volume list: the volume named by its \Device\ name, its short
 * name or its directory (see fl_volume_resolve), or NULL. */
const struct fl_entry *fl_list_volume(const struct fl_list *l,
				      const char *name);

/*
 * A volume given as its \Device\ name, its short name ("data" for
 * \Device\data) or its Linux directory -> the \Device\ name the daemon
 * knows.  A name that matches no volume is ERROR_FLT_VOLUME_NOT_FOUND.
 */
HRESULT fl_volume_resolve(LPCWSTR in, char out[FL_STR_MAX + 1]);

#endif /* ALTITUDE_FLTLIB_LIST_H */
