/*
 * control.c - the control-socket client behind every management call.
 *
 * A call opens its own connection, so concurrent callers never share a
 * socket and a daemon restart between calls is harmless.  The reply is
 * trusted for nothing: its size, magic, version, sequence number and
 * length field are all checked before the body is handed to the caller,
 * which reads it with wire.h's bounds-checked accessors.
 */
#include "fltlib/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fltlib/handle.h"

static uint32_t fl_ctl_seq;

HRESULT fl_ctl_begin(struct fl_ctl *c, uint16_t op)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->seq = __atomic_add_fetch(&fl_ctl_seq, 1, __ATOMIC_RELAXED);
	c->req_buf = malloc(CTL_MAX_PACKET);
	c->rep_buf = malloc(CTL_MAX_PACKET);
	if (!c->req_buf || !c->rep_buf) {
		fl_ctl_end(c);
		return E_OUTOFMEMORY;
	}
	wire_init(&c->req, c->req_buf, CTL_MAX_PACKET);
	c->req.pos = sizeof(struct ctl_hdr);
	wire_init(&c->rep, c->rep_buf, 0);
	return S_OK;
}

void fl_ctl_end(struct fl_ctl *c)
{
	free(c->req_buf);
	free(c->rep_buf);
	c->req_buf = NULL;
	c->rep_buf = NULL;
}

/* A connected socket, or -errno. */
static int fl_ctl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[sizeof(sa.sun_path) + 1];
	int fd, err;

	fl_socket_path(CTL_SOCKET_NAME, path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		/* No runtime directory at all is "not running" too. */
		return -(err == ENOTDIR ? ENOENT : err);
	}
	return fd;
}

static HRESULT fl_ctl_hresult(int err)
{
	if (err == ENAMETOOLONG)
		return HRESULT_FROM_WIN32(ERROR_INVALID_NAME);
	return fl_hresult_from_errno(err);
}

/* Checks the reply header; the body becomes c->rep. */
static HRESULT fl_ctl_check(struct fl_ctl *c, ssize_t n)
{
	struct ctl_hdr h;
	HRESULT hr;

	if (n == 0)
		return HRESULT_FROM_WIN32(ERROR_BROKEN_PIPE);
	if (n < (ssize_t)sizeof(h) || n > CTL_MAX_PACKET)
		return FL_E_PROTOCOL;
	memcpy(&h, c->rep_buf, sizeof(h));
	if (h.magic != CTL_MAGIC || h.version != CTL_VERSION ||
	    h.seq != c->seq || h.length != (uint32_t)n)
		return FL_E_PROTOCOL;
	hr = fl_hresult_from_status(h.status);
	if (FAILED(hr))
		return hr;
	wire_init(&c->rep, c->rep_buf, (size_t)n);
	c->rep.pos = sizeof(h);
	return S_OK;
}

HRESULT fl_ctl_call(struct fl_ctl *c)
{
	struct ctl_hdr h = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.op = c->op,
		.seq = c->seq,
	};
	ssize_t n;
	int fd;

	if (c->req.bad)
		return E_INVALIDARG; /* the request does not fit in a packet */
	h.length = (uint32_t)c->req.pos;
	memcpy(c->req_buf, &h, sizeof(h));

	fd = fl_ctl_connect();
	if (fd < 0)
		return fl_ctl_hresult(-fd);
	do
		n = send(fd, c->req_buf, c->req.pos, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)c->req.pos) {
		int err = n < 0 ? errno : EPIPE;

		close(fd);
		return fl_ctl_hresult(err);
	}
	/* MSG_TRUNC: n is the packet's real size, so an oversized one shows. */
	do
		n = recv(fd, c->rep_buf, CTL_MAX_PACKET, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;

		close(fd);
		return fl_ctl_hresult(err);
	}
	close(fd);
	return fl_ctl_check(c, n);
}

HRESULT fl_ctl_simple(uint16_t op, const char *s1, const char *s2)
{
	struct fl_ctl c;
	HRESULT hr;

	hr = fl_ctl_begin(&c, op);
	if (FAILED(hr))
		return hr;
	if (s1)
		wire_put_str(&c.req, s1);
	if (s2)
		wire_put_str(&c.req, s2);
	hr = fl_ctl_call(&c);
	if (SUCCEEDED(hr) && c.rep.pos != c.rep.cap)
		hr = FL_E_PROTOCOL;
	fl_ctl_end(&c);
	return hr;
}

HRESULT fl_arg_utf8(LPCWSTR in, char out[FL_STR_MAX + 1], bool optional)
{
	if (!in) {
		out[0] = 0;
		return optional ? S_OK : E_INVALIDARG;
	}
	if (!fl_to_utf8(in, out, FL_STR_MAX + 1))
		return HRESULT_FROM_WIN32(ERROR_INVALID_NAME);
	return (*out || optional) ? S_OK : E_INVALIDARG;
}
