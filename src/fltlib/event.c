/*
 * event.c - events and OVERLAPPED completion for libfltlib: CreateEventW,
 * SetEvent, ResetEvent, WaitForSingleObject, GetOverlappedResult and
 * CancelIoEx, as far as asynchronous FilterGetMessage needs them.
 *
 * An event is an eventfd: signalled exactly when its counter is non-zero.
 * A manual-reset event stays signalled until ResetEvent; waiting on it only
 * polls.  An auto-reset event is consumed by the waiter whose read() takes
 * the counter, so one SetEvent releases one waiter even when several wake.
 * Named events and waiting on anything but an event are not provided.
 *
 * Handles are reference counted: closing an event another thread waits on
 * leaves the waiter waiting on the object, as on Windows.
 */
#include "fltlib/port.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fltlib/handle.h"

struct fl_event {
	struct fl_object obj;
	atomic_long refs;
	int fd;
	bool manual;
};

static void fl_event_hold(struct fl_object *obj)
{
	atomic_fetch_add(&((struct fl_event *)obj)->refs, 1);
}

static void fl_event_put(struct fl_event *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		close(e->fd);
		free(e);
	}
}

static void fl_event_close(struct fl_object *obj)
{
	fl_event_put((struct fl_event *)obj);
}

static struct fl_event *fl_event_get(HANDLE h)
{
	return (struct fl_event *)fl_handle_get_held(h, FL_EVENT, fl_event_hold);
}

FLTLIB_API HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes,
				      BOOL bManualReset, BOOL bInitialState,
				      LPCWSTR lpName)
{
	struct fl_event *e;
	HANDLE h;

	if (lpName) {
		fl_set_last_error(ERROR_NOT_SUPPORTED);
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fl_set_last_error(ERROR_NOT_ENOUGH_MEMORY);
		return NULL;
	}
	e->fd = eventfd(bInitialState ? 1 : 0, EFD_NONBLOCK |
			(lpEventAttributes && lpEventAttributes->bInheritHandle
				 ? 0 : EFD_CLOEXEC));
	if (e->fd < 0) {
		fl_set_last_error(ERROR_NOT_ENOUGH_MEMORY);
		free(e);
		return NULL;
	}
	e->obj.kind = FL_EVENT;
	e->obj.close = fl_event_close;
	e->manual = bManualReset != 0;
	atomic_init(&e->refs, 1);
	h = fl_handle_register(&e->obj);
	if (!h) {
		fl_set_last_error(ERROR_NOT_ENOUGH_MEMORY);
		fl_event_put(e);
		return NULL;
	}
	fl_set_last_error(ERROR_SUCCESS);
	return h;
}

FLTLIB_API BOOL WINAPI SetEvent(HANDLE hEvent)
{
	struct fl_event *e = fl_event_get(hEvent);
	uint64_t one = 1;
	BOOL ok;

	if (!e) {
		fl_set_last_error(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	/* EAGAIN would mean 2^64-2 unconsumed sets: still signalled. */
	ok = write(e->fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN;
	fl_event_put(e);
	return ok;
}

FLTLIB_API BOOL WINAPI ResetEvent(HANDLE hEvent)
{
	struct fl_event *e = fl_event_get(hEvent);
	uint64_t v;

	if (!e) {
		fl_set_last_error(ERROR_INVALID_HANDLE);
		return FALSE;
	}
	if (read(e->fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		fl_event_put(e);
		return FALSE;
	}
	fl_event_put(e);
	return TRUE;
}

static int64_t fl_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes the signal of an auto-reset event, or sees a manual one set. */
static bool fl_event_try(struct fl_event *e)
{
	struct pollfd pfd = { .fd = e->fd, .events = POLLIN };
	uint64_t v;

	if (e->manual)
		return poll(&pfd, 1, 0) == 1;
	return read(e->fd, &v, sizeof(v)) == sizeof(v);
}

FLTLIB_API DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
	struct fl_event *e = fl_event_get(hHandle);
	int64_t deadline = fl_ms_now() + dwMilliseconds;
	DWORD rc = WAIT_TIMEOUT;

	if (!e) {
		fl_set_last_error(ERROR_INVALID_HANDLE);
		return WAIT_FAILED;
	}
	for (;;) {
		struct pollfd pfd = { .fd = e->fd, .events = POLLIN };
		int64_t left = dwMilliseconds == INFINITE ? -1
							  : deadline - fl_ms_now();

		if (fl_event_try(e)) {
			rc = WAIT_OBJECT_0;
			break;
		}
		if (dwMilliseconds != INFINITE && left <= 0)
			break;
		if (poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left) < 0 &&
		    errno != EINTR) {
			fl_set_last_error(ERROR_INVALID_HANDLE);
			rc = WAIT_FAILED;
			break;
		}
	}
	fl_event_put(e);
	return rc;
}

FLTLIB_API BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped,
					   LPDWORD lpNumberOfBytesTransferred,
					   BOOL bWait)
{
	NTSTATUS st;

	if (!lpOverlapped || !lpNumberOfBytesTransferred) {
		fl_set_last_error(ERROR_INVALID_PARAMETER);
		return FALSE;
	}
	st = fl_overlapped_status(lpOverlapped);
	if (st == STATUS_PENDING) {
		if (!bWait) {
			fl_set_last_error(ERROR_IO_INCOMPLETE);
			return FALSE;
		}
		if (lpOverlapped->hEvent &&
		    WaitForSingleObject(lpOverlapped->hEvent, INFINITE) ==
			    WAIT_FAILED) {
			fl_set_last_error(ERROR_INVALID_HANDLE);
			return FALSE;
		}
		/* Without an event (or if another thread took its signal),
		 * wait on the port itself. */
		if (fl_overlapped_status(lpOverlapped) == STATUS_PENDING &&
		    !fl_port_wait_overlapped(hFile, lpOverlapped)) {
			fl_set_last_error(ERROR_INVALID_HANDLE);
			return FALSE;
		}
		st = fl_overlapped_status(lpOverlapped);
	}
	*lpNumberOfBytesTransferred = (DWORD)lpOverlapped->InternalHigh;
	if (NT_SUCCESS(st) && st != STATUS_PENDING)
		return TRUE;
	fl_set_last_error(fl_win32_from_status(st));
	return FALSE;
}

FLTLIB_API BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped)
{
	DWORD err = fl_port_cancel(hFile, lpOverlapped);

	if (err != ERROR_SUCCESS) {
		fl_set_last_error(err);
		return FALSE;
	}
	return TRUE;
}
