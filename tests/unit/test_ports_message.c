/*
 * test_ports_message.c - messages both ways.
 *
 * Filter -> program: FltSendMessage with and without a reply buffer,
 * FILTER_MESSAGE_HEADER as FilterGetMessage fills it, the reply-size rule
 * of seed 002 (the scanner's padded reply, the documentation's exact one,
 * shorter and longer replies), the reply header's Status, timeouts
 * (relative, absolute, zero, none; a timed-out message never delivered
 * afterwards, even when read at once; a deadline kept across a slow
 * ConnectNotify), replies after the filter stopped
 * waiting, second and unexpected replies, programs that never read or that
 * go away mid-message, and many threads on both sides at once (eight
 * FilterGetMessage threads on one handle while FilterSendMessage runs on
 * it too).
 *
 * Program -> filter: FilterSendMessage and MessageNotify: input, output,
 * ReturnOutputBufferLength, output bigger than the program's buffer,
 * errors, a filter claiming more than the buffer holds, a port without
 * MessageNotify, MessageNotify sending to the program in turn.
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
#include <unistd.h>
#include <cmocka.h>

#include "ports_harness.h"
#include "fltmgr/fm.h"
#include "ports/proto.h"

#define MS(n) (-(LONGLONG)(n) * 10000LL)

struct msgbuf {
	FILTER_MESSAGE_HEADER hdr;
	char body[256];
};

static HANDLE open_one(LONG max)
{
	HANDLE h;

	assert_int_equal(ph_create_port(max, NULL, true), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	return h;
}

static void close_one(HANDLE h, int disconnects)
{
	assert_true(CloseHandle(h));
	assert_true(ph_wait_count(&ph.disconnects, disconnects));
}

/* ---- A filter thread sending one message ------------------------------------ */

struct fsend {
	int client;
	char msg[64];
	ULONG len;
	char reply[64];
	ULONG reply_len; /* in: buffer size; out: bytes */
	bool want_reply;
	LONGLONG timeout;
	bool forever;
	NTSTATUS st;
	long long ms; /* how long it took */
};

static void *fsend_main(void *arg)
{
	struct fsend *f = arg;
	long long t0 = ph_ms();

	f->st = ph_send(f->client, f->msg, f->len,
			f->want_reply ? f->reply : NULL,
			f->want_reply ? &f->reply_len : NULL, f->timeout,
			f->forever);
	f->ms = ph_ms() - t0;
	return NULL;
}

static pthread_t fsend_start(struct fsend *f, const char *msg, ULONG reply_len,
			     LONGLONG timeout, bool forever)
{
	memset(f, 0, sizeof(*f));
	f->len = (ULONG)strlen(msg);
	memcpy(f->msg, msg, f->len);
	f->want_reply = reply_len != (ULONG)-1;
	f->reply_len = f->want_reply ? reply_len : 0;
	f->timeout = timeout;
	f->forever = forever;
	return ph_thread(fsend_main, f);
}

/* ---- Filter -> program -------------------------------------------------------------- */

static void test_send_without_reply(void **state)
{
	struct msgbuf m;
	uint64_t first;
	HANDLE h;

	(void)state;
	h = open_one(1);
	assert_int_equal(ph_send(0, "hello", 5, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(ph_send(0, "world!", 6, NULL, NULL, MS(100), false),
			 STATUS_SUCCESS);
	/* Timeout 0 with room in the queue: queued at once. */
	assert_int_equal(ph_send(0, "", 0, NULL, NULL, 0, false), STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_int_equal(m.hdr.ReplyLength, 0);
	assert_memory_equal(m.body, "hello", 5);
	first = m.hdr.MessageId;
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_memory_equal(m.body, "world!", 6);
	assert_true(m.hdr.MessageId > first);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	close_one(h, 1);
}

static void test_send_with_reply(void **state)
{
	struct {
		FILTER_REPLY_HEADER h;
		char data[16];
	} r;
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	t = fsend_start(&f, "question", 16, 0, true);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	/* ReplyLength includes the FILTER_REPLY_HEADER, as documented. */
	assert_int_equal(m.hdr.ReplyLength, sizeof(FILTER_REPLY_HEADER) + 16);
	assert_memory_equal(m.body, "question", 8);
	memset(&r, 0, sizeof(r));
	r.h.MessageId = m.hdr.MessageId;
	memcpy(r.data, "answer", 6);
	assert_int_equal(FilterReplyMessage(h, &r.h, sizeof(r.h) + 6), S_OK);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_SUCCESS);
	assert_int_equal(f.reply_len, 6);
	assert_memory_equal(f.reply, "answer", 6);
	close_one(h, 1);
}

static void test_reply_status_is_returned(void **state)
{
	FILTER_REPLY_HEADER r = { 0 };
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	t = fsend_start(&f, "q", 8, 0, true);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	r.MessageId = m.hdr.MessageId;
	r.Status = STATUS_ACCESS_DENIED;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), S_OK);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_ACCESS_DENIED);
	assert_int_equal(f.reply_len, 0);
	close_one(h, 1);
}

/* One exchange: the filter expects expect bytes, the program sends size. */
static NTSTATUS exchange(HANDLE h, ULONG expect, DWORD size, ULONG *got,
			 unsigned char *data, HRESULT *hr)
{
	unsigned char reply[128];
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	unsigned i;

	t = fsend_start(&f, "scan", expect, 0, true);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_int_equal(m.hdr.ReplyLength, sizeof(FILTER_REPLY_HEADER) + expect);
	memset(reply, 0, sizeof(reply));
	((PFILTER_REPLY_HEADER)reply)->MessageId = m.hdr.MessageId;
	for (i = sizeof(FILTER_REPLY_HEADER); i < sizeof(reply); i++)
		reply[i] = (unsigned char)i;
	*hr = FilterReplyMessage(h, (PFILTER_REPLY_HEADER)reply, size);
	pthread_join(t, NULL);
	*got = f.reply_len;
	memcpy(data, f.reply, sizeof(f.reply));
	return f.st;
}

static void test_reply_sizes(void **state)
{
	typedef struct {
		BOOLEAN SafeToOpen;
	} SCANNER_REPLY;
	typedef struct {
		FILTER_REPLY_HEADER ReplyHeader;
		SCANNER_REPLY Reply;
	} SCANNER_REPLY_MESSAGE;
	unsigned char data[64];
	ULONG got;
	HRESULT hr;
	HANDLE h;

	(void)state;
	h = open_one(1);
	/* The scanner: ReplyLength sizeof(SCANNER_REPLY), the program replies
	 * with sizeof(SCANNER_REPLY_MESSAGE), 7 bytes of padding included. */
	assert_int_equal(exchange(h, sizeof(SCANNER_REPLY),
				  sizeof(SCANNER_REPLY_MESSAGE), &got, data, &hr),
			 STATUS_SUCCESS);
	assert_int_equal(hr, S_OK);
	assert_int_equal(got, 1);
	assert_int_equal(data[0], 16);
	/* The documentation's advice: header + sizeof(data) on both sides. */
	assert_int_equal(exchange(h, 16 + 6, 16 + 6, &got, data, &hr),
			 STATUS_SUCCESS);
	assert_int_equal(got, 6);
	assert_int_equal(data[5], 21);
	/* Exactly the size expected. */
	assert_int_equal(exchange(h, 12, 16 + 12, &got, data, &hr),
			 STATUS_SUCCESS);
	assert_int_equal(got, 12);
	/* Shorter: just the header. */
	assert_int_equal(exchange(h, 12, 16, &got, data, &hr), STATUS_SUCCESS);
	assert_int_equal(got, 0);
	/* A reply of nothing expected, header only. */
	assert_int_equal(exchange(h, 0, 16, &got, data, &hr), STATUS_SUCCESS);
	assert_int_equal(got, 0);
	/* Padding up to a multiple of 8 is dropped silently. */
	assert_int_equal(exchange(h, 12, 16 + 16, &got, data, &hr),
			 STATUS_SUCCESS);
	assert_int_equal(got, 12);
	/* More than that overflows: the filter gets what it asked for and
	 * STATUS_BUFFER_OVERFLOW; the reply was delivered, so S_OK. */
	assert_int_equal(exchange(h, 12, 16 + 17, &got, data, &hr),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(hr, S_OK);
	assert_int_equal(got, 12);
	assert_int_equal(data[11], 27);
	assert_int_equal(exchange(h, 4, 16 + 100, &got, data, &hr),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(got, 4);
	/* Shorter than a reply header is no reply at all. */
	{
		FILTER_REPLY_HEADER r = { 0 };

		assert_int_equal(FilterReplyMessage(h, &r, sizeof(r) - 1),
				 E_INVALIDARG);
		assert_int_equal(FilterReplyMessage(h, NULL, sizeof(r)),
				 E_INVALIDARG);
	}
	close_one(h, 1);
}

static void test_small_message_buffer(void **state)
{
	FILTER_REPLY_HEADER r = { 0 };
	struct {
		FILTER_MESSAGE_HEADER hdr;
		char body[4];
	} small;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	assert_int_equal(FilterGetMessage(h, &small.hdr, sizeof(small.hdr) - 1,
					  NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterGetMessage(h, NULL, 100, NULL), E_INVALIDARG);
	t = fsend_start(&f, "0123456789", 4, 0, true);
	/* The message is longer than the buffer: what fits, ERROR_MORE_DATA,
	 * and it can still be answered. */
	assert_int_equal(FilterGetMessage(h, &small.hdr, sizeof(small), NULL),
			 HRESULT_FROM_WIN32(ERROR_MORE_DATA));
	assert_memory_equal(small.body, "0123", 4);
	assert_int_equal(small.hdr.ReplyLength, sizeof(r) + 4);
	r.MessageId = small.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), S_OK);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_SUCCESS);
	close_one(h, 1);
}

static void test_timeouts(void **state)
{
	char reply[8];
	ULONG len = sizeof(reply);
	long long t0;
	struct msgbuf m;
	HANDLE h;

	(void)state;
	h = open_one(1);
	/* Nobody answers: relative timeout. */
	t0 = ph_ms();
	assert_int_equal(ph_send(0, "a", 1, reply, &len, MS(150), false),
			 STATUS_TIMEOUT);
	assert_true(ph_ms() - t0 >= 140);
	assert_true(ph_ms() - t0 < 2000);
	/* Absolute system time. */
	{
		LARGE_INTEGER now, t;

		KeQuerySystemTimePrecise(&now);
		t.QuadPart = now.QuadPart + 100 * 10000LL;
		t0 = ph_ms();
		assert_int_equal(FltSendMessage((PFLT_FILTER)ph.filter,
						ph_client(0), "b", 1, reply,
						&len, &t),
				 STATUS_TIMEOUT);
		assert_true(ph_ms() - t0 >= 90);
		/* In the past: no wait at all. */
		t.QuadPart = now.QuadPart - 1;
		assert_int_equal(FltSendMessage((PFLT_FILTER)ph.filter,
						ph_client(0), "c", 1, reply,
						&len, &t),
				 STATUS_TIMEOUT);
	}
	/* Zero with a reply buffer: cannot wait, not sent. */
	t0 = ph_ms();
	assert_int_equal(ph_send(0, "d", 1, reply, &len, 0, false),
			 STATUS_TIMEOUT);
	assert_true(ph_ms() - t0 < 100);
	/* The timed-out messages are not delivered afterwards: the next
	 * message the program gets is the one sent now. */
	assert_int_equal(ph_send(0, "fresh", 5, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_memory_equal(m.body, "fresh", 5);
	close_one(h, 1);
}

/*
 * A message whose sender has timed out is never delivered afterwards as
 * one to answer, however soon after the timeout the program reads: the
 * program's view of the deadline is never later than the sender's
 * (fltlib measures the clocks' offset from before it sent CONNECT).
 */
static void test_timed_out_right_before_read(void **state)
{
	char reply[8];
	ULONG len;
	struct msgbuf m;
	HANDLE h;

	(void)state;
	h = open_one(1);
	for (int i = 0; i < 500; i++) {
		len = sizeof(reply);
		assert_int_equal(ph_send(0, "x", 1, reply, &len, MS(1), false),
				 STATUS_TIMEOUT);
		assert_int_equal(ph_send(0, "fresh", 5, NULL, NULL, 0, true),
				 STATUS_SUCCESS);
		assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
		assert_int_equal(m.hdr.ReplyLength, 0);
		assert_memory_equal(m.body, "fresh", 5);
	}
	close_one(h, 1);
}

/*
 * ...nor taken for expired before its deadline when ConnectNotify took
 * long: the daemon's clock in CONNECT_DONE is read when CONNECT arrived.
 */
static void test_deadline_after_slow_connect(void **state)
{
	struct {
		FILTER_REPLY_HEADER h;
		char data[16];
	} r = { 0 };
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	ph.connect_delay_ms = 400;
	h = open_one(1);
	ph.connect_delay_ms = 0;
	/* 700 ms to answer, read 400 ms in: a clock read after the 400 ms
	 * of ConnectNotify would put the deadline 300 ms in. */
	t = fsend_start(&f, "in time", 16, MS(700), false);
	usleep(400000);
	/* Behind it, so that a message dropped as expired shows. */
	assert_int_equal(ph_send(0, "marker", 6, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_memory_equal(m.body, "in time", 7);
	r.h.MessageId = m.hdr.MessageId;
	memcpy(r.data, "ok", 2);
	assert_int_equal(FilterReplyMessage(h, &r.h, sizeof(r)), S_OK);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_memory_equal(m.body, "marker", 6);
	close_one(h, 1);
}

static void test_late_and_unexpected_replies(void **state)
{
	FILTER_REPLY_HEADER r = { 0 };
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	/* The filter stops waiting after 200 ms; the program answers later. */
	t = fsend_start(&f, "late", 8, MS(200), false);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	usleep(400000);
	r.MessageId = m.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)),
			 ERROR_FLT_NO_WAITER_FOR_REPLY);
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), (HRESULT)0x801F0020);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_TIMEOUT);

	/* Answered twice: the second finds nobody. */
	t = fsend_start(&f, "twice", 8, 0, true);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	r.MessageId = m.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)), S_OK);
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)),
			 ERROR_FLT_NO_WAITER_FOR_REPLY);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_SUCCESS);

	/* A message that expects no reply, and a made-up id. */
	assert_int_equal(ph_send(0, "n", 1, NULL, NULL, 0, true), STATUS_SUCCESS);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_int_equal(m.hdr.ReplyLength, 0);
	r.MessageId = m.hdr.MessageId;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)),
			 ERROR_FLT_NO_WAITER_FOR_REPLY);
	r.MessageId = 0xdeadbeef;
	assert_int_equal(FilterReplyMessage(h, &r, sizeof(r)),
			 ERROR_FLT_NO_WAITER_FOR_REPLY);
	close_one(h, 1);
}

/* Near the deadline the reply is acknowledged by the daemon. */
static void test_reply_near_deadline(void **state)
{
	struct {
		FILTER_REPLY_HEADER h;
		char d[4];
	} r = { 0 };
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;
	int i;

	(void)state;
	h = open_one(1);
	for (i = 0; i < 20; i++) {
		t = fsend_start(&f, "soon", 4, MS(600), false);
		assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL),
				 S_OK);
		r.h.MessageId = m.hdr.MessageId;
		memcpy(r.d, "ok!!", 4);
		assert_int_equal(FilterReplyMessage(h, &r.h, sizeof(r)), S_OK);
		pthread_join(t, NULL);
		assert_int_equal(f.st, STATUS_SUCCESS);
		assert_memory_equal(f.reply, "ok!!", 4);
	}
	close_one(h, 1);
}

static void test_send_parameters(void **state)
{
	static char big[PT_MAX_DATA + 1];
	char reply[8];
	ULONG len = sizeof(reply), huge = PT_MAX_DATA + 1;
	PFLT_PORT none = NULL;
	HANDLE h;

	(void)state;
	h = open_one(1);
	assert_int_equal(ph_send(0, big, sizeof(big), NULL, NULL, 0, true),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ph_send(0, big, sizeof(big) - 1, NULL, NULL, 0, true),
			 STATUS_SUCCESS);
	assert_int_equal(ph_send(0, NULL, 1, NULL, NULL, 0, true),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ph_send(0, "x", 1, reply, NULL, 0, true),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ph_send(0, "x", 1, reply, &huge, 0, true),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSendMessage((PFLT_FILTER)ph.filter, NULL, "x", 1,
					NULL, NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSendMessage(NULL, ph_client(0), "x", 1, NULL, NULL,
					NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltSendMessage((PFLT_FILTER)ph.filter, &none, "x", 1,
					reply, &len, NULL),
			 STATUS_PORT_DISCONNECTED);
	/* The 64 KiB message arrives whole. */
	{
		struct {
			FILTER_MESSAGE_HEADER hdr;
			char body[PT_MAX_DATA];
		} *m = malloc(sizeof(*m));

		assert_int_equal(FilterGetMessage(h, &m->hdr, sizeof(*m), NULL),
				 S_OK);
		free(m);
	}
	close_one(h, 1);
}

static void test_program_goes_away(void **state)
{
	struct msgbuf m;
	struct fsend f;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	/* Mid-message: the program has the message and closes its handle. */
	t = fsend_start(&f, "bye", 8, 0, true);
	assert_int_equal(FilterGetMessage(h, &m.hdr, sizeof(m), NULL), S_OK);
	assert_true(CloseHandle(h));
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_PORT_DISCONNECTED);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	/* Afterwards the client port refuses. */
	assert_int_equal(ph_send(0, "x", 1, NULL, NULL, 0, true),
			 STATUS_PORT_DISCONNECTED);
}

static void test_program_never_reads(void **state)
{
	struct fsend f;
	pthread_t t;
	long long t0;
	NTSTATUS st = STATUS_SUCCESS;
	HANDLE h;
	int i;

	(void)state;
	h = open_one(1);
	/* Fill its queue: sending stops with STATUS_TIMEOUT, it never hangs. */
	t0 = ph_ms();
	for (i = 0; i < 100000 && st == STATUS_SUCCESS; i++) {
		static char blob[4000];

		st = ph_send(0, blob, sizeof(blob), NULL, NULL, MS(50), false);
	}
	assert_int_equal(st, STATUS_TIMEOUT);
	assert_true(i > 10);
	assert_true(ph_ms() - t0 < 10000);
	/* With the queue full, zero means "do not wait". */
	assert_int_equal(ph_send(0, "x", 1, NULL, NULL, 0, false), STATUS_TIMEOUT);
	/* A filter thread willing to wait forever is released when the
	 * program goes. */
	t = fsend_start(&f, "stuck", (ULONG)-1, 0, true);
	usleep(100000);
	CloseHandle(h);
	pthread_join(t, NULL);
	assert_int_equal(f.st, STATUS_PORT_DISCONNECTED);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

/* ---- Many threads ------------------------------------------------------------------ */

#define WAITERS 8
#define SENDERS 8
#define PER_SENDER 150

struct crowd {
	HANDLE h;
	volatile int stop;
	int received; /* under ph.lock */
	uint64_t ids[SENDERS * PER_SENDER];
	int echo_ok, echo_bad;
};

static void *crowd_getter(void *arg)
{
	struct crowd *c = arg;

	for (;;) {
		struct {
			FILTER_REPLY_HEADER h;
			char d[32];
		} r;
		struct msgbuf m;
		HRESULT hr = FilterGetMessage(c->h, &m.hdr, sizeof(m), NULL);
		int k;

		if (hr != S_OK)
			return NULL;
		pthread_mutex_lock(&ph.lock);
		k = c->received++;
		if (k < SENDERS * PER_SENDER)
			c->ids[k] = m.hdr.MessageId;
		pthread_mutex_unlock(&ph.lock);
		/* The reply echoes the message: each sender checks its own. */
		memset(&r, 0, sizeof(r));
		r.h.MessageId = m.hdr.MessageId;
		memcpy(r.d, m.body, 32);
		if (FilterReplyMessage(c->h, &r.h, sizeof(r)) != S_OK)
			return NULL;
	}
}

static void *crowd_commander(void *arg)
{
	struct crowd *c = arg;
	unsigned n = 0;

	while (!c->stop) {
		char in[16], out[16];
		DWORD got;

		snprintf(in, sizeof(in), "E%u", n++);
		if (FilterSendMessage(c->h, in, sizeof(in), out, sizeof(out),
				      &got) == S_OK &&
		    got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0)
			__atomic_fetch_add(&c->echo_ok, 1, __ATOMIC_RELAXED);
		else
			__atomic_fetch_add(&c->echo_bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *crowd_sender(void *arg)
{
	intptr_t me = (intptr_t)arg;
	int i, bad = 0;

	for (i = 0; i < PER_SENDER; i++) {
		char msg[32], reply[32];
		ULONG len = sizeof(reply);
		NTSTATUS st;

		memset(msg, 0, sizeof(msg));
		snprintf(msg, sizeof(msg), "sender %ld msg %d", (long)me, i);
		st = ph_send(0, msg, sizeof(msg), reply, &len, MS(20000), false);
		if (st != STATUS_SUCCESS || len != sizeof(reply) ||
		    memcmp(msg, reply, sizeof(msg)) != 0)
			bad++;
	}
	return (void *)(intptr_t)bad;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_many_threads(void **state)
{
	pthread_t getters[WAITERS], senders[SENDERS], commander;
	struct crowd *c = calloc(1, sizeof(*c));
	intptr_t i, bad = 0;
	void *rv;

	(void)state;
	c->h = open_one(1);
	for (i = 0; i < WAITERS; i++)
		getters[i] = ph_thread(crowd_getter, c);
	commander = ph_thread(crowd_commander, c);
	/* Eight threads are waiting on the handle before anything is sent. */
	usleep(50000);
	for (i = 0; i < SENDERS; i++)
		senders[i] = ph_thread(crowd_sender, (void *)i);
	for (i = 0; i < SENDERS; i++) {
		pthread_join(senders[i], &rv);
		bad += (intptr_t)rv;
	}
	c->stop = 1;
	pthread_join(commander, NULL);
	assert_int_equal(bad, 0);
	assert_int_equal(c->received, SENDERS * PER_SENDER);
	/* Every message went to exactly one thread. */
	qsort(c->ids, SENDERS * PER_SENDER, sizeof(uint64_t), cmp_u64);
	for (i = 1; i < SENDERS * PER_SENDER; i++)
		assert_true(c->ids[i] != c->ids[i - 1]);
	assert_true(c->echo_ok > 0);
	assert_int_equal(c->echo_bad, 0);
	CloseHandle(c->h);
	for (i = 0; i < WAITERS; i++)
		pthread_join(getters[i], NULL);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	free(c);
}

/* Waiters with short timeouts mixed with others: the ones that give up do
 * not disturb the rest. */
static void *mixed_sender(void *arg)
{
	intptr_t me = (intptr_t)arg;
	int i, bad = 0;

	for (i = 0; i < 40; i++) {
		char msg[32], reply[32];
		ULONG len = sizeof(reply);
		NTSTATUS st;

		memset(msg, 0, sizeof(msg));
		snprintf(msg, sizeof(msg), "%c%ld.%d", me & 1 ? 'S' : 'L',
			 (long)me, i);
		st = ph_send(0, msg, sizeof(msg), reply, &len,
			     me & 1 ? MS(5) : MS(20000), false);
		if (st == STATUS_SUCCESS && memcmp(msg, reply, sizeof(msg)))
			bad++;
		if (st != STATUS_SUCCESS && !(st == STATUS_TIMEOUT && (me & 1)))
			bad++;
	}
	return (void *)(intptr_t)bad;
}

static void *slow_getter(void *arg)
{
	HANDLE h = arg;

	for (;;) {
		struct {
			FILTER_REPLY_HEADER h;
			char d[32];
		} r;
		struct msgbuf m;
		HRESULT hr;

		if (FilterGetMessage(h, &m.hdr, sizeof(m), NULL) != S_OK)
			return NULL;
		if (m.body[0] == 'S')
			usleep(8000);
		memset(&r, 0, sizeof(r));
		r.h.MessageId = m.hdr.MessageId;
		memcpy(r.d, m.body, 32);
		hr = FilterReplyMessage(h, &r.h, sizeof(r));
		if (hr != S_OK && hr != ERROR_FLT_NO_WAITER_FOR_REPLY)
			return NULL;
	}
}

static void test_timeouts_among_waiters(void **state)
{
	pthread_t g[4], s[6];
	intptr_t i, bad = 0;
	void *rv;
	HANDLE h;

	(void)state;
	h = open_one(1);
	for (i = 0; i < 4; i++)
		g[i] = ph_thread(slow_getter, h);
	for (i = 0; i < 6; i++)
		s[i] = ph_thread(mixed_sender, (void *)i);
	for (i = 0; i < 6; i++) {
		pthread_join(s[i], &rv);
		bad += (intptr_t)rv;
	}
	assert_int_equal(bad, 0);
	CloseHandle(h);
	for (i = 0; i < 4; i++)
		pthread_join(g[i], NULL);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

/* ---- Program -> filter ------------------------------------------------------------------- */

static void test_filter_send_message(void **state)
{
	unsigned char in[100], out[200];
	DWORD got = 77;
	HANDLE h;

	(void)state;
	h = open_one(1);
	memset(in, 'q', sizeof(in));
	in[0] = PH_ECHO;
	assert_int_equal(FilterSendMessage(h, in, sizeof(in), out, sizeof(out),
					   &got),
			 S_OK);
	assert_int_equal(got, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	/* Output larger than the program's buffer: what fits, and the
	 * warning as ERROR_MORE_DATA. */
	assert_int_equal(FilterSendMessage(h, in, sizeof(in), out, 10, &got),
			 HRESULT_FROM_WIN32(ERROR_MORE_DATA));
	assert_int_equal(got, 10);
	/* No output buffer at all: the filter's output is cut to nothing. */
	assert_int_equal(FilterSendMessage(h, in, 1, NULL, 0, &got),
			 HRESULT_FROM_WIN32(ERROR_MORE_DATA));
	assert_int_equal(got, 0);
	/* An error returns no data. */
	{
		unsigned char s[8] = { PH_STATUS };
		NTSTATUS v = STATUS_ACCESS_DENIED;

		memcpy(s + 4, &v, sizeof(v));
		assert_int_equal(FilterSendMessage(h, s, sizeof(s), out,
						   sizeof(out), &got),
				 E_ACCESSDENIED);
		assert_int_equal(got, 0);
		v = STATUS_SUCCESS;
		memcpy(s + 4, &v, sizeof(v));
		assert_int_equal(FilterSendMessage(h, s, sizeof(s), out,
						   sizeof(out), &got),
				 S_OK);
		assert_int_equal(got, 3);
		assert_memory_equal(out, "xyz", 3);
		assert_int_equal(FilterSendMessage(h, s, sizeof(s), NULL, 0,
						   &got),
				 S_OK);
		assert_int_equal(got, 0);
	}
	/* A filter claiming more than the buffer holds is cut to it. */
	in[0] = PH_CLAIM;
	assert_int_equal(FilterSendMessage(h, in, 1, out, 20, &got), S_OK);
	assert_int_equal(got, 20);
	/* An unknown command: the filter's own error. */
	in[0] = '?';
	assert_int_equal(FilterSendMessage(h, in, 1, out, 20, &got),
			 E_INVALIDARG);
	/* Empty input. */
	assert_int_equal(FilterSendMessage(h, NULL, 0, out, 20, &got), S_OK);
	/* Arguments. */
	assert_int_equal(FilterSendMessage(h, in, 1, out, 20, NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterSendMessage(h, NULL, 1, out, 20, &got),
			 E_INVALIDARG);
	assert_int_equal(FilterSendMessage(h, in, 1, NULL, 20, &got),
			 E_INVALIDARG);
	{
		static unsigned char big[PT_MAX_DATA + 1];

		big[0] = PH_ECHO;
		assert_int_equal(FilterSendMessage(h, big, sizeof(big), out,
						   sizeof(out), &got),
				 E_INVALIDARG);
		assert_int_equal(FilterSendMessage(h, big, sizeof(big) - 1, big,
						   sizeof(big), &got),
				 S_OK);
		assert_int_equal(got, sizeof(big) - 1);
	}
	close_one(h, 1);
}

static void test_no_message_notify(void **state)
{
	char out[8];
	DWORD got;
	HANDLE h;

	(void)state;
	assert_int_equal(ph_create_port(1, NULL, false), STATUS_SUCCESS);
	assert_int_equal(ph_connect(&h), S_OK);
	assert_int_equal(FilterSendMessage(h, "E", 1, out, sizeof(out), &got),
			 HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED));
	close_one(h, 1);
}

static void *answer_one(void *arg)
{
	HANDLE h = arg;
	struct {
		FILTER_REPLY_HEADER h;
		char d[8];
	} r = { 0 };
	struct msgbuf m;

	if (FilterGetMessage(h, &m.hdr, sizeof(m), NULL) != S_OK)
		return NULL;
	r.h.MessageId = m.hdr.MessageId;
	memcpy(r.d, "inner", 5);
	FilterReplyMessage(h, &r.h, sizeof(r.h) + 5);
	return NULL;
}

/* MessageNotify asks the program a question of its own and waits. */
static void test_nested_question(void **state)
{
	char out[16];
	DWORD got;
	pthread_t t;
	HANDLE h;

	(void)state;
	h = open_one(1);
	t = ph_thread(answer_one, h);
	assert_int_equal(FilterSendMessage(h, "A", 1, out, sizeof(out), &got),
			 S_OK);
	assert_int_equal(got, 5);
	assert_memory_equal(out, "inner", 5);
	pthread_join(t, NULL);
	close_one(h, 1);
}

static void *send_echoes(void *arg)
{
	HANDLE h = arg;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 300; i++) {
		char in[24], out[24];
		DWORD got;

		snprintf(in, sizeof(in), "E%p%d", (void *)&in, i);
		if (FilterSendMessage(h, in, sizeof(in), out, sizeof(out),
				      &got) != S_OK ||
		    got != sizeof(in) || memcmp(in, out, sizeof(in)))
			bad++;
	}
	return (void *)bad;
}

static void test_concurrent_send_message(void **state)
{
	pthread_t t[4];
	intptr_t bad = 0;
	void *rv;
	HANDLE h;
	int i;

	(void)state;
	h = open_one(1);
	for (i = 0; i < 4; i++)
		t[i] = ph_thread(send_echoes, h);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &rv);
		bad += (intptr_t)rv;
	}
	assert_int_equal(bad, 0);
	assert_int_equal(ph.messages, 1200);
	close_one(h, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ph_setup, ph_teardown)
		T(test_send_without_reply),
		T(test_send_with_reply),
		T(test_reply_status_is_returned),
		T(test_reply_sizes),
		T(test_small_message_buffer),
		T(test_timeouts),
		T(test_timed_out_right_before_read),
		T(test_deadline_after_slow_connect),
		T(test_late_and_unexpected_replies),
		T(test_reply_near_deadline),
		T(test_send_parameters),
		T(test_program_goes_away),
		T(test_program_never_reads),
		T(test_many_threads),
		T(test_timeouts_among_waiters),
		T(test_filter_send_message),
		T(test_no_message_notify),
		T(test_nested_question),
		T(test_concurrent_send_message),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
