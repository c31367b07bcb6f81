/*
 * services.h - filter services: the on-disk equivalent of the registry's
 * HKLM\SYSTEM\CurrentControlSet\Services\<name> that an INF install or
 * `sc create` writes on Windows (docs/services.md).
 *
 * One file per service, <services dir>/<name>.service, INI-like.  A
 * service is validated as a whole when installed and when read; a bad one
 * is refused with a message naming the line and is never half-applied.
 * Loaded services are mirrored into the in-memory registry so the filter
 * reads its Parameters with ZwOpenKey/ZwQueryValueKey.
 */
#ifndef ALTITUDE_SERVICES_H
#define ALTITUDE_SERVICES_H

#include <stdbool.h>
#include <stddef.h>

#define SVC_NAME_MAX 64
#define SVC_MAX_INSTANCES 16
#define SVC_MAX_DEPENDENCIES 16

enum svc_start {
	SVC_START_BOOT = 0,
	SVC_START_SYSTEM = 1,
	SVC_START_AUTO = 2,
	SVC_START_DEMAND = 3,
	SVC_START_DISABLED = 4,
};

/* Instance definition flags, as in a minifilter INF. */
#define SVC_INSTANCE_NO_AUTOMATIC 0x1
#define SVC_INSTANCE_NO_MANUAL 0x2

struct svc_instance {
	char name[SVC_NAME_MAX];
	char altitude[32];
	unsigned flags;
};

struct svc_param {
	char *name;
	unsigned type; /* REG_SZ, REG_DWORD, REG_MULTI_SZ, REG_BINARY */
	void *data;
	size_t len;
};

struct svc {
	char name[SVC_NAME_MAX];
	char *image;
	enum svc_start start;
	char *group;
	char *description;
	char deps[SVC_MAX_DEPENDENCIES][SVC_NAME_MAX];
	unsigned ndeps;
	struct svc_instance instances[SVC_MAX_INSTANCES];
	unsigned ninstances;
	unsigned default_instance; /* index into instances */
	struct svc_param *params;
	size_t nparams;
};

/* Parses a service definition; on error err says "<origin>:<line>: why". */
int svc_parse(const char *name, const char *text, const char *origin,
	      struct svc *out, char *err, size_t errlen);
void svc_free(struct svc *s);

/* Where service files live (default /etc/altitude/services). */
void svc_set_dir(const char *dir);
const char *svc_dir(void);
/* Reads <dir>/<name>.service. */
int svc_read(const char *name, struct svc *out, char *err, size_t errlen);
/* Validates text and writes it atomically as <dir>/<name>.service. */
int svc_install(const char *name, const char *text, char *err, size_t errlen);
int svc_uninstall(const char *name, char *err, size_t errlen);
/* Names of every installed service, sorted; caller frees with svc_names_free. */
size_t svc_list(char ***names);
void svc_names_free(char **names, size_t n);

/* Mirrors the service into the registry (\Registry\Machine\...\Services\NAME). */
int svc_publish(const struct svc *s);

/*
 * The boot/system/auto services in load order: start type, then the
 * filter load order groups, then name; dependencies before dependents.
 * A service whose dependency is missing or disabled is left out and
 * reported in err_cb.
 */
size_t svc_start_order(struct svc **out, size_t max,
		       void (*err_cb)(const char *name, const char *why));

const char *svc_start_name(enum svc_start s);

#endif /* ALTITUDE_SERVICES_H */
