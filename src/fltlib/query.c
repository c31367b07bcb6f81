/*
 * query.c - filter and instance handles (FilterCreate, FilterInstanceCreate
 * and their Close calls), FilterGetInformation,
 * FilterInstanceGetInformation and FilterGetDosName.
 *
 * A handle holds names only: the daemon's objects can go away at any
 * time, so every GetInformation asks again and a filter or instance that
 * has gone since gives ERROR_FLT_FILTER_NOT_FOUND or
 * ERROR_FLT_INSTANCE_NOT_FOUND, as a stale handle does on Windows.
 */
#include <stdlib.h>
#include <string.h>

#include "fltlib/handle.h"
#include "fltlib/info.h"
#include "fltlib/list.h"
#include "fltlib/object.h"

struct fl_filter {
	struct fl_mobject m;
	char *name;
};

struct fl_instance {
	struct fl_mobject m;
	char *filter;
	char *volume; /* \Device\ name */
	char *instance;
};

static void fl_filter_destroy(struct fl_mobject *m)
{
	struct fl_filter *f = (struct fl_filter *)m;

	free(f->name);
	free(f);
}

static void fl_instance_destroy(struct fl_mobject *m)
{
	struct fl_instance *i = (struct fl_instance *)m;

	free(i->filter);
	free(i->volume);
	free(i->instance);
	free(i);
}

/* ---- Filters --------------------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterCreate(LPCWSTR lpFilterName, HFILTER *hFilter)
{
	char name[FL_STR_MAX + 1];
	const struct fl_entry *e;
	struct fl_filter *f;
	struct fl_list l;
	HRESULT hr;

	if (!hFilter)
		return E_INVALIDARG;
	hr = fl_arg_utf8(lpFilterName, name, false);
	if (SUCCEEDED(hr))
		hr = fl_list_filters(&l);
	if (FAILED(hr))
		return hr;
	e = fl_list_lookup(&l, name);
	if (!e) {
		fl_list_free(&l);
		return ERROR_FLT_FILTER_NOT_FOUND;
	}
	f = calloc(1, sizeof(*f));
	if (f) {
		fl_mobject_init(&f->m, FL_FILTER, fl_filter_destroy);
		f->name = strdup(e->name.u8);
	}
	fl_list_free(&l);
	if (!f || !f->name) {
		if (f)
			fl_mobject_put(&f->m);
		return E_OUTOFMEMORY;
	}
	return fl_mobject_register(&f->m, hFilter);
}

FLTLIB_API HRESULT WINAPI FilterClose(HFILTER hFilter)
{
	return fl_handle_close(hFilter, FL_FILTER) ? S_OK : E_HANDLE;
}

FLTLIB_API HRESULT WINAPI FilterGetInformation(HFILTER hFilter,
					       FILTER_INFORMATION_CLASS dwInformationClass,
					       LPVOID lpBuffer, DWORD dwBufferSize,
					       LPDWORD lpBytesReturned)
{
	const struct fl_entry *e;
	struct fl_filter *f;
	struct fl_list l;
	HRESULT hr;

	if (!fl_info_args_ok(lpBuffer, dwBufferSize, lpBytesReturned))
		return E_INVALIDARG;
	f = (struct fl_filter *)fl_mobject_get(hFilter, FL_FILTER);
	if (!f)
		return E_HANDLE;
	hr = E_INVALIDARG;
	if (fl_info_class_ok(fl_info_filter, dwInformationClass))
		hr = fl_list_filters(&l);
	if (SUCCEEDED(hr)) {
		e = fl_list_lookup(&l, f->name);
		if (e)
			hr = fl_info_filter(e, dwInformationClass, lpBuffer,
					    dwBufferSize, lpBytesReturned);
		else
			hr = ERROR_FLT_FILTER_NOT_FOUND;
		fl_list_free(&l);
	}
	fl_mobject_put(&f->m);
	return hr;
}

/* ---- Instances ------------------------------------------------------- */

/* The instance of filter on volume named instance ("" for the first). */
static const struct fl_entry *fl_find_instance(const struct fl_list *l,
					       const char *filter,
					       const char *volume,
					       const char *instance)
{
	ULONG i;

	for (i = 0; i < l->count; i++) {
		const struct fl_entry *e = &l->e[i];

		if (fl_name_eq(e->filter.u8, filter) &&
		    fl_name_eq(e->volume.u8, volume) &&
		    (!*instance || fl_name_eq(e->name.u8, instance)))
			return e;
	}
	return NULL;
}

static struct fl_instance *fl_instance_new(const struct fl_entry *e)
{
	struct fl_instance *i = calloc(1, sizeof(*i));

	if (!i)
		return NULL;
	fl_mobject_init(&i->m, FL_INSTANCE, fl_instance_destroy);
	i->filter = strdup(e->filter.u8);
	i->volume = strdup(e->volume.u8);
	i->instance = strdup(e->name.u8);
	if (!i->filter || !i->volume || !i->instance) {
		fl_mobject_put(&i->m);
		return NULL;
	}
	return i;
}

FLTLIB_API HRESULT WINAPI FilterInstanceCreate(LPCWSTR lpFilterName,
					       LPCWSTR lpVolumeName,
					       LPCWSTR lpInstanceName,
					       HFILTER_INSTANCE *hInstance)
{
	char filter[FL_STR_MAX + 1], volume[FL_STR_MAX + 1];
	char instance[FL_STR_MAX + 1];
	const struct fl_entry *e;
	struct fl_instance *i;
	struct fl_list l;
	HRESULT hr;

	if (!hInstance)
		return E_INVALIDARG;
	hr = fl_arg_utf8(lpFilterName, filter, false);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpInstanceName, instance, true);
	if (SUCCEEDED(hr))
		hr = fl_volume_resolve(lpVolumeName, volume);
	if (SUCCEEDED(hr))
		hr = fl_list_instances(&l, filter, volume);
	if (FAILED(hr))
		return hr;
	e = fl_find_instance(&l, filter, volume, instance);
	i = e ? fl_instance_new(e) : NULL;
	fl_list_free(&l);
	if (!i)
		return e ? E_OUTOFMEMORY : ERROR_FLT_INSTANCE_NOT_FOUND;
	return fl_mobject_register(&i->m, hInstance);
}

FLTLIB_API HRESULT WINAPI FilterInstanceClose(HFILTER_INSTANCE hInstance)
{
	return fl_handle_close(hInstance, FL_INSTANCE) ? S_OK : E_HANDLE;
}

FLTLIB_API HRESULT WINAPI FilterInstanceGetInformation(
	HFILTER_INSTANCE hInstance, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned)
{
	const struct fl_entry *e;
	struct fl_instance *i;
	struct fl_list l;
	HRESULT hr;

	if (!fl_info_args_ok(lpBuffer, dwBufferSize, lpBytesReturned))
		return E_INVALIDARG;
	i = (struct fl_instance *)fl_mobject_get(hInstance, FL_INSTANCE);
	if (!i)
		return E_HANDLE;
	hr = E_INVALIDARG;
	if (fl_info_class_ok(fl_info_instance, dwInformationClass))
		hr = fl_list_instances(&l, i->filter, i->volume);
	if (SUCCEEDED(hr)) {
		e = fl_find_instance(&l, i->filter, i->volume, i->instance);
		if (e)
			hr = fl_info_instance(e, dwInformationClass, lpBuffer,
					      dwBufferSize, lpBytesReturned);
		else
			hr = ERROR_FLT_INSTANCE_NOT_FOUND;
		fl_list_free(&l);
	}
	fl_mobject_put(&i->m);
	return hr;
}

/* ---- Volumes --------------------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterGetDosName(LPCWSTR lpVolumeName,
					   LPWSTR lpDosName,
					   DWORD dwDosNameBufferSize)
{
	char volume[FL_STR_MAX + 1];
	const struct fl_entry *e;
	struct fl_list l;
	HRESULT hr;

	if (!lpDosName && dwDosNameBufferSize)
		return E_INVALIDARG;
	hr = fl_arg_utf8(lpVolumeName, volume, false);
	if (SUCCEEDED(hr))
		hr = fl_list_volumes(&l);
	if (FAILED(hr))
		return hr;
	e = fl_list_volume(&l, volume);
	if (!e)
		hr = ERROR_FLT_VOLUME_NOT_FOUND;
	else if ((ULONG)e->dos_name.cb / sizeof(WCHAR) + 1 > dwDosNameBufferSize)
		hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
	else
		memcpy(lpDosName, e->dos_name.w, e->dos_name.cb + sizeof(WCHAR));
	fl_list_free(&l);
	return hr;
}
