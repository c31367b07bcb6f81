/*
 * ports.h - communication ports: the daemon side of FltCreateCommunicationPort
 * and friends (fltKernel.h) and of libfltlib's FilterConnectCommunicationPort
 * (fltUser.h).  docs/ports.md describes the model and the wire protocol.
 */
#ifndef ALTITUDE_PORTS_H
#define ALTITUDE_PORTS_H

struct fm_filter;

/* Listens on <runtime_dir>/ports; 0 or -errno. */
int ports_start(const char *runtime_dir);
/* Disconnects every client and stops listening. */
void ports_stop(void);
/* A filter is being unloaded: close the ports it left open, disconnecting
 * their clients, before its code goes away. */
void ports_filter_unloading(struct fm_filter *filter);

#endif
