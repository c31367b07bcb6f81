/*
 * list.c - fetching and parsing the daemon's enumerations.
 *
 * A reply is parsed completely before anything is returned: a count that
 * the packet cannot hold, a string longer than FL_STR_MAX or not valid
 * UTF-8, a short body or trailing bytes all make the whole reply
 * FL_E_PROTOCOL, so a caller never sees half a list.
 */
#include "fltlib/list.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fltlib/handle.h"

struct fl_parse {
	struct wire *w;
	int err; /* 0, -EPROTO or -ENOMEM; once set, reads do nothing */
};

static void fl_str_free(struct fl_str *s)
{
	free(s->u8);
	free(s->w);
	memset(s, 0, sizeof(*s));
}

static int fl_str_set(struct fl_str *s, const char *u8)
{
	size_t n = strlen(u8);
	long wn;

	s->u8 = strdup(u8);
	s->w = malloc((n + 1) * sizeof(WCHAR));
	if (!s->u8 || !s->w)
		return -ENOMEM;
	/* UTF-8 never takes fewer code units in UTF-16 than bytes. */
	wn = fl_to_utf16(u8, s->w, n + 1);
	if (wn < 0)
		return -EPROTO;
	s->cb = (USHORT)(wn * sizeof(WCHAR));
	return 0;
}

static void fl_get_str(struct fl_parse *p, struct fl_str *s)
{
	char tmp[FL_STR_MAX + 1];

	if (p->err)
		return;
	if (!wire_get_str(p->w, tmp, sizeof(tmp))) {
		p->err = -EPROTO;
		return;
	}
	p->err = fl_str_set(s, tmp);
}

static ULONG fl_get_u32(struct fl_parse *p)
{
	ULONG v;

	if (p->err)
		return 0;
	v = wire_get_u32(p->w);
	if (p->w->bad)
		p->err = -EPROTO;
	return v;
}

/* CTL_ENUM_FILTERS: str name, str altitude, u32 instances, u32 frame,
 * u32 flags */
static void fl_parse_filter(struct fl_parse *p, struct fl_entry *e)
{
	fl_get_str(p, &e->name);
	fl_get_str(p, &e->altitude);
	e->instances = fl_get_u32(p);
	e->frame = fl_get_u32(p);
	e->flags = fl_get_u32(p);
}

/* CTL_ENUM_INSTANCES: str filter, str volume, str instance, str altitude,
 * u32 frame, u32 flags, u32 fs type */
static void fl_parse_instance(struct fl_parse *p, struct fl_entry *e)
{
	fl_get_str(p, &e->filter);
	fl_get_str(p, &e->volume);
	fl_get_str(p, &e->name);
	fl_get_str(p, &e->altitude);
	e->frame = fl_get_u32(p);
	e->flags = fl_get_u32(p);
	e->fs_type = fl_get_u32(p);
}

/* CTL_ENUM_VOLUMES: str name, str dos name, u32 fs type, u32 flags,
 * str fs name */
static void fl_parse_volume(struct fl_parse *p, struct fl_entry *e)
{
	fl_get_str(p, &e->name);
	fl_get_str(p, &e->dos_name);
	e->fs_type = fl_get_u32(p);
	e->flags = fl_get_u32(p);
	fl_get_str(p, &e->fs_name);
}

/* CTL_ENUM_SERVICES: str name, str image, u32 start type, str group,
 * str altitude */
static void fl_parse_service(struct fl_parse *p, struct fl_entry *e)
{
	fl_get_str(p, &e->name);
	fl_get_str(p, &e->image);
	e->start_type = fl_get_u32(p);
	fl_get_str(p, &e->group);
	fl_get_str(p, &e->altitude);
}

static const struct fl_list_kind {
	void (*parse)(struct fl_parse *p, struct fl_entry *e);
	size_t min_size; /* bytes of an entry whose strings are all empty */
} fl_filters_kind = { fl_parse_filter, 2 * 2 + 3 * 4 },
  fl_instances_kind = { fl_parse_instance, 4 * 2 + 3 * 4 },
  fl_volumes_kind = { fl_parse_volume, 3 * 2 + 2 * 4 },
  fl_services_kind = { fl_parse_service, 4 * 2 + 1 * 4 };

static HRESULT fl_list_parse(struct fl_list *l, struct wire *w,
			     const struct fl_list_kind *k)
{
	struct fl_parse p = { .w = w };
	ULONG count, i;

	count = wire_get_u32(w);
	if (w->bad || count > (w->cap - w->pos) / k->min_size)
		return FL_E_PROTOCOL;
	if (count) {
		l->e = calloc(count, sizeof(*l->e));
		if (!l->e)
			return E_OUTOFMEMORY;
	}
	l->count = count;
	for (i = 0; i < count && !p.err; i++)
		k->parse(&p, &l->e[i]);
	if (!p.err && w->pos != w->cap)
		p.err = -EPROTO;
	if (p.err) {
		fl_list_free(l);
		return p.err == -ENOMEM ? E_OUTOFMEMORY : FL_E_PROTOCOL;
	}
	return S_OK;
}

static HRESULT fl_list_fetch(struct fl_list *l, uint16_t op,
			     const struct fl_list_kind *k, const char *s1,
			     const char *s2)
{
	struct fl_ctl c;
	HRESULT hr;

	l->e = NULL;
	l->count = 0;
	hr = fl_ctl_begin(&c, op);
	if (FAILED(hr))
		return hr;
	if (op == CTL_ENUM_INSTANCES) {
		wire_put_str(&c.req, s1);
		wire_put_str(&c.req, s2);
	}
	hr = fl_ctl_call(&c);
	if (SUCCEEDED(hr))
		hr = fl_list_parse(l, &c.rep, k);
	fl_ctl_end(&c);
	return hr;
}

HRESULT fl_list_filters(struct fl_list *l)
{
	return fl_list_fetch(l, CTL_ENUM_FILTERS, &fl_filters_kind, NULL, NULL);
}

HRESULT fl_list_instances(struct fl_list *l, const char *filter,
			  const char *volume)
{
	return fl_list_fetch(l, CTL_ENUM_INSTANCES, &fl_instances_kind,
			     filter ? filter : "", volume ? volume : "");
}

HRESULT fl_list_volumes(struct fl_list *l)
{
	return fl_list_fetch(l, CTL_ENUM_VOLUMES, &fl_volumes_kind, NULL, NULL);
}

HRESULT fl_list_services(struct fl_list *l)
{
	return fl_list_fetch(l, CTL_ENUM_SERVICES, &fl_services_kind, NULL,
			     NULL);
}

void fl_list_free(struct fl_list *l)
{
	ULONG i;

	for (i = 0; l->e && i < l->count; i++) {
		struct fl_entry *e = &l->e[i];

		fl_str_free(&e->name);
		fl_str_free(&e->filter);
		fl_str_free(&e->volume);
		fl_str_free(&e->altitude);
		fl_str_free(&e->dos_name);
		fl_str_free(&e->fs_name);
		fl_str_free(&e->image);
		fl_str_free(&e->group);
	}
	free(l->e);
	l->e = NULL;
	l->count = 0;
}

bool fl_name_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

const struct fl_entry *fl_list_lookup(const struct fl_list *l,
				      const char *name)
{
	ULONG i;

	for (i = 0; i < l->count; i++)
		if (fl_name_eq(l->e[i].name.u8, name))
			return &l->e[i];
	return NULL;
}

#define FL_DEVICE_PREFIX "\\Device\\"

/* The volume whose directory is dir, compared without trailing slashes. */
static const struct fl_entry *fl_lookup_dir(const struct fl_list *l,
					    const char *dir)
{
	size_t n = strlen(dir);
	ULONG i;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	for (i = 0; i < l->count; i++) {
		const char *d = l->e[i].dos_name.u8;

		if (*d && strlen(d) == n && !memcmp(d, dir, n))
			return &l->e[i];
	}
	return NULL;
}

static bool fl_is_device_name(const char *name)
{
	return !strncasecmp(name, FL_DEVICE_PREFIX, strlen(FL_DEVICE_PREFIX));
}

const struct fl_entry *fl_list_volume(const struct fl_list *l, const char *in)
{
	const struct fl_entry *e;
	char dev[sizeof(FL_DEVICE_PREFIX) + FL_STR_MAX];
	char real[PATH_MAX];

	if (fl_is_device_name(in))
		return fl_list_lookup(l, in);
	if (in[0] == '/') {
		e = fl_lookup_dir(l, in);
		/* A path with symbolic links or dots in it names the same
		 * directory once resolved. */
		if (!e && realpath(in, real))
			e = fl_lookup_dir(l, real);
		return e;
	}
	snprintf(dev, sizeof(dev), "%s%s", FL_DEVICE_PREFIX, in);
	return fl_list_lookup(l, dev);
}

HRESULT fl_volume_resolve(LPCWSTR in, char out[FL_STR_MAX + 1])
{
	const struct fl_entry *e;
	struct fl_list l;
	char name[FL_STR_MAX + 1];
	HRESULT hr;

	hr = fl_arg_utf8(in, name, false);
	if (FAILED(hr))
		return hr;
	/* The daemon knows its \Device\ names: no round trip for those. */
	if (fl_is_device_name(name)) {
		memcpy(out, name, strlen(name) + 1);
		return S_OK;
	}
	hr = fl_list_volumes(&l);
	if (FAILED(hr))
		return hr;
	e = fl_list_volume(&l, name);
	if (e)
		memcpy(out, e->name.u8, strlen(e->name.u8) + 1);
	else
		hr = ERROR_FLT_VOLUME_NOT_FOUND;
	fl_list_free(&l);
	return hr;
}
