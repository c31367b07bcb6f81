/*
 * object.h - management handles (Find handles, filter and instance
 * handles) that calls keep using after the table lookup.  A reference per
 * call in flight keeps the object alive when another thread closes the
 * handle meanwhile: the close only drops the table's reference, and the
 * object goes with the last one.  Closing a handle that a call is still
 * using is the caller's bug; this makes it harmless.
 */
#ifndef ALTITUDE_FLTLIB_OBJECT_H
#define ALTITUDE_FLTLIB_OBJECT_H

#include "fltlib/handle.h"

struct fl_mobject {
	struct fl_object obj; /* first: the table holds &obj */
	unsigned refs; /* the table's, plus one per call using it */
	void (*destroy)(struct fl_mobject *m);
};

/* One reference (the table's, once registered). */
void fl_mobject_init(struct fl_mobject *m, enum fl_kind kind,
		     void (*destroy)(struct fl_mobject *m));
/* Registers m and stores its handle in *out, or destroys m
 * (E_OUTOFMEMORY: the handle table is full). */
HRESULT fl_mobject_register(struct fl_mobject *m, HANDLE *out);
/* The live object behind h, with a reference for the caller, or NULL. */
struct fl_mobject *fl_mobject_get(HANDLE h, enum fl_kind kind);
void fl_mobject_put(struct fl_mobject *m);

#endif /* ALTITUDE_FLTLIB_OBJECT_H */
