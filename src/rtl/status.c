/*
 * status.c - the one NTSTATUS <-> errno conversion, and status names.
 *
 * One table serves all three functions.  Each row names a status, the errno
 * it becomes, and whether it is the status that errno becomes ("primary"):
 * every errno has at most one primary row, and that row maps back to the
 * same errno, so errno -> status -> errno is the identity.  An errno with no
 * primary row travels as ALTITUDE_STATUS_FROM_ERRNO(e), which decodes back
 * to e.  Success and informational codes become 0 (STATUS_TIMEOUT included:
 * it is a success); any other error or warning without a row becomes EIO.
 * docs/status-mapping.md lists the table and the reasons behind the choices
 * that are not obvious; keep the two in step.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <ntstatus.h>

#include "rtl/rtl.h"

struct status_row {
	NTSTATUS status;
	const char *name;
	int err;      /* 0: success, or "use the default (EIO)" for errors */
	bool primary; /* rtl_errno_to_status(err) gives this status */
};

#define S(name, err) { name, #name, err, false }
#define P(name, err) { name, #name, err, true }

static const struct status_row status_table[] = {
	/* Success and information: errno 0. */
	S(STATUS_SUCCESS, 0),
	S(STATUS_ALERTED, 0),
	S(STATUS_TIMEOUT, 0),
	S(STATUS_PENDING, 0),
	S(STATUS_REPARSE, 0),
	S(STATUS_MORE_ENTRIES, 0),
	S(STATUS_NOT_ALL_ASSIGNED, 0),
	S(STATUS_SOME_NOT_MAPPED, 0),
	S(STATUS_OBJECT_NAME_EXISTS, 0),

	/* Warnings. */
	S(STATUS_BUFFER_OVERFLOW, ERANGE),
	S(STATUS_NO_MORE_FILES, ENOENT),
	P(STATUS_DEVICE_BUSY, EBUSY),
	S(STATUS_NO_MORE_EAS, ENODATA),
	S(STATUS_NO_MORE_ENTRIES, ENOENT),
	S(STATUS_STOPPED_ON_SYMLINK, ELOOP),

	/* Errors. */
	S(STATUS_UNSUCCESSFUL, EIO),
	P(STATUS_NOT_IMPLEMENTED, ENOSYS),
	S(STATUS_INVALID_INFO_CLASS, EINVAL),
	S(STATUS_INFO_LENGTH_MISMATCH, EINVAL),
	P(STATUS_ACCESS_VIOLATION, EFAULT),
	P(STATUS_INVALID_HANDLE, EBADF),
	P(STATUS_INVALID_PARAMETER, EINVAL),
	P(STATUS_NO_SUCH_DEVICE, ENXIO),
	S(STATUS_NO_SUCH_FILE, ENOENT),
	S(STATUS_INVALID_DEVICE_REQUEST, EINVAL),
	S(STATUS_END_OF_FILE, EIO),
	S(STATUS_WRONG_VOLUME, EIO),
	S(STATUS_MORE_PROCESSING_REQUIRED, EIO),
	P(STATUS_NO_MEMORY, ENOMEM),
	P(STATUS_ACCESS_DENIED, EACCES),
	P(STATUS_BUFFER_TOO_SMALL, ERANGE),
	S(STATUS_OBJECT_TYPE_MISMATCH, EINVAL),
	S(STATUS_INVALID_PARAMETER_MIX, EINVAL),
	S(STATUS_OBJECT_NAME_INVALID, EINVAL),
	P(STATUS_OBJECT_NAME_NOT_FOUND, ENOENT),
	P(STATUS_OBJECT_NAME_COLLISION, EEXIST),
	P(STATUS_PORT_DISCONNECTED, ENOTCONN),
	S(STATUS_DEVICE_ALREADY_ATTACHED, EBUSY),
	S(STATUS_OBJECT_PATH_INVALID, ENOTDIR),
	S(STATUS_OBJECT_PATH_NOT_FOUND, ENOENT),
	S(STATUS_OBJECT_PATH_SYNTAX_BAD, EINVAL),
	P(STATUS_SHARING_VIOLATION, ETXTBSY),
	S(STATUS_QUOTA_EXCEEDED, EDQUOT),
	S(STATUS_EAS_NOT_SUPPORTED, EOPNOTSUPP),
	P(STATUS_EA_TOO_LARGE, E2BIG),
	P(STATUS_NONEXISTENT_EA_ENTRY, ENODATA),
	S(STATUS_NO_EAS_ON_FILE, ENODATA),
	S(STATUS_EA_CORRUPT_ERROR, EIO),
	S(STATUS_FILE_LOCK_CONFLICT, EAGAIN),
	P(STATUS_LOCK_NOT_GRANTED, EAGAIN),
	S(STATUS_DELETE_PENDING, ENOENT),
	S(STATUS_REVISION_MISMATCH, EIO),
	P(STATUS_PRIVILEGE_NOT_HELD, EPERM),
	S(STATUS_RANGE_NOT_LOCKED, EIO),
	P(STATUS_DISK_FULL, ENOSPC),
	P(STATUS_INVALID_IMAGE_FORMAT, ENOEXEC),
	P(STATUS_INTEGER_OVERFLOW, EOVERFLOW),
	S(STATUS_INSUFFICIENT_RESOURCES, ENOMEM),
	P(STATUS_MEDIA_WRITE_PROTECTED, EROFS),
	S(STATUS_DEVICE_NOT_READY, EIO),
	P(STATUS_IO_TIMEOUT, ETIMEDOUT),
	P(STATUS_FILE_IS_A_DIRECTORY, EISDIR),
	P(STATUS_NOT_SUPPORTED, EOPNOTSUPP),
	P(STATUS_NOT_SAME_DEVICE, EXDEV),
	P(STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY),
	P(STATUS_NOT_A_DIRECTORY, ENOTDIR),
	P(STATUS_NAME_TOO_LONG, ENAMETOOLONG),
	S(STATUS_FILES_OPEN, EBUSY),
	S(STATUS_IMAGE_ALREADY_LOADED, EEXIST),
	P(STATUS_TOO_MANY_OPENED_FILES, EMFILE),
	P(STATUS_CANCELLED, EINTR),
	S(STATUS_CANNOT_DELETE, EPERM),
	P(STATUS_FILE_DELETED, ESTALE),
	S(STATUS_FILE_CLOSED, EBADF),
	S(STATUS_DLL_NOT_FOUND, ENOENT),
	S(STATUS_ENTRYPOINT_NOT_FOUND, ENOEXEC),
	S(STATUS_INVALID_DEVICE_STATE, EIO),
	P(STATUS_IO_DEVICE_ERROR, EIO),
	P(STATUS_POSSIBLE_DEADLOCK, EDEADLK),
	S(STATUS_NOT_FOUND, ENOENT),
	P(STATUS_CONNECTION_REFUSED, ECONNREFUSED),
	P(STATUS_TOO_MANY_LINKS, EMLINK),
	S(STATUS_NOT_A_REPARSE_POINT, EINVAL),
	P(STATUS_REPARSE_POINT_NOT_RESOLVED, ELOOP),
	P(STATUS_DISK_QUOTA_EXCEEDED, EDQUOT),
	P(STATUS_FILE_TOO_LARGE, EFBIG),

	/* Filter manager errors: EIO unless a better errno is obvious. */
	S(STATUS_FLT_NO_HANDLER_DEFINED, EIO),
	S(STATUS_FLT_CONTEXT_ALREADY_DEFINED, EEXIST),
	S(STATUS_FLT_INVALID_ASYNCHRONOUS_REQUEST, EINVAL),
	S(STATUS_FLT_DISALLOW_FAST_IO, EIO),
	S(STATUS_FLT_INVALID_NAME_REQUEST, EINVAL),
	S(STATUS_FLT_NOT_SAFE_TO_POST_OPERATION, EIO),
	S(STATUS_FLT_NOT_INITIALIZED, EIO),
	S(STATUS_FLT_FILTER_NOT_READY, EAGAIN),
	S(STATUS_FLT_POST_OPERATION_CLEANUP, EIO),
	S(STATUS_FLT_INTERNAL_ERROR, EIO),
	S(STATUS_FLT_DELETING_OBJECT, EIO),
	S(STATUS_FLT_MUST_BE_NONPAGED_POOL, EINVAL),
	S(STATUS_FLT_DUPLICATE_ENTRY, EEXIST),
	S(STATUS_FLT_CBDQ_DISABLED, EIO),
	S(STATUS_FLT_DO_NOT_ATTACH, EPERM),
	S(STATUS_FLT_DO_NOT_DETACH, EPERM),
	S(STATUS_FLT_INSTANCE_ALTITUDE_COLLISION, EEXIST),
	S(STATUS_FLT_INSTANCE_NAME_COLLISION, EEXIST),
	S(STATUS_FLT_FILTER_NOT_FOUND, ENOENT),
	S(STATUS_FLT_VOLUME_NOT_FOUND, ENOENT),
	S(STATUS_FLT_INSTANCE_NOT_FOUND, ENOENT),
	S(STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND, ENOENT),
	S(STATUS_FLT_INVALID_CONTEXT_REGISTRATION, EINVAL),
	S(STATUS_FLT_NAME_CACHE_MISS, EIO),
	S(STATUS_FLT_NO_DEVICE_OBJECT, EIO),
	S(STATUS_FLT_VOLUME_ALREADY_MOUNTED, EBUSY),
	S(STATUS_FLT_ALREADY_ENLISTED, EEXIST),
	S(STATUS_FLT_CONTEXT_ALREADY_LINKED, EEXIST),
	S(STATUS_FLT_NO_WAITER_FOR_REPLY, ENOENT),
	S(STATUS_FLT_REGISTRATION_BUSY, EBUSY),
};

#undef S
#undef P

static const struct status_row *status_find(NTSTATUS status)
{
	for (size_t i = 0; i < RTL_NUMBER_OF(status_table); i++)
		if (status_table[i].status == status)
			return &status_table[i];
	return NULL;
}

int rtl_status_to_errno(NTSTATUS status)
{
	const struct status_row *row;
	int err;

	if (NT_SUCCESS(status))
		return 0;
	if (ALTITUDE_STATUS_IS_ERRNO(status)) {
		err = (int)((ULONG)status & 0xFFFFu);
		return err ? err : EIO;
	}
	row = status_find(status);
	return row && row->err ? row->err : EIO;
}

NTSTATUS rtl_errno_to_status(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return STATUS_SUCCESS;
	/* Linux spells some errnos twice; the table uses one spelling. */
	if (err == EWOULDBLOCK)
		err = EAGAIN;
	if (err == ENOTSUP)
		err = EOPNOTSUPP;
	if (err == EDEADLOCK)
		err = EDEADLK;
	for (size_t i = 0; i < RTL_NUMBER_OF(status_table); i++)
		if (status_table[i].primary && status_table[i].err == err)
			return status_table[i].status;
	return ALTITUDE_STATUS_FROM_ERRNO(err);
}

const char *rtl_status_name(NTSTATUS status)
{
	static __thread char buf[64];
	const struct status_row *row = status_find(status);
	const char *ename;

	if (row)
		return row->name;
	if (ALTITUDE_STATUS_IS_ERRNO(status)) {
		ename = strerrorname_np((int)((ULONG)status & 0xFFFFu));
		if (ename) {
			snprintf(buf, sizeof(buf),
				 "ALTITUDE_STATUS_FROM_ERRNO(%s)", ename);
			return buf;
		}
	}
	snprintf(buf, sizeof(buf), "0x%08X", (unsigned int)status);
	return buf;
}
