/*
 * info.c - the information classes of fltUserStructures.h, filled from
 * enumerated entries.
 *
 * Layouts follow Windows: FILTER_FULL_INFORMATION and the volume basic and
 * standard classes carry their one name inline after the fixed fields;
 * the aggregate, partial and full classes carry names at offsets from the
 * start of the structure, placed one after another behind the fixed part
 * in the order the structure declares them.  Lengths are in bytes and no
 * name is NUL-terminated.  The fixed part is assembled in a local
 * structure and copied out, so a caller's buffer needs no alignment.
 */
#include "fltlib/info.h"

#include <stddef.h>
#include <string.h>

/* Where the names go: the caller's buffer and the next free offset. */
struct fl_out {
	BYTE *buf;
	ULONG off;
};

static void fl_place(struct fl_out *o, const struct fl_str *s, USHORT *len,
		     USHORT *offset)
{
	*len = s->cb;
	*offset = (USHORT)o->off;
	memcpy(o->buf + o->off, s->w, s->cb);
	o->off += s->cb;
}

/* S_OK if need bytes fit; else the insufficient-buffer result. */
static HRESULT fl_fits(ULONG need, LPVOID buf, DWORD size, LPDWORD returned)
{
	*returned = need;
	if (!buf || size < need)
		return HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
	return S_OK;
}

/* A fixed part followed by one inline name. */
static HRESULT fl_inline(const void *fixed, size_t fixed_size,
			 const struct fl_str *name, LPVOID buf, DWORD size,
			 LPDWORD returned)
{
	HRESULT hr = fl_fits((ULONG)(fixed_size + name->cb), buf, size,
			     returned);

	if (FAILED(hr))
		return hr;
	memcpy(buf, fixed, fixed_size);
	memcpy((BYTE *)buf + fixed_size, name->w, name->cb);
	return S_OK;
}

static HRESULT fl_filter_full(const struct fl_entry *e, LPVOID buf,
			      DWORD size, LPDWORD returned)
{
	FILTER_FULL_INFORMATION fi = {
		.FrameID = e->frame,
		.NumberOfInstances = e->instances,
		.FilterNameLength = e->name.cb,
	};

	return fl_inline(&fi, offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer),
			 &e->name, buf, size, returned);
}

static HRESULT fl_filter_basic(const struct fl_entry *e, LPVOID buf,
			       DWORD size, LPDWORD returned)
{
	FILTER_AGGREGATE_BASIC_INFORMATION fi = {
		.Flags = FLTFL_AGGREGATE_INFO_IS_MINIFILTER,
	};
	struct fl_out o = { buf, sizeof(fi) };
	HRESULT hr;

	hr = fl_fits(sizeof(fi) + e->name.cb + e->altitude.cb, buf, size,
		     returned);
	if (FAILED(hr))
		return hr;
	fi.Type.MiniFilter.FrameID = e->frame;
	fi.Type.MiniFilter.NumberOfInstances = e->instances;
	fl_place(&o, &e->name, &fi.Type.MiniFilter.FilterNameLength,
		 &fi.Type.MiniFilter.FilterNameBufferOffset);
	fl_place(&o, &e->altitude, &fi.Type.MiniFilter.FilterAltitudeLength,
		 &fi.Type.MiniFilter.FilterAltitudeBufferOffset);
	memcpy(buf, &fi, sizeof(fi));
	return S_OK;
}

static HRESULT fl_filter_standard(const struct fl_entry *e, LPVOID buf,
				  DWORD size, LPDWORD returned)
{
	FILTER_AGGREGATE_STANDARD_INFORMATION fi = {
		.Flags = FLTFL_AGGREGATE_INFO_IS_MINIFILTER,
	};
	struct fl_out o = { buf, sizeof(fi) };
	HRESULT hr;

	hr = fl_fits(sizeof(fi) + e->name.cb + e->altitude.cb, buf, size,
		     returned);
	if (FAILED(hr))
		return hr;
	fi.Type.MiniFilter.FrameID = e->frame;
	fi.Type.MiniFilter.NumberOfInstances = e->instances;
	fl_place(&o, &e->name, &fi.Type.MiniFilter.FilterNameLength,
		 &fi.Type.MiniFilter.FilterNameBufferOffset);
	fl_place(&o, &e->altitude, &fi.Type.MiniFilter.FilterAltitudeLength,
		 &fi.Type.MiniFilter.FilterAltitudeBufferOffset);
	memcpy(buf, &fi, sizeof(fi));
	return S_OK;
}

HRESULT fl_info_filter(const struct fl_entry *e, int cls, LPVOID buf,
		       DWORD size, LPDWORD returned)
{
	switch ((FILTER_INFORMATION_CLASS)cls) {
	case FilterFullInformation:
		return fl_filter_full(e, buf, size, returned);
	case FilterAggregateBasicInformation:
		return fl_filter_basic(e, buf, size, returned);
	case FilterAggregateStandardInformation:
		return fl_filter_standard(e, buf, size, returned);
	}
	return E_INVALIDARG;
}

static HRESULT fl_instance_basic(const struct fl_entry *e, LPVOID buf,
				 DWORD size, LPDWORD returned)
{
	INSTANCE_BASIC_INFORMATION ii = { 0 };
	struct fl_out o = { buf, sizeof(ii) };
	HRESULT hr;

	hr = fl_fits(sizeof(ii) + e->name.cb, buf, size, returned);
	if (FAILED(hr))
		return hr;
	fl_place(&o, &e->name, &ii.InstanceNameLength,
		 &ii.InstanceNameBufferOffset);
	memcpy(buf, &ii, sizeof(ii));
	return S_OK;
}

static HRESULT fl_instance_partial(const struct fl_entry *e, LPVOID buf,
				   DWORD size, LPDWORD returned)
{
	INSTANCE_PARTIAL_INFORMATION ii = { 0 };
	struct fl_out o = { buf, sizeof(ii) };
	HRESULT hr;

	hr = fl_fits(sizeof(ii) + e->name.cb + e->altitude.cb, buf, size,
		     returned);
	if (FAILED(hr))
		return hr;
	fl_place(&o, &e->name, &ii.InstanceNameLength,
		 &ii.InstanceNameBufferOffset);
	fl_place(&o, &e->altitude, &ii.AltitudeLength, &ii.AltitudeBufferOffset);
	memcpy(buf, &ii, sizeof(ii));
	return S_OK;
}

static ULONG fl_instance_names(const struct fl_entry *e)
{
	return e->name.cb + e->altitude.cb + e->volume.cb + e->filter.cb;
}

static HRESULT fl_instance_full(const struct fl_entry *e, LPVOID buf,
				DWORD size, LPDWORD returned)
{
	INSTANCE_FULL_INFORMATION ii = { 0 };
	struct fl_out o = { buf, sizeof(ii) };
	HRESULT hr;

	hr = fl_fits(sizeof(ii) + fl_instance_names(e), buf, size, returned);
	if (FAILED(hr))
		return hr;
	fl_place(&o, &e->name, &ii.InstanceNameLength,
		 &ii.InstanceNameBufferOffset);
	fl_place(&o, &e->altitude, &ii.AltitudeLength, &ii.AltitudeBufferOffset);
	fl_place(&o, &e->volume, &ii.VolumeNameLength,
		 &ii.VolumeNameBufferOffset);
	fl_place(&o, &e->filter, &ii.FilterNameLength,
		 &ii.FilterNameBufferOffset);
	memcpy(buf, &ii, sizeof(ii));
	return S_OK;
}

static HRESULT fl_instance_aggregate(const struct fl_entry *e, LPVOID buf,
				     DWORD size, LPDWORD returned)
{
	INSTANCE_AGGREGATE_STANDARD_INFORMATION ii = {
		.Flags = FLTFL_IASI_IS_MINIFILTER,
	};
	struct fl_out o = { buf, sizeof(ii) };
	HRESULT hr;

	hr = fl_fits(sizeof(ii) + fl_instance_names(e), buf, size, returned);
	if (FAILED(hr))
		return hr;
	/*
	 * MiniFilter.Flags has one bit, FLTFL_IASIM_DETACHED_VOLUME: a volume
	 * whose storage is gone, which a directory volume never is.  (The
	 * wire's instance flags are the setup flags; they are not this.)
	 */
	ii.Type.MiniFilter.FrameID = e->frame;
	ii.Type.MiniFilter.VolumeFileSystemType = (FLT_FILESYSTEM_TYPE)e->fs_type;
	fl_place(&o, &e->name, &ii.Type.MiniFilter.InstanceNameLength,
		 &ii.Type.MiniFilter.InstanceNameBufferOffset);
	fl_place(&o, &e->altitude, &ii.Type.MiniFilter.AltitudeLength,
		 &ii.Type.MiniFilter.AltitudeBufferOffset);
	fl_place(&o, &e->volume, &ii.Type.MiniFilter.VolumeNameLength,
		 &ii.Type.MiniFilter.VolumeNameBufferOffset);
	fl_place(&o, &e->filter, &ii.Type.MiniFilter.FilterNameLength,
		 &ii.Type.MiniFilter.FilterNameBufferOffset);
	/* No offload, query-open or bypass I/O on a FUSE volume. */
	ii.Type.MiniFilter.SupportedFeatures = 0;
	memcpy(buf, &ii, sizeof(ii));
	return S_OK;
}

HRESULT fl_info_instance(const struct fl_entry *e, int cls, LPVOID buf,
			 DWORD size, LPDWORD returned)
{
	switch ((INSTANCE_INFORMATION_CLASS)cls) {
	case InstanceBasicInformation:
		return fl_instance_basic(e, buf, size, returned);
	case InstancePartialInformation:
		return fl_instance_partial(e, buf, size, returned);
	case InstanceFullInformation:
		return fl_instance_full(e, buf, size, returned);
	case InstanceAggregateStandardInformation:
		return fl_instance_aggregate(e, buf, size, returned);
	}
	return E_INVALIDARG;
}

static HRESULT fl_volume_linux(const struct fl_entry *e, LPVOID buf,
			       DWORD size, LPDWORD returned)
{
	FILTER_VOLUME_LINUX_INFORMATION vi = {
		.Flags = e->flags,
		.FileSystemType = (FLT_FILESYSTEM_TYPE)e->fs_type,
	};
	struct fl_out o = { buf, sizeof(vi) };
	HRESULT hr;

	hr = fl_fits(sizeof(vi) + e->name.cb + e->dos_name.cb + e->fs_name.cb,
		     buf, size, returned);
	if (FAILED(hr))
		return hr;
	fl_place(&o, &e->name, &vi.FilterVolumeNameLength,
		 &vi.FilterVolumeNameBufferOffset);
	fl_place(&o, &e->dos_name, &vi.DosNameLength, &vi.DosNameBufferOffset);
	fl_place(&o, &e->fs_name, &vi.FileSystemNameLength,
		 &vi.FileSystemNameBufferOffset);
	memcpy(buf, &vi, sizeof(vi));
	return S_OK;
}

HRESULT fl_info_volume(const struct fl_entry *e, int cls, LPVOID buf,
		       DWORD size, LPDWORD returned)
{
	FILTER_VOLUME_BASIC_INFORMATION basic = {
		.FilterVolumeNameLength = e->name.cb,
	};
	FILTER_VOLUME_STANDARD_INFORMATION standard = {
		.Flags = e->flags,
		.FileSystemType = (FLT_FILESYSTEM_TYPE)e->fs_type,
		.FilterVolumeNameLength = e->name.cb,
	};

	switch ((FILTER_VOLUME_INFORMATION_CLASS)cls) {
	case FilterVolumeBasicInformation:
		return fl_inline(&basic,
				 offsetof(FILTER_VOLUME_BASIC_INFORMATION,
					  FilterVolumeName),
				 &e->name, buf, size, returned);
	case FilterVolumeStandardInformation:
		return fl_inline(&standard,
				 offsetof(FILTER_VOLUME_STANDARD_INFORMATION,
					  FilterVolumeName),
				 &e->name, buf, size, returned);
	case FilterVolumeLinuxInformation:
		return fl_volume_linux(e, buf, size, returned);
	}
	return E_INVALIDARG;
}

HRESULT fl_info_service(const struct fl_entry *e, int cls, LPVOID buf,
			DWORD size, LPDWORD returned)
{
	FILTER_SERVICE_INFORMATION si = { .StartType = e->start_type };
	struct fl_out o = { buf, sizeof(si) };
	HRESULT hr;

	(void)cls;
	hr = fl_fits(sizeof(si) + e->name.cb + e->image.cb + e->group.cb +
			     e->altitude.cb,
		     buf, size, returned);
	if (FAILED(hr))
		return hr;
	fl_place(&o, &e->name, &si.ServiceNameLength,
		 &si.ServiceNameBufferOffset);
	fl_place(&o, &e->image, &si.ImagePathLength, &si.ImagePathBufferOffset);
	fl_place(&o, &e->group, &si.GroupLength, &si.GroupBufferOffset);
	fl_place(&o, &e->altitude, &si.AltitudeLength, &si.AltitudeBufferOffset);
	memcpy(buf, &si, sizeof(si));
	return S_OK;
}

bool fl_info_class_ok(fl_fill_fn fill, int cls)
{
	static const struct fl_entry empty;
	DWORD n;

	/* With no buffer a known class can only answer "too small". */
	return fill(&empty, cls, NULL, 0, &n) != E_INVALIDARG;
}

bool fl_info_args_ok(LPVOID buf, DWORD size, LPDWORD returned)
{
	return returned && (buf || !size);
}
