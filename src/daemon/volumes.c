/*
 * volumes.c - the table of served volumes.  Adding and removing are
 * serialised by one mutex; the I/O path never takes it.
 */
#include "daemon/volumes.h"
#include "iomgr/iomgr.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

struct vol_entry {
	struct io_volume *v;
	bool started;
	struct vol_entry *next;
};

static pthread_mutex_t vols_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vol_entry *vols_head;

int vols_add(const char *dir, const char *name, bool mount)
{
	char real[PATH_MAX];
	struct vol_entry *e, *it;
	int r;

	if (!dir || !name || !*name)
		return -EINVAL;
	if (!realpath(dir, real))
		return -errno;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&vols_lock);
	for (it = vols_head; it; it = it->next)
		if (!strcasecmp(it->v->name, name) || !strcmp(it->v->mountpoint, real)) {
			pthread_mutex_unlock(&vols_lock);
			free(e);
			return -EEXIST;
		}
	r = io_volume_create(real, name, &e->v);
	if (r < 0) {
		pthread_mutex_unlock(&vols_lock);
		free(e);
		return r;
	}
	fm_volume_attach_all(e->v->fm);
	if (mount) {
		r = io_volume_start(e->v);
		if (r < 0) {
			pthread_mutex_unlock(&vols_lock);
			io_volume_unmount(e->v);
			free(e);
			return r;
		}
		e->started = true;
	}
	e->next = vols_head;
	vols_head = e;
	pthread_mutex_unlock(&vols_lock);
	return 0;
}

int vols_start_all(void)
{
	struct vol_entry *e;
	int r = 0;

	pthread_mutex_lock(&vols_lock);
	for (e = vols_head; e && !r; e = e->next) {
		if (e->started)
			continue;
		r = io_volume_start(e->v);
		if (r < 0)
			rtl_log(LOG_ERR, "volume %s: cannot mount %s: %s", e->v->name,
				e->v->mountpoint, strerror(-r));
		else
			e->started = true;
	}
	pthread_mutex_unlock(&vols_lock);
	return r;
}

int vols_remove(const char *name)
{
	struct vol_entry **pp, *e = NULL;

	pthread_mutex_lock(&vols_lock);
	for (pp = &vols_head; *pp; pp = &(*pp)->next)
		if (!strcasecmp((*pp)->v->name, name)) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&vols_lock);
	if (!e)
		return -ENOENT;
	io_volume_unmount(e->v);
	free(e);
	return 0;
}

void vols_remove_all(void)
{
	for (;;) {
		struct vol_entry *e;

		pthread_mutex_lock(&vols_lock);
		e = vols_head;
		if (e)
			vols_head = e->next;
		pthread_mutex_unlock(&vols_lock);
		if (!e)
			return;
		io_volume_unmount(e->v);
		free(e);
	}
}
