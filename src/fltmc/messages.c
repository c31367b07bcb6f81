/*
 * messages.c - the message table fltmc prints under an error, with the
 * texts Windows' FormatMessage gives for the same HRESULTs: the
 * ERROR_FLT_* codes of winerror.h and the HRESULT_FROM_WIN32 and E_* codes
 * libfltlib returns.  When a code is added to winerror.h and the library
 * can return it, add its line here.
 */
#include <stdio.h>

#include "fltmc/fltmc.h"

#define W32(e) HRESULT_FROM_WIN32(e)

static const struct {
	HRESULT hr;
	const char *text;
} mc_messages[] = {
	/* Win32 errors (E_ACCESSDENIED, E_HANDLE, E_OUTOFMEMORY and
	 * E_INVALIDARG are among them). */
	{ W32(ERROR_INVALID_FUNCTION), "Incorrect function." },
	{ W32(ERROR_FILE_NOT_FOUND), "The system cannot find the file specified." },
	{ W32(ERROR_PATH_NOT_FOUND), "The system cannot find the path specified." },
	{ W32(ERROR_ACCESS_DENIED), "Access is denied." },
	{ W32(ERROR_INVALID_HANDLE), "The handle is invalid." },
	{ W32(ERROR_NOT_ENOUGH_MEMORY),
	  "Not enough memory resources are available to process this command." },
	{ W32(ERROR_BAD_FORMAT),
	  "An attempt was made to load a program with an incorrect format." },
	{ W32(ERROR_INVALID_DATA), "The data is invalid." },
	{ W32(ERROR_OUTOFMEMORY),
	  "Not enough memory resources are available to complete this operation." },
	{ W32(ERROR_NOT_SUPPORTED), "The request is not supported." },
	{ W32(ERROR_INVALID_PARAMETER), "The parameter is incorrect." },
	{ W32(ERROR_BROKEN_PIPE), "The pipe has been ended." },
	{ W32(ERROR_SEM_TIMEOUT), "The semaphore timeout period has expired." },
	{ W32(ERROR_INSUFFICIENT_BUFFER),
	  "The data area passed to a system call is too small." },
	{ W32(ERROR_INVALID_NAME),
	  "The filename, directory name, or volume label syntax is incorrect." },
	{ W32(ERROR_PROC_NOT_FOUND), "The specified procedure could not be found." },
	{ W32(ERROR_ALREADY_EXISTS),
	  "Cannot create a file when that file already exists." },
	{ W32(ERROR_BAD_EXE_FORMAT), "The image is not a valid filter image." },
	{ W32(ERROR_MORE_DATA), "More data is available." },
	{ W32(WAIT_TIMEOUT), "The wait operation timed out." },
	{ W32(ERROR_NO_MORE_ITEMS), "No more data is available." },
	{ W32(ERROR_OPERATION_ABORTED),
	  "The I/O operation has been aborted because of either a thread exit or an application request." },
	{ W32(ERROR_IO_INCOMPLETE),
	  "Overlapped I/O event is not in a signaled state." },
	{ W32(ERROR_IO_PENDING), "Overlapped I/O operation is in progress." },
	{ W32(ERROR_SERVICE_ALREADY_RUNNING),
	  "An instance of the service is already running." },
	{ W32(ERROR_SERVICE_DISABLED),
	  "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it." },
	{ W32(ERROR_SERVICE_DOES_NOT_EXIST),
	  "The specified service does not exist as an installed service." },
	{ W32(ERROR_SERVICE_NOT_ACTIVE), "The service has not been started." },
	{ W32(ERROR_SERVICE_DEPENDENCY_FAIL),
	  "The dependency service or group failed to start." },
	{ W32(ERROR_SERVICE_MARKED_FOR_DELETE),
	  "The specified service has been marked for deletion." },
	{ W32(ERROR_SERVICE_EXISTS), "The specified service already exists." },
	{ W32(ERROR_NOT_FOUND), "Element not found." },
	{ W32(ERROR_CONNECTION_REFUSED),
	  "The remote computer refused the network connection." },
	{ W32(ERROR_PRIVILEGE_NOT_HELD),
	  "A required privilege is not held by the client." },
	{ W32(ERROR_TIMEOUT),
	  "This operation returned because the timeout period expired." },
	/* COM-style codes. */
	{ E_NOTIMPL, "Not implemented." },
	{ E_POINTER, "Invalid pointer" },
	{ E_ABORT, "Operation aborted" },
	{ E_FAIL, "Unspecified error" },
	{ E_UNEXPECTED, "Catastrophic failure" },
	/* The filter manager's own. */
	{ ERROR_FLT_IO_COMPLETE, "The IO was completed by a filter." },
	{ ERROR_FLT_NO_HANDLER_DEFINED,
	  "A handler was not defined by the filter for this operation." },
	{ ERROR_FLT_CONTEXT_ALREADY_DEFINED,
	  "A context is already defined for this object." },
	{ ERROR_FLT_INVALID_ASYNCHRONOUS_REQUEST,
	  "Asynchronous requests are not valid for this operation." },
	{ ERROR_FLT_DISALLOW_FAST_IO,
	  "Disallow the Fast IO path for this operation." },
	{ ERROR_FLT_INVALID_NAME_REQUEST,
	  "An invalid name request was made. The name requested cannot be retrieved at this time." },
	{ ERROR_FLT_NOT_SAFE_TO_POST_OPERATION,
	  "Posting this operation to a worker thread for further processing is not safe at this time because it could lead to a system deadlock." },
	{ ERROR_FLT_NOT_INITIALIZED,
	  "The Filter Manager was not initialized when a filter tried to register. Make sure that the Filter Manager is getting loaded as a driver." },
	{ ERROR_FLT_FILTER_NOT_READY,
	  "The filter is not ready for attachment to volumes because it has not finished initializing (FltStartFiltering has not been called)." },
	{ ERROR_FLT_POST_OPERATION_CLEANUP,
	  "The filter must cleanup any operation specific context at this time because it is being removed from the system before the operation is completed by the lower drivers." },
	{ ERROR_FLT_INTERNAL_ERROR,
	  "The Filter Manager had an internal error from which it cannot recover, therefore the operation has been failed. This is usually the result of a filter returning an invalid value from a pre-operation callback." },
	{ ERROR_FLT_DELETING_OBJECT,
	  "The object specified for this action is in the process of being deleted, therefore the action requested cannot be completed at this time." },
	{ ERROR_FLT_MUST_BE_NONPAGED_POOL,
	  "Non-paged pool must be used for this type of context." },
	{ ERROR_FLT_DUPLICATE_ENTRY,
	  "A duplicate handler definition has been provided for an operation." },
	{ ERROR_FLT_CBDQ_DISABLED, "The callback data queue has been disabled." },
	{ ERROR_FLT_DO_NOT_ATTACH,
	  "Do not attach the filter to the volume at this time." },
	{ ERROR_FLT_DO_NOT_DETACH,
	  "Do not detach the filter from the volume at this time." },
	{ ERROR_FLT_INSTANCE_ALTITUDE_COLLISION,
	  "An instance already exists at this altitude on the volume specified." },
	{ ERROR_FLT_INSTANCE_NAME_COLLISION,
	  "An instance already exists with this name on the volume specified." },
	{ ERROR_FLT_FILTER_NOT_FOUND,
	  "The system could not find the filter specified." },
	{ ERROR_FLT_VOLUME_NOT_FOUND,
	  "The system could not find the volume specified." },
	{ ERROR_FLT_INSTANCE_NOT_FOUND,
	  "The system could not find the instance specified." },
	{ ERROR_FLT_CONTEXT_ALLOCATION_NOT_FOUND,
	  "No registered context allocation definition was found for the given request." },
	{ ERROR_FLT_INVALID_CONTEXT_REGISTRATION,
	  "An invalid parameter was specified during context registration." },
	{ ERROR_FLT_NAME_CACHE_MISS,
	  "The name requested was not found in Filter Manager's name cache and could not be retrieved from the file system." },
	{ ERROR_FLT_NO_DEVICE_OBJECT,
	  "The requested device object does not exist for the given volume." },
	{ ERROR_FLT_VOLUME_ALREADY_MOUNTED, "The specified volume is already mounted." },
	{ ERROR_FLT_ALREADY_ENLISTED,
	  "The specified Transaction Context is already enlisted in a transaction" },
	{ ERROR_FLT_CONTEXT_ALREADY_LINKED,
	  "The specified context is already attached to another object" },
	{ ERROR_FLT_NO_WAITER_FOR_REPLY,
	  "No waiter is present for the filter's reply to this message." },
	{ ERROR_FLT_REGISTRATION_BUSY,
	  "The filesystem database resource is in use. Registration cannot complete at this time." },
};

const char *mc_message(HRESULT hr)
{
	static char unknown[96];
	size_t i;

	for (i = 0; i < sizeof(mc_messages) / sizeof(mc_messages[0]); i++)
		if (mc_messages[i].hr == hr)
			return mc_messages[i].text;
	/* HRESULT_FROM_NT: an NTSTATUS no Win32 error stands for. */
	if ((ULONG)hr & FACILITY_NT_BIT)
		snprintf(unknown, sizeof(unknown),
			 "The filter manager failed with NTSTATUS 0x%08x.",
			 (unsigned)((ULONG)hr & ~(ULONG)FACILITY_NT_BIT));
	else
		snprintf(unknown, sizeof(unknown),
			 "No message is known for error 0x%08x.", (unsigned)hr);
	return unknown;
}

int mc_fail(const char *what, HRESULT hr)
{
	fprintf(stderr, "%s failed with error: 0x%08x\n", what, (unsigned)hr);
	fprintf(stderr, "%s\n", mc_message(hr));
	return MC_EXIT_FAILED;
}
