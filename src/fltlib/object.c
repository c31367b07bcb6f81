/*
 * object.c - reference-counted management handles (see object.h).
 */
#include "fltlib/object.h"

static void fl_mobject_hold(struct fl_object *obj)
{
	struct fl_mobject *m = (struct fl_mobject *)obj;

	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
}

/* The table's close: its reference goes. */
static void fl_mobject_close(struct fl_object *obj)
{
	fl_mobject_put((struct fl_mobject *)obj);
}

void fl_mobject_init(struct fl_mobject *m, enum fl_kind kind,
		     void (*destroy)(struct fl_mobject *m))
{
	m->obj.kind = kind;
	m->obj.close = fl_mobject_close;
	m->refs = 1;
	m->destroy = destroy;
}

HRESULT fl_mobject_register(struct fl_mobject *m, HANDLE *out)
{
	HANDLE h = fl_handle_register(&m->obj);

	if (!h) {
		fl_mobject_put(m);
		return E_OUTOFMEMORY;
	}
	*out = h;
	return S_OK;
}

struct fl_mobject *fl_mobject_get(HANDLE h, enum fl_kind kind)
{
	return (struct fl_mobject *)fl_handle_get_held(h, kind,
						       fl_mobject_hold);
}

void fl_mobject_put(struct fl_mobject *m)
{
	if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		m->destroy(m);
}
