/*
 * manage.c - the management calls that change something: FilterLoad,
 * FilterUnload, FilterAttach, FilterAttachAtAltitude, FilterDetach, and
 * Altitude's volume and service calls.
 *
 * Each converts its arguments, sends one control request and returns the
 * daemon's status as an HRESULT.  The daemon decides everything (who may
 * call, which names exist, what a service file must contain); the library
 * only refuses what cannot be sent.  Volumes may be named by \Device\
 * name, short name or directory: fl_volume_resolve turns the latter two
 * into the \Device\ name before the request goes out.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fltlib/handle.h"
#include "fltlib/list.h"

FLTLIB_API HRESULT WINAPI FilterLoad(LPCWSTR lpFilterName)
{
	char name[FL_STR_MAX + 1];
	HRESULT hr;

	hr = fl_arg_utf8(lpFilterName, name, false);
	if (FAILED(hr))
		return hr;
	return fl_ctl_simple(CTL_LOAD, name, NULL);
}

FLTLIB_API HRESULT WINAPI FilterUnload(LPCWSTR lpFilterName)
{
	char name[FL_STR_MAX + 1];
	HRESULT hr;

	hr = fl_arg_utf8(lpFilterName, name, false);
	if (FAILED(hr))
		return hr;
	return fl_ctl_simple(CTL_UNLOAD, name, NULL);
}

/* The name of the instance the daemon created, into the caller's buffer
 * of cb bytes (NUL included). */
static HRESULT fl_created_name(struct wire *rep, DWORD cb, LPWSTR out)
{
	char name[FL_STR_MAX + 1];

	if (!wire_get_str(rep, name, sizeof(name)) || rep->pos != rep->cap)
		return FL_E_PROTOCOL;
	if (!out)
		return S_OK;
	if (fl_to_utf16(name, out, cb / sizeof(WCHAR)) < 0) {
		/* Too small (the instance stays attached), or not UTF-8. */
		WCHAR probe[FL_STR_MAX + 1];

		if (fl_to_utf16(name, probe, FL_STR_MAX + 1) < 0)
			return FL_E_PROTOCOL;
		return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
	}
	return S_OK;
}

static HRESULT fl_attach(LPCWSTR lpFilterName, LPCWSTR lpVolumeName,
			 LPCWSTR lpAltitude, LPCWSTR lpInstanceName,
			 DWORD dwCreatedInstanceNameLength,
			 LPWSTR lpCreatedInstanceName)
{
	char filter[FL_STR_MAX + 1], volume[FL_STR_MAX + 1];
	char instance[FL_STR_MAX + 1], altitude[FL_STR_MAX + 1];
	struct fl_ctl c;
	HRESULT hr;

	hr = fl_arg_utf8(lpFilterName, filter, false);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpInstanceName, instance, true);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpAltitude, altitude, true);
	if (SUCCEEDED(hr))
		hr = fl_volume_resolve(lpVolumeName, volume);
	if (SUCCEEDED(hr))
		hr = fl_ctl_begin(&c, CTL_ATTACH);
	if (FAILED(hr))
		return hr;
	wire_put_str(&c.req, filter);
	wire_put_str(&c.req, volume);
	wire_put_str(&c.req, instance);
	wire_put_str(&c.req, altitude);
	hr = fl_ctl_call(&c);
	if (SUCCEEDED(hr))
		hr = fl_created_name(&c.rep, dwCreatedInstanceNameLength,
				     lpCreatedInstanceName);
	fl_ctl_end(&c);
	return hr;
}

FLTLIB_API HRESULT WINAPI FilterAttach(LPCWSTR lpFilterName,
				       LPCWSTR lpVolumeName,
				       LPCWSTR lpInstanceName,
				       DWORD dwCreatedInstanceNameLength,
				       LPWSTR lpCreatedInstanceName)
{
	return fl_attach(lpFilterName, lpVolumeName, NULL, lpInstanceName,
			 dwCreatedInstanceNameLength, lpCreatedInstanceName);
}

FLTLIB_API HRESULT WINAPI FilterAttachAtAltitude(
	LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpAltitude,
	LPCWSTR lpInstanceName, DWORD dwCreatedInstanceNameLength,
	LPWSTR lpCreatedInstanceName)
{
	if (!lpAltitude || !*lpAltitude)
		return E_INVALIDARG;
	return fl_attach(lpFilterName, lpVolumeName, lpAltitude, lpInstanceName,
			 dwCreatedInstanceNameLength, lpCreatedInstanceName);
}

FLTLIB_API HRESULT WINAPI FilterDetach(LPCWSTR lpFilterName,
				       LPCWSTR lpVolumeName,
				       LPCWSTR lpInstanceName)
{
	char filter[FL_STR_MAX + 1], volume[FL_STR_MAX + 1];
	char instance[FL_STR_MAX + 1];
	struct fl_ctl c;
	HRESULT hr;

	hr = fl_arg_utf8(lpFilterName, filter, false);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpInstanceName, instance, true);
	if (SUCCEEDED(hr))
		hr = fl_volume_resolve(lpVolumeName, volume);
	if (SUCCEEDED(hr))
		hr = fl_ctl_begin(&c, CTL_DETACH);
	if (FAILED(hr))
		return hr;
	wire_put_str(&c.req, filter);
	wire_put_str(&c.req, volume);
	wire_put_str(&c.req, instance);
	hr = fl_ctl_call(&c);
	if (SUCCEEDED(hr) && c.rep.pos != c.rep.cap)
		hr = FL_E_PROTOCOL;
	fl_ctl_end(&c);
	return hr;
}

/* ---- Volumes (Altitude) ---------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterVolumeAdd(LPCWSTR lpDirectory,
					  LPCWSTR lpVolumeName)
{
	char dir[FL_STR_MAX + 1], name[FL_STR_MAX + 1], real[PATH_MAX];
	HRESULT hr;

	hr = fl_arg_utf8(lpDirectory, dir, false);
	if (SUCCEEDED(hr))
		hr = fl_arg_utf8(lpVolumeName, name, true);
	if (FAILED(hr))
		return hr;
	/*
	 * The daemon has its own working directory: send the caller's
	 * directory as an absolute path without links.  One that does not
	 * resolve goes as given, for the daemon to report.
	 */
	if (realpath(dir, real)) {
		if (strlen(real) > FL_STR_MAX)
			return HRESULT_FROM_WIN32(ERROR_INVALID_NAME);
		memcpy(dir, real, strlen(real) + 1);
	}
	return fl_ctl_simple(CTL_VOLUME_ADD, dir, name);
}

FLTLIB_API HRESULT WINAPI FilterVolumeRemove(LPCWSTR lpVolumeName)
{
	char volume[FL_STR_MAX + 1];
	HRESULT hr;

	hr = fl_volume_resolve(lpVolumeName, volume);
	if (FAILED(hr))
		return hr;
	return fl_ctl_simple(CTL_VOLUME_REMOVE, volume, NULL);
}

/* ---- Services (Altitude) --------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterServiceInstall(LPCWSTR lpServiceName,
					       LPCVOID lpDefinition,
					       DWORD dwDefinitionSize)
{
	char name[FL_STR_MAX + 1];
	char *text;
	HRESULT hr;

	hr = fl_arg_utf8(lpServiceName, name, false);
	if (FAILED(hr))
		return hr;
	/* A wire string: u16 length, no NUL inside. */
	if ((!lpDefinition && dwDefinitionSize) || dwDefinitionSize > 0xffff)
		return E_INVALIDARG;
	if (dwDefinitionSize && memchr(lpDefinition, 0, dwDefinitionSize))
		return HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
	text = malloc((size_t)dwDefinitionSize + 1);
	if (!text)
		return E_OUTOFMEMORY;
	if (dwDefinitionSize)
		memcpy(text, lpDefinition, dwDefinitionSize);
	text[dwDefinitionSize] = 0;
	hr = fl_ctl_simple(CTL_SERVICE_INSTALL, name, text);
	free(text);
	return hr;
}

FLTLIB_API HRESULT WINAPI FilterServiceUninstall(LPCWSTR lpServiceName)
{
	char name[FL_STR_MAX + 1];
	HRESULT hr;

	hr = fl_arg_utf8(lpServiceName, name, false);
	if (FAILED(hr))
		return hr;
	return fl_ctl_simple(CTL_SERVICE_UNINSTALL, name, NULL);
}
