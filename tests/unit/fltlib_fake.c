/*
 * fltlib_fake.c - the fake control server of libfltlib's tests (see
 * fltlib_fake.h).  It plays fltmgrd's side of control/proto.h, well or
 * badly as told.
 */
#include "fltlib_fake.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t fake_thread;
static int fake_fd = -1;
static volatile bool fake_quit;
static char fake_path[108];
static char fake_tmp[64];

static struct fake_reply fake_replies[FAKE_MAX_OPS];
static bool fake_set[FAKE_MAX_OPS];
static struct fake_request fake_log[FAKE_LOG];
static size_t fake_nlog, fake_nbad;
static size_t fake_per_op[FAKE_MAX_OPS];

static struct wire fake_writer[FAKE_MAX_OPS];

static size_t fake_packet(const struct ctl_hdr *req, uint8_t *out)
{
	struct fake_reply *r = NULL;
	struct ctl_hdr h = {
		.magic = CTL_MAGIC,
		.version = CTL_VERSION,
		.op = req->op,
		.seq = req->seq,
		.status = (int32_t)0xC0000002, /* STATUS_NOT_IMPLEMENTED */
	};
	size_t len = sizeof(h);

	if (req->op < FAKE_MAX_OPS && fake_set[req->op]) {
		r = &fake_replies[req->op];
		/* Bodies written with fake_reply live in the writer. */
		if (fake_writer[req->op].buf)
			r->len = fake_writer[req->op].pos;
		h.status = r->status;
		memcpy(out + sizeof(h), r->body, r->len);
		len += r->len;
	}
	h.length = (uint32_t)len;
	switch (r ? r->breach : FAKE_OK) {
	case FAKE_BAD_MAGIC:
		h.magic ^= 1;
		break;
	case FAKE_BAD_VERSION:
		h.version++;
		break;
	case FAKE_BAD_SEQ:
		h.seq++;
		break;
	case FAKE_BAD_LENGTH:
		h.length++;
		break;
	case FAKE_SHORT:
		len = sizeof(h) - 3;
		break;
	case FAKE_OVERSIZE:
		memset(out + len, 'x', CTL_MAX_PACKET + 64 - len);
		len = CTL_MAX_PACKET + 64;
		h.length = (uint32_t)len;
		break;
	case FAKE_EMPTY:
		len = 0;
		break;
	case FAKE_OK:
	case FAKE_NO_REPLY:
		break;
	}
	memcpy(out, &h, sizeof(h) < len ? sizeof(h) : len);
	return len;
}

static void fake_serve(int c)
{
	static uint8_t in[CTL_MAX_PACKET + 1], out[CTL_MAX_PACKET + 128];
	struct ctl_hdr h;
	ssize_t n;
	size_t len;

	while ((n = recv(c, in, sizeof(in), 0)) > 0) {
		pthread_mutex_lock(&fake_lock);
		if ((size_t)n < sizeof(h)) {
			fake_nbad++;
			pthread_mutex_unlock(&fake_lock);
			return;
		}
		memcpy(&h, in, sizeof(h));
		if (h.magic != CTL_MAGIC || h.version != CTL_VERSION ||
		    h.length != (uint32_t)n || h.status != 0)
			fake_nbad++;
		if (fake_nlog < FAKE_LOG) {
			fake_log[fake_nlog].op = h.op;
			fake_log[fake_nlog].len = (size_t)n - sizeof(h);
			memcpy(fake_log[fake_nlog].body, in + sizeof(h),
			       (size_t)n - sizeof(h));
		}
		fake_nlog++;
		if (h.op < FAKE_MAX_OPS)
			fake_per_op[h.op]++;
		if (h.op < FAKE_MAX_OPS && fake_set[h.op] &&
		    fake_replies[h.op].breach == FAKE_NO_REPLY) {
			pthread_mutex_unlock(&fake_lock);
			return;
		}
		len = fake_packet(&h, out);
		pthread_mutex_unlock(&fake_lock);
		if (send(c, out, len, MSG_NOSIGNAL) < 0)
			return;
	}
}

static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(fake_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fake_quit) {
			if (c >= 0)
				close(c);
			return NULL;
		}
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		fake_serve(c);
		close(c);
	}
}

void fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sndbuf = 4 * CTL_MAX_PACKET;

	snprintf(fake_tmp, sizeof(fake_tmp), "/tmp/fltlib-test.XXXXXX");
	if (!mkdtemp(fake_tmp))
		abort();
	snprintf(fake_path, sizeof(fake_path), "%s/%s", fake_tmp, CTL_SOCKET_NAME);
	setenv("ALTITUDE_RUNTIME_DIR", fake_tmp, 1);
	fake_clear();
	memset(fake_set, 0, sizeof(fake_set));
	memset(fake_writer, 0, sizeof(fake_writer));
	fake_quit = false;
	fake_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	/* Room for the oversized packet. */
	setsockopt(fake_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memcpy(sa.sun_path, fake_path, strlen(fake_path) + 1);
	if (fake_fd < 0 || bind(fake_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fake_fd, 64) ||
	    pthread_create(&fake_thread, NULL, fake_main, NULL))
		abort();
}

void fake_stop(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int c;

	/* Wake accept with a connection it will see after fake_quit. */
	fake_quit = true;
	memcpy(sa.sun_path, fake_path, strlen(fake_path) + 1);
	c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c >= 0) {
		connect(c, (struct sockaddr *)&sa, sizeof(sa));
		close(c);
	}
	pthread_join(fake_thread, NULL);
	close(fake_fd);
	fake_fd = -1;
	unlink(fake_path);
	rmdir(fake_tmp);
}

const char *fake_dir(void)
{
	return fake_tmp;
}

struct wire *fake_reply(uint16_t op, int32_t status)
{
	struct fake_reply *r = &fake_replies[op];

	assert(op < FAKE_MAX_OPS);
	pthread_mutex_lock(&fake_lock);
	r->status = status;
	r->breach = FAKE_OK;
	r->len = 0;
	fake_set[op] = true;
	wire_init(&fake_writer[op], r->body, sizeof(r->body));
	pthread_mutex_unlock(&fake_lock);
	return &fake_writer[op];
}

void fake_breach(uint16_t op, enum fake_breach breach)
{
	assert(op < FAKE_MAX_OPS);
	pthread_mutex_lock(&fake_lock);
	if (!fake_set[op]) {
		fake_set[op] = true;
		fake_replies[op].status = 0;
		fake_replies[op].len = 0;
	}
	fake_replies[op].breach = breach;
	pthread_mutex_unlock(&fake_lock);
}

void fake_raw(uint16_t op, const void *body, size_t len)
{
	struct fake_reply *r = &fake_replies[op];

	assert(op < FAKE_MAX_OPS && len <= sizeof(r->body));
	pthread_mutex_lock(&fake_lock);
	r->status = 0;
	r->breach = FAKE_OK;
	memcpy(r->body, body, len);
	r->len = len;
	fake_set[op] = true;
	fake_writer[op].buf = NULL;
	pthread_mutex_unlock(&fake_lock);
}

size_t fake_count(void)
{
	size_t n;

	pthread_mutex_lock(&fake_lock);
	n = fake_nlog;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

size_t fake_count_op(uint16_t op)
{
	size_t n;

	pthread_mutex_lock(&fake_lock);
	n = op < FAKE_MAX_OPS ? fake_per_op[op] : 0;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

const struct fake_request *fake_req(size_t i, struct wire *w)
{
	const struct fake_request *r;

	assert(i < FAKE_LOG && i < fake_count());
	r = &fake_log[i];
	wire_init(w, (void *)r->body, r->len);
	return r;
}

size_t fake_bad_requests(void)
{
	size_t n;

	pthread_mutex_lock(&fake_lock);
	n = fake_nbad;
	pthread_mutex_unlock(&fake_lock);
	return n;
}

void fake_clear(void)
{
	pthread_mutex_lock(&fake_lock);
	fake_nlog = 0;
	fake_nbad = 0;
	memset(fake_per_op, 0, sizeof(fake_per_op));
	pthread_mutex_unlock(&fake_lock);
}

void fake_filters(size_t n, const char *const names[],
		  const char *const altitudes[], const uint32_t instances[])
{
	struct wire *w = fake_reply(CTL_ENUM_FILTERS, 0);
	size_t i;

	wire_put_u32(w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		wire_put_str(w, names[i]);
		wire_put_str(w, altitudes[i]);
		wire_put_u32(w, instances ? instances[i] : 0);
		wire_put_u32(w, 0); /* frame */
		wire_put_u32(w, 0); /* flags */
	}
}

void fake_instances(size_t n, const struct fake_instance *v)
{
	struct wire *w = fake_reply(CTL_ENUM_INSTANCES, 0);
	size_t i;

	wire_put_u32(w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		wire_put_str(w, v[i].filter);
		wire_put_str(w, v[i].volume);
		wire_put_str(w, v[i].instance);
		wire_put_str(w, v[i].altitude);
		wire_put_u32(w, v[i].frame);
		wire_put_u32(w, v[i].flags);
		wire_put_u32(w, v[i].fs_type);
	}
}

void fake_volumes(size_t n, const struct fake_volume *v)
{
	struct wire *w = fake_reply(CTL_ENUM_VOLUMES, 0);
	size_t i;

	wire_put_u32(w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		wire_put_str(w, v[i].name);
		wire_put_str(w, v[i].dos);
		wire_put_u32(w, v[i].fs_type);
		wire_put_u32(w, v[i].flags);
		wire_put_str(w, v[i].fs);
	}
}

const WCHAR *w16(const char *ascii)
{
	static __thread WCHAR ring[8][512];
	static __thread unsigned next;
	WCHAR *w = ring[next++ % 8];
	size_t i;

	for (i = 0; ascii[i] && i < 511; i++)
		w[i] = (WCHAR)(unsigned char)ascii[i];
	w[i] = 0;
	return w;
}

bool w16_eq(const void *p, size_t cb, const char *s)
{
	const unsigned char *b = p;
	size_t i, n = strlen(s);

	if (cb != n * 2)
		return false;
	for (i = 0; i < n; i++) {
		WCHAR c;

		memcpy(&c, b + 2 * i, sizeof(c));
		if (c != (unsigned char)s[i])
			return false;
	}
	return true;
}
