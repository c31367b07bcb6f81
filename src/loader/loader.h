/*
 * loader.h - loading a filter image and calling its DriverEntry; unloading
 * it through its FilterUnloadCallback.
 */
#ifndef ALTITUDE_LOADER_H
#define ALTITUDE_LOADER_H

#include <fltKernel.h>
#include <stdbool.h>

/* The registry key of a service: \Registry\Machine\...\Services\<name>. */
#define LOADER_SERVICES_KEY \
	"\\Registry\\Machine\\System\\CurrentControlSet\\Services"

/*
 * Loads image as filter name with the given default altitude and calls its
 * DriverEntry.  Every failure is logged with the filter's name and leaves
 * nothing behind: a missing image (STATUS_OBJECT_NAME_NOT_FOUND), an image
 * dlopen refuses (STATUS_INVALID_IMAGE_FORMAT), no DriverEntry
 * (STATUS_ENTRYPOINT_NOT_FOUND), an already loaded name
 * (STATUS_IMAGE_ALREADY_LOADED), DriverEntry's own failure status, or a
 * DriverEntry that never called FltRegisterFilter (STATUS_FLT_NOT_INITIALIZED).
 */
NTSTATUS loader_load(const char *name, const char *image, const char *altitude);

struct fm_instance_def;
/* The same with the service's instance definitions; automatic attachment
 * uses defs[default_def] unless it says no automatic attachment. */
NTSTATUS loader_load_defs(const char *name, const char *image,
			  const struct fm_instance_def *defs, unsigned ndefs,
			  unsigned default_def);
/* Loads the installed service name (docs/services.md): publishes its
 * registry key, then loads its image with its instance definitions. */
NTSTATUS loader_load_service(const char *name);

/*
 * Unloads a filter.  Non-mandatory unloads call FilterUnloadCallback(0),
 * which may refuse; a filter without one cannot be unloaded
 * (STATUS_FLT_DO_NOT_DETACH).  Mandatory unloads cannot be refused.  The
 * image is closed once the filter is unregistered and unreferenced.
 */
NTSTATUS loader_unload(const char *name, bool mandatory);

/* Mandatory unload of every loaded filter, most recently loaded first. */
void loader_unload_all(void);

#endif /* ALTITUDE_LOADER_H */
