/*
 * ports_harness.c - see ports_harness.h.
 */
#include "ports_harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fltmgr/fm.h"
#include "ports/ports.h"
#include "rtl/rtl.h"

struct ph ph;

/* ---- The daemon's log, kept for checks --------------------------------------- */

#define PH_LOG_LINES 512
static pthread_mutex_t ph_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char ph_log[PH_LOG_LINES][256];
static unsigned ph_log_n;

static void ph_log_sink(int priority, const char *message)
{
	pthread_mutex_lock(&ph_log_lock);
	snprintf(ph_log[ph_log_n++ % PH_LOG_LINES], sizeof(ph_log[0]), "%s",
		 message);
	pthread_mutex_unlock(&ph_log_lock);
	if (getenv("PH_VERBOSE"))
		fprintf(stderr, "%d: %s\n", priority, message);
}

int ph_log_count(const char *needle)
{
	unsigned i, first;
	int n = 0;

	pthread_mutex_lock(&ph_log_lock);
	first = ph_log_n > PH_LOG_LINES ? ph_log_n - PH_LOG_LINES : 0;
	for (i = first; i < ph_log_n; i++)
		if (strstr(ph_log[i % PH_LOG_LINES], needle))
			n++;
	pthread_mutex_unlock(&ph_log_lock);
	return n;
}

long long ph_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ph_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

/* ---- The filter's callbacks ------------------------------------------------ */

static NTSTATUS FLTAPI ph_on_connect(PFLT_PORT ClientPort, PVOID ServerPortCookie,
				     PVOID ConnectionContext, ULONG SizeOfContext,
				     PVOID *ConnectionPortCookie)
{
	NTSTATUS st;
	int i;

	if (ph.connect_delay_ms)
		usleep((useconds_t)ph.connect_delay_ms * 1000);
	pthread_mutex_lock(&ph.lock);
	st = ph.connect_status;
	if (ServerPortCookie != &ph)
		st = STATUS_UNSUCCESSFUL;
	for (i = 0; i < PH_MAX_CLIENTS && ph.slot[i].used; i++)
		;
	if (i == PH_MAX_CLIENTS)
		st = STATUS_INSUFFICIENT_RESOURCES;
	if (NT_SUCCESS(st)) {
		struct ph_slot *s = &ph.slot[i];

		s->used = true;
		s->port = ClientPort;
		s->ctx_len = SizeOfContext;
		if (SizeOfContext && SizeOfContext <= sizeof(s->ctx))
			memcpy(s->ctx, ConnectionContext, SizeOfContext);
		*ConnectionPortCookie = s;
		ph.connects++;
	}
	pthread_cond_broadcast(&ph.cond);
	pthread_mutex_unlock(&ph.lock);
	return st;
}

static VOID FLTAPI ph_on_disconnect(PVOID ConnectionCookie)
{
	struct ph_slot *s = ConnectionCookie;

	/* The scanner sample's pattern. */
	if (!ph.keep_client_ports)
		FltCloseClientPort((PFLT_FILTER)ph.filter, &s->port);
	pthread_mutex_lock(&ph.lock);
	s->disconnected = true;
	ph.disconnects++;
	pthread_cond_broadcast(&ph.cond);
	pthread_mutex_unlock(&ph.lock);
}

static ULONG ph_arg(const unsigned char *in, ULONG len)
{
	ULONG v = 0;

	if (len >= 8)
		memcpy(&v, in + 4, sizeof(v));
	return v;
}

static NTSTATUS FLTAPI ph_on_message(PVOID PortCookie, PVOID InputBuffer,
				     ULONG InputBufferLength, PVOID OutputBuffer,
				     ULONG OutputBufferLength,
				     PULONG ReturnOutputBufferLength)
{
	struct ph_slot *s = PortCookie;
	const unsigned char *in = InputBuffer;
	ULONG n;

	pthread_mutex_lock(&ph.lock);
	ph.messages++;
	pthread_cond_broadcast(&ph.cond);
	pthread_mutex_unlock(&ph.lock);
	*ReturnOutputBufferLength = 0;
	if (!InputBufferLength)
		return STATUS_SUCCESS;
	switch (in[0]) {
	case PH_SLEEP:
		usleep(ph_arg(in, InputBufferLength) * 1000);
		/* fall through */
	case PH_ECHO:
		n = InputBufferLength < OutputBufferLength ? InputBufferLength
							   : OutputBufferLength;
		if (n)
			memcpy(OutputBuffer, in, n);
		*ReturnOutputBufferLength = n;
		return InputBufferLength > OutputBufferLength
			       ? STATUS_BUFFER_OVERFLOW
			       : STATUS_SUCCESS;
	case PH_STATUS:
		if (OutputBufferLength >= 3) {
			memcpy(OutputBuffer, "xyz", 3);
			*ReturnOutputBufferLength = 3;
		}
		return (NTSTATUS)ph_arg(in, InputBufferLength);
	case PH_CLAIM:
		*ReturnOutputBufferLength = OutputBufferLength + 100;
		return STATUS_SUCCESS;
	case PH_ASK: {
		char reply[64];
		ULONG rlen = sizeof(reply);
		LARGE_INTEGER t = { .QuadPart = -50000000LL };
		NTSTATUS st = FltSendMessage((PFLT_FILTER)ph.filter, &s->port,
					     "nested", 6, reply, &rlen, &t);

		if (!NT_SUCCESS(st) || st == STATUS_TIMEOUT)
			return st;
		n = rlen < OutputBufferLength ? rlen : OutputBufferLength;
		memcpy(OutputBuffer, reply, n);
		*ReturnOutputBufferLength = n;
		return STATUS_SUCCESS;
	}
	case PH_CLOSE:
		FltCloseClientPort((PFLT_FILTER)ph.filter, &s->port);
		return STATUS_SUCCESS;
	}
	return STATUS_INVALID_PARAMETER;
}

/* ---- Setup ------------------------------------------------------------------------ */

int ph_setup(void **state)
{
	(void)state;
	memset(&ph, 0, sizeof(ph));
	pthread_mutex_init(&ph.lock, NULL);
	pthread_cond_init(&ph.cond, NULL);
	ph.fds_before = ph_count_fds();
	snprintf(ph.dir, sizeof(ph.dir), "/tmp/altitude-ports.XXXXXX");
	if (!mkdtemp(ph.dir) || chmod(ph.dir, 0755) < 0)
		return -1;
	pthread_mutex_lock(&ph_log_lock);
	ph_log_n = 0;
	pthread_mutex_unlock(&ph_log_lock);
	rtl_set_log_sink(ph_log_sink);
	setenv("ALTITUDE_RUNTIME_DIR", ph.dir, 1);
	if (ports_start(ph.dir) < 0)
		return -1;
	ph.filter = fm_filter_alloc("porttest", "370000");
	return ph.filter ? 0 : -1;
}

int ph_teardown(void **state)
{
	char path[128];
	int fds;

	(void)state;
	/* What the loader does after FilterUnloadCallback. */
	ports_filter_unloading(ph.filter);
	ports_stop();
	rtl_set_log_sink(NULL);
	fm_filter_free(ph.filter);
	snprintf(path, sizeof(path), "%s/ports", ph.dir);
	unlink(path);
	rmdir(ph.dir);
	/* Connection threads are detached: give the last one a moment to
	 * return after it signalled. */
	for (int i = 0; i < 100 && (fds = ph_count_fds()) > ph.fds_before; i++)
		usleep(10000);
	if (fds != ph.fds_before) {
		fprintf(stderr, "descriptor leak: %d before, %d after\n",
			ph.fds_before, fds);
		if (system("ls -l /proc/$PPID/fd >&2") < 0)
			fds = -1;
		return -1;
	}
	return 0;
}

NTSTATUS ph_create_port(LONG max_connections, PSECURITY_DESCRIPTOR sd,
			bool with_message_notify)
{
	UNICODE_STRING name = RTL_CONSTANT_STRING(PH_NAME);
	OBJECT_ATTRIBUTES oa;

	InitializeObjectAttributes(&oa, &name,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE,
				   NULL, sd);
	return FltCreateCommunicationPort((PFLT_FILTER)ph.filter, &ph.server,
					  &oa, &ph, ph_on_connect,
					  ph_on_disconnect,
					  with_message_notify ? ph_on_message
							      : NULL,
					  max_connections);
}

HRESULT ph_connect_opts(DWORD options, const void *ctx, WORD ctx_len,
			HANDLE *h)
{
	return FilterConnectCommunicationPort(PH_NAME, options, ctx, ctx_len,
					      NULL, h);
}

HRESULT ph_connect(HANDLE *h)
{
	return ph_connect_opts(0, NULL, 0, h);
}

bool ph_wait_count(const int *counter, int n)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&ph.lock);
	while (*counter < n &&
	       pthread_cond_timedwait(&ph.cond, &ph.lock, &ts) != ETIMEDOUT)
		;
	ok = *counter >= n;
	pthread_mutex_unlock(&ph.lock);
	return ok;
}

PFLT_PORT *ph_client(int n)
{
	return n < PH_MAX_CLIENTS && ph.slot[n].used ? &ph.slot[n].port : NULL;
}

NTSTATUS ph_send(int n, const void *msg, ULONG len, void *reply,
		 ULONG *reply_len, LONGLONG timeout_100ns, bool forever)
{
	LARGE_INTEGER t = { .QuadPart = timeout_100ns };
	PFLT_PORT *cp = ph_client(n);
	PFLT_PORT none = NULL;

	return FltSendMessage((PFLT_FILTER)ph.filter, cp ? cp : &none,
			      (PVOID)msg, len, reply, reply_len,
			      forever ? NULL : &t);
}

pthread_t ph_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg))
		abort();
	return t;
}
