/*
 * passthrough - a minifilter with a pre- and a post-operation callback for
 * every major function that does nothing but (optionally) log the operation
 * through DbgPrint with FltGetIrpName, as the WDK's passThrough sample.
 * A template for new filters and the "no-op filter" of the benchmarks.
 *
 * Parameters (its service's Parameters key):
 *   DebugTrace (REG_DWORD): nonzero logs every pre and post callback.
 */
#include <fltKernel.h>

static PFLT_FILTER gFilterHandle;
static ULONG gTraceFlags;

static FLT_PREOP_CALLBACK_STATUS FLTAPI
PtPreOperationPassThrough(PFLT_CALLBACK_DATA Data,
			  PCFLT_RELATED_OBJECTS FltObjects,
			  PVOID *CompletionContext)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	if (gTraceFlags)
		DbgPrint("PassThrough!PtPreOperationPassThrough: %s %wZ\n",
			 FltGetIrpName(Data->Iopb->MajorFunction),
			 &Data->Iopb->TargetFileObject->FileName);
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI
PtPostOperationPassThrough(PFLT_CALLBACK_DATA Data,
			   PCFLT_RELATED_OBJECTS FltObjects,
			   PVOID CompletionContext,
			   FLT_POST_OPERATION_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	UNREFERENCED_PARAMETER(Flags);
	if (gTraceFlags)
		DbgPrint("PassThrough!PtPostOperationPassThrough: %s status 0x%08X\n",
			 FltGetIrpName(Data->Iopb->MajorFunction),
			 (unsigned)Data->IoStatus.Status);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

#define PT_OP(mj) { mj, 0, PtPreOperationPassThrough, PtPostOperationPassThrough, NULL }

static const FLT_OPERATION_REGISTRATION Callbacks[] = {
	PT_OP(IRP_MJ_CREATE),
	PT_OP(IRP_MJ_CREATE_NAMED_PIPE),
	PT_OP(IRP_MJ_CLOSE),
	PT_OP(IRP_MJ_READ),
	PT_OP(IRP_MJ_WRITE),
	PT_OP(IRP_MJ_QUERY_INFORMATION),
	PT_OP(IRP_MJ_SET_INFORMATION),
	PT_OP(IRP_MJ_QUERY_EA),
	PT_OP(IRP_MJ_SET_EA),
	PT_OP(IRP_MJ_FLUSH_BUFFERS),
	PT_OP(IRP_MJ_QUERY_VOLUME_INFORMATION),
	PT_OP(IRP_MJ_SET_VOLUME_INFORMATION),
	PT_OP(IRP_MJ_DIRECTORY_CONTROL),
	PT_OP(IRP_MJ_FILE_SYSTEM_CONTROL),
	PT_OP(IRP_MJ_DEVICE_CONTROL),
	PT_OP(IRP_MJ_INTERNAL_DEVICE_CONTROL),
	PT_OP(IRP_MJ_SHUTDOWN),
	PT_OP(IRP_MJ_LOCK_CONTROL),
	PT_OP(IRP_MJ_CLEANUP),
	PT_OP(IRP_MJ_CREATE_MAILSLOT),
	PT_OP(IRP_MJ_QUERY_SECURITY),
	PT_OP(IRP_MJ_SET_SECURITY),
	PT_OP(IRP_MJ_QUERY_QUOTA),
	PT_OP(IRP_MJ_SET_QUOTA),
	PT_OP(IRP_MJ_PNP),
	{ IRP_MJ_OPERATION_END }
};

static NTSTATUS FLTAPI PtUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(gFilterHandle);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI PtInstanceSetup(PCFLT_RELATED_OBJECTS FltObjects,
				       FLT_INSTANCE_SETUP_FLAGS Flags,
				       DEVICE_TYPE VolumeDeviceType,
				       FLT_FILESYSTEM_TYPE VolumeFilesystemType)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	UNREFERENCED_PARAMETER(VolumeDeviceType);
	UNREFERENCED_PARAMETER(VolumeFilesystemType);
	if (gTraceFlags)
		DbgPrint("PassThrough!PtInstanceSetup: flags 0x%x\n", (unsigned)Flags);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION FilterRegistration = {
	sizeof(FLT_REGISTRATION),
	FLT_REGISTRATION_VERSION,
	0,
	NULL,
	Callbacks,
	PtUnload,
	PtInstanceSetup,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

static void PtReadParameters(PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES oa;
	HANDLE key, params;
	UNICODE_STRING sub = RTL_CONSTANT_STRING(L"Parameters");
	UNICODE_STRING name = RTL_CONSTANT_STRING(L"DebugTrace");
	union {
		KEY_VALUE_PARTIAL_INFORMATION info;
		UCHAR raw[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 8];
	} buf;
	ULONG len;

	InitializeObjectAttributes(&oa, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa)))
		return;
	InitializeObjectAttributes(&oa, &sub, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   key, NULL);
	if (NT_SUCCESS(ZwOpenKey(&params, KEY_READ, &oa))) {
		if (NT_SUCCESS(ZwQueryValueKey(params, &name,
					       KeyValuePartialInformation, &buf,
					       sizeof(buf), &len)) &&
		    buf.info.Type == REG_DWORD && buf.info.DataLength == 4)
			RtlCopyMemory(&gTraceFlags, buf.info.Data, 4);
		ZwClose(params);
	}
	ZwClose(key);
}

__attribute__((visibility("default"))) NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	PtReadParameters(RegistryPath);
	status = FltRegisterFilter(DriverObject, &FilterRegistration, &gFilterHandle);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(gFilterHandle);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(gFilterHandle);
	return status;
}
