/*
 * client.c - client ports: one per connection.  The connection's thread
 * does the handshake (CONNECT: find the port, check the peer against its
 * security descriptor and MaxConnections, call ConnectNotify, pass the msg
 * and rep sockets), then serves FilterSendMessage requests by calling
 * MessageNotify, and when the connection ends for any reason calls
 * DisconnectNotify exactly once.  FltCloseClientPort lives here too.
 *
 * Statuses a program can get from the handshake: STATUS_OBJECT_NAME_NOT_FOUND
 * (no such open port), STATUS_ACCESS_DENIED (descriptor),
 * STATUS_CONNECTION_COUNT_LIMIT (MaxConnections), whatever ConnectNotify
 * returned, STATUS_INVALID_PARAMETER / STATUS_OBJECT_NAME_INVALID /
 * STATUS_REVISION_MISMATCH for a malformed CONNECT.  A malformed request on
 * an established connection gets an ERROR frame with the status and the
 * connection stays up, until PT_MAX_PROTOCOL_ERRORS of them.
 */
#include "ports/ports.h"
#include "ports/frame.h"
#include "ports/pt.h"
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- The registry of live clients ---------------------------------------- */

#define PT_STRIPES 64

static struct {
	pthread_mutex_t lock;
	struct pt_client *head;
} pt_reg[PT_STRIPES] = { [0 ... PT_STRIPES - 1] = {
				 PTHREAD_MUTEX_INITIALIZER, NULL } };

static unsigned pt_stripe(const void *p)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 9;
	x ^= x >> 17;
	return (unsigned)(x % PT_STRIPES);
}

static void pt_reg_add(struct pt_client *c)
{
	unsigned s = pt_stripe(c);

	pthread_mutex_lock(&pt_reg[s].lock);
	c->reg_next = pt_reg[s].head;
	pt_reg[s].head = c;
	pthread_mutex_unlock(&pt_reg[s].lock);
}

static void pt_reg_remove(struct pt_client *c)
{
	unsigned s = pt_stripe(c);
	struct pt_client **pp;

	pthread_mutex_lock(&pt_reg[s].lock);
	for (pp = &pt_reg[s].head; *pp; pp = &(*pp)->reg_next)
		if (*pp == c) {
			*pp = c->reg_next;
			break;
		}
	pthread_mutex_unlock(&pt_reg[s].lock);
}

/* ---- Lifetime ------------------------------------------------------------------ */

static void pt_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void pt_client_free(struct pt_client *c)
{
	struct pt_port *port = c->port;
	struct pt_client **pp;

	pt_reg_remove(c);
	pthread_mutex_lock(&pt_lock);
	for (pp = &port->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pt_port_put_locked(port);
	pthread_mutex_unlock(&pt_lock);
	pt_close_fd(&c->req_fd);
	pt_close_fd(&c->msg_fd);
	pt_close_fd(&c->rep_fd);
	pthread_mutex_destroy(&c->lock);
	free(c->rep_buf);
	free(c->in_buf);
	free(c->out_buf);
	c->magic = 0;
	free(c);
}

/*
 * After users or filter_ref went down (c->lock held by the caller, released
 * here): closes the descriptors of a dead client nobody uses, frees one
 * nothing refers to.
 */
static void pt_client_settle(struct pt_client *c)
{
	bool gone = !c->users && !c->filter_ref;

	if (!c->users && c->dead) {
		pt_close_fd(&c->msg_fd);
		pt_close_fd(&c->rep_fd);
		pt_close_fd(&c->req_fd);
	}
	pthread_mutex_unlock(&c->lock);
	if (gone)
		pt_client_free(c);
}

struct pt_client *pt_client_use(struct pt_client *c)
{
	unsigned s = pt_stripe(c);
	struct pt_client *it;
	bool ok = false;

	pthread_mutex_lock(&pt_reg[s].lock);
	for (it = pt_reg[s].head; it; it = it->reg_next)
		if (it == c)
			break;
	if (it) {
		pthread_mutex_lock(&c->lock);
		if (!c->dead) {
			c->users++;
			ok = true;
		}
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&pt_reg[s].lock);
	return ok ? c : NULL;
}

NTSTATUS FLTAPI FltGetClientPortLxCredentials(PFLT_PORT ClientPort,
					      PFLT_PORT_LX_CREDENTIALS Credentials)
{
	struct pt_client *c = (struct pt_client *)ClientPort;
	uint32_t i;

	if (!Credentials)
		return STATUS_INVALID_PARAMETER;
	if (!c || !(c = pt_client_use(c)))
		return STATUS_PORT_DISCONNECTED;
	Credentials->ProcessId = (ULONG)c->pid;
	Credentials->Uid = c->uid;
	Credentials->Gid = c->gid;
	Credentials->GroupCount = c->ngroups;
	for (i = 0; i < c->ngroups; i++)
		Credentials->Groups[i] = c->groups[i];
	pt_client_unuse(c);
	return STATUS_SUCCESS;
}

void pt_client_unuse(struct pt_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->users--;
	pt_client_settle(c);
}

bool pt_client_drop_filter_ref(struct pt_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->filter_ref) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->filter_ref = false;
	pt_client_settle(c);
	return true;
}

void pt_client_kill(struct pt_client *c)
{
	struct pt_waiter *w;

	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->dead = true;
	for (w = c->waiters; w; w = w->next) {
		if (w->done)
			continue;
		w->done = true;
		w->status = STATUS_PORT_DISCONNECTED;
		pthread_cond_signal(&w->cond);
	}
	/* Wakes the connection thread, a reader of rep, a sender waiting for
	 * room in msg, and every blocked call of the program. */
	if (c->req_fd >= 0)
		shutdown(c->req_fd, SHUT_RDWR);
	if (c->msg_fd >= 0)
		shutdown(c->msg_fd, SHUT_RDWR);
	if (c->rep_fd >= 0)
		shutdown(c->rep_fd, SHUT_RDWR);
	pthread_mutex_unlock(&c->lock);
}

VOID FLTAPI FltCloseClientPort(PFLT_FILTER Filter, PFLT_PORT *ClientPort)
{
	struct pt_client *c;

	(void)Filter;
	if (!ClientPort)
		return;
	c = (struct pt_client *)__atomic_exchange_n(ClientPort, NULL,
						    __ATOMIC_ACQ_REL);
	if (!c)
		return;
	/* A stale pointer (closed twice through copies) is not in the
	 * registry: nothing to do. */
	if (!pt_client_use(c)) {
		unsigned s = pt_stripe(c);
		struct pt_client *it;

		pthread_mutex_lock(&pt_reg[s].lock);
		for (it = pt_reg[s].head; it && it != c; it = it->reg_next)
			;
		pthread_mutex_unlock(&pt_reg[s].lock);
		/* Dead but still referenced by the filter: drop that. */
		if (it)
			pt_client_drop_filter_ref(c);
		return;
	}
	pt_client_kill(c);
	pthread_mutex_lock(&c->lock);
	c->filter_ref = false;
	c->users--;
	pt_client_settle(c);
}

/* ---- Frames on the connection ----------------------------------------------------- */

static ssize_t pt_send(int fd, const struct pt_hdr *h, const void *body,
		       size_t len)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) },
				{ (void *)body, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;

	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n;
}

static void pt_send_error(struct pt_client *c, uint64_t id, NTSTATUS st)
{
	struct pt_hdr h;

	pt_hdr_init(&h, PT_OP_ERROR, 0);
	h.id = id;
	h.status = st;
	pt_send(c->req_fd, &h, NULL, 0);
}

bool pt_at_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	int r = poll(&p, 1, 0);

	/* Nothing pending and no hang-up: the 0 was an empty datagram. */
	return r < 0 ||
	       (r == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)));
}

/*
 * One datagram into buf; its real size (MSG_TRUNC), 0 at end of file.  An
 * empty datagram, which recv also reports as 0, comes back as -2.
 */
static ssize_t pt_recv(int fd, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd, buf, cap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n == 0 && !pt_at_eof(fd))
		return -2;
	return n;
}

/* ---- The handshake ------------------------------------------------------------------- */

struct pt_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	size_t ngroups;
};

static bool pt_peer_get(int fd, struct pt_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	len = sizeof(peer->groups);
	/* A process in more groups than fit is judged by its primary group:
	 * that can only narrow what it is granted. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) < 0)
		len = 0;
	peer->ngroups = len / sizeof(gid_t);
	return true;
}

/* Finds the port and reserves a connection on it, or says why not. */
static NTSTATUS pt_admit(const char *name, const struct pt_peer *peer,
			 struct pt_port **out)
{
	struct pt_port *port;
	ACCESS_MASK access;
	NTSTATUS st = STATUS_SUCCESS;

	pthread_mutex_lock(&pt_lock);
	port = pt_port_find(name);
	if (!port || port->unloading) {
		st = STATUS_OBJECT_NAME_NOT_FOUND;
		goto out;
	}
	access = pt_sd_access(&port->sd, peer->uid, peer->gid, peer->groups,
			      peer->ngroups);
	if (!(access & FLT_PORT_CONNECT)) {
		st = STATUS_ACCESS_DENIED;
		goto out;
	}
	if (port->connections >= (unsigned)port->max_connections) {
		st = STATUS_CONNECTION_COUNT_LIMIT;
		goto out;
	}
	port->connections++;
	port->threads++;
	port->refs++; /* the thread's */
	*out = port;
out:
	pthread_mutex_unlock(&pt_lock);
	return st;
}

/* Returns the reservation pt_admit made; wakes an unloading filter. */
static void pt_leave(struct pt_port *port, bool connected)
{
	pthread_mutex_lock(&pt_lock);
	if (connected)
		port->connections--;
	port->threads--;
	pthread_cond_broadcast(&pt_cond);
	pt_port_put_locked(port);
	pthread_mutex_unlock(&pt_lock);
}

static struct pt_client *pt_client_new(struct pt_port *port, int fd,
				       const struct pt_peer *peer, int ends[2])
{
	struct pt_client *c = calloc(1, sizeof(*c));
	int msg[2] = { -1, -1 }, rep[2] = { -1, -1 };

	if (!c)
		return NULL;
	c->rep_buf = malloc(PT_MAX_FRAME);
	if (!c->rep_buf ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, msg) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) < 0) {
		pt_close_fd(&msg[0]);
		pt_close_fd(&msg[1]);
		free(c->rep_buf);
		free(c);
		return NULL;
	}
	c->magic = PT_CLIENT_MAGIC;
	c->port = port;
	c->req_fd = fd;
	c->msg_fd = msg[0];
	c->rep_fd = rep[0];
	ends[0] = msg[1];
	ends[1] = rep[1];
	c->pid = peer->pid;
	c->uid = peer->uid;
	c->gid = peer->gid;
	c->ngroups = peer->ngroups < FLT_PORT_LX_MAX_GROUPS
			     ? (uint32_t)peer->ngroups
			     : FLT_PORT_LX_MAX_GROUPS;
	memcpy(c->groups, peer->groups, c->ngroups * sizeof(gid_t));
	c->users = 1; /* the connection thread */
	c->filter_ref = true; /* the filter gets it in ConnectNotify */
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_lock(&pt_lock);
	c->next = port->clients;
	port->clients = c;
	port->refs++; /* the client object's */
	if (port->unloading)
		c->dead = true;
	pthread_mutex_unlock(&pt_lock);
	pt_reg_add(c);
	return c;
}

/* received_ns: the daemon's clock when CONNECT arrived (fltlib measures
 * the clocks' offset from its own clock before it sent CONNECT: never less
 * than the true one, so a program never takes a message for unexpired
 * after its sender has given up on it). */
static bool pt_connect_reply(int fd, NTSTATUS st, const int *ends,
			     int64_t received_ns)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	uint8_t body[64];
	struct pt_hdr h;
	size_t len = 0;
	struct iovec iov[2];
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (NT_SUCCESS(st))
		len = pt_connect_done_encode(body, sizeof(body), received_ns);
	pt_hdr_init(&h, PT_OP_CONNECT_DONE, len);
	h.status = st;
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ body, len };
	if (ends) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		memcpy(CMSG_DATA(cm), ends, 2 * sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)(sizeof(h) + len);
}

/* ---- Requests: FilterSendMessage -> MessageNotify ------------------------------------------ */

static bool pt_out_reserve(struct pt_client *c, size_t need)
{
	uint8_t *p;

	if (need <= c->out_cap)
		return true;
	p = realloc(c->out_buf, need);
	if (!p)
		return false;
	/* Never hand a program bytes the filter did not write. */
	memset(p + c->out_cap, 0, need - c->out_cap);
	c->out_buf = p;
	c->out_cap = need;
	return true;
}

static void pt_serve_send(struct pt_client *c, const struct pt_hdr *req,
			  uint8_t *in, uint32_t in_len)
{
	struct pt_port *port = c->port;
	uint32_t out_len = req->arg < PT_MAX_DATA ? req->arg : PT_MAX_DATA;
	ULONG ret = 0;
	struct pt_hdr h;
	NTSTATUS st;

	if (!port->message_cb)
		st = STATUS_NOT_SUPPORTED;
	else if (!pt_out_reserve(c, out_len ? out_len : 1))
		st = STATUS_INSUFFICIENT_RESOURCES;
	else
		st = port->message_cb(c->cookie, in_len ? in : NULL, in_len,
				      out_len ? c->out_buf : NULL, out_len,
				      &ret);
	/* As the I/O manager does: an error returns no data; a success or
	 * warning (STATUS_BUFFER_OVERFLOW) returns what fits. */
	if (NT_ERROR(st))
		ret = 0;
	if (ret > out_len) {
		rtl_log(LOG_WARNING,
			"ports: %s: MessageNotify returned %lu bytes for a %lu-byte buffer",
			port->name, (unsigned long)ret, (unsigned long)out_len);
		ret = out_len;
	}
	pt_hdr_init(&h, PT_OP_SEND_DONE, ret);
	h.id = req->id;
	h.status = st;
	h.arg = ret;
	pt_send(c->req_fd, &h, c->out_buf, ret);
}

static void pt_protocol_error(struct pt_client *c, const uint8_t *buf,
			      ssize_t n, NTSTATUS st)
{
	uint64_t id = 0;

	if (n >= (ssize_t)sizeof(struct pt_hdr))
		memcpy(&id, buf + offsetof(struct pt_hdr, id), sizeof(id));
	if (!c->protocol_errors++)
		rtl_log(LOG_WARNING,
			"ports: %s: malformed request from pid %ld: %s",
			c->port->name, (long)c->pid, rtl_status_name(st));
	pt_send_error(c, id, st);
}

static void pt_serve(struct pt_client *c)
{
	for (;;) {
		ssize_t n = pt_recv(c->req_fd, c->in_buf, PT_MAX_FRAME);
		struct pt_hdr h;
		NTSTATUS st;

		if (n == -2)
			n = 0; /* an empty datagram: malformed, below */
		else if (n <= 0)
			return;
		st = pt_request_check(c->in_buf, (size_t)n, PT_MAX_FRAME, &h);
		if (!NT_SUCCESS(st)) {
			pt_protocol_error(c, c->in_buf, n, st);
			if (c->protocol_errors >= PT_MAX_PROTOCOL_ERRORS)
				return;
			continue;
		}
		pt_serve_send(c, &h, c->in_buf + sizeof(h),
			      (uint32_t)(n - sizeof(h)));
	}
}

/* ---- The connection thread ------------------------------------------------------------------ */

static void pt_set_timeout(int fd, time_t secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Reads and checks CONNECT and who sent it.  false if the connection
 * closed without a word; otherwise *st says whether to go on.
 */
static bool pt_read_connect(int fd, uint8_t *buf, char *name,
			    const void **ctx, uint32_t *ctx_len,
			    struct pt_peer *peer, NTSTATUS *st,
			    int64_t *received_ns)
{
	struct pt_hdr h;
	ssize_t n;

	pt_set_timeout(fd, PT_HANDSHAKE_SECS);
	n = pt_recv(fd, buf, PT_MAX_FRAME);
	*received_ns = pt_now_ns();
	if (n == -2)
		n = 0; /* an empty datagram: malformed, below */
	else if (n <= 0)
		return false;
	*st = pt_hdr_check(buf, (size_t)n, PT_MAX_FRAME, &h);
	if (NT_SUCCESS(*st) && h.op != PT_OP_CONNECT)
		*st = STATUS_INVALID_PARAMETER;
	if (NT_SUCCESS(*st))
		*st = pt_connect_decode(buf + sizeof(h), (size_t)n - sizeof(h),
					name, ctx, ctx_len);
	if (NT_SUCCESS(*st) && !pt_peer_get(fd, peer))
		*st = STATUS_ACCESS_DENIED;
	return true;
}

/*
 * ConnectNotify said no: the filter must not keep the pointer and gets no
 * DisconnectNotify.  The slot is free before the program hears about it,
 * so it may try again at once.  c->lock is held on entry.
 */
static void pt_refused(struct pt_client *c, int fd, NTSTATUS st,
		       const int ends[2])
{
	struct pt_port *port = c->port;

	c->req_fd = -1; /* fd stays open for the answer; the caller closes it */
	pthread_mutex_unlock(&c->lock);
	rtl_log(LOG_DEBUG, "ports: %s: ConnectNotify refused pid %ld: %s",
		port->name, (long)c->pid, rtl_status_name(st));
	pt_client_kill(c);
	pthread_mutex_lock(&c->lock);
	c->filter_ref = false;
	c->users--;
	pt_client_settle(c);
	pt_leave(port, true);
	pt_connect_reply(fd, st, NULL, 0);
	close(ends[0]);
	close(ends[1]);
}

/* The handshake: the connected client, or NULL when the program was turned
 * away (it has its answer then). */
static struct pt_client *pt_handshake(int fd, uint8_t *buf)
{
	char name[PT_MAX_NAME + 1] = "?";
	const void *ctx = NULL;
	uint32_t ctx_len = 0;
	struct pt_port *port = NULL;
	struct pt_client *c;
	struct pt_peer peer;
	int64_t received_ns;
	int ends[2];
	NTSTATUS st;

	if (!pt_read_connect(fd, buf, name, &ctx, &ctx_len, &peer, &st,
			     &received_ns))
		return NULL;
	if (NT_SUCCESS(st))
		st = pt_admit(name, &peer, &port);
	if (!NT_SUCCESS(st)) {
		rtl_log(LOG_DEBUG, "ports: connection to %s refused: %s",
			name[0] ? name : "?", rtl_status_name(st));
		pt_connect_reply(fd, st, NULL, 0);
		return NULL;
	}
	c = pt_client_new(port, fd, &peer, ends);
	if (!c) {
		pt_connect_reply(fd, STATUS_INSUFFICIENT_RESOURCES, NULL, 0);
		pt_leave(port, true);
		return NULL;
	}
	st = port->connect_cb((PFLT_PORT)c, port->cookie, (PVOID)ctx, ctx_len,
			      &c->cookie);
	pthread_mutex_lock(&c->lock);
	if (!NT_SUCCESS(st)) {
		pt_refused(c, fd, st, ends);
		return NULL;
	}
	/* The filter started unloading meanwhile: it has accepted, so it
	 * gets its DisconnectNotify, but the program is told no. */
	if (c->dead)
		st = STATUS_PORT_DISCONNECTED;
	pthread_mutex_unlock(&c->lock);
	if (!pt_connect_reply(fd, st, NT_SUCCESS(st) ? ends : NULL,
			      received_ns))
		pt_client_kill(c);
	close(ends[0]);
	close(ends[1]);
	pt_set_timeout(fd, 0);
	rtl_log(LOG_DEBUG, "ports: %s: pid %ld (uid %ld) connected", port->name,
		(long)peer.pid, (long)peer.uid);
	return c;
}

void *pt_connection_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct pt_client *c;
	struct pt_port *port;
	uint8_t *buf = malloc(PT_MAX_FRAME);

	c = buf ? pt_handshake(fd, buf) : NULL;
	pt_handshake_over(fd);
	if (!c) {
		free(buf);
		close(fd);
		goto out;
	}
	c->in_buf = buf;
	port = c->port;
	pt_serve(c);
	pt_client_kill(c);
	port->disconnect_cb(c->cookie);
	rtl_log(LOG_DEBUG, "ports: %s: pid %ld disconnected", port->name,
		(long)c->pid);
	pt_client_unuse(c);
	pt_leave(port, true);
out:
	pthread_mutex_lock(&pt_lock);
	pt_threads_running--;
	pthread_cond_broadcast(&pt_cond);
	pthread_mutex_unlock(&pt_lock);
	return NULL;
}
