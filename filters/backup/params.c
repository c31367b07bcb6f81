/*
 * params.c - the backup filter's settings, read once in DriverEntry from
 * its service's Parameters key (the [parameters] of backup.service, or
 * fltmgrd -p backup.NAME=VALUE): the store's directory, the policy
 * (Include, Exclude, MaxFileSize, MaxVersions, MaxStoreSize,
 * MaxAgeSeconds), WhenFull, StoreMethod, Durability, ContentHash and
 * StagingSize (docs/backup.md, "Parameters").
 */
#include <fltKernel.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backup.h"

#define BK_DEFAULT_STORE "/var/lib/altitude/backup"
#define BK_DEFAULT_MAX_FILE (1ull << 30)
#define BK_DEFAULT_MAX_VERSIONS 32
#define BK_DEFAULT_STAGING (32ull << 20)
#define BK_MIN_STAGING (1ull << 20)
#define BK_MAX_STAGING (4ull << 30)

/* The values' names below are listed in their enums' order. */
_Static_assert(BK_FULL_EVICT == 0 && BK_FULL_SKIP == 1 && BK_FULL_DENY == 2,
	       "WhenFull names");
_Static_assert(BK_DURABLE_POWER == 0 && BK_DURABLE_FLUSH == 1 &&
		       BK_DURABLE_PROCESS == 2,
	       "Durability names");

static PKEY_VALUE_PARTIAL_INFORMATION bk_query(HANDLE Key, PCWSTR Name)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	UNICODE_STRING name;
	ULONG size = sizeof(*info) + 512, needed = 0;

	RtlInitUnicodeString(&name, Name);
	for (int attempt = 0; attempt < 3; attempt++) {
		NTSTATUS st;

		info = ExAllocatePoolZero(PagedPool, size, BK_TAG);
		if (!info)
			return NULL;
		st = ZwQueryValueKey(Key, &name, KeyValuePartialInformation, info,
				     size, &needed);
		if (NT_SUCCESS(st))
			return info;
		ExFreePoolWithTag(info, BK_TAG);
		if ((st != STATUS_BUFFER_OVERFLOW && st != STATUS_BUFFER_TOO_SMALL) ||
		    needed <= size)
			return NULL;
		size = needed;
	}
	return NULL;
}

/* UTF-8 of a UTF-16 run (NULs at the end dropped); NULL on failure. */
static char *bk_utf8(const WCHAR *w, ULONG bytes)
{
	ULONG len = 0;
	char *out;

	bytes &= ~1u;
	while (bytes >= 2 && w[bytes / 2 - 1] == 0)
		bytes -= 2;
	out = malloc(bytes * 2 + 1);
	if (!out)
		return NULL;
	if (!NT_SUCCESS(RtlUnicodeToUTF8N(out, bytes * 2, &len, w, bytes))) {
		free(out);
		return NULL;
	}
	out[len] = 0;
	return out;
}

/* The value Name when it is of type a or b: 0 with *info (the caller's to
 * free), -ENOENT absent, -EINVAL of another type. */
static int bk_query_typed(HANDLE Key, PCWSTR Name, ULONG a, ULONG b,
			  PKEY_VALUE_PARTIAL_INFORMATION *info)
{
	*info = bk_query(Key, Name);
	if (!*info)
		return -ENOENT;
	if ((*info)->Type != a && (*info)->Type != b) {
		ExFreePoolWithTag(*info, BK_TAG);
		*info = NULL;
		return -EINVAL;
	}
	return 0;
}

/* A REG_SZ value; -ENOENT absent, -EINVAL of another type. */
static int bk_param_sz(HANDLE Key, PCWSTR Name, char *out, size_t cap)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	char *s;
	int err = bk_query_typed(Key, Name, REG_SZ, REG_EXPAND_SZ, &info);

	if (err)
		return err;
	s = bk_utf8((const WCHAR *)info->Data, info->DataLength);
	if (!s || strlen(s) >= cap)
		err = -EINVAL;
	else
		snprintf(out, cap, "%s", s);
	free(s);
	ExFreePoolWithTag(info, BK_TAG);
	return err;
}

/* A REG_SZ value that is one of names (NULL-terminated; any case): its
 * index in *pick.  -ENOENT absent, -EINVAL anything else. */
static int bk_param_choice(HANDLE Key, PCWSTR Name, const char *const *names,
			   int *pick)
{
	char word[32];
	int err = bk_param_sz(Key, Name, word, sizeof(word));

	if (err)
		return err;
	for (int i = 0; names[i]; i++)
		if (!strcasecmp(word, names[i])) {
			*pick = i;
			return 0;
		}
	return -EINVAL;
}

/* A REG_DWORD or REG_QWORD value. */
static int bk_param_num(HANDLE Key, PCWSTR Name, uint64_t *out)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	int err = bk_query_typed(Key, Name, REG_DWORD, REG_QWORD, &info);

	if (err)
		return err;
	if (info->Type == REG_DWORD && info->DataLength >= 4) {
		uint32_t d;

		memcpy(&d, info->Data, 4);
		*out = d;
	} else if (info->Type == REG_QWORD && info->DataLength >= 8) {
		memcpy(out, info->Data, 8);
	} else {
		err = -EINVAL;
	}
	ExFreePoolWithTag(info, BK_TAG);
	return err;
}

/* A REG_MULTI_SZ (or REG_SZ: one pattern) value into an array. */
static int bk_param_multi(HANDLE Key, PCWSTR Name, char ***out, size_t *n)
{
	PKEY_VALUE_PARTIAL_INFORMATION info;
	const WCHAR *w, *end;
	int err;

	*out = NULL;
	*n = 0;
	err = bk_query_typed(Key, Name, REG_MULTI_SZ, REG_SZ, &info);
	if (err)
		return err;
	w = (const WCHAR *)info->Data;
	end = w + info->DataLength / sizeof(WCHAR);
	while (w < end && *w) {
		const WCHAR *e = w;
		char **grown;

		while (e < end && *e)
			e++;
		grown = realloc(*out, (*n + 1) * sizeof(char *));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		*out = grown;
		(*out)[*n] = bk_utf8(w, (ULONG)((e - w) * sizeof(WCHAR)));
		if (!(*out)[*n]) {
			err = -EINVAL;
			break;
		}
		(*n)++;
		w = e + 1;
	}
	ExFreePoolWithTag(info, BK_TAG);
	return err;
}

static NTSTATUS bk_open_parameters(PUNICODE_STRING RegistryPath, HANDLE *Key)
{
	UNICODE_STRING params = RTL_CONSTANT_STRING(L"Parameters");
	OBJECT_ATTRIBUTES oa;
	HANDLE service;
	NTSTATUS st;

	InitializeObjectAttributes(&oa, RegistryPath,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL,
				   NULL);
	st = ZwOpenKey(&service, KEY_READ, &oa);
	if (!NT_SUCCESS(st))
		return st;
	InitializeObjectAttributes(&oa, &params,
				   OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, service,
				   NULL);
	st = ZwOpenKey(Key, KEY_READ, &oa);
	ZwClose(service);
	return st;
}

NTSTATUS bk_read_parameters(PUNICODE_STRING RegistryPath)
{
	static const char *const when_full[] = { "evict", "skip", "deny", NULL };
	static const char *const method[] = { "auto", "clone", "copy", NULL };
	static const char *const durability[] = { "power", "flush", "process", NULL };
	const char *bad = NULL; /* the malformed value, as the log names it */
	HANDLE key = NULL;
	uint64_t num;
	int err, pick;

	snprintf(bk.store_root, sizeof(bk.store_root), "%s", BK_DEFAULT_STORE);
	bk.policy.max_file_size = BK_DEFAULT_MAX_FILE;
	bk.policy.max_versions = BK_DEFAULT_MAX_VERSIONS;
	bk.durability = BK_DURABLE_FLUSH;
	bk.staging_size = BK_DEFAULT_STAGING;
	if (!NT_SUCCESS(bk_open_parameters(RegistryPath, &key)))
		return STATUS_SUCCESS; /* no Parameters key: every default */

	err = bk_param_sz(key, L"StoreDirectory", bk.store_root,
			  sizeof(bk.store_root));
	if (err == -EINVAL || (!err && bk.store_root[0] != '/')) {
		bad = "StoreDirectory (an absolute path)";
		goto out;
	}
	while (strlen(bk.store_root) > 1 &&
	       bk.store_root[strlen(bk.store_root) - 1] == '/')
		bk.store_root[strlen(bk.store_root) - 1] = 0;
	if (bk_param_multi(key, L"Include", &bk.policy.include,
			   &bk.policy.n_include) == -EINVAL ||
	    bk_param_multi(key, L"Exclude", &bk.policy.exclude,
			   &bk.policy.n_exclude) == -EINVAL) {
		bad = "Include/Exclude (REG_MULTI_SZ patterns)";
		goto out;
	}
#define BK_NUM(value, field, max) \
	err = bk_param_num(key, L##value, &num); \
	if (err == -EINVAL || (!err && num > (max))) { \
		bad = value; \
		goto out; \
	} \
	if (!err) \
		field = num;
	BK_NUM("MaxFileSize", bk.policy.max_file_size, UINT64_MAX)
	BK_NUM("MaxVersions", bk.policy.max_versions, UINT32_MAX)
	BK_NUM("MaxStoreSize", bk.policy.max_store_bytes, UINT64_MAX)
	BK_NUM("MaxAgeSeconds", bk.policy.max_age_ns, (uint64_t)INT64_MAX / 1000000000)
	BK_NUM("StagingSize", bk.staging_size, BK_MAX_STAGING)
#undef BK_NUM
	if (bk.staging_size && bk.staging_size < BK_MIN_STAGING) {
		bad = "StagingSize (0, or 1 MiB to 4 GiB)";
		goto out;
	}
	bk.policy.max_age_ns *= 1000000000LL;

	err = bk_param_choice(key, L"WhenFull", when_full, &pick);
	if (err == -EINVAL) {
		bad = "WhenFull (evict, skip or deny)";
		goto out;
	}
	if (!err)
		bk.when_full = (uint32_t)pick; /* enum bk_when_full's order */
	err = bk_param_choice(key, L"StoreMethod", method, &pick);
	if (err == -EINVAL) {
		bad = "StoreMethod (auto, clone or copy)";
		goto out;
	}
	if (!err) {
		bk.clone_only = pick == 1;
		bk.copy_only = pick == 2;
	}
	err = bk_param_choice(key, L"Durability", durability, &pick);
	if (err == -EINVAL) {
		bad = "Durability (power, flush or process)";
		goto out;
	}
	if (!err)
		bk.durability = pick; /* enum bk_durability's order */
	err = bk_param_num(key, L"ContentHash", &num);
	if (err == -EINVAL || (!err && num > 1)) {
		bad = "ContentHash (dword:0 or dword:1)";
		goto out;
	}
	if (!err)
		bk.content_hash = num == 1;
out:
	ZwClose(key);
	if (bad) {
		DbgPrint("backup: parameter %s is malformed\n", bad);
		return STATUS_INVALID_PARAMETER;
	}
	return STATUS_SUCCESS;
}
