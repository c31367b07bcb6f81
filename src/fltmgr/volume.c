/*
 * volume.c - filter manager volumes and their instance stacks.
 *
 * The stack of a volume is an immutable snapshot.  Operations reference the
 * current snapshot (fm_stack_get) for their whole life; attach and detach
 * build a new snapshot, publish it, and wait for the old one to drain before
 * freeing it, so an operation never sees an instance appear or vanish midway
 * and teardown-complete runs only after the instance's last operation.
 */
#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct fm_volume *fm_volumes;

static struct fm_stack *fm_stack_alloc(void)
{
	struct fm_stack *s = calloc(1, sizeof(*s));

	if (s)
		atomic_init(&s->refs, 1);
	return s;
}

/* Recomputes the per-major index and the caching policy of a snapshot. */
static void fm_stack_index(struct fm_stack *s)
{
	unsigned i, m;

	memset(s->n_major, 0, sizeof(s->n_major));
	s->any_ops = false;
	s->uncached_read = false;
	s->uncached_query = false;
	for (i = 0; i < s->count; i++) {
		const struct fm_op_reg *ops = s->inst[i]->filter->ops;

		for (m = 0; m < FM_MAJOR_COUNT; m++)
			if (ops[m].registered) {
				s->by_major[m][s->n_major[m]++] = (unsigned char)i;
				s->any_ops = true;
			}
		if (ops[IRP_MJ_READ].registered &&
		    !(ops[IRP_MJ_READ].flags &
		      FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO))
			s->uncached_read = true;
		if (ops[IRP_MJ_QUERY_INFORMATION].registered)
			s->uncached_query = true;
	}
}

int fm_volume_create(const char *name, const char *dos_name,
		     const struct fm_volume_ops *ops, void *owner,
		     struct fm_volume **out)
{
	struct fm_volume *vol;
	char devname[FM_NAME_MAX + 16];
	ssize_t n;

	if (!name || !*name || strlen(name) >= FM_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&fm_global_lock);
	for (vol = fm_volumes; vol; vol = vol->next)
		if (!strcasecmp(vol->name, name)) {
			pthread_mutex_unlock(&fm_global_lock);
			return -EEXIST;
		}
	pthread_mutex_unlock(&fm_global_lock);

	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return -ENOMEM;
	fm_object_init(&vol->obj, FM_OBJ_VOLUME);
	strcpy(vol->name, name);
	vol->dos_name = strdup(dos_name ? dos_name : "");
	snprintf(devname, sizeof(devname), "/Device/%s", name);
	vol->device_name.Buffer = calloc(sizeof(devname), sizeof(WCHAR));
	vol->stack = fm_stack_alloc();
	if (!vol->dos_name || !vol->device_name.Buffer || !vol->stack)
		goto out_free;
	n = rtl_path_to_utf16(devname, strlen(devname),
			      vol->device_name.Buffer, sizeof(devname));
	if (n < 0)
		goto out_free;
	vol->device_name.Length = (USHORT)(n * sizeof(WCHAR));
	vol->device_name.MaximumLength = (USHORT)(sizeof(devname) * 2);
	vol->fs_type = FLT_FSTYPE_LINUX;
	pthread_rwlock_init(&vol->stack_lock, NULL);
	pthread_mutex_init(&vol->attach_lock, NULL);
	pthread_mutex_init(&vol->drain_lock, NULL);
	pthread_cond_init(&vol->drain_cond, NULL);
	pthread_mutex_init(&vol->ctx_lock, NULL);
	vol->ops = ops;
	vol->owner = owner;

	pthread_mutex_lock(&fm_global_lock);
	vol->next = fm_volumes;
	fm_volumes = vol;
	pthread_mutex_unlock(&fm_global_lock);
	*out = vol;
	return 0;

out_free:
	free(vol->stack);
	free(vol->device_name.Buffer);
	free(vol->dos_name);
	free(vol);
	return -ENOMEM;
}

struct fm_volume *fm_volume_find(const char *name)
{
	struct fm_volume *vol;

	pthread_mutex_lock(&fm_global_lock);
	for (vol = fm_volumes; vol; vol = vol->next)
		if (!strcasecmp(vol->name, name))
			break;
	pthread_mutex_unlock(&fm_global_lock);
	return vol;
}

struct fm_stack *fm_stack_get(struct fm_volume *vol)
{
	struct fm_stack *s;

	pthread_rwlock_rdlock(&vol->stack_lock);
	s = vol->stack;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_rwlock_unlock(&vol->stack_lock);
	return s;
}

void fm_stack_put(struct fm_volume *vol, struct fm_stack *s)
{
	/* A retired snapshot is owned by the publisher waiting for it; wake
	 * it when only its reference is left. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 2 &&
	    __atomic_load_n(&vol->stack, __ATOMIC_SEQ_CST) != s) {
		pthread_mutex_lock(&vol->drain_lock);
		pthread_cond_broadcast(&vol->drain_cond);
		pthread_mutex_unlock(&vol->drain_lock);
	}
}

void fm_volume_drain(struct fm_volume *vol, struct fm_stack *old)
{
	pthread_mutex_lock(&vol->drain_lock);
	while (atomic_load(&old->refs) > 1)
		pthread_cond_wait(&vol->drain_cond, &vol->drain_lock);
	pthread_mutex_unlock(&vol->drain_lock);
	free(old);
}

/* Called with vol->attach_lock held. */
int fm_volume_publish(struct fm_volume *vol, struct fm_instance *add,
		      struct fm_instance *remove)
{
	struct fm_stack *old = vol->stack, *s = fm_stack_alloc();
	unsigned i, j = 0;
	bool placed = false;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < old->count; i++) {
		struct fm_instance *cur = old->inst[i];

		if (cur == remove)
			continue;
		if (add && !placed &&
		    fm_altitude_compare(add->altitude, cur->altitude) > 0) {
			s->inst[j++] = add;
			placed = true;
		}
		s->inst[j++] = cur;
	}
	if (add && !placed)
		s->inst[j++] = add;
	s->count = j;
	fm_stack_index(s);

	pthread_rwlock_wrlock(&vol->stack_lock);
	__atomic_store_n(&vol->stack, s, __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&vol->stack_lock);
	/* The volume's reference on old now belongs to us: wait it out. */
	fm_volume_drain(vol, old);
	if (vol->ops && vol->ops->stack_changed)
		vol->ops->stack_changed(vol, vol->owner);
	return 0;
}

void fm_volume_destroy(struct fm_volume *vol)
{
	struct fm_volume **pp;

	pthread_mutex_lock(&fm_global_lock);
	for (pp = &fm_volumes; *pp; pp = &(*pp)->next)
		if (*pp == vol) {
			*pp = vol->next;
			break;
		}
	pthread_mutex_unlock(&fm_global_lock);

	/* Highest altitude first, as Windows tears a volume down. */
	for (;;) {
		struct fm_instance *inst;

		pthread_mutex_lock(&vol->attach_lock);
		inst = vol->stack->count ? vol->stack->inst[0] : NULL;
		pthread_mutex_unlock(&vol->attach_lock);
		if (!inst)
			break;
		fm_instance_detach(inst, FLTFL_INSTANCE_TEARDOWN_VOLUME_DISMOUNT);
	}
	fm_volume_contexts_gone(vol);
	/* Wait for FltObjectReference holders of the volume. */
	while (atomic_load(&vol->obj.refs) > 1) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	free(vol->stack);
	free(vol->device_name.Buffer);
	free(vol->dos_name);
	pthread_rwlock_destroy(&vol->stack_lock);
	pthread_mutex_destroy(&vol->attach_lock);
	pthread_mutex_destroy(&vol->drain_lock);
	pthread_cond_destroy(&vol->drain_cond);
	pthread_mutex_destroy(&vol->ctx_lock);
	free(vol);
}

struct fm_volume *fm_volume_get(const char *name)
{
	struct fm_volume *vol;

	pthread_mutex_lock(&fm_global_lock);
	for (vol = fm_volumes; vol; vol = vol->next)
		if (!strcasecmp(vol->name, name))
			break;
	if (vol)
		fm_object_get(&vol->obj);
	pthread_mutex_unlock(&fm_global_lock);
	return vol;
}

/* Snapshot of the volumes, each with a reference. */
size_t fm_volumes_snapshot(struct fm_volume ***out)
{
	struct fm_volume *v, **arr;
	size_t n = 0, i = 0;

	pthread_mutex_lock(&fm_global_lock);
	for (v = fm_volumes; v; v = v->next)
		n++;
	arr = calloc(n ? n : 1, sizeof(*arr));
	if (arr)
		for (v = fm_volumes; v; v = v->next) {
			fm_object_get(&v->obj);
			arr[i++] = v;
		}
	pthread_mutex_unlock(&fm_global_lock);
	*out = arr;
	return arr ? n : 0;
}
