/*
 * core.c - object references and the queries filters make on filter manager
 * objects (FltObjectReference, FltGetFilterFromInstance, FltGetVolumeName).
 *
 * Every PFLT_FILTER, PFLT_VOLUME and PFLT_INSTANCE begins with struct
 * fm_object; its reference count starts at one (the owner's) and teardown
 * waits for it to come back to one before the object is freed.
 */
#include "fltmgr/fm.h"

#include <string.h>

pthread_mutex_t fm_global_lock = PTHREAD_MUTEX_INITIALIZER;

void fm_object_init(struct fm_object *obj, enum fm_object_type type)
{
	obj->type = type;
	atomic_init(&obj->refs, 1);
}

void fm_object_get(struct fm_object *obj)
{
	atomic_fetch_add_explicit(&obj->refs, 1, memory_order_relaxed);
}

bool fm_object_put(struct fm_object *obj)
{
	return atomic_fetch_sub_explicit(&obj->refs, 1, memory_order_acq_rel) ==
	       1;
}

static bool fm_object_valid(const void *p)
{
	const struct fm_object *obj = p;

	if (!obj)
		return false;
	return obj->type == FM_OBJ_FILTER || obj->type == FM_OBJ_VOLUME ||
	       obj->type == FM_OBJ_INSTANCE;
}

NTSTATUS FLTAPI FltObjectReference(PVOID FltObject)
{
	if (!fm_object_valid(FltObject))
		return STATUS_INVALID_PARAMETER;
	fm_object_get(FltObject);
	return STATUS_SUCCESS;
}

VOID FLTAPI FltObjectDereference(PVOID FltObject)
{
	struct fm_object *obj = FltObject;

	if (!fm_object_valid(obj))
		return;
	/* The owner's reference keeps the count above zero; teardown waits.
	 * A filter's waiter checks the count under f->lock, so dropping it
	 * under the lock keeps the filter alive until we let go of it. */
	if (obj->type == FM_OBJ_FILTER) {
		struct fm_filter *f = (struct fm_filter *)obj;

		pthread_mutex_lock(&f->lock);
		fm_object_put(obj);
		pthread_cond_broadcast(&f->drained);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	fm_object_put(obj);
}

NTSTATUS FLTAPI FltGetFilterFromInstance(PFLT_INSTANCE Instance,
					 PFLT_FILTER *RetFilter)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;

	if (!inst || inst->obj.type != FM_OBJ_INSTANCE || !RetFilter)
		return STATUS_INVALID_PARAMETER;
	fm_object_get(&inst->filter->obj);
	*RetFilter = (PFLT_FILTER)inst->filter;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeFromInstance(PFLT_INSTANCE Instance,
					 PFLT_VOLUME *RetVolume)
{
	struct fm_instance *inst = (struct fm_instance *)Instance;

	if (!inst || inst->obj.type != FM_OBJ_INSTANCE || !RetVolume)
		return STATUS_INVALID_PARAMETER;
	fm_object_get(&inst->volume->obj);
	*RetVolume = (PFLT_VOLUME)inst->volume;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeName(PFLT_VOLUME Volume, PUNICODE_STRING VolumeName,
				 PULONG BufferSizeNeeded)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;
	USHORT len;

	if (!vol || vol->obj.type != FM_OBJ_VOLUME)
		return STATUS_INVALID_PARAMETER;
	if (!VolumeName && !BufferSizeNeeded)
		return STATUS_INVALID_PARAMETER;
	len = vol->device_name.Length;
	if (BufferSizeNeeded)
		*BufferSizeNeeded = len;
	if (!VolumeName || VolumeName->MaximumLength < len)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(VolumeName->Buffer, vol->device_name.Buffer, len);
	VolumeName->Length = len;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltGetVolumeLxPath(PFLT_VOLUME Volume, PCHAR Buffer,
				   ULONG BufferSize, PULONG BufferSizeNeeded)
{
	struct fm_volume *vol = (struct fm_volume *)Volume;
	size_t len;

	if (!vol || vol->obj.type != FM_OBJ_VOLUME || (!Buffer && BufferSize))
		return STATUS_INVALID_PARAMETER;
	len = vol->dos_name ? strlen(vol->dos_name) : 0;
	if (BufferSizeNeeded)
		*BufferSizeNeeded = (ULONG)len + 1;
	if (len + 1 > BufferSize)
		return STATUS_BUFFER_TOO_SMALL;
	memcpy(Buffer, vol->dos_name ? vol->dos_name : "", len + 1);
	return STATUS_SUCCESS;
}
