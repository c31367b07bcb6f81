/*
 * pt.h - internals of the daemon side of communication ports.
 *
 * Objects:
 *  - struct pt_port, a server port (FltCreateCommunicationPort).  Lives in
 *    the global port list until it is closed and nothing refers to it.
 *  - struct pt_client, one connection (the PFLT_PORT ConnectNotify hands
 *    the filter).  It owns the daemon's ends of the three channels of
 *    proto.h and runs one thread, which did the handshake and reads the
 *    req channel (FilterSendMessage -> MessageNotify).
 *  - struct pt_sd, what PSECURITY_DESCRIPTOR points to.
 *
 * Locks, in the order they nest:
 *    pt_lock (global: the port list, names, connection counts, threads)
 *      -> pt_stripe[i] (the registry of live clients, keyed by address)
 *        -> client->lock (dead flag, users, waiters, leader)
 *  Nothing takes an outer lock while holding an inner one, and no filter
 *  callback runs under any of them.
 *
 * Lifetime of a client: alive while any of these holds: the filter's
 * reference (until FltCloseClientPort, or unload), "users" (the
 * connection thread and every FltSendMessage inside).  Its descriptors are
 * shut down when it dies (so every blocked reader wakes) and closed only
 * when the last user leaves, so no descriptor number is ever reused under a
 * thread still polling it.  The registry lets FltSendMessage and
 * FltCloseClientPort turn a stale PFLT_PORT into STATUS_PORT_DISCONNECTED
 * or a no-op instead of a use after free.
 */
#ifndef ALTITUDE_PORTS_PT_H
#define ALTITUDE_PORTS_PT_H

#include <fltKernel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ports/proto.h"

struct fm_filter;

#define PT_PORT_MAGIC 0x54525053u /* "SPRT" */
#define PT_CLIENT_MAGIC 0x54524343u /* "CCRT" */
#define PT_SD_MAGIC 0x44535450u /* "PTSD" */
#define PT_SD_MAX_ACES 17 /* root + 16 grants */

/* Most connection threads the daemon runs; more connections are refused. */
#define PT_MAX_THREADS 256
/* A connection must send CONNECT within this many seconds. */
#define PT_HANDSHAKE_SECS 5
/* After this many malformed requests the daemon drops a connection. */
#define PT_MAX_PROTOCOL_ERRORS 64

enum pt_ace_kind { PT_ACE_USER = 1, PT_ACE_GROUP, PT_ACE_EVERYONE };

struct pt_ace {
	uint32_t kind;
	uint32_t id;
	ACCESS_MASK access;
};

struct pt_sd {
	uint32_t magic;
	uint32_t count;
	struct pt_ace ace[PT_SD_MAX_ACES];
};

struct pt_client;

struct pt_port {
	uint32_t magic;
	struct fm_filter *filter;
	char name[PT_MAX_NAME + 1];
	PVOID cookie;
	PFLT_CONNECT_NOTIFY connect_cb;
	PFLT_DISCONNECT_NOTIFY disconnect_cb;
	PFLT_MESSAGE_NOTIFY message_cb;
	LONG max_connections;
	struct pt_sd sd;
	/* Under pt_lock. */
	bool closed; /* no new connections; name released */
	bool unloading; /* its filter is going away */
	unsigned connections; /* counted against max_connections */
	unsigned threads; /* connection threads that may call into it */
	unsigned refs; /* 1 while open + 1 per client object + threads */
	struct pt_client *clients;
	struct pt_port *next;
};

struct pt_waiter {
	uint64_t id;
	void *buf;
	uint32_t cap;
	uint32_t len;
	NTSTATUS status;
	bool done; /* replied, or the connection ended */
	bool replied; /* buf holds len bytes of the reply */
	pthread_cond_t cond;
	struct pt_waiter *next;
	struct pt_waiter *prev;
};

struct pt_client {
	uint32_t magic;
	struct pt_port *port;
	PVOID cookie; /* ConnectionPortCookie */
	int req_fd;
	int msg_fd;
	int rep_fd;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t ngroups; /* at most FLT_PORT_LX_MAX_GROUPS kept */
	gid_t groups[FLT_PORT_LX_MAX_GROUPS];
	/* Under pt_lock. */
	struct pt_client *next; /* port->clients */
	/* Under the client's stripe lock. */
	struct pt_client *reg_next;
	bool filter_ref; /* FltCloseClientPort not yet called */
	/* Under lock. */
	pthread_mutex_t lock;
	bool dead;
	unsigned users;
	struct pt_waiter *waiters;
	bool reading; /* a waiter is reading rep */
	uint8_t *rep_buf; /* the reader's buffer, PT_MAX_FRAME bytes */
	/* The connection thread's alone. */
	uint8_t *in_buf;
	uint8_t *out_buf;
	size_t out_cap;
	unsigned protocol_errors;
};

/* ---- server.c ---- */
extern pthread_mutex_t pt_lock;
extern pthread_cond_t pt_cond; /* a connection thread finished */
/* Connection threads alive, under pt_lock. */
extern unsigned pt_threads_running;
/* Starts a detached connection thread for fd; false if none may start. */
bool pt_spawn_connection(int fd);
/* The connection on fd finished its handshake (ports_stop no longer needs
 * to cut it short). */
void pt_handshake_over(int fd);

/* ---- port.c ---- */
/* The open port called name (case-insensitive), under pt_lock. */
struct pt_port *pt_port_find(const char *name);
/* Drops a port reference, under pt_lock; frees the port at zero. */
void pt_port_put_locked(struct pt_port *port);
/* Disconnects every client of every port, under pt_lock (ports_stop). */
void pt_kill_all_locked(void);

/* ---- security.c ---- */
/* Copies a filter's descriptor (NULL: root only); false if it is not one. */
bool pt_sd_copy(struct pt_sd *dst, const void *src);
/* The access sd grants a process with these credentials. */
ACCESS_MASK pt_sd_access(const struct pt_sd *sd, uid_t uid, gid_t gid,
			 const gid_t *groups, size_t ngroups);

/* ---- client.c ---- */
/* The connection thread: handshake, requests, disconnect. */
void *pt_connection_main(void *arg);
/*
 * Finds a live client by address and makes the caller a user (so its
 * descriptors stay open); NULL if it is gone or dead.
 */
struct pt_client *pt_client_use(struct pt_client *c);
void pt_client_unuse(struct pt_client *c);
/* recv returned 0 on fd: true at end of file, false for an empty datagram. */
bool pt_at_eof(int fd);
/* Marks the client dead, fails its waiters, shuts its channels down. */
void pt_client_kill(struct pt_client *c);
/* The filter's reference: dropped by FltCloseClientPort or at unload. */
bool pt_client_drop_filter_ref(struct pt_client *c);

/* ---- message.c ---- */
/* Reads and dispatches frames from rep until w is answered, the deadline
 * (0: none) passes or the client dies.  Called with c->lock held. */
void pt_wait_reply(struct pt_client *c, struct pt_waiter *w, int64_t deadline);

#endif /* ALTITUDE_PORTS_PT_H */
