/*
 * nullfilter - the smallest minifilter: it registers, starts filtering,
 * attaches to every volume and asks for no operation at all.  A template,
 * and the baseline for measuring what an attached instance costs.
 */
#include <fltKernel.h>

static PFLT_FILTER NullFilterHandle;

static NTSTATUS FLTAPI NullUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(Flags);
	FltUnregisterFilter(NullFilterHandle);
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI NullQueryTeardown(PCFLT_RELATED_OBJECTS FltObjects,
					 FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	UNREFERENCED_PARAMETER(FltObjects);
	UNREFERENCED_PARAMETER(Flags);
	return STATUS_SUCCESS;
}

static const FLT_REGISTRATION FilterRegistration = {
	sizeof(FLT_REGISTRATION),
	FLT_REGISTRATION_VERSION,
	0,
	NULL,
	NULL,
	NullUnload,
	NULL,
	NullQueryTeardown,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

__attribute__((visibility("default"))) NTSTATUS
DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
	NTSTATUS status;

	UNREFERENCED_PARAMETER(RegistryPath);
	status = FltRegisterFilter(DriverObject, &FilterRegistration,
				   &NullFilterHandle);
	if (!NT_SUCCESS(status))
		return status;
	status = FltStartFiltering(NullFilterHandle);
	if (!NT_SUCCESS(status))
		FltUnregisterFilter(NullFilterHandle);
	return status;
}
