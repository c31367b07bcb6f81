/*
 * port.h - what event.c (OVERLAPPED, GetOverlappedResult, CancelIoEx)
 * needs from port.c (communication port handles).
 */
#ifndef ALTITUDE_FLTLIB_PORT_H
#define ALTITUDE_FLTLIB_PORT_H

#include <fltUser.h>
#include <stdbool.h>

/* An NTSTATUS as the Win32 error GetLastError reports for it. */
DWORD fl_win32_from_status(NTSTATUS status);

/* Stores the outcome in ov (Internal, InternalHigh), then signals hEvent. */
void fl_overlapped_complete(LPOVERLAPPED ov, NTSTATUS status, DWORD bytes);
/* ov->Internal, read once. */
NTSTATUS fl_overlapped_status(const OVERLAPPED *ov);

/*
 * Cancels hPort's queued FilterGetMessage for ov (all of them when ov is
 * NULL); 0, ERROR_NOT_FOUND or ERROR_INVALID_HANDLE.
 */
DWORD fl_port_cancel(HANDLE hPort, LPOVERLAPPED ov);
/* Waits until ov, queued on hPort, completes; false if hPort is no port. */
bool fl_port_wait_overlapped(HANDLE hPort, const OVERLAPPED *ov);

#endif /* ALTITUDE_FLTLIB_PORT_H */
