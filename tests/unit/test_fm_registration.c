/*
 * test_fm_registration.c - FltRegisterFilter's validation, FltStartFiltering,
 * FltUnregisterFilter, FltGetIrpName and the altitude arithmetic.
 *
 * Every refused registration must leave the filter exactly as it was: not in
 * the filter list, no registration copied, its reference count untouched, and
 * a second, valid FltRegisterFilter on the same DRIVER_OBJECT must succeed.
 * The DRIVER_OBJECT is made the way the loader makes it (fm_filter_alloc +
 * fm_filter_bind_driver); no image is loaded and no volume exists, so no
 * instance is ever attached here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "fltmgr/fm.h"

#define SENTINEL ((PFLT_FILTER)(uintptr_t)0x5e5e5e5e)

struct drv {
	struct fm_filter *f;
	DRIVER_OBJECT d;
	PFLT_FILTER h;
	char name[32];
};

static unsigned drv_serial;

/* ---- Callbacks that only need an address ------------------------------ */

static FLT_PREOP_CALLBACK_STATUS FLTAPI pre_cb(PFLT_CALLBACK_DATA Data,
					       PCFLT_RELATED_OBJECTS FltObjects,
					       PVOID *CompletionContext)
{
	(void)Data;
	(void)FltObjects;
	(void)CompletionContext;
	return FLT_PREOP_SUCCESS_NO_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI post_cb(PFLT_CALLBACK_DATA Data,
						 PCFLT_RELATED_OBJECTS FltObjects,
						 PVOID CompletionContext,
						 FLT_POST_OPERATION_FLAGS Flags)
{
	(void)Data;
	(void)FltObjects;
	(void)CompletionContext;
	(void)Flags;
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static NTSTATUS FLTAPI unload_a(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	(void)Flags;
	return STATUS_SUCCESS;
}

static NTSTATUS FLTAPI unload_b(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	(void)Flags;
	return STATUS_SUCCESS;
}

static PVOID FLTAPI ctx_alloc(POOL_TYPE PoolType, SIZE_T Size,
			      FLT_CONTEXT_TYPE ContextType)
{
	(void)PoolType;
	(void)Size;
	(void)ContextType;
	return NULL;
}

static VOID FLTAPI ctx_free(PVOID Pool, FLT_CONTEXT_TYPE ContextType)
{
	(void)Pool;
	(void)ContextType;
}

/* ---- Fixture ----------------------------------------------------------- */

static int drv_setup(void **state)
{
	struct drv *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	snprintf(x->name, sizeof(x->name), "reg%u", drv_serial++);
	x->f = fm_filter_alloc(x->name, "370000");
	if (!x->f)
		return -1;
	fm_filter_bind_driver(&x->d, x->f);
	x->h = SENTINEL;
	*state = x;
	return 0;
}

static int drv_teardown(void **state)
{
	struct drv *x = *state;

	if (x->f->reg.Size)
		FltUnregisterFilter((PFLT_FILTER)x->f);
	fm_filter_free(x->f);
	free(x);
	return 0;
}

static void reg_init(FLT_REGISTRATION *reg, USHORT version, USHORT size)
{
	memset(reg, 0, sizeof(*reg));
	reg->Size = size;
	reg->Version = version;
}

static void reg_default(FLT_REGISTRATION *reg)
{
	reg_init(reg, FLT_REGISTRATION_VERSION, sizeof(*reg));
}

/*
 * reg is refused with want, nothing is left registered, and a valid
 * registration on the same driver then succeeds.
 */
static void expect_refused(struct drv *x, const FLT_REGISTRATION *reg,
			   NTSTATUS want)
{
	FLT_REGISTRATION good;
	long refs = atomic_load(&x->f->obj.refs);

	x->h = SENTINEL;
	assert_int_equal(FltRegisterFilter(&x->d, reg, &x->h), want);
	assert_ptr_equal(x->h, SENTINEL);
	assert_int_equal(x->f->reg.Size, 0);
	assert_null(x->f->reg.OperationRegistration);
	assert_null(fm_filter_find(x->name));
	assert_int_equal(atomic_load(&x->f->obj.refs), refs);
	for (unsigned i = 0; i < FM_MAJOR_COUNT; i++)
		assert_false(x->f->ops[i].registered);

	reg_default(&good);
	assert_int_equal(FltRegisterFilter(&x->d, &good, &x->h),
			 STATUS_SUCCESS);
	assert_ptr_equal(x->h, (PFLT_FILTER)x->f);
	assert_ptr_equal(fm_filter_find(x->name), x->f);
	assert_int_equal(atomic_load(&x->f->obj.refs), refs + 1);
}

/* One operation entry followed by the end marker. */
static void one_op(FLT_OPERATION_REGISTRATION ops[2], UCHAR major, ULONG flags,
		   PFLT_PRE_OPERATION_CALLBACK pre,
		   PFLT_POST_OPERATION_CALLBACK post)
{
	memset(ops, 0, 2 * sizeof(*ops));
	ops[0].MajorFunction = major;
	ops[0].Flags = flags;
	ops[0].PreOperation = pre;
	ops[0].PostOperation = post;
	ops[1].MajorFunction = IRP_MJ_OPERATION_END;
}

/* A table of n entries whose last byte touches a PROT_NONE page. */
static void *guarded_table(size_t bytes, void **map, size_t *map_len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = (bytes + pg - 1) / pg + 1;
	char *m = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + (pages - 1) * pg, pg, PROT_NONE), 0);
	*map = m;
	*map_len = pages * pg;
	return m + (pages - 1) * pg - bytes;
}

/* ---- Arguments and the DRIVER_OBJECT ------------------------------------ */

static void test_null_arguments(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;

	reg_default(&reg);
	assert_int_equal(FltRegisterFilter(NULL, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltRegisterFilter(&x->d, NULL, &x->h),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltRegisterFilter(&x->d, &reg, NULL),
			 STATUS_INVALID_PARAMETER);
	expect_refused(x, NULL, STATUS_INVALID_PARAMETER);
}

static void test_foreign_driver_object(void **state)
{
	struct drv *x = *state;
	struct fm_filter *other = fm_filter_alloc("foreign", "1");
	DRIVER_OBJECT zero, forged, copy, other_drv;
	struct fm_object not_filter = { .type = FM_OBJ_VOLUME };
	FLT_REGISTRATION reg;

	assert_non_null(other);
	reg_default(&reg);

	/* Never bound by the loader. */
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(FltRegisterFilter(&zero, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	/* Right type, no filter behind it. */
	memset(&forged, 0, sizeof(forged));
	forged.Type = 4;
	forged.Size = sizeof(forged);
	assert_int_equal(FltRegisterFilter(&forged, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	/* Right type, DriverSection is some other kind of object. */
	forged.DriverSection = &not_filter;
	assert_int_equal(FltRegisterFilter(&forged, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	/* Right type, pointing at a filter bound to another DRIVER_OBJECT. */
	memset(&other_drv, 0, sizeof(other_drv));
	fm_filter_bind_driver(&other_drv, other);
	forged.DriverSection = other;
	assert_int_equal(FltRegisterFilter(&forged, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(other->reg.Size, 0);
	/* A copy of a real DRIVER_OBJECT: the filter belongs to the original. */
	memcpy(&copy, &x->d, sizeof(copy));
	assert_int_equal(FltRegisterFilter(&copy, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	/* The real one with its type code spoiled. */
	x->d.Type = 5;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h),
			 STATUS_INVALID_PARAMETER);
	x->d.Type = 4;
	assert_ptr_equal(x->h, SENTINEL);
	assert_null(fm_filter_find("foreign"));
	fm_filter_free(other);
	expect_refused(x, NULL, STATUS_INVALID_PARAMETER);
}

/* ---- Version and size ---------------------------------------------------- */

struct version_case {
	USHORT version;
	size_t min_size;
};

static const struct version_case versions[] = {
	{ FLT_REGISTRATION_VERSION_0200,
	  offsetof(FLT_REGISTRATION, TransactionNotificationCallback) },
	{ FLT_REGISTRATION_VERSION_0201,
	  offsetof(FLT_REGISTRATION, NormalizeNameComponentExCallback) },
	{ FLT_REGISTRATION_VERSION_0202,
	  offsetof(FLT_REGISTRATION, SectionNotificationCallback) },
	{ FLT_REGISTRATION_VERSION_0203, sizeof(FLT_REGISTRATION) },
};

static void test_each_version_minimum_size(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct drv *x;
		FLT_REGISTRATION reg;
		void *st;

		assert_int_equal(drv_setup(&st), 0);
		x = st;
		reg_init(&reg, versions[i].version,
			 (USHORT)versions[i].min_size);
		reg.FilterUnloadCallback = unload_a;
		assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h),
				 STATUS_SUCCESS);
		assert_ptr_equal(x->h, (PFLT_FILTER)x->f);
		assert_ptr_equal(fm_filter_find(x->name), x->f);
		assert_ptr_equal(x->f->reg.FilterUnloadCallback, unload_a);
		assert_int_equal(x->f->reg.Version, versions[i].version);
		drv_teardown(&st);
	}
}

static void test_size_too_small_for_version(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		struct drv *x;
		FLT_REGISTRATION reg;
		void *st;

		assert_int_equal(drv_setup(&st), 0);
		x = st;
		reg_init(&reg, versions[i].version,
			 (USHORT)(versions[i].min_size - 1));
		expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
		drv_teardown(&st);
	}
}

static void test_size_zero_refused(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;

	reg_init(&reg, FLT_REGISTRATION_VERSION, 0);
	expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
}

/* Fields past the version's size are not the filter's to give. */
static void test_fields_beyond_version_ignored(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;

	reg_init(&reg, FLT_REGISTRATION_VERSION_0200, sizeof(reg));
	reg.FilterUnloadCallback = unload_b;
	reg.TransactionNotificationCallback = (PVOID)(uintptr_t)0x1234;
	reg.NormalizeNameComponentExCallback = (PVOID)(uintptr_t)0x5678;
	reg.SectionNotificationCallback = (PVOID)(uintptr_t)0x9abc;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_ptr_equal(x->f->reg.FilterUnloadCallback, unload_b);
	assert_null(x->f->reg.TransactionNotificationCallback);
	assert_null(x->f->reg.NormalizeNameComponentExCallback);
	assert_null(x->f->reg.SectionNotificationCallback);
	/* The registration is a copy: changing the caller's does nothing. */
	reg.FilterUnloadCallback = unload_a;
	assert_ptr_equal(x->f->reg.FilterUnloadCallback, unload_b);
}

static void test_unknown_versions(void **state)
{
	static const USHORT bad[] = { 0x0000, 0x0100, 0x01ff, 0x0204,
				      0x0300, 0x2002, 0xffff };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drv *x;
		FLT_REGISTRATION reg;
		void *st;

		assert_int_equal(drv_setup(&st), 0);
		x = st;
		reg_init(&reg, bad[i], sizeof(reg));
		expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
		drv_teardown(&st);
	}
}

/* ---- Registration flags ---------------------------------------------------- */

static void test_known_registration_flags(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;

	reg_default(&reg);
	reg.Flags = FLTFL_REGISTRATION_DO_NOT_SUPPORT_SERVICE_STOP |
		    FLTFL_REGISTRATION_SUPPORT_NPFS_MSFS |
		    FLTFL_REGISTRATION_SUPPORT_DAX_VOLUME |
		    FLTFL_REGISTRATION_SUPPORT_WCOS;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_int_equal(x->f->reg.Flags, reg.Flags);
}

static void test_unknown_registration_flags(void **state)
{
	static const ULONG bad[] = { 0x10, 0x100, 0x80000000u, 0x1f };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drv *x;
		FLT_REGISTRATION reg;
		void *st;

		assert_int_equal(drv_setup(&st), 0);
		x = st;
		reg_default(&reg);
		reg.Flags = bad[i];
		expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
		drv_teardown(&st);
	}
}

/* ---- Operation table -------------------------------------------------------- */

static void register_one_major(UCHAR major, NTSTATUS want)
{
	FLT_OPERATION_REGISTRATION ops[2];
	FLT_REGISTRATION reg;
	struct drv *x;
	void *st;

	assert_int_equal(drv_setup(&st), 0);
	x = st;
	one_op(ops, major, 0, pre_cb, post_cb);
	reg_default(&reg);
	reg.OperationRegistration = ops;
	if (want == STATUS_SUCCESS) {
		unsigned idx = fm_major_index(major);

		assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h),
				 STATUS_SUCCESS);
		assert_int_not_equal(idx, FM_MAJOR_INVALID);
		assert_true(x->f->ops[idx].registered);
		assert_ptr_equal(x->f->ops[idx].pre, pre_cb);
		assert_ptr_equal(x->f->ops[idx].post, post_cb);
		for (unsigned i = 0; i < FM_MAJOR_COUNT; i++)
			if (i != idx)
				assert_false(x->f->ops[i].registered);
	} else {
		print_message("major 0x%02x\n", major);
		expect_refused(x, &reg, want);
	}
	drv_teardown(&st);
}

static void test_valid_major_codes(void **state)
{
	(void)state;
	for (unsigned m = 0; m <= IRP_MJ_MAXIMUM_FUNCTION; m++)
		register_one_major((UCHAR)m, STATUS_SUCCESS);
	for (int n = 1; n <= 7; n++)
		register_one_major((UCHAR)-n, STATUS_SUCCESS);
	for (int n = 13; n <= 20; n++)
		register_one_major((UCHAR)-n, STATUS_SUCCESS);
}

static void test_unknown_major_codes(void **state)
{
	static const UCHAR bad[] = { 0x1c, 0x1d, 0x50, 0x7f, 0x81, 0xc0,
				     0xea, 0xeb };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		register_one_major(bad[i], STATUS_INVALID_PARAMETER);
}

/*
 * (UCHAR)-8 .. (UCHAR)-12 are not assigned by the WDK: fltKernel.h defines
 * no IRP_MJ_ name for them and FltGetIrpName calls them IRP_MJ_UNKNOWN, so a
 * registration naming one has an unknown major code.
 */
static void test_unassigned_negative_major_codes(void **state)
{
	(void)state;
	for (int n = 8; n <= 12; n++)
		register_one_major((UCHAR)-n, STATUS_INVALID_PARAMETER);
}

static void test_operation_without_callbacks(void **state)
{
	struct drv *x = *state;
	FLT_OPERATION_REGISTRATION ops[2];
	FLT_REGISTRATION reg;

	one_op(ops, IRP_MJ_CREATE, 0, NULL, NULL);
	reg_default(&reg);
	reg.OperationRegistration = ops;
	expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
}

static void test_operation_pre_or_post_only(void **state)
{
	struct drv *x = *state;
	FLT_OPERATION_REGISTRATION ops[3] = {
		{ .MajorFunction = IRP_MJ_READ, .PreOperation = pre_cb },
		{ .MajorFunction = IRP_MJ_WRITE, .PostOperation = post_cb },
		{ .MajorFunction = IRP_MJ_OPERATION_END },
	};
	FLT_REGISTRATION reg;

	reg_default(&reg);
	reg.OperationRegistration = ops;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_ptr_equal(x->f->ops[IRP_MJ_READ].pre, pre_cb);
	assert_null(x->f->ops[IRP_MJ_READ].post);
	assert_null(x->f->ops[IRP_MJ_WRITE].pre);
	assert_ptr_equal(x->f->ops[IRP_MJ_WRITE].post, post_cb);
}

static void test_operation_registered_twice(void **state)
{
	struct drv *x = *state;
	FLT_OPERATION_REGISTRATION ops[4] = {
		{ .MajorFunction = IRP_MJ_WRITE, .PreOperation = pre_cb },
		{ .MajorFunction = IRP_MJ_READ, .PreOperation = pre_cb },
		{ .MajorFunction = IRP_MJ_WRITE, .PostOperation = post_cb },
		{ .MajorFunction = IRP_MJ_OPERATION_END },
	};
	FLT_REGISTRATION reg;

	reg_default(&reg);
	reg.OperationRegistration = ops;
	expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
}

static void test_operation_flags(void **state)
{
	static const ULONG bad[] = { 0x10, 0x20, 0x80000000u, 0x1f };
	const ULONG good = FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO |
			   FLTFL_OPERATION_REGISTRATION_SKIP_CACHED_IO |
			   FLTFL_OPERATION_REGISTRATION_SKIP_NON_DASD_IO |
			   FLTFL_OPERATION_REGISTRATION_SKIP_NON_CACHED_NON_PAGING_IO;
	struct drv *x = *state;
	FLT_OPERATION_REGISTRATION ops[2];
	FLT_REGISTRATION reg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drv *y;
		void *st;

		assert_int_equal(drv_setup(&st), 0);
		y = st;
		one_op(ops, IRP_MJ_READ, bad[i], pre_cb, NULL);
		reg_default(&reg);
		reg.OperationRegistration = ops;
		expect_refused(y, &reg, STATUS_INVALID_PARAMETER);
		drv_teardown(&st);
	}
	one_op(ops, IRP_MJ_READ, good, pre_cb, NULL);
	reg_default(&reg);
	reg.OperationRegistration = ops;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_int_equal(x->f->ops[IRP_MJ_READ].flags, good);
}

/*
 * 256 entries and no IRP_MJ_OPERATION_END, the table ending right at an
 * inaccessible page: refused, and nothing past the table is read.
 */
static void test_unterminated_operation_table(void **state)
{
	struct drv *x = *state;
	const size_t n = 256;
	FLT_OPERATION_REGISTRATION *ops;
	FLT_REGISTRATION reg;
	void *map;
	size_t len;

	ops = guarded_table(n * sizeof(*ops), &map, &len);
	for (size_t i = 0; i < n; i++) {
		unsigned k = (unsigned)(i % (IRP_MJ_MAXIMUM_FUNCTION + 1));

		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].MajorFunction = (UCHAR)k;
		ops[i].PreOperation = pre_cb;
	}
	reg_default(&reg);
	reg.OperationRegistration = ops;
	expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
	munmap(map, len);
}

/* The end marker is recognised wherever it is, even as the only entry. */
static void test_empty_operation_table(void **state)
{
	struct drv *x = *state;
	FLT_OPERATION_REGISTRATION ops[1] = {
		{ .MajorFunction = IRP_MJ_OPERATION_END },
	};
	FLT_REGISTRATION reg;

	reg_default(&reg);
	reg.OperationRegistration = ops;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	for (unsigned i = 0; i < FM_MAJOR_COUNT; i++)
		assert_false(x->f->ops[i].registered);
}

/* ---- Context table ------------------------------------------------------------ */

static void register_contexts(const FLT_CONTEXT_REGISTRATION *ctx,
			      NTSTATUS want)
{
	FLT_REGISTRATION reg;
	struct drv *x;
	void *st;

	assert_int_equal(drv_setup(&st), 0);
	x = st;
	reg_default(&reg);
	reg.ContextRegistration = ctx;
	if (want == STATUS_SUCCESS) {
		assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h),
				 STATUS_SUCCESS);
		assert_ptr_equal(fm_filter_find(x->name), x->f);
	} else {
		expect_refused(x, &reg, want);
	}
	drv_teardown(&st);
}

static void test_valid_contexts(void **state)
{
	const FLT_CONTEXT_REGISTRATION ctx[] = {
		{ FLT_VOLUME_CONTEXT, 0, NULL, 16, 0x74786554, NULL, NULL, NULL },
		{ FLT_INSTANCE_CONTEXT, 0, NULL, 8, 0, NULL, NULL, NULL },
		{ FLT_FILE_CONTEXT, FLTFL_CONTEXT_REGISTRATION_NO_EXACT_SIZE_MATCH,
		  NULL, 32, 0, NULL, NULL, NULL },
		{ FLT_STREAM_CONTEXT, 0, NULL, FLT_VARIABLE_SIZED_CONTEXTS, 0,
		  NULL, NULL, NULL },
		{ FLT_STREAMHANDLE_CONTEXT, 0, NULL, 0, 0, ctx_alloc, ctx_free,
		  NULL },
		{ FLT_TRANSACTION_CONTEXT, 0, NULL, 4, 0, NULL, NULL, NULL },
		{ FLT_SECTION_CONTEXT, 0, NULL, 4, 0, NULL, NULL, NULL },
		/* The same type twice with another size is allowed. */
		{ FLT_STREAM_CONTEXT, 0, NULL, 64, 0, NULL, NULL, NULL },
		{ FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL },
	};

	(void)state;
	register_contexts(ctx, STATUS_SUCCESS);
}

static void test_invalid_contexts(void **state)
{
	const FLT_CONTEXT_REGISTRATION bad[][2] = {
		/* Unknown type. */
		{ { 0x0080, 0, NULL, 8, 0, NULL, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		{ { 0x0000, 0, NULL, 8, 0, NULL, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		/* Several types at once. */
		{ { FLT_ALL_CONTEXTS, 0, NULL, 8, 0, NULL, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		{ { FLT_FILE_CONTEXT | FLT_STREAM_CONTEXT, 0, NULL, 8, 0, NULL,
		    NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		/* Allocate without free, and free without allocate. */
		{ { FLT_STREAM_CONTEXT, 0, NULL, 8, 0, ctx_alloc, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		{ { FLT_STREAM_CONTEXT, 0, NULL, 8, 0, NULL, ctx_free, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		/* Size 0 and nothing to allocate with. */
		{ { FLT_STREAM_CONTEXT, 0, NULL, 0, 0, NULL, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
		/* Unknown flag. */
		{ { FLT_STREAM_CONTEXT, 0x0002, NULL, 8, 0, NULL, NULL, NULL },
		  { FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("context case %zu\n", i);
		register_contexts(bad[i],
				  STATUS_FLT_INVALID_CONTEXT_REGISTRATION);
	}
}

/* A bad entry after good ones still refuses the whole registration. */
static void test_invalid_context_after_valid(void **state)
{
	const FLT_CONTEXT_REGISTRATION ctx[] = {
		{ FLT_VOLUME_CONTEXT, 0, NULL, 16, 0, NULL, NULL, NULL },
		{ FLT_STREAM_CONTEXT, 0, NULL, 0, 0, NULL, NULL, NULL },
		{ FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL },
	};

	(void)state;
	register_contexts(ctx, STATUS_FLT_INVALID_CONTEXT_REGISTRATION);
}

static void test_unterminated_context_table(void **state)
{
	struct drv *x = *state;
	const size_t n = 256;
	FLT_CONTEXT_REGISTRATION *ctx;
	FLT_REGISTRATION reg;
	void *map;
	size_t len;

	ctx = guarded_table(n * sizeof(*ctx), &map, &len);
	for (size_t i = 0; i < n; i++) {
		memset(&ctx[i], 0, sizeof(ctx[i]));
		ctx[i].ContextType = FLT_STREAM_CONTEXT;
		ctx[i].Size = 8 + i;
	}
	reg_default(&reg);
	reg.ContextRegistration = ctx;
	expect_refused(x, &reg, STATUS_FLT_INVALID_CONTEXT_REGISTRATION);
	munmap(map, len);
}

/* A bad operation table wins even when the context table is fine too. */
static void test_bad_operations_with_good_contexts(void **state)
{
	struct drv *x = *state;
	const FLT_CONTEXT_REGISTRATION ctx[] = {
		{ FLT_VOLUME_CONTEXT, 0, NULL, 16, 0, NULL, NULL, NULL },
		{ FLT_CONTEXT_END, 0, NULL, 0, 0, NULL, NULL, NULL },
	};
	FLT_OPERATION_REGISTRATION ops[2];
	FLT_REGISTRATION reg;

	one_op(ops, 0x1c, 0, pre_cb, NULL);
	reg_default(&reg);
	reg.ContextRegistration = ctx;
	reg.OperationRegistration = ops;
	expect_refused(x, &reg, STATUS_INVALID_PARAMETER);
}

/* ---- Lifecycle -------------------------------------------------------------------- */

static void test_register_twice(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;
	PFLT_FILTER second = SENTINEL;
	long refs;

	reg_default(&reg);
	reg.FilterUnloadCallback = unload_a;
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	refs = atomic_load(&x->f->obj.refs);
	reg.FilterUnloadCallback = unload_b;
	assert_false(NT_SUCCESS(FltRegisterFilter(&x->d, &reg, &second)));
	assert_ptr_equal(second, SENTINEL);
	/* The first registration stands, listed once. */
	assert_ptr_equal(x->f->reg.FilterUnloadCallback, unload_a);
	assert_ptr_equal(fm_filter_find(x->name), x->f);
	assert_int_equal(atomic_load(&x->f->obj.refs), refs);
	FltUnregisterFilter(x->h);
	assert_null(fm_filter_find(x->name));
}

static void test_start_filtering(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;
	struct fm_object bogus = { .type = FM_OBJ_INSTANCE };

	assert_int_equal(FltStartFiltering(NULL), STATUS_INVALID_PARAMETER);
	assert_int_equal(FltStartFiltering((PFLT_FILTER)&bogus),
			 STATUS_INVALID_PARAMETER);
	/* Before FltRegisterFilter. */
	assert_int_equal(FltStartFiltering((PFLT_FILTER)x->f),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(x->f->state, FM_FILTER_REGISTERED);

	reg_default(&reg);
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_int_equal(x->f->state, FM_FILTER_REGISTERED);
	assert_int_equal(FltStartFiltering(x->h), STATUS_SUCCESS);
	assert_int_equal(x->f->state, FM_FILTER_STARTED);
	assert_int_equal(FltStartFiltering(x->h), STATUS_INVALID_DEVICE_STATE);
	assert_int_equal(x->f->state, FM_FILTER_STARTED);
}

static void test_unregister(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;

	reg_default(&reg);
	assert_int_equal(atomic_load(&x->f->obj.refs), 1);
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_int_equal(atomic_load(&x->f->obj.refs), 2);
	assert_int_equal(FltStartFiltering(x->h), STATUS_SUCCESS);
	assert_ptr_equal(fm_filter_find(x->name), x->f);
	/* Names are case-insensitive, as service names are. */
	for (char *p = x->name; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	assert_ptr_equal(fm_filter_find(x->name), x->f);

	FltUnregisterFilter(x->h);
	assert_null(fm_filter_find(x->name));
	assert_int_equal(atomic_load(&x->f->obj.refs), 1);
	assert_int_equal(x->f->state, FM_FILTER_UNREGISTERING);
	/* A second unregister, or NULL, is harmless. */
	FltUnregisterFilter(x->h);
	FltUnregisterFilter(NULL);
	assert_int_equal(atomic_load(&x->f->obj.refs), 1);
	/* And the driver cannot register again. */
	assert_false(NT_SUCCESS(FltRegisterFilter(&x->d, &reg, &x->h)));
	assert_null(fm_filter_find(x->name));
}

/* Unregistering one filter leaves the others listed. */
static void test_unregister_keeps_others(void **state)
{
	struct drv *x = *state;
	FLT_REGISTRATION reg;
	struct drv *y;
	void *st;

	assert_int_equal(drv_setup(&st), 0);
	y = st;
	reg_default(&reg);
	assert_int_equal(FltRegisterFilter(&x->d, &reg, &x->h), STATUS_SUCCESS);
	assert_int_equal(FltRegisterFilter(&y->d, &reg, &y->h), STATUS_SUCCESS);
	assert_ptr_equal(fm_filter_find(x->name), x->f);
	assert_ptr_equal(fm_filter_find(y->name), y->f);
	FltUnregisterFilter(x->h);
	assert_null(fm_filter_find(x->name));
	assert_ptr_equal(fm_filter_find(y->name), y->f);
	drv_teardown(&st);
	assert_null(fm_filter_find(y->name));
}

/* ---- FltGetIrpName ---------------------------------------------------------------- */

static void test_irp_names(void **state)
{
	static const struct {
		UCHAR major;
		const char *name;
	} names[] = {
		{ IRP_MJ_CREATE, "IRP_MJ_CREATE" },
		{ IRP_MJ_CREATE_NAMED_PIPE, "IRP_MJ_CREATE_NAMED_PIPE" },
		{ IRP_MJ_CLOSE, "IRP_MJ_CLOSE" },
		{ IRP_MJ_READ, "IRP_MJ_READ" },
		{ IRP_MJ_WRITE, "IRP_MJ_WRITE" },
		{ IRP_MJ_QUERY_INFORMATION, "IRP_MJ_QUERY_INFORMATION" },
		{ IRP_MJ_SET_INFORMATION, "IRP_MJ_SET_INFORMATION" },
		{ IRP_MJ_QUERY_EA, "IRP_MJ_QUERY_EA" },
		{ IRP_MJ_SET_EA, "IRP_MJ_SET_EA" },
		{ IRP_MJ_FLUSH_BUFFERS, "IRP_MJ_FLUSH_BUFFERS" },
		{ IRP_MJ_QUERY_VOLUME_INFORMATION,
		  "IRP_MJ_QUERY_VOLUME_INFORMATION" },
		{ IRP_MJ_SET_VOLUME_INFORMATION, "IRP_MJ_SET_VOLUME_INFORMATION" },
		{ IRP_MJ_DIRECTORY_CONTROL, "IRP_MJ_DIRECTORY_CONTROL" },
		{ IRP_MJ_FILE_SYSTEM_CONTROL, "IRP_MJ_FILE_SYSTEM_CONTROL" },
		{ IRP_MJ_DEVICE_CONTROL, "IRP_MJ_DEVICE_CONTROL" },
		{ IRP_MJ_INTERNAL_DEVICE_CONTROL,
		  "IRP_MJ_INTERNAL_DEVICE_CONTROL" },
		{ IRP_MJ_SHUTDOWN, "IRP_MJ_SHUTDOWN" },
		{ IRP_MJ_LOCK_CONTROL, "IRP_MJ_LOCK_CONTROL" },
		{ IRP_MJ_CLEANUP, "IRP_MJ_CLEANUP" },
		{ IRP_MJ_CREATE_MAILSLOT, "IRP_MJ_CREATE_MAILSLOT" },
		{ IRP_MJ_QUERY_SECURITY, "IRP_MJ_QUERY_SECURITY" },
		{ IRP_MJ_SET_SECURITY, "IRP_MJ_SET_SECURITY" },
		{ IRP_MJ_POWER, "IRP_MJ_POWER" },
		{ IRP_MJ_SYSTEM_CONTROL, "IRP_MJ_SYSTEM_CONTROL" },
		{ IRP_MJ_DEVICE_CHANGE, "IRP_MJ_DEVICE_CHANGE" },
		{ IRP_MJ_QUERY_QUOTA, "IRP_MJ_QUERY_QUOTA" },
		{ IRP_MJ_SET_QUOTA, "IRP_MJ_SET_QUOTA" },
		{ IRP_MJ_PNP, "IRP_MJ_PNP" },
		{ IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION,
		  "IRP_MJ_ACQUIRE_FOR_SECTION_SYNCHRONIZATION" },
		{ IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION,
		  "IRP_MJ_RELEASE_FOR_SECTION_SYNCHRONIZATION" },
		{ IRP_MJ_ACQUIRE_FOR_MOD_WRITE, "IRP_MJ_ACQUIRE_FOR_MOD_WRITE" },
		{ IRP_MJ_RELEASE_FOR_MOD_WRITE, "IRP_MJ_RELEASE_FOR_MOD_WRITE" },
		{ IRP_MJ_ACQUIRE_FOR_CC_FLUSH, "IRP_MJ_ACQUIRE_FOR_CC_FLUSH" },
		{ IRP_MJ_RELEASE_FOR_CC_FLUSH, "IRP_MJ_RELEASE_FOR_CC_FLUSH" },
		{ IRP_MJ_QUERY_OPEN, "IRP_MJ_QUERY_OPEN" },
		{ IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE,
		  "IRP_MJ_FAST_IO_CHECK_IF_POSSIBLE" },
		{ IRP_MJ_NETWORK_QUERY_OPEN, "IRP_MJ_NETWORK_QUERY_OPEN" },
		{ IRP_MJ_MDL_READ, "IRP_MJ_MDL_READ" },
		{ IRP_MJ_MDL_READ_COMPLETE, "IRP_MJ_MDL_READ_COMPLETE" },
		{ IRP_MJ_PREPARE_MDL_WRITE, "IRP_MJ_PREPARE_MDL_WRITE" },
		{ IRP_MJ_MDL_WRITE_COMPLETE, "IRP_MJ_MDL_WRITE_COMPLETE" },
		{ IRP_MJ_VOLUME_MOUNT, "IRP_MJ_VOLUME_MOUNT" },
		{ IRP_MJ_VOLUME_DISMOUNT, "IRP_MJ_VOLUME_DISMOUNT" },
		/* Not major functions. */
		{ 0x1c, "IRP_MJ_UNKNOWN" },
		{ 0x50, "IRP_MJ_UNKNOWN" },
		{ IRP_MJ_OPERATION_END, "IRP_MJ_UNKNOWN" },
		{ 0xeb, "IRP_MJ_UNKNOWN" },
		{ (UCHAR)-8, "IRP_MJ_UNKNOWN" },
		{ (UCHAR)-10, "IRP_MJ_UNKNOWN" },
		{ (UCHAR)-12, "IRP_MJ_UNKNOWN" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *got = FltGetIrpName(names[i].major);

		assert_non_null(got);
		if (strcmp(got, names[i].name))
			fail_msg("FltGetIrpName(0x%02x) = %s, want %s",
				 names[i].major, got, names[i].name);
	}
}

static void test_irp_minor_names(void **state)
{
	(void)state;
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_DIRECTORY_CONTROL,
					       IRP_MN_QUERY_DIRECTORY),
			    "IRP_MN_QUERY_DIRECTORY");
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_DIRECTORY_CONTROL,
					       IRP_MN_NOTIFY_CHANGE_DIRECTORY),
			    "IRP_MN_NOTIFY_CHANGE_DIRECTORY");
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_LOCK_CONTROL,
					       IRP_MN_UNLOCK_ALL_BY_KEY),
			    "IRP_MN_UNLOCK_ALL_BY_KEY");
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_READ, IRP_MN_NORMAL),
			    "IRP_MN_NORMAL");
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_CREATE, 0),
			    "IRP_MN_UNKNOWN");
	assert_string_equal(FltGetIrpMinorName(IRP_MJ_DIRECTORY_CONTROL, 0x7f),
			    "IRP_MN_UNKNOWN");
}

/* ---- Altitudes ---------------------------------------------------------------------- */

static void test_altitude_valid(void **state)
{
	static const char *const good[] = {
		"0", "1", "370030", "370030.5", "0370030", "1.10", "00.5",
		"1234567890123456789012345678901", /* 31 characters */
	};
	static const char *const bad[] = {
		"", ".", ".5", "5.", "1.2.3", "1..2", "-1", "+1", " 1", "1 ",
		"1e5", "abc", "12a", "0x10", "1,5",
		"12345678901234567890123456789012", /* 32 characters */
	};

	(void)state;
	assert_false(fm_altitude_valid(NULL));
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!fm_altitude_valid(good[i]))
			fail_msg("'%s' should be a valid altitude", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fm_altitude_valid(bad[i]))
			fail_msg("'%s' should not be a valid altitude", bad[i]);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_altitude_compare(void **state)
{
	/* Numeric truth: a < b gives -1. */
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "370030", "370030", 0 },
		{ "370030", "370030.5", -1 },
		{ "0370030", "370030", 0 },
		{ "000", "0", 0 },
		{ "00.5", "0.5", 0 },
		{ "370030.50", "370030.5", 0 },
		{ "370030.0", "370030", 0 },
		{ "9", "10", -1 },
		{ "99999.999", "100000", -1 },
		{ "1.10", "1.9", -1 },
		{ "1.05", "1.5", -1 },
		{ "1.5", "1.49999", 1 },
		{ "0.5", "1", -1 },
		{ "385100", "370030", 1 },
		{ "20", "3", 1 },
		{ "0010", "9", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ab = sign(fm_altitude_compare(cases[i].a, cases[i].b));
		int ba = sign(fm_altitude_compare(cases[i].b, cases[i].a));

		if (ab != cases[i].want || ba != -cases[i].want)
			fail_msg("compare(%s, %s) = %d, reverse %d, want %d",
				 cases[i].a, cases[i].b, ab, ba, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, drv_setup, drv_teardown)
		T(test_null_arguments),
		T(test_foreign_driver_object),
		cmocka_unit_test(test_each_version_minimum_size),
		cmocka_unit_test(test_size_too_small_for_version),
		T(test_size_zero_refused),
		T(test_fields_beyond_version_ignored),
		cmocka_unit_test(test_unknown_versions),
		T(test_known_registration_flags),
		cmocka_unit_test(test_unknown_registration_flags),
		cmocka_unit_test(test_valid_major_codes),
		cmocka_unit_test(test_unknown_major_codes),
		cmocka_unit_test(test_unassigned_negative_major_codes),
		T(test_operation_without_callbacks),
		T(test_operation_pre_or_post_only),
		T(test_operation_registered_twice),
		T(test_operation_flags),
		T(test_unterminated_operation_table),
		T(test_empty_operation_table),
		cmocka_unit_test(test_valid_contexts),
		cmocka_unit_test(test_invalid_contexts),
		cmocka_unit_test(test_invalid_context_after_valid),
		T(test_unterminated_context_table),
		T(test_bad_operations_with_good_contexts),
		T(test_register_twice),
		T(test_start_filtering),
		T(test_unregister),
		T(test_unregister_keeps_others),
		cmocka_unit_test(test_irp_names),
		cmocka_unit_test(test_irp_minor_names),
		cmocka_unit_test(test_altitude_valid),
		cmocka_unit_test(test_altitude_compare),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
