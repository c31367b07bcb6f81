/*
 * winerror.h - Win32 error codes and HRESULTs returned by the user-mode
 * filter library (fltUser.h).  Values are the real Windows ones.
 */
#ifndef ALTITUDE_WINERROR_H
#define ALTITUDE_WINERROR_H

#include <ntdef.h>

#define ERROR_SUCCESS                            0L
#define ERROR_INVALID_FUNCTION                   1L
#define ERROR_FILE_NOT_FOUND                     2L
#define ERROR_PATH_NOT_FOUND                     3L
#define ERROR_ACCESS_DENIED                      5L
#define ERROR_INVALID_HANDLE                     6L
#define ERROR_NOT_ENOUGH_MEMORY                  8L
#define ERROR_BAD_FORMAT                         11L
#define ERROR_INVALID_DATA                       13L
#define ERROR_OUTOFMEMORY                        14L
#define ERROR_NOT_SUPPORTED                      50L
#define ERROR_INVALID_PARAMETER                  87L
#define ERROR_BROKEN_PIPE                        109L
#define ERROR_SEM_TIMEOUT                        121L
#define ERROR_INSUFFICIENT_BUFFER                122L
#define ERROR_INVALID_NAME                       123L
#define ERROR_PROC_NOT_FOUND                     127L
#define ERROR_ALREADY_EXISTS                     183L
#define ERROR_BAD_EXE_FORMAT                     193L
#define ERROR_MORE_DATA                          234L
#define WAIT_TIMEOUT                             258L
#define ERROR_NO_MORE_ITEMS                      259L
#define ERROR_OPERATION_ABORTED                  995L
#define ERROR_IO_INCOMPLETE                      996L
#define ERROR_IO_PENDING                         997L
#define ERROR_SERVICE_ALREADY_RUNNING            1056L
#define ERROR_SERVICE_DISABLED                   1058L
#define ERROR_SERVICE_DOES_NOT_EXIST             1060L
#define ERROR_SERVICE_NOT_ACTIVE                 1062L
#define ERROR_SERVICE_MARKED_FOR_DELETE          1072L
#define ERROR_SERVICE_EXISTS                     1073L
#define ERROR_SERVICE_DEPENDENCY_FAIL            1068L
#define ERROR_CONNECTION_REFUSED                 1225L
#define ERROR_CONNECTION_COUNT_LIMIT             1238L
#define ERROR_NOT_FOUND                          1168L
#define ERROR_PRIVILEGE_NOT_HELD                 1314L
#define ERROR_TIMEOUT                            1460L

#define FACILITY_WIN32 7
#define FACILITY_NT_BIT 0x10000000
#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define HRESULT_CODE(hr) ((hr) & 0xFFFF)
#define HRESULT_FACILITY(hr) (((hr) >> 16) & 0x1fff)
#define HRESULT_FROM_WIN32(x)                                     \
	((HRESULT)(x) <= 0 ? ((HRESULT)(x))                        \
			   : ((HRESULT)(((x) & 0x0000FFFF) |       \
					(FACILITY_WIN32 << 16) | 0x80000000)))
#define HRESULT_FROM_NT(x) ((HRESULT)((x) | FACILITY_NT_BIT))

#define S_OK                                     ((HRESULT)0x00000000L)
#define S_FALSE                                  ((HRESULT)0x00000001L)
#define E_NOTIMPL                                ((HRESULT)0x80004001L)
#define E_POINTER                                ((HRESULT)0x80004003L)
#define E_ABORT                                  ((HRESULT)0x80004004L)
#define E_FAIL                                   ((HRESULT)0x80004005L)
#define E_UNEXPECTED                             ((HRESULT)0x8000FFFFL)
#define E_ACCESSDENIED                           ((HRESULT)0x80070005L)
#define E_HANDLE                                 ((HRESULT)0x80070006L)
#define E_OUTOFMEMORY                            ((HRESULT)0x8007000EL)
#define E_INVALIDARG                             ((HRESULT)0x80070057L)
#define ERROR_FLT_IO_COMPLETE                    ((HRESULT)0x001F0001L)
#define ERROR_FLT_NO_HANDLER_DEFINED             ((HRESULT)0x801F0001L)
#define ERROR_FLT_CONTEXT_ALREADY_DEFINED        ((HRESULT)0x801F0002L)
#define ERROR_FLT_INVALID_ASYNCHRONOUS_REQUEST   ((HRESULT)0x801F0003L)
#define ERROR_FLT_DISALLOW_FAST_IO               ((HRESULT)0x801F0004L)
#define ERROR_FLT_INVALID_NAME_REQUEST           ((HRESULT)0x801F0005L)
#define ERROR_FLT_NOT_SAFE_TO_POST_OPERATION     ((HRESULT)0x801F0006L)
#define ERROR_FLT_NOT_INITIALIZED                ((HRESULT)0x801F0007L)
#define ERROR_FLT_FILTER_NOT_READY               ((HRESULT)0x801F0008L)
#define ERROR_FLT_POST_OPERATION_CLEANUP         ((HRESULT)0x801F0009L)
#define ERROR_FLT_INTERNAL_ERROR                 ((HRESULT)0x801F000AL)
#define ERROR_FLT_DELETING_OBJECT                ((HRESULT)0x801F000BL)
#define ERROR_FLT_MUST_BE_NONPAGED_POOL          ((HRESULT)0x801F000CL)
#define ERROR_FLT_DUPLICATE_ENTRY                ((HRESULT)0x801F000DL)
#define ERROR_FLT_CBDQ_DISABLED                  ((HRESULT)0x801F000EL)
#define ERROR_FLT_DO_NOT_ATTACH                  ((HRESULT)0x801F000FL)
#define ERROR_FLT_DO_NOT_DETACH                  ((HRESULT)0x801F0010L)
#define ERROR_FLT_INSTANCE_ALTITUDE_COLLISION    ((HRESULT)0x801F0011L)
#define ERROR_FLT_INSTANCE_NAME_COLLISION        ((HRESULT)0x801F0012L)
#define ERROR_FLT_FILTER_NOT_FOUND               ((HRESULT)0x801F0013L)
#define ERROR_FLT_VOLUME_NOT_FOUND               ((HRESULT)0x801F0014L)
#define ERROR_FLT_INSTANCE_NOT_FOUND             ((HRESULT)0x801F0015L)
#define ERROR_FLT_CONTEXT_ALLOCATION_NOT_FOUND   ((HRESULT)0x801F0016L)
#define ERROR_FLT_INVALID_CONTEXT_REGISTRATION   ((HRESULT)0x801F0017L)
#define ERROR_FLT_NAME_CACHE_MISS                ((HRESULT)0x801F0018L)
#define ERROR_FLT_NO_DEVICE_OBJECT               ((HRESULT)0x801F0019L)
#define ERROR_FLT_VOLUME_ALREADY_MOUNTED         ((HRESULT)0x801F001AL)
#define ERROR_FLT_ALREADY_ENLISTED               ((HRESULT)0x801F001BL)
#define ERROR_FLT_CONTEXT_ALREADY_LINKED         ((HRESULT)0x801F001CL)
#define ERROR_FLT_NO_WAITER_FOR_REPLY            ((HRESULT)0x801F0020L)
#define ERROR_FLT_REGISTRATION_BUSY              ((HRESULT)0x801F0023L)

#endif /* ALTITUDE_WINERROR_H */
