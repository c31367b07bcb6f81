/*
 * test_fm_context.c - filter contexts (src/fltmgr/context.c) without FUSE:
 * allocation and its size rules, Set/Get/Delete of every type with
 * KEEP_IF_EXISTS and REPLACE_IF_EXISTS, the statuses Windows documents,
 * and lifetimes: the cleanup callback runs exactly once, when the last
 * reference goes after the object is gone (fm_stream_gone for an inode,
 * fm_file_object_gone for an open file, instance detach, filter
 * unregistration, volume destruction).
 *
 * Filters are structures in the test registered the way the loader
 * registers an image (fm_filter_alloc, fm_filter_bind_driver,
 * FltRegisterFilter, FltStartFiltering); FltStartFiltering attaches them to
 * the volumes that exist.  A "file" is a struct fake_inode, whose first
 * member is the filter manager's per-stream header as an inode's is, and
 * a file object points to it through FsContext.  Every context body
 * records its filter and type; the cleanup callback counts per filter and
 * type, so each test can state exactly how many cleanups it expects.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fltmgr/fm.h"

#define NF 2 /* filters A and B */
#define NT 5 /* context types counted */
#define TAG_VOL 'lovT'
#define TAG_STR 'rtsT'
#define TAG_FIL 'lifT'
#define TAG_SH 'hsT'

/* Every context the tests allocate starts with this. */
struct body {
	int who; /* filter index */
	FLT_CONTEXT_TYPE type;
	int id;
};

struct fake_inode {
	struct fm_fcb_header hdr; /* first, as in struct fsb_inode */
	int unused;
};

struct tf {
	const char *name, *alt;
	struct fm_filter *f;
	DRIVER_OBJECT drv;
	PFLT_FILTER h;
	FLT_REGISTRATION reg;
	PFLT_INSTANCE inst[2]; /* on vol, vol2 */
	long td_complete_seq;
};

static struct tf filters[NF];
static struct fm_volume *vol, *vol2;
static atomic_int cleanups[NF][NT];
static atomic_long seq;
static long last_instance_cleanup_seq;
static atomic_int alloc_calls, free_calls;
static SIZE_T alloc_size_seen;
static int bad;

/* Set from InstanceTeardownStartCallback: what a late Set gets. */
static PFILE_OBJECT teardown_probe_fo;
static NTSTATUS teardown_probe_status;

static int tix(FLT_CONTEXT_TYPE t)
{
	switch (t) {
	case FLT_VOLUME_CONTEXT:
		return 0;
	case FLT_INSTANCE_CONTEXT:
		return 1;
	case FLT_FILE_CONTEXT:
		return 2;
	case FLT_STREAM_CONTEXT:
		return 3;
	case FLT_STREAMHANDLE_CONTEXT:
		return 4;
	}
	return -1;
}

/* ---- Callbacks ----------------------------------------------------------- */

static VOID FLTAPI t_cleanup(PFLT_CONTEXT Context, FLT_CONTEXT_TYPE Type)
{
	struct body *b = Context;

	if (b->type != Type || b->who < 0 || b->who >= NF || tix(Type) < 0) {
		bad++;
		return;
	}
	atomic_fetch_add(&cleanups[b->who][tix(Type)], 1);
	if (Type == FLT_INSTANCE_CONTEXT)
		last_instance_cleanup_seq = atomic_fetch_add(&seq, 1);
	b->type = 0xdead; /* a second cleanup of the same body would show */
}

static PVOID FLTAPI t_alloc(POOL_TYPE PoolType, SIZE_T Size, FLT_CONTEXT_TYPE Type)
{
	(void)PoolType;
	if (Type != FLT_INSTANCE_CONTEXT)
		bad++;
	atomic_fetch_add(&alloc_calls, 1);
	alloc_size_seen = Size;
	return aligned_alloc(16, (Size + 15) & ~(SIZE_T)15);
}

static VOID FLTAPI t_free(PVOID Pool, FLT_CONTEXT_TYPE Type)
{
	if (Type != FLT_INSTANCE_CONTEXT)
		bad++;
	atomic_fetch_add(&free_calls, 1);
	free(Pool);
}

static const FLT_CONTEXT_REGISTRATION ctxreg[] = {
	{ FLT_VOLUME_CONTEXT, 0, t_cleanup, sizeof(struct body), TAG_VOL },
	{ FLT_INSTANCE_CONTEXT, 0, t_cleanup, sizeof(struct body), 0, t_alloc, t_free },
	{ FLT_STREAM_CONTEXT, 0, t_cleanup, sizeof(struct body), TAG_STR },
	{ FLT_STREAM_CONTEXT, 0, t_cleanup, 64, TAG_STR },
	{ FLT_FILE_CONTEXT, FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH, t_cleanup,
	  128, TAG_FIL },
	{ FLT_STREAMHANDLE_CONTEXT, 0, t_cleanup, FLT_VARIABLE_SIZED_CONTEXTS, TAG_SH },
	{ FLT_CONTEXT_END }
};

static struct tf *tf_of(PFLT_FILTER f)
{
	for (int i = 0; i < NF; i++)
		if ((PFLT_FILTER)filters[i].f == f)
			return &filters[i];
	return NULL;
}

static NTSTATUS FLTAPI t_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS Flags,
			       DEVICE_TYPE Dev, FLT_FILESYSTEM_TYPE Fs)
{
	struct tf *t = tf_of(o->Filter);

	(void)Flags;
	(void)Dev;
	(void)Fs;
	if (!t)
		return STATUS_FLT_DO_NOT_ATTACH;
	t->inst[(struct fm_volume *)o->Volume == vol ? 0 : 1] = o->Instance;
	return STATUS_SUCCESS;
}

static VOID FLTAPI t_td_start(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_TEARDOWN_FLAGS r)
{
	PFLT_CONTEXT c;

	(void)r;
	if (!teardown_probe_fo)
		return;
	if (!NT_SUCCESS(FltAllocateContext(o->Filter, FLT_STREAM_CONTEXT,
					   sizeof(struct body), PagedPool, &c))) {
		bad++;
		return;
	}
	((struct body *)c)->who = tf_of(o->Filter) - filters;
	((struct body *)c)->type = FLT_STREAM_CONTEXT;
	teardown_probe_status = FltSetStreamContext(o->Instance, teardown_probe_fo,
						    FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						    c, NULL);
	FltReleaseContext(c);
}

static VOID FLTAPI t_td_complete(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_TEARDOWN_FLAGS r)
{
	struct tf *t = tf_of(o->Filter);

	(void)r;
	if (t)
		t->td_complete_seq = atomic_fetch_add(&seq, 1);
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI t_pre(PFLT_CALLBACK_DATA d,
					      PCFLT_RELATED_OBJECTS o, PVOID *c)
{
	(void)d;
	(void)o;
	*c = NULL;
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static const FLT_OPERATION_REGISTRATION ops[] = {
	{ IRP_MJ_CREATE, 0, t_pre, NULL },
	{ IRP_MJ_OPERATION_END }
};

/* ---- Helpers -------------------------------------------------------------- */

static void tf_start(int i, const char *name, const char *alt)
{
	struct tf *t = &filters[i];

	t->name = name;
	t->alt = alt;
	t->reg.Size = sizeof(t->reg);
	t->reg.Version = FLT_REGISTRATION_VERSION;
	t->reg.ContextRegistration = ctxreg;
	t->reg.OperationRegistration = ops;
	t->reg.InstanceSetupCallback = t_setup;
	t->reg.InstanceTeardownStartCallback = t_td_start;
	t->reg.InstanceTeardownCompleteCallback = t_td_complete;
	t->f = fm_filter_alloc(name, alt);
	assert_non_null(t->f);
	fm_filter_bind_driver(&t->drv, t->f);
	assert_int_equal(FltRegisterFilter(&t->drv, &t->reg, &t->h), STATUS_SUCCESS);
	assert_int_equal(FltStartFiltering(t->h), STATUS_SUCCESS);
	assert_non_null(t->inst[0]);
}

static void tf_unregister(int i)
{
	struct tf *t = &filters[i];

	if (!t->f)
		return;
	if (t->f->reg.Size)
		FltUnregisterFilter(t->h);
	fm_filter_free(t->f);
	t->f = NULL;
}

static void fo_init(FILE_OBJECT *fo, struct fake_inode *in)
{
	memset(fo, 0, sizeof(*fo));
	fo->Type = 5;
	fo->Size = sizeof(*fo);
	fo->FsContext = in;
}

/* A context of filter i, type t, allocated and tagged. */
static PFLT_CONTEXT ctx_new(int i, FLT_CONTEXT_TYPE t, SIZE_T size, int id)
{
	PFLT_CONTEXT c = NULL;
	struct body *b;

	assert_int_equal(FltAllocateContext(filters[i].h, t, size,
					    t == FLT_VOLUME_CONTEXT ? NonPagedPool
								    : PagedPool,
					    &c),
			 STATUS_SUCCESS);
	b = c;
	b->who = i;
	b->type = t;
	b->id = id;
	return c;
}

static int ncl(int i, FLT_CONTEXT_TYPE t)
{
	return atomic_load(&cleanups[i][tix(t)]);
}

static int id_of(PFLT_CONTEXT c)
{
	return ((struct body *)c)->id;
}

/* ---- Fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	memset(filters, 0, sizeof(filters));
	memset(cleanups, 0, sizeof(cleanups));
	atomic_store(&alloc_calls, 0);
	atomic_store(&free_calls, 0);
	atomic_store(&seq, 1);
	bad = 0;
	teardown_probe_fo = NULL;
	teardown_probe_status = 0;
	vol2 = NULL;
	return fm_volume_create("vol", "/tmp", NULL, NULL, &vol);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NF; i++)
		tf_unregister(i);
	if (vol2)
		fm_volume_destroy(vol2);
	if (vol)
		fm_volume_destroy(vol);
	vol = vol2 = NULL;
	if (bad)
		fail_msg("%d contract violations seen by callbacks", bad);
	return 0;
}

/* ---- Allocation --------------------------------------------------------------- */

static void test_allocate_size_rules(void **state)
{
	PFLT_CONTEXT c = (PFLT_CONTEXT)1;

	(void)state;
	tf_start(0, "A", "300000");
	/* Exact sizes: either of the two stream entries. */
	c = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 1);
	FltReleaseContext(c);
	c = ctx_new(0, FLT_STREAM_CONTEXT, 64, 2);
	FltReleaseContext(c);
	assert_int_equal(FltAllocateContext(filters[0].h, FLT_STREAM_CONTEXT, 63,
					    PagedPool, &c),
			 STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	assert_null(c);
	/* NO_EXACT_SIZE_MATCH: anything up to the registered size. */
	c = ctx_new(0, FLT_FILE_CONTEXT, sizeof(struct body), 3);
	memset((char *)c + sizeof(struct body), 0x5a, 128 - sizeof(struct body));
	FltReleaseContext(c);
	c = ctx_new(0, FLT_FILE_CONTEXT, 128, 4);
	FltReleaseContext(c);
	assert_int_equal(FltAllocateContext(filters[0].h, FLT_FILE_CONTEXT, 129,
					    PagedPool, &c),
			 STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	/* FLT_VARIABLE_SIZED_CONTEXTS: any size. */
	c = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, 4000, 5);
	memset((char *)c + sizeof(struct body), 0x5a, 4000 - sizeof(struct body));
	FltReleaseContext(c);
	/* A type the filter did not register. */
	assert_int_equal(FltAllocateContext(filters[0].h, FLT_TRANSACTION_CONTEXT, 16,
					    PagedPool, &c),
			 STATUS_FLT_CONTEXT_ALLOCATION_NOT_FOUND);
	/* Volume contexts come from nonpaged pool. */
	assert_int_equal(FltAllocateContext(filters[0].h, FLT_VOLUME_CONTEXT,
					    sizeof(struct body), PagedPool, &c),
			 STATUS_FLT_MUST_BE_NONPAGED_POOL);
	assert_int_equal(FltAllocateContext(NULL, FLT_STREAM_CONTEXT, 16, PagedPool, &c),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltAllocateContext(filters[0].h, FLT_STREAM_CONTEXT, 16,
					    PagedPool, NULL),
			 STATUS_INVALID_PARAMETER);
	/* Contexts never set are cleaned up when released, once each. */
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 2);
	assert_int_equal(ncl(0, FLT_FILE_CONTEXT), 2);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
}

static void test_allocate_callbacks(void **state)
{
	PFLT_CONTEXT c;

	(void)state;
	tf_start(0, "A", "300000");
	c = ctx_new(0, FLT_INSTANCE_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(atomic_load(&alloc_calls), 1);
	/* The callback allocates the whole context, header included. */
	assert_true(alloc_size_seen > sizeof(struct body));
	assert_int_equal((uintptr_t)c % 16, 0);
	FltReferenceContext(c);
	FltReleaseContext(c);
	assert_int_equal(atomic_load(&free_calls), 0);
	FltReleaseContext(c);
	assert_int_equal(atomic_load(&free_calls), 1);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
}

/* ---- Volume contexts ------------------------------------------------------------ */

static void test_volume_context_keep_replace(void **state)
{
	PFLT_CONTEXT a, b, old, got;
	PFLT_VOLUME v;

	(void)state;
	tf_start(0, "A", "300000");
	v = (PFLT_VOLUME)vol;
	assert_int_equal(FltGetVolumeContext(filters[0].h, v, &got), STATUS_NOT_FOUND);
	assert_null(got);
	a = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 1);
	b = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetVolumeContext(v, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, &old),
			 STATUS_SUCCESS);
	assert_null(old);
	/* KEEP: the old context comes back referenced, the new one is not set. */
	assert_int_equal(FltSetVolumeContext(v, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, &old),
			 STATUS_FLT_CONTEXT_ALREADY_DEFINED);
	assert_ptr_equal(old, a);
	FltReleaseContext(old);
	assert_int_equal(FltSetVolumeContext(v, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, NULL),
			 STATUS_FLT_CONTEXT_ALREADY_DEFINED);
	assert_int_equal(FltGetVolumeContext(filters[0].h, v, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 1);
	FltReleaseContext(got);
	/* REPLACE: b is set, a comes back to the caller, deleted. */
	assert_int_equal(FltSetVolumeContext(v, FLT_SET_CONTEXT_REPLACE_IF_EXISTS, b, &old),
			 STATUS_SUCCESS);
	assert_ptr_equal(old, a);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 0);
	FltReleaseContext(old); /* the reference REPLACE handed over */
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 0);
	FltReleaseContext(a); /* the allocation's */
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
	assert_int_equal(FltGetVolumeContext(filters[0].h, v, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 2);
	FltReleaseContext(got);
	FltReleaseContext(b);
	/* Still set: no cleanup until the volume or the filter goes. */
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
	/* An invalid operation value. */
	a = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 3);
	assert_int_equal(FltSetVolumeContext(v, (FLT_SET_CONTEXT_OPERATION)7, a, NULL),
			 STATUS_INVALID_PARAMETER);
	FltReleaseContext(a);
	tf_unregister(0);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 3);
}

static void test_volume_context_per_filter(void **state)
{
	PFLT_CONTEXT a, b, got;

	(void)state;
	assert_int_equal(fm_volume_create("vol2", "/tmp", NULL, NULL, &vol2), 0);
	tf_start(0, "A", "300000");
	tf_start(1, "B", "200000");
	a = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 1);
	b = ctx_new(1, FLT_VOLUME_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	/* One per filter: B's does not collide with A's. */
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(FltGetVolumeContext(filters[1].h, (PFLT_VOLUME)vol, &got),
			 STATUS_SUCCESS);
	assert_int_equal(id_of(got), 2);
	FltReleaseContext(got);
	assert_int_equal(FltGetVolumeContext(filters[0].h, (PFLT_VOLUME)vol2, &got),
			 STATUS_NOT_FOUND);
	FltReleaseContext(a);
	FltReleaseContext(b);
	b = ctx_new(1, FLT_VOLUME_CONTEXT, sizeof(struct body), 3);
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol2,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(b);
	/* Detaching an instance does not delete the filter's volume context. */
	fm_instance_detach((struct fm_instance *)filters[0].inst[0],
			   FLTFL_INSTANCE_TEARDOWN_MANUAL);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 0);
	/* Unregistering A deletes A's, and only A's. */
	tf_unregister(0);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
	assert_int_equal(ncl(1, FLT_VOLUME_CONTEXT), 0);
	/* Destroying vol2 deletes B's there; B's on vol stays. */
	fm_volume_destroy(vol2);
	vol2 = NULL;
	assert_int_equal(ncl(1, FLT_VOLUME_CONTEXT), 1);
	assert_int_equal(FltGetVolumeContext(filters[1].h, (PFLT_VOLUME)vol, &got),
			 STATUS_SUCCESS);
	FltReleaseContext(got);
	tf_unregister(1);
	assert_int_equal(ncl(1, FLT_VOLUME_CONTEXT), 2);
}

/* A context held by the filter outlives the object: cleanup waits for it. */
static void test_volume_context_held_past_destroy(void **state)
{
	PFLT_CONTEXT a, got;

	(void)state;
	assert_int_equal(fm_volume_create("vol2", "/tmp", NULL, NULL, &vol2), 0);
	tf_start(0, "A", "300000");
	a = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol2,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(FltGetVolumeContext(filters[0].h, (PFLT_VOLUME)vol2, &got),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	fm_volume_destroy(vol2);
	vol2 = NULL;
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 0);
	FltDeleteContext(got); /* already unlinked: nothing to do */
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
}

/* ---- Instance contexts ------------------------------------------------------------ */

static void test_instance_context_detach(void **state)
{
	PFLT_CONTEXT a, b, got, old;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	assert_int_equal(FltGetInstanceContext(i, &got), STATUS_NOT_FOUND);
	a = ctx_new(0, FLT_INSTANCE_CONTEXT, sizeof(struct body), 1);
	b = ctx_new(0, FLT_INSTANCE_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetInstanceContext(i, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(FltSetInstanceContext(i, FLT_SET_CONTEXT_KEEP_IF_EXISTS, b, &old),
			 STATUS_FLT_CONTEXT_ALREADY_DEFINED);
	assert_ptr_equal(old, a);
	FltReleaseContext(old);
	FltReleaseContext(b);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
	FltReleaseContext(a);
	assert_int_equal(FltGetInstanceContext(i, &got), STATUS_SUCCESS);
	assert_ptr_equal(got, a);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
	/* Detach: cleanup after InstanceTeardownCompleteCallback, once. */
	fm_instance_detach((struct fm_instance *)i, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 2);
	assert_true(last_instance_cleanup_seq > filters[0].td_complete_seq);
	assert_int_equal(atomic_load(&alloc_calls), 2);
	assert_int_equal(atomic_load(&free_calls), 2);
}

/* ---- Stream and file contexts ------------------------------------------------------- */

static void test_stream_context_shared_per_inode(void **state)
{
	struct fake_inode in1 = { 0 }, in2 = { 0 };
	FILE_OBJECT fa, fb, fc;
	PFLT_CONTEXT a, got;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fa, &in1);
	fo_init(&fb, &in1); /* the same file, through another name or open */
	fo_init(&fc, &in2);
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 7);
	assert_int_equal(FltSetStreamContext(i, &fa, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	assert_int_equal(FltGetStreamContext(i, &fb, &got), STATUS_SUCCESS);
	assert_ptr_equal(got, a);
	FltReleaseContext(got);
	assert_int_equal(FltGetStreamContext(i, &fc, &got), STATUS_NOT_FOUND);
	assert_null(got);
	/* Without a stream (nothing opened yet): invalid. */
	fc.FsContext = NULL;
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 8);
	assert_int_equal(FltSetStreamContext(i, &fc, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetStreamContext(i, &fc, &got), STATUS_NOT_FOUND);
	FltReleaseContext(a);
	assert_int_equal(FltSetStreamContext(NULL, &fa, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
					     a, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	fm_stream_gone(vol, &in1.hdr);
	fm_stream_gone(vol, &in2.hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 2);
}

static void test_stream_context_lifetime(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fo;
	PFLT_CONTEXT a, got, again;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fo, &in);
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(FltSetStreamContext(i, &fo, FLT_SET_CONTEXT_REPLACE_IF_EXISTS,
					     a, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	assert_int_equal(FltGetStreamContext(i, &fo, &got), STATUS_SUCCESS);
	FltReferenceContext(got);
	/* The inode goes while the filter holds two references. */
	fm_stream_gone(vol, &in.hdr);
	assert_null(atomic_load(&in.hdr.stream));
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 0);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 0);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	/* Forgetting an inode twice, or one never used, is harmless. */
	fm_stream_gone(vol, &in.hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	/* The same header can carry a new stream (the inode came back). */
	assert_int_equal(FltGetStreamContext(i, &fo, &again), STATUS_NOT_FOUND);
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetStreamContext(i, &fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	fm_stream_gone(vol, &in.hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 2);
}

static void test_get_and_delete_create_no_stream(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fo;
	PFLT_CONTEXT got;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fo, &in);
	assert_int_equal(FltGetStreamContext(i, &fo, &got), STATUS_NOT_FOUND);
	assert_int_equal(FltGetFileContext(i, &fo, &got), STATUS_NOT_FOUND);
	assert_int_equal(FltDeleteStreamContext(i, &fo, &got), STATUS_NOT_FOUND);
	assert_int_equal(FltDeleteFileContext(i, &fo, NULL), STATUS_NOT_FOUND);
	assert_int_equal(FltGetStreamHandleContext(i, &fo, &got), STATUS_NOT_FOUND);
	assert_int_equal(FltDeleteStreamHandleContext(i, &fo, NULL), STATUS_NOT_FOUND);
	assert_null(atomic_load(&in.hdr.stream));
	assert_null(fo.FileObjectExtension);
}

static void test_file_context(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fa, fb;
	PFLT_CONTEXT f, s, got;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fa, &in);
	fo_init(&fb, &in);
	f = ctx_new(0, FLT_FILE_CONTEXT, 100, 1);
	s = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetFileContext(i, &fa, FLT_SET_CONTEXT_KEEP_IF_EXISTS, f, NULL),
			 STATUS_SUCCESS);
	/* A file context and a stream context on the same file are separate. */
	assert_int_equal(FltSetStreamContext(i, &fa, FLT_SET_CONTEXT_KEEP_IF_EXISTS, s, NULL),
			 STATUS_SUCCESS);
	assert_int_equal(FltGetFileContext(i, &fb, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 1);
	FltReleaseContext(got);
	assert_int_equal(FltGetStreamContext(i, &fb, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 2);
	FltReleaseContext(got);
	FltReleaseContext(f);
	FltReleaseContext(s);
	assert_int_equal(FltDeleteFileContext(i, &fb, &got), STATUS_SUCCESS);
	assert_ptr_equal(got, f);
	assert_int_equal(ncl(0, FLT_FILE_CONTEXT), 0);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_FILE_CONTEXT), 1);
	assert_int_equal(FltGetFileContext(i, &fa, &got), STATUS_NOT_FOUND);
	fm_stream_gone(vol, &in.hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_FILE_CONTEXT), 1);
}

/* ---- Stream handle contexts ------------------------------------------------------- */

static void test_stream_handle_context(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fa, fb;
	PFLT_CONTEXT a, b, got, old;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fa, &in);
	fo_init(&fb, &in);
	a = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, 40, 1);
	b = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, 40, 2);
	assert_int_equal(FltSetStreamHandleContext(i, &fa, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						   a, NULL),
			 STATUS_SUCCESS);
	/* One per open file: the other open of the same file has none. */
	assert_int_equal(FltGetStreamHandleContext(i, &fb, &got), STATUS_NOT_FOUND);
	assert_int_equal(FltSetStreamHandleContext(i, &fb, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						   b, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(b);
	b = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, sizeof(struct body), 3);
	assert_int_equal(FltSetStreamHandleContext(i, &fa, FLT_SET_CONTEXT_REPLACE_IF_EXISTS,
						   b, &old),
			 STATUS_SUCCESS);
	assert_ptr_equal(old, a);
	FltReleaseContext(old);
	FltReleaseContext(a);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
	assert_int_equal(FltGetStreamHandleContext(i, &fa, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 3);
	/* The open file is released while the filter holds the context. */
	fm_file_object_gone(vol, &fa);
	assert_null(fa.FileObjectExtension);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
	FltReleaseContext(b);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 2);
	/* Stream contexts do not care about file objects going. */
	fm_file_object_gone(vol, &fb);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 3);
	fm_file_object_gone(vol, &fb);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 3);
}

/* ---- Statuses ------------------------------------------------------------------- */

static void test_already_linked_and_wrong_type(void **state)
{
	struct fake_inode in1 = { 0 }, in2 = { 0 };
	FILE_OBJECT f1, f2;
	PFLT_CONTEXT a, h;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	tf_start(1, "B", "200000");
	i = filters[0].inst[0];
	fo_init(&f1, &in1);
	fo_init(&f2, &in2);
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(FltSetStreamContext(i, &f1, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	/* A context lives on one object. */
	assert_int_equal(FltSetStreamContext(i, &f2, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_FLT_CONTEXT_ALREADY_LINKED);
	/* A stream context is not a stream handle context. */
	h = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetStreamHandleContext(i, &f2, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						   h, NULL),
			 STATUS_INVALID_PARAMETER);
	/* Another filter's instance cannot set A's context. */
	assert_int_equal(FltSetStreamContext(filters[1].inst[0], &f2,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, h, NULL),
			 STATUS_INVALID_PARAMETER);
	/* Not a context at all (with readable memory where a header would be). */
	{
		static _Alignas(16) unsigned char junk[512];

		assert_int_equal(FltSetStreamContext(i, &f2, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						     junk + 256, NULL),
				 STATUS_INVALID_PARAMETER);
	}
	FltReleaseContext(h);
	FltReleaseContext(a);
	fm_stream_gone(vol, &in1.hdr);
	fm_stream_gone(vol, &in2.hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 2);
}

static void test_delete_calls(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fo;
	PFLT_CONTEXT a, got;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fo, &in);
	/* FltDeleteContext: unlinked at once, cleanup at the last release. */
	a = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(FltSetStreamContext(i, &fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	FltDeleteContext(a);
	assert_int_equal(FltGetStreamContext(i, &fo, &got), STATUS_NOT_FOUND);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 0);
	FltDeleteContext(a); /* twice: nothing more */
	FltDeleteContext(NULL);
	FltReleaseContext(a);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	/* Delete without OldContext drops the link reference itself. */
	a = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, 16, 2);
	assert_int_equal(FltSetStreamHandleContext(i, &fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS,
						   a, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	assert_int_equal(FltDeleteStreamHandleContext(i, &fo, NULL), STATUS_SUCCESS);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
	assert_int_equal(FltDeleteStreamHandleContext(i, &fo, NULL), STATUS_NOT_FOUND);
	/* Instance and volume contexts the same way. */
	a = ctx_new(0, FLT_INSTANCE_CONTEXT, sizeof(struct body), 3);
	assert_int_equal(FltSetInstanceContext(i, FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	FltReleaseContext(a);
	assert_int_equal(FltDeleteInstanceContext(i, &got), STATUS_SUCCESS);
	assert_ptr_equal(got, a);
	FltReleaseContext(got);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
	a = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 4);
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol,
					     FLT_SET_CONTEXT_KEEP_IF_EXISTS, a, NULL),
			 STATUS_SUCCESS);
	FltDeleteContext(a);
	assert_int_equal(FltGetVolumeContext(filters[0].h, (PFLT_VOLUME)vol, &got),
			 STATUS_NOT_FOUND);
	FltReleaseContext(a);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
	assert_int_equal(FltDeleteVolumeContext(filters[0].h, (PFLT_VOLUME)vol, NULL),
			 STATUS_NOT_FOUND);
	fm_file_object_gone(vol, &fo);
	fm_stream_gone(vol, &in.hdr);
}

static void test_get_contexts(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fo;
	FLT_RELATED_OBJECTS o;
	FLT_RELATED_CONTEXTS rc;
	PFLT_CONTEXT c;
	PFLT_INSTANCE i;

	(void)state;
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	fo_init(&fo, &in);
	c = ctx_new(0, FLT_VOLUME_CONTEXT, sizeof(struct body), 1);
	assert_int_equal(FltSetVolumeContext((PFLT_VOLUME)vol, 0, c, NULL), STATUS_SUCCESS);
	FltReleaseContext(c);
	c = ctx_new(0, FLT_INSTANCE_CONTEXT, sizeof(struct body), 2);
	assert_int_equal(FltSetInstanceContext(i, 0, c, NULL), STATUS_SUCCESS);
	FltReleaseContext(c);
	c = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), 3);
	assert_int_equal(FltSetStreamContext(i, &fo, 0, c, NULL), STATUS_SUCCESS);
	FltReleaseContext(c);
	c = ctx_new(0, FLT_STREAMHANDLE_CONTEXT, 24, 4);
	assert_int_equal(FltSetStreamHandleContext(i, &fo, 0, c, NULL), STATUS_SUCCESS);
	FltReleaseContext(c);

	memset(&o, 0, sizeof(o));
	o.Size = sizeof(o);
	o.Filter = filters[0].h;
	o.Volume = (PFLT_VOLUME)vol;
	o.Instance = i;
	o.FileObject = &fo;
	memset(&rc, 0x55, sizeof(rc));
	FltGetContexts(&o, FLT_ALL_CONTEXTS, &rc);
	assert_int_equal(id_of(rc.VolumeContext), 1);
	assert_int_equal(id_of(rc.InstanceContext), 2);
	assert_int_equal(id_of(rc.StreamContext), 3);
	assert_int_equal(id_of(rc.StreamHandleContext), 4);
	assert_null(rc.FileContext);
	assert_null(rc.TransactionContext);
	FltReleaseContexts(&rc);
	assert_null(rc.VolumeContext);
	assert_null(rc.StreamHandleContext);
	FltGetContexts(&o, FLT_STREAM_CONTEXT, &rc);
	assert_null(rc.VolumeContext);
	assert_non_null(rc.StreamContext);
	FltReleaseContexts(&rc);
	FltReleaseContexts(NULL);
	for (int t = 0; t < NT; t++)
		assert_int_equal(atomic_load(&cleanups[0][t]), 0);
	fm_file_object_gone(vol, &fo);
	fm_stream_gone(vol, &in.hdr);
	tf_unregister(0);
	assert_int_equal(ncl(0, FLT_VOLUME_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
}

/* ---- Detach and unload --------------------------------------------------------------- */

static void test_detach_deletes_what_the_instance_set(void **state)
{
	struct fake_inode in = { 0 };
	FILE_OBJECT fo;
	PFLT_CONTEXT c, held, got;
	PFLT_INSTANCE ia, ib;

	(void)state;
	tf_start(0, "A", "300000");
	tf_start(1, "B", "200000");
	ia = filters[0].inst[0];
	ib = filters[1].inst[0];
	fo_init(&fo, &in);
	for (int w = 0; w < NF; w++) {
		PFLT_INSTANCE i = w ? ib : ia;

		c = ctx_new(w, FLT_STREAM_CONTEXT, sizeof(struct body), 10 + w);
		assert_int_equal(FltSetStreamContext(i, &fo, 0, c, NULL), STATUS_SUCCESS);
		FltReleaseContext(c);
		c = ctx_new(w, FLT_FILE_CONTEXT, 16, 20 + w);
		assert_int_equal(FltSetFileContext(i, &fo, 0, c, NULL), STATUS_SUCCESS);
		FltReleaseContext(c);
		c = ctx_new(w, FLT_STREAMHANDLE_CONTEXT, 16, 30 + w);
		assert_int_equal(FltSetStreamHandleContext(i, &fo, 0, c, NULL), STATUS_SUCCESS);
		FltReleaseContext(c);
		c = ctx_new(w, FLT_INSTANCE_CONTEXT, sizeof(struct body), 40 + w);
		assert_int_equal(FltSetInstanceContext(i, 0, c, NULL), STATUS_SUCCESS);
		FltReleaseContext(c);
	}
	/* Each instance sees its own. */
	assert_int_equal(FltGetStreamContext(ib, &fo, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 11);
	FltReleaseContext(got);
	/* A holds its stream context across the detach. */
	assert_int_equal(FltGetStreamContext(ia, &fo, &held), STATUS_SUCCESS);
	teardown_probe_fo = &fo;
	fm_instance_detach((struct fm_instance *)ia, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	teardown_probe_fo = NULL;
	/* No new context while the instance is torn down. */
	assert_int_equal(teardown_probe_status, STATUS_FLT_DELETING_OBJECT);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 1); /* the probe's */
	assert_int_equal(ncl(0, FLT_FILE_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_STREAMHANDLE_CONTEXT), 1);
	assert_int_equal(ncl(0, FLT_INSTANCE_CONTEXT), 1);
	FltReleaseContext(held);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), 2);
	/* B's are untouched. */
	for (int t = 0; t < NT; t++)
		assert_int_equal(atomic_load(&cleanups[1][t]), 0);
	assert_int_equal(FltGetStreamHandleContext(ib, &fo, &got), STATUS_SUCCESS);
	assert_int_equal(id_of(got), 31);
	FltReleaseContext(got);
	/* The file goes, then B unloads: each of B's contexts once. */
	fm_file_object_gone(vol, &fo);
	fm_stream_gone(vol, &in.hdr);
	assert_int_equal(ncl(1, FLT_STREAM_CONTEXT), 1);
	assert_int_equal(ncl(1, FLT_FILE_CONTEXT), 1);
	assert_int_equal(ncl(1, FLT_STREAMHANDLE_CONTEXT), 1);
	assert_int_equal(ncl(1, FLT_INSTANCE_CONTEXT), 0);
	tf_unregister(1);
	assert_int_equal(ncl(1, FLT_INSTANCE_CONTEXT), 1);
	assert_int_equal(ncl(1, FLT_STREAM_CONTEXT), 1);
}

/* Many contexts on one instance: teardown must not be quadratic. */
static void test_detach_many(void **state)
{
	enum { N = 20000 };
	struct fake_inode *ins = calloc(N, sizeof(*ins));
	FILE_OBJECT *fos = calloc(N, sizeof(*fos));
	struct timespec t0, t1;
	PFLT_INSTANCE i;
	double secs;

	(void)state;
	assert_non_null(ins);
	assert_non_null(fos);
	tf_start(0, "A", "300000");
	i = filters[0].inst[0];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < N; k++) {
		PFLT_CONTEXT c = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), k);

		fo_init(&fos[k], &ins[k]);
		assert_int_equal(FltSetStreamContext(i, &fos[k], 0, c, NULL), STATUS_SUCCESS);
		FltReleaseContext(c);
	}
	/* Half the inodes go one by one (each leaves the instance's list). */
	for (int k = 0; k < N; k += 2)
		fm_stream_gone(vol, &ins[k].hdr);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), N / 2);
	fm_instance_detach((struct fm_instance *)i, FLTFL_INSTANCE_TEARDOWN_MANUAL);
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), N);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("  %d stream contexts set and torn down in %.3f s\n", N, secs);
	assert_true(secs < 5.0);
	for (int k = 1; k < N; k += 2)
		fm_stream_gone(vol, &ins[k].hdr);
	free(ins);
	free(fos);
}

/* ---- Concurrency ------------------------------------------------------------------ */

#define CT_THREADS 6
#define CT_FILES 8
#define CT_ITERS 4000

static struct fake_inode ct_in[CT_FILES];
static FILE_OBJECT ct_fo[CT_FILES];
static atomic_int ct_allocated, ct_done;
static atomic_int ct_bad;

/* The WDK ctx sample's find-or-create, hammered from several threads. */
static void *ct_worker(void *arg)
{
	unsigned r = (unsigned)(uintptr_t)arg * 2654435761u;
	PFLT_INSTANCE i = filters[0].inst[0];

	for (int k = 0; k < CT_ITERS; k++) {
		FILE_OBJECT *fo;
		PFLT_CONTEXT c, old;
		NTSTATUS st;

		r = r * 1103515245u + 12345u;
		fo = &ct_fo[(r >> 8) % CT_FILES];
		if (FltGetStreamContext(i, fo, &c) == STATUS_SUCCESS) {
			if (((r >> 4) & 15) == 0)
				FltDeleteContext(c);
			FltReleaseContext(c);
			continue;
		}
		c = ctx_new(0, FLT_STREAM_CONTEXT, sizeof(struct body), k);
		atomic_fetch_add(&ct_allocated, 1);
		st = FltSetStreamContext(i, fo, FLT_SET_CONTEXT_KEEP_IF_EXISTS, c, &old);
		if (st == STATUS_FLT_CONTEXT_ALREADY_DEFINED) {
			FltReleaseContext(old);
		} else if (st != STATUS_SUCCESS) {
			atomic_fetch_add(&ct_bad, 1);
		}
		FltReleaseContext(c);
	}
	atomic_fetch_add(&ct_done, 1);
	return NULL;
}

/* The inodes come and go under the workers (as drop_caches does). */
static void *ct_forgetter(void *arg)
{
	(void)arg;
	while (atomic_load(&ct_done) < CT_THREADS)
		for (int k = 0; k < CT_FILES; k += 3)
			fm_stream_gone(vol, &ct_in[k].hdr);
	return NULL;
}

static void test_concurrent_find_or_create(void **state)
{
	pthread_t th[CT_THREADS], fg;

	(void)state;
	tf_start(0, "A", "300000");
	memset(ct_in, 0, sizeof(ct_in));
	for (int k = 0; k < CT_FILES; k++)
		fo_init(&ct_fo[k], &ct_in[k]);
	atomic_store(&ct_allocated, 0);
	atomic_store(&ct_done, 0);
	atomic_store(&ct_bad, 0);
	for (int k = 0; k < CT_THREADS; k++)
		assert_int_equal(pthread_create(&th[k], NULL, ct_worker,
						(void *)(uintptr_t)(k + 1)),
				 0);
	assert_int_equal(pthread_create(&fg, NULL, ct_forgetter, NULL), 0);
	for (int k = 0; k < CT_THREADS; k++)
		pthread_join(th[k], NULL);
	pthread_join(fg, NULL);
	assert_int_equal(atomic_load(&ct_bad), 0);
	/* Half the files are still there: their contexts live on ... */
	for (int k = 0; k < CT_FILES; k++)
		fm_stream_gone(vol, &ct_in[k].hdr);
	/* ... until now: every allocated context cleaned up exactly once. */
	assert_int_equal(ncl(0, FLT_STREAM_CONTEXT), atomic_load(&ct_allocated));
	print_message("  %d stream contexts allocated and cleaned up\n",
		      atomic_load(&ct_allocated));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_allocate_size_rules),
		T(test_allocate_callbacks),
		T(test_volume_context_keep_replace),
		T(test_volume_context_per_filter),
		T(test_volume_context_held_past_destroy),
		T(test_instance_context_detach),
		T(test_stream_context_shared_per_inode),
		T(test_stream_context_lifetime),
		T(test_get_and_delete_create_no_stream),
		T(test_file_context),
		T(test_stream_handle_context),
		T(test_already_linked_and_wrong_type),
		T(test_delete_calls),
		T(test_get_contexts),
		T(test_detach_deletes_what_the_instance_set),
		T(test_detach_many),
		T(test_concurrent_find_or_create),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
