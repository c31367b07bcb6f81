/*
 * ports_harness.h - what the test_ports_*.c programs share: the daemon side
 * of ports running in the test process (ports_start on a private runtime
 * directory, a filter object made as the loader makes one) and libfltlib
 * connecting to it through ALTITUDE_RUNTIME_DIR, so every test crosses the
 * real sockets.  The filter's callbacks record what they saw and behave as
 * the test sets them up to.
 */
#ifndef ALTITUDE_TESTS_PORTS_HARNESS_H
#define ALTITUDE_TESTS_PORTS_HARNESS_H

#include <fltKernel.h>
#include <fltUser.h>
#include <pthread.h>
#include <stdbool.h>

#define PH_NAME L"\\AltitudeTestPort"
#define PH_MAX_CLIENTS 32

#ifndef ERROR_CONNECTION_COUNT_LIMIT
#define ERROR_CONNECTION_COUNT_LIMIT 1238L
#endif

/* Commands MessageNotify understands: the first byte of the input. */
enum ph_cmd {
	PH_ECHO = 'E', /* output = input (what fits; overflow warns) */
	PH_STATUS = 'S', /* return the NTSTATUS in bytes 4..7, output "xyz" */
	PH_CLAIM = 'C', /* claim 100 bytes more than the buffer holds */
	PH_ASK = 'A', /* FltSendMessage to this client, reply becomes output */
	PH_SLEEP = 'Z', /* sleep bytes 4..7 ms, then echo */
	PH_CLOSE = 'X', /* FltCloseClientPort on this client */
};

struct ph_slot {
	PFLT_PORT port; /* the client port; NULL once closed */
	bool used;
	bool disconnected;
	unsigned char ctx[256];
	ULONG ctx_len;
};

struct ph {
	char dir[64];
	struct fm_filter *filter;
	PFLT_PORT server;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	NTSTATUS connect_status; /* what ConnectNotify returns */
	int connect_delay_ms; /* ConnectNotify sleeps this long first */
	bool keep_client_ports; /* DisconnectNotify does not close them */
	int connects;
	int disconnects;
	int messages;
	struct ph_slot slot[PH_MAX_CLIENTS];
	int fds_before;
};

extern struct ph ph;

/* cmocka setup/teardown: a fresh runtime directory, server and filter. */
int ph_setup(void **state);
int ph_teardown(void **state);

/* Creates the test port (max connections, descriptor may be NULL). */
NTSTATUS ph_create_port(LONG max_connections, PSECURITY_DESCRIPTOR sd,
			bool with_message_notify);
/* Connects to PH_NAME; S_OK or the HRESULT. */
HRESULT ph_connect(HANDLE *h);
HRESULT ph_connect_opts(DWORD options, const void *ctx, WORD ctx_len,
			HANDLE *h);

/* Waits (up to 10 s) until *counter >= n under ph.lock. */
bool ph_wait_count(const int *counter, int n);
/* The client port of the n-th connection (0-based), or NULL. */
PFLT_PORT *ph_client(int n);

/* FltSendMessage to connection n with an optional reply buffer. */
NTSTATUS ph_send(int n, const void *msg, ULONG len, void *reply,
		 ULONG *reply_len, LONGLONG timeout_100ns, bool forever);

/* Runs fn(arg) on a new thread. */
pthread_t ph_thread(void *(*fn)(void *), void *arg);

/* Number of open descriptors of this process. */
int ph_count_fds(void);

/* Lines of the daemon's log (since setup) containing needle. */
int ph_log_count(const char *needle);

/* Milliseconds of CLOCK_MONOTONIC. */
long long ph_ms(void);

#endif /* ALTITUDE_TESTS_PORTS_HARNESS_H */
