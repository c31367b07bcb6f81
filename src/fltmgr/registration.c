/*
 * registration.c - FltRegisterFilter, FltStartFiltering, FltUnregisterFilter.
 *
 * A filter registers exactly once, from its DriverEntry, with the
 * DRIVER_OBJECT the loader gave it; the loader has already created the
 * struct fm_filter that the registration fills in.  Validation follows the
 * Windows rules: a registration with a wrong size or version, an unknown
 * flag, an operation table with an unknown major code or no callbacks, or a
 * context table with an unknown type is refused with STATUS_INVALID_PARAMETER
 * (or STATUS_FLT_INVALID_CONTEXT_REGISTRATION) and nothing is changed.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <syslog.h>
#include <time.h>

/* Bound on table lengths, so an unterminated table is an error, not a crash
 * further down the line. */
#define FM_MAX_TABLE_ENTRIES 256

#define FM_VALID_REG_FLAGS                                                  \
	(FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP |                   \
	 FLTFL_REGISTRATION_SUPPORT_NPFS_MSFS |                             \
	 FLTFL_REGISTRATION_SUPPORT_DAX_VOLUME | FLTFL_REGISTRATION_SUPPORT_WCOS)
#define FM_VALID_OP_FLAGS                                      \
	(FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO |         \
	 FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO |         \
	 FLTFL_OPERATION_REGISTRATION_SKIP_NON_DASD_IO |       \
	 FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO)

static struct fm_filter *fm_filters;

/* The smallest Size a registration of each version can have. */
static size_t fm_registration_min_size(USHORT version)
{
	switch (version) {
	case FLT_REGISTRATION_VERSION_0200:
		return offsetof(FLT_REGISTRATION,
				TransactionNotificationCallback);
	case FLT_REGISTRATION_VERSION_0201:
		return offsetof(FLT_REGISTRATION,
				NormalizeNameComponentExCallback);
	case FLT_REGISTRATION_VERSION_0202:
		return offsetof(FLT_REGISTRATION, SectionNotificationCallback);
	case FLT_REGISTRATION_VERSION_0203:
		return sizeof(FLT_REGISTRATION);
	default:
		return 0;
	}
}

static NTSTATUS fm_check_operations(const FLT_OPERATION_REGISTRATION *ops,
				    struct fm_op_reg *out, const char *name)
{
	unsigned i;

	if (!ops)
		return STATUS_SUCCESS;
	for (i = 0; i < FM_MAX_TABLE_ENTRIES; i++) {
		const FLT_OPERATION_REGISTRATION *op = &ops[i];
		unsigned idx;

		if (op->MajorFunction == IRP_MJ_OPERATION_END)
			return STATUS_SUCCESS;
		idx = fm_major_index(op->MajorFunction);
		if (idx == FM_MAJOR_INVALID) {
			rtl_log(LOG_ERR,
				"filter %s: operation %u has unknown major code 0x%02x",
				name, i, op->MajorFunction);
			return STATUS_INVALID_PARAMETER;
		}
		if (op->Flags & ~FM_VALID_OP_FLAGS) {
			rtl_log(LOG_ERR,
				"filter %s: %s has unknown flags 0x%x", name,
				FltGetIrpName(op->MajorFunction), op->Flags);
			return STATUS_INVALID_PARAMETER;
		}
		if (!op->PreOperation && !op->PostOperation) {
			rtl_log(LOG_ERR,
				"filter %s: %s registers neither a pre nor a post callback",
				name, FltGetIrpName(op->MajorFunction));
			return STATUS_INVALID_PARAMETER;
		}
		if (out[idx].registered) {
			rtl_log(LOG_ERR, "filter %s: %s registered twice", name,
				FltGetIrpName(op->MajorFunction));
			return STATUS_INVALID_PARAMETER;
		}
		out[idx].registered = true;
		out[idx].pre = op->PreOperation;
		out[idx].post = op->PostOperation;
		out[idx].flags = op->Flags;
	}
	rtl_log(LOG_ERR,
		"filter %s: operation table is not terminated by IRP_MJ_OPERATION_END",
		name);
	return STATUS_INVALID_PARAMETER;
}

static bool fm_single_context_type(FLT_CONTEXT_TYPE t)
{
	return t == FLT_VOLUME_CONTEXT || t == FLT_INSTANCE_CONTEXT ||
	       t == FLT_FILE_CONTEXT || t == FLT_STREAM_CONTEXT ||
	       t == FLT_STREAMHANDLE_CONTEXT || t == FLT_TRANSACTION_CONTEXT ||
	       t == FLT_SECTION_CONTEXT;
}

static NTSTATUS fm_check_contexts(const FLT_CONTEXT_REGISTRATION *ctx,
				  const char *name)
{
	unsigned i;

	if (!ctx)
		return STATUS_SUCCESS;
	for (i = 0; i < FM_MAX_TABLE_ENTRIES; i++) {
		const FLT_CONTEXT_REGISTRATION *c = &ctx[i];

		if (c->ContextType == FLT_CONTEXT_END)
			return STATUS_SUCCESS;
		if (!fm_single_context_type(c->ContextType) ||
		    (c->Flags & ~FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH) ||
		    (!c->ContextAllocateCallback != !c->ContextFreeCallback) ||
		    (!c->ContextAllocateCallback && c->Size == 0)) {
			rtl_log(LOG_ERR,
				"filter %s: context registration %u is invalid",
				name, i);
			return STATUS_FLT_INVALID_CONTEXT_REGISTRATION;
		}
	}
	rtl_log(LOG_ERR,
		"filter %s: context table is not terminated by FLT_CONTEXT_END",
		name);
	return STATUS_FLT_INVALID_CONTEXT_REGISTRATION;
}

struct fm_filter *fm_filter_from_driver(PDRIVER_OBJECT driver)
{
	struct fm_filter *f;

	if (!driver || driver->Type != 4 /* IO_TYPE_DRIVER */)
		return NULL;
	f = driver->DriverSection;
	if (!f || f->obj.type != FM_OBJ_FILTER || f->driver != driver)
		return NULL;
	return f;
}

void fm_filter_bind_driver(PDRIVER_OBJECT driver, struct fm_filter *pending)
{
	driver->Type = 4;
	driver->Size = sizeof(*driver);
	driver->DriverSection = pending;
	pending->driver = driver;
}

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver,
				  const FLT_REGISTRATION *Registration,
				  PFLT_FILTER *RetFilter)
{
	struct fm_op_reg ops[FM_MAJOR_COUNT];
	struct fm_filter *f = fm_filter_from_driver(Driver);
	size_t min_size;
	NTSTATUS status;

	if (!f || !Registration || !RetFilter)
		return STATUS_INVALID_PARAMETER;
	if (f->state != FM_FILTER_REGISTERED || f->reg.Size) {
		rtl_log(LOG_ERR, "filter %s: FltRegisterFilter called twice",
			f->name);
		return STATUS_FLT_INSTANCE_NAME_COLLISION;
	}
	min_size = fm_registration_min_size(Registration->Version);
	if (!min_size) {
		rtl_log(LOG_ERR,
			"filter %s: registration version 0x%04x is not supported (0x0200-0x0203)",
			f->name, Registration->Version);
		return STATUS_INVALID_PARAMETER;
	}
	if (Registration->Size < min_size) {
		rtl_log(LOG_ERR,
			"filter %s: registration size %u is too small for version 0x%04x (%zu)",
			f->name, Registration->Size, Registration->Version,
			min_size);
		return STATUS_INVALID_PARAMETER;
	}
	if (Registration->Flags & ~FM_VALID_REG_FLAGS) {
		rtl_log(LOG_ERR, "filter %s: unknown registration flags 0x%x",
			f->name, Registration->Flags);
		return STATUS_INVALID_PARAMETER;
	}
	memset(ops, 0, sizeof(ops));
	status = fm_check_operations(Registration->OperationRegistration, ops,
				     f->name);
	if (!NT_SUCCESS(status))
		return status;
	status = fm_check_contexts(Registration->ContextRegistration, f->name);
	if (!NT_SUCCESS(status))
		return status;

	memset(&f->reg, 0, sizeof(f->reg));
	memcpy(&f->reg, Registration, min_size);
	f->reg.Size = sizeof(f->reg);
	memcpy(f->ops, ops, sizeof(ops));

	pthread_mutex_lock(&fm_global_lock);
	f->next = fm_filters;
	fm_filters = f;
	pthread_mutex_unlock(&fm_global_lock);
	fm_object_get(&f->obj); /* the handle the filter holds */
	*RetFilter = (PFLT_FILTER)f;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter)
{
	struct fm_filter *f = (struct fm_filter *)Filter;

	if (!f || f->obj.type != FM_OBJ_FILTER || !f->reg.Size)
		return STATUS_INVALID_PARAMETER;
	if (f->state != FM_FILTER_REGISTERED)
		return STATUS_INVALID_DEVICE_STATE;
	f->state = FM_FILTER_STARTED;
	fm_filter_attach_all(f);
	return STATUS_SUCCESS;
}

struct fm_filter *fm_filter_find_locked(const char *name)
{
	struct fm_filter *f;

	for (f = fm_filters; f; f = f->next)
		if (!strcasecmp(f->name, name))
			break;
	return f;
}

struct fm_filter *fm_filter_find(const char *name)
{
	struct fm_filter *f;

	pthread_mutex_lock(&fm_global_lock);
	f = fm_filter_find_locked(name);
	pthread_mutex_unlock(&fm_global_lock);
	return f;
}

/* Snapshot of the registered filters, each with a reference. */
size_t fm_filters_snapshot(struct fm_filter ***out)
{
	struct fm_filter *f, **arr;
	size_t n = 0, i = 0;

	pthread_mutex_lock(&fm_global_lock);
	for (f = fm_filters; f; f = f->next)
		n++;
	arr = calloc(n ? n : 1, sizeof(*arr));
	if (arr)
		for (f = fm_filters; f; f = f->next) {
			fm_object_get(&f->obj);
			arr[i++] = f;
		}
	pthread_mutex_unlock(&fm_global_lock);
	*out = arr;
	return arr ? n : 0;
}

void fm_volume_attach_all(struct fm_volume *vol)
{
	struct fm_filter **arr;
	size_t n = fm_filters_snapshot(&arr), i;

	for (i = 0; i < n; i++) {
		const struct fm_instance_def *def = fm_filter_def(arr[i], NULL);

		if (arr[i]->state == FM_FILTER_STARTED &&
		    !(def && (def->flags & FM_DEF_NO_AUTOMATIC)))
			fm_instance_attach(
				arr[i], vol, NULL, NULL,
				FLTFL_INSTANCE_SETUP_AUTOMATIC_ATTACHMENT |
					FLTFL_INSTANCE_SETUP_NEWLY_MOUNTED_VOLUME,
				NULL);
		FltObjectDereference(arr[i]);
	}
	free(arr);
}

static void fm_filter_unlink(struct fm_filter *f)
{
	struct fm_filter **pp;

	pthread_mutex_lock(&fm_global_lock);
	for (pp = &fm_filters; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&fm_global_lock);
}

VOID FLTAPI FltUnregisterFilter(PFLT_FILTER Filter)
{
	struct fm_filter *f = (struct fm_filter *)Filter;
	FLT_INSTANCE_TEARDOWN_FLAGS why = FLTFL_INSTANCE_TEARDOWN_FILTER_UNLOAD;

	if (!f || f->obj.type != FM_OBJ_FILTER || !f->reg.Size ||
	    f->state == FM_FILTER_UNREGISTERING)
		return;
	if (f->unload_flags & FLTFL_FILTER_UNLOAD_MANDATORY)
		why |= FLTFL_INSTANCE_TEARDOWN_MANDATORY_FILTER_UNLOAD;
	f->state = FM_FILTER_UNREGISTERING;
	fm_filter_detach_all(f, why);
	fm_filter_volume_contexts_gone(f);
	fm_filter_unlink(f);
	/* Drop the registration's reference, then wait for everyone else's
	 * (object references, contexts the filter still holds) but the
	 * loader's own.  A filter that leaked some is reported, not waited
	 * for forever: the loader then keeps its image mapped. */
	fm_object_put(&f->obj);
	pthread_mutex_lock(&f->lock);
	while (atomic_load(&f->obj.refs) > 1) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		if (pthread_cond_timedwait(&f->drained, &f->lock, &until) ==
		    ETIMEDOUT) {
			rtl_log(LOG_ERR,
				"filter %s: %ld references (contexts or objects) still held 5 s after FltUnregisterFilter: leaked; its image stays loaded",
				f->name, atomic_load(&f->obj.refs) - 1);
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
}
