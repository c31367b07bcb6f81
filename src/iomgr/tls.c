/*
 * tls.c - per-thread buffers of the I/O manager (read/write data, directory
 * batches, extended attributes).  Each FUSE worker thread gets its own set
 * on first use, grows it as requests need, and frees it when the thread
 * ends, so the data path allocates nothing in the steady state.
 */
#include "iomgr/iomgr.h"

#include <stdlib.h>

static pthread_key_t io_tls_key;
static pthread_once_t io_tls_once = PTHREAD_ONCE_INIT;

static void io_tls_free(void *p)
{
	struct io_tls *t = p;

	free(t->data);
	free(t->dir_irp);
	free(t->dir_cookies);
	free(t->dir_types);
	free(t->dir_reply);
	free(t->ea);
	free(t);
}

static void io_tls_init(void)
{
	pthread_key_create(&io_tls_key, io_tls_free);
}

struct io_tls *io_tls(void)
{
	struct io_tls *t;

	pthread_once(&io_tls_once, io_tls_init);
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
