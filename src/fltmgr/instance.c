/*
 * instance.c - attaching a filter to a volume and tearing the instance down.
 *
 * Attach: check the altitude is free on the volume, call the filter's
 * InstanceSetupCallback (STATUS_FLT_DO_NOT_ATTACH or any error refuses the
 * attachment and nothing is left behind), then publish the new stack.
 * Detach: call InstanceTeardownStartCallback (operations keep arriving
 * until it returns, so the filter can complete what it pended), take the
 * instance out of the stack, wait until every operation that started with
 * it has finished its pre and post callbacks, call
 * InstanceTeardownCompleteCallback, delete the contexts it set, then wait
 * for the last reference.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static void fm_related_objects(struct fm_instance *inst, FLT_RELATED_OBJECTS *o)
{
	memset(o, 0, sizeof(*o));
	o->Size = sizeof(*o);
	o->Filter = (PFLT_FILTER)inst->filter;
	o->Volume = (PFLT_VOLUME)inst->volume;
	o->Instance = (PFLT_INSTANCE)inst;
}

NTSTATUS fm_instance_attach(struct fm_filter *filter, struct fm_volume *vol,
			    const char *instance_name, const char *altitude,
			    FLT_INSTANCE_SETUP_FLAGS flags,
			    struct fm_instance **out)
{
	struct fm_instance *inst;
	struct fm_stack *s;
	FLT_RELATED_OBJECTS objs;
	NTSTATUS status = STATUS_SUCCESS;
	unsigned i;

	if (!instance_name || !altitude) {
		const struct fm_instance_def *def = fm_filter_def(filter, instance_name);

		if (!altitude)
			altitude = def ? def->altitude : filter->altitude;
		if (!instance_name && def)
			instance_name = def->name;
	}
	if (!fm_altitude_valid(altitude))
		return STATUS_INVALID_PARAMETER;
	if (filter->state != FM_FILTER_STARTED)
		return STATUS_FLT_FILTER_NOT_READY;

	inst = calloc(1, sizeof(*inst));
	if (!inst)
		return STATUS_INSUFFICIENT_RESOURCES;
	fm_object_init(&inst->obj, FM_OBJ_INSTANCE);
	inst->filter = filter;
	inst->volume = vol;
	snprintf(inst->name, sizeof(inst->name), "%s",
		 instance_name ? instance_name : filter->name);
	snprintf(inst->altitude, sizeof(inst->altitude), "%s", altitude);
	inst->setup_flags = flags;

	pthread_mutex_lock(&vol->attach_lock);
	s = vol->stack;
	if (s->count >= FM_MAX_STACK) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		goto out_unlock;
	}
	for (i = 0; i < s->count; i++) {
		if (!fm_altitude_compare(s->inst[i]->altitude, altitude)) {
			rtl_log(LOG_ERR,
				"filter %s: altitude collision: %s is taken by instance %s of filter %s on volume %s",
				filter->name, altitude, s->inst[i]->name,
				s->inst[i]->filter->name, vol->name);
			status = STATUS_FLT_INSTANCE_ALTITUDE_COLLISION;
			goto out_unlock;
		}
		if (!strcasecmp(s->inst[i]->name, inst->name)) {
			rtl_log(LOG_ERR,
				"filter %s: instance name %s already exists on volume %s",
				filter->name, inst->name, vol->name);
			status = STATUS_FLT_INSTANCE_NAME_COLLISION;
			goto out_unlock;
		}
	}
	fm_object_get(&filter->obj);
	fm_object_get(&vol->obj);
	if (filter->reg.InstanceSetupCallback) {
		fm_related_objects(inst, &objs);
		status = filter->reg.InstanceSetupCallback(
			&objs, flags, FILE_DEVICE_DISK_FILE_SYSTEM, vol->fs_type);
	}
	if (!NT_SUCCESS(status)) {
		if (status != STATUS_FLT_DO_NOT_ATTACH)
			rtl_log(LOG_WARNING,
				"filter %s: InstanceSetupCallback on volume %s failed: %s (0x%08X)",
				filter->name, vol->name, rtl_status_name(status),
				(unsigned)status);
		FltObjectDereference(filter);
		fm_object_put(&vol->obj);
		goto out_unlock;
	}
	if (fm_volume_publish(vol, inst, NULL) < 0) {
		status = STATUS_INSUFFICIENT_RESOURCES;
		FltObjectDereference(filter);
		fm_object_put(&vol->obj);
		goto out_unlock;
	}
	pthread_mutex_unlock(&vol->attach_lock);
	rtl_log(LOG_INFO, "filter %s: instance %s attached to volume %s at altitude %s",
		filter->name, inst->name, vol->name, inst->altitude);
	if (out)
		*out = inst;
	return STATUS_SUCCESS;

out_unlock:
	pthread_mutex_unlock(&vol->attach_lock);
	free(inst);
	return status;
}

void fm_instance_detach(struct fm_instance *inst,
			FLT_INSTANCE_TEARDOWN_FLAGS reason)
{
	fm_instance_detach_held(inst, reason, false);
}

void fm_instance_detach_held(struct fm_instance *inst,
			     FLT_INSTANCE_TEARDOWN_FLAGS reason, bool held)
{
	struct fm_volume *vol = inst->volume;
	struct fm_filter *filter = inst->filter;
	FLT_RELATED_OBJECTS objs;

	pthread_mutex_lock(&vol->attach_lock);
	if (inst->detaching) {
		pthread_mutex_unlock(&vol->attach_lock);
		if (held)
			fm_object_put(&inst->obj);
		return;
	}
	inst->detaching = true;
	fm_related_objects(inst, &objs);
	if (filter->reg.InstanceTeardownStartCallback)
		filter->reg.InstanceTeardownStartCallback(&objs, reason);
	/* Publishing waits until every operation that could still call into
	 * the instance has completed its post-operation callbacks. */
	while (fm_volume_publish(vol, NULL, inst) < 0) {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
	}
	if (filter->reg.InstanceTeardownCompleteCallback)
		filter->reg.InstanceTeardownCompleteCallback(&objs, reason);
	pthread_mutex_unlock(&vol->attach_lock);
	/* Then its contexts go, wherever it set them. */
	fm_instance_contexts_gone(inst);

	while (atomic_load(&inst->obj.refs) > 1 + (long)held) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	rtl_log(LOG_INFO, "filter %s: instance %s detached from volume %s",
		filter->name, inst->name, vol->name);
	inst->obj.type = 0;
	free(inst);
	fm_object_put(&vol->obj);
	FltObjectDereference(filter);
}

const struct fm_instance_def *fm_filter_def(const struct fm_filter *filter,
					    const char *name)
{
	unsigned i;

	if (!filter->ndefs)
		return NULL;
	if (!name)
		return &filter->defs[filter->default_def];
	for (i = 0; i < filter->ndefs; i++)
		if (!strcasecmp(filter->defs[i].name, name))
			return &filter->defs[i];
	return NULL;
}

struct fm_instance *fm_instance_find(struct fm_volume *vol,
				     struct fm_filter *filter, const char *name)
{
	const struct fm_instance_def *def = name ? NULL : fm_filter_def(filter, NULL);
	struct fm_instance *found = NULL, *only = NULL;
	struct fm_stack *s;
	unsigned i, count = 0;

	pthread_mutex_lock(&vol->attach_lock);
	s = vol->stack;
	for (i = 0; i < s->count; i++) {
		struct fm_instance *inst = s->inst[i];

		if (inst->filter != filter || inst->detaching)
			continue;
		count++;
		only = inst;
		if (name ? !strcasecmp(inst->name, name)
			 : (def && !strcasecmp(inst->name, def->name)))
			found = inst;
	}
	if (!found && !name && count == 1)
		found = only;
	if (found)
		fm_object_get(&found->obj);
	pthread_mutex_unlock(&vol->attach_lock);
	return found;
}

NTSTATUS fm_instance_detach_manual(struct fm_instance *inst)
{
	struct fm_filter *filter = inst->filter;
	FLT_RELATED_OBJECTS objs;
	NTSTATUS status;

	if (!filter->reg.InstanceQueryTeardownCallback) {
		rtl_log(LOG_WARNING,
			"filter %s: instance %s cannot be detached: the filter has no InstanceQueryTeardownCallback",
			filter->name, inst->name);
		fm_object_put(&inst->obj);
		return STATUS_FLT_DO_NOT_DETACH;
	}
	fm_related_objects(inst, &objs);
	status = filter->reg.InstanceQueryTeardownCallback(&objs, 0);
	if (!NT_SUCCESS(status)) {
		rtl_log(LOG_WARNING,
			"filter %s: instance %s refused to detach from volume %s: %s (0x%08X)",
			filter->name, inst->name, inst->volume->name,
			rtl_status_name(status), (unsigned)status);
		fm_object_put(&inst->obj);
		return status;
	}
	fm_instance_detach_held(inst, FLTFL_INSTANCE_TEARDOWN_MANUAL, true);
	return STATUS_SUCCESS;
}

void fm_filter_attach_all(struct fm_filter *filter)
{
	const struct fm_instance_def *def = fm_filter_def(filter, NULL);
	struct fm_volume **vols;
	size_t n, i;

	if (def && (def->flags & FM_DEF_NO_AUTOMATIC))
		return;
	n = fm_volumes_snapshot(&vols);
	for (i = 0; i < n; i++) {
		fm_instance_attach(filter, vols[i], NULL, NULL,
				   FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT,
				   NULL);
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
}

void fm_filter_detach_all(struct fm_filter *filter,
			  FLT_INSTANCE_TEARDOWN_FLAGS reason)
{
	struct fm_volume **vols;
	size_t n = fm_volumes_snapshot(&vols), i;

	for (i = 0; i < n; i++) {
		for (;;) {
			struct fm_instance *found = NULL;
			struct fm_stack *s;
			unsigned j;

			pthread_mutex_lock(&vols[i]->attach_lock);
			s = vols[i]->stack;
			for (j = 0; j < s->count && !found; j++)
				if (s->inst[j]->filter == filter &&
				    !s->inst[j]->detaching)
					found = s->inst[j];
			pthread_mutex_unlock(&vols[i]->attach_lock);
			if (!found)
				break;
			fm_instance_detach(found, reason);
		}
		fm_object_put(&vols[i]->obj);
	}
	free(vols);
}
