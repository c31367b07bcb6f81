/*
 * handle.c - the live-handle table, status conversion and string helpers
 * shared by every part of libfltlib.
 */
#include "fltlib/handle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FL_MAX_HANDLES 4096

static pthread_mutex_t fl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl_object *fl_table[FL_MAX_HANDLES];
static __thread DWORD fl_last_error;

HANDLE fl_handle_register(struct fl_object *obj)
{
	unsigned i;

	pthread_mutex_lock(&fl_lock);
	for (i = 0; i < FL_MAX_HANDLES; i++)
		if (!fl_table[i]) {
			fl_table[i] = obj;
			pthread_mutex_unlock(&fl_lock);
			return (HANDLE)obj;
		}
	pthread_mutex_unlock(&fl_lock);
	return NULL;
}

static int fl_find(HANDLE h, enum fl_kind kind)
{
	unsigned i;

	if (!h || h == INVALID_HANDLE_VALUE)
		return -1;
	for (i = 0; i < FL_MAX_HANDLES; i++)
		if (fl_table[i] == (struct fl_object *)h)
			return (!kind || fl_table[i]->kind == kind) ? (int)i : -1;
	return -1;
}

struct fl_object *fl_handle_get(HANDLE h, enum fl_kind kind)
{
	struct fl_object *obj = NULL;
	int i;

	pthread_mutex_lock(&fl_lock);
	i = fl_find(h, kind);
	if (i >= 0)
		obj = fl_table[i];
	pthread_mutex_unlock(&fl_lock);
	return obj;
}

struct fl_object *fl_handle_get_held(HANDLE h, enum fl_kind kind,
				     void (*hold)(struct fl_object *obj))
{
	struct fl_object *obj = NULL;
	int i;

	pthread_mutex_lock(&fl_lock);
	i = fl_find(h, kind);
	if (i >= 0) {
		obj = fl_table[i];
		hold(obj);
	}
	pthread_mutex_unlock(&fl_lock);
	return obj;
}

bool fl_handle_close(HANDLE h, enum fl_kind kind)
{
	struct fl_object *obj;
	int i;

	pthread_mutex_lock(&fl_lock);
	i = fl_find(h, kind);
	if (i < 0) {
		pthread_mutex_unlock(&fl_lock);
		return false;
	}
	obj = fl_table[i];
	fl_table[i] = NULL;
	pthread_mutex_unlock(&fl_lock);
	obj->close(obj);
	return true;
}

FLTLIB_API BOOL WINAPI CloseHandle(HANDLE hObject)
{
	if (!fl_handle_close(hObject, 0)) {
		fl_set_last_error(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	return TRUE;
}

void fl_set_last_error(DWORD err)
{
	fl_last_error = err;
}

FLTLIB_API DWORD WINAPI GetLastError(void)
{
	return fl_last_error;
}

/* NTSTATUS -> Win32 error, as RtlNtStatusToDosError does for these. */
static const struct {
	NTSTATUS status;
	DWORD error;
} fl_dos_errors[] = {
	{ STATUS_SUCCESS, ERROR_SUCCESS },
	{ STATUS_ACCESS_DENIED, ERROR_ACCESS_DENIED },
	{ STATUS_PRIVILEGE_NOT_HELD, ERROR_PRIVILEGE_NOT_HELD },
	{ STATUS_OBJECT_NAME_NOT_FOUND, ERROR_FILE_NOT_FOUND },
	{ STATUS_OBJECT_PATH_NOT_FOUND, ERROR_PATH_NOT_FOUND },
	{ STATUS_NO_SUCH_FILE, ERROR_FILE_NOT_FOUND },
	{ STATUS_OBJECT_NAME_INVALID, ERROR_INVALID_NAME },
	{ STATUS_OBJECT_NAME_COLLISION, ERROR_ALREADY_EXISTS },
	{ STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER },
	{ STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE },
	{ STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY },
	{ STATUS_INSUFFICIENT_RESOURCES, ERROR_NOT_ENOUGH_MEMORY },
	{ STATUS_BUFFER_TOO_SMALL, ERROR_INSUFFICIENT_BUFFER },
	{ STATUS_BUFFER_OVERFLOW, ERROR_MORE_DATA },
	{ STATUS_NO_MORE_ENTRIES, ERROR_NO_MORE_ITEMS },
	{ STATUS_NO_MORE_FILES, ERROR_NO_MORE_ITEMS },
	{ STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED },
	{ STATUS_NOT_IMPLEMENTED, ERROR_INVALID_FUNCTION },
	{ STATUS_INVALID_IMAGE_FORMAT, ERROR_BAD_EXE_FORMAT },
	{ STATUS_ENTRYPOINT_NOT_FOUND, ERROR_PROC_NOT_FOUND },
	{ STATUS_DLL_NOT_FOUND, ERROR_FILE_NOT_FOUND },
	{ STATUS_IMAGE_ALREADY_LOADED, ERROR_SERVICE_ALREADY_RUNNING },
	{ STATUS_PORT_DISCONNECTED, ERROR_INVALID_HANDLE },
	{ STATUS_CONNECTION_REFUSED, ERROR_CONNECTION_REFUSED },
	/* Ports: MaxConnections reached (0xC0000246 -> 1238). */
	{ (NTSTATUS)0xC0000246L, 1238 /* ERROR_CONNECTION_COUNT_LIMIT */ },
	{ STATUS_TIMEOUT, WAIT_TIMEOUT },
	{ STATUS_IO_TIMEOUT, ERROR_SEM_TIMEOUT },
	{ STATUS_CANCELLED, ERROR_OPERATION_ABORTED },
	{ STATUS_NOT_FOUND, ERROR_NOT_FOUND },
	{ STATUS_REVISION_MISMATCH, ERROR_INVALID_DATA },
	{ STATUS_INVALID_DEVICE_STATE, ERROR_INVALID_FUNCTION },
	{ STATUS_UNSUCCESSFUL, ERROR_INVALID_FUNCTION },
};

HRESULT fl_hresult_from_status(NTSTATUS status)
{
	unsigned i;

	if (status == STATUS_SUCCESS)
		return S_OK;
	/* STATUS_FLT_x (0xC01C00nn) is ERROR_FLT_x (0x801F00nn). */
	if (((ULONG)status & 0xFFFF0000u) == 0xC01C0000u)
		return (HRESULT)(0x801F0000u | ((ULONG)status & 0xFFFFu));
	for (i = 0; i < sizeof(fl_dos_errors) / sizeof(fl_dos_errors[0]); i++)
		if (fl_dos_errors[i].status == status)
			return HRESULT_FROM_WIN32(fl_dos_errors[i].error);
	if (NT_SUCCESS(status))
		return S_OK;
	return HRESULT_FROM_NT(status);
}

HRESULT fl_hresult_from_errno(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
	case EACCES:
	case EPERM:
		return E_ACCESSDENIED;
	case ENOMEM:
		return E_OUTOFMEMORY;
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
		return HRESULT_FROM_WIN32(ERROR_BROKEN_PIPE);
	case ETIMEDOUT:
		return HRESULT_FROM_WIN32(ERROR_TIMEOUT);
	case EINVAL:
		return E_INVALIDARG;
	case EMSGSIZE:
		return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
	}
	return E_FAIL;
}

bool fl_to_utf8(LPCWSTR in, char *out, size_t cap)
{
	size_t o = 0;

	if (!in || !cap)
		return false;
	while (*in) {
		uint32_t c = *in++;
		char tmp[4];
		size_t n;

		if (c >= 0xD800 && c <= 0xDBFF && *in >= 0xDC00 && *in <= 0xDFFF)
			c = 0x10000 + ((c - 0xD800) << 10) + (*in++ - 0xDC00);
		else if (c >= 0xD800 && c <= 0xDFFF)
			return false;
		if (c < 0x80) {
			tmp[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xC0 | (c >> 6));
			tmp[1] = (char)(0x80 | (c & 0x3F));
			n = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xE0 | (c >> 12));
			tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
			tmp[2] = (char)(0x80 | (c & 0x3F));
			n = 3;
		} else {
			tmp[0] = (char)(0xF0 | (c >> 18));
			tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F));
			tmp[3] = (char)(0x80 | (c & 0x3F));
			n = 4;
		}
		if (o + n >= cap)
			return false;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = 0;
	return true;
}

long fl_to_utf16(const char *in, WCHAR *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	while (*s) {
		uint32_t c;
		int extra;

		if (*s < 0x80) {
			c = *s++;
			extra = 0;
		} else if ((*s & 0xE0) == 0xC0) {
			c = *s++ & 0x1F;
			extra = 1;
		} else if ((*s & 0xF0) == 0xE0) {
			c = *s++ & 0x0F;
			extra = 2;
		} else if ((*s & 0xF8) == 0xF0) {
			c = *s++ & 0x07;
			extra = 3;
		} else {
			return -1;
		}
		while (extra--) {
			if ((*s & 0xC0) != 0x80)
				return -1;
			c = (c << 6) | (*s++ & 0x3F);
		}
		if (c >= 0x10000) {
			if (o + 2 >= cap)
				return -1;
			c -= 0x10000;
			out[o++] = (WCHAR)(0xD800 + (c >> 10));
			out[o++] = (WCHAR)(0xDC00 + (c & 0x3FF));
		} else {
			if (o + 1 >= cap)
				return -1;
			out[o++] = (WCHAR)c;
		}
	}
	if (o >= cap)
		return -1;
	out[o] = 0;
	return (long)o;
}

void fl_socket_path(const char *name, char *out, size_t cap)
{
	const char *dir = getenv("ALTITUDE_RUNTIME_DIR");

	snprintf(out, cap, "%s/%s", dir && *dir ? dir : "/run/altitude", name);
}
