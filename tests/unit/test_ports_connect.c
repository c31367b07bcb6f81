/*
 * test_ports_connect.c - connecting and disconnecting: port names,
 * FltCreateCommunicationPort's checks, ConnectNotify's context and verdict,
 * MaxConnections, security descriptors against real peer credentials
 * (forked children with other uids and groups), and every way a connection
 * ends: CloseHandle, the program dying, FltCloseClientPort, the filter
 * unloading.  DisconnectNotify must come exactly once in each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports_harness.h"
#include "fltmgr/fm.h"
#include "ports/ports.h"

#define E_NOT_FOUND HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)

static void test_connect_close(void **state)
{
	HANDLE h;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	assert_non_null(h);
	assert_ptr_not_equal(h, INVALID_HANDLE_VALUE);
	assert_int_equal(ph.connects, 1);
	assert_non_null(*ph_client(0));
	assert_int_equal(ph.slot[0].ctx_len, 0);
	assert_true(CloseHandle(h));
	assert_true(ph_wait_count(&ph.disconnects, 1));
	/* DisconnectNotify closed the client port (scanner pattern). */
	assert_null(ph.slot[0].port);
	usleep(20000);
	assert_int_equal(ph.disconnects, 1);
	FltCloseCommunicationPort(ph.server);
}

static void test_connect_context(void **state)
{
	unsigned char ctx[200];
	HANDLE h;
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ctx); i++)
		ctx[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(ph_create_port(4, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect_opts(0, ctx, sizeof(ctx), &h), S_OK);
	assert_int_equal(ph.slot[0].ctx_len, sizeof(ctx));
	assert_memory_equal(ph.slot[0].ctx, ctx, sizeof(ctx));
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_connect_bad_arguments(void **state)
{
	HANDLE h = NULL;

	(void)state;
	assert_int_equal(ph_create_port(4, NULL, true), STATUS_SUCCESS);
	assert_int_equal(FilterConnectCommunicationPort(PH_NAME, 0, NULL, 0,
							NULL, NULL),
			 E_INVALIDARG);
	assert_int_equal(ph_connect_opts(0, NULL, 4, &h), E_INVALIDARG);
	assert_ptr_equal(h, INVALID_HANDLE_VALUE);
	assert_int_equal(ph_connect_opts(0, "x", 0, &h), E_INVALIDARG);
	assert_int_equal(ph_connect_opts(0x80, NULL, 0, &h), E_INVALIDARG);
	assert_int_equal(FilterConnectCommunicationPort(NULL, 0, NULL, 0, NULL,
							&h),
			 E_INVALIDARG);
	assert_int_equal(FilterConnectCommunicationPort(L"NoBackslash", 0, NULL,
							0, NULL, &h),
			 HRESULT_FROM_WIN32(ERROR_INVALID_NAME));
	assert_int_equal(ph.connects, 0);
}

static void test_connect_not_found(void **state)
{
	HANDLE h;

	(void)state;
	/* No such port. */
	assert_int_equal(ph_connect(&h), E_NOT_FOUND);
	assert_int_equal(FilterConnectCommunicationPort(L"\\Other", 0, NULL, 0,
							NULL, &h),
			 E_NOT_FOUND);
	/* No daemon at all. */
	setenv("ALTITUDE_RUNTIME_DIR", "/nonexistent-altitude", 1);
	assert_int_equal(ph_connect(&h), E_NOT_FOUND);
	setenv("ALTITUDE_RUNTIME_DIR", ph.dir, 1);
}

static void test_create_port_checks(void **state)
{
	UNICODE_STRING bad = RTL_CONSTANT_STRING(L"NoBackslash");
	UNICODE_STRING same = RTL_CONSTANT_STRING(L"\\ALTITUDETESTPORT");
	PFLT_PORT port = (PFLT_PORT)(uintptr_t)1;
	OBJECT_ATTRIBUTES oa;

	(void)state;
	assert_int_equal(ph_create_port(0, NULL, true), STATUS_INVALID_PARAMETER);
	assert_int_equal(ph_create_port(-1, NULL, true),
			 STATUS_INVALID_PARAMETER);
	InitializeObjectAttributes(&oa, &bad, OBJ_KERNEL_HANDLE, NULL, NULL);
	assert_int_equal(FltCreateCommunicationPort((PFLT_FILTER)ph.filter,
						    &port, &oa, NULL,
						    (PFLT_CONNECT_NOTIFY)1,
						    (PFLT_DISCONNECT_NOTIFY)1,
						    NULL, 1),
			 STATUS_OBJECT_NAME_INVALID);
	assert_null(port);
	InitializeObjectAttributes(&oa, &same, OBJ_KERNEL_HANDLE, NULL, NULL);
	assert_int_equal(FltCreateCommunicationPort((PFLT_FILTER)ph.filter,
						    &port, &oa, NULL, NULL,
						    (PFLT_DISCONNECT_NOTIFY)1,
						    NULL, 1),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltCreateCommunicationPort(NULL, &port, &oa, NULL,
						    (PFLT_CONNECT_NOTIFY)1,
						    (PFLT_DISCONNECT_NOTIFY)1,
						    NULL, 1),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltCreateCommunicationPort((PFLT_FILTER)ph.filter,
						    &port, NULL, NULL,
						    (PFLT_CONNECT_NOTIFY)1,
						    (PFLT_DISCONNECT_NOTIFY)1,
						    NULL, 1),
			 STATUS_INVALID_PARAMETER);
	/* Names are global and case-insensitive. */
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(FltCreateCommunicationPort((PFLT_FILTER)ph.filter,
						    &port, &oa, NULL,
						    (PFLT_CONNECT_NOTIFY)1,
						    (PFLT_DISCONNECT_NOTIFY)1,
						    NULL, 1),
			 STATUS_OBJECT_NAME_COLLISION);
	FltCloseCommunicationPort(ph.server);
	/* Closing releases the name. */
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	FltCloseCommunicationPort(ph.server);
	/* A second close of the same pointer is harmless. */
	FltCloseCommunicationPort(ph.server);
	FltCloseCommunicationPort(NULL);
}

static void test_close_server_keeps_clients(void **state)
{
	char buf[64];
	DWORD got;
	HANDLE h, h2;

	(void)state;
	assert_int_equal(ph_create_port(4, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	FltCloseCommunicationPort(ph.server);
	/* No new connections... */
	assert_int_equal(ph_connect(&h2), E_NOT_FOUND);
	/* ...but the existing one still works both ways. */
	assert_int_equal(FilterSendMessage(h, "Ehello", 6, buf, sizeof(buf),
					   &got),
			 S_OK);
	assert_int_equal(got, 6);
	assert_int_equal(ph_send(0, "m", 1, NULL, NULL, 0, true), STATUS_SUCCESS);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_max_connections(void **state)
{
	HANDLE h[3];

	(void)state;
	assert_int_equal(ph_create_port(2, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h[0]), S_OK);
	assert_int_equal(ph_connect(&h[1]), S_OK);
	assert_int_equal(ph_connect(&h[2]),
			 HRESULT_FROM_WIN32(ERROR_CONNECTION_COUNT_LIMIT));
	assert_int_equal(ph_connect(&h[2]), (HRESULT)0x800704D6);
	assert_int_equal(ph.connects, 2);
	CloseHandle(h[0]);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	/* The slot frees once DisconnectNotify has returned. */
	for (int i = 0; i < 100; i++) {
		if (ph_connect(&h[2]) == S_OK)
			break;
		usleep(10000);
	}
	assert_int_equal(ph.connects, 3);
	CloseHandle(h[1]);
	CloseHandle(h[2]);
	assert_true(ph_wait_count(&ph.disconnects, 3));
}

static void test_connect_refused(void **state)
{
	HANDLE h;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	ph.connect_status = STATUS_ACCESS_DENIED;
	assert_int_equal(ph_connect(&h), E_ACCESSDENIED);
	ph.connect_status = STATUS_INSUFFICIENT_RESOURCES;
	assert_int_equal(ph_connect(&h), HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY));
	ph.connect_status = STATUS_FLT_DELETING_OBJECT;
	assert_int_equal(ph_connect(&h), ERROR_FLT_DELETING_OBJECT);
	/* A refused connection costs no slot and gets no DisconnectNotify. */
	ph.connect_status = STATUS_SUCCESS;
	assert_int_equal(ph_connect(&h), S_OK);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	usleep(20000);
	assert_int_equal(ph.disconnects, 1);
}

/* ---- Security: children with other credentials ------------------------------ */

/* Forks a child that takes uid/gid (and one supplementary group if sup >= 0)
 * and connects; returns the child's HRESULT, or 1 if it could not try. */
static HRESULT child_connect(uid_t uid, gid_t gid, int sup)
{
	int pfd[2];
	HRESULT hr = 1;
	pid_t pid;

	if (pipe(pfd) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		gid_t g = (gid_t)sup;
		HANDLE h;

		close(pfd[0]);
		if (setgroups(sup >= 0 ? 1 : 0, &g) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(3);
		hr = ph_connect(&h);
		if (write(pfd[1], &hr, sizeof(hr)) != sizeof(hr))
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &hr, sizeof(hr)) != sizeof(hr))
		hr = 1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return hr;
}

static void test_security_default_root_only(void **state)
{
	HANDLE h;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	assert_int_equal(child_connect(65534, 65534, -1), E_ACCESSDENIED);
	/* Refused by the port's descriptor, not by the file system. */
	assert_int_equal(ph_log_count("refused: STATUS_ACCESS_DENIED"), 1);
	assert_int_equal(child_connect(0, 65534, -1), S_OK);
	CloseHandle(h);
	assert_true(ph_wait_count(&ph.disconnects, 2));
}

static void test_security_grants(void **state)
{
	PSECURITY_DESCRIPTOR sd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(FltBuildDefaultSecurityDescriptor(&sd,
							   FLT_PORT_ALL_ACCESS),
			 STATUS_SUCCESS);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, 4001, FLT_LX_NO_ID,
							  FLT_PORT_CONNECT),
			 STATUS_SUCCESS);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, FLT_LX_NO_ID, 4242,
							  FLT_PORT_CONNECT),
			 STATUS_SUCCESS);
	/* A grant without FLT_PORT_CONNECT does not let anyone connect. */
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, 4003, FLT_LX_NO_ID,
							  READ_CONTROL),
			 STATUS_SUCCESS);
	assert_int_equal(ph_create_port(16, sd, true), STATUS_SUCCESS);
	/* The port took a copy. */
	FltFreeSecurityDescriptor(sd);

	assert_int_equal(child_connect(4001, 4001, -1), S_OK);
	assert_int_equal(child_connect(4002, 4242, -1), S_OK); /* primary */
	assert_int_equal(child_connect(4002, 4002, 4242), S_OK); /* supplementary */
	assert_int_equal(child_connect(4002, 4002, -1), E_ACCESSDENIED);
	assert_int_equal(child_connect(4003, 4003, -1), E_ACCESSDENIED);
	assert_int_equal(ph_log_count("refused: STATUS_ACCESS_DENIED"), 2);
	assert_int_equal(child_connect(0, 0, -1), S_OK);
	assert_true(ph_wait_count(&ph.disconnects, 4));
}

static void test_security_everyone(void **state)
{
	PSECURITY_DESCRIPTOR sd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(FltBuildDefaultSecurityDescriptor(&sd,
							   FLT_PORT_ALL_ACCESS),
			 STATUS_SUCCESS);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, FLT_LX_EVERYONE,
							  FLT_LX_NO_ID,
							  FLT_PORT_CONNECT),
			 STATUS_SUCCESS);
	assert_int_equal(ph_create_port(16, sd, true), STATUS_SUCCESS);
	FltFreeSecurityDescriptor(sd);
	assert_int_equal(child_connect(4711, 4711, -1), S_OK);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_security_descriptor_api(void **state)
{
	PSECURITY_DESCRIPTOR sd;
	int i;

	(void)state;
	assert_int_equal(FltBuildDefaultSecurityDescriptor(NULL, 0),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltBuildDefaultSecurityDescriptor(&sd, FLT_PORT_CONNECT),
			 STATUS_SUCCESS);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(NULL, 1, 1,
							  FLT_PORT_CONNECT),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, FLT_LX_NO_ID,
							  FLT_LX_NO_ID,
							  FLT_PORT_CONNECT),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, -7, FLT_LX_NO_ID,
							  FLT_PORT_CONNECT),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, 1, FLT_LX_EVERYONE,
							  FLT_PORT_CONNECT),
			 STATUS_INVALID_PARAMETER);
	for (i = 0; i < 16; i++)
		assert_int_equal(FltSetSecurityDescriptorLxAccess(
					 sd, 100 + i, FLT_LX_NO_ID,
					 FLT_PORT_CONNECT),
				 STATUS_SUCCESS);
	assert_int_equal(FltSetSecurityDescriptorLxAccess(sd, 999, FLT_LX_NO_ID,
							  FLT_PORT_CONNECT),
			 STATUS_INSUFFICIENT_RESOURCES);
	FltFreeSecurityDescriptor(sd);
	FltFreeSecurityDescriptor(NULL);
}

/* ---- How connections end ------------------------------------------------------------ */

static void test_client_dies(void **state)
{
	int pfd[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		HANDLE h;

		close(pfd[0]);
		c = ph_connect(&h) == S_OK ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	assert_int_equal(c, 'y');
	assert_int_equal(ph.connects, 1);
	/* A filter thread waits for a reply from it, forever. */
	kill(pid, SIGKILL);
	{
		char reply[8];
		ULONG len = sizeof(reply);

		assert_int_equal(ph_send(0, "hi", 2, reply, &len, 0, true),
				 STATUS_PORT_DISCONNECTED);
	}
	waitpid(pid, NULL, 0);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	/* The single slot is free again. */
	for (int i = 0; i < 100; i++) {
		HANDLE h;

		if (ph_connect(&h) == S_OK) {
			CloseHandle(h);
			break;
		}
		usleep(10000);
	}
	assert_int_equal(ph.connects, 2);
	assert_true(ph_wait_count(&ph.disconnects, 2));
}

struct getter {
	HANDLE h;
	HRESULT hr;
};

static void *get_one(void *arg)
{
	struct getter *g = arg;
	struct {
		FILTER_MESSAGE_HEADER hdr;
		char body[64];
	} msg;

	g->hr = FilterGetMessage(g->h, &msg.hdr, sizeof(msg), NULL);
	return NULL;
}

static void test_filter_closes_client_port(void **state)
{
	struct getter g;
	PFLT_PORT copy;
	pthread_t t;
	DWORD got;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&g.h), S_OK);
	ph.keep_client_ports = true;
	t = ph_thread(get_one, &g);
	usleep(50000);
	copy = ph.slot[0].port;
	FltCloseClientPort((PFLT_FILTER)ph.filter, &ph.slot[0].port);
	assert_null(ph.slot[0].port);
	pthread_join(t, NULL);
	/* The program sees the port gone, as when the filter unloads. */
	assert_int_equal(g.hr, HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	assert_true(ph_wait_count(&ph.disconnects, 1));
	assert_int_equal(FilterSendMessage(g.h, "E", 1, NULL, 0, &got),
			 HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	/* Sending through a stale copy is refused, closing it is a no-op. */
	assert_int_equal(FltSendMessage((PFLT_FILTER)ph.filter, &copy, "x", 1,
					NULL, NULL, NULL),
			 STATUS_PORT_DISCONNECTED);
	FltCloseClientPort((PFLT_FILTER)ph.filter, &copy);
	FltCloseClientPort((PFLT_FILTER)ph.filter, &copy);
	FltCloseClientPort((PFLT_FILTER)ph.filter, NULL);
	assert_true(CloseHandle(g.h));
	usleep(20000);
	assert_int_equal(ph.disconnects, 1);
}

static void test_close_from_message_notify(void **state)
{
	HANDLE h;
	DWORD got;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	FilterSendMessage(h, "X", 1, NULL, 0, &got);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	assert_int_equal(FilterSendMessage(h, "E", 1, NULL, 0, &got),
			 HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	CloseHandle(h);
}

struct sender {
	HANDLE h;
	HRESULT hr;
};

static void *send_sleep(void *arg)
{
	struct sender *s = arg;
	unsigned char in[8] = { PH_SLEEP };
	ULONG ms = 300;
	char out[16];
	DWORD got;

	memcpy(in + 4, &ms, sizeof(ms));
	s->hr = FilterSendMessage(s->h, in, sizeof(in), out, sizeof(out), &got);
	return NULL;
}

static void *filter_waits_forever(void *arg)
{
	NTSTATUS *st = arg;
	char reply[8];
	ULONG len = sizeof(reply);

	*st = ph_send(0, "w", 1, reply, &len, 0, true);
	return NULL;
}

static void test_unload_wakes_everyone(void **state)
{
	struct getter g;
	struct sender s;
	NTSTATUS fst = STATUS_PENDING;
	pthread_t t1, t2, t3;
	HANDLE h2;

	(void)state;
	assert_int_equal(ph_create_port(4, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&g.h), S_OK);
	assert_int_equal(ph_connect(&h2), S_OK);
	/* The filter forgets to close its client ports and its port. */
	ph.keep_client_ports = true;
	s.h = g.h;
	t1 = ph_thread(send_sleep, &s);
	t3 = ph_thread(filter_waits_forever, &fst);
	usleep(100000);
	/* The client took the message meant for it; now it waits again. */
	{
		struct {
			FILTER_MESSAGE_HEADER hdr;
			char b[8];
		} m;
		assert_int_equal(FilterGetMessage(g.h, &m.hdr, sizeof(m), NULL),
				 S_OK);
	}
	t2 = ph_thread(get_one, &g);
	usleep(50000);
	ports_filter_unloading(ph.filter);
	/* Every DisconnectNotify ran before it returned. */
	assert_int_equal(ph.disconnects, 2);
	pthread_join(t2, NULL);
	assert_int_equal(g.hr, HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));
	pthread_join(t3, NULL);
	assert_int_equal(fst, STATUS_PORT_DISCONNECTED);
	pthread_join(t1, NULL);
	/* The port is gone with its filter. */
	{
		HANDLE h3;

		assert_int_equal(ph_connect(&h3), E_NOT_FOUND);
	}
	CloseHandle(g.h);
	CloseHandle(h2);
}

static void test_handle_misuse(void **state)
{
	struct {
		FILTER_MESSAGE_HEADER hdr;
		char b[8];
	} m;
	FILTER_REPLY_HEADER r = { 0 };
	HANDLE h, ev;
	DWORD got;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	assert_true(CloseHandle(h));
	assert_false(CloseHandle(h));
	assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), E_HANDLE);
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), E_HANDLE);
	assert_int_equal(FilterSendMessage(h, "E", 1, NULL, 0, &got), E_HANDLE);
	assert_int_equal(FilterGetPortFd(h), -1);
	assert_int_equal(FilterGetMessage((HANDLE)(uintptr_t)0x1234, &m.hdr,
					  sizeof(m), NULL),
			 E_HANDLE);
	assert_int_equal(FilterGetMessage(NULL, &m.hdr, sizeof(m), NULL),
			 E_HANDLE);
	ev = CreateEventW(NULL, TRUE, FALSE, NULL);
	assert_non_null(ev);
	assert_int_equal(FilterGetPortFd(ev), -1);
	assert_int_equal(FilterGetMessage(ev, &m.hdr, sizeof(m), NULL),
			 E_HANDLE);
	CloseHandle(ev);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ph_setup, ph_teardown)
		T(test_connect_close),
		T(test_connect_context),
		T(test_connect_bad_arguments),
		T(test_connect_not_found),
		T(test_create_port_checks),
		T(test_close_server_keeps_clients),
		T(test_max_connections),
		T(test_connect_refused),
		T(test_security_default_root_only),
		T(test_security_grants),
		T(test_security_everyone),
		T(test_security_descriptor_api),
		T(test_client_dies),
		T(test_filter_closes_client_port),
		T(test_close_from_message_notify),
		T(test_unload_wakes_everyone),
		T(test_handle_misuse),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
