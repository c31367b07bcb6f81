/*
 * test_rtl_registry.c - ZwOpenKey / ZwQueryValueKey / ZwClose over the
 * in-memory registry, and the calls the daemon seeds it with.
 *
 * The buffer-size cases follow Windows: too small for the fixed part is
 * STATUS_BUFFER_TOO_SMALL, too small for the rest STATUS_BUFFER_OVERFLOW with
 * the fixed part filled, and *ResultLength is the full size either way.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define SVC "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\top"
#define WSVC L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\top"

static int setup(void **state)
{
	(void)state;
	rtl_registry_clear();
	return 0;
}

static NTSTATUS open_key(PHANDLE h, HANDLE root, PCWSTR name)
{
	UNICODE_STRING us;
	OBJECT_ATTRIBUTES oa;

	RtlInitUnicodeString(&us, name);
	InitializeObjectAttributes(&oa, &us,
				   OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE,
				   root, NULL);
	return ZwOpenKey(h, KEY_READ, &oa);
}

static NTSTATUS query(HANDLE h, PCWSTR name, KEY_VALUE_INFORMATION_CLASS cls,
		      void *buf, ULONG len, ULONG *result)
{
	UNICODE_STRING us;

	if (!name)
		return ZwQueryValueKey(h, NULL, cls, buf, len, result);
	RtlInitUnicodeString(&us, name);
	return ZwQueryValueKey(h, &us, cls, buf, len, result);
}

static void test_open_absolute_and_relative(void **state)
{
	HANDLE svc, params;
	union {
		KEY_VALUE_PARTIAL_INFORMATION p;
		UCHAR raw[64];
	} u;
	ULONG len = 0, v;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC "\\Parameters", "Level", 7),
			 0);
	assert_int_equal(open_key(&svc, NULL, WSVC), STATUS_SUCCESS);
	assert_int_equal(open_key(&params, svc, L"Parameters"), STATUS_SUCCESS);
	assert_int_equal(query(params, L"Level", KeyValuePartialInformation,
			       &u, sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(len, offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) + 4);
	assert_int_equal(u.p.Type, REG_DWORD);
	assert_int_equal(u.p.DataLength, 4);
	memcpy(&v, u.p.Data, 4);
	assert_int_equal(v, 7);
	assert_int_equal(u.p.TitleIndex, 0);

	/* Case-insensitive keys and value names; a trailing '\' is fine. */
	HANDLE h2;
	assert_int_equal(open_key(&h2, NULL,
				  L"\\REGISTRY\\machine\\SYSTEM\\currentcontrolset"
				  L"\\services\\TOP\\parameters\\"),
			 STATUS_SUCCESS);
	assert_int_equal(query(h2, L"LEVEL", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(ZwClose(h2), STATUS_SUCCESS);

	/* An empty relative name opens the root key again. */
	assert_int_equal(open_key(&h2, params, L""), STATUS_SUCCESS);
	assert_int_equal(query(h2, L"level", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(ZwClose(h2), STATUS_SUCCESS);

	assert_int_equal(ZwClose(params), STATUS_SUCCESS);
	assert_int_equal(ZwClose(svc), STATUS_SUCCESS);
}

static void test_open_errors(void **state)
{
	HANDLE h = (HANDLE)1, svc;
	OBJECT_ATTRIBUTES oa = { 0 };

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 3), 0);
	assert_int_equal(open_key(&h, NULL, WSVC L"\\Missing"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(open_key(&h, NULL, L"\\Registry\\Nope\\Services\\top"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_true(h == (HANDLE)1); /* untouched on failure */
	assert_int_equal(open_key(&h, NULL, L"Registry\\Machine"),
			 STATUS_OBJECT_PATH_SYNTAX_BAD);
	assert_int_equal(open_key(&h, NULL, L""), STATUS_OBJECT_PATH_SYNTAX_BAD);
	assert_int_equal(open_key(&h, NULL, L"\\"), STATUS_OBJECT_NAME_INVALID);
	assert_int_equal(open_key(&h, NULL, L"\\Registry\\\\Machine"),
			 STATUS_OBJECT_NAME_INVALID);
	assert_int_equal(open_key(&h, (HANDLE)0x1234, L"Parameters"),
			 STATUS_INVALID_HANDLE);
	assert_int_equal(open_key(&svc, NULL, WSVC), STATUS_SUCCESS);
	assert_int_equal(open_key(&h, svc, L"\\Parameters"),
			 STATUS_OBJECT_PATH_SYNTAX_BAD);
	assert_int_equal(open_key(&h, svc, L"Parameters"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(ZwOpenKey(NULL, KEY_READ, &oa),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ZwOpenKey(&h, KEY_READ, NULL),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(ZwClose(svc), STATUS_SUCCESS);
}

static void test_close(void **state)
{
	HANDLE h;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 3), 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_SUCCESS);
	assert_int_equal(ZwClose(h), STATUS_SUCCESS);
	assert_int_equal(ZwClose(h), STATUS_INVALID_HANDLE);
	assert_int_equal(ZwClose(NULL), STATUS_INVALID_HANDLE);
	assert_int_equal(ZwClose((HANDLE)0x80000005), STATUS_INVALID_HANDLE);
	assert_int_equal(ZwClose((HANDLE)(uintptr_t)0xFFFFFFFFFFFFFFF0ull),
			 STATUS_INVALID_HANDLE);
	ULONG len;
	UCHAR buf[32];
	assert_int_equal(query(h, L"Start", KeyValuePartialInformation, buf,
			       sizeof(buf), &len),
			 STATUS_INVALID_HANDLE);
}

static void test_query_sizes_partial(void **state)
{
	HANDLE h;
	UCHAR buf[64];
	PKEY_VALUE_PARTIAL_INFORMATION p = (void *)buf;
	const ULONG fixed = offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
	const UCHAR data[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	ULONG len;

	(void)state;
	assert_int_equal(rtl_registry_set_value(SVC, "Blob", REG_BINARY, data,
						sizeof(data)),
			 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_SUCCESS);

	memset(buf, 0xCC, sizeof(buf));
	len = 0;
	assert_int_equal(query(h, L"Blob", KeyValuePartialInformation, buf,
			       fixed - 1, &len),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(len, fixed + 10);
	assert_int_equal(buf[0], 0xCC); /* nothing written */
	assert_int_equal(query(h, L"Blob", KeyValuePartialInformation, NULL, 0,
			       &len),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(len, fixed + 10);

	assert_int_equal(query(h, L"Blob", KeyValuePartialInformation, buf,
			       fixed, &len),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(len, fixed + 10);
	assert_int_equal(p->Type, REG_BINARY);
	assert_int_equal(p->DataLength, 10);
	assert_int_equal(buf[fixed], 0xCC);

	assert_int_equal(query(h, L"Blob", KeyValuePartialInformation, buf,
			       fixed + 9, &len),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(query(h, L"Blob", KeyValuePartialInformation, buf,
			       fixed + 10, &len),
			 STATUS_SUCCESS);
	assert_int_equal(len, fixed + 10);
	assert_memory_equal(p->Data, data, 10);
	assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void test_query_sizes_basic_full(void **state)
{
	HANDLE h;
	UCHAR buf[128];
	PKEY_VALUE_BASIC_INFORMATION b = (void *)buf;
	PKEY_VALUE_FULL_INFORMATION f = (void *)buf;
	const ULONG bfixed = offsetof(KEY_VALUE_BASIC_INFORMATION, Name);
	const ULONG ffixed = offsetof(KEY_VALUE_FULL_INFORMATION, Name);
	ULONG len, v;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Abc", 0x11223344), 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_SUCCESS);

	/* Basic: fixed part + name (6 bytes). */
	assert_int_equal(query(h, L"abc", KeyValueBasicInformation, buf,
			       bfixed - 1, &len),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(len, bfixed + 6);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(query(h, L"abc", KeyValueBasicInformation, buf, bfixed,
			       &len),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(len, bfixed + 6);
	assert_int_equal(b->Type, REG_DWORD);
	assert_int_equal(b->NameLength, 6);
	assert_int_equal(query(h, L"abc", KeyValueBasicInformation, buf,
			       bfixed + 6, &len),
			 STATUS_SUCCESS);
	assert_memory_equal(b->Name, L"Abc", 6); /* stored spelling */

	/* Full: name, padding to a ULONG, data. */
	const ULONG off = (ffixed + 6 + 3) & ~3u;
	assert_int_equal(query(h, L"ABC", KeyValueFullInformation, buf,
			       ffixed - 1, &len),
			 STATUS_BUFFER_TOO_SMALL);
	assert_int_equal(len, off + 4);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(query(h, L"ABC", KeyValueFullInformation, buf, ffixed,
			       &len),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(len, off + 4);
	assert_int_equal(f->Type, REG_DWORD);
	assert_int_equal(f->DataOffset, off);
	assert_int_equal(f->DataLength, 4);
	assert_int_equal(f->NameLength, 6);
	assert_int_equal(query(h, L"ABC", KeyValueFullInformation, buf,
			       off + 3, &len),
			 STATUS_BUFFER_OVERFLOW);
	assert_int_equal(query(h, L"ABC", KeyValueFullInformation, buf,
			       off + 4, &len),
			 STATUS_SUCCESS);
	assert_memory_equal(f->Name, L"Abc", 6);
	memcpy(&v, buf + f->DataOffset, 4);
	assert_int_equal(v, 0x11223344);

	assert_int_equal(query(h, L"ABC", KeyValueFullInformationAlign64, buf,
			       sizeof(buf), &len),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(query(h, L"ABC", (KEY_VALUE_INFORMATION_CLASS)99, buf,
			       sizeof(buf), &len),
			 STATUS_INVALID_PARAMETER);
	assert_int_equal(query(h, L"Missing", KeyValueFullInformation, buf,
			       sizeof(buf), &len),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void test_strings_and_default(void **state)
{
	HANDLE h;
	union {
		KEY_VALUE_PARTIAL_INFORMATION p;
		UCHAR raw[128];
	} u;
	ULONG len;
	static const char *const multi[] = { "one", "caf\xC3\xA9" };

	(void)state;
	assert_int_equal(rtl_registry_set_string(SVC, "Altitude",
						 "370030 \xC3\xA9"), 0);
	assert_int_equal(rtl_registry_set_multi_sz(SVC, "List", multi, 2), 0);
	assert_int_equal(rtl_registry_set_multi_sz(SVC, "Empty", NULL, 0), 0);
	assert_int_equal(rtl_registry_set_string(SVC, NULL, "dflt"), 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_SUCCESS);

	assert_int_equal(query(h, L"altitude", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(u.p.Type, REG_SZ);
	assert_int_equal(u.p.DataLength, 9 * sizeof(WCHAR)); /* NUL counted */
	assert_memory_equal(u.p.Data, L"370030 \x00E9", 9 * sizeof(WCHAR));

	static const WCHAR want[] = L"one\0caf\x00E9\0";
	assert_int_equal(query(h, L"List", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(u.p.Type, REG_MULTI_SZ);
	assert_int_equal(u.p.DataLength, sizeof(want));
	assert_memory_equal(u.p.Data, want, sizeof(want));
	assert_int_equal(query(h, L"Empty", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(u.p.DataLength, 2);

	/* NULL and empty names both mean the default value. */
	assert_int_equal(query(h, NULL, KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_memory_equal(u.p.Data, L"dflt", 10);
	assert_int_equal(query(h, L"", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(u.p.DataLength, 10);

	/* Overwriting changes type and data. */
	assert_int_equal(rtl_registry_set_dword(SVC, "ALTITUDE", 5), 0);
	assert_int_equal(query(h, L"altitude", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(u.p.Type, REG_DWORD);
	assert_int_equal(u.p.DataLength, 4);
	assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void test_delete_while_open(void **state)
{
	HANDLE svc, params, h;
	union {
		KEY_VALUE_PARTIAL_INFORMATION p;
		UCHAR raw[64];
	} u;
	ULONG len;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 1), 0);
	assert_int_equal(rtl_registry_set_dword(SVC "\\Parameters", "X", 2), 0);
	assert_int_equal(rtl_registry_set_dword(SVC "\\Instances\\A", "Y", 3),
			 0);
	assert_int_equal(open_key(&svc, NULL, WSVC), STATUS_SUCCESS);
	assert_int_equal(open_key(&params, svc, L"Parameters"), STATUS_SUCCESS);

	assert_int_equal(rtl_registry_delete_key(SVC), 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(open_key(&h, NULL, WSVC L"\\Instances\\A"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* Still readable through the handles. */
	assert_int_equal(query(svc, L"Start", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(query(params, L"X", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	assert_int_equal(open_key(&h, svc, L"Parameters"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	/* A new key of the same name is a different key. */
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 9), 0);
	assert_int_equal(query(svc, L"Start", KeyValuePartialInformation, &u,
			       sizeof(u), &len),
			 STATUS_SUCCESS);
	ULONG v;
	memcpy(&v, u.p.Data, 4);
	assert_int_equal(v, 1);
	assert_int_equal(ZwClose(svc), STATUS_SUCCESS);
	assert_int_equal(ZwClose(params), STATUS_SUCCESS);

	assert_int_equal(rtl_registry_delete_key(SVC "\\Nope"), -ENOENT);
	assert_int_equal(rtl_registry_delete_key("relative"), -EINVAL);
}

static void test_clear_with_open_handle(void **state)
{
	HANDLE h;
	UCHAR buf[64];
	ULONG len;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 1), 0);
	assert_int_equal(open_key(&h, NULL, WSVC), STATUS_SUCCESS);
	rtl_registry_clear();
	assert_int_equal(open_key(&h, NULL, L"\\Registry"),
			 STATUS_OBJECT_NAME_NOT_FOUND);
	assert_int_equal(query(h, L"Start", KeyValuePartialInformation, buf,
			       sizeof(buf), &len),
			 STATUS_SUCCESS);
	assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void test_internal_api_errors(void **state)
{
	char longname[300];

	(void)state;
	assert_int_equal(rtl_registry_set_dword("Registry\\X", "v", 1), -EINVAL);
	assert_int_equal(rtl_registry_set_dword("\\", "v", 1), -EINVAL);
	assert_int_equal(rtl_registry_set_dword("", "v", 1), -EINVAL);
	assert_int_equal(rtl_registry_set_dword(NULL, "v", 1), -EINVAL);
	assert_int_equal(rtl_registry_set_dword("\\A\\\\B", "v", 1), -EINVAL);
	assert_int_equal(rtl_registry_set_value("\\A", "v", REG_BINARY, NULL, 4),
			 -EINVAL);
	assert_int_equal(rtl_registry_set_value("\\A", "v", REG_BINARY, NULL, 0),
			 0);
	memset(longname, 'k', sizeof(longname) - 1);
	longname[0] = '\\';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(rtl_registry_set_dword(longname, "v", 1),
			 -ENAMETOOLONG);
	longname[256] = '\0'; /* 255 characters after the '\' */
	assert_int_equal(rtl_registry_set_dword(longname, "v", 1), 0);
	const char *bad[] = { "a", NULL };
	assert_int_equal(rtl_registry_set_multi_sz("\\A", "m", bad, 2), -EINVAL);
	assert_int_equal(rtl_registry_set_string("\\A", "s", NULL), -EINVAL);
}

static void *registry_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	char path[96], name[16];

	for (int i = 0; i < 300; i++) {
		HANDLE h;
		union {
			KEY_VALUE_PARTIAL_INFORMATION p;
			UCHAR raw[32];
		} u;
		ULONG len;

		snprintf(path, sizeof(path), SVC "\\T%d", i % 5);
		snprintf(name, sizeof(name), "v%d", id);
		if (rtl_registry_set_dword(path, name, (ULONG)i))
			return (void *)1;
		if (open_key(&h, NULL, WSVC) != STATUS_SUCCESS)
			return (void *)2;
		query(h, L"v0", KeyValuePartialInformation, &u, sizeof(u),
		      &len);
		if (i % 50 == 49)
			rtl_registry_delete_key(path);
		if (ZwClose(h) != STATUS_SUCCESS)
			return (void *)3;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[6];
	void *r;

	(void)state;
	assert_int_equal(rtl_registry_set_dword(SVC, "Start", 1), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, registry_worker,
						(void *)(intptr_t)i), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_open_absolute_and_relative, setup),
		cmocka_unit_test_setup(test_open_errors, setup),
		cmocka_unit_test_setup(test_close, setup),
		cmocka_unit_test_setup(test_query_sizes_partial, setup),
		cmocka_unit_test_setup(test_query_sizes_basic_full, setup),
		cmocka_unit_test_setup(test_strings_and_default, setup),
		cmocka_unit_test_setup(test_delete_while_open, setup),
		cmocka_unit_test_setup(test_clear_with_open_handle, setup),
		cmocka_unit_test_setup(test_internal_api_errors, setup),
		cmocka_unit_test_setup(test_threads, setup),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	rtl_registry_clear(); /* leave nothing for the leak checker */
	return failed;
}
