/*
 * config.c - parsing fltmgrd's command line specifications and its
 * configuration file.
 *
 * The file is INI-like:
 *   [volume data]         path = /srv/data
 *   [filter backup]       image = /usr/lib/altitude/filters/backup.so
 *                         altitude = 285000
 *                         param.VersionsKept = dword:10
 * Unknown sections or keys, a missing '=', a filter without image or
 * altitude: each is an error naming the file and line; nothing is applied
 * from a file that has one.
 */
#include "daemon/config.h"
#include "loader/loader.h"
#include "rtl/rtl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wdm.h>

static void *cfg_grow(void *arr, size_t *n, size_t size)
{
	char *p = realloc(arr, (*n + 1) * size);

	if (!p)
		return NULL;
	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static const char *cfg_basename_noext(const char *path, char *buf, size_t cap)
{
	const char *b = strrchr(path, '/');
	char *dot;

	snprintf(buf, cap, "%s", b ? b + 1 : path);
	dot = strrchr(buf, '.');
	if (dot && !strcmp(dot, ".so"))
		*dot = 0;
	return buf;
}

int cfg_add_volume(struct cfg *c, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	struct cfg_volume *v;
	char name[64];

	if (!*spec || eq == spec) {
		snprintf(err, errlen, "volume '%s': expected DIR[=NAME]", spec);
		return -EINVAL;
	}
	v = cfg_grow(c->volumes, &c->nvolumes, sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->volumes = v;
	v = &c->volumes[c->nvolumes - 1];
	v->path = eq ? strndup(spec, (size_t)(eq - spec)) : strdup(spec);
	if (eq && eq[1])
		v->name = strdup(eq + 1);
	else {
		snprintf(name, sizeof(name), "AltitudeVolume%zu", c->nvolumes);
		v->name = strdup(name);
	}
	return v->path && v->name ? 0 : -ENOMEM;
}

int cfg_add_filter(struct cfg *c, const char *spec, char *err, size_t errlen)
{
	const char *at = strrchr(spec, '@'), *eq;
	struct cfg_filter *f;
	char name[64];

	if (!at || at == spec) {
		snprintf(err, errlen, "filter '%s': expected IMAGE@ALTITUDE[=NAME]",
			 spec);
		return -EINVAL;
	}
	eq = strchr(at, '=');
	f = cfg_grow(c->filters, &c->nfilters, sizeof(*f));
	if (!f)
		return -ENOMEM;
	c->filters = f;
	f = &c->filters[c->nfilters - 1];
	f->image = strndup(spec, (size_t)(at - spec));
	f->altitude = eq ? strndup(at + 1, (size_t)(eq - at - 1)) : strdup(at + 1);
	f->name = strdup(eq && eq[1] ? eq + 1
				     : cfg_basename_noext(f->image ? f->image : "",
							  name, sizeof(name)));
	return f->image && f->altitude && f->name ? 0 : -ENOMEM;
}

static int cfg_param3(struct cfg *c, const char *filter, const char *name,
		      const char *data)
{
	struct cfg_param *p = cfg_grow(c->params, &c->nparams, sizeof(*p));

	if (!p)
		return -ENOMEM;
	c->params = p;
	p = &c->params[c->nparams - 1];
	p->filter = strdup(filter);
	p->name = strdup(name);
	p->data = strdup(data);
	return p->filter && p->name && p->data ? 0 : -ENOMEM;
}

int cfg_add_param(struct cfg *c, const char *spec, char *err, size_t errlen)
{
	const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
	char filter[128], name[256];

	if (!dot || !eq || eq < dot || dot == spec || eq == dot + 1 ||
	    (size_t)(dot - spec) >= sizeof(filter) ||
	    (size_t)(eq - dot - 1) >= sizeof(name)) {
		snprintf(err, errlen, "parameter '%s': expected FILTER.VALUE=DATA",
			 spec);
		return -EINVAL;
	}
	snprintf(filter, sizeof(filter), "%.*s", (int)(dot - spec), spec);
	snprintf(name, sizeof(name), "%.*s", (int)(eq - dot - 1), dot + 1);
	return cfg_param3(c, filter, name, eq + 1);
}

static char *cfg_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen)
{
	enum { NONE, VOLUME, FILTER } sect = NONE;
	char line[4096], sname[128] = "";
	struct cfg tmp = { 0 };
	size_t lineno = 0, i;
	FILE *fp = fopen(path, "re");
	int r = 0;

	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (!r && fgets(line, sizeof(line), fp)) {
		char *s = cfg_trim(line), *eq, *key, *val;

		lineno++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']'), kind[16];

			if (!end || end[1] || sscanf(s + 1, "%15s %127[^]]", kind, sname) != 2) {
				snprintf(err, errlen, "%s:%zu: expected [volume NAME] or [filter NAME]",
					 path, lineno);
				r = -EINVAL;
				break;
			}
			if (!strcmp(kind, "volume")) {
				sect = VOLUME;
				r = cfg_add_volume(&tmp, ".", err, errlen);
				free(tmp.volumes[tmp.nvolumes - 1].name);
				tmp.volumes[tmp.nvolumes - 1].name = strdup(sname);
				free(tmp.volumes[tmp.nvolumes - 1].path);
				tmp.volumes[tmp.nvolumes - 1].path = NULL;
			} else if (!strcmp(kind, "filter")) {
				sect = FILTER;
				r = cfg_add_filter(&tmp, "x@0", err, errlen);
				free(tmp.filters[tmp.nfilters - 1].name);
				free(tmp.filters[tmp.nfilters - 1].image);
				free(tmp.filters[tmp.nfilters - 1].altitude);
				tmp.filters[tmp.nfilters - 1].name = strdup(sname);
				tmp.filters[tmp.nfilters - 1].image = NULL;
				tmp.filters[tmp.nfilters - 1].altitude = NULL;
			} else {
				snprintf(err, errlen, "%s:%zu: unknown section '%s'",
					 path, lineno, kind);
				r = -EINVAL;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || sect == NONE) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno,
				 sect == NONE ? "setting outside a section"
					      : "expected key = value");
			r = -EINVAL;
			break;
		}
		*eq = 0;
		key = cfg_trim(s);
		val = cfg_trim(eq + 1);
		if (sect == VOLUME && !strcmp(key, "path")) {
			free(tmp.volumes[tmp.nvolumes - 1].path);
			tmp.volumes[tmp.nvolumes - 1].path = strdup(val);
		} else if (sect == FILTER && !strcmp(key, "image")) {
			free(tmp.filters[tmp.nfilters - 1].image);
			tmp.filters[tmp.nfilters - 1].image = strdup(val);
		} else if (sect == FILTER && !strcmp(key, "altitude")) {
			free(tmp.filters[tmp.nfilters - 1].altitude);
			tmp.filters[tmp.nfilters - 1].altitude = strdup(val);
		} else if (sect == FILTER && !strncmp(key, "param.", 6) && key[6]) {
			r = cfg_param3(&tmp, sname, key + 6, val);
		} else {
			snprintf(err, errlen, "%s:%zu: unknown key '%s'", path,
				 lineno, key);
			r = -EINVAL;
		}
	}
	fclose(fp);
	for (i = 0; !r && i < tmp.nvolumes; i++)
		if (!tmp.volumes[i].path) {
			snprintf(err, errlen, "%s: volume %s has no path", path,
				 tmp.volumes[i].name);
			r = -EINVAL;
		}
	for (i = 0; !r && i < tmp.nfilters; i++)
		if (!tmp.filters[i].image || !tmp.filters[i].altitude) {
			snprintf(err, errlen, "%s: filter %s needs image and altitude",
				 path, tmp.filters[i].name);
			r = -EINVAL;
		}
	if (r) {
		cfg_free(&tmp);
		return r;
	}
	/* Append tmp to c. */
	for (i = 0; i < tmp.nvolumes; i++) {
		struct cfg_volume *v = cfg_grow(c->volumes, &c->nvolumes, sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->volumes = v;
		c->volumes[c->nvolumes - 1] = tmp.volumes[i];
	}
	for (i = 0; i < tmp.nfilters; i++) {
		struct cfg_filter *f = cfg_grow(c->filters, &c->nfilters, sizeof(*f));

		if (!f)
			return -ENOMEM;
		c->filters = f;
		c->filters[c->nfilters - 1] = tmp.filters[i];
	}
	for (i = 0; i < tmp.nparams; i++) {
		struct cfg_param *p = cfg_grow(c->params, &c->nparams, sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->params = p;
		c->params[c->nparams - 1] = tmp.params[i];
	}
	free(tmp.volumes);
	free(tmp.filters);
	free(tmp.params);
	return 0;
}

int cfg_apply_params(const struct cfg *c, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < c->nparams; i++) {
		const struct cfg_param *p = &c->params[i];
		char key[512];
		int r;

		snprintf(key, sizeof(key), "%s\\%s\\Parameters",
			 LOADER_SERVICES_KEY, p->filter);
		if (!strncmp(p->data, "dword:", 6) || !strncmp(p->data, "qword:", 6)) {
			bool q = p->data[0] == 'q';
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(p->data + 6, &end, 0);
			if (errno || *end || end == p->data + 6 || p->data[6] == '-' ||
			    (!q && v > 0xffffffffULL)) {
				snprintf(err, errlen, "parameter %s.%s: bad %s '%s'",
					 p->filter, p->name, q ? "qword" : "dword",
					 p->data + 6);
				return -EINVAL;
			}
			if (q)
				r = rtl_registry_set_value(key, p->name, REG_QWORD,
							   &v, sizeof(v));
			else
				r = rtl_registry_set_dword(key, p->name, (ULONG)v);
		} else if (!strncmp(p->data, "multi:", 6)) {
			char *copy = strdup(p->data + 6), *tok, *save = NULL;
			const char *items[64];
			size_t n = 0;

			if (!copy)
				return -ENOMEM;
			for (tok = strtok_r(copy, ",", &save); tok && n < 64;
			     tok = strtok_r(NULL, ",", &save))
				items[n++] = tok;
			r = rtl_registry_set_multi_sz(key, p->name, items, n);
			free(copy);
		} else {
			r = rtl_registry_set_string(key, p->name, p->data);
		}
		if (r < 0) {
			snprintf(err, errlen, "parameter %s.%s: %s", p->filter,
				 p->name, strerror(-r));
			return r;
		}
	}
	return 0;
}

void cfg_free(struct cfg *c)
{
	size_t i;

	for (i = 0; i < c->nvolumes; i++) {
		free(c->volumes[i].path);
		free(c->volumes[i].name);
	}
	for (i = 0; i < c->nfilters; i++) {
		free(c->filters[i].name);
		free(c->filters[i].image);
		free(c->filters[i].altitude);
	}
	for (i = 0; i < c->nparams; i++) {
		free(c->params[i].filter);
		free(c->params[i].name);
		free(c->params[i].data);
	}
	free(c->volumes);
	free(c->filters);
	free(c->params);
	free(c->pidfile);
	free(c->logfile);
	free(c->runtime_dir);
	free(c->services_dir);
	free(c->admin_group);
	memset(c, 0, sizeof(*c));
}
