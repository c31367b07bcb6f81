/*
 * test_ports_async.c - asynchronous use of a port handle: FilterGetMessage
 * with an OVERLAPPED (with and without an event), GetOverlappedResult,
 * CancelIoEx, CloseHandle with requests queued, FLT_PORT_FLAG_SYNC_HANDLE,
 * FilterGetPortFd under poll and epoll, and the events themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports_harness.h"

#define E_PENDING HRESULT_FROM_WIN32(ERROR_IO_PENDING)

struct msgbuf {
	FILTER_MESSAGE_HEADER hdr;
	char body[64];
};

static HANDLE open_port(DWORD options)
{
	HANDLE h;

	assert_int_equal(ph_create_port(4, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect_opts(options, NULL, 0, &h), S_OK);
	return h;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void test_overlapped_with_event(void **state)
{
	FILTER_REPLY_HEADER r = { 0 };
	struct msgbuf m;
	OVERLAPPED ov = { 0 };
	DWORD got = 0;
	HANDLE h;

	(void)state;
	h = open_port(0);
	ov.hEvent = CreateEventW(NULL, TRUE, TRUE, NULL);
	assert_non_null(ov.hEvent);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	/* The event was reset by the call and stays so until a message. */
	assert_int_equal(WaitForSingleObject(ov.hEvent, 50), WAIT_TIMEOUT);
	assert_false(GetOverlappedResult(h, &ov, &got, FALSE));
	assert_int_equal(GetLastError(), ERROR_IO_INCOMPLETE);
	assert_int_equal(ph_send(0, "async", 5, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(WaitForSingleObject(ov.hEvent, 5000), WAIT_OBJECT_0);
	assert_true(GetOverlappedResult(h, &ov, &got, TRUE));
	assert_int_equal(got, sizeof(FILTER_MESSAGE_HEADER) + 5);
	assert_memory_equal(m.body, "async", 5);
	assert_int_equal(ov.Internal, STATUS_SUCCESS);
	/* Replies work the same for messages received this way. */
	r.MessageId = m.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)),
			 ERROR_FLT_NO_WAITER_FOR_REPLY);
	CloseHandle(ov.hEvent);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void *reply_later(void *arg)
{
	char reply[8];
	ULONG len = sizeof(reply);

	(void)arg;
	usleep(50000);
	return (void *)(intptr_t)ph_send(0, "later", 5, reply, &len, 0, true);
}

static void test_overlapped_without_event(void **state)
{
	FILTER_REPLY_HEADER r = { 0 };
	struct msgbuf m;
	OVERLAPPED ov = { 0 };
	DWORD got = 0;
	pthread_t t;
	void *rv;
	HANDLE h;

	(void)state;
	h = open_port(0);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	t = ph_thread(reply_later, NULL);
	/* No event: GetOverlappedResult waits on the port itself. */
	assert_true(GetOverlappedResult(h, &ov, &got, TRUE));
	assert_memory_equal(m.body, "later", 5);
	assert_int_equal(m.hdr.ReplyLength, sizeof(r) + 8);
	r.MessageId = m.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), S_OK);
	pthread_join(t, &rv);
	assert_int_equal((NTSTATUS)(intptr_t)rv, STATUS_SUCCESS);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_overlapped_fifo(void **state)
{
	struct msgbuf m[4];
	OVERLAPPED ov[4];
	HANDLE h;
	DWORD got;
	int i;

	(void)state;
	h = open_port(0);
	memset(ov, 0, sizeof(ov));
	for (i = 0; i < 4; i++) {
		ov[i].hEvent = CreateEventW(NULL, FALSE, FALSE, NULL);
		assert_int_equal(FilterGetMessage(h, &m[i].hdr, sizeof(m[i]),
						  &ov[i]),
				 E_PENDING);
	}
	for (i = 0; i < 4; i++) {
		char msg[8];

		snprintf(msg, sizeof(msg), "m%d", i);
		assert_int_equal(ph_send(0, msg, 3, NULL, NULL, 0, true),
				 STATUS_SUCCESS);
	}
	/* Oldest request first. */
	for (i = 0; i < 4; i++) {
		char want[8];

		snprintf(want, sizeof(want), "m%d", i);
		assert_int_equal(WaitForSingleObject(ov[i].hEvent, 5000),
				 WAIT_OBJECT_0);
		assert_true(GetOverlappedResult(h, &ov[i], &got, FALSE));
		assert_memory_equal(m[i].body, want, 3);
		CloseHandle(ov[i].hEvent);
	}
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_cancel(void **state)
{
	struct msgbuf m, m2;
	OVERLAPPED ov = { 0 }, ov2 = { 0 };
	DWORD got = 5;
	HANDLE h;

	(void)state;
	h = open_port(0);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	assert_true(CancelIoEx(h, &ov));
	assert_int_equal(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
	assert_false(GetOverlappedResult(h, &ov, &got, TRUE));
	assert_int_equal(GetLastError(), ERROR_OPERATION_ABORTED);
	assert_int_equal(got, 0);
	assert_false(CancelIoEx(h, &ov));
	assert_int_equal(GetLastError(), ERROR_NOT_FOUND);
	/* Cancelling everything with NULL. */
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	assert_int_equal(FilterGetMessage(h, &m2.hdr, sizeof(m2), &ov2),
			 E_PENDING);
	assert_true(CancelIoEx(h, NULL));
	assert_false(GetOverlappedResult(h, &ov2, &got, FALSE));
	assert_int_equal(GetLastError(), ERROR_OPERATION_ABORTED);
	/* A message sent now goes to the next caller, not a cancelled one. */
	assert_int_equal(ph_send(0, "next", 4, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m2.hdr, sizeof(m2), NULL), S_OK);
	assert_memory_equal(m2.body, "next", 4);
	assert_false(CancelIoEx((HANDLE)(uintptr_t)0x42, NULL));
	assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
	CloseHandle(ov.hEvent);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_close_cancels(void **state)
{
	struct msgbuf m;
	OVERLAPPED ov = { 0 };
	DWORD got;
	HANDLE h;

	(void)state;
	h = open_port(0);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	assert_true(CloseHandle(h));
	/* Completed before CloseHandle returned. */
	assert_int_equal(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
	assert_false(GetOverlappedResult(h, &ov, &got, TRUE));
	assert_int_equal(GetLastError(), ERROR_OPERATION_ABORTED);
	CloseHandle(ov.hEvent);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_disconnect_completes_overlapped(void **state)
{
	struct msgbuf m;
	OVERLAPPED ov = { 0 };
	DWORD got;
	HANDLE h;

	(void)state;
	h = open_port(0);
	ov.hEvent = CreateEventW(NULL, FALSE, FALSE, NULL);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), E_PENDING);
	FltCloseClientPort((PFLT_FILTER)ph.filter, ph_client(0));
	assert_int_equal(WaitForSingleObject(ov.hEvent, 5000), WAIT_OBJECT_0);
	assert_false(GetOverlappedResult(h, &ov, &got, FALSE));
	assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
	CloseHandle(ov.hEvent);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void *send_soon(void *arg)
{
	(void)arg;
	usleep(50000);
	return (void *)(intptr_t)ph_send(0, "sync", 4, NULL, NULL, 0, true);
}

static void test_sync_handle(void **state)
{
	struct msgbuf m;
	OVERLAPPED ov = { 0 };
	DWORD got = 0;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_port(FLT_PORT_FLAG_SYNC_HANDLE);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	t = ph_thread(send_soon, NULL);
	/* A synchronous handle completes even an OVERLAPPED call in place. */
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), &ov), S_OK);
	assert_memory_equal(m.body, "sync", 4);
	assert_int_equal(WaitForSingleObject(ov.hEvent, 0), WAIT_OBJECT_0);
	assert_true(GetOverlappedResult(h, &ov, &got, FALSE));
	assert_int_equal(got, sizeof(m.hdr) + 4);
	pthread_join(t, NULL);
	CloseHandle(ov.hEvent);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_port_fd(void **state)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct msgbuf m;
	HANDLE h;
	int fd, ep;

	(void)state;
	h = open_port(0);
	fd = FilterGetPortFd(h);
	assert_true(fd >= 0);
	assert_false(readable(fd, 20));
	assert_int_equal(ph_send(0, "poll", 4, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_true(readable(fd, 1000));
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_false(readable(fd, 20));
	/* epoll, edge-triggered as an event loop would use it. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN | EPOLLET;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, &out, 1, 20), 0);
	assert_int_equal(ph_send(0, "epoll", 5, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(epoll_wait(ep, &out, 1, 1000), 1);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_memory_equal(m.body, "epoll", 5);
	close(ep);
	/* The program learns of the disconnection through the fd too. */
	FltCloseClientPort((PFLT_FILTER)ph.filter, ph_client(0));
	assert_true(readable(fd, 1000));
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL),
			 HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

struct ev_waiter {
	HANDLE ev;
	DWORD rc;
};

static void *ev_wait(void *arg)
{
	struct ev_waiter *w = arg;

	w->rc = WaitForSingleObject(w->ev, 300);
	return NULL;
}

static void test_events(void **state)
{
	struct ev_waiter w1, w2;
	pthread_t t1, t2;
	long long t0;
	HANDLE m, a;

	(void)state;
	assert_null(CreateEventW(NULL, TRUE, FALSE, L"Named"));
	assert_int_equal(GetLastError(), ERROR_NOT_SUPPORTED);
	m = CreateEventW(NULL, TRUE, FALSE, NULL);
	a = CreateEventW(NULL, FALSE, TRUE, NULL);
	assert_non_null(m);
	assert_non_null(a);
	/* Manual reset: stays set for every waiter until reset. */
	t0 = ph_ms();
	assert_int_equal(WaitForSingleObject(m, 60), WAIT_TIMEOUT);
	assert_true(ph_ms() - t0 >= 50);
	assert_true(SetEvent(m));
	assert_int_equal(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
	assert_int_equal(WaitForSingleObject(m, INFINITE), WAIT_OBJECT_0);
	assert_true(ResetEvent(m));
	assert_int_equal(WaitForSingleObject(m, 0), WAIT_TIMEOUT);
	/* Auto reset: initially set, one wait consumes it. */
	assert_int_equal(WaitForSingleObject(a, 0), WAIT_OBJECT_0);
	assert_int_equal(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
	/* One SetEvent releases exactly one of two waiters. */
	w1.ev = w2.ev = a;
	t1 = ph_thread(ev_wait, &w1);
	t2 = ph_thread(ev_wait, &w2);
	usleep(50000);
	assert_true(SetEvent(a));
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	assert_int_equal((w1.rc == WAIT_OBJECT_0) + (w2.rc == WAIT_OBJECT_0), 1);
	assert_int_equal((w1.rc == WAIT_TIMEOUT) + (w2.rc == WAIT_TIMEOUT), 1);
	assert_true(CloseHandle(m));
	assert_true(CloseHandle(a));
	assert_false(SetEvent(a));
	assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
	assert_int_equal(WaitForSingleObject(a, 0), WAIT_FAILED);
	assert_false(ResetEvent(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ph_setup, ph_teardown)
		T(test_overlapped_with_event),
		T(test_overlapped_without_event),
		T(test_overlapped_fifo),
		T(test_cancel),
		T(test_close_cancels),
		T(test_disconnect_completes_overlapped),
		T(test_sync_handle),
		T(test_port_fd),
		T(test_events),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
