/*
 * scanlike_filter.c - a sample minifilter talking to a user-mode program
 * through a communication port, in the manner of the WDK's scanner sample.
 *
 * Filter -> program: before every open of a file (IRP_MJ_CREATE, not of a
 * directory) while a program is connected, the filter sends the file's name
 * and the opener's process id, and waits for a SCANLIKE_REPLY.  A verdict of
 * "unsafe" fails the open with STATUS_ACCESS_DENIED (EACCES).  No verdict
 * within TimeoutMs (STATUS_TIMEOUT) or a program gone away
 * (STATUS_PORT_DISCONNECTED) lets the open through: a scanner that hangs
 * must not hang the machine.
 *
 * Program -> filter: SCANLIKE_COMMANDs through FilterSendMessage, answered
 * in MessageNotify: statistics, and changing the timeout.
 *
 * One program at a time (MaxConnections 1).  The port admits root, plus
 * the user AllowUid and the group AllowGid when the service's Parameters
 * name them (FltSetSecurityDescriptorLxAccess).
 *
 * Deliberately absent: reading file contents (the WDK sample scans the
 * data; this one judges by name), and any caching of verdicts.
 *
 * Parameters (REG_DWORD): TimeoutMs (default 5000), AllowUid, AllowGid.
 */
#include <fltKernel.h>

#include <string.h>

#include "scanlike.h"

#define SL_TAG 0x6e616353u /* "Scan" */

DRIVER_INITIALIZE DriverEntry __attribute__((visibility("default")));

static struct {
	PFLT_FILTER Filter;
	PFLT_PORT ServerPort;
	PFLT_PORT ClientPort; /* the connected program, NULL if none */
	ULONG TimeoutMs;
	ULONGLONG Scanned;
	ULONGLONG Denied;
	ULONGLONG TimedOut;
} Sl = { .TimeoutMs = 5000 };

/* ---- The port ------------------------------------------------------------------ */

static NTSTATUS FLTAPI SlConnect(PFLT_PORT ClientPort, PVOID ServerPortCookie,
				 PVOID ConnectionContext, ULONG SizeOfContext,
				 PVOID *ConnectionPortCookie)
{
	UNREFERENCED_PARAMETER(ServerPortCookie);
	UNREFERENCED_PARAMETER(ConnectionContext);
	UNREFERENCED_PARAMETER(SizeOfContext);
	UNREFERENCED_PARAMETER(ConnectionPortCookie);
	__atomic_store_n(&Sl.ClientPort, ClientPort, __ATOMIC_RELEASE);
	DbgPrint("scanlike: program connected\n");
	return STATUS_SUCCESS;
}

static VOID FLTAPI SlDisconnect(PVOID ConnectionCookie)
{
	UNREFERENCED_PARAMETER(ConnectionCookie);
	/* Sets Sl.ClientPort to NULL; opens are no longer scanned. */
	FltCloseClientPort(Sl.Filter, &Sl.ClientPort);
	DbgPrint("scanlike: program disconnected\n");
}

static NTSTATUS FLTAPI SlMessage(PVOID PortCookie, PVOID InputBuffer,
				 ULONG InputBufferLength, PVOID OutputBuffer,
				 ULONG OutputBufferLength,
				 PULONG ReturnOutputBufferLength)
{
	SCANLIKE_COMMAND cmd;

	UNREFERENCED_PARAMETER(PortCookie);
	*ReturnOutputBufferLength = 0;
	if (!InputBuffer || InputBufferLength < sizeof(cmd))
		return STATUS_INVALID_PARAMETER;
	memcpy(&cmd, InputBuffer, sizeof(cmd));
	switch (cmd.Command) {
	case ScanlikeGetStats: {
		SCANLIKE_STATS stats = {
			.Scanned = __atomic_load_n(&Sl.Scanned, __ATOMIC_RELAXED),
			.Denied = __atomic_load_n(&Sl.Denied, __ATOMIC_RELAXED),
			.TimedOut = __atomic_load_n(&Sl.TimedOut, __ATOMIC_RELAXED),
			.TimeoutMs = __atomic_load_n(&Sl.TimeoutMs, __ATOMIC_RELAXED),
			.Connected = 1,
		};

		if (OutputBufferLength < sizeof(stats))
			return STATUS_BUFFER_TOO_SMALL;
		memcpy(OutputBuffer, &stats, sizeof(stats));
		*ReturnOutputBufferLength = sizeof(stats);
		return STATUS_SUCCESS;
	}
	case ScanlikeSetTimeout: {
		ULONG old;

		if (OutputBufferLength < sizeof(old))
			return STATUS_BUFFER_TOO_SMALL;
		if (cmd.Value == 0 || cmd.Value > 600000)
			return STATUS_INVALID_PARAMETER;
		old = __atomic_exchange_n(&Sl.TimeoutMs, cmd.Value,
					  __ATOMIC_RELAXED);
		memcpy(OutputBuffer, &old, sizeof(old));
		*ReturnOutputBufferLength = sizeof(old);
		return STATUS_SUCCESS;
	}
	}
	return STATUS_INVALID_PARAMETER;
}

/* ---- Scanning opens --------------------------------------------------------------- */

static FLT_PREOP_CALLBACK_STATUS FLTAPI
SlPreCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
	    PVOID *CompletionContext)
{
	PFILE_OBJECT fo = Data->Iopb->TargetFileObject;
	SCANLIKE_NOTIFICATION *n;
	SCANLIKE_REPLY reply;
	ULONG replyLength = sizeof(reply);
	LARGE_INTEGER timeout;
	NTSTATUS status;

	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(CompletionContext);
	if (!__atomic_load_n(&Sl.ClientPort, __ATOMIC_ACQUIRE) ||
	    (Data->Iopb->Parameters.Create.Options & FILE_DIRECTORY_FILE) ||
	    !fo || fo->FileName.Length <= sizeof(WCHAR))
		return FLT_PREOP_SUCCESS_NO_CALLBACK;

	n = ExAllocatePoolZero(NonPagedPool, sizeof(*n), SL_TAG);
	if (!n)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	n->ProcessId = FltGetRequestorProcessId(Data);
	n->NameLength = min(fo->FileName.Length, (USHORT)sizeof(n->Name));
	memcpy(n->Name, fo->FileName.Buffer, n->NameLength);

	timeout.QuadPart =
		-(LONGLONG)__atomic_load_n(&Sl.TimeoutMs, __ATOMIC_RELAXED) *
		10000;
	__atomic_fetch_add(&Sl.Scanned, 1, __ATOMIC_RELAXED);
	/* As the WDK scanner: the reply buffer is just SCANLIKE_REPLY; the
	 * program answers with a FILTER_REPLY_HEADER in front of it. */
	status = FltSendMessage(Sl.Filter, &Sl.ClientPort, n, sizeof(*n),
				&reply, &replyLength, &timeout);
	ExFreePoolWithTag(n, SL_TAG);

	if (status == STATUS_SUCCESS && replyLength >= sizeof(reply) &&
	    !reply.SafeToOpen) {
		__atomic_fetch_add(&Sl.Denied, 1, __ATOMIC_RELAXED);
		Data->IoStatus.Status = STATUS_ACCESS_DENIED;
		Data->IoStatus.Information = 0;
		return FLT_PREOP_COMPLETE;
	}
	if (status == STATUS_TIMEOUT)
		__atomic_fetch_add(&Sl.TimedOut, 1, __ATOMIC_RELAXED);
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

/* ---- Registration ----------------------------------------------------------------- */

static NTSTATUS FLTAPI SlUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltCloseCommunicationPort(Sl.ServerPort);
	FltUnregisterFilter(Sl.Filter);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI SlQueryTeardown(PCFLT_RELATED_OBJECTS FltObjects,
				       FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

static const FLT_OPERATION_REGISTRATION SlCallbacks[] = {
	{ IRP_MJ_CREATE, 0, SlPreCreate, NULL, NULL },
	{ IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL },
};

static const FLT_REGISTRATION SlRegistration = {
	.Size = sizeof(FLT_REGISTRATION),
	.Version = FLT_REGISTRATION_VERSION,
	.OperationRegistration = SlCallbacks,
	.FilterUnloadCallback = SlUnload,
	.InstanceQueryTeardownCallback = SlQueryTeardown,
};

/* A REG_DWORD from the service's Parameters key. */
static BOOLEAN SlQueryDword(PUNICODE_STRING RegistryPath, PCWSTR Name,
			    ULONG *Value)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters"), name;
	UCHAR buf[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
	PKEY_VALUE_PARTIAL_INFORMATION info = (PVOID)buf;
	OBJECT_ATTRIBUTES oa;
	HANDLE service, key;
	ULONG needed;
	NTSTATUS st;

	InitializeObjectAttributes(&oa, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   NULL, NULL);
	if (!NT_SUCCESS(ZwOpenKey(&service, KEY_READ, &oa)))
		return FALSE;
	InitializeObjectAttributes(&oa, &params,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   service, NULL);
	st = ZwOpenKey(&key, KEY_READ, &oa);
	ZwClose(service);
	if (!NT_SUCCESS(st))
		return FALSE;
	RtlInitUnicodeString(&name, Name);
	st = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info,
			     sizeof(buf), &needed);
	ZwClose(key);
	if (!NT_SUCCESS(st) || info->Type != REG_DWORD ||
	    info->DataLength != sizeof(ULONG))
		return FALSE;
	memcpy(Value, info->Data, sizeof(ULONG));
	return TRUE;
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING name = RTL_CONSTANT_STRING(SCANLIKE_PORT_NAME);
	PSECURITY_DESCRIPTOR sd;
	OBJECT_ATTRIBUTES oa;
	ULONG uid, gid, ms;
	NTSTATUS status;

	if (SlQueryDword(RegistryPath, L"TimeoutMs", &ms) && ms)
		Sl.TimeoutMs = ms;
	status = FltRegisterFilter(DriverObject, &SlRegistration, &Sl.Filter);
	if (!NT_SUCCESS(status))
		return status;

	/* Root only, plus whom the configuration names. */
	status = FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_ALL_ACCESS);
	if (!NT_SUCCESS(status))
		goto fail;
	if (SlQueryDword(RegistryPath, L"AllowUid", &uid))
		FltSetSecurityDescriptorLxAccess(sd, (LONG)uid, FLT_LX_NO_ID,
						 FLT_PORT_CONNECT);
	if (SlQueryDword(RegistryPath, L"AllowGid", &gid))
		FltSetSecurityDescriptorLxAccess(sd, FLT_LX_NO_ID, (LONG)gid,
						 FLT_PORT_CONNECT);
	InitializeObjectAttributes(&oa, &name,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   NULL, sd);
	status = FltCreateCommunicationPort(Sl.Filter, &Sl.ServerPort, &oa, NULL,
					    SlConnect, SlDisconnect, SlMessage,
					    1);
	FltFreeSecurityDescriptor(sd);
	if (!NT_SUCCESS(status))
		goto fail;

	status = FltStartFiltering(Sl.Filter);
	if (NT_SUCCESS(status))
		return status;
	FltCloseCommunicationPort(Sl.ServerPort);
fail:
	FltUnregisterFilter(Sl.Filter);
	return status;
}
