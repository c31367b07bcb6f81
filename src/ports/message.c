/*
 * message.c - FltSendMessage: filter -> program messages and their replies.
 *
 * A message is one MESSAGE datagram on the connection's msg socket, sent
 * without blocking; while the program's queue is full the sender waits for
 * room until its deadline (STATUS_TIMEOUT), so a program that never reads
 * holds up only the filter threads that chose to wait for it.
 *
 * Replies come back on the rep socket, which no daemon thread reads on its
 * own: the senders waiting for replies take turns.  One of them (the
 * reader) receives every reply, hands each to its waiter (copy, flag,
 * signal) and keeps reading until its own arrives, its deadline passes or
 * the program goes away; then the next waiter takes over.  The common case
 * of a single waiter thus costs what a plain socket ping-pong does: the
 * reply wakes the thread that asked for it.  A reply for a waiter that has
 * gone (timed out) is dropped, or answered with STATUS_FLT_NO_WAITER_FOR_REPLY
 * when the program asked for an acknowledgement.
 */
#include "ports/frame.h"
#include "ports/pt.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static uint64_t pt_next_id = 1;

#define PT_NS_PER_NT 100LL

/* The NT timeout as a CLOCK_MONOTONIC deadline: 0 none, -1 already due. */
static int64_t pt_deadline(const LARGE_INTEGER *timeout)
{
	int64_t now = pt_now_ns(), rel;

	if (!timeout)
		return 0;
	if (timeout->QuadPart == 0)
		return -1;
	if (timeout->QuadPart < 0) {
		/* -INT64_MIN overflows: anything that far is "never". */
		if (timeout->QuadPart < -(INT64_MAX / PT_NS_PER_NT) + 1)
			return 0;
		rel = -timeout->QuadPart * PT_NS_PER_NT;
	} else {
		LARGE_INTEGER sys;

		KeQuerySystemTimePrecise(&sys);
		if (timeout->QuadPart <= sys.QuadPart)
			return -1;
		if (timeout->QuadPart - sys.QuadPart > INT64_MAX / PT_NS_PER_NT)
			return 0;
		rel = (timeout->QuadPart - sys.QuadPart) * PT_NS_PER_NT;
	}
	if (rel > INT64_MAX - now)
		return 0;
	return now + rel;
}

static struct timespec pt_timespec(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000LL,
				  .tv_nsec = ns % 1000000000LL };
}

/* ---- Sending ------------------------------------------------------------------ */

static NTSTATUS pt_send_message(struct pt_client *c, const struct pt_hdr *h,
				const void *buf, size_t len, int64_t deadline)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) },
				{ (void *)buf, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	for (;;) {
		struct pollfd pfd = { .fd = c->msg_fd, .events = POLLOUT };
		struct timespec ts;
		int64_t left = 0;
		int r;

		if (sendmsg(c->msg_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return STATUS_SUCCESS;
		switch (errno) {
		case EINTR:
			continue;
		case EAGAIN:
			break;
		case ENOBUFS:
		case ENOMEM:
			return STATUS_INSUFFICIENT_RESOURCES;
		default:
			pt_client_kill(c);
			return STATUS_PORT_DISCONNECTED;
		}
		/* The program's queue is full: wait for room. */
		if (deadline < 0)
			return STATUS_TIMEOUT;
		if (deadline) {
			left = deadline - pt_now_ns();
			if (left <= 0)
				return STATUS_TIMEOUT;
			ts = pt_timespec(left);
		}
		r = ppoll(&pfd, 1, deadline ? &ts : NULL, NULL);
		if (r == 0)
			return STATUS_TIMEOUT;
	}
}

/* ---- Receiving replies ------------------------------------------------------------ */

static void pt_ack(struct pt_client *c, uint64_t id, NTSTATUS st)
{
	struct pt_hdr h;

	pt_hdr_init(&h, PT_OP_REPLY_ACK, 0);
	h.id = id;
	h.status = st;
	/* The program waits for at most one acknowledgement at a time; if
	 * its queue is full it is not reading and will give up by itself. */
	send(c->rep_fd, &h, sizeof(h), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Hands one received datagram to its waiter.  Returns true when it was
 * self's reply.
 */
static bool pt_dispatch_reply(struct pt_client *c, size_t n,
			      struct pt_waiter *self)
{
	const uint8_t *buf = c->rep_buf;
	struct pt_waiter *w;
	struct pt_hdr h;
	NTSTATUS st, ack = STATUS_FLT_NO_WAITER_FOR_REPLY;
	uint32_t given, copy;
	bool overflow;

	st = pt_reply_check(buf, n, PT_MAX_FRAME, &h);
	if (!NT_SUCCESS(st)) {
		rtl_log(LOG_DEBUG, "ports: %s: malformed reply from pid %ld: %s",
			c->port->name, (long)c->pid, rtl_status_name(st));
		if (n >= sizeof(h) && (h.flags & PT_REPLY_WANT_ACK))
			pt_ack(c, h.id, st);
		return false;
	}
	given = (uint32_t)(n - sizeof(h));
	pthread_mutex_lock(&c->lock);
	for (w = c->waiters; w; w = w->next)
		if (w->id == h.id && !w->done)
			break;
	if (w) {
		copy = pt_reply_copy_len(w->cap, given, &overflow);
		if (copy)
			memcpy(w->buf, buf + sizeof(h), copy);
		w->len = copy;
		w->status = overflow || (h.flags & PT_REPLY_OVERFLOW)
				    ? STATUS_BUFFER_OVERFLOW
				    : (NTSTATUS)h.status;
		w->done = true;
		w->replied = true;
		if (w != self)
			pthread_cond_signal(&w->cond);
		ack = STATUS_SUCCESS;
	}
	pthread_mutex_unlock(&c->lock);
	if (h.flags & PT_REPLY_WANT_ACK)
		pt_ack(c, h.id, ack);
	return w && w == self;
}

/*
 * The reader's loop, without c->lock: receives until self is answered, the
 * deadline passes (0: none) or the connection ends.  drain_only takes what
 * is queued now and returns.
 */
static void pt_read_replies(struct pt_client *c, struct pt_waiter *self,
			    int64_t deadline, bool drain_only)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->rep_fd, .events = POLLIN };
		int flags = MSG_TRUNC;
		ssize_t n;

		if (drain_only) {
			flags |= MSG_DONTWAIT;
		} else if (deadline) {
			int64_t left = deadline - pt_now_ns();
			struct timespec ts;

			if (left <= 0)
				return;
			ts = pt_timespec(left);
			if (ppoll(&pfd, 1, &ts, NULL) <= 0) {
				if (errno == EINTR)
					continue;
				return;
			}
			flags |= MSG_DONTWAIT;
		}
		/* Without a deadline the reader blocks in recv itself: one
		 * system call per reply, like a plain ping-pong. */
		n = recv(c->rep_fd, c->rep_buf, PT_MAX_FRAME, flags);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (drain_only)
				return;
			continue;
		}
		if (n == 0 && !pt_at_eof(c->rep_fd))
			continue; /* an empty datagram: not a reply */
		if (n <= 0) {
			pt_client_kill(c);
			return;
		}
		if (pt_dispatch_reply(c, (size_t)n, self))
			return;
	}
}

/* Lets the next unanswered waiter take over reading. */
static void pt_promote(struct pt_client *c, struct pt_waiter *self)
{
	struct pt_waiter *w;

	for (w = c->waiters; w; w = w->next)
		if (w != self && !w->done) {
			pthread_cond_signal(&w->cond);
			return;
		}
}

void pt_wait_reply(struct pt_client *c, struct pt_waiter *w, int64_t deadline)
{
	bool drained = false;

	for (;;) {
		bool expired;

		if (w->done)
			break;
		if (c->dead) {
			w->status = STATUS_PORT_DISCONNECTED;
			break;
		}
		expired = deadline && pt_now_ns() >= deadline;
		if (expired && (drained || c->reading)) {
			w->status = STATUS_TIMEOUT;
			break;
		}
		if (!c->reading) {
			c->reading = true;
			pthread_mutex_unlock(&c->lock);
			/* Past the deadline, one last look at what is queued:
			 * a reply that made it in time still counts. */
			pt_read_replies(c, w, deadline, expired);
			pthread_mutex_lock(&c->lock);
			c->reading = false;
			drained = expired;
			pt_promote(c, w);
			continue;
		}
		if (deadline) {
			struct timespec ts = pt_timespec(deadline);

			pthread_cond_clockwait(&w->cond, &c->lock,
					       CLOCK_MONOTONIC, &ts);
		} else {
			pthread_cond_wait(&w->cond, &c->lock);
		}
	}
}

static void pt_waiter_link(struct pt_client *c, struct pt_waiter *w)
{
	w->prev = NULL;
	w->next = c->waiters;
	if (c->waiters)
		c->waiters->prev = w;
	c->waiters = w;
}

static void pt_waiter_unlink(struct pt_client *c, struct pt_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		c->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

NTSTATUS FLTAPI FltSendMessage(PFLT_FILTER Filter, PFLT_PORT *ClientPort,
			       PVOID SenderBuffer, ULONG SenderBufferLength,
			       PVOID ReplyBuffer, PULONG ReplyLength,
			       PLARGE_INTEGER Timeout)
{
	struct pt_waiter w = { 0 };
	struct pt_client *c;
	struct pt_hdr h;
	int64_t deadline;
	NTSTATUS st;

	if (!Filter || !ClientPort || (!SenderBuffer && SenderBufferLength) ||
	    SenderBufferLength > PT_MAX_DATA || (ReplyBuffer && !ReplyLength) ||
	    (ReplyBuffer && *ReplyLength > PT_MAX_DATA))
		return STATUS_INVALID_PARAMETER;
	deadline = pt_deadline(Timeout);
	c = __atomic_load_n((struct pt_client **)ClientPort, __ATOMIC_ACQUIRE);
	if (!c || !(c = pt_client_use(c)))
		return STATUS_PORT_DISCONNECTED;
	/* Waiting for no time cannot bring a reply. */
	if (ReplyBuffer && deadline < 0) {
		pt_client_unuse(c);
		return STATUS_TIMEOUT;
	}

	pt_hdr_init(&h, PT_OP_MESSAGE, SenderBufferLength);
	h.id = __atomic_fetch_add(&pt_next_id, 1, __ATOMIC_RELAXED);
	h.deadline = deadline > 0 ? (uint64_t)deadline : 0;
	if (ReplyBuffer) {
		h.flags = PT_MSG_WANTS_REPLY;
		h.arg = *ReplyLength;
		w.id = h.id;
		w.buf = ReplyBuffer;
		w.cap = *ReplyLength;
		pthread_cond_init(&w.cond, NULL);
		/* Waiting before the message leaves: a fast reply finds us. */
		pthread_mutex_lock(&c->lock);
		pt_waiter_link(c, &w);
		pthread_mutex_unlock(&c->lock);
	}
	st = pt_send_message(c, &h, SenderBuffer, SenderBufferLength, deadline);
	if (ReplyBuffer) {
		pthread_mutex_lock(&c->lock);
		if (NT_SUCCESS(st) && st != STATUS_TIMEOUT) {
			pt_wait_reply(c, &w, deadline);
			st = w.status;
			if (w.replied)
				*ReplyLength = w.len;
		}
		pt_waiter_unlink(c, &w);
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&w.cond);
	}
	pt_client_unuse(c);
	return st;
}
