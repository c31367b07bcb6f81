/*
 * info.h - one enumerated entry written as the Windows information
 * structure a class asks for.  Shared by the Find calls and the
 * GetInformation calls so both return byte-identical structures.
 *
 * Each returns S_OK with *returned = the bytes written, or
 * HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER) with *returned = the
 * bytes needed and the buffer untouched, or E_INVALIDARG for a class it
 * does not know.  One entry per call: NextEntryOffset is 0.
 */
#ifndef ALTITUDE_FLTLIB_INFO_H
#define ALTITUDE_FLTLIB_INFO_H

#include "fltlib/list.h"

/* cls is the class enum's value; fl_info_service has one class only and
 * ignores it.  All four have the type fl_fill_fn. */
typedef HRESULT (*fl_fill_fn)(const struct fl_entry *e, int cls, LPVOID buf,
			      DWORD size, LPDWORD returned);

HRESULT fl_info_filter(const struct fl_entry *e, int cls, LPVOID buf,
		       DWORD size, LPDWORD returned);
HRESULT fl_info_instance(const struct fl_entry *e, int cls, LPVOID buf,
			 DWORD size, LPDWORD returned);
HRESULT fl_info_volume(const struct fl_entry *e, int cls, LPVOID buf,
		       DWORD size, LPDWORD returned);
HRESULT fl_info_service(const struct fl_entry *e, int cls, LPVOID buf,
			DWORD size, LPDWORD returned);

/* Whether fill knows class cls (asked before any round trip). */
bool fl_info_class_ok(fl_fill_fn fill, int cls);
/* The buffer arguments every call checks: lpBytesReturned given, and a
 * buffer unless its size is 0. */
bool fl_info_args_ok(LPVOID buf, DWORD size, LPDWORD returned);

#endif /* ALTITUDE_FLTLIB_INFO_H */
