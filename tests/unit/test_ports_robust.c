/*
 * test_ports_robust.c - what a broken or hostile program can send the
 * daemon: malformed handshakes, connections that never say anything,
 * malformed requests and replies on an established connection (each
 * answered with its documented status, the connection staying usable),
 * unknown message ids, a flood of random datagrams on every channel.
 * Afterwards the daemon must still serve a well-behaved program, and the
 * teardown checks that no descriptor (and, under ASan, no memory) leaked.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports_harness.h"
#include "ports/frame.h"

struct raw {
	int req, msg, rep;
};

static int raw_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ports", ph.dir);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads one frame with a timeout; its header, or op 0 when nothing came. */
static struct pt_hdr raw_read(int fd, int ms, int *fds)
{
	uint8_t buf[PT_MAX_FRAME];
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct pt_hdr h = { 0 };
	struct cmsghdr *cm;
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return h;
	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	if (n >= (ssize_t)sizeof(h))
		memcpy(&h, buf, sizeof(h));
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		int got[2];

		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(got, CMSG_DATA(cm), sizeof(got));
		if (fds) {
			memcpy(fds, got, sizeof(got));
		} else {
			close(got[0]);
			close(got[1]);
		}
	}
	return h;
}

static void raw_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* A frame with a valid header for op and body. */
static size_t frame(void *out, uint16_t op, const void *body, size_t len)
{
	struct pt_hdr h;

	pt_hdr_init(&h, op, len);
	memcpy(out, &h, sizeof(h));
	if (len)
		memcpy((uint8_t *)out + sizeof(h), body, len);
	return sizeof(h) + len;
}

static NTSTATUS raw_connect_status(const void *p, size_t n)
{
	int fd = raw_socket();
	struct pt_hdr h;

	raw_send(fd, p, n);
	h = raw_read(fd, 5000, NULL);
	close(fd);
	return h.op == PT_OP_CONNECT_DONE ? h.status : (NTSTATUS)-1;
}

static void raw_open(struct raw *r)
{
	uint8_t body[300], f[400];
	struct pt_hdr h;
	int fds[2] = { -1, -1 };
	size_t n;

	r->req = raw_socket();
	n = pt_connect_encode(body, sizeof(body), "\\AltitudeTestPort", NULL, 0);
	raw_send(r->req, f, frame(f, PT_OP_CONNECT, body, n));
	h = raw_read(r->req, 5000, fds);
	assert_int_equal(h.op, PT_OP_CONNECT_DONE);
	assert_int_equal(h.status, STATUS_SUCCESS);
	r->msg = fds[0];
	r->rep = fds[1];
	assert_true(r->msg >= 0 && r->rep >= 0);
}

static void raw_close(struct raw *r)
{
	close(r->req);
	close(r->msg);
	close(r->rep);
}

static void test_bad_handshakes(void **state)
{
	uint8_t body[300], f[400];
	struct pt_hdr *h = (struct pt_hdr *)f;
	size_t n, len;
	HANDLE ok;

	(void)state;
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	/* Too short for a header. */
	assert_int_equal(raw_connect_status("abc", 3), STATUS_INVALID_PARAMETER);
	/* Wrong magic, version, length, op. */
	n = pt_connect_encode(body, sizeof(body), "\\AltitudeTestPort", NULL, 0);
	len = frame(f, PT_OP_CONNECT, body, n);
	h->magic = 0x12345678;
	assert_int_equal(raw_connect_status(f, len), STATUS_INVALID_PARAMETER);
	len = frame(f, PT_OP_CONNECT, body, n);
	h->version = 99;
	assert_int_equal(raw_connect_status(f, len), STATUS_REVISION_MISMATCH);
	len = frame(f, PT_OP_CONNECT, body, n);
	h->length += 1;
	assert_int_equal(raw_connect_status(f, len), STATUS_INVALID_PARAMETER);
	len = frame(f, PT_OP_SEND, body, n);
	assert_int_equal(raw_connect_status(f, len), STATUS_INVALID_PARAMETER);
	/* A body that does not parse, a name that is not one. */
	len = frame(f, PT_OP_CONNECT, body, n - 1);
	assert_int_equal(raw_connect_status(f, len), STATUS_INVALID_PARAMETER);
	n = pt_connect_encode(body, sizeof(body), "AltitudeTestPort", NULL, 0);
	len = frame(f, PT_OP_CONNECT, body, n);
	assert_int_equal(raw_connect_status(f, len), STATUS_OBJECT_NAME_INVALID);
	/* A name that exists in another case is the same port. */
	n = pt_connect_encode(body, sizeof(body), "\\altitudetestport", "c", 1);
	len = frame(f, PT_OP_CONNECT, body, n);
	assert_int_equal(raw_connect_status(f, len), STATUS_SUCCESS);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	/* An empty datagram, then the connection just closes. */
	{
		int fd = raw_socket();

		send(fd, "", 0, MSG_NOSIGNAL);
		close(fd);
	}
	/* Nothing of that hurt: a normal program connects. */
	assert_int_equal(ph_connect(&ok), S_OK);
	CloseHandle(ok);
	assert_true(ph_wait_count(&ph.disconnects, 2));
	assert_int_equal(ph.connects, 2);
}

static void test_silent_connections(void **state)
{
	int silent[20], i;
	HANDLE ok;
	DWORD got;
	char out[8];

	(void)state;
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	/* Connections that never send CONNECT do not hold anyone up. */
	for (i = 0; i < 20; i++)
		silent[i] = raw_socket();
	assert_int_equal(ph_connect(&ok), S_OK);
	assert_int_equal(FilterSendMessage(ok, "Eabc", 4, out, sizeof(out), &got),
			 S_OK);
	CloseHandle(ok);
	for (i = 0; i < 20; i++)
		close(silent[i]);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void test_bad_requests(void **state)
{
	uint8_t f[PT_MAX_FRAME + 64];
	struct pt_hdr *h = (struct pt_hdr *)f, a;
	struct raw r;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	raw_open(&r);
	/* Garbage: ERROR with STATUS_INVALID_PARAMETER. */
	raw_send(r.req, "garbage", 7);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.op, PT_OP_ERROR);
	assert_int_equal(a.status, STATUS_INVALID_PARAMETER);
	/* An empty datagram is not the end of the connection. */
	assert_int_equal(send(r.req, "", 0, MSG_NOSIGNAL), 0);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.op, PT_OP_ERROR);
	assert_int_equal(a.status, STATUS_INVALID_PARAMETER);
	/* An unknown op, with its id echoed. */
	len = frame(f, 77, NULL, 0);
	h->id = 4242;
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.op, PT_OP_ERROR);
	assert_int_equal(a.status, STATUS_NOT_SUPPORTED);
	assert_int_equal(a.id, 4242);
	/* Another version. */
	len = frame(f, PT_OP_SEND, "E", 1);
	h->version = 7;
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.status, STATUS_REVISION_MISMATCH);
	/* A length field that lies. */
	len = frame(f, PT_OP_SEND, "E", 1);
	h->length = 1000;
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.status, STATUS_INVALID_PARAMETER);
	/* More input than a message may carry. */
	memset(f + sizeof(*h), 'E', PT_MAX_DATA + 1);
	len = frame(f, PT_OP_SEND, f + sizeof(*h), PT_MAX_DATA + 1);
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.status, STATUS_INVALID_PARAMETER);
	/* The connection still works. */
	len = frame(f, PT_OP_SEND, "Ehi", 3);
	h->id = 9;
	h->arg = 16;
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.op, PT_OP_SEND_DONE);
	assert_int_equal(a.id, 9);
	assert_int_equal(a.status, STATUS_SUCCESS);
	assert_int_equal(a.arg, 3);
	assert_int_equal(ph.messages, 1);
	/* Too many errors and the daemon hangs up. */
	for (i = 0; i < 80; i++)
		send(r.req, "x", 1, MSG_NOSIGNAL);
	assert_true(ph_wait_count(&ph.disconnects, 1));
	assert_int_equal(ph_log_count("malformed request"), 1);
	raw_close(&r);
}

struct waiter_arg {
	NTSTATUS st;
	char reply[16];
	ULONG len;
};

static void *filter_asks(void *arg)
{
	struct waiter_arg *w = arg;

	w->len = sizeof(w->reply);
	w->st = ph_send(0, "q", 1, w->reply, &w->len, -50000000LL, false);
	return NULL;
}

static void test_bad_replies(void **state)
{
	uint8_t f[256], m[256];
	struct pt_hdr *h = (struct pt_hdr *)f, msg, a;
	struct waiter_arg w;
	struct raw r;
	pthread_t t;
	size_t len;

	(void)state;
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	raw_open(&r);
	t = ph_thread(filter_asks, &w);
	assert_true(recv(r.msg, m, sizeof(m), 0) >= (ssize_t)sizeof(msg));
	memcpy(&msg, m, sizeof(msg));
	assert_int_equal(msg.op, PT_OP_MESSAGE);
	assert_true(msg.flags & PT_MSG_WANTS_REPLY);
	assert_int_equal(msg.arg, 16);
	assert_true(msg.deadline != 0);
	/* Garbage that asks for an answer gets STATUS_INVALID_PARAMETER. */
	len = frame(f, PT_OP_REPLY, "zz", 2);
	h->magic = 1;
	h->flags = PT_REPLY_WANT_ACK;
	h->id = 5;
	raw_send(r.rep, f, len);
	a = raw_read(r.rep, 5000, NULL);
	assert_int_equal(a.op, PT_OP_REPLY_ACK);
	assert_int_equal(a.status, STATUS_INVALID_PARAMETER);
	/* A reply to a message nobody sent. */
	len = frame(f, PT_OP_REPLY, "zz", 2);
	h->flags = PT_REPLY_WANT_ACK;
	h->id = msg.id + 1000;
	raw_send(r.rep, f, len);
	a = raw_read(r.rep, 5000, NULL);
	assert_int_equal(a.status, STATUS_FLT_NO_WAITER_FOR_REPLY);
	/* Garbage without a request for an answer: dropped silently. */
	raw_send(r.rep, "junk", 4);
	/* A reply longer than asked for, with no padding excuse. */
	{
		uint8_t data[40];

		memset(data, 'r', sizeof(data));
		len = frame(f, PT_OP_REPLY, data, sizeof(data));
		h->flags = PT_REPLY_WANT_ACK;
		h->id = msg.id;
		raw_send(r.rep, f, len);
	}
	a = raw_read(r.rep, 5000, NULL);
	assert_int_equal(a.status, STATUS_SUCCESS);
	pthread_join(t, NULL);
	assert_int_equal(w.st, STATUS_BUFFER_OVERFLOW);
	assert_int_equal(w.len, 16);
	raw_close(&r);
	assert_true(ph_wait_count(&ph.disconnects, 1));
}

static void *filter_waits(void *arg)
{
	struct waiter_arg *w = arg;

	w->len = sizeof(w->reply);
	w->st = ph_send(0, "flood", 5, w->reply, &w->len, -200000000LL, false);
	return NULL;
}

/* A random datagram in f; half of them with a valid-looking header. */
static size_t random_frame(uint8_t *f, size_t cap, unsigned *seed, bool hdr)
{
	size_t len = (size_t)rand_r(seed) % cap, j;

	for (j = 0; j < len; j++)
		f[j] = (uint8_t)rand_r(seed);
	if (hdr && len >= sizeof(struct pt_hdr)) {
		struct pt_hdr h;

		pt_hdr_init(&h, (uint16_t)(rand_r(seed) % 10), len - sizeof(h));
		h.flags = (uint32_t)rand_r(seed);
		h.id = (uint64_t)rand_r(seed) % 8;
		memcpy(f, &h, sizeof(h));
		/* Not a command the test filter would act on (sleep, ask
		 * back, close). */
		if (len > sizeof(h))
			f[sizeof(h)] = '?';
	}
	return len;
}

static void test_random_flood(void **state)
{
	uint8_t f[512];
	struct pt_hdr *h = (struct pt_hdr *)f, msg, a;
	struct waiter_arg w;
	struct raw r;
	unsigned seed = 12345;
	pthread_t t;
	HANDLE ok;
	char out[8];
	DWORD got;
	size_t len;
	int i;

	(void)state;
	assert_int_equal(ph_create_port(8, NULL, true), STATUS_SUCCESS);
	raw_open(&r);
	/* A filter thread waits for a reply, so the daemon reads rep. */
	t = ph_thread(filter_waits, &w);
	assert_true(recv(r.msg, f, sizeof(f), 0) >= (ssize_t)sizeof(msg));
	memcpy(&msg, f, sizeof(msg));
	for (i = 0; i < 3000; i++) {
		len = random_frame(f, sizeof(f), &seed, i & 1);
		/* Never the real id: the waiter must survive all of it. */
		if (len >= sizeof(*h) && h->id == msg.id)
			h->id++;
		send(r.rep, f, len, MSG_NOSIGNAL);
		while (recv(r.rep, f, sizeof(f), MSG_DONTWAIT) > 0)
			;
	}
	/* Requests: fewer than the daemon's limit of malformed ones. */
	for (i = 0; i < 40; i++) {
		len = random_frame(f, sizeof(f), &seed, i & 1);
		send(r.req, f, len, MSG_NOSIGNAL);
		a = raw_read(r.req, 5000, NULL);
		assert_true(a.op == PT_OP_ERROR || a.op == PT_OP_SEND_DONE);
	}
	/* Both channels still work: a request, and the real reply. */
	len = frame(f, PT_OP_SEND, "Eok", 3);
	h->id = 77;
	h->arg = 8;
	raw_send(r.req, f, len);
	a = raw_read(r.req, 5000, NULL);
	assert_int_equal(a.op, PT_OP_SEND_DONE);
	assert_int_equal(a.id, 77);
	assert_int_equal(a.arg, 3);
	len = frame(f, PT_OP_REPLY, "fine", 4);
	h->id = msg.id;
	raw_send(r.rep, f, len);
	pthread_join(t, NULL);
	assert_int_equal(w.st, STATUS_SUCCESS);
	assert_int_equal(w.len, 4);
	assert_memory_equal(w.reply, "fine", 4);
	raw_close(&r);
	/* And a well-behaved program is served as usual. */
	assert_int_equal(ph_connect(&ok), S_OK);
	assert_int_equal(FilterSendMessage(ok, "Eok", 3, out, sizeof(out), &got),
			 S_OK);
	assert_int_equal(got, 3);
	CloseHandle(ok);
	assert_true(ph_wait_count(&ph.disconnects, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, ph_setup, ph_teardown)
		T(test_bad_handshakes),
		T(test_silent_connections),
		T(test_bad_requests),
		T(test_bad_replies),
		T(test_random_flood),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
