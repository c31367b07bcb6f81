/*
 * workitem.c - generic work items: a filter hands a routine to the filter
 * manager's worker threads (FltQueueGenericWorkItem), as it would to a
 * system worker thread on Windows.
 *
 * A queued item holds a reference on the filter or instance it was queued
 * for, so unloading a filter or detaching an instance waits until its
 * queued routines have run; nothing of a filter runs after its image is
 * gone.  Workers start on first use, at most FM_WORKERS of them.
 *
 * Also here: deferred I/O work items (which need pended operations, so
 * they do not queue yet) and the aligned pool filters swap buffers with.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define FM_WORKERS 16
#define FM_WORKITEM_MAGIC 0x574b4954u /* "WKIT" */

struct _FLT_GENERIC_WORKITEM {
	uint32_t magic;
	bool queued;
	PFLT_GENERIC_WORKITEM_ROUTINE routine;
	PVOID object; /* filter or instance, referenced while queued */
	PVOID context;
	struct _FLT_GENERIC_WORKITEM *next;
};

static pthread_mutex_t fm_wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fm_wq_cond = PTHREAD_COND_INITIALIZER;
static struct _FLT_GENERIC_WORKITEM *fm_wq_head, **fm_wq_tail = &fm_wq_head;
static unsigned fm_wq_threads, fm_wq_idle;

static void *fm_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&fm_wq_lock);
	for (;;) {
		struct _FLT_GENERIC_WORKITEM *w;

		while (!fm_wq_head) {
			fm_wq_idle++;
			pthread_cond_wait(&fm_wq_cond, &fm_wq_lock);
			fm_wq_idle--;
		}
		w = fm_wq_head;
		fm_wq_head = w->next;
		if (!fm_wq_head)
			fm_wq_tail = &fm_wq_head;
		pthread_mutex_unlock(&fm_wq_lock);
		{
			PVOID object = w->object;
			PFLT_GENERIC_WORKITEM_ROUTINE routine = w->routine;
			PVOID context = w->context;

			/* The routine may free or requeue the item itself. */
			w->queued = false;
			routine(w, object, context);
			FltObjectDereference(object);
		}
		pthread_mutex_lock(&fm_wq_lock);
	}
	return NULL;
}

PFLT_GENERIC_WORKITEM FLTAPI FltAllocateGenericWorkItem(void)
{
	struct _FLT_GENERIC_WORKITEM *w = calloc(1, sizeof(*w));

	if (w)
		w->magic = FM_WORKITEM_MAGIC;
	return w;
}

VOID FLTAPI FltFreeGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem)
{
	if (!FltWorkItem || FltWorkItem->magic != FM_WORKITEM_MAGIC)
		return;
	if (FltWorkItem->queued) {
		rtl_log(LOG_ERR, "a filter freed a work item that is still queued");
		return;
	}
	FltWorkItem->magic = 0;
	free(FltWorkItem);
}

NTSTATUS FLTAPI FltQueueGenericWorkItem(PFLT_GENERIC_WORKITEM FltWorkItem,
					PVOID FltObject,
					PFLT_GENERIC_WORKITEM_ROUTINE WorkerRoutine,
					WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	const struct fm_object *obj = FltObject;
	pthread_t t;

	(void)QueueType;
	if (!FltWorkItem || FltWorkItem->magic != FM_WORKITEM_MAGIC ||
	    !WorkerRoutine || !obj ||
	    (obj->type != FM_OBJ_FILTER && obj->type != FM_OBJ_INSTANCE))
		return STATUS_INVALID_PARAMETER;
	if (FltWorkItem->queued)
		return STATUS_INVALID_PARAMETER;
	if ((obj->type == FM_OBJ_FILTER &&
	     ((const struct fm_filter *)obj)->state == FM_FILTER_UNREGISTERING) ||
	    (obj->type == FM_OBJ_INSTANCE &&
	     ((const struct fm_instance *)obj)->detaching))
		return STATUS_FLT_DELETING_OBJECT;
	FltObjectReference(FltObject);
	FltWorkItem->queued = true;
	FltWorkItem->routine = WorkerRoutine;
	FltWorkItem->object = FltObject;
	FltWorkItem->context = Context;
	FltWorkItem->next = NULL;
	pthread_mutex_lock(&fm_wq_lock);
	*fm_wq_tail = FltWorkItem;
	fm_wq_tail = &FltWorkItem->next;
	if (!fm_wq_idle && fm_wq_threads < FM_WORKERS &&
	    pthread_create(&t, NULL, fm_worker, NULL) == 0) {
		pthread_detach(t);
		fm_wq_threads++;
	}
	pthread_cond_signal(&fm_wq_cond);
	pthread_mutex_unlock(&fm_wq_lock);
	return STATUS_SUCCESS;
}

/*
 * Page aligned, as the volume's alignment requirement is on Windows: a
 * buffer a filter swaps into a program's O_DIRECT write reaches the file
 * underneath as it is, and O_DIRECT needs block alignment.  The pool block
 * holding it is found again through the pointer stored just before it.
 * Not zeroed, as on Windows.
 */
#define FM_POOL_ALIGN 4096

PVOID FLTAPI FltAllocatePoolAlignedWithTag(PFLT_INSTANCE Instance,
					   POOL_TYPE PoolType, SIZE_T NumberOfBytes,
					   ULONG Tag)
{
	char *raw, *p;

	(void)Instance;
	if (NumberOfBytes > SIZE_MAX - FM_POOL_ALIGN - sizeof(void *))
		return NULL;
	raw = ExAllocatePool2(POOL_FLAG_UNINITIALIZED |
				      (PoolType == PagedPool ? POOL_FLAG_PAGED
							     : POOL_FLAG_NON_PAGED),
			      NumberOfBytes + FM_POOL_ALIGN + sizeof(void *), Tag);
	if (!raw)
		return NULL;
	p = (char *)ALIGN_UP_BY((uintptr_t)(raw + sizeof(void *)), FM_POOL_ALIGN);
	memcpy(p - sizeof(void *), &raw, sizeof(raw));
	return p;
}

VOID FLTAPI FltFreePoolAlignedWithTag(PFLT_INSTANCE Instance, PVOID Buffer,
				      ULONG Tag)
{
	void *raw;

	(void)Instance;
	if (!Buffer || (uintptr_t)Buffer % FM_POOL_ALIGN) {
		rtl_log(LOG_ERR, "FltFreePoolAlignedWithTag of %p, which "
			"FltAllocatePoolAlignedWithTag never returned", Buffer);
		return;
	}
	memcpy(&raw, (char *)Buffer - sizeof(void *), sizeof(raw));
	ExFreePoolWithTag(raw, Tag);
}

/* ---- Deferred I/O work items ---- */

/*
 * A deferred I/O work item continues an operation its pre callback pended
 * (FLT_PREOP_PENDING) on a worker thread: the routine gets the callback
 * data and completes it with FltCompletePendedPreOperation.  It rides on
 * a generic work item queued against the operation's instance, so detach
 * and unload wait for it.  Paging I/O cannot be posted
 * (STATUS_FLT_NOT_SAFE_TO_POST_OPERATION), as on Windows: the filter does
 * the work in its callback instead.
 */
#define FM_DEFERRED_MAGIC 0x44464552u /* "DFER" */

struct _FLT_DEFERRED_IO_WORKITEM {
	uint32_t magic;
	PFLT_GENERIC_WORKITEM generic;
	PFLT_CALLBACK_DATA data;
	PFLT_DEFERRED_IO_WORKITEM_ROUTINE routine;
	PVOID context;
};

PFLT_DEFERRED_IO_WORKITEM FLTAPI FltAllocateDeferredIoWorkItem(void)
{
	struct _FLT_DEFERRED_IO_WORKITEM *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->generic = FltAllocateGenericWorkItem();
	if (!w->generic) {
		free(w);
		return NULL;
	}
	w->magic = FM_DEFERRED_MAGIC;
	return w;
}

VOID FLTAPI FltFreeDeferredIoWorkItem(PFLT_DEFERRED_IO_WORKITEM FltWorkItem)
{
	if (!FltWorkItem || FltWorkItem->magic != FM_DEFERRED_MAGIC)
		return;
	FltWorkItem->magic = 0;
	FltFreeGenericWorkItem(FltWorkItem->generic);
	free(FltWorkItem);
}

static VOID FLTAPI fm_deferred_run(PFLT_GENERIC_WORKITEM generic, PVOID object,
				   PVOID context)
{
	struct _FLT_DEFERRED_IO_WORKITEM *w = context;

	(void)generic;
	(void)object;
	/* The routine usually frees the item: read everything first. */
	w->routine(w, w->data, w->context);
}

NTSTATUS FLTAPI FltQueueDeferredIoWorkItem(
	PFLT_DEFERRED_IO_WORKITEM FltWorkItem, PFLT_CALLBACK_DATA Data,
	PFLT_DEFERRED_IO_WORKITEM_ROUTINE WorkerRoutine,
	WORK_QUEUE_TYPE QueueType, PVOID Context)
{
	PFLT_INSTANCE inst;

	if (!FltWorkItem || FltWorkItem->magic != FM_DEFERRED_MAGIC || !Data ||
	    !WorkerRoutine)
		return STATUS_INVALID_PARAMETER;
	inst = Data->Iopb ? Data->Iopb->TargetInstance : NULL;
	if (!inst || !FLT_IS_IRP_OPERATION(Data) ||
	    (Data->Iopb->IrpFlags & IRP_PAGING_IO))
		return STATUS_FLT_NOT_SAFE_TO_POST_OPERATION;
	FltWorkItem->data = Data;
	FltWorkItem->routine = WorkerRoutine;
	FltWorkItem->context = Context;
	return FltQueueGenericWorkItem(FltWorkItem->generic, inst, fm_deferred_run,
				       QueueType, FltWorkItem);
}
