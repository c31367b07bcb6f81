/*
 * test_fltlib_find.c - the Find calls, the GetInformation calls and the
 * handles behind them, against a fake control server: every information
 * class's layout (names at offsets or inline, byte lengths, no
 * terminators), one entry per call, ERROR_NO_MORE_ITEMS at the end, a
 * buffer too small reported with the size needed and the entry kept,
 * snapshots, and stale, closed or made-up handles.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fltlib_fake.h"

#define NO_MORE HRESULT_FROM_WIN32(ERROR_NO_MORE_ITEMS)
#define TOO_SMALL HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)

static int setup(void **state)
{
	(void)state;
	fake_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(fake_bad_requests(), 0);
	fake_stop();
	return 0;
}

static const char *const filter_names[] = { "top", "passthrough", "bottom" };
static const char *const filter_alts[] = { "409800", "370030", "40500.5" };
static const uint32_t filter_counts[] = { 2, 1, 0 };

static void three_filters(void)
{
	fake_filters(3, filter_names, filter_alts, filter_counts);
}

/* Aligned room for any entry. */
union entry {
	FILTER_FULL_INFORMATION full;
	FILTER_AGGREGATE_BASIC_INFORMATION basic;
	FILTER_AGGREGATE_STANDARD_INFORMATION standard;
	INSTANCE_AGGREGATE_STANDARD_INFORMATION instance;
	FILTER_VOLUME_LINUX_INFORMATION volume;
	FILTER_SERVICE_INFORMATION service;
	BYTE raw[4096];
};

#define AT(base, off) ((const BYTE *)(base) + (off))

/* ---- filters --------------------------------------------------------- */

static void test_filters_standard(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;
	int i;

	(void)state;
	three_filters();
	assert_int_equal(FilterFindFirst(FilterAggregateStandardInformation, &e,
					 sizeof(e), &n, &h),
			 S_OK);
	for (i = 0; i < 3; i++) {
		const FILTER_AGGREGATE_STANDARD_INFORMATION *fi = &e.standard;
		size_t nl = strlen(filter_names[i]), al = strlen(filter_alts[i]);

		if (i)
			assert_int_equal(FilterFindNext(h, FilterAggregateStandardInformation,
							&e, sizeof(e), &n),
					 S_OK);
		assert_int_equal(fi->NextEntryOffset, 0);
		assert_int_equal(fi->Flags, FLTFL_AGGREGATE_INFO_IS_MINIFILTER);
		assert_int_equal(fi->Type.MiniFilter.NumberOfInstances,
				 filter_counts[i]);
		assert_int_equal(fi->Type.MiniFilter.FilterNameLength, nl * 2);
		assert_int_equal(fi->Type.MiniFilter.FilterNameBufferOffset,
				 sizeof(*fi));
		assert_true(w16_eq(AT(fi, fi->Type.MiniFilter.FilterNameBufferOffset),
				   fi->Type.MiniFilter.FilterNameLength,
				   filter_names[i]));
		assert_int_equal(fi->Type.MiniFilter.FilterAltitudeBufferOffset,
				 sizeof(*fi) + nl * 2);
		assert_true(w16_eq(AT(fi, fi->Type.MiniFilter.FilterAltitudeBufferOffset),
				   fi->Type.MiniFilter.FilterAltitudeLength,
				   filter_alts[i]));
		assert_int_equal(n, sizeof(*fi) + 2 * (nl + al));
	}
	assert_int_equal(FilterFindNext(h, FilterAggregateStandardInformation, &e,
					sizeof(e), &n),
			 NO_MORE);
	/* And stays at the end. */
	assert_int_equal(FilterFindNext(h, FilterAggregateStandardInformation, &e,
					sizeof(e), &n),
			 NO_MORE);
	assert_int_equal(FilterFindClose(h), S_OK);
	/* One enumeration, one request. */
	assert_int_equal(fake_count_op(CTL_ENUM_FILTERS), 1);
}

static void test_filters_full_and_basic(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;

	(void)state;
	three_filters();
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 &h),
			 S_OK);
	/* The name inline, right after the fixed fields. */
	assert_int_equal(e.full.NextEntryOffset, 0);
	assert_int_equal(e.full.NumberOfInstances, 2);
	assert_int_equal(e.full.FilterNameLength, 6);
	assert_true(w16_eq(e.full.FilterNameBuffer, 6, "top"));
	assert_int_equal(n, offsetof(FILTER_FULL_INFORMATION, FilterNameBuffer) + 6);
	/* The class may change from one call to the next. */
	assert_int_equal(FilterFindNext(h, FilterAggregateBasicInformation, &e,
					sizeof(e), &n),
			 S_OK);
	assert_int_equal(e.basic.Flags, FLTFL_AGGREGATE_INFO_IS_MINIFILTER);
	assert_int_equal(e.basic.Type.MiniFilter.NumberOfInstances, 1);
	assert_true(w16_eq(AT(&e, e.basic.Type.MiniFilter.FilterNameBufferOffset),
			   e.basic.Type.MiniFilter.FilterNameLength,
			   "passthrough"));
	assert_true(w16_eq(AT(&e, e.basic.Type.MiniFilter.FilterAltitudeBufferOffset),
			   e.basic.Type.MiniFilter.FilterAltitudeLength,
			   "370030"));
	assert_int_equal(n, sizeof(e.basic) + 2 * (11 + 6));
	assert_true(CloseHandle(h));
}

static void test_filters_buffer_too_small(void **state)
{
	union entry e;
	HANDLE h = NULL;
	DWORD n = 0, need;

	(void)state;
	three_filters();
	/* FindFirst: the size needed, no handle. */
	assert_int_equal(FilterFindFirst(FilterAggregateBasicInformation, &e, 8, &n,
					 &h),
			 TOO_SMALL);
	assert_int_equal(n, sizeof(e.basic) + 2 * (3 + 6));
	assert_ptr_equal(h, INVALID_HANDLE_VALUE);
	assert_int_equal(FilterFindFirst(FilterAggregateBasicInformation, NULL, 0,
					 &n, &h),
			 TOO_SMALL);
	/* Exactly the size asked for works. */
	need = n;
	assert_int_equal(FilterFindFirst(FilterAggregateBasicInformation, &e, need,
					 &n, &h),
			 S_OK);
	assert_int_equal(n, need);
	/* FindNext: the entry is not consumed. */
	assert_int_equal(FilterFindNext(h, FilterAggregateBasicInformation, &e,
					need, &n),
			 TOO_SMALL);
	assert_int_equal(n, sizeof(e.basic) + 2 * (11 + 6));
	assert_int_equal(FilterFindNext(h, FilterAggregateBasicInformation, &e, n,
					&n),
			 S_OK);
	assert_true(w16_eq(AT(&e, e.basic.Type.MiniFilter.FilterNameBufferOffset),
			   e.basic.Type.MiniFilter.FilterNameLength,
			   "passthrough"));
	assert_int_equal(FilterFindClose(h), S_OK);
}

static void test_filters_buffer_untouched(void **state)
{
	BYTE buf[64];
	HANDLE h;
	DWORD n;
	size_t i;

	(void)state;
	three_filters();
	memset(buf, 0xA5, sizeof(buf));
	assert_int_equal(FilterFindFirst(FilterAggregateStandardInformation, buf,
					 40, &n, &h),
			 TOO_SMALL);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xA5);
}

static void test_filters_empty(void **state)
{
	union entry e;
	HANDLE h = NULL;
	DWORD n = 7;

	(void)state;
	fake_filters(0, NULL, NULL, NULL);
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 &h),
			 NO_MORE);
	assert_int_equal(n, 0);
	assert_ptr_equal(h, INVALID_HANDLE_VALUE);
}

static void test_filters_snapshot(void **state)
{
	static const char *const other[] = { "other" };
	static const char *const alt[] = { "1" };
	union entry e;
	HANDLE h;
	DWORD n;

	(void)state;
	three_filters();
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 &h),
			 S_OK);
	/* The daemon's list changes; the enumeration does not. */
	fake_filters(1, other, alt, NULL);
	assert_int_equal(FilterFindNext(h, FilterFullInformation, &e, sizeof(e), &n),
			 S_OK);
	assert_true(w16_eq(e.full.FilterNameBuffer, e.full.FilterNameLength,
			   "passthrough"));
	assert_int_equal(FilterFindNext(h, FilterFullInformation, &e, sizeof(e), &n),
			 S_OK);
	assert_int_equal(FilterFindNext(h, FilterFullInformation, &e, sizeof(e), &n),
			 NO_MORE);
	assert_int_equal(FilterFindClose(h), S_OK);
	assert_int_equal(fake_count_op(CTL_ENUM_FILTERS), 1);
}

static void test_bad_arguments(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;

	(void)state;
	three_filters();
	assert_int_equal(FilterFindFirst((FILTER_INFORMATION_CLASS)7, &e, sizeof(e),
					 &n, &h),
			 E_INVALIDARG);
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), NULL,
					 &h),
			 E_INVALIDARG);
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterFindFirst(FilterFullInformation, NULL, 100, &n, &h),
			 E_INVALIDARG);
	assert_int_equal(FilterVolumeFindFirst((FILTER_VOLUME_INFORMATION_CLASS)5,
					       &e, sizeof(e), &n, &h),
			 E_INVALIDARG);
	assert_int_equal(FilterInstanceFindFirst(w16("top"),
						 (INSTANCE_INFORMATION_CLASS)9,
						 &e, sizeof(e), &n, &h),
			 E_INVALIDARG);
	assert_int_equal(FilterInstanceFindFirst(NULL, InstanceBasicInformation,
						 &e, sizeof(e), &n, &h),
			 E_INVALIDARG);
	/* Nothing reached the daemon. */
	assert_int_equal(fake_count(), 0);
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 &h),
			 S_OK);
	assert_int_equal(FilterFindNext(h, (FILTER_INFORMATION_CLASS)3, &e,
					sizeof(e), &n),
			 E_INVALIDARG);
	assert_int_equal(FilterFindNext(h, FilterFullInformation, &e, sizeof(e),
					NULL),
			 E_INVALIDARG);
	assert_int_equal(FilterFindClose(h), S_OK);
}

/* ---- handles --------------------------------------------------------- */

static void test_bogus_handles(void **state)
{
	union entry e;
	HANDLE h, v;
	DWORD n;
	int local;

	(void)state;
	three_filters();
	fake_volumes(0, NULL);
	assert_int_equal(FilterFindNext(NULL, FilterFullInformation, &e,
					sizeof(e), &n),
			 E_HANDLE);
	assert_int_equal(FilterFindNext(INVALID_HANDLE_VALUE, FilterFullInformation,
					&e, sizeof(e), &n),
			 E_HANDLE);
	assert_int_equal(FilterFindNext((HANDLE)&local, FilterFullInformation, &e,
					sizeof(e), &n),
			 E_HANDLE);
	assert_int_equal(FilterFindClose((HANDLE)&local), E_HANDLE);
	assert_int_equal(FilterClose((HANDLE)&local), E_HANDLE);
	assert_int_equal(FilterInstanceClose(NULL), E_HANDLE);
	assert_false(CloseHandle((HANDLE)&local));
	assert_int_equal(GetLastError(), ERROR_INVALID_HANDLE);

	/* A live handle of another kind is no better. */
	assert_int_equal(FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n,
					 &h),
			 S_OK);
	assert_int_equal(FilterVolumeFindNext(h, FilterVolumeBasicInformation, &e,
					      sizeof(e), &n),
			 E_HANDLE);
	assert_int_equal(FilterInstanceFindClose(h), E_HANDLE);
	assert_int_equal(FilterVolumeFindClose(h), E_HANDLE);
	assert_int_equal(FilterGetInformation(h, FilterFullInformation, &e,
					      sizeof(e), &n),
			 E_HANDLE);
	/* Closed once; the second close and any later use fail cleanly. */
	assert_int_equal(FilterFindClose(h), S_OK);
	assert_int_equal(FilterFindClose(h), E_HANDLE);
	assert_int_equal(FilterFindNext(h, FilterFullInformation, &e, sizeof(e),
					&n),
			 E_HANDLE);
	/* An empty volume list gave no handle to close. */
	v = NULL;
	assert_int_equal(FilterVolumeFindFirst(FilterVolumeBasicInformation, &e,
					       sizeof(e), &n, &v),
			 NO_MORE);
	assert_ptr_equal(v, INVALID_HANDLE_VALUE);
	assert_int_equal(FilterVolumeFindClose(v), E_HANDLE);
}

static void test_many_handles(void **state)
{
	enum { N = 200 };
	HANDLE *h = calloc(N, sizeof(*h));
	union entry e;
	DWORD n;
	int i;

	(void)state;
	three_filters();
	for (i = 0; i < N; i++)
		assert_int_equal(FilterFindFirst(FilterFullInformation, &e,
						 sizeof(e), &n, &h[i]),
				 S_OK);
	/* Interleaved use of independent enumerations. */
	for (i = 0; i < N; i += 2)
		assert_int_equal(FilterFindNext(h[i], FilterFullInformation, &e,
						sizeof(e), &n),
				 S_OK);
	for (i = 0; i < N; i++)
		assert_true(CloseHandle(h[i]));
	free(h);
}

/* ---- instances ------------------------------------------------------- */

static const struct fake_instance two_instances[] = {
	{ "top", "\\Device\\data", "top Instance", "409800", 0, 0, 0x100 },
	/* Flags 2: the daemon's setup flags (manual attachment). */
	{ "top", "\\Device\\logs", "top Low", "100000.25", 0, 2, 0x100 },
};

static void test_instances_of_filter(void **state)
{
	union entry e;
	struct wire w;
	char buf[64];
	HANDLE h;
	DWORD n;
	const INSTANCE_AGGREGATE_STANDARD_INFORMATION *ii = &e.instance;

	(void)state;
	fake_instances(2, two_instances);
	assert_int_equal(FilterInstanceFindFirst(w16("top"),
						 InstanceAggregateStandardInformation,
						 &e, sizeof(e), &n, &h),
			 S_OK);
	/* The request names the filter and no volume. */
	assert_int_equal(fake_req(0, &w)->op, CTL_ENUM_INSTANCES);
	assert_true(wire_get_str(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "top");
	assert_true(wire_get_str(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "");

	assert_int_equal(ii->Flags, FLTFL_IASI_IS_MINIFILTER);
	assert_int_equal(ii->Type.MiniFilter.VolumeFileSystemType, FLT_FSTYPE_LINUX);
	assert_int_equal(ii->Type.MiniFilter.Flags, 0);
	assert_int_equal(ii->Type.MiniFilter.InstanceNameBufferOffset, sizeof(*ii));
	assert_true(w16_eq(AT(ii, ii->Type.MiniFilter.InstanceNameBufferOffset),
			   ii->Type.MiniFilter.InstanceNameLength, "top Instance"));
	assert_true(w16_eq(AT(ii, ii->Type.MiniFilter.AltitudeBufferOffset),
			   ii->Type.MiniFilter.AltitudeLength, "409800"));
	assert_true(w16_eq(AT(ii, ii->Type.MiniFilter.VolumeNameBufferOffset),
			   ii->Type.MiniFilter.VolumeNameLength, "\\Device\\data"));
	assert_true(w16_eq(AT(ii, ii->Type.MiniFilter.FilterNameBufferOffset),
			   ii->Type.MiniFilter.FilterNameLength, "top"));
	assert_int_equal(n, sizeof(*ii) + 2 * (12 + 6 + 12 + 3));

	assert_int_equal(FilterInstanceFindNext(h, InstanceAggregateStandardInformation,
						&e, sizeof(e), &n),
			 S_OK);
	/* Setup flags are not FLTFL_IASIM_xxx: not reported. */
	assert_int_equal(ii->Type.MiniFilter.Flags, 0);
	assert_true(w16_eq(AT(ii, ii->Type.MiniFilter.AltitudeBufferOffset),
			   ii->Type.MiniFilter.AltitudeLength, "100000.25"));
	assert_int_equal(FilterInstanceFindNext(h, InstanceBasicInformation, &e,
						sizeof(e), &n),
			 NO_MORE);
	assert_int_equal(FilterInstanceFindClose(h), S_OK);
}

static void test_instance_classes(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;
	const INSTANCE_BASIC_INFORMATION *b = (const void *)&e;
	const INSTANCE_PARTIAL_INFORMATION *p = (const void *)&e;
	const INSTANCE_FULL_INFORMATION *f = (const void *)&e;

	(void)state;
	fake_instances(2, two_instances);
	assert_int_equal(FilterInstanceFindFirst(w16("top"), InstanceBasicInformation,
						 &e, sizeof(e), &n, &h),
			 S_OK);
	assert_int_equal(b->NextEntryOffset, 0);
	assert_int_equal(b->InstanceNameBufferOffset, sizeof(*b));
	assert_true(w16_eq(AT(b, b->InstanceNameBufferOffset),
			   b->InstanceNameLength, "top Instance"));
	assert_int_equal(n, sizeof(*b) + 24);
	assert_true(CloseHandle(h));

	assert_int_equal(FilterInstanceFindFirst(w16("top"),
						 InstancePartialInformation, &e,
						 sizeof(e), &n, &h),
			 S_OK);
	assert_true(w16_eq(AT(p, p->InstanceNameBufferOffset),
			   p->InstanceNameLength, "top Instance"));
	assert_true(w16_eq(AT(p, p->AltitudeBufferOffset), p->AltitudeLength,
			   "409800"));
	assert_int_equal(n, sizeof(*p) + 24 + 12);
	assert_true(CloseHandle(h));

	assert_int_equal(FilterInstanceFindFirst(w16("top"), InstanceFullInformation,
						 &e, sizeof(e), &n, &h),
			 S_OK);
	assert_true(w16_eq(AT(f, f->InstanceNameBufferOffset),
			   f->InstanceNameLength, "top Instance"));
	assert_true(w16_eq(AT(f, f->AltitudeBufferOffset), f->AltitudeLength,
			   "409800"));
	assert_true(w16_eq(AT(f, f->VolumeNameBufferOffset), f->VolumeNameLength,
			   "\\Device\\data"));
	assert_true(w16_eq(AT(f, f->FilterNameBufferOffset), f->FilterNameLength,
			   "top"));
	/* Names follow one another, in declaration order. */
	assert_int_equal(f->AltitudeBufferOffset,
			 f->InstanceNameBufferOffset + f->InstanceNameLength);
	assert_int_equal(f->VolumeNameBufferOffset,
			 f->AltitudeBufferOffset + f->AltitudeLength);
	assert_int_equal(f->FilterNameBufferOffset,
			 f->VolumeNameBufferOffset + f->VolumeNameLength);
	assert_int_equal(n, f->FilterNameBufferOffset + f->FilterNameLength);
	assert_true(CloseHandle(h));
}

static void test_instances_none(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;

	(void)state;
	fake_instances(0, NULL);
	three_filters();
	/* A filter without instances: nothing to enumerate. */
	assert_int_equal(FilterInstanceFindFirst(w16("bottom"),
						 InstanceBasicInformation, &e,
						 sizeof(e), &n, &h),
			 NO_MORE);
	/* No such filter: said so, whatever the daemon's list said. */
	assert_int_equal(FilterInstanceFindFirst(w16("nosuch"),
						 InstanceBasicInformation, &e,
						 sizeof(e), &n, &h),
			 ERROR_FLT_FILTER_NOT_FOUND);
	assert_ptr_equal(h, INVALID_HANDLE_VALUE);
	fake_reply(CTL_ENUM_INSTANCES, (int32_t)0xC01C0013);
	assert_int_equal(FilterInstanceFindFirst(w16("nosuch"),
						 InstanceBasicInformation, &e,
						 sizeof(e), &n, &h),
			 ERROR_FLT_FILTER_NOT_FOUND);
}

static const struct fake_volume two_volumes[] = {
	{ "\\Device\\data", "/srv/data", "ext4", 0x100, 0 },
	{ "\\Device\\logs", "", "xfs", 0x100, FLTFL_VSI_DETACHED_VOLUME },
};

static void test_volume_instances(void **state)
{
	union entry e;
	struct wire w;
	char buf[64];
	HANDLE h;
	DWORD n;

	(void)state;
	fake_volumes(2, two_volumes);
	fake_instances(1, two_instances);
	assert_int_equal(FilterVolumeInstanceFindFirst(w16("/srv/data"),
						       InstanceFullInformation,
						       &e, sizeof(e), &n, &h),
			 S_OK);
	fake_req(1, &w);
	assert_true(wire_get_str(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_true(wire_get_str(&w, buf, sizeof(buf)));
	assert_string_equal(buf, "\\Device\\data");
	assert_int_equal(FilterVolumeInstanceFindNext(h, InstanceFullInformation,
						      &e, sizeof(e), &n),
			 NO_MORE);
	assert_int_equal(FilterVolumeInstanceFindClose(h), S_OK);

	fake_instances(0, NULL);
	assert_int_equal(FilterVolumeInstanceFindFirst(w16("\\Device\\logs"),
						       InstanceFullInformation,
						       &e, sizeof(e), &n, &h),
			 NO_MORE);
	assert_int_equal(FilterVolumeInstanceFindFirst(w16("\\Device\\gone"),
						       InstanceFullInformation,
						       &e, sizeof(e), &n, &h),
			 ERROR_FLT_VOLUME_NOT_FOUND);
	assert_int_equal(FilterVolumeInstanceFindFirst(w16("gone"),
						       InstanceFullInformation,
						       &e, sizeof(e), &n, &h),
			 ERROR_FLT_VOLUME_NOT_FOUND);
}

/* ---- volumes --------------------------------------------------------- */

static void test_volumes(void **state)
{
	union entry e;
	HANDLE h;
	DWORD n;
	const FILTER_VOLUME_BASIC_INFORMATION *b = (const void *)&e;
	const FILTER_VOLUME_STANDARD_INFORMATION *s = (const void *)&e;
	const FILTER_VOLUME_LINUX_INFORMATION *l = &e.volume;

	(void)state;
	fake_volumes(2, two_volumes);
	assert_int_equal(FilterVolumeFindFirst(FilterVolumeBasicInformation, &e,
					       sizeof(e), &n, &h),
			 S_OK);
	assert_int_equal(b->FilterVolumeNameLength, 24);
	assert_true(w16_eq(b->FilterVolumeName, 24, "\\Device\\data"));
	assert_int_equal(n, offsetof(FILTER_VOLUME_BASIC_INFORMATION,
				     FilterVolumeName) + 24);
	assert_int_equal(FilterVolumeFindNext(h, FilterVolumeStandardInformation,
					      &e, sizeof(e), &n),
			 S_OK);
	assert_int_equal(s->NextEntryOffset, 0);
	assert_int_equal(s->Flags, FLTFL_VSI_DETACHED_VOLUME);
	assert_int_equal(s->FileSystemType, FLT_FSTYPE_LINUX);
	assert_true(w16_eq(s->FilterVolumeName, s->FilterVolumeNameLength,
			   "\\Device\\logs"));
	assert_int_equal(FilterVolumeFindNext(h, FilterVolumeStandardInformation,
					      &e, sizeof(e), &n),
			 NO_MORE);
	assert_int_equal(FilterVolumeFindClose(h), S_OK);

	assert_int_equal(FilterVolumeFindFirst(FilterVolumeLinuxInformation, &e,
					       sizeof(e), &n, &h),
			 S_OK);
	assert_true(w16_eq(AT(l, l->FilterVolumeNameBufferOffset),
			   l->FilterVolumeNameLength, "\\Device\\data"));
	assert_true(w16_eq(AT(l, l->DosNameBufferOffset), l->DosNameLength,
			   "/srv/data"));
	assert_true(w16_eq(AT(l, l->FileSystemNameBufferOffset),
			   l->FileSystemNameLength, "ext4"));
	assert_int_equal(n, sizeof(*l) + 2 * (12 + 9 + 4));
	assert_true(CloseHandle(h));
}

static void test_get_dos_name(void **state)
{
	WCHAR buf[64], small[9];

	(void)state;
	fake_volumes(2, two_volumes);
	assert_int_equal(FilterGetDosName(w16("\\Device\\data"), buf, 64), S_OK);
	assert_true(w16_eq(buf, 18, "/srv/data"));
	assert_int_equal(buf[9], 0);
	assert_int_equal(FilterGetDosName(w16("data"), buf, 64), S_OK);
	assert_true(w16_eq(buf, 18, "/srv/data"));
	/* Room for the terminator too, counted in characters. */
	assert_int_equal(FilterGetDosName(w16("\\Device\\data"), small, 9),
			 TOO_SMALL);
	assert_int_equal(FilterGetDosName(w16("\\Device\\data"), buf, 10), S_OK);
	/* A volume without a directory has an empty DOS name. */
	assert_int_equal(FilterGetDosName(w16("logs"), buf, 64), S_OK);
	assert_int_equal(buf[0], 0);
	assert_int_equal(FilterGetDosName(w16("nosuch"), buf, 64),
			 ERROR_FLT_VOLUME_NOT_FOUND);
	assert_int_equal(FilterGetDosName(NULL, buf, 64), E_INVALIDARG);
	assert_int_equal(FilterGetDosName(w16("data"), NULL, 64), E_INVALIDARG);
}

/* ---- filter and instance handles ------------------------------------- */

static void test_filter_handle(void **state)
{
	union entry e;
	HFILTER f;
	DWORD n;

	(void)state;
	three_filters();
	assert_int_equal(FilterCreate(w16("PASSTHROUGH"), &f), S_OK);
	assert_int_equal(FilterGetInformation(f, FilterFullInformation, &e,
					      sizeof(e), &n),
			 S_OK);
	/* The daemon's spelling of the name. */
	assert_true(w16_eq(e.full.FilterNameBuffer, e.full.FilterNameLength,
			   "passthrough"));
	assert_int_equal(FilterGetInformation(f, FilterAggregateStandardInformation,
					      &e, 4, &n),
			 TOO_SMALL);
	assert_int_equal(n, sizeof(e.standard) + 2 * (11 + 6));
	/* Unloaded since: the handle stays valid, the filter is gone. */
	fake_filters(0, NULL, NULL, NULL);
	assert_int_equal(FilterGetInformation(f, FilterFullInformation, &e,
					      sizeof(e), &n),
			 ERROR_FLT_FILTER_NOT_FOUND);
	assert_int_equal(FilterClose(f), S_OK);
	assert_int_equal(FilterClose(f), E_HANDLE);
	assert_int_equal(FilterCreate(w16("nosuch"), &f),
			 ERROR_FLT_FILTER_NOT_FOUND);
	assert_int_equal(FilterCreate(w16("x"), NULL), E_INVALIDARG);
}

static void test_instance_handle(void **state)
{
	union entry e;
	HFILTER_INSTANCE i;
	DWORD n;

	(void)state;
	fake_volumes(2, two_volumes);
	fake_instances(2, two_instances);
	assert_int_equal(FilterInstanceCreate(w16("top"), w16("/srv/data"),
					      w16("top Instance"), &i),
			 S_OK);
	assert_int_equal(FilterInstanceGetInformation(i, InstancePartialInformation,
						      &e, sizeof(e), &n),
			 S_OK);
	{
		const INSTANCE_PARTIAL_INFORMATION *p = (const void *)&e;

		assert_true(w16_eq(AT(p, p->AltitudeBufferOffset),
				   p->AltitudeLength, "409800"));
	}
	assert_int_equal(FilterInstanceGetInformation(i, (INSTANCE_INFORMATION_CLASS)8,
						      &e, sizeof(e), &n),
			 E_INVALIDARG);
	/* Detached since. */
	fake_instances(0, NULL);
	assert_int_equal(FilterInstanceGetInformation(i, InstanceBasicInformation,
						      &e, sizeof(e), &n),
			 ERROR_FLT_INSTANCE_NOT_FOUND);
	/* CloseHandle closes any handle. */
	assert_true(CloseHandle(i));
	assert_int_equal(FilterInstanceClose(i), E_HANDLE);
	assert_int_equal(FilterInstanceCreate(w16("top"), w16("/srv/data"),
					      w16("other"), &i),
			 ERROR_FLT_INSTANCE_NOT_FOUND);
	/* No name: the filter's instance on that volume. */
	fake_instances(2, two_instances);
	assert_int_equal(FilterInstanceCreate(w16("top"), w16("logs"), NULL, &i),
			 S_OK);
	assert_int_equal(FilterInstanceGetInformation(i, InstanceBasicInformation,
						      &e, sizeof(e), &n),
			 S_OK);
	{
		const INSTANCE_BASIC_INFORMATION *b = (const void *)&e;

		assert_true(w16_eq(AT(b, b->InstanceNameBufferOffset),
				   b->InstanceNameLength, "top Low"));
	}
	assert_int_equal(FilterInstanceClose(i), S_OK);
}

/* ---- services -------------------------------------------------------- */

static void test_services(void **state)
{
	struct wire *w = fake_reply(CTL_ENUM_SERVICES, 0);
	union entry e;
	const FILTER_SERVICE_INFORMATION *s = &e.service;
	HANDLE h;
	DWORD n;

	(void)state;
	wire_put_u32(w, 2);
	wire_put_str(w, "passthrough");
	wire_put_str(w, "/usr/lib/altitude/passthrough.so");
	wire_put_u32(w, SERVICE_DEMAND_START);
	wire_put_str(w, "FSFilter Activity Monitor");
	wire_put_str(w, "370030");
	wire_put_str(w, "scanner");
	wire_put_str(w, "/x/scanner.so");
	wire_put_u32(w, SERVICE_AUTO_START);
	wire_put_str(w, "");
	wire_put_str(w, "320000");
	assert_int_equal(FilterServiceFindFirst(&e, sizeof(e), &n, &h), S_OK);
	assert_int_equal(s->StartType, SERVICE_DEMAND_START);
	assert_true(w16_eq(AT(s, s->ServiceNameBufferOffset), s->ServiceNameLength,
			   "passthrough"));
	assert_true(w16_eq(AT(s, s->ImagePathBufferOffset), s->ImagePathLength,
			   "/usr/lib/altitude/passthrough.so"));
	assert_true(w16_eq(AT(s, s->GroupBufferOffset), s->GroupLength,
			   "FSFilter Activity Monitor"));
	assert_true(w16_eq(AT(s, s->AltitudeBufferOffset), s->AltitudeLength,
			   "370030"));
	assert_int_equal(FilterServiceFindNext(h, &e, 10, &n), TOO_SMALL);
	assert_int_equal(FilterServiceFindNext(h, &e, sizeof(e), &n), S_OK);
	assert_int_equal(s->StartType, SERVICE_AUTO_START);
	assert_int_equal(s->GroupLength, 0);
	assert_int_equal(FilterServiceFindNext(h, &e, sizeof(e), &n), NO_MORE);
	assert_int_equal(FilterFindClose(h), E_HANDLE);
	assert_int_equal(FilterServiceFindClose(h), S_OK);
}

/* ---- threads --------------------------------------------------------- */

static void *enumerate_loop(void *arg)
{
	union entry e;
	HANDLE h;
	DWORD n;
	int i, count;

	(void)arg;
	for (i = 0; i < 50; i++) {
		count = 0;
		if (FilterFindFirst(FilterFullInformation, &e, sizeof(e), &n, &h) != S_OK)
			return (void *)1;
		do
			count++;
		while (FilterFindNext(h, FilterFullInformation, &e, sizeof(e), &n) ==
		       S_OK);
		if (FilterFindClose(h) != S_OK || count != 3)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[8];
	void *r;
	int i;

	(void)state;
	three_filters();
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, enumerate_loop, NULL), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
}

/* FindNext and GetInformation racing with the handle's close: each call
 * either works or says E_HANDLE; nothing is used after it is freed. */
struct racer {
	HANDLE h;
	bool filter_handle;
	int calls;
};

static void *race_use(void *arg)
{
	struct racer *r = arg;
	union entry e;
	DWORD n;
	HRESULT hr;

	for (;;) {
		if (r->filter_handle)
			hr = FilterGetInformation(r->h, FilterFullInformation, &e,
						  sizeof(e), &n);
		else
			hr = FilterFindNext(r->h, FilterFullInformation, &e,
					    sizeof(e), &n);
		r->calls++;
		if (hr == E_HANDLE)
			return NULL;
		if (hr != S_OK && hr != NO_MORE)
			return (void *)1;
	}
}

static void test_close_while_in_use(void **state)
{
	struct racer r;
	pthread_t t;
	union entry e;
	DWORD n;
	void *ret;
	int i;

	(void)state;
	three_filters();
	for (i = 0; i < 40; i++) {
		memset(&r, 0, sizeof(r));
		r.filter_handle = i % 2;
		if (r.filter_handle)
			assert_int_equal(FilterCreate(w16("top"), &r.h), S_OK);
		else
			assert_int_equal(FilterFindFirst(FilterFullInformation, &e,
							 sizeof(e), &n, &r.h),
					 S_OK);
		assert_int_equal(pthread_create(&t, NULL, race_use, &r), 0);
		usleep(200 * (i % 5));
		assert_true(CloseHandle(r.h));
		assert_int_equal(pthread_join(t, &ret), 0);
		assert_null(ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_filters_standard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_full_and_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_buffer_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_buffer_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bogus_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances_of_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_dos_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_services, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_in_use, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
