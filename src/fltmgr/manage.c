/*
 * manage.c - what filters (and the control server, through the same
 * calls) do to filters, volumes and instances: FltAttachVolume,
 * FltAttachVolumeAtAltitude, FltDetachVolume, the enumerations, and the
 * lookups by name.  Objects returned to the caller are referenced; the
 * caller releases them with FltObjectDereference.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* UNICODE_STRING -> UTF-8 with '\' kept as '/'; false if it does not fit. */
static bool fm_us_to_utf8(PCUNICODE_STRING us, char *out, size_t cap)
{
	ssize_t n;

	if (!us || !us->Buffer || us->Length % sizeof(WCHAR))
		return false;
	n = rtl_path_from_utf16(us->Buffer, us->Length / sizeof(WCHAR), out, cap);
	return n > 0;
}

/* "\Device\data" or "data" -> the volume's short name. */
static const char *fm_volume_short(const char *path)
{
	if (!strncasecmp(path, "/Device/", 8))
		return path + 8;
	return path[0] == '/' ? path + 1 : path;
}

NTSTATUS FLTAPI FltGetFilterFromName(PCUNICODE_STRING FilterName,
				     PFLT_FILTER *RetFilter)
{
	char name[FM_NAME_MAX * 4];
	struct fm_filter *f;

	if (!RetFilter || !fm_us_to_utf8(FilterName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	pthread_mutex_lock(&fm_global_lock);
	f = fm_filter_find_locked(name);
	if (f)
		fm_object_get(&f->obj);
	pthread_mutex_unlock(&fm_global_lock);
	if (!f)
		return STATUS_FLT_FILTER_NOT_FOUND;
	*RetFilter = (PFLT_FILTER)f;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeFromName(PFLT_FILTER Filter,
				     PCUNICODE_STRING VolumeName,
				     PFLT_VOLUME *RetVolume)
{
	char name[FM_NAME_MAX * 4];
	struct fm_volume *v;

	(void)Filter;
	if (!RetVolume || !fm_us_to_utf8(VolumeName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	v = fm_volume_get(fm_volume_short(name));
	if (!v)
		return STATUS_FLT_VOLUME_NOT_FOUND;
	*RetVolume = (PFLT_VOLUME)v;
	return STATUS_SUCCESS;
}

static bool fm_is(const void *p, enum fm_object_type t)
{
	return p && ((const struct fm_object *)p)->type == t;
}

NTSTATUS FLTAPI FltAttachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName,
				PFLT_INSTANCE *RetInstance)
{
	struct fm_filter *f = (struct fm_filter *)Filter;
	struct fm_volume *v = (struct fm_volume *)Volume;
	const struct fm_instance_def *def;
	char name[FM_NAME_MAX * 4];
	struct fm_instance *inst = NULL;
	NTSTATUS status;

	if (!fm_is(f, FM_OBJ_FILTER) || !fm_is(v, FM_OBJ_VOLUME))
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && InstanceName->Length) {
		if (!fm_us_to_utf8(InstanceName, name, sizeof(name)))
			return STATUS_INVALID_PARAMETER;
		def = fm_filter_def(f, name);
		if (!def)
			return STATUS_FLT_INSTANCE_NOT_FOUND;
	} else {
		def = fm_filter_def(f, NULL);
	}
	if (def && (def->flags & FM_DEF_NO_MANUAL))
		return STATUS_FLT_DO_NOT_ATTACH;
	status = fm_instance_attach(f, v, def ? def->name : NULL,
				    def ? def->altitude : NULL,
				    FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT, &inst);
	if (NT_SUCCESS(status) && RetInstance) {
		fm_object_get(&inst->obj);
		*RetInstance = (PFLT_INSTANCE)inst;
	}
	return status;
}

NTSTATUS FLTAPI FltAttachVolumeAtAltitude(PFLT_FILTER Filter,
					  PFLT_VOLUME Volume,
					  PCUNICODE_STRING Altitude,
					  PCUNICODE_STRING InstanceName,
					  PFLT_INSTANCE *RetInstance)
{
	struct fm_filter *f = (struct fm_filter *)Filter;
	struct fm_volume *v = (struct fm_volume *)Volume;
	char alt[FM_ALTITUDE_MAX * 4], name[FM_NAME_MAX * 4];
	struct fm_instance *inst = NULL;
	NTSTATUS status;

	if (!fm_is(f, FM_OBJ_FILTER) || !fm_is(v, FM_OBJ_VOLUME) ||
	    !fm_us_to_utf8(Altitude, alt, sizeof(alt)) || !fm_altitude_valid(alt))
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && InstanceName->Length) {
		if (!fm_us_to_utf8(InstanceName, name, sizeof(name)) ||
		    strlen(name) >= FM_NAME_MAX)
			return STATUS_INVALID_PARAMETER;
	} else {
		/* Windows names such an instance after the filter and altitude. */
		snprintf(name, sizeof(name), "%.40s %s", f->name, alt);
	}
	status = fm_instance_attach(f, v, name, alt,
				    FLTFL_INSTANCE_SETUP_MANUAL_ATTACHMENT, &inst);
	if (NT_SUCCESS(status) && RetInstance) {
		fm_object_get(&inst->obj);
		*RetInstance = (PFLT_INSTANCE)inst;
	}
	return status;
}

NTSTATUS FLTAPI FltDetachVolume(PFLT_FILTER Filter, PFLT_VOLUME Volume,
				PCUNICODE_STRING InstanceName)
{
	struct fm_filter *f = (struct fm_filter *)Filter;
	struct fm_volume *v = (struct fm_volume *)Volume;
	char name[FM_NAME_MAX * 4];
	struct fm_instance *inst;

	if (!fm_is(f, FM_OBJ_FILTER) || !fm_is(v, FM_OBJ_VOLUME))
		return STATUS_INVALID_PARAMETER;
	if (InstanceName && InstanceName->Length &&
	    !fm_us_to_utf8(InstanceName, name, sizeof(name)))
		return STATUS_INVALID_PARAMETER;
	inst = fm_instance_find(v, f,
				InstanceName && InstanceName->Length ? name : NULL);
	if (!inst)
		return STATUS_FLT_INSTANCE_NOT_FOUND;
	return fm_instance_detach_manual(inst);
}

/* Copies up to size referenced objects; STATUS_BUFFER_TOO_SMALL with the
 * count needed when they do not all fit, as the Windows routines do. */
static NTSTATUS fm_fill(void **all, size_t n, PVOID *list, ULONG size,
			PULONG returned)
{
	size_t i;

	if (returned)
		*returned = (ULONG)n;
	if (!list || n > size) {
		for (i = 0; i < n; i++)
			FltObjectDereference(all[i]);
		return STATUS_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < n; i++)
		list[i] = all[i];
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltEnumerateFilters(PFLT_FILTER *FilterList,
				    ULONG FilterListSize,
				    PULONG NumberFiltersReturned)
{
	struct fm_filter **arr;
	size_t n = fm_filters_snapshot(&arr);
	NTSTATUS st;

	if (!NumberFiltersReturned) {
		st = fm_fill((void **)arr, n, NULL, 0, NULL);
		free(arr);
		return STATUS_INVALID_PARAMETER;
	}
	st = fm_fill((void **)arr, n, (PVOID *)FilterList, FilterListSize,
		     NumberFiltersReturned);
	free(arr);
	return st;
}

NTSTATUS FLTAPI FltEnumerateVolumes(PFLT_FILTER Filter, PFLT_VOLUME *VolumeList,
				    ULONG VolumeListSize,
				    PULONG NumberVolumesReturned)
{
	struct fm_volume **arr;
	size_t n = fm_volumes_snapshot(&arr);
	NTSTATUS st;

	(void)Filter;
	if (!NumberVolumesReturned) {
		fm_fill((void **)arr, n, NULL, 0, NULL);
		free(arr);
		return STATUS_INVALID_PARAMETER;
	}
	st = fm_fill((void **)arr, n, (PVOID *)VolumeList, VolumeListSize,
		     NumberVolumesReturned);
	free(arr);
	return st;
}

NTSTATUS FLTAPI FltEnumerateInstances(PFLT_VOLUME Volume, PFLT_FILTER Filter,
				      PFLT_INSTANCE *InstanceList,
				      ULONG InstanceListSize,
				      PULONG NumberInstancesReturned)
{
	struct fm_volume **vols;
	size_t nv = fm_volumes_snapshot(&vols), i, n = 0, cap = 0;
	void **all = NULL;
	NTSTATUS st;

	for (i = 0; i < nv; i++) {
		unsigned j;

		if (Volume && (PFLT_VOLUME)vols[i] != Volume) {
			fm_object_put(&vols[i]->obj);
			continue;
		}
		pthread_mutex_lock(&vols[i]->attach_lock);
		for (j = 0; j < vols[i]->stack->count; j++) {
			struct fm_instance *inst = vols[i]->stack->inst[j];

			if ((Filter && (PFLT_FILTER)inst->filter != Filter) ||
			    inst->detaching)
				continue;
			if (n == cap) {
				void **na = realloc(all, (cap ? cap * 2 : 16) * sizeof(*na));

				if (!na)
					break;
				all = na;
				cap = cap ? cap * 2 : 16;
			}
			fm_object_get(&inst->obj);
			all[n++] = inst;
		}
		pthread_mutex_unlock(&vols[i]->attach_lock);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
	if (!NumberInstancesReturned) {
		fm_fill(all, n, NULL, 0, NULL);
		free(all);
		return STATUS_INVALID_PARAMETER;
	}
	st = fm_fill(all, n, (PVOID *)InstanceList, InstanceListSize,
		     NumberInstancesReturned);
	free(all);
	return st;
}

NTSTATUS FLTAPI FltGetVolumeProperties(PFLT_VOLUME Volume,
				       PFLT_VOLUME_PROPERTIES VolumeProperties,
				       ULONG VolumePropertiesLength,
				       PULONG LengthReturned)
{
	struct fm_volume *v = (struct fm_volume *)Volume;
	static const WCHAR driver[] = L"\\FileSystem\\Altitude";
	size_t fixed = sizeof(FLT_VOLUME_PROPERTIES), need;
	USHORT dlen = sizeof(driver) - sizeof(WCHAR), vlen;
	WCHAR *p;

	if (!fm_is(v, FM_OBJ_VOLUME) || !LengthReturned)
		return STATUS_INVALID_PARAMETER;
	vlen = v->device_name.Length;
	need = fixed + dlen + 2 * (size_t)vlen;
	*LengthReturned = (ULONG)need;
	if (VolumePropertiesLength < fixed || !VolumeProperties)
		return STATUS_BUFFER_TOO_SMALL;
	memset(VolumeProperties, 0, fixed);
	VolumeProperties->DeviceType = FILE_DEVICE_DISK_FILE_SYSTEM;
	VolumeProperties->SectorSize = 512;
	if (VolumePropertiesLength < need) {
		*LengthReturned = (ULONG)fixed;
		return STATUS_BUFFER_OVERFLOW;
	}
	p = (WCHAR *)(VolumeProperties + 1);
	memcpy(p, driver, dlen);
	VolumeProperties->FileSystemDriverName.Buffer = p;
	VolumeProperties->FileSystemDriverName.Length = dlen;
	VolumeProperties->FileSystemDriverName.MaximumLength = dlen;
	p += dlen / sizeof(WCHAR);
	memcpy(p, v->device_name.Buffer, vlen);
	VolumeProperties->FileSystemDeviceName.Buffer = p;
	VolumeProperties->FileSystemDeviceName.Length = vlen;
	VolumeProperties->FileSystemDeviceName.MaximumLength = vlen;
	p += vlen / sizeof(WCHAR);
	memcpy(p, v->device_name.Buffer, vlen);
	VolumeProperties->RealDeviceName.Buffer = p;
	VolumeProperties->RealDeviceName.Length = vlen;
	VolumeProperties->RealDeviceName.MaximumLength = vlen;
	return STATUS_SUCCESS;
}
