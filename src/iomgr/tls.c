/*
 * tls.c - per-request-stream buffers of the I/O manager: the request read
 * from /dev/fuse, read/write data, directory batches, extended attributes,
 * the target of a rename or link.
 *
 * They belong to the fiber serving the request (rtl/fiber.h), not to the
 * thread: a request a filter pended keeps its buffers, parked with its
 * fiber, while the thread serves the next request on another fiber with
 * its own.  Each set is made on first use, grows as requests need, and is
 * freed with its fiber, so the data path allocates nothing in the steady
 * state.  Threads not running fibers (filters' own threads issuing I/O)
 * get a set per thread.
 */
#include "iomgr/iomgr.h"
#include "rtl/fiber.h"

#include <stdlib.h>

static pthread_key_t io_tls_key;
static int io_fiber_key = -1;
static pthread_once_t io_tls_once = PTHREAD_ONCE_INIT;

static void io_tls_free(void *p)
{
	struct io_tls *t = p;

	free(t->fbuf.mem);
	free(t->data);
	free(t->dir_irp);
	free(t->dir_cookies);
	free(t->dir_types);
	free(t->dir_reply);
	free(t->ea);
	free(t->target);
	free(t);
}

static void io_tls_init(void)
{
	pthread_key_create(&io_tls_key, io_tls_free);
	io_fiber_key = rtl_fiber_key_create(io_tls_free);
}

struct io_tls *io_tls(void)
{
	struct io_tls *t;
	void **slot;

	pthread_once(&io_tls_once, io_tls_init);
	slot = rtl_fiber_local(io_fiber_key);
	if (slot) {
		if (!*slot)
			*slot = calloc(1, sizeof(struct io_tls));
		return *slot;
	}
	t = pthread_getspecific(io_tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (t && pthread_setspecific(io_tls_key, t) != 0) {
			free(t);
			t = NULL;
		}
	}
	return t;
}

void *io_tls_grow(void **buf, size_t *cap, size_t need)
{
	void *p;

	if (need <= *cap && *buf)
		return *buf;
	p = realloc(*buf, need ? need : 1);
	if (!p)
		return NULL;
	*buf = p;
	*cap = need ? need : 1;
	return p;
}
