/*
 * fltUser.h - the user-mode filter library (libfltlib): managing filters,
 * instances and volumes, and talking to filters through communication
 * ports.  Signatures, names and HRESULTs are those of the Windows SDK's
 * fltUser.h / FltLib.dll.
 *
 * Link with `pkg-config --libs fltlib`; build with its cflags
 * (-fshort-wchar, so L"..." strings are the LPCWSTR these calls take).
 * The management calls reach fltmgrd's control socket and need root or the
 * group its configuration names; port connections are checked against the
 * port's security descriptor.
 */
#ifndef ALTITUDE_FLTUSER_H
#define ALTITUDE_FLTUSER_H

#include <fltUserStructures.h>
#include <winerror.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WINAPI
#define FLTLIB_API __attribute__((visibility("default")))

typedef void *LPVOID;
typedef const void *LPCVOID;
typedef DWORD *LPDWORD;
typedef HANDLE *LPHANDLE;
typedef HANDLE HFILTER, HFILTER_INSTANCE;
typedef HFILTER *PHFILTER;
typedef HFILTER_INSTANCE *PHFILTER_INSTANCE;

#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)

typedef struct _SECURITY_ATTRIBUTES {
	DWORD nLength;
	LPVOID lpSecurityDescriptor;
	BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

/*
 * Asynchronous FilterGetMessage: pass an OVERLAPPED; the call returns
 * HRESULT_FROM_WIN32(ERROR_IO_PENDING) and the message lands in the buffer
 * when one arrives.  hEvent, if not NULL, is an event from CreateEventW
 * (an eventfd a Linux program can also poll).  GetOverlappedResult waits
 * for or checks the outcome; CancelIoEx withdraws it.
 */
typedef struct _OVERLAPPED {
	ULONG_PTR Internal;
	ULONG_PTR InternalHigh;
	union {
		struct {
			DWORD Offset;
			DWORD OffsetHigh;
		};
		PVOID Pointer;
	};
	HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

/* ---- Loading and unloading ---------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterLoad(LPCWSTR lpFilterName);
FLTLIB_API HRESULT WINAPI FilterUnload(LPCWSTR lpFilterName);

FLTLIB_API HRESULT WINAPI FilterCreate(LPCWSTR lpFilterName, HFILTER *hFilter);
FLTLIB_API HRESULT WINAPI FilterClose(HFILTER hFilter);
FLTLIB_API HRESULT WINAPI FilterInstanceCreate(LPCWSTR lpFilterName,
					       LPCWSTR lpVolumeName,
					       LPCWSTR lpInstanceName,
					       HFILTER_INSTANCE *hInstance);
FLTLIB_API HRESULT WINAPI FilterInstanceClose(HFILTER_INSTANCE hInstance);

/* ---- Attaching and detaching -------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterAttach(LPCWSTR lpFilterName,
				       LPCWSTR lpVolumeName,
				       LPCWSTR lpInstanceName,
				       DWORD dwCreatedInstanceNameLength,
				       LPWSTR lpCreatedInstanceName);
FLTLIB_API HRESULT WINAPI FilterAttachAtAltitude(
	LPCWSTR lpFilterName, LPCWSTR lpVolumeName, LPCWSTR lpAltitude,
	LPCWSTR lpInstanceName, DWORD dwCreatedInstanceNameLength,
	LPWSTR lpCreatedInstanceName);
FLTLIB_API HRESULT WINAPI FilterDetach(LPCWSTR lpFilterName,
				       LPCWSTR lpVolumeName,
				       LPCWSTR lpInstanceName);

/* ---- Enumeration and information ----------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterFindFirst(FILTER_INFORMATION_CLASS dwInformationClass,
					  LPVOID lpBuffer, DWORD dwBufferSize,
					  LPDWORD lpBytesReturned,
					  LPHANDLE lpFilterFind);
FLTLIB_API HRESULT WINAPI FilterFindNext(HANDLE hFilterFind,
					 FILTER_INFORMATION_CLASS dwInformationClass,
					 LPVOID lpBuffer, DWORD dwBufferSize,
					 LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterFindClose(HANDLE hFilterFind);

FLTLIB_API HRESULT WINAPI FilterInstanceFindFirst(
	LPCWSTR lpFilterName, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
	LPHANDLE lpFilterInstanceFind);
FLTLIB_API HRESULT WINAPI FilterInstanceFindNext(
	HANDLE hFilterInstanceFind, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterInstanceFindClose(HANDLE hFilterInstanceFind);

FLTLIB_API HRESULT WINAPI FilterVolumeFindFirst(
	FILTER_VOLUME_INFORMATION_CLASS dwInformationClass, LPVOID lpBuffer,
	DWORD dwBufferSize, LPDWORD lpBytesReturned, PHANDLE lpVolumeFind);
FLTLIB_API HRESULT WINAPI FilterVolumeFindNext(
	HANDLE hVolumeFind, FILTER_VOLUME_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterVolumeFindClose(HANDLE hVolumeFind);

FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindFirst(
	LPCWSTR lpVolumeName, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned,
	LPHANDLE lpVolumeInstanceFind);
FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindNext(
	HANDLE hVolumeInstanceFind, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterVolumeInstanceFindClose(HANDLE hVolumeInstanceFind);

FLTLIB_API HRESULT WINAPI FilterGetInformation(HFILTER hFilter,
					       FILTER_INFORMATION_CLASS dwInformationClass,
					       LPVOID lpBuffer, DWORD dwBufferSize,
					       LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterInstanceGetInformation(
	HFILTER_INSTANCE hInstance, INSTANCE_INFORMATION_CLASS dwInformationClass,
	LPVOID lpBuffer, DWORD dwBufferSize, LPDWORD lpBytesReturned);

/* The Linux directory a volume covers, e.g. L"/srv/data" for L"\\Device\\data". */
FLTLIB_API HRESULT WINAPI FilterGetDosName(LPCWSTR lpVolumeName,
					   LPWSTR lpDosName,
					   DWORD dwDosNameBufferSize);

/* ---- Communication ports --------------------------------------------------- */

FLTLIB_API HRESULT WINAPI FilterConnectCommunicationPort(
	LPCWSTR lpPortName, DWORD dwOptions, LPCVOID lpContext,
	WORD wSizeOfContext, LPSECURITY_ATTRIBUTES lpSecurityAttributes,
	HANDLE *hPort);
FLTLIB_API HRESULT WINAPI FilterSendMessage(HANDLE hPort, LPVOID lpInBuffer,
					    DWORD dwInBufferSize,
					    LPVOID lpOutBuffer,
					    DWORD dwOutBufferSize,
					    LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterGetMessage(HANDLE hPort,
					   PFILTER_MESSAGE_HEADER lpMessageBuffer,
					   DWORD dwMessageBufferSize,
					   LPOVERLAPPED lpOverlapped);
FLTLIB_API HRESULT WINAPI FilterReplyMessage(HANDLE hPort,
					     PFILTER_REPLY_HEADER lpReplyBuffer,
					     DWORD dwReplyBufferSize);

/* ---- Handles and events ------------------------------------------------------ */

FLTLIB_API BOOL WINAPI CloseHandle(HANDLE hObject);
FLTLIB_API HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes,
				      BOOL bManualReset, BOOL bInitialState,
				      LPCWSTR lpName);
FLTLIB_API BOOL WINAPI SetEvent(HANDLE hEvent);
FLTLIB_API BOOL WINAPI ResetEvent(HANDLE hEvent);
#define INFINITE 0xFFFFFFFF
#define WAIT_OBJECT_0 0x00000000L
#define WAIT_FAILED 0xFFFFFFFFL
FLTLIB_API DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
FLTLIB_API BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped,
					   LPDWORD lpNumberOfBytesTransferred,
					   BOOL bWait);
FLTLIB_API BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped);
FLTLIB_API DWORD WINAPI GetLastError(void);

/*
 * Altitude: a descriptor that polls readable while a message waits on the
 * port (for poll/epoll loops), or -1 for a handle that is not a port.
 */
FLTLIB_API int WINAPI FilterGetPortFd(HANDLE hPort);

/* ---- Altitude additions: volumes and services ---------------------------------- */

/* Mounts a volume over a Linux directory; lpVolumeName is its short name. */
FLTLIB_API HRESULT WINAPI FilterVolumeAdd(LPCWSTR lpDirectory,
					  LPCWSTR lpVolumeName);
/* Unmounts a volume (instances are torn down; it cannot be refused). */
FLTLIB_API HRESULT WINAPI FilterVolumeRemove(LPCWSTR lpVolumeName);

/* The Start value of a service, as in winnt.h. */
#ifndef SERVICE_BOOT_START
#define SERVICE_BOOT_START 0x00000000
#define SERVICE_SYSTEM_START 0x00000001
#define SERVICE_AUTO_START 0x00000002
#define SERVICE_DEMAND_START 0x00000003
#define SERVICE_DISABLED 0x00000004
#endif

/*
 * One installed filter service, as FilterServiceFindFirst/Next return it.
 * Strings are offsets from the start of the structure and lengths in
 * bytes, not NUL-terminated; Altitude is the default instance's.
 */
typedef struct _FILTER_SERVICE_INFORMATION {
	ULONG NextEntryOffset;
	ULONG StartType; /* SERVICE_xxx_START, SERVICE_DISABLED */
	USHORT ServiceNameLength;
	USHORT ServiceNameBufferOffset;
	USHORT ImagePathLength;
	USHORT ImagePathBufferOffset;
	USHORT GroupLength;
	USHORT GroupBufferOffset;
	USHORT AltitudeLength;
	USHORT AltitudeBufferOffset;
} FILTER_SERVICE_INFORMATION, *PFILTER_SERVICE_INFORMATION;

/*
 * Installs (or replaces) service lpServiceName from the text of a service
 * file (UTF-8, no NUL bytes, under 64 KiB; the format is in
 * docs/services.md); fltmgrd validates it and answers with the error.
 * The equivalent of `sc create` or an INF's AddService.
 */
FLTLIB_API HRESULT WINAPI FilterServiceInstall(LPCWSTR lpServiceName,
					       LPCVOID lpDefinition,
					       DWORD dwDefinitionSize);
/* Removes a service definition (`sc delete`). */
FLTLIB_API HRESULT WINAPI FilterServiceUninstall(LPCWSTR lpServiceName);
/* Enumerates installed services; same conventions as FilterFindFirst. */
FLTLIB_API HRESULT WINAPI FilterServiceFindFirst(LPVOID lpBuffer,
						 DWORD dwBufferSize,
						 LPDWORD lpBytesReturned,
						 LPHANDLE lpServiceFind);
FLTLIB_API HRESULT WINAPI FilterServiceFindNext(HANDLE hServiceFind,
						LPVOID lpBuffer,
						DWORD dwBufferSize,
						LPDWORD lpBytesReturned);
FLTLIB_API HRESULT WINAPI FilterServiceFindClose(HANDLE hServiceFind);

#ifdef __cplusplus
}
#endif

#endif /* ALTITUDE_FLTUSER_H */
