/*
 * port.c - the program side of communication ports:
 * FilterConnectCommunicationPort, FilterSendMessage, FilterGetMessage,
 * FilterReplyMessage, FilterGetPortFd.  The wire protocol and its three
 * channels per handle are in src/ports/proto.h and docs/ports.md.
 *
 * Threads: any number may block in FilterGetMessage on one handle; the
 * kernel gives each message datagram to exactly one of them.
 * FilterSendMessage calls take turns on the req channel (one request in
 * flight per handle).  FilterReplyMessage needs no turn unless it waits for
 * an acknowledgement.  An OVERLAPPED FilterGetMessage on an asynchronous
 * handle is queued and served by one helper thread per handle, started on
 * first use, which completes the oldest queued request with each message.
 *
 * Replies: every message that expects one is remembered until it is
 * answered or its deadline passes, so a second reply, a reply to a message
 * that expects none, a made-up MessageId or a reply after the filter stopped
 * waiting all get ERROR_FLT_NO_WAITER_FOR_REPLY without a round trip.  When
 * the deadline is near (PT_ACK_WINDOW_NS) the reply asks the daemon to
 * confirm that it reached its waiter; otherwise it is sent and S_OK
 * returned at once, which keeps a round trip to two datagrams.
 *
 * Handle lifetime: a reference per call in progress, one for the table and
 * one for the helper thread; CloseHandle marks the port closing, cancels
 * queued OVERLAPPED requests, shuts the sockets down (waking every blocked
 * call, which then fails with HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)) and
 * the last reference closes them.
 */
#include "fltlib/port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fltlib/handle.h"
#include "ports/frame.h"
#include "ports/proto.h"

#define FL_MSG_HDR sizeof(FILTER_MESSAGE_HEADER)
#define FL_REPLY_HDR sizeof(FILTER_REPLY_HEADER)

/* A message received that the filter waits to have answered. */
struct fl_pending {
	uint64_t id;
	uint32_t reply_len; /* the filter's ReplyLength */
	int64_t deadline; /* our CLOCK_MONOTONIC ns; 0: none */
};

/* A queued OVERLAPPED FilterGetMessage. */
struct fl_async {
	LPOVERLAPPED ov;
	PFILTER_MESSAGE_HEADER buf;
	DWORD size;
	bool busy; /* the helper is receiving into buf right now */
	struct fl_async *next;
};

struct fl_port {
	struct fl_object obj;
	atomic_long refs;
	int req_fd;
	int msg_fd;
	int rep_fd;
	int wake_fd; /* wakes the helper thread */
	DWORD options;
	int64_t clock_offset; /* daemon's CLOCK_MONOTONIC minus ours */
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond; /* a queued request completed or stopped */
	bool closing;
	struct fl_pending *pending;
	size_t npending;
	size_t cap_pending;
	struct fl_async *async_head;
	bool helper_running;
	pthread_mutex_t req_lock; /* one FilterSendMessage at a time */
	uint64_t req_seq;
	pthread_mutex_t rep_lock; /* one acknowledged reply at a time */
};

/* ---- Status conversions ---------------------------------------------------- */

DWORD fl_win32_from_status(NTSTATUS status)
{
	HRESULT hr = fl_hresult_from_status(status);

	if (hr == S_OK)
		return ERROR_SUCCESS;
	if (HRESULT_FACILITY(hr) == FACILITY_WIN32)
		return HRESULT_CODE(hr);
	return (DWORD)hr;
}

/* ---- References -------------------------------------------------------------- */

static void fl_port_destroy(struct fl_port *p)
{
	if (p->req_fd >= 0)
		close(p->req_fd);
	if (p->msg_fd >= 0)
		close(p->msg_fd);
	if (p->rep_fd >= 0)
		close(p->rep_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->req_lock);
	pthread_mutex_destroy(&p->rep_lock);
	free(p->pending);
	free(p);
}

static void fl_port_hold(struct fl_object *obj)
{
	atomic_fetch_add(&((struct fl_port *)obj)->refs, 1);
}

static void fl_port_put(struct fl_port *p)
{
	if (atomic_fetch_sub(&p->refs, 1) == 1)
		fl_port_destroy(p);
}

/* The open port behind h with a reference, or NULL. */
static struct fl_port *fl_port_get(HANDLE h)
{
	struct fl_port *p;
	bool closing;

	p = (struct fl_port *)fl_handle_get_held(h, FL_PORT, fl_port_hold);
	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	closing = p->closing;
	pthread_mutex_unlock(&p->lock);
	if (closing) {
		fl_port_put(p);
		return NULL;
	}
	return p;
}

/* ---- Overlapped completion ---------------------------------------------------- */

NTSTATUS fl_overlapped_status(const OVERLAPPED *ov)
{
	return (NTSTATUS)(ULONG)__atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE);
}

void fl_overlapped_complete(LPOVERLAPPED ov, NTSTATUS status, DWORD bytes)
{
	HANDLE ev = ov->hEvent;

	ov->InternalHigh = bytes;
	__atomic_store_n(&ov->Internal, (ULONG_PTR)(ULONG)status,
			 __ATOMIC_RELEASE);
	if (ev)
		SetEvent(ev);
}

/* ---- Messages the filter waits to have answered ------------------------------------ */

static int64_t fl_local_deadline(const struct fl_port *p, uint64_t deadline)
{
	int64_t d;

	if (!deadline)
		return 0;
	d = (int64_t)deadline - p->clock_offset;
	return d > 0 ? d : 1;
}

/* Under p->lock. */
static void fl_pending_add(struct fl_port *p, uint64_t id, uint32_t reply_len,
			   int64_t deadline)
{
	size_t i, j;

	if (p->npending == p->cap_pending) {
		int64_t now = pt_now_ns();

		/* Forget messages nobody waits for any more first. */
		for (i = j = 0; i < p->npending; i++)
			if (!p->pending[i].deadline ||
			    p->pending[i].deadline > now)
				p->pending[j++] = p->pending[i];
		p->npending = j;
	}
	if (p->npending == p->cap_pending) {
		size_t cap = p->cap_pending ? 2 * p->cap_pending : 16;
		struct fl_pending *n = realloc(p->pending, cap * sizeof(*n));

		/* Without memory the reply will be refused as unexpected. */
		if (!n)
			return;
		p->pending = n;
		p->cap_pending = cap;
	}
	p->pending[p->npending++] =
		(struct fl_pending){ id, reply_len, deadline };
}

/* Under p->lock. */
static bool fl_pending_take(struct fl_port *p, uint64_t id,
			    struct fl_pending *out)
{
	size_t i;

	for (i = 0; i < p->npending; i++)
		if (p->pending[i].id == id) {
			*out = p->pending[i];
			p->pending[i] = p->pending[--p->npending];
			return true;
		}
	return false;
}

/* ---- Connecting ------------------------------------------------------------------- */

static HRESULT fl_connect_socket(int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[sizeof(sa.sun_path) + 1];
	int fd, err;

	fl_socket_path(PT_SOCKET_NAME, path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path))
		return HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fl_hresult_from_errno(errno);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		return fl_hresult_from_errno(err);
	}
	*out = fd;
	return S_OK;
}

/* Sends CONNECT, receives CONNECT_DONE and the two sockets. */
static HRESULT fl_handshake(int fd, const char *name, LPCVOID ctx,
			    WORD ctx_len, int ends[2], int64_t *offset)
{
	size_t cap = sizeof(struct pt_hdr) + PT_MAX_NAME + 8 + ctx_len;
	uint8_t *buf = malloc(cap), reply[128];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { reply, sizeof(reply) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	struct pt_hdr h;
	uint32_t max_data;
	int64_t daemon_now, sent;
	size_t len;
	ssize_t n;
	HRESULT hr;
	NTSTATUS st;

	if (!buf)
		return E_OUTOFMEMORY;
	len = pt_connect_encode(buf + sizeof(h), cap - sizeof(h), name, ctx,
				ctx_len);
	pt_hdr_init(&h, PT_OP_CONNECT, len);
	memcpy(buf, &h, sizeof(h));
	sent = pt_now_ns();
	do
		n = send(fd, buf, sizeof(h) + len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n < 0)
		return fl_hresult_from_errno(errno);
	do
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return fl_hresult_from_errno(errno);
	ends[0] = ends[1] = -1;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(2 * sizeof(int)))
			memcpy(ends, CMSG_DATA(cm), 2 * sizeof(int));
	if (n == 0) {
		hr = HRESULT_FROM_WIN32(ERROR_BROKEN_PIPE);
		goto fail;
	}
	st = pt_hdr_check(reply, (size_t)n, sizeof(reply), &h);
	if (NT_SUCCESS(st) && h.op != PT_OP_CONNECT_DONE)
		st = STATUS_INVALID_PARAMETER;
	if (!NT_SUCCESS(st)) {
		hr = HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
		goto fail;
	}
	if (!NT_SUCCESS(h.status)) {
		hr = fl_hresult_from_status(h.status);
		goto fail;
	}
	if (ends[0] < 0 || ends[1] < 0 ||
	    !NT_SUCCESS(pt_connect_done_decode(reply + sizeof(h),
					       (size_t)n - sizeof(h),
					       &daemon_now, &max_data))) {
		hr = HRESULT_FROM_WIN32(ERROR_INVALID_DATA);
		goto fail;
	}
	/* daemon_now is the daemon's clock when CONNECT arrived, after we
	 * sent it: this offset is never less than the true one, so a
	 * message's deadline here is never later than its sender's (a
	 * message whose sender gave up is not delivered as one to answer). */
	*offset = daemon_now - sent;
	return S_OK;

fail:
	if (ends[0] >= 0)
		close(ends[0]);
	if (ends[1] >= 0)
		close(ends[1]);
	ends[0] = ends[1] = -1;
	return hr;
}

static void fl_port_close(struct fl_object *obj);

static struct fl_port *fl_port_new(int req_fd, const int ends[2],
				   DWORD options, int64_t offset)
{
	struct fl_port *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0) {
		free(p);
		return NULL;
	}
	p->obj.kind = FL_PORT;
	p->obj.close = fl_port_close;
	atomic_init(&p->refs, 1);
	p->req_fd = req_fd;
	p->msg_fd = ends[0];
	p->rep_fd = ends[1];
	p->options = options;
	p->clock_offset = offset;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_mutex_init(&p->req_lock, NULL);
	pthread_mutex_init(&p->rep_lock, NULL);
	return p;
}

static void fl_inherit(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0)
		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

FLTLIB_API HRESULT WINAPI FilterConnectCommunicationPort(
	LPCWSTR lpPortName, DWORD dwOptions, LPCVOID lpContext,
	WORD wSizeOfContext, LPSECURITY_ATTRIBUTES lpSecurityAttributes,
	HANDLE *hPort)
{
	char name[PT_MAX_NAME + 1];
	int fd = -1, ends[2] = { -1, -1 };
	int64_t offset = 0;
	struct fl_port *p;
	HANDLE h;
	HRESULT hr;

	if (!hPort)
		return E_INVALIDARG;
	*hPort = INVALID_HANDLE_VALUE;
	if (!lpPortName || (!lpContext) != (!wSizeOfContext) ||
	    (dwOptions & ~(DWORD)FLT_PORT_FLAG_SYNC_HANDLE))
		return E_INVALIDARG;
	if (!fl_to_utf8(lpPortName, name, sizeof(name)) || name[0] != '\\')
		return HRESULT_FROM_WIN32(ERROR_INVALID_NAME);
	hr = fl_connect_socket(&fd);
	if (FAILED(hr))
		return hr;
	hr = fl_handshake(fd, name, lpContext, wSizeOfContext, ends, &offset);
	if (FAILED(hr)) {
		close(fd);
		return hr;
	}
	p = fl_port_new(fd, ends, dwOptions, offset);
	if (!p) {
		close(fd);
		close(ends[0]);
		close(ends[1]);
		return E_OUTOFMEMORY;
	}
	if (lpSecurityAttributes && lpSecurityAttributes->bInheritHandle) {
		fl_inherit(p->req_fd);
		fl_inherit(p->msg_fd);
		fl_inherit(p->rep_fd);
	}
	h = fl_handle_register(&p->obj);
	if (!h) {
		fl_port_put(p);
		return E_OUTOFMEMORY;
	}
	*hPort = h;
	return S_OK;
}

/* ---- FilterSendMessage ------------------------------------------------------------------ */

/* One exchange on req; the response's status, *bytes its output size. */
static NTSTATUS fl_request(struct fl_port *p, const void *in, DWORD in_len,
			   void *out, DWORD out_len, DWORD *bytes)
{
	struct pt_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)in, in_len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = in_len ? 2 : 1 };
	uint64_t seq;
	ssize_t n;

	pthread_mutex_lock(&p->req_lock);
	seq = ++p->req_seq;
	pt_hdr_init(&h, PT_OP_SEND, in_len);
	h.id = seq;
	h.arg = out_len;
	do
		n = sendmsg(p->req_fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		goto disconnected;
	for (;;) {
		iov[0] = (struct iovec){ &h, sizeof(h) };
		iov[1] = (struct iovec){ out, out_len };
		m = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 2 };
		n = recvmsg(p->req_fd, &m, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(h))
			goto disconnected;
		if (h.magic == PT_MAGIC && h.id == seq)
			break;
		/* Only the daemon writes here, and it answers in order. */
	}
	pthread_mutex_unlock(&p->req_lock);
	if (h.length != (size_t)n || (m.msg_flags & MSG_TRUNC))
		return STATUS_INVALID_PARAMETER;
	if (h.op == PT_OP_SEND_DONE && h.arg <= out_len &&
	    h.arg == (size_t)n - sizeof(h))
		*bytes = h.arg;
	else if (h.op != PT_OP_ERROR)
		return STATUS_INVALID_PARAMETER;
	return h.status;

disconnected:
	pthread_mutex_unlock(&p->req_lock);
	return STATUS_PORT_DISCONNECTED;
}

FLTLIB_API HRESULT WINAPI FilterSendMessage(HANDLE hPort, LPVOID lpInBuffer,
					    DWORD dwInBufferSize,
					    LPVOID lpOutBuffer,
					    DWORD dwOutBufferSize,
					    LPDWORD lpBytesReturned)
{
	struct fl_port *p;
	DWORD bytes = 0;
	NTSTATUS st;

	if (!lpBytesReturned || (!lpInBuffer && dwInBufferSize) ||
	    (!lpOutBuffer && dwOutBufferSize) || dwInBufferSize > PT_MAX_DATA)
		return E_INVALIDARG;
	*lpBytesReturned = 0;
	p = fl_port_get(hPort);
	if (!p)
		return E_HANDLE;
	/* A bigger buffer is fine; the filter sees PT_MAX_DATA of it. */
	if (dwOutBufferSize > PT_MAX_DATA)
		dwOutBufferSize = PT_MAX_DATA;
	st = fl_request(p, lpInBuffer, dwInBufferSize, lpOutBuffer,
			dwOutBufferSize, &bytes);
	fl_port_put(p);
	*lpBytesReturned = bytes;
	return fl_hresult_from_status(st);
}

/* ---- FilterGetMessage ------------------------------------------------------------------ */

/*
 * Receives one message into buf (header filled in).  flags MSG_DONTWAIT
 * returns STATUS_PENDING when none is queued.  A message whose sender has
 * already stopped waiting for its reply is dropped unseen, as Windows never
 * delivers a message after FltSendMessage timed out.
 */
static NTSTATUS fl_port_recv(struct fl_port *p, PFILTER_MESSAGE_HEADER buf,
			     DWORD size, int flags, DWORD *bytes)
{
	for (;;) {
		struct pt_hdr h;
		struct iovec iov[2] = {
			{ &h, sizeof(h) },
			{ (uint8_t *)buf + FL_MSG_HDR, size - FL_MSG_HDR }
		};
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		bool wants;
		int64_t deadline;
		size_t body;
		ssize_t n;

		n = recvmsg(p->msg_fd, &m, flags | MSG_TRUNC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return STATUS_PENDING;
			return STATUS_PORT_DISCONNECTED;
		}
		if (n == 0)
			return STATUS_PORT_DISCONNECTED;
		if ((size_t)n < sizeof(h) ||
		    !NT_SUCCESS(pt_message_check(&h, (size_t)n)))
			continue; /* only the daemon writes here */
		wants = h.flags & PT_MSG_WANTS_REPLY;
		deadline = fl_local_deadline(p, h.deadline);
		if (wants && deadline && pt_now_ns() >= deadline)
			continue;
		buf->ReplyLength = wants ? h.arg + (ULONG)FL_REPLY_HDR : 0;
		buf->MessageId = h.id;
		if (wants) {
			pthread_mutex_lock(&p->lock);
			fl_pending_add(p, h.id, h.arg, deadline);
			pthread_mutex_unlock(&p->lock);
		}
		body = (size_t)n - sizeof(h);
		if (body > size - FL_MSG_HDR) {
			*bytes = size;
			return STATUS_BUFFER_OVERFLOW;
		}
		*bytes = (DWORD)(FL_MSG_HDR + body);
		return STATUS_SUCCESS;
	}
}

static void fl_async_unlink(struct fl_port *p, struct fl_async *a)
{
	struct fl_async **pp;

	for (pp = &p->async_head; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			return;
		}
}

static void *fl_port_helper(void *arg)
{
	struct fl_port *p = arg;
	struct pollfd pfd[2] = { { .fd = p->msg_fd, .events = POLLIN },
				 { .fd = p->wake_fd, .events = POLLIN } };

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct fl_async *a;
		uint64_t v;
		DWORD bytes = 0;
		NTSTATUS st;

		if (p->closing)
			break;
		if (!p->async_head) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		poll(pfd, 2, -1);
		if (pfd[1].revents && read(p->wake_fd, &v, sizeof(v)) < 0)
			v = 0;
		pthread_mutex_lock(&p->lock);
		a = p->async_head;
		if (p->closing || !a)
			continue;
		a->busy = true;
		pthread_mutex_unlock(&p->lock);
		st = fl_port_recv(p, a->buf, a->size, MSG_DONTWAIT, &bytes);
		pthread_mutex_lock(&p->lock);
		a->busy = false;
		if (st != STATUS_PENDING) {
			fl_async_unlink(p, a);
			fl_overlapped_complete(a->ov, st, bytes);
			free(a);
		}
		pthread_cond_broadcast(&p->cond);
	}
	p->helper_running = false;
	pthread_mutex_unlock(&p->lock);
	fl_port_put(p);
	return NULL;
}

static HRESULT fl_async_queue(struct fl_port *p, PFILTER_MESSAGE_HEADER buf,
			      DWORD size, LPOVERLAPPED ov)
{
	struct fl_async *a = calloc(1, sizeof(*a)), **pp;
	pthread_attr_t attr;
	pthread_t t;
	int err = 0;

	if (!a)
		return E_OUTOFMEMORY;
	if (ov->hEvent && !ResetEvent(ov->hEvent)) {
		free(a);
		return E_HANDLE;
	}
	a->ov = ov;
	a->buf = buf;
	a->size = size;
	ov->InternalHigh = 0;
	__atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_PENDING,
			 __ATOMIC_RELEASE);
	pthread_mutex_lock(&p->lock);
	if (!p->helper_running) {
		fl_port_hold(&p->obj);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, fl_port_helper, p);
		pthread_attr_destroy(&attr);
		if (err) {
			pthread_mutex_unlock(&p->lock);
			fl_port_put(p);
			free(a);
			return E_OUTOFMEMORY;
		}
		p->helper_running = true;
	}
	for (pp = &p->async_head; *pp; pp = &(*pp)->next)
		;
	*pp = a;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return HRESULT_FROM_WIN32(ERROR_IO_PENDING);
}

FLTLIB_API HRESULT WINAPI FilterGetMessage(HANDLE hPort,
					   PFILTER_MESSAGE_HEADER lpMessageBuffer,
					   DWORD dwMessageBufferSize,
					   LPOVERLAPPED lpOverlapped)
{
	struct fl_port *p;
	DWORD bytes = 0;
	NTSTATUS st;
	HRESULT hr;

	if (!lpMessageBuffer || dwMessageBufferSize < FL_MSG_HDR)
		return E_INVALIDARG;
	p = fl_port_get(hPort);
	if (!p)
		return E_HANDLE;
	if (lpOverlapped && !(p->options & FLT_PORT_FLAG_SYNC_HANDLE)) {
		hr = fl_async_queue(p, lpMessageBuffer, dwMessageBufferSize,
				    lpOverlapped);
	} else {
		/* A synchronous handle completes an OVERLAPPED call before
		 * returning, as Windows does for synchronous file objects. */
		st = fl_port_recv(p, lpMessageBuffer, dwMessageBufferSize, 0,
				  &bytes);
		if (lpOverlapped)
			fl_overlapped_complete(lpOverlapped, st, bytes);
		hr = fl_hresult_from_status(st);
	}
	fl_port_put(p);
	return hr;
}

/* ---- FilterReplyMessage ------------------------------------------------------------------ */

/* Waits for the acknowledgement of reply id until deadline. */
static NTSTATUS fl_wait_ack(struct fl_port *p, uint64_t id, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = p->rep_fd, .events = POLLIN };
		int64_t left = deadline - pt_now_ns();
		struct pt_hdr h;
		ssize_t n;

		if (left <= 0)
			return STATUS_FLT_NO_WAITER_FOR_REPLY;
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) <= 0)
			continue;
		n = recv(p->rep_fd, &h, sizeof(h), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return STATUS_PORT_DISCONNECTED;
		/* Acknowledgements of replies that gave up are stale. */
		if (n == sizeof(h) && h.magic == PT_MAGIC &&
		    h.op == PT_OP_REPLY_ACK && h.id == id)
			return h.status;
	}
}

FLTLIB_API HRESULT WINAPI FilterReplyMessage(HANDLE hPort,
					     PFILTER_REPLY_HEADER lpReplyBuffer,
					     DWORD dwReplyBufferSize)
{
	struct fl_pending pend;
	struct fl_port *p;
	struct pt_hdr h;
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	uint32_t given, len;
	bool overflow, want_ack, known;
	int64_t now;
	ssize_t n;
	NTSTATUS st = STATUS_SUCCESS;

	if (!lpReplyBuffer || dwReplyBufferSize < FL_REPLY_HDR)
		return E_INVALIDARG;
	p = fl_port_get(hPort);
	if (!p)
		return E_HANDLE;
	pthread_mutex_lock(&p->lock);
	known = fl_pending_take(p, lpReplyBuffer->MessageId, &pend);
	pthread_mutex_unlock(&p->lock);
	now = pt_now_ns();
	if (!known || (pend.deadline && now + PT_REPLY_MARGIN_NS >= pend.deadline)) {
		fl_port_put(p);
		return ERROR_FLT_NO_WAITER_FOR_REPLY;
	}
	given = dwReplyBufferSize - (uint32_t)FL_REPLY_HDR;
	len = pt_reply_copy_len(pend.reply_len, given, &overflow);
	want_ack = pend.deadline && pend.deadline - now <= PT_ACK_WINDOW_NS;

	pt_hdr_init(&h, PT_OP_REPLY, len);
	h.id = lpReplyBuffer->MessageId;
	h.status = lpReplyBuffer->Status;
	h.flags = (want_ack ? PT_REPLY_WANT_ACK : 0) |
		  (overflow ? PT_REPLY_OVERFLOW : 0);
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ lpReplyBuffer + 1, len };
	if (want_ack)
		pthread_mutex_lock(&p->rep_lock);
	do
		n = sendmsg(p->rep_fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		st = STATUS_PORT_DISCONNECTED;
	else if (want_ack)
		st = fl_wait_ack(p, h.id, pend.deadline + PT_ACK_GRACE_NS);
	if (want_ack)
		pthread_mutex_unlock(&p->rep_lock);
	fl_port_put(p);
	return fl_hresult_from_status(st);
}

/* ---- Descriptors, cancellation, closing ------------------------------------------------------ */

FLTLIB_API int WINAPI FilterGetPortFd(HANDLE hPort)
{
	struct fl_port *p = fl_port_get(hPort);
	int fd;

	if (!p)
		return -1;
	fd = p->msg_fd;
	fl_port_put(p);
	return fd;
}

DWORD fl_port_cancel(HANDLE hPort, LPOVERLAPPED ov)
{
	struct fl_port *p = fl_port_get(hPort);
	struct fl_async *a;
	bool found = false;

	if (!p)
		return ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&p->lock);
restart:
	for (a = p->async_head; a; a = a->next) {
		if (ov && a->ov != ov)
			continue;
		if (a->busy) {
			/* Receiving into it right now: let that finish. */
			pthread_cond_wait(&p->cond, &p->lock);
			goto restart;
		}
		fl_async_unlink(p, a);
		fl_overlapped_complete(a->ov, STATUS_CANCELLED, 0);
		free(a);
		found = true;
		goto restart;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	fl_port_put(p);
	return found ? ERROR_SUCCESS : ERROR_NOT_FOUND;
}

bool fl_port_wait_overlapped(HANDLE hPort, const OVERLAPPED *ov)
{
	struct fl_port *p;

	p = (struct fl_port *)fl_handle_get_held(hPort, FL_PORT, fl_port_hold);
	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	while (fl_overlapped_status(ov) == STATUS_PENDING && !p->closing)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	fl_port_put(p);
	return true;
}

static void fl_port_close(struct fl_object *obj)
{
	struct fl_port *p = (struct fl_port *)obj;
	struct fl_async *a;
	uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	p->closing = true;
	for (;;) {
		for (a = p->async_head; a && !a->busy; a = a->next)
			;
		if (!a)
			break;
		pthread_cond_wait(&p->cond, &p->lock);
	}
	/* Closing a handle cancels its pending I/O (ERROR_OPERATION_ABORTED);
	 * after CloseHandle returns, no buffer of it is written. */
	while ((a = p->async_head)) {
		p->async_head = a->next;
		fl_overlapped_complete(a->ov, STATUS_CANCELLED, 0);
		free(a);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	/* Every blocked call wakes and fails; the daemon sees the program go
	 * and calls DisconnectNotify. */
	shutdown(p->req_fd, SHUT_RDWR);
	shutdown(p->msg_fd, SHUT_RDWR);
	shutdown(p->rep_fd, SHUT_RDWR);
	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		one = 0;
	fl_port_put(p);
}
