/*
 * server.h - fltmgrd's control socket: loading, unloading, attaching,
 * detaching, enumerating, volumes and services, for fltmc and libfltlib
 * (protocol in proto.h).
 */
#ifndef ALTITUDE_CONTROL_SERVER_H
#define ALTITUDE_CONTROL_SERVER_H

#include <sys/types.h>

/*
 * Listens on <runtime_dir>/control.  Callers must be root or, when
 * admin_gid is not (gid_t)-1, members of that group.  0 or -errno.
 */
int control_start(const char *runtime_dir, gid_t admin_gid);
/* Stops listening and ends every connection, waiting for requests in
 * progress to finish. */
void control_stop(void);

#endif
