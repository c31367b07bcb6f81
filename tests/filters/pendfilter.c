/*
 * pendfilter.c - a test minifilter that pends operations the way scanners
 * and HSM filters do, for tests/e2e/t_pending.sh.
 *
 * It watches IRP_MJ_CREATE.  A create whose final name component starts
 * with Match is pended (FLT_PREOP_PENDING):
 *   DelayMs > 0   a generic work item completes it after DelayMs from a
 *                 worker thread;
 *   DelayMs = 0   it waits in a cancel-safe queue (FltCbdq*) until a create
 *                 of a name starting with Release drains the queue, the
 *                 program is interrupted (completed STATUS_CANCELLED:
 *                 EINTR), or the instance is torn down (the queue is
 *                 disabled and drained, operations let through).
 * The verdict is Verdict: "allow" (FLT_PREOP_SUCCESS_WITH_CALLBACK) or
 * "deny" (FLT_PREOP_COMPLETE with STATUS_ACCESS_DENIED).
 *
 * A create whose name starts with DeferredMatch is pended with a deferred
 * I/O work item (FltQueueDeferredIoWorkItem) completed after DelayMs.
 * A create whose name starts with PostMatch is held in post-create
 * (FLT_POSTOP_MORE_PROCESSING_REQUIRED) and released by a work item after
 * DelayMs; one starting with SafeMatch goes through
 * FltDoCompletionProcessingWhenSafe.
 *
 * LogFile gets one line per event: "pended NAME", "completed NAME VERDICT",
 * "canceled NAME", "released N", "post-held NAME", "post-released NAME",
 * "safe NAME", "teardown N".
 */
#include <fltKernel.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

#define PF_TAG 'dnPT'
#define PF_STR 128

static struct {
	PFLT_FILTER filter;
	int log_fd;
	char match[PF_STR], release[PF_STR], post_match[PF_STR], safe_match[PF_STR];
	char deferred_match[PF_STR];
	ULONG delay_ms;
	BOOLEAN deny;
	/* The cancel-safe queue (one, for the one volume the tests use). */
	FLT_CALLBACK_DATA_QUEUE cbdq;
	BOOLEAN cbdq_ready;
	pthread_mutex_t lock;
	LIST_ENTRY queue;
	LONG queued;
} pf = { .log_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static void pf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void pf_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (pf.log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(pf.log_fd, line, (size_t)n) != n)
		DbgPrint("pendfilter: short log write\n");
}

/* The final component of the name being opened, in UTF-8. */
static void pf_name(PFLT_CALLBACK_DATA Data, char *out, size_t cap)
{
	PUNICODE_STRING n = &Data->Iopb->TargetFileObject->FileName;
	ULONG len = n->Length / sizeof(WCHAR), start = len, got = 0;

	while (start && n->Buffer[start - 1] != L'\\' && n->Buffer[start - 1] != L'/')
		start--;
	out[0] = 0;
	if (NT_SUCCESS(RtlUnicodeToUTF8N(out, (ULONG)cap - 1, &got, n->Buffer + start,
					 (len - start) * sizeof(WCHAR))))
		out[got] = 0;
}

static BOOLEAN pf_starts(const char *name, const char *prefix)
{
	return prefix[0] && !strncmp(name, prefix, strlen(prefix));
}

/* Completes a pended pre-create with the configured verdict. */
static void pf_complete(PFLT_CALLBACK_DATA Data)
{
	char name[PF_STR];

	pf_name(Data, name, sizeof(name));
	pf_log("completed %s %s", name, pf.deny ? "deny" : "allow");
	if (pf.deny) {
		Data->IoStatus.Status = STATUS_ACCESS_DENIED;
		Data->IoStatus.Information = 0;
		FltCompletePendedPreOperation(Data, FLT_PREOP_COMPLETE, NULL);
	} else {
		FltCompletePendedPreOperation(Data, FLT_PREOP_SUCCESS_WITH_CALLBACK,
					      NULL);
	}
}

static void pf_sleep_ms(ULONG ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- The cancel-safe queue ------------------------------------------------------ */

static NTSTATUS FLTAPI pf_insert(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d,
				 PVOID ctx)
{
	PLIST_ENTRY tail = pf.queue.Blink;

	UNREFERENCED_PARAMETER(q);
	UNREFERENCED_PARAMETER(ctx);
	d->QueueLinks.Flink = &pf.queue;
	d->QueueLinks.Blink = tail;
	tail->Flink = &d->QueueLinks;
	pf.queue.Blink = &d->QueueLinks;
	pf.queued++;
	return STATUS_SUCCESS;
}

static VOID FLTAPI pf_remove(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d)
{
	UNREFERENCED_PARAMETER(q);
	d->QueueLinks.Blink->Flink = d->QueueLinks.Flink;
	d->QueueLinks.Flink->Blink = d->QueueLinks.Blink;
	d->QueueLinks.Flink = d->QueueLinks.Blink = NULL;
	pf.queued--;
}

static PFLT_CALLBACK_DATA FLTAPI pf_peek(PFLT_CALLBACK_DATA_QUEUE q,
					 PFLT_CALLBACK_DATA d, PVOID ctx)
{
	PLIST_ENTRY next = d ? d->QueueLinks.Flink : pf.queue.Flink;

	UNREFERENCED_PARAMETER(q);
	UNREFERENCED_PARAMETER(ctx);
	if (next == &pf.queue)
		return NULL;
	return CONTAINING_RECORD(next, FLT_CALLBACK_DATA, QueueLinks);
}

static VOID FLTAPI pf_acquire(PFLT_CALLBACK_DATA_QUEUE q, PKIRQL irql)
{
	UNREFERENCED_PARAMETER(q);
	*irql = 0;
	pthread_mutex_lock(&pf.lock);
}

static VOID FLTAPI pf_release(PFLT_CALLBACK_DATA_QUEUE q, KIRQL irql)
{
	UNREFERENCED_PARAMETER(q);
	UNREFERENCED_PARAMETER(irql);
	pthread_mutex_unlock(&pf.lock);
}

static VOID FLTAPI pf_canceled(PFLT_CALLBACK_DATA_QUEUE q, PFLT_CALLBACK_DATA d)
{
	char name[PF_STR];

	UNREFERENCED_PARAMETER(q);
	pf_name(d, name, sizeof(name));
	pf_log("canceled %s%s", name, FltIsIoCanceled(d) ? "" : " NOT-MARKED");
	ExFreePoolWithTag(d->QueueContext[0], PF_TAG);
	d->IoStatus.Status = STATUS_CANCELLED;
	d->IoStatus.Information = 0;
	FltCompletePendedPreOperation(d, FLT_PREOP_COMPLETE, NULL);
}

/* Lets every queued operation go; returns how many. */
static LONG pf_drain(void)
{
	PFLT_CALLBACK_DATA d;
	LONG n = 0;

	while ((d = FltCbdqRemoveNextIo(&pf.cbdq, NULL))) {
		ExFreePoolWithTag(d->QueueContext[0], PF_TAG);
		pf_complete(d);
		n++;
	}
	return n;
}

/* ---- Work items ----------------------------------------------------------------- */

static VOID FLTAPI pf_delayed(PFLT_GENERIC_WORKITEM item, PVOID obj, PVOID ctx)
{
	UNREFERENCED_PARAMETER(obj);
	pf_sleep_ms(pf.delay_ms);
	pf_complete(ctx);
	FltFreeGenericWorkItem(item);
}

static VOID FLTAPI pf_deferred(PFLT_DEFERRED_IO_WORKITEM item, PFLT_CALLBACK_DATA Data,
				PVOID ctx)
{
	UNREFERENCED_PARAMETER(ctx);
	pf_sleep_ms(pf.delay_ms);
	FltFreeDeferredIoWorkItem(item);
	pf_complete(Data);
}

static VOID FLTAPI pf_post_release(PFLT_GENERIC_WORKITEM item, PVOID obj, PVOID ctx)
{
	char name[PF_STR];

	UNREFERENCED_PARAMETER(obj);
	pf_sleep_ms(pf.delay_ms);
	pf_name(ctx, name, sizeof(name));
	pf_log("post-released %s", name);
	FltCompletePendedPostOperation(ctx);
	FltFreeGenericWorkItem(item);
}

/* ---- Callbacks ------------------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
pf_pre_create(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	      PVOID *CompletionContext)
{
	PFLT_CALLBACK_DATA_QUEUE_IO_CONTEXT ioctx;
	char name[PF_STR];
	NTSTATUS st;

	*CompletionContext = NULL;
	pf_name(Data, name, sizeof(name));
	if (pf_starts(name, pf.release)) {
		pf_log("released %ld", (long)pf_drain());
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	}
	if (pf_starts(name, pf.deferred_match)) {
		PFLT_DEFERRED_IO_WORKITEM item = FltAllocateDeferredIoWorkItem();

		if (!item)
			return FLT_PREOP_SUCCESS_WITH_CALLBACK;
		st = FltQueueDeferredIoWorkItem(item, Data, pf_deferred,
						DelayedWorkQueue, NULL);
		if (!NT_SUCCESS(st)) {
			pf_log("not-deferred %s 0x%08X", name, (unsigned)st);
			FltFreeDeferredIoWorkItem(item);
			return FLT_PREOP_SUCCESS_WITH_CALLBACK;
		}
		pf_log("deferred %s", name);
		return FLT_PREOP_PENDING;
	}
	if (!pf_starts(name, pf.match))
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	if (pf.delay_ms) {
		PFLT_GENERIC_WORKITEM item = FltAllocateGenericWorkItem();

		if (!item)
			return FLT_PREOP_SUCCESS_WITH_CALLBACK;
		pf_log("pended %s", name);
		st = FltQueueGenericWorkItem(item, FltObjects->Instance, pf_delayed,
					     DelayedWorkQueue, Data);
		if (!NT_SUCCESS(st)) {
			FltFreeGenericWorkItem(item);
			return FLT_PREOP_SUCCESS_WITH_CALLBACK;
		}
		return FLT_PREOP_PENDING;
	}
	/* The queue context: freed when the operation is completed. */
	ioctx = ExAllocatePoolZero(NonPagedPool, sizeof(*ioctx), PF_TAG);
	if (!ioctx)
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	Data->QueueContext[0] = ioctx;
	st = FltCbdqInsertIo(&pf.cbdq, Data, ioctx, NULL);
	if (!NT_SUCCESS(st)) {
		ExFreePoolWithTag(ioctx, PF_TAG);
		pf_log("not-queued %s 0x%08X", name, (unsigned)st);
		return FLT_PREOP_SUCCESS_WITH_CALLBACK;
	}
	pf_log("pended %s", name);
	return FLT_PREOP_PENDING;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
pf_safe_post(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	     PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	char name[PF_STR];

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	UNREFERENCED_PARAMETER(Flags);
	pf_name(Data, name, sizeof(name));
	pf_log("safe %s", name);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
pf_post_create(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	       PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	FLT_POSTOP_CALLBACK_STATUS ret = FLT_POSTOP_FINISHED_PROCESSING;
	char name[PF_STR];

	pf_name(Data, name, sizeof(name));
	if (pf_starts(name, pf.safe_match)) {
		if (!FltDoCompletionProcessingWhenSafe(Data, FltObjects,
						       CompletionContext, Flags,
						       pf_safe_post, &ret))
			pf_log("unsafe %s", name);
		return ret;
	}
	if (pf_starts(name, pf.post_match) && pf.delay_ms) {
		PFLT_GENERIC_WORKITEM item = FltAllocateGenericWorkItem();

		if (!item)
			return ret;
		pf_log("post-held %s", name);
		if (!NT_SUCCESS(FltQueueGenericWorkItem(item, FltObjects->Instance,
							pf_post_release,
							DelayedWorkQueue, Data))) {
			FltFreeGenericWorkItem(item);
			return ret;
		}
		return FLT_POSTOP_MORE_PROCESSING_REQUIRED;
	}
	return ret;
}

static const FLT_OPERATION_REGISTRATION pf_ops[] = {
	{ IRP_MJ_CREATE, 0, pf_pre_create, pf_post_create },
	{ IRP_MJ_OPERATION_END }
};

static NTSTATUS FLTAPI pf_setup(PCFLT_RELATED_OBJECTS FltObjects,
				FLT_INSTANCE_SETUP_FLAGS Flags, DEVICE_TYPE Type,
				FLT_FILESYSTEM_TYPE FsType)
{
	NTSTATUS st;

	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(Type);
	UNREFERENCED_PARAMETER(FsType);
	if (pf.cbdq_ready)
		return STATUS_FLT_DO_NOT_ATTACH; /* one volume */
	pf.queue.Flink = pf.queue.Blink = &pf.queue;
	st = FltCbdqInitialize(FltObjects->Instance, &pf.cbdq, pf_insert, pf_remove,
			       pf_peek, pf_acquire, pf_release, pf_canceled);
	if (NT_SUCCESS(st))
		pf.cbdq_ready = TRUE;
	return st;
}

/* Manual detach is allowed (without this callback it is refused). */
static NTSTATUS FLTAPI pf_query_teardown(PCFLT_RELATED_OBJECTS FltObjects,
					 FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

/* Teardown: no new queueing, and whatever waits is let through. */
static VOID FLTAPI pf_teardown_start(PCFLT_RELATED_OBJECTS FltObjects,
				     FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Reason);
	if (!pf.cbdq_ready)
		return;
	FltCbdqDisable(&pf.cbdq);
	pf_log("teardown %ld", (long)pf_drain());
}

static VOID FLTAPI pf_teardown_complete(PCFLT_RELATED_OBJECTS FltObjects,
					FLT_INSTANCE_TEARDOWN_FLAGS Reason)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Reason);
	pf.cbdq_ready = FALSE; /* the volume may be attached again */
}

static NTSTATUS FLTAPI pf_unload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(pf.filter);
	if (pf.log_fd >= 0)
		close(pf.log_fd);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION pf_registration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.OperationRegistration = pf_ops,
	.FilterUnloadCallback = pf_unload,
	.InstanceSetupCallback = pf_setup,
	.InstanceQueryTeardownCallback = pf_query_teardown,
	.InstanceTeardownStartCallback = pf_teardown_start,
	.InstanceTeardownCompleteCallback = pf_teardown_complete,
};

/* ---- Parameters ------------------------------------------------------------------- */

static PKEY_VALUE_PARTIAL_INFORMATION pf_query(HANDLE Key, PCWSTR Name)
{
	ULONG size = sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 512, needed = 0;
	PKEY_VALUE_PARTIAL_INFORMATION info = ExAllocatePoolZero(PagedPool, size, PF_TAG);
	UNICODE_STRING name;

	if (!info)
		return NULL;
	RtlInitUnicodeString(&name, Name);
	if (!NT_SUCCESS(ZwQueryValueKey(Key, &name, KeyValuePartialInformation, info,
					size, &needed))) {
		ExFreePoolWithTag(info, PF_TAG);
		return NULL;
	}
	return info;
}

static void pf_sz(HANDLE Key, PCWSTR Name, char *out, ULONG cap)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = pf_query(Key, Name);
	const WCHAR *w;
	ULONG bytes, len = 0;

	if (!info)
		return;
	if (info->Type == REG_SZ) {
		w = (const WCHAR *)info->Data;
		bytes = info->DataLength & ~1u;
		while (bytes >= 2 && !w[bytes / 2 - 1])
			bytes -= 2;
		if (NT_SUCCESS(RtlUnicodeToUTF8N(out, cap - 1, &len, w, bytes)))
			out[len] = 0;
	}
	ExFreePoolWithTag(info, PF_TAG);
}

static void pf_dword(HANDLE Key, PCWSTR Name, ULONG *out)
{
	PKEY_VALUE_PARTIAL_INFORMATION info = pf_query(Key, Name);

	if (!info)
		return;
	if (info->Type == REG_DWORD && info->DataLength >= sizeof(ULONG))
		memcpy(out, info->Data, sizeof(ULONG));
	ExFreePoolWithTag(info, PF_TAG);
}

static void pf_parameters(PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
	OBJECT_ATTRIBUTES oa;
	HANDLE service, key;
	char log[512] = "", verdict[16] = "";

	InitializeObjectAttributes(&oa, RegistryPath, OBJ_KERNEL_HANDLE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&service, KEY_READ, &oa)))
		return;
	InitializeObjectAttributes(&oa, &params, OBJ_KERNEL_HANDLE, service, NULL);
	if (NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa))) {
		pf_sz(key, L"Match", pf.match, sizeof(pf.match));
		pf_sz(key, L"Release", pf.release, sizeof(pf.release));
		pf_sz(key, L"PostMatch", pf.post_match, sizeof(pf.post_match));
		pf_sz(key, L"SafeMatch", pf.safe_match, sizeof(pf.safe_match));
		pf_sz(key, L"DeferredMatch", pf.deferred_match,
		      sizeof(pf.deferred_match));
		pf_sz(key, L"Verdict", verdict, sizeof(verdict));
		pf_sz(key, L"LogFile", log, sizeof(log));
		pf_dword(key, L"DelayMs", &pf.delay_ms);
		ZwClose(key);
	}
	ZwClose(service);
	pf.deny = !strcmp(verdict, "deny");
	if (log[0])
		pf.log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS st;

	pf_parameters(RegistryPath);
	st = FltRegisterFilter(DriverObject, &pf_registration, &pf.filter);
	if (!NT_SUCCESS(st))
		return st;
	st = FltStartFiltering(pf.filter);
	if (!NT_SUCCESS(st))
		FltUnregisterFilter(pf.filter);
	return st;
}
