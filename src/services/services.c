/*
 * services.c - reading, validating, installing and ordering filter
 * services.
 *
 * Format (docs/services.md):
 *   [Service]     ImagePath, Start, Group, DependOnService, Description
 *   [Instances]   DefaultInstance
 *   [Instance X]  Altitude, Flags
 *   [Parameters]  Name = dword:N | qword:N | multi:a,b | binary:hex | text
 */
#include "services/services.h"
#include "fltmgr/fm.h"
#include "loader/loader.h"
#include "rtl/rtl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wdm.h>

static char svc_directory[4096] = "/etc/altitude/services";

/* Filter load order groups, top of the stack first (Windows' order). */
static const char *const svc_groups[] = {
	"FSFilter Top",
	"FSFilter Activity Monitor",
	"FSFilter Undelete",
	"FSFilter Anti-Virus",
	"FSFilter Replication",
	"FSFilter Continuous Backup",
	"FSFilter Content Screener",
	"FSFilter Quota Management",
	"FSFilter System Recovery",
	"FSFilter Cluster File System",
	"FSFilter HSM",
	"FSFilter Imaging",
	"FSFilter Compression",
	"FSFilter Encryption",
	"FSFilter Virtualization",
	"FSFilter Physical Quota Management",
	"FSFilter Open File",
	"FSFilter Security Enhancer",
	"FSFilter Copy Protection",
	"FSFilter Bottom",
	"FSFilter System",
};

void svc_set_dir(const char *dir)
{
	snprintf(svc_directory, sizeof(svc_directory), "%s", dir);
}

const char *svc_dir(void)
{
	return svc_directory;
}

const char *svc_start_name(enum svc_start s)
{
	static const char *const names[] = { "boot", "system", "auto", "demand",
					     "disabled" };

	return (unsigned)s < 5 ? names[s] : "?";
}

static bool svc_name_valid(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (!n || n >= SVC_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return name[0] != '.';
}

void svc_free(struct svc *s)
{
	size_t i;

	free(s->image);
	free(s->group);
	free(s->description);
	for (i = 0; i < s->nparams; i++) {
		free(s->params[i].name);
		free(s->params[i].data);
	}
	free(s->params);
	memset(s, 0, sizeof(*s));
}

static char *svc_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int svc_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses one [Parameters] value into p; false if malformed. */
static bool svc_param_value(const char *val, struct svc_param *p)
{
	if (!strncmp(val, "dword:", 6) || !strncmp(val, "qword:", 6)) {
		bool q = val[0] == 'q';
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(val + 6, &end, 0);
		if (errno || *end || end == val + 6 || (!q && v > 0xffffffffULL) ||
		    val[6] == '-')
			return false;
		p->type = q ? REG_QWORD : REG_DWORD;
		p->len = q ? 8 : 4;
		p->data = malloc(p->len);
		if (!p->data)
			return false;
		if (q)
			memcpy(p->data, &v, 8);
		else {
			ULONG d = (ULONG)v;

			memcpy(p->data, &d, 4);
		}
		return true;
	}
	if (!strncmp(val, "binary:", 7)) {
		size_t n = strlen(val + 7), i;
		unsigned char *b;

		if (n % 2)
			return false;
		b = malloc(n / 2 + 1);
		if (!b)
			return false;
		for (i = 0; i < n / 2; i++) {
			int hi = svc_hexval(val[7 + 2 * i]), lo = svc_hexval(val[8 + 2 * i]);

			if (hi < 0 || lo < 0) {
				free(b);
				return false;
			}
			b[i] = (unsigned char)(hi << 4 | lo);
		}
		p->type = REG_BINARY;
		p->data = b;
		p->len = n / 2;
		return true;
	}
	if (!strncmp(val, "multi:", 6)) {
		p->type = REG_MULTI_SZ;
		p->data = strdup(val + 6); /* comma-separated, split on publish */
		p->len = strlen(val + 6);
		return p->data != NULL;
	}
	if (!strncmp(val, "sz:", 3))
		val += 3;
	p->type = REG_SZ;
	p->data = strdup(val);
	p->len = strlen(val);
	return p->data != NULL;
}

#define SVC_FAIL(...)                                           \
	do {                                                    \
		snprintf(err, errlen, __VA_ARGS__);             \
		r = -EINVAL;                                    \
		goto out;                                       \
	} while (0)

int svc_parse(const char *name, const char *text, const char *origin,
	      struct svc *out, char *err, size_t errlen)
{
	enum { NONE, SERVICE, INSTANCES, INSTANCE, PARAMETERS } sect = NONE;
	char *copy = NULL, *line, *next;
	char default_name[SVC_NAME_MAX] = "";
	struct svc s;
	size_t lineno = 0;
	unsigned i, j;
	bool start_set = false;
	int r = 0;

	memset(&s, 0, sizeof(s));
	if (!svc_name_valid(name)) {
		snprintf(err, errlen, "%s: invalid service name '%s' (letters, digits, - _ .)",
			 origin, name ? name : "");
		return -EINVAL;
	}
	snprintf(s.name, sizeof(s.name), "%s", name);
	copy = strdup(text ? text : "");
	if (!copy)
		return -ENOMEM;
	for (line = copy; line; line = next) {
		char *p, *eq, *key, *val;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		p = svc_trim(line);
		if (!*p || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (!end || end[1])
				SVC_FAIL("%s:%zu: malformed section header", origin, lineno);
			*end = 0;
			p = svc_trim(p + 1);
			if (!strcasecmp(p, "Service"))
				sect = SERVICE;
			else if (!strcasecmp(p, "Instances"))
				sect = INSTANCES;
			else if (!strcasecmp(p, "Parameters"))
				sect = PARAMETERS;
			else if (!strncasecmp(p, "Instance ", 9)) {
				char *iname = svc_trim(p + 9);

				if (!*iname || strlen(iname) >= SVC_NAME_MAX)
					SVC_FAIL("%s:%zu: bad instance name", origin, lineno);
				if (s.ninstances == SVC_MAX_INSTANCES)
					SVC_FAIL("%s:%zu: more than %d instances", origin,
						 lineno, SVC_MAX_INSTANCES);
				for (i = 0; i < s.ninstances; i++)
					if (!strcasecmp(s.instances[i].name, iname))
						SVC_FAIL("%s:%zu: instance '%s' defined twice",
							 origin, lineno, iname);
				snprintf(s.instances[s.ninstances++].name,
					 SVC_NAME_MAX, "%s", iname);
				sect = INSTANCE;
			} else
				SVC_FAIL("%s:%zu: unknown section [%s]", origin, lineno, p);
			continue;
		}
		eq = strchr(p, '=');
		if (!eq)
			SVC_FAIL("%s:%zu: expected Name = value", origin, lineno);
		*eq = 0;
		key = svc_trim(p);
		val = svc_trim(eq + 1);
		switch (sect) {
		case NONE:
			SVC_FAIL("%s:%zu: '%s' outside a section", origin, lineno, key);
		case SERVICE:
			if (!strcasecmp(key, "ImagePath")) {
				free(s.image);
				s.image = strdup(val);
			} else if (!strcasecmp(key, "Start")) {
				static const char *const st[] = { "boot", "system", "auto",
								  "demand", "disabled" };
				bool ok = false;

				for (i = 0; i < 5; i++)
					if (!strcasecmp(val, st[i]) ||
					    (isdigit((unsigned char)val[0]) && !val[1] &&
					     (unsigned)(val[0] - '0') == i)) {
						s.start = (enum svc_start)i;
						ok = true;
					}
				if (!ok)
					SVC_FAIL("%s:%zu: Start must be boot, system, auto, demand or disabled",
						 origin, lineno);
				start_set = true;
			} else if (!strcasecmp(key, "Group")) {
				free(s.group);
				s.group = strdup(val);
			} else if (!strcasecmp(key, "Description")) {
				free(s.description);
				s.description = strdup(val);
			} else if (!strcasecmp(key, "DependOnService")) {
				char *tok, *tsave = NULL;

				for (tok = strtok_r(val, " ,", &tsave); tok;
				     tok = strtok_r(NULL, " ,", &tsave)) {
					if (!svc_name_valid(tok) || s.ndeps == SVC_MAX_DEPENDENCIES)
						SVC_FAIL("%s:%zu: bad dependency '%s'", origin,
							 lineno, tok);
					snprintf(s.deps[s.ndeps++], SVC_NAME_MAX, "%s", tok);
				}
			} else
				SVC_FAIL("%s:%zu: unknown key '%s' in [Service]", origin,
					 lineno, key);
			break;
		case INSTANCES:
			if (strcasecmp(key, "DefaultInstance"))
				SVC_FAIL("%s:%zu: unknown key '%s' in [Instances]", origin,
					 lineno, key);
			snprintf(default_name, sizeof(default_name), "%s", val);
			break;
		case INSTANCE: {
			struct svc_instance *in = &s.instances[s.ninstances - 1];

			if (!strcasecmp(key, "Altitude")) {
				if (!fm_altitude_valid(val))
					SVC_FAIL("%s:%zu: Altitude '%s' is not a decimal number",
						 origin, lineno, val);
				snprintf(in->altitude, sizeof(in->altitude), "%s", val);
			} else if (!strcasecmp(key, "Flags")) {
				char *end;
				unsigned long f = strtoul(val, &end, 0);

				if (*end || end == val || f > 3)
					SVC_FAIL("%s:%zu: Flags must be 0-3 (1: no automatic, 2: no manual attachment)",
						 origin, lineno);
				in->flags = (unsigned)f;
			} else
				SVC_FAIL("%s:%zu: unknown key '%s' in [Instance]", origin,
					 lineno, key);
			break;
		}
		case PARAMETERS: {
			struct svc_param *np = realloc(s.params,
						       (s.nparams + 1) * sizeof(*np));

			if (!np) {
				r = -ENOMEM;
				goto out;
			}
			s.params = np;
			memset(&s.params[s.nparams], 0, sizeof(*np));
			s.params[s.nparams].name = strdup(key);
			if (!s.params[s.nparams].name ||
			    !svc_param_value(val, &s.params[s.nparams++]))
				SVC_FAIL("%s:%zu: bad value for parameter '%s'", origin,
					 lineno, key);
			break;
		}
		}
	}
	if (!s.image || s.image[0] != '/')
		SVC_FAIL("%s: [Service] needs an absolute ImagePath", origin);
	if (!start_set)
		s.start = SVC_START_DEMAND;
	if (!s.ninstances)
		SVC_FAIL("%s: at least one [Instance NAME] with an Altitude is required",
			 origin);
	for (i = 0; i < s.ninstances; i++) {
		if (!s.instances[i].altitude[0])
			SVC_FAIL("%s: instance '%s' has no Altitude", origin,
				 s.instances[i].name);
		for (j = 0; j < i; j++)
			if (!fm_altitude_compare(s.instances[i].altitude,
						 s.instances[j].altitude))
				SVC_FAIL("%s: instances '%s' and '%s' share altitude %s",
					 origin, s.instances[j].name,
					 s.instances[i].name, s.instances[i].altitude);
	}
	if (!default_name[0]) {
		if (s.ninstances > 1)
			SVC_FAIL("%s: [Instances] DefaultInstance is required with several instances",
				 origin);
		s.default_instance = 0;
	} else {
		for (i = 0; i < s.ninstances; i++)
			if (!strcasecmp(s.instances[i].name, default_name))
				break;
		if (i == s.ninstances)
			SVC_FAIL("%s: DefaultInstance '%s' is not defined", origin,
				 default_name);
		s.default_instance = i;
	}
	for (i = 0; i < s.ndeps; i++)
		if (!strcasecmp(s.deps[i], s.name))
			SVC_FAIL("%s: a service cannot depend on itself", origin);
out:
	free(copy);
	if (r) {
		svc_free(&s);
		return r;
	}
	*out = s;
	return 0;
}

static int svc_path(const char *name, char *buf, size_t cap)
{
	if (!svc_name_valid(name))
		return -EINVAL;
	if ((size_t)snprintf(buf, cap, "%s/%s.service", svc_directory, name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int svc_read(const char *name, struct svc *out, char *err, size_t errlen)
{
	char path[4200], *text;
	struct stat st;
	FILE *fp;
	int r;

	r = svc_path(name, path, sizeof(path));
	if (r) {
		snprintf(err, errlen, "invalid service name '%s'", name);
		return r;
	}
	fp = fopen(path, "re");
	if (!fp) {
		r = -errno;
		snprintf(err, errlen, "service %s: %s: %s", name, path, strerror(errno));
		return r;
	}
	if (fstat(fileno(fp), &st) < 0 || st.st_size > 1 << 20) {
		fclose(fp);
		snprintf(err, errlen, "service %s: %s is too large", name, path);
		return -EFBIG;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	if (!text || fread(text, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		free(text);
		fclose(fp);
		snprintf(err, errlen, "service %s: cannot read %s", name, path);
		return -EIO;
	}
	fclose(fp);
	r = svc_parse(name, text, path, out, err, errlen);
	free(text);
	return r;
}

int svc_install(const char *name, const char *text, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	struct svc s;
	struct stat st;
	size_t len = strlen(text);
	int fd, r;

	r = svc_parse(name, text, name, &s, err, errlen);
	if (r)
		return r;
	if (stat(s.image, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: ImagePath %s: %s", name, s.image,
			 errno ? strerror(errno) : "not a regular file");
		svc_free(&s);
		return -ENOENT;
	}
	svc_free(&s);
	if (mkdir(svc_directory, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", svc_directory, strerror(errno));
		return -errno;
	}
	svc_path(name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot write %s: %s", name, path,
			 strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int svc_uninstall(const char *name, char *err, size_t errlen)
{
	char path[4200];
	char key[512];

	if (svc_path(name, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "invalid service name '%s'", name);
		return -EINVAL;
	}
	if (unlink(path) < 0) {
		int r = -errno;

		snprintf(err, errlen, "service %s: %s", name, strerror(errno));
		return r;
	}
	snprintf(key, sizeof(key), "%s\\%s", LOADER_SERVICES_KEY, name);
	rtl_registry_delete_key(key);
	return 0;
}

static int svc_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t svc_list(char ***names)
{
	DIR *d = opendir(svc_directory);
	struct dirent *de;
	char **arr = NULL;
	size_t n = 0;

	*names = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **na;

		if (len <= 8 || strcmp(de->d_name + len - 8, ".service"))
			continue;
		na = realloc(arr, (n + 1) * sizeof(*arr));
		if (!na)
			break;
		arr = na;
		arr[n] = strndup(de->d_name, len - 8);
		if (arr[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(arr, n, sizeof(*arr), svc_cmp);
	*names = arr;
	return n;
}

void svc_names_free(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

int svc_publish(const struct svc *s)
{
	char key[600], ikey[700];
	unsigned i;
	size_t p;
	int r;

	snprintf(key, sizeof(key), "%s\\%s", LOADER_SERVICES_KEY, s->name);
	rtl_registry_delete_key(key);
	r = rtl_registry_set_string(key, "ImagePath", s->image);
	if (!r)
		r = rtl_registry_set_dword(key, "Start", (ULONG)s->start);
	if (!r)
		r = rtl_registry_set_dword(key, "Type", 2 /* file system driver */);
	if (!r && s->group)
		r = rtl_registry_set_string(key, "Group", s->group);
	if (!r && s->ndeps) {
		const char *deps[SVC_MAX_DEPENDENCIES];

		for (i = 0; i < s->ndeps; i++)
			deps[i] = s->deps[i];
		r = rtl_registry_set_multi_sz(key, "DependOnService", deps, s->ndeps);
	}
	snprintf(ikey, sizeof(ikey), "%s\\Instances", key);
	if (!r)
		r = rtl_registry_set_string(ikey, "DefaultInstance",
					    s->instances[s->default_instance].name);
	for (i = 0; !r && i < s->ninstances; i++) {
		snprintf(ikey, sizeof(ikey), "%s\\Instances\\%s", key,
			 s->instances[i].name);
		r = rtl_registry_set_string(ikey, "Altitude", s->instances[i].altitude);
		if (!r)
			r = rtl_registry_set_dword(ikey, "Flags", s->instances[i].flags);
	}
	snprintf(ikey, sizeof(ikey), "%s\\Parameters", key);
	for (p = 0; !r && p < s->nparams; p++) {
		const struct svc_param *sp = &s->params[p];

		if (sp->type == REG_SZ) {
			r = rtl_registry_set_string(ikey, sp->name, sp->data);
		} else if (sp->type == REG_MULTI_SZ) {
			char *copy = strdup(sp->data), *tok, *save = NULL;
			const char *items[64];
			size_t n = 0;

			if (!copy)
				return -ENOMEM;
			for (tok = strtok_r(copy, ",", &save); tok && n < 64;
			     tok = strtok_r(NULL, ",", &save))
				items[n++] = tok;
			r = rtl_registry_set_multi_sz(ikey, sp->name, items, n);
			free(copy);
		} else {
			r = rtl_registry_set_value(ikey, sp->name, sp->type, sp->data,
						   (ULONG)sp->len);
		}
	}
	/* The Parameters key exists even when empty, as after an INF install. */
	if (!r && !s->nparams)
		r = rtl_registry_set_value(ikey, NULL, REG_NONE, NULL, 0);
	return r;
}

static int svc_group_rank(const char *group)
{
	unsigned i;

	if (!group)
		return (int)RTL_NUMBER_OF(svc_groups) + 1;
	for (i = 0; i < RTL_NUMBER_OF(svc_groups); i++)
		if (!strcasecmp(group, svc_groups[i]))
			return (int)i;
	return (int)RTL_NUMBER_OF(svc_groups);
}

static int svc_order_cmp(const void *a, const void *b)
{
	const struct svc *x = a, *y = b;
	int gx, gy;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	gx = svc_group_rank(x->group);
	gy = svc_group_rank(y->group);
	if (gx != gy)
		return gx < gy ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t svc_start_order(struct svc **out, size_t max,
		       void (*err_cb)(const char *name, const char *why))
{
	char **names, err[512];
	size_t n = svc_list(&names), i, count = 0, placed = 0;
	struct svc *all = calloc(n ? n : 1, sizeof(*all));
	bool *done = calloc(n ? n : 1, sizeof(*done));
	bool progress = true;

	*out = NULL;
	if (!all || !done) {
		free(all);
		free(done);
		svc_names_free(names, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct svc s;

		if (svc_read(names[i], &s, err, sizeof(err)) < 0) {
			if (err_cb)
				err_cb(names[i], err);
			continue;
		}
		all[count++] = s;
	}
	svc_names_free(names, n);
	qsort(all, count, sizeof(*all), svc_order_cmp);
	/* Mark services that will not start, then place dependencies first. */
	for (i = 0; i < count; i++)
		done[i] = all[i].start > SVC_START_AUTO;
	{
		struct svc *ordered = calloc(count ? count : 1, sizeof(*ordered));

		if (!ordered) {
			for (i = 0; i < count; i++)
				svc_free(&all[i]);
			free(all);
			free(done);
			return 0;
		}
		while (progress && placed < max) {
			progress = false;
			for (i = 0; i < count && placed < max; i++) {
				unsigned d;
				bool ready = true;

				if (done[i])
					continue;
				for (d = 0; d < all[i].ndeps && ready; d++) {
					size_t k;
					bool found = false;

					for (k = 0; k < placed; k++)
						if (!strcasecmp(ordered[k].name, all[i].deps[d]))
							found = true;
					ready = found;
				}
				if (!ready)
					continue;
				ordered[placed++] = all[i];
				memset(&all[i], 0, sizeof(all[i]));
				done[i] = true;
				progress = true;
			}
		}
		for (i = 0; i < count; i++) {
			if (!done[i] && err_cb)
				err_cb(all[i].name,
				       "a service it depends on is missing, not started at boot, or in a cycle");
			svc_free(&all[i]);
		}
		free(all);
		free(done);
		*out = ordered;
		return placed;
	}
}
