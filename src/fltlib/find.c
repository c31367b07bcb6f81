/*
 * find.c - FilterFindFirst/Next/Close and the instance, volume,
 * volume-instance and service enumerations built the same way.
 *
 * FindFirst takes a snapshot: one control call fetches the whole list,
 * the first entry is returned and the rest are handed out by FindNext
 * from the snapshot, so an enumeration is consistent even while filters
 * come and go.  An entry that does not fit the caller's buffer is not
 * consumed (the caller retries with *lpBytesReturned bytes); after the
 * last entry FindNext returns HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS).
 * A FindFirst that fails returns no handle; an empty list fails with
 * ERROR_NO_MORE_ITEMS as on Windows.
 */
#include <pthread.h>
#include <stdlib.h>

#include "fltlib/handle.h"
#include "fltlib/info.h"
#include "fltlib/list.h"
#include "fltlib/object.h"

struct fl_find {
	struct fl_mobject m;
	pthread_mutex_t lock; /* next, for callers sharing the handle */
	fl_fill_fn fill;
	struct fl_list list;
	ULONG next;
};

static void fl_find_destroy(struct fl_mobject *m)
{
	struct fl_find *f = (struct fl_find *)m;

	fl_list_free(&f->list);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* The next entry into the caller's buffer; advances only on success. */
static HRESULT fl_find_step(struct fl_find *f, int cls, LPVOID buf,
			    DWORD size, LPDWORD returned)
{
	HRESULT hr;

	pthread_mutex_lock(&f->lock);
	if (f->next >= f->list.count) {
		*returned = 0;
		hr = HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS);
	} else {
		hr = f->fill(&f->list.e[f->next], cls, buf, size, returned);
		if (SUCCEEDED(hr))
			f->next++;
	}
	pthread_mutex_unlock(&f->lock);
	return hr;
}

/* Takes ownership of *list whatever the outcome. */
static HRESULT fl_find_first(enum fl_kind kind, fl_fill_fn fill,
			     struct fl_list *list, int cls, LPVOID buf,
			     DWORD size, LPDWORD returned, LPHANDLE out)
{
	struct fl_find *f;
	HRESULT hr;

	f = calloc(1, sizeof(*f));
	if (!f) {
		fl_list_free(list);
		return E_OUTOFMEMORY;
	}
	fl_mobject_init(&f->m, kind, fl_find_destroy);
	f->fill = fill;
	f->list = *list;
	pthread_mutex_init(&f->lock, NULL);
	hr = fl_find_step(f, cls, buf, size, returned);
	if (FAILED(hr)) {
		fl_mobject_put(&f->m);
		return hr;
	}
	return fl_mobject_register(&f->m, out);
}

static HRESULT fl_find_next(enum fl_kind kind, HANDLE h, int cls, LPVOID buf,
			    DWORD size, LPDWORD returned)
{
	struct fl_find *f;
	HRESULT hr;

	if (!fl_info_args_ok(buf, size, returned))
		return E_INVALIDARG;
	f = (struct fl_find *)fl_mobject_get(h, kind);
	if (!f)
		return E_HANDLE;
	if (fl_info_class_ok(f->fill, cls))
		hr = fl_find_step(f, cls, buf, size, returned);
	else
		hr = E_INVALIDARG;
	fl_mobject_put(&f->m);
	return hr;
}

static HRESULT fl_find_end(enum fl_kind kind, HANDLE h)
{
	return fl_handle_close(h, kind) ? S_OK : E_HANDLE;
}

/* Common checks of every FindFirst; sets *out to INVALID_HANDLE_VALUE. */
static HRESULT fl_first_check(fl_fill_fn fill, int cls, LPVOID buf,
			      DWORD size, LPDWORD returned, LPHANDLE out)
{
	if (!out)
		return E_INVALIDARG;
	*out = INVALID_HANDLE_VALUE;
	if (!fl_info_args_ok(buf, size, returned) || !fl_info_class_ok(fill, cls))
		return E_INVALIDARG;
	return S_OK;
}

/* ---- Filters --------------------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterFindFirst(FILTER_INFORMATION_CLASS dwInformationClass,
					  LPVOID lpBuffer, DWORD dwBufferSize,
					  LPDWORD lpBytesReturned,
					  LPHANDLE lpFilterFind)
{
	struct fl_list l;
	HRESULT hr;

	hr = fl_first_check(fl_info_filter, dwInformationClass, lpBuffer,
			    dwBufferSize, lpBytesReturned, lpFilterFind);
	if (FAILED(hr))
		return hr;
	hr = fl_list_filters(&l);
	if (FAILED(hr))
		return hr;
	return fl_find_first(FL_FILTER_FIND, fl_info_filter, &l,
			     dwInformationClass, lpBuffer, dwBufferSize,
			     lpBytesReturned, lpFilterFind);
}

FLTLIB_API HRESULT WINAPI FilterFindNext(HANDLE hFilterFind,
					 FILTER_INFORMATION_CLASS dwInformationClass,
					 LPVOID lpBuffer, DWORD dwBufferSize,
					 LPDWORD lpBytesReturned)
{
	return fl_find_next(FL_FILTER_FIND, hFilterFind, dwInformationClass,
			    lpBuffer, dwBufferSize, lpBytesReturned);
}

FLTLIB_API HRESULT WINAPI FilterFindClose(HANDLE hFilterFind)
{
	return fl_find_end(FL_FILTER_FIND, hFilterFind);
}

/* ---- Instances of a filter ------------------------------------------- */

/*
 * An empty instance list is "no more items" for a filter that exists and
 * ERROR_FLT_FILTER_NOT_FOUND for one that does not, whichever way the
 * daemon answered the enumeration.
 */
static HRESULT fl_filter_exists(const char *name)
{
	struct fl_list l;
	HRESULT hr;

	hr = fl_list_filters(&l);
	if (FAILED(hr))
		return hr;
	if (!fl_list_lookup(&l, name))
		hr = ERROR_FLT_FILTER_NOT_FOUND;
	fl_list_free(&l);
	return hr;
}

FLTLIB_API HRESULT WINAPI FilterInstanceFindFirst(
	LPCWSTR lpFilterName, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
	LPHANDLE lpFilterInstanceFind)
{
	char filter[FL_STR_MAX + 1];
	struct fl_list l;
	HRESULT hr;

	hr = fl_first_check(fl_info_instance, dwInformationClass, lpBuffer,
			    dwBufferSize, lpBytesReturned, lpFilterInstanceFind);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpFilterName, filter, false);
	if (SUCCEEDED(hr))
		hr = fl_list_instances(&l, filter, NULL);
	if (FAILED(hr))
		return hr;
	if (!l.count) {
		hr = fl_filter_exists(filter);
		if (FAILED(hr)) {
			fl_list_free(&l);
			return hr;
		}
	}
	return fl_find_first(FL_INSTANCE_FIND, fl_info_instance, &l,
			     dwInformationClass, lpBuffer, dwBufferSize,
			     lpBytesReturned, lpFilterInstanceFind);
}

FLTLIB_API HRESULT WINAPI FilterInstanceFindNext(
	HANDLE hFilterInstanceFind, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return fl_find_next(FL_INSTANCE_FIND, hFilterInstanceFind,
			    dwInformationClass, lpBuffer, dwBufferSize,
			    lpBytesReturned);
}

FLTLIB_API HRESULT WINAPI FilterInstanceFindClose(HANDLE hFilterInstanceFind)
{
	return fl_find_end(FL_INSTANCE_FIND, hFilterInstanceFind);
}

/* ---- Volumes --------------------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterVolumeFindFirst(
	FILTER_VOLUME_INFORMATION_CLASS dwInformationClass, LPVOID lpBuffer,
	DWORD dwBufferSize, LPDWORD lpBytesReturned, PHANDLE lpVolumeFind)
{
	struct fl_list l;
	HRESULT hr;

	hr = fl_first_check(fl_info_volume, dwInformationClass, lpBuffer,
			    dwBufferSize, lpBytesReturned, lpVolumeFind);
	if (FAILED(hr))
		return hr;
	hr = fl_list_volumes(&l);
	if (FAILED(hr))
		return hr;
	return fl_find_first(FL_VOLUME_FIND, fl_info_volume, &l,
			     dwInformationClass, lpBuffer, dwBufferSize,
			     lpBytesReturned, lpVolumeFind);
}

FLTLIB_API HRESULT WINAPI FilterVolumeFindNext(
	HANDLE hVolumeFind, FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return fl_find_next(FL_VOLUME_FIND, hVolumeFind, dwInformationClass,
			    lpBuffer, dwBufferSize, lpBytesReturned);
}

FLTLIB_API HRESULT WINAPI FilterVolumeFindClose(HANDLE hVolumeFind)
{
	return fl_find_end(FL_VOLUME_FIND, hVolumeFind);
}

/* ---- Instances on a volume ------------------------------------------- */

static HRESULT fl_volume_exists(const char *name)
{
	struct fl_list l;
	HRESULT hr;

	hr = fl_list_volumes(&l);
	if (FAILED(hr))
		return hr;
	if (!fl_list_lookup(&l, name))
		hr = ERROR_FLT_VOLUME_NOT_FOUND;
	fl_list_free(&l);
	return hr;
}

FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindFirst(
	LPCWSTR lpVolumeName, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
	LPHANDLE lpVolumeInstanceFind)
{
	char volume[FL_STR_MAX + 1];
	struct fl_list l;
	HRESULT hr;

	hr = fl_first_check(fl_info_instance, dwInformationClass, lpBuffer,
			    dwBufferSize, lpBytesReturned, lpVolumeInstanceFind);
	if (SUCCEEDED(hr))
		hr = fl_volume_resolve(lpVolumeName, volume);
	if (SUCCEEDED(hr))
		hr = fl_list_instances(&l, NULL, volume);
	if (FAILED(hr))
		return hr;
	if (!l.count) {
		hr = fl_volume_exists(volume);
		if (FAILED(hr)) {
			fl_list_free(&l);
			return hr;
		}
	}
	return fl_find_first(FL_VOLUME_INSTANCE_FIND, fl_info_instance, &l,
			     dwInformationClass, lpBuffer, dwBufferSize,
			     lpBytesReturned, lpVolumeInstanceFind);
}

FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindNext(
	HANDLE hVolumeInstanceFind, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	return fl_find_next(FL_VOLUME_INSTANCE_FIND, hVolumeInstanceFind,
			    dwInformationClass, lpBuffer, dwBufferSize,
			    lpBytesReturned);
}

FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindClose(HANDLE hVolumeInstanceFind)
{
	return fl_find_end(FL_VOLUME_INSTANCE_FIND, hVolumeInstanceFind);
}

/* ---- Services (Altitude) --------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterServiceFindFirst(LPVOID lpBuffer,
						 DWORD dwBufferSize,
						 LPDWORD lpBytesReturned,
						 LPHANDLE lpServiceFind)
{
	struct fl_list l;
	HRESULT hr;

	hr = fl_first_check(fl_info_service, 0, lpBuffer, dwBufferSize,
			    lpBytesReturned, lpServiceFind);
	if (FAILED(hr))
		return hr;
	hr = fl_list_services(&l);
	if (FAILED(hr))
		return hr;
	return fl_find_first(FL_SERVICE_FIND, fl_info_service, &l, 0, lpBuffer,
			     dwBufferSize, lpBytesReturned, lpServiceFind);
}

FLTLIB_API HRESULT WINAPI FilterServiceFindNext(HANDLE hServiceFind,
						LPVOID lpBuffer,
						DWORD dwBufferSize,
						LPDWORD lpBytesReturned)
{
	return fl_find_next(FL_SERVICE_FIND, hServiceFind, 0, lpBuffer,
			    dwBufferSize, lpBytesReturned);
}

FLTLIB_API HRESULT WINAPI FilterServiceFindClose(HANDLE hServiceFind)
{
	return fl_find_end(FL_SERVICE_FIND, hServiceFind);
}
