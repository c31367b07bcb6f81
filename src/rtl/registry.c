/*
 * registry.c - the in-memory registry behind ZwOpenKey / ZwQueryValueKey.
 *
 * The daemon seeds a tree of keys (names compared case-insensitively, as
 * Windows does) from its configuration; filters read it through the Zw calls
 * exactly as on Windows, typically their service key's Parameters subkey.
 *
 * Invariants:
 *   - One mutex guards the tree and the handle table; none of this is hot.
 *   - A key lives while it is in the tree or a handle refers to it.  Deleting
 *     a key detaches it (and its subtree) and frees every detached key that
 *     no handle holds; a key still open stays readable through its handles,
 *     without parent or children, and is freed by the last ZwClose.
 *   - A HANDLE is a slot number in the handle table, spaced by 4 and offset
 *     from 0 like a kernel handle, so ZwClose can tell a stale or foreign
 *     handle (STATUS_INVALID_HANDLE) without dereferencing anything.
 *   - REG_SZ and REG_MULTI_SZ data are stored as UTF-16 with their NULs
 *     counted in the data length, as Windows stores them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wdm.h>

#include "rtl/rtl.h"

#define REG_KEY_NAME_MAX 255     /* WCHARs, as Windows */
#define REG_VALUE_NAME_MAX 16383 /* WCHARs, as Windows */
#define REG_HANDLE_BASE 0x80000004u
#define REG_HANDLE_STEP 4u

struct reg_value {
	struct reg_value *next;
	UNICODE_STRING name; /* Buffer owned; Length 0 = default value */
	ULONG type;
	ULONG len;
	void *data;
};

struct reg_key {
	struct reg_key *parent;
	struct reg_key *children; /* first child */
	struct reg_key *sibling;
	UNICODE_STRING name;
	struct reg_value *values;
	unsigned int handles; /* open handles referring to the key */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg_key reg_root; /* "\", the parent of \Registry */
static struct reg_key **reg_handles;
static size_t reg_nhandles;

/* ---- Keys and values ----------------------------------------------------- */

static bool reg_set_name(UNICODE_STRING *dst, PCWCH s, size_t n)
{
	dst->Buffer = NULL;
	dst->Length = dst->MaximumLength = (USHORT)(n * sizeof(WCHAR));
	if (!n)
		return true;
	dst->Buffer = malloc(n * sizeof(WCHAR));
	if (!dst->Buffer)
		return false;
	memcpy(dst->Buffer, s, n * sizeof(WCHAR));
	return true;
}

static void reg_free_value(struct reg_value *v)
{
	free(v->name.Buffer);
	free(v->data);
	free(v);
}

static void reg_free_key(struct reg_key *k)
{
	struct reg_value *v, *next;

	for (v = k->values; v; v = next) {
		next = v->next;
		reg_free_value(v);
	}
	free(k->name.Buffer);
	free(k);
}

static struct reg_key *reg_child(struct reg_key *k, PCUNICODE_STRING name)
{
	for (struct reg_key *c = k->children; c; c = c->sibling)
		if (RtlEqualUnicodeString(&c->name, name, TRUE))
			return c;
	return NULL;
}

static struct reg_key *reg_add_child(struct reg_key *k, PCUNICODE_STRING name)
{
	struct reg_key *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (!reg_set_name(&c->name, name->Buffer,
			  name->Length / sizeof(WCHAR))) {
		free(c);
		return NULL;
	}
	c->parent = k;
	c->sibling = k->children;
	k->children = c;
	return c;
}

static void reg_unlink(struct reg_key *k)
{
	struct reg_key **pp;

	if (!k->parent)
		return;
	for (pp = &k->parent->children; *pp; pp = &(*pp)->sibling) {
		if (*pp == k) {
			*pp = k->sibling;
			break;
		}
	}
	k->parent = NULL;
	k->sibling = NULL;
}

/* Detaches k's subtree; frees every key in it that no handle holds. */
static void reg_delete_subtree(struct reg_key *k)
{
	while (k->children)
		reg_delete_subtree(k->children);
	reg_unlink(k);
	if (!k->handles && k != &reg_root)
		reg_free_key(k);
}

static struct reg_value *reg_find_value(struct reg_key *k,
					PCUNICODE_STRING name)
{
	for (struct reg_value *v = k->values; v; v = v->next)
		if (RtlEqualUnicodeString(&v->name, name, TRUE))
			return v;
	return NULL;
}

/*
 * Walks the '\'-separated path from start; with create, missing keys are
 * added.  A trailing '\' is allowed, an empty component is not.
 */
static NTSTATUS reg_walk(struct reg_key *start, PCWCH path, size_t n,
			 bool create, struct reg_key **out)
{
	struct reg_key *k = start;
	size_t i = 0;

	while (i < n) {
		size_t end = i;
		UNICODE_STRING comp;

		while (end < n && path[end] != '\\')
			end++;
		if (end == i)
			return STATUS_OBJECT_NAME_INVALID;
		if (end - i > REG_KEY_NAME_MAX)
			return STATUS_NAME_TOO_LONG;
		comp.Buffer = (PWCH)(path + i);
		comp.Length = comp.MaximumLength =
			(USHORT)((end - i) * sizeof(WCHAR));
		struct reg_key *c = reg_child(k, &comp);
		if (!c && create)
			c = reg_add_child(k, &comp);
		if (!c)
			return create ? STATUS_NO_MEMORY
				      : STATUS_OBJECT_NAME_NOT_FOUND;
		k = c;
		i = end + 1;
	}
	*out = k;
	return STATUS_SUCCESS;
}

/* ---- Handles --------------------------------------------------------------- */

static struct reg_key *reg_handle_key(HANDLE h)
{
	uintptr_t v = (uintptr_t)h;
	size_t slot;

	if (v < REG_HANDLE_BASE || (v - REG_HANDLE_BASE) % REG_HANDLE_STEP)
		return NULL;
	slot = (v - REG_HANDLE_BASE) / REG_HANDLE_STEP;
	return slot < reg_nhandles ? reg_handles[slot] : NULL;
}

static NTSTATUS reg_handle_open(struct reg_key *k, PHANDLE out)
{
	size_t slot;

	for (slot = 0; slot < reg_nhandles; slot++)
		if (!reg_handles[slot])
			break;
	if (slot == reg_nhandles) {
		size_t n = reg_nhandles ? reg_nhandles * 2 : 16;
		struct reg_key **t = realloc(reg_handles, n * sizeof(*t));

		if (!t)
			return STATUS_INSUFFICIENT_RESOURCES;
		memset(t + reg_nhandles, 0, (n - reg_nhandles) * sizeof(*t));
		reg_handles = t;
		reg_nhandles = n;
	}
	reg_handles[slot] = k;
	k->handles++;
	*out = (HANDLE)(uintptr_t)(REG_HANDLE_BASE + slot * REG_HANDLE_STEP);
	return STATUS_SUCCESS;
}

/* ---- Zw calls ------------------------------------------------------------------ */

NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
			 POBJECT_ATTRIBUTES ObjectAttributes)
{
	POBJECT_ATTRIBUTES oa = ObjectAttributes;
	struct reg_key *start, *k;
	PCWCH path;
	size_t n;
	NTSTATUS status;

	(void)DesiredAccess;
	if (!KeyHandle || !oa || !oa->ObjectName)
		return STATUS_INVALID_PARAMETER;
	path = oa->ObjectName->Buffer;
	n = oa->ObjectName->Length / sizeof(WCHAR);
	if (n && !path)
		return STATUS_INVALID_PARAMETER;

	pthread_mutex_lock(&reg_lock);
	if (oa->RootDirectory) {
		start = reg_handle_key(oa->RootDirectory);
		status = STATUS_INVALID_HANDLE;
		if (!start)
			goto out;
		status = STATUS_OBJECT_PATH_SYNTAX_BAD;
		if (n && path[0] == '\\')
			goto out;
	} else {
		status = STATUS_OBJECT_PATH_SYNTAX_BAD;
		if (!n || path[0] != '\\')
			goto out;
		start = &reg_root;
		path++;
		n--;
		status = STATUS_OBJECT_NAME_INVALID;
		if (!n)
			goto out; /* "\" is a directory, not a key */
	}
	status = reg_walk(start, path, n, false, &k);
	if (NT_SUCCESS(status))
		status = reg_handle_open(k, KeyHandle);
out:
	pthread_mutex_unlock(&reg_lock);
	return status;
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
	struct reg_key *k;

	pthread_mutex_lock(&reg_lock);
	k = reg_handle_key(Handle);
	if (k) {
		reg_handles[((uintptr_t)Handle - REG_HANDLE_BASE) /
			    REG_HANDLE_STEP] = NULL;
		/* Detached and unreferenced: nobody can reach it any more. */
		if (--k->handles == 0 && !k->parent && k != &reg_root)
			reg_free_key(k);
	}
	pthread_mutex_unlock(&reg_lock);
	return k ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
}

/* The three layouts, with the sizes Windows computes. */
static void reg_value_sizes(const struct reg_value *v,
			    KEY_VALUE_INFORMATION_CLASS cls, ULONG *fixed,
			    ULONG *data_offset, ULONG *total)
{
	ULONG name_len = v->name.Length;

	switch (cls) {
	case KeyValueBasicInformation:
		*fixed = offsetof(KEY_VALUE_BASIC_INFORMATION, Name);
		*data_offset = 0;
		*total = *fixed + name_len;
		break;
	case KeyValueFullInformation:
		*fixed = offsetof(KEY_VALUE_FULL_INFORMATION, Name);
		*data_offset = (ULONG)ALIGN_UP_BY(*fixed + name_len,
						  sizeof(ULONG));
		*total = *data_offset + v->len;
		break;
	default: /* KeyValuePartialInformation */
		*fixed = offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data);
		*data_offset = *fixed;
		*total = *fixed + v->len;
		break;
	}
}

/*
 * Fills what fits, as Windows: the fixed part whenever it fits, as much of
 * the name as fits, the data only whole.  The caller's buffer need not be
 * aligned, so the fixed part is built locally and copied.
 */
static NTSTATUS reg_fill_value(const struct reg_value *v,
			       KEY_VALUE_INFORMATION_CLASS cls, PUCHAR buf,
			       ULONG length, PULONG result)
{
	ULONG fixed, data_offset, total, name_len = v->name.Length, n;

	reg_value_sizes(v, cls, &fixed, &data_offset, &total);
	*result = total;
	if (length < fixed)
		return STATUS_BUFFER_TOO_SMALL;
	switch (cls) {
	case KeyValueBasicInformation: {
		KEY_VALUE_BASIC_INFORMATION b = { 0, v->type, name_len, { 0 } };

		memcpy(buf, &b, fixed);
		break;
	}
	case KeyValueFullInformation: {
		KEY_VALUE_FULL_INFORMATION f = { 0, v->type, data_offset,
						 v->len, name_len, { 0 } };

		memcpy(buf, &f, fixed);
		break;
	}
	default: {
		KEY_VALUE_PARTIAL_INFORMATION p = { 0, v->type, v->len, { 0 } };

		memcpy(buf, &p, fixed);
		break;
	}
	}
	if (cls != KeyValuePartialInformation) {
		n = min(name_len, length - fixed);
		if (n)
			memcpy(buf + fixed, v->name.Buffer, n);
	}
	if (length < total)
		return STATUS_BUFFER_OVERFLOW;
	if (cls != KeyValueBasicInformation && v->len)
		memcpy(buf + data_offset, v->data, v->len);
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
			       KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
			       PVOID KeyValueInformation, ULONG Length,
			       PULONG ResultLength)
{
	static const UNICODE_STRING default_name = { 0, 0, NULL };
	PCUNICODE_STRING name = ValueName ? ValueName : &default_name;
	struct reg_value *v;
	struct reg_key *k;
	NTSTATUS status;

	if (KeyValueInformationClass != KeyValueBasicInformation &&
	    KeyValueInformationClass != KeyValueFullInformation &&
	    KeyValueInformationClass != KeyValuePartialInformation)
		return STATUS_INVALID_PARAMETER;
	if (!ResultLength || (!KeyValueInformation && Length))
		return STATUS_INVALID_PARAMETER;

	pthread_mutex_lock(&reg_lock);
	k = reg_handle_key(KeyHandle);
	status = STATUS_INVALID_HANDLE;
	if (!k)
		goto out;
	v = reg_find_value(k, name);
	status = STATUS_OBJECT_NAME_NOT_FOUND;
	if (!v)
		goto out;
	status = reg_fill_value(v, KeyValueInformationClass,
				KeyValueInformation, Length, ResultLength);
out:
	pthread_mutex_unlock(&reg_lock);
	return status;
}

/* ---- The daemon's side --------------------------------------------------------- */

/* UTF-8 -> a malloc'd UTF-16 copy; *n gets its length in WCHARs. */
static int reg_utf16(const char *s, PWCH *out, size_t *n, bool nul)
{
	size_t len = strlen(s);
	ULONG bytes;
	PWCH w;

	if (len > MAXULONG / 4 ||
	    !NT_SUCCESS(RtlUTF8ToUnicodeN(NULL, 0, &bytes, s, (ULONG)len)))
		return -EINVAL;
	w = malloc(bytes + sizeof(WCHAR));
	if (!w)
		return -ENOMEM;
	RtlUTF8ToUnicodeN(w, bytes, &bytes, s, (ULONG)len);
	*n = bytes / sizeof(WCHAR);
	if (nul)
		w[(*n)++] = UNICODE_NULL;
	*out = w;
	return 0;
}

/* Finds (or creates) the key named by an absolute UTF-8 path; locked. */
static int reg_key_by_path(const char *key_path, bool create,
			   struct reg_key **out)
{
	NTSTATUS status;
	size_t n;
	PWCH w;
	int err;

	if (!key_path || key_path[0] != '\\' || !key_path[1])
		return -EINVAL;
	err = reg_utf16(key_path + 1, &w, &n, false);
	if (err)
		return err;
	status = reg_walk(&reg_root, w, n, create, out);
	free(w);
	if (status == STATUS_OBJECT_NAME_NOT_FOUND)
		return -ENOENT;
	if (status == STATUS_NAME_TOO_LONG)
		return -ENAMETOOLONG;
	if (status == STATUS_NO_MEMORY)
		return -ENOMEM;
	return NT_SUCCESS(status) ? 0 : -EINVAL;
}

int rtl_registry_set_value(const char *key_path, const char *value_name,
			   ULONG type, const void *data, ULONG len)
{
	UNICODE_STRING name = { 0 };
	struct reg_value *v, *fresh = NULL;
	struct reg_key *k;
	void *copy = NULL;
	size_t n = 0;
	int err;

	if (len && !data)
		return -EINVAL;
	if (value_name && *value_name) {
		err = reg_utf16(value_name, &name.Buffer, &n, false);
		if (err)
			return err;
		if (n > REG_VALUE_NAME_MAX) {
			err = -ENAMETOOLONG;
			goto out_name;
		}
		name.Length = name.MaximumLength = (USHORT)(n * sizeof(WCHAR));
	}
	err = -ENOMEM;
	if (len && !(copy = malloc(len)))
		goto out_name;
	if (len)
		memcpy(copy, data, len);

	pthread_mutex_lock(&reg_lock);
	err = reg_key_by_path(key_path, true, &k);
	if (err)
		goto out_unlock;
	v = reg_find_value(k, &name);
	if (!v) {
		err = -ENOMEM;
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh)
			goto out_unlock;
		fresh->name = name; /* takes the buffer */
		name.Buffer = NULL;
		fresh->next = k->values;
		k->values = v = fresh;
	}
	free(v->data);
	v->data = copy;
	copy = NULL;
	v->len = len;
	v->type = type;
	err = 0;
out_unlock:
	pthread_mutex_unlock(&reg_lock);
	free(copy);
out_name:
	free(name.Buffer);
	return err;
}

int rtl_registry_set_string(const char *key_path, const char *name,
			    const char *utf8)
{
	size_t n;
	PWCH w;
	int err;

	if (!utf8)
		return -EINVAL;
	err = reg_utf16(utf8, &w, &n, true);
	if (err)
		return err;
	err = n * sizeof(WCHAR) > MAXULONG ? -E2BIG :
		rtl_registry_set_value(key_path, name, REG_SZ, w,
				       (ULONG)(n * sizeof(WCHAR)));
	free(w);
	return err;
}

int rtl_registry_set_dword(const char *key_path, const char *name, ULONG v)
{
	return rtl_registry_set_value(key_path, name, REG_DWORD, &v,
				      sizeof(v));
}

/* "one\0two\0\0"; an empty list is a lone terminating NUL. */
int rtl_registry_set_multi_sz(const char *key_path, const char *name,
			      const char *const *strings, size_t n)
{
	PWCH buf = NULL, w;
	size_t total = 0, len;
	int err = 0;

	if (n && !strings)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!strings[i]) {
			err = -EINVAL;
			goto out;
		}
		err = reg_utf16(strings[i], &w, &len, true);
		if (err)
			goto out;
		PWCH grown = realloc(buf, (total + len + 1) * sizeof(WCHAR));
		if (!grown) {
			free(w);
			err = -ENOMEM;
			goto out;
		}
		buf = grown;
		memcpy(buf + total, w, len * sizeof(WCHAR));
		total += len;
		free(w);
	}
	if (!buf && !(buf = malloc(sizeof(WCHAR)))) {
		err = -ENOMEM;
		goto out;
	}
	buf[total++] = UNICODE_NULL;
	err = total * sizeof(WCHAR) > MAXULONG ? -E2BIG :
		rtl_registry_set_value(key_path, name, REG_MULTI_SZ, buf,
				       (ULONG)(total * sizeof(WCHAR)));
out:
	free(buf);
	return err;
}

int rtl_registry_delete_key(const char *key_path)
{
	struct reg_key *k;
	int err;

	pthread_mutex_lock(&reg_lock);
	err = reg_key_by_path(key_path, false, &k);
	if (!err)
		reg_delete_subtree(k);
	pthread_mutex_unlock(&reg_lock);
	return err;
}

void rtl_registry_clear(void)
{
	pthread_mutex_lock(&reg_lock);
	reg_delete_subtree(&reg_root);
	pthread_mutex_unlock(&reg_lock);
}
