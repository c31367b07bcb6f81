/*
 * config.h - what fltmgrd is asked to do: volumes to mount and filters to
 * load with their altitudes and Parameters, from the command line and from
 * a configuration file (docs/configuration.md).
 */
#ifndef ALTITUDE_CONFIG_H
#define ALTITUDE_CONFIG_H

#include <stddef.h>

struct cfg_param {
	char *filter;
	char *name;
	char *data; /* "dword:N", "multi:a,b" or a string */
};

struct cfg_volume {
	char *path;
	char *name;
};

struct cfg_filter {
	char *name;
	char *image;
	char *altitude;
};

struct cfg {
	struct cfg_volume *volumes;
	size_t nvolumes;
	struct cfg_filter *filters;
	size_t nfilters;
	struct cfg_param *params;
	size_t nparams;
	char *pidfile;
	char *logfile;
	char *runtime_dir; /* sockets: control, ports */
	char *services_dir; /* installed services (docs/services.md) */
	char *admin_group; /* may use the control socket besides root */
	int debug;
};

/* "DIR[=NAME]" */
int cfg_add_volume(struct cfg *c, const char *spec, char *err, size_t errlen);
/* "IMAGE@ALTITUDE[=NAME]" */
int cfg_add_filter(struct cfg *c, const char *spec, char *err, size_t errlen);
/* "FILTER.VALUE=DATA" */
int cfg_add_param(struct cfg *c, const char *spec, char *err, size_t errlen);
/* Reads an INI file; on error err says file:line and why. */
int cfg_load_file(struct cfg *c, const char *path, char *err, size_t errlen);
/* Stores every parameter in the registry under its filter's service key. */
int cfg_apply_params(const struct cfg *c, char *err, size_t errlen);
void cfg_free(struct cfg *c);

#endif
