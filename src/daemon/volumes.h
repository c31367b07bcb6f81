/*
 * volumes.h - the volumes fltmgrd serves, added at start-up or later
 * through the control socket, removed by request or at shutdown.
 */
#ifndef ALTITUDE_DAEMON_VOLUMES_H
#define ALTITUDE_DAEMON_VOLUMES_H

#include <stdbool.h>

/*
 * Creates a volume over dir called name, attaches every started filter
 * (automatic attachment), and mounts it when mount is true.  Returns 0,
 * -EEXIST for a name or directory already served, or another -errno.
 */
int vols_add(const char *dir, const char *name, bool mount);
/* Mounts every volume added with mount = false. */
int vols_start_all(void);
/* Unmounts a volume; its instances are torn down (cannot be refused). */
int vols_remove(const char *name);
void vols_remove_all(void);

#endif
