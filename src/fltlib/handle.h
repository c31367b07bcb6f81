/*
 * handle.h - the HANDLEs libfltlib gives out (ports, find handles, filter
 * and instance handles, events).  Each is a struct starting with struct
 * fl_object; CloseHandle looks the pointer up in the table of live
 * handles first, so a stale or made-up handle is an error
 * (ERROR_INVALID_HANDLE), never a crash.
 */
#ifndef ALTITUDE_FLTLIB_HANDLE_H
#define ALTITUDE_FLTLIB_HANDLE_H

#include <fltUser.h>
#include <ntstatus.h>
#include <stdbool.h>

enum fl_kind {
	FL_PORT = 1,
	FL_FILTER_FIND,
	FL_INSTANCE_FIND,
	FL_VOLUME_FIND,
	FL_VOLUME_INSTANCE_FIND,
	FL_FILTER,
	FL_INSTANCE,
	FL_EVENT,
	FL_SERVICE_FIND, /* Altitude: FilterServiceFindFirst */
};

struct fl_object {
	enum fl_kind kind;
	/* Frees the object; called once, by CloseHandle or the Close call. */
	void (*close)(struct fl_object *obj);
};

/* Registers obj; returns it as a HANDLE. */
HANDLE fl_handle_register(struct fl_object *obj);
/* The live object behind h if it is of kind (0: any), else NULL. */
struct fl_object *fl_handle_get(HANDLE h, enum fl_kind kind);
/*
 * Like fl_handle_get, but calls hold(obj) while the table is still locked,
 * so the caller can take a reference of its own before a concurrent
 * CloseHandle gets to close obj.  hold must not take the table's lock.
 */
struct fl_object *fl_handle_get_held(HANDLE h, enum fl_kind kind,
				     void (*hold)(struct fl_object *obj));
/* Unregisters and closes h; false if h is not a live handle of kind. */
bool fl_handle_close(HANDLE h, enum fl_kind kind);

/* Thread's last Win32 error, as GetLastError returns it. */
void fl_set_last_error(DWORD err);

/* NTSTATUS from the daemon or a filter -> the HRESULT FltLib returns. */
HRESULT fl_hresult_from_status(NTSTATUS status);
/* errno of a failed socket call -> HRESULT. */
HRESULT fl_hresult_from_errno(int err);

/* UTF-16 (NUL-terminated) -> UTF-8; false if it does not fit or is bad. */
bool fl_to_utf8(LPCWSTR in, char *out, size_t cap);
/* UTF-8 -> UTF-16 into out (cap in WCHARs, NUL included); returns length
 * in WCHARs without the NUL, or -1. */
long fl_to_utf16(const char *in, WCHAR *out, size_t cap);

/* <runtime dir>/<name>: $ALTITUDE_RUNTIME_DIR or /run/altitude. */
void fl_socket_path(const char *name, char *out, size_t cap);

#endif /* ALTITUDE_FLTLIB_HANDLE_H */
