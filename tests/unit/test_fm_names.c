/*
 * test_fm_names.c - the name service (src/fltmgr/names.c) without FUSE.
 *
 * The volume's I/O manager is replaced by a small tree of struct fnode
 * (first member: the filter manager's per-stream header, as an inode's is)
 * and a file_name hook that walks it under a reader/writer lock, the way
 * fsb_path walks the inode table.  "Renaming" changes a node under the
 * write lock and then calls fm_names_changed, in the order the I/O manager
 * does.  The hook counts its calls, which tells a cache hit from a miss.
 *
 * Covered: the WDK layout and parsing of names (\Device\<volume>\dir\file,
 * ParentDir with its trailing backslash, FinalComponent, Extension, empty
 * Stream), every query method and flag, pre-create names from
 * FileObject->FileName, OPENED and SHORT formats, reference counting and
 * sharing, destination names for renames and links, tunneled names, the
 * cache's statistics, invalidation by renames of files and of directories
 * above them, and concurrent renames: once a rename has completed no query
 * ever returns the old name.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fltmgr/fm.h"
#include "rtl/rtl.h"

#define NAME_TAG RTL_POOL_TAG('n', 'f', 'M', 'F')

struct fnode {
	struct fm_fcb_header hdr; /* first, as in struct fsb_inode */
	struct fnode *parent; /* NULL: the root */
	char name[300];
	int err; /* the hook fails with -err */
};

static pthread_rwlock_t tree_lock = PTHREAD_RWLOCK_INITIALIZER;
static atomic_long hook_calls;
static struct fnode root;
static struct fm_volume *vol;
static struct fm_filter *filt;
static DRIVER_OBJECT drv;
static PFLT_FILTER fh;
static PFLT_INSTANCE inst;
static FLT_REGISTRATION reg;

/* ---- The fake I/O manager ------------------------------------------------- */

static long fake_file_name(struct fm_volume *v, void *owner, PFILE_OBJECT fo,
			   WCHAR *buf, size_t cap)
{
	char path[131072];
	size_t pos = sizeof(path) - 1;
	struct fnode *n = fo->FsContext;
	ssize_t r;

	(void)v;
	(void)owner;
	atomic_fetch_add(&hook_calls, 1);
	if (n->err)
		return -n->err;
	path[pos] = 0;
	pthread_rwlock_rdlock(&tree_lock);
	for (; n && n->parent; n = n->parent) {
		size_t len = strlen(n->name);

		pos -= len;
		memcpy(path + pos, n->name, len);
		path[--pos] = '/';
	}
	pthread_rwlock_unlock(&tree_lock);
	if (pos == sizeof(path) - 1)
		path[--pos] = '/';
	r = rtl_path_to_utf16(path + pos, sizeof(path) - 1 - pos, buf, cap);
	return (long)r;
}

static const struct fm_volume_ops fake_ops = { .file_name = fake_file_name };

static void node(struct fnode *n, struct fnode *parent, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	snprintf(n->name, sizeof(n->name), "%s", name);
}

/* A rename as the I/O manager brackets it (iomgr/namespace.c). */
static void rename_node(struct fnode *n, struct fnode *parent, const char *name)
{
	fm_names_change_begin(vol);
	pthread_rwlock_wrlock(&tree_lock);
	n->parent = parent;
	snprintf(n->name, sizeof(n->name), "%s", name);
	pthread_rwlock_unlock(&tree_lock);
	fm_names_change_end(vol);
}

static void fo_init(FILE_OBJECT *fo, struct fnode *n)
{
	memset(fo, 0, sizeof(*fo));
	fo->Type = 5;
	fo->Size = sizeof(*fo);
	fo->FsContext = n;
}

/* ---- A filter to have an instance ---------------------------------------- */

static NTSTATUS FLTAPI t_setup(PCFLT_RELATED_OBJECTS o, FLT_INSTANCE_SETUP_FLAGS f,
			       DEVICE_TYPE d, FLT_FILESYSTEM_TYPE t)
{
	(void)f;
	(void)d;
	(void)t;
	if ((struct fm_volume *)o->Volume == vol)
		inst = o->Instance;
	return STATUS_SUCCESS;
}

/* What the pre- and post-create callbacks of the dispatch test saw. */
static struct {
	bool active;
	NTSTATUS pre_st, post_st, pre_short_st;
	char pre_name[256], post_name[256];
	long hook_in_pre;
} seen;

static void us_to_utf8(const UNICODE_STRING *us, char *out, size_t cap)
{
	ssize_t n = rtl_path_from_utf16(us->Buffer, us->Length / sizeof(WCHAR), out, cap);

	if (n < 0)
		snprintf(out, cap, "?%zd", n);
}

/* The name as UTF-8 with '/' for '\' ("/Device/vol/d/a.txt"). */
static const char *u8(const UNICODE_STRING *us)
{
	static __thread char buf[4][1024];
	static __thread int k;
	char *out = buf[k++ & 3];

	if (!us->Length) {
		out[0] = 0;
		return out;
	}
	us_to_utf8(us, out, sizeof(buf[0]));
	return out;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI t_pre_create(PFLT_CALLBACK_DATA d,
						     PCFLT_RELATED_OBJECTS o,
						     PVOID *c)
{
	PFLT_FILE_NAME_INFORMATION ni;
	long before = atomic_load(&hook_calls);

	(void)o;
	*c = NULL;
	if (!seen.active)
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	seen.pre_st = FltGetFileNameInformation(
		d, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &ni);
	if (NT_SUCCESS(seen.pre_st)) {
		snprintf(seen.pre_name, sizeof(seen.pre_name), "%s", u8(&ni->Name));
		FltReleaseFileNameInformation(ni);
	}
	seen.pre_short_st = FltGetFileNameInformation(
		d, FLT_FILE_NAME_SHORT | FLT_FILE_NAME_QUERY_DEFAULT, &ni);
	seen.hook_in_pre = atomic_load(&hook_calls) - before;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI t_post_create(PFLT_CALLBACK_DATA d,
						       PCFLT_RELATED_OBJECTS o,
						       PVOID c,
						       FLT_POST_OPERATION_FLAGS f)
{
	PFLT_FILE_NAME_INFORMATION ni;

	(void)o;
	(void)c;
	(void)f;
	seen.post_st = FltGetFileNameInformation(
		d, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &ni);
	if (NT_SUCCESS(seen.post_st)) {
		snprintf(seen.post_name, sizeof(seen.post_name), "%s", u8(&ni->Name));
		FltReleaseFileNameInformation(ni);
	}
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static const FLT_OPERATION_REGISTRATION ops[] = {
	{ IRP_MJ_CREATE, 0, t_pre_create, t_post_create },
	{ IRP_MJ_OPERATION_END }
};

/* ---- Helpers ---------------------------------------------------------------- */

/* FltGetFileNameInformation as a filter calls it during major (pre). */
static NTSTATUS query_op(PFILE_OBJECT fo, UCHAR major, bool post,
			 FLT_FILE_NAME_OPTIONS opts, PFLT_FILE_NAME_INFORMATION *out)
{
	FLT_CALLBACK_DATA d;
	FLT_IO_PARAMETER_BLOCK iopb;

	memset(&d, 0, sizeof(d));
	memset(&iopb, 0, sizeof(iopb));
	d.Flags = FLTFL_CALLBACK_DATA_IRP_OPERATION |
		  (post ? FLTFL_CALLBACK_DATA_POST_OPERATION : 0);
	d.Iopb = &iopb;
	iopb.MajorFunction = major;
	iopb.TargetFileObject = fo;
	iopb.TargetInstance = inst;
	return FltGetFileNameInformation(&d, opts, out);
}

static NTSTATUS query(PFILE_OBJECT fo, FLT_FILE_NAME_OPTIONS opts,
		      PFLT_FILE_NAME_INFORMATION *out)
{
	return query_op(fo, IRP_MJ_READ, false, opts, out);
}

#define NORM_DEFAULT (FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT)

/* The normalized name of fo as UTF-8, through the cache. */
static const char *name_of(PFILE_OBJECT fo)
{
	static char buf[1024];
	PFLT_FILE_NAME_INFORMATION ni;

	if (!NT_SUCCESS(query(fo, NORM_DEFAULT, &ni)))
		return "(error)";
	snprintf(buf, sizeof(buf), "%s", u8(&ni->Name));
	FltReleaseFileNameInformation(ni);
	return buf;
}

static void stats(ULONGLONG *hits, ULONGLONG *misses)
{
	assert_int_equal(FltGetFileNameCacheStatisticsLx((PFLT_VOLUME)vol, hits, misses),
			 STATUS_SUCCESS);
}

static void set_file_name(PFILE_OBJECT fo, const char *path, WCHAR *buf, size_t cap)
{
	ssize_t n = rtl_path_to_utf16(path, strlen(path), buf, cap);

	assert_true(n >= 0);
	fo->FileName.Buffer = buf;
	fo->FileName.Length = (USHORT)(n * sizeof(WCHAR));
	fo->FileName.MaximumLength = fo->FileName.Length;
}

/* ---- Fixture ---------------------------------------------------------------- */

static size_t pool_base;

static int setup(void **state)
{
	(void)state;
	node(&root, NULL, "");
	atomic_store(&hook_calls, 0);
	memset(&seen, 0, sizeof(seen));
	inst = NULL;
	pool_base = rtl_pool_outstanding(NAME_TAG, NULL);
	if (fm_volume_create("vol", "/tmp", &fake_ops, NULL, &vol))
		return -1;
	memset(&reg, 0, sizeof(reg));
	reg.Size = sizeof(reg);
	reg.Version = FLT_REGISTRATION_VERSION;
	reg.OperationRegistration = ops;
	reg.InstanceSetupCallback = t_setup;
	filt = fm_filter_alloc("N", "300000");
	fm_filter_bind_driver(&drv, filt);
	if (FltRegisterFilter(&drv, &reg, &fh) || FltStartFiltering(fh) || !inst)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	FltUnregisterFilter(fh);
	fm_filter_free(filt);
	fm_volume_destroy(vol);
	vol = NULL;
	return 0;
}

/* Streams the test used: their cached names go with them. */
static void gone(struct fnode *n)
{
	fm_stream_gone(vol, &n->hdr);
}

/* ---- Names and parsing ---------------------------------------------------- */

static void test_normalized_name_and_parse(void **state)
{
	struct fnode d, f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;

	(void)state;
	node(&d, &root, "dir");
	node(&f, &d, "a.txt");
	fo_init(&fo, &f);
	assert_int_equal(query(&fo, NORM_DEFAULT, &ni), STATUS_SUCCESS);
	assert_int_equal(ni->Size, sizeof(FLT_FILE_NAME_INFORMATION));
	assert_int_equal(ni->Format, FLT_FILE_NAME_NORMALIZED);
	assert_string_equal(u8(&ni->Name), "/Device/vol/dir/a.txt");
	assert_string_equal(u8(&ni->Volume), "/Device/vol");
	assert_ptr_equal(ni->Volume.Buffer, ni->Name.Buffer);
	assert_int_equal(ni->Share.Length, 0);
	/* Components come with FltParseFileNameInformation only. */
	assert_int_equal(ni->NamesParsed, 0);
	assert_int_equal(ni->FinalComponent.Length, 0);
	assert_int_equal(FltParseFileNameInformation(ni), STATUS_SUCCESS);
	assert_int_equal(ni->NamesParsed,
			 FLTFL_FILE_NAME_PARSED_FINAL_COMPONENT |
				 FLTFL_FILE_NAME_PARSED_EXTENSION |
				 FLTFL_FILE_NAME_PARSED_STREAM |
				 FLTFL_FILE_NAME_PARSED_PARENT_DIR);
	assert_string_equal(u8(&ni->ParentDir), "/dir/");
	assert_string_equal(u8(&ni->FinalComponent), "a.txt");
	assert_string_equal(u8(&ni->Extension), "txt");
	assert_int_equal(ni->Stream.Length, 0);
	assert_null(ni->Stream.Buffer);
	/* Pointers into Name, as on Windows. */
	assert_true(ni->FinalComponent.Buffer > ni->Name.Buffer &&
		    ni->FinalComponent.Buffer <
			    ni->Name.Buffer + ni->Name.Length / sizeof(WCHAR));
	/* Parsing again (another filter) changes nothing. */
	assert_int_equal(FltParseFileNameInformation(ni), STATUS_SUCCESS);
	assert_string_equal(u8(&ni->FinalComponent), "a.txt");
	assert_int_equal(ni->Name.Buffer[ni->Name.Length / sizeof(WCHAR)], 0);
	FltReleaseFileNameInformation(ni);
	assert_int_equal(FltParseFileNameInformation(NULL), STATUS_INVALID_PARAMETER);
	gone(&f);
}

static void test_root_name(void **state)
{
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;

	(void)state;
	fo_init(&fo, &root);
	assert_int_equal(query(&fo, NORM_DEFAULT, &ni), STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/");
	FltParseFileNameInformation(ni);
	assert_string_equal(u8(&ni->ParentDir), "/");
	assert_int_equal(ni->FinalComponent.Length, 0);
	assert_int_equal(ni->Extension.Length, 0);
	FltReleaseFileNameInformation(ni);
	gone(&root);
}

/* FltParseFileName's rules, on strings of every shape. */
static void test_parse_rules(void **state)
{
	static const struct {
		const char *in, *final, *ext, *stream;
	} cases[] = {
		{ "\\d\\a.txt", "a.txt", "txt", "" },
		{ "\\d.x\\noext", "noext", "", "" },
		{ "\\d\\.bashrc", ".bashrc", "bashrc", "" },
		{ "\\d\\a.b.c", "a.b.c", "c", "" },
		{ "\\d\\trail.", "trail.", "", "" },
		{ "\\d\\f.txt:s1", "f.txt:s1", "txt", ":s1" },
		{ "\\d\\f:s.x:$DATA", "f:s.x:$DATA", "", ":s.x:$DATA" },
		{ "plain.c", "plain.c", "c", "" },
		{ "\\", "", "", "" },
		{ "", "", "", "" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		WCHAR buf[64];
		UNICODE_STRING in = { 0, sizeof(buf), buf }, ext, stream, final;
		size_t n = strlen(cases[k].in);
		char got[3][64];

		for (size_t j = 0; j < n; j++)
			buf[j] = (WCHAR)cases[k].in[j];
		in.Length = (USHORT)(n * sizeof(WCHAR));
		memset(&ext, 0x55, sizeof(ext));
		assert_int_equal(FltParseFileName(&in, &ext, &stream, &final),
				 STATUS_SUCCESS);
		const UNICODE_STRING *parts[3] = { &final, &ext, &stream };
		for (int p = 0; p < 3; p++) {
			size_t len = parts[p]->Length / sizeof(WCHAR);

			if (!len)
				assert_null(parts[p]->Buffer);
			for (size_t j = 0; j < len; j++)
				got[p][j] = (char)parts[p]->Buffer[j];
			got[p][len] = 0;
		}
		if (strcmp(got[0], cases[k].final) || strcmp(got[1], cases[k].ext) ||
		    strcmp(got[2], cases[k].stream))
			fail_msg("'%s': final '%s' ext '%s' stream '%s'", cases[k].in,
				 got[0], got[1], got[2]);
	}
	assert_int_equal(FltParseFileName(NULL, NULL, NULL, NULL), STATUS_INVALID_PARAMETER);
}

/* Linux names Windows could not hold come through losslessly; a ':' is
 * never a stream separator. */
static void test_lossless_names(void **state)
{
	static const char raw[] = "we:ird\\na\xffme*.t?t";
	struct fnode f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;
	char back[256];

	(void)state;
	node(&f, &root, raw);
	fo_init(&fo, &f);
	assert_int_equal(query(&fo, NORM_DEFAULT, &ni), STATUS_SUCCESS);
	FltParseFileNameInformation(ni);
	assert_int_equal(ni->Stream.Length, 0);
	assert_string_equal(u8(&ni->ParentDir), "/");
	us_to_utf8(&ni->FinalComponent, back, sizeof(back));
	assert_string_equal(back, raw);
	for (size_t k = 0; k < ni->Name.Length / sizeof(WCHAR); k++)
		assert_true(ni->Name.Buffer[k] != L':' && ni->Name.Buffer[k] != L'*');
	FltReleaseFileNameInformation(ni);
	gone(&f);
}

/* ---- The cache ---------------------------------------------------------------- */

static void test_cache_hits_and_sharing(void **state)
{
	struct fnode d, f;
	FILE_OBJECT fa, fb;
	PFLT_FILE_NAME_INFORMATION n1, n2, n3;
	ULONGLONG hits, misses;

	(void)state;
	node(&d, &root, "d");
	node(&f, &d, "f");
	fo_init(&fa, &f);
	fo_init(&fb, &f); /* another open of the same file */
	assert_int_equal(query(&fa, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
			       &n1),
			 STATUS_FLT_NAME_CACHE_MISS);
	assert_null(n1);
	assert_int_equal(atomic_load(&hook_calls), 0);
	assert_int_equal(query(&fa, NORM_DEFAULT, &n1), STATUS_SUCCESS);
	assert_int_equal(atomic_load(&hook_calls), 1);
	/* Every filter and every open of the stream shares the entry. */
	assert_int_equal(query(&fb, NORM_DEFAULT, &n2), STATUS_SUCCESS);
	assert_ptr_equal(n1, n2);
	assert_int_equal(query(&fb, FLT_FILE_NAME_NORMALIZED |
					    FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP,
			       &n3),
			 STATUS_SUCCESS);
	assert_ptr_equal(n1, n3);
	FltReleaseFileNameInformation(n3);
	assert_int_equal(query(&fa, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
			       &n3),
			 STATUS_SUCCESS);
	assert_ptr_equal(n1, n3);
	FltReleaseFileNameInformation(n3);
	assert_int_equal(atomic_load(&hook_calls), 1);
	stats(&hits, &misses);
	assert_int_equal(hits, 3);
	assert_int_equal(misses, 2);
	/* FILESYSTEM_ONLY: asks the file system, bypasses the cache. */
	assert_int_equal(query(&fa, FLT_FILE_NAME_NORMALIZED |
					    FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY,
			       &n3),
			 STATUS_SUCCESS);
	assert_ptr_not_equal(n1, n3);
	assert_string_equal(u8(&n3->Name), "/Device/vol/d/f");
	FltReleaseFileNameInformation(n3);
	assert_int_equal(atomic_load(&hook_calls), 2);
	stats(&hits, &misses);
	assert_int_equal(hits + misses, 5);
	/* References: the entry outlives the stream while a filter holds it. */
	FltReferenceFileNameInformation(n1);
	FltReleaseFileNameInformation(n2);
	gone(&f);
	assert_string_equal(u8(&n1->Name), "/Device/vol/d/f");
	FltReleaseFileNameInformation(n1);
	assert_string_equal(u8(&n1->Name), "/Device/vol/d/f");
	FltReleaseFileNameInformation(n1);
	assert_int_equal(rtl_pool_outstanding(NAME_TAG, NULL), pool_base);
}

static void test_do_not_cache(void **state)
{
	struct fnode f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;

	(void)state;
	node(&f, &root, "f");
	fo_init(&fo, &f);
	assert_int_equal(query(&fo, NORM_DEFAULT | FLT_FILE_NAME_DO_NOT_CACHE, &ni),
			 STATUS_SUCCESS);
	FltReleaseFileNameInformation(ni);
	assert_int_equal(query(&fo, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
			       &ni),
			 STATUS_FLT_NAME_CACHE_MISS);
	/* The other flags are accepted and change nothing here. */
	assert_int_equal(query(&fo, NORM_DEFAULT | FLT_FILE_NAME_REQUEST_FROM_CURRENT_PROVIDER |
					    FLT_FILE_NAME_ALLOW_QUERY_ON_REPARSE,
			       &ni),
			 STATUS_SUCCESS);
	FltReleaseFileNameInformation(ni);
	assert_int_equal(query(&fo, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
			       &ni),
			 STATUS_SUCCESS);
	FltReleaseFileNameInformation(ni);
	gone(&f);
}

static void test_rename_invalidates(void **state)
{
	struct fnode d, e, f, g;
	FILE_OBJECT fo, go;
	PFLT_FILE_NAME_INFORMATION held;

	(void)state;
	node(&d, &root, "d");
	node(&e, &d, "e");
	node(&f, &e, "f.txt");
	node(&g, &d, "g");
	fo_init(&fo, &f);
	fo_init(&go, &g);
	assert_string_equal(name_of(&fo), "/Device/vol/d/e/f.txt");
	assert_string_equal(name_of(&go), "/Device/vol/d/g");
	assert_int_equal(query(&fo, NORM_DEFAULT, &held), STATUS_SUCCESS);
	/* The file itself. */
	rename_node(&f, &e, "f2.txt");
	assert_string_equal(name_of(&fo), "/Device/vol/d/e/f2.txt");
	/* A filter's old structure keeps the old name (it is a snapshot). */
	assert_string_equal(u8(&held->Name), "/Device/vol/d/e/f.txt");
	FltReleaseFileNameInformation(held);
	/* A directory two levels up: every name below changes. */
	rename_node(&d, &root, "D");
	assert_string_equal(name_of(&fo), "/Device/vol/D/e/f2.txt");
	assert_string_equal(name_of(&go), "/Device/vol/D/g");
	/* Moved to another directory. */
	rename_node(&f, &root, "top");
	assert_string_equal(name_of(&fo), "/Device/vol/top");
	/* An unlink elsewhere only costs a miss. */
	long calls = atomic_load(&hook_calls);
	fm_names_changed(vol);
	assert_string_equal(name_of(&fo), "/Device/vol/top");
	assert_int_equal(atomic_load(&hook_calls), calls + 1);
	/* FltPurgeFileNameInformationCache: one file, or the volume. */
	assert_string_equal(name_of(&fo), "/Device/vol/top");
	assert_int_equal(atomic_load(&hook_calls), calls + 1);
	assert_int_equal(FltPurgeFileNameInformationCache(inst, &fo), STATUS_SUCCESS);
	assert_string_equal(name_of(&fo), "/Device/vol/top");
	assert_int_equal(atomic_load(&hook_calls), calls + 2);
	assert_string_equal(name_of(&go), "/Device/vol/D/g");
	assert_int_equal(FltPurgeFileNameInformationCache(inst, NULL), STATUS_SUCCESS);
	assert_string_equal(name_of(&go), "/Device/vol/D/g");
	assert_int_equal(atomic_load(&hook_calls), calls + 4);
	assert_int_equal(FltPurgeFileNameInformationCache(NULL, NULL),
			 STATUS_INVALID_PARAMETER);
	gone(&f);
	gone(&g);
	assert_int_equal(rtl_pool_outstanding(NAME_TAG, NULL), pool_base);
}

/* ---- Formats, methods and arguments ----------------------------------------------- */

static void test_pre_create_names(void **state)
{
	struct fnode f;
	FILE_OBJECT fo;
	WCHAR buf[64];
	PFLT_FILE_NAME_INFORMATION ni;

	(void)state;
	node(&f, &root, "current");
	fo_init(&fo, &f);
	/* In pre-create the name is the one being opened, not the stream's. */
	set_file_name(&fo, "/sub/being-opened.c", buf, 64);
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, false, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/sub/being-opened.c");
	FltParseFileNameInformation(ni);
	assert_string_equal(u8(&ni->Extension), "c");
	FltReleaseFileNameInformation(ni);
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, false,
				  FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_int_equal(ni->Format, FLT_FILE_NAME_OPENED);
	FltReleaseFileNameInformation(ni);
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, false,
				  FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
				  &ni),
			 STATUS_FLT_NAME_CACHE_MISS);
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, false,
				  FLT_FILE_NAME_SHORT | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(atomic_load(&hook_calls), 0);
	/* Post-create: the stream's current name. */
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, true, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/current");
	FltReleaseFileNameInformation(ni);
	/* A file object not open on a file (a create that failed). */
	fo.FsContext = NULL;
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, true, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/sub/being-opened.c");
	FltReleaseFileNameInformation(ni);
	fo.FileName.Length = 0;
	assert_int_equal(query_op(&fo, IRP_MJ_CREATE, false, NORM_DEFAULT, &ni),
			 STATUS_OBJECT_NAME_INVALID);
	gone(&f);
}

static void test_opened_and_short(void **state)
{
	struct fnode d, f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni, cached;
	long calls;

	(void)state;
	node(&d, &root, "Long Directory Name");
	node(&f, &d, "Report for 2024.docx");
	fo_init(&fo, &f);
	assert_int_equal(query(&fo, NORM_DEFAULT, &cached), STATUS_SUCCESS);
	calls = atomic_load(&hook_calls);
	/* OPENED: the current name, from the file system, never cached. */
	assert_int_equal(query(&fo, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_int_equal(ni->Format, FLT_FILE_NAME_OPENED);
	assert_ptr_not_equal(ni, cached);
	assert_string_equal(u8(&ni->Name), "/Device/vol/Long Directory Name/Report for 2024.docx");
	FltReleaseFileNameInformation(ni);
	assert_int_equal(atomic_load(&hook_calls), calls + 1);
	assert_int_equal(query(&fo, FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_CACHE_ONLY, &ni),
			 STATUS_FLT_NAME_CACHE_MISS);
	/* SHORT: no 8.3 names on Linux; the final component, nothing else. */
	assert_int_equal(query(&fo, FLT_FILE_NAME_SHORT | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_int_equal(ni->Format, FLT_FILE_NAME_SHORT);
	assert_string_equal(u8(&ni->Name), "Report for 2024.docx");
	assert_int_equal(ni->Volume.Length, 0);
	FltParseFileNameInformation(ni);
	assert_string_equal(u8(&ni->FinalComponent), "Report for 2024.docx");
	assert_string_equal(u8(&ni->Extension), "docx");
	assert_int_equal(ni->ParentDir.Length, 0);
	FltReleaseFileNameInformation(ni);
	/* ... served from the cached normalized name. */
	assert_int_equal(atomic_load(&hook_calls), calls + 1);
	FltReleaseFileNameInformation(cached);
	gone(&f);
}

static void test_invalid_arguments(void **state)
{
	static const FLT_FILE_NAME_OPTIONS bad_opts[] = {
		0,
		FLT_FILE_NAME_NORMALIZED,
		FLT_FILE_NAME_QUERY_DEFAULT,
		4 | FLT_FILE_NAME_QUERY_DEFAULT,
		FLT_FILE_NAME_NORMALIZED | 0x0500,
		FLT_FILE_NAME_NORMALIZED | 0x0180,
		NORM_DEFAULT | 0x00010000,
		NORM_DEFAULT | 0x08000000,
	};
	struct fnode f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni = (PFLT_FILE_NAME_INFORMATION)1;
	FLT_CALLBACK_DATA d;

	(void)state;
	node(&f, &root, "f");
	fo_init(&fo, &f);
	for (size_t k = 0; k < sizeof(bad_opts) / sizeof(bad_opts[0]); k++) {
		ni = (PFLT_FILE_NAME_INFORMATION)1;
		assert_int_equal(query(&fo, bad_opts[k], &ni), STATUS_INVALID_PARAMETER);
		assert_null(ni);
	}
	assert_int_equal(query(&fo, NORM_DEFAULT, NULL), STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetFileNameInformation(NULL, NORM_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	memset(&d, 0, sizeof(d));
	assert_int_equal(FltGetFileNameInformation(&d, NORM_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	/* Structures that are not name information are refused, not freed. */
	FltReleaseFileNameInformation(NULL);
	assert_int_equal(atomic_load(&hook_calls), 0);
}

static void test_hook_errors_and_long_names(void **state)
{
	struct fnode d, f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;
	char longname[256];

	(void)state;
	node(&f, &root, "x");
	fo_init(&fo, &f);
	f.err = ENOENT;
	assert_int_equal(query(&fo, NORM_DEFAULT, &ni), rtl_errno_to_status(ENOENT));
	assert_null(ni);
	f.err = 0;
	assert_string_equal(name_of(&fo), "/Device/vol/x");
	gone(&f);
	/* Longer than the first buffer the service tries. */
	memset(longname, 'n', 250);
	longname[250] = 0;
	node(&d, &root, longname);
	node(&f, &d, longname);
	fo_init(&fo, &f);
	pthread_rwlock_wrlock(&tree_lock);
	struct fnode *chain[120];
	struct fnode *parent = &f;
	for (int k = 0; k < 120; k++) {
		chain[k] = calloc(1, sizeof(struct fnode));
		node(chain[k], parent, longname);
		parent = chain[k];
	}
	pthread_rwlock_unlock(&tree_lock);
	{
		FILE_OBJECT deep;

		fo_init(&deep, chain[119]);
		assert_int_equal(query(&deep, NORM_DEFAULT, &ni), STATUS_SUCCESS);
		assert_int_equal(ni->Name.Length,
				 (sizeof("\\Device\\vol") - 1 + 122 * 251) * sizeof(WCHAR));
		FltParseFileNameInformation(ni);
		assert_int_equal(ni->FinalComponent.Length, 250 * sizeof(WCHAR));
		FltReleaseFileNameInformation(ni);
		gone(chain[119]);
		/* Beyond what a UNICODE_STRING holds. */
		for (int k = 0; k < 120; k++)
			snprintf(chain[k]->name, sizeof(chain[k]->name), "%.250s%.45s", longname,
				 "-more-more-more-more-more-more-more-more-more");
		fm_names_changed(vol);
		assert_int_equal(query(&deep, NORM_DEFAULT, &ni), STATUS_NAME_TOO_LONG);
		gone(chain[119]);
	}
	for (int k = 0; k < 120; k++)
		free(chain[k]);
}

/* ---- Destination, tunneled, unsafe --------------------------------------------------- */

static NTSTATUS dest(PFILE_OBJECT fo, const char *target, HANDLE root_dir,
		     FLT_FILE_NAME_OPTIONS opts, PFLT_FILE_NAME_INFORMATION *out)
{
	WCHAR buf[256];
	size_t n = strlen(target);

	for (size_t k = 0; k < n; k++)
		buf[k] = (WCHAR)target[k];
	return FltGetDestinationFileNameInformation(inst, fo, root_dir, buf,
						    (ULONG)(n * sizeof(WCHAR)), opts, out);
}

static void test_destination_names(void **state)
{
	struct fnode d, f;
	FILE_OBJECT fo;
	PFLT_FILE_NAME_INFORMATION ni;

	(void)state;
	node(&d, &root, "docs");
	node(&f, &d, "old.txt");
	fo_init(&fo, &f);
	/* What the I/O manager puts in FILE_RENAME_INFORMATION. */
	assert_int_equal(dest(&fo, "\\Device\\vol\\other\\new.md", NULL, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/other/new.md");
	assert_string_equal(u8(&ni->Volume), "/Device/vol");
	FltParseFileNameInformation(ni);
	assert_string_equal(u8(&ni->ParentDir), "/other/");
	assert_string_equal(u8(&ni->FinalComponent), "new.md");
	assert_string_equal(u8(&ni->Extension), "md");
	FltReleaseFileNameInformation(ni);
	/* Volume-relative. */
	assert_int_equal(dest(&fo, "\\x\\y", NULL, NORM_DEFAULT, &ni), STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/x/y");
	FltReleaseFileNameInformation(ni);
	/* A bare name: in the source's directory. */
	assert_int_equal(dest(&fo, "renamed.txt", NULL,
			      FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/docs/renamed.txt");
	assert_int_equal(ni->Format, FLT_FILE_NAME_OPENED);
	FltReleaseFileNameInformation(ni);
	/* Not this volume; a volume whose name merely starts like ours. */
	assert_int_equal(dest(&fo, "\\Device\\other\\a", NULL, NORM_DEFAULT, &ni),
			 STATUS_NOT_SAME_DEVICE);
	assert_null(ni);
	assert_int_equal(dest(&fo, "\\Device\\vol2\\a", NULL, NORM_DEFAULT, &ni),
			 STATUS_NOT_SAME_DEVICE);
	assert_int_equal(dest(&fo, "x", (HANDLE)1, NORM_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(dest(&fo, "x", NULL, FLT_FILE_NAME_SHORT | FLT_FILE_NAME_QUERY_DEFAULT,
			      &ni),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(dest(&fo, "", NULL, NORM_DEFAULT, &ni), STATUS_INVALID_PARAMETER);
	gone(&f);
}

static void test_tunneled_and_unsafe(void **state)
{
	struct fnode f;
	FILE_OBJECT fo, other;
	PFLT_FILE_NAME_INFORMATION ni, tn = (PFLT_FILE_NAME_INFORMATION)1;
	FLT_CALLBACK_DATA d;
	FLT_IO_PARAMETER_BLOCK iopb;

	(void)state;
	node(&f, &root, "t");
	fo_init(&fo, &f);
	memset(&d, 0, sizeof(d));
	memset(&iopb, 0, sizeof(iopb));
	d.Iopb = &iopb;
	iopb.MajorFunction = IRP_MJ_CREATE;
	d.Flags = FLTFL_CALLBACK_DATA_POST_OPERATION;
	iopb.TargetFileObject = &fo;
	iopb.TargetInstance = inst;
	assert_int_equal(FltGetFileNameInformation(&d, NORM_DEFAULT, &ni), STATUS_SUCCESS);
	assert_int_equal(FltGetTunneledName(&d, ni, &tn), STATUS_SUCCESS);
	assert_null(tn);
	assert_int_equal(FltGetTunneledName(&d, NULL, &tn), STATUS_INVALID_PARAMETER);
	FltReleaseFileNameInformation(ni);
	/* Unsafe: with an instance, or without once the stream is known. */
	assert_int_equal(FltGetFileNameInformationUnsafe(&fo, inst, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	assert_string_equal(u8(&ni->Name), "/Device/vol/t");
	FltReleaseFileNameInformation(ni);
	assert_int_equal(FltGetFileNameInformationUnsafe(&fo, NULL, NORM_DEFAULT, &ni),
			 STATUS_SUCCESS);
	FltReleaseFileNameInformation(ni);
	fo_init(&other, &root);
	gone(&root);
	assert_int_equal(FltGetFileNameInformationUnsafe(&other, NULL, NORM_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(FltGetFileNameInformationUnsafe(NULL, inst, NORM_DEFAULT, &ni),
			 STATUS_INVALID_PARAMETER);
	gone(&f);
}

/* ---- Through the dispatch path ------------------------------------------------------ */

static void test_names_in_create_callbacks(void **state)
{
	struct fm_requestor r = { .tid = 1, .uid = 0, .gid = 0 };
	struct fnode f;
	struct fm_op_ctx op;
	FILE_OBJECT fo;
	WCHAR buf[64];

	(void)state;
	node(&f, &root, "made.txt");
	memset(&fo, 0, sizeof(fo));
	set_file_name(&fo, "/made.txt", buf, 64);
	seen.active = true;
	fm_op_init(&op, vol, IRP_MJ_CREATE, 0, &fo, &r);
	assert_true(fm_op_pre(&op));
	/* The file system creates the file: now the file object has a stream. */
	fo.FsContext = &f;
	op.data.IoStatus.Status = STATUS_SUCCESS;
	fm_op_complete(&op);
	seen.active = false;
	assert_int_equal(seen.pre_st, STATUS_SUCCESS);
	assert_string_equal(seen.pre_name, "/Device/vol/made.txt");
	assert_int_equal(seen.pre_short_st, STATUS_INVALID_PARAMETER);
	assert_int_equal(seen.hook_in_pre, 0);
	assert_int_equal(seen.post_st, STATUS_SUCCESS);
	assert_string_equal(seen.post_name, "/Device/vol/made.txt");
	assert_int_equal(atomic_load(&hook_calls), 1);
	gone(&f);
}

/* ---- Concurrent renames ---------------------------------------------------------- */

#define CR_FILES 4
#define CR_READERS 4
#define CR_RENAMES 20000
/* Names the readers must have checked before the renamer may stop; it renames on
 * past CR_RENAMES (up to CR_RENAMES_MAX) until they have. */
#define CR_MIN_CHECKED 2000
#define CR_RENAMES_MAX (50 * CR_RENAMES)

static struct fnode cr_dir, cr_file[CR_FILES];
static FILE_OBJECT cr_fo[CR_FILES];
/* Version of the last completed rename of the directory and each file. */
static atomic_uint cr_done_dir, cr_done_file[CR_FILES];
static atomic_bool cr_stop;
static atomic_long cr_stale, cr_checked, cr_garbled;
static atomic_int cr_readers_running;
static atomic_uint cr_renames_done;

static void *cr_renamer(void *arg)
{
	char name[32];

	(void)arg;
	/* Readers first: on a busy machine the renames could otherwise all be over
	 * before any reader has run once. */
	while (atomic_load(&cr_readers_running) < CR_READERS)
		sched_yield();
	for (unsigned v = 1; v <= CR_RENAMES_MAX; v++) {
		if (v > CR_RENAMES && atomic_load(&cr_checked) >= CR_MIN_CHECKED)
			break;
		atomic_store(&cr_renames_done, v);
		if (v % 3 == 0) {
			snprintf(name, sizeof(name), "d%u", v);
			rename_node(&cr_dir, &root, name);
			atomic_store_explicit(&cr_done_dir, v, memory_order_release);
		} else {
			unsigned i = v % CR_FILES;

			snprintf(name, sizeof(name), "f%u_%u", i, v);
			rename_node(&cr_file[i], &cr_dir, name);
			atomic_store_explicit(&cr_done_file[i], v, memory_order_release);
		}
	}
	atomic_store(&cr_stop, true);
	return NULL;
}

static void *cr_reader(void *arg)
{
	static const FLT_FILE_NAME_OPTIONS methods[] = {
		NORM_DEFAULT,
		NORM_DEFAULT,
		FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_CACHE_ONLY,
		FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY,
		FLT_FILE_NAME_OPENED | FLT_FILE_NAME_QUERY_DEFAULT,
	};
	unsigned k = (unsigned)(uintptr_t)arg;

	atomic_fetch_add(&cr_readers_running, 1);
	while (!atomic_load(&cr_stop)) {
		unsigned i = k % CR_FILES, d, fi, fv;
		unsigned want_d = atomic_load_explicit(&cr_done_dir, memory_order_acquire);
		unsigned want_f = atomic_load_explicit(&cr_done_file[i], memory_order_acquire);
		PFLT_FILE_NAME_INFORMATION ni;
		char name[128];
		NTSTATUS st;

		st = FltGetFileNameInformationUnsafe(&cr_fo[i], inst,
						     methods[k % 5], &ni);
		k++;
		if (st == STATUS_FLT_NAME_CACHE_MISS)
			continue;
		if (!NT_SUCCESS(st)) {
			atomic_fetch_add(&cr_garbled, 1);
			continue;
		}
		snprintf(name, sizeof(name), "%s", u8(&ni->Name));
		FltReleaseFileNameInformation(ni);
		if (sscanf(name, "/Device/vol/d%u/f%u_%u", &d, &fi, &fv) != 3 || fi != i) {
			atomic_fetch_add(&cr_garbled, 1);
			continue;
		}
		atomic_fetch_add(&cr_checked, 1);
		/* Every rename completed before the query began must show. */
		if (d < want_d || fv < want_f)
			atomic_fetch_add(&cr_stale, 1);
	}
	return NULL;
}

static void test_concurrent_renames(void **state)
{
	pthread_t ren, rd[CR_READERS];
	ULONGLONG hits, misses;

	(void)state;
	node(&cr_dir, &root, "d0");
	for (int i = 0; i < CR_FILES; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d_0", i);
		node(&cr_file[i], &cr_dir, name);
		fo_init(&cr_fo[i], &cr_file[i]);
		atomic_store(&cr_done_file[i], 0);
	}
	atomic_store(&cr_done_dir, 0);
	atomic_store(&cr_stop, false);
	atomic_store(&cr_stale, 0);
	atomic_store(&cr_checked, 0);
	atomic_store(&cr_garbled, 0);
	atomic_store(&cr_readers_running, 0);
	for (int k = 0; k < CR_READERS; k++)
		assert_int_equal(pthread_create(&rd[k], NULL, cr_reader,
						(void *)(uintptr_t)(k * 7)),
				 0);
	assert_int_equal(pthread_create(&ren, NULL, cr_renamer, NULL), 0);
	pthread_join(ren, NULL);
	for (int k = 0; k < CR_READERS; k++)
		pthread_join(rd[k], NULL);
	stats(&hits, &misses);
	print_message("  %ld names checked under %u renames, %ld stale; cache %llu hits, %llu misses\n",
		      atomic_load(&cr_checked), atomic_load(&cr_renames_done), atomic_load(&cr_stale),
		      (unsigned long long)hits, (unsigned long long)misses);
	assert_int_equal(atomic_load(&cr_garbled), 0);
	assert_int_equal(atomic_load(&cr_stale), 0);
	assert_true(atomic_load(&cr_checked) >= CR_MIN_CHECKED);
	/* Once quiet, everyone agrees on the final names. */
	for (int i = 0; i < CR_FILES; i++) {
		char want[700];

		snprintf(want, sizeof(want), "/Device/vol/%s/%s", cr_dir.name, cr_file[i].name);
		assert_string_equal(name_of(&cr_fo[i]), want);
		gone(&cr_file[i]);
	}
	assert_int_equal(rtl_pool_outstanding(NAME_TAG, NULL), pool_base);
}

/* ---- Statistics at teardown ------------------------------------------------------- */

static char logged[RTL_LOG_MAX];

static void capture(int prio, const char *msg)
{
	if (prio == LOG_INFO && strstr(msg, "name cache"))
		snprintf(logged, sizeof(logged), "%s", msg);
}

static void test_hit_rate_logged_at_volume_teardown(void **state)
{
	struct fnode f;
	FILE_OBJECT fo;
	struct fm_volume *v2;

	(void)state;
	node(&f, &root, "f");
	fo_init(&fo, &f);
	name_of(&fo);
	name_of(&fo);
	name_of(&fo);
	name_of(&fo);
	gone(&f);
	logged[0] = 0;
	rtl_set_log_sink(capture);
	v2 = vol;
	FltUnregisterFilter(fh);
	fm_filter_free(filt);
	fm_volume_destroy(v2);
	rtl_set_log_sink(NULL);
	assert_string_equal(logged,
			    "volume vol: name cache 3 hits, 1 misses (75.0% hit rate)");
	/* The fixture's teardown finds a fresh volume and filter. */
	assert_int_equal(setup(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_normalized_name_and_parse),
		T(test_root_name),
		T(test_parse_rules),
		T(test_lossless_names),
		T(test_cache_hits_and_sharing),
		T(test_do_not_cache),
		T(test_rename_invalidates),
		T(test_pre_create_names),
		T(test_opened_and_short),
		T(test_invalid_arguments),
		T(test_hook_errors_and_long_names),
		T(test_destination_names),
		T(test_tunneled_and_unsafe),
		T(test_names_in_create_callbacks),
		T(test_concurrent_renames),
		T(test_hit_rate_logged_at_volume_teardown),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
